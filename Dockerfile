# The image every Airflow service of docker-compose.yml runs: the official Airflow image with the
# `clauses` project and exactly the dependency versions pinned by uv.lock.
#
#   docker compose build
#
# The Airflow version here must be the one pinned in pyproject.toml (tests/unit/test_compose.py
# checks it), so that installing the lock never swaps Airflow itself under the image.

# The uv release that reads this uv.lock; only used to turn the lock into a requirements file.
ARG UV_VERSION=0.13.9

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

FROM apache/airflow:3.3.2-python3.11

# The project lives in /opt/clauses with its source layout, installed in editable mode, so that
# clauses.config finds sql/, expectations/ and rules/ next to src/ (docker-compose.yml mounts the
# working copies of those folders there), and the data folder is /opt/clauses/data.
ENV CLAUSES_DATA_DIR=/opt/clauses/data

USER root
RUN mkdir -p /opt/clauses/data /opt/clauses/sql /opt/clauses/expectations /opt/clauses/rules \
    && chown -R airflow:0 /opt/clauses \
    && chmod -R g+rwX /opt/clauses
COPY --from=uv /uv /opt/uv-pinned/uv
USER airflow

WORKDIR /opt/clauses

# Dependencies first, in their own layer: it is rebuilt only when the lock changes.
# `uv export --frozen` writes exactly what uv.lock pins (nothing is re-resolved; keeping the lock in
# step with pyproject.toml is `uv lock --check`'s job), with hashes that `uv pip install` verifies.
# The image's own uv installs into the image's Python environment (~airflow/.local, its
# VIRTUAL_ENV), as in the official "add PyPI packages with uv" example.
COPY --chown=airflow:0 pyproject.toml uv.lock ./
RUN /opt/uv-pinned/uv export --frozen --no-dev --no-emit-project --format requirements.txt \
        --output-file /tmp/clauses-requirements.txt --quiet \
    && uv pip install --no-cache -r /tmp/clauses-requirements.txt \
    && rm /tmp/clauses-requirements.txt

# Then the project itself, without touching the dependencies installed above.
COPY --chown=airflow:0 README.md ./
COPY --chown=airflow:0 src/ ./src/
RUN uv pip install --no-cache --no-deps --editable . \
    && python -m compileall -q src \
    && python -c "import clauses"

# Baked-in copies, so that the image also runs without the bind mounts of docker-compose.yml.
COPY --chown=airflow:0 sql/ ./sql/
COPY --chown=airflow:0 expectations/ ./expectations/
COPY --chown=airflow:0 rules/ ./rules/

WORKDIR /opt/airflow
