"""One typed error hierarchy for everything that talks to Pi Network.

Operating errors (bad input, refusals, outages) are expected and each has its own class and a
stable `code`, so the settlement layer can map them to problem+json without parsing messages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from escrow.refusals import Refusal

if TYPE_CHECKING:
    from chain.pi.dto import PiPayment


class PiError(Refusal):
    """Base of every Pi rail error; `code` is stable and safe to show to clients."""

    code = "pi_error"


class PiInputError(PiError, ValueError):
    """An identifier or amount that is malformed before any network call."""

    code = "pi_bad_input"


class PiTransientError(PiError):
    """5xx, timeout or connection failure that survived every retry; safe to try again later."""

    code = "pi_unavailable"


class PiResponseError(PiError):
    """The remote answered, but not with a body we can trust (too large, not JSON, wrong shape)."""

    code = "pi_bad_response"


class PiUnauthorizedError(PiError):
    """401/403: the Pioneer's access token or our server API key was refused."""

    code = "pi_unauthorized"


class PiApiError(PiError):
    """A documented error body `{error, error_message, payment?}` from the Platform API."""

    code = "pi_api_error"

    def __init__(
        self,
        message: str,
        *,
        api_code: str,
        status: int,
        payment: PiPayment | None = None,
        verification_error: str | None = None,
    ) -> None:
        super().__init__(message)
        self.api_code = api_code
        self.status = status
        self.payment = payment
        self.verification_error = verification_error


class PaymentNotFoundError(PiApiError):
    """`payment_not_found`."""

    code = "pi_payment_not_found"


class OngoingPaymentFoundError(PiApiError):
    """`ongoing_payment_found`: an open A2U for this user exists; `payment` names it."""

    code = "pi_ongoing_payment_found"


class AlreadyCompletedError(PiApiError):
    """`already_completed`."""

    code = "pi_already_completed"


class CancelledPaymentError(PiApiError):
    """`cancelled_payment`."""

    code = "pi_payment_cancelled"


class TxidMismatchError(PiApiError):
    """`txid_mismatch`: the txid sent to /complete is not the payment's transaction."""

    code = "pi_txid_mismatch"


class VerificationFailedError(PiApiError):
    """`verification_failed` / `not_verified`: Pi could not verify the transaction yet."""

    code = "pi_not_verified"


class PaymentTxPresentError(PiApiError):
    """`payment_tx_present`: cannot cancel, a transaction is already linked."""

    code = "pi_payment_tx_present"


API_ERRORS: dict[str, type[PiApiError]] = {
    "payment_not_found": PaymentNotFoundError,
    "ongoing_payment_found": OngoingPaymentFoundError,
    "already_completed": AlreadyCompletedError,
    "cancelled_payment": CancelledPaymentError,
    "txid_mismatch": TxidMismatchError,
    "verification_failed": VerificationFailedError,
    "not_verified": VerificationFailedError,
    "payment_tx_present": PaymentTxPresentError,
}


class HorizonNotFoundError(PiError):
    """Horizon 404: the transaction or account does not exist (yet) on this network."""

    code = "pi_tx_not_found"


class TxSubmitRejectedError(PiError):
    """Horizon 400 `transaction_failed` / `transaction_malformed` on submission."""

    code = "pi_tx_rejected"

    def __init__(self, message: str, *, result_codes: dict[str, object]) -> None:
        super().__init__(message)
        self.result_codes = result_codes

    @property
    def tx_code(self) -> str:
        """The transaction-level result code, e.g. `tx_bad_seq`, `tx_failed`."""
        value = self.result_codes.get("transaction")
        return value if isinstance(value, str) else ""


class TxVerificationError(PiError):
    """The chain transaction does not prove the payment; `code` names the first failed check."""

    code = "pi_tx_unverified"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)
