"""Many partnerships in one command: ``assess batch`` on Dask distributed.

How a batch runs:

1. Every catalogue is loaded (one that cannot be loaded is reported as that partnership's
   failure, and the others go on). Partnerships are grouped by their force
   (``partnership.force``). A local cluster starts meanwhile.
2. **Staging, once per force.** The data.police.uk files that the force's partnerships name
   (street and outcomes) are read once and written to a partitioned Parquet store,
   ``<out>/_batch/store/<kind>/force=<force>/month=<YYYY-MM>/``, every column kept as the text
   that was downloaded, plus the parsed coordinates for filtering. A force whose files are
   unchanged (same SHA-256) is not staged again.
3. **One task per partnership** on the Dask cluster: it reads only its own rows from the store
   (the force partition, filtered to the bounding box of its boundary widened by
   ``edge_buffer_m`` and a kilometre), writes them as its own monthly data.police.uk files in a
   private input folder beside a copy of its other input files and a copy of its catalogue
   pointing at them, then renders its documents with
   :func:`assessment.reporting.execute.run_edition` into ``<out>/<code>/`` (atomic publishing,
   one lock per folder). Rows beyond the box are left out (the documents' own clipping then
   applies to the rest).
   **Rows without a location** (data.police.uk publishes some crimes with none) follow the one
   rule a single partnership's run (``assess run``) follows, set by the police datasets'
   ``covers`` in the catalogue: every partnership is given its force's rows without
   coordinates, and its intake decides. With ``covers: partnership`` (the default: files of the
   partnership's area only, e.g. fetched for its boundary, or a force whose area is the
   partnership's) they are its own, kept as "not geocoded" and counted in its totals; with
   ``covers: force`` (a force area shared with other partnerships) they cannot be placed in
   it, are quarantined as "coordinates missing" (counted in its data-quality document) and
   are in none of its totals. So a partnership gets the same totals from the batch as from a
   run of its catalogue alone. Since a force's files are staged once for all its
   partnerships in the batch, a partnership whose catalogue says ``covers: partnership``
   while another partnership of the batch names the same force fails at once, saying so
   (each would count the other's rows without a location as its own).
   **One warm kernel per worker** (:class:`WarmKernels`): every worker thread keeps one Jupyter
   kernel across its partnerships, so the libraries and the package are imported once per
   worker, not once per partnership. After each partnership the kernel's namespace is cleared
   (nothing of one partnership is visible to the next: every notebook opens its own catalogue
   and the package keeps no cache of partnerships in memory); the kernel is restarted after a
   failure and when its memory passes ``kernel_memory_mb``, and shut down when the worker
   closes (:class:`WarmKernelPlugin`).
   **Order and pace** (:class:`_Dispatch`): the forces are staged first, then the partnerships
   whose force is staged, the largest first (by the bytes of their own input files), so that
   the last to finish are the shortest. The batch hands the cluster only as many tasks as it
   has worker threads (:func:`_in_flight_limit`) and the next one as each ends: a task queued
   behind a busy worker could leave another idle at the end. Each partnership's start, end
   and worker go into ``batch_summary.csv``.
4. **Resume.** After a partnership succeeds its state (the SHA-256 over its catalogue, its other
   input files, its force's police files, the documents, the package version and a fingerprint of
   the workbench's code, :func:`code_fingerprint`) is written to
   ``<out>/_batch/<code>/state.json``; a rerun skips a partnership whose state matches and whose
   documents are all in place.
5. **National comparison.** Each task also counts its located police rows inside its boundary by
   crime type (and its rows without a location when they are its own, as above);
   ``<out>/national_comparison.csv`` holds every partnership's counts and rates (read it with
   :func:`read_national_comparison`), and ``<out>/batch_summary.csv`` each partnership's status
   and message.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import heapq
import json
import os
import shutil
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from .checks import check_type

__all__ = ["BATCH_DOCUMENTS", "BatchOutcome", "code_fingerprint", "find_catalogues", "run_batch", "read_national_comparison",
           "stage_force", "COMPARISON_COLUMNS", "WarmKernels", "WarmKernelPlugin", "KERNEL_MEMORY_MB"]

#: Document stems a batch can render: stem -> (document, notebook parameters).
BATCH_DOCUMENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "strategic_assessment": ("strategic_assessment", {}),
    "problem_profile_violence": ("problem_profile", {"topic": "violence"}),
    "problem_profile_burglary": ("problem_profile", {"topic": "burglary"}),
    "audit": ("audit", {}),
    "evaluation": ("evaluation", {}),
    "data_quality": ("data_quality", {}),
}
#: The data.police.uk formats staged in the store, and the file suffix of each.
STAGED_FORMATS = {"police_uk_street": "street", "police_uk_outcomes": "outcomes"}
#: Columns of the national comparison table.
COMPARISON_COLUMNS = ["partnership_code", "partnership_name", "force", "first_month", "last_month", "months",
                      "residents", "category", "count", "rate_per_1000_per_year"]
_LON, _LAT = "_lon", "_lat"
_BOX_MARGIN_M = 1000.0
#: Default memory (resident set of the kernel process, MiB) above which a worker's warm kernel is
#: restarted after a partnership.
KERNEL_MEMORY_MB = 2048

#: Run in a warm kernel after each partnership: release the last document the display layer
#: recorded, close figures, forget every name and output the notebooks left (IPython's reset) and
#: collect, so that the next partnership starts from the imported libraries only. What survives
#: the first partnership (modules, their constants) is then frozen out of the garbage collector's
#: reach: later collections, in the reset and during the next partnership's analysis, skip those
#: objects. Only once: bounded caches filled later stay collectable when they let an entry go.
_RESET_CODE = """\
import sys as _sys
if "assessment.reporting.display" in _sys.modules:
    _sys.modules["assessment.reporting.display"].record_shown(None)
if "matplotlib.pyplot" in _sys.modules:
    _sys.modules["matplotlib.pyplot"].close("all")
