"""Data text made safe for where it is going: HTML, maps, charts and spreadsheets.

Every string that comes from data (area, street, premises, dataset and partnership names,
survey answers, strategy text) is hostile until escaped. This module holds the one escaping
rule for each destination, so that every writer shares it:

- HTML (pages, map tooltips, map legends and layer names): :func:`escape_html`, or
  :func:`escape_html_columns` for the text columns of a (Geo)DataFrame whose values become
  GeoJSON properties that Leaflet shows as HTML.
- Spreadsheets: :func:`spreadsheet_safe` neutralises text cells that Excel or LibreOffice would
  read as a formula (the OWASP rule for CSV injection); :func:`write_csv` and
  :func:`write_excel` are the only writers of tables that a partner opens in a spreadsheet.

Matplotlib chart labels are made literal where every chart is rendered
(:func:`assessment.reporting.display.figure_png` turns mathtext parsing off), and folium map
layers are built through :func:`assessment.geography.maps.geojson_layer`, which escapes with
:func:`escape_html_columns`.
"""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .checks import check_dataframe, check_type

# OWASP "CSV Injection": a cell beginning with one of these is read as a formula (or DDE call).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_TRIGGER = r"[=+\-@\t\r]"
# A plain number as text ("-3", "-1,234.5", "+2.5e3", "-4%"): a spreadsheet reads it as a number,
# never as a formula, so it is left alone (negative numbers stay numeric).
_NUMBER = r"[+-]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?%?"
_NUMBER_RE = re.compile(_NUMBER)
_HTML_REPLACEMENTS = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;"))
# Characters an xlsx file cannot hold (XML 1.0 control characters); openpyxl refuses them.
_XLSX_ILLEGAL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"


def escape_html(value: Any) -> str:
    """Escape one value for HTML text or a quoted attribute; None and NaN become ``""``.

    ``<``, ``>``, ``&``, ``"`` and ``'`` become character references, so data text such as
    ``Castle Hill<img src=x onerror=alert(1)>`` shows as text and never becomes markup.
    """
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return html.escape(str(value), quote=True)


def _display_text(series: pd.Series) -> pd.Series:
    """Values as display strings (missing -> ""), vectorised."""
    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(series.dtype):
        return series.fillna("").astype(object)
    missing = series.isna().to_numpy()
    text = series.astype(str).astype(object)
    text[missing] = ""
    return text


