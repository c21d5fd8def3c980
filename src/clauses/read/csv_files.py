"""CSV files: the encoding (one per file), the separator and header record, then the body in
record-aligned slices of its bytes parsed by pyarrow, or by Python's csv module where quoting
is irregular (contract §3)."""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from clauses.contract.kinds import (
    KINDS,
    Kind,
)
from clauses.read.csv_encoding import BOM, csv_encoding
from clauses.read.tables import (
    ALL_KNOWN_KEYS,
    MAX_LINE_BYTES,
    SEPARATORS,
    ColumnPlan,
    FileRefused,
    OpenedFile,
    TableReader,
    TextBatch,
    check_header,
    check_values,
    concat_batches,
    detect_kind,
    field_too_long,
    filled_rows,
    header_key,
    line_too_long,
    plan_columns,
)

_NO_KIND_CSV = (
    "Aucun type de fichier reconnu : la ligne d'en-tête (première ligne) doit contenir "
    "« ID participant » et « Heures réalisées » (Heures), « Type de clause » (Marchés), "
    "« SIRET acheteur » (Contacts), « Type de partenaire » (Partenariats), « Type de bilan » "
    "(Bilans) ou « ETP conventionnés » (Conventions). Vérifiez aussi que le séparateur est "
    "« ; », « , » ou une tabulation."
)

log = logging.getLogger(__name__)

# Sizes of the pieces a CSV is read in: they bound memory, whatever the size of the file.
CSV_BLOCK_BYTES = 8 << 20  # a CSV is parsed in record-aligned slices of about this size
CAREFUL_ROWS = 50_000  # records per batch of the careful (Python csv) reader
_NO_DATA = "Le fichier ne contient aucune donnée (seulement des espaces ou des lignes vides)."

# What ends the header record: a line break outside quotes (quoted fields may hold separators
# and line breaks). Found by a scan, not a repeated regex group, whose backtracking state grows
# with the line: a single line of 8 Mio cost such a regex 1 Gio.
_HEADER_STOPS = re.compile(r'["\r\n]')
_QUOTED = re.compile(r'"[^"]*"')


def _split_header(text: str) -> tuple[str, str, int]:
    """(header record, rest of the text, number of lines the header record spans).

    The record is looked for in the first MAX_LINE_BYTES + 1 characters only: a longer one is
    refused whatever it holds, and a file of quotes costs no more than that to scan."""
    window = len(text) if len(text) <= MAX_LINE_BYTES else MAX_LINE_BYTES + 1
    end, quoted = window, False
    for stop in _HEADER_STOPS.finditer(text, 0, window):
        if stop.group() == '"':
            quoted = not quoted
        elif not quoted:
            end = stop.start()
            break
    else:
        # A quote still open: unbalanced in the header (fall back to the first physical line),
        # unless it may close further on, in a record longer than a line may be.
        if quoted and '"' not in text[window:]:
            end = min((i for i in (text.find("\n"), text.find("\r")) if i >= 0), default=end)
    header = text[:end]
    rest = text[end:]
    if rest.startswith("\r\n"):
        rest = rest[2:]
    elif rest[:1] in ("\r", "\n"):
        rest = rest[1:]
    lines = 1 + len(re.findall(r"\r\n|\r|\n", header))
    return header, rest, lines


def _parse_header(header: str, separator: str) -> list[str]:
    reader = csv.reader(io.StringIO(header, newline=""), delimiter=separator)
    try:
        return next(reader, [])
    except csv.Error:  # a header longer than the csv module's field limit (128 Kio)
        raise field_too_long(1, None) from None


def _detect_separator(header: str) -> str:
    """The separator that splits the header into the most known headers; ties: the most
    frequent one outside quotes, then `;`, `,`, tab."""
    unquoted = _QUOTED.sub("", header)
    best: tuple[tuple[int, int, int], str] | None = None
    for rank, separator in enumerate(SEPARATORS):
        try:
            split = _parse_header(header, separator)
        except FileRefused:  # a field too long with this separator: another may split it
            split = []
        known = sum(header_key(h) in ALL_KNOWN_KEYS for h in split)
        score = (known, unquoted.count(separator), -rank)
        if best is None or score > best[0]:
            best = (score, separator)
    assert best is not None
    return best[1]


