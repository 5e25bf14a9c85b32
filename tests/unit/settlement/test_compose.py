"""docker-compose.yml for production (issue 16), checked without a container engine: the file
keeps to the Compose schema's shape (the keys and value forms this file uses), and everything it
references (secrets, volumes, networks, images, environment variables) is declared.

No engine (nor ``docker compose config``) runs here, so this is the file's validation; the README's
operator page says what was not run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from settlement.config import Settings

ROOT = Path(__file__).resolve().parents[3]
TOP_LEVEL = {"name", "services", "networks", "volumes", "secrets", "configs", "include"}
SERVICE_KEYS = {
    "build", "image", "command", "entrypoint", "environment", "env_file", "volumes", "ports",
    "networks", "secrets", "healthcheck", "depends_on", "restart", "stop_grace_period",
    "user", "working_dir", "labels", "logging", "deploy", "expose", "profiles", "read_only",
    "tmpfs", "cap_drop", "security_opt",
}  # fmt: skip
HEALTHCHECK_KEYS = {"test", "interval", "timeout", "retries", "start_period", "disable"}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
DURATION = re.compile(r"^[0-9]+(ms|s|m|h)$")
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::?-[^}]*)?\}")
SECRET_WORDS = ("PASSWORD", "TOKEN", "SECRET", "_KEY")
ONE_SHOT = "no"


def load() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load()


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def env_example() -> dict[str, str]:
    pairs = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def test_the_file_keeps_to_the_compose_schema(compose: dict[str, Any]) -> None:
    assert set(compose) - TOP_LEVEL <= {key for key in compose if key.startswith("x-")}
    for name, service in services(compose).items():
        assert set(service) <= SERVICE_KEYS, (name, set(service) - SERVICE_KEYS)
        assert "image" in service or "build" in service, name
        for key in ("command", "secrets", "networks", "volumes", "ports"):
            assert isinstance(service.get(key, []), list), (name, key)
        assert isinstance(service.get("environment", {}), dict), name
        assert all(isinstance(v, str) for v in service.get("environment", {}).values()), name
        check = service.get("healthcheck", {})
        assert set(check) <= HEALTHCHECK_KEYS, (name, check)
        for key in ("interval", "timeout", "start_period"):
            assert key not in check or DURATION.match(check[key]), (name, key)
        if "test" in check:
            assert check["test"][0] in {"CMD", "CMD-SHELL"}, name
        assert service.get("restart", "unless-stopped") in {"no", "always", "unless-stopped"}
        for other, rule in service.get("depends_on", {}).items():
            assert other in services(compose), (name, other)
            assert rule["condition"] in CONDITIONS, (name, rule)
    for section in ("networks", "volumes", "secrets"):
        assert all(v is None or isinstance(v, dict) for v in compose[section].values()), section


def test_images_are_pinned_by_digest_and_python_comes_from_the_lock(
    compose: dict[str, Any],
) -> None:
    for name, service in services(compose).items():
        if "build" in service:
            dockerfile = ROOT / service["build"]["context"] / service["build"]["dockerfile"]
            for line in dockerfile.read_text().splitlines():
                if line.startswith("FROM "):
                    assert DIGEST.search(line.split()[1]), (name, line)
        else:
            assert DIGEST.search(service["image"]), (name, service["image"])
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    assert "--require-hashes" in dockerfile
    assert "requirements/run.lock" in dockerfile


def test_every_referenced_secret_volume_and_network_is_declared(compose: dict[str, Any]) -> None:
    init = (ROOT / "scripts/secrets-init").read_text()
    for name, declared in compose["secrets"].items():
        assert declared["file"] == f"./secrets/{name}", name
        assert re.search(rf"\b{name}\b", init), f"scripts/secrets-init does not write {name}"
    fields = set(Settings.model_fields)
    for name, service in services(compose).items():
        for secret in service.get("secrets", []):
            assert secret in compose["secrets"], (name, secret)
            if secret.startswith("msc_"):  # a setting's value, or the file a *_FILE names
                named = f"/run/secrets/{secret}" in compose["x-msc-env"].values()
                assert secret.removeprefix("msc_") in fields or named, secret
        for network in service.get("networks", []):
            assert network in compose["networks"], (name, network)
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), (name, source)
            else:
                assert source in compose["volumes"], (name, source)
    used = {s for service in services(compose).values() for s in service.get("secrets", [])}
    assert used == set(compose["secrets"]), set(compose["secrets"]) ^ used


def test_every_environment_variable_is_declared_in_env_example(compose: dict[str, Any]) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    referenced = set(VARIABLE.findall(text))
    declared = set(env_example())
    assert referenced <= declared, referenced - declared
    fields = {f"MSC_{name.upper()}" for name in Settings.model_fields}
    extra = {name for name in declared - referenced if not name.startswith("MSC_")}
    assert not extra, f"declared but unused: {extra}"
    assert {name for name in declared if name.startswith("MSC_")} - referenced <= fields


def test_env_example_names_every_setting() -> None:
    text = (ROOT / ".env.example").read_text()
    named = set(re.findall(r"^#? ?(MSC_[A-Z0-9_]+)", text, flags=re.MULTILINE))
    fields = {f"MSC_{name.upper()}" for name in Settings.model_fields}
    assert fields <= named, sorted(fields - named)


def test_no_secret_is_inline(compose: dict[str, Any]) -> None:
    for name, service in services(compose).items():
        for key, value in service.get("environment", {}).items():
            if key == "MSC_SECRETS_DIR":
                assert value == "/run/secrets", name
            elif any(word in key for word in SECRET_WORDS):
                assert key.endswith("_FILE"), (name, key)
                assert value.startswith("/run/secrets/"), (name, key)
            assert not re.search(r"://[^/@\s]*:[^/@\s]*@", value), (name, key, "password in URL")
        for key in service.get("environment", {}):
            assert key not in {"MSC_DATABASE_URL", "MSC_REDIS_URL"}, (name, key)
    redis = services(compose)["redis"]
    assert "--requirepass" in " ".join(redis["command"])
    grafana = services(compose)["grafana"]["environment"]
    assert grafana["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana_admin_password"


def test_only_the_api_is_published_on_a_configurable_interface(compose: dict[str, Any]) -> None:
    published = {name for name, s in services(compose).items() if s.get("ports")}
    assert published == {"api"}
    (port,) = services(compose)["api"]["ports"]
    assert port.startswith("${MSC_PUBLISH_HOST:-127.0.0.1}:"), port
    assert compose["networks"]["backend"]["internal"] is True
    for name in ("postgres", "redis", "prometheus", "grafana"):
        assert services(compose)[name]["networks"] == ["backend"], name


def test_every_service_has_a_healthcheck_and_only_migrate_migrates(
    compose: dict[str, Any],
) -> None:
    for name, service in services(compose).items():
        if service.get("restart") == ONE_SHOT:
            continue
        check = service.get("healthcheck", {})
        assert not check.get("disable"), f"{name} has its healthcheck disabled"
        assert check.get("test"), f"{name} has no healthcheck"
    migrate = services(compose)["migrate"]
    assert migrate["command"] == ["msc", "db", "upgrade"]
    assert migrate["restart"] == ONE_SHOT
    for name in ("api", "worker", "beat", "deploy-contracts"):
        rule = services(compose)[name]["depends_on"]["migrate"]
        assert rule["condition"] == "service_completed_successfully", name
    assert services(compose)["worker"]["healthcheck"]["test"] == ["CMD", "msc", "health", "worker"]
    assert services(compose)["beat"]["healthcheck"]["test"] == ["CMD", "msc", "health", "beat"]
