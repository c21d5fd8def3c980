"""Hand-computed cases for the test oracle (tests/oracle.py), on a tiny SQLite warehouse."""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction

import pytest
import sqlalchemy as sa
from support import oracle

from clauses.warehouse.engine import make_engine, migrate

R = "11"
S1, S2, S3, S4 = "11111111111111", "22222222222222", "33333333333333", "44444444444444"
D = date(2025, 2, 1)


class _Warehouse:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.rows: dict[str, int] = {}

    def file(
        self,
        region: str,
        received: str,
        name: str,
        sha: str,
        status: str = "loaded",
        kinds: str = "",
    ) -> str:
        self.conn.execute(
            sa.text(
                "INSERT INTO raw_files (region, receipt_date, file_name, sha256, status,"
                " kinds, n_rows, reason, run_id, registered_at) VALUES (:region, :rd, :name,"
                " :sha, :status, :kinds, NULL, '', 'test', :at)"
            ),
            {
                "region": region,
                "rd": date.fromisoformat(received),
                "name": name,
                "sha": sha,
                "status": status,
                "kinds": kinds,
                "at": datetime(2025, 1, 1, tzinfo=UTC),
            },
        )
        return sha

    def row(self, table: str, sha: str, **values) -> None:
        n = self.rows[sha] = self.rows.get(sha, 0) + 1
        values.update(file_sha256=sha, sheet="", row_number=n, load_id="L-" + sha)
        cols = list(values)
        self.conn.execute(
            sa.text(
                f"INSERT INTO {table} ({', '.join(cols)}) "
                f"VALUES ({', '.join(':' + c for c in cols)})"
            ),
            values,
        )

    def convention(self, sha: str, num: str, mill: int, siret: str, **kw) -> None:
        values = dict(
            num_convention=num,
            millesime=mill,
            code_region=R,
            siret_porteur=siret,
            raison_sociale=f"Structure {num}",
            categorie_juridique="5710",
            volet="facilitateur",
            etp_conventionnes=1.0,
            date_debut=date(mill, 1, 1),
            date_fin=date(mill, 12, 31),
            date_recrutement=None,
            cout_total_cents=10_000_000,
            subvention_etat_cents=7_000_000,
            cofinancements_cents=3_000_000,
            cofinanceurs=None,
            financements_preexistants_cents=None,
            date_signature=None,
            avance_versee_cents=0,
            num_avenant=0,
        )
        values.update(kw)
        self.row("stg_conventions", sha, **values)

    def heures(
        self,
        sha: str,
        siret: str,
        mois: str,
        participant: str,
        h: float,
        employeur: str = "99999999999999",
        type_employeur: str = "Entreprise",
    ) -> None:
        self.row(
            "stg_heures",
            sha,
            siret_porteur=siret,
            mois=mois,
            code_operation="OP",
            num_marche="M1",
            num_lot=None,
            siret_donneur_ordre="88888888888888",
            type_donneur_ordre="État",
            siret_employeur=employeur,
            type_employeur=type_employeur,
            participant_hash=participant,
            public_prioritaire=None,
            modalite="CDD",
            heures_realisees=h,
            heures_formation=None,
            sexe=None,
            annee_naissance=None,
        )

    def bilan(
        self,
        sha: str,
        num: str,
        mill: int,
        siret: str,
        type_bilan: str,
        heures: float = 0.0,
        beneficiaires: float = 0.0,
    ) -> None:
        self.row(
            "stg_bilans",
            sha,
            siret_porteur=siret,
            num_convention=num,
            millesime=mill,
            type_bilan=type_bilan,
            date_bilan=date(mill, 6, 30),
            heures_insertion=heures,
            beneficiaires=beneficiaires,
            beneficiaires_etp=0.0,
            structures_inclusives=0.0,
            contacts_acheteurs=0.0,
            marches_accompagnes=0.0,
            partenariats=0.0,
            bilan_qualitatif=None,
        )


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    path = tmp_path_factory.mktemp("oracle") / "warehouse.sqlite"
    eng = make_engine(f"sqlite:///{path}")
    migrate(eng)
    with eng.begin() as conn:
        w = _Warehouse(conn)
        # Register CV1 (2024-02-01): strands A, B, C (avenant 1), D, E.
        cv1 = w.file(R, "2024-02-01", "conventions.xlsx", "cv1", kinds="Conventions")
        # A: commune (7210), recruited 2024-07-01 -> f = 184/366; subsidy above the 80 % cap.
        w.convention(
            cv1,
            "C-A",
            2024,
            S1,
            categorie_juridique="7210",
            date_recrutement=date(2024, 7, 1),
            subvention_etat_cents=9_000_000,
            cofinancements_cents=1_000_000,
            avance_versee_cents=2_000_000,
            objectif_heures=1500.0,
            objectif_marches_accompagnes=5.0,
        )
        # B: 70 % exactly, funding gap exactly 1 EUR, recruited 2024-10-01 -> f = 92/366,
        # advance too large -> reversement.
        w.convention(
            cv1,
            "C-B",
            2024,
            S2,
            date_recrutement=date(2024, 10, 1),
            cofinancements_cents=2_999_900,
            avance_versee_cents=3_500_000,
        )
        # C: avenant 1, post never filled -> R04.
        w.convention(
            cv1,
            "C-C",
            2024,
            S3,
            num_avenant=1,
            etp_conventionnes=2.0,
            raison_sociale="Avenant 1 v1",
            cout_total_cents=5_000_000,
            subvention_etat_cents=3_000_000,
            cofinancements_cents=2_000_000,
        )
        # D: full year, annual report off by more than 5 % -> R07.
        w.convention(
            cv1,
            "C-D",
            2024,
            S4,
            date_recrutement=date(2023, 12, 1),
            avance_versee_cents=5_000_000,
            financements_preexistants_cents=400_000,
        )
        # E: coordinateur of 2025, running, ETP 0.4 (R03), lower pre-existing funding (R09).
        w.convention(
            cv1,
            "C-E",
            2025,
            S4,
            volet="coordinateur",
            etp_conventionnes=0.4,
            date_recrutement=date(2025, 1, 1),
            cout_total_cents=5_000_000,
            subvention_etat_cents=3_500_000,
            cofinancements_cents=1_500_000,
            avance_versee_cents=1_000_000,
            financements_preexistants_cents=100_000,
        )
        # CV2 (2024-03-01) re-sends C-C avenant 0: the higher avenant keeps winning.
        cv2 = w.file(R, "2024-03-01", "conventions_v0.csv", "cv2", kinds="Conventions")
        w.convention(cv2, "C-C", 2024, S3, raison_sociale="Initiale", etp_conventionnes=1.5)
        # CV3 (2024-04-01): C-C avenant 1 again; equal avenants: the latest received wins.
        cv3 = w.file(R, "2024-04-01", "conventions_av1.csv", "cv3", kinds="Conventions")
        w.convention(
            cv3,
            "C-C",
            2024,
            S3,
            num_avenant=1,
            etp_conventionnes=2.0,
            raison_sociale="Avenant 1 v2",
            cout_total_cents=5_000_000,
            subvention_etat_cents=3_000_000,
            cofinancements_cents=2_000_000,
        )
        # Region 24 register: the previous millésime of S4 (R09 looks in any region).
        cv24 = w.file("24", "2024-01-15", "registre.csv", "cv24", kinds="Conventions")
        w.convention(
            cv24, "C-D0", 2023, S4, code_region="24", financements_preexistants_cents=400_000
        )
        w.convention(
            cv24,
            "C-E0",
            2024,
            S4,
            code_region="24",
            volet="coordinateur",
            financements_preexistants_cents=200_000,
        )

        # Activity of S1 (strand A).
        h1 = w.file(R, "2024-08-05", "heures_s1.csv", "h1", kinds="Heures")
        w.heures(h1, S1, "2024-07", "P1", 400.0, "E1", "EI")
        w.heures(h1, S1, "2024-08", "P2", 350.5, "E2", "ACI")
        w.heures(h1, S1, "2024-08", "P1", 249.5, "E3", "Entreprise")
        w.heures(h1, S1, "2025-01", "P3", 100.0, "E4", "EI")  # after fin: not counted
        m1 = w.file(R, "2024-08-05", "marches_s1.csv", "m1", kinds="Marchés")
        for mois, lot in (("2024-07", None), ("2024-08", None), ("2024-08", "2")):
            w.row(
                "stg_marches",
                m1,
                siret_porteur=S1,
                mois=mois,
                siret_donneur_ordre="88888888888888",
                type_donneur_ordre="État",
                num_marche="M1",
                num_lot=lot,
                objet="x",
                nature="Travaux",
                type_clause="Condition d'exécution",
                montant_ht_cents=100,
                heures_prevues=1.0,
                date_notification=None,
                grand_projet=None,
            )
        c1 = w.file(R, "2024-08-05", "contacts_s1.csv", "c1", kinds="Contacts")
        w.row(
            "stg_contacts",
            c1,
            siret_porteur=S1,
            mois="2024-09",
            date_contact=date(2024, 9, 3),
            siret_acheteur="77777777777777",
            type_donneur_ordre="État",
            objet=None,
        )
        b1 = w.file(R, "2024-07-20", "bilan_inter_a.csv", "b1", kinds="Bilans")
        w.bilan(b1, "C-A", 2024, S1, "intermédiaire")
        b2 = w.file(R, "2025-01-15", "bilans_annuels.csv", "b2", kinds="Bilans")
        w.bilan(b2, "C-A", 2024, S1, "annuel", heures=1040.0, beneficiaires=2.0)  # +4 %: agrees
        w.bilan(b2, "C-C", 2024, S3, "annuel")  # computed 0, declared 0: agrees
        w.bilan(b2, "C-D", 2024, S4, "annuel", heures=200.0, beneficiaires=1.0)  # 200 vs 180
        b3 = w.file(R, "2024-05-01", "bilans_inter.csv", "b3", kinds="Bilans")
        w.bilan(b3, "C-C", 2024, S3, "intermédiaire")
        b4 = w.file(R, "2024-08-01", "bilan_inter_d.csv", "b4", kinds="Bilans")  # on deadline
        w.bilan(b4, "C-D", 2024, S4, "intermédiaire")

        # Activity of S4: HA, then a correction HB of 2024-02; HC same day as HB sorts first.
        ha = w.file(R, "2024-03-05", "heures_a.csv", "ha", kinds="Heures")
        w.heures(ha, S4, "2024-01", "Q1", 100.0)
        w.heures(ha, S4, "2024-02", "Q1", 100.0)
        w.heures(ha, S4, "2024-02", "Q2", 50.0)
        hc = w.file(R, "2024-04-02", "heures_a2.csv", "hc", kinds="Heures")
        w.heures(hc, S4, "2024-02", "Q3", 999.0)
        hb = w.file(R, "2024-04-02", "heures_b.csv", "hb", kinds="Heures")
        w.heures(hb, S4, "2024-02", "Q1", 80.0)
        w.file(R, "2024-05-01", "heures_a_copie.csv", "ha")  # same bytes again: doublon
        w.file(R, "2024-05-02", "illisible.csv", "qq", status="quarantined")
        w.file(R, "2024-05-03", "notes.txt.csv", "", status="refused")
        w.file(R, "2025-03-01", "futur.csv", "fut")  # after D: ignored
    return eng


