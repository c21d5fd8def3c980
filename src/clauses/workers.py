"""Worker processes forked from a run: reading a night's files ahead (`clauses.check.
read_ahead`) and writing its extracts (`clauses.publish.tables`).

- Forked, not spawned: a spawned worker imports the parent's main module again, and under
  Airflow that is Airflow's command, which cannot start in a worker. All of a pool's workers
  are forked at its first submit (Python 3.11, fork context), before its log listener starts.
- A worker logs nothing itself: its records go back to the run by a queue and are handled by
  the run's own loggers (`logging.handlers.QueueHandler` / `QueueListener`). Two processes
  writing to one log handler (an Airflow task's log stream) could interleave their lines.
- Where no process can be started (a daemonic process, such as a Celery worker's task; no
  semaphores), starting one raises one of `NO_PROCESS`: the caller then does the work itself.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from logging.handlers import QueueHandler, QueueListener
from typing import Any

# What starting a worker process raises where none can be started.
NO_PROCESS: tuple[type[Exception], ...] = (
    OSError,
    AssertionError,  # "daemonic processes are not allowed to have children"
    NotImplementedError,
    RuntimeError,
)


class ForkedPool(ProcessPoolExecutor):
    """``workers`` processes forked from this one, whose log records are logged here."""

    def __init__(self, workers: int) -> None:
        context = multiprocessing.get_context("fork")
        self._records: Any = context.Queue()
        super().__init__(
            workers, mp_context=context, initializer=_log_to, initargs=(self._records,)
        )
        self._listener = QueueListener(self._records, _LogHere())
        self._listening = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = super().submit(fn, *args, **kwargs)
        if not self._listening:  # the workers are forked: the listener's thread may start
            self._listener.start()
            self._listening = True
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
        if self._listening:
            self._listener.stop()  # the records sent so far are logged first
            self._listening = False


class _LogHere(logging.Handler):
    """A worker's record, handled by this process's logger of the same name."""

    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger(record.name).handle(record)


def _log_to(records: Any) -> None:
    """In a worker: every record goes to the queue ``records``, and nowhere else."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(QueueHandler(records))
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and logger.handlers:
            logger.handlers = []  # its records propagate to the root's queue
            logger.propagate = True
