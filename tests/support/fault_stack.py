"""The real stack for fault tests: ``msc serve`` as a process that a test may kill -9 and start
again, and the outside world it talks to (the Pi sandbox and Midtrans' status sandbox) in
threads of the test process, so that what they recorded survives the service's deaths.

A careful client (``Caller``) sends each request again, with the same Idempotency-Key, until it
is answered: a refused connection, a 5xx, or ``idempotency_key_in_use`` (the dead process held
the key) mean "try again"; anything else is the answer.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvicorn
from eth_account import Account
from sqlalchemy import Connection, Engine, text
from starlette.types import ASGIApp

from chain.evm.anvil import ANVIL_CHAIN_ID, AnvilNode, ensure_node_deps
from chain.pi.sandbox.app import Sandbox, build_app, make_sandbox
from chain.qris.gateways.midtrans_sandbox import MidtransSandbox, build_midtrans_app
from escrow.clock import SystemClock
from settlement.bootstrap import _pi_signer
from settlement.check.model import CheckResult, Outcome
from settlement.check.runner import CheckPolicy, database_checks
from settlement.config import Settings
from settlement.db import make_engine
from tests.database import drop_database, fresh_database
from tests.support.fault_kills import Tripwire
from tests.support.fault_production import CHAIN_ID, Production, production_edges
from tests.support.fault_proxy import FaultProxy
from tests.support.merchants import merchant_body
from tests.support.serving import free_port, wait_ready

ROOT = Path(__file__).resolve().parents[2]
start_timeout_s = 10.0
stop_timeout_s = 15.0
answer_timeout_s = 45.0
retry_pause_s = 0.1
request_timeout_s = 10.0
RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
SETTINGS = Settings()
OPERATOR = {"Authorization": f"Bearer {SETTINGS.operator_token.get_secret_value()}"}
MIDTRANS_KEY = SETTINGS.qris_midtrans_server_key.get_secret_value()
WIB = timedelta(hours=7)
drain_timeout_s = 30.0
command_timeout_s = 60.0
OFFICER = "treasury:faults"
BODY = {
    "price": {"amount": "15000.00", "asset": "IDR"},
    "tenders": [{"tender": "PI", "share_bp": 5_000}, {"tender": "QRIS", "share_bp": 5_000}],
}


@contextmanager
def threaded(app: ASGIApp) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a loopback port of its own, in a thread; yields its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(stop_timeout_s)


class CountCompletions:
    """Counts the completions the Pi sandbox carried out, by payment id, whatever became of
    their answers (a lost answer still counts): "at most once" is asked of this."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.accepted: Counter[str] = Counter()
        original = sandbox.platform.complete

        def complete(pid: str, txid: str) -> dict[str, object]:
            payment = original(pid, txid)
            self.accepted[pid] += 1
            return payment

        sandbox.platform.complete = complete  # type: ignore[method-assign]


@dataclass
class World:
    """The outside world: the Pi sandbox (and what it accepted) and Midtrans' status sandbox."""

    pi: Sandbox
    pi_url: str
    completions: CountCompletions
    midtrans: MidtransSandbox
    midtrans_url: str
    tripwire: Tripwire
    """Across Horizon's transaction submission: armed by a test, it holds one answer back."""


@contextmanager
def outside_world(production: Production | None = None) -> Iterator[World]:
    """The Pi sandbox and Midtrans' status sandbox, each on a loopback port of its own, under
    the development keys or ``production``'s."""
    signer = production.pi_wallet if production else _pi_signer(Settings(pi_sandbox=True))
    if signer is None:
        raise RuntimeError("the sandbox has a fixed app wallet key")
    pi = make_sandbox(
        api_key=production.pi_api_key if production else SETTINGS.pi_api_key.get_secret_value(),
        app_address=signer.public_key,
        network_passphrase=str(SETTINGS.pi_network),
    )
    completions = CountCompletions(pi)
    midtrans = MidtransSandbox(production.midtrans_key if production else MIDTRANS_KEY)
    tripwire = Tripwire("POST", "/transactions")
    pi_app, midtrans_app = tripwire.wrap(build_app(pi)), build_midtrans_app(midtrans)
    with threaded(pi_app) as pi_url, threaded(midtrans_app) as midtrans_url:
        yield World(pi, pi_url, completions, midtrans, midtrans_url, tripwire)


