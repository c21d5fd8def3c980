"""Downloading the national DECP snapshot (contract §8.1) into `landing/decp/<today>/`.

The consolidated table is republished at one URL every working day. A download goes:

1. `prepare`: the request headers. If-None-Match (the ETag) and If-Modified-Since (the
   Last-Modified) of the last file landed, as remembered in `<data>/state/decp_download.json`,
   when it came from the same URL and is still in the landing zone; `Accept-Encoding: identity`
   always, so that Content-Length counts the bytes written to disk.
2. The request itself, streamed, made by the caller: the DAG with Airflow's HTTP hook
   (`dags/decp_download.py`), the tests with `requests`. Nothing here imports Airflow.
3. `land`: 304 Not Modified lands nothing. 200 is streamed to a hidden partial file, its size
   compared with Content-Length, its content checked (a Parquet file ends with `PAR1` and its
   footer parses; a CSV's first line, UTF-8, `,` or `;`, names every required column), and only
   then linked into `landing/decp/<today>/` under a name no file there has and sorting after
   every snapshot already received that day (the last one in code-point order is the one in
   force, §8.1). The state is written last. Bytes identical to the last file landed (a server
   that ignores conditional requests) land nothing either.

Whatever fails on the way (a connection cut, a short body, a full disk, an HTML error page)
removes the partial file and raises: nothing lands, the state is unchanged, the next try starts
over. The partial file is kept outside the landing zone, whose scan refuses and reports anything
unexpected: in `<data>/state/decp_download/`, when that folder is on the landing zone's file
system (one data folder, the usual case) so that landing is a rename; otherwise hidden beside
its target (a landing zone mounted apart), the only place a rename is atomic.

The state is a file of the data folder rather than an Airflow Variable: it describes a file of
the landing zone, is written right after it on the same disk, goes wherever the data folder goes
(a backup, a restore, a move) and is lost with it, and `src/clauses` never looks Airflow up.
"""

from __future__ import annotations

import contextlib
import csv
import email.message
import errno
import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from clauses.config import TIMEZONE
from clauses.contract.decp import EXTENSIONS, FOLDER, REQUIRED, column_key
from clauses.publish.atomic import fsync_dir, make_dirs, open_new
from clauses.read.tables import MAX_LINE_BYTES
from clauses.receive.landing import NAME_MAX, name_problem, temporary_name

log = logging.getLogger(__name__)

STATE_FOLDER = "state"  # <data>/state/: what the pipeline remembers, outside the landing zone
STATE_FILE = "decp_download.json"
PARTIAL_FOLDER = "decp_download"  # <data>/state/decp_download/: downloads in progress
CHUNK_BYTES = 1 << 20
PARQUET_MAGIC = b"PAR1"
_PARTIAL_NAME = re.compile(r"^\..*\.[0-9a-f]{32}\.tmp$")  # landing.temporary_name's pattern

Kind = Literal["parquet", "csv"]


class DownloadError(RuntimeError):
    """The response is not a complete DECP snapshot; nothing was landed."""


class StreamedResponse(Protocol):
    """What `land` reads of an HTTP response: a `requests.Response` opened with stream=True."""

    status_code: int
    url: str  # the final URL, after redirects
    headers: Mapping[str, str]  # case-insensitive, as requests gives them

    def iter_content(self, chunk_size: int) -> Iterator[bytes]: ...


@dataclass(frozen=True)
class LastDownload:
    """The last file landed, as the state file remembers it."""

    url: str  # as requested (the connection's), not the redirected one
    file: str  # relative to the landing zone: decp/<AAAA-MM-JJ>/<name>
    sha256: str
    size: int
    etag: str | None
    last_modified: str | None
    landed_at: str  # ISO 8601, Europe/Paris


@dataclass(frozen=True)
class DownloadPlan:
    """One download: where it lands, what it remembers, the headers to send."""

    data_dir: Path
    url: str
    now: datetime  # Europe/Paris: its day is the receipt date
    previous: LastDownload | None  # the state, when its file is still in the landing zone
    headers: dict[str, str]

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def target_dir(self) -> Path:
        return self.landing_dir / FOLDER / self.now.date().isoformat()


