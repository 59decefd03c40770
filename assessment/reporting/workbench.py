"""The harmonised picture of a partnership that every document draws on.

``load_workbench`` runs intake over the whole catalogue, reads every geography into a
boundary registry, puts every event with coordinates onto the small areas, the wards
(the version in force at the event's date) and the police neighbourhoods, and builds
population denominators. The result is cached on disk between the documents of one run,
keyed by the SHA-256 of every input and the package version, so six documents do not
read the same files six times.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import pickle
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import __version__
from ..catalogue import Catalogue, load_catalogue
from ..checks import check_type
from ..errors import CatalogueError
from ..escaping import write_csv
from .hashing import sha256_file


@dataclass
class Workbench:
    """Everything the documents need, harmonised.

    Attributes
    ----------
    catalogue : Catalogue
    intake : IntakeResult
        Harmonised events, area counts, persons, survey, premises, tables, documents,
        the quality summary, quarantines and the sharing register.
    registry : BoundaryRegistry
        Every geography and version, in EPSG:27700.
    events : DataFrame
        All point and non-point events with ``small_area_code``, ``ward_code``
        (version in force at the event's date), ``ward_code_version`` and
        ``neighbourhood_code`` added.
    assignment : DataFrame
        Per dataset and geography: points assigned, outside every unit, without coordinates.
    small_areas, wards, neighbourhoods, boundary : GeoDataFrame
        The current version of each geography (wards: the latest version) with population.
    """

    catalogue: Catalogue
    intake: Any
    registry: Any
    events: pd.DataFrame
    assignment: pd.DataFrame
    small_areas: gpd.GeoDataFrame
    wards: gpd.GeoDataFrame
    neighbourhoods: gpd.GeoDataFrame
    boundary: gpd.GeoDataFrame
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def has_population(self) -> bool:
        """True when the small areas carry residents (rates can be computed)."""
        return bool(self.extras.get("has_population", True))

    @property
    def has_households(self) -> bool:
        """True when the small areas carry households."""
        return bool(self.extras.get("has_households", True))

    @property
    def has_neighbourhoods(self) -> bool:
        """True when the catalogue supplies police neighbourhoods."""
        return len(self.neighbourhoods) > 0

    def outside_partnership(self, keys: list[str] | str | None = None) -> int:
        """Events (of some datasets) whose points lie outside the partnership and were left out."""
        counts = self.extras.get("outside_counts")
        if counts is None or len(counts) == 0:
            return 0
        if keys is None:
            return int(counts.sum())
        keys = [keys] if isinstance(keys, str) else list(keys)
        return int(counts.reindex(keys).fillna(0).sum())

    @property
    def window(self) -> list[str]:
        """The months of the assessment window."""
        return self.catalogue.partnership.window.months

    def dataset_events(self, key: str | list[str]) -> pd.DataFrame:
        """Events of one dataset (or of several keys), in the assessment window."""
        ev = self.events
        keys = [key] if isinstance(key, str) else list(key)
        mask = ev["dataset"].isin(keys) & ev["month"].isin(self.window)
        # every row kept (one dataset, all in the window): a shallow copy instead of copying each
        # column; copy-on-write keeps the workbench's frame unchanged by any edit of the result
        return ev.copy(deep=False) if bool(mask.all()) else ev.take(np.flatnonzero(mask.to_numpy()))

    def role_events(self, role: str) -> pd.DataFrame:
        """Events of every dataset playing ``role`` (see ``DATASET_ROLES``), in the assessment window."""
        return self.dataset_events(self.catalogue.datasets_with_role(role))


GEOGRAPHY_ROLES = {
    "partnership": "the partnership boundary",
    "wards": "electoral wards, with dated versions",
    "small_areas": "the smallest areas carrying population",
    "neighbourhoods": "police neighbourhoods (beats)",
}


def _cache_key(cat: Catalogue, run_date: dt.date) -> str:
    digest = hashlib.sha256()
    digest.update(__version__.encode())
    digest.update(run_date.isoformat().encode())
    # The pseudonym key changes the data (pseudonyms, and whether personal data is usable at all):
    # a fingerprint of it, never the key itself, is part of the cache key.
    import hmac
    import os

    secret = os.environ.get(cat.partnership.pseudonym_key_env, "")
    digest.update(hmac.new(secret.encode(), b"assessment-cache", "sha256").hexdigest().encode() if secret else b"no key")
    digest.update(cat.model_dump_json().encode())
    for f in cat.input_files():
        digest.update(str(f).encode())
        digest.update(sha256_file(f).encode())
    return digest.hexdigest()[:24]


def _release_memory() -> None:
    """Hand memory freed by Arrow back to the system (its allocator keeps freed pages for reuse).

    A large partnership's intake and assignment free hundreds of megabytes of temporaries; without
    this they stay in the process's resident memory for the rest of the document.
    """
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _population(units: gpd.GeoDataFrame, small_areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Residents and households per unit from the small areas, by population-weighted apportionment."""
    from ..geography.crosswalk import crosswalk_apply, crosswalk_population

    weights = crosswalk_population(small_areas, units, small_areas, population="population")
    # Boundary layers drawn independently (e.g. WGS84 KML beats reprojected to the grid) leave
    # slivers of a few square metres uncovered at the partnership's edge. Residents are not lost
    # in them: each small area's weights are renormalised over the units it does overlap.
    weights = weights.copy()
    weights["weight"] = weights["weight"] / weights.groupby("source_code")["weight"].transform("sum")
    out = units.copy()
    for col in ("population", "households"):
        if pd.to_numeric(small_areas[col], errors="coerce").isna().all():  # not supplied (e.g. no households)
            out[col] = np.nan
            continue
        counts = pd.DataFrame({"area_code": small_areas["code"].astype(str),
                               "count": small_areas[col].astype(float).to_numpy()})
        table, _ = crosswalk_apply(counts, weights, tolerance=1e-6)
        per = table.groupby("target_code")["count"].sum()
        out[col] = out["code"].astype(str).map(per).fillna(0.0).to_numpy()
    return out


def _empty_units(crs) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": pd.Series(dtype="str"), "name": pd.Series(dtype="str"),
                             "population": pd.Series(dtype=float), "households": pd.Series(dtype=float)},
                            geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def build_workbench(catalogue: Catalogue, out_dir: Path | None, run_date: dt.date, *,
                    settle: Callable[[str, pd.DataFrame], pd.DataFrame] | None = None) -> Workbench:
    """Run intake and geography for a whole catalogue (uncached).

    Only the ``wards`` geography is required. Without ``partnership`` the boundary is the
    union of the wards; without ``small_areas`` (or without its ``population``) population
    and households are unknown (NaN) and documents give counts without rates; without
    ``neighbourhoods`` the neighbourhood tables are left out.

    Points are clipped to the partnership: an event whose coordinates lie farther than
    ``partnership.edge_buffer_m`` metres outside the boundary is removed from ``events``
    and kept in ``extras['outside']`` (counted per dataset in ``extras['outside_counts']``)
    so that documents can say how many lay outside the partnership. Rows without
    coordinates stay in.

    ``settle(slot, frame)``, when given (``load_workbench`` with a cache), is called with each
    large frame as soon as it is final (the slot names of the cache's Arrow files) and returns
    the frame to go on with: the cache writes it to its Arrow file and hands back the
    memory-mapped read-back, so the built copy is let go before the next stage allocates.
    """
    from ..geography.assign import assign_points, assign_points_versioned
    from ..geography.registry import registry_from_catalogue, registry_version_at
    from ..intake.harmonise import intake_catalogue

    if "wards" not in catalogue.geographies:
        raise CatalogueError(
            "geographies: the documents need a `wards` geography (electoral wards, with dated versions); the "
            f"catalogue has {sorted(catalogue.geographies)}. The other geographies are optional: "
            + ", ".join(f"{k!r} ({v})" for k, v in GEOGRAPHY_ROLES.items() if k != "wards") + ".")
    intake = intake_catalogue(catalogue, out_dir=out_dir, run_date=run_date, errors="collect")
    _release_memory()  # intake's temporaries, before the events are copied and assigned
    if settle is not None:
        # row-level tables (police outcomes) are final: to their cache files before anything else
        for i, key in enumerate(intake.tables or {}):
            intake.tables[key] = settle(f"table{i}", intake.tables[key])
        _release_memory()
    registry = registry_from_catalogue(catalogue)
    end = pd.Timestamp(catalogue.partnership.window.end) + pd.offsets.MonthEnd(0)
    wards = registry_version_at(registry, "wards", end).units.copy()
    crs = wards.crs
    geos = catalogue.geographies
    pop = geos["small_areas"].population if "small_areas" in geos else None
    if "small_areas" in geos:
        sa = registry_version_at(registry, "small_areas", end).units.copy()
        sa["population"] = pd.to_numeric(sa[pop.total], errors="coerce").fillna(0) if pop else np.nan
        sa["households"] = (pd.to_numeric(sa[pop.households], errors="coerce").fillna(0)
                            if pop and pop.households else np.nan)
    else:
        sa = _empty_units(crs)
    hoods = (registry_version_at(registry, "neighbourhoods", end).units.copy() if "neighbourhoods" in geos
             else _empty_units(crs))
    if "partnership" in geos:
        boundary = registry_version_at(registry, "partnership", end).units.copy()
    else:
        boundary = gpd.GeoDataFrame({"code": [catalogue.partnership.code], "name": [catalogue.partnership.name]},
                                    geometry=[wards.geometry.union_all()], crs=crs)
    has_pop = pop is not None and len(sa) > 0
    has_households = has_pop and bool(pop.households)
    for units in ("wards", "hoods"):
        frame = wards if units == "wards" else hoods
        if has_pop and len(frame):
            frame = _population(frame, sa)
            if not has_households:
                frame["households"] = np.nan
        else:
            frame = frame.assign(population=np.nan, households=np.nan)
        if units == "wards":
            wards = frame
        else:
            hoods = frame
    boundary["population"] = float(sa["population"].sum()) if has_pop else np.nan
    boundary["households"] = float(sa["households"].sum()) if has_households else np.nan

    events = intake.events
    # The partnership area: points beyond the boundary (plus the stated edge allowance) are not the
    # partnership's; they are counted, named "outside the partnership" and left out of every analysis.
    import shapely

    buffer_m = float(catalogue.partnership.edge_buffer_m)
    zone = boundary.geometry.union_all()
    zone = zone.buffer(buffer_m) if buffer_m > 0 else zone
    east = pd.to_numeric(events["easting"], errors="coerce").to_numpy(dtype=float)
    north = pd.to_numeric(events["northing"], errors="coerce").to_numpy(dtype=float)
    located = np.isfinite(east) & np.isfinite(north)
    inside = np.ones(len(events), dtype=bool)
    inside[located] = shapely.intersects_xy(zone, east[located], north[located])
    outside = events[~inside]
    outside_counts = outside.groupby("dataset").size().rename("outside_partnership")
    assigned_cols = [c for c in ("easting", "northing", "date", "month") if c in events.columns]
    keep = None if inside.all() else np.flatnonzero(inside)
    by_rows = settle is not None and keep is not None and hasattr(settle, "take_rows")
    if by_rows:
        # The partnership's events are the intake's rows inside: rather than copying every column of
        # them beside the intake's, the intake's events go to their cache file now (the built copy is
        # let go) and the partnership's are taken from that file, column by column, after the
        # assignment (``take_rows``), so the two are never both in memory.
        narrow = pd.DataFrame({c: events[c] for c in assigned_cols}).take(keep)
        del events
        intake.events = settle("intake_events", intake.events)
        outside = settle("outside", outside)
        _release_memory()
        index = narrow.index
    else:
        # (copy-on-write: edits of either frame never reach the intake's)
        events = events.copy(deep=False) if keep is None else events.take(keep)
        narrow = pd.DataFrame({c: events[c] for c in assigned_cols})
        index = events.index

    reports = []
    # Every geography is assigned through a narrow frame (coordinates and dates only), so no
    # assignment copies the wide events frame; each distinct coordinate pair is placed once
    # (assign_points); the codes are added to the events after.
    added: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if len(sa):
            out, rep = assign_points(narrow, sa, column="small_area_code")
            added.update({c: out[c] for c in ("small_area_code", "small_area_code_on_edge")})
            reports.append({"geography": "small_areas", **rep.to_dict()})
        else:
            added["small_area_code"] = pd.Series(pd.NA, index=index, dtype="string")
        out, rep_w = assign_points_versioned(narrow, registry, "wards", column="ward_code")
        added.update({c: out[c] for c in ("ward_code", "ward_code_on_edge", "ward_code_version")})
        reports.append({"geography": "wards", **rep_w.drop(columns="version").sum().to_dict()})
        if len(hoods):
            out, rep = assign_points(narrow, hoods, column="neighbourhood_code")
            added.update({c: out[c] for c in ("neighbourhood_code", "neighbourhood_code_on_edge")})
            reports.append({"geography": "neighbourhoods", **rep.to_dict()})
        else:
            added["neighbourhood_code"] = pd.Series(pd.NA, index=index, dtype="string")
    del narrow, out
    if by_rows:
        _release_memory()  # the assignment's temporaries, before the partnership's events are built
        events = settle.take_rows("events", "intake_events", keep, intake.events, added)
        if events is None:  # the intake's events could not go to a file: copied in memory
            events = intake.events.take(keep).assign(**added)
    else:
        events = events.assign(**added)
        if settle is not None:
            events = settle("events", events)
    del added
    _release_memory()
    assignment = pd.DataFrame(reports)
    return Workbench(
        catalogue=catalogue, intake=intake, registry=registry, events=events, assignment=assignment,
        small_areas=sa, wards=wards, neighbourhoods=hoods, boundary=boundary,
        extras={"ward_versions": rep_w, "outside": outside, "outside_counts": outside_counts,
                "edge_buffer_m": buffer_m, "has_population": has_pop, "has_households": has_households},
    )


