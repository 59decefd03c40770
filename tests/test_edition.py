"""run_edition: the documents of one edition in one warm kernel, each still its own notebook and manifest entry."""

from __future__ import annotations

import json

import nbformat
import pytest

from assessment import paths
from assessment.reporting import execute


def _pid_notebook(folder, name, fail=False):
    """A notebook that records its kernel's process id and module state, and publishes one table."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("catalogue = None\nout_dir = None\nrun_date = None\npid_file = None")
    params.metadata["tags"] = ["parameters"]
    body = ("import os, sys\nfrom pathlib import Path\n"
            "(Path(out_dir) / 'tables').mkdir(parents=True, exist_ok=True)\n"
            f"(Path(out_dir) / 'tables' / '{name}-01-new.csv').write_text('area,n\\nW1,40\\n')\n"
            f"with open(pid_file, 'a') as fh: fh.write(f'{name} {{os.getpid()}}\\n')")
    cells = [params, nbformat.v4.new_code_cell(body)]
    if fail:
        cells.append(nbformat.v4.new_code_cell("raise ValueError('no wards in this edition: 7')"))
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{name}.ipynb")


@pytest.fixture
def tiny_notebooks(tmp_path, monkeypatch):
    nb_dir = tmp_path / "notebooks"
    _pid_notebook(nb_dir, "audit")
    _pid_notebook(nb_dir, "data_quality")
    _pid_notebook(nb_dir, "evaluation", fail=True)
    monkeypatch.setattr(paths, "NOTEBOOK_DIR", nb_dir)
    return tmp_path


def _pids(path):
    return dict(line.split() for line in path.read_text().splitlines())


def test_one_kernel_for_the_edition_and_one_hashing(demo_catalogue, tiny_notebooks, monkeypatch):
    out = tiny_notebooks / "out"
    pid_file = tiny_notebooks / "pids.txt"
    hashed = []
    real = execute.input_hashes
    monkeypatch.setattr(execute, "input_hashes", lambda path: hashed.append(path) or real(path))
    params = {"run_date": "2026-11-25", "pid_file": str(pid_file)}
    runs, failures = execute.run_edition([("audit", params, "audit"), ("evaluation", params, "evaluation"),
                                          ("data_quality", params, "data_quality")], demo_catalogue, out,
                                         errors="continue")
    assert [r.document for r in runs] == ["audit", "data_quality"]
    assert list(failures) == ["evaluation"] and "no wards in this edition: 7" in failures["evaluation"]
    assert len(hashed) == 1
    pids = _pids(pid_file)
    assert pids["audit"] == pids["evaluation"]  # the first two shared the warm kernel
    assert pids["data_quality"] != pids["evaluation"]  # a failure restarts the kernel for the next document
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["documents"]) == {"audit", "data_quality"}
    for stem in ("audit", "data_quality"):
        assert (out / f"{stem}.html").is_file()
        assert manifest["documents"][stem]["outputs"]["tables"] == [f"tables/{stem}-01-new.csv"]
    assert manifest["inputs"] == execute.input_hashes(demo_catalogue)


def test_edition_raises_on_failure_by_default_and_keeps_what_was_published(demo_catalogue, tiny_notebooks):
    out = tiny_notebooks / "out"
    params = {"run_date": "2026-11-25", "pid_file": str(tiny_notebooks / "pids.txt")}
    with pytest.raises(execute.DocumentError, match="no wards in this edition"):
        execute.run_edition([("audit", params, "audit"), ("evaluation", params, "evaluation"),
                             ("data_quality", params, "data_quality")], demo_catalogue, out)
    assert (out / "audit.html").is_file() and not (out / "data_quality.html").exists()
    with pytest.raises(TypeError, match="must be \\(document, parameters, output_name\\)"):
        execute.run_edition([("audit", params)], demo_catalogue, out)
    with pytest.raises(ValueError, match="errors"):
        execute.run_edition([], demo_catalogue, out, errors="ignore")


def _register_notebook(folder, name):
    """A notebook that reads the register it is pointed at, records what it saw and adds itself to it."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("catalogue = None\nout_dir = None\npublished_dir = None\nseen_file = None")
    params.metadata["tags"] = ["parameters"]
    body = ("import json, time\nfrom pathlib import Path\n"
            "src = Path(published_dir) / 'disclosure_register.json'\n"
            "before = json.loads(src.read_text()) if src.is_file() else []\n"
            f"with open(seen_file, 'a') as fh: fh.write(json.dumps(['{name}', before, time.time()]) + '\\n')\n"
            f"(Path(out_dir) / 'disclosure_register.json').write_text(json.dumps(before + ['{name}']))")
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{name}.ipynb")


