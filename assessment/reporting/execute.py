"""Run a document: execute its notebook with papermill, render it with nbconvert.

The run holds the output folder's lock (recovering any publication a killed run
interrupted), writes everything into a staging folder beside the output folder and
publishes the results only when the notebook has executed and rendered completely, as one
transaction (:mod:`assessment.reporting.publish`): at every instant the folder holds the
complete previous edition of the document or the complete new one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from .. import __version__, paths
from ..catalogue import load_catalogue
from ..checks import check_choice, check_type
from ..errors import DocumentError
from .hashing import sha256_file
from .kinds import DOCUMENTS
from .publish import output_lock, publish_document, staging_folder
from .toc import insert_toc

#: Options of the kernels this module starts: input history in memory, as papermill's own kernels
#: keep it (not a SQLite file in the home folder, shared by every kernel on the machine).
KERNEL_ARGUMENTS = ("--HistoryManager.hist_file=:memory:",)

#: Memory allocators of the kernels this module starts (a setting already in the environment wins).
#: Arrow's buffers come from the C library's allocator instead of Arrow's bundled mimalloc; the C
#: library serves every block of 256 KiB or more (a column of a large frame) from a mapping of its
#: own, given back to the system when freed, and asks the kernel for transparent huge pages for
#: those mappings (fewer page faults: the price of giving memory back). By default mimalloc keeps
#: freed pages for reuse and the C library raises its mapping threshold as large blocks are freed,
#: so a kernel's resident memory stays near the most it ever held. Measured on the intake of 1.5M
#: police rows, in-process: peak 1.47-1.53 GiB by default against 1.23 GiB with these settings,
#: 1.35-1.41 GiB held afterwards against 0.62 GiB, in the same time; the whole strategic assessment
#: on a cold cache costs 1-3 CPU seconds more (memory given back is faulted in again), warm the
#: same (docs/BENCHMARKS.md, "Strategic assessment at scale"). ``ARROW_DEFAULT_MEMORY_POOL`` is read by pyarrow (``pyarrow.default_memory_pool``),
#: ``MALLOC_MMAP_THRESHOLD_`` and the ``glibc.malloc.hugetlb`` tunable by glibc's malloc
#: (mallopt(3), "Memory Allocation Tunables" in the glibc manual); elsewhere they are ignored.
KERNEL_ENVIRONMENT = {"ARROW_DEFAULT_MEMORY_POOL": "system", "MALLOC_MMAP_THRESHOLD_": "262144",
                      "GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}


#: Longest Unix socket path used: Linux's ``sun_path`` holds 108 bytes with the final NUL, macOS's 104.
_SOCKET_PATH_MAX = 100


def kernel_transport() -> str:
    """How the workbench talks to its kernels: ``'ipc'`` (Unix domain sockets, in the user's own Jupyter
    runtime folder) on POSIX systems where that folder is short enough for socket paths, else ``'tcp'``.

    Over TCP the kernel listens on localhost ports that any local user can reach (the messages are
    signed with the key in the private connection file, but not encrypted), and ipykernel says so in a
    warning at every start. jupyter_client names the sockets after the connection file in the runtime
    folder: ``<runtime>/kernel-<36-character id>-ipc-<port>``.
    """
    if os.name != "posix":
        return "tcp"
    from jupyter_core.paths import jupyter_runtime_dir

    longest = len(os.path.join(jupyter_runtime_dir(), f"kernel-{uuid.uuid4()}-ipc-65535"))
    return "ipc" if longest <= _SOCKET_PATH_MAX else "tcp"


def _new_kernel_manager() -> Any:
    """A ``python3`` kernel manager over :func:`kernel_transport`. For ``ipc`` its connection file and
    socket names are set here, in the runtime folder: left to its defaults the manager may name the
    sockets before it has a connection file, relative to the kernel's working folder."""
    from jupyter_client.manager import KernelManager

    if kernel_transport() != "ipc":
        return KernelManager(kernel_name="python3")
    from jupyter_core.paths import jupyter_runtime_dir

    runtime = jupyter_runtime_dir()
    os.makedirs(runtime, mode=0o700, exist_ok=True)
    stem = os.path.join(runtime, f"kernel-{uuid.uuid4()}")
    return KernelManager(kernel_name="python3", transport="ipc", connection_file=stem + ".json", ip=stem + "-ipc")


