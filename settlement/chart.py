"""The chart of accounts: every account and every transfer code the service may post with.

Call sites build their requests from here (``pioneer_pi(uid)``, ``TransferCode.PI_RECEIVED``)
and open accounts only through ``open_account``; the ledger built with ``policy=CHART`` refuses
any other account or transfer code. The README's chart table is generated from this module
(``python -m settlement.chart``) and a test keeps it current.
"""

from __future__ import annotations

import sys
from enum import StrEnum

from escrow.chart import (
    AccountPattern,
    AccountSpec,
    AccountUndeclared,
    Chart,
    TransferCodeDecl,
    TransferCodeUndeclared,
)
from escrow.model import Account, AccountFlags, AccountKind
from escrow.ports import LedgerProtocol
from escrow.rules import PENDING_EXPIRED_CODE

__all__ = [
    "CHART",
    "AccountSpec",
    "AccountUndeclared",
    "TransferCode",
    "TransferCodeUndeclared",
    "markdown_table",
    "open_account",
]

_NEVER_NEGATIVE_ASSET = AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
_NEVER_NEGATIVE_LIABILITY = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS

PI_CUSTODY = AccountPattern(
    "treasury:pi_custody", "PI", AccountKind.ASSET,
    "Pi held in the app wallet; equals the wallet's balance on chain.",
    owner="treasury", flags=_NEVER_NEGATIVE_ASSET,
)  # fmt: skip
PI_NETWORK_FEES = AccountPattern(
    "treasury:pi_network_fees", "PI", AccountKind.EXPENSE,
    "Fees the app wallet paid to the Pi network for A2U transactions.", owner="treasury",
)  # fmt: skip
PI_CAPITAL = AccountPattern(
    "treasury:pi_capital", "PI", AccountKind.EQUITY,
    "The treasury's own Pi, put into custody by custody deposits.", owner="treasury",
)  # fmt: skip
PI_UNCLAIMED = AccountPattern(
    "treasury:pi_suspense", "PI", AccountKind.LIABILITY,
    "Pi expected by an operator (`msc pi expect`) for no named Pioneer.", owner="treasury",
)  # fmt: skip
PIONEER_PI = AccountPattern(
    "pioneer:{uid}:PI", "PI", AccountKind.LIABILITY,
    "What the treasury owes a Pioneer in Pi.", owner="{uid}",
)  # fmt: skip
QRIS_CLEARING = AccountPattern(
    "qris:clearing:IDR", "IDR", AccountKind.ASSET,
    "Rupiah at the QRIS acquirers, not yet settled to the treasury's bank.",
)  # fmt: skip
QRIS_MDR = AccountPattern(
    "expense:qris:mdr:IDR", "IDR", AccountKind.EXPENSE,
    "The merchant discount rate the acquirers keep.",
)  # fmt: skip
MERCHANT_ACCOUNTS = {
    asset: AccountPattern(
        f"merchant:{{merchant}}:{asset}",
        asset,
        AccountKind.LIABILITY,
        f"What the treasury owes a merchant in {asset}: by merchant id (an operator's QRIS"
        " expectation for a merchant not onboarded names its NMID).",
        owner="{merchant}",
    )
    for asset in ("IDR", "PI", "MSC", "MSCP")
}
MERCHANT_IDR = MERCHANT_ACCOUNTS["IDR"]
CHECKOUT_ESCROW = {
    asset: AccountPattern(
        f"escrow:checkout:{asset}",
        asset,
        AccountKind.LIABILITY,
        f"{asset} paid for checkouts and not yet released or refunded; each paid leg is held"
        " from here to its merchant by a pending transfer.",
        owner="treasury",
        flags=_NEVER_NEGATIVE_LIABILITY,
    )
    for asset in ("IDR", "PI", "MSC", "MSCP")
}
PLATFORM_FEES = {
    asset: AccountPattern(
        f"income:platform_fee:{asset}", asset, AccountKind.INCOME,
        f"The platform's share of released checkouts, in {asset}.", owner="treasury",
    )
    for asset in ("IDR", "PI", "MSC", "MSCP")
}  # fmt: skip
COMMUNITY_FUND = {
    asset: AccountPattern(
        f"community_fund:{asset}", asset, AccountKind.LIABILITY,
        f"The community fund's share of released checkouts, in {asset}.", owner="community",
    )
    for asset in ("IDR", "PI", "MSC", "MSCP")
}  # fmt: skip
PIONEER_BALANCES = {
    asset: AccountPattern(
        f"pioneer:{{uid}}:{asset}", asset, AccountKind.LIABILITY,
        f"What the treasury owes a Pioneer in {asset}; never below zero.", owner="{uid}",
        flags=_NEVER_NEGATIVE_LIABILITY,
    )
    for asset in ("MSC", "MSCP")
}  # fmt: skip
QRIS_REFUNDS = AccountPattern(
    "refunds:qris:IDR", "IDR", AccountKind.LIABILITY,
    "Rupiah owed back to QRIS payers (refunded, late, excess or under-payments); each owed"
    " refund is a row of checkout_refunds and goes into the payout batch.", owner="treasury",
)  # fmt: skip
MSCP_AUTHORISED = AccountPattern(
    "mscp:authorised", "MSCP", AccountKind.EQUITY,
    "MSC Points the treasury authorised; funding the points budget debits it.", owner="treasury",
)  # fmt: skip
MSCP_BUDGET = AccountPattern(
    "mscp:budget", "MSCP", AccountKind.LIABILITY,
    "The points budget: every point issued (cashback, rewards) comes from here; never below"
    " zero, so points never come from nowhere.", owner="treasury",
    flags=_NEVER_NEGATIVE_LIABILITY,
)  # fmt: skip
CAMPAIGN_FUNDING = AccountPattern(
    "expense:campaigns:IDR", "IDR", AccountKind.EXPENSE,
    "What the treasury spends on Pi-Zone campaign budgets.", owner="treasury",
)  # fmt: skip
CAMPAIGN_BUDGET = AccountPattern(
    "campaign:{campaign}:IDR", "IDR", AccountKind.LIABILITY,
    "A Pi-Zone campaign's budget; each discount is reserved from it (pending) at checkout and"
    " paid to the merchant at release. Never below zero.", owner="treasury",
    flags=_NEVER_NEGATIVE_LIABILITY,
)  # fmt: skip
MSC_ONCHAIN = AccountPattern(
    "msc:onchain", "MSC", AccountKind.LIABILITY,
    "MSC minted on chain; equals the token's totalSupply.", flags=_NEVER_NEGATIVE_LIABILITY,
)  # fmt: skip
MSC_UNMATCHED = AccountPattern(
    "msc:onchain:unmatched", "MSC", AccountKind.LIABILITY,
    "MSC burnt on chain with a deposit reference nobody registered.",
    flags=_NEVER_NEGATIVE_LIABILITY,
)  # fmt: skip
RESERVE_BANK = AccountPattern(
    "reserve:bank:IDR", "IDR", AccountKind.ASSET,
    "Rupiah at the treasury's reserve bank account: each bank-statement deposit in (a row of"
    " msc_bank_deposits); the payout batch credits it when the bank pays a redemption.",
    owner="treasury", flags=_NEVER_NEGATIVE_ASSET,
)  # fmt: skip
MSC_DEPOSITS = AccountPattern(
    "msc:deposits:IDR", "IDR", AccountKind.LIABILITY,
    "Rupiah received at the bank for a named holder and not yet issued as MSC; issuance debits"
    " it, so no MSC is issued without its deposit. Never below zero.", owner="treasury",
    flags=_NEVER_NEGATIVE_LIABILITY,
)  # fmt: skip
MSC_BACKING = AccountPattern(
    "msc:backing:IDR", "IDR", AccountKind.LIABILITY,
    "The Rupiah side of MSC issued against Rupiah and not redeemed: credited at issuance,"
    " debited at redemption. Never below zero.", owner="treasury",
    flags=_NEVER_NEGATIVE_LIABILITY,
)  # fmt: skip
RESERVE_CAPITAL = AccountPattern(
    "reserve:capital:IDR", "IDR", AccountKind.EQUITY,
    "Rupiah the treasury put into the reserve from its own funds (a bank deposit naming no"
    " holder).", owner="treasury",
)  # fmt: skip
REDEMPTIONS_PAYABLE = AccountPattern(
    "payable:redemptions:IDR", "IDR", AccountKind.LIABILITY,
    "Rupiah owed to holders who redeemed MSC (a row of msc_redemptions each); the payout batch"
    " debits it. Never below zero.", owner="treasury", flags=_NEVER_NEGATIVE_LIABILITY,
)  # fmt: skip
MSC_ISSUED = AccountPattern(
    "msc:issued", "MSC", AccountKind.EQUITY,
    "The MSC side of issuance against Rupiah: debited at each issuance, credited at each"
    " redemption (the burn).", owner="treasury",
)  # fmt: skip
BANK_PAYOUTS = AccountPattern(
    "bank:payouts:IDR", "IDR", AccountKind.ASSET,
    "Rupiah leaving the treasury's bank in daily payout batches: each line is held (pending) to"
    " here when its batch is written, posted when the bank accepts it, voided when it rejects it.",
    owner="treasury",
)  # fmt: skip
EXCHANGE = {
    asset: AccountPattern(
        f"exchange:{asset}", asset, AccountKind.EQUITY,
        f"The treasury's exchange position in {asset}: every cross-asset movement is a linked set"
        " of transfers through these accounts, one per asset, each balanced in its own asset.",
        owner="treasury",
    )
    for asset in ("PI", "MSC", "IDR")
}  # fmt: skip
FX_GAIN = AccountPattern(
    "income:fx_gain:IDR", "IDR", AccountKind.INCOME,
    "What a released Pi leg was worth at the release rate above the Rupiah value its checkout"
    " promised the merchant (decision 0028).", owner="treasury",
)  # fmt: skip
FX_LOSS = AccountPattern(
    "expense:fx_loss:IDR", "IDR", AccountKind.EXPENSE,
    "A released Pi leg's shortfall below the Rupiah value its checkout promised, made good to"
    " the merchant; the guarantee fund's payment credits it back (decision 0028).",
    owner="treasury",
)  # fmt: skip
FUND_BANK = AccountPattern(
    "fund:bank:IDR", "IDR", AccountKind.ASSET,
    "Rupiah at the merchant guarantee fund's bank account: each contribution in (a row of"
    " fund_contributions).", owner="treasury", flags=_NEVER_NEGATIVE_ASSET,
)  # fmt: skip
FUND_GUARANTEE = AccountPattern(
    "fund:guarantee:IDR", "IDR", AccountKind.LIABILITY,
    "The merchant guarantee fund: credited by contributions (CSR, pilot budget, APBD), debited"
    " by each payment to a merchant (a row of fund_payments). Never below zero.",
    owner="treasury", flags=_NEVER_NEGATIVE_LIABILITY,
)  # fmt: skip
CONVERSIONS_PI = AccountPattern(
    "conversions:PI", "PI", AccountKind.LIABILITY,
    "Pi a Pioneer paid for a conversion to MSC, until it is exchanged or refunded (the"
    " conversion expectation's credit account). Never below zero.", owner="treasury",
    flags=_NEVER_NEGATIVE_LIABILITY,
)  # fmt: skip
CONVERSION_FEES = AccountPattern(
    "income:conversion_fee:PI", "PI", AccountKind.INCOME,
    "The treasury's spread on Pi converted to MSC (the quote's fee, in Pi).", owner="treasury",
)  # fmt: skip
LOCKS_PI = AccountPattern(
    "locks:PI", "PI", AccountKind.LIABILITY,
    "Pi Pioneers locked (lock-and-earn principal, the lock expectation's credit account), until"
    " it returns at maturity or early unlock, or is refunded. Never below zero.",
    owner="treasury", flags=_NEVER_NEGATIVE_LIABILITY,
)  # fmt: skip
LOCK_PENALTIES = AccountPattern(
    "income:lock_penalty:PI", "PI", AccountKind.INCOME,
    "The principal penalty of locks unlocked early (the treasury's parameter).", owner="treasury",
)  # fmt: skip
MSCP_BREAKAGE = AccountPattern(
    "income:mscp_breakage:MSCP", "MSCP", AccountKind.INCOME,
    "MSC Points that expired unspent (breakage), taken back from the Pioneers first in first out.",
    owner="treasury",
)  # fmt: skip
MSCP_REDEEMED = AccountPattern(
    "mscp:redeemed", "MSCP", AccountKind.EQUITY,
    "MSC Points merchants redeemed for Rupiah: retired, never spent again.", owner="treasury",
)  # fmt: skip
POINTS_REDEMPTION_COST = AccountPattern(
    "expense:points_redeemed:IDR", "IDR", AccountKind.EXPENSE,
    "The Rupiah the treasury pays merchants for the points they redeem (at the point value);"
    " the payout batch pays it out.", owner="treasury",
)  # fmt: skip
SUSPENSE = {
    asset: AccountPattern(
        f"suspense:{asset}",
        asset,
        AccountKind.LIABILITY,
        f"{asset} that verifiably arrived (or left) but the ledger refused to book where it"
        " belongs; an operator resolves each item (settlement/suspense.py).",
        owner="treasury",
    )
    for asset in ("IDR", "PI", "MSC")
}


