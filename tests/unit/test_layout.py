"""Where the code may know which database it talks to: storage (storage.dialect spells what differs)
and settings. import-linter cannot forbid a subpackage of an external package (sqlalchemy.dialects),
so these read the source instead.

And that the repository stands on its own: no file cites a document outside it by section number or
by name; the product rules the code relies on are in docs/product-rules.md."""

from __future__ import annotations

import ast
import graphlib
import re
from pathlib import Path

import grimp

SRC = Path(__file__).resolve().parents[2] / "src" / "leadpool"
ALLOWED = ("storage/", "settings.py")
# A dialect's name as a string, or the connection's: a database URL in a docstring or help text
# (sqlite:///…, postgresql+psycopg://…) is neither.
NAMING = re.compile(r"""dialect\.name\b|["'](postgresql|sqlite)["']""")


def _outside_storage() -> list[Path]:
    return [
        path for path in sorted(SRC.rglob("*.py")) if not path.relative_to(SRC).as_posix().startswith(ALLOWED)
    ]


def test_no_module_outside_storage_names_a_dialect() -> None:
    found = [
        f"{path.relative_to(SRC)}:{number}: {line.strip()}"
        for path in _outside_storage()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if NAMING.search(line)
    ]
    assert not found, "ask storage.dialect instead of naming the database:\n" + "\n".join(found)


