"""Fast calibration of the placebo test of parallel trends (seeded; docs/VALIDATION.md has more runs).

The simulations are described in :mod:`assessment.calibration.placebo`.
"""

import pytest

from assessment.calibration import MODULES
from assessment.calibration import placebo as cal


@pytest.fixture(scope="module")
def table():
    return cal.results(n_runs=60, seed=20261206).set_index(["statement", "scenario"])


def test_module_is_registered_with_24_months_before_the_start():
    assert "placebo" in MODULES
    assert len(cal._MONTHS) == 24 and str(cal.START) == "2025-01"


def test_placebo_holds_its_level_on_autocorrelated_over_dispersed_areas(table):
    null = table.xs(cal.SCENARIOS["null"], level="scenario").iloc[0]
    assert null["runs"] == 60 and null["rate"] <= 0.07 and null["holds"]
    power = [table.xs(cal.SCENARIOS[k], level="scenario").iloc[0]["rate"] for k in ("diverging", "diverging30")]
    assert all(0 <= p <= 1 for p in power)
