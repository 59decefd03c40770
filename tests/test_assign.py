"""Tests for assessment.geography.assign: edge rule, outside and missing points, versions."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from assessment.geography.assign import assign_points, assign_points_versioned
from assessment.geography.registry import BoundaryRegistry, registry_add


def _grid():
    # 2 x 2 squares of 100 m: codes chosen so that lowest code is not first in file order
    boxes = [shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100),
             shapely.box(0, 100, 100, 200), shapely.box(100, 100, 200, 200)]
    return gpd.GeoDataFrame({"code": ["D", "C", "B", "A"]}, geometry=boxes, crs=27700)


def test_interior_edge_vertex_outside_and_missing_points():
    pts = pd.DataFrame({
        "easting": [50, 150, 100, 100, 50, 300, np.nan, 0],
        "northing": [50, 150, 50, 100, 100, 300, 10, 0],
    })
    out, rep = assign_points(pts, _grid(), warn_outside=False)
    # (100,50): edge D|C -> C ; (100,100): vertex of all four -> A ; (50,100): edge D|B -> B
    # (0,0): outer corner of D only -> D (covered, not a tie)
    assert out["unit_code"].tolist() == ["D", "A", "C", "A", "B", pd.NA, pd.NA, "D"]
    assert out["unit_code_on_edge"].tolist() == [False, False, True, True, True, False, False, False]
    assert rep.to_dict() == {"n_points": 8, "n_assigned": 6, "n_on_edge_resolved": 3,
                             "n_outside": 1, "n_no_coordinates": 1}


def test_each_point_counted_once_against_independent_count():
    rng = np.random.default_rng(1)
    # points on a 10 m lattice: many fall exactly on the 100 m edges
    xy = rng.integers(0, 21, size=(2000, 2)) * 10.0
    pts = pd.DataFrame({"easting": xy[:, 0], "northing": xy[:, 1]})
    out, rep = assign_points(pts, _grid(), warn_outside=False)
    assert rep["n_assigned"] + rep["n_outside"] + rep["n_no_coordinates"] == len(pts)
    assert rep["n_outside"] == 0  # the lattice stays within [0, 200]
    assert out["unit_code"].value_counts().sum() == len(pts)
    # independent: plain sjoin with 'intersects' gives >= 1 match per point; ties are rows with >1 match
    g = gpd.GeoDataFrame(pts, geometry=gpd.points_from_xy(pts.easting, pts.northing), crs=27700)
    j = gpd.sjoin(g, _grid(), predicate="intersects")
    n_match = j.groupby(level=0).size()
    assert rep["n_on_edge_resolved"] == int((n_match > 1).sum())
    lowest = j.groupby(level=0)["code"].min()
    assert (out["unit_code"].astype(str) == lowest.reindex(out.index)).all()


def test_geodataframe_in_wgs84_is_reprojected():
    grid = _grid().set_geometry(_grid().geometry.translate(440000, 290000))
    g = gpd.GeoDataFrame(geometry=gpd.points_from_xy([440050, 440150], [290050, 290150]), crs=27700).to_crs(4326)
    out, rep = assign_points(g, grid)
    assert out["unit_code"].tolist() == ["D", "A"]


def test_outside_points_warned():
    pts = pd.DataFrame({"easting": [500.0], "northing": [500.0]})
    with pytest.warns(UserWarning, match="outside every unit"):
        _, rep = assign_points(pts, _grid())
    assert rep["n_outside"] == 1


def test_versioned_assignment_across_ward_review():
    reg = BoundaryRegistry()
    old = gpd.GeoDataFrame({"code": ["W1", "W2"]},
                           geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)], crs=27700)
    new = gpd.GeoDataFrame({"code": ["W1", "W9"]},
                           geometry=[shapely.box(0, 0, 150, 100), shapely.box(150, 0, 200, 100)], crs=27700)
    registry_add(reg, "wards", old, "2019-05-02", "2024-04-30")
    registry_add(reg, "wards", new, "2024-05-01")
    events = pd.DataFrame({"date": pd.to_datetime(["2024-04-30", "2024-05-01", None, "2018-01-01"]),
                           "month": ["2024-04", "2024-05", "2025-01", "2018-01"],
                           "easting": [120.0, 120.0, 170.0, 50.0], "northing": [50.0] * 4})
    with pytest.warns(UserWarning, match="no version in force"):
        out, rep = assign_points_versioned(events, reg, "wards")
    assert out["wards_code"].tolist() == ["W2", "W1", "W9", pd.NA]
    assert out["wards_code_version"].tolist() == ["2019-05-02", "2024-05-01", "2024-05-01", pd.NA]
    r = rep.set_index("version")
    assert r.loc["2019-05-02", "n_assigned"] == 1 and r.loc["2024-05-01", "n_assigned"] == 2
    assert r.loc["no version", "n_points"] == 1
    assert r["n_points"].sum() == len(events)


def test_repeated_coordinate_pairs_count_as_rows_and_match_the_point_path():
    # snapped map points: a few pairs repeated many times, edge and vertex ties among them, -0.0 too
    base = pd.DataFrame({"easting": [50.0, 100.0, 100.0, 300.0, np.nan, -0.0],
                         "northing": [50.0, 50.0, 100.0, 300.0, 5.0, 0.0]})
    pts = base.iloc[np.tile(np.arange(len(base)), 50)].reset_index(drop=True)
    out, rep = assign_points(pts, _grid(), warn_outside=False)
    has = pts["easting"].notna().to_numpy()
    g = gpd.GeoDataFrame(pts[has], geometry=gpd.points_from_xy(pts.easting[has], pts.northing[has]), crs=27700)
    want, _ = assign_points(g, _grid(), warn_outside=False)  # every point built and assigned
    assert out["unit_code"][has].tolist() == want["unit_code"].tolist()
    assert out["unit_code_on_edge"][has].tolist() == want["unit_code_on_edge"].tolist()
    assert out["unit_code"][~has].isna().all()
    assert rep.to_dict() == {"n_points": 300, "n_assigned": 200, "n_on_edge_resolved": 100,
                             "n_outside": 50, "n_no_coordinates": 50}