def open_csv(path: Path, size: int) -> OpenedFile:
    with path.open("rb") as handle:
        first = handle.read(CSV_BLOCK_BYTES)
        if first.startswith(b"PK\x03\x04"):
            raise FileRefused(
                "Ce fichier .csv est en réalité un classeur Excel (ou une archive zip) : "
                "renommez-le en .xlsx, ou exportez-le depuis Excel au format « CSV UTF-8 »."
            )
        encoding = csv_encoding(handle, first, CSV_BLOCK_BYTES)
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    start = len(BOM) if encoding == "utf-8-sig" else 0
    text = codecs.getincrementaldecoder(codec)().decode(first[start:], final=False)
    if not text.strip() and size <= CSV_BLOCK_BYTES:
        raise FileRefused(_NO_DATA)
    header_text, rest, header_lines = _split_header(text)
    if len(header_text) > MAX_LINE_BYTES // 4 and len(header_text.encode(codec)) > MAX_LINE_BYTES:
        raise line_too_long(1)
    separator = _detect_separator(header_text)
    headers = [h.strip() for h in _parse_header(header_text, separator)]
    check_header(headers, 1)
    kind = detect_kind(headers)
    if kind is None:
        raise FileRefused(_NO_KIND_CSV)
    plan = plan_columns(headers, KINDS[kind])
    body_offset = start + len(text[: len(text) - len(rest)].encode(codec))
    data = first[body_offset:] if size <= CSV_BLOCK_BYTES else None
    table = _CsvTable(kind, plan, path, codec, separator, body_offset, header_lines + 1, data)
    whole = data is not None
    if whole:  # small: read now, the file is not opened again
        table.keep_in_memory()
    return OpenedFile(path, [table], [], encoding, separator, whole)


@dataclass
class _Records:
    """The records of a block of CSV bytes that starts at a record boundary."""

    cut: int  # the block's first `cut` bytes hold complete records (0: none yet)
    lines: int  # line breaks in them
    starts: np.ndarray  # line of each non-empty record, counted from the block's first line
    quoted: bool  # whether a quote occurs in them
    longest: int = 0  # bytes of the longest record
    longest_start: int = 0  # its line, counted as ``starts``


_LF, _CR, _QUOTE = 0x0A, 0x0D, 0x22


def _records(block: bytes, separator: int, final: bool) -> _Records | None:
    """Find the records of ``block`` and the line each starts on, with numpy.

    A line break inside quotes belongs to its value. Returns None when quotes are used in a way
    that parsers may read differently (a quote inside an unquoted value, text after a closing
    quote, a quote left open at the end): the careful reader then takes over.
    """
    a = np.frombuffer(block, dtype=np.uint8)
    n = len(a)
    lf = np.flatnonzero(a == _LF)
    cr = np.flatnonzero(a == _CR)
    if len(cr):
        lone = cr[a[np.minimum(cr + 1, n - 1)] != _LF] if n else cr
        lone = lone[(lone + 1 < n) | final]  # a CR ending the block may start a CRLF
        crlf_start = lf - (a[np.maximum(lf - 1, 0)] == _CR) * (lf > 0)
        seq_start = np.concatenate([crlf_start, lone])
        seq_end = np.concatenate([lf + 1, lone + 1])
        order = np.argsort(seq_start, kind="stable")
        seq_start, seq_end = seq_start[order], seq_end[order]
    else:
        seq_start, seq_end = lf, lf + 1
    quotes = np.flatnonzero(a == _QUOTE)
    if len(quotes):
        outside = (np.searchsorted(quotes, seq_start) & 1) == 0
        ends_at, starts_at = seq_end[outside], seq_start[outside]
    else:
        ends_at, starts_at = seq_end, seq_start
    if final:
        cut = n
        record_starts = np.concatenate([[0], ends_at])
        record_ends = np.concatenate([starts_at, [n]])
    elif len(ends_at):
        cut = int(ends_at[-1])
        record_starts = np.concatenate([[0], ends_at[:-1]])
        record_ends = starts_at
    else:
        return _Records(0, 0, np.empty(0, np.int64), bool(len(quotes)))
    quotes = quotes[quotes < cut]
    if len(quotes) and not _quotes_simple(a, quotes, separator, final):
        return None
    non_empty = record_ends > record_starts
    starts = np.searchsorted(seq_end, record_starts[non_empty], side="right").astype(np.int64)
    lines = int(np.searchsorted(seq_end, cut, side="right"))
    lengths = (record_ends - record_starts)[non_empty]
    longest = int(np.argmax(lengths)) if len(lengths) else 0
    return _Records(
        cut,
        lines,
        starts,
        bool(len(quotes)),
        int(lengths[longest]) if len(lengths) else 0,
        int(starts[longest]) if len(lengths) else 0,
    )


