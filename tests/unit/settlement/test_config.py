"""Configuration: defaults work for development; production refuses sandbox and default secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from chain.evm.anvil import ANVIL_CHAIN_ID
from settlement.config import DEV_CHAIN_ID, Environment, PiNetwork, Settings

ROOT = Path(__file__).resolve().parents[3]
PRODUCTION_SAFE = {
    "env": "production",
    "database_url": "postgresql://msc:a-real-password@db/msc",
    "pseudonym_key": "k" * 32,
    "operator_token": "t" * 32,
    "pi_api_key": "live-key",
    "pi_sandbox": False,
    "qris_midtrans_server_key": "mid-key",
    "qris_xendit_callback_token": "xnd-token",
    "evm_rpc_url": "https://rpc.example/v3/provider-key",
    "evm_chain_id": 11155111,
    "evm_private_key_file": "/run/secrets/evm.key",
    "evm_confirmations": 2,
    "qris_midtrans_api_url": "https://api.midtrans.com",
    "rates_sources": [
        {"name": "one", "url": "https://rates-one.example/pi-idr", "field": "data.price"},
        {"name": "two", "url": "https://rates-two.example/idr-pi", "field": "p", "inverse": True},
    ],
    "rates_sources_min": 2,
    "tlog_note_key_file": "/run/secrets/tlog-note.key",
}


def test_development_defaults_need_nothing() -> None:
    settings = Settings()
    assert settings.env is Environment.DEVELOPMENT
    assert settings.database_url is None  # the embedded default
    assert settings.pi_network is PiNetwork.TESTNET


def test_environment_prefix_is_msc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MSC_DATABASE_URL", "postgresql://x@h/db")
    monkeypatch.setenv("MSC_PI_NETWORK", "Pi Network")
    settings = Settings()
    assert settings.database_url == "postgresql://x@h/db"
    assert settings.pi_network is PiNetwork.MAINNET


def test_production_with_real_settings_starts() -> None:
    assert Settings(**PRODUCTION_SAFE).env is Environment.PRODUCTION  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pseudonym_key", "dev-only-pseudonym-key"),
        ("operator_token", "dev-only-operator-token"),
        ("pi_api_key", "sandbox-dev-only-pi-api-key"),
        ("pi_sandbox", True),
        ("database_url", None),
        ("qris_midtrans_server_key", "dev-only-midtrans-server-key"),
        ("qris_midtrans_api_url", "http://midtrans-sandbox.internal"),
        ("qris_midtrans_api_url", "https://api.sandbox.midtrans.com"),
        ("rates_sources_min", 1),
        ("tlog_note_key_file", None),
        (
            "rates_sources",
            [{"name": "sandbox", "url": "http://rates-sandbox.internal/price", "field": "d.p"}],
        ),
    ],
)
def test_production_refuses_each_default(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match="refusing to start in production"):
        Settings(**{**PRODUCTION_SAFE, field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("operator_token", ""),
        ("operator_token", "t" * 31),
        ("pseudonym_key", ""),
        ("pseudonym_key", "k" * 31),
        ("pi_api_key", ""),
        ("qris_midtrans_server_key", ""),
        ("qris_xendit_callback_token", ""),
        ("pi_wallet_secret", ""),
        ("evm_private_key", ""),
    ],
)
def test_production_refuses_empty_or_short_secrets(field: str, value: str) -> None:
    """Issue 9 item 7: an empty operator token admitted ``Authorization: Bearer ``."""
    with pytest.raises(ValidationError, match=f"refusing to start in production.*{field}"):
        Settings(**{**PRODUCTION_SAFE, field: value})  # type: ignore[arg-type]


def test_a_secret_of_32_bytes_is_long_enough() -> None:
    settings = Settings(**{**PRODUCTION_SAFE, "operator_token": "é" * 16})  # type: ignore[arg-type]
    assert settings.env is Environment.PRODUCTION


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"evm_chain_id": 31337}, "evm_chain_id"),
        ({"evm_private_key_file": None}, "evm_private_key"),
        ({"evm_confirmations": 1}, "evm_confirmations"),
        ({"evm_confirmations": 0}, "evm_confirmations"),
    ],
)
def test_production_refuses_the_local_chain_settings(
    changes: dict[str, object], named: str
) -> None:
    """Issue 9 item 8: production minted on anvil's chain 31337 with a generated key."""
    with pytest.raises(ValidationError, match=f"refusing to start in production.*{named}"):
        Settings(**{**PRODUCTION_SAFE, **changes})  # type: ignore[arg-type]


