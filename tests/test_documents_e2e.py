"""End-to-end checks of the rendered partner documents (issue 5 acceptance).

Every document of ``assess demo`` (``assessment.cli.DEMO_DOCUMENTS``) is rendered once per
session by the ``demo_outputs`` fixture (tests/conftest.py) on a freshly generated Riverton
partnership. The tests read what a partner receives: the HTML pages, ``tables/*.csv``, the
Excel workbooks and ``manifest.json``.

What is partner-facing
    The document HTML files, ``index.html`` and ``tables/`` (CSV and Excel). They must never
    show a count from 1 to threshold - 1 from a dataset not marked public.
    ``quality/`` is *analyst-facing*: ``quality/quarantine/*.csv`` holds every rejected row
    as read (that is its purpose: nothing is dropped silently), so it cannot be
    disclosure-controlled without defeating itself; the partner-facing view of intake
    quality is the data quality document, which goes through ``Document.table``. Whatever
    the audience, quarantined rows of personal data must never hold raw identifiers, which
    is tested here. ``restricted_unsuppressed/`` is the analyst's unsuppressed folder and is
    never published or linked.

Documents that fail to render
    Fail every test of that document with the run's message, whatever the error (an
    ``AttributeError`` naming ``section_`` included): a render failure is never a skip.
"""

from __future__ import annotations

import hashlib
import html as htmlmod
import json
import os
import re
import shutil
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from assessment import disclosure
from assessment.cli import DEMO_DOCUMENTS

pytestmark = pytest.mark.slow

STEMS = [stem for _, _, stem in DEMO_DOCUMENTS]
THRESHOLD_KEY = "suppression_threshold"
XSS = "<script>alert(1)</script>"
_SRCDOC = re.compile(r'srcdoc="([^"]*)"')
_TABLE_OPEN = re.compile(r'<table\b[^>]*\bclass="doc-table"[^>]*>')
_ATTR_ID = re.compile(r'\bid="table-(\d+)"')
_ATTR_SENS = re.compile(r'\bdata-sensitivity="([a-z]*)"')
_DATA_NOTE = re.compile(r"Data: (?:<a [^>]*>)?tables/([^<\s]+\.csv)")


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------

def rendered(outputs, stem: str):
    """The document's run; a document that did not render fails its tests, whatever the error.

    (Render failures used to be skipped when they looked like an unfinished module, e.g. an
    ``AttributeError`` naming ``section_``; a skip hid real breakage, so every failure fails.)
    """
    if stem in outputs.runs:
        return outputs.runs[stem]
    pytest.fail(f"{stem} did not render: {outputs.failures.get(stem, 'not rendered')}")


def test_a_render_failure_fails_instead_of_skipping():
    """The hole the issue 9 audit found: a missing section function was reported as a skip."""
    import types

    outputs = types.SimpleNamespace(runs={}, failures={
        "audit": "DocumentError: document 'audit' failed in code cell 4 (`document.section_harm()`): "
                 "AttributeError: module 'assessment.documents.audit' has no attribute 'section_harm'"})
    with pytest.raises(pytest.fail.Exception, match="audit did not render: .*section_harm"):
        rendered(outputs, "audit")
    with pytest.raises(pytest.fail.Exception, match="not rendered"):
        rendered(outputs, "evaluation")


def page_text(outputs, stem: str) -> str:
    return rendered(outputs, stem).html.read_text(encoding="utf-8")


def without_maps(page: str) -> str:
    """The page with every map iframe's (escaped) srcdoc emptied."""
    return _SRCDOC.sub('srcdoc=""', page)


def map_pages(page: str) -> list[str]:
    """The Leaflet pages embedded in the document's map iframes, unescaped."""
    return [htmlmod.unescape(s) for s in _SRCDOC.findall(page)]


def threshold_of(outputs) -> int:
    raw = yaml.safe_load(Path(outputs.catalogue).read_text(encoding="utf-8"))
    return int(raw["partnership"][THRESHOLD_KEY])


def html_tables(page: str, stem: str) -> list[tuple[int, str, str | None]]:
    """(number, data-sensitivity, CSV name from the table's 'Data:' note) for every document table."""
    main = without_maps(page)
    opens = list(_TABLE_OPEN.finditer(main))
    out = []
    for i, m in enumerate(opens):
        end = opens[i + 1].start() if i + 1 < len(opens) else len(main)
        note = _DATA_NOTE.search(main, m.end(), end)
        number, sens = _ATTR_ID.search(m.group(0)), _ATTR_SENS.search(m.group(0))
        assert number and sens, f"{stem}: table without a number or data-sensitivity: {m.group(0)}"
        out.append((int(number.group(1)), sens.group(1), note.group(1) if note else None))
    return out


