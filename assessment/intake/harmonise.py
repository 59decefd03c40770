"""Intake driven by the catalogue: read, check sharing, map, validate, quarantine, pseudonymise.

Everything about a dataset comes from its catalogue entry: the reader is chosen by
``format`` (data.police.uk street/outcomes/stop-and-search, csv, xlsx, yaml), the
harmonised table by ``kind``, and the rest (column mapping, date format,
coordinates and CRS, category map, identifiers, sharing, duplicates window) from its
fields. There is no code path for any particular dataset.

Harmonised outputs by kind (see ``docs/CONVENTIONS.md`` for the events and area
counts contract):

``events``
    ``dataset, agency, event_id, source_file, source_row, date, month, category,
    theme, easting, northing, location, area_code, is_repeat, duplicate_id``, then
    any other mapped fields (e.g. ``outcome``) as text. ``date`` is NaT when the
    source gives only the month; ``theme`` is the theme key from ``themes``
    (e.g. ``'violence'``); ``duplicate_id`` marks an event id that several
    accepted rows share.
``area_counts``
    ``dataset, agency, geography, area_code, period, period_start, category, theme,
    count, source_file, source_row``.
``persons``
    ``dataset, agency, source_file, source_row``, every mapped field (identifier
    fields such as ``person_id`` and ``date_of_birth`` hold HMAC pseudonyms, never
    raw values), ``date``, ``month``.
``survey``, ``premises``
    ``dataset, agency, source_file, source_row`` and every mapped field (premises
    also ``easting, northing``).
``table``
    every source column, mapped ones renamed to their harmonised names, then
    ``source_file, source_row`` (and ``month``/``date`` when a date is mapped).
``document``
    the parsed YAML (a dict).
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from assessment.catalogue import Catalogue, Dataset
from assessment.checks import check_choice, check_type
from assessment.errors import AssessmentError, CatalogueError, IntakeError, SharingRefused
from assessment.intake import police_uk
from assessment.intake.coords import prepare_transform, to_bng
from assessment.intake.dates import is_month_only, month_strings, parse_date_codes, parse_dates, text_from_codes
from assessment.intake.quality import (
    COMPLETENESS_COLUMNS,
    COVERAGE_COLUMNS,
    QUARANTINE_COLUMNS,
    Reasons,
    coverage_from_counts,
    field_completeness,
    flag_exact_duplicates,
    flag_repeated_values,
    flag_repeats,
    quality_record,
    quality_summary,
    write_quality,
)
from assessment.intake.sharing import (
    check_permitted_use,
    check_sharing,
    holds_personal_data,
    pseudonym_key,
    pseudonymise_columns,
    sharing_register,
)
from assessment.intake.tables import (
    EXTRA_COLUMNS,
    describe_columns,
    forget_text_edges,
    read_csv_table,
    read_xlsx_table,
    remembered_text_edges,
    repeated_text,
    text_edges,
)

EVENT_COLUMNS = ["dataset", "agency", "event_id", "source_file", "source_row", "date", "month", "category",
                 "theme", "easting", "northing", "location", "area_code", "is_repeat", "duplicate_id"]
AREA_COUNT_COLUMNS = ["dataset", "agency", "geography", "area_code", "period", "period_start", "category",
                      "theme", "count", "source_file", "source_row"]
_EVENT_FIELDS = {"event_id", "date", "category", "location", "area_code"}
_POLICE_READERS = {
    "police_uk_street": police_uk.read_police_street,
    "police_uk_outcomes": police_uk.read_police_outcomes,
    "police_uk_stop_search": police_uk.read_police_stop_search,
}
_QUARTER = r"^\s*(\d{4})\s*-?\s*Q([1-4])\s*$"


@dataclass
class DatasetIntake:
    """One dataset after intake.

    Attributes
    ----------
    key, kind, agency : str
        Catalogue key, kind and owning agency.
    data : DataFrame or dict
        The harmonised rows (see the module docstring), or the parsed document.
    quarantine : DataFrame
        Every quarantined row: ``dataset, source_file, source_row, file_line, reason, detail``
        then the source columns as read (identifier columns pseudonymised). For personal and
        sensitive datasets (:func:`withholds_values`) the line and reason only: no source
        column, and a detail without the offending value.
    quality : dict
        The dataset's row of ``quality/intake.csv``.
    completeness : DataFrame
        ``dataset, field, source_column, rows, filled, share_filled``.
    coverage : DataFrame
        ``dataset, month, rows`` (accepted rows per month; zero months are gaps).
    """

    key: str
    kind: str
    agency: str
    data: Any
    quarantine: pd.DataFrame
    quality: dict
    completeness: pd.DataFrame
    coverage: pd.DataFrame


@dataclass
class IntakeResult:
    """The whole catalogue after intake.

    Attributes
    ----------
    events : DataFrame
        Every ``events`` dataset, harmonised and concatenated (columns :data:`EVENT_COLUMNS`
        then extra mapped fields).
    area_counts : DataFrame
        Every ``area_counts`` dataset (columns :data:`AREA_COUNT_COLUMNS`).
    persons, survey, premises : DataFrame
        Person-level (pseudonymised), survey and premises datasets, concatenated.
    tables : dict of str -> DataFrame
        ``table`` datasets by key.
    documents : dict of str -> dict
        ``document`` datasets (e.g. the previous strategy) by key.
    quality : DataFrame
        ``quality/intake.csv``: per dataset ``rows_read, rows_accepted, rows_quarantined``,
        one ``quarantined_<reason>`` count per reason, ``not_geocoded``, ``share_geocoded``,
        ``duplicate_ids``, ``repeats``, ``first_month``, ``last_month``, ``status``
        (``ok``, ``refused``, ``not permitted``, ``unreadable``, or ``unusable`` when no row
        was accepted) and ``message``.
    quarantine : dict of str -> DataFrame
        Quarantined rows by dataset key (also for a dataset left out as unusable).
    completeness, coverage : DataFrame
        Field completeness and accepted rows per month, all datasets.
    sharing : DataFrame
        The information-sharing register (:func:`~assessment.intake.sharing.sharing_register`).
    errors : dict of str -> str
        Datasets refused or unreadable (when ``errors='collect'``), with the message.
    """

    events: pd.DataFrame
    area_counts: pd.DataFrame
    persons: pd.DataFrame
    survey: pd.DataFrame
    premises: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    documents: dict[str, dict]
    quality: pd.DataFrame
    quarantine: dict[str, pd.DataFrame]
    completeness: pd.DataFrame
    coverage: pd.DataFrame
    sharing: pd.DataFrame
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        """True when no dataset was refused or unreadable."""
        return not self.errors


# -- reading -----------------------------------------------------------------------------

def _source_columns(ds: Dataset) -> list[str]:
    cols = list(ds.columns.values())
    if ds.coordinates:
        cols += [ds.coordinates.x, ds.coordinates.y]
    return list(dict.fromkeys(cols))


def _blank_text(values: pd.Series) -> np.ndarray:
    """True where ``values`` is NA or text that strips to nothing.

    Only text that is empty or whose first byte is not printable ASCII (a space, a
    control character, or the start of a non-ASCII character such as a no-break space)
    can strip to nothing, so ``Series.str.strip`` runs on those few values only.
    """
    text = values if values.dtype in ("str", "string") else values.astype("str")
    first, _ = text_edges(text)
    out = values.isna().to_numpy(dtype=bool, copy=True)
    check = np.flatnonzero(((first < 0x21) | (first > 0x7E)) & ~out)
    if len(check):
        out[check] = (text.iloc[check].astype("string").str.strip() == "").to_numpy(dtype=bool)
    return out


def blank_rows(raw: pd.DataFrame) -> np.ndarray:
    """Rows with nothing in them: every field empty or spaces (padding rows of delimiters alone).

    A padding row whose field count differs from the header's (e.g. ``,,`` under ten columns)
    is blank too, not malformed: its text holds only delimiters, quotes and spaces.
    """
    cols = [c for c in raw.columns if c not in EXTRA_COLUMNS]
    empty = np.ones(len(raw), dtype=bool)
    # Each column only narrows the rows still blank so far: after a column or two that
    # nearly every row fills, the rest are checked on a handful of rows (or none).
    for c in cols:  # columns of the file (a dozen), each vectorised over the rows still blank
        rows = np.flatnonzero(empty)
        if len(rows) == 0:
            return empty
        v = raw[c] if len(rows) == len(raw) else raw[c].iloc[rows]
        filled = v.notna().to_numpy()
        if not filled.any():
            continue
        if pd.api.types.is_float_dtype(v.dtype):  # a number is never blank text
            empty[rows[filled]] = False
            continue
        empty[rows] = _blank_text(v)
    if "read_problem" in raw.columns:
        rows = np.flatnonzero(empty)
        problem = raw["read_problem"].iloc[rows].astype("string")
        only_delims = problem.str.contains(r":\s*(?:'[\s,;\t|\"]*'|\"[\s,;\t|']*\")\s*$", regex=True).fillna(False)
        empty[rows] = (problem.isna() | only_delims).to_numpy(dtype=bool)
    return empty


def read_dataset(catalogue: Catalogue, key: str) -> pd.DataFrame | dict:
    """Read a dataset's files as they are, with the reader its ``format`` names.

    Returns
    -------
    DataFrame or dict
        For tabular formats, the rows of every matching file as text with
        ``source_file``, ``source_row`` and ``read_problem`` (see
        :func:`assessment.intake.tables.read_csv_table`); for ``yaml``, the document.

    Raises
    ------
    IntakeError
        No file matches the dataset's path, or a file cannot be read (the message names
        dataset, file, row and column).
    """
    check_type(catalogue, "catalogue", Catalogue)
    ds = catalogue.dataset(key)
    files = catalogue.dataset_files(key)
    if not files:
        raise IntakeError(f"dataset {key}: no file matches {catalogue.data_dir / ds.path}")
    required = _source_columns(ds)
    standard = set(police_uk.FILE_KINDS.get(ds.format.removeprefix("police_uk_").replace("_", "-"), ()))
    if ds.format in _POLICE_READERS and standard and not set(required) <= standard:
        # A renamed export of data.police.uk files (e.g. snake_case columns from a force or council
        # extract): read it as the CSV it is, through the catalogue's column mapping.
        floats = [ds.coordinates.x, ds.coordinates.y] if ds.coordinates else []
        frames = [read_csv_table(f, delimiter=ds.delimiter, encoding=ds.encoding, header_row=ds.header_row,
                                 required=required, float_columns=floats, dataset=key) for f in files]
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if ds.format in _POLICE_READERS:
        frame = _POLICE_READERS[ds.format](files, dataset=key)
        missing = [c for c in required if c not in frame.columns]
        if missing:
            raise IntakeError(f"dataset {key}: column(s) {missing} named in the catalogue are not in the "
                              f"data.police.uk files ("
                              f"{describe_columns([c for c in frame.columns if c not in EXTRA_COLUMNS], required)})")
        return frame
    if ds.format == "yaml":
        if len(files) != 1:
            raise IntakeError(f"dataset {key}: a yaml document must be one file, got {len(files)}")
        try:
            doc = yaml.safe_load(files[0].read_text(encoding=ds.encoding))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            mark = getattr(exc, "problem_mark", None)  # the problem and where, never the quoted text
            where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
            what = getattr(exc, "problem", None) or type(exc).__name__
            raise IntakeError(f"dataset {key} file {files[0].name}: must be valid YAML; {what}{where}") from None
        if not isinstance(doc, dict):
            raise IntakeError(f"dataset {key} file {files[0].name}: must be a YAML mapping, got {type(doc).__name__}")
        return doc
    floats = [ds.coordinates.x, ds.coordinates.y] if ds.coordinates else []
    if ds.format == "csv":
        frames = [read_csv_table(f, delimiter=ds.delimiter, encoding=ds.encoding, header_row=ds.header_row,
                                 required=required, float_columns=floats, dataset=key) for f in files]
    else:
        frames = [read_xlsx_table(f, sheet=ds.sheet, header_row=ds.header_row, required=required, dataset=key)
                  for f in files]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


# -- helpers ---------------------------------------------------------------------------

def _text(frame: pd.DataFrame, col: str | None) -> pd.Series:
    """A source column as stripped text with blanks as NA (all-NA when unmapped)."""
    if col is None:
        return pd.Series(np.nan, index=frame.index, dtype="str")
    values = frame[col]
    if values.dtype != "str":
        values = values.astype("str")
    first, last = text_edges(values)
    if len(values) and ((first == 32) | (last == 32)).any():  # a value starts or ends with a space
        values = values.str.strip()
        values = values.where(values != "")
    return values


def _window_months(catalogue: Catalogue, window: tuple[str, str] | None | bool) -> tuple[str, str] | None:
    if window is False:
        return None
    if window is None or window is True:
        return catalogue.partnership.window.start, catalogue.partnership.window.end
    start, end = window
    from assessment.checks import check_month

    check_month(start, "window start")
    check_month(end, "window end")
    return start, end


def _mark_dates(frame: pd.DataFrame, ds: Dataset, reasons: Reasons, col: str,
                window: tuple[str, str] | None = None) -> tuple[pd.Series, pd.Series]:
    """Parse the mapped date column; quarantine missing, unparseable and (when ``window``
    is given) outside-the-window dates; return (date, month).

    Each distinct source value is parsed, given its month and checked against the
    window once; the results are broadcast to the rows by their codes.
    """
    raw = _text(frame, col)
    fmt = ds.date_format or "%Y-%m"
    codes, raw_u, parsed_u = parse_date_codes(raw, fmt)
    bad_u = np.isnat(parsed_u)
    has = codes >= 0
    safe = np.where(has, codes, 0)
    reasons.mark(~has, "date missing", f"{col} is empty")
    if bad_u.any():
        reasons.mark(has & bad_u[safe], "unparseable date",
                     (f"{col} must match {fmt!r}, got ", raw))
    month_u = parsed_u.astype("datetime64[M]")
    labels = np.datetime_as_string(month_u, unit="M").tolist()
    month_codes = np.where(has & ~bad_u[safe], codes, -1) if len(bad_u) else codes
    if is_month_only(fmt) and not bad_u.any() and labels == raw_u.tolist():
        month = raw  # every value already reads as its own YYYY-MM: the source text is the month
    else:
        month = text_from_codes(labels, month_codes, frame.index)
    if window is not None and len(month_u):
        with np.errstate(invalid="ignore"):
            out_u = ~bad_u & ((month_u < np.datetime64(window[0], "M")) | (month_u > np.datetime64(window[1], "M")))
        if out_u.any():
            reasons.mark((month_codes >= 0) & out_u[safe], "date outside the window",
                         (f"month must lie in {window[0]}..{window[1]}, got ", month))
    if is_month_only(fmt):
        date = pd.Series(np.full(len(frame), np.datetime64("NaT", "ns")), index=frame.index)
    else:
        date = pd.Series(np.where(month_codes >= 0, parsed_u[safe] if len(parsed_u) else np.datetime64("NaT", "ns"),
                                  np.datetime64("NaT", "ns")), index=frame.index, dtype="datetime64[ns]")
    return date, month


def _quarantine_frame(key: str, frame: pd.DataFrame, reasons: Reasons, header_row: int = 1,
                      withhold: bool = False) -> pd.DataFrame:
    """Quarantined rows with their reason; ``file_line`` is the line (or sheet row) to open in the file.
    With ``withhold`` (personal and sensitive datasets) no source column is kept."""
    q = reasons.quarantined
    src = [] if withhold else [c for c in frame.columns if c not in EXTRA_COLUMNS]
    if not q.any():  # nothing quarantined: the empty frame's columns and dtypes, without a take
        sub = frame.iloc[:0]
    else:
        sub = frame.iloc[np.flatnonzero(q)]
    out = pd.DataFrame({
        "dataset": pd.Series(key, index=sub.index, dtype="str"),
        "source_file": sub["source_file"],
        "source_row": sub["source_row"],
        "file_line": pd.to_numeric(sub["source_row"], errors="coerce") + header_row,
        "reason": pd.Series(reasons.reason[q] if len(sub) else [], index=sub.index, dtype="str"),
        "detail": pd.Series(reasons.detail[q] if len(sub) else [], index=sub.index, dtype="str"),
    })
    return pd.concat([out, sub[src]], axis=1).reset_index(drop=True)


def _partnership_geometry(catalogue: Catalogue):
    import geopandas as gpd

    if "partnership" not in catalogue.geographies:
        raise IntakeError("outside_partnership_buffer needs a geography keyed 'partnership' in the catalogue")
    geo = catalogue.geography("partnership")
    gdf = gpd.read_file(catalogue.geography_path("partnership"))
    if gdf.crs is None:
        gdf = gdf.set_crs(geo.crs)
    return gdf.to_crs(27700).union_all()


# -- per kind --------------------------------------------------------------------------

def _coordinates(frame: pd.DataFrame, ds: Dataset, reasons: Reasons, boundary,
                 converted: tuple | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Convert the mapped coordinates and quarantine unusable ones; ``converted`` is
    :func:`to_bng`'s result when already computed."""
    n = len(frame)
    if not ds.coordinates:
        return np.full(n, np.nan), np.full(n, np.nan)
    c = ds.coordinates
    east, north, status = converted if converted is not None else to_bng(frame[c.x], frame[c.y], c.crs)
    for code, reason, expected in (("invalid", "coordinates invalid", f"a location in {c.crs} within Great Britain"),
                                   ("not finite", "coordinates not finite", "finite numbers")):
        hit = np.asarray(status == code)
        if hit.any():
            pair = np.full(n, None, dtype=object)
            pair[hit] = (_text(frame, c.x)[hit].astype("str").fillna("") + ", "
                         + _text(frame, c.y)[hit].astype("str").fillna("")).to_numpy(dtype=object)
            reasons.mark(hit, reason, (f"{c.x}, {c.y} must be {expected}, got ", pair))
    if ds.require_coordinates:
        reasons.mark(np.asarray(status == "missing"), "coordinates missing", f"{c.x}/{c.y} empty")
    elif ds.covers == "force":
        # A row without a location in a file covering a force area shared with other partnerships
        # cannot be placed in this partnership (the catalogue's `covers`): not counted, reported.
        reasons.mark(np.asarray(status == "missing"), "coordinates missing",
                     f"{c.x}/{c.y} empty in a file covering the whole force area (covers: force): "
                     "the row cannot be placed in the partnership")
    if ds.outside_partnership_buffer is not None and boundary is not None:
        import shapely

        zone = boundary.buffer(ds.outside_partnership_buffer)
        geocoded = np.isfinite(east)
        inside = np.zeros(n, dtype=bool)
        inside[geocoded] = shapely.contains_xy(zone, east[geocoded], north[geocoded])
        reasons.mark(geocoded & ~inside, "coordinates outside the partnership",
                     f"more than {ds.outside_partnership_buffer:g} m outside the partnership boundary")
    return east, north


