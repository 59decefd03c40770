"""The data accounting every document publishes: per dataset, rows read, accepted, set aside
(quarantined, per reason) and blank, under one disclosure control, a copy of another dataset
counted once.

The data quality document shows it in full and the strategic assessment in its data sources
section; both take it from here, so neither shows a cell the other hides.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..intake.quality import REASONS
from .document import Document

__all__ = ["quality_accounting_published", "quality_accounting_totals", "quality_export_pairs", "counted_once",
           "quality_by_dataset", "quarantine_published", "dataset_sensitivities", "ACCOUNT_COLUMNS", "SUPPRESSED_MARK"]


def quality_by_dataset(doc: Document) -> pd.DataFrame:
    """Intake's quality table with one row per catalogue dataset (a dataset intake never
    recorded shows as status ``not read``)."""
    q = doc.workbench.intake.quality.set_index("dataset")
    keys = list(doc.catalogue.datasets)
    out = q.reindex(keys)
    missing = out["status"].isna()
    out.loc[missing, "status"] = "not read"
    out.loc[missing, "message"] = "intake did not record this dataset"
    if "rows_blank" not in out.columns:
        out["rows_blank"] = 0
    for c in ("rows_read", "rows_accepted", "rows_quarantined", "rows_blank"):
        out[c] = out[c].fillna(0).astype("int64")
    return out.rename_axis("dataset").reset_index()


ACCOUNT_COLUMNS = ("rows read", "rows accepted", "rows quarantined", "rows blank")


SUPPRESSED_MARK = "[c]"


def dataset_sensitivities(doc: Document, keys) -> list[str]:
    """Each dataset's catalogue sensitivity (``public`` for a key the catalogue does not hold, e.g. 'Total')."""
    return [doc.catalogue.datasets[k].sensitivity if k in doc.catalogue.datasets else "public" for k in keys]


def _accounting(doc: Document) -> tuple[pd.DataFrame, list[str], list]:
    """Per dataset: rows read, accepted, quarantined and per reason, with its row sensitivities and
    relations (read = accepted + quarantined = accepted + the reasons), for ``Document.table``."""
    q = quality_by_dataset(doc)
    reason_cols = [f"quarantined_{r.replace(' ', '_')}" for r in REASONS]
    present = [c for c in reason_cols if c in q.columns]
    table = q[["dataset", "rows_read", "rows_accepted", "rows_quarantined", "rows_blank"] + present].copy()
    table[present] = table[present].apply(pd.to_numeric, errors="coerce").fillna(0).astype("int64")
    used = [c for c in present if table[c].sum() > 0]
    names = {c: c[len("quarantined_"):].replace("_", " ") for c in used}
    table = table[["dataset", "rows_read", "rows_accepted", "rows_quarantined", "rows_blank"] + used].rename(
        columns=names | {"rows_read": "rows read", "rows_accepted": "rows accepted",
                         "rows_quarantined": "rows quarantined", "rows_blank": "rows blank"})
    reasons = [names[c] for c in used]
    relations = [("rows read", ["rows accepted", "rows quarantined", "rows blank"])]
    if reasons:
        relations.append(("rows quarantined", reasons))
    return table, reasons, relations


def quarantine_published(doc: Document) -> tuple[pd.DataFrame, list[str]]:
    """The per-dataset accounting exactly as published (suppressed cells '[c]'), keyed by dataset, with its
    Total row (dataset 'Total') last.

    One disclosure-control system serves every table and sentence that shows these counts (the
    summary table, the quarantine table and its long form), so none of them shows a cell another
    hides.
    """
    table, reasons, relations = _accounting(doc)
    keys = table["dataset"].tolist()
    shown = doc.publish_counts(table, "Rows quarantined per dataset and reason", count_columns=[*ACCOUNT_COLUMNS, *reasons],
                               row_sensitivity=dataset_sensitivities(doc, keys), row_relations=relations,
                               margins="column_totals")
    return shown, reasons


def quality_accounting_published(doc: Document) -> pd.DataFrame:
    """Per dataset (catalogue key in ``dataset``): rows read, accepted and quarantined, and per reason,
    exactly as every document publishes them (suppressed cells ``'[c]'``), the Total row last.

    Any document showing these counts takes them from here, so the data-quality document and
    the strategic assessment never show a cell the other hides.
    """
    return quarantine_published(doc)[0].copy()


