"""Typing of the text tables `clauses.reading` returns (contract §2-3).

`normalize` turns every contract column into its typed value, keeps the original text next to it
for reports, and marks the values that do not fit their type. It decides nothing else: ranges,
required values and cross-column rules are validation's job.

Parsing is done once per distinct value (columns repeat a lot: months, SIRETs, enumerations),
with pandas string operations on those distinct values, then spread back to the rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import numpy as np
import pandas as pd

from clauses.contract import KINDS, REGIONS, ColType, Column, Kind, fold
from clauses.identifiers import normalize_siret, pseudonymize, siret_is_valid
from clauses.reading import ROW_COLUMN, SheetTable

log = logging.getLogger(__name__)

RAW_SUFFIX = "__raw"
ERR_SUFFIX = "__err"
MASK = "***"
DUPLICATE_COLUMN = "_duplicate"
DATE_MONTH_COLUMN = "_date_mois"
FOLDER_REGION_COLUMN = "_region"
FILE_COLUMN = "_file"  # which file of a batch a row comes from

# The date column whose month is compared with `Mois`, per kind.
_DATE_OF_MONTH: dict[Kind, str] = {
    Kind.CONTACTS: "date_contact",
    Kind.PARTENARIATS: "date_partenariat",
}

_SPACES = "[ \u00a0\u202f]"
# Sign, integer part (digits, or groups of three separated by a space, a no-break space or a
# narrow no-break space), optional decimal part after a comma or a point.
_NUMBER = re.compile(rf"^([+-]?)(\d{{1,3}}(?:{_SPACES}\d{{3}})+|\d+)(?:[.,](\d+))?$")
_EURO_SUFFIX = re.compile(r"\s*€$")
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?"
_DATE_FR = re.compile(rf"^(\d{{1,2}})/(\d{{1,2}})/(\d{{4}}){_TIME}$")
_DATE_ISO = re.compile(rf"^(\d{{4}})-(\d{{1,2}})-(\d{{1,2}}){_TIME}$")
_MONTH_ISO = re.compile(r"^(\d{4})-(\d{1,2})$")
_MONTH_FR = re.compile(r"^(\d{1,2})/(\d{4})$")
_REGION = re.compile(r"^(\d{1,2})(?:[.,]0+)?$")
_LEGAL_CATEGORY = re.compile(r"^(\d{4})(?:[.,]0+)?$")
_LIST_SEPARATORS = re.compile(r"[|,]")
_INT64_LIMIT = 2**63 - 1

Parser = Callable[[pd.Series], pd.Series]


# --------------------------------------------------------------------------------------------
# Per distinct value
# --------------------------------------------------------------------------------------------


def _distinct_text(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(codes, distinct): ``distinct`` holds the stripped, non-blank texts (RangeIndex) and
    ``codes`` the position of each row's text in it, -1 when missing or blank."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    distinct = pd.Series(
        [u if isinstance(u, str) else str(u) for u in uniques], dtype=object
    ).str.strip()
    blank = (distinct == "").to_numpy(dtype=bool)
    if blank.any():
        # Renumber so that blank texts count as missing.
        keep = np.flatnonzero(~blank)
        renumber = np.full(len(distinct) + 1, -1, dtype=np.int64)
        renumber[keep] = np.arange(len(keep))
        codes = renumber[codes]
        distinct = distinct.iloc[keep].reset_index(drop=True)
    return codes, distinct


def _spread(parsed: pd.Series, codes: np.ndarray, dtype: str) -> pd.Series:
    """Row values from per-distinct values: row i gets ``parsed[codes[i]]``, missing for -1."""
    if dtype == "object":
        source = np.empty(len(parsed) + 1, dtype=object)
        source[:-1] = parsed.to_numpy(dtype=object)
        source[-1] = None
        return pd.Series(source[codes], dtype=object)
    if dtype == "float64":
        source = np.append(parsed.to_numpy(dtype="float64", na_value=np.nan), np.nan)
        return pd.Series(source[codes], dtype="float64")
    return pd.Series(pd.array(parsed, dtype=dtype).take(codes, allow_fill=True), dtype=dtype)


def _per_unique(values: pd.Series, parse: Parser, dtype: str) -> pd.Series:
    """Apply ``parse`` to the distinct stripped non-blank texts of ``values`` only and spread
    the result back to the rows (index of ``values``)."""
    codes, distinct = _distinct_text(values)
    parsed = parse(distinct) if len(distinct) else pd.Series([], dtype=dtype)
    result = _spread(parsed, codes, dtype)
    result.index = values.index
    return result


# --------------------------------------------------------------------------------------------
# Parsers of distinct texts (stripped, non-blank, RangeIndex) -> typed values, missing if invalid
# --------------------------------------------------------------------------------------------


def _number_parts(distinct: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(ok, canonical "-1234.5" text, decimal part or NaN) of each text."""
    parts = distinct.str.extract(_NUMBER)
    ok = parts[1].notna()
    integer = parts[1].str.replace(_SPACES, "", regex=True)
    fraction = ("." + parts[2]).fillna("")
    canonical = (parts[0].fillna("") + integer + fraction).where(ok, None)
    return ok, canonical, parts[2]