def test_the_refused_chain_id_is_anvils() -> None:
    assert DEV_CHAIN_ID == ANVIL_CHAIN_ID


def test_production_with_a_configured_key_value_starts() -> None:
    settings = {
        **PRODUCTION_SAFE,
        "evm_private_key_file": None,
        "evm_private_key": "0x" + "ab" * 32,
    }
    assert Settings(**settings).env is Environment.PRODUCTION  # type: ignore[arg-type]


DEV_PASSWORDS = ("msc-dev-only", "dev-only-replace-me")
"""Marked defaults: the old compose file's password, scripts/secrets-init's placeholder."""


def test_the_compose_file_puts_no_password_in_an_msc_setting() -> None:
    lines = (ROOT / "docker-compose.yml").read_text().splitlines()
    settings = [line for line in lines if line.strip().startswith("MSC_")]
    assert not [line for line in settings if "PASSWORD" in line or "@" in line]


@pytest.mark.parametrize("password", DEV_PASSWORDS)
@pytest.mark.parametrize(
    ("field", "template"),
    [
        ("database_url", "postgresql://msc:{}@postgres:5432/msc"),
        ("redis_url", "redis://:{}@redis:6379/0"),
        ("evm_rpc_url", "https://user:{}@rpc.example/"),
        ("pi_api_url", "https://api.example/?password={}"),
        ("pi_horizon_url", "https://horizon.example/{}"),
    ],
)
def test_production_refuses_compose_dev_passwords_in_any_url(
    password: str, field: str, template: str
) -> None:
    with pytest.raises(ValidationError, match=f"refusing to start in production.*{field}"):
        Settings(**{**PRODUCTION_SAFE, field: template.format(password)})  # type: ignore[arg-type]


def test_secrets_read_from_files_are_known_to_the_redactor(tmp_path: Path) -> None:
    key_file = tmp_path / "evm.key"
    key_file.write_text("0x" + "ab" * 32 + "\n")
    wallet_file = tmp_path / "wallet.secret"
    wallet_file.write_text("SWALLETSECRETFROMAFILE\n")
    settings = Settings(evm_private_key_file=key_file, pi_wallet_secret_file=wallet_file)
    secrets = settings.secret_values()
    assert "0x" + "ab" * 32 in secrets
    assert "SWALLETSECRETFROMAFILE" in secrets
    assert "" not in secrets


def test_data_dir_is_the_projects_whatever_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MSC_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert Settings().data_dir == ROOT / ".data"


def test_data_dir_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MSC_DATA_DIR", str(tmp_path / "elsewhere"))
    assert Settings().data_dir == tmp_path / "elsewhere"


@pytest.mark.parametrize("names", [["a", "a"], ["treasury"]])
def test_rate_sources_have_distinct_names_and_none_is_the_treasury(names: list[str]) -> None:
    sources = [{"name": n, "url": "https://rates.example/p", "field": "p"} for n in names]
    with pytest.raises(ValidationError, match="distinct names"):
        Settings(rates_sources=sources)  # type: ignore[arg-type]


def test_rate_sources_come_from_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "MSC_RATES_SOURCES",
        '[{"name": "one", "url": "https://rates.example/p", "field": "data.price",'
        ' "inverse": true, "observed_field": "data.at"}]',
    )
    (source,) = Settings().rates_sources
    assert (source.name, source.field, source.inverse, source.observed_field) == (
        "one", "data.price", True, "data.at",
    )  # fmt: skip
