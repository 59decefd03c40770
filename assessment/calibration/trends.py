"""Calibration of the trend statements: trend, year on year, season, exceptional months.

Each run draws one 36-month series (January 2023 to December 2025) with a known truth and
passes it through the same functions and the same wording a document uses:

- trend: ``trend_glm``, decided by ``wording.verdict_trend`` (the decision behind
  ``describe_trend``'s "rising"/"falling ... statistically significant");
- year on year: ``trend_year_on_year`` (the latest 12 months against the 12 before),
  decided by ``wording.verdict_year_on_year`` (behind "statistically significant");
- season: ``trend_seasonality``, decided by ``wording.verdict_seasonality`` (behind
  "a clear seasonal pattern");
- exceptional months: ``trend_exceptions`` with its defaults; a run counts when any of
  the 36 months is flagged (``describe_exceptions`` then names it).

All with the functions' defaults (quasi-Poisson dispersion, autocorrelation allowance for a
latent AR(1) process estimated from the series itself, with its effective-sample-size t
reference, 99.8% prediction limits); one series is one test, so no false-discovery adjustment
enters (documents adjust across crime types, which only lowers these rates).

Scenarios: a Poisson null (mean 100 every month); an over-dispersed null (negative
binomial NB2, mean 100, variance 250 = 2.5 x mean); an autocorrelated over-dispersed null
(a Poisson count whose log-mean follows a stationary Gaussian AR(1) with lag-1 correlation
0.6, scaled so the variance is again 2.5 x mean); and a 10% a year rise (mean 100 at the
middle of the series) with Poisson and with over-dispersed noise, for power.

Crime counts also follow the calendar, so the autocorrelated null is drawn once more around
a seasonal mean (log-mean ``0.25 sin(2 pi (m - 4) / 12)`` for month of the year ``m``: about
28% above the level of 100 in July and 22% below it in January; an illustration, not an
estimate from any data), reported for the trend and year-on-year statements (a seasonal pattern is
then true, so that statement is not counted). Busier months then carry more of the latent
variation, which is what Zeger's ``D^1/2 R D^1/2`` in ``trend_glm`` allows for.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from assessment.analysis import trends, wording
from assessment.calibration import calibration_frame, calibration_row, calibration_streams

__all__ = ["results", "simulate_series", "draw_counts", "SCENARIOS"]

N_MONTHS = 36
MEAN = 100.0
VARIANCE_RATIO = 2.5
AR_RHO = 0.6
TREND_PCT = 10.0
SEASON_AMPLITUDE = 0.25
_MONTHS = pd.period_range("2023-01", periods=N_MONTHS, freq="M").strftime("%Y-%m")
_END = _MONTHS[-1]

#: scenario key -> label used in the table
SCENARIOS: dict[str, str] = {
    "poisson": "Poisson null (mean 100)",
    "nb": "over-dispersed null (NB, mean 100, variance 2.5 x mean)",
    "ar1": "autocorrelated over-dispersed null (AR(1) rho 0.6 on the log-mean, variance 2.5 x mean)",
    "trend_poisson": "10% a year rise, Poisson",
    "trend_nb": "10% a year rise, over-dispersed (variance 2.5 x mean)",
    "ar1_seasonal": f"autocorrelated over-dispersed null around a seasonal mean (log-mean amplitude {SEASON_AMPLITUDE:g}, "
                    "AR(1) rho 0.6, variance 2.5 x mean at mean 100)",
}


def _mean_path(trend_pct: float) -> np.ndarray:
    t = (np.arange(N_MONTHS) - (N_MONTHS - 1) / 2) / 12.0
    return MEAN * (1 + trend_pct / 100.0) ** t


def draw_counts(kind: str, mu: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Monthly counts around the mean paths ``mu`` (shape ``(series, months)``) with the noise ``kind``.

    ``"poisson"``: Poisson; ``"nb"``: negative binomial NB2 with ``Var = mu + a mu^2``,
    ``a = (2.5 - 1) / 100 = 0.015`` (variance 2.5 x mean at mean 100), drawn as a gamma-Poisson
    mixture; ``"ar1"``: a Poisson count with mean ``mu exp(e_t - s^2 / 2)``, where ``e_t`` is a
    stationary Gaussian AR(1) with lag-1 correlation 0.6 and variance ``s^2 = log(1 + a)``, so
    its marginal mean is ``mu`` and its variance ``mu + a mu^2`` as for ``"nb"``. Every series
    (row) is independent of the others.
    """
    if kind not in ("poisson", "nb", "ar1"):
        raise ValueError(f"`kind` must be one of ['poisson', 'nb', 'ar1'], got {kind!r}")
    mu = np.asarray(mu, dtype=float)
    if mu.ndim != 2 or not np.all(mu > 0):
        raise ValueError(f"`mu` must be a 2-D array of positive means, got shape {mu.shape}")
    a = (VARIANCE_RATIO - 1.0) / MEAN
    if kind == "poisson":
        return rng.poisson(mu)
    if kind == "nb":
        return rng.poisson(rng.gamma(1.0 / a, a * mu))
    n, months = mu.shape
    s2 = np.log1p(a)
    e = np.empty((n, months))
    e[:, 0] = rng.normal(0.0, np.sqrt(s2), n)
    innov = rng.normal(0.0, np.sqrt(s2 * (1 - AR_RHO**2)), (n, months))
    for t in range(1, months):  # one step per month over all series at once
        e[:, t] = AR_RHO * e[:, t - 1] + innov[:, t]
    return rng.poisson(mu * np.exp(e - s2 / 2))


