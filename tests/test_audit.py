"""Tests for the three-yearly crime and disorder audit (assessment.documents.audit).

Sections are checked against independent computations on the generated demo's raw files
(the survey CSV read with pandas, the strategy YAML read with PyYAML, a hand-written
Wilson formula), never against the module's own earlier output.
"""

from __future__ import annotations

import html
import math
import re
import warnings

import pandas as pd
import pytest
import yaml

from assessment.documents import audit
from assessment.reporting.display import Section, TableView

SECTIONS = ["section_summary", "section_patterns", "section_consultation", "section_concerns_vs_data",
            "section_provision", "section_strategy_options", "section_previous_strategy", "section_public_summary",
            "section_appendix"]
VAGUE = ("encourage", "monitor", "promote", "support", "work to", "raise awareness", "explore", "improve")


@pytest.fixture(scope="module")
def doc(demo_document):
    return demo_document("audit")


@pytest.fixture(scope="module")
def sections(doc):
    """Every section, in the notebook's order (one document, shared computations)."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in SECTIONS:
            out[name] = getattr(audit, name)(doc)
    return out


@pytest.fixture(scope="module")
def raw_survey(doc):
    files = doc.catalogue.dataset_files("residents_survey")
    assert len(files) == 1
    return pd.read_csv(files[0], dtype=str)


@pytest.fixture(scope="module")
def raw_strategy(doc):
    files = doc.catalogue.dataset_files("previous_strategy")
    return yaml.safe_load(files[0].read_text(encoding="utf-8"))


def _tables(sec: Section) -> list[TableView]:
    return [p for p in sec.parts if isinstance(p, TableView)]


def _table(sec: Section, caption_start: str) -> pd.DataFrame:
    found = [t for t in _tables(sec) if t.caption.startswith(caption_start)]
    assert len(found) == 1, [t.caption for t in _tables(sec)]
    return found[0].frame


def _text(sec: Section) -> str:
    """The section's visible text (tags stripped, entities kept)."""
    return re.sub(r"<[^>]+>", " ", sec._repr_html_())


def test_notebook_functions_exist_and_open_document_is_reexported():
    from assessment.reporting.document import open_document

    assert audit.open_document is open_document
    for name in SECTIONS:
        assert callable(getattr(audit, name))


def test_every_section_returns_a_section_with_content(sections):
    for name, sec in sections.items():
        assert isinstance(sec, Section), name
        assert sec.parts, name
        assert sec._repr_html_().startswith("<section>")


def test_response_counts_equal_plain_count_of_survey_rows(sections, raw_survey):
    table = _table(sections["section_consultation"], "Survey respondents by ward")
    expected = raw_survey["ward_code"].value_counts()
    wards = table[table["ward code"] != ""].set_index("ward code")["respondents (n)"]
    for code, n in expected.items():
        assert int(wards[code]) == int(n), code
    assert int(wards.sum()) == len(raw_survey)
    total = table.loc[table["ward code"] == "", "respondents (n)"]
    assert int(total.iloc[0]) == len(raw_survey)


def test_ward_names_come_from_the_boundaries(sections, doc):
    table = _table(sections["section_consultation"], "Survey respondents by ward")
    names = {}
    for v in doc.workbench.registry.geographies["wards"]:
        names.update(dict(zip(v.units["code"].astype(str), v.units["name"].astype(str))))
    body = table[table["ward code"] != ""]
    assert all(str(w).startswith(names[c]) for c, w in zip(body["ward code"], body["ward"]))


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


