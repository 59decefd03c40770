"""Tests for assessment/reporting/execute.py: hashes, versions, committing outputs, a failing run."""

from __future__ import annotations

import hashlib
import json
from importlib import metadata

import nbformat
import pytest

from assessment import __version__, paths
from assessment.errors import DocumentError
from assessment.reporting import execute


def test_package_versions_keys():
    versions = execute.package_versions()
    assert set(versions) == {"python", "assessment", *execute.PACKAGES}
    assert versions["assessment"] == __version__
    assert versions["pandas"] == metadata.version("pandas")
    assert all(isinstance(v, str) and v for v in versions.values())


def test_input_hashes_cover_every_input(demo_catalogue):
    hashes = execute.input_hashes(demo_catalogue)
    root = demo_catalogue.parent
    raw = [p for p in (root / "raw").rglob("*") if p.is_file()]
    kml = [p for p in raw if p.suffix.lower() == ".kml"]
    assert kml, "the demo partnership ships KML neighbourhood boundaries"
    for p in raw:
        key = str(p.relative_to(root))
        assert key in hashes, key
        assert hashes[key] == hashlib.sha256(p.read_bytes()).hexdigest()
    assert hashes[demo_catalogue.name] == hashlib.sha256(demo_catalogue.read_bytes()).hexdigest()
    assert any(k.endswith("horizon_scan.yaml") for k in hashes)
    assert list(hashes) == sorted(hashes)


