"""Publishing a folder (an extract, its copy in an outbox) atomically: new private files, the
swap, crash recovery, the writers' lock.

Everything is built in a hidden sibling folder (``.<name>.tmp-<uuid>``) and then swapped in. On
Linux the swap is a single ``renameat2(RENAME_EXCHANGE)``: a reader of the target folder sees
the previous complete folder or the new one, never anything else. Where the exchange is not
available, the previous folder is renamed aside (``.<name>.old-<uuid>``), the new one renamed
in, then the old one deleted; a crash between those two renames leaves the previous folder
aside, and the next call for the same target puts it back before doing anything else. Leftover
temporary siblings of earlier crashes are removed by the next call. Writers of the same parent
folder are serialised by an advisory lock on that folder, so the cleanup never touches a
concurrent writer's work.

Folders get mode 0o750 and files 0o640, whatever the umask.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import re
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

try:  # advisory locking; absent on Windows, where writers are not serialised
    import fcntl
except ImportError:  # pragma: no cover - not on the supported platforms
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "build_and_publish",
    "deliver_folder",
    "fsync_dir",
    "make_dirs",
    "open_new",
]

log = logging.getLogger(__name__)

DIR_MODE = 0o750
FILE_MODE = 0o640

_UUID_HEX = re.compile(r"^[0-9a-f]{32}$")


def open_new(path: Path) -> int:
    """Create ``path`` (which must not exist) with FILE_MODE; return its descriptor."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, FILE_MODE)
    os.fchmod(fd, FILE_MODE)  # whatever the umask
    return fd


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can fsync a directory
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_renameat2_func: Any = None
_renameat2_looked_up = False


def _renameat2() -> Any:
    """libc's renameat2, or None when the platform has none."""
    global _renameat2_func, _renameat2_looked_up
    if not _renameat2_looked_up:
        _renameat2_looked_up = True
        if sys.platform.startswith("linux"):
            try:
                func = ctypes.CDLL(None, use_errno=True).renameat2
            except (AttributeError, OSError):
                func = None
            if func is not None:
                func.argtypes = [
                    ctypes.c_int,
                    ctypes.c_char_p,
                    ctypes.c_int,
                    ctypes.c_char_p,
                    ctypes.c_uint,
                ]
                func.restype = ctypes.c_int
            _renameat2_func = func
    return _renameat2_func


def _exchange_dirs(first: Path, second: Path) -> bool:
    """Swap two existing paths in one atomic step; False when the system cannot do it."""
    func = _renameat2()
    if func is None:
        return False
    result = func(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    if result == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # old kernel, or a file system (NFS...) without exchange
    raise OSError(error, os.strerror(error), str(first), None, str(second))


def _sibling(target: Path, role: str) -> Path:
    return target.parent / f".{target.name}.{role}-{uuid.uuid4().hex}"


def _siblings(target: Path, role: str) -> list[Path]:
    prefix = f".{target.name}.{role}-"
    found = []
    for entry in target.parent.iterdir():
        if entry.name.startswith(prefix) and _UUID_HEX.match(entry.name[len(prefix) :]):
            found.append(entry)
    return found


def _remove(path: Path) -> None:
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path)


def _recover(target: Path) -> None:
    """Undo what an earlier crash left around ``target``.

    A previous extract renamed aside and never replaced is put back; every other temporary
    sibling of ``target`` (unfinished builds, old extracts awaiting deletion) is removed.
    """
    asides = _siblings(target, "old")
    if not os.path.lexists(target) and asides:
        newest = max(asides, key=lambda path: path.lstat().st_mtime_ns)
        os.replace(newest, target)
        fsync_dir(target.parent)
        asides.remove(newest)
        log.warning("extract %s restored after an interrupted publication", target)
    for stale in asides + _siblings(target, "tmp"):
        log.info("removing %s, left by an interrupted extract", stale.name)
        _remove(stale)


def _publish(staging: Path, target: Path) -> None:
    """Put the complete ``staging`` folder at ``target``, replacing any previous extract."""
    if not os.path.lexists(target):
        os.replace(staging, target)
        fsync_dir(target.parent)
        return
    if _exchange_dirs(staging, target):
        fsync_dir(target.parent)
        _remove(staging)  # now holds the previous extract
        return
    aside = _sibling(target, "old")
    os.replace(target, aside)
    try:
        os.replace(staging, target)
    except BaseException:
        if not os.path.lexists(target):
            os.replace(aside, target)
        raise
    fsync_dir(target.parent)
    _remove(aside)


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``directory`` (writers of one parent take turns)."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def make_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents, each with DIR_MODE."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(directory, DIR_MODE)


def build_and_publish(target_dir: Path, build: Callable[[Path], None]) -> None:
    """Run ``build`` in a fresh private sibling of ``target_dir``, then publish it there."""
    make_dirs(target_dir.parent)
    with _locked(target_dir.parent):
        _recover(target_dir)
        if os.path.lexists(target_dir) and (target_dir.is_symlink() or not target_dir.is_dir()):
            raise FileExistsError(f"{target_dir} exists and is not a folder")
        staging = _sibling(target_dir, "tmp")
        os.mkdir(staging, DIR_MODE)
        os.chmod(staging, DIR_MODE)
        try:
            try:
                build(staging)
            except OSError as error:
                # A full disk says only "[Errno 28] No space left on device" (or 27, File too
                # large), naming no file: say which extract failed, and that nothing changed.
                raise OSError(
                    error.errno,
                    f"{error.strerror or error}; extract not published, the previous one is "
                    "left as it was",
                    str(target_dir),
                ) from error
            _publish(staging, target_dir)
        except BaseException:
            with contextlib.suppress(OSError):
                if staging.exists():
                    _remove(staging)
            raise


def deliver_folder(source: Path, target_dir: Path) -> Path:
    """Copy the extract folder ``source`` to ``target_dir`` (an outbox), published atomically
    like the extract itself: the outbox shows the previous complete copy or the new one."""

    def copy(staging: Path) -> None:
        for path in sorted(Path(source).iterdir()):
            if path.is_file() and not path.is_symlink():
                destination = staging / path.name
                shutil.copyfile(path, destination)
                os.chmod(destination, FILE_MODE)

    build_and_publish(Path(target_dir), copy)
    log.info("extract %s delivered to %s", source, target_dir)
    return Path(target_dir)
