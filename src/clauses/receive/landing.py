"""The landing zone (contract §1): what was received, where, when, and what is refused unread.

landing/<code_region>/<AAAA-MM-JJ>/<file>.csv|.xlsx — nothing here is followed or opened: this
module only looks at names and file types (lstat), so a symbolic link, a device or a hostile
name is refused before anyone reads it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from clauses.contract.kinds import REGIONS

log = logging.getLogger(__name__)

ACCEPTED_EXTENSIONS = (".csv", ".xlsx")
NAME_MAX = 255  # bytes in one file name (ext4, XFS, Btrfs, tmpfs...)
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F)}


@dataclass(frozen=True)
class LandingEntry:
    """A file entry in a valid region and date folder; `refusal` says why it will not be read."""

    region: str
    receipt_date: date
    file_name: str  # as shown (`shown_name`): the path is the one to open
    path: Path
    refusal: str | None = None


@dataclass
class LandingScan:
    entries: list[LandingEntry]
    outside: list[tuple[str, str]]  # (path relative to landing/, reason): in no valid folder
    loose: list[str]  # files waiting in landing/<region>/ for the next live run


def shown_name(name: str) -> str:
    """A name as it can be written anywhere (a UTF-8 report, the registry, the run summary).

    A name read from the file system that is not valid UTF-8 holds surrogate escapes, which
    no UTF-8 writer accepts: its undecodable bytes are shown as ``\\xNN`` instead. Any other
    name is returned unchanged.
    """
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", "backslashreplace")
    return name


def fitting_name(name: str, room: int) -> str:
    """``name``, or a shorter form of it, leaving ``room`` bytes within NAME_MAX for what is
    added to it (a prefix, a suffix) to make another file's name.

    A name that fits is returned as is. A longer one is cut on a character boundary and ended
    by ``~`` and 8 hex digits of its SHA-256: two long names that start alike stay apart.
    """
    encoded = name.encode("utf-8", "surrogateescape")
    if len(encoded) + room <= NAME_MAX:
        return name
    digest = hashlib.sha256(encoded).hexdigest()[:8]
    head = encoded[: max(NAME_MAX - room - len(digest) - 1, 0)].decode("utf-8", "ignore")
    return f"{head}~{digest}"


def temporary_name(name: str) -> str:
    """A hidden, unique name to write a file as before renaming it ``name``."""
    return f".{fitting_name(name, 38)}.{uuid.uuid4().hex}.tmp"  # 38: the bytes added around


def name_problem(name: str, extensions: tuple[str, ...] = ACCEPTED_EXTENSIONS) -> str | None:
    """Why a file name breaks the contract's naming rule, in French; None when it is fine.

    `extensions`: the endings accepted (any case); a region's files by default, DECP snapshots
    (`clauses.contract.decp.EXTENSIONS`) for `landing/decp/`.
    """
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "nom de fichier qui n'est pas en UTF-8 valide"
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        return (
            "nom de fichier contenant un caractère de contrôle (retour à la ligne, tabulation...)"
        )
    if any(ch in _BIDI_CONTROLS for ch in name):
        return "nom de fichier contenant un caractère d'inversion du sens d'écriture"
    if "/" in name or "\\" in name or name in (".", ".."):
        return "nom de fichier qui sort de son dossier"
    if not name.lower().endswith(extensions):
        listed = " et ".join((", ".join(extensions[:-1]), extensions[-1]))
        return f"extension non acceptée : seuls les fichiers {listed} sont traités"
    return None


def _kind_problem(mode: int) -> str | None:
    if stat.S_ISLNK(mode):
        return "lien symbolique : non suivi, déposez le fichier lui-même"
    if not stat.S_ISREG(mode):
        return "n'est pas un fichier ordinaire (dossier, tube ou périphérique)"
    return None


def parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def scan_landing(landing_dir: Path, as_of: date, regions: set[str] | None = None) -> LandingScan:
    """Every entry received on or before `as_of` (folders after it are not received yet)."""
    scan = LandingScan([], [], [])
    if not landing_dir.is_dir():
        return scan
    for region_entry in sorted(os.scandir(landing_dir), key=lambda e: e.name):
        if region_entry.name not in REGIONS or not region_entry.is_dir(follow_symlinks=False):
            scan.outside.append(
                (shown_name(region_entry.name), "dossier de région inconnu ou invalide")
            )
            continue
        if regions is not None and region_entry.name not in regions:
            continue
        for date_entry in sorted(os.scandir(region_entry.path), key=lambda e: e.name):
            relative = f"{region_entry.name}/{shown_name(date_entry.name)}"
            if date_entry.is_file(follow_symlinks=False):
                scan.loose.append(relative)
                continue
            receipt = parse_date(date_entry.name)
            if receipt is None or not date_entry.is_dir(follow_symlinks=False):
                scan.outside.append((relative, "dossier de date invalide (AAAA-MM-JJ attendu)"))
                continue
            if receipt > as_of:
                continue
            for file_entry in sorted(os.scandir(date_entry.path), key=lambda e: e.name):
                refusal = _kind_problem(file_entry.stat(follow_symlinks=False).st_mode)
                refusal = refusal or name_problem(file_entry.name)
                scan.entries.append(
                    LandingEntry(
                        region_entry.name,
                        receipt,
                        shown_name(file_entry.name),
                        Path(file_entry.path),
                        refusal,
                    )
                )
    return scan


def move_loose_files(landing_dir: Path, today: date) -> list[Path]:
    """Live run only: files dropped in landing/<region>/ move into today's receipt folder."""
    moved: list[Path] = []
    if not landing_dir.is_dir():
        return moved
    for region_entry in os.scandir(landing_dir):
        if region_entry.name not in REGIONS or not region_entry.is_dir(follow_symlinks=False):
            continue
        for entry in os.scandir(region_entry.path):
            if entry.is_file(follow_symlinks=False):
                target_dir = Path(region_entry.path) / today.isoformat()
                target_dir.mkdir(exist_ok=True)
                target = target_dir / entry.name
                if target.exists():  # never overwrite what was received today already
                    log.warning("not moving %s: %s exists", entry.path, target)
                    continue
                shutil.move(entry.path, target)
                moved.append(target)
    if moved:
        log.info("moved %d loose files into today's receipt folders", len(moved))
    return moved


def file_sha256(path: Path) -> str:
    """SHA-256 of a regular file's bytes, never following a symbolic link."""
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
