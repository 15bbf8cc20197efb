"""The Dockerfile and docker-compose.yml, checked by parsing them (no Docker engine here):
settings they set exist and are documented, every service is health-checked and waits for
healthy dependencies, volumes are declared, workers can be scaled, the image runs `zhiku` as a
non-root user."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
ENV_NAME = re.compile(r"\bZHIKU_[A-Z0-9_]+\b")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", dockerfile)
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in (raw.strip() for raw in joined.splitlines())
        if line and not line.startswith("#")
    ]


def test_every_zhiku_variable_is_a_setting_documented_in_env_example(dockerfile: str) -> None:
    fields = {f"ZHIKU_{name.upper()}" for name in Settings.model_fields}
    documented = set(
        re.findall(r"^#?(ZHIKU_[A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M)
    )
    used = set(ENV_NAME.findall((ROOT / "docker-compose.yml").read_text()))
    used |= set(ENV_NAME.findall(dockerfile))
    assert {"ZHIKU_CHROMA_URL", "ZHIKU_QUEUE_URL", "ZHIKU_DATABASE_URL", "ZHIKU_HOST"} <= used
    assert used - fields == set(), "not Settings fields"
    assert used - documented == set(), "not in .env.example"


def test_every_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"api", "worker", "chroma", "redis", "postgres", "ollama"} <= set(services)
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check and check.get("test"), f"{name} has no healthcheck"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name


def test_dependencies_wait_for_healthy_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert rule["condition"] == "service_healthy", f"{name} → {dependency}"
            assert "healthcheck" in services[dependency]
    for role in ("api", "worker"):
        assert {"chroma", "redis", "postgres"} <= set(services[role]["depends_on"])
    # Ollama is optional: the API starts without the `llm` profile.
    assert services["ollama"]["profiles"] == ["llm"]
    assert services["api"]["depends_on"]["ollama"]["required"] is False


def test_named_volumes_are_declared_and_blobs_are_shared(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    for name, service in compose["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name} mounts undeclared volume {source}"
    blob_dir = compose["services"]["api"]["environment"]["ZHIKU_BLOB_DIR"]
    for role in ("api", "worker"):
        assert f"blobs:{blob_dir}" in compose["services"][role]["volumes"]
    assert "postgres:/var/lib/postgresql/data" in compose["services"]["postgres"]["volumes"]
    assert "chroma:/data" in compose["services"]["chroma"]["volumes"]


def test_workers_scale_and_the_api_port_matches_zhiku_port(compose: dict[str, Any]) -> None:
    worker, api = compose["services"]["worker"], compose["services"]["api"]
    assert "container_name" not in worker and "ports" not in worker
    assert worker["command"] == ["worker"] and api["command"] == ["serve"]
    assert worker["image"] == api["image"]
    port = str(api["environment"]["ZHIKU_PORT"])
    assert [p.rsplit(":", 1)[-1] for p in api["ports"]] == [port]
    assert f"127.0.0.1:{port}/healthz" in " ".join(api["healthcheck"]["test"])


def test_services_point_at_each_other(compose: dict[str, Any]) -> None:
    env = compose["services"]["worker"]["environment"]
    assert env["ZHIKU_CHROMA_URL"] == "http://chroma:8000"
    assert env["ZHIKU_QUEUE_URL"].startswith("redis://redis:6379/")
    postgres = compose["services"]["postgres"]["environment"]
    user, password, db = (
        postgres[k] for k in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB")
    )
    assert env["ZHIKU_DATABASE_URL"] == f"postgresql://{user}:{password}@postgres:5432/{db}"
    assert "http://ollama:11434/v1" in env["ZHIKU_LLM_BASE_URL"]


def test_chroma_server_image_matches_the_installed_client(compose: dict[str, Any]) -> None:
    assert compose["services"]["chroma"]["image"] == f"chromadb/chroma:{version('chromadb')}"


def test_dockerfile_builds_in_stages_and_runs_zhiku_as_a_non_root_user(dockerfile: str) -> None:
    steps = _instructions(dockerfile)
    froms = [arg for op, arg in steps if op == "FROM"]
    assert len(froms) >= 2 and all(f.startswith("python:3.11-slim") for f in froms)
    users = [arg for op, arg in steps if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert any(op == "HEALTHCHECK" and "/healthz" in arg for op, arg in steps)
    entry = " ".join(arg for op, arg in steps if op in ("ENTRYPOINT", "CMD"))
    assert "zhiku" in entry
    runs = " ".join(arg for op, arg in steps if op == "RUN")
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in runs
    env = " ".join(arg for op, arg in steps if op == "ENV")
    assert "ZHIKU_HOST=0.0.0.0" in env and "HF_HUB_OFFLINE=1" in env


def test_the_image_copies_every_package_the_project_installs(dockerfile: str) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = {arg.split()[0] for op, arg in _instructions(dockerfile) if op == "COPY"}
    assert packages and packages <= copied


def test_every_file_the_packages_read_at_run_time_is_installed_with_them() -> None:
    """Files beside the code (the page, fitted weights) reach a non-editable install, such as
    the image's, only through package-data."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = project["tool"]["setuptools"]["package-data"]
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    for package in packages:
        for path in (ROOT / package).rglob("*"):
            if path.is_file() and path.suffix not in (".py", ".pyc"):
                inside = path.relative_to(ROOT / package)
                assert any(
                    inside.match(g) or fnmatch(str(inside), g) for g in globs.get(package, [])
                ), f"{package}/{inside} is not in [tool.setuptools.package-data]"


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "data", ".env"} <= set(ignored)
