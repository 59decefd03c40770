"""Cohort design for evaluating multi-agency violence panels, on pseudonymised violence nominals.

The ``cohort_*`` family builds cohorts of people who meet a panel's eligibility rule,
measures how often they are involved in violence afterwards, and compares the panel's
cohort with the cohorts the same rule would have selected in earlier years and with the
rest of the area in the same year.

**Only aggregates leave this module.** Person identifiers are used inside the functions
and never appear in any returned frame.

Input: violence nominals
------------------------
One row per person per incident, pseudonymised at intake:

- ``person_id``: pseudonymised person key (any hashable, non-missing);
- ``role``: ``'victim'`` or ``'offender'``;
- ``crime_ref``: the incident's reference (shared by everyone involved);
- ``incident_date``: ``datetime64``;
- ``ward_code``: ward of the incident.

Definitions (documented choices)
--------------------------------
- **Qualifying incidents** for eligibility are incidents in the named wards (either role).
  A person involved in one ``crime_ref`` twice (e.g. recorded as victim and offender)
  counts it once.
- **Eligibility**: a person becomes eligible on the date of an incident that follows
  another of their qualifying incidents by at most ``window_days`` (365) days, i.e. the
  date of the second of two qualifying incidents within 365 days. The **cohort year** is
  the calendar year of that date. The rule is applied afresh in each year (a person can
  belong to the cohorts of several years, as they could be referred to a panel in each),
  and within a year the earliest such date is the eligibility date. With
  ``first_only=True`` each person keeps only their first ever eligibility.
- **Subsequent incidents** are the person's incidents (any ward, any role) strictly after
  the eligibility date and no later than the follow-up end. Within a cohort, each
  ``crime_ref`` is counted **once** however many cohort members it involves.
- **Days at risk** run from the eligibility date to the follow-up end
  ``min(eligibility + follow_up_days, period_end)``. The default fixed follow-up of 365
  days makes cohorts of different years comparable; ``follow_up_days=None`` runs every
  person to ``period_end`` (so earlier cohorts get longer follow-up: use with care).
  People whose fixed follow-up is cut short by ``period_end`` are counted in
  ``n_follow_up_truncated`` and a warning is issued.
- **Rest of the area** are people who meet the same rule on incidents outside the named
  wards in the same year, excluding anyone already in that year's panel cohort.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from assessment.analysis.evaluation import evaluate_mde, evaluate_power
from assessment.checks import check_dataframe, check_positive, check_probability, check_type

__all__ = ["cohort_summary", "cohort_comparison", "cohort_comparable", "NOMINAL_COLUMNS", "SUMMARY_COLUMNS"]

NOMINAL_COLUMNS = ("person_id", "role", "crime_ref", "incident_date", "ward_code")
SUMMARY_COLUMNS = (
    "cohort", "group", "cohort_year", "n_people", "n_subsequent_incidents", "days_at_risk",
    "rate_per_1000_days", "ci_lower", "ci_upper", "n_follow_up_truncated", "dispersion", "dispersion_df",
)
#: The columns :func:`cohort_comparison` needs (``dispersion`` and ``dispersion_df`` are optional there).
_COMPARISON_NEEDS = SUMMARY_COLUMNS[:-2]


# --------------------------------------------------------------------------------------
# validation and the private, person-level machinery (never returned)
# --------------------------------------------------------------------------------------
def _check_nominals(nominals: pd.DataFrame, where: str) -> pd.DataFrame:
    check_dataframe(nominals, "nominals", NOMINAL_COLUMNS, where)
    if not pd.api.types.is_datetime64_any_dtype(nominals["incident_date"]):
        raise TypeError(
            f"`incident_date` must be datetime64, got dtype {nominals['incident_date'].dtype} in {where}; "
            "hint: pd.to_datetime(nominals['incident_date'], format='%Y-%m-%d')"
        )
    for col in ("person_id", "crime_ref", "incident_date"):
        missing = nominals[col].isna().to_numpy()
        if missing.any():
            first = nominals.index[missing][0]
            raise ValueError(f"`{col}` must not be missing, got a missing value at row {first} in {where}")
    role = nominals["role"].astype("string").str.lower()
    bad = ~role.isin(["victim", "offender"]).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        first = nominals.index[bad][0]
        raise ValueError(
            f"`role` must be 'victim' or 'offender', got {nominals['role'].loc[first]!r} at row {first} in {where}"
        )
    frame = nominals.loc[:, ["person_id", "crime_ref", "incident_date", "ward_code"]].copy()
    frame["incident_date"] = frame["incident_date"].dt.normalize()
    return frame


def _check_wards(wards) -> list:
    if isinstance(wards, str) or not isinstance(wards, Iterable):
        raise TypeError(f"`wards` must be a list of ward codes, got {type(wards).__name__}")
    wards = list(wards)
    if not wards:
        raise ValueError("`wards` must name at least one ward, got an empty list")
    return wards


def _person_incidents(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (person, crime_ref), earliest date kept, sorted by person and date."""
    out = frame.sort_values(["person_id", "incident_date", "crime_ref"], kind="mergesort")
    out = out.drop_duplicates(["person_id", "crime_ref"], keep="first")
    return out.reset_index(drop=True)


