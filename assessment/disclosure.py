"""Statistical disclosure control: the last step before any number reaches a partner.

The ``suppress_*`` family applies the threshold rule (primary suppression) and
complementary cell suppression (secondary suppression) to count tables and to
maps of counts by area; ``audit_recoverability`` checks independently, by linear
programming, that no suppressed cell can be worked out from the published totals;
``check_published`` and ``check_published_text`` are the scanners the reporting
layer and the test suite run over every partner-facing table and HTML page.

Which datasets are protected
    Every dataset in the catalogue carries a ``sensitivity``. ``'public'`` data
    (already published, e.g. data.police.uk street crime) passes through
    unchanged. ``'official'``, ``'sensitive'`` and ``'personal'`` data are
    protected.

The threshold rule
    A published count ``n`` with ``1 <= n <= threshold - 1`` is suppressed and
    shown as ``[c]`` (the Government Statistical Service symbol for
    "confidential"). Zeros are shown by default (``suppress_zeros=False``): a
    zero count of events identifies nobody, and the GSS guidance treats zeros as
    disclosive only where they reveal an attribute of a whole group (for example
    a row whose only non-zero cell is the total: "everyone in ward X had outcome
    Y"). Analysts publishing such attribute tables from health or personal data
    should pass ``suppress_zeros=True``, which suppresses 0 as well.

Secondary suppression
    Totals are counts too, so the threshold rule applies to margins. Each row
    and column of a table with published totals is an additive relation
    (parts sum to the total). A relation with exactly one suppressed cell gives
    that cell away by subtraction, so a second cell is suppressed in it (the
    smallest non-zero cell), and this is iterated until stable. That rule is
    necessary but not sufficient (a pattern can still be solved by combining
    several rows and columns, or pinned by non-negativity), so every candidate
    pattern is then audited by linear programming and further cells are
    suppressed until the audit passes.

For the reporting layer
    * Build every table of protected data with ``suppress_table`` and print its
      ``footnote`` under it whenever it is non-empty; write ``display`` to
      ``tables/*.csv``; pass rate columns through ``suppress_rates``.
    * Draw maps of protected counts from ``suppress_areas`` (grey areas with
      ``suppressed`` True) and print ``attrs['footnote']``.
    * Mark each rendered ``<table>`` with ``data-sensitivity="<catalogue
      sensitivity>"``; ``check_published_text`` skips ``"public"`` tables and,
      with ``only_marked=True``, scans only protected ones.
    * The analyst's own unsuppressed tables are kept only in
      ``<out>/restricted_unsuppressed/`` (see ``restricted_dir``); never copy,
      link or publish anything for which ``is_restricted`` is True.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from assessment.catalogue import SENSITIVITIES
from assessment.checks import (
    check_choice,
    check_dataframe,
    check_geodataframe,
    check_nonnegative_counts,
    check_type,
)
from assessment.errors import DisclosureError

__all__ = [
    "CONFIDENTIAL_MARKER",
    "MARGINS",
    "PROTECTIONS",
    "RESTRICTED_DIRNAME",
    "RESTRICTED_README",
    "SENSITIVITIES",
    "LinkedTable",
    "SuppressedTable",
    "add_margins",
    "audit_linked",
    "audit_recoverability",
    "check_published",
    "check_published_text",
    "find_small_counts",
    "is_protected",
    "is_restricted",
    "linked_table",
    "read_register",
    "restricted_dir",
    "suppress_areas",
    "suppress_primary",
    "suppress_rates",
    "suppress_rows",
    "suppress_secondary",
    "suppress_table",
    "suppression_footnote",
    "write_register",
]

CONFIDENTIAL_MARKER = "[c]"
"""GSS symbol for a value suppressed to protect confidentiality."""

MARGINS = ("both", "row_totals", "column_totals", "none")
"""Which totals a table publishes: a Total column (one total per row), a Total row, both, or none."""

PROTECTIONS = ("exact", "interval")
"""Protection rules for secondary suppression (see ``suppress_secondary``)."""

RESTRICTED_DIRNAME = "restricted_unsuppressed"
"""Name of the only folder in which unsuppressed tables of protected data may be written."""

RESTRICTED_README = """RESTRICTED - UNSUPPRESSED TABLES - DO NOT SHARE

This folder holds the analyst's own working tables of protected data BEFORE
disclosure control. They contain small counts that can identify people.

* Do not attach, email, upload, print or copy anything from this folder.
* Do not publish it with the documents, and do not link to it from any document.
* Partners receive only the suppressed tables in the documents and in tables/.
* Keep it only as long as the information sharing agreement allows, then delete it.
"""

_TOL = 1e-6


class _Programme:
    """``min c @ x`` subject to ``A x = b``, ``x >= 0``, for many objectives ``c`` over one ``(A, b)``.

    The audits minimise and maximise many cells over the same constraints. ``linprog`` builds
    and solves a fresh HiGHS model for every objective, which costs more than the solve itself
    on these small programmes; here one HiGHS model is built and only its costs change, each
    solve starting from the last optimal basis. The optimum of a linear programme is unique
    whatever basis the simplex method starts from, so the values are those of ``linprog``
    (``method="highs"``, same solver and options). Where the HiGHS binding of SciPy is not
    available, or HiGHS ends with a status other than optimal, infeasible or unbounded, the
    objective goes to ``linprog``.

    ``solve`` returns ``(status, fun)`` with ``linprog``'s status codes (0 optimal, 2 infeasible,
    3 unbounded) and ``fun`` None unless optimal.
    """

    def __init__(self, A: np.ndarray, b: np.ndarray):
        self.A, self.b = A, b
        self._highs = None
        try:
            self._highs, self._codes = self._build(A, b)
        except Exception:  # the binding is private to SciPy: without it every objective goes to linprog
            self._highs = None

    @staticmethod
    def _build(A: np.ndarray, b: np.ndarray) -> tuple[Any, dict]:
        from scipy.optimize._highspy import _core as hc
        from scipy.sparse import csc_array

        m, n = A.shape
        a = csc_array(A)
        lp = hc.HighsLp()
        lp.num_col_, lp.num_row_ = n, m
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, m
        lp.a_matrix_.format_ = hc.MatrixFormat.kColwise
        lp.col_cost_ = np.zeros(n)
        lp.col_lower_, lp.col_upper_ = np.zeros(n), np.full(n, np.inf)
        rhs = np.asarray(b, dtype=float)
        lp.row_lower_, lp.row_upper_ = rhs, rhs
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
        highs = hc._Highs()
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("simplex_strategy", 1)  # dual simplex, as linprog asks for
        if highs.passModel(lp) == hc.HighsStatus.kError:
            raise ValueError("HiGHS refused the model")
        codes = {hc.HighsModelStatus.kOptimal: 0, hc.HighsModelStatus.kInfeasible: 2,
                 hc.HighsModelStatus.kUnbounded: 3}
        return highs, codes

    def solve(self, c: np.ndarray) -> tuple[int, float | None]:
        c = np.ascontiguousarray(c, dtype=float)
        if self._highs is not None:
            n = c.size
            self._highs.changeColsCost(n, np.arange(n, dtype=np.int32), c)
            self._highs.run()
            code = self._codes.get(self._highs.getModelStatus())
            if code is not None:
                return code, (self._highs.getInfo().objective_function_value if code == 0 else None)
        res = linprog(c, A_eq=self.A, b_eq=self.b, bounds=(0, None), method="highs")
        return int(res.status), (res.fun if res.status == 0 else None)


def is_protected(sensitivity: str) -> bool:
    """Return True when a dataset of this ``sensitivity`` must be disclosure-controlled.

    Parameters
    ----------
    sensitivity : {'public', 'official', 'sensitive', 'personal'}
        The dataset's catalogue sensitivity.

    Returns
    -------
    bool
        False for ``'public'``, True for the other three.
    """
    check_choice(sensitivity, "sensitivity", SENSITIVITIES)
    return sensitivity != "public"


def _check_threshold(threshold: Any) -> None:
    if isinstance(threshold, (bool, np.bool_)) or not isinstance(threshold, (int, np.integer)):
        raise TypeError(f"`threshold` must be a whole number, got {type(threshold).__name__}")
    if threshold < 1:
        raise ValueError(f"`threshold` must be at least 1, got {threshold!r}")


def _check_count_cols(count_cols: Any) -> list:
    if isinstance(count_cols, str) or not isinstance(count_cols, Sequence) or not count_cols:
        raise TypeError(f"`count_cols` must be a non-empty list of column names, got {count_cols!r}")
    return list(count_cols)


def suppression_footnote(threshold: int, *, suppress_zeros: bool = False, secondary: bool = True,
                         marker: str = CONFIDENTIAL_MARKER) -> str:
    """Return the footnote to print under every table with suppressed cells.

    Parameters
    ----------
    threshold : int
        The suppression threshold: counts below it are suppressed.
    suppress_zeros : bool, default False
        Whether zeros were suppressed too.
    secondary : bool, default True
        Whether the table publishes totals, so that further cells may have been
        suppressed to stop the small ones being worked out.
    marker : str, default '[c]'
        The symbol shown in suppressed cells.

    Returns
    -------
    str
        For example "Counts from 1 to 4 are suppressed ([c]) to protect
        individuals, with further cells suppressed so they cannot be worked out
        from totals."
    """
    _check_threshold(threshold)
    low = 0 if suppress_zeros else 1
    high = threshold - 1
    if high < low:
        span = "No counts are"
    elif high == low:
        span = f"Counts of {low} are"
    else:
        span = f"Counts from {low} to {high} are"
    text = f"{span} suppressed ({marker}) to protect individuals"
    if secondary:
        text += ", with further cells suppressed so they cannot be worked out from totals"
    return text + "."


# --------------------------------------------------------------------------------------
# The engine: an augmented table (interior plus margins) and its additive relations
# --------------------------------------------------------------------------------------

def _relation_matrix(n_rows: int, n_cols: int, row_totals: bool, col_totals: bool) -> np.ndarray:
    """Coefficients of every additive relation of an augmented table, flattened row-major.

    The augmented table has ``n_rows + col_totals`` rows and ``n_cols + row_totals``
    columns; the Total column is last and the Total row is last. Each relation
    reads ``sum(parts) - total = 0``.
    """
    ar, ac = n_rows + int(col_totals), n_cols + int(row_totals)
    rels = []
    if row_totals:
        for i in range(ar):
            m = np.zeros((ar, ac))
            m[i, :n_cols] = 1.0
            m[i, n_cols] = -1.0
            rels.append(m.ravel())
    if col_totals:
        for j in range(ac):
            m = np.zeros((ar, ac))
            m[:n_rows, j] = 1.0
            m[n_rows, j] = -1.0
            rels.append(m.ravel())
    if not rels:
        return np.zeros((0, ar * ac))
    return np.vstack(rels)


def _intervals(M: np.ndarray, values: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Feasible [min, max] of every suppressed cell given the published cells, by LP.

    ``values`` must be finite where ``mask`` is False. Returns arrays of the length
    of ``values``; NaN where not suppressed, ``inf`` for an unbounded maximum.
    Raises ``ValueError`` when the published values are inconsistent.
    """
    lo = np.full(values.shape, np.nan)
    hi = np.full(values.shape, np.nan)
    sup = np.flatnonzero(mask)
    known = ~mask
    rhs = -(M[:, known] @ values[known]) if known.any() else np.zeros(M.shape[0])
    A = M[:, sup]
    involved = np.abs(A).sum(axis=1) > 0
    closed = ~involved
    if closed.any() and np.any(np.abs(rhs[closed]) > _TOL):
        bad = int(np.flatnonzero(closed & (np.abs(rhs) > _TOL))[0])
        raise ValueError(f"published table does not add up: relation {bad} (a row or column and its total) "
                         f"is off by {rhs[bad]:g}")
    if sup.size == 0:
        return lo, hi
    A, b = A[involved], rhs[involved]
    n = sup.size
    programme = _Programme(A, b) if A.shape[0] else None
    for pos, cell in enumerate(sup):
        c = np.zeros(n)
        c[pos] = 1.0
        if programme is None:
            lo[cell], hi[cell] = 0.0, np.inf
            continue
        status_min, fun_min = programme.solve(c)
        if status_min == 2:
            raise ValueError("published table is infeasible: no non-negative values for the suppressed "
                             "cells reproduce the published totals")
        status_max, fun_max = programme.solve(-c)
        lo[cell] = fun_min
        hi[cell] = np.inf if status_max == 3 else -fun_max
    # 2-D tables with margins have totally unimodular constraints, so LP bounds are integers.
    for bound in (lo, hi):
        finite = np.isfinite(bound)
        near = np.abs(bound[finite] - np.round(bound[finite])) < _TOL
        idx = np.flatnonzero(finite)[near]
        bound[idx] = np.round(bound[idx])
    return lo, hi


