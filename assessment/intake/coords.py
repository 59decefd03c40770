"""Coordinates to British National Grid (EPSG:27700), with pyproj, vectorised.

Source coordinates arrive as WGS84 longitude/latitude (data.police.uk, ambulance,
licensing) or OSGB eastings/northings (fire, council). Every conversion goes
through :class:`pyproj.Transformer` with ``always_xy=True`` (x = longitude or
easting first); nothing is converted by hand.

Each row gets a status:

``'ok'``
    Converted; easting/northing hold the point.
``'missing'``
    x or y is empty. For point events this is normal (data.police.uk rows without a
    location): the row is kept and reported as not geocoded.
``'invalid'``
    Present but not a usable location: not a number, exactly (0, 0) (a common
    "unknown" placeholder), outside the source CRS's valid range (e.g. latitude 95),
    or outside Great Britain's grid once converted (e.g. longitude and latitude
    swapped). These rows are quarantined with the reason "coordinates invalid".
``'not finite'``
    x or y is written as a non-finite number (``nan``, ``inf``, ``-Infinity``): the
    mark of a broken export, not of a row without a location. These rows are
    quarantined with the reason "coordinates not finite".
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
import pandas as pd
from pyproj import CRS, Transformer

from assessment.checks import check_type

TARGET_CRS = "EPSG:27700"
# The extent of the British National Grid (metres), with a 10 km margin.
GRID_BOUNDS = (-10_000.0, -10_000.0, 710_000.0, 1_310_000.0)
COORD_STATUSES = ("ok", "missing", "invalid", "not finite")
_NON_FINITE_TEXT = r"(?i)^\s*[+-]?(nan|inf|infinity|1\.#(?:qnan|ind|inf))\s*$"


@lru_cache(maxsize=16)
def _transformer(source_crs: str) -> Transformer:
    return Transformer.from_crs(CRS.from_user_input(source_crs), CRS.from_user_input(TARGET_CRS), always_xy=True)


#: Points per side of the probe grid on which a direct operation must match :func:`_transformer`.
_PROBE_SIDE = 64


@lru_cache(maxsize=16)
def _direct_operation(source_crs: str) -> tuple[Transformer, tuple[float, float, float, float]] | None:
    """PROJ's own first-choice operation from a geographic ``source_crs`` to the grid, as one
    pipeline without the steps that only carry the height, and the bounds of its area of use
    (west, south, east, north, degrees); None where that cannot be shown to give the same numbers.

    :func:`_transformer` (``Transformer.from_crs``) holds every candidate operation and picks one
    for each point: the first whose area of use contains it. Inside the first choice's area every
    point gets that operation, so applying it directly skips the choice; for two-dimensional
    input the ``push v_3``/``pop v_3`` steps only save and restore a height of zero that the
    projection step ignores. Together about 10% of the transform's time (interleaved, 2M points).
    The pipeline comes from PROJ (``TransformerGroup``), never written by hand, and it is used only
    if it matches :func:`_transformer` bit for bit on a grid of points over the area.
    """
    import warnings

    from pyproj.transformer import TransformerGroup

    if not _is_geographic(source_crs):
        return None
    try:
        with warnings.catch_warnings():  # "best transformation is not available" (a missing grid) is PROJ's business
            warnings.simplefilter("ignore")
            group = TransformerGroup(CRS.from_user_input(source_crs), CRS.from_user_input(TARGET_CRS),
                                     always_xy=True)
        best = group.transformers[0] if group.transformers else None
        area = best.area_of_use if best is not None else None
        if area is None or not best.definition.startswith("proj=pipeline"):
            return None
        steps = [st for st in best.definition.split(" step ") if st not in ("proj=push v_3", "proj=pop v_3")]
        direct = Transformer.from_pipeline(" ".join("+" + word for word in " step ".join(steps).split()))
        west, south, east, north = area.bounds
        if not (west < east and south < north):  # an area across the antimeridian: keep the general route
            return None
        gx, gy = np.meshgrid(np.linspace(west, east, _PROBE_SIDE + 2)[1:-1],
                             np.linspace(south, north, _PROBE_SIDE + 2)[1:-1])
        gx, gy = gx.ravel(), gy.ravel()
        want = _transformer(source_crs).transform(gx, gy, errcheck=False)
        got = direct.transform(gx, gy, errcheck=False)
        same = all(np.array_equal(a, b, equal_nan=True) for a, b in zip(want, got))
    except Exception:  # noqa: BLE001 - any trouble here only means the general route is taken
        return None
    return (direct, (west, south, east, north)) if same else None


@lru_cache(maxsize=16)
def _is_geographic(source_crs: str) -> bool:
    return CRS.from_user_input(source_crs).is_geographic


def _as_float(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (floats, present, not_finite): ``present`` marks non-empty source values,
    ``not_finite`` those written as nan or (+/-) infinity."""
    if isinstance(values, pd.Series):
        if pd.api.types.is_float_dtype(values.dtype):  # read as numbers: empty fields are NaN
            arr = values.to_numpy(dtype="float64", na_value=np.nan)
            return arr, ~np.isnan(arr), np.isinf(arr)
        present = (values.notna() & (values.astype("str").str.strip() != "")).to_numpy()
        arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        not_finite = np.isinf(arr)
        unread = present & np.isnan(arr)  # text that is no number, or a written nan
        if unread.any():
            not_finite[unread] = values[unread].astype("str").str.match(_NON_FINITE_TEXT).to_numpy(dtype=bool)
        return arr, present, not_finite
    arr = np.asarray(values, dtype="float64")
    return arr, ~np.isnan(arr), np.isinf(arr)


