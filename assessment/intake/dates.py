"""Date parsing for intake: the format is declared per dataset, never guessed.

Supported declarations (the catalogue's ``date_format``):

``'iso'``
    ISO 8601 dates or date-times (``2024-01-31``, ``2024-01-31T08:05``,
    ``2024-01-31T08:05:00+01:00``). Values with a UTC offset are converted to
    UK local time (Europe/London) and made naive, so times of day read as the
    clock did on the street; values without an offset are taken as local time.
``'excel'``
    Excel serial day numbers (1900 date system, origin 1899-12-30), fractions
    giving the time of day.
any strftime format
    For example ``'%d/%m/%Y'``, ``'%d/%m/%Y %H:%M'`` or ``'%Y-%m'``. Parsed with
    :func:`pandas.to_datetime` and that exact format, so ``03/04/2024`` is
    always 3 April, never 4 March.

Parsing is vectorised: the distinct values are parsed once and broadcast back,
which makes month-only police files (a handful of distinct values in millions of
rows) cheap.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from assessment.checks import check_type

_OFFSET = r"(?:[+-]\d{2}:?\d{2}|Z)$"
# Excel serials allowed: 1900-01-01 .. 2261-12-31 (the datetime64[ns] range).
_EXCEL_MIN, _EXCEL_MAX = 1.0, 131_962.0


def is_month_only(date_format: str) -> bool:
    """True when a declared format carries the month but no day (e.g. ``'%Y-%m'``).

    Such datasets get ``date`` = NaT and only ``month`` in the harmonised table.
    """
    check_type(date_format, "date_format", str)
    if date_format in ("iso", "excel"):
        return False
    return "%d" not in date_format and "%j" not in date_format and "%m" in date_format


def _check_format(date_format: str) -> None:
    check_type(date_format, "date_format", str)
    if date_format in ("iso", "excel"):
        return
    if "%" not in date_format:
        raise ValueError(
            f"`date_format` must be 'iso', 'excel' or a strftime format such as '%d/%m/%Y', got {date_format!r}"
        )
    if "%Y" not in date_format and "%y" not in date_format:
        raise ValueError(f"`date_format` must include the year (%Y), got {date_format!r}")


def _parse_iso(values: pd.Series) -> pd.Series:
    text = values.astype("str")
    has_offset = text.str.contains(_OFFSET, regex=True, na=False).to_numpy()
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if (~has_offset).any():
        naive = pd.to_datetime(text[~has_offset], format="ISO8601", errors="coerce")
        out[~has_offset] = naive.astype("datetime64[ns]")
    if has_offset.any():
        aware = pd.to_datetime(text[has_offset], format="ISO8601", errors="coerce", utc=True)
        out[has_offset] = aware.dt.tz_convert("Europe/London").dt.tz_localize(None).astype("datetime64[ns]")
    return out


def _parse_excel(values: pd.Series) -> pd.Series:
    serial = pd.to_numeric(values, errors="coerce").astype("float64")
    serial = serial.where((serial >= _EXCEL_MIN) & (serial <= _EXCEL_MAX))
    days = pd.to_timedelta(serial.round(9) * 86_400_000, unit="ms").dt.round("s")
    return (pd.Timestamp("1899-12-30") + days).astype("datetime64[ns]")


def parse_dates(values: pd.Series, date_format: str) -> pd.Series:
    """Parse a column of source dates with the dataset's declared format.

    Parameters
    ----------
    values : pandas.Series
        Source values as text (numbers for Excel serials). Missing values stay missing.
    date_format : str
        ``'iso'``, ``'excel'`` or a strftime format such as ``'%d/%m/%Y %H:%M'``.

    Returns
    -------
    pandas.Series
        ``datetime64[ns]`` on the same index: NaT where the value is missing or cannot
        be read with the declared format (an impossible date such as 31/02/2024
        included). Callers quarantine NaT rows whose source value was present.

    Notes
    -----
    Only the declared format is tried; a ``dd/mm/yyyy`` dataset never falls back to
    US ``mm/dd/yyyy``. Distinct values are parsed once (``pandas.factorize``).
    """
    check_type(values, "values", pd.Series)
    _check_format(date_format)
    codes, _, arr = parse_date_codes(values, date_format)
    if len(arr) == 0:
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    out = np.where(codes >= 0, arr[np.clip(codes, 0, None)], np.datetime64("NaT", "ns"))
    return pd.Series(out, index=values.index, dtype="datetime64[ns]")


def parse_date_codes(values: pd.Series, date_format: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse each distinct value once: return (codes, distinct values, parsed distinct values).

    ``codes`` (int64, one per row) index the distinct values, -1 where the value is
    missing; ``parsed`` is ``datetime64[ns]`` per distinct value (NaT where it cannot
    be read with the declared format). ``parsed[codes]`` is :func:`parse_dates`'s
    result; callers that only need per-value facts (the month, a window check) can
    work on the few distinct values and broadcast.
    """
    check_type(values, "values", pd.Series)
    _check_format(date_format)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    uniq = pd.Series(uniques)
    if len(uniq) == 0:
        return codes, np.asarray(uniques, dtype=object), np.array([], dtype="datetime64[ns]")
    if date_format == "iso":
        parsed = _parse_iso(uniq.astype("str").str.strip())
    elif date_format == "excel":
        parsed = _parse_excel(uniq)
    else:
        parsed = pd.to_datetime(uniq.astype("str").str.strip(), format=date_format, errors="coerce")
        parsed = parsed.astype("datetime64[ns]")
    return codes, np.asarray(uniques, dtype=object), parsed.to_numpy(dtype="datetime64[ns]")


def text_from_codes(labels, codes: np.ndarray, index: pd.Index | None = None) -> pd.Series:
    """A ``str`` Series holding ``labels[codes]`` (NA where a code is -1), built in Arrow.

    Broadcasting a few distinct labels over millions of rows this way avoids making a
    Python string object per row.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    codes = np.asarray(codes)
    dictionary = pa.array(list(labels), type=pa.large_string())  # pandas str storage
    indices = pa.array(np.clip(codes, 0, None).astype(np.int32), mask=codes < 0)
    taken = pc.take(dictionary, indices) if len(dictionary) else pa.nulls(len(codes), pa.large_string())
    return pd.Series(pd.array(taken, dtype="str"), index=index)


def month_strings(dates: pd.Series) -> pd.Series:
    """``YYYY-MM`` text for each date (NA for NaT), formatted once per distinct month."""
    check_type(dates, "dates", pd.Series)
    months = dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[M]")
    codes, uniques = pd.factorize(months, use_na_sentinel=True)
    labels = np.datetime_as_string(np.asarray(uniques, dtype="datetime64[M]"), unit="M").tolist()
    return text_from_codes(labels, codes, dates.index)
