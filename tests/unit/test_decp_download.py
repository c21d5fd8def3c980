"""The DECP download (clauses.receive.decp_download) against a real local HTTP server: what lands
in landing/decp/<today>/, what never does, and what the next request asks."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from support.decp_source import DecpSource, csv_snapshot, parquet_snapshot

from clauses.receive import decp_download
from clauses.receive.decp_download import DownloadError, last_name, state_path

PARIS = ZoneInfo("Europe/Paris")
MORNING = datetime(2025, 3, 3, 6, 0, 5, tzinfo=PARIS)
AFTERNOON = datetime(2025, 3, 3, 14, 30, 0, tzinfo=PARIS)
NEXT_DAY = datetime(2025, 3, 4, 6, 0, 0, tzinfo=PARIS)


def download(data_dir: Path, url: str, now: datetime = MORNING) -> decp_download.DownloadOutcome:
    """One download, as the DAG makes it (the hook is `requests` underneath)."""
    plan = decp_download.prepare(data_dir, url, now)
    with requests.get(url, headers=plan.headers, stream=True, timeout=30) as response:
        return decp_download.land(plan, response)


def landed(data_dir: Path) -> list[str]:
    """Every entry under landing/, hidden ones included, as relative paths."""
    root = data_dir / "landing"
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) if root.exists() else []


def partials(data_dir: Path) -> list[str]:
    folder = data_dir / "state" / "decp_download"
    return sorted(os.listdir(folder)) if folder.exists() else []


@pytest.fixture
def source() -> DecpSource:  # type: ignore[misc]
    with DecpSource(parquet_snapshot()) as server:
        yield server


def test_first_download_lands_the_file_and_remembers_its_validators(
    data_dir: Path, source: DecpSource
) -> None:
    outcome = download(data_dir, source.url)

    target = data_dir / "landing" / "decp" / "2025-03-03" / "decp.parquet"
    assert outcome.status == "landed" and outcome.path == target
    assert target.read_bytes() == source.body and outcome.size == len(source.body)
    assert target.stat().st_mode & 0o777 == 0o640
    assert landed(data_dir) == ["decp", "decp/2025-03-03", "decp/2025-03-03/decp.parquet"]
    assert partials(data_dir) == []
    state = json.loads(state_path(data_dir).read_text())
    assert state["file"] == "decp/2025-03-03/decp.parquet" and state["url"] == source.url
    assert (state["etag"], state["last_modified"]) == (source.etag, source.last_modified)
    assert state["sha256"] == outcome.sha256
    assert "If-None-Match" not in source.requests[0]
    assert source.requests[0]["Accept-Encoding"] == "identity"


def test_an_unchanged_file_is_not_downloaded_again(data_dir: Path, source: DecpSource) -> None:
    download(data_dir, source.url)
    state_before = state_path(data_dir).read_bytes()

    outcome = download(data_dir, source.url, NEXT_DAY)

    assert outcome.status == "not_modified" and outcome.path is None
    assert source.requests[1]["If-None-Match"] == source.etag
    assert source.requests[1]["If-Modified-Since"] == source.last_modified
    assert landed(data_dir) == ["decp", "decp/2025-03-03", "decp/2025-03-03/decp.parquet"]
    assert state_path(data_dir).read_bytes() == state_before


def test_if_modified_since_alone_is_honoured_too(data_dir: Path, source: DecpSource) -> None:
    download(data_dir, source.url)
    state = json.loads(state_path(data_dir).read_text())
    state["etag"] = None  # a server that sends no ETag
    state_path(data_dir).write_text(json.dumps(state))

    assert download(data_dir, source.url, NEXT_DAY).status == "not_modified"
    assert "If-None-Match" not in source.requests[1]


def test_a_new_version_the_same_day_lands_beside_the_first_and_sorts_last(
    data_dir: Path, source: DecpSource
) -> None:
    first = download(data_dir, source.url)
    source.publish(
        parquet_snapshot(rows=[("2025-9", "X", "13002526500013", "2025-01-02", "1", "")])
    )

    second = download(data_dir, source.url, AFTERNOON)

    assert second.status == "landed" and second.path is not None and first.path is not None
    assert second.path.name == "decp_143000.parquet"
    assert sorted([first.path.name, second.path.name])[-1] == second.path.name  # in force (§8.1)
    assert first.path.read_bytes() != second.path.read_bytes() == source.body
    assert json.loads(state_path(data_dir).read_text())["etag"] == source.etag

    source.publish(
        parquet_snapshot(rows=[("2025-10", "Y", "13002526500013", "2025-01-03", "2", "")])
    )
    third = download(data_dir, source.url, NEXT_DAY)
    assert third.path == data_dir / "landing" / "decp" / "2025-03-04" / "decp.parquet"


@pytest.mark.parametrize("fault", ["truncate", "short_length"])
def test_a_body_cut_short_lands_nothing(data_dir: Path, source: DecpSource, fault: str) -> None:
    source.fault = fault  # type: ignore[assignment]

    with pytest.raises(DownloadError):
        download(data_dir, source.url)

    assert landed(data_dir) == [] and partials(data_dir) == []
    assert not state_path(data_dir).exists()


def test_a_failed_download_keeps_the_previous_state(data_dir: Path, source: DecpSource) -> None:
    download(data_dir, source.url)
    state_before = state_path(data_dir).read_bytes()
    source.publish(
        parquet_snapshot(rows=[("2025-9", "X", "13002526500013", "2025-01-02", "1", "")])
    )
    source.fault = "truncate"

    with pytest.raises(DownloadError, match="interrupted|Content-Length"):
        download(data_dir, source.url, AFTERNOON)

    assert landed(data_dir) == ["decp", "decp/2025-03-03", "decp/2025-03-03/decp.parquet"]
    assert state_path(data_dir).read_bytes() == state_before
    source.fault = "none"  # the retry gets it whole
    assert download(data_dir, source.url, AFTERNOON).status == "landed"


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html><body>Service indisponible</body></html>\n",
        b"PAR1" + b"\x00" * 64 + b"PAR1",  # the magic bytes around a footer that does not parse
        parquet_snapshot()[:-4],  # no footer
        parquet_snapshot(columns=("uid", "id", "acheteur_id", "dateNotification", "montant", "x")),
        csv_snapshot(columns=("uid", "id", "acheteur_id", "dateNotification", "montant", "x")),
        "uid;id;acheteur_id;dateNotification;montant;considérationsSociales\n".encode("cp1252"),
        b"",
    ],
    ids=["html", "bad-footer", "no-footer", "parquet-column", "csv-column", "not-utf8", "empty"],
)
def test_what_is_not_a_snapshot_lands_nothing(data_dir: Path, body: bytes) -> None:
    with DecpSource(body) as source, pytest.raises(DownloadError):
        download(data_dir, source.url)
    assert landed(data_dir) == [] and partials(data_dir) == []


def test_a_server_error_lands_nothing(data_dir: Path, source: DecpSource) -> None:
    source.fault = "error"
    with pytest.raises(DownloadError, match="500"):
        download(data_dir, source.url)
    assert landed(data_dir) == []


@pytest.mark.parametrize(
    ("separator", "bom", "columns"),
    [
        (
            ";",
            True,
            ("uid", "id", "acheteur_id", "dateNotification", "montant", "considerationsSociales"),
        ),
        (
            ",",
            False,
            ("UID", "Id", "Acheteur ID", "date_notification", "Montant", "Considérations sociales"),
        ),
    ],
)
def test_a_csv_snapshot_lands_as_csv(
    data_dir: Path, separator: str, bom: bool, columns: tuple[str, ...]
) -> None:
    body = csv_snapshot(columns=columns, separator=separator, bom=bom)
    with DecpSource(body, name="export") as source:  # a URL without extension
        outcome = download(data_dir, source.url)
    assert outcome.path is not None and outcome.path.name == "decp.csv"
    assert outcome.path.read_bytes() == body


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        ('attachment; filename="decp-2025-03-03.parquet"', "decp-2025-03-03.parquet"),
        (
            "attachment; filename*=UTF-8''d%C3%A9cp%20consolid%C3%A9.parquet",
            "décp consolidé.parquet",
        ),
        ('attachment; filename="../../01/2025-03-03/x.parquet"', "decp.parquet"),  # escapes
        ('attachment; filename=".hidden.parquet"', "decp.parquet"),
        ('attachment; filename="decp.csv"', "decp.parquet"),  # not what the bytes are
        ("attachment; filename*=UTF-8''a%E2%80%AEteuqrap.parquet", "decp.parquet"),  # bidi override
        ("attachment; filename*=UTF-8''evil%0Aname.parquet", "decp.parquet"),  # control
    ],
)
def test_the_name_comes_from_content_disposition_when_it_is_safe(
    data_dir: Path, source: DecpSource, disposition: str, expected: str
) -> None:
    source.disposition = disposition
    outcome = download(data_dir, source.url)
    assert outcome.path is not None and outcome.path.name == expected
    assert outcome.path.parent == data_dir / "landing" / "decp" / "2025-03-03"


def test_the_name_of_a_redirected_url_is_the_final_one(data_dir: Path) -> None:
    with DecpSource(parquet_snapshot(), name="decp-2025.parquet") as source:
        outcome = download(data_dir, f"{source.base}/redirect")
        assert outcome.path is not None and outcome.path.name == "decp-2025.parquet"
        # The state is the requested URL's: the next request is conditional.
        assert download(data_dir, f"{source.base}/redirect", NEXT_DAY).status == "not_modified"


def test_a_file_already_there_is_never_overwritten(data_dir: Path, source: DecpSource) -> None:
    folder = data_dir / "landing" / "decp" / "2025-03-03"
    folder.mkdir(parents=True)
    (folder / "decp.parquet").write_bytes(b"dropped by hand")
    (folder / "zz.csv").write_bytes(b"dropped by hand too")

    outcome = download(data_dir, source.url)

    assert outcome.path is not None and outcome.path.name == "zz_060005.parquet"
    assert (folder / "decp.parquet").read_bytes() == b"dropped by hand"
    assert sorted(os.listdir(folder))[-1] == outcome.path.name


def test_the_same_bytes_sent_again_land_nothing(data_dir: Path, source: DecpSource) -> None:
    download(data_dir, source.url)
    source.fault = "ignore_conditions"  # a server answering 200 to every request

    outcome = download(data_dir, source.url, NEXT_DAY)

    assert outcome.status == "unchanged" and outcome.path is None
    assert landed(data_dir) == ["decp", "decp/2025-03-03", "decp/2025-03-03/decp.parquet"]
    assert partials(data_dir) == []


def test_a_snapshot_deleted_by_hand_is_downloaded_again(data_dir: Path, source: DecpSource) -> None:
    first = download(data_dir, source.url)
    assert first.path is not None
    first.path.unlink()

    outcome = download(data_dir, source.url, NEXT_DAY)

    assert outcome.status == "landed" and "If-None-Match" not in source.requests[1]


def test_an_unreadable_state_means_an_unconditional_request(
    data_dir: Path, source: DecpSource
) -> None:
    download(data_dir, source.url)
    state_path(data_dir).write_text("{not json")
    assert download(data_dir, source.url, NEXT_DAY).status == "landed"
    assert "If-None-Match" not in source.requests[1]


def test_partial_files_of_a_killed_download_are_removed(data_dir: Path, source: DecpSource) -> None:
    folder = data_dir / "state" / "decp_download"
    folder.mkdir(parents=True)
    leftover = folder / f".decp.{'0' * 32}.tmp"
    leftover.write_bytes(b"half")
    download(data_dir, source.url)
    assert partials(data_dir) == []


@pytest.mark.parametrize(
    ("preferred", "existing", "expected"),
    [
        ("decp.parquet", [], "decp.parquet"),
        ("decp.parquet", ["decp.parquet"], "decp_143000.parquet"),
        ("decp.parquet", ["decp.parquet", "decp_120000.parquet"], "decp_143000.parquet"),
        ("decp.parquet", ["decp.parquet", "decp_150000.parquet"], "decp_150000_143000.parquet"),
        ("a.parquet", ["b.csv"], "b_143000.parquet"),
        ("decp.csv", ["decp.parquet"], "decp_143000.csv"),  # 'decp.c' sorts before 'decp.p'
        ("b.parquet", ["a.parquet", ".a.parquet.0.tmp", "notes.txt"], "b.parquet"),
    ],
)
def test_a_new_name_sorts_after_every_snapshot_of_its_folder(
    preferred: str, existing: list[str], expected: str
) -> None:
    name = last_name(preferred, existing, "143000")
    assert name == expected
    assert all(name > other for other in existing if other.endswith((".parquet", ".csv")))
