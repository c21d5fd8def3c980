"""A local HTTP server publishing a DECP snapshot the way data.gouv.fr does, and the snapshots.

    with DecpSource(parquet_snapshot()) as source:
        source.url                      # http://127.0.0.1:<port>/files/decp.parquet
        source.publish(other_bytes)     # a new version: new ETag, later Last-Modified
        source.fault = "truncate"       # the next answers misbehave (see FAULTS)
        source.requests                 # the headers of every request received

Conditional requests are honoured as a real server does (RFC 9110): If-None-Match naming the
current ETag, or else If-Modified-Since not before the current Last-Modified, gets 304 Not
Modified with no body. `/redirect` answers 302 to the file (data.gouv.fr's stable resource URLs
redirect to the file itself).
"""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, Literal

from clauses.contract.decp import REQUIRED

Fault = Literal[
    "none",
    "truncate",  # announces the whole body, sends half of it and closes the connection
    "short_length",  # announces half the body in Content-Length, sends it all
    "error",  # 500 Internal Server Error
    "ignore_conditions",  # 200 with the whole body whatever the request says
]
FAULTS: tuple[Fault, ...] = ("none", "truncate", "short_length", "error", "ignore_conditions")

ROWS = [
    ("2024-1", "2024AO1", "13002526500013", "2024-03-01", "150000", "Clause sociale"),
    ("2024-2", "2024AO2", "13002526500013", "2024-04-15", "90000.5", "Sans objet"),
]


def parquet_snapshot(
    rows: list[tuple[str, ...]] = ROWS, columns: tuple[str, ...] = REQUIRED
) -> bytes:
    """A small snapshot in Parquet, with the required columns of §8.1 (all as text)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({name: [row[i] for row in rows] for i, name in enumerate(columns)})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def csv_snapshot(
    rows: list[tuple[str, ...]] = ROWS,
    columns: tuple[str, ...] = REQUIRED,
    separator: str = ";",
    bom: bool = True,
) -> bytes:
    """The same snapshot as a CSV in UTF-8."""
    lines = [separator.join(columns)] + [separator.join(row) for row in rows]
    return ("\ufeff" if bom else "").encode() + ("\r\n".join(lines) + "\r\n").encode("utf-8")


class DecpSource:
    """The server; a context manager (started on enter, stopped on exit)."""

    def __init__(self, body: bytes, name: str = "decp.parquet") -> None:
        self.name = name
        self.fault: Fault = "none"
        self.disposition: str | None = None  # a Content-Disposition header to send, if any
        self.requests: list[dict[str, str]] = []
        self._modified = datetime(2025, 1, 6, 5, 0, tzinfo=UTC)
        self.publish(body)
        source = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
                source.requests.append(dict(self.headers.items()))
                source._answer(self)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def publish(self, body: bytes) -> None:
        """A new version of the file: its ETag, and a Last-Modified a day later."""
        self.body = body
        self.etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        self._modified += timedelta(days=1)
        self.last_modified = format_datetime(self._modified, usegmt=True)

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        return f"{self.base}/files/{self.name}"

    def __enter__(self) -> DecpSource:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def _not_modified(self, headers: Any) -> bool:
        if self.fault == "ignore_conditions":
            return False
        tags = headers.get("If-None-Match")
        if tags is not None:
            return tags.strip() == "*" or self.etag in [t.strip() for t in tags.split(",")]
        since = headers.get("If-Modified-Since")
        if since is None:
            return False
        try:
            return self._modified <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False

    def _answer(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        if handler.path == "/redirect":
            handler.send_response(302)
            handler.send_header("Location", f"/files/{self.name}")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        if handler.path != f"/files/{self.name}":
            handler.send_error(404)
            return
        if self.fault == "error":
            handler.send_error(500)
            return
        if self._not_modified(handler.headers):
            handler.send_response(304)
            handler.send_header("ETag", self.etag)
            handler.end_headers()
            return
        body = self.body
        announced = len(body) // 2 if self.fault == "short_length" else len(body)
        sent = body[: len(body) // 2] if self.fault == "truncate" else body
        handler.send_response(200)
        handler.send_header("Content-Type", "application/octet-stream")
        handler.send_header("Content-Length", str(announced))
        handler.send_header("ETag", self.etag)
        handler.send_header("Last-Modified", self.last_modified)
        if self.disposition is not None:
            handler.send_header("Content-Disposition", self.disposition)
        handler.end_headers()
        handler.wfile.write(sent)
        handler.wfile.flush()
        handler.close_connection = True