if "assessment.reporting.workbench" in _sys.modules:
    _sys.modules["assessment.reporting.workbench"].forget_loaded_workbench()
get_ipython().reset(new_session=False)
import gc as _gc
_gc.collect()
if _gc.get_freeze_count() == 0:
    _gc.freeze()
del _gc
"""


class WarmKernels:
    """One warm Jupyter kernel per thread of a process (a Dask worker runs one per thread).

    Parameters
    ----------
    memory_mb : float
        After a partnership, a kernel whose resident memory (with its children) exceeds this
        many MiB is restarted.

    Notes
    -----
    ``kernel()`` gives the calling thread's kernel, starting it when there is none or it died;
    ``finished(ok)`` clears its namespace after a success, or restarts it after a failure or
    when it grew past the limit; ``shutdown()`` stops every kernel (the worker is closing).
    """

    def __init__(self, memory_mb: float = KERNEL_MEMORY_MB) -> None:
        self.memory_mb = float(memory_mb)
        self._kernels: dict[int, Any] = {}
        self._lock = threading.Lock()
        self.starts = 0
        self.restarts = 0

    def kernel(self) -> Any:
        """The calling thread's started kernel manager."""
        from .reporting.execute import start_kernel

        ident = threading.get_ident()
        with self._lock:
            km = self._kernels.get(ident)
        if km is not None and km.has_kernel and km.is_alive():
            return km
        if km is not None:
            self._stop(km)
        km = start_kernel()
        self.starts += 1
        with self._lock:
            self._kernels[ident] = km
        return km

    def current(self) -> Any:
        """The calling thread's kernel manager if it has one (without starting one), else None."""
        with self._lock:
            return self._kernels.get(threading.get_ident())

    @staticmethod
    def cpu_seconds_of(km: Any) -> tuple[int | None, float]:
        """The kernel's process id and the CPU seconds it has used so far ((None, 0.0) when unknown)."""
        import psutil

        pid = getattr(getattr(km, "provisioner", None), "pid", None) if km is not None else None
        if pid is None:
            return None, 0.0
        try:
            t = psutil.Process(pid).cpu_times()
        except psutil.Error:
            return None, 0.0
        return pid, t.user + t.system

    def memory_mb_of(self, km: Any) -> float:
        """Resident memory of the kernel process and its children, in MiB (NaN when unknown)."""
        import psutil

        pid = getattr(getattr(km, "provisioner", None), "pid", None)
        if pid is None:
            return float("nan")
        try:
            proc = psutil.Process(pid)
            rss = proc.memory_info().rss
            for child in proc.children(recursive=True):
                try:
                    rss += child.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            return float("nan")
        return rss / 2**20

    def finished(self, ok: bool) -> str:
        """Prepare the calling thread's kernel for the next partnership; say what was done.

        Returns ``'cleared'``, ``'restarted'`` (after a failure, a failed clearing or memory
        past the limit) or ``'none'`` (the thread has no kernel). A kernel whose memory cannot be
        read (:meth:`memory_mb_of` is NaN: its process is not on this machine or has no known
        process id) is kept: restarting it after every partnership would lose the warm start.
        """
        with self._lock:
            km = self._kernels.get(threading.get_ident())
        if km is None:
            return "none"
        if ok and km.is_alive():
            try:
                self._execute(km, _RESET_CODE)
                if not self.memory_mb_of(km) > self.memory_mb:
                    return "cleared"
            except Exception:  # a kernel that cannot clear itself is replaced
                pass
        self._restart(km)
        return "restarted"

    def shutdown(self) -> None:
        """Shut down every kernel of this process."""
        with self._lock:
            kernels, self._kernels = list(self._kernels.values()), {}
        for km in kernels:
            self._stop(km)

    def _restart(self, km: Any) -> None:
        """Replace the kernel: shut it down; the next :meth:`kernel` call starts a new one.

        A new kernel manager (new ports and context) rather than a restart in place, which on a
        loaded machine sometimes left the new process unreachable.
        """
        with self._lock:
            for key, held in list(self._kernels.items()):
                if held is km:
                    del self._kernels[key]
        self._stop(km)
        self.restarts += 1

    @staticmethod
    def _stop(km: Any) -> None:
        try:
            km.shutdown_kernel(now=True)
        except Exception:  # already gone
            pass

    @staticmethod
    def _execute(km: Any, code: str, timeout: float = 120.0) -> None:
        """Run ``code`` in the kernel and wait for its reply on the shell channel (no output is read)."""
        kc = km.client()
        kc.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
        try:
            msg_id = kc.execute(code, silent=True, store_history=False)
            deadline = time.monotonic() + timeout
            while True:
                reply = kc.get_shell_msg(timeout=max(deadline - time.monotonic(), 0.01))
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
            content = reply["content"]
            if content.get("status") != "ok":
                raise RuntimeError(f"kernel reset must succeed, got {content.get('ename')}: {content.get('evalue')}")
        finally:
            kc.stop_channels()


#: This process's warm kernels (a Dask worker process's, or the caller's without Dask).
_WARM = WarmKernels()


def _warm_kernels() -> WarmKernels:
    return _WARM


try:
    from distributed.diagnostics.plugin import WorkerPlugin as _WorkerPlugin
except ImportError:  # Dask is a dependency; this keeps the module importable without it
    _WorkerPlugin = object


class WarmKernelPlugin(_WorkerPlugin):
    """Dask worker plugin: sets the memory limit of the worker's warm kernels, shuts them down at close."""

    idempotent = True
    name = "assessment-warm-kernels"

    def __init__(self, memory_mb: float = KERNEL_MEMORY_MB) -> None:
        self.memory_mb = float(memory_mb)

    def setup(self, worker: Any) -> None:
        _WARM.memory_mb = self.memory_mb

    def teardown(self, worker: Any) -> None:
        _WARM.shutdown()


