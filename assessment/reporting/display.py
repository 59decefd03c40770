"""Displayable pieces of a partner-facing document: sections, tables, figures and maps.

A notebook cell returns one of these objects; Jupyter shows it through ``_repr_html_``
and nbconvert copies that HTML into the rendered document. Every string that comes
from data (street names, comments, category labels) is escaped here, so a comment
holding ``<script>`` shows as text.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..escaping import escape_html


def escape(value: Any) -> str:
    """Escape any value for safe inclusion in HTML text (:func:`assessment.escaping.escape_html`)."""
    return escape_html(value)


def slugify(text: str) -> str:
    """A file- and anchor-safe slug."""
    slug = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")
    return slug[:60] or "item"


def format_number(value: Any, decimals: int | None = None) -> str:
    """Format a number for a partner table: thousands separators, fixed decimals."""
    if isinstance(value, str):
        return value
    if value is None or pd.isna(value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if pd.api.types.is_float(value) and math.isinf(value):  # e.g. a step up from nothing recorded
        return "\u221e" if value > 0 else "\u2212\u221e"
    if isinstance(value, int) or (decimals is None and float(value).is_integer()):
        return f"{int(round(float(value))):,}"
    return f"{float(value):,.{1 if decimals is None else decimals}f}"


_P_COLUMN = re.compile(r"^(p|p-value|p value|p_value|p_adjusted|adjusted p)\b|^p \(", re.I)
_WHOLE = re.compile(r"-?\d{4,}")
_ID_COLUMN = re.compile(r"\b(id|ref|code|number|reference|postcode)\b|_id$|_ref$", re.I)
_YEAR_COLUMN = re.compile(r"\byear\b|_year$|^year", re.I)
_NAMED_PERIOD = re.compile(r"\d{4}")  # "financial year 2024-25" names a period: its cells are counts, not years


_PERCENT_COLUMN = re.compile(r"%|\bshare\b|percent", re.I)
_RATE_COLUMN = re.compile(r"\brate\b|\bper\b|per 1,?000", re.I)
_RATIO_COLUMN = re.compile(r"ratio|\brho\b|correlation|jaccard|index|coefficient|strength|\bscore\b|\bz\b", re.I)


def default_decimals(column: Any) -> int:
    """Decimal places for a column whose table declares none, by the column's type (its name).

    Ratios, correlations, indices and scores 2; percentages, shares and rates 1; anything else 1.
    (Counts are whole numbers and show none; p-values and years have their own formats.)
    """
    name = str(column)
    if _RATIO_COLUMN.search(name) and not _PERCENT_COLUMN.search(name):
        return 2
    return 1


def format_cell(value: Any, column: str, decimals: int | None = None) -> str:
    """Format one table cell by its column: p-values as "<0.001", years without separators.

    Counts that disclosure control turned into text (so that "[c]" can stand beside them) are
    shown as numbers again, with thousands separators.
    """
    is_year = bool(_YEAR_COLUMN.search(str(column))) and not _NAMED_PERIOD.search(str(column))
    if (isinstance(value, str) and _WHOLE.fullmatch(value) and not is_year
            and not _ID_COLUMN.search(str(column))):
        value = int(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not pd.isna(value):
        if _P_COLUMN.search(str(column)):
            return "<0.001" if value < 0.001 else f"{value:.3f}"
        if is_year and float(value).is_integer():
            return str(int(value))
    return format_number(value, decimals)


#: Receives the text of every section a notebook shows (set by ``open_document``), so that the
#: glossary at the end can list the technical terms the document actually used.
_shown_recorder: Any = None


def record_shown(recorder: Any) -> None:
    """Send the HTML of every shown :class:`Section` and :class:`HTMLPart` to ``recorder`` (or stop: None)."""
    global _shown_recorder
    _shown_recorder = recorder


def _shown(html_text: str) -> str:
    if _shown_recorder is not None:
        _shown_recorder(html_text)
    return html_text


@dataclass
class HTMLPart:
    """A fragment of already-safe HTML."""

    html: str

    def _repr_html_(self) -> str:
        return _shown(self.html)


def paragraph(text: str, css: str | None = None) -> HTMLPart:
    """A paragraph of text, escaped."""
    cls = f' class="{css}"' if css else ""
    return HTMLPart(f"<p{cls}>{escape(text)}</p>")


def bullet_list(items: list[str]) -> HTMLPart:
    """A bulleted list, each item escaped."""
    if not items:
        return HTMLPart("")
    return HTMLPart("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>")


def callout(text: str, caveat: bool = False) -> HTMLPart:
    """A highlighted box: key messages, or (``caveat=True``) honest limits of the data."""
    cls = "callout caveat" if caveat else "callout"
    return HTMLPart(f'<div class="{cls}" role="note"><p>{escape(text)}</p></div>')


@dataclass
class TableView:
    """A numbered table with caption and footnotes, rendered from a data frame."""

    frame: pd.DataFrame
    number: int
    caption: str
    notes: list[str] = field(default_factory=list)
    csv_name: str | None = None
    decimals: dict[str, int] = field(default_factory=dict)
    max_rows: int | None = 60
    sensitivity: str = "public"

    def _repr_html_(self) -> str:
        df = self.frame
        shown = df if self.max_rows is None or len(df) <= self.max_rows else df.head(self.max_rows)
        numeric = {c: pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in df.columns}
        def declared(c: str) -> str:
            # the declared decimals, for checkers; p-value and year columns have their own format
            d = self.decimals.get(c)
            if d is None or not numeric[c] or _P_COLUMN.search(str(c)) or _YEAR_COLUMN.search(str(c)):
                return ""
            return f' data-decimals="{int(d)}"'

        head = "".join(
            f'<th scope="col" class="{"num" if numeric[c] else ""}"{declared(c)}>{escape(c)}</th>' for c in df.columns
        )
        def places(c: str, v: Any) -> int | None:
            # declared decimals, else by the column's type for numbers that are not whole
            if c in self.decimals:
                return self.decimals[c]
            whole = isinstance(v, (int, float)) and not isinstance(v, bool) and not pd.isna(v) and float(v).is_integer()
            return None if whole or not isinstance(v, (int, float)) else default_decimals(c)

        body_rows = []
        columns = {c: shown[c].tolist() for c in df.columns}
        for i in range(len(shown)):
            cells = []
            for c in df.columns:
                v = columns[c][i]
                text = format_cell(v, c, places(c, v)) if numeric[c] or isinstance(v, (int, float, str)) else v
                cells.append(f'<td class="{"num" if numeric[c] else ""}">{escape(text)}</td>')
            body_rows.append("<tr>" + "".join(cells) + "</tr>")
        notes = list(self.notes)
        if len(shown) < len(df):
            notes.append(f"The first {len(shown):,} of {len(df):,} rows are shown; the full table is in the tables folder.")
        note_html = "".join(f'<p class="table-note">{escape(n)}</p>' for n in notes)
        if self.csv_name:
            href = escape(f"tables/{self.csv_name}")
            note_html += f'<p class="table-note">Data: <a class="data-link" href="{href}">{href}</a></p>'

        return (
            # focusable, so that keyboard users can scroll a table wider than the screen
            f'<div class="table-wrap" tabindex="0" role="region" aria-label="Table {self.number}">'
            f'<table class="doc-table" id="table-{self.number}" '
            f'data-sensitivity="{escape(self.sensitivity)}">'
            f"<caption>Table {self.number}: {escape(self.caption)}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body_rows)}</tbody></table></div>{note_html}"
        )


@dataclass
class FigureView:
    """A numbered figure holding a PNG image, with alt text for screen readers."""

    png: bytes
    number: int
    caption: str
    alt: str
    notes: list[str] = field(default_factory=list)

    def _repr_html_(self) -> str:
        data = base64.b64encode(self.png).decode("ascii")
        notes = "".join(f'<p class="table-note">{escape(n)}</p>' for n in self.notes)
        return (
            f'<figure id="figure-{self.number}"><img src="data:image/png;base64,{data}" alt="{escape(self.alt)}">'
            f"<figcaption>Figure {self.number}: {escape(self.caption)}</figcaption>{notes}</figure>"
        )


@dataclass
class MapView:
    """A numbered interactive map (a self-contained Leaflet page in an iframe)."""

    page: str
    number: int
    caption: str
    alt: str
    notes: list[str] = field(default_factory=list)

    def _repr_html_(self) -> str:
        notes = "".join(f'<p class="table-note">{escape(n)}</p>' for n in self.notes)
        srcdoc = html.escape(self.page, quote=True)
        return (
            f'<figure id="figure-{self.number}" class="map-figure">'
            f'<iframe class="map-frame" title="{escape(self.alt)}" srcdoc="{srcdoc}"></iframe>'
            f'<p class="map-print-note">Interactive map: open the HTML document to explore it.</p>'
            f"<figcaption>Figure {self.number} (map): {escape(self.caption)}</figcaption>"
            f'<p class="table-note">Description: {escape(self.alt)}</p>{notes}</figure>'
        )


@dataclass
class Section:
    """A titled section: a heading followed by parts (paragraphs, tables, figures, maps)."""

    title: str
    parts: list[Any] = field(default_factory=list)
    level: int = 2

    def add(self, *parts: Any) -> "Section":
        """Append parts; strings become escaped paragraphs."""
        for part in parts:
            if part is None:
                continue
            self.parts.append(paragraph(part) if isinstance(part, str) else part)
        return self

    def _repr_html_(self) -> str:
        inner = "".join(p._repr_html_() for p in self.parts)
        return _shown(f'<section><h{self.level} id="{slugify(self.title)}">{escape(self.title)}</h{self.level}>'
                      f'{inner}</section>')


#: Direction of change: the word shown (never an arrow or a colour alone).
DIRECTIONS = {"up": "Rising", "down": "Falling", "steady": "No clear change", "new": "New"}
#: Red/amber/green ratings: the word shown beside the colour.
RAG = {"red": "Red", "amber": "Amber", "green": "Green"}


@dataclass
class Finding:
    """One key finding: a plain sentence, its direction of change and its red/amber/green rating.

    ``direction`` is one of :data:`DIRECTIONS` (or None when the finding is not a change);
    ``rag`` one of :data:`RAG` (or None when no benchmark allows a rating), with ``against``
    saying in words what it was compared with (e.g. ``'above the most similar group'``).
    """

    text: str
    direction: str | None = None
    rag: str | None = None
    against: str = ""

    def __post_init__(self) -> None:
        check_text = self.text if isinstance(self.text, str) else None
        if not check_text or not check_text.strip():
            raise ValueError(f"a finding must be a non-empty sentence, got {self.text!r}")
        if self.direction is not None and self.direction not in DIRECTIONS:
            raise ValueError(f"`direction` must be one of {sorted(DIRECTIONS)} or None, got {self.direction!r}")
        if self.rag is not None and self.rag not in RAG:
            raise ValueError(f"`rag` must be one of {sorted(RAG)} or None, got {self.rag!r}")
        if self.rag is not None and not str(self.against).strip():
            raise ValueError("a red/amber/green rating must say what it compares against (`against`), got nothing")

    def _repr_html_(self) -> str:
        marks = ""
        if self.direction:
            marks += (f'<span class="kf-direction kf-{self.direction}">'
                      f"{escape(DIRECTIONS[self.direction])}</span> ")
        rag = ""
        if self.rag:
            rag = (f' <span class="rag rag-{self.rag}">{escape(RAG[self.rag])}: '
                   f"{escape(self.against)}</span>")
        return f"<li>{marks}{escape(self.text)}{rag}</li>"


def key_findings(items: list[Finding | str], *, benchmark: str = "", title: str = "Key findings") -> HTMLPart:
    """The key-findings panel that opens every document: five to eight plain sentences.

    Parameters
    ----------
    items : list of Finding or str
        The findings in order of importance (a string is a finding with no direction or rating).
        At most eight; a document should give at least five where its data allow.
    benchmark : str
        One plain sentence on what the red/amber/green ratings compare against, or that no
        benchmark is available (never left implicit).
    title : str
        The panel's heading.

    Returns
    -------
    HTMLPart
        ``<section class="key-findings">`` with a heading, the list and a note on the ratings.
        Each direction and rating is written as a word beside its colour, never colour alone.
    """
    if not isinstance(items, (list, tuple)):
        raise TypeError(f"`items` must be a list of findings, got {type(items).__name__}")
    found = [i if isinstance(i, Finding) else Finding(str(i)) for i in items]
    if not found or len(found) > 8:
        raise ValueError(f"a key-findings panel holds one to eight findings, got {len(found)}")
    note = f'<p class="kf-note">{escape(benchmark)}</p>' if benchmark else ""
    return HTMLPart(
        f'<section class="key-findings" aria-labelledby="key-findings"><h2 id="key-findings">{escape(title)}</h2>'
        f'<ul class="kf-list">{"".join(f._repr_html_() for f in found)}</ul>{note}</section>'
    )


def figure_png(fig: Any, dpi: int = 110) -> bytes:
    """Render a matplotlib figure to PNG bytes (deterministic metadata) and close it.

    Every chart of every document is rendered here, so this is where data text in chart labels
    is made literal: mathtext is turned off for every text of the figure (titles, axis and tick
    labels, legends, annotations), so an area named ``$\\frac{x}$`` is drawn as written and
    cannot break the render. PNG holds no markup, so nothing else needs escaping.
    """
    import matplotlib
    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    for text in fig.findobj(Text):  # the figure's own texts: a few dozen labels
        text.set_parse_math(False)
    buf = io.BytesIO()
    with matplotlib.rc_context({"text.parse_math": False}):  # tick labels made while drawing
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
