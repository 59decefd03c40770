"""Benchmark: police street intake throughput vs a bare pandas read (not a test).

Generates synthetic data.police.uk street files (default 2,000,000 rows, exact
street columns, ~25% ASB rows without Crime ID, ~5% rows without coordinates) in a
temporary folder, with the coordinates either ``snapped`` to 50,000 map points as on
data.police.uk, or ``distinct``: random floats at data.police.uk's 6 decimal places
over the same partnership-sized box, so nearly every row's pair is its own. For each
file it times, each in a fresh subprocess so peak memory (``ru_maxrss``) is its own,
interleaved (bare, intake, bare, intake, ... over the files in turn):

- ``bare``: ``pandas.read_csv(path, engine="pyarrow")`` (the anchor of the goal, as since the
  first intake benchmark: a data frame, as intake returns);
- ``arrow``: ``pyarrow.csv.read_csv(path)`` with its defaults, a second anchor reported beside
  it (an Arrow table only: no pandas frame, so faster than ``bare``); its ratios are
  ``ratio_vs_arrow_*``;
- ``floor``: only the two steps of intake that no intake can skip, the read (as intake reads:
  ``read_dataset``) and the coordinate conversion (``to_bng``), in sequence as intake does them; its
  time against the anchors shows how much of the ratio the rest of intake (dates, categories,
  duplicate checks, quality accounting, assembly) takes, and what is left once those two are done;
- ``intake``: ``assessment.intake.harmonise.intake_dataset`` through a catalogue
  pointing at the file (read, dates, coordinates to EPSG:27700, category map,
  duplicate checks, quality accounting).

Modules are imported before the clock starts in both modes (the ``assessment``
import time is reported apart, as ``import_seconds``, and in
``ratio_best_with_imports``). Wall and CPU seconds, best and median of the
repeats, and the load average are reported, since the machine may be shared.

With ``--baseline DIR`` a third mode, ``baseline``, times the intake of the package
at DIR (e.g. a ``git worktree`` of an older commit) in the same interleaved rounds.

Run: ``.venv/bin/python benchmarks/bench_intake.py [--rows N] [--repeat K] [--keep DIR]
[--coords {snapped,distinct,both}] [--baseline DIR]``.
The goal (issue 14) is intake within 1.5x the bare read, on both files.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from machine import machine_description  # benchmarks/machine.py

CRIME_TYPES = ["Anti-social behaviour", "Violence and sexual offences", "Shoplifting", "Other theft", "Burglary",
               "Vehicle crime", "Criminal damage and arson", "Public order", "Drugs", "Theft from the person",
               "Bicycle theft", "Robbery", "Possession of weapons", "Other crime"]
WEIGHTS = np.array([25, 30, 8, 8, 5, 6, 6, 4, 2, 2, 1, 1, 1, 1], dtype=float)
OUTCOMES = ["Investigation complete; no suspect identified", "Unable to prosecute suspect", "Under investigation",
            "Status update unavailable", "Offender given a caution", "Awaiting court outcome"]


COORDS = ("snapped", "distinct")


def generate(path: Path, rows: int, seed: int = 1, coords: str = "snapped") -> None:
    """Write a data.police.uk-like street CSV of ``rows`` rows (vectorised).

    ``coords='snapped'``: every location is one of 50,000 map points; ``'distinct'``:
    each row's longitude and latitude are drawn afresh (6 decimal places, as
    data.police.uk writes them) over the same box, so pairs almost never repeat.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    n_points = 50_000
    px = np.round(rng.uniform(-1.60, -1.38, n_points), 6)
    py = np.round(rng.uniform(52.40, 52.51, n_points), 6)
    streets = np.array([f"On or near Street {i:05d}" for i in range(n_points)], dtype=object)
    lsoa = np.array([f"E01{900000 + i:06d}" for i in range(1000)], dtype=object)
    lsoa_names = np.array([f"Riverton {i // 5 + 1:03d}{'ABCDE'[i % 5]}" for i in range(1000)], dtype=object)
    months = np.array([f"{2023 + m // 12}-{m % 12 + 1:02d}" for m in range(36)], dtype=object)
    point = rng.integers(0, n_points, rows)
    ctype = rng.choice(len(CRIME_TYPES), rows, p=WEIGHTS / WEIGHTS.sum())
    asb = ctype == 0
    ids = pa.array(np.frombuffer(rng.bytes(32 * rows).hex().encode(), dtype="S64")).cast(pa.string())
    ids = pa.compute.if_else(pa.array(asb), pa.scalar(None, pa.string()), ids)
    no_loc = rng.random(rows) < 0.05
    if coords == "distinct":
        lon = np.where(no_loc, np.nan, np.round(rng.uniform(-1.60, -1.38, rows), 6))
        lat = np.where(no_loc, np.nan, np.round(rng.uniform(52.40, 52.51, rows), 6))
    elif coords == "snapped":
        lon = np.where(no_loc, np.nan, px[point])
        lat = np.where(no_loc, np.nan, py[point])
    else:
        raise ValueError(f"`coords` must be one of {list(COORDS)}, got {coords!r}")
    area = rng.integers(0, 1000, rows)
    outcome = np.array(OUTCOMES, dtype=object)[rng.integers(0, len(OUTCOMES), rows)]
    outcome = np.where(asb, None, outcome)
    table = pa.table({
        "Crime ID": ids,
        "Month": pa.array(months[np.sort(rng.integers(0, 36, rows))]),
        "Reported by": pa.array(np.full(rows, "Riverton Police", dtype=object)),
        "Falls within": pa.array(np.full(rows, "Riverton Police", dtype=object)),
        "Longitude": pa.array(lon, mask=no_loc),
        "Latitude": pa.array(lat, mask=no_loc),
        "Location": pa.array(np.where(no_loc, "No location", streets[point])),
        "LSOA code": pa.array(np.where(no_loc, None, lsoa[area])),
        "LSOA name": pa.array(np.where(no_loc, None, lsoa_names[area])),
        "Crime type": pa.array(np.array(CRIME_TYPES, dtype=object)[ctype]),
        "Last outcome category": pa.array(outcome),
        "Context": pa.array(np.full(rows, None, dtype=object), type=pa.string()),
    })
    pacsv.write_csv(table, path, write_options=pacsv.WriteOptions(quoting_style="none"))


