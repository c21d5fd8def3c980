"""Static checks of the distributed deployment: docker-compose.yml, its Dockerfile and .env.example.

No Docker engine and no Airflow: the compose file is read as YAML, interpolated the way Compose
does with the placeholder values of .env.example, validated against the Compose specification's
JSON schema (the copy vendored by check-jsonschema, resolved offline), then checked for what the
schema cannot see: services and volumes that are named but missing, host folders that do not exist,
secrets written in clear, and the settings every Airflow component must share.
"""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from referencing import Registry
from referencing.exceptions import NoSuchResource

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
GITIGNORE = ROOT / ".gitignore"
PYPROJECT = ROOT / "pyproject.toml"

REQUIRED_SERVICES = {
    "postgres",
    "redis",
    "warehouse",
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
# Long-running Airflow components: they wait for the backends and for airflow-init.
AIRFLOW_DAEMONS = {
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
# Services that run once and exit: no healthcheck to expect.
ONE_SHOT = {"airflow-init", "airflow-cli"}
# Settings that must come from .env, never from the compose file.
REQUIRED_SECRETS = {
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "CLAUSES_PSEUDONYM_KEY",
}
# Settings every Airflow component must receive identically.
SHARED_PREFIXES = ("AIRFLOW__", "AIRFLOW_CONN_", "CLAUSES_")
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|_KEY)$")

# `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?message}`, `${NAME?message}`;
# `$$` is Compose's escape for a literal `$` and is never interpolated.
INTERPOLATION = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
)
REQUIRED_SUBSTITUTION = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]*\}")
URL_WITH_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^:/@]*:(?P<password>.*)@[^@]*$")


# --- Loading --------------------------------------------------------------------------------------


def _env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f".env.example: not a NAME=value line: {line!r}"
            values[name.strip()] = value.strip()
    return values


def _interpolate(text: str, env: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name", "op", "arg")
        value = env.get(name)
        if op in (":-", ":?"):
            missing = not value
        else:
            missing = value is None
        if not missing:
            return value or ""
        if op and op.endswith("?"):
            raise AssertionError(f"required variable {name} is not set in .env.example ({arg})")
        return arg if op else ""

    return INTERPOLATION.sub(replace, text)


def _interpolated(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return _interpolate(node, env)
    if isinstance(node, list):
        return [_interpolated(item, env) for item in node]
    if isinstance(node, dict):
        return {key: _interpolated(value, env) for key, value in node.items()}
    return node


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The compose file as written (YAML anchors and merge keys resolved, nothing interpolated)."""
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def compose_schema() -> dict[str, Any]:
    path = files("check_jsonschema") / "builtin_schemas" / "vendor" / "compose-spec.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _strings(node: Any) -> Iterator[str]:
    """Every string value of a loaded YAML document (comments are gone, keys are not values)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)


def _url_password(value: str) -> str | None:
    """The password of a URL as written, before interpolation (urlsplit would stop at `:?`)."""
    match = URL_WITH_PASSWORD.match(value)
    return match.group("password") if match else None


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.partition("=")[::2] for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Service name -> condition (`service_started` for the short list form)."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: "service_started" for name in deps}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def _mounts(service: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(type, source, target) of each mount of a service: type is `bind` or `volume`."""
    for mount in service.get("volumes") or []:
        if isinstance(mount, dict):
            yield mount.get("type", "volume"), mount.get("source", ""), mount["target"]
            continue
        parts = mount.split(":")
        if len(parts) == 1:  # an anonymous volume: only the container path
            continue
        source, target = parts[0], parts[1]
        kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        yield kind, source, target


def _is_built_from_repo(service: dict[str, Any]) -> bool:
    return "build" in service


# --- The specification ----------------------------------------------------------------------------


def test_schema_is_self_contained(compose_schema: dict[str, Any]) -> None:
    refs = re.findall(r'"\$ref"\s*:\s*"([^"]*)"', json.dumps(compose_schema))
    assert refs, "the vendored compose schema has no $ref: not the expected file?"
    assert all(ref.startswith("#") for ref in refs), "the schema refers to remote documents"


def test_compose_file_matches_the_compose_specification(
    compose: dict[str, Any], compose_schema: dict[str, Any]
) -> None:
    def no_remote(uri: str) -> Any:
        raise NoSuchResource(ref=uri)

    validator_class = jsonschema.validators.validator_for(compose_schema)
    validator_class.check_schema(compose_schema)
    validator = validator_class(compose_schema, registry=Registry(retrieve=no_remote))
    # What Compose validates: the file after interpolation (here with the .env.example values).
    document = _interpolated(compose, _env_example())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in errors
    )


