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


def test_the_design_effect_lowers_the_false_positive_rate(table):
    null = table.xs(cal.SCENARIOS["null"], level="scenario")
    now = null[~null.index.str.contains("before")]
    before = null[null.index.str.contains("before")]
    assert len(now) == 4 and len(before) == 4 and (now["runs"] == 60).all()
    assert (now["limit"] == 0.07).all() and before["limit"].isna().all()
    # the plain exact Poisson interval ignores that a few people carry most incidents
    assert before["rate"].max() > 0.07
    assert now["rate"].sum() < before["rate"].sum()
    assert now["rate"].max() <= 0.15
    power = table.xs(cal.SCENARIOS["fall"], level="scenario")
    assert len(power) == 4 and power["rate"].between(0, 1).all()
    assert len(table.xs(cal.SCENARIOS["mobile"], level="scenario")) == 4
