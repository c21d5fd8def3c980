"""The contracts of the sample's DECP table (contract §8), drawn with numpy and built with Arrow
compute: a million contracts take seconds, never a Python loop per contract or row.

A table of contracts holds one row per contract: the published values of its initial rows
(`uid`, `id`, `acheteur_id`, ...: the names of the national consolidation) and, in columns
whose name starts with `_`, what the snapshots make of it: its holders, its modifications,
the snapshot it first appears in, a correction or a removal in a later snapshot, the defect
that excludes its row. `clauses.sample.snapshots` expands it into the published rows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from clauses.contract import decp
from clauses.contract.kinds import NATURE, REGIONS
from clauses.sample.basics import _strip_accents
from clauses.sample.reference import (
    _BUYER_NAMES,
    _BUYER_TYPE_WEIGHTS,
    _MARKET_OBJETS,
    _REGION_PLAN,
    _TOWNS,
)

log = logging.getLogger(__name__)

# ---- categories, defects, where a contract says its region ---------------------------------

ACCOMPANIED = 0  # a market of the facilitators' Marchés rows
KNOWN_BUYER = 1  # another contract of a buyer met in a Marchés or Contacts row
UNKNOWN_BUYER = 2  # a contract of a buyer no facilitator knows
EXCLUDED = 3  # a row the pipeline must exclude (its `_defect` says why)
CATEGORIES = ("accompanied", "known_buyer", "unknown_buyer", "excluded")

DEFECTS = (
    "",
    "empty_uid",
    "invalid_siret",
    "bad_date",
    "negative_amount",
    "amount_not_a_number",
    "unknown_consideration",
)

# Where the region is read from (§8.2, in that order of precedence).
PLACE_MODES = (
    "buyer_region",  # acheteur_region_code (and the department)
    "buyer_department",  # acheteur_departement_code alone
    "place_region",  # lieuExecution_typeCode Code région
    "place_department",
    "place_commune",
    "place_postal",
    "unattributed",  # nothing
)
_PLACE_WEIGHTS = (0.66, 0.12, 0.04, 0.04, 0.05, 0.04, 0.05)

NEVER = 127  # `_gone`, `_fix`, `_mod*`: no such later snapshot

# ---- the published vocabulary, spelt as real files spell it --------------------------------

_CLAUSE, _CRITERION, _RESERVED, _CONCESSION = decp.SOCIAL_ITEMS
SOCIAL_SPELLINGS = (
    _CLAUSE,
    _CRITERION,
    f"{_CLAUSE}, {_CRITERION}",
    _RESERVED,
    f"{_CLAUSE}|{_RESERVED}",
    _CONCESSION,
    _CLAUSE.lower(),
    _strip_accents(_CRITERION),
    f" {_CLAUSE} ",
    f"{_CLAUSE.upper()},{_CRITERION}",
)
_SOCIAL_WEIGHTS = (50, 18, 10, 8, 3, 1, 4, 2, 2, 2)
NONE_SPELLINGS = (None, decp.NONE_ITEMS[1], decp.NONE_ITEMS[0], "", "pas de consideration sociale")
_NONE_WEIGHTS = (35, 40, 15, 6, 4)
UNKNOWN_ITEMS = ("Clause environnementale", f"{_CLAUSE}, Insertion professionnelle")

# Type de clause of a Marchés row -> the consideration the buyer published
CLAUSE_CONSIDERATION = {
    "Condition d'exécution": _CLAUSE,
    "Critère d'attribution": f"{_CRITERION}, {_CLAUSE}",
    "Marché réservé SIAE": _RESERVED,
    "Marché réservé EA-ESAT": _RESERVED,
    "Marché d'insertion": _CLAUSE,
}

# Columns of the published schema that the pipeline ignores.
_NATURES = ("Marché", "Accord-cadre", "Marché subséquent")  # a dictionary: no value twice
_PROCEDURES = (
    "Procédure adaptée",
    "Appel d'offres ouvert",
    "Procédure avec négociation",
    "Marché passé sans publicité ni mise en concurrence préalable",
)
_CPV = ("45210000-2", "45453000-7", "90910000-9", "77310000-6", "55523100-3", "39160000-1")
_PRICES = ("Ferme", "Révisable", "Actualisable")
_ENVIRONMENT = ("Pas de considération environnementale", "Clause environnementale")
_SOURCES = ("data.gouv.fr_aife", "marches-publics.info", "megalis-bretagne", "atexo-maximilien")

_ALL_TOWNS = tuple(town for towns in _TOWNS.values() for town in towns)
_OBJETS = {
    nature: tuple(dict.fromkeys(t.format(t=town) for t in templates for town in _ALL_TOWNS))
    for nature, templates in _MARKET_OBJETS.items()
}
_OBJET_POOL = pa.array([objet for nature in NATURE for objet in _OBJETS[nature]])
assert len(set(_OBJET_POOL.to_pylist())) == len(_OBJET_POOL)  # a dictionary: no value twice
_HOLDER_TRADES = (
    "Bâtiment",
    "Travaux publics",
    "Propreté",
    "Espaces verts",
    "Restauration collective",
    "Informatique",
    "Électricité",
    "Menuiserie",
    "Transports",
    "Génie climatique",
)
_HOLDER_FORMS = ("SAS", "SARL", "SA", "EURL", "SCOP")

_DEPARTMENTS = np.array(sorted(decp.DEPARTMENT_REGION), dtype=object)


_REGION_DEPARTMENTS: dict[str, list[str]] = {}
for _d in _DEPARTMENTS:
    _REGION_DEPARTMENTS.setdefault(decp.DEPARTMENT_REGION[_d], []).append(_d)


def departments_of(region: str) -> list[str]:
    """The departments of a region (§8.2), in code order."""
    return _REGION_DEPARTMENTS[region]


# ---- identifiers ---------------------------------------------------------------------------


def _check_digit(body: np.ndarray) -> np.ndarray:
    """The Luhn digit that completes each row of a (n, k) matrix of digits."""
    doubled = (np.arange(body.shape[1]) % 2) == ((body.shape[1] - 1) % 2)
    values = body.astype(np.int64)
    values[:, doubled] *= 2
    values = np.where(values > 9, values - 9, values)
    return (10 - values.sum(axis=1) % 10) % 10


_NICS = np.array([list(f"{n:04d}") for n in (1, 2, 11, 12, 15, 24, 35, 41, 57, 112, 203)], int)


def random_sirets(
    rng: np.random.Generator, n: int, avoid: set[str], zero_share: float = 0.0
) -> np.ndarray:
    """`n` distinct valid SIRETs (SIREN and SIRET pass the Luhn check), none in `avoid`; a
    `zero_share` of them start with a 0 (a number column loses it)."""
    taken = np.array(sorted(s for s in avoid if s.isdigit()), dtype="U14").astype(np.int64)
    powers = 10 ** np.arange(13, -1, -1, dtype=np.int64)
    found = np.zeros((0, 14), np.int64)
    while len(found) < n:
        m = n - len(found) + 16
        body = rng.integers(0, 10, size=(m, 8))
        body[:, 0] = rng.integers(1, 10, size=m)
        body[rng.random(m) < zero_share, 0] = 0
        siren = np.column_stack([body, _check_digit(body)])
        head = np.column_stack([siren, _NICS[rng.integers(0, len(_NICS), size=m)]])
        digits = np.vstack([found, np.column_stack([head, _check_digit(head)])])
        values = digits @ powers
        _, first = np.unique(values, return_index=True)
        keep = np.sort(first)
        keep = keep[~np.isin(values[keep], taken)]
        found = digits[keep]
    text = (found[:n].astype(np.uint8) + ord("0")).copy()
    return text.view("S14").ravel().astype("U14")


def new_buyers(rng: np.random.Generator, n: int, avoid: set[str]) -> pa.Table:
    """`n` buyers unknown to the world (`siret`, `name`, `region`, `dept`), spread over the
    regions as the facilitators are, each region at least a little."""
    regions = sorted(REGIONS)
    region = np.array(regions)[
        rng.choice(len(regions), size=n, p=shares([_REGION_PLAN[r][0] + 3 for r in regions]))
    ]
    kinds = rng.choice(len(_BUYER_TYPE_WEIGHTS), size=n, p=shares(_BUYER_TYPE_WEIGHTS))
    names = list(_BUYER_NAMES.values())
    k = rng.integers(0, 1000, n)
    towns = [_TOWNS[r][i % len(_TOWNS[r])] for r, i in zip(region, k, strict=True)]
    depts = [departments_of(r)[i % len(departments_of(r))] for r, i in zip(region, k, strict=True)]
    return pa.table(
        {
            "siret": pa.array(random_sirets(rng, n, avoid, zero_share=0.05), pa.string()),
            "name": [f"{names[t]} {town}" for t, town in zip(kinds, towns, strict=True)],
            "region": pa.array(region, pa.string()),
            "dept": pa.array(depts, pa.string()),
        }
    )


def holder_pool(rng: np.random.Generator, n: int, avoid: set[str]) -> pa.Table:
    """`n` companies that hold contracts: `siret`, `name`."""
    sirets = random_sirets(rng, n, avoid, zero_share=0.03)
    trades = pa.array(_HOLDER_TRADES).take(pa.array(rng.integers(0, len(_HOLDER_TRADES), n)))
    towns = pa.array(_ALL_TOWNS).take(pa.array(rng.integers(0, len(_ALL_TOWNS), n)))
    forms = pa.array(_HOLDER_FORMS).take(pa.array(rng.integers(0, len(_HOLDER_FORMS), n)))
    names = pc.dictionary_encode(pc.binary_join_element_wise(trades, towns, forms, " "))
    return pa.table({"siret": pa.array(sirets, pa.string()), "name": names})


# ---- contracts -----------------------------------------------------------------------------


@dataclass
class Core:
    """What defines a contract before the snapshots: its buyer, number and initial values."""

    buyer: np.ndarray  # index into the buyers table
    ids: pa.Array  # `id` as published
    dates: np.ndarray  # datetime64[D]
    montant: np.ndarray  # euros
    social: pa.Array  # `considerationsSociales` as published
    types: np.ndarray  # index into NATURE
    category: np.ndarray
    respelled: np.ndarray  # bool: `id` spelt otherwise than the Marchés row's N° marché
    objet: pa.Array | None = None  # drawn when None


@dataclass
class Timing:
    """The snapshots a set of contracts is published in."""

    receipts: np.ndarray  # datetime64[D], ascending
    appear_at: int | None = None  # every contract first appears in this snapshot
    late_share: float = 0.03  # published many months after notification
    junk_share: float = 0.0
    fix_share: float = 0.0
    gone_share: float = 0.0


def draw_core(
    rng: np.random.Generator,
    n: int,
    *,
    first_seq: int,
    buyer_p: np.ndarray,
    known: np.ndarray,
    start: np.datetime64,
    end: np.datetime64,
) -> Core:
    """`n` contracts of buyers drawn with probabilities `buyer_p` (one per buyer; `known`:
    the buyer is met in a facilitator's row), notified between `start` and `end`, numbered
    from `first_seq` in forms whose letters and digits are never a facilitator's N° marché."""
    buyer = rng.choice(len(buyer_p), size=n, p=buyer_p)
    category = np.where(known[buyer], KNOWN_BUYER, UNKNOWN_BUYER)
    dates = start + rng.integers(0, int((end - start).astype(int)), size=n).astype("m8[D]")
    types = rng.choice(len(NATURE), size=n, p=(0.45, 0.40, 0.15))
    small = rng.random(n) < 0.15
    montant = np.where(
        small,
        rng.uniform(500, 40_000, n),
        rng.lognormal(np.log(150_000), 1.25, n) * np.where(types == 0, 1.8, 1.0),
    ).round(2)
    social_p = np.where(small, 0.04, np.where(category == KNOWN_BUYER, 0.24, 0.16))
    social = draw_considerations(rng, rng.random(n) < social_p)
    years = dates.astype("datetime64[Y]").astype(int) + 1970
    year = pc.cast(pa.array(years), pa.string())
    seq = pc.utf8_lpad(pc.cast(pa.array(np.arange(first_seq, first_seq + n)), pa.string()), 7, "0")
    short = pc.utf8_slice_codeunits(year, 2, 4)
    ids = pc.choose(
        pa.array(rng.choice(3, size=n, p=(0.5, 0.3, 0.2)).astype(np.int8)),
        pc.binary_join_element_wise(year, seq, ""),
        pc.binary_join_element_wise("AO", short, seq, "-"),
        pc.binary_join_element_wise(pc.binary_join_element_wise("MP", year, ""), seq, "/"),
    )
    return Core(buyer, ids, dates, montant, social, types, category, np.zeros(n, bool))


def draw_considerations(rng: np.random.Generator, social: np.ndarray) -> pa.Array:
    """`considerationsSociales` as published: one of the social spellings where `social`, one
    of the spellings of none elsewhere."""
    n = len(social)
    yes = pa.array(SOCIAL_SPELLINGS).take(
        pa.array(rng.choice(len(SOCIAL_SPELLINGS), size=n, p=shares(_SOCIAL_WEIGHTS)))
    )
    no = pa.array(NONE_SPELLINGS, pa.string()).take(
        pa.array(rng.choice(len(NONE_SPELLINGS), size=n, p=shares(_NONE_WEIGHTS)))
    )
    return pc.if_else(pa.array(social), yes, no)


def shares(weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """Weights as probabilities (summing to 1)."""
    w = np.asarray(weights, dtype=float)
    return w / w.sum()


def _pick(rng: np.random.Generator, values: tuple[str, ...], n: int) -> pa.Array:
    indices = pa.array(rng.integers(0, len(values), n).astype(np.int32))
    assert len(set(values)) == len(values)  # a repeated dictionary value writes unstable bytes
    return pa.DictionaryArray.from_arrays(indices, pa.array(values))


def _places(
    rng: np.random.Generator, mode: np.ndarray, buyer_dept: pa.Array
) -> dict[str, pa.Array]:
    """The four region columns of each contract by its place mode (PLACE_MODES)."""
    n = len(mode)
    elsewhere = pa.array(_DEPARTMENTS[rng.integers(0, len(_DEPARTMENTS), n)], pa.string())
    dept = pc.if_else(pa.array(rng.random(n) < 0.15), elsewhere, buyer_dept)
    regions = pa.array([decp.DEPARTMENT_REGION[d] for d in _DEPARTMENTS])
    place_region = regions.take(pc.index_in(dept, value_set=pa.array(_DEPARTMENTS, pa.string())))
    number = pc.cast(pa.array(rng.integers(1, 600, n)), pa.string())
    three = pc.equal(pc.utf8_length(dept), 3)
    commune = pc.binary_join_element_wise(
        dept, pc.if_else(three, pc.utf8_lpad(number, 2, "0"), pc.utf8_lpad(number, 3, "0")), ""
    )
    commune = pc.if_else(three, pc.utf8_slice_codeunits(commune, 0, 5), commune)
    corsica = pc.is_in(dept, value_set=pa.array(["2A", "2B"]))
    postal = pc.if_else(
        corsica, pc.binary_join_element_wise("20", pc.utf8_lpad(number, 3, "0"), ""), commune
    )
    postal = pc.if_else(three, pc.binary_join_element_wise(dept, "00", ""), postal)
    postal = pc.utf8_slice_codeunits(postal, 0, 5)
    selector = pa.array(np.minimum(mode, 5).astype(np.int8))
    code = pc.choose(selector, commune, commune, place_region, dept, commune, postal)
    types = (decp.PLACE_TOWN[0], decp.PLACE_REGION, decp.PLACE_DEPARTMENT, decp.PLACE_TOWN[1])
    which = np.array([0, 0, 1, 2, 0, 3, 0], np.int32)[mode]  # the buyer's modes say a commune
    nowhere = mode == PLACE_MODES.index("unattributed")
    return {
        "lieuExecution_code": pc.if_else(pa.array(nowhere), pa.scalar(None, pa.string()), code),
        "lieuExecution_typeCode": pa.DictionaryArray.from_arrays(
            pa.array(which, mask=nowhere), pa.array(types)
        ),
    }


def contracts_table(
    rng: np.random.Generator, core: Core, buyers: pa.Table, holders: int, timing: Timing
) -> pa.Table:
    """The table of contracts (module docstring) of `core`, published as `timing` says, their
    holders drawn from a pool of `holders` companies."""
    n = len(core.buyer)
    take = pa.array(core.buyer)
    sirets = buyers.column("siret").take(take)
    mode = rng.choice(len(PLACE_MODES), size=n, p=_PLACE_WEIGHTS)
    dept = buyers.column("dept").take(take)
    region = buyers.column("region").take(take)
    null = pa.nulls(n, pa.string())
    with_region = pa.array(mode == 0)
    with_dept = pa.array(mode <= 1)
    receipts = timing.receipts
    lag = np.where(
        rng.random(n) < timing.late_share, rng.integers(150, 400, n), rng.integers(10, 76, n)
    ).astype("m8[D]")
    if timing.appear_at is None:
        appear = np.searchsorted(receipts, core.dates + lag, side="left")
    else:
        appear = np.full(n, timing.appear_at)
    mods = rng.choice(3, size=n, p=(0.88, 0.09, 0.03))
    first = core.dates + rng.integers(60, 400, n).astype("m8[D]")
    second = first + rng.integers(30, 300, n).astype("m8[D]")
    mod1 = np.maximum(np.searchsorted(receipts, first, side="left"), appear)
    mod2 = np.maximum(np.searchsorted(receipts, second, side="left"), mod1)
    mod1 = np.where(mods >= 1, mod1, NEVER)
    mod2 = np.where(mods >= 2, mod2, NEVER)
    holders_n = rng.choice((1, 2, 3), size=n, p=(0.86, 0.10, 0.04))
    junk = rng.random(n) < timing.junk_share
    defect = np.where(junk, rng.integers(1, len(DEFECTS), n), 0)
    category = np.where(junk, EXCLUDED, core.category)
    holders_n[junk], mod1[junk], mod2[junk] = 1, NEVER, NEVER
    fixed = (rng.random(n) < timing.fix_share) & ~junk
    fix = np.where(fixed, appear + rng.integers(1, 4, n), NEVER)
    wrong_amount = fixed & (rng.random(n) < 0.5)
    gone = np.where(
        (rng.random(n) < timing.gone_share) & ~junk, appear + rng.integers(1, 4, n), NEVER
    )
    if core.objet is None:
        counts = np.array([len(_OBJETS[nature]) for nature in NATURE])
        starts = np.cumsum(counts) - counts
        picked = starts[core.types] + (rng.random(n) * counts[core.types]).astype(np.int64)
        objet = pa.DictionaryArray.from_arrays(pa.array(picked.astype(np.int32)), _OBJET_POOL)
    else:
        objet = core.objet
    offers = pa.array(rng.integers(1, 13, n).astype(np.int16), mask=rng.random(n) < 0.1)
    published = _spoilt(
        defect,
        uid=pc.binary_join_element_wise(sirets, core.ids, ""),
        siret=sirets,
        montant=core.montant,
        social=core.social,
    )
    social_before = pc.if_else(
        pa.array(fixed & ~wrong_amount), pa.scalar(""), published["considerationsSociales"]
    )
    montant = published["montant"]
    columns: dict[str, pa.Array] = {
        "uid": published["uid"],
        "id": core.ids,
        "nature": _pick(rng, _NATURES, n),
        "acheteur_id": published["acheteur_id"],
        "acheteur_nom": buyers.column("name").take(take),
        "acheteur_region_code": pc.if_else(with_region, region, null),
        "acheteur_departement_code": pc.if_else(with_dept, dept, null),
        "objet": objet,
        "codeCPV": _pick(rng, _CPV, n),
        "procedure": _pick(rng, _PROCEDURES, n),
        "dureeMois": pa.array(rng.integers(1, 49, n).astype(np.int16)),
        "dateNotification": pa.array(core.dates, pa.date32()),
        "montant": pa.array(montant, from_pandas=True),
        "formePrix": _pick(rng, _PRICES, n),
        "offresRecues": offers,
        "considerationsSociales": published["considerationsSociales"],
        "considerationsEnvironnementales": _pick(rng, _ENVIRONMENT, n),
        "type": pa.DictionaryArray.from_arrays(
            pa.array(core.types.astype(np.int32)), pa.array(NATURE)
        ),
        "source": _pick(rng, _SOURCES, n),
        **_places(rng, mode, dept),
        "_category": pa.array(category.astype(np.int8)),
        "_defect": pa.array(defect.astype(np.int8)),
        "_respelled": pa.array(core.respelled),
        "_place": pa.array(mode.astype(np.int8)),
        "_type": pa.array(core.types.astype(np.int8)),
        "_holders": pa.array(holders_n.astype(np.int8)),
        "_holder0": pa.array(rng.integers(0, max(1, holders - 3), n).astype(np.int32)),
        "_mod1": pa.array(np.minimum(mod1, NEVER).astype(np.int8)),
        "_mod2": pa.array(np.minimum(mod2, NEVER).astype(np.int8)),
        "_mod_step": pa.array(rng.uniform(0.03, 0.2, n).round(3)),
        "_appear": pa.array(np.minimum(appear, NEVER).astype(np.int8)),
        "_gone": pa.array(np.minimum(gone, NEVER).astype(np.int8)),
        "_fix": pa.array(np.minimum(fix, NEVER).astype(np.int8)),
        "_montant_before": pa.array(
            np.where(wrong_amount, montant * 10, montant), from_pandas=True
        ),
        "_social_before": social_before,
    }
    for name in DICTIONARY_COLUMNS:  # few distinct values: cheap to expand, to write
        if not pa.types.is_dictionary(columns[name].type):
            columns[name] = pc.dictionary_encode(columns[name])
    return pa.table(columns)


# Published columns of few distinct values, held as dictionary arrays.
DICTIONARY_COLUMNS = (
    "nature",
    "acheteur_nom",
    "acheteur_region_code",
    "acheteur_departement_code",
    "objet",
    "codeCPV",
    "procedure",
    "formePrix",
    "considerationsEnvironnementales",
    "type",
    "source",
    "lieuExecution_typeCode",
)


def _spoilt(
    defect: np.ndarray, *, uid: pa.Array, siret: pa.Array, montant: np.ndarray, social: pa.Array
) -> dict[str, pa.Array]:
    """The published values of the contracts drawn to be excluded, each spoilt in its own way
    (DEFECTS; a bad date is spoilt when written, as the snapshot's style allows); `montant`
    comes back as numpy, NaN where it is not a number."""

    def is_(name: str) -> np.ndarray:
        return defect == DEFECTS.index(name)

    n = len(defect)
    last = pc.cast(pc.utf8_slice_codeunits(siret, 13, 14), pa.int64()).to_numpy()
    wrong = pc.binary_join_element_wise(  # one digit off: the Luhn check fails
        pc.utf8_slice_codeunits(siret, 0, 13), pc.cast(pa.array((last + 1) % 10), pa.string()), ""
    )
    unknown = pa.array(UNKNOWN_ITEMS).take(pa.array(np.arange(n) % len(UNKNOWN_ITEMS)))
    amount = np.where(is_("negative_amount"), -montant, montant)
    return {
        "uid": pc.if_else(pa.array(is_("empty_uid")), pa.scalar(""), uid),
        "acheteur_id": pc.if_else(pa.array(is_("invalid_siret")), wrong, siret),
        "montant": np.where(is_("amount_not_a_number"), np.nan, amount),
        "considerationsSociales": pc.if_else(
            pa.array(is_("unknown_consideration")), unknown, social
        ),
    }
