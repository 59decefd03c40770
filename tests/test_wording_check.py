"""The wording checker the document tests use (tests/_wording.py) catches what it promises."""

from __future__ import annotations

import pytest

from _wording import visible_text, wording_problems


def _doc(body: str, title: str = "Joint Strategic Assessment") -> str:
    return f"<html><head><title>x_y</title><style>.a_b{{}}</style></head><body><h1>{title}</h1>{body}</body></html>"


@pytest.mark.parametrize("text, what", [
    ("The rate was nan per 1,000.", "Python NaN"),
    ("Owner: None", "Python None"),
    ("3 area(s) are hot.", "'(s)' plural"),
    ("Grouped by ward_code.", "snake_case identifier"),
    ("Edited in partnership/horizon_scan.yaml by the analyst.", "file path"),
    ("Keyword dictionary (assessment/data/comment_themes.yaml).", "file path"),
    ("Computed by statsmodels proportion_confint.", "library name"),
    ("Made with force_2d and make_valid.", "snake_case identifier"),
    ("See assessment.analysis.trends for details.", "module name"),
    ("Call describe_p() for that.", "function call"),
    ("About 0 households live in these cells.", "'0 households'"),
    ("Anti-social behaviour: 5046 in 2025 against 5,143.", "count without thousands separator"),
    ("Hotspots are in E01900038 and nearby.", "area code in a sentence"),
    ("The change was 0.744417 of the baseline.", "unrounded number"),
    ("1 wards are significantly higher.", "1 with a plural noun"),
    ("0.0% of burglaries have no map point, so hotspots understate them.", "0% share said to understate"),
    ("The outcome profile shows how rarely a suspect is identified.", "quoted bad sentence"),
    ("Great survey <script>alert(1)</script> please read", "quoted bad sentence"),
    ("The plan directs patrols to \u2018Nightclub\u2019 on Fridays.", "anonymised map-point label"),
    ("Most violence is at Supermarket sites.", "anonymised map-point label"),
])
def test_each_problem_is_found(text, what):
    from html import escape

    problems = wording_problems(_doc(f"<p>{escape(text)}</p>"))
    assert any(p.startswith(what) for p in problems), problems


@pytest.mark.parametrize("text", [
    "None of the wards is above the band.",
    "Burglary fell from 1,352 to 1,273 between 2024 and 2025.",
    "Riverton Central (E05900009) is the intervention ward.",
    "All 20 tables are also in tables/strategic_assessment.xlsx.",
    "Standard number ISB 1594 applies.",
    "On or near Nightclub",
    "The rate of change was about 0.5% a year, a nan-free series.",
    "See https://www.ons.gov.uk/some_page for the source.",
])
def test_clean_wording_passes(text):
    from html import escape

    assert wording_problems(_doc(f"<p>{escape(text)}</p>")) == []


def test_hidden_text_is_not_checked():
    html = _doc('<p>Clean.</p><script>var ward_code = None;</script>')
    assert wording_problems(html) == []
    assert "ward_code" not in visible_text(html)


def test_declared_decimals_are_enforced():
    table = ('<table><thead><tr><th scope="col" class="num" data-decimals="1">rate</th>'
             '<th scope="col">name</th></tr></thead><tbody>'
             '<tr><td class="num">1.25</td><td>Abbey</td></tr><tr><td class="num">1.2</td><td>Brook</td></tr>'
             '</tbody></table>')
    problems = wording_problems(_doc(table))
    assert problems == ["more decimals than the column declares (1) in column 'rate': 1.25"]


def test_data_quality_tables_and_appendix_are_exempt_but_its_prose_is_not():
    body = ("<h2>Summary</h2><p>Column date_of_birth is <code>pnc_id</code>.</p>"
            "<table><tr><td>2024-01-riverton-street.csv</td><td>ward_code</td></tr></table>"
            "<h2>Appendix: definitions and files</h2><p>quality/intake.csv and data_catalogue.yaml</p>")
    problems = wording_problems(_doc(body, title="Data quality and information sharing"))
    assert len(problems) == 1 and "date_of_birth" in problems[0]
    # the workbench's internal names are caught even in a data-quality table
    internal = _doc("<table><tr><td>repaired with make_valid</td><td>3</td></tr></table>",
                    title="Data quality and information sharing")
    assert [p for p in wording_problems(internal) if p.startswith("internal name")]
    # the same tables in another document are checked
    assert any("ward_code" in p for p in wording_problems(_doc(body)))


def test_table_pointer_notes_are_exempt():
    html = _doc('<p class="table-note">Data: tables/ward_rates.csv</p>')
    assert wording_problems(html) == []
