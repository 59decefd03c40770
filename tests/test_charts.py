"""Tests for assessment/reporting/charts.py: what each chart draws, read back from the Axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402

from assessment.reporting import charts  # noqa: E402

MONTHS = [f"{y}-{m:02d}" for y in (2023, 2024) for m in range(1, 13)]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _series(groups=("Burglary", "Robbery", "Vehicle")):
    rng = np.random.default_rng(3)
    rows = [pd.DataFrame({"month": MONTHS, "crime": g, "count": rng.poisson(20 + 10 * i, len(MONTHS))})
            for i, g in enumerate(groups)]
    return pd.concat(rows, ignore_index=True).sample(frac=1, random_state=1)  # unsorted on purpose


def _month_x(month: str) -> float:
    return mdates.date2num(pd.Period(month, freq="M").to_timestamp())


def _solid_lines(ax):
    return [ln for ln in ax.lines if ln.get_linestyle() == "-"]


def test_monthly_one_line_per_group_in_month_order():
    data = _series()
    fig = charts.chart_monthly(data, group="crime", title="T")
    ax = fig.axes[0]
    lines = _solid_lines(ax)
    assert [ln.get_label() for ln in lines] == ["Burglary", "Robbery", "Vehicle"]
    for ln in lines:
        expected = data.loc[data["crime"] == ln.get_label()].sort_values("month")["count"].to_numpy()
        np.testing.assert_array_equal(np.asarray(ln.get_ydata(), dtype=float), expected)
        x = mdates.date2num(ln.get_xdata())
        np.testing.assert_allclose(x, [_month_x(m) for m in MONTHS])
    assert ax.get_ylim()[0] == 0
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Burglary", "Robbery", "Vehicle"]


def test_monthly_break_lines_and_labels():
    data = _series(("All",))
    breaks = pd.DataFrame({"month": ["2023-04", "2024-05"], "label": ["HOCR change", "ward review"]})
    ax = charts.chart_monthly(data, breaks=breaks).axes[0]
    vlines = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    assert len(vlines) == 2
    xs = sorted(mdates.date2num(ln.get_xdata()[0]) for ln in vlines)
    np.testing.assert_allclose(xs, [_month_x("2023-04"), _month_x("2024-05")])
    texts = [t.get_text() for t in ax.texts]
    assert " series break: HOCR change" in texts and " series break: ward review" in texts


def test_monthly_forecast_and_band():
    data = _series(("All",))
    data = data.assign(lo=data["count"] - 5, hi=data["count"] + 5)
    fc = pd.DataFrame({"month": ["2025-01", "2025-02", "2025-03"], "forecast": [20.0, 21.0, 22.0],
                       "lower": [10.0, 11.0, 12.0], "upper": [30.0, 31.0, 32.0]})
    ax = charts.chart_monthly(data, band=("lo", "hi"), forecast=fc).axes[0]
    fline = [ln for ln in ax.lines if ln.get_label() == "forecast"]
    assert len(fline) == 1 and fline[0].get_linestyle() == "--"
    np.testing.assert_array_equal(np.asarray(fline[0].get_ydata(), dtype=float), fc["forecast"].to_numpy())
    polys = {c.get_label(): c for c in ax.collections if isinstance(c, PolyCollection)}
    assert set(polys) == {"control limits", "95% prediction interval"}
    verts = polys["95% prediction interval"].get_paths()[0].vertices
    assert verts[:, 1].min() == pytest.approx(10.0) and verts[:, 1].max() == pytest.approx(32.0)
    band = polys["control limits"].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(data["lo"].min()) and band[:, 1].max() == pytest.approx(data["hi"].max())


def test_monthly_rolling_mean_line():
    data = _series(("All",))
    ax = charts.chart_monthly(data, rolling=True).axes[0]
    roll = [ln for ln in ax.lines if ln.get_label() == "12-month mean"]
    assert len(roll) == 1
    expected = data.sort_values("month")["count"].rolling(12).mean().to_numpy()
    np.testing.assert_allclose(np.asarray(roll[0].get_ydata(), dtype=float), expected, equal_nan=True)


def test_monthly_validates_columns():
    with pytest.raises(ValueError, match="`series`.*'count'"):
        charts.chart_monthly(pd.DataFrame({"month": MONTHS}))


def test_bars_sorted_with_error_bars_and_highlight():
    table = pd.DataFrame({"ward": ["A", "B", "C", "D"], "rate": [5.0, 2.0, 9.0, 1.0]})
    table["lo"], table["hi"] = table["rate"] - 0.5, table["rate"] + 1.0
    ax = charts.chart_bars(table, label="ward", value="rate", lower="lo", upper="hi", highlight=["C"],
                           reference=4.0, reference_label="England").axes[0]
    bars = ax.patches
    widths = [b.get_width() for b in bars]
    assert widths == sorted(table["rate"])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["D", "B", "A", "C"]
    highlighted = [matplotlib.colors.to_hex(b.get_facecolor()) for b in bars]
    assert highlighted == [charts.SERIES[0]] * 3 + ["#c8553d"]
    (err,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    segs = err.lines[2][0].get_segments()
    spans = sorted((round(s[0][0], 9), round(s[1][0], 9)) for s in segs)
    assert spans == sorted(zip(table["lo"], table["hi"]))
    ref = [ln for ln in ax.lines if ln.get_label() == "England"]
    assert len(ref) == 1 and ref[0].get_xdata()[0] == 4.0


def test_bars_without_intervals_has_no_error_bars():
    ax = charts.chart_bars(pd.DataFrame({"l": ["x", "y"], "v": [2, 1]}), label="l", value="v").axes[0]
    assert not any(isinstance(c, ErrorbarContainer) for c in ax.containers)


def test_heatmap_shows_c_for_missing_cells():
    m = pd.DataFrame([[1.0, np.nan, 3.0], [4.0, 5.0, np.nan]], index=["Mon", "Tue"], columns=["0", "1", "2"])
    ax = charts.chart_heatmap(m, title="Hours").axes[0]
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert cells == {(0, 0): "1", (0, 1): "[c]", (0, 2): "3", (1, 0): "4", (1, 1): "5", (1, 2): "[c]"}
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Mon", "Tue"]


def test_heatmap_rejects_non_frame():
    with pytest.raises(TypeError, match="`matrix` must be a DataFrame, got ndarray"):
        charts.chart_heatmap(np.zeros((2, 2)))


def test_heatmap_of_a_published_table_draws_suppressed_cells_as_suppressed():
    """Issue 9: a '[c]' cell is hatched grey and named in the legend, never coloured at a value."""
    m = pd.DataFrame([[40, "[c]", 30], [25, 35, "[c]"]], index=["Mon", "Tue"], columns=["0", "1", "2"], dtype=object)
    ax = charts.chart_heatmap(m, title="Hours").axes[0]
    image = ax.images[0].get_array()
    assert bool(image.mask[0, 1]) and bool(image.mask[1, 2])  # not coloured
    assert not image.mask[0, 0] and image[0, 0] == 40
    hatched = [(p.get_x() + 0.5, p.get_y() + 0.5) for p in ax.patches if p.get_hatch()]
    assert sorted(hatched) == [(1.0, 0.0), (2.0, 1.0)]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(label.startswith("suppressed") for label in labels)
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert cells[(0, 1)] == "[c]" and cells[(1, 2)] == "[c]"
