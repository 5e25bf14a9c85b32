"""The treasury decides QRIS exceptions and Pi flags (issue 12 item 9, decision 0026).

An exception (``qris_exceptions``) or a flag (``pi_flags``) is listed by its rail; here an
officer resolves it, once, with a recorded decision (who, when, outcome, note) and its ledger
effect in the same unit of work: ``refund`` (money back to the payer: an owed QRIS refund on
``refunds:qris:IDR``, or Pi to the Pioneer's account and an A2U through the outbox),
``merchant`` (credited to the merchant), ``suspense`` (written off to ``suspense:{asset}``) or
``dismiss`` (nothing is at stake: recorded, nothing posted). Which outcomes an exception's kind
admits and what each posts is ``settlement.decisions.qris`` / ``settlement.decisions.pi``.
"""
