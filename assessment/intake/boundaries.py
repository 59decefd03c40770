"""Boundary readers: GeoJSON, GeoPackage, Shapefile (also zipped) and police KML folders.

Every reader returns ``(units, repairs)``:

``units``
    GeoDataFrame with one row per unit: ``code`` (str), ``name`` (str or NA), the file's
    other attribute fields unchanged, and ``geometry`` (2-D Polygon or MultiPolygon, valid),
    in the file's CRS (or the declared one), unless ``to_crs`` is given.
``repairs``
    DataFrame, one row per repair: ``source_file``, ``unit_code``, ``problem`` (e.g.
    ``'had Z values'``, ``'self-intersection'``, ``'non-polygonal parts'``), ``action``.

Readers never reproject silently to a different system than the one the file declares;
the boundary registry (:mod:`assessment.geography.registry`) does that.
"""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from assessment.checks import check_geodataframe, check_type
from assessment.errors import GeographyError
from assessment.geography._crs import same_crs

REPAIR_COLUMNS = ["source_file", "unit_code", "problem", "action"]
_VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".zip"}


def _empty_repairs() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in REPAIR_COLUMNS})


def repaired_boundary(units: gpd.GeoDataFrame, code_field: str = "code",
                      source_file: str | None = None) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Return boundaries made 2-D and valid, with a report of every repair.

    Parameters
    ----------
    units : GeoDataFrame
        Boundary units with a CRS and a code column.
    code_field : str
        Column holding the unit code (used to name units in the report).
    source_file : str, optional
        File name recorded in the report.

    Returns
    -------
    units : GeoDataFrame
        Same rows and columns; ``geometry`` is 2-D, valid and polygonal (Polygon or
        MultiPolygon). Units whose geometry is missing or empty after repair are dropped
        (and reported) -- a ``warnings.warn`` says so.
    repairs : DataFrame
        ``source_file``, ``unit_code``, ``problem`` (``'had Z values'``, the GEOS validity
        reason in lower case such as ``'self-intersection'`` or ``'ring self-intersection'``,
        ``'non-polygonal parts'``, ``'missing geometry'``), ``action``.

    Notes
    -----
    Z is removed with :func:`shapely.force_2d`. Invalid geometries are repaired with
    :func:`shapely.make_valid` (GEOS ``MakeValid``, "linework" method: the result covers
    the same point set, a bow-tie becomes two triangles) and only the polygonal parts of
    the result are kept (lines or points left by a collapsed ring have no area and are
    reported as dropped).
    """
    check_geodataframe(units, "units", [code_field])
    src = source_file or ""
    geoms = np.array(units.geometry.to_numpy(), dtype=object)
    codes = units[code_field].astype("string").to_numpy()
    reports = []

    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    has_z = ~missing & shapely.has_z(geoms)
    if has_z.any():
        geoms = geoms.copy()
        geoms[has_z] = shapely.force_2d(geoms[has_z])
        reports.append(pd.DataFrame({"unit_code": codes[has_z], "problem": "had Z values",
                                     "action": "heights (Z values) dropped; the outline is unchanged"}))

    reasons = np.asarray(shapely.is_valid_reason(geoms), dtype=object)
    invalid = ~missing & ~shapely.is_valid(geoms)
    if invalid.any():
        problems = pd.Series(reasons[invalid]).str.split("[", n=1).str[0].str.strip().str.lower()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
        reports.append(pd.DataFrame({"unit_code": codes[invalid], "problem": problems.to_numpy(),
                                     "action": "repaired: the crossing outline is split into valid shapes covering the same ground"}))

    # keep polygonal parts only
    gtype = shapely.get_type_id(geoms)
    collection = ~missing & (gtype == 7)
    if collection.any():
        idx = np.flatnonzero(collection)
        parts, owner = shapely.get_parts(geoms[collection], return_index=True)
        keep = np.isin(shapely.get_type_id(parts), [3, 6])
        polys, sub = shapely.get_parts(parts[keep], return_index=True)
        polys_owner = owner[keep][sub]
        new = np.full(len(idx), None, dtype=object)
        has = np.unique(polys_owner)
        if len(has):
            new[has] = shapely.multipolygons(polys, indices=np.searchsorted(has, polys_owner))
        geoms[idx] = new
        dropped = np.bincount(owner[~keep], minlength=len(idx)) > 0
        if dropped.any():
            reports.append(pd.DataFrame({"unit_code": codes[idx[dropped]], "problem": "non-polygonal parts",
                                         "action": "lines/points without area dropped"}))
    nonpoly = ~missing & ~np.isin(shapely.get_type_id(geoms), [3, 6]) & ~shapely.is_missing(geoms)
    if nonpoly.any():
        reports.append(pd.DataFrame({"unit_code": codes[nonpoly], "problem": "not a polygon",
                                     "action": "unit dropped"}))
    gone = shapely.is_missing(geoms) | shapely.is_empty(geoms) | nonpoly
    if (gone & ~nonpoly).any():
        reports.append(pd.DataFrame({"unit_code": codes[gone & ~nonpoly], "problem": "missing geometry",
                                     "action": "unit dropped"}))
    out = units.copy()
    out = out.set_geometry(gpd.GeoSeries(geoms, index=units.index, crs=units.crs))
    if gone.any():
        warnings.warn(f"{int(gone.sum())} unit(s) without usable geometry dropped from {src or 'boundaries'}: "
                      f"{list(codes[gone][:10])}", stacklevel=2)
        out = out.loc[~gone]
    if not reports:
        return out, _empty_repairs()
    repairs = pd.concat(reports, ignore_index=True)
    repairs["source_file"] = src
    return out, repairs[REPAIR_COLUMNS]


def _geojson_crs_member(path: Path) -> str | None:
    """The CRS a GeoJSON file names in its (pre-RFC 7946) ``crs`` member, or None when it has none.

    Found with one byte search (``mmap``), without parsing the file; a name that is not
    shaped like a CRS identifier is reported as ``'(unreadable name)'``.
    """
    import mmap
    import re

    with open(path, "rb") as fh:
        if fh.seek(0, 2) == 0:
            return None
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            at = mm.find(b'"crs"')
            if at < 0:
                return None
            near = mm[at:at + 400].decode("utf-8", errors="replace")
    found = re.search(r'"name"\s*:\s*"([^"]{1,80})"', near)
    return found.group(1) if found and re.fullmatch(r"[\w:.\-/]+", found.group(1)) else "(unreadable name)"


def _resolve_crs(gdf: gpd.GeoDataFrame, crs, path: Path) -> gpd.GeoDataFrame:
    """Apply the declared CRS: assign when the file has none, refuse a mismatch."""
    file_crs = gdf.crs
    if crs is None:
        if file_crs is None:
            raise GeographyError(f"boundary file {path} has no CRS and none was declared; "
                                 "declare one (e.g. crs='EPSG:27700')")
        return gdf
    if file_crs is None:
        return gdf.set_crs(crs)
    if same_crs(file_crs, crs):
        return gdf.set_crs(crs, allow_override=True)
    # GeoJSON without a `crs` member is read as WGS84 by RFC 7946; coordinates far
    # outside lon/lat range show the file was really written in the declared system.
    if path.suffix.lower() in {".geojson", ".json"} and file_crs.is_geographic and len(gdf):
        xmin, ymin, xmax, ymax = gdf.total_bounds
        if max(abs(xmin), abs(xmax)) > 180 or max(abs(ymin), abs(ymax)) > 90:
            declared = _geojson_crs_member(path)
            if declared:
                said = (f"declares CRS {declared} (longitude/latitude) in its `crs` member, but its coordinates "
                        f"do not fit that CRS (they reach {max(abs(xmin), abs(xmax)):,.0f}, "
                        f"{max(abs(ymin), abs(ymax)):,.0f}; longitude/latitude stay within 180, 90); "
                        "correct the file's `crs` member to remove this warning")
            else:
                said = ("has no `crs` member, so it counts as longitude/latitude (RFC 7946), but its coordinates "
                        "are not longitude/latitude; add a `crs` member or write it in longitude/latitude")
            warnings.warn(f"{path.name}: the GeoJSON {said}. Using the catalogue's declared CRS {crs}.",
                          stacklevel=3)
            return gdf.set_crs(crs, allow_override=True)
    raise GeographyError(
        f"boundary file {path} declares CRS {file_crs.to_string()} but the catalogue declares {crs}; "
        "fix the declaration (the file is reprojected automatically once its CRS is known)")


def _finish(gdf: gpd.GeoDataFrame, path: Path, code_field: str, name_field: str | None,
            crs, to_crs) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    fields = [c for c in gdf.columns if c != gdf.geometry.name]
    for role, field in (("code", code_field), ("name", name_field)):
        if field is not None and field not in gdf.columns:
            raise GeographyError(f"boundary file {path} has no {role} field '{field}'; its fields are {fields}")
    gdf = _resolve_crs(gdf, crs, path)
    codes = gdf[code_field]
    if codes.isna().any():
        row = int(np.flatnonzero(codes.isna().to_numpy())[0]) + 1
        raise GeographyError(f"boundary file {path}: code field '{code_field}' is empty in feature {row}")
    codes = codes.astype(str).str.strip()
    dup = codes.duplicated(keep=False)
    if dup.any():
        raise GeographyError(f"boundary file {path}: code field '{code_field}' repeats code(s) "
                             f"{sorted(codes[dup].unique())[:10]}; each unit needs one feature")
    names = gdf[name_field].astype("string") if name_field else pd.Series(pd.NA, index=gdf.index, dtype="string")
    rest = gdf.drop(columns=[c for c in {code_field, name_field} if c], errors="ignore")
    rest = rest.drop(columns=[c for c in ("code", "name") if c in rest.columns])
    out = gpd.GeoDataFrame({"code": codes.astype("string"), "name": names}, index=gdf.index) \
        .join(rest.drop(columns=rest.geometry.name)) \
        .set_geometry(gdf.geometry.rename("geometry"), crs=gdf.crs)
    out, repairs = repaired_boundary(out, "code", source_file=path.name)
    out = out.reset_index(drop=True)
    if to_crs is not None:
        out = out.to_crs(to_crs)
    return out, repairs


def _zip_member(path: Path, layer: str | None) -> str:
    with zipfile.ZipFile(path) as zf:
        shps = [n for n in zf.namelist() if n.lower().endswith(".shp")]
    if not shps:
        raise GeographyError(f"zip file {path} holds no .shp file")
    if layer is not None:
        shps = [n for n in shps if Path(n).stem == layer or n == layer]
        if not shps:
            raise GeographyError(f"zip file {path} holds no shapefile named '{layer}'")
    if len(shps) > 1:
        raise GeographyError(f"zip file {path} holds several shapefiles {shps}; name one with layer=")
    return shps[0]


def read_boundary(path, code_field: str, name_field: str | None = None, layer: str | None = None,
                  crs=None, to_crs=None) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Read a boundary file (GeoJSON, GeoPackage, Shapefile, zipped Shapefile or KML folder).

    Parameters
    ----------
    path : str or Path
        ``.geojson``/``.json``, ``.gpkg``, ``.shp``, ``.zip`` (holding a shapefile), a
        single ``.kml`` file or a data.police.uk neighbourhood folder (see
        :func:`read_boundary_kml_folder`).
    code_field, name_field : str
        Fields holding each unit's code and name; renamed to ``code`` and ``name``.
        For KML, ``code_field`` is ignored (the file stem is the code).
    layer : str, optional
        GeoPackage layer, or shapefile name inside a zip.
    crs : optional
        The declared CRS. Assigned when the file has none; a file declaring another CRS
        is refused with :class:`~assessment.errors.GeographyError`.
    to_crs : optional
        Reproject the result (e.g. ``"EPSG:27700"``).

    Returns
    -------
    units : GeoDataFrame
        ``code``, ``name``, the file's other fields, ``geometry`` (valid, 2-D).
    repairs : DataFrame
        ``source_file``, ``unit_code``, ``problem``, ``action`` (see :func:`repaired_boundary`).

    Notes
    -----
    Vector files are read with pyogrio (GDAL/OGR). Repairs follow
    :func:`repaired_boundary` (shapely ``force_2d`` and ``make_valid``).
    """
    check_type(path, "path", (str, Path))
    check_type(code_field, "code_field", str)
    path = Path(path)
    if not path.exists():
        raise GeographyError(f"boundary file {path} does not exist")
    if path.is_dir() or path.suffix.lower() == ".kml":
        return read_boundary_kml_folder(path, crs=crs, to_crs=to_crs)
    suffix = path.suffix.lower()
    if suffix not in _VECTOR_SUFFIXES:
        raise GeographyError(f"boundary file {path}: unsupported format '{suffix}'; expected one of "
                             f"{sorted(_VECTOR_SUFFIXES | {'.kml', '<folder of .kml>'})}")
    kwargs = {}
    source = str(path)
    if suffix == ".zip":
        source = f"zip://{path}!{_zip_member(path, layer)}"
    elif layer is not None:
        if suffix == ".gpkg":
            layers = [row[0] for row in pyogrio.list_layers(path)]
            if layer not in layers:
                raise GeographyError(f"GeoPackage {path} has no layer '{layer}'; layers are {layers}")
        kwargs["layer"] = layer
    try:
        gdf = gpd.read_file(source, engine="pyogrio", **kwargs)
    except Exception as exc:  # pyogrio raises its own DataSourceError etc.
        raise GeographyError(f"boundary file {path} cannot be read: {exc}") from exc
    return _finish(gdf, path, code_field, name_field, crs, to_crs)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _ring(text: str | None, path: Path) -> np.ndarray:
    tuples = (text or "").split()
    if not tuples:
        raise GeographyError(f"KML file {path}: a <coordinates> element is empty")
    commas = np.char.count(np.array(tuples), ",")
    if commas.min() != commas.max() or commas.min() not in (1, 2):
        raise GeographyError(f"KML file {path}: <coordinates> must hold lon,lat or lon,lat,alt tuples")
    try:
        arr = np.array(" ".join(tuples).replace(",", " ").split(), dtype=float).reshape(len(tuples), -1)
    except ValueError as exc:
        raise GeographyError(f"KML file {path}: unreadable <coordinates>: {exc}") from exc
    return arr


