"""Crosswalks between geographies: weight tables, apportionment, measured error.

A weight table has one row per (source unit, target unit) pair with a positive weight:

``source_code``  code of the source unit
``target_code``  code of the target unit
``weight``       share of the source's count that goes to the target (0 < weight <= 1)
``method``       ``'area'``, ``'population'`` or ``'best_fit'``
``basis``        what the weight was computed from for this row (e.g.
                 ``'area overlap'``; a fallback is named, e.g. ``'area (source has no
                 population)'``)

For each source the weights sum to 1 when the source lies wholly inside the target
layer; otherwise the remainder ``1 - sum(weight)`` is the share **outside the target**,
which :func:`crosswalk_apply` reports rather than loses.

All measurement happens in a projected CRS: layers in a geographic CRS (e.g. WGS84 KML
beats) are reprojected to EPSG:27700 automatically (or to ``crs``).
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from assessment.checks import check_choice, check_dataframe, check_geodataframe, check_type
from assessment.errors import GeographyError
from assessment.geography._crs import common_projected

METHODS = ("area", "population", "best_fit")
WEIGHT_COLUMNS = ["source_code", "target_code", "weight", "method", "basis"]


def _prepare(source, target, small_areas, source_code, target_code, small_code, population, crs):
    check_geodataframe(source, "source", [source_code])
    check_geodataframe(target, "target", [target_code])
    if small_areas is not None:
        check_geodataframe(small_areas, "small_areas", [small_code, population])
        pop = pd.to_numeric(small_areas[population], errors="coerce")
        if pop.isna().any() or (pop < 0).any():
            bad = small_areas.loc[pop.isna() | (pop < 0), small_code].iloc[0]
            raise ValueError(f"`small_areas.{population}` must be a number of 0 or more, got "
                             f"{small_areas.loc[small_areas[small_code] == bad, population].iloc[0]!r} "
                             f"for small area {bad}")
    src, tgt, small = common_projected(source, target, small_areas, crs=crs)
    src = gpd.GeoDataFrame({"source_code": src[source_code].astype(str).to_numpy()},
                           geometry=src.geometry.to_numpy(), crs=src.crs)
    tgt = gpd.GeoDataFrame({"target_code": tgt[target_code].astype(str).to_numpy()},
                           geometry=tgt.geometry.to_numpy(), crs=tgt.crs)
    for name, frame, col in (("source", src, "source_code"), ("target", tgt, "target_code")):
        if frame[col].duplicated().any():
            raise GeographyError(f"{name} layer repeats unit code(s) "
                                 f"{sorted(frame[col][frame[col].duplicated()].unique())[:10]}")
    if small is not None:
        small = gpd.GeoDataFrame({"small_code": small[small_code].astype(str).to_numpy(),
                                  "population": pd.to_numeric(small[population]).to_numpy(dtype=float)},
                                 geometry=small.geometry.to_numpy(), crs=small.crs)
    return src, tgt, small


def _weights(frame: pd.DataFrame, method: str) -> pd.DataFrame:
    frame = frame.loc[frame["weight"] > 0, WEIGHT_COLUMNS[:3] + ["basis"]].copy()
    frame["method"] = method
    frame["weight"] = frame["weight"].clip(upper=1.0)
    return frame[WEIGHT_COLUMNS].sort_values(["source_code", "target_code"]).reset_index(drop=True)


def _intersection(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gpd.overlay(a, b, how="intersection", keep_geom_type=True)


def crosswalk_area(source: gpd.GeoDataFrame, target: gpd.GeoDataFrame, source_code: str = "code",
                   target_code: str = "code", crs=None) -> pd.DataFrame:
    """Weights from source to target by share of the source's area.

    Parameters
    ----------
    source, target : GeoDataFrame
        Boundary layers in any CRS (reprojected to a common projected CRS).
    source_code, target_code : str
        Code columns.
    crs : optional
        Projected CRS to measure in (default: the first projected layer's, else EPSG:27700).

    Returns
    -------
    DataFrame
        ``source_code``, ``target_code``, ``weight`` (= area(source ∩ target) / area(source)),
        ``method`` (``'area'``), ``basis`` (``'area overlap'``).

    Notes
    -----
    Areal weighting (areal interpolation of an extensive variable; Goodchild & Lam 1980),
    the method of ``tobler.area_interpolate`` with ``allocate_total=False``. Intersections
    by :func:`geopandas.overlay`. Assumes a count is spread uniformly over the source's area.
    """
    src, tgt, _ = _prepare(source, target, None, source_code, target_code, None, None, crs)
    src_area = pd.Series(src.area.to_numpy(), index=src["source_code"])
    if (src_area <= 0).any():
        raise GeographyError(f"source unit(s) with zero area: {list(src_area.index[src_area <= 0])[:10]}")
    pieces = _intersection(src, tgt)
    pieces["weight"] = pieces.area.to_numpy() / src_area.reindex(pieces["source_code"]).to_numpy()
    pieces = pieces.groupby(["source_code", "target_code"], as_index=False)["weight"].sum()
    pieces["basis"] = "area overlap"
    return _weights(pieces, "area")


def crosswalk_population(source: gpd.GeoDataFrame, target: gpd.GeoDataFrame, small_areas: gpd.GeoDataFrame,
                         population: str = "pop_total", source_code: str = "code", target_code: str = "code",
                         small_code: str = "code", crs=None) -> pd.DataFrame:
    """Weights from source to target by share of the source's population (dasymetric).

    Parameters
    ----------
    source, target : GeoDataFrame
        Boundary layers in any CRS.
    small_areas : GeoDataFrame
        The smallest units carrying population (e.g. LSOAs / output areas).
    population : str
        Column of ``small_areas`` to weight by (residents, households, premises...).
    source_code, target_code, small_code : str
        Code columns.
    crs : optional
        Projected CRS to measure in.

    Returns
    -------
    DataFrame
        ``source_code``, ``target_code``, ``weight``, ``method`` (``'population'``), ``basis``
        (``'population in pieces'``, or ``'area (source has no population)'`` where the
        source overlaps no populated small area and area weights are used instead, with a
        warning).

    Notes
    -----
    Dasymetric weighting through small areas (Mennis 2003; the "population-weighted"
    apportionment used for ONS lookups): source, target and small areas are intersected;
    each small area's population is assumed uniform over its area, so a piece
    ``source ∩ target ∩ small`` holds ``pop(small) * area(piece) / area(small)``. The weight
    is the population of ``source ∩ target`` divided by the population of ``source``
    (all its small-area pieces, including any outside the target layer, whose share is
    then reported as outside the target). Parts of the source not covered by any small
    area are taken to hold nobody.
    """
    check_type(population, "population", str)
    src, tgt, small = _prepare(source, target, small_areas, source_code, target_code, small_code,
                               population, crs)
    small = small.assign(small_area=small.area.to_numpy())
    small = small.loc[small["small_area"] > 0]
    ss = _intersection(src, small)
    ss["pop"] = ss["population"].to_numpy() * ss.area.to_numpy() / ss["small_area"].to_numpy()
    src_pop = ss.groupby("source_code")["pop"].sum().reindex(src["source_code"], fill_value=0.0)
    sst = _intersection(ss[["source_code", "small_code", "population", "small_area", "geometry"]], tgt)
    sst["pop"] = sst["population"].to_numpy() * sst.area.to_numpy() / sst["small_area"].to_numpy()
    st = sst.groupby(["source_code", "target_code"], as_index=False)["pop"].sum()
    st["weight"] = st["pop"].to_numpy() / src_pop.reindex(st["source_code"]).to_numpy()
    st["basis"] = "population in pieces"
    st = st.loc[np.isfinite(st["weight"])]
    empty = src_pop.index[src_pop.to_numpy() <= 0]
    parts = [st]
    if len(empty):
        warnings.warn(f"{len(empty)} source unit(s) hold no population in `{population}`; their weights "
                      f"fall back to area overlap: {list(empty)[:10]}", stacklevel=2)
        sub = source.loc[source[source_code].astype(str).isin(empty)]
        fb = crosswalk_area(sub, target, source_code, target_code, crs=src.crs)
        fb["basis"] = "area (source has no population)"
        parts.append(fb)
    return _weights(pd.concat(parts, ignore_index=True), "population")


def crosswalk_best_fit(source: gpd.GeoDataFrame, target: gpd.GeoDataFrame, small_areas: gpd.GeoDataFrame,
                       population: str = "pop_total", source_code: str = "code", target_code: str = "code",
                       small_code: str = "code", crs=None) -> pd.DataFrame:
    """Weights from source to target by best fit of small areas (ONS-style centroid lookup).

    Parameters
    ----------
    source, target, small_areas, population, source_code, target_code, small_code, crs
        As in :func:`crosswalk_population`.

    Returns
    -------
    DataFrame
        ``source_code``, ``target_code``, ``weight`` (share of the source's population in
        small areas whose point falls in the target), ``method`` (``'best_fit'``),
        ``basis`` (``'small-area points'``, or ``'source point (no small area inside)'``
        where no small area's point falls in the source: the whole source then goes to
        the target containing its own representative point).

    Notes
    -----
    Best-fit allocation as in ONS best-fit lookups (ONS Geography Policy for National
    Statistics, 2015): each small area goes wholly to the unit containing a point that is
    guaranteed to lie inside it (:func:`shapely.point_on_surface`, GEOS's interior point,
    in place of the population-weighted centroid ONS uses). The same point decides its
    source unit. Points on shared edges follow the lowest-code rule of
    :func:`assessment.geography.assign.assign_points`.
    """
    from assessment.geography.assign import _assign

    check_type(population, "population", str)
    src, tgt, small = _prepare(source, target, small_areas, source_code, target_code, small_code,
                               population, crs)
    pts = shapely.point_on_surface(small.geometry.to_numpy())
    s_pos, _, _ = _assign(pts, src.rename(columns={"source_code": "code"}))
    t_pos, _, _ = _assign(pts, tgt.rename(columns={"target_code": "code"}))
    frame = pd.DataFrame({"pop": small["population"].to_numpy(), "s": s_pos, "t": t_pos})
    frame = frame.loc[frame["s"] >= 0]
    src_pop = frame.groupby("s")["pop"].sum()
    st = frame.loc[frame["t"] >= 0].groupby(["s", "t"], as_index=False)["pop"].sum()
    st["weight"] = st["pop"].to_numpy() / src_pop.reindex(st["s"]).to_numpy()
    st = st.loc[np.isfinite(st["weight"])]
    st["source_code"] = src["source_code"].to_numpy()[st["s"].to_numpy()]
    st["target_code"] = tgt["target_code"].to_numpy()[st["t"].to_numpy()]
    st["basis"] = "small-area points"
    has_pop = np.zeros(len(src), dtype=bool)
    has_pop[src_pop.index[src_pop.to_numpy() > 0].to_numpy()] = True
    parts = [st]
    if (~has_pop).any():
        warnings.warn(f"{int((~has_pop).sum())} source unit(s) contain no populated small-area point; each "
                      "goes wholly to the target holding its own representative point: "
                      f"{list(src['source_code'][~has_pop])[:10]}", stacklevel=2)
        own = shapely.point_on_surface(src.geometry.to_numpy()[~has_pop])
        o_pos, _, _ = _assign(own, tgt.rename(columns={"target_code": "code"}))
        fb = pd.DataFrame({"source_code": src["source_code"].to_numpy()[~has_pop], "t": o_pos})
        fb = fb.loc[fb["t"] >= 0]
        fb["target_code"] = tgt["target_code"].to_numpy()[fb["t"].to_numpy()]
        fb["weight"] = 1.0
        fb["basis"] = "source point (no small area inside)"
        parts.append(fb)
    return _weights(pd.concat(parts, ignore_index=True), "best_fit")


def crosswalk_weights(source: gpd.GeoDataFrame, target: gpd.GeoDataFrame, method: str = "area",
                      small_areas: gpd.GeoDataFrame | None = None, population: str = "pop_total",
                      source_code: str = "code", target_code: str = "code", small_code: str = "code",
                      crs=None) -> pd.DataFrame:
    """Weight table from source to target by ``method`` (``'area'``, ``'population'``, ``'best_fit'``).

    Returns
    -------
    DataFrame
        ``source_code``, ``target_code``, ``weight``, ``method``, ``basis`` -- see
        :func:`crosswalk_area`, :func:`crosswalk_population`, :func:`crosswalk_best_fit`.
    """
    check_choice(method, "method", METHODS)
    if method == "area":
        return crosswalk_area(source, target, source_code, target_code, crs=crs)
    if small_areas is None:
        raise ValueError(f"`small_areas` must be given for method '{method}', got None")
    fn = crosswalk_population if method == "population" else crosswalk_best_fit
    return fn(source, target, small_areas, population, source_code, target_code, small_code, crs=crs)


def crosswalk_apply(counts: pd.DataFrame, weights: pd.DataFrame, code: str = "area_code",
                    value: str = "count", by: list[str] | None = None,
                    tolerance: float = 1e-9) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apportion a count table from the source geography to the target geography.

    Parameters
    ----------
    counts : DataFrame
        One row per source unit (and per ``by`` group): ``code`` and ``value`` columns.
    weights : DataFrame
        A weight table (:func:`crosswalk_weights`); one method only.
    code, value : str
        Source-code and count columns in ``counts``.
    by : list of str, optional
        Grouping columns kept through the apportionment (e.g. ``['period', 'category']``).
    tolerance : float
        Allowed excess of a source's weight sum over 1 before it is refused.

    Returns
    -------
    apportioned : DataFrame
        ``by`` columns, ``target_code``, ``<value>`` (float: apportioned counts are
        fractional), ``method``.
    report : DataFrame
        One row per source code in ``counts``: ``source_code``, ``count`` (total in),
        ``apportioned`` (to targets), ``outside_target`` (share of the source outside the
        target layer, or the whole count when the code is not in the weight table),
        ``status`` (``'inside'``, ``'partly outside target'``, ``'not in weight table'``).
        ``count = apportioned + outside_target`` for every row, so no event is created or lost.

    Raises
    ------
    GeographyError
        When a source's weights sum above ``1 + tolerance`` (an inconsistent table).

    Notes
    -----
    Linear apportionment ``y_t = sum_s w_st x_s``. Conservation holds by construction:
    each source's outside share is ``x_s (1 - sum_t w_st)``.
    """
    by = list(by or [])
    check_dataframe(counts, "counts", [code, value, *by])
    check_dataframe(weights, "weights", WEIGHT_COLUMNS)
    methods = weights["method"].unique()
    if len(methods) > 1:
        raise ValueError(f"`weights` must hold one method, got {sorted(methods)}")
    if counts[value].isna().any() or (pd.to_numeric(counts[value], errors="coerce") < 0).any():
        raise ValueError(f"`counts.{value}` must hold numbers of 0 or more with no gaps")
    wsum = weights.groupby("source_code")["weight"].sum()
    if (wsum > 1 + tolerance).any():
        bad = wsum[wsum > 1 + tolerance]
        raise GeographyError(f"weights for source(s) {list(bad.index[:10])} sum to {bad.round(6).tolist()[:10]}, "
                             "more than 1; a weight table must not create counts")
    method = methods[0] if len(methods) else "none"
    c = counts[[*by, code, value]].rename(columns={code: "source_code", value: "_x"})
    c["source_code"] = c["source_code"].astype(str)
    c["_x"] = c["_x"].astype(float)
    merged = c.merge(weights[["source_code", "target_code", "weight"]], on="source_code", how="inner")
    merged["_y"] = merged["_x"] * merged["weight"]
    apportioned = merged.groupby([*by, "target_code"], as_index=False, dropna=False)["_y"].sum() \
        .rename(columns={"_y": value})
    apportioned["method"] = method
    per_source = c.groupby("source_code")["_x"].sum()
    share = wsum.reindex(per_source.index).fillna(0.0).clip(upper=1.0)
    known = per_source.index.isin(wsum.index)
    report = pd.DataFrame({"source_code": per_source.index, "count": per_source.to_numpy()})
    report["apportioned"] = merged.groupby("source_code")["_y"].sum().reindex(per_source.index, fill_value=0.0) \
        .to_numpy()
    report["outside_target"] = report["count"] - report["apportioned"]
    report["status"] = np.where(~known, "not in weight table",
                                np.where(share.to_numpy() < 1 - tolerance, "partly outside target", "inside"))
    n_out = float(report["outside_target"].sum())
    if n_out > tolerance * max(1.0, float(report["count"].sum())):
        warnings.warn(f"{n_out:.6g} of {report['count'].sum():.6g} counts fall outside the target geography "
                      f"({int((report['status'] != 'inside').sum())} source unit(s)); see the report",
                      stacklevel=2)
    return apportioned, report.reset_index(drop=True)


def crosswalk_error(points: pd.DataFrame, source: gpd.GeoDataFrame, target: gpd.GeoDataFrame,
                    small_areas: gpd.GeoDataFrame | None = None, population: str = "pop_total",
                    methods=METHODS, source_code: str = "code", target_code: str = "code",
                    small_code: str = "code") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Measure apportionment error per method against exact point-in-polygon counts.

    Parameters
    ----------
    points : DataFrame or GeoDataFrame
        Events with coordinates (see :func:`assessment.geography.assign.assign_points`).
    source, target : GeoDataFrame
        The geography the data would arrive aggregated to, and the one wanted.
    small_areas, population
        Needed for ``'population'`` and ``'best_fit'``.
    methods : iterable of str
        Methods to compare.

    Returns
    -------
    summary : DataFrame
        One row per method: ``method``, ``n_points`` (points inside both layers),
        ``n_targets`` (targets with at least one exact point), ``mean_abs_pct_error``,
        ``max_abs_pct_error``, ``worst_target``, ``outside_target`` (counts apportioned
        outside the target layer).
    detail : DataFrame
        ``method``, ``target_code``, ``exact``, ``apportioned``, ``abs_pct_error``
        (NaN where ``exact`` is 0).

    Notes
    -----
    Exact counts come from assigning each point to the target directly; apportioned counts
    from assigning it to the source, counting per source, and applying the crosswalk.
    Only points inside a source unit are used on both sides, so the error measures the
    apportionment alone. Absolute percentage error ``100 |a - e| / e`` over targets with
    ``e > 0`` (mean = MAPE; Hyndman & Koehler 2006).
    """
    from assessment.geography.assign import assign_points

    check_dataframe(points, "points")
    for m in methods:
        check_choice(m, "methods", METHODS)
    src, tgt, small = common_projected(source, target, small_areas)
    by_src, _ = assign_points(points, src, "_src", code_field=source_code, warn_outside=False)
    by_tgt, _ = assign_points(points, tgt, "_tgt", code_field=target_code, warn_outside=False)
    keep = by_src["_src"].notna().to_numpy()
    exact = pd.Series(by_tgt["_tgt"].to_numpy()[keep]).value_counts()
    exact = exact.reindex(tgt[target_code].astype(str), fill_value=0).astype(float)
    counts = pd.Series(by_src["_src"].to_numpy()[keep]).value_counts().rename_axis("area_code") \
        .reset_index(name="count")
    summaries, details = [], []
    for m in methods:  # one pass per method
        w = crosswalk_weights(src, tgt, m, small, population, source_code, target_code, small_code)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est, rep = crosswalk_apply(counts, w)
        est = est.set_index("target_code")["count"].reindex(exact.index, fill_value=0.0)
        ape = pd.Series(np.where(exact > 0, 100 * np.abs(est - exact) / exact.where(exact > 0), np.nan),
                        index=exact.index)
        details.append(pd.DataFrame({"method": m, "target_code": exact.index, "exact": exact.to_numpy(),
                                     "apportioned": est.to_numpy(), "abs_pct_error": ape.to_numpy()}))
        summaries.append({"method": m, "n_points": int(keep.sum()), "n_targets": int((exact > 0).sum()),
                          "mean_abs_pct_error": float(ape.mean()), "max_abs_pct_error": float(ape.max()),
                          "worst_target": ape.idxmax() if ape.notna().any() else pd.NA,
                          "outside_target": float(rep["outside_target"].sum())})
    return pd.DataFrame(summaries), pd.concat(details, ignore_index=True)