@dataclass
class Serve:
    """``msc serve`` on its own database; ``kill`` is SIGKILL, ``start`` brings it back."""

    database_url: str
    world: World
    log: Path
    extra: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("MSC_")},
            "MSC_DATABASE_URL": self.database_url,
            "MSC_HTTP_PORT": str(self.port),
            "MSC_DATA_DIR": str(self.log.parent),
            "MSC_EVM_RPC_URL": f"http://127.0.0.1:{free_port()}",  # no node unless given
            "MSC_PI_API_URL": self.world.pi_url,  # the same sandbox answers both
            "MSC_PI_HORIZON_URL": self.world.pi_url,
            "MSC_QRIS_MIDTRANS_API_URL": self.world.midtrans_url,
            "MSC_IDEMPOTENCY_LOCK_S": "1",
            "MSC_OUTBOX_BACKOFF_BASE_S": "1",
            "MSC_OUTBOX_BACKOFF_CAP_S": "2",
            "MSC_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
            **self.extra,
        }

    def start(self) -> None:
        self.process = self.spawn("serve")
        wait_ready(f"{self.base}/readyz", self.process)

    def spawn(self, *argv: str) -> subprocess.Popen[bytes]:
        """Another ``msc`` command (``worker``, ``beat``) on the same settings and log."""
        msc = Path(sys.executable).with_name("msc")
        with self.log.open("ab") as out:
            return subprocess.Popen(
                [str(msc), *argv], env=self.env(), stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def run(self, *argv: str) -> subprocess.CompletedProcess[bytes]:
        """An operator's ``msc`` command on the service's settings, to its end."""
        msc = Path(sys.executable).with_name("msc")
        return subprocess.run(
            [str(msc), *argv], env=self.env(), capture_output=True, timeout=command_timeout_s,
            check=False,
        )  # fmt: skip

    def check(self) -> subprocess.CompletedProcess[bytes]:
        """``msc check`` itself: the database checks and those that ask Pi's chain (custody)
        and the EVM node (the token's supply)."""
        return self.run("check", "--output", "json")

    def kill(self) -> None:
        """SIGKILL, no goodbye: the process group, so nothing of it lives on."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(stop_timeout_s)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


def stop(*processes: subprocess.Popen[bytes]) -> None:
    """SIGTERM to each process group at once; SIGKILL to one not gone within ``stop_timeout_s``."""
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + stop_timeout_s
    for process in processes:
        try:
            process.wait(max(deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@dataclass
class PrivateRedis:
    """A redis-server of the test's own on a free loopback port, to stop and start at will."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no"]  # fmt: skip
        self.process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + start_timeout_s
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


@dataclass
class Caller:
    """A client that sends a request again, the same way, until it is answered."""

    http: httpx.Client
    retried: Counter[str] = field(default_factory=Counter)

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        deadline = time.monotonic() + answer_timeout_s
        while True:
            try:
                reply = self.http.request(method, path, **kwargs)
            except httpx.TransportError as error:
                self.retried[type(error).__name__] += 1
            else:
                if not _retryable(reply):
                    return reply
                self.retried[str(reply.status_code)] += 1
            if time.monotonic() > deadline:
                raise TimeoutError(f"{method} {path} not answered within {answer_timeout_s} s")
            time.sleep(retry_pause_s)


def _retryable(reply: httpx.Response) -> bool:
    if reply.status_code in RETRYABLE_STATUS:
        return True
    if reply.status_code == 409 and "json" in reply.headers.get("content-type", ""):
        return bool(reply.json().get("code") == "idempotency_key_in_use")
    return False


def keyed(headers: dict[str, str], key: str | None = None) -> dict[str, str]:
    return headers | {"Idempotency-Key": key or uuid.uuid4().hex}


def onboard(caller: Caller, operator: dict[str, str] = OPERATOR) -> tuple[str, dict[str, str]]:
    """A merchant taking Pi and QRIS, and its till's key (``operator``: the treasury's header)."""
    body = merchant_body()
    merchant_id = str(body["id"])
    onboarded = caller.send("POST", "/v1/merchants", json=body, headers=keyed(operator))
    if onboarded.status_code != 201:
        raise AssertionError(onboarded.text)
    issued = caller.send(
        "POST", f"/v1/merchants/{merchant_id}/keys", json={"label": "till"},
        headers=keyed(operator),
    )  # fmt: skip
    if issued.status_code != 201:
        raise AssertionError(issued.text)
    return merchant_id, {"Authorization": f"Bearer {issued.json()['token']}"}


def midtrans_notification(world: World, order_id: str, gross: str, status: str) -> bytes:
    """What Midtrans would send for ``order_id`` now at ``status`` (and records it so)."""
    paid_at = (datetime.now(UTC) + WIB).strftime("%Y-%m-%d %H:%M:%S")
    tx_id = f"tx-{hashlib.sha256(order_id.encode()).hexdigest()[:12]}"
    world.midtrans.record(
        order_id, transaction_id=tx_id, transaction_status=status, gross_amount=gross,
        transaction_time=paid_at,
    )  # fmt: skip
    return world.midtrans.notification(order_id)


def pi_pioneer(world: World, caller: Caller) -> dict[str, str]:
    reply = caller.http.post(
        f"{world.pi_url}/sandbox/pioneers", json={"username": "pelanggan", "balance": "100"}
    )
    reply.raise_for_status()
    return dict(reply.json())


def assert_minted_once(conn: Connection, withdrawals: list[str]) -> None:
    """Every one of these withdrawals is minted, and nothing is parked in the outbox."""
    minted = conn.execute(
        text("SELECT status, count(*) FROM evm_withdrawals WHERE transfer_id = ANY(:ids)"
             " GROUP BY 1"),
        {"ids": withdrawals},
    ).all()  # fmt: skip
    assert minted == [("minted", len(withdrawals))]
    parked = conn.execute(text("SELECT count(*) FROM outbox WHERE status = 'parked'"))
    assert parked.scalar_one() == 0


def books_hold(conn: Connection) -> dict[str, CheckResult]:
    """Every database check of ``msc check`` on this database; the ones that did not hold."""
    policy = CheckPolicy(outbox_lag_max_s=300, pseudonym_key=b"unused: no month published")
    results = {name: check(conn) for name, check in database_checks(SystemClock(), policy)}
    return {name: r for name, r in results.items() if r.outcome is not Outcome.HELD}


def as_json(reply: httpx.Response) -> dict[str, Any]:
    return dict(json.loads(reply.content))


def pay_pi(caller: Caller, world: World, pioneer: dict[str, str], params: dict[str, Any]) -> str:
    """The Pi app's flow for a payment the service asked for (``params``: amount, memo,
    metadata): created in the app, approved, signed, completed. The payment id."""
    made = caller.http.post(
        f"{world.pi_url}/sandbox/pioneers/{pioneer['uid']}/payments",
        json={"amount": params["amount"], "memo": params["memo"], "metadata": params["metadata"]},
    )
    made.raise_for_status()
    pid = str(made.json()["identifier"])
    bearer = {"Authorization": f"Bearer {pioneer['access_token']}"}
    approved = caller.send("POST", f"/v1/pi/payments/{pid}/approve", headers=bearer)
    assert approved.status_code == 200, approved.text
    txid = caller.http.post(f"{world.pi_url}/sandbox/payments/{pid}/pay").json()["txid"]
    completed = caller.send(
        "POST", f"/v1/pi/payments/{pid}/complete", json={"txid": txid}, headers=bearer
    )
    assert completed.status_code == 200, completed.text
    return pid


def reserve_capital(caller: Caller, idr: str, operator: dict[str, str] = OPERATOR) -> None:
    """The treasury books Rupiah capital behind MSC (a bank-statement line), so Pioneers may
    convert."""
    day = (datetime.now(UTC) + WIB).date().isoformat()
    body = {"reference": f"CAPITAL-{uuid.uuid4().hex[:8]}", "amount": idr, "value_date": day}
    booked = caller.send("POST", "/v1/msc/bank-deposits", json=body, headers=keyed(operator))
    assert booked.status_code == 201, booked.text


def convert_once(caller: Caller, world: World, pi: str) -> tuple[str, str, dict[str, str]]:
    """A Pioneer quotes ``pi`` PI for MSC, converts at the quote and pays from the Pi app;
    the conversion's id (converted), the Pi payment's, and the Pioneer's ``Authorization``."""
    pioneer = pi_pioneer(world, caller)
    auth = {"Authorization": f"Bearer {pioneer['access_token']}"}
    body = {"sell_asset": "PI", "buy_asset": "MSC", "sell_amount": pi}
    quote = caller.send("POST", "/v1/quotes", json=body, headers=keyed(auth))
    assert quote.status_code == 201, quote.text
    made = caller.send(
        "POST", "/v1/conversions", json={"quote_id": quote.json()["id"]}, headers=keyed(auth)
    )
    assert made.status_code == 201, made.text
    conversion = made.json()
    params = {"amount": conversion["sell_amount"], "memo": "convert",
              "metadata": conversion["metadata"]}  # fmt: skip
    pid = pay_pi(caller, world, pioneer, params)
    done = caller.send("GET", f"/v1/conversions/{conversion['id']}", headers=auth)
    assert done.json()["status"] == "converted", done.text
    return str(conversion["id"]), pid, auth


def withdraw_once(caller: Caller, auth: dict[str, str], msc: str) -> str:
    """The Pioneer withdraws ``msc`` MSC to a fresh EVM address; the withdrawal's transfer id."""
    body = {"to_address": Account.create().address, "amount": msc}
    booked = caller.send("POST", "/v1/msc/withdrawals", json=body, headers=keyed(auth))
    assert booked.status_code == 201, booked.text
    return str(booked.json()["transfer_id"])


def checkout_once(caller: Caller, world: World, merchant: dict[str, str], n: int) -> str:
    """Create, pay the Pi leg from the Pioneer's app, pay the QRIS leg, hand over."""
    create_key = uuid.uuid4().hex
    created = caller.send(
        "POST", "/v1/checkouts", json=BODY | {"merchant_reference": f"kill-{n}"},
        headers=keyed(merchant, create_key),
    )  # fmt: skip
    assert created.status_code == 201, created.text
    checkout = created.json()
    pi_leg, qris_leg = checkout["legs"]

    pid = pay_pi(caller, world, pi_pioneer(world, caller), pi_leg["pi_payment"])

    note = midtrans_notification(
        world, qris_leg["reference"], qris_leg["amount"]["amount"], "settlement"
    )
    notified = caller.send("POST", "/v1/qris/notifications/midtrans", content=note)
    assert notified.status_code == 200, notified.text

    handover_key = uuid.uuid4().hex
    released = caller.send(
        "POST", f"/v1/checkouts/{checkout['id']}/handover", headers=keyed(merchant, handover_key)
    )
    assert released.status_code == 200, released.text
    assert released.json()["status"] == "released"
    return str(pid)


def wait_drained(engine: Engine) -> None:
    deadline = time.monotonic() + drain_timeout_s
    while True:
        with engine.connect() as conn:
            pending = conn.execute(text("SELECT count(*) FROM outbox WHERE status = 'pending'"))
            if pending.scalar_one() == 0:
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the outbox did not drain within {drain_timeout_s} s")
        time.sleep(0.2)


@dataclass
class Stack:
    """``msc serve`` on a database of its own, the outside world, and the database's engine."""

    serve: Serve
    world: World
    engine: Engine
    pi_proxy: FaultProxy
    rpc_proxy: FaultProxy
    operator: dict[str, str]
    """The treasury's bearer header (this deployment's operator token)."""


@contextmanager
def serving_stack(
    server_url: str,
    name: str,
    log_dir: Path,
    extra: dict[str, str] | None = None,
    production: Production | None = None,
) -> Iterator[Stack]:
    """A fresh database ``name``, the outside world, an anvil with the token deployed, and
    ``msc serve`` on them, running; the service reaches the Pi Platform API (not Horizon)
    and the EVM node each through a fault proxy. With ``production``, ``MSC_ENV=production``
    under its secrets (tests/support/fault_production.py)."""
    url = fresh_database(server_url, name)
    engine = make_engine(url)
    ensure_node_deps()
    chain_id = CHAIN_ID if production else ANVIL_CHAIN_ID
    try:
        with (
            outside_world(production) as world,
            AnvilNode(log_file=log_dir / "anvil.log", chain_id=chain_id) as anvil,
            ExitStack() as edges,
        ):
            env: dict[str, str] = {}
            if production is not None:
                env = edges.enter_context(production_edges(production, anvil.url, log_dir))
            pi, node = urlsplit(world.pi_url), urlsplit(anvil.url)
            with (
                FaultProxy(pi.hostname or "127.0.0.1", pi.port or 80).running() as proxy,
                FaultProxy(node.hostname or "127.0.0.1", node.port or 80).running() as rpc,
            ):
                env |= {"MSC_PI_API_URL": f"http://127.0.0.1:{proxy.port}",
                        "MSC_EVM_RPC_URL": f"http://127.0.0.1:{rpc.port}"}  # fmt: skip
                serve = Serve(url, world, log_dir / "serve.log", env | (extra or {}))
                serve.start()
                try:
                    deployed = serve.run("chain", "deploy", "--by", OFFICER)
                    if deployed.returncode != 0:
                        raise RuntimeError(deployed.stderr.decode())
                    operator = production.operator if production else OPERATOR
                    yield Stack(serve, world, engine, proxy, rpc, operator)
                finally:
                    serve.stop()
    finally:
        engine.dispose()
        drop_database(server_url, name)
