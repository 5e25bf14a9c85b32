"""Configuration: defaults work for development; production refuses sandbox and default secrets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from settlement.config import Environment, PiNetwork, Settings

PRODUCTION_SAFE = {
    "env": "production",
    "database_url": "postgresql://msc@db/msc",
    "pseudonym_key": "k" * 32,
    "operator_token": "t" * 32,
    "pi_api_key": "live-key",
    "pi_sandbox": False,
    "qris_midtrans_server_key": "mid-key",
    "qris_xendit_callback_token": "xnd-token",
    "qris_midtrans_api_url": "https://api.midtrans.com",
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
    ],
)
def test_production_refuses_each_default(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match="refusing to start in production"):
        Settings(**{**PRODUCTION_SAFE, field: value})  # type: ignore[arg-type]
