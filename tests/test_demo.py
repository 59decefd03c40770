"""Tests for the Riverton demo generator (assessment.demo).

The partnership is generated once per module; every planted pattern is re-derived from the
raw files with plain pandas/shapely, independently of the generator's own code.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml
from pyproj import Transformer
from scipy import stats

from assessment.demo import write_demo_partnership

SEED = 2026
TC = (439500.0, 290200.0)
CLUSTER = (443000.0, 287000.0)
STREET_COLUMNS = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
                  "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"]
OUTCOME_COLUMNS = STREET_COLUMNS[:9] + ["Outcome type"]
MONTHS = [str(p) for p in pd.period_range("2023-01", "2025-12", freq="M")]
KML = "{http://www.opengis.net/kml/2.2}"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    dest = tmp_path_factory.mktemp("riverton") / "raw"
    return dest, write_demo_partnership(dest, SEED)


@pytest.fixture(scope="module")
def raw(generated) -> Path:
    return generated[0]


@pytest.fixture(scope="module")
def street(raw) -> pd.DataFrame:
    files = sorted((raw / "police").glob("*/*-riverton-street.csv"))
    frame = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files], ignore_index=True)
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    located = frame.Longitude != ""
    x, y = to_bng.transform(pd.to_numeric(frame.Longitude.where(located)), pd.to_numeric(frame.Latitude.where(located)))
    frame["x"], frame["y"] = x, y
    frame["year"] = frame.Month.str[:4]
    return frame


@pytest.fixture(scope="module")
def boundary(raw):
    return gpd.read_file(raw / "geography" / "partnership.geojson").geometry.iat[0]


def _monthly(frame: pd.DataFrame, crime_type: str) -> pd.Series:
    return frame[frame["Crime type"] == crime_type].groupby("Month").size().reindex(MONTHS, fill_value=0)


# ------------------------------------------------------------------------------ determinism, layout

def test_same_seed_gives_byte_identical_files(raw, tmp_path):
    again = tmp_path / "raw"
    write_demo_partnership(again, SEED)
    first = sorted(p.relative_to(raw) for p in raw.rglob("*") if p.is_file())
    second = sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert first == second
    differing = [str(p) for p in first if (raw / p).read_bytes() != (again / p).read_bytes()]
    assert differing == []


def test_layout_matches_demo_data_contract(generated):
    raw, roles = generated
    expected = [
        "geography/partnership.geojson", "geography/wards_2019.geojson", "geography/wards_2024.geojson",
        "geography/small_areas.gpkg", "fire/deliberate_fires.csv", "health/ed_assaults_by_area_month.csv",
        "health/ed_assaults_time_profile.csv", "ambulance/assault_callouts.csv",
        "council/asb_environmental_reports.xlsx", "council/asb_environmental_reports.csv",
        "licensing/licensed_premises.csv", "yos/first_time_entrants.csv", "nominals/violence_nominals.csv",
        "survey/residents_survey_2025.csv", "strategy/previous_strategy.yaml", "peers/most_similar_group.csv",
    ]
    for rel in expected:
        assert (raw / rel).is_file(), rel
    for month in MONTHS:
        assert (raw / "police" / month / f"{month}-riverton-street.csv").is_file()
        assert (raw / "police" / month / f"{month}-riverton-outcomes.csv").is_file()
    assert sorted(p.name for p in (raw / "police").iterdir()) == MONTHS
    kml = sorted((raw / "geography" / "neighbourhoods" / "riverton").glob("*.kml"))
    assert 10 <= len(kml) <= 14
    assert all(re.fullmatch(r"RIV\d{2}\.kml", p.name) for p in kml)
    for role, path in roles.items():
        assert path.exists(), role
    assert {"police_street", "police_outcomes", "small_areas", "wards_2019", "wards_2024", "neighbourhoods",
            "council_reports", "violence_nominals", "peer_group"} <= set(roles)


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(TypeError, match="dest"):
        write_demo_partnership(str(tmp_path))
    with pytest.raises(TypeError, match="seed"):
        write_demo_partnership(tmp_path, seed="1")


# ----------------------------------------------------------------------------------------- police

def test_street_and_outcome_files_have_exact_columns(raw):
    for month in MONTHS:
        with open(raw / "police" / month / f"{month}-riverton-street.csv", encoding="utf-8", newline="") as fh:
            assert fh.readline() == ",".join(STREET_COLUMNS) + "\n"
        with open(raw / "police" / month / f"{month}-riverton-outcomes.csv", encoding="utf-8", newline="") as fh:
            assert fh.readline() == ",".join(OUTCOME_COLUMNS) + "\n"
    data = (raw / "police" / "2024-06" / "2024-06-riverton-street.csv").read_bytes()
    assert b"\r\n" not in data


def test_police_volumes_and_crime_mix_are_realistic(street):
    crimes = street[street["Crime type"] != "Anti-social behaviour"]
    asb = street[street["Crime type"] == "Anti-social behaviour"]
    assert 10_500 <= crimes["Crime ID"].nunique() / 3 <= 13_500
    assert 4_300 <= len(asb) / 3 <= 5_800
    assert street["Crime type"].nunique() == 14
    share = crimes["Crime type"].value_counts(normalize=True)
    assert 0.28 <= share["Violence and sexual offences"] <= 0.36
    assert share.idxmax() == "Violence and sexual offences"
    assert share["Robbery"] < 0.02 and share["Possession of weapons"] < 0.02
    assert (street["Reported by"] == "Riverton Police").all() and (street["Falls within"] == "Riverton Police").all()
    assert (street.Month.str[:4] + "-" + street.Month.str[5:] == street.Month).all()


def test_police_quirks_at_stated_rates(street):
    asb = street["Crime type"] == "Anti-social behaviour"
    assert (street.loc[asb, "Crime ID"] == "").all()
    assert (street.loc[asb, "Last outcome category"] == "").all()
    crimes = street[~asb]
    assert crimes["Crime ID"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert (crimes["Last outcome category"] != "").all()
    dup_share = crimes["Crime ID"].duplicated().mean()
    assert 0.01 <= dup_share <= 0.03
    no_coords = street.Longitude == ""
    assert 0.035 <= no_coords.mean() <= 0.07
    assert (street.loc[no_coords, ["Latitude", "LSOA code", "LSOA name"]] == "").all().all()
    assert (street.loc[no_coords, "Location"] == "No Location").all()
    located = street[~no_coords]
    assert located.Location.str.startswith("On or near ").all()
    outside = located["LSOA code"].str.startswith("E0191")
    assert 0 < outside.sum() < 0.01 * len(street)
    assert located.loc[outside, "LSOA name"].str.match(r"^(Eastfold|Westbury) \d{3}[A-Z]$").all()
    assert located[["Longitude", "Latitude"]].apply(lambda c: c.str.fullmatch(r"-?\d+\.\d{6}")).all().all()
    # anonymised map points: a fixed set, each always with the same description and LSOA
    points = located.groupby(["Longitude", "Latitude"]).agg(loc=("Location", "nunique"), lsoa=("LSOA code", "nunique"))
    assert 1_000 <= len(points) <= 1_600
    assert (points["loc"] == 1).all() and (points["lsoa"] == 1).all()
    outcomes = set(crimes["Last outcome category"])
    assert {"Investigation complete; no suspect identified", "Unable to prosecute suspect",
            "Under investigation", "Awaiting court outcome", "Offender given a caution"} <= outcomes


def test_street_lsoa_is_the_small_area_containing_the_point(raw, street):
    sa = gpd.read_file(raw / "geography" / "small_areas.gpkg", layer="small_areas")
    located = street[(street.Longitude != "") & ~street["LSOA code"].str.startswith("E0191")]
    pts = located.drop_duplicates(["Longitude", "Latitude"])
    joined = gpd.sjoin(gpd.GeoDataFrame(pts, geometry=gpd.points_from_xy(pts.x, pts.y), crs=27700),
                       sa[["sa_code", "geometry"]], predicate="within")
    assert len(joined) >= 0.99 * len(pts)
    assert (joined["LSOA code"] == joined["sa_code"]).mean() > 0.99


def test_outcomes_one_row_per_crime_with_an_outcome(raw, street):
    files = sorted((raw / "police").glob("*/*-riverton-outcomes.csv"))
    out = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files], ignore_index=True)
    assert not out["Crime ID"].duplicated().any()
    crimes = street[street["Crime type"] != "Anti-social behaviour"].drop_duplicates("Crime ID")
    merged = out.merge(crimes, on="Crime ID", suffixes=("", "_crime"), validate="one_to_one")
    assert len(merged) == len(out)
    assert (merged.Month >= merged.Month_crime).all()
    assert (merged.Location.where(merged.Location != "No location", "No Location") == merged.Location_crime).all()
    assert not out["Outcome type"].isin(["Under investigation", "Status update unavailable", ""]).any()
    settled = ~crimes["Last outcome category"].isin(["Under investigation", "Status update unavailable"])
    assert settled.sum() == len(out)


# ------------------------------------------------------------------------------- planted patterns

def test_pattern_town_centre_violence_hotspot(street, boundary):
    v = street[(street["Crime type"] == "Violence and sexual offences") & street.x.notna()]
    near = np.hypot(v.x - TC[0], v.y - TC[1]) <= 400
    density_tc = near.sum() / (np.pi * 0.4**2)
    density_all = len(v) / (boundary.area / 1e6)
    assert density_tc >= 10 * density_all


def test_pattern_burglary_cluster_only_in_year_three(street):
    b = street[(street["Crime type"] == "Burglary") & street.x.notna()]
    near = b[np.hypot(b.x - CLUSTER[0], b.y - CLUSTER[1]) <= 350]
    per_year = near.groupby("year").size().reindex(["2023", "2024", "2025"], fill_value=0)
    assert per_year["2025"] >= 2 * per_year["2023"]
    assert per_year["2025"] >= 2 * per_year["2024"]
    assert per_year["2024"] < 1.5 * per_year["2023"] + 5


def test_pattern_asb_peaks_each_summer(street):
    asb = _monthly(street, "Anti-social behaviour")
    month = np.array([int(m[5:]) for m in MONTHS])
    summer = asb[np.isin(month, [6, 7, 8])].mean()
    winter = asb[np.isin(month, [12, 1, 2])].mean()
    assert summer > 1.3 * winter
    for year in ("2023", "2024", "2025"):
        yearly = asb[[m for m in MONTHS if m.startswith(year)]]
        assert yearly.idxmax()[5:] in {"06", "07", "08"}


def test_pattern_vehicle_crime_falls_steadily(street):
    v = street[street["Crime type"] == "Vehicle crime"].groupby("year").size()
    assert v["2024"] < v["2023"] and v["2025"] < v["2024"]
    assert v["2025"] < 0.85 * v["2023"]


def test_pattern_public_order_series_break(street):
    po = _monthly(street, "Public order")
    before = po[[m for m in MONTHS if m < "2024-04"]]
    after = po[[m for m in MONTHS if m >= "2024-04"]]
    assert after.mean() >= 1.25 * before.mean()
    for side in (before, after):
        fit = stats.linregress(np.arange(len(side)), side.to_numpy())
        assert fit.pvalue > 0.05


# ------------------------------------------------------------------------------------- geography

def test_small_areas_population_and_fields(raw):
    sa = gpd.read_file(raw / "geography" / "small_areas.gpkg", layer="small_areas")
    assert sa.crs.to_epsg() == 27700
    assert 90 <= len(sa) <= 115
    assert sa.sa_code.str.fullmatch(r"E019\d{5}").all() and sa.sa_code.is_unique
    assert sa.sa_name.str.fullmatch(r"Riverton \d{3}[A-Z]").all()
    bands = ["pop_0_15", "pop_16_24", "pop_25_44", "pop_45_64", "pop_65_plus"]
    assert (sa[bands].sum(axis=1) == sa.pop_total).all()
    assert 145_000 <= sa.pop_total.sum() <= 155_000
    assert (sa.households < sa.pop_total).all() and (sa.households > 0).all()
    # uneven: the densest area is many times denser than the sparsest
    density = sa.pop_total / sa.area
    assert density.max() > 20 * density.min()


def test_wards_two_versions_three_redrawn_and_tiling(raw, boundary):
    w19 = gpd.read_file(raw / "geography" / "wards_2019.geojson")
    w24 = gpd.read_file(raw / "geography" / "wards_2024.geojson")
    assert w19.crs.to_epsg() == 27700 and w24.crs.to_epsg() == 27700
    assert '"crs"' in (raw / "geography" / "wards_2019.geojson").read_text()
    assert 18 <= len(w19) <= 22 and len(w24) == len(w19)
    assert w19.ward_code.str.fullmatch(r"E059\d{5}").all()
    gone = set(w19.ward_code) - set(w24.ward_code)
    new = set(w24.ward_code) - set(w19.ward_code)
    assert len(gone) == 3 and len(new) == 3
    same = w19.merge(w24, on="ward_code")
    assert len(same) == len(w19) - 3
    assert all(a.symmetric_difference(b).area < 1.0 for a, b in zip(same.geometry_x, same.geometry_y))
    # the redrawn wards cover the same ground with different lines
    old = shapely.union_all(w19[w19.ward_code.isin(gone)].geometry.to_numpy())
    redrawn = shapely.union_all(w24[w24.ward_code.isin(new)].geometry.to_numpy())
    assert old.symmetric_difference(redrawn).area < 200.0  # coordinates are written to 1 cm
    for w in (w19, w24):
        assert abs(w.area.sum() - boundary.area) < 100.0
        assert shapely.union_all(w.geometry.to_numpy()).symmetric_difference(boundary).area < 100.0
    assert 12e6 * 9e3 / 1e3 < boundary.area < 15e3 * 12e3
    minx, miny, maxx, maxy = boundary.bounds
    assert minx >= 432000 and maxx <= 447000 and miny >= 284000 and maxy <= 296000


def test_small_areas_mostly_nest_some_straddle(raw):
    sa = gpd.read_file(raw / "geography" / "small_areas.gpkg", layer="small_areas")
    w19 = gpd.read_file(raw / "geography" / "wards_2019.geojson")
    pieces = gpd.overlay(sa[["sa_code", "geometry"]], w19[["ward_code", "geometry"]], keep_geom_type=True)
    pieces["a"] = pieces.area
    share = pieces.groupby("sa_code").a.max() / pieces.groupby("sa_code").a.sum()
    assert 2 <= (share < 0.95).sum() <= 12
    assert (share > 0.999).mean() > 0.85


def _kml_polygon(path: Path) -> tuple[str, list[list[float]]]:
    root = ET.parse(path).getroot()
    assert root.tag == f"{KML}kml"
    placemarks = root.findall(f".//{KML}Placemark")
    assert len(placemarks) == 1
    name = placemarks[0].find(f"{KML}name").text
    coords = placemarks[0].find(f".//{KML}Polygon//{KML}coordinates").text.split()
    return name, [[float(v) for v in c.split(",")] for c in coords]


def test_neighbourhood_kml_quirks_and_not_coterminous(raw, boundary):
    files = sorted((raw / "geography" / "neighbourhoods" / "riverton").glob("*.kml"))
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    polys, with_z, invalid = [], 0, 0
    for f in files:
        name, coords = _kml_polygon(f)
        assert name and not name.startswith("RIV")
        dims = {len(c) for c in coords}
        assert dims in ({2}, {3})
        with_z += dims == {3}
        arr = np.array(coords)
        assert (-2.5 < arr[:, 0]).all() and (arr[:, 0] < 0).all() and (52 < arr[:, 1]).all() and (arr[:, 1] < 53).all()
        x, y = to_bng.transform(arr[:, 0], arr[:, 1])
        poly = shapely.Polygon(np.column_stack([x, y]))
        invalid += not poly.is_valid
        polys.append(shapely.make_valid(poly))
    assert with_z == 1 and invalid == 1
    hoods = gpd.GeoDataFrame({"hood": [f.stem for f in files]}, geometry=polys, crs=27700)
    assert abs(shapely.union_all(hoods.geometry.to_numpy()).area - boundary.area) < 0.02 * boundary.area
    w19 = gpd.read_file(raw / "geography" / "wards_2019.geojson")
    pieces = gpd.overlay(w19[["ward_code", "geometry"]], hoods, keep_geom_type=True)
    pieces["a"] = pieces.area
    best = pieces.groupby("ward_code").a.max() / pieces.groupby("ward_code").a.sum()
    assert (best < 0.9).sum() >= 5  # many wards split between neighbourhoods


# -------------------------------------------------------------------------------------- partners

def test_fire_incidents(raw):
    fire = pd.read_csv(raw / "fire" / "deliberate_fires.csv", dtype={"easting": int, "northing": int})
    when = pd.to_datetime(fire.call_datetime, format="%d/%m/%Y %H:%M")
    per_year = when.dt.year.value_counts()
    assert ((per_year > 200) & (per_year < 800)).all()
    assert set(fire.incident_type) == {"Primary deliberate fire", "Secondary deliberate fire"}
    assert (fire.incident_type == "Secondary deliberate fire").mean() > 0.5
    evening = when.dt.hour.between(17, 22).mean()
    morning = when.dt.hour.between(5, 10).mean()
    assert evening > 3 * morning
    assert fire.easting.between(430000, 449000).all() and fire.northing.between(282000, 298000).all()
    assert fire.incident_number.is_unique


def test_ed_assaults_small_counts_where_violence_is(raw):
    ed = pd.read_csv(raw / "health" / "ed_assaults_by_area_month.csv", dtype={"month": str})
    sa = gpd.read_file(raw / "geography" / "small_areas.gpkg", layer="small_areas")
    assert set(ed.lsoa_code) <= set(sa.sa_code)
    assert ed.month.str.fullmatch(r"202[345]-\d{2}").all()
    assert (ed.assault_attendances < 5).mean() > 0.6
    assert (ed.assault_attendances >= 1).all()
    totals = ed.groupby("lsoa_code").assault_attendances.sum()
    centres = sa.set_index("sa_code").geometry.centroid
    dist = np.hypot(centres.x - TC[0], centres.y - TC[1]).reindex(totals.index)
    assert totals[dist < 800].sum() > 0.3 * totals.sum()
    profile = pd.read_csv(raw / "health" / "ed_assaults_time_profile.csv")
    assert list(profile.columns) == ["day_of_week", "hour_band", "assault_method", "location_type", "attendances"]
    assert profile.attendances.sum() == ed.assault_attendances.sum()


def test_ambulance_callouts_follow_hotspot_at_night(raw, boundary):
    amb = pd.read_csv(raw / "ambulance" / "assault_callouts.csv")
    when = pd.to_datetime(amb.call_datetime, format="%Y-%m-%dT%H:%M:%S")
    assert ((when >= "2023-01-01") & (when < "2026-01-01")).all()
    night = (when.dt.hour >= 20) | (when.dt.hour < 4)
    assert night.mean() > 0.5
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(amb.longitude, amb.latitude)
    near = np.hypot(x - TC[0], y - TC[1]) <= 400
    assert near.sum() / (np.pi * 0.16) > 8 * len(amb) / (boundary.area / 1e6)
    assert set(amb.call_category) <= {"Assault", "Assault - sexual", "Assault - stab or gunshot"}


def test_council_xlsx_layout_and_cp1252_csv(raw):
    from openpyxl import load_workbook

    wb = load_workbook(raw / "council" / "asb_environmental_reports.xlsx", read_only=True)
    ws = wb["Reports"]
    rows = ws.iter_rows(min_row=1, max_row=4, values_only=True)
    title, blank, header, first = list(rows)
    assert isinstance(title[0], str) and "Riverton" in title[0]
    assert all(v is None for v in blank)
    assert list(header) == ["Ref", "Date Reported", "Report Type", "Street", "Easting", "Northing"]
    assert isinstance(first[1], str) and re.fullmatch(r"\d{2}/\d{2}/\d{4}", first[1])
    wb.close()
    xl = pd.read_excel(raw / "council" / "asb_environmental_reports.xlsx", sheet_name="Reports", header=2, dtype=str)
    data = (raw / "council" / "asb_environmental_reports.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    csv = pd.read_csv(raw / "council" / "asb_environmental_reports.csv", encoding="cp1252", dtype=str)
    pd.testing.assert_frame_equal(xl.reset_index(drop=True), csv)
    assert csv.Street.str.contains("[éèôüëç]").any()
    assert set(csv["Report Type"]) == {"Graffiti", "Fly-tipping", "Noise", "Nuisance neighbours", "Abandoned vehicle"}
    assert pd.to_datetime(csv["Date Reported"], format="%d/%m/%Y").between("2023-01-01", "2025-12-31").all()


def test_licensed_premises(raw):
    lp = pd.read_csv(raw / "licensing" / "licensed_premises.csv", dtype=str)
    assert 100 <= len(lp) <= 140 and lp.premises_ref.is_unique
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(
        lp.longitude.astype(float), lp.latitude.astype(float))
    assert (np.hypot(x - TC[0], y - TC[1]) < 1000).mean() > 0.4
    assert set(lp.late_night_licence) == {"Y", "N"}
    late = lp[lp.late_night_licence == "Y"]
    assert late.closing_time.isin(["00:00", "00:30", "01:00", "02:00", "03:00"]).all()
    assert lp.closing_time.str.fullmatch(r"\d{2}:\d{2}").all()
    assert lp.postcode.str.fullmatch(r"RV\d{1,2} \d[A-Z]{2}").all()


def test_yos_first_time_entrants(raw):
    yos = pd.read_csv(raw / "yos" / "first_time_entrants.csv")
    w19 = set(gpd.read_file(raw / "geography" / "wards_2019.geojson").ward_code)
    w24 = set(gpd.read_file(raw / "geography" / "wards_2024.geojson").ward_code)
    assert yos.quarter.nunique() == 12
    early = yos.quarter <= "2024-Q2"
    assert set(yos.ward_code[early]) == w19 and set(yos.ward_code[~early]) == w24
    assert (yos.first_time_entrants == 0).mean() > 0.3 and yos.first_time_entrants.sum() > 30


def test_violence_nominals_plant_repeat_involvement(raw):
    nom = pd.read_csv(raw / "nominals" / "violence_nominals.csv", dtype=str)
    assert list(nom.columns) == ["pnc_id", "date_of_birth", "role", "crime_ref", "incident_date", "ward_code"]
    assert nom.pnc_id.str.fullmatch(r"\d{2}/\d{6}[A-Z]").all()
    dob = pd.to_datetime(nom.date_of_birth, format="%d/%m/%Y")
    date = pd.to_datetime(nom.incident_date, format="%Y-%m-%d")
    assert date.min() < pd.Timestamp("2018-02-01") and date.max() > pd.Timestamp("2025-11-30")
    assert date.max() <= pd.Timestamp("2025-12-31")
    assert ((date - dob).dt.days / 365.25).between(10, 100).all()
    assert (nom.groupby("pnc_id").date_of_birth.nunique() == 1).all()
    assert set(nom.role) == {"victim", "offender"}
    nom["date"] = date
    for role, low, high in (("victim", 0.18, 0.32), ("offender", 0.27, 0.42)):
        r = nom[nom.role == role].sort_values(["pnc_id", "date"])
        gap = r.groupby("pnc_id").date.diff().dt.days
        again = (gap <= 365).groupby(r.pnc_id).any()
        assert low <= again.mean() <= high, (role, again.mean())
    both = set(nom.pnc_id[nom.role == "victim"]) & set(nom.pnc_id[nom.role == "offender"])
    assert len(both) > 50
    w19 = set(gpd.read_file(raw / "geography" / "wards_2019.geojson").ward_code)
    w24 = set(gpd.read_file(raw / "geography" / "wards_2024.geojson").ward_code)
    early = date < "2024-05-01"
    assert nom.ward_code[early].isin(w19).all() and nom.ward_code[~early].isin(w24).all()


def test_residents_survey(raw):
    raw_text = (raw / "survey" / "residents_survey_2025.csv").read_text(encoding="utf-8")
    survey = pd.read_csv(raw / "survey" / "residents_survey_2025.csv", dtype=str, keep_default_na=False)
    assert 1_100 <= len(survey) <= 1_300
    scale = ["Very safe", "Fairly safe", "Neither safe nor unsafe", "Fairly unsafe", "Very unsafe"]
    assert set(survey.safe_after_dark) == set(scale)
    # the demo is for partners: no test payload (markup) is planted in it; tests inject their own
    assert not survey.comments.str.contains(r"<\s*/?\s*[a-zA-Z][^>]*>", regex=True).any()
    assert survey.comments.str.contains(",").any() and survey.comments.str.contains('"').any()
    assert '""' in raw_text  # quotes inside a quoted field are doubled
    assert (survey.concern_1 != "").all()
    filled = survey[survey.concern_3 != ""]
    assert (filled.concern_1 != filled.concern_2).all() and (filled.concern_2 != filled.concern_3).all()
    w24 = gpd.read_file(raw / "geography" / "wards_2024.geojson")
    assert survey.ward_code.isin(set(w24.ward_code)).all()
    central = w24.ward_code[w24.contains(shapely.Point(TC))].iat[0]
    unsafe = survey.safe_after_dark.isin(["Fairly unsafe", "Very unsafe"])
    assert unsafe[survey.ward_code == central].mean() > unsafe.mean() + 0.1


def test_previous_strategy(raw):
    doc = yaml.safe_load((raw / "strategy" / "previous_strategy.yaml").read_text(encoding="utf-8"))
    assert len(doc["priorities"]) >= 4 and len(doc["targets"]) >= 8
    ids = {p["id"] for p in doc["priorities"]}
    smart_fields = {"metric", "baseline", "baseline_year", "direction", "size", "deadline", "owner"}
    smart = [t for t in doc["targets"] if smart_fields <= set(t)]
    vague = [t for t in doc["targets"] if "metric" not in t]
    assert len(smart) >= 3 and len(vague) >= 3
    assert all(t["priority"] in ids and t["text"] for t in doc["targets"])
    assert {"Work to reduce ASB", "Encourage reporting of hate crime", "Monitor night-time economy",
            "Support victims of domestic abuse"} <= {t["text"] for t in vague}


def test_peer_group_riverton_row_recomputed_from_raw(raw, street):
    peers = pd.read_csv(raw / "peers" / "most_similar_group.csv")
    assert len(peers) == 15 and peers.csp_code.is_unique
    sa = gpd.read_file(raw / "geography" / "small_areas.gpkg", layer="small_areas")
    riv = peers[peers.csp_name == "Riverton"].iloc[0]
    assert riv.population == sa.pop_total.sum()
    crimes = street[(street["Crime type"] != "Anti-social behaviour") & (street.year == "2023")]
    counts = crimes.drop_duplicates("Crime ID").groupby("Crime type").size()
    for crime_type, n in counts.items():
        column = crime_type.lower().replace(" ", "_")
        assert riv[column] == pytest.approx(round(n / riv.population * 1000, 2), abs=0.006), crime_type
    assert riv.total_recorded_crime == pytest.approx(len(crimes.drop_duplicates("Crime ID")) / riv.population * 1000,
                                                     abs=0.01)
    rates = peers.drop(columns=["csp_code", "csp_name", "population"])
    assert (rates > 0).all().all()
    assert rates.total_recorded_crime.between(40, 160).all()
