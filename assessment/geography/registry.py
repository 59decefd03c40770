"""Boundary registry: every geography with dated versions, in one working CRS.

A registry maps a geography key (``wards``, ``neighbourhoods``, ``small_areas``...) to
its versions. Each version carries ``valid_from``/``valid_to`` dates (inclusive; an open
end is ``NaT``) and its units as a GeoDataFrame in the registry's working CRS
(EPSG:27700 unless told otherwise): whatever CRS a boundary file arrives in, it is
reprojected when added, so areas are always in square metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from assessment.checks import check_dataframe, check_geodataframe, check_type
from assessment.errors import GeographyError
from assessment.geography._crs import WORKING_CRS, projected


@dataclass(frozen=True)
class BoundaryVersion:
    """One dated version of a geography.

    Attributes
    ----------
    key : str
        Geography key.
    version : str
        Version label (default: ``valid_from`` as ``YYYY-MM-DD``).
    valid_from, valid_to : pandas.Timestamp
        First and last day in force (inclusive); ``valid_to`` is ``NaT`` when open.
    units : GeoDataFrame
        ``code``, ``name`` and any attributes, ``geometry`` in the registry CRS.
    repairs : DataFrame
        Repair report from reading (``source_file, unit_code, problem, action``).
    source : str
        Where the boundaries came from.
    """

    key: str
    version: str
    valid_from: pd.Timestamp
    valid_to: pd.Timestamp
    units: gpd.GeoDataFrame
    repairs: pd.DataFrame
    source: str = ""


@dataclass
class BoundaryRegistry:
    """Geography key -> list of :class:`BoundaryVersion`, sorted by ``valid_from``."""

    crs: str = WORKING_CRS
    geographies: dict[str, list[BoundaryVersion]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not pyproj.CRS.from_user_input(self.crs).is_projected:
            raise ValueError(f"registry CRS must be projected (metres), got {self.crs}")


def _timestamp(value, name: str) -> pd.Timestamp:
    if value is None:
        return pd.NaT
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"`{name}` must be a date, got {value!r}") from exc
    return ts.normalize()


def registry_add(registry: BoundaryRegistry, key: str, units: gpd.GeoDataFrame, valid_from=None,
                 valid_to=None, version: str | None = None, code_field: str = "code",
                 name_field: str | None = "name", repairs: pd.DataFrame | None = None,
                 source: str = "") -> BoundaryVersion:
    """Add a version of a geography to the registry, reprojected to the registry CRS.

    Parameters
    ----------
    registry : BoundaryRegistry
    key : str
        Geography key.
    units : GeoDataFrame
        Boundaries in any CRS (a geographic CRS such as WGS84 is reprojected).
    valid_from, valid_to : date-like, optional
        Inclusive validity dates; ``None`` means open-ended.
    version : str, optional
        Label; defaults to ``valid_from`` as ``YYYY-MM-DD`` (or ``'undated'``).
    code_field, name_field : str
        Columns renamed to ``code`` and ``name``.
    repairs, source : optional
        Repair report and source description to keep with the version.

    Returns
    -------
    BoundaryVersion
        The stored version (its ``units`` have ``code``, ``name``, attributes, geometry).

    Raises
    ------
    GeographyError
        When the new version's dates overlap an existing version of ``key``.
    """
    check_type(registry, "registry", BoundaryRegistry)
    check_type(key, "key", str)
    check_geodataframe(units, "units", [code_field], where=f"geography '{key}'")
    start, end = _timestamp(valid_from, "valid_from"), _timestamp(valid_to, "valid_to")
    if pd.notna(start) and pd.notna(end) and end < start:
        raise ValueError(f"`valid_to` must not be before `valid_from`, got {start.date()} to {end.date()}")
    gdf = projected(units, registry.crs).copy()
    ren = {code_field: "code"}
    if name_field and name_field in gdf.columns:
        ren[name_field] = "name"
    gdf = gdf.drop(columns=[c for c in ("code", "name") if c in gdf.columns and c not in ren], errors="ignore")
    gdf = gdf.rename(columns=ren)
    if "name" not in gdf.columns:
        gdf["name"] = pd.Series(pd.NA, index=gdf.index, dtype="string")
    gdf["code"] = gdf["code"].astype("string")
    if gdf["code"].duplicated().any():
        raise GeographyError(f"geography '{key}': duplicated unit codes "
                             f"{sorted(gdf['code'][gdf['code'].duplicated()].unique())[:10]}")
    label = version or (start.strftime("%Y-%m-%d") if pd.notna(start) else "undated")
    lo = start if pd.notna(start) else pd.Timestamp.min
    hi = end if pd.notna(end) else pd.Timestamp.max
    for other in registry.geographies.get(key, []):
        olo = other.valid_from if pd.notna(other.valid_from) else pd.Timestamp.min
        ohi = other.valid_to if pd.notna(other.valid_to) else pd.Timestamp.max
        if lo <= ohi and olo <= hi:
            raise GeographyError(f"geography '{key}': version {label} ({lo.date()} to {hi.date()}) overlaps "
                                 f"version {other.version} ({olo.date()} to {ohi.date()})")
    rep = repairs if repairs is not None else pd.DataFrame(columns=["source_file", "unit_code", "problem", "action"])
    entry = BoundaryVersion(key, label, start, end, gdf.reset_index(drop=True), rep, source)
    versions = registry.geographies.setdefault(key, [])
    versions.append(entry)
    versions.sort(key=lambda v: v.valid_from if pd.notna(v.valid_from) else pd.Timestamp.min)
    return entry


def registry_from_catalogue(catalogue, keys=None, crs: str = WORKING_CRS) -> BoundaryRegistry:
    """Build a registry by reading every (or the named) catalogue geography and version.

    Parameters
    ----------
    catalogue : assessment.catalogue.Catalogue
        A loaded catalogue; paths are relative to its ``data_dir``.
    keys : list of str, optional
        Geography keys to read (default: all).
    crs : str
        Working CRS (projected).

    Returns
    -------
    BoundaryRegistry
        Every version read with :func:`assessment.intake.boundaries.read_boundary`,
        declared CRS enforced, repaired, reprojected to ``crs``.
    """
    from assessment.intake.boundaries import read_boundary

    registry = BoundaryRegistry(crs=crs)
    for key in keys or sorted(catalogue.geographies):
        geo = catalogue.geography(key)
        for v in geo.versions:
            path = catalogue.data_dir / v.path
            units, repairs = read_boundary(path, geo.code_field, geo.name_field, layer=v.layer, crs=geo.crs)
            registry_add(registry, key, units, v.valid_from, v.valid_to, repairs=repairs, source=str(path))
    return registry


def _versions(registry: BoundaryRegistry, key: str) -> list[BoundaryVersion]:
    check_type(registry, "registry", BoundaryRegistry)
    if key not in registry.geographies:
        raise GeographyError(f"geography '{key}' is not in the registry; known: {sorted(registry.geographies)}")
    return registry.geographies[key]


def registry_versions(registry: BoundaryRegistry, key: str) -> pd.DataFrame:
    """Return the versions of a geography as a table.

    Returns
    -------
    DataFrame
        ``key``, ``version``, ``valid_from``, ``valid_to`` (NaT when open), ``n_units``,
        ``area_km2`` (total, from the registry CRS), ``n_repairs``, ``source``.
    """
    vs = _versions(registry, key)
    return pd.DataFrame({
        "key": key,
        "version": [v.version for v in vs],
        "valid_from": pd.to_datetime([v.valid_from for v in vs]),
        "valid_to": pd.to_datetime([v.valid_to for v in vs]),
        "n_units": [len(v.units) for v in vs],
        "area_km2": [float(v.units.area.sum()) / 1e6 for v in vs],
        "n_repairs": [len(v.repairs) for v in vs],
        "source": [v.source for v in vs],
    })


def registry_version_at(registry: BoundaryRegistry, key: str, date) -> BoundaryVersion:
    """Return the version of geography ``key`` in force on ``date``.

    Raises
    ------
    GeographyError
        When no version covers the date.
    """
    ts = _timestamp(date, "date")
    if pd.isna(ts):
        raise ValueError(f"`date` must be a date, got {date!r}")
    for v in _versions(registry, key):
        if (pd.isna(v.valid_from) or v.valid_from <= ts) and (pd.isna(v.valid_to) or ts <= v.valid_to):
            return v
    raise GeographyError(f"geography '{key}' has no version in force on {ts.date()}; versions: "
                         + ", ".join(f"{v.version} ({v.valid_from} to {v.valid_to})" for v in _versions(registry, key)))


def event_dates(events: pd.DataFrame, date_column: str = "date", month_column: str = "month") -> pd.Series:
    """Return each event's date, using the first day of ``month`` where ``date`` is NaT.

    Returns
    -------
    Series of datetime64[ns], NaT where neither is known.
    """
    check_dataframe(events, "events")
    if date_column in events.columns:
        dates = pd.to_datetime(events[date_column], errors="coerce")
    else:
        dates = pd.Series(pd.NaT, index=events.index, dtype="datetime64[ns]")
    if month_column in events.columns:
        # each distinct month parsed once (a large file holds a few dozen months in millions of rows)
        codes, distinct = pd.factorize(events[month_column])
        parsed = pd.to_datetime(pd.Series(distinct), format="%Y-%m", errors="coerce")
        months = pd.Series(parsed.array.take(codes, allow_fill=True), index=events.index)
        dates = dates.fillna(months)
    return dates.dt.normalize()


def registry_assign_versions(events: pd.DataFrame, registry: BoundaryRegistry, key: str,
                             date_column: str = "date", month_column: str = "month") -> pd.Series:
    """Label each event with the version of ``key`` in force at its date.

    Parameters
    ----------
    events : DataFrame
        Harmonised events; ``date`` (NaT allowed) and/or ``month`` (``YYYY-MM``).
    registry, key
        The registry and geography.

    Returns
    -------
    Series of str (pandas ``string``), aligned to ``events``: the version label, NA when
    the event has no date or falls outside every version.

    Notes
    -----
    Vectorised interval lookup: version start dates are sorted and each event date is
    placed with :func:`numpy.searchsorted`; an event is then kept only if it is also on
    or before that version's ``valid_to``. When only the month is known the first day of
    the month is used (ward reviews take effect on the first of a month).
    """
    check_dataframe(events, "events")
    vs = _versions(registry, key)
    dates = event_dates(events, date_column, month_column)
    starts = np.array([(v.valid_from if pd.notna(v.valid_from) else pd.Timestamp.min).value for v in vs])
    ends = np.array([(v.valid_to if pd.notna(v.valid_to) else pd.Timestamp.max).value for v in vs])
    labels = np.array([v.version for v in vs], dtype=object)
    values = dates.to_numpy(dtype="datetime64[ns]").astype("int64")
    pos = np.searchsorted(starts, values, side="right") - 1
    ok = dates.notna().to_numpy() & (pos >= 0)
    ok[ok] &= values[ok] <= ends[pos[ok]]
    out = np.full(len(events), None, dtype=object)
    out[ok] = labels[pos[ok]]
    return pd.Series(out, index=events.index, dtype="string", name=f"{key}_version")


def registry_version(registry: BoundaryRegistry, key: str, version: str) -> BoundaryVersion:
    """Return version ``version`` (its label) of geography ``key``."""
    for v in _versions(registry, key):
        if v.version == version:
            return v
    raise GeographyError(f"geography '{key}' has no version '{version}'; versions: "
                         f"{[v.version for v in _versions(registry, key)]}")
