"""The OpenAPI document's shared parts (security schemes) and the docs pages, served from local
assets: Swagger UI and ReDoc ship in the ``fastapi-offline`` wheel, so /docs works offline and
asks no CDN for anything (decision 0016)."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
DOCS_STATIC_PATH = "/docs/static"
DOCS_ASSETS = files("fastapi_offline") / "static"
"""Swagger UI 5 (bundle + css), ReDoc standalone and a favicon, from the fastapi-offline wheel."""

# Names of security schemes in the document, not secrets.
OPERATOR_TOKEN = "operatorToken"  # noqa: S105
API_KEY = "apiKey"
PIONEER_TOKEN = "pioneerToken"  # noqa: S105
XENDIT_CALLBACK_TOKEN = "xenditCallbackToken"  # noqa: S105
SNAP_SIGNATURE = "snapSignature"
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    OPERATOR_TOKEN: {
        "type": "http",
        "scheme": "bearer",
        "description": "The treasury operator's token: `Authorization: Bearer"
        " <MSC_OPERATOR_TOKEN>`.",
    },
    API_KEY: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "msk_<prefix>_<secret>",
        "description": "An API key issued by the treasury, scoped to a role (merchant, treasury,"
        " gateway) and an owner: `Authorization: Bearer msk_<prefix>_<secret>` (decision 0017).",
    },
    PIONEER_TOKEN: {
        "type": "http",
        "scheme": "bearer",
        "description": "The Pioneer's Pi access token from the Pi SDK, checked with Pi"
        " `GET /v2/me`.",
    },
    XENDIT_CALLBACK_TOKEN: {
        "type": "apiKey",
        "in": "header",
        "name": "X-CALLBACK-TOKEN",
        "description": "Xendit's callback verification token.",
    },
    SNAP_SIGNATURE: {
        "type": "apiKey",
        "in": "header",
        "name": "X-SIGNATURE",
        "description": "Bank Indonesia SNAP: SHA256withRSA by the PJP over method, path, body"
        " digest and X-TIMESTAMP, verified with the PJP's public key.",
    },
}
"""Every credential a route takes. Midtrans signs inside the body (`signature_key`, SHA-512 over
order id, status code, gross amount and the server key), which OpenAPI cannot name as a scheme:
its route says so, and the service confirms each notification with Midtrans' Status API."""


def security(*schemes: str) -> dict[str, Any]:
    """``openapi_extra`` for an operation that takes any one of ``schemes``."""
    unknown = set(schemes) - set(SECURITY_SCHEMES)
    if unknown:
        raise ValueError(f"undeclared security schemes: {sorted(unknown)}")
    return {"security": [{scheme: []} for scheme in schemes]}


def install_openapi(app: FastAPI) -> None:
    """Declare the security schemes in the document and serve /docs and /redoc locally."""

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign] # FastAPI's documented override
    app.mount(DOCS_STATIC_PATH, StaticFiles(directory=str(DOCS_ASSETS)), name="docs-static")
    favicon = f"{DOCS_STATIC_PATH}/favicon.png"

    @app.get(DOCS_PATH, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=str(app.openapi_url),
            title=f"{app.title} API",
            swagger_js_url=f"{DOCS_STATIC_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_STATIC_PATH}/swagger-ui.css",
            swagger_favicon_url=favicon,
        )

    @app.get(REDOC_PATH, include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=str(app.openapi_url),
            title=f"{app.title} API",
            redoc_js_url=f"{DOCS_STATIC_PATH}/redoc.standalone.js",
            redoc_favicon_url=favicon,
            with_google_fonts=False,
        )