def _categories(frame: pd.DataFrame, ds: Dataset, catalogue: Catalogue, reasons: Reasons | None,
                ) -> tuple[pd.Series, pd.Series]:
    """The category text and its theme; unknown categories are quarantined in ``reasons``
    (with None, call :func:`_mark_unknown_categories` later, to keep the reasons' order)."""
    col = ds.columns.get("category")
    if ds.fixed_category:
        category = pd.Series(ds.fixed_category, index=frame.index, dtype="str")
    else:
        category = _text(frame, col)
    if not ds.category_map:
        return category, pd.Series(np.nan, index=frame.index, dtype="str")
    mapping = catalogue.category_maps[ds.category_map]
    codes, uniques = pd.factorize(category, use_na_sentinel=True)
    themes = [mapping.get(u) for u in uniques]  # one lookup per distinct value
    theme_codes = np.array([i if t is not None else -1 for i, t in enumerate(themes)] + [-1])[codes]
    theme = text_from_codes([t or "" for t in themes], theme_codes, frame.index)
    if reasons is not None:
        _mark_unknown_categories(ds, catalogue, reasons, category, theme)
    return category, theme


def _mark_unknown_categories(ds: Dataset, catalogue: Catalogue, reasons: Reasons, category: pd.Series,
                             theme: pd.Series) -> None:
    if not ds.category_map:
        return
    mapping = catalogue.category_maps[ds.category_map]
    unknown = theme.isna().to_numpy()
    reasons.mark(unknown, "unknown category",
                 (f"{ds.columns.get('category') or 'category'} must be one of category_maps.{ds.category_map} "
                  f"{sorted(mapping)}, got ", category))