def _touch(path, text="x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_commit_replaces_only_this_documents_tables(tmp_path):
    staging, out = tmp_path / "staging", tmp_path / "out"
    _touch(staging / "problem_profile.html", "new page")
    _touch(staging / "tables" / "problem_profile-01-new.csv", "new")
    _touch(staging / "notebooks" / "problem_profile.ipynb", "nb")
    _touch(staging / "manifest.json", '{"documents": {"problem_profile": {}}}')
    _touch(staging / ".cache" / "workbench.pkl", "cache")
    _touch(out / "problem_profile.html", "old page")
    _touch(out / "tables" / "problem_profile-01-old.csv", "old")
    _touch(out / "tables" / "problem_profile-07-gone.csv", "old")
    _touch(out / "tables" / "problem_profile_violence-01-keep.csv", "other topic")
    _touch(out / "tables" / "audit-01-keep.csv", "other document")
    _touch(out / "manifest.json", '{"documents": {}}')
    execute._commit(staging, out, "problem_profile")
    tables = sorted(p.name for p in (out / "tables").iterdir())
    assert tables == ["audit-01-keep.csv", "problem_profile-01-new.csv", "problem_profile_violence-01-keep.csv"]
    assert (out / "problem_profile.html").read_text() == "new page"
    assert (out / "notebooks" / "problem_profile.ipynb").read_text() == "nb"
    # the staged manifest is the merged one (run_document writes it there) and is swapped in with the files
    assert (out / "manifest.json").read_text() == '{"documents": {"problem_profile": {}}}'
    assert not (out / ".cache").exists()
    assert not staging.exists() and not (out / ".assess-publish").exists()


def _failing_notebook(folder, name):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("catalogue = None\nout_dir = None")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("raise ValueError('ward table is empty: 42')"),
                nbformat.v4.new_code_cell("print('never reached')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{name}.ipynb")


def test_failing_cell_raises_document_error_and_keeps_previous_output(demo_catalogue, tmp_path, monkeypatch):
    nb_dir = tmp_path / "notebooks"
    _failing_notebook(nb_dir, "audit")
    monkeypatch.setattr(paths, "NOTEBOOK_DIR", nb_dir)
    # execute.py reaches the folder through the paths module; patch a module-level copy too if one appears
    if hasattr(execute, "NOTEBOOK_DIR"):
        monkeypatch.setattr(execute, "NOTEBOOK_DIR", nb_dir)
    assert paths.notebook_path("audit") == nb_dir / "audit.ipynb"
    out = tmp_path / "out"
    _touch(out / "audit.html", "previous edition")
    _touch(out / "tables" / "audit-01-old.csv", "a,b\n1,2\n")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(DocumentError) as err:
        execute.run_document("audit", demo_catalogue, out, parameters={"run_date": "2026-11-25"})
    msg = str(err.value)
    assert "'audit'" in msg
    # the injected-parameters cell comes after the tagged one, so the raising cell is code cell 3
    assert "code cell 3" in msg
    assert "raise ValueError('ward table is empty: 42')" in msg
    assert "ValueError: ward table is empty: 42" in msg
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert not list(tmp_path.glob(".out.staging-*")), "a failed run must remove its staging folder"
    # the executed notebook named in the message is kept for inspection (beside the output folder)
    kept = msg.split("The executed notebook is kept at ")[1].split(";")[0]
    executed = nbformat.read(kept, as_version=4)
    assert any(o.get("output_type") == "error" for c in executed.cells for o in c.get("outputs", []))


def test_run_document_validates_document(demo_catalogue, tmp_path):
    with pytest.raises(ValueError, match="`document` must be one of"):
        execute.run_document("annual_report", demo_catalogue, tmp_path)
    with pytest.raises(TypeError, match="`document` must be str"):
        execute.run_document(None, demo_catalogue, tmp_path)


def test_missing_notebook_is_a_document_error(demo_catalogue, tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "NOTEBOOK_DIR", tmp_path / "none")
    with pytest.raises(DocumentError, match="must have a notebook"):
        execute.run_document("audit", demo_catalogue, tmp_path / "out")


def test_write_manifest_merges_documents(tmp_path, demo_catalogue):
    out = tmp_path / "out"
    out.mkdir()
    run_a = execute.DocumentRun("audit", out / "audit.html", out / "notebooks" / "audit.ipynb",
                                [out / "tables" / "audit-01-x.csv"], {"run_date": "2026-11-25"}, {"total": 1.0})
    run_b = execute.DocumentRun("evaluation", out / "evaluation.html", out / "notebooks" / "evaluation.ipynb",
                                [], {}, {})
    execute._write_manifest(out, demo_catalogue, run_a, {"a": "1"})
    execute._write_manifest(out, demo_catalogue, run_b, {"a": "2"})
    m = json.loads((out / "manifest.json").read_text())
    assert set(m["documents"]) == {"audit", "evaluation"}
    assert m["documents"]["audit"]["outputs"] == {"html": "audit.html", "notebook": "notebooks/audit.ipynb",
                                                  "tables": ["tables/audit-01-x.csv"]}
    assert m["inputs"] == {"a": "2"} and m["versions"]["assessment"] == __version__


def _quick_notebook(folder, name):
    """A notebook that publishes one table in a second, standing in for a real document."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("catalogue = None\nout_dir = None\nrun_date = None")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "from pathlib import Path\n"
        "(Path(out_dir) / 'tables').mkdir(parents=True, exist_ok=True)\n"
        f"(Path(out_dir) / 'tables' / '{name}-01-new.csv').write_text('area,n\\nW1,40\\n')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{name}.ipynb")


def test_assess_run_with_an_undeletable_old_table_exits_1_with_a_plain_message(demo_catalogue, tmp_path,
                                                                               monkeypatch, capsys):
    """Through the real CLI: the old table cannot be moved (as with ``chattr +i``); nothing changes."""
    from assessment import cli
    from assessment.reporting import publish

    nb_dir = tmp_path / "notebooks"
    _quick_notebook(nb_dir, "audit")
    monkeypatch.setattr(paths, "NOTEBOOK_DIR", nb_dir)
    out = tmp_path / "out"
    _touch(out / "audit.html", "previous edition")
    _touch(out / "tables" / "audit-01-old.csv", "a,b\n1,2\n")
    _touch(out / "manifest.json", '{"documents": {"audit": {}}}\n')
    stuck = out / "tables" / "audit-01-old.csv"
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    real_replace = publish.FileOps.replace

    def replace(self, src, dst):
        if src == stuck:
            self._start("replace", src)
            raise PermissionError(1, "Operation not permitted", str(src))
        return real_replace(self, src, dst)

    monkeypatch.setattr(publish.FileOps, "replace", replace)
    code = cli.main(["run", "audit", "--catalogue", str(demo_catalogue), "--out", str(out),
                     "--param", "run_date=2026-11-25"])
    captured = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in captured.err + captured.out
    assert str(stuck) in captured.err and "Operation not permitted" in captured.err
    assert "previous version was left in place" in captured.err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert not list(tmp_path.glob(".out.staging-*")) and not (out / publish.TRANSACTION_DIR).exists()
    # without the fault the same run publishes, and its manifest entry arrives with its files
    monkeypatch.setattr(publish.FileOps, "replace", real_replace)
    assert cli.main(["run", "audit", "--catalogue", str(demo_catalogue), "--out", str(out),
                     "--param", "run_date=2026-11-25"]) == 0
    assert sorted(p.name for p in (out / "tables").iterdir()) == ["audit-01-new.csv"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["documents"]["audit"]["outputs"]["tables"] == ["tables/audit-01-new.csv"]
    assert not list(tmp_path.glob(".out.staging-*"))


def test_input_hashes_cover_the_harm_index_file(demo_catalogue, tmp_path):
    """A harm index changes the priorities, so the manifest must record which file was used."""
    import yaml

    raw = yaml.safe_load(demo_catalogue.read_text(encoding="utf-8"))
    (demo_catalogue.parent / "harm_test_weights.csv").write_text("crime_type,weight\nBurglary,2.5\n")
    raw["harm_weights"] = {"file": "harm_test_weights.csv", "index": "An index", "source": "A publisher, table 1",
                           "year": "2024", "mapping": "one weight per crime type"}
    other = demo_catalogue.parent / "catalogue_with_harm.yaml"
    other.write_text(yaml.safe_dump(raw), encoding="utf-8")
    try:
        hashes = execute.input_hashes(other)
        assert hashes["harm_test_weights.csv"] == hashlib.sha256(b"crime_type,weight\nBurglary,2.5\n").hexdigest()
        assert "harm_test_weights.csv" not in execute.input_hashes(demo_catalogue)
    finally:
        other.unlink()
        (demo_catalogue.parent / "harm_test_weights.csv").unlink()


def _kernel_says(km, code: str) -> str:
    """Run ``code`` in the started kernel ``km``; return what it printed."""
    client = km.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        out: list[str] = []
        client.execute_interactive(code, timeout=60,
                                   output_hook=lambda msg: out.append(msg["content"].get("text", ""))
                                   if msg["msg_type"] == "stream" else None)
        return "".join(out).strip()
    finally:
        client.stop_channels()


def test_start_kernel_sets_the_allocators_unless_the_environment_does(monkeypatch):
    from jupyter_client.manager import KernelManager

    probe = ("import os, pyarrow; print(pyarrow.default_memory_pool().backend_name, "
             "os.environ.get('MALLOC_MMAP_THRESHOLD_'), os.environ.get('GLIBC_TUNABLES'), os.getcwd())")
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    km = execute.start_kernel(KernelManager(kernel_name="python3"))
    try:
        said = _kernel_says(km, probe).split()
        env = execute.KERNEL_ENVIRONMENT
        assert said[:3] == ["system", env["MALLOC_MMAP_THRESHOLD_"], env["GLIBC_TUNABLES"]]
        assert said[3] == str(paths.NOTEBOOK_DIR)
        km.restart_kernel(now=True)  # a restarted kernel keeps them
        assert _kernel_says(km, probe).split()[:3] == said[:3]
    finally:
        km.shutdown_kernel(now=True)
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "mimalloc")  # a user's own setting wins
    km = execute.start_kernel(KernelManager(kernel_name="python3"))
    try:
        assert _kernel_says(km, probe).split()[0] == "mimalloc"
    finally:
        km.shutdown_kernel(now=True)


def test_kernels_talk_over_unix_sockets_where_the_platform_has_them(monkeypatch, tmp_path):
    import os
    import shutil
    import tempfile
    from pathlib import Path

    if os.name != "posix":
        assert execute.kernel_transport() == "tcp"
        return
    runtime = Path(tempfile.mkdtemp(prefix="rt"))  # short: socket paths are limited (tmp_path can be long)
    try:
        monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
        assert execute.kernel_transport() == "ipc"
        km = execute.start_kernel()
        try:
            assert km.transport == "ipc" and str(km.ip).startswith(str(runtime))
            assert _kernel_says(km, "print(6 * 7)") == "42"
            sockets = [p for p in runtime.iterdir() if "-ipc-" in p.name]
            assert len(sockets) == 5  # shell, iopub, stdin, control, heartbeat: no TCP port is opened
        finally:
            km.shutdown_kernel(now=True)
        assert not [p for p in runtime.iterdir() if "-ipc-" in p.name]  # removed with the kernel
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
    # a runtime folder too deep for a socket path (108 bytes on Linux) falls back to TCP
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / ("d" * 80)))
    assert execute.kernel_transport() == "tcp"
