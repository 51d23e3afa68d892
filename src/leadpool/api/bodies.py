"""Bodies whose refusal would cost more than the request: many keys or many wrong items.

FastAPI validates a body with pydantic and turns every error into a dict before a handler could
refuse it: half a million unknown keys (or 10,000 items with 50 wrong keys each) took seconds and
a 34 MB answer. A large parsed body is checked here first, where a refusal costs about as much as
the parse: an object wider than any this API takes is refused outright, and a body with more
problems than a person would read is validated once, counted, and named by its first few."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import TypeAdapter, ValidationError

from leadpool.errors import InvalidInput, Problem

# No body this API takes has an object with more keys than this (a lead has its org's fields, a
# few dozen).
MAX_KEYS = 1000
# Below this many bytes a body can hold neither such an object (4 bytes a key at least: "":0,)
# nor enough problems to matter, and is left to FastAPI alone.
SMALL = MAX_KEYS * 4
# More problems than this and FastAPI's own refusal would be slow: counted and sampled instead.
MANY_PROBLEMS = 1000
SHOWN = 20  # problems named in a refusal (api.app caps its own at the same number)
_SAMPLE_ITEMS, _SAMPLE_KEYS = 3, 100  # what of each list and object the named problems come from
HINT = "send only the fields the endpoint takes (see the OpenAPI description at /api/v1/docs)"


def where(loc: tuple[Any, ...]) -> str:
    """A pydantic location as a path: body.leads[3].email."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def message(error: Any) -> str:
    """Pydantic's message, without the "Value error, " it puts before our own validators' words."""
    if error["type"] == "value_error" and "error" in error.get("ctx", {}):
        return str(error["ctx"]["error"])
    return str(error["msg"])


def _crowded(value: Any) -> tuple[str, int] | None:
    """An object with more than MAX_KEYS keys, where it is and how many it has. Walked with a
    stack: a body nested a thousand deep must not exhaust Python's recursion (a 500)."""
    stack: list[tuple[Any, str]] = [(value, "body")]
    while stack:
        item, at = stack.pop()
        if isinstance(item, dict):
            if len(item) > MAX_KEYS:
                return at, len(item)
            stack.extend((v, f"{at}.{k}") for k, v in item.items() if isinstance(v, dict | list))
        else:
            stack.extend((v, f"{at}[{i}]") for i, v in enumerate(item) if isinstance(v, dict | list))
    return None


def _sample(value: Any, depth: int = 0) -> Any:
    """The start of the body: the first items of each list and keys of each object."""
    if depth > 50:
        return None
    if isinstance(value, dict):
        keys = list(value)[:_SAMPLE_KEYS]
        return {k: _sample(value[k], depth + 1) for k in keys}
    if isinstance(value, list):
        return [_sample(v, depth + 1) for v in value[:_SAMPLE_ITEMS]]
    return value


_adapters: dict[Any, TypeAdapter[Any]] = {}


def _adapter(request: Request) -> TypeAdapter[Any] | None:
    field = getattr(request.scope.get("route"), "body_field", None)
    annotation = getattr(getattr(field, "field_info", None), "annotation", None)
    if annotation is None:
        return None
    if annotation not in _adapters:
        _adapters[annotation] = TypeAdapter(annotation)
    return _adapters[annotation]


def refuse_the_unreasonable(request: Request, parsed: dict[str, Any] | list[Any]) -> None:
    """Raise InvalidInput for a body too wide or too wrong to refuse the ordinary way."""
    crowded = _crowded(parsed)
    if crowded is not None:
        at, keys = crowded
        most = f"no field of this API takes more than {MAX_KEYS:,}"
        raise InvalidInput([Problem(at, f"an object with {keys:,} keys; {most}")], hint=HINT)
    adapter = _adapter(request)
    if adapter is None:
        return
    try:
        adapter.validate_python(parsed)
        return
    except ValidationError as exc:  # counting the errors is cheap; listing them is what costs
        count = exc.error_count()
    if count <= MANY_PROBLEMS:
        return  # FastAPI's own validation says what is wrong, at a bearable cost
    try:
        adapter.validate_python(_sample(parsed))
        first: list[Any] = []
    except ValidationError as exc:
        first = exc.errors(include_url=False)[:SHOWN]
    problems = [Problem(where(("body", *e["loc"])), message(e)) for e in first]
    text = f"body: {count:,} problems; the first: " + "; ".join(str(p) for p in problems[:5])
    refusal = InvalidInput(problems, message=text, hint=HINT)
    refusal.details["more_problems"] = count - len(problems)
    raise refusal