def csv_tables(outputs, stem: str) -> list[Path]:
    return sorted((outputs.out / "tables").glob(f"{stem}-[0-9][0-9]-*.csv"))


def count_columns_from_total_row(frame: pd.DataFrame) -> list[str] | None:
    """Count columns of a table published through disclosure control: those filled in its Total row.

    ``Document.table`` always publishes totals for protected counts (a Total row, and a Total
    column when there are several count columns); label and rate columns are empty in the
    Total row. Returns None when the table has no Total row.
    """
    first = frame.columns[0]
    is_total = frame[first].astype("string").str.strip().eq("Total").fillna(False)
    if is_total.sum() != 1:
        return None
    row = frame.loc[is_total].iloc[0]
    return [c for c in frame.columns[1:] if pd.notna(row[c]) and str(row[c]).strip() != ""]


def small_count_cells(frame: pd.DataFrame, columns: list[str], threshold: int) -> list[tuple[int, str, str]]:
    bad = []
    for col in columns:
        text = frame[col].astype("string").str.replace(",", "", regex=False).str.strip()
        nums = pd.to_numeric(text, errors="coerce")
        whole = text.str.fullmatch(r"\d+(?:\.0+)?").fillna(False)
        hit = whole & (nums >= 1) & (nums <= threshold - 1)
        bad += [(int(i), col, str(frame[col].iloc[i])) for i in np.flatnonzero(hit.to_numpy())]
    return bad


# ---------------------------------------------------------------------------------------
# every document renders
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("stem", STEMS)
def test_document_renders(demo_outputs, stem):
    run = rendered(demo_outputs, stem)
    assert run.html.is_file() and run.html.stat().st_size > 10_000, f"{run.html} is missing or nearly empty"
    assert run.notebook.is_file(), f"the executed notebook of {stem} was not kept at {run.notebook}"


def test_index_links_every_rendered_document(demo_outputs):
    assert demo_outputs.index is not None and demo_outputs.index.is_file()
    page = demo_outputs.index.read_text(encoding="utf-8")
    for stem, run in demo_outputs.runs.items():
        assert f'href="{run.html.name}"' in page, f"index.html does not link {stem}"
        assert (demo_outputs.out / run.html.name).is_file()
    assert disclosure.RESTRICTED_DIRNAME not in page


# ---------------------------------------------------------------------------------------
# disclosure: no small counts from protected data in anything a partner receives
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("stem", STEMS)
def test_html_marked_tables_show_no_small_counts(demo_outputs, stem):
    page = page_text(demo_outputs, stem)
    found = disclosure.find_small_counts(page, threshold_of(demo_outputs), only_marked=True)
    assert found.empty, f"{stem}.html shows small counts in protected tables:\n{found.head(20)}"


def test_index_shows_no_small_counts(demo_outputs):
    if demo_outputs.index is None:
        pytest.fail(f"no document rendered, so there is no index: {demo_outputs.failures}")
    text = demo_outputs.index.read_text(encoding="utf-8")
    assert disclosure.find_small_counts(text, threshold_of(demo_outputs), only_marked=True).empty


@pytest.mark.parametrize("stem", STEMS)
def test_every_csv_belongs_to_a_numbered_html_table(demo_outputs, stem):
    """The CSV <-> HTML table mapping the disclosure checks rely on: one CSV per table, same number."""
    page = page_text(demo_outputs, stem)
    tables = html_tables(page, stem)
    csvs = {p.name for p in csv_tables(demo_outputs, stem)}
    assert [n for n, _, _ in tables] == list(range(1, len(tables) + 1)), f"{stem}: tables are not numbered 1..n"
    for number, _, note in tables:
        assert note is not None, f"{stem} table {number} has no 'Data: tables/...' note"
        assert note.startswith(f"{stem}-{number:02d}-"), f"{stem} table {number} points at {note}"
        assert note in csvs, f"{stem} table {number} points at {note}, which was not written"
    assert csvs == {note for _, _, note in tables}, f"{stem}: CSVs without a table in the document: " \
        f"{sorted(csvs - {note for _, _, note in tables})}"