def simulate_series(scenario: str, n_runs: int, rng: np.random.Generator) -> np.ndarray:
    """Simulated monthly counts, shape ``(n_runs, 36)``, for one key of :data:`SCENARIOS`.

    Noise as in :func:`draw_counts` (``"trend_poisson"`` is Poisson, ``"trend_nb"`` NB2)
    around a mean of 100 (or 100 at the middle of the series rising 10% a year).
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"`scenario` must be one of {list(SCENARIOS)}, got {scenario!r}")
    mu = _mean_path(TREND_PCT if scenario.startswith("trend") else 0.0)
    if scenario == "ar1_seasonal":
        moy = pd.PeriodIndex(_MONTHS, freq="M").month.to_numpy()
        mu = mu * np.exp(SEASON_AMPLITUDE * np.sin(2 * np.pi * (moy - 4) / 12))
    mu = np.broadcast_to(mu, (n_runs, N_MONTHS))
    return draw_counts(scenario.removeprefix("trend_").removesuffix("_seasonal"), mu, rng)


def _statements(y: np.ndarray, exceptions: bool) -> dict[str, bool]:
    """Which statements a document would print for one simulated series."""
    s = pd.Series(y, index=_MONTHS)
    monthly = pd.DataFrame({"month": _MONTHS, "count": y})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        glm = trends.trend_glm(s)
        yoy = trends.trend_year_on_year(monthly, end=_END)
        season = trends.trend_seasonality(s)
        out = {
            "trend": wording.verdict_trend(glm) in ("rising", "falling"),
            "yoy": wording.verdict_year_on_year(yoy).iloc[0] in ("significant rise", "significant fall"),
            "season": wording.verdict_seasonality(season) == "clear seasonal pattern",
        }
        if exceptions:
            out["exceptional"] = bool(trends.trend_exceptions(s)["exceptional"].any())
    return out


def results(n_runs: int, seed: int) -> pd.DataFrame:
    """False-positive rates and power of the trend statements (see the module docstring).

    ``n_runs``, ``seed`` and the result's columns are those of every calibration module
    (:mod:`assessment.calibration`).
    """
    streams = calibration_streams(seed, SCENARIOS)
    labels = {
        "trend": 'trend "rising"/"falling" (trend_glm p < 0.05)',
        "yoy": 'year on year "statistically significant"',
        "season": '"a clear seasonal pattern"',
        "exceptional": "a series with any exceptional month (99.8% limits)",
    }
    limits = {
        "poisson": {"trend": 0.07, "yoy": 0.07, "season": 0.07, "exceptional": 0.07},
        "nb": {"trend": 0.07, "yoy": 0.07, "season": 0.07, "exceptional": 0.10},
    }
    rows = []
    for key, label in SCENARIOS.items():
        y = simulate_series(key, n_runs, streams[key])
        null = key in ("poisson", "nb", "ar1", "ar1_seasonal")
        found = [_statements(row, exceptions=key in ("poisson", "nb")) for row in y]
        if null:
            for stmt in ("trend", "yoy", "season", "exceptional"):
                if stmt not in found[0] or (stmt == "season" and key == "ar1_seasonal"):  # a true season
                    continue
                hits = np.array([f[stmt] for f in found])
                rows.append(calibration_row(labels[stmt], label, hits, n_runs,
                                            limits.get(key, {}).get(stmt, float("nan"))))
        else:
            hits = np.array([f["trend"] for f in found])
            rows.append(calibration_row("power: " + labels["trend"], label, hits, n_runs, 0.60, bound="at least"))
            hits = np.array([f["yoy"] for f in found])
            rows.append(calibration_row("power: " + labels["yoy"], label, hits, n_runs))
    return calibration_frame(rows)
