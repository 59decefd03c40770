"""Generic table readers: delimited text (any delimiter and encoding) and Excel.

Every reader returns the file's rows as text, one row per data row, with three
columns added at the end:

``source_file``
    the file's name (not its path, so no folder names leak into outputs);
``source_row``
    1-based data-row number, header excluded (in Excel, the sheet row is
    ``source_row + header_row``); blank lines are not rows;
``read_problem``
    NA for a row that was read, otherwise why it could not be split into the
    header's fields (e.g. ``"expected 12 fields, got 11: '...'"``). Such rows
    keep their place and number, with every field NA, so that intake can
    quarantine them and rows read always equals accepted plus quarantined.

Whole-file failures (missing file, empty file, undecodable bytes, duplicate or
missing columns) raise :class:`~assessment.errors.IntakeError` naming the
dataset, the file, the row and, where known, the column.

Encoding: the declared encoding is used. When a file declared UTF-8 (the
default) is not valid UTF-8 but is valid Windows-1252, it is read as
Windows-1252 with a warning, since that is what spreadsheet exports on Windows
produce.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import re
import mmap
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from assessment.checks import check_type
from assessment.errors import IntakeError

EXTRA_COLUMNS = ("source_file", "source_row", "read_problem")
#: Fields read as missing: Arrow's defaults less its spellings of NaN, so that a written
#: ``nan`` stays visible (a broken coordinate export, not an empty field).
NULL_VALUES = ["", "#N/A", "#N/A N/A", "#NA", "N/A", "NA", "NULL", "n/a", "null"]
_BOM = codecs.BOM_UTF8
# What a column name looks like: a letter first, then word characters, spaces and a little punctuation.
_NAME_SHAPE = re.compile(r"^[^\W\d_][\w .()\-/%#&'?+:£€$]{0,59}$")


def _label(dataset: str | None, path: Path) -> str:
    return f"{dataset + ' ' if dataset else ''}file {path.name}"


def _normal_encoding(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise ValueError(f"`encoding` must be a codec Python knows (e.g. 'utf-8', 'cp1252'), got {encoding!r}") from None


def _locate_decode_error(raw: bytes, encoding: str, delimiter: str) -> tuple[int, int, int, int] | None:
    """Return (line, column, byte, offset) of the first byte that ``encoding`` cannot decode."""
    try:
        raw.decode(encoding)
    except UnicodeDecodeError as exc:
        start = exc.start
        line = raw.count(b"\n", 0, start) + 1
        line_start = raw.rfind(b"\n", 0, start) + 1
        column = raw.count(delimiter.encode("ascii", "ignore") or b",", line_start, start) + 1
        return line, column, raw[start], start
    return None


def _bom_as(path: Path, encoding: str) -> str:
    """The text a UTF-8 byte-order mark at the start of ``path`` decodes to in ``encoding``
    ('' when the file has none, or when the encoding is UTF-8, which drops it)."""
    with open(path, "rb") as fh:
        if fh.read(len(_BOM)) != _BOM or encoding in ("utf-8", "utf-8-sig"):
            return ""
    return _BOM.decode(encoding, errors="replace")


def _header(path: Path, encoding: str, delimiter: str, header_row: int, label: str) -> list[str]:
    bom = _bom_as(path, encoding) if header_row == 1 else ""
    encoding = "utf-8-sig" if encoding == "utf-8" else encoding
    with open(path, "r", encoding=encoding, errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        for i, row in enumerate(reader, start=1):
            if i == header_row:
                if row and bom and row[0].startswith(bom):  # a BOM read as Windows-1252 is not a name
                    row[0] = row[0][len(bom):]
                if not row or all(not c.strip() for c in row):
                    raise IntakeError(f"{label}: header row {header_row} is blank; expected column names")
                return [c.strip() for c in row]
    if header_row == 1:
        raise IntakeError(f"{label}: file is empty; expected a header row of column names")
    raise IntakeError(f"{label}: file has fewer than {header_row} rows, so it has no header row {header_row}")


def describe_columns(columns: list[str], expected: list[str] | tuple[str, ...] = ()) -> str:
    """Say what a header row holds without ever echoing a line of data.

    The names are shown only when the row is plausibly a header: at least one expected
    column is there, and every name is shaped like a column name (a letter first, at most
    60 characters, no ``@``, ``,``, ``;``, quotes or control characters). Otherwise only the number of fields is
    given, with any names that closely match an expected column (``difflib``, ratio 0.8),
    since a misplaced header row, a headerless file or a file that is not the dataset at
    all would put data (names, identifiers, a password line) where the names should be.
    """
    names = [str(c) for c in columns]
    if any(c in names for c in expected) and all(_NAME_SHAPE.match(c) for c in names):
        shown = names if len(names) <= 40 else names[:40] + [f"... {len(names) - 40} more"]
        return f"got columns {shown}"
    close = sorted({m for e in expected for m in difflib.get_close_matches(e, names, n=2, cutoff=0.8)
                    if _NAME_SHAPE.match(m)})
    return (f"got a row of {len(names)} field(s) that does not look like this dataset's header, so it is not "
            "shown (it may be data: check header_row and that the file is the right one)"
            + (f"; close to the expected names: {close}" if close else ""))


def _check_columns(columns: list[str], required: list[str] | tuple[str, ...], label: str, header_row: int) -> None:
    seen: set[str] = set()
    dupes = [c for c in columns if c in seen or seen.add(c)]
    if dupes:
        shown = dupes if all(_NAME_SHAPE.match(c) for c in dupes) else f"{len(dupes)} name(s)"
        raise IntakeError(f"{label} row {header_row} (header): column names must be unique, got {shown} repeated")
    missing = [c for c in required if c not in columns]
    if missing:
        raise IntakeError(
            f"{label} row {header_row} (header): column(s) {missing} must be present, "
            f"{describe_columns(columns, required)}"
        )


def _parse_problem(exc: Exception) -> str:
    """Arrow's parse error without the text of the row it quotes."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    counted = re.search(r"Expected \d+ columns, got \d+", text)
    if counted:
        return counted.group(0) + " (row text not shown)"
    parts = re.split(r":\s+", text)  # "CSV parse error: <what>: <the text>": the text is left out
    return ": ".join(p for p in parts[:2] if not p.startswith(("'", '"')))[:200]


