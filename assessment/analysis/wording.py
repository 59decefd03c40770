"""Plain-English sentences for results that never overclaim (the ``describe_*`` family).

Rules used throughout:

* A change is called "statistically significant" only when its p-value is below
  ``alpha`` (default 0.05); otherwise it is "within normal variation" -- never "a rise".
* With too few events (default fewer than 10) no judgement is offered at all:
  "too few events to judge a change (n = 7)".
* A series break is described as a step, and the sentence says it is not a trend.
* p-values are shown as ``p < 0.001``, ``p < 0.01``, ``p = 0.03``, ``p = 0.41``
  (see :func:`describe_p`).
* Where a document tests a family (every crime type, theme or area), it adjusts the
  p-values for the false discovery rate (``trend_fdr``) and puts them in a
  ``p_adjusted`` column; the ``describe_*`` functions then decide on, and show, the
  adjusted value ("adjusted p = 0.03").
* Each decision is one ``verdict_*`` function, shared by the sentence and by the
  calibration in ``assessment.calibration`` (so what is calibrated is what is printed).

Functions taking scalars return ``str``; those given arrays or Series return a
``pandas.Series`` of str (vectorised; no per-row Python).
"""

from __future__ import annotations

import calendar
from typing import Any

import numpy as np
import pandas as pd

from assessment.checks import check_choice, check_dataframe, check_probability, check_type

__all__ = [
    "describe_p",
    "describe_change",
    "describe_year_on_year",
    "describe_break",
    "describe_trend",
    "describe_seasonality",
    "describe_exceptions",
    "describe_comparison",
    "describe_peer_position",
    "verdict_change",
    "verdict_year_on_year",
    "verdict_trend",
    "verdict_trend_family",
    "verdict_change_family",
    "verdict_seasonality",
]


def _is_scalar(*values: Any) -> bool:
    return all(np.ndim(v) == 0 for v in values)


def _index_of(*values: Any) -> pd.Index | None:
    for v in values:
        if isinstance(v, pd.Series):
            return v.index
    return None


def _out(arr: np.ndarray, scalar: bool, index: pd.Index | None, name: str) -> Any:
    arr = np.asarray(arr, dtype=object)
    if scalar:
        return str(arr.reshape(-1)[0])
    return pd.Series(arr, index=index, name=name, dtype=object)


def _cat(*parts: Any) -> np.ndarray:
    """Element-wise string concatenation of arrays/strings."""
    out = np.asarray(parts[0], dtype=object)
    for p in parts[1:]:
        out = out + np.asarray(p, dtype=object)
    return out


def _fmt(fmt: str, values: np.ndarray) -> np.ndarray:
    return np.char.mod(fmt, np.asarray(values, dtype=float)).astype(object)