def start_kernel(km: Any = None) -> Any:
    """Start a kernel as every kernel of the workbench starts; return its manager.

    ``km`` is a ``jupyter_client.KernelManager`` (by default a new ``python3`` one over
    :func:`kernel_transport`). The kernel runs in the notebook folder, with :data:`KERNEL_ARGUMENTS`,
    in this process's environment plus :data:`KERNEL_ENVIRONMENT` (where the environment does not set
    those variables already).
    """
    if km is None:
        km = _new_kernel_manager()
    env = dict(os.environ)
    for name, value in KERNEL_ENVIRONMENT.items():
        env.setdefault(name, value)
    km.start_kernel(cwd=str(paths.NOTEBOOK_DIR), extra_arguments=list(KERNEL_ARGUMENTS), env=env)
    return km

PACKAGES = (
    "pandas", "numpy", "scipy", "geopandas", "shapely", "pyproj", "pyogrio", "statsmodels",
    "esda", "libpysal", "mapclassify", "folium", "matplotlib", "papermill", "nbconvert",
    "nbformat", "ipykernel", "pydantic", "pyyaml", "openpyxl",
)


@dataclass
class DocumentRun:
    """What one run of a document produced."""

    document: str
    html: Path
    notebook: Path
    tables: list[Path]
    parameters: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    pdf: Path | None = None
    docx: Path | None = None


def _noop(message: str) -> None:  # progress sink when the caller wants none
    return None


def package_versions() -> dict[str, str]:
    """Versions of Python, this package and the libraries its numbers depend on."""
    out = {"python": platform.python_version(), "assessment": __version__}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


_EXPORTERS = threading.local()  # a thread's HTML exporter, kept so its templates are compiled once


def _html_exporter() -> Any:
    from nbconvert import HTMLExporter

    exporter = getattr(_EXPORTERS, "html", None)
    if exporter is None or getattr(_EXPORTERS, "basedir", None) != str(paths.TEMPLATE_DIR):
        exporter = HTMLExporter(
            template_name="assessment",
            extra_template_basedirs=[str(paths.TEMPLATE_DIR)],
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
        )
        _EXPORTERS.html, _EXPORTERS.basedir = exporter, str(paths.TEMPLATE_DIR)
    return exporter


def _render_html(executed: Path, meta: dict[str, Any]) -> str:
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    nb.metadata["assessment"] = meta
    body, _ = _html_exporter().from_notebook_node(nb)
    return insert_toc(body)


def _failure_message(document: str, exc: Exception, nb_path: Path) -> str:
    import nbformat

    cell_no, source = "?", ""
    try:
        nb = nbformat.read(nb_path, as_version=4)
        for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
            if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
                cell_no, source = str(i + 1), cell.source.strip().splitlines()[0] if cell.source.strip() else ""
                break
    except Exception:  # the executed notebook may not have been written
        pass
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    if cell_no == "?":
        kept = f"The partial notebook is kept at {nb_path}" if nb_path.is_file() else "No cell ran"
        return (f"document {document!r} failed before or outside a code cell: {ename}: {evalue}. "
                f"{kept}; the previous output was left intact.")
    return (
        f"document {document!r} failed in code cell {cell_no} (`{source}`): {ename}: {evalue}. "
        f"The executed notebook is kept at {nb_path}; the previous output was left intact."
    )


def _commit(staging: Path, out_dir: Path, document: str) -> None:
    """Publish a finished document's staged files into the output folder as one transaction.

    See :func:`assessment.reporting.publish.publish_document`: the previous edition of the
    document stays complete until the new one is complete, and a failure puts it back.
    """
    publish_document(staging, out_dir, document)


def _write_manifest(out_dir: Path, catalogue_path: Path, run: DocumentRun, inputs: dict[str, str],
                    into: Path | None = None) -> Path:
    """Merge ``run``'s entry into ``out_dir/manifest.json``, written to ``into`` (default ``out_dir``)."""
    path = out_dir / "manifest.json"
    manifest: dict[str, Any] = {}
    if path.is_file():
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            manifest = {}
    manifest.update(
        {
            "catalogue": str(catalogue_path),
            "inputs": inputs,
            "versions": package_versions(),
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        }
    )
    docs = manifest.setdefault("documents", {})
    docs[run.document] = {
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "parameters": run.parameters,
        "timings_seconds": run.timings,
        "outputs": {
            "html": run.html.name,
            "notebook": f"notebooks/{run.notebook.name}",
            "tables": [f"tables/{t.name}" for t in run.tables],
            **({"pdf": run.pdf.name} if run.pdf else {}),
            **({"docx": run.docx.name} if run.docx else {}),
        },
    }
    target = Path(into or out_dir) / "manifest.json"
    target.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    return target