def by_key(rows):
    return {(r["N° convention"], r["Millésime"]): r for r in rows}


def test_mid_year_recruitment_commune_cap(engine):
    """A: f = 184/366, eligible = 80 % x 100 000 x f, R01 fails (warning) -> à examiner."""
    rows = by_key(oracle.expected_conventions(engine, D, R))
    assert list(rows) == [
        ("C-A", "2024"),
        ("C-B", "2024"),
        ("C-C", "2024"),
        ("C-D", "2024"),
        ("C-E", "2025"),
    ]
    a = rows[("C-A", "2024")]
    assert list(a) == list(oracle.CONVENTION_COLUMNS)
    assert a["ETP conventionnés"] == "1,0000"
    assert a["Fraction en poste"] == "0,5027"
    assert a["ETP en poste"] == "0,5027"
    assert a["Heures"] == "1000,00"  # 400 + 350.5 + 249.5; 2025-01 is after fin
    assert a["Bénéficiaires"] == "2"
    assert a["Bénéficiaires ETP"] == "0,6223"  # 1000 / 1607
    assert a["Structures inclusives"] == "2"  # E1 (EI), E2 (ACI)
    assert a["Contacts acheteurs"] == "1"
    assert a["Marchés accompagnés"] == "2"  # (DO, M1, '') and (DO, M1, '2')
    assert a["Partenariats"] == "0"
    assert a["Heures par ETP"] == "1989,1304"  # 1000 x 366 / 184
    assert a["Bénéficiaires par ETP"] == "3,9783"
    assert a["Bénéficiaires ETP par ETP"] == "1,2378"
    assert a["Contacts acheteurs par ETP"] == "1,9891"
    assert a["Partenariats par ETP"] == "0,0000"
    assert a["Atteinte globale"] == "0,8978"  # (min(1.326, 1) + 3.9783/5) / 2
    assert a["Subvention éligible"] == "40218,58"  # 80 000 x 184/366 = 40 218.579...
    assert a["Avance versée"] == "20000,00"
    assert a["Solde théorique"] == "20218,58"
    assert (a["Décision"], a["Montant proposé"], a["Règles en échec"]) == (
        "à examiner",
        "20218,58",
        "R01",
    )
    s = next(x for x in oracle.expected_strands(engine, D) if x["num_convention"] == "C-A")
    assert s["fraction_en_poste"] == Fraction(184, 366)
    assert s["rule_results"]["R07"] is True and s["rule_results"]["R09"] is None