def _finish(frame: pd.DataFrame, path: Path, bad: list[tuple[int, str]], header_row: int) -> pd.DataFrame:
    """Append source_file/source_row/read_problem, slotting unreadable rows back in place."""
    n_good = len(frame)
    if bad:
        bad_rows = np.array([max(number - header_row, 1) for number, _ in bad], dtype=np.int64)
        total = n_good + len(bad)
        # physical line numbers drift from data-row numbers after blank lines or quoted line
        # breaks: keep the rows strictly increasing and inside 1..total
        steps = np.arange(len(bad_rows))
        bad_rows = np.maximum.accumulate(bad_rows - steps) + steps
        if bad_rows[-1] > total:
            bad_rows = np.minimum(bad_rows, total - len(bad_rows) + 1 + steps)
        all_rows = np.arange(1, total + 1)
        good_rows = np.setdiff1d(all_rows, bad_rows, assume_unique=False)[:n_good]
        filler = pd.DataFrame({c: pd.Series(np.nan, index=range(len(bad)), dtype=frame[c].dtype)
                               for c in frame.columns})
        frame = pd.concat([frame, filler], ignore_index=True)
        rows = np.concatenate([good_rows, bad_rows])
        problem = pd.Series(np.concatenate([np.full(n_good, None, dtype=object),
                                            np.array([p for _, p in bad], dtype=object)]), dtype="str")
        order = np.argsort(rows, kind="stable")
        frame = frame.iloc[order].reset_index(drop=True)
        rows = rows[order]
        problem = problem.iloc[order].reset_index(drop=True)
    else:
        rows = np.arange(1, n_good + 1, dtype=np.int64)
    frame["source_file"] = repeated_text(path.name, len(frame), frame.index)
    frame["source_row"] = rows.astype(np.int64, copy=False)
    frame["read_problem"] = pd.Series(problem.to_numpy(dtype=object), index=frame.index, dtype="str") \
        if bad else pd.Series(pd.array(pa.nulls(len(frame), pa.large_string()), dtype="str"), index=frame.index)
    return frame


