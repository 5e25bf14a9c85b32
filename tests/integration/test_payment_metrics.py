"""The payment metrics by kelurahan, read at scrape time from the rows of paid checkout legs:
exact counts and Rupiah values per kelurahan and rail, unpaid legs left out, and served by the
app's /metrics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from api.app import create_app
from chain.pi.sandbox.inprocess import inprocess_client
from escrow.calendar import from_us
from escrow.clock import SystemClock
from settlement.bootstrap import build_container
from settlement.config import Settings
from settlement.metrics import LEGS_PAID, LEGS_PAID_IDR, PaymentCollector
from tests.support.checkout_rows import checkout_id, insert_checkout, insert_leg, insert_merchant

pytestmark = pytest.mark.integration
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples_of(families: Iterator[Metric]) -> Samples:
    found: Samples = {}
    for family in families:
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def sale(engine: Engine, kelurahan: str, legs: list[tuple[str, str, int, bool]]) -> None:
    """One merchant of ``kelurahan`` with one checkout of ``legs`` (tender, asset, idr, paid)."""
    now = SystemClock().now_us()
    with engine.begin() as conn:
        mid = "K" + checkout_id()[3:15].upper()
        insert_merchant(conn, mid, kelurahan=kelurahan)
        cid = checkout_id()
        insert_checkout(
            conn, cid, mid, price_units=sum(leg[2] for leg in legs), status="open", at_us=now
        )
        for position, (tender, asset, idr, paid) in enumerate(legs):
            insert_leg(
                conn,
                cid,
                position,
                tender,
                asset,
                idr_units=idr,
                amount_units=idr,
                status="paid" if paid else "open",
                paid_at=from_us(now) if paid else None,
            )


@pytest.fixture(scope="module")
def sold(module_engine: Engine) -> Engine:
    sale(
        module_engine, "Kelurahan A", [("PI", "PI", 750_000, True), ("QRIS", "IDR", 750_000, True)]
    )
    sale(module_engine, "Kelurahan A", [("QRIS", "IDR", 1_000_000, True)])
    sale(
        module_engine, "Kelurahan B", [("MSC", "MSC", 500_000, True), ("PI", "PI", 500_000, False)]
    )
    sale(module_engine, "Kelurahan C", [("MSCP", "MSCP", 250_000, False)])
    return module_engine


def test_paid_legs_are_counted_and_valued_per_kelurahan_and_rail(sold: Engine) -> None:
    samples = samples_of(PaymentCollector(sold).collect())
    legs = {labels: v for (name, labels), v in samples.items() if name == f"{LEGS_PAID}_total"}
    value = {labels: v for (name, labels), v in samples.items() if name == f"{LEGS_PAID_IDR}_total"}
    a_pi = (("kelurahan", "Kelurahan A"), ("rail", "PI"))
    a_qris = (("kelurahan", "Kelurahan A"), ("rail", "QRIS"))
    b_msc = (("kelurahan", "Kelurahan B"), ("rail", "MSC"))
    assert legs == {a_pi: 1, a_qris: 2, b_msc: 1}
    assert value == {a_pi: 750_000, a_qris: 1_750_000, b_msc: 500_000}
    assert samples[("msc_payments_up", ())] == 1


def test_the_utility_index_of_these_figures(sold: Engine) -> None:
    """What the dashboard's expression gives for them: A leads both, B has 1/3 of A's legs and
    1/5 of its value."""
    samples = samples_of(PaymentCollector(sold).collect())
    count: dict[str, float] = {}
    value: dict[str, float] = {}
    for (name, labels), v in samples.items():
        kelurahan = dict(labels).get("kelurahan")
        if kelurahan and name == f"{LEGS_PAID}_total":
            count[kelurahan] = count.get(kelurahan, 0) + v
        if kelurahan and name == f"{LEGS_PAID_IDR}_total":
            value[kelurahan] = value.get(kelurahan, 0) + v
    index = {
        k: 0.6 * count[k] / max(count.values()) + 0.4 * value[k] / max(value.values())
        for k in count
    }
    assert index == pytest.approx({"Kelurahan A": 1.0, "Kelurahan B": 0.6 / 3 + 0.4 / 5})


def test_a_database_that_cannot_be_read_says_so() -> None:
    container = build_container(Settings(), "postgresql://unused@127.0.0.1:1/none")
    try:
        samples = samples_of(PaymentCollector(container.engine).collect())
    finally:
        container.engine.dispose()
    assert samples == {("msc_payments_up", ()): 0}


def test_the_app_serves_them(sold: Engine, tmp_path: Path) -> None:
    url = sold.url.render_as_string(hide_password=False)
    container = build_container(Settings(data_dir=tmp_path), url)
    try:
        with inprocess_client(create_app(container), "http://service.test") as client:
            reply = client.get("/metrics")
    finally:
        container.engine.dispose()
    assert reply.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(reply.text)}
    legs = families[LEGS_PAID]
    assert sum(s.value for s in legs.samples if s.name == f"{LEGS_PAID}_total") == 4
    assert families["msc_payments_up"].samples[0].value == 1
