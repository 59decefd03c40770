"""Benchmark: ``assess batch`` on a synthetic country, with 1 and with 2 workers.

Not a test. Run::

    .venv/bin/python benchmarks/bench_batch.py [--partnerships 30] [--mean-size 0.3] [--dir DIR]

Measures, in one run, each figure beside its anchor and the machine's load (``os.getloadavg``)
before and after it:

- writing the synthetic country (``write_synthetic_country``);
- staging every force's street and outcomes files into the Parquet store (``stage_force``),
  against a bare ``pyarrow.csv.read_csv`` of the same files;
- one strategic assessment rendered alone with ``run_document`` on one partnership's own
  catalogue (which reads its whole force's files): the anchor of the per-partnership cost;
- ``run_batch`` of every partnership's strategic assessment on a LocalCluster of 1 worker, then
  of 2 workers (fresh output folders), then the 2-worker batch again (a resume: all skipped);
- an extrapolation to 300 partnerships of 60,000 police rows each, from a least-squares line of
  the 1-worker batch's per-partnership seconds on each partnership's police rows.

Prints a Markdown block for docs/BENCHMARKS.md (section "Batch").
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from machine import machine_description  # benchmarks/machine.py


def _load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def _timed(label: str, fn, rows: list) -> object:
    before = _load()
    t0 = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - t0
    rows.append((label, seconds, before, _load()))
    print(f"{label}: {seconds:.1f} s (load {before} -> {_load()})", flush=True)
    return result


def _scale(work: Path, rows: list, run_document, write_synthetic_country) -> None:
    """One strategic assessment of a small and of a large partnership, each alone, twice alternately."""
    made = {}
    for label, size, seed in (("small", 0.3, 11), ("large", 2.0, 12)):
        folder = work / f"scale_{label}"
        if folder.exists():
            shutil.rmtree(folder)
        made[label] = write_synthetic_country(folder, 1, seed=seed, mean_size=size)[0]
    for attempt in (1, 2):
        for label in ("small", "large") if attempt == 1 else ("large", "small"):
            p = made[label]
            _timed(f"run_document strategic_assessment alone, {label} partnership ({p.police_rows:,} police rows, "
                   f"{p.residents:,} residents), run {attempt}",
                   lambda p=p, label=label: run_document("strategic_assessment", p.catalogue,
                                                         work / f"scale_out_{label}", offline=True), rows)
    print()
    print("| step | seconds | load before | load after |")
    print("|---|---:|---|---|")
    for label, seconds, before, after in rows:
        print(f"| {label} | {seconds:,.1f} | {before} | {after} |")


def main(argv=None) -> None:
    import dask
    import distributed
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from assessment.batch import _plan, find_catalogues, run_batch, stage_force
    from assessment.demo.country import write_synthetic_country
    from assessment.reporting.execute import run_document

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--partnerships", type=int, default=30)
    ap.add_argument("--mean-size", type=float, default=0.3)
    ap.add_argument("--dir", help="work folder (default a temporary folder, removed afterwards)")
    ap.add_argument("--scale-only", action="store_true",
                    help="only render one small and one large partnership alone, alternately (per-row cost)")
    args = ap.parse_args(argv)
    os.environ.setdefault("ASSESSMENT_PSEUDONYM_KEY", "bench-key-not-for-real-data")
    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench_batch_"))
    work.mkdir(parents=True, exist_ok=True)
    rows: list = []
    if args.scale_only:
        _scale(work, rows, run_document, write_synthetic_country)
        return
    country = work / "country"
    if country.exists():
        shutil.rmtree(country)
    made = _timed(f"write_synthetic_country({args.partnerships}, mean_size={args.mean_size})",
                  lambda: write_synthetic_country(country, args.partnerships, seed=2026, mean_size=args.mean_size),
                  rows)
    police_rows = np.array([p.police_rows for p in made])
    forces = sorted({p.force for p in made})

    # Staging against a bare read of the same files.
    catalogues = find_catalogues(country / "partnerships")
    _specs, plan, _failed = _plan(catalogues, work / "plan", ["strategic_assessment"], (), True)
    all_files = [f for force in plan.values() for files in force["files"].values() for f in files]

    def bare() -> int:
        return sum(pacsv.read_csv(f, convert_options=pacsv.ConvertOptions(strings_can_be_null=False)).num_rows
                   for f in all_files)

    store = work / "store"

    def staging() -> None:
        if store.exists():
            shutil.rmtree(store)
        for force, entry in plan.items():
            stage_force(force, entry["files"], str(store), entry["digest"])

    _timed(f"bare pyarrow.csv.read_csv of the {len(all_files)} force files", bare, rows)
    _timed(f"stage_force for {len(forces)} forces (Parquet store)", staging, rows)

    # Anchor: one strategic assessment alone, no Dask.
    first = made[0]
    _timed(f"anchor: run_document strategic_assessment, one partnership ({first.police_rows:,} own rows, "
           "reading its whole force)", lambda: run_document("strategic_assessment", first.catalogue,
                                                            work / "anchor", offline=True), rows)
    results = {}
    for workers in (1, 2):
        out = work / f"out_{workers}"
        if out.exists():
            shutil.rmtree(out)
        results[workers] = _timed(f"run_batch, {len(made)} partnerships, {workers} worker(s)",
                                  lambda w=workers, o=out: run_batch(country / "partnerships", o, workers=w), rows)
    _timed("run_batch again, 2 workers (resume: all skipped)",
           lambda: run_batch(country / "partnerships", work / "out_2", workers=2), rows)

    failed = {w: sum(o.status == "failed" for o in r) for w, r in results.items()}
    per = pd.DataFrame([{"code": o.code, "seconds": o.seconds} for o in results[1]])
    rows_of = {p.code: p.police_rows for p in made}
    per["rows"] = per["code"].map(rows_of)
    slope, intercept = np.polyfit(per["rows"].to_numpy(float), per["seconds"].to_numpy(float), 1)
    t1 = next(s for label, s, *_ in rows if label.startswith("run_batch") and "1 worker" in label)
    t2 = next(s for label, s, *_ in rows if label.startswith("run_batch") and "2 worker" in label)
    speedup = t1 / t2
    one = intercept + slope * 60_000
    total_1 = 300 * one
    print()
    print("## Batch")
    print()
    print(f"`benchmarks/bench_batch.py --partnerships {args.partnerships} --mean-size {args.mean_size}`: "
          f"{len(made)} synthetic partnerships in {len(forces)} forces, {police_rows.sum():,} police rows "
          f"(per partnership {police_rows.min():,} to {police_rows.max():,}, mean {police_rows.mean():,.0f}); "
          "strategic assessment only, HTML only. Load is the 1/5/15-minute load average before -> after.")
    print()
    print(f"Machine: {machine_description(dask, distributed, pa)}.")
    print()
    print("| step | seconds | load before | load after |")
    print("|---|---:|---|---|")
    for label, seconds, before, after in rows:
        print(f"| {label} | {seconds:,.1f} | {before} | {after} |")
    print()
    print(f"Failed partnerships: {failed}. Speed-up 1 -> 2 workers: {speedup:.2f} x. Per-partnership seconds "
          f"(1 worker) = {intercept:.1f} + {slope * 1000:.3f} per 1,000 police rows (least squares over "
          f"{len(per)} partnerships). Extrapolated, not measured: one partnership of 60,000 rows {one:.0f} s; "
          f"300 of them {total_1 / 60:.0f} min on 1 worker, {total_1 / speedup / 60:.0f} min on 2 workers at the "
          "measured speed-up.")
    if not args.dir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
