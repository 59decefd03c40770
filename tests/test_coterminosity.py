"""Tests for assessment.geography.coterminosity and the co-terminosity map."""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely

from assessment.geography.coterminosity import (coterminosity_split_units, coterminosity_summary,
                                                coterminosity_table, coterminosity_tables)
from assessment.geography.maps import coterminosity_map


def _row(edges, codes, **cols):
    boxes = [shapely.box(a, 0, b, 100) for a, b in zip(edges[:-1], edges[1:])]
    return gpd.GeoDataFrame({"code": codes, "name": [c.lower() for c in codes], **cols}, geometry=boxes, crs=27700)


SOURCE = _row([0, 100, 200, 300, 400], ["S1", "S2", "S3", "S4"])
TARGET = _row([0, 103, 200, 260, 400], ["T1", "T2", "T3", "T4"])
SMALL = _row([0, 100, 200, 300, 400], ["a", "b", "c", "d"], pop_total=[100, 200, 300, 400])


def test_identical_layers_index_one():
    tgt = SOURCE.assign(code=["W1", "W2", "W3", "W4"])
    table = coterminosity_table(SOURCE, tgt, SMALL)
    assert table["coterminous"].all()
    np.testing.assert_allclose(table["area_share"], 1.0)
    np.testing.assert_allclose(table["population_share"], 1.0)
    s = coterminosity_summary(table).iloc[0]
    assert s["index"] == pytest.approx(1.0) and s["weighting"] == "population" and s["n_split"] == 0
    assert coterminosity_split_units(table).empty


def test_offset_layers_by_hand():
    table = coterminosity_table(SOURCE, TARGET, SMALL).set_index("source_code")
    # S2: 97 m of 100 in T2 -> co-terminous at 95%; S3: 60/40 -> split
    assert table.loc["S2", "best_fit_target"] == "T2"
    assert table.loc["S2", "area_share"] == pytest.approx(0.97)
    assert bool(table.loc["S2", "coterminous"])
    assert table.loc["S3", "best_fit_target"] == "T3"
    assert table.loc["S3", "area_share"] == pytest.approx(0.6)
    assert table.loc["S3", "population_share"] == pytest.approx(0.6)
    assert table.loc["S3", "targets"] == "T3 60%; T4 40%"
    assert table.loc["S3", "target_names"] == "t3 60%; t4 40%"  # the same shares, by name
    assert table.loc["S3", "n_targets"] == 2
    np.testing.assert_allclose(table["source_population"], [100, 200, 300, 400])
    np.testing.assert_allclose(table["source_area_km2"], 0.01)
    s = coterminosity_summary(table.reset_index()).iloc[0]
    assert s["index"] == pytest.approx(0.7)  # (100 + 200 + 400) / 1000
    assert s["unweighted_index"] == pytest.approx(0.75)
    assert coterminosity_split_units(table.reset_index())["source_code"].tolist() == ["S3"]
    # a stricter threshold splits S2 too
    strict = coterminosity_table(SOURCE, TARGET, SMALL, threshold=0.98)
    assert coterminosity_split_units(strict)["source_code"].tolist() == ["S3", "S2"]


def test_without_population_is_area_weighted_and_wgs84_works():
    wgs = SOURCE.set_geometry(SOURCE.geometry.translate(440000, 290000)).to_crs(4326)
    tgt = TARGET.set_geometry(TARGET.geometry.translate(440000, 290000))
    table = coterminosity_table(wgs, tgt)
    assert table["population_share"].isna().all()
    np.testing.assert_allclose(table["source_area_km2"], 0.01, rtol=1e-4)
    s = coterminosity_summary(table).iloc[0]
    assert s["weighting"] == "area" and s["index"] == pytest.approx(0.75, rel=1e-4)


def test_tables_and_map_from_disk(tmp_path):
    tables = coterminosity_tables(SOURCE, TARGET, "beats", "wards", SMALL)
    assert set(tables) == {"coterminosity_beats_to_wards_units", "coterminosity_beats_to_wards_summary",
                           "coterminosity_beats_to_wards_split"}
    for name, frame in tables.items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    table = tables["coterminosity_beats_to_wards_units"]
    src = SOURCE.set_geometry(SOURCE.geometry.translate(440000, 290000))
    tgt = TARGET.set_geometry(TARGET.geometry.translate(440000, 290000)).to_crs(4326)
    fmap = coterminosity_map(src, tgt, table, "beat", "ward")
    assert isinstance(fmap, folium.Map)
    html = fmap.get_root().render()
    assert "tile.openstreetmap" not in html  # no external tiles by default
    assert "split across wards" in html and "S3" in html and "best-fit ward" in html
    fmap.save(tmp_path / "map.html")
    assert (tmp_path / "map.html").stat().st_size > 1000
