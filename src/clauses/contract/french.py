"""How numbers, amounts and dates are written for a French reader (reports, explanations, the
summary page): one formatter for all of them."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

NARROW_NBSP = "\u202f"  # French thousands separator, and before "%", ":" and "€"


def french_number(value: float | int | Decimal | None, decimals: int = 2) -> str:
    """'1 234,50': narrow no-break space between thousands, decimal comma, rounded half up;
    a value that rounds to zero has no minus sign; None gives ""."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    else:
        number = Decimal(repr(float(value)))
    number = number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    if number.is_zero():
        number = number.copy_abs()
    text = f"{number:,.{decimals}f}"
    return text.replace(",", NARROW_NBSP).replace(".", ",")


def euros(value: float | None) -> str:
    """'1 234,50 €', or "" for None."""
    return f"{french_number(value)} €" if value is not None else ""


def french_date(value: date | str | None) -> str:
    """'31/12/2024', or "" for None."""
    if value is None:
        return ""
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return day.strftime("%d/%m/%Y")