def _exposed(lo: np.ndarray, hi: np.ndarray, threshold: int | None, protection: str) -> np.ndarray:
    """Suppressed cells the protection rule rejects (NaN entries are not suppressed)."""
    finite = np.isfinite(hi)
    recoverable = finite & (np.abs(hi - lo) < _TOL)
    recoverable &= ~np.isnan(lo)
    if protection == "interval" and threshold is not None:
        # A hidden cell whose largest possible value is below the threshold is known to be small:
        # zeros are published, so a reader infers a count from 1 to threshold - 1 even when the
        # lower bound is 0 (e.g. two hidden cells summing to 3). More generally a hidden cell must
        # not be narrowed to a range narrower than the threshold (e.g. "between 3 and 5"): its
        # feasible range must span at least ``threshold`` values' width.
        recoverable |= finite & (hi <= threshold - 1)
        recoverable |= finite & ~np.isnan(lo) & (hi - lo < threshold - _TOL)
    return recoverable


def _protect_zeros(M: np.ndarray, values: np.ndarray, primary: np.ndarray) -> np.ndarray:
    """Zeros that would reveal a group attribute: in a relation whose only non-zero part is primary-suppressed.

    A row ``[3, 0, 0]`` with its zeros shown tells the reader that all of the row's events are of
    the first type even though the 3 is hidden. Returns the extra cells to suppress (the zero parts
    of every such relation).
    """
    parts = M > 0
    nonzero = values > 0
    n_nonzero = parts.astype(np.int64) @ nonzero.astype(np.int64)
    n_primary_nonzero = parts.astype(np.int64) @ (nonzero & primary).astype(np.int64)
    revealing = (n_nonzero == 1) & (n_primary_nonzero == 1)
    if not revealing.any():
        return np.zeros_like(primary)
    return parts[revealing].any(axis=0) & ~nonzero & ~primary


def _pick(cands: np.ndarray, values: np.ndarray, is_total: np.ndarray, helps: np.ndarray,
          avoid: np.ndarray | None = None) -> int:
    """Choose the cell to suppress among candidate indices: smallest non-zero first (cells in ``avoid`` last)."""
    v = values[cands]
    last = np.zeros(cands.size, dtype=bool) if avoid is None else avoid[cands]
    order = np.lexsort((cands, is_total[cands], ~helps[cands], v, v == 0, last))
    return int(cands[order[0]])


def _heuristic(M: np.ndarray, values: np.ndarray, mask: np.ndarray, is_total: np.ndarray,
               avoid: np.ndarray | None = None) -> np.ndarray:
    """Suppress the smallest non-zero cell of every relation holding exactly one suppression, until stable."""
    mask = mask.copy()
    member = M != 0
    while True:
        counts = member.astype(np.int64) @ mask.astype(np.int64)
        single = np.flatnonzero(counts == 1)
        if single.size == 0:
            return mask
        r = single[0]
        cands = np.flatnonzero(member[r] & ~mask)
        helps = (member[counts == 1].sum(axis=0) > 1)
        mask[_pick(cands, values, is_total, helps, avoid)] = True


def _protect(M: np.ndarray, values: np.ndarray, primary: np.ndarray, is_total: np.ndarray,
             threshold: int, protection: str, avoid: np.ndarray | None = None) -> np.ndarray:
    """Primary mask -> final mask: heuristic, then LP audit and repair until the audit passes."""
    mask = primary.copy()
    if M.shape[0] == 0 or not mask.any():
        return mask
    mask |= _protect_zeros(M, values, primary)
    member = M != 0
    while True:
        mask = _heuristic(M, values, mask, is_total, avoid)
        lo, hi = _intervals(M, values, mask)
        bad = np.flatnonzero(_exposed(lo, hi, threshold, protection))
        if bad.size == 0 or mask.all():
            return mask
        touched = np.zeros(M.shape[0], dtype=bool)
        for cell in bad:
            rels = member[:, cell]
            if (rels & touched).any():
                continue
            cands = np.flatnonzero(member[rels].any(axis=0) & ~mask)
            if cands.size == 0:
                cands = np.flatnonzero(~mask)
            if cands.size == 0:
                break
            new = _pick(cands, values, is_total, np.zeros_like(mask), avoid)
            mask[new] = True
            touched |= member[:, new]


# --------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------

@dataclass
class SuppressedTable:
    """A table after disclosure control.

    Attributes
    ----------
    values : pandas.DataFrame
        The published numbers: the table with its margins, count columns as
        nullable ``Int64`` with ``<NA>`` in suppressed cells. Use it for charts
        and further arithmetic.
    display : pandas.DataFrame
        The same table for showing and for ``tables/*.csv``: count columns as
        strings, suppressed cells replaced by the marker (``'[c]'``).
    mask : pandas.DataFrame
        Boolean, True where a count cell is suppressed (count columns only).
    kind : pandas.DataFrame
        ``'primary'`` (below the threshold), ``'secondary'`` (suppressed so the
        others cannot be worked out) or ``''`` for each count cell.
    footnote : str
        Print it under the table whenever it is non-empty (it is non-empty
        exactly when a cell is suppressed).
    threshold : int
    sensitivity : str
    linked : LinkedTable or None
        The table as the edition's disclosure register keeps it, when ``suppress_table`` was
        given ``link``.
    """

    values: pd.DataFrame
    display: pd.DataFrame
    mask: pd.DataFrame
    kind: pd.DataFrame
    footnote: str
    threshold: int
    sensitivity: str
    linked: "LinkedTable | None" = None


def _label_cols(df: pd.DataFrame, count_cols: list) -> list:
    return [c for c in df.columns if c not in count_cols]


def _strip_totals(df: pd.DataFrame, count_cols: list, total_label: str) -> pd.DataFrame:
    """Drop a Total row/column the caller already added, after checking that it adds up."""
    labels = _label_cols(df, count_cols)
    is_total_row = pd.Series(df.index == total_label, index=df.index)
    for col in labels:
        is_total_row |= df[col].astype("string").eq(total_label).fillna(False)
    parts = [c for c in count_cols if c != total_label]
    body = df.loc[~is_total_row.to_numpy()]
    if is_total_row.sum() > 1:
        raise ValueError(f"`df` must have at most one '{total_label}' row, got {int(is_total_row.sum())}")
    if is_total_row.any():
        given = df.loc[is_total_row.to_numpy(), count_cols].iloc[0].astype("int64")
        sums = body[count_cols].sum().astype("int64")
        off = given.index[given.to_numpy() != sums.to_numpy()]
        if len(off):
            raise ValueError(f"the '{total_label}' row must equal the column sums, got {int(given[off[0]])} for "
                             f"column {off[0]!r} where the rows add up to {int(sums[off[0]])}; hint: if the total "
                             "includes categories not shown, add them as an 'Other' column")
    if total_label in count_cols:
        sums = body[parts].sum(axis=1).astype("int64")
        given = body[total_label].astype("int64")
        off = given.index[given.to_numpy() != sums.to_numpy()]
        if len(off):
            raise ValueError(f"the '{total_label}' column must equal the row sums, got {int(given[off[0]])} in row "
                             f"{off[0]!r} where the columns add up to {int(sums[off[0]])}; hint: if the total "
                             "includes categories not shown, add them as an 'Other' column")
        body = body.drop(columns=[total_label])
    return body


def add_margins(df: pd.DataFrame, count_cols: Sequence[str], margins: str = "both",
                total_label: str = "Total") -> pd.DataFrame:
    """Return the table with its true totals added as a Total column and/or Total row.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per table row. ``count_cols`` hold whole non-negative counts; any
        other columns are labels and are kept. A Total row or column already
        present (labelled ``total_label``) is checked to add up and replaced.
    count_cols : list of str
        The count columns, in the order to show them.
    margins : {'both', 'row_totals', 'column_totals', 'none'}, default 'both'
        ``'row_totals'`` appends a ``total_label`` column (each row's total);
        ``'column_totals'`` appends a ``total_label`` row (each column's total);
        ``'both'`` appends both and the grand total at their crossing.
    total_label : str, default 'Total'
        Label of the Total row (its index label, and its value in the first
        label column if there is one) and name of the Total column.

    Returns
    -------
    pandas.DataFrame
        Label columns, then the count columns as ``int64``, then the Total
        column when asked for; the Total row last when asked for. Label columns
        other than the first are ``<NA>`` in the Total row.
    """
    check_type(df, "df", pd.DataFrame)
    count_cols = _check_count_cols(count_cols)
    check_dataframe(df, "df", count_cols)
    check_choice(margins, "margins", MARGINS)
    check_type(total_label, "total_label", str)
    for col in count_cols:
        check_nonnegative_counts(df[col], col, where="df")
    if not df.index.is_unique:
        raise ValueError("`df` must have a unique index (its labels name the table rows)")
    body = _strip_totals(df, count_cols, total_label)
    counts = [c for c in count_cols if c != total_label]
    labels = _label_cols(body, counts)
    out = body[labels + counts].copy()
    out[counts] = out[counts].astype("int64")
    if margins in ("both", "row_totals"):
        out[total_label] = out[counts].sum(axis=1).astype("int64")
    if margins in ("both", "column_totals"):
        numeric = [c for c in out.columns if c not in labels]
        total_row = pd.DataFrame([out[numeric].sum().astype("int64")], index=[total_label])
        for i, col in enumerate(labels):
            total_row[col] = total_label if i == 0 else pd.NA
        name = out.index.name
        out = pd.concat([out, total_row[out.columns]])
        out.index.name = name
        out[numeric] = out[numeric].astype("int64")
    return out


