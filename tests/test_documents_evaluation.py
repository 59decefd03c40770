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
from assessment.analysis.evaluation import evaluate_did, evaluate_did_mde, evaluate_rtm, evaluate_verdict
from assessment.disclosure import find_small_counts
from assessment.documents import evaluation as E
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


def _table(doc, caption_start: str) -> pd.DataFrame:
    found = [frame for _, caption, frame in doc.tables if caption.startswith(caption_start)]
    assert found, f"no table captioned {caption_start!r}; have {[c for _, c, _ in doc.tables]}"
    return found[-1]


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
    assert mod.DOCUMENTS["evaluation"]["module"] == "evaluation"
    assert E.open_document is not None
    for name in ORDER:
        sec, text = rendered[name]
        assert isinstance(sec, Section), name
        assert text.startswith("<section>")


@pytest.fixture(scope="module")
def fallback(demo_document):
    """A document with no intervention wards given: the documented automatic choice applies."""
    doc = demo_document("evaluation", intervention_wards=[])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sec = E.section_design(doc)
    return doc, {"section_design": (sec, sec._repr_html_())}


def test_default_intervention_ward_is_the_highest_pre_period_ward_and_the_design_says_so(fallback):
    doc, rendered = fallback
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
        rtm = evaluate_rtm(counts, s.start,
                           chosen_for_high_counts=bool(doc.params.get("chosen_for_high_counts", False)))
    names = dict(zip(doc.workbench.wards["code"], doc.workbench.wards["name"]))
    where = " and ".join(f"{names[c]} ({c})" for c in s.intervention_wards)
    verdict = evaluate_verdict(did["rate_ratio"], did["ci_lower"], did["ci_upper"], mde["mde_rate_ratio"],
                               outcome=f"police-recorded violence and sexual offences in {where}", rtm=rtm)
    text = _text(rendered["section_verdict"][1])
    assert f"Verdict: {verdict}." in text
    did_text = _text(rendered["section_did"][1])
    assert f"rate ratio {did['rate_ratio']:.2f}" in did_text
    assert f"{did['ci_lower']:.2f} to {did['ci_upper']:.2f}" in did_text
    # the demo has no planted intervention effect: an honest verdict is computed, not assumed
    if rtm["status"].iloc[0] != "no concern":
        assert "regression to the mean" in text
    elif did["ci_lower"] <= 1 <= did["ci_upper"] and abs(np.log(did["rate_ratio"])) < abs(np.log(mde["mde_rate_ratio"])):
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
    # people, involvement by number of incidents, later incidents, comparisons, capped-follow-up comparisons
    assert len(marked) == 5


def test_cohort_tables_publish_no_total_of_overlapping_cohorts(doc, rendered):
    cohort = rendered["section_cohort"][1]
    assert "&lt;NA&gt;" not in cohort and "<NA>" not in _text(cohort)
    for start in ("Cohorts: people eligible", "Later violent incidents per 1,000 days"):
        frame = _table(doc, start)
        assert "Total" not in set(frame.iloc[:, 0].astype(str)), start
        assert not frame.isna().all(axis=1).any()
    assert "must not be added up" in _text(cohort)


def _nominals(doc) -> pd.DataFrame:
    p = doc.workbench.intake.persons
    out = pd.DataFrame({"person_id": p["person_id"].to_numpy(), "role": p["role"].to_numpy(),
                        "crime_ref": p["crime_ref"].to_numpy(), "incident_date": pd.to_datetime(p["date"]).to_numpy(),
                        "ward_code": p["area_code"].astype("string").to_numpy()})
    return out[out["incident_date"].notna()]


def test_cohort_follow_up_runs_to_the_end_of_the_period_with_a_capped_sensitivity(doc, rendered):
    from assessment.analysis.cohort import cohort_comparison, cohort_summary

    s = E.evaluation_setup(doc)
    codes, _ = E._cohort_ward_codes(doc, s.cohort_wards)
    end = pd.Timestamp("2025-12-31")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = cohort_summary(_nominals(doc), codes, int(s.start[:4]), period_end=end, follow_up_days=None)
        capped = cohort_summary(_nominals(doc), codes, int(s.start[:4]), period_end=end, follow_up_days=365)
        comp_cap = cohort_comparison(capped)
    people = _table(doc, "Cohorts: people eligible")
    # the main table follows everyone to the end of the period: the earliest cohort has far more than 365 days each
    first = full.iloc[1]
    assert float(first["days_at_risk"]) > 2 * 365 * int(first["n_people"])
    shown = pd.to_numeric(people["days at risk"], errors="coerce").dropna().round().astype(int).tolist()
    assert int(round(float(first["days_at_risk"]))) in shown
    later = _table(doc, "Later violent incidents per 1,000 days")
    assert int(full.iloc[0]["n_subsequent_incidents"]) in pd.to_numeric(later["later incidents"], errors="coerce").tolist()
    # the sensitivity table is the 365-day analysis
    sens = _table(doc, "Cohort 2024 against its comparisons with follow-up capped at 365 days")
    ok = np.isfinite(sens["rate ratio"].astype(float))
    assert ok.any()
    np.testing.assert_allclose(sens.loc[ok, "rate ratio"].astype(float), comp_cap.loc[ok.to_numpy(), "rate_ratio"],
                               atol=0.005 + 1e-9)  # published to two decimals
    text = _text(rendered["section_cohort"][1])
    assert "from eligibility to the end of the period (2025-12-31)" in text
    # unequal follow-up is visible and the earlier-years comparison is flagged as not like for like
    avg = pd.to_numeric(people["average follow-up (days)"], errors="coerce")
    n = pd.to_numeric(people["people eligible"], errors="coerce")
    days = pd.to_numeric(people["days at risk"], errors="coerce")
    ok_rows = avg.notna() & n.notna()
    np.testing.assert_allclose(avg[ok_rows], days[ok_rows] / n[ok_rows], atol=0.5 + 1e-9)  # whole days
    assert "Not like for like: the earlier cohorts were followed for longer" in text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        comp_full = cohort_comparison(full)
    hist_full, hist_cap = comp_full.iloc[0], comp_cap.iloc[0]
    if (hist_full["ci_lower"] > 1 or hist_full["ci_upper"] < 1) != (hist_cap["ci_lower"] > 1 or hist_cap["ci_upper"] < 1):
        assert "the capped analysis is the fair one" in text
    assert "Sensitivity analysis: follow-up capped at 365 days" in text and "compare fairly" in text


