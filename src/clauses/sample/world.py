"""The world: regions, structures, their convention strands and avenants, buyers and
employers, drawn once from the seed."""

from __future__ import annotations

import logging
import random
from datetime import date, timedelta

from clauses.contract.kinds import (
    REGIONS,
    TYPE_DONNEUR_ORDRE,
)
from clauses.sample.base import _GeneratorBase
from clauses.sample.basics import LAST_RECEIPT, MILLESIMES, _add_months, _mi, _sub_rng
from clauses.sample.model import _Buyer, _ConvRow, _Strand, _Structure
from clauses.sample.reference import (
    _BUYER_NAMES,
    _BUYER_TYPE_WEIGHTS,
    _COFINANCEURS,
    _REGION_PLAN,
    _STRUCTURE_TYPES,
    _TOWNS,
)

log = logging.getLogger(__name__)


class _World(_GeneratorBase):
    def build_world(self) -> None:
        rng = _sub_rng(self.seed, "world")
        for _ in range(3):
            self.la_poste.append(_Buyer(self.sirets.la_poste(), "Entreprise publique", "La Poste"))
        for region in sorted(REGIONS):
            weight = _REGION_PLAN[region][0]
            n = max(1, round(weight * self.scale))
            towns = _TOWNS[region]
            buyers = [self.la_poste[int(region) % len(self.la_poste)]]
            for _ in range(8 + 3 * n):
                btype = rng.choices(TYPE_DONNEUR_ORDRE, weights=_BUYER_TYPE_WEIGHTS)[0]
                name = f"{_BUYER_NAMES[btype]} {rng.choice(towns)}"
                buyers.append(
                    _Buyer(self.sirets.make(leading_zero=rng.random() < 0.05), btype, name)
                )
            self.buyers[region] = buyers
            structures: list[_Structure] = []
            names: set[str] = set()
            for i in range(n):
                template, cat, local, _w = rng.choices(
                    _STRUCTURE_TYPES, weights=[t[3] for t in _STRUCTURE_TYPES]
                )[0]
                town = towns[(i + rng.randint(0, len(towns) - 1)) % len(towns)]
                raison = template.format(t=town)
                j = 2
                while raison in names:
                    raison = f"{template.format(t=town)} ({j})"
                    j += 1
                names.add(raison)
                leading_zero = (i == 0 and region in ("11", "84", "53")) or rng.random() < 0.04
                s = _Structure(
                    code=f"{region}{i + 1:03d}",
                    region=region,
                    index=i,
                    siret=self.sirets.make(leading_zero=leading_zero),
                    raison=raison,
                    cat=cat,
                    local=local,
                    town=town,
                )
                self._make_strands(s, rng)
                structures.append(s)
            self.by_region[region] = structures
            self.structures.extend(structures)

    def _money(
        self, rng: random.Random, etp: float, local: bool, per_fte: float
    ) -> tuple[int, int, int]:
        cout = round(etp * per_fte) * 100  # whole euros, in cents
        num, den = (8, 10) if local else (7, 10)
        cap = cout * num // den
        u = rng.random()
        if u < 0.04:
            subv = round(cap * rng.uniform(1.03, 1.12))  # above the cap (R01)
        elif u < 0.35:
            subv = cap  # exactly at the cap: passes (bounds inclusive)
        else:
            subv = round(cap * rng.uniform(0.8, 1.0))
        cofi = cout - subv
        if rng.random() < 0.05:
            cofi = max(0, cofi - round(cout * rng.uniform(0.02, 0.1)))  # a gap (R02)
        return cout, subv, max(0, cofi)

    def _objectives(self, rng: random.Random) -> tuple[float, ...]:
        hours = round(rng.uniform(20000, 40000), -2)
        return (
            hours,
            float(rng.randint(30, 60)),
            round(hours / 1607 * rng.uniform(0.95, 1.05), 2),
            float(rng.randint(5, 15)),
            float(rng.randint(20, 60)),
            float(rng.randint(10, 30)),
            float(rng.randint(3, 10)),
        )

    def _make_strands(self, s: _Structure, rng: random.Random) -> None:
        forced = s.index == 0
        new_2025 = not forced and rng.random() < 0.08
        renewed = forced or (not new_2025 and rng.random() < 0.9)
        coord = (forced and s.region in ("11", "84", "32", "53")) or rng.random() < 0.22
        starts = [date(2024, mo, 1) for mo in range(1, 7)] + [date(2024, 2, 15), date(2024, 3, 15)]
        weights = [16, 12, 14, 12, 10, 12, 6, 6]
        debut24 = rng.choices(starts, weights=weights)[0]
        debut25_new = rng.choice([date(2025, mo, 1) for mo in range(1, 7)])
        etp_f = rng.choices((0.5, 0.8, 1.0, 1.5, 2.0, 3.0), weights=(14, 10, 40, 16, 15, 5))[0]
        etp_c = rng.choice((0.5, 0.8, 1.0))
        per_fte = rng.uniform(50000, 70000)
        preexist = round(rng.uniform(10000, 120000)) * 100 if rng.random() < 0.85 else None
        cofinanceurs = "; ".join(rng.sample(_COFINANCEURS, rng.randint(1, 3)))
        volets = [("facilitateur", etp_f, "F")] + ([("coordinateur", etp_c, "C")] if coord else [])
        for volet, etp0, suffix in volets:
            num = f"PNAD-{s.region}-{s.index + 1:04d}-{suffix}"
            objectives = (
                self._objectives(rng)
                if (volet == "facilitateur" and rng.random() < 0.9) or rng.random() < 0.1
                else None
            )
            recrut = self._recrutement(rng, debut24)
            previous: _Strand | None = None
            pre = preexist
            for millesime in MILLESIMES:
                if millesime == 2024 and new_2025:
                    continue
                if millesime == 2025 and not (renewed or new_2025):
                    continue
                if previous is not None:
                    debut = previous.row.fin + timedelta(days=1)
                    avenant = previous.last.avenant + 1  # the renewal is itself an avenant
                    if recrut is None:
                        recrut = (
                            _add_months(debut, rng.randint(1, 4)) if rng.random() < 0.6 else None
                        )
                    elif rng.random() < 0.08:  # the post was vacated and filled again
                        recrut = debut + timedelta(days=rng.randint(30, 120))
                    etp = etp0 if rng.random() < 0.8 else max(0.5, etp0 + rng.choice((-0.5, 0.5)))
                    per_fte *= rng.uniform(1.0, 1.04)
                    if pre is not None:
                        u = rng.random()
                        if u < 0.12:
                            pre = round(pre * rng.uniform(0.7, 0.95) / 100) * 100  # lower (R09)
                        elif u < 0.4:
                            pre = round(pre * rng.uniform(1.02, 1.1) / 100) * 100
                        elif u < 0.45:
                            pre = None
                    if objectives is not None:
                        objectives = tuple(
                            round(x * rng.uniform(0.95, 1.1), 2 if i == 2 else 0)
                            for i, x in enumerate(objectives)
                        )
                else:
                    debut = debut24 if millesime == 2024 else debut25_new
                    avenant = 0
                    etp = etp0
                    if millesime == 2025:
                        recrut = self._recrutement(rng, debut)
                if rng.random() < 0.025:
                    etp = 0.4  # below the 0.5 minimum (R03)
                fin = _add_months(debut, 12) - timedelta(days=1)
                cout, subv, cofi = self._money(rng, etp, s.local, per_fte)
                row = _ConvRow(
                    num=num,
                    millesime=millesime,
                    region=s.region,
                    volet=volet,
                    etp=etp,
                    debut=debut,
                    fin=fin,
                    recrut=recrut,
                    cout=cout,
                    subv=subv,
                    cofi=cofi,
                    cofinanceurs=cofinanceurs if rng.random() < 0.9 else None,
                    preexist=pre,
                    signature=(
                        debut - timedelta(days=rng.randint(5, 45)) if rng.random() < 0.85 else None
                    ),
                    avance=(subv + 1) // 2,
                    avenant=avenant,
                    objectives=objectives,
                )
                strand = _Strand(row)
                force_amendment = (
                    forced
                    and s.region in ("11", "24")
                    and millesime == 2024
                    and volet == "facilitateur"
                )
                if rng.random() < 0.09 or force_amendment:
                    self._amend(strand, rng, s.local, per_fte)
                s.strands.append(strand)
                previous = strand
        fac_obj = [st.last.objectives[0] for st in s.fac() if st.last.objectives]
        base = sum(fac_obj) / len(fac_obj) if fac_obj else rng.uniform(22000, 34000)
        s.prod = base * rng.uniform(0.7, 1.35)

    @staticmethod
    def _recrutement(rng: random.Random, debut: date) -> date | None:
        u = rng.random()
        if u < 0.68:
            return debut - timedelta(days=rng.randint(0, 500))
        if u < 0.75:
            return debut
        if u < 0.95:
            return debut + timedelta(days=rng.randint(15, 150))  # mid-year recruitment
        return None  # post not filled

    def _amend(self, strand: _Strand, rng: random.Random, local: bool, per_fte: float) -> None:
        row = strand.row
        when = row.debut + timedelta(days=rng.randint(90, 240))
        if when > LAST_RECEIPT:
            return
        etp = row.etp
        if rng.random() < 0.5:
            etp = row.etp + 0.5
            cout, subv, cofi = self._money(rng, etp, local, per_fte)
        else:
            cout = round(row.cout * rng.uniform(1.03, 1.1) / 100) * 100
            cap = cout * (8 if local else 7) // 10
            subv = min(round(row.subv * rng.uniform(1.0, 1.1)), max(cap, row.subv))
            cofi = cout - subv
        strand.amendment = _ConvRow(
            num=row.num,
            millesime=row.millesime,
            region=row.region,
            volet=row.volet,
            etp=etp,
            debut=row.debut,
            fin=row.fin,
            recrut=row.recrut,
            cout=cout,
            subv=subv,
            cofi=cofi,
            cofinanceurs=row.cofinanceurs,
            preexist=row.preexist,
            signature=when - timedelta(days=rng.randint(1, 10)),
            avance=row.avance,
            avenant=row.avenant + 1,
            objectives=row.objectives,
        )
        strand.amendment_date = when

    # ---- activity ---------------------------------------------------------------------------

    @staticmethod
    def _etp_in(s: _Structure, m: int) -> tuple[float, date | None]:
        best, recrut = 0.0, None
        for st in s.fac():
            row = st.last
            if (
                _mi(row.debut) <= m <= _mi(row.fin)
                and row.recrut is not None
                and _mi(row.recrut) <= m
                and row.etp > best
            ):
                best, recrut = row.etp, row.recrut
        return best, recrut
