"""assess batch: three small synthetic partnerships on a local cluster of two workers, one made to fail."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from assessment import cli
from assessment.batch import WarmKernels, find_catalogues, read_national_comparison, run_batch
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
    boundary = dest / "partnerships" / broken.code / "geography" / "partnership.geojson"
    good_boundary = boundary.read_bytes()
    boundary.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Polygon", '
        '"coordinates": "not coordinates"}}]}', encoding="utf-8")
    out = tmp_path_factory.mktemp("batch_out")
    first = cli.main(["batch", str(dest / "partnerships"), "--out", str(out), "--workers", "2",
                      "--kernel-memory", "3000"])
    summary_first = pd.read_csv(out / "batch_summary.csv", dtype=str, keep_default_na=False)
    broken_published_first = (out / broken.code / "strategic_assessment.html").exists()
    html_times = {p.code: (out / p.code / "strategic_assessment.html").stat().st_mtime_ns
                  for p in made if p is not broken}
    second_lines: list[str] = []
    second = run_batch(dest / "partnerships", out, workers=2, progress=second_lines.append)
    # The boundary mended, a third run renders the partnership that failed and skips the others.
    boundary.write_bytes(good_boundary)
    third_lines: list[str] = []
    third = run_batch(dest / "partnerships", out, workers=2, progress=third_lines.append)
    html_after = {c: (out / c / "strategic_assessment.html").stat().st_mtime_ns for c in html_times}
    return {"out": out, "made": made, "broken": broken, "first_code": first, "first": summary_first,
            "second": second, "second_lines": second_lines, "third": third, "third_lines": third_lines,
            "html_times": html_times, "html_after": html_after, "broken_published_first": broken_published_first}


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
            # CPU of the worker and its kernel: some, and at most what two processes can use in the time.
            cpu, wall = float(first.loc[p.code, "cpu_seconds"]), float(first.loc[p.code, "seconds"])
            assert 0 < cpu <= 2 * wall + 1
        # The timeline: when the task started and ended, from the batch's start, and on which worker.
        started, finished = float(first.loc[p.code, "started"]), float(first.loc[p.code, "finished"])
        assert 0 < started < finished
        assert finished - started == pytest.approx(float(first.loc[p.code, "seconds"]), abs=0.5)
        assert first.loc[p.code, "worker"].startswith("tcp://")
    assert not batch_runs["broken_published_first"]


def test_rerun_resumes(batch_runs):
    """A rerun skips the rendered partnerships and tries the failed one again (it renders once mended)."""
    broken = batch_runs["broken"].code
    others = {p.code for p in batch_runs["made"]} - {broken}
    second = {o.code: o for o in batch_runs["second"]}
    assert {c for c, o in second.items() if o.status == "skipped"} == others
    assert second[broken].status == "failed" and "partnership.geojson" in second[broken].message
    assert any("1 to render, 2 skipped" in line for line in batch_runs["second_lines"]), batch_runs["second_lines"]
    assert any(f"{broken}: FAILED" in line for line in batch_runs["second_lines"])
    third = {o.code: o for o in batch_runs["third"]}
    assert {c for c, o in third.items() if o.status == "skipped"} == others
    assert third[broken].status == "rendered", third[broken].message
    out = batch_runs["out"]
    assert batch_runs["broken"].name in (out / broken / "strategic_assessment.html").read_text(encoding="utf-8")
    # The skipped partnerships' documents were not written again.
    assert batch_runs["html_after"] == batch_runs["html_times"]
    summary = pd.read_csv(out / "batch_summary.csv", dtype=str, keep_default_na=False).set_index("code")
    assert summary.loc[broken, "status"] == "rendered"
    assert set(read_national_comparison(out)["partnership_code"]) == {p.code for p in batch_runs["made"]}
    # Each partnership's workbench cache is not kept (one document: none is written).
    assert not list((out / "_batch").glob("*/.assessment-cache/*"))


def test_warm_kernel_is_reused_cleared_and_restarted():
    """One kernel per thread, reused; nothing a partnership defined survives into the next; restarts."""
    warm = WarmKernels(memory_mb=4096)
    try:
        km = warm.kernel()
        pid = km.provisioner.pid
        WarmKernels._execute(km, "import assessment.reporting.display as _d\n_d.record_shown(print)\n"
                                 "secret_of_the_last_partnership = 42")
        assert warm.finished(ok=True) == "cleared"
        assert warm.kernel() is km and km.provisioner.pid == pid and warm.starts == 1
        # The name is gone and the display layer no longer holds the last document's recorder.
        WarmKernels._execute(km, "assert 'secret_of_the_last_partnership' not in globals()\n"
                                 "import assessment.reporting.display as _d\nassert _d._shown_recorder is None")
        with pytest.raises(RuntimeError, match="NameError"):
            WarmKernels._execute(km, "secret_of_the_last_partnership")
        # After a failure the kernel is replaced: the old one is shut down, the next call starts another.
        assert warm.finished(ok=False) == "restarted"
        assert not km.has_kernel and warm.restarts == 1
        km2 = warm.kernel()
        assert km2 is not km and km2.provisioner.pid != pid and warm.starts == 2
        # Past the memory limit it is replaced too (the limit below any kernel's size).
        assert 0 < warm.memory_mb_of(km2) < 4096
        warm.memory_mb = 1
        assert warm.finished(ok=True) == "restarted" and not km2.has_kernel
        km = warm.kernel()
        assert km is not km2 and warm.starts == 3
    finally:
        warm.shutdown()
    assert not km.has_kernel
    assert warm.finished(ok=True) == "none"


def test_batch_validates_kernel_memory(country, tmp_path):
    dest, _ = country
    with pytest.raises(ValueError, match="kernel_memory_mb must be a positive number"):
        run_batch(dest / "partnerships", tmp_path, kernel_memory_mb=0)


def test_national_comparison_matches_an_independent_count(batch_runs, country):
    """Counts by crime type equal a direct count of the force files' located rows inside each boundary."""
    dest, made = country
    table = read_national_comparison(batch_runs["out"])
    ok = made  # the broken partnership rendered in the third run, once mended
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


