"""Benchmark: point-in-polygon throughput of assign_points against a plain geopandas.sjoin.

2 million uniform random points over about 100 Voronoi polygons (EPSG:27700, the Riverton
extent). Not a test. Run::

    .venv/bin/python benchmarks/bench_geography.py [--points 2000000] [--polygons 100] [--repeat 3]

Prints a Markdown block for docs/BENCHMARKS.md (section "Geography").
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from machine import machine_description  # benchmarks/machine.py

from assessment.geography.assign import assign_points


def _machine() -> str:
    return machine_description(gpd, shapely)


def _polygons(n: int, rng) -> gpd.GeoDataFrame:
    frame = shapely.box(432000, 284000, 447000, 296000)
    seeds = np.column_stack([rng.uniform(432000, 447000, n), rng.uniform(284000, 296000, n)])
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame))
    cells = shapely.intersection(cells, frame)
    return gpd.GeoDataFrame({"code": [f"U{i:04d}" for i in range(len(cells))]}, geometry=cells, crs=27700)


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=2_000_000)
    ap.add_argument("--polygons", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=20240501)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    units = _polygons(args.polygons, rng)
    n = args.points
    x = rng.uniform(431500, 447500, n)  # a margin so some points fall outside every unit
    y = rng.uniform(283500, 296500, n)
    frame = pd.DataFrame({"easting": x, "northing": y})
    t0 = time.perf_counter()
    gpts = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(x, y), crs=27700)
    t_build = time.perf_counter() - t0

    result = {}

    def ours_df():
        result["ours"] = assign_points(frame, units, warn_outside=False)

    def ours_gdf():
        assign_points(gpts, units, warn_outside=False)

    def sjoin():
        result["sjoin"] = gpd.sjoin(gpts, units, how="left", predicate="intersects")

    t_df = _best(ours_df, args.repeat)
    t_gdf = _best(ours_gdf, args.repeat)
    t_sj = _best(sjoin, args.repeat)
    assigned, report = result["ours"]
    joined = result["sjoin"]
    # agreement: sjoin gives one row per match; points matched once must agree with ours
    once = ~joined.index.duplicated(keep=False)
    agree = (assigned["unit_code"].reindex(joined.index[once]).astype(object).fillna("")
             == joined.loc[once, "code"].astype(object).fillna("")).mean()
    print("## Geography\n")
    print(f"`benchmarks/bench_geography.py`, {n:,} uniform random points, {len(units)} Voronoi polygons "
          f"(EPSG:27700, 15 x 12 km), best of {args.repeat}.\n")
    print(f"Machine: {_machine()}.\n")
    print("| step | seconds | points per second |")
    print("|---|---:|---:|")
    print(f"| `assign_points` from easting/northing (builds the points) | {t_df:.2f} | {n / t_df:,.0f} |")
    print(f"| `assign_points` on a GeoDataFrame of points | {t_gdf:.2f} | {n / t_gdf:,.0f} |")
    print(f"| plain `geopandas.sjoin(predicate='intersects', how='left')` | {t_sj:.2f} | {n / t_sj:,.0f} |")
    print(f"| (building the GeoDataFrame for sjoin, once) | {t_build:.2f} | |")
    print(f"\nReport: {report.to_dict()}. Points with exactly one match agree with sjoin: {agree:.4%}. "
          f"sjoin returns {len(joined):,} rows (one per match) and leaves edge ties unresolved.")


if __name__ == "__main__":
    main()
