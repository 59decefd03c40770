"""Tests for assessment.intake.fetch: against recorded responses only, never the live site."""

from __future__ import annotations

import functools
import io
import json
import zipfile
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
import pytest
import requests
import yaml
from shapely.geometry import box

from assessment import cli
from assessment.catalogue import Dataset
from assessment.errors import IntakeError
from assessment.intake import fetch
from assessment.intake.police_uk import read_police_stop_search, read_police_street

RECORDINGS = Path(__file__).parent / "fixtures" / "police_api"
BASE = "https://data.police.uk/api"
FORCE = "city-of-london"
# a box around the City of London, as (lat, lng) pairs; the recorded 2024-01 shoplifting in Kensington lies outside
CITY_BOX = [(51.505, -0.115), (51.525, -0.115), (51.525, -0.070), (51.505, -0.070)]


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any real HTTP request through requests fails the test."""
    def refuse(self, request, **kwargs):
        raise AssertionError(f"real HTTP request attempted: {request.method} {request.url}")

    monkeypatch.setattr(requests.Session, "send", refuse)


class FakeResponse:
    def __init__(self, status: int, body=None, content: bytes = b"", headers=None):
        self.status_code = status
        self._body = body
        self.content = content
        self.headers = headers or {}
        self.text = json.dumps(body) if body is not None else ""

    def json(self):
        return self._body

    def iter_content(self, chunk_size=1):
        for i in range(0, len(self.content), chunk_size):
            yield self.content[i:i + chunk_size]


class RecordedSession:
    """Serves tests/fixtures/police_api; any URL not recorded fails the test (no real HTTP)."""

    def __init__(self, fail_on=None, extra=None):
        self.index = json.loads((RECORDINGS / "index.json").read_text())["responses"]
        self.calls: list[str] = []
        self.fail_on = fail_on  # callable(key, n) -> exception to raise, or None
        self.extra = extra or {}  # key -> FakeResponse

    @staticmethod
    def key(url: str, params=None) -> str:
        assert url.startswith(BASE + "/") or url.startswith("https://data.police.uk/data/archive/"), url
        path = url[len(BASE) + 1:] if url.startswith(BASE) else url
        query = {k: v for k, v in (params or {}).items() if k != "poly"}
        return path + ("?" + urlencode(sorted(query.items())) if query else "")

    def get(self, url, params=None, headers=None, timeout=None, stream=False):
        assert headers and "assessment-workbench" in headers["User-Agent"]
        assert timeout is not None
        key = self.key(url, params)
        self.calls.append(key)
        if self.fail_on is not None:
            exc = self.fail_on(key, len(self.calls))
            if exc is not None:
                raise exc
        if key in self.extra:
            return self.extra[key]
        if key.startswith("forces/") and key not in self.index:
            return FakeResponse(404, {"error": "not found"})
        if key not in self.index:
            raise AssertionError(f"unrecorded request {key}: the test would have gone to the network")
        return FakeResponse(200, json.loads((RECORDINGS / self.index[key]).read_text()))

    def post(self, url, data=None, headers=None, timeout=None):
        return self.get(url, params=data, headers=headers, timeout=timeout)


def run(dest, start="2024-01", end="2024-03", session=None, **kw):
    kw.setdefault("boundary", CITY_BOX)
    return fetch.fetch_police(FORCE, start, end, dest, session=session or RecordedSession(), delay=0,
                              sleep=lambda s: None, **kw)


def snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(folder.iterdir())}


# ---------------------------------------------------------------- arguments
def test_month_range_inclusive_and_across_years():
    assert fetch.month_range("2023-11", "2024-02") == ["2023-11", "2023-12", "2024-01", "2024-02"]
    assert fetch.month_range("2024-05", "2024-05") == ["2024-05"]


@pytest.mark.parametrize("start,end,match", [
    ("2024-03", "2024-01", "--from` must not be after `--to`"),
    ("2024-13", "2024-12", "must be YYYY-MM"),
    ("2024-01", "24-02", "must be YYYY-MM"),
])
def test_bad_months_are_value_errors(tmp_path, start, end, match):
    with pytest.raises(ValueError, match=match):
        fetch.fetch_police(FORCE, start, end, tmp_path, session=RecordedSession())


def test_bad_slug_is_value_error(tmp_path):
    with pytest.raises(ValueError, match="slug"):
        fetch.fetch_police("City of London", "2024-01", "2024-01", tmp_path, session=RecordedSession())


def test_unknown_force_is_intake_error_naming_force_and_hint(tmp_path):
    with pytest.raises(IntakeError, match=r"'atlantis' is not known to data.police.uk.*hint"):
        fetch.fetch_police("atlantis", "2024-01", "2024-01", tmp_path, session=RecordedSession(), delay=0)


# ---------------------------------------------------------------- conversion
def test_crimes_to_street_exact_columns_and_mapping():
    records = json.loads((RECORDINGS / "crimes-street_2024-01.json").read_text())
    records += json.loads((RECORDINGS / "crimes-no-location_2024-01.json").read_text())
    out = fetch.crimes_to_street(records, "City of London Police")
    assert list(out.columns) == ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
                                 "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category",
                                 "Context"]
    assert len(out) == len(records) == 6
    by_id = out.set_index(out["Crime ID"].where(out["Crime ID"].ne(""), "ASB"))
    assert by_id.loc["ASB", "Crime type"] == "Anti-social behaviour"
    assert by_id.loc["ASB", "Last outcome category"] == ""
    assert out["Crime type"].tolist()[1] == "Violence and sexual offences"
    assert out["Location"].tolist()[0] == "On or near Pedestrian Subway"
    assert (out["LSOA code"] == "").all() and (out["LSOA name"] == "").all()
    btp = out[out["Crime type"] == "Theft from the person"].iloc[0]
    assert btp["Reported by"] == "British Transport Police" and btp["Falls within"] == "City of London Police"
    nowhere = out[out["Crime type"] == "Drugs"].iloc[0]
    assert nowhere["Location"] == "No Location" and nowhere["Longitude"] == "" and nowhere["Latitude"] == ""
    assert out.loc[1, "Longitude"] == "-0.106922" and out.loc[1, "Latitude"] == "51.514204"  # exact strings


def test_every_documented_slug_maps_to_a_file_label():
    slugs = ["violent-crime", "anti-social-behaviour", "burglary", "criminal-damage-arson", "drugs", "other-theft",
             "possession-of-weapons", "public-order", "robbery", "shoplifting", "theft-from-the-person",
             "vehicle-crime", "bicycle-theft", "other-crime"]
    out = fetch.crimes_to_street([{"category": s, "month": "2024-01"} for s in slugs], "X Police")
    assert out["Crime type"].tolist()[:2] == ["Violence and sexual offences", "Anti-social behaviour"]
    assert set(out["Crime type"]) == {
        "Violence and sexual offences", "Anti-social behaviour", "Burglary", "Criminal damage and arson", "Drugs",
        "Other theft", "Possession of weapons", "Public order", "Robbery", "Shoplifting", "Theft from the person",
        "Vehicle crime", "Bicycle theft", "Other crime"}


def test_unknown_slug_warns_and_outcome_codes_are_named():
    with pytest.warns(UserWarning, match="new-thing"):
        out = fetch.crimes_to_street([{"category": "new-thing", "outcome_status": {"category": "under-investigation",
                                                                                    "date": "2024-01"}}], "X")
    assert out.loc[0, "Crime type"] == "New thing"
    assert out.loc[0, "Last outcome category"] == "Under investigation"


def test_stops_to_frame_columns_match_real_header(shared_police_dir):
    header = (next(shared_police_dir.glob("*/*-stop-and-search.csv"))).read_text().splitlines()[0].split(",")
    records = json.loads((RECORDINGS / "stops-force_2024-01.json").read_text())
    out = fetch.stops_to_frame(records)
    assert list(out.columns) == header == list(fetch.STOP_SEARCH_FILE_COLUMNS)
    assert out.loc[0, "Outcome"] == "Arrest" and out.loc[0, "Outcome linked to object of search"] == "True"
    assert out.loc[0, "Part of a policing operation"] == "False"
    assert out.loc[1, "Latitude"] == "" and out.loc[1, "Gender"] == ""
    # outcome false (older months) falls back to outcome_object.name
    assert out.loc[1, "Outcome"] == "A no further action disposal"
    assert out.loc[1, "Removal of more than just outer clothing"] == ""


def test_street_header_matches_real_download(shared_police_dir):
    header = next(shared_police_dir.glob("*/*-street.csv")).read_text().splitlines()[0].split(",")
    assert header == list(fetch.crimes_to_street([], "X").columns)


# ---------------------------------------------------------------- a whole run
def test_fetch_writes_download_layout_and_reads_back(tmp_path):
    session = RecordedSession()
    result = run(tmp_path, session=session)
    assert result.fetched == ["2024-01", "2024-02", "2024-03"] and result.ok
    for m in result.fetched:
        assert (tmp_path / m / f"{m}-{FORCE}-street.csv").exists()
        assert (tmp_path / m / f"{m}-{FORCE}-outcomes.csv").exists()
        assert (tmp_path / m / ".complete").exists()
        assert not list((tmp_path / m).glob("*.part"))
    # no stop and search published for the force in 2024-03: no file, as in a manual download
    assert not (tmp_path / "2024-03" / f"2024-03-{FORCE}-stop-and-search.csv").exists()
    street = read_police_street(tmp_path)
    assert list(street.columns[:12]) == list(fetch.STREET_COLUMNS)
    # 2024-01: 4 of 5 located crimes inside the box; no-location crimes left out for a boundary run
    assert street.groupby("Month").size().to_dict() == {"2024-01": 4, "2024-02": 2, "2024-03": 2}
    assert street["Crime ID"].isna().sum() == 2  # the ASB rows keep an empty Crime ID
    assert street["Longitude"].dtype == "float64"
    stops = read_police_stop_search(tmp_path)
    assert len(stops) == 3
    outcomes = pd.read_csv(tmp_path / "2024-02" / f"2024-02-{FORCE}-outcomes.csv", dtype=str, keep_default_na=False)
    # the January burglary's caution is dated February, so it is filed under February's outcomes
    assert list(outcomes.columns) == list(fetch.OUTCOMES_COLUMNS)
    assert set(outcomes["Outcome type"]) == {"Offender given a caution", "Under investigation"}
    assert "no-location" not in " ".join(session.calls)
    assert "1 month" not in str(result) and "fetched 3 month(s) (2024-01 to 2024-03)" in str(result)


def test_force_run_uses_neighbourhood_area_and_no_location_crimes(tmp_path):
    session = RecordedSession()
    result = fetch.fetch_police(FORCE, "2024-01", "2024-01", tmp_path, session=session, delay=0)
    assert result.fetched == ["2024-01"]
    street = pd.read_csv(tmp_path / "2024-01" / f"2024-01-{FORCE}-street.csv", dtype=str, keep_default_na=False)
    assert "No Location" in set(street["Location"]) and len(street) == 5  # 4 inside the area + 1 unmapped
    assert "On or near Kensington High Street" not in set(street["Location"])
    assert (tmp_path / f".force-boundary-{FORCE}.json").exists()
    assert sum(c.endswith("/boundary") for c in session.calls) == 2


def test_delay_between_requests_and_user_agent(tmp_path):
    waits: list[float] = []
    session = RecordedSession()
    fetch.fetch_police(FORCE, "2024-01", "2024-01", tmp_path, session=session, delay=0.25, boundary=CITY_BOX,
                       sleep=waits.append)
    assert waits == [0.25] * (len(session.calls) - 1)


def test_retries_with_backoff_on_429_and_5xx(tmp_path):
    flaky = {"n": 0}

    def fail(key, n):
        return None

    session = RecordedSession(fail_on=fail)
    original = session.get

    def get(url, **kw):
        if "stops-force" in url and flaky["n"] < 2:
            flaky["n"] += 1
            return FakeResponse(429 if flaky["n"] == 1 else 502, {}, headers={"Retry-After": "3"})
        return original(url, **kw)

    session.get = get
    waits: list[float] = []
    result = fetch.fetch_police(FORCE, "2024-01", "2024-01", tmp_path, session=session, delay=0, backoff=1.5,
                                boundary=CITY_BOX, sleep=waits.append)
    assert result.ok and flaky["n"] == 2
    assert 3.0 in waits and 1.5 in waits and 3.0 in waits[waits.index(1.5):]  # Retry-After, then 1.5, 3.0 backoff


def test_gives_up_after_retries_and_reports_failed_month(tmp_path):
    def fail(key, n):
        if key.startswith("stops-force") and "2024-02" in key:
            return requests.ConnectionError("connection reset")
        return None

    result = run(tmp_path, session=RecordedSession(fail_on=fail), retries=2)
    assert result.fetched == ["2024-01", "2024-03"] and list(result.failed) == ["2024-02"]
    assert "after 3 attempts" in result.failed["2024-02"] and "rerun" in str(result)
    assert not (tmp_path / "2024-02" / f"2024-02-{FORCE}-street.csv").exists()


# ---------------------------------------------------------------- resume
def test_resume_after_interruption_leaves_finished_months_untouched(tmp_path):
    class Interrupted(BaseException):
        pass

    def die(key, n):  # the process dies while fetching February's stop and search
        return Interrupted() if key == f"stops-force?date=2024-02&force={FORCE}" else None

    with pytest.raises(Interrupted):
        run(tmp_path, session=RecordedSession(fail_on=die))
    january = snapshot(tmp_path / "2024-01")
    assert ".complete" in january
    # leave a torn file behind as a killed writer would
    (tmp_path / "2024-02").mkdir(exist_ok=True)
    (tmp_path / "2024-02" / f"2024-02-{FORCE}-street.csv.part").write_text("Crime ID,Mon")
    assert not (tmp_path / "2024-02" / ".complete").exists()

    session = RecordedSession()
    result = run(tmp_path, session=session)
    assert result.skipped == ["2024-01"] and result.fetched == ["2024-02", "2024-03"]
    assert snapshot(tmp_path / "2024-01") == january  # same bytes, same mtimes
    assert not any("2024-01" in c for c in session.calls)
    assert (tmp_path / "2024-02" / ".complete").exists()
    assert not list(tmp_path.glob("*/*.part"))
    assert len(pd.read_csv(tmp_path / "2024-02" / f"2024-02-{FORCE}-street.csv")) == 2
    # January's sidecar still feeds February's derived outcomes after the resume
    feb = pd.read_csv(tmp_path / "2024-02" / f"2024-02-{FORCE}-outcomes.csv", dtype=str)
    assert "Offender given a caution" in set(feb["Outcome type"])


def test_month_torn_between_files_is_fetched_again(tmp_path, monkeypatch):
    real = fetch._write_csv

    class Killed(BaseException):
        pass

    def write(frame, path):  # the process dies just before February's street file is renamed into place
        if path.name == f"2024-02-{FORCE}-street.csv":
            raise Killed()
        return real(frame, path)

    monkeypatch.setattr(fetch, "_write_csv", write)
    with pytest.raises(Killed):
        run(tmp_path)
    feb = tmp_path / "2024-02"
    assert (feb / f"2024-02-{FORCE}-outcomes.csv").exists() and not (feb / f"2024-02-{FORCE}-street.csv").exists()
    (feb / f"2024-02-{FORCE}-outcomes.csv").write_text("torn\n")
    january = snapshot(tmp_path / "2024-01")
    monkeypatch.setattr(fetch, "_write_csv", real)
    result = run(tmp_path)
    assert result.skipped == ["2024-01"] and result.fetched == ["2024-02", "2024-03"]
    assert snapshot(tmp_path / "2024-01") == january
    assert (feb / f"2024-02-{FORCE}-outcomes.csv").read_text().startswith("Crime ID,Month")


def test_manual_download_month_without_marker_is_never_overwritten(tmp_path):
    folder = tmp_path / "2024-01"
    folder.mkdir()
    for kind in ("street", "stop-and-search"):
        (folder / f"2024-01-{FORCE}-{kind}.csv").write_text("as downloaded by hand\n")
    before = snapshot(folder)
    session = RecordedSession()
    result = run(tmp_path, start="2024-01", end="2024-01", session=session)
    assert result.skipped == ["2024-01"] and not result.fetched
    assert snapshot(folder) == before
    assert session.calls == ["forces/city-of-london", "crimes-street-dates"]


def test_unpublished_months_are_reported_not_failed(tmp_path):
    result = run(tmp_path, start="2023-12", end="2024-01")
    assert result.unavailable == ["2023-12"] and result.fetched == ["2024-01"] and result.ok
    assert not (tmp_path / "2023-12").exists()


# ---------------------------------------------------------------- 503 split
class DenseArea:
    """An API that answers 503 when a polygon holds more than ``cap`` of the given crimes."""

    def __init__(self, points, cap):
        self.points = points  # list of (lng, lat)
        self.cap = cap
        self.polys: list[str] = []

    def get(self, url, params=None, headers=None, timeout=None, stream=False):
        from shapely.geometry import Point, Polygon

        if url.endswith("/forces/" + FORCE):
            return FakeResponse(200, {"id": FORCE, "name": "City of London Police"})
        if url.endswith("/crimes-street-dates"):
            return FakeResponse(200, [{"date": "2024-01", "stop-and-search": []}])
        assert url.endswith("/crimes-street/all-crime"), url
        self.polys.append(params["poly"])
        ring = Polygon([(float(p.split(",")[1]), float(p.split(",")[0])) for p in params["poly"].split(":")])
        inside = [i for i, (x, y) in enumerate(self.points) if ring.covers(Point(x, y))]
        if len(inside) > self.cap:
            return FakeResponse(503, None)
        return FakeResponse(200, [{"category": "burglary", "persistent_id": f"p{i}", "id": i, "month": "2024-01",
                                   "location_type": "Force", "context": "", "outcome_status": None,
                                   "location": {"latitude": f"{self.points[i][1]:.6f}",
                                                "longitude": f"{self.points[i][0]:.6f}",
                                                "street": {"id": i, "name": "On or near Somewhere"}}}
                                  for i in inside])


def test_quadrants_cover_the_polygon_exactly():
    from shapely import union_all

    poly = box(0, 0, 4, 2).union(box(0, 0, 1, 5))  # an L: its top-right quarter is empty
    parts = fetch.quadrants(poly)
    assert len(parts) == 3
    assert abs(sum(p.area for p in parts) - poly.area) < 1e-9  # no overlap
    assert union_all(parts).symmetric_difference(poly).area < 1e-9  # nothing lost
    assert all(max(p.bounds[2] - p.bounds[0], p.bounds[3] - p.bounds[1]) <= 2.5 + 1e-9 for p in parts)


def test_503_splits_recursively_and_keeps_each_crime_once(tmp_path):
    import numpy as np

    rng = np.random.default_rng(3)
    lng = rng.uniform(-0.114, -0.071, 300)
    lat = rng.uniform(51.506, 51.524, 300)
    # a tight cluster forces a second level of splitting in one corner; one point exactly on the midlines
    lng[:120] = rng.uniform(-0.113, -0.110, 120)
    lat[:120] = rng.uniform(51.507, 51.509, 120)
    points = list(zip(lng.round(6), lat.round(6))) + [(-0.0925, 51.515)]
    api = DenseArea(points, cap=100)
    result = fetch.fetch_police(FORCE, "2024-01", "2024-01", tmp_path, session=api, delay=0, boundary=CITY_BOX)
    assert result.ok, str(result)
    street = pd.read_csv(tmp_path / "2024-01" / f"2024-01-{FORCE}-street.csv", dtype=str)
    assert len(street) == len(points)  # every crime, none twice (midline points come back from two quadrants)
    assert street["Crime ID"].is_unique
    assert len(api.polys) >= 1 + 4 + 4  # whole area, four quadrants, then at least one quadrant split again


def test_503_split_gives_up_with_intake_error(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch, "MAX_SPLIT_DEPTH", 1)
    api = DenseArea([(-0.1, 51.51)] * 5, cap=1)  # five crimes on one point can never be split apart
    result = fetch.fetch_police(FORCE, "2024-01", "2024-01", tmp_path, session=api, delay=0, boundary=CITY_BOX)
    assert "10,000" in result.failed["2024-01"]


# ---------------------------------------------------------------- catalogue stub
def test_catalogue_stub_entries_validate(tmp_path):
    run(tmp_path)
    stub = yaml.safe_load((tmp_path / "catalogue_stub.yaml").read_text())
    assert set(stub["datasets"]) == {"recorded_crime", "crime_outcomes", "police_stop_search"}
    for key, entry in stub["datasets"].items():
        ds = Dataset.model_validate(entry)
        assert ds.sensitivity == "public" and ds.refresh == "monthly" and "OGL" in ds.sharing.agreement
    street = Dataset.model_validate(stub["datasets"]["recorded_crime"])
    assert any("LSOA" in c for c in street.caveats)
    assert sorted(tmp_path.glob(street.path)) == sorted(tmp_path.glob(f"*/*-{FORCE}-street.csv"))
    assert stub["source"]["months"] == ["2024-01", "2024-02", "2024-03"]


# ---------------------------------------------------------------- archive
def test_archive_extracts_only_the_force_and_months(tmp_path):
    buf = io.BytesIO()
    header = ",".join(fetch.STREET_COLUMNS) + "\n"
    with zipfile.ZipFile(buf, "w") as zf:
        for m in ("2024-01", "2024-02"):
            zf.writestr(f"{m}/{m}-{FORCE}-street.csv", header + f",{m},City of London Police,City of London Police,"
                        "-0.1,51.5,On or near X,E01000001,City of London 001A,Anti-social behaviour,,\n")
            zf.writestr(f"{m}/{m}-metropolitan-street.csv", header)
    payload = buf.getvalue()
    session = RecordedSession(extra={"https://data.police.uk/data/archive/2024-03.zip": FakeResponse(200, content=payload)})
    result = fetch.fetch_police(FORCE, "2024-01", "2024-03", tmp_path, session=session, delay=0, archive=True)
    assert result.fetched == ["2024-01", "2024-02"] and result.unavailable == ["2024-03"]
    assert not list(tmp_path.glob("*/*metropolitan*"))
    assert (tmp_path / "2024-01" / f"2024-01-{FORCE}-street.csv").read_text().count("\n") == 2
    assert len(read_police_street(tmp_path)) == 2
    again = fetch.fetch_police(FORCE, "2024-01", "2024-02", tmp_path, session=session, delay=0, archive=True)
    assert again.skipped == ["2024-01", "2024-02"]


# ---------------------------------------------------------------- CLI
def test_cli_fetch_police_with_recorded_session(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(fetch, "make_session", RecordedSession)
    monkeypatch.setattr(fetch, "DEFAULT_DELAY", 0)
    code = cli.main(["fetch-police", "--force", FORCE, "--from", "2024-01", "--to", "2024-02",
                     "--dest", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr()
    assert "fetched 2 month(s)" in out.out + out.err
    assert (tmp_path / "2024-02" / f"2024-02-{FORCE}-street.csv").exists()


def test_default_session_is_requests_with_user_agent():
    session = fetch.make_session()
    assert isinstance(session, requests.Session) and "assessment-workbench" in session.headers["User-Agent"]
    with pytest.raises(AssertionError, match="real HTTP request attempted"):
        session.get("https://data.police.uk/api/forces")


def test_cli_reversed_months_exit_1(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(fetch, "make_session", RecordedSession)
    code = cli.main(["fetch-police", "--force", FORCE, "--from", "2024-03", "--to", "2024-01", "--dest", str(tmp_path)])
    assert code == 1
    assert "--from` must not be after `--to`" in capsys.readouterr().err


# ---------------------------------------------------------------- no network
def _offline_error(kind: str) -> requests.ConnectionError:
    """The exception requests raises offline, built as urllib3 2 builds it (no real network)."""
    import socket

    from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError

    if kind == "dns":
        reason = NameResolutionError("data.police.uk", None, socket.gaierror(-3, "Temporary failure in name resolution"))
    else:
        reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
    return requests.ConnectionError(MaxRetryError(None, f"/api/forces/{FORCE}", reason))


@pytest.mark.parametrize("kind, why", [("dns", "name could not be resolved"), ("refused", "connection was refused")])
def test_no_network_is_said_plainly(tmp_path, kind, why):
    session = RecordedSession(fail_on=lambda key, n: _offline_error(kind))
    with pytest.raises(IntakeError) as err:
        run(tmp_path, session=session, retries=1)
    message = str(err.value)
    assert message.startswith("the network could not be reached") and why in message, message
    assert "busy" not in message and "internet connection" in message


def test_cli_fetch_police_offline_exits_1_naming_the_network(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(fetch, "make_session", lambda: RecordedSession(fail_on=lambda k, n: _offline_error("dns")))
    monkeypatch.setattr(fetch, "DEFAULT_DELAY", 0)
    monkeypatch.setattr(fetch, "fetch_police", functools.partial(fetch.fetch_police, sleep=lambda s: None))
    code = cli.main(["fetch-police", "--force", FORCE, "--from", "2024-01", "--to", "2024-01",
                     "--dest", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and "network could not be reached" in err and "busy" not in err, err


def test_a_dropped_connection_is_not_called_offline():
    assert fetch.network_unreachable(requests.ConnectionError("connection reset by peer")) is None
    assert fetch.network_unreachable(_offline_error("dns")) == "the site's name could not be resolved"
