"""Hotspots: grids, counts, kernel density, Getis-Ord Gi*, classification over time,
concentration, repeat locations and hotspots per population.

The ``hotspot_*`` family follows the R package sfhotspot (Ashby 2023) in naming and in its
defaults: a regular square grid whose cell size is derived from the extent, counts and
kernel density per cell, and Getis-Ord Gi* with a multiple-testing correction. Every
function validates its input at the top with :mod:`assessment.checks` and works on whole
arrays (no per-row Python).

Typical use::

    grid = hotspot_grid(boundary, clip=True)
    counts = hotspot_count(events, grid)
    gi = hotspot_gistar(counts)
    hotspot_summary(gi)   # "no statistically significant hotspots ..." when so

References
----------
Ashby, M. P. J. (2023). sfhotspot: Hot-spot analysis with simple features. R package.
Getis, A. & Ord, J. K. (1992). The analysis of spatial association by use of distance
statistics. Geographical Analysis 24(3), 189-206.
Ord, J. K. & Getis, A. (1995). Local spatial autocorrelation statistics: distributional
issues and an application. Geographical Analysis 27(4), 286-306.
Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate. JRSS B 57, 289-300.
Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scand. J. Stat. 6, 65-70.
McCullagh, P. & Nelder, J. A. (1989). Generalized Linear Models, 2nd ed. Chapman & Hall.
Rao, J. N. K. & Scott, A. J. (1992). A simple method for the analysis of clustered binary data.
Biometrics 48(2), 577-585.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from assessment.checks import (
    check_choice,
    check_dataframe,
    check_geodataframe,
    check_nonnegative_counts,
    check_positive,
    check_probability,
    check_type,
)

__all__ = [
    "hotspot_grid",
    "hotspot_count",
    "hotspot_kde",
    "hotspot_weights",
    "hotspot_gistar",
    "hotspot_summary",
    "hotspot_classify",
    "hotspot_classify_counts",
    "hotspot_cell_positions",
    "hotspot_concentration",
    "hotspot_repeat_locations",
    "hotspot_rate",
]

_GRID_ATTR = "hotspot_grid"
_GI_ATTR = "hotspot_gistar"
_CORRECTIONS = ("fdr_bh", "holm", None)
_CORRECTION_NAMES = {"fdr_bh": "FDR (Benjamini-Hochberg)", "holm": "Holm", None: "no"}
_P_METHODS = ("exact", "normal", "permutation", "conditional")
PATTERNS = ("persistent", "emerging", "intermittent", "former", "no pattern")


# --------------------------------------------------------------------------------------
# internal helpers
# --------------------------------------------------------------------------------------
def _as_geoframe(obj: Any, name: str) -> gpd.GeoDataFrame:
    check_type(obj, name, (gpd.GeoDataFrame, gpd.GeoSeries))
    if isinstance(obj, gpd.GeoSeries):
        obj = obj.to_frame(name="geometry")
    return obj


def _check_grid(grid: Any, name: str = "grid", columns: tuple[str, ...] = ()) -> None:
    check_geodataframe(grid, name, ("cell_id", "row", "col", "x", "y", "area") + tuple(columns),
                       projected=True)
    if len(grid) == 0:
        raise ValueError(f"`{name}` must have at least one cell, got an empty grid;"
                         " hint: build it with hotspot_grid()")


def _same_crs(a: gpd.GeoDataFrame, a_name: str, b: gpd.GeoDataFrame, b_name: str) -> None:
    if a.crs != b.crs:
        raise ValueError(
            f"`{a_name}` and `{b_name}` must share one CRS, got {a.crs.to_string()} and {b.crs.to_string()};"
            f" hint: use {a_name}.to_crs({b_name}.crs)"
        )


def _grid_spec(grid: gpd.GeoDataFrame) -> dict[str, float]:
    """Cell size and origin of a grid from hotspot_grid (from attrs, else from its columns)."""
    spec = grid.attrs.get(_GRID_ATTR)
    if spec:
        return spec
    xs = np.unique(grid["x"].to_numpy())
    ys = np.unique(grid["y"].to_numpy())
    steps = np.concatenate([np.diff(xs), np.diff(ys)])
    if steps.size == 0:
        bounds = shapely.bounds(grid.geometry.values[0])
        size = float(max(bounds[2] - bounds[0], bounds[3] - bounds[1]))
    else:
        size = float(steps.min())
    x0 = float((grid["x"] - (grid["col"] + 0.5) * size).min())
    y0 = float((grid["y"] - (grid["row"] + 0.5) * size).min())
    return {"cell_size": size, "x0": x0, "y0": y0,
            "ncols": int(grid["col"].max()) + 1, "nrows": int(grid["row"].max()) + 1}


def _point_xy(points: gpd.GeoDataFrame, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, y of point geometries and a mask of rows that have a usable point."""
    geoms = points.geometry.values
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    types = shapely.get_type_id(geoms)
    not_point = ~missing & (types != 0)
    if not_point.any():
        first = points.index[not_point][0]
        raise ValueError(
            f"`{name}` must hold Point geometries, got {shapely.get_type_id(geoms[not_point][0])!r}-type"
            f" geometry at row {first!r}; hint: use .centroid or .representative_point() for areas"
        )
    x = np.full(len(points), np.nan)
    y = np.full(len(points), np.nan)
    ok = ~missing
    x[ok] = shapely.get_x(geoms[ok])
    y[ok] = shapely.get_y(geoms[ok])
    ok &= np.isfinite(x) & np.isfinite(y)
    if (~ok).any():
        warnings.warn(f"{int((~ok).sum())} row(s) of `{name}` have no point geometry and were ignored",
                      stacklevel=3)
    return x, y, ok


def _cell_positions(points: gpd.GeoDataFrame, grid: gpd.GeoDataFrame,
                    name: str) -> tuple[np.ndarray, np.ndarray]:
    """Position (0..len(grid)-1) of the grid cell holding each point (-1 outside the grid),
    and the mask of rows that have a usable point (see :func:`hotspot_cell_positions`).
    """
    x, y, has_point = _point_xy(points, name)
    return _positions_xy(x, y, has_point, grid), has_point


def _positions_xy(x: np.ndarray, y: np.ndarray, ok: np.ndarray, grid: gpd.GeoDataFrame) -> np.ndarray:
    spec = _grid_spec(grid)
    size = spec["cell_size"]
    with np.errstate(invalid="ignore"):
        col = np.floor((x - spec["x0"]) / size)
        row = np.floor((y - spec["y0"]) / size)
        # the outermost east and north edges of the grid belong to the last column and row
        col = np.where((col == spec["ncols"]) & (x <= spec["x0"] + spec["ncols"] * size), col - 1, col)
        row = np.where((row == spec["nrows"]) & (y <= spec["y0"] + spec["nrows"] * size), row - 1, row)
        ok = ok & (col >= 0) & (row >= 0) & (col < spec["ncols"]) & (row < spec["nrows"])
    key = np.where(ok, row * spec["ncols"] + col, -1).astype(np.int64)
    grid_key = grid["row"].to_numpy(np.int64) * spec["ncols"] + grid["col"].to_numpy(np.int64)
    pos = pd.Index(grid_key).get_indexer(key)
    pos[~ok] = -1
    clipped = grid["clipped"].to_numpy(bool) if "clipped" in grid.columns else np.zeros(len(grid), bool)
    check = (pos >= 0) & clipped[np.maximum(pos, 0)]
    if check.any():
        # a point is covered by a polygon exactly when it intersects it; no point objects are built
        inside = shapely.intersects_xy(grid.geometry.values[pos[check]], x[check], y[check])
        idx = np.flatnonzero(check)
        pos[idx[~inside]] = -1
    return pos


def hotspot_cell_positions(x: Any, y: Any, grid: gpd.GeoDataFrame) -> np.ndarray:
    """Position (0..len(grid)-1) of the grid cell holding each point given by coordinates, -1 outside.

    The same rule as :func:`hotspot_count` without building point objects: cells are half-open
    squares [x0 + c*s, x0 + (c+1)*s) x [y0 + r*s, y0 + (r+1)*s), found by floor division, so a
    point on a shared edge belongs to exactly one cell (the grid's outer east and north edges
    belong to the last column and row); in cells clipped to a boundary the point must also be
    covered by the clipped geometry. NaN coordinates give -1.

    Parameters
    ----------
    x, y : array-like of float
        Coordinates in the grid's projected CRS (e.g. easting and northing in EPSG:27700).
    grid : GeoDataFrame
        A grid from :func:`hotspot_grid`.

    Returns
    -------
    numpy.ndarray of int64
        One position per point; ``np.bincount(pos[pos >= 0], minlength=len(grid))`` gives
        :func:`hotspot_count`'s ``count``.
    """
    _check_grid(grid)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"`x` and `y` must be 1-d arrays of one length, got shapes {x.shape} and {y.shape}")
    return _positions_xy(x, y, np.isfinite(x) & np.isfinite(y), grid)


def _nrd(v: np.ndarray) -> float:
    """Normal-reference bandwidth of MASS::bandwidth.nrd: 4 * 1.06 * min(sd, IQR/1.34) * n^(-1/5)."""
    from scipy import stats

    sd = float(np.std(v, ddof=1)) if v.size > 1 else 0.0
    iqr = float(stats.iqr(v)) / 1.34
    spread = min(sd, iqr) if iqr > 0 else sd
    return 4.0 * 1.06 * spread * v.size ** (-0.2)


# --------------------------------------------------------------------------------------
# grid, counts, density
# --------------------------------------------------------------------------------------
def _default_cell_size(width: float, height: float) -> float:
    raw = min(width, height) / 50.0
    if raw >= 100:
        return float(math.floor(raw / 100.0) * 100.0)
    if raw <= 0:
        return 0.0
    magnitude = 10 ** math.floor(math.log10(raw))
    return float(math.floor(raw / magnitude) * magnitude)


