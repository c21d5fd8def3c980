"""Reading ahead: the small files of a night opened and read whole in worker processes, while
the run's own process imports Great Expectations, validates and loads.

Reading was the longest stage of a national night, on one core. The workers give back the
`ExaminedFile` the run would have made itself (`clauses.check.examine.examine`), in the order
of the files; the run groups, validates and loads them as before.

- Only a night with enough to read uses workers (`MIN_BYTES`): reading a few files costs less
  than handing them over. A file that is not read whole (a big one) comes back as None: the
  run opens it and streams it itself.
- Workers are forked from the run (`clauses.workers`), before it starts a thread of its own
  (see `_executor`); their log records are logged by the run.
- Files go to the workers by parcels (`PARCEL_BYTES`, `PARCEL_FILES`): one exchange a file
  would cost more than reading most files.
- A file's error comes back as its result (its reader's refusal, or an error nobody foresaw,
  with the worker's traceback), for the run to refuse that file as before. An error of the run
  itself (the disk full) comes back the same way, and the run stops on it as before.
- A file that kills its worker (a crash in a native parser, memory exhausted) breaks the pool.
  The files then given to the workers are read again one by one in a worker of their own: the
  file that kills it again comes back as `ReaderCrashed`, the others as read; then a new pool
  goes on with the rest.
- What is read and not yet taken is bounded (`AHEAD` parcels a worker): memory follows the
  files in flight, not the night.
- Where no worker can be started (a platform without process semaphores, a daemonic process),
  or workers die before reading anything, every file left comes back as None, and the run
  reads them itself.
"""

from __future__ import annotations

import logging
import pickle
import traceback
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from clauses.check.examine import ExaminedFile, examine
from clauses.read.files import open_file
from clauses.receive.landing import LandingEntry
from clauses.workers import NO_PROCESS, ForkedPool

log = logging.getLogger(__name__)

# Bytes of small files to read below which the run reads them itself.
MIN_BYTES = 4 << 20
# A parcel of files given to a worker at once: up to this many bytes, or files.
PARCEL_BYTES = 1 << 20
PARCEL_FILES = 64
# Parcels a worker has been given and the run has not taken yet.
AHEAD = 2


class ReaderCrashed(Exception):
    """A file whose reading killed the worker process reading it, alone."""

    def __init__(self, file_name: str) -> None:
        super().__init__(f"reading {file_name} killed the worker process reading it alone")


class WorkerTraceback(Exception):
    """Where a worker raised an error: shown as the cause of the error the run re-raises."""

    def __str__(self) -> str:
        return "\n" + str(self.args[0])


@dataclass
class ToRead:
    """A file to read: where it landed, its SHA-256 and its size in bytes."""

    entry: LandingEntry
    sha256: str
    size: int


Result = ExaminedFile | BaseException | None
Reader = Callable[[LandingEntry, str], ExaminedFile | None]


def examine_whole(entry: LandingEntry, sha256: str) -> ExaminedFile | None:
    """The file opened and read whole (None when it is too big to be read whole)."""
    opened = open_file(entry.path)
    if not opened.whole:
        return None
    item = examine(entry, sha256, opened)
    pa.default_memory_pool().release_unused()  # what parsing freed, not kept by the pool
    return item


def read_parcel(reader: Reader, files: list[tuple[LandingEntry, str]]) -> list[Any]:
    """In a worker: each file read, or the error its reading raised (made safe to send)."""
    results: list[Any] = []
    for entry, sha256 in files:
        try:
            results.append(reader(entry, sha256))
        except Exception as error:
            results.append(_sendable(error))
    return results


def _sendable(error: Exception) -> Exception:
    """``error`` with its traceback as text (tracebacks do not cross processes); an error that
    cannot be pickled is sent as a RuntimeError saying what it was."""
    text = "".join(traceback.format_exception(error))
    try:
        pickle.loads(pickle.dumps(error))  # both ways: an error may pickle, then not unpickle
    except Exception:
        error = RuntimeError(f"{type(error).__qualname__}: {error}")
    error.worker_traceback = text  # type: ignore[attr-defined]
    return error


def _received(result: Any) -> Result:
    if isinstance(result, BaseException) and hasattr(result, "worker_traceback"):
        result.__cause__ = WorkerTraceback(result.worker_traceback)
    return result


def read_ahead(
    files: Sequence[ToRead],
    *,
    workers: int,
    small: int,
    reader: Reader = examine_whole,
    min_bytes: int | None = None,
    on_start: Callable[[], None] | None = None,
) -> Generator[Result, None, None]:
    """One result per file of ``files``, in order: the `ExaminedFile` read by a worker, the
    exception its reading raised, or None for a file the caller reads itself (bigger than
    ``small`` bytes, or found too big to be read whole, or no worker to read it).
    ``on_start`` is called once the workers are started (forked before it starts any
    thread)."""
    to_read = sum(f.size for f in files if f.size <= small)
    if workers < 1 or to_read < (MIN_BYTES if min_bytes is None else min_bytes):
        yield from (None for _ in files)
        return
    log.info("reading %d bytes of files ahead, in %d worker processes", to_read, workers)
    pool = _Pool(workers, reader)
    try:
        for parcel in _parcels(files, small):
            pool.give(parcel, read_here=parcel[0].size > small)
            if on_start is not None and pool.executor is not None:
                on_start()
                on_start = None
            while pool.full():
                yield from pool.take()
        while not pool.empty():
            yield from pool.take()
    finally:
        pool.close()


