"""PDF and Word exports of the rendered demo documents (issue: board pack and drafting)."""

from __future__ import annotations

import re

import pytest

from assessment import paths
from assessment.cli import DEMO_DOCUMENTS

pytestmark = [pytest.mark.slow, pytest.mark.browser]

MARKING = "OFFICIAL"
STEMS = [stem for _, _, stem in DEMO_DOCUMENTS]


@pytest.fixture(scope="module")
def exported(demo_outputs):
    """Each demo document's HTML, PDF, Word file and map pictures, as the shared demo run wrote them."""
    if not paths.CHROMIUM.is_file():
        pytest.skip(f"{paths.CHROMIUM} not found: run `make browser` to enable the PDF tests")
    import pypdf

    made = {}
    for stem in STEMS:
        if stem not in demo_outputs.runs:
            pytest.fail(f"{stem} did not render: {demo_outputs.failures.get(stem)}")
        run = demo_outputs.runs[stem]
        assert run.pdf is not None and run.pdf.is_file(), f"{stem}: no PDF beside the HTML"
        assert run.docx is not None and run.docx.is_file(), f"{stem}: no Word file beside the HTML"
        made[stem] = (run.html, run.pdf, run.docx, pypdf.PdfReader(str(run.pdf)))
    return made


@pytest.mark.parametrize("stem", STEMS)
def test_pdf_marking_on_every_page_and_no_near_empty_page(exported, stem):
    _, pdf, _, reader = exported[stem]
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
    html, pdf, _, reader = exported[stem]
    page = html.read_text(encoding="utf-8")
    frames = page.count('class="map-frame"')
    charts = len(re.findall(r"<img\b", page))
    images = [img for p in reader.pages for img in p.images]
    assert len(images) >= frames + charts
    assert all(len(img.data) > 2000 for img in images)  # drawn pictures, not blank placeholders
    assert "Interactive map: open the HTML" not in "".join(p.extract_text() for p in reader.pages)


@pytest.mark.parametrize("stem", STEMS)
def test_docx_has_every_table_figure_and_marking(exported, stem):
    import docx

    html, _, path, _ = exported[stem]
    page = html.read_text(encoding="utf-8")
    d = docx.Document(str(path))
    assert len(d.tables) == len(re.findall(r'<table\b[^>]*class="doc-table"', page))
    assert d.sections[0].header.paragraphs[0].text == MARKING
    assert d.sections[0].footer.paragraphs[0].text == MARKING
    pictures = len(d.inline_shapes)
    assert pictures == page.count('class="map-frame"') + len(re.findall(r"<img\b", page))
    alts = [s._inline.docPr.get("descr") for s in d.inline_shapes]
    assert all(alts), "every picture carries alt text"
    headings = [p.text for p in d.paragraphs if p.style.name.startswith("Heading")]
    html_h2 = [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<h2[^>]*>(.*?)</h2>", page, re.S)]
    assert [h for h in html_h2 if h != "Contents"] == [h for h in headings if h in html_h2]


def test_an_online_map_is_drawn_in_its_picture_with_the_network_blocked(tmp_path):
    """Leaflet from the CDN is answered from the bundled copy, so an online run's maps print drawn, not blank."""
    if not paths.CHROMIUM.is_file():
        pytest.skip(f"{paths.CHROMIUM} not found: run `make browser` to enable the PDF tests")
    import io

    import geopandas as gpd
    from PIL import Image
    from shapely.geometry import box

    from assessment.reporting.display import MapView
    from assessment.reporting.export import map_pictures
    from assessment.reporting.maps import map_choropleth

    areas = gpd.GeoDataFrame({"name": ["North", "South"], "v": [1.0, 9.0]},
                             geometry=[box(432000, 285000, 434000, 287000), box(432000, 283000, 434000, 285000)],
                             crs=27700)
    page = map_choropleth(areas, "v", name_column="name", legend="Crimes")  # online: Leaflet from a CDN, tiles
    assert "cdn.jsdelivr.net" in page and "L.tileLayer(" in page
    doc = tmp_path / "doc.html"
    doc.write_text("<!DOCTYPE html><html><body>" + MapView(page, 1, "c", "a map")._repr_html_() + "</body></html>",
                   encoding="utf-8")
    (shot,) = map_pictures(doc)
    colours = Image.open(io.BytesIO(shot)).convert("RGB").getcolors(maxcolors=100_000)
    # the legend alone holds about 200 red pixels (its swatches); the drawn red ward holds thousands
    red = sum(n for n, (r, g, b) in colours if r > 150 and g < 120 and b < 100)
    assert red > 1000, f"the map printed blank ({red} red pixels: the legend's only)"


def test_a_kept_chromium_serves_every_export_of_its_thread_and_is_released(tmp_path):
    """keep_chromium: one browser for the exports of one thread (same pictures), closed by release_chromium."""
    if not paths.CHROMIUM.is_file():
        pytest.skip(f"{paths.CHROMIUM} not found: run `make browser` to enable the PDF tests")
    from assessment.reporting import export

    doc = tmp_path / "doc.html"
    doc.write_text('<!DOCTYPE html><html><body><div class="map-frame" style="width:200px;height:100px;'
                   'background:#c00"></div></body></html>', encoding="utf-8")
    fresh = export.map_pictures(doc)
    export.keep_chromium()
    try:
        first = export.map_pictures(doc)
        browser = export._KEPT.state["browser"]
        second = export.map_pictures(doc)
        assert export._KEPT.state["browser"] is browser and browser.is_connected()
    finally:
        export.release_chromium()
    assert not browser.is_connected() and export._KEPT.state is None
    assert first == second == fresh
