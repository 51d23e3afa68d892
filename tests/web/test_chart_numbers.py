"""Charts that everyone can read and that come back at once: under each chart its numbers as a
table (the same numbers the picture draws), and a chart whose numbers did not change is answered
304 from its ETag, or from the drawings kept, without drawing it again."""

from __future__ import annotations

import re

import httpx
import pytest

from leadpool.web import chart_views, charts
from tests.web.conftest import Site


def test_a_pools_charts_carry_their_numbers_and_a_reload_draws_nothing(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = site.login_http("manager")
    page = manager.get("/dashboard/pools/DACH").text
    tables = re.findall(r"<summary>The numbers</summary>.*?</table>", page, flags=re.S)
    assert len(tables) == 4
    depth = tables[0]
    assert '<th scope="row">DACH</th>' in depth and "Yellow / red / critical at" in depth

    drawn: list[str] = []
    real = charts.draw

    def counting(make: object, fmt: charts.Format) -> bytes:
        drawn.append(fmt)
        return real(make, fmt)  # type: ignore[arg-type]

    monkeypatch.setattr(charts, "draw", counting)
    chart_views._DRAWN.clear()  # drawings kept by earlier tests in this process
    src = re.search(r'<img src="(/charts/claims\.svg\?[^"]+)"', page)
    assert src is not None
    url = src.group(1).replace("&amp;", "&")
    first = manager.get(url)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and first.headers["Cache-Control"] == "private, no-cache"
    again = manager.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    with httpx.Client(base_url=site.url, timeout=30, cookies=manager.cookies) as tab:  # another tab, no cache
        fresh = tab.get(url)
    assert fresh.status_code == 200 and fresh.content == first.content
    assert drawn == ["svg"]  # drawn once, whoever asks and however often
