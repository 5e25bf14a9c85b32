"""The transparency page in real headless Chromium (Debian's ``chromium``, driven by Playwright
for Python; never Playwright's own browsers): a month published with its digest, signatures,
anchors and charts, Bahasa Indonesia first with an English switch, nothing loaded from anywhere,
and "Cek struk saya" verifying a good receipt with WebCrypto and refusing one with a single
changed byte. A screenshot of each verdict is written to the test output directory
(``MSC_TEST_OUTPUT_DIR``, default ``.data/test-output``)."""

from __future__ import annotations

import json
import os
import random
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from settlement.audit import bundle as b
from settlement.audit import merkle
from tests.support.api import headers, operator
from tests.support.asgi_server import serving
from tests.support.public_audit import World, published_world

pytestmark = pytest.mark.integration

CHROMIUM = Path(os.environ.get("MSC_CHROMIUM", "/usr/bin/chromium"))
ROOT = Path(__file__).resolve().parents[3]
OUTPUT = Path(os.environ.get("MSC_TEST_OUTPUT_DIR", ROOT / ".data" / "test-output"))
verdict_timeout_ms = 15_000
EXPLORER = "https://explorer.test/tx/{tx_hash}"


@pytest.fixture(scope="module")
def world(
    module_database_url: str, module_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    publish = tmp_path_factory.mktemp("published")
    with published_world(
        module_database_url, module_engine, publish, audit_explorer_stellar_tx_url=EXPLORER
    ) as found:
        anchor = {
            "digest": json.loads((found.bundle / b.SIGNATURES).read_text())["digest"],
            "kind": "stellar",
            "ledger": 1234,
            "network_passphrase": "Pi Testnet",
            "period": b.anchor_period(found.month),
            "source_account": "G" + "A" * 55,
            "tx_hash": "ab" * 32,
        }
        (found.bundle / b.ANCHORS).write_text(json.dumps([anchor]))
        for number, amount in enumerate(("2500000.00", "1000000.00")):
            body = {
                "reference": f"CSR-PAGE-{uuid.uuid4().hex[:8]}-{number}",
                "source": "csr",
                "contributor": "Bank Jatim",
                "amount": amount,
            }
            booked = found.http.post(
                "/v1/guarantee-fund/contributions", json=body, headers=headers(operator(found.app))
            )
            assert booked.status_code in (200, 201), booked.text
        yield found


@pytest.fixture(scope="module")
def browser(base: str) -> Iterator[object]:
    """Chromium, started after the world (Playwright's sync API holds an event loop in this
    thread from then on: the tests talk to the app over its socket only)."""
    if not CHROMIUM.is_file():
        if os.environ.get("MSC_SKIP_BROWSER") == "1":
            pytest.skip("MSC_SKIP_BROWSER=1 and no chromium")
        pytest.fail(f"no {CHROMIUM}: scripts/test installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def base(world: World) -> Iterator[str]:
    with serving(world.app) as url:
        yield url


def receipt(world: World, base: str) -> str:
    reply = httpx.get(
        f"{base}/v1/receipts/{world.month}/{world.merchant_transfer}",
        headers={"Authorization": world.merchant_key},
    )
    assert reply.status_code == 200, reply.text
    return reply.text


def check(browser: object, base: str, pasted: str, shot: str) -> tuple[str, str, str]:
    page = browser.new_page()  # type: ignore[attr-defined]
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{base}/transparency")
    page.fill("#receipt", pasted)
    page.click("#check")
    page.wait_for_selector("#verdict:not([data-state='idle'])", timeout=verdict_timeout_ms)
    state = page.get_attribute("#verdict", "data-state")
    text = page.inner_text("#verdict") + "\n" + page.inner_text("#verdict-details")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / shot), full_page=True)
    page.close()
    assert failed == []
    assert requested == [f"{base}/transparency"], "the page loads nothing else"
    return str(state), text, str(OUTPUT / shot)


def test_a_good_receipt_is_verified_in_the_browser(
    browser: object, base: str, world: World
) -> None:
    state, text, shot = check(
        browser, base, receipt(world, base), "transparency-receipt-verified.png"
    )
    assert state == "ok", text
    assert "Terverifikasi" in text
    assert Path(shot).stat().st_size > 1000


def test_a_receipt_with_one_changed_byte_is_refused(
    browser: object, base: str, world: World
) -> None:
    good = receipt(world, base)
    tampered = re.sub(
        r'(\\"amount\\":)(\d)',
        lambda m: m.group(1) + str((int(m.group(2)) + 1) % 10),
        good,
        count=1,
    )
    assert len(tampered) == len(good)
    assert sum(a != b for a, b in zip(tampered, good, strict=True)) == 1
    state, text, shot = check(browser, base, tampered, "transparency-receipt-refused.png")
    assert state == "refused", text
    assert "struk telah diubah" in text
    assert Path(shot).stat().st_size > 1000


def test_a_receipt_of_another_month_is_refused_naming_it(
    browser: object, base: str, world: World
) -> None:
    other = json.loads(receipt(world, base))
    other["proof"]["period"] = "1999-01"
    state, text, _ = check(browser, base, json.dumps(other), "transparency-receipt-month.png")
    assert state == "refused"
    assert "1999-01 tidak diterbitkan" in text


def test_the_page_lists_the_month_in_bahasa_first_with_an_english_switch(
    base: str, world: World
) -> None:
    page = httpx.get(f"{base}/transparency")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="id">' in html
    assert "Bulan yang diterbitkan" in html
    digest = json.loads((world.bundle / b.SIGNATURES).read_text())["digest"]
    assert digest in html
    assert 'href="https://explorer.test/tx/' + "ab" * 32 + '"' in html
    assert html.count("<polyline") == 1, "the fund's balance is drawn; no coverage without MSC"
    assert "Rp 3.500.000" in html
    assert re.findall(r"\ssrc\s*=", html) == []
    assert "<link" not in html
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "public" in page.headers["cache-control"]
    english = httpx.get(f"{base}/transparency?lang=en")
    assert '<html lang="en">' in english.text
    assert "Published months" in english.text
    assert "Check my receipt" in english.text


def test_the_browsers_path_walk_is_rfc_9162s(browser: object, base: str) -> None:
    """The page's WebCrypto walk against the Python verifier's tree, over many sizes and leaves
    (and wrong paths refused the same way)."""
    rng = random.Random(14)
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(f"{base}/transparency")
    for _ in range(120):
        size = rng.choice([1, 2, 3, 5, 8, 13, 64, 65, 127, 200, rng.randint(1, 400)])
        hashes = [merkle.leaf_hash(rng.randbytes(16)) for _ in range(size)]
        index = rng.randrange(size)
        path = [node.hex() for node in merkle.inclusion_proof(hashes, index)]
        walked = page.evaluate(
            "([i, n, leaf, path]) => window.mscRootOf(i, n, leaf, path)",
            [index, size, hashes[index].hex(), path],
        )
        assert walked == merkle.root_of_hashes(hashes).hex(), (size, index)
        if path:
            refused = page.evaluate(
                "([i, n, leaf, path]) => window.mscRootOf(i, n, leaf, path).catch(e => 'refused')",
                [index, size, hashes[index].hex(), path[:-1]],
            )
            assert refused == "refused", (size, index)
    page.close()
