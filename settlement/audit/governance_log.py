"""The governance log as published in governance.jsonl: its entries, and how each changes the
officer set the verifier follows from the first month (decision 0030).

Standard library and PyNaCl only (the verifier imports it). Entry kinds, each one canonical
JSON line with a contiguous ``seq`` and its time ``at_us``:

- ``officers.genesis``: the first officer set registered (``officers``, ``threshold``); it must
  be the set in force when the auditor knows one.
- ``proposal.created`` (``id``, ``proposal``) and ``proposal.signed`` (``id``, ``signature``):
  published for the record; they change nothing.
- ``proposal.executed`` (``id``, ``proposal``, ``signatures``, ``officers``): self-contained, so
  one month's bundle proves it: the signatures that authorised it, at least the threshold of
  the officers then in force, over exactly the proposal's bytes, executed before it expired,
  its nonce the next; for an officer action, ``officers`` is the set it makes, else null.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from settlement.audit import bundle as b
from settlement.audit.bundle import BundleError, OfficerSet
from settlement.audit.proposal import (
    Proposal,
    ProposalError,
    Signature,
    read_proposal,
    read_signature,
    valid_signers,
)

GENESIS = "officers.genesis"
CREATED = "proposal.created"
SIGNED = "proposal.signed"
EXECUTED = "proposal.executed"
KINDS = frozenset({GENESIS, CREATED, SIGNED, EXECUTED})
FIELDS = {
    GENESIS: frozenset({"at_us", "kind", "officers", "seq", "threshold"}),
    CREATED: frozenset({"at_us", "id", "kind", "proposal", "seq"}),
    SIGNED: frozenset({"at_us", "id", "kind", "seq", "signature"}),
    EXECUTED: frozenset({"at_us", "id", "kind", "officers", "proposal", "seq", "signatures"}),
}
ADD, REMOVE, ROTATE_KEY, THRESHOLD = (
    "officers.add",
    "officers.remove",
    "officers.rotate_key",
    "officers.threshold",
)
OFFICER_ACTIONS = frozenset({ADD, REMOVE, ROTATE_KEY, THRESHOLD})
name_chars_max = 64
_NAME = re.compile(r"^[^\x00-\x1f]{1,64}$")

Named = tuple[tuple[str, str], ...]
"""(name, hex public key) pairs, in order."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One governance.jsonl line other than ``officers.rotate``, shape-checked."""

    number: int
    kind: str
    seq: int
    at_us: int
    proposal: Proposal | None
    signatures: tuple[Signature, ...]
    officers: OfficerSet | None
    """The genesis set, or the set an executed officer action states it makes."""

    def apply(self, current: OfficerSet, period: str) -> OfficerSet:
        """The officer set after this entry, ``current`` being the set in force before it."""
        where = f"governance line {self.number}"
        starts, ends = b.period_range_us(period)
        if not starts <= self.at_us <= ends:
            raise BundleError("officers", f"{where} is not dated in {period}")
        if self.kind == GENESIS:
            if self.officers != current:
                raise BundleError("officers", f"{where}: genesis is not the set in force")
            return current
        if self.kind != EXECUTED or self.proposal is None:
            return current
        return executed(self.proposal, self.signatures, self.officers, current, self.at_us, where)


def executed(
    proposal: Proposal,
    signatures: Sequence[Signature],
    stated: OfficerSet | None,
    current: OfficerSet,
    at_us: int,
    where: str,
) -> OfficerSet:
    """Check one execution against the officers in force; the set it leaves in force."""
    if at_us > proposal.expires_at_us:
        raise BundleError("officers", f"{where}: executed after the proposal expired")
    valid = valid_signers(proposal, signatures, current.keys)
    if len(valid) < current.threshold:
        raise BundleError(
            "officers",
            f"{where}: {len(valid)} valid signatures of the officers in force,"
            f" {current.threshold} needed",
        )
    if proposal.action not in OFFICER_ACTIONS:
        if stated is not None:
            raise BundleError("officers", f"{where}: {proposal.action} changes no officers")
        return current
    try:
        after = key_change(current, proposal.action, proposal.params)
    except ProposalError as bad:
        raise BundleError("officers", f"{where}: {bad.reason}") from None
    if stated != after:
        raise BundleError("officers", f"{where}: the stated officers are not what it makes")
    return after