def test_feeling_safe_wilson_intervals_match_hand_formula(sections, raw_survey):
    table = _table(sections["section_consultation"], "Residents who feel safe after dark")
    ans = raw_survey["safe_after_dark"].str.strip()
    valid = ans.notna() & ~ans.isin(["Don't know", "Prefer not to say"])
    safe = ans.isin(["Very safe", "Fairly safe"])
    frame = pd.DataFrame({"ward": raw_survey["ward_code"], "valid": valid, "safe": safe & valid})
    per = frame.groupby("ward").agg(n=("valid", "sum"), k=("safe", "sum"))
    body = table[table["ward code"] != ""].set_index("ward code")
    checked = 0
    for code, r in per.iterrows():
        row = body.loc[code]
        if str(row["feel safe (%)"]) == "[c]":
            continue
        lo, hi = _wilson(int(r["k"]), int(r["n"]))
        assert float(row["feel safe (%)"]) == pytest.approx(100 * r["k"] / r["n"], abs=0.05 + 1e-9)  # published to one decimal
        assert float(row["95% CI low (%)"]) == pytest.approx(100 * lo, abs=0.05 + 1e-9)  # published to one decimal
        assert float(row["95% CI high (%)"]) == pytest.approx(100 * hi, abs=0.05 + 1e-9)  # published to one decimal
        checked += 1
    assert checked >= len(per) // 2
    overall = table[table["ward code"] == ""].iloc[0]
    lo, hi = _wilson(int(per["k"].sum()), int(per["n"].sum()))
    assert float(overall["95% CI low (%)"]) == pytest.approx(100 * lo, abs=0.05 + 1e-9)  # published to one decimal
    assert float(overall["95% CI high (%)"]) == pytest.approx(100 * hi, abs=0.05 + 1e-9)  # published to one decimal


def test_n_is_shown_for_every_wards_feeling_safe_proportion(sections, raw_survey):
    table = _table(sections["section_consultation"], "Residents who feel safe after dark")
    shown = table[pd.to_numeric(table["feel safe (%)"], errors="coerce").notna()]
    n = pd.to_numeric(shown["n (answered)"], errors="coerce")
    assert n.notna().all() and (n > 0).all()
    html = sections["section_consultation"]._repr_html_()
    # the rendered table carries the n column header and every ward's n
    assert "n (answered)" in html
    for code in raw_survey["ward_code"].unique():
        assert code in html


def test_small_wards_are_flagged_unreliable(sections, raw_survey):
    counts = raw_survey["ward_code"].value_counts()
    small = counts[counts < audit.MIN_RELIABLE_N]
    assert len(small), "the demo plants wards with few respondents"
    table = _table(sections["section_consultation"], "Residents who feel safe after dark").set_index("ward code")
    for code in small.index:
        assert "unreliable" in table.loc[code, "compared with the partnership"]
    big = counts[counts >= audit.MIN_RELIABLE_N].index
    assert not table.loc[big, "compared with the partnership"].str.contains("unreliable").any()


XSS = "<script>alert(1)</script>"


def test_script_comment_shows_as_text_and_never_as_markup(demo_document, sections):
    """A resident's comment holding <script> (injected here: the demo plants no test payload) is
    quoted as escaped text: it shows, it never runs."""
    import dataclasses

    for name, sec in sections.items():  # the demo's own documents carry no markup from data
        page = sec._repr_html_().lower()
        assert "<script" not in page, name
        assert "analyst to check" not in page and "comment(s)" not in page, name
    injected = demo_document("audit")
    wb = injected.workbench
    sv = wb.intake.survey.copy()
    col = "comment" if "comment" in sv.columns else "comments"
    first = int(sv[col].fillna("").str.len().to_numpy().argmax())
    sv.iloc[first, sv.columns.get_loc(col)] = f"Great survey {XSS} please read"
    injected._workbench = dataclasses.replace(wb, intake=dataclasses.replace(wb.intake, survey=sv))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sec = audit.section_consultation(injected)
    consultation = sec._repr_html_()
    assert "<script" not in consultation.lower()
    assert html.escape(XSS, quote=True) in consultation
    assert "screened before publication" in _text(sec)


def test_comments_with_personal_details_are_held_back_for_the_analyst(doc, sections):
    from assessment.disclosure import restricted_dir

    held = pd.read_csv(restricted_dir(doc.out_dir, create=False) / "audit-comments-screened.csv", dtype=str)
    assert list(held.columns) == ["survey_row", "reason", "comment"]
    page = sections["section_consultation"]._repr_html_()
    for c in held["comment"].dropna():
        assert html.escape(c, quote=True) not in page


def test_quoted_comments_are_escaped():
    html_ = audit._quoted_comments([("Theme", XSS + " & \"quoted\" 'text'")])._repr_html_()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_
    assert "<script" not in html_ and "&quot;quoted&quot;" in html_ and "&#x27;text&#x27;" in html_


