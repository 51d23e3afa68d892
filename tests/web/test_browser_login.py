"""A person at a browser: a wrong password is refused, the right one opens their start page."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import Shots, Site, login


def test_a_rep_is_refused_a_wrong_password_then_logs_in_and_out(site: Site, page: Any, shots: Shots) -> None:
    email, password = site.logins["rep"]
    login(page, site.url, email, "not-my-password")
    shots("wrong-password")
    assert page.get_by_role("alert").inner_text() == "wrong email or password"
    assert page.get_by_label("Email").input_value() == email  # kept, so only the password is typed again
    login(page, site.url, email, password)
    shots("logged-in")
    assert page.url.endswith("/pools")
    assert page.get_by_role("link", name="My leads").is_visible()
    assert not page.get_by_role("link", name="Review").count()  # not a rep's page
    page.get_by_role("button", name="Log out").click()
    shots("logged-out")
    assert page.url.endswith("/login") and "You are logged out." in page.content()
    page.goto(f"{site.url}/leads")
    assert "/login?next=/leads" in page.url