def test_reversement_before_blocking_rules(engine):
    """B: 70 % exactly and a gap of exactly 1 EUR pass; advance > eligible -> reversement."""
    b = by_key(oracle.expected_conventions(engine, D, R))[("C-B", "2024")]
    assert b["Fraction en poste"] == "0,2514"  # 92/366
    assert b["Subvention éligible"] == "17595,63"  # 70 000 x 92/366 = 17 595.628...
    assert b["Solde théorique"] == "-17404,37"
    assert (b["Décision"], b["Montant proposé"], b["Règles en échec"]) == (
        "reversement",
        "-17404,37",
        "R05|R06",
    )
    assert b["Heures"] == "0,00" and b["Heures par ETP"] == "0,0000"
    assert b["Atteinte globale"] == ""  # no objective
    anomalies = [
        (x["N° convention"], x["Règle"], x["Niveau"])
        for x in oracle.expected_anomalies(engine, D, R)
    ]
    assert ("C-B", "R05", "avertissement") in anomalies
    assert ("C-B", "R06", "bloquant") in anomalies


def test_avenant_wins_and_suspendu_by_r04(engine):
    """C: avenant 1 beats a later avenant 0; equal avenants: the latest; no recruitment."""
    c = by_key(oracle.expected_conventions(engine, D, R))[("C-C", "2024")]
    assert c["Raison sociale"] == "Avenant 1 v2"
    assert c["ETP conventionnés"] == "2,0000"
    assert (c["Fraction en poste"], c["ETP en poste"]) == ("0,0000", "0,0000")
    assert c["Heures"] == "0,00" and c["Heures par ETP"] == ""  # ETP en poste 0: undefined
    assert (c["Subvention éligible"], c["Solde théorique"]) == ("0,00", "0,00")
    assert (c["Décision"], c["Montant proposé"], c["Règles en échec"]) == (
        "suspendu",
        "0,00",
        "R04",
    )
    # Before CV3 arrived, CV1's avenant 1 was the truth.
    early = by_key(oracle.expected_conventions(engine, date(2024, 3, 15), R))
    assert early[("C-C", "2024")]["Raison sociale"] == "Avenant 1 v1"
    assert early[("C-C", "2024")]["Décision"] == "en cours"


