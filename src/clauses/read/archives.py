"""XLSX files as zip archives: checked before anything is parsed (a workbook that would
decompress beyond a ratio of its size or beyond a bound is refused, contract §3)."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from clauses.read.tables import FileRefused

# --------------------------------------------------------------------------------------------
# XLSX
# --------------------------------------------------------------------------------------------

NO_KIND_XLSX = (
    "Aucun onglet reconnu dans ce classeur : nommez chaque onglet de données Heures, Marchés, "
    "Contacts, Partenariats, Bilans ou Conventions, ou vérifiez que sa ligne d'en-tête contient "
    "« ID participant » et « Heures réalisées », « Type de clause », « SIRET acheteur », "
    "« Type de partenaire », « Type de bilan » ou « ETP conventionnés »."
)
NOT_XLSX = (
    "Ce fichier .xlsx n'est pas un classeur Excel valide (contenu illisible ou fichier d'un "
    "autre format renommé). Ouvrez-le dans Excel et enregistrez-le au format « Classeur Excel "
    "(.xlsx) »."
)
WORKBOOK_PART = re.compile(r"(^|/)workbook\.xml$", re.IGNORECASE)
SHEET_PART = re.compile(r"worksheets/[^/]+\.xml$", re.IGNORECASE)
ZIP_CHUNK = 1 << 20


def _format_size(n: float) -> str:
    if n >= 1 << 30:
        return f"{n / (1 << 30):.1f} Gio".replace(".", ",")
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} Mio".replace(".", ",")
    return f"{int(n)} octets"


def _bomb(actual: int, size: int, max_ratio: float, max_uncompressed: int) -> FileRefused:
    return FileRefused(
        f"Classeur refusé par sécurité : son contenu se décompresse en plus de "
        f"{_format_size(actual)}, soit plus de {max_ratio:g} fois sa taille "
        f"({_format_size(size)}) ou plus de {_format_size(max_uncompressed)}. Vérifiez le "
        "classeur (onglets vides très étendus, images) ou envoyez les données en CSV."
    )


@dataclass
class _PartStats:
    """What measuring a sheet part's real size taught about its extent."""

    size: int = 0
    row_tags: int = 0  # an upper bound of its rows
    last_row: int = 0  # the number of its last row, as far as the tags say (0: unknown)
    columns: int = 26  # an upper bound of its columns, from the letters of cell references

    def cells(self) -> int:
        return max(self.last_row, self.row_tags) * self.columns


def check_zip(
    path: Path, size: int, max_ratio: float, max_uncompressed: int
) -> dict[str, _PartStats]:
    """Refuse what is not an OOXML workbook, and decompression bombs, before any parsing;
    returns what was learnt of the sheets' extent on the way."""
    with path.open("rb") as handle:
        magic = handle.read(8)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRefused(
            "Ce classeur est protégé par un mot de passe ou enregistré dans l'ancien format "
            ".xls : enregistrez-le au format « Classeur Excel (.xlsx) » sans mot de passe."
        )
    if not magic.startswith(b"PK"):
        raise FileRefused(NOT_XLSX)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise FileRefused(NOT_XLSX) from None
    with archive:
        infos = archive.infolist()
    names = {info.filename for info in infos}
    if "[Content_Types].xml" not in names or not any(WORKBOOK_PART.search(n) for n in names):
        if "word/document.xml" in names:
            raise FileRefused(
                "Ce fichier .xlsx est en réalité un document Word : déposez le "
                "classeur Excel (.xlsx) ou un CSV."
            )
        if "mimetype" in names and "content.xml" in names:
            raise FileRefused(
                "Ce fichier .xlsx est en réalité un classeur OpenDocument (.ods) : "
                "enregistrez-le au format « Classeur Excel (.xlsx) »."
            )
        raise FileRefused(NOT_XLSX)
    limit = min(max_ratio * size, max_uncompressed)
    declared = sum(info.file_size for info in infos)
    if declared > limit:
        raise _bomb(declared, size, max_ratio, max_uncompressed)
    # The directory may lie about sizes: measure what really inflates, stopping at the limit.
    return _measure_inflated(path, infos, limit, size, max_ratio, max_uncompressed)