@dataclasses.dataclass
class BatchOutcome:
    """What happened to one partnership in a batch."""

    code: str
    catalogue: str
    status: str  # rendered, skipped or failed
    message: str = ""
    seconds: float = 0.0
    out_dir: str = ""
    #: CPU seconds the partnership took: the worker process (extraction, rendering the HTML,
    #: publishing) and its kernel (the notebook), NaN when not known.
    cpu_seconds: float = float("nan")
    #: When the partnership's task started and finished, in seconds from the start of the batch
    #: (NaN when it did not run); with ``worker``, the batch's timeline.
    started: float = float("nan")
    finished: float = float("nan")
    #: The worker (process) that ran it, empty when it did not run.
    worker: str = ""



_CODE_PARTS = (("assessment", "*.py"), ("assessment/data", "*"), ("notebooks", "*.ipynb"), ("templates", "*"))


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 over the workbench's own code: the package's modules and data, the notebooks and
    the templates (paths relative to the project, then bytes). A partnership rendered by other
    code is rendered again on resume, whatever the version number says."""
    from .paths import NOTEBOOK_DIR, PACKAGE_DIR, TEMPLATE_DIR

    roots = {"assessment": PACKAGE_DIR, "assessment/data": PACKAGE_DIR / "data", "notebooks": NOTEBOOK_DIR,
             "templates": TEMPLATE_DIR}
    h = hashlib.sha256()
    for name, pattern in _CODE_PARTS:
        root = roots[name]
        if not root.is_dir():
            continue
        files = root.rglob(pattern) if name != "assessment/data" else root.glob(pattern)
        for f in sorted(p for p in files if p.is_file() and "__pycache__" not in p.parts):
            h.update(f"{name}/{f.relative_to(root).as_posix()}\0".encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def _sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def find_catalogues(source: str | Path) -> list[Path]:
    """The catalogues a batch renders.

    Parameters
    ----------
    source : path
        A folder (every ``*.yaml`` directly in it, and every ``data_catalogue.yaml`` below it)
        or a list file (one catalogue path a line, relative to the list file's folder; blank
        lines and lines starting with ``#`` are skipped).

    Returns
    -------
    list of pathlib.Path
        Resolved catalogue paths, without repeats, in a stable order.
    """
    check_type(source, "source", (str, Path))
    src = Path(source)
    if src.is_dir():
        found = sorted(src.glob("*.yaml")) + sorted(src.rglob("data_catalogue.yaml"))
    elif src.is_file():
        lines = [ln.strip() for ln in src.read_text(encoding="utf-8").splitlines()]
        found = [(src.parent / ln) for ln in lines if ln and not ln.startswith("#")]
    else:
        raise FileNotFoundError(f"batch source must be a folder of catalogues or a list file, got {str(src)!r}, "
                                "which does not exist")
    out: list[Path] = []
    for p in found:
        r = p.resolve()
        if r not in out:
            out.append(r)
    if not out:
        raise ValueError(f"batch source {str(src)!r} must name at least one catalogue, got none")
    return out


# --------------------------------------------------------------------------------------- staging

def _file_month(path: Path) -> str:
    """The month of a data.police.uk file, from its name (``YYYY-MM-force-kind.csv``) or its folder."""
    for text in (path.name[:7], path.parent.name):
        if len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit():
            return text
    return "unknown"


def _read_police_csv(path: Path):
    """One data.police.uk file as an Arrow table of text columns, plus parsed coordinates."""
    import csv

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    with open(path, encoding="utf-8-sig", newline="") as f:
        header = next(csv.reader([f.readline()]), [])
    if not header:
        return None
    table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={c: pa.string() for c in header}, strings_can_be_null=False))
    coords = []
    for col in ("Longitude", "Latitude"):
        if col in table.column_names:
            coords.append(_coordinates(table[col]))
        else:
            coords.append(pa.nulls(table.num_rows, type=pa.float64()))
    table = table.append_column(_LON, coords[0]).append_column(_LAT, coords[1])
    return table.append_column("month", pa.repeat(pa.scalar(_file_month(path), type=pa.string()), table.num_rows))


def _coordinates(text):
    """A column of coordinate text as float64, null where blank or not a number (as pandas' ``to_numeric``).

    Arrow's own parser when every non-blank value is a plain number (a data.police.uk file);
    otherwise pandas, which turns what it cannot read into a missing value.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    blank = pc.equal(pc.utf8_trim_whitespace(text), "")
    try:
        values = pc.cast(pc.if_else(blank, pa.scalar(None, type=pa.string()), text), pa.float64())
        return pc.if_else(pc.is_nan(values), pa.scalar(None, type=pa.float64()), values).combine_chunks()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = pd.to_numeric(text.to_pandas(), errors="coerce").to_numpy(dtype=float)
        return pa.array(values, type=pa.float64(), from_pandas=True)


def stage_force(force: str, files: dict[str, list[str]], store: str, digest: str) -> str:
    """Stage one force's data.police.uk files into the Parquet store (once; again only when changed).

    Parameters
    ----------
    force : str
        The force slug (the ``force=`` partition).
    files : dict of str to list of str
        Kind (``street``, ``outcomes``) to the files of that kind.
    store : str
        The store folder.
    digest : str
        SHA-256 over the files' own hashes; staging is skipped when the store already holds it.

    Returns
    -------
    str
        ``digest`` (so that partnership tasks can depend on it).
    """
    import pyarrow as pa
    import pyarrow.dataset as pads

    root = Path(store)
    marker = root / "_staged" / f"{force}.json"
    if marker.is_file() and json.loads(marker.read_text(encoding="utf-8")).get("digest") == digest:
        return digest
    marker.unlink(missing_ok=True)
    for kind, paths_ in files.items():
        part = root / kind / f"force={force}"
        if part.exists():
            shutil.rmtree(part)
        tables = [t for t in (_read_police_csv(Path(p)) for p in paths_) if t is not None]
        if not tables:
            continue
        table = pa.concat_tables(tables, promote_options="permissive")
        table = table.append_column("force", pa.array(np.full(table.num_rows, force), type=pa.string()))
        pads.write_dataset(table, root / kind, format="parquet", partitioning=["force", "month"],
                           partitioning_flavor="hive", existing_data_behavior="overwrite_or_ignore",
                           basename_template=f"{force}-{{i}}.parquet")
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"digest": digest, "files": files}, indent=1), encoding="utf-8")
    return digest