def _extras(frame: pd.DataFrame, ds: Dataset, skip: set[str]) -> dict[str, pd.Series]:
    return {f: _text(frame, col) for f, col in ds.columns.items() if f not in skip}


_ID_FIELDS = ("event_id", "person_id", "respondent_id", "premises_id")


def _exact_duplicates(frame: pd.DataFrame, reasons: Reasons, ds: Dataset,
                      id_repeated: np.ndarray | None = None) -> None:
    """Quarantine later exact copies of a whole source row that carries an id.

    A row that repeats another in every column is a double submission only when the
    source gives it an identifier (an event, person, respondent or premises id), or
    when the data are aggregated counts. Rows without an id are never judged
    duplicates: data.police.uk ASB rows and stop-and-searches have no id and are
    coarsened (month, anonymised map point), so identical rows are separate incidents.
    """
    src = [c for c in frame.columns if c not in EXTRA_COLUMNS]
    ok = frame["read_problem"].isna().to_numpy()
    if ds.kind != "area_counts":
        id_cols = [ds.columns[f] for f in _ID_FIELDS if f in ds.columns]
        if not id_cols:
            return
        # a whole-row copy repeats its id too: compare whole rows only where an id repeats
        if id_repeated is None:
            id_repeated = np.zeros(len(frame), dtype=bool)
            for c in id_cols:
                id_repeated |= flag_repeated_values(frame[c])
        ok = ok & id_repeated
        if not ok.any():
            return
    dup = np.zeros(len(frame), dtype=bool)
    dup[ok] = flag_exact_duplicates(frame.loc[ok], src)
    reasons.mark(dup, "duplicate", "exact copy of an earlier row")


