"""Naming the key a typo meant: 'colums' in a mapping file or 'thresholds' in an org file is told
the key it is closest to, found by walking the pydantic model the file is read into."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """' (did you mean 'columns'?)' for a near miss of a known name ('colums', 'placeholder',
    'decimal_separator'), else ''; the same hint the rule conditions give for a mistyped field."""
    names = sorted(set(known))
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if not close:
        lowered = name.lower()
        close = [k for k in names if len(k) >= 4 and (lowered.startswith(k) or k.startswith(lowered))]
    return f" (did you mean '{close[0]}'?)" if close else ""


def _step(kind: Any, part: Any) -> list[Any]:
    """The types a value of type `kind` holds at `part` (a key or an index) of a path."""
    origin, args = get_origin(kind), get_args(kind)
    if origin is Annotated:
        return _step(args[0], part)
    if origin in (Union, UnionType):
        found = [t for a in args for t in _step(a, part)]
        # A discriminated union's tag ('range') sits in the path between the union and its member.
        return found or [a for a in args if isinstance(part, str)]
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        spec = kind.model_fields.get(part) if isinstance(part, str) else None
        return [spec.annotation] if spec is not None else []
    if origin in (list, tuple, set, frozenset) and args and isinstance(part, int):
        return [args[0]]
    if origin is dict and len(args) == 2:
        return [args[1]]
    return []


def known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed beside the unknown key at `loc` (its parent's fields), by walking the model."""
    kinds: list[Any] = [model]
    for part in loc[:-1]:
        kinds = [t for k in kinds for t in _step(k, part)]
    keys: list[str] = []
    while kinds:
        kind = kinds.pop()
        if get_origin(kind) is Annotated:
            kinds.append(get_args(kind)[0])
        elif get_origin(kind) in (Union, UnionType):
            kinds += get_args(kind)
        elif isinstance(kind, type) and issubclass(kind, BaseModel):
            keys += [spec.alias or name for name, spec in kind.model_fields.items()]
    return keys