def _read_own_rows(store: Path, kind: str, force: str, box: tuple[float, float, float, float]):
    """The force's staged rows of ``kind`` whose coordinates fall in ``box`` (lon/lat), and its rows
    without coordinates (the partnership's intake decides whether they are its own: ``covers``)."""
    import pyarrow.dataset as pads

    folder = store / kind / f"force={force}"
    if not folder.is_dir():
        return None
    # The force's own folder only (``month=`` partitions): the other forces' files are not listed.
    ds = pads.dataset(folder, format="parquet", partitioning="hive")
    f = pads.field
    flt = ((f(_LON) >= box[0]) & (f(_LON) <= box[2]) & (f(_LAT) >= box[1]) & (f(_LAT) <= box[3])) \
        | f(_LON).is_null() | f(_LAT).is_null()
    return ds.to_table(filter=flt)


# ------------------------------------------------------------------------------------ one partnership

def _boundary_and_residents(cat) -> tuple[Any, float]:
    """The partnership's boundary (GeoSeries of one geometry) and its residents (NaN when unknown)."""
    import geopandas as gpd

    from .geography.registry import registry_from_catalogue, registry_version_at

    end = pd.Timestamp(cat.partnership.window.end) + pd.offsets.MonthEnd(0)
    key = "partnership" if "partnership" in cat.geographies else "wards"
    sa = cat.geographies.get("small_areas")
    # Only the two geographies needed (the documents read them all again).
    registry = registry_from_catalogue(cat, keys=[key] + (["small_areas"] if sa is not None else []))
    units = registry_version_at(registry, key, end).units
    boundary = gpd.GeoSeries([units.geometry.union_all()], crs=units.crs)
    residents = np.nan
    if sa is not None and sa.population is not None:
        small = registry_version_at(registry, "small_areas", end).units
        residents = float(pd.to_numeric(small[sa.population.total], errors="coerce").sum())
    return boundary, residents


