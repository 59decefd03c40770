"""A wording check for rendered partner documents (used by the tests, not by the package).

``wording_problems(html)`` reads the visible text of a rendered HTML document and returns one
plain line per problem found: Python reprs (``nan``, ``None``), ``(s)`` plurals, snake_case
identifiers, file paths, module or function names, four-digit-plus counts without a thousands
separator, area codes in sentences, numbers with more decimals than their table column declares,
"0 households", test payloads and the sentences that issue 10 quoted as untrue on real data.

The data-quality document's tables, its appendix and any ``<code>`` element in it are exempt: they
list raw source values (file names, column names, codes) on purpose. References to the files of the
output itself ("tables/<name>.csv", "quality/intake.csv") are exempt too: partners receive them. An
area code in brackets right after a name ("Abbey (E05900001)") is allowed; a bare code is not.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Tag

from assessment.reporting.evidence import PLACE_TYPE_LABELS

__all__ = ["wording_problems", "visible_text"]

#: labels data.police.uk uses for anonymised map points; never a place name in a sentence
ANONYMISED_LABELS = PLACE_TYPE_LABELS

#: sentences (or fragments) issue 10 quoted as untrue or meaningless; never in a partner document
BAD_SENTENCES = (
    "how rarely a suspect is identified",
    "resources need not follow the calendar",
    "(100% of all police-recorded crime)",
    "copy these entries from the demo catalogue",
    "Great survey",
    "alert(1)",
    "<script",
    "Target-harden about 0",
)

_LIBRARIES = r"statsmodels|scipy|geopandas|pandas|numpy|shapely|libpysal|pysal|esda|pyproj|mapclassify|papermill|nbconvert"
_CHECKS: tuple[tuple[str, str, int], ...] = (
    # (what, pattern, flags); patterns run over visible text with URLs removed
    ("Python NaN", r"(?<![\w-])nan(?![\w-])", re.IGNORECASE),
    ("Python None", r"(?<![\w-])None(?![\w-])(?!\s+(?:of|was|were|is|are|has|have|had|in|at|on|for|by)\b)", 0),
    ("'(s)' plural", r"\w\(s\)", 0),
    ("snake_case identifier", r"(?<![\w./-])[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+(?![\w-])", 0),
    ("file path", r"(?<![\w])(?:[\w.-]+/)+[\w.-]+\.(?:ya?ml|py|csv|json|ipynb|html|geojson|gpkg|xlsx|parquet|txt)\b", 0),
    ("file name", r"(?<![\w/])[\w-]+\.(?:ya?ml|py|ipynb)\b", 0),
    ("module name", rf"\b(?:assessment|{_LIBRARIES})\.[a-z_]\w*", 0),
    ("library name", rf"\b(?:{_LIBRARIES})\b", 0),
    ("function call", r"\b[a-z_]\w*\(\)", 0),
    ("'0 households'", r"(?<![\d,.])0 households\b", re.IGNORECASE),
    ("'about 0'", r"\babout 0(?![.,]?\d)(?!%)", re.IGNORECASE),
    ("count without thousands separator", r"(?<![\w,.\-/:£#+])(?<![A-Z]{2} )(?<![A-Z]{3} )(?:\d{5,}|(?!(?:19|20)\d\d\b)\d{4})(?![\w,.%\-/:])", 0),
    ("1 with a plural noun", r"(?<![\d.,\-])\b1 (?:wards|areas|crimes|burglaries|datasets|targets|items|months|years|"
                             r"cells|hotspots|incidents|offences|services|residents|households|rows|gaps|bands|points|"
                             r"locations|agencies|priorities|issues|categories)\b", 0),
    # a p-value near 0.05 keeps three significant figures ("p = 0.0454") so it never rounds across 0.05
    ("unrounded number", r"(?<!p = )(?<![\w.,])\d+\.\d{4,}(?![\w.])", 0),
    ("0% share said to understate", r"(?<![\d.])0(?:\.0+)?%[^.]*have no map point", 0),
)
#: names from the workbench's own code that issue 10 found in partner text (checked everywhere)
_INTERNAL = re.compile(r"\b(?:force_2d|make_valid|file_line|proportion_confint|harm_weights\.csv|comment_themes\.yaml|"
                       r"horizon_scan\.yaml)\b")
_CODE_IN_SENTENCE = re.compile(r"\b[EWSNK]\d{8}\b")
_NAMED_CODE = re.compile(r"[A-Za-z'’.)] \([EWSNK]\d{8}\)")
_OUTPUT_FILE = re.compile(r"(?<![\w/])(?:tables|quality)/(?:[\w.-]+(?:/[\w.-]+)*)?")
_URL = re.compile(r"https?://\S+|www\.\S+")
_TABLE_NOTE_DATA = re.compile(r"^Data: tables/[\w.-]+$")
_DECIMALS = re.compile(r"^[-+−]?[\d,]*\.(\d+)")


def _text_of(node: Tag) -> str:
    return " ".join(node.get_text(" ").split())


def visible_text(html: str) -> str:
    """All text a reader sees (scripts, styles and the head removed), whitespace collapsed."""
    soup = BeautifulSoup(html, "html.parser")
    for t in soup(["script", "style", "head", "noscript", "template"]):
        t.decompose()
    return " ".join(soup.get_text(" ").split())


def _context(text: str, start: int, end: int, width: int = 50) -> str:
    return "…" + text[max(0, start - width):end + width] + "…"


def wording_problems(html: str) -> list[str]:
    """Problems in the visible wording of one rendered partner document.

    Parameters
    ----------
    html : str
        A rendered document (the HTML file's text).

    Returns
    -------
    list of str
        One line per problem: what was found and the text around it. Empty when clean.
    """
    soup = BeautifulSoup(html, "html.parser")
    for t in soup(["script", "style", "head", "noscript", "template"]):
        t.decompose()
    h1 = soup.find("h1")
    data_quality_doc = bool(h1 and _text_of(h1).lower().startswith("data quality"))
    problems: list[str] = []

    # numbers with more decimals than their column declares (TableView writes data-decimals on <th>)
    for table in soup.find_all("table"):
        heads = table.find_all("th", attrs={"scope": "col"})
        declared = {i: int(th["data-decimals"]) for i, th in enumerate(heads) if th.has_attr("data-decimals")}
        if not declared:
            continue
        for tr in table.find_all("tr"):
            cells = tr.find_all("td")
            for i, dec in declared.items():
                if i < len(cells):
                    m = _DECIMALS.match(_text_of(cells[i]))
                    if m and len(m.group(1)) > dec:
                        problems.append(f"more decimals than the column declares ({dec}) in column "
                                        f"'{_text_of(heads[i])}': {_text_of(cells[i])}")

    # the workbench's own internal names never appear, not even in the data-quality tables
    whole = " ".join(soup.get_text(" ").split())
    for m in _INTERNAL.finditer(whole):
        problems.append(f"internal name: {_context(whole, m.start(), m.end())}")

    # exempt parts: data-quality tables, and the output-table pointers
    for note in soup.find_all("p", class_="table-note"):
        if _TABLE_NOTE_DATA.match(_text_of(note)):
            note.decompose()
    if data_quality_doc:
        for node in soup.find_all(["table", "code"]):
            node.decompose()
        for h2 in soup.find_all("h2"):
            if _text_of(h2).lower().startswith("appendix"):
                for sib in list(h2.find_next_siblings()):
                    sib.decompose()
                h2.decompose()

    # area codes in sentences (outside tables)
    prose = BeautifulSoup(str(soup), "html.parser")
    for table in prose.find_all("table"):
        table.decompose()
    prose_text = _URL.sub(" ", " ".join(prose.get_text(" ").split()))
    for m in _CODE_IN_SENTENCE.finditer(prose_text):
        if _NAMED_CODE.match(prose_text, max(0, m.start() - 3)):
            continue
        problems.append(f"area code in a sentence: {_context(prose_text, m.start(), m.end())}")

    text = " ".join(soup.get_text(" ").split())
    raw = text
    text = _OUTPUT_FILE.sub(" ", _URL.sub(" ", text))
    for what, pattern, flags in _CHECKS:
        for m in re.finditer(pattern, text, flags):
            problems.append(f"{what}: {_context(text, m.start(), m.end())}")
    for bad in BAD_SENTENCES:
        i = raw.find(bad)
        if i >= 0:
            problems.append(f"quoted bad sentence {bad!r}: {_context(raw, i, i + len(bad))}")
    labels = "|".join(re.escape(lab) for lab in ANONYMISED_LABELS)
    place = re.compile(rf"(?:\b(?:to|at|around|near|in|outside|from)\s+(?:the\s+)?[‘'\"“]?|[‘'\"“])(?:{labels})\b", re.IGNORECASE)
    for m in place.finditer(raw):
        if raw[:m.start()].lower().endswith("on or "):
            continue  # the data.police.uk location text itself, as a table shows it
        problems.append(f"anonymised map-point label used as a place: {_context(raw, m.start(), m.end())}")
    return problems