#: Below twice this many points the transform runs in one call; above, in one slice per core.
_PARALLEL_ROWS = 1 << 18
#: Rows sampled to judge whether the pairs repeat enough for factorising to pay.
_SAMPLE = 1 << 14
#: Factorise when the distinct pairs are expected to be at most this share of the rows.
_DISTINCT_SHARE = 0.5


def _expected_distinct_share(xs: np.ndarray, ys: np.ndarray) -> float:
    """Estimate the share of distinct (x, y) pairs among the rows (finite values only) from a sample.

    An evenly spaced sample of :data:`_SAMPLE` rows is factorised. If its rows are all
    different the pairs are taken as distinct (1.0). Otherwise the number of points ``D``
    the rows are drawn from is solved from the sample (``d = D (1 - exp(-s / D))`` for
    ``d`` distinct among ``s`` rows drawn evenly from ``D`` points) and the share of the
    ``m`` rows expected to be distinct is ``D (1 - exp(-m / D)) / m``. This only chooses
    how to transform (once per distinct pair, or every row); the result is the same.
    """
    m = len(xs)
    step = max(m // _SAMPLE, 1)
    sample = np.empty(len(range(0, m, step)), dtype=np.complex128)
    sample.real, sample.imag = xs[::step], ys[::step]
    s, d = len(sample), len(pd.unique(sample))
    if s == m or d >= s:
        return 1.0 if m == 0 else d / s
    lo, hi = float(d), float(d) * 1e6  # d(D) = D (1 - exp(-s / D)) rises with D: bisect on a log scale
    for _ in range(60):
        mid = np.sqrt(lo * hi)
        if mid * -np.expm1(-s / mid) < d:
            lo = mid
        else:
            hi = mid
    points = np.sqrt(lo * hi)
    return float(points * -np.expm1(-m / points) / m)


def _transform_in_place(source_crs: str, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Transform ``x``, ``y`` (contiguous float64, overwritten) with pyproj; on a large input,
    one slice per core in parallel (pyproj releases the GIL and gives each thread its own
    transformer). Each point is transformed on its own, so the numbers do not depend on the slicing."""
    transformer = _transformer(source_crs)
    direct = _direct_operation(source_crs)
    if direct is None:
        _transform_all(transformer, x, y)
        return x, y
    op, (west, south, east, north) = direct
    # strictly inside the area of use: the points that the general transformer gives to this very
    # operation (those on or beyond its edges keep the general route)
    inside = (x > west) & (x < east) & (y > south) & (y < north)
    if inside.all():
        _transform_all(op, x, y)
        return x, y
    for tr, rows in ((op, np.flatnonzero(inside)), (transformer, np.flatnonzero(~inside))):
        part_x, part_y = x[rows], y[rows]
        _transform_all(tr, part_x, part_y)
        x[rows], y[rows] = part_x, part_y
    return x, y


def _transform_all(transformer: Transformer, x: np.ndarray, y: np.ndarray) -> None:
    """Transform ``x``, ``y`` in place: in one call, or on a large input one slice per core."""
    workers = min(os.cpu_count() or 1, 4, len(x) // _PARALLEL_ROWS)
    if workers < 2:
        transformer.transform(x, y, errcheck=False, inplace=True)
    else:
        _transform_slices(transformer, x, y, workers)


def _transform_slices(transformer: Transformer, x: np.ndarray, y: np.ndarray, workers: int) -> None:
    """Transform ``x``, ``y`` in place in ``workers`` slices, one per thread."""
    bounds = np.linspace(0, len(x), workers + 1).astype(np.int64)

    def part(i: int) -> None:
        transformer.transform(x[bounds[i]:bounds[i + 1]], y[bounds[i]:bounds[i + 1]], errcheck=False, inplace=True)

    with ThreadPoolExecutor(max_workers=workers - 1) as pool:
        others = [pool.submit(part, i) for i in range(1, workers)]
        part(0)
        for job in others:
            job.result()


def _factorize_pairs(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the distinct (x, y) pairs (finite), in order of first appearance, and the row of
    each pair's first appearance.

    Coordinates written with at most 6 decimals (data.police.uk's) are hashed as one
    64-bit integer, the two whole numbers of millionths side by side, when that is exact
    for every row (each value equals its millionths divided back); otherwise as complex
    numbers. Both give the same codes.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        kx, ky = np.rint(xs * 1e6), np.rint(ys * 1e6)
        exact = bool(((kx / 1e6 == xs) & (ky / 1e6 == ys) & (np.abs(kx) < 2**31) & (np.abs(ky) < 2**31)).all())
    if exact:
        keys = (kx.astype(np.int64) << 32) | (ky.astype(np.int64) & 0xFFFFFFFF)
    else:
        keys = np.empty(len(xs), dtype=np.complex128)
        keys.real, keys.imag = xs, ys
    codes, _ = pd.factorize(keys)
    # codes are numbered in order of first appearance: a pair first appears where its code
    # exceeds every code before it
    before = np.maximum.accumulate(np.concatenate([[-1], codes[:-1]]))
    return codes, np.flatnonzero(codes > before)


def _transform_usable(xs: np.ndarray, ys: np.ndarray, ok: np.ndarray,
                      source_crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Transform the usable (x, y) pairs (``ok``); NaN elsewhere.

    data.police.uk snaps locations to a limited set of anonymised map points, so a
    large file usually holds far fewer distinct points than rows: then each distinct
    pair is transformed once and broadcast back (the pairs are factorised in one hash
    pass, :func:`_factorize_pairs`). When the pairs are mostly distinct (judged from a
    sample, :func:`_expected_distinct_share`), factorising is pure overhead and every
    usable row is transformed in one vectorised call (:func:`_transform_in_place`). Both
    give the same numbers: each point is transformed on its own.
    """
    every = bool(ok.all())
    rows = None if every else np.flatnonzero(ok)
    x_ok, y_ok = (xs.copy(), ys.copy()) if every else (xs[rows], ys[rows])  # copies: transformed in place
    if len(x_ok) == 0:
        e = n = x_ok
    elif _expected_distinct_share(x_ok, y_ok) > _DISTINCT_SHARE:
        e, n = _transform_in_place(source_crs, x_ok, y_ok)
    else:
        codes, first = _factorize_pairs(x_ok, y_ok)
        ue, un = _transform_in_place(source_crs, x_ok[first], y_ok[first])
        e, n = ue[codes], un[codes]
    if every:
        return np.asarray(e, dtype="float64"), np.asarray(n, dtype="float64")
    east = np.full(len(xs), np.nan)
    north = np.full(len(xs), np.nan)
    east[rows], north[rows] = e, n
    return east, north


def prepare_transform(source_crs: str) -> None:
    """Build (and cache) what :func:`to_bng` needs for ``source_crs``: PROJ's transformer and,
    where it applies, the direct operation. Opening PROJ's database and choosing the operations
    takes some tens of milliseconds; intake does it on a thread while the file is read. A CRS
    that cannot be built is left for :func:`to_bng` to report."""
    check_type(source_crs, "source_crs", str)
    try:
        _transformer(source_crs)
        _direct_operation(source_crs)
    except Exception:  # noqa: BLE001 - to_bng raises it where the caller can see it
        return


def to_bng(x: pd.Series | np.ndarray, y: pd.Series | np.ndarray,
           source_crs: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convert source coordinates to EPSG:27700 eastings and northings.

    Parameters
    ----------
    x, y : Series or ndarray
        Longitude and latitude (geographic CRS) or easting and northing (projected
        CRS), as numbers or text. Text that is not a number counts as invalid.
    source_crs : str
        The CRS the source declares, e.g. ``'EPSG:4326'`` or ``'EPSG:27700'``.

    Returns
    -------
    easting, northing : ndarray of float64
        EPSG:27700 metres; NaN wherever the status is not ``'ok'``.
    status : pandas.Categorical
        ``'ok'``, ``'missing'``, ``'invalid'`` or ``'not finite'`` per row (see the module
        docstring).

    Notes
    -----
    Conversion uses PROJ through :class:`pyproj.Transformer` (``always_xy=True``);
    for WGS84 to OSGB36 this is PROJ's default Helmert pipeline, or OSTN15 when its
    grid is installed. Inside the area of use of PROJ's first-choice operation that
    operation is applied directly (:func:`_direct_operation`): the same numbers, bit for
    bit, checked when it is first built and in the tests.
    """
    check_type(source_crs, "source_crs", str)
    xs, x_present, x_inf = _as_float(x)
    ys, y_present, y_inf = _as_float(y)
    if xs.shape != ys.shape:
        raise ValueError(f"`x` and `y` must have the same length, got {xs.shape[0]} and {ys.shape[0]}")
    not_finite = x_inf | y_inf
    missing = ~(x_present & y_present)
    finite = np.isfinite(xs) & np.isfinite(ys)
    bad = ~missing & (~finite | ((xs == 0) & (ys == 0)))
    if _is_geographic(source_crs):
        with np.errstate(invalid="ignore"):
            bad |= ~missing & finite & ((np.abs(xs) > 180) | (np.abs(ys) > 90))
    ok = ~missing & ~bad
    east, north = _transform_usable(xs, ys, ok, source_crs)
    x0, y0, x1, y1 = GRID_BOUNDS
    with np.errstate(invalid="ignore"):
        outside = ok & ~((east >= x0) & (east <= x1) & (north >= y0) & (north <= y1))
    if outside.any():
        bad |= outside
        ok &= ~outside
        east[outside] = np.nan
        north[outside] = np.nan
    codes = np.where(ok, 0, np.where(not_finite, 3, np.where(missing, 1, 2))).astype(np.int8)
    return east, north, pd.Categorical.from_codes(codes, categories=list(COORD_STATUSES))
