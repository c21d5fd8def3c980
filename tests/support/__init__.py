"""Helpers shared by the test tiers: contract files built by hand (`contract_files`), a small
landing zone computed by hand (`small_landing`), an independent computation of the figures
(`oracle`), what is built once per session and copied per test (`templates`: a migrated
warehouse, the sample landing zones), and a real Airflow stack for the integration tests
(`airflow_stack`)."""