def test_no_module_outside_storage_imports_sqlalchemy_dialects() -> None:
    found = []
    for path in _outside_storage():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
                if node.module == "sqlalchemy":
                    names += [f"sqlalchemy.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            if any(n == "sqlalchemy.dialects" or n.startswith("sqlalchemy.dialects.") for n in names):
                found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not found, "only storage imports sqlalchemy.dialects:\n" + "\n".join(found)


def test_the_check_sees_a_dialect_name_and_lets_a_url_pass() -> None:
    assert NAMING.search('if conn.dialect.name == "postgresql":')
    assert NAMING.search("d = 'sqlite'")
    assert not NAMING.search(
        "`leadpool migrate --from sqlite:///data/leadpool.db --db postgresql+psycopg://…`"
    )
    assert not NAMING.search('yield f"sqlite:///{folder}"')


# -- citations of outside documents ---------------------------------------------------------------

ROOT = SRC.parents[1]
CHECKED = ("src", "tests", "benchmarks", "examples", "scripts", "docs", "README.md")
# Copies and outputs that tools write, besides any folder whose name starts with a dot (.venv, caches).
SKIPPED_DIRS = {"mutants", "__pycache__", "node_modules", "artifacts", "bench-results", "lab-report"}
# Spelt from parts, so that this file does not hold what it looks for.
SECTION_SIGN = chr(0xA7)
OUTSIDE_DOC = "domain" + ".md"


def _cites_outside(text: str) -> bool:
    return SECTION_SIGN in text or OUTSIDE_DOC in text


def _checked_files() -> list[Path]:
    found = []
    for name in CHECKED:
        top = ROOT / name
        for path in [top] if top.is_file() else sorted(top.rglob("*")):
            inside = path.relative_to(ROOT).parts[:-1]
            if not path.is_file() or any(p in SKIPPED_DIRS or p.startswith(".") for p in inside):
                continue
            found.append(path)
    return found


def _text(path: Path) -> str | None:
    """The file's text, or None for a binary file (a NUL byte, or not UTF-8)."""
    data = path.read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def test_no_file_cites_a_document_outside_the_repository() -> None:
    found = []
    for path in _checked_files():
        text = _text(path)
        if text is None:
            continue
        found += [
            f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
            for number, line in enumerate(text.splitlines(), start=1)
            if _cites_outside(line)
        ]
    assert not found, (
        "cite docs/product-rules.md by heading, e.g. '(product rules, Claim limits)', not an outside"
        " document or its section numbers:\n" + "\n".join(found)
    )


def test_the_citation_check_reads_the_files_it_should() -> None:
    files = {path.relative_to(ROOT).as_posix() for path in _checked_files()}
    assert {"src/leadpool/orgfile/schema.py", "tests/unit/test_layout.py", "examples/org.yaml"} <= files
    # A mutation run's copy of the repository (mutants/) holds only src, tests and examples.
    rest = ("README.md", "docs/product-rules.md", "scripts/test", "benchmarks/bench.py")
    assert {name for name in rest if (ROOT / name).exists()} <= files
    assert _cites_outside(f"limits ({SECTION_SIGN}6)") and _cites_outside(f"see ../shared/{OUTSIDE_DOC}")
    assert not _cites_outside("limits (product rules, Claim limits)")


# Where a lead changes hands: who holds it (owner_id, claimed_at), the pool it sits in (pool_id)
# and the claim rows that record a holding are written by leads.transitions alone. The SLA
# ladder's own step on a claim row is its bookkeeping, not a change of hands.
TRANSITIONS = "leads/transitions.py"
_HANDS = re.compile(r"\b(owner_id|claimed_at|pool_id)\s*=(?!=)")
_CLAIM_ROWS = re.compile(r"(insert|insert_naming)\(\s*claims\b|update\(\s*claims\s*\)")


def _statement_after(text: str, start: int) -> str:
    """The text of a statement beginning at `start`: up to the parenthesis that closes its chain."""
    depth, i = 0, start
    while i < len(text):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth < 0 or (
            depth == 0 and text[i] == "\n" and not text[i + 1 : i + 200].lstrip().startswith(".")
        ):
            break
        i += 1
    return text[start:i]


def hands_changed_outside_transitions(path: str, text: str) -> list[str]:
    if path == TRANSITIONS:
        return []
    found = []
    for match in re.finditer(r"update\(\s*leads\s*\)", text):
        if _HANDS.search(_statement_after(text, match.start())):
            found.append(f"{path}: an UPDATE of leads sets who holds it")
    for match in _CLAIM_ROWS.finditer(text):
        statement = _statement_after(text, match.start())
        if path == "sla/service.py" and "sla_step" in statement and not _HANDS.search(statement):
            continue
        found.append(f"{path}: writes claim rows")
    return found


def test_only_the_transitions_module_changes_who_holds_a_lead() -> None:
    found = [
        problem
        for path in sorted(SRC.rglob("*.py"))
        for problem in hands_changed_outside_transitions(
            path.relative_to(SRC).as_posix(), path.read_text(encoding="utf-8")
        )
    ]
    assert not found, "claim, assign, hand back and move through leads.transitions:\n" + "\n".join(found)


def test_the_hands_check_sees_a_holder_written_elsewhere() -> None:
    held = "conn.execute(\n    sa.update(leads)\n    .where(leads.c.id == 1)\n    .values(owner_id=None)\n)\n"
    assert hands_changed_outside_transitions("push/offers.py", held)
    assert not hands_changed_outside_transitions(TRANSITIONS, held)
    moved = "sa.update(leads).where(leads.c.pool_id == 1).values(pool_id=2)\n"
    assert hands_changed_outside_transitions("aging/service.py", moved)
    flagged = "conn.execute(sa.update(leads).where(leads.c.pool_id == 1).values(flag='x'))\nowner_id = 3\n"
    assert not hands_changed_outside_transitions("hygiene/service.py", flagged)
    assert hands_changed_outside_transitions(
        "claims/service.py", "x = sa.insert(claims).values(kind='claim')"
    )
    step = "hot(sa.update(claims).where(claims.c.id == 1).values(sla_step=2))"
    assert not hands_changed_outside_transitions("sla/service.py", step)


def import_cycle(imports: dict[str, set[str]]) -> list[str] | None:
    """One chain of modules that import each other round to the start, or None. import-linter
    checks cycles between the siblings of a package; this checks every module of the project,
    imports inside functions included (a cycle hidden in a function is still a cycle)."""
    try:
        graphlib.TopologicalSorter(imports).prepare()
    except graphlib.CycleError as cycle:
        return list(cycle.args[1])
    return None


def test_no_module_imports_itself_through_others() -> None:
    graph = grimp.build_graph("leadpool")
    imports = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    assert len(imports) > 150  # the whole project was read
    cycle = import_cycle(imports)
    assert cycle is None, "an import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_check_sees_a_cycle_and_passes_a_chain() -> None:
    assert import_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert set(import_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) or []) == {"a", "b", "c"}