def _harmonise_events(catalogue, key, ds, frame, reasons, window, boundary, early_coords=None,
                      before_assembly=None):
    """``early_coords``: (future of :func:`to_bng` on the rows as read, rows kept or None) when the
    conversion was started before blank rows were dropped.

    ``before_assembly``, when given, is called once every quarantine reason is final and before the
    accepted rows are built; after it, ``frame`` (the caller's raw frame) loses its columns one by
    one as the accepted rows' columns are built from them, so that a large file's raw text and its
    accepted copy (when some rows are quarantined) are never both whole in memory. The caller must
    have done with ``frame`` by then (its quarantine extract and completeness are taken in
    ``before_assembly``).
    """
    cols = ds.columns
    event_id = _text(frame, cols.get("event_id"))
    # The coordinate conversion and the repeated-id check touch no quarantine state, so two
    # more threads run them while this one parses dates and maps categories (numpy,
    # pandas' hash tables, pyproj and pyarrow release the GIL). Reasons are still marked in order.
    with ThreadPoolExecutor(max_workers=2) as pool:
        c = ds.coordinates
        if early_coords is None:
            coords_job = pool.submit(to_bng, frame[c.x], frame[c.y], c.crs) if c else None
        ids_job = pool.submit(flag_repeated_values, event_id)
        date, month = _mark_dates(frame, ds, reasons, cols["date"], window) if "date" in cols else (
            pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]"),
            pd.Series(np.nan, index=frame.index, dtype="str"))
        category, theme = _categories(frame, ds, catalogue, None)  # marked after the coordinates
        location, area_code = _text(frame, cols.get("location")), _text(frame, cols.get("area_code"))
        extras = _extras(frame, ds, _EVENT_FIELDS)
        # built for every row while the coordinates are still converting; the accepted rows of a
        # column that holds one value throughout are any n of its rows (a zero-copy slice)
        constant = {"dataset": repeated_text(key, len(frame)), "agency": repeated_text(ds.agency, len(frame))}
        if early_coords is not None:
            future, kept = early_coords
            converted = future.result()
            converted = converted if kept is None else tuple(v[kept] for v in converted)
        else:
            converted = coords_job.result() if c else None
        east, north = _coordinates(frame, ds, reasons, boundary, converted)
        _mark_unknown_categories(ds, catalogue, reasons, category, theme)
        id_repeated = ids_job.result()
    _exact_duplicates(frame, reasons, ds, id_repeated if "event_id" in cols else None)
    keep = ~reasons.quarantined
    n_keep = int(keep.sum())
    base = {k: v.iloc[:n_keep].reset_index(drop=True) for k, v in constant.items()}
    del constant
    take = {
        "event_id": event_id,
        "duplicate_id": pd.Series(id_repeated, index=frame.index, copy=False),
        "source_file": frame["source_file"],
        "source_row": frame["source_row"],
        "date": date,
        "month": month,
        "category": category,
        "theme": theme,
        "easting": pd.Series(east, index=frame.index, copy=False),
        "northing": pd.Series(north, index=frame.index, copy=False),
        "location": location,
        "area_code": area_code,
    }
    every = bool(keep.all())
    pick = (lambda v: v.reset_index(drop=True)) if every else (lambda v: v[keep].reset_index(drop=True))  # noqa: E731
    if before_assembly is not None:
        before_assembly()
        # The raw columns are let go now (the mapped ones stay alive only through `take` and
        # `extras` until picked): each accepted column is built, then its source is dropped.
        for col in list(frame.columns):  # in place, column by column (the caller's frame empties)
            del frame[col]
        del event_id, date, month, category, theme, location, area_code
    picked = {}
    for k in list(take):
        picked[k] = pick(take.pop(k))
    out = pd.DataFrame({**base, **picked}, copy=False)  # no block stacking
    del picked
    out["is_repeat"] = False
    if ds.duplicates is not None and n_keep:
        out["is_repeat"] = flag_repeats(out["easting"].to_numpy(), out["northing"].to_numpy(), out["date"],
                                        minutes=ds.duplicates.minutes, metres=ds.duplicates.metres,
                                        category=out["category"] if ds.duplicates.same_category else None)
    for f in list(extras):
        out[f] = pick(extras.pop(f))
    return out[EVENT_COLUMNS + [c for c in out.columns if c not in EVENT_COLUMNS]]