def test_example_comments_are_residents_words_escaped(sections, raw_survey):
    page = sections["section_consultation"]._repr_html_()
    raw = pd.Series(raw_survey["comments"].dropna().str.strip().unique())
    shown = raw[raw.map(lambda c: html.escape(c, quote=True) in page)]   # a few hundred distinct comments
    assert len(shown) >= 3
    quoted = raw[raw.str.contains('"', regex=False)]
    for c in quoted:
        assert c not in page or html.escape(c, quote=True) == c     # never unescaped


def test_comment_dictionary_codes_general_night_time_and_safety_vocabulary():
    from assessment.analysis.survey import survey_comment_flags, survey_load_themes

    themes = survey_load_themes()
    s = pd.Series(["Fights outside the pubs at closing time", "Drunk people shouting late at night",
                   "I feel unsafe walking home, people are threatening", "Cars race up and down the bypass",
                   "Rang 101 and nobody answered", "I avoid the alley after dark", "Nightclub queues spill onto the road",
                   "I feel safe here", "Lovely place"])
    f = survey_comment_flags(s, themes)
    assert f.loc[0, "alcohol_nte"] and f.loc[0, "violence"]
    assert f.loc[1, "alcohol_nte"]
    assert f.loc[2, "violence"]
    assert f.loc[3, "vehicles_roads"]
    assert f.loc[4, "policing"]
    assert f.loc[5, "lighting"]
    assert f.loc[6, "alcohol_nte"]
    assert not f.loc[7, "violence"] and f.loc[7, "uncategorised"]
    assert f.loc[8, "uncategorised"]


def test_demo_comments_about_the_night_time_economy_are_coded(sections):
    table = _table(sections["section_consultation"], "Free-text comments by theme").set_index("theme")
    nte = pd.to_numeric(table.loc["Alcohol and the night-time economy", "comments"], errors="coerce")
    violence = pd.to_numeric(table.loc["Violence and personal safety", "comments"], errors="coerce")
    assert nte > 0 and violence > 0
    unc = float(table.loc["Uncategorised", "share (%)"])
    assert unc < 15, "most comments should match a theme"


def test_counting_rule_change_is_not_presented_as_significant_change(sections, doc):
    from scipy.stats import binomtest

    table = _table(sections["section_patterns"], "Crime types: annual totals").set_index("crime type")
    p_col = "adjusted p (change)"
    breaks = {b.category: b.month for b in doc.catalogue.breaks_for("police_street")
              if "2023-01" < b.month <= "2025-12"}
    assert breaks, "the demo catalogue records a counting-rule change"
    for cat, month in breaks.items():
        when = pd.Period(month, freq="M").strftime("%B %Y")
        assert table.loc[cat, p_col] == f"not comparable across the {when} counting-rule change"
        assert pd.isna(pd.to_numeric(table.loc[cat, "change 2023 to 2025 (%)"], errors="coerce"))
    others = table.drop(index=list(breaks))
    for cat, r in others.iterrows():
        c1, c3 = int(r["2023"]), int(r["2025"])
        # allowing for over-dispersion (counts divided by a design effect >= 1) and adjusting across the
        # crime types only raise the exact Poisson p-value (up to rounding of the effective counts)
        exact = binomtest(c3, c1 + c3, 0.5).pvalue
        assert 0.8 * exact - 1e-12 <= float(r[p_col]) <= 1, cat
    text = _text(sections["section_patterns"])
    for theme in ("Violence", "Public order"):
        line = re.search(rf"{theme}: [\d,]+ in 2023, [\d,]+ in 2025 \(([^)]*)\)", text)
        assert line and "not comparable across the April 2024 counting-rule change" in line.group(1), theme
        assert "significant" not in line.group(1)
    public = _text(sections["section_public_summary"])
    rec = [b for b in breaks if b in public]
    assert rec, "the demo recommends a crime type with a counting-rule change"
    for cat in rec:
        assert re.search(rf"{cat}:[^.]*\.[^.]*changed how they count it in April 2024", public), cat


