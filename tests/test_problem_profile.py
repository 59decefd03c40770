"""Problem profile document: sections on the generated demo, checked against independent computations."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from assessment.disclosure import check_published, find_small_counts
from assessment.documents import problem_profile as profile
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
    assert np.allclose(table.set_index("ward code")["per 1,000"], rate, atol=0.05)  # the table shows 1 decimal


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


# --------------------------------------------------------------------------- partner-review fixes
def _bh_by_hand(p) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values, step-up, written out (independent of statsmodels)."""
    p = np.asarray(p, dtype=float)
    m = len(p)
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1.0)
    out = np.empty(m)
    out[order] = adj
    return out


def test_knox_adjusted_by_hand():
    k = pd.DataFrame({"p_value": [0.01, 0.04, 0.03, 0.2], "knox_ratio": [1.3, 1.1, 0.9, 1.0]})
    got = profile.profile_knox_adjusted(k)
    # sorted 0.01, 0.03, 0.04, 0.2 -> 0.04, 0.06, 0.0533, 0.2 -> step-up minimum: 0.04, 0.0533, 0.0533, 0.2
    assert got["p_adjusted"].to_numpy() == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.2])
    assert got["near_repeat"].tolist() == [True, False, False, False]  # 0.03 band: adjusted 0.053, and ratio < 1
    assert (got["p_adjusted"] >= got["p_value"]).all()
    # one band at p = 0.04 among nine (the reviewed defect) is chance level
    nine = pd.DataFrame({"p_value": [0.04] + [0.5] * 8, "knox_ratio": [1.08] + [1.0] * 8})
    assert not profile.profile_knox_adjusted(nine)["near_repeat"].any()


def test_near_repeat_action_only_on_adjusted_p(violence, burglary):
    for doc, secs in (violence, burglary):
        places, rec = _text(secs["section_places"]), _text(secs["section_recommendations"])
        knox = [t for t in _tables(secs["section_places"]) if t.caption.startswith("Knox")]
        assert knox
        for t in knox:
            f = t.frame
            assert "Total" not in f.iloc[:, 0].astype(str).tolist()  # pairs of events are not added up
            adj = _bh_by_hand(f["p (99 permutations)"].astype(float))
            assert np.allclose(f["p (FDR-adjusted)"].astype(float), adj, atol=5e-4)  # shown to 3 decimals
            sig = (adj < 0.05) & (f["Knox ratio"].astype(float) > 1).to_numpy()
            police = "Police recorded crime" in t.caption
            if police:
                assert t.sensitivity == "public"
                assert ("extend prevention advice to nearby addresses" in rec) == bool(sig.any())
            if not sig.any():
                assert "not distinguishable from chance" in places
                who = "police data" if police else t.caption.split(": ", 1)[1].rsplit(" (", 1)[0]
                assert f"No near-repeat action is recommended from {who}" in rec
    # the demo's violence: police raw p <= 0.05 in one band of nine, not significant once corrected
    _, sv = violence
    assert "extend prevention advice to nearby addresses" not in _text(sv["section_recommendations"])


def test_hotspots_are_counted_as_clusters_and_named_like_the_strategic_assessment(violence, burglary):
    import geopandas as gpd
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from assessment.reporting import evidence

    for doc, secs in (violence, burglary):
        hot_all = profile._hot(doc)
        hot = hot_all[hot_all["hotspot"] == "hot"].reset_index(drop=True)
        # independent grouping: cells that touch (edge or corner) by geometry, then graph components
        pairs = gpd.sjoin(hot[["geometry"]], hot[["geometry"]], predicate="intersects")
        graph = coo_matrix((np.ones(len(pairs)), (pairs.index.to_numpy(), pairs["index_right"].to_numpy())),
                           shape=(len(hot), len(hot)))
        n, label = connected_components(graph, directed=False)
        events = pd.Series(hot["count"].to_numpy()).groupby(label).sum()
        top = events.idxmax()
        top_cells = hot[label == top]
        place = evidence.nearest_street(doc, top_cells, profile.topic_spec(doc)["crime_types"])
        places, rec = _text(secs["section_places"]), _text(secs["section_recommendations"])
        if len(top_cells) / len(hot_all) > doc.catalogue.hotspot_widespread_share:  # an area-wide problem
            assert (f"form {n:,} separate hotspots; the largest is widespread ({len(top_cells):,} grid cells, "
                    f"{len(top_cells) / len(hot_all):.0%} of the partnership's area") in places
            assert "Treat" in rec and "as an area-wide problem: its largest hotspot is widespread" in rec
            assert "largest, which covers" not in rec  # not sent to patrol it as one place
        else:
            assert f"form {n:,} separate hotspots; the largest covers {len(top_cells):,} grid cells near {place}" in places
            assert f"largest, which covers {len(top_cells):,} grid cells near {place}" in rec
        assert "hotspot cells around" not in rec
        for generic in ("Nightclub", "Supermarket"):
            assert f"near {generic}" not in places + rec


def test_partner_count_table_has_no_total_and_numbers_as_numbers(violence):
    doc, secs = violence
    t = next(t for t in _tables(secs["section_partner_data"]) if "each agency's count" in t.caption)
    assert "Total" not in t.frame["source"].astype(str).tolist()
    assert "Total" not in t.frame.columns
    counts = t.frame.iloc[:, -2:]
    assert all(isinstance(v, int) or v == "[c]" for v in counts.to_numpy().ravel())
    window = doc.workbench.window
    ev = doc.workbench.events
    n = int(((ev["dataset"] == "police_street") & (ev["category"] == "Violence and sexual offences")
             & ev["month"].isin(window)).sum())
    assert f"{n:,}" in t._repr_html_() and n >= 1000


