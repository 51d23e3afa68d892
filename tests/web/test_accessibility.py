"""Usable by everyone, on any screen: every page of every role, at a desktop width and on a phone
held upright, has no serious or critical axe-core finding and never scrolls sideways; controls on
the rep's pages are at least 44 px; the focus ring stands out (3:1) and a keyboard user can skip
the header; after an action focus lands on its result."""

from __future__ import annotations

from typing import Any

import pytest

from leadpool.identity.service import person_by_email
from leadpool.web.auth import set_password
from tests.web.conftest import PHONE, Site, login, open_tab, page_problems

PAGES = {
    "rep": ["/pools", "/pools/Hot", "/leads", "/me", "/history", "/password"],
    "manager": ["/dashboard", "/dashboard/pools/DACH", "/transfers", "/pools", "/leads", "/me", "/tiers"],
    "ops": ["/review", "/rules/test", "/history?lead=1", "/dashboard", "/transfers", "/connections"],
    "executive": ["/executive", "/dashboard", "/dashboard/pools/Hot", "/transfers", "/tiers"],
    "admin": ["/review", "/rules/test", "/dashboard", "/pools", "/leads", "/password", "/tiers"],
}
REP_PAGES = ["/pools", "/pools/Cold", "/leads", "/me"]
CONTROLS = "main button:visible, main select:visible, main input:visible:not([type=hidden]):not([type=checkbox]), header a:visible"


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG's contrast ratio of two sRGB colours."""

    def luminance(rgb: tuple[int, int, int]) -> float:
        parts = [c / 255 for c in rgb]
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in parts]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def rgb(css: str) -> tuple[int, int, int]:
    r, g, b = (int(float(x)) for x in css[css.index("(") + 1 : css.index(")")].split(",")[:3])
    return r, g, b


@pytest.mark.parametrize("role", list(PAGES))
def test_every_page_of_every_role_passes_axe_and_reflows_on_a_phone(
    demo_site: Site, browser: Any, role: str
) -> None:
    if role not in demo_site.logins:
        email = "ada.admin@northwind.example"
        set_password(demo_site.db, person_by_email(demo_site.db, email).id, "admin-pw-0123456789")
        demo_site.logins[role] = (email, "admin-pw-0123456789")
    email, password = demo_site.logins[role]
    found: dict[str, list[str]] = {}
    for viewport in (None, PHONE):
        with open_tab(browser, viewport) as tab:
            login(tab, demo_site.url, email, password)
            for path in PAGES[role]:
                tab.goto(demo_site.url + path)
                where = f"{path} at {'390 px' if viewport else '1280 px'}"
                problems = page_problems(tab, viewport is not None)
                if problems:
                    found[where] = problems
    assert found == {}


def test_the_reps_controls_are_a_thumb_wide_and_the_focus_ring_stands_out(site: Site, browser: Any) -> None:
    email, password = site.logins["rep"]
    small: dict[str, list[str]] = {}
    with open_tab(browser, PHONE) as tab:
        login(tab, site.url, email, password)
        for path in REP_PAGES:
            tab.goto(site.url + path)
            for control in tab.locator(CONTROLS).all():
                box = control.bounding_box()
                if box is not None and (box["height"] < 44 or box["width"] < 44):
                    name = (
                        control.get_attribute("aria-label")
                        or control.inner_text()
                        or control.get_attribute("name")
                    )
                    small.setdefault(path, []).append(f"{name}: {box['width']:.0f}x{box['height']:.0f}")
        assert small == {}

        tab.goto(f"{site.url}/pools")
        tab.keyboard.press("Tab")
        skip = tab.evaluate("document.activeElement.textContent")
        assert skip == "Skip to content"
        tab.keyboard.press("Enter")
        tab.keyboard.press("Tab")  # the first control of the page, past the header
        focused = tab.evaluate(
            "(() => { const e = document.activeElement, s = getComputedStyle(e);"
            " return [e.closest('main') !== null, s.outlineStyle, s.outlineWidth, s.outlineColor]; })()"
        )
        inside, style, width, colour = focused
        assert inside and style == "solid" and float(width.rstrip("px")) >= 2
        page_colour = tab.evaluate("getComputedStyle(document.body).backgroundColor")
        assert contrast(rgb(colour), rgb(page_colour)) >= 3
        assert contrast(rgb(colour), (255, 255, 255)) >= 3  # on a card too


def test_after_a_claim_focus_lands_on_what_happened(site: Site, browser: Any) -> None:
    email, password = site.logins["rep"]
    with open_tab(browser, PHONE) as tab:
        login(tab, site.url, email, password)
        tab.goto(f"{site.url}/pools/Cold")
        tab.locator("tbody tr").first.get_by_role("button").click()
        said = tab.evaluate("[document.activeElement.className, document.activeElement.textContent]")
    assert said[0] == "flash ok" and said[1].startswith("You claimed lead ")
