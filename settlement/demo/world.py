"""What the demo's steps share: the wired service, its simulated clock, the API over HTTP, the
pilot's fixtures, and what earlier steps left for later ones (the scene)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import text

from escrow.calendar import format_wib
from escrow.clock import FixedClock
from settlement.bootstrap import Container
from settlement.unit_of_work import UnitOfWork, run

T = TypeVar("T")

worker_rounds_max = 20
"""How often the worker drains the outbox per step: a message may queue the next (approve,
then complete), and a handler that fails is retried later, not in a loop."""


def rupiah(whole: int) -> str:
    """Whole Rupiah as Madiun writes them: ``Rp 15.000``."""
    return "Rp " + f"{whole:,}".replace(",", ".")


class DemoError(RuntimeError):
    """The service answered a step otherwise than the story expects."""


@dataclass
class Scene:
    """What the story has made so far, for the steps after (filled in as it goes)."""

    merchant_id: str = ""
    merchant: dict[str, str] = field(default_factory=dict)
    """The merchant key's ``Authorization`` header."""
    pioneers: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Sandbox Pioneers by role (``payer``, ``converter``, ``locker``): uid, address, token."""
    checkout: dict[str, Any] = field(default_factory=dict)
    conversion: dict[str, Any] = field(default_factory=dict)
    lock: dict[str, Any] = field(default_factory=dict)
    batch_id: str = ""
    month: str = ""
    bundle: Path | None = None
    officers_file: Path | None = None
    officer_keys: list[Path] = field(default_factory=list)
    proposal_file: Path | None = None
    """The month's close proposal, as the officers sign it."""
    look: list[str] = field(default_factory=list)
    """GET paths worth opening afterwards (with the credential that reads them)."""
    audit_command: str = ""
    """The ``msc-audit verify`` command line an auditor runs on the bundle."""


@dataclass
class World:
    """The service as the demo plays it: HTTP at ``base_url``, the clock the steps move."""

    container: Container
    clock: FixedClock
    http: httpx.Client
    base_url: str
    folder: Path
    """Where the demo writes (officer keys, bundles), recreated at each run."""
    pilot: dict[str, Any]
    incentives: dict[str, Any]
    scene: Scene = field(default_factory=Scene)

    @property
    def operator(self) -> dict[str, str]:
        """The treasury's ``Authorization`` header (the operator token)."""
        token = self.container.settings.operator_token.get_secret_value()
        return {"Authorization": f"Bearer {token}"}

    def call(
        self,
        method: str,
        path: str,
        *,
        auth: dict[str, str] | None = None,
        json: object = None,
        content: str | None = None,
        expect: int = 200,
        keyed: bool = False,
    ) -> Any:  # noqa: ANN401 - the route's JSON answer
        """Call the API as a user would; the JSON answer, or ``DemoError`` naming the refusal."""
        headers = dict(auth or {})
        if keyed:
            headers["Idempotency-Key"] = uuid.uuid4().hex
        answer = self.http.request(method, path, headers=headers, json=json, content=content)
        if answer.status_code != expect:
            raise DemoError(f"{method} {path} answered {answer.status_code}: {answer.text[:300]}")
        if not answer.content:
            return None
        if answer.headers.get("content-type", "").startswith("text/"):
            return answer.text
        return answer.json()

    def later(self, seconds: int) -> None:
        """Let ``seconds`` of simulated time pass."""
        self.clock.advance(seconds)

    def now_text(self) -> str:
        """The simulated time, for a step's line."""
        return format_wib(self.clock.now_us())

    def treasury(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run a treasury use case (what its ``msc`` command runs) at the simulated time."""
        return run(self.container.engine, self.clock, work)

    def worker(self) -> int:
        """The worker drains the outbox; the messages it ran. Refused when one failed."""
        ran = 0
        for _ in range(worker_rounds_max):
            done = self.container.dispatcher.dispatch_due()
            ran += done
            if done == 0:
                break
        with self.container.engine.connect() as conn:
            stuck = conn.execute(
                text("SELECT kind, key, last_error FROM outbox WHERE status <> 'done' LIMIT 1")
            ).first()
        if stuck is not None:
            raise DemoError(f"outbox message {stuck.kind} {stuck.key} failed: {stuck.last_error}")
        return ran

    def look_at(self, path: str, reader: str) -> None:
        """Remember a GET path for the closing 'where to look'."""
        self.scene.look.append(f"{self.base_url}{path}  ({reader})")
