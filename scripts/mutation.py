"""Mutation score of the pure decision modules, per module (run through ./scripts/mutate).

mutmut changes the decision code one small edit at a time (a `<` into `<=`, a constant by one, a
branch dropped) and runs the fast unit tests against each change. A change no test notices is a
decision nobody pinned. Mutants that cannot change behaviour (equivalent ones) are listed, each
with its reason, in tests/unit/equivalent_mutants.toml and left out of the score.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENT = ROOT / "tests" / "unit" / "equivalent_mutants.toml"
KILLED = {"killed", "timeout", "segfault", "caught by type check"}
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
NOT_RUN = {"not checked", "skipped", "check was interrupted by user"}


def configured() -> list[str]:
    """The modules pyproject.toml lets mutmut change, as dotted names."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]
    return [p.removeprefix("src/").removesuffix(".py").replace("/", ".") for p in config["only_mutate"]]


def chosen(names: list[str], known: list[str]) -> list[str]:
    """`claims.limits`, `leadpool.claims.limits` or `src/leadpool/claims/limits.py`, checked."""
    out = []
    for name in names:
        dotted = name.removeprefix("src/").removesuffix(".py").replace("/", ".")
        dotted = dotted if dotted.startswith("leadpool.") else f"leadpool.{dotted}"
        if dotted not in known:
            sys.exit(f"{name}: not a module mutmut mutates; choose from: {', '.join(known)}")
        out.append(dotted)
    return out or known


def equivalents() -> dict[str, str]:
    """Mutant name → why it cannot change behaviour."""
    if not EQUIVALENT.exists():
        return {}
    data = tomllib.loads(EQUIVALENT.read_text(encoding="utf-8"))
    return {f"{module}.{name}": why for module, names in data.items() for name, why in names.items()}


def module_of(mutant: str, modules: list[str]) -> str | None:
    return next((m for m in modules if mutant.startswith(m + ".")), None)


def results() -> dict[str, str]:
    """Every mutant mutmut knows, with its status."""
    out = subprocess.run(
        ["mutmut", "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    found = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep:
            found[name] = status
    return found


def fresh_state() -> None:
    """mutmut keeps its mutants in mutants/ and only regenerates files whose source changed: after
    a change to [tool.mutmut] (a module added) start again, or the new module has no mutants."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]
    seen = ROOT / "mutants" / "leadpool-mutmut-config.json"
    wanted = json.dumps(config, sort_keys=True)
    if seen.exists() and seen.read_text(encoding="utf-8") == wanted:
        return
    if (ROOT / "mutants").exists():
        print("[tool.mutmut] is new or changed: starting again from no mutants", file=sys.stderr)
        shutil.rmtree(ROOT / "mutants")
    seen.parent.mkdir()
    seen.write_text(wanted, encoding="utf-8")


def run_mutmut(patterns: list[str]) -> int:
    """mutmut run, its output kept in mutants/mutmut-run.log; on screen only its progress line and
    what went wrong (the per-mutant lines are thousands)."""
    log = ROOT / "mutants" / "mutmut-run.log"
    with subprocess.Popen(
        ["mutmut", "run", "--max-children", str(os.cpu_count() or 2), *patterns],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as run, log.open("w", encoding="utf-8") as kept:
        assert run.stdout is not None
        shown = 0.0
        for line in run.stdout:
            kept.write(line)
            text = line.rstrip("\n").rsplit("\r", 1)[-1]
            if text.startswith(("🎉", "🙁", "🫥", "⏰", "🤔", "🔇", "🧙")):
                continue  # one line per mutant
            if text[:1] in SPINNER:  # a progress line: one every ten seconds is enough
                if time.monotonic() - shown < 10:
                    continue
                shown = time.monotonic()
            print(text, flush=True)
    print(f"(mutmut's full output: {log.relative_to(ROOT)})")
    return run.returncode


def main() -> int:
    known = configured()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"modules to mutate (default: all {len(known)})")
    parser.add_argument("--min", type=float, default=95.0, help="score a module must reach (%%)")
    parser.add_argument("--report", action="store_true", help="only print the last run's results")
    parser.add_argument("--survivors", action="store_true", help="list every surviving mutant")
    args = parser.parse_args()
    modules = chosen(args.modules, known)
    if not args.report:
        fresh_state()
        patterns = [f"{m}.*" for m in modules] if args.modules else []
        code = run_mutmut(patterns)
        if code not in (0, 1):
            return code
    status = results()
    why = equivalents()
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: dict[str, list[str]] = defaultdict(list)
    stale = []
    for mutant, state in status.items():
        module = module_of(mutant, modules)
        if module is None:
            continue
        if mutant in why:
            counts[module]["equivalent"] += 1
            if state in KILLED:
                stale.append(f"{mutant}: listed as equivalent but a test kills it")
            continue
        kind = "killed" if state in KILLED else "not run" if state in NOT_RUN else "survived"
        counts[module][kind] += 1
        if kind == "survived":
            survivors[module].append(f"{mutant} ({state})")
    stale += [
        f"{m}: listed as equivalent but no such mutant"
        for m in why
        if m not in status and module_of(m, modules) is not None
    ]
    below = []
    print(f"\n{'module':34} {'mutants':>8} {'killed':>7} {'survived':>9} {'equiv.':>7} {'score':>7}")
    for module in modules:
        c = counts[module]
        scored = c["killed"] + c["survived"]
        score = 100.0 * c["killed"] / scored if scored else 100.0
        total = scored + c["equivalent"] + c["not run"]
        if total == 0:
            print(f"{module:34} no mutants: not run yet, or nothing in it to change")
            below.append(module)
            continue
        print(f"{module:34} {total:8} {c['killed']:7} {c['survived']:9} {c['equivalent']:7} {score:6.1f}%")
        if c["not run"]:
            print(f"  {c['not run']} mutant(s) not run yet: run without --report")
        if score < args.min:
            below.append(module)
        if args.survivors or score < args.min:
            for line in survivors[module]:
                print(f"  survived: {line}")
    for line in stale:
        print(f"  stale: {line}")
    if below or stale:
        print(f"\nbelow {args.min:g}%: {', '.join(below) or 'none'}; see a mutant with `uv run mutmut show NAME`")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
