"""Fast calibration of the strategic assessment's key finding on crime-type trends (60 seeded
documents of 14 series per scenario; docs/VALIDATION.md has 200).

The simulation and the claim are described in :mod:`assessment.calibration.key_findings`.
Acceptance: a document with no trend anywhere names a crime type "rising" or "falling" in at
most 10% of runs on the Poisson and over-dispersed (NB) nulls; a 10% a year rise in three
types is named in at least 60% of documents with NB noise.
"""

import numpy as np
import pandas as pd
import pytest

from assessment.calibration import COLUMNS, MODULES
from assessment.calibration import key_findings as cal

RUNS = 60
SEED = 20261206  # the seed of benchmarks/validate.py


@pytest.fixture(scope="module")
def table():
    return cal.results(n_runs=RUNS, seed=SEED)


def _rows(table, scenario, statement_start):
    label = cal.SCENARIOS[scenario][2]
    return table[(table["scenario"] == label) & table["statement"].str.startswith(statement_start)]


def test_every_acceptance_line_holds(table):
    assert "key_findings" in MODULES
    assert tuple(table.columns) == COLUMNS
    judged = table[table["holds"].notna()]
    assert len(judged) == 3  # Poisson null, NB null, power on NB
    failing = judged[~judged["holds"].astype(bool)]
    assert failing.empty, failing[["statement", "scenario", "rate", "limit"]].to_string()
    for key in ("poisson", "nb"):
        printed = _rows(table, key, "key findings name at least one crime type")
        printed = printed[printed["statement"].str.contains("as printed")]
        assert len(printed) == 1 and printed["rate"].iloc[0] <= 0.10
    power = _rows(table, "rise_nb", "power: key findings name at least one")
    assert power["rate"].iloc[0] >= 0.60


def test_the_limit_would_catch_a_claim_decided_on_unadjusted_p(table):
    """The same documents named on unadjusted p < 0.05 (14 tests at 5% each) break the 10% limit:
    the acceptance line can fail."""
    for key in ("poisson", "nb"):
        raw = _rows(table, key, "key findings name at least one crime type")
        raw = raw[raw["statement"].str.contains("unadjusted")]
        assert raw["rate"].iloc[0] > 0.10


def test_the_autocorrelated_rates_are_printed(table):
    ar = table[table["scenario"].str.contains("AR\\(1\\)")]
    assert len(ar) == 5 and ar["rate"].between(0, 1).all()


def test_simulated_documents_have_the_stated_means_and_planted_rise():
    rng = np.random.default_rng(0)
    y = cal.simulate_document("nb", 300, rng).astype(float)
    assert y.shape == (300, 14, 36)
    assert y.mean(axis=(0, 2)) == pytest.approx(np.array(cal.MEANS, dtype=float), rel=0.03)
    # NB2 with a = 0.015: variance mu + 0.015 mu^2 (2.5 x mean at 100)
    k = cal.MEANS.index(100)
    assert y[:, k].var(axis=0).mean() == pytest.approx(250, rel=0.1)
    rise = cal.simulate_document("rise_nb", 300, rng).astype(float)
    for k in cal.PLANTED:
        assert rise[:, k, 24:].mean() / rise[:, k, 12:24].mean() == pytest.approx(1.10, rel=0.02)
    flat = [k for k in range(14) if k not in cal.PLANTED]
    assert rise[:, flat, 24:].mean() / rise[:, flat, 12:24].mean() == pytest.approx(1.0, rel=0.01)
    assert not cal.NAMED[0] and cal.NAMED[1:].all()  # anti-social behaviour is not named
    with pytest.raises(ValueError, match="must be one of"):
        cal.simulate_document("rise", 1, rng)


def test_document_claims_names_a_strong_trend_and_adjusts_across_the_family():
    months = np.arange(36)
    flat = np.full((14, 36), 100)
    strong = flat.copy()
    strong[3] = np.round(100 * 1.5 ** ((months - 17.5) / 12))  # 50% a year, no noise at all
    got = cal.document_claims(strong)
    assert list(got.columns) == ["trend_pct", "trend_p", "verdict", "raw_verdict"]
    assert got["verdict"].iloc[3] == "rising" and (got["verdict"].drop(3) == "no clear trend").all()
    assert got["trend_pct"].iloc[3] == pytest.approx(50, abs=1)
    # the verdict is the family decision of wording, not the raw p
    assert (got["verdict"] == pd.Series(["no clear trend"] * 3 + ["rising"] + ["no clear trend"] * 10)).all()
