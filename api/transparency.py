"""The transparency page ``GET /transparency`` (issue 14, item 6): every published month with
its digest, signatures, witnesses and anchor transactions, reserve coverage and the guarantee
fund over time as inline SVG, and "Cek struk saya", which checks a pasted receipt in the
browser (WebCrypto SHA-256) against the roots this page publishes.

Bahasa Indonesia first, English with ``?lang=en``. Server-rendered with Jinja2, no build step;
nothing is loaded from anywhere (inline CSS, SVG and script, allowed by a per-response nonce in
the Content-Security-Policy). Public: cached for a minute, rate-limited per client IP.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from api.dependencies import services
from api.public import cached, public_limit
from api.routers.audit import period_answer
from settlement.audit.page_figures import Point, coverage_series, days_between, fund_series
from settlement.audit.published import PublishedPeriod
from settlement.audit.transparency import LogNotAvailable, TransparencyLog
from settlement.unit_of_work import transaction

router = APIRouter(dependencies=[Depends(public_limit)])
PAGE_PATH = "/transparency"
chart_width_px = 420
chart_height_px = 160
coverage_floor_bps = 10_000
"""Full coverage (100 %): the dashed line on the coverage chart."""
_ENV = Environment(
    loader=PackageLoader("api", "templates"),
    autoescape=select_autoescape(["html"], default_for_string=True),
    keep_trailing_newline=True,
)
Lang = Literal["id", "en"]

TEXT: dict[str, dict[str, str]] = {
    "id": {
        "title": "Transparansi MSC Settlement",
        "switch": "English",
        "intro": "Setiap bulan yang ditutup diterbitkan sebagai bundel audit: setiap transaksi"
        " (nama pihak disamarkan), saldo akhir, tanda tangan pejabat, dan jangkar di blockchain."
        " Siapa pun dapat memeriksanya dengan msc-audit verify.",
        "months": "Bulan yang diterbitkan",
        "no_months": "Belum ada bulan yang diterbitkan.",
        "digest": "Digest",
        "previous": "Bulan sebelumnya",
        "first_month": "bulan pertama",
        "transfers": "Transaksi",
        "root": "akar",
        "signatures": "Tanda tangan",
        "of_needed": "dari minimal",
        "witnesses": "Saksi",
        "no_witnesses": "tidak ada tanda tangan saksi",
        "not_yet": "belum tersedia",
        "anchors": "Jangkar",
        "no_anchors": "belum dijangkarkan",
        "files": "Berkas",
        "cumulative": "Log kumulatif (checkpoint)",
        "over_time": "Dari waktu ke waktu",
        "coverage": "Cakupan cadangan (% dari MSC beredar)",
        "fund": "Dana jaminan pedagang (Rp)",
        "no_data": "belum ada data",
        "check_title": "Cek struk saya",
        "check_intro": "Tempel struk (JSON) dari aplikasi Anda. Halaman ini menghitung ulang jalur"
        " Merkle dengan SHA-256 di peramban Anda sampai akar yang diterbitkan di atas, tanpa"
        " mempercayai server.",
        "paste": "Struk (JSON)",
        "check_button": "Periksa",
    },
    "en": {
        "title": "MSC Settlement transparency",
        "switch": "Bahasa Indonesia",
        "intro": "Every closed month is published as an audit bundle: every transfer (parties"
        " pseudonymised), the closing balances, the officers' signatures and on-chain anchors."
        " Anyone can check it with msc-audit verify.",
        "months": "Published months",
        "no_months": "No month has been published yet.",
        "digest": "Digest",
        "previous": "Previous month",
        "first_month": "first month",
        "transfers": "Transfers",
        "root": "root",
        "signatures": "Signatures",
        "of_needed": "of at least",
        "witnesses": "Witnesses",
        "no_witnesses": "no witness cosignatures",
        "not_yet": "not yet available",
        "anchors": "Anchors",
        "no_anchors": "not anchored yet",
        "files": "Files",
        "cumulative": "Cumulative log (checkpoint)",
        "over_time": "Over time",
        "coverage": "Reserve coverage (% of MSC outstanding)",
        "fund": "Merchant guarantee fund (Rp)",
        "no_data": "no data yet",
        "check_title": "Check my receipt",
        "check_intro": "Paste a receipt (JSON) from your app. This page recomputes the Merkle path"
        " with SHA-256 in your browser up to the root published above, without trusting the"
        " server.",
        "paste": "Receipt (JSON)",
        "check_button": "Check",
    },
}
RECEIPT_TEXT: dict[str, dict[str, str]] = {
    "id": {
        "verified": "Terverifikasi: struk ini ada dalam bundel yang diterbitkan.",
        "refused": "Ditolak.",
        "entry_ok": "Daun {index} bulan {period}: jalur sampai akar yang diterbitkan.",
        "not_json": "Struk bukan JSON yang sah.",
        "not_a_receipt": "Ini bukan struk: tidak ada leaf dan path.",
        "no_entries": "Struk tidak memuat transaksi.",
        "unknown_month": "Bulan {period} tidak diterbitkan di halaman ini.",
        "other_size": "Ukuran pohon {size} bukan ukuran yang diterbitkan untuk {period}"
        " ({published}).",
        "other_root": "Akar struk bukan akar yang diterbitkan untuk {period}.",
        "mismatch": "Jalur menghasilkan akar {root}, bukan akar yang diterbitkan untuk {period}:"
        " struk telah diubah.",
        "bad_hash": "{what} bukan hash 32 byte (hex).",
        "sibling": "Simpul jalur",
        "bad_index": "Indeks daun di luar pohon.",
        "path_too_long": "Jalur terlalu panjang untuk pohon ini.",
        "path_too_short": "Jalur terlalu pendek untuk pohon ini.",
        "no_webcrypto": "Peramban ini tidak menyediakan WebCrypto (buka lewat HTTPS).",
    },
    "en": {
        "verified": "Verified: this receipt is in the published bundle.",
        "refused": "Refused.",
        "entry_ok": "Leaf {index} of {period}: the path leads to the published root.",
        "not_json": "The receipt is not valid JSON.",
        "not_a_receipt": "This is not a receipt: no leaf and path.",
        "no_entries": "The receipt holds no transfer.",
        "unknown_month": "{period} is not published on this page.",
        "other_size": "Tree size {size} is not the size published for {period} ({published}).",
        "other_root": "The receipt's root is not the root published for {period}.",
        "mismatch": "The path leads to root {root}, not the root published for {period}: the"
        " receipt was altered.",
        "bad_hash": "{what} is not a 32-byte hash (hex).",
        "sibling": "Path node",
        "bad_index": "The leaf index is outside the tree.",
        "path_too_long": "The path is too long for this tree.",
        "path_too_short": "The path is too short for this tree.",
        "no_webcrypto": "This browser offers no WebCrypto (open the page over HTTPS).",
    },
}


@router.get(PAGE_PATH, include_in_schema=False)
def transparency_page(
    request: Request, lang: Annotated[Lang, Query(description="id (default) or en")] = "id"
) -> Response:
    """The transparency page, in Bahasa Indonesia unless ``?lang=en``."""
    wired = services(request)
    with transaction(wired.engine) as conn:
        published = wired.published.periods(conn)
        coverage, fund = coverage_series(conn), fund_series(conn)
    settings = wired.settings
    links = {
        "evm": settings.audit_explorer_evm_tx_url,
        "stellar": settings.audit_explorer_stellar_tx_url,
    }
    months = [_month(p, wired.transparency, links) for p in reversed(published)]
    t = TEXT[lang]
    nonce = secrets.token_urlsafe(16)
    html = _ENV.get_template("transparency.html").render(
        lang=lang,
        other_lang="en" if lang == "id" else "id",
        t=t,
        months=months,
        checkpoint=_checkpoint(wired.transparency),
        charts=[
            svg_chart(t["coverage"], coverage, lambda v: f"{v / 100:.0f} %", coverage_floor_bps),
            svg_chart(t["fund"], fund, lambda v: f"Rp {v // 100:,}".replace(",", "."), None),
        ],
        roots={
            p.period: {"root": p.transfer_root, "tree_size": p.transfer_count, "digest": p.digest}
            for p in published
        },
        receipt_strings=RECEIPT_TEXT[lang],
        nonce=nonce,
    )
    response = cached(request, html.encode("utf-8"), "text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}';"
        " img-src 'self' data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
    )
    response.headers["Content-Language"] = lang
    return response


def _month(
    published: PublishedPeriod, log: TransparencyLog, links: dict[str, str]
) -> dict[str, Any]:
    month = period_answer(published)
    try:
        month["witnesses"] = log.cosignatures(published.period)
    except LogNotAvailable:
        month["witnesses"] = None
    month["anchors"] = [_anchor(entry, links) for entry in published.anchors]
    return month


def _anchor(entry: dict[str, Any], links: dict[str, str]) -> dict[str, Any]:
    kind = str(entry.get("kind", ""))
    tx_hash = str(entry.get("tx_hash", ""))
    if kind == "stellar":
        where = f"Stellar {entry.get('network_passphrase')} ledger {entry.get('ledger')}"
    else:
        where = f"EVM chain {entry.get('chain_id')} block {entry.get('block_number')}"
    template = links.get(kind, "")
    link = template.replace("{tx_hash}", tx_hash) if template.startswith("https://") else None
    return {"kind": kind, "where": where, "tx_hash": tx_hash, "link": link}


def _checkpoint(log: TransparencyLog) -> str | None:
    try:
        found = log.checkpoint()
    except LogNotAvailable:
        return None
    return str(found.get("note", found))


def svg_chart(
    title: str,
    points: Sequence[Point],
    label: Callable[[int], str],
    line_at: int | None,
) -> dict[str, Any]:
    """An SVG polyline of ``points`` scaled into the chart, with its top and bottom values."""
    chart: dict[str, Any] = {
        "title": title,
        "width": chart_width_px,
        "height": chart_height_px,
        "points": "",
        "line_y": None,
    }
    if not points:
        return chart
    values = [p.value for p in points] + ([line_at] if line_at is not None else [])
    low, high = min(0, *values), max(values)
    first, last = points[0].at_us, points[-1].at_us
    span_x = max(1, last - first)
    span_y = max(1, high - low)

    def y(value: int) -> float:
        return round(chart_height_px - 4 - (value - low) * (chart_height_px - 22) / span_y, 1)

    xs = [round((p.at_us - first) * (chart_width_px - 8) / span_x + 4, 1) for p in points]
    chart["points"] = " ".join(f"{x},{y(p.value)}" for x, p in zip(xs, points, strict=True))
    chart["line_y"] = None if line_at is None else y(line_at)
    chart["top"], chart["bottom"] = label(high), label(low)
    chart["span"] = f"{len(points)} · {days_between(first, last)} d"
    return chart