#: The workbench's large frames (every event row, and row-level tables such as police outcomes),
#: kept in the cache as Arrow IPC files (``workbench-<key>.<slot>.arrow``) read back memory-mapped:
#: their text columns are used in place from the file instead of unpickled into memory. The rest
#: is pickled (small).
def _frame_slots(wb: Workbench) -> dict[str, tuple[Any, Callable[[Any], None]]]:
    """Slot name -> (frame, a function putting a frame back in its place)."""
    slots: dict[str, tuple[Any, Callable[[Any], None]]] = {
        "events": (wb.events, lambda f: setattr(wb, "events", f)),
        "intake_events": (wb.intake.events, lambda f: setattr(wb.intake, "events", f)),
        "outside": (wb.extras.get("outside"), lambda f: wb.extras.__setitem__("outside", f)),
    }
    for i, key in enumerate(getattr(wb.intake, "tables", None) or {}):
        slots[f"table{i}"] = (wb.intake.tables[key], lambda f, key=key: wb.intake.tables.__setitem__(key, f))
    return slots


def _arrow_path(cache_file: Path, name: str) -> Path:
    return cache_file.with_name(f"{cache_file.stem}.{name}.arrow")


def _write_frame(frame: Any, path: Path) -> bool:
    """Write one frame to an Arrow IPC file (under a temporary name, then moved into place).

    False (nothing written) when the frame is not a plain DataFrame or holds a column Arrow cannot.
    """
    import os

    import pyarrow as pa

    if type(frame) is not pd.DataFrame:
        return False  # absent, or a GeoDataFrame: pickled with the rest
    try:
        table = pa.Table.from_pandas(frame, preserve_index=True)
    except (pa.ArrowException, TypeError, ValueError):
        return False  # a column Arrow cannot hold (mixed objects): pickled with the rest
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    os.replace(tmp, path)
    return True


