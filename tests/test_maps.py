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
    assert _legend(page) == [(maps.PALETTE[-1], "4 to 4")]  # whole numbers written as counts


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
    page = maps.map_choropleth(_grid(range(8)), "v", name_column="name", legend="x", basemap=False)
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


# ---------------------------------------------------------------- tiles, labels, units (issue 13)

def test_online_map_has_attributed_tiles_and_offline_map_is_a_labelled_outline():
    online = maps.map_choropleth(_grid([1, 2, 3]), "v", name_column="name", legend="x")
    offline = maps.map_choropleth(_grid([1, 2, 3]), "v", name_column="name", legend="x", offline=True)
    layers = maps.map_layers([(_grid([1, 2]), "name", "Wards")])
    for page in (online, layers):
        assert page.count("L.tileLayer(") == 1 and "tile.openstreetmap.org" in page
        assert "OpenStreetMap\\u003c/a\\u003e contributors" in page  # the attribution Leaflet shows
    assert "L.tileLayer(" not in offline and "openstreetmap" not in offline.lower()
    assert sorted(_label_texts(offline)) == ["Area 0", "Area 1", "Area 2"]  # outlines plus names
    off_layers = maps.map_layers([(_grid([1, 2]), "name", "Wards")], offline=True)
    assert "L.tileLayer(" not in off_layers and off_layers.count("L.divIcon(") == 2


def _label_texts(page: str) -> list[str]:
    html = json.loads("[" + ",".join(re.findall(r'"html": ("(?:[^"\\]|\\.)*")', page)) + "]")
    return [re.sub(r"^<div class=\"map-label-text\">|</div>$", "", h) for h in html]


def test_every_area_labelled_once_with_its_name_escaped_and_labels_not_interactive():
    grid = _grid([1, 2, 3, 4]).assign(name=["North", "<img src=x onerror=alert(1)>", "O'Brien & Co", "South"])
    page = maps.map_choropleth(grid, "v", name_column="name", legend="x", offline=True)
    texts = _label_texts(page)
    assert sorted(texts) == sorted(["North", "&lt;img src=x onerror=alert(1)&gt;", "O&#x27;Brien &amp; Co", "South"])
    assert "<img src=x" not in page.replace("\\u003c", "<")
    assert page.count('"interactive": false') >= 4 and page.count('"keyboard": false') >= 4
    # many small areas are not labelled (they would crowd); an explicit request still labels
    many = _grid(range(maps.MAX_LABELS + 1))
    assert _label_texts(maps.map_choropleth(many, "v", name_column="name", legend="x")) == []
    assert len(_label_texts(maps.map_choropleth(_grid([1, 2]), "v", name_column="name", legend="x",
                                                labels=False))) == 0


def test_a_marker_not_built_by_label_layer_is_refused():
    import folium

    from assessment.geography.maps import feature_group

    fmap = folium.Map(tiles=None)
    g = feature_group("x")
    folium.Marker([52, -1.5], icon=folium.DivIcon(html="<b>raw</b>")).add_to(g)
    g.add_to(fmap)
    with pytest.raises(ValueError, match="label_layer"):
        maps.map_page(fmap)


def test_tooltip_values_formatted_by_kind():
    grid = _grid([12.345, 3.0]).assign(population=[7693.04, 1200.6], crimes=np.array([1234, 5]),
                                       change=[-12.34, 5.0])
    page = maps.map_choropleth(grid, "v", name_column="name", legend="Crimes per 1,000 residents",
                               tooltip_columns={"population": "Residents", "crimes": "Crimes", "change": "% change"},
                               offline=True)
    (layer,) = _geojson_layers(page)
    props = {f["properties"]["name"]: f["properties"] for f in layer["features"]}
    assert props["Area 0"]["population"] == "7,693" and props["Area 1"]["population"] == "1,201"
    assert props["Area 0"]["crimes"] == "1,234"
    assert props["Area 0"]["change"] == "-12.3%" and props["Area 1"]["change"] == "5.0%"
    assert props["Area 0"]["v"] == "12.3" and props["Area 1"]["v"] == "3.0"
    assert list(maps.format_values([1e6, np.nan], "count")) == ["1,000,000", "suppressed or no data"]
    with pytest.raises(ValueError, match="kind"):
        maps.format_values([1], "money")