def input_hashes(catalogue_path: Path) -> dict[str, str]:
    """SHA-256 of the catalogue and every input file it names, keyed by path relative to its folder."""
    cat = load_catalogue(catalogue_path)
    files = [Path(catalogue_path).resolve(), *cat.input_files(), *cat.setting_files()]
    out = {}
    for f in files:
        try:
            key = str(f.resolve().relative_to(cat.root))
        except ValueError:
            key = str(f.resolve())
        out[key] = sha256_file(f)
    return dict(sorted(out.items()))


def run_document(
    document: str,
    catalogue: str | Path,
    out_dir: str | Path,
    parameters: dict[str, Any] | None = None,
    offline: bool = False,
    progress: Callable[[str], None] | None = None,
    output_name: str | None = None,
    exports: tuple[str, ...] | list[str] = (),
) -> DocumentRun:
    """Execute and render one document into ``out_dir``.

    Parameters
    ----------
    document : str
        ``strategic-assessment``, ``problem-profile``, ``audit``, ``evaluation`` or
        ``data-quality`` (underscores also accepted).
    catalogue : path
        The partnership's data catalogue.
    out_dir : path
        The output folder. Files of this document are replaced only when the run succeeds.
    parameters : dict, optional
        Extra notebook parameters (``--param key=value`` on the command line).
    offline : bool
        Inline the map libraries so that maps draw without network access.
    progress : callable, optional
        Receives one line per step (the CLI prints them).
    output_name : str, optional
        The file stem of the HTML and notebook (defaults to the document name); used
        when one document is rendered for several topics.
    exports : sequence of {'pdf', 'docx'}, optional
        Also write ``<stem>.pdf`` (the board pack, printed by headless Chromium) and/or
        ``<stem>.docx`` (for drafting) beside the HTML, published with it. Without Chromium
        the PDF is left out with a progress line saying so, and the Word file has map
        descriptions in place of map pictures.

    Raises
    ------
    DocumentError
        A cell failed (the message names the document, the cell and the error),
        rendering failed, or publishing failed (the message names the file and the
        cause). The output folder is left as it was. Also raised when another run
        holds the output folder (the message names its process).
    """
    check_type(document, "document", str)
    name = document.replace("-", "_")
    check_choice(name, "document", DOCUMENTS)
    say = progress or _noop
    params = dict(parameters or {})
    stem = output_name or name
    exports = tuple(exports)
    for fmt in exports:
        check_choice(fmt, "exports", ("pdf", "docx"))
    catalogue_path = Path(catalogue).resolve()
    out_dir = Path(out_dir).resolve()
    nb_source = paths.notebook_path(name)
    if not nb_source.is_file():
        raise DocumentError(f"document {document!r} must have a notebook at {nb_source}, got none")
    with output_lock(out_dir, say):  # before anything else: one run at a time, recover, sweep
        return _run_locked(name, stem, catalogue_path, out_dir, nb_source, params, offline, say, exports)


