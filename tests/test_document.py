"""Tests for assessment/reporting/document.py: opening a document, tables with disclosure control,
figures, maps and the workbook."""

from __future__ import annotations

import datetime as dt
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from assessment import paths  # noqa: E402
from assessment.catalogue import load_catalogue  # noqa: E402
from assessment.reporting import document as document_module  # noqa: E402
from assessment.reporting.document import DOCUMENTS, open_document  # noqa: E402


@pytest.fixture()
def doc(demo_catalogue, tmp_path):
    return open_document(demo_catalogue, out_dir=tmp_path / "out", run_date="2026-11-25")


def _csv(doc, name) -> pd.DataFrame:
    return pd.read_csv(doc.tables_dir / name, dtype=str, keep_default_na=False)


def _small_table():
    # ward x two count columns, with counts below the threshold (5) in several cells
    return pd.DataFrame({"ward": ["Abbey", "Bridge", "Castle", "Dock", "Elm"],
                         "violence": [12, 3, 40, 27, 9],
                         "robbery": [7, 15, 2, 30, 1]})


# ---------------------------------------------------------------- open_document

def test_open_document_defaults(demo_catalogue, tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "OUTPUT_DIR", tmp_path / "outputs")
    d = open_document(demo_catalogue)
    cat = load_catalogue(demo_catalogue)
    assert d.name == d.kind == "strategic_assessment"
    assert d.title == cat.documents["strategic_assessment"].title
    assert d.edition == cat.partnership.edition
    assert d.offline is False and d.cache_dir is None
    assert d.run_date == dt.date.today()
    assert d.out_dir == tmp_path / "outputs" / "interactive" and d.out_dir.is_dir()
    assert d.threshold == cat.partnership.suppression_threshold
    assert d.tables_dir == d.out_dir / "tables"
    assert d.tables == []


def test_open_document_catalogue_defaults_to_demo(tmp_path, monkeypatch, demo_catalogue):
    monkeypatch.setattr(paths, "DEMO_CATALOGUE", demo_catalogue)
    d = open_document(None, out_dir=tmp_path)
    assert d.catalogue.root.resolve() == demo_catalogue.parent.resolve()


def test_open_document_options_and_parameters(demo_catalogue, tmp_path):
    cat = load_catalogue(demo_catalogue)
    d = open_document(demo_catalogue, document="evaluation", out_dir=tmp_path, edition="2027 draft",
                      offline=1, run_date="2026-01-31", output_name="evaluation_patrols",
                      cache_dir=tmp_path / "c", start="2025-01", intervention_wards=None)
    assert d.kind == "evaluation" and d.name == "evaluation_patrols"
    assert d.edition == "2027 draft" and d.offline is True
    assert d.run_date == dt.date(2026, 1, 31) and d.cache_dir == tmp_path / "c"
    expected = {**cat.documents["evaluation"].parameters, "start": "2025-01"}
    assert d.params == expected  # None does not override the catalogue default


@pytest.mark.parametrize("name", DOCUMENTS)
def test_open_document_accepts_hyphenated_names(demo_catalogue, tmp_path, name):
    assert open_document(demo_catalogue, document=name.replace("_", "-"), out_dir=tmp_path).kind == name


def test_open_document_rejects_unknown_document_and_bad_date(demo_catalogue, tmp_path):
    with pytest.raises(ValueError) as err:
        open_document(demo_catalogue, document="annual_report", out_dir=tmp_path)
    assert "`document`" in str(err.value) and "'annual_report'" in str(err.value) and "audit" in str(err.value)
    with pytest.raises(ValueError):
        open_document(demo_catalogue, out_dir=tmp_path, run_date="25/11/2026")


# ---------------------------------------------------------------- tables

