# The two commands of the README, `make run` and `make test`, and the usual helpers.
# Each installs what is missing: uv (from PyPI, inside a private virtual environment when the
# machine has none), then the locked dependencies with `uv sync --frozen`.

SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
ROOT := $(CURDIR)
TOOLS := $(ROOT)/.tools
UV := $(or $(shell command -v uv 2>/dev/null),$(TOOLS)/bin/uv)
VENV := $(ROOT)/.venv
export UV_COMPILE_BYTECODE := 1
export UV_PYTHON := $(PYTHON)

# The data folder: CLAUSES_DATA_DIR when set (README, Configuration), else ./data. The other
# CLAUSES_* variables of the README (warehouse URL, key, retention, outbox, alerts) reach every
# command below through the environment, as they are.
CLAUSES_DATA_DIR ?= $(ROOT)/data
DATA_DIR := $(abspath $(CLAUSES_DATA_DIR))
AIRFLOW_ENV := AIRFLOW_HOME=$(ROOT)/.airflow \
	AIRFLOW__CORE__DAGS_FOLDER=$(ROOT)/dags \
	AIRFLOW__CORE__PLUGINS_FOLDER=$(ROOT)/plugins \
	AIRFLOW__CORE__LOAD_EXAMPLES=False \
	AIRFLOW__CORE__DEFAULT_TIMEZONE=Europe/Paris \
	AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sqlite:///$(ROOT)/.airflow/airflow.db \
	AIRFLOW__LOGGING__LOGGING_LEVEL=INFO \
	GX_ANALYTICS_ENABLED=False \
	CLAUSES_DATA_DIR=$(DATA_DIR)
TODAY = $(shell TZ=Europe/Paris date +%F)

.PHONY: install run test bench lint typecheck clean

$(TOOLS)/bin/uv:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# The project's own modules are compiled once here, as uv compiles the dependencies
# (UV_COMPILE_BYTECODE): where PYTHONDONTWRITEBYTECODE is set (these machines, many images),
# every process would otherwise compile them again (0.12 s of a 0.7 s night with nothing new).
$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	$(VENV)/bin/python -m compileall -q src dags plugins
	touch $@

install: $(VENV)/.synced

run: install
	@mkdir -p $(ROOT)/.airflow $(DATA_DIR)
	@if [ -z "$$(ls -A $(DATA_DIR)/landing 2>/dev/null)" ]; then \
		echo "Landing zone empty: generating the sample national dataset"; \
		CLAUSES_DATA_DIR=$(DATA_DIR) CLAUSES_DEMO=1 $(VENV)/bin/clauses generate; fi
	@echo "Data folder: $(DATA_DIR)"
	$(AIRFLOW_ENV) CLAUSES_DEMO=1 $(VENV)/bin/airflow db migrate > $(ROOT)/.airflow/db-migrate.log
	$(AIRFLOW_ENV) CLAUSES_DEMO=1 $(VENV)/bin/airflow dags test clauses_nightly $(TODAY) \
		> $(ROOT)/.airflow/dags-test.log 2>&1 || { tail -50 $(ROOT)/.airflow/dags-test.log; exit 1; }
	@CLAUSES_DATA_DIR=$(DATA_DIR) CLAUSES_DEMO=1 $(VENV)/bin/python -m clauses.run.summary --date $(TODAY)

# The tests make their own data folders and never touch $(DATA_DIR). They run on PYTEST_WORKERS
# pytest-xdist workers (two: the cores of this project's machines), each test file whole on one
# worker; PYTEST_WORKERS=0 runs them in this one process (a debugger, `-s`).
PYTEST_WORKERS ?= 2
test: install
	$(AIRFLOW_ENV) CLAUSES_DATA_DIR=$(ROOT)/.test-data $(VENV)/bin/python -m pytest \
		-n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench: install
	$(VENV)/bin/python -m bench.run

lint: install
	$(VENV)/bin/ruff check src dags plugins tests

typecheck: install
	$(VENV)/bin/mypy

# Removes what the Makefile made in the project folder; a data folder set elsewhere by
# CLAUSES_DATA_DIR holds real files: it is left alone.
clean:
	rm -rf $(ROOT)/.airflow $(ROOT)/.test-data
	@if [ "$(DATA_DIR)" = "$(ROOT)/data" ]; then rm -rf $(ROOT)/data; \
	else echo "$(DATA_DIR) (CLAUSES_DATA_DIR) left in place: remove it yourself if you mean to"; fi
