"""Points onto any geography: vectorised point-in-polygon with a documented edge rule.

Rule for points on a shared edge
--------------------------------
A point is matched to every unit that *covers* it (interior or boundary; the
``intersects`` predicate for a point). When a point lies on an edge or vertex shared by
several units it is given to the unit with the **lowest code** in string order among
those matches, so every point is counted exactly once and the answer does not depend on
file order. Points covered by no unit are kept with an NA code and counted as outside;
rows with no coordinates are kept with an NA code and counted separately.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from assessment.checks import check_dataframe, check_geodataframe, check_type
from assessment.geography._crs import WORKING_CRS, projected, same_crs
from assessment.geography.registry import BoundaryRegistry, _versions, registry_assign_versions

REPORT_FIELDS = ["n_points", "n_assigned", "n_on_edge_resolved", "n_outside", "n_no_coordinates"]


def point_geometries(points: pd.DataFrame, crs, points_crs=WORKING_CRS) -> np.ndarray:
    """Return the points' geometries in ``crs`` as a shapely array (None where no coordinates).

    A GeoDataFrame's own geometry and CRS are used; a plain DataFrame must hold
    ``easting``/``northing`` in ``points_crs`` (EPSG:27700 by default), NaN when missing.
    """
    if isinstance(points, gpd.GeoDataFrame):
        check_geodataframe(points, "points")
        geoms = points.geometry
        if not same_crs(points.crs, crs):
            geoms = geoms.to_crs(crs)
        arr = np.array(geoms.to_numpy(), dtype=object)
        bad = shapely.is_missing(arr) | shapely.is_empty(arr)
        arr[bad] = None
        return arr
    check_dataframe(points, "points", ["easting", "northing"])
    x = pd.to_numeric(points["easting"], errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(points["northing"], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    arr = np.full(len(points), None, dtype=object)
    if not same_crs(points_crs, crs):
        pts = gpd.GeoSeries(shapely.points(x[ok], y[ok]), crs=points_crs).to_crs(crs).to_numpy()
    else:
        pts = shapely.points(x[ok], y[ok])
    arr[ok] = pts
    return arr


def _assign(geoms: np.ndarray, units: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (unit position or -1, on_edge flag, has_coordinates) for each geometry."""
    has = ~shapely.is_missing(geoms)
    idx_has = np.flatnonzero(has)
    tree = shapely.STRtree(units.geometry.to_numpy())
    qi, ui = tree.query(geoms[idx_has], predicate="intersects")
    pos = np.full(len(geoms), -1, dtype=np.int64)
    on_edge = np.zeros(len(geoms), dtype=bool)
    if len(qi):
        # rank units by code so that "lowest code" is the smallest rank
        rank = np.argsort(np.argsort(units["code"].astype(str).to_numpy(), kind="stable"), kind="stable")
        order = np.lexsort((rank[ui], qi))
        qi, ui = qi[order], ui[order]
        first = np.ones(len(qi), dtype=bool)
        first[1:] = qi[1:] != qi[:-1]
        n_match = np.bincount(qi, minlength=len(idx_has))
        pos[idx_has[qi[first]]] = ui[first]
        on_edge[idx_has] = n_match > 1
    return pos, on_edge, has


