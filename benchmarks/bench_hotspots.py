"""Benchmark: Getis-Ord Gi* on a 100 x 100 grid over 200,000 points.

Times each step of the hotspot pipeline (grid, count, weights, Gi* with exact p-values and
FDR correction, Gi* with esda's normal p-values, kernel density) on seeded synthetic points:
a uniform background plus a few Gaussian clusters over a 15 x 15 km square in EPSG:27700,
150 m cells. Not a test. Run::

    .venv/bin/python benchmarks/bench_hotspots.py [--points 200000] [--cells 100] [--repeat 3]

Prints a Markdown block for docs/BENCHMARKS.md (section "Hotspots").
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import esda
import geopandas as gpd
import libpysal
import numpy as np
import pandas as pd
import scipy
import shapely

from machine import machine_description  # benchmarks/machine.py

from assessment.analysis.hotspots import (
    hotspot_count,
    hotspot_gistar,
    hotspot_grid,
    hotspot_kde,
    hotspot_weights,
)


def _machine() -> str:
    return machine_description(gpd, shapely, esda, libpysal, scipy)


def _points(n: int, side: float, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    n_bg = int(n * 0.8)
    x = [rng.uniform(0, side, n_bg)]
    y = [rng.uniform(0, side, n_bg)]
    centres = rng.uniform(0.1 * side, 0.9 * side, (5, 2))
    per = (n - n_bg) // 5
    for cx, cy in centres:
        x.append(np.clip(cx + rng.normal(0, 300, per), 0, side))
        y.append(np.clip(cy + rng.normal(0, 300, per), 0, side))
    x, y = np.concatenate(x), np.concatenate(y)
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(432000 + x, 284000 + y), crs=27700)


def _best(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--cells", type=int, default=100, help="cells along each side")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    side = 15_000.0
    cell = side / args.cells
    pts = _points(args.points, side, 1)
    boundary = gpd.GeoSeries([shapely.box(432000, 284000, 432000 + side, 284000 + side)], crs=27700)

    t_grid, grid = _best(lambda: hotspot_grid(boundary, cell_size=cell), args.repeat)
    t_count, counts = _best(lambda: hotspot_count(pts, grid), args.repeat)
    t_w, w = _best(lambda: hotspot_weights(grid), args.repeat)
    t_gi, gi = _best(lambda: hotspot_gistar(counts, weights=w), args.repeat)
    t_gi_all, _ = _best(lambda: hotspot_gistar(counts), args.repeat)
    t_norm, _ = _best(lambda: hotspot_gistar(counts, weights=w, p_method="normal"), args.repeat)
    t_kde, kde = _best(lambda: hotspot_kde(pts, grid), 1)

    rows = [
        ("hotspot_grid (100 x 100, 150 m)", t_grid),
        ("hotspot_count (200,000 points)", t_count),
        ("hotspot_weights (DistanceBand, 1.5 cells, self-weight)", t_w),
        ("hotspot_gistar, exact p + FDR, prebuilt weights", t_gi),
        ("hotspot_gistar, exact p + FDR, building weights", t_gi_all),
        ("hotspot_gistar, normal p (esda p_norm) + FDR", t_norm),
        (f"hotspot_kde (quartic, default bandwidth {kde['bandwidth'].iloc[0]:.0f} m)", t_kde),
        ("grid + count + weights + Gi* (total)", t_grid + t_count + t_w + t_gi),
    ]
    print(f"Machine: {_machine()}")
    print(f"Points: {args.points:,} (80% uniform, 20% in 5 clusters); grid {len(grid):,} cells;"
          f" best of {args.repeat} (KDE: 1 run).")
    print(f"Result: {int((gi['hotspot'] == 'hot').sum())} hot cells,"
          f" {int((gi['hotspot'] == 'cold').sum())} cold cells; counts sum {int(counts['count'].sum()):,}.\n")
    print("| step | seconds |")
    print("|---|---:|")
    for name, secs in rows:
        print(f"| {name} | {secs:.3f} |")


if __name__ == "__main__":
    pd.set_option("display.width", 120)
    main()
