"""Rates when the numerator and the denominator live on different geographies.

Each rate says how it was obtained:

``flag='exact'``
    events with coordinates were re-aggregated to the denominator's geography by
    point-in-polygon (``method='point-in-polygon'``), or the counts were already on that
    geography (``method='same geography'``);
``flag='apportioned'``
    counts that arrived aggregated on another geography were apportioned through a
    crosswalk (``method`` = the crosswalk's: ``'area'``, ``'population'``, ``'best_fit'``).
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd

from assessment.checks import check_dataframe, check_positive
from assessment.errors import GeographyError
from assessment.geography._crs import WORKING_CRS
from assessment.geography.assign import assign_points
from assessment.geography.crosswalk import WEIGHT_COLUMNS, crosswalk_apply

RATE_COLUMNS = ["unit_code", "count", "denominator", "rate", "per", "denominator_field", "flag", "method"]


def _has_points(frame: pd.DataFrame) -> bool:
    return isinstance(frame, gpd.GeoDataFrame) or {"easting", "northing"} <= set(frame.columns)


def rate_across_geographies(numerator: pd.DataFrame, denominator: pd.DataFrame, denominator_field: str,
                            per: float = 1000, weights: pd.DataFrame | None = None, by: list[str] | None = None,
                            code: str = "area_code", value: str = "count", denominator_code: str = "code",
                            points_crs=WORKING_CRS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rate per ``per`` of ``denominator_field`` on the denominator's geography.

    Parameters
    ----------
    numerator : DataFrame or GeoDataFrame
        Either events with coordinates (a GeoDataFrame, or ``easting``/``northing``), which
        are re-aggregated exactly; or a count table (``code``, ``value`` and ``by``
        columns) on some geography.
    denominator : DataFrame or GeoDataFrame
        One row per unit of the denominator geography: ``denominator_code`` and
        ``denominator_field`` (residents, households, licensed premises...). Must be a
        GeoDataFrame when the numerator is points.
    denominator_field : str
        The denominator column.
    per : float
        Rate multiplier (1000 for "per 1,000 residents"; 1 for "per premises").
    weights : DataFrame, optional
        Crosswalk weights from the numerator's geography to the denominator's
        (:func:`assessment.geography.crosswalk.crosswalk_weights`). Needed for a count
        table whose codes are not the denominator's. Ignored for points (exact wins).
    by : list of str, optional
        Grouping columns (e.g. ``['month', 'category']``) kept in the result.
    code, value : str
        Code and count columns of a count-table numerator.
    denominator_code : str
        Code column of ``denominator``.

    Returns
    -------
    rates : DataFrame
        ``by`` columns, ``unit_code``, ``count`` (float when apportioned), ``denominator``,
        ``rate`` (``count / denominator * per``; NaN where the denominator is 0 or
        missing), ``per``, ``denominator_field``, ``flag`` (``'exact'`` or
        ``'apportioned'``), ``method``. Every denominator unit appears (zero counts kept)
        for each ``by`` group.
    report : DataFrame
        For points: the assignment report as one row (``n_points``, ``n_assigned``,
        ``n_on_edge_resolved``, ``n_outside``, ``n_no_coordinates``); for apportioned counts:
        the :func:`~assessment.geography.crosswalk.crosswalk_apply` report (counts outside
        the denominator geography); for same-geography counts: ``source_code``, ``count``,
        ``status`` for codes not found in the denominator.

    Notes
    -----
    A crude rate ``100 * x / n`` generalised to ``per``. Re-aggregating points is exact;
    apportioning assumes the event distribution within a source unit follows the weight
    basis (area or population; see the crosswalk module), so such rates carry that method.
    """
    by = list(by or [])
    check_dataframe(numerator, "numerator", by)
    check_dataframe(denominator, "denominator", [denominator_code, denominator_field])
    check_positive(per, "per")
    den = pd.Series(pd.to_numeric(denominator[denominator_field], errors="coerce").to_numpy(dtype=float),
                    index=denominator[denominator_code].astype(str).to_numpy())
    if _has_points(numerator):
        if not isinstance(denominator, gpd.GeoDataFrame):
            raise TypeError("`denominator` must be a GeoDataFrame (with boundaries) when the numerator is points, "
                            f"got {type(denominator).__name__}")
        assigned, rep = assign_points(numerator, denominator, "_unit", code_field=denominator_code,
                                      points_crs=points_crs, warn_outside=False)
        inside = assigned.loc[assigned["_unit"].notna()]
        counts = inside.groupby([*by, "_unit"], observed=True).size().rename("count").reset_index() \
            .rename(columns={"_unit": "unit_code"})
        counts["unit_code"] = counts["unit_code"].astype(str)
        flag, method = "exact", "point-in-polygon"
        report = rep.to_frame().T.reset_index(drop=True)
        if rep["n_outside"] or rep["n_no_coordinates"]:
            warnings.warn(f"{rep['n_outside']} point(s) outside the denominator geography and "
                          f"{rep['n_no_coordinates']} without coordinates are not in any rate", stacklevel=2)
    else:
        check_dataframe(numerator, "numerator", [code, value, *by])
        codes = numerator[code].astype(str)
        if weights is None:
            unknown = ~codes.isin(den.index)
            if unknown.all() and len(codes):
                raise GeographyError(f"numerator codes (e.g. {codes.iloc[0]!r}) are not codes of the denominator "
                                     "geography; pass crosswalk `weights` to apportion them")
            flag, method = "exact", "same geography"
            counts = numerator.assign(unit_code=codes).loc[~unknown] \
                .groupby([*by, "unit_code"], as_index=False, observed=True)[value].sum().rename(columns={value: "count"})
            missing = numerator.loc[unknown].assign(source_code=codes[unknown]).groupby("source_code")[value].sum()
            report = pd.DataFrame({"source_code": missing.index, "count": missing.to_numpy(),
                                   "status": "not in denominator geography"})
            if len(report):
                warnings.warn(f"{report['count'].sum()} count(s) have codes not in the denominator geography: "
                              f"{list(report['source_code'][:10])}", stacklevel=2)
        else:
            check_dataframe(weights, "weights", WEIGHT_COLUMNS)
            counts, report = crosswalk_apply(numerator, weights, code=code, value=value, by=by)
            counts = counts.rename(columns={"target_code": "unit_code", value: "count"}).drop(columns="method")
            flag, method = "apportioned", str(weights["method"].iloc[0]) if len(weights) else "none"
    # complete grid: every denominator unit for each by-group, zero counts kept
    units = pd.DataFrame({"unit_code": den.index})
    groups = counts[by].drop_duplicates() if by else pd.DataFrame(index=[0])
    grid = groups.merge(units, how="cross")
    out = grid.merge(counts, on=[*by, "unit_code"], how="left")
    out["count"] = out["count"].fillna(0)
    out["denominator"] = den.reindex(out["unit_code"]).to_numpy()
    d = out["denominator"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rate"] = np.where(d > 0, out["count"].to_numpy(dtype=float) / d * per, np.nan)
    if (~(d > 0)).any():
        warnings.warn(f"{int((~(d > 0)).sum())} rate(s) have a zero or missing `{denominator_field}`; rate is NaN",
                      stacklevel=2)
    out["per"] = per
    out["denominator_field"] = denominator_field
    out["flag"] = flag
    out["method"] = method
    return out[[*by, *RATE_COLUMNS]].reset_index(drop=True), report
