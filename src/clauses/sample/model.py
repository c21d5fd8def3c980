"""The sample's model: structures, strands, markets, buyers and employers, delivery units."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from clauses.contract.kinds import (
    Kind,
)

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


@dataclass
class _Buyer:
    siret: str
    type: str
    name: str


@dataclass
class _Employer:
    siret: str
    type: str


@dataclass
class _Market:
    buyer: _Buyer
    num: str
    lot: str
    code_op: str
    objet: str
    nature: str
    clause: str
    montant: int  # cents
    heures_prevues: float
    notification: date | None
    grand_projet: str | None
    start: int
    end: int
    employers: list[_Employer]


@dataclass
class _ConvRow:
    """One row of a conventions register (one avenant of one strand)."""

    num: str
    millesime: int
    region: str
    volet: str
    etp: float
    debut: date
    fin: date
    recrut: date | None
    cout: int
    subv: int
    cofi: int
    cofinanceurs: str | None
    preexist: int | None
    signature: date | None
    avance: int
    avenant: int
    objectives: tuple[float, ...] | None


@dataclass
class _Strand:
    row: _ConvRow  # the millésime's first row
    amendment: _ConvRow | None = None
    amendment_date: date | None = None

    @property
    def last(self) -> _ConvRow:
        return self.amendment or self.row


@dataclass
class _Structure:
    code: str
    region: str
    index: int
    siret: str
    raison: str
    cat: str
    local: bool
    town: str
    strands: list[_Strand] = field(default_factory=list)
    prod: float = 0.0
    preset: str = ""
    data: dict[Kind, dict[int, list[tuple[Any, ...]]]] = field(default_factory=dict)

    def fac(self) -> list[_Strand]:
        return [s for s in self.strands if s.row.volet == "facilitateur"]

    def months_with_data(self) -> list[int]:
        months: set[int] = set()
        for per_month in self.data.values():
            months.update(m for m, rows in per_month.items() if rows)
        return sorted(months)


@dataclass
class _Unit:
    """One delivery: the activity of some structures over some months, in one receipt."""

    folder: str
    receipt: date
    months: list[int]
    structures: list[_Structure]
    preset: str
    shape: str  # region | structure
    label: str  # period label for file names
    period: str = "month"  # month | quarter