def _parcels(files: Sequence[ToRead], small: int) -> Iterator[list[ToRead]]:
    """Consecutive files in parcels; a file bigger than ``small`` alone in its own."""
    parcel: list[ToRead] = []
    size = 0
    for work in files:
        if work.size > small:
            if parcel:
                yield parcel
            yield [work]
            parcel, size = [], 0
            continue
        parcel.append(work)
        size += work.size
        if size >= PARCEL_BYTES or len(parcel) >= PARCEL_FILES:
            yield parcel
            parcel, size = [], 0
    if parcel:
        yield parcel


class _Pool:
    """Parcels in the order given; each is sent to the workers unless it is a big file's."""

    def __init__(self, workers: int, reader: Reader) -> None:
        self.workers = workers
        self.reader = reader
        self.executor: ProcessPoolExecutor | None = None
        self.possible = True  # until a worker fails to start
        self.window: deque[tuple[list[ToRead], Future[list[Any]] | None]] = deque()

    def give(self, parcel: list[ToRead], *, read_here: bool) -> None:
        self.window.append((parcel, None if read_here else self._submit(parcel)))

    def full(self) -> bool:
        return sum(f is not None for _, f in self.window) >= AHEAD * self.workers

    def empty(self) -> bool:
        return not self.window

    def take(self) -> Iterator[Result]:
        """The results of the oldest parcel."""
        parcel, future = self.window.popleft()
        if future is None:
            yield from (None for _ in parcel)
            return
        try:
            results = future.result()
        except BrokenProcessPool:
            results = self._after_a_crash(parcel)
        except Exception as error:  # the parcel could not be sent or received: each alone
            log.warning("a parcel of files could not be read ahead (%s): one by one", error)
            results = self._one_by_one(parcel)
        yield from (_received(r) for r in results)

    def _submit(self, parcel: list[ToRead]) -> Future[list[Any]] | None:
        if not self.possible:
            return None
        files = [(w.entry, w.sha256) for w in parcel]
        for _ in range(2):
            try:
                if self.executor is None:
                    self.executor = _executor(self.workers)
                return self.executor.submit(read_parcel, self.reader, files)
            except BrokenProcessPool:  # a worker died: its parcels are read again in `take`
                self.close()
            except NO_PROCESS as error:  # no process can start here: the run reads the files
                log.warning("reading ahead is not possible here (%s): files read in process", error)
                self.possible = False
                return None
        return None

    def _after_a_crash(self, parcel: list[ToRead]) -> list[Any]:
        """A worker died: the parcels not read by then are read again one file at a time, and
        those after them by a new pool. Unless a worker that reads nothing dies too: workers
        cannot run here, and the run reads every file left itself."""
        self.close()  # what is running finishes, what waits is cancelled
        suspects = [parcel] + [p for p, f in self.window if f is not None and not _read(f)]
        if not _workers_live():
            log.warning("worker processes die here before reading anything: files read in process")
            self.possible = False
            nothing = {id(p): [None] * len(p) for p in suspects}
            self.window = deque(
                (p, _done(nothing[id(p)]) if id(p) in nothing else f) for p, f in self.window
            )
            return nothing[id(parcel)]
        log.warning(
            "a worker reading files died: %d files read again one by one",
            sum(len(p) for p in suspects),
        )
        again = {id(p): self._one_by_one(p) for p in suspects}
        self.window = deque(
            (p, _done(again[id(p)]) if id(p) in again else f) for p, f in self.window
        )
        return again[id(parcel)]

    def _one_by_one(self, parcel: list[ToRead]) -> list[Any]:
        """Each file of ``parcel`` read alone by a worker; the file that kills it is
        `ReaderCrashed`, and the next file gets a new worker."""
        results: list[Any] = []
        executor: ProcessPoolExecutor | None = None
        try:
            for work in parcel:
                executor = executor or _executor(1)
                try:
                    files = [(work.entry, work.sha256)]
                    results += executor.submit(read_parcel, self.reader, files).result()
                except BrokenProcessPool:
                    results.append(ReaderCrashed(work.entry.file_name))
                    executor.shutdown(wait=True)
                    executor = None
                except Exception as error:  # its result could not be sent: the file's own
                    results.append(error)
        finally:
            if executor is not None:
                executor.shutdown(wait=True)
        return results

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None


def _workers_live() -> bool:
    """Whether a new worker, given no file, lives to answer."""
    executor = _executor(1)
    try:
        return executor.submit(read_parcel, examine_whole, []).result() == []
    except Exception:
        return False
    finally:
        executor.shutdown(wait=True)


def _read(future: Future[list[Any]]) -> bool:
    """Whether a parcel's future holds its results."""
    return future.done() and not future.cancelled() and future.exception() is None


def _done(results: list[Any]) -> Future[list[Any]]:
    future: Future[list[Any]] = Future()
    future.set_result(results)
    return future


def _executor(workers: int) -> ProcessPoolExecutor:
    """Workers forked from the run (`clauses.workers.ForkedPool`). The first ones are forked
    before the run starts a thread of its own (`read_ahead`'s ``on_start``); those started
    after a crash may be forked while GX is being imported, harmless as a worker imports
    nothing: it only reads files, and exits without running the parent's exit handlers."""
    return ForkedPool(workers)