@pytest.fixture
def register_notebooks(tmp_path, monkeypatch):
    nb_dir = tmp_path / "notebooks"
    for name in ("audit", "evaluation", "data_quality"):
        _register_notebook(nb_dir, name)
    monkeypatch.setattr(paths, "NOTEBOOK_DIR", nb_dir)
    return tmp_path


def _seen(path):
    return {name: (before, at) for name, before, at in map(json.loads, path.read_text().splitlines())}


def test_publishing_overlaps_the_next_document_and_keeps_the_register_chain(demo_catalogue, register_notebooks,
                                                                             monkeypatch):
    import threading
    import time

    out = register_notebooks / "out"
    seen_file = register_notebooks / "seen.jsonl"
    finished = {}
    real = execute._finish_document

    def slow_finish(staged, exports, say):  # publishing takes a while: the next document must not wait for it
        start = time.time()
        time.sleep(2.5)
        run = real(staged, exports, say)
        finished[staged.stem] = (start, time.time(), threading.current_thread().name)
        return run

    monkeypatch.setattr(execute, "_finish_document", slow_finish)
    params = {"seen_file": str(seen_file)}
    plan = [("audit", params, "audit"), ("evaluation", params, "evaluation"), ("data_quality", params, "data_quality")]
    runs, failures = execute.run_edition(plan, demo_catalogue, out)
    assert [r.document for r in runs] == ["audit", "evaluation", "data_quality"] and not failures
    seen = _seen(seen_file)
    # Each document saw exactly the documents before it, although they were not yet published ...
    assert seen["audit"][0] == [] and seen["evaluation"][0] == ["audit"]
    assert seen["data_quality"][0] == ["audit", "evaluation"]
    # ... because the next document ran while the one before it was still being published.
    assert seen["evaluation"][1] < finished["audit"][1]
    assert seen["data_quality"][1] < finished["evaluation"][1]
    assert all(name.startswith("publish") for *_, name in finished.values())
    assert json.loads((out / "disclosure_register.json").read_text()) == ["audit", "evaluation", "data_quality"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["documents"]) == {"audit", "evaluation", "data_quality"}
    assert not list(out.parent.glob(f".{out.name}.staging-*"))  # no staging folder or register copy left behind


def test_a_publication_failure_is_reported_in_order_and_the_rest_is_published(demo_catalogue, register_notebooks,
                                                                             monkeypatch):
    out = register_notebooks / "out"
    params = {"seen_file": str(register_notebooks / "seen.jsonl")}
    real = execute._commit

    def commit(staging, out_dir, document):
        if document == "evaluation":
            raise execute.DocumentError("document 'evaluation' could not be published: disk full (test)")
        return real(staging, out_dir, document)

    monkeypatch.setattr(execute, "_commit", commit)
    plan = [("audit", params, "audit"), ("evaluation", params, "evaluation"), ("data_quality", params, "data_quality")]
    runs, failures = execute.run_edition(plan, demo_catalogue, out, errors="continue")
    assert [r.document for r in runs] == ["audit", "data_quality"]
    assert list(failures) == ["evaluation"] and "disk full (test)" in failures["evaluation"]
    assert not (out / "evaluation.html").exists() and (out / "data_quality.html").is_file()
    with pytest.raises(execute.DocumentError, match="disk full"):
        execute.run_edition(plan, demo_catalogue, register_notebooks / "out2")
    assert (register_notebooks / "out2" / "audit.html").is_file()
    assert not list(register_notebooks.glob(".out2.staging-*"))