class TransferCode(StrEnum):
    """Every transfer code, as auditors read it in the bundle."""

    PI_RECEIVED = "pi.received"
    PI_PAYOUT = "pi.payout"
    PI_NETWORK_FEE = "pi.network_fee"
    PI_CUSTODY_DEPOSIT = "pi.custody_deposit"
    QRIS_RECEIVED = "qris.received"
    QRIS_MDR = "qris.mdr"
    MSC_ONCHAIN_WITHDRAW = "msc.onchain.withdraw"
    MSC_ONCHAIN_DEPOSIT = "msc.onchain.deposit"
    SUSPENSE = "suspense"
    CHECKOUT_PAID = "checkout.paid"
    CHECKOUT_HOLD = "checkout.hold"
    CHECKOUT_RELEASE = "checkout.release"
    CHECKOUT_UNHOLD = "checkout.unhold"
    CHECKOUT_PLATFORM_FEE = "checkout.platform_fee"
    CHECKOUT_COMMUNITY_FUND = "checkout.community_fund"
    CHECKOUT_REFUND = "checkout.refund"
    CHECKOUT_CASHBACK = "checkout.cashback"
    CAMPAIGN_FUNDED = "campaign.funded"
    CAMPAIGN_DISCOUNT = "campaign.discount"
    POINTS_FUNDED = "points.funded"
    BANK_DEPOSIT = "bank.deposit"
    MSC_ISSUE = "msc.issue"
    MSC_REDEEM = "msc.redeem"
    PAYOUT_HOLD = "payout.hold"
    PAYOUT_PAID = "payout.paid"
    PAYOUT_RETURNED = "payout.returned"
    EXCEPTION_DECIDED = "exception.decided"
    SETTLEMENT_CONVERT = "settlement.convert"
    FX_GAIN = "fx.gain"
    FX_LOSS = "fx.loss"
    FUND_CONTRIBUTION = "fund.contribution"
    FUND_FX_SHORTFALL = "fund.fx_shortfall"
    FUND_CLAIM_PAID = "fund.claim_paid"
    CONVERSION_EXCHANGE = "conversion.exchange"
    CONVERSION_FEE = "conversion.fee"
    CONVERSION_REFUND = "conversion.refund"
    LOCK_REWARD_RESERVED = "lock.reward_reserved"
    LOCK_REWARD = "lock.reward"
    LOCK_PRINCIPAL = "lock.principal"
    LOCK_PENALTY = "lock.penalty"
    LOCK_REFUND = "lock.refund"
    POINTS_BONUS = "points.bonus"
    POINTS_DIVIDEND = "points.dividend"
    POINTS_EXPIRED = "points.expired"
    POINTS_REDEEMED = "points.redeemed"
    LEDGER_PENDING_EXPIRED = PENDING_EXPIRED_CODE


