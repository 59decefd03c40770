"""Consultation results from the residents' survey: who answered, feeling safe, concerns, comments.

The survey frame has one row per respondent with ``respondent_id``, a ward column
(``ward_code`` as in the raw file, or ``area_code`` after intake), ``safe_after_dark``
(Very safe, Fairly safe, Neither safe nor unsafe, Fairly unsafe, Very unsafe; optionally
Don't know), ``concern_1``..``concern_3`` and a free-text comments column (``comments`` or
``comment``).

Every table shows ``n``. Proportions carry Wilson 95% score intervals (statsmodels
``proportion_confint(method="wilson")``), which behave well for the small ward samples
typical of council surveys. Resident surveys are seldom simple random samples: answers come in
clusters (sampling points, streets, households) or carry weights, which make a ward's share
more variable than the binomial. :func:`survey_design_effect` gives the design effect the
intervals allow for -- declared in the catalogue, estimated from a cluster column, or assumed 1 --
and :func:`survey_feeling_safe` applies it as an effective sample size.

**Free text is untrusted.** Nothing here returns comment text except
:func:`survey_sample_comments`, whose strings are raw resident input and must be HTML-escaped
by the reporting layer before they reach a document.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from statsmodels.stats.proportion import proportion_confint

from assessment.checks import check_choice, check_dataframe, check_design_effect, check_probability, check_type
from assessment.paths import package_data_path

__all__ = [
    "SAFE_ANSWERS",
    "SAFETY_SCALE",
    "NON_ANSWERS",
    "DESIGN_EFFECT_SOURCES",
    "survey_wilson",
    "survey_design_effect",
    "survey_response_counts",
    "survey_feeling_safe",
    "survey_named_wards",
    "survey_top_concerns",
    "survey_load_themes",
    "survey_comment_flags",
    "survey_comment_themes",
    "survey_sample_comments",
    "survey_concerns_vs_data",
]

SAFETY_SCALE = ("Very safe", "Fairly safe", "Neither safe nor unsafe", "Fairly unsafe", "Very unsafe")
SAFE_ANSWERS = ("Very safe", "Fairly safe")
#: answers left out of the denominator of "feeling safe"
NON_ANSWERS = ("Don't know", "Dont know", "Prefer not to say", "Not answered")

#: where :func:`survey_design_effect`'s design effect came from
DESIGN_EFFECT_SOURCES = ("declared", "estimated", "assumed")

_WARD_COLS = ("ward_code", "area_code")
_COMMENT_COLS = ("comments", "comment")
UNCATEGORISED = "Uncategorised"


def _pick(frame: pd.DataFrame, given: str | None, candidates: tuple[str, ...], what: str) -> str:
    if given is not None:
        check_type(given, what, str)
        check_dataframe(frame, "survey", [given])
        return given
    for c in candidates:
        if c in frame.columns:
            return c
    raise ValueError(f"`survey` must have a {what} column (one of {list(candidates)}), got columns {list(frame.columns)}")


def survey_wilson(successes, nobs, alpha: float = 0.05) -> pd.DataFrame:
    """Proportion with a Wilson score interval, vectorised.

    Parameters
    ----------
    successes, nobs : array-like of int
        Counts of "yes" and of valid answers; ``nobs`` 0 gives NaN.
    alpha : float
        1 - confidence level (0.05 for 95%).

    Returns
    -------
    pandas.DataFrame
        ``proportion``, ``ci_low``, ``ci_high`` (floats in [0, 1]; NaN where ``nobs`` is 0).

    Notes
    -----
    Wilson, E. B. (1927) "Probable inference, the law of succession, and statistical
    inference", *JASA* 22, 209-212, computed by statsmodels
    ``proportion_confint(method="wilson")``; recommended for small samples by Brown, Cai &
    DasGupta (2001), *Statistical Science* 16(2), and used in the public-health indicator methods.
    """
    check_probability(alpha, "alpha")
    k = np.asarray(successes, dtype=float)
    n = np.asarray(nobs, dtype=float)
    if (k < 0).any() or (n < 0).any() or (k > n).any():
        raise ValueError("`successes` must lie between 0 and `nobs`, and both must be 0 or more")
    ok = n > 0
    lo = np.full(n.shape, np.nan)
    hi = np.full(n.shape, np.nan)
    if ok.any():
        lo[ok], hi[ok] = proportion_confint(k[ok], n[ok], alpha=alpha, method="wilson")
    p = np.divide(k, n, out=np.full(n.shape, np.nan), where=ok)
    # the Wilson bounds are exactly 0 at k = 0 and exactly 1 at k = n; remove rounding error
    lo = np.where(ok & (k == 0), 0.0, lo)
    hi = np.where(ok & (k == n), 1.0, hi)
    return pd.DataFrame({"proportion": p, "ci_low": np.clip(lo, 0, 1), "ci_high": np.clip(hi, 0, 1)})


def _safety_answers(survey: pd.DataFrame, answer_col: str, safe, exclude) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Valid answers (not missing, not excluded), answers counted as safe, and valid answers off the scale."""
    ans = survey[answer_col].astype("string").str.strip().str.casefold()
    safe_set = pd.Series(list(safe), dtype="string").str.casefold()
    excl_set = pd.Series(list(exclude), dtype="string").str.casefold()
    scale_set = pd.Series(list(SAFETY_SCALE) + list(safe), dtype="string").str.casefold()
    valid = (ans.notna() & ~ans.isin(excl_set)).fillna(False).astype(bool)
    unknown = valid & ~ans.isin(scale_set).fillna(False).astype(bool)
    return valid, valid & ans.isin(safe_set).fillna(False).astype(bool), unknown