def test_an_edited_harm_index_changes_the_partnerships_input_hash(country, tmp_path):
    """A rerun must not skip a partnership whose harm index (or horizon scan) changed: the files its
    settings name are part of what decides whether its documents are up to date."""
    import yaml

    from assessment.batch import _plan

    dest, made = country
    original = Path(made[0].catalogue)
    raw = yaml.safe_load(original.read_text(encoding="utf-8"))
    weights = original.parent / "harm_test_weights.csv"
    raw["harm_weights"] = {"file": weights.name, "index": "An index", "source": "A publisher, table 1",
                           "year": "2024", "mapping": "one weight per crime type"}
    edited = original.parent / "catalogue_with_harm.yaml"
    edited.write_text(yaml.safe_dump(raw), encoding="utf-8")
    try:
        hashes = []
        for weight in ("2.5", "3.0"):
            weights.write_text(f"crime_type,weight\nBurglary,{weight}\n")
            specs, _forces, failed = _plan([edited], tmp_path / "out", ["strategic_assessment"], (), True)
            assert not failed
            hashes.append(specs[0]["input_hash"])
        assert hashes[0] != hashes[1]
    finally:
        edited.unlink()
        weights.unlink(missing_ok=True)


# ------------------------------------------------------------------ the order and pace of the tasks

def _spec(code: str, force: str, cost: float) -> dict:
    return {"code": code, "force": force, "cost": cost, "input_hash": "0" * 64}


def test_dispatch_stages_every_force_first_then_renders_the_largest_ready_partnership():
    from assessment.batch import _Dispatch

    specs = [_spec("a1", "alpha", 10), _spec("b1", "beta", 50), _spec("a2", "alpha", 30), _spec("b2", "beta", 5),
             _spec("g1", "gamma", 30)]
    d = _Dispatch(specs)
    # The forces by their partnerships' total cost (beta 55, alpha 40, gamma 30), each before any rendering.
    assert [d.next() for _ in range(3)] == [("stage", "beta"), ("stage", "alpha"), ("stage", "gamma")]
    assert d.next() is None and not d  # nothing ready until a force is staged
    d.staged("alpha")
    assert d.next() == ("render", specs[2])  # a2 (30) before a1 (10)
    d.staged("gamma")
    d.staged("beta")
    # b1 (50) first, then g1 (30), a1 (10) and b2 (5).
    assert [d.next()[1]["code"] for _ in range(4)] == ["b1", "g1", "a1", "b2"]
    assert d.next() is None and not d


