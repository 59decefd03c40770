"""Calibration of "wards where significantly fewer residents feel safe after dark".

Each run is one consultation: 20 wards with 20 to 90 valid answers each (drawn at random,
about 1,100 in all, as the demo's), passed through
:func:`~assessment.analysis.survey.survey_feeling_safe` (each ward's 95% Wilson interval
against the partnership's proportion, for the effective sample size ``n / design effect``) and
decided by :func:`~assessment.analysis.survey.survey_named_wards` with the audit's minimum of
30 answers (:data:`assessment.documents.audit.MIN_RELIABLE_N`); a ward counts when it is named
"lower".

The null: every resident feels safe with the same chance, 60%, in every ward. Two ways of
sampling them: a simple random sample (each answer independent: the Wilson interval's own
assumption), and a clustered one, as consultations are: answers come in groups of five
(a sampling point's doorstep interviews, a street stall, a residents' meeting) whose members
answer alike, with an intra-group correlation of 0.25 (each group's chance drawn from a beta
distribution of mean 0.6), a design effect of 1 + (5 - 1) x 0.25 = 2 -- the variance of a
ward's share is twice the binomial one. Each answer carries its group as its sampling point.

Each consultation is decided three ways, as the audit decides with what the catalogue gives
(:func:`~assessment.analysis.survey.survey_design_effect`): the design effect assumed 1 (no
design effect and no sampling point in the catalogue: the plain Wilson interval, the test the
audit used before), declared (the catalogue's ``design_effect``: 2, the simulation's own, on
clustered answers), and estimated from the sampling points (Kish's design effect from the
intra-cluster correlation within wards). Clustered answers with the design effect assumed 1
are reported without a bound: that is the rate the plain interval gives when the survey's
design is not declared, which the audit then states as a caveat.

The 95% interval claims that a ward where residents feel as safe as across the partnership
is named "lower" in at most 2.5% of cases; acceptance: at most 3.5% of the wards with at least
30 answers (the same 1.4 x slack as 7% on a nominal 5%), for every decision that allows for
the design the answers have. The share of consultations naming any ward is reported (no level
is claimed for it). Power: one ward of 60 answers where 40% feel safe (the others 60%), simple
random and clustered samples.

Weighted surveys: the same null, a simple random sample whose answers carry survey weights
(log-normal, log-scale standard deviation 0.7: Kish's weighting effect ``1 + cv^2`` about
``exp(0.49)``, 1.6), drawn independently of the answers, as weights that correct a sample's
make-up are for a question they do not bear on. Decided with the weights mapped (the weighted
share, Wilson's interval for Kish's effective sample size in each ward) and, reported without
a bound, with the weighted share and the plain n (what a weighted survey got before the
workbench took weights). Power: the low ward again, with weights.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from assessment.analysis.survey import SAFETY_SCALE, survey_design_effect, survey_feeling_safe, survey_named_wards
from assessment.calibration import calibration_frame, calibration_row, calibration_streams

__all__ = ["results", "simulate_answers", "SCENARIOS", "DECISIONS"]

N_WARDS = 20
N_MIN, N_MAX = 20, 90
SAFE = 0.6
GROUP = 5
ICC = 0.25
LOW = 0.4
LOW_N = 60
WEIGHT_SD = 0.7
MIN_N = 30  # assessment.documents.audit.MIN_RELIABLE_N (a test checks they agree)

SCENARIOS: dict[str, str] = {
    "srs": "20 wards, 60% feel safe in every ward, simple random sample (20-90 answers a ward)",
    "clustered": "20 wards, 60% feel safe in every ward, answers in groups of 5 with intra-group correlation 0.25 "
                 "(design effect 2)",
    "low": "one ward of 60 answers where 40% feel safe, the others 60%, simple random sample",
    "low_clustered": "one ward of 60 answers where 40% feel safe, the others 60%, answers in groups of 5 with "
                     "intra-group correlation 0.25 (design effect 2)",
    "weighted": "20 wards, 60% feel safe in every ward, simple random sample with survey weights "
                f"(log-normal, sd {WEIGHT_SD:g} on the log scale: weighting effect about {np.exp(WEIGHT_SD ** 2):.1f})",
    "low_weighted": "one ward of 60 answers where 40% feel safe, the others 60%, simple random sample with survey "
                    f"weights (log-normal, sd {WEIGHT_SD:g} on the log scale)",
}

#: how a consultation's design effect is decided (:func:`survey_design_effect`): label in the statement
DECISIONS: dict[str, str] = {
    "assumed": "design effect assumed 1",
    "declared": f"design effect {1 + (GROUP - 1) * ICC:g} declared",
    "estimated": "design effect estimated from the sampling points",
    "weighted": "weights mapped (weighted shares, Kish's weighting effect ward by ward)",
    "weighted_plain_n": "weighted shares with the plain n (before)",
}
#: the decisions each scenario is decided with (declaring the simulation's design effect only where it is true)
_DECIDED = {"srs": ("assumed", "estimated"), "clustered": ("assumed", "declared", "estimated"),
            "low": ("assumed", "estimated"), "low_clustered": ("assumed", "declared", "estimated"),
            "weighted": ("weighted", "weighted_plain_n"), "low_weighted": ("weighted", "weighted_plain_n")}


def simulate_answers(rng: np.random.Generator, n: np.ndarray, safe: np.ndarray, clustered: bool = False,
                     weighted: bool = False) -> pd.DataFrame:
    """One consultation: a row per respondent with ``ward_code``, ``safe_after_dark`` and ``sampling_point``
    (and ``weight`` when ``weighted``).

    ``n`` and ``safe`` give each ward's answers and chance of feeling safe. Answers come in
    groups of :data:`GROUP` within a ward (the ``sampling_point``); clustered answers share
    their group's beta-distributed chance (intra-group correlation :data:`ICC`), simple random
    ones do not. Weights are log-normal (:data:`WEIGHT_SD`), drawn after the answers and
    independently of them.
    """
    ward = np.repeat(np.arange(len(n)), n)
    p = np.asarray(safe, dtype=float)[ward]
    start = np.concatenate([[0], np.cumsum(n)[:-1]])
    group = (np.arange(len(ward)) - start[ward]) // GROUP + ward * (int(n.max()) // GROUP + 1)  # within a ward
    _, gid = np.unique(group, return_inverse=True)
    if clustered:
        total = (1.0 - ICC) / ICC  # alpha + beta of the groups' beta distribution
        first = np.unique(gid, return_index=True)[1]
        p_group = rng.beta(p[first] * total, (1.0 - p[first]) * total)
        p = p_group[gid]
    is_safe = rng.random(len(ward)) < p
    answer = np.where(is_safe, np.where(rng.random(len(ward)) < 0.5, SAFETY_SCALE[0], SAFETY_SCALE[1]),
                      np.asarray(SAFETY_SCALE[2:], dtype=object)[rng.integers(0, 3, len(ward))])
    out = pd.DataFrame({"ward_code": pd.Series(ward).map("W{:02d}".format), "safe_after_dark": answer,
                        "sampling_point": pd.Series(gid).map("SP{:04d}".format)})
    if weighted:
        out["weight"] = rng.lognormal(0.0, WEIGHT_SD, len(ward))
    return out


def _lower(answers: pd.DataFrame, decision: str = "assumed") -> tuple[np.ndarray, np.ndarray]:
    """Wards named "lower", and wards with enough answers to be named, in ward order, with the
    design effect decided as ``decision`` (a key of :data:`DECISIONS`)."""
    design = survey_design_effect(answers, cluster_col="sampling_point" if decision == "estimated" else None,
                                  declared=1 + (GROUP - 1) * ICC if decision == "declared" else None,
                                  ward_col="ward_code")
    weighted = decision.startswith("weighted")
    safe = survey_feeling_safe(answers, ward_col="ward_code", design_effect=float(design["design_effect"].iloc[0]),
                               weight_col="weight" if weighted else None,
                               weights_in_design_effect=decision == "weighted_plain_n")
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
        decided = _DECIDED[key]
        named = np.zeros((len(decided), n_runs, N_WARDS), bool)
        eligible = np.zeros((n_runs, N_WARDS), bool)
        for r in range(n_runs):  # one consultation per run
            n = rng.integers(N_MIN, N_MAX + 1, N_WARDS)
            safe = np.full(N_WARDS, SAFE)
            if key.startswith("low"):
                n[0], safe[0] = LOW_N, LOW
            answers = simulate_answers(rng, n, safe, clustered=key.endswith("clustered"),
                                       weighted=key.endswith("weighted"))
            for d, decision in enumerate(decided):
                named[d, r], eligible[r] = _lower(answers, decision)
        for d, decision in enumerate(decided):
            stated = f"{label}, {DECISIONS[decision]}"
            if key.startswith("low"):
                rows.append(calibration_row(f"power: {stated}: the planted ward", SCENARIOS[key], named[d, :, 0],
                                            n_runs))
                continue
            # the plain interval on clustered answers is reported: the rate when the design is not declared
            limit = (float("nan") if (key == "clustered" and decision == "assumed") or decision == "weighted_plain_n"
                     else 0.035)
            rows += [
                calibration_row(f"{stated}: share of wards", SCENARIOS[key], int(named[d].sum()),
                                int(eligible.sum()), limit),
                calibration_row(f"{stated}: consultations naming any ward", SCENARIOS[key], named[d].any(axis=1),
                                n_runs),
            ]
    return calibration_frame(rows)