def _harmonise_area_counts(catalogue, key, ds, frame, reasons, window):
    cols = ds.columns
    raw_period = _text(frame, cols["period"])
    reasons.mark(raw_period.isna().to_numpy(), "date missing", f"{cols['period']} is empty")
    kind = ds.period or "month"
    if kind == "quarter":
        parts = raw_period.str.extract(_QUARTER)
        year = pd.to_numeric(parts[0], errors="coerce")
        q = pd.to_numeric(parts[1], errors="coerce")
        start = pd.to_datetime(pd.DataFrame({"year": year, "month": (q - 1) * 3 + 1, "day": 1}), errors="coerce")
        period = (year.astype("Int64").astype("str") + "-Q" + q.astype("Int64").astype("str")).where(start.notna())
        last_month = month_strings(start + pd.DateOffset(months=2))
    elif kind == "window":
        start = pd.Series(pd.Timestamp(window[0] if window else catalogue.partnership.window.start),
                          index=frame.index)
        period = raw_period
        last_month = month_strings(start)
    else:
        start = parse_dates(raw_period, ds.date_format or "%Y-%m")
        period = month_strings(start)
        last_month = period
    start = start.astype("datetime64[ns]")
    reasons.mark((start.isna() & raw_period.notna()).to_numpy(), "unparseable date",
                 (f"{cols['period']} must be a {kind} such as "
                  + ("2024-Q1" if kind == "quarter" else "2024-01") + ", got ", raw_period))
    if window is not None and kind != "window":
        first_month = month_strings(start)
        outside = start.notna() & ((last_month < window[0]) | (first_month > window[1]))
        reasons.mark(outside.to_numpy(), "date outside the window",
                     (f"period must overlap {window[0]}..{window[1]}, got ", period))
    area = _text(frame, cols["area_code"])
    reasons.mark(area.isna().to_numpy(), "area code missing", f"{cols['area_code']} is empty")
    raw_count = _text(frame, cols["count"])
    count = pd.to_numeric(raw_count, errors="coerce")
    bad = count.isna() | (count < 0) | (count != count.round())
    reasons.mark(bad.to_numpy(), "invalid count",
                 (f"{cols['count']} must be a whole number of 0 or more, got ", raw_count))
    category, theme = _categories(frame, ds, catalogue, reasons)
    _exact_duplicates(frame, reasons, ds)
    keep = ~reasons.quarantined
    n = int(keep.sum())
    out = pd.DataFrame({
        "dataset": pd.Series(key, index=range(n), dtype="str"),
        "agency": pd.Series(ds.agency, index=range(n), dtype="str"),
        "geography": pd.Series(ds.geography, index=range(n), dtype="str"),
        "area_code": area[keep].reset_index(drop=True),
        "period": period[keep].reset_index(drop=True).astype("str"),
        "period_start": start[keep].reset_index(drop=True),
        "category": category[keep].reset_index(drop=True),
        "theme": theme[keep].reset_index(drop=True),
        "count": count[keep].reset_index(drop=True).astype("int64"),
        "source_file": frame["source_file"][keep].reset_index(drop=True),
        "source_row": frame["source_row"][keep].reset_index(drop=True),
    })
    return out[AREA_COUNT_COLUMNS]


