"""Key findings, glossary, links, the about box and tidy tables (issue 13, items 1, 2, 6 and 8).

Unit tests build the pieces directly; the document tests read the shared rendered demo
(``demo_outputs``, rendered once per session) and never render again.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from assessment.catalogue import load_catalogue
from assessment.cli import DEMO_DOCUMENTS
from assessment.reporting import display
from assessment.reporting.document import round_table
from assessment.reporting.glossary import glossary_terms, text_of

STEMS = [stem for _, _, stem in DEMO_DOCUMENTS]
_P_VALUE = re.compile(r"\bp\s*[=<>]\s*0?\.\d|\bp-value", re.I)


# -- the panel ------------------------------------------------------------------------------

def _five():
    return [display.Finding("Crime fell.", "down", "green", "rate below the most similar group's usual range"),
            display.Finding("Violence rose.", "up", "red", "rate above the most similar group's usual range"),
            display.Finding("ASB was about the same.", "steady", "amber", "rate within the group's range"),
            display.Finding("A new concentration near <script>x</script>.", "new"),
            "Residents worry most about speeding."]


def test_key_findings_panel_has_words_beside_every_colour():
    out = display.key_findings(_five(), benchmark="Compared with 14 similar partnerships.")._repr_html_()
    assert out.startswith('<section class="key-findings"')
    assert out.count("<li>") == 5
    for word in ("Falling", "Rising", "No clear change", "New", "Green:", "Red:", "Amber:"):
        assert word in out
    assert "<script>x" not in out and "&lt;script&gt;x" in out
    assert "Compared with 14 similar partnerships." in out


@pytest.mark.parametrize("bad", [[], ["x"] * 9])
def test_key_findings_holds_one_to_eight(bad):
    with pytest.raises(ValueError, match="one to eight"):
        display.key_findings(bad)


def test_a_rating_must_say_what_it_compares_against():
    with pytest.raises(ValueError, match="compares against"):
        display.Finding("Crime fell.", "down", "green")
    with pytest.raises(ValueError, match="direction"):
        display.Finding("Crime fell.", "sideways")
    with pytest.raises(ValueError, match="rag"):
        display.Finding("Crime fell.", rag="blue", against="x")


# -- tables ---------------------------------------------------------------------------------

def test_round_table_rounds_by_declared_and_column_type():
    frame = pd.DataFrame({"ward": ["A", "B"], "share (%)": [12.3456, 7.0], "rate ratio": [1.23456, 0.98765],
                          "p (exact test)": [0.000123456, 0.52345], "count": [3.0, 40.0],
                          "suppressed": ["[c]", 12.3456], "rate": [0.7444168734491315, 2.5]})
    out = round_table(frame, {"share (%)": 1})
    np.testing.assert_array_equal(out["share (%)"].to_numpy(), np.round([12.3456, 7.0], 1))
    np.testing.assert_array_equal(out["rate ratio"].to_numpy(), np.round([1.23456, 0.98765], 2))
    assert out["p (exact test)"].tolist() == [0.000123, 0.523]  # three significant figures
    assert str(out["count"].dtype) == "Int64" and out["count"].tolist() == [3, 40]
    assert out["suppressed"].tolist() == ["[c]", 12.3]
    assert out["rate"].tolist() == [0.7, 2.5]
    assert out["ward"].tolist() == ["A", "B"]
    csv = out.to_csv(index=False)
    assert not re.search(r"\d\.\d{4,}", csv.replace("0.000123", ""))


def test_table_view_links_its_csv():
    view = display.TableView(pd.DataFrame({"a": [1]}), 3, "T", csv_name='x-03-"t".csv')
    out = view._repr_html_()
    assert '<a class="data-link" href="tables/x-03-&quot;t&quot;.csv">' in out


# -- catalogue ------------------------------------------------------------------------------

def test_duplicate_of_must_name_another_dataset(tmp_path, catalogue_path):
    raw = yaml.safe_load(Path(catalogue_path).read_text(encoding="utf-8"))
    key = next(iter(raw["datasets"]))
    raw["datasets"][key]["duplicate_of"] = "no_such_dataset"
    raw["data_root"] = str(Path(catalogue_path).parent / raw["data_root"])
    raw["horizon_scan"] = str(Path(catalogue_path).parent / raw["horizon_scan"])
    path = tmp_path / "cat.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    with pytest.raises(Exception, match="duplicate_of"):
        load_catalogue(path, check_files=False)


def test_demo_catalogue_marks_its_copied_export(catalogue_path):
    cat = load_catalogue(catalogue_path, check_files=False)
    copies = {k: d.duplicate_of for k, d in cat.datasets.items() if d.duplicate_of}
    assert copies and all(v in cat.datasets for v in copies.values())
    assert cat.partnership.contact


# -- the rendered demo ----------------------------------------------------------------------

def _page(outputs, stem: str) -> str:
    if stem not in outputs.runs:
        pytest.fail(f"{stem} did not render: {outputs.failures.get(stem, 'not rendered')}")
    return outputs.runs[stem].html.read_text(encoding="utf-8")


def _main(page: str) -> str:
    return page[page.index('<main id="main">'):]


def _find(main: str, tag: str, cls: str) -> int:
    """Where the first ``<tag ... class="cls" ...>`` starts (attributes in any order), or -1."""
    m = re.search(rf'<{tag}\b[^>]*\bclass="{cls}"', main)
    return m.start() if m else -1


def _block(main: str, tag: str, cls: str) -> str:
    start = _find(main, tag, cls)
    return "" if start < 0 else main[start:main.index(f"</{tag}>", start)]


@pytest.mark.slow
@pytest.mark.parametrize("stem", STEMS)
def test_document_opens_with_key_findings_before_its_first_table(demo_outputs, stem):
    main = _main(_page(demo_outputs, stem))
    start = _find(main, "section", "key-findings")
    assert start >= 0, f"{stem} has no key-findings panel"
    first_table = main.find("<table")
    assert first_table < 0 or start < first_table, f"{stem}: a table comes before the key findings"
    panel = main[start:main.index("</section>", start)]
    n = panel.count("<li>")
    assert 5 <= n <= 8, f"{stem}: {n} key findings (five to eight expected)"
    text = text_of(panel)
    assert not _P_VALUE.search(text), f"{stem}: a p-value in the key findings: {_P_VALUE.search(text).group(0)}"
    assert "kf-note" in panel, f"{stem}: the panel does not say what its ratings compare against"


@pytest.mark.slow
@pytest.mark.parametrize("stem", STEMS)
def test_document_ends_with_a_glossary_of_the_terms_it_uses(demo_outputs, stem):
    main = _main(_page(demo_outputs, stem))
    start = _find(main, "section", "glossary")
    assert start >= 0, f"{stem} has no glossary"
    after = main.index("</h2>", start)
    assert main.find("<table", start) < 0 and main.find("<h2", after) < 0, f"{stem}: the glossary is not last"
    body = text_of(main[:start])
    listed = [html.unescape(t) for t in re.findall(r"<dt>(.*?)</dt>", main[start:])]
    used = [t.term for t in glossary_terms(body)]
    assert used == listed, f"{stem}: glossary {listed} but terms used {used}"


@pytest.mark.slow
@pytest.mark.parametrize("stem", STEMS)
def test_tables_link_their_csv_and_documents_link_the_index(demo_outputs, stem):
    run = demo_outputs.runs.get(stem) or pytest.fail(f"{stem} did not render")
    main = _main(_page(demo_outputs, stem))
    links = re.findall(r'<a\b[^>]*class="data-link"[^>]*href="([^"]+)"|<a\b[^>]*href="([^"]+)"[^>]*class="data-link"',
                       main)
    links = [a or b for a, b in links]
    assert links, f"{stem} shows no table links"
    for href in links:
        assert (run.html.parent / href).is_file(), f"{stem} links {href}, which does not exist"
    nav = _block(main, "nav", "doc-nav")
    assert 'href="index.html"' in nav, f"{stem} does not link the index"
    for href in re.findall(r'href="([^"#]+\.html)"', nav):
        assert (run.html.parent / href).is_file(), f"{stem} links {href}, which does not exist"
    about = _block(main, "aside", "about-document")
    assert about, f"{stem} has no 'about this document' box"
    text = text_of(about)
    for label in ("Data up to", "Produced", "Sources", "Next update", "Contact"):
        assert label in text, f"{stem}: the about box has no {label!r}"


@pytest.mark.slow
@pytest.mark.parametrize("stem", STEMS)
def test_csv_tables_hold_rounded_numbers(demo_outputs, stem):
    run = demo_outputs.runs.get(stem) or pytest.fail(f"{stem} did not render")
    # five or more significant digits after the point (0.7444168734491315); a p-value of 0.00518 is rounded
    long = re.compile(r"(?<![\w.])-?\d+\.0*[1-9]\d{4,}")
    bad = {}
    for csv in run.tables:
        hits = long.findall(csv.read_text(encoding="utf-8"))
        if hits:
            bad[csv.name] = hits[:3]
    assert not bad, f"{stem}: unrounded numbers in {bad}"


@pytest.mark.slow
def test_strategic_summary_opens_without_a_p_value(demo_outputs):
    main = _main(_page(demo_outputs, "strategic_assessment"))
    start = main.index('id="executive-summary"')
    body = main[start:main.index("<h3", start)]
    sentences = [p for p in re.findall(r"<p>(.*?)</p>", body, re.S)]  # plain paragraphs, not notes
    assert sentences, "the executive summary has no plain paragraph"
    assert not _P_VALUE.search(sentences[0]), sentences[0]
    assert _P_VALUE.search(body), "the summary's test statistics are not in its note"


@pytest.mark.slow
def test_official_record_counts_are_shown_and_copies_counted_once(demo_outputs):
    """Item 8: an official dataset's repeat reports are shown, not suppressed; the intake totals
    count the copied export once."""
    run = demo_outputs.runs.get("data_quality") or pytest.fail("data_quality did not render")
    cat = load_catalogue(demo_outputs.catalogue, check_files=False)
    official = {d.title for d in cat.datasets.values() if d.sensitivity == "official" and d.kind == "events"}
    dup = next(p for p in run.tables if "duplicates-and-repeat-reports" in p.name)
    frame = pd.read_csv(dup, dtype=str, keep_default_na=False)
    rows = frame[frame["dataset"].isin(official)]
    assert len(rows) and not rows["repeat reports flagged"].eq("[c]").any(), rows
    page = run.html.read_text(encoding="utf-8")
    copies = [d.title for d in cat.datasets.values() if d.duplicate_of]
    said = re.search(r"Of ([\d,]+) rows read", page)
    # The published accounting's Total row (every dataset) less the copies' published rows: a suppressed
    # count of a protected dataset is inside the Total, never shown on its own.
    q = pd.read_csv(next(p for p in run.tables if "rows-quarantined-per-dataset-and-reason" in p.name
                         and "long-form" not in p.name), dtype=str)
    total = int(q.loc[q["dataset"] == "Total", "rows read"].iloc[0])
    read = total - pd.to_numeric(q.loc[q["dataset"].isin(copies), "rows read"], errors="coerce").sum()
    assert said and int(said.group(1).replace(",", "")) == int(read)