def repeated_text(value: str, n: int, index: pd.Index | None = None) -> pd.Series:
    """A ``str`` Series holding ``value`` ``n`` times, built as one Arrow buffer.

    Much cheaper than ``pd.Series(value, index=..., dtype="str")`` on millions of rows,
    which makes a Python-level ``take`` over the repeated scalar.
    """
    raw = value.encode("utf-8")
    offsets = np.arange(n + 1, dtype=np.int64) * len(raw)
    arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(raw * n))
    return pd.Series(pd.array(arr, dtype="str"), index=index)


_EDGES_MEMO: ContextVar[dict | None] = ContextVar("text_edges_memo", default=None)


@contextmanager
def remembered_text_edges():
    """Within this block :func:`text_edges` computes each column's edges once: intake asks
    for the same columns' edges in several checks (blank rows, stripping, completeness)."""
    token = _EDGES_MEMO.set({})
    try:
        yield
    finally:
        _EDGES_MEMO.reset(token)


def forget_text_edges() -> None:
    """Within a :func:`remembered_text_edges` block, let go of the columns it keeps alive (e.g. once
    intake has done with a raw frame whose columns it is about to free); edges asked for later are
    computed again."""
    memo = _EDGES_MEMO.get()
    if memo is not None:
        memo.clear()