def _place(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.unlink(missing_ok=True)
    try:
        dst.hardlink_to(src)
    except OSError:
        shutil.copy2(src, dst)


def _write_rows(table, folder: Path, force: str, kind: str) -> None:
    """Write staged rows back as data.police.uk monthly files (one per staged month)."""
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    keep = [c for c in table.column_names if c not in (_LON, _LAT, "month", "force")]
    months = table["month"]
    for month in sorted(pc.unique(months).to_pylist()):
        part = table.filter(pc.equal(months, month)).select(keep)
        target = folder / month / f"{month}-{force}-{kind}.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        pacsv.write_csv(part, target)


def _counts(table, boundary_wgs84, window: list[str], unlocated: bool = False) -> pd.DataFrame:
    """Street rows inside the boundary, by crime type, within the window's months; with ``unlocated``
    (the street files cover only the partnership's area) the rows without a location too."""
    import pyarrow.compute as pc
    import shapely

    if table is None or table.num_rows == 0 or "Crime type" not in table.column_names:
        return pd.DataFrame({"category": pd.Series(dtype=str), "count": pd.Series(dtype="int64")})
    lon = table[_LON].to_numpy(zero_copy_only=False)
    lat = table[_LAT].to_numpy(zero_copy_only=False)
    inside = shapely.contains_xy(boundary_wgs84, lon, lat)
    if unlocated:
        inside |= ~(np.isfinite(lon) & np.isfinite(lat))
    month = np.asarray(table["Month"].to_pylist() if "Month" in table.column_names else table["month"].to_pylist())
    inside &= np.isin(month, window)
    cats = pc.take(table["Crime type"], np.flatnonzero(inside)).to_pandas()
    counts = cats.value_counts().sort_index()
    return pd.DataFrame({"category": counts.index.astype(str), "count": counts.to_numpy(dtype="int64")})


def render_partnership(spec: dict[str, Any], staged: dict[str, str] | None = None) -> dict[str, Any]:
    """Extract one partnership's rows, render its documents and count its crimes (a Dask task).

    Runs in the calling process's warm kernel (:class:`WarmKernels`). ``staged`` is not read (the
    force's store must be staged before). Never raises: a failure comes back as
    ``status='failed'`` with its message.
    """
    t0, c0, wall0 = time.perf_counter(), time.process_time(), time.time()
    code = spec["code"]
    warm = _warm_kernels()
    warm.memory_mb = float(spec.get("kernel_memory_mb", warm.memory_mb))
    pid0, k0 = warm.cpu_seconds_of(warm.current())

    def cpu() -> float:  # this process's CPU, plus its kernel's (all of it when the kernel is new)
        pid1, k1 = warm.cpu_seconds_of(warm.current())
        return time.process_time() - c0 + (k1 - k0 if pid1 == pid0 else k1)

    try:
        comparison = _render(spec, warm)
        cpu_seconds = cpu()
        kernel = warm.finished(ok=True)
        return {"code": code, "status": "rendered", "message": "", "seconds": time.perf_counter() - t0,
                "cpu_seconds": cpu_seconds, "comparison": comparison, "kernel": kernel, "started_at": wall0,
                "finished_at": time.time(), "worker": _worker_name()}
    except Exception as exc:  # one partnership's failure must not stop the others
        message = str(exc).strip() or type(exc).__name__
        detail = traceback.format_exc(limit=-3)
        cpu_seconds = cpu()
        try:
            kernel = warm.finished(ok=False)
        except Exception:  # the next partnership starts a kernel afresh
            kernel = "lost"
        return {"code": code, "status": "failed", "message": f"{type(exc).__name__}: {message}",
                "detail": detail, "seconds": time.perf_counter() - t0, "cpu_seconds": cpu_seconds,
                "comparison": None, "kernel": kernel, "started_at": wall0, "finished_at": time.time(),
                "worker": _worker_name()}


def _worker_name() -> str:
    """The Dask worker running this task (its address), else this process's id."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


def _partnership_only(cat) -> list[str]:
    """The partnership's staged police datasets whose rows without a location are its own: with
    coordinates, files covering only its area (``covers: partnership``), coordinates not required."""
    return [key for key, ds in cat.datasets.items()
            if ds.format in STAGED_FORMATS and ds.coordinates is not None and ds.covers == "partnership"
            and not ds.require_coordinates]


def _owns_unlocated(cat) -> bool:
    """Whether the street rows without a location count as the partnership's (its street datasets
    cover only its area and do not require coordinates)."""
    street = {k for k, ds in cat.datasets.items() if ds.format == "police_uk_street" and ds.coordinates is not None}
    return bool(street) and street <= set(_partnership_only(cat))


def _extract(spec: dict[str, Any], cat) -> tuple[Path, Any, Any, float]:
    """Write the partnership's own input (its rows from the store, its other files) and derived catalogue.

    Returns the derived catalogue's path, the street rows given to it (an Arrow table or None),
    its boundary (GeoSeries) and its residents.
    """
    import yaml

    from .catalogue import safe_load_yaml

    work = Path(spec["work_dir"])
    inp = work / "input"
    if inp.exists():
        shutil.rmtree(inp)
    inp.mkdir(parents=True)
    data_dir = cat.data_dir
    police_keys = spec["police"]  # dataset key -> kind
    # The other input files, at the same place under the private data root.
    for f in spec["other_files"]:
        _place(Path(f), inp / Path(f).relative_to(data_dir))
    boundary, residents = _boundary_and_residents(cat)
    buffered = boundary.buffer(float(cat.partnership.edge_buffer_m) + _BOX_MARGIN_M).to_crs("EPSG:4326")
    box = tuple(float(v) for v in buffered.total_bounds)
    force = cat.partnership.force
    store = Path(spec["store"])
    street = None
    for kind in sorted(set(police_keys.values())):
        rows = _read_own_rows(store, kind, force, box)
        if rows is not None and rows.num_rows:
            _write_rows(rows, inp / "police", force, kind)
        if kind == "street":
            street = rows
    raw = safe_load_yaml(Path(spec["catalogue"]).read_text(encoding="utf-8"))
    raw["data_root"] = "input"
    for key, kind in police_keys.items():
        raw["datasets"][key]["path"] = f"police/*/*-{force}-{kind}.csv"
    for key in ("horizon_scan",):
        if raw.get(key):
            raw[key] = str((cat.root / raw[key]).resolve())
    if isinstance(raw.get("harm_weights"), dict) and raw["harm_weights"].get("file"):
        raw["harm_weights"]["file"] = str((cat.root / raw["harm_weights"]["file"]).resolve())
    derived = work / "data_catalogue.yaml"
    derived.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return derived, street, boundary, residents


def _render(spec: dict[str, Any], warm: WarmKernels | None = None) -> list[dict[str, Any]]:
    from .catalogue import load_catalogue
    from .reporting.execute import run_edition

    cat = load_catalogue(spec["catalogue"])
    work = Path(spec["work_dir"])
    force = cat.partnership.force
    derived, street, boundary, residents = _extract(spec, cat)
    # The documents run in the worker's warm kernel (started on its first partnership). The workbench
    # is cached only for the edition's later documents, and the cache removed once they are done.
    run_edition([(*BATCH_DOCUMENTS[stem], stem) for stem in spec["documents"]], derived, spec["out_dir"],
                offline=spec["offline"], exports=tuple(spec["exports"]),
                kernel=warm.kernel() if warm is not None else None, workbench_cache=len(spec["documents"]) > 1)
    shutil.rmtree(work / ".assessment-cache", ignore_errors=True)
    window = list(cat.partnership.window.months)
    counts = _counts(street, boundary.to_crs("EPSG:4326").iloc[0], window, unlocated=_owns_unlocated(cat))
    n_months = len(window)
    counts.insert(0, "partnership_code", cat.partnership.code)
    counts.insert(1, "partnership_name", cat.partnership.short_name)
    counts.insert(2, "force", force)
    counts.insert(3, "first_month", window[0])
    counts.insert(4, "last_month", window[-1])
    counts.insert(5, "months", n_months)
    counts.insert(6, "residents", residents)
    counts["rate_per_1000_per_year"] = counts["count"] / residents * 1000.0 * 12.0 / n_months \
        if residents and residents > 0 else np.nan
    counts = counts[COMPARISON_COLUMNS]
    counts.to_csv(work / "comparison.csv", index=False)
    state = {"input_hash": spec["input_hash"], "documents": spec["documents"], "finished": time.time()}
    (work / "state.json").write_text(json.dumps(state, indent=1), encoding="utf-8")
    return counts.to_dict("records")


# --------------------------------------------------------------------------------------- the batch

def _complete(spec: dict[str, Any]) -> bool:
    state = Path(spec["work_dir"]) / "state.json"
    if not state.is_file():
        return False
    try:
        saved = json.loads(state.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    out = Path(spec["out_dir"])
    return (saved.get("input_hash") == spec["input_hash"] and (out / "manifest.json").is_file()
            and all((out / f"{stem}.html").is_file() for stem in spec["documents"])
            and (Path(spec["work_dir"]) / "comparison.csv").is_file())


def _expected_cost(files: list[Path]) -> float:
    """How long a partnership is expected to take, relative to the others: the bytes of its own input files.

    Its police rows are in the force's shared files, but a partnership with more places and
    people has larger boundary, area, population and local data files too, and more rows.
    Only the order matters (:class:`_Dispatch` renders the largest first).
    """
    total = 0
    for p in files:
        try:
            total += Path(p).stat().st_size
        except OSError:
            pass
    return float(total)


def _plan(catalogues: list[Path], out: Path, documents: list[str], exports: tuple[str, ...], offline: bool
          ) -> tuple[list[dict[str, Any]], dict[str, dict[str, list[str]]], list[BatchOutcome]]:
    """Load every catalogue; the partnership specs, each force's files, and the catalogues that failed."""
    from .catalogue import load_catalogue

    specs: list[dict[str, Any]] = []
    forces: dict[str, dict[str, set[str]]] = {}
    failed: list[BatchOutcome] = []
    hashes: dict[str, str] = {}

    def file_hash(p: Path) -> str:
        key = str(p)
        if key not in hashes:
            hashes[key] = _sha256(p)
        return hashes[key]

    seen_codes: set[str] = set()
    for path in catalogues:
        try:
            cat = load_catalogue(path)
            code = cat.partnership.code
            if code in seen_codes:
                raise ValueError(f"partnership.code {code!r} must be unique in a batch; it appears twice")
            seen_codes.add(code)
            police: dict[str, str] = {}
            police_files: set[str] = set()
            for key, ds in cat.datasets.items():
                if ds.format in STAGED_FORMATS:
                    kind = STAGED_FORMATS[ds.format]
                    police[key] = kind
                    files = [str(p) for p in cat.dataset_files(key)]
                    forces.setdefault(cat.partnership.force, {}).setdefault(kind, set()).update(files)
                    police_files.update(files)
            others = [p for p in cat.input_files() if str(p) not in police_files]
            h = hashlib.sha256()
            h.update(_sha256(path).encode())
            for p in [*sorted(others), *cat.setting_files()]:  # an edited harm index or horizon scan re-renders
                h.update(f"{p}:{file_hash(p)}".encode())
            h.update(json.dumps([documents, list(exports), offline, __version__, code_fingerprint()]).encode())
            specs.append({"code": code, "catalogue": str(path), "out_dir": str(out / code),
                          "partnership_only": _partnership_only(cat),
                          "work_dir": str(out / "_batch" / code), "store": str(out / "_batch" / "store"),
                          "force": cat.partnership.force, "police": police, "other_files": [str(p) for p in others],
                          "documents": documents, "exports": list(exports), "offline": offline,
                          "partial_hash": h.hexdigest(), "cost": _expected_cost(others)})
        except Exception as exc:  # a catalogue that cannot be used fails alone
            failed.append(BatchOutcome(code=path.parent.name if path.name == "data_catalogue.yaml" else path.stem,
                                       catalogue=str(path), status="failed",
                                       message=f"{type(exc).__name__}: {str(exc).strip()}"))
    # A force's files are staged once for all its partnerships in the batch, and each is given the
    # force's rows without a location: files that several partnerships share cannot cover only one
    # partnership's area, so a catalogue saying so would count the others' rows as its own.
    by_force: dict[str, list[str]] = {}
    for spec in specs:
        by_force.setdefault(spec["force"], []).append(spec["code"])
    sharing = [s for s in specs if s["partnership_only"] and len(by_force[s["force"]]) > 1]
    for spec in sharing:
        others = [c for c in by_force[spec["force"]] if c != spec["code"]]
        keys = ", ".join(f"datasets.{k}" for k in spec["partnership_only"])
        failed.append(BatchOutcome(
            code=spec["code"], catalogue=spec["catalogue"], status="failed",
            message=f"CatalogueError: {keys}: covers must be 'force' when the force's files ({spec['force']}) "
                    f"serve other partnerships of the batch too ({', '.join(others)}), got 'partnership': rows "
                    "without a location cannot be placed in one of them (covers: partnership is for files of "
                    "the partnership's area only)"))
    specs = [s for s in specs if s not in sharing]
    used = {s["force"] for s in specs}
    force_files = {f: {k: sorted(v) for k, v in kinds.items()} for f, kinds in forces.items() if f in used}
    # The police files are most of the bytes: hashed on a few threads (hashing and reading release the GIL).
    police = sorted({p for kinds in force_files.values() for files in kinds.values() for p in files} - set(hashes))
    if police:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="batch-hash") as pool:
            hashes.update(zip(police, pool.map(lambda p: _sha256(Path(p)), police)))
    digests = {}
    for force, kinds in force_files.items():
        h = hashlib.sha256()
        for kind, files in sorted(kinds.items()):
            for p in files:
                h.update(f"{kind}:{p}:{file_hash(Path(p))}".encode())
        digests[force] = h.hexdigest()
    for spec in specs:
        spec["force_digest"] = digests.get(spec["force"], "")
        spec["input_hash"] = hashlib.sha256(f"{spec.pop('partial_hash')}:{spec['force_digest']}".encode()).hexdigest()
    return specs, {f: {"files": k, "digest": digests[f]} for f, k in force_files.items()}, failed


