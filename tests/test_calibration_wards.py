"""Fast calibration of the ward statements (seeded; docs/VALIDATION.md has more runs).

The simulations are described in :mod:`assessment.calibration.wards`.
"""

import numpy as np
import pytest

from assessment.calibration import MODULES
from assessment.calibration import wards as cal


@pytest.fixture(scope="module")
def table():
    return cal.results(n_runs=100, seed=20261206).set_index(["statement", "scenario"])


def _row(table, start, scenario):
    sub = table.xs(cal.SCENARIOS[scenario], level="scenario")
    hits = [s for s in sub.index if s.startswith(start)]
    assert len(hits) == 1, (start, list(sub.index))
    return sub.loc[hits[0]]


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


def test_ward_higher_holds_its_level_on_poisson_counts_and_not_on_over_dispersed_ones(table):
    poisson = _row(table, 'ward "significantly higher" (95% CI above the partnership rate): share', "poisson")
    assert poisson["runs"] == 2000 and poisson["rate"] <= 0.035 and poisson["holds"]
    nb = _row(table, 'ward "significantly higher" (95% CI above the partnership rate): share', "nb")
    assert nb["rate"] > 2 * poisson["rate"]  # a Poisson interval on over-dispersed counts: measured, not hidden
    assert _row(table, "power: ward", "higher")["rate"] > 0.8


def test_ward_change_keeps_its_false_discovery_rate_on_poisson_counts(table):
    poisson = _row(table, 'ward "rose/fell significantly" (exact test, FDR 5% across wards): audits', "change_poisson")
    assert poisson["rate"] <= 0.07 and poisson["holds"]
    nb = _row(table, 'ward "rose/fell significantly" (exact test, FDR 5% across wards): audits', "change_nb")
    assert nb["rate"] > 0.2
    assert _row(table, "power: ward", "change_rise")["rate"] > 0.6
