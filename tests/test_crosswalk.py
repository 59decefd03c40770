"""Tests for assessment.geography.crosswalk: hand-computed weights, tobler, conservation, error."""

from __future__ import annotations

import functools
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from assessment.errors import GeographyError
from assessment.geography.crosswalk import (crosswalk_apply, crosswalk_area, crosswalk_best_fit,
                                            crosswalk_error, crosswalk_population, crosswalk_weights)


def _layer(boxes, codes, **cols):
    return gpd.GeoDataFrame({"code": codes, **cols}, geometry=[shapely.box(*b) for b in boxes], crs=27700)


SOURCE = _layer([(0, 0, 100, 100), (100, 0, 200, 100)], ["S1", "S2"])
TARGET = _layer([(0, 0, 50, 100), (50, 0, 150, 100), (150, 0, 200, 100)], ["T1", "T2", "T3"])
# S1 small areas straddle T1|T2 at x=50; S2's nest in quarters
SMALL = _layer([(0, 0, 25, 100), (25, 0, 85, 100), (85, 0, 100, 100),
                (100, 0, 150, 50), (100, 50, 150, 100), (150, 0, 200, 50), (150, 50, 200, 100)],
               ["a", "b", "c", "d", "e", "f", "g"], pop_total=[10, 40, 50, 5, 5, 60, 30])


def _w(weights):
    return weights.set_index(["source_code", "target_code"])["weight"].to_dict()


def test_area_weights_fifty_fifty_by_hand():
    w = crosswalk_area(SOURCE, TARGET)
    assert set(w["method"]) == {"area"}
    got = _w(w)
    assert got.keys() == {("S1", "T1"), ("S1", "T2"), ("S2", "T2"), ("S2", "T3")}
    np.testing.assert_allclose(list(got.values()), [0.5, 0.5, 0.5, 0.5])


def test_population_weights_by_hand():
    got = _w(crosswalk_population(SOURCE, TARGET, SMALL))
    # S1: T1 gets a (10) + b's 25/60 of 40; S2: T2 gets d+e (10) of 100
    t1 = (10 + 40 * 25 / 60) / 100
    np.testing.assert_allclose([got["S1", "T1"], got["S1", "T2"]], [t1, 1 - t1])
    np.testing.assert_allclose([got["S2", "T2"], got["S2", "T3"]], [0.1, 0.9])


def test_best_fit_weights_by_hand():
    w = crosswalk_best_fit(SOURCE, TARGET, SMALL)
    assert set(w["method"]) == {"best_fit"}
    got = _w(w)
    # b's interior point lies at x=55 (inside T2): it goes wholly to T2
    np.testing.assert_allclose([got["S1", "T1"], got["S1", "T2"]], [0.1, 0.9])
    np.testing.assert_allclose([got["S2", "T2"], got["S2", "T3"]], [0.1, 0.9])


def test_wgs84_source_measured_in_metres():
    wgs = SOURCE.set_geometry(SOURCE.geometry.translate(440000, 290000)).to_crs(4326)
    tgt = TARGET.set_geometry(TARGET.geometry.translate(440000, 290000))
    w = crosswalk_area(wgs, tgt)
    # vertices round-trip through WGS84 to within millimetres
    np.testing.assert_allclose(sorted(w["weight"]), [0.5] * 4, atol=1e-4)
    assert len(w) == 4


