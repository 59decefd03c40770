"""Readers for data.police.uk downloads, read exactly as downloaded.

A download is a tree of monthly folders, ``YYYY-MM/YYYY-MM-<force>-street.csv``,
``-outcomes.csv`` and ``-stop-and-search.csv``. The readers take the tree's root
folder (or a list of files) and return every row of every month, as text, with the
source file and row number. The quirks of these files are normal and kept:

- ASB rows have no ``Crime ID`` (NA);
- the same ``Crime ID`` can appear more than once, on different rows;
- some rows have no ``Longitude``/``Latitude``;
- LSOAs can lie outside the force.

A month can be missing (for example stop-and-search for a force that did not
submit): :func:`police_coverage` reports which months have which files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from assessment.checks import check_type
from assessment.errors import IntakeError
from assessment.intake.tables import EXTRA_COLUMNS, read_csv_table

STREET_COLUMNS = ("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
                  "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context")
OUTCOMES_COLUMNS = ("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
                    "LSOA code", "LSOA name", "Outcome type")
STOP_SEARCH_COLUMNS = ("Type", "Date", "Part of a policing operation", "Latitude", "Longitude", "Gender",
                       "Age range", "Officer-defined ethnicity", "Legislation", "Object of search", "Outcome")
FILE_KINDS = {"street": STREET_COLUMNS, "outcomes": OUTCOMES_COLUMNS, "stop-and-search": STOP_SEARCH_COLUMNS}
_NAME = re.compile(r"^(\d{4}-(?:0[1-9]|1[0-2]))-(.+)-(street|outcomes|stop-and-search)\.csv$")


def police_files(source: str | Path | Sequence[str | Path], kind: str) -> list[Path]:
    """The data.police.uk files of one kind under a download tree, in month order.

    Parameters
    ----------
    source : path or sequence of paths
        The root of a download (holding ``YYYY-MM`` folders), one monthly folder, or
        an explicit list of files.
    kind : {'street', 'outcomes', 'stop-and-search'}

    Returns
    -------
    list of Path
        Matching files sorted by month then name.
    """
    if kind not in FILE_KINDS:
        raise ValueError(f"`kind` must be one of {list(FILE_KINDS)}, got {kind!r}")
    if isinstance(source, (str, Path)):
        root = Path(source)
        if root.is_file():
            files = [root]
        elif root.is_dir():
            files = list(root.glob(f"*-{kind}.csv")) + list(root.glob(f"*/*-{kind}.csv"))
        else:
            raise IntakeError(f"data.police.uk folder {root} does not exist")
    else:
        files = [Path(p) for p in source]
    files = [f for f in files if f.name.endswith(f"-{kind}.csv")]
    return sorted(set(files), key=lambda f: (f.name[:7], f.name))


def _read(source, kind: str, dataset: str) -> pd.DataFrame:
    columns = FILE_KINDS[kind]
    files = police_files(source, kind)
    if not files:
        raise IntakeError(f"{dataset}: no data.police.uk {kind} files (YYYY-MM-<force>-{kind}.csv) in {source}")
    frames = [read_csv_table(f, required=columns, float_columns=("Longitude", "Latitude"),
                             newlines_in_values=False, dataset=dataset) for f in files]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    ordered = [c for c in frame.columns if c not in EXTRA_COLUMNS]  # the files' own order
    return frame[ordered + list(EXTRA_COLUMNS)]


def read_police_street(source: str | Path | Sequence[str | Path], *, dataset: str = "street") -> pd.DataFrame:
    """Read every street-level crime and ASB file under a data.police.uk download.

    Parameters
    ----------
    source : path or sequence of paths
        Download root (``YYYY-MM`` folders), a monthly folder, or a list of files.
    dataset : str, default 'street'
        Catalogue key for messages.

    Returns
    -------
    pandas.DataFrame
        One row per file row: the street columns ``Crime ID, Month, Reported by,
        Falls within, Longitude, Latitude, Location, LSOA code, LSOA name, Crime type,
        Last outcome category, Context`` (text; ``Longitude``/``Latitude`` float64 when
        wholly numeric; NA where empty), any extra columns a file has, then
        ``source_file``, ``source_row`` and ``read_problem`` (see
        :func:`assessment.intake.tables.read_csv_table`).

    Raises
    ------
    IntakeError
        No matching file, a file without the street columns, or undecodable bytes;
        the message names the dataset, file, row and column.
    """
    check_type(dataset, "dataset", str)
    return _read(source, "street", dataset)


def read_police_outcomes(source: str | Path | Sequence[str | Path], *,
                         dataset: str = "outcomes") -> pd.DataFrame:
    """Read every outcomes file under a data.police.uk download.

    Returns
    -------
    pandas.DataFrame
        ``Crime ID, Month, Reported by, Falls within, Longitude, Latitude, Location,
        LSOA code, LSOA name, Outcome type``, then ``source_file``, ``source_row``,
        ``read_problem``. Otherwise as :func:`read_police_street`.
    """
    check_type(dataset, "dataset", str)
    return _read(source, "outcomes", dataset)


def read_police_stop_search(source: str | Path | Sequence[str | Path], *,
                            dataset: str = "police_stop_search") -> pd.DataFrame:
    """Read every stop-and-search file under a data.police.uk download.

    Returns
    -------
    pandas.DataFrame
        The stop-and-search columns (``Type, Date, Part of a policing operation,
        Policing operation, Latitude, Longitude, Gender, Age range, Self-defined
        ethnicity, Officer-defined ethnicity, Legislation, Object of search, Outcome,
        Outcome linked to object of search, Removal of more than just outer clothing``,
        as the files have them; ``Date`` is ISO 8601 with a UTC offset), then
        ``source_file``, ``source_row``, ``read_problem``. Months without a file are
        simply absent: see :func:`police_coverage`.
    """
    check_type(dataset, "dataset", str)
    return _read(source, "stop-and-search", dataset)


def police_coverage(source: str | Path | Sequence[str | Path]) -> pd.DataFrame:
    """Which months of a download have which files, and how many rows each holds.

    Parameters
    ----------
    source : path or sequence of paths
        Download root, a monthly folder, or a list of files.

    Returns
    -------
    pandas.DataFrame
        One row per (month, kind) over every month from the first to the last file
        found: ``month`` (``YYYY-MM``), ``kind`` (``street``, ``outcomes``,
        ``stop-and-search``), ``force`` (slug from the file name, NA when absent),
        ``present`` (bool), ``rows`` (data rows in the file, 0 when absent).
        A gap (e.g. no stop-and-search for 2017-04) shows as ``present == False``.
    """
    records = []
    for kind in FILE_KINDS:
        for f in police_files(source, kind):
            m = _NAME.match(f.name)
            if not m:
                continue
            with open(f, "rb") as fh:
                lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
                fh.seek(-1, 2) if f.stat().st_size else None
                last = fh.read(1) if f.stat().st_size else b"\n"
            rows = max(lines + (0 if last == b"\n" else 1) - 1, 0)
            records.append({"month": m.group(1), "kind": kind, "force": m.group(2), "present": True, "rows": rows})
    found = pd.DataFrame(records, columns=["month", "kind", "force", "present", "rows"])
    if found.empty:
        return found
    months = [str(p) for p in pd.period_range(found["month"].min(), found["month"].max(), freq="M")]
    grid = pd.MultiIndex.from_product([months, list(FILE_KINDS)], names=["month", "kind"]).to_frame(index=False)
    out = grid.merge(found, on=["month", "kind"], how="left")
    out["present"] = out["present"].fillna(False).astype(bool)
    out["rows"] = out["rows"].fillna(0).astype("int64")
    out["force"] = out["force"].astype("str")
    return out