def suppress_primary(table: pd.DataFrame, count_cols: Sequence[str], threshold: int, sensitivity: str, *,
                     suppress_zeros: bool = False) -> pd.DataFrame:
    """Return the primary-suppression mask: counts from 1 to ``threshold - 1``.

    Parameters
    ----------
    table : pandas.DataFrame
        The table as it will be published, margins included (see
        ``add_margins``): totals are counts too and obey the same rule.
    count_cols : list of str
        Columns holding whole non-negative counts (include the Total column).
    threshold : int
        Counts below it are suppressed; the partnership's
        ``suppression_threshold`` (5 in the demo).
    sensitivity : {'public', 'official', 'sensitive', 'personal'}
        The dataset's sensitivity; ``'public'`` gives an all-False mask.
    suppress_zeros : bool, default False
        Also suppress zeros (see the module notes).

    Returns
    -------
    pandas.DataFrame
        Boolean, indexed like ``table`` with columns ``count_cols``; True where
        the cell must be suppressed.

    Notes
    -----
    The threshold rule of the Government Statistical Service / ONS guidance on
    disclosure control for tables of counts ("Disclosure control for tables
    produced from administrative sources", GSS; ONS "Statistical disclosure
    control" policy): a cell with a small non-zero frequency could identify
    the people behind it and is not published.
    """
    check_type(table, "table", pd.DataFrame)
    count_cols = _check_count_cols(count_cols)
    check_dataframe(table, "table", count_cols)
    _check_threshold(threshold)
    check_choice(sensitivity, "sensitivity", SENSITIVITIES)
    for col in count_cols:
        check_nonnegative_counts(table[col], col, where="table")
    values = table[count_cols].to_numpy(dtype="float64")
    if not is_protected(sensitivity):
        mask = np.zeros(values.shape, dtype=bool)
    else:
        low = 0 if suppress_zeros else 1
        mask = (values >= low) & (values <= threshold - 1)
    return pd.DataFrame(mask, index=table.index, columns=count_cols)


def _find_margins(table: pd.DataFrame, count_cols: list, total_label: str) -> tuple[np.ndarray, list, bool, bool]:
    """Locate the Total row/column of a published table; return (row order, column order, row_totals, col_totals)."""
    labels = _label_cols(table, count_cols)
    is_total_row = np.asarray(table.index == total_label, dtype=bool)
    for col in labels:
        is_total_row |= table[col].astype("string").eq(total_label).fillna(False).to_numpy()
    if is_total_row.sum() > 1:
        raise ValueError(f"`table` must have at most one '{total_label}' row, got {int(is_total_row.sum())}")
    row_totals = total_label in count_cols
    col_totals = bool(is_total_row.any())
    rows = np.concatenate([np.flatnonzero(~is_total_row), np.flatnonzero(is_total_row)])
    cols = [c for c in count_cols if c != total_label] + ([total_label] if row_totals else [])
    return rows, cols, row_totals, col_totals


def _augmented(table: pd.DataFrame, count_cols: list, total_label: str):
    rows, cols, row_totals, col_totals = _find_margins(table, count_cols, total_label)
    n_rows = len(rows) - int(col_totals)
    n_cols = len(cols) - int(row_totals)
    M = _relation_matrix(n_rows, n_cols, row_totals, col_totals)
    is_total = np.zeros((len(rows), len(cols)), dtype=bool)
    if row_totals:
        is_total[:, -1] = True
    if col_totals:
        is_total[-1, :] = True
    return rows, cols, M, is_total.ravel()


def suppress_secondary(table: pd.DataFrame, mask: pd.DataFrame, threshold: int, *,
                       count_cols: Sequence[str] | None = None, total_label: str = "Total",
                       protection: str = "interval") -> pd.DataFrame:
    """Extend a primary mask by complementary cell suppression so no suppressed cell can be worked out.

    Parameters
    ----------
    table : pandas.DataFrame
        The true table with its margins, as from ``add_margins``: a Total
        column named ``total_label`` (row totals) and/or a Total row labelled
        ``total_label`` (column totals). A 1-D table is one count column with a
        Total row (or one row with a Total column).
    mask : pandas.DataFrame
        The primary mask (``suppress_primary``), columns ``count_cols``.
    threshold : int
        The suppression threshold (used by the ``'interval'`` rule).
    count_cols : list of str, optional
        Count columns including the Total column; default ``mask.columns``.
    total_label : str, default 'Total'
    protection : {'interval', 'exact'}, default 'interval'
        ``'exact'``: every suppressed cell's feasible interval, given the
        published cells, totals and non-negativity, has width > 0 (it is not
        recoverable). ``'interval'`` (default, stricter): in addition no
        suppressed cell's largest feasible value is below the threshold, which
        would tell a reader the cell holds a small count (zeros are published,
        so a hidden cell known to be 0..threshold-1 is taken to be 1..threshold-1).

    Returns
    -------
    pandas.DataFrame
        Boolean mask like ``mask``, a superset of it.

    Notes
    -----
    Complementary (secondary) cell suppression as in the GSS/ONS guidance for
    tables with published totals, using the standard heuristic: in every
    additive relation (a row or column with its total) that holds exactly one
    suppressed cell, suppress its smallest non-zero unsuppressed cell
    (preferring one that also fixes another such relation), and iterate until
    stable [1]_. The pattern is then audited by linear programming: each
    suppressed cell is minimised and maximised subject to the published cells,
    the additive relations and non-negativity (``scipy.optimize.linprog``,
    HiGHS) — the attacker's model of Cox (1980) and Fischetti & Salazar (2001).
    Where the audit fails, a further cell is suppressed in a relation of each
    exposed cell and the heuristic and audit are repeated; suppressing every
    cell always passes, so the loop ends. The result protects but is not the
    minimum-loss pattern, which needs the integer programme of [2]_.

    References
    ----------
    .. [1] Government Statistical Service, "Disclosure control for tables produced
       from administrative sources" and ONS, "Statistical Disclosure Control
       (SDC) policy"; Hundepool et al., *Statistical Disclosure Control*, Wiley
       2012, ch. 4 (cell suppression).
    .. [2] M. Fischetti, J.-J. Salazar-González, "Solving the cell suppression
       problem on tabular data with linear constraints", Management Science
       47(7), 2001. L. H. Cox, "Suppression methodology and statistical
       disclosure control", JASA 75, 1980.
    """
    check_type(table, "table", pd.DataFrame)
    check_type(mask, "mask", pd.DataFrame)
    count_cols = list(mask.columns) if count_cols is None else _check_count_cols(count_cols)
    check_dataframe(table, "table", count_cols)
    check_dataframe(mask, "mask", count_cols)
    _check_threshold(threshold)
    check_choice(protection, "protection", PROTECTIONS)
    for col in count_cols:
        check_nonnegative_counts(table[col], col, where="table")
    if not mask.index.equals(table.index):
        raise ValueError("`mask` must have the same index as `table`")
    rows, cols, M, is_total = _augmented(table, count_cols, total_label)
    values = table[cols].to_numpy(dtype="float64")[rows].ravel()
    primary = mask[cols].to_numpy(dtype=bool)[rows].ravel()
    final = _protect(M, values, primary, is_total, threshold, protection)
    out = mask[count_cols].copy().astype(bool)
    grid = final.reshape(len(rows), len(cols))
    placed = np.empty_like(grid)
    placed[rows] = grid
    out[cols] = placed
    return out


def _display(values: pd.DataFrame, mask: pd.DataFrame, marker: str) -> pd.DataFrame:
    shown = values.copy()
    for col in mask.columns:
        text = values[col].astype("Int64").astype("string")
        shown[col] = text.mask(mask[col].to_numpy(), marker).astype(object)
    return shown


def suppress_table(df: pd.DataFrame, count_cols: Sequence[str], threshold: int, sensitivity: str, *,
                   margins: str = "both", suppress_zeros: bool = False, total_label: str = "Total",
                   marker: str = CONFIDENTIAL_MARKER, protection: str = "interval",
                   link: Mapping[str, Any] | None = None,
                   published: Sequence["LinkedTable"] = ()) -> SuppressedTable:
    """Apply primary and secondary suppression and return the publishable table and its footnote.

    Parameters
    ----------
    df : pandas.DataFrame
        The unsuppressed table, one row per table row; ``count_cols`` hold whole
        non-negative counts, other columns are labels. A Total row/column the
        caller already added is checked and replaced.
    count_cols : list of str
        The count columns.
    threshold : int
        The partnership's suppression threshold (catalogue
        ``suppression_threshold``).
    sensitivity : {'public', 'official', 'sensitive', 'personal'}
        The source dataset's sensitivity; ``'public'`` passes through unchanged
        (margins are still added).
    margins : {'both', 'row_totals', 'column_totals', 'none'}, default 'both'
        Which totals to publish (see ``add_margins``). With ``'none'`` only the
        threshold rule applies, since nothing can be subtracted.
    suppress_zeros : bool, default False
        Also suppress zeros (see the module notes).
    total_label : str, default 'Total'
    marker : str, default '[c]'
        Shown in suppressed cells of ``display``.
    protection : {'interval', 'exact'}, default 'interval'
        The rule the secondary pattern must pass (see ``suppress_secondary``).
    link : mapping, optional
        Declares what the table counts so it can be audited with the edition's other tables
        of the same data: ``name``, ``dataset`` (catalogue key), ``dimensions`` (row dimension,
        and the count columns' dimension when there are several) and optionally ``scope`` and
        ``document`` (see ``LinkedTable``). Protected data only.
    published : sequence of LinkedTable, default ()
        Tables already published in the same edition. Where one has the same dataset and
        scope as ``link``, further cells of this table are suppressed until no suppressed
        cell of either can be narrowed by combining them (``audit_linked``).

    Returns
    -------
    SuppressedTable
        ``values`` (Int64 with <NA>), ``display`` (strings with the marker),
        ``mask``, ``kind``, ``footnote``; see ``SuppressedTable``. Unsuppressed
        margins are the true totals of the unsuppressed table.

    Notes
    -----
    Threshold rule then complementary cell suppression, following the GSS/ONS
    guidance on disclosure control for tables; see ``suppress_primary`` and
    ``suppress_secondary``. ``audit_recoverability`` on ``display`` confirms
    that no suppressed cell can be recovered from the published totals.
    """
    check_type(df, "df", pd.DataFrame)
    count_cols = _check_count_cols(count_cols)
    check_dataframe(df, "df", count_cols)
    _check_threshold(threshold)
    check_choice(sensitivity, "sensitivity", SENSITIVITIES)
    check_choice(margins, "margins", MARGINS)
    check_choice(protection, "protection", PROTECTIONS)
    check_type(marker, "marker", str)
    table = add_margins(df, count_cols, margins, total_label)
    cols = [c for c in table.columns if c in count_cols or c == total_label]
    primary = suppress_primary(table, cols, threshold, sensitivity, suppress_zeros=suppress_zeros)
    if margins == "none" or not primary.to_numpy().any():
        mask = primary
    else:
        mask = suppress_secondary(table, primary, threshold, count_cols=cols, total_label=total_label,
                                  protection=protection)
    linked = None
    if link is not None and is_protected(sensitivity):
        mask, linked = _link_table(table, mask, cols, total_label, threshold, link, published)
    values = table.copy()
    for col in cols:
        values[col] = values[col].astype("Int64").mask(mask[col].to_numpy())
    kind = pd.DataFrame("", index=table.index, columns=cols)
    kind = kind.mask(mask & ~primary, "secondary").mask(primary, "primary")
    any_sup = bool(mask.to_numpy().any())
    secondary = margins != "none"
    footnote = (suppression_footnote(threshold, suppress_zeros=suppress_zeros, secondary=secondary, marker=marker)
                if any_sup else "")
    return SuppressedTable(values=values, display=_display(values, mask, marker), mask=mask, kind=kind,
                           footnote=footnote, threshold=threshold, sensitivity=sensitivity, linked=linked)


