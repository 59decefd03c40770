"""Tests for assessment/reporting/front.py: the links, key findings and "about this document" box
that open every document, and the words for a change and a peer rating.

Everything is built directly from an opened document on the demo catalogue; nothing renders.
"""

from __future__ import annotations

import html
import re

import pytest
import yaml

from assessment.reporting import display
from assessment.reporting.document import open_document
from assessment.reporting.front import (NO_BENCHMARK, about_box, change_words, direction_of, document_nav,
                                        document_sources, front_matter, month_name, next_update,
                                        peer_finding, planned_documents)
from assessment.reporting.glossary import text_of
from assessment.reporting.kinds import DOCUMENT_USES


def _open(catalogue, tmp_path, document="strategic_assessment", **kw):
    return open_document(catalogue, document=document, out_dir=tmp_path / "out", run_date="2026-11-25", **kw)


# -- words ------------------------------------------------------------------------------------

def test_month_name_spells_a_month_and_leaves_other_text_alone():
    assert month_name("2025-12") == "December 2025"
    assert month_name("2024-01") == "January 2024"
    assert month_name("not set") == "not set"
    assert month_name("2025-13") == "2025-13"


def test_direction_follows_the_test_not_the_sign():
    assert direction_of(-12.0, 0.001) == "down"
    assert direction_of(9.0, 0.01) == "up"
    assert direction_of(-12.0, 0.30) == "steady"  # within chance
    assert direction_of(-12.0, 0.05) == "steady"  # the boundary is not significant
    assert direction_of(0.4, None) == "steady"
    assert direction_of(-3.0, None) == "down"  # no test: the sign decides beyond 1%
    assert direction_of(-3.0, float("nan")) == "down"
    assert direction_of(float("nan"), 0.01) == "steady"
    assert direction_of(None) == "steady"


def test_change_words():
    assert change_words(-1.2, "steady") == "about the same (down 1%, within normal variation)"
    assert change_words(0.3, "steady") == "about the same"
    assert change_words(23.4, "up") == "up 23%"
    assert change_words(-7.6, "down") == "down 8%"
    assert change_words(float("nan"), "up") == "with nothing to compare against"


def test_peer_rating_from_group_position():
    assert peer_finding("above") == ("red", "rate above the most similar group's usual range")
    assert peer_finding("within")[0] == "amber"
    assert peer_finding("below", subject="ASB rate", group="England")[1] == "ASB rate below England"
    assert peer_finding("unknown") == (None, "")


# -- sources, next update, about box ----------------------------------------------------------

def _raw(catalogue):
    return yaml.safe_load(catalogue.read_text(encoding="utf-8"))


@pytest.mark.parametrize("kind", sorted(DOCUMENT_USES))
def test_sources_are_the_datasets_shared_for_the_documents_use(demo_catalogue, tmp_path, kind):
    """Checked against the catalogue file itself: permitted uses, duplicates listed once."""
    raw = _raw(demo_catalogue)
    use = DOCUMENT_USES[kind]
    expected = [f"{d['title']} ({d['agency']})" for d in raw["datasets"].values()
                if not d.get("duplicate_of")
                and (kind == "data_quality"
                     or use in [u.strip().lower() for u in d.get("sharing", {}).get("permitted_uses", [])])]
    doc = _open(demo_catalogue, tmp_path, document=kind)
    assert document_sources(doc) == expected
    assert expected, f"the demo shares nothing for {kind}"
    if kind == "data_quality":
        copies = [k for k, d in raw["datasets"].items() if d.get("duplicate_of")]
        assert copies and len(expected) == len(raw["datasets"]) - len(copies)


def test_next_update_as_set_or_said_to_be_unset(demo_copy, tmp_path):
    def edit(raw):
        raw["documents"]["strategic_assessment"]["next_update"] = "2027-11"
        raw["documents"]["audit"].pop("next_update", None)
        for d in raw["datasets"].values():
            d["refresh"] = "Annual"

    cat, _ = demo_copy(edit)
    n = len(_raw(cat)["datasets"])
    sa = _open(cat, tmp_path)
    assert next_update(sa) == f"November 2027. The sources are refreshed annually ({n} datasets)."
    audit = _open(cat, tmp_path, document="audit")
    assert next_update(audit).startswith("Not set in the catalogue's settings for this document.")


def test_refresh_summary_counts_each_schedule(demo_catalogue, tmp_path):
    raw = _raw(demo_catalogue)
    monthly = sum(1 for d in raw["datasets"].values() if str(d.get("refresh", "")).lower() == "monthly")
    text = next_update(_open(demo_catalogue, tmp_path))
    assert f"monthly ({monthly} datasets)" in text
    # the most common schedule comes first
    assert text.index("monthly") < text.index("annually")


