"""The registry of refusal codes: every code raised anywhere, its HTTP status and its messages.

One entry per code (``REFUSALS``): the HTTP status the API answers with, and the message in
Bahasa Indonesia (merchants and Pioneers read it) and in English (operators). ``api/problems.py``
is the only place that turns a ``Refusal`` into an HTTP answer, and it reads this table;
``docs/refusals.md`` is generated from it (``python -m settlement.refusals``) and a test keeps
the two equal. A test scans chain/, settlement/, escrow/ and api/ for every code raised and
fails when one is missing here.

Messages that show an amount or a time format them with ``escrow.money.format_idr_display``
(``Rp 15.000``) and ``escrow.calendar.format_wib`` (``01-12-2026 16:22 WIB``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from enum import StrEnum

from escrow.model import ResultCode
from escrow.refusals import Refusal

__all__ = [
    "REFUSALS",
    "Language",
    "Refusal",
    "RefusalEntry",
    "entry",
    "http_status",
    "markdown_table",
    "message",
]


class Language(StrEnum):
    """The languages refusals are told in."""

    ID = "id"
    EN = "en"


@dataclass(frozen=True, slots=True)
class RefusalEntry:
    """One refusal code: HTTP status and the message in each language."""

    code: str
    status: int
    id: str
    en: str

    def text(self, language: Language) -> str:
        """The message in ``language``."""
        return self.id if language is Language.ID else self.en


def _e(code: str, status: int, id_: str, en: str) -> RefusalEntry:
    return RefusalEntry(code, status, id_, en)


_PI = (
    _e(
        "pi_expectation_not_found",
        404,
        "Pembayaran ini tidak ditunggu.",
        "No expectation matches this payment.",
    ),
    _e(
        "pi_expectation_expired",
        409,
        "Waktu pembayaran sudah habis.",
        "The expectation has expired.",
    ),
    _e(
        "pi_expectation_fulfilled",
        409,
        "Pembayaran ini sudah diterima.",
        "The expectation is already paid.",
    ),
    _e(
        "pi_expectation_mismatch",
        409,
        "Pembayaran tidak sesuai dengan yang ditunggu.",
        "The payment does not match its expectation.",
    ),
    _e("pi_payment_not_found", 404, "Pembayaran Pi tidak ditemukan.", "Pi payment not found."),
    _e(
        "pi_payment_cancelled",
        409,
        "Pembayaran Pi sudah dibatalkan.",
        "The Pi payment was cancelled.",
    ),
    _e(
        "pi_direction_mismatch",
        422,
        "Arah pembayaran Pi salah.",
        "The Pi payment goes the wrong way.",
    ),
    _e(
        "pi_network_mismatch",
        422,
        "Pembayaran berasal dari jaringan Pi lain.",
        "The payment is on another Pi network.",
    ),
    _e(
        "pi_payer_mismatch",
        403,
        "Pembayaran ini milik Pioneer lain.",
        "The payment belongs to another Pioneer.",
    ),
    _e(
        "pi_purpose_mismatch",
        422,
        "Tujuan pembayaran tidak sesuai.",
        "The payment's purpose does not match.",
    ),
    _e("pi_amount_mismatch", 422, "Jumlah Pi tidak sesuai.", "The Pi amount does not match."),
    _e(
        "pi_memo_mismatch",
        422,
        "Memo transaksi bukan identitas pembayaran.",
        "The transaction memo is not the payment id.",
    ),
    _e(
        "pi_destination_mismatch",
        422,
        "Pi tidak dikirim ke dompet aplikasi.",
        "The Pi does not go to the app wallet.",
    ),
    _e(
        "pi_source_mismatch",
        422,
        "Pi tidak berasal dari dompet pembayar.",
        "The Pi does not come from the payer's wallet.",
    ),
    _e(
        "pi_asset_not_native",
        422,
        "Pembayaran bukan dalam Pi asli.",
        "The payment is not in native Pi.",
    ),
    _e(
        "pi_operation_mismatch",
        422,
        "Transaksi harus berisi tepat satu pembayaran.",
        "The transaction must hold exactly one payment.",
    ),
    _e(
        "pi_tx_failed",
        422,
        "Transaksi Pi gagal di jaringan.",
        "The Pi transaction failed on chain.",
    ),
    _e(
        "pi_tx_malformed",
        422,
        "Transaksi Pi tidak dapat dibaca.",
        "The Pi transaction cannot be read.",
    ),
    _e(
        "pi_txid_mismatch",
        409,
        "Transaksi bukan milik pembayaran ini.",
        "The transaction is not this payment's.",
    ),
    _e(
        "pi_txid_reused",
        409,
        "Transaksi ini sudah pernah dipakai.",
        "This transaction was used before.",
    ),
    _e(
        "pi_tx_not_found",
        409,
        "Transaksi belum ada di jaringan Pi.",
        "The transaction is not on the Pi chain (yet).",
    ),
    _e("pi_not_approved", 409, "Pembayaran belum disetujui.", "The payment is not approved yet."),
    _e(
        "pi_bad_payment_id",
        400,
        "Identitas pembayaran tidak valid.",
        "The payment id is malformed.",
    ),
    _e("pi_bad_txid", 400, "Identitas transaksi tidak valid.", "The txid is malformed."),
    _e("pi_bad_cursor", 400, "Kursor Horizon tidak valid.", "The Horizon cursor is malformed."),
    _e("pi_bad_amount", 400, "Jumlah tidak valid.", "The amount is not valid."),
    _e("pi_bad_input", 400, "Permintaan tidak valid.", "The request is not valid."),
    _e("pi_bad_address", 400, "Alamat dompet Pi tidak valid.", "Not a valid Pi wallet address."),
    _e("pi_bad_uid", 400, "Identitas Pioneer tidak valid.", "The Pioneer uid is malformed."),
    _e("pi_unauthorized", 401, "Token akses Pi ditolak.", "The Pi access token was refused."),
    _e(
        "pi_already_completed",
        409,
        "Pembayaran sudah selesai.",
        "The payment is already completed.",
    ),
    _e(
        "pi_ongoing_payment_found",
        409,
        "Masih ada pembayaran yang berjalan.",
        "A payment is still in progress.",
    ),
    _e(
        "pi_payment_tx_present",
        409,
        "Pembayaran sudah punya transaksi.",
        "The payment already has a transaction.",
    ),
    _e(
        "pi_not_verified",
        409,
        "Pi belum memverifikasi transaksi.",
        "Pi has not verified the transaction yet.",
    ),
    _e(
        "pi_tx_unverified",
        422,
        "Transaksi tidak membuktikan pembayaran.",
        "The transaction does not prove the payment.",
    ),
    _e(
        "pi_unavailable",
        503,
        "Layanan Pi sedang tidak tersedia, coba lagi nanti.",
        "Pi is unavailable; try again later.",
    ),
    _e(
        "pi_no_wallet_secret",
        503,
        "Dompet aplikasi belum dikonfigurasi.",
        "The app wallet has no signing secret.",
    ),
    _e(
        "pi_bad_response",
        502,
        "Jawaban Pi tidak dapat dipercaya.",
        "Pi answered with an unreadable response.",
    ),
    _e("pi_api_error", 502, "Pi menolak permintaan.", "The Pi Platform API refused the request."),
    _e(
        "pi_tx_rejected",
        502,
        "Jaringan Pi menolak transaksi.",
        "The Pi network rejected the transaction.",
    ),
    _e("pi_error", 502, "Kesalahan pada layanan Pi.", "Pi rail error."),
    _e(
        "pi_flagged",
        422,
        "Pembayaran ditolak dan ditandai untuk diperiksa.",
        "Payment refused and flagged for review.",
    ),
    _e("pi_no_memo", 422, "Transaksi tanpa memo.", "The transaction has no memo."),
    _e(
        "pi_unknown_memo",
        422,
        "Memo transaksi tidak dikenal.",
        "The transaction memo names no payment.",
    ),
)
_AMOUNT = (
    _e(
        "amount_invalid",
        422,
        "Jumlah bukan angka desimal yang valid.",
        "Not a plain decimal amount.",
    ),
    _e(
        "amount_too_precise",
        422,
        "Jumlah memiliki terlalu banyak angka desimal.",
        "The amount has too many decimals.",
    ),
    _e("amount_out_of_range", 422, "Jumlah di luar batas.", "The amount is out of range."),
    _e("asset_unknown", 422, "Aset tidak dikenal.", "Unknown asset."),
    _e(
        "asset_mismatch",
        422,
        "Jumlah dalam aset yang berbeda tidak dapat digabung.",
        "Amounts in different assets cannot be combined.",
    ),
)
_QRIS = (
    _e(
        "qris_mdr_missing",
        503,
        "Tarif MDR untuk pembayaran ini belum ditetapkan; coba lagi nanti.",
        "No MDR rate covers this payment yet; try again later.",
    ),
    _e(
        "qris_mdr_ambiguous",
        503,
        "Tarif MDR untuk pembayaran ini bertumpang tindih; coba lagi nanti.",
        "Two MDR rates overlap for this payment; try again later.",
    ),
    _e("qris_notification_invalid", 400, "Notifikasi ditolak.", "Notification refused."),
    _e(
        "qris_notification_unauthenticated",
        401,
        "Notifikasi tidak terautentikasi.",
        "Notification not authenticated.",
    ),
    _e(
        "qris_notification_malformed",
        400,
        "Notifikasi tidak dapat dibaca.",
        "Notification cannot be read.",
    ),
    _e(
        "qris_notification_unconfirmed",
        400,
        "Gateway tidak mengonfirmasi notifikasi.",
        "The gateway does not confirm the notification.",
    ),
    _e(
        "qris_gateway_unavailable",
        503,
        "Notifikasi belum dapat dikonfirmasi, kirim ulang.",
        "Notification not confirmed yet, send it again.",
    ),
    _e("qris_provider_unknown", 404, "Penyedia QRIS tidak dikenal.", "Unknown QRIS provider."),
    _e(
        "qris_expectation_invalid",
        422,
        "Data pembayaran QRIS yang ditunggu tidak valid.",
        "The QRIS expectation is not valid.",
    ),
)
_EXPECTATION = (
    _e(
        "expectation_conflict",
        409,
        "Referensi ini sudah dipakai untuk pembayaran lain.",
        "This reference already names another expectation.",
    ),
    _e(
        "account_undeclared",
        422,
        "Akun tidak ada dalam bagan akun.",
        "The account matches no pattern of the chart of accounts.",
    ),
)
_EVM = (
    _e("invalid_address", 422, "Alamat EVM tidak valid.", "Not an EVM address."),
    _e("invalid_amount", 422, "Jumlah MSC tidak valid.", "The MSC amount is not valid."),
)
_AUDIT = (
    _e(
        "audit_anchor_refused",
        409,
        "Bulan ini belum dapat dijangkarkan.",
        "The month cannot be anchored yet.",
    ),
    _e(
        "audit_log_sizes_refused",
        422,
        "Ukuran pohon di luar log transparansi yang sudah diterbitkan.",
        "The tree sizes are not within the published transparency log.",
    ),
    _e(
        "audit_log_transfer_unpublished",
        404,
        "Transfer ini belum ada di bulan yang sudah diterbitkan.",
        "The transfer is not in a published month.",
    ),
)
_PUBLIC_AUDIT = (
    _e(
        "audit_not_published",
        404,
        "Bulan ini belum diterbitkan untuk audit.",
        "The month has no published audit bundle.",
    ),
    _e(
        "audit_transfer_not_found",
        404,
        "Transaksi tidak ada dalam bundel audit bulan ini.",
        "The transfer is not in the month's audit bundle.",
    ),
    _e(
        "audit_receipt_not_yours",
        403,
        "Transaksi ini bukan milik Anda.",
        "The transfer is not one of yours.",
    ),
    _e(
        "audit_log_not_available",
        404,
        "Log transparansi kumulatif belum tersedia.",
        "The cumulative transparency log is not available yet.",
    ),
    _e(
        "rate_limited",
        429,
        "Terlalu banyak permintaan; coba lagi sebentar lagi.",
        "Too many requests; try again shortly.",
    ),
)
_API = (
    _e("invalid_request", 422, "Permintaan tidak valid.", "The request is not valid."),
    _e("not_found", 404, "Tidak ditemukan.", "Not found."),
    _e("method_not_allowed", 405, "Metode tidak diizinkan.", "Method not allowed."),
    _e(
        "database_unavailable",
        503,
        "Basis data tidak dapat dijangkau; kirim ulang dengan Idempotency-Key yang sama.",
        "The database cannot be reached; send it again with the same Idempotency-Key.",
    ),
    _e(
        "internal_error",
        500,
        "Kesalahan internal; ID permintaan menunjukkannya di log.",
        "Internal error; the request id names it in the logs.",
    ),
    _e(
        "operator_unauthenticated",
        401,
        "Token operator diperlukan.",
        "An operator token is required.",
    ),
    _e(
        "request_body_too_large",
        413,
        "Isi permintaan terlalu besar.",
        "The request body is too large.",
    ),
    _e(
        "json_too_deep",
        400,
        "Isi permintaan bersarang terlalu dalam.",
        "The request body is nested too deeply.",
    ),
    _e("malformed_json", 400, "Isi permintaan bukan JSON yang sah.", "The body is not valid JSON."),
    _e(
        "unsupported_media_type",
        415,
        "Jenis isi permintaan tidak didukung; kirim application/json.",
        "Unsupported content type; send application/json.",
    ),
)
_MERCHANT: tuple[RefusalEntry, ...] = (
    _e("merchant_unknown", 404, "Merchant tidak dikenal.", "No such merchant."),
    _e(
        "merchant_suspended",
        409,
        "Merchant sedang dibekukan.",
        "The merchant is suspended.",
    ),
    _e(
        "merchant_exists",
        409,
        "ID merchant ini sudah terdaftar dengan data lain.",
        "This merchant id is already onboarded with other fields.",
    ),
    _e(
        "merchant_nmid_taken",
        409,
        "NMID ini sudah dipakai merchant lain.",
        "This NMID belongs to another merchant.",
    ),
    _e(
        "merchant_invalid",
        422,
        "Data merchant tidak valid.",
        "The merchant's fields are not valid.",
    ),
    _e(
        "merchant_name_mixed_script",
        422,
        "Satu kata dalam nama merchant mencampur aksara (mis. huruf Latin dan Yunani).",
        "A word of the merchant's name mixes scripts (e.g. Latin and Greek letters).",
    ),
    _e(
        "merchant_qris_invalid",
        422,
        "QRIS statis merchant tidak valid atau NMID-nya tidak cocok.",
        "The merchant's static QRIS is not valid, or its NMID does not agree.",
    ),
    _e(
        "merchant_qris_required",
        422,
        "Pembayaran QRIS memerlukan QRIS statis merchant.",
        "The QRIS tender needs the merchant's static QRIS payload.",
    ),
)
_AUTH: tuple[RefusalEntry, ...] = (
    _e(
        "unauthenticated",
        401,
        "Kunci API yang sah diperlukan.",
        "A valid API key is required.",
    ),
    _e("forbidden", 403, "Kunci API ini tidak berhak.", "This API key may not do this."),
    _e("api_key_unknown", 404, "Kunci API tidak dikenal.", "No such API key."),
    _e(
        "api_key_invalid",
        422,
        "Peran atau pemilik kunci API tidak valid.",
        "The API key's role or owner is not valid.",
    ),
)
_IDEMPOTENCY: tuple[RefusalEntry, ...] = (
    _e(
        "idempotency_key_required",
        400,
        "Header Idempotency-Key diperlukan.",
        "An Idempotency-Key header is required.",
    ),
    _e(
        "idempotency_key_invalid",
        400,
        "Idempotency-Key harus 1 sampai 255 karakter ASCII yang terlihat.",
        "The Idempotency-Key must be 1 to 255 visible ASCII characters.",
    ),
    _e(
        "idempotency_key_reused",
        422,
        "Idempotency-Key ini sudah dipakai untuk permintaan lain.",
        "This Idempotency-Key was used for another request.",
    ),
    _e(
        "idempotency_key_in_use",
        409,
        "Permintaan dengan Idempotency-Key ini masih berjalan.",
        "A request with this Idempotency-Key is still running.",
    ),
)
_CAMPAIGN: tuple[RefusalEntry, ...] = (
    _e("campaign_invalid", 422, "Data kampanye tidak valid.", "The campaign is not valid."),
    _e(
        "campaign_exists",
        409,
        "Kampanye dengan ID ini sudah ada dengan data lain.",
        "A campaign with this id exists with other fields.",
    ),
    _e("campaign_unknown", 404, "Kampanye tidak ditemukan.", "No such campaign."),
    _e(
        "campaign_inactive",
        409,
        "Kampanye belum mulai atau sudah berakhir.",
        "The campaign has not started or has ended.",
    ),
    _e(
        "campaign_not_for_merchant",
        409,
        "Kampanye ini tidak berlaku di merchant ini.",
        "The campaign does not apply at this merchant.",
    ),
    _e(
        "campaign_cap_reached",
        409,
        "Batas diskon harian kampanye sudah tercapai.",
        "The campaign's daily discount cap is reached.",
    ),
    _e(
        "campaign_budget_exhausted",
        409,
        "Anggaran kampanye sudah habis.",
        "The campaign's budget is exhausted.",
    ),
    _e(
        "campaign_price_too_small",
        422,
        "Harga terlalu kecil untuk mendapat diskon.",
        "The price is too small for a discount.",
    ),
    _e(
        "campaign_reservation_conflict",
        409,
        "Checkout ini sudah memakai diskon kampanye lain.",
        "This checkout already holds another campaign discount.",
    ),
)
_SHARES: tuple[RefusalEntry, ...] = (
    _e(
        "share_rule_invalid",
        422,
        "Aturan bagi hasil tidak valid.",
        "The revenue-share rule is not valid.",
    ),
    _e(
        "share_rule_not_found",
        404,
        "Aturan bagi hasil tidak ditemukan.",
        "No revenue-share rule under this id.",
    ),
    _e(
        "share_rule_merchant_unknown",
        404,
        "Merchant untuk aturan bagi hasil ini tidak dikenal.",
        "No merchant has this rule's id.",
    ),
    _e("parameter_unknown", 404, "Parameter tidak dikenal.", "No such treasury parameter."),
    _e(
        "parameter_invalid",
        422,
        "Nilai parameter tidak valid.",
        "The parameter's value is not valid.",
    ),
)
_RATES: tuple[RefusalEntry, ...] = (
    _e(
        "rate_unavailable",
        503,
        "Harga Pi tidak tersedia saat ini; coba lagi.",
        "No Pi price is available now; try again.",
    ),
    _e(
        "rate_stale",
        503,
        "Harga Pi dari sumber-sumber sudah terlalu lama; coba lagi nanti.",
        "The sources' Pi prices are too old to quote at; try again later.",
    ),
    _e(
        "rate_sources_insufficient",
        503,
        "Terlalu sedikit sumber harga Pi yang menjawab; coba lagi nanti.",
        "Too few Pi price sources answered; try again later.",
    ),
    _e(
        "rate_spread_exceeded",
        503,
        "Sumber-sumber harga Pi terlalu berbeda; coba lagi nanti.",
        "The Pi price sources disagree beyond the allowed spread; try again later.",
    ),
    _e(
        "rate_treasury_invalid",
        422,
        "Kurs treasury tidak valid.",
        "The treasury rate is not valid (price, validity or officer).",
    ),
    _e("quote_invalid", 422, "Permintaan kuotasi tidak valid.", "The quote request is not valid."),
    _e(
        "quote_pair_unsupported",
        422,
        "Pasangan aset ini tidak dapat dikuotasi.",
        "This asset pair cannot be quoted.",
    ),
    _e(
        "quote_amount_invalid",
        422,
        "Sebutkan tepat satu jumlah (jual atau beli) yang valid.",
        "Name exactly one valid amount, sell_amount or buy_amount.",
    ),
    _e(
        "quote_amount_too_small",
        422,
        "Jumlah ini terlalu kecil setelah biaya.",
        "The amount buys nothing after the fee.",
    ),
    _e("quote_not_found", 404, "Kuotasi tidak ditemukan.", "No such quote."),
    _e("quote_expired", 409, "Kuotasi sudah kedaluwarsa.", "The quote has expired."),
)
_FUND: tuple[RefusalEntry, ...] = (
    # issue 12: the merchant guarantee fund (decision 0028)
    _e(
        "fund_contribution_invalid",
        422,
        "Data kontribusi dana jaminan tidak valid.",
        "The guarantee fund contribution is not valid.",
    ),
    _e(
        "fund_contribution_conflict",
        409,
        "Referensi kontribusi ini sudah dibukukan dengan data lain.",
        "This contribution reference is already booked with other fields.",
    ),
    _e(
        "fund_claim_invalid",
        422,
        "Klaim dana jaminan tidak valid.",
        "The guarantee fund claim is not valid.",
    ),
    _e(
        "fund_claim_conflict",
        409,
        "Permintaan ini sudah mengajukan klaim lain.",
        "This request already filed another claim.",
    ),
    _e("fund_claim_unknown", 404, "Klaim tidak ditemukan.", "No claim has this id."),
    _e("fund_claim_decided", 409, "Klaim ini sudah diputuskan.", "The claim is already decided."),
    _e(
        "fund_claim_over_cap",
        409,
        "Jumlah melebihi batas dana jaminan per klaim.",
        "The amount is over the guarantee fund's cap per claim.",
    ),
    _e(
        "fund_merchant_month_cap",
        409,
        "Jumlah melebihi batas dana jaminan merchant untuk bulan ini.",
        "The amount is over what the fund may still pay this merchant this month.",
    ),
    _e(
        "fund_insufficient_balance",
        409,
        "Saldo dana jaminan tidak mencukupi.",
        "The guarantee fund holds less than the payment.",
    ),
)
_RESERVES: tuple[RefusalEntry, ...] = (
    # issue 12: MSC issuance against Rupiah, redemption and reserve coverage
    _e(
        "msc_holder_invalid",
        422,
        "Pemegang MSC ditulis pioneer:{uid}:MSC atau merchant:{id}:MSC.",
        "An MSC holder is pioneer:{uid}:MSC or merchant:{id}:MSC.",
    ),
    _e(
        "bank_deposit_invalid",
        422,
        "Data setoran bank tidak valid.",
        "The bank deposit is not valid.",
    ),
    _e(
        "bank_deposit_conflict",
        409,
        "Referensi setoran bank ini sudah dibukukan dengan data lain.",
        "This bank deposit reference is already booked with other fields.",
    ),
    _e(
        "bank_deposit_unknown",
        404,
        "Setoran bank tidak ditemukan.",
        "No bank deposit has this reference.",
    ),
    _e(
        "bank_deposit_not_issuable",
        409,
        "Setoran ini modal cadangan, bukan pembelian MSC.",
        "This deposit is reserve capital, not a purchase of MSC.",
    ),
    _e(
        "reserve_coverage_below_floor",
        409,
        "Cadangan tidak mencukupi; MSC baru tidak diterbitkan saat ini.",
        "Reserve coverage is below the floor; no new MSC is issued now.",
    ),
    _e(
        "redemption_invalid",
        422,
        "Permintaan penukaran MSC tidak valid.",
        "The redemption request is not valid.",
    ),
    _e(
        "redemption_conflict",
        409,
        "Kunci permintaan ini sudah dipakai untuk penukaran lain.",
        "This request key already redeemed other MSC.",
    ),
    _e(
        "redemption_exceeds_balance",
        409,
        "Saldo MSC tidak mencukupi.",
        "The holder has less MSC than this.",
    ),
    _e(
        "redemption_exceeds_backing",
        409,
        "MSC yang diterbitkan dengan Rupiah lebih kecil dari jumlah ini.",
        "Less MSC was issued against Rupiah than this.",
    ),
)
_CHECKOUT: tuple[RefusalEntry, ...] = (
    _e(
        "checkout_invalid",
        422,
        "Permintaan checkout tidak valid.",
        "The checkout request is not valid.",
    ),
    _e(
        "checkout_amount_out_of_range",
        422,
        "Harga di luar batas yang diizinkan untuk tender ini.",
        "The price is outside the limits of this tender.",
    ),
    _e(
        "checkout_split_invalid",
        422,
        "Pembagian tender harus berjumlah 10.000 bp dan setiap bagian lebih dari nol.",
        "The tender split must sum to 10,000 bp with every part above zero.",
    ),
    _e(
        "checkout_amount_invalid",
        422,
        "Tulis harga sebagai desimal dengan dua angka sen, misalnya 15000.00.",
        "Write the price as a decimal with two digits of sen, e.g. 15000.00.",
    ),
    _e(
        "checkout_asset_invalid",
        422,
        "Checkout dihargai dalam Rupiah (IDR).",
        "A checkout is priced in Rupiah (IDR).",
    ),
    _e(
        "checkout_merchant_required",
        422,
        "Kunci treasury harus menyebut merchant_id.",
        "A treasury key must name merchant_id.",
    ),
    _e(
        "checkout_points_unpriced",
        409,
        "Nilai poin MSC belum ditetapkan treasury.",
        "The treasury has not set the MSC Points value.",
    ),
    _e(
        "checkout_tender_not_accepted",
        422,
        "Merchant tidak menerima tender ini.",
        "The merchant does not accept this tender.",
    ),
    _e(
        "checkout_tender_not_payable",
        422,
        "Bagian ini tidak dapat dibayar dari saldo.",
        "This leg cannot be paid from a balance.",
    ),
    _e(
        "checkout_pioneer_required",
        422,
        "Diskon kampanye atau bagian MSC/poin memerlukan Pioneer yang disebut.",
        "A campaign discount or an MSC/points leg needs the Pioneer named.",
    ),
    _e(
        "checkout_reference_invalid",
        422,
        "Referensi merchant harus 1 sampai 64 karakter.",
        "The merchant's reference must be 1 to 64 characters.",
    ),
    _e(
        "checkout_reference_reused",
        409,
        "Referensi merchant ini sudah dipakai untuk checkout lain.",
        "The merchant's reference already names another checkout.",
    ),
    _e(
        "checkout_unknown",
        404,
        "Checkout tidak ditemukan.",
        "No such checkout.",
    ),
    _e(
        "checkout_not_payer",
        403,
        "Hanya Pioneer yang membayar yang dapat melakukan ini.",
        "Only the Pioneer who paid may do this.",
    ),
    _e(
        "checkout_expired",
        409,
        "Checkout sudah kedaluwarsa.",
        "The checkout has expired.",
    ),
    _e(
        "checkout_closed",
        409,
        "Checkout sudah ditutup (kedaluwarsa atau dikembalikan).",
        "The checkout is closed (expired or refunded).",
    ),
    _e(
        "checkout_leg_paid",
        409,
        "Bagian ini sudah dibayar.",
        "This leg is already paid.",
    ),
    _e(
        "checkout_not_paid",
        409,
        "Checkout belum dibayar penuh.",
        "The checkout is not fully paid yet.",
    ),
    _e(
        "checkout_already_released",
        409,
        "Dana checkout sudah diserahkan ke merchant.",
        "The checkout was already released to the merchant.",
    ),
    _e(
        "checkout_disputed",
        409,
        "Checkout sedang disengketakan dan menunggu keputusan treasury.",
        "The checkout is disputed and awaits a treasury decision.",
    ),
    _e(
        "checkout_not_disputed",
        409,
        "Checkout tidak sedang disengketakan.",
        "The checkout is not disputed.",
    ),
    _e(
        "checkout_dispute_window_closed",
        409,
        "Batas waktu sengketa sudah lewat.",
        "The dispute window has closed.",
    ),
    _e(
        "checkout_decision_invalid",
        422,
        "Keputusan harus release atau refund.",
        "The decision must be release or refund.",
    ),
    _e(
        "checkout_insufficient_balance",
        409,
        "Saldo tidak cukup untuk membayar bagian ini.",
        "The balance is too low to pay this leg.",
    ),
)
_STATEMENT: tuple[RefusalEntry, ...] = (
    # issue 11: the merchant's read models (balances, history, statement, till)
    _e(
        "statement_month_invalid",
        422,
        "Bulan laporan ditulis TTTT-BB, misalnya 2026-03.",
        "A statement month is written YYYY-MM, e.g. 2026-03.",
    ),
    _e(
        "statement_month_not_started",
        409,
        "Bulan laporan ini belum dimulai.",
        "The statement's month has not started yet.",
    ),
    _e(
        "report_merchant_required",
        422,
        "Sebutkan merchant yang dimaksud (?merchant=).",
        "Name the merchant (?merchant=).",
    ),
    _e(
        "history_cursor_invalid",
        422,
        "Kursor riwayat tidak valid; mulai lagi dari halaman pertama.",
        "The history cursor is not valid; start again from the first page.",
    ),
    _e(
        "history_limit_invalid",
        422,
        "Ukuran halaman riwayat di luar batas.",
        "The history page size is out of range.",
    ),
    _e(
        "till_checkout_unknown",
        404,
        "Checkout tidak ditemukan.",
        "No such checkout.",
    ),
    _e(
        "till_qris_leg_not_open",
        409,
        "Pembayaran QRIS checkout ini sudah tidak ditunggu.",
        "This checkout's QRIS leg is no longer awaiting payment.",
    ),
    _e(
        "checkout_no_qris_leg",
        404,
        "Checkout ini tidak punya pembayaran QRIS.",
        "This checkout has no QRIS leg.",
    ),
)
_PAYOUT = (
    # issue 12, item 8: the daily payout batch and the bank's confirmation (decision 0023)
    _e("bank_account_invalid", 422, "Rekening bank tidak valid (kode bank 3 angka, nomor"
       " rekening 5-20 angka, nama pemilik huruf besar).", "The bank account is not valid (a"
       " three-digit bank code, a 5-20 digit account number, the holder's name in capitals)."),
    _e("payout_nothing_due", 409, "Tidak ada pembayaran yang jatuh tempo sampai batas waktu.",
       "Nothing is due by the cut-off."),
    _e("payout_cutoff_not_reached", 409, "Batas waktu pembayaran hari itu belum lewat.",
       "That day's payout cut-off has not passed yet."),
    _e("payout_batch_not_found", 404, "Batch pembayaran tidak ditemukan.",
       "No such payout batch."),
    _e("payout_batch_confirmed", 409, "Batch ini sudah dikonfirmasi dengan berkas lain.",
       "The batch is already confirmed by another file."),
    _e("payout_obligation_invalid", 422, "Kewajiban pembayaran tidak valid.",
       "The payout obligation is not valid."),
    _e("payout_obligation_exists", 409, "Kewajiban pembayaran ini sudah tercatat berbeda.",
       "This payout obligation is already recorded with other fields."),
    _e("payout_refund_not_found", 404, "Pengembalian dana Rupiah tidak ditemukan.",
       "No such Rupiah refund."),
    _e("payout_refund_not_owed", 409, "Pengembalian dana ini tidak lagi terutang.",
       "This refund is no longer owed."),
    _e("payout_confirmation_malformed", 422, "Berkas konfirmasi bank tidak sesuai format.",
       "The bank confirmation file does not follow its layout."),
    _e("payout_confirmation_too_large", 413, "Berkas konfirmasi bank terlalu besar.",
       "The bank confirmation file is too large."),
    _e("payout_confirmation_count_mismatch", 422, "Jumlah baris konfirmasi tidak sesuai baris"
       " kontrol.", "The confirmation's line count does not match its control line."),
    _e("payout_confirmation_total_mismatch", 422, "Total konfirmasi tidak sesuai baris kontrol.",
       "The confirmation's total does not match its control line."),
    _e("payout_confirmation_checksum_mismatch", 422, "Checksum konfirmasi tidak sesuai.",
       "The confirmation's checksum does not match its lines."),
    _e("payout_confirmation_line_duplicate", 422, "Satu baris dikonfirmasi dua kali.",
       "A line is answered twice."),
    _e("payout_confirmation_line_unknown", 422, "Konfirmasi menyebut baris yang tidak ada di"
       " batch.", "The confirmation names a line the batch does not have."),
    _e("payout_confirmation_line_mismatch", 422, "Jumlah pada baris konfirmasi tidak sesuai"
       " batch.", "A confirmation line's amount is not the batch's."),
    _e("payout_confirmation_incomplete", 422, "Konfirmasi tidak menjawab semua baris batch.",
       "The confirmation does not answer every line of the batch."),
    _e("payout_confirmation_batch_unknown", 404, "Konfirmasi untuk batch yang tidak dikenal.",
       "The confirmation is for an unknown batch."),
    _e("payout_confirmation_batch_mismatch", 422, "Konfirmasi ini untuk batch atau berkas lain.",
       "The confirmation answers another batch or file."),
)  # fmt: skip
_DECISIONS: tuple[RefusalEntry, ...] = (
    # issue 12 item 9: the treasury decides QRIS exceptions and Pi flags (decision 0026)
    _e(
        "exception_decision_invalid",
        422,
        "Keputusan harus menyebut petugas dan catatan.",
        "A decision names who decides and carries a note.",
    ),
    _e("exception_unknown", 404, "Pengecualian tidak ditemukan.", "No such exception or flag."),
    _e(
        "exception_already_decided",
        409,
        "Pengecualian ini sudah diputuskan lain; keputusan tidak diubah.",
        "This exception was decided otherwise; a decision is not changed.",
    ),
    _e(
        "exception_outcome_not_allowed",
        409,
        "Keputusan ini tidak berlaku untuk jenis pengecualian ini.",
        "This outcome does not apply to this kind of exception.",
    ),
    _e(
        "exception_amount_invalid",
        422,
        "Jumlah yang diputuskan di luar jumlah pengecualian.",
        "The amount decided is outside the exception's amount.",
    ),
    _e(
        "exception_merchant_required",
        422,
        "Sebutkan merchant yang menerima dana.",
        "Name the merchant the money goes to.",
    ),
    _e("exception_merchant_unknown", 404, "Merchant tidak dikenal.", "No such merchant."),
    _e(
        "exception_bank_account_required",
        422,
        "Sebutkan rekening bank pembayar untuk pengembalian dana.",
        "Give the payer's bank account the refund is paid to.",
    ),
    _e(
        "exception_pioneer_required",
        422,
        "Sebutkan Pioneer yang menerima pengembalian Pi.",
        "Name the Pioneer the Pi is refunded to.",
    ),
    _e(
        "exception_needs_governance",
        409,
        "Jumlah di atas batas satu petugas: perlu usulan yang ditandatangani pejabat.",
        "Above the one-officer limit: it needs a signed governance proposal.",
    ),
)
_BOOKS: tuple[RefusalEntry, ...] = (
    # issue 12 item 10: the treasury's books of a closed month
    _e(
        "books_month_not_closed",
        409,
        "Bulan ini belum ditutup; neraca dan laba rugi dibuat setelah bulan ditutup.",
        "The month is not closed; its books are made once it is.",
    ),
)
_CONVERSION: tuple[RefusalEntry, ...] = (
    # issue 12, item 3: Pi to MSC conversions (decision 0027)
    _e(
        "conversion_limit_exceeded",
        409,
        "Batas konversi harian atau bulanan untuk tingkat verifikasi Anda terlampaui.",
        "The daily or monthly conversion limit of your verification tier would be exceeded.",
    ),
    _e(
        "conversion_quote_expired",
        409,
        "Kuotasi sudah kedaluwarsa dan kuotasi baru tidak tersedia; Pi dikembalikan.",
        "The quote expired and no fresh quote could be made; the Pi is refunded.",
    ),
    _e(
        "conversion_requote_worse",
        409,
        "Kurs baru lebih buruk dari toleransi; Pi dikembalikan.",
        "The fresh quote is worse than the tolerance; the Pi is refunded.",
    ),
    _e(
        "conversion_not_found",
        404,
        "Konversi tidak ditemukan.",
        "No such conversion.",
    ),
    _e(
        "pioneer_tier_invalid",
        422,
        "Tingkat verifikasi adalah 0 atau 1.",
        "A verification tier is 0 or 1.",
    ),
)
_LOCKS: tuple[RefusalEntry, ...] = (
    # issue 13: lock-and-earn and MSC Points (decision 0029)
    _e(
        "lock_term_not_offered",
        422,
        "Jangka waktu kunci ini tidak ditawarkan (30, 60 atau 90 hari dengan tarif dari treasury).",
        "This lock term is not offered (30, 60 or 90 days, with a rate the treasury set).",
    ),
    _e(
        "lock_budget_exhausted",
        409,
        "Anggaran Poin MSC tidak cukup untuk imbalan maksimum kunci ini; Pi dikembalikan.",
        "The points budget cannot cover this lock's maximum reward; the Pi is refunded.",
    ),
    _e(
        "lock_not_found",
        404,
        "Kunci tidak ditemukan.",
        "No such lock.",
    ),
    _e(
        "lock_not_open",
        409,
        "Kunci ini tidak terbuka (belum dibayar, sudah jatuh tempo atau sudah dibuka).",
        "This lock is not open (not paid yet, matured or already unlocked).",
    ),
    _e(
        "lock_action_unsupported",
        422,
        "Tindakan jatuh tempo adalah a2u atau convert.",
        "A maturity action is a2u or convert.",
    ),
    _e(
        "points_bonus_not_set",
        409,
        "Treasury belum menetapkan bonus ini.",
        "The treasury has not set this bonus.",
    ),
    _e(
        "points_budget_exhausted",
        409,
        "Anggaran Poin MSC tidak cukup.",
        "The points budget cannot cover these points.",
    ),
    _e(
        "dividend_signature_invalid",
        422,
        "Tanda tangan batch dividen data tidak sah.",
        "The data-dividend batch signature does not verify.",
    ),
    _e(
        "dividend_key_unknown",
        422,
        "Kunci penanda tangan bukan kunci tim data yang disetujui.",
        "The signing key is not an approved data team key.",
    ),
    _e(
        "dividend_batch_replayed",
        409,
        "Batch dividen data ini sudah diterima.",
        "This data-dividend batch was already accepted.",
    ),
    _e(
        "dividend_batch_invalid",
        422,
        "Berkas batch dividen data tidak sesuai format.",
        "The data-dividend batch file is malformed.",
    ),
    _e(
        "points_value_not_set",
        409,
        "Treasury belum menetapkan nilai poin.",
        "The treasury has not set the point value.",
    ),
    _e(
        "points_merchant_required",
        422,
        "Kunci treasury harus menyebut merchant_id.",
        "A treasury key names the merchant_id.",
    ),
    _e(
        "points_referral_not_earned",
        409,
        "Bonus referral diberikan setelah Pioneer yang diajak menyelesaikan pembayaran pertama.",
        "A referral bonus is earned once the referred Pioneer completed a first payment.",
    ),
    _e(
        "points_referral_exists",
        409,
        "Pioneer ini sudah tercatat diajak oleh Pioneer lain.",
        "This Pioneer was already referred by another.",
    ),
    _e(
        "points_insufficient",
        409,
        "Poin MSC tidak cukup.",
        "Not enough MSC Points.",
    ),
)

_LEDGER_STATUS = {
    ResultCode.EXCEEDS_CREDITS: 409,
    ResultCode.EXCEEDS_DEBITS: 409,
    ResultCode.PERIOD_CLOSED: 409,
    ResultCode.EXISTS_WITH_DIFFERENT_FIELDS: 409,
    ResultCode.PENDING_EXPIRED: 409,
    ResultCode.PENDING_ALREADY_POSTED: 409,
    ResultCode.PENDING_ALREADY_VOIDED: 409,
}
_LEDGER = tuple(
    _e(
        str(code),
        _LEDGER_STATUS.get(code, 422),
        f"Buku besar menolak transfer ({code}).",
        f"The ledger refused the transfer ({code}).",
    )
    for code in ResultCode
    if code not in (ResultCode.OK, ResultCode.EXISTS)
)

_GOVERNANCE = (
    _e("governance_not_initialised", 409, "Pejabat perbendaharaan belum terdaftar.",
       "No officers are registered yet."),
    _e("governance_already_initialised", 409, "Pejabat perbendaharaan sudah terdaftar.",
       "The officers are registered already; change them by proposal."),
    _e("governance_proposal_malformed", 422, "Usulan tidak sah bentuknya.",
       "The proposal is malformed."),
    _e("governance_action_unknown", 422, "Tindakan usulan tidak dikenal.",
       "No governed action has this name."),
    _e("governance_action_invalid", 422, "Parameter tindakan usulan tidak sah.",
       "The action's params cannot apply."),
    _e("governance_wrong_deployment", 409, "Usulan ini untuk penerapan lain.",
       "The proposal is for another deployment."),
    _e("governance_proposal_unknown", 404, "Usulan tidak ditemukan.", "No proposal has this id."),
    _e("governance_proposal_expired", 409, "Usulan sudah kedaluwarsa.",
       "The proposal has expired."),
    _e("governance_proposal_replayed", 409, "Usulan ini sudah dijalankan.",
       "The proposal was executed already."),
    _e("governance_nonce_used", 409, "Nomor urut usulan sudah terpakai.",
       "The proposal's nonce is used."),
    _e("governance_nonce_ahead", 409, "Nomor urut usulan belum tiba gilirannya.",
       "The proposal's nonce is not the next."),
    _e("governance_signer_unknown", 403, "Penanda tangan bukan pejabat yang berwenang.",
       "The signer is not an officer in force."),
    _e("governance_signature_duplicate", 409, "Pejabat ini sudah menandatangani.",
       "This officer has signed already."),
    _e("governance_signature_invalid", 422, "Tanda tangan tidak sah untuk usulan ini.",
       "The signature is not over this proposal's bytes."),
    _e("governance_signatures_insufficient", 409, "Tanda tangan pejabat belum cukup.",
       "Fewer valid officer signatures than the threshold."),
    _e("governance_required", 409, "Tindakan ini memerlukan usulan bertanda tangan.",
       "This action needs a signed proposal (msc treasury propose)."),
)  # fmt: skip

REFUSALS: dict[str, RefusalEntry] = {
    e.code: e
    for e in (
        *_PI,
        *_AMOUNT,
        *_QRIS,
        *_EXPECTATION,
        *_EVM,
        *_AUDIT,
        *_PUBLIC_AUDIT,
        *_API,
        *_LEDGER,
        *_MERCHANT,
        *_AUTH,
        *_IDEMPOTENCY,
        *_CAMPAIGN,
        *_SHARES,
        *_RATES,
        *_RESERVES,
        *_FUND,
        *_CHECKOUT,
        *_STATEMENT,
        *_PAYOUT,
        *_DECISIONS,
        *_BOOKS,
        *_CONVERSION,
        *_GOVERNANCE,
        *_LOCKS,
    )
}
"""Every refusal code, by code. Ledger result codes are refusal codes too (a withdrawal the
ledger refuses carries the ledger's result code)."""


def entry(code: str) -> RefusalEntry | None:
    """The registry entry of ``code``, or None for a code nobody registered (a bug)."""
    return REFUSALS.get(code)


def http_status(refusal: Refusal) -> int:
    """The HTTP status of ``refusal``: its own ``status_override`` if it has one, else the
    registry's; 500 for a code nobody registered (a programmer error)."""
    if refusal.status_override is not None:
        return refusal.status_override
    found = REFUSALS.get(refusal.code)
    return found.status if found else 500


def message(code: str, language: Language) -> str:
    """The message of ``code`` in ``language`` (the code itself when unregistered)."""
    found = REFUSALS.get(code)
    return found.text(language) if found else code


def markdown_table() -> str:
    """``docs/refusals.md``: the registry as a Markdown table, sorted by code."""
    lines = [
        "# Refusal codes",
        "",
        "Generated from `settlement/refusals.py` by `python -m settlement.refusals`; do not edit.",
        "Every refusal the service raises carries one of these codes; the API answers it as",
        "`application/problem+json` with this status, and the message in the language of",
        "`Accept-Language` (Indonesian by default on Pioneer, merchant and gateway routes,",
        "English on operator routes; decision 0011).",
        "",
        "| code | HTTP | Bahasa Indonesia | English |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{e.code}` | {e.status} | {e.id} | {e.en} |" for _, e in sorted(REFUSALS.items())]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - `python -m settlement.refusals > docs/refusals.md`
    sys.stdout.write(markdown_table())
