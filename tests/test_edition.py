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
