"""Multi-agency overlap: where agencies' pictures coincide, and how far each differs from police.

The "whole view" an audit should give: police violence, emergency-department assaults,
ambulance assault call-outs and licensed premises counted on **common areas** (a regular grid
or small areas such as LSOAs), then

* co-located hotspots: areas flagged hot for at least two layers (flags supplied by the caller,
  e.g. from Gi*, or computed here as a Poisson excess over the expected share); and
* agreement with the police picture per layer: Spearman rank correlation of area counts,
  the share of the layer's events falling in the police top-10% areas, and the Jaccard index
  between the two sets of hot areas.

Area-count layers (e.g. ED assaults by LSOA) must already be on the same areas as the point
layers are counted to; use the geography crosswalks first when they are not.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.stats import poisson, spearmanr
from statsmodels.stats.multitest import multipletests

from assessment.checks import (
    check_choice,
    check_dataframe,
    check_geodataframe,
    check_nonnegative_counts,
    check_probability,
    check_type,
)

__all__ = ["overlap_counts", "overlap_hotspots", "overlap_compare", "overlap_sentences"]


def _points_to_areas(name: str, pts, areas: gpd.GeoDataFrame, area_col: str) -> pd.Series:
    if isinstance(pts, gpd.GeoDataFrame):
        check_geodataframe(pts, f"points[{name!r}]", projected=True)
        if pts.crs != areas.crs:
            pts = pts.to_crs(areas.crs)
        g = pts[["geometry"]]
    else:
        check_dataframe(pts, f"points[{name!r}]", ["easting", "northing"])
        xy = pts[["easting", "northing"]].apply(pd.to_numeric, errors="coerce")
        g = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy["easting"], xy["northing"]), crs=areas.crs,
                             index=pts.index)
    has_xy = g.geometry.notna() & ~g.geometry.is_empty
    g = g[has_xy.to_numpy()]
    joined = gpd.sjoin(g, areas[[area_col, "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]      # a point on a shared edge counts once
    outside = int(joined[area_col].isna().sum()) + int((~has_xy).sum())
    if outside:
        warnings.warn(f"{outside} of {len(pts)} point(s) in layer {name!r} have no coordinates or fall outside "
                      "every area: left out of the overlap counts", stacklevel=3)
    return joined[area_col].dropna().value_counts()


def overlap_counts(areas: gpd.GeoDataFrame | None = None, points: dict | None = None,
                   area_counts: dict | None = None, area_col: str = "area_code",
                   count_col: str = "count") -> pd.DataFrame:
    """Count every agency's layer on common areas (one column per layer).

    Parameters
    ----------
    areas : geopandas.GeoDataFrame, optional
        Common areas (grid cells or small areas) in a projected CRS with ``area_col``.
        Required when ``points`` are given; also fixes the full list of areas (zeros filled).
    points : dict, optional
        Layer name -> points, as a GeoDataFrame or a DataFrame with ``easting``/``northing`` in
        the areas' CRS (harmonised events). Points outside every area are left out, with a warning.
    area_counts : dict, optional
        Layer name -> DataFrame with ``area_col`` and ``count_col`` (rows for the same area are
        summed, e.g. months). Codes not among ``areas`` are left out with a warning.
    area_col : str
        Area identifier column (default ``area_code``).
    count_col : str
        Count column in ``area_counts`` (default ``count``).

    Returns
    -------
    pandas.DataFrame
        Index ``area`` (every area), one int column of counts per layer in the order given
        (points first, then area counts).
    """
    check_type(area_col, "area_col", str)
    points = points or {}
    area_counts = area_counts or {}
    check_type(points, "points", dict)
    check_type(area_counts, "area_counts", dict)
    if not points and not area_counts:
        raise ValueError("`points` or `area_counts` must hold at least one layer, got none")
    clash = sorted(set(points) & set(area_counts))
    if clash:
        raise ValueError(f"layer names must be unique across `points` and `area_counts`, got {clash} in both")
    if areas is not None:
        check_geodataframe(areas, "areas", [area_col], projected=True)
        index = pd.Index(areas[area_col].astype(str).unique(), name="area")
    elif points:
        raise ValueError("`areas` must be given to count point layers, got None")
    else:
        codes = [f[area_col].astype(str) for f in area_counts.values() if isinstance(f, pd.DataFrame)
                 and area_col in f.columns]
        index = pd.Index(pd.unique(pd.concat(codes)) if codes else [], name="area")
    out = pd.DataFrame(index=index)
    for name, pts in points.items():  # one iteration per agency layer, not per row
        areas_str = areas.assign(**{area_col: areas[area_col].astype(str)})
        out[name] = _points_to_areas(name, pts, areas_str, area_col).reindex(index, fill_value=0)
    for name, frame in area_counts.items():
        check_dataframe(frame, f"area_counts[{name!r}]", [area_col, count_col])
        check_nonnegative_counts(frame[count_col], count_col, where=f"area_counts[{name!r}]")
        s = pd.to_numeric(frame[count_col]).groupby(frame[area_col].astype(str)).sum()
        unknown = ~s.index.isin(index)
        if unknown.any():
            warnings.warn(f"layer {name!r}: {int(unknown.sum())} area code(s) not among `areas` "
                          f"(e.g. {s.index[unknown][0]!r}), {int(s[unknown].sum())} event(s) left out",
                          stacklevel=2)
        out[name] = s.reindex(index, fill_value=0)
    return out.fillna(0).astype(int)


def overlap_hotspots(counts: pd.DataFrame, flags: pd.DataFrame | None = None, exposure: pd.Series | None = None,
                     alpha: float = 0.05, correction: str | None = "fdr_bh", min_layers: int = 2) -> pd.DataFrame:
    """Flag hot areas per layer and find co-located hotspots (hot for at least ``min_layers``).

    Parameters
    ----------
    counts : pandas.DataFrame
        Output of :func:`overlap_counts`: areas x layers.
    flags : pandas.DataFrame of bool, optional
        Caller-supplied hot flags (e.g. significant Gi* cells), same index, one column per layer.
        Layers without a flag column are computed here.
    exposure : pandas.Series, optional
        Expected-share weights per area (e.g. cell area, population, footfall); default equal.
        Expected count = layer total * exposure share.
    alpha : float
        Significance level for the computed flags.
    correction : {"fdr_bh", "holm", "bonferroni", None}
        Multiple-testing correction across areas within each layer (statsmodels ``multipletests``).
    min_layers : int
        Layers needed for a co-located hotspot (default 2).

    Returns
    -------
    pandas.DataFrame
        Index ``area``; for each layer L: ``L`` (count), ``expected_L`` (float), ``excess_L``
        (float, standardised excess (O - E) / sqrt(E)), ``p_L`` (float in [0, 1], corrected
        upper-tail Poisson p; NaN for caller-flagged layers), ``hot_L`` (bool); then
        ``n_layers_hot`` (int), ``layers_hot`` (str, comma-separated) and ``colocated`` (bool).

    Notes
    -----
    Computed flags are a screening test, not a spatial statistic: each area's count is compared
    with its expected count under no concentration by the exact Poisson upper tail
    P(X >= O | E) (as in standardised incidence ratios; Breslow & Day 1987, *Statistical
    Methods in Cancer Research* II), corrected over areas by Benjamini-Hochberg FDR by default.
    For hotspots that account for neighbours, pass flags from Getis-Ord Gi* (Ord & Getis 1995)
    computed by ``assessment.analysis.hotspots``.
    """
    check_dataframe(counts, "counts")
    if counts.shape[1] == 0:
        raise ValueError("`counts` must have at least one layer column, got none")
    check_probability(alpha, "alpha")
    if correction is not None:
        check_choice(correction, "correction", ["fdr_bh", "holm", "bonferroni"])
    check_type(min_layers, "min_layers", int)
    if min_layers < 1:
        raise ValueError(f"`min_layers` must be at least 1, got {min_layers}")
    for c in counts.columns:
        check_nonnegative_counts(counts[c], str(c), where="counts")
    if flags is not None:
        check_dataframe(flags, "flags")
        unknown = sorted(set(flags.columns) - set(counts.columns))
        if unknown:
            raise ValueError(f"`flags` columns must be layers of `counts` {list(counts.columns)}, got {unknown}")
    if exposure is None:
        share = pd.Series(1.0 / len(counts), index=counts.index)
    else:
        check_type(exposure, "exposure", pd.Series)
        e = pd.to_numeric(exposure, errors="coerce").reindex(counts.index)
        if e.isna().any() or (e < 0).any() or e.sum() <= 0:
            raise ValueError("`exposure` must give a non-negative number for every area of `counts`")
        share = e / e.sum()
    out = pd.DataFrame(index=counts.index)
    hot_cols = []
    for layer in counts.columns:  # one iteration per agency layer
        obs = counts[layer].astype(float)
        exp = obs.sum() * share
        out[layer] = counts[layer]
        out[f"expected_{layer}"] = exp
        out[f"excess_{layer}"] = (obs - exp) / np.sqrt(exp.where(exp > 0))
        if flags is not None and layer in flags.columns:
            out[f"p_{layer}"] = np.nan
            out[f"hot_{layer}"] = flags[layer].reindex(counts.index).fillna(False).astype(bool)
        else:
            p = np.where(exp > 0, poisson.sf(obs - 1, exp.where(exp > 0, 1.0)), 1.0)
            p = np.clip(p, 0.0, 1.0)
            if correction is not None and len(p):
                reject, p, _, _ = multipletests(p, alpha=alpha, method=correction)
            else:
                reject = p < alpha
            out[f"p_{layer}"] = p
            out[f"hot_{layer}"] = np.asarray(reject, dtype=bool) & (obs > exp).to_numpy()
        hot_cols.append(f"hot_{layer}")
    hot = out[hot_cols]
    out["n_layers_hot"] = hot.sum(axis=1).astype(int)
    names = pd.Series("", index=out.index, dtype="string")
    for layer in counts.columns:
        names = names + np.where(out[f"hot_{layer}"], ", " + str(layer), "")
    out["layers_hot"] = names.str.removeprefix(", ")
    out["colocated"] = out["n_layers_hot"] >= min_layers
    out.attrs["min_layers"] = min_layers
    out.index.name = "area"
    return out


def overlap_compare(counts: pd.DataFrame, reference: str = "police", hotspots: pd.DataFrame | None = None,
                    top_fraction: float = 0.10) -> pd.DataFrame:
    """How far each agency's picture differs from the reference (police) picture.

    Parameters
    ----------
    counts : pandas.DataFrame
        Areas x layers (:func:`overlap_counts`), holding the ``reference`` column.
    reference : str
        The reference layer (default ``police``).
    hotspots : pandas.DataFrame, optional
        Output of :func:`overlap_hotspots` (its ``hot_<layer>`` columns give the hot sets);
        computed with defaults when None.
    top_fraction : float
        Fraction of areas forming the reference's "top" areas (default 0.10).

    Returns
    -------
    pandas.DataFrame
        One row per other layer:

        - ``layer`` (str), ``reference`` (str), ``n_areas`` (int).
        - ``events`` (int), ``events_reference`` (int): layer totals.
        - ``spearman_rho`` (float in [-1, 1]), ``spearman_p`` (float in [0, 1]): rank
          correlation of area counts with the reference (NaN when either layer is constant).
        - ``top_areas`` (int): areas in the reference top set: the ``ceil(top_fraction * n)``
          highest reference counts, plus any tied with the last (areas with 0 never included).
        - ``share_in_reference_top`` (float): share of the layer's events in those areas.
        - ``reference_share_in_top`` (float): the reference's own share there, for comparison.
        - ``hot_areas``, ``hot_areas_reference``, ``hot_both`` (int): sizes of the hot sets and
          their intersection.
        - ``jaccard`` (float in [0, 1]): ``hot_both / |hot union|``; NaN when neither has any.
        - ``sentence`` (str): the comparison in words.

    Notes
    -----
    Spearman's rank correlation (Spearman 1904) via ``scipy.stats.spearmanr``; Jaccard (1901)
    similarity of hot-area sets; the top-decile share follows crime-concentration practice
    (Weisburd 2015, "The law of crime concentration and the criminology of place",
    *Criminology* 53(2)).
    """
    check_dataframe(counts, "counts", [reference])
    check_probability(top_fraction, "top_fraction")
    others = [c for c in counts.columns if c != reference]
    if not others:
        raise ValueError(f"`counts` must hold at least one layer besides {reference!r}, got {list(counts.columns)}")
    if hotspots is None:
        hotspots = overlap_hotspots(counts)
    check_dataframe(hotspots, "hotspots", [f"hot_{c}" for c in counts.columns])
    n = len(counts)
    ref = counts[reference].astype(float)
    k = int(np.ceil(top_fraction * n))
    threshold = ref.sort_values(ascending=False).iloc[k - 1] if n else np.nan
    top = (ref >= threshold) & (ref > 0)
    ref_hot = hotspots[f"hot_{reference}"].reindex(counts.index).fillna(False).astype(bool)
    rows = []
    for layer in others:  # one iteration per agency layer
        x = counts[layer].astype(float)
        if x.nunique() < 2 or ref.nunique() < 2:
            rho, p = np.nan, np.nan
        else:
            res = spearmanr(x, ref)
            rho, p = float(res.statistic), float(res.pvalue)
        hot = hotspots[f"hot_{layer}"].reindex(counts.index).fillna(False).astype(bool)
        both = int((hot & ref_hot).sum())
        union = int((hot | ref_hot).sum())
        rows.append({
            "layer": layer, "reference": reference, "n_areas": n,
            "events": int(x.sum()), "events_reference": int(ref.sum()),
            "spearman_rho": rho, "spearman_p": p if np.isnan(p) else min(max(p, 0.0), 1.0),
            "top_areas": int(top.sum()),
            "share_in_reference_top": x[top].sum() / x.sum() if x.sum() > 0 else np.nan,
            "reference_share_in_top": ref[top].sum() / ref.sum() if ref.sum() > 0 else np.nan,
            "hot_areas": int(hot.sum()), "hot_areas_reference": int(ref_hot.sum()), "hot_both": both,
            "jaccard": both / union if union else np.nan,
        })
    out = pd.DataFrame(rows)
    out["sentence"] = _compare_sentences(out)
    return out


def _compare_sentences(s: pd.DataFrame) -> pd.Series:
    rho = s["spearman_rho"]
    strength = pd.Series(np.select([rho.abs() >= 0.7, rho.abs() >= 0.4, rho.abs() >= 0.2],
                                   ["strongly", "moderately", "weakly"], default="hardly"), index=s.index)
    direction = pd.Series(np.where(rho < 0, "negatively ", ""), index=s.index)
    ptxt = ("p = " + s["spearman_p"].round(3).map("{:.3f}".format, na_action="ignore").astype("string"))
    ptxt = ptxt.mask(s["spearman_p"] < 0.001, "p < 0.001")
    corr = ("its area counts are " + strength + " " + direction.where(strength != "hardly", "") + "correlated with "
            + s["reference"] + "'s (rank correlation "
            + rho.round(2).map("{:.2f}".format, na_action="ignore").astype("string") + ", " + ptxt + ")")
    corr = corr.fillna("no rank correlation can be computed (a layer does not vary between areas)")
    share = ((s["share_in_reference_top"] * 100).round().astype("Int64").astype("string") + "% of its events fall in the "
             + s["reference"] + " top " + s["top_areas"].astype("string")
             + pd.Series(np.where(s["top_areas"] == 1, " area", " areas"), index=s.index, dtype="string") + " (which hold "
             + (s["reference_share_in_top"] * 100).round().astype("Int64").astype("string") + "% of "
             + s["reference"] + " events)")
    share = share.fillna("it has no events")
    jac = ("hot areas overlap with " + s["reference"] + "'s on " + s["hot_both"].astype("string") + " of "
           + s["hot_areas"].astype("string") + " (overlap index " + s["jaccard"].round(2).map("{:.2f}".format, na_action="ignore")
           .astype("string") + ")")
    jac = jac.fillna("neither it nor " + s["reference"] + " has hot areas")
    return s["layer"].astype("string") + ": " + corr + "; " + share + "; " + jac + "."


def overlap_sentences(hotspots: pd.DataFrame, summary: pd.DataFrame | None = None, max_areas: int = 5,
                      names: dict | pd.Series | None = None) -> list[str]:
    """Plain sentences for a document: co-located hotspots first, then each layer's comparison.

    Parameters
    ----------
    hotspots : pandas.DataFrame
        Output of :func:`overlap_hotspots`.
    summary : pandas.DataFrame, optional
        Output of :func:`overlap_compare`; its ``sentence`` column is appended.
    max_areas : int
        How many co-located areas to name (the most layers first).
    names : dict or Series, optional
        Area code -> name; areas are named by it in the sentence (codes only where no name is known).

    Returns
    -------
    list of str
        Sentences. When no area is hot for two or more layers the first sentence says so plainly.
    """
    check_dataframe(hotspots, "hotspots", ["n_layers_hot", "layers_hot", "colocated"])
    co = hotspots[hotspots["colocated"]].sort_values("n_layers_hot", ascending=False)
    if co.empty:
        need = int(hotspots.attrs.get("min_layers", 2))
        first = (f"No area is a statistically significant hotspot for {need} or more layers at once "
                 "(a screening test); this is no evidence that the agencies' pictures differ.")
    else:
        named = co.head(max_areas)
        codes = pd.Series(named.index.astype(str), index=named.index)
        label = codes.map(pd.Series(names) if names is not None else {}).fillna(codes).astype(str)
        listing = "; ".join((label + " (" + named["layers_hot"].astype(str) + ")").tolist())
        more = f", and {len(co) - len(named)} more" if len(co) > len(named) else ""
        are = "area is a hotspot" if len(co) == 1 else "areas are hotspots"
        first = f"{len(co)} {are} for two or more agencies (co-located hotspots): {listing}{more}."
    out = [first]
    if summary is not None:
        check_dataframe(summary, "summary", ["sentence"])
        out.extend(summary["sentence"].astype(str).tolist())
    return out
