"""A year of activity per structure: hours per participant, contract and month, markets,
contacts and partnerships, drawn month by month."""

from __future__ import annotations

import logging
import math
import random
from datetime import timedelta
from typing import Any

from clauses.contract.kinds import (
    INCLUSIVE_EMPLOYERS,
    NATURE,
    PUBLIC_PRIORITAIRE,
    TYPE_CLAUSE,
    TYPE_EMPLOYEUR,
    Kind,
)
from clauses.sample.basics import (
    LAST_ACTIVITY_MONTH,
    _mi,
    _month_end,
    _month_start,
    _partner_siret,
    _poisson,
    _sub_rng,
)
from clauses.sample.headers import _ACTIVITY, _HI_HOURS
from clauses.sample.model import _Buyer, _Employer, _Market, _Structure
from clauses.sample.reference import (
    _CONTACT_OBJETS,
    _EMPLOYER_TYPE_WEIGHTS,
    _MARKET_OBJETS,
    _MEAN_ROW_HOURS,
    _MODALITE_BY_EMPLOYER,
    _PARTNER_OBJETS,
    _PARTNERS,
    _PUBLIC_WEIGHTS,
    _ROWS_PER_PARTICIPANT_MONTH,
    _SEASON,
    _TOWNS,
)
from clauses.sample.world import _World

log = logging.getLogger(__name__)


