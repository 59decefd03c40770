"""The opening of each document: its key findings with their benchmark note, and the shared helpers.

Each document module (``assessment.documents.*``) builds its own findings from its own evidence
and opens with ``section_key_findings(doc)``, which hands them to :func:`key_findings_opening`:
five to eight plain sentences, each with its direction of change and, where the catalogue holds
a comparison (the most similar group of partnerships), a red/amber/green rating against it. No
p-values: whether a change is beyond chance is said in words ("about the same, within normal
variation"), the statistics stay in the sections. This module knows no document: it serves them all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis import rates
from . import evidence as ev
from .display import Finding, HTMLPart
from .document import Document
from .front import NO_BENCHMARK, front_matter, peer_finding
from .kinds import DOCUMENT_USES

__all__ = ["key_findings_opening", "peer_positions", "peer_rating", "peer_group_words", "percent_change"]

_SKIP = {"csp_code", "csp_name", "population", "dataset", "agency", "source_file", "source_row"}


def percent_change(now: float, before: float) -> float:
    """Change from ``before`` to ``now`` in per cent of ``before`` (NaN when ``before`` is 0)."""
    return 100.0 * (now - before) / before if before else np.nan


def peer_positions(doc: Document) -> pd.DataFrame:
    """Position of the partnership in its most similar group, per measure of the benchmark table.

    Returns an empty frame (columns ``column, measure, position, rate, group_mean``) when the
    catalogue has no benchmark table or the partnership is not in it.
    """
    cols = ["column", "measure", "position", "rate", "group_mean"]
    key = ev.role_dataset(doc, "peer_benchmark")
    if key is None or not _permitted(doc, key):
        return pd.DataFrame(columns=cols)
    peers = doc.workbench.intake.tables.get(key)
    code = doc.catalogue.partnership.code
    if peers is None or len(peers) == 0 or "csp_code" not in peers.columns \
            or int((peers["csp_code"].astype(str) == code).sum()) != 1:
        return pd.DataFrame(columns=cols)
    peers = peers.copy()
    measures = [c for c in peers.columns if c not in _SKIP]
    for c in measures:
        peers[c] = pd.to_numeric(peers[c], errors="coerce")
    rows = []
    for col in measures:  # one per measure column of the benchmark table (a dozen)
        if peers[col].notna().sum() < 3:
            continue
        try:
            r = rates.rate_peer_position(peers, code, col).iloc[0]
        except ValueError:  # the partnership has no rate for this measure
            continue
        rows.append({"column": col, "measure": col.replace("_", " ").capitalize(), "position": r["position"],
                     "rate": float(r["rate"]), "group_mean": float(r["group_mean"])})
    return pd.DataFrame(rows, columns=cols)


def _permitted(doc: Document, key: str) -> bool:
    """Whether the dataset's sharing agreement permits this document's use."""
    use = DOCUMENT_USES.get(doc.kind, "")
    return use in [u.strip().lower() for u in doc.catalogue.datasets[key].sharing.permitted_uses]


def peer_group_words(doc: Document) -> str:
    """The most similar group in words for prose, with its size when the benchmark table gives it."""
    key = ev.role_dataset(doc, "peer_benchmark")
    peers = doc.workbench.intake.tables.get(key) if key else None
    n = len(peers) - 1 if peers is not None else 0
    return f"the {n} most similar partnerships" if n > 0 else "the most similar partnerships"


def _benchmark_note(doc: Document, rated: bool) -> str:
    if not rated:
        key = ev.role_dataset(doc, "peer_benchmark")
        if key is not None and not _permitted(doc, key):
            return (f"No benchmark is used for these findings: the {doc.catalogue.datasets[key].title.lower()} may "
                    f"not be used for {DOCUMENT_USES.get(doc.kind, 'this document')} under its sharing agreement, "
                    "and no England figures are in the catalogue, so none is rated red, amber or green.")
        return NO_BENCHMARK
    return (f"Red, amber and green compare the partnership's crime rates with {peer_group_words(doc)} (the most similar "
            "group): red above the group's usual range, amber within it, green below it. No England figures are "
            "in the catalogue, so no comparison with England is made.")


def peer_rating(doc: Document, column_words: tuple[str, ...]) -> tuple[str | None, str]:
    """The red/amber/green rating and its sentence for the first benchmark measure whose name holds one of
    ``column_words`` (None and an empty sentence when there is no such measure)."""
    pos = peer_positions(doc)
    if not len(pos):
        return None, ""
    hit = pos[pos["column"].str.lower().str.contains("|".join(column_words), regex=True)]
    if not len(hit):
        return None, ""
    return peer_finding(hit["position"].iloc[0])


def key_findings_opening(doc: Document, findings: list[Finding]) -> HTMLPart:
    """The opening of the document: links to the edition's other documents, the first eight of
    ``findings`` (a finding with a red/amber/green rating brings the note on what it is rated
    against) and the about box."""
    findings = list(findings)[:8]
    rated = any(f.rag for f in findings)
    return front_matter(doc, findings, benchmark=_benchmark_note(doc, rated))