def test_concern_shares_are_labelled_and_the_classification_follows_the_threshold(sections, raw_survey):
    table = _table(sections["section_concerns_vs_data"], "Residents' concerns against recorded volume")
    share_col = "named any concern in this theme (%)"
    single_col = "single-concern share (each option on its own)"
    finding = [c for c in table.columns if c.startswith("finding")][0]
    concerns = raw_survey[["concern_1", "concern_2", "concern_3"]].apply(lambda c: c.str.strip())
    n = len(raw_survey)
    labels = pd.Series(audit.SURVEY_CONCERN_THEMES)
    for _, r in table.iterrows():   # a dozen themes
        opts = [c.strip() for c in str(r["survey concerns"]).split(",") if c.strip()]
        if not opts:
            continue
        named_any = concerns.isin(opts).any(axis=1).sum()
        assert float(r[share_col]) == pytest.approx(100 * named_any / n, abs=0.05 + 1e-9)  # published to one decimal, r["theme"]
        for o in opts:                                         # each single-concern share, independently
            single = concerns.eq(o).any(axis=1).sum() / n
            assert f"{o} {single:.0%}" in r[single_col], (r["theme"], o)
        if float(r[share_col]) >= 20:
            assert "fewer than 20%" not in r[finding]
        else:
            assert "20% or more" not in r[finding]
    violence = table[table["theme"] == "Violence"].iloc[0]
    assert 0 < float(violence[share_col]) < 20 and "fewer than 20%" in violence[finding]
    assert "did not raise" not in _text(sections["section_concerns_vs_data"])
    assert "did not raise" not in _text(sections["section_strategy_options"])
    assert set(labels.values) >= {"asb", "violence"}


def test_smart_table_counts_items_and_criteria_consistently(sections, raw_strategy):
    check = _table(sections["section_previous_strategy"], "SMART check").set_index("id")
    assert "items present (of 6)" in check.columns and "SMART criteria met (of 5)" in check.columns
    assert not any("criteria met (of 5)" == c for c in check.columns)
    for i, r in check.iterrows():
        missing = [] if r["what is missing"] == "nothing" else [m.strip() for m in r["what is missing"].split(",")]
        assert int(r["items present (of 6)"]) + len(missing) == 6, i
        assert 0 <= int(r["SMART criteria met (of 5)"]) <= 5
        assert (r["SMART verdict"] == "SMART") == (not missing)
    text = _text(sections["section_previous_strategy"])
    verbs = [t for t in raw_strategy["targets"] if any(re.search(rf"\b{v}\b", t["text"].lower()) for v in VAGUE)]
    assert f"{len(verbs)} use vague wording" in text
    no_base = [t for t in _vague_targets(raw_strategy) if t not in verbs]
    for t in no_base:
        assert re.search(rf"missing a (metric|baseline)[^(]*\({t['id']}", text), t["id"]
    t1 = [b for b in re.findall(r"T1 \([^)]*\):[^\n]*", text)][0]
    assert "wider than the target" in t1 and "sexual offences" in t1


def test_change_classes_are_centred_on_zero():
    got = audit._change_classes(pd.Series([-15.0, -10.0, -3.0, 0.0, 4.0, 10.0, 12.0, float("nan")]))
    assert list(got["label"][:7]) == ["fall of more than 10%", "fall of up to 10%", "fall of up to 10%",
                                      "no change or rise of up to 10%", "no change or rise of up to 10%",
                                      "no change or rise of up to 10%", "rise of more than 10%"]
    assert list(got["code"][:7]) == [1, 2, 2, 3, 3, 3, 4] and pd.isna(got["code"].iloc[7])
    # codes count only the classes present, so each gets its own colour class
    only = audit._change_classes(pd.Series([-20.0, 15.0]))
    assert list(only["code"]) == [1, 2]


def test_ward_change_map_legend_explains_classes(sections):
    page = sections["section_patterns"]._repr_html_()
    # the legend and caption name the classes in percentage change, never class codes
    assert any(label in page for _, label in audit.CHANGE_CLASSES)
    assert "lighter shades" in page and "percentage change" in page
    assert "1.0 to 1.7" not in page


def test_respondent_shares_are_percentages(sections, raw_survey):
    table = _table(sections["section_consultation"], "Survey respondents by ward")
    body = table[table["ward code"] != ""]
    assert "share of all respondents (%)" in table.columns
    counts = raw_survey["ward_code"].value_counts()
    for code, share in zip(body["ward code"], body["share of all respondents (%)"]):
        assert float(share) == pytest.approx(100 * counts[code] / len(raw_survey), abs=0.05 + 1e-9)  # one decimal