def quality_accounting_totals(doc: Document) -> dict:
    """Rows read, accepted, quarantined and blank over every dataset, a copy of another counted once.

    Worked out from the published accounting only (its Total row less the published rows of
    copies), so a total is ``'[c]'`` whenever a count it needs is suppressed: it can never give a
    suppressed count away.
    """
    published = quality_accounting_published(doc)
    body, total = published.iloc[:-1], published.iloc[-1]
    copies = body[~counted_once(doc, [str(k) for k in body["dataset"]])]
    out = {}
    for col in ACCOUNT_COLUMNS:
        parts = [total[col], *copies[col].tolist()]
        out[col] = SUPPRESSED_MARK if any(str(v) == SUPPRESSED_MARK for v in parts) else int(total[col]) - int(
            pd.to_numeric(copies[col], errors="coerce").fillna(0).sum())
    return out


def quality_export_pairs(doc: Document) -> pd.DataFrame:
    """Datasets that are two exports of the same records (same agency, kind and column
    mapping, different files), with their row counts compared.

    Returns
    -------
    DataFrame
        ``dataset, duplicate_of, rows_read, rows_read_other, rows_match, ids_match``
        (``ids_match``: the accepted event ids are the same set; NA without ids),
        ``use`` (``'data quality only'`` when that dataset's permitted uses are only data quality).
    """
    key = "accounting-export-pairs"  # the same for every call of one document: worked out once
    if key not in doc.cache:
        doc.cache[key] = _export_pairs(doc)
    return doc.cache[key].copy()


def _same_ids(a: pd.Series, b: pd.Series) -> object:
    """Whether two columns of ids hold the same set of non-missing values (NA when both are empty)."""
    ua, ub = pd.unique(a.dropna()), pd.unique(b.dropna())
    if len(ua) == 0 and len(ub) == 0:
        return pd.NA
    return bool(len(ua) == len(ub) and pd.Series(ua).isin(ub).all())


def _export_pairs(doc: Document) -> pd.DataFrame:
    cat = doc.catalogue
    q = quality_by_dataset(doc).set_index("dataset")
    events = doc.workbench.intake.events
    keys = list(cat.datasets)
    rows = []
    for i, a in enumerate(keys):  # pairs of catalogue entries (a dozen datasets), not data rows
        for b in keys[i + 1:]:
            da, db = cat.datasets[a], cat.datasets[b]
            if (da.agency, da.kind, da.columns) != (db.agency, db.kind, db.columns) or da.path == db.path:
                continue
            if not da.columns:
                continue
            dq_a = [u.lower() for u in da.sharing.permitted_uses] == ["data quality"]
            dup, orig = (a, b) if dq_a else (b, a)
            ids_match = pd.NA
            if "event_id" in cat.datasets[dup].columns and len(events):
                ids_match = _same_ids(events.loc[events["dataset"] == dup, "event_id"],
                                      events.loc[events["dataset"] == orig, "event_id"])
            only_dq = [u.lower() for u in cat.datasets[dup].sharing.permitted_uses] == ["data quality"]
            rows.append({"dataset": dup, "duplicate_of": orig, "rows_read": int(q.loc[dup, "rows_read"]),
                         "rows_read_other": int(q.loc[orig, "rows_read"]),
                         "rows_match": bool(q.loc[dup, "rows_read"] == q.loc[orig, "rows_read"]),
                         "ids_match": ids_match, "use": "data quality only" if only_dq else "analysis"})
    return pd.DataFrame(rows, columns=["dataset", "duplicate_of", "rows_read", "rows_read_other", "rows_match",
                                       "ids_match", "use"])


def counted_once(doc: Document, keys: list[str]) -> np.ndarray:
    """True for each dataset key that counts in totals: a copy of another dataset (``duplicate_of``
    in the catalogue, or an export whose only permitted use is data quality and which repeats
    another dataset of the same agency, columns and kind) is counted once, with the original."""
    cat = doc.catalogue
    copies = {k for k, d in cat.datasets.items() if d.duplicate_of is not None}
    try:
        pairs = quality_export_pairs(doc)
        copies |= set(pairs.loc[pairs["use"] == "data quality only", "dataset"].astype(str))
    except (KeyError, ValueError):  # no events: nothing to compare
        pass
    return np.asarray([k not in copies for k in keys], dtype=bool)
