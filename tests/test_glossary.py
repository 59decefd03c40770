"""Tests for assessment/reporting/glossary.py: which plain-word entries a text needs, the visible
text of a page, and the glossary section that ends every document.

The rendered documents' glossaries are checked against their own text in test_findings.py.
"""

from __future__ import annotations

import re

import pytest

from assessment.reporting.document import open_document
from assessment.reporting.glossary import TERMS, Term, glossary, glossary_terms, section_glossary, text_of


def test_glossary_finds_only_the_terms_used():
    text = "439 hot cells (Getis-Ord Gi*, FDR-corrected); counts vary (quasi-Poisson); Spearman rho = 0.7."
    found = [t.term for t in glossary_terms(text)]
    assert "Getis-Ord Gi*" in found and "False discovery rate (FDR)" in found
    assert "Quasi-Poisson model" in found and "Spearman's rank correlation (rho)" in found
    assert "Poisson model" not in found  # only quasi-Poisson is named
    assert "Knox test" not in found and "Jaccard index" not in found
    assert glossary_terms("Crime fell in the town centre.") == []


def test_every_glossary_term_is_found_by_its_own_name():
    """Each entry's pattern matches the term as the glossary names it (or its bracketed short form)."""
    for t in TERMS:
        names = [t.term] + re.findall(r"\(([^)]+)\)", t.term)
        assert any(re.search(t.pattern, n) for n in names), t.term


def test_terms_are_alphabetical_unique_and_defined():
    names = [t.term for t in TERMS]
    assert names == sorted(names, key=str.casefold)
    assert len(set(names)) == len(names)
    for t in TERMS:
        re.compile(t.pattern)
        assert t.definition.endswith(".") and len(t.definition) > 40, t.term


def test_found_terms_keep_glossary_order_whatever_the_text_order():
    text = "A Knox test, then Getis-Ord Gi*, then a confidence interval."
    found = [t.term for t in glossary_terms(text)]
    assert found == ["Confidence interval", "Getis-Ord Gi*", "Knox test"]


def test_word_boundaries_keep_false_friends_out():
    # 'ITS' and 'SD' are short forms; inside other words they are not the terms
    assert glossary_terms("Its units and SDs in KITSCH BITS") == []
    assert [t.term for t in glossary_terms("an ITS design, SD 2.1")] == ["Interrupted time series",
                                                                         "Standard deviation"]


def test_text_of_drops_markup_scripts_styles_and_an_earlier_glossary():
    page = ('<style>.Knox{}</style><p>Hot cells (<b>Gi*</b>) &amp; rates</p><script>var Jaccard = 1;</script>'
            '<iframe srcdoc="&lt;p&gt;Near repeat&lt;/p&gt;"></iframe>'
            '<section class="glossary" aria-labelledby="glossary"><dt>Quarantine</dt></section>')
    text = text_of(page)
    assert "Gi*" in text and "& rates" in text
    for hidden in ("Knox", "Jaccard", "Near repeat", "Quarantine"):
        assert hidden not in text
    with pytest.raises(TypeError, match="page"):
        text_of(b"<p>bytes</p>")
    with pytest.raises(TypeError, match="text"):
        glossary_terms(None)


def test_glossary_section_is_a_definition_list_with_escaped_text():
    out = glossary(glossary_terms("Gi* and FDR"))._repr_html_()
    assert out.startswith('<section class="glossary"') and '<h2 id="glossary">Glossary</h2>' in out
    assert re.findall(r"<dt>(.*?)</dt>", out) == ["False discovery rate (FDR)", "Getis-Ord Gi*"]
    hostile = Term("<b>x</b>", "x", 'Says "<script>alert(1)</script>".')
    out = glossary([hostile])._repr_html_()
    assert "<script>" not in out and "<b>x</b>" not in out and "&lt;b&gt;x&lt;/b&gt;" in out
    assert "no technical terms" in glossary([])._repr_html_()


def test_section_glossary_lists_the_terms_the_document_showed(demo_catalogue, tmp_path):
    doc = open_document(demo_catalogue, out_dir=tmp_path / "out", run_date="2026-11-25")
    assert "no technical terms" in section_glossary(doc)._repr_html_()
    doc._shown.append("Counts were over-dispersed, so a negative binomial model was fitted.")
    out = section_glossary(doc)._repr_html_()
    assert re.findall(r"<dt>(.*?)</dt>", out) == ["Negative binomial model (NB2)", "Over-dispersion"]