@pytest.mark.parametrize("stem", STEMS)
def test_csv_of_protected_tables_hold_no_small_counts(demo_outputs, stem):
    """Every CSV of a table marked official/sensitive/personal in the HTML: no count 1..threshold-1."""
    page = page_text(demo_outputs, stem)
    threshold = threshold_of(demo_outputs)
    checked, problems = 0, []
    for number, sensitivity, note in html_tables(page, stem):
        if sensitivity == "public" or note is None:
            continue
        path = demo_outputs.out / "tables" / note
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if sensitivity == "mixed" and "dataset" in frame.columns:
            # one row per dataset (record accounting): the threshold rule holds for the rows of
            # sensitive and personal datasets (Document.ACCOUNTING_PROTECTED); scan those rows
            from assessment.catalogue import load_catalogue
            from assessment.reporting.document import ACCOUNTING_PROTECTED

            cat = load_catalogue(demo_outputs.catalogue, check_files=False)
            protected = {d.title for d in cat.datasets.values() if d.sensitivity in ACCOUNTING_PROTECTED}
            rows = frame[frame["dataset"].isin(protected)]
            found = disclosure.find_small_counts(rows.to_csv(index=False), threshold, fmt="csv")
            problems += [f"{note} column {c!r} = {v!r} (a sensitive or personal dataset's row)"
                         for c, v in zip(found["column"], found["value"])]
            checked += 1
            continue
        cols = count_columns_from_total_row(frame)
        if sensitivity == "mixed":
            # One row per dataset: only rows of protected datasets are controlled (public data are already
            # published); the rows are named by dataset title.
            raw = yaml.safe_load(Path(demo_outputs.catalogue).read_text(encoding="utf-8"))
            titles = {d["title"] for d in raw["datasets"].values() if d.get("sensitivity", "public") != "public"}
            mine = frame[frame.iloc[:, 0].isin(titles)].reset_index(drop=True)
            scan = cols or [c for c in frame.columns if not disclosure.NON_COUNT_HEADER.search(str(c))]
            problems += [f"{note} row {mine.iloc[i, 0]!r} column {c!r} = {v!r}"
                         for i, c, v in small_count_cells(mine, scan, threshold)]
            checked += 1
            continue
        if cols is None:  # published without totals: scan every column that is not a rate, code, year...
            found = disclosure.find_small_counts(path.read_text(encoding="utf-8"), threshold, fmt="csv")
            problems += [f"{note} row {r} column {c!r} = {v!r}" for r, c, v in
                         zip(found["row"], found["column"], found["value"])]
        else:
            assert cols, f"{note}: a protected table with a Total row must have count columns"
            problems += [f"{note} row {i + 1} column {c!r} = {v!r}" for i, c, v in
                         small_count_cells(frame, cols, threshold)]
        checked += 1
    assert not problems, f"{stem}: small counts from protected data in tables/:\n" + "\n".join(problems[:20])
    if checked == 0:
        pytest.skip(f"{stem} publishes no table marked as protected data")


@pytest.mark.parametrize("stem", STEMS)
def test_rows_naming_protected_datasets_hold_no_small_counts(demo_outputs, stem):
    """A belt-and-braces check independent of the data-sensitivity marking.

    A table marked public can still carry counts from protected data (e.g. one row per
    agency). In every CSV of the document, a row naming a sensitive or personal dataset by its
    catalogue title must not hold a whole number from 1 to threshold - 1 in a count-like column.
    (A row naming a dataset counts that whole dataset's records; for official data such counts
    identify no one and are shown: ``Document.ACCOUNTING_PROTECTED``.)
    """
    from assessment.reporting.document import ACCOUNTING_PROTECTED

    rendered(demo_outputs, stem)
    raw = yaml.safe_load(Path(demo_outputs.catalogue).read_text(encoding="utf-8"))
    titles = {d["title"] for d in raw["datasets"].values()
              if d.get("sensitivity", "public") in ACCOUNTING_PROTECTED}
    threshold = threshold_of(demo_outputs)
    problems = []
    for path in csv_tables(demo_outputs, stem):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        names = frame.isin(titles).any(axis=1)
        if not names.any():
            continue
        # "files" counts source files, not records about people or events.
        cols = [c for c in frame.columns if not disclosure.NON_COUNT_HEADER.search(str(c)) and c != "files"]
        sub = frame.loc[names.to_numpy()].reset_index(drop=True)
        problems += [f"{path.name} column {c!r} = {v!r}" for _, c, v in small_count_cells(sub, cols, threshold)]
    assert not problems, f"{stem}: small counts on rows naming protected datasets:\n" + "\n".join(problems)


def test_restricted_folder_is_never_linked_and_matches_suppressed_tables(demo_outputs):
    out = demo_outputs.out
    pages = [r.html for r in demo_outputs.runs.values()] + ([demo_outputs.index] if demo_outputs.index else [])
    for p in pages:
        assert disclosure.RESTRICTED_DIRNAME not in p.read_text(encoding="utf-8"), f"{p.name} mentions the restricted folder"
    restricted = out / disclosure.RESTRICTED_DIRNAME
    # Unsuppressed copies of published tables are named like them (<document>-NN-<slug>.csv); other
    # files there are the analyst's own notes (e.g. comments held back for personal details).
    tables = [p for p in restricted.glob("*.csv") if re.match(r"^[a-z_]+-\d{2}-", p.name)] if restricted.is_dir() else []
    for path in tables:
        published = out / "tables" / path.name
        assert published.is_file(), f"restricted table {path.name} has no published counterpart"
        assert "[c]" in published.read_text(encoding="utf-8"), f"{path.name} is kept unsuppressed but nothing was suppressed"