def _read_frame(path: Path) -> pd.DataFrame:
    """A frame from its Arrow IPC file, memory-mapped (the mapped file stays open while its buffers are used)."""
    import pyarrow as pa

    table = pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all()
    return table.to_pandas(split_blocks=True)


class _Settler:
    """``build_workbench``'s ``settle``: each final frame to its Arrow cache file, read back memory-mapped."""

    def __init__(self, cache_file: Path) -> None:
        self.cache_file = cache_file
        self.written: set[str] = set()

    def __call__(self, name: str, frame: pd.DataFrame) -> pd.DataFrame:
        path = _arrow_path(self.cache_file, name)
        if not _write_frame(frame, path):
            return frame
        self.written.add(name)
        return _read_frame(path)

    def take_rows(self, name: str, source: str, positions: np.ndarray, like: pd.DataFrame,
                  added: dict[str, pd.Series]) -> pd.DataFrame | None:
        """``like.take(positions).assign(**added)`` written to slot ``name``'s file, read back memory-mapped.

        ``like`` is the frame settled in slot ``source``; the rows are taken from its file column by
        column and record batch by record batch, so the source is never in memory beside the
        result; the result is written as one record batch (one chunk per column, as a frame written
        whole) and read back memory-mapped. The positions must be ascending. None (nothing written)
        when the source is not in a file or the result's schema cannot be known from its columns
        alone (the caller then builds the frame in memory).
        """
        import json
        import os

        import pyarrow as pa

        source_path = _arrow_path(self.cache_file, source)
        if source not in self.written or not source_path.is_file():
            return None
        if len(positions) == 0 or bool(np.any(np.diff(positions) <= 0)):
            return None  # nothing kept, or positions out of order
        index = like.index.take(positions)
        if isinstance(index, pd.RangeIndex):
            return None  # kept as metadata, not a column: not sliceable
        head = like.iloc[:0].set_axis(index[:0]).assign(**{k: v.iloc[:0] for k, v in added.items()})
        try:
            schema = pa.Schema.from_pandas(head, preserve_index=True)
        except (pa.ArrowException, TypeError, ValueError):
            return None
        meta = json.loads(schema.metadata[b"pandas"])
        if any(pa.types.is_null(f.type) for f in schema) or not all(
                isinstance(c, str) for c in meta.get("index_columns", [])):
            return None  # an untyped (object) column, or an index held as metadata
        extra = pa.Table.from_pandas(pd.DataFrame(added, index=index), preserve_index=True)
        # Column by column, the source's record batches one at a time, only that column's buffers read
        # from the file into memory (no map whose pages would all count at once, no column's slices
        # interleaved with another's); each batch's kept rows taken from it alone (a take over a
        # whole chunked column would first join all of its chunks). The positions are ascending, so
        # each batch's rows are one run of them.
        with pa.OSFile(str(source_path), "rb") as fh:
            source_names = pa.ipc.open_file(fh).schema.names
        columns = []
        for f in schema:
            if f.name in extra.column_names:
                col = extra.column(f.name).combine_chunks()
            else:
                pieces = []
                options = pa.ipc.IpcReadOptions(included_fields=[source_names.index(f.name)])
                with pa.OSFile(str(source_path), "rb") as fh:
                    reader = pa.ipc.open_file(fh, options=options)
                    first = 0
                    for i in range(reader.num_record_batches):
                        batch = reader.get_batch(i)
                        a, b = np.searchsorted(positions, [first, first + batch.num_rows])
                        if b > a:
                            pieces.append(batch.column(0).take(pa.array(positions[a:b] - first)))
                        first += batch.num_rows
                        del batch
                col = pa.chunked_array(pieces, type=pieces[0].type if pieces else f.type).combine_chunks()
                del pieces
                _release_memory()  # the column's slices
            columns.append(col if col.type == f.type else col.cast(f.type))
        del extra
        table = pa.Table.from_arrays(columns, schema=schema)
        del columns
        path = _arrow_path(self.cache_file, name)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
            writer.write_table(table)
        del table
        _release_memory()
        os.replace(tmp, path)
        self.written.add(name)
        return _read_frame(path)


