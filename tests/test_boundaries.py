"""Tests for assessment.intake.boundaries: every format, CRS rules, repairs reported."""

from __future__ import annotations

import json
import zipfile

import geopandas as gpd
import numpy as np
import pytest
import shapely

from assessment.errors import GeographyError
from assessment.intake.boundaries import read_boundary, read_boundary_kml_folder, repaired_boundary

KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>{name}</name>
<Polygon><outerBoundaryIs><LinearRing><coordinates>{coords}</coordinates></LinearRing></outerBoundaryIs>
</Polygon></Placemark></Document></kml>"""


def _squares():
    return gpd.GeoDataFrame({"ward_code": ["W1", "W2"], "ward_name": ["One", "Two"], "pop": [10, 20]},
                            geometry=[shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000)],
                            crs="EPSG:27700")


def _kml_coords(lonlat, z=False):
    return " ".join(f"{x},{y},0" if z else f"{x},{y}" for x, y in lonlat)


def test_geojson_gpkg_shapefile_and_zip_read_alike(tmp_path):
    sq = _squares()
    sq.to_file(tmp_path / "w.geojson")
    sq.to_file(tmp_path / "w.gpkg", layer="wards")
    sq.to_file(tmp_path / "w.shp")
    with zipfile.ZipFile(tmp_path / "w.zip", "w") as zf:
        for ext in ("shp", "shx", "dbf", "prj"):
            zf.write(tmp_path / f"w.{ext}", f"inner/w.{ext}")
    for path, layer in [("w.geojson", None), ("w.gpkg", "wards"), ("w.shp", None), ("w.zip", None)]:
        units, repairs = read_boundary(tmp_path / path, "ward_code", "ward_name", layer=layer, crs="EPSG:27700")
        assert list(units["code"]) == ["W1", "W2"], path
        assert list(units["name"]) == ["One", "Two"]
        assert list(units["pop"]) == [10, 20]
        assert units.crs.to_epsg() == 27700
        np.testing.assert_allclose(units.area, [1e6, 1e6])
        assert repairs.empty


def test_missing_field_names_file_and_field(tmp_path):
    _squares().to_file(tmp_path / "w.geojson")
    with pytest.raises(GeographyError, match=r"w\.geojson.*no code field 'wd_cd'"):
        read_boundary(tmp_path / "w.geojson", "wd_cd", crs="EPSG:27700")


def test_missing_gpkg_layer_named(tmp_path):
    _squares().to_file(tmp_path / "w.gpkg", layer="wards")
    with pytest.raises(GeographyError, match="no layer 'beats'"):
        read_boundary(tmp_path / "w.gpkg", "ward_code", layer="beats", crs="EPSG:27700")


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_crs_assigned_when_missing_and_mismatch_refused(tmp_path):
    sq = _squares()
    sq.set_crs(None, allow_override=True).to_file(tmp_path / "nocrs.shp")
    units, _ = read_boundary(tmp_path / "nocrs.shp", "ward_code", crs="EPSG:27700")
    assert units.crs.to_epsg() == 27700
    with pytest.raises(GeographyError, match="no CRS and none was declared"):
        read_boundary(tmp_path / "nocrs.shp", "ward_code")
    sq.to_crs(4326).to_file(tmp_path / "wgs.geojson")
    with pytest.raises(GeographyError, match="declares CRS .*4326.*catalogue declares EPSG:27700"):
        read_boundary(tmp_path / "wgs.geojson", "ward_code", crs="EPSG:27700")


def test_geojson_without_crs_member_in_metres_takes_declared_crs(tmp_path):
    fc = json.loads(_squares().to_json())
    fc.pop("crs", None)
    (tmp_path / "bare.geojson").write_text(json.dumps(fc))
    with pytest.warns(UserWarning, match="no `crs` member"):
        units, _ = read_boundary(tmp_path / "bare.geojson", "ward_code", crs="EPSG:27700")
    assert units.crs.to_epsg() == 27700


def test_geojson_declaring_crs84_over_grid_coordinates_is_named_for_what_it_is(tmp_path):
    fc = json.loads(_squares().to_json())
    fc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    (tmp_path / "crs84.geojson").write_text(json.dumps(fc))
    with pytest.warns(UserWarning) as caught:
        units, _ = read_boundary(tmp_path / "crs84.geojson", "ward_code", crs="EPSG:27700")
    message = " ".join(str(w.message) for w in caught)
    assert "declares CRS urn:ogc:def:crs:OGC:1.3:CRS84" in message and "do not fit that CRS" in message
    assert "no `crs` member" not in message
    assert units.crs.to_epsg() == 27700


def test_duplicate_codes_refused(tmp_path):
    sq = _squares()
    sq["ward_code"] = ["W1", "W1"]
    sq.to_file(tmp_path / "d.geojson")
    with pytest.raises(GeographyError, match="repeats code"):
        read_boundary(tmp_path / "d.geojson", "ward_code", crs="EPSG:27700")


def test_kml_folder_with_z_and_bowtie_repaired_and_reported(tmp_path):
    force = tmp_path / "riverton"
    force.mkdir()
    square = [(-1.5, 52.5), (-1.4, 52.5), (-1.4, 52.6), (-1.5, 52.6), (-1.5, 52.5)]
    bowtie = [(-1.3, 52.5), (-1.2, 52.6), (-1.2, 52.5), (-1.3, 52.6), (-1.3, 52.5)]
    (force / "NH1.kml").write_text(KML.format(name="Centre", coords=_kml_coords(square, z=True)))
    (force / "NH2.kml").write_text(KML.format(name="East", coords=_kml_coords(bowtie)))
    units, repairs = read_boundary_kml_folder(tmp_path)  # parent of force folders
    assert list(units["code"]) == ["NH1", "NH2"]
    assert list(units["name"]) == ["Centre", "East"]
    assert set(units["force"]) == {"riverton"}
    assert units.crs.to_epsg() == 4326
    assert not shapely.has_z(units.geometry.to_numpy()).any()
    assert units.is_valid.all()
    assert set(units.geom_type) <= {"Polygon", "MultiPolygon"}
    # the bow-tie's two triangles keep the full area of the two lobes (0.1 x 0.1 / 2)
    np.testing.assert_allclose(units.geometry.iloc[1].area, 0.005, rtol=1e-9)
    rep = repairs.set_index("unit_code")
    assert rep.loc["NH1", "problem"] == "had Z values"
    assert rep.loc["NH1", "source_file"] == "NH1.kml"
    assert "self-intersection" in rep.loc["NH2", "problem"]
    assert rep.loc["NH2", "action"].startswith("repaired")  # in words, not the library's function name
    # the same through the dispatcher, reprojected
    units2, _ = read_boundary(force, "ignored", to_crs="EPSG:27700")
    assert units2.crs.to_epsg() == 27700


def test_kml_refuses_projected_declaration_and_empty_folder(tmp_path):
    with pytest.raises(GeographyError, match="WGS84"):
        read_boundary_kml_folder(tmp_path, crs="EPSG:27700")
    with pytest.raises(GeographyError, match="no .kml files"):
        read_boundary_kml_folder(tmp_path)


def test_repaired_boundary_drops_lines_from_collapsed_parts():
    # a polygon with a zero-width spike: make_valid returns polygon + line
    spike = shapely.Polygon([(0, 0), (10, 0), (10, 10), (10, 20), (10, 10), (0, 10), (0, 0)])
    gdf = gpd.GeoDataFrame({"code": ["A"]}, geometry=[spike], crs=27700)
    out, rep = repaired_boundary(gdf, "code")
    assert out.is_valid.all() and set(out.geom_type) <= {"Polygon", "MultiPolygon"}
    np.testing.assert_allclose(out.area, [100.0])
    assert len(rep) >= 1 and (rep["unit_code"] == "A").all()