# ---------------------------------------------------------------------------------------
# secondary suppression cannot be undone from totals (independent LP audit)
# ---------------------------------------------------------------------------------------

def _ed_by_area_and_quarter(workbench) -> pd.DataFrame:
    """ED assault attendances (sensitive) by small area and quarter of the latest year, from intake."""
    ac = workbench.intake.area_counts
    ed = ac[ac["dataset"] == "ed_assaults"].copy()
    assert len(ed), "the demo must include emergency department assault counts"
    last_year = ed["period_start"].dt.year.max()
    ed = ed[ed["period_start"].dt.year == last_year]
    ed["quarter"] = f"{last_year} Q" + ed["period_start"].dt.quarter.astype(str)
    wide = ed.pivot_table(index="area_code", columns="quarter", values="count", aggfunc="sum", fill_value=0)
    wide = wide.astype("int64").reset_index().rename(columns={"area_code": "small area"})
    wide.columns.name = None
    return wide


def test_secondary_suppression_of_a_real_demo_table_cannot_be_undone(demo_document):
    """ED assaults by small area x quarter, published through Document.table, audited by LP from the CSV alone."""
    doc = demo_document("strategic_assessment")
    true = _ed_by_area_and_quarter(doc.workbench)
    quarters = [c for c in true.columns if c != "small area"]
    threshold = doc.threshold
    small = (true[quarters] >= 1) & (true[quarters] <= threshold - 1)
    assert small.to_numpy().any(), "the demo table must hold small counts for the test to mean anything"

    view = doc.table(true, "ED assault attendances by small area and quarter", sensitivity="sensitive",
                     count_columns=quarters)
    published = pd.read_csv(doc.tables_dir / view.csv_name, dtype=str, keep_default_na=False)
    count_cols = quarters + ["Total"]
    assert list(published.columns) == ["small area", *count_cols]

    # The published margins are the true totals (computed here from intake, not from the table).
    total_row = published[published["small area"] == "Total"].iloc[0]
    for q in quarters:
        if total_row[q] != "[c]":
            assert int(total_row[q]) == int(true[q].sum())
    # Nothing small is shown.
    assert not small_count_cells(published, count_cols, threshold)
    # Every small cell is suppressed.
    body = published[published["small area"] != "Total"].set_index("small area").loc[true["small area"]]
    shown_small = body[quarters].to_numpy()[small.to_numpy()]
    assert (shown_small == "[c]").all()

    audit = disclosure.audit_recoverability(published, count_cols=count_cols, threshold=threshold)
    assert len(audit) >= small.to_numpy().sum()
    assert not audit["recoverable"].any(), f"suppressed cells recoverable from totals:\n{audit[audit['recoverable']]}"
    assert not audit["reveals_small"].astype(bool).any(), \
        f"suppressed cells pinned to a small range:\n{audit[audit['reveals_small'].astype(bool)]}"
    assert (audit["upper"] - audit["lower"] > 0).all()

    # The same audit does catch primary suppression alone on this table (so the check can fail).
    with_margins = disclosure.add_margins(true.set_index("small area"), quarters, "both")
    primary = disclosure.suppress_primary(with_margins, count_cols, threshold, "sensitive")
    naive = with_margins.astype(object).mask(primary.reindex(columns=with_margins.columns, fill_value=False), "[c]")
    naive_audit = disclosure.audit_recoverability(naive, count_cols=count_cols, threshold=threshold)
    assert naive_audit["recoverable"].any() or naive_audit["reveals_small"].astype(bool).any()


@pytest.mark.parametrize("stem", STEMS)
def test_published_suppressed_tables_cannot_be_undone(demo_outputs, stem):
    """Every table a document actually published with [c] cells passes the LP audit."""
    rendered(demo_outputs, stem)
    threshold = threshold_of(demo_outputs)
    audited = 0
    for path in csv_tables(demo_outputs, stem):
        text = path.read_text(encoding="utf-8")
        if "[c]" not in text:
            continue
        frame = pd.read_csv(path, dtype=str, keep_default_na=False).replace("", pd.NA)
        cols = count_columns_from_total_row(frame.fillna(""))
        if not cols:
            continue  # no totals published: nothing to subtract from
        audit = disclosure.audit_recoverability(frame, count_cols=cols, threshold=threshold)
        assert not audit["recoverable"].any(), f"{path.name}: recoverable cells\n{audit[audit['recoverable']]}"
        assert not audit["reveals_small"].astype(bool).any(), f"{path.name}: cells pinned to a small range"
        audited += 1
    # The demo data make every document publish at least one (issue 9): an audit that audits nothing fails.
    assert audited > 0, f"{stem} publishes no suppressed table with totals, so the disclosure audit checked nothing"