def hotspot_grid(data: gpd.GeoDataFrame | gpd.GeoSeries, cell_size: float | None = None,
                 clip: bool | gpd.GeoDataFrame | gpd.GeoSeries = False) -> gpd.GeoDataFrame:
    """Build a regular square grid over the extent of points or a boundary.

    Parameters
    ----------
    data : GeoDataFrame or GeoSeries
        Points (events) or polygons (a boundary) in a projected CRS in metres, e.g. EPSG:27700.
        The grid covers their bounding box.
    cell_size : float, optional
        Side of each square cell in CRS units (metres). By default it is derived from the extent
        as in sfhotspot: the shorter side of the bounding box divided by 50 (so there are about
        50 cells along the shorter side), rounded *down* to a multiple of 100 m (or, below
        100 m, to one significant figure), so cells have a round size and there are at least
        50 of them along the shorter side. A 15 x 12 km partnership gets 200 m cells.
    clip : bool or GeoDataFrame or GeoSeries, default False
        ``True`` clips the grid to the union of the polygons in ``data``; a (Geo)DataFrame or
        GeoSeries of polygons clips to those. Cells outside are dropped; cells crossing the
        boundary are cut to it (``clipped`` is True and ``area`` is the part inside).

    Returns
    -------
    GeoDataFrame
        One row per cell, in the CRS of ``data``:

        - ``cell_id`` (int): ``row * ncols + col``, unique and stable for a given extent and size.
        - ``row``, ``col`` (int): position from the south-west corner (row 0 is southernmost).
        - ``x``, ``y`` (float): centre of the full square cell.
        - ``area`` (float): area of the cell (of the clipped part when clipped), square metres.
        - ``clipped`` (bool): True when the cell was cut by the boundary.
        - ``geometry``: the square (or clipped) polygon.

        ``attrs["hotspot_grid"]`` holds ``cell_size``, origin ``x0``, ``y0`` and ``ncols``,
        ``nrows``; the other ``hotspot_*`` functions use it (and can rebuild it from the columns).

    Notes
    -----
    Cells are half-open squares (the west and south edges belong to the cell; the outermost
    east and north edges of the grid belong to the last column and row), so every point in the
    extent, including one on a shared edge, falls in exactly one cell. The grid has
    ``ceil(width / cell_size)`` columns and ``ceil(height / cell_size)`` rows, starting at the
    south-west corner of the extent. The default size follows ``sfhotspot::hotspot_grid`` (Ashby 2023).
    A geographic CRS (degrees) is refused: cell sizes and distances must be in metres.
    """
    gdf = _as_geoframe(data, "data")
    check_geodataframe(gdf, "data", projected=True)
    geoms = gdf.geometry.values
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not usable.any():
        raise ValueError("`data` must hold at least one non-empty geometry, got none;"
                         " hint: pass the events or the partnership boundary")
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms[usable])
    width, height = xmax - xmin, ymax - ymin
    if cell_size is None:
        cell_size = _default_cell_size(width, height)
        if cell_size <= 0:
            raise ValueError(
                f"`data` must span an area to derive a cell size, got a {width:g} x {height:g} extent;"
                " hint: pass `cell_size` explicitly"
            )
    check_positive(cell_size, "cell_size")
    cell_size = float(cell_size)
    ncols = max(1, int(math.ceil(width / cell_size - 1e-9)))
    nrows = max(1, int(math.ceil(height / cell_size - 1e-9)))
    if ncols * nrows > 5_000_000:
        raise ValueError(
            f"`cell_size` must give at most 5,000,000 cells, got {ncols} x {nrows} cells of {cell_size:g} m;"
            " hint: use a larger cell_size"
        )
    rows, cols = np.divmod(np.arange(nrows * ncols, dtype=np.int64), ncols)
    x_lo = xmin + cols * cell_size
    y_lo = ymin + rows * cell_size
    cells = shapely.box(x_lo, y_lo, x_lo + cell_size, y_lo + cell_size)
    clipped = np.zeros(cells.size, bool)
    if clip is not False and clip is not None:
        if clip is True:
            boundary_geoms = geoms[usable]
            where = "`data`"
        else:
            clip_gdf = _as_geoframe(clip, "clip")
            check_geodataframe(clip_gdf, "clip", projected=True)
            _same_crs(clip_gdf, "clip", gdf, "data")
            boundary_geoms = clip_gdf.geometry.values
            where = "`clip`"
        polys = shapely.get_type_id(boundary_geoms)
        if not np.isin(polys, (3, 6)).any():
            raise ValueError(f"{where} must hold polygons to clip to, got no polygon;"
                             " hint: pass the partnership boundary as `clip`")
        boundary = shapely.union_all(boundary_geoms[np.isin(polys, (3, 6))])
        shapely.prepare(boundary)
        keep = shapely.intersects(boundary, cells)
        cells, rows, cols, x_lo, y_lo = cells[keep], rows[keep], cols[keep], x_lo[keep], y_lo[keep]
        inside = shapely.contains_properly(boundary, cells)
        cut = shapely.intersection(cells[~inside], boundary)
        cells = cells.copy()
        cells[~inside] = cut
        clipped = ~inside
        has_area = shapely.area(cells) > 0
        cells, rows, cols, x_lo, y_lo, clipped = (cells[has_area], rows[has_area], cols[has_area],
                                                  x_lo[has_area], y_lo[has_area], clipped[has_area])
    grid = gpd.GeoDataFrame(
        {
            "cell_id": rows * ncols + cols,
            "row": rows,
            "col": cols,
            "x": x_lo + cell_size / 2,
            "y": y_lo + cell_size / 2,
            "area": shapely.area(cells),
            "clipped": clipped,
        },
        geometry=cells,
        crs=gdf.crs,
    )
    grid.attrs[_GRID_ATTR] = {"cell_size": cell_size, "x0": float(xmin), "y0": float(ymin),
                              "ncols": ncols, "nrows": nrows}
    return grid