def key_change(current: OfficerSet, action: str, params: Mapping[str, Any]) -> OfficerSet:
    """``named_change`` on a set known by keys only (the verifier's)."""
    named = tuple((key.hex(), key.hex()) for key in sorted(current.keys))
    keys, threshold = named_change(named, current.threshold, action, params)
    return OfficerSet(threshold, frozenset(bytes.fromhex(key) for _, key in keys))


def named_change(
    officers: Named, threshold: int, action: str, params: Mapping[str, Any]
) -> tuple[Named, int]:
    """The officers and threshold after an officer action (``ProposalError``
    ``governance_action_invalid`` when it cannot apply: an officer twice, an unknown one,
    fewer officers than the threshold)."""
    keys = [key for _, key in officers]
    if action == ADD:
        _fields(params, {"name", "public_key"})
        name, key = params["name"], _key(params["public_key"])
        if not isinstance(name, str) or not _NAME.match(name):
            raise _invalid(f"an officer's name is 1 to {name_chars_max} printable characters")
        if key in keys:
            raise _invalid("this key is already an officer's")
        officers = (*officers, (name, key))
    elif action == REMOVE:
        _fields(params, {"public_key"})
        key = _officer(params["public_key"], keys)
        officers = tuple(pair for pair in officers if pair[1] != key)
    elif action == ROTATE_KEY:
        _fields(params, {"public_key", "new_public_key"})
        key, new = _officer(params["public_key"], keys), _key(params["new_public_key"])
        if new in keys:
            raise _invalid("the new key is already an officer's")
        officers = tuple((name, new if old == key else old) for name, old in officers)
    elif action == THRESHOLD:
        _fields(params, {"threshold"})
        threshold = params["threshold"]
        if isinstance(threshold, bool) or not isinstance(threshold, int):
            raise _invalid("threshold is an integer")
    else:
        raise _invalid(f"{action} is not an officer action")
    if not 0 < len(officers) <= b.officers_max or not 1 <= threshold <= len(officers):
        raise _invalid(
            f"1 <= threshold <= officers <= {b.officers_max}: {threshold} of {len(officers)}"
        )
    return officers, threshold


def officers_json(officers: Named, threshold: int) -> dict[str, Any]:
    """``{"officers": [{"name", "public_key"}], "threshold"}``, as entries and files hold it."""
    return {
        "officers": [{"name": name, "public_key": key} for name, key in officers],
        "threshold": threshold,
    }


def read_entry(value: Mapping[str, Any], number: int) -> Entry:
    """Read and shape-check governance line ``number`` (any kind but ``officers.rotate``)."""
    where = f"line {number}"
    kind = value.get("kind")
    if kind not in KINDS:
        raise BundleError(
            "governance", f"{where}: kind must be one of {sorted(KINDS | {b.ROTATE})}"
        )
    if set(value) != FIELDS[kind]:
        raise BundleError("governance", f"{where}: fields must be {sorted(FIELDS[kind])}")
    seq, at_us = value["seq"], value["at_us"]
    for number_value in (seq, at_us):
        if isinstance(number_value, bool) or not isinstance(number_value, int):
            raise BundleError("governance", f"{where}: seq and at_us are integers")
    try:
        proposal = None if kind in (GENESIS, SIGNED) else read_proposal(value["proposal"])
        if proposal is not None and value["id"] != proposal.id():
            raise BundleError("governance", f"{where}: id is not the proposal's")
        listed = value.get("signatures", [])
        if kind == SIGNED:
            listed = [value["signature"]]
        if not isinstance(listed, list) or len(listed) > b.officers_max:
            raise BundleError("governance", f"{where}: signatures is a list")
        signatures = tuple(read_signature(s) for s in listed)
    except ProposalError as bad:
        raise BundleError("governance", f"{where}: {bad.reason}") from None
    if kind == SIGNED and not b.is_digest_hex(value["id"]):
        raise BundleError("governance", f"{where}: id must be a proposal id")
    officers = None
    if kind == GENESIS:
        officers = b.officer_set(value, "governance")
    elif kind == EXECUTED and value["officers"] is not None:
        officers = b.officer_set(value["officers"], "governance")
    return Entry(number, kind, seq, at_us, proposal, signatures, officers)


