"""Co-terminosity of two geographies: best fits, split units and one index.

A source unit is *co-terminous* with the target geography when at least ``threshold``
(default 95%) of it lies inside one target unit. The **co-terminosity index** is the
population-weighted share of source units that are co-terminous:

    index = sum(pop_s for co-terminous s) / sum(pop_s)

so 1 means every resident lives in a source unit that sits (almost) wholly inside one
target, and a beat with many residents that straddles two wards lowers the index more
than an empty one. Source population comes from the small areas (dasymetric, see
:func:`assessment.geography.crosswalk.crosswalk_population`); without small areas the
index is weighted by area instead (and says so in its ``weighting`` field).
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd

from assessment.checks import check_choice, check_geodataframe, check_probability
from assessment.geography._crs import common_projected
from assessment.geography.crosswalk import crosswalk_area, crosswalk_population

UNIT_COLUMNS = ["source_code", "source_name", "best_fit_target", "best_fit_target_name", "area_share",
                "population_share", "source_area_km2", "source_population", "n_targets", "coterminous",
                "targets", "target_names"]


def _names(gdf, code, name):
    if name and name in gdf.columns:
        return pd.Series(gdf[name].to_numpy(), index=gdf[code].astype(str).to_numpy())
    return pd.Series(pd.NA, index=gdf[code].astype(str).to_numpy(), dtype="object")


def coterminosity_table(source: gpd.GeoDataFrame, target: gpd.GeoDataFrame,
                        small_areas: gpd.GeoDataFrame | None = None, population: str = "pop_total",
                        threshold: float = 0.95, basis: str = "area", min_share: float = 0.005,
                        source_code: str = "code", target_code: str = "code", small_code: str = "code",
                        source_name: str | None = "name", target_name: str | None = "name",
                        crs=None) -> pd.DataFrame:
    """Per source unit: its best-fit target, shares of area and population, and split status.

    Parameters
    ----------
    source, target : GeoDataFrame
        The two geographies, any CRS (measured in a projected CRS, EPSG:27700 by default).
    small_areas : GeoDataFrame, optional
        Smallest units with ``population``; gives population shares and weights.
    population : str
        Population column of ``small_areas``.
    threshold : float
        Share (0-1) of a source unit that must lie in one target for it to count as
        co-terminous (default 0.95).
    basis : {'area', 'population'}
        Which share is compared with ``threshold`` and picks the best-fit target
        (``'population'`` needs ``small_areas``).
    min_share : float
        Target pieces below this share of the source are ignored in ``n_targets`` and
        ``targets`` (digitising slivers).

    Returns
    -------
    DataFrame
        One row per source unit, sorted by code: ``source_code``, ``source_name``,
        ``best_fit_target`` (NA if it overlaps no target), ``best_fit_target_name``,
        ``area_share`` and ``population_share`` (shares of the source's area and population
        inside the best-fit target; population NA without small areas),
        ``source_area_km2``, ``source_population`` (dasymetric; NA without small areas),
        ``n_targets`` (targets holding at least ``min_share``), ``coterminous`` (bool:
        the ``basis`` share >= ``threshold``), ``targets`` (e.g. ``'W1 62%; W2 38%'``) and
        ``target_names`` (the same with the targets' names, e.g. ``'Abbey 62%; Brook 38%'``, for
        sentences and maps; codes where a target has no name).

    Notes
    -----
    Shares come from areal weighting (:func:`~assessment.geography.crosswalk.crosswalk_area`)
    and dasymetric population weighting
    (:func:`~assessment.geography.crosswalk.crosswalk_population`; Mennis 2003). The 95%
    rule follows the usual practice of treating a unit as nested when a small remainder is
    digitising error.
    """
    check_geodataframe(source, "source", [source_code])
    check_geodataframe(target, "target", [target_code])
    check_probability(threshold, "threshold")
    check_choice(basis, "basis", ["area", "population"])
    if basis == "population" and small_areas is None:
        raise ValueError("`basis='population'` needs `small_areas`, got None")
    src, tgt, small = common_projected(source, target, small_areas, crs=crs)
    codes = src[source_code].astype(str)
    area_w = crosswalk_area(src, tgt, source_code, target_code)[["source_code", "target_code", "weight"]] \
        .rename(columns={"weight": "area_share"})
    shares = area_w
    src_pop = pd.Series(np.nan, index=codes.to_numpy())
    if small is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the area fallback is not wanted here: zero population stays zero
            pop_w = crosswalk_population(src, tgt, small, population, source_code, target_code, small_code)
        pop_w = pop_w.loc[pop_w["basis"] == "population in pieces", ["source_code", "target_code", "weight"]]
        shares = area_w.merge(pop_w.rename(columns={"weight": "population_share"}),
                              on=["source_code", "target_code"], how="outer")
        shares["area_share"] = shares["area_share"].fillna(0.0)
        shares["population_share"] = shares["population_share"].fillna(0.0)
        src_pop = _source_population(src, small, source_code, small_code, population)
    else:
        shares["population_share"] = np.nan
    key = "area_share" if basis == "area" else "population_share"
    # best fit: largest share on the basis, ties to the lowest target code
    ranked = shares.sort_values(["source_code", key, "target_code"], ascending=[True, False, True])
    best = ranked.drop_duplicates("source_code").set_index("source_code")
    kept = shares.loc[shares[key] >= min_share].sort_values(["source_code", key], ascending=[True, False])
    pct = (kept[key] * 100).round().astype(int).astype(str)
    kept = kept.assign(label=kept["target_code"] + " " + pct + "%")
    targets = kept.groupby("source_code")["label"].agg("; ".join)
    n_targets = kept.groupby("source_code").size()
    tnames = _names(tgt, target_code, target_name)
    named = tnames.reindex(kept["target_code"].astype(str)).to_numpy(dtype=object)
    named = np.where(pd.isna(named), kept["target_code"].astype(str).to_numpy(), named).astype(str)
    kept = kept.assign(named=named + " " + pct.to_numpy() + "%")
    target_names = kept.groupby("source_code")["named"].agg("; ".join)
    out = pd.DataFrame({"source_code": codes.to_numpy()})
    out["source_name"] = _names(src, source_code, source_name).reindex(out["source_code"]).to_numpy()
    out["best_fit_target"] = best["target_code"].reindex(out["source_code"]).to_numpy()
    out["best_fit_target_name"] = tnames.reindex(out["best_fit_target"]).to_numpy()
    out["area_share"] = best["area_share"].reindex(out["source_code"]).fillna(0.0).to_numpy()
    out["population_share"] = best["population_share"].reindex(out["source_code"]).to_numpy()
    out["source_area_km2"] = src.area.to_numpy() / 1e6
    out["source_population"] = src_pop.reindex(out["source_code"]).to_numpy()
    out["n_targets"] = n_targets.reindex(out["source_code"], fill_value=0).to_numpy()
    out["coterminous"] = (out[key].fillna(0.0) >= threshold).to_numpy()
    out["targets"] = targets.reindex(out["source_code"]).fillna("").to_numpy()
    out["target_names"] = target_names.reindex(out["source_code"]).fillna("").to_numpy()
    out.attrs.update({"threshold": threshold, "basis": basis})
    return out[UNIT_COLUMNS].sort_values("source_code").reset_index(drop=True)


def _source_population(src, small, source_code, small_code, population) -> pd.Series:
    """Dasymetric population of each source unit (uniform density within small areas)."""
    s = gpd.GeoDataFrame({"source_code": src[source_code].astype(str).to_numpy()}, geometry=src.geometry.to_numpy(),
                         crs=src.crs)
    sm = gpd.GeoDataFrame({"pop": pd.to_numeric(small[population]).to_numpy(dtype=float),
                           "sa": small.area.to_numpy()}, geometry=small.geometry.to_numpy(), crs=small.crs)
    sm = sm.loc[sm["sa"] > 0]
    pieces = gpd.overlay(s, sm, how="intersection", keep_geom_type=True)
    pieces["p"] = pieces["pop"] * pieces.area / pieces["sa"]
    return pieces.groupby("source_code")["p"].sum().reindex(s["source_code"], fill_value=0.0)


def coterminosity_summary(table: pd.DataFrame, threshold: float | None = None) -> pd.DataFrame:
    """Return the co-terminosity index and counts from a :func:`coterminosity_table`.

    Returns
    -------
    DataFrame
        One row: ``n_source_units``, ``n_coterminous``, ``n_split``, ``threshold``,
        ``basis``, ``weighting`` (``'population'`` or ``'area'`` when no population is
        known), ``index`` (weighted share of co-terminous units, 0-1),
        ``unweighted_index`` (plain share of units).
    """
    from assessment.checks import check_dataframe

    check_dataframe(table, "table", UNIT_COLUMNS)
    threshold = table.attrs.get("threshold", threshold)
    pop = pd.to_numeric(table["source_population"], errors="coerce")
    if pop.notna().all() and pop.sum() > 0:
        weight, weighting = pop, "population"
    else:
        weight, weighting = table["source_area_km2"], "area"
    cot = table["coterminous"].astype(bool)
    index = float(weight[cot].sum() / weight.sum()) if weight.sum() > 0 else float("nan")
    return pd.DataFrame([{
        "n_source_units": len(table), "n_coterminous": int(cot.sum()), "n_split": int((~cot).sum()),
        "threshold": threshold, "basis": table.attrs.get("basis", "area"), "weighting": weighting,
        "index": index, "unweighted_index": float(cot.mean()) if len(table) else float("nan"),
    }])


def coterminosity_split_units(table: pd.DataFrame) -> pd.DataFrame:
    """Return the split (not co-terminous) source units, largest population first.

    Returns
    -------
    DataFrame
        Rows of :func:`coterminosity_table` with ``coterminous`` False, same columns.
    """
    from assessment.checks import check_dataframe

    check_dataframe(table, "table", UNIT_COLUMNS)
    split = table.loc[~table["coterminous"].astype(bool)]
    return split.sort_values(["source_population", "source_code"], ascending=[False, True],
                             na_position="last").reset_index(drop=True)


def coterminosity_tables(source: gpd.GeoDataFrame, target: gpd.GeoDataFrame, source_key: str, target_key: str,
                         small_areas: gpd.GeoDataFrame | None = None, **kwargs) -> dict[str, pd.DataFrame]:
    """Return the co-terminosity report tables keyed by file stem, ready for ``tables/``.

    Parameters
    ----------
    source_key, target_key : str
        Geography keys used in the names.
    **kwargs
        Passed to :func:`coterminosity_table`.

    Returns
    -------
    dict of DataFrame
        ``coterminosity_<source>_to_<target>_units`` (:func:`coterminosity_table`),
        ``..._summary`` (:func:`coterminosity_summary`, plus ``source`` and ``target``),
        ``..._split`` (:func:`coterminosity_split_units`). Write each with
        ``to_csv(tables_dir / f"{name}.csv", index=False)``.
    """
    table = coterminosity_table(source, target, small_areas, **kwargs)
    summary = coterminosity_summary(table)
    summary.insert(0, "target", target_key)
    summary.insert(0, "source", source_key)
    stem = f"coterminosity_{source_key}_to_{target_key}"
    return {f"{stem}_units": table, f"{stem}_summary": summary, f"{stem}_split": coterminosity_split_units(table)}
