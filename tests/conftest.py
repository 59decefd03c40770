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


def _render_edition(run_edition, documents, catalogue, out, run_date, **options):
    """Render ``documents`` in one warm kernel; (stem -> DocumentRun, stem -> failure message)."""
    try:
        done, failed = run_edition([(d, {"run_date": run_date, **p}, s) for d, p, s in documents], catalogue, out,
                                   errors="continue", **options)
    except Exception as exc:  # the edition could not start (catalogue, kernel): every document failed
        return {}, {s: f"{type(exc).__name__}: {exc}" for _, _, s in documents}
    return {r.document: r for r in done}, {s: f"DocumentError: {m}" for s, m in failed.items()}


@pytest.fixture(scope="session")
def demo_outputs(demo_catalogue, tmp_path_factory):
    """Every demo document rendered once per session, as ``assess demo`` does, plus an offline one.

    Renders each entry of ``assessment.cli.DEMO_DOCUMENTS`` with ``run_document`` into one
    folder (run date fixed at 2026-11-25), writes the index page over the documents that
    rendered, and renders the strategic assessment again with ``offline=True`` into a second
    folder (sharing the first folder's intake cache). A document whose run raises is recorded
    in ``failures`` (stem -> message) instead of stopping the session, so the tests of the
    other documents still run; tests of a failed document report its message.

    Returns a ``types.SimpleNamespace`` with ``catalogue``, ``out`` (folder), ``runs``
    (stem -> ``DocumentRun``), ``failures`` (stem -> str), ``index`` (path or None),
    ``offline_out`` (folder), ``offline_run`` (``DocumentRun`` or None) and
    ``offline_failure`` (str or None).
    """
    import types
    import warnings

    from assessment.cli import DEMO_DOCUMENTS
    from assessment.reporting.execute import run_document, run_edition
    from assessment.reporting.index import write_index

    run_date = "2026-11-25"
    root = tmp_path_factory.mktemp("demo_outputs")
    out, offline_out = root / "riverton", root / "riverton_offline"
    runs, failures = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # One warm kernel for the edition, as `assess demo` does; a colleague's document still in
        # progress that fails must not stop the others.
        runs, failures = _render_edition(run_edition, DEMO_DOCUMENTS, demo_catalogue, out, run_date,
                                         exports=("pdf", "docx"))
        index = write_index(out, demo_catalogue, list(runs.values())) if runs else None
        offline_run, offline_failure = None, None
        try:
            offline_run = run_document("strategic_assessment", demo_catalogue, offline_out, offline=True,
                                       output_name="strategic_assessment",
                                       parameters={"run_date": run_date, "cache_dir": str(Path(demo_catalogue).parent / ".assessment-cache")})
        except Exception as exc:
            offline_failure = f"{type(exc).__name__}: {exc}"
    return types.SimpleNamespace(catalogue=demo_catalogue, out=out, runs=runs, failures=failures, index=index,
                                 offline_out=offline_out, offline_run=offline_run,
                                 offline_failure=offline_failure)


@pytest.fixture
def demo_copy(demo_catalogue, tmp_path):
    """A factory: a private copy of the demo data and catalogue, to edit or attack freely.

    ``demo_copy(edit=None)`` hard-links every generated file into ``tmp_path/raw`` (instant,
    no extra space; replace a file with ``unlink`` then write, never edit one in place, or
    the shared demo changes too), writes the catalogue with ``data_root: raw`` after
    ``edit(raw_dict)`` and returns ``(catalogue_path, raw_dir)``.
    """
    import os
    import shutil

    import yaml

    def _copy(edit=None):
        raw = yaml.safe_load(Path(demo_catalogue).read_text(encoding="utf-8"))
        data = tmp_path / "raw"
        if not data.exists():
            shutil.copytree(Path(demo_catalogue).parent / raw["data_root"], data, copy_function=os.link)
        raw["data_root"] = "raw"
        if edit is not None:
            edit(raw)
        path = tmp_path / "data_catalogue.yaml"
        path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
        return path, data

    return _copy


# Hostile names planted in a copy of the demo data (issue 9): markup, spreadsheet formulas and DDE.
INJECTED_NAMES = (
    "Castle Hill<img src=x onerror=alert(1)>",
    '=HYPERLINK("http://x","click")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "@SUM(A1)",
    "-2+3+cmd|' /C calc'!A0",
)


