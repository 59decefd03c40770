"""Fast calibration of the evaluation statements (100 seeded runs each; docs/VALIDATION.md has 200+).

The simulations and the statements measured are described in
:mod:`assessment.calibration.evaluation`; the limits are the issue's acceptance lines.
"""

import numpy as np
import pytest

from assessment.calibration import MODULES
from assessment.calibration import evaluation as cal

RUNS = 100


@pytest.fixture(scope="module")
def table():
    return cal.results(n_runs=RUNS, seed=20261206).set_index(["statement", "scenario"])


def _rate(table, statement, scenario):
    return float(table.loc[(statement, cal.SCENARIOS[scenario]), "rate"])


def test_module_is_registered_and_simulates_the_stated_null():
    assert "evaluation" in MODULES
    y = cal.simulate_areas(400, 1, np.random.default_rng(0))[:, 0, :].astype(float)
    # mean 100 and variance 2.5 x mean in every month; lag-1 correlation of the counts
    # 0.6 * 150 / 250 = 0.36 (the latent AR(1) diluted by Poisson noise)
    assert y.mean() == pytest.approx(100, rel=0.02)
    assert y.var(axis=0).mean() == pytest.approx(250, rel=0.1)
    lag1 = np.mean([np.corrcoef(y[:, t], y[:, t + 1])[0, 1] for t in range(35)])
    assert lag1 == pytest.approx(0.36, abs=0.05)


def test_did_and_its_hold_their_size_on_autocorrelated_null_months(table):
    assert _rate(table, "difference-in-differences p < 0.05", "ar1") <= 0.07
    assert _rate(table, "interrupted time series: level change p < 0.05", "ar1") <= 0.07
    assert _rate(table, "interrupted time series: slope change p < 0.05", "ar1") <= 0.07
    # the earlier independent-errors analysis is clearly wrong on the same runs
    assert _rate(table, "difference-in-differences p < 0.05, months treated as independent (before)", "ar1") > 0.12


def test_busiest_area_never_gets_an_unqualified_significant_fall(table):
    stmt = 'verdict "statistically significant fall" without a regression-to-the-mean caveat'
    assert _rate(table, stmt, "rtm_declared") <= 0.07
    assert _rate(table, stmt, "rtm_silent") <= 0.07
    assert table["holds"].dropna().all()
