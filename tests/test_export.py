"""PDF and Word exports of the rendered demo documents (issue: board pack and drafting)."""

from __future__ import annotations

import re

import pytest

from assessment import paths

pytestmark = [pytest.mark.slow, pytest.mark.browser]

MARKING = "OFFICIAL"
STEMS = ("strategic_assessment", "problem_profile_violence")


@pytest.fixture(scope="module")
def exported(demo_outputs, tmp_path_factory):
    """The PDF and DOCX of two demo documents, made once for this module."""
    if not paths.CHROMIUM.is_file():
        pytest.skip(f"{paths.CHROMIUM} not found: run `make browser` to enable the PDF tests")
    from assessment.reporting.export import export_docx, export_pdf

    out = tmp_path_factory.mktemp("export")
    made = {}
    for stem in STEMS:
        if stem not in demo_outputs.runs:
            pytest.fail(f"{stem} did not render: {demo_outputs.failures.get(stem)}")
        html = demo_outputs.runs[stem].html
        maps = export_pdf(html, out / f"{stem}.pdf", MARKING, title=stem)
        export_docx(html, out / f"{stem}.docx", MARKING, maps=maps)
        made[stem] = (html, out / f"{stem}.pdf", out / f"{stem}.docx", maps)
    return made


@pytest.mark.parametrize("stem", STEMS)
def test_pdf_marking_on_every_page_and_no_near_empty_page(exported, stem):
    import pypdf

    _, pdf, _, _ = exported[stem]
    reader = pypdf.PdfReader(str(pdf))
    assert len(reader.pages) > 3
    for i, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert MARKING in text, f"page {i} of {pdf.name} has no marking"
        assert f"Page {i} of {len(reader.pages)}" in text
        lines = [ln for ln in text.splitlines() if ln.strip() and MARKING not in ln and not ln.startswith("Page ")]
        if i < len(reader.pages):
            assert len(lines) >= 3, f"page {i} of {pdf.name} holds only {lines}"


@pytest.mark.parametrize("stem", STEMS)
def test_pdf_has_a_picture_of_every_map(exported, stem):
    import pypdf

    html, pdf, _, maps = exported[stem]
    frames = html.read_text(encoding="utf-8").count('class="map-frame"')
    assert frames >= 1 and len(maps) == frames
    assert all(m.startswith(b"\x89PNG") and len(m) > 5000 for m in maps)  # drawn, not blank
    reader = pypdf.PdfReader(str(pdf))
    images = sum(len(p.images) for p in reader.pages)
    assert images >= frames
    assert "Interactive map: open the HTML" not in "".join(p.extract_text() for p in reader.pages)


@pytest.mark.parametrize("stem", STEMS)
def test_docx_has_every_table_figure_and_marking(exported, stem):
    import docx

    html, _, path, maps = exported[stem]
    page = html.read_text(encoding="utf-8")
    d = docx.Document(str(path))
    assert len(d.tables) == len(re.findall(r'<table\b[^>]*class="doc-table"', page))
    assert d.sections[0].header.paragraphs[0].text == MARKING
    assert d.sections[0].footer.paragraphs[0].text == MARKING
    pictures = len(d.inline_shapes)
    assert pictures >= len(maps)
    alts = [s._inline.docPr.get("descr") for s in d.inline_shapes]
    assert all(alts), "every picture carries alt text"
    headings = [p.text for p in d.paragraphs if p.style.name.startswith("Heading")]
    html_h2 = [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<h2[^>]*>(.*?)</h2>", page, re.S)]
    assert [h for h in html_h2 if h != "Contents"] == [h for h in headings if h in html_h2]
