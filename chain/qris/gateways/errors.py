"""Why a gateway notification was refused: unauthenticated (401) or malformed (400/422)."""


class NotificationError(ValueError):
    """Base of every refusal; ``code`` is stable and ends up in problem+json."""

    code = "qris_notification_invalid"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class NotificationUnauthenticated(NotificationError):
    """Signature, token or timestamp did not verify: nothing from this request is trusted."""

    code = "qris_notification_unauthenticated"


class NotificationMalformed(NotificationError):
    """Authentic (or not yet checked) but not a notification we can read."""

    code = "qris_notification_malformed"