def test_in_flight_limit_hands_tasks_only_to_free_threads():
    from assessment.batch import _in_flight_limit

    assert _in_flight_limit(1) == 2  # a lone worker keeps the next task beside it
    assert _in_flight_limit(2) == 2 and _in_flight_limit(8) == 8
    assert _in_flight_limit(0) == 1


EVENTS: list[tuple[str, str]] = []


def _fake_stage(force, files, store, digest):
    EVENTS.append(("stage", force))
    if force == "broken":
        raise OSError("the force's files are unreadable")
    return digest


def _fake_render(spec):
    EVENTS.append(("render", spec["code"]))
    return {"code": spec["code"], "status": "rendered", "message": "", "seconds": 0.0}


class _CountingClient:
    """A client that records, at each submission, how many earlier tasks had not ended."""

    def __init__(self, client):
        self.client = client
        self.futures: list = []
        self.outstanding: list[int] = []

    def nthreads(self):
        return self.client.nthreads()

    def submit(self, *args, **kwargs):
        self.outstanding.append(sum(not f.done() for f in self.futures))
        fut = self.client.submit(*args, **kwargs)
        self.futures.append(fut)
        return fut


@pytest.mark.parametrize("workers", [1, 2])
def test_run_tasks_renders_after_staging_largest_first_and_fails_a_force_that_cannot_be_staged(workers):
    from dask.distributed import Client, LocalCluster

    from assessment.batch import _Dispatch, _in_flight_limit, _run_tasks

    specs = [_spec("a1", "alpha", 1), _spec("a2", "alpha", 9), _spec("x1", "broken", 5), _spec("a3", "alpha", 4),
             _spec("b1", "beta", 2)]
    forces = {f: {"files": {}, "digest": f"{f}-digest"} for f in ("alpha", "broken", "beta")}
    EVENTS.clear()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        counting = _CountingClient(client)
        results = list(_run_tasks(counting, _Dispatch(specs), forces, "unused", stage=_fake_stage,
                                  render=_fake_render))
    got = {s["code"]: r for s, r in results}
    assert set(got) == {s["code"] for s in specs}
    assert got["x1"]["status"] == "failed" and "force 'broken'" in got["x1"]["message"]
    assert "unreadable" in got["x1"]["message"]
    assert all(got[c]["status"] == "rendered" for c in ("a1", "a2", "a3", "b1"))
    assert ("render", "x1") not in EVENTS
    # Every render after its force's staging; never more tasks submitted than the threads take.
    for code, force in (("a1", "alpha"), ("a2", "alpha"), ("a3", "alpha"), ("b1", "beta")):
        assert EVENTS.index(("stage", force)) < EVENTS.index(("render", code))
    assert max(counting.outstanding) < _in_flight_limit(workers)
    if workers == 1:  # one worker runs them in the dispatch order: the largest first
        assert [c for what, c in EVENTS if what == "render"] == ["a2", "a3", "b1", "a1"]


def test_local_cluster_is_quiet():
    """The batch's local cluster runs without the profiler and with slow ticks, in its workers too."""
    import dask
    from dask.distributed import Client

    from assessment.batch import _QUIET_CLUSTER, _local_cluster

    assert dask.config.get("distributed.admin.tick.interval") != _QUIET_CLUSTER["distributed.admin.tick.interval"]
    cluster = _local_cluster(1)
    try:
        with Client(cluster) as client:
            seen = client.run(lambda: {k: dask.config.get(k) for k in _QUIET_CLUSTER})
            assert list(seen.values()) == [_QUIET_CLUSTER]
            assert client.run_on_scheduler(lambda dask_scheduler: dask_scheduler._tick_interval) == 1.0
    finally:
        cluster.close()
    # The settings apply to that cluster only.
    assert dask.config.get("distributed.worker.profile.enabled") is True


