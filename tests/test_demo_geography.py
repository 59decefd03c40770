"""Acceptance (issue 4): geography on the generated Riverton demo.

Uses the session's ``demo_workbench`` (intake + geography already built) and checks every
result against an independent computation made here from the raw files with plain
geopandas / shapely / pyproj (overlay areas, ``geopandas.sjoin``), or against the
generator's documented construction (docs/DEMO_DATA.md).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
from pyproj import Transformer

from assessment.geography import coterminosity as cot
from assessment.geography.crosswalk import crosswalk_area, crosswalk_error
from assessment.geography.registry import registry_version_at, registry_versions
from assessment.intake.boundaries import read_boundary
from assessment.reporting.workbench import coterminosity_report

REVIEW = "2024-05"  # ward boundary review takes effect 2024-05-01
THRESHOLD = 0.95


@pytest.fixture(scope="module")
def raw(demo_catalogue) -> Path:
    return Path(demo_catalogue).parent / "raw"


@pytest.fixture(scope="module")
def wards_raw(raw) -> dict[str, gpd.GeoDataFrame]:
    """Both ward files read with plain geopandas (no package code)."""
    return {"2019": gpd.read_file(raw / "geography" / "wards_2019.geojson"),
            "2024": gpd.read_file(raw / "geography" / "wards_2024.geojson")}


def _best_share(pieces: gpd.GeoDataFrame, unit: str) -> pd.Series:
    """Largest share of each unit's area lying in one other unit (from overlay pieces)."""
    pieces = pieces.assign(a=pieces.area)
    return pieces.groupby(unit)["a"].max() / pieces.groupby(unit)["a"].sum()


def _table(source, target, wb):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cot.coterminosity_table(source, target, wb.small_areas, population="population")


# ------------------------------------------------------------------------ co-terminosity

def test_beats_vs_wards_index_below_one_and_split_beats_named(demo_workbench):
    wb = demo_workbench
    table = _table(wb.neighbourhoods, wb.wards, wb)
    summary = cot.coterminosity_summary(table).iloc[0]
    split = cot.coterminosity_split_units(table)
    assert summary["weighting"] == "population"
    assert 0 <= summary["index"] < 1
    assert len(split) == summary["n_split"] > 0
    assert split["source_name"].notna().all() and (split["targets"].str.count(";") >= 1).all()
    # independent: beats whose largest overlap with one ward is under 95% of their area
    pieces = gpd.overlay(wb.neighbourhoods[["code", "geometry"]].rename(columns={"code": "beat"}),
                         wb.wards[["code", "geometry"]].rename(columns={"code": "ward"}), keep_geom_type=True)
    best = _best_share(pieces, "beat")
    assert set(split["source_code"]) == set(best.index[best < THRESHOLD])
    # independent index: beat populations from small-area overlay (uniform density in each small area)
    sa = wb.small_areas[["code", "population", "geometry"]].rename(columns={"code": "sa"})
    sa = sa.assign(sa_area=sa.area)
    bits = gpd.overlay(sa, wb.neighbourhoods[["code", "geometry"]].rename(columns={"code": "beat"}),
                       keep_geom_type=True)
    pop = (bits["population"] * bits.area / bits["sa_area"]).groupby(bits["beat"]).sum()
    cot_beats = best.index[best >= THRESHOLD]
    assert summary["index"] == pytest.approx(pop.reindex(cot_beats).sum() / pop.sum(), abs=1e-6)