def test_about_box_holds_every_label_and_escapes_the_catalogue(demo_copy, tmp_path):
    hostile = '<img src=x onerror=alert(1)> & "analyst"'

    def edit(raw):
        raw["partnership"]["contact"] = hostile
        first = next(iter(raw["datasets"]))
        raw["datasets"][first]["title"] = "<script>alert(2)</script>"

    cat, _ = demo_copy(edit)
    box = about_box(_open(cat, tmp_path))._repr_html_()
    assert "<img" not in box and "<script>" not in box
    assert html.escape(hostile, quote=True) in box or html.escape(hostile, quote=False) in box
    text = text_of(box)
    for label in ("Data up to", "Produced", "Next update", "Contact", "Sources"):
        assert label in text
    assert "December 2025 (assessment window January 2023 to December 2025)" in text
    assert "25 November 2026" in text


def test_about_box_says_when_no_contact_or_source(demo_copy, tmp_path):
    def edit(raw):
        raw["partnership"]["contact"] = "  "
        for d in raw["datasets"].values():
            d["sharing"]["permitted_uses"] = ["publication"]

    cat, _ = demo_copy(edit)
    text = text_of(about_box(_open(cat, tmp_path))._repr_html_())
    assert "Not set in the catalogue's partnership settings." in text
    assert "No dataset in the catalogue is shared for this use." in text


# -- links between the documents ----------------------------------------------------------------

def test_planned_documents_expand_problem_profile_topics(demo_catalogue, tmp_path):
    raw = _raw(demo_catalogue)
    topics = raw["documents"]["problem_profile"]["topics"]
    planned = planned_documents(_open(demo_catalogue, tmp_path))
    assert [s for s in planned if s.startswith("problem_profile")] == [f"problem_profile_{t}" for t in topics]
    assert "problem_profile" not in planned
    assert set(planned) - {f"problem_profile_{t}" for t in topics} == set(raw["documents"]) - {"problem_profile"}


def test_nav_links_only_documents_that_exist(demo_catalogue, tmp_path):
    doc = _open(demo_catalogue, tmp_path)
    folder = doc.out_dir
    nav = document_nav(doc)._repr_html_()
    assert re.findall(r'href="([^"]+)"', nav) == ["index.html"]  # nothing published yet

    topic = _raw(demo_catalogue)["documents"]["problem_profile"]["topics"][0]
    for stem in ("audit", f"problem_profile_{topic}", "strategic_assessment", "notes", "index",
                 "evaluation_night_time_economy"):
        (folder / f"{stem}.html").write_text("<html></html>", encoding="utf-8")
    nav = document_nav(doc)._repr_html_()
    hrefs = re.findall(r'href="([^"]+)"', nav)
    assert hrefs[0] == "index.html"
    assert "strategic_assessment.html" not in hrefs  # not itself
    assert "notes.html" not in hrefs  # not a document of the edition
    assert hrefs.count("index.html") == 1
    assert set(hrefs[1:]) == {"audit.html", f"problem_profile_{topic}.html", "evaluation_night_time_economy.html"}
    assert f"Problem profile: {topic.replace('_', ' ')}" in nav
    assert "Evaluation: night time economy" in nav


def test_nav_reads_the_published_folder_when_staging(demo_catalogue, tmp_path):
    published = tmp_path / "published"
    published.mkdir()
    (published / "audit.html").write_text("", encoding="utf-8")
    doc = _open(demo_catalogue, tmp_path, published_dir=published)
    assert 'href="audit.html"' in document_nav(doc)._repr_html_()


# -- the opening as a whole -------------------------------------------------------------------

def test_front_matter_says_when_there_is_no_benchmark(demo_catalogue, tmp_path):
    doc = _open(demo_catalogue, tmp_path)
    plain = front_matter(doc, ["Crime fell.", display.Finding("Violence rose.", "up")])._repr_html_()
    assert html.escape(NO_BENCHMARK, quote=False) in plain or NO_BENCHMARK in text_of(plain)
    rated = [display.Finding("Crime fell.", "down", "green", "rate below the group's usual range")]
    assert NO_BENCHMARK not in text_of(front_matter(doc, rated)._repr_html_())
    told = front_matter(doc, ["Crime fell."], benchmark="Compared with 14 similar partnerships.")._repr_html_()
    assert "Compared with 14 similar partnerships." in told and NO_BENCHMARK not in text_of(told)


def test_front_matter_keeps_at_most_eight_findings_in_order(demo_catalogue, tmp_path):
    doc = _open(demo_catalogue, tmp_path)
    findings = [f"Finding number {i}." for i in range(11)]
    out = front_matter(doc, findings)._repr_html_()
    shown = [int(n) for n in re.findall(r"Finding number (\d+)\.", out)]
    assert shown == list(range(8))
    assert out.index('class="doc-nav"') < out.index("Finding number 0") < out.index('class="about-document"')
