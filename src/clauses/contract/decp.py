"""Public procurement snapshots (DECP, contract §8): their columns, the social considerations,
the regions of departments, and the contract numbers as the facilitators' Marchés rows give them.

Everything here is the contract's wording made data, shared by the reader, the checks, the
sample generator and the tests; nothing here reads a file or the warehouse.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from clauses.contract.kinds import REGIONS, fold, header_key

FOLDER = "decp"  # landing/decp/<AAAA-MM-JJ>/<file>: the only folder name besides the regions
EXTENSIONS = (".parquet", ".csv")
MAX_EXCLUDED_SHARE = 0.20  # more rows excluded than this: the snapshot is quarantined (§8.1)
CLIMATE_LAW_DATE = "2026-08-21"  # loi Climat et résilience: thresholds without consideration
YEARS = (1990, 2100)  # a dateNotification outside these years excludes its row
DEFAULT_MIN_AMOUNT = 40_000.0  # `decp_min_amount` when a rules file does not say (§8.2)

REQUIRED = ("uid", "id", "acheteur_id", "dateNotification", "montant", "considerationsSociales")
OPTIONAL = (
    "modification_id",
    "acheteur_nom",
    "acheteur_region_code",
    "acheteur_departement_code",
    "lieuExecution_code",
    "lieuExecution_typeCode",
    "type",
)
COLUMNS = REQUIRED + OPTIONAL  # the only columns read: no holder, no other column is stored

# Items of `considerationsSociales` (matched by `consideration_key`).
SOCIAL_ITEMS = ("Clause sociale", "Critère social", "Marché réservé", "Concession réservée")
NONE_ITEMS = ("Sans objet", "Pas de considération sociale", "")
ITEM_SEPARATORS = re.compile(r"[,|]")
_NOT_ALNUM = r"[^\p{L}\p{N}]"  # RE2: anything but a letter or a digit (of any script)

WORKS = "Travaux"  # the `type` whose European threshold is eu_threshold_works

# Lieu d'exécution types (§8.2, rule 3), matched by `consideration_key` too.
PLACE_REGION = "Code région"
PLACE_DEPARTMENT = "Code département"
PLACE_TOWN = ("Code commune", "Code postal")

_REGION_DEPARTMENTS = {
    "84": "01 03 07 15 26 38 42 43 63 69 73 74",
    "27": "21 25 39 58 70 71 89 90",
    "53": "22 29 35 56",
    "24": "18 28 36 37 41 45",
    "94": "2A 2B",
    "44": "08 10 51 52 54 55 57 67 68 88",
    "32": "02 59 60 62 80",
    "11": "75 77 78 91 92 93 94 95",
    "28": "14 27 50 61 76",
    "75": "16 17 19 23 24 33 40 47 64 79 86 87",
    "76": "09 11 12 30 31 32 34 46 48 65 66 81 82",
    "52": "44 49 53 72 85",
    "93": "04 05 06 13 83 84",
    "01": "971",
    "02": "972",
    "03": "973",
    "04": "974",
    "06": "976",
}
DEPARTMENT_REGION: dict[str, str] = {
    department: region
    for region, departments in _REGION_DEPARTMENTS.items()
    for department in departments.split()
}
assert set(_REGION_DEPARTMENTS) == set(REGIONS)


def column_key(header: str) -> str:
    """Key under which a snapshot's column matches one of COLUMNS (§8.1, as §3): case, accents
    and separators (`_`, space, `-`, `'`, `.`) do not count, so `dateNotification`,
    `date_notification` and `Date Notification` are one column."""
    return header_key(header).replace(" ", "")


def consideration_key(item: str) -> str:
    """An item of `considerationsSociales` (or a place type) without case, accents or
    surrounding spaces."""
    return fold(item)


SOCIAL_KEYS = frozenset(consideration_key(item) for item in SOCIAL_ITEMS)
NONE_KEYS = frozenset(consideration_key(item) for item in NONE_ITEMS)


def social_consideration(value: str | None) -> bool | None:
    """Whether a `considerationsSociales` value names at least one social consideration: True,
    False (none: `Sans objet`, `Pas de considération sociale` or empty), or None when one of
    its items is unknown (the row is excluded)."""
    found = False
    for item in ITEM_SEPARATORS.split(value or ""):
        key = consideration_key(item)
        if key in SOCIAL_KEYS:
            found = True
        elif key not in NONE_KEYS:
            return None
    return found


def region_code(code: str | None) -> str | None:
    """One of the 18 region codes from a region code as published (`1` reads `01`)."""
    text = (code or "").strip()
    if text.isdigit() and len(text) == 1:
        text = "0" + text
    return text if text in REGIONS else None


def department_code(code: str | None) -> str | None:
    """A department code as §8.2 lists them (`1` reads `01`, `2a` reads `2A`), or None."""
    text = (code or "").strip().upper()
    if text.isdigit() and len(text) == 1:
        text = "0" + text
    return text if text in DEPARTMENT_REGION else None


def department_of_town(code: str | None) -> str | None:
    """The department of a commune or postal code (§8.2, rule 3): `971`-`976`, `2A`/`2B` or a
    postal code `20…` (Corse, read as 2A), else its first two characters."""
    text = (code or "").strip().upper()
    if text[:3] in {"971", "972", "973", "974", "975", "976"}:
        return text[:3]
    if text[:2] in {"2A", "2B", "20"}:
        return "2A"
    return text[:2] if len(text) >= 2 else None


def contract_region(
    buyer_region: str | None,
    buyer_department: str | None,
    place_code: str | None,
    place_type: str | None,
) -> str | None:
    """The region of a contract (§8.2): the buyer's region code, else the region of the
    buyer's department, else the place of execution by its type; None: unattributed."""
    return (
        region_code(buyer_region)
        or department_region(buyer_department)
        or place_region(place_code, place_kind(place_type))
    )


