"""Calibration of the evaluation statements: difference-in-differences, interrupted time series,
and regression to the mean.

Every run draws monthly counts for 36 months (24 before the start, 12 from it; January 2023 to
December 2025, start January 2025) with no effect of any kind, and passes them through the
public functions a document uses, with their defaults:

- difference-in-differences: :func:`~assessment.analysis.evaluation.evaluate_did`
  (month-of-year terms, ``errors='ar1'``); a run counts when ``p_value < 0.05``. The same
  with ``errors='independent'`` (the earlier behaviour) is reported beside it.
- interrupted time series: :func:`~assessment.analysis.evaluation.evaluate_its` (two pairs of
  Fourier terms, ``errors='ar1'``); level change and slope change counted separately
  (``p_value < 0.05``), and either of them.
- regression to the mean: ten identical areas; the intervention area is the one with the
  most incidents in the 12 months before the start, the comparison is the other nine
  together. The statement measured is the verdict sentence a document prints,
  :func:`~assessment.analysis.evaluation.evaluate_verdict` given the DiD, its minimum
  detectable effect is not needed, and the check of
  :func:`~assessment.analysis.evaluation.evaluate_rtm`: a run counts when the sentence says
  "statistically significant fall" without the words "regression to the mean". It is run
  twice, once with the catalogue saying the areas were chosen for high counts
  (``chosen_for_high_counts=True``) and once without (the data check alone must catch it).

Counts (every area and month): Poisson with mean ``100 exp(e_t - s^2/2)`` where ``e_t`` is a
stationary Gaussian AR(1) with lag-1 correlation 0.6 and variance ``s^2 = log(1.015)``, so
each month has mean 100 and variance 250 (2.5 x mean), as in the trend calibration; areas
are independent. The power line plants a 20% fall in the intervention area from the start.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from assessment.analysis.evaluation import evaluate_did, evaluate_its, evaluate_rtm, evaluate_verdict
from assessment.calibration import calibration_frame, calibration_row, calibration_streams

__all__ = ["results", "simulate_areas", "SCENARIOS"]

N_MONTHS = 36
N_PRE = 24
MEAN = 100.0
VARIANCE_RATIO = 2.5
AR_RHO = 0.6
N_AREAS = 10
SELECTION_MONTHS = 12
LIMIT = 0.07
_MONTHS = pd.period_range("2023-01", periods=N_MONTHS, freq="M").strftime("%Y-%m")
START = _MONTHS[N_PRE]

SCENARIOS: dict[str, str] = {
    "ar1": "AR(1) null months (rho 0.6, variance 2.5 x mean 100), 24 before / 12 after",
    "rtm_declared": "busiest of 10 identical AR(1) areas, chosen on the 12 months before the start; "
                    "catalogue says chosen for high counts",
    "rtm_silent": "busiest of 10 identical AR(1) areas, chosen on the 12 months before the start; "
                  "catalogue silent (the data check alone)",
    "fall": "AR(1) months, a real 20% fall in the intervention area from the start",
}


def simulate_areas(n_runs: int, n_areas: int, rng: np.random.Generator) -> np.ndarray:
    """Monthly counts, shape ``(n_runs, n_areas, 36)``, of independent latent-AR(1) areas (see module)."""
    a = (VARIANCE_RATIO - 1.0) / MEAN
    s2 = np.log1p(a)
    e = np.empty((n_runs, n_areas, N_MONTHS))
    e[..., 0] = rng.normal(0.0, np.sqrt(s2), (n_runs, n_areas))
    innov = rng.normal(0.0, np.sqrt(s2 * (1 - AR_RHO**2)), (n_runs, n_areas, N_MONTHS))
    for t in range(1, N_MONTHS):  # 36 steps over every run and area at once
        e[..., t] = AR_RHO * e[..., t - 1] + innov[..., t]
    return rng.poisson(MEAN * np.exp(e - s2 / 2))


def _did_frame(intervention: np.ndarray, comparison: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"month": np.concatenate([_MONTHS, _MONTHS]),
                         "group": ["intervention"] * N_MONTHS + ["comparison"] * N_MONTHS,
                         "count": np.concatenate([intervention, comparison])})


def _verdict_hits(frame: pd.DataFrame, declared: bool) -> tuple[bool, bool]:
    """(significant fall without an RTM caveat, significant fall at all) in the printed verdict."""
    did = evaluate_did(frame, START).iloc[0]
    rtm = evaluate_rtm(frame, START, chosen_for_high_counts=declared, selection_months=SELECTION_MONTHS)
    text = evaluate_verdict(did["rate_ratio"], did["ci_lower"], did["ci_upper"], rtm=rtm)
    sig = "statistically significant fall" in text
    return sig and "regression to the mean" not in text, sig


def results(n_runs: int, seed: int) -> pd.DataFrame:
    """False-positive rates (and one power) of the evaluation statements; see the module docstring.

    ``n_runs``, ``seed`` and the result's columns are those of every calibration module
    (:mod:`assessment.calibration`).
    """
    streams = calibration_streams(seed, SCENARIOS)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # AR(1) null: DiD and ITS
        y = simulate_areas(n_runs, 2, streams["ar1"])
        did = np.zeros(n_runs, bool)
        did_ind = np.zeros(n_runs, bool)
        level = np.zeros(n_runs, bool)
        slope = np.zeros(n_runs, bool)
        for r in range(n_runs):  # one study per run
            frame = _did_frame(y[r, 0], y[r, 1])
            did[r] = evaluate_did(frame, START)["p_value"].iloc[0] < 0.05
            did_ind[r] = evaluate_did(frame, START, errors="independent")["p_value"].iloc[0] < 0.05
            eff = evaluate_its(pd.DataFrame({"month": _MONTHS, "count": y[r, 0]}), START).effects.set_index("term")
            level[r] = eff.loc["level_change", "p_value"] < 0.05
            slope[r] = eff.loc["slope_change", "p_value"] < 0.05
        label = SCENARIOS["ar1"]
        rows += [
            calibration_row("difference-in-differences p < 0.05", label, did, n_runs, LIMIT),
            calibration_row("difference-in-differences p < 0.05, months treated as independent (before)",
                            label, did_ind, n_runs),
            calibration_row("interrupted time series: level change p < 0.05", label, level, n_runs, LIMIT),
            calibration_row("interrupted time series: slope change p < 0.05", label, slope, n_runs, LIMIT),
            calibration_row("interrupted time series: level or slope change p < 0.05", label, level | slope, n_runs),
        ]
        # regression to the mean
        for key, declared in (("rtm_declared", True), ("rtm_silent", False)):
            areas = simulate_areas(n_runs, N_AREAS, streams[key])
            chosen = areas[:, :, N_PRE - SELECTION_MONTHS:N_PRE].sum(axis=2).argmax(axis=1)
            idx = np.arange(n_runs)
            inter = areas[idx, chosen]
            comp = areas.sum(axis=1) - inter
            uncaveated = np.zeros(n_runs, bool)
            significant = np.zeros(n_runs, bool)
            for r in range(n_runs):
                uncaveated[r], significant[r] = _verdict_hits(_did_frame(inter[r], comp[r]), declared)
            rows += [
                calibration_row('verdict "statistically significant fall" without a regression-to-the-mean caveat',
                                SCENARIOS[key], uncaveated, n_runs, LIMIT),
                calibration_row('verdict "statistically significant fall" (with or without the caveat)',
                                SCENARIOS[key], significant, n_runs),
            ]
        # power at a real 20% fall (reported)
        y = simulate_areas(n_runs, 2, streams["fall"])
        y[:, 0, N_PRE:] = streams["fall"].binomial(y[:, 0, N_PRE:], 0.8)
        hits = np.array([evaluate_did(_did_frame(y[r, 0], y[r, 1]), START)["ci_upper"].iloc[0] < 1
                         for r in range(n_runs)])
        rows.append(calibration_row('power: difference-in-differences "statistically significant fall"',
                                    SCENARIOS["fall"], hits, n_runs))
    return calibration_frame(rows)