def escape_html_columns(frame: pd.DataFrame, columns: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """A copy of ``frame`` with ``columns`` turned into HTML-escaped display strings.

    Used for every GeoJSON property that a map shows (folium tooltips insert properties into
    the page as HTML). Missing values become ``""``; numbers become their ``str`` (format them
    first if they need thousands separators). Other columns, such as styling columns and the
    geometry, are left as they are.
    """
    check_dataframe(frame, "frame", columns)
    out = frame.copy()
    for col in columns:  # a handful of columns; each is escaped as a whole
        text = pd.Series(_display_text(out[col]), index=out.index, dtype="string")
        for raw, ref in _HTML_REPLACEMENTS:  # "&" first, so references are not escaped twice
            text = text.str.replace(raw, ref, regex=False)
        out[col] = text.astype(object)
    return out


_TRIGGER_CHARS = np.array(FORMULA_TRIGGERS)
# Columns up to this length find their first characters through one NumPy text array (a few
# microseconds; the tables of a document); longer ones through pandas' string methods, whose
# fixed cost per call is larger but which never hold a fixed-width copy of every cell.
_SMALL_COLUMN = 5_000


def _formula_like(series: pd.Series) -> np.ndarray:
    """Boolean mask: cells whose text begins with a formula trigger and is not a plain number."""
    if not (pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(series.dtype)):
        return np.zeros(len(series), dtype=bool)  # numbers, booleans and dates are never formulas
    if len(series) <= _SMALL_COLUMN:
        # str() of every cell cut to its first character; a missing cell ("nan", "None", "<NA>")
        # never begins with a trigger, as it never matches below.
        first = np.asarray(series.to_numpy(dtype=object), dtype=str).astype("<U1")
        starts = np.isin(first, _TRIGGER_CHARS)
    else:
        starts = series.astype("string").str.slice(0, 1).isin(FORMULA_TRIGGERS).to_numpy(dtype=bool)
    if not starts.any():
        return starts
    text = series.astype("string")
    number = text.str.fullmatch(_NUMBER).fillna(False).to_numpy(dtype=bool)
    return starts & ~number


def is_formula_like(value: Any) -> bool:
    """True when ``value`` is text that a spreadsheet would read as a formula."""
    return (isinstance(value, str) and value[:1] in FORMULA_TRIGGERS
            and _NUMBER_RE.fullmatch(value) is None)


def _safe_label(label: Any) -> Any:
    return "'" + label if is_formula_like(label) else label


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` in which no text cell or column name can run as a formula.

    A text cell that begins with ``=``, ``+``, ``-``, ``@``, tab or carriage return is prefixed
    with a single quote (``'=HYPERLINK(...)`` shows as text in Excel and LibreOffice). Numbers are
    untouched, including negative numbers and numbers held as text (``"-3"``, ``"-1,234.5"``).

    Notes
    -----
    The rule of the OWASP Foundation, "CSV Injection"
    (https://owasp.org/www-community/attacks/CSV_Injection): no cell may begin with those
    characters; prepend a single quote to those that do and quote every text field.
    """
    check_dataframe(frame, "frame")
    out = frame.copy()
    for i in range(out.shape[1]):  # per column, vectorised within it
        mask = _formula_like(out.iloc[:, i])
        if mask.any():
            values = out.iloc[:, i].astype(object).to_numpy(copy=True)
            values[mask] = np.char.add("'", values[mask].astype(str)).astype(object)
            out.isetitem(i, values)  # by position: a repeated column name stays two columns
    out.columns = [_safe_label(c) for c in out.columns]
    return out


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a table a partner may open in a spreadsheet: formula-safe, text fields quoted.

    Text cells go through :func:`spreadsheet_safe`; every text field is enclosed in double
    quotes (embedded quotes doubled) while numbers stay bare, so a spreadsheet reads numbers as
    numbers and text as text. UTF-8, ``\\n`` line endings, no index.
    """
    check_dataframe(frame, "frame")
    check_type(path, "path", (str, Path))
    target = Path(path)
    spreadsheet_safe(frame).to_csv(target, index=False, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    return target


def _type_as_text(ws: Any, frame: pd.DataFrame) -> None:
    """Cells of ``frame`` (written at A1 with a header row) that look like formulas become plain text."""
    header = np.array([isinstance(c, str) and c[:1] in FORMULA_TRIGGERS for c in frame.columns], dtype=bool)
    body = np.column_stack([_formula_like(frame.iloc[:, j]) for j in range(frame.shape[1])]) \
        if frame.shape[1] else np.zeros((len(frame), 0), dtype=bool)
    cells = [(1, j + 1) for j in np.flatnonzero(header)] + [(r + 2, c + 1) for r, c in np.argwhere(body)]
    for row, column in cells:  # only the formula-looking cells, a handful at most
        cell = ws.cell(row=row, column=column)
        if isinstance(cell.value, str):
            cell.data_type = "s"  # openpyxl made text beginning with "=" a formula: store it as text
            cell.quotePrefix = True  # and keep it text if someone edits the cell


def write_excel(sheets: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """Write one workbook, a sheet per frame, with every text cell stored as text, never a formula.

    Text that begins with ``=`` (which openpyxl would store as a live formula), ``+``, ``-``,
    ``@``, tab or carriage return is stored as a string cell with Excel's quote prefix, so it
    shows exactly as written and stays text when edited. Numbers stay numbers. Control
    characters that an xlsx file cannot hold become U+FFFD.
    """
    check_type(sheets, "sheets", dict)
    check_type(path, "path", (str, Path))
    for name, frame in sheets.items():
        check_dataframe(frame, f"sheets[{name!r}]")
    target = Path(path)
    with pd.ExcelWriter(target, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            clean = frame.copy()
            for i in range(clean.shape[1]):
                col = clean.iloc[:, i]
                if pd.api.types.is_object_dtype(col.dtype) or pd.api.types.is_string_dtype(col.dtype):
                    text = col.astype("string")
                    bad = text.str.contains(_XLSX_ILLEGAL, regex=True).fillna(False).to_numpy(dtype=bool)
                    if bad.any():
                        values = col.astype(object).to_numpy(copy=True)
                        values[bad] = text[bad].str.replace(_XLSX_ILLEGAL, "\ufffd", regex=True).to_numpy(object)
                        clean.isetitem(i, values)
            clean.columns = [re.sub(_XLSX_ILLEGAL, "\ufffd", c) if isinstance(c, str) else c for c in clean.columns]
            clean.to_excel(writer, sheet_name=name, index=False)
            _type_as_text(writer.sheets[name], clean)
    return target