def test_public_table_written_with_exactly_the_values(doc):
    frame = pd.DataFrame({"ward": ["A & B", "C"], "count": [1, 2], "rate": [0.125, 3.5]})
    view = doc.table(frame, "Crimes by ward, 2025")
    assert view.number == 1 and view.csv_name == "strategic_assessment-01-crimes-by-ward-2025.csv"
    back = pd.read_csv(doc.tables_dir / view.csv_name)
    # the CSV holds the values as the document shows them: a rate without declared decimals to 1 place
    pd.testing.assert_frame_equal(back, frame.assign(rate=[0.1, 3.5]))
    second = doc.table(frame, "Second")
    assert second.number == 2 and second.csv_name.startswith("strategic_assessment-02-second")
    assert [t[0] for t in doc.tables] == [view.csv_name, second.csv_name]
    # public tables are never suppressed, even with small counts
    pd.testing.assert_frame_equal(view.frame, back)
    assert view.notes == [] and view.sensitivity == "public"
    assert not (doc.out_dir / "restricted_unsuppressed").exists()


def test_output_name_used_in_csv_names(demo_catalogue, tmp_path):
    d = open_document(demo_catalogue, document="problem_profile", out_dir=tmp_path,
                      output_name="problem_profile_violence")
    assert d.table(pd.DataFrame({"a": [1]}), "X").csv_name == "problem_profile_violence-01-x.csv"


def test_sensitive_table_suppressed_with_footnote_and_restricted_copy(doc):
    frame = _small_table()
    view = doc.table(frame, "Assaults by ward", sensitivity="sensitive", count_columns=["violence", "robbery"])
    t = doc.threshold
    assert t == 5
    assert any(re.match(r"Counts from 1 to 4 are suppressed \(\[c\]\)", n) for n in view.notes)
    published = _csv(doc, view.csv_name)
    assert len(published) == len(frame) + 1  # the Total row
    counts = published[["violence", "robbery"]].to_numpy().ravel()
    assert "[c]" in counts
    numeric = pd.to_numeric(pd.Series(counts), errors="coerce").dropna()
    assert not numeric.between(1, t - 1).any()
    # every small interior count is hidden
    interior = published.iloc[: len(frame)]
    for col in ("violence", "robbery"):
        small = frame[col].between(1, t - 1).to_numpy()
        assert (interior[col].to_numpy()[small] == "[c]").all()
    # published non-suppressed interior values are the true ones
    for col in ("violence", "robbery"):
        shown = interior[col] != "[c]"
        assert (interior.loc[shown, col].astype(int).to_numpy() == frame.loc[shown.to_numpy(), col].to_numpy()).all()
    # the unsuppressed copy is only in restricted_unsuppressed/
    restricted = doc.out_dir / "restricted_unsuppressed" / view.csv_name
    pd.testing.assert_frame_equal(pd.read_csv(restricted), frame)
    holders = [p for p in doc.out_dir.rglob("*.csv") if pd.read_csv(p).equals(frame)]
    assert holders == [restricted]
    # the view shows the published frame, marked sensitive
    html = view._repr_html_()
    assert 'data-sensitivity="sensitive"' in html and "[c]" in html


def test_total_row_labelled_and_true_total(doc):
    frame = pd.DataFrame({"ward": ["A", "B", "C", "D"], "area": ["N", "N", "S", "S"], "n": [2, 30, 40, 50]})
    view = doc.table(frame, "Single count", sensitivity="official", count_columns=["n"])
    published = _csv(doc, view.csv_name)
    total = published.iloc[-1]
    assert total["ward"] == "Total" and total["area"] == ""
    assert int(total["n"]) == frame["n"].sum()
    assert "Total" not in published.columns  # one count column: no Total column by default


def test_margins_option(doc):
    frame = _small_table()
    both = _csv(doc, doc.table(frame, "Both", sensitivity="sensitive", count_columns=["violence", "robbery"],
                               margins="both").csv_name)
    assert "Total" in both.columns and len(both) == len(frame) + 1
    cols = _csv(doc, doc.table(frame, "Cols", sensitivity="sensitive", count_columns=["violence", "robbery"],
                               margins="column_totals").csv_name)
    assert "Total" not in cols.columns and len(cols) == len(frame) + 1
    none = _csv(doc, doc.table(frame, "None", sensitivity="sensitive", count_columns=["violence", "robbery"],
                               margins="none").csv_name)
    assert "Total" not in none.columns and len(none) == len(frame)
    # with no totals only the threshold rule applies: exactly the small cells are hidden
    for col in ("violence", "robbery"):
        assert ((none[col] == "[c]").to_numpy() == frame[col].between(1, 4).to_numpy()).all()