def _assign_points_of(points: pd.DataFrame, units: gpd.GeoDataFrame, points_crs) -> tuple[np.ndarray, ...]:
    """:func:`_assign` for a GeoDataFrame, or for easting/northing once per distinct coordinate pair.

    Published police points are snapped to a few thousand map points, so a large file repeats
    each pair many times: each distinct pair is built and assigned once and the answer given to
    every row holding it (the same answer, as assignment depends on the coordinates alone).
    """
    if isinstance(points, gpd.GeoDataFrame):
        return _assign(point_geometries(points, units.crs, points_crs), units)
    check_dataframe(points, "points", ["easting", "northing"])
    x = pd.to_numeric(points["easting"], errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(points["northing"], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    rows = np.flatnonzero(ok)
    # one hash pass over the pairs as complex numbers; -0.0 and 0.0 are one coordinate
    codes, pairs = pd.factorize(x[rows] + 0.0 + 1j * (y[rows] + 0.0))
    pairs = np.asarray(pairs, dtype=complex)
    distinct = pd.DataFrame({"easting": pairs.real, "northing": pairs.imag})
    upos, uedge, _ = _assign(point_geometries(distinct, units.crs, points_crs), units)
    pos = np.full(len(points), -1, dtype=np.int64)
    on_edge = np.zeros(len(points), dtype=bool)
    pos[rows] = upos[codes]
    on_edge[rows] = uedge[codes]
    return pos, on_edge, ok


def assign_points(points: pd.DataFrame, units: gpd.GeoDataFrame, column: str = "unit_code",
                  code_field: str = "code", points_crs=WORKING_CRS,
                  warn_outside: bool = True) -> tuple[pd.DataFrame, pd.Series]:
    """Assign each point to the polygon that contains it, counting every point once.

    Parameters
    ----------
    points : DataFrame or GeoDataFrame
        A GeoDataFrame of points in any CRS, or a DataFrame with ``easting``/``northing``
        (in ``points_crs``; NaN where the row has no coordinates).
    units : GeoDataFrame
        Polygons with a CRS and a code column. A geographic CRS is reprojected to
        EPSG:27700 first (points are then reprojected to the units' CRS).
    column : str
        Name of the output code column.
    code_field : str
        Code column in ``units``.
    points_crs : default EPSG:27700
        CRS of ``easting``/``northing`` for a plain DataFrame.
    warn_outside : bool
        Warn when points fall outside every unit.

    Returns
    -------
    assigned : same type as ``points``
        A copy with two new columns: ``<column>`` (string; the unit code, NA when outside
        every unit or without coordinates) and ``<column>_on_edge`` (bool; the point was
        covered by more than one unit and the edge rule chose).
    report : Series
        ``n_points``, ``n_assigned``, ``n_on_edge_resolved``, ``n_outside``,
        ``n_no_coordinates`` (``n_points = n_assigned + n_outside + n_no_coordinates``).

    Notes
    -----
    Point-in-polygon through a sort-tile-recursive R-tree (:class:`shapely.STRtree`,
    Leutenegger et al. 1997) queried with the ``intersects`` predicate on prepared
    polygons, i.e. "covered by" (DE-9IM, Egenhofer & Herring 1990) -- the same test as
    :func:`geopandas.sjoin` with ``predicate='intersects'``. Ties on shared edges go to the
    lowest unit code (see the module docstring).
    """
    check_dataframe(points, "points")
    check_geodataframe(units, "units", [code_field])
    check_type(column, "column", str)
    units = projected(units) if not units.crs.is_projected else units
    if code_field != "code":
        units = units.rename(columns={code_field: "code"})
    pos, on_edge, has = _assign_points_of(points, units, points_crs)
    codes = units["code"].astype(str).to_numpy()
    values = np.full(len(points), None, dtype=object)
    values[pos >= 0] = codes[pos[pos >= 0]]
    out = points.copy()
    out[column] = pd.array(values, dtype="string")
    out[f"{column}_on_edge"] = on_edge
    n_assigned = int((pos >= 0).sum())
    report = pd.Series({
        "n_points": len(points),
        "n_assigned": n_assigned,
        "n_on_edge_resolved": int(on_edge.sum()),
        "n_outside": int(has.sum()) - n_assigned,
        "n_no_coordinates": int((~has).sum()),
    }, name="assignment", dtype="int64")
    if warn_outside and report["n_outside"]:
        warnings.warn(f"{report['n_outside']} of {len(points)} point(s) fall outside every unit; "
                      f"kept with {column}=NA", stacklevel=2)
    return out, report


def assign_points_versioned(points: pd.DataFrame, registry: BoundaryRegistry, key: str,
                            column: str | None = None, date_column: str = "date",
                            month_column: str = "month",
                            points_crs=WORKING_CRS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assign points to the version of a geography in force at each point's date.

    Parameters
    ----------
    points : DataFrame or GeoDataFrame
        Harmonised events (``date`` and/or ``month``; coordinates as in :func:`assign_points`).
    registry : BoundaryRegistry
    key : str
        Geography key (e.g. ``'wards'``).
    column : str, optional
        Output code column (default ``'<key>_code'``).

    Returns
    -------
    assigned : same type as ``points``
        A copy with ``<column>`` (string code, NA when outside, undated or without
        coordinates), ``<column>_on_edge`` (bool) and ``<column>_version`` (version label,
        NA when no version covers the date).
    report : DataFrame
        One row per version plus ``'no version'`` for undated points or dates outside every
        version: ``version`` and the fields of :func:`assign_points`'s report.

    Notes
    -----
    Versions are chosen with :func:`~assessment.geography.registry.registry_assign_versions`
    (vectorised interval lookup); each version's points are then assigned in one
    vectorised call.
    """
    check_dataframe(points, "points")
    column = column or f"{key}_code"
    labels = registry_assign_versions(points, registry, key, date_column, month_column)
    out = points.copy()
    out[column] = pd.array([None] * len(points), dtype="string")
    out[f"{column}_on_edge"] = False
    out[f"{column}_version"] = labels
    rows = []
    for v in _versions(registry, key):  # one pass per boundary version, not per point
        mask = (labels == v.version).fillna(False).to_numpy()
        sub, rep = assign_points(points.loc[mask], v.units, column=column, points_crs=points_crs,
                                 warn_outside=False)
        out.loc[mask, column] = sub[column].to_numpy()
        out.loc[mask, f"{column}_on_edge"] = sub[f"{column}_on_edge"].to_numpy()
        rows.append({"version": v.version, **rep.to_dict()})
    undated = labels.isna().to_numpy()
    rows.append({"version": "no version", "n_points": int(undated.sum()), "n_assigned": 0,
                 "n_on_edge_resolved": 0, "n_outside": 0, "n_no_coordinates": 0})
    report = pd.DataFrame(rows, columns=["version", *REPORT_FIELDS])
    n_out = int(report["n_outside"].sum())
    if n_out or undated.any():
        warnings.warn(f"{key}: {n_out} point(s) outside every unit and {int(undated.sum())} with no "
                      "version in force at their date; kept with NA codes", stacklevel=2)
    return out, report