def test_legend_labels_carry_units_and_class_labels_replace_codes():
    page = maps.map_choropleth(_grid([10.0, 20.0, 30.0, 40.0]), "v", name_column="name", k=2,
                               legend="Crimes per 1,000 residents", unit="per 1,000")
    assert all(lbl.endswith(" per 1,000") for _, lbl in _legend(page))
    change = _grid([1, 3, 2, np.nan]).assign(v=[1.0, 3.0, 2.0, np.nan])
    names = ["fall of more than 10%", "fall of up to 10%", "rise of more than 10%"]
    page = maps.map_choropleth(change, "v", name_column="name", legend="Change in crimes", class_labels=names)
    legend = _legend(page)
    assert [lbl for _, lbl in legend] == names + ["suppressed or no data"]
    assert not any(re.fullmatch(r"[\d.]+ to [\d.]+", lbl) for _, lbl in legend)
    (layer,) = _geojson_layers(page)
    props = {f["properties"]["name"]: f["properties"] for f in layer["features"]}
    assert props["Area 1"]["v"] == "rise of more than 10%" and props["Area 1"]["_fill"] == legend[2][0]
    with pytest.raises(ValueError, match="class codes 1 to 3"):
        maps.map_choropleth(change.assign(v=[1.0, 4.0, 2.0, 1.0]), "v", name_column="name", legend="x",
                            class_labels=names)


def test_map_layers_labels_streets_and_formats_highlight():
    wards = _grid([1, 2])
    hot = _grid([9]).assign(events=np.array([1234]), z=[2.456])
    streets = gpd.GeoDataFrame({"label": ["Mill <Lane>"]}, geometry=[Point(432500, 284500)], crs=27700)
    page = maps.map_layers([(wards, "name", "Wards")], highlight=hot[["events", "z", "geometry"]],
                           highlight_aliases={"events": "Crimes in this cell", "z": "z-score"}, streets=streets,
                           offline=True)
    assert sorted(_label_texts(page)) == ["Area 0", "Area 1", "Mill &lt;Lane&gt;"]
    assert "map-label map-label-street" in page
    hl = _geojson_layers(page)[-1]
    assert hl["features"][0]["properties"] == {"events": "1,234", "z": "2.5"}


# ---------------------------------------------------------------- the rendered demo (shared editions)

def _maps_of(path) -> list[str]:
    import html as htmlmod

    return [htmlmod.unescape(s) for s in re.findall(r'srcdoc="([^"]*)"', path.read_text(encoding="utf-8"))]


def test_demo_ward_map_labels_every_ward_and_writes_units(demo_outputs, demo_workbench):
    from assessment.escaping import escape_html

    for run in (demo_outputs.runs.get("strategic_assessment"), demo_outputs.offline_run):
        if run is None:
            pytest.fail(f"strategic assessment did not render: {demo_outputs.failures} {demo_outputs.offline_failure}")
        pages = _maps_of(run.html)
        ward_map = next(p for p in pages if "Crimes per 1,000 residents" in p)
        assert sorted(_label_texts(ward_map)) == sorted(escape_html(n) for n in demo_workbench.wards["name"])
        legend = [lbl for _, lbl in _legend(ward_map) if lbl != "suppressed or no data"]
        assert legend and all(lbl.endswith(" per 1,000") for lbl in legend)
        props = [f["properties"] for f in _geojson_layers(ward_map)[0]["features"]]
        assert all(re.fullmatch(r"\d{1,3}(,\d{3})*", p["population"]) for p in props)  # residents: 7,693
        assert all(re.fullmatch(r"\d{1,3}(,\d{3})*\.\d", p["rate"]) for p in props)  # rates: one decimal
        tiles = [p.count("L.tileLayer(") for p in pages]
        assert tiles == ([0] * len(pages) if run is demo_outputs.offline_run else [1] * len(pages))
