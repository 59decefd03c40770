"""Calibration of the strategic assessment's key finding on crime-type trends, per document.

The key findings of the strategic assessment name the crime types that are "rising" or
"falling" once the time of year is allowed for. That claim is made for a whole document
from a family of tests, so it is calibrated per document: each run simulates one
partnership's 36 months (January 2023 to December 2025) of all 14 police.uk series and
passes them through the code path the document uses:

- ``trends.trend_pooled_autocorrelation`` over the 14 series (one lag-1 correlation for the
  document), then ``trends.trend_glm`` on each series with that ``rho`` and otherwise its
  defaults (quasi-Poisson dispersion, autocorrelation allowance), as
  ``evidence_category_trends`` fits them;
- ``wording.verdict_trend_family`` over the 14 ``trend_pct`` / ``trend_p`` (Benjamini-Hochberg
  false discovery rate across the family at 0.05, then the sign), the decision the key
  findings call;
- the types named are the 13 crime types; anti-social behaviour is in the family (it counts
  in the adjustment) but is not named, as in the document.

The statement counted on a null is "the key findings name at least one crime type rising or
falling": the per-document false-positive rate (the family-wise error rate of the named
types). With 14 independent tests the same claim decided on unadjusted p < 0.05 is reported
beside it.

Mean monthly counts of the 14 series, as in real partnerships (a few busy types and a long
tail of small ones): anti-social behaviour 250; crime types 400, 150, 120, 100, 80, 60, 45,
30, 20, 15, 10, 8 and 5. Noise (``calibration.trends.draw_counts``), each series
independent of the others: Poisson; negative binomial NB2 with ``Var = mu + 0.015 mu^2``
(2.5 x mean at mean 100, 1.1 x at 5, 7 x at 400: the extra variation is about 12% of the
mean at any size); and the same variance from a Poisson count whose log-mean follows a
stationary Gaussian AR(1) with lag-1 correlation 0.6 (months next to each other alike).

Power: the NB and AR(1) documents with a real 10% a year rise planted in three crime
types (means 150, 100 and 45; the other ten crime types and anti-social behaviour have
none); a run counts when the key findings name at least one of the three as rising. On the
same runs the share of documents naming any of the ten crime types without a trend is
reported.

Acceptance: on the Poisson and NB nulls a document names a type with no trend in at most
10% of runs (twice the 5% the adjustment aims at: room for the 14 small-sample tests and
for the simulation's own error, about 2 percentage points at 200 runs); power at least 60%
on the NB document. The AR(1) rates are reported, not judged: the false discovery rate
adjustment decides on the tail of 14 p-values (the smallest must be below 0.05 / 14), where
one series' 36 months say too little about its correlation; estimated from one series at a
time it let a document name a type with no trend in about 17% of runs. The correlation
pooled over the document's 14 series (they share one partnership's recording), with the
Satterthwaite reference for each series' extra variation (``trend_glm``'s Notes), brings
that to about 9 to 10% (see the table), at the cost of power on autocorrelated data.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from assessment.analysis import trends, wording
from assessment.calibration import calibration_frame, calibration_row, calibration_streams
from assessment.calibration.trends import N_MONTHS, draw_counts

__all__ = ["results", "simulate_document", "document_claims", "MEANS", "NAMED", "PLANTED", "SCENARIOS"]

#: mean monthly count of each of the 14 series; the first is anti-social behaviour
MEANS: tuple[float, ...] = (250, 400, 150, 120, 100, 80, 60, 45, 30, 20, 15, 10, 8, 5)
#: which series the key findings may name (the crime types; not anti-social behaviour)
NAMED: np.ndarray = np.arange(len(MEANS)) > 0
#: series given a real rise in the power scenarios (means 150, 100 and 45)
PLANTED: tuple[int, ...] = (2, 4, 7)
TREND_PCT = 10.0
ALPHA = 0.05
_MONTHS = pd.period_range("2023-01", periods=N_MONTHS, freq="M").strftime("%Y-%m")

#: scenario key -> (noise, planted rise?, label)
SCENARIOS: dict[str, tuple[str, bool, str]] = {
    "poisson": ("poisson", False, "Poisson null, 14 series"),
    "nb": ("nb", False, "over-dispersed null (NB2, Var = mu + 0.015 mu^2), 14 series"),
    "ar1": ("ar1", False, "autocorrelated over-dispersed null (AR(1) rho 0.6 on the log-mean, "
                          "Var = mu + 0.015 mu^2), 14 series"),
    "rise_nb": ("nb", True, "10% a year rise in 3 of 13 crime types, NB2 noise"),
    "rise_ar1": ("ar1", True, "10% a year rise in 3 of 13 crime types, AR(1) noise"),
}


def simulate_document(scenario: str, n_runs: int, rng: np.random.Generator) -> np.ndarray:
    """Simulated monthly counts of whole documents, shape ``(n_runs, 14, 36)``.

    Series ``k`` has mean :data:`MEANS` ``[k]`` every month (the planted types of a "rise"
    scenario: that mean at the middle of the series, rising 10% a year); noise as named in
    :data:`SCENARIOS`.
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"`scenario` must be one of {list(SCENARIOS)}, got {scenario!r}")
    noise, rise, _ = SCENARIOS[scenario]
    t = (np.arange(N_MONTHS) - (N_MONTHS - 1) / 2) / 12.0
    growth = np.ones((len(MEANS), N_MONTHS))
    if rise:
        growth[list(PLANTED)] = (1 + TREND_PCT / 100.0) ** t
    mu = np.asarray(MEANS, dtype=float)[:, None] * growth
    mu = np.broadcast_to(mu, (n_runs, *mu.shape)).reshape(-1, N_MONTHS)
    return draw_counts(noise, mu, rng).reshape(n_runs, len(MEANS), N_MONTHS)


