"""clauses: the consolidation pipeline of the social-insertion-clause facilitators' activity.

One package per stage of a run, in the order a file meets them (`../../README.md`, "Where things
live"): `receive` (the landing zone, quarantine), `read` (CSV and XLSX into text), `check`
(typed values, expectations, reports), `load` (registry and staging writes), `warehouse` (engine,
migrations), `compute` (figures as of a date, rules), `publish` (extracts), `run` (one run as of
a date, and the commands over it); `contract` holds the data contract as data, `sample` the
sample-data generator, `config` the one reader of the environment, `cli` the command line.
No module of this package imports Airflow.
"""
