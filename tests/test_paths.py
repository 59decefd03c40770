"""Tests for assessment/paths.py: every path derives from one root, which ASSESSMENT_ROOT overrides."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assessment import paths
from assessment.reporting.document import DOCUMENTS

_DERIVED = ("NOTEBOOK_DIR", "TEMPLATE_DIR", "OUTPUT_DIR", "DATA_DIR", "DEMO_RAW_DIR", "DEMO_CATALOGUE")


def test_project_root_is_package_parent_and_holds_the_catalogue():
    assert paths.PACKAGE_DIR == Path(paths.__file__).resolve().parent
    if "ASSESSMENT_ROOT" not in os.environ:
        assert paths.PROJECT_ROOT == paths.PACKAGE_DIR.parent
    assert paths.DEMO_CATALOGUE.is_file()
    assert paths.DEMO_CATALOGUE.name == "data_catalogue.yaml"


def test_every_path_derives_from_the_root():
    for name in _DERIVED:
        value = getattr(paths, name)
        assert value.is_relative_to(paths.PROJECT_ROOT), name
    assert paths.DEMO_RAW_DIR.parent == paths.DATA_DIR
    assert paths.SHARED_POLICE_UK_DIR == paths.PROJECT_ROOT.parent / "shared" / "data" / "police_uk"
    assert paths.PACKAGE_DATA_DIR == paths.PACKAGE_DIR / "data"


def test_notebook_path_maps_hyphens_to_underscores():
    assert paths.notebook_path("strategic-assessment") == paths.NOTEBOOK_DIR / "strategic_assessment.ipynb"
    assert paths.notebook_path("audit") == paths.NOTEBOOK_DIR / "audit.ipynb"


@pytest.mark.parametrize("document", DOCUMENTS)
def test_a_notebook_exists_for_every_document(document):
    assert paths.notebook_path(document).is_file()
    assert paths.notebook_path(document.replace("_", "-")).is_file()


def test_package_data_path_points_at_shipped_files():
    assert paths.package_data_path("harm_weights.csv").is_file()
    assert paths.package_data_path("harm_weights.csv").parent == paths.PACKAGE_DIR / "data"


def test_assessment_root_override_by_reload(monkeypatch, tmp_path):
    monkeypatch.setenv("ASSESSMENT_ROOT", str(tmp_path))
    try:
        reloaded = importlib.reload(paths)
        root = tmp_path.resolve()
        assert reloaded.PROJECT_ROOT == root
        for name in _DERIVED:
            assert getattr(reloaded, name).parent in (root, root / "data"), name
        assert reloaded.NOTEBOOK_DIR == root / "notebooks"
        assert reloaded.DEMO_CATALOGUE == root / "data_catalogue.yaml"
        assert reloaded.notebook_path("problem-profile") == root / "notebooks" / "problem_profile.ipynb"
        assert reloaded.SHARED_DATA_DIR == root.parent / "shared" / "data"
        # the package itself does not move
        assert reloaded.PACKAGE_DATA_DIR == Path(reloaded.__file__).resolve().parent / "data"
    finally:
        monkeypatch.delenv("ASSESSMENT_ROOT")
        importlib.reload(paths)
    assert paths.PROJECT_ROOT != tmp_path.resolve()


def test_assessment_root_override_in_a_fresh_interpreter(tmp_path):
    code = ("import json; from assessment import paths; "
            "print(json.dumps({k: str(getattr(paths, k)) for k in "
            "['PROJECT_ROOT', 'NOTEBOOK_DIR', 'OUTPUT_DIR', 'DEMO_CATALOGUE']}))")
    env = {**os.environ, "ASSESSMENT_ROOT": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=str(paths.PACKAGE_DIR.parent), timeout=60)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    root = tmp_path.resolve()
    assert got == {"PROJECT_ROOT": str(root), "NOTEBOOK_DIR": str(root / "notebooks"),
                   "OUTPUT_DIR": str(root / "outputs"), "DEMO_CATALOGUE": str(root / "data_catalogue.yaml")}
