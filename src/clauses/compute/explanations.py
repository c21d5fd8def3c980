"""French texts of a failed rule: what was measured, what was expected, and why it matters.

Written for the DREETS agent who signs the payment: readable without the data contract.
"""

from __future__ import annotations

from typing import Any

from clauses.compute.rules import Rules
from clauses.contract.french import euros, french_date, french_number


def percent(fraction: float) -> str:
    """'5 %', '2,5 %': a share as a French percentage, without trailing zeros."""
    return french_number(fraction * 100, 2).rstrip("0").rstrip(",") + " %"


def describe(rule_id: str, r: dict[str, Any], rules: Rules) -> tuple[str, str, str]:
    """(Mesuré, Attendu, Explication) of a failed rule, from its mart_rule_results row; the
    numbers the texts quote come from the row or from ``rules``, those of its millésime."""
    m, e, m2, e2 = r["measured_num"], r["expected_num"], r["measured_num2"], r["expected_num2"]
    md, ed = r["measured_date"], r["expected_date"]
    if rule_id == "R01":
        return (
            euros(m),
            f"≤ {euros(e)}",
            f"La subvention de l'État ({euros(m)}) dépasse le plafond de {french_number(m2, 0)} % "
            f"du coût total, soit {euros(e)}. La subvention éligible est ramenée à ce plafond.",
        )
    if rule_id == "R02":
        return (
            euros(m),
            f"≥ {euros(e - m2)}",
            f"Subvention de l'État et cofinancements ({euros(m)}) ne couvrent pas le coût total "
            f"de l'action ({euros(e)}) : le plan de financement est incomplet.",
        )
    if rule_id == "R03":
        return (
            f"{french_number(m)} ETP",
            f"≥ {french_number(e)} ETP",
            f"Le poste conventionné ({french_number(m)} ETP) est inférieur au minimum de "
            f"{french_number(e)} ETP par volet : la convention ne peut pas être soldée.",
        )
    if rule_id == "R04":
        measured = french_date(md) if md else "aucune date de recrutement"
        return (
            measured,
            f"recrutement au plus tard le {french_date(ed)}",
            "Le poste n'a pas été pourvu pendant la convention (date de recrutement absente ou "
            "postérieure à la date de fin) : aucun solde ne peut être versé.",
        )
    if rule_id == "R05":
        measured = f"reçu le {french_date(md)}" if md else "non reçu"
        return (
            measured,
            f"reçu au plus tard le {french_date(ed)}",
            "Le bilan intermédiaire n'a pas été reçu dans les "
            f"{rules.interim_report_months} mois suivant le début de la convention. À relancer "
            "auprès du porteur.",
        )
    if rule_id == "R06":
        return (
            "non reçu",
            f"bilan annuel reçu (convention terminée le {french_date(ed)})",
            "La convention est terminée mais son bilan annuel n'a pas été reçu : le solde est "
            "suspendu jusqu'à sa réception.",
        )
    if rule_id == "R07":
        tolerance = percent(rules.annual_report_tolerance)
        return (
            f"déclaré : {french_number(m)} h, {french_number(m2, 0)} bénéficiaires",
            f"détail : {french_number(e)} h, {french_number(e2, 0)} bénéficiaires "
            f"(écart ≤ {tolerance})",
            "Le bilan annuel déclare des heures ou des bénéficiaires qui s'écartent de plus de "
            f"{tolerance} du détail mensuel transmis. À vérifier avec le porteur avant paiement.",
        )
    if rule_id == "R08":
        return (
            f"{french_number(m * 100 if m is not None else None, 1)} %",
            f"≥ {french_number(e * 100, 0)} %",
            "Les objectifs conventionnés par ETP sont atteints en moyenne à moins de "
            f"{french_number(e * 100, 0)} % : à examiner avant de libérer le solde.",
        )
    if rule_id == "R09":
        return (
            euros(m),
            f"≥ {euros(e)}",
            "Les financements préexistants de la structure ont baissé par rapport au millésime "
            "précédent (principe de non-substitution).",
        )
    raise ValueError(f"unknown rule {rule_id}")
