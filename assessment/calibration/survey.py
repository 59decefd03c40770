"""Calibration of "wards where significantly fewer residents feel safe after dark".

Each run is one consultation: 20 wards with 20 to 90 valid answers each (drawn at random,
about 1,100 in all, as the demo's), passed through
:func:`~assessment.analysis.survey.survey_feeling_safe` (each ward's 95% Wilson interval
against the partnership's proportion) and decided by
:func:`~assessment.analysis.survey.survey_named_wards` with the audit's minimum of 30 answers
(:data:`assessment.documents.audit.MIN_RELIABLE_N`); a ward counts when it is named "lower".

The null: every resident feels safe with the same chance, 60%, in every ward. Two ways of
sampling them: a simple random sample (each answer independent: the Wilson interval's own
assumption), and a clustered one, as consultations are: answers come in groups of five
(a household, a street stall, a residents' meeting) whose members answer alike, with an
intra-group correlation of 0.25 (each group's chance drawn from a beta distribution of mean
0.6), a design effect of 1 + (5 - 1) x 0.25 = 2 -- the variance of a ward's share is twice the
binomial one, as the monthly counts' variance is 2.5 times the Poisson one.

The 95% interval claims that a ward where residents feel as safe as across the partnership
is named "lower" in at most 2.5% of cases; acceptance: at most 3.5% of the wards with at least
30 answers (the same 1.4 x slack as 7% on a nominal 5%). The share of consultations naming any
ward is reported (no level is claimed for it). Power: one ward of 60 answers where 40% feel
safe (the others 60%), simple random sample.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from assessment.analysis.survey import SAFETY_SCALE, survey_feeling_safe, survey_named_wards
from assessment.calibration import calibration_frame, calibration_row, calibration_streams

__all__ = ["results", "simulate_answers", "SCENARIOS"]

N_WARDS = 20
N_MIN, N_MAX = 20, 90
SAFE = 0.6
GROUP = 5
ICC = 0.25
LOW = 0.4
LOW_N = 60
MIN_N = 30  # assessment.documents.audit.MIN_RELIABLE_N (a test checks they agree)

SCENARIOS: dict[str, str] = {
    "srs": "20 wards, 60% feel safe in every ward, simple random sample (20-90 answers a ward)",
    "clustered": "20 wards, 60% feel safe in every ward, answers in groups of 5 with intra-group correlation 0.25 "
                 "(design effect 2)",
    "low": "one ward of 60 answers where 40% feel safe, the others 60%, simple random sample",
}


def simulate_answers(rng: np.random.Generator, n: np.ndarray, safe: np.ndarray, clustered: bool = False
                     ) -> pd.DataFrame:
    """One consultation: a row per respondent with ``ward_code`` and ``safe_after_dark``.

    ``n`` and ``safe`` give each ward's answers and chance of feeling safe; clustered answers
    come in groups of :data:`GROUP` sharing a beta-distributed chance (intra-group correlation
    :data:`ICC`).
    """
    ward = np.repeat(np.arange(len(n)), n)
    p = np.asarray(safe, dtype=float)[ward]
    if clustered:
        start = np.concatenate([[0], np.cumsum(n)[:-1]])
        group = (np.arange(len(ward)) - start[ward]) // GROUP + ward * (int(n.max()) // GROUP + 1)  # within a ward
        _, gid = np.unique(group, return_inverse=True)
        total = (1.0 - ICC) / ICC  # alpha + beta of the groups' beta distribution
        first = np.unique(gid, return_index=True)[1]
        p_group = rng.beta(p[first] * total, (1.0 - p[first]) * total)
        p = p_group[gid]
    is_safe = rng.random(len(ward)) < p
    answer = np.where(is_safe, np.where(rng.random(len(ward)) < 0.5, SAFETY_SCALE[0], SAFETY_SCALE[1]),
                      np.asarray(SAFETY_SCALE[2:], dtype=object)[rng.integers(0, 3, len(ward))])
    return pd.DataFrame({"ward_code": pd.Series(ward).map("W{:02d}".format), "safe_after_dark": answer})


def _lower(answers: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Wards named "lower", and wards with enough answers to be named, in ward order."""
    safe = survey_feeling_safe(answers, ward_col="ward_code")
    wards = ~safe["is_overall"].to_numpy()
    return (survey_named_wards(safe, "lower", MIN_N).to_numpy()[wards],
            (safe["n"].to_numpy() >= MIN_N)[wards])


def results(n_runs: int, seed: int) -> pd.DataFrame:
    """False-positive rates and power of the survey statement (module docstring).

    ``n_runs``, ``seed`` and the result's columns are those of every calibration module
    (:mod:`assessment.calibration`).
    """
    streams = calibration_streams(seed, SCENARIOS)
    label = 'ward where "significantly fewer residents feel safe" (95% Wilson interval, 30 answers or more)'
    rows = []
    for key in SCENARIOS:
        rng = streams[key]
        named = np.zeros((n_runs, N_WARDS), bool)
        eligible = np.zeros((n_runs, N_WARDS), bool)
        for r in range(n_runs):  # one consultation per run
            n = rng.integers(N_MIN, N_MAX + 1, N_WARDS)
            safe = np.full(N_WARDS, SAFE)
            if key == "low":
                n[0], safe[0] = LOW_N, LOW
            named[r], eligible[r] = _lower(simulate_answers(rng, n, safe, clustered=key == "clustered"))
        if key == "low":
            rows.append(calibration_row(f"power: {label}: the planted ward", SCENARIOS[key], named[:, 0], n_runs))
            continue
        rows += [
            calibration_row(f"{label}: share of wards", SCENARIOS[key], int(named.sum()), int(eligible.sum()), 0.035),
            calibration_row(f"{label}: consultations naming any ward", SCENARIOS[key], named.any(axis=1), n_runs),
        ]
    return calibration_frame(rows)