def hotspot_count(points: gpd.GeoDataFrame, grid: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Count points in each grid cell.

    Parameters
    ----------
    points : GeoDataFrame
        Events as Point geometries, in the grid's projected CRS. Rows without a point are
        ignored with a warning.
    grid : GeoDataFrame
        A grid from :func:`hotspot_grid`.

    Returns
    -------
    GeoDataFrame
        ``grid`` with one added column:

        - ``count`` (int): number of points in the cell. Each point inside the grid is counted
          exactly once (cells are half-open squares located by floor division of the
          coordinates; in clipped cells the point must also be covered by the clipped
          polygon), so ``count.sum()`` equals the number of points inside the grid.

    Notes
    -----
    Points outside the grid are not counted and a warning says how many. This is the
    ``hotspot_count`` step of sfhotspot (Ashby 2023), vectorised with numpy.
    """
    check_geodataframe(points, "points", projected=True)
    _check_grid(grid)
    _same_crs(points, "points", grid, "grid")
    pos, ok = _cell_positions(points, grid, "points")
    counts = np.bincount(pos[pos >= 0], minlength=len(grid))
    n_valid = int(ok.sum())
    outside = n_valid - int(counts.sum())
    if outside > 0:
        warnings.warn(f"{outside} of {n_valid} point(s) lie outside the grid and were not counted",
                      stacklevel=2)
    out = grid.copy()
    out["count"] = counts.astype(np.int64)
    return out


def hotspot_kde(points: gpd.GeoDataFrame, grid: gpd.GeoDataFrame, bandwidth: float | None = None,
                bandwidth_adjust: float = 1.0, kernel: str = "quartic") -> gpd.GeoDataFrame:
    """Kernel density of points, evaluated at the centre of each grid cell.

    Parameters
    ----------
    points : GeoDataFrame
        Events as Point geometries in the grid's projected CRS.
    grid : GeoDataFrame
        A grid from :func:`hotspot_grid` (or the output of :func:`hotspot_count`).
    bandwidth : float, optional
        Kernel radius in metres. By default, as in sfhotspot, the mean of the normal-reference
        bandwidths of the x and the y coordinates, each ``4 * 1.06 * min(sd, IQR / 1.34) *
        n^(-1/5)`` (``MASS::bandwidth.nrd``, Venables & Ripley 2002; Scott 1992; Silverman 1986),
        multiplied by ``bandwidth_adjust``.
    bandwidth_adjust : float, default 1
        Multiplier on the default bandwidth (smaller values give a more detailed surface).
    kernel : {'quartic', 'gaussian'}
        ``'quartic'`` (biweight, the kernel of sfhotspot and of most crime-mapping software):
        ``K(d) = 3 / (pi h^2) * (1 - d^2 / h^2)^2`` for ``d < h``. ``'gaussian'``: a normal kernel
        with standard deviation ``h / 4`` (the ``MASS::kde2d`` convention), truncated at ``h``.

    Returns
    -------
    GeoDataFrame
        ``grid`` with added columns:

        - ``kde`` (float): estimated density of events per square kilometre at the cell centre
          (the centroid of the cell polygon). Each point contributes a kernel that integrates
          to 1, so the density integrates to the number of points (less what falls off the grid).
        - ``bandwidth`` (float): the bandwidth used, in metres (the same on every row).

    Notes
    -----
    Kernel density estimation (Silverman 1986) on projected coordinates. Pairs of (cell
    centre, point) within the bandwidth are found with ``scipy.spatial.cKDTree
    .sparse_distance_matrix`` in batches of cells, and the kernel sums with ``numpy.bincount``.
    """
    from scipy.spatial import cKDTree

    check_geodataframe(points, "points", projected=True)
    _check_grid(grid)
    _same_crs(points, "points", grid, "grid")
    check_choice(kernel, "kernel", ("quartic", "gaussian"))
    check_positive(bandwidth_adjust, "bandwidth_adjust")
    x, y, ok = _point_xy(points, "points")
    x, y = x[ok], y[ok]
    if x.size == 0:
        raise ValueError("`points` must hold at least one point, got none; hint: check the event coordinates")
    if bandwidth is None:
        bandwidth = 0.5 * (_nrd(x) + _nrd(y)) * bandwidth_adjust
        if not bandwidth > 0:
            raise ValueError("`points` must be spread out to derive a bandwidth, got points at one place;"
                             " hint: pass `bandwidth` explicitly")
    else:
        check_positive(bandwidth, "bandwidth")
    h = float(bandwidth)
    centres = shapely.centroid(grid.geometry.values)
    cxy = np.column_stack([shapely.get_x(centres), shapely.get_y(centres)])
    tree = cKDTree(np.column_stack([x, y]))
    dens = np.zeros(len(grid))
    # batch the cells so that no batch holds more than about 5 million pairs
    xmin, ymin, xmax, ymax = grid.total_bounds
    extent = max((xmax - xmin) * (ymax - ymin), math.pi * h * h)
    pairs_per_cell = max(1.0, x.size * math.pi * h * h / extent)
    batch = int(max(1, min(len(grid), 5_000_000 // pairs_per_cell)))
    for start in range(0, len(grid), batch):
        part = cKDTree(cxy[start:start + batch])
        sdm = part.sparse_distance_matrix(tree, h, output_type="ndarray")
        d2 = (sdm["v"] / h) ** 2
        if kernel == "quartic":
            k = 3.0 / (math.pi * h * h) * (1.0 - d2) ** 2
        else:
            s = h / 4.0
            k = np.exp(-0.5 * d2 * 16.0) / (2.0 * math.pi * s * s)
        dens[start:start + batch] = np.bincount(sdm["i"], weights=k, minlength=part.n)
    out = grid.copy()
    out["kde"] = dens * 1e6
    out["bandwidth"] = h
    return out


# --------------------------------------------------------------------------------------
# Getis-Ord Gi*
# --------------------------------------------------------------------------------------
def _stable_binary(w):
    """Return ``w`` (a binary libpysal W built here) as a W whose cached sparse form survives esda.

    esda's ``G_Local(transform='B')`` sets ``w.transform = 'B'`` on every call, and libpysal
    discards the W's cached sparse matrix whenever its transform is set, even to the same value;
    rebuilding it was most of the cost of a Gi* call. The subclass skips a transform that
    changes nothing; weights and neighbours are untouched.
    """
    from libpysal.weights import W

    global _StableBinaryW
    if _StableBinaryW is None:
        class _StableW(W):
            def set_transform(self, value="B"):
                if str(value).upper() == self._transform:
                    return
                super().set_transform(value)

            transform = property(W.get_transform, set_transform)

        _StableBinaryW = _StableW
    if type(w) is W:
        w.__class__ = _StableBinaryW
    return w


_StableBinaryW = None


def _grid_neighbour_pairs(grid: gpd.GeoDataFrame, distance: float, size: float) -> tuple[np.ndarray, np.ndarray]:
    """(cell, neighbour) index pairs of cells whose centres are at most ``distance`` apart, self included.

    Candidates come from the cells' row and column (offsets up to ``ceil(distance / size) + 1``
    cells), then the centres' Euclidean distance decides, as a k-d tree search within
    ``distance`` would. Pairs are sorted by cell, then neighbour.
    """
    xy = grid[["x", "y"]].to_numpy(float)
    rows = grid["row"].to_numpy(np.int64)
    cols = grid["col"].to_numpy(np.int64)
    reach = int(np.ceil(distance / size)) + 1
    table = np.full((int(rows.max()) + 1 + 2 * reach, int(cols.max()) + 1 + 2 * reach), -1, np.int64)
    table[rows + reach, cols + reach] = np.arange(len(grid))
    src_parts, dst_parts = [], []
    for di in range(-reach, reach + 1):
        for dj in range(-reach, reach + 1):
            other = table[rows + reach + di, cols + reach + dj]
            ok = np.flatnonzero(other >= 0)
            src_parts.append(ok)
            dst_parts.append(other[ok])
    src = np.concatenate(src_parts)
    dst = np.concatenate(dst_parts)
    near = np.hypot(xy[src, 0] - xy[dst, 0], xy[src, 1] - xy[dst, 1]) <= distance
    src, dst = src[near], dst[near]
    order = np.lexsort((dst, src))
    return src[order], dst[order]


def hotspot_weights(grid: gpd.GeoDataFrame, distance: float | None = None):
    """Binary distance-band spatial weights between grid cells, for Gi*.

    Parameters
    ----------
    grid : GeoDataFrame
        A grid from :func:`hotspot_grid`.
    distance : float, optional
        Neighbourhood radius between cell centres in metres. Default one and a half cell widths,
        so each cell's neighbourhood is its queen neighbours (the 8 touching cells) and itself.

    Returns
    -------
    libpysal.weights.W
        The weights of ``libpysal.weights.DistanceBand(..., binary=True)`` on the cell centres
        (``x``, ``y``), in grid row order, with a self-weight of 1 on the diagonal (Gi* counts the
        focal cell). Build it once and pass it to :func:`hotspot_gistar` to reuse it over many runs.

    Notes
    -----
    Binary distance-band weights (Getis and Ord 1992; libpysal ``DistanceBand``). On a grid the
    neighbours are found from the cells' rows and columns and kept where the centres are within
    ``distance``, which gives the same neighbour sets as ``DistanceBand``'s k-d tree search
    (``tests/test_hotspots.py`` checks it) without building the tree.
    """
    from libpysal.weights import W

    _check_grid(grid)
    size = _grid_spec(grid)["cell_size"]
    if distance is None:
        distance = 1.5 * size
    check_positive(distance, "distance")
    src, dst = _grid_neighbour_pairs(grid, float(distance), size)
    n = len(grid)
    cuts = np.searchsorted(src, np.arange(1, n))
    lists = [part.tolist() for part in np.split(dst, cuts)]
    neighbors = dict(enumerate(lists))
    weights = {i: [1.0] * len(nb) for i, nb in neighbors.items()}
    w = W(neighbors, weights, id_order=list(range(n)), silence_warnings=True)
    w.transform = "B"
    return _stable_binary(w)


def _resolve_weights(grid: gpd.GeoDataFrame, weights, distance):
    from libpysal.weights import W, fill_diagonal

    if weights is None:
        return hotspot_weights(grid, distance)
    check_type(weights, "weights", W)
    if weights.n != len(grid):
        raise ValueError(f"`weights` must have one row per grid cell ({len(grid)}), got {weights.n};"
                         " hint: build them with hotspot_weights(grid)")
    if (weights.sparse.diagonal() == 0).all():
        weights = fill_diagonal(weights, 1.0)
    return weights


def _multiple_testing(p: np.ndarray, correction: str | None, alpha: float) -> np.ndarray:
    from statsmodels.stats.multitest import multipletests

    if correction is None:
        return p.copy()
    return multipletests(p, alpha=alpha, method=correction)[1]


def _convolution_powers(pmf: np.ndarray, k_max: int) -> list[np.ndarray]:
    """pmf^{*m} for m = 0..k_max (the law of a sum of m independent draws), clipped at 0."""
    from scipy import signal

    out = [np.ones(1)]
    for _ in range(k_max):
        nxt = signal.convolve(out[-1], pmf, method="auto")
        out.append(np.clip(nxt, 0.0, None))
    return out


def _conditional_pvalues(values: np.ndarray, wsp) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-sided p-values of each cell's neighbours' sum given its own value (see hotspot_gistar Notes).

    Returns ``(p_hot, p_cold, expected)``: ``P(S >= s_i)``, ``P(S <= s_i)`` and ``E S`` where
    ``S`` is the sum of ``k_i`` draws from the other cells' values and ``s_i`` the observed
    sum over the cell's ``k_i`` neighbours (the focal cell itself excluded).
    """
    y = np.rint(values).astype(np.int64)
    n = len(y)
    binary = wsp.copy()
    binary.data = np.ones_like(binary.data)
    binary.setdiag(0)
    binary.eliminate_zeros()
    k = np.asarray(binary.sum(axis=1)).ravel().astype(int)
    s = np.asarray(binary @ y).ravel().astype(np.int64)
    if n < 2:
        return np.ones(n), np.ones(n), np.zeros(n)
    hist = np.bincount(y).astype(float)
    pmf = hist / n
    k_max = int(k.max()) if n else 0
    powers = _convolution_powers(pmf, k_max)
    sf = [np.concatenate([np.cumsum(p[::-1])[::-1], [0.0]]) for p in powers]   # P(X >= s), s = 0..len
    cdf = [np.cumsum(p) for p in powers]                                        # P(X <= s)
    # Pool without the focal value v: h_v = a * pmf - b * e_v, a = n/(n-1), b = 1/(n-1). Its k-fold
    # convolution is sum_j C(k, j) a^(k-j) (-b)^j pmf^{*(k-j)} shifted by j*v (binomial expansion).
    a, b = n / (n - 1.0), 1.0 / (n - 1.0)
    p_hot = np.zeros(n)
    p_cold = np.zeros(n)
    from scipy.special import comb

    for m in range(k_max + 1):                       # m = k - j draws from pmf; at most 9 passes
        j = k - m
        use = j >= 0
        coef = np.where(use, comb(k, np.clip(j, 0, None)) * a ** m * (-b) ** np.clip(j, 0, None), 0.0)
        shift = s - np.clip(j, 0, None) * y
        top = len(powers[m])
        hot_idx = np.clip(shift, 0, top)              # P(X >= t): 1 for t <= 0, 0 for t >= top
        hot = np.where(shift <= 0, 1.0, sf[m][hot_idx])
        cold = np.where(shift < 0, 0.0, np.where(shift >= top - 1, 1.0, cdf[m][np.clip(shift, 0, top - 1)]))
        p_hot += np.where(use, coef * hot, 0.0)
        p_cold += np.where(use, coef * cold, 0.0)
    expected = k * (y.sum() - y) / (n - 1.0)
    return np.clip(p_hot, 0.0, 1.0), np.clip(p_cold, 0.0, 1.0), expected


