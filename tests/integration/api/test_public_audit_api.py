"""The public audit API and receipts on PostgreSQL: a month closed, exported into the publish
directory and signed; anyone lists it, downloads its files byte for byte (cached, ETag, 304),
asks inclusion proofs that check against the manifest's root and the cumulative log's
checkpoint, inclusion and consistency proofs; a Pioneer and a merchant get their own transfers
and pseudonym and are refused another's; a client over its allowance gets 429 with Retry-After."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, text

from settlement.audit import bundle as b
from settlement.audit import merkle
from settlement.audit.canonical import pseudonym
from settlement.config import Settings
from tests.integration.audit.test_audit_export_pg import KEY
from tests.support.api import client, operator, service
from tests.support.public_audit import World, published_world

pytestmark = pytest.mark.integration
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def world(
    module_database_url: str, module_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    publish = tmp_path_factory.mktemp("published")
    with published_world(module_database_url, module_engine, publish) as found:
        yield found


def _problem(reply: httpx.Response, status: int, code: str) -> None:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == PROBLEM
    assert reply.json()["code"] == code


def _effects(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (
            conn.execute(text("SELECT count(*) FROM transfers")).scalar_one(),
            conn.execute(text("SELECT count(*) FROM outbox")).scalar_one(),
        )


def _check(proof: dict[str, object]) -> bool:
    """What an auditor does with a proof: hash the leaf, walk the path, meet the root."""
    leaf = merkle.leaf_hash(str(proof["leaf"]).encode())
    path = [bytes.fromhex(p) for p in proof["path"]]  # type: ignore[attr-defined]
    return merkle.verify_inclusion(
        int(proof["leaf_index"]),  # type: ignore[call-overload]
        int(proof["tree_size"]),  # type: ignore[call-overload]
        leaf,
        path,
        bytes.fromhex(str(proof["root"])),
    )


def test_anyone_lists_the_published_months_and_reads_their_files(world: World) -> None:
    http = world.http
    listed = http.get("/v1/audit/periods")
    assert listed.status_code == 200, listed.text
    assert "public" in listed.headers["cache-control"]
    [entry] = [p for p in listed.json()["periods"] if p["period"] == world.month]
    manifest = json.loads((world.bundle / b.MANIFEST).read_text())
    assert entry["digest"] == b.digest(manifest).hex()
    assert entry["transfer_root"] == manifest["transfers"]["root"]
    assert len(entry["signatures"]) == 2
    assert http.get(f"/v1/audit/periods/{world.month}").json() == entry
    for name in b.FILES:
        reply = http.get(entry["files"][name])
        assert reply.status_code == 200, name
        assert reply.content == (world.bundle / name).read_bytes(), name
        again = http.get(entry["files"][name], headers={"If-None-Match": reply.headers["etag"]})
        assert (again.status_code, again.content) == (304, b""), name
    assert "immutable" in http.get(entry["files"][b.TRANSFERS]).headers["cache-control"]
    assert "immutable" not in http.get(entry["files"][b.SIGNATURES]).headers["cache-control"]


def test_a_month_tree_inclusion_proof_checks_against_the_root(world: World) -> None:
    reply = world.http.get(f"/v1/audit/periods/{world.month}/inclusion/{world.merchant_transfer}")
    assert reply.status_code == 200, reply.text
    proof = reply.json()
    manifest = json.loads((world.bundle / b.MANIFEST).read_text())
    assert proof["root"] == manifest["transfers"]["root"]
    assert json.loads(proof["leaf"])["id"] == world.merchant_transfer
    assert _check(proof)
    assert not _check(proof | {"leaf": proof["leaf"].replace('"amount":', '"amount":1')})


def test_the_cumulative_log_answers_its_checkpoint_and_proofs(world: World) -> None:
    checkpoint = world.http.get("/v1/audit/checkpoint")
    assert checkpoint.status_code == 200, checkpoint.text
    found = checkpoint.json()
    manifest = json.loads((world.bundle / b.MANIFEST).read_text())
    assert found["period"] == world.month
    assert found["tree_size"] == manifest["cumulative"]["size"] == manifest["transfers"]["count"]
    assert found["root"] == manifest["cumulative"]["root"]
    assert found["note"].startswith(f"madiun.go.id/msc/transfers\n{found['tree_size']}\n")
    for transfer_id in (world.pioneer_transfer, world.merchant_transfer):
        proof = world.http.get(f"/v1/audit/inclusion/{transfer_id}").json()
        leaf = merkle.leaf_hash(_line_of(world, transfer_id))
        assert bytes.fromhex(proof["leaf_hash"]) == leaf
        path = [bytes.fromhex(node) for node in proof["path"]]
        root = bytes.fromhex(found["root"])
        assert merkle.verify_inclusion(proof["leaf_index"], proof["tree_size"], leaf, path, root)
    same = world.http.get(f"/v1/audit/consistency?old=1&new={found['tree_size']}")
    assert same.status_code == 200, same.text
    assert same.json()["old_size"] == 1
    cosigned = world.http.get(f"/v1/audit/periods/{world.month}/cosignatures")
    assert cosigned.json() == {"period": world.month, "cosignatures": []}


def _line_of(world: World, transfer_id: str) -> bytes:
    for line in (world.bundle / b.TRANSFERS).read_bytes().splitlines():
        if json.loads(line)["id"] == transfer_id:
            return line
    raise AssertionError(f"{transfer_id} is not in the bundle")


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/v1/audit/periods/1999-01", 404, "audit_not_published"),
        ("/v1/audit/periods/1999-01/files/manifest.json", 404, "audit_not_published"),
        ("/v1/audit/periods/{month}/files/secret.json", 404, "audit_not_published"),
        (
            "/v1/audit/periods/{month}/inclusion/" + str(uuid.UUID(int=7)),
            404,
            "audit_transfer_not_found",
        ),
        ("/v1/audit/periods/2026-13", 422, "invalid_request"),
        ("/v1/audit/inclusion/" + str(uuid.UUID(int=7)), 404, "audit_log_transfer_unpublished"),
        ("/v1/audit/consistency?old=1&new=99", 422, "audit_log_sizes_refused"),
        ("/v1/audit/consistency?old=0&new=2", 422, "invalid_request"),
        ("/v1/audit/periods/1999-01/cosignatures", 404, "audit_log_not_available"),
    ],
)
def test_what_is_not_published_is_refused(world: World, path: str, status: int, code: str) -> None:
    before = _effects(world.engine)
    _problem(world.http.get(path.format(month=world.month)), status, code)
    assert _effects(world.engine) == before


def test_a_pioneer_gets_its_own_transfers_and_pseudonym(world: World) -> None:
    token = {"Authorization": f"Bearer {world.pioneer['access_token']}"}
    reply = world.http.get(f"/v1/me/receipts/{world.month}", headers=token)
    assert reply.status_code == 200, reply.text
    assert reply.headers["cache-control"] == "no-store"
    receipt = reply.json()
    assert receipt["pseudonym"] == pseudonym(KEY, world.pioneer["uid"])
    assert world.pioneer["uid"] not in reply.text, "its uid is nowhere in the receipt"
    assert len(receipt["entries"]) == 2
    assert all(_check(entry) for entry in receipt["entries"])
    assert all(receipt["pseudonym"] in entry["leaf"] for entry in receipt["entries"])
    lines = (world.bundle / b.TRANSFERS).read_bytes().split(b"\n")
    assert all(lines[e["leaf_index"]].decode() == e["leaf"] for e in receipt["entries"])
    one = world.http.get(f"/v1/me/receipts/{world.month}/{world.pioneer_transfer}", headers=token)
    assert one.status_code == 200, one.text
    assert _check(one.json()["proof"])


def test_a_merchant_gets_its_own_and_the_treasury_names_it(world: World) -> None:
    mine = world.http.get(
        f"/v1/receipts/{world.month}", headers={"Authorization": world.merchant_key}
    )
    assert mine.status_code == 200, mine.text
    assert mine.json()["pseudonym"] == pseudonym(KEY, world.merchant)
    assert len(mine.json()["entries"]) == 2
    staff = {"Authorization": operator(world.app)}
    named = world.http.get(f"/v1/receipts/{world.month}?merchant={world.merchant}", headers=staff)
    assert named.json() == mine.json()


def test_another_partys_receipt_is_refused(world: World) -> None:
    before = _effects(world.engine)
    pioneer = {"Authorization": f"Bearer {world.pioneer['access_token']}"}
    other = {"Authorization": world.other_key}
    month = world.month
    _problem(
        world.http.get(f"/v1/me/receipts/{month}/{world.merchant_transfer}", headers=pioneer),
        403,
        "audit_receipt_not_yours",
    )
    _problem(
        world.http.get(f"/v1/receipts/{month}/{world.merchant_transfer}", headers=other),
        403,
        "audit_receipt_not_yours",
    )
    _problem(
        world.http.get(f"/v1/receipts/{month}?merchant={world.merchant}", headers=other),
        403,
        "forbidden",
    )
    assert world.http.get(f"/v1/receipts/{month}/{world.merchant_transfer}").status_code == 401
    assert world.http.get(f"/v1/me/receipts/{month}").status_code == 401
    theirs = world.http.get(f"/v1/receipts/{month}", headers=other).json()
    assert theirs["entries"]
    assert world.merchant_transfer not in json.dumps(theirs)
    assert _effects(world.engine) == before


def test_a_client_over_its_allowance_gets_429_with_retry_after(
    module_database_url: str, world: World
) -> None:
    settings = Settings(public_requests_max=2, public_window_s=3600.0)
    with service(module_database_url, settings) as app, client(app) as http:
        assert [http.get("/v1/audit/periods").status_code for _ in range(2)] == [200, 200]
        refused = http.get("/v1/audit/checkpoint")
        _problem(refused, 429, "rate_limited")
        assert 1 <= int(refused.headers["retry-after"]) <= 3600
        assert hashlib.sha256(refused.content).digest()  # a body, problem+json
        token = {"Authorization": f"Bearer {world.pioneer['access_token']}"}
        assert http.get(f"/v1/me/receipts/{world.month}", headers=token).status_code != 429


def test_only_well_formed_anchors_are_served(world: World) -> None:
    anchors = world.bundle / b.ANCHORS
    before = anchors.read_bytes()
    digest = json.loads((world.bundle / b.SIGNATURES).read_text())["digest"]
    good = b.StellarAnchor(
        "Pi Testnet", "G" + "A" * 55, b.anchor_period(world.month), digest, "ab" * 32, 9
    ).as_json()
    try:
        anchors.write_text(json.dumps([{"kind": "evm", "tx_hash": "<script>"}, good, 7]))
        served = world.http.get(f"/v1/audit/periods/{world.month}").json()
        assert served["anchors"] == [good]
    finally:
        anchors.write_bytes(before)