def _kml_geometry(path: Path):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise GeographyError(f"KML file {path} is not well-formed XML: {exc}") from exc
    polys = []
    for poly in (e for e in root.iter() if _local(e.tag) == "Polygon"):
        outer, inner = None, []
        for child in poly:
            kind = _local(child.tag)
            if kind not in {"outerBoundaryIs", "innerBoundaryIs"}:
                continue
            coords = next((e.text for e in child.iter() if _local(e.tag) == "coordinates"), None)
            ring = _ring(coords, path)
            if kind == "outerBoundaryIs":
                outer = ring
            else:
                inner.append(ring)
        if outer is None:
            raise GeographyError(f"KML file {path}: a <Polygon> has no <outerBoundaryIs>")
        polys.append(shapely.Polygon(outer, inner) if len(outer) >= 4 else shapely.Polygon())
    if not polys:
        raise GeographyError(f"KML file {path} holds no <Polygon>")
    # The Placemark's own <name> names the neighbourhood; a Document <name> often repeats the id.
    placemark = next((e for e in root.iter() if _local(e.tag) == "Placemark"), root)
    name_el = next((e for e in placemark if _local(e.tag) == "name" and (e.text or "").strip()), None)
    if name_el is None:
        name_el = next((e for e in root.iter() if _local(e.tag) == "name" and (e.text or "").strip()), None)
    name = name_el.text.strip() if name_el is not None else None
    geom = polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)
    return geom, name


