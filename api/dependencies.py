"""The services a request runs against: the one thing ``api`` takes from the wiring."""

from __future__ import annotations

from fastapi import Request

from settlement.services import Services


def services(request: Request) -> Services:
    """The services the application was created with (``create_app``)."""
    found: Services = request.app.state.services
    return found