def run_edition(
    documents: list[tuple[str, dict[str, Any], str]] | tuple[tuple[str, dict[str, Any], str], ...],
    catalogue: str | Path,
    out_dir: str | Path,
    offline: bool = False,
    progress: Callable[[str], None] | None = None,
    exports: tuple[str, ...] | list[str] = (),
    errors: str = "raise",
    kernel: Any = None,
    workbench_cache: bool = True,
    overlap_exports: bool = False,
) -> tuple[list[DocumentRun], dict[str, str]]:
    """Execute and render the documents of one edition in one warm kernel.

    Each document is still its own parameterised notebook, executed, rendered, published and
    entered in the manifest exactly as :func:`run_document` does; what they share is one
    Jupyter kernel (started once, so the libraries and the package are imported once, and
    reused by each notebook in turn) and one hashing of the inputs. While the kernel executes
    a document, the one before it is exported (PDF, Word) and published on a second thread, in
    the edition's order; each document audits its tables against the disclosure register of
    the documents before it (read from a copy of their staged register, so it does not wait
    for their publication).

    Parameters
    ----------
    documents : sequence of (document, parameters, output_name)
        As ``run_document``'s ``document``, ``parameters`` and ``output_name``.
    catalogue, out_dir, offline, progress, exports
        As for :func:`run_document`, shared by every document.
    errors : {'raise', 'continue'}
        On a document's failure, raise its :class:`DocumentError` (the documents already
        published stay published), or record its message and go on with the next document
        in a fresh kernel.
    overlap_exports : bool, default False
        With ``exports``: print each document's PDF and write its Word version while the kernel
        executes the next document (faster by about the exports' time, but headless Chromium's
        memory then adds to the kernel's). By default the documents are staged first and exported
        and published, in order, once the edition's own kernel has been shut down, so the peak is
        the larger of the two, not their sum. Without exports, publishing always overlaps.
    kernel : jupyter_client.KernelManager, optional
        An already started kernel to run the documents in (a batch worker keeps one warm
        across partnerships). It is restarted after a failure but never shut down here; by
        default a kernel is started for the edition and shut down at its end.
    workbench_cache : bool
        Cache the harmonised workbench beside the catalogue (``.assessment-cache``) for the next
        document or run (default). A batch rendering one document per partnership turns it off:
        the cache would be written and never read.

    Returns
    -------
    (list of DocumentRun, dict of str to str)
        The runs that succeeded, in order, and ``output_name -> message`` for those that failed.
    """
    check_choice(errors, "errors", ("raise", "continue"))
    say = progress or _noop
    exports = tuple(exports)
    for fmt in exports:
        check_choice(fmt, "exports", ("pdf", "docx"))
    plan = []
    for item in documents:
        if not isinstance(item, (tuple, list)) or len(item) != 3:
            raise TypeError(f"`documents` items must be (document, parameters, output_name), got {item!r}")
        document, params, stem = item
        check_type(document, "document", str)
        name = document.replace("-", "_")
        check_choice(name, "document", DOCUMENTS)
        nb_source = paths.notebook_path(name)
        if not nb_source.is_file():
            raise DocumentError(f"document {document!r} must have a notebook at {nb_source}, got none")
        plan.append((name, dict(params or {}), stem or name, nb_source))
    catalogue_path = Path(catalogue).resolve()
    out_dir = Path(out_dir).resolve()
    runs: list[DocumentRun] = []
    failures: dict[str, str] = {}
    with output_lock(out_dir, say):
        t0 = time.perf_counter()
        say("checking the catalogue and hashing inputs (once for the edition)")
        inputs = input_hashes(catalogue_path)
        say(f"hashed {len(inputs)} inputs in {time.perf_counter() - t0:.1f} s; starting one kernel for "
            f"{len(plan)} document(s)")
        own_kernel = kernel is None
        if own_kernel:
            km = start_kernel()
        else:
            km = kernel
        # Each document is exported (PDF, Word) and published on a second thread while the kernel
        # executes the next one. Publishing keeps the edition's order; a document reads the
        # disclosure register of those before it from a copy of their staged register.
        registers = staging_folder(out_dir, "edition-register", uuid.uuid4().hex[:8])
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish")
        defer = bool(exports) and not overlap_exports
        deferred: list[_Staged] = []  # staged, to be exported and published once the kernel is gone

        def start_exports() -> None:
            if "pdf" in exports:  # one headless Chromium for every PDF of the edition, on the publishing thread
                from .export import keep_chromium

                pool.submit(keep_chromium)

        if not defer:
            start_exports()
        pending: list[tuple[str, _Staged, Future]] = []
        register_source: Path | None = None
        failure: DocumentError | None = None
        try:
            for i, (name, params, stem, nb_source) in enumerate(plan):
                try:
                    # Without exports the publishing thread has little to do: it renders the HTML too,
                    # while the kernel goes on to the next document.
                    staged = _stage_document(name, stem, catalogue_path, out_dir, nb_source, params, offline, say,
                                             inputs=inputs, km=km, published_dir=register_source,
                                             workbench_cache=workbench_cache, render_later=not exports)
                except DocumentError as exc:
                    if errors == "raise":
                        # Documents staged before this one are still exported and published (below),
                        # as they would have been had each been published at once; then the error.
                        failure = exc
                        break
                    failures[stem] = str(exc)
                    say(f"[{stem}] failed: {exc}")
                    # The next document starts from a clean kernel. An edition's own kernel is replaced by a
                    # new one (new ports and context): restarting it in place sometimes left the new process
                    # unreachable ("Kernel didn't respond in 60 seconds") on a loaded machine.
                    if own_kernel:
                        km.shutdown_kernel(now=True)
                        km = start_kernel()
                    else:
                        km.restart_kernel(now=True)
                    continue
                staged_register = paths.disclosure_register(staged.staging)
                if staged_register.is_file():
                    register_source = registers / str(i)
                    register_source.mkdir(parents=True)
                    shutil.copyfile(staged_register, paths.disclosure_register(register_source))
                if defer:
                    deferred.append(staged)
                    continue
                pending.append((stem, staged, pool.submit(_finish_document, staged, exports, say)))
                _collect_published(pending, runs, failures, errors, say, wait=False)
            if defer:
                if own_kernel:  # its memory is given back before Chromium starts
                    km.shutdown_kernel(now=True)
                    own_kernel = False
                start_exports()
                while deferred:
                    staged = deferred.pop(0)
                    pending.append((staged.stem, staged, pool.submit(_finish_document, staged, exports, say)))
            _collect_published(pending, runs, failures, errors, say, wait=True)
            if failure is not None:
                raise failure
        finally:
            for staged in deferred:  # after a failure: staged documents never exported are not published
                shutil.rmtree(staged.staging, ignore_errors=True)
            for _stem, staged, future in pending:  # after a failure: what was not started is not published
                if future.cancel():
                    shutil.rmtree(staged.staging, ignore_errors=True)
            if "pdf" in exports:
                from .export import release_chromium

                pool.submit(release_chromium)  # on the thread that launched it
            pool.shutdown(wait=True)  # never release the lock while a document is being published
            shutil.rmtree(registers, ignore_errors=True)
            if own_kernel:
                km.shutdown_kernel(now=True)
    return runs, failures


