"""Fast calibration of "near repeats" (seeded; docs/VALIDATION.md has more runs).

The simulations are described in :mod:`assessment.calibration.nearrepeat`.
"""

import numpy as np
import pytest

from assessment.calibration import MODULES
from assessment.calibration import nearrepeat as cal

from _calibration import row_of  # tests/_calibration.py


@pytest.fixture(scope="module")
def table():
    return cal.results(n_runs=40, seed=20261206).set_index(["statement", "scenario"])


def _row(table, start, scenario):
    return row_of(table, cal.SCENARIOS, start, scenario)


def test_module_is_registered_and_events_crowd_onto_map_points_with_over_dispersed_months():
    assert "nearrepeat" in MODULES
    rng = np.random.default_rng(0)
    years = [cal.simulate_events(rng) for _ in range(40)]
    monthly = np.concatenate([e.groupby("date").size().to_numpy() for e in years]).astype(float)
    assert monthly.mean() == pytest.approx(100.0, rel=0.05)
    assert monthly.var() / monthly.mean() > 2.0  # seasonal swing on top of variance 2.5 x mean
    points = years[0].groupby(["easting", "northing"]).size()
    assert points.max() >= 10 and len(points) <= cal.N_POINTS  # many events share a map point
    extra = cal.simulate_events(np.random.default_rng(0), "repeats30")
    assert len(extra) > 1.25 * len(years[0])
    with pytest.raises(ValueError, match="scenario"):
        cal.simulate_events(rng, "nope")


def test_knox_with_fdr_holds_its_level_on_separable_events(table):
    null = _row(table, "a near-repeat band", "null")
    assert null["runs"] == 40 and null["rate"] <= 0.07 and null["holds"]
    assert _row(table, "power:", "repeats30")["rate"] >= _row(table, "power:", "repeats")["rate"]
    assert _row(table, "power:", "repeats30")["rate"] > 0
