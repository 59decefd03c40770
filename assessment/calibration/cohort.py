"""Calibration of the cohort statement: a change in later violent incidents per day at risk.

The evaluation document's cohort section runs
:func:`~assessment.analysis.cohort.cohort_summary` (eligibility: two violent incidents within
365 days in the named wards; later incidents anywhere, each counted once) and
:func:`~assessment.analysis.cohort.cohort_comparison` (exact conditional Poisson rate ratio
of the cohort studied against the same wards' earlier cohorts and against the rest of the
area), then words each comparison with
:func:`~assessment.analysis.evaluation.evaluate_verdict` ("a statistically significant fall
(or rise) of Y% in later violent incidents per day at risk"). It does so twice: following
everyone to the end of the period (main) and with follow-up capped at 365 days (sensitivity).
A run counts, per comparison and analysis, when the verdict says "statistically significant".
A comparison with fewer than 5 incidents on either side (the demo's suppression threshold) is
"too few incidents to compare" (:func:`~assessment.analysis.cohort.cohort_comparable`) and
makes no statement.

Each run simulates violence nominals for three years (2023 to 2025; the cohort studied is
2025's, the year an intervention began, and the earlier cohort 2024's, the only earlier year
with a whole year of look-back): 8,000 people, each living in one of 20 wards (4 named) and
involved in violent incidents as a Poisson process at their own constant rate, drawn from a
gamma distribution with mean 0.3 a year and shape 0.3 (most people are involved once or never,
a few many times, as nominals show), every incident in their own ward. Roles are victim or
offender at random; each incident involves one person.

The null: no intervention, and no one's rate changes over time, so the cohort studied, the
earlier cohort and the rest of the area have the same expected rate of later incidents. The
counts are still over-dispersed against the Poisson interval: a cohort's count is a sum over
a few people with very different rates, and which people meet the rule in a year is itself
chance. The interval claims 95% coverage, so acceptance is at most 7% for each comparison
and analysis (nominal 5%).

Reported beside it ("mobile"): a fifth of each person's incidents anywhere. Then the cohorts
differ in make-up, not by chance: the named wards' cohort takes in outsiders who had two
incidents there, who must have very high rates to do so, in a different proportion from the
rest of the area's, so their expected rates differ with no intervention at all -- the case-mix
caveat of an observational comparison, which no variance allowance removes.

Power: people living in the named wards are involved in 30% fewer incidents from 1 January
2025 (all their incidents, so fewer of them also become eligible), capped analysis.

:func:`cohort_comparison` allows for the clustering by default: both counts are divided by
the cohorts' pooled design effect (the variance of each cohort's rate as a ratio estimator over
its members against the Poisson variance, Rao & Scott 1992) before the exact test. The plain
exact Poisson test it used before is reported beside it ("before"). The design effect used to
be the members' Pearson chi-square / df, which assumes each person's variance proportional to
their mean and understated the variance of a cohort's total (about 1.36 against 1.55 on these
nominals). Against the rest of the area, in 1,000 null studies at the validation seed, that
test said "statistically significant" in 5.9% (8.5% of the first 200, the published table's
runs) and the ratio estimator's design effect in 4.1% (6.5% of the first 200); at another seed
6.4% and 4.2%. So the 8.5% was mostly Monte Carlo noise at 200 runs (standard error about 2
percentage points), and the rest an understated variance. Against the rest of the area the
main and capped analyses are one test: the cohort studied is the last year's, so its
follow-up ends at the end of the period before 365 days either way.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from assessment.analysis.cohort import cohort_comparable, cohort_comparison, cohort_summary
from assessment.analysis.evaluation import evaluate_verdict
from assessment.calibration import calibration_frame, calibration_row, calibration_streams

__all__ = ["results", "simulate_nominals", "SCENARIOS"]

N_PEOPLE = 8000
N_WARDS = 20
NAMED = 4
RATE = 0.3  # incidents a year, mean over people
SHAPE = 0.3
HOME = 0.8  # the "mobile" scenario's share of a person's incidents in their own ward
FALL = 0.3
FIRST, LAST = pd.Timestamp("2023-01-01"), pd.Timestamp("2025-12-31")
START = pd.Timestamp("2025-01-01")
COHORT_YEAR = 2025
CAP = 365
THRESHOLD = 5  # the demo catalogue's suppression threshold: fewer incidents are "too few to compare"
WARDS = [f"W{i:02d}" for i in range(1, N_WARDS + 1)]

SCENARIOS: dict[str, str] = {
    "null": "8,000 people with constant, gamma-distributed rates (mean 0.3 a year, shape 0.3), 4 of 20 wards "
            "named, incidents in their own ward, no intervention",
    "mobile": "the same with a fifth of each person's incidents in any ward (the cohorts' case mix then differs)",
    "fall": "the same with people living in the named wards involved in 30% fewer incidents from the start",
}


def simulate_nominals(rng: np.random.Generator, fall: float = 0.0, home_share: float = 1.0) -> pd.DataFrame:
    """Three years of violence nominals (``person_id, role, crime_ref, incident_date, ward_code``).

    ``home_share`` of a person's incidents are in their own ward, the rest in any ward.
    """
    days = (LAST - FIRST).days + 1
    rate = rng.gamma(SHAPE, RATE / SHAPE, N_PEOPLE) / 365.25  # a day
    home = rng.integers(0, N_WARDS, N_PEOPLE)
    n = rng.poisson(rate * days)
    person = np.repeat(np.arange(N_PEOPLE), n)
    day = rng.integers(0, days, len(person))
    date = FIRST + pd.to_timedelta(day, unit="D")
    if fall:
        # thin the named wards' residents' incidents from the start (a Poisson process thinned stays one)
        drop = (home[person] < NAMED) & (date >= START) & (rng.random(len(person)) < fall)
        person, date = person[~drop], date[~drop]
    ward = np.where(rng.random(len(person)) < home_share, home[person], rng.integers(0, N_WARDS, len(person)))
    return pd.DataFrame({
        "person_id": person, "role": np.where(rng.random(len(person)) < 0.5, "victim", "offender"),
        "crime_ref": np.arange(len(person)), "incident_date": date, "ward_code": np.asarray(WARDS)[ward],
    })


def _significant(nominals: pd.DataFrame, follow_up_days: int | None) -> np.ndarray:
    """Whether each comparison's verdict says "statistically significant": shape (2, 2), the test as
    documents run it (with the design effect) then the plain exact Poisson test; earlier years, rest of area."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = cohort_summary(nominals, WARDS[:NAMED], COHORT_YEAR, period_end=LAST,
                                 follow_up_days=follow_up_days, window_days=365)
        return np.array([_worded(cohort_comparison(summary, alpha=0.05, power=0.8, target_rate_ratio=0.8,
                                                   design_effect=allow)) for allow in (True, False)])


