"""WIB business time: days and months in Asia/Jakarta, one definition for the whole service."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escrow.calendar import (
    WIB,
    business_day,
    day_range,
    from_us,
    iso_of_us,
    iso_or_none,
    month_of,
    month_range_us,
    to_us,
)
from escrow.periods import period, period_of
from settlement.audit import bundle

TIMESTAMPS_US = st.integers(min_value=0, max_value=4_102_444_800 * 1_000_000)  # up to 2100


def test_a_business_day_starts_at_midnight_in_jakarta() -> None:
    start, end = day_range(date(2025, 3, 1))
    assert start == datetime(2025, 2, 28, 17, tzinfo=UTC)
    assert end - start == timedelta(days=1)
    assert business_day(datetime(2025, 2, 28, 16, 59, 59, tzinfo=UTC)) == date(2025, 2, 28)
    assert business_day(datetime(2025, 2, 28, 17, tzinfo=UTC)) == date(2025, 3, 1)


def test_a_naive_moment_has_no_business_day() -> None:
    with pytest.raises(ValueError, match="timezone"):
        business_day(datetime(2025, 3, 1))  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone"):
        to_us(datetime(2025, 3, 1))  # noqa: DTZ001 - the point of the test


@given(TIMESTAMPS_US)
def test_every_timestamp_lies_in_its_day_and_its_month(ts: int) -> None:
    day = business_day(from_us(ts))
    start, end = day_range(day)
    assert start <= from_us(ts) < end
    start_us, following_us = month_range_us(day.year, day.month)
    assert start_us <= ts < following_us
    assert month_of(ts) == f"{day.year:04d}-{day.month:02d}" == period_of(ts)


@pytest.mark.parametrize("year", range(2020, 2041))
def test_the_verifiers_fixed_offset_months_equal_the_calendars(year: int) -> None:
    """The auditor's verifier may not import escrow; its UTC+7 months must be the calendar's."""
    for month in range(1, 13):
        name = f"{year:04d}-{month:02d}"
        start_us, following_us = month_range_us(year, month)
        assert bundle.period_range_us(name) == (start_us, following_us - 1)
        assert (period(name).starts_at_us, period(name).ends_at_us) == (start_us, following_us - 1)
        assert (
            datetime(year, month, 1, tzinfo=bundle.WIB).utcoffset()
            == datetime(year, month, 1, tzinfo=WIB).utcoffset()
        )


@given(TIMESTAMPS_US)
def test_to_us_is_the_exact_inverse_of_from_us(ts: int) -> None:
    assert to_us(from_us(ts)) == ts


@given(st.integers(min_value=0, max_value=4_102_444_800_000_000))
def test_an_optional_time_is_its_iso_text_or_none(timestamp_us: int) -> None:
    assert iso_of_us(timestamp_us) == from_us(timestamp_us).isoformat()
    assert iso_or_none(from_us(timestamp_us)) == iso_of_us(timestamp_us)
    assert iso_of_us(None) is None
    assert iso_or_none(None) is None