def _gistar_core(z_values: np.ndarray, events: np.ndarray, share: np.ndarray, grid: gpd.GeoDataFrame,
                 weights, distance, correction, alpha, permutations, p_method, seed, clusters: bool = True,
                 tested: np.ndarray | None = None):
    """Gi* z (esda) and p-values; ``share`` is each cell's share of the null intensity.

    ``tested`` (bool per cell) limits the test to those cells: the others get NaN p-values, are
    left out of the multiple-testing family and of every neighbourhood, and are labelled
    ``'not tested'``. ``clusters`` adds the conditional-randomisation columns.
    """
    from esda.getisord import G_Local
    from scipy import stats

    w = _resolve_weights(grid, weights, distance)
    n = len(grid)
    wsp = w.sparse.tocsr()
    if tested is not None and not tested.all():
        keep = np.flatnonzero(tested)
        sub = _gistar_core(z_values[keep], events[keep], share[keep] / share[keep].sum(), grid.iloc[keep],
                           _subset_weights(wsp, keep), None, correction, alpha, permutations, p_method, seed,
                           clusters)
        out = {}
        for key, value in sub.items():
            value = np.asarray(value)
            text = value.dtype.kind in "OUS"
            full = np.full(n, "not tested", dtype=object) if text else np.full(n, np.nan)
            full[keep] = value
            out[key] = full
        return out
    neigh_events = wsp @ events
    neigh_share = np.clip(wsp @ share, 0.0, 1.0)
    total = float(events.sum())
    expected = total * neigh_share
    degenerate = total == 0 or np.ptp(z_values) == 0
    if degenerate:
        warnings.warn("every cell has the same value (e.g. no events): Gi* is undefined and no cell"
                      " is significant", stacklevel=3)
        gi_z = np.zeros(n)
        p = np.ones(n)
    else:
        y = z_values - z_values.min() + 1.0  # Gi* z is unchanged by a shift; G needs positive sums
        with warnings.catch_warnings():
            # esda warns that its permutation p-value will become two-sided; we double it here
            warnings.filterwarnings("ignore", message="The alternative hypothesis", category=DeprecationWarning)
            g = G_Local(y, w, transform="B", star=True, permutations=permutations,
                        keep_simulations=False, seed=seed, n_jobs=1)
        gi_z = np.asarray(g.Zs, float)
        if p_method == "exact":
            p_hot = stats.binom.sf(neigh_events - 1, int(round(total)), neigh_share)
            p_cold = stats.binom.cdf(neigh_events, int(round(total)), neigh_share)
            p = 2.0 * np.minimum(p_hot, p_cold)
        elif p_method == "normal":
            p = 2.0 * np.asarray(g.p_norm, float)
        elif p_method == "permutation":
            p = 2.0 * np.asarray(g.p_sim, float)
        else:  # conditional: replaced below
            p = np.ones(n)
        p = np.clip(np.nan_to_num(p, nan=1.0), 0.0, 1.0)
    out = {}
    if clusters or p_method == "conditional":
        if degenerate:
            p_c, excess_c = np.ones(n), np.zeros(n)
        else:
            p_hot_c, p_cold_c, expected_c = _conditional_pvalues(events, wsp)
            p_c = np.clip(2.0 * np.minimum(p_hot_c, p_cold_c), 0.0, 1.0)
            excess_c = (wsp @ events - events) - expected_c
        p_c_adj = np.clip(_multiple_testing(p_c, correction, alpha), 0.0, 1.0)
        label_c = np.where(p_c_adj < alpha, np.where(excess_c > 0, "hot", "cold"), "not significant")
        if clusters:
            out = {"cluster_p_value": p_c, "cluster_p_adjusted": p_c_adj, "cluster": label_c}
        if p_method == "conditional":
            p = p_c
    p_adj = np.clip(_multiple_testing(p, correction, alpha), 0.0, 1.0)
    direction = (neigh_events - expected) if p_method == "exact" else gi_z
    if p_method == "conditional":
        direction = excess_c
    label = np.where(p_adj < alpha, np.where(direction > 0, "hot", "cold"), "not significant")
    return {"gi_z": gi_z, "p_value": p, "p_adjusted": p_adj, "hotspot": label,
            "neighbourhood_count": neigh_events, "neighbourhood_expected": expected, **out}


_SUBSET_WEIGHTS: dict[bytes, Any] = {}
_SUBSET_WEIGHTS_MAX = 16


def _subset_weights(wsp, keep: np.ndarray):
    """Binary weights among the kept cells only, as a libpysal W (self-weights kept).

    The same grid and the same tested cells recur for every year and category of a document, and
    building a libpysal W (and its sparse form, inside esda) is most of the cost of a Gi* call, so
    the W is kept, keyed by a digest of the weights' structure and the kept cells. It is never
    modified after it is built (esda's ``transform='B'`` on a binary W changes nothing).
    """
    import hashlib

    from libpysal.weights import WSP

    csr = wsp.tocsr()
    key = hashlib.blake2b(b"".join((np.asarray(csr.shape, np.int64).tobytes(), csr.indptr.tobytes(),
                                    csr.indices.tobytes(), np.asarray(csr.data, float).tobytes(),
                                    np.asarray(keep, np.int64).tobytes())), digest_size=20).digest()
    w = _SUBSET_WEIGHTS.get(key)
    if w is None:
        sub = csr[keep][:, keep].tocsr()
        w = WSP(sub).to_W(silence_warnings=True)
        w.transform = "B"
        w = _stable_binary(w)
        if len(_SUBSET_WEIGHTS) >= _SUBSET_WEIGHTS_MAX:
            _SUBSET_WEIGHTS.pop(next(iter(_SUBSET_WEIGHTS)))
        _SUBSET_WEIGHTS[key] = w
    return w


def _check_gistar_args(correction, alpha, permutations, p_method, n_cells):
    check_choice(correction, "correction", _CORRECTIONS)
    check_probability(alpha, "alpha")
    if isinstance(permutations, bool) or not isinstance(permutations, (int, np.integer)) or permutations < 0:
        raise ValueError(f"`permutations` must be a whole number of 0 or more, got {permutations!r}")
    if p_method is None:
        p_method = "permutation" if permutations > 0 else "exact"
    check_choice(p_method, "p_method", _P_METHODS)
    if p_method == "permutation":
        if permutations < 1:
            raise ValueError("`permutations` must be at least 1 when p_method='permutation', got 0;"
                             " hint: use p_method='exact' (the default) or permutations=9999")
        floor = 2.0 / (permutations + 1)
        if correction is not None and floor > alpha / n_cells:
            warnings.warn(
                f"with {n_cells} cells and {permutations} permutations the smallest possible p-value"
                f" ({floor:.2g}) is above alpha / cells ({alpha / n_cells:.2g}), so after {correction}"
                " correction an isolated hotspot can never be significant; hint: use p_method='exact'",
                stacklevel=3,
            )
    return p_method


