"""Folium maps for partner documents: choropleths and point layers, optionally offline.

Maps are built in EPSG:27700 data and shown in WGS84 (Leaflet's display CRS): the
reprojection happens here, for display only. Colour classes come from mapclassify.
A legend is plain HTML inside the map, so the page needs no script beyond Leaflet.

With ``offline=True`` the Leaflet script and stylesheet are inlined from the
``django-js-lib-leaflet`` package (a PyPI repackaging of Leaflet 1.9.4), so the map
draws for a partner behind a firewall with no network at all. A basemap is optional
and off by default; boundaries carry the map on their own.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from ..checks import check_geodataframe, check_type
from ..escaping import escape_html
from ..geography.maps import check_map_escaped, feature_group, geojson_layer

# A colour-blind-safe sequential palette (ColorBrewer YlOrRd, 5 classes) and a grey for
# suppressed or missing areas. Source: Brewer, C. A. (2002) ColorBrewer.org.
PALETTE = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
NO_DATA = "#bdbdbd"
_LEAFLET_JS = re.compile(r'<script src="[^"]*/leaflet\.js"></script>')
_LEAFLET_CSS = re.compile(r'<link rel="stylesheet" href="[^"]*/leaflet\.css"/>')


def _leaflet_asset(name: str) -> str:
    base = resources.files("js_lib_leaflet") / "static" / "js_lib_leaflet"
    return (base / name).read_text(encoding="utf-8")


def _base_map(gdf_wgs: Any, basemap: bool) -> Any:
    import folium

    minx, miny, maxx, maxy = gdf_wgs.total_bounds
    fmap = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        tiles="OpenStreetMap" if basemap else None,
        control_scale=True,
        prefer_canvas=False,
    )
    # Only Leaflet is needed: no jQuery, Bootstrap or icon fonts from third-party hosts.
    fmap.default_js = [js for js in fmap.default_js if js[0] == "leaflet"]
    fmap.default_css = [css for css in fmap.default_css if css[0] == "leaflet_css"]
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    return fmap


def map_page(fmap: Any, offline: bool = False) -> str:
    """Render a folium map to a complete HTML page; with ``offline`` inline Leaflet.

    Only Leaflet itself is kept among folium's default libraries (jQuery, Bootstrap and the
    icon fonts serve markers and popups these maps do not use), so a map built anywhere in
    the package loads nothing else from third-party hosts. Every map is checked here
    (:func:`~assessment.geography.maps.check_map_escaped`): a layer, tooltip or popup not built
    by the escaping builders is refused, so no data text reaches the page as HTML.
    """
    check_map_escaped(fmap)
    fmap.default_js = [js for js in fmap.default_js if js[0] == "leaflet"]
    fmap.default_css = [css for css in fmap.default_css if css[0] == "leaflet_css"]
    page = fmap.get_root().render()
    if offline:
        js = _leaflet_asset("leaflet.js").replace("</script>", "<\\/script>")
        css = _leaflet_asset("leaflet.css")
        page, n_js = _LEAFLET_JS.subn(lambda _: f"<script>{js}</script>", page)
        page, n_css = _LEAFLET_CSS.subn(lambda _: f"<style>{css}</style>", page)
        if n_js != 1 or n_css != 1:
            raise RuntimeError(
                f"offline map must find exactly one Leaflet script and stylesheet to inline, got {n_js} and {n_css}"
            )
    return page


def _legend_html(title: str, labels: list[str], colours: list[str]) -> str:
    rows = "".join(
        f'<div><span style="display:inline-block;width:14px;height:14px;background:{c};'
        f'border:1px solid #555;margin-right:6px"></span>{escape_html(lbl)}</div>'
        for lbl, c in zip(labels, colours)
    )
    return (
        # On a phone the legend is kept small (at most about half the width and half the height,
        # so under a quarter of the map) and scrolls if it holds more.
        "<style>@media (max-width: 480px) { .map-legend { font-size: 10px !important; padding: 4px 6px !important;"
        " max-width: 48%; max-height: 48%; overflow: auto; bottom: 16px !important; right: 6px !important; }"
        " .map-legend span { width: 10px !important; height: 10px !important; margin-right: 4px !important; } }"
        "</style>"
        '<div class="map-legend" style="position:absolute;bottom:24px;right:10px;z-index:1000;background:#fff;'
        'padding:8px 10px;border:1px solid #777;font:12px Arial,sans-serif;color:#1b1b1b">'
        f"<strong>{escape_html(title)}</strong>{rows}</div>"
    )


def map_choropleth(
    areas: Any,
    value: str,
    *,
    name_column: str,
    legend: str,
    tooltip_columns: dict[str, str] | None = None,
    k: int = 5,
    scheme: str = "quantiles",
    offline: bool = False,
    basemap: bool = False,
    points: Any = None,
    point_label: str | None = None,
) -> str:
    """A choropleth of ``value`` by area, as a complete HTML page.

    Parameters
    ----------
    areas : GeoDataFrame
        Polygons in any CRS; reprojected to WGS84 for display.
    value : str
        Column to shade. Missing values (for example suppressed counts) are grey and
        labelled "suppressed or no data".
    name_column : str
        Column naming each area in its tooltip.
    legend : str
        Legend title, e.g. "Crimes per 1,000 residents".
    tooltip_columns : dict, optional
        Extra columns for the tooltip, column -> label.
    k, scheme : int, str
        Number of classes and the mapclassify scheme (``quantiles``, ``naturalbreaks``,
        ``equalinterval``).
    offline, basemap : bool
        Inline Leaflet; add an OpenStreetMap basemap (needs network).
    points : GeoDataFrame, optional
        Points drawn on top (e.g. licensed premises), as small circles.

    Returns
    -------
    str
        The map's HTML page.

    Notes
    -----
    Class breaks from mapclassify (Rey, Stephens & Laura 2017, "mapclassify: a Python
    package for choropleth map classification").
    """
    import folium
    import mapclassify

    check_geodataframe(areas, "areas", [value, name_column])
    check_type(legend, "legend", str)
    gdf = areas.to_crs(4326).copy()
    vals = pd.to_numeric(gdf[value], errors="coerce")
    have = vals.notna().to_numpy()
    colours = np.full(len(gdf), NO_DATA, dtype=object)
    labels: list[str] = []
    legend_colours: list[str] = []
    if have.sum() > 0:
        distinct = np.unique(vals[have])
        k_used = int(max(1, min(k, len(distinct))))
        if k_used == 1:
            bins = np.array([float(distinct.max())])
            yb = np.zeros(int(have.sum()), dtype=int)
        else:
            classifier = {
                "quantiles": mapclassify.Quantiles,
                "naturalbreaks": mapclassify.NaturalBreaks,
                "equalinterval": mapclassify.EqualInterval,
            }[scheme](vals[have].to_numpy(), k=k_used)
            bins, yb = np.asarray(classifier.bins), np.asarray(classifier.yb)
        palette = list(PALETTE[-len(bins):]) if len(bins) <= len(PALETTE) else list(PALETTE)
        colours[have] = np.asarray(palette, dtype=object)[np.minimum(yb, len(palette) - 1)]
        lower = float(vals[have].min())
        for i, upper in enumerate(bins):
            labels.append(f"{lower:,.1f} to {float(upper):,.1f}")
            legend_colours.append(palette[min(i, len(palette) - 1)])
            lower = float(upper)
    if (~have).any():
        labels.append("suppressed or no data")
        legend_colours.append(NO_DATA)
    gdf["_fill"] = colours
    tips = {name_column: "Area", value: legend, **(tooltip_columns or {})}
    for col in tips:
        if col != name_column and col in gdf:
            num = pd.to_numeric(gdf[col], errors="coerce")
            gdf[col] = np.where(num.notna(), num.map(lambda v: f"{v:,.1f}" if v % 1 else f"{v:,.0f}"), "suppressed or no data") \
                if pd.api.types.is_numeric_dtype(gdf[col]) else gdf[col].astype("string").fillna("")
    keep = [c for c in tips if c in gdf] + ["_fill", "geometry"]
    gdf = gdf[keep]
    fmap = _base_map(gdf, basemap)
    geojson_layer(
        gdf,
        fields=[c for c in tips if c in gdf], aliases=[tips[c] for c in tips if c in gdf], keep=["_fill"],
        name=legend,
        style_function=lambda f: {
            "fillColor": f["properties"]["_fill"], "color": "#333333", "weight": 1, "fillOpacity": 0.75,
        },
        highlight_function=lambda f: {"weight": 3, "color": "#000000"},
    ).add_to(fmap)
    if points is not None and len(points):
        pts = points.to_crs(4326)
        layer = feature_group(point_label or "Points")
        coords = np.column_stack([pts.geometry.y.to_numpy(), pts.geometry.x.to_numpy()])
        for lat, lon in coords:  # bounded by the number of premises or sites, not by event volume
            folium.CircleMarker([lat, lon], radius=3, color="#0b4f6c", fill=True, fill_opacity=0.9, weight=1).add_to(layer)
        layer.add_to(fmap)
    fmap.get_root().html.add_child(folium.Element(_legend_html(legend, labels, legend_colours)))
    return map_page(fmap, offline=offline)


def map_layers(
    layers: list[tuple[Any, str, str]],
    *,
    highlight: Any = None,
    highlight_label: str = "Highlighted",
    highlight_aliases: dict[str, str] | None = None,
    offline: bool = False,
    basemap: bool = False,
) -> str:
    """Several boundary layers outlined in different colours, with an optional highlight layer.

    ``layers`` is a list of (GeoDataFrame, name column, label). Used for co-terminosity
    maps (both boundary sets, split units highlighted) and hotspot maps.
    """
    import folium

    if not layers:
        raise ValueError("`layers` must hold at least one (GeoDataFrame, name column, label), got none")
    outline = ("#0b4f6c", "#8a1c1c", "#1d5e20", "#5b2a86")
    first = layers[0][0].to_crs(4326)
    fmap = _base_map(first, basemap)
    labels, colours = [], []
    for i, (gdf, name_col, label) in enumerate(layers):
        check_geodataframe(gdf, f"layers[{i}]", [name_col])
        g = gdf[[name_col, "geometry"]].to_crs(4326)
        colour = outline[i % len(outline)]
        geojson_layer(
            g, fields=[name_col], aliases=[label], name=label,
            style_function=lambda f, c=colour, w=3 - min(i, 1): {"color": c, "weight": w, "fillOpacity": 0.0},
        ).add_to(fmap)
        labels.append(label)
        colours.append(colour)
    if highlight is not None and len(highlight):
        cols = [c for c in highlight.columns if c != "geometry"][:3]
        h = highlight.to_crs(4326)
        geojson_layer(
            h[cols + [h.geometry.name]], fields=cols, aliases=[(highlight_aliases or {}).get(c, c) for c in cols],
            name=highlight_label,
            style_function=lambda f: {"color": "#f03b20", "weight": 1, "fillColor": "#f03b20", "fillOpacity": 0.45},
        ).add_to(fmap)
        labels.append(highlight_label)
        colours.append("#f03b20")
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.get_root().html.add_child(folium.Element(_legend_html("Layers", labels, colours)))
    return map_page(fmap, offline=offline)
