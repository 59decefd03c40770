"""A partnership's starting data from public sources (``assess init``).

Every partnership in England and Wales starts from the same public data: ONS boundaries
(local authorities, wards, LSOAs 2011 and 2021), census or mid-year residents by LSOA and
age, the indices of deprivation by LSOA, and data.police.uk. The functions here recognise
those files by their ONS code and name fields (``WDyyCD``/``WDyyNM``, ``LSOA21CD``,
``LSOA11CD``, ``LADyyCD``, ``CSPyyCD``), whatever the files are called, and write a
partnership folder: boundaries in the working CRS, small areas carrying residents and
deprivation, the police files, and a commented ``data_catalogue.yaml`` that validates.

The ``public_*`` family reads and recognises; :func:`init_partnership` writes.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from ..checks import check_type
from ..errors import CatalogueError, GeographyError

WORKING_CRS = "EPSG:27700"
_VECTOR = {".geojson", ".json", ".gpkg", ".zip", ".shp"}

SOURCES = {
    "boundaries": ("ONS Open Geography Portal (boundaries and lookups)", "https://geoportal.statistics.gov.uk/",
                   "Open Government Licence v3.0; contains OS data (c) Crown copyright and database right"),
    "census": ("Census 2021, usual residents by LSOA and age (ONS; Nomis bulk tables)", "https://www.nomisweb.co.uk/",
               "Open Government Licence v3.0"),
    "deprivation": ("English Indices of Deprivation (MHCLG)",
                    "https://www.gov.uk/government/collections/english-indices-of-deprivation",
                    "Open Government Licence v3.0"),
    "police": ("data.police.uk street-level crime, outcomes and stop and search", "https://data.police.uk/data/",
               "Open Government Licence v3.0"),
}
"""Source, address and licence of each public input, written into the catalogue."""

POLICE_THEMES = {
    "Anti-social behaviour": "asb", "Bicycle theft": "acquisitive", "Burglary": "acquisitive",
    "Criminal damage and arson": "criminal_damage_arson", "Drugs": "drugs", "Other crime": "other",
    "Other theft": "acquisitive", "Possession of weapons": "weapons", "Public order": "public_order",
    "Robbery": "acquisitive", "Shoplifting": "acquisitive", "Theft from the person": "acquisitive",
    "Vehicle crime": "acquisitive", "Violence and sexual offences": "violence",
    "Public disorder and weapons": "public_order",
}
"""The workbench's default grouping of data.police.uk crime types into partnership themes (edit freely)."""

THEMES = {"violence": "Violence", "asb": "Anti-social behaviour", "acquisitive": "Acquisitive crime",
          "criminal_damage_arson": "Criminal damage and arson", "drugs": "Drugs", "weapons": "Weapons",
          "public_order": "Public order", "other": "Other crime"}


@dataclass
class PublicFile:
    """One recognised public file."""

    path: Path
    role: str            # wards, lsoa21, lsoa11, authorities, csp, csp_lookup, residents, deprivation
    vintage: int | None  # two-digit ONS year turned into a four-digit year, where the fields carry one
    code_field: str
    name_field: str | None = None
    authority_code_field: str | None = None
    authority_name_field: str | None = None
    layer: str | None = None
    fields: list[str] = field(default_factory=list)


def _year(two: str) -> int:
    return 2000 + int(two)


def _first(fields: Sequence[str], pattern: str) -> tuple[str, re.Match] | tuple[None, None]:
    rx = re.compile(pattern, re.IGNORECASE)
    for f in fields:
        m = rx.match(f)
        if m:
            return f, m
    return None, None


def _name_for(fields: Sequence[str], code_field: str) -> str | None:
    wanted = re.sub(r"CD$", "NM", code_field, flags=re.IGNORECASE).lower()
    return next((f for f in fields if f.lower() == wanted), None)


_NEIGHBOURHOOD_ID = re.compile(r"^(neighbourhood|nbhd)_?(id|code)$", re.IGNORECASE)


def _classify_vector(path: Path, fields: list[str], layer: str | None) -> PublicFile | None:
    hood = next((f for f in fields if _NEIGHBOURHOOD_ID.match(f)), None)
    if hood:
        name = next((f for f in fields if re.fullmatch(r"(neighbourhood|nbhd)_?name", f, re.IGNORECASE)), None)
        return PublicFile(path, "neighbourhoods", None, hood, name, layer=layer, fields=list(fields))
    for role, pattern in (("wards", r"^WD(\d{2})CD$"), ("lsoa21", r"^LSOA(21)CD$"), ("lsoa11", r"^LSOA(11)CD$"),
                          ("csp", r"^CSP(\d{2})CD$"), ("authorities", r"^LAD(\d{2})CD$")):
        code, m = _first(fields, pattern)
        if code is None:
            continue
        lad, _ = _first(fields, r"^LAD\d{2}CD$")
        return PublicFile(path, role, _year(m.group(1)), code, _name_for(fields, code),
                          lad if role != "authorities" else None,
                          _name_for(fields, lad) if lad and role != "authorities" else None, layer, list(fields))
    return None