def hotspot_gistar(counts_grid: gpd.GeoDataFrame, distance: float | None = None,
                   correction: str | None = "fdr_bh", alpha: float = 0.05, permutations: int = 0,
                   p_method: str | None = None, weights=None, column: str = "count",
                   seed: int | None = None) -> gpd.GeoDataFrame:
    """Getis-Ord Gi* hot and cold spots on a grid of counts, corrected for multiple testing.

    Parameters
    ----------
    counts_grid : GeoDataFrame
        Output of :func:`hotspot_count` (a grid with a ``count`` column).
    distance : float, optional
        Neighbourhood radius between cell centres in metres for binary distance-band weights.
        Default one and a half cell widths: the cell, its 4 rook and 4 diagonal (queen)
        neighbours, as in sfhotspot.
    correction : {'fdr_bh', 'holm', None}, default 'fdr_bh'
        Multiple-testing correction over all cells, by ``statsmodels.stats.multitest
        .multipletests``: Benjamini-Hochberg false discovery rate (default) or Holm's
        family-wise step-down method. ``None`` leaves p-values uncorrected (not advised).
    alpha : float, default 0.05
        Significance level applied to the corrected p-values.
    permutations : int, default 0
        Conditional permutations for esda's pseudo p-values. Only used with
        ``p_method='permutation'``; see Notes for why the default does not use them.
    p_method : {'exact', 'normal', 'permutation', 'conditional'}, optional
        How p-values are obtained; default ``'exact'`` (or ``'permutation'`` when
        ``permutations > 0``). ``'conditional'`` makes the clustering test below the main
        one. See Notes.
    weights : libpysal.weights.W, optional
        Prebuilt weights from :func:`hotspot_weights`, to reuse over many runs on one grid.
    column : str, default 'count'
        The column of whole counts to analyse.
    seed : int, optional
        Seed for the permutations.

    Returns
    -------
    GeoDataFrame
        ``counts_grid`` with added columns:

        - ``count`` (int): the events in the cell (``column``; kept as given).
        - ``neighbourhood_count`` (float): events in the cell and its neighbours.
        - ``neighbourhood_expected`` (float): events expected there under spatial randomness
          (total events x the neighbourhood's share of the grid's area).
        - ``gi_z`` (float): the Gi* z-score from ``esda.G_Local(star=True)``; positive means
          more events around the cell than the grid average.
        - ``p_value`` (float): two-sided p-value for the cell, in [0, 1].
        - ``p_adjusted`` (float): ``p_value`` after ``correction``, in [0, 1].
        - ``hotspot`` (str): ``'hot'`` or ``'cold'`` when ``p_adjusted < alpha``, else
          ``'not significant'``.
        - ``cluster_p_value``, ``cluster_p_adjusted`` (float): two-sided p-values of the
          clustering test (conditional randomisation, see Notes), before and after
          ``correction``.
        - ``cluster`` (str): ``'hot'`` or ``'cold'`` when ``cluster_p_adjusted < alpha``
          (the cell's neighbours hold more, or fewer, events than cells drawn at random from
          the rest of the grid would), else ``'not significant'``.

        ``attrs["hotspot_gistar"]`` records the method, correction, alpha and distance for
        :func:`hotspot_summary`.

    Notes
    -----
    **Statistic.** Getis-Ord Gi* (Getis & Ord 1992; Ord & Getis 1995) computed by
    ``esda.G_Local(y, w, transform='B', star=True)`` with binary ``libpysal`` distance-band
    weights including the focal cell.

    **p-values.** With the default ``p_method='exact'`` the p-value is analytic and exact for
    counts: under complete spatial randomness, given the total ``N`` events, the number in a
    cell's Gi* neighbourhood is Binomial(``N``, neighbourhood area / grid area), and the
    neighbourhood count is exactly the numerator of Gi*. The two-sided p-value is twice the
    smaller binomial tail (``scipy.stats.binom``). ``p_method='normal'`` uses esda's normal
    approximation (``2 * p_norm``); ``'permutation'`` uses esda's conditional-permutation
    pseudo p-values (``2 * p_sim``, capped at 1).

    **Why this still works after correction over thousands of cells.** A grid over a
    partnership has thousands of cells, so a cell is only significant after FDR or Holm
    correction when its p-value is of the order of ``alpha / cells`` (about 1e-5 for 4,500
    cells). Permutation p-values cannot get there: they are bounded below by
    ``1 / (permutations + 1)`` (0.001 with 999 permutations), so an isolated hotspot could never
    survive Holm, and FDR only with implausibly many permutations (a warning says so). The
    analytic p-values have no such floor. Of the analytic choices, the normal approximation
    is not accurate that far into the tail for sparse counts (a few events per cell): the
    count distribution is skewed, the normal tail is too thin, and in 200 seeded simulations of
    a uniform Poisson pattern at the demo's intensity (12,000 events, 15 x 12 km, 4,500 cells
    of 200 m) FDR-corrected normal p-values flagged a spurious hotspot in 36 runs (18%). The
    exact binomial tail is accurate at any depth, so the correction keeps its promise: in the
    same simulations it flagged one in 2 runs (1%), within the 5% that FDR allows under the
    complete null (the tests check at most 10 of 100 seeded runs; see docs/BENCHMARKS.md).
    The binomial is discrete, so the test is slightly conservative; a planted cluster of 80
    events among 12,000 is still found. For hotspots relative to population, use
    :func:`hotspot_rate`, which applies the same exact test with population shares.

    **What the exact test tests.** Its null is complete spatial randomness: every event
    equally likely to fall anywhere, so a hot cell has *more events around it than if they
    were spread evenly across the area*. That is a test of concentration, not of clustering.
    Real cell counts vary far more than an even spread allows (some streets have shops, some
    fields), and then almost every busy cell is "hot": on simulated grids whose cell rates
    vary independently (variance three times the mean, no clustering at all) the exact test
    flagged hot cells in every run (see ``docs/VALIDATION.md``).

    **Clustering test (``cluster_*`` columns; ``p_method='conditional'``).** The null is
    that cell counts are exchangeable, however uneven: the cell's own count is held fixed and
    its ``k`` neighbours' sum is compared with the sum of ``k`` counts drawn from the other
    cells. This is the conditional randomisation of local statistics (Anselin 1995, "Local
    indicators of spatial association - LISA", *Geographical Analysis* 27:93-115; esda's
    ``G_Local`` permutation p-values), with the draws taken with replacement so that the
    null distribution is an exact convolution of the empirical distribution of the other
    cells' counts (computed by ``scipy.signal.convolve``; the focal cell is removed from the
    pool by a binomial expansion) instead of Monte Carlo. It therefore has no permutation
    floor, and the Benjamini-Hochberg or Holm correction over thousands of cells works as for
    the exact test. Drawing with replacement differs from permuting without replacement by
    terms of order ``k / n``. Over-dispersion does not inflate it, because the null
    distribution is the grid's own distribution of counts; cells of unequal area (clipped at
    the boundary) are treated as exchangeable, a small approximation.
    """
    _check_grid(counts_grid, "counts_grid", (column,))
    check_nonnegative_counts(counts_grid[column], column, where="counts_grid")
    check_type(column, "column", str)
    p_method = _check_gistar_args(correction, alpha, permutations, p_method, len(counts_grid))
    events = counts_grid[column].to_numpy(float)
    area = counts_grid["area"].to_numpy(float)
    share = area / area.sum()
    res = _gistar_core(events, events, share, counts_grid, weights, distance, correction, alpha,
                       permutations, p_method, seed)
    out = counts_grid.copy()
    for key, value in res.items():
        out[key] = value
    size = _grid_spec(counts_grid)["cell_size"]
    out.attrs[_GI_ATTR] = {"p_method": p_method, "correction": correction, "alpha": alpha,
                           "distance": float(distance) if distance is not None else 1.5 * size,
                           "value": column}
    return out


def hotspot_summary(gistar: pd.DataFrame, what: str = "hotspots", noun: str = "crime") -> str:
    """Sentences saying whether Gi* found significant hot or cold spots, and what that was tested against.

    Parameters
    ----------
    gistar : DataFrame
        Output of :func:`hotspot_gistar` or :func:`hotspot_rate` (needs ``hotspot``).
    what : str, default 'hotspots'
        What the cells are hotspots of, for the sentence (e.g. ``'burglary hotspots'``).
    noun : str, default 'crime'
        What was counted, for the plain statement of the null (e.g. ``'incidents'``).

    Returns
    -------
    str
        ``"There are no statistically significant hotspots (Getis-Ord Gi*, ... corrected
        p < 0.05, 4,500 cells)."`` when no cell is significantly hot, otherwise
        ``"There are statistically significant hotspots: 12 hot cells (...)"``; significant cold
        cells are added in either case. A second sentence states the null in plain words
        (for the default exact test: "more crime than an even spread across the area would
        put there"; per head: "than the number of residents would predict"; for the
        clustering test: "than cells drawn at random from the rest of the area"). When the
        frame has the clustering test's ``cluster`` column and the main test is not that
        test, a third sentence says how many hot cells also form clusters that hold when
        counts vary a lot from cell to cell.
    """
    check_dataframe(gistar, "gistar", ("hotspot",))
    check_type(what, "what", str)
    check_type(noun, "noun", str)
    info = gistar.attrs.get(_GI_ATTR, {})
    correction = info.get("correction", "fdr_bh")
    alpha = info.get("alpha", 0.05)
    p_method = str(info.get("p_method", "exact"))
    tested = gistar["hotspot"] != "not tested"
    cells = int(tested.sum())
    corrected = "uncorrected" if correction is None else f"{_CORRECTION_NAMES.get(correction, correction)}-corrected"
    method = f"Getis-Ord Gi*, {corrected} p < {alpha:g}, {cells:,} cells"
    if cells < len(gistar):
        method += f"; {len(gistar) - cells:,} cells with no residents left out"
    hot = int((gistar["hotspot"] == "hot").sum())
    cold = int((gistar["hotspot"] == "cold").sum())
    cold_text = ""
    if cold:
        cold_text = f"; {cold:,} cell{' is a' if cold == 1 else 's are'} significant cold spot{'s' if cold > 1 else ''}"
    if hot == 0:
        first = f"There are no statistically significant {what} ({method}){cold_text}."
    else:
        first = (f"There are statistically significant {what}: {hot:,} hot cell{'' if hot == 1 else 's'}"
                 f" ({method}){cold_text}.")
    if p_method.startswith("exact (population"):
        null = (f"A hot cell here has more {noun} around it than the number of residents there would predict "
                "(a test against population, not of clustering).")
    elif p_method == "conditional":
        null = (f"A hot cell here has more {noun} in the cells around it than cells drawn at random from the rest of "
                "the area would hold: a test of clustering that allows for counts varying a lot from cell to cell.")
    else:
        null = (f"A hot cell here has more {noun} around it than an even spread across the area would put there; "
                "that tests concentration, not clustering, and busy streets are expected to pass it.")
    text = f"{first} {null}"
    if "cluster" in gistar.columns and p_method != "conditional" and hot:
        both = int(((gistar["hotspot"] == "hot") & (gistar["cluster"] == "hot")).sum())
        text += (f" {both:,} of the {hot:,} hot cells also sit in clusters that hold when counts vary a lot from "
                 "cell to cell (conditional randomisation test, same correction).")
    return text