@dataclass(frozen=True)
class DownloadOutcome:
    """What a download did: `landed` a new file, or nothing (`not_modified`: the server said
    304; `unchanged`: it sent the bytes of the last file landed)."""

    status: Literal["landed", "not_modified", "unchanged"]
    path: Path | None = None
    size: int = 0
    sha256: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "path": None if self.path is None else str(self.path),
            "size": self.size,
            "sha256": self.sha256,
        }


def state_path(data_dir: Path) -> Path:
    return data_dir / STATE_FOLDER / STATE_FILE


def load_state(data_dir: Path) -> LastDownload | None:
    """The last download remembered, or None (none yet, or a state file that cannot be read:
    the next download is then unconditional, and at worst lands the same bytes again, which
    the ingestion counts once)."""
    path = state_path(data_dir)
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
        return LastDownload(**values)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as error:
        log.warning("ignoring the unreadable DECP download state %s: %s", path, error)
        return None


def prepare(data_dir: Path, url: str, now: datetime | None = None) -> DownloadPlan:
    """The plan of a download of `url` into `data_dir`'s landing zone, at `now` (default: the
    wall clock in Europe/Paris, the same calendar day as `clauses.run.pipeline.today_in_paris`).

    The request is conditional only when the last file landed came from the same URL and is
    still where it was landed: a snapshot deleted by hand is downloaded again.
    """
    now = (now or datetime.now(ZoneInfo(TIMEZONE))).astimezone(ZoneInfo(TIMEZONE))
    headers = {"Accept-Encoding": "identity"}
    previous = load_state(data_dir)
    if previous is not None:
        landed = data_dir / "landing" / previous.file
        if previous.url != url:
            log.info("DECP source changed (was %s): unconditional download", previous.url)
            previous = None
        elif not landed.is_file():
            log.info("the last DECP snapshot %s is gone: unconditional download", landed)
            previous = None
    if previous is not None:
        if previous.etag:
            headers["If-None-Match"] = previous.etag
        if previous.last_modified:
            headers["If-Modified-Since"] = previous.last_modified
    log.info(
        "downloading the DECP snapshot from %s (%s)",
        url,
        "unconditional" if previous is None else f"unless unchanged since {previous.file}",
    )
    return DownloadPlan(data_dir, url, now, previous, headers)


def land(plan: DownloadPlan, response: StreamedResponse) -> DownloadOutcome:
    """Land the body of `response` (the answer to a request with `plan.headers`) in
    `landing/decp/<day of plan.now>/`, or nothing.

    Guarantees: a file appears in the landing zone only whole, checked, under a new name (never
    over another file), in one step (a link or a rename); on any error (raised: DownloadError,
    or the OSError of the disk) nothing lands and the state is left as it was.
    """
    if response.status_code == 304:
        if plan.previous is None:
            raise DownloadError("304 Not Modified to an unconditional request")
        log.info("DECP snapshot not modified since %s: nothing downloaded", plan.previous.file)
        return DownloadOutcome("not_modified")
    if response.status_code != 200:
        raise DownloadError(f"unexpected HTTP status {response.status_code} from {plan.url}")

    partial_dir = _partial_folder(plan)
    partial = partial_dir / temporary_name("decp")
    try:
        size, digest = _stream(response, partial)
        kind = snapshot_kind(partial)
        if plan.previous is not None and plan.previous.sha256 == digest:
            log.info("the DECP source sent %s again: nothing landed", plan.previous.file)
            _save_state(plan, response, plan.previous.file, size, digest, plan.previous.landed_at)
            return DownloadOutcome("unchanged", size=size, sha256=digest)
        preferred = snapshot_name(response, plan.url, kind)
        stamp = plan.now.strftime("%H%M%S")
        target = _link_new(
            partial, plan.target_dir, lambda names: last_name(preferred, names, stamp)
        )
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    relative = target.relative_to(plan.landing_dir).as_posix()
    log.info("DECP snapshot landed: %s (%d bytes, %s, sha256 %s)", target, size, kind, digest)
    try:
        _save_state(plan, response, relative, size, digest, plan.now.isoformat("T", "seconds"))
    except OSError:  # the file is landed; the next download fetches it again (counted once)
        log.exception("could not remember the DECP download in %s", state_path(plan.data_dir))
    return DownloadOutcome("landed", target, size, digest)