def _eligibility(incidents: pd.DataFrame, window_days: int, first_only: bool) -> pd.DataFrame:
    """Person, cohort_year, eligibility_date for the qualifying incidents given (vectorised)."""
    prev = incidents.groupby("person_id", sort=False)["incident_date"].shift(1)
    gap = (incidents["incident_date"] - prev).dt.days
    qualifying = incidents.loc[gap.le(window_days).to_numpy(dtype=bool), ["person_id", "incident_date"]]
    qualifying = qualifying.assign(cohort_year=qualifying["incident_date"].dt.year)
    elig = (qualifying.groupby(["person_id", "cohort_year"], sort=False)["incident_date"].min()
            .rename("eligibility_date").reset_index())
    if first_only:
        elig = elig.sort_values("eligibility_date", kind="mergesort").drop_duplicates("person_id")
    return elig


def _follow_up(members: pd.DataFrame, incidents: pd.DataFrame, follow_up_days: int | None,
               period_end: pd.Timestamp) -> pd.DataFrame:
    """Aggregate subsequent incidents and days at risk per cohort key (``group``, ``cohort_year``)."""
    members = members.loc[members["eligibility_date"] <= period_end].copy()
    if follow_up_days is None:
        end = pd.Series(period_end, index=members.index)
        truncated = np.zeros(len(members), dtype=bool)
    else:
        fixed = members["eligibility_date"] + pd.Timedelta(days=follow_up_days)
        end = fixed.where(fixed <= period_end, period_end)
        truncated = (fixed > period_end).to_numpy()
    members["end"] = end
    members["days"] = (end - members["eligibility_date"]).dt.days.astype(float)
    members["truncated"] = truncated
    keys = ["group", "cohort_year"]
    people = members.groupby(keys).agg(n_people=("person_id", "size"), days_at_risk=("days", "sum"),
                                       n_follow_up_truncated=("truncated", "sum"))
    later = members[keys + ["person_id", "eligibility_date", "end"]].merge(
        incidents[["person_id", "crime_ref", "incident_date"]], on="person_id", how="inner")
    inside = (later["incident_date"] > later["eligibility_date"]) & (later["incident_date"] <= later["end"])
    kept = later.loc[inside.to_numpy()]
    events = kept.groupby(keys)["crime_ref"].nunique().rename("n_subsequent_incidents")
    out = people.join(events, how="left").join(_person_dispersion(members, kept, keys), how="left").reset_index()
    out["n_subsequent_incidents"] = out["n_subsequent_incidents"].fillna(0).astype(int)
    out["n_people"] = out["n_people"].astype(int)
    out["n_follow_up_truncated"] = out["n_follow_up_truncated"].astype(int)
    return out


