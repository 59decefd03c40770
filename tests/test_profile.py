"""Problem profile document: sections on the generated demo, checked against independent computations."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from assessment.disclosure import check_published, find_small_counts
from assessment.reporting import profile
from assessment.reporting.display import Section, TableView

SECTIONS = ["section_terms_of_reference", "section_scanning", "section_triangle", "section_time", "section_places",
            "section_partner_data", "section_gaps", "section_recommendations", "section_appendix"]


def _run(doc) -> dict[str, Section]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {name: getattr(profile, name)(doc) for name in SECTIONS}


def _text(sec: Section) -> str:
    html = re.sub(r'srcdoc="[^"]*"', "", sec._repr_html_())
    html = re.sub(r"data:image/png;base64,[^\"]*", "", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#x27;", "'")


def _tables(sec: Section) -> list[TableView]:
    return [p for p in sec.parts if isinstance(p, TableView)]


@pytest.fixture(scope="module")
def violence(demo_document):
    doc = demo_document("problem_profile", topic="violence", output_name="problem_profile_violence")
    return doc, _run(doc)


@pytest.fixture(scope="module")
def burglary(demo_document):
    doc = demo_document("problem_profile", topic="burglary", output_name="problem_profile_burglary")
    return doc, _run(doc)


def test_every_section_returns_a_section(violence, burglary):
    for _, secs in (violence, burglary):
        assert list(secs) == SECTIONS
        for name, sec in secs.items():
            assert isinstance(sec, Section), name
            assert sec.parts, f"{name} is empty"


def test_two_topics_give_two_distinct_documents(violence, burglary):
    (dv, sv), (db, sb) = violence, burglary
    assert dv.title != db.title and "Violence" in dv.title and "Burglary" in db.title
    for name in ("section_scanning", "section_places", "section_recommendations"):
        assert _text(sv[name]) != _text(sb[name])
    assert profile.topic_spec(dv)["crime_types"] == ["Violence and sexual offences"]
    assert profile.topic_spec(db)["crime_types"] == ["Burglary"]


def test_scanning_volume_and_change_equal_plain_counts(violence, burglary):
    for doc, secs, cat in ((*violence, "Violence and sexual offences"), (*burglary, "Burglary")):
        ev = doc.workbench.events
        window = doc.workbench.window
        sel = ev[(ev["dataset"] == "police_street") & (ev["category"] == cat) & ev["month"].isin(window)]
        text = _text(secs["section_scanning"])
        assert f"recorded {len(sel):,} " in text
        last = sel["month"].isin(window[-12:]).sum()
        prev = sel["month"].isin(window[-24:-12]).sum()
        assert f"there were {last:,}, against {prev:,}" in text


def test_ward_rate_table_counts_are_the_points_in_each_current_ward(burglary):
    doc, secs = burglary
    ev = doc.workbench.dataset_events("police_street")
    sel = ev[(ev["category"] == "Burglary") & ev["month"].isin(doc.workbench.window[-12:])]
    expected = sel.groupby("ward_code").size()
    table = next(t for t in _tables(secs["section_scanning"]) if "by ward" in t.caption).frame
    got = table.set_index("ward code")["crimes"]
    assert got.sum() == expected.reindex(got.index).fillna(0).sum()
    assert (got == expected.reindex(got.index).fillna(0).astype(int)).all()
    wards = doc.workbench.wards.set_index("code")["population"]
    rate = 1000 * got / wards.reindex(got.index)
    assert np.allclose(table.set_index("ward code")["per 1,000"], rate)


def test_burglary_finds_the_emerging_cluster(burglary):
    doc, secs = burglary
    em = profile.profile_emerging(doc)
    assert len(em) > 0
    c = em.geometry.centroid
    dist = np.hypot(c.x - 443000, c.y - 287000)
    assert dist.min() < 400 and dist.max() < 1000
    # the cells' counts by year are those of the police points inside them (independent spatial join)
    ev = doc.workbench.dataset_events("police_street")
    b = ev[(ev["category"] == "Burglary") & ev["easting"].notna()]
    import geopandas as gpd

    pts = gpd.GeoDataFrame(b, geometry=gpd.points_from_xy(b["easting"], b["northing"]), crs=27700)
    inside = gpd.sjoin(pts[["month", "geometry"]], em[["geometry"]], predicate="within")
    inside = inside[~inside.index.duplicated()]
    assert int(inside["month"].str.startswith("2025").sum()) == int(em["count_2025"].sum())
    assert int(em["count_2025"].sum()) >= 2 * int(em["count_2023"].sum())
    places = _text(secs["section_places"])
    assert "Emerging hotspot:" in places
    rec = _text(secs["section_recommendations"])
    assert "Target-harden about" in rec and "burglary is emerging" in rec


def test_violence_has_no_emerging_burglary_and_uses_partner_time_data(violence):
    doc, secs = violence
    spec = profile.topic_spec(doc)
    assert set(spec["partner_events"]) == {"ambulance_assaults"}
    assert set(spec["partner_counts"]) == {"ed_assaults"}
    assert spec["premises"] == ["licensed_premises"]
    time_text = _text(secs["section_time"])
    assert "Ambulance assault call-outs" in time_text and "Emergency department" in time_text


def test_ed_time_profile_is_aggregated_and_totals_match_the_raw_table(violence):
    doc, secs = violence
    raw = doc.workbench.intake.tables["ed_assaults_time"]
    total = int(pd.to_numeric(raw["attendances"]).sum())
    t = next(t for t in _tables(secs["section_time"]) if "attendances by day of week" in t.caption)
    assert t.sensitivity == "sensitive"
    frame = t.frame.set_index("day")
    assert int(str(frame.loc["Total", "Total"]).replace(",", "")) == total
    # no single ED record row (day x band x method x location) reaches the document
    assert "assault_method" not in t.frame.columns
    check_published(t.frame, [c for c in t.frame.columns if c != "day"], doc.threshold, "sensitive")


def test_no_small_sensitive_count_in_any_table_written(violence, burglary):
    for doc, secs in (violence, burglary):
        checked = 0
        for sec in secs.values():
            for t in _tables(sec):
                if t.sensitivity == "public":
                    continue
                text = (doc.tables_dir / t.csv_name).read_text(encoding="utf-8")
                found = find_small_counts(text, doc.threshold, fmt="csv")
                assert found.empty, (t.caption, found.head())
                checked += 1
            html_found = find_small_counts(sec._repr_html_(), doc.threshold, only_marked=True)
            assert html_found.empty, (sec.title, html_found.head())
        if doc.params["topic"] == "violence":
            assert checked >= 4  # ambulance and ED time profiles, partner counts, Knox on ambulance


def test_every_table_written_under_the_document_name(violence):
    doc, _ = violence
    names = {n for n, _, _ in doc.tables}
    assert names and all(n.startswith("problem_profile_violence-") for n in names)
    assert all((doc.tables_dir / n).is_file() for n in names)
    assert (doc.tables_dir / "problem_profile_violence.xlsx").is_file()


def test_refused_datasets_are_not_used_and_are_named(violence):
    doc, secs = violence
    spec = profile.topic_spec(doc)
    # the demo's agreements permit the nominals for evaluation only and the peer group for SA and audit
    assert set(spec["refused"]) == {"violence_nominals", "peer_group"}
    assert spec["persons"] is None and spec["peer_column"] is None
    assert "RIV-ISA-2024-03" in _text(secs["section_triangle"])
    assert "RIV-ISA-2024-03" in _text(secs["section_gaps"])


def test_permitted_nominals_and_peers_are_used(demo_document, monkeypatch):
    doc = demo_document("problem_profile", topic="violence", output_name="pp_permitted")
    monkeypatch.setattr(profile, "_permission", lambda d, key: (key in d.catalogue.datasets, ""))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scan = _text(profile.section_scanning(doc))
        tri = _text(profile.section_triangle(doc))
    peers = doc.workbench.intake.tables["peer_group"]
    mine = peers.loc[peers["csp_code"].astype(str) == doc.catalogue.partnership.code,
                     "violence_and_sexual_offences"].astype(float).iloc[0]
    assert f"rate of {mine:.1f} per 1,000" in scan
    persons = doc.workbench.intake.persons
    rv = profile.profile_repeat_persons(persons, "victim", doc.workbench.window[-12:])
    assert f"Of {int(rv['people']):,} people recorded as victims" in tri
    assert f"{rv['share_people']:.0%} were victimised again" in tri


def test_repeat_persons_by_hand():
    d = pd.to_datetime
    persons = pd.DataFrame({
        "person_id": ["a", "a", "a", "b", "b", "c", "d"],
        "role": ["victim", "victim", "offender", "victim", "victim", "victim", "victim"],
        "crime_ref": ["1", "2", "3", "4", "5", "6", "7"],
        "date": d(["2024-06-01", "2025-03-01", "2025-04-01", "2023-01-01", "2025-02-01", "2025-05-01", "2025-07-01"]),
    })
    persons["month"] = persons["date"].dt.strftime("%Y-%m")
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    r = profile.profile_repeat_persons(persons, "victim", months)
    # in 2025: a (repeat: 273 days after 2024-06-01), b (gap over 365 days: not a repeat), c, d
    assert r["people"] == 4 and r["repeat_people"] == 1 and r["share_people"] == pytest.approx(0.25)
    assert r["records"] == 4 and r["repeat_records"] == 1


def test_topic_table_maps_to_the_catalogue(demo_document):
    doc = demo_document("problem_profile", topic="asb", output_name="pp_asb")
    spec = profile.topic_spec(doc)
    assert spec["crime_types"] == ["Anti-social behaviour"]
    assert "council_reports" in spec["partner_events"]
    assert "council_reports_csv" not in spec["partner_events"]  # permitted for data quality only
    doc = demo_document("problem_profile", topic="criminal_damage", output_name="pp_cd")
    spec = profile.topic_spec(doc)
    assert spec["crime_types"] == ["Criminal damage and arson"]
    assert set(spec["partner_events"]["fire_deliberate"]) == {"Primary deliberate fire", "Secondary deliberate fire"}
    assert spec["partner_events"]["council_reports"] == ["Graffiti"]
    for topic in profile.TOPICS:
        d = demo_document("problem_profile", topic=topic, output_name=f"pp_{topic}")
        assert profile.topic_spec(d)["crime_types"], topic


def test_unknown_topic_raises_listing_the_known_ones(demo_document):
    doc = demo_document("problem_profile", topic="knitting", output_name="pp_knitting")
    with pytest.raises(ValueError, match="burglary.*violence|violence.*burglary"):
        profile.section_terms_of_reference(doc)
    with pytest.raises(ValueError, match="knitting"):
        profile.topic_spec(doc)


def test_module_reexports_open_document():
    from assessment.reporting.document import open_document

    assert profile.open_document is open_document
