"""Personal data (domain.md, RGPD; contract §3): the direct identifiers a file may carry, and the
participant ids, never leave the landing zone, except as the quarantined file itself.

Files (CSV and XLSX, loaded, quarantined and refused) carry the columns Nom, Prénom, NIR, Date de
naissance, Adresse, Téléphone, Courriel with planted values found nowhere else, and planted
participant ids. After a whole `clauses run` at DEBUG level, on SQLite and on PostgreSQL, none
of them is in any warehouse table (nor in the SQLite file's bytes), any file of the extracts,
any report of the quarantine, or the run's output. Participant ids are there only as keyed
hashes of the configured key; a run without a key refuses to start, unless in demo mode; the
quarantine, which keeps files as received, is purged after its configurable retention.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import os
import stat
import subprocess
import sys
import zipfile
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import xlsxwriter
from support.contract_files import SIRET_A, SIRET_C, SIRET_D

from clauses.contract.kinds import KINDS, Kind
from clauses.warehouse.engine import make_engine

AS_OF = "2025-03-01"
DAY = "2025-02-03"
KEY = "personal-data-test-key-0123456789"

# Planted values: each found nowhere but in the landing zone (and the quarantined copies).
NOM, PRENOM = "ZZNOMSECRET", "ZZPRENOMSECRET"
NIR = "1850578006048 22"
BIRTH = date(1964, 2, 29)
ADRESSE = "12 rue ZZRUESECRETE, 75011 Paris"
TELEPHONE = "06 99 88 77 66"
COURRIEL = "zz.secret@example.invalid"
PARTICIPANTS = ("PZZ-000123", "PZZ-000456", "PZZ-000789", "PZZ-000999")
LONG_PARTICIPANT = "PZZ-" + "9" * 70  # over 64 characters: a blocking error, masked in reports
FORBIDDEN = (
    NOM,
    PRENOM,
    NIR,
    NIR.replace(" ", ""),
    NIR[:13],
    BIRTH.strftime("%d/%m/%Y"),
    BIRTH.isoformat(),
    "ZZRUESECRETE",
    TELEPHONE,
    TELEPHONE.replace(" ", ""),
    COURRIEL,
    "zz.secret",
    *PARTICIPANTS,
    "PZZ-",  # every planted id starts so
)

HEURES = [c.header for c in KINDS[Kind.HEURES].columns]
PERSONAL = ["Nom", "Prénom", "NIR", "Date de naissance", "Adresse", "Téléphone", "Courriel"]
PERSONAL_OTHER_SPELLING = [
    "NOM",
    "prénom",
    "N° de sécurité sociale",
    "date_de_naissance",
    "Adresse postale",
    "Tél",
    "E-mail",
]
PERSONAL_VALUES = [NOM, PRENOM, NIR, BIRTH.strftime("%d/%m/%Y"), ADRESSE, TELEPHONE, COURRIEL]


def heures(month: str, participant: str, **changes: str) -> list[str]:
    row = dict.fromkeys(HEURES, "")
    row.update(
        {
            "SIRET porteur": SIRET_A,
            "Mois": month,
            "Code opération": "OP-1",
            "N° marché": "M-1",
            "SIRET donneur d'ordre": SIRET_C,
            "Type de donneur d'ordre": "État",
            "SIRET employeur": SIRET_D,
            "Type d'employeur": "EI",
            "ID participant": participant,
            "Modalité": "CDI",
            "Heures réalisées": "35",
        }
    )
    row.update(changes)
    return list(row.values())


def csv_bytes(rows: list[list[str]], head: list[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(head)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def xlsx_bytes(rows: list[list[object]], head: list[str]) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("Heures")
    date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    for c, header in enumerate(head):
        sheet.write_string(0, c, header)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if isinstance(value, date):
                sheet.write_datetime(r, c, value, date_format)  # a real date cell
            elif value != "":
                sheet.write_string(r, c, str(value))
    workbook.close()
    return buffer.getvalue()


def write_landing(landing: Path) -> dict[str, str]:
    """The files, each with personal columns; returns name -> expected Statut."""
    folder = landing / "11" / DAY
    folder.mkdir(parents=True)
    personal_xlsx = [NOM, PRENOM, NIR, BIRTH, ADRESSE, TELEPHONE, COURRIEL]
    files = {
        # loaded: the personal columns are dropped at reading
        "heures janvier.csv": (
            csv_bytes(
                [heures("2024-01", p) + PERSONAL_VALUES for p in PARTICIPANTS[:2]],
                HEURES + PERSONAL,
            ),
            "chargé",
        ),
        "heures février.xlsx": (
            xlsx_bytes(
                [heures("2024-02", p) + personal_xlsx for p in PARTICIPANTS[2:]],
                HEURES + PERSONAL_OTHER_SPELLING,
            ),
            "chargé",
        ),
        # quarantined: an invalid SIRET, and an id over 64 characters, beside personal data
        "heures mars.csv": (
            csv_bytes(
                [  # the personal columns first, this time
                    PERSONAL_VALUES
                    + heures("2024-03", PARTICIPANTS[0], **{"SIRET employeur": "12345678901234"}),
                    PERSONAL_VALUES + heures("2024-03", LONG_PARTICIPANT),
                ],
                PERSONAL + HEURES,
            ),
            "en quarantaine",
        ),
        "heures avril.xlsx": (
            xlsx_bytes(
                [heures("2024-04", PARTICIPANTS[1]) + personal_xlsx] * 2,  # duplicate rows
                HEURES + PERSONAL_OTHER_SPELLING,
            ),
            "en quarantaine",
        ),
        # refused: no kind recognised, nothing but personal data
        "liste des participants.csv": (
            csv_bytes([[*PERSONAL_VALUES, p] for p in PARTICIPANTS], [*PERSONAL, "Identifiant"]),
            "refusé",
        ),
    }
    for name, (data, _) in files.items():
        (folder / name).write_bytes(data)
    return {name: status for name, (_, status) in files.items()}


def clauses(
    data_dir: Path, *args: str, url: str | None = None, **env_changes: str | None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CLAUSES_DATA_DIR": str(data_dir),
        "CLAUSES_PSEUDONYM_KEY": KEY,
        "GX_ANALYTICS_ENABLED": "False",
    }
    for name in ("CLAUSES_WAREHOUSE_URL", "CLAUSES_DEMO", "CLAUSES_QUARANTINE_RETENTION_DAYS"):
        env.pop(name, None)
    if url:
        env["CLAUSES_WAREHOUSE_URL"] = url
    for name, value in env_changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "-m", "clauses.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def leaks(text: str) -> list[str]:
    folded = text.casefold()
    return [value for value in FORBIDDEN if value.casefold() in folded]


def warehouse_text(url: str) -> dict[str, str]:
    """Every table of the warehouse, every row, as text."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table: "\n".join(
                    repr(tuple(row))
                    for row in connection.execute(sa.text(f'SELECT * FROM "{table}"'))
                )
                for table in sa.inspect(connection).get_table_names()
            }
    finally:
        engine.dispose()


