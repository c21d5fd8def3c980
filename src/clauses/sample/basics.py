"""Calendar, random draws and identifiers of the sample (valid SIRETs, Luhn keys)."""

from __future__ import annotations

import hashlib
import logging
import math
import random
import unicodedata
from datetime import date, timedelta

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Calendar
# --------------------------------------------------------------------------------------------

FIRST_RECEIPT = date(2024, 1, 1)
LAST_RECEIPT = date(2026, 3, 31)
MILLESIMES = (2024, 2025)


def _mi(d: date) -> int:
    """Month index of a date (year * 12 + month - 1)."""
    return d.year * 12 + d.month - 1


def _month_start(m: int) -> date:
    return date(m // 12, m % 12 + 1, 1)


def _month_end(m: int) -> date:
    return _month_start(m + 1) - timedelta(days=1)


def _add_months(d: date, n: int) -> date:
    m = _mi(d) + n
    return date(m // 12, m % 12 + 1, min(d.day, _month_end(m).day))


def _ym(m: int) -> str:
    return f"{m // 12:04d}-{m % 12 + 1:02d}"


LAST_ACTIVITY_MONTH = _mi(LAST_RECEIPT) - 1  # activity of month M is received during M + 1

# --------------------------------------------------------------------------------------------
# Randomness, identifiers
# --------------------------------------------------------------------------------------------


def _sub_rng(seed: int, *labels: object) -> random.Random:
    """An independent generator for one concern, derived from the seed and a label."""
    digest = hashlib.sha256(repr((seed, *labels)).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _luhn_complete(prefix: str) -> str:
    for d in "0123456789":
        if _luhn_ok(prefix + d):
            return prefix + d
    raise AssertionError("unreachable")


LA_POSTE_SIREN = "356000000"


class _Sirets:
    """Unique, valid SIRETs."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def make(self, *, leading_zero: bool = False) -> str:
        rng = self.rng
        while True:
            # one leading zero at most: a number cell then keeps 13 digits
            first = f"0{rng.randint(1, 9)}" if leading_zero else str(rng.randint(1, 9))
            siren = _luhn_complete(
                first + "".join(str(rng.randint(0, 9)) for _ in range(8 - len(first)))
            )
            nic = f"{rng.choice((1, 1, 2, 3, 11, 12, 24, 35, 41, 57, 112, 203)):04d}"
            siret = _luhn_complete(siren + nic)
            if siret not in self.used and _luhn_ok(siret[:9]):
                self.used.add(siret)
                return siret

    def la_poste(self) -> str:
        """A La Poste SIRET: digit sum a multiple of 5, failing the Luhn check."""
        rng = self.rng
        while True:
            body = LA_POSTE_SIREN + f"{rng.randint(100, 9999):04d}"
            for last in "0123456789":
                siret = body + last
                if sum(map(int, siret)) % 5 == 0 and not _luhn_ok(siret):
                    if siret not in self.used:
                        self.used.add(siret)
                        return siret


def _strip_accents(text: str) -> str:
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )


def _partner_siret(seed: int, name: str, town: str) -> str:
    """A stable valid SIRET for a named partner (the same partner keeps its SIRET)."""
    rng = _sub_rng(seed, "partner", name, town)
    siren = _luhn_complete(
        str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(7))
    )
    return _luhn_complete(siren + f"{rng.randint(1, 60):04d}")