def _csv_header(path: Path) -> list[str]:
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        first = fh.readline()
    return [c.strip().strip('"') for c in first.rstrip("\r\n").split(",")]


def _classify_csv(path: Path) -> PublicFile | None:
    fields = _csv_header(path)
    lower = [f.lower() for f in fields]
    csp, m = _first(fields, r"^CSP(\d{2})CD$")
    if csp:
        lad, _ = _first(fields, r"^LAD\d{2}CD$")
        if lad:
            return PublicFile(path, "csp_lookup", _year(m.group(1)), csp, _name_for(fields, csp), lad,
                              _name_for(fields, lad), fields=fields)
    if any("rank" in f for f in lower) and any("decile" in f for f in lower):
        code = next((f for f, lo in zip(fields, lower) if "lsoa" in lo and ("code" in lo or lo.endswith("cd"))), None)
        if code:
            return PublicFile(path, "deprivation", None, code, fields=fields)
    code = next((f for f, lo in zip(fields, lower)
                 if ("lsoa" in lo or lo in ("geography code", "geography_code")) and
                 ("code" in lo or lo.endswith("cd"))), None)
    if code and (any("age" in lo for lo in lower) or any("resident" in lo for lo in lower)):
        return PublicFile(path, "residents", 2021, code, fields=fields)
    return None


def public_files(folder: str | Path) -> list[PublicFile]:
    """Recognise the public files in a folder (searched recursively) by their fields.

    Parameters
    ----------
    folder : str or Path
        Folder of files the user downloaded: boundaries as GeoJSON, GeoPackage or (zipped)
        shapefile in any CRS; residents and deprivation as CSV.

    Returns
    -------
    list of PublicFile
        One entry per recognised file; files whose fields are not recognised are skipped.
    """
    check_type(folder, "folder", (str, Path))
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"--from-files must be a folder of downloaded public files, got {str(root)!r}")
    found: list[PublicFile] = []
    # data.police.uk neighbourhood boundaries: a folder of <neighbourhood-id>.kml files (one force)
    for kml_dir in sorted({p.parent for p in root.rglob("*.kml")}):
        found.append(PublicFile(kml_dir, "neighbourhoods", None, "code", "name"))
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        suffix = path.suffix.lower()
        if suffix in _VECTOR:
            source = f"zip://{path}" if suffix == ".zip" else str(path)
            try:
                layers = [row[0] for row in pyogrio.list_layers(source)] if suffix == ".gpkg" else [None]
                for layer in layers:
                    info = pyogrio.read_info(source, layer=layer)
                    hit = _classify_vector(path, list(info["fields"]), layer)
                    if hit:
                        found.append(hit)
            except Exception:  # not a readable vector file: not ours to judge here
                continue
        elif suffix == ".csv":
            hit = _classify_csv(path)
            if hit:
                found.append(hit)
    return found


def _read_units(f: PublicFile) -> gpd.GeoDataFrame:
    from .boundaries import read_boundary

    units, _ = read_boundary(f.path, f.code_field, f.name_field, layer=f.layer, to_crs=WORKING_CRS)
    return units


def public_authorities(files: Sequence[PublicFile], wanted: Sequence[str]) -> pd.DataFrame:
    """Resolve local authority or community safety partnership codes or names to authorities.

    Parameters
    ----------
    files : sequence of PublicFile
        From :func:`public_files`.
    wanted : sequence of str
        Codes (``E09000001``) or names (``City of London``), any case; a community safety
        partnership code or name resolves to its authorities through a CSP lookup file.

    Returns
    -------
    DataFrame
        ``code``, ``name``: one row per authority, in the order asked.
    """
    if not wanted:
        raise ValueError("--authority must name at least one local authority or partnership, got none")
    known: dict[str, str] = {}
    csp: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for f in files:
        if f.role == "csp_lookup":
            t = pd.read_csv(f.path, dtype=str, encoding="utf-8-sig")
            for (cc, cn), grp in t.groupby([f.code_field, f.name_field or f.code_field]):
                csp[(cc, cn)] = list(zip(grp[f.authority_code_field], grp[f.authority_name_field or f.authority_code_field]))
            continue
        fields = (f.code_field, f.name_field) if f.role == "authorities" else (f.authority_code_field,
                                                                            f.authority_name_field)
        if not fields[0]:
            continue
        cols = [c for c in fields if c]
        t = pyogrio.read_dataframe(f"zip://{f.path}" if f.path.suffix.lower() == ".zip" else f.path,
                                   layer=f.layer, columns=cols, read_geometry=False)
        for code, name in zip(t[fields[0]].astype(str), t[fields[1]].astype(str) if fields[1] else t[fields[0]]):
            known[code] = name
    rows = []
    for w in wanted:
        key = str(w).strip().lower()
        hits = [(c, n) for c, n in known.items() if key in (c.lower(), n.strip().lower())]
        if not hits:
            for (cc, cn), lads in csp.items():
                if key in (cc.lower(), cn.strip().lower()):
                    hits = lads
        if not hits:
            close = sorted(n for n in set(known.values()) if key[:4] and key[:4] in n.lower())[:5]
            raise CatalogueError(
                f"--authority must name a local authority (code or name) or partnership found in the public files, "
                f"got {w!r}; authorities in the files: {sorted(set(known.values()))[:10]}"
                + (f"; close names: {close}" if close else ""))
        rows.extend(hits)
    out = pd.DataFrame(rows, columns=["code", "name"]).drop_duplicates("code").reset_index(drop=True)
    return out


