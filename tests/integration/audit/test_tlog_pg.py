"""The cumulative log on PostgreSQL: two months exported into one tree, verified with
--previous, the log key and witnesses; proofs served by transfer id and between sizes; the
database refusing an inconsistent or forked checkpoint; every new file tampered and refused."""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import uuid
from pathlib import Path

import pytest
from nacl.signing import SigningKey
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from escrow.clock import FixedClock, SystemClock
from escrow.ledger import Ledger
from escrow.periods import period_of
from settlement.audit import bundle as b
from settlement.audit import cumulative, merkle
from settlement.audit.checkpoint import CHECKPOINT_FILE, Checkpoint
from settlement.audit.cli import main
from settlement.audit.consistency import CompactRange, consistency_proof, verify_consistency
from settlement.audit.cumulative import LogAppender, LogConfig
from settlement.audit.export import export_period
from settlement.audit.note import generate_signer, sign_note
from settlement.audit.signing import Officers, load_officers, sign_bundle
from settlement.unit_of_work import bind
from tests.integration.audit.test_audit_export_pg import (
    KEY,
    close,
    open_accounts,
    post_month,
)

pytestmark = pytest.mark.integration
ORIGIN = "madiun.go.id/msc/transfers"


@pytest.fixture
def keys() -> list[SigningKey]:
    return [SigningKey.generate(), SigningKey.generate()]


@pytest.fixture
def officers(tmp_path: Path, keys: list[SigningKey]) -> Officers:
    path = tmp_path / "officers.json"
    entries = [
        {"name": f"o{i}", "public_key": bytes(k.verify_key).hex()} for i, k in enumerate(keys)
    ]
    path.write_text(json.dumps({"threshold": 2, "officers": entries}))
    return load_officers(path)


@pytest.fixture
def log() -> LogConfig:
    return LogConfig(ORIGIN, generate_signer(ORIGIN))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def export_months(
    conn: Connection,
    clock: FixedClock,
    keys: list[SigningKey],
    officers: Officers,
    log: LogConfig,
    tmp_path: Path,
    count: int = 2,
) -> list[str]:
    ledger = Ledger(conn, clock)
    open_accounts(ledger)
    names = []
    for _ in range(count):
        name = period_of(clock.now_us())
        post_month(ledger, clock)
        close(ledger, clock, name)
        export_period(
            bind(conn, SystemClock()), name, tmp_path / name, KEY, officers, "test", log=log
        ).publish()
        for key in keys:
            sign_bundle(tmp_path / name, key)
        names.append(name)
    return names


