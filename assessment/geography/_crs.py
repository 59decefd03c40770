"""Private helpers shared by the geography modules: working CRS and projection."""

from __future__ import annotations

import geopandas as gpd
import pyproj

#: The partnership's working CRS: British National Grid, metres.
WORKING_CRS = "EPSG:27700"


def same_crs(a, b) -> bool:
    """True when two CRS definitions describe the same system (axis order ignored)."""
    if a is None or b is None:
        return a is None and b is None
    return pyproj.CRS.from_user_input(a).equals(pyproj.CRS.from_user_input(b), ignore_axis_order=True)


def projected(gdf: gpd.GeoDataFrame, crs=None) -> gpd.GeoDataFrame:
    """Return ``gdf`` in ``crs`` (default: its own CRS if projected, else EPSG:27700).

    Areas and distances are never measured in degrees: a frame in a geographic CRS is
    reprojected to the working CRS automatically.
    """
    target = crs
    if target is None:
        target = gdf.crs if gdf.crs.is_projected else WORKING_CRS
    if not pyproj.CRS.from_user_input(target).is_projected:
        raise ValueError(f"working CRS must be projected (metres), got {pyproj.CRS.from_user_input(target).to_string()}")
    if same_crs(gdf.crs, target):
        return gdf
    return gdf.to_crs(target)


def common_projected(*frames: gpd.GeoDataFrame, crs=None) -> list[gpd.GeoDataFrame]:
    """Reproject all frames to one projected CRS (``crs``, else the first projected one, else 27700)."""
    if crs is None:
        crs = next((f.crs for f in frames if f is not None and f.crs.is_projected), WORKING_CRS)
    return [None if f is None else projected(f, crs) for f in frames]