#: Dask settings of a batch's local cluster (see :func:`_local_cluster`).
_QUIET_CLUSTER = {"distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "1s",
                  "distributed.admin.system-monitor.interval": "5s"}


def _local_cluster(workers: int) -> Any:
    """A local Dask cluster of ``workers`` processes of one thread each, for a batch.

    Quieter than Dask's defaults, which suit many short tasks: a batch has a few tasks of
    seconds each, and with every core rendering, the periodic work of the scheduler and the
    workers took CPU from the partnerships (about 5% of a core between them, measured idle).
    No statistical profiler (it samples every thread's stack every 10 ms), the event loops'
    responsiveness tick every second instead of every 20 ms, and the system monitor every 5 s
    instead of every 0.5 s.
    """
    import logging

    import dask
    from dask.distributed import LocalCluster

    with dask.config.set(_QUIET_CLUSTER):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                            silence_logs=logging.ERROR, memory_limit=0)


def _close_quietly(future: Any) -> None:
    """Close the cluster a background start gave (or is giving), ignoring a start that failed."""
    try:
        future.result().close()
    except Exception:  # the start failed: nothing to close
        pass


class _Dispatch:
    """The order in which a batch hands its tasks to the cluster.

    Every force's staging comes first (the force whose partnerships cost most first); a
    partnership becomes ready when its force is staged, and the ready partnership with the
    largest ``cost`` goes next (longest first: the last partnerships to finish are then the
    shortest, and no worker waits long for another's last one). Ties keep the catalogue order.
    """

    def __init__(self, specs: list[dict[str, Any]]) -> None:
        self.by_force: dict[str, list[dict[str, Any]]] = {}
        for s in specs:
            self.by_force.setdefault(s["force"], []).append(s)
        cost = {f: sum(float(s.get("cost", 0.0)) for s in group) for f, group in self.by_force.items()}
        self._stages = sorted(self.by_force, key=lambda f: (-cost[f], f))
        self._ready: list[tuple[float, int, dict[str, Any]]] = []
        self._order = {id(s): i for i, s in enumerate(specs)}

    def staged(self, force: str) -> None:
        """The force's store is ready: its partnerships can be rendered."""
        for s in self.by_force.get(force, []):
            heapq.heappush(self._ready, (-float(s.get("cost", 0.0)), self._order[id(s)], s))

    def next(self) -> tuple[str, Any] | None:
        """``('stage', force)``, ``('render', spec)`` or None (nothing ready now)."""
        if self._stages:
            return "stage", self._stages.pop(0)
        if self._ready:
            return "render", heapq.heappop(self._ready)[2]
        return None

    def __bool__(self) -> bool:
        """Whether a task can be handed out now."""
        return bool(self._stages or self._ready)


