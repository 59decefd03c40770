"""The strategic assessment on the generated demo, checked against independent computations."""

from __future__ import annotations

import glob
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import yaml
from pyproj import Transformer

from assessment.documents import strategic_assessment as strategic
from assessment.reporting import evidence
from assessment.reporting.display import Section


@pytest.fixture(scope="module")
def doc(demo_document):
    return demo_document("strategic_assessment")


def _raw_street(catalogue: Path) -> pd.DataFrame:
    """Every street-level row as downloaded, read with plain pandas."""
    raw = yaml.safe_load(catalogue.read_text())
    files = sorted(glob.glob(str(catalogue.parent / raw["data_root"] / "police/*/*-riverton-street.csv")))
    return pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files], ignore_index=True)


def test_ward_month_counts_match_an_independent_recount(doc, demo_catalogue):
    """Counts by ward and month in tables/ agree exactly with plain pandas plus a spatial join."""
    strategic.section_appendix(doc)
    written = [p for p in (doc.out_dir / "tables").glob("strategic_assessment-*-police-recorded-crime-and-asb-by-ward-and-month*.csv")]
    assert len(written) == 1
    table = pd.read_csv(written[0], dtype={"ward code": str, "month": str}).rename(
        columns={"ward code": "ward_code", "crimes and ASB": "count"})

    raw = _raw_street(demo_catalogue)
    rows_in = len(raw)
    # The package's documented rule: a row with a Crime ID that repeats another row exactly is a
    # double submission (quarantined); identical ASB rows without an id are separate incidents.
    with_id = raw["Crime ID"] != ""
    raw = raw[~(with_id & raw.duplicated(keep="first"))]
    assert int(table["count"].sum()) == len(raw)
    assert rows_in - len(raw) > 0  # the demo plants exact duplicates; they are accounted for, not lost

    has = (raw["Longitude"] != "") & (raw["Latitude"] != "")
    no_coords = raw[~has].groupby("Month").size()
    got_nc = table[table["ward_code"] == "(no coordinates)"].set_index("month")["count"]
    pd.testing.assert_series_equal(got_nc.sort_index(), no_coords.sort_index(), check_names=False, check_dtype=False)
    assert no_coords.sum() > 0  # rows without coordinates are counted and reported

    located = raw[has].copy()
    tf = Transformer.from_crs(4326, 27700, always_xy=True)
    x, y = tf.transform(located["Longitude"].astype(float).to_numpy(), located["Latitude"].astype(float).to_numpy())
    pts = gpd.GeoDataFrame(located[["Month"]], geometry=gpd.points_from_xy(x, y), crs=27700)
    root = demo_catalogue.parent / "raw" / "geography"
    parts = []
    for path, before in ((root / "wards_2019.geojson", True), (root / "wards_2024.geojson", False)):
        wards = gpd.read_file(path).to_crs(27700)
        sel = pts[(pts["Month"] < "2024-05") == before]
        joined = gpd.sjoin(sel, wards[["ward_code", "geometry"]], how="left", predicate="within")
        joined = joined[~joined.index.duplicated(keep="first")]
        parts.append(joined[["Month", "ward_code"]])
    recount = pd.concat(parts)
    recount["ward_code"] = recount["ward_code"].fillna("(outside the partnership)")
    expected = recount.groupby(["Month", "ward_code"]).size().rename("expected")
    got = table[table["ward_code"] != "(no coordinates)"].set_index(["month", "ward_code"])["count"]
    both = pd.concat([expected, got.rename("got")], axis=1).fillna(0)
    assert (both["expected"] == both["got"]).all(), both[both["expected"] != both["got"]].head()


def test_every_section_renders_html(doc):
    for name in ("section_summary", "section_profile", "section_data_sources", "section_trends",
                 "section_multi_agency", "section_places", "section_comparison", "section_progress",
                 "section_horizon", "section_priorities", "section_gaps"):
        sec = getattr(strategic, name)(doc)
        assert isinstance(sec, Section)
        html = sec._repr_html_()
        assert html.startswith("<section>") and "<h2" in html


def test_summary_recommends_planted_violence_and_emerging_burglary(doc):
    rec = evidence.evidence_recommended(doc)
    issues = set(rec["issue"])
    assert "Violence and sexual offences" in issues
    assert "Burglary" in issues
    burglary = rec[rec["issue"] == "Burglary"].iloc[0]
    assert "emerging hotspot" in burglary["evidence"]
    html = strategic.section_summary(doc)._repr_html_()
    assert "Burglary" in html and "Violence and sexual offences" in html


def test_category_trends_volumes_are_plain_counts(doc):
    tr = evidence.evidence_category_trends(doc).set_index("category")
    police = evidence.evidence_police(doc)
    last = doc.catalogue.partnership.window.months[-12:]
    plain = police[police["month"].isin(last)].groupby("category").size()
    assert (tr["last_12"] == plain.reindex(tr.index).fillna(0).astype(int)).all()
    for col in ("yoy_p", "trend_p"):
        assert tr[col].between(0, 1).all()