@pytest.mark.parametrize("texts", [["-1.5", "", " ", "52.25"], ["1e3", "not a number", "", "2"], ["nan", "1", "NaN"],
                                   ["inf", "-0.0"], [" 1.5", "2 "], []])
def test_staged_coordinates_read_as_pandas_would(texts):
    """Arrow parses the coordinates; blanks, words and NaN become missing, as pandas.to_numeric(coerce) makes them."""
    import pyarrow as pa

    from assessment.batch import _coordinates

    column = pa.chunked_array([pa.array(texts, type=pa.string())])
    expected = pa.array(pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce").to_numpy(dtype=float),
                        type=pa.float64(), from_pandas=True)
    got = _coordinates(column)
    assert got.type == pa.float64() and got.equals(expected), (got.to_pylist(), expected.to_pylist())


# ------------------------------------------- rows without a location: one rule for the batch and a single run

def _street_totals(catalogue: Path) -> tuple[pd.Series, int, int]:
    """A catalogue's police street events after the workbench (what the documents count), by crime type;
    its accepted rows without coordinates; its rows quarantined as 'coordinates missing'."""
    import datetime as dt

    from assessment.catalogue import load_catalogue
    from assessment.reporting.workbench import build_workbench

    cat = load_catalogue(catalogue)
    wb = build_workbench(cat, None, dt.date(2026, 11, 25))
    (key,) = [k for k, ds in cat.datasets.items() if ds.format == "police_uk_street"]
    ev = wb.events[wb.events["dataset"] == key]
    q = wb.intake.quarantine.get(key, pd.DataFrame({"reason": []}))
    return (ev["category"].value_counts().sort_index(), int(ev["easting"].isna().sum()),
            int((q["reason"] == "coordinates missing").sum()))


def _batch_catalogue(catalogue: Path, out: Path) -> Path:
    """The catalogue a batch gives the partnership: its rows staged and extracted from the store."""
    from assessment.batch import _extract, _plan, stage_force
    from assessment.catalogue import load_catalogue

    specs, forces, failed = _plan([catalogue], out, ["strategic_assessment"], (), True)
    assert not failed, failed
    (spec,) = specs
    stage_force(spec["force"], forces[spec["force"]]["files"], spec["store"], forces[spec["force"]]["digest"])
    Path(spec["work_dir"]).mkdir(parents=True, exist_ok=True)
    derived, *_ = _extract(spec, load_catalogue(catalogue))
    return derived


def _no_location_rows(dest: Path, force: str, once: bool = False) -> int:
    """Rows without a location in the force's street files (``once``: a later exact copy of a row with a
    Crime ID not counted, as intake quarantines it as a duplicate)."""
    files = [pd.read_csv(f, dtype=str, keep_default_na=False)
             for f in sorted((dest / "forces" / force).glob("police/*/*-street.csv"))]
    if once:
        files = [f[~(f.duplicated() & (f["Crime ID"] != ""))] for f in files]
    return int((pd.concat(files)["Longitude"] == "").sum())


def test_rows_without_a_location_of_a_force_shared_by_partnerships_are_in_no_route_s_totals(country, tmp_path):
    """A force's files serve three partnerships (covers: force): its rows without a location cannot be
    placed in one of them. A single run and the batch give the partnership the same totals, without
    them, and both report every one of them as quarantined ('coordinates missing')."""
    dest, made = country
    p = made[0]
    assert len({q.force for q in made}) == 1
    single, single_unplaced, single_missing = _street_totals(p.catalogue)
    batch, batch_unplaced, batch_missing = _street_totals(_batch_catalogue(p.catalogue, tmp_path / "out"))
    pd.testing.assert_series_equal(single, batch)
    assert single_unplaced == batch_unplaced == 0
    assert single_missing == batch_missing == _no_location_rows(dest, p.force) > 0


