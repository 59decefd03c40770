"""Calibration of "emerging hotspot": hot in the latest year and busier than in any earlier year.

Each run is one crime type on one town: a 30 x 30 grid of 200 m cells (900 cells, queen
neighbourhoods, the default weights of :func:`~assessment.analysis.hotspots.hotspot_weights`)
over three complete years, passed through
:func:`~assessment.analysis.hotspots.hotspot_classify_counts` with its defaults (Gi* with
exact p-values and Benjamini-Hochberg correction in each year; the conditional binomial rise
test of each hot cell's neighbourhood against its busiest earlier year, its variance scaled by
the over-dispersion the cell x year table itself shows (quasi-Poisson Pearson chi-square / df
under "every cell changes by the same factor", never below 1:
:func:`~assessment.analysis.rates.rate_table_dispersion`), corrected across the hot cells) --
the call behind ``evidence_hotspot_classes``. A run counts when any cell's
``pattern`` is ``"emerging"``; the documents then print "Emerging hotspot: <type> around
<place>" (``evidence_hotspot_headlines`` counts the emerging cells of each crime type).

The town: expected events per cell and year are 3 everywhere plus three town centres
(Gaussian bumps of peak +15 events and a spread of 2.5 cells), about 4,500 events a year:
the centres are hot every year, as population hotspots are. The null keeps this surface the
same in all three years, so no place is emerging; the noise is a cell's count around its
expectation: Poisson, or over-dispersed with variance 3 x mean (a negative binomial with a
fixed variance-to-mean ratio, as the clustering module's cells: clumped events, repeat
victims), independent between cells and years. A third null adds a partnership-wide rise of
15% in the latest year (every cell alike): the rise test compares shares of the grid's total,
so this must not be called emerging either. A fourth ("field") makes neighbouring cells busier
or quieter together: Poisson cells around the surface times a smooth random field redrawn
each year (:func:`field_means`), so that each cell alone is nearly Poisson but a neighbourhood's
total varies far more from year to year. With the over-dispersion measured on single cells
this null named an emerging cell in 84% of 100 runs (seed 20261206); the test now measures it
on the neighbourhood totals it tests.

The rise test is corrected across cells for the false discovery rate, which on a grid with no
emerging place at all equals the chance of naming any: acceptance at most 7% of runs (nominal
5%), the same for Poisson and over-dispersed cells. Before the over-dispersion allowance (the
exact conditional Poisson test) the over-dispersed nulls failed: 77% and 63% of runs named an
emerging cell (200 runs, seed 20261206). A document tests every crime type (14 in the demo) and names each one with an emerging
cell, so a document's chance of naming one is larger still (about 1 - (1 - rate)^14 for
independent types). Power: a 3 x 3 block of background cells off the centres at three times
its expected count in the latest year only (from 3 to 9 a cell: a new hotspot; at twice, 6 a
cell, its neighbourhood is barely above the grid's mean of 5 and is seldom hot at all),
over-dispersed noise; a run counts when any of its nine cells is called emerging. The same block with Poisson cells is
reported beside it.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from assessment.analysis.hotspots import hotspot_classify_counts, hotspot_weights
from assessment.calibration import (calibration_block, calibration_frame, calibration_grid, calibration_row,
                                    calibration_streams)
from assessment.calibration.wards import simulate_counts

__all__ = ["results", "surface", "field_means", "SCENARIOS"]

SIDE = 30
CELL = 200.0
BACKGROUND = 3.0
PEAK = 15.0
SPREAD = 2.5
CENTRES = ((8, 8), (20, 12), (12, 22))
BLOCK_AT = (23, 24)  # top-left cell of the planted 3 x 3 block, away from the centres
BLOCK = 3
VARIANCE_RATIO = 3.0
WIDE_RISE = 1.15
FIELD_SD = 0.3  # log-scale standard deviation of the yearly surface ("field" null)
FIELD_SPREAD = 1.5  # its Gaussian smoothing, in cells
BOOST = 3.0
LABELS = ["2023", "2024", "2025"]

SCENARIOS: dict[str, str] = {
    "poisson": "a town whose hotspots stay put (30 x 30 cells, 3 centres, about 4,500 events a year), "
               "3 years, Poisson cells",
    "nb": "a town whose hotspots stay put, 3 years, over-dispersed cells (variance 3 x mean)",
    "wide": "the same with a partnership-wide rise of 15% in the latest year, over-dispersed cells",
    "field": "a town whose hotspots stay put, 3 years, Poisson cells around a smooth random surface redrawn each "
             "year (neighbouring cells busier or quieter together: log-scale sd 0.3, spread 1.5 cells)",
    "block": "a 3 x 3 block away from the centres at three times its count in the latest year, over-dispersed cells",
    "block_poisson": "a 3 x 3 block away from the centres at three times its count in the latest year, Poisson cells",
}


def _grid() -> gpd.GeoDataFrame:
    return calibration_grid(SIDE, CELL)


def surface(grid: gpd.GeoDataFrame) -> np.ndarray:
    """Expected events per cell and year: the background plus the three town centres."""
    rows, cols = grid["row"].to_numpy(float), grid["col"].to_numpy(float)
    mean = np.full(len(grid), BACKGROUND)
    for r, c in CENTRES:
        mean += PEAK * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * SPREAD ** 2))
    return mean


def field_means(mean: np.ndarray, grid: gpd.GeoDataFrame, years: int, rng: np.random.Generator) -> np.ndarray:
    """``mean`` times a smooth random surface redrawn each year: shape (cells, years).

    Each year's log-surface is white noise smoothed by a Gaussian of sd :data:`FIELD_SPREAD` cells,
    scaled to sd :data:`FIELD_SD` and centred (``exp(z - sd^2 / 2)`` has mean 1), so a cell's
    expectation over the years is ``mean`` (no place emerges) but neighbouring cells are busier
    or quieter together in a year: the variation a neighbourhood's total shows beyond its
    cells' own.
    """
    rows, cols = grid["row"].to_numpy(float), grid["col"].to_numpy(float)
    d2 = (rows[:, None] - rows[None, :]) ** 2 + (cols[:, None] - cols[None, :]) ** 2
    kernel = np.exp(-d2 / (2 * FIELD_SPREAD ** 2))
    z = kernel @ rng.standard_normal((len(grid), years))
    z *= FIELD_SD / z.std(axis=0, keepdims=True)
    return mean[:, None] * np.exp(z - FIELD_SD ** 2 / 2)


def _block_mask(grid: gpd.GeoDataFrame) -> np.ndarray:
    return calibration_block(grid, BLOCK_AT, BLOCK)


def results(n_runs: int, seed: int) -> pd.DataFrame:
    """False-positive rates and power of "emerging hotspot" (module docstring).

    ``n_runs``, ``seed`` and the result's columns are those of every calibration module
    (:mod:`assessment.calibration`).
    """
    streams = calibration_streams(seed, SCENARIOS)
    grid = _grid()
    weights = hotspot_weights(grid)
    mean = surface(grid)
    block = _block_mask(grid)
    label = 'runs with any "emerging" cell (rise test, FDR 5% across hot cells)'
    rows = []
    for key in SCENARIOS:
        rng = streams[key]
        ratio = None if key in ("poisson", "block_poisson", "field") else VARIANCE_RATIO
        latest = mean * (WIDE_RISE if key == "wide" else 1.0)
        if key.startswith("block"):
            latest = np.where(block, BOOST * mean, mean)
        years = np.stack([mean, mean, latest], axis=1)  # (cells, years)
        found = np.zeros(n_runs, bool)
        cells = 0
        for r in range(n_runs):  # one town per run
            counts = simulate_counts(field_means(mean, grid, len(LABELS), rng) if key == "field" else years, rng,
                                     ratio)
            emerging = (hotspot_classify_counts(counts, LABELS, grid, weights=weights)["pattern"] == "emerging"
                        ).to_numpy()
            found[r] = emerging[block].any() if key.startswith("block") else emerging.any()
            cells += int(emerging.sum())
        if key.startswith("block"):
            rows.append(calibration_row(f"power: {label}: the planted block", SCENARIOS[key], found, n_runs))
        else:
            rows += [
                calibration_row(label, SCENARIOS[key], found, n_runs, 0.07),
                calibration_row(f'"emerging" cells per run, as a share of {len(grid):,} cells', SCENARIOS[key],
                                cells, n_runs * len(grid)),
            ]
    return calibration_frame(rows)
