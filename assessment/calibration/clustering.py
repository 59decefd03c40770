"""Calibration of the hotspot and funnel statements: Gi* hotspots, the clustering test, funnel limits.

Grids: 40 x 40 square cells of 200 m (1,600 cells, a town's worth of grid), queen
neighbourhoods (the default of :func:`~assessment.analysis.hotspots.hotspot_weights`), the
default Benjamini-Hochberg correction at 0.05. Cell counts are gamma-Poisson (negative
binomial) with mean 5 and variance 15 (3 x mean), drawn independently for every cell, so
there is no clustering at all: busy and quiet cells are scattered at random. A grid costs
little and "a run with any cluster" is a rare event whose acceptance bound (5%) is close to
the test's own level, so the two grid scenarios use ``GRID_RUNS_FACTOR`` (4) times the runs
asked for: 400 grids in the fast test, 800 in ``docs/VALIDATION.md`` at 200 runs.

- "hotspots (exact test)": :func:`~assessment.analysis.hotspots.hotspot_gistar` with its
  default exact binomial p-values, whose null is an even spread; a run counts when any cell
  is ``hot``. This is reported, not judged: on such grids it is expected to fire.
- "clusters (conditional randomisation test)": the ``cluster`` column of the same call; a
  run counts when any cell is a significant hot or cold cluster. Acceptance: at most 5%.
- power: the same grids with a 3 x 3 block of cells at twice the mean (10, same gamma
  shape) at the centre; a run counts when any of the nine cells is flagged hot. The
  clustering test is judged at its own level (corrected p < 0.05). The exact test flags
  hot cells in nearly every null run, so for a fair comparison it is given the threshold on
  its corrected p-value that makes it fire in only 5% of the null runs (the 5th percentile
  of each null run's smallest corrected p among cells above their expectation): its power
  "at the same false-positive rate". That threshold can only be found in a simulation whose
  truth is known; on real data nobody knows it. The size-adjusted exact test has the higher
  power here, because it also counts the centre cell's own events, which the clustering
  test holds fixed so that one busy cell on its own is never called a cluster.

Funnel plots: 20 areas of 5,000 to 15,000 residents with a partnership rate of 80 per
1,000, each area's true rate ``80 exp(u)`` with ``u ~ Normal(0, 0.15^2)`` (15% real
variation), counts Poisson; :func:`~assessment.analysis.rates.rate_funnel_position` with
its default additive over-dispersion allowance. The statement is an area outside the 99.8%
limits; the table gives the share of all simulated areas, so "at most 1 of 20 on average"
is a share of at most 5%. The same without the allowance is reported beside it.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd

from assessment.analysis.hotspots import hotspot_gistar, hotspot_weights
from assessment.analysis.rates import rate_funnel_position
from assessment.calibration import (calibration_block, calibration_frame, calibration_grid, calibration_row,
                                    calibration_streams)

__all__ = ["results", "simulate_cells", "SCENARIOS"]

SIDE = 40
CELL = 200.0
MEAN = 5.0
VARIANCE_RATIO = 3.0
BLOCK = 3
GRID_RUNS_FACTOR = 4
N_AREAS = 20
RATE = 80.0
SPREAD = 0.15

SCENARIOS: dict[str, str] = {
    "null": "independent over-dispersed cells, no clustering (40 x 40, mean 5, variance 3 x mean)",
    "block": "the same with a 3 x 3 block at twice the mean in the centre",
    "funnel": "20 areas, 15% real variation between their rates (80 per 1,000, 5,000-15,000 residents)",
}


def _grid() -> gpd.GeoDataFrame:
    return calibration_grid(SIDE, CELL)


def _block_mask(grid: gpd.GeoDataFrame) -> np.ndarray:
    lo = SIDE // 2 - BLOCK // 2  # the centre block
    return calibration_block(grid, (lo, lo), BLOCK)


def simulate_cells(n_runs: int, n_cells: int, rng: np.random.Generator, boost: np.ndarray | None = None) -> np.ndarray:
    """Gamma-Poisson cell counts, shape ``(n_runs, n_cells)``: mean 5 (times ``boost``), variance 3 x mean at 5."""
    shape = MEAN / (VARIANCE_RATIO - 1.0)  # Var = mu + mu^2 / shape = 3 mu at mu = 5
    mu = np.full(n_cells, MEAN) if boost is None else MEAN * boost
    return rng.poisson(rng.gamma(shape, mu / shape, (n_runs, n_cells)))


def _hot_p(res: pd.DataFrame) -> np.ndarray:
    """Corrected exact p-values of cells above their expectation (1 elsewhere)."""
    above = (res["neighbourhood_count"] > res["neighbourhood_expected"]).to_numpy()
    return np.where(above, res["p_adjusted"].to_numpy(), 1.0)


def results(n_runs: int, seed: int) -> pd.DataFrame:
    """False-positive rates and power of the hotspot, clustering and funnel statements (module docstring).

    ``n_runs``, ``seed`` and the result's columns are those of every calibration module
    (:mod:`assessment.calibration`).
    """
    streams = calibration_streams(seed, SCENARIOS)
    grid = _grid()
    weights = hotspot_weights(grid)
    block = _block_mask(grid)
    n = len(grid)
    rows = []
    n_funnels = n_runs
    n_runs = GRID_RUNS_FACTOR * n_runs
    null_counts = simulate_cells(n_runs, n, streams["null"])
    block_counts = simulate_cells(n_runs, n, streams["block"], boost=np.where(block, 2.0, 1.0))
    any_hot = np.zeros(n_runs, bool)
    any_cluster = np.zeros(n_runs, bool)
    null_min_p = np.ones(n_runs)
    hot_cells = np.zeros(n_runs)
    found_cluster = np.zeros(n_runs, bool)
    block_min_p = np.ones(n_runs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r in range(n_runs):  # one grid per run
            res = hotspot_gistar(grid.assign(count=null_counts[r]), weights=weights)
            any_hot[r] = bool((res["hotspot"] == "hot").any())
            hot_cells[r] = float((res["hotspot"] == "hot").sum())
            any_cluster[r] = bool((res["cluster"] != "not significant").any())
            null_min_p[r] = _hot_p(res).min()
            res = hotspot_gistar(grid.assign(count=block_counts[r]), weights=weights)
            found_cluster[r] = bool((res["cluster"].to_numpy()[block] == "hot").any())
            block_min_p[r] = _hot_p(res)[block].min()
    threshold = float(np.quantile(null_min_p, 0.05))
    null_label = SCENARIOS["null"]
    rows += [
        calibration_row("hotspots (exact test, even-spread null): runs with any hot cell", null_label, any_hot,
                        n_runs),
        calibration_row(f"hotspots (exact test): hot cells per run, as a share of {n:,} cells", null_label,
                        int(hot_cells.sum()), n_runs * n),
        calibration_row("clusters (conditional randomisation test): runs with any cluster", null_label, any_cluster,
                        n_runs, 0.05),
        calibration_row("power: clustering test finds the block (corrected p < 0.05)", SCENARIOS["block"],
                        found_cluster, n_runs),
        calibration_row("power: exact test finds the block at the same 5% false-positive rate "
                        f"(size-adjusted threshold p_adjusted < {threshold:.2g})", SCENARIOS["block"],
                        block_min_p < threshold, n_runs),
    ]
    # funnel plots
    rng = streams["funnel"]
    n_runs = n_funnels
    pop = rng.integers(5_000, 15_001, (n_runs, N_AREAS)).astype(float)
    true = RATE * np.exp(rng.normal(0.0, SPREAD, (n_runs, N_AREAS)))
    counts = rng.poisson(true * pop / 1000.0)
    outside = np.zeros(n_runs, int)
    outside_plain = np.zeros(n_runs, int)
    for r in range(n_runs):  # one funnel plot per run
        frame = pd.DataFrame({"count": counts[r], "population": pop[r]})
        outside[r] = int(rate_funnel_position(frame)["funnel"].str.contains("99.8").sum())
        outside_plain[r] = int(rate_funnel_position(frame, overdispersion=None)["funnel"].str.contains("99.8").sum())
    rows += [
        calibration_row("funnel: areas outside the 99.8% limits, with the over-dispersion allowance "
                        "(share of areas; 5% = 1 of 20 on average)", SCENARIOS["funnel"], int(outside.sum()),
                        n_runs * N_AREAS, 0.05),
        calibration_row("funnel: areas outside the 99.8% limits, Poisson limits only (before)", SCENARIOS["funnel"],
                        int(outside_plain.sum()), n_runs * N_AREAS),
    ]
    return calibration_frame(rows)
