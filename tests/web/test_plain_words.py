"""Users are shown no section numbers, which would point them to nothing they can read: no section
sign may reach them, in the OpenAPI document (view docstrings and model descriptions end up there),
in any page of the web app a role can reach, or in the help of any `leadpool` command."""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import typer
from typer.testing import CliRunner

from leadpool.cli.main import app
from tests.web.conftest import Site

SIGN = chr(0xA7)  # the section sign, spelt by its code point: no file in the repository holds one
_LINK = re.compile(r'(?:href|src)="(/[^"#]*)"')


def _around(text: str) -> str:
    at = text.index(SIGN)
    return text[max(0, at - 80) : at + 80]


def test_openapi_document_cites_no_section(client: Any) -> None:
    text = client.get("/api/v1/openapi.json").text
    assert SIGN not in text, _around(text)


@pytest.fixture(params=["site", pytest.param("pg_site", marks=pytest.mark.postgres)])
def any_site(request: pytest.FixtureRequest) -> Site:
    site: Site = request.getfixturevalue(request.param)
    return site


@pytest.mark.parametrize("role", ["rep", "manager", "ops", "executive", "admin"])
def test_no_page_a_role_reaches_cites_a_section(any_site: Site, role: str) -> None:
    """Follows every link of the role's pages (nav, dashboards, a pool's charts, lead histories)."""
    http = any_site.login_http(role)
    seen: set[str] = set()
    visits: dict[str, int] = {}  # per path: one lead's history or one pool's chart stands for all
    todo = ["/"]
    while todo:
        path = todo.pop(0)
        bare = path.split("?")[0]
        if path in seen or bare.startswith(("/logout", "/static")) or bare.endswith(".png"):
            continue
        if visits.get(bare, 0) >= 3:
            continue
        seen.add(path)
        visits[bare] = visits.get(bare, 0) + 1
        reply = http.get(path)
        kind = reply.headers.get("content-type", "")
        if "svg" in kind or "html" in kind:
            assert SIGN not in reply.text, f"{path}: {_around(reply.text)}"
        if "html" in kind:
            for link in _LINK.findall(reply.text):
                target = urlsplit(urljoin(path, unescape(link)))
                todo.append(target.path + (f"?{target.query}" if target.query else ""))
    assert len(visits) > 4, seen


def _commands(group: Any, prefix: list[str]) -> list[list[str]]:
    found = [prefix]
    for name, command in group.commands.items():
        if hasattr(command, "commands"):  # a group, such as `token`
            found += _commands(command, [*prefix, name])
        else:
            found.append([*prefix, name])
    return found


def test_no_command_help_cites_a_section() -> None:
    root = typer.main.get_command(app)
    commands = _commands(root, [])
    assert len(commands) > 30
    runner = CliRunner()
    for words in commands:
        result = runner.invoke(app, [*words, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (words, result.output)
        assert SIGN not in result.output, (words, _around(result.output))


def test_the_strategy_lab_examples_cite_no_section() -> None:
    """Their descriptions head the lab's reports too."""
    result = CliRunner().invoke(app, ["simulate", "--examples"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "round_robin" in result.output, result.output
    assert SIGN not in result.output, _around(result.output)