def test_every_variable_without_a_default_is_documented_in_env_example(
    compose: dict[str, Any],
) -> None:
    documented = _env_example()
    for match in (m for text in _strings(compose) for m in INTERPOLATION.finditer(text)):
        name, op = match.group("name", "op")
        if name and op in (None, ":?", "?"):
            assert name in documented, f"${{{name}}} has no default and is not in .env.example"


# --- Services -------------------------------------------------------------------------------------


def test_required_services_are_present(services: dict[str, Any]) -> None:
    assert REQUIRED_SERVICES <= services.keys(), sorted(REQUIRED_SERVICES - services.keys())


def test_depends_on_names_existing_services(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for dependency, condition in _depends_on(service).items():
            assert dependency in services, f"{name} depends on unknown service {dependency}"
            assert dependency != name, f"{name} depends on itself"
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], (
                    f"{name} waits for {dependency} to be healthy, which has no healthcheck"
                )


def test_long_running_services_have_a_healthcheck(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if name in ONE_SHOT:
            continue
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"


def test_airflow_components_wait_for_the_backends_and_airflow_init(
    services: dict[str, Any],
) -> None:
    for name in AIRFLOW_DAEMONS:
        deps = _depends_on(services[name])
        assert deps.get("postgres") == "service_healthy", name
        assert deps.get("redis") == "service_healthy", name
        assert deps.get("airflow-init") == "service_completed_successfully", name
    assert _depends_on(services["airflow-worker"]).get("warehouse") == "service_healthy"


def test_airflow_init_migrates_the_database(services: dict[str, Any]) -> None:
    init = services["airflow-init"]
    assert _environment(init).get("_AIRFLOW_DB_MIGRATE") == "true"
    assert "/entrypoint airflow" in json.dumps(init.get("command")), (
        "airflow-init must go through the image's entrypoint, which runs the migration"
    )


def test_api_server_publishes_the_execution_api(services: dict[str, Any]) -> None:
    api = services["airflow-apiserver"]
    assert api.get("command") == "api-server"
    assert any(str(port).split(":")[-1] == "8080" for port in api.get("ports", []))


def test_airflow_components_share_one_configuration(services: dict[str, Any]) -> None:
    airflow_services = {n: s for n, s in services.items() if _is_built_from_repo(s)}
    assert AIRFLOW_DAEMONS | {"airflow-init"} <= airflow_services.keys()
    expected = {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Europe/Paris",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "http://airflow-apiserver:8080/execution/",
        "CLAUSES_DATA_DIR": "/opt/clauses/data",
    }
    hosts = {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgres",
        "AIRFLOW__CELERY__RESULT_BACKEND": "postgres",
        "AIRFLOW__CELERY__BROKER_URL": "redis",
        "AIRFLOW_CONN_CLAUSES_WAREHOUSE": "warehouse",
    }
    placeholders = _env_example()
    reference: dict[str, str] | None = None
    for name, service in airflow_services.items():
        env = _environment(service)
        resolved = _interpolated(env, placeholders)
        for key, value in expected.items():
            assert env.get(key) == value, f"{name}: {key}={env.get(key)!r}, expected {value!r}"
        for key, host in hosts.items():
            actual = urlsplit(resolved.get(key, "")).hostname
            assert actual == host, f"{name}: {key} is on {actual}, not on {host}"
            assert host in services
        for key in REQUIRED_SECRETS | {"AIRFLOW__API__SECRET_KEY"}:
            assert key in env, f"{name} lacks {key}"
        data_mounts = [t for _, _, t in _mounts(service) if t == env["CLAUSES_DATA_DIR"]]
        assert data_mounts, f"{name}: nothing mounted on the data folder"
        # Every component must see the same configuration, secrets and databases, or tokens are
        # refused and tasks run against another warehouse.
        shared = {k: v for k, v in env.items() if k.startswith(SHARED_PREFIXES)}
        reference = shared if reference is None else reference
        assert shared == reference, f"{name} is configured unlike the other Airflow services"


def test_warehouse_is_a_separate_database_server(services: dict[str, Any]) -> None:
    warehouse, metadata = services["warehouse"], services["postgres"]
    assert str(warehouse["image"]).startswith("postgres")
    volumes = {source for kind, source, _ in _mounts(warehouse) if kind == "volume"}
    assert volumes, "the warehouse keeps its data in no volume"
    assert volumes.isdisjoint(source for _, source, _ in _mounts(metadata))


# --- Volumes and build context --------------------------------------------------------------------


def test_named_volumes_are_declared(compose: dict[str, Any], services: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    used = {
        source
        for service in services.values()
        for kind, source, _ in _mounts(service)
        if kind == "volume" and source
    }
    assert used <= declared, f"undeclared volumes: {sorted(used - declared)}"
    assert declared <= used, f"declared but unused volumes: {sorted(declared - used)}"


def test_bind_mounted_host_paths_exist_in_the_repository(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for kind, source, _ in _mounts(service):
            if kind != "bind":
                continue
            assert not source.startswith(("/", "~")), f"{name}: {source} is outside the repository"
            path = (ROOT / source).resolve()
            assert path.is_relative_to(ROOT), f"{name}: {source} is outside the repository"
            assert path.exists(), f"{name}: {source} does not exist"


def test_build_contexts_and_dockerfiles_exist(services: dict[str, Any]) -> None:
    built = {n: s["build"] for n, s in services.items() if _is_built_from_repo(s)}
    assert built, "no service is built from the repository"
    for name, build in built.items():
        if isinstance(build, str):
            build = {"context": build}
        context = (ROOT / build.get("context", ".")).resolve()
        assert context.is_dir() and context.is_relative_to(ROOT), name
        assert (context / build.get("dockerfile", "Dockerfile")).is_file(), name


def test_dockerfile_extends_the_airflow_image_pinned_by_the_project() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    pins = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    airflow_pin = next(p for p in pins if re.match(r"apache-airflow\s*==", p))
    version = airflow_pin.split("==")[1].strip()
    bases = re.findall(r"^FROM\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert bases[-1] == f"apache/airflow:{version}-python3.11", bases
    for needed in ("pyproject.toml", "uv.lock", "src/"):
        assert re.search(rf"^COPY\b.*\s{re.escape(needed)}", dockerfile, flags=re.MULTILINE), (
            f"the Dockerfile does not copy {needed}"
        )
    assert re.search(r"\s--(frozen|locked)\b", dockerfile), "the image ignores uv.lock"


# --- Secrets --------------------------------------------------------------------------------------


def test_no_secret_is_written_in_the_compose_file(services: dict[str, Any]) -> None:
    seen = set()
    for name, service in services.items():
        for key, value in _environment(service).items():
            if SECRET_NAME.search(key):
                seen.add(key)
                assert REQUIRED_SUBSTITUTION.fullmatch(value), (
                    f"{name}: {key} must be a required ${{VAR:?}} substitution, not {value!r}"
                )
            password = _url_password(value)
            if password:
                assert REQUIRED_SUBSTITUTION.fullmatch(password), (
                    f"{name}: {key} has a password written in clear"
                )
    assert REQUIRED_SECRETS <= seen


def test_no_placeholder_of_env_example_leaks_into_the_compose_file() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    for name, value in _env_example().items():
        if SECRET_NAME.search(name):
            assert value not in text, f"{name}'s value in .env.example is in the compose file"


def test_env_file_is_git_ignored_and_env_example_is_not() -> None:
    patterns = [
        line.strip()
        for line in GITIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith(("#", "!"))
    ]
    assert ".env" in patterns or "/.env" in patterns
    assert not any(fnmatch.fnmatch(".env.example", p.lstrip("/")) for p in patterns)