def test_rows_without_a_location_of_a_partnership_s_own_files_count_in_both_routes(tmp_path):
    """A force of one partnership (files covering only its area): its rows without a location are its
    own, counted by a single run and by the batch alike (the batch used to leave them out)."""
    dest = tmp_path / "solo"
    (p,) = write_synthetic_country(dest, 1, seed=11, mean_size=0.15)
    single, single_unplaced, single_missing = _street_totals(p.catalogue)
    batch, batch_unplaced, batch_missing = _street_totals(_batch_catalogue(p.catalogue, tmp_path / "out"))
    pd.testing.assert_series_equal(single, batch)
    assert single_unplaced == batch_unplaced > 0 and single_missing == batch_missing == 0
    # Every row without a location in the window is counted (the window is the files' 36 months), once.
    assert single_unplaced == _no_location_rows(dest, p.force, once=True)


def test_batch_refuses_files_shared_by_partnerships_said_to_cover_one(country, tmp_path):
    """Two partnerships of one force whose catalogue says the files cover only its area: the batch
    cannot give both the force's rows without a location, so that partnership fails and says why."""
    import yaml

    from assessment.batch import _plan

    dest, made = country
    original = Path(made[0].catalogue)
    raw = yaml.safe_load(original.read_text(encoding="utf-8"))
    for ds in raw["datasets"].values():
        ds.pop("covers", None)  # the default: the partnership's area
    edited = original.parent / "catalogue_covering_itself.yaml"
    edited.write_text(yaml.safe_dump(raw), encoding="utf-8")
    try:
        specs, forces, failed = _plan([edited, Path(made[1].catalogue)], tmp_path / "out", ["strategic_assessment"],
                                      (), True)
    finally:
        edited.unlink()
    assert [s["code"] for s in specs] == [made[1].code]
    (bad,) = failed
    assert bad.code == made[0].code and "covers must be 'force'" in bad.message and made[1].code in bad.message
    assert set(forces) == {made[1].force}


def test_national_comparison_counts_rows_without_a_location_only_when_they_are_the_partnership_s():
    import pyarrow as pa
    import shapely

    from assessment.batch import _LAT, _LON, _counts

    box = shapely.box(-1.0, 52.0, -0.9, 52.1)
    table = pa.table({"Crime type": ["Burglary", "Burglary", "Robbery", "Robbery"],
                      "Month": ["2024-01", "2024-01", "2024-01", "2023-12"],
                      _LON: pa.array([-0.95, -0.5, None, None], type=pa.float64()),
                      _LAT: pa.array([52.05, 52.05, None, None], type=pa.float64())})
    # inside: one burglary; the robbery without a location only when the files are the partnership's own
    # (the other is outside the window)
    assert _counts(table, box, ["2024-01"]).set_index("category")["count"].to_dict() == {"Burglary": 1}
    assert _counts(table, box, ["2024-01"], unlocated=True).set_index("category")["count"].to_dict() == \
        {"Burglary": 1, "Robbery": 1}


def test_code_fingerprint_follows_the_code_not_the_caches(tmp_path, monkeypatch):
    import assessment.paths as paths
    from assessment.batch import code_fingerprint

    pkg, nbs, tpl = tmp_path / "assessment", tmp_path / "notebooks", tmp_path / "templates"
    for d in (pkg / "data", pkg / "__pycache__", nbs, tpl):
        d.mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "data" / "t.csv").write_text("a\n1\n")
    (nbs / "d.ipynb").write_text("{}")
    (tpl / "page.tpl").write_text("<html>")
    monkeypatch.setattr(paths, "PACKAGE_DIR", pkg)
    monkeypatch.setattr(paths, "NOTEBOOK_DIR", nbs)
    monkeypatch.setattr(paths, "TEMPLATE_DIR", tpl)
    fresh = code_fingerprint.__wrapped__
    first = fresh()
    assert len(first) == 64 and fresh() == first
    (pkg / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    assert fresh() == first  # compiled caches are not code
    for f, text in ((pkg / "a.py", "x = 2\n"), (pkg / "data" / "t.csv", "a\n2\n"), (nbs / "d.ipynb", "{ }"),
                    (tpl / "page.tpl", "<html >")):
        before = fresh()
        f.write_text(text)
        assert fresh() != before, f.name
    assert code_fingerprint() == code_fingerprint()  # the real tree, cached
