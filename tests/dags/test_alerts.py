"""The team's alerts, through real servers on loopback: the webhook gets the JSON, the mail goes
through Airflow's SMTP notifier and the `clauses_smtp` connection; an alert never raises."""

from __future__ import annotations

import email
import http.server
import json
import socketserver
import threading
from collections.abc import Iterator
from email.message import Message

import pytest
from clauses_airflow import notify_failure, notify_internal_errors


class _Smtp(socketserver.StreamRequestHandler):
    """The few SMTP verbs a client needs to hand over one message."""

    received: list[Message] = []

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 test")
        while line := self.rfile.readline():
            verb = line.decode().strip().split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 test")
            elif verb == "DATA":
                self.reply("354 go on")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk
                _Smtp.received.append(email.message_from_bytes(data))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


class _Webhook(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, object]] = []

    def do_POST(self) -> None:  # noqa: N802 (the http.server API)
        _Webhook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    _Smtp.received, _Webhook.received = [], []
    smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    hook = http.server.HTTPServer(("127.0.0.1", 0), _Webhook)
    for server in (smtp, hook):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv(
        "AIRFLOW_CONN_CLAUSES_SMTP",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": smtp.server_address[1],
                "extra": {"disable_tls": True, "disable_ssl": True},
            }
        ),
    )
    monkeypatch.setenv("CLAUSES_ALERT_EMAIL", "equipe@example.org")
    monkeypatch.setenv("CLAUSES_ALERT_WEBHOOK", f"http://127.0.0.1:{hook.server_address[1]}/")
    yield
    smtp.shutdown()
    hook.shutdown()


def test_internal_errors_reach_the_team_by_mail_and_webhook(servers: None) -> None:
    notify_internal_errors("scheduled__2025-03-01", {"27": ["une ligne.csv"]})
    [hook] = _Webhook.received
    assert hook["files"] == {"27": ["une ligne.csv"]}
    [mail] = _Smtp.received
    assert mail["To"] == "equipe@example.org"
    assert "refused for an internal error" in mail["Subject"]
    body = "".join(
        part.get_payload(decode=True).decode() for part in mail.walk() if not part.is_multipart()
    )
    assert "une ligne.csv" in body and "scheduled__2025-03-01" in body


def test_a_task_failure_is_mailed_and_an_unreachable_server_raises_nothing(
    servers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Ti:
        dag_id, task_id, run_id, try_number = "clauses_nightly", "consolidate", "r1", 3

    notify_failure({"task_instance": Ti(), "exception": RuntimeError("warehouse down")})
    [mail] = _Smtp.received
    assert "clauses_nightly.consolidate failed" in mail["Subject"]
    monkeypatch.setenv(
        "AIRFLOW_CONN_CLAUSES_SMTP", '{"conn_type": "smtp", "host": "127.0.0.1", "port": 9}'
    )
    monkeypatch.setenv("CLAUSES_ALERT_WEBHOOK", "http://127.0.0.1:9/")
    notify_failure({"task_instance": Ti(), "exception": RuntimeError("again")})  # logged only
