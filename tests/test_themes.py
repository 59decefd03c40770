"""The strategic assessment's statutory themes and the profiles' victim and offender sides."""

from __future__ import annotations

import re
import warnings
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

from assessment.catalogue import load_catalogue
from assessment.documents import problem_profile as profile, strategic_assessment as strategic
from assessment.reporting import themes
from assessment.reporting.display import Section

SECTIONS = ("section_reoffending", "section_substance_misuse", "section_domestic_abuse", "section_hate_crime",
            "section_serious_violence", "section_fire")
THEME_ROLES = ("crime_system", "reoffending", "treatment", "fire_incidents")


def _text(part) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", part._repr_html_()))


@pytest.fixture(scope="module")
def sa(demo_document):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        doc = demo_document("strategic_assessment")
        return doc, {name: getattr(strategic, name)(doc) for name in SECTIONS + ("section_gaps",)}


def test_period_labels_partners_send():
    got = themes.theme_period_end(pd.Series(["Jan 2023 to Mar 2023", "January to March 2024", "Jul-Sep 2022",
                                             "2023-24", "2024/25", "2023-Q4", "2025 Q2", "sometime", None]))
    assert got.tolist()[:7] == ["2023-03", "2024-03", "2022-09", "2024-03", "2025-03", "2023-12", "2025-06"]
    assert got.isna().tolist()[7:] == [True, True]


def test_flags_read_as_booleans():
    assert themes.theme_flag(pd.Series(["Y", "n", "Yes", "TRUE", "1", "", None, "no"])).tolist() == [
        True, False, True, True, True, False, False, False]


def test_each_theme_dataset_is_catalogued_with_its_sharing_basis(demo_catalogue):
    cat = load_catalogue(demo_catalogue)
    for role in THEME_ROLES:
        keys = cat.datasets_with_role(role)
        assert keys, role
        ds = cat.datasets[keys[0]]
        assert ds.sharing.basis and ds.sharing.agreement and ds.agency and ds.format, role
        assert "strategic assessment" in ds.sharing.permitted_uses, role
    extract = cat.datasets[cat.dataset_with_role("crime_system")]
    assert extract.sensitivity == "personal"
    assert {"victim_id", "offender_id"} <= set(extract.identifiers)
    assert {"domestic_abuse", "hate_crime", "hate_strand", "weapon", "victim_age_band", "victim_sex",
            "repeat_victim", "offender_age_band", "offender_sex", "repeat_offender"} <= set(extract.columns)
    for role in ("reoffending", "treatment"):
        ds = cat.datasets[cat.dataset_with_role(role)]
        assert any("synthetic" in c for c in ds.caveats), role


def test_demo_assessment_has_the_six_statutory_theme_sections(sa):
    doc, secs = sa
    titles = [secs[name].title for name in SECTIONS]
    assert all(isinstance(secs[name], Section) for name in SECTIONS)
    assert titles == [themes.THEMES[t]["title"] for t in themes.THEMES]
    text = {name: _text(secs[name]) for name in SECTIONS}
    for name in ("section_reoffending", "section_substance_misuse"):
        assert "Regulations 2007" in text[name] and "reoffending and substance misuse" in text[name]
    assert "Juvenile" in text["section_reoffending"] and "Adult" in text["section_reoffending"]
    assert "Opiate" in text["section_substance_misuse"]
    assert "Race" in text["section_hate_crime"]
    assert "Knife or sharp instrument" in text["section_serious_violence"]
    assert "women and girls" in text["section_domestic_abuse"]
    # every theme is covered, so none is named as a gap
    gaps = _text(secs["section_gaps"])
    assert not any(f"{themes.THEMES[t]['title']}: not covered" in gaps for t in themes.THEMES)


def test_reoffending_proportions_agree_with_the_file(sa, demo_catalogue):
    doc, _ = sa
    raw = pd.read_csv(Path(demo_catalogue).parent / "raw" / "probation" / "proven_reoffending.csv")
    latest = raw[raw["Cohort period"].isin(raw["Cohort period"].unique()[-4:])]
    adult = latest[latest["Offender type"] == "Adult"]
    share = 100 * adult["Number of reoffenders"].sum() / adult["Number of offenders in cohort"].sum()
    table = next(t for _, c, t in doc.tables if c.startswith("Proven reoffending: the four latest"))
    row = table.set_index("offender type").loc["Adult"]
    assert float(row["proportion who reoffended (%)"]) == pytest.approx(share, abs=0.05)  # shown to 1 decimal


