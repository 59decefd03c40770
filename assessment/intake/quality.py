"""Row-by-row quality accounting for intake.

Every row read ends up accepted, quarantined with exactly one reason (the first that
applies, in the order of :data:`REASONS`), or blank (a padding row with nothing in it), so
that for every dataset ``rows_read == rows_accepted + rows_quarantined + rows_blank``.

What is quarantined and what is only flagged
--------------------------------------------
Quarantined (the row is unusable or would be counted twice):

- ``malformed row``: the line could not be split into the header's fields;
- ``date missing`` / ``unparseable date``: no date, or not in the declared format
  (impossible dates such as 31/02/2024 included);
- ``date outside the window``: event and area-count rows outside the assessment
  window (person-level histories are kept whatever their date);
- ``coordinates invalid``: present but unusable: not numbers, (0, 0), out of range
  for the CRS, or off the British grid (e.g. longitude and latitude swapped);
- ``coordinates not finite``: written as ``nan`` or ``inf`` (a broken export, not a
  row without a location);
- ``coordinates missing``: only for datasets whose catalogue entry sets
  ``require_coordinates: true``, or ``covers: force`` (the files cover a force area
  shared with other partnerships, so a row without a location cannot be placed in
  this one);
- ``coordinates outside the partnership``: only for datasets whose catalogue entry
  sets ``outside_partnership_buffer`` (metres), farther than that outside the
  partnership boundary;
- ``unknown category``: a category (or an empty one) that the dataset's category map
  does not list;
- ``area code missing`` and ``invalid count``: aggregated rows that cannot be placed
  or counted;
- ``duplicate``: a later exact copy of a whole source row.

Flagged and kept:

- not geocoded: point events without coordinates in files covering only the
  partnership's area (``covers: partnership``, the default; normal in data.police.uk: a
  row with no location is still a crime for monthly counts); reported as
  ``not_geocoded`` and ``share_geocoded``;
- ``duplicate_id``: an event id shared by several accepted rows (data.police.uk
  repeats a Crime ID on legitimately different rows);
- ``is_repeat``: a later report of the same incident, within the dataset's
  ``duplicates`` window (minutes, metres, optionally the same category).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from assessment.checks import check_dataframe, check_positive, check_type
from assessment.escaping import write_csv
from assessment.intake.tables import text_edges

REASONS = (
    "malformed row",
    "date missing",
    "unparseable date",
    "date outside the window",
    "coordinates invalid",
    "coordinates not finite",
    "coordinates missing",
    "coordinates outside the partnership",
    "unknown category",
    "area code missing",
    "invalid count",
    "invalid weight",
    "duplicate",
)
QUARANTINE_COLUMNS = ["dataset", "source_file", "source_row", "reason", "detail"]
SUMMARY_COLUMNS = (
    ["dataset", "kind", "agency", "status", "files", "rows_read", "rows_accepted", "rows_quarantined", "rows_blank"]
    + [f"quarantined_{r.replace(' ', '_')}" for r in REASONS]
    + ["not_geocoded", "share_geocoded", "duplicate_ids", "repeats", "first_month", "last_month", "message"]
)
COMPLETENESS_COLUMNS = ["dataset", "field", "source_column", "rows", "filled", "share_filled"]
COVERAGE_COLUMNS = ["dataset", "month", "rows"]


class Reasons:
    """Assign at most one quarantine reason per row, first come first kept (vectorised).

    With ``withhold=True`` (personal and sensitive datasets) a ``(prefix, values)`` detail
    keeps only its prefix, so no source value reaches the detail text.
    """

    def __init__(self, n: int, withhold: bool = False) -> None:
        self._n = n
        self._withhold = withhold
        self._reason: np.ndarray | None = None  # object arrays made on first use only
        self._detail: np.ndarray | None = None
        self._marked = np.zeros(n, dtype=bool)

    @property
    def reason(self) -> np.ndarray:
        """Each row's reason (object array, None when accepted)."""
        if self._reason is None:
            self._reason = np.full(self._n, None, dtype=object)
        return self._reason

    @property
    def detail(self) -> np.ndarray:
        """Each row's detail text (object array, None when accepted)."""
        if self._detail is None:
            self._detail = np.full(self._n, None, dtype=object)
        return self._detail

    @property
    def any(self) -> bool:
        """True when at least one row has a reason."""
        return bool(self._marked.any())

    def mark(self, mask: np.ndarray | pd.Series, reason: str,
             detail: tuple | np.ndarray | pd.Series | str | None = None) -> None:
        """Give ``reason`` (and ``detail``) to rows in ``mask`` that have no reason yet.

        ``detail`` is one text for all, one value per row, or ``(prefix, values)`` where
        the text ``prefix + value`` is built only for the rows newly marked.
        """
        if reason not in REASONS:
            raise ValueError(f"`reason` must be one of {list(REASONS)}, got {reason!r}")
        mask = np.asarray(mask, dtype=bool)
        new = mask & ~self._marked
        if not new.any():
            return
        self._marked |= new
        self.reason[new] = reason
        if isinstance(detail, tuple) and self._withhold:
            self.detail[new] = detail[0].rstrip().removesuffix(", got").removesuffix(" got") + " (value withheld)"
        elif isinstance(detail, tuple):  # (prefix, values): text built only for the rows marked
            prefix, values = detail
            picked = pd.Series(np.asarray(values, dtype=object)[new]).astype("str").fillna("(empty)")
            self.detail[new] = (prefix + picked).to_numpy(dtype=object)
        elif isinstance(detail, (pd.Series, np.ndarray)):
            picked = pd.Series(np.asarray(detail, dtype=object)[new]).astype("str").fillna("(empty)")
            self.detail[new] = picked.to_numpy(dtype=object)
        else:
            self.detail[new] = detail

    @property
    def quarantined(self) -> np.ndarray:
        return self._marked.copy()