# --------------------------------------------------------------------------------------
# classification over periods
# --------------------------------------------------------------------------------------
def hotspot_classify(points: gpd.GeoDataFrame, grid: gpd.GeoDataFrame, periods: str = "Y",
                     date_col: str = "date", distance: float | None = None,
                     correction: str | None = "fdr_bh", alpha: float = 0.05, weights=None,
                     persistent_share: float = 0.9, increase_test: bool = True,
                     dispersion: float | str | None = "estimate") -> gpd.GeoDataFrame:
    """Classify grid cells as persistent, emerging, intermittent or former hotspots over periods.

    Parameters
    ----------
    points : GeoDataFrame
        Events with Point geometries and dates, in the grid's projected CRS.
    grid : GeoDataFrame
        A grid from :func:`hotspot_grid`.
    periods : str, default 'Y'
        Either a pandas period frequency applied to ``date_col`` (``'Y'`` years, ``'Q'``
        quarters, ``'M'`` months; every period from the first to the last is included, even if
        empty), or the name of a column of ``points`` that already holds sortable period labels.
        At least two periods are needed.
    date_col : str, default 'date'
        The datetime column used with a frequency.
    distance, correction, alpha, weights
        As in :func:`hotspot_gistar`, applied in each period.
    persistent_share : float, default 0.9
        Share of periods a cell must be hot in to be persistent.
    increase_test : bool, default True
        Emerging requires a significant rise (rule 3 below). ``False`` uses the pure
        flag-sequence rule instead.
    dispersion : {'estimate'} or float or None, default 'estimate'
        Over-dispersion allowed for in the rise test: the counts' variance as a multiple of
        their mean (``phi``). ``'estimate'``:
        :func:`~assessment.analysis.rates.rate_table_dispersion` of the table the test uses,
        each cell's neighbourhood total x period (with weights that are not 0/1, whose totals
        are not counts, of the cell x period table instead). A number: that ``phi`` (values
        below 1 count as 1). None: Poisson chance alone (``phi = 1``, the exact conditional
        Poisson test).

    Returns
    -------
    GeoDataFrame
        ``grid`` with added columns:

        - ``count_<period>`` (int) and ``hot_<period>`` (bool): events and whether the cell is a
          significant Gi* hot spot (after correction) in each period, oldest first.
        - ``periods_hot`` (int): number of periods in which the cell is hot.
        - ``hot_latest`` (bool): hot in the latest period.
        - ``increase_ratio`` (float): the neighbourhood's share of the grid's events in the
          latest period divided by its share in its busiest earlier period (above 1: higher
          than ever before, relative to the partnership).
        - ``p_increase`` (float), ``p_increase_adjusted`` (float): one-sided p-value of that
          rise, and after ``correction`` over the cells hot in the latest period (1 elsewhere).
        - ``dispersion`` (float >= 1): the ``phi`` the rise test allowed for (the same in
          every row; 1 for Poisson chance alone).
        - ``pattern`` (str): one of ``'persistent'``, ``'emerging'``, ``'intermittent'``,
          ``'former'``, ``'no pattern'`` by the rules below.

    Notes
    -----
    Emerging hot spot analysis in the style of ESRI's Emerging Hot Spot Analysis (ArcGIS Pro,
    Space Time Pattern Mining toolbox), with Gi* (:func:`hotspot_gistar`, exact p-values,
    corrected over cells) run separately in each period on the same grid and weights. With
    ``T`` periods and a cell's significant-hot flags in time order, rules are applied in order:

    1. **no pattern**: never significantly hot.
    2. **former**: hot in at least one earlier period but not in the latest (ESRI
       "historical"/"diminishing").
    3. **emerging**: hot in the latest period, and its neighbourhood's events in the latest
       period are significantly above its busiest earlier period (``p_increase_adjusted <
       alpha``; ESRI "new", "consecutive" and "intensifying"): higher than it has ever been,
       not merely back to an earlier level. With ``increase_test=False`` the flag rule is used
       instead: hot periods form one unbroken run ending with the latest period, shorter than
       the persistent threshold (hot only in the latest period(s), not before).
    4. **persistent**: hot in the latest period and in at least ``persistent_share`` of all
       periods, rounded up (so all of them when ``T < 10``), without a significant rise.
    5. **intermittent**: hot in the latest period but neither persistent nor emerging: hot in
       non-consecutive periods (ESRI "sporadic"/"oscillating"), or newly hot without a
       significant rise.

    Why a rise test and not only the sequence of flags: a cell that crosses the significance
    line this year but not last year has not been shown to have changed (the difference between
    significant and not significant is not itself significant; Gelman & Stern 2006). On a
    partnership where events follow population, the edges of the population hotspot flicker
    in and out of significance from year to year, and a flag rule calls them "emerging". And
    with three yearly periods a place that was already mildly hot and then doubled would be
    called persistent. The rise test answers both: emerging means hot now *and* significantly
    busier than before.

    The rise test is the exact conditional test for two Poisson counts (Przyborowski &
    Wilenski 1940): with ``a`` events in the neighbourhood in the latest period and ``b`` in its
    busiest earlier period (the highest share of that period's grid total), ``a`` is
    Binomial(``a + b``, ``N_latest / (N_latest + N_b)``) when the neighbourhood keeps its share
    of the grid's events, so a partnership-wide rise is not mistaken for an emerging hotspot.
    Comparing with the busiest earlier period (not their average) is conservative and keeps
    an oscillating place from being called emerging. ESRI's Mann-Kendall trend test is not used:
    with the three yearly periods of a typical assessment it cannot reach p < 0.05.

    Real counts in cells are over-dispersed (clumped events, repeat victims and places): their
    year-to-year variance is a multiple ``phi`` of their mean, and the Poisson test then calls
    chance rises significant (on a town whose hotspots stay put, with variance 3 x mean, about
    three runs in four named an emerging cell; ``assessment.calibration.emerging``). So the
    rise test allows for ``phi``, by default estimated from the cell x period table
    (:func:`~assessment.analysis.rates.rate_table_dispersion`: the quasi-Poisson Pearson
    chi-square / df under the Poisson log-linear model *cell + period*, "every cell changes by
    the same factor", so a partnership-wide change and real differences between places are
    not counted as noise; never below 1; Wedderburn 1974, McCullagh & Nelder 1989): the
    binomial test is applied to the counts divided by ``phi`` (effective counts; Rao & Scott
    1992), ``p = I_q(a / phi, (m - a) / phi + 1)`` with ``m = a + b``,
    ``q = N_latest / (N_latest + N_b)`` and ``I`` the regularised incomplete beta function
    (``scipy.special.betainc``), i.e. the binomial upper tail continued to non-whole counts. The latest count's conditional variance is then ``phi m q
    (1 - q)``, the quasi-Poisson variance (McCullagh & Nelder 1989, chapter 9); with
    ``phi = 1`` it is exactly ``scipy.stats.binom.sf(a - 1, m, q)``. A neighbourhood's count
    is a sum of cells, and neighbouring cells are often busier or quieter together in a year
    (a spell of activity spreads over a few streets): the sum then varies more than its cells'
    own over-dispersion implies. So ``phi`` is measured on the neighbourhood totals
    themselves (the same quasi-Poisson fit on the neighbourhood x period table; each row's
    Pearson term estimates its own variance-to-mean ratio, though the overlapping rows make
    the estimate less precise than its degrees of freedom suggest). Measured on single cells
    instead, a town with such spatially correlated yearly noise but no emerging place had an
    emerging hotspot named in 84% of 100 runs (``assessment.calibration.emerging``,
    scenario "field").
    """
    check_geodataframe(points, "points", projected=True)
    _check_grid(grid)
    _same_crs(points, "points", grid, "grid")
    check_type(periods, "periods", str)
    check_probability(persistent_share, "persistent_share")
    if periods in points.columns:
        labels = points[periods]
        order = pd.Index(pd.unique(labels.dropna())).sort_values()
    else:
        check_dataframe(points, "points", (date_col,))
        dates = pd.to_datetime(points[date_col], errors="coerce")
        try:
            labels = dates.dt.to_period(periods)
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValueError(
                f"`periods` must be a column of `points` or a pandas frequency such as 'Y' or 'Q',"
                f" got {periods!r}; hint: columns are {list(points.columns)}"
            ) from exc
        if labels.notna().sum() == 0:
            raise ValueError(f"`{date_col}` must hold dates, got none that parse in `points`")
        order = pd.period_range(labels.min(), labels.max(), freq=labels.dt.freq)
    if labels.isna().any():
        warnings.warn(f"{int(labels.isna().sum())} row(s) of `points` have no period and were ignored",
                      stacklevel=2)
    if len(order) < 2:
        raise ValueError(f"`points` must span at least two periods to classify, got {len(order)};"
                         " hint: use a shorter period such as 'Q'")
    pos, _ = _cell_positions(points, grid, "points")
    period_pos = pd.Index(order).get_indexer(labels)
    keep = (pos >= 0) & (period_pos >= 0)
    T, n = len(order), len(grid)
    counts = np.zeros((n, T), dtype=np.int64)
    np.add.at(counts, (pos[keep], period_pos[keep]), 1)
    return _classify(counts, list(order), grid, distance, correction, alpha, weights, persistent_share,
                     increase_test, dispersion)