def test_partition_correction_and_a_examiner_by_r07(engine):
    """D: HB replaces 2024-02 of HA (HC, same day, sorts first); 200 declared vs 180."""
    d = by_key(oracle.expected_conventions(engine, D, R))[("C-D", "2024")]
    assert d["Fraction en poste"] == "1,0000"  # recruited before début
    assert (d["Heures"], d["Bénéficiaires"]) == ("180,00", "1")
    assert (d["Subvention éligible"], d["Solde théorique"]) == ("70000,00", "20000,00")
    assert (d["Décision"], d["Montant proposé"], d["Règles en échec"]) == (
        "à examiner",
        "20000,00",
        "R07",
    )  # R05 on the deadline passes, R09 equal passes
    r07 = [x for x in oracle.expected_anomalies(engine, D, R) if x["N° convention"] == "C-D"]
    assert r07 == [
        {
            "N° convention": "C-D",
            "Millésime": "2024",
            "Volet": "facilitateur",
            "Règle": "R07",
            "Niveau": "avertissement",
            "_mesure": 180.0,
        }
    ]
    # Before the correction: all of HA counts.
    early = by_key(oracle.expected_conventions(engine, date(2024, 3, 15), R))
    assert (early[("C-D", "2024")]["Heures"], early[("C-D", "2024")]["Bénéficiaires"]) == (
        "250,00",
        "2",
    )
    # Rules are parameters: R07 made blocking suspends the strand.
    levels = dict(oracle.DEFAULT_RULES.levels, R07="bloquant")
    strict = by_key(
        oracle.expected_conventions(engine, D, R, oracle.DEFAULT_RULES.replace(levels=levels))
    )
    assert (strict[("C-D", "2024")]["Décision"], strict[("C-D", "2024")]["Montant proposé"]) == (
        "suspendu",
        "0,00",
    )


