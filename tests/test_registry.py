"""Tests for assessment.geography.registry: dated versions, working CRS, event versions."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from assessment.errors import GeographyError
from assessment.geography.registry import (BoundaryRegistry, registry_add, registry_assign_versions,
                                           registry_version_at, registry_versions)


def _wards(codes, crs=27700):
    geoms = [shapely.box(i * 1000, 0, (i + 1) * 1000, 1000) for i in range(len(codes))]
    return gpd.GeoDataFrame({"ward_code": codes, "ward_name": [c.lower() for c in codes]},
                            geometry=geoms, crs=crs)


def _registry():
    reg = BoundaryRegistry()
    registry_add(reg, "wards", _wards(["A", "B"]), "2019-05-02", "2024-04-30", code_field="ward_code",
                 name_field="ward_name")
    registry_add(reg, "wards", _wards(["A", "C"]), "2024-05-01", None, code_field="ward_code",
                 name_field="ward_name")
    return reg


def test_version_at_boundary_dates():
    reg = _registry()
    assert registry_version_at(reg, "wards", "2024-04-30").version == "2019-05-02"
    assert registry_version_at(reg, "wards", "2024-05-01").version == "2024-05-01"
    assert registry_version_at(reg, "wards", "2031-01-01").version == "2024-05-01"
    with pytest.raises(GeographyError, match="no version in force on 2019-05-01"):
        registry_version_at(reg, "wards", "2019-05-01")
    with pytest.raises(GeographyError, match="not in the registry"):
        registry_version_at(reg, "beats", "2020-01-01")


def test_overlapping_versions_refused():
    reg = _registry()
    with pytest.raises(GeographyError, match="overlaps"):
        registry_add(reg, "wards", _wards(["X"]), "2024-01-01", "2024-12-31", code_field="ward_code")


def test_wgs84_input_is_stored_in_27700_with_areas_in_m2():
    reg = BoundaryRegistry()
    wgs = _wards(["A", "B"]).set_geometry(_wards(["A", "B"]).geometry.translate(440000, 290000)).to_crs(4326)
    v = registry_add(reg, "beats", wgs, "2020-01-01", code_field="ward_code", name_field="ward_name")
    assert v.units.crs.to_epsg() == 27700
    np.testing.assert_allclose(v.units.area, [1e6, 1e6], rtol=1e-6)
    assert list(v.units["code"]) == ["A", "B"] and list(v.units["name"]) == ["a", "b"]
    table = registry_versions(reg, "beats")
    np.testing.assert_allclose(table["area_km2"], [2.0], rtol=1e-6)


def test_events_get_version_in_force_by_date_or_month():
    reg = _registry()
    events = pd.DataFrame({
        "date": pd.to_datetime(["2023-06-01 10:00", "2024-04-30 23:59", "2024-05-01 00:00", None, None, None]),
        "month": ["2023-06", "2024-04", "2024-05", "2024-04", "2024-05", None],
    })
    got = registry_assign_versions(events, reg, "wards")
    expected = ["2019-05-02", "2019-05-02", "2024-05-01", "2019-05-02", "2024-05-01", None]
    assert got.tolist() == [e if e is not None else pd.NA for e in expected]


def test_registry_rejects_geographic_crs():
    with pytest.raises(ValueError, match="projected"):
        BoundaryRegistry(crs="EPSG:4326")