class _Activity(_World):
    def simulate(self) -> None:
        for s in self.structures:
            self._simulate(s)

    def _simulate(self, s: _Structure) -> None:
        rng = _sub_rng(self.seed, "activity", s.code)
        s.data = {k: {} for k in _ACTIVITY}
        fac = s.fac()
        if not fac:
            return
        first = min(_mi(st.row.debut) for st in fac)
        last = min(max(_mi(st.row.fin) for st in fac), LAST_ACTIVITY_MONTH)
        etp_by_m = {m: self._etp_in(s, m) for m in range(first, last + 1)}
        active = [m for m, (e, _r) in etp_by_m.items() if e > 0]
        if not active:
            return
        fte_years = sum(e for e, _r in etp_by_m.values()) / 12
        region_buyers = self.buyers[s.region]
        # employers
        incl_types = [t for t in TYPE_EMPLOYEUR if t in INCLUSIVE_EMPLOYERS]
        other_types = [t for t in TYPE_EMPLOYEUR if t not in INCLUSIVE_EMPLOYERS]
        employers = [
            _Employer(
                self.sirets.make(leading_zero=rng.random() < 0.05),
                rng.choices(incl_types, weights=[_EMPLOYER_TYPE_WEIGHTS[t] for t in incl_types])[0],
            )
            for _ in range(max(2, round(fte_years * rng.uniform(7, 14))))
        ]
        n_incl = len(employers)
        employers += [
            _Employer(
                self.sirets.make(leading_zero=rng.random() < 0.05),
                rng.choices(other_types, weights=[_EMPLOYER_TYPE_WEIGHTS[t] for t in other_types])[
                    0
                ],
            )
            for _ in range(max(3, round(fte_years * rng.uniform(6, 12))))
        ]
        # markets
        n_markets = max(2, round(fte_years * rng.uniform(10, 20)))
        markets: list[_Market] = []
        keys: set[tuple[str, str, str]] = set()
        for j in range(n_markets):
            start = rng.randint(active[0] - 4, active[-1])
            markets.append(self._market(rng, s, region_buyers, employers, n_incl, start, j, keys))
        if s.index == 0 and s.region == "11":
            markets[0].buyer = self.la_poste[0]  # a La Poste SIRET, surely used
            markets[0].start, markets[0].end = active[0], active[-1]
        for m in active:
            if not any(mk.start <= m <= mk.end for mk in markets):
                markets.append(
                    self._market(rng, s, region_buyers, employers, n_incl, m, len(markets), keys)
                )
        # participants
        heures = s.data[Kind.HEURES]
        marches = s.data[Kind.MARCHES]
        contacts = s.data[Kind.CONTACTS]
        partenariats = s.data[Kind.PARTENARIATS]
        pool: list[list[Any]] = []  # [id, months left, attrs, contract]
        next_id = 1
        c_rate = rng.uniform(22, 55)
        p_rate = rng.uniform(3.5, 9)
        for m in active:
            etp, recrut = etp_by_m[m]
            live = [mk for mk in markets if mk.start <= m <= mk.end]
            ramp = 1.0
            if recrut is not None and _mi(recrut) == m:
                ramp = 0.5
            elif recrut is not None and _mi(recrut) == m - 1:
                ramp = 0.8
            target_hours = (
                etp * s.prod / 12 * _SEASON[m % 12 + 1] * ramp * rng.lognormvariate(0, 0.08)
            )
            target = max(1, round(target_hours / (_MEAN_ROW_HOURS * _ROWS_PER_PARTICIPANT_MONTH)))
            pool = [p for p in pool if p[1] > 0]
            while len(pool) < target:
                pid = f"P-{s.code}-{next_id:05d}"
                next_id += 1
                pool.append([pid, rng.randint(6, 20), self._person(rng), None])
            share = min(1.0, target / len(pool))
            rows: list[tuple[Any, ...]] = []
            for p in pool:
                p[1] -= 1
                if share < 1.0 and rng.random() > share:
                    continue
                contract = p[3]
                if contract is None or not (contract[0].start <= m <= contract[0].end):
                    contract = p[3] = self._contract(rng, live or markets)
                contracts = [contract]
                u = rng.random()
                for _ in range(2 if u < 0.05 else (1 if u < 0.30 else 0)):
                    other = self._contract(rng, live or markets)
                    if all(other[0] is not c[0] or other[1] is not c[1] for c in contracts):
                        contracts.append(other)
                sexe, annee, public = p[2]
                for mk, emp, modalite in contracts:
                    if rng.random() < 0.00025:
                        hours = round(rng.uniform(221, 320) * 2) / 2  # > 220: a warning
                    else:
                        hours = round((10 + 141 * rng.betavariate(1.4, 2.0)) * 2) / 2
                    formation = round(rng.uniform(2, 35) * 2) / 2 if rng.random() < 0.12 else None
                    rows.append(
                        (
                            s.siret,
                            m,
                            mk.code_op,
                            mk.num,
                            mk.lot or None,
                            mk.buyer.siret,
                            mk.buyer.type,
                            emp.siret,
                            emp.type,
                            p[0],
                            public,
                            modalite,
                            hours,
                            formation,
                            sexe,
                            annee,
                        )
                    )
            heures[m] = rows
            marches[m] = [
                (
                    s.siret,
                    m,
                    mk.buyer.siret,
                    mk.buyer.type,
                    mk.num,
                    mk.lot or None,
                    mk.objet,
                    mk.nature,
                    mk.clause,
                    mk.montant,
                    mk.heures_prevues,
                    mk.notification,
                    mk.grand_projet,
                )
                for mk in live
                if mk.start == m or rng.random() < 0.6
            ]
            contacts[m] = self._contacts(rng, s, m, etp * c_rate / 12, region_buyers)
            partenariats[m] = self._partenariats(rng, s, m, etp * p_rate / 12)
        if s.index == 0 and s.region == "11" and active:
            m = active[0]
            day = _month_start(m) + timedelta(days=9)
            row = (
                s.siret,
                m,
                day,
                self.la_poste[1].siret,
                "Entreprise publique",
                "Présentation de la démarche clauses",
            )
            if all(r[:5] != row[:5] for r in contacts[m]):
                contacts[m].append(row)
        if s.index == 0 and s.region == "84" and active:  # at least one row above 220 hours
            rows = heures[active[min(2, len(active) - 1)]]
            if rows and not any(r[_HI_HOURS] > 220 for r in rows):
                r = rows[0]
                rows[0] = r[:_HI_HOURS] + (236.5,) + r[_HI_HOURS + 1 :]

    def _market(
        self,
        rng: random.Random,
        s: _Structure,
        buyers: list[_Buyer],
        employers: list[_Employer],
        n_incl: int,
        start: int,
        j: int,
        keys: set[tuple[str, str, str]],
    ) -> _Market:
        nature = rng.choices(NATURE, weights=(55, 35, 10))[0]
        while True:
            buyer = rng.choice(buyers)
            year = start // 12
            num = rng.choice(
                (
                    f"{year}-{rng.randint(1, 400):03d}",
                    f"M{year % 100:02d}-{rng.randint(1, 999):04d}",
                    f"{year % 100:02d}S{rng.randint(1, 99):04d}",
                )
            )
            lot = rng.choice(("", "", "", "1", "2", "3", "4", "7", "12", "Lot 03"))
            if (buyer.siret, num, lot) not in keys:
                keys.add((buyer.siret, num, lot))
                break
        projects: tuple[str, ...]
        if s.region == "11":
            projects = ("JOP 2024", "Grand Paris Express", "NPNRU", "Autre")
        elif s.region == "32":
            projects = ("Canal Seine-Nord Europe", "Bassin minier", "NPNRU", "Autre")
        else:
            projects = ("NPNRU", "Autre")
        montant = round(rng.lognormvariate(math.log(600000), 1.0) * 100)
        n_emp = rng.randint(1, 3)
        chosen = rng.sample(employers[n_incl:], min(n_emp, len(employers) - n_incl))
        if rng.random() < 0.75:
            chosen.extend(rng.sample(employers[:n_incl], min(n_incl, rng.randint(1, 2))))
        return _Market(
            buyer=buyer,
            num=num,
            lot=lot,
            code_op=f"OP-{s.code}-{j + 1:04d}",
            objet=rng.choice(_MARKET_OBJETS[nature]).format(t=rng.choice(_TOWNS[s.region])),
            nature=nature,
            clause=rng.choices(TYPE_CLAUSE, weights=(60, 15, 10, 5, 10))[0],
            montant=montant,
            heures_prevues=float(max(35, round(montant / 100 * 0.05 / 35) * 7)),
            notification=(
                _month_start(start) - timedelta(days=rng.randint(10, 120))
                if rng.random() < 0.85
                else None
            ),
            grand_projet=rng.choice(projects) if rng.random() < 0.3 else None,
            start=start,
            end=start + rng.randint(3, 14),
            employers=chosen,
        )

    @staticmethod
    def _contract(rng: random.Random, markets: list[_Market]) -> tuple[_Market, _Employer, str]:
        mk = rng.choice(markets)
        emp = rng.choice(mk.employers)
        options = _MODALITE_BY_EMPLOYER[emp.type]
        modalite = rng.choices([o[0] for o in options], weights=[o[1] for o in options])[0]
        return mk, emp, modalite

    @staticmethod
    def _person(rng: random.Random) -> tuple[str | None, int | None, tuple[str, ...] | None]:
        u = rng.random()
        sexe = "F" if u < 0.42 else ("H" if u < 0.95 else None)
        annee = rng.randint(1962, 2006) if rng.random() < 0.94 else None
        public: tuple[str, ...] | None = None
        if rng.random() < 0.85:
            n = rng.choice((1, 1, 1, 2, 2, 3))
            picked: list[str] = []
            while len(picked) < n:
                v = rng.choices(PUBLIC_PRIORITAIRE, weights=_PUBLIC_WEIGHTS)[0]
                if v not in picked:
                    picked.append(v)
            public = tuple(picked)
        return sexe, annee, public

    @staticmethod
    def _contacts(
        rng: random.Random, s: _Structure, m: int, lam: float, buyers: list[_Buyer]
    ) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        seen: set[tuple[Any, ...]] = set()
        last_day = _month_end(m).day
        for _ in range(_poisson(rng, lam)):
            b = rng.choice(buyers)
            row = (
                s.siret,
                m,
                _month_start(m) + timedelta(days=rng.randint(0, last_day - 1)),
                b.siret,
                b.type,
                rng.choice(_CONTACT_OBJETS),
            )
            key = row[:5]  # distinct even when a file leaves the optional Objet out
            if key not in seen:
                seen.add(key)
                rows.append(row)
        return rows

    def _partenariats(
        self, rng: random.Random, s: _Structure, m: int, lam: float
    ) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        seen: set[tuple[Any, ...]] = set()
        last_day = _month_end(m).day
        for _ in range(_poisson(rng, lam)):
            name, ptype = rng.choice(_PARTNERS)
            town = rng.choice(_TOWNS[s.region])
            partner_siret = _partner_siret(self.seed, name, town) if rng.random() < 0.7 else None
            row = (
                s.siret,
                m,
                _month_start(m) + timedelta(days=rng.randint(0, last_day - 1)),
                name.format(t=town),
                partner_siret,
                ptype,
                rng.choice(_PARTNER_OBJETS),
            )
            key = (row[2], row[3], row[5])  # distinct without the optional columns too
            if key not in seen:
                seen.add(key)
                rows.append(row)
        return rows

    # ---- deliveries -------------------------------------------------------------------------