def _numbers(distinct: pd.Series) -> pd.Series:
    ok, canonical, _ = _number_parts(distinct)
    result = pd.Series(np.nan, index=distinct.index, dtype="float64")
    if ok.any():
        numbers = canonical[ok].astype("float64")
        result[ok] = numbers.where(np.isfinite(numbers), np.nan)
    return result


def _to_cents(text: str) -> int | None:
    try:
        cents = (Decimal(text) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return None
    return int(cents) if abs(cents) <= _INT64_LIMIT else None


def _amounts(distinct: pd.Series) -> pd.Series:
    ok, canonical, _ = _number_parts(distinct.str.replace(_EURO_SUFFIX, "", regex=True))
    cents = [_to_cents(t) if good else None for t, good in zip(canonical, ok, strict=True)]
    return pd.Series(pd.array(cents, dtype="Int64"))


def _integers(distinct: pd.Series) -> pd.Series:
    ok, canonical, fraction = _number_parts(distinct)
    whole = ok & (fraction.isna() | fraction.str.fullmatch("0+").fillna(False).astype(bool))
    result: list[int | None] = []
    for text, good in zip(canonical, whole, strict=True):
        number = int(text.split(".")[0]) if good else None
        result.append(number if number is not None and abs(number) <= _INT64_LIMIT else None)
    return pd.Series(pd.array(result, dtype="Int64"))


# The years a date or a month may have: the warehouse calendar (dim_date) covers them, and a
# year outside is a typing error (0202, 20224) that must block the file, not vanish later.
YEARS = range(1990, 2101)


def _make_date(y: object, m: object, d: object) -> dt.date | None:
    if not isinstance(y, str) or not isinstance(m, str) or not isinstance(d, str):
        return None
    if int(y) not in YEARS:
        return None
    try:
        return dt.date(int(y), int(m), int(d))
    except ValueError:
        return None


def _dates(distinct: pd.Series) -> pd.Series:
    french = distinct.str.extract(_DATE_FR)
    iso = distinct.str.extract(_DATE_ISO)
    years = french[2].fillna(iso[0])
    months = french[1].fillna(iso[1])
    days = french[0].fillna(iso[2])
    return pd.Series(
        [_make_date(y, m, d) for y, m, d in zip(years, months, days, strict=True)], dtype=object
    )


def _months(distinct: pd.Series) -> pd.Series:
    iso = distinct.str.extract(_MONTH_ISO)
    french = distinct.str.extract(_MONTH_FR)
    years, months = iso[0].fillna(french[1]), iso[1].fillna(french[0])
    dates = _dates(distinct)
    result: list[str | None] = []
    for y, m, date in zip(years, months, dates, strict=True):
        if isinstance(y, str) and isinstance(m, str) and 1 <= int(m) <= 12 and int(y) in YEARS:
            result.append(f"{int(y):04d}-{int(m):02d}")
        elif date is not None:
            result.append(f"{date.year:04d}-{date.month:02d}")
        else:
            result.append(None)
    return pd.Series(result, dtype=object)


def _enum_key(text: str) -> str:
    # Typographic apostrophes, as spreadsheets autocorrect them, count as straight ones.
    return fold(text).replace("\u2019", "'").replace("\u2018", "'").replace("\u02bc", "'")


def _enum_parser(choices: tuple[str, ...]) -> Parser:
    canonical = {_enum_key(c): c for c in choices}

    def parse(distinct: pd.Series) -> pd.Series:
        return pd.Series([canonical.get(_enum_key(v)) for v in distinct], dtype=object)

    return parse


def _enum_list_parser(choices: tuple[str, ...]) -> Parser:
    canonical = {_enum_key(c): c for c in choices}
    order = {c: i for i, c in enumerate(choices)}

    def one(text: str) -> str | None:
        items = [i for i in (_enum_key(p) for p in _LIST_SEPARATORS.split(text)) if i]
        found = [canonical.get(i) for i in items]
        if not found or any(f is None for f in found):
            return None
        return "|".join(sorted({f for f in found if f}, key=order.__getitem__))

    def parse(distinct: pd.Series) -> pd.Series:
        return pd.Series([one(v) for v in distinct], dtype=object)

    return parse


def _regions(distinct: pd.Series) -> pd.Series:
    code = distinct.str.extract(_REGION, expand=False).str.zfill(2)
    return code.where(code.isin(list(REGIONS)), None).astype(object)


def _legal_categories(distinct: pd.Series) -> pd.Series:
    code = distinct.str.extract(_LEGAL_CATEGORY, expand=False)
    return code.astype(object).where(code.notna(), None)


def _sirets(distinct: pd.Series) -> pd.Series:
    normalized = normalize_siret(distinct)
    return normalized.where(siret_is_valid(normalized), None).astype(object)


def _text_parser(max_length: int | None) -> Parser:
    def parse(distinct: pd.Series) -> pd.Series:
        if max_length is None:
            return distinct
        return distinct.where(distinct.str.len() <= max_length, None).astype(object)

    return parse


def _parser(column: Column) -> tuple[Parser, str]:
    """The parser of distinct texts for ``column`` and the dtype of its values."""
    kind = column.type
    simple: dict[ColType, tuple[Parser, str]] = {
        ColType.SIRET: (_sirets, "object"),
        ColType.MONTH: (_months, "object"),
        ColType.DATE: (_dates, "object"),
        ColType.NUMBER: (_numbers, "float64"),
        ColType.INTEGER: (_integers, "Int64"),
        ColType.AMOUNT: (_amounts, "Int64"),
        ColType.REGION: (_regions, "object"),
        ColType.LEGAL_CATEGORY: (_legal_categories, "object"),
    }
    if kind in simple:
        return simple[kind]
    if kind is ColType.TEXT:
        return _text_parser(column.max_length), "object"
    if kind is ColType.ENUM:
        return _enum_parser(column.enum), "object"
    if kind is ColType.ENUM_LIST:
        return _enum_list_parser(column.enum), "object"
    raise ValueError(f"no parser for column type {kind!r}")  # PARTICIPANT is not parsed


# --------------------------------------------------------------------------------------------
# Public parsers (Series of text -> Series of values; missing, blank or invalid -> missing)
# --------------------------------------------------------------------------------------------


def parse_number(values: pd.Series) -> pd.Series:
    """Numbers written the contract way (§3) as float64; NaN when missing or not a number.

    Accepted: an optional sign, digits with groups of three separated by a space, a no-break
    space or a narrow no-break space, an optional decimal part after a comma or a point
    ("1 234,50", "1234.5", "1 234", "-0,5"). Not accepted: exponents, other thousands
    separators ("1.234,5"), units, groups of other than three digits ("12 34").
    """
    return _per_unique(values, _numbers, "float64")


def parse_amount_cents(values: pd.Series) -> pd.Series:
    """Euro amounts as integer cents (Int64), rounded half up (away from zero) from the exact
    decimal text, never through a float. Same forms as :func:`parse_number`, with an optional
    trailing "€" ("1 234,505 €" gives 123451). Missing or invalid: <NA>."""
    return _per_unique(values, _amounts, "Int64")


def parse_integer(values: pd.Series) -> pd.Series:
    """Whole numbers (Int64): "2024", "2024.0", "2 024"; <NA> when missing, not a number or
    not whole ("2024.5")."""
    return _per_unique(values, _integers, "Int64")


def parse_date(values: pd.Series) -> pd.Series:
    """Dates as ``datetime.date`` (object dtype); None when missing or not a real date.

    Accepted: "JJ/MM/AAAA" and "AAAA-MM-JJ" (day and month on one or two digits), each
    optionally followed by a time ("AAAA-MM-JJ HH:MM:SS", as Excel writes date-times), which is
    ignored.
    """
    return _per_unique(values, _dates, "object")


def parse_month(values: pd.Series) -> pd.Series:
    """Months as "AAAA-MM" text; None when missing or invalid.

    Accepted: "AAAA-MM", "MM/AAAA" (month on one or two digits), or a date in a form
    :func:`parse_date` accepts, whose month is taken.
    """
    return _per_unique(values, _months, "object")


def parse_enum(values: pd.Series, choices: tuple[str, ...]) -> pd.Series:
    """The canonical spelling in ``choices`` of each value, compared without case, accents,
    surrounding spaces or apostrophe style ("cdi", " CDI ", "Interim" -> "CDI", "CDI",
    "Intérim"); None when it matches none."""
    return _per_unique(values, _enum_parser(choices), "object")


def parse_enum_list(values: pd.Series, choices: tuple[str, ...]) -> pd.Series:
    """Lists of ``choices`` separated by "|" or ",", each item matched as :func:`parse_enum`
    does, returned joined by "|" in the order of ``choices``, without repeats ("brsa, DELD" ->
    "DELD|BRSA"); empty items are skipped. None when an item is unknown or there is none."""
    return _per_unique(values, _enum_list_parser(choices), "object")


def parse_region(values: pd.Series) -> pd.Series:
    """INSEE region codes on two characters ("1" or "1.0" -> "01"); None if not one of the 18."""
    return _per_unique(values, _regions, "object")


def parse_legal_category(values: pd.Series) -> pd.Series:
    """INSEE legal categories: 4 digits ("7210", or "7210.0" from a number cell); else None."""
    return _per_unique(values, _legal_categories, "object")


def parse_siret(values: pd.Series) -> pd.Series:
    """Valid SIRETs as 14-digit text, after :func:`clauses.identifiers.normalize_siret`;
    None when missing or invalid."""
    return _per_unique(values, _sirets, "object")


def month_of(dates: pd.Series) -> pd.Series:
    """ "AAAA-MM" of each ``datetime.date``; None where there is no date. Index kept."""
    return pd.Series(
        [f"{d.year:04d}-{d.month:02d}" if isinstance(d, dt.date) else None for d in dates],
        index=dates.index,
        dtype=object,
    )


# --------------------------------------------------------------------------------------------
# normalize
# --------------------------------------------------------------------------------------------


def _typed_column(
    column: Column, values: pd.Series | None, n_rows: int, pseudonym_key: bytes
) -> tuple[pd.Series, pd.Series, pd.Series, np.ndarray]:
    """(value, raw, err, duplicate-key codes) of one contract column, per row."""
    if values is None:
        codes = np.full(n_rows, -1, dtype=np.int64)
        distinct = pd.Series([], dtype=object)
    else:
        codes, distinct = _distinct_text(values)
    if column.type is ColType.PARTICIPANT:
        hashed = pseudonymize(distinct, pseudonym_key)
        limit = column.max_length
        too_long = np.zeros(len(distinct), dtype=bool)
        if limit is not None and len(distinct):
            too_long = (distinct.str.len() > limit).to_numpy(dtype=bool)
        value_d = hashed.where(~too_long, None).astype(object)
        raw_d = pd.Series([MASK] * len(distinct), dtype=object)
        message = f"identifiant de plus de {limit} caractères"
        err_d = pd.Series([message if t else None for t in too_long], dtype=object)
        key_d = hashed
        dtype = "object"
    else:
        parse, dtype = _parser(column)
        value_d = parse(distinct) if len(distinct) else pd.Series([], dtype=dtype)
        invalid = value_d.isna().to_numpy(dtype=bool)
        raw_d = distinct
        err_d = distinct.where(invalid, None).astype(object)
        # Valid values compare by typed value; invalid ones by their text.
        key_d = (
            pd.Series(
                np.where(invalid, "\x00" + distinct.astype(object), value_d.astype(object)),
                dtype=object,
            )
            if len(distinct)
            else pd.Series([], dtype=object)
        )
    key_codes_d, _ = pd.factorize(key_d, use_na_sentinel=True)
    key_codes = np.append(key_codes_d, -1)[codes]
    return (
        _spread(value_d, codes, dtype),
        _spread(raw_d, codes, "object"),
        _spread(err_d, codes, "object"),
        key_codes,
    )


def normalize(
    table: SheetTable, *, pseudonym_key: bytes, region: str | None = None
) -> pd.DataFrame:
    """Type every contract column of ``table`` (contract §2-3).

    The result has a RangeIndex, the column ``_row`` (int64), and for every contract column of
    the kind, in contract order, whether present in the file or not:
    - ``<name>``: the typed value (see ColType; missing or invalid: None / NaN / <NA>);
    - ``<name>__raw``: the original text, None when empty; for the participant id, "***"
      when present (the id itself is never copied);
    - ``<name>__err``: the original text when present but not valid for its type, enumeration
      or format, else None; for the participant id, a French message, never the id.
    Then derived columns: ``_date_mois`` ("AAAA-MM" of the date, Contacts and Partenariats);
    ``_duplicate`` (bool: the row equals an earlier row in every contract column, comparing
    typed values, and original texts where invalid; missing values equal each other);
    ``_region`` (the ``region`` given, when given: the folder the file was found in).
    When the table holds a ``_file`` column (the rows of several files, as clauses.ingest
    batches them), it is kept, and rows are duplicates only within the same ``_file``.
    Ranges, required values and cross-column rules are not checked here.
    """
    if not pseudonym_key:
        raise ValueError("clé de pseudonymisation vide : configurez une clé secrète")
    if region is not None and region not in REGIONS:
        raise ValueError(f"code région inconnu : {region!r} (un des 18 codes INSEE attendu)")
    spec = KINDS[table.kind]
    source = table.frame.reset_index(drop=True)
    n_rows = len(source)
    out: dict[str, pd.Series] = {ROW_COLUMN: source[ROW_COLUMN].astype("int64")}
    keys: list[np.ndarray] = []
    for column in spec.columns:
        values = source[column.name] if column.name in source else None
        value, raw, err, key_codes = _typed_column(column, values, n_rows, pseudonym_key)
        out[column.name] = value
        out[column.name + RAW_SUFFIX] = raw
        out[column.name + ERR_SUFFIX] = err
        keys.append(key_codes)
    if FILE_COLUMN in source:  # tables of several files normalised together (clauses.ingest)
        out[FILE_COLUMN] = source[FILE_COLUMN].astype("int64")
        keys.append(out[FILE_COLUMN].to_numpy())
    date_column = _DATE_OF_MONTH.get(table.kind)
    if date_column is not None:
        out[DATE_MONTH_COLUMN] = month_of(out[date_column])
    if n_rows:
        matrix = pd.DataFrame(np.column_stack(keys))
        duplicate = pd.Series(matrix.duplicated(keep="first").to_numpy(dtype=bool), dtype=bool)
    else:
        duplicate = pd.Series([], dtype=bool)
    out[DUPLICATE_COLUMN] = duplicate
    if region is not None:
        out[FOLDER_REGION_COLUMN] = pd.Series([region] * n_rows, dtype=object)
    result = pd.DataFrame(out)
    log.debug(
        "normalized %s: %d rows, %d invalid values, %d duplicates",
        table.kind.value,
        n_rows,
        sum(int(result[c.name + ERR_SUFFIX].notna().sum()) for c in spec.columns),
        int(duplicate.sum()),
    )
    return result
