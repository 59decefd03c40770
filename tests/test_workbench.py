"""Tests for assessment/reporting/workbench.py on the demo partnership."""

from __future__ import annotations

import datetime as dt
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import shapely

from assessment.catalogue import load_catalogue
from assessment.reporting import workbench as wbm


def test_every_event_dataset_present(demo_workbench, demo_catalogue):
    cat = load_catalogue(demo_catalogue)
    event_keys = {k for k, d in cat.datasets.items() if d.kind == "events"}
    assert event_keys
    assert set(demo_workbench.events["dataset"].unique()) == event_keys
    accepted = demo_workbench.intake.quality.set_index("dataset")["rows_accepted"]
    per = demo_workbench.events["dataset"].value_counts()
    # every accepted event is either in the partnership or counted outside it, never lost
    per = per.add(demo_workbench.extras["outside"]["dataset"].value_counts(), fill_value=0)
    for key in event_keys:
        assert per[key] == accepted[key], key


@pytest.mark.parametrize("column,units", [("small_area_code", "small_areas"), ("ward_code", "wards"),
                                          ("neighbourhood_code", "neighbourhoods")])
def test_area_codes_assigned(demo_workbench, column, units):
    ev = demo_workbench.events
    assert column in ev.columns
    has_xy = ev["easting"].notna() & ev["northing"].notna()
    assert ev.loc[~has_xy, column].isna().all()
    codes = ev[column].dropna().astype(str)
    if units == "wards":  # any ward version in the registry
        known = set().union(*(set(v.units["code"].astype(str)) for v in demo_workbench.registry.geographies["wards"]))
    else:
        known = set(getattr(demo_workbench, units)["code"].astype(str))
    assert set(codes) <= known
    # located points without a code lie outside the partnership; those with one lie in it
    boundary = demo_workbench.boundary.geometry.union_all()
    pts = shapely.points(ev["easting"].to_numpy(), ev["northing"].to_numpy())
    inside = shapely.intersects(boundary, pts)
    coded = ev[column].notna().to_numpy()
    assert not (coded & ~inside).any()
    assert not (has_xy.to_numpy() & inside & ~coded).any()


def test_small_area_codes_match_a_point_in_polygon_test(demo_workbench):
    ev = demo_workbench.events
    sample = ev[ev["small_area_code"].notna()].sample(500, random_state=1)
    sa = demo_workbench.small_areas
    pts = shapely.points(sample["easting"].to_numpy(), sample["northing"].to_numpy())
    geoms = sa.set_index(sa["code"].astype(str)).geometry
    own = geoms.reindex(sample["small_area_code"].astype(str)).to_numpy()
    assert shapely.intersects(own, pts).all()


def test_assignment_report_adds_up(demo_workbench):
    rep = demo_workbench.assignment
    ev = demo_workbench.events
    assert list(rep["geography"]) == ["small_areas", "wards", "neighbourhoods"]
    assert (rep["n_points"] == rep["n_assigned"] + rep["n_outside"] + rep["n_no_coordinates"]).all()
    assert (rep["n_points"] == len(ev)).all()
    no_xy = int((ev["easting"].isna() | ev["northing"].isna()).sum())
    assert (rep["n_no_coordinates"] == no_xy).all()
    cols = {"small_areas": "small_area_code", "wards": "ward_code", "neighbourhoods": "neighbourhood_code"}
    for _, r in rep.iterrows():  # three report rows
        assert r["n_assigned"] == ev[cols[r["geography"]]].notna().sum()


@pytest.mark.parametrize("units", ["wards", "neighbourhoods", "boundary"])
def test_populations_sum_to_the_small_area_total(demo_workbench, units):
    sa = demo_workbench.small_areas
    gdf = getattr(demo_workbench, units)
    total = float(sa["population"].sum())
    assert total > 0
    assert float(gdf["population"].sum()) == pytest.approx(total, rel=1e-6)
    assert float(gdf["households"].sum()) == pytest.approx(float(sa["households"].sum()), rel=1e-6)
    assert (gdf["population"] >= 0).all()


