"""Wiring: the one place that builds concrete adapters and hands them to the use cases."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine

from chain.qris.gateways.base import GatewayAdapter
from escrow.clock import Clock, SystemClock
from settlement.audit.published import PublishedBundles
from settlement.audit.transparency import NotYetAvailable, TransparencyLog
from settlement.audit.transparency_log import DatabaseTransparencyLog
from settlement.checkout.service import CheckoutDeps, CheckoutWindows
from settlement.config import MIDTRANS_SANDBOX_URL, ConfigurationError, Settings
from settlement.db import make_engine
from settlement.evm.bridge import MINT_KIND, MintHandler
from settlement.evm.sender import SendLimits, TxSender
from settlement.logging import Redactor
from settlement.outbox import Dispatcher, OutboxMessage, RetryPolicy
from settlement.pi.deps import PiDeps
from settlement.ratelimit import (
    InProcessLimiter,
    RateLimiter,
    RateLimits,
    RedisLimiter,
    redis_client,
)
from settlement.rates.panel import RatePanel
from settlement.throttle import Throttle

if TYPE_CHECKING:
    from starlette.types import ASGIApp
    from stellar_sdk import Keypair

    from chain.qris.gateways.midtrans_sandbox import MidtransSandbox
    from chain.qris.gateways.midtrans_status import MidtransStatusSource
    from chain.rates.sandbox import RateSandbox
    from settlement.audit.cumulative import LogConfig


@dataclass(frozen=True)
class Container:
    """Everything a request or a worker needs, built complete once at start, never changed.

    ``build_container`` builds it from configuration; tests build one with
    :func:`assemble_container` and vary a part with ``dataclasses.replace`` (decision 0015).
    """

    settings: Settings
    database_url: str
    engine: Engine
    dispatcher: Dispatcher
    evm: EvmSenderOnFirstUse
    """The one EVM sender (and node), built when first needed: the node may be down at start."""
    checkout: CheckoutDeps
    """The checkouts' price source, windows and settlement conversion."""
    pi: PiDeps | None = None
    pi_sandbox_app: ASGIApp | None = None
    """The in-process Pi sandbox, mounted under /pi-sandbox when MSC_PI_SANDBOX is on."""
    qris_adapters: Mapping[str, GatewayAdapter] = field(default_factory=dict)
    qris_midtrans_sandbox: MidtransSandbox | None = None
    """The in-process Midtrans status sandbox while MSC_QRIS_MIDTRANS_API_URL is its default."""
    rates_sandbox_app: ASGIApp | None = None
    """The in-process rates sandbox, mounted under /rates-sandbox while a source points at it."""
    jobs: tuple[Callable[[], None], ...] = ()
    """The rails' own periodic jobs (each decides whether it is due), e.g. Pi recovery."""
    clock: Clock = field(default_factory=SystemClock)
    """The one clock of requests' units of work (the ledger's: µs since the epoch)."""
    published: PublishedBundles = field(kw_only=True)
    """The published audit bundles the public routes and the transparency page serve."""
    transparency: TransparencyLog = field(default_factory=NotYetAvailable, kw_only=True)
    """The cumulative log's answers; ``NotYetAvailable`` until the log is plugged in here."""
    public_limiter: RateLimiter = field(kw_only=True)
    """The public routes' limit per client IP (in Redis with MSC_REDIS_URL, else in-process)."""
    limits: RateLimits = field(kw_only=True)
    """The rate limits per API key, per Pioneer and per client IP (``api.limits``)."""


def assemble_container(
    settings: Settings,
    database_url: str,
    engine: Engine,
    dispatcher: Dispatcher,
    **parts: Any,  # noqa: ANN401 - the optional fields of Container, checked by its constructor
) -> Container:
    """A container from already built parts, with the EVM sender and (unless given) the
    checkouts' parts built from ``settings``."""
    parts.setdefault("published", PublishedBundles(settings.audit_publish_path()))
    parts.setdefault("public_limiter", public_limiter(settings, parts.get("clock")))
    parts.setdefault("limits", rate_limits(settings, parts.get("clock")))
    checkout = parts.pop("checkout", None)
    if checkout is None:
        rates = build_rates(settings, parts.get("clock"), engine)
        checkout = build_checkout(settings, rates.panel)
        parts.setdefault("rates_sandbox_app", rates.sandbox_app)
    return Container(
        settings, database_url, engine, dispatcher, EvmSenderOnFirstUse(settings, engine),
        checkout, **parts,
    )  # fmt: skip