def hotspot_classify_counts(counts: Any, labels: list, grid: gpd.GeoDataFrame, distance: float | None = None,
                            correction: str | None = "fdr_bh", alpha: float = 0.05, weights=None,
                            persistent_share: float = 0.9, increase_test: bool = True,
                            dispersion: float | str | None = "estimate") -> gpd.GeoDataFrame:
    """:func:`hotspot_classify` from counts already made: one column of cell counts per period.

    For callers that hold each event's cell (:func:`hotspot_cell_positions`) and period as
    integers, so that no point objects are built.

    Parameters
    ----------
    counts : array-like of int, shape (len(grid), len(labels))
        Events per cell (rows, in the grid's order) and period (columns, oldest first).
    labels : list
        The periods' labels, oldest first (``count_<label>`` and ``hot_<label>`` columns);
        at least two.
    grid, distance, correction, alpha, weights, persistent_share, increase_test, dispersion
        As in :func:`hotspot_classify`.

    Returns
    -------
    GeoDataFrame
        As :func:`hotspot_classify`.
    """
    _check_grid(grid)
    check_probability(persistent_share, "persistent_share")
    counts = np.asarray(counts)
    if counts.ndim != 2 or counts.shape != (len(grid), len(labels)):
        raise ValueError(f"`counts` must have shape (cells, periods) = {(len(grid), len(labels))}, "
                         f"got {counts.shape}")
    if len(labels) < 2:
        raise ValueError(f"`labels` must hold at least two periods to classify, got {len(labels)}")
    if (counts < 0).any():
        raise ValueError("`counts` must be counts of events (0 or more), got a negative value")
    return _classify(counts.astype(np.int64), list(labels), grid, distance, correction, alpha, weights,
                     persistent_share, increase_test, dispersion)


def _resolve_dispersion(dispersion: float | str | None, counts: np.ndarray, sums: np.ndarray | None = None) -> float:
    """The ``phi`` of the rise test. ``'estimate'`` measures it on the table the test uses, the
    neighbourhood sums x periods (``sums``), when those are whole numbers (binary weights);
    otherwise on the cells' own table ``counts``."""
    if dispersion is None:
        return 1.0
    if isinstance(dispersion, str):
        from assessment.analysis.rates import rate_table_dispersion

        check_choice(dispersion, "dispersion", ("estimate",))
        table = sums if sums is not None and np.array_equal(sums, np.rint(sums)) else counts
        return rate_table_dispersion(np.rint(table), autocorrelation=False)["dispersion"]
    if isinstance(dispersion, bool) or not isinstance(dispersion, (int, float, np.integer, np.floating)) \
            or not np.isfinite(dispersion) or dispersion <= 0:
        raise ValueError(f"`dispersion` must be 'estimate', None or a number greater than 0, got {dispersion!r}")
    return float(max(1.0, dispersion))


def _rise_pvalues(recent: np.ndarray, trials: np.ndarray, share: np.ndarray, phi: float) -> np.ndarray:
    """One-sided p of ``recent`` of ``trials`` at ``share``, the counts divided by ``phi``."""
    from scipy import special, stats

    if phi == 1.0:
        return stats.binom.sf(recent - 1, trials, share)
    a, m = recent / phi, trials / phi
    p = np.ones_like(a)
    pos = a > 0
    p[pos] = special.betainc(a[pos], m[pos] - a[pos] + 1.0, np.broadcast_to(share, a.shape)[pos])
    return p