def test_small_counts_of_the_personal_extract_never_appear(sa, demo_document):
    doc, _ = sa
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prof = demo_document("problem_profile", topic="burglary")
        profile.section_triangle(prof)
    checked = 0
    for d, marks in ((doc, ("Domestic abuse", "women and girls", "Hate crimes", "weapon")),
                     (prof, ("Victims of", "offenders of"))):
        for name, caption, frame in d.tables:
            if not any(m in caption for m in marks):
                continue
            on_disk = pd.read_csv(d.tables_dir / name, dtype=str, keep_default_na=False)
            for col in on_disk.columns[1:]:
                values = pd.to_numeric(on_disk[col].str.replace(",", ""), errors="coerce")
                assert not values.between(1, d.threshold - 1).any(), (caption, col)
            checked += 1
    assert checked >= 6


def test_profiles_fill_the_victim_and_offender_sides(demo_document):
    for topic in ("violence", "burglary"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            doc = demo_document("problem_profile", topic=topic)
            sec = profile.section_triangle(doc)
        html = sec._repr_html_()
        victims = html.split('id="victims"')[1].split('id="offenders"')[0]
        offenders = html.split('id="offenders"')[1].split('id="locations"')[0]
        assert "by age band and sex" in victims and "Female" in victims and "repeat victim" in victims, topic
        assert "by age band and sex" in offenders and "repeat offender" in offenders, topic
        assert "cannot be described" not in victims, topic
    with warnings.catch_warnings():  # a problem the extract does not hold keeps its other sources
        warnings.simplefilter("ignore")
        html = profile.section_triangle(demo_document("problem_profile", topic="asb"))._repr_html_()
    assert "crime-system extract" not in html and "Targets" in html


def test_without_theme_datasets_each_is_a_gap_and_the_document_renders(demo_copy):
    themed = ("police_crime_extract", "proven_reoffending", "drug_alcohol_treatment", "fire_deliberate")

    def drop(raw):
        for key in themed:
            raw["datasets"].pop(key)
        raw["category_maps"].pop("force_offence_group")

    path, _ = demo_copy(drop)
    from assessment.reporting.document import open_document

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        doc = open_document(path, document="strategic_assessment", out_dir=path.parent / "out",
                            run_date="2026-11-25")
        parts = [getattr(strategic, name)(doc) for name in SECTIONS]
        gaps = _text(strategic.section_gaps(doc))
    assert all(p._repr_html_() == "" for p in parts)
    for spec in themes.THEMES.values():
        assert f"{spec['title']}: not covered" in gaps
    assert gaps.count("Regulations 2007") == 2


def test_raw_identifiers_never_appear_in_any_output(demo_outputs):
    raw = pd.read_csv(Path(demo_outputs.catalogue).parent / "raw" / "police_extract" / "crime_extract.csv",
                      dtype=str, keep_default_na=False)
    ids = set(raw["victim_id"]) | set(raw["offender_id"]) - {""}
    assert len(ids) > 1000
    pattern = re.compile(r"P\d{8}")
    leaked = []
    for path in Path(demo_outputs.out).rglob("*"):
        if not path.is_file():
            continue
        if path.suffix in (".xlsx", ".docx"):
            with zipfile.ZipFile(path) as z:
                text = " ".join(z.read(n).decode("utf-8", "ignore") for n in z.namelist() if n.endswith(".xml"))
        elif path.suffix in (".html", ".csv", ".json", ".ipynb", ".txt", ".md"):
            text = path.read_text(encoding="utf-8", errors="ignore")
        else:
            continue
        found = set(pattern.findall(text)) & ids
        if found:
            leaked.append((path.name, sorted(found)[:3]))
    assert leaked == []


def test_rendered_assessment_has_the_theme_sections_and_profiles_their_people(demo_outputs):
    from assessment.cli import DEMO_DOCUMENTS

    stems = {doc: [s for d, _, s in DEMO_DOCUMENTS if d == doc] for doc in ("strategic_assessment", "problem_profile")}
    for stem in stems["strategic_assessment"] + stems["problem_profile"]:
        assert stem in demo_outputs.runs, demo_outputs.failures.get(stem)
    page = demo_outputs.runs[stems["strategic_assessment"][0]].html.read_text(encoding="utf-8")
    headings = re.findall(r"<h2[^>]*>(.*?)</h2>", page, re.S)
    for spec in themes.THEMES.values():
        assert spec["title"].replace("&", "&amp;") in headings, spec["title"]
    for stem in stems["problem_profile"]:
        page = demo_outputs.runs[stem].html.read_text(encoding="utf-8")
        assert "Victims of" in page and "Identified offenders of" in page, stem