recursion_limit_frames = 1000
"""Python's own default: deep enough for us, shallow enough that the C stack never overflows."""


def restore_recursion_limit() -> None:
    """Undo py_ecc's ``sys.setrecursionlimit(100000)`` (imported by web3 through eth_keys).

    At that limit ``json.loads`` of 100000 nested arrays overflows the C stack and the process
    dies with SIGSEGV instead of raising ``RecursionError``. web3 is imported here first so that
    no later import raises the limit again.
    """
    import web3  # noqa: F401 - imported for the side effect this function undoes

    sys.setrecursionlimit(recursion_limit_frames)


def build_container(settings: Settings, database_url: str, clock: Clock | None = None) -> Container:
    """Build the engine, the outbox dispatcher and the rails' adapters from configuration.

    ``clock`` (the system clock unless given) is the one time of requests, the Pi rail, the
    rates and the in-process sandboxes: ``msc demo`` plays a past month on a ``FixedClock``.
    """
    restore_recursion_limit()
    clock = clock or SystemClock()
    engine = make_engine(database_url)
    policy = RetryPolicy(
        attempts_max=settings.outbox_attempts_max,
        backoff_base_s=settings.outbox_backoff_base_s,
        backoff_cap_s=settings.outbox_backoff_cap_s,
    )
    dispatcher = Dispatcher(engine, {}, policy, redact=Redactor(settings.secret_values()))
    evm = EvmSenderOnFirstUse(settings, engine)
    register_evm(dispatcher, evm)
    register_tlog(dispatcher, settings)
    rates = build_rates(settings, clock, engine)
    pi, pi_sandbox_app = build_pi(settings, rates.panel, clock)
    register_pi(dispatcher, pi)
    register_stellar_anchor(dispatcher, settings, pi)
    qris_adapters, midtrans_sandbox = build_qris(settings)
    return Container(
        settings,
        database_url,
        engine,
        dispatcher,
        evm,
        build_checkout(settings, rates.panel),
        pi=pi,
        pi_sandbox_app=pi_sandbox_app,
        qris_adapters=qris_adapters,
        qris_midtrans_sandbox=midtrans_sandbox,
        rates_sandbox_app=rates.sandbox_app,
        published=PublishedBundles(settings.audit_publish_path()),
        transparency=DatabaseTransparencyLog(engine),
        public_limiter=public_limiter(settings, None),
        limits=rate_limits(settings, None),
        jobs=(
            _pi_recovery_job(engine, pi),
            _rates_poll_job(engine, rates.panel, settings),
            _reserve_job(settings, engine, rates.panel),
        ),
        clock=clock,
    )


def public_limiter(settings: Settings, clock: Clock | None) -> RateLimiter:
    """The public routes' limit per client IP."""
    return limiter(
        settings, clock, "public", settings.public_requests_max, settings.public_window_s
    )


def rate_limits(settings: Settings, clock: Clock | None) -> RateLimits:
    """The limits per API key, per Pioneer and per client IP, from configuration."""
    return RateLimits(
        key=limiter(settings, clock, "key", settings.key_requests_max, settings.key_window_s),
        pioneer=limiter(
            settings, clock, "pioneer", settings.pioneer_requests_max, settings.pioneer_window_s
        ),
        ip=limiter(settings, clock, "ip", settings.ip_requests_max, settings.ip_window_s),
    )


def limiter(
    settings: Settings, clock: Clock | None, name: str, requests_max: int, window_s: float
) -> RateLimiter:
    """A limit shared by every API process through Redis when MSC_REDIS_URL is set (decision
    0038), else counted in this process (the embedded default runs one)."""
    if settings.redis_url:
        return RedisLimiter(
            redis_client(settings.redis_url),
            f"msc:ratelimit:{settings.deployment_id}:{name}:",
            requests_max,
            window_s,
            clock or SystemClock(),
        )
    return InProcessLimiter(requests_max, window_s, clock or SystemClock())


