"""Deprivation section and the denominator warning, on the demo partnership."""

from __future__ import annotations

import pytest

from assessment.reporting import deprivation as D
from assessment.reporting import evidence as ev


@pytest.fixture(scope="module")
def sa_doc(demo_document):
    return demo_document("strategic_assessment")


def test_rates_by_decile_conserve_the_placed_crimes(sa_doc):
    table = D.deprivation_rates(sa_doc)
    police = ev.evidence_police(sa_doc)
    months = ev.last_year(sa_doc)
    placed = police[police["month"].isin(months) & (police["category"] != ev.ASB) & police["small_area_code"].notna()]
    assert int(table["count"].sum()) == len(placed)
    sa = sa_doc.workbench.small_areas
    assert table["population"].sum() == pytest.approx(float(sa["population"].sum()))
    # independent recount of one decile straight from the small areas
    d = int(table["decile"].iloc[0])
    codes = set(sa.loc[sa["imd_decile"] == d, "code"].astype(str))
    assert int(table["count"].iloc[0]) == int(placed["small_area_code"].astype(str).isin(codes).sum())
    assert table["share_of_events"].sum() == pytest.approx(1.0)
    assert (table["ci_low"] <= table["rate"]).all() and (table["rate"] <= table["ci_high"]).all()


def test_section_renders_table_map_and_no_warning_on_demo(sa_doc):
    html = D.section_deprivation(sa_doc)._repr_html_()
    assert "by national deprivation decile" in html and "map-frame" in html
    assert D.denominator_warning(sa_doc) is None
    assert "Read rates per resident with care" not in html
    # the map's legend names deciles, never class breaks such as "1.0 to 2.8"
    import html as htmlmod
    import re

    page = htmlmod.unescape(re.search(r'srcdoc="([^"]*)"', html).group(1))
    legend = re.findall(r'margin-right:6px"></span>([^<]*)</div>', page)
    assert legend and all(re.fullmatch(r"deciles? \d+( and \d+)?|suppressed or no data", lbl) for lbl in legend)


def test_denominator_warning_when_residents_are_few(demo_document):
    doc = demo_document("strategic_assessment")
    _ = doc.workbench  # built (or loaded) before the setting changes, so the cached workbench is reused
    doc.catalogue.geographies["small_areas"].population.warn_above_per_1000 = 10
    text = D.denominator_warning(doc)
    assert text is not None and "Read rates per resident with care" in text
    residents = float(doc.workbench.small_areas["population"].sum())
    assert f"{residents:,.0f} residents" in text


def test_no_deprivation_declared_says_so(demo_document):
    doc = demo_document("strategic_assessment")
    _ = doc.workbench
    doc.catalogue.geographies["small_areas"].deprivation = None
    html = D.section_deprivation(doc)._repr_html_()
    assert "No deprivation figures were supplied" in html
    assert D.deprivation_rates(doc).empty
