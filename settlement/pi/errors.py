"""The Pi rail's refusals: a stable code and the HTTP status the API maps it to."""

from __future__ import annotations

# code -> HTTP status; the API renders each as problem+json with this code.
REFUSAL_STATUS: dict[str, int] = {
    "pi_expectation_not_found": 404,
    "pi_expectation_expired": 409,
    "pi_expectation_fulfilled": 409,
    "pi_expectation_mismatch": 409,
    "pi_payment_not_found": 404,
    "pi_payment_cancelled": 409,
    "pi_direction_mismatch": 422,
    "pi_network_mismatch": 422,
    "pi_payer_mismatch": 403,
    "pi_purpose_mismatch": 422,
    "pi_amount_mismatch": 422,
    "pi_memo_mismatch": 422,
    "pi_destination_mismatch": 422,
    "pi_source_mismatch": 422,
    "pi_asset_not_native": 422,
    "pi_operation_mismatch": 422,
    "pi_tx_failed": 422,
    "pi_tx_malformed": 422,
    "pi_txid_mismatch": 409,
    "pi_txid_reused": 409,
    "pi_tx_not_found": 409,
    "pi_not_approved": 409,
    "pi_bad_payment_id": 400,
    "pi_bad_txid": 400,
    "pi_bad_cursor": 400,
    "pi_bad_amount": 400,
    "amount_invalid": 422,
    "amount_too_precise": 422,
    "amount_out_of_range": 422,
    "pi_bad_input": 400,
    "pi_bad_address": 400,
    "pi_bad_uid": 400,
    "pi_unauthorized": 401,
    "pi_already_completed": 409,
    "pi_ongoing_payment_found": 409,
    "pi_payment_tx_present": 409,
    "pi_not_verified": 409,
    "pi_tx_unverified": 422,
    "pi_unavailable": 503,
    "pi_no_wallet_secret": 503,
    "pi_bad_response": 502,
    "pi_api_error": 502,
    "pi_tx_rejected": 502,
    "pi_error": 502,
}


class PiRefusal(Exception):
    """A Pi request refused for a stated reason; nothing was posted."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail

    @property
    def status(self) -> int:
        """HTTP status for this refusal (500 for a code nobody mapped: a programmer error)."""
        return REFUSAL_STATUS.get(self.code, 500)
