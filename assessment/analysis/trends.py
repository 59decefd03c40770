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
from dataclasses import dataclass
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
    "trend_pooled_autocorrelation",
    "trend_exceptions",
    "trend_forecast",
    "trend_breaks",
    "trend_fdr",
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
    cols: dict[str, np.ndarray] = {"const": np.ones(n)}  # built at once: one frame, not a column insert each
    if trend:
        t = np.arange(n, dtype=float) / 12.0
        cols["time_years"] = t - t.mean()
    if season:
        moy = pd.PeriodIndex(months, freq="M").month.to_numpy()
        for m in range(2, 13):
            cols[f"month_{m:02d}"] = (moy == m).astype(float)
    for b in breaks:
        cols[f"step_{b}"] = np.asarray(months >= b, dtype=float)
    return pd.DataFrame(cols, index=months)


@dataclass(frozen=True)
class _Recorded:
    """A series' model restricted to the months in which its category was recorded at all.

    A stretch between series breaks with no event at all (a crime type first recorded at a
    break, or no longer recorded after one) separates the Poisson likelihood: its step has no
    finite estimate, and the fit's Wald test gives p near 1 however clear the change. Such
    stretches are left out of the fit (``kept``); the breaks that bound them are
    ``unrecorded`` (``"from_none"``, ``"to_none"`` or ``"none_either_side"``) and tested by
    likelihood ratio instead (:func:`_unrecorded_step`). A stretch of nothing between two
    recorded stretches gets a nuisance column (``gap_<month>``) so the level across it is free.
    """

    full: pd.Series            # the counts of every month
    series: pd.Series          # the counts of the kept months
    X: pd.DataFrame            # the design on the kept months
    design: pd.DataFrame       # the same columns on every month
    kept: np.ndarray           # bool per month of the whole series
    segment: np.ndarray        # stretch index per month (number of breaks at or before it)
    unrecorded: dict[str, str]  # break month -> which side had nothing
    trend: bool = True         # whether the recorded months can carry a trend (``X`` has ``time_years``)


def _recorded_model(s: pd.Series, br: list[str], use_season: bool, name: str = "series"
                    ) -> tuple[_Recorded, bool]:
    """The model on the months of ``s`` whose stretch between breaks holds any event (see :class:`_Recorded`).

    Returns the restricted model and whether month-of-year terms are still used (dropped, with a
    warning, when fewer than 24 recorded months remain). Without an empty stretch the model is
    the usual one on every month.
    """
    months = np.asarray(s.index, dtype=object)
    segment = np.searchsorted(np.asarray(br, dtype=object), months, side="right") if br else np.zeros(len(s), int)
    totals = np.bincount(segment, weights=s.to_numpy(dtype=float), minlength=len(br) + 1)
    empty = totals <= 0
    unrecorded: dict[str, str] = {}
    for k, b in enumerate(br):  # break k parts stretch k from stretch k + 1
        if empty[k] or empty[k + 1]:
            unrecorded[b] = ("none_either_side" if empty[k] and empty[k + 1] else
                             "from_none" if empty[k] else "to_none")
    if not unrecorded:  # nothing to leave out: the whole series
        design = _design(s.index, br, use_season)
        return _Recorded(s, s, design, design, np.ones(len(s), bool), segment, {}), use_season
    kept = ~empty[segment]
    n_kept = int(kept.sum())
    first, last = int(np.argmax(~empty)), int(len(empty) - 1 - np.argmax(~empty[::-1]))

    def build(seasonal: bool, trend: bool) -> pd.DataFrame:
        design = _design(s.index, [b for b in br if b not in unrecorded], seasonal, trend)
        for k in range(first + 1, last):  # a run of empty stretches between recorded ones: free level across it
            if empty[k] and not empty[k + 1]:
                design[f"gap_{br[k]}"] = np.asarray(months >= br[k], dtype=float)
        return design

    def fits(design: pd.DataFrame) -> bool:  # estimable from the recorded months, with a residual left
        X = design.to_numpy(dtype=float)[kept]
        return n_kept > X.shape[1] and np.linalg.matrix_rank(X) == X.shape[1]

    seasonal = use_season and n_kept >= _MIN_MONTHS_SEASON
    design = build(seasonal, True)
    if seasonal and not fits(design):  # e.g. a whole empty year between two recorded ones
        seasonal = False
        design = build(False, True)
    trend = n_kept >= _MIN_MONTHS_TREND and fits(design)  # as many months as a whole series needs
    if not trend:
        design = build(False, False)
        warnings.warn(f"`{name}` has too few months in the stretches between series breaks in which anything was "
                      f"recorded ({n_kept}; a trend needs {_MIN_MONTHS_TREND}) to estimate a trend: only the steps "
                      "at its breaks are tested", stacklevel=3)
    elif use_season and not seasonal:
        warnings.warn(f"`{name}`: the {n_kept} months in the stretches between series breaks in which anything was "
                      "recorded cannot carry month-of-year terms beside the trend: they are dropped", stacklevel=3)
    return _Recorded(s, s[kept], design[kept], design, kept, segment, unrecorded, trend), seasonal and trend


def _unrecorded_step(rec: _Recorded, brk: str, scale: float, rho: float, kappa: float, quasi: bool,
                     alt: Any) -> tuple[float, float]:
    """Likelihood-ratio test of a step at a break with no event on one side: ``(statistic, inflation)``.

    The alternative is the fitted model, in which the empty stretch next to ``brk`` has a mean
    of 0 (it adds nothing to the Poisson deviance); the null fits the same design over the
    recorded months and that stretch together, so the stretch carries its neighbour's level.
    ``alt`` is the Poisson (or quasi-Poisson) fit on the recorded months, fitted once by the caller.
    ``statistic`` is the deviance difference divided by ``scale`` (the quasi-Poisson or
    Pearson scale, at least 1) and by ``inflation``, the latent AR(1) widening of the step's
    variance, found as for the other terms from the weights of an indicator of the stretch in
    the null fit's weighted design. NaN when both sides of the break are empty.
    """
    import statsmodels.api as sm

    side = rec.unrecorded[brk]
    if side == "none_either_side":
        return np.nan, 1.0
    months = np.asarray(rec.design.index, dtype=object)
    after = int(rec.segment[np.searchsorted(months, brk)])  # the stretch that starts at the break
    stretch = after - 1 if side == "from_none" else after
    inside = rec.segment == stretch
    rows = rec.kept | inside
    y, X = rec.full[rows], rec.design[rows].copy()
    gap = f"gap_{brk}"
    if side == "from_none" and gap in X.columns:  # the stretch joins the recorded stretch after it
        X[gap] = (months[rows] >= months[inside][0]).astype(float)
    poisson = sm.families.Poisson()
    null = sm.GLM(y, X, family=poisson).fit()
    lr = max(float(null.deviance - alt.deviance), 0.0)
    inflation = 1.0
    if rho > 0 and kappa > 0:
        mu = np.asarray(null.fittedvalues, dtype=float)
        Xw = np.column_stack([X.to_numpy(dtype=float), inside[rows].astype(float)]) * np.sqrt(mu)[:, None]
        d = np.sqrt(mu / float(np.mean(alt.fittedvalues)))  # kappa is the extra variation at the recorded average
        inflation = _latent_inflation(rho, kappa, np.linalg.pinv(Xw)[-1], d, scale if quasi else None,
                                      np.flatnonzero(rows))
    return lr / (scale * inflation), inflation


_FAMILIES = ["auto", "quasi_poisson", "poisson", "negative_binomial"]


def _fit_count_model(y: pd.Series, X: pd.DataFrame, family: str) -> tuple[Any, str, float, float]:
    """Fit the log-linear count model with the dispersion estimated from the series.

    ``"auto"`` and ``"quasi_poisson"``: Poisson mean model, scale ``phi = max(1, Pearson
    chi2 / residual df)`` and t reference distributions (quasi-Poisson); ``"poisson"``:
    scale 1; ``"negative_binomial"``: NB2 by maximum likelihood (quasi-Poisson if it
    does not converge).

    Returns (results, family_used, pearson_dispersion, overdispersion_p); the Cameron &
    Trivedi test p-value is reported only -- it no longer chooses the model.
    """
    import statsmodels.api as sm

    pois = sm.GLM(y, X, family=sm.families.Poisson()).fit()
    mu = np.asarray(pois.fittedvalues, dtype=float)
    yv = y.to_numpy(dtype=float)
    dispersion = float(pois.pearson_chi2 / pois.df_resid) if pois.df_resid > 0 else float("nan")
    # Cameron & Trivedi (1990) auxiliary regression test of Var = mu + a*mu^2 against a = 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        aux_y = ((yv - mu) ** 2 - yv) / mu
        aux = sm.OLS(aux_y, mu).fit()
        t = float(aux.tvalues[0])
    od_p = float(stats.t.sf(t, aux.df_resid)) if np.isfinite(t) else 1.0
    if family == "poisson":
        return pois, "poisson", dispersion, od_p
    if family == "negative_binomial":
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
    # Below 1 the scale is floored at Poisson (known, normal reference); above 1 it is
    # estimated, so tests refer to t / F with the residual degrees of freedom.
    phi = max(1.0, dispersion) if np.isfinite(dispersion) else 1.0
    qp = sm.GLM(y, X, family=sm.families.Poisson()).fit(scale=phi, use_t=bool(phi > 1.0 and pois.df_resid > 0))
    return qp, "quasi_poisson", dispersion, od_p


