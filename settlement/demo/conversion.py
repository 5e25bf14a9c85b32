"""Chapter three: the treasury's Rupiah capital stands behind MSC; another Pioneer converts Pi
to MSC at a firm quote (paid from the Pi app) and withdraws part of it to an EVM wallet, minted
on anvil by the worker."""

from __future__ import annotations

from eth_account import Account
from sqlalchemy import text

from escrow.calendar import business_day, from_us
from escrow.money import MSC, format_amount
from settlement.demo.checkout import bearer, new_pioneer, pays_pi
from settlement.demo.story import Step
from settlement.demo.world import DemoError, World
from settlement.reserves import reserve
from settlement.reserves.attestation import attest_reserve

RESERVE_CAPITAL_IDR = "1000000.00"
"""Rupiah the treasury books as reserve capital before anyone converts."""
CONVERT_PI = "2.0000000"
"""What the second Pioneer converts."""
WITHDRAW_DIVISOR = 2
"""Half the MSC received is withdrawn on chain."""
QUOTE_DELAY_S = 600


def reserve_capital(world: World) -> str:
    """POST /v1/msc/bank-deposits: a bank-statement line of reserve capital."""
    day = business_day(from_us(world.clock.now_us())).isoformat()
    body = {"reference": f"DEMO-CAPITAL-{day}", "amount": RESERVE_CAPITAL_IDR, "value_date": day}
    deposit = world.call("POST", "/v1/msc/bank-deposits", auth=world.operator, json=body,
                         expect=201, keyed=True)  # fmt: skip
    world.look_at("/v1/reserves", "public")
    return f"reserve capital IDR {RESERVE_CAPITAL_IDR} booked ({deposit['reference']})"


def convert(world: World) -> str:
    """The second Pioneer quotes Pi for MSC, converts at that quote and pays from the Pi app."""
    world.later(QUOTE_DELAY_S)
    pioneer = new_pioneer(world, "converter", "penukar")
    auth = bearer(pioneer)
    body = {"sell_asset": "PI", "buy_asset": "MSC", "sell_amount": CONVERT_PI}
    quote = world.call("POST", "/v1/quotes", auth=auth, json=body, expect=201, keyed=True)
    conversion = world.call("POST", "/v1/conversions", auth=auth,
                            json={"quote_id": quote["id"]}, expect=201, keyed=True)  # fmt: skip
    pays_pi(world, pioneer, conversion["sell_amount"], "convert", conversion["metadata"])
    done = world.call("GET", f"/v1/conversions/{conversion['id']}", auth=auth)
    if done["status"] != "converted":
        raise DemoError(f"conversion {conversion['id']} is {done['status']}, not converted")
    world.scene.conversion = done
    world.look_at(f"/v1/conversions/{done['id']}", "the Pioneer's token")
    return (
        f"Pioneer {pioneer['uid']} converted {done['sell_amount']} PI into"
        f" {done['converted_amount']} MSC at quote {quote['id']}"
    )


def attest(world: World) -> str:
    """`msc chain attest`: the reserve computed and signed onto the token as its mint cap."""
    container = world.container
    price = world.treasury(lambda uow: reserve.reserve_price(uow, container.checkout.rates))
    done = attest_reserve(container.engine, world.clock, container.evm(), price)
    cap = format_amount(done.amount, MSC.scale)
    return f"reserve cap {cap} MSC attested on chain in {done.tx_hash}"


def withdraw(world: World) -> str:
    """POST /v1/msc/withdrawals with the Pioneer's token; the worker mints it on anvil."""
    conversion = world.scene.conversion
    units = conversion["converted_units"] // WITHDRAW_DIVISOR
    amount = format_amount(units, MSC.scale)
    wallet = Account.create().address
    pioneer = world.scene.pioneers["converter"]
    body = {"to_address": wallet, "amount": amount}
    booked = world.call("POST", "/v1/msc/withdrawals", auth=bearer(pioneer),
                        json=body, expect=201, keyed=True)  # fmt: skip
    world.worker()
    with world.container.engine.connect() as conn:
        minted = conn.execute(
            text("SELECT status, tx_hash FROM evm_withdrawals WHERE transfer_id = :t"),
            {"t": booked["transfer_id"]},
        ).one()
    if minted.status != "minted":
        raise DemoError(f"withdrawal {booked['transfer_id']} is {minted.status}, not minted")
    return f"{amount} MSC withdrawn to {wallet}, minted on anvil in {minted.tx_hash}"


STEPS: list[Step[World]] = [
    Step("reserve-capital", reserve_capital),
    Step("convert", convert),
    Step("attest", attest),
    Step("withdraw", withdraw),
]
