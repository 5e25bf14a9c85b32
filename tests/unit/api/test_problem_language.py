"""The refusal's message is chosen by Accept-Language; the route decides the default."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.problems import choose_language, default_language
from settlement.refusals import Language


@pytest.mark.parametrize(
    ("header", "default", "chosen"),
    [
        (None, Language.ID, Language.ID),
        ("", Language.EN, Language.EN),
        ("en-US,en;q=0.9", Language.ID, Language.EN),
        ("id-ID", Language.EN, Language.ID),
        ("fr, en;q=0.3, id;q=0.8", Language.EN, Language.ID),
        ("fr", Language.ID, Language.ID),
        ("*", Language.EN, Language.EN),
        ("en;q=0, id;q=0.1", Language.EN, Language.ID),
        ("en;q=banana", Language.ID, Language.ID),
    ],
)
def test_choose_language(header: str | None, default: Language, chosen: Language) -> None:
    assert choose_language(header, default) is chosen


def test_operator_routes_default_to_english_the_others_to_indonesian() -> None:
    assert default_language("/v1/qris/exceptions") is Language.EN
    assert default_language("/v1/pi/payments/x/approve") is Language.ID
    assert default_language("/v1/qris/notifications/midtrans") is Language.ID


@given(st.text(max_size=300), st.sampled_from(Language))
def test_any_header_gives_a_spoken_language(header: str, default: Language) -> None:
    assert choose_language(header, default) in (Language.ID, Language.EN)
