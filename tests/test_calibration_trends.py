"""Calibration of the trend statements (200 runs, as docs/VALIDATION.md: at 100 runs the sampling error of
a null rate, about 2 percentage points, is as large as the limits' slack).

The acceptance limits are those of issue 12: on an over-dispersed null (negative binomial,
mean 100, variance 2.5 x mean, 36 months) a trend, a significant year-on-year change and a
clear seasonal pattern are each said in at most 7% of series, and a series with any
exceptional month in at most 10%; on a Poisson null each in at most 7%; a 10% a year rise is
found in at least 60% of series.
"""

import numpy as np
import pytest

from assessment.calibration import COLUMNS
from assessment.calibration import trends as cal

SEED = 20261206  # the seed of benchmarks/validate.py


@pytest.fixture(scope="module")
def table():
    return cal.results(n_runs=200, seed=SEED)


def test_every_acceptance_line_holds(table):
    assert tuple(table.columns) == COLUMNS
    judged = table[table["holds"].notna()]
    assert len(judged) == 10  # 4 statements x 2 nulls + 2 power lines
    failing = judged[~judged["holds"].astype(bool)]
    assert failing.empty, failing[["statement", "scenario", "rate", "limit"]].to_string()
    nulls = judged[judged["bound"] == "at most"]
    assert (nulls["rate"] <= nulls["limit"]).all()
    power = judged[judged["bound"] == "at least"]
    assert (power["rate"] >= 0.60).all()


def test_autocorrelated_null_is_reported(table):
    ar = table[table["scenario"].str.startswith("autocorrelated")]
    assert len(ar) == 3 + 2 and ar["limit"].isna().all() and ar["rate"].between(0, 1).all()  # 2: the seasonal null


def test_simulated_scenarios_have_the_stated_mean_variance_and_correlation():
    rng = np.random.default_rng(0)
    for key in ("nb", "ar1"):
        y = cal.simulate_series(key, 4000, rng)
        assert y.mean() == pytest.approx(100, rel=0.01)
        assert y.var(axis=0).mean() / y.mean() == pytest.approx(2.5, rel=0.06)
    y = cal.simulate_series("ar1", 4000, rng).astype(float)
    lag1 = np.corrcoef(y[:, 1:].ravel(), y[:, :-1].ravel())[0, 1]
    # count correlation = 0.6 * (extra-Poisson variance share 150 / 250)
    assert lag1 == pytest.approx(0.6 * 150 / 250, abs=0.03)
    rise = cal.simulate_series("trend_poisson", 4000, rng)
    assert rise[:, 24:].mean() / rise[:, 12:24].mean() == pytest.approx(1.10, rel=0.01)


def test_seasonal_null_follows_its_calendar_and_is_reported():
    y = cal.simulate_series("ar1_seasonal", 4000, np.random.default_rng(2)).astype(float)
    by_month = y.mean(axis=0)  # January 2023 first
    assert by_month[6] / 100 == pytest.approx(np.exp(cal.SEASON_AMPLITUDE * np.sin(np.pi / 2)), rel=0.02)  # July
    assert by_month[0] / 100 == pytest.approx(np.exp(cal.SEASON_AMPLITUDE * np.sin(-np.pi / 2)), rel=0.02)  # January
    table = cal.results(n_runs=20, seed=1)
    rows = table[table["scenario"] == cal.SCENARIOS["ar1_seasonal"]]
    assert set(rows["statement"]) == {'trend "rising"/"falling" (trend_glm p < 0.05)',
                                      'year on year "statistically significant"'}  # a true season is not counted
    assert rows["limit"].isna().all()
