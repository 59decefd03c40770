"""`assess init` online, against recorded responses served by a fake session (never the network).

The ONS, Nomis and MHCLG responses are in tests/fixtures/ons_online (reconstructed in the services'
formats from the real City of London extracts; see its README); data.police.uk's in tests/fixtures/police_api.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlencode

import geopandas as gpd
import pandas as pd
import pytest
import requests

from assessment.catalogue import load_catalogue
from assessment.errors import CatalogueError
from assessment.intake import online
from assessment.intake.online import DEFAULT_SOURCES, fetch_public, init_online, online_sources

HERE = Path(__file__).parent / "fixtures"
ONS = HERE / "ons_online"
POLICE = HERE / "police_api"
ARCGIS = DEFAULT_SOURCES["arcgis_base"]
POLICE_API = "https://data.police.uk/api"
SERVICES = {DEFAULT_SOURCES[k]["service"]: k for k in ("authorities", "lsoa21", "lsoa11", "csp_lookup")}
SERVICES[DEFAULT_SOURCES["wards"][0]["service"]] = "wards"


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any real HTTP request through requests fails the test."""
    def refuse(self, request, **kwargs):
        raise AssertionError(f"real HTTP request attempted: {request.method} {request.url}")

    monkeypatch.setattr(requests.Session, "send", refuse)


class Response:
    def __init__(self, status: int, body=None, text: str | None = None, content: bytes | None = None):
        self.status_code = status
        self._body = body
        self.text = text if text is not None else json.dumps(body)
        self.content = content if content is not None else self.text.encode()
        self.headers = {}

    def json(self):
        return self._body


class Recorded:
    """A fake ArcGIS server, Nomis, MHCLG and data.police.uk serving the recorded responses.

    ArcGIS queries are answered from the recorded features: ``where`` keeps the features one of
    whose values is quoted in it (``1=1`` keeps all), and ``resultOffset``/``resultRecordCount``
    page them with ``exceededTransferLimit``, as the portal does.
    """

    def __init__(self, rename: dict[str, str] | None = None, fail_first: str | None = None):
        self.calls: list[str] = []
        self.rename = rename or {}
        self.fail_first = fail_first
        self.failed = False
        self.police = json.loads((POLICE / "index.json").read_text())["responses"]

    def _layer(self, key: str):
        info = json.loads((ONS / f"{key}_layer.json").read_text())
        feats = json.loads((ONS / f"{key}_features.json").read_text())
        for old, new in self.rename.items():
            for f in info["fields"]:
                f["name"] = new if f["name"] == old else f["name"]
            for feat in feats:
                if old in feat["properties"]:
                    feat["properties"][new] = feat["properties"].pop(old)
        return info, feats

    def get(self, url, params=None, headers=None, timeout=None, stream=False):
        assert timeout is not None and headers and "assessment-workbench" in headers["User-Agent"]
        params = dict(params or {})
        self.calls.append(url + ("?" + urlencode(sorted((k, v) for k, v in params.items() if k != "poly"))
                                 if params else ""))
        if self.fail_first and self.fail_first in url and not self.failed:
            self.failed = True
            return Response(503, {"error": "Service Unavailable"})
        if url.startswith(ARCGIS):
            m = re.match(re.escape(ARCGIS) + r"/([^/]+)/FeatureServer/\d+(/query)?$", url)
            info, feats = self._layer(SERVICES[m.group(1)])
            if not m.group(2):
                return Response(200, info)
            where = params["where"]
            if where != "1=1":
                quoted = {q.upper() for q in re.findall(r"'((?:[^']|'')*)'", where)}
                feats = [f for f in feats if any(str(v).upper() in quoted for v in f["properties"].values())]
            start, count = int(params["resultOffset"]), int(params["resultRecordCount"])
            page = feats[start:start + count]
            body = {"type": "FeatureCollection", "features": page}
            if start + count < len(feats):
                body["properties"] = {"exceededTransferLimit": True}
            return Response(200, body)
        if url.startswith("https://www.nomisweb.co.uk/"):
            table = pd.read_csv(ONS / "nomis_residents.csv", dtype=str)
            table = table[table["GEOGRAPHY_CODE"].isin(params["geography"].split(","))]
            return Response(200, text=table.to_csv(index=False))
        if url.startswith("https://assets.publishing.service.gov.uk/"):
            return Response(200, content=(ONS / "imd2019_file7.csv").read_bytes())
        assert url.startswith(POLICE_API + "/"), url
        key = url[len(POLICE_API) + 1:]
        query = {k: v for k, v in params.items() if k != "poly"}
        key += "?" + urlencode(sorted(query.items())) if query else ""
        if key == "forces":
            return Response(200, [{"id": "metropolitan", "name": "Metropolitan Police Service"},
                                  {"id": "city-of-london", "name": "City of London Police"}])
        if key not in self.police:
            raise AssertionError(f"unrecorded request {key}: the test would have gone to the network")
        return Response(200, json.loads((POLICE / self.police[key]).read_text()))

    def post(self, url, data=None, headers=None, timeout=None):
        return self.get(url, params=data, headers=headers, timeout=timeout)


