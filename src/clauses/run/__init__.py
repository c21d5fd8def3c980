"""One run as of a date (`pipeline`), shared by the DAG and the command line, and what is built
over runs: `validate` (a facilitator's check, no warehouse), `audit` (explain, diff), `status`
(run summaries, the status page), `summary` (what `make run` prints)."""