def test_cohort_design_is_framed_honestly_without_a_panel_service(doc, rendered):
    assert not any("panel" in sv.name.lower() for sv in doc.catalogue.services)
    text = _text(rendered["section_cohort"][1])
    assert "violence cohort design (as used to evaluate multi-agency violence panels)" in text
    assert "as an illustration" in text and "names no violence panel" in text
    assert "panel cohort" not in text.lower() and "panel wards" not in text.lower()
    assert "intervention wards 2024" in text and "rest of the area 2024" in text


def test_cohort_design_names_the_panel_when_the_register_has_one(demo_document):
    from assessment.catalogue import Service

    doc = demo_document("evaluation")
    doc.catalogue = doc.catalogue.model_copy(deep=True)
    doc.catalogue.services.append(Service(name="Riverton violence reduction panel", provider="Riverton CSP",
                                          themes=["violence"], wards=["Oakley"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = E.evaluation_setup(doc)
        text = _text(E.section_cohort(doc)._repr_html_())
    assert s.cohort_wards == ["E05900008"] and s.panel_service["name"] == "Riverton violence reduction panel"
    assert "Riverton violence reduction panel" in text and "as an illustration" not in text
    assert "panel wards 2024" in text


CODE_NAMES = ["rest_of_area", "negative_binomial", "quasi_poisson", "night_time_economy", "intervention_wards",
              "comparison_wards", "cohort_wards", "level_change", "slope_change"]


def test_no_code_style_names_in_the_page(doc, rendered):
    for name, (_, page) in rendered.items():
        text = _text(page)
        for code in CODE_NAMES:
            assert code not in text, (name, code)
    design = _text(rendered["section_design"][1])
    svc = next(sv for sv in doc.catalogue.services if sv.name == E.evaluation_setup(doc).intervention)
    for theme in svc.themes:
        assert doc.catalogue.themes[theme] in design
    its = _table(doc, "Interrupted time series: level and trend changes")
    assert set(its["model"]) <= set(E.MODEL_LABELS.values())
    params = _table(doc, "Parameters used").set_index("parameter")
    s = E.evaluation_setup(doc)
    assert "intervention wards" in params.index and s.ward_names[s.intervention_wards[0]] in params.loc[
        "intervention wards", "value used"]


def test_automatic_intervention_ward_is_flagged_as_a_fallback(fallback):
    design = _text(fallback[1]["section_design"][1])
    assert "chosen automatically, as a fallback" in design


def test_its_projection_range_from_the_counterfactual_band(doc, rendered):
    series = pd.DataFrame({"month": ["2024-01", "2024-02", "2024-03"], "post": [False, True, True],
                           "observed": [10, 12, 14], "counterfactual": [10.0, 10.0, 10.0],
                           "counterfactual_lower": [8.0, 8.0, 6.0], "counterfactual_upper": [12.0, 13.0, 15.0]})
    p = E.its_projection(series)
    assert (p["observed"], p["projected"], p["projected_low"], p["projected_high"]) == (26, 20, 14, 28)
    assert p["percent"] == pytest.approx(30.0)
    assert p["percent_low"] == pytest.approx(100 * (26 - 28) / 28)
    assert p["percent_high"] == pytest.approx(100 * (26 - 14) / 14)
    main, _, _, _ = E._its(doc)
    q = E.its_projection(main.series)
    text = _text(rendered["section_its"][1])
    assert f"95% range of the projection {q['projected_low']:,.0f} to {q['projected_high']:,.0f}" in text
    assert f"{q['percent_low']:+.1f}% to {q['percent_high']:+.1f}%" in text


def test_power_section_explains_the_two_dispersions(doc, rendered):
    text = _text(rendered["section_power"][1])
    assert f"by a factor of {float(E._mde(doc)['dispersion']):.2f}" in text
    assert "different model and period" in text


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


def test_catalogue_intervention_wards_are_used(doc):
    """The demo catalogue names the town-centre wards; the evaluation uses exactly those."""
    named = doc.catalogue.documents["evaluation"].parameters["intervention_wards"]
    assert E.evaluation_setup(doc).intervention_wards == list(named)