_ROW_START = re.compile(rb"<(?:\w+:)?row\b")
ROW_NUMBER = re.compile(rb"<(?:\w+:)?row\b[^>]*?\sr=[\"'](\d+)[\"']")
WIDE_REFS = ((re.compile(rb' r="[A-Z]{3}\d'), 16384), (re.compile(rb' r="[A-Z]{2}\d'), 702))


def last_row_number(data: bytes, prefix: bytes | None = None) -> int | None:
    """The number of the last row element starting in ``data`` (None: none, or no number)."""
    if prefix is not None:
        start = data.rfind(b"<" + prefix + b"row")
    else:
        start = -1
        for match in _ROW_START.finditer(data, max(0, len(data) - 65536)):
            start = match.start()
    found = ROW_NUMBER.match(data, start) if start >= 0 else None
    return int(found.group(1)) if found else None


def _observe(stats: _PartStats, data: bytes) -> None:
    stats.row_tags += data.count(b"<row") + data.count(b":row")
    last = last_row_number(data)
    if last is not None:
        stats.last_row = max(stats.last_row, last + 1000)  # a row may straddle two blocks
    for pattern, columns in WIDE_REFS:
        if stats.columns >= columns:
            break
        if pattern.search(data):
            stats.columns = columns


def _measure_inflated(
    path: Path,
    infos: list[zipfile.ZipInfo],
    limit: float,
    size: int,
    max_ratio: float,
    max_uncompressed: int,
) -> dict[str, _PartStats]:
    total = 0
    parts: dict[str, _PartStats] = {}
    with path.open("rb") as handle:
        for info in infos:
            if info.flag_bits & 0x1:
                raise FileRefused(
                    "Ce classeur est chiffré (protégé par un mot de passe) : enregistrez-le "
                    "sans mot de passe au format « Classeur Excel (.xlsx) »."
                )
            stats = parts.setdefault(info.filename, _PartStats())
            sheet = bool(SHEET_PART.search(info.filename))
            if not 0 <= info.header_offset <= size - 30:  # a central directory that lies
                raise FileRefused(NOT_XLSX)
            handle.seek(info.header_offset)
            local = handle.read(30)
            if len(local) < 30 or not local.startswith(b"PK\x03\x04"):
                raise FileRefused(NOT_XLSX)
            skip = int.from_bytes(local[26:28], "little") + int.from_bytes(local[28:30], "little")
            handle.seek(skip, io.SEEK_CUR)
            remaining = info.compress_size
            if info.compress_type == zipfile.ZIP_STORED:
                total += remaining
                stats.size += remaining
                if sheet:
                    stats.last_row, stats.columns = 1 << 31, 16384  # unknown: read by slices
            elif info.compress_type == zipfile.ZIP_DEFLATED:
                inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                while remaining > 0 and not inflater.eof:
                    chunk = handle.read(min(ZIP_CHUNK, remaining))
                    if not chunk:
                        break
                    remaining -= len(chunk)
                    pending = chunk
                    while pending and not inflater.eof:
                        try:
                            out = inflater.decompress(pending, ZIP_CHUNK)
                        except zlib.error:
                            raise FileRefused(NOT_XLSX) from None
                        total += len(out)
                        stats.size += len(out)
                        if sheet:
                            _observe(stats, out)
                        if total > limit:
                            raise _bomb(total, size, max_ratio, max_uncompressed)
                        pending = inflater.unconsumed_tail
            else:
                raise FileRefused(
                    "Ce classeur utilise un format de compression non pris en charge : "
                    "ouvrez-le dans Excel et enregistrez-le au format « Classeur Excel (.xlsx) »."
                )
            if total > limit:
                raise _bomb(total, size, max_ratio, max_uncompressed)
    return parts
