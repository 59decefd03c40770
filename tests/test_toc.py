"""Tests for assessment/reporting/toc.py: the numbered contents list."""

from __future__ import annotations

import html
import re

import pytest

from assessment.reporting.display import MapView
from assessment.reporting.toc import insert_toc

NAV = '<nav id="toc"><h2 class="toc-title">Contents</h2>\n<!-- TOC -->\n</nav>'


def _page(main: str) -> str:
    return f"<html><body>{NAV}<main>{main}</main></body></html>"


def _nav(out: str) -> str:
    return out[out.index("<nav"):out.index("</nav>")]


def _main(out: str) -> str:
    return out[out.index("<main>"):]


def test_ids_are_added_and_listed():
    out = insert_toc(_page("<h2>Key findings</h2><p>x</p><h2 class='x'>Crime &amp; disorder</h2>"))
    main = _main(out)
    assert '<h2 id="key-findings">Key findings</h2>' in main
    assert "<h2 class='x' id=\"crime-disorder\">Crime &amp; disorder</h2>" in main
    nav = _nav(out)
    assert nav.count("<li>") == 2
    assert '<a href="#key-findings">Key findings</a>' in nav
    assert '<a href="#crime-disorder">Crime &amp; disorder</a>' in nav
    # the nav's own heading is not listed
    assert "Contents</a>" not in nav
    # every listed anchor exists in the main content exactly once
    for anchor in re.findall(r'href="#([^"]+)"', nav):
        assert main.count(f'id="{anchor}"') == 1


def test_existing_ids_kept_and_duplicates_deduplicated():
    out = insert_toc(_page('<h2 id="intro">A</h2><h2>Intro</h2><h2>Intro</h2><h2 id="intro">B</h2>'))
    main = _main(out)
    ids = re.findall(r'<h2[^>]*id="([^"]+)"', main)
    assert ids == ["intro", "intro-2", "intro-3", "intro-4"]
    assert len(set(ids)) == len(ids)
    assert re.findall(r'href="#([^"]+)"', _nav(out)) == ids


def test_h3_nested_under_their_h2():
    out = insert_toc(_page("<h2>One</h2><h3>One a</h3><h3>One b</h3><h2>Two</h2><h2>Three</h2><h3>Three a</h3>"))
    nav = _nav(out)
    toc = nav[nav.index("<ol>"):]
    assert toc == ('<ol><li><a href="#one">One</a><ol><li><a href="#one-a">One a</a></li>'
                   '<li><a href="#one-b">One b</a></li></ol></li>'
                   '<li><a href="#two">Two</a></li>'
                   '<li><a href="#three">Three</a><ol><li><a href="#three-a">Three a</a></li></ol></li></ol>\n')


def test_tags_inside_heading_stripped_from_toc_text():
    out = insert_toc(_page("<h2><span>Rates</span> per 1,000</h2>"))
    assert '<a href="#rates-per-1-000">Rates per 1,000</a>' in _nav(out)


def test_headings_inside_iframe_srcdoc_not_picked_up():
    page = "<html><body><h2>Inside map</h2><h3>Also inside</h3></body></html>"
    view = MapView(page, 1, "Map", alt="map")._repr_html_()
    out = insert_toc(_page("<h2>Outside</h2>" + view))
    nav = _nav(out)
    assert "Inside map" not in nav and "Also inside" not in nav
    assert nav.count("<li>") == 1
    srcdoc = re.search(r'srcdoc="([^"]*)"', out).group(1)
    assert html.unescape(srcdoc) == page  # the map page is untouched


def test_no_headings_gives_empty_list():
    out = insert_toc(_page("<p>nothing</p>"))
    assert "<ol></ol>" in _nav(out)


def test_missing_marker_raises_value_error():
    with pytest.raises(ValueError, match="marker"):
        insert_toc("<html><nav></nav><main><h2>x</h2></main></html>")


def test_custom_marker():
    out = insert_toc("<nav>@@</nav><main><h2>A</h2></main>", marker="@@")
    assert out == '<nav><ol><li><a href="#a">A</a></li></ol></nav><main><h2 id="a">A</h2></main>'
