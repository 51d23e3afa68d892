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
from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from leadpool.text import CONTROL_CHARACTERS

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


# --- tables ---------------------------------------------------------------------------------------
# A terminal of 100 columns must show every table whole: no rules between columns (a space does),
# long text folds onto more lines, and what a reader copies into the next command (an email, an
# id, a token prefix) is never cut.

KEY = "key"  # an email, id or name to copy: never wrapped, never cut
NUM = "num"  # a figure: right-aligned, never wrapped
TEXT = "text"  # words: wrapped, and folded where one word is wider than its column


class _FitTable(Table):
    """A figure's column is as wide as its widest figure or header word, never wider: a header
    of several words wraps onto lines of its own, so the width goes to the columns that need it."""

    def __rich_console__(self, console: Any, options: Any) -> Any:
        for column in self.columns:
            if column.justify == "right":
                words = str(column.header).split() or [""]
                cells = [c if isinstance(c, str) else getattr(c, "plain", "") for c in column.cells]
                column.max_width = max(cell_len(w) for w in [*words, *cells])
        yield from super().__rich_console__(console, options)


def table(*columns: str | tuple[str, str], title: str | None = None) -> Table:
    """A table that fits narrow terminals. A column is its header (TEXT) or (header, kind)."""
    made = _FitTable(
        title=title,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 1, 0, 0),  # with the separator: two spaces between columns
        title_justify="left",
    )
    for column in columns:
        header, kind = (column, TEXT) if isinstance(column, str) else column
        made.add_column(
            header,
            justify="right" if kind == NUM else "left",
            no_wrap=kind == KEY,
            overflow="fold",
        )
    return made