def test_unreliable_bars_are_grey_not_red():
    import matplotlib.colors as mcolors

    from assessment.reporting.charts import chart_bars

    frame = pd.DataFrame({"label": ["A", "B", "C"], "v": [50.0, 60.0, 70.0]})
    fig = chart_bars(frame, label="label", value="v")
    audit._grey_bars(fig, ["B"])
    ax = fig.axes[0]
    colours = {t.get_text(): mcolors.to_hex(b.get_facecolor()) for t, b in zip(ax.get_yticklabels(), ax.containers[0])}
    assert colours["B"] == audit.UNRELIABLE_COLOUR
    assert colours["A"] == colours["C"] != audit.UNRELIABLE_COLOUR


def test_wording_and_dates_in_provision(sections, doc):
    for name, sec in sections.items():
        assert "service(s)" not in _text(sec), name
    text = _text(sections["section_provision"])
    assert doc.run_date.isoformat() in text and "run date" in text


def test_plain_language_check_is_an_analyst_note(sections, doc):
    from assessment.disclosure import restricted_dir

    assert "Plain-language check" not in _text(sections["section_public_summary"])
    note = (restricted_dir(doc.out_dir, create=False) / "audit-plain-language-check.txt").read_text(encoding="utf-8")
    assert "sentences" in note and "words each on average" in note


def _vague_targets(strategy: dict) -> list[dict]:
    out = []
    for t in strategy["targets"]:
        text = t["text"].lower()
        verb = any(re.search(rf"\b{v}\b", text) for v in VAGUE)
        if verb or not t.get("metric") or t.get("baseline") is None:
            out.append(t)
    return out


def test_audit_flags_each_vague_target_by_id_and_text(sections, raw_strategy):
    vague = _vague_targets(raw_strategy)
    assert len(vague) >= 3
    for name in ("section_previous_strategy", "section_summary"):
        text = _text(sections[name])
        for t in vague:
            assert re.search(rf"{t['id']}\s+\W?{re.escape(t['text'])}", text), (name, t["id"])
    # SMART targets are not called vague
    smart_ids = {t["id"] for t in raw_strategy["targets"]} - {t["id"] for t in vague}
    check = _table(sections["section_previous_strategy"], "SMART check").set_index("id")
    for i in smart_ids:
        assert check.loc[i, "vague wording"] == ""


def test_smart_check_names_what_is_missing(sections, raw_strategy):
    check = _table(sections["section_previous_strategy"], "SMART check").set_index("id")
    for t in raw_strategy["targets"]:
        missing = check.loc[t["id"], "what is missing"]
        if not t.get("owner"):
            assert "owner" in missing
        if t.get("metric") is None and not re.search(r"\d", t["text"]):
            assert "metric" in missing and "baseline" in missing


def test_target_progress_counts_match_police_data(sections, doc, raw_strategy):
    prog = _table(sections["section_previous_strategy"], "Previous strategy targets").set_index("id")
    pol = doc.workbench.dataset_events("police_street")
    for t in raw_strategy["targets"]:
        metric = str(t.get("metric") or "")
        m = re.search(r"'([^']+)'", metric)
        if not m or "E05" in metric:
            continue
        cat = m.group(1)
        expected = pol[(pol["category"] == cat)]["month"].str[:4].value_counts()
        for year in ("2023", "2024", "2025"):
            assert int(prog.loc[t["id"], year]) == int(expected.get(year, 0)), (t["id"], year)


def test_ward_change_uses_current_wards_and_conserves_located_crimes(sections, doc):
    table = _table(sections["section_patterns"], "Crimes (excluding ASB) per 1,000 residents by current ward")
    assert set(table["ward code"]) == set(doc.workbench.wards["code"].astype(str))
    pol = doc.workbench.dataset_events("police_street")
    y3 = pol[(pol["month"].str[:4] == "2025") & (pol["category"] != "Anti-social behaviour")]
    # in the latest year the wards in force are the current wards: counts agree exactly
    expected = y3["ward_code"].value_counts()
    got = table.set_index("ward code")["crimes 2025"]
    for code, n in expected.items():
        assert int(got[code]) == int(n)
    assert "boundary review" in _text(sections["section_patterns"])


