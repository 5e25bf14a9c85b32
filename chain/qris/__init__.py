"""QRIS: payload codec, gateway notifications, acquirer reports."""