def document_claims(counts: np.ndarray) -> pd.DataFrame:
    """The trend verdict of every series of one simulated document, as the key findings decide it.

    Parameters
    ----------
    counts : numpy.ndarray
        Shape ``(14, 36)``: one row per series of :data:`MEANS`.

    Returns
    -------
    pandas.DataFrame
        One row per series: ``trend_pct``, ``trend_p`` (``trend_glm``), ``verdict``
        (``wording.verdict_trend_family`` over the 14) and ``raw_verdict`` (the same on
        unadjusted p < 0.05, for comparison).
    """
    rows = []
    series = [pd.Series(y, index=_MONTHS) for y in counts]
    rho = trends.trend_pooled_autocorrelation(series)["autocorrelation"]  # one for the document
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # as evidence_category_trends fits them
        for s in series:
            glm = trends.trend_glm(s, rho=rho)
            tr = glm[glm["term"] == "trend"].iloc[0]
            rows.append({"trend_pct": float(tr["estimate_pct"]), "trend_p": float(tr["p_value"])})
    out = pd.DataFrame(rows)
    out["verdict"] = wording.verdict_trend_family(out, alpha=ALPHA)
    raw = out["trend_p"] < ALPHA
    out["raw_verdict"] = np.where(raw & (out["trend_pct"] > 0), "rising",
                                  np.where(raw & (out["trend_pct"] < 0), "falling", "no clear trend"))
    return out


def results(n_runs: int, seed: int) -> pd.DataFrame:
    """Per-document false-positive rates and power of the key findings' trend claim.

    ``n_runs``, ``seed`` and the result's columns are those of every calibration module
    (:mod:`assessment.calibration`).
    """
    streams = calibration_streams(seed, SCENARIOS)
    claim = 'key findings name at least one crime type "rising" or "falling"'
    nulls = NAMED.copy()
    nulls[list(PLANTED)] = False
    rows = []
    for key, (noise, rise, label) in SCENARIOS.items():
        docs = simulate_document(key, n_runs, streams[key])
        found = [document_claims(d) for d in docs]
        called = np.array([f["verdict"].isin(["rising", "falling"]).to_numpy() for f in found])
        if not rise:
            raw = np.array([f["raw_verdict"].isin(["rising", "falling"]).to_numpy() for f in found])
            limit = 0.10 if noise in ("poisson", "nb") else float("nan")
            rows.append(calibration_row(claim + " (FDR-adjusted, as printed)", label,
                                        called[:, NAMED].any(axis=1), n_runs, limit))
            rows.append(calibration_row(claim + " (unadjusted p < 0.05, not printed)", label,
                                        raw[:, NAMED].any(axis=1), n_runs))
            continue
        rising = np.array([(f["verdict"] == "rising").to_numpy() for f in found])
        rows.append(calibration_row("power: key findings name at least one of the 3 rising types as rising", label,
                                    rising[:, list(PLANTED)].any(axis=1), n_runs,
                                    0.60 if noise == "nb" else float("nan"), bound="at least"))
        rows.append(calibration_row("power: each rising type named as rising (share of the 3 x runs)", label,
                                    int(rising[:, list(PLANTED)].sum()), n_runs * len(PLANTED)))
        rows.append(calibration_row(claim.replace("crime type", "of the 10 types without a trend"), label,
                                    called[:, nulls].any(axis=1), n_runs))
    return calibration_frame(rows)