def _worded(comp: pd.DataFrame) -> np.ndarray:
    ok = cohort_comparable(comp, THRESHOLD).to_numpy()
    text = [evaluate_verdict(float(r["rate_ratio"]), float(r["ci_lower"]), float(r["ci_upper"]),
                             float(r["mde_rate_ratio"]) if np.isfinite(r["mde_rate_ratio"]) else None,
                             confidence=0.95, outcome="later violent incidents per day at risk") if k else ""
            for r, k in zip(comp.to_dict("records"), ok)]  # two comparisons, worded as the document does
    return np.array(["statistically significant" in t for t in text])


def results(n_runs: int, seed: int) -> pd.DataFrame:
    """False-positive rates and power of the cohort verdicts (module docstring).

    ``n_runs``, ``seed`` and the result's columns are those of every calibration module
    (:mod:`assessment.calibration`).
    """
    streams = calibration_streams(seed, SCENARIOS)
    label = 'cohort "statistically significant" change in later incidents per day at risk'
    comparisons = ("against earlier years in the same wards", "against the rest of the area")
    rows = []
    null = np.zeros((n_runs, 2, 2, 2), bool)  # run, analysis (main, capped), test (now, before), comparison
    fall = np.zeros((n_runs, 2, 2), bool)
    mobile = np.zeros((n_runs, 2, 2), bool)
    for r in range(n_runs):  # one study per run
        nominals = simulate_nominals(streams["null"])
        null[r, 0] = _significant(nominals, None)
        null[r, 1] = _significant(nominals, CAP)
        mobile[r] = _significant(simulate_nominals(streams["mobile"], home_share=HOME), CAP)
        fall[r] = _significant(simulate_nominals(streams["fall"], FALL), CAP)
    tests = ("", " (exact Poisson test without the design effect, before)")
    for t, test in enumerate(tests):
        for a, analysis in enumerate(("follow-up to the end of the period", f"follow-up capped at {CAP} days")):
            for c, comparison in enumerate(comparisons):
                rows.append(calibration_row(f"{label}, {comparison} ({analysis}){test}", SCENARIOS["null"],
                                            null[:, a, t, c], n_runs, float("nan") if t else 0.07))
        for c, comparison in enumerate(comparisons):
            rows.append(calibration_row(f"{label}, {comparison} (follow-up capped at {CAP} days){test}",
                                        SCENARIOS["mobile"], mobile[:, t, c], n_runs))
        for c, comparison in enumerate(comparisons):
            rows.append(calibration_row(f"power: {label}, {comparison} (follow-up capped at {CAP} days){test}",
                                        SCENARIOS["fall"], fall[:, t, c], n_runs))
    return calibration_frame(rows)
