"""Benchmark: the strategic assessment of one large partnership (about 1.5M police rows), whole process.

Not a test. Run::

    .venv/bin/python benchmarks/bench_strategic.py [--dir DIR] [--scale 30] [--rounds 1]
    .venv/bin/python benchmarks/bench_strategic.py --scale 1 --dir DIR   # demo-size partnership

The partnership is built by the synthetic country's own generators
(``assessment.demo.geography.build_geography``, ``assessment.demo.police.generate_police_events``,
placed and written as ``write_synthetic_country`` does) with residents and every expected monthly
crime count multiplied by ``--scale`` (``write_synthetic_country`` keeps sizes within 3 x Riverton,
so one partnership of 1.5M rows needs this direct route). Scale 30 gives about 1.5M street rows over
the same 15 x 12 km area, wards, small areas and 3,000-odd map points as Riverton; scale 1 gives a
Riverton-sized partnership (about 51,000 rows).

Measured in one run, interleaved, each with the load average (``os.getloadavg``) before and after:

- anchor: a bare ``pyarrow.csv.read_csv`` of the partnership's street files (in this process);
- anchor: one trivial notebook (one ``print``) executed by papermill and rendered by nbconvert, in a
  subprocess, as ``run_document`` does;
- the strategic assessment alone, ``run_document("strategic_assessment", catalogue, out,
  offline=True)`` (HTML only), in a subprocess, with a cold workbench cache (``.assessment-cache``
  beside the catalogue removed first) and then warm.

Wall seconds are the subprocess's; CPU seconds are those of the subprocess and its children (the
kernel, nbconvert), less sensitive to the machine's load than wall time. Peak memory is ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``
read inside the subprocess after ``run_document`` returns: the largest resident set of any of its
children, which is the kernel (the subprocess's own RSS is reported apart).

Prints a Markdown block for docs/BENCHMARKS.md (section "Strategic assessment at scale").
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from machine import machine_description  # noqa: E402  benchmarks/machine.py


def _load() -> str:
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


def write_large_partnership(dest: Path, scale: float, seed: int = 30, residents_scale: float | None = None) -> dict:
    """One synthetic partnership ``scale`` times Riverton's crime, written like the country's.

    Residents are ``residents_scale`` times Riverton's (default ``min(scale, 8)``: the generator
    cuts small areas of about 1,450 residents from 100 m cells and codes them by three digits, so
    beyond about 9 x codes repeat).

    Returns a dict with the catalogue path, residents and street rows.
    """
    import numpy as np
    import yaml

    from assessment import paths
    from assessment.demo import country as C
    from assessment.demo.geography import TARGET_POPULATION, build_geography, write_geography
    from assessment.demo.police import generate_police_events, police_frames, write_police_files

    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    rng = np.random.default_rng([int(seed), 30])
    code, name, force, force_name = "E07910001", "Largeton", "largeshire", "Largeshire Police"
    residents_scale = min(scale, 8.0) if residents_scale is None else residents_scale
    geo = build_geography(rng, population=int(round(TARGET_POPULATION * residents_scale)), urban=1.0)
    events = generate_police_events(rng, geo, scale=float(scale))
    dx = C._GRID_ORIGIN[0] - C._LOCAL_ORIGIN[0]
    dy = C._GRID_ORIGIN[1] - C._LOCAL_ORIGIN[1]
    placed = C._placed(geo, 1, name, dx, dy)
    folder = dest / "partnerships" / code
    write_geography(placed, folder, int(seed) + 1, code=code, name=name, force=force)
    street, outc = police_frames(rng, events, placed, force_name)
    write_police_files(street, outc, dest / "forces" / force / "police", force)
    template = yaml.safe_load(paths.DEMO_CATALOGUE.read_text(encoding="utf-8"))
    catalogue = folder / "data_catalogue.yaml"
    catalogue.write_text(yaml.safe_dump(C._catalogue(template, code, name, force, force_name), sort_keys=False,
                                        allow_unicode=True), encoding="utf-8")
    info = {"catalogue": str(catalogue), "residents": int(placed.small_areas["pop_total"].sum()),
            "street_rows": int(len(street)), "outcome_rows": int(len(outc)), "scale": scale,
            "residents_scale": residents_scale,
            "street_files": sorted(str(p) for p in (dest / "forces" / force / "police").glob("*/*-street.csv"))}
    (dest / "partnership.json").write_text(json.dumps(info, indent=1))
    return info


_CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, {root!r})
t0 = time.perf_counter()
from assessment.reporting.execute import run_document
run_document({document!r}, {catalogue!r}, {out!r}, offline=True)
wall = time.perf_counter() - t0
ch = resource.getrusage(resource.RUSAGE_CHILDREN)
me = resource.getrusage(resource.RUSAGE_SELF)
print("RESULT " + json.dumps({{"inner_seconds": wall, "kernel_peak_mib": ch.ru_maxrss / 1024,
                               "own_peak_mib": me.ru_maxrss / 1024,
                               "cpu_seconds": ch.ru_utime + ch.ru_stime + me.ru_utime + me.ru_stime}}))
"""