def _quotes_simple(a: np.ndarray, quotes: np.ndarray, separator: int, final: bool) -> bool:
    """Whether every quote opens a value, closes it, or doubles a quote inside it."""
    n = len(a)
    new_run = np.ones(len(quotes), dtype=bool)
    new_run[1:] = quotes[1:] != quotes[:-1] + 1
    run_starts = quotes[new_run]
    lengths = np.diff(np.append(np.flatnonzero(new_run), len(quotes)))
    inside_before = ((np.cumsum(lengths) - lengths) & 1).astype(bool)
    inside_after = inside_before ^ (lengths & 1).astype(bool)
    if inside_after[-1] and final:
        return False  # a quoted value left open at the end of the file
    previous = np.where(run_starts > 0, a[np.maximum(run_starts - 1, 0)], _LF)
    run_ends = run_starts + lengths
    following = np.where(run_ends < n, a[np.minimum(run_ends, n - 1)], _LF)

    def delimits(values: np.ndarray) -> np.ndarray:
        return (values == separator) | (values == _LF) | (values == _CR)

    ok = (inside_before | delimits(previous)) & (inside_after | delimits(following))
    return bool(ok.all())


class _Prefixed(io.RawIOBase):
    """Bytes already read, then the rest of a file."""

    def __init__(self, prefix: bytes, rest: IO[bytes] | None) -> None:
        self._prefix = memoryview(prefix)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if len(self._prefix):
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        if self._rest is None:
            return 0
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _CsvTable(TableReader):
    def __init__(
        self,
        kind: Kind,
        plan: ColumnPlan,
        path: Path,
        codec: str,
        separator: str,
        body_offset: int,
        first_line: int,
        data: bytes | None,
    ) -> None:
        super().__init__(kind, None, plan)
        self._path = path
        self._codec = codec
        self._separator = separator
        self._body_offset = body_offset
        self._first_line = first_line
        self._data = data  # the body, when the file is small
        self._kept: list[TextBatch] | None = None
        # Personal columns are not even parsed.
        self._keep = [p for p in range(plan.width) if p not in plan.personal]
        self._names = [f"c{i}" for i in range(plan.width)]

    def keep_in_memory(self) -> None:
        self._kept = list(self._read())
        self._data = None

    def batches(self) -> Iterator[TextBatch]:
        if self._kept is not None:
            yield from self._kept
        else:
            yield from self._read()

    def let_go(self) -> None:
        self._kept = self._data = None

    def _read(self) -> Iterator[TextBatch]:
        handle: IO[bytes] | None = None
        try:
            if self._data is None:
                handle = self._path.open("rb")
                handle.seek(self._body_offset)
            yield from self._read_from(handle)
        finally:
            if handle is not None:
                handle.close()

    def _read_from(self, handle: IO[bytes] | None) -> Iterator[TextBatch]:
        """Slices of the body that end on a record boundary, each parsed by pyarrow (or, when
        pyarrow and the line count disagree, by Python's csv reader)."""
        separator = ord(self._separator)
        line = self._first_line
        pending = self._data if handle is None else b""
        assert pending is not None
        eof = handle is None
        while True:
            if not eof and len(pending) < CSV_BLOCK_BYTES:
                assert handle is not None
                block = handle.read(CSV_BLOCK_BYTES - len(pending))
                eof = not block
                pending += block
            if not pending:
                return
            found = _records(pending, separator, final=eof)
            if found is not None and found.cut == 0:  # no record ends in what was read
                if len(pending) > MAX_LINE_BYTES:
                    raise line_too_long(line)
                assert handle is not None
                block = handle.read(CSV_BLOCK_BYTES)
                eof = not block
                pending += block
                continue
            if found is not None and found.longest > MAX_LINE_BYTES:
                raise line_too_long(line + found.longest_start)
            if found is None:  # quotes a parser may read otherwise: Python's csv, to the end
                yield from self._careful(_Prefixed(pending, handle), line)
                return
            view = memoryview(pending)
            chunk = view[: found.cut]
            batch = self._fast(chunk, found, line)
            if batch is None:
                batch = self._careful_chunk(bytes(chunk), line)
            del chunk, view
            pending = pending[found.cut :]
            line += found.lines
            # The allocator keeps what a slice's parsing freed: give it back, memory stays flat.
            pa.default_memory_pool().release_unused()
            if len(batch):
                yield batch
            if eof and not pending:
                return

    def _fast(self, chunk: memoryview, found: _Records, line: int) -> TextBatch | None:
        """pyarrow's reading of ``chunk``; None when it does not agree with the records found
        (ragged rows, lines of spaces): the careful reader reads that chunk."""
        if not len(found.starts):
            return TextBatch(np.empty(0, np.int64), {})
        if self._codec == "utf-8":
            source = pa.BufferReader(pa.py_buffer(chunk))
        else:
            source = pa.BufferReader(bytes(chunk).decode(self._codec).encode("utf-8"))
        names = self._names
        try:
            table = pacsv.read_csv(
                source,
                read_options=pacsv.ReadOptions(
                    column_names=names, use_threads=True, block_size=max(1 << 20, len(chunk) // 2)
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=self._separator,
                    quote_char='"',
                    double_quote=True,
                    newlines_in_values=found.quoted,
                    ignore_empty_lines=True,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={name: pa.string() for name in names},
                    include_columns=[names[i] for i in self._keep],
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                    check_utf8=False,  # the whole file was checked when opened
                ),
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            log.debug("pyarrow could not read a CSV chunk (%s): careful path", type(error).__name__)
            return None
        if table.num_rows != len(found.starts):
            return None
        arrays = {p: table.column(names[p]).combine_chunks() for p in self._keep}
        return self._batch(arrays, found.starts + line)

    def _careful_chunk(self, chunk: bytes, line: int) -> TextBatch:
        batches = list(self._careful(io.BytesIO(chunk), line, limit=None))
        if not batches:
            return TextBatch(np.empty(0, np.int64), {})
        return concat_batches(batches)

    def _careful(
        self, raw: IO[bytes] | io.RawIOBase, first_line: int, limit: int | None = CAREFUL_ROWS
    ) -> Iterator[TextBatch]:
        """Python's csv reader: exact line numbers, ragged rows padded, any quoting."""
        text = io.TextIOWrapper(
            io.BufferedReader(raw) if isinstance(raw, io.RawIOBase) else raw,  # type: ignore[arg-type]
            encoding=self._codec,
            newline="",
        )
        reader = csv.reader(text, delimiter=self._separator)
        records: list[list[str]] = []
        lines: list[int] = []
        consumed = 0
        try:
            for record in reader:
                lines.append(first_line + consumed)
                if sum(map(len, record)) + len(record) > MAX_LINE_BYTES // 4:
                    # Characters are 1 to 4 bytes: only a long record is encoded to be measured.
                    separators = self._separator * (len(record) - 1)
                    if len((separators + "".join(record)).encode(self._codec)) > MAX_LINE_BYTES:
                        raise line_too_long(first_line + consumed)
                consumed = reader.line_num
                records.append(record)
                if limit is not None and len(records) >= limit:
                    yield self._careful_batch(records, lines)
                    records, lines = [], []
        except csv.Error as error:
            if "field limit" in str(error):  # a value beyond 128 Kio, far beyond MAX_FIELD_CHARS
                raise field_too_long(first_line + consumed, None) from None
            raise FileRefused(
                f"CSV illisible à partir de la ligne {first_line + consumed} (guillemets non "
                "refermés ou valeur trop longue) : vérifiez les guillemets de cette ligne."
            ) from None
        if records:
            yield self._careful_batch(records, lines)

    def _careful_batch(self, records: list[list[str]], lines: list[int]) -> TextBatch:
        widest = max((len(r) for r in records), default=0)
        positions = sorted(set(self._keep) | set(range(self._plan.width, widest)))
        arrays = {
            p: pa.array([r[p] if p < len(r) else None for r in records], type=pa.string())
            for p in positions
        }
        return self._batch(arrays, np.asarray(lines, dtype=np.int64))

    def _batch(self, arrays: dict[int, pa.Array], rows: np.ndarray) -> TextBatch:
        """Drop blank rows, note the unnamed columns holding data, keep the contract columns."""
        present = filled_rows(list(arrays.values()), len(rows))
        if not present.all():
            mask = pa.array(present)
            arrays = {p: values.filter(mask) for p, values in arrays.items()}
            rows = rows[present]
        unnamed = set(self._plan.unnamed)
        self._unnamed.check(
            {p: v for p, v in arrays.items() if p in unnamed or p >= self._plan.width}
        )
        columns = {
            column.name: arrays[p] for p, column in self._plan.contract.items() if p in arrays
        }
        check_values(columns, rows, self._plan.headers)
        return TextBatch(rows, columns)
