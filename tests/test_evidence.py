"""Tests for assessment/reporting/evidence.py on the demo partnership and on hand-built grids."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from assessment.reporting import evidence


@pytest.fixture(scope="module")
def doc(demo_document):
    d = demo_document("strategic_assessment")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d.workbench  # noqa: B018 - build once for the module
    return d


# ---------------------------------------------------------------- ward-month counts

def test_ward_month_counts_sum_to_accepted_police_rows(doc):
    wm = evidence.evidence_ward_month_counts(doc)
    q = doc.workbench.intake.quality.set_index("dataset").loc["police_street"]
    window = set(doc.catalogue.partnership.window.months)
    ev = doc.workbench.intake.events
    police = ev[ev["dataset"] == "police_street"]
    assert int(wm["count"].sum()) == int(police["month"].isin(window).sum())
    assert police["month"].isin(window).all()  # the demo's police data lie in the window
    assert int(wm["count"].sum()) == int(q["rows_accepted"])
    assert list(wm.columns) == ["month", "ward_version", "ward_code", "ward_name", "count"]
    assert not wm.duplicated(["month", "ward_version", "ward_code"]).any()


def test_ward_month_unlocated_rows_kept(doc):
    wm = evidence.evidence_ward_month_counts(doc)
    ev = evidence.evidence_police(doc)
    no_xy = ev["easting"].isna() | ev["northing"].isna()
    assert int(wm.loc[wm["ward_code"] == "(no coordinates)", "count"].sum()) == int(no_xy.sum())
    # rows with coordinates but no ward lie outside every ward of their version; points outside the
    # partnership are left out of the analysis (workbench extras) but still accounted for here
    outside = int(wm.loc[wm["ward_code"] == "(outside the partnership)", "count"].sum())
    out = doc.workbench.extras["outside"]
    left_out = int((out["dataset"].isin(evidence.crime_datasets(doc)) & out["month"].isin(doc.workbench.window)).sum())
    assert left_out > 0
    assert outside == int((~no_xy & ev["ward_code"].isna()).sum()) + left_out
    assert int(wm["count"].sum()) == len(ev) + left_out


def test_ward_month_counts_match_a_spatial_join_for_the_latest_year(doc):
    wm = evidence.evidence_ward_month_counts(doc)
    months = evidence.last_year(doc)
    ev = evidence.evidence_police(doc)
    pts = evidence.points_of(ev[ev["month"].isin(months)])
    wards = doc.workbench.wards[["code", "geometry"]]
    joined = gpd.sjoin(pts[["geometry"]], wards, predicate="intersects", how="inner")
    joined = joined[~joined.index.duplicated()]  # a point on a shared edge counts once
    expected = joined.groupby("code").size()
    got = wm[wm["month"].isin(months) & wm["ward_code"].isin(wards["code"])].groupby("ward_code")["count"].sum()
    assert int(got.sum()) == int(expected.sum())
    # a point on a shared edge may be resolved to either neighbour; nothing else may differ
    on_edge = int(pts["ward_code_on_edge"].fillna(False).astype(bool).sum())
    diff = got.reindex(expected.index, fill_value=0) - expected
    assert int(diff.abs().sum()) <= 2 * on_edge
    names = dict(zip(wards["code"], doc.workbench.wards["name"]))
    latest = wm[wm["ward_code"].isin(names)]
    assert (latest["ward_name"] == latest["ward_code"].map(names)).all()


# ---------------------------------------------------------------- grid

def test_evidence_grid_covers_the_boundary(doc):
    grid = evidence.evidence_grid(doc)
    boundary = doc.workbench.boundary.geometry.union_all()
    cells = grid.geometry.union_all()
    assert boundary.difference(cells).area < 1e-6 * boundary.area
    assert cells.difference(boundary).area < 1e-6 * boundary.area
    assert grid["area"].sum() == pytest.approx(boundary.area, rel=1e-9)
    assert grid["cell_id"].is_unique


def test_evidence_is_built_once_per_workbench_and_documents_cannot_change_it(doc, monkeypatch):
    first = evidence.evidence_grid(doc)
    calls = []
    monkeypatch.setattr(evidence.hotspots, "hotspot_grid", lambda *a, **k: calls.append(1))
    again = evidence.evidence_grid(doc)
    assert not calls  # kept on the workbench, not rebuilt
    pd.testing.assert_frame_equal(again, first)
    again["area"] = -1.0  # a document changing what it was given ...
    again["extra"] = 1
    fresh = evidence.evidence_grid(doc)
    assert (fresh["area"] > 0).all() and "extra" not in fresh  # ... changes its own copy only
    assert evidence._evidence_store(doc) is evidence._evidence_store(doc)


# ---------------------------------------------------------------- hotspot_clusters

def _cells(hot: set[tuple[int, int]], nrows=6, ncols=6, size=100.0) -> gpd.GeoDataFrame:
    rows, cols = np.divmod(np.arange(nrows * ncols), ncols)
    counts = (rows * 10 + cols + 1).astype(int)
    flag = np.array(["hot" if (r, c) in hot else "not significant" for r, c in zip(rows, cols)])
    return gpd.GeoDataFrame(
        {"row": rows, "col": cols, "count": counts, "hotspot": flag},
        geometry=[box(c * size, r * size, (c + 1) * size, (r + 1) * size) for r, c in zip(rows, cols)],
        crs=27700)


def test_two_separate_blocks_make_two_clusters():
    block_a = {(0, 0), (0, 1), (1, 0), (1, 1)}           # 2 x 2 in the south-west
    block_b = {(4, 3), (4, 4), (4, 5)}                   # a row of 3, well apart
    cells = _cells(block_a | block_b)
    out = evidence.hotspot_clusters(cells)
    assert len(out) == 2
    events_a = sum(r * 10 + c + 1 for r, c in block_a)
    events_b = sum(r * 10 + c + 1 for r, c in block_b)
    got = dict(zip(out["cells"].astype(int), out["events"].astype(int)))
    assert got == {4: events_a, 3: events_b}
    assert list(out["events"]) == sorted(out["events"], reverse=True)
    areas = sorted(out.geometry.area)
    assert areas == pytest.approx([3 * 100.0 ** 2, 4 * 100.0 ** 2])
    assert out.crs == cells.crs


def test_a_hotspot_over_the_stated_share_of_the_area_is_widespread():
    # 10 x 10 grid: a 3 x 3 block is 9% of the cells, a 2 x 2 block 4%
    big = {(r, c) for r in range(3) for c in range(3)}
    small = {(7, 7), (7, 8), (8, 7), (8, 8)}
    out = evidence.hotspot_clusters(_cells(big | small, nrows=10, ncols=10))
    by_cells = out.set_index(out["cells"].astype(int))
    assert by_cells.loc[9, "area_share"] == pytest.approx(9 / 100)
    assert bool(by_cells.loc[9, "widespread"]) and not bool(by_cells.loc[4, "widespread"])  # default 5%
    loose = evidence.hotspot_clusters(_cells(big | small, nrows=10, ncols=10), widespread_share=0.10)
    assert not loose["widespread"].any()
    strict = evidence.hotspot_clusters(_cells(big | small, nrows=10, ncols=10), widespread_share=0.03)
    assert strict["widespread"].all()
    with pytest.raises(ValueError, match="widespread_share"):
        evidence.hotspot_clusters(_cells(big), widespread_share=5)
    words = evidence.widespread_words(345, 345 / 3510, 0.05)
    assert words.startswith("widespread (345 grid cells, 10% of the partnership's area, more than the 5%")
    assert "not a place" in words


def test_diagonal_neighbours_join_under_queen_contiguity():
    out = evidence.hotspot_clusters(_cells({(2, 2), (3, 3), (4, 4)}))
    assert len(out) == 1 and int(out["cells"].iloc[0]) == 3
    # a knight's-move gap does not touch
    assert len(evidence.hotspot_clusters(_cells({(0, 0), (1, 2)}))) == 2


def test_no_hot_cells_gives_empty_frame_and_custom_flag():
    out = evidence.hotspot_clusters(_cells(set()))
    assert out.empty and list(out.columns) == ["cluster", "cells", "events", "area_share", "widespread", "geometry"]
    cells = _cells({(0, 0)}).assign(pattern="none")
    cells.loc[(cells["row"] >= 4) & (cells["col"] >= 4), "pattern"] = "emerging"
    out = evidence.hotspot_clusters(cells, flag="pattern", value="emerging")
    assert len(out) == 1 and int(out["cells"].iloc[0]) == 4


# ---------------------------------------------------------------- repeat locations

def test_repeat_locations_against_a_plain_groupby(doc):
    got = evidence.evidence_repeat_locations(doc)
    ev = evidence.evidence_police(doc)
    ev = ev[ev["month"].isin(evidence.last_year(doc)) & ev["easting"].notna()]
    key = pd.DataFrame({"category": ev["category"].to_numpy(),
                        "e": np.round(ev["easting"].to_numpy()), "n": np.round(ev["northing"].to_numpy())})
    at_point = key.groupby(["category", "e", "n"])["e"].transform("size")
    expected = (at_point >= 3).groupby(key["category"]).mean()
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False, atol=1e-12)
    assert got.between(0, 1).all()


def test_place_type_labels_are_told_apart_from_streets():
    """'On or near Nightclub' names a kind of place; 'On or near Canal Avenue' a street."""
    import pandas as pd

    from assessment.reporting.evidence import place_type_labels

    got = place_type_labels(pd.Series(["On or near Nightclub", "On or near Canal Avenue", "On or near Supermarket",
                                       "On or near Theatre/Concert Hall", "No Location", None,
                                       "On or near parking area", "On or near A201"]))
    assert (got.iloc[0], got.iloc[2], got.iloc[3]) == ("Nightclub", "Supermarket", "Theatre/Concert Hall")
    assert got.isna().tolist() == [False, True, False, False, True, True, False, True]
    assert got.iloc[6] == "Parking Area"


# ---------------------------------------------------------------- street labels for zoomed maps

def test_street_labels_are_the_datas_own_street_names_inside_the_window(doc):
    pol = evidence.evidence_police(doc)
    located = pol[pol["location"].notna() & pol["easting"].notna()]
    x0, y0 = float(located["easting"].median()), float(located["northing"].median())
    window = box(x0 - 1500, y0 - 1500, x0 + 1500, y0 + 1500)
    got = evidence.street_labels(doc, window)
    assert 1 <= len(got) <= evidence.STREET_LABELS and got.crs.to_epsg() == 27700
    assert got["label"].is_unique and not got.geometry.duplicated().any()
    assert got.geometry.within(window.buffer(1e-6)).all()
    assert evidence.place_type_labels(got["label"]).isna().all()
    assert not got["label"].str.startswith("On or near").any()
    # each label is the description the data give that very map point
    at = located.assign(label=located["location"].str.replace(r"^On or near ", "", regex=True))
    for lab, pt in zip(got["label"], got.geometry):  # a handful of labels
        here = at[(at["easting"] == pt.x) & (at["northing"] == pt.y)]
        assert (here["label"] == lab).any()
    assert len(evidence.street_labels(doc, window, limit=2)) == 2
    with pytest.raises(ValueError, match="limit"):
        evidence.street_labels(doc, window, limit=-1)


# ---------------------------------------------------------------- the narrow police frame

def test_police_index_codes_rebuild_the_wide_frame(doc):
    pol = evidence.evidence_police(doc)
    idx = evidence.police_index(doc)
    assert len(idx.month) == len(pol)
    assert np.array_equal(idx.months[idx.month].astype(str), pol["month"].astype(str).to_numpy())
    assert np.array_equal(idx.categories[idx.category].astype(str), pol["category"].astype(str).to_numpy())
    assert np.array_equal(idx.located, (pol["easting"].notna() & pol["northing"].notna()).to_numpy())
    assert idx.mask(["Burglary"], evidence.last_year(doc)).sum() == (
        (pol["category"] == "Burglary") & pol["month"].isin(evidence.last_year(doc))).sum()


def test_hotspot_counts_from_the_index_equal_counting_points(doc):
    from assessment.analysis import hotspots

    pol = evidence.evidence_police(doc)
    months = evidence.last_year(doc)
    for cats in (["Burglary"], ["Violence and sexual offences", "Public order"]):
        got = evidence.hotspot_count_grid(doc, cats, months)
        sub = pol[pol["category"].isin(cats) & pol["month"].isin(months)]
        pts = gpd.GeoDataFrame(sub, geometry=gpd.points_from_xy(sub["easting"], sub["northing"]), crs=27700)
        pts = pts[pts["easting"].notna()]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = hotspots.hotspot_count(pts, evidence.evidence_grid(doc))
        assert np.array_equal(got["count"].to_numpy(), want["count"].to_numpy())
        assert got["count"].sum() > 0


def test_hotspot_classes_from_the_index_equal_classifying_points(doc):
    from assessment.analysis import hotspots

    cats = ["Burglary"]
    got = evidence.evidence_hotspot_classes(doc, cats)
    blocks = evidence.complete_years(doc)
    label = {m: b[-1][:4] for b in blocks for m in b}
    pol = evidence.evidence_police(doc)
    sub = pol[pol["category"].isin(cats) & pol["month"].isin(label) & pol["easting"].notna()].copy()
    sub["date"] = pd.to_datetime(sub["month"].map(label) + "-07-01")
    pts = gpd.GeoDataFrame(sub, geometry=gpd.points_from_xy(sub["easting"], sub["northing"]), crs=27700)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = hotspots.hotspot_classify(pts, evidence.evidence_grid(doc), periods="Y",
                                         weights=evidence.evidence_weights(doc))
    pd.testing.assert_frame_equal(pd.DataFrame(got.drop(columns="geometry")),
                                  pd.DataFrame(want.drop(columns="geometry")))


def test_nearest_street_counts_the_events_within_the_cells_as_a_spatial_join(doc):
    grid = evidence.evidence_grid(doc)
    counts = evidence.hotspot_count_grid(doc, ["Shoplifting"])
    for k in (1, 3, 9):
        _nearest_street_as_sjoin(doc, grid.loc[counts["count"].nlargest(k).index, ["geometry"]])
    assert evidence.nearest_street(doc, grid.iloc[:0], ["Shoplifting"]) == ""


def _nearest_street_as_sjoin(doc, cells):
    got = evidence.nearest_street(doc, cells, ["Shoplifting"])
    pol = evidence.evidence_police(doc)
    sub = pol[(pol["category"] == "Shoplifting") & pol["easting"].notna()]
    pts = gpd.GeoDataFrame(sub[["location", "ward_code"]],
                           geometry=gpd.points_from_xy(sub["easting"], sub["northing"]), crs=27700)
    inside = gpd.sjoin(pts, cells, predicate="within")
    loc = inside["location"].dropna().astype(str)
    loc = loc[evidence.place_type_labels(loc).isna().to_numpy()].str.replace(r"^On or near ", "", regex=True)
    streets = loc[loc.str.contains(evidence._STREET_SUFFIX, regex=True)]
    street = str(streets.mode().iloc[0]) if len(streets) else (str(loc.mode().iloc[0]) if len(loc) else "")
    assert len(inside) > 0
    ward_code = inside["ward_code"].dropna().astype(str).mode().iloc[0]
    ward = dict(zip(doc.workbench.wards["code"].astype(str), doc.workbench.wards["name"].astype(str)))[ward_code]
    assert got == (f"{street} ({ward} ward)" if street else f"{ward} ward")


def test_shared_evidence_follows_the_harm_index_file_the_workbench_key_does_not_cover(demo_document, tmp_path):
    # The workbench cache key covers the catalogue and the data files, not the harm index file: after
    # the file is edited, the next document loads the same workbench (and the evidence kept on it),
    # yet its harm weights must be the file's new ones, as they were when evidence was per document.
    from assessment.catalogue import HarmWeights

    setting = HarmWeights(file=str(tmp_path / "w.csv"), index="An index", source="A publisher", year="2024",
                          mapping="one weight per crime type")
    pd.DataFrame({"crime_type": ["Burglary"], "weight": [2.5]}).to_csv(tmp_path / "w.csv", index=False)
    first = demo_document("strategic_assessment")
    first.catalogue = first.catalogue.model_copy(update={"harm_weights": setting})
    assert evidence.evidence_harm_weights(first)["weight"].tolist() == [2.5]
    pd.DataFrame({"crime_type": ["Burglary"], "weight": [10.25]}).to_csv(tmp_path / "w.csv", index=False)
    second = demo_document("strategic_assessment")
    second.catalogue = second.catalogue.model_copy(update={"harm_weights": setting})
    assert second.workbench is first.workbench  # the same workbench, handed on by the in-process memo
    assert evidence.evidence_harm_weights(second)["weight"].tolist() == [10.25]


def test_survey_design_follows_the_catalogue(doc):
    design = evidence.evidence_survey_design(doc)
    assert design["source"] == "assumed" and design["design_effect"] == 1  # the demo declares none, maps no cluster
    assert not design["weighted"] and design["weight_col"] is None and not design["weights_in_design_effect"]
    ds = doc.catalogue.datasets[evidence.role_dataset(doc, "survey")]
    ds.design_effect = 1.7
    try:
        declared = evidence.evidence_survey_design(doc)
    finally:
        ds.design_effect = None
    assert declared["source"] == "declared" and declared["design_effect"] == 1.7
    assert declared["weights_in_design_effect"]


def test_a_survey_that_never_asked_about_feeling_safe_still_gives_concerns(demo_copy, tmp_path):
    """Only respondent and area are required of a survey: the concern shares and the survey's
    design (assumed 1, nothing to estimate from) must not need the feel-safe answers."""
    from assessment.reporting.document import open_document

    def edit(raw):
        raw["datasets"]["residents_survey"]["columns"].pop("safe_after_dark")

    cat, _ = demo_copy(edit)
    other = open_document(cat, document="strategic_assessment", out_dir=tmp_path / "o", run_date="2026-11-25")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert "safe_after_dark" not in other.workbench.intake.survey.columns
        shares = evidence.evidence_concern_share(other)
        design = evidence.evidence_survey_design(other)
    assert shares and all(0 <= v <= 1 for v in shares.values())
    assert design["source"] == "assumed" and design["n"] == len(other.workbench.intake.survey)
