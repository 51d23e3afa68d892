"""The CLI's consoles, which print stored text (a company, a reason, a note) as inert text.

Rich reads '[bold red]…[/]' as markup and ':warning:' as an emoji, and passes escape sequences to the
terminal: a lead whose company is '\\x1b[2J' would clear the operator's screen, one whose note says
'[link=…]' would print a link. These consoles read no markup unless a call asks for it (markup=True,
with every value in it escaped), and show control characters as visible escapes, whatever prints:
a message, a table cell, a title."""

from __future__ import annotations

import re
from typing import Any

import typer
from rich.console import Console
from rich.text import Text

from leadpool.leads.model import CONTROL_CHARACTERS

# C0 and C1 controls but tab and line feed (a carriage return rewrites the line it ends), and the
# bidirectional overrides, which make text read in another order than it is stored.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(text: str) -> str:
    """Text with every control character spelled out ('\\x1b'), so it prints as what it is."""
    return _CONTROL.sub(_visible, text)


class InertConsole(Console):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(markup=False, emoji=False, **kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:
        """Every str Rich prints passes through here (print arguments, table cells, titles)."""
        return super().render_str(inert(text), **kwargs)


def plain_text(value: str | None) -> str | None:
    """An option's callback for a reason or a note: plain text, as the API and the web app take it."""
    found = CONTROL_CHARACTERS.search(value) if value is not None else None
    if found is not None:
        raise typer.BadParameter(
            f"contains the control character {_visible(found)} at position {found.start() + 1}; "
            "remove it (a reason is plain text)"
        )
    return value