def _classify(counts: np.ndarray, order: list, grid: gpd.GeoDataFrame, distance, correction, alpha, weights,
              persistent_share: float, increase_test: bool, dispersion: float | str | None = "estimate"
              ) -> gpd.GeoDataFrame:
    T, n = len(order), len(grid)
    w = _resolve_weights(grid, weights, distance)
    wsp = w.sparse.tocsr()
    neigh = wsp @ counts.astype(float)  # each cell's neighbourhood total per period (the rise test's counts)
    phi = _resolve_dispersion(dispersion, counts, neigh)
    out = grid.copy()
    hot = np.zeros((n, T), dtype=bool)
    for t, label in enumerate(order):  # loop over periods, not rows
        g = grid[["cell_id", "row", "col", "x", "y", "area", "geometry"]].copy()
        g["count"] = counts[:, t]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = hotspot_gistar(g, correction=correction, alpha=alpha, weights=w)
        hot[:, t] = (res["hotspot"] == "hot").to_numpy()
        out[f"count_{label}"] = counts[:, t]
        out[f"hot_{label}"] = hot[:, t]
    periods_hot = hot.sum(axis=1)
    latest = hot[:, -1]
    # length of the unbroken run of hot periods ending with the latest
    not_hot_rev = ~hot[:, ::-1]
    run = np.where(not_hot_rev.any(axis=1), not_hot_rev.argmax(axis=1), T)
    need = math.ceil(persistent_share * T - 1e-9)
    # increase test: the neighbourhood's events in the latest period against its busiest earlier
    # period, relative to the grid's totals (conditional binomial test, one-sided, counts / phi)
    totals = counts.sum(axis=0).astype(float)
    recent, n_recent = neigh[:, -1], totals[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        earlier_share = np.where(totals[None, :-1] > 0, neigh[:, :-1] / totals[None, :-1], -np.inf)
    busiest = earlier_share.argmax(axis=1)
    before = neigh[np.arange(n), busiest]
    n_before = totals[:-1][busiest]
    p_increase = np.ones(n)
    tested = (n_recent > 0) & (n_before > 0) & (recent + before > 0)
    if tested.any():
        trials = np.rint(recent + before).astype(np.int64)[tested]
        share_recent = n_recent / (n_recent + n_before[tested])
        p_increase[tested] = _rise_pvalues(recent[tested], trials, share_recent, phi)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(tested, (recent / n_recent) / (before / n_before), np.nan)
    p_increase = np.clip(p_increase, 0.0, 1.0)
    p_increase_adj = np.ones(n)
    if latest.any():
        p_increase_adj[latest] = np.clip(_multiple_testing(p_increase[latest], correction, alpha), 0.0, 1.0)
    if increase_test:
        emerging = latest & (p_increase_adj < alpha)
    else:
        emerging = latest & (run == periods_hot) & (periods_hot < need)
    pattern = np.select(
        [periods_hot == 0, ~latest, emerging, periods_hot >= need],
        ["no pattern", "former", "emerging", "persistent"],
        default="intermittent",
    )
    out["increase_ratio"] = ratio
    out["p_increase"] = p_increase
    out["p_increase_adjusted"] = p_increase_adj
    out["periods_hot"] = periods_hot
    out["hot_latest"] = latest
    out["pattern"] = pattern
    out["dispersion"] = phi
    return out


# --------------------------------------------------------------------------------------
# concentration and repeats
# --------------------------------------------------------------------------------------
def hotspot_concentration(counts: Any, by: str | list[str] | None = None,
                          top: tuple[float, ...] = (0.05, 0.10)) -> pd.DataFrame:
    """How concentrated events are: share in the top cells (or map points) and a Gini coefficient.

    Parameters
    ----------
    counts : DataFrame, Series or array
        Counts per unit: a grid from :func:`hotspot_count` (its ``count`` column), a Series or
        a 1-D array of whole counts. With ``by``, an events table instead.
    by : str or list of str, optional
        Columns of the events table that identify a unit, e.g. ``['easting', 'northing']`` for
        map points (data.police.uk snaps events to anonymised map points) or ``'location'``.
        Events are counted per distinct value; only units with at least one event are known, so
        the shares are "of map points with an event".
    top : tuple of float, default (0.05, 0.10)
        Shares of units to report, each strictly between 0 and 1.

    Returns
    -------
    DataFrame
        One row:

        - ``units`` (int): number of units (cells or map points), including those with 0 events.
        - ``units_with_events`` (int): units with at least one event.
        - ``events`` (int): total events.
        - ``share_top_5pct``, ``share_top_10pct`` (float): share of all events in the busiest
          ``ceil(p * units)`` units, for each ``p`` in ``top`` (named by the percentage).
        - ``units_top_5pct``, ``units_top_10pct`` (int): how many units that is.
        - ``gini`` (float): Gini coefficient of the counts over units, 0 (even) to ``1 - 1/units``
          (all events in one unit).

    Notes
    -----
    The "law of crime concentration" (Weisburd 2015) is usually reported as the share of
    crime in the top 5% or 10% of places. The Gini coefficient is computed from the ordered
    counts ``x_(1) <= ... <= x_(n)`` as ``G = 2 * sum(i * x_(i)) / (n * sum(x)) - (n + 1) / n``,
    which equals one minus twice the area under the Lorenz curve (Gini 1912); see Bernasco &
    Steenbeek (2017) for its use on crime places.
    """
    if by is not None:
        check_dataframe(counts, "counts", [by] if isinstance(by, str) else list(by))
        cols = [by] if isinstance(by, str) else list(by)
        grouped = counts.dropna(subset=cols).groupby(cols, sort=False).size()
        x = grouped.to_numpy(float)
    else:
        check_type(counts, "counts", (pd.DataFrame, pd.Series, np.ndarray, list))
        if isinstance(counts, pd.DataFrame):
            check_dataframe(counts, "counts", ("count",))
            series = counts["count"]
        else:
            series = pd.Series(np.asarray(counts).ravel())
        check_nonnegative_counts(series, "count", where="counts")
        x = series.to_numpy(float)
    if x.size == 0:
        raise ValueError("`counts` must have at least one unit, got none")
    check_type(top, "top", (tuple, list))
    for p in top:
        check_probability(p, "top")
    total = x.sum()
    n = x.size
    ordered = np.sort(x)
    row: dict[str, Any] = {"units": n, "units_with_events": int((x > 0).sum()), "events": int(total)}
    desc = ordered[::-1]
    cum = np.cumsum(desc)
    for p in top:
        k = int(math.ceil(p * n - 1e-9))
        label = f"{p * 100:g}pct"
        row[f"share_top_{label}"] = float(cum[k - 1] / total) if total > 0 else np.nan
        row[f"units_top_{label}"] = k
    if total > 0:
        i = np.arange(1, n + 1)
        row["gini"] = float(2.0 * (i * ordered).sum() / (n * total) - (n + 1.0) / n)
    else:
        row["gini"] = np.nan
    return pd.DataFrame([row])


def hotspot_repeat_locations(events: pd.DataFrame, location_col: str | list[str],
                             min_events: int = 2, summary: bool = False) -> pd.DataFrame:
    """Locations with repeat events.

    Parameters
    ----------
    events : DataFrame
        One row per event.
    location_col : str or list of str
        Column(s) that identify a location, e.g. ``'location'`` (street description),
        ``['easting', 'northing']`` (map point) or a pseudonymised address key. Rows with a
        missing location are ignored with a warning.
    min_events : int, default 2
        Events needed at a location to count it as a repeat location.
    summary : bool, default False
        Return one summary row instead of the table of repeat locations.

    Returns
    -------
    DataFrame
        By default one row per repeat location, busiest first:

        - the ``location_col`` column(s);
        - ``events`` (int): events at the location;
        - ``share_of_events`` (float): its share of all events with a location;
        - ``cumulative_share`` (float): running share down the table.

        With ``summary=True``, one row: ``events`` (with a location), ``locations``,
        ``repeat_locations``, ``events_at_repeat_locations``, ``share_at_repeat_locations``
        (0-1) and ``max_events_at_one_location``.

    Notes
    -----
    Repeat victimisation and repeat locations (Farrell & Pease 1993): a small share of places
    accounts for a large share of events, which is why they are a priority for prevention.
    """
    cols = [location_col] if isinstance(location_col, str) else list(location_col)
    check_dataframe(events, "events", cols)
    if isinstance(min_events, bool) or not isinstance(min_events, (int, np.integer)) or min_events < 2:
        raise ValueError(f"`min_events` must be a whole number of at least 2, got {min_events!r}")
    missing = events[cols].isna().any(axis=1)
    if missing.any():
        warnings.warn(f"{int(missing.sum())} event(s) have no `{location_col}` and were ignored",
                      stacklevel=2)
    per = events.loc[~missing].groupby(cols, sort=False).size().rename("events")
    total = int(per.sum())
    repeat = per[per >= min_events].sort_values(ascending=False, kind="stable")
    if summary:
        at_repeat = int(repeat.sum())
        return pd.DataFrame([{
            "events": total,
            "locations": int(per.size),
            "repeat_locations": int(repeat.size),
            "events_at_repeat_locations": at_repeat,
            "share_at_repeat_locations": at_repeat / total if total else np.nan,
            "max_events_at_one_location": int(per.max()) if per.size else 0,
        }])
    table = repeat.reset_index()
    table["share_of_events"] = table["events"] / total if total else np.nan
    table["cumulative_share"] = table["share_of_events"].cumsum()
    return table


# --------------------------------------------------------------------------------------
# hotspots per population
# --------------------------------------------------------------------------------------
def _population_to_cells(grid: gpd.GeoDataFrame, population: pd.DataFrame, col: str) -> np.ndarray:
    """Population per grid cell: summed by ``cell_id``, or apportioned from polygons by area."""
    has_polygons = isinstance(population, gpd.GeoDataFrame) and np.isin(
        shapely.get_type_id(population.geometry.values), (3, 6)).any()
    if not has_polygons:
        check_dataframe(population, "population", ("cell_id", col),
                        where="population (give polygons, or a table with cell_id)")
        per_cell = population.groupby("cell_id")[col].sum()
        values = per_cell.reindex(grid["cell_id"]).fillna(0.0).to_numpy(float)
        lost = float(population[col].sum()) - values.sum()
        if lost > 1e-6 * max(1.0, values.sum()):
            warnings.warn(f"population {lost:g} is on cell_ids not in the grid and was dropped",
                          stacklevel=3)
        return values
    check_geodataframe(population, "population", (col,), projected=True)
    _same_crs(population, "population", grid, "grid")
    src = population[[col, population.geometry.name]].copy()
    src = src.rename_geometry("geometry") if population.geometry.name != "geometry" else src
    src["_src_area"] = src.geometry.area
    zero = src["_src_area"] <= 0
    if zero.any():
        raise ValueError(f"`population` must hold polygons with area, got {int(zero.sum())} without;"
                         f" hint: first one at row {src.index[zero.to_numpy()][0]!r}")
    src["_pop"] = src[col].astype(float)
    cells = grid[["cell_id", "geometry"]]
    pieces = gpd.overlay(src[["_pop", "_src_area", "geometry"]], cells, how="intersection",
                         keep_geom_type=True)
    pieces["_part"] = pieces["_pop"] * pieces.geometry.area / pieces["_src_area"]
    per_cell = pieces.groupby("cell_id")["_part"].sum()
    values = per_cell.reindex(grid["cell_id"]).fillna(0.0).to_numpy(float)
    total = float(src["_pop"].sum())
    lost = total - values.sum()
    if total > 0 and lost / total > 0.005:
        warnings.warn(
            f"{lost / total:.1%} of the population ({lost:,.0f} people) lives in parts of `population`"
            " areas outside the grid and is not counted; hint: build the grid over the same boundary",
            stacklevel=3,
        )
    return values


def hotspot_rate(counts_grid: gpd.GeoDataFrame, population: pd.DataFrame,
                 population_col: str = "pop_total", per: float = 1000.0, distance: float | None = None,
                 correction: str | None = "fdr_bh", alpha: float = 0.05, weights=None,
                 column: str = "count") -> gpd.GeoDataFrame:
    """Hotspots per head of population: where events exceed what the residents would predict.

    Parameters
    ----------
    counts_grid : GeoDataFrame
        Output of :func:`hotspot_count`.
    population : GeoDataFrame or DataFrame
        Either small-area polygons (e.g. LSOAs) with a ``population_col`` column, in the grid's
        CRS, which are apportioned to cells by area; or a table with ``cell_id`` and
        ``population_col`` that is already per cell.
    population_col : str, default 'pop_total'
        The population column.
    per : float, default 1000
        Rate denominator (events per ``per`` residents).
    distance, correction, alpha, weights
        As in :func:`hotspot_gistar`.
    column : str, default 'count'
        The count column of ``counts_grid``.

    Returns
    -------
    GeoDataFrame
        ``counts_grid`` with added columns:

        - ``population`` (float): residents apportioned to the cell.
        - ``rate`` (float): events per ``per`` residents; NaN where nobody lives.
        - ``expected`` (float): events expected if they followed population,
          ``events in cells with residents * population / total population``.
        - ``excess`` (float): ``count - expected``.
        - ``neighbourhood_count``, ``neighbourhood_expected`` (float): observed and
          population-expected events in the Gi* neighbourhood.
        - ``gi_z`` (float): Gi* z-score of ``excess`` (``esda.G_Local``, star, binary weights).
        - ``p_value``, ``p_adjusted`` (float): two-sided p-values, in [0, 1], before and after
          ``correction``.
        - ``hotspot`` (str): ``'hot'``/``'cold'``/``'not significant'`` relative to population,
          or ``'not tested'`` for a cell where nobody lives (its ``gi_z``, ``p_value`` and
          ``p_adjusted`` are NaN).

    Notes
    -----
    A hotspot map of counts is partly a map of where people live. Here the null hypothesis is
    that events follow the resident population: population is apportioned from small areas
    to cells by area (areal weighting with ``geopandas.overlay``; totals are conserved for
    areas inside the grid), and the number of events in a cell's Gi* neighbourhood is
    Binomial(``N``, neighbourhood population / total population) given the ``N`` events. The
    exact two-sided binomial p-value (see :func:`hotspot_gistar` on why exact p-values) is
    corrected over cells. Gi* on the excess over expected rather than on rates is used
    because rates are unstable where few people live (a single event in a cell of five people
    is a rate of 200 per 1,000). Cells where nobody lives are left out of the test altogether
    (of the multiple-testing family, and of every neighbourhood with their events): against
    a population of zero any event is an infinite excess, which says nothing about residents.
    The test runs on the cells with residents and their events; a cell with residents whose
    neighbours include empty cells (town centres, parks) is judged on its populated
    neighbourhood only.
    """
    _check_grid(counts_grid, "counts_grid", (column,))
    check_nonnegative_counts(counts_grid[column], column, where="counts_grid")
    check_dataframe(population, "population", (population_col,))
    check_positive(per, "per")
    p_method = _check_gistar_args(correction, alpha, 0, "exact", len(counts_grid))
    pop_values = pd.to_numeric(population[population_col], errors="coerce")
    if pop_values.isna().any() or (pop_values < 0).any():
        first = population.index[(pop_values.isna() | (pop_values < 0)).to_numpy()][0]
        raise ValueError(f"`{population_col}` must be a population of 0 or more, got"
                         f" {population.loc[first, population_col]!r} at row {first!r} in population")
    pop = _population_to_cells(counts_grid, population, population_col)
    total_pop = pop.sum()
    if not total_pop > 0:
        raise ValueError("`population` must put some residents in the grid, got 0;"
                         " hint: check the CRS and that the areas overlap the grid")
    events = counts_grid[column].to_numpy(float)
    share = pop / total_pop
    expected = events[pop > 0].sum() * share
    excess = events - expected
    res = _gistar_core(excess, events, share, counts_grid, weights, distance, correction, alpha, 0,
                       p_method, None, clusters=False, tested=pop > 0)
    out = counts_grid.copy()
    out["population"] = pop
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rate"] = np.where(pop > 0, events / pop * per, np.nan)
    out["expected"] = expected
    out["excess"] = excess
    for key, value in res.items():
        out[key] = value
    size = _grid_spec(counts_grid)["cell_size"]
    out.attrs[_GI_ATTR] = {"p_method": "exact (population)", "correction": correction, "alpha": alpha,
                           "distance": float(distance) if distance is not None else 1.5 * size,
                           "value": "excess over population"}
    return out