def _weights(survey: pd.DataFrame, weight_col: str | None, where: str = "survey") -> np.ndarray | None:
    """The answers' survey weights as floats (None without ``weight_col``); each must be a positive number."""
    if weight_col is None:
        return None
    check_type(weight_col, "weight_col", str)
    check_dataframe(survey, where, [weight_col])
    raw = survey[weight_col]
    w = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    bad = ~np.isfinite(w) | (w <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"`{weight_col}` must be a positive number for every answer, got {raw.iloc[i]!r} in {where} "
                         f"row {i + 1} ({int(bad.sum())} such row(s)); hint: intake quarantines such rows as "
                         "'invalid weight' when the catalogue maps the column to `weight`")
    return w


def _weighting_effect(n: np.ndarray, sum_w: np.ndarray, sum_w2: np.ndarray) -> np.ndarray:
    """Kish's design effect of unequal weights, ``n sum(w^2) / sum(w)^2`` (1 for equal weights or no answer)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        eff = np.asarray(n, dtype=float) * sum_w2 / sum_w ** 2
    return np.where(np.asarray(n) > 0, np.maximum(eff, 1.0), 1.0)


def survey_design_effect(survey: pd.DataFrame, cluster_col: str | None = None, declared: float | None = None,
                         ward_col: str | None = None, answer_col: str = "safe_after_dark", safe=SAFE_ANSWERS,
                         exclude=NON_ANSWERS, where: str | None = None, weight_col: str | None = None) -> pd.DataFrame:
    """The design effect of the survey's "feel safe" shares: declared, estimated from clusters, or assumed 1.

    Parameters
    ----------
    survey : pandas.DataFrame
        One row per respondent, with ``answer_col``, a ward column and, to estimate, ``cluster_col``.
    cluster_col : str, optional
        Column naming each answer's cluster (a sampling point, street or household). Clusters
        are taken within wards (a code used in two wards is two clusters); a missing cluster is
        an answer of its own.
    declared : float, optional
        The design effect the catalogue declares (at least 1), e.g. the one the survey's
        provider publishes for a weighted or stratified design. It is used as given, even when
        ``cluster_col`` is also given.
    ward_col : str, optional
        Default ``ward_code`` or ``area_code``.
    answer_col, safe, exclude
        As in :func:`survey_feeling_safe`.
    where : str, optional
        Where ``declared`` comes from (e.g. ``datasets.<key>``), named in errors.
    weight_col : str, optional
        Column of survey weights (positive numbers), for the ``weighting_effect``. The design
        effect itself is not changed by it: :func:`survey_feeling_safe` applies each ward's own
        weighting effect on top of a clustering one, and none on top of a declared one (a
        provider's design effect already allows for its weights).

    Returns
    -------
    pandas.DataFrame
        One row:

        - ``design_effect`` (float, at least 1): what :func:`survey_feeling_safe` should allow for.
        - ``source`` (str): ``"declared"``, ``"estimated"`` or ``"assumed"`` (1, nothing to go on).
        - ``icc`` (float): the estimated intra-cluster correlation within wards (NaN unless
          estimated; may be below 0, then the design effect is 1).
        - ``n_clusters`` (int): clusters with a valid answer (0 unless estimated).
        - ``cluster_size`` (float): Kish's mean cluster size, the sum of squared cluster sizes
          over the answers (NaN unless estimated).
        - ``n`` (int): valid answers (every respondent when the survey has no ``answer_col``,
          which is needed only to estimate).
        - ``weighting_effect`` (float, at least 1): Kish's design effect of the weights over all
          valid answers, ``n sum(w^2) / sum(w)^2`` (1 without ``weight_col``).

    Notes
    -----
    Estimated from clusters, the design effect is Kish's ``1 + (m - 1) rho`` (Kish 1965,
    *Survey Sampling*) with ``m = sum(m_c^2) / sum(m_c)``, the mean cluster size
    weighted by size, which allows for clusters of unequal size (Eldridge, Ashby & Kerry 2006,
    *International Journal of Epidemiology*), never below 1. ``rho`` is the
    analysis-of-variance estimator of the intra-cluster correlation of the 0/1 "feels safe"
    answers (Donner 1986, *International Statistical Review*) with clusters nested in
    wards, so that real differences between wards do not count as clustering: the mean squares
    between clusters within wards (``MSB``, ``C - W`` degrees of freedom for ``C`` clusters in
    ``W`` wards) and within clusters (``MSW``, ``N - C``), and
    ``rho = (MSB - MSW) / (MSB + (n0 - 1) MSW)`` with
    ``n0 = (N - sum_w sum_{c in w} m_c^2 / N_w) / (C - W)`` (Searle, Casella & McCulloch 1992,
    *Variance Components*, ch. 3). With no cluster of two answers or more the design effect
    cannot be estimated: it is assumed 1, with a warning. The intra-cluster correlation is
    that of the unweighted answers. The weighting effect is Kish's (1965; 1992, "Weighting for
    unequal P_i", *Journal of Official Statistics* 8): ``1 + cv^2`` of the weights.
    """
    check_type(survey, "survey", pd.DataFrame)
    if declared is not None:
        check_design_effect(declared, "design_effect", where)
    if answer_col in survey.columns or not (declared is not None or cluster_col is None):
        check_dataframe(survey, "survey", [answer_col])
        valid, is_safe, _ = _safety_answers(survey, answer_col, safe, exclude)
    else:  # nothing to estimate from: declared or assumed, over every respondent (a survey need not ask it)
        valid = is_safe = pd.Series(True, index=survey.index)
    w = _weights(survey, weight_col)
    n_valid = int(valid.sum())
    weighting = 1.0
    if w is not None:
        wv = w[valid.to_numpy()]
        weighting = float(_weighting_effect(np.array([len(wv)]), np.array([wv.sum()]), np.array([(wv ** 2).sum()]))[0])
    if declared is not None:
        return _design_row(float(declared), "declared", np.nan, 0, np.nan, n_valid, weighting)
    if cluster_col is None:
        return _design_row(1.0, "assumed", np.nan, 0, np.nan, n_valid, weighting)
    check_type(cluster_col, "cluster_col", str)
    check_dataframe(survey, "survey", [cluster_col])
    ward_col = _pick(survey, ward_col, _WARD_COLS, "ward_col")
    keep = valid.to_numpy()
    ward = survey[ward_col].astype("string").fillna("Unknown ward").to_numpy()[keep]
    cluster, _ = pd.factorize(survey[cluster_col].astype("string").to_numpy()[keep])
    alone = cluster < 0  # a missing cluster: the answer is a cluster of its own
    cluster[alone] = cluster.max(initial=-1) + 1 + np.arange(int(alone.sum()))
    y = is_safe.to_numpy()[keep].astype(float)
    frame = pd.DataFrame({"ward": ward, "cluster": cluster, "y": y})
    g = frame.groupby(["ward", "cluster"], sort=False)["y"].agg(["size", "sum"])
    m, s = g["size"].to_numpy(float), g["sum"].to_numpy(float)
    wards = g.index.get_level_values("ward")
    n_w = pd.Series(m).groupby(wards).transform("sum").to_numpy()
    s_w = pd.Series(s).groupby(wards).transform("sum").to_numpy()
    n_clusters, n_wards, n = len(m), int(pd.Series(wards).nunique()), float(m.sum())
    df_between, df_within = n_clusters - n_wards, n - n_clusters
    if df_between <= 0 or df_within <= 0:
        warnings.warn(f"`{cluster_col}` has no cluster of two answers or more within a ward alongside another "
                      f"cluster ({n_clusters} clusters for {int(n)} answers in {n_wards} wards): the design effect "
                      "cannot be estimated and is assumed 1", stacklevel=2)
        return _design_row(1.0, "assumed", np.nan, 0, np.nan, n_valid, weighting)
    mean_c, mean_w = s / m, s_w / n_w
    ms_between = float((m * (mean_c - mean_w) ** 2).sum()) / df_between
    ms_within = float((m * mean_c * (1.0 - mean_c)).sum()) / df_within  # sum of (y - cluster mean)^2 for 0/1 answers
    n0 = (n - float((m ** 2 / n_w).sum())) / df_between
    denominator = ms_between + (n0 - 1.0) * ms_within
    icc = (ms_between - ms_within) / denominator if denominator > 0 else 0.0
    size = float((m ** 2).sum() / n)
    return _design_row(max(1.0, 1.0 + (size - 1.0) * icc), "estimated", icc, n_clusters, size, n_valid, weighting)


def _design_row(design_effect: float, source: str, icc: float, n_clusters: int, size: float, n: int,
                weighting: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame({"design_effect": [design_effect], "source": [source], "icc": [float(icc)],
                         "n_clusters": [int(n_clusters)], "cluster_size": [float(size)], "n": [int(n)],
                         "weighting_effect": [float(weighting)]})


def survey_response_counts(survey: pd.DataFrame, ward_col: str | None = None, wards=None,
                           overall_label: str = "Partnership") -> pd.DataFrame:
    """Number of respondents per ward, with the partnership total (n always shown).

    Parameters
    ----------
    survey : pandas.DataFrame
        One row per respondent.
    ward_col : str, optional
        Ward column; default the first of ``ward_code``, ``area_code`` present.
    wards : iterable of str, optional
        All wards of the partnership, so that wards with no respondents show ``n = 0``.
    overall_label : str
        Label of the final all-respondents row.

    Returns
    -------
    pandas.DataFrame
        ``ward`` (str; "Unknown ward" for a missing ward), ``n`` (int respondents),
        ``share`` (float, share of all respondents), ``is_overall`` (bool, the total row).
        Wards sorted by code, the total last.
    """
    ward_col = _pick(survey, ward_col, _WARD_COLS, "ward_col")
    w = survey[ward_col].astype("string").fillna("Unknown ward")
    counts = w.value_counts().sort_index()
    if wards is not None:
        counts = counts.reindex(counts.index.union(pd.Index(list(wards), dtype="string")), fill_value=0)
    out = counts.rename_axis("ward").rename("n").reset_index()
    total = int(out["n"].sum())
    out = pd.concat([out, pd.DataFrame({"ward": [overall_label], "n": [total]})], ignore_index=True)
    out["n"] = out["n"].astype(int)
    out["share"] = out["n"] / total if total else np.nan
    out["is_overall"] = np.arange(len(out)) == len(out) - 1
    return out


def survey_feeling_safe(survey: pd.DataFrame, ward_col: str | None = None, answer_col: str = "safe_after_dark",
                        safe=SAFE_ANSWERS, exclude=NON_ANSWERS, alpha: float = 0.05, wards=None,
                        overall_label: str = "Partnership", design_effect: float = 1.0,
                        weight_col: str | None = None, weights_in_design_effect: bool = False) -> pd.DataFrame:
    """Share feeling safe after dark by ward, with Wilson intervals and the partnership overall.

    Parameters
    ----------
    survey : pandas.DataFrame
        One row per respondent, holding ``answer_col`` and a ward column.
    ward_col : str, optional
        Ward column; default ``ward_code`` or ``area_code``.
    answer_col : str
        Column of safety answers (default ``safe_after_dark``).
    safe : iterable of str
        Answers counted as feeling safe (default "Very safe", "Fairly safe").
    exclude : iterable of str
        Answers left out of the denominator (Don't know, Prefer not to say...). Missing answers
        are also left out. Matching ignores case and surrounding spaces.
    alpha : float
        1 - confidence level.
    wards : iterable of str, optional
        All wards, so wards without respondents appear with ``n = 0`` and NaN proportions.
    overall_label : str
        Label of the partnership row.
    design_effect : float, default 1
        The survey's design effect (at least 1), e.g. from :func:`survey_design_effect`:
        the intervals are those of ``n / design_effect`` answers. 1 treats the answers as a
        simple random sample.
    weight_col : str, optional
        Column of survey weights (positive numbers, e.g. to the population's age, sex and
        ward): the shares are then weighted, and each row's interval also allows for Kish's
        weighting effect of its own answers' weights.
    weights_in_design_effect : bool, default False
        ``design_effect`` already allows for the weights (a design effect the survey's provider
        declares for its weighted design): the weighting effect is then not applied again.

    Returns
    -------
    pandas.DataFrame
        One row per ward then the partnership:

        - ``ward`` (str), ``is_overall`` (bool).
        - ``n_respondents`` (int): everyone in the ward.
        - ``n`` (int): valid answers (the denominator).
        - ``n_safe`` (int): Very or Fairly safe.
        - ``n_excluded`` (int): missing or excluded answers.
        - ``proportion``, ``ci_low``, ``ci_high`` (float): share safe (weighted with
          ``weight_col``) and its Wilson interval.
        - ``vs_overall`` (str): "higher", "lower" or "similar" - whether the ward's interval
          lies wholly above, below or overlaps the partnership proportion.
        - ``design_effect`` (float): the design effect allowed for (1: none): ``design_effect``
          times the row's ``weighting_effect`` unless the weights are in it already.
        - ``n_effective`` (float): ``n / design_effect``, the answers the interval counts.
        - ``weighting_effect`` (float): Kish's ``n sum(w^2) / sum(w)^2`` of the row's valid
          answers (1 without weights).

    Notes
    -----
    Wilson score interval (Wilson 1927) via statsmodels ``proportion_confint(method="wilson")``.
    With a design effect ``d`` the interval is Wilson's for the effective sample size: ``n / d``
    answers of which ``n_safe / d`` feel safe (Kish 1965, *Survey Sampling*;
    the Wilson form with the effective sample size is among those Franco, Little, Louis & Slud
    2019, *Journal of Survey Statistics and Methodology*, recommend for complex samples).
    Since Wilson's interval inverts the score test, this divides that test's chi-square by
    ``d``: the first-order Rao-Scott correction (Rao & Scott 1981, *Journal of the American Statistical Association*) with one
    design effect for every ward. ``d = 1`` gives the plain interval. Answers that are not on
    the five-point scale and not excluded raise a warning and are counted as not safe.

    With weights the share is the weighted (Hajek) proportion ``sum(w y) / sum(w)`` and the
    effective sample size is ``n / (d k)``, with ``k`` Kish's weighting effect of the row's own
    answers (Kish 1992, *Journal of Official Statistics* 8) and ``d`` the clustering design
    effect (the product of the two is Kish's approximation for a clustered, weighted sample;
    Gabler, Haeder & Lahiri 1999, *Survey Methodology* 25, give its model-based form); the
    interval is Wilson's for ``n_eff`` answers of which the weighted share feel safe -- the
    Kish-effective Wilson interval that Franco et al. (2019) recommend.
    """
    ward_col = _pick(survey, ward_col, _WARD_COLS, "ward_col")
    check_dataframe(survey, "survey", [answer_col])
    check_design_effect(design_effect, "design_effect")
    check_type(weights_in_design_effect, "weights_in_design_effect", bool)
    w = _weights(survey, weight_col)
    valid, is_safe, unknown = _safety_answers(survey, answer_col, safe, exclude)
    if unknown.any():
        warnings.warn(
            f"{int(unknown.sum())} `{answer_col}` answer(s) are not on the scale {list(SAFETY_SCALE)}, "
            f"e.g. {survey.loc[unknown, answer_col].iloc[0]!r}: counted as not safe",
            stacklevel=2,
        )
    weight = np.ones(len(survey)) if w is None else w
    frame = pd.DataFrame({
        "ward": survey[ward_col].astype("string").fillna("Unknown ward"),
        "resp": 1,
        "valid": valid.astype(int),
        "safe": is_safe.astype(int),
        "w": np.where(valid, weight, 0.0),
        "w2": np.where(valid, weight ** 2, 0.0),
        "ws": np.where(is_safe, weight, 0.0),
    })
    g = frame.groupby("ward").agg(n_respondents=("resp", "sum"), n=("valid", "sum"), n_safe=("safe", "sum"),
                                  sum_w=("w", "sum"), sum_w2=("w2", "sum"), sum_ws=("ws", "sum"))
    if wards is not None:
        g = g.reindex(g.index.union(pd.Index(list(wards), dtype="string")), fill_value=0)
    g = g.sort_index()
    tot = g.sum().to_frame().T
    tot.index = pd.Index([overall_label], name="ward")
    out = pd.concat([g, tot]).rename_axis("ward").reset_index()
    out[["n_respondents", "n", "n_safe"]] = out[["n_respondents", "n", "n_safe"]].astype(int)
    out["n_excluded"] = out["n_respondents"] - out["n"]
    out["is_overall"] = np.arange(len(out)) == len(out) - 1
    n = out["n"].to_numpy(dtype=float)
    if w is None:
        k = np.ones(len(out))
        d = np.full(len(out), float(design_effect))
        ci = survey_wilson(out["n_safe"] / d, n / d, alpha)
    else:
        k = _weighting_effect(n, out["sum_w"].to_numpy(), out["sum_w2"].to_numpy())
        d = float(design_effect) * (1.0 if weights_in_design_effect else k)
        share = np.divide(out["sum_ws"].to_numpy(), out["sum_w"].to_numpy(), out=np.zeros(len(out)),
                          where=n > 0)
        ci = survey_wilson(np.minimum(share, 1.0) * (n / d), n / d, alpha)
    out[["proportion", "ci_low", "ci_high"]] = ci.to_numpy()
    out["design_effect"] = d
    out["n_effective"] = n / d
    out["weighting_effect"] = k
    p0 = out["proportion"].iloc[-1]
    out["vs_overall"] = np.select([out["ci_low"] > p0, out["ci_high"] < p0], ["higher", "lower"], default="similar")
    out.loc[out["n"] == 0, "vs_overall"] = "no answers"
    out.loc[out["is_overall"], "vs_overall"] = ""
    return out[["ward", "is_overall", "n_respondents", "n", "n_safe", "n_excluded",
                "proportion", "ci_low", "ci_high", "vs_overall", "design_effect", "n_effective", "weighting_effect"]]


def survey_named_wards(safe: pd.DataFrame, direction: str = "lower", min_n: int = 30) -> pd.Series:
    """The decision behind "wards where significantly fewer (or more) residents feel safe after dark".

    Parameters
    ----------
    safe : pandas.DataFrame
        Output of :func:`survey_feeling_safe` (``is_overall``, ``n``, ``vs_overall``).
    direction : {"lower", "higher"}
        Fewer residents feel safe than across the partnership ("lower") or more ("higher").
    min_n : int, default 30
        Wards with fewer valid answers are too small to be named (documents show them greyed
        as unreliable).

    Returns
    -------
    pandas.Series of bool
        True for the ward rows to name, indexed like ``safe``.

    Notes
    -----
    A ward is named when its 95% Wilson interval lies wholly on one side of the partnership's
    proportion. ``assessment.calibration.survey`` measures how often a ward whose residents
    feel as safe as the partnership's is named, on simple random and on clustered samples.
    """
    check_dataframe(safe, "safe", ["is_overall", "n", "vs_overall"])
    check_choice(direction, "direction", ["lower", "higher"])
    if isinstance(min_n, bool) or not isinstance(min_n, (int, np.integer)) or min_n < 0:
        raise ValueError(f"`min_n` must be a whole number of 0 or more, got {min_n!r}")
    return (safe["vs_overall"] == direction) & ~safe["is_overall"].astype(bool) & (safe["n"] >= min_n)


def _concern_long(survey: pd.DataFrame, concern_cols, mapping) -> tuple[pd.DataFrame, int]:
    if concern_cols is None:
        concern_cols = [c for c in survey.columns if re.fullmatch(r"concern_\d+", str(c))]
        if not concern_cols:
            raise ValueError(f"`survey` must have concern columns concern_1..concern_3, got {list(survey.columns)}")
    check_dataframe(survey, "survey", concern_cols)
    long = survey[list(concern_cols)].reset_index(drop=True).rename_axis("respondent").reset_index()
    long = long.melt(id_vars="respondent", value_name="concern")["respondent concern".split()]
    long["concern"] = long["concern"].astype("string").str.strip()
    long = long[long["concern"].notna() & (long["concern"] != "")]
    if mapping is not None:
        check_type(mapping, "mapping", dict)
        mapped = long["concern"].map(mapping)
        unmapped = mapped.isna()
        if unmapped.any():
            warnings.warn(f"concerns {sorted(long.loc[unmapped, 'concern'].unique())} have no entry in `mapping`: "
                          "kept under their own name", stacklevel=3)
        long["concern"] = mapped.fillna(long["concern"]).astype("string")
    return long.drop_duplicates(["respondent", "concern"]), len(survey)


def survey_top_concerns(survey: pd.DataFrame, concern_cols=None, mapping: dict | None = None,
                        alpha: float = 0.05, top: int | None = None, weight_col: str | None = None,
                        design_effect: float = 1.0, weights_in_design_effect: bool = False) -> pd.DataFrame:
    """Concerns named by respondents, as a share of all respondents with Wilson intervals.

    Parameters
    ----------
    survey : pandas.DataFrame
        One row per respondent.
    concern_cols : list of str, optional
        Columns holding the concerns; default every ``concern_<n>`` column.
    mapping : dict, optional
        Concern label -> theme, to count by partnership theme; a respondent who names two
        concerns of one theme counts once for that theme.
    alpha : float
        1 - confidence level.
    top : int, optional
        Keep only the ``top`` most named.
    weight_col : str, optional
        Column of survey weights (positive numbers): shares are then weighted, with intervals
        for Kish's effective sample size (as in :func:`survey_feeling_safe`).
    design_effect : float, default 1
        A clustering (or declared) design effect the intervals allow for, as in
        :func:`survey_feeling_safe`: ``n / (design_effect k)`` answers.
    weights_in_design_effect : bool, default False
        ``design_effect`` already allows for the weights (declared by the survey's provider).

    Returns
    -------
    pandas.DataFrame
        Sorted by ``share`` (highest first, then name; without weights the same order as
        ``n_naming``):

        - ``concern`` (str): concern label (or theme when ``mapping`` is given).
        - ``n_naming`` (int): respondents naming it in any concern column (each counted once).
        - ``n`` (int): all respondents (the denominator, shown with every share).
        - ``share``, ``ci_low``, ``ci_high`` (float): share of respondents (weighted with
          ``weight_col``), Wilson interval.
        - ``rank`` (int): 1 = most named (ties ``min``; by weighted share with weights).
        - ``weighting_effect`` (float): Kish's weighting effect of all respondents' weights (1
          without weights).
        - ``design_effect`` (float): the design effect the intervals allow for, ``design_effect``
          times ``weighting_effect`` unless the weights are in it already.

    Notes
    -----
    Wilson score interval (Wilson 1927) via statsmodels ``proportion_confint``. The shares do
    not sum to 1: each respondent may name up to three concerns. With weights, the share is
    ``sum(w naming) / sum(w)`` over all respondents and the interval Wilson's for ``n / k``
    answers, ``k`` Kish's weighting effect (Kish 1992).
    """
    check_dataframe(survey, "survey")
    check_probability(alpha, "alpha")
    check_design_effect(design_effect, "design_effect")
    check_type(weights_in_design_effect, "weights_in_design_effect", bool)
    w = _weights(survey, weight_col)
    long, n = _concern_long(survey, concern_cols, mapping)
    counts = long["concern"].value_counts().rename_axis("concern").rename("n_naming").reset_index()
    counts["n"] = n
    if w is None:
        k = 1.0
        d = float(design_effect)
        ci = survey_wilson(counts["n_naming"] / d, counts["n"] / d, alpha)
    else:
        k = float(_weighting_effect(np.array([n]), np.array([w.sum()]), np.array([(w ** 2).sum()]))[0])
        d = float(design_effect) * (1.0 if weights_in_design_effect else k)
        named = long.assign(w=w[long["respondent"].to_numpy()]).groupby("concern")["w"].sum()
        share = np.minimum(counts["concern"].map(named).to_numpy(dtype=float) / w.sum(), 1.0)
        ci = survey_wilson(share * (n / d), np.full(len(counts), n / d), alpha)
    counts = pd.concat([counts, ci.rename(columns={"proportion": "share"})], axis=1)
    counts = counts.sort_values(["share", "concern"], ascending=[False, True]).reset_index(drop=True)
    counts["rank"] = counts["share"].rank(ascending=False, method="min").astype(int)
    counts["n_naming"] = counts["n_naming"].astype(int)
    counts["weighting_effect"] = k
    counts["design_effect"] = d
    if top is not None:
        check_type(top, "top", int)
        counts = counts.head(top)
    return counts[["concern", "n_naming", "n", "share", "ci_low", "ci_high", "rank", "weighting_effect",
                   "design_effect"]]


def survey_load_themes(path: str | Path | None = None) -> dict[str, dict]:
    """Load and validate a comment-theme keyword dictionary (the shipped one by default).

    Parameters
    ----------
    path : str or Path, optional
        YAML file ``themes: {key: {label: str, keywords: [regex, ...]}}``; ``None`` loads the
        shipped ``assessment/data/comment_themes.yaml`` (whose header documents the rules).

    Returns
    -------
    dict
        theme key -> ``{"label": str, "keywords": list[str], "pattern": str}`` where
        ``pattern`` is the combined regular expression ``\\b(?:kw1|kw2|...)`` used for matching.

    Raises
    ------
    ValueError
        Missing ``themes``, a theme without keywords, or a keyword that is not a valid regex.
    """
    if path is None:
        path = package_data_path("comment_themes.yaml")
    check_type(path, "path", (str, Path))
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"`path` must be an existing comment-themes YAML, got {str(path)!r} (no such file)")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    themes = raw.get("themes") if isinstance(raw, dict) else None
    if not isinstance(themes, dict) or not themes:
        raise ValueError(f"`themes` must be a mapping of theme -> {{label, keywords}}, got {type(themes).__name__} "
                         f"in {path.name}")
    out: dict[str, dict] = {}
    for key, spec in themes.items():  # one entry per theme: the dictionary, not the data
        if not isinstance(spec, dict) or not spec.get("keywords"):
            raise ValueError(f"themes.{key} must have a non-empty `keywords` list, got {spec!r} in {path.name}")
        kws = [str(k) for k in spec["keywords"]]
        for k in kws:
            try:
                re.compile(k)
            except re.error as exc:
                raise ValueError(f"themes.{key}.keywords must be regular expressions, got {k!r} ({exc}) "
                                 f"in {path.name}") from None
        out[str(key)] = {"label": str(spec.get("label", key)), "keywords": kws,
                         "pattern": r"\b(?:" + "|".join(f"(?:{k})" for k in kws) + ")"}
    return out


def survey_comment_flags(comments: pd.Series, themes: dict | str | Path | None = None) -> pd.DataFrame:
    """Flag each comment with every theme whose keywords it contains.

    Parameters
    ----------
    comments : pandas.Series of str
        Free-text comments (missing or blank comments are flagged as not commented).
    themes : dict, path or None
        As returned by :func:`survey_load_themes`; a path or ``None`` loads one.

    Returns
    -------
    pandas.DataFrame
        Same index as ``comments``: one bool column per theme key, ``has_comment`` (bool),
        ``n_themes`` (int) and ``uncategorised`` (bool: a comment that hit no theme).
        No comment text is returned.

    Notes
    -----
    Case-insensitive regular-expression keyword matching (pandas ``Series.str.contains``),
    each theme's keywords combined into one word-start-anchored pattern. This is a dictionary
    (lexicon) method of content analysis; its counts are only as good as the dictionary, so
    read a sample of uncategorised comments and extend it.
    """
    check_type(comments, "comments", pd.Series)
    if not isinstance(themes, dict):
        themes = survey_load_themes(themes)
    text = comments.astype("string")
    has = text.notna() & (text.str.strip() != "")
    has = has.fillna(False).astype(bool)
    out = pd.DataFrame(index=comments.index)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="This pattern .* match groups")
        for key, spec in themes.items():  # loop over the small dictionary, vectorised over comments
            out[key] = text.str.contains(spec["pattern"], case=False, regex=True, na=False).astype(bool) & has
    out["has_comment"] = has
    out["n_themes"] = out[list(themes)].sum(axis=1).astype(int)
    out["uncategorised"] = has & (out["n_themes"] == 0)
    return out


def survey_comment_themes(survey: pd.DataFrame, themes: dict | str | Path | None = None,
                          comment_col: str | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Count free-text comments by theme, with uncategorised comments counted too.

    Parameters
    ----------
    survey : pandas.DataFrame
        One row per respondent, with a comment column (``comments`` or ``comment``).
    themes : dict, path or None
        Keyword dictionary (:func:`survey_load_themes`); default the shipped one.
    comment_col : str, optional
        Comment column name.
    alpha : float
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per theme (sorted by count), then ``Uncategorised``:

        - ``theme`` (str): theme key (``uncategorised`` for the last row).
        - ``label`` (str): heading for documents.
        - ``n_comments`` (int): comments mentioning the theme (a comment may hit several).
        - ``n`` (int): respondents who left a comment (the denominator).
        - ``share``, ``ci_low``, ``ci_high`` (float): share of comments, Wilson interval.

        ``attrs["n_respondents"]`` holds the number of respondents. No comment text is returned.

    Notes
    -----
    Dictionary-based content coding (see :func:`survey_comment_flags`) with Wilson intervals
    (Wilson 1927; statsmodels ``proportion_confint``). Shares sum to more than 1 when comments
    hit several themes.
    """
    comment_col = _pick(survey, comment_col, _COMMENT_COLS, "comment_col")
    if not isinstance(themes, dict):
        themes = survey_load_themes(themes)
    flags = survey_comment_flags(survey[comment_col], themes)
    n = int(flags["has_comment"].sum())
    keys = list(themes) + ["uncategorised"]
    out = pd.DataFrame({"theme": keys,
                        "label": [themes[k]["label"] for k in themes] + [UNCATEGORISED],
                        "n_comments": flags[keys].sum().to_numpy().astype(int)})
    head = out.iloc[:-1].sort_values(["n_comments", "theme"], ascending=[False, True])
    out = pd.concat([head, out.iloc[-1:]], ignore_index=True)
    out["n"] = n
    ci = survey_wilson(out["n_comments"], out["n"], alpha)
    out[["share", "ci_low", "ci_high"]] = ci.to_numpy()
    out.attrs["n_respondents"] = len(survey)
    return out


def survey_sample_comments(survey: pd.DataFrame, theme: str | None = None, n: int = 5, seed: int = 0,
                           themes: dict | str | Path | None = None, comment_col: str | None = None) -> list[str]:
    """A reproducible random sample of comments, optionally from one theme, as plain strings.

    .. warning::
       The strings are **raw resident input** and are **not escaped**. They must be
       HTML-escaped (``html.escape``) by the reporting layer before they are put in any
       document; a comment may contain ``<script>``. They may also contain names or other
       personal details: read them before publishing.

    Parameters
    ----------
    survey : pandas.DataFrame
        One row per respondent.
    theme : str, optional
        A theme key, or ``"uncategorised"``; ``None`` samples from all comments.
    n : int
        Number of comments (fewer if fewer exist).
    seed : int
        Random seed (same seed, same sample).
    themes, comment_col
        As in :func:`survey_comment_themes`.

    Returns
    -------
    list of str
        Unescaped comment texts, stripped of surrounding whitespace.
    """
    comment_col = _pick(survey, comment_col, _COMMENT_COLS, "comment_col")
    check_type(n, "n", int)
    check_type(seed, "seed", int)
    if not isinstance(themes, dict):
        themes = survey_load_themes(themes)
    if theme is not None:
        check_choice(theme, "theme", list(themes) + ["uncategorised"])
    # Only the themes the sample needs are matched: one theme's flags do not depend on the others,
    # "uncategorised" needs them all and "has_comment" none.
    needed = {} if theme is None else themes if theme == "uncategorised" else {theme: themes[theme]}
    flags = survey_comment_flags(survey[comment_col], needed)
    keep = flags["has_comment"] if theme is None else flags[theme]
    pool = survey.loc[keep.to_numpy(), comment_col].astype(str).str.strip()
    return pool.sample(n=min(n, len(pool)), random_state=seed).tolist()


def survey_concerns_vs_data(concerns: pd.DataFrame, data: pd.DataFrame, concern_threshold: float = 0.2,
                            top_fraction: float = 1 / 3, alpha: float = 0.05, options=None) -> pd.DataFrame:
    """Set residents' concerns against what the data shows, theme by theme.

    Parameters
    ----------
    concerns : pandas.DataFrame
        ``concern`` (theme key or label, matching ``data['theme']``) and ``share`` (0-1), e.g.
        :func:`survey_top_concerns` with a ``mapping`` to themes. ``n`` is carried if present.
    data : pandas.DataFrame
        ``theme`` and ``volume`` (count in the period); optionally ``trend_pct`` (% change a
        year) and ``trend_p`` (its p-value).
    concern_threshold : float
        A theme is a resident concern when at least this share of respondents named it
        (default 0.2, one in five).
    top_fraction : float
        A theme is a data problem when its volume ranks in this top fraction of themes
        (default the top third), or when it is rising significantly (``trend_p < alpha``).
    alpha : float
        Significance level for the trend.
    options : iterable of str, optional
        The themes residents could name (the survey's closed list, mapped to themes). A data
        theme outside ``options`` is "no survey data for this issue". When ``None`` (default)
        every data theme is taken to be nameable, and one missing from ``concerns`` was named
        by no respondent (share 0).

    Returns
    -------
    pandas.DataFrame
        One row per theme present in either input, sorted by concern share:

        - ``theme`` (str).
        - ``concern_share`` (float): share of respondents naming it (NaN: not a survey option).
        - ``n`` (Int64): survey respondents, if given.
        - ``volume`` (float), ``volume_rank`` (Int64, 1 = highest), ``trend_pct``, ``trend_p``.
        - ``resident_concern`` (bool), ``data_problem`` (bool).
        - ``classification`` (str): "concern matches data", "concern higher than data suggests",
          "data shows a problem residents did not raise", "neither a strong concern nor a data
          priority", "no survey data for this issue" or "no data for this concern".
        - ``sentence`` (str): the classification in words with the numbers.

    Notes
    -----
    A simple two-by-two comparison of perception against recorded volume and trend, as used in
    crime and disorder audits to set public concern against the evidence (Home Office 2007,
    *Delivering Safer Communities*). The thresholds are conventions, shown in the output.
    """
    check_dataframe(concerns, "concerns", ["concern", "share"])
    check_dataframe(data, "data", ["theme", "volume"])
    check_probability(concern_threshold, "concern_threshold")
    check_probability(top_fraction, "top_fraction")
    check_probability(alpha, "alpha")
    c = concerns.rename(columns={"concern": "theme", "share": "concern_share"})
    ccols = ["theme", "concern_share"] + (["n"] if "n" in c.columns else [])
    c = c[ccols].copy()
    c["theme"] = c["theme"].astype("string")
    d = data.copy()
    d["theme"] = d["theme"].astype("string")
    for col in ("trend_pct", "trend_p"):
        if col not in d.columns:
            d[col] = np.nan
    d = d[["theme", "volume", "trend_pct", "trend_p"]]
    out = c.merge(d, on="theme", how="outer", indicator=True)
    if options is None:
        askable = pd.Series(True, index=out.index)
    else:
        askable = out["theme"].isin(pd.Series(list(options), dtype="string")) | (out["_merge"] != "right_only")
    fill0 = (out["_merge"] == "right_only") & askable
    out.loc[fill0, "concern_share"] = 0.0
    if "n" in out.columns and out["n"].notna().any():
        out.loc[fill0, "n"] = out["n"].dropna().iloc[0]
    out["volume"] = pd.to_numeric(out["volume"], errors="coerce").astype(float)
    n_themes = int(out["volume"].notna().sum())
    out["volume_rank"] = out["volume"].rank(ascending=False, method="min").astype("Int64")
    cutoff = max(1, int(np.ceil(top_fraction * n_themes)))
    rising = (pd.to_numeric(out["trend_p"], errors="coerce") < alpha) & (pd.to_numeric(out["trend_pct"], errors="coerce") > 0)
    out["data_problem"] = ((out["volume_rank"] <= cutoff).fillna(False) | rising.fillna(False)).astype(bool)
    out["resident_concern"] = (out["concern_share"] >= concern_threshold).fillna(False).astype(bool)
    no_survey = (out["_merge"] == "right_only") & ~askable
    no_data = out["_merge"] == "left_only"
    out["classification"] = np.select(
        [no_survey, no_data,
         out["resident_concern"] & out["data_problem"],
         out["resident_concern"] & ~out["data_problem"],
         ~out["resident_concern"] & out["data_problem"]],
        ["no survey data for this issue", "no data for this concern", "concern matches data",
         "concern higher than data suggests", "data shows a problem residents did not raise"],
        default="neither a strong concern nor a data priority")
    share_txt = "named by " + (out["concern_share"] * 100).round().astype("Int64").astype("string") + "% of residents"
    vol_txt = ("ranked " + out["volume_rank"].astype("string") + f" of {n_themes} by volume")
    trend_txt = pd.Series(np.where(rising.fillna(False),
                                   ", rising " + out["trend_pct"].round(0).astype("Int64").astype("string") + "% a year",
                                   ""), index=out.index, dtype="string").fillna("")
    sentence = (out["theme"] + ": " + out["classification"] + " (" + share_txt.fillna("not a survey option")
                + "; " + vol_txt.fillna("no recorded data") + trend_txt + ").")
    out["sentence"] = sentence
    if "n" in out.columns:
        out["n"] = out["n"].astype("Int64")
    out = out.sort_values(["concern_share", "volume"], ascending=False, na_position="last").reset_index(drop=True)
    cols = ["theme", "concern_share"] + (["n"] if "n" in out.columns else []) + [
        "volume", "volume_rank", "trend_pct", "trend_p", "resident_concern", "data_problem",
        "classification", "sentence"]
    return out[cols]


def survey_concerns_by_ward(survey: pd.DataFrame, concerns=None, ward_col: str | None = None,
                            concern_cols=None, by: str = "concern") -> pd.DataFrame:
    """Residents naming each concern, by ward: a count table (one row per ward).

    Parameters
    ----------
    survey : pandas.DataFrame
        One row per respondent, with a ward column and ``concern_1``..``concern_n`` (the
        concerns in the order the respondent ranked them).
    concerns : list of str, optional
        Concerns to count; default every concern named.
    ward_col : str, optional
        Default the first of ``ward_code``, ``area_code`` present.
    concern_cols : list of str, optional
        Default every ``concern_<n>`` column, in order (their position is the rank).
    by : {'concern', 'rank'}, default 'concern'
        ``'concern'``: one count column per concern (residents naming it in any position).
        ``'rank'``: one column per position (``'1st'``, ``'2nd'``, ...), counting residents who
        put any of ``concerns`` there.

    Returns
    -------
    pandas.DataFrame
        ``ward`` (str, ``'Unknown ward'`` when missing) then the count columns (int), wards
        sorted by code; wards where nobody named a counted concern are left out.

    Notes
    -----
    A plain tabulation (no estimation); its counts are of people, so the table is
    disclosure-controlled like any count of the survey.
    """
    check_type(survey, "survey", pd.DataFrame)
    check_choice(by, "by", ("concern", "rank"))
    ward_col = _pick(survey, ward_col, _WARD_COLS, "ward_col")
    if concern_cols is None:
        concern_cols = [c for c in survey.columns if re.fullmatch(r"concern_\d+", str(c))]
        if not concern_cols:
            raise ValueError(f"`survey` must have concern columns concern_1..concern_3, got {list(survey.columns)}")
    check_dataframe(survey, "survey", list(concern_cols))
    frame = survey[[ward_col, *concern_cols]].rename(columns={ward_col: "ward"})
    frame["ward"] = frame["ward"].astype("string").fillna("Unknown ward")
    long = frame.melt(id_vars="ward", value_vars=list(concern_cols), var_name="position", value_name="concern")
    long["concern"] = long["concern"].astype("string").str.strip()
    long = long[long["concern"].notna() & (long["concern"] != "")]
    if concerns is not None:
        long = long[long["concern"].isin(list(concerns))]
    if by == "rank":
        order = {c: i for i, c in enumerate(concern_cols)}
        names = {c: _ordinal(i + 1) for c, i in order.items()}
        long = long.assign(column=long["position"].map(names))
        columns = [names[c] for c in concern_cols]
    else:
        long = long.assign(column=long["concern"])
        columns = list(concerns) if concerns is not None else sorted(long["concern"].unique())
    table = long.groupby(["ward", "column"]).size().unstack("column", fill_value=0)
    table = table.reindex(columns=columns, fill_value=0).sort_index()
    return table.astype("int64").rename_axis(None, axis=1).reset_index()


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"
