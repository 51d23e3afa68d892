"""Where the code may know which database it talks to: storage (storage.dialect spells what differs)
and settings. import-linter cannot forbid a subpackage of an external package (sqlalchemy.dialects),
so these read the source instead."""

from __future__ import annotations

import ast
import re
from pathlib import Path

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