def file_texts(path: Path) -> dict[str, str]:
    """The text of a file; of each member for a workbook (its strings are compressed)."""
    data = path.read_bytes()
    if data.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(path) as archive:
            return {
                f"{path}!{member}": archive.read(member).decode("utf-8", "replace")
                for member in archive.namelist()
            }
    return {str(path): data.decode("utf-8", "replace")}


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_no_personal_data_nor_participant_id_leaves_the_landing_zone(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    data_dir = tmp_path / "data"
    statuses = write_landing(data_dir / "landing")
    url = request.getfixturevalue("postgres_url") if backend == "postgres" else None
    done = clauses(data_dir, "--verbose", "run", "--date", AS_OF, url=url)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    url = url or f"sqlite:///{data_dir / 'warehouse.sqlite'}"

    # The run did what the test needs: files loaded, quarantined and refused, personal columns
    # reported by header, DEBUG logs written.
    with open(
        data_dir / "extracts" / "11" / AS_OF / "fichiers.csv", encoding="utf-8-sig", newline=""
    ) as handle:
        listed = {r["Fichier"]: r for r in csv.DictReader(handle, delimiter=";")}
    assert {name: row["Statut"] for name, row in listed.items()} == statuses
    assert "données personnelles supprimées" in listed["heures janvier.csv"]["Motif"]
    assert "Courriel" in listed["heures janvier.csv"]["Motif"]
    assert " DEBUG " in done.stderr

    found: dict[str, list[str]] = {}
    for table, text in warehouse_text(url).items():
        found[f"table {table}"] = leaks(text)
    if backend == "sqlite":  # deleted rows may linger in free pages: the bytes too
        for path in data_dir.glob("warehouse.sqlite*"):
            found[str(path)] = leaks(path.read_bytes().decode("latin-1"))
    extracts = [p for p in (data_dir / "extracts").rglob("*") if p.is_file()]
    assert len(extracts) >= 10
    for path in extracts:
        for where, text in file_texts(path).items():
            found[where] = leaks(text)
    reports = list((data_dir / "quarantine").rglob("*.rapport.*"))
    assert len(reports) == 2 * 3  # .txt and .json of the two quarantined and the refused file
    for path in reports:
        found[str(path)] = leaks(path.read_text(encoding="utf-8"))
    found["stdout"], found["stderr"] = leaks(done.stdout), leaks(done.stderr)
    assert not {where: values for where, values in found.items() if values}

    # The quarantine holds reports and byte copies of what was received, nothing else.
    landing = data_dir / "landing" / "11" / DAY
    for path in (data_dir / "quarantine").rglob("*"):
        if path.is_file() and path not in reports:
            assert path.read_bytes() == (landing / path.name).read_bytes(), path

    # Participant ids are stored as HMAC-SHA256 of the configured key, and only so.
    engine = make_engine(url)
    with engine.connect() as connection:
        stored = set(
            connection.execute(
                sa.text("SELECT DISTINCT participant_hash FROM stg_heures")
            ).scalars()
        )
    engine.dispose()
    assert stored == {
        hmac.new(KEY.encode(), p.encode(), hashlib.sha256).hexdigest() for p in PARTICIPANTS
    }


def test_a_run_without_a_pseudonymisation_key_refuses_to_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    write_landing(data_dir / "landing")
    for env in (
        {"CLAUSES_PSEUDONYM_KEY": None},
        {"CLAUSES_PSEUDONYM_KEY": ""},
        {"CLAUSES_PSEUDONYM_KEY": None, "CLAUSES_DEMO": "0"},
        {"CLAUSES_PSEUDONYM_KEY": None, "CLAUSES_DEMO": "true"},
    ):
        done = clauses(data_dir, "run", "--date", AS_OF, **env)
        assert done.returncode == 2, (env, done.stderr[-2000:])
        assert "CLAUSES_PSEUDONYM_KEY" in done.stderr and "CLAUSES_DEMO=1" in done.stderr, env
        assert "Traceback" not in done.stderr, env
        # Nothing was started: no warehouse, no extract, no quarantine, no key written.
        assert sorted(p.name for p in data_dir.iterdir()) == ["landing"], env


def test_demo_mode_generates_a_private_key_and_uses_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    write_landing(data_dir / "landing")
    for _ in range(2):  # the second run finds the key of the first
        done = clauses(
            data_dir, "run", "--date", AS_OF, CLAUSES_PSEUDONYM_KEY=None, CLAUSES_DEMO="1"
        )
        assert done.returncode == 0, done.stderr[-3000:]
    key_file = data_dir / ".demo_pseudonym_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip().encode()
    assert len(key) >= 32 and key != KEY.encode()
    engine = make_engine(f"sqlite:///{data_dir / 'warehouse.sqlite'}")
    with engine.connect() as connection:
        stored = set(
            connection.execute(
                sa.text("SELECT DISTINCT participant_hash FROM stg_heures")
            ).scalars()
        )
    engine.dispose()
    assert stored == {hmac.new(key, p.encode(), hashlib.sha256).hexdigest() for p in PARTICIPANTS}


def paris_today() -> date:
    from datetime import datetime

    return datetime.now(ZoneInfo("Europe/Paris")).date()


@pytest.mark.parametrize(
    ("retention", "kept_ages"),
    [
        (None, [0, 30, 31, 89, 90]),  # 90 days by default
        ("30", [0, 30]),
        ("0", [0]),
    ],
)
def test_quarantine_retention_is_configurable(
    retention: str | None, kept_ages: list[int], tmp_path: Path
) -> None:
    """The live run deletes the quarantine's receipt folders older than the retention."""
    data_dir, today = tmp_path / "data", paris_today()
    quarantine = data_dir / "quarantine" / "11"
    ages = [0, 30, 31, 89, 90, 91, 400]
    for age in ages:
        folder = quarantine / (today - timedelta(days=age)).isoformat()
        folder.mkdir(parents=True)
        (folder / "reçu.csv").write_bytes(f"{NOM};{NIR}\r\n".encode())
        (folder / "reçu.csv.rapport.txt").write_text("rapport", encoding="utf-8")
    backfill = clauses(
        data_dir,
        "run",
        "--date",
        (today - timedelta(days=1)).isoformat(),
        CLAUSES_QUARANTINE_RETENTION_DAYS=retention,
    )
    assert backfill.returncode == 0, backfill.stderr[-3000:]
    assert len(list(quarantine.iterdir())) == len(ages)  # a backfill deletes nothing
    live = clauses(
        data_dir,
        "run",
        "--date",
        today.isoformat(),
        "--live",
        CLAUSES_QUARANTINE_RETENTION_DAYS=retention,
    )
    assert live.returncode == 0, live.stderr[-3000:]
    assert sorted(p.name for p in quarantine.iterdir()) == sorted(
        (today - timedelta(days=age)).isoformat() for age in kept_ages
    )


@pytest.mark.parametrize("retention", ["quatre-vingt-dix", "-1", "30.5", "90 jours"])
def test_an_unusable_retention_is_a_clear_error(retention: str, tmp_path: Path) -> None:
    done = clauses(
        tmp_path / "data", "run", "--date", AS_OF, CLAUSES_QUARANTINE_RETENTION_DAYS=retention
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "CLAUSES_QUARANTINE_RETENTION_DAYS" in done.stderr
    assert "Traceback" not in done.stderr