_TRIVIAL = {
    "cells": [
        {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "execution_count": None, "outputs": [],
         "source": ["x = 1"]},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": ["print(x)"]},
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
}

_TRIVIAL_CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import papermill, nbformat
from nbconvert import HTMLExporter
papermill.execute_notebook({src!r}, {dst!r}, parameters={{"x": 2}}, progress_bar=False, log_output=False)
html, _ = HTMLExporter().from_notebook_node(nbformat.read({dst!r}, as_version=4))
wall = time.perf_counter() - t0
ch = resource.getrusage(resource.RUSAGE_CHILDREN)
me = resource.getrusage(resource.RUSAGE_SELF)
print("RESULT " + json.dumps({{"inner_seconds": wall, "kernel_peak_mib": ch.ru_maxrss / 1024,
                               "cpu_seconds": ch.ru_utime + ch.ru_stime + me.ru_utime + me.ru_stime}}))
"""


def _subprocess(code: str, env: dict) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"child failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    out = json.loads(line[len("RESULT "):])
    out["wall_seconds"] = wall
    return out


def profile_cells(catalogue: Path, out: Path, top: int = 30) -> None:
    """Replay the strategic assessment notebook's code cells in-process under cProfile.

    Each cell after the parameters calls one public function of the package, so running the
    cells' source with the parameters bound reproduces the document's work without a kernel.
    The workbench cache beside the catalogue is built first (not profiled), so the profile is
    of the document on a warm cache.
    """
    import cProfile
    import io
    import pstats
    import warnings

    os.environ.setdefault("ASSESSMENT_PSEUDONYM_KEY", "bench-key-not-for-real-data")
    warnings.simplefilter("ignore")
    nb = json.loads((ROOT / "notebooks" / "strategic_assessment.ipynb").read_text())
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"][1:]
    ns = {"catalogue": str(catalogue), "out_dir": str(out), "cache_dir": str(catalogue.parent / ".assessment-cache"),
          "edition": None, "offline": True, "run_date": None, "output_name": None, "published_dir": None}
    from assessment.reporting.workbench import load_workbench

    load_workbench(catalogue, cache_dir=catalogue.parent / ".assessment-cache")
    prof = cProfile.Profile()
    times = []
    for src in cells:
        t0 = time.perf_counter()
        prof.enable()
        exec(src, ns)  # noqa: S102 - the package's own notebook
        prof.disable()
        times.append((time.perf_counter() - t0, src.strip().splitlines()[-1]))
    print("| cell | seconds |")
    print("|---|---:|")
    for seconds, src in times:
        print(f"| `{src[:70]}` | {seconds:.2f} |")
    print(f"| total | {sum(t for t, _ in times):.2f} |")
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(top)
    print(text.getvalue())


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", help="work folder; the partnership is kept and reused there (default: temporary)")
    ap.add_argument("--scale", type=float, default=30.0,
                    help="residents and crime as a multiple of Riverton's (30: about 1.5M street rows; 1: demo size)")
    ap.add_argument("--seed", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=1, help="rounds of (anchors, cold, warm)")
    ap.add_argument("--generate-only", action="store_true", help="write the partnership and stop")
    ap.add_argument("--label", default="", help="a label for the code measured (e.g. a commit)")
    ap.add_argument("--profile", action="store_true",
                    help="instead of timing subprocesses, replay the notebook's cells in this process under cProfile "
                         "(warm cache) and print each cell's seconds and the costliest functions")
    ap.add_argument("--baseline", help="another checkout of the package (e.g. `git worktree add /tmp/b <commit>`): "
                                       "its strategic assessment is measured too, interleaved, cold and warm")
    args = ap.parse_args(argv)
    env = dict(os.environ)
    env.setdefault("ASSESSMENT_PSEUDONYM_KEY", "bench-key-not-for-real-data")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench_strategic_"))
    work.mkdir(parents=True, exist_ok=True)
    part = work / f"scale_{args.scale:g}_seed_{args.seed}"
    meta = part / "partnership.json"
    if meta.exists():
        info = json.loads(meta.read_text())
        print(f"reusing {part} ({info['street_rows']:,} street rows)", flush=True)
    else:
        t0 = time.perf_counter()
        info = write_large_partnership(part, args.scale, args.seed)
        print(f"wrote {part}: {info['street_rows']:,} street rows, {info['residents']:,} residents "
              f"in {time.perf_counter() - t0:.1f} s", flush=True)
    if args.generate_only:
        return
    if args.profile:
        profile_cells(Path(info["catalogue"]), work / "profile_out")
        return
    import pyarrow as pa
    import pyarrow.csv as pacsv

    import pandas
    import geopandas
    import shapely

    catalogue = Path(info["catalogue"])
    cache = catalogue.parent / ".assessment-cache"
    rows: list[tuple[str, float, str, str, str]] = []

    def record(label: str, fn) -> dict:
        before = _load()
        result = fn()
        after = _load()
        peak = result.get("kernel_peak_mib")
        cpu = result.get("cpu_seconds")
        rows.append((label, result["wall_seconds"], f"{cpu:,.1f}" if cpu is not None else "",
                     f"{peak:,.0f}" if peak else "", before, after))
        print(f"{label}: {result['wall_seconds']:.1f} s, CPU {cpu or 0:.1f} s, peak {peak or 0:,.0f} MiB "
              f"(load {before} -> {after})", flush=True)
        return result

    def bare() -> dict:
        t0 = time.perf_counter()
        c0 = time.process_time()
        n = sum(pacsv.read_csv(f, convert_options=pacsv.ConvertOptions(strings_can_be_null=False)).num_rows
                for f in info["street_files"])
        return {"wall_seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0, "rows": n}

    trivial_dir = work / "trivial"
    trivial_dir.mkdir(exist_ok=True)
    src = trivial_dir / "trivial.ipynb"
    src.write_text(json.dumps(_TRIVIAL))

    def trivial() -> dict:
        return _subprocess(_TRIVIAL_CHILD.format(src=str(src), dst=str(trivial_dir / "out.ipynb")), env)

    def document(cold: bool, root: Path = ROOT) -> dict:
        if cold and cache.exists():
            shutil.rmtree(cache)
        out = work / f"out_{'cold' if cold else 'warm'}{'' if root == ROOT else '_baseline'}"
        child_env = dict(env, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        return _subprocess(_CHILD.format(root=str(root), document="strategic_assessment",
                                         catalogue=str(catalogue), out=str(out)), child_env)

    baseline = Path(args.baseline).resolve() if args.baseline else None

    for r in range(args.rounds):
        tag = f" (round {r + 1})" if args.rounds > 1 else ""
        record(f"anchor: bare pyarrow.csv.read_csv of the {len(info['street_files'])} street files{tag}", bare)
        record(f"anchor: trivial notebook, papermill + nbconvert, subprocess{tag}", trivial)
        record(f"strategic assessment, run_document, cold cache{tag}", lambda: document(True))
        record(f"strategic assessment, run_document, warm cache{tag}", lambda: document(False))
        if baseline is not None:
            record(f"baseline ({baseline.name}): strategic assessment, cold cache{tag}",
                   lambda: document(True, baseline))
            record(f"baseline ({baseline.name}): strategic assessment, warm cache{tag}",
                   lambda: document(False, baseline))

    print()
    print("### " + (args.label or "Run"))
    print()
    print(f"`benchmarks/bench_strategic.py --scale {args.scale:g}`: one synthetic partnership, "
          f"{info['street_rows']:,} street rows ({info['outcome_rows']:,} outcome rows), {info['residents']:,} "
          "residents; strategic assessment only, HTML only, offline. Peak = largest child's RSS (the kernel). "
          "Load: 1/5/15-minute load average before -> after.")
    print()
    print(f"Machine: {machine_description(pandas, pa, geopandas, shapely)}.")
    print()
    print("| step | seconds | CPU seconds | peak MiB | load before | load after |")
    print("|---|---:|---:|---:|---|---|")
    for label, seconds, cpu, peak, before, after in rows:
        print(f"| {label} | {seconds:,.1f} | {cpu} | {peak} | {before} | {after} |")
    if not args.dir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