_MEANINGS = {
    TransferCode.PI_RECEIVED: "A Pioneer's U2A payment, verified on chain: custody to the "
    "expectation's credit account.",
    TransferCode.PI_PAYOUT: "An A2U payout: reserved (pending) from the Pioneer's account to "
    "custody, posted once confirmed on chain, voided if it failed.",
    TransferCode.PI_NETWORK_FEE: "The Pi network fee charged for an A2U transaction.",
    TransferCode.PI_CUSTODY_DEPOSIT: "Pi the treasury moved into the app wallet, from capital.",
    TransferCode.QRIS_RECEIVED: "A QRIS payment net of MDR: clearing to the merchant.",
    TransferCode.QRIS_MDR: "The MDR of a QRIS payment, credited to the merchant with the net.",
    TransferCode.MSC_ONCHAIN_WITHDRAW: "MSC from a holder to the on-chain float (mint follows).",
    TransferCode.MSC_ONCHAIN_DEPOSIT: "MSC burnt on chain, from the float back to its holder.",
    TransferCode.SUSPENSE: "Money that arrived (or left) booked to suspense because the ledger "
    "refused its own transfer.",
    TransferCode.CHECKOUT_PAID: "An MSC or MSCP checkout leg: the Pioneer's balance to the "
    "checkout escrow.",
    TransferCode.CHECKOUT_HOLD: "A paid leg held for its merchant: pending from the checkout "
    "escrow to the merchant.",
    TransferCode.CHECKOUT_RELEASE: "A hold posted at release for the merchant's part; the rest "
    "returns to the escrow for the shares.",
    TransferCode.CHECKOUT_UNHOLD: "A hold voided: the leg is refunded, not released.",
    TransferCode.CHECKOUT_PLATFORM_FEE: "The platform's share of a released leg.",
    TransferCode.CHECKOUT_COMMUNITY_FUND: "The community fund's share of a released leg.",
    TransferCode.CHECKOUT_REFUND: "Money of a checkout leg returned: escrow (or the money "
    "that arrived) to the payer's account or the QRIS refunds owed.",
    TransferCode.CHECKOUT_CASHBACK: "MSC Points cashback to the Pioneer, from the points budget.",
    TransferCode.CAMPAIGN_FUNDED: "The treasury funds a Pi-Zone campaign's budget.",
    TransferCode.CAMPAIGN_DISCOUNT: "A Pi-Zone discount: reserved (pending) from the campaign "
    "budget to the merchant at checkout, posted at release, voided at refund or expiry.",
    TransferCode.POINTS_FUNDED: "The treasury puts authorised MSC Points into the points budget.",
    TransferCode.BANK_DEPOSIT: "Rupiah received at the bank (a bank-statement line, booked once"
    " by its reference): the reserve to the holder's unissued deposit, or to reserve capital.",
    TransferCode.MSC_ISSUE: "MSC issued 1:1 against a bank deposit, a linked pair: the deposit's"
    " Rupiah to the backing, and new MSC from the issuance to the holder.",
    TransferCode.MSC_REDEEM: "MSC redeemed for Rupiah, a linked pair: the holder's MSC burnt"
    " back to the issuance, and its backing Rupiah to the redemptions payable.",
    TransferCode.PAYOUT_HOLD: "A payout line of the day's bank batch: pending from the payer's "
    "account (merchant, QRIS refunds owed, redemption) to the bank payouts account.",
    TransferCode.PAYOUT_PAID: "The bank accepted a payout line: its hold posted.",
    TransferCode.PAYOUT_RETURNED: "The bank rejected a payout line: its hold voided, the money "
    "back in the payer's account.",
    TransferCode.EXCEPTION_DECIDED: "The treasury's decision on a QRIS exception or a Pi flag: "
    "money that arrived unbooked (or was booked where it is not owed) to the payer's refund, "
    "the merchant or suspense (decision 0026).",
    TransferCode.SETTLEMENT_CONVERT: "A released Pi leg converted to the merchant's chosen asset"
    " at the release rate, linked: the merchant's Pi to ``exchange:PI``, and from"
    " ``exchange:IDR``/``exchange:MSC`` to the merchant.",
    TransferCode.FX_GAIN: "A release converted above the checkout's Rupiah value: the excess"
    " from ``exchange:IDR`` to the FX gain.",
    TransferCode.FX_LOSS: "A release converted below the checkout's Rupiah value: the part made"
    " good to the merchant, the FX loss into ``exchange:IDR``.",
    TransferCode.FUND_CONTRIBUTION: "A contribution to the guarantee fund (CSR, pilot budget,"
    " APBD), booked once by its reference: the fund's bank to the fund.",
    TransferCode.FUND_FX_SHORTFALL: "The guarantee fund bears an FX loss of a release, within"
    " its caps: the fund to ``expense:fx_loss:IDR``.",
    TransferCode.FUND_CLAIM_PAID: "An approved guarantee-fund claim paid: the fund to the"
    " merchant's Rupiah account.",
    TransferCode.CONVERSION_EXCHANGE: "A Pi to MSC conversion, linked with its fee: the Pi"
    " (less the fee) from the conversions' Pi to the exchange, and the MSC bought from the"
    " exchange to the Pioneer.",
    TransferCode.CONVERSION_FEE: "The quote's fee of a conversion: Pi to the conversion fee"
    " income.",
    TransferCode.CONVERSION_REFUND: "The Pi of a refused conversion back to the Pioneer's Pi"
    " account, paid out by A2U.",
    TransferCode.LOCK_REWARD_RESERVED: "A lock's maximum reward reserved (pending) from the"
    " points budget to the Pioneer's points when the position opens (decision 0029).",
    TransferCode.LOCK_REWARD: "A lock's reservation resolved: at maturity the whole reward posts;"
    " at early unlock the vested part posts and the rest returns to the budget (voided).",
    TransferCode.LOCK_PRINCIPAL: "A lock's principal back to the Pioneer's Pi account (less any"
    " penalty), paid out by A2U.",
    TransferCode.LOCK_PENALTY: "The early-unlock penalty of a lock's principal, to income.",
    TransferCode.LOCK_REFUND: "The Pi of a lock that could not open (the points budget could not"
    " cover its reward) back to the Pioneer, paid out by A2U.",
    TransferCode.POINTS_BONUS: "An onboarding or referral bonus: the points budget to the Pioneer.",
    TransferCode.POINTS_DIVIDEND: "A data-dividend line of a signed monthly batch: the points"
    " budget to the Pioneer.",
    TransferCode.POINTS_EXPIRED: "MSC Points expired unspent (first in first out): the Pioneer's"
    " points to breakage income.",
    TransferCode.POINTS_REDEEMED: "A merchant redeems MSC Points for Rupiah, linked: the points"
    " retired, and their value at the point value to the merchant's Rupiah (paid by the payout"
    " batch).",
    TransferCode.LEDGER_PENDING_EXPIRED: "The ledger's own void of a pending transfer whose "
    "timeout passed (escrow.rules).",
}

