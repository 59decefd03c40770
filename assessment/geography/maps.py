"""Folium maps for the geography stage (display only: WGS84 is never measured)."""

from __future__ import annotations

import folium
import geopandas as gpd
import pandas as pd

from assessment.checks import check_dataframe, check_geodataframe
from assessment.geography.coterminosity import UNIT_COLUMNS


def _display(gdf: gpd.GeoDataFrame, cols: list[str]) -> gpd.GeoDataFrame:
    out = gdf[[*cols, gdf.geometry.name]].to_crs(4326)
    for c in cols:  # JSON-safe values for the tooltips
        out[c] = out[c].astype(object).where(out[c].notna(), "").astype(str)
    return out


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
        A folium tile set (e.g. ``'OpenStreetMap'``). Default None: no basemap, so the map
        works offline and from disk.

    Returns
    -------
    folium.Map
        Layers: the target units (outlined, tooltip code and name), the co-terminous
        source units (thin dashed outline) and the split source units (filled red,
        tooltip: code, name, best-fit target, area and population shares, targets), plus
        a layer control. Fitted to the layers' bounds.
    """
    check_geodataframe(source, "source", [source_code])
    check_geodataframe(target, "target", [target_code])
    check_dataframe(table, "table", UNIT_COLUMNS)
    info = table.assign(area_pct=(table["area_share"] * 100).round(1),
                        population_pct=(pd.to_numeric(table["population_share"], errors="coerce") * 100).round(1))
    src = source[[source_code, source.geometry.name]].rename(columns={source_code: "source_code"})
    src = src.assign(source_code=src["source_code"].astype(str)).merge(
        info[["source_code", "source_name", "best_fit_target", "area_pct", "population_pct", "targets",
              "coterminous"]], on="source_code", how="left")
    src["coterminous"] = src["coterminous"].fillna(False).astype(bool)
    cols = ["source_code", "source_name", "best_fit_target", "area_pct", "population_pct", "targets"]
    aliases = [f"{source_label}:", "name:", f"best-fit {target_label}:", "% area in best fit:",
               "% population in best fit:", f"{target_label}s:"]
    tgt_cols = [target_code] + ([target_name] if target_name and target_name in target.columns else [])
    tgt = _display(target, tgt_cols)
    xmin, ymin, xmax, ymax = tgt.total_bounds
    fmap = folium.Map(tiles=tiles, control_scale=True)
    folium.GeoJson(tgt, name=f"{target_label} boundaries",
                   style_function=lambda f: {"color": "#1f4e79", "weight": 2.5, "fillOpacity": 0.03},
                   tooltip=folium.GeoJsonTooltip(fields=tgt_cols, aliases=[f"{target_label}:", "name:"][:len(tgt_cols)])
                   ).add_to(fmap)
    whole = src.loc[src["coterminous"]]
    split = src.loc[~src["coterminous"]]
    if len(whole):
        folium.GeoJson(_display(whole, cols), name=f"{source_label} (co-terminous)",
                       style_function=lambda f: {"color": "#555555", "weight": 1.5, "dashArray": "5 5",
                                                 "fillOpacity": 0.0},
                       tooltip=folium.GeoJsonTooltip(fields=cols, aliases=aliases)).add_to(fmap)
    if len(split):
        folium.GeoJson(_display(split, cols), name=f"{source_label} split across {target_label}s",
                       style_function=lambda f: {"color": "#b30000", "weight": 2, "fillColor": "#e34a33",
                                                 "fillOpacity": 0.35},
                       tooltip=folium.GeoJsonTooltip(fields=cols, aliases=aliases)).add_to(fmap)
    sb = src.to_crs(4326).total_bounds
    fmap.fit_bounds([[min(ymin, sb[1]), min(xmin, sb[0])], [max(ymax, sb[3]), max(xmax, sb[2])]])
    folium.LayerControl(collapsed=False).add_to(fmap)
    return fmap