def _inject_names(raw: Path) -> None:
    """Rename wards, small areas, neighbourhoods, streets, premises and strategy text of the demo data."""
    import json
    from xml.sax.saxutils import escape as xml_escape

    import geopandas as gpd
    import pandas as pd
    import yaml

    names = list(INJECTED_NAMES)
    geo = raw / "geography"
    for version in ("wards_2019.geojson", "wards_2024.geojson"):  # same code, same name in both versions
        data = json.loads((geo / version).read_text(encoding="utf-8"))
        for i, feature in enumerate(data["features"][:len(names)]):
            feature["properties"]["ward_name"] = names[i]
        (geo / version).write_text(json.dumps(data), encoding="utf-8")
    sa = gpd.read_file(geo / "small_areas.gpkg", layer="small_areas")
    sa.loc[sa.index[:len(names)], "sa_name"] = names
    sa.to_file(geo / "small_areas.gpkg", layer="small_areas", driver="GPKG")
    hoods = sorted((geo / "neighbourhoods").rglob("*.kml"))
    for kml, name in zip(hoods, [*names, "<script>alert(3)</script>Beat"]):
        text = kml.read_text(encoding="utf-8")
        start = text.index("<Placemark>")
        head, tail = text[:start], text[start:]
        old = tail[tail.index("<name>") + 6:tail.index("</name>")]
        kml.write_text(head + tail.replace(f"<name>{old}</name>", f"<name>{xml_escape(name)}</name>", 1),
                       encoding="utf-8")
    premises = raw / "licensing" / "licensed_premises.csv"
    lic = pd.read_csv(premises, dtype=str, keep_default_na=False)
    lic.loc[lic.index[:len(names)], "premises_name"] = names
    lic.to_csv(premises, index=False, lineterminator="\n")
    streets = sorted((raw / "police").rglob("*-street.csv"))
    first = pd.read_csv(streets[0], dtype=str, keep_default_na=False)["Location"]
    common = first[first.str.startswith("On or near")].value_counts().index[:2]
    hostile = {common[0]: f"On or near {names[0]}", common[1]: names[1]}
    for path in streets:  # 36 monthly files
        month = pd.read_csv(path, dtype=str, keep_default_na=False)
        month["Location"] = month["Location"].replace(hostile)
        month.to_csv(path, index=False, lineterminator="\n")
    strategy = raw / "strategy" / "previous_strategy.yaml"
    plan = yaml.safe_load(strategy.read_text(encoding="utf-8"))
    plan["targets"][0]["text"] = f'{names[1]} {plan["targets"][0]["text"]}'
    plan["priorities"][-1]["title"] = f'{plan["priorities"][-1]["title"]}<img src=x onerror=alert(4)>'
    strategy.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")


def _inject_survey_and_titles(raw: dict, data: Path) -> None:
    """Hostile survey comments and concerns, and hostile dataset titles in the catalogue ``raw``."""
    import pandas as pd

    names = list(INJECTED_NAMES)
    survey = raw["datasets"]["residents_survey"]
    path, cols = data / survey["path"], survey["columns"]
    answers = pd.read_csv(path, dtype=str, keep_default_na=False)
    commented = answers.index[answers[cols["comment"]] != ""][:4]
    answers.loc[commented, cols["comment"]] = ["<script>alert(7)</script> Speeding cars every night", names[1],
                                               "@SUM(A1) litter on the green", f"{names[0]} drug dealing"]
    answers.loc[answers.index[:40], cols["concern_3"]] = names[4]
    answers.to_csv(path, index=False, lineterminator="\n")
    raw["datasets"]["previous_strategy"]["title"] += "<img src=x onerror=alert(6)>"
    raw["datasets"]["police_outcomes"]["title"] = f'{names[1]} {raw["datasets"]["police_outcomes"]["title"]}'


@pytest.fixture(scope="session")
def injected_outputs(demo_catalogue, tmp_path_factory):
    """Every demo document rendered ONCE per session, offline, from a copy of the demo data with hostile names.

    The demo's ward, small-area, neighbourhood, street and premises names, a strategy target
    and priority, survey comments and a concern, two dataset titles and the partnership's name
    are replaced by or carry ``INJECTED_NAMES``: HTML that runs script if shown as markup, and text
    that a spreadsheet runs as a formula. Shared by the spreadsheet checks
    (tests/test_escaping_e2e.py) and the browser test that hovers and clicks every map feature
    (tests/test_browser.py). Rendered offline, so a browser needs no network at all.

    Returns a ``types.SimpleNamespace`` with ``catalogue``, ``out``, ``runs`` (stem ->
    ``DocumentRun``), ``failures`` (stem -> message) and ``index`` (the index page); a document that fails to render is a
    test failure, never a skip.
    """
    import shutil
    import types
    import warnings

    import yaml

    from assessment.cli import DEMO_DOCUMENTS
    from assessment.reporting.execute import run_edition
    from assessment.reporting.index import write_index

    root = tmp_path_factory.mktemp("injected")
    shutil.copytree(Path(demo_catalogue).parent / "raw", root / "raw")
    _inject_names(root / "raw")
    raw = yaml.safe_load(Path(demo_catalogue).read_text(encoding="utf-8"))
    raw["partnership"]["name"] += "<img src=x onerror=alert(5)>"
    _inject_survey_and_titles(raw, root / "raw")
    cat = root / "data_catalogue.yaml"
    cat.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    out = root / "out"
    runs, failures = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs, failures = _render_edition(run_edition, DEMO_DOCUMENTS, cat, out, "2026-11-25", offline=True)
        index = write_index(out, cat, list(runs.values())) if runs else None
    return types.SimpleNamespace(catalogue=cat, out=out, runs=runs, failures=failures, index=index)