def check_order(entries: Sequence[Entry]) -> None:
    """Within a bundle: seq contiguous, time not going back, executed nonces each the next,
    one deployment, at most one genesis and first if any."""
    for before, after in itertools.pairwise(entries):
        if after.seq != before.seq + 1 or after.at_us < before.at_us:
            raise BundleError("governance", f"line {after.number}: seq or time out of order")
    nonces = [e.proposal.nonce for e in entries if e.kind == EXECUTED and e.proposal]
    if any(later != earlier + 1 for earlier, later in itertools.pairwise(nonces)):
        raise BundleError("governance", "executed nonces are not consecutive")
    deployments = {e.proposal.deployment for e in entries if e.proposal is not None}
    if len(deployments) > 1:
        raise BundleError("governance", f"proposals of several deployments: {sorted(deployments)}")
    genesis = [e.number for e in entries if e.kind == GENESIS]
    if genesis and (len(genesis) > 1 or entries[0].kind != GENESIS):
        raise BundleError("governance", "officers.genesis comes once, first")


SEQ_AFTER = "seq_after"
"""The manifest's ``governance`` field: the last log seq published up to this month's end, so
that entries at a month's edge cannot be left out of both bundles."""


def seq_after(values: Sequence[Mapping[str, Any]], before: int | None) -> int | None:
    """The ``seq_after`` of a month: its last log entry's seq, else the previous month's."""
    seqs = [v["seq"] for v in values if v.get("kind") in KINDS]
    return seqs[-1] if seqs else before


def stated_seq_after(manifest: Mapping[str, Any]) -> int | None:
    """The manifest's ``governance.seq_after``, None for a bundle before any log entry."""
    value = manifest.get("governance", {}).get(SEQ_AFTER)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise BundleError("manifest", f"governance.{SEQ_AFTER} is an integer >= 0")
    return value if isinstance(value, int) else None


def check_link(
    entries: Sequence[Entry], stated: int | None, before: int | None, known: bool
) -> str | None:
    """The month's log entries end at the ``stated`` seq and, when the previous month's
    ``seq_after`` is ``known`` (``before``; None: no entry yet, as for a first month), continue
    it without a gap; the line saying so, None when there was nothing to link."""
    if entries and stated != entries[-1].seq:
        raise BundleError("governance", f"{SEQ_AFTER} is not the last entry's seq")
    if not known:
        return None
    if not entries:
        if stated != before:
            raise BundleError("governance", f"{SEQ_AFTER} {stated}, the month before {before}")
        return None
    start = before or 0
    if entries[0].seq != start + 1:
        raise BundleError(
            "governance",
            f"the log starts at seq {entries[0].seq}, not {start + 1}: entries missing",
        )
    return f"governance_link: seq {start + 1}..{stated} continue the previous month's log"


def genesis_set(entries: Sequence[Entry]) -> OfficerSet | None:
    """The officer set a log starting with ``officers.genesis`` starts from."""
    return entries[0].officers if entries and entries[0].kind == GENESIS else None


def _fields(params: Mapping[str, Any], names: set[str]) -> None:
    if set(params) != names:
        raise _invalid(f"params must be exactly {sorted(names)}")


def _key(value: object) -> str:
    if not isinstance(value, str) or not b.is_digest_hex(value):
        raise _invalid("a public key is 32 bytes of lower-case hex")
    return value


def _officer(value: object, keys: list[str]) -> str:
    key = _key(value)
    if key not in keys:
        raise _invalid("no officer has this key")
    return key


def _invalid(reason: str) -> ProposalError:
    return ProposalError("governance_action_invalid", reason)