def _partial_folder(plan: DownloadPlan) -> Path:
    """Where the body is written while it arrives: the state's folder when a rename from there
    into the landing zone is atomic (same file system), else the target folder itself."""
    staging = plan.data_dir / STATE_FOLDER / PARTIAL_FOLDER
    make_dirs(staging)
    for entry in os.scandir(staging):  # left by a download that was killed (one runs at a time)
        if _PARTIAL_NAME.match(entry.name) and entry.is_file(follow_symlinks=False):
            log.info("removing %s, left by an interrupted DECP download", entry.path)
            os.unlink(entry.path)
    existing = plan.target_dir
    while not existing.exists():
        existing = existing.parent
    if os.stat(staging).st_dev == os.stat(existing).st_dev:
        return staging
    make_dirs(plan.target_dir)
    return plan.target_dir


def _stream(response: StreamedResponse, partial: Path) -> tuple[int, str]:
    """Write the body to `partial` (a new private file), synced; its size and SHA-256.

    A body that stops before its Content-Length (or whose transfer breaks) is a DownloadError.
    """
    digest = hashlib.sha256()
    size = 0
    chunks = response.iter_content(CHUNK_BYTES)
    with os.fdopen(open_new(partial), "wb") as sink:
        while True:
            try:
                chunk = next(chunks, None)
            except Exception as error:  # the transfer broke: requests' or urllib3's own errors
                message = f"download interrupted ({size} bytes written): {error}"
                raise DownloadError(message) from error
            if chunk is None:
                break
            sink.write(chunk)
            digest.update(chunk)
            size += len(chunk)
        sink.flush()
        os.fsync(sink.fileno())
    expected = response.headers.get("Content-Length")
    encoding = (response.headers.get("Content-Encoding") or "identity").strip().lower()
    if expected is not None and encoding == "identity":
        try:
            announced = int(expected)
        except ValueError as error:
            raise DownloadError(f"unreadable Content-Length {expected!r}") from error
        if announced != size:
            raise DownloadError(f"received {size} bytes, Content-Length announced {announced}")
    if size == 0:
        raise DownloadError("empty body")
    return size, digest.hexdigest()


def snapshot_kind(path: Path) -> Kind:
    """`parquet` or `csv` when `path` holds a whole DECP snapshot in that format, as far as can
    be told without reading it all: a Parquet file starts and ends with `PAR1` and its footer
    (the schema, the row groups) parses, a CSV's first line is UTF-8 (BOM or not) and names
    every required column (§8.1), separated by `,` or `;`. Anything else: DownloadError."""
    with open(path, "rb") as handle:
        head = handle.read(MAX_LINE_BYTES + 4)
        handle.seek(max(os.fstat(handle.fileno()).st_size - 4, 0))
        tail = handle.read(4)
    if head.startswith(PARQUET_MAGIC):
        if tail != PARQUET_MAGIC:
            raise DownloadError("Parquet file without its footer (cut short?)")
        import pyarrow.parquet as pq

        try:
            columns = pq.read_metadata(path).schema.to_arrow_schema().names
        except Exception as error:  # pyarrow raises several types for a broken footer
            raise DownloadError(f"unreadable Parquet footer: {error}") from error
        _check_columns(columns, "Parquet file")
        return "parquet"
    line, newline, _ = head.partition(b"\n")
    if not newline and len(head) > MAX_LINE_BYTES:
        raise DownloadError("neither Parquet nor CSV: no line break in the first 1 MiB")
    try:
        text = line.removeprefix(b"\xef\xbb\xbf").decode("utf-8").rstrip("\r")
    except UnicodeDecodeError as error:
        raise DownloadError("neither Parquet nor a UTF-8 CSV") from error
    missing: list[str] = list(REQUIRED)
    for separator in (";", ","):
        cells = next(csv.reader([text], delimiter=separator), [])
        found = _missing([cell.strip() for cell in cells])
        if len(found) < len(missing):
            missing = found
    if missing:
        raise DownloadError(
            f"neither Parquet nor a CSV with the required columns: missing {', '.join(missing)}"
        )
    return "csv"