def _in_flight_limit(threads: int) -> int:
    """How many tasks a batch keeps submitted to a cluster of ``threads`` worker threads.

    One per thread, so that a task is only ever handed to a free worker: a task queued behind a
    busy worker could leave another worker idle at the end of the batch. A single thread gets
    one more, queued behind it, so that it never waits for the next task to arrive.
    """
    return threads + 1 if threads <= 1 else threads


def _run_tasks(client: Any, dispatch: _Dispatch, forces: dict[str, dict[str, Any]], store: str,
               stage: Callable[..., Any] | None = None, render: Callable[..., Any] | None = None):
    """Stage the forces and render the partnerships on ``client``; yield ``(spec, result)`` as each ends.

    Tasks are submitted from ``dispatch`` (:class:`_Dispatch`) while fewer than
    :func:`_in_flight_limit` of the cluster's current threads are running, and each time one
    ends. A force whose staging fails fails its partnerships (a result of ``status='failed'``);
    a task lost with its worker comes back as a failed result too. ``stage`` and ``render``
    default to :func:`stage_force` and :func:`render_partnership`.
    """
    from distributed import wait

    stage = stage or stage_force
    render = render or render_partnership
    running: dict[Any, tuple[str, Any]] = {}

    def top_up() -> None:
        try:
            threads = sum(client.nthreads().values())
        except Exception:  # the scheduler did not answer: keep what runs
            threads = len(running)
        while dispatch and len(running) < max(_in_flight_limit(threads), 1):
            what, item = dispatch.next() or (None, None)
            if what is None:
                return
            if what == "stage":
                entry = forces[item]
                fut = client.submit(stage, item, entry["files"], store, entry["digest"], pure=False, priority=10,
                                    key=f"stage-{item}-{entry['digest'][:12]}")
            else:
                fut = client.submit(render, item, pure=False, key=f"render-{item['code']}-{item['input_hash'][:12]}")
            running[fut] = (what, item)

    top_up()
    while running:
        try:
            done = wait(list(running), timeout=2, return_when="FIRST_COMPLETED").done
        except TimeoutError:  # nothing ended: workers may have joined
            top_up()
            continue
        for fut in sorted(done, key=lambda f: str(f.key)):
            what, item = running.pop(fut)
            if what == "stage":
                try:
                    fut.result()
                    dispatch.staged(item)
                except Exception as exc:  # the force's files could not be staged: its partnerships fail
                    message = f"staging the police files of force {item!r} failed: {type(exc).__name__}: {exc}"
                    for s in dispatch.by_force[item]:
                        yield s, {"status": "failed", "message": message, "seconds": 0.0}
                continue
            try:
                res = fut.result()
            except Exception as exc:  # a worker died
                res = {"status": "failed", "message": f"{type(exc).__name__}: {exc}", "seconds": 0.0}
            yield item, res
        top_up()


