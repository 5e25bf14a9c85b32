"""The service's one configuration object, read from the environment (prefix ``MSC_``)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_MARKER = "dev-only"  # noqa: S105 - a marker that production refuses, not a secret
"""Every default secret contains this marker, so production can refuse all of them at once."""

PI_SANDBOX_API_KEY = "sandbox-" + DEV_SECRET_MARKER + "-pi-api-key"
MIDTRANS_SANDBOX_URL = "http://midtrans-sandbox.internal"
"""The in-process Midtrans status sandbox (chain/qris/gateways/midtrans_sandbox.py)."""
MIDTRANS_TEST_HOSTS = ("midtrans-sandbox.internal", "api.sandbox.midtrans.com")


class Environment(StrEnum):
    """Where the service runs; production refuses sandbox keys and default secrets."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class PiNetwork(StrEnum):
    """The Pi chain's network passphrases, exactly as Pi's Horizon and SDK spell them."""

    TESTNET = "Pi Testnet"
    MAINNET = "Pi Network"


class ConfigurationError(ValueError):
    """The configuration cannot be used (e.g. default secrets in production)."""


class Settings(BaseSettings):
    """All configuration, one object. Unset ``database_url`` means the embedded PostgreSQL."""

    model_config = SettingsConfigDict(env_prefix="MSC_", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path(".data")
    database_url: str | None = None
    redis_url: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    log_level: str = "INFO"
    pseudonym_key: SecretStr = SecretStr(DEV_SECRET_MARKER + "-pseudonym-key")
    operator_token: SecretStr = SecretStr(DEV_SECRET_MARKER + "-operator-token")
    """Bearer token of the treasury's read models (e.g. the QRIS exceptions report)."""

    pi_api_url: str = "https://api.minepi.com"
    pi_api_key: SecretStr = SecretStr(PI_SANDBOX_API_KEY)
    pi_horizon_url: str = "https://api.testnet.minepi.com"
    pi_network: PiNetwork = PiNetwork.TESTNET
    pi_wallet_secret: SecretStr | None = None
    pi_wallet_secret_file: Path | None = None
    pi_sandbox: bool = True

    evm_rpc_url: str = "http://127.0.0.1:8545"
    evm_chain_id: int = 31337
    evm_private_key: SecretStr | None = None
    evm_private_key_file: Path | None = None
    evm_confirmations: int = Field(default=1, ge=0, le=64)
    # --- EVM (issue 5): role holders default to the service key's address when unset.
    evm_admin_address: str | None = None
    evm_minter_address: str | None = None
    evm_pauser_address: str | None = None
    evm_blocklister_address: str | None = None
    evm_attester_address: str | None = None
    evm_publisher_address: str | None = None
    evm_minter_allowance: int = Field(default=10_000_000_000_00, ge=0)
    evm_receipt_timeout_s: float = Field(default=120.0, gt=0)
    evm_rpc_timeout_s: float = Field(default=10.0, gt=0)
    evm_max_fee_per_gas_wei: int = Field(default=200 * 10**9, gt=0)
    evm_priority_fee_wei: int = Field(default=10**9, ge=0)
    evm_priority_fee_cap_wei: int = Field(default=5 * 10**9, gt=0)
    evm_scan_blocks_max: int = Field(default=2000, ge=1, le=100_000)

    qris_midtrans_server_key: SecretStr = SecretStr(DEV_SECRET_MARKER + "-midtrans-server-key")
    qris_xendit_callback_token: SecretStr = SecretStr(DEV_SECRET_MARKER + "-xendit-token")
    qris_midtrans_api_url: str = MIDTRANS_SANDBOX_URL
    """Midtrans' GET Status API, https://api.midtrans.com; the default is the in-process sandbox."""
    # QRIS engineer (issue 4): SNAP notify key, report formats, expectation lifetime.
    qris_snap_public_key_file: Path | None = None
    qris_report_formats_file: Path | None = None
    qris_expectation_ttl_s: int = Field(default=1800, ge=60, le=7 * 24 * 3600)
    # --- Audit: officers (threshold + ed25519 public keys) named in each month's manifest.
    audit_officers_file: Path | None = None

    outbox_attempts_max: int = Field(default=12, ge=1, le=100)
    outbox_backoff_base_s: int = Field(default=1, ge=1)
    outbox_backoff_cap_s: int = Field(default=600, ge=1)

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Self:
        if self.env is not Environment.PRODUCTION:
            return self
        problems = [name for name, value in self._secrets().items() if _is_default(value)]
        if self.pi_sandbox:
            problems.append("pi_sandbox")
        if any(host in self.qris_midtrans_api_url for host in MIDTRANS_TEST_HOSTS):
            problems.append("qris_midtrans_api_url (sandbox)")
        if self.database_url is None:
            problems.append("database_url (embedded database)")
        if problems:
            raise ConfigurationError(
                "refusing to start in production with sandbox or default settings: "
                + ", ".join(sorted(problems))
            )
        return self

    def _secrets(self) -> dict[str, SecretStr | None]:
        return {
            "pseudonym_key": self.pseudonym_key,
            "operator_token": self.operator_token,
            "pi_api_key": self.pi_api_key,
            "qris_midtrans_server_key": self.qris_midtrans_server_key,
            "qris_xendit_callback_token": self.qris_xendit_callback_token,
        }


def _is_default(value: SecretStr | None) -> bool:
    return value is None or DEV_SECRET_MARKER in value.get_secret_value()