def test_without_exports_the_html_is_rendered_while_publishing_and_a_failed_render_is_reported(
        demo_catalogue, register_notebooks, monkeypatch):
    """An edition without exports renders each document on its publishing thread (the kernel goes on);
    a document that cannot be rendered fails alone, its executed notebook kept, the others published."""
    import threading

    out = register_notebooks / "out"
    params = {"seen_file": str(register_notebooks / "seen.jsonl")}
    threads = {}
    real = execute._render_html

    def render(executed, meta):
        threads[executed.stem] = threading.current_thread().name
        if executed.stem == "evaluation":
            raise RuntimeError("template broken (test)")
        return real(executed, meta)

    monkeypatch.setattr(execute, "_render_html", render)
    plan = [("audit", params, "audit"), ("evaluation", params, "evaluation"), ("data_quality", params, "data_quality")]
    runs, failures = execute.run_edition(plan, demo_catalogue, out, errors="continue")
    assert [r.document for r in runs] == ["audit", "data_quality"]
    assert list(failures) == ["evaluation"] and "could not be rendered" in failures["evaluation"]
    assert all(name.startswith("publish") for name in threads.values()) and len(threads) == 3
    assert (out / "data_quality.html").is_file() and not (out / "evaluation.html").exists()
    assert (out.parent / f".{out.name}.failed-evaluation.ipynb").is_file()
    assert not list(out.parent.glob(f".{out.name}.staging-*"))


def test_exports_wait_for_the_kernel_to_be_gone_unless_overlap_is_asked(demo_catalogue, tiny_notebooks, monkeypatch):
    """By default PDFs and Word files are made after the edition's kernel has shut down (peak memory is the
    larger of the two, not their sum); with overlap_exports the next document executes meanwhile."""
    import os

    import psutil

    pid_file = tiny_notebooks / "pids.txt"
    seen = []

    def fake_export(html_path, doc, exports, say, timings):
        kernel_pids = {int(p) for p in _pids(pid_file).values()}
        seen.append((html_path.stem, any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"
                                         for p in kernel_pids if p != os.getpid())))
        return None, None

    monkeypatch.setattr(execute, "_export", fake_export)
    params = {"run_date": "2026-11-25", "pid_file": str(pid_file)}
    plan = [("audit", params, "audit"), ("data_quality", params, "data_quality")]
    runs, _ = execute.run_edition(plan, demo_catalogue, tiny_notebooks / "out", exports=("docx",))
    assert [r.document for r in runs] == ["audit", "data_quality"]
    assert seen == [("audit", False), ("data_quality", False)]  # the kernel was gone before any export
    assert (tiny_notebooks / "out" / "data_quality.html").is_file()
    seen.clear()
    pid_file.unlink()
    runs, _ = execute.run_edition(plan, demo_catalogue, tiny_notebooks / "out2", exports=("docx",),
                                  overlap_exports=True)
    assert [r.document for r in runs] == ["audit", "data_quality"]
    assert seen[0] == ("audit", True)  # exported while the kernel was still up


def test_a_failure_still_publishes_the_documents_staged_before_it_when_exports_wait(demo_catalogue, tiny_notebooks,
                                                                                 monkeypatch):
    monkeypatch.setattr(execute, "_export", lambda html_path, doc, exports, say, timings: (None, None))
    out = tiny_notebooks / "out"
    params = {"run_date": "2026-11-25", "pid_file": str(tiny_notebooks / "pids.txt")}
    with pytest.raises(execute.DocumentError, match="no wards in this edition"):
        execute.run_edition([("audit", params, "audit"), ("evaluation", params, "evaluation"),
                             ("data_quality", params, "data_quality")], demo_catalogue, out, exports=("docx",))
    assert (out / "audit.html").is_file()  # staged before the failure: exported and published all the same
    assert not (out / "data_quality.html").exists()  # after the failure: never run
    assert set(json.loads((out / "manifest.json").read_text())["documents"]) == {"audit"}
    assert not list(tiny_notebooks.glob(".out.staging-*"))
