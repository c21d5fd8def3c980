"""Identifiers: SIRET normalisation and checking, participant pseudonymisation (contract §3).

The SIRET functions are vectorised with numpy: a 300 000-row table is checked without a Python
loop per row.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

SIRET_LENGTH = 14
SIREN_LENGTH = 9
LA_POSTE_SIREN = "356000000"

# Spaces a spreadsheet or a user may leave inside a SIRET: any whitespace, including the no-break
# space (U+00A0) and the narrow no-break space (U+202F).
_SPACES = r"[\s\u00a0\u202f\u2007]+"
# 1 to 14 digits, optionally followed by a zero decimal part: what is left of a SIRET stored
# as a number (12345678901234.0), or saved as text from one, having lost any count of leading
# zeros (contract 1.2, §3: `97715717415` is `00097715717415`).
_SIRET_LIKE = r"^(\d{1,14})(?:[.,]0*)?$"


def _as_text(values: pd.Series) -> pd.Series:
    """Object Series where every non-missing value is a str (numbers are converted with str())."""
    array = values.to_numpy(dtype=object, copy=True)
    present = pd.notna(array)
    array[~present] = None
    if present.any():
        array[present] = [v if isinstance(v, str) else str(v) for v in array[present]]
    return pd.Series(array, index=values.index, dtype=object)


def normalize_siret(values: pd.Series) -> pd.Series:
    """Normalise SIRETs to 14-digit strings (contract §3).

    Guarantees, for each value:
    - spaces (including no-break and narrow no-break spaces) are removed;
    - 1 to 14 digits, optionally followed by a zero decimal part (``"12345678901234.0"``, or a
      number that lost any count of its leading zeros) become the 14-digit string, left-padded
      with zeros (contract 1.2, §3), and are then checked like any other;
    - anything else is returned unchanged (the original value, so a report can quote it);
    - a missing value stays missing (None).
    The result has the same index as ``values`` and dtype object.
    """
    text = _as_text(values)
    result = values.astype(object).to_numpy(dtype=object, copy=True)
    result[text.isna().to_numpy()] = None
    digits = text.str.replace(_SPACES, "", regex=True).str.extract(_SIRET_LIKE, expand=False)
    ok = digits.notna().to_numpy()
    if ok.any():
        result[ok] = digits[ok].str.zfill(SIRET_LENGTH).to_numpy(dtype=object)
    return pd.Series(result, index=values.index, dtype=object)


def _luhn_ok(digits: np.ndarray) -> np.ndarray:
    """Luhn check of each row of a (n, k) matrix of digits 0-9; returns a bool vector."""
    k = digits.shape[1]
    # Every second digit from the right, starting with the second-to-last, is doubled.
    doubled = (np.arange(k) % 2) == ((k - 2) % 2)
    values = digits.astype(np.int64)
    values[:, doubled] *= 2
    values = np.where(values > 9, values - 9, values)
    return (values.sum(axis=1) % 10) == 0


def siret_is_valid(values: pd.Series) -> pd.Series:
    """Whether each value is a valid SIRET, as given (call :func:`normalize_siret` first).

    Valid means: exactly 14 ASCII digits, and either the 14 digits and the SIREN (first 9) both
    pass the Luhn check, or the SIREN is La Poste's (356000000) and the sum of the 14 digits is a
    multiple of 5. Missing and non-string values are invalid. Returns a bool Series with the
    index of ``values``.
    """
    text = _as_text(values)
    shaped = text.str.fullmatch(r"[0-9]{14}").fillna(False).astype(bool).to_numpy()
    result = np.zeros(len(text), dtype=bool)
    if shaped.any():
        candidates = text.to_numpy(dtype=object)[shaped]
        raw = "".join(candidates).encode("ascii")
        digits = (np.frombuffer(raw, dtype=np.uint8) - ord("0")).reshape(-1, SIRET_LENGTH)
        luhn = _luhn_ok(digits) & _luhn_ok(digits[:, :SIREN_LENGTH])
        la_poste_siren = np.frombuffer(LA_POSTE_SIREN.encode("ascii"), dtype=np.uint8) - ord("0")
        is_la_poste = (digits[:, :SIREN_LENGTH] == la_poste_siren).all(axis=1)
        la_poste_ok = is_la_poste & (digits.astype(np.int64).sum(axis=1) % 5 == 0)
        result[shaped] = luhn | la_poste_ok
    return pd.Series(result, index=values.index, dtype=bool)


def pseudonymize(values: pd.Series, key: bytes) -> pd.Series:
    """Keyed hash of each participant id: HMAC-SHA256 (hex, 64 characters) of the stripped id.

    The same id and key always give the same hash; without the key the id cannot be recovered
    or tested. Missing or blank ids give None. ``key`` must be non-empty. Returns an object
    Series with the index of ``values``.
    """
    if not key:
        raise ValueError("clé de pseudonymisation vide : configurez une clé secrète")
    stripped = _as_text(values).str.strip()
    stripped = stripped.where(stripped != "", None)
    codes, uniques = pd.factorize(stripped)
    hashes = np.array(
        [hmac.new(key, u.encode("utf-8"), hashlib.sha256).hexdigest() for u in uniques] + [None],
        dtype=object,
    )
    # factorize codes missing values as -1, which picks the trailing None.
    return pd.Series(hashes[codes], index=values.index, dtype=object)