def public_wards(files: Sequence[PublicFile], authorities: Sequence[str]) -> list[tuple[int, gpd.GeoDataFrame]]:
    """Every ward version of the authorities, oldest first: ``[(year, units)]``.

    Wards are selected by their authority code field where the file has one, otherwise by
    lying inside the authorities' boundary.
    """
    out = []
    for f in sorted((f for f in files if f.role == "wards"), key=lambda f: f.vintage or 0):
        units = _read_units(f)
        if f.authority_code_field and f.authority_code_field in units:
            units = units[units[f.authority_code_field].astype(str).isin(authorities)]
        if len(units):
            out.append((f.vintage, units[["code", "name", "geometry"]].reset_index(drop=True)))
    return out


def _inside(units: gpd.GeoDataFrame, boundary) -> gpd.GeoDataFrame:
    """Units whose interior point lies inside ``boundary`` (a shapely geometry)."""
    pts = units.geometry.representative_point()
    return units[pts.within(boundary).to_numpy()].reset_index(drop=True)


def public_residents(path: str | Path, code_field: str | None = None) -> pd.DataFrame:
    """Residents by LSOA and age band from a long table or a census bulk (wide) CSV.

    Parameters
    ----------
    path : str or Path
        Either a long table (LSOA code, age band, count) or a wide table with one column
        per age band (the census bulk CSV; columns holding ``Total`` are taken as the total).
    code_field : str, optional
        The LSOA code column; recognised by name when omitted.

    Returns
    -------
    DataFrame
        ``code``, ``band``, ``count`` (float): one row per LSOA and band.
    """
    t = pd.read_csv(path, encoding="utf-8-sig")
    cols = list(t.columns)
    lower = [c.lower() for c in cols]
    code = code_field or next(c for c, lo in zip(cols, lower) if ("lsoa" in lo or "geography code" in lo)
                              and ("code" in lo or lo.endswith("cd")))
    band = next((c for c, lo in zip(cols, lower) if lo in ("age_group", "age group", "age", "age_band", "age band")
                 or lo.startswith("age (")), None)
    if band is not None:
        count = next(c for c, lo in zip(cols, lower) if c not in (code, band) and pd.api.types.is_numeric_dtype(t[c]))
        long = pd.DataFrame({"code": t[code].astype(str), "band": t[band].astype(str),
                             "count": pd.to_numeric(t[count], errors="coerce")})
    else:
        age_cols = [c for c, lo in zip(cols, lower) if lo.startswith("age") and "total" not in lo
                    and pd.api.types.is_numeric_dtype(t[c])]
        if not age_cols:
            raise ValueError(f"residents file {path} must hold an age-band column or one column per age band, "
                             f"got columns {cols[:12]}")
        long = t.melt(id_vars=[code], value_vars=age_cols, var_name="band", value_name="count")
        long = long.rename(columns={code: "code"})
        long["code"] = long["code"].astype(str)
        long["band"] = long["band"].astype(str).str.replace(r"^Age:?\s*", "", regex=True)
    if long["count"].isna().any():
        raise ValueError(f"residents file {path} must hold numbers in its count column, got "
                         f"{int(long['count'].isna().sum())} blank or non-numeric counts")
    long["band"] = long["band"].str.replace(r"^Aged\s+", "", regex=True).str.strip()
    return long.reset_index(drop=True)


def _band_column(label: str) -> str:
    return "pop_" + re.sub(r"[^0-9a-z]+", "_", label.lower()).strip("_")


def public_deprivation(path: str | Path) -> pd.DataFrame:
    """Index of multiple deprivation and domain ranks and deciles by LSOA.

    Returns
    -------
    DataFrame
        ``code`` plus every ``*rank*`` and ``*decile*`` column of the file, renamed to
        snake case (``index_of_multiple_deprivation_imd_rank`` etc.).
    """
    t = pd.read_csv(path, encoding="utf-8-sig")
    cols = list(t.columns)
    code = next(c for c in cols if "lsoa" in c.lower() and ("code" in c.lower() or c.lower().endswith("cd")))
    keep = [c for c in cols if ("rank" in c.lower() or "decile" in c.lower())]
    out = t[[code, *keep]].copy()
    plain = [re.sub(r"\s*\(where [^)]*\)", "", c) for c in keep]  # MHCLG's File 7 headings carry these notes
    out.columns = ["code", *[re.sub(r"[^0-9a-z]+", "_", c.lower()).strip("_") for c in plain]]
    out["code"] = out["code"].astype(str)
    return out


