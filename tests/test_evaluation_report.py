"""The evaluation document on the generated demo partnership.

Numbers are checked against independent computations on ``doc.workbench`` data (the
monthly counts by a geopandas spatial join, not the module's point assignment), and the
statistics against the analysis functions called directly on those counts.
"""

from __future__ import annotations

import html
import importlib.util
import re
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from assessment import paths
from assessment.analysis.evaluation import evaluate_did, evaluate_did_mde, evaluate_verdict
from assessment.disclosure import find_small_counts
from assessment.reporting import evaluation_report as E
from assessment.reporting.display import Section

ORDER = ["section_design", "section_power", "section_did", "section_its", "section_verdict", "section_cohort",
         "section_appendix"]
CATEGORY = "Violence and sexual offences"


@pytest.fixture(scope="module")
def doc(demo_document):
    return demo_document("evaluation")


@pytest.fixture(scope="module")
def rendered(doc):
    """Every section, run in the notebook's order, as (Section, HTML)."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ORDER:
            sec = getattr(E, name)(doc)
            out[name] = (sec, sec._repr_html_())
    return out


def _text(html_text: str) -> str:
    """Visible text of a section (maps' srcdoc and images dropped), unescaped, whitespace collapsed."""
    body = re.sub(r'srcdoc="[^"]*"', "", html_text)
    body = re.sub(r"<[^>]+>", " ", body)
    return re.sub(r"\s+", " ", html.unescape(body))


def _independent_counts(doc, intervention: list[str], comparison: list[str], category: str = CATEGORY) -> pd.DataFrame:
    """Monthly counts per group: points joined to the current wards with geopandas, zeros filled."""
    wb = doc.workbench
    ev = wb.events
    ev = ev[(ev["category"] == category) & ev["month"].isin(wb.window)]
    ev = ev[ev["easting"].notna() & ev["northing"].notna()]
    pts = gpd.GeoDataFrame(ev[["month"]].reset_index(drop=True),
                           geometry=gpd.points_from_xy(ev["easting"], ev["northing"]), crs=27700)
    joined = gpd.sjoin(pts, wb.wards[["code", "geometry"]].to_crs(27700), how="inner", predicate="within")
    joined["group"] = np.where(joined["code"].isin(intervention), "intervention",
                               np.where(joined["code"].isin(comparison), "comparison", ""))
    joined = joined[joined["group"] != ""]
    counts = joined.groupby(["month", "group"]).size()
    idx = pd.MultiIndex.from_product([wb.window, ["intervention", "comparison"]], names=["month", "group"])
    return counts.reindex(idx, fill_value=0).rename("count").reset_index()


def test_every_section_returns_a_section_in_the_notebooks_order(rendered):
    spec = importlib.util.spec_from_file_location("make_notebooks", paths.PROJECT_ROOT / "tools" / "make_notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.DOCUMENTS["evaluation"]["sections"] == ORDER
    assert mod.DOCUMENTS["evaluation"]["module"] == "evaluation_report"
    assert E.open_document is not None
    for name in ORDER:
        sec, text = rendered[name]
        assert isinstance(sec, Section), name
        assert text.startswith("<section>")


def test_default_intervention_ward_is_the_highest_pre_period_ward_and_the_design_says_so(doc, rendered):
    s = E.evaluation_setup(doc)
    everyone = doc.workbench.wards["code"].astype(str).tolist()
    pre = _independent_counts(doc, everyone, [])
    # recount per ward independently
    wb = doc.workbench
    ev = wb.events
    ev = ev[(ev["category"] == CATEGORY) & ev["month"].isin(wb.window) & (ev["month"] < s.start)]
    ev = ev[ev["easting"].notna()]
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(ev["easting"], ev["northing"]), crs=27700)
    per_ward = gpd.sjoin(pts, wb.wards[["code", "geometry"]], predicate="within").groupby("code").size()
    assert pre["count"].sum() >= per_ward.sum()
    assert s.intervention_wards == [per_ward.idxmax()]
    design = _text(rendered["section_design"][1])
    assert "was chosen" in design and "most" in design
    assert "exact point re-aggregation" in design
    # the default comparison wards neither include nor touch the intervention ward
    target = wb.wards[wb.wards["code"].isin(s.intervention_wards)].geometry.union_all()
    comp = wb.wards[wb.wards["code"].isin(s.comparison_wards)]
    assert len(comp) == E.N_COMPARISON
    assert not comp.geometry.intersects(target.buffer(1.0)).any()


def test_group_monthly_counts_equal_an_independent_count(doc):
    s = E.evaluation_setup(doc)
    mine = E.evaluation_counts(doc).sort_values(["month", "group"]).reset_index(drop=True)
    theirs = _independent_counts(doc, s.intervention_wards, s.comparison_wards)
    theirs = theirs.sort_values(["month", "group"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(mine[["month", "group", "count"]], theirs[["month", "group", "count"]],
                                  check_dtype=False)
    assert len(mine) == 2 * len(doc.workbench.window)


def test_mde_is_stated_before_the_did_result(doc, rendered):
    s = E.evaluation_setup(doc)
    counts = _independent_counts(doc, s.intervention_wards, s.comparison_wards)
    mde = evaluate_did_mde(counts, s.start).iloc[0]
    pct = float(mde["mde_percent"])
    expected = f"{pct:.0f}%" if pct >= 10 else f"{pct:.1f}%"
    power = _text(rendered["section_power"][1])
    assert f"could detect a fall of {expected} or more with 80% power" in power
    assert ORDER.index("section_power") < ORDER.index("section_did")
    did = _text(rendered["section_did"][1])
    assert "rate ratio" in did and "could detect a fall" not in did
    # the power statement uses nothing after the start in the intervention area
    assert int(mde["intervention_pre"]) == int(counts.query("group == 'intervention' and month < @s.start")["count"].sum())


def test_did_table_and_verdict_match_the_statistics_on_independent_counts(doc, rendered):
    s = E.evaluation_setup(doc)
    counts = _independent_counts(doc, s.intervention_wards, s.comparison_wards)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        did = evaluate_did(counts, s.start, seasonality=True).iloc[0]
        mde = evaluate_did_mde(counts, s.start).iloc[0]
    names = dict(zip(doc.workbench.wards["code"], doc.workbench.wards["name"]))
    where = " and ".join(f"{names[c]} ({c})" for c in s.intervention_wards)
    verdict = evaluate_verdict(did["rate_ratio"], did["ci_lower"], did["ci_upper"], mde["mde_rate_ratio"],
                               outcome=f"police-recorded violence and sexual offences in {where}")
    text = _text(rendered["section_verdict"][1])
    assert f"Verdict: {verdict}." in text
    did_text = _text(rendered["section_did"][1])
    assert f"rate ratio {did['rate_ratio']:.2f}" in did_text
    assert f"{did['ci_lower']:.2f} to {did['ci_upper']:.2f}" in did_text
    # the demo has no planted intervention effect: an honest verdict is computed, not assumed
    if did["ci_lower"] <= 1 <= did["ci_upper"] and abs(np.log(did["rate_ratio"])) < abs(np.log(mde["mde_rate_ratio"])):
        assert "no detectable effect" in text and "could only have detected a change larger than" in text


def test_its_section_charts_the_counterfactual_and_handles_the_series_break(rendered):
    text = _text(rendered["section_its"][1])
    assert "counterfactual" in text and "<img" in rendered["section_its"][1]
    # the demo catalogue records a violence counting-rule change in 2024-04 (inside the window)
    assert "series break in 2024-04" in text and "offset" in text


def test_no_person_id_reaches_any_section_or_written_table(doc, rendered):
    persons = doc.workbench.intake.persons
    ids = set(persons["person_id"].dropna().astype(str))
    assert len(ids) > 100  # the fixture sets the pseudonymisation key, so the nominals were taken in
    tokens = set()
    for _, text in rendered.values():
        tokens |= set(re.findall(r"[0-9a-f]{16,}", text))
    for csv in doc.tables_dir.glob("*.csv"):
        tokens |= set(re.findall(r"[0-9a-f]{16,}", csv.read_text(encoding="utf-8")))
    assert not tokens & ids
    cohort = _text(rendered["section_cohort"][1])
    assert "per 1,000 days at risk" in cohort and "could only have detected" in cohort


def test_cohort_tables_show_no_small_counts(doc, rendered):
    found = find_small_counts(rendered["section_cohort"][1], doc.threshold, only_marked=True)
    assert found.empty, found
    marked = re.findall(r'data-sensitivity="personal"', rendered["section_cohort"][1])
    assert len(marked) == 3


def test_cohort_section_says_so_when_the_nominals_were_not_taken_in(demo_document):
    import dataclasses

    doc = demo_document("evaluation")
    wb = doc.workbench
    wb.intake = dataclasses.replace(wb.intake, persons=wb.intake.persons.iloc[0:0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sec = E.section_cohort(doc)
    text = _text(sec._repr_html_())
    assert isinstance(sec, Section)
    assert "could not be run" in text and doc.catalogue.partnership.pseudonym_key_env in text


def test_overrides_are_used(demo_document):
    doc = demo_document("evaluation", start="2024-01", intervention_wards=["Oakley"],
                        comparison_wards="E05900001, E05900002")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = E.evaluation_setup(doc)
        assert s.intervention_wards == ["E05900008"] and s.comparison_wards == ["E05900001", "E05900002"]
        assert s.cohort_wards == ["E05900008"]
        design = _text(E.section_design(doc)._repr_html_())
        its = _text(E.section_its(doc)._repr_html_())
        verdict = _text(E.section_verdict(doc)._repr_html_())
    assert "named in the evaluation's parameters" in design and "after the start" in design
    assert "2024-04" in its
    assert "Verdict: " in verdict


@pytest.mark.parametrize("params, name", [
    ({"intervention_wards": ["Atlantis"]}, "intervention_wards"),
    ({"intervention_wards": ["E05900015"]}, "intervention_wards"),  # a 2019 ward that was redrawn
    ({"comparison_wards": ["E05900009"], "intervention_wards": ["E05900009"]}, "comparison_wards"),
    ({"cohort_wards": ["Nowhere"]}, "cohort_wards"),
    ({"start": "2022-01"}, "start"),
    ({"start": "2025-12"}, "start"),
    ({"start": "10/2024"}, "start"),
    ({"category": "Jaywalking"}, "category"),
])
def test_bad_parameters_raise_value_errors_naming_them(demo_document, params, name):
    doc = demo_document("evaluation", **params)
    with pytest.raises(ValueError, match=f"`{name}`"):
        E.section_design(doc)