def _missing(columns: list[str]) -> list[str]:
    keys = {column_key(column) for column in columns}
    return [name for name in REQUIRED if column_key(name) not in keys]


def _check_columns(columns: list[str], what: str) -> None:
    missing = _missing(columns)
    if missing:
        raise DownloadError(f"{what} without the required columns {', '.join(missing)}")


def _usable(name: str | None, kind: Kind) -> bool:
    """Whether `name` can name a `kind` snapshot in the landing zone as it is: the contract's
    rule (§1), the right extension, not hidden, not too long."""
    return bool(
        name
        and not name.startswith(".")
        and len(name.encode("utf-8", "surrogatepass")) <= NAME_MAX
        and name_problem(name, (f".{kind}",)) is None
    )


def _disposition_name(value: str | None) -> str | None:
    """The file name of a Content-Disposition header (`filename*=` of RFC 6266 first)."""
    if not value:
        return None
    message = email.message.Message()
    message["Content-Disposition"] = value
    try:
        name = message.get_filename()
    except (LookupError, ValueError):  # an unknown charset, a malformed parameter
        return None
    return str(name) if name else None


def _url_name(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def snapshot_name(response: StreamedResponse, url: str, kind: Kind) -> str:
    """The name a downloaded snapshot is landed under, before any clash: the Content-Disposition
    file name, else the last segment of the final URL, else of the requested one, the first of
    them that is a safe name with the extension of its content; else `decp.<kind>`."""
    for name in (
        _disposition_name(response.headers.get("Content-Disposition")),
        _url_name(response.url or url),
        _url_name(url),
    ):
        if name is not None and _usable(name, kind):
            return name
    return f"decp.{kind}"


def last_name(preferred: str, existing: list[str], stamp: str) -> str:
    """A name for a new snapshot in a folder holding `existing`, sorting (in code-point order)
    after every snapshot there, so that it is the one in force for its day (§8.1).

    `preferred` when it does; else `<its stem>_<stamp>` (the time of day: `decp_143000.parquet`
    follows `decp.parquet`, `_` sorting after `.`); else the stem of the last snapshot there
    followed by `_<stamp>`, which follows it whatever the names.
    """
    snapshots = sorted(name for name in existing if name.lower().endswith(EXTENSIONS))
    if not snapshots or preferred > snapshots[-1]:
        return preferred
    stem, dot, extension = preferred.rpartition(".")
    suffix = f"_{stamp}{dot}{extension}"
    candidate = stem + suffix
    if candidate > snapshots[-1] and len(candidate.encode()) <= NAME_MAX:
        return candidate
    return snapshots[-1].rpartition(".")[0] + suffix


def _link_new(partial: Path, folder: Path, choose: Callable[[list[str]], str]) -> Path:
    """Give `partial` a name in `folder` that nothing there has (`choose` picks it from the
    names present), in one step that never replaces a file: a hard link, or where the file
    system has none, a rename after checking the name is free."""
    make_dirs(folder)
    for _ in range(10):
        target = folder / choose(os.listdir(folder))
        try:
            os.link(partial, target, follow_symlinks=False)
        except FileExistsError:
            continue  # someone dropped a file of that name meanwhile: choose again
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            if os.path.lexists(target):
                continue
            os.rename(partial, target)
        fsync_dir(folder)
        return target
    raise DownloadError(f"found no free name in {folder}")


def _save_state(
    plan: DownloadPlan,
    response: StreamedResponse,
    file: str,
    size: int,
    digest: str,
    landed_at: str,
) -> None:
    """Remember the file landed and its validators, replacing the state file in one rename."""
    state = LastDownload(
        url=plan.url,
        file=file,
        sha256=digest,
        size=size,
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
        landed_at=landed_at,
    )
    path = state_path(plan.data_dir)
    make_dirs(path.parent)
    partial = path.with_name(temporary_name(path.name))
    try:
        with os.fdopen(open_new(partial), "w", encoding="utf-8") as handle:
            json.dump(asdict(state), handle, ensure_ascii=False, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    fsync_dir(path.parent)