def _write_cache(wb: Workbench, cache_file: Path, written: set[str] | frozenset[str] = frozenset()) -> None:
    """Write the workbench to the cache: its event frames as Arrow IPC files, the rest pickled.

    Each file is written under a temporary name and moved into place, the pickle last, so a
    reader finds either a whole entry or none (the pickle names the frames it left out).
    Slots in ``written`` were written already while the workbench was built (``_Settler``).
    """
    import copy
    import os

    in_arrow = []
    for name, (frame, _put) in _frame_slots(wb).items():
        if name in written and _arrow_path(cache_file, name).is_file():
            in_arrow.append(name)
        elif _write_frame(frame, _arrow_path(cache_file, name)):
            in_arrow.append(name)
    light = copy.copy(wb)
    light.intake = copy.copy(wb.intake)
    light.intake.tables = dict(wb.intake.tables or {})
    light.extras = dict(wb.extras)
    slots = _frame_slots(light)
    for name in in_arrow:
        slots[name][1](None)
    tmp = cache_file.with_name(f"{cache_file.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        pickle.dump({"workbench": light, "arrow": in_arrow}, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, cache_file)


def _read_cache(cache_file: Path) -> Workbench | None:
    """The cached workbench, its event frames memory-mapped from their Arrow files; None if incomplete."""
    with open(cache_file, "rb") as fh:
        entry = pickle.load(fh)
    if isinstance(entry, Workbench):  # an entry written whole by an earlier version
        return entry
    wb, names = entry["workbench"], entry["arrow"]
    slots = _frame_slots(wb)
    for name in names:
        path = _arrow_path(cache_file, name)
        if not path.is_file() or name not in slots:
            return None
        slots[name][1](_read_frame(path))
    return wb


#: The workbench this process loaded last from a cache file, with the file's identity: the documents
#: of one edition run in one kernel, and each would otherwise read the same cache again. The cache
#: key covers the package version, run date, pseudonym key, catalogue and every input file's bytes.
_LOADED: dict[str, Any] = {}


def _file_identity(path: Path) -> tuple:
    """The cache entry's files (the pickle and its Arrow files) as they are on disk now."""
    files = [path, *sorted(path.parent.glob(f"{path.stem}.*.arrow"))]
    return tuple((str(f.resolve()), st.st_mtime_ns, st.st_size, st.st_ino) for f in files for st in [f.stat()])


def _loaded_before(cache_file: Path) -> Workbench | None:
    try:
        if _LOADED.get("identity") == _file_identity(cache_file):
            return _LOADED["workbench"]
    except OSError:
        pass
    return None


def _remember_loaded(cache_file: Path, wb: Workbench | None) -> None:
    _LOADED.clear()
    if wb is not None:
        try:
            _LOADED.update(identity=_file_identity(cache_file), workbench=wb)
        except OSError:
            pass


def forget_loaded_workbench() -> None:
    """Let go of the workbench (and the evidence shared on it) this process loaded last.

    Documents of one edition share the workbench loaded from the cache, and the analyses that
    depend only on it (:mod:`assessment.reporting.evidence`). A long-lived kernel that moves on to
    another partnership calls this to release them.
    """
    _LOADED.clear()


def load_workbench(
    catalogue: Catalogue | str | Path,
    out_dir: Path | None = None,
    run_date: dt.date | None = None,
    cache_dir: Path | None = None,
) -> Workbench:
    """Build (or load from cache) the harmonised workbench for a catalogue.

    Intake's quality files are written under ``out_dir/quality`` every time, from the
    cached result when there is one, so each run folder carries them.
    """
    cat = catalogue if isinstance(catalogue, Catalogue) else load_catalogue(catalogue)
    when = run_date or dt.date.today()
    wb: Workbench | None = None
    cache_file = None
    if cache_dir is not None:
        cache_dir = Path(cache_dir)
        cache_dir.mkdir(parents=True, exist_ok=True)
        cache_file = cache_dir / f"workbench-{_cache_key(cat, when)}.pkl"
        if cache_file.is_file():
            wb = _loaded_before(cache_file)
            if wb is None:
                wb = _read_cache(cache_file)
                _remember_loaded(cache_file, wb)
    if wb is None:
        settler = _Settler(cache_file) if cache_file is not None else None
        wb = build_workbench(cat, None, when, settle=settler)
        if cache_file is not None:
            _write_cache(wb, cache_file, settler.written)
            # the frames read back from the cache are memory-mapped: the built copies are let go
            wb = _read_cache(cache_file) or wb
            _remember_loaded(cache_file, wb)
            _release_memory()
    wb.catalogue = cat
    if out_dir is not None:
        from ..intake.harmonise import write_intake

        write_intake(wb.intake, Path(out_dir))
    return wb


def validate_catalogue(
    catalogue: str | Path, out_dir: str | Path | None = None, progress: Callable[[str], None] | None = None,
    run_date: dt.date | None = None, width: int = 100,
) -> tuple[bool, str]:
    """Run intake alone and return (all usable, a printable per-dataset summary).

    The summary has fixed columns (dataset, status, rows read, accepted, quarantined,
    share geocoded); each dataset's message (why it was refused or unreadable, naming
    the dataset, file, row and column) and its quarantine reasons are wrapped below
    its line. ``all usable`` is False when any dataset is refused, unreadable or unusable (read
    but with no row accepted), or
    when rows read differ from rows accepted plus rows quarantined.
    """
    import textwrap

    from ..intake.harmonise import intake_catalogue

    check_type(catalogue, "catalogue", (str, Path))
    cat = load_catalogue(catalogue)
    if progress:
        progress(f"Reading {len(cat.datasets)} datasets from {cat.data_dir}")
    out = Path(out_dir) if out_dir else None
    result = intake_catalogue(cat, out_dir=out, run_date=run_date, errors="collect")
    q = result.quality.set_index("dataset").reindex(list(cat.datasets))
    name_w = max(12, *(len(k) for k in cat.datasets)) + 2
    header = (f"{'dataset':<{name_w}}{'status':<14}{'read':>10}{'accepted':>10}{'quarantined':>13}"
              f"{'geocoded':>10}")
    lines = [header, "-" * len(header)]
    ok = result.usable
    indent = " " * 4
    for key, r in zip(q.index, q.to_dict("records")):  # one line per catalogue dataset (a dozen)
        status = r["status"] if isinstance(r["status"], str) else "not read"
        read, acc, qua = (int(r[c]) if pd.notna(r[c]) else 0 for c in ("rows_read", "rows_accepted", "rows_quarantined"))
        blank = int(r["rows_blank"]) if "rows_blank" in r and pd.notna(r["rows_blank"]) else 0
        geo = r["share_geocoded"]
        geo_txt = f"{100 * float(geo):.1f}%" if pd.notna(geo) else "-"
        lines.append(f"{key:<{name_w}}{status:<14}{read:>10,}{acc:>10,}{qua:>13,}{geo_txt:>10}")
        notes = []
        if status != "ok":
            ok = False
            files = cat.dataset_files(key)
            where = ", ".join(str(f.relative_to(cat.data_dir)) if f.is_relative_to(cat.data_dir) else str(f)
                              for f in files[:3]) + (f" (+{len(files) - 3} more)" if len(files) > 3 else "")
            msg = r["message"] if isinstance(r["message"], str) else "no message recorded"
            if key not in msg:
                msg = f"dataset {key}: {msg}"
            notes.append(f"{status.upper()}: {msg}" + (f" [file: {where}]" if where and where not in msg else ""))
        if blank:
            notes.append(f"blank: {blank:,} padding rows with nothing in them (counted, not quarantined)")
        if read != acc + qua + blank:
            ok = False
            notes.append(f"ROWS DO NOT BALANCE: {read:,} read but {acc:,} accepted + {qua:,} quarantined"
                         + (f" + {blank:,} blank" if blank else ""))
        reasons = {c[len("quarantined_"):].replace("_", " "): int(r[c]) for c in q.columns
                   if c.startswith("quarantined_") and pd.notna(r[c]) and int(r[c]) > 0}
        if reasons:
            notes.append("quarantined: " + ", ".join(f"{k} {v:,}" for k, v in reasons.items())
                         + (f" (see quality/quarantine/{key}.csv)" if out is not None else ""))
        for note in notes:
            lines += textwrap.wrap(note, width=width, initial_indent=indent, subsequent_indent=indent + "  ",
                                   break_on_hyphens=False)
    lines.append("-" * len(header))
    n_bad = int((q["status"].fillna("not read") != "ok").sum())
    lines.append(f"{'total':<{name_w}}{'':<14}{int(q['rows_read'].fillna(0).sum()):>10,}"
                 f"{int(q['rows_accepted'].fillna(0).sum()):>10,}{int(q['rows_quarantined'].fillna(0).sum()):>13,}")
    lines.append(f"{len(q) - n_bad} of {len(q)} datasets usable"
                 + ("." if ok else f"; {n_bad} refused, unreadable or unusable: " + ", ".join(q.index[q['status'].fillna('') != 'ok']) + "."))
    if out is not None:
        lines.append(f"Quality files written under {out / 'quality'}")
    return ok, "\n".join(lines)


def coterminosity_report(
    catalogue: str | Path, source: str, target: str, out_dir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> str:
    """Build the co-terminosity tables (and map) for two geographies; return a printable summary."""
    from ..geography.coterminosity import coterminosity_tables
    from ..geography.maps import coterminosity_map
    from .maps import map_page
    from ..geography.registry import registry_from_catalogue, registry_version_at

    cat = load_catalogue(catalogue)
    for key, name in ((source, "--from"), (target, "--to")):
        if key not in cat.geographies:
            raise ValueError(f"{name} must be a geography of the catalogue {sorted(cat.geographies)}, got {key!r}")
    sa_geo = cat.geographies.get("small_areas")
    if sa_geo is None or sa_geo.population is None:
        raise CatalogueError(
            "co-terminosity is weighted by residents: it needs a `small_areas` geography with `population` "
            f"(the catalogue has {'no small_areas' if sa_geo is None else 'small_areas without population'})")
    if progress:
        progress(f"Reading geographies {source!r}, {target!r} and the small areas")
    registry = registry_from_catalogue(cat, keys=sorted({source, target, "small_areas"}))
    end = pd.Timestamp(cat.partnership.window.end)
    src = registry_version_at(registry, source, end).units
    tgt = registry_version_at(registry, target, end).units
    sa = registry_version_at(registry, "small_areas", end).units.copy()
    sa["population"] = pd.to_numeric(sa[cat.geography("small_areas").population.total], errors="coerce")
    tables = coterminosity_tables(src, tgt, source, target, small_areas=sa, population="population")
    summary_key = next(k for k in tables if k.endswith("summary"))
    split_key = next(k for k in tables if k.endswith("split"))
    units_key = next(k for k in tables if k.endswith("units"))
    if out_dir is not None:
        out = Path(out_dir)
        (out / "tables").mkdir(parents=True, exist_ok=True)
        for name, frame in tables.items():
            write_csv(frame, out / "tables" / f"{name}.csv")
        fmap = coterminosity_map(src, tgt, tables[units_key], cat.geography(source).title, cat.geography(target).title)
        (out / f"coterminosity_{source}_to_{target}.html").write_text(map_page(fmap), encoding="utf-8")
        if progress:
            progress(f"Wrote {len(tables)} tables and the map under {out}")
    s = tables[summary_key].iloc[0]
    split = tables[split_key]
    lines = [
        f"Co-terminosity of {cat.geography(source).title} ({source}) with {cat.geography(target).title} ({target})",
        f"  index (population-weighted share of {source} lying at least {float(s['threshold']):.0%} inside one {target}): "
        f"{float(s['index']):.3f}",
        f"  {int(s['n_coterminous'])} of {int(s['n_source_units'])} units coterminous; {int(s['n_split'])} split",
    ]
    if len(split):
        cols = [c for c in ("source_code", "source_name", "best_fit_target", "area_share", "population_share", "targets")
                if c in split.columns]
        lines.append(split[cols].to_string(index=False))
    return "\n".join(lines)
