"""Tests for assessment/reporting/maps.py: choropleth classes, no-data grey, offline pages, layers."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import mapclassify
import numpy as np
import pytest
from shapely.geometry import Point, box

from assessment.reporting import maps

_EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*(?:\\?["'])?\s*(https?://[^"'\\\s>]*)""", re.I)


def _grid(values) -> gpd.GeoDataFrame:
    n = len(values)
    return gpd.GeoDataFrame(
        {"code": [f"A{i:02d}" for i in range(n)], "name": [f"Area {i}" for i in range(n)],
         "v": np.asarray(values, dtype=float)},
        geometry=[box(432000 + 1000 * (i % 4), 284000 + 1000 * (i // 4),
                      433000 + 1000 * (i % 4), 285000 + 1000 * (i // 4)) for i in range(n)],
        crs=27700)


def _geojson_layers(page: str) -> list[dict]:
    """Every GeoJSON collection folium embedded in the page, decoded."""
    dec = json.JSONDecoder()
    return [dec.raw_decode(page, m.end())[0] for m in re.finditer(r"_add\(", page)
            if page.startswith("{", m.end())]


def _legend(page: str) -> list[tuple[str, str]]:
    return re.findall(r'background:(#[0-9a-f]{6});border:1px solid #555;margin-right:6px"></span>([^<]*)</div>', page)


# ---------------------------------------------------------------- map_choropleth

def test_choropleth_legend_and_fills_match_mapclassify_quantiles():
    rng = np.random.default_rng(7)
    values = np.round(rng.gamma(2.0, 10.0, 15), 1)
    page = maps.map_choropleth(_grid(values), "v", name_column="name", legend="Rate per 1,000")
    q = mapclassify.Quantiles(values, k=5)
    legend = _legend(page)
    assert len(legend) == 5
    lower = values.min()
    for (colour, label), upper, expected_colour in zip(legend, q.bins, maps.PALETTE):
        assert label == f"{lower:,.1f} to {upper:,.1f}"
        assert colour == expected_colour
        lower = upper
    (layer,) = _geojson_layers(page)
    fills = {f["properties"]["name"]: f["properties"]["_fill"] for f in layer["features"]}
    for i, cls in enumerate(q.yb):
        assert fills[f"Area {i}"] == maps.PALETTE[cls]


def test_choropleth_missing_values_grey_and_labelled():
    values = [1, 2, 3, 4, 5, 6, 7, np.nan, 9, np.nan]
    page = maps.map_choropleth(_grid(values), "v", name_column="name", legend="Count")
    legend = _legend(page)
    assert legend[-1] == (maps.NO_DATA, "suppressed or no data")
    (layer,) = _geojson_layers(page)
    props = {f["properties"]["name"]: f["properties"] for f in layer["features"]}
    for i in (7, 9):
        assert props[f"Area {i}"]["_fill"] == maps.NO_DATA
        assert props[f"Area {i}"]["v"] == "suppressed or no data"
    assert sum(p["_fill"] == maps.NO_DATA for p in props.values()) == 2


def test_choropleth_all_missing_only_grey_and_one_value_one_class():
    page = maps.map_choropleth(_grid([np.nan] * 3), "v", name_column="name", legend="x")
    assert _legend(page) == [(maps.NO_DATA, "suppressed or no data")]
    page = maps.map_choropleth(_grid([4, 4, 4]), "v", name_column="name", legend="x")
    assert _legend(page) == [(maps.PALETTE[-1], "4.0 to 4.0")]


def test_choropleth_escapes_legend_title_and_validates():
    page = maps.map_choropleth(_grid([1, 2, 3]), "v", name_column="name", legend="<b>Rate</b>")
    assert "<strong>&lt;b&gt;Rate&lt;/b&gt;</strong>" in page
    with pytest.raises(ValueError, match="`areas`.*'nope'"):
        maps.map_choropleth(_grid([1, 2]), "nope", name_column="name", legend="x")
    with pytest.raises(TypeError, match="`legend` must be str"):
        maps.map_choropleth(_grid([1, 2]), "v", name_column="name", legend=3)


def test_offline_page_loads_nothing_from_the_network():
    page = maps.map_choropleth(_grid(range(8)), "v", name_column="name", legend="x", offline=True)
    external = [u for u in _EXTERNAL.findall(page) if not u.startswith("https://leafletjs.com")]
    assert external == []
    assert not re.search(r"<script[^>]*\bsrc=", page)
    assert not re.search(r"<link[^>]*\bhref=", page)
    assert maps._leaflet_asset("leaflet.js").replace("</script>", "<\\/script>") in page
    assert maps._leaflet_asset("leaflet.css") in page
    assert "L.map(" in page


def test_online_page_references_exactly_one_leaflet_js():
    page = maps.map_choropleth(_grid(range(8)), "v", name_column="name", legend="x")
    scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', page)
    assert len(scripts) == 1 and scripts[0].endswith("/leaflet.js")
    sheets = re.findall(r'<link[^>]*\bhref="([^"]+)"', page)
    assert len(sheets) == 1 and sheets[0].endswith("/leaflet.css")
    assert "jquery" not in page.lower() and "bootstrap" not in page.lower()
    assert _EXTERNAL.findall(page) == [scripts[0], sheets[0]]  # the pattern the offline test relies on sees them


def test_geographic_input_reprojected_for_display_only():
    g27700 = _grid([1, 2, 3, 4])
    g4326 = g27700.to_crs(4326)
    before = g4326.copy()
    a = _geojson_layers(maps.map_choropleth(g27700, "v", name_column="name", legend="x"))[0]
    b = _geojson_layers(maps.map_choropleth(g4326, "v", name_column="name", legend="x"))[0]
    ca = np.array([f["geometry"]["coordinates"][0] for f in a["features"]])
    cb = np.array([f["geometry"]["coordinates"][0] for f in b["features"]])
    np.testing.assert_allclose(ca, cb, atol=1e-9)
    # shown in WGS84 degrees around Riverton
    assert ca[..., 0].min() > -3 and ca[..., 0].max() < 0 and 51 < ca[..., 1].min() < 54
    # the caller's frame is not touched
    assert g4326.crs.to_epsg() == 4326 and list(g4326.columns) == list(before.columns)
    assert g4326.geom_equals(before).all() and g4326["v"].equals(before["v"])


def test_choropleth_points_drawn_as_circles():
    pts = gpd.GeoDataFrame(geometry=[Point(432500, 284500), Point(433500, 284500)], crs=27700)
    page = maps.map_choropleth(_grid([1, 2]), "v", name_column="name", legend="x", points=pts)
    assert page.count("L.circleMarker(") == 2


# ---------------------------------------------------------------- map_layers

def test_map_layers_with_highlight():
    wards = _grid([1, 2, 3, 4])
    beats = _grid([5, 6]).assign(code=["B1", "B2"])
    hot = _grid([9]).assign(code=["H1"], z="2.5")
    page = maps.map_layers([(wards, "code", "Wards"), (beats, "code", "Beats")], highlight=hot,
                           highlight_label="Hot <cells>", offline=True)
    layers = _geojson_layers(page)
    assert [len(layer["features"]) for layer in layers] == [4, 2, 1]
    assert {f["properties"]["code"] for f in layers[2]["features"]} == {"H1"}
    assert _legend(page) == [("#0b4f6c", "Wards"), ("#8a1c1c", "Beats"), ("#f03b20", "Hot &lt;cells&gt;")]
    assert [u for u in _EXTERNAL.findall(page) if not u.startswith("https://leafletjs.com")] == []


def test_map_layers_without_highlight_and_validation():
    page = maps.map_layers([(_grid([1, 2]), "code", "Wards")])
    assert len(_geojson_layers(page)) == 1
    assert _legend(page) == [("#0b4f6c", "Wards")]
    with pytest.raises(ValueError, match="`layers`"):
        maps.map_layers([])
    with pytest.raises(ValueError, match=r"`layers\[0\]`.*'nope'"):
        maps.map_layers([(_grid([1]), "nope", "Wards")])


def test_map_page_offline_requires_one_leaflet():
    import folium

    fmap = folium.Map(tiles=None)
    fmap.default_js = []
    with pytest.raises(RuntimeError, match="exactly one Leaflet"):
        maps.map_page(fmap, offline=True)
