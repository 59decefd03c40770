"""Fast calibration of "emerging hotspot" (seeded; docs/VALIDATION.md has more runs).

The simulations are described in :mod:`assessment.calibration.emerging`.
"""

import numpy as np
import pytest

from assessment.calibration import MODULES
from assessment.calibration import emerging as cal


@pytest.fixture(scope="module")
def table():
    return cal.results(n_runs=40, seed=20261206).set_index(["statement", "scenario"])


def _row(table, start, scenario):
    sub = table.xs(cal.SCENARIOS[scenario], level="scenario")
    hits = [s for s in sub.index if s.startswith(start)]
    assert len(hits) == 1, (start, list(sub.index))
    return sub.loc[hits[0]]


def test_module_is_registered_and_the_town_has_stable_centres():
    assert "emerging" in MODULES
    mean = cal.surface(cal._grid())
    assert mean.min() == pytest.approx(cal.BACKGROUND, abs=0.01)
    assert mean.max() > 5 * cal.BACKGROUND  # the centres are hot every year
    assert 4_000 < mean.sum() < 5_000
    assert cal._block_mask(cal._grid()).sum() == 9
    assert mean[cal._block_mask(cal._grid())].max() < cal.BACKGROUND + 0.1  # the block is away from the centres


def test_rise_test_holds_on_poisson_cells_and_is_measured_on_over_dispersed_ones(table):
    label = 'runs with any "emerging" cell'
    poisson = _row(table, label, "poisson")
    assert poisson["runs"] == 40 and poisson["rate"] <= 0.07 and poisson["holds"]
    nb = _row(table, label, "nb")
    assert nb["rate"] > 0.2  # the exact Poisson rise test on over-dispersed counts: measured, not hidden
    assert _row(table, "power:", "block_poisson")["rate"] > 0.5
    assert 0 < _row(table, "power:", "block")["rate"] <= 1
