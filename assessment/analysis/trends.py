"""Trends over time: monthly series, rolling totals, year-on-year change, season, trend,
exceptional months, forecasts and series breaks (the ``trend_*`` family).

Every function works on plain pandas objects and uses ``YYYY-MM`` strings for months,
as in the harmonised events table (see ``docs/CONVENTIONS.md``).

Single-series functions (``trend_stl``, ``trend_seasonality``, ``trend_glm``,
``trend_exceptions``, ``trend_forecast``) accept either

* a ``pandas.Series`` of counts indexed by ``YYYY-MM`` strings, or
* a DataFrame with columns ``month`` and ``count`` holding one series (for example
  ``trend_monthly(...)`` filtered to one category),

with consecutive months and no gaps (``trend_monthly`` fills missing months with 0).

Series breaks (e.g. a change of counting rule listed in the catalogue) are passed as
``breaks``: a list of ``YYYY-MM`` months from which the new rule applies. Every model
here adds a level-shift (step) dummy at each break, so that a break is never counted as
trend; the step is reported separately.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from assessment.checks import (
    check_choice,
    check_dataframe,
    check_month,
    check_nonnegative_counts,
    check_positive,
    check_probability,
    check_type,
)

__all__ = [
    "trend_monthly",
    "trend_rolling_12",
    "trend_rate_ratio",
    "trend_year_on_year",
    "trend_stl",
    "trend_seasonal_strength",
    "trend_seasonality",
    "trend_glm",
    "trend_exceptions",
    "trend_forecast",
    "trend_breaks",
]

_MONTH_RE = r"\d{4}-(0[1-9]|1[0-2])"
_MIN_MONTHS_SEASON = 24
_MIN_MONTHS_TREND = 12


# --------------------------------------------------------------------------- helpers
def _as_list(by: Any, name: str) -> list[str]:
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    check_type(by, name, (list, tuple))
    return list(by)


def _check_month_column(values: pd.Series, name: str, where: str) -> None:
    ok = values.astype("string").str.fullmatch(_MONTH_RE).fillna(False).astype(bool)
    if not ok.all():
        first = values.index[~ok.to_numpy()][0]
        raise ValueError(f"`{name}` must be YYYY-MM, got {values.loc[first]!r} in {where} row {first}")


def _month_range(start: str, end: str) -> pd.Index:
    check_month(start, "start")
    check_month(end, "end")
    if start > end:
        raise ValueError(f"`start` must not be after `end`, got start={start!r}, end={end!r}")
    return pd.Index(pd.period_range(start, end, freq="M").strftime("%Y-%m"), name="month")


def _shift_month(month: str, k: int) -> str:
    return (pd.Period(month, freq="M") + k).strftime("%Y-%m")


def _as_series(obj: Any, name: str = "series") -> pd.Series:
    """Return a float Series of counts indexed by consecutive YYYY-MM strings."""
    if isinstance(obj, pd.DataFrame):
        check_dataframe(obj, name, ["month", "count"])
        others = [c for c in obj.columns if c not in ("month", "count")]
        multi = [c for c in others if obj[c].nunique(dropna=False) > 1]
        if multi:
            raise ValueError(
                f"`{name}` must hold one series (one value in each grouping column), got several values in "
                f"{multi}; hint: filter to one group first"
            )
        if obj["month"].duplicated().any():
            dup = obj.loc[obj["month"].duplicated(), "month"].iloc[0]
            raise ValueError(f"`{name}` must have one row per month, got month {dup!r} twice")
        s = pd.Series(obj["count"].to_numpy(), index=obj["month"].astype(str).to_numpy())
    elif isinstance(obj, pd.Series):
        s = obj.copy()
        s.index = s.index.astype(str)
        if s.index.duplicated().any():
            raise ValueError(f"`{name}` must have one value per month, got {s.index[s.index.duplicated()][0]!r} twice")
    else:
        raise TypeError(f"`{name}` must be a pandas Series indexed by month or a DataFrame with month and count, "
                        f"got {type(obj).__name__}")
    if len(s) == 0:
        raise ValueError(f"`{name}` must hold at least one month, got none")
    _check_month_column(pd.Series(s.index, index=s.index), "month", name)
    s = s.sort_index()
    check_nonnegative_counts(s, name)
    expected = _month_range(s.index[0], s.index[-1])
    if len(expected) != len(s):
        missing = expected.difference(s.index)
        raise ValueError(
            f"`{name}` must have consecutive months with no gaps, got {len(missing)} missing "
            f"(first {missing[0]!r}); hint: build it with trend_monthly, which fills missing months with 0"
        )
    s.index.name = "month"
    return s.astype(float)


def _check_breaks(breaks: Any, months: pd.Index) -> list[str]:
    """Validate break months; keep those strictly inside the series (warn about the rest)."""
    if breaks is None:
        return []
    if isinstance(breaks, str):
        breaks = [breaks]
    check_type(breaks, "breaks", (list, tuple))
    for b in breaks:
        check_month(b, "breaks")
    inside = sorted({b for b in breaks if months[0] < b <= months[-1]})
    outside = sorted(set(breaks) - set(inside))
    if outside:
        warnings.warn(
            f"series break(s) {outside} are not inside the series {months[0]} to {months[-1]} "
            "(a break must come after the first month); they are ignored",
            stacklevel=3,
        )
    return inside


def _design(months: pd.Index, breaks: list[str], season: bool, trend: bool = True) -> pd.DataFrame:
    """Design matrix: intercept, time in years (centred), month-of-year dummies, break steps."""
    n = len(months)
    X = pd.DataFrame({"const": np.ones(n)}, index=months)
    if trend:
        t = np.arange(n, dtype=float) / 12.0
        X["time_years"] = t - t.mean()
    if season:
        moy = pd.PeriodIndex(months, freq="M").month.to_numpy()
        for m in range(2, 13):
            X[f"month_{m:02d}"] = (moy == m).astype(float)
    for b in breaks:
        X[f"step_{b}"] = (months >= b).astype(float)
    return X


def _fit_count_model(y: pd.Series, X: pd.DataFrame, family: str) -> tuple[Any, str, float, float]:
    """Fit a Poisson GLM, switching to negative binomial (NB2) if overdispersed.

    Returns (results, family_used, pearson_dispersion, overdispersion_p).
    """
    import statsmodels.api as sm

    pois = sm.GLM(y, X, family=sm.families.Poisson()).fit()
    mu = np.asarray(pois.fittedvalues, dtype=float)
    yv = y.to_numpy(dtype=float)
    dispersion = float(pois.pearson_chi2 / pois.df_resid) if pois.df_resid > 0 else float("nan")
    # Cameron & Trivedi (1990) auxiliary regression test of Var = mu + a*mu^2 against a = 0.
    aux_y = ((yv - mu) ** 2 - yv) / mu
    aux = sm.OLS(aux_y, mu).fit()
    t = float(aux.tvalues[0])
    od_p = float(stats.t.sf(t, aux.df_resid)) if np.isfinite(t) else 1.0
    use_nb = family == "negative_binomial" or (family == "auto" and od_p < 0.05)
    if not use_nb:
        return pois, "poisson", dispersion, od_p
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            nb = sm.NegativeBinomial(y, X, loglike_method="nb2").fit(disp=0, maxiter=300)
            ok = bool(nb.mle_retvals.get("converged", True)) and np.all(np.isfinite(nb.bse))
        except Exception:  # noqa: BLE001 - fall back to quasi-Poisson below
            ok = False
    if ok:
        return nb, "negative_binomial", dispersion, od_p
    warnings.warn("negative binomial fit did not converge; using quasi-Poisson (Pearson scale) instead",
                  stacklevel=3)
    qp = sm.GLM(y, X, family=sm.families.Poisson()).fit(scale="X2")
    return qp, "quasi_poisson", dispersion, od_p


def _fitted_mean(res: Any, X: pd.DataFrame) -> np.ndarray:
    return np.asarray(res.predict(X), dtype=float)


def _nb_alpha(res: Any) -> float:
    return float(res.params["alpha"]) if "alpha" in res.params.index else 0.0


def _limit_alpha(res: Any, fam: str) -> float:
    """NB2 alpha for control limits: fitted for NB; by moments from the quasi-Poisson scale.

    Under quasi-Poisson Var = phi * mu; matching Var = mu + alpha * mu**2 at the mean fitted
    count gives alpha = (phi - 1) / mean(mu), so over-dispersion widens the limits as it should.
    """
    if fam == "negative_binomial":
        return _nb_alpha(res)
    if fam == "quasi_poisson":
        phi = float(getattr(res, "scale", 1.0))
        mean_mu = float(np.mean(np.asarray(res.fittedvalues, dtype=float)))
        return max(0.0, (phi - 1.0) / mean_mu) if mean_mu > 0 else 0.0
    return 0.0


def _prepare_model(series: Any, breaks: Any, season: bool | str, name: str = "series"):
    s = _as_series(series, name)
    if len(s) < _MIN_MONTHS_TREND:
        raise ValueError(f"`{name}` must have at least {_MIN_MONTHS_TREND} months to fit a trend model, "
                         f"got {len(s)}")
    br = _check_breaks(breaks, s.index)
    use_season = bool(season)
    if use_season and len(s) < _MIN_MONTHS_SEASON:
        warnings.warn(
            f"only {len(s)} months (fewer than {_MIN_MONTHS_SEASON}): month-of-year terms cannot be estimated, "
            "so the trend is not adjusted for season and may be confounded with it",
            stacklevel=3,
        )
        use_season = False
    if use_season:
        moy_tot = s.groupby(pd.PeriodIndex(s.index, freq="M").month).sum()
        if (moy_tot == 0).any():
            warnings.warn("some months of the year have no events at all; fitting without month-of-year terms",
                          stacklevel=3)
            use_season = False
    return s, br, use_season


# --------------------------------------------------------------------------- monthly series
def trend_monthly(events: pd.DataFrame, start: str, end: str, by: str | Iterable[str] | None = ("category",),
                  month_col: str = "month", count_col: str | None = None, wide: bool = False) -> pd.DataFrame:
    """Monthly counts per group, with every month of the window present (missing months are 0).

    Parameters
    ----------
    events : pandas.DataFrame
        Harmonised events (one row per event) or area counts. Must have ``month_col`` and
        the ``by`` columns.
    start, end : str
        First and last month of the window, ``YYYY-MM``, inclusive.
    by : str or sequence of str or None, default ("category",)
        Grouping columns, e.g. ``("category",)``, ``("theme", "area_code")``. ``None`` or
        ``()`` gives one series for all events.
    month_col : str, default "month"
        Column holding the ``YYYY-MM`` month (``"period"`` for monthly area counts).
    count_col : str, optional
        Sum this column instead of counting rows (for area-count tables with ``count``).
    wide : bool, default False
        Return one column per group instead of the long form.

    Returns
    -------
    pandas.DataFrame
        Long form (default), one row per month and group, sorted by group then month:

        - ``month`` (str): ``YYYY-MM``, every month from ``start`` to ``end``;
        - one column per ``by`` column: the group;
        - ``count`` (int64): events in that month and group (0 where none).

        Wide form: index ``month``; one column per group (a MultiIndex when ``by`` has
        more than one column; a single column ``count`` when ``by`` is empty).
        Groups are those present anywhere in ``events`` (also outside the window), so
        a category that stops appearing still shows zeros.

    Notes
    -----
    Zero-filling over a complete month range is required by every time-series method
    in this module (a missing month is a zero, not a gap). Rows whose month lies outside
    the window are left out with a warning saying how many.
    """
    by_cols = _as_list(by, "by")
    cols = [month_col, *by_cols] + ([count_col] if count_col else [])
    check_dataframe(events, "events", cols)
    check_type(wide, "wide", bool)
    window = _month_range(start, end)
    months = events[month_col].astype("string")
    _check_month_column(months, month_col, "events")
    if count_col:
        check_nonnegative_counts(events[count_col], count_col, "events")

    inside = months.isin(window).to_numpy()
    n_out = int((~inside).sum())
    if n_out:
        warnings.warn(f"{n_out} of {len(events)} rows have a month outside {start} to {end} and are not counted",
                      stacklevel=2)
    data = pd.DataFrame({"month": months.to_numpy()[inside]})
    for c in by_cols:
        data[c] = events[c].to_numpy()[inside]
    data["_w"] = events[count_col].to_numpy(dtype=float)[inside] if count_col else 1.0

    grid = pd.DataFrame({"month": window.to_numpy(dtype=object)})
    if by_cols:
        combos = events[by_cols].drop_duplicates().sort_values(by_cols, na_position="last").reset_index(drop=True)
        grid = combos.merge(grid, how="cross")
        grid = grid[["month", *by_cols]]
        counts = data.groupby(["month", *by_cols], dropna=False, sort=False)["_w"].sum().rename("count").reset_index()
        for c in by_cols:  # align dtypes for the merge
            counts[c] = counts[c].astype(grid[c].dtype)
    else:
        counts = data.groupby("month", sort=False)["_w"].sum().rename("count").reset_index()
    counts["month"] = counts["month"].astype(object)
    out = grid.merge(counts, on=["month", *by_cols], how="left")
    out["count"] = out["count"].fillna(0).round().astype("int64")
    out = out.sort_values([*by_cols, "month"], kind="stable").reset_index(drop=True)
    if not wide:
        return out
    if not by_cols:
        return out.set_index("month")[["count"]]
    return out.pivot(index="month", columns=by_cols if len(by_cols) > 1 else by_cols[0], values="count")


def _infer_by(monthly: pd.DataFrame, by: Any, value_cols: Iterable[str]) -> list[str]:
    if by is not None:
        return _as_list(by, "by")
    return [c for c in monthly.columns if c not in ("month", *value_cols)]


def _check_complete_grid(monthly: pd.DataFrame, by: list[str], name: str) -> pd.DataFrame:
    _check_month_column(monthly["month"].astype("string"), "month", name)
    check_nonnegative_counts(monthly["count"], "count", name)
    df = monthly.sort_values([*by, "month"], kind="stable").reset_index(drop=True)
    per = pd.PeriodIndex(df["month"].astype(str), freq="M")
    ordinal = pd.Series(per.asi8, index=df.index)
    step = ordinal.groupby([df[c] for c in by], dropna=False).diff() if by else ordinal.diff()
    if (step.dropna() != 1).any():
        raise ValueError(
            f"`{name}` must have one row per consecutive month in each group, got a gap or a duplicate; "
            "hint: build it with trend_monthly"
        )
    return df


def trend_rolling_12(monthly: pd.DataFrame, by: str | Iterable[str] | None = None, window: int = 12) -> pd.DataFrame:
    """Rolling 12-month totals per group.

    Parameters
    ----------
    monthly : pandas.DataFrame
        Long output of :func:`trend_monthly` (``month``, group columns, ``count``).
    by : str or sequence of str, optional
        Group columns; by default every column other than ``month`` and ``count``.
    window : int, default 12
        Months in the rolling window.

    Returns
    -------
    pandas.DataFrame
        The input columns plus

        - ``rolling_12`` (float): sum of ``count`` over the ``window`` months ending in
          this month; NaN for the first ``window - 1`` months of each group;
        - ``rolling_12_previous`` (float): the rolling total ``window`` months earlier
          (NaN where unavailable);
        - ``rolling_12_pct_change`` (float): ``100 * (rolling_12 / rolling_12_previous - 1)``
          (NaN where unavailable or the earlier total is 0).

    Notes
    -----
    A rolling 12-month total removes seasonality by construction (each value holds every
    calendar month once), the presentation used by the ONS for recorded crime.
    It is computed with cumulative sums per group (no Python loop over rows).
    """
    check_dataframe(monthly, "monthly", ["month", "count"])
    if isinstance(window, bool) or not isinstance(window, int):
        raise TypeError(f"`window` must be int, got {type(window).__name__}")
    check_positive(window, "window")
    by_cols = _infer_by(monthly, by, ("count", "rolling_12", "rolling_12_previous", "rolling_12_pct_change"))
    check_dataframe(monthly, "monthly", by_cols)
    df = _check_complete_grid(monthly, by_cols, "monthly")
    keys = [df[c] for c in by_cols] if by_cols else np.zeros(len(df))
    g = df["count"].astype(float).groupby(keys, dropna=False)
    cs = g.cumsum()
    lagged = cs.groupby(keys, dropna=False).shift(window, fill_value=0.0)
    pos = df.groupby(keys, dropna=False).cumcount()
    roll = (cs - lagged).where(pos >= window - 1)
    df["rolling_12"] = roll
    df["rolling_12_previous"] = roll.groupby(keys, dropna=False).shift(window)
    prev = df["rolling_12_previous"]
    df["rolling_12_pct_change"] = (100.0 * (df["rolling_12"] / prev - 1.0)).where(prev > 0)
    return df


# --------------------------------------------------------------------------- year on year
def _binom_two_sided_p(k: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Exact two-sided binomial p-value, 'minimum likelihood' rule, vectorised.

    Same definition as ``scipy.stats.binomtest(k, n, p).pvalue``: the probability of all
    outcomes no more likely than the one observed (relative tolerance 1e-7).
    """
    k = np.asarray(k, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    p = np.asarray(p, dtype=float)
    k, n, p = np.broadcast_arrays(k, n, p)
    out = np.ones(k.shape, dtype=float)
    d = stats.binom.pmf(k, n, p)
    thr = d * (1 + 1e-7)
    np_ = p * n
    low = (k < np_) & (n > 0)
    high = (k > np_) & (n > 0)
    # k below the mean: smallest j in [ceil(np), n] with pmf(j) <= thr (pmf non-increasing there).
    lo = np.ceil(np_).astype(np.int64)
    hi = n + 1
    active = low.copy()
    while np.any(active & (lo < hi)):
        act = active & (lo < hi)
        mid = (lo + hi) // 2
        pred = stats.binom.pmf(np.minimum(mid, n), n, p) <= thr
        hi = np.where(act & pred, mid, hi)
        lo = np.where(act & ~pred, mid + 1, lo)
    p_low = stats.binom.cdf(k, n, p) + stats.binom.sf(lo - 1, n, p)
    # k above the mean: largest j in [0, floor(np)] with pmf(j) <= thr (pmf non-decreasing there).
    lo2 = np.full(k.shape, -1, dtype=np.int64)
    hi2 = np.floor(np_).astype(np.int64)
    active = high.copy()
    while np.any(active & (lo2 < hi2)):
        act = active & (lo2 < hi2)
        mid = (lo2 + hi2 + 1) // 2
        pred = stats.binom.pmf(np.maximum(mid, 0), n, p) <= thr
        lo2 = np.where(act & pred, mid, lo2)
        hi2 = np.where(act & ~pred, mid - 1, hi2)
    p_high = stats.binom.cdf(lo2, n, p) + stats.binom.sf(k - 1, n, p)
    out = np.where(low, p_low, out)
    out = np.where(high, p_high, out)
    return np.clip(out, 0.0, 1.0)


def trend_rate_ratio(count1: Any, count2: Any, exposure1: Any = 1.0, exposure2: Any = 1.0,
                     alpha: float = 0.05) -> pd.DataFrame:
    """Exact conditional test and exact confidence interval for the ratio of two Poisson rates.

    Vectorised: each argument may be a scalar or an array (broadcast together).

    Parameters
    ----------
    count1, count2 : int or array-like
        Event counts in the period of interest (1, e.g. this year) and the comparison
        period (2, e.g. the same months last year).
    exposure1, exposure2 : float or array-like, default 1.0
        Exposure of each count (e.g. months, or population); only their ratio matters.
    alpha : float, default 0.05
        Significance level; the interval has confidence ``1 - alpha``.

    Returns
    -------
    pandas.DataFrame
        One row per comparison:

        - ``count1``, ``count2`` (int), ``exposure1``, ``exposure2`` (float): the inputs;
        - ``rate_ratio`` (float): ``(count1/exposure1) / (count2/exposure2)``
          (inf when ``count2`` is 0; NaN when both are 0);
        - ``pct_change`` (float): ``100 * (rate_ratio - 1)``;
        - ``ci_low``, ``ci_high`` (float): exact ``1 - alpha`` interval for the rate ratio;
        - ``p_value`` (float, in [0, 1]): two-sided exact conditional p-value for rate ratio 1
          (1 when both counts are 0).

    Notes
    -----
    Conditional on the total ``n = count1 + count2``, ``count1`` is binomial with
    probability ``pi = R e1 / (R e1 + e2)``, where ``R`` is the rate ratio (Przyborowski &
    Wilenski 1940; Breslow & Day 1987, *Statistical Methods in Cancer Research* vol. II,
    s. 2.8). The test of ``R = 1`` is the exact two-sided binomial test of
    ``pi0 = e1 / (e1 + e2)`` by the minimum-likelihood rule -- the same as
    ``statsmodels.stats.rates.test_poisson_2indep(method='exact-cond')`` and
    ``scipy.stats.binomtest`` (evaluated here in vectorised form).
    The interval is the Clopper-Pearson (1934) interval ``(pi_L, pi_U)`` for ``pi``
    (beta quantiles), transformed to ``R = pi / (1 - pi) * e2 / e1``; it is exact
    (conservative) and guaranteed to include ``R`` with at least ``1 - alpha`` coverage.
    """
    check_probability(alpha, "alpha")
    c1 = np.asarray(count1)
    c2 = np.asarray(count2)
    for arr, nm in ((c1, "count1"), (c2, "count2")):
        check_nonnegative_counts(pd.Series(np.atleast_1d(arr).astype(float)), nm)
    e1 = np.asarray(exposure1, dtype=float)
    e2 = np.asarray(exposure2, dtype=float)
    if np.any(~np.isfinite(e1)) or np.any(e1 <= 0) or np.any(~np.isfinite(e2)) or np.any(e2 <= 0):
        raise ValueError("`exposure1` and `exposure2` must be finite and greater than 0, got "
                         f"{np.atleast_1d(e1)[:3]} and {np.atleast_1d(e2)[:3]}")
    c1, c2, e1, e2 = np.broadcast_arrays(c1.astype(np.int64), c2.astype(np.int64), e1, e2)
    c1, c2, e1, e2 = (np.atleast_1d(a) for a in (c1, c2, e1, e2))
    n = c1 + c2
    pi0 = e1 / (e1 + e2)
    pval = _binom_two_sided_p(c1, n, pi0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = (c1 / e1) / (c2 / e2)
        rr = np.where(n == 0, np.nan, rr)
        lo_pi = np.where(c1 > 0, stats.beta.ppf(alpha / 2, c1, c2 + 1), 0.0)
        hi_pi = np.where(c2 > 0, stats.beta.ppf(1 - alpha / 2, c1 + 1, c2), 1.0)
        scale = e2 / e1
        ci_low = np.where(n == 0, np.nan, lo_pi / (1 - lo_pi) * scale)
        ci_high = np.where(n == 0, np.nan, np.where(hi_pi >= 1, np.inf, hi_pi / (1 - hi_pi) * scale))
    return pd.DataFrame({
        "count1": c1, "count2": c2, "exposure1": e1, "exposure2": e2,
        "rate_ratio": rr, "pct_change": 100.0 * (rr - 1.0),
        "ci_low": ci_low, "ci_high": ci_high, "p_value": pval,
    })


def trend_year_on_year(monthly: pd.DataFrame, end: str, months: int = 12, by: str | Iterable[str] | None = None,
                       alpha: float = 0.05) -> pd.DataFrame:
    """This period against the same period a year earlier, with an exact test of the change.

    Parameters
    ----------
    monthly : pandas.DataFrame
        Long output of :func:`trend_monthly` (``month``, group columns, ``count``).
    end : str
        Last month of the current period, ``YYYY-MM``.
    months : int, default 12
        Length of each period (1 to 12). The previous period is the same months one year
        earlier, so the two never overlap.
    by : str or sequence of str, optional
        Group columns; by default every column other than ``month`` and ``count``.
    alpha : float, default 0.05
        Significance level for the interval.

    Returns
    -------
    pandas.DataFrame
        One row per group:

        - the group columns;
        - ``current_period``, ``previous_period`` (str): e.g. ``"2025-01 to 2025-12"``;
        - ``current``, ``previous`` (int): event counts in each period;
        - ``change`` (int): ``current - previous``;
        - ``pct_change`` (float): percentage change (inf if ``previous`` is 0; NaN if both 0);
        - ``rate_ratio``, ``ci_low``, ``ci_high`` (float): rate ratio with exact interval;
        - ``p_value`` (float, in [0, 1]): exact conditional two-sided p-value.

    Notes
    -----
    Comparing the same months a year apart removes seasonality. The periods have equal
    length, so the exposure ratio is 1. The test and interval are those of
    :func:`trend_rate_ratio` (exact conditional binomial test; Clopper-Pearson interval
    transformed to the rate-ratio scale).
    """
    check_dataframe(monthly, "monthly", ["month", "count"])
    check_month(end, "end")
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 12:
        raise ValueError(f"`months` must be a whole number from 1 to 12, got {months!r}")
    check_probability(alpha, "alpha")
    by_cols = _infer_by(monthly, by, ("count",))
    check_dataframe(monthly, "monthly", by_cols)
    _check_month_column(monthly["month"].astype("string"), "month", "monthly")
    check_nonnegative_counts(monthly["count"], "count", "monthly")
    cur = _month_range(_shift_month(end, -(months - 1)), end)
    prev = _month_range(_shift_month(end, -(months - 1) - 12), _shift_month(end, -12))
    have = set(monthly["month"].astype(str))
    missing = [m for m in (*cur, *prev) if m not in have]
    if missing:
        raise ValueError(f"`monthly` must cover {prev[0]} to {end} for this comparison, got no rows for "
                         f"{missing[:3]}{'...' if len(missing) > 3 else ''}")
    m = monthly["month"].astype(str)
    part = np.where(m.isin(cur), "current", np.where(m.isin(prev), "previous", ""))
    df = monthly.assign(_part=part)
    df = df[df["_part"] != ""]
    if by_cols:
        tab = df.pivot_table(index=by_cols, columns="_part", values="count", aggfunc="sum", fill_value=0,
                             observed=True, dropna=False)
    else:
        tab = df.groupby("_part")["count"].sum().to_frame().T
    tab = tab.reindex(columns=["current", "previous"], fill_value=0).astype("int64")
    rr = trend_rate_ratio(tab["current"].to_numpy(), tab["previous"].to_numpy(), alpha=alpha)
    out = tab.reset_index(drop=not by_cols)
    if not by_cols:
        out = out.reset_index(drop=True)
    out.columns.name = None
    out.insert(len(by_cols), "current_period", f"{cur[0]} to {cur[-1]}")
    out.insert(len(by_cols) + 1, "previous_period", f"{prev[0]} to {prev[-1]}")
    out["change"] = out["current"] - out["previous"]
    for c in ("pct_change", "rate_ratio", "ci_low", "ci_high", "p_value"):
        out[c] = rr[c].to_numpy()
    return out


# --------------------------------------------------------------------------- season
def trend_stl(series: Any, period: int = 12, robust: bool = True) -> pd.DataFrame:
    """STL seasonal decomposition of a monthly series (needs at least 24 months).

    Parameters
    ----------
    series : pandas.Series or pandas.DataFrame
        One monthly count series (see module docstring).
    period : int, default 12
        Seasonal period in months.
    robust : bool, default True
        Use STL's robust (outlier-resistant) fitting.

    Returns
    -------
    pandas.DataFrame
        One row per month:

        - ``month`` (str);
        - ``observed`` (float): the count;
        - ``trend``, ``seasonal``, ``resid`` (float): STL components
          (``observed = trend + seasonal + resid``).

        ``attrs["seasonal_strength"]`` holds the strength of seasonality (see Notes).

    Raises
    ------
    ValueError
        If the series has fewer than ``2 * period`` (24) months: a seasonal pattern
        cannot be separated from noise with fewer than two full years.

    Notes
    -----
    STL: Cleveland, Cleveland, McRae & Terpenning (1990), "STL: A seasonal-trend
    decomposition procedure based on loess", *J. Official Statistics* 6(1), 3-73, as
    implemented by ``statsmodels.tsa.seasonal.STL``. Seasonal strength
    ``F_s = max(0, 1 - Var(R) / Var(S + R))`` (Wang, Smith & Hyndman 2006, "Characteristic-
    based clustering for time series data", *Data Mining and Knowledge Discovery* 13,
    335-364; Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*, s. 4.2):
    near 0 means no seasonality, near 1 a strong seasonal pattern. It is descriptive;
    :func:`trend_seasonality` gives a test with a p-value.
    """
    from statsmodels.tsa.seasonal import STL

    s = _as_series(series)
    if isinstance(period, bool) or not isinstance(period, int) or period < 2:
        raise ValueError(f"`period` must be a whole number of at least 2, got {period!r}")
    if len(s) < 2 * period:
        raise ValueError(
            f"`series` must have at least {2 * period} months for a seasonal decomposition, got {len(s)}; "
            "hint: with less than two years, compare the same months a year apart (trend_year_on_year)"
        )
    res = STL(s.to_numpy(), period=period, robust=bool(robust)).fit()
    out = pd.DataFrame({"month": s.index.to_numpy(dtype=object), "observed": s.to_numpy(),
                        "trend": res.trend, "seasonal": res.seasonal, "resid": res.resid})
    out.attrs["seasonal_strength"] = trend_seasonal_strength(out)
    return out


def trend_seasonal_strength(stl: pd.DataFrame) -> float:
    """Strength of seasonality ``F_s = max(0, 1 - Var(resid)/Var(seasonal + resid))``.

    Parameters
    ----------
    stl : pandas.DataFrame
        Output of :func:`trend_stl` (columns ``seasonal`` and ``resid``).

    Returns
    -------
    float
        ``F_s`` in [0, 1] (NaN if ``seasonal + resid`` has no variance).

    Notes
    -----
    Wang, Smith & Hyndman (2006), *Data Mining and Knowledge Discovery* 13, 335-364.
    """
    check_dataframe(stl, "stl", ["seasonal", "resid"])
    sr = stl["seasonal"].to_numpy(float) + stl["resid"].to_numpy(float)
    v = np.var(sr, ddof=1)
    if not v > 0:
        return float("nan")
    return float(max(0.0, 1.0 - np.var(stl["resid"].to_numpy(float), ddof=1) / v))


def trend_seasonality(series: Any, breaks: Any = None, summer: Iterable[int] = (6, 7, 8),
                      winter: Iterable[int] = (12, 1, 2), alpha: float = 0.05,
                      family: str = "auto") -> pd.DataFrame:
    """Test for seasonality that an analyst can quote, with a summer-to-winter ratio.

    Parameters
    ----------
    series : pandas.Series or pandas.DataFrame
        One monthly count series with at least 24 months.
    breaks : list of str, optional
        Series-break months (``YYYY-MM``); a level-shift term is fitted at each.
    summer, winter : sequence of int
        Months of the year (1-12) compared in ``summer_winter_ratio``.
    alpha : float, default 0.05
        Significance level for the interval.
    family : {"auto", "poisson", "negative_binomial"}
        Count model; ``"auto"`` uses negative binomial when the Poisson fit is overdispersed.

    Returns
    -------
    pandas.DataFrame
        One row:

        - ``n_months`` (int); ``family`` (str): model used;
        - ``seasonal_strength`` (float): STL ``F_s`` (see :func:`trend_stl`);
        - ``lr_stat`` (float), ``df`` (int), ``p_value`` (float in [0, 1]): likelihood-ratio
          test that the 11 month-of-year effects are all zero;
        - ``summer_winter_ratio``, ``ci_low``, ``ci_high`` (float): ratio of the expected
          count in the ``summer`` months to that in the ``winter`` months (geometric
          means of the month effects), with ``1 - alpha`` Wald interval;
        - ``summer_winter_p`` (float in [0, 1]): Wald test that the ratio is 1;
        - ``peak_month``, ``trough_month`` (int): month of the year with the highest and
          lowest fitted effect.

    Notes
    -----
    Log-linear count model (Poisson GLM; negative binomial NB2 when the Cameron & Trivedi
    1990 overdispersion test has p < 0.05) of count on time, month-of-year dummies and a
    step at each break, via statsmodels. Seasonality is tested by the likelihood-ratio test
    against the model without month-of-year terms (chi-square with 11 df), and
    summer versus winter by a linear contrast of the month coefficients (``t_test``).
    Because time and breaks are in both models, a trend or a break is not mistaken for
    season (e.g. Dobson & Barnett, *An Introduction to Generalized Linear Models*, 4th ed.).
    """
    check_probability(alpha, "alpha")
    check_choice(family, "family", ["auto", "poisson", "negative_binomial"])
    summer = [int(m) for m in summer]
    winter = [int(m) for m in winter]
    for m in (*summer, *winter):
        if not 1 <= m <= 12:
            raise ValueError(f"`summer` and `winter` must hold months 1-12, got {m}")
    s = _as_series(series)
    if len(s) < _MIN_MONTHS_SEASON:
        raise ValueError(f"`series` must have at least {_MIN_MONTHS_SEASON} months to test seasonality, "
                         f"got {len(s)}")
    br = _check_breaks(breaks, s.index)
    moy_tot = s.groupby(pd.PeriodIndex(s.index, freq="M").month).sum()
    empty = [int(m) for m in moy_tot.index[moy_tot.to_numpy() == 0]]
    if empty:
        raise ValueError(f"`series` must have events in every month of the year to test seasonality, got none in "
                         f"month(s) {empty}; the month effects cannot be estimated (hint: report the "
                         "monthly counts descriptively)")
    X1 = _design(s.index, br, season=True)
    X0 = _design(s.index, br, season=False)
    res1, fam, _, _ = _fit_count_model(s, X1, family)
    fam0 = {"poisson": "poisson", "quasi_poisson": "poisson", "negative_binomial": "negative_binomial"}[fam]
    res0, _, _, _ = _fit_count_model(s, X0, fam0)
    if fam == "quasi_poisson":
        lr = float(2 * (res1.llf - res0.llf) / res1.scale)
    else:
        lr = float(2 * (res1.llf - res0.llf))
    lr = max(lr, 0.0)
    if fam == "quasi_poisson":
        # With an estimated scale the scaled deviance difference is referred to F(11, residual df).
        p = float(stats.f.sf(lr / 11, 11, max(float(res1.df_resid), 1.0)))
    else:
        p = float(stats.chi2.sf(lr, 11))
    names = list(res1.params.index)
    c = np.zeros(len(names))
    for m in summer:
        if m != 1:
            c[names.index(f"month_{m:02d}")] += 1 / len(summer)
    for m in winter:
        if m != 1:
            c[names.index(f"month_{m:02d}")] -= 1 / len(winter)
    tt = res1.t_test(c.reshape(1, -1))
    est = float(np.squeeze(tt.effect))
    ci = np.asarray(tt.conf_int(alpha=alpha)).ravel()
    sw_p = float(np.clip(np.squeeze(tt.pvalue), 0, 1))
    eff = np.r_[0.0, [float(res1.params[f"month_{m:02d}"]) for m in range(2, 13)]]
    stl_strength = trend_seasonal_strength(trend_stl(s))
    return pd.DataFrame([{
        "n_months": len(s), "family": fam, "seasonal_strength": stl_strength,
        "lr_stat": lr, "df": 11, "p_value": min(max(p, 0.0), 1.0),
        "summer_winter_ratio": float(np.exp(est)), "ci_low": float(np.exp(ci[0])), "ci_high": float(np.exp(ci[1])),
        "summer_winter_p": sw_p,
        "peak_month": int(np.argmax(eff) + 1), "trough_month": int(np.argmin(eff) + 1),
    }])


# --------------------------------------------------------------------------- trend
def trend_glm(series: Any, breaks: Any = None, season: bool = True, alpha: float = 0.05,
              family: str = "auto") -> pd.DataFrame:
    """Trend test net of season and series breaks: annual % change with CI and p-value.

    Parameters
    ----------
    series : pandas.Series or pandas.DataFrame
        One monthly count series with at least 12 months (24 to adjust for season).
    breaks : list of str, optional
        Series-break months (``YYYY-MM``, the first month under the new rule). A level
        shift is fitted at each, so a break is never counted as trend.
    season : bool, default True
        Include month-of-year terms (needs 24 months; otherwise dropped with a warning).
    alpha : float, default 0.05
        Significance level for the intervals.
    family : {"auto", "poisson", "negative_binomial"}
        Count model; ``"auto"`` switches to negative binomial when overdispersed.

    Returns
    -------
    pandas.DataFrame
        One row for the trend, then one row per break:

        - ``term`` (str): ``"trend"`` or ``"step"``;
        - ``month`` (str or None): the break month (None for the trend);
        - ``estimate_pct`` (float): for the trend, the % change per year
          (``100 * (exp(b_time) - 1)``); for a step, the % jump in level at the break;
        - ``ci_low``, ``ci_high`` (float): ``1 - alpha`` Wald interval on the same % scale;
        - ``p_value`` (float in [0, 1]): Wald test that the term is zero;
        - ``family`` (str): ``"poisson"``, ``"negative_binomial"`` or ``"quasi_poisson"``;
        - ``dispersion`` (float): Pearson chi-square / residual df of the Poisson fit;
        - ``overdispersion_p`` (float in [0, 1]): Cameron-Trivedi test p-value;
        - ``seasonal`` (bool): whether month-of-year terms were included;
        - ``n_months`` (int), ``total`` (int): series length and total count.

    Notes
    -----
    Log-linear model ``log E[y_t] = a + b t + s_month(t) + sum_k d_k 1[t >= break_k]`` with
    ``t`` in years, fitted as a Poisson GLM (statsmodels). Overdispersion is tested by the
    Cameron & Trivedi (1990, *J. Econometrics* 46, 347-364) auxiliary regression; when
    its one-sided p < 0.05 the model is refitted as negative binomial (NB2, statsmodels
    ``NegativeBinomial``) so that standard errors are not too small. Because each break
    has its own step ``d_k``, a level shift at a declared break is absorbed by the step and
    not by the slope ``b`` (an interrupted time series / segmented regression; Bernal,
    Cummins & Gasparrini 2017, *Int. J. Epidemiology* 46, 348-355).
    """
    check_probability(alpha, "alpha")
    check_choice(family, "family", ["auto", "poisson", "negative_binomial"])
    check_type(season, "season", bool)
    s, br, use_season = _prepare_model(series, breaks, season)
    X = _design(s.index, br, use_season)
    res, fam, disp, od_p = _fit_count_model(s, X, family)
    terms = ["time_years", *[f"step_{b}" for b in br]]
    ci = res.conf_int(alpha=alpha)
    rows = []
    for name in terms:
        b = float(res.params[name])
        lo, hi = (float(v) for v in ci.loc[name])
        rows.append({
            "term": "trend" if name == "time_years" else "step",
            "month": None if name == "time_years" else name[5:],
            "estimate_pct": 100 * np.expm1(b), "ci_low": 100 * np.expm1(lo), "ci_high": 100 * np.expm1(hi),
            "p_value": float(np.clip(res.pvalues[name], 0, 1)),
        })
    out = pd.DataFrame(rows)
    out["family"] = fam
    out["dispersion"] = disp
    out["overdispersion_p"] = float(np.clip(od_p, 0, 1))
    out["seasonal"] = use_season
    out["n_months"] = len(s)
    out["total"] = int(s.sum())
    return out


def _count_limits(mu: np.ndarray, nb_alpha: np.ndarray, q: float):
    """Lower and upper q-quantile limits of Poisson (alpha 0) or NB2 counts, plus the distributions."""
    use_nb = nb_alpha > 0
    a = np.where(use_nb, nb_alpha, 1.0)
    nbd = stats.nbinom(1.0 / a, 1.0 / (1.0 + a * mu))
    pod = stats.poisson(mu)
    lower = np.where(use_nb, nbd.ppf(q), pod.ppf(q))
    upper = np.where(use_nb, nbd.ppf(1 - q), pod.ppf(1 - q))
    return lower, upper, nbd, pod, use_nb


def _outside_limits(y: np.ndarray, mu: np.ndarray, nb_alpha: np.ndarray, q: float) -> np.ndarray:
    lower, upper, *_ = _count_limits(mu, nb_alpha, q)
    return (y > upper) | (y < lower)


def trend_exceptions(series: Any, breaks: Any = None, level: float = 0.998, family: str = "auto",
                     leave_one_out: bool = True) -> pd.DataFrame:
    """Flag exceptional months against control limits around the expected seasonal level.

    Parameters
    ----------
    series : pandas.Series or pandas.DataFrame
        One monthly count series with at least 12 months (24 to allow for season).
    breaks : list of str, optional
        Series-break months; the expected level steps at each.
    level : float, default 0.998
        Coverage of the control limits (0.998: 0.1% in each tail, the 99.8% limits used
        for funnel plots, close to 3-sigma limits).
    family : {"auto", "poisson", "negative_binomial"}
        Count model for the expected level and the limits.
    leave_one_out : bool, default True
        Judge each month against a model fitted to all *other* months, so that an
        extreme month cannot raise its own expected level (or the overdispersion) and
        hide itself. ``False`` fits once to all months (faster, less sensitive).

    Returns
    -------
    pandas.DataFrame
        One row per month:

        - ``month`` (str); ``observed`` (int);
        - ``expected`` (float): mean predicted by the trend + season + break model;
        - ``family`` (str): count model behind this month's limits;
        - ``lower``, ``upper`` (float): control limits (counts);
        - ``p_value`` (float in [0, 1]): two-sided tail probability of a count at least as
          extreme, ``min(1, 2 * min(P(Y <= y), P(Y >= y)))``;
        - ``flag`` (str): ``"high"`` (observed > upper), ``"low"`` (observed < lower) or ``""``;
        - ``exceptional`` (bool): ``flag != ""``.

    Notes
    -----
    The expected level comes from the log-linear model of :func:`trend_glm` (time,
    month-of-year, breaks), so a usual summer rise is not flagged. The limits are the
    ``(1 - level)/2`` and ``(1 + level)/2`` quantiles of the fitted count distribution
    (Poisson, or negative binomial NB2 if overdispersed) at the expected value: the exact
    discrete-distribution limits of Spiegelhalter (2005, "Funnel plots for comparing
    institutional performance", *Statistics in Medicine* 24, 1185-1202) rather than a
    normal 3-sigma rule. By default each month's expectation and limits come from the
    model refitted without that month (leave-one-out prediction), because with only two
    or three years a month-of-year effect rests on two or three values, and an extreme
    month would otherwise absorb itself into its own expectation. Months flagged in this
    pass are then left out of all fits in one second pass for the expected level (the
    dispersion is kept from the first pass, since trimming would shrink it), as when
    out-of-control points are removed before recomputing Phase I control limits
    (Montgomery, *Introduction to Statistical Quality Control*, ch. 6); otherwise an
    extreme month would distort the expectation for the same month in other years.
    """
    check_probability(level, "level")
    check_choice(family, "family", ["auto", "poisson", "negative_binomial"])
    check_type(leave_one_out, "leave_one_out", bool)
    s, br, use_season = _prepare_model(series, breaks, True)
    X = _design(s.index, br, use_season)
    y = s.to_numpy()
    n = len(s)
    mu = np.empty(n)
    nb_alpha = np.zeros(n)
    fams = np.empty(n, dtype=object)
    q = (1 - level) / 2
    if leave_one_out:
        # One refit per month of the series (months, not data rows). Months flagged in a
        # pass are left out of every fit in the next pass, until the flagged set is stable.
        flagged = np.zeros(n, dtype=bool)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for pass_no in range(2):
                for i in range(n):
                    mask = ~flagged
                    mask[i] = False
                    Xi = X.loc[mask]
                    Xi = Xi.loc[:, (Xi.to_numpy() != 0).any(axis=0)]  # a dummy may lose its only month
                    res, fam, _, _ = _fit_count_model(s[mask], Xi, family if pass_no == 0 else
                                                      ("negative_binomial" if fams[i] == "negative_binomial"
                                                       else "poisson"))
                    mu[i] = float(_fitted_mean(res, X.iloc[[i]][Xi.columns])[0])
                    if pass_no == 0:  # dispersion from the first pass only (trimming would shrink it)
                        nb_alpha[i] = _limit_alpha(res, fam)
                        fams[i] = fam
                new_flag = _outside_limits(y, mu, nb_alpha, q)
                if pass_no == 0 and not new_flag.any():
                    break
                flagged = new_flag
    else:
        res, fam, _, _ = _fit_count_model(s, X, family)
        mu[:] = _fitted_mean(res, X)
        nb_alpha[:] = _limit_alpha(res, fam)
        fams[:] = fam
    lower, upper, nbd, pod, use_nb = _count_limits(mu, nb_alpha, q)
    cdf = np.where(use_nb, nbd.cdf(y), pod.cdf(y))
    sf = np.where(use_nb, nbd.sf(y - 1), pod.sf(y - 1))
    pv = np.clip(2 * np.minimum(cdf, sf), 0, 1)
    flag = np.where(y > upper, "high", np.where(y < lower, "low", ""))
    return pd.DataFrame({"month": s.index.to_numpy(dtype=object), "observed": y.astype("int64"),
                         "expected": mu, "family": fams, "lower": lower, "upper": upper, "p_value": pv,
                         "flag": flag, "exceptional": flag != ""})


# --------------------------------------------------------------------------- forecast
def trend_forecast(series: Any, horizon: int = 12, breaks: Any = None, alpha: float = 0.05) -> pd.DataFrame:
    """Forecast the next months with prediction intervals (ETS exponential smoothing).

    Parameters
    ----------
    series : pandas.Series or pandas.DataFrame
        One monthly count series with at least 12 months.
    horizon : int, default 12
        Months to forecast.
    breaks : list of str, optional
        Series-break months. Months before a break are rescaled to the current counting
        rule using the step estimated by :func:`trend_glm`, so the forecast continues the
        post-break level.
    alpha : float, default 0.05
        The prediction interval covers ``1 - alpha``.

    Returns
    -------
    pandas.DataFrame
        One row per forecast month:

        - ``month`` (str);
        - ``forecast`` (float, >= 0): point forecast;
        - ``pi_low``, ``pi_high`` (float): ``1 - alpha`` prediction interval,
          with the lower bound cut at 0 (counts cannot be negative);
        - ``model`` (str): the ETS specification used.

    Notes
    -----
    Innovations state-space exponential smoothing (ETS; Hyndman, Koehler, Ord & Snyder
    2008, *Forecasting with Exponential Smoothing*) via
    ``statsmodels.tsa.exponential_smoothing.ets.ETSModel``: additive errors, damped
    additive trend (Gardner & McKenzie 1985) and, with 24 months or more, additive
    seasonality of period 12 -- ETS(A,Ad,A), else ETS(A,Ad,N). Prediction intervals are
    the model's analytic intervals. Additive errors can give negative values for small
    counts, so forecasts and lower bounds are truncated at 0.
    """
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    check_probability(alpha, "alpha")
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        raise ValueError(f"`horizon` must be a whole number of at least 1, got {horizon!r}")
    s = _as_series(series)
    if len(s) < _MIN_MONTHS_TREND:
        raise ValueError(f"`series` must have at least {_MIN_MONTHS_TREND} months to forecast, got {len(s)}")
    br = _check_breaks(breaks, s.index)
    y = s.copy()
    if br:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            steps = trend_glm(s, breaks=br, season=len(s) >= _MIN_MONTHS_SEASON)
        steps = steps[steps["term"] == "step"]
        factor = np.ones(len(s))
        for b, pct in zip(steps["month"], steps["estimate_pct"]):
            factor = np.where(s.index < b, factor * (1 + pct / 100.0), factor)
        y = y * factor
    seasonal = "add" if len(s) >= _MIN_MONTHS_SEASON else None
    idx = pd.PeriodIndex(s.index, freq="M").to_timestamp()
    endog = pd.Series(y.to_numpy(), index=pd.DatetimeIndex(idx, freq="MS"))
    model = ETSModel(endog, error="add", trend="add", damped_trend=True, seasonal=seasonal,
                     seasonal_periods=12 if seasonal else None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(disp=False)
        pred = fit.get_prediction(start=len(s), end=len(s) + horizon - 1).summary_frame(alpha=alpha)
    months = pd.period_range(_shift_month(s.index[-1], 1), periods=horizon, freq="M").strftime("%Y-%m")
    return pd.DataFrame({
        "month": np.asarray(months, dtype=object),
        "forecast": np.maximum(pred["mean"].to_numpy(), 0.0),
        "pi_low": np.maximum(pred["pi_lower"].to_numpy(), 0.0),
        "pi_high": np.maximum(pred["pi_upper"].to_numpy(), 0.0),
        "model": "ETS(A,Ad,A)" if seasonal else "ETS(A,Ad,N)",
    })


# --------------------------------------------------------------------------- breaks
def trend_breaks(breaks: Any, default_label: str = "series break") -> pd.DataFrame:
    """Series breaks as a small frame the charting code can draw (one vertical line each).

    Parameters
    ----------
    breaks : None, str, list, dict or pandas.DataFrame
        Accepted forms: a ``YYYY-MM`` string; a list of such strings; a mapping
        ``{month: label}``; a list of mappings with keys ``month``, optional ``label``
        and optional ``category``; or a DataFrame with a ``month`` column (and optional
        ``label``, ``category``). ``None`` gives an empty frame.
    default_label : str
        Label used where none is given.

    Returns
    -------
    pandas.DataFrame
        One row per break, sorted by month:

        - ``month`` (str): first month under the new rule, ``YYYY-MM``;
        - ``label`` (str): what changed (e.g. "counting rule change");
        - ``category`` (str or None): the series it applies to, where given;
        - ``month_start`` (datetime64): first day of ``month``, for date axes.

    Notes
    -----
    Pass the ``month`` values to the ``breaks`` argument of :func:`trend_glm`,
    :func:`trend_exceptions` and :func:`trend_forecast` so the break is modelled as a
    level shift and never as trend.
    """
    check_type(default_label, "default_label", str)
    if breaks is None:
        df = pd.DataFrame({"month": [], "label": [], "category": []})
    elif isinstance(breaks, pd.DataFrame):
        check_dataframe(breaks, "breaks", ["month"])
        df = breaks.copy()
    elif isinstance(breaks, str):
        df = pd.DataFrame({"month": [breaks]})
    elif isinstance(breaks, Mapping):
        df = pd.DataFrame({"month": list(breaks.keys()), "label": list(breaks.values())})
    elif isinstance(breaks, (list, tuple)):
        if all(isinstance(b, Mapping) for b in breaks):
            df = pd.DataFrame(list(breaks))
            if len(df) and "month" not in df.columns:
                raise ValueError(f"`breaks` entries must have a 'month' key, got keys {list(df.columns)}")
        elif all(isinstance(b, str) for b in breaks):
            df = pd.DataFrame({"month": list(breaks)})
        else:
            raise TypeError("`breaks` must be a list of YYYY-MM strings or of mappings, got a mixed list")
    else:
        raise TypeError(f"`breaks` must be a str, list, dict or DataFrame, got {type(breaks).__name__}")
    if "month" not in df.columns:
        df["month"] = []
    df["month"] = df["month"].astype(object)
    for i, m in enumerate(df["month"]):
        check_month(m, "breaks month", where=f"breaks row {i}")
    if "label" not in df.columns:
        df["label"] = default_label
    df["label"] = df["label"].where(df["label"].notna(), default_label).astype(object)
    if "category" not in df.columns:
        df["category"] = None
    df = df[["month", "label", "category"]].sort_values("month", kind="stable").reset_index(drop=True)
    df["month_start"] = pd.to_datetime(df["month"].astype(str) + "-01") if len(df) else pd.to_datetime([])
    return df