def _person_dispersion(members: pd.DataFrame, kept: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Design effect of each cohort's count of later incidents, from its members' counts.

    Each member's count ``y`` is compared with ``r d`` (the cohort's rate times their days at
    risk); over the ``n`` members with days at risk the design effect of the cohort's total is
    ``n / (n - 1) * sum (y - r d)^2 / sum r d``: the variance of the cohort's rate as a ratio
    estimator over its members (each member a cluster of incidents) against the Poisson
    variance. Returns ``dispersion`` (that design effect, never below 1; 1 when it cannot be
    estimated) and ``dispersion_df`` (``n - 1``).
    """
    per = kept.groupby([*keys, "person_id"])["crime_ref"].nunique().rename("y")
    m = members[[*keys, "person_id", "days"]].merge(per.reset_index(), on=[*keys, "person_id"], how="left")
    m["y"] = m["y"].fillna(0).astype(float)
    m = m[m["days"] > 0]
    totals = m.groupby(keys)[["y", "days"]].transform("sum")
    m["mu"] = m["days"] * totals["y"] / totals["days"]
    m["r2"] = (m["y"] - m["mu"]) ** 2
    g = m.groupby(keys).agg(r2=("r2", "sum"), mu=("mu", "sum"), n=("r2", "size"))
    df = (g["n"] - 1).clip(lower=0)
    ok = (df > 0) & (g["mu"] > 0)
    ratio = g["r2"] / g["mu"].where(ok, 1.0) * g["n"] / df.where(ok, 1)
    disp = np.where(ok, np.maximum(ratio, 1.0), 1.0)
    return pd.DataFrame({"dispersion": disp, "dispersion_df": df.where(ok, 0).astype(int)}, index=g.index)


def _poisson_rate_ci(events: np.ndarray, days: np.ndarray, confidence: float):
    """Exact (Garwood 1936) Poisson interval of the rate per 1,000 days, vectorised."""
    a = 1 - confidence
    events = np.asarray(events, dtype=float)
    lower = np.where(events > 0, stats.chi2.ppf(a / 2, 2 * events) / 2, 0.0)
    upper = stats.chi2.ppf(1 - a / 2, 2 * (events + 1)) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(days > 0, 1000.0 / days, np.nan)
    return events * scale, lower * scale, upper * scale


# --------------------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------------------
def cohort_summary(nominals: pd.DataFrame, wards: Sequence[str], cohort_year: int, *,
                   period_end, earlier_years: Sequence[int] | None = None,
                   follow_up_days: int | None = 365, window_days: int = 365,
                   first_only: bool = False, confidence: float = 0.95) -> pd.DataFrame:
    """Subsequent-occurrence rates of the panel cohort, its historical cohorts and the rest of the area.

    Parameters
    ----------
    nominals : pandas.DataFrame
        Pseudonymised violence nominals (module docstring): ``person_id``, ``role``,
        ``crime_ref``, ``incident_date`` (datetime64), ``ward_code``.
    wards : sequence of str
        The panel's named wards; only incidents there count towards eligibility.
    cohort_year : int
        The year whose eligible people form the panel cohort.
    period_end : str or datetime-like
        Last date of the study period (inclusive); follow-up never runs past it.
    earlier_years : sequence of int, optional
        Years whose cohorts (built by the same rule in the named wards) form the historical
        comparison. Default: every year before ``cohort_year`` whose whole eligibility
        look-back (``window_days`` before 1 January) lies within the data.
    follow_up_days : int or None, default 365
        Fixed follow-up per person (the same for every cohort, so they compare fairly).
        ``None`` follows everyone to ``period_end``.
    window_days : int, default 365
        Maximum gap in days between the two qualifying incidents.
    first_only : bool, default False
        Keep only each person's first ever eligibility (otherwise the rule is applied
        afresh each year; see module docstring).
    confidence : float, default 0.95
        Level of the exact Poisson interval.

    Returns
    -------
    pandas.DataFrame
        One row per cohort (panel cohort first, then historical cohorts by year, then the
        rest of the area), with columns:

        - ``cohort``: label, e.g. ``'panel wards 2024'``, ``'rest of area 2024'``;
        - ``group``: ``'panel'``, ``'historical'`` or ``'rest_of_area'``;
        - ``cohort_year``: year of eligibility;
        - ``n_people``: people in the cohort;
        - ``n_subsequent_incidents``: distinct later incidents (each ``crime_ref`` once);
        - ``days_at_risk``: total person-days of follow-up;
        - ``rate_per_1000_days``: ``1000 * n_subsequent_incidents / days_at_risk``;
        - ``ci_lower``, ``ci_upper``: exact Poisson interval of that rate;
        - ``n_follow_up_truncated``: people whose fixed follow-up was cut short by
          ``period_end``;
        - ``dispersion`` (float, at least 1) and ``dispersion_df`` (int): the design effect
          of the cohort's count, from the spread of the members' later incidents around the
          cohort's rate (each member's count against the cohort rate times their days at risk:
          ``n / (n - 1) * sum (y - r d)^2 / sum r d`` over ``n`` members, on ``n - 1`` degrees
          of freedom; 1 and 0 when it cannot be estimated), which :func:`cohort_comparison`
          allows for.

        No person identifier appears in the frame.

    Notes
    -----
    Cohort (retrospective) design with person-time denominators: the incidence rate per
    person-time at risk (Rothman, Greenland & Lash 2008, *Modern Epidemiology*, 3rd ed.,
    ch. 3). The interval is the exact Poisson interval from the chi-squared quantiles
    (Garwood 1936, *Biometrika* 28:437-442; Ulm 1990, *Am J Epidemiol* 131:373-375).
    Eligibility is computed without per-row loops: incidents are sorted by person and
    date, the previous date is taken with a grouped ``shift`` and the gap compared with
    ``window_days``. Counting each ``crime_ref`` once per cohort means a cohort's count is
    not the sum of its members' counts when members share incidents. Because people's
    incidents cluster (a few members carry most of them), the Poisson interval of a
    cohort's rate is too narrow; treat it as a lower bound on uncertainty. ``dispersion``
    measures that clustering and :func:`cohort_comparison` allows for it: it is the design
    effect of a rate estimated from clusters (here people, each a cluster of incidents), the
    variance of the ratio estimator over the members (Cochran 1977, *Sampling Techniques*)
    against the Poisson variance, as Rao & Scott (1992, *Biometrics* 48, 577-585) define it for
    clustered data. It is not the Pearson chi-square / df of a quasi-Poisson model (Wedderburn
    1974): that one assumes each member's variance proportional to their mean, which fails for
    people with different rates followed for different times; it then understates the variance
    of the total (on the calibration's nominals a design effect of about 1.36 against 1.55).
    """
    where = "cohort_summary nominals"
    frame = _check_nominals(nominals, where)
    wards = _check_wards(wards)
    check_type(cohort_year, "cohort_year", int)
    check_type(window_days, "window_days", int)
    check_positive(window_days, "window_days")
    check_type(first_only, "first_only", bool)
    check_probability(confidence, "confidence")
    if follow_up_days is not None:
        check_type(follow_up_days, "follow_up_days", int)
        check_positive(follow_up_days, "follow_up_days")
    try:
        period_end = pd.Timestamp(period_end).normalize()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"`period_end` must be a date, got {period_end!r}") from exc
    if frame.empty:
        raise ValueError(f"`nominals` must have rows, got an empty frame in {where}")
    first_date = frame["incident_date"].min()
    if earlier_years is None:
        earlier_years = [y for y in range(first_date.year, cohort_year)
                         if pd.Timestamp(y, 1, 1) - pd.Timedelta(days=window_days) >= first_date]
    else:
        if isinstance(earlier_years, (str, bytes)) or not isinstance(earlier_years, Iterable):
            raise TypeError(f"`earlier_years` must be a list of years, got {type(earlier_years).__name__}")
        earlier_years = [int(y) for y in earlier_years]
        if any(y >= cohort_year for y in earlier_years):
            raise ValueError(f"`earlier_years` must all be before {cohort_year}, got {earlier_years}")
        short = [y for y in earlier_years
                 if pd.Timestamp(y, 1, 1) - pd.Timedelta(days=window_days) < first_date]
        if short:
            warnings.warn(f"the data start on {first_date.date()}, so the eligibility look-back of "
                          f"cohort year(s) {short} is incomplete and those cohorts are undercounted",
                          stacklevel=2)

    incidents = _person_incidents(frame)
    in_wards = incidents["ward_code"].isin(wards).to_numpy()
    panel_elig = _eligibility(incidents.loc[in_wards], window_days, first_only)
    rest_elig = _eligibility(incidents.loc[~in_wards], window_days, first_only)
    panel_elig = panel_elig.loc[panel_elig["cohort_year"].isin([cohort_year, *earlier_years])]
    panel_now = panel_elig.loc[panel_elig["cohort_year"] == cohort_year, "person_id"]
    rest_elig = rest_elig.loc[(rest_elig["cohort_year"] == cohort_year)
                              & ~rest_elig["person_id"].isin(panel_now)]
    panel_elig = panel_elig.assign(group=np.where(panel_elig["cohort_year"] == cohort_year,
                                                  "panel", "historical"))
    members = pd.concat([panel_elig, rest_elig.assign(group="rest_of_area")], ignore_index=True)

    wanted = pd.DataFrame(
        [("panel", cohort_year)] + [("historical", y) for y in sorted(earlier_years)]
        + [("rest_of_area", cohort_year)], columns=["group", "cohort_year"])
    agg = _follow_up(members, incidents, follow_up_days, period_end) if len(members) else None
    if agg is None:
        out = wanted.assign(n_people=0, days_at_risk=0.0, n_follow_up_truncated=0, n_subsequent_incidents=0)
    else:
        out = wanted.merge(agg, on=["group", "cohort_year"], how="left")
        out[["n_people", "n_follow_up_truncated", "n_subsequent_incidents"]] = (
            out[["n_people", "n_follow_up_truncated", "n_subsequent_incidents"]].fillna(0).astype(int))
        out["days_at_risk"] = out["days_at_risk"].fillna(0.0)
    rate, lo, hi = _poisson_rate_ci(out["n_subsequent_incidents"].to_numpy(), out["days_at_risk"].to_numpy(),
                                    confidence)
    out["rate_per_1000_days"], out["ci_lower"], out["ci_upper"] = rate, lo, hi
    label = np.where(out["group"] == "rest_of_area", "rest of area ", "panel wards ")
    out["cohort"] = label + out["cohort_year"].astype(str)
    if follow_up_days is not None and out["n_follow_up_truncated"].sum() > 0:
        warnings.warn(
            f"{int(out['n_follow_up_truncated'].sum())} people's {follow_up_days}-day follow-up is cut short by "
            f"period_end {period_end.date()}; rates remain per day at risk but later cohorts are followed for less",
            stacklevel=2,
        )
    if "dispersion" not in out.columns:
        out = out.assign(dispersion=1.0, dispersion_df=0)
    out["dispersion"] = out["dispersion"].fillna(1.0).astype(float)
    out["dispersion_df"] = out["dispersion_df"].fillna(0).astype(int)
    return out.loc[:, list(SUMMARY_COLUMNS)].reset_index(drop=True)


def _exact_rate_ratio(a: int, e1: float, b: int, e0: float, confidence: float):
    """Rate ratio (a/e1)/(b/e0) with the exact conditional (binomial) interval and p-value."""
    n = a + b
    if n == 0 or e1 <= 0 or e0 <= 0:
        return np.nan, np.nan, np.nan, np.nan
    p0 = e1 / (e1 + e0)
    test = stats.binomtest(a, n, p0)
    ci = test.proportion_ci(confidence_level=confidence, method="exact")
    odds = lambda p: p / (1 - p) * (e0 / e1) if p < 1 else np.inf  # noqa: E731
    rr = (a / e1) / (b / e0) if b > 0 else np.inf
    return rr, odds(ci.low), odds(ci.high), float(np.clip(test.pvalue, 0.0, 1.0))


def cohort_comparison(summary: pd.DataFrame, *, alpha: float = 0.05, power: float = 0.8,
                      target_rate_ratio: float = 0.8, dispersion: float = 1.0,
                      design_effect: bool = True) -> pd.DataFrame:
    """Rate ratios of the panel cohort against its comparisons, with the study's power.

    Parameters
    ----------
    summary : pandas.DataFrame
        The output of :func:`cohort_summary`.
    alpha : float, default 0.05
        Two-sided significance level; intervals are at ``1 - alpha``.
    power : float, default 0.8
        Power for the minimum detectable effect.
    target_rate_ratio : float, default 0.8
        Effect whose detection power is reported (0.8 = a 20% lower rate).
    dispersion : float, default 1.0
        Variance inflation for the MDE and power (1 = Poisson), on top of the design effect.
    design_effect : bool, default True
        Allow for people's incidents clustering: the two cohorts' pooled ``dispersion``
        (from :func:`cohort_summary`; 1 when the summary has none) divides both counts before
        the exact test and interval (Rao & Scott 1992), and multiplies ``dispersion`` in the
        MDE and power. ``False`` gives the plain exact Poisson comparison.

    Returns
    -------
    pandas.DataFrame
        Two rows, ``comparison`` = ``'panel vs earlier years'`` (historical cohorts pooled)
        and ``'panel vs rest of area'``, with columns:

        - ``comparison``; ``cohort`` and ``reference``: the labels compared;
        - ``cohort_incidents``, ``cohort_days``, ``reference_incidents``,
          ``reference_days``: the counts and days at risk used;
        - ``rate_ratio``: panel rate / reference rate (below 1: fewer subsequent incidents);
        - ``ci_lower``, ``ci_upper``: exact conditional interval at ``1 - alpha``;
        - ``p_value``: exact conditional two-sided p-value;
        - ``design_effect`` (float, at least 1): the pooled dispersion allowed for (1 with
          ``design_effect=False``);
        - ``mde_rate_ratio``, ``mde_percent``: the smallest fall detectable with ``power``;
        - ``power_at_target``: power to detect ``target_rate_ratio``;
        - ``target_rate_ratio``, ``method``.

    Notes
    -----
    Comparing two Poisson rates conditionally on the total count: given ``a + b``
    incidents, the panel's count ``a`` is binomial with ``p = RR e1 / (RR e1 + e0)``, so
    the exact Clopper-Pearson interval and binomial test for ``p`` give an exact interval
    and p-value for the rate ratio (Przyborowski & Wilenski 1940, *Biometrika* 31:313-323;
    Breslow & Day 1987, *Statistical Methods in Cancer Research* vol. II, sec. 2.4). The MDE
    and power use :func:`assessment.analysis.evaluation.evaluate_mde` with two cells: the
    reference count and the panel count expected at the reference rate (reference rate x
    panel days), so they use nothing of the panel's outcome. The historical comparison
    pools the earlier cohorts' incidents and days; because the rule is applied afresh each
    year the same person can sit in several yearly cohorts (and in the panel cohort), so the
    pooled comparison is not between independent groups and its interval is optimistic; use
    ``first_only=True`` in :func:`cohort_summary` for disjoint cohorts. The exact interval
    assumes Poisson counts; people's incidents cluster (a few members carry most of them), so
    by default both counts are divided by the design effect, the cohorts' ``dispersion``
    (:func:`cohort_summary`: the ratio estimator's variance over the Poisson one) pooled over
    the cohorts compared (weighted by their degrees of freedom, never below 1), and the exact
    test applied to these effective counts, rounded
    to whole numbers (Rao & Scott 1992, *Biometrics* 48, 577-585); the rate ratio is that of
    the actual counts. ``assessment.calibration.cohort`` measures both tests on simulated
    nominals. This is an observational comparison:
    a panel cohort that differs from the reference (regression to the mean after a burst
    of incidents affects both, but case mix may not) is not proof of a panel effect.
    """
    check_dataframe(summary, "summary", _COMPARISON_NEEDS, "cohort_comparison summary")
    check_probability(alpha, "alpha")
    check_probability(power, "power")
    check_positive(target_rate_ratio, "target_rate_ratio")
    check_positive(dispersion, "dispersion")
    check_type(design_effect, "design_effect", bool)
    panel = summary.loc[summary["group"] == "panel"]
    if len(panel) != 1:
        raise ValueError(f"`summary` must have exactly one 'panel' row, got {len(panel)}")
    a, e1 = int(panel["n_subsequent_incidents"].iloc[0]), float(panel["days_at_risk"].iloc[0])
    refs = []
    hist = summary.loc[summary["group"] == "historical"]
    refs.append(("panel vs earlier years",
                 "panel wards " + (", ".join(hist["cohort_year"].astype(str)) if len(hist) else "(none)"),
                 int(hist["n_subsequent_incidents"].sum()), float(hist["days_at_risk"].sum()), hist))
    rest = summary.loc[summary["group"] == "rest_of_area"]
    refs.append(("panel vs rest of area", ", ".join(rest["cohort"]) if len(rest) else "(none)",
                 int(rest["n_subsequent_incidents"].sum()), float(rest["days_at_risk"].sum()), rest))
    rows = []
    for name, ref_label, b, e0, ref in refs:
        phi = _pooled_dispersion(pd.concat([panel, ref])) if design_effect else 1.0
        rr, lo, hi, p = _exact_rate_ratio(int(round(a / phi)), e1, int(round(b / phi)), e0, 1 - alpha)
        if phi > 1 and b > 0:
            rr = (a / e1) / (b / e0)  # the estimate of the actual counts; the interval of the effective ones
            lo, hi = min(lo, rr), max(hi, rr)
        mde = pct = pw = np.nan
        if b > 0 and e0 > 0 and e1 > 0:
            expected = b * e1 / e0
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = evaluate_mde(expected, [b], alpha=alpha, power=power, dispersion=dispersion * phi)
            mde, pct = float(m["mde_rate_ratio"].iloc[0]), float(m["mde_percent"].iloc[0])
            pw = evaluate_power(expected, [b], target_rate_ratio, alpha=alpha, dispersion=dispersion * phi)
        else:
            warnings.warn(f"{name}: no reference incidents or days, so no rate ratio", stacklevel=2)
        rows.append({
            "comparison": name, "cohort": panel["cohort"].iloc[0], "reference": ref_label,
            "cohort_incidents": a, "cohort_days": e1, "reference_incidents": b, "reference_days": e0,
            "rate_ratio": rr, "ci_lower": lo, "ci_upper": hi, "p_value": p, "design_effect": phi,
            "mde_rate_ratio": mde, "mde_percent": pct, "power_at_target": pw,
            "target_rate_ratio": target_rate_ratio,
            "method": "exact conditional Poisson (binomial)" + (" on counts / design effect" if phi > 1 else ""),
        })
    return pd.DataFrame(rows)


def _pooled_dispersion(rows: pd.DataFrame) -> float:
    """The cohorts' design effects averaged with their degrees of freedom as weights (at least 1)."""
    if "dispersion" not in rows.columns or "dispersion_df" not in rows.columns:
        return 1.0
    df = pd.to_numeric(rows["dispersion_df"], errors="coerce").fillna(0).to_numpy(float)
    disp = pd.to_numeric(rows["dispersion"], errors="coerce").fillna(1.0).to_numpy(float)
    if df.sum() <= 0:
        return 1.0
    return float(max((disp * df).sum() / df.sum(), 1.0))


def cohort_comparable(comparison: pd.DataFrame, threshold: int) -> pd.Series:
    """Which comparisons have enough incidents to be worded (the others are "too few incidents to compare").

    Parameters
    ----------
    comparison : pandas.DataFrame
        Output of :func:`cohort_comparison` (``cohort_incidents``, ``reference_incidents``,
        ``rate_ratio``, ``ci_lower``, ``ci_upper``).
    threshold : int
        The partnership's suppression threshold: both counts must reach it.

    Returns
    -------
    pandas.Series of bool
        Indexed like ``comparison``: both counts at least ``threshold``, a finite rate ratio
        and upper limit, and a lower limit above 0.
    """
    check_dataframe(comparison, "comparison", ["cohort_incidents", "reference_incidents", "rate_ratio", "ci_lower",
                                               "ci_upper"])
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)) or threshold < 0:
        raise ValueError(f"`threshold` must be a whole number of 0 or more, got {threshold!r}")
    c = comparison
    ok = ((c["cohort_incidents"] >= threshold) & (c["reference_incidents"] >= threshold)
          & np.isfinite(c["rate_ratio"].astype(float)) & np.isfinite(c["ci_upper"].astype(float))
          & (c["ci_lower"].astype(float) > 0))
    return ok.astype(bool)