def test_annual_totals_by_crime_type_match_police_data(sections, doc):
    table = _table(sections["section_patterns"], "Crime types: annual totals").set_index("crime type")
    pol = doc.workbench.dataset_events("police_street")
    counts = pol.groupby([pol["category"], pol["month"].str[:4]]).size()
    for (cat, year), n in counts.items():
        assert int(table.loc[cat, year]) == int(n)


def test_provision_flags_services_by_funding_relative_to_run_date(sections, doc):
    table = _table(sections["section_provision"], "Services register")
    status = dict(zip(table["service"], table["funding"]))
    run = doc.run_date
    for s in doc.catalogue.services:
        if s.funded_to is None:
            assert status[s.name] == "no end date recorded"
        elif s.funded_to < run:
            assert status[s.name] == "funding ended"
        elif (s.funded_to - run).days <= 365:
            assert status[s.name] == "funding ends within 12 months"


def test_concern_mapping_covers_every_survey_option(raw_survey, doc):
    labels = pd.unique(raw_survey[["concern_1", "concern_2", "concern_3"]].stack().dropna().str.strip())
    for lab in labels:
        assert lab in audit.SURVEY_CONCERN_THEMES, lab
    themes = set(doc.catalogue.themes) | {audit.ROAD_SAFETY}
    assert set(audit.SURVEY_CONCERN_THEMES.values()) <= themes


def test_public_summary_has_no_p_values_or_jargon(sections):
    text = _text(sections["section_public_summary"])
    for word in ("p =", "p <", "confidence interval", "95% CI", "statistically significant", "Poisson", "Gi*"):
        assert word not in text, word
    assert "plain-language" in sections["section_public_summary"]._repr_html_()


def test_the_demo_survey_has_no_design_so_the_audit_assumes_1_and_says_so(sections):
    sec = sections["section_consultation"]
    text = _text(sec)
    assert "design effect assumed 1" in text and "may be too narrow" in text
    assert '<div class="callout caveat" role="note"><p>The intervals treat the answers as a simple random' in sec._repr_html_()
    assert "Design effect 1.00 (assumed" in text


def test_a_declared_design_effect_widens_the_wards_intervals_and_is_stated(doc, raw_survey):
    ds = doc.catalogue.datasets["residents_survey"]
    doc.cache.pop("audit-consultation", None)
    ds.design_effect = 2.0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sec = audit.section_consultation(doc)
    finally:
        ds.design_effect = None
        doc.cache.pop("audit-consultation", None)
    text = _text(sec)
    assert "design effect of 2.00, declared in the data catalogue" in text and "assumed 1" not in text
    table = _table(sec, "Residents who feel safe after dark")
    ans = raw_survey["safe_after_dark"].str.strip()
    valid = ans.notna() & ~ans.isin(["Don't know", "Prefer not to say"])
    frame = pd.DataFrame({"valid": valid, "safe": ans.isin(["Very safe", "Fairly safe"]) & valid})
    k, n = int(frame["safe"].sum()), int(frame["valid"].sum())
    lo, hi = _wilson(k / 2, n / 2)  # Wilson's interval of the effective sample, written out by hand
    overall = table[table["ward code"] == ""].iloc[0]
    assert float(overall["95% CI low (%)"]) == pytest.approx(100 * lo, abs=0.05 + 1e-9)  # published to one decimal
    assert float(overall["95% CI high (%)"]) == pytest.approx(100 * hi, abs=0.05 + 1e-9)


def test_an_estimated_design_effect_is_stated_with_its_sampling_points():
    row = pd.Series({"design_effect": 1.62, "source": "estimated", "icc": 0.155, "n_clusters": 240,
                     "cluster_size": 5.0, "n": 1200})
    text, caveat = audit._design_words(row)
    assert not caveat
    assert "design effect of 1.62, estimated from the answers' 240 sampling points" in text
    assert "intra-cluster correlation 0.15" in text or "intra-cluster correlation 0.16" in text
    none, _ = audit._design_words(pd.Series({**row.to_dict(), "design_effect": 1.0, "icc": -0.02}))
    assert "those of a simple random sample" in none