def police_lsoa_vintage(street: pd.DataFrame, lsoa11: set[str], lsoa21: set[str]) -> pd.DataFrame:
    """Per month, how many street rows carry 2011-only, 2021-only or shared LSOA codes.

    data.police.uk has carried both code sets over time; this finds which months use which.
    """
    codes = street["LSOA code"].astype("string")
    only11 = codes.isin(sorted(lsoa11 - lsoa21))
    only21 = codes.isin(sorted(lsoa21 - lsoa11))
    frame = pd.DataFrame({"month": street["Month"].astype(str), "lsoa_2011_only": only11, "lsoa_2021_only": only21,
                          "either": codes.isin(sorted(lsoa11 & lsoa21))})
    table = frame.groupby("month").sum().astype(int).reset_index()
    table["vintage"] = np.select([table["lsoa_2021_only"] > table["lsoa_2011_only"],
                                  table["lsoa_2011_only"] > 0, table["either"] > 0], ["2021", "2011", "either"],
                                 "none")
    return table


@dataclass
class InitResult:
    """What :func:`init_partnership` wrote."""

    catalogue: Path
    authorities: pd.DataFrame
    ward_versions: list[int]
    residents: float
    window: tuple[str, str]
    notes: list[str]


def _dates_for(years: list[int], window_start: str) -> list[tuple[dt.date, dt.date | None]]:
    """Validity of each ward version: from May of its year (ward changes take effect at May elections)."""
    starts = [dt.date(y, 5, 1) for y in years]
    first = min(dt.date.fromisoformat(window_start + "-01"), starts[0])
    starts[0] = dt.date(1900, 1, 1) if len(starts) == 1 else min(first, starts[0])
    out = []
    for i, s in enumerate(starts):
        end = starts[i + 1] - dt.timedelta(days=1) if i + 1 < len(starts) else None
        out.append((s, end))
    return out


def _police_months(folder: Path) -> tuple[list[str], str | None]:
    months = sorted(p.name for p in folder.iterdir() if p.is_dir() and re.fullmatch(r"\d{4}-\d{2}", p.name))
    force = None
    for m in months:
        hit = next(iter(sorted((folder / m).glob(f"{m}-*-street.csv"))), None)
        if hit:
            force = hit.name[len(m) + 1:-len("-street.csv")]
            break
    return months, force


def _copy_police(src: Path, dest: Path, months: list[str], force: str, progress: Callable[[str], None]) -> None:
    for m in months:
        target = dest / m
        target.mkdir(parents=True, exist_ok=True)
        for f in sorted((src / m).glob(f"{m}-{force}-*.csv")):
            out = target / f.name
            if out.exists() and out.stat().st_size == f.stat().st_size:
                continue
            shutil.copyfile(f, out)
    progress(f"Police files: {len(months)} months of {force} copied into {dest}")


