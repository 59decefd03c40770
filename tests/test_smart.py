"""Tests for assessment.analysis.smart."""

from __future__ import annotations

import pandas as pd
import pytest

from assessment.analysis.smart import smart_check, smart_parse_text

EXAMPLE = "Reduce burglary by 10% from the 2022 baseline by March 2026"


def test_parse_text_recognises_the_example():
    p = smart_parse_text(pd.Series([EXAMPLE])).iloc[0]
    assert p["direction"] == "decrease"
    assert p["size"] == 10 and p["size_unit"] == "%"
    assert p["baseline_year"] == 2022
    assert p["deadline"] == "March 2026"
    assert p["metric"] == "burglary"


def test_parse_text_variants_and_non_matches():
    t = pd.Series([
        "Increase the number of domestic abuse referrals by 15 per cent against 2023/24 levels before end of 2026",
        "Cut vehicle crime by 50 offences from a baseline of 1,240 by 2025",
        "Make Riverton safer",
        "Deliver the plan by 2026",
        None,
    ])
    p = smart_parse_text(t)
    assert p.loc[0, "direction"] == "increase" and p.loc[0, "size"] == 15 and p.loc[0, "size_unit"] == "%"
    assert p.loc[0, "baseline_year"] == 2023 and p.loc[0, "deadline"] == "2026"
    assert p.loc[1, "baseline"] == 1240 and p.loc[1, "size_unit"] == "offences" and p.loc[1, "deadline"] == "2025"
    assert p.loc[2].drop("size").isna().all() and pd.isna(p.loc[2, "size"])
    # "by 2026" is a deadline, not a size
    assert pd.isna(p.loc[3, "size"]) and p.loc[3, "deadline"] == "2026"
    assert p.loc[4].isna().all()


def test_fields_given_explicitly_vs_parsed_from_text():
    explicit = {"id": "T1", "priority": "Burglary", "text": "Burglary target", "metric": "burglary (police recorded)",
                "baseline": 412, "baseline_year": 2022, "direction": "reduce", "size": 10,
                "deadline": "2026-03-31", "owner": "Police inspector, Riverton"}
    parsed = {"id": "T2", "priority": "Burglary", "text": EXAMPLE}
    out = smart_check([explicit, parsed]).set_index("id")
    assert out.loc["T1", "verdict"] == "SMART" and out.loc["T1", "missing"] == ""
    assert out.loc["T1", "parsed_from_text"] == ""
    assert out.loc["T1", "direction"] == "decrease"          # normalised vocabulary
    # parsed from text: everything but the owner
    assert out.loc["T2", "missing"] == "owner"
    assert out.loc["T2", "verdict"] == "partly SMART"
    assert {"direction", "size", "baseline_year", "deadline"} <= set(out.loc["T2", "parsed_from_text"].split(", "))
    assert bool(out.loc["T2", "measurable"]) and bool(out.loc["T2", "time_bound"]) and not bool(out.loc["T2", "responsible"])


def test_missing_lists_exactly_what_is_missing_and_vague_verbs():
    targets = pd.DataFrame([
        {"id": 1, "priority": "ASB", "text": "Encourage residents to report ASB and MONITOR hate crime"},
        {"id": 2, "priority": "Violence", "text": "Work to improve the night-time economy", "direction": "reduce",
         "size": 5},
        {"id": 3, "priority": "Youth", "text": "Supportive services for young people; raise  awareness of knife crime",
         "owner": "YOS"},
        {"id": 4, "priority": "Youth", "text": "Reduce first-time entrants", "owner": "YOS"},
    ])
    out = smart_check(targets).set_index("id")
    assert out.loc[1, "missing"] == "metric, baseline, direction, size, deadline, owner"
    assert out.loc[1, "vague_verbs"] == "encourage, monitor"
    assert out.loc[1, "verdict"] == "not SMART" and "encourage" in out.loc[1, "sentence"]
    assert out.loc[2, "missing"] == "metric, baseline, deadline, owner"
    assert out.loc[2, "vague_verbs"] == "work to, improve"
    assert out.loc[2, "verdict"] == "not SMART"              # only achievable met
    # whole-word: "Supportive" is not "support"; extra whitespace in "raise  awareness" still matches
    assert out.loc[3, "vague_verbs"] == "raise awareness"
    assert out.loc[4, "missing"] == "metric, baseline, size, deadline"
    # invariants
    crit = ["specific", "measurable", "achievable", "time_bound", "responsible"]
    assert (out[crit].sum(axis=1) == out["n_criteria_met"]).all()
    assert out["n_criteria_met"].between(0, 5).all()


def test_validation():
    with pytest.raises(ValueError, match="text"):
        smart_check([{"id": 1, "priority": "x"}])
    with pytest.raises(ValueError, match="blank text"):
        smart_check([{"id": 1, "priority": "x", "text": "  "}])
    with pytest.raises(ValueError, match="size"):
        smart_check([{"id": 1, "priority": "x", "text": "Reduce crime", "size": "lots"}])
    with pytest.raises(TypeError):
        smart_check(["Reduce crime"])


def test_size_written_with_percent_sign_is_a_number():
    out = smart_check([{"id": "T1", "priority": "P1", "text": "Reduce violence", "metric": "violence",
                        "baseline": 100, "direction": "reduce", "size": "10%", "deadline": "2025-12",
                        "owner": "Police"}])
    assert out["size"].iloc[0] == 10.0
    assert out["verdict"].iloc[0] == "SMART"
