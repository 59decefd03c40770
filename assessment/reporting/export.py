"""A rendered document as a PDF for the board pack and as a Word file for drafting.

Both start from the finished HTML, so they hold exactly what partners see:

- :func:`export_pdf` prints the page with headless Chromium (the Debian package driven by
  Playwright, network blocked). Each interactive map is photographed as drawn on screen and
  printed as a static picture in its place; the protective marking is in the header and
  footer of every page, with page numbers; headings stay with what follows them and table
  rows are never split.
- :func:`export_docx` rebuilds the document with python-docx: headings, paragraphs, lists,
  every table (numbered as in the HTML, with its caption), every figure with its alt text
  (maps as the pictures the PDF export took), and the marking in the page header and footer.
"""

from __future__ import annotations

import base64
import io
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..checks import check_type
from .. import paths

PRINT_CSS = """
@media print {
  h1, h2, h3, h4, caption, figcaption { break-after: avoid; page-break-after: avoid; }
  h2 { break-before: auto !important; page-break-before: auto !important; }
  tr, li, figure, .callout, section.key-findings { break-inside: avoid; page-break-inside: avoid; }
  table.doc-table { break-inside: auto !important; page-break-inside: auto !important; }
  thead { display: table-header-group; }
  p { orphans: 3; widows: 3; }
  .map-frame { display: none !important; }
  .map-print-note { display: none !important; }
  img.map-static { display: block !important; max-width: 100%; max-height: 125mm; margin: 0 auto;
                   border: 1px solid #999; }
  .marking { display: none; }
}
img.map-static { display: none; }
"""
"""Print rules added to the page before it is printed (the template's own rules stay)."""

_BLOCK = re.compile(r"^(https?|wss?|ftp):", re.IGNORECASE)
_LEAFLET_CDN = re.compile(r"^https://[^/]+/(?:npm/)?leaflet@[\d.]+/dist/leaflet\.(?:js|css)$", re.IGNORECASE)


class ExportError(RuntimeError):
    """The PDF or Word file could not be made (the message says why)."""


def chromium_path() -> Path:
    """The Chromium the exports and browser tests use (Debian's ``/usr/bin/chromium`` unless set)."""
    return paths.CHROMIUM


def _launch(pw):
    exe = chromium_path()
    if not exe.is_file():
        raise ExportError(f"PDF export needs Chromium at {exe}: install Debian's chromium (`make browser`) or set "
                          "ASSESSMENT_CHROMIUM to its path")
    return pw.chromium.launch(executable_path=str(exe), headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])


_KEPT = threading.local()  # a thread's kept Chromium (keep_chromium), launched at its first export


def keep_chromium() -> None:
    """Keep one headless Chromium open on this thread for every export until :func:`release_chromium`.

    Each export otherwise starts Playwright and a browser and closes them again (about a second
    a document); an edition exporting its documents one after another on one thread calls this
    first and ``release_chromium`` at the end, on that same thread (Playwright's synchronous API
    belongs to the thread that started it). The browser is launched at the first export.
    """
    if getattr(_KEPT, "state", None) is None:
        _KEPT.state = {"pw": None, "browser": None}


def release_chromium() -> None:
    """Close the Chromium :func:`keep_chromium` kept on this thread (nothing when none is open)."""
    state = getattr(_KEPT, "state", None)
    _KEPT.state = None
    if not state:
        return
    try:
        if state["browser"] is not None:
            state["browser"].close()
    finally:
        if state["pw"] is not None:
            state["pw"].stop()


@contextmanager
def _browser() -> Iterator:
    """A browser for one export: the thread's kept one (launched when first needed), else a fresh one."""
    state = getattr(_KEPT, "state", None)
    if state is None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = _launch(pw)
            try:
                yield browser
            finally:
                browser.close()
        return
    if state["browser"] is not None and not state["browser"].is_connected():
        state["browser"] = None  # it went away: launch another
    if state["browser"] is None:
        if state["pw"] is None:
            from playwright.sync_api import sync_playwright

            state["pw"] = sync_playwright().start()
        state["browser"] = _launch(state["pw"])
    yield state["browser"]


def _block_network(page) -> None:
    """Block the network, but answer requests for Leaflet from the copy the package bundles.

    A document run online loads Leaflet from a CDN; with the network blocked its maps would print
    blank. Served locally, they draw as the offline ones do (boundaries and names; tiles stay blocked).
    """
    from .maps import _leaflet_asset

    def route(r) -> None:
        url = r.request.url
        if _LEAFLET_CDN.match(url):
            is_js = url.split("?")[0].lower().endswith(".js")
            return r.fulfill(status=200, body=_leaflet_asset("leaflet.js" if is_js else "leaflet.css"),
                             content_type="application/javascript" if is_js else "text/css",
                             headers={"Access-Control-Allow-Origin": "*"})
        return r.abort() if _BLOCK.match(url) else r.continue_()

    page.route("**/*", route)


