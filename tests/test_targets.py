"""Target progress: one judgement (met / not met / cannot be measured) for every direction word."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assessment.analysis.smart import smart_check
from assessment.analysis.targets import target_judgement

# (text, baseline, latest, expected status) -- the expected status worked out by hand from the wording
TARGETS = [
    ("Reduce burglary by 10% by March 2026", 200, 176, "met"),            # level 180
    ("Reduce burglary by 10% by March 2026", 200, 181, "not met"),
    ("Decrease vehicle crime by 5% by 2026", 400, 380, "met"),             # level 380, exactly reached
    ("Cut shoplifting by 20% by December 2025", 100, 85, "not met"),       # level 80
    ("Lower criminal damage by 15 offences by 2026", 100, 84, "met"),      # level 85 (a count, not per cent)
    ("Keep burglary below the 2022 level every year", 500, 517, "not met"),  # rose 3.4%
    ("Keep burglary below the 2022 level every year", 500, 480, "met"),
    ("Keep burglary below the 2022 level", 500, 500, "not met"),           # below is strict
    ("Keep reporting of hate crime above the 2022 level", 60, 75, "met"),
    ("Keep satisfaction above the 2022 level", 60, 59, "not met"),
    ("Increase reporting of hate crime by 10% by 2026", 60, 66, "met"),    # level 66
    ("Increase reporting of hate crime by 10% by 2026", 60, 65, "not met"),
    ("Maintain anti-social behaviour at 2022 levels", 300, 290, "cannot be measured"),
    ("Reduce robbery by 10% by 2026", np.nan, 40, "cannot be measured"),   # no baseline
    ("Reduce arson by 10% by 2026", 50, np.nan, "cannot be measured"),     # measure not in the data
    ("Reduce deliberate fires", 50, 40, "cannot be measured"),             # no size
    ("Monitor night-time economy", 50, 40, "cannot be measured"),          # no direction
]


def _resolved():
    check = smart_check([{"id": f"T{i}", "priority": "P1", "text": t} for i, (t, *_rest) in enumerate(TARGETS)])
    frame = pd.DataFrame(TARGETS, columns=["text", "baseline", "latest", "expected"])
    return check, frame


def test_every_direction_word_is_recognised():
    check, _ = _resolved()
    words = {"Reduce": "decrease", "Decrease": "decrease", "Cut": "decrease", "Lower": "decrease",
             "Keep burglary below": "keep below", "Keep reporting": "keep above", "Keep satisfaction": "keep above",
             "Increase": "increase", "Maintain": "maintain"}
    for start, direction in words.items():
        got = set(check.loc[check["text"].str.startswith(start), "direction"])
        assert got == {direction}, (start, got)


def test_judgement_matches_the_hand_worked_status():
    check, frame = _resolved()
    got = target_judgement(check["direction"], check["size"], frame["baseline"], frame["latest"],
                           size_unit=smart_check_units(check))
    assert got["status"].tolist() == frame["expected"].tolist()


def smart_check_units(check: pd.DataFrame) -> pd.Series:
    """The unit parsed from the text ('%' or a word such as 'offences')."""
    from assessment.analysis.smart import smart_parse_text

    return smart_parse_text(check["text"])["size_unit"]


def test_target_level_and_change_are_independent_arithmetic():
    got = target_judgement(["decrease", "increase", "keep below", "keep above", "decrease"],
                           [10, 10, np.nan, 5, 15], [200, 60, 500, 60, 100], [176, 66, 517, 75, 84],
                           size_unit=["%", "%", None, "%", "offences"])
    np.testing.assert_allclose(got["target_level"], [180, 66, 500, 63, 85])
    np.testing.assert_allclose(got["change_pct"], [-12, 10, 3.4, 25, -16])
    assert got["reason"].eq("").all()


def test_reasons_say_why_a_target_cannot_be_measured():
    got = target_judgement(["maintain", None, "decrease", "decrease", "increase"], [0, 10, 10, 10, np.nan],
                           [100, 100, np.nan, 100, 100], [90, 90, 90, np.nan, 120])
    assert got["reason"].tolist() == ["it says neither above nor below", "no direction of change", "no baseline",
                                      "no recorded data for its measure", "no size of change"]
    assert got["target_level"].isna().all()


def test_lengths_must_agree():
    with pytest.raises(ValueError, match="one value per target"):
        target_judgement(["decrease", "increase"], [10], [100, 100], [90, 90])


def test_strategic_assessment_and_audit_agree_on_every_demo_target(demo_document):
    """Both documents take the judgement from one place: same status for every target."""
    import re
    import warnings

    from assessment.documents import audit, strategic_assessment as strategic
    from assessment.reporting.display import TableView

    def table(section, start):
        found = [p.frame for p in section.parts if isinstance(p, TableView) and p.caption.startswith(start)]
        assert len(found) == 1
        return found[0].set_index("id")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sa = table(strategic.section_progress(demo_document("strategic_assessment")), "Previous strategy targets")
        au_doc = demo_document("audit")
        au_sec = audit.section_previous_strategy(au_doc)
    au = table(au_sec, "Previous strategy targets")
    assert len(au) >= 3
    for tid, status in au["status"].items():
        assert sa.loc[tid, "status"] == status, (tid, sa.loc[tid, "status"], status)
    # targets the audit cannot measure are not called met or not met by the strategic assessment
    assert sa.loc[~sa.index.isin(au.index), "status"].str.startswith("cannot be measured").all()
    # the judgement follows the numbers: a reduction target is met when the count fell by at least its size
    strategy = au_doc.workbench.intake.documents["previous_strategy"]
    checked = []
    for t in strategy["targets"]:
        if t["id"] not in au.index or str(t.get("direction")) != "reduce" or not t.get("size") or not t.get("baseline"):
            assert t["id"] not in au.index or not au.loc[t["id"], "status"].startswith(("met", "not met")) \
                or (t.get("size") and t.get("baseline"))
            continue
        size = float(re.sub(r"[^\d.]", "", str(t["size"])))
        latest, base = float(au.loc[t["id"], au.columns[au.columns.str.fullmatch(r"\d{4}")][-1]]), float(t["baseline"])
        fell_enough = latest <= base * (1 - size / 100)
        if "every year" in t["text"]:
            continue
        checked.append(t["id"])
        assert au.loc[t["id"], "status"].startswith("met") == fell_enough, (t["id"], latest, base)
    assert len(checked) >= 2  # the demo's reduction targets with a size were judged from their counts


def test_both_documents_agree_on_a_strategy_using_every_direction_word(demo_document):
    """A strategy of 14 targets (every direction word) injected into both documents: same status, and the
    status a hand calculation from the recorded latest-year count gives."""
    import dataclasses
    import warnings

    from assessment.documents import audit, strategic_assessment as strategic
    from assessment.reporting.display import TableView

    base_doc = demo_document("audit")
    wb = base_doc.workbench
    pol = wb.dataset_events(wb.catalogue.datasets_with_role("recorded_crime")[0]) if hasattr(
        wb.catalogue, "datasets_with_role") else wb.dataset_events("police_street")
    latest_year = audit.complete_year_labels(base_doc)[-1]
    latest = pol[pol["month"].str[:4] == latest_year]["category"].value_counts()
    # (text, category, direction, size, baseline as a multiple of the latest count, expected status)
    plan = [
        ("Reduce burglary by 10% by 2030", "Burglary", "reduce", "10%", 1.2, "met"),
        ("Reduce robbery by 10% by 2030", "Robbery", "reduce", "10%", 1.05, "not met"),
        ("Decrease shoplifting by 5% by 2030", "Shoplifting", "decrease", "5%", 1.1, "met"),
        ("Decrease drugs offences by 5% by 2030", "Drugs", "decrease", "5%", 0.9, "not met"),
        ("Cut bicycle theft by 20% by 2030", "Bicycle theft", "cut", "20%", 1.3, "met"),
        ("Cut vehicle crime by 20% by 2030", "Vehicle crime", "cut", "20%", 1.0, "not met"),
        ("Lower public order offences by 10% by 2030", "Public order", "lower", "10%", 1.25, "met"),
        ("Lower criminal damage and arson by 10% by 2030", "Criminal damage and arson", "lower", "10%", 1.0, "not met"),
        ("Keep other theft below the 2022 level", "Other theft", "keep below", None, 1.1, "met"),
        ("Keep theft from the person below the 2022 level", "Theft from the person", "keep below", None, 0.8, "not met"),
        ("Keep possession of weapons above the 2022 level", "Possession of weapons", "keep above", None, 0.7, "met"),
        ("Keep shoplifting above the 2022 level", "Shoplifting", "keep above", None, 1.4, "not met"),
        ("Increase drugs offences detected by 10% by 2030", "Drugs", "increase", "10%", 0.8, "met"),
        ("Increase robbery detections by 50% by 2030", "Robbery", "increase", "50%", 1.0, "not met"),
    ]
    targets = []
    for i, (text, cat, direction, size, mult, _) in enumerate(plan, start=1):
        t = {"id": f"X{i}", "priority": "P1", "text": text, "metric": f"Police recorded '{cat}'",
             "baseline": int(round(latest[cat] * mult)), "baseline_year": 2022, "direction": direction,
             "deadline": "2030-12-31", "owner": "Someone"}
        if size:
            t["size"] = size
        targets.append(t)
    strategy = {"title": "Test strategy", "priorities": [{"id": "P1", "title": "Crime"}], "targets": targets}
    intake = dataclasses.replace(wb.intake, documents={**wb.intake.documents, "previous_strategy": strategy})
    injected = dataclasses.replace(wb, intake=intake)

    def table(section, start):
        found = [p.frame for p in section.parts if isinstance(p, TableView) and p.caption.startswith(start)]
        assert len(found) == 1
        return found[0].set_index("id")

    sa_doc, au_doc = demo_document("strategic_assessment"), demo_document("audit")
    sa_doc._workbench, au_doc._workbench = injected, injected
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sa = table(strategic.section_progress(sa_doc), "Previous strategy targets")
        au = table(audit.section_previous_strategy(au_doc), "Previous strategy targets")
    assert set(au.index) == {t["id"] for t in targets}
    for t, (*_, expected) in zip(targets, plan):
        assert sa.loc[t["id"], "status"] == au.loc[t["id"], "status"], t["id"]
        # the deadline is after the data, so a target not met is "not yet met"
        said = au.loc[t["id"], "status"]
        assert said.startswith("met") if expected == "met" else said.startswith("not yet met"), (t, said)