def build_checkout(settings: Settings, rates: RatePanel) -> CheckoutDeps:
    """The checkouts' rate panel, windows and conversion: a Pi leg converts to the merchant's
    chosen IDR or MSC at the panel's price at release, with the guarantee fund behind it."""
    from settlement.fund.release import ConvertAtRelease

    windows = CheckoutWindows(
        settings.checkout_ttl_s, settings.quote_ttl_s, settings.checkout_auto_release_s
    )
    return CheckoutDeps(rates, windows, ConvertAtRelease(rates))


# --- Rates (issue 12): the HTTP JSON price sources, the rates sandbox, the worker's poll --------


@dataclass(frozen=True)
class RatesWiring:
    """The panel of sources, and the in-process sandbox (state and app) when a source uses it."""

    panel: RatePanel
    sandbox: RateSandbox | None = None
    sandbox_app: ASGIApp | None = None


def build_rates(
    settings: Settings, clock: Clock | None, engine: Engine | None = None
) -> RatesWiring:
    """The configured sources (those at ``RATES_SANDBOX_URL`` answered in-process by one rates
    sandbox priced at ``MSC_RATES_SANDBOX_IDR_PER_PI``) and the policy their median meets; with
    ``engine``, each reading commits on its own (a refused quote keeps its readings)."""
    import httpx

    from chain.pi.sandbox.inprocess import SyncASGITransport
    from chain.rates.http import HttpJsonSource, HttpSourceLimits, HttpSourceSpec
    from chain.rates.sandbox import RateSandbox, build_rates_sandbox_app
    from escrow.money import IDR, parse_amount
    from settlement.config import RATES_SANDBOX_URL
    from settlement.rates.median import RatePolicy

    clock = clock or SystemClock()
    sandbox = sandbox_app = None
    mounts: dict[str, httpx.BaseTransport] = {}
    if any(source.url.startswith(RATES_SANDBOX_URL) for source in settings.rates_sources):
        sandbox = RateSandbox(parse_amount(settings.rates_sandbox_idr_per_pi, IDR.scale), clock)
        sandbox_app = build_rates_sandbox_app(sandbox)
        mounts[RATES_SANDBOX_URL] = SyncASGITransport(sandbox_app)
    client = httpx.Client(mounts=mounts, follow_redirects=False)
    limits = HttpSourceLimits(
        connect_timeout_s=settings.rates_connect_timeout_s,
        read_timeout_s=settings.rates_read_timeout_s,
        total_timeout_s=settings.rates_total_timeout_s,
        response_bytes_max=settings.rates_response_bytes_max,
    )
    sources = tuple(
        HttpJsonSource(
            HttpSourceSpec(s.name, s.url, s.field, s.inverse, s.observed_field),
            client,
            clock,
            limits,
        )
        for s in settings.rates_sources
    )
    policy = RatePolicy(
        settings.rates_sources_min, settings.rates_age_s_max, settings.rates_spread_bp_max
    )
    panel = RatePanel(sources, policy, settings.rates_reuse_s, engine)
    return RatesWiring(panel, sandbox, sandbox_app)


def _rates_poll_job(engine: Engine, panel: RatePanel, settings: Settings) -> Callable[[], None]:
    """Every source asked, its readings stored, every ``MSC_RATES_POLL_S`` (first at start)."""
    from settlement.rates.panel import poll
    from settlement.unit_of_work import run

    clock = SystemClock()
    return Throttle(lambda: run(engine, clock, lambda uow: poll(uow, panel)), settings.rates_poll_s)


# --- EVM (issue 5): the node client and the recorded-transaction sender --------------------------


