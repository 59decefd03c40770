"""Fast calibration of the cohort verdicts (seeded; docs/VALIDATION.md has more runs).

The simulations are described in :mod:`assessment.calibration.cohort`.
"""

import numpy as np
import pytest

from assessment.calibration import MODULES
from assessment.calibration import cohort as cal


@pytest.fixture(scope="module")
def table():
    return cal.results(n_runs=60, seed=20261206).set_index(["statement", "scenario"])


def test_module_is_registered_and_people_differ_a_lot_in_their_rates():
    assert "cohort" in MODULES
    n = cal.simulate_nominals(np.random.default_rng(0))
    per_person = n.groupby("person_id").size()
    assert per_person.max() >= 10 and (per_person == 1).sum() > (per_person >= 2).sum() / 2
    assert n["incident_date"].between(cal.FIRST, cal.LAST).all()
    assert set(n["ward_code"]) <= set(cal.WARDS)
    fewer = cal.simulate_nominals(np.random.default_rng(0), fall=0.3)
    assert len(fewer) < len(n)


def test_cohort_rates_are_measured_for_every_comparison(table):
    null = table.xs(cal.SCENARIOS["null"], level="scenario")
    assert len(null) == 4 and (null["runs"] == 60).all()
    assert (null["limit"] == 0.07).all()
    # the exact Poisson interval ignores that a few people carry most incidents: the capped
    # comparison with the rest of the area says "significant" more often than 5%
    assert null["rate"].max() > 0.07
    power = table.xs(cal.SCENARIOS["fall"], level="scenario")
    assert len(power) == 2 and power["rate"].between(0, 1).all()