CHART = Chart(
    (
        PI_CUSTODY,
        PI_NETWORK_FEES,
        PI_CAPITAL,
        PI_UNCLAIMED,
        PIONEER_PI,
        QRIS_CLEARING,
        QRIS_MDR,
        *MERCHANT_ACCOUNTS.values(),
        *CHECKOUT_ESCROW.values(),
        *PLATFORM_FEES.values(),
        *COMMUNITY_FUND.values(),
        *PIONEER_BALANCES.values(),
        QRIS_REFUNDS,
        MSCP_AUTHORISED,
        MSCP_BUDGET,
        CAMPAIGN_FUNDING,
        CAMPAIGN_BUDGET,
        MSC_ONCHAIN,
        MSC_UNMATCHED,
        RESERVE_BANK,
        MSC_DEPOSITS,
        MSC_BACKING,
        RESERVE_CAPITAL,
        REDEMPTIONS_PAYABLE,
        MSC_ISSUED,
        BANK_PAYOUTS,
        *EXCHANGE.values(),
        FX_GAIN,
        FX_LOSS,
        FUND_BANK,
        FUND_GUARANTEE,
        CONVERSIONS_PI,
        CONVERSION_FEES,
        LOCKS_PI,
        LOCK_PENALTIES,
        MSCP_BREAKAGE,
        MSCP_REDEEMED,
        POINTS_REDEMPTION_COST,
        *SUSPENSE.values(),
    ),
    (TransferCodeDecl(str(code), _MEANINGS[code]) for code in TransferCode),
)
"""The service's chart; pass it as ``policy=`` to ``Ledger``/``MemoryLedger``."""


