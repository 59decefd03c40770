"""Calibration of the placebo test of parallel trends (evaluation document).

The evaluation document runs :func:`~assessment.analysis.evaluation.evaluate_placebo` on the
months before the real start: a difference-in-differences (:func:`evaluate_did` with its
defaults: month-of-year terms, ``errors='ar1'``) with a fake start half way through them. When
the 95% interval excludes 1 it prints "The interval excludes 1: the two areas were already
diverging before the start, so the difference-in-differences may be biased"; otherwise "the
two areas moved in step before the start".

Each run draws the 24 months before the start (January 2023 to December 2024, fake start
January 2024) of two areas with the evaluation calibration's null
(:func:`assessment.calibration.evaluation.simulate_areas`: Poisson counts around a latent
Gaussian AR(1) with lag-1 correlation 0.6, mean 100, variance 2.5 x mean, areas
independent). A run counts when the placebo reports a divergence. The interval claims 95%
coverage, so acceptance is at most 7% of runs (nominal 5%).

Power: the same with the intervention area diverging before the start, its rate rising by
15% (and 30%) a year against the comparison area's (the comparison area's events thinned month by
month, so its latent process and noise stay as in the null; the placebo's later half is then
about 15% above its earlier half, relative to the comparison). The test has little power
by design: with 24 months, month-of-year terms and the AR(1) allowance, ``evaluate_did``'s
interval rests on very few degrees of freedom (a median of about 1.5 over the null runs, often
the floor of 1: the effective number of months after the AR(1) allowance, less the model's
terms), so it is very wide;
"the two areas moved in step" is then a failure to find a departure, as the document says,
not evidence of parallel trends.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from assessment.analysis.evaluation import evaluate_placebo
from assessment.calibration import calibration_frame, calibration_row, calibration_streams
from assessment.calibration.evaluation import N_PRE, simulate_areas

__all__ = ["results", "SCENARIOS"]

DIVERGE = {"diverging": 0.15, "diverging30": 0.30}  # a year
_MONTHS = pd.period_range("2023-01", periods=N_PRE, freq="M").strftime("%Y-%m")
START = pd.Period(_MONTHS[-1], freq="M") + 1

SCENARIOS: dict[str, str] = {
    "null": "two independent AR(1) areas (rho 0.6, variance 2.5 x mean 100), 24 months before the start",
    "diverging": "the same with the intervention area rising 15% a year against the comparison before the start",
    "diverging30": "the same with the intervention area rising 30% a year against the comparison before the start",
}


def _frame(intervention: np.ndarray, comparison: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"month": np.concatenate([_MONTHS, _MONTHS]),
                         "group": ["intervention"] * N_PRE + ["comparison"] * N_PRE,
                         "count": np.concatenate([intervention, comparison])})


def results(n_runs: int, seed: int) -> pd.DataFrame:
    """False-positive rate and power of the placebo test (module docstring).

    ``n_runs``, ``seed`` and the result's columns are those of every calibration module
    (:mod:`assessment.calibration`).
    """
    streams = calibration_streams(seed, SCENARIOS)
    label = 'placebo "the two areas were already diverging" (95% interval excludes 1)'
    rows = []
    for key in SCENARIOS:
        y = simulate_areas(n_runs, 2, streams[key])[:, :, :N_PRE]
        if key in DIVERGE:
            # thin the comparison area's events month by month (a Poisson mixture thinned stays one, with
            # the same latent AR(1)), so the intervention area rises against it
            keep = np.exp(-np.log1p(DIVERGE[key]) * np.arange(N_PRE) / 12.0)
            y[:, 1] = streams[key].binomial(y[:, 1], keep)
        hits = np.zeros(n_runs, bool)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for r in range(n_runs):  # one study per run
                hits[r] = bool(evaluate_placebo(_frame(y[r, 0], y[r, 1]), str(START))["diverging"].iloc[0])
        if key == "null":
            rows.append(calibration_row(label, SCENARIOS[key], hits, n_runs, 0.07))
        else:
            rows.append(calibration_row(f"power: {label}", SCENARIOS[key], hits, n_runs))
    return calibration_frame(rows)
