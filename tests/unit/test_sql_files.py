"""SQL lives in sql/ (STYLE.md §5): every file named by the code exists and every file is used;
a statement written inline in src/clauses says why on the lines above it."""

from __future__ import annotations

import re
from pathlib import Path

from clauses.config import PROJECT_ROOT, SQL_DIR

SOURCES = PROJECT_ROOT / "src" / "clauses"
NAME = re.compile(r"""["']((?:select|insert|update|delete)_[a-z0-9_]*[a-z0-9])["']""")


def python_sources() -> list[Path]:
    return [p for p in sorted(SOURCES.rglob("*.py")) if "migrations" not in p.parts]


def test_every_sql_file_named_by_the_code_exists_and_every_file_is_named() -> None:
    named = {name for path in python_sources() for name in NAME.findall(path.read_text())}
    files = {path.stem for path in SQL_DIR.glob("*.sql")}
    assert named - files == set(), "named by the code, missing from sql/"
    assert files - named == set(), "in sql/, used nowhere"


def test_inline_sql_says_why() -> None:
    unexplained = []
    for path in python_sources():
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            if "sa.text(" not in line or "sa.text(s) for s in statements" in line:
                continue
            if not any("# Inline:" in above for above in lines[max(0, number - 3) : number]):
                unexplained.append(f"{path.relative_to(SOURCES)}:{number + 1}")
    assert unexplained == []
