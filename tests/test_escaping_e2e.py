"""Hostile names end to end (issue 9): no spreadsheet cell of any document can run as a formula.

Every document is rendered once per session by ``injected_outputs`` (tests/conftest.py) from a
copy of the demo data whose ward, small-area, neighbourhood, street and premises names (and strategy text)
are markup and formulas such as ``=HYPERLINK("http://x","click")`` and ``=cmd|' /C calc'!A0``.
The CSV files are read with Python's csv module and the workbooks both with openpyxl and as raw
sheet XML, so the checks do not rely on the writer under test. The browser half of the attack
(hover and click every map feature) is in tests/test_browser.py.
"""

from __future__ import annotations

import csv
import html
import re
import zipfile

import pytest

from assessment.cli import DEMO_DOCUMENTS

pytestmark = pytest.mark.slow

STEMS = [stem for _, _, stem in DEMO_DOCUMENTS]
FORMULA_START = tuple("=+-@\t\r")
_SRCDOC = re.compile(r'srcdoc="([^"]*)"')


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "").rstrip("%"))
    except ValueError:
        return False
    return True


def _formula_cells(text_cells) -> list[str]:
    return [c for c in text_cells if isinstance(c, str) and c.startswith(FORMULA_START) and not _is_number(c)]


def _run(outputs, stem):
    if stem not in outputs.runs:
        pytest.fail(f"{stem} did not render with hostile names: {outputs.failures.get(stem, 'not rendered')}")
    return outputs.runs[stem]


def test_every_document_renders_with_hostile_names(injected_outputs):
    assert not injected_outputs.failures, injected_outputs.failures


def test_no_csv_cell_anywhere_can_run_as_a_formula(injected_outputs):
    files = sorted(injected_outputs.out.rglob("*.csv"))
    assert len(files) > 50
    bad, prefixed = {}, 0
    for path in files:
        with open(path, encoding="utf-8", newline="") as fh:
            cells = [c for row in csv.reader(fh) for c in row]
        found = _formula_cells(cells)
        if found:
            bad[str(path.relative_to(injected_outputs.out))] = found[:5]
        prefixed += sum(c.startswith("'=HYPERLINK") or c.startswith("'=cmd|") for c in cells)
    assert not bad, f"{len(bad)} CSV files hold formula-like cells: {dict(list(bad.items())[:10])}"
    assert prefixed > 0, "the injected names never reached a table, so this test proved nothing"


def _sheet_formulas(path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        return [f"{name}: {m[:80]}" for name in z.namelist() if name.startswith("xl/worksheets/")
                for m in re.findall(r"<f[ >].*?</f>", z.read(name).decode("utf-8"))]


def test_no_workbook_holds_a_formula(injected_outputs):
    from openpyxl import load_workbook

    books = sorted(injected_outputs.out.rglob("*.xlsx"))
    assert len(books) == len(injected_outputs.runs)
    hostile_text = 0
    for path in books:
        assert _sheet_formulas(path) == [], path.name
        wb = load_workbook(path)
        cells = [c for ws in wb for row in ws.iter_rows() for c in row]
        formulas = [f"{c.parent.title}!{c.coordinate}" for c in cells if c.data_type == "f"]
        assert not formulas, f"{path.name}: formula cells {formulas[:10]}"
        hostile_text += sum(c.data_type == "s" and str(c.value).startswith(("=HYPERLINK", "=cmd|")) for c in cells)
    assert hostile_text > 0, "the injected names never reached a workbook, so this test proved nothing"


@pytest.mark.parametrize("stem", STEMS)
def test_map_pages_carry_the_names_escaped(injected_outputs, stem):
    """Names reach the maps' GeoJSON only as escaped text (the browser test checks what runs)."""
    page = _run(injected_outputs, stem).html.read_text(encoding="utf-8")
    maps = [html.unescape(s) for s in _SRCDOC.findall(page)]
    assert maps, f"{stem} has no map"
    script_view = "".join(maps)
    for code, char in (("\\u003c", "<"), ("\\u003e", ">"), ("\\u0026", "&")):
        script_view = script_view.replace(code, char)
    assert "<img src=x" not in script_view and "<script>alert(3)" not in script_view
    assert "Castle Hill&lt;img src=x onerror=alert(1)&gt;" in script_view


@pytest.mark.parametrize("stem", STEMS)
def test_document_pages_show_hostile_text_as_text(injected_outputs, stem):
    """Outside the maps (tested above and in the browser) no injected tag reaches a page as markup."""
    page = _SRCDOC.sub('srcdoc=""', _run(injected_outputs, stem).html.read_text(encoding="utf-8"))
    assert not re.search(r"<img src=x|<script>alert", page)
    assert "&lt;img src=x onerror=alert(5)&gt;" in page  # the partnership's name, escaped in the header


def test_index_shows_hostile_text_as_text(injected_outputs):
    page = injected_outputs.index.read_text(encoding="utf-8")
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(5)&gt;" in page