def test_rate_columns_suppressed_with_their_counts(doc):
    frame = pd.DataFrame({"ward": ["A", "B", "C"], "n": [2, 30, 40], "rate": [0.4, 6.0, 8.0]})
    view = doc.table(frame, "Rates", sensitivity="sensitive", count_columns=["n"], rate_columns={"rate": "n"},
                     margins="none")
    published = _csv(doc, view.csv_name)
    assert list(published["n"]) == ["[c]", "30", "40"]
    assert published.loc[0, "rate"] == "[c]"
    assert published.loc[1:, "rate"].astype(float).tolist() == [6.0, 8.0]


def test_table_validates_arguments(doc):
    with pytest.raises(TypeError, match="`frame`"):
        doc.table([1, 2], "x")
    with pytest.raises(TypeError, match="`caption` must be str"):
        doc.table(pd.DataFrame({"a": [1]}), None)
    with pytest.raises(ValueError, match="`sensitivity` must be one of"):
        doc.table(pd.DataFrame({"a": [1]}), "x", sensitivity="secret")
    assert doc.tables == []


# ---------------------------------------------------------------- figures and maps

def test_figure_requires_alt_and_numbers_figures_and_maps_together(doc):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    with pytest.raises(ValueError, match="`alt`"):
        doc.figure(fig, "Trend", alt="   ")
    with pytest.raises(TypeError, match="`alt` must be str"):
        doc.figure(fig, "Trend", alt=None)
    view = doc.figure(fig, "Trend", alt="Falling line")
    assert view.number == 1 and view.png.startswith(b"\x89PNG") and view.alt == "Falling line"
    with pytest.raises(ValueError, match="`alt`"):
        doc.map("<html></html>", "Map", alt="")
    m = doc.map("<html></html>", "Map", alt="Wards")
    assert m.number == 2
    with pytest.raises(TypeError, match="`page` must be str"):
        doc.map(None, "Map", alt="x")


# ---------------------------------------------------------------- workbook

def test_write_workbook_has_a_sheet_per_table_equal_to_the_csvs(doc):
    doc.table(pd.DataFrame({"ward": ["A", "B"], "count": [10, 20], "rate": [1.5, 2.25]}), "Public one")
    doc.table(_small_table(), "Sensitive one", sensitivity="sensitive", count_columns=["violence", "robbery"])
    path = doc.write_workbook()
    assert path == doc.tables_dir / "strategic_assessment.xlsx"
    sheets = pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False)
    assert list(sheets) == ["Contents", "T01", "T02"]
    contents = sheets["Contents"]
    assert contents["table"].tolist() == ["Public one", "Sensitive one"]
    for sheet, csv_name in zip(contents["sheet"], contents["csv"]):
        from_csv = _csv(doc, csv_name)
        pd.testing.assert_frame_equal(sheets[sheet], from_csv)
    assert "[c]" in sheets["T02"].to_numpy()


def test_document_metadata_and_warn_once(doc):
    meta = document_module.document_metadata(doc, subtitle="Draft")
    assert meta["title"] == doc.title and meta["subtitle"] == "Draft"
    assert meta["produced"] == "2026-11-25" and meta["edition"] == doc.edition
    with pytest.warns(UserWarning, match="careful"):
        document_module.warn_once("careful")


def test_row_sensitivity_suppresses_small_counts_only_in_protected_rows(doc):
    frame = pd.DataFrame({"dataset": ["Police", "Hospital", "Ambulance", "Nominals"], "rows": [3, 3, 3, 40],
                          "share (%)": [1.0, 2.0, 3.0, 4.0]})
    view = doc.table(frame, "Rows per dataset", count_columns=["rows"], rate_columns={"share (%)": "rows"},
                     row_sensitivity=["public", "sensitive", "official", "personal"])
    published = pd.read_csv(doc.tables_dir / view.csv_name, dtype=str)
    # whole-dataset record counts: public and official 3 shown; sensitive 3 suppressed; personal 40 shown
    assert published["rows"].tolist() == ["3", "[c]", "3", "40"]
    assert published["share (%)"].tolist()[1] == "[c]"                # its derived rate goes with it
    assert any("suppressed" in n for n in view.notes)
    assert 'data-sensitivity="mixed"' in view._repr_html_()
    with pytest.raises(ValueError, match="one value per row"):
        doc.table(frame, "Bad", count_columns=["rows"], row_sensitivity=["public"])


