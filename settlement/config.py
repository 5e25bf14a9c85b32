"""The service's one configuration object, read from the environment (prefix ``MSC_``)."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
)

SECRETS_DIR_ENV = "MSC_SECRETS_DIR"
DEV_SECRET_MARKER = "dev-only"  # noqa: S105 - a marker that production refuses, not a secret
"""Every default secret contains this marker, so production can refuse all of them at once."""

PI_SANDBOX_API_KEY = "sandbox-" + DEV_SECRET_MARKER + "-pi-api-key"
DEV_CHAIN_ID = 31337
"""anvil's (and Hardhat's) chain id: the development default, which production refuses."""
secret_bytes_min = 32
"""Production's floor for the secrets the treasury generates itself (operator token, pseudonym
key): shorter ones can be guessed, and the pseudonym key guards published pseudonyms against a
dictionary of party ids."""
production_confirmations_min = 2
MIDTRANS_SANDBOX_URL = "http://midtrans-sandbox.internal"
"""The in-process Midtrans status sandbox (chain/qris/gateways/midtrans_sandbox.py)."""
MIDTRANS_TEST_HOSTS = ("midtrans-sandbox.internal", "api.sandbox.midtrans.com")
RATES_SANDBOX_URL = "http://rates-sandbox.internal"
"""The in-process rates sandbox (chain/rates/sandbox.py), mounted under /rates-sandbox."""
production_rate_sources_min = 2
TREASURY_RATE_SOURCE = "treasury"
"""The name of the officer-entered rate (``settlement.rates.readings``): no configured source's."""
"""Production quotes at the median of at least this many fresh sources."""