def read_boundary_kml_folder(folder, force: str | None = None, crs="EPSG:4326",
                             to_crs=None) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Read data.police.uk neighbourhood boundaries: ``<force>/<neighbourhood-id>.kml``.

    Parameters
    ----------
    folder : str or Path
        A force folder holding ``*.kml`` files, a parent folder holding force folders
        (all forces are read, or only ``force``), or a single ``.kml`` file.
    force : str, optional
        Force slug to read when ``folder`` holds several force folders.
    crs : default ``"EPSG:4326"``
        KML is WGS84 longitude/latitude by definition; a different declaration is refused.
    to_crs : optional
        Reproject the result.

    Returns
    -------
    units : GeoDataFrame
        ``code`` (file stem, the neighbourhood id), ``name`` (the KML's first ``<name>``,
        NA if absent), ``force`` (parent folder name), ``source_file``, ``geometry``.
    repairs : DataFrame
        ``source_file``, ``unit_code``, ``problem``, ``action``.

    Notes
    -----
    Parsed with :mod:`xml.etree` (namespace-agnostic) so that GDAL's optional KML drivers
    are not needed. Every ``<Polygon>`` in a file becomes part of that unit (several make a
    MultiPolygon). Coordinates with altitude are read as 3-D and reported ``'had Z values'``
    when Z is dropped. Self-intersecting rings (bow-ties) are repaired with ``make_valid``.
    """
    check_type(folder, "folder", (str, Path))
    folder = Path(folder)
    if crs is not None and not same_crs(crs, "EPSG:4326"):
        raise GeographyError(f"KML boundaries {folder} are WGS84 longitude/latitude by definition; "
                             f"got a declared CRS {crs}")
    if folder.is_file():
        files = [folder]
    elif folder.is_dir():
        files = sorted(folder.glob("*.kml"))
        if not files:
            subdirs = sorted(d for d in folder.iterdir() if d.is_dir() and (force is None or d.name == force))
            files = sorted(f for d in subdirs for f in d.glob("*.kml"))
    else:
        raise GeographyError(f"KML boundaries {folder} do not exist")
    if force is not None:
        files = [f for f in files if f.parent.name == force]
    if not files:
        raise GeographyError(f"no .kml files under {folder}" + (f" for force '{force}'" if force else "")
                             + "; expected the layout <force>/<neighbourhood-id>.kml")
    parsed = [_kml_geometry(f) for f in files]  # one per file, not per data row
    gdf = gpd.GeoDataFrame({
        "code": pd.array([f.stem for f in files], dtype="string"),
        "name": pd.array([p[1] for p in parsed], dtype="string"),
        "force": [f.parent.name for f in files],
        "source_file": [f.name for f in files],
    }, geometry=[p[0] for p in parsed], crs="EPSG:4326")
    dup = gdf["code"].duplicated(keep=False)
    if dup.any():
        raise GeographyError(f"KML boundaries {folder}: neighbourhood id(s) {sorted(gdf['code'][dup].unique())} "
                             "appear in more than one force folder; read one force at a time (force=)")
    out, repairs = repaired_boundary(gdf, "code", source_file=None)
    file_of = dict(zip(gdf["code"], gdf["source_file"]))
    repairs["source_file"] = repairs["unit_code"].map(file_of)
    out = out.reset_index(drop=True)
    if to_crs is not None:
        out = out.to_crs(to_crs)
    return out, repairs
