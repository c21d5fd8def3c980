"""Public procurement figures (contract §8.3-8.4) on SQLite and PostgreSQL, against the pandas
oracle (support/decp_oracle.py) at every date of a year of snapshots: threshold edges (40 000 €
exactly, the European thresholds exactly, a contract notified on the loi Climat's day, on the
date itself and after it), a contract modified across snapshots, a copy received again
(doublon), a replaced, a quarantined and a refused entry, two snapshots received the same day
(code-point order), unattributed contracts, a year without a counted contract, a contract
accompanied by a Marchés row of another region, Marchés rows superseded by a later file, a
year's own rules, and an empty coverage rate. Rows are written straight into the warehouse
(support/decp_rows.py) until the DECP loader lands."""

from __future__ import annotations

import csv
import html
import re
import shutil
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.decp_oracle import Entry, Expected, YearRules, expected
from support.decp_rows import ContactsRow, Contract, DecpRows, MarchesRow

from clauses.compute.figures import compute_as_of
from clauses.config import RULES_DIR
from clauses.contract.french import french_number
from clauses.publish.tables import publish_extracts
from clauses.run.audit import explain_procurement
from clauses.warehouse.engine import make_engine

P1, P2 = "90000000000001", "90000000000002"  # carriers of regions 11 and 24
B1, B2, B6 = "11000000000001", "11000000000002", "11000000000006"  # buyers of region 11
B3, B4 = "24000000000003", "24000000000004"  # buyers of region 24
B5 = "00000000000005"  # a buyer of unattributed contracts
d = date.fromisoformat

A = [
    Contract("u1", "2026-AO/12B", B1, d("2026-02-10"), 40_000.0, True, buyer_name="Ville A"),
    Contract("u2", "N2", B2, d("2026-03-05"), 39_999.99, True, buyer_name="Commune B"),
    Contract("u3", "N3", B2, d("2026-08-21"), 216_000.0, False, buyer_name="Commune B"),
    Contract("u4", "N4", B1, d("2026-08-21"), 5_403_999.0, False, works=True),
    Contract("u5", "24-XYZ", B3, d("2025-06-01"), 100_000.0, True, region="24",
             buyer_name="Département C"),
    Contract("u6", "N6", B4, d("2025-03-01"), 60_000.0, True, region="24"),
    Contract("u7", "N7", B5, d("2026-01-15"), 80_000.0, True, region=None, buyer_name="D"),
    Contract("u8", "N8", B1, d("2024-05-05"), 20_000.0, True),
    Contract("u10", "N10", B6, d("2026-08-20"), 300_000.0, False),
    Contract("u12", "N12", B6, d("2025-12-31"), 1_000_000.0, True, buyer_name="Syndicat E"),
    Contract("u13", "N13", B6, d("2025-11-30"), 75_000.5, False),
]  # fmt: skip
S2 = [c.changed(amount=50_000.0) if c.uid == "u2" else c for c in A if c.uid != "u6"]
S2 += [Contract("u9", "N9", B3, d("2026-05-20"), 45_000.0, False, region="24")]
S3 = S2 + [
    Contract("u11", "N11", B2, d("2026-09-15"), 45_000.0, True, buyer_name="Commune B"),
    Contract("u4b", "N4B", B1, d("2026-08-22"), 5_404_000.0, False, works=True),
    Contract("u14", "N14", B5, d("2026-09-02"), 216_000.0, False, region=None),
]
S4 = [c for c in S2 if c.uid != "u1"]  # received the same day as S3, sorting before it
SNAPSHOTS = {"1" * 64: A, "2" * 64: S2, "3" * 64: S3, "4" * 64: S4}
ENTRIES = [
    Entry(d("2026-04-01"), "decp.parquet", "1" * 64, "loaded", 12, 1),
    Entry(d("2026-06-01"), "decp.parquet", "2" * 64, "loaded", 11, 0),
    Entry(d("2026-07-01"), "decp-copie.parquet", "1" * 64, "loaded", 12, 1),
    Entry(d("2026-08-01"), "decp.csv", "q" * 64, "quarantined", 100, 30),
    Entry(d("2026-08-01"), "notes.txt", "", "refused", None, None),
    Entry(d("2026-09-01"), "a.parquet", "3" * 64, "loaded", 14, 0),
    Entry(d("2026-09-01"), "B.parquet", "4" * 64, "loaded", 10, 0),
]
DATES = [
    d("2026-03-15"),  # Marchés and Contacts, no snapshot yet
    d("2026-04-01"),  # the first snapshot, received that day
    d("2026-04-30"),
    d("2026-05-01"),  # a later Marchés file supersedes the first: u1 no longer accompanied
    d("2026-06-01"),  # u2 modified to 50 000, u6 gone, u9 new
    d("2026-07-01"),  # the first snapshot again: a copy, the second stays in force
    d("2026-08-01"),  # a quarantined and a refused entry
    d("2026-08-20"),
    d("2026-08-21"),  # the loi Climat's day
    d("2026-09-01"),  # a.parquet and B.parquet the same day: a.parquet sorts last
    d("2026-09-14"),
    d("2026-09-15"),  # u11 notified that day
    d("2026-10-01"),
]


