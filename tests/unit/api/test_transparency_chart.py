"""The transparency page's inline SVG chart: points scaled inside the frame, oldest left, the
full-coverage line drawn, labels formatted; no points, no polyline."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from api.transparency import chart_height_px, chart_width_px, svg_chart
from settlement.audit.page_figures import Point

DAY_US = 86_400 * 10**6


@given(st.lists(st.integers(0, 10**12), min_size=1, max_size=50))
def test_every_point_is_inside_the_frame_and_in_time_order(values: list[int]) -> None:
    points = [Point(i * DAY_US, v) for i, v in enumerate(values)]
    chart = svg_chart("t", points, str, 10_000)
    coordinates = [tuple(map(float, pair.split(","))) for pair in chart["points"].split()]
    assert len(coordinates) == len(values)
    assert all(0 <= x <= chart_width_px and 0 <= y <= chart_height_px for x, y in coordinates)
    assert [x for x, _ in coordinates] == sorted(x for x, _ in coordinates)
    highest = max(range(len(values)), key=lambda i: values[i])
    assert coordinates[highest][1] == min(y for _, y in coordinates), "higher is drawn higher"
    assert 0 <= chart["line_y"] <= chart_height_px


def test_labels_and_an_empty_series() -> None:
    chart = svg_chart("t", [Point(0, 12_500), Point(3 * DAY_US, 9_000)], lambda v: f"{v}!", None)
    assert (chart["top"], chart["bottom"], chart["line_y"]) == ("12500!", "0!", None)
    assert chart["span"] == "2 · 3 d"
    assert svg_chart("t", [], str, None)["points"] == ""
