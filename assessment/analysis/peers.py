"""Most similar partnerships from public measures (the ``peer_*`` family).

The Home Office groups community safety partnerships into "most similar groups" for
comparison; its groups come with iQuanta, which most analysts outside the police cannot
see, and its full list of variables is not public. This module computes a partnership's
peers from public measures instead: population density, deprivation, age structure and any
other measure the user supplies for every partnership (a national table), standardised and
compared by distance. The demo's synthetic most-similar-group file stays the demo's input;
a real partnership uses these functions.

Method and how it differs from the Home Office's
-----------------------------------------------
- The Home Office built its "families" by cluster analysis: partnerships were combined
  step by step on their similarity across demographic, social and economic variables
  related to crime, until the number of families struck a balance between size and
  distinctness (Leigh, Arnott, Clarke and See, 2000, "Family values: grouping similar
  policing and crime reduction areas for comparative purposes", Home Office Policing and
  Reducing Crime Unit Briefing Note 3/00; NCJRS abstract 185899). Later most-similar
  groups (MSG; most similar forces, MSF) are still "determined by the Home Office" from
  "demographic, social and economic characteristics relating to crime" (Independent Office
  for Police Conduct, "Most similar force (MSF) groups - 2021").
- Here each partnership gets its own group: its ``n`` nearest partnerships (default 7) by
  Euclidean distance between standardised measures (z-scores over every partnership in
  the table), or Mahalanobis distance, which also discounts correlated measures
  (Mahalanobis, 1936). Groups are therefore not symmetric (A's peers need not count A
  among theirs), the measures are only public ones, and they are weighted equally unless
  weights are given. The Home Office's exact variables and weights were not available to
  us, so no claim is made that the groups match its MSGs.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist

from ..checks import check_dataframe, check_type

DEFAULT_MEASURES = ("density_per_km2", "deprived_share", "young_share")
"""Measures used when none are named, where the table has them."""


def _measure_columns(table: pd.DataFrame, columns: Sequence[str] | None, code_col: str) -> list[str]:
    if columns is None:
        columns = [c for c in DEFAULT_MEASURES if c in table.columns]
        if not columns:
            raise ValueError(f"peer measures: no measure columns named and none of the defaults {DEFAULT_MEASURES} "
                             f"in the table; got columns {list(table.columns)[:12]}")
    columns = list(columns)
    check_dataframe(table, "peer measures", [code_col, *columns])
    bad = [c for c in columns if not pd.api.types.is_numeric_dtype(pd.to_numeric(table[c], errors="coerce"))]
    if bad:
        raise TypeError(f"peer measures must be numbers, got non-numeric columns {bad}")
    return columns


def peer_standardise(table: pd.DataFrame, columns: Sequence[str] | None = None, *,
                     code_col: str = "partnership_code") -> pd.DataFrame:
    """Each measure as a z-score over every partnership in the table.

    Parameters
    ----------
    table : DataFrame
        One row per partnership: ``code_col`` and numeric measure columns.
    columns : sequence of str, optional
        The measures; default those of :data:`DEFAULT_MEASURES` present.
    code_col : str
        Partnership code column.

    Returns
    -------
    DataFrame
        ``code_col`` and one column per measure, ``(x - mean) / sd`` (sample SD, ddof=1).
        Rows missing any measure are dropped (a warning names them).

    Notes
    -----
    Standardisation puts measures in different units (people per km², shares) on one
    scale before distances are taken, as in cluster analysis of areas (Leigh et al., 2000).
    A measure that is the same for every partnership carries no information and is dropped.
    """
    import warnings

    cols = _measure_columns(table, columns, code_col)
    values = table[cols].apply(pd.to_numeric, errors="coerce")
    complete = values.notna().all(axis=1)
    if not complete.all():
        warnings.warn(f"peer measures: {int((~complete).sum())} partnerships lack a measure and are left out: "
                      f"{list(table.loc[~complete, code_col].astype(str))[:10]}", stacklevel=2)
    values = values[complete]
    sd = values.std(ddof=1)
    constant = list(sd.index[(sd == 0) | sd.isna()])
    if constant:
        warnings.warn(f"peer measures {constant} are the same for every partnership and are left out", stacklevel=2)
    keep = [c for c in cols if c not in constant]
    if not keep:
        raise ValueError(f"peer measures {cols} do not vary between partnerships; nothing to compare on")
    z = (values[keep] - values[keep].mean()) / sd[keep]
    return pd.concat([table.loc[complete, [code_col]].astype(str), z], axis=1).reset_index(drop=True)


def peer_nearest(table: pd.DataFrame, code: str, n: int = 7, columns: Sequence[str] | None = None, *,
                 metric: str = "euclidean", weights: dict[str, float] | None = None,
                 code_col: str = "partnership_code", name_col: str | None = "partnership_name") -> pd.DataFrame:
    """The ``n`` partnerships most similar to ``code`` on standardised public measures.

    Parameters
    ----------
    table : DataFrame
        National table: one row per partnership, with ``code_col``, optional ``name_col`` and
        the measure columns (e.g. ``density_per_km2``, ``deprived_share``, ``young_share``).
    code : str
        The partnership whose peers are wanted (must be in the table).
    n : int, default 7
        How many peers.
    columns : sequence of str, optional
        Measures; default those of :data:`DEFAULT_MEASURES` present.
    metric : {"euclidean", "mahalanobis"}
        Distance between z-scores; Mahalanobis uses the inverse covariance of the z-scores
        over the table (a pseudo-inverse when singular).
    weights : dict, optional
        Measure -> weight (Euclidean only); each z-score is multiplied by the square root
        of its weight, so a weight of 2 counts a measure twice.

    Returns
    -------
    DataFrame
        One row per peer, nearest first: ``rank`` (1 = most similar), ``code``, ``name``,
        ``distance`` (float), then each measure's raw value and z-score (``z_<measure>``).

    Notes
    -----
    Nearest neighbours by Euclidean distance between z-scored measures, or by Mahalanobis
    distance (P. C. Mahalanobis, 1936, "On the generalised distance in statistics"),
    computed with :func:`scipy.spatial.distance.cdist`. Ties in distance are broken by code.
    How this differs from the Home Office's most similar groups (cluster analysis, fixed
    groups, partly non-public variables; Leigh et al., 2000) is set out in the module notes.
    """
    check_type(code, "code", str)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"`n` must be a whole number of peers, 1 or more, got {n!r}")
    if metric not in ("euclidean", "mahalanobis"):
        raise ValueError(f"`metric` must be 'euclidean' or 'mahalanobis', got {metric!r}")
    z = peer_standardise(table, columns, code_col=code_col)
    measures = [c for c in z.columns if c != code_col]
    if code not in set(z[code_col]):
        raise ValueError(f"partnership {code!r} must be in the peer measures table with every measure; "
                         f"got {len(z)} partnerships, e.g. {list(z[code_col])[:5]}")
    if len(z) - 1 < n:
        raise ValueError(f"{n} peers were asked for but the table has only {len(z) - 1} other partnerships")
    x = z[measures].to_numpy(dtype=float)
    me = x[(z[code_col] == code).to_numpy()]
    if metric == "euclidean":
        w = np.array([float((weights or {}).get(m, 1.0)) for m in measures])
        if (w < 0).any():
            raise ValueError(f"peer weights must be 0 or more, got {weights}")
        dist = cdist(me * np.sqrt(w), x * np.sqrt(w), metric="euclidean")[0]
    else:
        vi = np.linalg.pinv(np.atleast_2d(np.cov(x, rowvar=False)))
        dist = cdist(me, x, metric="mahalanobis", VI=vi)[0]
    order = pd.DataFrame({"code": z[code_col].to_numpy(), "distance": dist})
    order = order[order["code"] != code].sort_values(["distance", "code"], kind="stable").head(n)
    raw = table.assign(**{code_col: table[code_col].astype(str)}).drop_duplicates(code_col).set_index(code_col)
    out = order.reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out.insert(2, "name", raw[name_col].reindex(out["code"]).to_numpy() if name_col and name_col in raw
               else out["code"].to_numpy())
    for m in measures:
        out[m] = pd.to_numeric(raw[m], errors="coerce").reindex(out["code"]).to_numpy()
        out[f"z_{m}"] = z.set_index(code_col)[m].reindex(out["code"]).to_numpy()
    return out


def peer_rates(national: pd.DataFrame, code: str, peer_codes: Sequence[str], *, z: float = 1.96,
               categories: Sequence[str] | None = None) -> pd.DataFrame:
    """The partnership's rate by crime type against its peers' (where their counts are supplied).

    Parameters
    ----------
    national : DataFrame
        Long table of counts and rates by partnership and crime type, as
        :func:`assessment.batch.read_national_comparison` returns it (``partnership_code``,
        ``partnership_name``, ``category``, ``count``, ``residents``,
        ``rate_per_1000_per_year``).
    code : str
        The partnership.
    peer_codes : sequence of str
        Its peers (e.g. ``peer_nearest(...)["code"]``); peers absent from ``national`` are
        left out and named in ``missing_peers``.
    z : float, default 1.96
        Band width, as :func:`assessment.analysis.rates.rate_peer_position`.
    categories : sequence of str, optional
        Crime types to compare; default every type the partnership has.

    Returns
    -------
    DataFrame
        One row per crime type: ``category``, ``rate`` (the partnership's, per 1,000 residents
        a year), ``rank`` (1 = highest in the group), ``n_peers`` (partnerships with a rate,
        itself included), ``group_mean``, ``group_sd``, ``band_low``, ``band_high``,
        ``position`` (above/within/below), ``sentence``, ``missing_peers`` (str, comma-separated).

    Notes
    -----
    Each crime type is compared by :func:`assessment.analysis.rates.rate_peer_position`
    (unweighted group mean and a mean +/- z SD reference band, as Home Office MSG
    comparisons present them); this function only assembles the group from the national table.
    """
    from .rates import rate_peer_position

    check_dataframe(national, "national comparison", ["partnership_code", "category", "rate_per_1000_per_year"])
    check_type(code, "code", str)
    group = [code, *[str(c) for c in peer_codes if str(c) != code]]
    have = set(national["partnership_code"].astype(str))
    if code not in have:
        raise ValueError(f"partnership {code!r} must be in the national comparison table, got "
                         f"{sorted(have)[:5]}...")
    missing = [c for c in group if c not in have]
    rows = national[national["partnership_code"].astype(str).isin(group)].copy()
    rows["partnership_code"] = rows["partnership_code"].astype(str)
    wide = rows.pivot_table(index="partnership_code", columns="category", values="rate_per_1000_per_year",
                            aggfunc="first")
    names = (rows.drop_duplicates("partnership_code").set_index("partnership_code")["partnership_name"]
             if "partnership_name" in rows else pd.Series(dtype=str))
    cats = list(categories) if categories is not None else [c for c in wide.columns if pd.notna(wide.loc[code, c])]
    frames = []
    for cat in cats:  # one per crime type (a handful), each a vectorised group comparison
        one = pd.DataFrame({"partnership_code": wide.index, "rate": wide[cat].to_numpy(),
                            "partnership_name": names.reindex(wide.index).to_numpy()}).dropna(subset=["rate"])
        pos = rate_peer_position(one, code, "rate", code_col="partnership_code", name_col="partnership_name", z=z)
        pos.insert(0, "category", cat)
        frames.append(pos)
    cols = ["category", "rate", "rank", "n_peers", "group_mean", "group_sd", "band_low", "band_high", "position",
            "sentence"]
    out = pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)
    out["missing_peers"] = ", ".join(c for c in missing if c != code)
    return out


def peer_area_measures(small_areas: pd.DataFrame, *, total: str, area_km2: float,
                       decile: str | None = None, young: Sequence[str] = (), code: str = "",
                       name: str = "", deprived_deciles: int = 2) -> pd.DataFrame:
    """One partnership's public measures from its small areas (a row for the national table).

    Parameters
    ----------
    small_areas : DataFrame
        The partnership's small areas (as ``assess init`` writes them): residents column
        ``total``, optional national deprivation decile column and age band columns.
    total : str
        Residents column.
    area_km2 : float
        The partnership's land area in km² (e.g. its boundary's area in EPSG:27700 / 1e6).
    decile : str, optional
        National deprivation decile column (1 = most deprived 10% of small areas).
    young : sequence of str
        Age band columns counted as young residents (e.g. the bands covering 16 to 24).
    code, name : str
        The partnership's code and name.
    deprived_deciles : int, default 2
        Small areas in national deciles 1 to this count as deprived (2: the most deprived 20%;
        a choice of this workbench, not a published threshold).

    Returns
    -------
    DataFrame
        One row: ``partnership_code``, ``partnership_name``, ``residents``, ``area_km2``,
        ``density_per_km2`` (residents per km²), ``deprived_share`` (share of residents living
        in small areas of national deciles 1 to ``deprived_deciles``, NaN without ``decile``) and ``young_share``
        (share of residents in the ``young`` bands, NaN without them).

    Notes
    -----
    Plain descriptive ratios (residents per km²; residents' shares), not estimates: no
    published method is involved beyond the national deciles the indices of deprivation
    publish for each small area.
    """
    check_dataframe(small_areas, "small_areas", [total, *([decile] if decile else []), *young])
    if not isinstance(area_km2, (int, float)) or area_km2 <= 0:
        raise ValueError(f"`area_km2` must be a positive area, got {area_km2!r}")
    res = pd.to_numeric(small_areas[total], errors="coerce").fillna(0.0)
    n = float(res.sum())
    deprived = float(res[pd.to_numeric(small_areas[decile], errors="coerce") <= deprived_deciles].sum()) / n \
        if decile and n else np.nan
    young_share = float(small_areas[list(young)].apply(pd.to_numeric, errors="coerce").sum().sum()) / n \
        if young and n else np.nan
    return pd.DataFrame([{"partnership_code": code, "partnership_name": name, "residents": n,
                          "area_km2": float(area_km2), "density_per_km2": n / float(area_km2),
                          "deprived_share": deprived, "young_share": young_share}])