def test_coordinateur_running(engine):
    """E: coordinateur, en cours; R03 and R09 (previous millésime in region 24) listed."""
    e = by_key(oracle.expected_conventions(engine, D, R))[("C-E", "2025")]
    assert e["Volet"] == "coordinateur"
    assert e["ETP en poste"] == "0,4000"
    for col in ("Heures", "Bénéficiaires", "Partenariats", "Heures par ETP", "Atteinte globale"):
        assert e[col] == ""
    assert (e["Subvention éligible"], e["Solde théorique"]) == ("35000,00", "25000,00")
    assert (e["Décision"], e["Montant proposé"], e["Règles en échec"]) == (
        "en cours",
        "",
        "R03|R09",
    )
    anomalies = [
        (x["N° convention"], x["Millésime"], x["Règle"], x["Niveau"])
        for x in oracle.expected_anomalies(engine, D, R)
    ]
    assert anomalies == [
        ("C-A", "2024", "R01", "avertissement"),
        ("C-B", "2024", "R05", "avertissement"),
        ("C-B", "2024", "R06", "bloquant"),
        ("C-C", "2024", "R04", "bloquant"),
        ("C-D", "2024", "R07", "avertissement"),
        ("C-E", "2025", "R03", "bloquant"),
        ("C-E", "2025", "R09", "avertissement"),
    ]
    assert [x["N° convention"] for x in oracle.expected_conventions(engine, D, "24")] == [
        "C-D0",
        "C-E0",
    ]


def test_files_statuses(engine):
    files = {
        (f["Fichier"], f["Date de réception"]): f["Statut"]
        for f in oracle.expected_files(engine, D, R)
    }
    assert files[("conventions.xlsx", "2024-02-01")] == "chargé"
    assert files[("conventions_v0.csv", "2024-03-01")] == "remplacé"  # beaten by avenant 1
    assert files[("conventions_av1.csv", "2024-04-01")] == "chargé"
    assert files[("heures_a.csv", "2024-03-05")] == "chargé"  # 2024-01 still counts
    assert files[("heures_a2.csv", "2024-04-02")] == "remplacé"  # same day, sorts first
    assert files[("heures_b.csv", "2024-04-02")] == "chargé"
    assert files[("heures_a_copie.csv", "2024-05-01")] == "doublon"
    assert files[("illisible.csv", "2024-05-02")] == "en quarantaine"
    assert files[("notes.txt.csv", "2024-05-03")] == "refusé"
    assert ("futur.csv", "2025-03-01") not in files
    assert ("registre.csv", "2024-01-15") not in files  # region 24
    early = {f["Fichier"]: f["Statut"] for f in oracle.expected_files(engine, date(2024, 3, 5), R)}
    assert early == {
        "conventions.xlsx": "chargé",
        "conventions_v0.csv": "remplacé",
        "heures_a.csv": "chargé",
    }
