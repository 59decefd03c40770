"""The notebooks are thin: one parameters cell, then one package call per cell, no outputs.

Each notebook also runs top to bottom with its default parameters, as in JupyterLab, against
the demo catalogue.
"""

from __future__ import annotations

import ast
import os
import re

import nbformat
import pytest

from assessment import paths
from assessment.reporting.document import DOCUMENTS

NOTEBOOKS = [paths.notebook_path(d) for d in DOCUMENTS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_thin_and_clean(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell must be tagged `parameters`"
    assert code[0] is tagged[0], "the parameters cell comes first"
    for cell in code:
        assert not cell.get("outputs"), "notebooks are committed without outputs"
        assert cell.get("execution_count") is None
    # The opening cell imports the document's own module and opens the document.
    opening = ast.parse(code[1].source).body
    assert isinstance(opening[0], ast.ImportFrom) and opening[0].module == "assessment.documents"
    assert [a.name for a in opening[0].names] == [path.stem]
    assert isinstance(opening[1], ast.Assign)
    # Every other cell is one call of one public function of that module on `doc`.
    for cell in code[2:]:
        assert re.fullmatch(r"document\.section_[a-z_]+\(doc\)", cell.source.strip()), cell.source


@pytest.fixture(scope="module")
def demo_raw_files():
    """The demo's raw files in the project's data folder, as `make lab` prepares them."""
    from assessment.demo import write_demo_partnership

    stamp = paths.DEMO_RAW_DIR / ".seed"
    if not stamp.is_file():
        write_demo_partnership(paths.DEMO_RAW_DIR, seed=2026)
        stamp.write_text("2026\n")
    return paths.DEMO_RAW_DIR


@pytest.mark.slow
@pytest.mark.parametrize("document", ["strategic_assessment", "data_quality"])
def test_notebook_runs_with_its_defaults(document, demo_raw_files, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("ASSESSMENT_PSEUDONYM_KEY", os.environ.get("ASSESSMENT_PSEUDONYM_KEY",
                                                                 "riverton-demo-key-not-for-real-data"))
    nb = nbformat.read(paths.notebook_path(document), as_version=4)
    # Send this run's outputs to a temporary folder; otherwise the defaults stand as written.
    params = nb.cells[1] if "parameters" in nb.cells[1].metadata.get("tags", []) else nb.cells[0]
    params.source += f"\nout_dir = {str(tmp_path)!r}"
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(paths.NOTEBOOK_DIR)}}).execute()
    shown = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
             if o.get("output_type") == "execute_result"]
    assert len(shown) >= 5
    assert all("text/html" in o["data"] for o in shown)
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert (tmp_path / "tables").is_dir()


def test_the_notebook_tool_writes_the_committed_notebooks(tmp_path):
    """tools/make_notebooks.py regenerates every committed notebook cell for cell (sources, kinds, tags)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_notebooks", paths.PROJECT_ROOT / "tools" / "make_notebooks.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert set(tool.DOCUMENTS) == set(DOCUMENTS)
    tool.main(tmp_path)
    for name in DOCUMENTS:
        made = nbformat.read(tmp_path / f"{name}.ipynb", as_version=4)
        committed = nbformat.read(paths.notebook_path(name), as_version=4)

        def cells(nb):
            return [(c.cell_type, c.source, tuple(c.metadata.get("tags", []))) for c in nb.cells]

        assert cells(made) == cells(committed), name
