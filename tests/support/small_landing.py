"""A small landing zone whose every figure was computed by hand (see the expected values).

Region 11, one association (catégorie 9220, rate 70 %) with a facilitateur strand for 2024:
- register received 2024-01-15: 1 FTE, 2024-01-01..2024-12-31, recruited 2024-07-01, so
  f = 184/366; cost 60 000 €, subsidy 45 000 € (over 70 % = 42 000 €: R01), advance 20 000 €;
  objectives per FTE: 1 000 hours, 10 beneficiaries.
- Heures for 2024-01 received 2024-02-05 (CSV, `,`, decimal point): P1 100.5 h at an EI,
  P2 250 h (over 220: a warning) at a plain company; a `Nom` column, dropped at reading.
- Heures for 2024-02 received 2024-03-05 (CSV cp1252, `;`, decimal comma): P1 70,5 h at an ETTI.
- A correction of 2024-02 received 2024-04-02: P3 80 h at an ETTI; it supersedes the previous
  file, which becomes `remplacé`.
- A copy of the 2024-01 file received 2024-04-02 under another name: `doublon`.
- A broken Heures file received 2024-04-02 (invalid SIRET employeur): `en quarantaine`.
- A PDF received 2024-04-02: `refusé`.
- Intermediate report received 2024-07-20 (deadline 2024-08-01), annual report received
  2025-01-20 declaring 430.5 hours and 3 beneficiaries.

As of 2025-03-01: heures 100.5 + 250 + 80 = 430.5; beneficiaries P1, P2, P3 = 3; inclusive
structures: the EI and the ETTI = 2; ETP en poste = 184/366 = 0.502732...; heures/ETP =
856.3207...; eligible = round(42 000 × 184/366) = 21 114.75; solde 1 114.75; R01 and R08 fail
(warnings), so the decision is `à examiner` for 1 114,75 €.
"""

from __future__ import annotations

from pathlib import Path

from support.contract_files import SIRET_A, SIRET_B, SIRET_C, SIRET_D

PORTEUR = SIRET_A
HEURES_HEADER = (
    "SIRET porteur,Mois,Code opération,N° marché,SIRET donneur d'ordre,Type de donneur d'ordre,"
    "SIRET employeur,Type d'employeur,ID participant,Modalité,Heures réalisées,Nom\n"
)


def _write(path: Path, text: str, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))


def write_small_landing(landing: Path) -> None:
    region = landing / "11"
    _write(
        region / "2024-01-15" / "registre_2024.csv",
        "N° convention;Millésime;Code région;SIRET porteur;Raison sociale;Catégorie juridique;"
        "Volet;ETP conventionnés;Date de début;Date de fin;Date de recrutement;Coût total;"
        "Subvention État;Cofinancements;Avance versée;N° avenant;Objectif heures;"
        "Objectif bénéficiaires\n"
        f"C-11-001;2024;11;{PORTEUR[:3]} {PORTEUR[3:6]} {PORTEUR[6:9]} {PORTEUR[9:]};"
        "Association A;9220;facilitateur;1,0;01/01/2024;31/12/2024;01/07/2024;60 000,00;"
        "45 000,00;15 000,00;20 000,00;0;1000;10\n",
    )
    january = HEURES_HEADER + (
        f"{PORTEUR},2024-01,OP1,M1,{SIRET_B},etat,{SIRET_C},EI,P1,cdi,100.5,Dupont\n"
        f"{PORTEUR},2024-01,OP1,M1,{SIRET_B},État,{SIRET_D},Entreprise,P2,CDI,250,Durand\n"
    )
    _write(region / "2024-02-05" / "heures_2024-01.csv", january)
    _write(
        region / "2024-03-05" / "heures_2024-02.csv",
        HEURES_HEADER.replace(",", ";")
        + f"{PORTEUR};02/2024;OP1;M1;{SIRET_B};Collectivité territoriale;{SIRET_D};ETTI;P1;"
        "Intérim;70,5;Martin\n",
        encoding="cp1252",
    )
    _write(
        region / "2024-04-02" / "heures_2024-02_correction.csv",
        HEURES_HEADER
        + f"{PORTEUR},2024-02,OP1,M1,{SIRET_B},État,{SIRET_D},ETTI,P3,Intérim,80,Petit\n",
    )
    _write(region / "2024-04-02" / "copie_janvier.csv", january)
    _write(
        region / "2024-04-02" / "heures_errone.csv",
        HEURES_HEADER + f"{PORTEUR},2024-03,OP1,M1,{SIRET_B},État,12345678901234,EI,P4,CDI,10,X\n",
    )
    _write(region / "2024-04-02" / "notice.pdf", "%PDF-1.4 not a contract file")
    bilans_header = (
        "SIRET porteur;N° convention;Millésime;Type de bilan;Date du bilan;Heures d'insertion;"
        "Bénéficiaires;Bénéficiaires ETP;Structures inclusives;Contacts acheteurs;"
        "Marchés accompagnés;Partenariats\n"
    )
    _write(
        region / "2024-07-20" / "bilan_intermediaire.csv",
        bilans_header + f"{PORTEUR};C-11-001;2024;intermédiaire;15/07/2024;250;2;0,16;1;0;0;0\n",
    )
    _write(
        region / "2025-01-20" / "bilan_annuel.csv",
        bilans_header + f"{PORTEUR};C-11-001;2024;annuel;15/01/2025;430,5;3;0,27;2;0;0;0\n",
    )


EXPECTED_CONVENTION_2025_03_01 = {
    "N° convention": "C-11-001",
    "Millésime": "2024",
    "SIRET porteur": PORTEUR,
    "Raison sociale": "Association A",
    "Volet": "facilitateur",
    "ETP conventionnés": "1,0000",
    "Fraction en poste": "0,5027",
    "ETP en poste": "0,5027",
    "Heures": "430,50",
    "Bénéficiaires": "3",
    "Bénéficiaires ETP": "0,2679",  # 430.5 / 1607
    "Structures inclusives": "2",
    "Contacts acheteurs": "0",
    "Marchés accompagnés": "0",
    "Partenariats": "0",
    "Heures par ETP": "856,3207",  # 430.5 × 366 / 184
    "Bénéficiaires par ETP": "5,9674",  # 3 × 366 / 184
    "Bénéficiaires ETP par ETP": "0,5329",
    "Structures inclusives par ETP": "3,9783",
    "Contacts acheteurs par ETP": "0,0000",
    "Marchés accompagnés par ETP": "0,0000",
    "Partenariats par ETP": "0,0000",
    "Atteinte globale": "0,7265",  # (0.856304 + 0.596739) / 2
    "Subvention éligible": "21114,75",
    "Avance versée": "20000,00",
    "Solde théorique": "1114,75",
    "Décision": "à examiner",
    "Montant proposé": "1114,75",
    "Règles en échec": "R01|R08",
}
EXPECTED_FILES_2025_03_01 = {
    "registre_2024.csv": "chargé",
    "heures_2024-01.csv": "chargé",
    "heures_2024-02.csv": "remplacé",
    "heures_2024-02_correction.csv": "chargé",
    "copie_janvier.csv": "doublon",
    "heures_errone.csv": "en quarantaine",
    "notice.pdf": "refusé",
    "bilan_intermediaire.csv": "chargé",
    "bilan_annuel.csv": "chargé",
}
