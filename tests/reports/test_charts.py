"""Chart geometry (reports.charts) and its SVG (reports.svg): pure numbers, no database."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from mailwarden.reports import charts, svg
from mailwarden.reports.figures import Figure, Kind, Series, number

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("value", "top", "step"),
    [(0, 1, 1), (1, 1, 1), (4, 4, 1), (7, 8, 2), (10, 10, 2), (11, 15, 5), (93, 100, 20)],
)
def test_axis_tops_are_round_and_hold_the_largest_value(value, top, step):
    assert charts.nice_ceiling(value) == (top, step)


def test_nice_step_never_gives_zero():
    assert charts.nice_step(0) == 1.0
    assert charts.nice_step(float("nan")) == 1.0
    assert charts.nice_step(2.5, 5) == 0.5


def test_stacked_columns_stack_from_the_axis_up():
    frame = charts.Frame()
    plot = charts.stacked_columns(["a", "b"], [("x", [2, 0]), ("y", [2, 4])], frame)
    # The top of the axis is 4: each column fills the plot's height exactly.
    a_x, a_y = [r for r in plot.rects if r.title.startswith("a")]
    assert a_x.y + a_x.height == pytest.approx(frame.bottom)
    assert a_y.y + a_y.height == pytest.approx(a_x.y)
    assert a_y.y == pytest.approx(frame.top)
    # A zero draws nothing; the other column is one rectangle.
    [b] = [r for r in plot.rects if r.title.startswith("b")]
    assert (b.series, b.title) == (1, "b, y: 4")
    assert [t.label for t in plot.y_ticks] == ["0", "1", "2", "3", "4"]
    assert [t.label for t in plot.x_ticks] == ["a", "b"]
    assert plot.x_ticks[0].at < plot.x_ticks[1].at


def test_many_categories_label_only_some_of_them():
    labels = [str(n) for n in range(60)]
    plot = charts.stacked_columns(labels, [("x", [1] * 60)])
    assert len(plot.x_ticks) <= charts.MAX_X_LABELS
    assert plot.x_ticks[0].label == "0"


def test_lines_break_at_missing_values():
    plot = charts.lines(["a", "b", "c", "d"], [("m", [1, None, 3, 2])])
    assert len(plot.lines) == 2  # a gap, not a made-up zero
    assert len(plot.dots) == 3
    assert plot.dots[0][3] == "a, m: 1"


def test_rows_run_along_x_with_their_names():
    plot = charts.stacked_rows(["door one", "door two"], [("held", [1, 3]), ("forced", [1, 0])])
    assert plot.horizontal
    assert [t.label for t in plot.y_ticks] == ["door one", "door two"]
    longest = next(r for r in plot.rects if r.title.startswith("door two"))
    assert longest.x == plot.frame.left
    assert longest.x + longest.width == pytest.approx(plot.frame.right)
    assert plot.frame.height > charts.TOP + charts.BOTTOM


def test_an_empty_chart_has_an_axis_and_nothing_on_it():
    plot = charts.stacked_columns([], [])
    assert plot.empty
    assert [t.label for t in plot.y_ticks] == ["0", "1"]


def _figure(kind: Kind = Kind.COLUMNS, name: str = "UPS") -> Figure:
    return Figure(
        "test",
        "Items <by> carrier",
        "What & why",
        kind,
        "Day",
        "Items",
        ("2 Mar", "3 Mar"),
        (Series("ups", name, (1.0, 2.0)), Series("none", "No carrier", (0.0, 1.5))),
        ("5 items",),
    )


@pytest.mark.parametrize("kind", list(Kind))
def test_svg_is_well_formed_titled_described_and_has_a_legend(kind):
    text = svg.render(_figure(kind, name='<script>"x"</script>'))
    root = ET.fromstring(text)  # escaped text keeps it well formed
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Items <by> carrier"
    assert root.find(f"{SVG}desc").text == "What & why"
    legend = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "rc-legend"]
    assert legend == ['<script>"x"</script>', "No carrier"]
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "rc-label"]
    assert set(labels) == {"Day", "Items"}
    assert "style=" not in text  # colours come from classes: the console's CSP holds
    assert "<script" not in text


def test_series_take_classes_for_their_colours():
    root = ET.fromstring(svg.render(_figure()))
    classes = {r.get("class") for r in root.iter(f"{SVG}rect")}
    assert "rc-s0 rc-ups" in classes
    assert "rc-swatch rc-s1 rc-none" in classes


def test_figure_table_and_numbers():
    figure = _figure()
    assert figure.header == ["Day", "UPS", "No carrier"]
    assert figure.rows == [["2 Mar", "1", "0"], ["3 Mar", "2", "1.5"]]
    assert figure.totals == ["3", "1.5"]
    assert number(None) == ""
    assert not figure.empty
