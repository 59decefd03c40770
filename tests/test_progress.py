"""Tests for assessment/reporting/progress.py: progress on the previous strategy's targets, against
counts made here from the events and against the strategy document itself."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from assessment.reporting import evidence as ev
from assessment.reporting import progress


@pytest.fixture(scope="module")
def doc(demo_document):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return demo_document("audit")


def test_one_row_per_target_of_the_strategy(doc):
    prog = progress.target_progress(doc)
    targets = progress.strategy_document(doc)["targets"]
    assert list(prog["id"]) == [t["id"] for t in targets]
    assert set(prog["judgement"]) <= {"met", "not met", "cannot be measured"}
    assert prog.loc[prog["dataset"].isna(), "judgement"].eq("cannot be measured").all()


def test_yearly_counts_of_a_whole_partnership_measure_match_the_events(doc):
    prog = progress.target_progress(doc)
    years = progress.complete_year_labels(doc)
    label = {m: b[-1][:4] for b in ev.complete_years(doc) for m in b}
    crime = set(ev.crime_datasets(doc))
    checked = 0
    for row in prog[prog["dataset"].isin(crime) & ~prog["measured as"].str.contains(" in ")].to_dict("records"):
        events = pd.concat([doc.workbench.dataset_events(k) for k in crime])
        events = events[events["category"] == row["measured as"]]
        counts = events["month"].astype(str).map(label).value_counts()
        for y in years:
            assert row[y] == counts.get(y, 0), (row["id"], y)
        checked += 1
    assert checked >= 1


def test_cached_once_per_document(doc):
    assert progress.target_progress(doc) is progress.target_progress(doc)


_NEUTRAL = "a counting rule change in 2024-04 (new rule) means later years are not counted"


@pytest.mark.parametrize("step,p,month,words", [
    (12.4, 0.001, "2024-04", "raised recorded weapons by about 12%"),
    (-30.0, 0.2, "2024-04", "lowered recorded weapons by about 30%"),
    (float("inf"), 0.001, "2024-04", "police recording of weapons began with a counting rule change in 2024-04"),
    (-100.0, 0.001, "2024-04", "police recording of weapons ended with a counting rule change in 2024-04"),
    (float("inf"), 0.82, "2024-04", _NEUTRAL),  # a stretch of none within normal variation: no start claimed
    (float("nan"), float("nan"), "2024-04", _NEUTRAL),
    (12.4, 0.001, "2025-01", _NEUTRAL),  # the step in the table is the first break's, not this one's
])
def test_break_caveat_says_which_way_the_rule_moved_the_counts(monkeypatch, step, p, month, words):
    from types import SimpleNamespace

    monkeypatch.setattr(progress.ev, "evidence_category_trends", lambda doc: pd.DataFrame(
        {"category": ["Weapons"], "step_pct": [step], "step_p": [p], "break_months": ["2024-04, 2025-01"]}))
    monkeypatch.setattr(progress.ev, "crime_datasets", lambda doc: ["police"])
    text = progress._break_caveat(None, "police", "Weapons", SimpleNamespace(month=month, label="new rule"))
    assert words.replace("2024-04", month) in text and "inf" not in text
