"""Folium maps for partner documents: choropleths and point layers, optionally offline.

Maps are built in EPSG:27700 data and shown in WGS84 (Leaflet's display CRS): the
reprojection happens here, for display only. Colour classes come from mapclassify.
A legend is plain HTML inside the map, so the page needs no script beyond Leaflet.

With ``offline=True`` the Leaflet script and stylesheet are inlined from the
``django-js-lib-leaflet`` package (a PyPI repackaging of Leaflet 1.9.4), so the map
draws for a partner behind a firewall with no network at all, as a labelled outline map
(boundaries and names, no tiles). A run that is online (not ``offline``) draws OpenStreetMap
tiles under the boundaries, with their attribution.

Wards (any set of at most :data:`~assessment.geography.maps.MAX_LABELS` areas) are labelled on
the map by name; a zoomed map can also label a few streets from the data's own location
descriptions. Legend classes and tooltip values are written in the mapped unit: counts as whole
numbers with thousands separators, rates with one decimal, percentages with ``%``.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from ..checks import check_geodataframe, check_type
from ..escaping import escape_html
from ..geography.maps import LABEL_CSS, MAX_LABELS, check_map_escaped, feature_group, geojson_layer, label_layer

# A colour-blind-safe sequential palette (ColorBrewer YlOrRd, 5 classes) and a grey for
# suppressed or missing areas. Source: Brewer, C. A. (2002) ColorBrewer.org.
PALETTE = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
NO_DATA = "#bdbdbd"
_LEAFLET_JS = re.compile(r'<script src="[^"]*/leaflet\.js"></script>')
_LEAFLET_CSS = re.compile(r'<link rel="stylesheet" href="[^"]*/leaflet\.css"/>')
#: how a value is written in legends and tooltips
VALUE_FORMATS = ("count", "rate", "percent", "number")
_COUNT_WORDS = re.compile(r"resident|household|population|crimes|incidents|events|offences|count|calls|reports",
                          re.IGNORECASE)
_OUTLINE_CSS = "<style>.leaflet-container{background:#f4f4f0}</style>"


def format_values(values: Any, kind: str = "number") -> pd.Series:
    """Numbers written for a map: counts ``7,693``, rates ``12.3``, percentages ``12.3%``.

    Parameters
    ----------
    values : array-like
        Numbers (anything :func:`pandas.to_numeric` reads; others count as missing).
    kind : {'count', 'rate', 'percent', 'number'}
        ``count``: rounded to a whole number, thousands separated (residents apportioned from
        small areas are whole people); ``rate``: one decimal; ``percent``: one decimal and ``%``;
        ``number``: whole numbers as counts, others with one decimal.

    Returns
    -------
    Series of str
        Missing values as ``"suppressed or no data"``.
    """
    if kind not in VALUE_FORMATS:
        raise ValueError(f"`kind` must be one of {VALUE_FORMATS}, got {kind!r}")
    num = pd.to_numeric(pd.Series(values), errors="coerce").astype(float)
    whole = num.round(0)
    if kind == "count" or (kind == "number" and bool((num.dropna() == whole.dropna()).all())):
        text = whole.map("{:,.0f}".format)
    elif kind == "percent":
        text = num.round(1).map("{:,.1f}%".format)
    else:
        text = num.round(1).map("{:,.1f}".format)
    return text.where(num.notna(), "suppressed or no data").astype(object)


def _format_kind(column: str, label: str, series: pd.Series) -> str:
    """The format of a tooltip column, from its dtype and label (``%`` -> percent, people and counts -> count)."""
    if pd.api.types.is_integer_dtype(series):
        return "count"
    if "%" in label or "percent" in label.lower():
        return "percent"
    if "per 1,000" in label or "rate" in label.lower():
        return "rate"
    if _COUNT_WORDS.search(label) or _COUNT_WORDS.search(column):
        return "count"
    return "number"


def _leaflet_asset(name: str) -> str:
    base = resources.files("js_lib_leaflet") / "static" / "js_lib_leaflet"
    return (base / name).read_text(encoding="utf-8")


def _base_map(gdf_wgs: Any, basemap: bool) -> Any:
    """A map fitted to the frame: OpenStreetMap tiles with their attribution, or an outline map."""
    import folium

    minx, miny, maxx, maxy = gdf_wgs.total_bounds
    fmap = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        tiles="OpenStreetMap" if basemap else None,  # folium adds "(c) OpenStreetMap contributors"
        control_scale=True,
        prefer_canvas=False,
    )
    fmap.get_root().html.add_child(folium.Element(LABEL_CSS + ("" if basemap else _OUTLINE_CSS)))
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
    basemap: bool | None = None,
    points: Any = None,
    point_label: str | None = None,
    unit: str = "",
    value_format: str | None = None,
    tooltip_formats: dict[str, str] | None = None,
    class_labels: list[str] | None = None,
    labels: bool | None = None,
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
        Column naming each area in its tooltip and its label on the map.
    legend : str
        Legend title, e.g. "Crimes per 1,000 residents".
    tooltip_columns : dict, optional
        Extra columns for the tooltip, column -> label.
    k, scheme : int, str
        Number of classes and the mapclassify scheme (``quantiles``, ``naturalbreaks``,
        ``equalinterval``).
    offline : bool
        Inline Leaflet and draw a labelled outline map (no tiles).
    basemap : bool, optional
        OpenStreetMap tiles (with attribution) under the areas; default: when not ``offline``.
    points : GeoDataFrame, optional
        Points drawn on top (e.g. licensed premises), as small circles.
    unit : str, optional
        The mapped unit written after each legend class, e.g. ``"per 1,000"`` -> "12.3 to 15.0 per 1,000".
    value_format : {'count', 'rate', 'percent', 'number'}, optional
        How ``value`` is written in the legend and tooltip (:func:`format_values`); default
        ``rate`` when the legend says "per 1,000", else ``number``.
    tooltip_formats : dict, optional
        Column -> format for the tooltip columns; by default inferred (integers and counts of
        people or events -> ``count``; a label with ``%`` -> ``percent``; "per 1,000" -> ``rate``).
    class_labels : list of str, optional
        ``value`` holds class codes 1..m (for example classes of change); the legend shows these
        labels, one per code, instead of numeric ranges.
    labels : bool, optional
        Write each area's name on the map; default when there are at most
        :data:`~assessment.geography.maps.MAX_LABELS` areas.

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
    check_type(unit, "unit", str)
    kind = value_format or ("rate" if "per 1,000" in legend or "per 1000" in legend else "number")
    if kind not in VALUE_FORMATS:
        raise ValueError(f"`value_format` must be one of {VALUE_FORMATS}, got {value_format!r}")
    gdf = areas.to_crs(4326).copy()
    vals = pd.to_numeric(gdf[value], errors="coerce")
    have = vals.notna().to_numpy()
    colours = np.full(len(gdf), NO_DATA, dtype=object)
    legend_labels: list[str] = []
    legend_colours: list[str] = []
    suffix = f" {unit}" if unit else ""
    if class_labels is not None and have.sum() > 0:
        codes = vals[have].to_numpy(dtype=float)
        if not np.isin(codes, np.arange(1, len(class_labels) + 1)).all():
            raise ValueError(f"`{value}` must hold class codes 1 to {len(class_labels)} (one per class label), "
                             f"got {sorted(set(codes.tolist()))[:10]}")
        m = len(class_labels)
        palette = list(PALETTE[-m:]) if m <= len(PALETTE) else list(PALETTE) + [PALETTE[-1]] * (m - len(PALETTE))
        colours[have] = np.asarray(palette, dtype=object)[codes.astype(int) - 1]
        legend_labels, legend_colours = [str(c) for c in class_labels], palette[:m]
    elif have.sum() > 0:
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
        bounds = format_values(np.concatenate([[float(vals[have].min())], bins.astype(float)]), kind).tolist()
        for i in range(len(bins)):
            legend_labels.append(f"{bounds[i]} to {bounds[i + 1]}{suffix}")
            legend_colours.append(palette[min(i, len(palette) - 1)])
    if (~have).any():
        legend_labels.append("suppressed or no data")
        legend_colours.append(NO_DATA)
    gdf["_fill"] = colours
    gdf["_label"] = gdf[name_column].astype("string")
    tips = {name_column: "Area", value: legend, **(tooltip_columns or {})}
    formats = dict(tooltip_formats or {})
    for col in tips:
        if col != name_column and col in gdf:
            if col == value and class_labels is not None:
                named = pd.Series(list(class_labels), index=range(1, len(class_labels) + 1))
                gdf[col] = vals.map(named).astype(object).where(vals.notna(), "suppressed or no data").to_numpy()
            elif pd.api.types.is_numeric_dtype(gdf[col]):
                fmt = kind if col == value and class_labels is None else formats.get(col) or _format_kind(
                    col, tips[col], gdf[col])
                gdf[col] = format_values(gdf[col], fmt).to_numpy()
            else:
                gdf[col] = gdf[col].astype("string").fillna("")
    keep = [c for c in tips if c in gdf] + ["_fill", "_label", "geometry"]
    gdf = gdf[keep]
    fmap = _base_map(gdf, (not offline) if basemap is None else basemap)
    geojson_layer(
        gdf[[c for c in keep if c != "_label"]],
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
    if labels or (labels is None and len(gdf) <= MAX_LABELS):
        # placed from the projected frame (a point inside each area), shown in WGS84
        src = areas[[name_column, areas.geometry.name]]
        label_layer(src, name_column, "Names").add_to(fmap)
    fmap.get_root().html.add_child(folium.Element(_legend_html(legend, legend_labels, legend_colours)))
    return map_page(fmap, offline=offline)


def map_layers(
    layers: list[tuple[Any, str, str]],
    *,
    highlight: Any = None,
    highlight_label: str = "Highlighted",
    highlight_aliases: dict[str, str] | None = None,
    offline: bool = False,
    basemap: bool | None = None,
    labels: bool | None = None,
    streets: Any = None,
) -> str:
    """Several boundary layers outlined in different colours, with an optional highlight layer.

    ``layers`` is a list of (GeoDataFrame, name column, label). Used for co-terminosity
    maps (both boundary sets, split units highlighted) and hotspot maps. The first layer's
    units are named on the map (``labels``; default when it has at most
    :data:`~assessment.geography.maps.MAX_LABELS` units). ``streets`` (points with a ``label``
    column, e.g. from :func:`street_labels`) are written on the map as street context.
    Tiles (OpenStreetMap, with attribution) are drawn when ``basemap``, by default when not
    ``offline``; offline the map is a labelled outline map. Numeric highlight tooltip values are
    written as counts, rates or percentages as their aliases say (:func:`format_values`).
    """
    import folium

    if not layers:
        raise ValueError("`layers` must hold at least one (GeoDataFrame, name column, label), got none")
    outline = ("#0b4f6c", "#8a1c1c", "#1d5e20", "#5b2a86")
    first = layers[0][0].to_crs(4326)
    fmap = _base_map(first, (not offline) if basemap is None else basemap)
    legend_labels, colours = [], []
    for i, (gdf, name_col, label) in enumerate(layers):
        check_geodataframe(gdf, f"layers[{i}]", [name_col])
        g = gdf[[name_col, "geometry"]].to_crs(4326)
        colour = outline[i % len(outline)]
        geojson_layer(
            g, fields=[name_col], aliases=[label], name=label,
            style_function=lambda f, c=colour, w=3 - min(i, 1): {"color": c, "weight": w, "fillOpacity": 0.0},
        ).add_to(fmap)
        legend_labels.append(label)
        colours.append(colour)
    if highlight is not None and len(highlight):
        cols = [c for c in highlight.columns if c != "geometry"][:3]
        aliases = [(highlight_aliases or {}).get(c, c) for c in cols]
        h = highlight.to_crs(4326)
        h = h.assign(**{c: format_values(h[c], _format_kind(c, a, h[c])).to_numpy()
                        for c, a in zip(cols, aliases) if pd.api.types.is_numeric_dtype(h[c])})
        geojson_layer(
            h[cols + [h.geometry.name]], fields=cols, aliases=aliases,
            name=highlight_label,
            style_function=lambda f: {"color": "#f03b20", "weight": 1, "fillColor": "#f03b20", "fillOpacity": 0.45},
        ).add_to(fmap)
        legend_labels.append(highlight_label)
        colours.append("#f03b20")
    gdf0, name0, _ = layers[0]
    if labels or (labels is None and len(gdf0) <= MAX_LABELS):
        label_layer(gdf0[[name0, gdf0.geometry.name]], name0, "Names").add_to(fmap)
    if streets is not None and len(streets):
        check_geodataframe(streets, "streets", ["label"])
        label_layer(streets, "label", "Streets", kind="street").add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.get_root().html.add_child(folium.Element(_legend_html("Layers", legend_labels, colours)))
    return map_page(fmap, offline=offline)
