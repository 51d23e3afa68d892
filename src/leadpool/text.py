"""What text leadpool accepts from outside, and how a message quotes a value it refuses: shared by
the org file's reader, lead intake, the API and the web app, so each refuses the same characters
and no error message echoes a 10 MB cell or an escape sequence."""

from __future__ import annotations

import re
from typing import Any

# Characters no lead value and no typed text (a note, a reason) holds: C0/C1 controls other than tab
# and line breaks (NUL cannot even be stored in PostgreSQL; an escape sequence would run in the
# terminal that prints it), and lone surrogates (not Unicode at all: no database can encode them).
# In a lead value either usually means the file was read with the wrong encoding.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# What no field of any kind can hold, lead value or not (an org file, a note, a reason): NUL, which
# PostgreSQL stores in neither text nor JSON, and lone surrogates. The API and the YAML readers use it.
NOT_TEXT = re.compile(r"[\x00\ud800-\udfff]")


def shown(value: Any, width: int = 60) -> str:
    """A value as a message may quote it: short, and with unprintable characters escaped, so an
    error about a 10 MB cell or a lone surrogate is itself small and can be sent as JSON."""
    text = str(value)
    if len(text) > width:
        text = text[: width - 1] + "…"
    return CONTROL_CHARACTERS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
