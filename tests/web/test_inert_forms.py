"""A form's note or reason is plain text: an escape sequence is refused before anything changes."""

from __future__ import annotations

import re

from tests.web.conftest import Site


def test_a_release_reason_holding_an_escape_sequence_changes_nothing(site: Site) -> None:
    rep = site.login_http("rep")
    csrf = re.findall(r'name="csrf" value="([^"]+)"', rep.get("/pools").text)[0]
    claimed = rep.post("/pools/Cold/claim", data={"csrf": csrf, "count": "1"})
    lead = re.search(r"You claimed lead (\d+)", claimed.text)
    assert lead is not None
    refused = rep.post(f"/leads/{lead.group(1)}/release", data={"csrf": csrf, "reason": "\x1b[2Jgone"})
    assert refused.status_code == 403 and "a control character" in refused.text
    assert f'id="lead-{lead.group(1)}"' in rep.get("/leads").text  # still held
    # A reason over two lines, as a text area sends it, is text.
    released = rep.post(
        f"/leads/{lead.group(1)}/release", data={"csrf": csrf, "reason": "wrong\r\nterritory"}
    )
    assert released.status_code == 200 and f'id="lead-{lead.group(1)}"' not in rep.get("/leads").text
