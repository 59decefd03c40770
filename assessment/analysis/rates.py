"""Rates, proportions and comparison with a benchmark or a peer group (the ``rate_*`` family).

Methods follow the public-health indicator methods that partners already know:
Public Health England (now OHID), *Technical Guide: Confidence Intervals* (Fingertips
technical guidance, 2018), and Spiegelhalter's funnel plots.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from assessment.checks import (
    check_choice,
    check_dataframe,
    check_nonnegative_counts,
    check_positive,
    check_probability,
    check_type,
)

__all__ = [
    "rate_count_ci",
    "rate_per_1000",
    "rate_compared_with_total",
    "rate_table_dispersion",
    "rate_proportion",
    "rate_by_deprivation",
    "rate_deprivation_ratio",
    "rate_funnel_limits",
    "rate_funnel_overdispersion",
    "rate_funnel_position",
    "rate_significance",
    "rate_peer_position",
]

_BYAR_MIN = 10


def _level_tag(level: float) -> str:
    """0.95 -> '95', 0.998 -> '99_8'."""
    txt = f"{100 * level:.10g}"
    return txt.replace(".", "_")


def _show(value: Any) -> str:
    """repr of a value, with numpy scalars shown as plain Python values."""
    return repr(value.item() if hasattr(value, "item") else value)


def _counts(values: Any, name: str) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    check_nonnegative_counts(pd.Series(arr), name)
    return arr


def rate_count_ci(counts: Any, alpha: float = 0.05) -> pd.DataFrame:
    """Confidence interval for a Poisson count: Byar's method for 10 or more, exact below 10.

    Parameters
    ----------
    counts : int or array-like
        Observed counts ``O`` (whole numbers, 0 or more).
    alpha : float, default 0.05
        The interval has confidence ``1 - alpha``.

    Returns
    -------
    pandas.DataFrame
        One row per count:

        - ``count`` (float): ``O``;
        - ``lower``, ``upper`` (float): confidence limits for the expected count;
        - ``method`` (str): ``"byar"`` (``O >= 10``) or ``"exact"`` (``O < 10``).

    Notes
    -----
    As in Public Health England, *Technical Guide: Confidence Intervals* (2018, now
    OHID Fingertips), sections on rates and counts:

    * Byar's approximation (Breslow & Day 1987), used for ``O >= 10``::

          lower = O * (1 - 1/(9 O) - z / (3 sqrt(O)))**3
          upper = (O + 1) * (1 - 1/(9 (O + 1)) + z / (3 sqrt(O + 1)))**3

    * exact Poisson limits from the chi-square distribution, used for ``O < 10``::

          lower = chi2.ppf(alpha/2, 2 O) / 2        (0 when O = 0)
          upper = chi2.ppf(1 - alpha/2, 2 O + 2) / 2

    with ``z = norm.ppf(1 - alpha/2)``.
    """
    check_probability(alpha, "alpha")
    o = _counts(counts, "counts")
    z = stats.norm.ppf(1 - alpha / 2)
    byar = o >= _BYAR_MIN
    with np.errstate(divide="ignore", invalid="ignore"):
        b_low = o * (1 - 1 / (9 * o) - z / (3 * np.sqrt(o))) ** 3
        b_high = (o + 1) * (1 - 1 / (9 * (o + 1)) + z / (3 * np.sqrt(o + 1))) ** 3
        e_low = np.where(o > 0, stats.chi2.ppf(alpha / 2, 2 * o) / 2, 0.0)
        e_high = stats.chi2.ppf(1 - alpha / 2, 2 * o + 2) / 2
    return pd.DataFrame({
        "count": o,
        "lower": np.where(byar, b_low, e_low),
        "upper": np.where(byar, b_high, e_high),
        "method": np.where(byar, "byar", "exact"),
    })


def rate_per_1000(frame: pd.DataFrame, count_col: str = "count", population_col: str = "population",
                  per: float = 1000, alpha: float = 0.05) -> pd.DataFrame:
    """Crude rate per 1,000 (or per ``per``) with a confidence interval, for every row.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per area (or group), with a count and a population.
    count_col, population_col : str
        Columns holding the count ``O`` and the population ``N`` (> 0).
    per : float, default 1000
        Rate multiplier (1000 gives rates per 1,000 population).
    alpha : float, default 0.05
        The interval has confidence ``1 - alpha``.

    Returns
    -------
    pandas.DataFrame
        A copy of ``frame`` with

        - ``rate`` (float): ``per * O / N``;
        - ``ci_low``, ``ci_high`` (float): ``per * limits / N``, limits from
          :func:`rate_count_ci`;
        - ``ci_method`` (str): ``"byar"`` or ``"exact"``.

    Notes
    -----
    Public Health England, *Technical Guide: Confidence Intervals* (2018): Byar's method
    for counts of 10 or more, exact Poisson (chi-square) limits below 10; the
    population is treated as fixed (no error).
    """
    check_dataframe(frame, "frame", [count_col, population_col])
    check_positive(per, "per")
    check_probability(alpha, "alpha")
    check_nonnegative_counts(frame[count_col], count_col, "frame")
    pop = pd.to_numeric(frame[population_col], errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(pop) & (pop > 0))
    if bad.any():
        i = frame.index[bad][0]
        raise ValueError(f"`{population_col}` must be a number greater than 0, got "
                         f"{_show(frame[population_col].loc[i])} in frame row {i}")
    ci = rate_count_ci(frame[count_col].to_numpy(), alpha=alpha)
    out = frame.copy()
    out["rate"] = per * ci["count"].to_numpy() / pop
    out["ci_low"] = per * ci["lower"].to_numpy() / pop
    out["ci_high"] = per * ci["upper"].to_numpy() / pop
    out["ci_method"] = ci["method"].to_numpy()
    return out


def _ar1_moments(rho: float, months: int) -> tuple[float, float, float, float]:
    """Expectations for one area's standardised residuals around its own mean over ``months`` months.

    For residuals with covariance ``I + kappa R`` (``R[i, j] = rho^|i-j|``) after the area's mean
    is removed (``M = I - J / months``): ``tr(M)``, ``tr(M R)``, ``tr(U M)`` and ``tr(U M R M)``
    (``U``: lag-1 pairs), whose sums give the expected sum of squares and of lag-1 products.
    """
    i = np.arange(months)
    R = rho ** np.abs(i[:, None] - i[None, :])
    M = np.eye(months) - 1.0 / months
    U = np.eye(months, k=1)
    return float(np.trace(M)), float(np.trace(M @ R)), float(np.trace(U @ M)), float(np.trace(U @ M @ R @ M))


def rate_table_dispersion(*tables: Any, autocorrelation: bool = True) -> dict[str, float]:
    """Over-dispersion of counts by area and month, and the variance of an area's total over the months.

    Parameters
    ----------
    *tables : pandas.DataFrame or 2-D array-like
        One or more two-way tables of counts (whole numbers, 0 or more): one row per area
        (ward), one column per month, the months in order. Several tables (e.g. one per year,
        each with the same number of months) are pooled.
    autocorrelation : bool, default True
        Also allow for correlation between an area's neighbouring months (see Notes);
        ``False`` gives ``design_effect = dispersion``.

    Returns
    -------
    dict
        - ``pearson_chi2`` (float), ``df`` (int), ``ratio`` (float: ``pearson_chi2 / df``, NaN
          when ``df`` is 0) and ``dispersion`` (float: ``max(1, ratio)``; 1 when ``df`` is 0):
          the month-to-month over-dispersion;
        - ``autocorrelation`` (float in [0, 0.9]): the lag-1 correlation of the areas' extra
          variation (0 when none is estimated);
        - ``design_effect`` (float >= ``dispersion``): the variance of an area's total over a
          table's months as a multiple of its mean, the factor by which a count over those
          months is less certain than a Poisson count.

    Notes
    -----
    Each table is fitted by the Poisson log-linear model *area + month* (every area's monthly
    counts in proportion to the partnership's month by month): the maximum-likelihood
    expected count of a cell is ``row total * column total / grand total``
    (``scipy.stats.contingency.expected_freq``; the same fit as a ``statsmodels`` Poisson GLM
    with area and month factors). Then ``X2 = sum (O - E)^2 / E`` over the cells and
    ``df = (r - 1)(c - 1)``, counting only the rows and columns with any event. Under the
    quasi-Poisson model ``Var(O) = phi E``, ``X2 / df`` estimates ``phi`` (Wedderburn 1974,
    *Biometrika* 61, 439-447; McCullagh & Nelder 1989, *Generalized Linear Models*, 2nd ed.,
    chapters 6 and 9). The area terms take up real differences between areas and the month
    terms the partnership's seasonality and trend, so what is left is each area's noise
    around its own level: the noise a total over the months carries, not the spread between
    areas. ``dispersion`` is never below 1 (no credit for apparent under-dispersion).

    Busy or quiet spells that last more than a month make neighbouring months' residuals
    correlated, and a total over the months then varies more than ``phi`` times its mean,
    while ``X2 / df`` sees less of that variation (the area's own level absorbs part of it).
    Following Zeger (1988, "A regression model for time series of counts", *Biometrika* 75,
    621-629), the counts are taken as Poisson around a latent stationary AR(1) process: the
    standardised residuals ``(O - E) / sqrt(E)`` of an area have covariance
    ``I + kappa R(rho)``, ``R[i, j] = rho^|i-j|``. ``kappa`` and ``rho`` are the method-of-moments
    solution, pooled over the areas, of the expected sum of squared residuals and of lag-1
    products around each area's own mean (the expectations under mean removal, as for the
    Durbin & Watson 1950 correction in :func:`~assessment.analysis.trends.trend_glm`); ``rho``
    is kept within [0, 0.9]. Then ``design_effect = 1 + kappa * sum(R) / m`` for a total over
    the ``m`` months, which equals ``X2 / df`` when ``rho`` is 0. Without extra variation
    (``X2 / df <= 1``) both are 1.
    """
    from scipy.optimize import brentq

    if not tables:
        raise ValueError("rate_table_dispersion needs at least one table of counts, got none")
    check_type(autocorrelation, "autocorrelation", bool)
    chi2 = s1 = 0.0
    df = 0
    parts = []  # (areas, months, share of df) per table, for the expectations
    widths = set()
    for i, tab in enumerate(tables):
        arr = np.asarray(tab.to_numpy() if isinstance(tab, pd.DataFrame) else tab, dtype=float)
        if arr.ndim != 2:
            raise ValueError(f"table {i + 1} must be two-way (areas x months), got {arr.ndim} dimension(s)")
        check_nonnegative_counts(pd.Series(arr.ravel()), "counts", f"table {i + 1}")
        widths.add(arr.shape[1])
        arr = arr[arr.sum(axis=1) > 0][:, arr.sum(axis=0) > 0]  # rows and columns with any event
        r, c = arr.shape
        if r < 2 or c < 2:
            continue
        expected = stats.contingency.expected_freq(arr)
        resid = (arr - expected) / np.sqrt(expected)
        chi2 += float((resid**2).sum())
        s1 += float((resid[:, 1:] * resid[:, :-1]).sum())
        df += (r - 1) * (c - 1)
        parts.append((r, c, (r - 1) / r))  # the month terms take (c - 1) of r (c - 1) area-month df
    if autocorrelation and len(widths) > 1:
        raise ValueError(f"the tables must have the same number of months to pool, got {sorted(widths)}")
    ratio = chi2 / df if df else float("nan")
    out = {"pearson_chi2": chi2, "df": int(df), "ratio": ratio, "dispersion": float(max(1.0, ratio)) if df else 1.0,
           "autocorrelation": 0.0, "design_effect": float(max(1.0, ratio)) if df else 1.0}
    if not autocorrelation or not df or ratio <= 1.0:
        return out

    def expect(rho: float) -> tuple[float, float, float, float]:
        """Sums over the tables of the areas' expectations (see _ar1_moments)."""
        tot = np.zeros(4)
        for r, c, share in parts:
            tot += r * share * np.array(_ar1_moments(rho, c))
        return tuple(tot)

    def kappa(rho: float) -> float:
        m0, mr, _, _ = expect(rho)
        return (chi2 - m0) / mr

    def gap(rho: float) -> float:  # expected minus observed sum of lag-1 products
        _, _, u0, ur = expect(rho)
        return u0 + kappa(rho) * ur - s1

    rho = 0.0 if gap(0.0) >= 0 else 0.9 if gap(0.9) <= 0 else float(brentq(gap, 0.0, 0.9, xtol=1e-4))
    m = widths.pop()
    i = np.arange(m)
    k = max(0.0, kappa(rho))
    out["autocorrelation"] = rho
    out["design_effect"] = float(max(out["dispersion"], 1.0 + k * (rho ** np.abs(i[:, None] - i[None, :])).sum() / m))
    return out


def rate_compared_with_total(frame: pd.DataFrame, count_col: str = "count", population_col: str = "population",
                             group_col: str | None = None, alpha: float = 0.05,
                             dispersion: float | str | None = None) -> pd.DataFrame:
    """Each area's rate against the rate of all the areas together (a ward against its partnership).

    The decision behind a document's "N wards are significantly higher (95% confidence interval
    above the partnership rate)": :func:`rate_per_1000` for every row (with the interval widened
    for over-dispersion when ``dispersion`` is given), the total rate
    ``1000 * sum(count) / sum(population)`` (within ``group_col`` when given) and
    :func:`rate_significance` of each row's interval against it.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per area with a count and a population (> 0).
    count_col, population_col : str
        As in :func:`rate_per_1000`.
    group_col : str, optional
        Column naming separate sets of areas, each compared with its own total (e.g. one
        simulated partnership per value); all rows form one set by default.
    alpha : float, default 0.05
        The intervals have confidence ``1 - alpha``.
    dispersion : float or str, optional
        The counts' variance as a multiple of their mean (``phi``), e.g.
        :func:`rate_table_dispersion`'s ``design_effect`` of the areas' monthly counts: one
        number for every row, or the name of a column holding each row's (e.g. one per
        ``group_col`` set). Values below 1 count as 1. None (default): Poisson chance alone.

    Returns
    -------
    pandas.DataFrame
        The output of :func:`rate_per_1000` (``ci_low``, ``ci_high`` allowing for
        ``dispersion``) with ``total_rate`` (float: the rate of the row's set),
        ``significance`` (str: ``"higher"``, ``"similar"``, ``"lower"`` or
        ``"not compared"``, as :func:`rate_significance`) and ``dispersion`` (float >= 1:
        the design effect applied; 1 for Poisson chance alone).

    Notes
    -----
    Without ``dispersion`` the interval is Poisson (Byar / exact): it allows for chance in a
    count of independent events and for nothing else, and on over-dispersed counts (variance
    2.5 x mean) it calls about 10% of wards at the partnership's own expected rate "higher"
    against its nominal 2.5% (``assessment.calibration.wards``). With ``dispersion`` ``D``
    the count and the population are both divided by ``D`` (the count rounded to a whole
    number) and the same Byar / exact interval is taken of these effective numbers: the
    rate is unchanged and its interval about ``sqrt(D)`` times wider -- the design-effect
    adjustment of Rao & Scott (1992, *Biometrics* 48, 577-585), as
    :func:`~assessment.analysis.trends.trend_year_on_year` applies to a change. ``D`` should
    measure each area's noise around its own rate (as :func:`rate_table_dispersion` of the
    areas' monthly counts does), not the spread between areas (Spiegelhalter's funnel-plot
    allowance, :func:`rate_funnel_position`, which answers a different question: is an area
    unusual among areas like it?).
    """
    if group_col is not None:
        check_dataframe(frame, "frame", [group_col])
    rated = rate_per_1000(frame, count_col=count_col, population_col=population_col, alpha=alpha)
    cnt = pd.to_numeric(rated[count_col]).astype(float)
    pop = pd.to_numeric(rated[population_col]).astype(float)
    if group_col is None:
        total = np.full(len(rated), 1000.0 * cnt.sum() / pop.sum())
    else:
        key = rated[group_col]
        total = (1000.0 * cnt.groupby(key).transform("sum") / pop.groupby(key).transform("sum")).to_numpy(float)
    if dispersion is None:
        design = np.ones(len(rated))
    else:
        if isinstance(dispersion, str):
            check_dataframe(frame, "frame", [dispersion])
            design = pd.to_numeric(frame[dispersion], errors="coerce").to_numpy(dtype=float)
        else:
            check_type(dispersion, "dispersion", (int, float, np.integer, np.floating))
            design = np.full(len(rated), float(dispersion))
        if not np.all(np.isfinite(design) & (design > 0)):
            raise ValueError(f"`dispersion` must be a number greater than 0 (1 or more to widen), got "
                             f"{design[~(np.isfinite(design) & (design > 0))][:3]}")
        design = np.maximum(design, 1.0)
        eff = rate_count_ci(np.round(cnt.to_numpy() / design), alpha=alpha)
        rated["ci_low"] = 1000.0 * eff["lower"].to_numpy() * design / pop.to_numpy()
        rated["ci_high"] = 1000.0 * eff["upper"].to_numpy() * design / pop.to_numpy()
        rated["ci_method"] = eff["method"].to_numpy()
    rated["total_rate"] = total
    rated["significance"] = rate_significance(rated, total).to_numpy()
    rated["dispersion"] = design
    return rated


def rate_proportion(frame: pd.DataFrame, count_col: str, total_col: str, alpha: float = 0.05) -> pd.DataFrame:
    """Proportion with a Wilson score interval, for every row.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per group.
    count_col : str
        Number with the characteristic ``O`` (e.g. repeat victims).
    total_col : str
        Number in the group ``n`` (``n >= O``, ``n > 0``).
    alpha : float, default 0.05
        The interval has confidence ``1 - alpha``.

    Returns
    -------
    pandas.DataFrame
        A copy of ``frame`` with

        - ``proportion`` (float): ``O / n``;
        - ``ci_low``, ``ci_high`` (float): Wilson score limits, in [0, 1].

    Notes
    -----
    Wilson (1927), "Probable inference, the law of succession, and statistical
    inference", *JASA* 22, 209-212, in the closed form of Public Health England,
    *Technical Guide: Confidence Intervals* (2018)::

        (2 O + z^2 -/+ z sqrt(z^2 + 4 O (1 - O/n))) / (2 (n + z^2))

    It keeps good coverage for proportions near 0 or 1 and never leaves [0, 1]
    (Newcombe 1998, *Statistics in Medicine* 17, 857-872).
    """
    check_dataframe(frame, "frame", [count_col, total_col])
    check_probability(alpha, "alpha")
    check_nonnegative_counts(frame[count_col], count_col, "frame")
    check_nonnegative_counts(frame[total_col], total_col, "frame")
    o = frame[count_col].to_numpy(dtype=float)
    n = frame[total_col].to_numpy(dtype=float)
    bad = (n <= 0) | (o > n)
    if bad.any():
        i = frame.index[bad][0]
        raise ValueError(f"`{total_col}` must be greater than 0 and at least `{count_col}`, got "
                         f"{count_col}={o[bad][0]:g}, {total_col}={n[bad][0]:g} in frame row {i}")
    z = stats.norm.ppf(1 - alpha / 2)
    p = o / n
    root = z * np.sqrt(z**2 + 4 * o * (1 - p))
    out = frame.copy()
    out["proportion"] = p
    out["ci_low"] = np.clip((2 * o + z**2 - root) / (2 * (n + z**2)), 0, 1)
    out["ci_high"] = np.clip((2 * o + z**2 + root) / (2 * (n + z**2)), 0, 1)
    return out


def rate_by_deprivation(counts: pd.DataFrame, areas: pd.DataFrame, decile_col: str, *,
                        population_col: str = "population", count_col: str = "count",
                        code_col: str = "area_code", years: float = 1.0, per: float = 1000,
                        alpha: float = 0.05) -> pd.DataFrame:
    """Rates by deprivation decile: how far events concentrate in the most deprived areas.

    Parameters
    ----------
    counts : pandas.DataFrame
        Events per small area: ``code_col`` and ``count_col``. Events placed in no small area
        are left out by the caller (they have no decile).
    areas : pandas.DataFrame
        One row per small area of the partnership: ``code``, ``decile_col`` (1 = most deprived
        10% nationally, 10 = least deprived) and ``population_col``.
    decile_col : str
        The decile column of ``areas`` (e.g. the index of multiple deprivation decile).
    years : float, default 1
        Length of the period the counts cover, so that rates are per year.
    per : float, default 1000
        Rate multiplier.
    alpha : float, default 0.05
        Confidence intervals have confidence ``1 - alpha``.

    Returns
    -------
    pandas.DataFrame
        One row per decile present among the areas, in order:

        - ``decile`` (int);
        - ``areas`` (int): small areas in the decile;
        - ``population`` (float): residents of those areas;
        - ``count`` (int): events in them;
        - ``rate``, ``ci_low``, ``ci_high`` (float): events per ``per`` residents per year, with
          the interval of :func:`rate_per_1000` (NaN where the decile has no residents);
        - ``share_of_events``, ``share_of_population`` (float): the decile's shares of the
          partnership's placed events and of its residents, in [0, 1].

    Notes
    -----
    Counts and residents are summed within each decile, and the decile's rate and interval
    are those of :func:`rate_per_1000` (Byar's method for counts of 10 or more, exact Poisson
    below; Public Health England, *Technical Guide: Confidence Intervals*, 2018), divided by
    ``years``. Comparing the shares of events and of residents by decile is the usual way
    public-health profiles show concentration by deprivation (OHID Fingertips inequality
    breakdowns by IMD decile). Deciles are national: a partnership may hold only a few.
    """
    check_dataframe(counts, "counts", [code_col, count_col])
    check_dataframe(areas, "areas", ["code", decile_col, population_col])
    check_positive(years, "years")
    check_nonnegative_counts(counts[count_col], count_col, "counts")
    dec = pd.to_numeric(areas[decile_col], errors="coerce")
    bad = dec.notna() & ~dec.isin(range(1, 11))
    if bad.any():
        i = areas.index[bad.to_numpy()][0]
        raise ValueError(f"`{decile_col}` must be a whole number from 1 to 10, got {_show(areas[decile_col].loc[i])} "
                         f"in areas row {i}")
    per_area = counts.groupby(counts[code_col].astype(str))[count_col].sum()
    frame = pd.DataFrame({"decile": dec.to_numpy(),
                          "population": pd.to_numeric(areas[population_col], errors="coerce").fillna(0).to_numpy(),
                          "count": areas["code"].astype(str).map(per_area).fillna(0).to_numpy()})
    frame = frame[frame["decile"].notna()]
    table = (frame.groupby("decile").agg(areas=("count", "size"), population=("population", "sum"),
                                         count=("count", "sum")).reset_index())
    table["decile"] = table["decile"].astype(int)
    table["count"] = table["count"].round().astype(int)
    table["rate"] = np.nan
    table["ci_low"] = np.nan
    table["ci_high"] = np.nan
    has = table["population"] > 0
    if has.any():
        r = rate_per_1000(table[has], "count", "population", per=per, alpha=alpha)
        for c in ("rate", "ci_low", "ci_high"):
            table.loc[has, c] = r[c].to_numpy() / years
    total_events = table["count"].sum()
    total_pop = table["population"].sum()
    table["share_of_events"] = table["count"] / total_events if total_events else np.nan
    table["share_of_population"] = table["population"] / total_pop if total_pop else np.nan
    return table


def rate_deprivation_ratio(table: pd.DataFrame, most: tuple[int, ...] = (1, 2), least: tuple[int, ...] = (9, 10),
                           alpha: float = 0.05) -> dict[str, Any]:
    """Rate ratio of the most against the least deprived deciles, with its interval.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`rate_by_deprivation` (``decile``, ``count``, ``population``).
    most, least : tuple of int
        The deciles compared (by default the most and least deprived fifths).
    alpha : float, default 0.05

    Returns
    -------
    dict
        ``ratio``, ``ci_low``, ``ci_high``, ``p_value`` (floats), ``most_count``, ``least_count``
        (ints) and ``available`` (bool; False, with NaNs, when either group has no residents
        in the partnership).

    Notes
    -----
    Ratio of two Poisson rates with the score interval and test of Gu, Ng, Tang & Schucany
    (2008), "Testing the ratio of two Poisson rates", *Biometrical Journal* 50, 283-298, as
    implemented in statsmodels ``stats.rates.confint_poisson_2indep`` and
    ``test_poisson_2indep`` (``method="score"``).
    """
    from statsmodels.stats.rates import confint_poisson_2indep, test_poisson_2indep

    check_dataframe(table, "table", ["decile", "count", "population"])
    a = table[table["decile"].isin(most)]
    b = table[table["decile"].isin(least)]
    ca, na_, cb, nb = int(a["count"].sum()), float(a["population"].sum()), int(b["count"].sum()), float(b["population"].sum())
    out: dict[str, Any] = {"most_count": ca, "least_count": cb, "available": bool(na_ > 0 and nb > 0),
                           "ratio": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan}
    if not out["available"] or cb == 0:
        out["available"] = out["available"] and cb > 0
        return out
    low, high = confint_poisson_2indep(ca, na_, cb, nb, method="score", compare="ratio", alpha=alpha)
    test = test_poisson_2indep(ca, na_, cb, nb, method="score", compare="ratio")
    out.update(ratio=(ca / na_) / (cb / nb), ci_low=float(low), ci_high=float(high), p_value=float(test.pvalue))
    return out


def _poisson_limit(p: float, expected: np.ndarray) -> np.ndarray:
    """Spiegelhalter's interpolated Poisson p-quantile of a count with mean ``expected``."""
    r = stats.poisson.ppf(p, expected)
    f_r = stats.poisson.cdf(r, expected)
    f_rm1 = stats.poisson.cdf(r - 1, expected)
    a = (f_r - p) / (f_r - f_rm1)
    return r - a


FUNNEL_OVERDISPERSION = ("additive", "multiplicative", None)


def _inflate(limit_rate: np.ndarray, benchmark_rate: float, expected: np.ndarray, tau2: float,
             phi: float) -> np.ndarray:
    """Widen exact Poisson limits for over-dispersion on the square-root scale (see rate_funnel_limits)."""
    if tau2 <= 0 and phi <= 1:
        return limit_rate
    s2 = 1.0 / (4.0 * expected)
    factor = np.sqrt((s2 + max(tau2, 0.0)) / s2) * np.sqrt(max(phi, 1.0))
    dev = np.sqrt(np.maximum(limit_rate, 0.0) / benchmark_rate) - 1.0
    root = np.maximum(1.0 + dev * factor, 0.0)
    return benchmark_rate * root**2


def rate_funnel_overdispersion(counts: Any, expected: Any, winsorise: float = 0.1) -> dict[str, float]:
    """Over-dispersion of areas around a funnel plot's benchmark: Spiegelhalter's phi and tau^2.

    Parameters
    ----------
    counts : array-like
        Observed counts ``O`` per area (whole numbers, 0 or more).
    expected : array-like
        Counts expected at the benchmark ``E`` per area, all > 0.
    winsorise : float, default 0.1
        Share of z-scores set to the ``winsorise`` and ``1 - winsorise`` quantiles at each end
        before estimating (0 for none).

    Returns
    -------
    dict
        ``phi`` (mean squared winsorised z-score: about 1 without over-dispersion),
        ``tau2`` (additive between-area variance on the square-root scale, 0 when
        ``n * phi <= n - 1``), ``n`` (areas) and ``winsorise``.

    Notes
    -----
    Spiegelhalter (2005), "Funnel plots for comparing institutional performance",
    *Statistics in Medicine* 24:1185-1202: for a count against its expectation the
    variance-stabilised z-score is ``z = (sqrt(O/E) - 1) / s`` with ``s = 1 / (2 sqrt(E))``
    (the square-root transform also used by the Care Quality Commission and in R's
    FunnelPlotR). The z-scores are winsorised (the lowest ``100q%`` set to the ``q``
    quantile, the highest to the ``1 - q`` quantile, keeping their number), then
    ``phi = (1/n) sum z^2`` and, with ``w = 1/s^2``, the additive random-effects variance is
    ``tau^2 = max(0, (n phi - (n - 1)) / (sum w - sum w^2 / sum w))``
    (a DerSimonian-Laird moment estimator).
    """
    o = _counts(counts, "counts")
    e = np.atleast_1d(np.asarray(expected, dtype=float))
    if e.shape != o.shape or not np.all(np.isfinite(e) & (e > 0)):
        raise ValueError(f"`expected` must hold one number greater than 0 per count ({o.size}), got {e[:3]}")
    if not 0 <= winsorise < 0.5:
        raise ValueError(f"`winsorise` must be from 0 to below 0.5, got {winsorise!r}")
    s = 1.0 / (2.0 * np.sqrt(e))
    z = (np.sqrt(o / e) - 1.0) / s
    if winsorise > 0 and z.size > 2:
        lo, hi = np.quantile(z, [winsorise, 1.0 - winsorise])
        z = np.clip(z, lo, hi)
    n = z.size
    phi = float(np.mean(z**2))
    w = 1.0 / s**2
    denom = float(w.sum() - (w**2).sum() / w.sum())
    tau2 = float(max(0.0, (n * phi - (n - 1)) / denom)) if denom > 0 else 0.0
    return {"phi": phi, "tau2": tau2, "n": int(n), "winsorise": float(winsorise)}


def rate_funnel_limits(population: Any, benchmark_rate: float, per: float = 1000,
                       levels: tuple[float, ...] = (0.95, 0.998), tau2: float = 0.0,
                       phi: float = 1.0) -> pd.DataFrame:
    """Funnel-plot control limits for rates around a benchmark, as a function of population.

    Parameters
    ----------
    population : float or array-like
        Populations at which to compute the limits (e.g. each ward's, or a smooth grid
        for drawing the funnel), all > 0.
    benchmark_rate : float
        The benchmark (e.g. partnership-wide) rate, per ``per`` population, > 0.
    per : float, default 1000
        Rate multiplier.
    levels : tuple of float, default (0.95, 0.998)
        Coverage of each pair of limits.
    tau2 : float, default 0
        Additive between-area variance (on the square-root scale) to allow for, from
        :func:`rate_funnel_overdispersion`; 0 for none.
    phi : float, default 1
        Multiplicative over-dispersion factor to allow for (values at or below 1 change nothing).

    Returns
    -------
    pandas.DataFrame
        One row per population:

        - ``population`` (float);
        - ``expected`` (float): expected count ``benchmark_rate * population / per``;
        - ``benchmark`` (float): the benchmark rate (constant);
        - ``lower_<L>``, ``upper_<L>`` (float): limits on the rate scale for each level,
          with ``<L>`` the level in percent and ``_`` for the decimal point
          (``lower_95``, ``upper_95``, ``lower_99_8``, ``upper_99_8``).

    Notes
    -----
    Spiegelhalter (2005), "Funnel plots for comparing institutional performance",
    *Statistics in Medicine* 24, 1185-1202, exact Poisson limits. For expected count
    ``E`` and tail probability ``p`` (``(1 - level)/2`` and ``(1 + level)/2``),
    ``r_p`` is the ``p``-quantile of Poisson(``E``) and the smooth limit is
    ``r_p - a`` with ``a = (F(r_p) - p) / (F(r_p) - F(r_p - 1))`` (Spiegelhalter's
    interpolation for discrete data, in the paper's appendix); the rate limit is ``per * (r_p - a) / population``.
    An area outside the 95% limits is unusual; outside 99.8% (about 3 standard errors)
    it is very unlikely to be chance.

    Over-dispersion (Spiegelhalter 2005, section on over-dispersion): areas differ for
    reasons nobody is accountable for, so limits from Poisson chance alone flag too many.
    With an additive random effect the limits on the square-root scale become
    ``1 +/- z sqrt(s^2 + tau^2)`` with ``s = 1/(2 sqrt(E))``; with a multiplicative factor,
    ``1 +/- z sqrt(phi) s``. To keep the exact Poisson limits when there is nothing to allow
    for, the exact limit's deviation on the square-root scale, ``sqrt(limit / benchmark) - 1``
    (about ``z s``), is multiplied by ``sqrt((s^2 + tau^2) / s^2)`` (and by ``sqrt(phi)``), which
    gives those formulas wherever the normal approximation holds.
    """
    check_positive(benchmark_rate, "benchmark_rate")
    check_positive(per, "per")
    check_type(levels, "levels", (tuple, list))
    for lv in levels:
        check_probability(lv, "levels")
    pop = np.atleast_1d(np.asarray(population, dtype=float))
    if not np.all(np.isfinite(pop) & (pop > 0)):
        raise ValueError(f"`population` must hold numbers greater than 0, got {pop[~(np.isfinite(pop) & (pop > 0))][:3]}")
    check_positive(tau2, "tau2", allow_zero=True)
    check_positive(phi, "phi")
    expected = benchmark_rate * pop / per
    out = pd.DataFrame({"population": pop, "expected": expected, "benchmark": float(benchmark_rate)})
    for lv in levels:
        tag = _level_tag(lv)
        lower = np.maximum(_poisson_limit((1 - lv) / 2, expected), 0.0) * per / pop
        upper = _poisson_limit((1 + lv) / 2, expected) * per / pop
        out[f"lower_{tag}"] = _inflate(lower, benchmark_rate, expected, tau2, phi)
        out[f"upper_{tag}"] = _inflate(upper, benchmark_rate, expected, tau2, phi)
    return out


def rate_funnel_position(frame: pd.DataFrame, count_col: str = "count", population_col: str = "population",
                         benchmark_rate: float | None = None, per: float = 1000,
                         overdispersion: str | None = "additive", winsorise: float = 0.1) -> pd.DataFrame:
    """Place each area on a funnel plot around a benchmark rate.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per area with a count and a population.
    count_col, population_col : str
        Count and population columns.
    benchmark_rate : float, optional
        Benchmark rate per ``per``; by default the pooled rate
        ``per * sum(count) / sum(population)`` of the frame.
    per : float, default 1000
        Rate multiplier.
    overdispersion : {'additive', 'multiplicative', None}, default 'additive'
        Allow for real variation between areas (Spiegelhalter 2005): an additive random
        effect ``tau^2`` (default), a multiplicative factor ``phi`` (used only when above 1),
        or ``None`` for Poisson chance alone. Both are estimated from the areas themselves by
        :func:`rate_funnel_overdispersion` (with fewer than 3 areas nothing is allowed for).
    winsorise : float, default 0.1
        Winsorisation of the z-scores used to estimate the over-dispersion.

    Returns
    -------
    pandas.DataFrame
        A copy of ``frame`` with

        - ``rate`` (float): ``per * count / population``;
        - ``expected`` (float): count expected at the benchmark rate;
        - ``benchmark`` (float);
        - ``lower_95``, ``upper_95``, ``lower_99_8``, ``upper_99_8`` (float): funnel limits
          at this area's population (see :func:`rate_funnel_limits`);
        - ``funnel`` (str): ``"above 99.8%"``, ``"above 95%"``, ``"within"``,
          ``"below 95%"`` or ``"below 99.8%"`` (outside means strictly beyond the limit);
        - ``z_score`` (float): ``2 (sqrt(count) - sqrt(expected))``, the square-root-scale
          z-score before any allowance;
        - ``overdispersion`` (str): the allowance made (``'additive'``,
          ``'multiplicative'`` or ``'none'``); ``phi``, ``tau2`` (float): the estimates
          (see :func:`rate_funnel_overdispersion`), the same on every row;
        - ``poisson_lower_99_8``, ``poisson_upper_99_8`` (float): the limits from Poisson
          chance alone, for comparison.

    Notes
    -----
    Spiegelhalter (2005), *Statistics in Medicine* 24, 1185-1202. Comparing each ward
    with the partnership's own pooled rate is the usual use in a strategic assessment.
    Without an allowance for over-dispersion, 20 areas whose true rates differ by 15%
    put several areas outside the 99.8% limits on average; with it, fewer than one (see
    ``docs/VALIDATION.md``). The allowance answers "is this area unusual among areas like
    it?", not "could this be Poisson chance?".
    """
    check_dataframe(frame, "frame", [count_col, population_col])
    check_positive(per, "per")
    check_nonnegative_counts(frame[count_col], count_col, "frame")
    pop = pd.to_numeric(frame[population_col], errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(pop) & (pop > 0)):
        i = frame.index[~(np.isfinite(pop) & (pop > 0))][0]
        raise ValueError(f"`{population_col}` must be a number greater than 0, got "
                         f"{_show(frame[population_col].loc[i])} in frame row {i}")
    cnt = frame[count_col].to_numpy(dtype=float)
    if benchmark_rate is None:
        benchmark_rate = float(per * cnt.sum() / pop.sum())
        if benchmark_rate <= 0:
            raise ValueError("the pooled benchmark rate is 0 (no events at all); pass `benchmark_rate`")
    check_choice(overdispersion, "overdispersion", FUNNEL_OVERDISPERSION)
    expected = benchmark_rate * pop / per
    est = (rate_funnel_overdispersion(cnt, expected, winsorise) if len(cnt) >= 3
           else {"phi": 1.0, "tau2": 0.0})
    tau2 = est["tau2"] if overdispersion == "additive" else 0.0
    phi = est["phi"] if overdispersion == "multiplicative" else 1.0
    lim = rate_funnel_limits(pop, benchmark_rate, per=per, tau2=tau2, phi=phi)
    plain = rate_funnel_limits(pop, benchmark_rate, per=per, levels=(0.998,))
    out = frame.copy()
    rate = per * cnt / pop
    out["rate"] = rate
    for c in ("expected", "benchmark", "lower_95", "upper_95", "lower_99_8", "upper_99_8"):
        out[c] = lim[c].to_numpy()
    out["funnel"] = np.select(
        [rate > lim["upper_99_8"].to_numpy(), rate > lim["upper_95"].to_numpy(),
         rate < lim["lower_99_8"].to_numpy(), rate < lim["lower_95"].to_numpy()],
        ["above 99.8%", "above 95%", "below 99.8%", "below 95%"], default="within")
    out["z_score"] = 2.0 * (np.sqrt(cnt) - np.sqrt(expected))
    used = overdispersion if (tau2 > 0 or phi > 1) else None
    out["overdispersion"] = used or "none"
    out["phi"] = float(est["phi"])
    out["tau2"] = float(est["tau2"])
    out["poisson_lower_99_8"] = plain["lower_99_8"].to_numpy()
    out["poisson_upper_99_8"] = plain["upper_99_8"].to_numpy()
    return out


def rate_significance(frame: pd.DataFrame, benchmark: Any, low_col: str = "ci_low",
                      high_col: str = "ci_high") -> pd.Series:
    """Label each value "higher", "similar" or "lower" than a benchmark by its confidence interval.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows with a confidence interval (e.g. output of :func:`rate_per_1000`).
    benchmark : float or array-like
        Benchmark value(s) on the same scale (e.g. the England or partnership rate).
    low_col, high_col : str
        Interval columns.

    Returns
    -------
    pandas.Series
        Named ``significance``, aligned with ``frame``: ``"higher"`` when the whole
        interval lies above the benchmark (``ci_low > benchmark``), ``"lower"`` when it lies
        below (``ci_high < benchmark``), ``"similar"`` when it contains the benchmark, and
        ``"not compared"`` when the interval or benchmark is missing.

    Notes
    -----
    The rule used by PHE/OHID Fingertips ("compared with benchmark": significantly
    higher, similar, significantly lower), which compares the area's confidence interval
    with the benchmark's point value; see Public Health England, *Technical Guide:
    Confidence Intervals* (2018). It is not a test of two intervals overlapping.
    """
    check_dataframe(frame, "frame", [low_col, high_col])
    lo = pd.to_numeric(frame[low_col], errors="coerce").to_numpy(dtype=float)
    hi = pd.to_numeric(frame[high_col], errors="coerce").to_numpy(dtype=float)
    bm = np.broadcast_to(np.asarray(benchmark, dtype=float), lo.shape)
    missing = np.isnan(lo) | np.isnan(hi) | np.isnan(bm)
    lab = np.select([missing, lo > bm, hi < bm], ["not compared", "higher", "lower"], default="similar")
    return pd.Series(lab, index=frame.index, name="significance", dtype=object)


def rate_peer_position(peers: pd.DataFrame, code: str, rate_col: str, code_col: str = "csp_code",
                       name_col: str | None = "csp_name", z: float = 1.96,
                       rate_label: str = "per 1,000 population") -> pd.DataFrame:
    """The partnership's position in its most-similar group (MSG) for one rate.

    Parameters
    ----------
    peers : pandas.DataFrame
        One row per partnership in the group (the partnership itself included), with a
        code column and a rate column (e.g. ``peers/most_similar_group.csv``).
    code : str
        The partnership's code (e.g. ``"E07900001"``).
    rate_col : str
        The rate to compare (e.g. crimes per 1,000 of one crime type).
    code_col, name_col : str
        Code and (optional) name columns.
    z : float, default 1.96
        Width of the group's band in standard deviations: ``mean +/- z * SD``.
        ``z = 1.96`` holds about 95% of peers if rates are roughly normal;
        ``z = 1.0`` gives a mean +/- 1 SD band.
    rate_label : str
        Units used in the sentence.

    Returns
    -------
    pandas.DataFrame
        One row:

        - ``code``, ``name`` (str); ``rate`` (float): the partnership's rate;
        - ``rank`` (int): 1 = highest rate in the group (ties share the better rank);
        - ``n_peers`` (int): partnerships in the group with a rate;
        - ``group_mean``, ``group_sd`` (float): mean and sample SD (ddof=1) over the group,
          the partnership included;
        - ``band_low``, ``band_high`` (float): ``group_mean -/+ z * group_sd``;
        - ``position`` (str): ``"above"``, ``"within"`` or ``"below"`` the band;
        - ``outside`` (bool): ``position != "within"``;
        - ``sentence`` (str): a plain-English summary (:func:`describe_peer_position`).

    Notes
    -----
    Most-similar-group comparison as used by the Home Office (iQuanta / Police.uk MSG
    comparisons): the group average is the unweighted mean of members' rates. The band
    is a descriptive range of the group, ``mean +/- z SD`` (normal reference range); it
    is not a significance test, and with 15 members it is itself uncertain.
    """
    from assessment.analysis.wording import describe_peer_position

    cols = [code_col, rate_col] + ([name_col] if name_col else [])
    check_dataframe(peers, "peers", cols)
    check_type(code, "code", str)
    check_positive(z, "z")
    codes = peers[code_col].astype(str)
    if (codes == code).sum() != 1:
        raise ValueError(f"`code` must appear exactly once in peers column `{code_col}`, got {code!r} "
                         f"{int((codes == code).sum())} times")
    rates = pd.to_numeric(peers[rate_col], errors="coerce")
    mine = float(rates[(codes == code).to_numpy()].iloc[0])
    if np.isnan(mine):
        raise ValueError(f"`{rate_col}` must be a number for {code!r}, got {_show(peers.loc[codes == code, rate_col].iloc[0])}")
    valid = rates.dropna()
    if len(valid) < 3:
        raise ValueError(f"`peers` must hold at least 3 partnerships with a `{rate_col}`, got {len(valid)}")
    rank = int((valid > mine).sum() + 1)
    mean = float(valid.mean())
    sd = float(valid.std(ddof=1))
    lo, hi = mean - z * sd, mean + z * sd
    position = "above" if mine > hi else "below" if mine < lo else "within"
    name = str(peers.loc[(codes == code).to_numpy(), name_col].iloc[0]) if name_col else code
    sentence = describe_peer_position(name, mine, rank, len(valid), mean, lo, hi, position,
                                      rate_label=rate_label, z=z)
    return pd.DataFrame([{
        "code": code, "name": name, "rate": mine, "rank": rank, "n_peers": int(len(valid)),
        "group_mean": mean, "group_sd": sd, "band_low": lo, "band_high": hi,
        "position": position, "outside": position != "within", "sentence": sentence,
    }])
