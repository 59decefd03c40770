"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from assessment import paths


@pytest.fixture(scope="session")
def catalogue_path() -> Path:
    """The demo catalogue committed at the project root."""
    return paths.DEMO_CATALOGUE


@pytest.fixture(scope="session")
def shared_police_dir() -> Path:
    """The real data.police.uk files beside the project; skip when absent."""
    folder = paths.SHARED_POLICE_UK_DIR / "city-of-london"
    if not folder.is_dir():
        pytest.skip(f"real data.police.uk files not found at {folder} (../shared is absent on this machine)")
    return folder


DEMO_KEY = "riverton-demo-key-for-tests-only"


@pytest.fixture(scope="session")
def demo_catalogue(tmp_path_factory) -> Path:
    """A freshly generated Riverton partnership in a temporary folder, with its catalogue.

    The committed catalogue is copied with ``data_root`` pointed at the generated files and
    ``horizon_scan`` made absolute, so tests never depend on files left by earlier runs.
    """
    import os

    import yaml

    from assessment.demo import write_demo_partnership

    os.environ.setdefault("ASSESSMENT_PSEUDONYM_KEY", DEMO_KEY)
    root = tmp_path_factory.mktemp("riverton")
    write_demo_partnership(root / "raw", seed=2026)
    raw = yaml.safe_load(paths.DEMO_CATALOGUE.read_text(encoding="utf-8"))
    raw["data_root"] = "raw"
    raw["horizon_scan"] = str(paths.PROJECT_ROOT / raw["horizon_scan"])
    cat = root / "data_catalogue.yaml"
    cat.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return cat


@pytest.fixture(scope="session")
def demo_workbench(demo_catalogue):
    """The harmonised demo partnership (intake, geography, population), built once per session."""
    import datetime as dt
    import warnings

    from assessment.catalogue import load_catalogue
    from assessment.reporting.workbench import build_workbench

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_workbench(load_catalogue(demo_catalogue), None, dt.date(2026, 11, 25))


@pytest.fixture(scope="session")
def demo_document(demo_catalogue, tmp_path_factory):
    """A factory: open a document on the generated demo, sharing one workbench per session."""
    from assessment.reporting.document import open_document

    cache = tmp_path_factory.mktemp("cache")

    def _open(document: str = "strategic_assessment", **params):
        out = tmp_path_factory.mktemp(document)
        return open_document(demo_catalogue, document=document, out_dir=out, cache_dir=cache,
                             run_date="2026-11-25", **params)

    return _open
