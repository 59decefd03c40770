"""Fast calibration of the survey statement (seeded; docs/VALIDATION.md has more runs).

The simulations are described in :mod:`assessment.calibration.survey`.
"""

import numpy as np
import pytest

from assessment.calibration import MODULES
from assessment.calibration import survey as cal

from _calibration import row_of  # tests/_calibration.py


@pytest.fixture(scope="module")
def table():
    return cal.results(n_runs=60, seed=20261206).set_index(["statement", "scenario"])


def _row(table, start, scenario):
    return row_of(table, cal.SCENARIOS, start, scenario)


def test_module_is_registered_and_uses_the_audits_minimum():
    from assessment.documents.audit import MIN_RELIABLE_N

    assert "survey" in MODULES
    assert cal.MIN_N == MIN_RELIABLE_N


@pytest.mark.parametrize("clustered, deff", [(False, 1.0), (True, 2.0)])
def test_answers_have_the_stated_design_effect(clustered, deff):
    a = cal.simulate_answers(np.random.default_rng(0), np.full(1500, 100), np.full(1500, 0.6), clustered=clustered)
    share = a["safe_after_dark"].isin(["Very safe", "Fairly safe"]).groupby(a["ward_code"]).mean()
    assert share.mean() == pytest.approx(0.6, abs=0.01)
    assert share.var() / (0.24 / 100) == pytest.approx(deff, rel=0.15)


def test_wilson_comparison_holds_on_random_samples_and_is_measured_on_clustered_ones(table):
    label = 'ward where "significantly fewer residents feel safe" (95% Wilson interval, 30 answers or more): share'
    srs = _row(table, label, "srs")
    assert srs["rate"] <= 0.035 and srs["holds"]
    assert _row(table, label, "clustered")["rate"] > srs["rate"]
    assert _row(table, "power:", "low")["rate"] > 0.6
