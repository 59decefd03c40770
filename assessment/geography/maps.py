"""Folium maps for the geography stage (display only: WGS84 is never measured).

:func:`geojson_layer` is the one way the package puts a GeoDataFrame on a folium map, and
:func:`label_layer` the one way it writes text labels on one: Leaflet shows tooltip values,
tooltip labels, layer names and label icons as HTML, so every one of them is escaped there
(:mod:`assessment.escaping`). :func:`check_map_escaped` refuses a map holding a layer, tooltip,
popup, marker or text icon built any other way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from assessment.checks import check_dataframe, check_geodataframe, check_type
from assessment.escaping import escape_html, escape_html_columns
from assessment.geography.coterminosity import UNIT_COLUMNS

# Set on every folium element built by geojson_layer / feature_group (text already escaped).
_ESCAPED = "_assessment_text_escaped"


def geojson_layer(gdf: gpd.GeoDataFrame, *, fields: Sequence[str], aliases: Sequence[str], name: str,
                  style_function: Callable[[dict], dict], highlight_function: Callable[[dict], dict] | None = None,
                  keep: Sequence[str] = ()) -> folium.GeoJson:
    """A folium GeoJSON layer whose tooltip values, tooltip labels and layer name are escaped.

    Parameters
    ----------
    gdf : GeoDataFrame
        Features in WGS84 (EPSG:4326), as Leaflet displays them.
    fields, aliases : sequence of str
        Columns shown in the tooltip and their labels (same length). Values become escaped
        display strings (missing -> ""); format numbers before calling if they need it.
    name : str
        The layer's name in the layer control (shown there as HTML, so escaped).
    style_function, highlight_function : callable
        folium style callbacks; they may read the columns in ``keep``.
    keep : sequence of str
        Extra columns carried unescaped for the style callbacks (never shown), e.g. a fill colour.

    Returns
    -------
    folium.GeoJson
        With a :class:`folium.GeoJsonTooltip` when ``fields`` is not empty.
    """
    fields, aliases, keep = list(fields), list(aliases), list(keep)
    check_geodataframe(gdf, "gdf", fields + keep)
    check_type(name, "name", str)
    if len(fields) != len(aliases):
        raise ValueError(f"`aliases` must have one label per field ({len(fields)}), got {len(aliases)}")
    cols = list(dict.fromkeys(fields + keep))
    data = escape_html_columns(gdf[[*cols, gdf.geometry.name]], fields)
    tooltip = folium.GeoJsonTooltip(fields=fields, aliases=[escape_html(a) for a in aliases]) if fields else None
    layer = folium.GeoJson(data.to_json(), name=escape_html(name), style_function=style_function,
                           highlight_function=highlight_function, tooltip=tooltip)
    setattr(layer, _ESCAPED, True)
    if tooltip is not None:
        setattr(tooltip, _ESCAPED, True)
    return layer


def feature_group(name: str) -> folium.FeatureGroup:
    """A folium FeatureGroup whose name (shown as HTML in the layer control) is escaped."""
    check_type(name, "name", str)
    group = folium.FeatureGroup(name=escape_html(name))
    setattr(group, _ESCAPED, True)
    return group


#: most labels one label layer draws (ward names on a partnership map: beyond this they crowd)
MAX_LABELS = 40

LABEL_CSS = (
    "<style>.map-label{background:none;border:none}"
    ".map-label .map-label-text{position:absolute;transform:translate(-50%,-50%);width:max-content;"
    "max-width:72px;text-align:center;font:bold 11px/1.15 Arial,sans-serif;color:#1b1b1b;pointer-events:none;"
    "text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #fff,1px 1px 0 #fff,-1px -1px 0 #fff}"
    ".map-label.map-label-street .map-label-text{font:italic 10px/1.1 Arial,sans-serif;color:#3b3b3b}"
    "@media (max-width: 480px){.map-label .map-label-text{font-size:9px;max-width:52px}"
    ".map-label.map-label-street .map-label-text{font-size:8px}}</style>"
)
"""Label style: dark text with a white halo, centred on its point; names of two words or more wrap
at about 72 px (52 px and a smaller font on a phone), so neighbouring small wards crowd less."""


def label_layer(gdf: gpd.GeoDataFrame, column: str, name: str, *, kind: str = "area") -> folium.FeatureGroup:
    """Permanent text labels on a map, one per feature, with the text escaped.

    Parameters
    ----------
    gdf : GeoDataFrame
        Polygons (labelled at a point inside each: ``representative_point``, computed in the
        frame's own CRS) or points, in any CRS; shown in WGS84. Rows with no label are skipped.
    column : str
        Column holding the label text (data text: escaped here).
    name : str
        The layer's name in the layer control.
    kind : {'area', 'street'}
        ``'area'`` labels (bold, e.g. ward names) or ``'street'`` labels (smaller, italic).

    Returns
    -------
    folium.FeatureGroup
        Non-interactive, non-focusable DivIcon markers (no image is loaded) under a
        :func:`feature_group`; add :data:`LABEL_CSS` to the page once for their style.
        At most :data:`MAX_LABELS` labels are drawn (the first rows).
    """
    check_geodataframe(gdf, "gdf", [column])
    if kind not in ("area", "street"):
        raise ValueError(f"`kind` must be 'area' or 'street', got {kind!r}")
    text = gdf[column].astype("string").str.strip()
    keep = (text.notna() & (text != "") & gdf.geometry.notna() & ~gdf.geometry.is_empty).to_numpy()
    sub = gdf.loc[keep]
    where = gpd.GeoSeries(sub.geometry.representative_point(), crs=gdf.crs)
    where = where.to_crs(4326) if gdf.crs is not None else where
    shown = [escape_html(t) for t in text[keep].head(MAX_LABELS)]
    group = feature_group(name)
    css = "map-label" if kind == "area" else "map-label map-label-street"
    for lat, lon, label in zip(where.y.to_numpy()[:MAX_LABELS], where.x.to_numpy()[:MAX_LABELS], shown):
        # bounded by MAX_LABELS (wards or a handful of streets), never by event volume
        icon = folium.DivIcon(html=f'<div class="map-label-text">{label}</div>', icon_size=(0, 0), class_name=css)
        setattr(icon, _ESCAPED, True)
        marker = folium.Marker([float(lat), float(lon)], icon=icon, interactive=False, keyboard=False)
        setattr(marker, _ESCAPED, True)
        marker.add_to(group)
    return group


def _elements(element: Any) -> Iterator[Any]:
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _elements(child)


def check_map_escaped(fmap: folium.Map) -> None:
    """Refuse a map with a GeoJSON layer, feature group, tooltip, popup, marker or text icon not built here.

    Raises
    ------
    ValueError
        Naming the element: its data text may reach the page unescaped.
    """
    check_type(fmap, "fmap", folium.Map)
    guarded = (folium.GeoJson, folium.FeatureGroup, folium.Tooltip, folium.Popup,
               folium.GeoJsonTooltip, folium.GeoJsonPopup, folium.Marker, folium.DivIcon)
    # a circle marker is a vector shape with no text of its own (its tooltip or popup is checked itself)
    bad = [type(el).__name__ for el in _elements(fmap) if isinstance(el, guarded)
           and not isinstance(el, folium.vector_layers.CircleMarker) and not getattr(el, _ESCAPED, False)]
    if bad:
        raise ValueError(
            f"every map layer, tooltip, popup and label must be built with assessment.geography.maps.geojson_layer, "
            f"feature_group or label_layer (which escape data text), got {len(bad)} built otherwise: {sorted(set(bad))}"
        )


def _display(gdf: gpd.GeoDataFrame, cols: list[str]) -> gpd.GeoDataFrame:
    return gdf[[*cols, gdf.geometry.name]].to_crs(4326)


def coterminosity_map(source: gpd.GeoDataFrame, target: gpd.GeoDataFrame, table: pd.DataFrame,
                      source_label: str = "source", target_label: str = "target", source_code: str = "code",
                      target_code: str = "code", target_name: str | None = "name",
                      tiles: str | None = None) -> folium.Map:
    """Map both boundary layers and highlight the split source units.

    Parameters
    ----------
    source, target : GeoDataFrame
        The two geographies (any CRS; reprojected to WGS84 for display only).
    table : DataFrame
        :func:`~assessment.geography.coterminosity.coterminosity_table` for these layers.
    source_label, target_label : str
        Layer names shown in the legend and tooltips.
    tiles : str, optional
        A folium tile set (e.g. ``'OpenStreetMap'``, which carries its attribution). Default None:
        no basemap, so the map works offline and from disk. Target units (at most
        :data:`MAX_LABELS`) are named on the map.

    Returns
    -------
    folium.Map
        Layers: the target units (outlined, tooltip code and name), the co-terminous
        source units (thin dashed outline) and the split source units (filled red,
        tooltip: code, name, best-fit target's name, area and population shares, targets by name), plus
        a layer control. Fitted to the layers' bounds.
    """
    check_geodataframe(source, "source", [source_code])
    check_geodataframe(target, "target", [target_code])
    check_dataframe(table, "table", UNIT_COLUMNS)
    info = table.assign(area_pct=(table["area_share"] * 100).round(1),
                        population_pct=(pd.to_numeric(table["population_share"], errors="coerce") * 100).round(1),
                        best_fit_target_name=table["best_fit_target_name"].astype("object")
                        .where(table["best_fit_target_name"].notna(), table["best_fit_target"]))
    src = source[[source_code, source.geometry.name]].rename(columns={source_code: "source_code"})
    src = src.assign(source_code=src["source_code"].astype(str)).merge(
        info[["source_code", "source_name", "best_fit_target_name", "area_pct", "population_pct", "target_names",
              "coterminous"]], on="source_code", how="left")
    src["coterminous"] = src["coterminous"].fillna(False).astype(bool)
    cols = ["source_code", "source_name", "best_fit_target_name", "area_pct", "population_pct", "target_names"]
    aliases = [f"{source_label}:", "name:", f"best-fit {target_label}:", "% area in best fit:",
               "% population in best fit:", f"{target_label}s:"]
    tgt_cols = [target_code] + ([target_name] if target_name and target_name in target.columns else [])
    tgt = _display(target, tgt_cols)
    xmin, ymin, xmax, ymax = tgt.total_bounds
    fmap = folium.Map(tiles=tiles, control_scale=True)
    geojson_layer(tgt, fields=tgt_cols, aliases=[f"{target_label}:", "name:"][:len(tgt_cols)],
                  name=f"{target_label} boundaries",
                  style_function=lambda f: {"color": "#1f4e79", "weight": 2.5, "fillOpacity": 0.03}).add_to(fmap)
    whole = src.loc[src["coterminous"]]
    split = src.loc[~src["coterminous"]]
    if len(whole):
        geojson_layer(_display(whole, cols), fields=cols, aliases=aliases, name=f"{source_label} (co-terminous)",
                      style_function=lambda f: {"color": "#555555", "weight": 1.5, "dashArray": "5 5",
                                                "fillOpacity": 0.0}).add_to(fmap)
    if len(split):
        geojson_layer(_display(split, cols), fields=cols, aliases=aliases,
                      name=f"{source_label} split across {target_label}s",
                      style_function=lambda f: {"color": "#b30000", "weight": 2, "fillColor": "#e34a33",
                                                "fillOpacity": 0.35}).add_to(fmap)
    if target_name and target_name in target.columns and len(target) <= MAX_LABELS:
        fmap.get_root().html.add_child(folium.Element(LABEL_CSS))
        label_layer(target[[target_name, target.geometry.name]], target_name, f"{target_label} names").add_to(fmap)
    sb = src.to_crs(4326).total_bounds
    fmap.fit_bounds([[min(ymin, sb[1]), min(xmin, sb[0])], [max(ymax, sb[3]), max(xmax, sb[2])]])
    folium.LayerControl(collapsed=False).add_to(fmap)
    return fmap