def init_partnership(dest: str | Path, authorities: Sequence[str], from_files: str | Path, *,
                     police: str | Path | None = None, window: str | None = None,
                     progress: Callable[[str], None] = lambda s: None,
                     today: dt.date | None = None) -> InitResult:
    """Write a partnership folder and catalogue from public files the user downloaded.

    Parameters
    ----------
    dest : str or Path
        The partnership folder: ``dest/data_catalogue.yaml`` and ``dest/data/`` are written.
        An existing catalogue is never overwritten (it may hold the user's edits).
    authorities : sequence of str
        Local authority codes or names, or a community safety partnership code or name.
    from_files : str or Path
        Folder of ONS boundaries, residents and deprivation files (see :func:`public_files`).
    police : str or Path, optional
        A folder of data.police.uk monthly folders (``YYYY-MM/YYYY-MM-<force>-street.csv``).
    window : str, optional
        ``YYYY-MM:YYYY-MM``; by default the police files' months.

    Returns
    -------
    InitResult
    """
    import yaml

    from .fetch import catalogue_stub

    dest = Path(dest)
    check_type(authorities, "authorities", (list, tuple))
    catalogue_path = dest / "data_catalogue.yaml"
    if catalogue_path.exists():
        raise CatalogueError(f"{catalogue_path} already exists and may hold your edits; init never overwrites it. "
                             "Choose a new folder or move the file away first.")
    files = public_files(from_files)
    by_role: dict[str, list[PublicFile]] = {}
    for f in files:
        by_role.setdefault(f.role, []).append(f)
    progress("Recognised public files: " + ", ".join(f"{r} ({len(v)})" for r, v in sorted(by_role.items())))
    if "wards" not in by_role:
        raise CatalogueError(f"--from-files {from_files} must hold a ward boundary file (fields WDyyCD, WDyyNM); "
                             f"found {sorted(by_role) or 'nothing recognisable'}")
    lads = public_authorities(files, authorities)
    lad_codes = lads["code"].tolist()
    ward_versions = public_wards(files, lad_codes)
    if not ward_versions:
        raise CatalogueError(f"no wards of {lad_codes} in the ward files {[str(f.path) for f in by_role['wards']]}")
    latest_wards = ward_versions[-1][1]
    boundary = latest_wards.geometry.union_all()
    notes: list[str] = []

    data = dest / "data"
    geo = data / "geography"
    geo.mkdir(parents=True, exist_ok=True)

    # -- police files and the window --------------------------------------------------------------
    police_entries: dict = {}
    force = None
    months: list[str] = []
    if police is not None:
        months, force = _police_months(Path(police))
        if not months or force is None:
            raise CatalogueError(f"--police {police} must hold data.police.uk month folders "
                                 "(YYYY-MM/YYYY-MM-<force>-street.csv), found none")
    if window:
        m = re.fullmatch(r"(\d{4}-\d{2}):(\d{4}-\d{2})", window)
        if not m or m.group(1) > m.group(2):
            raise ValueError(f"--window must be YYYY-MM:YYYY-MM with start before end, got {window!r}")
        start, end = m.group(1), m.group(2)
    elif months:
        start, end = months[0], months[-1]
    else:
        raise ValueError("--window is needed when no --police folder gives the months")
    if police is not None:
        months = [mo for mo in months if start <= mo <= end]
        _copy_police(Path(police), data / "police", months, force, progress)
        kinds = [k for k in ("street", "outcomes", "stop-and-search")
                 if any((data / "police" / mo / f"{mo}-{force}-{k}.csv").is_file() for mo in months)]
        stub = catalogue_stub(force, force.replace("-", " ").title() + " Police", "archive", kinds, months)
        kind_of = {"police_uk_street": "street", "police_uk_stop_search": "stop-and-search"}
        measured = {k: police_files_cover(data / "police", months, force, k, boundary)
                    for k in kind_of.values() if k in kinds}
        # the force's own neighbourhoods say whether it polices other partnerships too (for files
        # whose rows carry no location to judge by)
        hood_file = _force_neighbourhood_file(by_role.get("neighbourhoods", []), force)
        beyond = police_neighbourhoods_beyond(hood_file, boundary) if hood_file is not None else None
        for key, entry in stub["datasets"].items():
            entry["path"] = "police/" + entry["path"]
            if entry["format"] == "police_uk_street":
                entry["geography"] = "small_areas"
            kind = kind_of.get(entry["format"])
            if kind is not None and entry.get("coordinates"):
                # what the files cover decides where their rows without a location belong
                covers, outside, located = measured[kind]
                basis = None
                if covers is None and beyond is not None and beyond[1]:
                    # no located row to judge by: the force's neighbourhoods decide
                    covers = "force" if beyond[0] else "partnership"
                    basis = (f"{beyond[0]:,} of the force's {beyond[1]:,} police neighbourhoods lie outside "
                             "the partnership")
                elif covers is None:  # nothing to judge by: as the street files, and said to be assumed
                    covers = measured.get("street", (None, 0, 0))[0] or "partnership"
                    basis = ("assumed as the street files, since no police neighbourhood boundaries were "
                             "given to show whether the force has other partnerships")
                entry["covers"] = covers
                notes.append(_covers_note(kind, covers, outside, located, basis))
            police_entries[key] = entry

    # -- boundaries -------------------------------------------------------------------------------
    part = gpd.GeoDataFrame({"code": ["+".join(lad_codes)], "name": [" and ".join(lads["name"])]},
                            geometry=[boundary], crs=WORKING_CRS)
    part.to_file(geo / "partnership.geojson", driver="GeoJSON")
    dates = _dates_for([y for y, _ in ward_versions], start)
    ward_entries = []
    for (year, units), (valid_from, valid_to) in zip(ward_versions, dates):
        name = f"wards_{year}.geojson"
        units.to_file(geo / name, driver="GeoJSON")
        entry = {"path": f"geography/{name}", "valid_from": valid_from}
        if valid_to:
            entry["valid_to"] = valid_to
        ward_entries.append(entry)
    if len(ward_versions) == 1:
        notes.append(f"Wards as drawn in {ward_versions[0][0]}, applied to every month.")

    # -- small areas with residents and deprivation ----------------------------------------------
    if "lsoa21" not in by_role:
        raise CatalogueError(f"--from-files {from_files} must hold LSOA 2021 boundaries (fields LSOA21CD, "
                             f"LSOA21NM) for the small areas; found {sorted(by_role)}")
    lsoa21 = _inside(_read_units(by_role["lsoa21"][0]), boundary)
    sa = lsoa21[["code", "name", "geometry"]].copy()
    population: dict = {}
    if "residents" in by_role:
        rf = by_role["residents"][0]
        res = public_residents(rf.path, rf.code_field)
        res = res[res["code"].isin(sa["code"])]
        bands = list(dict.fromkeys(res["band"]))
        wide = res.pivot_table(index="code", columns="band", values="count", aggfunc="sum")
        for b in bands:
            sa[_band_column(b)] = sa["code"].map(wide[b]).fillna(0.0).to_numpy()
        sa["pop_total"] = sa[[_band_column(b) for b in bands]].sum(axis=1)
        missing = sorted(set(sa["code"]) - set(wide.index))
        if missing:
            warnings.warn(f"residents file {rf.path.name} has no rows for LSOAs {missing}; their residents are 0",
                          stacklevel=2)
        population = {"total": "pop_total", "bands": {b: _band_column(b) for b in bands},
                      "source": SOURCES["census"][0]}  # the documents quote it: no file name
    else:
        notes.append("No residents file was given, so documents show counts without rates.")
    if "deprivation" in by_role:
        df = public_deprivation(by_role["deprivation"][0].path)
        lsoa11_map = None
        if "lsoa11" in by_role:
            l11 = _read_units(by_role["lsoa11"][0])[["code", "geometry"]]
            # each 2021 LSOA takes the deprivation of the 2011 LSOA it overlaps most (codes unchanged map to themselves)
            inter = gpd.overlay(sa[["code", "geometry"]].rename(columns={"code": "code21"}),
                                l11.rename(columns={"code": "code11"}), how="intersection", keep_geom_type=True)
            inter["area"] = inter.geometry.area
            best = inter.sort_values("area", ascending=False).drop_duplicates("code21")
            lsoa11_map = dict(zip(best["code21"], best["code11"]))
        key = sa["code"].map(lsoa11_map) if lsoa11_map else sa["code"]
        joined = pd.DataFrame({"code11": key}).merge(df.rename(columns={"code": "code11"}), on="code11", how="left")
        for c in df.columns[1:]:
            sa[f"imd_{c}" if not c.startswith("index") else c] = joined[c].to_numpy()
        if joined[df.columns[1]].isna().any():
            notes.append(f"{int(joined[df.columns[1]].isna().sum())} small areas have no deprivation figures.")
    deprivation: dict = {}
    decile_cols = [c for c in sa.columns if "decile" in c]
    if decile_cols:
        overall = next((c for c in decile_cols if "multiple_deprivation" in c or c.startswith("imd_decile")),
                       decile_cols[0])
        rank = overall.replace("decile", "rank")
        deprivation = {"decile": overall, **({"rank": rank} if rank in sa.columns else {}),
                       "domains": {c.removeprefix("imd_").removesuffix("_decile").replace("_", " "): c
                                   for c in decile_cols if c != overall},
                       "source": SOURCES["deprivation"][0]}
    sa.to_file(geo / "small_areas.gpkg", layer="small_areas", driver="GPKG")
    residents = float(sa["pop_total"].sum()) if "pop_total" in sa else 0.0

    extra_geos = {}
    codes11: set[str] = set()
    if "lsoa11" in by_role:
        l11 = _inside(_read_units(by_role["lsoa11"][0]), boundary)[["code", "name", "geometry"]]
        l11.to_file(geo / "small_areas_2011.geojson", driver="GeoJSON")
        codes11 = set(l11["code"].astype(str))
        extra_geos["small_areas_2011"] = {
            "title": "Lower-layer super output areas (2011 census)", "format": "geojson", "crs": WORKING_CRS,
            "code_field": "code", "name_field": "name", "owner": "Office for National Statistics",
            "versions": [{"path": "geography/small_areas_2011.geojson", "valid_from": dt.date(2011, 3, 27)}]}

    hood_file = _force_neighbourhood_file(by_role.get("neighbourhoods", []), force)
    if hood_file is not None:
        hoods = _neighbourhoods_inside(hood_file, boundary)
        if len(hoods):
            hoods.to_file(geo / "neighbourhoods.geojson", driver="GeoJSON")
            extra_geos["neighbourhoods"] = {
                "title": "Police neighbourhoods (data.police.uk boundaries, as published when fetched)",
                "format": "geojson", "crs": WORKING_CRS, "code_field": "code", "name_field": "name",
                "owner": SOURCES["police"][0],
                "versions": [{"path": "geography/neighbourhoods.geojson", "valid_from": dt.date(1900, 1, 1)}]}
            progress(f"Police neighbourhoods: {len(hoods)} inside the partnership")
        else:
            notes.append("No police neighbourhood lies inside the partnership, so none is written.")

    if police_entries:
        vintage_note = _lsoa_vintage_note(data / "police", months, force, codes11, set(sa["code"]))
        if vintage_note:
            notes.append(vintage_note)

    # -- the catalogue ----------------------------------------------------------------------------
    name = " and ".join(lads["name"])
    today = today or dt.date.today()
    cat = {
        "partnership": {"name": f"{name} Community Safety Partnership", "short_name": name,
                        "code": "+".join(lad_codes), "force": force or "unknown",
                        "window": {"start": start, "end": end}, "edition": str(today.year),
                        "suppression_threshold": 5, "marking": "OFFICIAL", "crs": WORKING_CRS,
                        "pseudonym_key_env": "ASSESSMENT_PSEUDONYM_KEY"},
        "data_root": "data",
        "themes": THEMES,
        "category_maps": {"police_crime_type": POLICE_THEMES},
        "geographies": {
            "partnership": {"title": f"{name} (union of local authority wards)", "format": "geojson",
                            "crs": WORKING_CRS, "code_field": "code", "name_field": "name",
                            "owner": SOURCES["boundaries"][0],
                            "versions": [{"path": "geography/partnership.geojson", "valid_from": dt.date(1900, 1, 1)}]},
            "wards": {"title": "Electoral wards" + (f" (as drawn in {ward_versions[0][0]}, applied to every month)"
                                                  if len(ward_versions) == 1 else ""),
                      "format": "geojson", "crs": WORKING_CRS, "code_field": "code", "name_field": "name",
                      "owner": SOURCES["boundaries"][0], "versions": ward_entries},
            "small_areas": {"title": "Lower-layer super output areas (2021 census, applied to every month)",
                            "format": "gpkg",
                            "crs": WORKING_CRS, "code_field": "code", "name_field": "name",
                            "owner": SOURCES["boundaries"][0],
                            **({"population": population} if population else {}),
                            **({"deprivation": deprivation} if deprivation else {}),
                            # one version serves the whole window, as the residents are counted on it
                            "versions": [{"path": "geography/small_areas.gpkg", "layer": "small_areas",
                                          "valid_from": dt.date(1900, 1, 1)}]},
            **extra_geos,
        },
        "datasets": police_entries,
        "documents": {"strategic_assessment": {"title": "Strategic Assessment"},
                      "problem_profile": {"title": "Problem profile", "topics": ["violence"]},
                      "audit": {"title": "Crime and Disorder Audit"},
                      "data_quality": {"title": "Data quality and information sharing"}},
    }
    text = _catalogue_text(cat, lads, files, notes, today)
    catalogue_path.write_text(text, encoding="utf-8")
    progress(f"Wrote {catalogue_path}")
    return InitResult(catalogue_path, lads, [y for y, _ in ward_versions], residents, (start, end), notes)