def write_catalogue(folder: Path) -> Path:
    """A catalogue copy whose police_street points at ``folder``; other datasets dropped."""
    import yaml

    from assessment.paths import DEMO_CATALOGUE

    raw = yaml.safe_load(DEMO_CATALOGUE.read_text(encoding="utf-8"))
    street = raw["datasets"]["police_street"]
    street["path"] = "*/*-street.csv"
    raw["data_root"] = str(folder)
    raw["datasets"] = {"police_street": street}
    raw["series_breaks"] = []
    target = folder / "data_catalogue.yaml"
    target.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return target


def run_one(mode: str, path: Path, catalogue: Path | None) -> dict:
    """Time one mode in this process; return seconds, CPU seconds, rows and peak RSS.

    Module imports are done before the clock starts in both modes (pandas and pyarrow
    for ``bare``; also the ``assessment`` modules for ``intake``, whose import time is
    reported separately as ``import_seconds``): the comparison is of the work on the file.
    The ``intake`` time covers loading the catalogue and ``intake_dataset``.
    """
    import resource

    import pandas as pd
    import pyarrow.csv as pacsv

    t_import = time.perf_counter()
    if mode in ("intake", "baseline", "floor"):
        from assessment.catalogue import load_catalogue
        from assessment.intake.coords import prepare_transform, to_bng
        from assessment.intake.harmonise import intake_dataset, read_dataset
    import_seconds = time.perf_counter() - t_import
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = usage0.ru_utime + usage0.ru_stime
    t0 = time.perf_counter()
    if mode == "bare":
        frame = pd.read_csv(path, engine="pyarrow")
        rows = len(frame)
    elif mode == "arrow":
        rows = pacsv.read_csv(path).num_rows
    elif mode == "floor":
        import threading

        cat = load_catalogue(catalogue, check_files=False)
        c = cat.dataset("police_street").coordinates
        warm = threading.Thread(target=prepare_transform, args=(c.crs,))  # as intake: PROJ set up during the read
        warm.start()
        raw = read_dataset(cat, "police_street")
        warm.join()
        to_bng(raw[c.x], raw[c.y], c.crs)
        rows = len(raw)
    else:
        cat = load_catalogue(catalogue, check_files=False)
        res = intake_dataset(cat, "police_street", run_date="2025-06-01")
        rows = res.quality["rows_read"]
        assert res.quality["rows_read"] == res.quality["rows_accepted"] + res.quality["rows_quarantined"]
    seconds = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu0
    return {"mode": mode, "seconds": seconds, "cpu_seconds": cpu, "import_seconds": import_seconds,
            "rows": int(rows), "peak_mib": usage.ru_maxrss / 1024}


def machine() -> str:
    import pandas as pd
    import pyarrow as pa
    import pyproj

    return machine_description(np, pd, pa, pyproj)


