"""Benchmark: ``assess batch`` on a synthetic country, with 1 and with 2 workers.

Not a test. Run::

    .venv/bin/python benchmarks/bench_batch.py [--partnerships 30] [--mean-size 1.18] [--dir DIR] [--country DIR]

Measures, in one run, each figure beside its anchor and the machine's load (``os.getloadavg``)
before and after it, and the CPU seconds of this process and all its children (Dask workers and
their kernels, from ``os.times``) in each step:

- writing the synthetic country (``write_synthetic_country``);
- staging every force's street and outcomes files into the Parquet store (``stage_force``),
  against a bare ``pyarrow.csv.read_csv`` of the same files;
- one strategic assessment rendered alone with ``run_document`` on one partnership's own
  catalogue (which reads its whole force's files): the anchor of the per-partnership cost;
- ``run_batch`` of every partnership's strategic assessment on a LocalCluster of 1 worker, then
  of 2 workers (fresh output folders), then the 2-worker batch again (a resume: all skipped);
- an extrapolation to 300 partnerships of 60,000 police rows each: from the 2-worker batch's
  wall time per partnership, and (what an unloaded machine would give) from the CPU seconds per
  partnership (least-squares line on police rows) over the 2 cores.

``--mean-size 1.18`` gives partnerships of about 60,000 police rows on average (Riverton, size 1,
has about 51,000). ``--country DIR`` reuses a country written before (``partnerships.csv``).

Prints a Markdown block for docs/BENCHMARKS.md (section "Batch").
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from machine import machine_description  # benchmarks/machine.py


def _load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _timed(label: str, fn, rows: list) -> object:
    before = _load()
    c0, t0 = _cpu(), time.perf_counter()
    result = fn()
    seconds, cpu = time.perf_counter() - t0, _cpu() - c0
    rows.append((label, seconds, before, _load(), cpu))
    print(f"{label}: {seconds:.1f} s, CPU {cpu:.1f} s (load {before} -> {_load()})", flush=True)
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
    _table(rows)


def _table(rows: list) -> None:
    print("| step | seconds | CPU seconds | load before | load after |")
    print("|---|---:|---:|---|---|")
    for label, seconds, before, after, cpu in rows:
        print(f"| {label} | {seconds:,.1f} | {cpu:,.1f} | {before} | {after} |")


def _timeline(outcomes: list, wall: float) -> dict[str, float]:
    """Where a batch's wall time went, from each partnership's start, end and worker.

    ``rate`` is partnerships per second once every worker has rendered its first one (which
    starts the worker's kernel): per worker, its later partnerships over the time from its first
    one's end to its last one's end, summed over the workers. ``warm`` is the mean time at which
    the workers' first partnerships ended.
    """
    ran = [o for o in outcomes if o.status == "rendered" and o.worker]
    by_worker: dict[str, list] = {}
    for o in sorted(ran, key=lambda o: o.started):
        by_worker.setdefault(o.worker, []).append(o)
    firsts = [v[0] for v in by_worker.values()]
    others = [o.seconds for v in by_worker.values() for o in v[1:]]
    lasts = [v[-1].finished for v in by_worker.values()]
    rate = sum((len(v) - 1) / (v[-1].finished - v[0].finished) for v in by_worker.values() if len(v) > 1)
    return {"first_start": min(o.started for o in ran), "first_seconds": float(np.mean([o.seconds for o in firsts])),
            "median_seconds": float(np.median(others)) if others else float("nan"),
            "tail": max(lasts) - min(lasts), "end": wall - max(lasts), "rate": rate,
            "warm": float(np.mean([o.finished for o in firsts]))}


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
    ap.add_argument("--mean-size", type=float, default=1.18)
    ap.add_argument("--country", help="a synthetic country written before (its partnerships.csv is read)")
    ap.add_argument("--workers", default="1,2,2,1",
                    help="worker counts of the batches to run, in order (default 1,2,2,1: interleaved, so that a "
                         "change of the machine's load falls on both)")
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
    if args.country:
        country = Path(args.country)
        index = pd.read_csv(country / "partnerships.csv", dtype={"code": str})
        made = [SimpleNamespace(code=r["code"], police_rows=int(r["police_rows"]), force=r["force"],
                                catalogue=country / r["catalogue"]) for r in index.to_dict("records")]
        print(f"reusing {len(made)} partnerships of {country}", flush=True)
    else:
        country = work / "country"
        if country.exists():
            shutil.rmtree(country)
        made = _timed(f"write_synthetic_country({args.partnerships}, mean_size={args.mean_size})",
                      lambda: write_synthetic_country(country, args.partnerships, seed=2026,
                                                      mean_size=args.mean_size), rows)
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
    runs: list[tuple[int, list, float, float]] = []  # workers, outcomes, wall, CPU
    last_out = None
    for k, workers in enumerate(int(w) for w in args.workers.split(",")):
        out = work / f"out_{k}_{workers}"
        if out.exists():
            shutil.rmtree(out)
        outcomes = _timed(f"run_batch, {len(made)} partnerships, {workers} worker(s), run {k + 1}",
                          lambda w=workers, o=out: run_batch(country / "partnerships", o, workers=w), rows)
        runs.append((workers, outcomes, rows[-1][1], rows[-1][4]))
        last_out = out
    _timed("run_batch again, 2 workers (resume: all skipped)",
           lambda: run_batch(country / "partnerships", last_out, workers=2), rows)

    rows_of = {p.code: p.police_rows for p in made}
    failed = {f"run {k + 1} ({w} worker(s))": sum(o.status == "failed" for o in r)
              for k, (w, r, _, _) in enumerate(runs)}
    wall = {w: float(np.mean([t for ww, _, t, _ in runs if ww == w])) for w in {r[0] for r in runs}}
    cpu_all = {w: float(np.mean([c for ww, _, _, c in runs if ww == w])) for w in wall}
    per = {w: pd.DataFrame([{"code": o.code, "seconds": o.seconds, "cpu": o.cpu_seconds, "rows": rows_of[o.code]}
                            for ww, r, _, _ in runs if ww == w for o in r if o.status == "rendered"]) for w in wall}
    mean_rows = float(police_rows.mean())
    print()
    print("## Batch")
    print()
    print(f"`benchmarks/bench_batch.py --partnerships {len(made)} --mean-size {args.mean_size}`: "
          f"{len(made)} synthetic partnerships in {len(forces)} forces, {police_rows.sum():,} police rows "
          f"(per partnership {police_rows.min():,} to {police_rows.max():,}, mean {mean_rows:,.0f}); "
          "strategic assessment only, HTML only. Load is the 1/5/15-minute load average before -> after; "
          "CPU seconds are this process's and its children's (workers, kernels).")
    print()
    print(f"Machine: {machine_description(dask, distributed, pa)}.")
    print()
    _table(rows)
    print()
    print(f"Failed partnerships: {failed}.")
    for w, frame in per.items():
        if len(frame) < 2:
            continue
        cs, ci = np.polyfit(frame["rows"].to_numpy(float), frame["cpu"].to_numpy(float), 1)
        print(f"- {w} worker(s), mean of its runs: wall {wall[w]:,.1f} s ({wall[w] / len(made):.1f} s a partnership), "
              "CPU of the "
              f"whole batch {cpu_all[w]:,.1f} s; per partnership seconds {frame['seconds'].min():.1f} to "
              f"{frame['seconds'].max():.1f} (median {frame['seconds'].median():.1f}), CPU seconds (worker + kernel) "
              f"{frame['cpu'].min():.1f} to {frame['cpu'].max():.1f} (median {frame['cpu'].median():.1f}); CPU = "
              f"{ci:.2f} + {cs * 1000:.3f} per 1,000 police rows (least squares).")
    steady: dict[int, list[tuple[float, float]]] = {}  # workers -> (steady rate, time to warm) per run
    for k, (w, outcomes, seconds, _cpu_run) in enumerate(runs):
        busy = sum(o.seconds for o in outcomes if o.status == "rendered") / (w * seconds)
        t = _timeline(outcomes, seconds)
        print(f"- Run {k + 1} ({w} worker(s)): the workers were busy with partnerships {busy:.0%} of the batch's "
              f"wall time. First partnership started at {t['first_start']:.1f} s (loading the catalogues, "
              f"starting the cluster, staging); each worker's first partnership (it starts the worker's kernel) "
              f"took {t['first_seconds']:.1f} s against a median of {t['median_seconds']:.1f} s for the others; "
              f"the workers' last partnerships ended {t['tail']:.1f} s apart; {t['end']:.1f} s from the last "
              f"end to the batch's (closing the cluster, the summary). Once warm: "
              f"{t['rate'] * 60:.1f} partnerships a minute.")
        steady.setdefault(w, []).append((t["rate"], t["warm"]))
    if 1 in wall and 2 in wall:
        speedup = wall[1] / wall[2]
        rate = {w: float(np.mean([r for r, _ in v])) for w, v in steady.items()}
        warm = {w: float(np.mean([x for _, x in v])) for w, v in steady.items()}
        at300 = (warm[1] + (300 - 1) / rate[1]) / (warm[2] + (300 - 2) / rate[2])
        print(f"- Speed-up 1 -> 2 workers (wall): {speedup:.2f} x. Once every worker is warm (partnerships a "
              f"minute after each worker's first): {rate[2] / rate[1]:.2f} x; for 300 partnerships, "
              f"extrapolated from the same start and that pace: {at300:.2f} x. From CPU (what two idle cores "
              f"would give if nothing serialises the workers): {cpu_all[1]:.0f} / ({cpu_all[2]:.0f} / 2) = "
              f"{cpu_all[1] / (cpu_all[2] / 2):.2f} x.")
    if 2 in wall:
        scale = 300 / len(made) * (60_000 / mean_rows)
        frame = per.get(1, per[2])
        cs, ci = np.polyfit(frame["rows"].to_numpy(float), frame["cpu"].to_numpy(float), 1)
        # The line at 60,000 rows; with too few or too noisy points (a slope below 0), the mean.
        cpu_300 = 300 * (ci + cs * 60_000 if cs > 0 else float(frame["cpu"].mean()))
        print(f"- Extrapolated, not measured, to 300 partnerships of 60,000 rows: from the 2-worker wall time "
              f"{wall[2] * scale / 60:.0f} min (x 300/{len(made)} x 60,000/{mean_rows:,.0f}, assuming time in "
              f"proportion to rows, which overstates the fixed part); from CPU, {cpu_300 / 60:.0f} CPU-minutes "
              f"of partnerships = {cpu_300 / 2 / 60:.0f} min on 2 idle cores (partnerships only; whole-batch CPU "
              f"of the 2-worker run scaled the same way: {cpu_all[2] * scale / 2 / 60:.0f} min).")
    if not args.dir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