@pytest.mark.parametrize("version", ["2019", "2024"])
def test_small_areas_vs_wards_names_the_straddling_ones(demo_workbench, wards_raw, version):
    wb = demo_workbench
    wards = wards_raw[version]
    table = _table(wb.small_areas, wards.rename(columns={"ward_code": "code", "ward_name": "name"}), wb)
    split = set(cot.coterminosity_split_units(table)["source_code"])
    pieces = gpd.overlay(wb.small_areas[["code", "geometry"]].rename(columns={"code": "sa"}),
                         wards[["ward_code", "geometry"]], keep_geom_type=True)
    best = _best_share(pieces, "sa")
    straddling = set(best.index[best < THRESHOLD])
    assert split == straddling and split
    assert len(split) < 0.2 * len(wb.small_areas)  # most small areas nest
    if version == "2019":
        # generator truth: small areas were cut inside the 2019 wards, named "<partnership> NNNX"
        # after their home ward E0590NNNN; the ones built to straddle took a bite across a ward edge
        home = wb.small_areas["name"].str.extract(r"(\d{3})[A-Z]$")[0].astype(int)
        home_ward = pd.Series(["E0590%04d" % n for n in home], index=wb.small_areas["code"])
        mine = pieces[pieces["ward_code"].to_numpy() == home_ward.reindex(pieces["sa"]).to_numpy()]
        share_home = (mine.area.groupby(mine["sa"]).sum() / pieces.area.groupby(pieces["sa"]).sum()) \
            .reindex(home_ward.index, fill_value=0.0)
        assert split == set(share_home.index[share_home < THRESHOLD])
        assert (table.set_index("source_code").loc[sorted(split), "best_fit_target"]
                == home_ward.reindex(sorted(split))).all()


# ------------------------------------------------------------------------ versions and points

@pytest.fixture(scope="module")
def street_points(raw) -> gpd.GeoDataFrame:
    """Every located row of the raw street CSVs, converted independently with pyproj."""
    frames = []
    for f in sorted((raw / "police").glob("*/*-riverton-street.csv")):
        d = pd.read_csv(f, dtype=str, keep_default_na=False)
        frames.append(d.assign(source_file=f.name, source_row=np.arange(1, len(d) + 1)))
    st = pd.concat(frames, ignore_index=True)
    st = st[st["Longitude"] != ""]
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    x, y = to_bng.transform(pd.to_numeric(st["Longitude"]).to_numpy(), pd.to_numeric(st["Latitude"]).to_numpy())
    return gpd.GeoDataFrame(st[["source_file", "source_row", "Month"]], geometry=gpd.points_from_xy(x, y),
                            crs=27700)


def test_events_go_to_the_ward_version_in_force(demo_workbench, wards_raw):
    wb = demo_workbench
    police = wb.events[wb.events["dataset"] == "police_street"]
    versions = registry_versions(wb.registry, "wards").set_index("version")
    v19 = next(v for v in versions.index if v.startswith("2019"))
    v24 = next(v for v in versions.index if v.startswith("2024"))
    assert versions.loc[v24, "valid_from"] == pd.Timestamp("2024-05-01")
    before = police["month"] < REVIEW
    assert before.any() and (~before).any()
    assert (police.loc[before, "ward_code_version"] == v19).all()
    assert (police.loc[~before, "ward_code_version"] == v24).all()
    # the months either side of the review
    assert set(police.loc[police["month"] == "2024-04", "ward_code_version"]) == {v19}
    assert set(police.loc[police["month"] == "2024-05", "ward_code_version"]) == {v24}
    codes19, codes24 = set(wards_raw["2019"]["ward_code"]), set(wards_raw["2024"]["ward_code"])
    got_before = set(police.loc[before, "ward_code"].dropna())
    got_after = set(police.loc[~before, "ward_code"].dropna())
    assert got_before <= codes19 and got_after <= codes24
    new_codes, retired = codes24 - codes19, codes19 - codes24
    assert len(new_codes) == len(retired) == 3
    assert new_codes <= got_after and not (new_codes & got_before)
    assert retired <= got_before and not (retired & got_after)