def test_two_months_grow_one_log_and_verify(
    module_conn: Connection,
    clock: FixedClock,
    keys: list[SigningKey],
    officers: Officers,
    log: LogConfig,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, second = export_months(module_conn, clock, keys, officers, log, tmp_path)
    one = json.loads((tmp_path / first / b.MANIFEST).read_text())["cumulative"]
    two = json.loads((tmp_path / second / b.MANIFEST).read_text())["cumulative"]
    assert (one["previous_size"], one["size"], two["previous_size"], two["size"]) == (0, 7, 7, 14)
    vkey = log.signer.verifier.vkey()
    code, report = run(
        capsys,
        "verify",
        str(tmp_path / second),
        "--previous",
        str(tmp_path / first),
        "--log-key",
        vkey,
    )
    assert code == 0, report
    assert "ok consistency: size 7 (--previous) is a prefix of size 14" in report
    assert "pinned by --log-key" in report
    code, report = run(capsys, "consistency", str(tmp_path / first), str(tmp_path / second))
    assert code == 0, report

    served = cumulative.consistency(module_conn, 7, 14)
    assert [h.hex() for h in served] == two["consistency"]
    transfer = json.loads((tmp_path / first / b.TRANSFERS).read_text().splitlines()[3])
    proof = cumulative.inclusion(module_conn, transfer["id"])
    assert (proof.index, proof.size, proof.root.hex()) == (3, 14, two["root"])
    line = (tmp_path / first / b.TRANSFERS).read_bytes().splitlines()[3]
    assert proof.leaf_hash == merkle.leaf_hash(line)
    assert merkle.verify_inclusion(3, 14, proof.leaf_hash, list(proof.path), proof.root)
    note = cumulative.checkpoint_note(module_conn)
    assert note is not None
    assert note.startswith(f"{ORIGIN}\n14\n")

    again = export_period(
        bind(module_conn, SystemClock()), first, tmp_path / "again", KEY, officers, "test", log=log
    )
    assert (again.staging / CHECKPOINT_FILE).read_text() == (
        tmp_path / first / CHECKPOINT_FILE
    ).read_text()


def test_tampered_log_files_are_refused_naming_what_differs(
    module_conn: Connection,
    clock: FixedClock,
    keys: list[SigningKey],
    officers: Officers,
    log: LogConfig,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, second = export_months(module_conn, clock, keys, officers, log, tmp_path)
    vkey = log.signer.verifier.vkey()
    bundle = tmp_path / second

    def copy(tag: str) -> Path:
        target = tmp_path / f"{second}-{tag}"
        shutil.copytree(bundle, target)
        return target

    note = (bundle / CHECKPOINT_FILE).read_bytes()
    for at in (0, len(ORIGIN) + 1, note.index(b"\n\n") - 3, len(note) - 5):
        bad = copy(f"byte{at}")
        (bad / CHECKPOINT_FILE).write_bytes(note[:at] + bytes([note[at] ^ 1]) + note[at + 1 :])
        code, report = run(
            capsys, "verify", str(bad), "--officers", _officers(tmp_path), "--log-key", vkey
        )
        assert code == 1
        assert "\nFAIL checkpoint:" in report, report

    other = copy("otherkey")
    text_ = note.split(b"\n\n")[0].decode() + "\n"
    (other / CHECKPOINT_FILE).write_bytes(sign_note(text_, generate_signer(ORIGIN)).encode())
    code, report = run(
        capsys, "verify", str(other), "--officers", _officers(tmp_path), "--log-key", vkey
    )
    assert (code, "\nFAIL checkpoint: no signature by" in report) == (1, True), report

    witness = generate_signer("witness.example/w1", 4).verifier.vkey()
    code, report = run(
        capsys,
        "verify",
        str(bundle),
        "--officers",
        _officers(tmp_path),
        "--witness",
        witness,
        "--min-witnesses",
        "1",
    )
    assert code == 1
    assert "FAIL witnesses: 0 valid cosignatures by trusted witnesses, 1 needed" in report

    wrong = tmp_path / "proof.json"
    two = json.loads((bundle / b.MANIFEST).read_text())["cumulative"]
    broken = [base64.b64encode(bytes.fromhex(h)[::-1]).decode() for h in two["consistency"]]
    wrong.write_text(json.dumps(broken))
    code, report = run(
        capsys, "consistency", str(tmp_path / first), str(bundle), "--proof", str(wrong)
    )
    assert code == 1
    assert report.startswith("FAIL consistency: the proof does not lead"), report
    code, report = run(capsys, "consistency", str(bundle), str(tmp_path / first))
    assert code == 1
    assert "FAIL consistency:" in report


def _officers(tmp_path: Path) -> str:
    return str(tmp_path / "officers.json")


def test_the_database_refuses_an_inconsistent_or_forked_checkpoint(
    module_conn: Connection,
    clock: FixedClock,
    keys: list[SigningKey],
    officers: Officers,
    log: LogConfig,
    tmp_path: Path,
) -> None:
    first, second = export_months(module_conn, clock, keys, officers, log, tmp_path)
    latest = cumulative.stored(module_conn, second)
    assert latest is not None
    third = period_of(clock.now_us())
    ledger = Ledger(module_conn, clock)
    close(ledger, clock, third)
    fork_root = merkle.node_hash(latest.root, merkle.leaf_hash(b"forked"))
    row = {
        "period": third,
        "previous": second,
        "size": latest.size + 1,
        "starts": 1,
        "ends": 2,
        "origin": ORIGIN,
        "root": fork_root,
        "peaks": b"".join(latest.peaks),
        "consistency": b"",
        "note": sign_note(Checkpoint(ORIGIN, latest.size + 1, fork_root).text(), log.signer)
        .encode()
        .decode(),
    }
    insert = text(
        "INSERT INTO tlog_checkpoints (period, previous, size, starts_at_us, ends_at_us, origin,"
        " root, peaks, consistency, note) VALUES (:period, :previous, :size, :starts, :ends,"
        " :origin, :root, :peaks, :consistency, :note)"
    )
    with pytest.raises(DBAPIError, match="do not fold to its root"), module_conn.begin_nested():
        module_conn.execute(insert, row)
    # Peaks that fold, but a tree that does not extend the last checkpoint.
    forged = [merkle.leaf_hash(b"x")] * (latest.size + 1).bit_count()
    forged_root = CompactRange(latest.size + 1, forged).root()
    row |= {"peaks": b"".join(forged), "root": forged_root, "consistency": bytes(32) * 3}
    row["note"] = (
        sign_note(Checkpoint(ORIGIN, latest.size + 1, forged_root).text(), log.signer)
        .encode()
        .decode()
    )
    with pytest.raises(DBAPIError, match="is not consistent with"), module_conn.begin_nested():
        module_conn.execute(insert, row)
    with pytest.raises(DBAPIError, match="follows the latest one"), module_conn.begin_nested():
        module_conn.execute(insert, row | {"previous": first})
    with pytest.raises(DBAPIError, match="immutable"), module_conn.begin_nested():
        module_conn.execute(text("UPDATE tlog_checkpoints SET note = ''"))


def test_proofs_across_stored_nodes_of_a_large_log(module_conn: Connection, log: LogConfig) -> None:
    months = ["1990-01", "1990-02", "1990-03"]
    for name in months:
        module_conn.execute(
            text(
                "INSERT INTO ledger_periods (period, starts_at_us, ends_at_us, transfer_count,"
                " closed_by) VALUES (:p, 1, 2, 0, 'test')"
            ),
            {"p": name},
        )
    hashes = [merkle.leaf_hash(uuid.UUID(int=i).bytes) for i in range(13_001)]
    sizes = [0, 5_000, 9_000, 13_001]
    for name, (start, end) in zip(months, itertools.pairwise(sizes), strict=True):
        appender = LogAppender(module_conn, name, (1, 2), log)
        for leaf in hashes[start:end]:
            appender.add(leaf)
        section = appender.section()
        assert section["root"] == merkle.root_of_hashes(hashes[:end]).hex()
    nodes = module_conn.execute(text("SELECT count(*) FROM tlog_nodes")).scalar_one()
    assert nodes == 13_001 // 4096 + 13_001 // 8192
    for size1, size2 in ((1, 13_001), (4096, 13_001), (5_000, 9_000), (8193, 12_289)):
        proof = cumulative.consistency(module_conn, size1, size2)
        verify_consistency(
            size1,
            size2,
            merkle.root_of_hashes(hashes[:size1]),
            merkle.root_of_hashes(hashes[:size2]),
            proof,
        )
    tree = cumulative.DbTree(module_conn)
    assert tree.subtree(4095, 12_289) == merkle.root_of_hashes(hashes[4095:12_289])


def test_proofs_of_what_the_log_does_not_hold_are_refused(
    module_conn: Connection,
    clock: FixedClock,
    keys: list[SigningKey],
    officers: Officers,
    log: LogConfig,
    tmp_path: Path,
) -> None:
    first, _ = export_months(module_conn, clock, keys, officers, log, tmp_path)
    outbox = "SELECT count(*) FROM outbox"
    before = module_conn.execute(text(outbox)).scalar_one()
    for sizes in ((0, 7), (8, 7), (7, 15)):
        with pytest.raises(cumulative.LogRefused, match="no proof from size") as refused:
            cumulative.consistency(module_conn, *sizes)
        assert refused.value.code == "audit_log_sizes_refused"
    with pytest.raises(cumulative.LogRefused, match="not in a published month") as refused:
        cumulative.inclusion(module_conn, str(uuid.uuid4()))
    assert refused.value.code == "audit_log_transfer_unpublished"
    transfer = json.loads((tmp_path / first / b.TRANSFERS).read_text().splitlines()[0])
    with pytest.raises(cumulative.LogRefused, match="is not in a tree of 0"):
        cumulative.inclusion(module_conn, transfer["id"], size=0)
    assert module_conn.execute(text(outbox)).scalar_one() == before


def _resigned(bundle: Path, tag: str, keys: list[SigningKey], edit: dict[str, object]) -> Path:
    """A copy of the bundle whose manifest's cumulative section is edited and signed again by
    the officers (as a treasury that controls its officers could): the log checks must still
    refuse it."""
    copy = bundle.with_name(f"{bundle.name}-{tag}")
    shutil.copytree(bundle, copy)
    manifest = json.loads((copy / b.MANIFEST).read_text())
    manifest["cumulative"] |= edit
    (copy / b.MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    (copy / b.SIGNATURES).write_text(
        json.dumps({"digest": b.digest(manifest).hex(), "signatures": []})
    )
    for key in keys:
        sign_bundle(copy, key)
    return copy


def test_a_rewritten_cumulative_section_is_refused_even_when_signed(
    module_conn: Connection,
    clock: FixedClock,
    keys: list[SigningKey],
    officers: Officers,
    log: LogConfig,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, second = export_months(module_conn, clock, keys, officers, log, tmp_path)
    bundle, before = tmp_path / second, tmp_path / first
    section = json.loads((bundle / b.MANIFEST).read_text())["cumulative"]
    flipped = section["consistency"][0][:-1] + (
        "0" if section["consistency"][0][-1] != "0" else "1"
    )
    cases: list[tuple[dict[str, object], str]] = [
        ({"root": "00" * 32}, "FAIL cumulative: this month's transfers on the previous peaks"),
        ({"previous_peaks": ["11" * 32] * 3}, "FAIL cumulative: the previous peaks do not hash"),
        ({"size": 15}, "FAIL cumulative: size 15 is not previous_size 7 plus 7 transfers"),
        ({"consistency": [flipped, *section["consistency"][1:]]}, "FAIL consistency: the proof"),
        ({"log_key": generate_signer(ORIGIN).verifier.vkey()}, "FAIL checkpoint: no signature"),
        ({"origin": "example.com/other"}, "FAIL checkpoint: checkpoint.txt states origin"),
    ]
    for number, (edit, failure) in enumerate(cases):
        copy = _resigned(bundle, f"edit{number}", keys, edit)
        code, report = run(capsys, "verify", str(copy), "--officers", _officers(tmp_path))
        assert code == 1, edit
        assert f"\n{failure}" in report, report

    # A whole other history of size 7, consistent in itself: only --previous can tell.
    month = [merkle.leaf_hash(line) for line in (bundle / b.TRANSFERS).read_bytes().splitlines()]
    fake = [merkle.leaf_hash(bytes([i])) for i in range(7)] + month
    prefix = CompactRange()
    for leaf in fake[:7]:
        prefix.append(leaf)
    proof = consistency_proof(7, 14, lambda a, z: merkle.root_of_hashes(fake[a:z]))
    forged_root = merkle.root_of_hashes(fake)
    forged = _resigned(
        bundle,
        "forked",
        keys,
        {
            "previous_peaks": [p.hex() for p in prefix.peaks],
            "previous_root": prefix.root().hex(),
            "root": forged_root.hex(),
            "consistency": [p.hex() for p in proof],
        },
    )
    note = sign_note(Checkpoint(ORIGIN, 14, forged_root).text(), log.signer).encode()
    (forged / CHECKPOINT_FILE).write_bytes(note)
    code, report = run(capsys, "verify", str(forged), "--officers", _officers(tmp_path))
    assert code == 0, report
    code, report = run(capsys, "verify", str(forged), "--previous", str(before))
    assert code == 1
    assert "\nFAIL consistency: --previous ends at size 7 with another root" in report, report
    code, report = run(capsys, "consistency", str(before), str(forged))
    assert code == 1
    assert "FAIL consistency: NEW grows from another tree of size 7 than OLD's" in report


def test_a_month_published_before_the_log_exports_again_unchanged(
    module_conn: Connection,
    clock: FixedClock,
    keys: list[SigningKey],
    officers: Officers,
    log: LogConfig,
    tmp_path: Path,
) -> None:
    ledger = Ledger(module_conn, clock)
    open_accounts(ledger)
    name = period_of(clock.now_us())
    post_month(ledger, clock)
    close(ledger, clock, name)
    uow = bind(module_conn, SystemClock())
    before = export_period(uow, name, tmp_path / "old", KEY, officers, "test")
    again = export_period(uow, name, tmp_path / "new", KEY, officers, "test", log=log)
    assert again.digest == before.digest
    assert not (again.staging / CHECKPOINT_FILE).exists()
    assert cumulative.latest(module_conn) is None
    second = export_months(module_conn, clock, keys, officers, log, tmp_path, count=1)[0]
    section = json.loads((tmp_path / second / b.MANIFEST).read_text())["cumulative"]
    assert (section["previous_size"], section["size"]) == (0, 7)