def test_no_internal_keys_or_list_reprs_in_the_text(violence, burglary):
    for doc, secs in (violence, burglary):
        keys = [k for k in doc.catalogue.datasets if "_" in k]
        for name, sec in secs.items():
            text = _text(sec)
            assert "['" not in text and "permits only" not in text, name
            assert "(istv)" not in text, name
            for k in keys:
                assert k not in text, (name, k)
    doc, secs = violence
    nominals = doc.catalogue.datasets["violence_nominals"]
    sentence = (f"may not be used for problem profiles: agreement {nominals.sharing.agreement} permits "
                f"{' and '.join(nominals.sharing.permitted_uses)} only.")
    for name in ("section_terms_of_reference", "section_triangle", "section_gaps"):
        assert sentence in _text(secs[name]), name
    assert "permits strategic assessment and audit only" in _text(secs["section_scanning"])
    co = _text(secs["section_partner_data"])
    assert "co-located hotspots" in co and doc.catalogue.datasets["ambulance_assaults"].title in co


def test_emerging_definition_matches_the_strategic_assessment(demo_document, burglary):
    from assessment.documents import strategic_assessment as strategic

    _, secs = burglary
    sdoc = demo_document("strategic_assessment", output_name="sa_for_profile")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sa = strategic.section_appendix(sdoc)
    want = next(t for t in _tables(sa) if t.caption == "Definitions").frame.set_index("term").loc["Emerging hotspot", "meaning"]
    got = next(t for t in _tables(secs["section_appendix"]) if t.caption == "Definitions").frame.set_index("term")
    assert got.loc["Emerging hotspot", "meaning"] == want
    text = _text(secs["section_places"])
    assert "significantly busier than in any earlier year (a test of the neighbourhood's share of all events" in text
    # the table's notes say how much the neighbourhood totals varied, and that the test allowed for it
    assert re.search(r"neighbourhood totals varied from year to year (\d+\.\d times as much as chance alone|no more "
                     r"than chance alone)", text)


def test_burglary_emerging_table_names_places_and_map_is_zoomed(burglary):
    import geopandas as gpd
    from shapely.geometry import box

    doc, secs = burglary
    em = profile.profile_emerging(doc)
    last = sorted(c for c in em.columns if c.startswith("count_"))[-1]
    t = next(t for t in _tables(secs["section_places"]) if "emerging hotspots by year" in t.caption)
    assert not {"cell", "easting", "northing"} & set(t.frame.columns)
    assert set(t.frame["ward"]) <= set(doc.workbench.wards["name"].astype(str))
    assert t.frame["near (street)"].str.len().gt(0).all()
    assert int(t.frame[f"crimes {last[6:]}"].sum()) == int(em[last].sum())
    empty = int(em[last].eq(0).sum())
    assert int(t.frame[f"cells with no crimes in {last[6:]}"].sum()) == empty
    places = _text(secs["section_places"])
    if empty:
        assert "part of an emerging cluster" in places
    # the emerging map is fitted to the emerging cells (plus about 1.5 km), not the whole partnership
    page = next(p.page for p in secs["section_places"].parts if type(p).__name__ == "MapView"
                and "emerging" in p.caption.lower())
    (lat0, lon0), (lat1, lon1) = [tuple(map(float, c)) for c in
                                  re.findall(r"\[(-?[\d.]+), (-?[\d.]+)\]", re.search(r"fitBounds\(\s*(\[\[.*?\]\])", page, re.S).group(1))]
    fitted = gpd.GeoSeries([box(lon0, lat0, lon1, lat1)], crs=4326).to_crs(27700).total_bounds
    x0, y0, x1, y1 = em.total_bounds
    assert fitted[0] <= x0 and fitted[1] <= y0 and fitted[2] >= x1 and fitted[3] >= y1
    assert fitted[2] - fitted[0] < (x1 - x0) + 2 * 1500 + 100
    assert fitted[3] - fitted[1] < (y1 - y0) + 2 * 1500 + 100


def test_partnership_rate_says_it_counts_crimes_with_a_map_point(violence, burglary):
    for doc, secs, cat in ((*violence, "Violence and sexual offences"), (*burglary, "Burglary")):
        ev = doc.workbench.dataset_events("police_street")
        sel = ev[(ev["category"] == cat) & ev["month"].isin(doc.workbench.window[-12:])]
        mapped = int(sel["ward_code"].isin(doc.workbench.wards["code"]).sum())
        assert sel["easting"].isna().any()
        assert f"per 1,000 residents, of {profile.TOPICS[doc.params['topic']]['noun']} with a map point " \
               f"({mapped:,} of {len(sel):,}" in _text(secs["section_scanning"])


def test_season_that_cannot_be_tested_is_said_plainly(demo_document, monkeypatch):
    """A topic with a calendar month that never has an event: the profile says so instead of failing."""
    from assessment.analysis import trends as T
    from assessment.documents import problem_profile as P

    doc = demo_document("problem_profile", topic="weapons", output_name="problem_profile_weapons_untestable")

    def refuse(*args, **kwargs):
        raise ValueError("`series` must have events in every month of the year to test seasonality; got none")

    monkeypatch.setattr(T, "trend_seasonality", refuse)
    html = P.section_time(doc)._repr_html_()
    assert "cannot be tested" in html
    recs = P.section_recommendations(doc)._repr_html_()
    assert "Seasonality could not be tested" in recs