def test_linked_tables_published_by_two_documents_of_one_run_reveal_no_hidden_cell(demo_catalogue, tmp_path):
    """Issue 9 acceptance: tables A and B of the issue, published by two documents into one run folder.

    The second document runs in a staging folder, as ``run_document`` runs it, and reads the
    edition's register from the published folder. An independent LP over both published CSVs
    (``independent_linked_ranges``, scipy only) gives every hidden cell a range of at least the
    threshold.
    """
    from test_disclosure import ISSUE_A, ISSUE_B, independent_linked_ranges

    out = tmp_path / "edition"
    first = open_document(demo_catalogue, "strategic_assessment", out_dir=out, run_date="2026-11-25")
    threshold = first.threshold
    link = {"dataset": "ae_assaults", "dimensions": ("ward", "category")}
    va = first.table(ISSUE_A, "Table A", sensitivity="sensitive", count_columns=["Violence", "Burglary"],
                     margins="row_totals", **link)
    first.write_workbook()
    staging = tmp_path / ".edition.staging-b"
    second = open_document(demo_catalogue, "audit", out_dir=staging, published_dir=out, run_date="2026-11-25")
    vb = second.table(ISSUE_B, "Table B", sensitivity="sensitive", count_columns=["Violence", "Robbery"],
                      margins="row_totals", **link)
    a = pd.read_csv(out / "tables" / va.csv_name, dtype=str, keep_default_na=False)
    b = pd.read_csv(staging / "tables" / vb.csv_name, dtype=str, keep_default_na=False)
    ranges = independent_linked_ranges([a, b])
    assert len(ranges) >= 4
    assert all(hi - lo >= threshold for lo, hi in ranges.values()), ranges
    # The staging register holds both documents' tables (it replaces the published one on commit).
    names = {t.name for t in second.register()}
    assert names == {va.csv_name, vb.csv_name}
    assert (staging / "disclosure_register.json").is_file()
    # Without the link the second table gives the first one's hidden cells away (the test can fail).
    unlinked = open_document(demo_catalogue, "audit", out_dir=tmp_path / "plain", run_date="2026-11-25")
    vu = unlinked.table(ISSUE_B, "Table B", sensitivity="sensitive", count_columns=["Violence", "Robbery"],
                        margins="row_totals")
    u = pd.read_csv(tmp_path / "plain" / "tables" / vu.csv_name, dtype=str, keep_default_na=False)
    assert any(hi - lo < threshold for lo, hi in independent_linked_ranges([a, u]).values())


def test_rerun_of_a_document_replaces_its_register_entries(demo_catalogue, tmp_path):
    from assessment.disclosure import read_register

    out = tmp_path / "edition"
    link = {"dataset": "ae_assaults", "dimensions": ("ward", "category")}
    for _ in range(2):
        d = open_document(demo_catalogue, "strategic_assessment", out_dir=out, run_date="2026-11-25")
        d.table(ISSUE_A_FRAME, "Table A", sensitivity="sensitive", count_columns=["Violence", "Burglary"],
                margins="row_totals", **link)
        d.write_workbook()
    assert [t.document for t in read_register(paths.disclosure_register(out))] == ["strategic_assessment"]
    # A later run of the document that publishes no linked table drops its old entries.
    d = open_document(demo_catalogue, "strategic_assessment", out_dir=out, run_date="2026-11-25")
    d.write_workbook()
    assert read_register(paths.disclosure_register(out)) == []


ISSUE_A_FRAME = pd.DataFrame({"ward": ["W1", "W2"], "Violence": [2, 30], "Burglary": [14, 3]})
