"""The words every stage shares, spelt once: rule levels, file statuses, balance decisions.

Values are what the warehouse stores (`raw_files.status`, `ref_rule_levels.level`, the
decisions of `mart_conventions`); `label` is what a DREETS reads (contract §6-7).
"""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    """How much a failed rule or expectation weighs (contract §4, §6)."""

    BLOCKING = "blocking"
    WARNING = "warning"
    EXCLUSION = "exclusion"  # a DECP row rule (§8.1): the row is left out, the snapshot loads

    @property
    def label(self) -> str:
        """`Niveau` of anomalies.csv: bloquant | avertissement (contract §7)."""
        return _LEVEL_LABELS[self]


_LEVEL_LABELS = {
    Level.BLOCKING: "bloquant",
    Level.WARNING: "avertissement",
    Level.EXCLUSION: "ligne exclue",
}


class FileStatus(StrEnum):
    """What became of a file read, as the registry stores it (`raw_files.status`)."""

    LOADED = "loaded"
    QUARANTINED = "quarantined"
    REFUSED = "refused"

    @property
    def label(self) -> str:
        """The `Statut` of fichiers.csv (contract §7)."""
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    FileStatus.LOADED: "chargé",
    FileStatus.QUARANTINED: "en quarantaine",
    FileStatus.REFUSED: "refusé",
}

# Every `Statut` of fichiers.csv, in the contract's order (§7): `remplacé` and `doublon` are
# decided as of a date, from the registry, by sql/.
STATUTS = ("chargé", "remplacé", "en quarantaine", "refusé", "doublon")


class Decision(StrEnum):
    """A strand's balance decision (contract §6), in the order the extracts list them."""

    LIBERABLE = "libérable"
    A_EXAMINER = "à examiner"
    SUSPENDU = "suspendu"
    REVERSEMENT = "reversement"
    EN_COURS = "en cours"

    @property
    def count_column(self) -> str:
        """The column counting the strands of this decision (`run_summaries.n_a_examiner`...)."""
        return _COUNT_COLUMNS[self]


_COUNT_COLUMNS = {
    Decision.LIBERABLE: "n_liberable",
    Decision.A_EXAMINER: "n_a_examiner",
    Decision.SUSPENDU: "n_suspendu",
    Decision.REVERSEMENT: "n_reversement",
    Decision.EN_COURS: "n_en_cours",
}
DECISIONS: tuple[Decision, ...] = tuple(Decision)