def test_edition_disclosure_audited_across_documents(demo_outputs):
    """Every linked table of the edition, whatever document published it, audited as one system (issue 9).

    The run folder's disclosure register lists each protected table a document published with
    what it counts (dataset, scope, dimensions); the joint audit combines every table of the
    same dataset and scope, so no suppressed cell can be narrowed below the threshold by
    reading several tables, or several documents, together.
    """
    threshold = threshold_of(demo_outputs)
    register = disclosure.read_register(demo_outputs.out / "disclosure_register.json")
    assert {t.document for t in register} >= {"problem_profile_violence", "problem_profile_burglary", "audit",
                                              "strategic_assessment", "evaluation"}
    for t in register:  # the register holds what the tables published, nothing else
        published = pd.read_csv(demo_outputs.out / "tables" / t.name, dtype=str, keep_default_na=False)
        assert int((published == "[c]").to_numpy().sum()) == int(np.isnan(t.values).sum()), t.name
    linked = [key for key in {t.key for t in register} if sum(u.key == key for u in register) > 1]
    assert linked, "the demo edition must have tables of one dataset and scope in more than one table"
    joint = disclosure.audit_linked(register, threshold=threshold)
    assert len(joint) > 0
    assert not joint["recoverable"].any(), joint[joint["recoverable"]]
    assert not joint["narrow"].astype(bool).any(), joint[joint["narrow"].astype(bool)]


# ---------------------------------------------------------------------------------------
# personal data: no raw identifiers anywhere, quarantine included
# ---------------------------------------------------------------------------------------

def _raw_person_ids(catalogue: Path) -> set[str]:
    raw = yaml.safe_load(Path(catalogue).read_text(encoding="utf-8"))
    ds = raw["datasets"]["violence_nominals"]
    path = Path(catalogue).parent / raw["data_root"] / ds["path"]
    frame = pd.read_csv(path, dtype=str)
    return set(frame[ds["columns"]["person_id"]].dropna().str.strip())


def test_no_raw_person_identifier_in_any_output(demo_outputs):
    ids = _raw_person_ids(demo_outputs.catalogue)
    assert len(ids) > 100
    pattern = re.compile(r"\d{2}/\d{6}[A-Z]")  # the PNC-style identifiers of the demo nominals
    leaks = []
    for folder in (demo_outputs.out, demo_outputs.offline_out):
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix in (".html", ".csv", ".json", ".ipynb", ".txt"):
                hits = set(pattern.findall(path.read_text(encoding="utf-8", errors="replace"))) & ids
                if hits:
                    leaks.append(f"{path.relative_to(folder)}: {sorted(hits)[:3]}")
    assert not leaks, "raw person identifiers in outputs:\n" + "\n".join(leaks)


def test_quarantined_personal_rows_hold_no_raw_identifiers(demo_copy, tmp_path):
    """Corrupt some nominal rows so they are quarantined; the quarantine file must hold pseudonyms only."""
    from assessment.catalogue import load_catalogue
    from assessment.intake.harmonise import intake_catalogue

    cat_path, data = demo_copy()
    raw = yaml.safe_load(cat_path.read_text(encoding="utf-8"))
    ds = raw["datasets"]["violence_nominals"]
    src = data / ds["path"]
    frame = pd.read_csv(src, dtype=str)
    date_col = ds["columns"]["date"]
    frame.loc[frame.index[:3], date_col] = "not a date"
    bad = frame.iloc[:3]
    ids = set(bad[ds["columns"]["person_id"]].str.strip())
    dobs = set(bad["date_of_birth"].str.strip())
    src.unlink()  # a hard link to the shared demo: replace it, never write through it
    frame.to_csv(src, index=False)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        intake_catalogue(load_catalogue(cat_path), tmp_path / "out", run_date="2026-11-25",
                         keys=["violence_nominals"], window=False)
    quarantine = tmp_path / "out" / "quality" / "quarantine" / "violence_nominals.csv"
    text = quarantine.read_text(encoding="utf-8")
    q = pd.read_csv(quarantine, dtype=str)
    assert len(q) >= 3, "the corrupted rows must be quarantined for this test to mean anything"
    for value in ids | dobs:
        assert value not in text, f"raw identifier {value!r} in the quarantine file"


