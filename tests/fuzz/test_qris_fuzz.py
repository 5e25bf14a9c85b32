"""Fuzz target: the QRIS decoder raises nothing but its own error on any input."""

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from chain.qris.crc import crc16_ccitt_false, format_crc
from chain.qris.payload import QrisError, as_dict, decode

VECTORS = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "qris" / "vectors.json").read_text(encoding="utf-8")
)["vectors"]
SEEDS = [v["payload"] for v in VECTORS]


def _decode_or_own_error(text: str) -> None:
    try:
        payload = decode(text)
    except QrisError:
        return
    as_dict(payload)


@given(st.text(max_size=600))
def test_arbitrary_text(text: str) -> None:
    _decode_or_own_error(text)


@given(st.text(max_size=400).map(lambda body: body + "6304"))
def test_arbitrary_body_with_a_valid_crc(head: str) -> None:
    # Fixing the CRC lets the fuzzer past the checksum into the TLV and template parsers.
    _decode_or_own_error(head + format_crc(crc16_ccitt_false(head)))


@given(
    st.sampled_from(SEEDS),
    st.lists(st.tuples(st.integers(0, 300), st.text(max_size=3)), min_size=1, max_size=4),
)
def test_mutated_real_payloads_with_recomputed_crc(seed: str, edits: list[tuple[int, str]]) -> None:
    body = seed[:-4]
    for offset, chunk in edits:
        at = offset % max(len(body) - 4, 1)
        body = body[:at] + chunk + body[at + len(chunk) :]
    _decode_or_own_error(body + format_crc(crc16_ccitt_false(body)))
