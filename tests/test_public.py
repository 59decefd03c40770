"""`assess init` from public files: the real City of London ONS extracts and police files."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from assessment import paths
from assessment.catalogue import load_catalogue
from assessment.errors import CatalogueError
from assessment.intake.public import (
    init_partnership,
    public_authorities,
    public_deprivation,
    public_files,
    public_residents,
)

ONS = paths.SHARED_DATA_DIR / "ons" / "city-of-london"


@pytest.fixture(scope="module")
def ons_dir() -> Path:
    if not ONS.is_dir():
        pytest.skip(f"real ONS extracts not found at {ONS} (../shared is absent on this machine)")
    return ONS


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"a network connection was attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_files_recognised_by_fields_not_names(ons_dir, tmp_path):
    # rename every file to something meaningless: recognition must come from the fields
    for i, f in enumerate(sorted(ons_dir.iterdir())):
        (tmp_path / f"download_{i}{f.suffix}").write_bytes(f.read_bytes())
    roles = sorted((f.role, f.vintage) for f in public_files(tmp_path))
    assert roles == sorted([("wards", 2025), ("lsoa21", 2021), ("lsoa11", 2011), ("residents", 2021),
                            ("deprivation", None)])


def test_authority_by_code_or_name(ons_dir):
    files = public_files(ons_dir)
    by_code = public_authorities(files, ["E09000001"])
    by_name = public_authorities(files, ["city of london"])
    assert by_code.to_dict("records") == by_name.to_dict("records") == [{"code": "E09000001", "name": "City of London"}]
    with pytest.raises(CatalogueError, match="must name a local authority"):
        public_authorities(files, ["Nowhere"])


def test_residents_long_and_wide_agree(ons_dir, tmp_path):
    long = public_residents(ons_dir / "census2021_usual_residents_lsoa_age6.csv")
    raw = pd.read_csv(ons_dir / "census2021_usual_residents_lsoa_age6.csv")
    assert long["count"].sum() == raw["usual_residents"].sum() == 8584
    # the same figures as a census bulk (wide) table, one column per band
    wide = raw.pivot_table(index="lsoa21_code", columns="age_group", values="usual_residents").reset_index()
    wide.columns = ["geography code", *[f"Age: {c}" for c in wide.columns[1:]]]
    wide["Age: Total"] = wide.iloc[:, 1:].sum(axis=1)
    wide.to_csv(tmp_path / "bulk.csv", index=False)
    again = public_residents(tmp_path / "bulk.csv")
    assert again["count"].sum() == 8584
    merged = long.merge(again, on=["code", "band"], suffixes=("_long", "_wide"))
    assert len(merged) == len(long) == 36
    assert (merged["count_long"] == merged["count_wide"]).all()


def test_deprivation_columns(ons_dir):
    d = public_deprivation(ons_dir / "imd2019_lsoa2011.csv")
    assert len(d) == 6 and d["code"].str.startswith("E01").all()
    assert {"index_of_multiple_deprivation_imd_rank", "index_of_multiple_deprivation_imd_decile",
            "crime_rank", "crime_decile"} <= set(d.columns)


def test_init_city_of_london_offline(ons_dir, shared_police_dir, tmp_path, no_network, monkeypatch):
    monkeypatch.setenv("ASSESSMENT_PSEUDONYM_KEY", "test-key")
    result = init_partnership(tmp_path / "col", ["E09000001"], ons_dir, police=shared_police_dir)
    cat = load_catalogue(result.catalogue)
    assert cat.partnership.window.start == "2016-01" and cat.partnership.window.end == "2017-06"
    assert cat.partnership.force == "city-of-london"
    sa = gpd.read_file(cat.geography_path("small_areas"), layer="small_areas")
    # the residents total of the census extract, carried onto the small areas
    assert sa["pop_total"].sum() == 8584 == result.residents
    assert sa["index_of_multiple_deprivation_imd_decile"].notna().all()
    dep = cat.geography("small_areas").deprivation
    assert dep.decile == "index_of_multiple_deprivation_imd_decile" and dep.rank.endswith("imd_rank")
    assert dep.domains["crime"] == "imd_crime_decile"
    # the City's LSOA codes are unchanged from 2011 to 2021: each keeps its own published decile
    imd = pd.read_csv(ons_dir / "imd2019_lsoa2011.csv").set_index("lsoa11_code")
    assert (sa.set_index("code")["imd_crime_decile"] == imd["crime_decile"].reindex(sa["code"])).all()
    wards = gpd.read_file(cat.geography_path("wards"))
    assert len(wards) == 25 and wards.crs.to_epsg() == 27700
    text = result.catalogue.read_text()
    assert "Open Government Licence v3.0" in text and "as drawn in 2025, applied to every month" in text
    # the police files are copied whole (the catalogue's paths stay inside its data root)
    street = sorted(cat.dataset_files("recorded_crime"))
    assert len(street) == 18
    src = sorted(shared_police_dir.glob("*/*-street.csv"))
    assert [f.read_bytes() for f in street] == [f.read_bytes() for f in src]
    # the force's area is the partnership's: the files' rows without a location are its own
    assert cat.datasets["recorded_crime"].covers == "partnership"
    assert "covers: partnership" in text
    # never overwrite what the user may have edited
    with pytest.raises(CatalogueError, match="never overwrites"):
        init_partnership(tmp_path / "col", ["E09000001"], ons_dir)


def test_init_judges_police_files_of_a_shared_force_as_covering_the_force(ons_dir, shared_police_dir, tmp_path,
                                                                         no_network, monkeypatch):
    """Police files that also hold rows far from the partnership (a force of several partnerships) are
    written as covers: force: their rows without a location are quarantined, in no total."""
    import datetime as dt

    from assessment.intake.harmonise import intake_catalogue

    monkeypatch.setenv("ASSESSMENT_PSEUDONYM_KEY", "test-key")
    police = tmp_path / "police"
    shutil.copytree(shared_police_dir, police)
    first = sorted(police.glob("*/*-street.csv"))[0]
    rows = pd.read_csv(first, dtype=str, keep_default_na=False)
    # another partnership's rows, about 20 km west of the City (more than 1% of the located rows)
    far = rows[rows["Longitude"] != ""].head(200).copy()
    far["Longitude"] = (far["Longitude"].astype(float) - 0.3).map("{:.6f}".format)
    pd.concat([rows, far]).to_csv(first, index=False)
    result = init_partnership(tmp_path / "col", ["E09000001"], ons_dir, police=police)
    cat = load_catalogue(result.catalogue)
    assert cat.datasets["recorded_crime"].covers == "force"
    assert any("located street rows lie more than 1 km outside" in n and "covers: force" in n for n in result.notes)
    # the City's searches carry no location, so none can be placed either (judged as the street files)
    assert cat.datasets["police_stop_search"].covers == "force"
    res = intake_catalogue(cat, None, run_date=dt.date(2026, 11, 25), errors="collect")
    raw = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False)
                     for f in sorted(police.glob("*/*-street.csv"))])
    q = res.quality.set_index("dataset").loc["recorded_crime"]
    assert q["quarantined_coordinates_missing"] == int((raw["Longitude"] == "").sum()) > 0
    assert q["not_geocoded"] == 0


@pytest.mark.parametrize("shared", [True, False])
def test_searches_without_a_location_are_judged_by_the_forces_neighbourhoods(ons_dir, shared_police_dir, tmp_path,
                                                                             no_network, monkeypatch, shared):
    """The City's searches carry no location and its street rows all lie inside: the street files say
    nothing about whether the force polices other partnerships, but its neighbourhoods do. A force with
    a neighbourhood 20 km away shares its searches with another partnership (covers: force)."""
    monkeypatch.setenv("ASSESSMENT_PSEUDONYM_KEY", "test-key")
    files = tmp_path / "files"
    shutil.copytree(ons_dir, files)
    _neighbourhood_kml(files / "boundaries" / "city-of-london",
                       {"cs": ("Castle Baynard", 0.0), "cn": ("Cornhill", -0.3 if shared else 0.0)})
    stops = [f for f in sorted(shared_police_dir.glob("*/*-stop-and-search.csv"))]
    assert stops and all((pd.read_csv(f, dtype=str, keep_default_na=False)["Longitude"] == "").all() for f in stops)
    result = init_partnership(tmp_path / "col", ["E09000001"], files, police=shared_police_dir)
    cat = load_catalogue(result.catalogue)
    assert cat.datasets["recorded_crime"].covers == "partnership"  # judged by its own located rows
    want = "force" if shared else "partnership"
    assert cat.datasets["police_stop_search"].covers == want
    note = next(n for n in result.notes if n.startswith("no stop-and-search row has a location"))
    assert f"{1 if shared else 0} of the force's 2 police neighbourhoods lie outside the partnership" in note
    assert f"(covers: {want})" in note


def test_the_forces_own_neighbourhood_folder_is_used_among_several(ons_dir, shared_police_dir, tmp_path, no_network,
                                                                     monkeypatch):
    """data.police.uk's boundary download holds a folder per force: the partnership's force's folder
    decides, not the first in the listing (here another force, all of whose neighbourhoods lie away)."""
    monkeypatch.setenv("ASSESSMENT_PSEUDONYM_KEY", "test-key")
    files = tmp_path / "files"
    shutil.copytree(ons_dir, files)
    _neighbourhood_kml(files / "boundaries" / "avon-and-somerset", {"cs": ("Far A", -2.0), "cn": ("Far B", -2.0)})
    _neighbourhood_kml(files / "boundaries" / "city-of-london", {"cs": ("Castle Baynard", 0.0), "cn": ("Cornhill", 0.0)})
    result = init_partnership(tmp_path / "col", ["E09000001"], files, police=shared_police_dir)
    cat = load_catalogue(result.catalogue)
    assert cat.datasets["police_stop_search"].covers == "partnership"
    note = next(n for n in result.notes if n.startswith("no stop-and-search row has a location"))
    assert "0 of the force's 2 police neighbourhoods lie outside" in note
    hoods = gpd.read_file(cat.geography_path("neighbourhoods"))
    assert set(hoods["code"]) <= {"cs", "cn"} and len(hoods) >= 1


def test_searches_without_a_location_and_no_neighbourhoods_are_said_to_be_assumed(ons_dir, shared_police_dir,
                                                                                 tmp_path, no_network, monkeypatch):
    monkeypatch.setenv("ASSESSMENT_PSEUDONYM_KEY", "test-key")
    result = init_partnership(tmp_path / "col", ["E09000001"], ons_dir, police=shared_police_dir)
    note = next(n for n in result.notes if n.startswith("no stop-and-search row has a location"))
    assert "assumed as the street files" in note and "no police neighbourhood boundaries" in note


def test_two_authorities_make_one_partnership(ons_dir, tmp_path, no_network):
    # split the real wards between two authorities: init must build one partnership from both
    src = json.loads((ons_dir / "wards_2025.geojson").read_text())
    for i, feat in enumerate(src["features"]):
        if i % 2:
            feat["properties"]["LAD25CD"] = "E09000099"
            feat["properties"]["LAD25NM"] = "Testborough"
    files = tmp_path / "files"
    files.mkdir()
    (files / "wards.geojson").write_text(json.dumps(src))
    for name in ("lsoa_2021.geojson", "census2021_usual_residents_lsoa_age6.csv"):
        (files / name).write_bytes((ons_dir / name).read_bytes())
    one = init_partnership(tmp_path / "one", ["City of London"], files, window="2024-01:2024-12")
    both = init_partnership(tmp_path / "both", ["City of London", "E09000099"], files, window="2024-01:2024-12")
    w_one = gpd.read_file(tmp_path / "one" / "data" / "geography" / "wards_2025.geojson")
    w_both = gpd.read_file(tmp_path / "both" / "data" / "geography" / "wards_2025.geojson")
    assert len(w_one) == 13 and len(w_both) == 25
    cat = load_catalogue(both.catalogue)
    assert cat.partnership.code == "E09000001+E09000099"
    assert cat.partnership.short_name == "City of London and Testborough"
    part = gpd.read_file(cat.geography_path("partnership"))
    assert part.geometry.area.sum() == pytest.approx(w_both.geometry.area.sum(), rel=1e-6)
    assert both.residents == 8584


def _neighbourhood_kml(folder: Path, hoods: dict[str, tuple[str, float]]) -> None:
    """data.police.uk's neighbourhood download (<force>/<id>.kml) from the recorded API boundaries,
    each moved ``shift`` degrees of longitude."""
    folder.mkdir(parents=True)
    recorded = Path(__file__).parent / "fixtures" / "police_api"
    for hood, (name, shift) in hoods.items():
        pts = json.loads((recorded / f"city-of-london_{hood}_boundary.json").read_text())
        ring = " ".join(f"{float(p['longitude']) + shift},{p['latitude']}" for p in pts + pts[:1])
        (folder / f"{hood}.kml").write_text(
            '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
            f"<Placemark><name>{name}</name><Polygon><outerBoundaryIs><LinearRing><coordinates>{ring}"
            "</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></Document></kml>")


def test_police_neighbourhood_kml_folder_becomes_a_geography(ons_dir, tmp_path, no_network):
    # data.police.uk's neighbourhood download: <force>/<neighbourhood-id>.kml, here from the recorded API boundaries
    files = tmp_path / "files"
    shutil.copytree(ons_dir, files)
    _neighbourhood_kml(files / "boundaries" / "city-of-london", {"cs": ("Castle Baynard", 0.0), "cn": ("Cornhill", 0.0)})
    assert ("neighbourhoods", None) in {(f.role, f.vintage) for f in public_files(files)}
    result = init_partnership(tmp_path / "col", ["E09000001"], files, window="2024-01:2024-12")
    cat = load_catalogue(result.catalogue)
    hoods = gpd.read_file(cat.geography_path("neighbourhoods"))
    # only neighbourhoods whose interior point lies in the City are kept, with their real boundaries
    wards = gpd.read_file(cat.geography_path("wards")).union_all()
    assert len(hoods) >= 1 and hoods.representative_point().within(wards).all()
    assert set(hoods["code"]) <= {"cs", "cn"} and hoods.crs.to_epsg() == 27700
