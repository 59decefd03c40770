"""The index page that links every document of a run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from ..catalogue import load_catalogue
from .display import escape

_DESCRIPTIONS = {
    "strategic_assessment": "The annual joint strategic assessment: what matters, where, and the recommended priorities.",
    "problem_profile": "A problem profile on one issue: volume, trend, victims, offenders, places, times and recommendations.",
    "audit": "The three-yearly crime and disorder audit with the residents' consultation and a review of the previous strategy.",
    "evaluation": "An evaluation of what the partnership tried, with the size of effect the data could detect.",
    "data_quality": "Data quality and the information-sharing register: what arrived, what was rejected and why.",
}


def write_index(out_dir: str | Path, catalogue: str | Path, runs: list[Any]) -> Path:
    """Write ``index.html`` linking each rendered document, with its size and the run date."""
    out = Path(out_dir)
    cat = load_catalogue(catalogue, check_files=False)
    p = cat.partnership
    items = []
    for run in runs:
        kind = next((k for k in _DESCRIPTIONS if run.document.startswith(k)), run.document)
        size = run.html.stat().st_size / 1024 if run.html.is_file() else 0
        title = run.document.replace("_", " ").capitalize()
        items.append(
            f'<li><a href="{escape(run.html.name)}">{escape(title)}</a> '
            f"<span>({size:,.0f} KiB)</span><br>{escape(_DESCRIPTIONS.get(kind, ''))}</li>"
        )
    page = f"""<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{escape(p.name)}: documents, edition {escape(p.edition)}</title>
<style>body{{font-family:Arial,Helvetica,sans-serif;color:#1b1b1b;max-width:900px;margin:0 auto;padding:1rem 1.5rem}}
.marking{{text-align:center;font-weight:700;letter-spacing:.1em;border-bottom:2px solid #1b1b1b}}
h1{{color:#0b4f6c}} li{{margin:.8rem 0}} a{{color:#0b4f6c;font-weight:600}}</style></head>
<body><div class="marking">{escape(p.marking)}</div>
<h1>{escape(p.name)}</h1><p>Edition {escape(p.edition)}, assessment window {escape(p.window.start)} to {escape(p.window.end)}. Produced {dt.date.today().isoformat()}.</p>
<h2>Documents</h2><ul>{''.join(items)}</ul>
<p>Each document has its tables in <code>tables/</code> (CSV and an Excel workbook), the executed notebook in
<code>notebooks/</code>, intake quality in <code>quality/</code>, and the inputs' SHA-256 in <code>manifest.json</code>.</p>
</body></html>
"""
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def refresh_index(out_dir: str | Path, catalogue: str | Path) -> Path | None:
    """Rewrite ``index.html`` over every document the folder's manifest lists whose HTML exists.

    Called after each published run, so that the link every document carries to the index
    (``All documents of this edition``) always leads somewhere, for ``assess run`` as for
    ``assess demo``. Returns None when the folder has no manifest.
    """
    import json
    from types import SimpleNamespace

    out = Path(out_dir)
    manifest = out / "manifest.json"
    if not manifest.is_file():
        return None
    try:
        docs = json.loads(manifest.read_text(encoding="utf-8")).get("documents", {})
    except (json.JSONDecodeError, AttributeError):
        return None
    runs = [SimpleNamespace(document=stem, html=out / str(entry.get("outputs", {}).get("html", f"{stem}.html")))
            for stem, entry in sorted(docs.items()) if isinstance(entry, dict)]
    runs = [r for r in runs if r.html.is_file()]
    return write_index(out, catalogue, runs) if runs else None
