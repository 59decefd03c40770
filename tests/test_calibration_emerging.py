"""Fast calibration of "emerging hotspot" (seeded; docs/VALIDATION.md has more runs).

The simulations are described in :mod:`assessment.calibration.emerging`.
"""

import numpy as np
import pytest

from assessment.calibration import MODULES
from assessment.calibration import emerging as cal

from _calibration import row_of  # tests/_calibration.py


@pytest.fixture(scope="module")
def table():
    return cal.results(n_runs=40, seed=20261206).set_index(["statement", "scenario"])


def _row(table, start, scenario):
    return row_of(table, cal.SCENARIOS, start, scenario)


def test_module_is_registered_and_the_town_has_stable_centres():
    assert "emerging" in MODULES
    mean = cal.surface(cal._grid())
    assert mean.min() == pytest.approx(cal.BACKGROUND, abs=0.01)
    assert mean.max() > 5 * cal.BACKGROUND  # the centres are hot every year
    assert 4_000 < mean.sum() < 5_000
    assert cal._block_mask(cal._grid()).sum() == 9
    assert mean[cal._block_mask(cal._grid())].max() < cal.BACKGROUND + 0.1  # the block is away from the centres


def test_rise_test_holds_on_poisson_and_on_over_dispersed_cells(table):
    label = 'runs with any "emerging" cell'
    for scenario in ("poisson", "nb", "wide", "field"):  # the same acceptance limit for every null
        row = _row(table, label, scenario)
        assert row["runs"] == 40 and row["limit"] == 0.07, scenario
        assert row["rate"] <= 0.07 and row["holds"], (scenario, row["rate"])
    assert _row(table, "power:", "block_poisson")["rate"] > 0.5
    assert 0 < _row(table, "power:", "block")["rate"] <= 1


def test_without_the_allowance_the_over_dispersed_null_fails():
    """The exact Poisson rise test (dispersion=None) names emerging cells on the over-dispersed null."""
    from assessment.analysis.hotspots import hotspot_classify_counts, hotspot_weights
    from assessment.calibration.wards import simulate_counts

    grid = cal._grid()
    weights = hotspot_weights(grid)
    mean = cal.surface(grid)
    years = np.stack([mean, mean, mean], axis=1)
    rng = np.random.default_rng(7)
    old = new = 0
    for _ in range(8):
        counts = simulate_counts(years, rng, cal.VARIANCE_RATIO)
        res = hotspot_classify_counts(counts, cal.LABELS, grid, weights=weights, dispersion=None)
        old += int((res["pattern"] == "emerging").any())
        res = hotspot_classify_counts(counts, cal.LABELS, grid, weights=weights)
        assert res["dispersion"].iloc[0] > 2  # variance 3 x mean, estimated from the table
        new += int((res["pattern"] == "emerging").any())
    assert old >= 3 and new <= 1, (old, new)


def test_measured_on_single_cells_the_spatially_correlated_null_fails():
    """On the "field" null (neighbouring cells busier or quieter together) the over-dispersion of
    single cells understates that of the neighbourhood totals the rise test uses: allowing only for
    the cells' own (the behaviour before) names emerging cells in most towns; the default does not."""
    from assessment.analysis.hotspots import hotspot_classify_counts, hotspot_weights
    from assessment.analysis.rates import rate_table_dispersion

    grid = cal._grid()
    weights = hotspot_weights(grid)
    mean = cal.surface(grid)
    rng = np.random.default_rng(11)
    old = new = 0
    for _ in range(10):
        counts = rng.poisson(cal.field_means(mean, grid, len(cal.LABELS), rng))
        cells_phi = rate_table_dispersion(counts)["dispersion"]
        res = hotspot_classify_counts(counts, cal.LABELS, grid, weights=weights, dispersion=cells_phi)
        old += int((res["pattern"] == "emerging").any())
        res = hotspot_classify_counts(counts, cal.LABELS, grid, weights=weights)
        assert res["dispersion"].iloc[0] > cells_phi
        new += int((res["pattern"] == "emerging").any())
    assert old >= 5 and new <= 1, (old, new)