# ---------------------------------------------------------------------------------------
# text from data is escaped
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("stem", STEMS)
def test_no_raw_script_from_data_in_any_html(demo_outputs, stem):
    page = page_text(demo_outputs, stem)
    main = without_maps(page)
    assert "<script>alert(1)" not in main.lower().replace(" ", "")
    for i, mp in enumerate(map_pages(page)):
        markup = re.sub(r"<script\b[^>]*>.*?</script>", "", mp, flags=re.S | re.I)
        assert "<script>alert(1)" not in markup, f"{stem} map {i + 1} has raw script markup outside its scripts"


def test_index_has_no_raw_script(demo_outputs):
    if demo_outputs.index is None:
        pytest.fail(f"no document rendered, so there is no index: {demo_outputs.failures}")
    assert "<script" not in demo_outputs.index.read_text(encoding="utf-8").lower()


def test_survey_comment_with_script_shows_as_text_in_the_audit(demo_outputs, injected_outputs):
    """Test payloads live in the tests: the demo shows partners none; a hostile comment shows as text."""
    demo_audit = without_maps(page_text(demo_outputs, "audit"))
    assert "alert(" not in demo_audit, "the demo's partner documents must not carry test payloads"
    run = injected_outputs.runs.get("audit")
    assert run is not None, injected_outputs.failures.get("audit")
    main = without_maps(run.html.read_text(encoding="utf-8"))
    assert "&lt;script&gt;alert(7)&lt;/script&gt;" in main, "the audit must quote the residents' comment as text"
    assert "<script>alert(7)" not in main


# ---------------------------------------------------------------------------------------
# a failing cell: non-zero exit naming document, cell and error; previous output intact
# ---------------------------------------------------------------------------------------