class RateSourceSetting(BaseModel):
    """One HTTP JSON price source of PI in IDR (an item of ``MSC_RATES_SOURCES``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    url: str = Field(pattern=r"^https?://", max_length=512)
    field: str = Field(pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$", max_length=128)
    """Dotted path of the price in the JSON answer, e.g. ``data.price``."""
    inverse: bool = False
    """True when the source gives Pi per Rupiah rather than Rupiah per Pi."""
    observed_field: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$", max_length=128
    )
    """Dotted path of when the source observed the price (ISO 8601 or epoch seconds)."""


class WitnessSetting(BaseModel):
    """One witness the log submits its checkpoints to (an item of ``MSC_TLOG_WITNESSES``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vkey: str = Field(pattern=r"^[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$", max_length=400)
    """The witness's C2SP verifier key (cosignature type 4)."""
    url: str = Field(pattern=r"^https?://", max_length=512)
    """Its submission prefix: the log POSTs to ``<url>/add-checkpoint``."""


def _sandbox_rate_sources() -> list[RateSourceSetting]:
    return [
        RateSourceSetting(
            name="sandbox",
            url=RATES_SANDBOX_URL + "/price",
            field="data.price",
            observed_field="data.observed_at",
        )
    ]


class Environment(StrEnum):
    """Where the service runs; production refuses sandbox keys and default secrets."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class PiNetwork(StrEnum):
    """The Pi chain's network passphrases, exactly as Pi's Horizon and SDK spell them."""

    TESTNET = "Pi Testnet"
    MAINNET = "Pi Network"


def project_data_dir() -> Path:
    """``.data`` in the project (the folder of pyproject.toml above this package), so that a
    command run from any folder finds the same embedded database; else in the working folder."""
    project = Path(__file__).resolve().parents[1]
    return (project if (project / "pyproject.toml").is_file() else Path.cwd()) / ".data"


class ConfigurationError(ValueError):
    """The configuration cannot be used (e.g. default secrets in production)."""


class Settings(BaseSettings):
    """All configuration, one object. Unset ``database_url`` means the embedded PostgreSQL."""

    model_config = SettingsConfigDict(env_prefix="MSC_", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    secrets_dir: Path | None = None
    """A folder of one file per setting (``msc_database_url``, ``msc_operator_token``...), read
    after the environment: docker-compose.yml's ``secrets:`` mount at /run/secrets."""
    data_dir: Path = Field(default_factory=project_data_dir)
    database_url: str | None = None
    redis_url: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    http_processes: int = Field(default=1, ge=1, le=64)
    """HTTP server processes sharing ``msc serve``'s socket (the worker runs in the first)."""
    http_body_bytes_max: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    """Request bodies over this are refused with 413 before they are read further."""
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
    pi_a2u_expiry_margin_s: int = Field(default=120, ge=30, le=3600)
    """Wait this long past an A2U transaction's time bound before voiding a payout not on chain."""
    pi_watch_delay_s: int = Field(default=120, ge=0, le=24 * 3600)
    """How long Pi that reached the app wallet (or an approved payment) waits for its completion
    callback before the wallet watch books it from the chain or flags it (settlement/pi/watch)."""

    evm_rpc_url: str = "http://127.0.0.1:8545"
    evm_chain_id: int = DEV_CHAIN_ID
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
    # --- Transparency log (issue 14, decision 0031): the cumulative log's identity, witnesses.
    tlog_origin: str = Field(default="madiun.go.id/msc/transfers", pattern=r"^[^\s+]{1,255}$")
    """The checkpoints' origin line and the log key's name."""
    tlog_note_key_file: Path | None = None
    """The log's note signer key (``msc-audit keygen --name ORIGIN``); unset outside
    production, a key is generated under data_dir/tlog/note.key."""
    tlog_witnesses: list[WitnessSetting] = Field(default_factory=list)
    """Witnesses asked to cosign each new checkpoint, through the outbox."""
    tlog_witness_timeout_s: float = Field(default=10.0, gt=0, le=120)
    # --- Audit (issue 14): the second anchor's account on the Pi rail's Horizon and network.
    audit_stellar_secret: SecretStr | None = None
    """The S... secret of the account whose transactions carry each month's digest as their
    memo hash (auditors pin its public key); unset in the Pi sandbox: a fixed dev key."""
    audit_stellar_secret_file: Path | None = None
    # --- Public audit (issue 14): where published bundles are, the public routes' rate limit,
    # the explorers the transparency page links anchor transactions to.
    audit_publish_dir: Path | None = None
    """One directory per published month (YYYY-MM) holding its bundle; default data_dir/audit."""
    public_requests_max: int = Field(default=120, ge=1, le=100_000)
    """Requests one client IP may make to the public audit routes per ``public_window_s``."""
    public_window_s: float = Field(default=60.0, gt=0, le=3600)
    # --- Rate limits (issue 15, decision 0038): per API key, per Pioneer, per client IP.
    key_requests_max: int = Field(default=6000, ge=1, le=1_000_000)
    """Requests one API key (merchant, treasury, gateway) may make per ``key_window_s``."""
    key_window_s: float = Field(default=60.0, gt=0, le=3600)
    pioneer_requests_max: int = Field(default=300, ge=1, le=1_000_000)
    """Requests one Pioneer (Pi uid) may make to the Pioneer routes per ``pioneer_window_s``."""
    pioneer_window_s: float = Field(default=60.0, gt=0, le=3600)
    ip_requests_max: int = Field(default=3000, ge=1, le=1_000_000)
    """Requests one client IP may make to the Pioneer routes per ``ip_window_s`` (whoever it
    says it is: a token Pi refuses still counts here). Generous: mobile carriers put many
    Pioneers behind one address."""
    ip_window_s: float = Field(default=60.0, gt=0, le=3600)
    audit_explorer_evm_tx_url: str = ""
    """An explorer's transaction page, ``{tx_hash}`` replaced (empty: no link)."""
    audit_explorer_stellar_tx_url: str = ""
    """A Stellar-family explorer's transaction page, ``{tx_hash}`` replaced (empty: no link)."""
    # --- Treasury governance (issue 13, decision 0030): M-of-N signed proposals.
    deployment_id: str = Field(default="madiun-development", pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    """Signed into every proposal: one made for this deployment is void in any other."""
    governance_proposal_ttl_s: int = Field(default=7 * 24 * 3600, ge=60, le=90 * 24 * 3600)
    """How long a new proposal can gather signatures and execute unless its proposer says."""

    # --- Checkout (issue 11): windows of a checkout, its quotes, escrow and idempotency keys.
    checkout_ttl_s: int = Field(default=900, ge=60, le=7 * 24 * 3600)
    """How long a checkout stays open for its legs to be paid; then it expires and refunds."""
    quote_ttl_s: int = Field(default=120, ge=10, le=3600)
    """How long a Pi leg's quote (and so its Pi expectation) holds its rate."""
    checkout_auto_release_s: int = Field(default=6 * 3600, ge=60, le=30 * 24 * 3600)
    """After the last leg is paid, escrow is released to the merchant when this passes without a
    hand-over; the payer may dispute until then."""
    # --- Reserves (issue 12): how often the worker recomputes and stores the reserve coverage.
    reserve_compute_interval_s: int = Field(default=300, ge=10, le=24 * 3600)
    """The worker stores a reserve computation this often (the metric and GET /v1/reserves
    follow rate moves even when no MSC is issued or redeemed)."""
    idempotency_ttl_s: int = Field(default=48 * 3600, ge=24 * 3600, le=30 * 24 * 3600)
    """How long an Idempotency-Key's first answer is kept (at least 24 hours)."""
    idempotency_lock_s: int = Field(default=30, ge=1, le=600)
    """A request holding a key this long without finishing (a crashed worker) loses it."""
    rates_sandbox_idr_per_pi: str = "5000.00"
    """The rates sandbox's first price of 1 PI in IDR (a decimal string; demo and tests)."""
    # --- Rates (issue 12): the Pi price sources and the rules their median must meet.
    rates_sources: list[RateSourceSetting] = Field(
        default_factory=_sandbox_rate_sources, min_length=1, max_length=16
    )
    """The HTTP JSON sources of PI in IDR (a JSON list); the default is the rates sandbox."""
    rates_sources_min: int = Field(default=1, ge=1, le=16)
    """Fewer fresh sources than this (the treasury's rate counts) and nothing is quoted."""
    rates_age_s_max: int = Field(default=300, ge=5, le=24 * 3600)
    """A reading observed longer ago than this is stale."""
    rates_spread_bp_max: int = Field(default=500, ge=0, le=10_000)
    """Fresh readings further apart than this (basis points of their median) quote nothing."""
    rates_reuse_s: int = Field(default=30, ge=0, le=3600)
    """A source's reading fetched this recently is used again instead of asking it once more."""
    rates_poll_s: int = Field(default=30, ge=5, le=3600)
    """The worker asks every source this often, so quotes find their readings ready."""
    rates_connect_timeout_s: float = Field(default=2.0, gt=0, le=30)
    rates_read_timeout_s: float = Field(default=3.0, gt=0, le=60)
    rates_total_timeout_s: float = Field(default=5.0, gt=0, le=120)
    """Longest one source's whole answer may take."""
    rates_response_bytes_max: int = Field(default=65_536, ge=256, le=4 * 1024 * 1024)

    # --- Payouts (issue 12): the daily bank batch.
    payout_cutoff_wib: str = Field(default="14:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    """The daily cut-off (HH:MM, WIB): what is due by it goes into that day's bank batch, which
    may be cut once it has passed."""
    payout_lines_max: int = Field(default=200_000, ge=1, le=999_999)
    """A batch holds at most this many lines (the rest waits for the next day's)."""

    outbox_attempts_max: int = Field(default=12, ge=1, le=100)
    outbox_backoff_base_s: int = Field(default=1, ge=1)
    outbox_backoff_cap_s: int = Field(default=600, ge=1)
    check_outbox_lag_max_s: int = Field(default=300, ge=1, le=7 * 24 * 3600)
    """``msc check`` fails when a due side effect has waited longer than this."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then ``MSC_SECRETS_DIR``'s files (when set)."""
        directory = os.environ.get(SECRETS_DIR_ENV)
        if not directory:
            return init_settings, env_settings, dotenv_settings, file_secret_settings
        secrets = SecretsSettingsSource(settings_cls, secrets_dir=directory)
        return init_settings, env_settings, dotenv_settings, secrets

    @model_validator(mode="after")
    def _rate_sources_named_once(self) -> Self:
        names = [source.name for source in self.rates_sources]
        if len(set(names)) != len(names) or TREASURY_RATE_SOURCE in names:
            raise ConfigurationError(
                f"rates_sources need distinct names, none {TREASURY_RATE_SOURCE!r}: {names}"
            )
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Self:
        if self.env is not Environment.PRODUCTION:
            return self
        problems = [*self._weak_secrets(), *self._dev_chain(), *self._dev_passwords_in_urls()]
        if self.pi_sandbox:
            problems.append("pi_sandbox")
        if any(host in self.qris_midtrans_api_url for host in MIDTRANS_TEST_HOSTS):
            problems.append("qris_midtrans_api_url (sandbox)")
        if any(source.url.startswith(RATES_SANDBOX_URL) for source in self.rates_sources):
            problems.append("rates_sources (sandbox)")
        if self.rates_sources_min < production_rate_sources_min:
            problems.append(f"rates_sources_min (fewer than {production_rate_sources_min})")
        if self.database_url is None:
            problems.append("database_url (embedded database)")
        if self.tlog_note_key_file is None:
            problems.append("tlog_note_key_file (generated development key)")
        if problems:
            raise ConfigurationError(
                "refusing to start in production with sandbox or default settings: "
                + ", ".join(sorted(problems))
            )
        return self

    def _weak_secrets(self) -> list[str]:
        """Default, empty, or (for our own secrets) shorter than ``secret_bytes_min``."""
        weak = [name for name, value in self._secrets().items() if _is_default(value)]
        optional = {
            "pi_wallet_secret": self.pi_wallet_secret,
            "evm_private_key": self.evm_private_key,
            "audit_stellar_secret": self.audit_stellar_secret,
        }
        weak += [
            name for name, value in optional.items() if value is not None and _is_default(value)
        ]
        for name, value in {
            "pseudonym_key": self.pseudonym_key,
            "operator_token": self.operator_token,
        }.items():
            if len(value.get_secret_value().encode()) < secret_bytes_min:
                weak.append(f"{name} (shorter than {secret_bytes_min} bytes)")
        return weak

    def _dev_chain(self) -> list[str]:
        """The local development chain: anvil's id, a generated key, no confirmation depth."""
        found = []
        if self.evm_chain_id == DEV_CHAIN_ID:
            found.append(f"evm_chain_id ({DEV_CHAIN_ID} is the local anvil)")
        if self.evm_private_key is None and self.evm_private_key_file is None:
            found.append("evm_private_key (unset: a generated service key)")
        if self.evm_confirmations < production_confirmations_min:
            found.append(f"evm_confirmations (fewer than {production_confirmations_min})")
        return found

    def _dev_passwords_in_urls(self) -> list[str]:
        """URLs holding a marked default, e.g. docker-compose.yml's ``msc-dev-only`` password."""
        urls = {
            name: getattr(self, name) for name in type(self).model_fields if name.endswith("_url")
        }
        return [
            f"{name} (a dev-only password)"
            for name, url in urls.items()
            if isinstance(url, str) and DEV_SECRET_MARKER in url
        ]

    def audit_publish_path(self) -> Path:
        """Where the published bundles are (``audit_publish_dir`` or data_dir/audit)."""
        return self.audit_publish_dir or self.data_dir / "audit"

    def secret_values(self) -> list[str]:
        """Every configured secret, for the log redactor (URLs are redacted by their form)."""
        fields = {name: getattr(self, name) for name in type(self).model_fields}
        values = [
            value.get_secret_value() for value in fields.values() if isinstance(value, SecretStr)
        ]
        for path in (
            self.pi_wallet_secret_file,
            self.evm_private_key_file,
            self.audit_stellar_secret_file,
        ):
            if path is not None and path.is_file():
                values.append(path.read_text().strip())
        return [value for value in values if value]

    def _secrets(self) -> dict[str, SecretStr | None]:
        return {
            "pseudonym_key": self.pseudonym_key,
            "operator_token": self.operator_token,
            "pi_api_key": self.pi_api_key,
            "qris_midtrans_server_key": self.qris_midtrans_server_key,
            "qris_xendit_callback_token": self.qris_xendit_callback_token,
        }


def _is_default(value: SecretStr | None) -> bool:
    """Unset, empty, or a development default."""
    if value is None:
        return True
    secret = value.get_secret_value()
    return not secret or DEV_SECRET_MARKER in secret