def _shoot_maps(page, html: Path) -> list[bytes]:
    """Open the document and photograph each interactive map as drawn on screen, in order."""
    page.goto(html.as_uri(), wait_until="load")
    shots = []
    for frame in page.query_selector_all(".map-frame"):
        frame.scroll_into_view_if_needed()
        page.wait_for_timeout(150)
        shots.append(frame.screenshot(type="png"))
    return shots


def map_pictures(html: str | Path, width: int = 1000) -> list[bytes]:
    """PNG pictures of every interactive map of a rendered document, in document order.

    Parameters
    ----------
    html : str or Path
        The rendered document.
    width : int, default 1000
        Viewport width in CSS pixels used to draw the maps.

    Returns
    -------
    list of bytes
        One PNG per element with the class ``map-frame``.
    """
    check_type(html, "html", (str, Path))
    html = Path(html).resolve()
    with _browser() as browser:
        page = browser.new_page(viewport={"width": width, "height": 900})
        try:
            _block_network(page)
            return _shoot_maps(page, html)
        finally:
            page.close()


def export_pdf(html: str | Path, pdf: str | Path, marking: str, title: str = "") -> list[bytes]:
    """Print a rendered document to PDF for the board pack.

    Parameters
    ----------
    html : str or Path
        The rendered document.
    pdf : str or Path
        The PDF to write.
    marking : str
        The protective marking printed in the header and footer of every page (e.g. ``OFFICIAL``).
    title : str, optional
        Document title for the footer.

    Returns
    -------
    list of bytes
        The map pictures placed in the PDF (for :func:`export_docx` to reuse).
    """
    from html import escape

    check_type(html, "html", (str, Path))
    check_type(marking, "marking", str)
    html, pdf = Path(html).resolve(), Path(pdf)
    marking_html = escape(marking)
    header = (f'<div style="font-size:9px;width:100%;text-align:center;font-weight:bold;">{marking_html}</div>')
    footer = ('<div style="font-size:9px;width:100%;display:flex;justify-content:space-between;padding:0 12mm;">'
              f'<span>{escape(title)}</span><span style="font-weight:bold;">{marking_html}</span>'
              '<span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>')
    with _browser() as browser:
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        try:
            _block_network(page)
            shots = _shoot_maps(page, html)
            page.evaluate(
                """([shots, css]) => {
                    const style = document.createElement('style');
                    style.textContent = css;
                    document.head.appendChild(style);
                    document.querySelectorAll('.map-frame').forEach((frame, i) => {
                        const img = document.createElement('img');
                        img.className = 'map-static';
                        img.src = 'data:image/png;base64,' + shots[i];
                        img.alt = frame.getAttribute('title') || 'Map';
                        frame.insertAdjacentElement('afterend', img);
                    });
                }""",
                [[base64.b64encode(s).decode() for s in shots], PRINT_CSS],
            )
            pdf.parent.mkdir(parents=True, exist_ok=True)
            page.pdf(path=str(pdf), format="A4", print_background=True, display_header_footer=True,
                     header_template=header, footer_template=footer,
                     margin={"top": "18mm", "bottom": "18mm", "left": "14mm", "right": "14mm"})
            return shots
        finally:
            page.close()


def _cell_text(tag) -> str:
    return " ".join(tag.get_text(" ", strip=True).split())


def _add_picture(doc, data: bytes, alt: str, width_cm: float = 16.0):
    from docx.shared import Cm

    doc.add_picture(io.BytesIO(data), width=Cm(width_cm))
    inline = doc.inline_shapes[-1]._inline
    inline.docPr.set("descr", alt)
    inline.docPr.set("title", alt[:60])


def _data_uri_bytes(src: str) -> bytes | None:
    m = re.match(r"^data:image/(png|jpeg|gif);base64,(.*)$", src or "", re.DOTALL)
    return base64.b64decode(m.group(2)) if m else None


