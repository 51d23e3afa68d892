"""docs/events.md, the feed's reference, keeps up with the code: every event type has its section,
and every example is an event in exactly the shape the feed sends."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from leadpool.events.model import EventType
from leadpool.feed.model import envelope

DOC = Path(__file__).parents[2] / "docs" / "events.md"
HEADING = re.compile(r"^### (\S+)\s*$", re.MULTILINE)
JSON_BLOCK = re.compile(r"^```json\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _text() -> str:
    return DOC.read_text(encoding="utf-8")


def _envelope_keys() -> set[str]:
    row = SimpleNamespace(
        id=1,
        type=EventType.claimed.value,
        at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        lead_id=1,
        pool_id=1,
        rep_id=1,
        actor_id=1,
        reason="claimed next from Hot",
        details={"how": "next"},
    )
    return set(envelope(row, "0.1", {1: "Hot"}, {1: "rita@test.example"}))


def _examples() -> list[dict[str, Any]]:
    return [json.loads(block) for block in JSON_BLOCK.findall(_text())]


def _sections() -> dict[str, str]:
    """Each `### heading` and the text up to the next heading of any level."""
    text = _text()
    out: dict[str, str] = {}
    for match in HEADING.finditer(text):
        rest = text[match.end() :]
        end = re.search(r"^#{1,3} ", rest, re.MULTILINE)
        out[match.group(1)] = rest[: end.start()] if end else rest
    return out


def test_every_event_type_has_its_section() -> None:
    headings = set(HEADING.findall(_text()))
    missing = sorted(t.value for t in EventType if t.value not in headings)
    assert not missing, f"docs/events.md has no '### <type>' section for {missing}"


def test_every_json_example_is_a_whole_envelope() -> None:
    keys = _envelope_keys()
    examples = _examples()
    assert len(examples) >= len(EventType)
    for example in examples:
        assert isinstance(example, dict), example
        assert set(example) == keys, f"{example.get('type')}: keys {sorted(set(example) ^ keys)} differ"
        assert example["type"] in {t.value for t in EventType}, example["type"]
        assert isinstance(example["details"], dict) and example["schema"] == 1
        assert example["at"].endswith("Z")


def test_each_type_section_shows_one_example_of_its_own_type() -> None:
    sections = _sections()
    for t in EventType:
        found = [json.loads(b) for b in JSON_BLOCK.findall(sections[t.value])]
        assert len(found) == 1, f"### {t.value}: {len(found)} JSON examples, expected one"
        assert found[0]["type"] == t.value, f"### {t.value} shows a {found[0]['type']} event"
