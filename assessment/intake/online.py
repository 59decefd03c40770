"""``assess init`` online: fetch a partnership's public files, then build it as from files.

The online way in downloads the same files a user would download by hand, into
``DIR/downloads/``, and then hands that folder to :func:`assessment.intake.public.init_partnership`
(the offline path), so both ways share every step after the files are obtained. Police
files go straight to ``DIR/data/police/`` through :func:`assessment.intake.fetch.fetch_police`.

Sources (every address and service name is a default in :data:`DEFAULT_SOURCES`, which a
``--source-config`` YAML overrides: ONS renames its services every year):

- **ONS Open Geography Portal** ArcGIS feature services, queried at
  ``{arcgis_base}/{service}/FeatureServer/{layer}/query`` with ``where``, ``outFields=*``,
  ``outSR=4326``, ``f=geojson`` and paged by ``resultOffset``/``resultRecordCount`` while the
  answer says ``exceededTransferLimit`` (Esri, "Query (Feature Service/Layer)", ArcGIS REST
  API reference; the ONS portal's use of it is shown in R. Leyshon, "Getting Data from ONS
  Open Geography Portal", 2023, and Trafford Data Lab, "Pushing the boundaries with the Open
  Geography Portal API", 2019). Each layer's fields are read first (``?f=json``) and
  recognised by pattern (``LADyyCD``, ``WDyyCD``, ``CSPyyCD``), so a renamed field (``WD24CD``
  in one year, ``WD25CD`` the next) needs no change here.
  Default services, as named in public code that queries them (found with the workbench's
  search tool): ``Local_Authority_Districts_May_2024_Boundaries_UK_BGC``,
  ``Wards_May_2024_Boundaries_UK_BGC``, ``LSOA_2021_EW_BFE_V10_RUC`` (layer 3),
  ``Lower_layer_Super_Output_Areas_Dec_2011_Boundaries_Full_Clipped_BFC_EW_V3_2022`` and the
  lookup ``LAD24_CSP24_PFA24_EW_LU`` (local authority to community safety partnership to
  police force area).
- **Nomis** census 2021 table TS007A (age by five-year bands, dataset ``NM_2020_1``) as CSV
  from ``https://www.nomisweb.co.uk/api/v01/dataset/NM_2020_1.data.csv`` with
  ``geography=<LSOA codes>&measures=20100`` (value).
- **English indices of deprivation 2019**, MHCLG's File 7 (all ranks, deciles and scores by
  LSOA 2011) as CSV from assets.publishing.service.gov.uk.
- **data.police.uk** ``/api/forces``, ``/api/{force}/neighbourhoods`` and
  ``/api/{force}/{id}/boundary`` (police neighbourhoods as a geography), and the street,
  outcome and stop-and-search files through ``fetch_police``.

Resume and safety: every file is written whole (``.part`` then renamed) and recorded in
``DIR/downloads/manifest.json``; a rerun skips every file already complete, so a second run
after a full one asks the network nothing. An existing ``DIR/data_catalogue.yaml`` (the
user's edits) is never overwritten: init refuses before fetching anything.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import geopandas as gpd
import pandas as pd

from ..checks import check_type
from ..errors import CatalogueError, IntakeError
from .fetch import _Client, _write_atomic, make_session, month_is_complete, month_range

DEFAULT_SOURCES: dict[str, Any] = {
    "arcgis_base": "https://services1.arcgis.com/ESMARspQHYMw9BZ9/arcgis/rest/services",
    "authorities": {"service": "Local_Authority_Districts_May_2024_Boundaries_UK_BGC", "layer": 0},
    "wards": [{"service": "Wards_May_2024_Boundaries_UK_BGC", "layer": 0}],
    "lsoa21": {"service": "LSOA_2021_EW_BFE_V10_RUC", "layer": 3},
    "lsoa11": {"service": "Lower_layer_Super_Output_Areas_Dec_2011_Boundaries_Full_Clipped_BFC_EW_V3_2022",
               "layer": 0},
    "csp_lookup": {"service": "LAD24_CSP24_PFA24_EW_LU", "layer": 0},
    "page_size": 1000,
    "nomis_url": "https://www.nomisweb.co.uk/api/v01/dataset/NM_2020_1.data.csv",
    "nomis_measures": "20100",
    "nomis_chunk": 100,
    "deprivation_url": ("https://assets.publishing.service.gov.uk/media/5dc407b440f0b6379a7acc8d/"
                        "File_7_-_All_IoD2019_Scores__Ranks__Deciles_and_Population_Denominators_3.csv"),
    "police_api": "https://data.police.uk/api",
}
"""Every online address and service name; a ``--source-config`` YAML overrides any key."""

MANIFEST = "manifest.json"
_LAD_CODE = re.compile(r"^[EW]0[6-9]\d{6}$")
_CSP_CODE = re.compile(r"^[EW]2[2-3]\d{6}$")


def online_sources(config: str | Path | dict | None = None) -> dict[str, Any]:
    """The online sources: :data:`DEFAULT_SOURCES` with a YAML file's (or dict's) keys over them.

    Raises
    ------
    ValueError
        An unknown key (a typo would otherwise be ignored silently).
    """
    import yaml

    out = json.loads(json.dumps(DEFAULT_SOURCES))
    if config is None:
        return out
    extra = config if isinstance(config, dict) else yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}
    if not isinstance(extra, dict):
        raise ValueError(f"--source-config must be a YAML mapping of source keys, got {type(extra).__name__}")
    unknown = sorted(set(extra) - set(DEFAULT_SOURCES))
    if unknown:
        raise ValueError(f"--source-config keys must be among {sorted(DEFAULT_SOURCES)}, got unknown {unknown}")
    out.update(extra)
    return out


# --------------------------------------------------------------------------- ArcGIS
def _layer_url(src: dict[str, Any], entry: dict[str, Any]) -> str:
    return f"{src['arcgis_base'].rstrip('/')}/{entry['service']}/FeatureServer/{entry.get('layer', 0)}"


def arcgis_fields(client: _Client, url: str) -> list[str]:
    """Field names of a feature layer (its ``?f=json`` description)."""
    info = client.json(url, params={"f": "json"})
    if isinstance(info, dict) and "error" in info:
        raise IntakeError(f"the ONS portal refused {url}: {info['error']}; hint: the service may have been renamed, "
                          "set its new name in --source-config")
    return [str(f.get("name")) for f in (info.get("fields") or [])]


def arcgis_query(client: _Client, url: str, where: str, *, envelope: tuple | None = None,
                 page: int = 1000) -> list[dict]:
    """Every feature matching ``where`` (and the lon/lat envelope), page after page.

    Pages with ``resultOffset``/``resultRecordCount`` while the answer carries
    ``exceededTransferLimit`` (top level or in ``properties``, as ArcGIS's GeoJSON puts it).
    """
    features: list[dict] = []
    offset = 0
    while True:
        params = {"where": where, "outFields": "*", "outSR": "4326", "f": "geojson", "returnGeometry": "true",
                  "resultOffset": str(offset), "resultRecordCount": str(page)}
        if envelope is not None:
            params.update({"geometry": ",".join(f"{v:.6f}" for v in envelope),
                           "geometryType": "esriGeometryEnvelope", "inSR": "4326",
                           "spatialRel": "esriSpatialRelIntersects"})
        body = client.json(f"{url}/query", params=params)
        if isinstance(body, dict) and "error" in body:
            raise IntakeError(f"the ONS portal refused a query of {url}: {body['error']}")
        got = body.get("features") or []
        features.extend(got)
        more = body.get("exceededTransferLimit") or (body.get("properties") or {}).get("exceededTransferLimit")
        if not more or not got:
            return features
        offset += len(got)
        client.progress(f"  {len(features)} features so far from {url.split('/services/')[-1]}")


def _field(fields: Sequence[str], pattern: str) -> str | None:
    rx = re.compile(pattern, re.IGNORECASE)
    return next((f for f in fields if rx.match(f)), None)


def _quote(values: Sequence[str]) -> str:
    return ",".join("'" + str(v).replace("'", "''") + "'" for v in values)


def _write_features(path: Path, features: list[dict]) -> Path:
    return _write_atomic(path, json.dumps({"type": "FeatureCollection", "features": features}).encode())


# --------------------------------------------------------------------------- manifest
class _Manifest:
    def __init__(self, folder: Path):
        self.path = folder / MANIFEST
        self.data: dict[str, Any] = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.data.setdefault("complete", [])

    def done(self, name: str, folder: Path) -> bool:
        return name in self.data["complete"] and (folder / name).exists()

    def mark(self, name: str, **facts) -> None:
        if name not in self.data["complete"]:
            self.data["complete"].append(name)
        self.data.update(facts)
        _write_atomic(self.path, json.dumps(self.data, indent=1, sort_keys=True).encode())


# --------------------------------------------------------------------------- steps
def _authorities(client, src, wanted, down: Path, man: _Manifest, say) -> list[str]:
    """Resolve authorities (LAD or CSP, code or name) and write their boundaries and lookup rows."""
    if man.done("authorities.geojson", down) and man.data.get("asked") == list(wanted):
        say("Authorities: already resolved, left as they are")
        return man.data["lads"]
    lad_url = _layer_url(src, src["authorities"])
    fields = arcgis_fields(client, lad_url)
    code_f, name_f = _field(fields, r"^LAD\d{2}CD$"), _field(fields, r"^LAD\d{2}NM$")
    if not code_f or not name_f:
        raise IntakeError(f"the authority layer {lad_url} has no LADyyCD/LADyyNM fields (got {fields[:12]}); "
                          "hint: point `authorities` in --source-config at a local authority boundary service")
    lu_url = _layer_url(src, src["csp_lookup"])
    lu_fields = arcgis_fields(client, lu_url)
    csp_cd, csp_nm = _field(lu_fields, r"^CSP\d{2}CD$"), _field(lu_fields, r"^CSP\d{2}NM$")
    lu_lad = _field(lu_fields, r"^LAD\d{2}CD$")
    keys = [str(w).strip() for w in wanted]
    codes = [k.upper() for k in keys if _LAD_CODE.match(k.upper())]
    csp_codes = [k.upper() for k in keys if _CSP_CODE.match(k.upper())]
    names = [k.upper() for k in keys if k.upper() not in codes + csp_codes]
    clauses = ([f"{code_f} IN ({_quote(codes)})"] if codes else []) + \
              ([f"UPPER({name_f}) IN ({_quote(names)})"] if names else [])
    feats = arcgis_query(client, lad_url, " OR ".join(clauses), page=src["page_size"]) if clauses else []
    matched = {str(f["properties"][code_f]).upper() for f in feats} | \
              {str(f["properties"][name_f]).upper() for f in feats}
    rest_names = [n for n in names if n not in matched]
    lookup_rows: list[dict] = []
    if (csp_codes or rest_names) and csp_cd and csp_nm and lu_lad:
        clauses = ([f"{csp_cd} IN ({_quote(csp_codes)})"] if csp_codes else []) + \
                  ([f"UPPER({csp_nm}) IN ({_quote(rest_names)})"] if rest_names else [])
        lookup_rows = [f["properties"] for f in arcgis_query(client, lu_url, " OR ".join(clauses),
                                                              page=src["page_size"])]
        more = sorted({str(r[lu_lad]) for r in lookup_rows} - {str(f["properties"][code_f]) for f in feats})
        if more:
            feats += arcgis_query(client, lad_url, f"{code_f} IN ({_quote(more)})", page=src["page_size"])
    lads = sorted({str(f["properties"][code_f]) for f in feats})
    if not lads:
        raise CatalogueError(f"--authority must name a local authority or community safety partnership (code or "
                             f"name) known to the ONS portal, got {list(wanted)}")
    if lu_lad:  # the lookup rows of the authorities themselves: their partnership and police force area
        lookup_rows += [f["properties"] for f in arcgis_query(client, lu_url, f"{lu_lad} IN ({_quote(lads)})",
                                                              page=src["page_size"])]
    if lookup_rows:
        table = pd.DataFrame(lookup_rows).drop_duplicates()
        table = table[[c for c in table.columns if re.match(r"^(CSP|LAD|PFA)\d{2}(CD|NM)$", c, re.IGNORECASE)]]
        _write_atomic(down / "csp_lookup.csv", table.to_csv(index=False).encode())
    _write_features(down / "authorities.geojson", feats)
    pfa = sorted({str(r[k]) for r in lookup_rows for k in r if re.match(r"^PFA\d{2}NM$", k, re.IGNORECASE)})
    man.mark("authorities.geojson", asked=list(wanted), lads=lads, police_force_areas=pfa)
    say(f"Authorities: {', '.join(str(f['properties'][name_f]) for f in feats)} ({', '.join(lads)})")
    return lads


def _lad_shape(down: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(down / "authorities.geojson").to_crs(4326)


def _wards(client, src, lads, down, man, say) -> None:
    area = None
    for entry in src["wards"]:
        url = _layer_url(src, entry)
        name = f"wards_{entry['service']}.geojson"
        if man.done(name, down):
            say(f"Wards ({entry['service']}): already downloaded, left as they are")
            continue
        fields = arcgis_fields(client, url)
        code = _field(fields, r"^WD\d{2}CD$")
        if not code:
            raise IntakeError(f"the ward layer {url} has no WDyyCD field (got {fields[:12]}); hint: set `wards` in "
                              "--source-config to a ward boundary service")
        lad = _field(fields, r"^LAD\d{2}CD$")
        if lad:
            feats = arcgis_query(client, url, f"{lad} IN ({_quote(lads)})", page=src["page_size"])
        else:  # no authority field: take the wards whose interior lies inside the authorities
            area = _lad_shape(down) if area is None else area
            feats = arcgis_query(client, url, "1=1", envelope=tuple(area.total_bounds), page=src["page_size"])
            if feats:
                units = gpd.GeoDataFrame.from_features(feats, crs=4326)
                keep = units.to_crs(27700).representative_point().within(area.to_crs(27700).union_all()).to_numpy()
                feats = [f for f, k in zip(feats, keep) if k]
        _write_features(down / name, feats)
        man.mark(name)
        say(f"Wards ({entry['service']}, {code}): {len(feats)}")


def _small_areas(client, src, key, down, man, say) -> list[str]:
    name = f"{key}.geojson"
    url = _layer_url(src, src[key])
    if not man.done(name, down):
        area = _lad_shape(down)
        feats = arcgis_query(client, url, "1=1", envelope=tuple(area.total_bounds), page=src["page_size"])
        _write_features(down / name, feats)
        man.mark(name)
        say(f"LSOA {key[-2:]}: {len(feats)} intersecting the authorities' extent")
    else:
        say(f"LSOA {key[-2:]}: already downloaded, left as they are")
    units = gpd.read_file(down / name)
    field = _field(list(units.columns), rf"^LSOA{key[-2:]}CD$")
    return [] if field is None else units[field].astype(str).tolist()


def _residents(client, src, codes, down, man, say) -> None:
    name = "residents_census2021.csv"
    if man.done(name, down):
        say("Residents: already downloaded, left as they are")
        return
    frames = []
    step = int(src["nomis_chunk"])
    for i in range(0, len(codes), step):
        resp = client.request(src["nomis_url"], params={"geography": ",".join(codes[i:i + step]),
                                                        "measures": str(src["nomis_measures"])})
        frames.append(pd.read_csv(io.StringIO(resp.text), dtype=str))
    if not frames:
        return
    raw = pd.concat(frames, ignore_index=True)
    cols = list(raw.columns)
    geo = next((c for c in cols if c.upper() == "GEOGRAPHY_CODE"), None)
    value = next((c for c in cols if c.upper() == "OBS_VALUE"), None)
    band = next((c for c in cols if c.upper().endswith("_NAME") and "AGE" in c.upper()), None)
    if not (geo and value and band):
        raise IntakeError(f"Nomis sent a table without GEOGRAPHY_CODE, OBS_VALUE and an age category column "
                          f"(got {cols[:15]}); hint: check `nomis_url` in --source-config")
    rows = raw[~raw[band].str.contains("total", case=False, na=False)]
    long = pd.DataFrame({"lsoa21_code": rows[geo], "age_group": rows[band],
                         "usual_residents": pd.to_numeric(rows[value], errors="coerce")})
    _write_atomic(down / name, long.to_csv(index=False).encode())
    man.mark(name)
    say(f"Residents: {long['usual_residents'].sum():,.0f} in {long['lsoa21_code'].nunique()} LSOAs "
        f"({long['age_group'].nunique()} age bands)")


def _deprivation(client, src, codes, down, cache, man, say) -> None:
    name = "deprivation.csv"
    if man.done(name, down):
        say("Deprivation: already downloaded, left as it is")
        return
    raw = cache / Path(src["deprivation_url"]).name
    if not raw.exists():
        say(f"Deprivation: downloading {src['deprivation_url']}")
        resp = client.request(src["deprivation_url"])
        _write_atomic(raw, resp.content)
    table = pd.read_csv(raw, dtype=str, encoding="utf-8-sig")
    code = next((c for c in table.columns if "lsoa" in c.lower() and ("code" in c.lower()
                                                                      or c.lower().endswith("cd"))), None)
    if code is None:
        raise IntakeError(f"the deprivation file {raw.name} has no LSOA code column (got {list(table.columns)[:8]})")
    part = table[table[code].isin(codes)]
    _write_atomic(down / name, part.to_csv(index=False).encode())
    man.mark(name)
    say(f"Deprivation: {len(part)} LSOAs from {raw.name}")


def _force_slug(client, src, man, force, say) -> str | None:
    if force:
        return force
    if man.data.get("force"):
        return man.data["force"]
    pfas = man.data.get("police_force_areas") or []
    if not pfas:
        return None
    forces = client.json(f"{src['police_api'].rstrip('/')}/forces")

    def norm(text: str) -> str:
        text = str(text).lower()
        if "," in text:  # ONS writes "London, City of"
            head, tail = text.split(",", 1)
            text = f"{tail} {head}"
        text = re.sub(r"\b(police|constabulary|service)\b", " ", text)
        return re.sub(r"[^a-z]+", "", text.replace("&", "and"))

    wanted = {norm(p) for p in pfas}
    hits = [f["id"] for f in forces if norm(f.get("name", "")) in wanted or norm(f.get("id", "")) in wanted]
    if len(hits) == 1:
        man.mark("force", force=hits[0])
        say(f"Police force: {hits[0]} (from the police force area {', '.join(pfas)})")
        return hits[0]
    say(f"Police force: could not tell the data.police.uk force of {pfas}; pass --force SLUG")
    return None


def _neighbourhoods(client, src, force, down, cache, man, say) -> None:
    name = "neighbourhoods.geojson"
    if man.done(name, down):
        say("Police neighbourhoods: already downloaded, left as they are")
        return
    base = src["police_api"].rstrip("/")
    hoods = client.json(f"{base}/{force}/neighbourhoods")
    folder = cache / f"neighbourhoods-{force}"
    folder.mkdir(parents=True, exist_ok=True)
    feats = []
    for i, hood in enumerate(hoods, 1):
        one = folder / f"{re.sub(r'[^A-Za-z0-9_-]', '_', str(hood['id']))}.json"
        if not one.exists():
            _write_atomic(one, json.dumps(client.json(f"{base}/{force}/{hood['id']}/boundary")).encode())
            if i % 25 == 0:
                say(f"  {i} of {len(hoods)} neighbourhood boundaries")
        points = pd.DataFrame(json.loads(one.read_text()))
        if len(points) < 3:
            continue
        ring = list(zip(points["longitude"].astype(float), points["latitude"].astype(float)))
        feats.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring + ring[:1]]},
                      "properties": {"neighbourhood_id": str(hood["id"]), "neighbourhood_name": str(hood.get("name")),
                                     "force": force}})
    _write_features(down / name, feats)
    man.mark(name)
    say(f"Police neighbourhoods: {len(feats)} boundaries of {force}")


def fetch_public(dest: str | Path, authorities: Sequence[str], *, force: str | None = None,
                 window: str | None = None, sources: dict[str, Any] | None = None, session=None,
                 police_files: bool = True,
                 progress: Callable[[str], None] = lambda s: None, delay: float = 0.2, retries: int = 4,
                 backoff: float = 2.0, timeout: float = 120.0,
                 sleep: Callable[[float], None] | None = None) -> dict[str, Any]:
    """Download a partnership's public files into ``dest/downloads`` (and police files into ``dest/data/police``).

    Parameters
    ----------
    dest : str or Path
        The partnership folder.
    authorities : sequence of str
        Local authority or community safety partnership codes or names.
    force : str, optional
        data.police.uk force slug; by default found from the authorities' police force area.
    window : str, optional
        ``YYYY-MM:YYYY-MM``; by default the 36 latest months data.police.uk publishes.
    sources : dict, optional
        From :func:`online_sources`.
    police_files : bool, default True
        Fetch the data.police.uk street, outcome and stop-and-search files (False when the
        user already has them); the neighbourhood boundaries are fetched either way.
    session : requests.Session-like, optional
        Anything with ``get``; default :func:`assessment.intake.fetch.make_session`.

    Returns
    -------
    dict
        ``downloads`` (folder), ``police`` (folder or None), ``window``, ``force``, ``requests``
        (how many HTTP requests this run made).
    """
    from .fetch import fetch_police

    check_type(authorities, "authorities", (list, tuple))
    src = sources or online_sources()
    dest = Path(dest)
    down, cache = dest / "downloads", dest / ".download-cache"
    down.mkdir(parents=True, exist_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    man = _Manifest(down)
    sleep = sleep or time.sleep
    client = _Client(session if session is not None else make_session(), delay=delay, retries=retries,
                     backoff=backoff, timeout=timeout, sleep=sleep, progress=progress,
                     site="the ONS Open Geography Portal, Nomis, MHCLG or data.police.uk")
    progress(f"Public sources into {down} (files already complete are left as they are)")
    lads = _authorities(client, src, list(authorities), down, man, progress)
    _wards(client, src, lads, down, man, progress)
    codes21 = _small_areas(client, src, "lsoa21", down, man, progress)
    codes11 = _small_areas(client, src, "lsoa11", down, man, progress)
    _residents(client, src, codes21, down, man, progress)
    _deprivation(client, src, sorted(set(codes11) | set(codes21)), down, cache, man, progress)
    slug = _force_slug(client, src, man, force, progress)
    police_dir = None
    if slug:
        _neighbourhoods(client, src, slug, down, cache, man, progress)
    if slug and police_files:
        if window is None:
            window = man.data.get("window")
        if window is None:
            dates = sorted(d["date"] for d in client.json(f"{src['police_api'].rstrip('/')}/crimes-street-dates"))
            if not dates:
                raise IntakeError("data.police.uk reports no published months; pass --window")
            window = f"{dates[max(0, len(dates) - 36)]}:{dates[-1]}"
            man.mark("window", window=window)
        start, end = window.split(":")
        police_dir = dest / "data" / "police"
        missing = [m for m in month_range(start, end) if not month_is_complete(police_dir, m, slug)]
        if missing:
            boundary = _lad_shape(down)
            result = fetch_police(slug, missing[0], missing[-1], police_dir, session=client.session,
                                  base_url=src["police_api"], boundary=boundary, progress=progress, delay=delay,
                                  retries=retries, backoff=backoff, timeout=timeout, sleep=sleep)
            client.count += result.requests
            if result.failed:
                raise IntakeError(f"data.police.uk months {sorted(result.failed)} failed; rerun to resume "
                                  f"({next(iter(result.failed.values()))})")
        else:
            progress(f"Police files: {start} to {end} already complete, left as they are")
    progress(f"Downloads complete ({client.count} requests this run)")
    return {"downloads": down, "police": police_dir, "window": window, "force": slug, "requests": client.count}


def init_online(dest: str | Path, authorities: Sequence[str], *, police: str | Path | None = None,
                window: str | None = None, force: str | None = None, source_config: str | Path | dict | None = None,
                session=None, progress: Callable[[str], None] = lambda s: None, today: dt.date | None = None,
                **client_options):
    """``assess init`` without ``--from-files``: fetch the public files, then build as from files.

    Returns
    -------
    InitResult
        As :func:`assessment.intake.public.init_partnership`.
    """
    from .public import init_partnership

    dest = Path(dest)
    catalogue = dest / "data_catalogue.yaml"
    if catalogue.exists():
        raise CatalogueError(f"{catalogue} already exists and may hold your edits; init never overwrites it. "
                             "Choose a new folder or move the file away first.")
    got = fetch_public(dest, authorities, force=force, window=window, police_files=police is None,
                       sources=online_sources(source_config), session=session, progress=progress, **client_options)
    if police is not None:  # the user's own police folder wins over a download
        police_dir = Path(police)
    else:
        police_dir = got["police"]
    return init_partnership(dest, authorities, got["downloads"], police=police_dir,
                            window=window or (got["window"] if police is None else None), progress=progress,
                            today=today)