def text_edges(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The first and last byte of each value's UTF-8 text (uint8, read-only; 0 where NA or empty).

    Read from the Arrow buffers of a ``str`` Series without copying the text: cheaper
    than string kernels when all one needs to know is how values begin and end (a
    space at either edge, or a first byte that may start whitespace).
    """
    if values.dtype not in ("str", "string"):
        values = values.astype("str")
    arr = pa.array(values.array)
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    memo = _EDGES_MEMO.get()
    if memo is not None:
        # Arrow buffers never change: the same buffers at the same offset and length hold the
        # same values. The memo keeps the arrays (so their buffers, and addresses) alive.
        key = tuple((str(c.type), c.offset, len(c), *(b.address if b is not None else None for b in c.buffers()))
                    for c in chunks)
        if key in memo:
            return memo[key][0]
    edges = _text_edges(chunks)
    for a in edges:
        a.flags.writeable = False
    if memo is not None:
        memo[key] = (edges, arr)
    return edges


def _text_edges(chunks: list) -> tuple[np.ndarray, np.ndarray]:
    firsts, lasts = [], []
    for chunk in chunks:
        if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
            chunk = chunk.cast(pa.large_string())
        n = len(chunk)
        valid_buf, off_buf, data_buf = chunk.buffers()
        if n == 0 or data_buf is None or data_buf.size == 0:
            firsts.append(np.zeros(n, dtype=np.uint8))
            lasts.append(np.zeros(n, dtype=np.uint8))
            continue
        off_type = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        offsets = np.frombuffer(off_buf, dtype=off_type)[chunk.offset: chunk.offset + n + 1]
        data = np.frombuffer(data_buf, dtype=np.uint8)
        empty = offsets[1:] <= offsets[:-1]
        if chunk.null_count:  # the validity bitmap, unpacked (least significant bit first)
            bits = np.unpackbits(np.frombuffer(valid_buf, dtype=np.uint8), bitorder="little")
            empty |= bits[chunk.offset: chunk.offset + n] == 0
        first = data.take(offsets[:-1], mode="clip")
        last = data.take(offsets[1:] - 1, mode="clip")
        first[empty] = 0
        last[empty] = 0
        firsts.append(first)
        lasts.append(last)
    if len(firsts) == 1:
        return firsts[0], lasts[0]
    if not firsts:
        return np.zeros(0, dtype=np.uint8), np.zeros(0, dtype=np.uint8)
    return np.concatenate(firsts), np.concatenate(lasts)


def _may_hold_quoted_line_breaks(path: Path, header_row: int, encoding: str) -> bool:
    """False when no data line can hold a quoted field (no quote character after the header).

    A field can only swallow a line break inside quotes, so a file whose data lines hold
    no ``"`` needs no line count. Scanned with ``mmap`` (a memchr, no copy). For encodings
    where ``"`` and newline are not single ASCII bytes the answer is always True.
    """
    if '"'.encode(encoding) != b'"' or "\n".encode(encoding) != b"\n":
        return True
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        pos = 0
        for _ in range(header_row):
            nl = mm.find(b"\n", pos)
            if nl < 0:
                return False  # no data lines at all
            pos = nl + 1
        if mm[:pos].count(b'"') % 2:  # a quoted header field runs over a line break
            return True
        return mm.find(b'"', pos) >= 0


def _line_count(path: Path) -> int:
    """Lines in a file (a last line without a newline counts), read in 16 MiB chunks."""
    lines, last = 0, b"\n"
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 24):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


@contextmanager
def _mapped(path: Path):
    """The file memory-mapped for Arrow to parse in place (no copy of it into read buffers: in a fresh
    process that copy's allocation costs as much as a fifth of a large file's read), or its path
    where it cannot be mapped. The values Arrow parses are copied out, so the map is closed after."""
    try:
        source = pa.memory_map(str(path))
    except (OSError, pa.ArrowException):  # e.g. a pipe or a file system without mmap: Arrow reads the path
        yield path
        return
    try:
        yield source
    finally:
        source.close()


def read_csv_table(path: str | Path, *, delimiter: str = ",", encoding: str = "utf-8", header_row: int = 1,
                   required: list[str] | tuple[str, ...] = (), float_columns: list[str] | tuple[str, ...] = (),
                   newlines_in_values: bool = True, dataset: str | None = None) -> pd.DataFrame:
    """Read one delimited text file as text columns, exactly as it is.

    Parameters
    ----------
    path : str or Path
        The file.
    delimiter : str, default ','
        One character, e.g. ``','``, ``';'``, ``'\\t'`` or ``'|'``.
    encoding : str, default 'utf-8'
        The declared encoding (e.g. ``'cp1252'``). A UTF-8 declaration falls back to
        Windows-1252, with a warning, when the bytes are not UTF-8 but are Windows-1252.
    header_row : int, default 1
        1-based line holding the column names; the lines above it are skipped.
    required : sequence of str
        Columns that must be in the header (else ``IntakeError`` naming them).
    float_columns : sequence of str
        Columns to read as float64 straight away when every value is numeric (faster
        for coordinates); if any value is not a number, or is a written ``nan`` or
        ``inf``, the column stays text (so that intake can tell those from empty fields).
    newlines_in_values : bool, default True
        Allow quoted fields to hold line breaks (free-text comments). With False
        (data.police.uk files, which never have them), a field holding a line break
        can only come from an unbalanced quote, and its row gets a ``read_problem``.
    dataset : str, optional
        Catalogue key, used in messages.

    Returns
    -------
    pandas.DataFrame
        One column per header name (pandas ``str`` dtype, NA for empty fields, or
        float64 for ``float_columns`` that are wholly numeric), then ``source_file``,
        ``source_row`` (int64) and ``read_problem`` (str or NA), as described in the
        module docstring.

    Raises
    ------
    IntakeError
        Missing or empty file, a blank header, repeated or missing column names,
        bytes the encoding cannot decode (naming row and column), or text the CSV
        parser cannot split at all (e.g. an unterminated quote).
    """
    check_type(path, "path", (str, Path))
    check_type(delimiter, "delimiter", str)
    if len(delimiter) != 1:
        raise ValueError(f"`delimiter` must be one character, got {delimiter!r}")
    if isinstance(header_row, bool) or not isinstance(header_row, int) or header_row < 1:
        raise ValueError(f"`header_row` must be a whole number of at least 1, got {header_row!r}")
    path = Path(path)
    label = _label(dataset, path)
    enc = _normal_encoding(encoding)
    if not path.is_file():
        raise IntakeError(f"{label}: file does not exist at {path}")
    if path.stat().st_size == 0:
        raise IntakeError(f"{label}: file is empty; expected a header row of column names")

    def _read(enc_now: str, floats: tuple[str, ...],
              threads: bool = True) -> tuple[pa.Table, list[tuple[int, str]], list[str]]:
        columns = _header(path, enc_now, delimiter, header_row, label)
        _check_columns(columns, required, label, header_row)
        bad: list[tuple[int, str]] = []

        def on_invalid(row) -> str:  # called only for rows with the wrong number of fields
            text = row.text if len(row.text) <= 200 else row.text[:200] + "..."
            bad.append((row.number if row.number is not None else 10**12,
                        f"expected {row.expected_columns} fields, got {row.actual_columns}: {text!r}"))
            return "skip"

        # large_string is pandas' own ``str`` storage: to_pandas() is then zero-copy
        types = {c: (pa.float64() if c in floats else pa.large_string()) for c in columns}
        # the names are given (as _header read them, a stray byte-order mark removed), so Arrow
        # skips the header row instead of parsing it again
        with _mapped(path) as source:
            table = pacsv.read_csv(
                source,
                read_options=pacsv.ReadOptions(skip_rows=header_row, column_names=columns, encoding=enc_now,
                                               use_threads=threads, block_size=1 << 24),
                parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid,
                                                 newlines_in_values=newlines_in_values),
                convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True,
                                                     quoted_strings_can_be_null=True, null_values=NULL_VALUES),
            )
        if threads and bad and any(n >= 10**12 for n, _ in bad):
            return _read(enc_now, floats, threads=False)  # line numbers are only known single-threaded
        written = [c for c in floats if c in columns and pc.any(pc.invert(pc.is_finite(table[c]))).as_py()]
        if written:  # a written nan or inf: keep that column as text, as written
            return _read(enc_now, tuple(c for c in floats if c not in written), threads)
        return table, sorted(bad), columns

    floats = tuple(c for c in float_columns)
    quotes = None
    if not newlines_in_values:
        # Whether any data line holds a quote is known from the bytes alone: look while Arrow parses
        # (a memchr over the file, on a core Arrow leaves idle part of the time), not after it.
        scanner = ThreadPoolExecutor(max_workers=1)
        quotes = scanner.submit(_may_hold_quoted_line_breaks, path, header_row, enc)
        scanner.shutdown(wait=False)
    try:
        try:
            table, bad, columns = _read(enc, floats)
        except pa.ArrowInvalid as exc:
            if floats and "conversion error to double" in str(exc):
                table, bad, columns = _read(enc, ())
            else:
                raise
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raw = path.read_bytes()
        where = _locate_decode_error(raw, enc, delimiter)
        if where is None:
            raise IntakeError(f"{label}: cannot be read as delimited text ({delimiter!r}): "
                              f"{_parse_problem(exc)}") from None
        if enc == "utf-8" and _locate_decode_error(raw, "cp1252", delimiter) is None:
            warnings.warn(f"{'dataset ' if dataset else ''}{label} is declared UTF-8 (encoding utf-8) but is not "
                          f"(byte 0x{where[2]:02x} at row {where[0] - header_row}); it was read with encoding "
                          "Windows-1252 (cp1252) instead; set `encoding: cp1252` for it in the catalogue if that is "
                          "right", stacklevel=2)
            return read_csv_table(path, delimiter=delimiter, encoding="cp1252", header_row=header_row,
                                  required=required, float_columns=float_columns,
                                  newlines_in_values=newlines_in_values, dataset=dataset)
        line, column, byte, _ = where
        col_name = ""
        try:
            name = _header(path, enc, delimiter, header_row, label)[column - 1]
            col_name = f" ({name})" if _NAME_SHAPE.match(name) else ""
        except (IndexError, IntakeError):
            pass
        row_txt = f"row {line - header_row}" if line > header_row else f"line {line}"
        raise IntakeError(
            f"{label} {row_txt} column {column}{col_name}: byte 0x{byte:02x} is not valid {encoding}; "
            f"declare the file's encoding in the catalogue (e.g. encoding: cp1252)"
        ) from None
    broken = None
    if (quotes is not None and quotes.result()
            and _line_count(path) - header_row > table.num_rows + len(bad)):
        # more lines than records: a quoted field swallowed line breaks (or blank lines); find which
        for col in table.columns:
            if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
                hit = pc.fill_null(pc.match_substring(col, "\n"), False)
                if pc.any(hit).as_py():
                    broken = hit if broken is None else pc.or_(broken, hit)
    frame = table.to_pandas()
    frame.columns = columns
    out = _finish(frame, path, bad, header_row)
    if broken is not None:
        mask = np.zeros(len(out), dtype=bool)
        good_pos = np.flatnonzero(out["read_problem"].isna().to_numpy())
        mask[good_pos[np.asarray(broken.to_numpy(zero_copy_only=False), dtype=bool)]] = True
        out.loc[mask, "read_problem"] = "a field runs over a line break (unbalanced quote)"
        out.loc[mask, columns] = np.nan
    return out


def read_xlsx_table(path: str | Path, *, sheet: str | None = None, header_row: int = 1,
                    required: list[str] | tuple[str, ...] = (), dataset: str | None = None) -> pd.DataFrame:
    """Read one sheet of an Excel workbook as text columns.

    Parameters
    ----------
    path : str or Path
        The ``.xlsx`` file.
    sheet : str, optional
        Sheet name; the first sheet when not given.
    header_row : int, default 1
        1-based sheet row holding the column names (rows above, such as a title, are skipped).
    required : sequence of str
        Columns that must be in the header.
    dataset : str, optional
        Catalogue key, used in messages.

    Returns
    -------
    pandas.DataFrame
        As :func:`read_csv_table`: text columns (numbers as their text, e.g. ``'432000'``),
        then ``source_file``, ``source_row`` and ``read_problem`` (always NA here).
        Wholly blank rows are not rows.

    Raises
    ------
    IntakeError
        Missing file, not a workbook, unknown sheet (naming the sheets there are),
        or missing/repeated columns.
    """
    check_type(path, "path", (str, Path))
    if isinstance(header_row, bool) or not isinstance(header_row, int) or header_row < 1:
        raise ValueError(f"`header_row` must be a whole number of at least 1, got {header_row!r}")
    path = Path(path)
    label = _label(dataset, path)
    if not path.is_file():
        raise IntakeError(f"{label}: file does not exist at {path}")
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except Exception as exc:  # openpyxl raises several unrelated types for a non-workbook
        raise IntakeError(f"{label}: cannot be opened as an .xlsx workbook ({type(exc).__name__}: "
                          f"{_parse_problem(exc)})") from None
    with book:
        if sheet is not None and sheet not in book.sheet_names:
            raise IntakeError(f"{label}: sheet {sheet!r} must exist, got sheets {book.sheet_names}")
        raw = pd.read_excel(book, sheet_name=sheet if sheet is not None else 0, header=None, dtype=object)
    if len(raw) < header_row:
        raise IntakeError(f"{label}: sheet has fewer than {header_row} rows, so it has no header row {header_row}")
    columns = [str(c).strip() if pd.notna(c) else "" for c in raw.iloc[header_row - 1].tolist()]
    body = raw.iloc[header_row:].reset_index(drop=True)
    keep = [i for i, c in enumerate(columns) if c or body.iloc[:, i].notna().any()]
    columns = [columns[i] for i in keep]
    body = body.iloc[:, keep]
    _check_columns(columns, required, label, header_row)
    body.columns = columns
    data_rows = np.arange(1, len(body) + 1, dtype=np.int64)
    nonblank = body.notna().any(axis=1).to_numpy()
    body = body.loc[nonblank].reset_index(drop=True)
    text = pd.DataFrame({c: _cells_to_text(body[c]) for c in columns}, index=body.index)
    text = text.assign(source_file=pd.Series(path.name, index=text.index, dtype="str"),
                       source_row=data_rows[nonblank],
                       read_problem=pd.Series(pd.NA, index=text.index, dtype="str"))
    return text


def _cells_to_text(cells: pd.Series) -> pd.Series:
    """Excel cells as text: whole numbers without a trailing '.0', blanks as NA (vectorised)."""
    out = cells.astype("str").where(cells.notna()).str.strip()
    out = out.str.replace(r"^(-?\d+)\.0$", r"\1", regex=True)
    return out.where(out != "").astype("str")
