"""Code digests follow packages, not lists of files: a module added to a package, or a function
moved from one module to another, changes the digest of that package."""

from __future__ import annotations

import hashlib
import types
from pathlib import Path

from clauses.fingerprint import update_with_sources


def digest_of(root: Path, folder: Path | None = None) -> str:
    package = types.ModuleType("fake")
    package.__path__ = [str(root)]
    digest = hashlib.sha256()
    update_with_sources(digest, [package], [(folder, "*.sql")] if folder else [])
    return digest.hexdigest()


def test_a_module_added_or_a_function_moved_changes_the_digest(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    root.mkdir()
    (root / "a.py").write_text("def f():\n    return 1\n\n\ndef g():\n    return 2\n")
    first = digest_of(root)
    assert digest_of(root) == first  # the same sources, the same digest
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"compiled")
    assert digest_of(root) == first  # compiled files are not sources
    (root / "b.py").write_text("")
    added = digest_of(root)
    assert added != first
    (root / "a.py").write_text("def f():\n    return 1\n")
    (root / "b.py").write_text("\n\ndef g():\n    return 2\n")
    assert digest_of(root) not in (first, added)  # g moved to b.py
    (root / "sub").mkdir()
    (root / "sub" / "c.py").write_text("X = 1\n")
    assert digest_of(root) != added  # subpackages count


def test_sql_files_count_too(tmp_path: Path) -> None:
    root, sql = tmp_path / "pkg", tmp_path / "sql"
    root.mkdir()
    sql.mkdir()
    (sql / "select_x.sql").write_text("SELECT 1")
    before = digest_of(root, sql)
    (sql / "select_x.sql").write_text("SELECT 2")
    assert digest_of(root, sql) != before


def test_files_shipped_with_the_modules_count_too(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    (root / "templates").mkdir(parents=True)
    (root / "a.py").write_text("X = 1\n")
    (root / "templates" / "page.html").write_text("<p>{{ x }}</p>\n")
    before = digest_of(root)
    (root / "templates" / "page.html").write_text("<p>{{ x }} </p>\n")
    changed = digest_of(root)
    assert changed != before  # a template change republishes
    (root / "templates" / ".page.html.swp").write_bytes(b"editor")
    (root / "a.pyc").write_bytes(b"compiled")
    (root / ".cache").mkdir()
    (root / ".cache" / "x").write_text("cache")
    assert digest_of(root) == changed  # hidden files and bytecode are not sources