def run_batch(source: str | Path, out: str | Path, documents: list[str] | tuple[str, ...] = ("strategic_assessment",),
              workers: int = 2, scheduler: str | None = None, exports: tuple[str, ...] = (), offline: bool = True,
              progress: Callable[[str], None] | None = None, kernel_memory_mb: float = KERNEL_MEMORY_MB
              ) -> list[BatchOutcome]:
    """Render the documents of many partnerships on a Dask cluster.

    Parameters
    ----------
    source : path
        A folder of catalogues or a list file (see :func:`find_catalogues`).
    out : path
        The batch's output folder: ``<out>/<code>/`` per partnership, ``national_comparison.csv``,
        ``batch_summary.csv`` and the working folder ``_batch/`` (store, state).
    documents : sequence of str
        Stems from :data:`BATCH_DOCUMENTS` (default the strategic assessment).
    workers : int
        Workers of the local cluster (one thread each); ignored with ``scheduler``.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``). Its workers must see the
        same file system paths as this process.
    exports : tuple of {'pdf', 'docx'}
        Also publish these versions of each document.
    offline : bool
        Inline the map libraries (default True: batches run where partners read them offline).
    progress : callable, optional
        Receives one line per step and per partnership.
    kernel_memory_mb : float
        Each worker keeps one warm Jupyter kernel across its partnerships; after a partnership
        it is restarted when its resident memory exceeds this many MiB (default
        :data:`KERNEL_MEMORY_MB`), and always after a failure.

    Returns
    -------
    list of BatchOutcome
        One per partnership (catalogue order), ``status`` rendered, skipped or failed.
    """
    from dask.distributed import Client

    check_type(out, "out", (str, Path))
    documents = list(documents)
    if not documents:
        raise ValueError("documents must name at least one document, got none")
    for stem in documents:
        if stem not in BATCH_DOCUMENTS:
            raise ValueError(f"documents must be from {', '.join(BATCH_DOCUMENTS)}; got {stem!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number of 1 or more, got {workers!r}")
    for fmt in exports:
        if fmt not in ("pdf", "docx"):
            raise ValueError(f"exports must be pdf or docx, got {fmt!r}")
    if isinstance(kernel_memory_mb, bool) or not isinstance(kernel_memory_mb, (int, float)) \
            or not kernel_memory_mb > 0:
        raise ValueError(f"kernel_memory_mb must be a positive number of MiB, got {kernel_memory_mb!r}")
    say = progress or (lambda _m: None)
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    catalogues = find_catalogues(source)
    t0, wall0 = time.perf_counter(), time.time()
    # A local cluster starts (its worker processes import their libraries) while the catalogues
    # are loaded and the inputs hashed, unless the batch looks like a resume with nothing to do:
    # fewer partnerships with a saved state than catalogues means at least one renders.
    early = None
    if scheduler is None and len(list((out / "_batch").glob("*/state.json"))) < len(catalogues):
        from concurrent.futures import ThreadPoolExecutor

        starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-cluster")
        early = starter.submit(_local_cluster, workers)
        starter.shutdown(wait=False)
    try:
        specs, forces, outcomes = _plan(catalogues, out, documents, tuple(exports), offline)
    except BaseException:
        if early is not None:
            _close_quietly(early)
        raise
    for o in outcomes:
        say(f"{o.code}: FAILED before rendering: {o.message}")
    todo = [s for s in specs if not _complete(s)]
    done = [s for s in specs if s not in todo]
    for s in done:
        outcomes.append(BatchOutcome(s["code"], s["catalogue"], "skipped", "complete and inputs unchanged", 0.0,
                                     s["out_dir"]))
        say(f"{s['code']}: skipped (complete, inputs unchanged)")
    say(f"{len(catalogues)} partnership(s) in {len(forces)} force(s): {len(todo)} to render, {len(done)} skipped, "
        f"{len(catalogues) - len(specs)} failed to load ({time.perf_counter() - t0:.1f} s)")
    if not todo and early is not None:
        _close_quietly(early)
        early = None
    if todo:
        cluster = None
        if scheduler:
            client = Client(scheduler)
        else:
            cluster = early.result() if early is not None else _local_cluster(workers)
            client = Client(cluster)
        try:
            client.register_plugin(WarmKernelPlugin(kernel_memory_mb))
            for s in todo:
                s["kernel_memory_mb"] = float(kernel_memory_mb)
            say(f"Rendering {len(todo)} partnership(s) on {len(client.scheduler_info().get('workers', {}))} worker(s)")
            k = 0
            for s, res in _run_tasks(client, _Dispatch(todo), forces, str(out / "_batch" / "store")):
                k += 1
                outcomes.append(BatchOutcome(s["code"], s["catalogue"], res["status"], res["message"],
                                             float(res["seconds"]), s["out_dir"],
                                             float(res.get("cpu_seconds", float("nan"))),
                                             float(res.get("started_at", float("nan"))) - wall0,
                                             float(res.get("finished_at", float("nan"))) - wall0,
                                             str(res.get("worker", ""))))
                line = (f"rendered in {res['seconds']:.0f} s" if res["status"] == "rendered"
                        else f"FAILED: {res['message']}")
                say(f"[{k}/{len(todo)}] {s['code']}: {line}")
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    order = {str(c): i for i, c in enumerate(catalogues)}
    outcomes.sort(key=lambda o: order.get(o.catalogue, len(order)))
    summary = pd.DataFrame([dataclasses.asdict(o) for o in outcomes])
    summary.to_csv(out / "batch_summary.csv", index=False)
    parts = [pd.read_csv(Path(s["work_dir"]) / "comparison.csv", dtype={"partnership_code": str})
             for s in specs if (Path(s["work_dir"]) / "comparison.csv").is_file()
             and any(o.code == s["code"] and o.status != "failed" for o in outcomes)]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COMPARISON_COLUMNS)
    table.to_csv(out / "national_comparison.csv", index=False)
    failed = sum(o.status == "failed" for o in outcomes)
    say(f"Batch done in {time.perf_counter() - t0:,.0f} s: {sum(o.status == 'rendered' for o in outcomes)} rendered, "
        f"{sum(o.status == 'skipped' for o in outcomes)} skipped, {failed} failed. Summary: {out / 'batch_summary.csv'}")
    return outcomes


def read_national_comparison(path: str | Path) -> pd.DataFrame:
    """Read the national comparison table a batch wrote (every partnership's counts and rates).

    Parameters
    ----------
    path : path
        ``national_comparison.csv``, or the batch output folder holding it.

    Returns
    -------
    pandas.DataFrame
        One row per partnership and crime category: ``partnership_code``, ``partnership_name``,
        ``force``, ``first_month``, ``last_month``, ``months``, ``residents`` (NaN when the
        catalogue has no population), ``category`` (the data.police.uk crime type), ``count``
        (located street rows inside the boundary in the window) and ``rate_per_1000_per_year``
        (count per 1,000 residents per year of the window).
    """
    check_type(path, "path", (str, Path))
    p = Path(path)
    if p.is_dir():
        p = p / "national_comparison.csv"
    table = pd.read_csv(p, dtype={"partnership_code": str, "partnership_name": str, "force": str, "category": str,
                                  "first_month": str, "last_month": str}, keep_default_na=False,
                        na_values={"residents": [""], "rate_per_1000_per_year": [""]})
    missing = [c for c in COMPARISON_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"national comparison table {str(p)!r} must have columns {COMPARISON_COLUMNS}; "
                         f"missing {missing}")
    table["count"] = pd.to_numeric(table["count"], errors="raise").astype("int64")
    for col in ("residents", "rate_per_1000_per_year"):
        table[col] = pd.to_numeric(table[col], errors="coerce")
    return table[COMPARISON_COLUMNS]