#: Located police rows farther than this (metres) outside the partnership count as outside it when
#: ``assess init`` judges what the police files cover (data.police.uk's map points near a boundary
#: can sit a little over it).
COVERS_DISTANCE_M = 1000.0
#: Share of located rows beyond :data:`COVERS_DISTANCE_M` above which the files are judged to cover
#: a force area shared with other partnerships (``covers: force``). The City of London's own files
#: have 0.07% there; a force of several partnerships has the others' rows, a few per cent at least.
COVERS_OUTSIDE_SHARE = 0.01


def police_files_cover(folder: Path, months: Sequence[str], force: str, kind: str, boundary
                       ) -> tuple[str | None, int, int]:
    """What a partnership's data.police.uk files of ``kind`` cover, judged from their located rows.

    Parameters
    ----------
    folder : Path
        The month folders (``YYYY-MM/YYYY-MM-<force>-<kind>.csv``).
    months : sequence of str
        The months to read.
    force, kind : str
        Force slug and file kind (``street``, ``stop-and-search``).
    boundary : shapely geometry
        The partnership, in EPSG:27700.

    Returns
    -------
    tuple
        ``(covers, outside, located)``: ``'force'`` when more than :data:`COVERS_OUTSIDE_SHARE` of
        the located rows lie farther than :data:`COVERS_DISTANCE_M` outside the boundary (the
        files hold other partnerships' rows too), ``'partnership'`` otherwise, None when no row
        has a location; the rows that far outside and the located rows.
    """
    import shapely

    from .coords import to_bng

    frames = [pd.read_csv(f, usecols=["Longitude", "Latitude"], dtype=str, keep_default_na=False)
              for f in (Path(folder) / m / f"{m}-{force}-{kind}.csv" for m in months) if f.is_file()]
    if not frames:
        return None, 0, 0
    rows = pd.concat(frames, ignore_index=True)
    east, north, status = to_bng(rows["Longitude"], rows["Latitude"], "EPSG:4326")
    ok = np.asarray(status == "ok")
    located = int(ok.sum())
    if not located:
        return None, 0, 0
    near = boundary.buffer(COVERS_DISTANCE_M)
    outside = int((~shapely.intersects_xy(near, east[ok], north[ok])).sum())
    return ("force" if outside > COVERS_OUTSIDE_SHARE * located else "partnership"), outside, located