class _Styles:
    """Style ids of a Word document by name, each looked up once.

    python-docx looks a style name up by scanning every style of the document (and again for the
    default style) at each paragraph or table given one; a document of a few hundred paragraphs
    spent a quarter of its export there. The ids are those python-docx would set.
    """

    def __init__(self, doc):
        self.doc = doc
        self.ids: dict[tuple[str, int], str | None] = {}

    def id(self, name: str, kind) -> str | None:
        if (name, kind) not in self.ids:
            self.ids[(name, kind)] = self.doc.part.get_style_id(name, kind)
        return self.ids[(name, kind)]

    def paragraph(self, text: str, name: str):
        """``doc.add_paragraph(text, style=name)``."""
        from docx.enum.style import WD_STYLE_TYPE

        para = self.doc.add_paragraph(text)
        para._p.style = self.id(name, WD_STYLE_TYPE.PARAGRAPH)
        return para

    def heading(self, text: str, level: int):
        """``doc.add_heading(text, level)``."""
        return self.paragraph(text, "Title" if level == 0 else f"Heading {level}")

    def table(self, table, name: str) -> None:
        """``table.style = name``."""
        from docx.enum.style import WD_STYLE_TYPE

        table._tbl.tblStyle_val = self.id(name, WD_STYLE_TYPE.TABLE)


def _add_table(doc, table, styles: _Styles | None = None) -> None:
    styles = styles or _Styles(doc)
    caption = table.find("caption")
    if caption is not None:
        styles.paragraph(_cell_text(caption), "Caption")
    rows = table.find_all("tr")
    if not rows:
        return
    width = max(len(r.find_all(["td", "th"])) for r in rows)
    out = doc.add_table(rows=0, cols=width)
    styles.table(out, "Table Grid")
    for r in rows:
        cells = r.find_all(["td", "th"])
        row = out.add_row().cells
        for i, c in enumerate(cells[:width]):
            row[i].text = _cell_text(c)
            if c.name == "th":
                for run in row[i].paragraphs[0].runs:
                    run.bold = True


def export_docx(html: str | Path, docx: str | Path, marking: str, maps: list[bytes] | None = None) -> Path:
    """Rebuild a rendered document as a Word file for drafting with tracked changes.

    Parameters
    ----------
    html : str or Path
        The rendered document.
    docx : str or Path
        The Word file to write.
    marking : str
        Protective marking for the page header and footer.
    maps : list of bytes, optional
        Pictures of the document's maps in order (from :func:`export_pdf` or
        :func:`map_pictures`); without them each map is replaced by its description.

    Returns
    -------
    Path
        The file written.
    """
    from bs4 import BeautifulSoup
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    check_type(html, "html", (str, Path))
    soup = BeautifulSoup(Path(html).read_text(encoding="utf-8"), "html.parser")
    doc = Document()
    section = doc.sections[0]
    for part in (section.header, section.footer):
        para = part.paragraphs[0]
        para.text = marking
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        for run in para.runs:
            run.bold = True
    styles = _Styles(doc)
    title = soup.find("h1")
    if title is not None:
        styles.heading(_cell_text(title), 0)
    maps = list(maps or [])
    map_index = 0
    main = soup.find("main") or soup.body
    handled: set[int] = set()
    for tag in main.find_all(["h2", "h3", "h4", "p", "li", "table", "figure"]):
        if any(id(p) in handled for p in tag.parents):
            continue
        name = tag.name
        if name in ("h2", "h3", "h4"):
            styles.heading(_cell_text(tag), int(name[1]) - 1)
        elif name == "table":
            handled.add(id(tag))
            _add_table(doc, tag, styles)
        elif name == "figure":
            handled.add(id(tag))
            if tag.find("table") is not None:
                for t in tag.find_all("table"):
                    _add_table(doc, t, styles)
            frame = tag.find(class_="map-frame")
            img = tag.find("img")
            caption = tag.find("figcaption")
            if frame is not None:
                alt = frame.get("title") or "Map"
                if map_index < len(maps):
                    _add_picture(doc, maps[map_index], alt)
                else:
                    doc.add_paragraph(f"[Map: {alt}]")
                map_index += 1
            elif img is not None:
                data = _data_uri_bytes(img.get("src", ""))
                alt = img.get("alt") or ""
                if data:
                    _add_picture(doc, data, alt)
                else:
                    doc.add_paragraph(f"[Figure: {alt}]")
            if caption is not None:
                styles.paragraph(_cell_text(caption), "Caption")
        elif name == "li":
            if tag.find_parent("nav") is not None:
                continue
            styles.paragraph(_cell_text(tag), "List Number" if tag.parent.name == "ol" else "List Bullet")
        elif name == "p":
            if tag.find_parent(["li", "table", "nav"]) is not None:
                continue
            text = _cell_text(tag)
            if text:
                doc.add_paragraph(text)
    docx = Path(docx)
    docx.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(docx))
    return docx
