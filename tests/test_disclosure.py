"""Tests for assessment.disclosure.

The check that secondary suppression cannot be undone from the published totals
uses ``_independent_intervals`` below: a linear programme built here, from the
published display table alone, with scipy directly. It shares no code with the
module's heuristic or its own audit.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from shapely.geometry import box

from assessment.disclosure import (
    CONFIDENTIAL_MARKER,
    RESTRICTED_DIRNAME,
    add_margins,
    audit_linked,
    audit_recoverability,
    check_published,
    check_published_text,
    find_small_counts,
    is_protected,
    is_restricted,
    restricted_dir,
    suppress_areas,
    suppress_primary,
    suppress_rates,
    suppress_secondary,
    suppress_table,
    suppression_footnote,
)
from assessment.errors import DisclosureError

T = 5  # the demo partnership's threshold


# ----------------------------------------------------------------------------- helpers

def _independent_intervals(display: pd.DataFrame, count_cols: list[str], total="Total", marker="[c]"):
    """Attacker's LP from the published display table only: {(row, col): (min, max)} per suppressed cell.

    Interior cells are the non-Total rows x non-Total count columns. Every row
    (Total row included) must add up to its Total column entry, and every
    column (Total column included) to its Total row entry, when present.
    """
    rows = list(display.index)
    body_rows = [r for r in rows if r != total]
    body_cols = [c for c in count_cols if c != total]
    has_total_col = total in display.columns
    has_total_row = total in rows
    all_rows = body_rows + ([total] if has_total_row else [])
    all_cols = body_cols + ([total] if has_total_col else [])
    unknown = [(r, c) for r in all_rows for c in all_cols if display.at[r, c] == marker]
    pos = {cell: k for k, cell in enumerate(unknown)}
    eqs, rhs = [], []

    def add(parts, whole):
        coef = np.zeros(len(unknown))
        b = 0.0
        for cell, sign in [(p, 1.0) for p in parts] + [(whole, -1.0)]:
            if cell in pos:
                coef[pos[cell]] += sign
            else:
                b -= sign * float(display.at[cell])
        if np.any(coef):
            eqs.append(coef)
            rhs.append(b)
        else:
            assert abs(b) < 1e-9, f"published table does not add up at {whole}"

    if has_total_col:
        for r in all_rows:
            add([(r, c) for c in body_cols], (r, total))
    if has_total_row:
        for c in all_cols:
            add([(r, c) for r in body_rows], (total, c))
    out = {}
    A = np.array(eqs) if eqs else None
    for cell, k in pos.items():
        c = np.zeros(len(unknown))
        c[k] = 1.0
        if A is None:
            out[cell] = (0.0, np.inf)
            continue
        lo = linprog(c, A_eq=A, b_eq=rhs, bounds=(0, None), method="highs")
        hi = linprog(-c, A_eq=A, b_eq=rhs, bounds=(0, None), method="highs")
        assert lo.status == 0
        out[cell] = (lo.fun, np.inf if hi.status == 3 else -hi.fun)
    return out


def _recoverable(intervals) -> list:
    return [cell for cell, (lo, hi) in intervals.items() if np.isfinite(hi) and hi - lo < 1e-7]


def _small_published(display: pd.DataFrame, cols, threshold=T) -> list:
    vals = display[cols]
    nums = vals.where(vals != CONFIDENTIAL_MARKER).astype(float)
    return list(zip(*np.nonzero(((nums >= 1) & (nums <= threshold - 1)).to_numpy())))


# ----------------------------------------------------------------------------- primary

def test_primary_suppresses_exactly_counts_from_1_to_threshold_minus_1():
    table = pd.DataFrame({"a": [0, 1, 2, 3, 4, 5, 6], "b": [4, 5, 0, 1, 9, 100, 2]})
    mask = suppress_primary(table, ["a", "b"], T, "sensitive")
    expected = (table >= 1) & (table <= T - 1)
    pd.testing.assert_frame_equal(mask, expected)
    assert not mask.loc[table["a"] == 0, "a"].any()  # zeros are shown by default


def test_primary_can_suppress_zeros():
    table = pd.DataFrame({"a": [0, 3, 5]})
    mask = suppress_primary(table, ["a"], T, "personal", suppress_zeros=True)
    assert mask["a"].tolist() == [True, True, False]


@pytest.mark.parametrize("sensitivity", ["official", "sensitive", "personal"])
def test_every_non_public_sensitivity_is_protected(sensitivity):
    table = pd.DataFrame({"a": [3, 30]})
    assert suppress_primary(table, ["a"], T, sensitivity)["a"].tolist() == [True, False]
    assert is_protected(sensitivity)


def test_public_dataset_passes_through_unchanged():
    df = pd.DataFrame({"x": [1, 2, 30], "y": [4, 0, 12]}, index=["A", "B", "C"])
    res = suppress_table(df, ["x", "y"], T, "public")
    expected = add_margins(df, ["x", "y"])
    pd.testing.assert_frame_equal(res.values.astype("int64"), expected)
    assert not res.mask.to_numpy().any()
    assert res.footnote == ""
    assert not is_protected("public")


def test_footnote_text():
    assert suppression_footnote(5) == (
        "Counts from 1 to 4 are suppressed ([c]) to protect individuals, with further cells suppressed "
        "so they cannot be worked out from totals.")
    assert suppression_footnote(2, secondary=False) == "Counts of 1 are suppressed ([c]) to protect individuals."
    assert suppression_footnote(5, suppress_zeros=True).startswith("Counts from 0 to 4")


# ----------------------------------------------------------------------------- secondary, by hand

def test_row_with_one_small_cell_gets_a_second_suppression_in_that_row():
    df = pd.DataFrame({"x": [3, 12], "y": [10, 15], "z": [20, 9]}, index=["A", "B"])
    res = suppress_table(df, ["x", "y", "z"], T, "sensitive", margins="row_totals")
    assert res.mask.loc["A"].sum() >= 2
    assert res.kind.at["A", "x"] == "primary"
    assert res.kind.at["A", "y"] == "secondary"  # the smallest other non-zero cell
    assert list(res.display.index) == ["A", "B"] and list(res.display.columns) == ["x", "y", "z", "Total"]
    assert not res.mask.loc["B"].any()
    assert _recoverable(_independent_intervals(res.display, ["x", "y", "z", "Total"])) == []


def test_column_with_one_small_cell_gets_a_second_suppression_in_that_column():
    df = pd.DataFrame({"x": [3, 12, 25], "y": [10, 15, 30]}, index=["A", "B", "C"])
    res = suppress_table(df, ["x", "y"], T, "sensitive", margins="column_totals")
    assert res.mask["x"].sum() >= 2
    assert res.kind.at["B", "x"] == "secondary"
    assert not res.mask["y"].any()
    assert _recoverable(_independent_intervals(res.display, ["x", "y"])) == []


def test_one_way_table_with_total():
    df = pd.DataFrame({"count": [2, 40, 17, 9]}, index=list("ABCD"))
    df.index.name = "ward"
    res = suppress_table(df, ["count"], T, "sensitive", margins="column_totals")
    assert res.display.index.name == "ward" and res.display.index[-1] == "Total"
    assert res.kind["count"].tolist() == ["primary", "", "", "secondary", ""]
    assert res.display.at["Total", "count"] == "68"
    assert _recoverable(_independent_intervals(res.display, ["count"])) == []


def test_small_total_is_suppressed_too():
    df = pd.DataFrame({"x": [0, 20], "y": [3, 25]}, index=["A", "B"])
    res = suppress_table(df, ["x", "y"], T, "sensitive")
    assert res.mask.at["A", "Total"]  # row total 3 is itself a small count
    assert _small_published(res.display, ["x", "y", "Total"]) == []
    assert _recoverable(_independent_intervals(res.display, ["x", "y", "Total"])) == []


def test_without_margins_only_the_threshold_rule_applies():
    df = pd.DataFrame({"x": [3, 12], "y": [10, 15]})
    res = suppress_table(df, ["x", "y"], T, "sensitive", margins="none")
    assert res.mask.to_numpy().sum() == 1
    assert res.footnote == suppression_footnote(T, secondary=False)


# ----------------------------------------------------------------------------- LP audit

def _hand_table():
    df = pd.DataFrame({"x": [3, 10, 20], "y": [12, 15, 9], "z": [8, 7, 30]}, index=["A", "B", "C"])
    return df, add_margins(df, ["x", "y", "z"])


def test_audit_finds_a_lone_suppression_recoverable():
    _, table = _hand_table()
    published = table.astype(object)
    published.at["A", "x"] = CONFIDENTIAL_MARKER
    audit = audit_recoverability(published, threshold=T)
    assert audit[["row", "column"]].values.tolist() == [["A", "x"]]
    assert audit["recoverable"].tolist() == [True]
    assert audit["lower"].iloc[0] == audit["upper"].iloc[0] == 3
    # the independent LP agrees
    assert _recoverable(_independent_intervals(published, ["x", "y", "z", "Total"])) == [("A", "x")]


def test_audit_passes_the_secondary_suppressed_table_and_agrees_with_independent_lp():
    df, _ = _hand_table()
    res = suppress_table(df, ["x", "y", "z"], T, "sensitive")
    assert res.mask.to_numpy().sum() >= 4
    audit = audit_recoverability(res.display, threshold=T)
    assert len(audit) == res.mask.to_numpy().sum()
    assert not audit["recoverable"].any()
    assert not audit["reveals_small"].any()
    independent = _independent_intervals(res.display, ["x", "y", "z", "Total"])
    for row, col, lo, hi in zip(audit["row"], audit["column"], audit["lower"], audit["upper"]):
        assert independent[(row, col)] == pytest.approx((lo, hi))
    # the true values lie inside the intervals
    for row, col, lo, hi in zip(audit["row"], audit["column"], audit["lower"], audit["upper"]):
        assert lo <= df.at[row, col] <= hi
    # the numeric version audits the same
    pd.testing.assert_frame_equal(audit, audit_recoverability(res.values, threshold=T))


def _bridge_table():
    """Two suppressed rectangles joined by one cell: every row and column holds >= 2 suppressions,
    yet the joining cell is determined (a bridge in the row-column graph)."""
    interior = pd.DataFrame(
        {"c1": [10, 11, 30, 30], "c2": [12, 13, 30, 30], "c3": [30, 14, 15, 16], "c4": [30, 30, 17, 18]},
        index=["r1", "r2", "r3", "r4"])
    pattern = pd.DataFrame(False, index=interior.index, columns=interior.columns)
    for r, c in [("r1", "c1"), ("r1", "c2"), ("r2", "c1"), ("r2", "c2"), ("r2", "c3"),
                 ("r3", "c3"), ("r3", "c4"), ("r4", "c3"), ("r4", "c4")]:
        pattern.at[r, c] = True
    return interior, pattern


def test_audit_catches_a_pattern_the_two_per_line_rule_misses():
    interior, pattern = _bridge_table()
    table = add_margins(interior, list(interior.columns))
    published = table.astype(object)
    for r, c in zip(*np.nonzero(pattern.to_numpy())):
        published.iat[r, c] = CONFIDENTIAL_MARKER
    assert (pattern.sum(axis=1)[pattern.any(axis=1)] >= 2).all()
    assert (pattern.sum(axis=0)[pattern.any(axis=0)] >= 2).all()
    cols = list(table.columns)
    assert _recoverable(_independent_intervals(published, cols)) == [("r2", "c3")]
    audit = audit_recoverability(published)
    assert audit.loc[audit["recoverable"], ["row", "column"]].values.tolist() == [["r2", "c3"]]
    # and suppress_secondary repairs it
    mask = pd.DataFrame(False, index=table.index, columns=cols)
    mask.loc[interior.index, interior.columns] = pattern
    final = suppress_secondary(table, mask, T)
    assert (final | ~mask).all().all()  # a superset of the given pattern
    repaired = table.astype(object).mask(final, CONFIDENTIAL_MARKER)
    assert _recoverable(_independent_intervals(repaired, cols)) == []


def test_audit_reports_intervals_that_reveal_a_small_count():
    published = pd.DataFrame({"x": ["[c]", "[c]", 3], "y": ["[c]", "[c]", 4], "z": [10, 12, 22],
                              "Total": [13, 16, 29]}, index=["A", "B", "Total"])
    audit = audit_recoverability(published, threshold=T).set_index(["row", "column"])
    assert not audit["recoverable"].any()
    assert audit.at[("B", "y"), "lower"] == 1 and audit.at[("B", "y"), "upper"] == 4
    assert bool(audit.at[("B", "y"), "reveals_small"])
    # A.x is known to lie in 0..3 (the x column's hidden cells sum to 3): small, so revealed too
    assert audit.at[("A", "x"), "upper"] == 3 and bool(audit.at[("A", "x"), "reveals_small"])


def test_hidden_cells_known_to_be_below_the_threshold_are_protected_further():
    """[1, 2, 20, 30] with a total: hiding 1 and 2 still tells the reader they sum to 3."""
    df = pd.DataFrame({"count": [1, 2, 20, 30]}, index=["a", "b", "c", "d"])
    res = suppress_table(df, ["count"], T, "sensitive", margins="column_totals")
    intervals = _independent_intervals(res.display, ["count"])
    assert intervals, "something must be suppressed"
    assert not any(hi <= T - 1 for lo, hi in intervals.values()), intervals
    assert res.mask.loc[["a", "b"], "count"].all()


def test_audit_rejects_a_table_that_does_not_add_up():
    published = pd.DataFrame({"x": [5, 7], "Total": [6, 7]}, index=["A", "B"])
    with pytest.raises(ValueError, match="does not add up"):
        audit_recoverability(published)


# ----------------------------------------------------------------------------- property: random tables

@st.composite
def _tables(draw):
    n_rows = draw(st.integers(2, 6))
    n_cols = draw(st.integers(2, 6))
    cells = draw(st.lists(st.integers(0, 30), min_size=n_rows * n_cols, max_size=n_rows * n_cols))
    cols = [f"c{j}" for j in range(n_cols)]
    return pd.DataFrame(np.array(cells).reshape(n_rows, n_cols), columns=cols,
                        index=[f"r{i}" for i in range(n_rows)])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=_tables(), margins=st.sampled_from(["both", "row_totals", "column_totals"]),
       protection=st.sampled_from(["interval", "exact"]), suppress_zeros=st.booleans())
def test_secondary_suppression_cannot_be_undone_from_totals(df, margins, protection, suppress_zeros):
    cols = list(df.columns)
    res = suppress_table(df, cols, T, "sensitive", margins=margins, protection=protection,
                         suppress_zeros=suppress_zeros)
    out_cols = [c for c in res.display.columns]
    low = 0 if suppress_zeros else 1
    # 1. no published count from 1 (or 0) to threshold - 1 (margins included)
    assert _small_published(res.display, out_cols) == []
    check_published(res.display, out_cols, T, suppress_zeros=suppress_zeros)
    # 2. the independent attacker's LP recovers no suppressed cell (nor confines one to 1..T-1)
    intervals = _independent_intervals(res.display, out_cols)
    assert len(intervals) == res.mask.to_numpy().sum()
    assert _recoverable(intervals) == []
    if protection == "interval":
        assert not any(hi <= T - 1 for lo, hi in intervals.values())
        # no hidden cell can be narrowed to a range narrower than the threshold
        assert all(hi - lo >= T - 1e-7 for lo, hi in intervals.values()), intervals
    # 2b. a row or column whose only non-zero part is primary-suppressed shows none of its zeros
    truth_m = add_margins(df, cols, margins)
    body = truth_m.loc[df.index, cols].to_numpy()
    hidden = res.mask.loc[df.index, cols].to_numpy()
    primary_body = (body >= 1) & (body <= T - 1)
    for grid, hid, prim in ((body, hidden, primary_body), (body.T, hidden.T, primary_body.T)):
        if (grid is body and "Total" not in out_cols) or (grid is not body and "Total" not in truth_m.index):
            continue  # that direction publishes no totals, so it is no relation
        lone = ((grid > 0).sum(axis=1) == 1) & ((grid > 0) & prim).any(axis=1)
        assert not ((grid[lone] == 0) & ~hid[lone]).any(), "a zero beside a lone suppressed count is shown"
    # 3. every primary cell is suppressed, and published cells are the true values
    truth = add_margins(df, cols, margins)
    small = (truth[out_cols] >= low) & (truth[out_cols] <= T - 1)
    assert res.mask[small.to_numpy()].isna().sum().sum() == 0
    assert (res.mask | ~small).all().all()
    shown = ~res.mask.to_numpy()
    assert (res.values[out_cols].to_numpy()[shown].astype(int) == truth[out_cols].to_numpy()[shown]).all()
    # 4. margins are the true totals of the unsuppressed table
    if "Total" in out_cols:
        assert (truth.loc[df.index, "Total"] == df.sum(axis=1)).all()
    if "Total" in truth.index:
        assert (truth.loc["Total", cols] == df.sum(axis=0)).all()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=_tables().map(lambda t: t % 9), margins=st.sampled_from(["both", "row_totals", "column_totals"]))
def test_heavily_suppressed_small_count_tables_stay_protected(df, margins):
    res = suppress_table(df, list(df.columns), T, "personal", margins=margins)
    cols = list(res.display.columns)
    assert _small_published(res.display, cols) == []
    intervals = _independent_intervals(res.display, cols)
    assert _recoverable(intervals) == []
    assert not any(hi <= T - 1 for lo, hi in intervals.values())


@settings(max_examples=25, deadline=None)
@given(counts=st.lists(st.integers(0, 30), min_size=2, max_size=12))
def test_one_way_tables_cannot_be_undone_from_the_total(counts):
    df = pd.DataFrame({"n": counts})
    res = suppress_table(df, ["n"], T, "official", margins="column_totals")
    assert _small_published(res.display, ["n"]) == []
    intervals = _independent_intervals(res.display, ["n"])
    assert _recoverable(intervals) == []
    if res.mask["n"].any():
        assert res.mask["n"].sum() >= 2 and res.footnote


# ----------------------------------------------------------------------------- inputs and validation

def test_existing_total_row_and_column_are_checked_and_kept():
    df = pd.DataFrame({"ward": ["A", "B", "Total"], "x": [3, 20, 23], "y": [10, 30, 40], "Total": [13, 50, 63]})
    res = suppress_table(df, ["x", "y", "Total"], T, "sensitive")
    assert list(res.display.columns) == ["ward", "x", "y", "Total"]
    assert res.display["ward"].tolist() == ["A", "B", "Total"]
    bad = df.copy()
    bad.loc[2, "x"] = 24
    with pytest.raises(ValueError, match="Total' row must equal"):
        suppress_table(bad, ["x", "y", "Total"], T, "sensitive")


@pytest.mark.parametrize("kwargs, error, match", [
    ({"sensitivity": "secret"}, ValueError, "sensitivity"),
    ({"threshold": 4.5}, TypeError, "threshold"),
    ({"threshold": 0}, ValueError, "threshold"),
    ({"margins": "rows"}, ValueError, "margins"),
    ({"count_cols": "x"}, TypeError, "count_cols"),
    ({"count_cols": ["nope"]}, ValueError, "nope"),
])
def test_bad_arguments_are_refused(kwargs, error, match):
    args = {"df": pd.DataFrame({"x": [3, 9]}), "count_cols": ["x"], "threshold": T, "sensitivity": "sensitive"}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        suppress_table(**args)


def test_negative_or_fractional_counts_are_refused():
    with pytest.raises(ValueError, match="whole counts"):
        suppress_table(pd.DataFrame({"x": [3, -1]}), ["x"], T, "sensitive")
    with pytest.raises(ValueError, match="whole counts"):
        suppress_table(pd.DataFrame({"x": [3, 1.5]}), ["x"], T, "sensitive")


# ----------------------------------------------------------------------------- rates

def test_rates_are_masked_wherever_the_count_is_suppressed():
    df = pd.DataFrame({"x": [3, 10, 20], "y": [12, 15, 9]}, index=["A", "B", "C"])
    res = suppress_table(df, ["x", "y"], T, "sensitive")
    pub = res.values.copy()
    pub["pop"] = [1000, 2000, 3000, 6000]
    pub["rate_x"] = pub["x"].astype("Float64") / pub["pop"] * 1000
    pub["rate_x"] = df["x"].reindex(pub.index).fillna(33).to_numpy() / pub["pop"] * 1000  # true rates
    out = suppress_rates(pub, {"rate_x": "x"}, mask=res.mask)
    assert out["rate_x"].isna().tolist() == res.mask["x"].tolist()
    assert res.mask["x"].any()
    # inferred from the markers in the display table, with a display marker
    disp = res.display.assign(rate_x=pub["rate_x"].round(1))
    shown = suppress_rates(disp, {"rate_x": "x"}, marker="[c]")
    assert (shown["rate_x"] == "[c]").tolist() == res.mask["x"].tolist()


# ----------------------------------------------------------------------------- scanners

def test_check_published_raises_on_a_small_count_and_names_it():
    df = pd.DataFrame({"x": ["[c]", "12", "[x]", None, "1,204"], "y": [0, 3, 9, 10, 11]})
    with pytest.raises(DisclosureError, match=r"row 1 column 'y' = 3"):
        check_published(df, ["x", "y"], T, "sensitive", where="table 3")
    check_published(df, ["x", "y"], T, "public")  # public data is not checked
    check_published(df.assign(y=[0, "[c]", 9, 10, 11]), ["x", "y"], T)


def test_html_scanner_finds_unsuppressed_small_counts_only():
    df = pd.DataFrame({"x": [3, 10, 20], "y": [12, 15, 9]}, index=["A", "B", "C"])
    raw_html = add_margins(df, ["x", "y"]).to_html()
    found = find_small_counts(raw_html, T)
    assert found[["row", "column", "value"]].values.tolist() == [[1, "x", "3"]]
    with pytest.raises(DisclosureError, match="table 0 row 1 column 'x'"):
        check_published_text(raw_html, T, where="report.html")
    res = suppress_table(df, ["x", "y"], T, "sensitive")
    check_published_text("<html><body>" + res.display.to_html() + res.values.to_html() + "</body></html>", T)
    # Styler output (no thead/th conventions of to_html) is parsed too
    check_published_text(res.display.style.to_html(), T)
    assert len(find_small_counts(add_margins(df, ["x", "y"]).style.to_html(), T)) == 1


def test_html_scanner_handles_spans_rates_public_tables_and_float_rendering():
    html = """
    <table data-sensitivity="sensitive"><thead>
      <tr><th rowspan="2">Ward</th><th colspan="2">Violence</th><th>Rate per 1,000</th></tr>
      <tr><th>2024</th><th>2025</th><th></th></tr></thead>
      <tbody><tr><th>North</th><td>12</td><td>4.0</td><td>2.1</td></tr>
             <tr><th>3</th><td colspan="2">[c]</td><td>3</td></tr></tbody></table>
    <table data-sensitivity="public"><tr><th>Wards</th></tr><tr><td>3</td></tr></table>
    <table><tr><th>n</th></tr><tr><td>1,002</td></tr><tr><td>2</td></tr></table>"""
    found = find_small_counts(html, T)
    assert found.values.tolist() == [[0, 1, "Violence / 2025", "4.0"], [2, 2, "n", "2"]]
    only = find_small_counts(html, T, only_marked=True)
    assert only["table"].tolist() == [0]
    named = find_small_counts(html, T, count_cols=["2024"])
    assert named.empty


def test_csv_scanner():
    text = "ward,count,rate\nA,12,1.5\nB,2,0.3\nC,[c],[c]\n"
    found = find_small_counts(text, T)
    assert found[["row", "column", "value"]].values.tolist() == [[2, "count", "2"]]
    assert find_small_counts(text, T, count_cols=["rate"]).empty


# ----------------------------------------------------------------------------- maps

def _grid_areas(counts):
    n = int(np.sqrt(len(counts)))
    geoms = [box(i * 1000, j * 1000, (i + 1) * 1000, (j + 1) * 1000) for j in range(n) for i in range(n)]
    return gpd.GeoDataFrame({"code": [f"E{k:02d}" for k in range(len(counts))], "n": counts},
                            geometry=geoms, crs=27700)


def test_grey_map_suppresses_small_areas_and_one_more_against_the_total():
    counts = [2, 30, 12, 40, 25, 18, 9, 33, 50]
    gdf = _grid_areas(counts)
    out = suppress_areas(gdf, "n", T, "sensitive")
    assert out["suppression"].tolist()[:1] == ["primary"]
    assert out["suppressed"].sum() == 2
    assert out.loc[out["suppression"] == "secondary", "code"].tolist() == ["E06"]  # next smallest: 9
    assert out["n"].isna().tolist() == out["suppressed"].tolist()
    assert out.attrs["published_total"] == sum(counts)
    assert out.attrs["footnote"].startswith("Counts from 1 to 4")
    # independent LP over the published map and its total
    published = pd.DataFrame({"n": out["n"].astype(object).where(~out["suppressed"], "[c]").tolist()
                              + [out.attrs["published_total"]]}, index=[*out["code"], "Total"])
    assert _recoverable(_independent_intervals(published, ["n"])) == []
    assert suppress_areas(gdf, "n", T, "public")["n"].tolist() == counts


def test_merge_map_dissolves_small_areas_with_neighbours_until_all_reach_the_threshold():
    counts = [2, 30, 1, 40, 3, 18, 0, 33, 4]
    gdf = _grid_areas(counts)
    out = suppress_areas(gdf, "n", T, "sensitive", method="merge", area_col="code")
    assert not out["suppressed"].any()
    assert ((out["n"] >= T) | (out["n"] == 0)).all()
    assert out["n"].sum() == sum(counts)
    assert out.geometry.area.sum() == pytest.approx(gdf.geometry.area.sum())
    assert out["n_areas"].sum() == len(gdf)
    assert out["merged"].any() and "merged" in out.attrs["footnote"]
    # every merged area is contiguous (one polygon) and each member is listed once
    assert (out.geometry.geom_type == "Polygon").all()
    members = sorted(code for codes in out["code"] for code in codes.split("+"))
    assert members == sorted(gdf["code"])
    check_published(pd.DataFrame(out.drop(columns="geometry")), ["n"], T)


def test_merge_map_with_queen_contiguity_may_join_at_corners():
    counts = [2, 30, 30, 30]  # area 0 touches area 3 only at a corner
    gdf = _grid_areas(counts)
    out = suppress_areas(gdf, "n", T, method="merge", area_col="code", contiguity="queen")
    assert ((out["n"] >= T) | (out["n"] == 0)).all() and out["n"].sum() == sum(counts)
    assert out["n_areas"].max() == 2


def test_merge_map_greys_a_small_island():
    gdf = _grid_areas([20, 30, 12, 40])
    island = gpd.GeoDataFrame({"code": ["X"], "n": [3]}, geometry=[box(9000, 9000, 9500, 9500)], crs=27700)
    both = pd.concat([gdf, island], ignore_index=True)
    with pytest.warns(UserWarning, match="could not reach"):
        out = suppress_areas(both, "n", T, method="merge", area_col="code")
    assert out.loc[out["code"] == "X", "suppressed"].item()
    assert out["suppressed"].sum() == 2  # the island and one complementary area
    check_published(pd.DataFrame(out.drop(columns="geometry")), ["n"], T)


# ----------------------------------------------------------------------------- restricted folder

def test_restricted_dir_is_separate_and_carries_a_warning(tmp_path):
    folder = restricted_dir(tmp_path / "run")
    assert folder == tmp_path / "run" / RESTRICTED_DIRNAME and folder.is_dir()
    assert "DO NOT SHARE" in (folder / "README.txt").read_text()
    assert restricted_dir(tmp_path / "run") == folder  # idempotent
    assert is_restricted(folder / "violence.csv")
    assert not is_restricted(tmp_path / "run" / "tables" / "violence.csv")


# ----------------------------------------------------------------------------- zeros and linked tables

def test_zeros_beside_a_lone_suppressed_count_are_hidden():
    """A row [3, 0, 0] with its zeros shown tells the reader every event of the row is of one type."""
    df = pd.DataFrame({"violence": [3, 20, 15], "burglary": [0, 12, 9], "robbery": [0, 14, 11]},
                      index=["W1", "W2", "W3"])
    res = suppress_table(df, list(df.columns), T, "sensitive", margins="both")
    assert res.display.at["W1", "burglary"] == CONFIDENTIAL_MARKER
    assert res.display.at["W1", "robbery"] == CONFIDENTIAL_MARKER
    intervals = _independent_intervals(res.display, list(res.display.columns))
    # The hidden zeros can each hold at least the threshold, so the row's make-up is unknown.
    assert intervals[("W1", "burglary")][1] >= T and intervals[("W1", "robbery")][1] >= T
    assert all(hi - lo >= T for lo, hi in intervals.values())
    # A row with two non-zero counts keeps its zeros (no group attribute is revealed).
    df2 = pd.DataFrame({"a": [3, 20, 15], "b": [6, 12, 9], "c": [0, 14, 11]}, index=["W1", "W2", "W3"])
    res2 = suppress_table(df2, list(df2.columns), T, "sensitive", margins="both")
    assert res2.display.at["W1", "c"] == "0"


# The two linked tables of issue 9: wards by two categories each, sharing Violence, with row totals.
ISSUE_A = pd.DataFrame({"ward": ["W1", "W2"], "Violence": [2, 30], "Burglary": [14, 3]})
ISSUE_B = pd.DataFrame({"ward": ["W1", "W2"], "Violence": [2, 30], "Robbery": [20, 40]})


def independent_linked_ranges(published: list[pd.DataFrame], label: str = "ward", marker: str = "[c]") -> dict:
    """Attacker's LP over several published tables at once, written here with scipy only.

    Unknowns are the counts of every (row label, count column) pair any table shows; a Total
    column is the sum of its row's shown columns. Every published number is an equation; each
    hidden cell is minimised and maximised over non-negative unknowns. Returns
    {(table index, row, column): (min, max)}.
    """
    atoms = sorted({(r, c) for f in published for r in f[label] if r != "Total"
                    for c in f.columns if c not in (label, "Total")})
    pos = {a: k for k, a in enumerate(atoms)}
    eqs, rhs, hidden = [], [], {}
    for t, f in enumerate(published):
        parts = [c for c in f.columns if c not in (label, "Total")]
        rows = [r for r in f[label] if r != "Total"]
        for rec in f.to_dict("records"):
            r = rec[label]
            for c in [*parts, "Total"] if "Total" in f.columns else parts:
                vec = np.zeros(len(atoms))
                for rr in (rows if r == "Total" else [r]):
                    for cc in (parts if c == "Total" else [c]):
                        vec[pos[(rr, cc)]] = 1.0
                if str(rec[c]) == marker:
                    hidden[(t, r, c)] = vec
                else:
                    eqs.append(vec)
                    rhs.append(float(rec[c]))
    A, b = np.array(eqs), np.array(rhs)
    out = {}
    for cell, vec in hidden.items():
        lo = linprog(vec, A_eq=A, b_eq=b, bounds=(0, None), method="highs")
        hi = linprog(-vec, A_eq=A, b_eq=b, bounds=(0, None), method="highs")
        assert lo.status == 0, "the published tables must be consistent"
        out[cell] = (lo.fun, np.inf if hi.status == 3 else -hi.fun)
    return out


def test_linked_tables_of_the_issue_hide_nothing_when_suppressed_together():
    from assessment.disclosure import linked_table

    link = {"dataset": "ed", "dimensions": ("ward", "category")}
    a = suppress_table(ISSUE_A, ["Violence", "Burglary"], T, "sensitive", margins="row_totals",
                       link={**link, "name": "A"})
    b = suppress_table(ISSUE_B, ["Violence", "Robbery"], T, "sensitive", margins="row_totals",
                       link={**link, "name": "B"}, published=[a.linked])
    ranges = independent_linked_ranges([a.display, b.display])
    assert ranges and all(hi - lo >= T for lo, hi in ranges.values()), ranges
    # The package's own joint audit agrees.
    joint = audit_linked([a.linked, b.linked], threshold=T)
    assert len(joint) == len(ranges) and not joint["narrow"].any()
    # Each suppressed alone, the pair gives cells away (so this test can fail).
    alone = suppress_table(ISSUE_B, ["Violence", "Robbery"], T, "sensitive", margins="row_totals")
    naive = independent_linked_ranges([a.display, alone.display])
    assert naive[(0, "W2", "Burglary")] == (3.0, 3.0)
    naive_audit = audit_linked([a.linked, linked_table(alone.display, name="B alone", dataset="ed",
                                                        dimensions=("ward", "category"))], threshold=T)
    assert naive_audit["recoverable"].any()


def test_linked_tables_of_different_datasets_or_scopes_are_not_combined():
    link = {"dataset": "ed", "dimensions": ("ward", "category")}
    a = suppress_table(ISSUE_A, ["Violence", "Burglary"], T, "sensitive", margins="row_totals",
                       link={**link, "name": "A", "scope": "2024"})
    b = suppress_table(ISSUE_B, ["Violence", "Robbery"], T, "sensitive", margins="row_totals",
                       link={**link, "name": "B", "scope": "2025"}, published=[a.linked])
    alone = suppress_table(ISSUE_B, ["Violence", "Robbery"], T, "sensitive", margins="row_totals")
    assert b.display.equals(alone.display)


def test_one_way_and_two_way_tables_of_one_dataset_are_audited_together():
    """A ward table (all categories) and a ward x category table share the ward dimension."""
    link = {"dataset": "ed", "dimensions": ("ward", "category")}
    two = pd.DataFrame({"ward": ["W1", "W2", "W3"], "Violence": [2, 30, 25], "Other": [14, 10, 12]})
    a = suppress_table(two, ["Violence", "Other"], T, "sensitive", margins="both", link={**link, "name": "A"})
    one = pd.DataFrame({"ward": ["W1", "W2", "W3"], "attendances": [16, 40, 37]})
    b = suppress_table(one, ["attendances"], T, "sensitive", margins="column_totals",
                       link={"dataset": "ed", "dimensions": ("ward",), "name": "B"}, published=[a.linked])
    joint = audit_linked([a.linked, b.linked], threshold=T)
    assert not joint["narrow"].any() and not joint["recoverable"].any()


def test_linked_tables_that_contradict_each_other_are_refused():
    from assessment.disclosure import linked_table

    a = linked_table(pd.DataFrame({"ward": ["W1"], "n": [10]}), name="A", dataset="ed", dimensions=("ward",))
    b = linked_table(pd.DataFrame({"ward": ["W1"], "n": [12]}), name="B", dataset="ed", dimensions=("ward",))
    a.values[0, 0] = np.nan  # one hidden cell so the audit has something to solve
    c = linked_table(pd.DataFrame({"ward": ["W1"], "n": [11]}), name="C", dataset="ed", dimensions=("ward",))
    with pytest.raises(ValueError, match="scope"):
        audit_linked([a, b, c], threshold=T)


def test_register_round_trip_and_a_damaged_register_is_refused(tmp_path):
    from assessment.disclosure import read_register, write_register

    a = suppress_table(ISSUE_A, ["Violence", "Burglary"], T, "sensitive", margins="row_totals",
                       link={"name": "A", "dataset": "ed", "dimensions": ("ward", "category"), "document": "d1"})
    path = write_register(tmp_path / "reg.json", [a.linked])
    back = read_register(path)
    assert len(back) == 1 and back[0].name == "A" and back[0].document == "d1"
    np.testing.assert_array_equal(np.isnan(back[0].values), np.isnan(a.linked.values))
    assert read_register(tmp_path / "absent.json") == []
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(DisclosureError, match="disclosure register"):
        read_register(path)


def test_suppress_rows_protects_within_each_row_only():
    from assessment.disclosure import suppress_rows

    df = pd.DataFrame({"read": [300, 50, 40], "accepted": [297, 50, 37], "quarantined": [3, 0, 3],
                       "bad date": [3, 0, 3], "duplicate": [0, 0, 0]}, index=["nominals", "police", "public"])
    rel = [("read", ["accepted", "quarantined"]), ("quarantined", ["bad date", "duplicate"])]
    mask = suppress_rows(df, list(df.columns), T, [True, True, False], relations=rel)
    # the public row is untouched; the police row has nothing small
    assert not mask.loc[["police", "public"]].to_numpy().any()
    hidden = mask.loc["nominals"]
    assert hidden[["quarantined", "bad date"]].all()
    assert hidden["accepted"], "read - accepted would give the quarantined count away"
    assert hidden["duplicate"], "the zero beside a lone suppressed reason tells every quarantined row had it"
    # independent LP on the row as published: every hidden cell keeps a range of at least T
    row = df.loc["nominals"].astype(float)
    cols = list(df.columns)
    unknown = [c for c in cols if hidden[c]]
    A, b = [], []
    for total, parts in rel:
        coef = np.array([(1.0 if c in parts else -1.0 if c == total else 0.0) for c in unknown])
        known = sum(row[p] for p in parts if p not in unknown) - (0 if total in unknown else row[total])
        A.append(coef)
        b.append(-known)
    for k in range(len(unknown)):
        c = np.zeros(len(unknown))
        c[k] = 1
        lo = linprog(c, A_eq=np.array(A), b_eq=b, bounds=(0, None), method="highs").fun
        hi = -linprog(-c, A_eq=np.array(A), b_eq=b, bounds=(0, None), method="highs").fun
        assert hi - lo >= T, (unknown[k], lo, hi)


def test_suppress_rows_with_a_total_row_protects_across_rows_too():
    from assessment.disclosure import suppress_rows

    df = pd.DataFrame({"read": [300, 50, 40], "accepted": [297, 50, 40], "quarantined": [3, 0, 0]},
                      index=["nominals", "police", "fire"])
    df.loc["Total"] = df.sum()
    mask = suppress_rows(df, list(df.columns), T, [True, False, True, True], total_row=True,
                         relations=[("read", ["accepted", "quarantined"])])
    assert mask.at["nominals", "quarantined"]
    # Independent LP over every published cell: rows add up within a row and down each column.
    cells = [(r, c) for r in df.index for c in df.columns]
    unknown = [x for x in cells if mask.at[x]]
    pos = {x: k for k, x in enumerate(unknown)}
    A, b = [], []
    relations = [[((r, "accepted"), 1), ((r, "quarantined"), 1), ((r, "read"), -1)] for r in df.index]
    relations += [[((r, c), 1) for r in df.index[:-1]] + [(("Total", c), -1)] for c in df.columns]
    for rel in relations:
        coef, rhs = np.zeros(len(unknown)), 0.0
        for cell, sign in rel:
            if cell in pos:
                coef[pos[cell]] += sign
            else:
                rhs -= sign * df.at[cell]
        if coef.any():
            A.append(coef)
            b.append(rhs)
    for k in range(len(unknown)):
        c = np.zeros(len(unknown))
        c[k] = 1
        lo = linprog(c, A_eq=np.array(A), b_eq=b, bounds=(0, None), method="highs").fun
        hi = -linprog(-c, A_eq=np.array(A), b_eq=b, bounds=(0, None), method="highs").fun
        assert hi - lo >= T, (unknown[k], lo, hi)


def test_a_slice_table_links_to_the_table_that_shows_its_fixed_dimension():
    """Ward x rank for one concern (fixed concern) and ward x concern: the second's column is the first's total."""
    by_rank = pd.DataFrame({"ward": ["W1", "W2", "W3"], "1st": [2, 10, 8], "2nd": [1, 7, 6], "3rd": [1, 3, 9]})
    a = suppress_table(by_rank, ["1st", "2nd", "3rd"], T, "official", margins="both",
                       link={"name": "rank", "dataset": "survey", "dimensions": ("ward", "rank"),
                             "fixed": {"concern": "Burglary"}})
    assert a.display.at[0, "Total"] == "[c]"  # W1 named burglary 4 times in all: hidden
    by_concern = pd.DataFrame({"ward": ["W1", "W2", "W3"], "Burglary": [4, 20, 23], "Speeding": [30, 25, 40]})
    link = {"name": "concern", "dataset": "survey", "dimensions": ("ward", "concern")}
    b = suppress_table(by_concern, ["Burglary", "Speeding"], T, "official", margins="both", link=link,
                       published=[a.linked])
    joint = audit_linked([a.linked, b.linked], threshold=T)
    assert len(joint) and not joint["narrow"].any() and not joint["recoverable"].any()
    assert b.display.at[0, "Burglary"] == "[c]"
    # The fixed dimension is what links them: each rank table cell is part of one concern-table cell.
    assert a.linked.fixed == {"concern": "Burglary"}
    assert (joint["width"] >= T).all()


def test_suppress_rows_total_of_only_some_rows():
    """A Total row that leaves out a copied dataset: its column sums cover the other rows only."""
    from assessment.disclosure import suppress_rows

    df = pd.DataFrame({"read": [300, 40, 40, 340], "quarantined": [3, 0, 0, 3]},
                      index=["nominals", "council", "council copy", "Total"])
    mask = suppress_rows(df, ["read", "quarantined"], T, [True, True, True, True], total_row=True,
                         in_total=[True, True, False])
    assert mask.at["nominals", "quarantined"] and mask.at["Total", "quarantined"]
    with pytest.raises(ValueError, match="Total row must equal"):
        suppress_rows(df, ["read", "quarantined"], T, [True] * 4, total_row=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(2, 6), cols=st.integers(2, 5))
def test_one_programme_many_objectives_matches_linprog_each(seed, rows, cols):
    """The audits' reused HiGHS model gives linprog's status and optimum for every objective in turn."""
    from assessment.disclosure import _Programme, _relation_matrix

    rng = np.random.default_rng(seed)
    body = rng.integers(0, 12, size=(rows, cols)).astype(float)
    aug = np.zeros((rows + 1, cols + 1))
    aug[:rows, :cols] = body
    aug[:rows, cols] = body.sum(axis=1)
    aug[rows, :] = aug[:rows, :].sum(axis=0)
    M = _relation_matrix(rows, cols, True, True)
    v = aug.ravel()
    hidden = rng.random(v.size) < 0.4
    hidden[rng.integers(v.size)] = True
    A = M[:, hidden]
    b = -(M[:, ~hidden] @ v[~hidden])
    keep = np.abs(A).sum(axis=1) > 0
    A, b = A[keep], b[keep]
    if A.shape[0] == 0:
        return
    programme = _Programme(A, b)
    objectives = [np.eye(A.shape[1])[k] * sign for k in range(A.shape[1]) for sign in (1.0, -1.0)]
    objectives.append(rng.integers(-1, 2, size=A.shape[1]).astype(float))
    for c in objectives:
        ref = linprog(c, A_eq=A, b_eq=b, bounds=(0, None), method="highs")
        status, fun = programme.solve(c)
        assert status == ref.status
        if ref.status == 0:
            assert fun == pytest.approx(ref.fun, abs=1e-9)
        else:
            assert fun is None


def test_programme_reports_an_infeasible_system_as_linprog_does():
    from assessment.disclosure import _Programme

    A = np.array([[1.0, 1.0]])
    b = np.array([-3.0])  # two non-negative cells cannot sum to -3
    assert _Programme(A, b).solve(np.array([1.0, 0.0]))[0] == linprog(
        [1.0, 0.0], A_eq=A, b_eq=b, bounds=(0, None), method="highs").status == 2