def _force_neighbourhood_file(files: list[PublicFile], force: str | None) -> PublicFile | None:
    """The neighbourhood boundaries of the partnership's force among those found.

    data.police.uk's download holds one folder of KML files per force, named by its slug: the
    folder named ``force`` is the force's. Otherwise a single file of another kind (the one
    ``assess init --online`` writes for the force) is taken as the force's. With several and none
    named for the force, or without a force to match, None when the choice would be a guess.
    """
    if not files:
        return None
    if force is not None:
        named = [f for f in files if f.path.is_dir() and f.path.name == force]
        if len(named) == 1:
            return named[0]
    others = [f for f in files if not f.path.is_dir()]
    if len(files) == 1 and (force is None or others):
        return files[0]
    return None


def police_neighbourhoods_beyond(f: PublicFile, boundary) -> tuple[int, int]:
    """How many of a force's police neighbourhoods lie outside the partnership, of how many.

    Parameters
    ----------
    f : PublicFile
        The force's neighbourhood boundaries (data.police.uk's KML folder, or the vector file
        ``assess init --online`` writes from the API): every neighbourhood of the force.
    boundary : shapely geometry
        The partnership, in EPSG:27700.

    Returns
    -------
    tuple of int
        ``(outside, total)``: neighbourhoods whose interior point lies farther than
        :data:`COVERS_DISTANCE_M` outside the partnership (policed by the same force for
        another partnership), and all the force's neighbourhoods in the file. ``outside > 0``
        means the force area is shared, so its files' rows without a location cannot be
        placed in this partnership.
    """
    units = _read_units(f)
    if units.empty:
        return 0, 0
    near = boundary.buffer(COVERS_DISTANCE_M)
    outside = int((~units.geometry.representative_point().within(near)).sum())
    return outside, len(units)