def test_failing_cell_exits_nonzero_and_keeps_previous_output(demo_outputs, tmp_path, capsys):
    from assessment import cli

    rendered(demo_outputs, "strategic_assessment")
    previous = tmp_path / "riverton"
    shutil.copytree(demo_outputs.out, previous, ignore=shutil.ignore_patterns(".cache"))
    before = {p.relative_to(previous): p.read_bytes() for p in previous.rglob("*")
              if p.is_file() and p.relative_to(previous).parts[0] != ".cache"}
    assert Path("strategic_assessment.html") in before

    # A catalogue whose most-similar-group table lacks the partnership's own code: the
    # comparison cell must fail (rate_peer_position refuses), deterministically.
    # (in a hard-linked copy of the data: every path must lie inside data_root)
    raw = yaml.safe_load(Path(demo_outputs.catalogue).read_text(encoding="utf-8"))
    data_root = tmp_path / "raw"
    shutil.copytree((Path(demo_outputs.catalogue).parent / raw["data_root"]).resolve(), data_root,
                    copy_function=os.link)
    peers = pd.read_csv(data_root / raw["datasets"]["peer_group"]["path"], dtype=str)
    code = raw["partnership"]["code"]
    assert (peers["csp_code"] == code).any()
    broken_peers = data_root / "peers_without_us.csv"
    peers[peers["csp_code"] != code].to_csv(broken_peers, index=False)
    raw["data_root"] = str(data_root)
    raw["datasets"]["peer_group"]["path"] = broken_peers.name
    broken = tmp_path / "broken_catalogue.yaml"
    broken.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")

    capsys.readouterr()
    code_ = cli.main(["run", "strategic-assessment", "--catalogue", str(broken), "--out", str(previous),
                      "--param", "run_date=2026-11-25"])
    err = capsys.readouterr().err
    assert code_ == 1, f"exit code {code_}; stderr: {err}"
    assert "strategic_assessment" in err, err
    m = re.search(r"code cell (\d+) \(`([^`]*)`\): (\w+): ", err)
    assert m, f"the message must name the cell and the error: {err}"
    cell_no, source, ename = int(m.group(1)), m.group(2), m.group(3)
    assert ename == "ValueError" and code in err, err
    assert source.startswith("document.section_"), f"the failing cell should be a section call, got {source!r}"
    # The named cell is the one holding the error in the kept executed notebook.
    kept = re.search(r"kept at (\S+\.ipynb)", err)
    assert kept, err
    nb = json.loads(Path(kept.group(1)).read_text(encoding="utf-8"))
    code_cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    failing = [i + 1 for i, c in enumerate(code_cells)
               if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert failing == [cell_no]
    assert "".join(code_cells[cell_no - 1]["source"]).strip().startswith(source)

    # The intake cache (.cache/) may gain an entry for the new catalogue; it is not output.
    after = {p.relative_to(previous): p.read_bytes() for p in previous.rglob("*")
             if p.is_file() and p.relative_to(previous).parts[0] != ".cache"}
    assert after.keys() == before.keys(), f"files changed: {sorted(set(after) ^ set(before))}"
    changed = [str(k) for k in before if before[k] != after[k]]
    assert not changed, f"the failing run changed the previous output: {changed}"


# ---------------------------------------------------------------------------------------
# rendering: contents, numbering, alt text, marking, no code
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("stem", STEMS)
def test_document_structure(demo_outputs, stem):
    page = page_text(demo_outputs, stem)
    main = without_maps(page)
    raw = yaml.safe_load(Path(demo_outputs.catalogue).read_text(encoding="utf-8"))
    p = raw["partnership"]
    # Marking, partnership, edition.
    assert re.search(r'<div\b[^>]*\bclass="marking"[^>]*>\s*' + re.escape(p["marking"]) + r"\s*</div>", main)
    assert p["marking"] == "OFFICIAL"
    assert htmlmod.escape(p["name"]) in main
    assert f"Edition {p['edition']}" in main
    # Table of contents whose links all resolve.
    nav = re.search(r'<nav\b[^>]*\bid="toc"[^>]*>(.*?)</nav>', main, re.S)
    assert nav, "no table of contents"
    links = re.findall(r'<a href="#([^"]+)"', nav.group(1))
    assert len(links) >= 3, f"table of contents has {len(links)} entries"
    ids = set(re.findall(r'\bid="([^"]+)"', main))
    assert not [a for a in links if a not in ids], "contents links without a target"
    # Numbered tables and figures, in order.
    tables = [int(n) for n in re.findall(r"<caption>Table (\d+): ", main)]
    assert tables == list(range(1, len(tables) + 1)) and tables, f"table numbers {tables}"
    figures = [int(n) for n in re.findall(r"<figcaption>Figure (\d+)[ :]", main)]
    assert figures == list(range(1, len(figures) + 1)), f"figure numbers {figures}"
    # Alt text on every image; a title on every map frame.
    imgs = re.findall(r"<img\b[^>]*>", main)
    no_alt = [i[:80] for i in imgs if not re.search(r'\balt="[^"]*\S[^"]*"', i)]
    assert not no_alt, f"images without alt text: {no_alt}"
    frames = re.findall(r"<iframe\b[^>]*>", main)
    assert all(re.search(r'\btitle="[^"]*\S', f) for f in frames)
    # No code, no prompts, no errors.
    body = re.sub(r"<style\b.*?</style>", "", main, flags=re.S | re.I)
    for marker in ("jp-InputArea", "jp-InputPrompt", "jp-OutputPrompt", ">In [", ">Out[", 'class="doc-error"',
                   "Traceback"):
        assert marker not in body, f"{stem}.html contains {marker!r}"
    assert not re.search(r"^\s*(import \w|from [\w.]+ import )", body, re.M), "source lines in the document"
    assert "document.section_" not in body and "open_document(" not in body


# ---------------------------------------------------------------------------------------
# manifest and workbooks
# ---------------------------------------------------------------------------------------

def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_manifest_hashes_inputs_records_versions(demo_outputs):
    if not demo_outputs.runs:
        pytest.fail(f"no document rendered: {demo_outputs.failures}")
    manifest = json.loads((demo_outputs.out / "manifest.json").read_text(encoding="utf-8"))
    cat = Path(demo_outputs.catalogue)
    inputs = manifest["inputs"]
    # Two inputs hashed here independently.
    assert inputs["data_catalogue.yaml"] == _sha(cat)
    ed = "raw/health/ed_assaults_by_area_month.csv"
    assert inputs[ed] == _sha(cat.parent / ed)
    # Every raw file the catalogue's datasets read is hashed (all police months, every agency file).
    raw = yaml.safe_load(cat.read_text(encoding="utf-8"))
    street = sorted((cat.parent / "raw" / "police").rglob("*-street.csv"))
    assert len(street) == 36
    assert all(str(p.relative_to(cat.parent)) in inputs for p in street)
    for key, ds in raw["datasets"].items():
        if "*" not in ds["path"]:
            assert f"{raw['data_root']}/{ds['path']}" in inputs, f"{key} input not hashed"
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in inputs.values())
    # Versions and machine.
    versions = manifest["versions"]
    for name in ("pandas", "numpy", "scipy", "geopandas", "statsmodels", "papermill", "nbconvert", "folium"):
        assert versions[name] == metadata.version(name)
    assert versions["python"].count(".") == 2
    # Per document: parameters, timings and outputs.
    for stem, run in demo_outputs.runs.items():
        entry = manifest["documents"][stem]
        assert entry["parameters"]["run_date"] == "2026-11-25"
        assert entry["parameters"]["output_name"] == stem
        assert "out_dir" not in entry["parameters"] and "cache_dir" not in entry["parameters"]
        t = entry["timings_seconds"]
        assert t["total"] > 0 and t["execute"] > 0 and t["total"] >= t["execute"]
        assert entry["outputs"]["html"] == run.html.name
        for table in entry["outputs"]["tables"]:
            assert (demo_outputs.out / table).is_file()
    for stem, params in ((s, p) for _, p, s in DEMO_DOCUMENTS if s in demo_outputs.runs):
        for k, v in params.items():
            assert manifest["documents"][stem]["parameters"][k] == v