def _link_table(table: pd.DataFrame, mask: pd.DataFrame, cols: list, total_label: str, threshold: int,
                link: Mapping[str, Any], published: Sequence) -> tuple[pd.DataFrame, "LinkedTable"]:
    """Extend ``mask`` against the edition's published tables; return it and the table's register entry."""
    if not isinstance(link, Mapping):
        raise TypeError(f"`link` must be a mapping with name, dataset and dimensions, got {type(link).__name__}")
    missing = [k for k in ("name", "dataset", "dimensions") if k not in link]
    if missing:
        raise ValueError(f"`link` must name {', '.join(missing)}, got keys {sorted(link)}")
    published = list(published)
    for t in published:
        check_type(t, "published[i]", LinkedTable)
    rows, order, row_totals, col_totals = _find_margins(table, cols, total_label)
    grid = table[order].to_numpy(dtype="float64")[rows]
    flat_mask = mask[order].to_numpy(dtype=bool)[rows].ravel()
    n_interior = len(rows) - int(col_totals)
    dims = link["dimensions"]
    spec = LinkedTable(name=str(link["name"]), dataset=str(link["dataset"]), scope=str(link.get("scope", "")),
                       dimensions=(dims,) if isinstance(dims, str) else tuple(str(d) for d in dims),
                       rows=_row_labels(table, rows, cols, n_interior),
                       columns=tuple(str(c) for c in order[:len(order) - int(row_totals)]),
                       row_totals=row_totals, col_totals=col_totals, values=grid,
                       document=str(link.get("document", "")),
                       fixed={str(k): str(v) for k, v in dict(link.get("fixed") or {}).items()})
    _check_linked_shape(spec)
    n_rows, n_cols = len(rows) - int(col_totals), len(order) - int(row_totals)
    M = _relation_matrix(n_rows, n_cols, row_totals, col_totals)
    is_total = np.zeros(grid.shape, dtype=bool)
    if row_totals:
        is_total[:, -1] = True
    if col_totals:
        is_total[-1, :] = True
    final = _suppress_linked(spec, grid, flat_mask, is_total.ravel(), M, published, threshold)
    spec.values = np.where(final.reshape(grid.shape), np.nan, grid)
    out = mask.copy()
    placed = np.empty((len(rows), len(order)), dtype=bool)
    placed[rows] = final.reshape(grid.shape)
    out[order] = placed
    return out, spec


def suppress_rows(df: pd.DataFrame, count_cols: Sequence[str], threshold: int, protected: Sequence[bool], *,
                  relations: Sequence[tuple[str, Sequence[str]]] = (), suppress_zeros: bool = False,
                  protection: str = "interval", total_row: bool = False,
                  in_total: Sequence[bool] | None = None) -> pd.DataFrame:
    """Suppress each protected row on its own, where a row's counts add up within the row.

    For tables with one row per dataset (data-quality accounting: rows read = rows accepted +
    rows quarantined; rows quarantined = the sum over reasons). Rows from different datasets
    are different populations, so nothing is added down the columns.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per table row; ``count_cols`` hold whole non-negative counts (or missing).
    count_cols : list of str
    threshold : int
    protected : sequence of bool
        One per row: True where the row's counts come from data not marked public.
    relations : sequence of (str, list of str), default ()
        ``(total column, part columns)``: within every row the parts add up to the total.
        Without relations only the threshold rule applies.
    suppress_zeros : bool, default False
    protection : {'interval', 'exact'}, default 'interval'
    total_row : bool, default False
        The last row of ``df`` is a Total row: each count column's sum over the other rows
        (checked). Column sums are then relations too, and the whole table is protected as one.
    in_total : sequence of bool, optional
        With ``total_row``: one per row above the Total row, True where the row counts in the
        total (e.g. False for a dataset that is a copy of another). Default all.

    Returns
    -------
    pandas.DataFrame
        Boolean mask like ``df[count_cols]``, True where a count is suppressed.

    Notes
    -----
    The threshold rule then complementary cell suppression within each row's additive
    relations, with the same heuristic, zero protection and LP audit as ``suppress_secondary``
    (GSS/ONS guidance on disclosure control for tables; Hundepool et al. 2012, ch. 4).
    Missing counts are treated as unpublished and take part in no relation; a relation a row's
    counts do not satisfy (its accounting does not balance) cannot be used to subtract and is
    left out for that row.
    """
    check_type(df, "df", pd.DataFrame)
    count_cols = _check_count_cols(count_cols)
    check_dataframe(df, "df", count_cols)
    _check_threshold(threshold)
    check_choice(protection, "protection", PROTECTIONS)
    protected = np.asarray(list(protected), dtype=bool)
    if protected.size != len(df):
        raise ValueError(f"`protected` must have one value per row ({len(df)}), got {protected.size}")
    index = {c: j for j, c in enumerate(count_cols)}
    rels = []
    for total, parts in relations:
        unknown = [c for c in [total, *parts] if c not in index]
        if unknown:
            raise ValueError(f"`relations` must name count columns, got {unknown!r} (count columns: {count_cols!r})")
        m = np.zeros(len(count_cols))
        m[[index[p] for p in parts]] = 1.0
        m[index[total]] = -1.0
        rels.append(m)
    M = np.vstack(rels) if rels else np.zeros((0, len(count_cols)))
    is_total = (M < 0).any(axis=0)
    values = df[count_cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype="float64")
    low = 0 if suppress_zeros else 1
    mask = protected[:, None] & (values >= low) & (values <= threshold - 1)
    if total_row:
        adds = np.ones(len(df) - 1, dtype=bool) if in_total is None else np.asarray(list(in_total), dtype=bool)
        if adds.size != len(df) - 1:
            raise ValueError(f"`in_total` must have one value per row above the Total row ({len(df) - 1}), "
                             f"got {adds.size}")
        return _suppress_rows_with_total(df, count_cols, values, mask, M, threshold, protection, protected, adds)
    todo = np.flatnonzero(mask.any(axis=1))
    for i in todo:  # rows with a small count: one per dataset of the catalogue, not per record
        known = ~np.isnan(values[i])
        rows_M = M[:, known]
        keep = np.abs(M[:, ~known]).sum(axis=1) == 0  # a relation with a missing count is not published
        keep &= np.abs(rows_M @ values[i, known]) < _TOL  # nor one this row's counts do not satisfy
        sub = _protect(rows_M[keep], values[i, known], mask[i, known], is_total[known], threshold, protection)
        mask[i, np.flatnonzero(known)] = sub
    return pd.DataFrame(mask, index=df.index, columns=count_cols)


def _suppress_rows_with_total(df, count_cols, values, mask, M, threshold, protection,
                              protected_rows, adds) -> pd.DataFrame:
    """``suppress_rows`` for a table whose last row is the Total row: one system over every cell."""
    n, k = values.shape
    if n < 2:
        raise ValueError("`df` must have at least one row above its Total row")
    if np.isnan(values).any():
        raise ValueError("a table with a Total row must have every count, got a missing count in "
                         f"column {count_cols[int(np.flatnonzero(np.isnan(values).any(axis=0))[0])]!r}")
    sums = values[:-1][adds].sum(axis=0)
    off = np.flatnonzero(np.abs(sums - values[-1]) > _TOL)
    if off.size:
        j = int(off[0])
        raise ValueError(f"the Total row must equal the column sums, got {values[-1, j]:g} for column "
                         f"{count_cols[j]!r} where the rows add up to {sums[j]:g}")
    rels = []
    for i in range(n):  # each row's own relations (rows: one per dataset, not per record)
        holds = np.abs(M @ values[i]) < _TOL
        for m in M[holds]:
            full = np.zeros((n, k))
            full[i] = m
            rels.append(full.ravel())
    for j in range(k):
        full = np.zeros((n, k))
        full[:-1, j] = adds.astype(float)
        full[-1, j] = -1.0
        rels.append(full.ravel())
    big = np.vstack(rels)
    is_total = np.zeros((n, k), dtype=bool)
    is_total[-1] = True
    is_total[:, (M < 0).any(axis=0)] = True
    # Complementary cells are taken from protected rows and the Total row before public rows.
    public = np.repeat(~protected_rows[:, None], k, axis=1)
    final = _protect(big, values.ravel(), mask.ravel(), is_total.ravel(), threshold, protection,
                     avoid=public.ravel())
    return pd.DataFrame(final.reshape(n, k), index=df.index, columns=count_cols)


def _published_numbers(table: pd.DataFrame, cols: list, marker: str) -> tuple[np.ndarray, np.ndarray]:
    """Published cells as floats plus the suppressed mask (NA or marker)."""
    raw = table[cols]
    is_marker = np.column_stack([raw[c].astype("string").str.strip().eq(marker).fillna(False).to_numpy()
                                 for c in cols])
    nums = np.column_stack([pd.to_numeric(raw[c].mask(is_marker[:, j]), errors="coerce").to_numpy(dtype="float64")
                            for j, c in enumerate(cols)])
    stray = np.isnan(nums) & ~is_marker & raw.notna().to_numpy()
    if stray.any():
        i, j = np.argwhere(stray)[0]
        raise ValueError(f"published cell must be a count, '{marker}' or empty, got {raw.iat[i, j]!r} "
                         f"in row {table.index[i]!r}, column {cols[j]!r}")
    return nums, np.isnan(nums)