def _p_text(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    safe = np.nan_to_num(p, nan=1.0)
    two_sig = _fmt("%.2g", safe)
    three_sig = _fmt("%.3g", safe)
    two_dp = _fmt("%.2f", safe)
    near_05 = (safe >= 0.045) & (safe < 0.055)
    return np.select(
        [np.isnan(p), p < 0.001, p < 0.01, p < 0.1, p > 0.99],
        ["p not available", "p < 0.001", "p < 0.01",
         _cat("p = ", np.where(near_05, three_sig, two_sig)), "p > 0.99"],
        default=_cat("p = ", two_dp),
    ).astype(object)


def describe_p(p: Any) -> Any:
    """Format a p-value for partners.

    Parameters
    ----------
    p : float or array-like
        p-value(s) in [0, 1] (NaN allowed: "p not available").

    Returns
    -------
    str or pandas.Series
        ``"p < 0.001"`` below 0.001; ``"p < 0.01"`` below 0.01; two significant figures
        below 0.1 (``"p = 0.03"``, ``"p = 0.049"``; three figures between 0.045 and 0.055
        so a value is never rounded across 0.05); two decimals up to 0.99
        (``"p = 0.41"``); ``"p > 0.99"`` above.

    Notes
    -----
    Common reporting style for p-values: exact values to two significant figures,
    thresholds below 0.01, and a floor of 0.001 (smaller values are not meaningful
    given model assumptions).
    """
    arr = np.asarray(p, dtype=float)
    finite = arr[~np.isnan(arr)]
    if np.any((finite < 0) | (finite > 1)):
        raise ValueError(f"`p` must lie in [0, 1], got {finite[(finite < 0) | (finite > 1)][:3]}")
    return _out(_p_text(np.atleast_1d(arr)), _is_scalar(p), _index_of(p), "p_text")


def _pct_words(pct: np.ndarray) -> np.ndarray:
    """'up 4%', 'down 12%', 'up less than 1%', 'unchanged', 'up from zero'."""
    a = np.abs(np.nan_to_num(pct, nan=0.0, posinf=0.0, neginf=0.0))
    r = _fmt("%.0f", a)
    direction = np.where(pct > 0, "up ", "down ")
    return np.select(
        [np.isnan(pct), np.isposinf(pct), pct == 0, a < 0.5],
        ["no events in either period", "up from zero", "unchanged", _cat(direction, "less than 1%")],
        default=_cat(direction, r, "%"),
    ).astype(object)


def verdict_change(pct_change: Any, p_value: Any, n: Any = None, alpha: float = 0.05,
                   min_events: int = 10) -> Any:
    """The decision behind :func:`describe_change`: what a document says about a change.

    Parameters
    ----------
    pct_change, p_value, n, alpha, min_events
        As for :func:`describe_change` (pass the adjusted p-value where a family was tested).

    Returns
    -------
    str or pandas.Series
        ``"significant rise"``, ``"significant fall"``, ``"within normal variation"``,
        ``"not tested"`` (no p-value), ``"no events"`` or ``"too few events"``.

    Notes
    -----
    A change is called significant only when ``p_value < alpha`` and at least
    ``min_events`` events lie behind it.
    """
    check_probability(alpha, "alpha")
    pct = np.atleast_1d(np.asarray(pct_change, dtype=float))
    pv = np.atleast_1d(np.asarray(p_value, dtype=float))
    pct, pv = np.broadcast_arrays(pct, pv)
    nn = np.full(pct.shape, np.nan) if n is None else np.broadcast_to(np.asarray(n, dtype=float), pct.shape)
    small = ~np.isnan(nn) & (nn < min_events)
    out = np.select(
        [small, np.isnan(pct), np.isnan(pv), (pv < alpha) & (pct > 0), (pv < alpha) & (pct < 0)],
        ["too few events", "no events", "not tested", "significant rise", "significant fall"],
        default="within normal variation").astype(object)
    return _out(out, _is_scalar(pct_change, p_value) and (n is None or np.ndim(n) == 0),
                _index_of(pct_change, p_value, n), "verdict")


def describe_change(pct_change: Any, p_value: Any, n: Any = None, alpha: float = 0.05,
                    min_events: int = 10, adjusted: bool = False) -> Any:
    """Describe a percentage change with its significance, without overclaiming.

    Parameters
    ----------
    pct_change : float or array-like
        Percentage change (e.g. ``pct_change`` from ``trend_year_on_year``).
    p_value : float or array-like
        p-value of the change.
    n : int or array-like, optional
        Events behind the comparison (e.g. current + previous). Below ``min_events`` no
        judgement is made.
    alpha : float, default 0.05
        Significance level.
    min_events : int, default 10
        Fewest events for which a change is described.
    adjusted : bool, default False
        ``p_value`` is adjusted for multiple testing; the text then says "adjusted p".

    Returns
    -------
    str or pandas.Series
        e.g. ``"up 4%, within normal variation (p = 0.41)"``,
        ``"up 23%, statistically significant (p < 0.01)"``,
        ``"too few events to judge a change (n = 7)"``.

    Notes
    -----
    "Within normal variation" means the change is compatible with chance at level
    ``alpha``; it does not say there is no change.
    """
    check_type(adjusted, "adjusted", bool)
    verdict = np.atleast_1d(np.asarray(verdict_change(pct_change, p_value, n, alpha, min_events), dtype=object))
    pct = np.atleast_1d(np.asarray(pct_change, dtype=float))
    pv = np.atleast_1d(np.asarray(p_value, dtype=float))
    pct, pv = np.broadcast_arrays(pct, pv)
    nn = np.full(pct.shape, np.nan) if n is None else np.broadcast_to(np.asarray(n, dtype=float), pct.shape)
    sig = np.where(np.isin(verdict, ["significant rise", "significant fall"]), "statistically significant (",
                   "within normal variation (")
    text = _cat(_pct_words(pct), ", ", sig, "adjusted " if adjusted else "", _p_text(pv), ")")
    # Without a p-value nothing was tested: say so rather than imply "normal variation".
    text = np.where(np.isnan(pv), _cat(_pct_words(pct), " (not tested)"), text)
    text = np.where(np.isnan(pct), "no events in either period", text)
    small = ~np.isnan(nn) & (nn < min_events)
    text = np.where(small, _cat("too few events to judge a change (n = ", _fmt("%d", np.nan_to_num(nn)), ")"), text)
    return _out(text, _is_scalar(pct_change, p_value) and (n is None or np.ndim(n) == 0),
                _index_of(pct_change, p_value, n), "description")


def describe_year_on_year(yoy: pd.DataFrame, alpha: float = 0.05, min_events: int = 10) -> pd.Series:
    """One sentence per row of ``trend_year_on_year`` output.

    Parameters
    ----------
    yoy : pandas.DataFrame
        Output of ``trend_year_on_year`` (``current``, ``previous``, ``current_period``,
        ``pct_change``, ``p_value``).
    alpha : float, default 0.05
        Significance level.
    min_events : int, default 10
        Fewest events (current + previous) for which a change is described.

    Returns
    -------
    pandas.Series
        Named ``description``, e.g.
        ``"412 in 2025-01 to 2025-12 against 335 a year earlier: up 23%, statistically significant (p < 0.01)"``.

    Notes
    -----
    Wording from :func:`describe_change` and :func:`verdict_year_on_year`; the test is
    that of ``trend_year_on_year`` (exact conditional test on counts divided by the
    series' design effect). A ``p_adjusted`` column, where present, is used instead of
    ``p_value`` and the text says "adjusted p".
    """
    check_dataframe(yoy, "yoy", ["current", "previous", "current_period", "pct_change", "p_value"])
    pv, adjusted = _decision_p(yoy)
    change = describe_change(yoy["pct_change"].to_numpy(float), pv,
                             n=(yoy["current"] + yoy["previous"]).to_numpy(float), alpha=alpha,
                             min_events=min_events, adjusted=adjusted)
    text = _cat(_thousands(yoy["current"]), " in ", yoy["current_period"].astype(str).to_numpy(),
                " against ", _thousands(yoy["previous"]), " a year earlier: ", change.to_numpy())
    return pd.Series(text, index=yoy.index, name="description", dtype=object)


def _decision_p(frame: pd.DataFrame) -> tuple[np.ndarray, bool]:
    """The p-values a decision uses: ``p_adjusted`` where the frame has it, else ``p_value``."""
    if "p_adjusted" in frame.columns and frame["p_adjusted"].notna().any():
        return frame["p_adjusted"].to_numpy(float), True
    return frame["p_value"].to_numpy(float), False


def verdict_year_on_year(yoy: pd.DataFrame, alpha: float = 0.05, min_events: int = 10) -> pd.Series:
    """The decision behind :func:`describe_year_on_year`, one per row.

    Parameters
    ----------
    yoy : pandas.DataFrame
        Output of ``trend_year_on_year`` (optionally with ``p_adjusted``).
    alpha, min_events
        As for :func:`describe_year_on_year`.

    Returns
    -------
    pandas.Series
        Named ``verdict``: the values of :func:`verdict_change`.

    Notes
    -----
    Uses ``p_adjusted`` where present (a family of comparisons), else ``p_value``.
    """
    check_dataframe(yoy, "yoy", ["current", "previous", "pct_change", "p_value"])
    pv, _ = _decision_p(yoy)
    out = verdict_change(yoy["pct_change"].to_numpy(float), pv, n=(yoy["current"] + yoy["previous"]).to_numpy(float),
                         alpha=alpha, min_events=min_events)
    return pd.Series(np.asarray(out, dtype=object), index=yoy.index, name="verdict", dtype=object)


def _thousands(values: Any) -> np.ndarray:
    """Whole counts with thousands separators ("5,046"), vectorised."""
    return pd.Series(np.asarray(values, dtype=float)).round().astype("Int64").map("{:,}".format).to_numpy(dtype=object)


def _signed_pct(x: float) -> str:
    return f"{x:+.0f}%"


def describe_break(month: str, step_pct: float, label: str | None = None, p_value: float | None = None,
                   alpha: float = 0.05, empty_side: str | None = None) -> str:
    """Describe a series break as a step, never as a trend.

    Parameters
    ----------
    month : str
        First month under the new rule (``YYYY-MM``).
    step_pct : float
        Estimated % step in level at the break (``trend_glm`` step row).
    label : str, optional
        What changed (e.g. "counting rule change").
    p_value : float, optional
        p-value of the step.
    alpha : float, default 0.05
        Significance level.
    empty_side : str, optional
        ``trend_glm``'s ``empty_side`` of the step: ``"both"`` (or a NaN ``step_pct``) says
        nothing was recorded on either side.

    Returns
    -------
    str
        e.g. ``"a series break in 2024-04 (counting rule change) accounts for a step of
        +41%; it is not a trend"``; when the step is not significant,
        ``"a series break in 2024-04 (...) shows no clear step (+5%, within normal
        variation, p = 0.62); it is not counted as a trend"``. A step from or to a stretch
        with nothing recorded (``step_pct`` infinite or -100, as ``trend_glm`` gives it) is said
        to have no size as a percentage, with its likelihood-ratio p-value.

    Notes
    -----
    Matches the segmented-regression model of ``trend_glm``, where the step is
    estimated separately from the slope.
    """
    check_type(month, "month", str)
    check_probability(alpha, "alpha")
    what = f"a series break in {month}" + (f" ({label})" if label else "")
    step = float(step_pct) if step_pct is not None else np.nan
    if empty_side == "both" or np.isnan(step):
        return f"{what}: nothing was recorded on either side of it, so there is no step to test; it is not a trend"
    if np.isposinf(step) or step <= -100:  # nothing recorded on one side (trend_glm's empty_side)
        side = "before it" if np.isposinf(step) else "from it on"
        if p_value is None or not np.isfinite(float(p_value)):
            return f"{what}: nothing was recorded {side} (not tested); it is not a trend"
        if p_value < alpha:
            size = ("so the step up is too large to put as a percentage" if np.isposinf(step)
                    else "a fall of 100%")
            return f"{what}: nothing was recorded {side}, {size} ({describe_p(p_value)}); it is not a trend"
        return (f"{what}: nothing was recorded {side}, but so few are recorded at all that a stretch of none is "
                f"within normal variation ({describe_p(p_value)}); it is not counted as a trend")
    if p_value is None:
        return f"{what} comes with an estimated step of {_signed_pct(step_pct)} (not tested); it is not a trend"
    if p_value < alpha:
        return f"{what} accounts for a step of {_signed_pct(step_pct)} ({describe_p(p_value)}); it is not a trend"
    return (f"{what} shows no clear step ({_signed_pct(step_pct)}, within normal variation, "
            f"{describe_p(p_value)}); it is not counted as a trend")


def describe_trend(glm: pd.DataFrame, breaks: pd.DataFrame | None = None, alpha: float = 0.05,
                   min_events: int = 20) -> str:
    """Describe the output of ``trend_glm`` in one sentence (plus one clause per break).

    Parameters
    ----------
    glm : pandas.DataFrame
        Output of ``trend_glm`` (a ``trend`` row, then ``step`` rows).
    breaks : pandas.DataFrame, optional
        Output of ``trend_breaks``, used for the break labels.
    alpha : float, default 0.05
        Significance level; must match the one used for the intervals in ``glm``.
    min_events : int, default 20
        Fewest events in the series for which a trend is described.

    Returns
    -------
    str
        e.g. ``"falling by about 15% a year (95% CI 9% to 20%), statistically
        significant (p < 0.001), allowing for season; a series break in 2024-04
        (counting rule change) accounts for a step of +41% (p < 0.001); it is not a trend"``
        or ``"no clear trend (+2% a year, 95% CI -6% to +10%), within normal variation
        (p = 0.61), allowing for season"``.

    Notes
    -----
    The annual % change is ``100 (exp(b) - 1)`` from the log-linear model; the
    wording calls it a trend only when :func:`verdict_trend` says so (p-value, or the
    ``p_adjusted`` column where present, below ``alpha``).
    """
    verdict = verdict_trend(glm, alpha, min_events)
    t = glm[glm["term"] == "trend"].iloc[0]
    unestimated = not np.isfinite(float(t["estimate_pct"]))  # too few recorded months (trend_glm)
    if verdict == "too few events" and not unestimated:
        return f"too few events to judge a trend (n = {int(t['total'])})"
    p, adjusted = _decision_p(glm[glm["term"] == "trend"])
    p_txt = ("adjusted " if adjusted else "") + describe_p(float(p[0]))
    level = f"{100 * (1 - alpha):g}% CI"
    if unestimated:
        text = "too few months with anything recorded to judge a trend"
    elif verdict in ("rising", "falling"):
        lo, hi = sorted([abs(t["ci_low"]), abs(t["ci_high"])])
        text = (f"{verdict} by about {abs(t['estimate_pct']):.0f}% a year ({level} {lo:.0f}% to {hi:.0f}%), "
                f"statistically significant ({p_txt})")
    else:
        text = (f"no clear trend ({_signed_pct(t['estimate_pct'])} a year, {level} {_signed_pct(t['ci_low'])} "
                f"to {_signed_pct(t['ci_high'])}), within normal variation ({p_txt})")
    steps = glm[glm["term"] == "step"]
    allowing = []
    if "seasonal" in glm.columns and bool(t["seasonal"]):
        allowing.append("season")
    if len(steps):
        allowing.append("the series break" + ("s" if len(steps) > 1 else ""))
    if allowing and not unestimated:
        text += ", allowing for " + " and ".join(allowing)
    labels = {}
    if breaks is not None:
        check_dataframe(breaks, "breaks", ["month", "label"])
        labels = dict(zip(breaks["month"].astype(str), breaks["label"].astype(str)))
    sides = steps["empty_side"] if "empty_side" in steps.columns else pd.Series("", index=steps.index)
    clauses = [describe_break(m, pct, labels.get(m), p, alpha, side)
               for m, pct, p, side in zip(steps["month"], steps["estimate_pct"], steps["p_value"], sides)]
    return "; ".join([text, *clauses])


def verdict_trend(glm: pd.DataFrame, alpha: float = 0.05, min_events: int = 20) -> str:
    """The decision behind :func:`describe_trend`.

    Parameters
    ----------
    glm : pandas.DataFrame
        Output of ``trend_glm`` (optionally with ``p_adjusted``).
    alpha, min_events
        As for :func:`describe_trend`.

    Returns
    -------
    str
        ``"rising"``, ``"falling"``, ``"no clear trend"`` or ``"too few events"``.

    Notes
    -----
    A trend is called only when the trend row's p-value (``p_adjusted`` where present)
    is below ``alpha`` and the series holds at least ``min_events`` events.
    """
    check_dataframe(glm, "glm", ["term", "month", "estimate_pct", "ci_low", "ci_high", "p_value", "total"])
    check_probability(alpha, "alpha")
    tr = glm[glm["term"] == "trend"]
    if len(tr) != 1:
        raise ValueError(f"`glm` must have exactly one 'trend' row, got {len(tr)}")
    if int(tr["total"].iloc[0]) < min_events or not np.isfinite(float(tr["estimate_pct"].iloc[0])):
        return "too few events"  # or too few recorded months to estimate a trend (NaN from trend_glm)
    p = float(_decision_p(tr)[0][0])
    if p < alpha:
        return "rising" if tr["estimate_pct"].iloc[0] > 0 else "falling"
    return "no clear trend"


def verdict_trend_family(trends: pd.DataFrame, alpha: float = 0.05) -> pd.Series:
    """The decision behind a document's "these crime types are rising / falling": one per member.

    Parameters
    ----------
    trends : pandas.DataFrame
        One row per member of the family tested together (every crime type of the
        partnership, as in ``evidence_category_trends``), with ``trend_pct`` (the
        ``trend_glm`` estimate, % a year) and ``trend_p`` (its unadjusted p-value; NaN where
        no trend was estimated).
    alpha : float, default 0.05
        False discovery rate at which a trend is named.

    Returns
    -------
    pandas.Series
        ``"rising"``, ``"falling"``, ``"no clear trend"`` or ``"not tested"`` (no p-value),
        indexed like ``trends`` and named ``"verdict"``.

    Notes
    -----
    The p-values are adjusted across all the rows for the false discovery rate
    (Benjamini-Hochberg, ``trends.trend_fdr``; untested rows are left out of the family), and
    a member is named rising or falling, by the sign of its estimate, when its adjusted
    p-value is below ``alpha``. Members that are in the family but not named by a document
    (anti-social behaviour in a list of crime types) still count in the adjustment: select
    the rows to name after calling this. ``assessment.calibration.key_findings`` measures how
    often a whole document names at least one member with no trend at all.
    """
    from assessment.analysis.trends import trend_fdr  # trends does not import this module

    check_dataframe(trends, "trends", ["trend_pct", "trend_p"])
    check_probability(alpha, "alpha")
    q = trend_fdr(trends["trend_p"].to_numpy(dtype=float))
    pct = trends["trend_pct"].to_numpy(dtype=float)
    sig = q < alpha
    out = np.select([np.isnan(q), sig & (pct > 0), sig & (pct < 0)], ["not tested", "rising", "falling"],
                    default="no clear trend")
    return pd.Series(out.astype(object), index=trends.index, name="verdict", dtype=object)


def verdict_change_family(changes: pd.DataFrame, alpha: float = 0.05) -> pd.Series:
    """The decision behind "crime rose significantly in N wards and fell significantly in M".

    Parameters
    ----------
    changes : pandas.DataFrame
        One row per member of the family tested together (every ward of the partnership),
        with ``pct_change`` (``trends.trend_rate_ratio``'s estimate, %) and ``p_value`` (its
        unadjusted exact p-value; NaN where untested).
    alpha : float, default 0.05
        False discovery rate at which a change is named.

    Returns
    -------
    pandas.Series
        ``"rose"``, ``"fell"``, ``"no significant change"`` or ``"not tested"``, indexed like
        ``changes`` and named ``"verdict"``.

    Notes
    -----
    As :func:`verdict_trend_family`: p-values adjusted across the family for the false
    discovery rate (Benjamini-Hochberg, ``trends.trend_fdr``), a member named by the sign of
    its change when its adjusted p-value is below ``alpha``. ``assessment.calibration.wards``
    measures how often a document names a ward whose expected count did not change.
    """
    check_dataframe(changes, "changes", ["pct_change", "p_value"])
    verdict = verdict_trend_family(pd.DataFrame({"trend_pct": changes["pct_change"].to_numpy(dtype=float),
                                                 "trend_p": changes["p_value"].to_numpy(dtype=float)},
                                                index=changes.index), alpha=alpha)
    out = verdict.map({"rising": "rose", "falling": "fell", "no clear trend": "no significant change",
                       "not tested": "not tested"})
    return out.astype(object).rename("verdict")


def verdict_seasonality(season: pd.DataFrame, alpha: float = 0.05) -> str:
    """The decision behind :func:`describe_seasonality`.

    Parameters
    ----------
    season : pandas.DataFrame
        One-row output of ``trend_seasonality`` (optionally with ``p_adjusted``).
    alpha : float, default 0.05
        Significance level.

    Returns
    -------
    str
        ``"clear seasonal pattern"``, ``"no clear seasonal pattern"`` or ``"not tested"``
        (no p-value).

    Notes
    -----
    Uses the test of all month effects (``p_adjusted`` where present).
    """
    check_dataframe(season, "season", ["p_value"])
    check_probability(alpha, "alpha")
    p = float(_decision_p(season.iloc[:1])[0][0])
    if np.isnan(p):
        return "not tested"
    return "clear seasonal pattern" if p < alpha else "no clear seasonal pattern"


def describe_seasonality(season: pd.DataFrame, alpha: float = 0.05, summer_name: str = "summer",
                         winter_name: str = "winter") -> str:
    """Describe the output of ``trend_seasonality``.

    Parameters
    ----------
    season : pandas.DataFrame
        One-row output of ``trend_seasonality``.
    alpha : float, default 0.05
        Significance level.
    summer_name, winter_name : str
        Names of the compared month groups.

    Returns
    -------
    str
        e.g. ``"a clear seasonal pattern (p < 0.001): summer months run at 1.5 times the
        winter level (95% CI 1.3 to 1.7), peaking in July"`` or
        ``"no clear seasonal pattern (p = 0.44)"``.

    Notes
    -----
    The overall statement uses the likelihood-ratio test of all month effects; the
    summer/winter ratio is reported as significant only if its own p-value is below ``alpha``.
    """
    check_dataframe(season, "season", ["p_value", "summer_winter_ratio", "ci_low", "ci_high",
                                       "summer_winter_p", "peak_month"])
    verdict = verdict_seasonality(season, alpha)
    s = season.iloc[0]
    p, adjusted = _decision_p(season.iloc[:1])
    p_txt = ("adjusted " if adjusted else "") + describe_p(float(p[0]))
    if verdict != "clear seasonal pattern":
        return f"no clear seasonal pattern ({p_txt})"
    text = f"a clear seasonal pattern ({p_txt})"
    level = f"{100 * (1 - alpha):g}% CI"
    if s["summer_winter_p"] < alpha:
        text += (f": {summer_name} months run at {s['summer_winter_ratio']:.2g} times the {winter_name} level "
                 f"({level} {s['ci_low']:.2g} to {s['ci_high']:.2g})")
    else:
        text += f": no clear {summer_name}-{winter_name} difference ({describe_p(s['summer_winter_p'])})"
    return text + f", peaking in {calendar.month_name[int(s['peak_month'])]}"


def describe_exceptions(exceptions: pd.DataFrame, level: float = 0.998) -> str:
    """Describe the months flagged by ``trend_exceptions``.

    Parameters
    ----------
    exceptions : pandas.DataFrame
        Output of ``trend_exceptions``.
    level : float, default 0.998
        The limits' coverage (for the wording only).

    Returns
    -------
    str
        e.g. ``"no month was outside the 99.8% control limits"`` or
        ``"2 exceptional months outside the 99.8% control limits: 2024-07 (high: 85
        against 52 expected), 2025-02 (low: 12 against 30 expected)"``.

    Notes
    -----
    The expected levels already allow for season, trend and breaks.
    """
    check_dataframe(exceptions, "exceptions", ["month", "observed", "expected", "flag"])
    check_probability(level, "level")
    lv = f"{100 * level:g}%"
    ex = exceptions[exceptions["flag"] != ""]
    if ex.empty:
        return f"no month was outside the {lv} control limits"
    items = _cat(ex["month"].astype(str).to_numpy(), " (", ex["flag"].astype(str).to_numpy(), ": ",
                 _fmt("%d", ex["observed"].to_numpy(float)), " against ", _fmt("%.0f", ex["expected"].to_numpy(float)),
                 " expected)")
    noun = "month" if len(ex) == 1 else "months"
    return f"{len(ex)} exceptional {noun} outside the {lv} control limits: " + ", ".join(items)


def describe_comparison(labels: Any, benchmark_name: str = "the benchmark") -> Any:
    """Turn ``rate_significance`` labels into phrases.

    Parameters
    ----------
    labels : str or array-like of str
        ``"higher"``, ``"similar"``, ``"lower"`` or ``"not compared"``.
    benchmark_name : str
        e.g. ``"the partnership"``, ``"England"``.

    Returns
    -------
    str or pandas.Series
        ``"significantly higher than the partnership"``, ``"similar to the partnership"``
        (not significantly different), ``"significantly lower than ..."`` or
        ``"not compared (no interval)"``.

    Notes
    -----
    Fingertips wording; "similar" means the interval includes the benchmark.
    """
    check_type(benchmark_name, "benchmark_name", str)
    arr = np.atleast_1d(np.asarray(labels, dtype=object))
    for v in pd.unique(arr):
        check_choice(v, "labels", ["higher", "similar", "lower", "not compared"])
    text = np.select([arr == "higher", arr == "lower", arr == "similar"],
                     [f"significantly higher than {benchmark_name}", f"significantly lower than {benchmark_name}",
                      f"similar to {benchmark_name}"], default="not compared (no interval)")
    return _out(text, _is_scalar(labels), _index_of(labels), "comparison")


def describe_peer_position(name: str, rate: float, rank: int, n_peers: int, group_mean: float, band_low: float,
                           band_high: float, position: str, rate_label: str = "per 1,000 population",
                           z: float = 1.96) -> str:
    """Describe a partnership's place in its most-similar group.

    Parameters
    ----------
    name : str
        Partnership name.
    rate, group_mean, band_low, band_high : float
        Its rate, the group mean and the group band.
    rank, n_peers : int
        Rank (1 = highest) and group size.
    position : {"above", "within", "below"}
        Position relative to the band.
    rate_label : str
        Units.
    z : float
        Band width in SDs (for the wording).

    Returns
    -------
    str
        e.g. ``"The partnership's rate of 12.3 per 1,000 population is the 3rd highest of 15 in
        its most similar group (group mean 10.1; usual range 6.0 to 14.2, mean ± 1.96 SD).
        It is within the group's usual range."``

    Notes
    -----
    "Usual range" is descriptive (see ``rate_peer_position``), not a significance test.
    """
    check_choice(position, "position", ["above", "within", "below"])
    from ..reporting.prose import rank_words

    rank_txt = rank_words(int(rank), int(n_peers))
    where = {"above": "above the group's usual range", "below": "below the group's usual range",
             "within": "within the group's usual range"}[position]
    return (f"{name}'s rate of {rate:.1f} {rate_label} is {rank_txt} of {n_peers} in its most similar group "
            f"(group mean {group_mean:.1f}; usual range {max(band_low, 0):.1f} to {band_high:.1f}, "
            f"mean ± {z:g} SD). It is {where}.")