def _lag1_autocorrelation(resid: np.ndarray, design: np.ndarray | None = None) -> float:
    """Lag-1 autocorrelation of model residuals, corrected for the fit and kept within [0, 0.9].

    The sample value ``r = sum(e_t e_t-1) / sum(e_t^2)`` of regression residuals is biased
    towards zero, the more so the more parameters the model has (Durbin & Watson 1950,
    *Biometrika* 37, 409-428: its expectation depends on the residual-maker ``M``). The
    AR(1) correlation returned is the ``rho`` at which the ratio of expectations
    ``tr(M A M R_rho) / tr(M R_rho)`` (``A``: half the lag-1 adjacency matrix,
    ``R_rho[i, j] = rho^|i-j|``) equals ``r``, with ``M = I - Z (Z'Z)^-1 Z'`` for the
    (weighted) design ``Z``; without a design, ``M`` removes the mean only. Negative
    values count as 0 (no allowance is made for them); values above 0.9 as 0.9.
    """
    from scipy.optimize import brentq

    e = np.asarray(resid, dtype=float)
    ok = np.isfinite(e)
    e = e[ok]
    n = len(e)
    den = float(np.sum(e * e))
    if n < 3 or den <= 0:
        return 0.0
    r = float(np.sum(e[1:] * e[:-1]) / den)
    Z = np.ones((n, 1)) if design is None else np.asarray(design, dtype=float)[ok]
    M = np.eye(n) - Z @ np.linalg.pinv(Z)
    lag = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :])
    MAM = M @ ((lag == 1) * 0.5) @ M

    def gap(rho: float) -> float:
        R = rho**lag
        return float(np.sum(MAM * R) / np.sum(M * R)) - r

    if gap(0.0) >= 0:
        return 0.0
    if gap(0.9) <= 0:
        return 0.9
    return float(brentq(gap, 0.0, 0.9, xtol=1e-4))


#: Fitted monthly means below this are months the model fits as empty (e.g. before a category was
#: first recorded, with a step at the break): they carry no variation and are left out of the moments.
_EMPTY_MEAN = 1e-6


def _modelled_months(resid: np.ndarray, mu: np.ndarray | None) -> np.ndarray:
    """The months the latent AR(1) moments use: a finite residual and, where ``mu`` is given, a fitted
    mean of at least :data:`_EMPTY_MEAN`."""
    ok = np.isfinite(np.asarray(resid, dtype=float))
    if mu is not None:
        ok &= np.asarray(mu, dtype=float) >= _EMPTY_MEAN
    return ok


def _latent_scale(mu: np.ndarray | None, n: int) -> np.ndarray:
    """Zeger's ``D^1/2`` on the Pearson scale: ``sqrt(mu_t / mean(mu))`` (ones without ``mu``)."""
    if mu is None:
        return np.ones(n)
    m = np.asarray(mu, dtype=float)
    mean = float(m.mean()) if len(m) else 1.0
    return np.sqrt(np.maximum(m, 0.0) / mean) if mean > 0 else np.ones(n)


def _latent_corr(rho: float, d: np.ndarray, pos: np.ndarray | None = None) -> np.ndarray:
    """The latent part of the Pearson residuals' covariance, ``D^1/2 R(rho) D^1/2`` (``R_ij = rho^|t_i - t_j|``
    for the months' positions ``t``, consecutive unless ``pos`` says otherwise)."""
    i = np.arange(len(d)) if pos is None else np.asarray(pos)
    return np.outer(d, d) * rho ** np.abs(i[:, None] - i[None, :])