def test_independent_sjoin_agrees_with_workbench_ward_for_every_geocoded_row(demo_workbench, wards_raw,
                                                                             street_points):
    wb = demo_workbench
    police = wb.events[wb.events["dataset"] == "police_street"]
    joined = []
    for after, key in ((False, "2019"), (True, "2024")):
        pts = street_points[(street_points["Month"] >= REVIEW) == after]
        joined.append(gpd.sjoin(pts, wards_raw[key][["ward_code", "geometry"]], how="left", predicate="intersects"))
    joined = pd.concat(joined, ignore_index=True)
    # edge ties (a point covered by two wards): documented rule, lowest code wins
    ties = joined.groupby(["source_file", "source_row"])["ward_code"].nunique()
    n_ties = int((ties > 1).sum())
    expected = (joined.sort_values("ward_code").drop_duplicates(["source_file", "source_row"])
                [["source_file", "source_row", "ward_code"]])
    located = police[police["easting"].notna()]
    merged = located[["source_file", "source_row", "ward_code"]].merge(
        expected, on=["source_file", "source_row"], how="outer", suffixes=("_wb", "_sjoin"), indicator=True)
    # rows present in the raw files but not in the workbench are exactly the quarantined ones
    quarantined = wb.intake.quarantine["police_street"]
    missing = merged[merged["_merge"] == "right_only"]
    q_keys = set(zip(quarantined["source_file"], quarantined["source_row"].astype(int)))
    # points outside the partnership are left out of the workbench's events and kept apart
    out = wb.extras["outside"]
    out = out[out["dataset"] == "police_street"]
    out_keys = set(zip(out["source_file"], out["source_row"].astype(int)))
    missing_keys = set(zip(missing["source_file"], missing["source_row"].astype(int)))
    assert missing_keys <= q_keys | out_keys
    assert not (merged["_merge"] == "left_only").any()
    both = merged[merged["_merge"] == "both"]
    assert len(both) == len(located) > 40_000
    wb_code = both["ward_code_wb"].astype("string").fillna("<outside>")
    sj_code = both["ward_code_sjoin"].astype("string").fillna("<outside>")
    disagree = both[wb_code.to_numpy() != sj_code.to_numpy()]
    assert disagree.empty, f"{len(disagree)} rows disagree (edge ties: {n_ties}):\n{disagree.head()}"
    # the points outside every ward are the documented neighbouring-area points (~0.25%), and exactly
    # those are the ones counted outside the partnership (the demo boundary is the union of its wards)
    sj_outside = expected[expected["ward_code"].isna()]
    sj_keys = set(zip(sj_outside["source_file"], sj_outside["source_row"].astype(int))) - q_keys
    assert sj_keys == out_keys
    assert 0 < len(out_keys) / len(expected) < 0.01


# ------------------------------------------------------------------------ apportionment error

def _current_points(wb) -> pd.DataFrame:
    """Police points in the window under the current (2024) ward boundaries."""
    police = wb.dataset_events("police_street")
    return police[police["easting"].notna() & (police["month"] >= REVIEW)]


def test_measured_apportionment_error_population_beats_area(demo_workbench):
    wb = demo_workbench
    pts = _current_points(wb)
    summary, detail = crosswalk_error(pts[["easting", "northing"]], wb.neighbourhoods, wb.wards,
                                      small_areas=wb.small_areas, population="population")
    s = summary.set_index("method")
    assert list(s.index) == ["area", "population", "best_fit"]
    assert s.loc["population", "mean_abs_pct_error"] <= s.loc["area", "mean_abs_pct_error"]
    assert (s[["mean_abs_pct_error", "max_abs_pct_error"]] >= 0).all().all()
    assert (s["mean_abs_pct_error"] <= s["max_abs_pct_error"]).all()
    # exact counts: points inside a beat, by the workbench's own (current) ward -- independent path
    in_beat = pts[pts["neighbourhood_code"].notna()]
    exact = in_beat["ward_code"].value_counts()
    assert (s["n_points"] == len(in_beat)).all()
    for m, d in detail.groupby("method"):
        d = d.set_index("target_code")
        assert (d["exact"] == exact.reindex(d.index, fill_value=0)).all(), m
        # conservation: nothing created or lost (apportioned + outside the wards = points)
        assert d["apportioned"].sum() + s.loc[m, "outside_target"] == pytest.approx(len(in_beat), rel=1e-9)
        assert s.loc[m, "mean_abs_pct_error"] == pytest.approx(d["abs_pct_error"].mean(), rel=1e-9)
    # independent area apportionment: counts per beat x overlay-area share, summed per ward
    per_beat = in_beat["neighbourhood_code"].value_counts()
    beats = wb.neighbourhoods[["code", "geometry"]].rename(columns={"code": "beat"})
    beats = beats.assign(beat_area=beats.area)
    pieces = gpd.overlay(beats, wb.wards[["code", "geometry"]].rename(columns={"code": "ward"}), keep_geom_type=True)
    share = pieces.area / pieces["beat_area"]
    est = (per_beat.reindex(pieces["beat"]).to_numpy() * share).groupby(pieces["ward"]).sum()
    area = detail[detail["method"] == "area"].set_index("target_code")["apportioned"]
    np.testing.assert_allclose(area.to_numpy(), est.reindex(area.index, fill_value=0).to_numpy(), rtol=1e-9)
    ape = (100 * (est.reindex(exact.index) - exact).abs() / exact)
    assert s.loc["area", "mean_abs_pct_error"] == pytest.approx(ape.mean(), rel=1e-9)


