"""MSC amounts typed by operators: exact sen or refused, never rounded."""

import pytest

from escrow.money import AmountRefused
from settlement.evm.amounts import parse_msc


def test_exact_sen() -> None:
    assert parse_msc("1000000.50") == 100_000_050
    assert parse_msc("0") == 0


@pytest.mark.parametrize(
    ("text", "code"),
    [("1.0000000000000000000000000000001", "amount_too_precise"),
     ("1e999999999", "amount_out_of_range"), ("-1", "amount_invalid"), ("NaN", "amount_invalid")],
)  # fmt: skip
def test_refused_with_the_amount_code(text: str, code: str) -> None:
    with pytest.raises(AmountRefused) as caught:
        parse_msc(text)
    assert caught.value.code == code