def test_area_method_matches_tobler():
    from tobler.area_weighted import area_interpolate

    rng = np.random.default_rng(3)
    src = _layer([(x, y, x + 100, y + 100) for x in range(0, 400, 100) for y in range(0, 400, 100)],
                 [f"S{i:02d}" for i in range(16)])
    src["count"] = rng.integers(0, 50, len(src)).astype(float)
    tgt = gpd.GeoDataFrame({"code": [f"T{i}" for i in range(9)]},
                           geometry=[shapely.box(x, y, x + 150, y + 150).buffer(0)
                                     for x in (-30, 120, 270) for y in (-20, 130, 280)], crs=27700)
    tgt = tgt.set_geometry(tgt.rotate(7, origin=(200, 200)))
    w = crosswalk_area(src, tgt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, report = crosswalk_apply(src.rename(columns={"code": "area_code"}), w)
        theirs = area_interpolate(src, tgt, extensive_variables=["count"], allocate_total=False)
    theirs.index = tgt["code"]
    ours = ours.set_index("target_code")["count"].reindex(tgt["code"], fill_value=0.0)
    # tobler accumulates in float32, hence rtol 1e-6
    np.testing.assert_allclose(ours.to_numpy(), theirs["count"].to_numpy(), rtol=1e-6)
    # the rotated targets leave corners of the sources uncovered: reported, not lost
    assert report["outside_target"].sum() > 0
    np.testing.assert_allclose(ours.sum() + report["outside_target"].sum(), src["count"].sum())


def test_apply_reports_unknown_sources_and_keeps_groups():
    w = crosswalk_area(SOURCE, TARGET)
    counts = pd.DataFrame({"area_code": ["S1", "S1", "S2", "ZZ"], "period": ["2024-01", "2024-02", "2024-01", "2024-01"],
                           "count": [10, 4, 6, 3]})
    with pytest.warns(UserWarning, match="outside the target"):
        out, rep = crosswalk_apply(counts, w, by=["period"])
    got = out.set_index(["period", "target_code"])["count"]
    assert got["2024-01", "T2"] == pytest.approx(5 + 3)
    assert got["2024-02", "T1"] == pytest.approx(2)
    r = rep.set_index("source_code")
    assert r.loc["ZZ", "status"] == "not in weight table" and r.loc["ZZ", "outside_target"] == 3
    assert out["count"].sum() + rep["outside_target"].sum() == pytest.approx(counts["count"].sum())


def test_weights_summing_above_one_refused():
    w = crosswalk_area(SOURCE, TARGET)
    w.loc[0, "weight"] = 0.9
    with pytest.raises(GeographyError, match="more than 1"):
        crosswalk_apply(pd.DataFrame({"area_code": ["S1"], "count": [1]}), w)


# --- conservation over random count tables, all three methods -------------------------------
PARTLY_OUT = _layer([(0, 0, 100, 100), (100, 0, 200, 100), (200, 0, 300, 100)], ["P1", "P2", "P3"])
SMALL3 = _layer([(x, 0, x + 50, 100) for x in range(0, 300, 50)], [f"s{i}" for i in range(6)],
                pop_total=[3, 0, 7, 11, 2, 5])


@functools.lru_cache(maxsize=None)
def _weights(method):
    # the target layer stops at x=260: P3 lies partly outside it
    tgt = _layer([(0, 0, 70, 100), (70, 0, 180, 100), (180, 0, 260, 100)], ["A", "B", "C"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return crosswalk_weights(PARTLY_OUT, tgt, method, small_areas=SMALL3)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["area", "population", "best_fit"]),
       st.lists(st.tuples(st.sampled_from(["P1", "P2", "P3", "unknown"]), st.sampled_from(["m1", "m2"]),
                          st.integers(0, 10**6)), min_size=1, max_size=30))
def test_conservation_random_count_tables(method, rows):
    counts = pd.DataFrame(rows, columns=["area_code", "month", "count"])
    w = _weights(method)
    assert set(w["method"]) == {method}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, rep = crosswalk_apply(counts, w, by=["month"])
    total = counts["count"].sum()
    assert (out["count"] >= 0).all()
    assert out["count"].sum() + rep["outside_target"].sum() == pytest.approx(total, rel=1e-12, abs=1e-9)
    np.testing.assert_allclose(rep["apportioned"] + rep["outside_target"], rep["count"], rtol=1e-12)
    for month, grp in counts.groupby("month"):  # per group too
        known = grp.loc[grp["area_code"] != "unknown"]
        share = w.groupby("source_code")["weight"].sum().reindex(known["area_code"]).to_numpy()
        expected = float((known["count"].to_numpy() * share).sum())
        assert out.loc[out["month"] == month, "count"].sum() == pytest.approx(expected, rel=1e-12, abs=1e-9)


def _uneven_case(seed=7):
    """Sources and targets offset; population packed into a few small areas; points follow people."""
    rng = np.random.default_rng(seed)
    src = _layer([(x, y, x + 200, y + 200) for x in range(0, 800, 200) for y in range(0, 800, 200)],
                 [f"S{i:02d}" for i in range(16)])
    tgt = _layer([(x, y, x + 280, y + 280) for x in range(-20, 800, 280) for y in range(-20, 800, 280)],
                 [f"T{i}" for i in range(9)])
    cells = [(x, y, x + 50, y + 50) for x in range(0, 800, 50) for y in range(0, 800, 50)]
    pop = np.where(rng.random(len(cells)) < 0.15, rng.integers(200, 1000, len(cells)), rng.integers(0, 5, len(cells)))
    small = _layer(cells, [f"c{i:03d}" for i in range(len(cells))], pop_total=pop)
    n = rng.poisson(pop * 0.5)
    owner = np.repeat(np.arange(len(cells)), n)
    b = np.array(cells, dtype=float)[owner]
    x = b[:, 0] + rng.random(len(owner)) * 50
    y = b[:, 1] + rng.random(len(owner)) * 50
    return src, tgt, small, pd.DataFrame({"easting": x, "northing": y})


def test_population_weighting_beats_area_weighting_on_uneven_population():
    src, tgt, small, pts = _uneven_case()
    summary, detail = crosswalk_error(pts, src, tgt, small)
    s = summary.set_index("method")
    assert s.loc["population", "mean_abs_pct_error"] < s.loc["area", "mean_abs_pct_error"]
    assert s.loc["population", "max_abs_pct_error"] <= s.loc["area", "max_abs_pct_error"]
    # independent check of the exact side: histogram of points by target box
    edges = np.array([-20, 260, 540, 820])
    ix = np.digitize(pts["easting"], edges) - 1
    iy = np.digitize(pts["northing"], edges) - 1
    direct = pd.Series(ix * 3 + iy).value_counts().sort_index()
    exact = detail.loc[detail["method"] == "area"].set_index("target_code")["exact"]
    np.testing.assert_array_equal(exact.to_numpy(), direct.reindex(range(9), fill_value=0).to_numpy())
    # apportionment conserves the points for every method
    np.testing.assert_allclose(detail.groupby("method")["apportioned"].sum() + s["outside_target"],
                               len(pts), rtol=1e-9)