def _survey_weights(frame: pd.DataFrame, ds: Dataset, reasons: Reasons) -> np.ndarray | None:
    """A survey's answer weights as floats (None unless the catalogue maps ``weight``); rows whose
    weight is empty or not a positive finite number are quarantined as "invalid weight"."""
    if ds.kind != "survey" or "weight" not in ds.columns:
        return None
    raw = _text(frame, ds.columns["weight"])
    weight = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    bad = ~np.isfinite(weight) | (weight <= 0)
    reasons.mark(bad, "invalid weight", (f"{ds.columns['weight']} must be a positive number, got ", raw))
    return weight


def _harmonise_records(key, ds, frame, reasons, boundary):
    """persons, survey, premises and table kinds: mapped fields, dates and coordinates where declared."""
    cols = ds.columns
    date = month = None
    if "date" in cols and ds.date_format:
        date, month = _mark_dates(frame, ds, reasons, cols["date"])
    east, north = _coordinates(frame, ds, reasons, boundary)
    weight = _survey_weights(frame, ds, reasons)
    _exact_duplicates(frame, reasons, ds)
    keep = ~reasons.quarantined
    n = int(keep.sum())
    out = pd.DataFrame({"dataset": pd.Series(key, index=range(n), dtype="str"),
                        "agency": pd.Series(ds.agency, index=range(n), dtype="str"),
                        "source_file": frame["source_file"][keep].reset_index(drop=True),
                        "source_row": frame["source_row"][keep].reset_index(drop=True)})
    skip = {"date"} if date is not None else set()
    for f, values in _extras(frame, ds, skip).items():
        out[f] = values[keep].reset_index(drop=True)
    if ds.kind == "table":
        mapped = set(cols.values())
        for c in frame.columns:
            if c not in mapped and c not in EXTRA_COLUMNS and c not in out.columns:
                out[c] = frame[c][keep].reset_index(drop=True)
    if weight is not None:
        out["weight"] = weight[keep]
    if date is not None:
        out["date"] = date[keep].reset_index(drop=True)
        out["month"] = month[keep].reset_index(drop=True)
    if ds.coordinates:
        out["easting"] = east[keep]
        out["northing"] = north[keep]
    return out


# -- public ----------------------------------------------------------------------------

#: Harmonised fields that identify a person: their source columns are pseudonymised whatever
#: ``identifiers`` says, in every dataset (the first two) or in personal and person-level ones.
PERSON_FIELDS = ("person_id", "date_of_birth", "name", "forename", "surname", "address")


def identifier_columns(ds: Dataset) -> list[str]:
    """The source columns intake pseudonymises: the declared ``identifiers``, the columns mapped
    to ``person_id`` or ``date_of_birth`` in any dataset, and for a ``personal`` or ``persons``
    dataset those mapped to any of :data:`PERSON_FIELDS`."""
    check_type(ds, "ds", Dataset)
    fields = PERSON_FIELDS if ds.sensitivity == "personal" or ds.kind == "persons" else PERSON_FIELDS[:2]
    cols = [c for c in ds.identifiers if c.strip()] + [ds.columns[f] for f in fields if f in ds.columns]
    return list(dict.fromkeys(cols))


def withholds_values(ds: Dataset) -> bool:
    """True when quarantine files of ``ds`` hold the line and reason only, never source values
    (personal and sensitive datasets, and any that declares identifiers)."""
    check_type(ds, "ds", Dataset)
    return ds.sensitivity in ("personal", "sensitive") or ds.kind == "persons" or bool(identifier_columns(ds))


def intake_dataset(catalogue: Catalogue, key: str, *, run_date: dt.date | str | None = None,
                   use: str | None = None, window: tuple[str, str] | bool | None = None,
                   boundary: Any = None) -> DatasetIntake:
    """Take in one catalogue dataset: check sharing, read, harmonise, quarantine and account.

    Parameters
    ----------
    catalogue : Catalogue
        The partnership catalogue (:func:`assessment.catalogue.load_catalogue`).
    key : str
        The dataset's catalogue key.
    run_date : date or 'YYYY-MM-DD', optional
        The date agreements are checked against (today by default).
    use : str, optional
        The intended use (e.g. ``'strategic assessment'``); refused unless permitted.
    window : (start, end) months, False, or None
        Event and area-count rows outside it are quarantined. None uses the catalogue's
        assessment window; False turns the check off.
    boundary : shapely geometry, optional
        The partnership boundary in EPSG:27700, for datasets that set
        ``outside_partnership_buffer``; read from the catalogue's ``partnership``
        geography when needed and not given.

    Returns
    -------
    DatasetIntake
        Harmonised rows, quarantined rows, the quality record, completeness and coverage.
        ``quality['rows_read'] == quality['rows_accepted'] + quality['rows_quarantined']``.

    Raises
    ------
    SharingRefused
        No legal basis, an expired agreement, personal data without an agreement or
        without the pseudonym key, or a use the agreement does not permit.
    IntakeError
        A file cannot be read at all (the message names dataset, file, row and column).
    """
    check_type(catalogue, "catalogue", Catalogue)
    check_type(key, "key", str)
    with remembered_text_edges():  # blank, strip and completeness checks read each column's edges once
        return _intake_dataset(catalogue, key, run_date, use, window, boundary)


