"""What opens every document: a line of links, the key findings and an "about this document" box.

Each document module computes its own findings (``section_key_findings``) and passes them to
:func:`front_matter`, which adds the links to the edition's other documents and the box
with the data's end month, the production date, the sources, the next update and the contact.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from .display import Finding, HTMLPart, escape, key_findings
from .document import Document
from .kinds import DOCUMENT_NAMES, DOCUMENT_USES

#: A benchmark sentence when no comparison group is available: said plainly, never invented.
NO_BENCHMARK = ("No benchmark is available for these findings: the catalogue holds no comparison with similar "
                "partnerships or England for them, so none is rated red, amber or green.")


def month_name(month: str) -> str:
    """``'2025-12'`` as ``'December 2025'`` (text that is not a month is returned unchanged)."""
    try:
        return pd.Period(str(month), freq="M").strftime("%B %Y")
    except (ValueError, TypeError):
        return str(month)


def document_sources(doc: Document) -> list[str]:
    """'Title (owner)' for every dataset this document may use under its sharing agreement.

    The data-quality document reads every dataset in the catalogue; the others read those whose
    agreement permits the document's use. A copy of another dataset (``duplicate_of``) is listed
    with the dataset it copies, not again.
    """
    use = DOCUMENT_USES.get(doc.kind, "")
    out = []
    for key, ds in doc.catalogue.datasets.items():
        if ds.duplicate_of is not None:
            continue
        uses = [u.strip().lower() for u in ds.sharing.permitted_uses]
        if doc.kind == "data_quality" or use in uses:
            out.append(f"{ds.title} ({ds.agency})")
    return out


def _refresh_summary(doc: Document) -> str:
    counts = Counter(str(ds.refresh).strip().lower() for ds in doc.catalogue.datasets.values() if ds.refresh)
    if not counts:
        return ""
    adverb = {"annual": "annually", "yearly": "annually"}
    ordered = sorted(counts.items(), key=lambda kv: -kv[1])
    parts = [f"{adverb.get(how, how)} ({n} {'dataset' if n == 1 else 'datasets'})" for how, n in ordered]
    return "The sources are refreshed " + ", ".join(parts) + "."


def next_update(doc: Document) -> str:
    """The next update as the catalogue sets it (``documents.<kind>.next_update``), or 'not set' plainly."""
    settings = doc.catalogue.documents.get(doc.kind)
    when = settings.next_update if settings is not None else None
    refresh = _refresh_summary(doc)
    if when:
        text = month_name(str(when))
        return text + (f". {refresh}" if refresh else "")
    return "Not set in the catalogue's settings for this document." + (f" {refresh}" if refresh else "")


def about_box(doc: Document) -> HTMLPart:
    """The "about this document" box: data end month, production date, sources, next update, contact."""
    p = doc.catalogue.partnership
    sources = document_sources(doc)
    contact = p.contact.strip() if p.contact and p.contact.strip() else "Not set in the catalogue's partnership settings."
    rows = [
        ("Data up to", f"{month_name(p.window.end)} (assessment window {month_name(p.window.start)} to "
                       f"{month_name(p.window.end)})"),
        ("Produced", doc.run_date.strftime("%d %B %Y").lstrip("0")),
        ("Next update", next_update(doc)),
        ("Contact", contact),
    ]
    body = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
    src = ("<dt>Sources</dt><dd>" + ("<ul>" + "".join(f"<li>{escape(s)}</li>" for s in sources) + "</ul>"
                                     if sources else "No dataset in the catalogue is shared for this use.")
           + "</dd>")
    return HTMLPart(f'<aside class="about-document" aria-labelledby="about-this-document">'
                    f'<h2 id="about-this-document">About this document</h2><dl>{body}{src}</dl></aside>')


def _stem_name(stem: str) -> str:
    for kind, name in DOCUMENT_NAMES.items():
        if stem == kind:
            return name
        if stem.startswith(kind + "_"):
            return f"{name}: {stem[len(kind) + 1:].replace('_', ' ')}"
    return stem.replace("_", " ").capitalize()


def planned_documents(doc: Document) -> list[str]:
    """The file stems of the edition's documents the catalogue describes (problem profiles per topic)."""
    stems = []
    for kind in DOCUMENT_NAMES:
        settings = doc.catalogue.documents.get(kind)
        if settings is None:
            continue
        if kind == "problem_profile" and settings.topics:
            stems += [f"{kind}_{t}" for t in settings.topics]
        else:
            stems.append(kind)
    return stems