def pi_custody() -> AccountSpec:
    """``treasury:pi_custody``."""
    return PI_CUSTODY.spec()


def pi_network_fees() -> AccountSpec:
    """``treasury:pi_network_fees``."""
    return PI_NETWORK_FEES.spec()


def pi_capital() -> AccountSpec:
    """``treasury:pi_capital``."""
    return PI_CAPITAL.spec()


def pioneer_pi(uid: str) -> AccountSpec:
    """``pioneer:{uid}:PI``."""
    return PIONEER_PI.spec(uid=uid)


def qris_clearing() -> AccountSpec:
    """``qris:clearing:IDR``."""
    return QRIS_CLEARING.spec()


def qris_mdr() -> AccountSpec:
    """``expense:qris:mdr:IDR``."""
    return QRIS_MDR.spec()


def merchant_idr(merchant: str) -> AccountSpec:
    """``merchant:{merchant}:IDR`` (a merchant id, or the NMID of a merchant not onboarded)."""
    return MERCHANT_IDR.spec(merchant=merchant)


def merchant_balance(merchant: str, asset: str) -> AccountSpec:
    """``merchant:{merchant}:{asset}``."""
    return _of(MERCHANT_ACCOUNTS, asset).spec(merchant=merchant)


def checkout_escrow(asset: str) -> AccountSpec:
    """``escrow:checkout:{asset}``."""
    return _of(CHECKOUT_ESCROW, asset).spec()


