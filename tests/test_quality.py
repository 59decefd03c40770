"""Quality helpers: repeats against brute force, accounting, completeness, coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assessment.intake.quality import (
    REASONS,
    Reasons,
    coverage_by_month,
    coverage_from_counts,
    field_completeness,
    flag_exact_duplicates,
    flag_repeated_values,
    flag_repeats,
    quality_record,
)


def _brute_repeats(e, n, t, cat, minutes, metres):
    out = np.zeros(len(e), dtype=bool)
    for i in range(len(e)):
        for j in range(len(e)):
            if i == j or (cat is not None and cat[i] != cat[j]):
                continue
            earlier = t[j] < t[i] or (t[j] == t[i] and j < i)
            if earlier and abs(t[i] - t[j]) <= minutes and np.hypot(e[i] - e[j], n[i] - n[j]) <= metres:
                out[i] = True
    return out


@pytest.mark.parametrize("same_category", [True, False])
def test_repeats_match_brute_force(same_category):
    rng = np.random.default_rng(7)
    k = 300
    e = rng.uniform(0, 2000, k).round()
    n = rng.uniform(0, 2000, k).round()
    t = rng.integers(0, 3000, k).astype(float)
    cat = rng.choice(["a", "b"], k)
    dates = pd.Series(pd.Timestamp("2024-01-01") + pd.to_timedelta(t, unit="min"))
    got = flag_repeats(e, n, dates, minutes=60, metres=150,
                       category=pd.Series(cat) if same_category else None)
    assert (got == _brute_repeats(e, n, t, cat if same_category else None, 60, 150)).all()
    assert got.any()


def test_repeats_ignore_missing_points_and_times():
    dates = pd.Series(pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:05", None]))
    got = flag_repeats(np.array([0.0, np.nan, 0.0]), np.array([0.0, 0.0, 0.0]), dates, minutes=60, metres=100)
    assert not got.any()


def test_exact_duplicates_and_repeated_values():
    f = pd.DataFrame({"a": ["1", "1", "2", "1"], "b": ["x", "x", "x", "y"]})
    assert flag_exact_duplicates(f, ["a", "b"]).tolist() == [False, True, False, False]
    assert flag_repeated_values(pd.Series(["p", None, "p", "q", None])).tolist() == [True, False, True, False, False]


def test_reasons_first_wins_and_record_balances():
    r = Reasons(4)
    r.mark(np.array([True, False, True, False]), "unparseable date", ("got ", pd.Series(["x", "y", "z", "w"])))
    r.mark(np.array([True, True, False, False]), "unknown category", "bad")
    assert list(r.reason) == ["unparseable date", "unknown category", "unparseable date", None]
    assert list(r.detail[:3]) == ["got x", "bad", "got z"]
    rec = quality_record("d", "events", "a", files=1, rows_read=4, reasons=r.reason)
    assert rec["rows_read"] == rec["rows_accepted"] + rec["rows_quarantined"] == 4
    assert rec["quarantined_unparseable_date"] == 2 and rec["quarantined_unknown_category"] == 1
    with pytest.raises(ValueError, match="one of"):
        r.mark(np.array([True] * 4), "not a reason")
    assert "duplicate" in REASONS


def test_completeness_and_coverage():
    f = pd.DataFrame({"x": ["1", None, " ", "4"], "y": [1.0, np.nan, 3.0, 4.0]})
    c = field_completeness(f, {"fx": "x", "fy": "y"}, "d").set_index("field")
    assert c.loc["fx", "filled"] == 2 and c.loc["fy", "filled"] == 3 and c.loc["fy", "share_filled"] == 0.75
    cov = coverage_by_month(pd.DataFrame({"month": ["2024-01", "2024-03", "2024-03"]}), "d")
    assert cov["month"].tolist() == ["2024-01", "2024-02", "2024-03"] and cov["rows"].tolist() == [1, 0, 2]


def test_coverage_from_counts_matches_counting_the_rows():
    months = pd.Series(["2024-02", None, "2024-05", "2024-02", "2024-03"], dtype="str")
    counts = months.value_counts(dropna=False)  # an NA month in the counts is not a month
    window = ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]
    got = coverage_from_counts(counts, "d", window)
    assert got["rows"].tolist() == [0, 2, 1, 0, 1, 0] and got["rows"].sum() == months.notna().sum()
    pd.testing.assert_frame_equal(coverage_from_counts(counts, "d"),
                                  coverage_by_month(pd.DataFrame({"month": months}), "d"))
    assert coverage_from_counts(pd.Series([], dtype="int64"), "d").empty
    with pytest.raises(TypeError, match="counts"):
        coverage_from_counts(months.tolist(), "d")


@pytest.mark.parametrize("shape", ["random", "middle_only", "numbered"])
def test_flag_repeated_values_agrees_with_pandas_on_fixed_width_identifiers(shape):
    rng = np.random.default_rng(3)
    n = 30_000
    if shape == "random":  # data.police.uk's 64 hex characters
        ids = np.array([rng.bytes(32).hex() for _ in range(n)], dtype=object)
    elif shape == "middle_only":  # first and last 8 bytes the same everywhere: the every-byte pass decides
        ids = np.array([f"FORCE-AB{i % 20_000:012d}XYZW-END" for i in range(n)], dtype=object)
    else:
        ids = np.array([f"CR{i:014d}" for i in rng.integers(0, 40_000, n)], dtype=object)
    ids[rng.choice(n, 500, replace=False)] = None
    ids[100:110] = ids[200:210]  # some copies whatever the shape
    values = pd.Series(ids, dtype="str")
    want = (values.notna() & values.duplicated(keep=False)).to_numpy()
    got = flag_repeated_values(values)
    assert want.any() and np.array_equal(got, want)
