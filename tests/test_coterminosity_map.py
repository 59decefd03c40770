"""Tests for assessment/geography/maps.py: the co-terminosity map."""

from __future__ import annotations

import json
import re

import folium
import geopandas as gpd
from shapely.geometry import box

from assessment.geography.coterminosity import coterminosity_table
from assessment.geography.maps import coterminosity_map
from assessment.reporting.maps import map_page


def _layers():
    # two wards side by side; beat B2 straddles them half and half, B1 and B3 nest
    wards = gpd.GeoDataFrame({"code": ["W1", "W2"], "name": ["West", "East"]},
                             geometry=[box(432000, 284000, 434000, 286000), box(434000, 284000, 436000, 286000)],
                             crs=27700)
    beats = gpd.GeoDataFrame({"code": ["B1", "B2", "B3"], "name": ["North-west", "Middle", "East"]},
                             geometry=[box(432000, 284000, 433000, 286000), box(433000, 284000, 435000, 286000),
                                       box(435000, 284000, 436000, 286000)], crs=27700)
    return beats, wards


def _geojson(obj) -> dict:
    data = obj.data
    return json.loads(data) if isinstance(data, str) else data


def test_map_has_both_layers_and_the_split_units():
    beats, wards = _layers()
    table = coterminosity_table(beats, wards)
    assert table.set_index("source_code")["coterminous"].to_dict() == {"B1": True, "B2": False, "B3": True}
    fmap = coterminosity_map(beats, wards, table, source_label="beat", target_label="ward")
    assert isinstance(fmap, folium.Map)
    layers = {c.layer_name: c for c in fmap._children.values() if isinstance(c, folium.GeoJson)}
    assert set(layers) == {"ward boundaries", "beat (co-terminous)", "beat split across wards"}
    codes = {name: sorted(f["properties"].get("source_code", f["properties"].get("code"))
                          for f in _geojson(layer)["features"]) for name, layer in layers.items()}
    assert codes == {"ward boundaries": ["W1", "W2"], "beat (co-terminous)": ["B1", "B3"],
                     "beat split across wards": ["B2"]}
    split = _geojson(layers["beat split across wards"])["features"][0]["properties"]
    # wards are named by name in the tooltip, never by code
    assert split["best_fit_target_name"] in ("West", "East") and split["area_pct"] == "50.0"
    assert split["target_names"] in ("West 50%; East 50%", "East 50%; West 50%")
    assert any(isinstance(c, folium.LayerControl) for c in fmap._children.values())


def test_no_split_layer_when_everything_nests():
    beats, wards = _layers()
    nested = beats.iloc[[0, 2]].reset_index(drop=True)
    fmap = coterminosity_map(nested, wards, coterminosity_table(nested, wards))
    names = {c.layer_name for c in fmap._children.values() if isinstance(c, folium.GeoJson)}
    assert names == {"target boundaries", "source (co-terminous)"}


def test_geographic_input_shown_in_wgs84():
    beats, wards = _layers()
    fmap = coterminosity_map(beats.to_crs(4326), wards, coterminosity_table(beats, wards))
    for layer in (c for c in fmap._children.values() if isinstance(c, folium.GeoJson)):
        for f in _geojson(layer)["features"]:
            lon, lat = f["geometry"]["coordinates"][0][0]
            assert -3 < lon < 0 and 51 < lat < 54


def test_renders_offline_through_map_page():
    beats, wards = _layers()
    page = map_page(coterminosity_map(beats, wards, coterminosity_table(beats, wards)), offline=True)
    assert "<html" in page.lower()
    external = [u for u in re.findall(r"""(?:src|href)\s*=\s*\\?["']?(https?://[^"'\\\s>]*)""", page)
                if not u.startswith("https://leafletjs.com")]
    assert external == []
    assert "Middle" in page and "B2" in page


def test_map_names_the_target_units_escaped_and_draws_tiles_only_when_asked():
    beats, wards = _layers()
    wards = wards.assign(name=["West <b>", "East"])
    table = coterminosity_table(beats, wards)
    page = map_page(coterminosity_map(beats, wards, table, source_label="beat", target_label="ward"))
    texts = json.loads("[" + ",".join(re.findall(r'"html": ("(?:[^"\\]|\\.)*")', page)) + "]")
    assert sorted(texts) == ['<div class="map-label-text">East</div>', '<div class="map-label-text">West &lt;b&gt;</div>']
    assert "L.tileLayer(" not in page
    online = map_page(coterminosity_map(beats, wards, table, tiles="OpenStreetMap"))
    assert online.count("L.tileLayer(") == 1 and "OpenStreetMap\\u003c/a\\u003e contributors" in online
