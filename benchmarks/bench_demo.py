"""Benchmark: ``assess demo`` (what ``make demo`` runs) against one trivial papermill + nbconvert run.

Not a test. Run::

    .venv/bin/python benchmarks/bench_demo.py [--repeat 3] [--html-only] [--cold]

Each measurement runs as a fresh subprocess, interleaved with its anchor in the same round:

- ``anchor``: a notebook of one parameters cell and one code cell, executed by papermill in its
  own kernel and rendered to HTML by nbconvert: the floor of any document's whole process;
- ``demo``: ``python -m assessment.cli demo`` into a temporary folder (six documents and the
  index; with the PDF and Word versions unless ``--html-only``), the demo's raw files already
  built. With ``--cold`` the workbench cache beside the demo catalogue is removed first, so
  intake and geography run again (the first ``make demo`` on a fresh clone also writes the raw
  files, which the script times once, apart).

Wall seconds; CPU seconds of the process and its children; peak memory as the largest sum of
proportional set sizes (PSS) over the whole process tree (the CLI, its kernel, headless Chromium),
sampled every 0.1 s with psutil; and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ANCHOR = r'''
import sys, nbformat, papermill as pm
from nbconvert import HTMLExporter
nb = nbformat.v4.new_notebook()
p = nbformat.v4.new_code_cell("x = 1")
p.metadata["tags"] = ["parameters"]
nb.cells = [p, nbformat.v4.new_code_cell("print(x + 1)")]
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
src, out = sys.argv[1] + "/in.ipynb", sys.argv[1] + "/out.ipynb"
nbformat.write(nb, src)
pm.execute_notebook(src, out, parameters={"x": 2}, kernel_name="python3", progress_bar=False)
body, _ = HTMLExporter().from_notebook_node(nbformat.read(out, as_version=4))
open(sys.argv[1] + "/out.html", "w").write(body)
'''


def _load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def _tree_rss(proc: psutil.Process) -> int:
    """Memory of the process tree: the sum of proportional set sizes (PSS), so that pages the
    processes share (Chromium's renderers, the libraries of the kernel and the CLI) count once;
    the sum of resident sets where PSS cannot be read."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            try:
                total += p.memory_full_info().pss
            except (AttributeError, psutil.AccessDenied):
                total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def measure(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, float | str]:
    """Run ``cmd``; return wall and CPU seconds, peak RSS of its process tree (MiB), load before/after."""
    before = _load()
    t0 = time.perf_counter()
    c0 = os.times()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ps = psutil.Process(proc.pid)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            try:
                peak[0] = max(peak[0], _tree_rss(ps))
            except psutil.NoSuchProcess:
                break
            time.sleep(0.1)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    _, err = proc.communicate()
    watcher.join()
    wall = time.perf_counter() - t0
    c1 = os.times()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {err.decode(errors='replace')[-2000:]}")
    cpu = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
    return {"wall": wall, "cpu": cpu, "peak_mib": peak[0] / 2**20, "before": before, "after": _load()}


def main(argv: list[str] | None = None) -> None:
    import nbconvert
    import pandas
    import papermill

    from assessment import paths
    from machine import machine_description  # benchmarks/machine.py

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--html-only", action="store_true", help="skip the PDF and Word versions")
    ap.add_argument("--cold", action="store_true", help="remove the workbench cache before each demo run")
    args = ap.parse_args(argv)
    env = dict(os.environ)
    env.setdefault("ASSESSMENT_PSEUDONYM_KEY", "riverton-demo-key-not-for-real-data")
    work = Path(tempfile.mkdtemp(prefix="bench_demo_"))
    demo = [sys.executable, "-m", "assessment.cli", "demo", "--out", str(work / "out")]
    if args.html_only:
        demo.append("--html-only")
    cache = paths.DEMO_CATALOGUE.parent / ".assessment-cache"
    rows = []
    if not (paths.DEMO_RAW_DIR / ".seed").is_file():
        r = measure([sys.executable, "-m", "assessment.cli", "generate-demo"], env)
        rows.append(("writing the demo's raw files (once)", r))
    for i in range(args.repeat):
        (work / "anchor").mkdir(exist_ok=True)
        rows.append(("anchor: one trivial papermill + nbconvert run",
                     measure([sys.executable, "-c", ANCHOR, str(work / "anchor")], env)))
        if args.cold and cache.exists():
            shutil.rmtree(cache)
        label = f"`assess demo`{' --html-only' if args.html_only else ' (HTML, PDF, Word)'}" \
                f"{', cold cache' if args.cold else ', warm cache'}"
        rows.append((label, measure(demo, env)))
        print(rows[-2], rows[-1], flush=True)
    print()
    print(f"Machine: {machine_description(pandas, papermill, nbconvert)}.")
    print()
    print("| run | wall (s) | CPU (s) | peak memory, whole process tree, PSS (MiB) | load before | load after |")
    print("|---|---:|---:|---:|---|---|")
    for label, r in rows:
        print(f"| {label} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['peak_mib']:,.0f} | {r['before']} | {r['after']} |")
    demos = [r for label, r in rows if label.startswith("`assess demo`")]
    anchors = [r for label, r in rows if label.startswith("anchor")]
    print()
    print(f"Best demo {min(r['wall'] for r in demos):.1f} s (median {sorted(r['wall'] for r in demos)[len(demos) // 2]:.1f} s), "
          f"best anchor {min(r['wall'] for r in anchors):.1f} s; largest peak {max(r['peak_mib'] for r in demos):,.0f} MiB.")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
