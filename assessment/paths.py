"""Every path the workbench uses is derived here, from one place.

The project root is the folder holding ``data_catalogue.yaml``. Raw data for the
demo partnership is generated under ``data/raw/``; run outputs go under
``outputs/``. Notebooks and templates are found relative to the root.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = Path(os.environ.get("ASSESSMENT_ROOT", PACKAGE_DIR.parent)).resolve()
NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
TEMPLATE_DIR = PROJECT_ROOT / "templates"
OUTPUT_DIR = PROJECT_ROOT / "outputs"
DOCS_DIR = PROJECT_ROOT / "docs"
DATA_DIR = PROJECT_ROOT / "data"
DEMO_RAW_DIR = DATA_DIR / "raw"
DEMO_CATALOGUE = PROJECT_ROOT / "data_catalogue.yaml"
PACKAGE_DATA_DIR = PACKAGE_DIR / "data"
SHARED_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data"
SHARED_POLICE_UK_DIR = SHARED_DATA_DIR / "police_uk"
CHROMIUM = Path(os.environ.get("ASSESSMENT_CHROMIUM", "/usr/bin/chromium"))
"""Headless Chromium for PDF export and the browser tests (Debian's package by default)."""


def notebook_path(document: str) -> Path:
    """Return the notebook file for a document name such as ``strategic-assessment``."""
    return NOTEBOOK_DIR / f"{document.replace('-', '_')}.ipynb"


def package_data_path(name: str) -> Path:
    """Return a file shipped inside the package (weights, vocabularies)."""
    return PACKAGE_DATA_DIR / name


def disclosure_register(out_dir: str | Path) -> Path:
    """Return the run folder's register of published protected tables (``disclosure_register.json``).

    It holds only what the documents published (suppressed cells as null), so that every
    document of one edition can be audited against the tables the others published.
    """
    return Path(out_dir) / "disclosure_register.json"