def _collect_published(pending: list, runs: list[DocumentRun], failures: dict[str, str], errors: str,
                       say: Callable[[str], None], wait: bool) -> None:
    """Move finished publications from ``pending`` (in edition order) to ``runs`` or ``failures``."""
    while pending and (wait or pending[0][2].done()):
        stem, _staged, future = pending.pop(0)
        try:
            runs.append(future.result())
        except DocumentError as exc:
            if errors == "raise":
                raise
            failures[stem] = str(exc)
            say(f"[{stem}] failed: {exc}")


def _kept_notebook(executed: Path, out_dir: Path, stem: str) -> Path:
    """Keep a failed run's notebook beside the output folder (staging is removed); return where it is."""
    kept = out_dir.parent / f".{out_dir.name}.failed-{stem}.ipynb"
    try:
        if executed.is_file():
            os.replace(executed, kept)
            return kept
    except OSError:
        pass
    return executed


def _run_locked(name: str, stem: str, catalogue_path: Path, out_dir: Path, nb_source: Path,
                params: dict[str, Any], offline: bool, say: Callable[[str], None],
                exports: tuple[str, ...] = (), inputs: dict[str, str] | None = None, km: Any = None) -> DocumentRun:
    staged = _stage_document(name, stem, catalogue_path, out_dir, nb_source, params, offline, say, inputs, km)
    return _finish_document(staged, exports, say)


@dataclass
class _Staged:
    """A document executed and rendered into its staging folder, not yet exported or published."""

    stem: str
    catalogue_path: Path
    out_dir: Path
    staging: Path
    run: DocumentRun
    meta_doc: Any
    inputs: dict[str, str]
    started: float
    render: Any = None  # the HTML still to render (``_Render``), when rendering was left to publishing


