"""Why a gateway notification was refused (401, 400, 422) or deferred (503)."""

from escrow.refusals import Refusal


class NotificationError(Refusal, ValueError):
    """Base of every refusal; ``code`` is stable and ends up in problem+json."""

    code = "qris_notification_invalid"


class NotificationUnauthenticated(NotificationError):
    """Signature, token or timestamp did not verify: nothing from this request is trusted."""

    code = "qris_notification_unauthenticated"


class NotificationMalformed(NotificationError):
    """Authentic (or not yet checked) but not a notification we can read."""

    code = "qris_notification_malformed"


class NotificationUnconfirmed(NotificationError):
    """Authentic, but the gateway's own status API does not confirm what it says."""

    code = "qris_notification_unconfirmed"


class GatewayUnavailable(NotificationError):
    """The gateway's status API could not be asked or answered unreadably: retry later."""

    code = "qris_gateway_unavailable"