def _intake_dataset(catalogue: Catalogue, key: str, run_date, use, window, boundary) -> DatasetIntake:
    ds = catalogue.dataset(key)
    check_sharing(ds, run_date, key)
    if use is not None:
        check_permitted_use(ds, use, key)
    try:
        secret = pseudonym_key(catalogue) if holds_personal_data(ds) or identifier_columns(ds) else None
    except SharingRefused as exc:
        raise SharingRefused(f"dataset {key!r} holds personal data and cannot be pseudonymised: {exc}") from None
    win = _window_months(catalogue, window)
    files = catalogue.dataset_files(key)
    if ds.coordinates is not None:  # PROJ's database is opened while the file is read
        warm = ThreadPoolExecutor(max_workers=1)
        warm.submit(prepare_transform, ds.coordinates.crs)
        warm.shutdown(wait=False)
    raw = read_dataset(catalogue, key)
    empty_cov = pd.DataFrame(columns=COVERAGE_COLUMNS)
    if isinstance(raw, dict):
        rec = quality_record(key, ds.kind, ds.agency, files=len(files), rows_read=1)
        return DatasetIntake(key, ds.kind, ds.agency, raw, pd.DataFrame(columns=QUARANTINE_COLUMNS), rec,
                             pd.DataFrame(columns=COMPLETENESS_COLUMNS), empty_cov)
    c = ds.coordinates
    early_coords = None
    if (ds.kind == "events" and c and {c.x, c.y} <= set(raw.columns)
            and not {c.x, c.y} & set(identifier_columns(ds))):
        # Coordinates convert row by row: start now, while blank rows are found (the rows kept
        # are picked from the result); the thread ends when the conversion does.
        starter = ThreadPoolExecutor(max_workers=1)
        early_coords = starter.submit(to_bng, raw[c.x], raw[c.y], c.crs)
        starter.shutdown(wait=False)
    blank = blank_rows(raw)
    n_blank = int(blank.sum())
    if n_blank:
        raw = raw.loc[~blank].reset_index(drop=True)  # counted as blank, never as malformed or accepted
    if early_coords is not None:
        early_coords = (early_coords, ~blank if n_blank else None)
    identifiers = identifier_columns(ds)
    if identifiers:
        missing = [c for c in identifiers if c not in raw.columns]
        if missing:
            raise IntakeError(f"dataset {key}: identifier column(s) {missing} are not in the file(s); "
                              f"{describe_columns([c for c in raw.columns if c not in EXTRA_COLUMNS], missing)}")
        raw = pseudonymise_columns(raw, identifiers, secret)  # before anything else sees them
    withhold = withholds_values(ds)
    reasons = Reasons(len(raw), withhold=withhold)
    problem = raw["read_problem"]
    if withhold:
        # A malformed row's raw text would carry identifiers that were never pseudonymised:
        # keep the field counts, withhold the text.
        problem = problem.astype("string").str.replace(
            r":\s*(['\"]).*$", ": row text withheld (the dataset holds personal or sensitive data)", regex=True)
    reasons.mark(raw["read_problem"].notna().to_numpy(), "malformed row", problem)
    if ds.outside_partnership_buffer is not None and boundary is None and ds.coordinates:
        boundary = _partnership_geometry(catalogue)
    fields = {f: c for f, c in ds.columns.items()}
    if ds.coordinates:
        fields.update({"x": ds.coordinates.x, "y": ds.coordinates.y})
    n_raw = len(raw)
    taken: dict[str, pd.DataFrame] = {}

    def take_from_raw() -> None:  # what needs the raw rows, taken before the raw frame is let go
        taken["completeness"] = field_completeness(raw, fields, key)
        taken["quarantine"] = _quarantine_frame(key, raw, reasons, ds.header_row, withhold)
        forget_text_edges()  # the memo would keep the raw columns alive

    if ds.kind == "events":
        data = _harmonise_events(catalogue, key, ds, raw, reasons, win, boundary, early_coords,
                                 before_assembly=take_from_raw)
    elif ds.kind == "area_counts":
        data = _harmonise_area_counts(catalogue, key, ds, raw, reasons, win)
    else:
        data = _harmonise_records(key, ds, raw, reasons, boundary)
    if "duplicate_id" in data.columns and "event_id" in data.columns and bool(data["duplicate_id"].any()):
        # The flag was computed over every row read; an id whose twin was quarantined (an exact copy)
        # is no longer shared among accepted rows. Re-check only the flagged rows (cheap).
        flagged = data["duplicate_id"].to_numpy(dtype=bool)
        still = data.loc[flagged, "event_id"].duplicated(keep=False).to_numpy()
        flags = flagged.copy()
        flags[flagged] = still
        data["duplicate_id"] = flags
    if not taken:
        take_from_raw()
    completeness = taken["completeness"]
    geocoded = ds.coordinates is not None and "easting" in data.columns
    not_geo = int(data["easting"].isna().sum()) if geocoded else None
    months = data["month"] if "month" in data.columns else (
        month_strings(data["period_start"]) if "period_start" in data.columns else None)
    # counted once: the first and last month and the coverage come from the counts per month
    month_counts = months.value_counts() if months is not None else None
    rec = quality_record(
        key, ds.kind, ds.agency, files=len(files), rows_read=n_raw + n_blank, rows_blank=n_blank,
        reasons=reasons.reason if reasons.any else None,
        not_geocoded=not_geo, geocodable=len(data) if geocoded else None,
        duplicate_ids=int(data["duplicate_id"].sum()) if "duplicate_id" in data.columns else None,
        repeats=int(data["is_repeat"].sum()) if "is_repeat" in data.columns else None,
        months=None if month_counts is None else pd.Series(month_counts.index, dtype="str"))
    if month_counts is None:
        coverage = empty_cov
    elif win is not None and ds.kind in ("events", "area_counts"):
        coverage = coverage_from_counts(month_counts, key,
                                        [str(p) for p in pd.period_range(win[0], win[1], freq="M")])
    else:
        coverage = coverage_from_counts(month_counts, key)
    return DatasetIntake(key, ds.kind, ds.agency, data, taken["quarantine"], rec, completeness, coverage)


