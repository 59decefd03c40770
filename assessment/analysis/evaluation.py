"""Evaluation statistics: difference-in-differences, interrupted time series, power and verdicts.

The ``evaluate_*`` family answers "did the intervention change the count of
incidents, and could this study have told?". Every estimate is a rate ratio
from a log-linear count model (Poisson, or negative binomial when the counts
are over-dispersed), with a Wald confidence interval and p-value.

Public functions
----------------
evaluate_did
    Before/after with a comparison area: difference-in-differences rate ratio.
evaluate_its
    Interrupted time series: segmented regression with seasonality.
evaluate_mde
    Minimum detectable rate ratio for a design, from its expected cell counts.
evaluate_power
    Power of a design to detect a given rate ratio.
evaluate_did_mde
    The minimum detectable effect of a DiD study, from its monthly count frame,
    using only what is known before the result (no post-period intervention counts).
evaluate_rtm
    Regression-to-the-mean check for areas chosen for their high counts, with an adjusted
    estimate where the data allow and a caveat where they do not.
evaluate_verdict
    A plain-language verdict that never overclaims.

Over-dispersion rule (used by :func:`evaluate_did` and :func:`evaluate_its`)
------------------------------------------------------------------------------
1. Fit the Poisson GLM (log link) and compute the Pearson dispersion
   ``phi = Pearson chi2 / residual df``.
2. If ``phi <= dispersion_threshold`` (default 1.5) keep the Poisson estimates; when
   ``1 < phi`` their standard errors are scaled by ``sqrt(phi)`` (quasi-Poisson), so mild
   over-dispersion never makes an interval too narrow. ``phi <= 1`` keeps plain Poisson.
3. Otherwise estimate the NB2 ancillary parameter ``alpha`` (Var = mu + alpha mu^2)
   by maximum likelihood with ``statsmodels`` ``NegativeBinomial`` (same design and
   exposure) and refit the GLM with ``families.NegativeBinomial(alpha=alpha)``;
   coefficients, standard errors, intervals and p-values come from that GLM.
4. If the NB2 maximum likelihood fit fails to converge or gives a non-positive alpha,
   fall back to a quasi-Poisson fit (Poisson GLM with the scale set to the Pearson
   chi2 / df, which inflates every standard error by ``sqrt(phi)``) and warn.

Serial correlation (``errors='ar1'``, the default of both)
----------------------------------------------------------
Monthly counts run in streaks, and intervals that treat months as independent are too
narrow: on null series whose latent level follows an AR(1) process with rho 0.6 (24 months
before, 12 after), independent-error p-values fell below 0.05 in about a quarter of runs,
and Newey-West (HAC) standard errors, tried first, did no better at 36 months. The model
used instead is Zeger's (1988, "A regression model for time series of counts", *Biometrika*
75:621-629): ``y_t | e_t ~ Poisson(mu_t e_t)`` with a latent stationary ``e_t`` of
variance ``sigma2`` and lag-k correlation ``rho^k`` (AR(1)), so
``Var y_t = mu_t + sigma2 mu_t^2`` and ``Cov(y_t, y_s) = sigma2 mu_t mu_s rho^|t-s|``
within an area (areas independent).

1. ``sigma2`` and ``rho`` are moment estimates from the Pearson residuals of the Poisson
   fit, with the expected residual sum of squares and lag-1 cross-products computed
   through the fit's projection (so trend and step terms that soak up slow swings do not
   hide the correlation); ``rho`` then gets the small-sample bias correction
   ``+(1 + 3 rho) / n`` (Kendall 1954, *Biometrika* 41:403-404), ``n`` months per area,
   plus ``RHO_MARGIN`` (1) times its large-sample standard error ``sqrt((1 - rho^2) / N)``
   over all ``N`` months (Bartlett 1946), because a series of 36 months cannot pin the
   correlation down and an underestimate makes intervals too narrow. Without the margin the
   slope change of an interrupted time series had p < 0.05 in 7-11% of AR(1) null runs;
   with it about 4.5%, at a cost in power (a real 20% fall detected by the
   difference-in-differences in 19% of runs instead of 28%; ``docs/VALIDATION.md``).
2. The coefficients are those of the fit chosen by the over-dispersion rule; their
   covariance is the sandwich ``B^-1 X'G V G X B^-1`` with ``V`` the latent-AR(1)
   covariance above, ``G`` the fit's working weights and ``B = X'G diag(mu) X``.
3. Intervals and p-values use a t reference with ``n_eff - 4`` degrees of freedom, where
   ``n_eff = n (1 - rho) / (1 + rho)`` is the effective sample size of an AR(1) series at
   the latent correlation (conservative, since the Poisson noise dilutes the counts' own
   correlation) and 4 counts the terms the effect is read from. With no latent variance
   (``sigma2 = 0``) the counts are plain Poisson and the normal reference is kept.

This rule was chosen by simulation, and its false-positive rates are measured in
``docs/VALIDATION.md`` (``assessment.calibration.evaluation``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import optimize, stats

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
    "ITSResult",
    "evaluate_did",
    "evaluate_did_mde",
    "evaluate_its",
    "evaluate_mde",
    "evaluate_placebo",
    "evaluate_power",
    "evaluate_rtm",
    "evaluate_verdict",
]

GROUPS = ("intervention", "comparison")


# --------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------
def _months(series: pd.Series, name: str, where: str) -> pd.PeriodIndex:
    """Convert a column of ``YYYY-MM`` strings (or datetimes) to monthly periods, vectorised."""
    if pd.api.types.is_datetime64_any_dtype(series):
        if series.isna().any():
            first = series.index[series.isna().to_numpy()][0]
            raise ValueError(f"`{name}` must be a date, got NaT at row {first} in {where}")
        return pd.PeriodIndex(series.dt.to_period("M"))
    text = series.astype("string")
    ok = text.str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])").fillna(False).to_numpy(dtype=bool)
    if not ok.all():
        first = series.index[~ok][0]
        check_month(series.loc[first], name, where=f"{where} row {first}")
    return pd.PeriodIndex(pd.to_datetime(text.to_numpy(dtype=str), format="%Y-%m"), freq="M")


def _exposure(frame: pd.DataFrame, exposure: str | None, where: str) -> np.ndarray | None:
    if exposure is None:
        return None
    check_type(exposure, "exposure", str)
    check_dataframe(frame, "counts", [exposure], where)
    values = pd.to_numeric(frame[exposure], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        first = frame.index[bad][0]
        raise ValueError(
            f"`{exposure}` must be a positive number (population at risk), "
            f"got {frame[exposure].loc[first]!r} at row {first} in {where}"
        )
    return values


def _fit_count_glm(y: np.ndarray, X: pd.DataFrame, offset: np.ndarray | None,
                   dispersion_threshold: float):
    """Fit Poisson, switch to NB2 (or quasi-Poisson) when over-dispersed; see module docstring."""
    poisson = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit()
    df_resid = poisson.df_resid
    phi = float(poisson.pearson_chi2 / df_resid) if df_resid > 0 else float("nan")
    if not (phi > dispersion_threshold):
        if phi > 1:
            # Mild over-dispersion: keep the Poisson estimates but never understate their
            # uncertainty (quasi-Poisson scale max(1, Pearson chi2/df); McCullagh & Nelder 1989).
            fit = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit(scale="X2")
            return fit, "quasi_poisson", phi, float("nan")
        return poisson, "poisson", phi, float("nan")
    alpha = float("nan")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = sm.NegativeBinomial(y, X, loglike_method="nb2", offset=offset).fit(
                start_params=np.append(poisson.params.to_numpy(), 0.1), disp=0, maxiter=200)
        alpha = float(np.asarray(nb.params)[-1])
        converged = bool(nb.mle_retvals.get("converged", False))
    except Exception:  # noqa: BLE001 - any numerical failure means "use the fallback"
        converged = False
    if converged and np.isfinite(alpha) and alpha > 1e-8:
        fit = sm.GLM(y, X, family=sm.families.NegativeBinomial(alpha=alpha), offset=offset).fit()
        return fit, "negative_binomial", phi, alpha
    warnings.warn(
        f"counts are over-dispersed (Pearson chi2/df = {phi:.2f}) but the negative binomial fit did "
        "not converge; using quasi-Poisson standard errors (scale = Pearson chi2/df)",
        stacklevel=3,
    )
    fit = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit(scale="X2")
    return fit, "quasi_poisson", phi, float("nan")


def _season_terms(month_of_year: np.ndarray, seasonality: str | None, harmonics: int,
                  index: pd.Index) -> pd.DataFrame:
    """Month-of-year dummies (January reference) or Fourier terms, or nothing."""
    if seasonality is None:
        return pd.DataFrame(index=index)
    if seasonality == "month":
        present = np.unique(month_of_year)
        cols = {f"month_{m:02d}": (month_of_year == m).astype(float) for m in present[1:]}
        return pd.DataFrame(cols, index=index)
    cols = {}
    for k in range(1, harmonics + 1):
        angle = 2 * np.pi * k * month_of_year / 12.0
        cols[f"sin{k}"] = np.sin(angle)
        cols[f"cos{k}"] = np.cos(angle)
    return pd.DataFrame(cols, index=index)


def _check_seasonality(seasonality, harmonics) -> str | None:
    if seasonality is False:
        return None
    if seasonality is True:
        return "month"
    check_choice(seasonality, "seasonality", [None, "month", "fourier", True, False])
    if seasonality == "fourier":
        check_type(harmonics, "harmonics", int)
        if not 1 <= harmonics <= 6:
            raise ValueError(f"`harmonics` must be between 1 and 6, got {harmonics!r}")
    return seasonality


def _term_row(fit, term: str, confidence: float) -> dict:
    lo, hi = fit.conf_int(alpha=1 - confidence).loc[term]
    beta = float(fit.params[term])
    return {
        "rate_ratio": float(np.exp(beta)),
        "ci_lower": float(np.exp(lo)),
        "ci_upper": float(np.exp(hi)),
        "p_value": float(np.clip(fit.pvalues[term], 0.0, 1.0)),
        "log_rate_ratio": beta,
        "se_log_rate_ratio": float(fit.bse[term]),
    }


# --------------------------------------------------------------------------------------
# serial correlation: a latent AR(1) process under the counts (Zeger 1988)
# --------------------------------------------------------------------------------------
ERRORS = ("ar1", "independent")
_RHO_GRID = np.linspace(0.0, 0.95, 96)
CORE_TERMS = 4  # const, group/time, period/level, interaction/slope: the terms the effect is read from
RHO_MARGIN = 1.0  # standard errors added to the estimated correlation (see the module docstring)


@dataclass(frozen=True)
class _SerialFit:
    cov: np.ndarray
    latent_variance: float
    rho: float
    df: float


def _serial_moments(y: np.ndarray, X: np.ndarray, mu: np.ndarray, series: np.ndarray,
                    time: np.ndarray) -> tuple[float, float]:
    """Moment estimates of the latent variance ``sigma2`` and lag-1 correlation ``rho``.

    Residuals of the Poisson-working fit are ``(I - H)`` times the errors, so their expected
    sum of squares and lag-1 cross-products are traces over the projection; both are solved
    for ``(sigma2, rho)`` (rho on a 0.01 grid), which removes the downward bias that a naive
    residual autocorrelation has when trend and step terms absorb slow swings.
    """
    w = np.sqrt(mu)
    Z = w[:, None] * X
    H = Z @ np.linalg.solve(Z.T @ Z, Z.T)
    M = np.eye(len(y)) - H
    s = (y - mu) / w
    same = series[:, None] == series[None, :]
    lag = np.abs(time[:, None] - time[None, :])
    L = (same & (lag == 1)).astype(float) * 0.5
    q0, q1 = float(s @ s), float(s @ L @ s)
    tr_m, tr_lm = float(np.trace(M)), float(np.sum(L * M))
    powers = np.where(same[None, :, :], _RHO_GRID[:, None, None] ** lag[None, :, :], 0.0)
    B = powers * np.outer(w, w)[None, :, :]                      # latent covariance / sigma2, scaled
    tr_mb = np.einsum("ij,kij->k", M, B)
    tr_lmbm = np.einsum("ij,kij->k", M @ L @ M, B)             # tr(L M B M) = tr((M L M) B)
    sigma2 = np.maximum(0.0, (q0 - tr_m) / tr_mb)
    gap = q1 - (tr_lm + sigma2 * tr_lmbm)                        # falls as rho rises
    if not np.any(sigma2 > 0):
        return 0.0, 0.0
    hit = np.flatnonzero(gap <= 0)
    k = int(hit[0]) if hit.size else len(_RHO_GRID) - 1
    return float(sigma2[k]), float(_RHO_GRID[k])


def _serial_parameters(y: np.ndarray, X: pd.DataFrame, offset: np.ndarray | None, series: np.ndarray,
                       time: np.ndarray) -> tuple[float, float]:
    """Latent variance and (corrected, with margin) AR(1) correlation; see the module docstring."""
    poisson = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit()
    sigma2, rho = _serial_moments(y, X.to_numpy(dtype=float), np.asarray(poisson.mu, float), series, time)
    if sigma2 > 0:
        # small-sample bias of a lag-1 autocorrelation, -(1 + 3 rho) / n (Kendall 1954)
        length = len(y) / len(np.unique(series))
        rho = rho + (1.0 + 3.0 * rho) / length
        # and its sampling error, sqrt((1 - rho^2) / n) for n months in all (Bartlett 1946)
        rho = float(min(rho + RHO_MARGIN * np.sqrt(max(1.0 - rho**2, 0.0) / len(y)), _RHO_GRID[-1]))
    return float(sigma2), float(rho)


def _serial_covariance(fit, y: np.ndarray, X: pd.DataFrame, offset: np.ndarray | None, series: np.ndarray,
                       time: np.ndarray, nb_alpha: float) -> _SerialFit:
    """Sandwich covariance of the GLM coefficients under a latent AR(1) process; see module docstring."""
    A = X.to_numpy(dtype=float)
    mu = np.asarray(fit.mu, dtype=float)
    sigma2, rho = _serial_parameters(y, X, offset, series, time)
    same = series[:, None] == series[None, :]
    lag = np.abs(time[:, None] - time[None, :])
    R = np.where(same, rho ** lag, 0.0)
    V = np.diag(mu) + sigma2 * np.outer(mu, mu) * R
    g = 1.0 / (1.0 + (nb_alpha if np.isfinite(nb_alpha) else 0.0) * mu)
    bread = np.linalg.inv(A.T @ ((g * mu)[:, None] * A))
    meat = (g[:, None] * A).T @ V @ (g[:, None] * A)
    cov = bread @ meat @ bread
    # t reference: effective sample size of an AR(1) series at the latent correlation (conservative:
    # the Poisson noise dilutes the counts' own correlation), less the terms the effect is read from
    # (no latent variance: plain Poisson counts, whose model-based errors use the normal reference)
    n_eff = len(y) * (1.0 - rho) / (1.0 + rho)
    df = float(max(n_eff - CORE_TERMS, 1.0)) if sigma2 > 0 else float("inf")
    return _SerialFit(cov=cov, latent_variance=sigma2, rho=rho, df=df)


def _serial_row(fit, sf: _SerialFit, names: list[str], term: str, confidence: float) -> dict:
    j = names.index(term)
    beta = float(fit.params[term])
    se = float(np.sqrt(sf.cov[j, j]))
    ref = stats.t(sf.df) if np.isfinite(sf.df) else stats.norm()
    q = ref.ppf(0.5 + confidence / 2)
    p = 2.0 * ref.sf(abs(beta) / se) if se > 0 else 1.0
    return {
        "rate_ratio": float(np.exp(beta)),
        "ci_lower": float(np.exp(beta - q * se)),
        "ci_upper": float(np.exp(beta + q * se)),
        "p_value": float(np.clip(p, 0.0, 1.0)),
        "log_rate_ratio": beta,
        "se_log_rate_ratio": se,
    }


# --------------------------------------------------------------------------------------
# difference in differences
# --------------------------------------------------------------------------------------
def _did_frame(counts: pd.DataFrame, intervention_start: str, exposure: str | None, where: str):
    check_dataframe(counts, "counts", ["month", "group", "count"], where)
    check_month(intervention_start, "intervention_start")
    if counts.empty:
        raise ValueError(f"`counts` must have rows, got an empty frame in {where}")
    groups = counts["group"].astype("string")
    bad = ~groups.isin(GROUPS).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        first = counts.index[bad][0]
        raise ValueError(
            f"`group` must be 'intervention' or 'comparison', got {counts['group'].loc[first]!r} "
            f"at row {first} in {where}"
        )
    check_nonnegative_counts(counts["count"], "count", where)
    months = _months(counts["month"], "month", where)
    dup = pd.DataFrame({"m": months.astype(str), "g": groups.to_numpy()}).duplicated().to_numpy()
    if dup.any():
        first = counts.index[dup][0]
        raise ValueError(
            f"`counts` must have one row per month and group, got a repeat of "
            f"({months[dup][0]}, {groups[dup].iloc[0]}) at row {first} in {where}"
        )
    start = pd.Period(intervention_start, freq="M")
    treated = (groups == "intervention").to_numpy(dtype=float)
    post = np.asarray(months >= start, dtype=float)
    for g, label in ((1.0, "intervention"), (0.0, "comparison")):
        for p, when in ((0.0, "before"), (1.0, "from")):
            if not ((treated == g) & (post == p)).any():
                raise ValueError(
                    f"`counts` must have '{label}' months both before and from {intervention_start}, "
                    f"got none {when} it in {where}"
                )
    y = pd.to_numeric(counts["count"]).to_numpy(dtype=float)
    expo = _exposure(counts, exposure, where)
    return y, treated, post, months, expo


def evaluate_did(counts: pd.DataFrame, intervention_start: str, *, exposure: str | None = None,
                 seasonality: bool = True, confidence: float = 0.95,
                 dispersion_threshold: float = 1.5, errors: str = "ar1") -> pd.DataFrame:
    """Difference-in-differences rate ratio for an intervention area against a comparison area.

    Parameters
    ----------
    counts : pandas.DataFrame
        One row per month and group, with columns ``month`` (``YYYY-MM`` text or a
        datetime), ``group`` (``'intervention'`` or ``'comparison'``) and ``count``
        (whole incidents). Both groups need months before and from the start.
    intervention_start : str
        First month (``YYYY-MM``) of the intervention; months from it on are "post".
    exposure : str, optional
        Name of a column holding the population at risk; enters as ``offset = log(exposure)``
        so the ratio compares rates, not counts.
    seasonality : bool, default True
        Add month-of-year indicator terms (shared by both groups).
    confidence : float, default 0.95
        Confidence level of the interval.
    dispersion_threshold : float, default 1.5
        Pearson chi2/df above which the negative binomial (NB2) model replaces Poisson.
    errors : {'ar1', 'independent'}, default 'ar1'
        ``'ar1'``: standard errors, interval and p-value allow for month-to-month correlation
        (a latent AR(1) process under each area's counts; see the module docstring).
        ``'independent'``: the GLM's own model-based standard errors (months independent).

    Returns
    -------
    pandas.DataFrame
        One row with columns:

        - ``rate_ratio``: exp of the ``treated:post`` coefficient, the ratio of the
          intervention area's after/before rate ratio to the comparison area's
          (below 1 means a relative fall);
        - ``ci_lower``, ``ci_upper``: Wald confidence interval of the rate ratio;
        - ``p_value``: two-sided Wald p-value for no effect (rate ratio 1);
        - ``percent_change``: ``100 * (rate_ratio - 1)``;
        - ``log_rate_ratio``, ``se_log_rate_ratio``: the coefficient and its standard error;
        - ``model``: ``'poisson'``, ``'negative_binomial'`` or ``'quasi_poisson'``;
        - ``dispersion``: Pearson chi2/df of the Poisson fit (the switching statistic);
        - ``nb_alpha``: NB2 alpha (NaN unless the negative binomial was used);
        - ``intervention_pre``, ``intervention_post``, ``comparison_pre``,
          ``comparison_post``: the four cell totals of ``count``;
        - ``n_months``: number of distinct months; ``confidence``: the level used;
        - ``errors``: ``'ar1'`` or ``'independent'``;
        - ``autocorrelation``: the latent lag-1 correlation ``rho`` (0 with independent errors);
        - ``latent_variance``: the latent variance ``sigma2`` (NaN with independent errors);
        - ``df``: degrees of freedom of the t reference (infinite with independent errors).

    Notes
    -----
    Method: log-linear count regression (generalised linear model, log link;
    McCullagh & Nelder 1989, *Generalized Linear Models*) of
    ``count ~ treated + post + treated:post [+ month-of-year]`` with an optional
    ``log(exposure)`` offset. The interaction is the difference-in-differences on the
    log scale, so its exponential is the ratio of rate ratios (the "ratio of ratios"
    used for area-based crime prevention evaluation; see Wing, Simon & Bello-Gomez 2018,
    *Annu. Rev. Public Health* 39:453-469, for DiD with count outcomes). Without
    seasonality terms and without exposure the Poisson estimate equals the closed-form
    cross-product ``(I_post * C_pre) / (I_pre * C_post)`` of the four cell totals and its
    standard error equals ``sqrt(1/I_pre + 1/I_post + 1/C_pre + 1/C_post)`` (Woolf 1955).
    Over-dispersion handling (Pearson chi2/df > ``dispersion_threshold`` -> NB2 with alpha
    by maximum likelihood, Cameron & Trivedi 2013, *Regression Analysis of Count Data*,
    ch. 3) is described in the module docstring. Month-to-month correlation (a run of high
    months) makes independent-error intervals too narrow; with ``errors='ar1'`` (default) the
    standard error comes from the latent AR(1) sandwich of the module docstring (Zeger 1988).
    The DiD assumes parallel trends: check the pre-period series of the two areas before
    trusting the ratio.
    """
    where = "evaluate_did counts"
    check_probability(confidence, "confidence")
    check_positive(dispersion_threshold, "dispersion_threshold")
    check_type(seasonality, "seasonality", bool)
    check_choice(errors, "errors", ERRORS)
    y, treated, post, months, expo = _did_frame(counts, intervention_start, exposure, where)
    X = pd.DataFrame({"const": 1.0, "treated": treated, "post": post, "treated_post": treated * post})
    if seasonality:
        X = pd.concat([X, _season_terms(np.asarray(months.month), "month", 0, X.index)], axis=1)
    offset = None if expo is None else np.log(expo)
    fit, model, phi, alpha = _fit_count_glm(y, X, offset, dispersion_threshold)
    if errors == "ar1":
        sf = _serial_covariance(fit, y, X, offset, treated, np.asarray(months.asi8, dtype=float), alpha)
        row = _serial_row(fit, sf, list(X.columns), "treated_post", confidence)
        serial = {"errors": errors, "autocorrelation": sf.rho, "latent_variance": sf.latent_variance, "df": sf.df}
    else:
        row = _term_row(fit, "treated_post", confidence)
        serial = {"errors": errors, "autocorrelation": 0.0, "latent_variance": float("nan"), "df": float("inf")}
    cells = {
        "intervention_pre": y[(treated == 1) & (post == 0)].sum(),
        "intervention_post": y[(treated == 1) & (post == 1)].sum(),
        "comparison_pre": y[(treated == 0) & (post == 0)].sum(),
        "comparison_post": y[(treated == 0) & (post == 1)].sum(),
    }
    out = {
        "rate_ratio": row["rate_ratio"], "ci_lower": row["ci_lower"], "ci_upper": row["ci_upper"],
        "p_value": row["p_value"], "percent_change": 100.0 * (row["rate_ratio"] - 1.0),
        "log_rate_ratio": row["log_rate_ratio"], "se_log_rate_ratio": row["se_log_rate_ratio"],
        "model": model, "dispersion": phi, "nb_alpha": alpha,
        **{k: int(v) for k, v in cells.items()},
        "n_months": int(len(np.unique(np.asarray(months.astype(str))))), "confidence": confidence,
        **serial,
    }
    return pd.DataFrame([out])


# --------------------------------------------------------------------------------------
# interrupted time series
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ITSResult:
    """Result of :func:`evaluate_its`.

    Attributes
    ----------
    effects : pandas.DataFrame
        Two rows (``term`` = ``'level_change'``, ``'slope_change'``); see :func:`evaluate_its`.
    series : pandas.DataFrame
        One row per month for charting; see :func:`evaluate_its`.
    """

    effects: pd.DataFrame
    series: pd.DataFrame


def evaluate_its(counts: pd.DataFrame, intervention_start: str, *, exposure: str | None = None,
                 seasonality: str | None = "fourier", harmonics: int = 2, confidence: float = 0.95,
                 dispersion_threshold: float = 1.5, errors: str = "ar1") -> ITSResult:
    """Interrupted time series: segmented count regression with seasonality.

    Parameters
    ----------
    counts : pandas.DataFrame
        One row per month with columns ``month`` (``YYYY-MM`` text or datetime) and
        ``count``. Months should be consecutive; gaps are allowed (time is measured in
        calendar months) but reduce power.
    intervention_start : str
        First month (``YYYY-MM``) of the intervention.
    exposure : str, optional
        Column with the population at risk, used as ``log`` offset.
    seasonality : {'fourier', 'month', None}, default 'fourier'
        ``'fourier'``: ``harmonics`` sine/cosine pairs of period 12 months;
        ``'month'``: month-of-year indicators; ``None``: no seasonal terms.
    harmonics : int, default 2
        Number of Fourier pairs (1-6) when ``seasonality='fourier'``.
    confidence : float, default 0.95
        Confidence level of the intervals.
    dispersion_threshold : float, default 1.5
        Pearson chi2/df above which NB2 replaces Poisson (module docstring).
    errors : {'ar1', 'independent'}, default 'ar1'
        As in :func:`evaluate_did`: allow for month-to-month correlation (default) or not.

    Returns
    -------
    ITSResult
        ``effects``: two rows with columns

        - ``term``: ``'level_change'`` (step at the intervention month) or
          ``'slope_change'`` (change in the monthly trend after it);
        - ``rate_ratio``: exp of the coefficient; for the level change the immediate
          multiplicative step, for the slope change the extra multiplicative change
          per month after the start (0.98 = an extra 2% fall each month);
        - ``ci_lower``, ``ci_upper``, ``p_value``: Wald interval and two-sided p-value;
        - ``log_rate_ratio``, ``se_log_rate_ratio``: the coefficient and its standard error;
        - ``model``, ``dispersion``, ``nb_alpha``: as in :func:`evaluate_did`;
        - ``n_pre``, ``n_post``: months before and from the start; ``confidence``;
        - ``errors``, ``autocorrelation``, ``latent_variance``, ``df``: as in :func:`evaluate_did`.

        ``series``: one row per month with columns ``month`` (``YYYY-MM``), ``post``
        (bool), ``observed`` (count), ``fitted`` (model mean), ``counterfactual`` (the
        model mean with the level and slope changes set to zero, i.e. the pre-intervention
        trend and seasonality projected forward), ``counterfactual_lower`` and
        ``counterfactual_upper`` (delta-method confidence band of the counterfactual on
        the log scale).

    Notes
    -----
    Method: segmented regression of an interrupted time series (Wagner, Soumerai, Zhang
    & Ross-Degnan 2002, *J Clin Pharm Ther* 27:299-309) as a Poisson/negative binomial
    GLM with seasonality by Fourier terms or month indicators, following Bernal, Cummins
    & Gasparrini 2017, "Interrupted time series regression for the evaluation of public
    health interventions: a tutorial", *Int J Epidemiol* 46(1):348-355:
    ``log mu_t = b0 + b1 t + b2 post_t + b3 (t - t0) post_t + season_t [+ log exposure_t]``
    where ``t`` is months since the first month and ``t0`` the start month. ``exp(b2)``
    is the level change and ``exp(b3)`` the slope change. Over-dispersion is handled by
    the rule in the module docstring. With ``errors='ar1'`` (default) the standard errors,
    intervals, p-values and the counterfactual band allow for month-to-month correlation by
    the latent AR(1) sandwich of the module docstring (Zeger 1988), with a t reference.
    """
    where = "evaluate_its counts"
    check_dataframe(counts, "counts", ["month", "count"], where)
    check_month(intervention_start, "intervention_start")
    check_probability(confidence, "confidence")
    check_positive(dispersion_threshold, "dispersion_threshold")
    seasonality = _check_seasonality(seasonality, harmonics)
    check_choice(errors, "errors", ERRORS)
    check_nonnegative_counts(counts["count"], "count", where)
    months = _months(counts["month"], "month", where)
    if months.has_duplicates:
        first = months[months.duplicated()][0]
        raise ValueError(f"`counts` must have one row per month, got {first} twice in {where}")
    order = np.argsort(np.asarray(months.asi8))
    frame = counts.iloc[order].reset_index(drop=True)
    months = months[order]
    start = pd.Period(intervention_start, freq="M")
    ordinal = np.asarray(months.asi8, dtype=float)
    post = ordinal >= start.ordinal
    n_pre, n_post = int((~post).sum()), int(post.sum())
    if n_pre < 3 or n_post < 3:
        raise ValueError(
            f"`counts` must have at least 3 months before and 3 from {intervention_start}, "
            f"got {n_pre} before and {n_post} from it in {where}"
        )
    y = pd.to_numeric(frame["count"]).to_numpy(dtype=float)
    expo = _exposure(frame, exposure, where)
    t = ordinal - ordinal[0]
    X = pd.DataFrame({
        "const": 1.0, "time": t, "level_change": post.astype(float),
        "slope_change": np.where(post, ordinal - start.ordinal, 0.0),
    })
    X = pd.concat([X, _season_terms(np.asarray(months.month), seasonality, harmonics, X.index)], axis=1)
    offset = None if expo is None else np.log(expo)
    fit, model, phi, alpha = _fit_count_glm(y, X, offset, dispersion_threshold)
    if errors == "ar1":
        sf = _serial_covariance(fit, y, X, offset, np.zeros(len(y)), ordinal, alpha)
        cov, dfree = sf.cov, sf.df
        serial = {"errors": errors, "autocorrelation": sf.rho, "latent_variance": sf.latent_variance, "df": sf.df}
    else:
        cov, dfree = np.asarray(fit.cov_params()), float("inf")
        serial = {"errors": errors, "autocorrelation": 0.0, "latent_variance": float("nan"), "df": dfree}
    rows = []
    for term in ("level_change", "slope_change"):
        est = (_serial_row(fit, sf, list(X.columns), term, confidence) if errors == "ar1"
               else _term_row(fit, term, confidence))
        rows.append({"term": term, **est, "model": model,
                     "dispersion": phi, "nb_alpha": alpha, "n_pre": n_pre, "n_post": n_post,
                     "confidence": confidence, **serial})
    effects = pd.DataFrame(rows)

    beta = fit.params.to_numpy()
    off = np.zeros(len(y)) if offset is None else offset
    Xcf = X.copy()
    Xcf["level_change"] = 0.0
    Xcf["slope_change"] = 0.0
    A = Xcf.to_numpy()
    eta_cf = A @ beta + off
    se_cf = np.sqrt(np.einsum("ij,jk,ik->i", A, cov, A))
    z = stats.norm.ppf(0.5 + confidence / 2) if not np.isfinite(dfree) else stats.t.ppf(0.5 + confidence / 2, dfree)
    series = pd.DataFrame({
        "month": np.asarray(months.astype(str)),
        "post": post,
        "observed": y.astype(int),
        "fitted": X.to_numpy() @ beta + off,
        "counterfactual": np.exp(eta_cf),
        "counterfactual_lower": np.exp(eta_cf - z * se_cf),
        "counterfactual_upper": np.exp(eta_cf + z * se_cf),
    })
    series["fitted"] = np.exp(series["fitted"])
    return ITSResult(effects=effects, series=series)


# --------------------------------------------------------------------------------------
# power and minimum detectable effect
# --------------------------------------------------------------------------------------
def _check_cells(affected, others) -> tuple[float, np.ndarray]:
    check_positive(affected, "affected")
    if isinstance(others, (int, float)):
        others = [others]
    if isinstance(others, (str, bytes)) or not isinstance(others, (Sequence, np.ndarray)):
        raise TypeError(f"`others` must be a sequence of expected counts, got {type(others).__name__}")
    arr = np.asarray(others, dtype=float)
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"`others` must be one or more expected counts greater than 0, got {list(others)!r}")
    return float(affected), arr


def _power(rate_ratio, affected: float, others: np.ndarray, alpha: float, dispersion: float):
    """Two-sided Wald power; ``rate_ratio`` may be a scalar or an array."""
    rate_ratio = np.asarray(rate_ratio, dtype=float)
    se = np.sqrt(dispersion * (np.sum(1.0 / others) + 1.0 / (affected * rate_ratio)))
    z = stats.norm.ppf(1 - alpha / 2)
    shift = np.abs(np.log(rate_ratio)) / se
    return stats.norm.cdf(shift - z) + stats.norm.cdf(-shift - z)


def evaluate_power(affected: float, others: Sequence[float], rate_ratio: float, *, alpha: float = 0.05,
                   dispersion: float = 1.0) -> float:
    """Power of a Wald test on a log rate ratio to detect ``rate_ratio``.

    Parameters
    ----------
    affected : float
        Expected count, without any effect, in the one cell the intervention changes
        (for a DiD: the intervention area after the start; for a two-group comparison:
        the studied group, i.e. the comparison rate times the group's exposure).
    others : sequence of float
        Expected counts in the cells the intervention does not change (for a DiD:
        intervention before, comparison before, comparison after; for a two-group
        comparison: the comparison group's count).
    rate_ratio : float
        The true effect to detect (e.g. 0.8 for a 20% fall).
    alpha : float, default 0.05
        Two-sided significance level.
    dispersion : float, default 1.0
        Variance inflation (Pearson chi2/df, 1 for Poisson counts).

    Returns
    -------
    float
        Probability in [0, 1] that the two-sided test rejects "no effect".

    Notes
    -----
    The estimator is a log ratio (or ratio of ratios) of independent Poisson counts, whose
    large-sample variance is the sum of the reciprocals of the expected cell counts
    (Woolf 1955, *Ann Hum Genet* 19:251-253; Agresti 2013, *Categorical Data Analysis*,
    3rd ed., sec. 3.1), multiplied by the dispersion for over-dispersed (quasi-Poisson)
    counts. Under the alternative the affected cell's expectation is ``affected *
    rate_ratio``. Power of the two-sided Wald test (normal approximation; e.g. Signorini
    1991, *Biometrika* 78:187-190; Zhu & Lakkis 2014, *Stat Med* 33:376-387):
    ``Phi(|log RR| / SE - z_{1-alpha/2}) + Phi(-|log RR| / SE - z_{1-alpha/2})`` with
    ``SE = sqrt(dispersion * (sum(1/others) + 1/(affected * RR)))``.
    """
    affected, arr = _check_cells(affected, others)
    check_positive(rate_ratio, "rate_ratio")
    check_probability(alpha, "alpha")
    check_positive(dispersion, "dispersion")
    return float(np.clip(_power(float(rate_ratio), affected, arr, alpha, float(dispersion)), 0.0, 1.0))


def evaluate_mde(affected: float, others: Sequence[float], *, alpha: float = 0.05, power: float = 0.8,
                 dispersion: float = 1.0, direction: str = "decrease") -> pd.DataFrame:
    """Minimum detectable effect (as a rate ratio) of a count-based design.

    Parameters
    ----------
    affected : float
        Expected count, absent any effect, in the cell the intervention changes (see
        :func:`evaluate_power`).
    others : sequence of float
        Expected counts in the unaffected cells (three for a DiD, one for a two-group
        rate comparison).
    alpha : float, default 0.05
        Two-sided significance level.
    power : float, default 0.8
        Required power.
    dispersion : float, default 1.0
        Variance inflation (Pearson chi2/df); 1 for Poisson counts.
    direction : {'decrease', 'increase'}, default 'decrease'
        Whether the smallest detectable fall or rise is wanted.

    Returns
    -------
    pandas.DataFrame
        One row with columns ``mde_rate_ratio`` (the rate ratio the design detects with
        the stated power, below 1 for a decrease), ``mde_percent`` (the size of that change
        in percent, positive, e.g. 23.5 for a 23.5% fall), ``se_log_rate_ratio_null``
        (standard error of the log ratio with no effect), ``approx_mde_rate_ratio`` (the
        textbook closed form ``exp(-/+ (z_{1-alpha/2} + z_power) * SE_null)``), ``alpha``,
        ``power``, ``dispersion``, ``expected_total`` (sum of all expected cell counts)
        and ``direction``.

    Notes
    -----
    The MDE solves ``power(RR) = power`` for the power function of :func:`evaluate_power`
    (two-sided Wald test on a log rate ratio, with the variance of the log ratio of
    independent Poisson counts = dispersion times the sum of reciprocal expected counts,
    Woolf 1955; Agresti 2013 sec. 3.1) by Brent's root finder. It evaluates the
    variance under the alternative (the affected cell's expectation times RR), which makes
    the MDE for a fall slightly larger than the textbook approximation
    ``exp(-(z_{1-alpha/2} + z_{power}) * SE_null)`` (Bloom 1995, "Minimum detectable
    effects", *Evaluation Review* 19:547-556; Signorini 1991) that is also reported.
    """
    affected, arr = _check_cells(affected, others)
    check_probability(alpha, "alpha")
    check_probability(power, "power")
    check_positive(dispersion, "dispersion")
    check_choice(direction, "direction", ["decrease", "increase"])
    dispersion = float(dispersion)
    se0 = float(np.sqrt(dispersion * (np.sum(1.0 / arr) + 1.0 / affected)))
    zsum = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    approx = float(np.exp(-zsum * se0) if direction == "decrease" else np.exp(zsum * se0))
    if power <= alpha:
        raise ValueError(f"`power` must exceed `alpha`, got power={power!r} and alpha={alpha!r}")

    def gap(log_rr: float) -> float:
        return float(_power(np.exp(log_rr), affected, arr, alpha, dispersion)) - power

    # Under the alternative the variance grows as the affected cell shrinks, so the power
    # of a fall is not monotone over all rate ratios: take the first crossing nearest 1.
    sign = -1.0 if direction == "decrease" else 1.0
    grid = sign * np.linspace(0.0, 12.0, 4801)[1:]
    gaps = _power(np.exp(grid), affected, arr, alpha, dispersion) - power
    hit = np.flatnonzero(gaps >= 0)
    if hit.size == 0:
        warnings.warn("no rate ratio is detectable with the stated power at these counts", stacklevel=2)
        mde = float("nan")
    elif hit[0] == 0:
        mde = float(np.exp(optimize.brentq(gap, sign * 1e-12, grid[0], xtol=1e-14)))
    else:
        mde = float(np.exp(optimize.brentq(gap, grid[hit[0] - 1], grid[hit[0]], xtol=1e-14)))
    pct = (1 - mde) * 100 if direction == "decrease" else (mde - 1) * 100
    return pd.DataFrame([{
        "mde_rate_ratio": mde, "mde_percent": pct, "se_log_rate_ratio_null": se0,
        "approx_mde_rate_ratio": approx, "alpha": alpha, "power": power, "dispersion": dispersion,
        "expected_total": float(arr.sum() + affected), "direction": direction,
    }])


def evaluate_placebo(counts: pd.DataFrame, intervention_start: str, *, confidence: float = 0.95,
                     **options) -> pd.DataFrame:
    """Placebo test of parallel trends: a difference-in-differences with a fake start before the real one.

    Parameters
    ----------
    counts : pandas.DataFrame
        The monthly frame of :func:`evaluate_did` (``month``, ``group``, ``count``); only the
        months before ``intervention_start`` are used.
    intervention_start : str
        The real start (``YYYY-MM``).
    confidence : float, default 0.95
        Confidence level of the interval.
    **options
        Passed to :func:`evaluate_did` (``exposure``, ``errors``, ...); ``seasonality`` is
        set here.

    Returns
    -------
    pandas.DataFrame
        One row: :func:`evaluate_did`'s columns, plus ``placebo_start`` (str: the fake start,
        the middle month of the months before the real start) and ``diverging`` (bool: the
        interval excludes 1, the decision behind "the two areas were already diverging before
        the start").

    Notes
    -----
    Month-of-year terms are used when there are at least 12 months before the start. A test
    like this cannot prove parallel trends, only fail to find a departure;
    ``assessment.calibration.placebo`` measures how often it reports a divergence between two
    areas with none, and how often it finds one.
    """
    check_dataframe(counts, "counts", ["month", "group", "count"])
    start = pd.Period(intervention_start, freq="M")
    months = _months(counts["month"], "month", "counts")
    pre = counts[(months < start)]
    pre_months = sorted(pd.unique(months[months < start]))
    if len(pre_months) < 4:
        raise ValueError(f"`counts` must have at least 4 months before {intervention_start} for a placebo test, "
                         f"got {len(pre_months)}")
    fake = pre_months[len(pre_months) // 2].strftime("%Y-%m")
    out = evaluate_did(pre, fake, seasonality=len(pre_months) >= 12, confidence=confidence, **options)
    out["placebo_start"] = fake
    out["diverging"] = ~((out["ci_lower"] <= 1) & (1 <= out["ci_upper"]))
    return out


def evaluate_did_mde(counts: pd.DataFrame, intervention_start: str, *, exposure: str | None = None,
                     alpha: float = 0.05, power: float = 0.8, dispersion: float | None = None,
                     direction: str = "decrease") -> pd.DataFrame:
    """Minimum detectable effect of a DiD study, stated before its result.

    Parameters
    ----------
    counts : pandas.DataFrame
        The same monthly frame as :func:`evaluate_did` (``month``, ``group``, ``count``,
        optional exposure column). The intervention area's counts from the start month on
        are **not** used.
    intervention_start : str
        First month (``YYYY-MM``) of the intervention.
    exposure : str, optional
        Population column; when given, the expected no-effect count of the intervention
        area after the start is scaled by its exposure.
    alpha, power : float
        Two-sided significance level and required power.
    dispersion : float, optional
        Variance inflation. When omitted it is estimated from the *before* months of both
        areas only: the Pearson chi2/df of a Poisson GLM (``count ~ group + month-of-year``),
        floored at 1, or, when that fit shows a latent AR(1) process (module docstring), the
        design effect it implies for this study's interaction term (the AR(1) sandwich
        variance over the Poisson variance, computed on the full before/after design with
        the before-period fit's means), if larger.
    direction : {'decrease', 'increase'}, default 'decrease'

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`evaluate_mde`, plus ``intervention_pre``,
        ``comparison_pre``, ``comparison_post`` (observed totals) and
        ``expected_intervention_post`` (the no-effect expectation
        ``intervention_pre * comparison_post / comparison_pre``, scaled by exposure when
        given, and by the number of months in each period).

    Notes
    -----
    The expected after-period intervention count assumes the comparison area's before/after
    change (the DiD's parallel-trends null), corrected for differing numbers of months
    (and exposure) in the two areas. The MDE then follows :func:`evaluate_mde` with the
    four DiD cells (Woolf 1955 variance of a log cross-product ratio; Bloom 1995).
    """
    where = "evaluate_did_mde counts"
    check_probability(alpha, "alpha")
    check_probability(power, "power")
    if dispersion is not None:
        check_positive(dispersion, "dispersion")
    y, treated, post, months, expo = _did_frame(counts, intervention_start, exposure, where)
    w = np.ones_like(y) if expo is None else expo
    ip, cp, cq = (treated == 1) & (post == 0), (treated == 0) & (post == 0), (treated == 0) & (post == 1)
    iq = (treated == 1) & (post == 1)
    # no-effect rate of the intervention area after the start (per unit exposure-month)
    rate_ip, rate_cp, rate_cq = y[ip].sum() / w[ip].sum(), y[cp].sum() / w[cp].sum(), y[cq].sum() / w[cq].sum()
    if y[ip].sum() == 0 or y[cp].sum() == 0 or y[cq].sum() == 0:
        raise ValueError(f"`counts` must have incidents in every known cell to plan a DiD, got a zero total in {where}")
    expected_iq = rate_ip * (rate_cq / rate_cp) * w[iq].sum()
    if dispersion is None:
        pre = post == 0
        Xp = pd.DataFrame({"const": 1.0, "treated": treated[pre]})
        Xp = pd.concat([Xp, _season_terms(np.asarray(months.month)[pre], "month", 0, Xp.index)], axis=1)
        offp = None if expo is None else np.log(expo[pre])
        fit = sm.GLM(y[pre], Xp, family=sm.families.Poisson(), offset=offp).fit()
        dispersion = max(1.0, float(fit.pearson_chi2 / fit.df_resid)) if fit.df_resid > 0 else 1.0
        ordinal = np.asarray(months.asi8, dtype=float)
        if fit.df_resid > 0:
            sigma2, rho = _serial_parameters(y[pre], Xp, offp, treated[pre], ordinal[pre])
            if sigma2 > 0:
                # the design effect of the latent process on the interaction, before any result
                Xf = pd.DataFrame({"const": 1.0, "treated": treated, "post": post, "treated_post": treated * post})
                Xf = pd.concat([Xf, _season_terms(np.asarray(months.month), "month", 0, Xf.index)], axis=1)
                A = Xf.to_numpy(dtype=float)
                cols = [list(Xf.columns).index(c) for c in Xp.columns]
                mu = np.exp(A[:, cols] @ fit.params.to_numpy()) * w
                same = treated[:, None] == treated[None, :]
                R = np.where(same, rho ** np.abs(ordinal[:, None] - ordinal[None, :]), 0.0)
                V = np.diag(mu) + sigma2 * np.outer(mu, mu) * R
                bread = np.linalg.inv(A.T @ (mu[:, None] * A))
                j = list(Xf.columns).index("treated_post")
                var_ar1 = float((bread @ A.T @ V @ A @ bread)[j, j])
                dispersion = max(dispersion, var_ar1 / float(bread[j, j]))
    out = evaluate_mde(float(expected_iq), [y[ip].sum(), y[cp].sum(), y[cq].sum()], alpha=alpha,
                       power=power, dispersion=float(dispersion), direction=direction)
    out["intervention_pre"] = int(y[ip].sum())
    out["comparison_pre"] = int(y[cp].sum())
    out["comparison_post"] = int(y[cq].sum())
    out["expected_intervention_post"] = float(expected_iq)
    return out


# --------------------------------------------------------------------------------------
# regression to the mean
# --------------------------------------------------------------------------------------
RTM_STATUSES = ("no concern", "adjusted", "caveat")


def evaluate_rtm(counts: pd.DataFrame, intervention_start: str, *, chosen_for_high_counts: bool = False,
                 selection_months: int = 12, min_history: int = 6, flag_p: float = 0.5,
                 confidence: float = 0.95) -> pd.DataFrame:
    """Check a difference-in-differences for regression to the mean, and adjust for it where possible.

    Parameters
    ----------
    counts : pandas.DataFrame
        The monthly frame of :func:`evaluate_did` (``month``, ``group``, ``count``).
    intervention_start : str
        First month (``YYYY-MM``) of the intervention.
    chosen_for_high_counts : bool, default False
        True when the intervention areas were chosen because their counts were high (the
        catalogue can say so). The check is then always in force; otherwise it is in force
        only when the data show the months before the start were unusually high.
    selection_months : int, default 12
        How many months just before the start the choice was based on (the "selection
        window"); the months before it are the area's longer history.
    min_history : int, default 6
        Fewest months of longer history needed for an adjusted estimate.
    flag_p : float, default 0.5
        One-sided significance level at which a selection window above the longer history
        (relative to the comparison areas) brings the check into force. The default 0.5
        means "whenever the selection window was higher at all": a false alarm only costs
        the baseline months of the selection window, while a missed one lets a chance high
        pass as an effect (with 0.10, a simulated busiest-of-10 area that nobody declared
        still got an unqualified "significant fall" in 9% of runs; with 0.5 in 4%).
    confidence : float, default 0.95
        Level of the adjusted interval.

    Returns
    -------
    pandas.DataFrame
        One row with columns:

        - ``status``: ``'no concern'`` (not chosen for high counts and the selection window
          not unusually high), ``'adjusted'`` (the check is in force and the adjusted
          estimate below replaces the plain one) or ``'caveat'`` (in force, but too little
          history to adjust: only a caveat can be given);
        - ``chosen_for_high_counts`` (bool), ``selection_start``, ``selection_end`` (``YYYY-MM``),
          ``selection_months``, ``history_months`` (int);
        - ``selection_vs_history``: rate ratio of the intervention areas' selection window to
          their longer history, relative to the comparison areas' (NaN without history);
          above 1 means they were unusually high when chosen; ``selection_vs_history_p``:
          its one-sided p-value (``errors='ar1'`` difference-in-differences);
        - ``level_vs_comparison``: the intervention areas' count before the start over the
          comparison areas' (about 1 when the comparison was matched on level);
        - ``unusually_high`` (bool): ``selection_vs_history > 1`` with one-sided p < ``flag_p``;
        - ``adjusted_rate_ratio``, ``adjusted_ci_lower``, ``adjusted_ci_upper``,
          ``adjusted_p_value``: the difference-in-differences with the selection window
          left out, so the baseline is the longer history (NaN unless ``status='adjusted'``);
        - ``caveat``: the sentence a document prints (empty when ``status='no concern'``).

    Notes
    -----
    Areas chosen because their counts were high will, on average, have lower counts later
    even if nothing is done: regression to the mean (Barnett, van der Pols & Dobson 2005,
    "Regression to the mean: what it is and how to deal with it", *Int J Epidemiol*
    34:215-220). A comparison matched on level does not remove it, because the comparison
    areas were not selected on their own chance highs. Two checks follow the brief: the
    selection window against the intervention areas' longer history (relative to the
    comparison areas, so a shared rise is not mistaken for selection), and the areas' level
    against the comparison areas'. Where at least ``min_history`` earlier months exist the
    adjustment uses them as the baseline and drops the selection window, the design the
    Barnett et al. review recommends when several baseline measurements are available: the
    chance high that led to the choice is then not in the baseline. With too little history
    no adjustment is possible and :func:`evaluate_verdict` then never reports a
    "statistically significant fall". The one-sided p-value comes from the ``errors='ar1'``
    difference-in-differences on the months before the start (selection window as "after").
    """
    where = "evaluate_rtm counts"
    check_type(chosen_for_high_counts, "chosen_for_high_counts", bool)
    for value, name in ((selection_months, "selection_months"), (min_history, "min_history")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"`{name}` must be a whole number of months of 1 or more, got {value!r}")
    check_probability(flag_p, "flag_p")
    check_probability(confidence, "confidence")
    y, treated, post, months, _ = _did_frame(counts, intervention_start, None, where)
    pre_months = np.unique(np.asarray(months[post == 0].astype(str)))
    n_sel = min(int(selection_months), len(pre_months))
    selection = pre_months[-n_sel:]
    history = pre_months[:-n_sel] if n_sel < len(pre_months) else pre_months[:0]
    month_text = np.asarray(months.astype(str))
    pre = post == 0
    level = float(y[pre & (treated == 1)].sum() / max(y[pre & (treated == 0)].sum(), 1.0))
    ratio, p_one = float("nan"), float("nan")
    frame = counts.assign(_m=month_text)
    if len(history) >= 3:
        before = frame[frame["_m"].isin(pre_months)].drop(columns="_m")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sel = evaluate_did(before, str(selection[0]), seasonality=bool(len(history) >= 12 and n_sel >= 12),
                               confidence=confidence).iloc[0]
        ratio = float(sel["rate_ratio"])
        # one-sided: the selection window above the history
        p_one = float(sel["p_value"] / 2 if ratio > 1 else 1 - sel["p_value"] / 2)
    unusual = bool(np.isfinite(ratio) and ratio > 1 and p_one < flag_p)
    in_force = chosen_for_high_counts or unusual
    adjusted = dict.fromkeys(("adjusted_rate_ratio", "adjusted_ci_lower", "adjusted_ci_upper",
                              "adjusted_p_value"), float("nan"))
    why = ("the intervention areas were chosen for their high counts" if chosen_for_high_counts else
           f"the intervention areas' counts in the {n_sel} months before the start were unusually high against "
           f"their earlier months (rate ratio {ratio:.2f} relative to the comparison areas)")
    if not in_force:
        status, caveat = "no concern", ""
    elif len(history) >= min_history:
        kept = frame[~frame["_m"].isin(selection)].drop(columns="_m")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            adj = evaluate_did(kept, intervention_start, seasonality=bool(len(history) >= 12),
                               confidence=confidence).iloc[0]
        adjusted = {"adjusted_rate_ratio": float(adj["rate_ratio"]), "adjusted_ci_lower": float(adj["ci_lower"]),
                    "adjusted_ci_upper": float(adj["ci_upper"]), "adjusted_p_value": float(adj["p_value"])}
        status = "adjusted"
        caveat = (f"Because {why}, part of any later fall could be regression to the mean (a run of high months "
                  f"tends to be followed by lower ones even if nothing is done). The estimate is therefore measured "
                  f"against the {len(history)} months before the areas were chosen ({history[0]} to {history[-1]}), "
                  f"leaving out the {n_sel} months the choice was based on.")
    else:
        status = "caveat"
        caveat = (f"Because {why}, part or all of any later fall could be regression to the mean (a run of high "
                  "months tends to be followed by lower ones even if nothing is done), and there are too few "
                  "earlier months to allow for it: a fall cannot be told apart from regression to the mean.")
    return pd.DataFrame([{
        "status": status, "chosen_for_high_counts": chosen_for_high_counts,
        "selection_start": str(selection[0]), "selection_end": str(selection[-1]),
        "selection_months": int(n_sel), "history_months": int(len(history)),
        "selection_vs_history": ratio, "selection_vs_history_p": p_one, "level_vs_comparison": level,
        "unusually_high": unusual, **adjusted, "caveat": caveat,
    }])


# --------------------------------------------------------------------------------------
# verdict
# --------------------------------------------------------------------------------------
def _pct(x: float) -> str:
    return f"{x:.0f}%" if x >= 10 else f"{x:.1f}%"


def evaluate_verdict(rate_ratio: float, ci_lower: float, ci_upper: float, mde_rate_ratio: float | None = None,
                     *, confidence: float = 0.95, outcome: str = "incidents", rtm=None) -> str:
    """A plain-language verdict on an estimated rate ratio that never overclaims.

    Parameters
    ----------
    rate_ratio, ci_lower, ci_upper : float
        The estimate and its confidence interval (e.g. from :func:`evaluate_did`).
    mde_rate_ratio : float, optional
        The minimum detectable rate ratio stated before the result (from
        :func:`evaluate_mde` or :func:`evaluate_did_mde`). Below 1 means a fall; an MDE
        above 1 is read as the detectable rise and its mirror ``1/mde`` as the fall.
    confidence : float, default 0.95
        The interval's level, quoted in the sentence.
    outcome : str, default 'incidents'
        What was counted, for the sentence.
    rtm : pandas.Series, dict or one-row DataFrame, optional
        The regression-to-the-mean check from :func:`evaluate_rtm`. With ``status='adjusted'``
        the verdict is on the adjusted estimate and says so; with ``status='caveat'`` it never
        reports a statistically significant fall (a fall is reported as not distinguishable
        from regression to the mean).

    Returns
    -------
    str
        One sentence:

        - interval wholly below 1: "a statistically significant fall of Y% in incidents
          (rate ratio 0.78, 95% CI 0.66 to 0.92)";
        - interval wholly above 1: the same for a rise;
        - interval including 1 and an estimate smaller than the MDE: "no detectable effect
          on incidents (rate ratio ..., 95% CI ...), and the study could only have detected
          a change larger than X%";
        - interval including 1 but an estimate at least as large as the MDE (a less
          precise result than planned): "no statistically significant change ...; the
          estimate is imprecise and compatible with no change".

    Notes
    -----
    The significance rule is the confidence interval for the rate ratio (equivalent to a
    two-sided Wald test at ``1 - confidence``). Following the reporting guidance that
    absence of evidence is not evidence of absence (Altman & Bland 1995, *BMJ* 311:485),
    a non-significant result is always reported with its interval and, when known, the
    smallest change the study could have detected; it is never described as "no effect".
    Regression to the mean (Barnett, van der Pols & Dobson 2005, *Int J Epidemiol*
    34:215-220) is handled as described under ``rtm``.
    """
    for value, name in ((rate_ratio, "rate_ratio"), (ci_lower, "ci_lower"), (ci_upper, "ci_upper")):
        check_positive(float(value) if isinstance(value, (np.floating, np.integer)) else value, name)
    check_probability(confidence, "confidence")
    check_type(outcome, "outcome", str)
    rate_ratio, ci_lower, ci_upper = float(rate_ratio), float(ci_lower), float(ci_upper)
    if not ci_lower <= rate_ratio <= ci_upper:
        raise ValueError(
            f"`rate_ratio` must lie within its interval, got {rate_ratio!r} outside ({ci_lower!r}, {ci_upper!r})"
        )
    status, note = "no concern", ""
    if rtm is not None:
        row = rtm.iloc[0] if isinstance(rtm, pd.DataFrame) else pd.Series(rtm)
        status = str(row.get("status", "no concern"))
        check_choice(status, "rtm status", RTM_STATUSES)
        if status == "adjusted":
            rate_ratio, ci_lower, ci_upper = (float(row["adjusted_rate_ratio"]), float(row["adjusted_ci_lower"]),
                                              float(row["adjusted_ci_upper"]))
            note = (f", measured against the {int(row['history_months'])} months before the areas were chosen "
                    "to allow for regression to the mean")
    level = f"{confidence * 100:g}%"
    est = f"rate ratio {rate_ratio:.2f}, {level} CI {ci_lower:.2f} to {ci_upper:.2f}{note}"
    if ci_upper < 1 and status == "caveat":
        return (f"a fall of {_pct((1 - rate_ratio) * 100)} in {outcome} ({est}) that cannot be told apart from "
                "regression to the mean, because the areas were chosen for (or had) high counts just before the start "
                "and there are too few earlier months to allow for it")
    if ci_upper < 1:
        return f"a statistically significant fall of {_pct((1 - rate_ratio) * 100)} in {outcome} ({est})"
    if ci_lower > 1:
        return f"a statistically significant rise of {_pct((rate_ratio - 1) * 100)} in {outcome} ({est})"
    if mde_rate_ratio is None:
        return (f"no statistically significant change in {outcome} ({est}); the interval is compatible "
                "with no change, and the study's minimum detectable effect was not stated")
    mde = float(mde_rate_ratio)
    check_positive(mde, "mde_rate_ratio")
    if mde == 1:
        raise ValueError("`mde_rate_ratio` must differ from 1, got 1")
    log_mde = abs(np.log(mde))
    mde_pct = (1 - np.exp(-log_mde)) * 100  # the detectable fall
    if abs(np.log(rate_ratio)) < log_mde:
        return (f"no detectable effect on {outcome} ({est}), and the study could only have detected "
                f"a change larger than {_pct(mde_pct)}")
    return (f"no statistically significant change in {outcome} ({est}); the estimate is imprecise and "
            f"compatible with no change (the study was planned to detect a change larger than {_pct(mde_pct)})")
