"""Chapter two: a Pioneer pays Bu Tin's Rp 15.000 plate half in Pi (the Pi app: the sandbox and
the service's Pi callbacks) and half by QRIS (the gateway's signed notification); she hands the
plate over, her share is released, and the day's Rupiah leaves in the treasury's payout batch."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from chain.bank.confirmation import ACCEPTED
from chain.qris.gateways.midtrans_sandbox import MidtransSandbox
from escrow.calendar import WIB, business_day, from_us
from settlement.demo.story import Step
from settlement.demo.world import DemoError, World, rupiah
from settlement.payouts.cut import CutPolicy, cutoff_at_us

PIONEER_PI = "100"
"""What each sandbox Pioneer holds when the story starts."""
PAY_DELAY_S = 45
HANDOVER_DELAY_S = 120
AFTER_CUTOFF_S = 60
MIDTRANS_TIME = "%Y-%m-%d %H:%M:%S"


def new_pioneer(world: World, role: str, username: str) -> dict[str, Any]:
    """A Pioneer in the Pi sandbox (its Pi app: uid, wallet, access token)."""
    pioneer: dict[str, Any] = world.call(
        "POST", "/pi-sandbox/sandbox/pioneers", json={"username": username, "balance": PIONEER_PI}
    )
    world.scene.pioneers[role] = pioneer
    return pioneer


def bearer(pioneer: dict[str, Any]) -> dict[str, str]:
    """The Pioneer's ``Authorization`` header (the Pi app's access token)."""
    return {"Authorization": f"Bearer {pioneer['access_token']}"}


def pays_pi(world: World, pioneer: dict[str, Any], amount: str, memo: str, meta: object) -> str:
    """The Pi app's payment flow: create, the service approves, the Pioneer signs, the service
    completes; then the worker tells Pi. The payment id."""
    created = world.call(
        "POST",
        f"/pi-sandbox/sandbox/pioneers/{pioneer['uid']}/payments",
        json={"amount": amount, "memo": memo, "metadata": meta},
    )
    pid = str(created["identifier"])
    world.call("POST", f"/v1/pi/payments/{pid}/approve", auth=bearer(pioneer))
    txid = world.call("POST", f"/pi-sandbox/sandbox/payments/{pid}/pay")["txid"]
    world.call("POST", f"/v1/pi/payments/{pid}/complete", auth=bearer(pioneer), json={"txid": txid})
    world.worker()
    return pid


def open_checkout(world: World) -> str:
    """POST /v1/checkouts with the till's key: the pilot's split-tender price."""
    example = world.pilot["split_tender_example"]
    body = {
        "price": {"amount": f"{example['price_idr']}.00", "asset": "IDR"},
        "merchant_reference": "meja-1",
        "tenders": [
            {"tender": "PI", "share_bp": example["pi_share_pct"] * 100},
            {"tender": "QRIS", "share_bp": example["qris_share_pct"] * 100},
        ],
    }
    checkout = world.call("POST", "/v1/checkouts", auth=world.scene.merchant, json=body,
                          expect=201, keyed=True)  # fmt: skip
    world.scene.checkout = checkout
    world.look_at(f"/v1/checkouts/{checkout['id']}", "Bu Tin's merchant key")
    pi_leg, qris_leg = checkout["legs"]
    return (
        f"{world.now_text()}: checkout {checkout['id']} {rupiah(example['price_idr'])}"
        f" = {pi_leg['amount']['amount']} PI (IDR {pi_leg['value']['amount']})"
        f" + QRIS IDR {qris_leg['amount']['amount']}"
    )


def pay_pi_leg(world: World) -> str:
    """The payer's Pi app pays the Pi leg through the sandbox and the service's callbacks."""
    world.later(PAY_DELAY_S)
    pioneer = new_pioneer(world, "payer", "pelanggan")
    leg = world.scene.checkout["legs"][0]
    params = leg["pi_payment"]
    pid = pays_pi(world, pioneer, params["amount"], params["memo"], params["metadata"])
    return f"Pioneer {pioneer['uid']} paid {params['amount']} PI in payment {pid}"


def pay_qris_leg(world: World) -> str:
    """The gateway (Midtrans sandbox) reports the QRIS leg paid with a signed notification."""
    world.later(PAY_DELAY_S)
    sandbox = world.container.qris_midtrans_sandbox
    if not isinstance(sandbox, MidtransSandbox):
        raise DemoError("the Midtrans sandbox is off (MSC_QRIS_MIDTRANS_API_URL is set)")
    leg = world.scene.checkout["legs"][1]
    order_id, gross = leg["reference"], leg["amount"]["amount"]
    tx_id = f"demo-{uuid.uuid4().hex[:12]}"
    sandbox.record(
        order_id, transaction_id=tx_id, transaction_status="settlement", gross_amount=gross
    )
    server_key = world.container.settings.qris_midtrans_server_key.get_secret_value()
    document = {
        "transaction_time": from_us(world.clock.now_us()).astimezone(WIB).strftime(MIDTRANS_TIME),
        "transaction_status": "settlement",
        "transaction_id": tx_id,
        "status_code": "200",
        "order_id": order_id,
        "gross_amount": gross,
        "payment_type": "qris",
    }
    material = order_id + "200" + gross + server_key
    document["signature_key"] = hashlib.sha512(material.encode()).hexdigest()
    world.call("POST", "/v1/qris/notifications/midtrans", content=json.dumps(document))
    checkout_id = world.scene.checkout["id"]
    status = world.call("GET", f"/v1/checkouts/{checkout_id}", auth=world.scene.merchant)["status"]
    if status != "paid":
        raise DemoError(f"checkout {checkout_id} is {status} after both legs, not paid")
    return f"QRIS IDR {gross} notified by the gateway ({tx_id}); checkout paid"


def handover(world: World) -> str:
    """Bu Tin confirms the hand-over with her key: the escrow releases her share."""
    world.later(HANDOVER_DELAY_S)
    checkout_id = world.scene.checkout["id"]
    released = world.call(
        "POST", f"/v1/checkouts/{checkout_id}/handover", auth=world.scene.merchant, keyed=True
    )
    if released["status"] != "released":
        raise DemoError(f"checkout {checkout_id} is {released['status']} after hand-over")
    world.worker()
    shown = world.call("GET", "/v1/balances", auth=world.scene.merchant)["balances"]
    held = ", ".join(f"{row['posted']['amount']} {row['asset']}" for row in shown)
    return f"plate handed over, released: Bu Tin holds {held}"


def payout_batch(world: World) -> str:
    """After the day's cut-off the treasury cuts the batch, sends its file, and the bank's
    confirmation comes back: her Rupiah left the same day."""
    settings = world.container.settings
    policy = CutPolicy.of(settings.payout_cutoff_wib, settings.payout_lines_max)
    day = business_day(from_us(world.clock.now_us()))
    cutoff = cutoff_at_us(day, policy.cutoff)
    if world.clock.now_us() < cutoff:
        world.clock.advance_to(cutoff + AFTER_CUTOFF_S * 1_000_000)
    cut = world.call("POST", "/v1/payouts/batches", auth=world.operator,
                     json={"day": day.isoformat()}, expect=201, keyed=True)  # fmt: skip
    batch = cut["batch"]
    if batch is None:
        raise DemoError(f"no Rupiah was due by the cut-off of {day}")
    url = f"/v1/payouts/batches/{batch['id']}"
    transfer_file = world.call("GET", f"{url}/file", auth=world.operator)
    answer = bank_accepts(transfer_file)
    confirmed = world.call("POST", f"{url}/confirmation", auth=world.operator,
                           json={"file": answer}, keyed=True)  # fmt: skip
    world.scene.batch_id = batch["id"]
    world.look_at(url, "operator token")
    status = confirmed["batch"]["status"]
    return (
        f"{world.now_text()}: batch {batch['id']} {batch['line_count']} line(s),"
        f" IDR {batch['total']}, bank confirmation applied ({status})"
    )


def bank_accepts(transfer_file: str) -> str:
    """The sandbox bank's confirmation of a transfer file: every line accepted."""
    lines = transfer_file.splitlines()
    batch_id = lines[0].split(",")[1]
    _, _, total, file_sha = lines[-1].split(",")
    out = [f"H,{batch_id},{file_sha}\n"]
    details = [line.split(",") for line in lines if line.startswith("D,")]
    for number, fields in enumerate(details, start=1):
        out.append(f"D,{fields[1]},{fields[5]},{ACCEPTED},BNK{number:08d},,\n")
    body = "".join(out)
    seal = hashlib.sha256(body.encode("ascii")).hexdigest()
    return body + f"T,{len(details)},{total},{seal}\n"


STEPS: list[Step[World]] = [
    Step("checkout", open_checkout),
    Step("pay-pi", pay_pi_leg),
    Step("pay-qris", pay_qris_leg),
    Step("handover", handover),
    Step("payout", payout_batch),
]