def platform_fee(asset: str) -> AccountSpec:
    """``income:platform_fee:{asset}``."""
    return _of(PLATFORM_FEES, asset).spec()


def community_fund(asset: str) -> AccountSpec:
    """``community_fund:{asset}``."""
    return _of(COMMUNITY_FUND, asset).spec()


def pioneer_balance(uid: str, asset: str) -> AccountSpec:
    """``pioneer:{uid}:{asset}`` for PI, MSC or MSCP."""
    if asset == "PI":
        return pioneer_pi(uid)
    return _of(PIONEER_BALANCES, asset).spec(uid=uid)


def qris_refunds() -> AccountSpec:
    """``refunds:qris:IDR``."""
    return QRIS_REFUNDS.spec()


def mscp_authorised() -> AccountSpec:
    """``mscp:authorised``."""
    return MSCP_AUTHORISED.spec()


def mscp_budget() -> AccountSpec:
    """``mscp:budget``."""
    return MSCP_BUDGET.spec()


def campaign_funding() -> AccountSpec:
    """``expense:campaigns:IDR``."""
    return CAMPAIGN_FUNDING.spec()


def campaign_budget(campaign: str) -> AccountSpec:
    """``campaign:{campaign}:IDR``."""
    return CAMPAIGN_BUDGET.spec(campaign=campaign)


