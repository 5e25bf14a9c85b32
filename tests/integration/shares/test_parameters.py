"""Treasury parameters on PostgreSQL: only declared ones, values checked, who and when kept."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text

from escrow.calendar import to_us
from escrow.clock import FixedClock
from settlement import parameters
from settlement.parameters import ParameterInvalid, ParameterUnknown, point_value_idr_units
from settlement.unit_of_work import bind

pytestmark = pytest.mark.integration
NOW_US = 1_780_000_000_000_000


def test_the_point_value_is_unset_until_the_treasury_sets_it(db_conn: Connection) -> None:
    db_conn.execute(text("DELETE FROM treasury_parameters"))
    assert parameters.get(db_conn, "point_value_idr") is None
    assert point_value_idr_units(db_conn) is None
    parameters.set_(bind(db_conn, FixedClock(NOW_US)), "point_value_idr", "500", by="ana")
    assert parameters.get(db_conn, "point_value_idr") == "500.00"
    assert point_value_idr_units(db_conn) == 50_000
    stored = parameters.record(db_conn, "point_value_idr")
    assert stored is not None
    assert (stored["updated_by"], to_us(stored["updated_at"])) == ("ana", NOW_US)


def test_setting_again_replaces_the_value_and_who(db_conn: Connection) -> None:
    uow = bind(db_conn, FixedClock(NOW_US))
    parameters.set_(uow, "point_value_idr", "500.00", by="ana")
    parameters.set_(uow, "point_value_idr", "250.50", by="budi")
    assert point_value_idr_units(db_conn) == 25_050
    assert (parameters.record(db_conn, "point_value_idr") or {})["updated_by"] == "budi"


@pytest.mark.parametrize("value", ["0", "1.001", "-5", "abc", 500, 5.0, None])
def test_an_invalid_value_is_refused_and_the_old_one_kept(
    db_conn: Connection, value: object
) -> None:
    uow = bind(db_conn, FixedClock(NOW_US))
    parameters.set_(uow, "point_value_idr", "500.00", by="ana")
    with pytest.raises(ParameterInvalid) as refused:
        parameters.set_(uow, "point_value_idr", value, by="budi")
    assert refused.value.code == "parameter_invalid"
    stored = parameters.record(db_conn, "point_value_idr")
    assert stored is not None
    assert (stored["value"], stored["updated_by"]) == ("500.00", "ana")


def test_an_undeclared_parameter_is_refused(db_conn: Connection) -> None:
    count = "SELECT count(*) FROM treasury_parameters"
    before = db_conn.execute(text(count)).scalar_one()
    with pytest.raises(ParameterUnknown) as refused:
        parameters.set_(bind(db_conn, FixedClock(NOW_US)), "point_valu_idr", "500", by="ana")
    assert refused.value.code == "parameter_unknown"
    with pytest.raises(ParameterUnknown):
        parameters.get(db_conn, "point_valu_idr")
    assert db_conn.execute(text(count)).scalar_one() == before