def test_a_mapped_sampling_point_gives_an_estimated_design_effect(doc):
    # answers given at sampling points of ten in each ward, the same answer at a point: the design effect of
    # points of ten with an intra-cluster correlation near 1 is near 10, and the audit says it estimated it
    intake = doc.workbench.intake
    sv = intake.survey
    ward_col = "area_code" if "area_code" in sv.columns else "ward_code"
    clustered = sv.sort_values([ward_col, "safe_after_dark"], kind="mergesort")
    clustered = clustered.assign(cluster=clustered.groupby(ward_col).cumcount() // 10)
    doc.cache.pop("audit-consultation", None)
    intake.survey = clustered.sort_index()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sec = audit.section_consultation(doc)
            design = audit._consultation(doc)["design"]
    finally:
        intake.survey = sv
        doc.cache.pop("audit-consultation", None)
    assert design["source"] == "estimated" and design["design_effect"] > 3
    assert f"design effect of {design['design_effect']:.2f}, estimated from the answers' " in html.unescape(_text(sec))


def test_a_weighted_survey_is_shown_weighted_and_says_so(demo_copy, tmp_path):
    """The demo survey given weights (over-weighting residents who feel unsafe): the partnership's
    share falls to the weighted share, computed here with pandas, and the text says how the
    weights were allowed for."""
    import numpy as np

    from assessment.reporting.document import open_document

    def edit(raw):
        raw["datasets"]["residents_survey"]["columns"]["weight"] = "weight"

    cat, data = demo_copy(edit)
    path = data / "survey" / "residents_survey_2025.csv"
    sv = pd.read_csv(path, dtype=str, keep_default_na=False)
    unsafe = sv["safe_after_dark"].isin(["Fairly unsafe", "Very unsafe"])
    sv["weight"] = np.where(unsafe, 2.0, 1.0)
    path.unlink()  # a hard link to the shared demo: replace, never edit in place
    sv.to_csv(path, index=False)
    doc = open_document(cat, document="audit", out_dir=tmp_path / "out", run_date="2026-11-25")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sec = audit.section_consultation(doc)
    text = html.unescape(_text(sec))
    valid = sv["safe_after_dark"].isin(["Very safe", "Fairly safe", "Neither safe nor unsafe", "Fairly unsafe",
                                        "Very unsafe"])
    w = sv.loc[valid, "weight"]
    safe = sv.loc[valid, "safe_after_dark"].isin(["Very safe", "Fairly safe"])
    share = float(w[safe].sum() / w.sum())
    assert f"Across the partnership {share:.0%} of residents feel very or fairly safe" in text
    assert "The intervals allow for the survey's weights but not for clustering" in text
    assert "Kish's weighting effect across the partnership" in text
    table = _table(sec, "Residents who feel safe after dark, by ward")
    total = table.iloc[-1]
    assert float(total["feel safe (%)"]) == pytest.approx(100 * share, abs=0.05)
    assert int(total["feel safe"]) == int(safe.sum())  # the count stays a count of people


@pytest.mark.parametrize("weighted, source, d, says, never", [
    (True, "assumed", 1.0, "allow for the weighting effect (1.30, over all respondents)", "design effect of"),
    (True, "declared", 1.7, "the declared design effect already allows for the weights", "weighting effect (1.30"),
    (True, "declared", 1.0, "the declared design effect already allows for the weights", "weighting effect (1.30"),
    (False, "estimated", 1.4, "design effect of 1.40 (estimated from the sampling points of the feel-safe question",
     "weights"),
    (False, "declared", 1.4, "design effect of 1.40 (declared in the data catalogue)", "weights"),
])
def test_concerns_note_says_what_the_intervals_allowed_for(weighted, source, d, says, never):
    con = {"design": pd.Series({"weighted": weighted, "weights_in_design_effect": source == "declared",
                                "design_effect": d, "source": source}),
           "top": pd.DataFrame({"weighting_effect": [1.3]})}
    note = audit._concerns_design_note(con)
    assert says in note and never not in note
    if not weighted and d == 1:
        assert note == ""
