"""Calibration of the ward statements: "significantly higher than the partnership" and "rose/fell significantly".

Each run simulates one partnership of 20 wards of 5,000 to 15,000 residents (drawn at
random) with a crime rate of 80 per 1,000 a year (all crime, as the strategic assessment's
ward rates: about 400 to 1,200 crimes a ward) or 8 per 1,000 (one crime type, as a problem
profile's: about 40 to 120).

The null. Wards really differ, and a ward whose rate really is above the partnership's is
rightly called higher; that is not a false positive. The question here is narrower: how often
a ward whose *expected* rate equals the partnership's is called "significantly higher", or a
ward whose expected count did not change is said to have "risen significantly", because its
count is noisier than the test allows. So in every null run all wards have the partnership's
expected rate (and the same expected count in both years), and the noise is that of real
counts: over-dispersed, variance 2.5 x mean (a negative binomial with a fixed variance-to-mean
ratio, as clumped events give: repeat victims, series offenders, several crimes in one
incident; monthly police counts show this ratio around their own expected values, and a year
is the sum of its months). Each ward's 12 months are drawn (a twelfth of the year's expected
count each) and summed: negative binomials with the same ratio add up to one with that ratio,
so a year's count has variance 2.5 x its mean too. A Poisson null (variance = mean) checks the
tests themselves.

Both decisions allow for over-dispersion estimated from the counts themselves:
:func:`~assessment.analysis.rates.rate_table_dispersion` of the wards' counts by month (the
Pearson chi-square / df of a Poisson model with ward and month terms, never below 1: each
ward's month-to-month noise around its own level, not the spread between wards, with an
allowance for correlated neighbouring months) gives the design effect by which each ward's
count is divided before its Poisson interval or exact test.

Real monthly counts are also autocorrelated: busy or quiet spells last more than a month.
An autocorrelated over-dispersed null (as the trends module's: each ward's count Poisson
around a mean whose logarithm follows a stationary Gaussian AR(1) with lag-1 correlation 0.6,
scaled so that a month's variance is again 2.5 x its mean; a year's count then varies about
6 x its mean) is reported for both statements, without an acceptance limit, as the trends
module reports its own.

- "significantly higher": :func:`~assessment.analysis.rates.rate_compared_with_total` (the
  decision behind ``evidence_ward_rates``: Byar / exact Poisson 95% interval of each ward's
  rate, with the design effect of the latest 12 months, wholly above the partnership rate). The 95% interval claims that a ward with the
  partnership's rate is called higher in at most 2.5% of cases; acceptance: at most 3.5% of
  wards (the same 1.4 x slack as 7% on a nominal 5%). Also reported: the share of
  partnerships in which at least one ward is called higher (the document then names it; the
  method claims no level for that), and the same share for the funnel plot's 95% limits with
  its over-dispersion allowance, as a share of wards and of partnerships (:func:`~assessment.analysis.rates.rate_funnel_position`;
  alternative, not printed: it widens the limits by the spread between the wards themselves,
  so it cannot tell real differences from noise either, but it allows for over-dispersion).
  Power: one ward at 1.3 x the rate (all crime) or 1.5 x (one
  crime type), the others at the base rate, over-dispersed noise.
- "rose/fell significantly": the audit's ward change, first year against latest year:
  :func:`~assessment.analysis.trends.trend_rate_ratio` (exact conditional Poisson test, with
  the design effect of the two years' months) for each ward, decided by :func:`~assessment.analysis.wording.verdict_change_family`
  (Benjamini-Hochberg across the 20 wards at 5%). Ward rates differ by 15% (log-normal) but
  each ward's expected count is the same in both years. The false discovery rate equals the
  chance of naming any ward when no ward changed, so acceptance is at most 7% of audits
  naming at least one ward (nominal 5%). Power: three wards rise by 25%, the others stay; a
  run counts each of the three named "rose" (share of planted wards).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from assessment.analysis.rates import rate_compared_with_total, rate_funnel_position, rate_table_dispersion
from assessment.analysis.trends import trend_rate_ratio
from assessment.analysis.wording import verdict_change_family
from assessment.calibration import calibration_frame, calibration_row, calibration_streams

__all__ = ["results", "simulate_counts", "simulate_months", "SCENARIOS"]

N_WARDS = 20
RATE_ALL = 80.0
RATE_TYPE = 8.0
VARIANCE_RATIO = 2.5
SPREAD = 0.15
HIGHER_ALL = 1.3
HIGHER_TYPE = 1.5
RISE = 1.25
N_RISING = 3
MONTHS = 12

SCENARIOS: dict[str, str] = {
    "poisson": "20 wards at the partnership's expected rate (80 per 1,000), Poisson counts",
    "nb": "20 wards at the partnership's expected rate (80 per 1,000), over-dispersed counts (variance 2.5 x mean)",
    "nb_type": "20 wards at the partnership's expected rate (8 per 1,000, one crime type), over-dispersed counts "
               "(variance 2.5 x mean)",
    "higher": "one ward at 1.3 x the rate (80 per 1,000), over-dispersed counts (variance 2.5 x mean)",
    "higher_type": "one ward at 1.5 x the rate (8 per 1,000, one crime type), over-dispersed counts "
                   "(variance 2.5 x mean)",
    "change_poisson": "20 wards, no ward's expected count changes (rates 15% apart, 80 per 1,000), Poisson counts",
    "change_nb": "20 wards, no ward's expected count changes (rates 15% apart, 80 per 1,000), over-dispersed "
                 "counts (variance 2.5 x mean)",
    "change_rise": "3 of 20 wards rise by 25%, the others stay (80 per 1,000), over-dispersed counts "
                   "(variance 2.5 x mean)",
    "ar1": "20 wards at the partnership's expected rate (80 per 1,000), autocorrelated over-dispersed months "
           "(AR(1) rho 0.6 on the log-mean, variance 2.5 x mean)",
    "change_ar1": "20 wards, no ward's expected count changes (rates 15% apart, 80 per 1,000), autocorrelated "
                  "over-dispersed months (AR(1) rho 0.6 on the log-mean, variance 2.5 x mean)",
}
AR_RHO = 0.6


def simulate_counts(mean: np.ndarray, rng: np.random.Generator, variance_ratio: float | None = VARIANCE_RATIO
                    ) -> np.ndarray:
    """Counts with the given means: Poisson (``variance_ratio`` None) or variance ``variance_ratio`` x mean.

    The over-dispersed counts are negative binomial with size ``mean / (ratio - 1)`` and
    probability ``1 / ratio`` (mean ``mean``, variance ``ratio * mean`` at every mean).
    """
    mean = np.asarray(mean, dtype=float)
    if variance_ratio is None:
        return rng.poisson(mean)
    return rng.negative_binomial(mean / (variance_ratio - 1.0), 1.0 / variance_ratio)


def simulate_months(year_mean: np.ndarray, rng: np.random.Generator, variance_ratio: float | None = VARIANCE_RATIO,
                    rho: float = 0.0) -> np.ndarray:
    """A year's counts month by month: shape ``year_mean.shape + (12,)``, each month a twelfth of the mean.

    With ``rho`` 0, summed over the months the counts have :func:`simulate_counts`'s
    distribution (Poisson, or negative binomial with the same variance-to-mean ratio). With
    ``rho`` > 0 (and a ``variance_ratio``) each month is Poisson with mean ``mu exp(e_t - s^2/2)``,
    ``e_t`` a stationary Gaussian AR(1) with lag-1 correlation ``rho`` and variance
    ``s^2 = log(1 + (ratio - 1) / mu)``: a month's mean is ``mu`` and its variance ``ratio * mu``
    as before, but neighbouring months move together.
    """
    year_mean = np.asarray(year_mean, dtype=float)
    mu = np.repeat(year_mean[..., None] / MONTHS, MONTHS, axis=-1)
    if rho == 0 or variance_ratio is None:
        return simulate_counts(mu, rng, variance_ratio)
    s2 = np.log1p((variance_ratio - 1.0) / mu)
    e = np.empty(mu.shape)
    e[..., 0] = rng.normal(0.0, 1.0, mu.shape[:-1])
    for t in range(1, MONTHS):  # one step per month over all wards and runs at once
        e[..., t] = rho * e[..., t - 1] + np.sqrt(1.0 - rho**2) * rng.normal(0.0, 1.0, mu.shape[:-1])
    return rng.poisson(mu * np.exp(np.sqrt(s2) * e - s2 / 2.0))


def _dispersion(*months: np.ndarray) -> np.ndarray:
    """``rate_table_dispersion``'s design effect of each run's ward x month table(s): one number per run."""
    return np.array([rate_table_dispersion(*(m[r] for m in months))["design_effect"] for r in range(len(months[0]))])


def _higher(pop: np.ndarray, months: np.ndarray) -> np.ndarray:
    """``rate_compared_with_total`` labels, shape (runs, wards): one partnership per run, from its monthly counts."""
    runs, wards = months.shape[:2]
    frame = pd.DataFrame({"run": np.repeat(np.arange(runs), wards), "count": months.sum(axis=-1).ravel(),
                          "population": pop.ravel(), "dispersion": np.repeat(_dispersion(months), wards)})
    return (rate_compared_with_total(frame, group_col="run", dispersion="dispersion")["significance"].to_numpy()
            == "higher").reshape(runs, wards)


def _funnel_above(pop: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Wards above the funnel plot's 95% limits (with the over-dispersion allowance), shape (runs, wards)."""
    out = np.zeros(counts.shape, bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r in range(len(counts)):  # one funnel plot per run
            frame = pd.DataFrame({"count": counts[r], "population": pop[r]})
            out[r] = rate_funnel_position(frame)["funnel"].str.startswith("above").to_numpy()
    return out


def _named(m1: np.ndarray, m3: np.ndarray) -> np.ndarray:
    """``verdict_change_family`` verdicts, shape (runs, wards): one audit per run, from the two years' months."""
    c1, c3 = m1.sum(axis=-1), m3.sum(axis=-1)
    design = np.repeat(_dispersion(m1, m3)[:, None], c1.shape[1], axis=1)
    rr = trend_rate_ratio(c3.ravel(), c1.ravel(), design_effect=design.ravel())
    pct = rr["pct_change"].to_numpy().reshape(c1.shape)
    p = rr["p_value"].to_numpy().reshape(c1.shape)
    out = np.empty(c1.shape, dtype=object)
    for r in range(len(c1)):  # the FDR family is one audit's wards
        out[r] = verdict_change_family(pd.DataFrame({"pct_change": pct[r], "p_value": p[r]})).to_numpy()
    return out


def results(n_runs: int, seed: int) -> pd.DataFrame:
    """False-positive rates and power of the two ward statements (module docstring).

    ``n_runs``, ``seed`` and the result's columns are those of every calibration module
    (:mod:`assessment.calibration`).
    """
    streams = calibration_streams(seed, SCENARIOS)
    rows = []
    higher_label = 'ward "significantly higher" (95% CI above the partnership rate)'
    for key, rate, ratio, rho in (("poisson", RATE_ALL, None, 0.0), ("nb", RATE_ALL, VARIANCE_RATIO, 0.0),
                                  ("nb_type", RATE_TYPE, VARIANCE_RATIO, 0.0), ("ar1", RATE_ALL, VARIANCE_RATIO, AR_RHO)):
        rng = streams[key]
        pop = rng.integers(5_000, 15_001, (n_runs, N_WARDS)).astype(float)
        months = simulate_months(rate * pop / 1000.0, rng, ratio, rho)
        counts = months.sum(axis=-1)
        hi = _higher(pop, months)
        rows += [
            calibration_row(f"{higher_label}: share of wards", SCENARIOS[key], int(hi.sum()), n_runs * N_WARDS,
                            float("nan") if rho else 0.035),
            calibration_row(f"{higher_label}: partnerships with any ward named", SCENARIOS[key], hi.any(axis=1),
                            n_runs),
        ]
        if key in ("nb", "nb_type"):
            above = _funnel_above(pop, counts)
            funnel_label = "funnel plot's upper 95% limit with the over-dispersion allowance (alternative, not printed)"
            rows += [
                calibration_row(f"{funnel_label}: share of wards above", SCENARIOS[key], int(above.sum()),
                                n_runs * N_WARDS),
                calibration_row(f"{funnel_label}: partnerships with any ward above", SCENARIOS[key],
                                above.any(axis=1), n_runs),
            ]
    for key, rate, boost in (("higher", RATE_ALL, HIGHER_ALL), ("higher_type", RATE_TYPE, HIGHER_TYPE)):
        rng = streams[key]
        pop = rng.integers(5_000, 15_001, (n_runs, N_WARDS)).astype(float)
        mean = rate * pop / 1000.0
        mean[:, 0] *= boost
        hi = _higher(pop, simulate_months(mean, rng))
        rows.append(calibration_row(f"power: {higher_label}: the planted ward", SCENARIOS[key], hi[:, 0], n_runs))
    change_label = 'ward "rose/fell significantly" (exact test with the design effect, FDR 5% across wards)'
    for key, ratio, rho in (("change_poisson", None, 0.0), ("change_nb", VARIANCE_RATIO, 0.0),
                            ("change_rise", VARIANCE_RATIO, 0.0), ("change_ar1", VARIANCE_RATIO, AR_RHO)):
        rng = streams[key]
        pop = rng.integers(5_000, 15_001, (n_runs, N_WARDS)).astype(float)
        mean1 = RATE_ALL * pop / 1000.0 * np.exp(rng.normal(0.0, SPREAD, (n_runs, N_WARDS)))
        mean3 = mean1.copy()
        if key == "change_rise":
            mean3[:, :N_RISING] *= RISE
        verdict = _named(simulate_months(mean1, rng, ratio, rho), simulate_months(mean3, rng, ratio, rho))
        named = np.isin(verdict, ["rose", "fell"])
        if key == "change_rise":
            rows += [
                calibration_row(f"power: {change_label}: each rising ward named \"rose\"", SCENARIOS[key],
                                int((verdict[:, :N_RISING] == "rose").sum()), n_runs * N_RISING),
                calibration_row(f"{change_label}: a ward that did not change named (share of the other wards)",
                                SCENARIOS[key], int(named[:, N_RISING:].sum()), n_runs * (N_WARDS - N_RISING)),
            ]
        else:
            rows += [
                calibration_row(f"{change_label}: audits naming any ward", SCENARIOS[key], named.any(axis=1), n_runs,
                                float("nan") if rho else 0.07),
                calibration_row(f"{change_label}: share of wards named", SCENARIOS[key], int(named.sum()),
                                n_runs * N_WARDS),
            ]
    return calibration_frame(rows)