def _of(patterns: dict[str, AccountPattern], asset: str) -> AccountPattern:
    pattern = patterns.get(asset)
    if pattern is None:
        raise AccountUndeclared(f"no such account in {asset!r}")
    return pattern


def msc_onchain() -> AccountSpec:
    """``msc:onchain``."""
    return MSC_ONCHAIN.spec()


def msc_unmatched() -> AccountSpec:
    """``msc:onchain:unmatched``."""
    return MSC_UNMATCHED.spec()


def reserve_bank() -> AccountSpec:
    """``reserve:bank:IDR``."""
    return RESERVE_BANK.spec()


def msc_deposits() -> AccountSpec:
    """``msc:deposits:IDR``."""
    return MSC_DEPOSITS.spec()


def msc_backing() -> AccountSpec:
    """``msc:backing:IDR``."""
    return MSC_BACKING.spec()


def reserve_capital() -> AccountSpec:
    """``reserve:capital:IDR``."""
    return RESERVE_CAPITAL.spec()


def redemptions_payable() -> AccountSpec:
    """``payable:redemptions:IDR``."""
    return REDEMPTIONS_PAYABLE.spec()


def msc_issued() -> AccountSpec:
    """``msc:issued``."""
    return MSC_ISSUED.spec()


def bank_payouts() -> AccountSpec:
    """``bank:payouts:IDR``."""
    return BANK_PAYOUTS.spec()