def rules(year: int) -> YearRules:
    if year == 2025:
        return YearRules(decp_min_amount=70_000, pnad_social_share_target=0.25)
    return YearRules()


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def published(extracts: Path, day: date) -> Expected:
    regions, buyers = {}, {}
    for folder in sorted(extracts.iterdir()):
        target = folder / day.isoformat()
        if folder.name == "national" or not target.is_dir():
            continue
        if (target / "commande_publique.csv").exists():
            regions[folder.name] = read_csv(target / "commande_publique.csv")
            buyers[folder.name] = read_csv(target / "acheteurs_sans_facilitateur.csv")
        else:
            assert not (target / "acheteurs_sans_facilitateur.csv").exists()
    national_dir = extracts / "national" / day.isoformat()
    national = files = None
    if (national_dir / "decp_fichiers.csv").exists():
        national = read_csv(national_dir / "commande_publique_regions.csv")
        columns = ("Fichier", "SHA-256", "Date de réception", "Statut", "Lignes", "Lignes exclues")
        files = [{k: r[k] for k in columns} for r in read_csv(national_dir / "decp_fichiers.csv")]
    else:
        assert not (national_dir / "commande_publique_regions.csv").exists()
    return Expected(regions, buyers, national, files)


@pytest.fixture(params=["sqlite", "postgres"])
def warehouse(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_warehouse"))
    return str(request.getfixturevalue("postgres_warehouse_url"))


def fill(engine: sa.Engine) -> None:
    rows = DecpRows(engine)
    rows.activity(
        "11",
        "2026-03-01",
        "marches_2026-02.csv",
        "m" * 63 + "1",
        marches=[
            MarchesRow(P1, "2026-02", B1, "2026-ao/12 b"),
            MarchesRow(P1, "2026-02", B3, "24 xyz"),
        ],
    )
    rows.activity(
        "24", "2026-03-01", "contacts.csv", "c" * 64, contacts=[ContactsRow(P2, "2026-02", B4)]
    )
    rows.activity(
        "11",
        "2026-05-01",
        "marches_2026-02_v2.csv",
        "m" * 63 + "2",
        marches=[MarchesRow(P1, "2026-02", B3, "24/XYZ")],
    )
    loaded: set[str] = set()
    for entry in sorted(ENTRIES, key=lambda e: e.received):
        rows.entry(
            entry.received.isoformat(),
            entry.name,
            entry.sha,
            entry.status,
            entry.n_rows,
            entry.n_excluded,
            reason="plus de 20 % de lignes exclues" if entry.status == "quarantined" else "",
        )
        if entry.status == "loaded" and entry.sha not in loaded:
            loaded.add(entry.sha)
            rows.snapshot(entry.sha, SNAPSHOTS[entry.sha])


def _charts(page: Path) -> dict[str, str]:
    """The summary page's charts, by the first words of their spoken label (its name, a year
    aside): their label."""
    text = page.read_text(encoding="utf-8")
    labels = [html.unescape(label) for label in re.findall(r'<svg[^>]*aria-label="([^"]*)"', text)]
    return {re.split(r" en \d{4}| :|\. ", label)[0]: label for label in labels}


def _percent(ratio: str) -> str:
    return f"{french_number(float(ratio.replace(',', '.')) * 100, 0)}\u202f%"


SHARE_CHART = "Part des contrats avec considération sociale par année et taux de couverture"
REGIONS_CHART = "Régions comparées"


def assert_pages_draw_the_tables(national_dir: Path, got: Expected) -> None:
    """Each summary page draws the share and coverage its procurement table publishes; the
    national page draws the year totals and every region's share."""
    extracts = national_dir.parent.parent
    for code, years in got.regions.items():
        chart = _charts(extracts / code / national_dir.name / "synthese.html")[SHARE_CHART]
        for row in years:
            said = re.search(rf"{row['Année']} : [^;]*", chart)
            assert said, (code, row["Année"], chart)
            assert f"{_percent(row['Part'])} avec considération sociale" in said.group(0)
            assert f"objectif {_percent(row['Objectif PNAD'])}" in said.group(0)
            if row["Taux de couverture"]:
                assert f"{_percent(row['Taux de couverture'])} accompagnés" in said.group(0)
            else:
                assert "accompagnés par un facilitateur : non calculable" in said.group(0)
    charts = _charts(national_dir / "synthese.html")
    assert REGIONS_CHART in charts  # always on the national page
    if got.national is None:
        assert SHARE_CHART not in charts
        return
    totals = [row for row in got.national if row["Région"] == "Total"]
    for row in totals:
        assert f"{row['Année']} : " in charts[SHARE_CHART]
        assert f"{_percent(row['Part'])} avec considération sociale" in charts[SHARE_CHART]
    year = re.search(r"en (\d{4})", charts[REGIONS_CHART])
    for row in got.national:
        if row["Code région"] and year and row["Année"] == year.group(1):
            line = f"{row['Région']} ({row['Code région']}), part {_percent(row['Part'])}"
            assert line in charts[REGIONS_CHART], (line, charts[REGIONS_CHART])


def test_figures_agree_with_the_oracle_at_every_date(warehouse: str, tmp_path: Path) -> None:
    engine = make_engine(warehouse)
    fill(engine)
    rules_dir = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules_dir)
    (rules_dir / "2025.toml").write_text(
        'version = "regles-2025"\n[procurement]\ndecp_min_amount = 70000\n'
        "pnad_social_share_target = 0.25\n"
    )
    extracts = tmp_path / "extracts"
    modes = {}
    for day in DATES:
        modes[day] = compute_as_of(engine, day, rules_dir).mode
        publish_extracts(engine, extracts, day)
        want = expected(engine, day, ENTRIES, SNAPSHOTS, rules)
        got = published(extracts, day)
        assert got.files == want.files, day
        assert got.national == want.national, day
        assert got.regions == want.regions, day
        assert got.buyers == want.buyers, day
        assert_pages_draw_the_tables(extracts / "national" / day.isoformat(), got)

    # Carried over only where no contract of the snapshot in force is notified in between.
    assert compute_as_of(engine, d("2026-09-20"), rules_dir).mode == "carried"
    assert modes[d("2026-09-15")] == "computed"  # u11 notified on 09-15, nothing received
    assert modes[d("2026-04-30")] == "carried"

    # A few figures by hand, to check the oracle too.
    day = d("2026-09-15")
    folder = extracts / "11" / day.isoformat()
    years = {r["Année"]: r for r in read_csv(folder / "commande_publique.csv")}
    assert set(years) == {"2025", "2026"}  # 2024: u8 only, under 40 000 €
    assert years["2026"] == {
        "Année": "2026",
        "Contrats": "7",  # u1 (40 000 € exactly), u2, u3, u4, u10, u11 (notified that day), u4b
        "Avec considération sociale": "3",
        "Part": "0,4286",
        "Montant": "11458999,00",
        "Montant avec considération sociale": "135000,00",
        "Part en montant": "0,0118",
        "Objectif PNAD": "0,3000",
        "Écart": "0,1286",
        "Accompagnés": "0",  # the Marchés row of u1 was superseded on 05-01
        "Taux de couverture": "0,0000",
        "Au-dessus des seuils sans considération sociale": "2",  # u3 (216 000 €), u4b (works)
    }
    assert years["2025"]["Contrats"] == "2"  # u12, u13 (2025's own threshold: 70 000 €)
    assert years["2025"]["Objectif PNAD"] == "0,2500"
    region_24 = {
        r["Année"]: r for r in read_csv(extracts / "24" / day.isoformat() / "commande_publique.csv")
    }
    assert region_24["2025"]["Accompagnés"] == "1"  # by a Marchés row of region 11
    assert region_24["2026"]["Taux de couverture"] == ""  # no contract with a consideration
    buyers = read_csv(folder / "acheteurs_sans_facilitateur.csv")
    assert [(b["Année"], b["SIRET acheteur"], b["Acheteur"]) for b in buyers] == [
        ("2025", B6, ""),  # its first row (u10) has no acheteur_nom (§8.4)
        ("2026", B2, "Commune B"),
        ("2026", B1, "Ville A"),
    ]
    statuses = [
        (r["Fichier"], r["Statut"])
        for r in read_csv(extracts / "national" / day.isoformat() / "decp_fichiers.csv")
    ]
    assert statuses == [
        ("decp.parquet", "remplacé"),
        ("decp.parquet", "remplacé"),
        ("decp-copie.parquet", "doublon"),
        ("decp.csv", "en quarantaine"),
        ("notes.txt", "refusé"),
        ("B.parquet", "remplacé"),
        ("a.parquet", "chargé"),
    ]
    national = read_csv(extracts / "national" / day.isoformat() / "commande_publique_regions.csv")
    assert [(r["Code région"], r["Région"], r["Année"]) for r in national] == [
        ("11", "Île-de-France", "2025"),
        ("11", "Île-de-France", "2026"),
        ("24", "Centre-Val de Loire", "2025"),
        ("24", "Centre-Val de Loire", "2026"),
        ("", "Non attribuée", "2026"),
        ("", "Total", "2025"),
        ("", "Total", "2026"),
    ]

    # No snapshot received yet: none of the procurement files.
    early = extracts / "11" / "2026-03-15"
    assert early.is_dir() and not (early / "commande_publique.csv").exists()
    assert not (extracts / "national" / "2026-03-15" / "decp_fichiers.csv").exists()

    # The manifests name the snapshot in force among the sources.
    manifest = (folder / "manifest.json").read_text(encoding="utf-8")
    assert "3" * 64 in manifest and "regles-2025" in manifest

    # `clauses explain` lists the contracts with a consideration and their Marchés rows.
    text = explain_procurement(engine, "24", 2025, d("2026-04-01"), rules_dir)
    assert "u5" in text and "marches_2026-02.csv" in text and "ligne 2" in text
    text = explain_procurement(engine, "11", 2026, d("2026-04-01"), rules_dir)
    assert "u1" in text and "ligne 1" in text
    text = explain_procurement(engine, "11", 2026, d("2026-05-01"), rules_dir)
    assert "u1" in text and "aucune ligne Marchés" in text
    engine.dispose()
