"""Message templates (the org file's `templates:`): the emails and texts a rep sends a lead, with
the lead's fields filled in ({first_name}, {company}). Pure: checking that a template names only
fields the org has, and filling one for a lead, where a field the lead lacks is left empty."""

from __future__ import annotations

import string
from collections.abc import Container, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class MessageTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    channel: Literal["email", "sms"] = "email"
    subject: str = Field("", max_length=200)  # email only
    body: str = Field(min_length=1, max_length=5000)

    def placeholders(self) -> list[str]:
        """The field names the template uses, in order; raises ValueError on a broken brace."""
        return [
            name
            for text in (self.subject, self.body)
            for _, name, _, _ in string.Formatter().parse(text)
            if name is not None
        ]


def problems(templates: list[MessageTemplate], fields: Container[str]) -> list[tuple[str, str]]:
    """(where, what) for each template naming a field the org does not have, or with a brace that
    opens nothing; a literal brace is written twice ({{)."""
    found = []
    for i, template in enumerate(templates):
        try:
            names = template.placeholders()
        except ValueError as exc:
            found.append(
                (f"templates[{i}].body", f"template '{template.name}': {exc}; write a brace as {{{{ or }}}}")
            )
            continue
        for name in names:
            if not name.isidentifier() or name not in fields:
                found.append(
                    (
                        f"templates[{i}]",
                        f"template '{template.name}' uses {{{name}}}, which is no field of a lead",
                    )
                )
    return found


def fill(template: MessageTemplate, values: Mapping[str, Any]) -> tuple[str, str]:
    """The subject and body for one lead: each {field} replaced by its value, or by nothing."""

    class _Blank(dict[str, Any]):
        def __missing__(self, key: str) -> str:
            return ""

    shown = _Blank({k: "" if v is None else v for k, v in values.items()})
    return template.subject.format_map(shown), template.body.format_map(shown)
