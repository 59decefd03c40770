"""Fast calibration of the ward statements (seeded; docs/VALIDATION.md has more runs).

The simulations are described in :mod:`assessment.calibration.wards`.
"""

import numpy as np
import pytest

from assessment.calibration import MODULES
from assessment.calibration import wards as cal

from _calibration import row_of  # tests/_calibration.py


@pytest.fixture(scope="module")
def table():
    return cal.results(n_runs=100, seed=20261206).set_index(["statement", "scenario"])


def _row(table, start, scenario):
    return row_of(table, cal.SCENARIOS, start, scenario)


def test_module_is_registered_and_counts_have_the_asked_variance():
    assert "wards" in MODULES
    rng = np.random.default_rng(0)
    mean = np.repeat([50.0, 800.0], 20_000)
    y = cal.simulate_counts(mean, rng).astype(float)
    for m in (50.0, 800.0):
        part = y[mean == m]
        assert part.mean() == pytest.approx(m, rel=0.02)
        assert part.var() / part.mean() == pytest.approx(2.5, rel=0.06)
    p = cal.simulate_counts(np.full(20_000, 800.0), rng, None).astype(float)
    assert p.var() / p.mean() == pytest.approx(1.0, rel=0.06)


def test_months_add_up_to_a_year_with_the_same_variance_ratio():
    rng = np.random.default_rng(1)
    m = cal.simulate_months(np.full(20_000, 600.0), rng)
    assert m.shape == (20_000, 12) and m.mean() == pytest.approx(50.0, rel=0.02)
    year = m.sum(axis=1).astype(float)
    assert year.var() / year.mean() == pytest.approx(2.5, rel=0.06)


def test_ward_higher_holds_its_level_on_poisson_and_over_dispersed_counts(table):
    label = 'ward "significantly higher" (95% CI above the partnership rate): share'
    poisson = _row(table, label, "poisson")
    assert poisson["runs"] == 2000 and poisson["rate"] <= 0.035 and poisson["holds"]
    for scenario in ("nb", "nb_type"):  # the over-dispersion allowance: within the same limit
        nb = _row(table, label, scenario)
        assert nb["rate"] <= 0.035 and nb["holds"], scenario
    assert _row(table, "power: ward", "higher")["rate"] > 0.9
    assert _row(table, "power: ward", "higher_type")["rate"] > 0.5


def test_ward_change_keeps_its_false_discovery_rate_on_poisson_and_over_dispersed_counts(table):
    label = 'ward "rose/fell significantly" (exact test with the design effect, FDR 5% across wards): audits'
    assert _row(table, label, "change_poisson")["rate"] <= 0.07
    nb = _row(table, label, "change_nb")
    assert nb["rate"] <= 0.07 and nb["holds"]
    assert _row(table, "power: ward", "change_rise")["rate"] > 0.4


def test_autocorrelated_months_are_allowed_for(table):
    """Reported rows (no acceptance limit): without the autocorrelation allowance about 11% of wards and 80% of
    audits; with it, near the limits of the independent-month nulls."""
    higher = _row(table, 'ward "significantly higher" (95% CI above the partnership rate): share', "ar1")
    assert higher["rate"] < 0.05 and np.isnan(higher["limit"])
    change = _row(table, 'ward "rose/fell significantly" (exact test with the design effect, FDR 5% across wards): '
                  'audits', "change_ar1")
    assert change["rate"] < 0.2
