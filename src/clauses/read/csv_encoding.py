"""The encoding of a CSV file (contract §3): UTF-8 (with or without a BOM) or Windows-1252, one
for the whole file, told apart line by line on French text; a file mixing both, or holding
bytes neither can decode, is refused with the line or position to correct."""

from __future__ import annotations

import codecs
import re
from typing import IO

from clauses.read.tables import MAX_LINE_BYTES, FileRefused, line_too_long

_NUL_BYTES = (
    "Ce fichier .csv contient des octets nuls : ce n'est pas un fichier texte CSV "
    "(fichier binaire renommé, ou texte en UTF-16). Exportez-le au format « CSV UTF-8 » "
    "ou « CSV (séparateur : point-virgule) »."
)
# Bytes that Windows-1252 leaves undefined: a file holding one is in neither encoding.
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
BOM = b"\xef\xbb\xbf"
# Each byte's class for finding UTF-8 multi-byte sequences fast: "L" a lead byte, "C" a
# continuation byte, "." any other byte.
_BYTE_CLASSES = bytes(
    ord("L") if 0xC2 <= b <= 0xF4 else ord("C") if 0x80 <= b <= 0xBF else ord(".")
    for b in range(256)
)
_LINE_BREAK = re.compile(rb"[\r\n]")
# What a line of French text written in UTF-8 holds beyond ASCII: the letters and signs of
# Latin-1 and the others of Windows-1252, general punctuation (’ « … and the narrow no-break
# space among them) and €. Windows-1252 bytes that happen to decode as UTF-8 mostly give other
# characters (C9 A0, "É" then a no-break space, is U+0260): such a line is not taken for UTF-8.
_FRENCH_TEXT = re.compile(
    "[\x00-\x7f\u00a0-\u00ff\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6"
    "\u02dc\u2000-\u206f\u20ac\u2122]*"
)


def _undecodable(position: int) -> FileRefused:
    return FileRefused(
        "Encodage du fichier non reconnu : il n'est ni en UTF-8 ni en Windows-1252 "
        f"(octet illisible à la position {position}). Enregistrez-le en « CSV UTF-8 »."
    )


def _mixed_encodings(utf8_line: int, other_line: int) -> FileRefused:
    return FileRefused(
        "Le fichier mélange deux encodages (UTF-8 et Windows-1252) : par exemple, la ligne "
        f"{utf8_line} est en UTF-8 et la ligne {other_line} en Windows-1252, et un fichier CSV "
        "n'a qu'un encodage. Enregistrez-le en « CSV UTF-8 » puis déposez-le à nouveau."
    )


def csv_encoding(handle: IO[bytes], first: bytes, block_bytes: int) -> str:
    """The encoding of the whole file: "utf-8-sig" (BOM), "utf-8" or "cp1252", read by blocks
    of ``block_bytes`` after ``first`` (the first block, already read).

    Checks on the way that no byte is NUL (UTF-16 text, binary files).
    """
    utf8 = codecs.getincrementaldecoder("utf-8")()
    utf8_ok, cp1252_error = True, -1
    offset, block = 0, first
    while block:
        if b"\x00" in block:
            raise FileRefused(_NUL_BYTES)
        if utf8_ok:
            try:
                utf8.decode(block, final=False)
            except UnicodeDecodeError:
                utf8_ok = False
        if cp1252_error < 0:
            match = _CP1252_UNDEFINED.search(block)
            if match:
                cp1252_error = offset + match.start()
        offset += len(block)
        block = handle.read(block_bytes)
    if utf8_ok:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
    if utf8_ok:
        return "utf-8-sig" if first.startswith(BOM) else "utf-8"
    if cp1252_error >= 0:
        raise _undecodable(cp1252_error)
    mixed = _utf8_and_other_lines(handle, len(BOM) if first.startswith(BOM) else 0, block_bytes)
    if mixed is not None:
        raise _mixed_encodings(*mixed)
    return "cp1252"


def _line_breaks(data: bytes, end: int) -> int:
    """Line breaks (CR LF, LF or CR) in ``data[:end]``."""
    return data.count(b"\n", 0, end) + data.count(b"\r", 0, end) - data.count(b"\r\n", 0, end)


def _utf8_line(chunk: bytes) -> int:
    """Where the first line of ``chunk`` (whole lines) that is UTF-8 French text holding a
    multi-byte sequence starts; -1 when none does."""
    classes = chunk.translate(_BYTE_CLASSES)
    at, searched = classes.find(b"LC"), 0
    while at >= 0:
        start = max(chunk.rfind(b"\n", searched, at), chunk.rfind(b"\r", searched, at)) + 1
        found = _LINE_BREAK.search(chunk, at)
        end = found.start() if found else len(chunk)
        try:
            text = chunk[start:end].decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            if _FRENCH_TEXT.fullmatch(text):
                return start
        searched = end
        at = classes.find(b"LC", end)
    return -1


def _utf8_and_other_lines(
    handle: IO[bytes], start: int, block_bytes: int
) -> tuple[int, int] | None:
    """A file that is not UTF-8 as a whole: the first line that is UTF-8 text (with accents, a
    multi-byte sequence) and the first line that is not UTF-8, both 1-based; None when no line
    is UTF-8 text: the file is in Windows-1252.

    Lines are judged whole: a Windows-1252 line is taken for UTF-8 only when every one of its
    accented characters happens to be a valid UTF-8 sequence of French text ("Ã©" alone beside
    ASCII), which hardly ever happens outside text that was itself UTF-8 once. The file is read
    again by blocks cut at line breaks; a line longer than MAX_LINE_BYTES refuses the file.
    """
    handle.seek(start)
    carry, lines_before = b"", 0
    utf8_line: int | None = None
    other_line: int | None = None
    while True:
        block = handle.read(block_bytes)
        data = carry + block
        if not block:
            cut = len(data)
        else:
            cut = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
            if cut == len(data) and data.endswith(b"\r"):
                cut -= 1  # a CR LF may be split between two blocks: the CR goes with the LF
            if cut <= 0:
                if len(data) > MAX_LINE_BYTES:
                    raise line_too_long(lines_before + 1)
                carry = data
                continue
        chunk, carry = data[:cut], data[cut:]
        if other_line is None:
            try:
                chunk.decode("utf-8")
            except UnicodeDecodeError as error:
                other_line = lines_before + _line_breaks(chunk, error.start) + 1
        if utf8_line is None and (at := _utf8_line(chunk)) >= 0:
            utf8_line = lines_before + _line_breaks(chunk, at) + 1
        if utf8_line is not None and other_line is not None:
            return utf8_line, other_line
        if not block:
            return None
        lines_before += _line_breaks(chunk, len(chunk))