def document_nav(doc: Document) -> HTMLPart:
    """Links to the edition's index and to its other documents that already exist beside this one.

    Decided at render time: a document is linked only when its HTML is in the folder the edition
    is published to; the index (which ``run_document`` keeps up to date) lists every document.
    """
    folder = Path(doc.published_dir or doc.out_dir)
    existing = {f.stem for f in folder.glob("*.html")} if folder.is_dir() else set()
    others = [s for s in planned_documents(doc) if s != doc.name and s in existing]
    others += sorted(s for s in existing - set(others) - {doc.name, "index"}
                     if any(s == k or s.startswith(k + "_") for k in DOCUMENT_NAMES))
    links = ['<a href="index.html">All documents of this edition</a>']
    links += [f'<a href="{escape(s)}.html">{escape(_stem_name(s))}</a>' for s in others]
    return HTMLPart('<nav class="doc-nav" aria-label="Other documents">' + " · ".join(links) + "</nav>")


def front_matter(doc: Document, findings: list[Finding | str], benchmark: str = "") -> HTMLPart:
    """The opening of a document: links to the others, the key findings, and the about box.

    ``benchmark`` says what the red/amber/green ratings compare against; without it (and with no
    rated finding) the panel says plainly that no benchmark is available.
    """
    rated = any(isinstance(f, Finding) and f.rag for f in findings)
    note = benchmark or ("" if rated else NO_BENCHMARK)
    parts = [document_nav(doc), key_findings(list(findings)[:8], benchmark=note), about_box(doc)]
    return HTMLPart("".join(p._repr_html_() for p in parts))


def direction_of(pct: float, p_value: float | None = None, alpha: float = 0.05) -> str:
    """'up', 'down' or 'steady' for a percentage change: steady when the change is within chance.

    Without a test (``p_value`` None or NaN) the sign of the change decides, and a change of less
    than 1% either way is 'steady'.
    """
    if pct is None or not np.isfinite(float(pct)):
        return "steady"
    if p_value is not None and np.isfinite(float(p_value)):
        if float(p_value) >= alpha:
            return "steady"
    elif abs(float(pct)) < 1:
        return "steady"
    return "up" if float(pct) > 0 else "down"


def change_words(pct: float, direction: str) -> str:
    """'up 12%', 'down 3%' or 'about the same (down 1%, within normal variation)' in plain words."""
    if pct is None or not np.isfinite(float(pct)):
        return "with nothing to compare against"
    size = f"{abs(float(pct)):.0f}%"
    word = "up" if float(pct) > 0 else "down"
    if direction == "steady":
        return f"about the same ({word} {size}, within normal variation)" if round(abs(float(pct))) else \
            "about the same"
    return f"{word} {size}"


def peer_finding(position: str, subject: str = "rate", group: str = "the most similar group's usual range"
                 ) -> tuple[str | None, str]:
    """A red/amber/green rating and its words from a position in a comparison group.

    ``position`` is ``'above'``, ``'within'`` or ``'below'`` the group's band
    (:func:`assessment.analysis.rates.rate_peer_position`); a higher crime rate than the band is
    red, within it amber, below it green.
    """
    rag = {"above": "red", "within": "amber", "below": "green"}.get(str(position))
    return rag, (f"{subject} {position} {group}" if rag else "")