def nothing_accepted(res: DatasetIntake) -> str | None:
    """Why a dataset that was read is unusable because none of its rows was accepted, or None.

    The message names the dataset, the rows read and the quarantine reasons with their
    counts (never a value), e.g. ``dataset fire: none of its 120 rows was accepted
    (unknown category 120); see quality/quarantine/fire.csv``.
    """
    check_type(res, "res", DatasetIntake)
    if res.kind == "document" or int(res.quality.get("rows_accepted", 0) or 0) > 0:
        return None
    read = int(res.quality.get("rows_read", 0) or 0)
    counts = {k[len("quarantined_"):].replace("_", " "): int(v) for k, v in res.quality.items()
              if k.startswith("quarantined_") and v}
    why = ", ".join(f"{r} {n:,}" for r, n in counts.items())
    if read == 0:
        return f"dataset {res.key}: its file(s) hold no data rows, so nothing can be used"
    return (f"dataset {res.key}: none of its {read:,} rows was accepted ({why}), so nothing can be used; "
            f"see quality/quarantine/{res.key}.csv")


def _concat(frames: list[pd.DataFrame], columns: list[str] | None = None) -> pd.DataFrame:
    frames = [f for f in frames if len(f.columns)]
    if not frames:
        return pd.DataFrame(columns=columns or [])
    non_empty = [f for f in frames if len(f)] or frames[:1]
    return pd.concat(non_empty, ignore_index=True)


def intake_catalogue(catalogue: Catalogue, out_dir: str | Path | None = None, *,
                     run_date: dt.date | str | None = None, use: str | None = None,
                     keys: list[str] | None = None, window: tuple[str, str] | bool | None = None,
                     boundary: Any = None, errors: str = "raise") -> IntakeResult:
    """Take in every dataset of a catalogue and (optionally) write the quality files.

    Parameters
    ----------
    catalogue : Catalogue
        The partnership catalogue.
    out_dir : str or Path, optional
        When given, writes ``quality/intake.csv``, ``quality/quarantine/<dataset>.csv``,
        ``quality/completeness.csv``, ``quality/coverage.csv`` and
        ``quality/sharing_register.csv`` there. Identifier columns are pseudonymised
        before anything is written; raw identifiers never reach these files.
    run_date : date or 'YYYY-MM-DD', optional
        The date agreements are checked against (today by default).
    use : str, optional
        The intended use. Datasets whose agreement does not permit it are left out
        (status ``not permitted`` in the quality table), not treated as errors.
    keys : list of str, optional
        Only these datasets (all by default).
    window : (start, end), False or None
        As :func:`intake_dataset`.
    boundary : shapely geometry, optional
        As :func:`intake_dataset`.
    errors : {'raise', 'collect'}
        ``'raise'`` stops at the first refused, unreadable or unusable dataset (one that
        was read but had no row accepted); ``'collect'`` records it in
        ``IntakeResult.errors`` and the quality table and carries on (for
        ``assess validate``).

    Returns
    -------
    IntakeResult
        See :class:`IntakeResult`.
    """
    check_type(catalogue, "catalogue", Catalogue)
    check_choice(errors, "errors", ["raise", "collect"])
    keys = list(catalogue.datasets) if keys is None else keys
    for k in keys:
        catalogue.dataset(k)
    register = sharing_register(catalogue, run_date)
    results: list[DatasetIntake] = []
    records: list[dict] = []
    problems: dict[str, str] = {}
    quarantines: dict[str, pd.DataFrame] = {}
    for k in keys:
        ds = catalogue.datasets[k]
        if use is not None:
            try:
                check_permitted_use(ds, use, k)
            except SharingRefused as exc:
                records.append(quality_record(k, ds.kind, ds.agency, files=0, rows_read=0,
                                              status="not permitted", message=str(exc)))
                continue
        try:
            res = intake_dataset(catalogue, k, run_date=run_date, window=window, boundary=boundary)
        except AssessmentError as exc:
            if errors == "raise":
                raise
            status = "refused" if isinstance(exc, (SharingRefused, CatalogueError)) else "unreadable"
            problems[k] = str(exc)
            try:
                n_files = len(catalogue.dataset_files(k))
            except AssessmentError:
                n_files = 0
            records.append(quality_record(k, ds.kind, ds.agency, files=n_files,
                                          rows_read=0, status=status, message=str(exc)))
            continue
        quarantines[k] = res.quarantine
        empty = nothing_accepted(res)
        if empty:
            if errors == "raise":
                raise IntakeError(empty)
            problems[k] = empty
            records.append({**res.quality, "status": "unusable", "message": empty})
            continue
        results.append(res)
        records.append(res.quality)
    by_kind: dict[str, list] = {}
    for r in results:
        by_kind.setdefault(r.kind, []).append(r)
    frames = lambda kind: [r.data for r in by_kind.get(kind, [])]  # noqa: E731
    result = IntakeResult(
        events=_concat(frames("events"), EVENT_COLUMNS),
        area_counts=_concat(frames("area_counts"), AREA_COUNT_COLUMNS),
        persons=_concat(frames("persons")),
        survey=_concat(frames("survey")),
        premises=_concat(frames("premises")),
        tables={r.key: r.data for r in by_kind.get("table", [])},
        documents={r.key: r.data for r in by_kind.get("document", [])},
        quality=quality_summary(records),
        quarantine=quarantines,
        completeness=_concat([r.completeness for r in results], COMPLETENESS_COLUMNS),
        coverage=_concat([r.coverage for r in results], COVERAGE_COLUMNS),
        sharing=register,
        errors=problems,
    )
    if out_dir is not None:
        write_intake(result, out_dir)
    return result


def write_intake(result: IntakeResult, out_dir: str | Path) -> list[Path]:
    """Write an :class:`IntakeResult`'s quality files under ``out_dir/quality/`` (see
    :func:`assessment.intake.quality.write_quality`) and return the paths written."""
    check_type(result, "result", IntakeResult)
    return write_quality(out_dir, result.quality, result.quarantine, result.completeness, result.coverage,
                         result.sharing)