# ------------------------------------------------------------------------ CRS and areas

def test_boundaries_in_different_crs_work_together_and_areas_are_in_metres(demo_workbench, demo_catalogue, raw):
    wb = demo_workbench
    # every registry unit is in a projected CRS measured in metres
    for key, versions in wb.registry.geographies.items():
        for v in versions:
            crs = pyproj.CRS.from_user_input(v.units.crs)
            assert crs.is_projected, key
            assert crs.axis_info[0].unit_name == "metre", key
    # the partnership: about 15 x 12 km, area in square metres agrees with the raw file
    part = registry_version_at(wb.registry, "partnership", "2025-12-31").units
    xmin, ymin, xmax, ymax = part.total_bounds
    assert 12_000 < xmax - xmin < 16_000 and 10_000 < ymax - ymin < 13_000
    raw_part = gpd.read_file(raw / "geography" / "partnership.geojson")
    assert raw_part.crs.to_epsg() == 27700
    assert part.area.sum() == pytest.approx(raw_part.area.sum(), rel=1e-9)
    assert 50e6 < part.area.sum() < 180e6
    # beats arrive as WGS84 KML (lon/lat), one with Z values and one bow-tie ring, and are
    # reprojected on reading into the registry: they tile the partnership in m^2
    beats_wgs84, repairs = read_boundary(raw / "geography" / "neighbourhoods" / "riverton", "id", "name",
                                         crs="EPSG:4326")
    assert beats_wgs84.crs.is_geographic and len(beats_wgs84) == len(wb.neighbourhoods) == 12
    assert len(repairs) >= 1
    assert not wb.neighbourhoods.geometry.has_z.any() and wb.neighbourhoods.is_valid.all()
    assert wb.neighbourhoods.area.sum() == pytest.approx(part.area.sum(), rel=0.02)
    # functions given the geographic layer measure in metres without any manual step
    table = _table(beats_wgs84, wb.wards, wb).set_index("source_code")
    proj_table = _table(wb.neighbourhoods, wb.wards, wb)
    proj = proj_table.set_index("source_code")
    assert table["source_area_km2"].sum() == pytest.approx(part.area.sum() / 1e6, rel=0.02)
    np.testing.assert_allclose(table["source_area_km2"], proj.loc[table.index, "source_area_km2"], rtol=1e-6)
    w_geo = crosswalk_area(beats_wgs84, wb.wards).set_index(["source_code", "target_code"])["weight"]
    w_proj = crosswalk_area(wb.neighbourhoods, wb.wards).set_index(["source_code", "target_code"])["weight"]
    pd.testing.assert_series_equal(w_geo.sort_index(), w_proj.reindex(w_geo.index).sort_index(),
                                   rtol=1e-6, check_names=False)
    # and the CLI's report reads the KML folder and the ward GeoJSON straight from the catalogue
    text = coterminosity_report(demo_catalogue, "neighbourhoods", "wards")
    index = float(re.search(r"inside one wards\): ([0-9.]+)", text).group(1))
    assert index == pytest.approx(cot.coterminosity_summary(proj_table).iloc[0]["index"], abs=5e-4)