PAGED = {"page_size": 20}  # 25 wards come in two pages


def run(dest, session, **kw):
    kw.setdefault("window", "2024-01:2024-02")
    return init_online(dest, ["City of London"], session=session, source_config=PAGED, delay=0,
                       sleep=lambda s: None, **kw)


def test_online_init_city_of_london(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSESSMENT_PSEUDONYM_KEY", "test-key")
    session = Recorded()
    lines: list[str] = []
    result = run(tmp_path / "col", session, progress=lines.append)
    cat = load_catalogue(result.catalogue)
    # paging: the ward query was asked twice, at offsets 0 and 20, and all 25 wards arrived
    ward_queries = [c for c in session.calls if "Wards_" in c and "/query" in c]
    assert [re.search(r"resultOffset=(\d+)", c).group(1) for c in ward_queries] == ["0", "20"]
    wards = gpd.read_file(cat.geography_path("wards"))
    assert len(wards) == 25 and result.ward_versions == [2025]
    # residents (the Total rows dropped), deprivation from File 7's headings, both LSOA vintages
    sa = gpd.read_file(cat.geography_path("small_areas"), layer="small_areas")
    assert result.residents == sa["pop_total"].sum() == 8584
    file7 = pd.read_csv(ONS / "imd2019_file7.csv").set_index("LSOA code (2011)")
    assert (sa.set_index("code")["imd_crime_decile"]
            == file7["Crime Decile (where 1 is most deprived 10% of LSOAs)"].reindex(sa["code"])).all()
    dep = cat.geography("small_areas").deprivation
    assert dep.decile == "index_of_multiple_deprivation_imd_decile"
    assert dep.rank == "index_of_multiple_deprivation_imd_rank"
    assert "small_areas_2011" in cat.geographies
    # police neighbourhoods as a geography; the force found from the lookup's police force area
    assert cat.partnership.force == "city-of-london"
    hoods = gpd.read_file(cat.geography_path("neighbourhoods"))
    assert set(hoods["code"]) <= {"cs", "cn"} and len(hoods) >= 1
    # police files fetched through fetch_police for the window
    assert sorted(p.parent.name for p in cat.dataset_files("recorded_crime")) == ["2024-01", "2024-02"]
    assert any("Police neighbourhoods" in line for line in lines)
    # API files carry no LSOA codes: the catalogue says so rather than claiming a code set
    assert "no LSOA code of the partnership" in result.catalogue.read_text()
    assert any(line.startswith("Downloads complete") for line in lines)
    # the nomis request named the partnership's LSOAs and the value measure
    nomis = [c for c in session.calls if "nomisweb" in c]
    assert len(nomis) == 1 and "measures=20100" in nomis[0] and "E01000001" in nomis[0]


def test_resume_second_run_fetches_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSESSMENT_PSEUDONYM_KEY", "test-key")
    first = run(tmp_path / "col", Recorded())
    downloads = tmp_path / "col" / "downloads"
    before = {p.name: p.read_bytes() for p in downloads.iterdir() if p.is_file()}
    # the user moves the catalogue away and runs init again: nothing is fetched, nothing rewritten
    first.catalogue.rename(tmp_path / "col" / "moved.yaml")
    second = Recorded()
    again = run(tmp_path / "col", second)
    assert second.calls == []
    assert {p.name: p.read_bytes() for p in downloads.iterdir() if p.is_file()} == before
    assert again.residents == 8584
    # and an existing catalogue is never overwritten: refused before any request
    third = Recorded()
    with pytest.raises(CatalogueError, match="never overwrites"):
        run(tmp_path / "col", third)
    assert third.calls == []


def test_retry_after_503(tmp_path):
    session = Recorded(fail_first="LSOA_2021")
    waits: list[float] = []
    got = fetch_public(tmp_path, ["E09000001"], session=session, sources=online_sources(PAGED), delay=0,
                       sleep=waits.append, police_files=False, backoff=1.0, progress=lambda s: None)
    lsoa21 = [c for c in session.calls if "LSOA_2021" in c]
    assert session.failed and len(lsoa21) == 2 and lsoa21[0] == lsoa21[1]  # the same query: 503, then 200
    assert 1.0 in waits
    assert len(json.loads((got["downloads"] / "lsoa21.geojson").read_text())["features"]) == 6


def test_renamed_field_is_recognised(tmp_path, monkeypatch):
    # next year's service calls the ward code WD24CD and the authority LAD24CD: recognised by pattern
    monkeypatch.setenv("ASSESSMENT_PSEUDONYM_KEY", "test-key")
    session = Recorded(rename={"WD25CD": "WD24CD", "WD25NM": "WD24NM", "LAD25CD": "LAD24CD", "LAD25NM": "LAD24NM"})
    result = run(tmp_path / "col", session)
    assert result.ward_versions == [2024]
    where = [c for c in session.calls if "Wards_" in c and "/query" in c][0]
    assert "LAD24CD+IN" in where or "LAD24CD%20IN" in where or "LAD24CD IN" in where
    wards = gpd.read_file(tmp_path / "col" / "data" / "geography" / "wards_2024.geojson")
    assert len(wards) == 25


def test_source_config_overrides_and_refuses_unknown(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("wards:\n  - service: Wards_May_2026_Boundaries_UK_BGC\n    layer: 0\npage_size: 50\n")
    src = online_sources(path)
    assert src["wards"][0]["service"] == "Wards_May_2026_Boundaries_UK_BGC" and src["page_size"] == 50
    assert src["nomis_url"] == DEFAULT_SOURCES["nomis_url"]
    with pytest.raises(ValueError, match="unknown"):
        online_sources({"ward": []})


def test_unknown_authority_is_named(tmp_path):
    with pytest.raises(CatalogueError, match="Atlantis"):
        fetch_public(tmp_path, ["Atlantis"], session=Recorded(), sources=online_sources(PAGED), delay=0,
                     sleep=lambda s: None, police_files=False)


def test_cli_online_init(tmp_path, monkeypatch, capsys):
    from assessment.cli import main

    monkeypatch.setenv("ASSESSMENT_PSEUDONYM_KEY", "test-key")
    monkeypatch.setattr(online, "make_session", Recorded)
    cfg = tmp_path / "src.yaml"
    cfg.write_text("page_size: 20\n")
    monkeypatch.setattr(online.time, "sleep", lambda s: None)
    code = main(["init", str(tmp_path / "col"), "--authority", "E09000001", "--window", "2024-01:2024-02",
                 "--source-config", str(cfg)])
    assert code == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "8,584 residents" in out and "Wards (" in out


def test_partnership_code_resolves_to_its_authorities(tmp_path):
    # a community safety partnership code is not an authority: the LAD-CSP-PFA lookup resolves it
    session = Recorded()
    got = fetch_public(tmp_path, ["E22999001"], session=session, sources=online_sources(PAGED), delay=0,
                       sleep=lambda s: None, police_files=False)
    manifest = json.loads((got["downloads"] / "manifest.json").read_text())
    assert manifest["lads"] == ["E09000001"] and manifest["police_force_areas"] == ["London, City of"]
    lookup = pd.read_csv(got["downloads"] / "csp_lookup.csv", dtype=str)
    assert list(lookup["CSP24CD"].unique()) == ["E22999001"]
    assert any("CSP24CD+IN" in c for c in session.calls)