def _prepare(folder: Path, rows: int, coords: str) -> tuple[Path, Path]:
    """The street file of one kind under ``folder/coords`` (generated unless already there) and its catalogue."""
    sub = folder / coords
    (sub / "2025-01").mkdir(parents=True, exist_ok=True)
    path = sub / "2025-01" / "2025-01-riverton-street.csv"
    stamp = sub / f".rows-{rows}"
    if not (path.is_file() and stamp.is_file()):
        for old in sub.glob(".rows-*"):
            old.unlink()
        t0 = time.perf_counter()
        generate(path, rows, coords=coords)
        stamp.write_text("generated by bench_intake.py\n", encoding="utf-8")
        print(f"generated {rows:,} rows, coordinates {coords} ({path.stat().st_size / 1024**2:.0f} MiB) "
              f"in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return path, write_catalogue(sub)


def _summary(runs: list[dict]) -> dict:
    best = min(runs, key=lambda x: x["seconds"])
    return {"best_seconds": round(best["seconds"], 2),
            "median_seconds": round(float(np.median([x["seconds"] for x in runs])), 2),
            "best_cpu_seconds": round(min(x["cpu_seconds"] for x in runs), 2),
            "rows_per_second": round(best["rows"] / best["seconds"]),
            "peak_rss_mib": round(max(x["peak_mib"] for x in runs)),
            "all_seconds": [round(x["seconds"], 2) for x in runs],
            "median_import_seconds": round(float(np.median([x["import_seconds"] for x in runs])), 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", help="folder to write the generated files to and reuse on later runs "
                                       "(default: a temporary folder, removed afterwards)")
    parser.add_argument("--coords", choices=[*COORDS, "both"], default="both",
                        help="which file(s) to measure: coordinates snapped to map points, distinct, or both "
                             "(interleaved in one run)")
    parser.add_argument("--baseline", help="also time the intake of the package at this folder (e.g. a git "
                                           "worktree of an older commit), interleaved")
    parser.add_argument("--one", choices=["bare", "arrow", "floor", "intake", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--catalogue", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one, Path(args.path), Path(args.catalogue) if args.catalogue else None)))
        return 0
    kinds = list(COORDS) if args.coords == "both" else [args.coords]
    modes = ["bare", "arrow", "floor", "intake"] + (["baseline"] if args.baseline else [])
    envs = {m: dict(os.environ) for m in modes}
    if args.baseline:
        envs["baseline"]["PYTHONPATH"] = str(Path(args.baseline).resolve())
    with tempfile.TemporaryDirectory(prefix="bench_intake_") as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        files = {k: _prepare(folder, args.rows, k) for k in kinds}
        load_before = [round(x, 2) for x in os.getloadavg()]
        t_start = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        results: dict[str, dict[str, list[dict]]] = {k: {m: [] for m in modes} for k in kinds}
        for _ in range(args.repeat):
            for k in kinds:
                path, catalogue = files[k]
                for mode in modes:
                    out = subprocess.run([sys.executable, __file__, "--one", mode, "--path", str(path),
                                          "--catalogue", str(catalogue)], capture_output=True, text=True,
                                         check=True, env=envs[mode])
                    results[k][mode].append(json.loads(out.stdout.strip().splitlines()[-1]))
        report = {"machine": machine(), "started": t_start, "load_before": load_before,
                  "load_after": [round(x, 2) for x in os.getloadavg()], "rows": args.rows,
                  "repeats": args.repeat}
        for k in kinds:
            path = files[k][0]
            res = results[k]
            part = {"file_mib": round(path.stat().st_size / 1024**2, 1)}
            for m in modes:
                part[m] = _summary(res[m])
            for m in modes[2:]:  # floor, intake (and baseline) against both anchors
                for anchor, prefix in (("bare", "ratio"), ("arrow", "ratio_vs_arrow")):
                    tag = {"intake": "", "floor": "_floor", "baseline": "_baseline"}[m]
                    part[f"{prefix}{tag}_best"] = round(part[m]["best_seconds"] / part[anchor]["best_seconds"], 2)
                    part[f"{prefix}{tag}_median"] = round(
                        part[m]["median_seconds"] / part[anchor]["median_seconds"], 2)
                    part[f"{prefix}{tag}_paired_median"] = round(float(np.median(
                        [i["seconds"] / b["seconds"] for b, i in zip(res[anchor], res[m])])), 2)
            part["ratio_best_with_imports"] = round(
                min(x["seconds"] + x["import_seconds"] for x in res["intake"]) / part["bare"]["best_seconds"], 2)
            report[k] = part
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