def exchange(asset: str) -> AccountSpec:
    """``exchange:{asset}`` for PI, MSC or IDR."""
    return _of(EXCHANGE, asset).spec()


def fx_gain() -> AccountSpec:
    """``income:fx_gain:IDR``."""
    return FX_GAIN.spec()


def fx_loss() -> AccountSpec:
    """``expense:fx_loss:IDR``."""
    return FX_LOSS.spec()


def fund_bank() -> AccountSpec:
    """``fund:bank:IDR``."""
    return FUND_BANK.spec()


def fund_guarantee() -> AccountSpec:
    """``fund:guarantee:IDR``."""
    return FUND_GUARANTEE.spec()


def conversions_pi() -> AccountSpec:
    """``conversions:PI``."""
    return CONVERSIONS_PI.spec()


def conversion_fees() -> AccountSpec:
    """``income:conversion_fee:PI``."""
    return CONVERSION_FEES.spec()


def locks_pi() -> AccountSpec:
    """``locks:PI``."""
    return LOCKS_PI.spec()


def lock_penalties() -> AccountSpec:
    """``income:lock_penalty:PI``."""
    return LOCK_PENALTIES.spec()


def mscp_breakage() -> AccountSpec:
    """``income:mscp_breakage:MSCP``."""
    return MSCP_BREAKAGE.spec()


def mscp_redeemed() -> AccountSpec:
    """``mscp:redeemed``."""
    return MSCP_REDEEMED.spec()


def points_redemption_cost() -> AccountSpec:
    """``expense:points_redeemed:IDR``."""
    return POINTS_REDEMPTION_COST.spec()


def suspense(asset: str) -> AccountSpec:
    """``suspense:{asset}``; ``AccountUndeclared`` for an asset without one."""
    pattern = SUSPENSE.get(asset)
    if pattern is None:
        raise AccountUndeclared(f"no suspense account for {asset!r}")
    return pattern.spec()


def open_account(ledger: LedgerProtocol, spec: AccountSpec) -> Account:
    """Open (or find) the declared account ``spec``; the only way settlement opens accounts."""
    CHART.check_account(spec.code, spec.asset, spec.kind, spec.flags)
    return ledger.ensure_account(spec.code, spec.asset, spec.kind, spec.owner, spec.flags)


def ensure_open(ledger: LedgerProtocol, spec: AccountSpec) -> None:
    """``open_account`` for a caller that needs no balance: an account known to be committed
    costs no statement (``escrow.known_accounts``)."""
    CHART.check_account(spec.code, spec.asset, spec.kind, spec.flags)
    ledger.ensure_open(spec.code, spec.asset, spec.kind, spec.owner, spec.flags)


def markdown_table() -> str:
    """The README's chart section (between its markers), generated from ``CHART``."""
    lines = [
        "| account | asset | kind | flags | meaning |",
        "|---|---|---|---|---|",
    ]
    for p in CHART.accounts:
        flags = "never negative" if p.flags else ""
        lines.append(f"| `{p.pattern}` | {p.asset} | {p.kind} | {flags} | {p.meaning} |")
    lines += ["", "| transfer code | meaning |", "|---|---|"]
    lines += [f"| `{d.code}` | {d.meaning} |" for d in CHART.transfer_codes]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - prints the README section
    sys.stdout.write(markdown_table())
