"""Digests of code and data that incremental steps compare to decide whether to redo work.

A computation or a publication is skipped when its inputs and the code that made it are
unchanged: the code is hashed package by package (every module of the package, whatever file
a function moves to, and the files shipped with its modules, such as the page templates of
publish/templates/), with the data folders it reads (sql/, rules/).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType


def update_with_sources(
    digest: hashlib._Hash, packages: Iterable[ModuleType], folders: Iterable[tuple[Path, str]] = ()
) -> None:
    """Feed ``digest`` every source file of ``packages`` (recursively: modules and the files
    shipped with them, such as templates; not bytecode nor hidden files) and every file of
    ``folders`` matching its pattern, each with its path relative to its root, in sorted
    order: the same sources give the same digest on any machine."""
    roots: list[tuple[Path, str]] = []
    for package in packages:
        roots += [(Path(str(path)), "*") for path in package.__path__]
    roots += list(folders)
    for root, pattern in roots:
        for path in sorted(root.rglob(pattern)):
            if not _is_source(path.relative_to(root)) or not path.is_file():
                continue
            name = f"{root.name}/{path.relative_to(root).as_posix()}"
            digest.update(name.encode() + b"\0" + path.read_bytes())


def _is_source(relative: Path) -> bool:
    """Not bytecode (``__pycache__``, ``.pyc``) nor a hidden file or folder (an editor's swap
    file, a tool's cache): what a package ships."""
    if "__pycache__" in relative.parts or relative.suffix in (".pyc", ".pyo"):
        return False
    return not any(part.startswith(".") for part in relative.parts)
