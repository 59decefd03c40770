"""Tests for assessment/reporting/kinds.py: every kind of document has its module, notebook,
partner-facing name and sharing use, and the module has the functions its notebook calls."""

from __future__ import annotations

import ast
import importlib
import json

from assessment import paths
from assessment.reporting import kinds


def test_every_kind_has_a_module_a_name_and_a_use():
    assert len(set(kinds.DOCUMENTS)) == len(kinds.DOCUMENTS)
    for table in (kinds.DOCUMENT_MODULES, kinds.DOCUMENT_NAMES, kinds.DOCUMENT_USES):
        assert set(table) == set(kinds.DOCUMENTS)


def test_each_notebook_calls_its_own_document_module():
    for name in kinds.DOCUMENTS:
        module = importlib.import_module(kinds.DOCUMENT_MODULES[name])
        nb = json.loads(paths.notebook_path(name).read_text())
        code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
        short = kinds.DOCUMENT_MODULES[name].rsplit(".", 1)
        assert any(f"from {short[0]} import {short[1]} as document" in c for c in code), name
        called = [c.split("(")[0].split(".", 1)[1] for c in code if c.startswith("document.")]
        assert called and all(callable(getattr(module, f)) for f in called), name


def test_kinds_imports_no_other_module_of_the_package():
    tree = ast.parse(paths.PROJECT_ROOT.joinpath("assessment", "reporting", "kinds.py").read_text())
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert [getattr(n, "module", None) for n in imports] == ["__future__"]
