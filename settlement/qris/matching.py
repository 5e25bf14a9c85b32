"""Which expectation a QRIS payment pays: the rule, written once, for both sources.

A payment ``p`` (a gateway notification or an acquirer report line, with ``reference``,
``nmid``, ``amount_sen`` and ``transacted_at``) pays the expectation ``e`` (a row of
``qris_expectations``):

1. by bill number/reference: the expectation of that reference while it is payable (open, or
   expired: money that lands late is still that bill's); a different amount is an
   ``amount_mismatch``, never a receipt, except for a checkout leg, whose checkout decides
   what it takes and owes the rest back (``settlement.qris.payment``, for both sources);
2. else (static QRIS has no reference) the oldest open expectation of the same NMID and amount
   whose window holds the payment's time, never a checkout leg's: a leg is paid by its own
   dynamic payload (its bill number), so a walk-in payment to the stall's printed static QR
   cannot pay somebody else's checkout;
3. a payment after the expectation's expiry is ``late`` (posted, and listed).

These are SQL predicates over the aliases ``e`` and ``p``. The notification path applies them to
one payment (``p`` is a row of parameters); reconciliation applies them to a day's report lines
at once (``p`` is the staged lines; "oldest first" becomes a rank join: the k-th line of an NMID
and amount meets the k-th open expectation of that NMID and amount). Neither path states a
criterion of its own.
"""

from settlement.expectations import CHECKOUT_PURPOSE

PAYABLE = "e.status IN ('open', 'expired')"
BY_REFERENCE = "e.reference = p.reference"
AMOUNT_AGREES = "e.amount_sen = p.amount_sen"
STATIC_PAYABLE = f"e.status = 'open' AND e.purpose <> '{CHECKOUT_PURPOSE}'"
STATIC_KEY = "e.nmid = p.nmid AND e.amount_sen = p.amount_sen"
IN_WINDOW = "e.created_at <= p.transacted_at AND p.transacted_at <= e.expires_at"
STATIC_ORDER = "e.created_at, e.id"
LATE = "p.transacted_at > e.expires_at"