def build_evm_sender(settings: Settings, engine: Engine) -> TxSender:
    """The EVM client (chain id checked now) and the sender signing with the service key.

    Without a configured key, the local anvil default gets a generated key under data_dir.
    """
    from chain.evm.anvil import ANVIL_CHAIN_ID, ensure_local_dev_key
    from chain.evm.client import Web3Client
    from chain.evm.fees import FeePolicy
    from chain.evm.signing import load_account

    key = settings.evm_private_key.get_secret_value() if settings.evm_private_key else None
    key_file = settings.evm_private_key_file
    if key is None and key_file is None and settings.evm_chain_id == ANVIL_CHAIN_ID:
        key_file = settings.data_dir / "anvil" / "service.key"
        ensure_local_dev_key(key_file, settings.evm_rpc_url)
    fee_policy = FeePolicy(
        max_fee_per_gas_cap_wei=settings.evm_max_fee_per_gas_wei,
        priority_fee_default_wei=settings.evm_priority_fee_wei,
        priority_fee_cap_wei=settings.evm_priority_fee_cap_wei,
    )
    node = Web3Client(
        settings.evm_rpc_url, settings.evm_chain_id, fee_policy, settings.evm_rpc_timeout_s
    )
    limits = SendLimits(settings.evm_confirmations, settings.evm_receipt_timeout_s)
    return TxSender(engine, node, load_account(key, key_file), limits)


def register_evm(dispatcher: Dispatcher, sender: EvmSenderOnFirstUse) -> None:
    """Register the mint and audit-anchor handlers; the node is contacted at the first message
    that needs it, not at start."""
    from settlement.audit.anchor import ANCHOR_KIND
    from settlement.evm.anchor import AnchorHandler

    def mint(conn: Connection, message: OutboxMessage) -> None:
        MintHandler(sender())(conn, message)

    def anchor(conn: Connection, message: OutboxMessage) -> None:
        AnchorHandler(sender())(conn, message)

    dispatcher.register(MINT_KIND, mint)
    dispatcher.register(ANCHOR_KIND, anchor)


# --- Transparency log (issue 14, decision 0031): the log's key and its witnesses -------------


def build_log_config(settings: Settings) -> LogConfig:
    """The log's origin, note key and witnesses; without MSC_TLOG_NOTE_KEY_FILE (refused in
    production) a key is generated once under data_dir/tlog/note.key."""
    import os

    from settlement.audit.cumulative import LogConfig
    from settlement.audit.note import generate_signer, parse_signer

    path = settings.tlog_note_key_file
    if path is None:
        path = settings.data_dir / "tlog" / "note.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="ascii") as out:
                out.write(generate_signer(settings.tlog_origin).encode())
    signer = parse_signer(path.read_text(encoding="ascii"))
    if signer.name != settings.tlog_origin:
        raise ConfigurationError(
            f"the note key {path} is named {signer.name},"
            f" not MSC_TLOG_ORIGIN {settings.tlog_origin}"
        )
    witnesses = tuple((w.vkey, w.url) for w in settings.tlog_witnesses)
    return LogConfig(settings.tlog_origin, signer, witnesses)


def register_tlog(dispatcher: Dispatcher, settings: Settings) -> None:
    """Register the handler that submits checkpoints to the witnesses."""
    from settlement.audit.cumulative import WITNESS_KIND
    from settlement.audit.witness_submit import WitnessSubmitter, http_post

    dispatcher.register(WITNESS_KIND, WitnessSubmitter(http_post(settings.tlog_witness_timeout_s)))


class EvmSenderOnFirstUse:
    """The process's one EVM sender, built when a handler or a job first needs the node.

    Building it first rebroadcasts the transactions an earlier process recorded and the node
    may have lost (a crash between recording and sending): one of them holds a nonce that every
    later transaction of this account waits behind. A failure leaves nothing built; the next
    use tries again.
    """

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self._settings = settings
        self._engine = engine
        self._sender: TxSender | None = None

    def __call__(self) -> TxSender:
        if self._sender is None:
            sender = build_evm_sender(self._settings, self._engine)
            sender.recover_open()
            self._sender = sender
        return self._sender

    def forget(self) -> None:
        """Drop the built sender (its node stopped answering); the next use builds it anew."""
        self._sender = None


# --- Pi (issue 3): Platform API + Horizon clients, or the in-process Pi sandbox -----------------