def _stage_document(name: str, stem: str, catalogue_path: Path, out_dir: Path, nb_source: Path,
                    params: dict[str, Any], offline: bool, say: Callable[[str], None],
                    inputs: dict[str, str] | None = None, km: Any = None,
                    published_dir: Path | None = None, workbench_cache: bool = True,
                    render_later: bool = False) -> _Staged:
    """Execute and render one document into a fresh staging folder (removed again on failure)."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if inputs is None:
        say(f"[{stem}] checking the catalogue and hashing inputs")
        inputs = input_hashes(catalogue_path)
    timings["hash_inputs"] = round(time.perf_counter() - t0, 3)

    staging = staging_folder(out_dir, stem, uuid.uuid4().hex[:8])
    try:
        (staging / "notebooks").mkdir(parents=True)
    except OSError as exc:
        raise DocumentError(f"document {stem!r} cannot be staged beside {out_dir}: creating {staging} failed "
                            f"({type(exc).__name__}: {exc})") from None
    try:
        run, meta_doc = _execute_and_render(name, stem, catalogue_path, out_dir, staging, nb_source, params,
                                            offline, say, timings, km, published_dir, workbench_cache,
                                            render_later)
        render = meta_doc if render_later else None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # a kill leaves it to the next run's sweep
        raise
    return _Staged(stem, catalogue_path, out_dir, staging, run, None if render_later else meta_doc, inputs, t0, render)


def _finish_document(staged: _Staged, exports: tuple[str, ...], say: Callable[[str], None]) -> DocumentRun:
    """Export a staged document (PDF, Word), enter it in the manifest and publish it; refresh the index."""
    stem, out_dir, staging, run = staged.stem, staged.out_dir, staged.staging, staged.run
    try:
        if staged.render is not None:
            staged.meta_doc, staged.render = staged.render(), None
        pdf, docx = _export(staging / f"{stem}.html", staged.meta_doc, exports, say, run.timings)
        run.pdf = out_dir / pdf.name if pdf else None
        run.docx = out_dir / docx.name if docx else None
        run.timings["total"] = round(time.perf_counter() - staged.started, 3)
        _write_manifest(out_dir, staged.catalogue_path, run, staged.inputs, into=staging)  # swapped in with the files
        _commit(staging, out_dir, stem)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # a kill leaves it to the next run's sweep
    from .index import refresh_index

    try:  # every document links the index: keep it listing what exists
        refresh_index(out_dir, staged.catalogue_path)
    except (OSError, ValueError) as exc:  # the document is published; the index is a convenience
        import warnings

        warnings.warn(f"index.html in {out_dir} could not be refreshed after {stem}: {exc}", stacklevel=2)
    failed = out_dir.parent / f".{out_dir.name}.failed-{stem}.ipynb"
    if failed.is_file():
        failed.unlink(missing_ok=True)  # the notebook of an earlier failed run is now out of date
    say(f"[{stem}] wrote {run.html} ({run.html.stat().st_size / 1024:,.0f} KiB) in {run.timings['total']:.1f} s")
    return run


def _execute_and_render(name: str, stem: str, catalogue_path: Path, out_dir: Path, staging: Path,
                        nb_source: Path, params: dict[str, Any], offline: bool, say: Callable[[str], None],
                        timings: dict[str, float], km: Any = None,
                        published_dir: Path | None = None, workbench_cache: bool = True,
                        render_later: bool = False) -> tuple[DocumentRun, Any]:
    """Execute the notebook and render its HTML into ``staging``; describe the run as published.

    With ``km`` (a started kernel manager) the notebook runs in that kernel, which stays up for
    the next document of the edition; without it a kernel is started (:func:`start_kernel`) and
    shut down again after the notebook.
    ``published_dir`` is where the document reads the edition's disclosure register (default
    ``out_dir``; an edition whose earlier documents are still being published points it at
    their staged register). Returns the run and the metadata document, or with ``render_later``
    the run and the rendering still to be done (a :class:`_Render`, called by
    :func:`_finish_document`: an edition without exports renders on its publishing thread while
    the kernel executes the next document).
    """
    executed = staging / "notebooks" / f"{stem}.ipynb"
    nb_params = {
        "catalogue": str(catalogue_path),
        "out_dir": str(staging),
        "published_dir": str(published_dir or out_dir),  # its disclosure register: tables of the edition's others
        # Harmonised data are cached beside the catalogue, never inside the output folder that
        # partners receive (the cache holds unsuppressed data).
        "cache_dir": str(catalogue_path.parent / ".assessment-cache") if workbench_cache else None,
        "offline": bool(offline),
        "output_name": stem,
        **params,
    }
    say(f"[{stem}] executing notebooks/{nb_source.name} with papermill")
    t1 = time.perf_counter()
    import papermill as pm

    own_kernel = km is None
    try:
        if own_kernel:  # started here rather than by papermill, so that it has the workbench's settings
            km = start_kernel()
        pm.execute_notebook(
            str(nb_source),
            str(executed),
            parameters=nb_params,
            kernel_name="python3",
            cwd=str(paths.NOTEBOOK_DIR),
            progress_bar=False,
            log_output=False,
            # Written once at the end (and, on a failing cell, with the error before raising), not after
            # every cell: re-encoding the growing notebook twice per cell cost about 0.75 s a document.
            request_save_on_cell_execute=False,
            km=km,
        )
    except Exception as exc:  # papermill raises PapermillExecutionError for a failing cell
        raise DocumentError(_failure_message(stem, exc, _kept_notebook(executed, out_dir, stem))) from None
    finally:
        if own_kernel and km is not None:
            km.shutdown_kernel(now=True)
    timings["execute"] = round(time.perf_counter() - t1, 3)

    html_path = staging / f"{stem}.html"
    render = _Render(name, stem, catalogue_path, out_dir, staging, executed, params, timings, say)
    meta_doc = render() if not render_later else None

    tables = sorted((staging / "tables").glob(f"{stem}-*.csv")) if (staging / "tables").is_dir() else []
    run = DocumentRun(
        document=stem,
        html=out_dir / html_path.name,
        notebook=out_dir / "notebooks" / executed.name,
        tables=[out_dir / "tables" / t.name for t in tables],
        parameters={k: v for k, v in nb_params.items() if k not in ("out_dir", "cache_dir", "published_dir")},
        timings=timings,
    )
    return run, (render if render_later else meta_doc)


@dataclass
class _Render:
    """Render a staged, executed notebook to ``staging/<stem>.html``; calling it returns the metadata document."""

    name: str
    stem: str
    catalogue_path: Path
    out_dir: Path
    staging: Path
    executed: Path
    params: dict[str, Any]
    timings: dict[str, float]
    say: Callable[[str], None]

    def __call__(self) -> Any:
        stem, params = self.stem, self.params
        self.say(f"[{stem}] rendering HTML with nbconvert")
        t2 = time.perf_counter()
        from .document import document_metadata, open_document

        meta_doc = open_document(self.catalogue_path, self.name, out_dir=self.staging,
                                 **{k: v for k, v in params.items() if k in ("edition",)})
        subtitle = params.get("topic") or params.get("intervention")
        meta = document_metadata(meta_doc, subtitle=str(subtitle).replace("_", " ").capitalize() if subtitle else None)
        try:
            page = _render_html(self.executed, meta)
        except Exception as exc:
            kept = _kept_notebook(self.executed, self.out_dir, stem)
            raise DocumentError(f"document {stem!r} executed but could not be rendered: {type(exc).__name__}: {exc}. "
                                f"The executed notebook is kept at {kept}; the previous output was left "
                                "intact.") from None
        (self.staging / f"{stem}.html").write_text(page, encoding="utf-8")
        self.timings["render"] = round(time.perf_counter() - t2, 3)
        return meta_doc


def _export(html_path: Path, doc: Any, exports: tuple[str, ...], say: Callable[[str], None],
            timings: dict[str, float]) -> tuple[Path | None, Path | None]:
    """Write the PDF and Word versions of a staged HTML document, as asked."""
    if not exports:
        return None, None
    from .export import ExportError, export_docx, export_pdf

    t = time.perf_counter()
    marking = doc.catalogue.partnership.marking
    pdf = docx = None
    maps: list[bytes] = []
    if "pdf" in exports:
        say(f"[{html_path.stem}] printing the PDF with headless Chromium")
        try:
            maps = export_pdf(html_path, html_path.with_suffix(".pdf"), marking, title=doc.title)
            pdf = html_path.with_suffix(".pdf")
        except ExportError as exc:
            say(f"[{html_path.stem}] no PDF: {exc}")
    if "docx" in exports:
        say(f"[{html_path.stem}] writing the Word version")
        docx = export_docx(html_path, html_path.with_suffix(".docx"), marking, maps=maps)
    timings["export"] = round(time.perf_counter() - t, 3)
    return pdf, docx