def _latent_parts(resid: np.ndarray, design: np.ndarray, mu: np.ndarray | None = None,
                  pos: np.ndarray | None = None
                  ) -> tuple[float, float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What the latent AR(1) moments need of one series' Pearson residuals and (weighted) design.

    Returns ``(sum e^2, sum e_t e_t-1, M, M U' M, d, pos)`` with ``M = I - Z (Z'Z)^-1 Z'`` the
    residual-maker of the design ``Z``, ``U`` the lag-1 shift, ``d`` the latent scale of each
    month (:func:`_latent_scale`) and ``pos`` the months' positions in time (``pos`` as given,
    default consecutive; lag-1 pairs are months one apart, never two months either side of a gap
    that was left out), so that for residuals with covariance ``M S M`` the expected
    sum of squares is ``sum(M * S)`` and the expected sum of lag-1 products
    ``sum((M U' M) * S)``. Months fitted as empty (``mu`` below :data:`_EMPTY_MEAN`) are left
    out: their residuals are 0 by construction, and counting them as months of unit variance
    would make the series look under-dispersed and pull a pooled ``rho`` towards 0.
    """
    e = np.asarray(resid, dtype=float)
    ok = _modelled_months(e, mu)
    at = (np.arange(len(e)) if pos is None else np.asarray(pos))[ok]
    e = e[ok]
    Z = np.asarray(design, dtype=float)[ok]
    n = len(e)
    M = np.eye(n) - Z @ np.linalg.pinv(Z)
    d = _latent_scale(None if mu is None else np.asarray(mu, dtype=float)[ok], n)
    adjacent = (np.diff(at) == 1).astype(float)
    U = np.diag(adjacent, k=-1) if n > 1 else np.zeros((n, n))
    return float(e @ e), float((e[1:] * e[:-1]) @ adjacent), M, M @ U @ M, d, at


def _latent_ar1(parts: list[tuple[float, float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
                rho: float | None = None
                ) -> tuple[float, np.ndarray]:
    """Lag-1 correlation ``rho`` of a latent AR(1) process and each series' extra variation ``kappa``.

    Each series' standardised residuals are taken to have covariance ``I + kappa D^1/2 R(rho)
    D^1/2`` before the fit (Poisson variation plus a latent stationary AR(1) process; Zeger
    1988; ``D`` the fitted means over their average, so ``kappa`` is the extra variation at the
    series' average month).
    For a given ``rho``, a series' ``kappa`` solves its expected sum of squared residuals
    (``tr(M) + kappa tr(M R)``) = observed; ``rho`` (unless given) solves the expected sum of
    lag-1 products, summed over the series, = observed (one ``rho`` shared by all the series,
    each with its own ``kappa``). ``rho`` is kept within [0, 0.9] and is 0 where the series
    show no extra variation; the returned ``kappa`` are floored at 0.
    """
    from scipy.optimize import brentq

    def kappas(r: float) -> np.ndarray:
        return np.array([(x2 - np.trace(M)) / np.sum(M * _latent_corr(r, d, at)) for x2, _, M, _, d, at in parts])

    if rho is None:
        s1 = sum(p[1] for p in parts)

        def gap(r: float) -> float:  # expected minus observed sum of lag-1 products
            k = kappas(r)
            return float(sum(np.trace(MU) + ki * np.sum(MU * _latent_corr(r, d, at))
                             for (_, _, _, MU, d, at), ki in zip(parts, k))) - s1

        if sum(p[0] for p in parts) <= sum(np.trace(p[2]) for p in parts) or gap(0.0) >= 0:
            rho = 0.0
        elif gap(0.9) <= 0:
            rho = 0.9
        else:
            rho = float(brentq(gap, 0.0, 0.9, xtol=1e-4))
    return float(rho), np.maximum(kappas(float(rho)), 0.0)


def _censored_satterthwaite(ww: float, wrw: float, M: np.ndarray, R: np.ndarray, kappa: float) -> float:
    """Satterthwaite degrees of freedom of the trend's variance ``w'w + max(kappa_hat, 0) w'Rw``
    (``R`` the latent part of the covariance, :func:`_latent_corr`).

    ``kappa_hat`` is linear in the sum of squared residuals, whose variance under covariance
    ``M S M`` (``S = I + kappa R``, ``R`` the latent part) is ``2 tr((M S)^2)`` for Gaussian residuals, so it is taken as
    normal around ``kappa`` with variance ``s^2 = 2 tr((M S)^2) / tr(M R)^2``. Floored at 0, its mean
    and variance are those of a normal censored at 0 (``z = kappa / s``): ``E = kappa Phi(z) +
    s phi(z)``, ``E2 = (kappa^2 + s^2) Phi(z) + kappa s phi(z)``. Then ``df = 2 (w'w + E w'Rw)^2 /
    (w'Rw^2 (E2 - E^2))`` (Satterthwaite 1946), which changes continuously as ``kappa`` crosses 0
    (without the censoring it fell from infinity to about 3 there) and tends to the uncensored
    value as ``kappa / s`` grows. ``kappa`` is the estimate (floored at 0), plugged in.
    """
    MS = M @ (np.eye(len(M)) + kappa * R)
    tr_mr = float(np.sum(M * R))
    s2 = 2.0 * float(np.sum(MS * MS.T)) / tr_mr ** 2 if tr_mr > 0 else 0.0
    if s2 <= 0 or wrw <= 0:
        return np.inf
    sd = float(np.sqrt(s2))
    z = kappa / sd
    cdf, pdf = float(stats.norm.cdf(z)), float(stats.norm.pdf(z))
    mean = kappa * cdf + sd * pdf
    var = max((kappa ** 2 + s2) * cdf + kappa * sd * pdf - mean ** 2, 1e-12 * s2)
    return 2.0 * (ww + mean * wrw) ** 2 / (wrw ** 2 * var)


def _latent_inflation(rho: float, kappa: float, weights: np.ndarray, d: np.ndarray,
                      quasi_scale: float | None = None, pos: np.ndarray | None = None) -> float:
    """Factor by which a coefficient's model variance widens for the latent AR(1) process.

    ``weights`` are the coefficient's weights on the standardised months and ``d`` their latent
    scale (:func:`_latent_scale`). Its variance under the latent process is ``w'w + kappa w'D^1/2
    R D^1/2 w`` (never taken below ``w'w + kappa w'Dw``, the same extra variation without the
    correlation); against the quasi-Poisson ``phi w'w`` (``quasi_scale`` = ``phi``) or, for the
    Poisson and negative binomial families that carry their own extra variation, against
    ``w'w + kappa w'Dw`` (the correlation's share only). At least 1.
    """
    w = np.asarray(weights, dtype=float)
    ww = float(w @ w)
    if ww <= 0 or kappa <= 0 or rho <= 0:
        return 1.0
    dw = w * d
    wdw = float(dw @ dw)
    wrw = max(float(w @ _latent_corr(rho, d, pos) @ w), wdw)
    own = quasi_scale * ww if quasi_scale is not None else ww + kappa * wdw
    return max(1.0, (ww + kappa * wrw) / own)


def _ar1_inflation(rho: float, weights: np.ndarray) -> float:
    """Variance of ``sum w_t e_t`` under AR(1) correlation ``rho``, relative to independence."""
    w = np.asarray(weights, dtype=float)
    if rho <= 0:
        return 1.0
    i = np.arange(len(w))
    corr = rho ** np.abs(i[:, None] - i[None, :])
    return float(max(1.0, (w @ corr @ w) / (w @ w)))


def _fitted_mean(res: Any, X: pd.DataFrame) -> np.ndarray:
    return np.asarray(res.predict(X), dtype=float)


def _prepare_model(series: Any, breaks: Any, season: bool | str, name: str = "series"):
    s = _as_series(series, name)
    if len(s) < _MIN_MONTHS_TREND:
        raise ValueError(f"`{name}` must have at least {_MIN_MONTHS_TREND} months to fit a trend model, "
                         f"got {len(s)}")
    if s.sum() == 0:
        raise ValueError(f"`{name}` must hold at least one event to fit a trend model, got 0 in all {len(s)} months")
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
    # the columns' own arrays (Arrow text stays Arrow text, no Python object per row), rows by position
    keep = np.flatnonzero(inside)
    data = pd.DataFrame({"month": months.array.take(keep)})
    for c in by_cols:
        data[c] = events[c].array.take(keep)
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
                     alpha: float = 0.05, design_effect: Any = 1.0) -> pd.DataFrame:
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
    design_effect : float or array-like, default 1.0
        The counts' variance as a multiple of their mean (e.g.
        :func:`~assessment.analysis.rates.rate_table_dispersion`'s ``design_effect``); values
        below 1 count as 1. The test and the interval are those of the counts divided by it
        (rounded to whole numbers); 1 gives the exact Poisson test.

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
          (1 when both counts are 0);
        - ``design_effect`` (float >= 1): the design effect applied.

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

    Counts that vary more than Poisson (variance ``D`` x mean) carry the information of
    ``count / D`` Poisson counts: with ``design_effect`` ``D`` the test and the interval
    are those of these effective counts, the design-effect adjustment of Rao & Scott
    (1992, "A simple method for the analysis of clustered binary data", *Biometrics* 48,
    577-585), as :func:`trend_year_on_year` applies it; the rate ratio and % change stay
    those of the actual counts.
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
    d = np.asarray(design_effect, dtype=float)
    if np.any(~np.isfinite(d)) or np.any(d <= 0):
        raise ValueError(f"`design_effect` must be finite and greater than 0, got {np.atleast_1d(d)[:3]}")
    c1, c2, e1, e2, d = np.broadcast_arrays(c1.astype(np.int64), c2.astype(np.int64), e1, e2, np.maximum(d, 1.0))
    c1, c2, e1, e2, d = (np.atleast_1d(a) for a in (c1, c2, e1, e2, d))
    n = c1 + c2
    # the test and the interval on the effective counts (the counts themselves when d is 1)
    k1 = np.where(d > 1, np.round(c1 / d), c1).astype(np.int64)
    k2 = np.where(d > 1, np.round(c2 / d), c2).astype(np.int64)
    m = k1 + k2
    pi0 = e1 / (e1 + e2)
    pval = _binom_two_sided_p(k1, m, pi0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = (c1 / e1) / (c2 / e2)
        rr = np.where(n == 0, np.nan, rr)
        lo_pi = np.where(k1 > 0, stats.beta.ppf(alpha / 2, k1, k2 + 1), 0.0)
        hi_pi = np.where(k2 > 0, stats.beta.ppf(1 - alpha / 2, k1 + 1, k2), 1.0)
        scale = e2 / e1
        ci_low = np.where(n == 0, np.nan, lo_pi / (1 - lo_pi) * scale)
        ci_high = np.where(n == 0, np.nan, np.where(hi_pi >= 1, np.inf, hi_pi / (1 - hi_pi) * scale))
    return pd.DataFrame({
        "count1": c1, "count2": c2, "exposure1": e1, "exposure2": e2,
        "rate_ratio": rr, "pct_change": 100.0 * (rr - 1.0),
        "ci_low": ci_low, "ci_high": ci_high, "p_value": pval, "design_effect": d.astype(float),
    })


def _series_variance_factor(counts: np.ndarray, weights: np.ndarray) -> tuple[float, float, float]:
    """Dispersion, lag-1 autocorrelation and variance factor for a contrast of monthly counts.

    ``counts`` is one group's consecutive monthly series; ``weights`` the contrast on it
    (+1 current months, -1 previous months, 0 elsewhere). The dispersion is the Pearson
    chi-square / df of a Poisson GLM with time and (with 24 months and events in every
    month of the year) month-of-year terms. Returns ``(dispersion, rho, factor)`` with
    ``factor = max(1, dispersion) * AR(1) inflation`` of the log rate ratio's variance.
    """
    import statsmodels.api as sm

    n = len(counts)
    months = pd.Index(pd.period_range("2000-01", periods=n, freq="M").strftime("%Y-%m"))
    moy_tot = pd.Series(counts).groupby(np.arange(n) % 12).sum()
    season = n >= _MIN_MONTHS_SEASON and bool((moy_tot > 0).all())
    X = _design(months, [], season)
    if counts.sum() == 0 or n <= X.shape[1]:
        return float("nan"), 0.0, 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.GLM(counts.astype(float), X, family=sm.families.Poisson()).fit()
    mu = np.asarray(fit.fittedvalues, dtype=float)
    disp = float(fit.pearson_chi2 / fit.df_resid)
    rho = _lag1_autocorrelation((counts - mu) / np.sqrt(np.maximum(mu, 1e-12)),
                                X.to_numpy(dtype=float) * np.sqrt(mu)[:, None])
    cur = weights > 0
    prev = weights < 0
    tot_c = max(float(mu[cur].sum()), 1e-12)
    tot_p = max(float(mu[prev].sum()), 1e-12)
    # weights of each month's standardised deviation on log(current) - log(previous)
    w = np.where(cur, np.sqrt(mu) / tot_c, np.where(prev, -np.sqrt(mu) / tot_p, 0.0))
    factor = max(1.0, disp if np.isfinite(disp) else 1.0) * _ar1_inflation(rho, w)
    return disp, rho, factor


def trend_year_on_year(monthly: pd.DataFrame, end: str, months: int = 12, by: str | Iterable[str] | None = None,
                       alpha: float = 0.05, dispersion: bool = True, lag: int = 12) -> pd.DataFrame:
    """This period against the same period a year earlier, with a test that allows for over-dispersion.

    Parameters
    ----------
    monthly : pandas.DataFrame
        Long output of :func:`trend_monthly` (``month``, group columns, ``count``). The
        months up to ``end`` are also used to estimate each group's dispersion and
        autocorrelation.
    end : str
        Last month of the current period, ``YYYY-MM``.
    months : int, default 12
        Length of each period (1 to 12). The previous period is the same months one year
        (``lag`` months) earlier, so the two never overlap.
    by : str or sequence of str, optional
        Group columns; by default every column other than ``month`` and ``count``.
    alpha : float, default 0.05
        Significance level for the interval.
    dispersion : bool, default True
        Allow for the monthly series' over-dispersion and autocorrelation (see Notes).
        ``False`` gives the exact conditional Poisson test, which assumes the counts vary
        no more than Poisson.
    lag : int, default 12
        Months between the two periods: 12 (a year earlier) or another whole number of
        years, e.g. 24 to compare the third year of a window with the first.

    Returns
    -------
    pandas.DataFrame
        One row per group:

        - the group columns;
        - ``current_period``, ``previous_period`` (str): e.g. ``"2025-01 to 2025-12"``;
        - ``current``, ``previous`` (int): event counts in each period;
        - ``change`` (int): ``current - previous``;
        - ``pct_change`` (float): percentage change (inf if ``previous`` is 0; NaN if both 0);
        - ``rate_ratio`` (float): ``current / previous``;
        - ``ci_low``, ``ci_high`` (float): ``1 - alpha`` interval for the rate ratio;
        - ``p_value`` (float, in [0, 1]): two-sided p-value for no change;
        - ``dispersion`` (float): Pearson chi-square / df of the group's monthly series
          (NaN when not estimated);
        - ``autocorrelation`` (float in [0, 0.9]): AR(1) correlation, corrected for the fit, of
          that series' residuals;
        - ``variance_factor`` (float >= 1): design effect applied to the counts (1 with
          ``dispersion=False``).

    Notes
    -----
    Comparing the same months a year apart removes seasonality; the periods have equal
    length, so the exposure ratio is 1. Under Poisson variation the test is the exact
    conditional test of :func:`trend_rate_ratio`. Monthly crime counts vary more than
    Poisson and neighbouring months are correlated, so each group's monthly series (all
    its months up to ``end``) is fitted by a Poisson GLM with time and month-of-year
    terms: the Pearson chi-square / df (floored at 1) measures the over-dispersion, and
    the AR(1) correlation of its residuals, corrected for the fit (see :func:`trend_glm`),
    gives the AR(1) inflation of the variance of ``log(current) - log(previous)``. Their
    product is a design effect ``D``; the counts are divided by ``D`` and the exact test
    and Clopper-Pearson interval applied to these effective counts (rounded to whole
    numbers), the design-effect adjustment of Rao & Scott (1992, "A simple method for the
    analysis of clustered binary data", *Biometrics* 48, 577-585). The rate ratio and %
    change are those of the actual counts. ``docs/VALIDATION.md`` gives the
    false-positive rate on simulated over-dispersed and autocorrelated series.
    """
    check_dataframe(monthly, "monthly", ["month", "count"])
    check_month(end, "end")
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 12:
        raise ValueError(f"`months` must be a whole number from 1 to 12, got {months!r}")
    check_probability(alpha, "alpha")
    check_type(dispersion, "dispersion", bool)
    if isinstance(lag, bool) or not isinstance(lag, int) or lag < 12 or lag % 12:
        raise ValueError(f"`lag` must be a whole number of years in months (12, 24, ...), got {lag!r}")
    by_cols = _infer_by(monthly, by, ("count",))
    check_dataframe(monthly, "monthly", by_cols)
    _check_month_column(monthly["month"].astype("string"), "month", "monthly")
    check_nonnegative_counts(monthly["count"], "count", "monthly")
    cur = _month_range(_shift_month(end, -(months - 1)), end)
    prev = _month_range(_shift_month(end, -(months - 1) - lag), _shift_month(end, -lag))
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
    n_groups = len(tab)
    disp = np.full(n_groups, np.nan)
    rho = np.zeros(n_groups)
    factor = np.ones(n_groups)
    if dispersion:
        upto = monthly[m <= end]
        upto = _check_complete_grid(upto, by_cols, "monthly")
        grouped = upto.groupby(by_cols, dropna=False, sort=False)["count"] if by_cols else [((), upto["count"])]
        found = {}
        for key, counts in grouped:  # one small model per group (crime type), not per row
            mon = upto.loc[counts.index, "month"].astype(str).to_numpy()
            w = np.where(np.isin(mon, cur), 1.0, np.where(np.isin(mon, prev), -1.0, 0.0))
            found[key if not isinstance(key, tuple) or len(by_cols) != 1 else key[0]] = \
                _series_variance_factor(counts.to_numpy(dtype=float), w)
        keys = list(tab.index) if by_cols else [()]
        for i, key in enumerate(keys):
            if key in found:
                disp[i], rho[i], factor[i] = found[key]
    rr = trend_rate_ratio(tab["current"].to_numpy(), tab["previous"].to_numpy(), alpha=alpha)
    eff = trend_rate_ratio(np.round(tab["current"].to_numpy() / factor).astype(np.int64),
                           np.round(tab["previous"].to_numpy() / factor).astype(np.int64), alpha=alpha)
    out = tab.reset_index(drop=not by_cols)
    if not by_cols:
        out = out.reset_index(drop=True)
    out.columns.name = None
    out.insert(len(by_cols), "current_period", f"{cur[0]} to {cur[-1]}")
    out.insert(len(by_cols) + 1, "previous_period", f"{prev[0]} to {prev[-1]}")
    out["change"] = out["current"] - out["previous"]
    for c in ("pct_change", "rate_ratio"):
        out[c] = rr[c].to_numpy()
    for c in ("ci_low", "ci_high", "p_value"):
        out[c] = eff[c].to_numpy()
    out["dispersion"] = disp
    out["autocorrelation"] = rho
    out["variance_factor"] = factor
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
    family : {"auto", "quasi_poisson", "poisson", "negative_binomial"}
        Count model; ``"auto"`` (quasi-Poisson) estimates the dispersion from the series.

    Returns
    -------
    pandas.DataFrame
        One row:

        - ``n_months`` (int); ``family`` (str): model used;
        - ``seasonal_strength`` (float): STL ``F_s`` (see :func:`trend_stl`);
        - ``lr_stat`` (float), ``df`` (int), ``p_value`` (float in [0, 1]): test that the 11
          month-of-year effects are all zero (likelihood ratio, divided by the dispersion
          and referred to F for quasi-Poisson);
        - ``dispersion`` (float): Pearson chi-square / residual df of the Poisson fit with
          season (the quasi-Poisson scale is this floored at 1);
        - ``summer_winter_ratio``, ``ci_low``, ``ci_high`` (float): ratio of the expected
          count in the ``summer`` months to that in the ``winter`` months (geometric
          means of the month effects), with ``1 - alpha`` Wald interval;
        - ``summer_winter_p`` (float in [0, 1]): Wald test that the ratio is 1;
        - ``peak_month``, ``trough_month`` (int): month of the year with the highest and
          lowest fitted effect.

    Notes
    -----
    Log-linear count model of count on time, month-of-year dummies and a step at each
    break, via statsmodels, by default quasi-Poisson: Poisson mean model with the
    dispersion ``phi`` (Pearson chi-square / residual df, floored at 1) estimated from the
    series (McCullagh & Nelder 1989, *Generalized Linear Models*, s. 6.2). Seasonality is
    tested against the model without month-of-year terms: the deviance difference divided
    by ``phi`` over 11, referred to F(11, residual df) (the analysis of deviance with an
    estimated dispersion, McCullagh & Nelder s. 4.5); chi-square with 11 df when ``phi``
    is floored at 1 and for ``family="poisson"`` and the likelihood ratio for negative binomial. The summer-winter
    contrast is a linear contrast of the month coefficients (``t_test``, with the same
    dispersion).
    Because time and breaks are in both models, a trend or a break is not mistaken for
    season (e.g. Dobson & Barnett, *An Introduction to Generalized Linear Models*, 4th ed.).
    """
    check_probability(alpha, "alpha")
    check_choice(family, "family", _FAMILIES)
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
    res1, fam, disp, _ = _fit_count_model(s, X1, family)
    fam0 = {"poisson": "poisson", "quasi_poisson": "poisson", "negative_binomial": "negative_binomial"}[fam]
    res0, _, _, _ = _fit_count_model(s, X0, fam0)
    if fam == "negative_binomial":
        lr = float(2 * (res1.llf - res0.llf))
    else:  # deviance difference (does not depend on the scale), divided by the quasi-Poisson scale
        lr = float((res0.deviance - res1.deviance) / (res1.scale if fam == "quasi_poisson" else 1.0))
    lr = max(lr, 0.0)
    if fam == "quasi_poisson" and res1.scale > 1.0:
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
        "lr_stat": lr, "df": 11, "p_value": min(max(p, 0.0), 1.0), "dispersion": disp,
        "summer_winter_ratio": float(np.exp(est)), "ci_low": float(np.exp(ci[0])), "ci_high": float(np.exp(ci[1])),
        "summer_winter_p": sw_p,
        "peak_month": int(np.argmax(eff) + 1), "trough_month": int(np.argmin(eff) + 1),
    }])


# --------------------------------------------------------------------------- trend
def trend_pooled_autocorrelation(series: Mapping[str, Any] | Iterable[Any],
                                 breaks: Mapping[str, Any] | Iterable[Any] | None = None,
                                 season: bool = True) -> dict[str, float]:
    """Lag-1 autocorrelation shared by several monthly count series of one place, for :func:`trend_glm`.

    Parameters
    ----------
    series : mapping of name to series, or list of series
        Monthly count series in ``trend_glm``'s form (e.g. one per crime type of a
        partnership). Series with no event, or fewer than 12 months, are left out.
    breaks : mapping of name to list of str, or list of lists, optional
        Each series' break months, as ``trend_glm``'s ``breaks`` (matched by name for a
        mapping, by position for a list).
    season : bool, default True
        Month-of-year terms, as in ``trend_glm``.

    Returns
    -------
    dict
        - ``autocorrelation`` (float in [0, 0.9]): the pooled lag-1 correlation ``rho`` of the
          latent process, to pass to ``trend_glm(..., rho=...)`` for each of the series;
        - ``n_series`` (int): the number of series it was estimated from.

    Notes
    -----
    One series of 24 to 36 months says little about its own autocorrelation: the estimate
    from it is unbiased once the fit's own correlation is allowed for, but so noisy (on
    simulated 36-month series with a true 0.6, a standard deviation of about 0.3) that a
    document testing 14 series will meet some with far too little allowance. The crime types
    of one partnership share its reporting and recording processes, so here they share one
    ``rho``. Each series is fitted as in ``trend_glm`` (quasi-Poisson, month-of-year terms, a
    step at each break) and its Pearson residuals are taken to have covariance
    ``I + kappa D^1/2 R(rho) D^1/2`` (Poisson variation around a latent stationary AR(1) process; Zeger
    1988, "A regression model for time series of counts", *Biometrika* 75, 621-629): each
    series has its own extra variation ``kappa`` (from its sum of squared residuals), and
    ``rho`` solves the method-of-moments equation for the lag-1 products summed over the
    series, with the expectations taken after each fit (as ``M S M`` for the
    residual-maker ``M``; the Durbin & Watson 1950 correction of the downward bias of a
    residual autocorrelation). This is the moment estimator of
    :func:`~assessment.analysis.rates.rate_table_dispersion`, pooled over series instead of
    areas. On simulated partnerships of 14 series with AR(1) correlation 0.6 on the
    log-mean it averages about 0.58 with a standard deviation of about 0.13;
    ``docs/VALIDATION.md`` gives the false-positive rate of the key findings with it.
    """
    import statsmodels.api as sm

    check_type(season, "season", bool)
    if isinstance(series, Mapping):
        names = list(series)
        items = [series[k] for k in names]
        if breaks is None:
            brk = [None] * len(items)
        else:
            check_type(breaks, "breaks", Mapping)
            brk = [breaks.get(k) for k in names]
    else:
        items = list(series)
        brk = [None] * len(items) if breaks is None else list(breaks)
        if len(brk) != len(items):
            raise ValueError(f"`breaks` must have one entry per series ({len(items)}), got {len(brk)}")
    parts = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # trend_glm warns about the same series
        for i, (obj, b) in enumerate(zip(items, brk)):
            s = _as_series(obj, f"series[{i}]")
            if len(s) < _MIN_MONTHS_TREND or s.sum() == 0:
                continue
            s, br, use_season = _prepare_model(s, b, season, f"series[{i}]")
            rec, _ = _recorded_model(s, br, use_season, f"series[{i}]")  # as trend_glm fits it
            s, X = rec.series, rec.X
            # the quasi-Poisson mean is the Poisson fit's (only the scale differs)
            mu = np.asarray(sm.GLM(s, X, family=sm.families.Poisson()).fit().fittedvalues, dtype=float)
            parts.append(_latent_parts((s.to_numpy() - mu) / np.sqrt(mu),
                                       X.to_numpy(dtype=float) * np.sqrt(mu)[:, None], mu, np.flatnonzero(rec.kept)))
    rho = _latent_ar1(parts)[0] if parts else 0.0
    return {"autocorrelation": rho, "n_series": len(parts)}


def trend_glm(series: Any, breaks: Any = None, season: bool = True, alpha: float = 0.05,
              family: str = "auto", autocorrelation: bool = True, rho: float | None = None) -> pd.DataFrame:
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
    family : {"auto", "quasi_poisson", "poisson", "negative_binomial"}
        Count model. ``"auto"`` (the default) is quasi-Poisson: the dispersion is
        estimated from the series, never assumed to be Poisson. ``"poisson"`` assumes
        Poisson variation (dispersion 1); ``"negative_binomial"`` fits NB2.
    autocorrelation : bool, default True
        Widen the standard errors for positive lag-1 autocorrelation of the residuals
        (see Notes). ``False`` treats months as independent.
    rho : float in [0, 0.9], optional
        The lag-1 correlation of the latent process, when it is estimated from several series
        together (:func:`trend_pooled_autocorrelation`, e.g. over a partnership's crime types)
        instead of from this series alone; needs ``autocorrelation=True``.

    Returns
    -------
    pandas.DataFrame
        One row for the trend, then one row per break:

        - ``term`` (str): ``"trend"`` or ``"step"``;
        - ``month`` (str or None): the break month (None for the trend);
        - ``estimate_pct`` (float): for the trend, the % change per year
          (``100 * (exp(b_time) - 1)``); for a step, the % jump in level at the break;
        - ``ci_low``, ``ci_high`` (float): ``1 - alpha`` interval on the same % scale;
        - ``p_value`` (float in [0, 1]): test that the term is zero (t reference with
          ``reference_df`` degrees of freedom when the quasi-Poisson scale is above 1,
          normal otherwise);
        - ``family`` (str): ``"quasi_poisson"``, ``"poisson"`` or ``"negative_binomial"``;
        - ``dispersion`` (float): Pearson chi-square / residual df of the Poisson fit
          (the quasi-Poisson scale is this value floored at 1);
        - ``overdispersion_p`` (float in [0, 1]): Cameron-Trivedi test p-value (reported;
          it does not choose the model);
        - ``autocorrelation`` (float in [0, 0.9]): lag-1 correlation of the latent AR(1)
          process used for the allowance (see Notes; ``rho`` where given, 0 when
          ``autocorrelation=False``);
        - ``se_inflation`` (float >= 1): factor by which the term's standard error was
          widened for that autocorrelation;
        - ``seasonal`` (bool): whether month-of-year terms were included;
        - ``n_months`` (int), ``total`` (int): series length and total count;
        - ``reference_df`` (float): degrees of freedom of the t reference of ``p_value`` and
          the interval (the residual df, or fewer for autocorrelation, see Notes; ``inf``
          where the normal reference is used);
        - ``autocorrelation_source`` (str): ``"series"`` (estimated from this series),
          ``"pooled"`` (``rho`` given) or ``"none"`` (``autocorrelation=False``);
        - ``empty_side`` (str): for a step with nothing recorded on one side of its break,
          ``"before"`` (``estimate_pct`` is ``inf``), ``"after"`` (-100) or ``"both"`` (NaN,
          untested); ``""`` otherwise. Such a step has no interval (NaN) and its
          ``p_value`` is a likelihood-ratio test (see Notes);
        - ``months_fitted`` (int): the months the model was fitted on: ``n_months`` less any
          stretch between breaks with nothing recorded.

    Notes
    -----
    Log-linear model ``log E[y_t] = a + b t + s_month(t) + sum_k d_k 1[t >= break_k]`` with
    ``t`` in years, fitted as a Poisson GLM (statsmodels). Monthly crime counts vary more
    than Poisson, so by default the variance is ``phi * mu`` with ``phi`` the Pearson
    chi-square over its degrees of freedom, floored at 1; above 1 (estimated) tests use
    the t distribution with the residual df, at 1 the normal -- quasi-Poisson (Wedderburn 1974, *Biometrika* 61,
    439-447; McCullagh & Nelder 1989, *Generalized Linear Models*, 2nd ed., s. 6.2). The
    Cameron & Trivedi (1990, *J. Econometrics* 46, 347-364) test is reported but no longer
    decides the model: as a pre-test on 36 months it misses real over-dispersion too often.
    Months next to each other are also correlated. The allowance takes the counts as Poisson
    around a latent stationary AR(1) process (Zeger 1988, "A regression model for time series
    of counts", *Biometrika* 75, 621-629): a latent multiplicative process with variance
    ``sigma^2`` and lag-1 correlation ``rho`` gives ``Cov(y_s, y_t) = mu_t 1[s = t] + sigma^2
    mu_s mu_t rho^|s-t|``, so the Pearson residuals have covariance ``S = I + kappa D^1/2 R
    D^1/2`` with ``R_ij = rho^|i-j|``, ``D`` the fitted means over their average and ``kappa =
    sigma^2 mean(mu)`` the extra (latent) variation at the series' average month; busier
    months carry more of it (with a constant mean ``D = I``). ``kappa``
    and ``rho`` are the method-of-moments solution of the expected sum of squared residuals
    and of lag-1 products, with the expectations taken after the fit (``M S M``
    for the residual-maker ``M``: the bias that fitting the model gives residual
    autocorrelation, Durbin & Watson 1950, *Biometrika* 37, 409-428), ``rho`` within
    [0, 0.9]; with ``rho`` given (pooled over several series), only ``kappa`` is estimated
    from this series. A coefficient's variance is then ``w' S w`` against the
    quasi-Poisson ``phi w' w`` (never less), where ``w`` are its weights on the standardised
    observations (rows of ``(X'WX)^-1 X' W^{1/2}``): the variance of a linear estimator under
    correlated errors (Bence 1995, "Analysis of short time series: correcting for
    autocorrelation", *Ecology* 76, 628-639); the Poisson and negative binomial families keep
    their own scale and take the correlation's share ``w'Sw / (w'w + kappa w'Dw)`` only
    (:func:`_latent_inflation`). An AR(1) on the residuals themselves (the earlier allowance) misses that the Poisson
    part of the variation is not correlated, and under-stated the trend's variance on the
    simulated null below. The widened variance is estimated from fewer independent months than
    the series has, so where it is widened and the scale is estimated (the t reference), the
    t reference has the degrees of freedom of the effective sample size, ``n_eff - k`` with
    ``n_eff = n / f`` (``f`` the trend's variance relative to independent months with the same
    variance, about ``(1 + rho) / (1 - rho)`` for an AR(1)) and ``k`` the model's coefficients,
    at least 1: the adjustment of Santer et al. (2000), "Statistical significance of trends and
    trend differences in layer-average atmospheric temperature time series", *J. Geophysical
    Research* 105(D6), 7337-7356. With ``rho`` given, the uncertainty left is mostly that of
    ``kappa``, so the reference takes the Satterthwaite (1946, *Biometrics Bulletin* 2,
    110-114) degrees of freedom of the estimated variance where they are fewer (``kappa`` is
    linear in the sum of squared residuals, whose variance is ``2 tr((M S)^2)`` for Gaussian
    residuals with covariance ``S``; the estimate is floored at 0, so its mean and
    variance are taken as those of a normal censored at 0, :func:`_censored_satterthwaite`, and the
    reference changes continuously as a series' extra variation crosses 0); with ``rho`` from the series alone they
    cost power on Poisson series without lowering the false-positive rate, so they are not
    used there. With no widening, or at the Poisson scale (normal reference), the reference is
    unchanged. Chosen by simulation: on 36-month series with AR(1) correlation 0.6 on the
    log-mean (variance 2.5 x mean) the false-positive rate at p < 0.05 was about 9.5% with an
    AR(1) on the residuals and about 7.5% with this model (1,000 series); on documents of 14
    such series (the key findings) the pooled ``rho`` with this reference brought the share
    naming a type with no trend, after the false discovery rate adjustment, from about 17% to
    about 9 to 10% (``docs/VALIDATION.md`` has the rates at the published seed). HAC / Newey-West
    standard errors with 3 or 6 lags and an AR(1) GEE working correlation, tried earlier, gave
    20%, 23% and 13% on a single series.
    Because each break has its own step ``d_k``,
    a level shift at a declared break is absorbed by the step and not by the slope ``b``
    (segmented regression; Bernal, Cummins & Gasparrini 2017, *Int. J. Epidemiology* 46,
    348-355). ``docs/VALIDATION.md`` gives the false-positive rate and power on simulated
    over-dispersed and autocorrelated series.

    A stretch between breaks with no event at all (a crime type first recorded at a break, or
    no longer recorded after one) makes the step's maximum-likelihood estimate infinite
    (separation): the Wald test then gives p near 1 and an estimate of billions of per cent,
    however clear the change (the Hauck-Donner effect: Hauck & Donner 1977, "Wald's test as
    applied to hypotheses in logit analysis", *JASA* 72; see VGAM's ``hdeff`` documentation). Such stretches are left out of the fit, so the trend, season and dispersion come
    from the months in which anything was recorded (month-of-year terms are dropped, with a
    warning, below 24 of them), and the step is tested by likelihood ratio: the Poisson
    deviance of the same model with the empty stretch at its neighbour's level, less that of
    the fit, over the scale and the step's autocorrelation widening, against chi-square(1)
    (F(1, reference df) where the scale is estimated): the deviance difference stays finite and
    informative under separation, where the Wald statistic does not. On 36-month Poisson series at constant rates of 0.05 to 0.5 a
    month with a break after 12 months, the step test (Wald or likelihood ratio) said
    "significant" in 1.5% to 6.4% of 400 series. Month-of-year terms are dropped where the
    recorded months cannot separate them from the trend (a whole empty year between two
    recorded ones); where they cannot carry a trend at all (fewer than the 12 months a whole
    series needs, as when a crime type is first recorded near the window's end), the trend row
    is NaN (``p_value`` too) and only the steps are tested, unwidened.
    """
    check_probability(alpha, "alpha")
    check_choice(family, "family", _FAMILIES)
    check_type(season, "season", bool)
    check_type(autocorrelation, "autocorrelation", bool)
    given_rho = None
    if rho is not None:
        check_type(rho, "rho", (int, float))
        if not (0.0 <= float(rho) <= 0.9) or not autocorrelation:
            raise ValueError("`rho` must be a lag-1 correlation in [0, 0.9] with autocorrelation=True, "
                             f"got {rho!r} with autocorrelation={autocorrelation}")
        given_rho = float(rho)
    whole, br, use_season = _prepare_model(series, breaks, season)
    rec, use_season = _recorded_model(whole, br, use_season)
    s, X = rec.series, rec.X
    res, fam, disp, od_p = _fit_count_model(s, X, family)
    terms = [*(["time_years"] if rec.trend else []), *[f"step_{b}" for b in br if b not in rec.unrecorded]]
    params = res.params
    cov = res.cov_params()
    rho = 0.0
    k = 0.0  # the series' extra (latent) variation
    inflation = dict.fromkeys(terms, 1.0)
    factor = 1.0  # the trend's variance under the correlation, relative to independent months
    satterthwaite = np.inf  # degrees of freedom of the trend's estimated variance
    if autocorrelation and not rec.trend:  # too few recorded months: the steps are not widened
        rho = given_rho if given_rho is not None else 0.0
    elif autocorrelation:
        mu = _fitted_mean(res, X)
        resid = (s.to_numpy() - mu) / np.sqrt(mu)
        Xw = X.to_numpy(dtype=float) * np.sqrt(mu)[:, None]
        at = np.flatnonzero(rec.kept)  # the fitted months' positions in the series (a gap left out is a gap)
        part = _latent_parts(resid, Xw, mu, at)
        kept = _modelled_months(resid, mu)  # the months of `part` (empty-fitted ones carry no weight)
        rho, kappa = _latent_ar1([part], rho=given_rho)
        k = float(kappa[0])
        if rho > 0 and (k > 0 or given_rho is not None):
            weights = np.linalg.pinv(Xw)  # rows: (X'WX)^-1 X' W^1/2
            w = weights[X.columns.get_loc("time_years")][kept]
            M, d = part[2], part[4]
            # Zeger's D^1/2 R D^1/2 for every month (scaled as `part`'s; empty-fitted months carry none)
            d_all = np.sqrt(np.maximum(mu, 0.0) / float(mu[kept].mean()))
            R = _latent_corr(rho, d, part[5])
            wrw = float(w @ R @ w)
            if k > 0:
                # quasi-Poisson: the variance w'(I + kappa D^1/2 R D^1/2)w against the fit's phi w'w;
                # Poisson and NB keep their own scale and take the correlation's share only
                quasi_scale = float(res.scale) if fam == "quasi_poisson" else None
                for name in terms:
                    inflation[name] = _latent_inflation(rho, k, weights[X.columns.get_loc(name)], d_all, quasi_scale,
                                                        at)
                wdw = float((w * d) @ (w * d))
                factor = max(1.0, (w @ w + k * wrw) / (w @ w + k * wdw))
            if given_rho is not None:
                satterthwaite = _censored_satterthwaite(float(w @ w), wrw, M, R, k)
    df_resid = float(res.df_resid)
    use_t = bool(getattr(res, "use_t", False)) and df_resid > 0
    df_ref = df_resid
    if use_t:
        if factor > 1:
            # Santer et al. (2000): the effective sample size that widens the variance also sets the
            # degrees of freedom of the t reference (n_eff minus the coefficients)
            df_ref = len(s) / factor - (len(s) - df_resid)
        if given_rho is not None:  # with a given (pooled) rho, Satterthwaite's where they are fewer
            df_ref = min(df_ref, satterthwaite)
        df_ref = max(1.0, df_ref)
    crit = float(stats.t.ppf(1 - alpha / 2, df_ref)) if use_t else float(stats.norm.ppf(1 - alpha / 2))
    source = "none" if not autocorrelation else "series" if given_rho is None else "pooled"
    rows = []
    for name in terms:
        b = float(params[name])
        se = float(np.sqrt(cov.loc[name, name] * inflation[name]))
        z = abs(b) / se if se > 0 else np.inf
        p = float(2 * (stats.t.sf(z, df_ref) if use_t else stats.norm.sf(z)))
        with np.errstate(over="ignore"):  # a step up from months of nothing: no finite upper bound
            high = 100 * np.expm1(b + crit * se)
        rows.append({
            "term": "trend" if name == "time_years" else "step",
            "month": None if name == "time_years" else name[5:],
            "estimate_pct": 100 * np.expm1(b), "ci_low": 100 * np.expm1(b - crit * se),
            "ci_high": high, "p_value": float(np.clip(p, 0, 1)),
            "autocorrelation": rho, "se_inflation": float(np.sqrt(inflation[name])),
            "autocorrelation_source": source,
            "reference_df": df_ref if use_t else np.inf,
            "empty_side": "",
        })
    quasi = fam == "quasi_poisson"
    lr_scale = float(res.scale) if quasi else 1.0 if fam == "poisson" else max(1.0, float(disp))
    # the alternative of every such step: the Poisson fit on the recorded months (the quasi-Poisson fit is one)
    alt = res if fam != "negative_binomial" else None
    if rec.unrecorded and alt is None:
        import statsmodels.api as sm

        alt = sm.GLM(s, X, family=sm.families.Poisson()).fit()
    for b, side in rec.unrecorded.items():  # steps from or to a stretch with nothing recorded
        stat, infl = _unrecorded_step(rec, b, lr_scale, rho, k, quasi, alt)
        p = (float(stats.f.sf(stat, 1, df_ref)) if use_t else float(stats.chi2.sf(stat, 1))) \
            if np.isfinite(stat) else np.nan
        rows.append({
            "term": "step", "month": b,
            "estimate_pct": {"from_none": np.inf, "to_none": -100.0}.get(side, np.nan),
            "ci_low": np.nan, "ci_high": np.nan, "p_value": p if np.isnan(p) else float(np.clip(p, 0, 1)),
            "autocorrelation": rho, "se_inflation": float(np.sqrt(infl)),
            "autocorrelation_source": source,
            "reference_df": df_ref if use_t else np.inf,
            "empty_side": {"from_none": "before", "to_none": "after"}.get(side, "both"),
        })
    if not rec.trend:  # no trend from so few recorded months: said as such, never a number
        rows.insert(0, {"term": "trend", "month": None, "estimate_pct": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                        "p_value": np.nan, "autocorrelation": rho, "se_inflation": 1.0,
                        "autocorrelation_source": source,
                        "reference_df": df_ref if use_t else np.inf, "empty_side": ""})
    rows = rows[:1] + sorted(rows[1:], key=lambda r: r["month"])
    out = pd.DataFrame(rows)
    out["family"] = fam
    out["dispersion"] = disp
    out["overdispersion_p"] = float(np.clip(od_p, 0, 1))
    out["seasonal"] = use_season
    out["n_months"] = len(whole)
    out["total"] = int(whole.sum())
    out["months_fitted"] = len(s)
    cols = ["term", "month", "estimate_pct", "ci_low", "ci_high", "p_value", "family", "dispersion",
            "overdispersion_p", "autocorrelation", "se_inflation", "seasonal", "n_months", "total",
            "reference_df", "autocorrelation_source", "empty_side", "months_fitted"]
    return out[cols]


def _prediction_limits(y: np.ndarray, X: np.ndarray, fit_mask: np.ndarray, family: str, level: float,
                       leave_one_out: bool) -> dict[str, np.ndarray | str]:
    """Predictive mean, variance and count limits for every month from one fit.

    The model is fitted to the months in ``fit_mask``. A month in the fit is predicted
    leaving itself out by the one-step approximation; a month outside the fit is
    predicted out of sample. Returns arrays ``expected``, ``lower``, ``upper``,
    ``p_value`` and the family and dispersion used.
    """
    import statsmodels.api as sm

    n, _ = X.shape
    cols = (X[fit_mask] != 0).any(axis=0)  # a dummy may lose its only month
    Xf = X[:, cols]
    yf = y[fit_mask]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pois = sm.GLM(yf, Xf[fit_mask], family=sm.families.Poisson()).fit()
    df_resid = float(pois.df_resid)
    nb_a = 0.0
    fam = "quasi_poisson" if family in ("auto", "quasi_poisson") else family
    if fam == "negative_binomial":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                nb = sm.NegativeBinomial(yf, Xf[fit_mask], loglike_method="nb2").fit(disp=0, maxiter=300)
                nb_a = float(nb.params[-1])
                ok = bool(nb.mle_retvals.get("converged", True)) and np.isfinite(nb_a) and nb_a >= 0
            except Exception:  # noqa: BLE001 - fall back to quasi-Poisson below
                ok = False
        if ok:
            beta = np.asarray(nb.params[:-1], dtype=float)
        else:
            fam = "quasi_poisson"
    if fam != "negative_binomial":
        beta = np.asarray(pois.params, dtype=float)
    eta_all = Xf @ beta
    mu_all = np.exp(eta_all)
    mu_fit = mu_all[fit_mask]
    var_fn = mu_fit + nb_a * mu_fit**2  # variance function without the scale
    pearson = (yf - mu_fit) / np.sqrt(var_fn)
    x2 = float(np.sum(pearson**2))
    dispersion = x2 / df_resid if df_resid > 0 else float("nan")
    w = mu_fit**2 / var_fn  # IRLS weights for the log link
    info_inv = np.linalg.pinv(Xf[fit_mask].T @ (Xf[fit_mask] * w[:, None]))
    g = np.einsum("ij,jk,ik->i", Xf, info_inv, Xf)  # x' (X'WX)^-1 x for every month
    w_all = mu_all**2 / (mu_all + nb_a * mu_all**2)
    h = np.where(fit_mask, np.clip(w_all * g, 0.0, 1.0), 0.0)
    judged = ~fit_mask | (h < 0.99)  # a month that alone fixes a parameter cannot be judged
    one_minus_h = np.where(judged, 1.0 - h, np.nan)
    # scale: deleted Pearson statistic for months in the fit (an extreme month cannot inflate
    # the dispersion it is judged by), floored at 1; NB has no extra scale.
    pearson_all = np.zeros(n)
    pearson_all[fit_mask] = pearson
    if fam == "poisson" or fam == "negative_binomial" or df_resid <= 1:
        phi = np.ones(n)
        dfr = np.inf if fam == "poisson" else max(df_resid, 1.0)
    else:
        deleted = np.where(fit_mask, (x2 - pearson_all**2 / one_minus_h) / (df_resid - 1), x2 / df_resid)
        phi = np.maximum(1.0, deleted)
        dfr = df_resid - 1
    if leave_one_out:
        # one-step deletion: eta_(i) = eta_i - h/(1-h) * working residual (Pregibon 1981)
        work = np.zeros(n)
        work[fit_mask] = (yf - mu_fit) / mu_fit
        eta = eta_all - np.where(fit_mask, h / one_minus_h * work, 0.0)
        var_eta = np.where(fit_mask, g / one_minus_h, g)
    else:
        eta = eta_all
        var_eta = g
    expected = np.exp(eta)
    var_y = phi * (expected + nb_a * expected**2) + expected**2 * phi * var_eta
    q = (1 - level) / 2
    if np.isfinite(dfr):
        var_y = var_y * (stats.t.ppf(1 - q, dfr) / stats.norm.ppf(1 - q)) ** 2
    a_eff = np.maximum((var_y - expected) / np.maximum(expected, 1e-12) ** 2, 1e-10)
    a_eff = np.where(judged, a_eff, np.nan)
    dist = stats.nbinom(1.0 / a_eff, 1.0 / (1.0 + a_eff * expected))
    lower = dist.ppf(q)
    upper = dist.ppf(1 - q)
    pv = np.clip(2 * np.minimum(dist.cdf(y), dist.sf(y - 1)), 0, 1)
    return {"expected": np.where(judged, expected, np.nan), "lower": lower, "upper": upper, "p_value": pv,
            "family": fam, "dispersion": dispersion}


def trend_exceptions(series: Any, breaks: Any = None, level: float = 0.998, family: str = "auto",
                     leave_one_out: bool = True) -> pd.DataFrame:
    """Flag exceptional months against prediction limits around the expected seasonal level.

    Parameters
    ----------
    series : pandas.Series or pandas.DataFrame
        One monthly count series with at least 12 months (24 to allow for season).
    breaks : list of str, optional
        Series-break months; the expected level steps at each.
    level : float, default 0.998
        Coverage of the limits for one month (0.998: 0.1% in each tail, the 99.8% limits
        used for funnel plots, close to 3-sigma limits).
    family : {"auto", "quasi_poisson", "poisson", "negative_binomial"}
        Count model for the expected level and its variation; ``"auto"`` is quasi-Poisson
        (dispersion estimated from the series).
    leave_one_out : bool, default True
        Judge each month against a model fitted to all *other* months, so that an
        extreme month cannot raise its own expected level (or the dispersion) and hide
        itself. ``False`` predicts each month from the fit to all months.

    Returns
    -------
    pandas.DataFrame
        One row per month:

        - ``month`` (str); ``observed`` (int);
        - ``expected`` (float): mean predicted by the trend + season + break model (NaN
          for a month that cannot be judged: it alone carries a model term);
        - ``family`` (str): count model behind the limits;
        - ``lower``, ``upper`` (float): prediction limits (counts);
        - ``p_value`` (float in [0, 1]): two-sided tail probability of a count at least as
          extreme under the predictive distribution, ``min(1, 2 * min(P(Y <= y), P(Y >= y)))``;
        - ``flag`` (str): ``"high"`` (observed > upper), ``"low"`` (observed < lower) or ``""``;
        - ``exceptional`` (bool): ``flag != ""``;
        - ``dispersion`` (float): Pearson chi-square / residual df of the final fit.

    Notes
    -----
    The expected level comes from the log-linear model of :func:`trend_glm` (time,
    month-of-year, breaks), so a usual summer rise is not flagged. With two or three
    years a month-of-year effect rests on two or three values, so the expected value is
    itself uncertain; the limits are *prediction* limits that add that uncertainty to
    the month's own variation. For month ``i`` with leverage ``h_i`` and
    ``g_i = x_i' (X'WX)^-1 x_i``, the leave-one-out prediction is the one-step deletion
    ``eta_(i) = eta_i - h_i / (1 - h_i) * (y_i - mu_i) / mu_i`` (Pregibon 1981, "Logistic
    regression diagnostics", *Ann. Statist.* 9, 705-724; Williams 1987, *Applied
    Statistics* 36, 181-191) with ``Var(eta_(i)) = phi g_i / (1 - h_i)``; the predictive
    variance is ``phi mu + mu^2 Var(eta_(i))`` (quasi-Poisson scale ``phi``: the Pearson
    statistic without month ``i``, floored at 1; for negative binomial ``mu + a mu^2``
    replaces ``phi mu``). Because ``phi`` is estimated from few months, the variance is
    multiplied by ``(t_{df, 1-q} / z_{1-q})^2`` so that for large counts the limits match
    a Student-t prediction interval with the residual df. The limits are the ``q`` and
    ``1 - q`` quantiles (``q = (1 - level) / 2``) of the negative binomial with that mean
    and variance, so they stay whole counts and skewed for small counts, as in the exact
    limits of Spiegelhalter (2005, *Statistics in Medicine* 24, 1185-1202). Months flagged
    in this pass are then left out of the fit in one second pass and predicted out of
    sample (Phase I control limits, Montgomery, *Introduction to Statistical Quality
    Control*, ch. 6), so an extreme month does not distort the expectation for the same
    month in other years. ``docs/VALIDATION.md`` gives the share of stable simulated
    series with any flagged month.
    """
    check_probability(level, "level")
    check_choice(family, "family", _FAMILIES)
    check_type(leave_one_out, "leave_one_out", bool)
    s, br, use_season = _prepare_model(series, breaks, True)
    X = _design(s.index, br, use_season).to_numpy(dtype=float)
    y = s.to_numpy()
    fit_mask = np.ones(len(s), dtype=bool)
    res = _prediction_limits(y, X, fit_mask, family, level, leave_one_out)
    flagged = (y > res["upper"]) | (y < res["lower"])
    if leave_one_out and flagged.any():
        # Leave flagged months out of the second fit, most extreme first, as long as every
        # model term keeps at least two other months (a spike can make its own calendar
        # month in another year look low; that month must stay judgeable).
        keep = np.ones(len(s), dtype=bool)
        order = np.flatnonzero(flagged)
        for i in order[np.argsort(res["p_value"][order], kind="stable")]:
            trial = keep.copy()
            trial[i] = False
            if ((X[trial] != 0).sum(axis=0) >= 2).all() and trial.sum() > X.shape[1] + 1:
                keep = trial
        if not keep.all():
            res = _prediction_limits(y, X, keep, family, level, leave_one_out)
    lower, upper = res["lower"], res["upper"]
    flag = np.where(y > upper, "high", np.where(y < lower, "low", ""))
    return pd.DataFrame({"month": s.index.to_numpy(dtype=object), "observed": y.astype("int64"),
                         "expected": res["expected"], "family": res["family"], "lower": lower, "upper": upper,
                         "p_value": res["p_value"], "flag": flag, "exceptional": flag != "",
                         "dispersion": res["dispersion"]})


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
        recorded = np.ones(len(s), dtype=bool)
        for b, pct, p in zip(steps["month"], steps["estimate_pct"], steps["p_value"]):
            if not np.isfinite(pct) or pct <= -100:  # nothing recorded on one side of the break
                if not (p < alpha):  # a stretch of none within normal variation: the series as it is
                    continue
                if np.isposinf(pct):  # forecast from the break on
                    recorded &= np.asarray(s.index >= b)
                    continue
            factor = np.where(s.index < b, factor * (1 + pct / 100.0), factor)  # -100: earlier months to none
        y = (y * factor)[recorded]
        if len(y) < _MIN_MONTHS_TREND:
            raise ValueError(f"`series` must have at least {_MIN_MONTHS_TREND} months after its last stretch with "
                             f"nothing recorded (ended by a series break) to forecast, got {len(y)} from "
                             f"{y.index[0]}")
    seasonal = "add" if len(y) >= _MIN_MONTHS_SEASON else None
    idx = pd.PeriodIndex(y.index, freq="M").to_timestamp()
    endog = pd.Series(y.to_numpy(), index=pd.DatetimeIndex(idx, freq="MS"))
    model = ETSModel(endog, error="add", trend="add", damped_trend=True, seasonal=seasonal,
                     seasonal_periods=12 if seasonal else None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(disp=False)
        pred = fit.get_prediction(start=len(y), end=len(y) + horizon - 1).summary_frame(alpha=alpha)
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


# --------------------------------------------------------------------------- many tests
def trend_fdr(p_values: Any, method: str = "fdr_bh") -> Any:
    """Adjust a family of p-values (one per crime type, area or theme) for multiple testing.

    Parameters
    ----------
    p_values : array-like or pandas.Series
        p-values in [0, 1] of the tests in one family (NaN for untested members; they are
        left out of the family and stay NaN).
    method : {"fdr_bh", "fdr_by", "holm", "none"}
        ``"fdr_bh"`` (default): Benjamini-Hochberg false discovery rate; ``"fdr_by"``:
        Benjamini-Yekutieli (any dependence); ``"holm"``: family-wise error rate;
        ``"none"``: unchanged.

    Returns
    -------
    numpy.ndarray or pandas.Series
        Adjusted p-values (same shape and index as the input). A member is a discovery at
        false discovery rate ``q`` when its adjusted p-value is below ``q``.

    Notes
    -----
    Benjamini & Hochberg (1995), "Controlling the false discovery rate", *J. Royal
    Statistical Society B* 57, 289-300, via ``statsmodels.stats.multitest.multipletests``.
    With 14 crime types each tested at 5%, a partnership with no real change would see
    about 0.7 false "significant" results per test type; calling only those with adjusted
    p below 5% keeps the expected share of false discoveries among them at 5% or less.
    """
    from statsmodels.stats.multitest import multipletests

    check_choice(method, "method", ["fdr_bh", "fdr_by", "holm", "none"])
    p = np.asarray(p_values, dtype=float).reshape(-1)
    finite = np.isfinite(p)
    if np.any((p[finite] < 0) | (p[finite] > 1)):
        raise ValueError(f"`p_values` must lie in [0, 1], got {p[finite][(p[finite] < 0) | (p[finite] > 1)][:3]}")
    out = np.full(p.shape, np.nan)
    if finite.any():
        out[finite] = p[finite] if method == "none" else multipletests(p[finite], method=method)[1]
    if isinstance(p_values, pd.Series):
        return pd.Series(out, index=p_values.index, name=p_values.name)
    return out.reshape(np.shape(p_values))

