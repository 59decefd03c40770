"""Prioritisation matrix: score candidate issues on evidence, rank them, explain each score.

Each candidate issue (a partnership theme or a crime type) is scored 0-4 on six criteria:

==================  ===========================================  ================================
criterion           input column(s)                              scoring (0 = low, 4 = high)
==================  ===========================================  ================================
``volume``          ``volume`` (count in the period)             rank-based (default) or min-max
``trend``           ``trend_pct`` (% a year), ``trend_p``        2 + 2 * clip(pct / trend_cap, -1, 1)
                                                                 when the FDR-adjusted ``trend_p``
                                                                 is below ``alpha``, else 2
``harm``            ``harm`` (e.g. CCHI total)                   rank-based or min-max
``vulnerability``   ``vulnerability`` (repeat victimisation or   rank-based or min-max
                    location share, or a vulnerability score)
``concern``         ``concern`` (share of respondents, 0-1)      rank-based or min-max
``capacity``        ``capacity`` (catalogue score, higher =      rank-based or min-max; with
                    more capacity to act)                        ``capacity="lowers"`` reversed
==================  ===========================================  ================================

Rank-based scoring: ``4 * (r - 1) / (m - 1)`` where ``r`` is the issue's ascending average rank
among the ``m`` issues with a value (ties share a score); a single issue scores 2. Min-max
scoring: ``4 * (x - min) / (max - min)`` (all equal: 2).

Capacity: by default (``capacity="raises"``) issues the partnership can act on score higher,
because a priority with no one able to deliver it produces no change; pass ``"lowers"`` to
favour issues where capacity is thin (a gap-filling view).

Default weights (sum 1): volume 0.20, trend 0.15, harm 0.25, vulnerability 0.15, concern 0.15,
capacity 0.10. The total is the weighted mean of the available criterion scores (0-4). A
missing criterion is either left out with the weights rescaled (``missing="rescale"``,
default) or scored 0 (``missing="zero"``); either way the explanation says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from assessment.analysis.trends import trend_fdr
from assessment.checks import check_choice, check_dataframe, check_positive, check_probability, check_type

__all__ = [
    "PRIORITY_CRITERIA",
    "DEFAULT_WEIGHTS",
    "priority_criteria",
    "priority_matrix",
    "priority_grid",
    "priority_grid_pivot",
]

PRIORITY_CRITERIA = ("volume", "trend", "harm", "vulnerability", "concern", "capacity")
DEFAULT_WEIGHTS: dict[str, float] = {"volume": 0.20, "trend": 0.15, "harm": 0.25, "vulnerability": 0.15,
                                     "concern": 0.15, "capacity": 0.10}
_INPUT_COLS = ("volume", "trend_pct", "trend_p", "harm", "vulnerability", "concern", "capacity")


def _as_series(obj, name: str) -> pd.Series:
    if obj is None:
        return pd.Series(dtype=float, name=name)
    if isinstance(obj, dict):
        obj = pd.Series(obj, dtype=float)
    if not isinstance(obj, pd.Series):
        raise TypeError(f"`{name}` must be a dict or pandas Series keyed by issue, got {type(obj).__name__}")
    return pd.to_numeric(obj, errors="coerce").rename(name)


def priority_criteria(volume, trend=None, harm=None, vulnerability=None, concern=None,
                      capacity=None) -> pd.DataFrame:
    """Assemble the criteria frame for :func:`priority_matrix` from per-issue inputs.

    Parameters
    ----------
    volume : dict or Series
        Issue -> count in the period. Its keys define the candidate issues.
    trend : DataFrame, optional
        Indexed by issue, or with an ``issue`` column, holding ``trend_pct`` (% change a year)
        and ``trend_p`` (p-value of the trend).
    harm, vulnerability, concern, capacity : dict or Series, optional
        Issue -> value. ``concern`` is the share of respondents naming the issue (0-1);
        ``capacity`` the catalogue's capacity score (higher = more capacity).

    Returns
    -------
    pandas.DataFrame
        Columns ``issue, volume, trend_pct, trend_p, harm, vulnerability, concern, capacity``
        (floats; NaN where an input has no value for the issue). Values for issues not in
        ``volume`` are dropped.
    """
    vol = _as_series(volume, "volume")
    if vol.empty:
        raise ValueError("`volume` must name at least one issue, got none")
    out = pd.DataFrame({"issue": vol.index.astype(str), "volume": vol.to_numpy()})
    idx = pd.Index(out["issue"])
    if trend is not None:
        check_dataframe(trend, "trend", ["trend_pct", "trend_p"])
        t = trend.set_index("issue") if "issue" in trend.columns else trend
        t.index = t.index.astype(str)
        out["trend_pct"] = pd.to_numeric(t["trend_pct"], errors="coerce").reindex(idx).to_numpy()
        out["trend_p"] = pd.to_numeric(t["trend_p"], errors="coerce").reindex(idx).to_numpy()
    else:
        out["trend_pct"] = np.nan
        out["trend_p"] = np.nan
    for name, obj in (("harm", harm), ("vulnerability", vulnerability), ("concern", concern),
                      ("capacity", capacity)):
        s = _as_series(obj, name)
        s.index = s.index.astype(str)
        out[name] = s.reindex(idx).to_numpy(dtype=float)
    return out


def _score(x: pd.Series, method: str) -> pd.Series:
    valid = x.notna()
    m = int(valid.sum())
    out = pd.Series(np.nan, index=x.index)
    if m == 0:
        return out
    if method == "rank":
        r = x[valid].rank(method="average")
        out[valid] = 2.0 if m == 1 else 4.0 * (r - 1) / (m - 1)
    else:
        lo, hi = x[valid].min(), x[valid].max()
        out[valid] = 2.0 if hi == lo else 4.0 * (x[valid] - lo) / (hi - lo)
    return out


def _ordinal(n: pd.Series) -> pd.Series:
    n = n.astype("Int64")
    s = n.astype("string")
    mod100 = n % 100
    mod10 = n % 10
    suffix = np.select([mod100.between(11, 13).fillna(False).to_numpy(bool),
                        (mod10 == 1).fillna(False).to_numpy(bool),
                        (mod10 == 2).fillna(False).to_numpy(bool),
                        (mod10 == 3).fillna(False).to_numpy(bool)], ["th", "st", "nd", "rd"], default="th")
    return s + suffix


def _fmt_int(x: pd.Series) -> pd.Series:
    return x.round().astype("Int64").map("{:,}".format, na_action="ignore").astype("string")


def _fmt_p(p: pd.Series) -> pd.Series:
    """p-values as partners read them, never rounded across 0.05 (see ``wording.describe_p``)."""
    from .wording import describe_p

    return pd.Series(describe_p(p.to_numpy(dtype=float)), index=p.index, dtype="string").mask(p.isna())


def _validate_weights(weights) -> dict[str, float]:
    if weights is None:
        return dict(DEFAULT_WEIGHTS)
    if not isinstance(weights, dict):
        raise TypeError(f"`weights` must be a dict of criterion -> weight, got {type(weights).__name__}")
    unknown = sorted(set(weights) - set(PRIORITY_CRITERIA))
    if unknown:
        raise ValueError(f"`weights` keys must be among {list(PRIORITY_CRITERIA)}, got {unknown}")
    w = {k: 0.0 for k in PRIORITY_CRITERIA}
    for k, v in weights.items():
        check_positive(v, f"weights[{k!r}]", allow_zero=True)
        w[k] = float(v)
    total = sum(w.values())
    if total <= 0:
        raise ValueError(f"`weights` must have at least one weight above 0, got {weights}")
    return {k: v / total for k, v in w.items()}


def priority_matrix(criteria: pd.DataFrame, weights: dict | None = None, scoring: str = "rank",
                    capacity: str = "raises", missing: str = "rescale", alpha: float = 0.05,
                    trend_cap: float = 20.0, volume_unit: str = "crimes",
                    vulnerability_label: str = "vulnerability", fdr: bool = True) -> pd.DataFrame:
    """Score, rank and explain candidate issues on six criteria (the prioritisation matrix).

    Parameters
    ----------
    criteria : pandas.DataFrame
        One row per issue: ``issue`` (required) and any of ``volume, trend_pct, trend_p, harm,
        vulnerability, concern, capacity`` (see :func:`priority_criteria`). Absent columns and
        NaN values are missing criteria.
    weights : dict, optional
        Criterion -> non-negative weight; criteria not named get 0. Normalised to sum to 1.
        Default :data:`DEFAULT_WEIGHTS`.
    scoring : {"rank", "minmax"}
        How volume, harm, vulnerability, concern and capacity become 0-4 (module docstring).
    capacity : {"raises", "lowers"}
        Whether more partnership capacity raises (default) or lowers the priority score.
    missing : {"rescale", "zero"}
        Leave a missing criterion out and rescale the other weights (default), or score it 0.
    alpha : float
        Significance level below which a trend counts.
    trend_cap : float
        Annual % change that earns the full trend score (default 20%).
    volume_unit : str
        Word used for volume in explanations ("crimes", "incidents").
    vulnerability_label : str
        What the vulnerability criterion measures, as explanations name it (e.g. "share at repeat
        locations" when it is the share of events at repeat locations).
    fdr : bool, default True
        The issues' trends are one family of tests: adjust ``trend_p`` for the false
        discovery rate across them (Benjamini-Hochberg) and score a trend only when the
        adjusted p-value is below ``alpha``. ``False`` uses each p-value on its own.

    Returns
    -------
    pandas.DataFrame
        Sorted by rank:

        - ``issue`` (str) and the raw inputs ``volume, trend_pct, trend_p, harm, vulnerability,
          concern, capacity`` (float).
        - ``trend_q`` (float): the p-value the trend score used (Benjamini-Hochberg adjusted
          across the issues with a trend p-value when ``fdr``; else ``trend_p``).
        - ``score_volume``, ``score_trend``, ``score_harm``, ``score_vulnerability``,
          ``score_concern``, ``score_capacity`` (float 0-4; NaN when missing).
        - ``total_score`` (float 0-4): weighted mean of criterion scores.
        - ``rank`` (int): 1 = highest total; tied issues share the lowest rank (``min``).
        - ``tied`` (bool): another issue has the same total (to 1e-9).
        - ``missing_criteria`` (str): comma-separated criteria with a weight but no value.
        - ``explanation`` (str): one sentence listing why, e.g. "Violence and sexual offences:
          highest volume (4,210 crimes, 34% of the total), rising 6% a year (p = 0.02), highest
          harm, named by 41% of residents".

    Notes
    -----
    A weighted-scoring (multi-criteria) prioritisation matrix of the kind recommended for
    partnership strategic assessments (Home Office (2007) *Delivering Safer Communities*;
    National Intelligence Model strategic assessment guidance, NCPE 2005), with each criterion
    normalised to a common 0-4 scale (rank/percentile or min-max normalisation). Trend counts
    only when significant after the false-discovery-rate adjustment across the issues
    (Benjamini & Hochberg 1995, *J. Royal Statistical Society B* 57, 289-300): with a dozen
    crime types some would otherwise look significant by chance alone, and a change that
    could be noise scores the neutral 2. Scores are a
    structured aid to judgement, not a decision: partners should read the explanations.
    """
    check_dataframe(criteria, "criteria", ["issue"])
    check_choice(scoring, "scoring", ["rank", "minmax"])
    check_choice(capacity, "capacity", ["raises", "lowers"])
    check_choice(missing, "missing", ["rescale", "zero"])
    check_probability(alpha, "alpha")
    check_positive(trend_cap, "trend_cap")
    check_type(fdr, "fdr", bool)
    w = _validate_weights(weights)
    if criteria["issue"].isna().any() or criteria["issue"].duplicated().any():
        dup = criteria["issue"][criteria["issue"].duplicated()].tolist()
        raise ValueError(f"`issue` must be unique and named on every row, got duplicates or blanks {dup}")
    df = criteria.reset_index(drop=True).copy()
    df["issue"] = df["issue"].astype(str)
    for c in _INPUT_COLS:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float) if c in df.columns else np.nan
    neg = (df[["volume", "harm"]] < 0).any(axis=1)
    if neg.any():
        raise ValueError(f"`volume` and `harm` must be 0 or more, got a negative value for {df.loc[neg, 'issue'].tolist()}")
    bad_c = (df["concern"] < 0) | (df["concern"] > 1)
    if bad_c.any():
        raise ValueError(f"`concern` must be a share between 0 and 1, got {df.loc[bad_c, 'concern'].tolist()}")
    bad_p = (df["trend_p"] < 0) | (df["trend_p"] > 1)
    if bad_p.any():
        raise ValueError(f"`trend_p` must lie in [0, 1], got {df.loc[bad_p, 'trend_p'].tolist()}")

    scores = pd.DataFrame(index=df.index)
    for c in ("volume", "harm", "vulnerability", "concern", "capacity"):
        scores[c] = _score(df[c], scoring)
    if capacity == "lowers":
        scores["capacity"] = 4.0 - scores["capacity"]
    df["trend_q"] = trend_fdr(df["trend_p"].to_numpy(), method="fdr_bh" if fdr else "none")
    sig = df["trend_q"] < alpha
    trend_score = 2.0 + 2.0 * np.clip(df["trend_pct"] / trend_cap, -1, 1)
    scores["trend"] = np.where(df["trend_pct"].isna(), np.nan, np.where(sig, trend_score, 2.0))
    scores = scores[list(PRIORITY_CRITERIA)]

    wv = pd.Series(w)
    present = scores.notna()
    if missing == "zero":
        total = (scores.fillna(0.0) * wv).sum(axis=1)
    else:
        denom = (present * wv).sum(axis=1)
        total = (scores.fillna(0.0) * wv).sum(axis=1) / denom.where(denom > 0)
    df[[f"score_{c}" for c in PRIORITY_CRITERIA]] = scores.to_numpy()
    df["total_score"] = total.round(9)
    df["rank"] = df["total_score"].rank(ascending=False, method="min").astype("Int64")
    df["tied"] = df["total_score"].duplicated(keep=False) & df["total_score"].notna()
    miss = pd.Series("", index=df.index, dtype="string")
    for c in PRIORITY_CRITERIA:
        if w[c] > 0:
            miss = miss + np.where(present[c], "", ", " + c)
    df["missing_criteria"] = miss.str.removeprefix(", ")
    df["explanation"] = _explain(df, scores, w, alpha, volume_unit, missing, vulnerability_label, adjusted=fdr)
    df = df.sort_values(["rank", "issue"], na_position="last").reset_index(drop=True)
    cols = (["issue"] + list(_INPUT_COLS) + ["trend_q"] + [f"score_{c}" for c in PRIORITY_CRITERIA]
            + ["total_score", "rank", "tied", "missing_criteria", "explanation"])
    return df[cols]


def _rank_phrase(x: pd.Series, word: str) -> pd.Series:
    m = int(x.notna().sum())
    r = x.rank(ascending=False, method="min")
    txt = word + " ranked " + _ordinal(r) + f" of {m}"
    txt = txt.mask(r == 1, "highest " + word).mask((r == m) & (m > 1), "lowest " + word)
    return txt


def _explain(df: pd.DataFrame, scores: pd.DataFrame, w: dict, alpha: float, unit: str, missing: str,
             vulnerability_label: str = "vulnerability", adjusted: bool = False) -> pd.Series:
    parts: list[pd.Series] = []
    lacking = "left out" if missing == "rescale" else "scored 0"
    total_v = df["volume"].sum()
    vshare = (df["volume"] / total_v * 100).round().astype("Int64").astype("string") if total_v > 0 else None
    vol = _rank_phrase(df["volume"], "volume") + " (" + _fmt_int(df["volume"]) + f" {unit}"
    vol = vol + (", " + vshare + "% of the total)" if vshare is not None else ")")
    parts.append(vol.fillna(f"no volume data ({lacking})") if w["volume"] > 0 else None)

    pct = df["trend_pct"]
    mag = pct.abs().round().astype("Int64").astype("string")
    sig = df["trend_q"] < alpha
    p_txt = ("adjusted " if adjusted else "") + _fmt_p(df["trend_q"])
    trend = pd.Series(pd.NA, index=df.index, dtype="string")
    trend = trend.mask(sig & (pct > 0), "rising " + mag + "% a year (" + p_txt + ")")
    trend = trend.mask(sig & (pct < 0), "falling " + mag + "% a year (" + p_txt + ")")
    sign = pd.Series(np.where(pct >= 0, "+", "-"), index=df.index, dtype="string")
    nonsig = "no significant trend (" + sign + mag + "% a year, " + p_txt.fillna("significance unknown") + ")"
    trend = trend.fillna(nonsig.where(pct.notna()))
    trend = trend.mask(sig & (pct == 0), "flat (" + p_txt + ")")
    parts.append(trend.fillna(f"no trend data ({lacking})") if w["trend"] > 0 else None)

    parts.append(_rank_phrase(df["harm"], "harm").fillna(f"no harm data ({lacking})") if w["harm"] > 0 else None)
    vul = _rank_phrase(df["vulnerability"], vulnerability_label)
    parts.append(vul.fillna(f"no {vulnerability_label} data ({lacking})") if w["vulnerability"] > 0 else None)
    conc = "named by " + (df["concern"] * 100).round().astype("Int64").astype("string") + "% of residents"
    parts.append(conc.fillna(f"no survey data for this issue ({lacking})") if w["concern"] > 0 else None)
    cap = "partnership capacity " + df["capacity"].round(1).map("{:g}".format, na_action="ignore").astype("string")
    cap = cap + pd.Series(np.select([scores["capacity"] >= 3, scores["capacity"] <= 1], [" (high)", " (low)"],
                                    default=""), index=df.index, dtype="string")
    parts.append(cap.fillna(f"no capacity score ({lacking})") if w["capacity"] > 0 else None)

    body = pd.Series("", index=df.index, dtype="string")
    for p in parts:  # six criteria, each a vectorised column
        if p is not None:
            body = body + ", " + p.fillna("")
    body = body.str.removeprefix(", ")
    score_txt = "; score " + df["total_score"].round(2).map("{:.2f}".format, na_action="ignore").astype("string") + " of 4"
    score_txt = score_txt.fillna("; no criteria available, not scored")
    tie = df["total_score"].duplicated(keep=False) & df["total_score"].notna()
    tie_txt = pd.Series(np.where(tie, ", tied with another issue", ""), index=df.index, dtype="string")
    return df["issue"] + ": " + body + score_txt + tie_txt + "."


def _band(x: pd.Series) -> pd.Series:
    """0-4 score -> band 1-4: [0,1) -> 1, [1,2) -> 2, [2,3) -> 3, [3,4] -> 4."""
    return (np.floor(x).clip(0, 3) + 1).astype("Int64")


def priority_grid(matrix: pd.DataFrame) -> pd.DataFrame:
    """Place each issue in a 4 x 4 impact-by-likelihood grid.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Output of :func:`priority_matrix` (needs ``issue`` and the ``score_*`` columns).

    Returns
    -------
    pandas.DataFrame
        One row per issue:

        - ``issue`` (str).
        - ``impact_score`` (float 0-4): mean of ``score_harm`` and ``score_vulnerability``
          (whichever are present).
        - ``likelihood_score`` (float 0-4): mean of ``score_volume`` and ``score_trend``.
        - ``impact_band``, ``likelihood_band`` (Int64 1-4): score bands [0,1) -> 1, [1,2) -> 2,
          [2,3) -> 3, [3,4] -> 4; NA when neither input is present.
        - ``cell`` (str): e.g. ``"impact 4 x likelihood 3"``.
        - ``risk`` (Int64 1-16): ``impact_band * likelihood_band``.

    Notes
    -----
    A risk matrix (impact x likelihood), as in UK public-sector risk management (HM Treasury
    (2020) *The Orange Book: Management of Risk*), with impact taken from harm and vulnerability
    and likelihood from volume and trend.
    """
    need = ["issue", "score_harm", "score_vulnerability", "score_volume", "score_trend"]
    check_dataframe(matrix, "matrix", need)
    out = pd.DataFrame({"issue": matrix["issue"].astype(str)})
    out["impact_score"] = matrix[["score_harm", "score_vulnerability"]].mean(axis=1, skipna=True)
    out["likelihood_score"] = matrix[["score_volume", "score_trend"]].mean(axis=1, skipna=True)
    out["impact_band"] = _band(out["impact_score"])
    out["likelihood_band"] = _band(out["likelihood_score"])
    out["cell"] = ("impact " + out["impact_band"].astype("string") + " x likelihood "
                   + out["likelihood_band"].astype("string"))
    out["risk"] = (out["impact_band"] * out["likelihood_band"]).astype("Int64")
    return out.reset_index(drop=True)


def priority_grid_pivot(grid: pd.DataFrame, sep: str = "; ") -> pd.DataFrame:
    """The 4 x 4 grid as a table of issue names (impact 4 at the top, likelihood 1 at the left).

    Parameters
    ----------
    grid : pandas.DataFrame
        Output of :func:`priority_grid`.
    sep : str
        Separator between issue names in one cell.

    Returns
    -------
    pandas.DataFrame
        Index ``impact`` (4, 3, 2, 1), columns ``likelihood`` (1, 2, 3, 4); each cell holds the
        names of its issues (alphabetical, joined by ``sep``) or "" when empty. Issues with no
        band are left out (listed in ``attrs["unplaced"]``).
    """
    check_dataframe(grid, "grid", ["issue", "impact_band", "likelihood_band"])
    placed = grid.dropna(subset=["impact_band", "likelihood_band"])
    names = (placed.sort_values("issue").groupby(["impact_band", "likelihood_band"])["issue"]
             .agg(sep.join))
    pivot = names.unstack("likelihood_band").reindex(index=[4, 3, 2, 1], columns=[1, 2, 3, 4])
    pivot = pivot.astype(object).where(pivot.notna(), "")  # empty bands are "" (an all-empty band is float)
    pivot.index.name = "impact"
    pivot.columns.name = "likelihood"
    pivot.attrs["unplaced"] = grid.loc[~grid.index.isin(placed.index), "issue"].tolist()
    return pivot
