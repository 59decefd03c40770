"""assess batch: three small synthetic partnerships on a local cluster of two workers, one made to fail."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from assessment import cli
from assessment.batch import find_catalogues, read_national_comparison, run_batch
from assessment.demo.country import write_synthetic_country

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def country(tmp_path_factory) -> tuple[Path, list]:
    dest = tmp_path_factory.mktemp("country")
    made = write_synthetic_country(dest, 3, seed=7, mean_size=0.15)
    return dest, made


@pytest.fixture(scope="module")
def batch_runs(country, tmp_path_factory):
    """Run the batch twice (the second run resumes); the middle partnership's boundary is broken."""
    dest, made = country
    broken = made[1]
    (dest / "partnerships" / broken.code / "geography" / "partnership.geojson").write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Polygon", '
        '"coordinates": "not coordinates"}}]}', encoding="utf-8")
    out = tmp_path_factory.mktemp("batch_out")
    first = cli.main(["batch", str(dest / "partnerships"), "--out", str(out), "--workers", "2"])
    summary_first = pd.read_csv(out / "batch_summary.csv", dtype=str, keep_default_na=False)
    second_lines: list[str] = []
    second = run_batch(dest / "partnerships", out, workers=2, progress=second_lines.append)
    return {"out": out, "made": made, "broken": broken, "first_code": first, "first": summary_first,
            "second": second, "second_lines": second_lines}


def test_synthetic_country_varies_and_shares_force_files(country):
    dest, made = country
    assert len(made) == 3
    assert len({p.residents for p in made}) == 3 and len({p.police_rows for p in made}) == 3
    assert len({p.urban for p in made}) == 3
    forces = {p.force for p in made}
    files = sorted((dest / "forces").glob("*/police/*/*-street.csv"))
    # One force's monthly files hold several partnerships' rows: 36 months x the forces, no more.
    assert len(files) == 36 * len(forces)
    assert len(forces) < 3
    total = sum(len(pd.read_csv(f, dtype=str)) for f in files)
    assert total == sum(p.police_rows for p in made)
    index = pd.read_csv(dest / "partnerships.csv", dtype={"code": str})
    assert list(index["code"]) == [p.code for p in made]


def test_batch_renders_the_others_and_reports_the_failure(batch_runs):
    out, made, broken = batch_runs["out"], batch_runs["made"], batch_runs["broken"]
    assert batch_runs["first_code"] == 1
    first = batch_runs["first"].set_index("code")
    for p in made:
        if p is broken:
            assert first.loc[p.code, "status"] == "failed"
            assert "partnership.geojson" in first.loc[p.code, "message"]
        else:
            assert first.loc[p.code, "status"] == "rendered", first.loc[p.code, "message"]
            html = (out / p.code / "strategic_assessment.html").read_text(encoding="utf-8")
            assert p.name in html
            assert (out / p.code / "manifest.json").is_file()
    assert not (out / broken.code / "strategic_assessment.html").exists()


def test_rerun_resumes(batch_runs):
    second = {o.code: o for o in batch_runs["second"]}
    broken = batch_runs["broken"].code
    assert {c for c, o in second.items() if o.status == "skipped"} == {p.code for p in batch_runs["made"]} - {broken}
    assert second[broken].status == "failed" and second[broken].message
    assert any(line.startswith(f"{broken}") or broken in line for line in batch_runs["second_lines"])


def test_national_comparison_matches_an_independent_count(batch_runs, country):
    """Counts by crime type equal a direct count of the force files' located rows inside each boundary."""
    dest, made = country
    table = read_national_comparison(batch_runs["out"])
    ok = [p for p in made if p is not batch_runs["broken"]]
    assert set(table["partnership_code"]) == {p.code for p in ok}
    for p in ok:
        boundary = gpd.read_file(dest / "partnerships" / p.code / "geography" / "partnership.geojson")
        boundary = boundary.set_crs("EPSG:27700", allow_override=True)
        rows = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False)
                          for f in sorted((dest / "forces" / p.force).glob("police/*/*-street.csv"))])
        located = rows[rows["Longitude"] != ""]
        pts = gpd.GeoSeries(gpd.points_from_xy(located["Longitude"].astype(float), located["Latitude"].astype(float)),
                            crs="EPSG:4326").to_crs("EPSG:27700")
        inside = pts.within(boundary.geometry.iloc[0].buffer(1.0)).to_numpy()
        expected = located.loc[inside, "Crime type"].value_counts().sort_index()
        got = table[table["partnership_code"] == p.code].set_index("category")["count"].sort_index()
        assert got.sum() == pytest.approx(expected.sum(), abs=2)  # points on the edge may fall either way
        assert (got.reindex(expected.index).fillna(0) - expected).abs().max() <= 2
        mine = table[table["partnership_code"] == p.code]
        rate = mine["count"] / mine["residents"] * 1000 * 12 / mine["months"]
        np.testing.assert_allclose(mine["rate_per_1000_per_year"], rate)
        assert mine["residents"].iloc[0] == p.residents


def test_find_catalogues_from_a_list_file(country, tmp_path):
    dest, made = country
    listing = tmp_path / "list.txt"
    listing.write_text("# two of them\n\n" + "\n".join(str(p.catalogue) for p in made[:2]) + "\n", encoding="utf-8")
    assert find_catalogues(listing) == [p.catalogue.resolve() for p in made[:2]]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_catalogues(tmp_path / "nowhere")


def test_batch_refuses_unknown_documents(country, tmp_path):
    dest, _ = country
    with pytest.raises(ValueError, match="documents must be from"):
        run_batch(dest / "partnerships", tmp_path, documents=["annual_report"])