PI_SANDBOX_BASE_URL = "http://pi-sandbox.internal"
PI_PUBLIC_API_URL = "https://api.minepi.com"
"""With MSC_PI_SANDBOX on and the API URL left at this default, the sandbox runs in-process;
point MSC_PI_API_URL/MSC_PI_HORIZON_URL elsewhere (e.g. a server's /pi-sandbox) to share one."""


def _pi_signer(settings: Settings) -> Keypair | None:
    """The app wallet keypair from MSC_PI_WALLET_SECRET or its file; a fixed dev key in sandbox."""
    import hashlib

    from stellar_sdk import Keypair

    secret = settings.pi_wallet_secret.get_secret_value() if settings.pi_wallet_secret else None
    if secret is None and settings.pi_wallet_secret_file is not None:
        secret = settings.pi_wallet_secret_file.read_text().strip()
    if secret is not None:
        return Keypair.from_secret(secret)
    if settings.pi_sandbox:
        return Keypair.from_raw_ed25519_seed(hashlib.sha256(b"msc-pi-sandbox-app-wallet").digest())
    return None


def build_pi(
    settings: Settings, rates: RatePanel | None = None, clock: Clock | None = None
) -> tuple[PiDeps, ASGIApp | None]:
    """The Pi use cases' dependencies (``rates`` requotes a late conversion receipt), and the
    sandbox ASGI app when MSC_PI_SANDBOX is on; both on ``clock`` (the system's unless given)."""
    import httpx

    from chain.pi.horizon import HorizonClient
    from chain.pi.platform import PiPlatformClient
    from chain.pi.sandbox.app import build_app, make_sandbox
    from chain.pi.sandbox.inprocess import SyncASGITransport
    from chain.pi.transport import HttpLimits, JsonTransport

    signer = _pi_signer(settings)
    address = signer.public_key if signer is not None else ""
    api_key = settings.pi_api_key.get_secret_value()
    sandbox_app = None
    api_url, horizon_url = settings.pi_api_url, settings.pi_horizon_url
    if settings.pi_sandbox and api_url == PI_PUBLIC_API_URL:
        sandbox = make_sandbox(
            api_key=api_key,
            app_address=address,
            base_url=PI_SANDBOX_BASE_URL,
            network_passphrase=str(settings.pi_network),
            clock=clock,
        )
        anchor_account = stellar_anchor_signer(settings)
        if anchor_account is not None:
            sandbox.chain.fund(anchor_account.public_key, sandbox_anchor_balance_units)
        sandbox_app = build_app(sandbox)
        client = httpx.Client(transport=SyncASGITransport(sandbox_app))
        api_url = horizon_url = PI_SANDBOX_BASE_URL
    else:
        client = httpx.Client()
    transport = JsonTransport(client, HttpLimits())
    deps = PiDeps(
        platform=PiPlatformClient(transport, api_url, api_key),
        chain=HorizonClient(transport, horizon_url),
        network=str(settings.pi_network),
        app_address=address,
        signer=signer,
        a2u_expiry_margin_s=settings.pi_a2u_expiry_margin_s,
        rates=rates,
        clock=clock or SystemClock(),
    )
    return deps, sandbox_app


sandbox_anchor_balance_units = 100 * 10**7
"""What the in-process sandbox's faucet gives the anchor account: 100 Pi, a lifetime of fees."""


def stellar_anchor_signer(settings: Settings) -> Keypair | None:
    """The second anchor's account (MSC_AUDIT_STELLAR_SECRET or its file); a fixed dev key in
    the Pi sandbox; None when neither (the anchor is then not offered)."""
    import hashlib

    from stellar_sdk import Keypair

    secret = settings.audit_stellar_secret
    value = secret.get_secret_value() if secret is not None else None
    if value is None and settings.audit_stellar_secret_file is not None:
        value = settings.audit_stellar_secret_file.read_text().strip()
    if value is not None:
        return Keypair.from_secret(value)
    if settings.pi_sandbox:
        return Keypair.from_raw_ed25519_seed(hashlib.sha256(b"msc-audit-stellar-anchor").digest())
    return None


