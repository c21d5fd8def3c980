"""Figures as of a date: the set-based SQL of `sql/` (`figures`), the compliance rules of each
millésime (`rules`), and the French words of a failed rule (`explanations`)."""