def _covers_note(kind: str, covers: str, outside: int, located: int, basis: str | None = None) -> str:
    share = f"{outside:,} of {located:,} located {kind} rows lie more than {COVERS_DISTANCE_M / 1000:g} km " \
            "outside the partnership" if located else f"no {kind} row has a location; {basis or 'judged as the street files'}"
    if covers == "force":
        return (f"{share}: the {kind} files cover the force area, shared with other partnerships "
                "(covers: force), so their rows without a location cannot be placed here and are left out of "
                "every total (quarantined, counted in the data-quality document).")
    return (f"{share}: the {kind} files cover the partnership's area (covers: partnership), so their rows "
            "without a location count as the partnership's. Set covers: force if the force has other "
            "partnerships.")


def _neighbourhoods_inside(f: PublicFile, boundary) -> gpd.GeoDataFrame:
    """Police neighbourhoods (KML folder or vector file) that lie mostly inside the partnership."""
    units = _read_units(f)
    units = units[["code", "name", "geometry"]].copy()
    units["name"] = units["name"].astype("string").fillna(units["code"].astype("string"))
    return _inside(units, boundary)[["code", "name", "geometry"]]


def _lsoa_vintage_note(folder: Path, months: list[str], force: str, codes11: set[str], codes21: set[str]) -> str:
    if not codes11 or not months:
        return ""
    frames = [pd.read_csv(folder / m / f"{m}-{force}-street.csv", usecols=["Month", "LSOA code"], dtype=str)
              for m in months if (folder / m / f"{m}-{force}-street.csv").is_file()]
    if not frames:
        return ""
    table = police_lsoa_vintage(pd.concat(frames, ignore_index=True), codes11, codes21)
    by = table.groupby("vintage")["month"].agg(["min", "max", "count"])
    label = {"2011": "2011 LSOA codes", "2021": "2021 LSOA codes",
             "either": "codes that are the same in 2011 and 2021",
             "none": "no LSOA code of the partnership (files fetched from the API carry none)"}
    parts = [f"{label[v]} in {int(n)} months ({lo} to {hi})"
             for v, lo, hi, n in zip(by.index, by["min"], by["max"], by["count"])]
    return ("The police files carry " + "; ".join(parts) +
            ". Events are placed in areas by their coordinates, so either code set works.")


def _catalogue_text(cat: dict, lads: pd.DataFrame, files: list[PublicFile], notes: list[str],
                    today: dt.date) -> str:
    import yaml

    header = [
        f"# Data catalogue for {cat['partnership']['name']}, written by `assess init` on {today.isoformat()}.",
        "#",
        "# Built from public sources only. Add your partner agencies' datasets under `datasets:`",
        "# (see the demo catalogue in the workbench for every kind). Paths are relative to `data_root`.",
        "#",
        "# Sources (all under the Open Government Licence v3.0):",
    ]
    used = {"boundaries"} | ({"census"} if any(f.role == "residents" for f in files) else set()) \
        | ({"deprivation"} if any(f.role == "deprivation" for f in files) else set()) \
        | ({"police"} if cat["datasets"] else set())
    for key in ("boundaries", "census", "deprivation", "police"):
        if key in used:
            title, url, licence = SOURCES[key]
            header.append(f"#   - {title}: {url} ({licence})")
    header.append("# Files read:")
    header.extend(f"#   - {f.path.name}: {f.role}" + (f" ({f.vintage})" if f.vintage else "") for f in files)
    header.append(f"# Authorities: " + ", ".join(f"{n} ({c})" for c, n in zip(lads["code"], lads["name"])))
    for n in notes:
        header.append(f"# Note: {n}")
    header.append("# Points are kept when they fall inside the partnership boundary; see the README's")
    header.append("# partnership-area rule for points near the edge.")
    body = yaml.safe_dump(cat, sort_keys=False, allow_unicode=True, width=110)
    return "\n".join(header) + "\n\n" + body