def test_ward_rates_use_current_wards_and_conserve_population(doc):
    wr = evidence.evidence_ward_rates(doc)
    wb = doc.workbench
    assert set(wr["code"]) == set(wb.wards["code"])
    assert np.isclose(wr["population"].sum(), wb.small_areas["population"].sum(), rtol=1e-6)
    assert (wr["ci_low"] <= wr["rate"]).all() and (wr["rate"] <= wr["ci_high"]).all()


def test_progress_flags_vague_targets(doc, demo_catalogue):
    raw = yaml.safe_load((demo_catalogue.parent / "raw" / "strategy" / "previous_strategy.yaml").read_text())
    vague = [t["id"] for t in raw["targets"] if not t.get("metric")]
    html = strategic.section_progress(doc)._repr_html_()
    for tid in vague:
        assert tid in html


def test_forecast_starts_after_the_data_and_names_its_months(doc):
    """The forecast covers the months after the last month of data, named, and says which had passed."""
    import re

    from assessment.reporting.display import TableView

    sec = strategic.section_trends(doc)
    table = [p for p in sec.parts if isinstance(p, TableView) and p.caption.startswith("Forecast of all crime")]
    assert len(table) == 1
    months = table[0].frame["month"].astype(str).tolist()
    last_data = doc.workbench.window[-1]
    expected = pd.period_range(pd.Period(last_data, freq="M") + 1, periods=len(months), freq="M").strftime("%Y-%m")
    assert months == list(expected)
    first = pd.Period(months[0], freq="M").strftime("%B %Y")
    assert first in table[0].caption and "next 12 months" not in table[0].caption
    text = re.sub(r"<[^>]+>", " ", sec._repr_html_())
    passed = sum(pd.Period(m, freq="M") < pd.Period(doc.run_date, freq="M") for m in months)
    said = f"All {passed} months of it had passed" if passed == len(months) else f"{passed} of its months had passed"
    assert (said in text) == bool(passed)


def test_horizon_items_are_dated_against_the_production_date():
    import datetime as dt

    items = [("economic", "Safer Streets funding for the town centre ends in March 2026."),
             ("social", "A new hall opens in September 2027."),
             ("legal", {"text": "The new duty comes into force", "date": "2026-04"}),
             ("political", "Nothing dated here.")]
    got = strategic.horizon_items(items, dt.date(2026, 11, 25))
    assert got["item"].tolist() == ["Safer Streets funding for the town centre ended in March 2026.",
                                    "A new hall opens in September 2027.", "The new duty came into force",
                                    "Nothing dated here."]
    assert got["when"].tolist() == ["March 2026, passed", "September 2027, ahead", "April 2026, passed",
                                    "no date given"]
    # an item dated in the production month has not passed
    assert strategic.horizon_items([("x", "It ends in November 2026.")], dt.date(2026, 11, 25))["when"].iat[0] \
        == "November 2026, ahead"


def test_key_findings_name_the_window_and_decide_trends_on_adjusted_p(doc):
    """The trend findings say which months they cover (not a fixed 'three years') and name a crime type as
    rising or falling only where its FDR-adjusted p-value is below 0.05, as the crime-type table does."""
    months = doc.catalogue.partnership.window.months
    span = (f"the {len(months)} months from {evidence.month_words(months[0])} to "
            f"{evidence.month_words(months[-1])}")
    texts = [f.text if hasattr(f, "text") else str(f) for f in strategic._key_findings(doc)]
    trend_texts = [t for t in texts if "time of year" in t or "are falling" in t]
    assert trend_texts and all(span in t for t in trend_texts)
    assert not any("three years" in t for t in texts)
    tr = evidence.evidence_category_trends(doc)
    crime = tr[tr["category"] != evidence.ASB]
    named = " ".join(trend_texts)
    for cat, q, pct in zip(crime["category"], crime["trend_q"], crime["trend_pct"]):
        if f"{cat} (about" in named:
            assert q < 0.05, (cat, q)
    rising = crime[(crime["trend_q"] < 0.05) & (crime["trend_pct"] > 0)]
    for cat in rising.sort_values("trend_pct", ascending=False)["category"].head(3):
        assert f"{cat} (about" in named


def test_key_findings_decide_trends_with_the_calibrated_family_verdict(doc, monkeypatch):
    """The key findings name what wording.verdict_trend_family decides (the function
    assessment.calibration.key_findings measures), over every type in the table."""
    from assessment.analysis import wording

    seen, decide = [], wording.verdict_trend_family

    def everything_falls(trends, alpha=0.05):
        seen.append(len(trends))
        return decide(trends, alpha).where(lambda v: v == "not tested", "falling")

    monkeypatch.setattr(strategic.wording, "verdict_trend_family", everything_falls)
    texts = [f.text if hasattr(f, "text") else str(f) for f in strategic._key_findings(doc)]
    tr = evidence.evidence_category_trends(doc)
    assert seen == [len(tr)]  # anti-social behaviour is in the family
    crime = tr[tr["category"] != evidence.ASB].sort_values("trend_pct")
    falling = [t for t in texts if "these crime types are falling" in t]
    assert len(falling) == 1 and all(f"{c} (about" in falling[0] for c in crime["category"].head(3))
    assert any(t.startswith("No crime type shows a clear rise") for t in texts)