def test_neighbourhood_population_loss_is_only_the_kml_gap(demo_workbench):
    sa = demo_workbench.small_areas
    hoods = demo_workbench.neighbourhoods
    gap = sa.geometry.union_all().difference(hoods.geometry.union_all()).area
    assert gap < 1e-4 * sa.area.sum()
    lost = float(sa["population"].sum() - hoods["population"].sum())
    assert 0 <= lost < 1e-4 * float(sa["population"].sum())


def test_dataset_events_in_window(demo_workbench):
    window = demo_workbench.window
    assert len(window) == 36 and window[0] == "2023-01" and window[-1] == "2025-12"
    fire = demo_workbench.dataset_events("fire_deliberate")
    ev = demo_workbench.events
    assert len(fire) == int(((ev["dataset"] == "fire_deliberate") & ev["month"].isin(window)).sum())
    assert set(fire["dataset"]) == {"fire_deliberate"}


def test_cache_round_trip(demo_catalogue, demo_workbench, tmp_path):
    cat = load_catalogue(demo_catalogue)
    when = dt.date(2026, 11, 25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = wbm.load_workbench(cat, run_date=when, cache_dir=tmp_path / "cache")
        cached = list((tmp_path / "cache").glob("workbench-*.pkl"))
        assert len(cached) == 1
        # the next document of the edition, in the same process, shares the workbench loaded last
        assert wbm.load_workbench(demo_catalogue, run_date=when, cache_dir=tmp_path / "cache") is first
        wbm.forget_loaded_workbench()  # from here on, read back from the files
        second = wbm.load_workbench(demo_catalogue, run_date=when, cache_dir=tmp_path / "cache",
                                    out_dir=tmp_path / "run")
    assert second is not first
    # the cold build writes each large frame to its Arrow file as soon as it is final and goes on with
    # the memory-mapped read-back: the same frames as the build without a cache
    assert len(demo_workbench.extras["outside"]) > 0  # the demo has rows outside: every branch runs
    pd.testing.assert_frame_equal(first.events, demo_workbench.events)
    pd.testing.assert_frame_equal(first.intake.events, demo_workbench.intake.events)
    pd.testing.assert_frame_equal(first.extras["outside"], demo_workbench.extras["outside"])
    for key, table in demo_workbench.intake.tables.items():
        pd.testing.assert_frame_equal(first.intake.tables[key], table)
    pd.testing.assert_frame_equal(second.events, first.events)
    pd.testing.assert_frame_equal(second.events, demo_workbench.events)
    pd.testing.assert_frame_equal(second.assignment, first.assignment)
    # the event frames are kept as Arrow IPC files beside the pickle of the rest, and come back exactly
    arrows = sorted(p.name.split(".")[1] for p in (tmp_path / "cache").glob("workbench-*.arrow"))
    assert {"events", "intake_events", "outside"} <= set(arrows)
    assert sorted(second.intake.tables) == sorted(demo_workbench.intake.tables)
    for key, table in demo_workbench.intake.tables.items():
        pd.testing.assert_frame_equal(second.intake.tables[key], table)
    pd.testing.assert_frame_equal(second.intake.events, demo_workbench.intake.events)
    pd.testing.assert_frame_equal(second.extras["outside"], demo_workbench.extras["outside"])
    pd.testing.assert_frame_equal(second.registry.geographies["wards"][0].units,
                                  demo_workbench.registry.geographies["wards"][0].units)
    # an entry missing one of its Arrow files is rebuilt, not half read
    next((tmp_path / "cache").glob("workbench-*.events.arrow")).unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        third = wbm.load_workbench(cat, run_date=when, cache_dir=tmp_path / "cache")
    pd.testing.assert_frame_equal(third.events, demo_workbench.events)
    assert (tmp_path / "run" / "quality" / "intake.csv").is_file()  # written from the cached result
    # a different run date is a different cache entry
    assert wbm._cache_key(cat, when) != wbm._cache_key(cat, dt.date(2026, 11, 26))


def test_coterminosity_report(demo_catalogue, tmp_path):
    messages = []
    text = wbm.coterminosity_report(demo_catalogue, "neighbourhoods", "wards", out_dir=tmp_path,
                                    progress=messages.append)
    stem = "coterminosity_neighbourhoods_to_wards"
    for part in ("units", "summary", "split"):
        assert (tmp_path / "tables" / f"{stem}_{part}.csv").is_file()
    assert (tmp_path / f"{stem}.html").is_file()
    units = pd.read_csv(tmp_path / "tables" / f"{stem}_units.csv", dtype={"source_code": str})
    split = units.loc[~units["coterminous"].astype(bool), "source_code"]
    summary = pd.read_csv(tmp_path / "tables" / f"{stem}_summary.csv").iloc[0]
    assert len(split) == int(summary["n_split"])
    assert len(split) > 0, "the demo's police neighbourhoods cut across wards"
    for code in split:
        assert re.search(rf"\b{re.escape(code)}\b", text), code
    assert f"{int(summary['n_coterminous'])} of {len(units)} units coterminous; {len(split)} split" in text
    assert f"{float(summary['index']):.3f}" in text
    assert messages and "Wrote 3 tables" in messages[-1]


def test_coterminosity_report_rejects_unknown_geography(demo_catalogue):
    with pytest.raises(ValueError, match=r"--to must be a geography of the catalogue .* got 'parishes'"):
        wbm.coterminosity_report(demo_catalogue, "wards", "parishes")


def test_cache_key_changes_with_the_pseudonym_key(demo_catalogue, monkeypatch):
    """A run with another key (or none) never reuses pseudonyms made with the old one."""
    import datetime as dt

    from assessment.catalogue import load_catalogue
    from assessment.reporting.workbench import _cache_key

    cat = load_catalogue(demo_catalogue)
    day = dt.date(2026, 11, 25)
    monkeypatch.setenv(cat.partnership.pseudonym_key_env, "first-key-long-enough-123")
    first = _cache_key(cat, day)
    monkeypatch.setenv(cat.partnership.pseudonym_key_env, "second-key-long-enough-456")
    second = _cache_key(cat, day)
    monkeypatch.delenv(cat.partnership.pseudonym_key_env)
    none = _cache_key(cat, day)
    assert len({first, second, none}) == 3


def test_take_rows_takes_the_kept_rows_batch_by_batch(tmp_path):
    """The cold build's partnership events, written slice by slice from the intake's file, are the
    intake's rows taken in memory with the assigned columns added."""
    rng = np.random.default_rng(5)
    n = 103
    like = pd.DataFrame({
        "event_id": pd.array([f"id{i:04d}" for i in range(n)], dtype="str"),
        "location": pd.array([None if i % 7 == 0 else f"On or near {i % 5}" for i in range(n)], dtype="str"),
        "date": pd.date_range("2024-01-01", periods=n, freq="D"),
        "easting": rng.normal(size=n),
        "is_repeat": rng.random(n) > 0.5,
        "source_row": np.arange(n, dtype="int64"),
    }, index=pd.Index(np.arange(n) * 3 + 1))
    like = pd.concat([like.iloc[:40], like.iloc[40:41], like.iloc[41:]])  # text in chunks, as intake's are
    cache_file = tmp_path / "workbench-x.pkl"
    settler = wbm._Settler(cache_file)
    settled = settler("intake_events", like)
    pd.testing.assert_frame_equal(settled, like)
    import pyarrow as pa

    assert pa.ipc.open_file(str(wbm._arrow_path(cache_file, "intake_events"))).num_record_batches == 3
    keep = np.flatnonzero(rng.random(n) > 0.2)
    index = like.index.take(keep)
    added = {"ward_code": pd.Series(pd.array([f"W{i % 4}" if i % 9 else None for i in range(len(keep))],
                                             dtype="str"), index=index),
             "ward_code_on_edge": pd.Series(np.arange(len(keep)) % 3 == 0, index=index),
             "easting": pd.Series(np.arange(len(keep), dtype=float), index=index)}  # replaces a column in place
    got = settler.take_rows("events", "intake_events", keep, settled, added)
    pd.testing.assert_frame_equal(got, like.take(keep).assign(**added))
    # written whole: one record batch, one chunk per column, as a frame written at once
    assert pa.ipc.open_file(str(wbm._arrow_path(cache_file, "events"))).num_record_batches == 1
    assert "events" in settler.written
    # out of order, or a source never written: nothing written, the caller copies in memory
    assert settler.take_rows("other", "intake_events", keep[::-1], settled, added) is None
    assert settler.take_rows("other", "missing", keep, settled, added) is None
