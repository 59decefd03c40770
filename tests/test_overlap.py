"""Tests for assessment.analysis.overlap."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy.stats import poisson, spearmanr
from shapely.geometry import box

from assessment.analysis.overlap import overlap_compare, overlap_counts, overlap_hotspots, overlap_sentences


def _grid() -> gpd.GeoDataFrame:
    cells = [box(x, y, x + 500, y + 500) for x in range(432000, 437000, 500) for y in range(284000, 289000, 500)]
    return gpd.GeoDataFrame({"area_code": [f"C{i:03d}" for i in range(len(cells))]}, geometry=cells, crs=27700)


def _points(rng, n: int, n_hot: int, centre=(434250, 286250)) -> pd.DataFrame:
    x = np.r_[rng.uniform(432000, 437000, n), rng.normal(centre[0], 100, n_hot)]
    y = np.r_[rng.uniform(284000, 289000, n), rng.normal(centre[1], 100, n_hot)]
    return pd.DataFrame({"easting": x, "northing": y})


def test_counts_conserved_and_outside_points_reported():
    rng = np.random.default_rng(1)
    areas = _grid()
    police = _points(rng, 400, 100)
    outside = pd.DataFrame({"easting": [500000.0, np.nan], "northing": [100.0, 286000.0]})
    with pytest.warns(UserWarning, match="2 of 502"):
        c = overlap_counts(areas, points={"police": pd.concat([police, outside], ignore_index=True)})
    assert c["police"].sum() == 500
    assert len(c) == len(areas) and c.index.name == "area"
    # GeoDataFrame input in another CRS gives the same counts
    g = gpd.GeoDataFrame(geometry=gpd.points_from_xy(police.easting, police.northing), crs=27700).to_crs(3857)
    c2 = overlap_counts(areas, points={"police": g})
    assert (c2["police"] == c["police"]).all()
    # area-count layer: months summed, unknown codes warned
    ed = pd.DataFrame({"area_code": ["C001", "C001", "C002", "ZZZ"], "count": [2, 3, 1, 4]})
    with pytest.warns(UserWarning, match="ZZZ"):
        c3 = overlap_counts(areas, points={"police": police}, area_counts={"ed": ed})
    assert c3.loc["C001", "ed"] == 5 and c3["ed"].sum() == 6


def test_colocated_hotspot_found_and_p_values_valid():
    rng = np.random.default_rng(2)
    areas = _grid()
    c = overlap_counts(areas, points={"police": _points(rng, 500, 150), "ambulance": _points(rng, 300, 100),
                                      "licensed": _points(rng, 60, 0)})
    h = overlap_hotspots(c)
    hot_cell = c["police"].idxmax()
    assert h.loc[hot_cell, "colocated"]
    assert set(h.loc[hot_cell, "layers_hot"].split(", ")) >= {"police", "ambulance"}
    assert not h["hot_licensed"].any()
    for layer in c.columns:
        assert h[f"p_{layer}"].between(0, 1).all()
        assert h[f"expected_{layer}"].sum() == pytest.approx(c[layer].sum())
    # uncorrected p equals the exact Poisson upper tail computed directly
    raw = overlap_hotspots(c, correction=None)
    e = c["police"].sum() / len(c)
    assert raw.loc[hot_cell, "p_police"] == pytest.approx(poisson.sf(c.loc[hot_cell, "police"] - 1, e))
    assert (h["n_layers_hot"] == h[[f"hot_{l}" for l in c.columns]].sum(axis=1)).all()


def test_uniform_layers_give_no_colocated_hotspots_and_say_so():
    rng = np.random.default_rng(3)
    areas = _grid()
    c = overlap_counts(areas, points={"police": _points(rng, 600, 0), "ambulance": _points(rng, 400, 0)})
    h = overlap_hotspots(c)
    assert not h["colocated"].any()
    first = overlap_sentences(h)[0]
    assert first.startswith("No area is a statistically significant hotspot for 2 or more layers")
    assert "no evidence that the agencies' pictures differ" in first
    h3 = overlap_hotspots(c, min_layers=3)
    assert overlap_sentences(h3)[0].startswith("No area is a statistically significant hotspot for 3 or more")


def test_caller_flags_are_used():
    c = pd.DataFrame({"police": [5, 1, 0, 9], "ambulance": [4, 0, 1, 8]}, index=pd.Index(list("abcd"), name="area"))
    flags = pd.DataFrame({"police": [True, False, False, True], "ambulance": [True, False, False, False]},
                         index=c.index)
    h = overlap_hotspots(c, flags=flags)
    assert h["colocated"].tolist() == [True, False, False, False]
    assert h["p_police"].isna().all()
    with pytest.raises(ValueError, match="flags"):
        overlap_hotspots(c, flags=flags.rename(columns={"police": "fire"}))


def test_compare_against_independent_computations():
    idx = pd.Index([f"A{i}" for i in range(20)], name="area")
    police = np.array([30, 25, 20, 18, 15, 12, 10, 9, 8, 7, 6, 5, 4, 3, 3, 2, 2, 1, 1, 0])
    ed = np.array([10, 2, 9, 1, 0, 4, 3, 3, 0, 1, 2, 0, 0, 1, 0, 0, 2, 0, 1, 0])
    c = pd.DataFrame({"police": police, "ed": ed}, index=idx)
    hot = pd.DataFrame({"hot_police": police >= 18, "hot_ed": ed >= 9}, index=idx)   # {A0..A3} vs {A0, A2}
    s = overlap_compare(c, hotspots=hot).iloc[0]
    ref = spearmanr(ed, police)
    assert s["spearman_rho"] == pytest.approx(ref.statistic)
    assert s["spearman_p"] == pytest.approx(ref.pvalue)
    # top 10% of 20 areas = 2 areas (A0, A1): ed events there 12 of 39
    assert s["top_areas"] == 2
    assert s["share_in_reference_top"] == pytest.approx(12 / ed.sum())
    assert s["reference_share_in_top"] == pytest.approx(55 / police.sum())
    assert s["jaccard"] == pytest.approx(2 / 4) and s["hot_both"] == 2
    # plain words in the sentence (the glossary names Spearman's rho and the Jaccard index)
    assert "rank correlation" in s["sentence"] and "overlap index 0.50" in s["sentence"]


def test_compare_identical_layer_is_perfect_and_constant_layer_is_nan():
    c = pd.DataFrame({"police": [9, 5, 3, 1, 0], "same": [9, 5, 3, 1, 0], "flat": [2, 2, 2, 2, 2]})
    hot = pd.DataFrame({"hot_police": [True, False, False, False, False],
                        "hot_same": [True, False, False, False, False], "hot_flat": [False] * 5})
    s = overlap_compare(c, hotspots=hot).set_index("layer")
    assert s.loc["same", "spearman_rho"] == pytest.approx(1.0) and s.loc["same", "jaccard"] == 1.0
    assert np.isnan(s.loc["flat", "spearman_rho"])
    assert "no rank correlation can be computed" in s.loc["flat", "sentence"]
    with pytest.raises(ValueError, match="besides"):
        overlap_compare(c[["police"]])