def department_region(code: str | None) -> str | None:
    """The region of a department code (`department_code`), or None."""
    department = department_code(code)
    return DEPARTMENT_REGION[department] if department is not None else None


_PLACE_KINDS = {
    consideration_key(PLACE_REGION): "region",
    consideration_key(PLACE_DEPARTMENT): "department",
    **{consideration_key(kind): "town" for kind in PLACE_TOWN},
}


def place_kind(place_type: str | None) -> str | None:
    """What a place of execution's code is by its `lieuExecution_typeCode`: "region",
    "department" or "town" (a commune or postal code); None for any other type."""
    return _PLACE_KINDS.get(consideration_key(place_type or ""))


def place_region(code: str | None, kind: str | None) -> str | None:
    """The region of a place of execution's code of the kind `place_kind` gives, or None."""
    if kind == "region":
        return region_code(code)
    if kind == "department":
        return department_region(code)
    if kind == "town":
        return DEPARTMENT_REGION.get(department_of_town(code) or "")
    return None


def contract_keys(numbers: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Contract numbers reduced to their letters and digits, upper-cased (§8.3):
    `2024-AO/12 b` is `2024AO12B`. Letters keep their accents (the contract says nothing of
    them), NFC first so that a decomposed accent is one letter; nothing left: null. Vectorised
    (pyarrow), for a national snapshot's 1.5 million numbers and a night's Marchés rows alike:
    one definition, so the two sides of the match never differ."""
    text = pc.cast(numbers, pa.large_string())
    kept = pc.utf8_upper(pc.replace_substring_regex(pc.utf8_normalize(text, "NFC"), _NOT_ALNUM, ""))
    return pc.if_else(pc.equal(kept, ""), None, kept)


def contract_key(number: str | None) -> str | None:
    """`contract_keys` of one number."""
    if number is None:
        return None
    key = contract_keys(pa.array([str(number)], pa.large_string()))[0].as_py()
    return str(key) if key is not None else None
