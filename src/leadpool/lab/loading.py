"""A scenario's files: the scenario itself (merged onto its base), its org checked with it, and
the leads a replay reads from a CSV export. No database: the run starts from what this returns."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from leadpool.errors import InvalidInput, Problem
from leadpool.intake.mapping import detect_format, load_mapping, read_rows
from leadpool.lab.scenario import Scenario, check_against_org, parse_scenario, pools_missing
from leadpool.lab.stream import Arrival, replayed, synthetic
from leadpool.org.loader import parse
from leadpool.orgfile.fields import field_types
from leadpool.orgfile.schema import FieldDeclaration

EXAMPLES = Path(__file__).parent / "scenarios"


def examples() -> list[Path]:
    """The shipped example scenarios, without the parts they share (common.yaml, team.yaml)."""
    return sorted(p for p in EXAMPLES.glob("*.yaml") if p.stem not in ("common", "team"))


def resolve(name: str) -> Path:
    """A scenario file, or the name of a shipped example ('tiered_pools')."""
    path = Path(name)
    if path.exists():
        return path
    example = EXAMPLES / f"{path.stem}.yaml"
    if example.exists() and path.parent == Path("."):
        return example
    shipped = ", ".join(p.stem for p in examples())
    raise InvalidInput(
        [Problem(name, "no such scenario file")],
        hint=f"give a path, or one of the shipped examples: {shipped}",
    )


@dataclass
class Loaded:
    scenario: Scenario
    org_text: str
    source: Path
    warnings: list[Problem] = field(default_factory=list)


def load(path: Path) -> Loaded:
    """A scenario file and its org, checked together: every problem at once, each with its place."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput([Problem(str(path), f"cannot read the scenario: {exc.strerror}")]) from None
    data = _safe_yaml(text)
    merged = isinstance(data, dict) and "base" in data
    if merged:
        # A scenario on top of a shared one (the examples share their stream and reps this way);
        # problems are then named by path in the merged scenario: its lines are nobody's.
        over = dict(data)
        base = _yaml_file(path.parent / str(over.pop("base")), "base")
        text = yaml.safe_dump(_merge(base, over), sort_keys=False, allow_unicode=True)
    scenario = parse_scenario(text, source=str(path), lines=not merged)
    if isinstance(scenario.org, str):  # an org file as it is: its problems name its own lines
        org_text = _read(path.parent / scenario.org, "org")
        prefix, org_lines = f"{Path(scenario.org).name}: ", True
    else:  # inline or merged: lines would point into a document nobody wrote, so paths only
        org_text = yaml.safe_dump(_org_data(scenario.org, path.parent), sort_keys=False, allow_unicode=True)
        prefix, org_lines = "org.", False
    try:
        org = parse(org_text, source=f"{path} org", lines=org_lines).org
    except InvalidInput as exc:
        raise InvalidInput(
            [Problem(prefix + p.where, p.message) for p in exc.problems],
            hint=f"fix the org of {path}, then run the simulation again",
        ) from None
    errors = check_against_org(scenario, sorted(org.tiers))
    if errors:
        raise InvalidInput(errors, hint=f"fix the listed places in {path}")
    pools = [p.name for p in org.pools]
    missing = pools_missing(scenario, pools)
    warnings = (
        [
            Problem(
                "reps.*.claim_propensity",
                f"no pool named {', '.join(missing)} in this org (pools: {', '.join(pools)})",
            )
        ]
        if missing
        else []
    )
    return Loaded(scenario, org_text, path, warnings)


def _safe_yaml(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None  # parse_scenario reports it, with its line


def _org_data(spec: str | dict[str, Any], here: Path) -> dict[str, Any]:
    if isinstance(spec, str):
        return _yaml_file(here / spec, "org")
    spec = dict(spec)
    base = spec.pop("base", None)
    if base is None:
        return spec
    return _merge(_yaml_file(here / str(base), "org.base"), spec)


def _read(path: Path, where: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput([Problem(where, f"cannot read {path}: {exc.strerror}")]) from None


def _yaml_file(path: Path, where: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(_read(path, where))
    except yaml.YAMLError as exc:
        raise InvalidInput([Problem(where, f"{path} is not valid YAML: {exc}")]) from None
    if not isinstance(data, dict):
        raise InvalidInput([Problem(where, f"{path} should hold a mapping")])
    return data


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """A scenario's org on top of a shared one: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in over.items():
        out[key] = (
            _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        )
    return out


def arrivals(
    loaded: Loaded, zone: str, fields: dict[str, FieldDeclaration]
) -> tuple[list[Arrival], list[Problem]]:
    """The scenario's leads with their arrival times: drawn (synthetic), or read from a CSV export
    (replay) with the replayed rows left out, by line."""
    s = loaded.scenario
    spec = s.leads
    if spec.synthetic is not None:
        rng = random.Random(f"{s.seed}:stream")
        return synthetic(spec.synthetic, s.start, s.days, zone, rng), []
    assert spec.replay is not None
    replay = spec.replay
    here = loaded.source.parent
    try:
        mapping = load_mapping((here / replay.mapping).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput([Problem("leads.replay.mapping", f"cannot read it: {exc.strerror}")]) from None
    path = here / replay.file
    if detect_format(str(path)) != "csv":
        raise InvalidInput([Problem("leads.replay.file", "replays read CSV exports")])
    try:
        types = field_types(fields)
        with path.open(encoding=mapping.encoding, newline="") as stream:
            # One pass, with the mapping's own delimiter and encoding, for the fields and the time.
            read = list(read_rows(stream, "csv", mapping, types, keep=(replay.timestamp,)))
    except OSError as exc:
        raise InvalidInput([Problem("leads.replay.file", f"cannot read it: {exc.strerror}")]) from None
    stamps = {r.line: r.kept.get(replay.timestamp, "") for r in read}
    rows = [(r.line, r.raw) for r in read if not r.problems]
    if stamps and not any(stamps.values()):
        raise InvalidInput(
            [Problem("leads.replay.timestamp", f"no column '{replay.timestamp}' in {path.name}")]
        )
    arrived, problems = replayed(rows, stamps, replay.timestamp, zone, s.start, s.days, shift=replay.shift)
    return arrived, problems