def audit_recoverability(published: pd.DataFrame, *, count_cols: Sequence[str] | None = None,
                         total_label: str = "Total", marker: str = CONFIDENTIAL_MARKER,
                         threshold: int | None = None) -> pd.DataFrame:
    """Find, for every suppressed cell, the range of values an attacker can deduce from the published table.

    Parameters
    ----------
    published : pandas.DataFrame
        A published table with its margins, as a reader sees it: suppressed
        cells are ``<NA>``/NaN or the marker string (``SuppressedTable.values``
        and ``.display`` both work). The Total column is the column named
        ``total_label``; the Total row is the row whose index label (or first
        label-column value) is ``total_label``. Either or both may be absent.
    count_cols : list of str, optional
        The count columns, Total column included; default every column whose
        non-empty values are all numbers or the marker.
    total_label : str, default 'Total'
    marker : str, default '[c]'
    threshold : int, optional
        When given, ``reveals_small`` is computed.

    Returns
    -------
    pandas.DataFrame
        One row per suppressed cell:

        - ``row``: index label of the cell's row;
        - ``column``: the cell's column;
        - ``lower``, ``upper``: the feasible minimum and maximum (``inf`` when
          unbounded);
        - ``width``: ``upper - lower``;
        - ``recoverable``: True when ``lower == upper`` (the cell's value is
          known exactly);
        - ``reveals_small``: True when ``upper <= threshold - 1`` (the reader
          learns the cell holds a small count; zeros being published, it is
          taken to be non-zero); ``<NA>`` without ``threshold``.

    Raises
    ------
    ValueError
        When the published cells contradict the totals (the table does not add up).

    Notes
    -----
    The attacker's linear programme of Cox (1980) and Fischetti & Salazar-González
    (2001), as recommended for auditing suppression patterns in Hundepool et
    al., *Statistical Disclosure Control* (2012), §4.3: each suppressed cell is
    minimised and maximised subject to every row and column adding to its
    published total and every cell being at least 0, solved with
    ``scipy.optimize.linprog`` (HiGHS). The protection rule: a pattern protects
    a cell when its interval has width > 0; a cell is *recoverable* when
    ``min == max``. Because the constraint matrix of a two-way table with
    margins is totally unimodular, the LP bounds are integers and equal the
    bounds an attacker could find with integer programming. The audit uses only
    the published table, never the true values, so it is an independent check
    on the suppression.
    """
    check_type(published, "published", pd.DataFrame)
    check_type(marker, "marker", str)
    if threshold is not None:
        _check_threshold(threshold)
    if count_cols is None:
        count_cols = []
        for col in published.columns:
            s = published[col].astype("string").str.strip()
            s = s[s.notna() & s.ne(marker)]
            if col != total_label and len(s) and pd.to_numeric(s, errors="coerce").isna().any():
                continue
            count_cols.append(col)
    else:
        count_cols = _check_count_cols(count_cols)
    check_dataframe(published, "published", count_cols)
    rows, cols, M, _ = _augmented(published, count_cols, total_label)
    nums, sup = _published_numbers(published, cols, marker)
    nums, sup = nums[rows].ravel(), sup[rows].ravel()
    lo, hi = _intervals(M, np.where(sup, 0.0, nums), sup)
    idx = np.flatnonzero(sup)
    n_cols = len(cols)
    out = pd.DataFrame({
        "row": published.index[rows[idx // n_cols]],
        "column": [cols[k] for k in idx % n_cols],
        "lower": lo[idx],
        "upper": hi[idx],
    })
    out["width"] = out["upper"] - out["lower"]
    out["recoverable"] = _exposed(lo, hi, None, "exact")[idx]
    if threshold is None:
        out["reveals_small"] = pd.array([pd.NA] * len(out), dtype="boolean")
    else:
        out["reveals_small"] = pd.array(np.isfinite(hi[idx]) & (hi[idx] <= threshold - 1), dtype="boolean")
    return out


# --------------------------------------------------------------------------------------
# Rates
# --------------------------------------------------------------------------------------

def suppress_rates(df: pd.DataFrame, rates: Mapping[str, str], *, mask: pd.DataFrame | None = None,
                   marker: str | None = None, count_marker: str = CONFIDENTIAL_MARKER) -> pd.DataFrame:
    """Suppress every rate (and its interval) whose underlying count is suppressed.

    Parameters
    ----------
    df : pandas.DataFrame
        A published table holding rate columns and the count columns they come from.
    rates : mapping of str to str
        Rate column -> the count column it is derived from, e.g.
        ``{'rate': 'count', 'rate_lower': 'count', 'rate_upper': 'count'}``.
    mask : pandas.DataFrame, optional
        Suppression mask with (at least) the count columns (e.g.
        ``SuppressedTable.mask``). Default: a count is suppressed where it is
        missing or equals ``count_marker``.
    marker : str, optional
        Put this string in suppressed rate cells (display tables); default
        ``<NA>`` with the column kept numeric.
    count_marker : str, default '[c]'

    Returns
    -------
    pandas.DataFrame
        A copy of ``df`` with the rate columns suppressed where their count is.

    Notes
    -----
    A rate with a published denominator (population) reveals its numerator
    (count = rate x population / multiplier), so the GSS guidance requires
    rates, percentages and their confidence limits to be suppressed wherever
    the count is.
    """
    check_type(df, "df", pd.DataFrame)
    if not isinstance(rates, Mapping) or not rates:
        raise TypeError(f"`rates` must be a non-empty mapping of rate column to count column, got {rates!r}")
    check_dataframe(df, "df", list(rates) + sorted(set(rates.values())))
    if mask is not None:
        check_type(mask, "mask", pd.DataFrame)
        check_dataframe(mask, "mask", sorted(set(rates.values())))
        if not mask.index.equals(df.index):
            raise ValueError("`mask` must have the same index as `df`")
    out = df.copy()
    for rate_col, count_col in rates.items():
        if mask is not None:
            hidden = mask[count_col].to_numpy(dtype=bool)
        else:
            counts = df[count_col]
            hidden = (counts.isna() | counts.astype("string").str.strip().eq(count_marker).fillna(False)).to_numpy()
        if marker is None:
            out[rate_col] = pd.to_numeric(out[rate_col], errors="coerce").astype("Float64").mask(hidden)
        else:
            out[rate_col] = out[rate_col].astype(object).mask(hidden, marker)
    return out


# --------------------------------------------------------------------------------------
# Maps
# --------------------------------------------------------------------------------------

def _grey(counts: np.ndarray, threshold: int, sensitivity: str, suppress_zeros: bool, publish_total: bool,
          protection: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """Primary + secondary suppression of a 1-D list of areas against their overall total."""
    table = pd.DataFrame({"count": np.asarray(counts, dtype="int64")})
    res = suppress_table(table, ["count"], threshold, sensitivity,
                         margins="column_totals" if publish_total else "none",
                         suppress_zeros=suppress_zeros, protection=protection)
    n = len(counts)
    mask = res.mask["count"].to_numpy()
    kind = res.kind["count"].to_numpy()
    total_hidden = bool(mask[n]) if publish_total else True
    return mask[:n], kind[:n].astype(object), total_hidden


def suppress_areas(gdf, count_col: str, threshold: int, sensitivity: str = "sensitive", *,
                   method: str = "grey", area_col: str | None = None, suppress_zeros: bool = False,
                   publish_total: bool = True, protection: str = "interval", contiguity: str = "rook"):
    """Apply the threshold rule to a choropleth of counts by area, by greying or by merging areas.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        One row per area (polygons, projected CRS such as EPSG:27700).
    count_col : str
        Whole non-negative counts per area.
    threshold : int
        The partnership's suppression threshold.
    sensitivity : {'public', 'official', 'sensitive', 'personal'}, default 'sensitive'
        ``'public'`` returns the areas unchanged (with the added columns all False/'').
    method : {'grey', 'merge'}, default 'grey'
        ``'grey'``: suppressed areas keep their shape, their count becomes
        ``<NA>`` (draw them grey, labelled "[c]"). ``'merge'``: each area with a
        small count is dissolved with its adjacent area of smallest count until
        every merged area reaches the threshold; areas with no neighbour left
        that are still small are greyed.
    area_col : str, optional
        Column naming the areas (codes); default the index as strings.
    suppress_zeros : bool, default False
    publish_total : bool, default True
        Whether the map (legend, caption, a table beside it) shows the overall
        total. If so, secondary suppression stops a single greyed area being
        worked out as total minus the rest.
    protection : {'interval', 'exact'}, default 'interval'
    contiguity : {'rook', 'queen'}, default 'rook'
        ``'merge'`` only: which areas count as neighbours. ``'queen'`` joins
        areas sharing any boundary point (libpysal Queen weights); ``'rook'``
        (default) needs a shared edge of positive length, so a merged area is
        one visible shape rather than two touching at a corner.

    Returns
    -------
    geopandas.GeoDataFrame
        For ``'grey'``: a copy of ``gdf`` with ``count_col`` as ``Int64``
        (``<NA>`` where suppressed) and columns ``suppressed`` (bool) and
        ``suppression`` (``'primary'``, ``'secondary'`` or ``''``).
        For ``'merge'``: one row per merged area with ``area_col`` (member codes
        joined by ``'+'``), ``count_col`` (summed, ``<NA>`` if still
        suppressed), ``n_areas`` (members), ``merged`` (more than one member),
        ``suppressed``, ``suppression`` and the dissolved ``geometry``; other
        columns are dropped.
        Both carry ``attrs['published_total']`` (the overall total, or None if
        it is suppressed or not published) and ``attrs['footnote']``.

    Notes
    -----
    Greying is the map form of cell suppression (GSS/ONS guidance on
    disclosure control for tables and maps); the areas and their overall total
    form a one-way table with a total, protected by ``suppress_table``.
    Merging is the "aggregation of areas" alternative in the same guidance
    (Hundepool et al. 2012, §4.2, global recoding): it keeps every part of the
    map coloured, at the cost of coarser areas. Adjacency is found with the
    shapely spatial index (``intersects``, which also tolerates the slivers and
    small overlaps of imperfect coverages): all such pairs for Queen
    contiguity, as libpysal's ``Queen`` weights give for a clean coverage, and
    for Rook those whose shared boundary has positive length. Merging is
    greedy: each pass joins the smallest below-threshold area to its
    smallest-count neighbour.
    """
    check_geodataframe(gdf, "gdf", [count_col])
    _check_threshold(threshold)
    check_choice(sensitivity, "sensitivity", SENSITIVITIES)
    check_choice(method, "method", ("grey", "merge"))
    check_choice(contiguity, "contiguity", ("rook", "queen"))
    check_choice(protection, "protection", PROTECTIONS)
    check_nonnegative_counts(gdf[count_col], count_col, where="gdf")
    if area_col is not None:
        check_dataframe(gdf, "gdf", [area_col])
    counts = gdf[count_col].to_numpy(dtype="int64")
    secondary = publish_total
    if method == "grey":
        out = gdf.copy()
        mask, kind, total_hidden = _grey(counts, threshold, sensitivity, suppress_zeros, publish_total,
                                         protection)
        out[count_col] = out[count_col].astype("Int64").mask(mask)
        out["suppressed"] = mask
        out["suppression"] = kind
    else:
        out, total_hidden = _merge_areas(gdf, counts, count_col, threshold, sensitivity, area_col,
                                         suppress_zeros, publish_total, protection, contiguity)
    any_sup = bool(out["suppressed"].any())
    out.attrs["published_total"] = None if (total_hidden or not publish_total) else int(counts.sum())
    footnote = ""
    if any_sup:
        footnote = suppression_footnote(threshold, suppress_zeros=suppress_zeros, secondary=secondary)
    if method == "merge" and bool(out["merged"].any()):
        footnote = (footnote + " " if footnote else "") + \
            "Areas with small counts are merged with a neighbouring area."
    out.attrs["footnote"] = footnote
    return out


def _merge_areas(gdf, counts, count_col, threshold, sensitivity, area_col, suppress_zeros, publish_total,
                 protection, contiguity):
    import scipy.sparse as sp

    n = len(gdf)
    names = (gdf[area_col] if area_col is not None else pd.Series(gdf.index, index=gdf.index)).astype(str)
    labels = np.arange(n)
    if is_protected(sensitivity) and n > 1:
        geoms = gdf.geometry.reset_index(drop=True)
        left, right = geoms.sindex.query(geoms, predicate="intersects")
        keep = left != right
        if contiguity == "rook":
            shared = geoms.iloc[left].reset_index(drop=True).intersection(
                geoms.iloc[right].reset_index(drop=True), align=False)
            keep &= (shared.length > 0).to_numpy()
        adj = sp.csr_matrix((np.ones(keep.sum(), dtype=bool), (left[keep], right[keep])), shape=(n, n))
        low = 0 if suppress_zeros else 1
        stuck = np.zeros(n, dtype=bool)  # group labels that have no neighbour to merge with
        while True:
            group_counts = np.bincount(labels, weights=counts, minlength=n)
            alive = np.bincount(labels, minlength=n) > 0
            small = alive & ~stuck & (group_counts >= low) & (group_counts <= threshold - 1)
            if not small.any():
                break
            g = int(np.flatnonzero(small)[np.argmin(group_counts[small])])
            members = labels == g
            touching = np.asarray(adj[members].sum(axis=0)).ravel() > 0
            neighbours = np.setdiff1d(np.unique(labels[touching]), [g])
            if neighbours.size == 0:
                stuck[g] = True
                continue
            h = int(neighbours[np.argmin(group_counts[neighbours])])
            labels[members] = h
    frame = gdf.reset_index(drop=True).assign(_group=labels, _name=names.to_numpy())
    merged = frame[[frame.geometry.name, "_group"]].dissolve(by="_group")
    grouped = frame.groupby("_group")
    merged[count_col] = grouped[count_col].sum().astype("int64")
    merged[area_col or "area"] = grouped["_name"].agg("+".join)
    merged["n_areas"] = grouped.size()
    merged["merged"] = merged["n_areas"] > 1
    mask, kind, total_hidden = _grey(merged[count_col].to_numpy(), threshold, sensitivity, suppress_zeros,
                                     publish_total, protection)
    if mask.any():
        warnings.warn(f"{int(mask.sum())} merged area(s) could not reach the threshold (no neighbour left) "
                      "and are greyed", stacklevel=3)
    merged[count_col] = merged[count_col].astype("Int64").mask(mask)
    merged["suppressed"] = mask
    merged["suppression"] = kind
    merged = merged.reset_index(drop=True)
    cols = [area_col or "area", count_col, "n_areas", "merged", "suppressed", "suppression", merged.geometry.name]
    return merged[cols], total_hidden


# --------------------------------------------------------------------------------------
# Linked tables: every table of one edition that counts the same protected data
# --------------------------------------------------------------------------------------

LINK_OTHER = "\u0000other"
"""Level standing for every value of a dimension that a table does not show (internal)."""

_LINK_MAX_CELLS = 20_000_000
"""Largest (published cells x atoms) system the joint audit builds before giving up with a warning."""


@dataclass
class LinkedTable:
    """One published table of protected counts, as the edition's disclosure register keeps it.

    Tables with the same ``dataset`` and ``scope`` count the same population of records, so a
    reader can combine them: a cell of one is a sum of cells of the other wherever they share a
    dimension. ``audit_linked`` and ``suppress_table(link=...)`` treat all such tables of one
    edition as one system.

    Attributes
    ----------
    name : str
        Names the table in messages (e.g. its CSV file name).
    dataset : str
        The protected source: a catalogue key (several joined with ``'+'``).
    scope : str
        Whatever else fixes the records counted (period, category filter); ``''`` when the
        table counts every record of ``dataset`` in the edition's window.
    dimensions : tuple of str
        ``(row_dimension,)`` for a one-way table (one count column) or
        ``(row_dimension, column_dimension)``: the row labels are values of the first, the
        count columns values of the second (e.g. ``('ward', 'category')``).
    rows, columns : tuple of str
        Interior row labels and count-column labels (totals excluded).
    row_totals, col_totals : bool
        Whether a Total column (each row's total) / a Total row is published.
    values : numpy.ndarray
        The published grid, ``len(rows) + col_totals`` by ``len(columns) + row_totals``
        (Total row last, Total column last), NaN where suppressed.
    document : str
        The document (file stem) that published it.
    fixed : dict of str to str
        Dimensions the table is a slice of, with the one value it shows (e.g.
        ``{'concern': 'Burglary'}`` for a ward-by-rank table of residents naming burglary),
        so that it links to tables that show that dimension.
    """

    name: str
    dataset: str
    scope: str
    dimensions: tuple
    rows: tuple
    columns: tuple
    row_totals: bool
    col_totals: bool
    values: np.ndarray
    document: str = ""
    fixed: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        """``(dataset, scope)``: tables with the same key are audited together."""
        return (self.dataset, self.scope)

    def to_dict(self) -> dict:
        """A JSON-ready dict (suppressed cells as ``None``)."""
        grid = [[None if np.isnan(v) else int(round(v)) for v in row] for row in np.asarray(self.values, float)]
        return {"name": self.name, "document": self.document, "dataset": self.dataset, "scope": self.scope,
                "dimensions": list(self.dimensions), "rows": list(self.rows), "columns": list(self.columns),
                "row_totals": bool(self.row_totals), "col_totals": bool(self.col_totals), "values": grid,
                "fixed": {str(k): str(v) for k, v in self.fixed.items()}}

    @classmethod
    def from_dict(cls, data: Mapping) -> "LinkedTable":
        """Inverse of ``to_dict``; raises ``ValueError`` naming what is wrong."""
        need = ("name", "dataset", "scope", "dimensions", "rows", "columns", "row_totals", "col_totals", "values")
        missing = [k for k in need if k not in data]
        if missing:
            raise ValueError(f"a linked-table entry must have {', '.join(need)}, got none for {', '.join(missing)}")
        values = np.array([[np.nan if v is None else float(v) for v in row] for row in data["values"]], dtype=float)
        t = cls(name=str(data["name"]), dataset=str(data["dataset"]), scope=str(data["scope"]),
                dimensions=tuple(str(d) for d in data["dimensions"]), rows=tuple(str(r) for r in data["rows"]),
                columns=tuple(str(c) for c in data["columns"]), row_totals=bool(data["row_totals"]),
                col_totals=bool(data["col_totals"]), values=values.reshape(-1, max(1, len(data["columns"])
                                                                                  + int(bool(data["row_totals"])))),
                document=str(data.get("document", "")),
                fixed={str(k): str(v) for k, v in dict(data.get("fixed") or {}).items()})
        _check_linked_shape(t)
        return t


def _check_linked_shape(t: LinkedTable) -> None:
    shape = (len(t.rows) + int(t.col_totals), len(t.columns) + int(t.row_totals))
    if t.values.shape != shape:
        raise ValueError(f"linked table {t.name!r} must have a {shape[0]} x {shape[1]} grid of values, "
                         f"got {t.values.shape[0]} x {t.values.shape[1]}")
    if len(t.dimensions) not in (1, 2) or len(set(t.dimensions)) != len(t.dimensions):
        raise ValueError(f"linked table {t.name!r} must have one or two distinct dimensions, got {t.dimensions!r}")
    if set(t.fixed) & set(t.dimensions):
        raise ValueError(f"linked table {t.name!r} cannot fix a dimension it shows, got fixed {sorted(t.fixed)!r} "
                         f"and dimensions {list(t.dimensions)!r}")
    if len(t.dimensions) == 1 and len(t.columns) != 1:
        raise ValueError(f"linked table {t.name!r} has one dimension ({t.dimensions[0]!r}), so it must have one "
                         f"count column, got {len(t.columns)}: {list(t.columns)!r}; name the columns' dimension")


def _row_labels(table: pd.DataFrame, rows: np.ndarray, count_cols: list, n_interior: int) -> tuple:
    labels = _label_cols(table, count_cols)
    source = table[labels[0]] if labels else pd.Series(table.index, index=table.index)
    return tuple(str(v) for v in source.to_numpy()[rows[:n_interior]])


def linked_table(published: pd.DataFrame, *, name: str, dataset: str, dimensions: Sequence[str], scope: str = "",
                 count_cols: Sequence[str] | None = None, total_label: str = "Total",
                 marker: str = CONFIDENTIAL_MARKER, document: str = "") -> LinkedTable:
    """Describe a published table of protected counts for the edition's joint audit.

    Parameters
    ----------
    published : pandas.DataFrame
        The table as published (``SuppressedTable.display`` or ``.values``, or a CSV read
        back): suppressed cells are the marker or missing. Row labels are the first label
        column's values (the index when there is none); the Total row is labelled
        ``total_label``.
    name : str
        Names the table in messages.
    dataset : str
        Catalogue key of the protected dataset counted (several joined with ``'+'``).
    dimensions : sequence of str
        ``(row_dimension,)`` or ``(row_dimension, column_dimension)``; see ``LinkedTable``.
    scope : str, default ''
        What else fixes the records counted (e.g. ``'2024'`` or ``'theme=violence'``).
    count_cols : list of str, optional
        Count columns, Total column included; default every column but the first label column.
    total_label, marker : str
    document : str, default ''

    Returns
    -------
    LinkedTable
    """
    check_type(published, "published", pd.DataFrame)
    for value, label in ((name, "name"), (dataset, "dataset"), (scope, "scope")):
        check_type(value, label, str)
    dims = tuple(dimensions) if not isinstance(dimensions, str) else (dimensions,)
    if count_cols is None:
        count_cols = list(published.columns[1:]) if len(published.columns) > 1 else list(published.columns)
    count_cols = _check_count_cols(count_cols)
    check_dataframe(published, "published", count_cols)
    rows, cols, row_totals, col_totals = _find_margins(published, count_cols, total_label)
    nums, _ = _published_numbers(published, cols, marker)
    n_interior = len(rows) - int(col_totals)
    t = LinkedTable(name=name, dataset=dataset, scope=scope, dimensions=dims,
                    rows=_row_labels(published, rows, count_cols, n_interior),
                    columns=tuple(str(c) for c in cols[:len(cols) - int(row_totals)]),
                    row_totals=row_totals, col_totals=col_totals, values=nums[rows], document=document)
    _check_linked_shape(t)
    return t


def _link_levels(tables: Sequence[LinkedTable]) -> tuple[list[str], dict[str, list[str]]]:
    dims: list[str] = []
    levels: dict[str, set] = {}
    for t in tables:
        for k, d in enumerate(t.dimensions):
            if d not in levels:
                dims.append(d)
                levels[d] = set()
            levels[d].update(t.rows if k == 0 else t.columns)
        for d, v in t.fixed.items():
            if d not in levels:
                dims.append(d)
                levels[d] = set()
            levels[d].add(v)
    return dims, {d: sorted(levels[d]) + [LINK_OTHER] for d in dims}


def _cell_matrix(t: LinkedTable, dims: list[str], levels: dict[str, list[str]]) -> np.ndarray:
    """Each published cell of ``t`` (row-major over its grid) as a 0/1 vector over the atoms of ``dims``."""
    nr, nc = len(t.rows) + int(t.col_totals), len(t.columns) + int(t.row_totals)
    out = np.ones((nr, nc))
    for d in dims:
        pos = {v: i for i, v in enumerate(levels[d])}
        width = len(levels[d])
        if d in t.dimensions:
            labels = t.rows if t.dimensions.index(d) == 0 else t.columns
            one = np.zeros((len(labels), width))
            one[np.arange(len(labels)), [pos[v] for v in labels]] = 1.0
            along_rows = t.dimensions.index(d) == 0
            if (t.col_totals if along_rows else t.row_totals):
                one = np.vstack([one, one.sum(axis=0)])
            f = one[:, None, :] if along_rows else one[None, :, :]
        elif d in t.fixed:
            f = np.zeros((1, 1, width))
            f[0, 0, pos[t.fixed[d]]] = 1.0
        else:
            f = np.ones((1, 1, width))
        out = out[..., None] * f.reshape(f.shape[0], f.shape[1], *([1] * (out.ndim - 2)), width)
    return out.reshape(nr * nc, -1)


def _link_ranges(A: np.ndarray, b: np.ndarray, H: np.ndarray, names: Sequence[str],
                 programme: _Programme | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Integer-rounded [min, max] of each row of ``H @ x`` subject to ``A x = b``, ``x >= 0``.

    Raises ValueError when ``A x = b`` has no non-negative solution.
    """
    lo = np.zeros(H.shape[0])
    hi = np.full(H.shape[0], np.inf)
    if A.shape[0] == 0:
        return lo, hi
    programme = _Programme(A, b) if programme is None else programme
    if programme.solve(np.zeros(A.shape[1]))[0] == 2:
        raise ValueError("linked tables " + ", ".join(repr(n) for n in names) + " must count the same records "
                         "where they share a dataset, scope and dimension, got published values that cannot "
                         "all be true at once; give tables of different periods or filters different scopes")
    for k in range(H.shape[0]):
        status, fun = programme.solve(H[k])
        lo[k] = np.ceil(fun - _TOL) if status == 0 else 0.0
        status, fun = programme.solve(-H[k])
        hi[k] = np.floor(-fun + _TOL) if status == 0 else np.inf
    return lo, hi


def _link_exposed(A: np.ndarray, b: np.ndarray, h: np.ndarray, threshold: int,
                  programme: _Programme | None = None) -> bool:
    """Whether ``h @ x`` is exposed under ``A x = b``, ``x >= 0`` (as ``_exposed`` on ``_link_ranges``).

    The maximum is found first: an unbounded maximum is safe and a maximum below the threshold is
    exposed whatever the minimum, so the second program is solved only when it can decide.
    """
    lo, hi = np.zeros(1), np.full(1, np.inf)
    if A.shape[0]:
        programme = _Programme(A, b) if programme is None else programme
        status, fun = programme.solve(-h)
        hi[0] = np.floor(-fun + _TOL) if status == 0 else np.inf
        if np.isfinite(hi[0]) and hi[0] > threshold - 1:
            status, fun = programme.solve(h)
            lo[0] = np.ceil(fun - _TOL) if status == 0 else 0.0
    return bool(_exposed(lo, hi, threshold, "interval")[0])


def _link_group(tables: Sequence[LinkedTable]) -> tuple[list[np.ndarray], bool]:
    dims, levels = _link_levels(tables)
    atoms = int(np.prod([len(levels[d]) for d in dims]))
    cells = sum(t.values.size for t in tables)
    if atoms * cells > _LINK_MAX_CELLS:
        warnings.warn(f"linked tables of {tables[0].dataset!r} ({len(tables)} tables, {cells} cells over "
                      f"{atoms} combinations of {', '.join(dims)}) are too large to audit jointly; each is "
                      "audited alone", stacklevel=3)
        return [], False
    return [_cell_matrix(t, dims, levels) for t in tables], True


def audit_linked(tables: Sequence[LinkedTable], *, threshold: int | None = None) -> pd.DataFrame:
    """Audit every suppressed cell of several published tables jointly, as one reader holding them all.

    Parameters
    ----------
    tables : sequence of LinkedTable
        The published tables of one edition (``linked_table`` or the edition's register).
        Tables with the same ``(dataset, scope)`` are combined; others are audited apart.
    threshold : int, optional
        When given, ``reveals_small`` and ``narrow`` are computed.

    Returns
    -------
    pandas.DataFrame
        One row per suppressed cell: ``table`` (name), ``document``, ``row``, ``column``
        (``'Total'`` for margins), ``lower``, ``upper``, ``width``, ``recoverable``
        (``lower == upper``), ``reveals_small`` (``upper <= threshold - 1``) and ``narrow``
        (``width < threshold``: the cell is pinned to fewer values than the threshold).

    Raises
    ------
    ValueError
        When tables with the same dataset and scope contradict each other.

    Notes
    -----
    Linked-tables cell suppression audit (Hundepool et al., *Statistical Disclosure
    Control*, Wiley 2012, §4.4 "linked tables"; de Wolf & Giessing, "Adjusting the tau-ARGUS
    modular approach to deal with linked tables", Data & Knowledge Engineering 68, 2009). The
    records counted are split into atoms, one per combination of the values of every
    dimension any of the tables uses (plus an "other" value for what a table does not show);
    each published cell is the sum of its atoms. Each suppressed cell is minimised and
    maximised over non-negative atoms reproducing every published cell of every table
    (``scipy.optimize.linprog``, HiGHS), and the bounds are rounded inwards to whole counts.
    With more than two dimensions the LP bounds may be wider than an integer attacker's, so
    the audit can pass a pattern an integer programme would narrow.
    """
    if threshold is not None:
        _check_threshold(threshold)
    tables = list(tables)
    for t in tables:
        check_type(t, "tables[i]", LinkedTable)
    out = []
    groups: dict[tuple, list[LinkedTable]] = {}
    for t in tables:
        groups.setdefault(t.key, []).append(t)
    for group in groups.values():
        mats, ok = _link_group(group)
        if not ok:
            continue
        A = np.vstack(mats)
        v = np.concatenate([t.values.ravel() for t in group])
        hidden = np.isnan(v)
        if not hidden.any():
            continue
        lo, hi = _link_ranges(A[~hidden], v[~hidden], A[hidden], [t.name for t in group])
        where = []
        for t in group:
            cols = list(t.columns) + (["Total"] if t.row_totals else [])
            rws = list(t.rows) + (["Total"] if t.col_totals else [])
            where += [(t.name, t.document, r, c) for r in rws for c in cols]
        where = [w for w, h in zip(where, hidden) if h]
        frame = pd.DataFrame(where, columns=["table", "document", "row", "column"])
        frame["lower"], frame["upper"] = lo, hi
        out.append(frame)
    cols = ["table", "document", "row", "column", "lower", "upper"]
    res = pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=cols).astype(
        {"lower": float, "upper": float})
    res["width"] = res["upper"] - res["lower"]
    res["recoverable"] = np.isfinite(res["upper"].to_numpy(float)) & (res["width"].to_numpy(float) < _TOL)
    if threshold is None:
        res["reveals_small"] = pd.array([pd.NA] * len(res), dtype="boolean")
        res["narrow"] = pd.array([pd.NA] * len(res), dtype="boolean")
    else:
        up = res["upper"].to_numpy(float)
        res["reveals_small"] = pd.array(np.isfinite(up) & (up <= threshold - 1), dtype="boolean")
        res["narrow"] = pd.array(res["width"].to_numpy(float) < threshold - _TOL, dtype="boolean")
    return res


def _suppress_linked(new: LinkedTable, true_grid: np.ndarray, mask: np.ndarray, is_total: np.ndarray,
                     M_own: np.ndarray, published: Sequence[LinkedTable], threshold: int) -> np.ndarray:
    """Extend a table's mask (flat, grid order) until no hidden cell of it or of ``published`` is narrowed."""
    group = [t for t in published if t.key == new.key]
    if not group:
        return mask
    mats, ok = _link_group(group + [new])
    if not ok:
        return mask
    fixed_A = np.vstack(mats[:-1])
    fixed_v = np.concatenate([t.values.ravel() for t in group])
    fixed_hidden = np.isnan(fixed_v)
    new_A = mats[-1]
    new_v = true_grid.ravel().astype(float)
    names = [t.name for t in group] + [new.name]
    # Cells the earlier tables already expose among themselves cannot be mended by this one.
    lo0, hi0 = _link_ranges(fixed_A[~fixed_hidden], fixed_v[~fixed_hidden], fixed_A[fixed_hidden], names)
    already = _exposed(lo0, hi0, threshold, "interval")
    if already.any():
        warnings.warn(f"{int(already.sum())} suppressed cell(s) of earlier tables of {new.dataset!r} can already "
                      f"be narrowed from those tables alone; {new.name!r} is protected against the rest",
                      stacklevel=4)
    # Cells of this table the earlier tables already pin down (e.g. a total another table shows):
    # hiding more here cannot widen them, so they are not counted against this table's pattern.
    lo1, hi1 = _link_ranges(fixed_A[~fixed_hidden], fixed_v[~fixed_hidden], new_A, names)
    known = _exposed(lo1, hi1, threshold, "interval")
    mask = mask.copy()
    support = new_A > 0
    # Hiding more cells only removes equations, so every hidden cell's feasible range can only
    # widen and a cell once found safe stays safe: each round re-checks only the cells not yet
    # found safe, in order, and stops at the first exposed one (the one the full audit would
    # pick first). Cells exempted above (``already``, ``known``) are never counted as exposed.
    safe_fixed = already.copy()
    safe_new = known.copy()
    fixed_H = fixed_A[fixed_hidden]
    while True:
        A = np.vstack([fixed_A[~fixed_hidden], new_A[~mask]])
        b = np.concatenate([fixed_v[~fixed_hidden], new_v[~mask]])
        rows = [("fixed", i) for i in np.flatnonzero(~safe_fixed)]
        rows += [("new", int(i)) for i in np.flatnonzero(mask & ~safe_new)]
        first_bad = None
        programme = _Programme(A, b) if rows and A.shape[0] else None  # one model per round
        if rows:
            _link_ranges(A, b, np.zeros((0, A.shape[1])), names, programme)  # the feasibility check, once per round
        for kind, i in rows:
            h = fixed_H[i] if kind == "fixed" else new_A[i]
            if _link_exposed(A, b, h, threshold, programme):
                first_bad = h
                break
            if kind == "fixed":
                safe_fixed[i] = True
            else:
                safe_new[i] = True
        if first_bad is None or mask.all():
            return mask
        atoms = first_bad > 0
        cands = np.flatnonzero(~mask & support[:, atoms].any(axis=1))
        if cands.size == 0:
            cands = np.flatnonzero(~mask)
        mask[_pick(cands, new_v, is_total, np.zeros_like(mask))] = True
        if M_own.shape[0]:
            mask = _heuristic(M_own, new_v, mask, is_total)


def read_register(path: str | Path) -> list[LinkedTable]:
    """Read an edition's register of published protected tables (``[]`` when there is none yet).

    Parameters
    ----------
    path : str or pathlib.Path
        The register file (``assessment.paths.disclosure_register(out_dir)``).

    Returns
    -------
    list of LinkedTable

    Raises
    ------
    DisclosureError
        When the file exists but cannot be read as a register: the edition's tables could then
        not be audited together, so nothing further is published until it is mended or removed.
    """
    import json

    check_type(path, "path", (str, Path))
    path = Path(path)
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["tables"]
        return [LinkedTable.from_dict(e) for e in entries]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DisclosureError(f"the disclosure register {path} must be a JSON object with a 'tables' list of "
                              f"published tables, got an unreadable file ({type(exc).__name__}: {exc}); "
                              "delete it and render every document of the edition again") from None


def write_register(path: str | Path, tables: Sequence[LinkedTable]) -> Path:
    """Write an edition's register of published protected tables (published values only) atomically."""
    import json
    import os

    check_type(path, "path", (str, Path))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"about": "Protected tables published in this folder, as published (suppressed cells null); "
                     "every new table of the same dataset and scope is audited against them.",
            "tables": [t.to_dict() for t in tables]}
    tmp = path.with_name(f".{path.name}.tmp")
    lines = ",\n".join("  " + json.dumps(t.to_dict(), separators=(",", ":")) for t in tables)
    text = '{"about": ' + json.dumps(body["about"]) + ',\n "tables": [\n' + lines + "\n ]}\n"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------------------
# Scanners
# --------------------------------------------------------------------------------------

def check_published(df: pd.DataFrame, count_cols: Sequence[str], threshold: int, sensitivity: str = "sensitive",
                    *, suppress_zeros: bool = False, marker: str = CONFIDENTIAL_MARKER,
                    where: str | None = None) -> None:
    """Raise ``DisclosureError`` if a published table shows a count from 1 to ``threshold - 1``.

    Parameters
    ----------
    df : pandas.DataFrame
        The table about to be published (numbers, numeric strings, the marker,
        other GSS symbols such as ``[x]``, or empty cells).
    count_cols : list of str
        The count columns to check (include totals).
    threshold : int
    sensitivity : str, default 'sensitive'
        ``'public'`` data is not checked.
    suppress_zeros : bool, default False
        Treat a published 0 as disclosive too.
    marker : str, default '[c]'
    where : str, optional
        Names the table in the message.

    Returns
    -------
    None

    Raises
    ------
    DisclosureError
        Naming the first offending cells (row, column, value).

    Notes
    -----
    The threshold rule of the GSS/ONS disclosure-control guidance, as a guard
    at the point of publication.
    """
    check_type(df, "df", pd.DataFrame)
    count_cols = _check_count_cols(count_cols)
    check_dataframe(df, "df", count_cols, where=where)
    _check_threshold(threshold)
    check_choice(sensitivity, "sensitivity", SENSITIVITIES)
    if not is_protected(sensitivity):
        return
    nums = np.column_stack([
        pd.to_numeric(df[c].astype("string").str.replace(",", "", regex=False).str.strip(), errors="coerce")
        .to_numpy(dtype="float64", na_value=np.nan) for c in count_cols])
    low = 0 if suppress_zeros else 1
    bad = (nums >= low) & (nums <= threshold - 1)
    if bad.any():
        cells = np.argwhere(bad)
        shown = "; ".join(f"row {df.index[i]!r} column {count_cols[j]!r} = {df[count_cols[j]].iloc[i]}"
                          for i, j in cells[:5])
        more = f" (and {len(cells) - 5} more)" if len(cells) > 5 else ""
        raise DisclosureError(f"published counts must be suppressed below {threshold} for {sensitivity} data, "
                              f"got {len(cells)} small count(s){_in(where)}: {shown}{more}")


def _in(where: str | None) -> str:
    return f" in {where}" if where else ""


NON_COUNT_HEADER = re.compile(
    r"rate|per\s*(1|10|100|head|cap)|%|percent|proportion|ratio|share|year|month|date|rank|"
    r"\bci\b|lower|upper|mean|median|average|index|score|\bz\b|\bp\b|p-value|population|code|\bid\b|week|"
    r"hour|day|age|band|change",
    re.IGNORECASE,
)
"""Header text of columns ``find_small_counts`` skips when no ``count_cols`` are given."""

_INT = re.compile(r"^\d+(?:\.0+)?$")


class _TableParser(HTMLParser):
    """Collect every <table> as header rows, data rows and its attributes; expands colspan/rowspan."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[dict] = []
        self._stack: list[dict] = []
        self._cell: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._stack.append({"attrs": a, "rows": [], "row": None, "section": None})
        elif not self._stack:
            return
        elif tag in ("thead", "tbody", "tfoot"):
            self._stack[-1]["section"] = tag
        elif tag == "tr":
            self._stack[-1]["row"] = {"section": self._stack[-1]["section"], "cells": []}
        elif tag in ("td", "th") and self._stack[-1]["row"] is not None:
            self._cell = {"tag": tag, "text": [], "colspan": _span(a.get("colspan")),
                          "rowspan": _span(a.get("rowspan"))}
        elif tag == "br" and self._cell is not None:
            self._cell["text"].append(" ")

    def handle_endtag(self, tag):
        if not self._stack:
            return
        t = self._stack[-1]
        if tag in ("td", "th") and self._cell is not None:
            t["row"]["cells"].append(self._cell)
            self._cell = None
        elif tag == "tr" and t["row"] is not None:
            if self._cell is not None:
                t["row"]["cells"].append(self._cell)
                self._cell = None
            t["rows"].append(t["row"])
            t["row"] = None
        elif tag in ("thead", "tbody", "tfoot"):
            t["section"] = None
        elif tag == "table":
            if t["row"] is not None:
                t["rows"].append(t["row"])
            self.tables.append(self._stack.pop())

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"].append(data)


def _span(value) -> int:
    try:
        return max(1, min(int(value), 1000))
    except (TypeError, ValueError):
        return 1


def _grid(rows: list[dict]) -> list[list[dict | None]]:
    """Lay cells on a grid honouring colspan and rowspan (spanned copies are marked)."""
    grid: list[list[dict | None]] = []
    pending: dict[tuple[int, int], dict] = {}
    for r, row in enumerate(rows):
        out: list[dict | None] = []
        c = 0
        cells = iter(row["cells"])
        while True:
            if (r, c) in pending:
                out.append(pending.pop((r, c)))
                c += 1
                continue
            cell = next(cells, None)
            if cell is None:
                break
            for k in range(cell["colspan"]):
                copy = cell if k == 0 else {**cell, "spanned": True}
                out.append(copy)
                for dr in range(1, cell["rowspan"]):
                    pending[(r + dr, c + k)] = {**cell, "spanned": True}
            c += cell["colspan"]
        grid.append(out)
    return grid


def _html_tables(text: str) -> list[tuple[dict, list[str], list[list[tuple[str, bool]]]]]:
    parser = _TableParser()
    parser.feed(text)
    parser.close()
    tables = []
    for t in parser.tables:
        rows = t["rows"]
        grid = _grid(rows)
        n_head = 0
        for row, cells in zip(rows, grid):
            all_th = bool(cells) and all(c is not None and c["tag"] == "th" for c in cells)
            if row["section"] == "thead" or (row["section"] is None and all_th):
                n_head += 1
            else:
                break
        width = max((len(g) for g in grid), default=0)
        headers = []
        for j in range(width):
            parts = []
            for g in grid[:n_head]:
                if j < len(g) and g[j] is not None:
                    txt = " ".join("".join(g[j]["text"]).split())
                    if txt and (not parts or parts[-1] != txt):
                        parts.append(txt)
            headers.append(" / ".join(parts))
        body = []
        for g in grid[n_head:]:
            body.append([(" ".join("".join(c["text"]).split()), c["tag"] == "td" and not c.get("spanned"))
                         if c is not None else ("", False) for c in g])
        tables.append((t["attrs"], headers, body))
    return tables


def find_small_counts(text: str, threshold: int, *, count_cols: Sequence[str] | None = None, fmt: str = "auto",
                      suppress_zeros: bool = False, only_marked: bool = False) -> pd.DataFrame:
    """Scan rendered HTML or CSV text for published counts from 1 to ``threshold - 1``.

    Parameters
    ----------
    text : str
        An HTML document (every ``<table>`` is scanned) or a CSV file's text.
    threshold : int
    count_cols : list of str, optional
        Scan only columns with these headers (a multi-row HTML header matches
        on its full text ``'A / B'`` or on its last part). Default: every column
        except those whose header matches ``NON_COUNT_HEADER`` (rates,
        percentages, years, ranks, codes, populations, ...).
    fmt : {'auto', 'html', 'csv'}, default 'auto'
        ``'auto'`` reads HTML when the text contains ``<table``.
    suppress_zeros : bool, default False
        Report published zeros too.
    only_marked : bool, default False
        HTML only: scan only tables marked ``data-sensitivity`` = official,
        sensitive or personal. Tables marked ``data-sensitivity="public"`` are
        always skipped.

    Returns
    -------
    pandas.DataFrame
        One row per finding: ``table`` (0-based table number in the page; 0 for
        CSV), ``row`` (1-based data row), ``column`` (header text), ``value``
        (the cell text).

    Notes
    -----
    Parsed with the standard library's ``html.parser`` (no lxml or html5lib
    needed), honouring ``<thead>``, header rows of ``<th>`` cells, ``colspan``
    and ``rowspan``. Body ``<th>`` cells are row labels (pandas renders the
    index that way) and are not scanned. A cell counts as a published count
    when its text is a whole number, thousands separators and a trailing
    ``.0`` allowed; decimals, percentages and GSS symbols (``[c]``, ``[x]``,
    ``[z]``) are not counts. Cells spanning several columns are scanned once.
    The check is the GSS threshold rule applied to the rendered output.
    """
    check_type(text, "text", str)
    _check_threshold(threshold)
    check_choice(fmt, "fmt", ("auto", "html", "csv"))
    wanted = None if count_cols is None else {str(c).strip() for c in _check_count_cols(count_cols)}
    if fmt == "auto":
        fmt = "html" if "<table" in text.lower() else "csv"
    if fmt == "html":
        tables = _html_tables(text)
    else:
        reader = list(csv.reader(io.StringIO(text)))
        headers = [h.strip() for h in reader[0]] if reader else []
        tables = [({}, headers, [[(v.strip(), True) for v in r] for r in reader[1:]])]
    low = 0 if suppress_zeros else 1
    found = []
    for t, (attrs, headers, body) in enumerate(tables):
        mark = (attrs.get("data-sensitivity") or "").strip().lower()
        if mark == "public" or (only_marked and mark not in ("official", "sensitive", "personal")):
            continue
        scan = []
        for h in headers:
            if wanted is not None:
                scan.append(h in wanted or h.split(" / ")[-1] in wanted)
            else:
                scan.append(not NON_COUNT_HEADER.search(h))
        for r, cells in enumerate(body, start=1):
            for j, (value, is_data) in enumerate(cells):
                if not is_data or (j < len(scan) and not scan[j]) or (j >= len(scan) and wanted is not None):
                    continue
                clean = value.replace(",", "").replace("\u00a0", "").strip()
                if _INT.match(clean) and low <= float(clean) <= threshold - 1:
                    found.append({"table": t, "row": r, "column": headers[j] if j < len(headers) else "",
                                  "value": value})
    return pd.DataFrame(found, columns=["table", "row", "column", "value"])


def check_published_text(text: str, threshold: int, *, count_cols: Sequence[str] | None = None,
                         fmt: str = "auto", suppress_zeros: bool = False, only_marked: bool = False,
                         where: str | None = None) -> None:
    """Raise ``DisclosureError`` if rendered HTML or CSV text shows a count from 1 to ``threshold - 1``.

    Parameters are those of ``find_small_counts``, plus ``where`` (the file or
    document name for the message).

    Returns
    -------
    None

    Raises
    ------
    DisclosureError
        Listing the first offending cells (table, row, column, value).

    Notes
    -----
    The GSS threshold rule applied to what the partner actually receives; see
    ``find_small_counts`` for how cells are read.
    """
    found = find_small_counts(text, threshold, count_cols=count_cols, fmt=fmt, suppress_zeros=suppress_zeros,
                              only_marked=only_marked)
    if len(found):
        head = found.head(5)
        shown = "; ".join(f"table {t} row {r} column {c!r} = {v!r}"
                          for t, r, c, v in zip(head["table"], head["row"], head["column"], head["value"]))
        more = f" (and {len(found) - 5} more)" if len(found) > 5 else ""
        raise DisclosureError(f"published output must not show counts below {threshold}, got {len(found)} small "
                              f"count(s){_in(where)}: {shown}{more}")


# --------------------------------------------------------------------------------------
# The analyst's restricted folder
# --------------------------------------------------------------------------------------

def restricted_dir(out_dir: str | Path, *, create: bool = True) -> Path:
    """Return the only folder where unsuppressed tables of protected data may be written.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The run's output folder.
    create : bool, default True
        Create the folder and write its ``README.txt`` warning (idempotent).

    Returns
    -------
    pathlib.Path
        ``out_dir / 'restricted_unsuppressed'``.

    Notes
    -----
    Keeping unsuppressed working tables apart, clearly labelled and out of what
    is shared, follows the GSS guidance that disclosure control is applied to
    everything released, and that the unprotected source stays under the
    information sharing agreement. The document renderer must never copy or
    link this folder; ``is_restricted`` tells it what to refuse.
    """
    check_type(out_dir, "out_dir", (str, Path))
    folder = Path(out_dir) / RESTRICTED_DIRNAME
    if create:
        folder.mkdir(parents=True, exist_ok=True)
        readme = folder / "README.txt"
        if not readme.exists():
            readme.write_text(RESTRICTED_README, encoding="utf-8")
    return folder


def is_restricted(path: str | Path) -> bool:
    """Return True when ``path`` lies in (or is) a ``restricted_unsuppressed`` folder; such files are never published."""
    check_type(path, "path", (str, Path))
    return RESTRICTED_DIRNAME in Path(path).parts