def flag_repeated_values(values: pd.Series) -> np.ndarray:
    """True where a value occurs more than once in ``values`` (NA never counts).

    Text of one byte length throughout (e.g. data.police.uk's 64-character Crime IDs)
    is hashed straight from the Arrow buffer, vectorised (:func:`_fixed_width_hash`);
    rows whose hash repeats are then compared exactly, so a hash collision never flags
    a row. Other values go through ``Series.duplicated(keep=False)``.
    """
    check_type(values, "values", pd.Series)
    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    if values.dtype != "str":
        values = values.astype("str")
    present = ~values.isna().to_numpy()
    rows = np.flatnonzero(present)
    hashed = _column_hashes(values, present, edges_only=True)
    if hashed is None:
        return present & values.duplicated(keep=False).to_numpy()
    candidates = rows[pd.Series(hashed).duplicated(keep=False).to_numpy()]
    if len(candidates) > max(1000, len(rows) // 100):
        # many rows share their first and last 8 bytes (identifiers that differ only in the middle):
        # hash every byte of those rows (equal values have equal hashes either way)
        sub = values.iloc[candidates]
        full = _column_hashes(sub, np.ones(len(sub), dtype=bool), edges_only=False)
        if full is not None:
            candidates = candidates[pd.Series(full).duplicated(keep=False).to_numpy()]
    out = np.zeros(len(values), dtype=bool)
    if len(candidates):  # exact comparison among the rows whose hash repeats
        out[candidates] = values.iloc[candidates].duplicated(keep=False).to_numpy()
    return out


def _column_hashes(values: pd.Series, present: np.ndarray, edges_only: bool) -> np.ndarray | None:
    """:func:`_fixed_width_hash` of a ``str`` Series chunk by chunk (no copy of the whole column),
    one hash per present row; None when the values are not all of one byte length."""
    import pyarrow as pa

    arr = pa.array(values.array)
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    hashed, start = [], 0
    for chunk in chunks:
        h = _fixed_width_hash(chunk, present[start:start + len(chunk)], edges_only=edges_only)
        if h is None:
            return None
        hashed.append(h)
        start += len(chunk)
    widths = {w for w, _ in hashed if w is not None}
    if len(widths) > 1:
        return None
    return np.concatenate([h for _, h in hashed]) if hashed else np.zeros(0, dtype=np.uint64)


_HASH_STEP = 1 << 16  # rows per block: keeps the temporaries small and in cache


def _fixed_width_hash(arr, present: np.ndarray, edges_only: bool = False) -> tuple[int | None, np.ndarray] | None:
    """(width, 64-bit hashes) of the non-null values of an Arrow string array, or None.

    Works only when every non-null value has the same byte length and nulls take no
    bytes, so that the values lie back to back in the data buffer as an (m, width)
    byte matrix; returns None otherwise. Each 8-byte word is multiplied by a
    position constant and mixed (the splitmix64 finaliser's shift-multiply), and the
    words are summed. Equal values always get equal hashes; callers compare the rows
    whose hashes repeat exactly. With ``edges_only`` only the first and the last word are hashed
    (a quarter of the work for 64-character identifiers): enough to tell apart identifiers that
    differ at their start or end, as random and numbered ones do.
    """
    import pyarrow as pa

    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None
    _, off_buf, data_buf = arr.buffers()
    if off_buf is None or data_buf is None:
        return None
    off_type = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(off_buf, dtype=off_type)[arr.offset: arr.offset + len(arr) + 1].astype(np.int64)
    lengths = np.diff(offsets)
    m = int(present.sum())
    if m == 0:
        return None, np.zeros(0, dtype=np.uint64)
    width = int(lengths[present][0])
    if width == 0 or (lengths[present] != width).any() or (lengths[~present] != 0).any():
        return None
    matrix = np.frombuffer(data_buf, dtype=np.uint8)[offsets[0]: offsets[-1]].reshape(m, width)
    words = (width + 7) // 8
    pick = [0, words - 1] if edges_only and words > 2 else None
    mult = (np.arange(1, words + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) | np.uint64(1)
    if pick is not None:
        mult = mult[pick]
    out = np.empty(m, dtype=np.uint64)
    for s0 in range(0, m, _HASH_STEP):
        block = matrix[s0:s0 + _HASH_STEP]
        if width % 8:
            padded = np.zeros((len(block), words * 8), dtype=np.uint8)
            padded[:, :width] = block
            block = padded
        x = np.ascontiguousarray(block).view(np.uint64)
        x = (x[:, pick] if pick is not None else x) * mult
        x ^= x >> np.uint64(31)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(29)
        out[s0:s0 + _HASH_STEP] = x.sum(axis=1)
    return width, out


def flag_exact_duplicates(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """True for each row that repeats an earlier row in every one of ``columns``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The rows as read.
    columns : list of str
        The source columns to compare (the whole source row, not file or row number).

    Returns
    -------
    numpy.ndarray of bool
        The second and later copies are True; first occurrences are False.
    """
    check_dataframe(frame, "frame", columns)
    if len(frame) == 0 or not columns:
        return np.zeros(len(frame), dtype=bool)
    return frame.duplicated(subset=columns, keep="first").to_numpy()


def flag_repeats(easting: np.ndarray, northing: np.ndarray, dates: pd.Series, *, minutes: float, metres: float,
                 category: pd.Series | None = None) -> np.ndarray:
    """Flag repeat reports of one incident: close in time and in space.

    Parameters
    ----------
    easting, northing : ndarray
        EPSG:27700 metres (NaN rows are never repeats).
    dates : pandas.Series
        datetime64 of each report (NaT rows are never repeats).
    minutes, metres : float
        The window: a report is a repeat when an earlier report lies within
        ``minutes`` and within ``metres`` (straight-line distance).
    category : pandas.Series, optional
        When given, only reports of the same category count.

    Returns
    -------
    numpy.ndarray of bool
        True for every report that has an earlier report within the window (the first
        report of a chain is kept unflagged; ties in time go by row order).

    Notes
    -----
    Candidate pairs come from a k-d tree (:class:`scipy.spatial.cKDTree`,
    ``query_pairs`` with the Chebyshev metric) on (x / metres, y / metres,
    t / minutes), with categories placed far apart on a fourth axis; pairs are
    then kept when their Euclidean distance is within ``metres``. This is the
    time-space window of near-repeat analysis (Townsley, Homel and Chaseling 2003,
    British Journal of Criminology 43(3), 615-633), used here to find duplicates.
    """
    check_positive(minutes, "minutes")
    check_positive(metres, "metres")
    check_type(dates, "dates", pd.Series)
    e = np.asarray(easting, dtype="float64")
    n = np.asarray(northing, dtype="float64")
    t_ns = dates.to_numpy(dtype="datetime64[ns]")
    ok = np.isfinite(e) & np.isfinite(n) & ~np.isnat(t_ns)
    out = np.zeros(len(e), dtype=bool)
    idx = np.flatnonzero(ok)
    if len(idx) < 2:
        return out
    t_min = (t_ns[idx] - t_ns[idx].min()).astype("timedelta64[s]").astype("float64") / 60.0
    cols = [e[idx] / metres, n[idx] / metres, t_min / minutes]
    if category is not None:
        codes, _ = pd.factorize(pd.Series(category).iloc[idx] if len(category) == len(e) else category)
        cols.append(codes.astype("float64") * 4.0)
    pts = np.column_stack(cols)
    from scipy.spatial import cKDTree  # imported here: scipy is slow to import and only needed for this

    pairs = cKDTree(pts).query_pairs(r=1.0, p=np.inf, output_type="ndarray")
    if len(pairs) == 0:
        return out
    i, j = pairs[:, 0], pairs[:, 1]
    close = np.hypot(e[idx][i] - e[idx][j], n[idx][i] - n[idx][j]) <= metres
    i, j = i[close], j[close]
    later = np.where((t_min[i] > t_min[j]) | ((t_min[i] == t_min[j]) & (i > j)), i, j)
    out[idx[later]] = True
    return out


def field_completeness(frame: pd.DataFrame, fields: dict[str, str], dataset: str) -> pd.DataFrame:
    """Share of rows with a value in each mapped field.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows as read (before harmonisation).
    fields : dict
        Harmonised field -> source column (the catalogue's ``columns`` plus coordinates).
    dataset : str
        Catalogue key.

    Returns
    -------
    pandas.DataFrame
        ``dataset, field, source_column, rows, filled, share_filled`` (share in [0, 1],
        NaN when there are no rows). Blank text counts as empty.
    """
    check_dataframe(frame, "frame", list(fields.values()))
    rows = []
    for field, col in fields.items():
        values = frame[col]
        if values.dtype == "str":
            import pyarrow as pa

            arr = pa.array(values.array)
            k = len(arr) - arr.null_count  # Arrow keeps the count: no pass over the values
        else:
            k = int(values.notna().sum())
        if k and values.dtype == "str":  # text that is only spaces counts as empty
            spaced = text_edges(values)[0] == 32  # blank text starts with a space
            if spaced.any():
                k -= int(values[spaced].str.strip().eq("").sum())
        rows.append({"dataset": dataset, "field": field, "source_column": col, "rows": len(frame),
                     "filled": k, "share_filled": k / len(frame) if len(frame) else np.nan})
    return pd.DataFrame(rows, columns=COMPLETENESS_COLUMNS)


def quality_record(dataset: str, kind: str, agency: str, *, files: int, rows_read: int,
                   reasons: np.ndarray | None = None, rows_blank: int = 0, not_geocoded: int | None = None,
                   geocodable: int | None = None, duplicate_ids: int | None = None,
                   repeats: int | None = None, months: pd.Series | None = None,
                   status: str = "ok", message: str | None = None) -> dict:
    """One row of ``quality/intake.csv`` for a dataset (see :data:`SUMMARY_COLUMNS`).

    ``reasons`` holds each non-blank row's quarantine reason (None when accepted); its
    length must equal ``rows_read - rows_blank``. ``share_geocoded`` is the share of accepted rows with
    coordinates among those ``geocodable`` (NaN when the dataset has no coordinates).
    """
    if reasons is None:  # nothing quarantined
        n_quarantined, counts = 0, pd.Series(dtype="int64")
    else:
        reasons = np.asarray(reasons, dtype=object)
        if len(reasons) != rows_read - rows_blank:
            raise ValueError(f"`reasons` must have one entry per non-blank row read ({rows_read - rows_blank}), "
                             f"got {len(reasons)}")
        quarantined = ~pd.isna(reasons)
        n_quarantined = int(quarantined.sum())
        counts = pd.Series(reasons[quarantined]).value_counts()
    rec = {"dataset": dataset, "kind": kind, "agency": agency, "status": status, "files": files,
           "rows_read": rows_read, "rows_accepted": rows_read - rows_blank - n_quarantined,
           "rows_quarantined": n_quarantined, "rows_blank": int(rows_blank)}
    for r in REASONS:
        rec[f"quarantined_{r.replace(' ', '_')}"] = int(counts.get(r, 0))
    rec["not_geocoded"] = not_geocoded
    rec["share_geocoded"] = (
        (geocodable - not_geocoded) / geocodable if geocodable and not_geocoded is not None else np.nan
    )
    rec["duplicate_ids"] = duplicate_ids
    rec["repeats"] = repeats
    m = months.dropna() if months is not None else pd.Series([], dtype="str")
    rec["first_month"] = m.min() if len(m) else None
    rec["last_month"] = m.max() if len(m) else None
    rec["message"] = message
    return rec


def quality_summary(records: list[dict]) -> pd.DataFrame:
    """The per-dataset quality table (``quality/intake.csv``) from :func:`quality_record` rows."""
    check_type(records, "records", list)
    frame = pd.DataFrame(records, columns=SUMMARY_COLUMNS)
    for c in ("files", "rows_read", "rows_accepted", "rows_quarantined", "rows_blank",
              *[c for c in SUMMARY_COLUMNS if c.startswith("quarantined_")]):
        frame[c] = frame[c].fillna(0).astype("int64")
    for c in ("not_geocoded", "duplicate_ids", "repeats"):
        frame[c] = frame[c].astype("Int64")
    frame["share_geocoded"] = frame["share_geocoded"].astype("float64")
    return frame


def coverage_by_month(frame: pd.DataFrame, dataset: str, months: list[str] | None = None) -> pd.DataFrame:
    """Accepted rows per month, with zero for months that have none (a visible gap).

    Parameters
    ----------
    frame : pandas.DataFrame
        Harmonised rows with a ``month`` column (``YYYY-MM``).
    dataset : str
        Catalogue key.
    months : list of str, optional
        The months to report (e.g. the assessment window); by default every month
        from the first to the last in the data.

    Returns
    -------
    pandas.DataFrame
        ``dataset, month, rows``.
    """
    check_dataframe(frame, "frame", ["month"])
    return coverage_from_counts(frame["month"].value_counts(), dataset, months)


def coverage_from_counts(counts: pd.Series, dataset: str, months: list[str] | None = None) -> pd.DataFrame:
    """:func:`coverage_by_month` from rows already counted per month.

    Parameters
    ----------
    counts : pandas.Series
        Accepted rows (int) indexed by month (``YYYY-MM``), e.g. ``frame["month"].value_counts()``;
        months that are absent count as zero.
    dataset : str
        Catalogue key.
    months : list of str, optional
        The months to report; by default every month from the first to the last in ``counts``.

    Returns
    -------
    pandas.DataFrame
        ``dataset, month, rows``.
    """
    check_type(counts, "counts", pd.Series)
    check_type(dataset, "dataset", str)
    counts = counts[counts.index.notna()]
    if months is None:
        present = counts.index.dropna()
        if len(present) == 0:
            return pd.DataFrame(columns=COVERAGE_COLUMNS)
        months = [str(p) for p in pd.period_range(min(present), max(present), freq="M")]
    rows = counts.reindex(months, fill_value=0).astype("int64").to_numpy()
    return pd.DataFrame({"dataset": dataset, "month": months, "rows": rows}, columns=COVERAGE_COLUMNS)


def write_quality(out_dir: str | Path, summary: pd.DataFrame, quarantine: dict[str, pd.DataFrame],
                  completeness: pd.DataFrame | None = None, coverage: pd.DataFrame | None = None,
                  register: pd.DataFrame | None = None) -> list[Path]:
    """Write the quality files under ``out_dir/quality/``.

    Writes ``intake.csv`` (the summary), ``quarantine/<dataset>.csv`` (every quarantined
    row with its reason, source file and row; one file per dataset, header only when
    nothing was quarantined), and when given ``completeness.csv``, ``coverage.csv``
    and ``sharing_register.csv``.

    Returns
    -------
    list of Path
        The files written.
    """
    check_type(out_dir, "out_dir", (str, Path))
    check_dataframe(summary, "summary", ["dataset", "rows_read", "rows_accepted", "rows_quarantined"])
    qdir = Path(out_dir) / "quality"
    (qdir / "quarantine").mkdir(parents=True, exist_ok=True)
    written = []
    target = qdir / "intake.csv"
    write_csv(summary, target)
    written.append(target)
    for key, frame in quarantine.items():
        target = qdir / "quarantine" / f"{key}.csv"
        write_csv(frame, target)
        written.append(target)
    for name, frame in (("completeness", completeness), ("coverage", coverage), ("sharing_register", register)):
        if frame is not None:
            target = qdir / f"{name}.csv"
            write_csv(frame, target)
            written.append(target)
    return written