@pytest.mark.parametrize("stem", STEMS)
def test_excel_workbook_per_document(demo_outputs, stem):
    from openpyxl import load_workbook

    rendered(demo_outputs, stem)
    path = demo_outputs.out / "tables" / f"{stem}.xlsx"
    assert path.is_file(), f"{stem} wrote no Excel workbook"
    csvs = csv_tables(demo_outputs, stem)
    wb = load_workbook(path, read_only=True)
    try:
        assert wb.sheetnames == ["Contents"] + [f"T{i:02d}" for i in range(1, len(csvs) + 1)]
        contents = list(wb["Contents"].iter_rows(values_only=True))[1:]
        assert [r[2] for r in contents] == [p.name for p in csvs]
    finally:
        wb.close()


def test_offline_rendering_inlines_leaflet(demo_outputs):
    if demo_outputs.offline_run is None:
        pytest.fail(f"offline strategic assessment did not render: {demo_outputs.offline_failure}")
    page = demo_outputs.offline_run.html.read_text(encoding="utf-8")
    maps = map_pages(page)
    assert maps, "the strategic assessment must have maps"
    for mp in maps:
        assert not re.search(r'<(script|link)\b[^>]*\b(src|href)="https?://', mp), "offline map loads from the network"
        assert "L.map(" in mp or "L.map (" in mp


@pytest.mark.parametrize("stem", STEMS)
def test_maps_need_nothing_but_leaflet_from_the_network(demo_outputs, stem):
    """Each map page loads exactly Leaflet's script and stylesheet from outside, so ``offline`` can inline them.

    ``maps.map_page(offline=True)`` inlines exactly one Leaflet script and stylesheet and
    refuses otherwise; a map built on folium's defaults (jQuery, Bootstrap, Font Awesome,
    awesome-markers) needs third-party hosts and cannot be rendered offline.
    """
    page = page_text(demo_outputs, stem)
    for i, mp in enumerate(map_pages(page), start=1):
        external = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="(https?://[^"]+)"', mp)
        names = sorted(u.rsplit("/", 1)[-1] for u in external)
        assert names == ["leaflet.css", "leaflet.js"], f"{stem} map {i} loads {external}"


def test_output_folder_holds_no_intake_cache(demo_outputs):
    """Harmonised (unsuppressed) data are cached beside the catalogue, never in what partners receive."""
    assert not any(p.name in (".cache", ".assessment-cache") for p in demo_outputs.out.rglob("*"))
    assert not list(demo_outputs.out.rglob("*.pkl"))


# ---------------------------------------------------------------------------------------
# wording: every sentence a partner reads is plain English (tests/_wording.py)
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("stem", STEMS)
def test_partner_wording_is_clean(demo_outputs, stem):
    """No nan/None, '(s)', internal names, paths, bare codes, unseparated counts or quoted bad sentences."""
    from _wording import wording_problems

    problems = wording_problems(page_text(demo_outputs, stem))
    assert problems == [], f"{stem}: " + "\n".join(problems[:20])


def test_strategic_assessment_and_audit_show_the_same_target_status(demo_outputs):
    """Both rendered documents give each target the same status (one judgement for both)."""
    from bs4 import BeautifulSoup

    def statuses(stem: str) -> dict[str, str]:
        soup = BeautifulSoup(page_text(demo_outputs, stem), "html.parser")
        tables = [t for t in soup.find_all("table") if t.caption
                  and "Previous strategy targets" in t.caption.get_text()]
        assert len(tables) == 1, stem
        heads = [th.get_text(" ", strip=True) for th in tables[0].find_all("th")]
        i, s = heads.index("id"), heads.index("status")
        rows = [[td.get_text(" ", strip=True) for td in tr.find_all("td")] for tr in tables[0].find_all("tr")]
        return {r[i]: r[s] for r in rows if len(r) > max(i, s)}

    sa, au = statuses("strategic_assessment"), statuses("audit")
    assert au and all(sa[k] == v for k, v in au.items()), (sa, au)


def test_index_wording_is_clean(demo_outputs):
    from _wording import wording_problems

    if demo_outputs.index is None:
        pytest.skip("no document rendered, so no index")
    assert wording_problems(demo_outputs.index.read_text(encoding="utf-8")) == []