def register_stellar_anchor(dispatcher: Dispatcher, settings: Settings, deps: PiDeps) -> None:
    """Register the second anchor's handler: through the Pi rail's Horizon, on its network."""
    from settlement.audit.stellar_anchor import STELLAR_ANCHOR_KIND
    from settlement.audit.stellar_publish import StellarAnchorDeps, StellarAnchorHandler

    signer = stellar_anchor_signer(settings)
    if signer is None:
        return
    anchor_deps = StellarAnchorDeps(
        deps.chain, deps.network, signer, deps.clock, settings.pi_a2u_expiry_margin_s
    )
    dispatcher.register(STELLAR_ANCHOR_KIND, StellarAnchorHandler(anchor_deps))


def register_pi(dispatcher: Dispatcher, deps: PiDeps) -> None:
    """Register the Pi outbox handlers (approve, complete, A2U steps)."""
    from settlement.checkout import refunds
    from settlement.conversions import refunds as conversion_refunds
    from settlement.decisions import pi as decided
    from settlement.locks import payouts as lock_payouts
    from settlement.pi.handlers import register

    register(dispatcher, deps)
    refunds.register(dispatcher, deps)
    decided.register(dispatcher, deps)
    conversion_refunds.register(dispatcher, deps)
    lock_payouts.register(dispatcher, deps)


pi_recovery_interval_s = 300


def _pi_recovery_job(engine: Engine, deps: PiDeps) -> Callable[[], None]:
    """Incomplete-payment recovery: at the first tick (start), then every interval."""
    from settlement.pi.recovery import recover_all
    from settlement.unit_of_work import unit_of_work

    return Throttle(
        lambda: recover_all(lambda: unit_of_work(engine, deps.clock), deps), pi_recovery_interval_s
    )


def _reserve_job(settings: Settings, engine: Engine, panel: RatePanel) -> Callable[[], None]:
    """Store a reserve computation at the first tick (start), then every interval, at the
    median of the rate panel's fresh sources."""
    from settlement.reserves.reserve import compute, reserve_price
    from settlement.unit_of_work import run

    clock = SystemClock()

    def recompute() -> None:
        run(engine, clock, lambda uow: compute(uow, reserve_price(uow, panel), "schedule"))

    return Throttle(recompute, settings.reserve_compute_interval_s)


# --- QRIS (issue 4): gateway notification adapters, keyed by provider ---------------------------


def build_qris(settings: Settings) -> tuple[dict[str, GatewayAdapter], MidtransSandbox | None]:
    """The gateway adapters from configuration (SNAP only when its PJP key is configured), and
    the in-process Midtrans sandbox while its URL is left at the default."""
    from chain.qris.gateways.midtrans import MidtransAdapter
    from chain.qris.gateways.snap import SnapQrNotifyAdapter
    from chain.qris.gateways.xendit import XenditAdapter

    server_key = settings.qris_midtrans_server_key.get_secret_value()
    status, sandbox = _midtrans_status(settings, server_key)
    adapters: dict[str, GatewayAdapter] = {
        "midtrans": MidtransAdapter(server_key, status),
        "xendit": XenditAdapter(settings.qris_xendit_callback_token.get_secret_value()),
    }
    if settings.qris_snap_public_key_file is not None:
        pem = settings.qris_snap_public_key_file.read_bytes()
        adapters["snap"] = SnapQrNotifyAdapter(pem)
    return adapters, sandbox


def _midtrans_status(
    settings: Settings, server_key: str
) -> tuple[MidtransStatusSource, MidtransSandbox | None]:
    """Midtrans' GET Status API, or the in-process sandbox while the URL is left at its default."""
    import httpx

    from chain.pi.sandbox.inprocess import SyncASGITransport
    from chain.qris.gateways.midtrans_sandbox import MidtransSandbox, build_midtrans_app
    from chain.qris.gateways.midtrans_status import HttpMidtransStatus

    url = settings.qris_midtrans_api_url
    sandbox = None
    if url == MIDTRANS_SANDBOX_URL:
        sandbox = MidtransSandbox(server_key)
        client = httpx.Client(transport=SyncASGITransport(build_midtrans_app(sandbox)))
    else:
        client = httpx.Client()
    return HttpMidtransStatus(client, url, server_key), sandbox
