"""Tests for assessment/reporting/accounting.py: the published data accounting against intake's own
quality table and its invariants (read = accepted + set aside + blank; a copy counted once)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from assessment.reporting import accounting


@pytest.fixture(scope="module")
def doc(demo_document):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return demo_document("data_quality")


def test_published_counts_are_intakes_or_suppressed(doc):
    published = accounting.quality_accounting_published(doc)
    assert published["dataset"].iloc[-1] == "Total"
    body = published.iloc[:-1].set_index("dataset")
    q = doc.workbench.intake.quality.set_index("dataset")
    assert list(body.index) == list(doc.catalogue.datasets)
    for col, src in (("rows read", "rows_read"), ("rows accepted", "rows_accepted"),
                     ("rows quarantined", "rows_quarantined")):
        shown = body[col].astype(str) != "[c]"
        expected = q[src].reindex(body.index).fillna(0).astype(int)
        assert (pd.to_numeric(body.loc[shown, col]).astype(int) == expected[shown]).all(), col


def test_read_is_accepted_plus_set_aside_plus_blank_where_shown(doc):
    body = accounting.quality_accounting_published(doc).iloc[:-1]
    cols = ["rows read", "rows accepted", "rows quarantined", "rows blank"]
    shown = ~body[cols].astype(str).eq("[c]").any(axis=1)
    n = body.loc[shown, cols].apply(pd.to_numeric)
    assert shown.any()
    assert (n["rows read"] == n["rows accepted"] + n["rows quarantined"] + n["rows blank"]).all()


def test_totals_count_a_copy_once(doc):
    published = accounting.quality_accounting_published(doc)
    body, total = published.iloc[:-1], published.iloc[-1]
    once = accounting.counted_once(doc, [str(k) for k in body["dataset"]])
    copies = {k for k, d in doc.catalogue.datasets.items() if d.duplicate_of is not None}
    assert not np.any(once[body["dataset"].isin(copies).to_numpy()])
    totals = accounting.quality_accounting_totals(doc)
    if str(total["rows read"]) != "[c]" and not body.loc[~once, "rows read"].astype(str).eq("[c]").any():
        expected = int(total["rows read"]) - int(pd.to_numeric(body.loc[~once, "rows read"]).sum())
        assert totals["rows read"] == expected
    else:
        assert totals["rows read"] == "[c]"


def test_export_pairs_are_same_agency_and_kind(doc):
    pairs = accounting.quality_export_pairs(doc)
    cat = doc.catalogue
    for a, b in zip(pairs["dataset"], pairs["duplicate_of"]):
        assert (cat.datasets[a].agency, cat.datasets[a].kind) == (cat.datasets[b].agency, cat.datasets[b].kind)
