"""Progress against a strategy's targets: met, not met, or cannot be measured (one judgement).

Every document that says whether a target was met takes the answer from
:func:`target_judgement`, so the strategic assessment and the audit cannot disagree.

Directions (as :func:`assessment.analysis.smart.smart_check` resolves them from the target's
fields or its text):

=============  =========================================  ====================================
direction      words                                      met when (``level`` = target level)
=============  =========================================  ====================================
decrease       reduce, decrease, cut, lower, halve, ...   latest <= baseline less the size
increase       increase, grow, double, boost              latest >= baseline plus the size
keep below     keep / hold / maintain ... below (under)   latest < baseline less any size
keep above     keep / hold / maintain ... above (over)    latest > baseline plus any size
maintain       maintain, sustain, hold (no side named)    cannot be measured: no side is named
=============  =========================================  ====================================

A size in per cent (unit ``%`` or none) scales the baseline; a size in any other unit ("by 50
offences") is added to or taken from it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from assessment.checks import check_type

__all__ = ["TARGET_STATUSES", "TARGET_DIRECTIONS", "target_judgement"]

#: the three answers a target can get
TARGET_STATUSES = ("met", "not met", "cannot be measured")
#: the directions :func:`target_judgement` judges (``maintain`` always cannot be measured)
TARGET_DIRECTIONS = ("decrease", "increase", "keep below", "keep above", "maintain")


def _series(x: Any, index: pd.Index, name: str) -> pd.Series:
    if isinstance(x, pd.Series):
        return x.reset_index(drop=True).set_axis(index)
    arr = np.asarray(x, dtype=object)
    if arr.ndim == 0:
        arr = np.repeat(arr, len(index))
    if len(arr) != len(index):
        raise ValueError(f"`{name}` must have one value per target ({len(index)}), got {len(arr)}")
    return pd.Series(arr, index=index, dtype=object)


def target_judgement(direction: Any, size: Any, baseline: Any, latest: Any, size_unit: Any = None) -> pd.DataFrame:
    """Judge each target against its latest recorded value: met, not met, or cannot be measured.

    Parameters
    ----------
    direction : array-like of str
        ``decrease``, ``increase``, ``keep below``, ``keep above`` or ``maintain`` (as
        :func:`~assessment.analysis.smart.smart_check` returns it); missing or other values
        cannot be measured.
    size : array-like of float
        The size of change (10 for "by 10%"); missing is taken as 0 for ``keep below`` and
        ``keep above`` and makes ``decrease``/``increase`` unmeasurable.
    baseline : array-like of float
        The baseline value the target starts from.
    latest : array-like of float
        The latest recorded value of the target's measure (missing when the data do not hold it).
    size_unit : array-like of str, optional
        ``%`` (or missing) for a size in per cent; any other unit for a size in the measure's own
        units.

    Returns
    -------
    pandas.DataFrame
        One row per target, in input order (index 0..n-1):

        - ``target_level`` (float): the level the target asks for (NaN when it cannot be set).
        - ``change_pct`` (float): change of the latest value from the baseline, per cent.
        - ``status`` (str): ``met``, ``not met`` or ``cannot be measured``.
        - ``reason`` (str): why it cannot be measured ("no baseline", "no recorded data for
          its measure", "no size of change", "no direction of change", "it says neither
          above nor below"); empty otherwise.

    Notes
    -----
    Method: a direct comparison of the latest value with the target level, as a strategy's
    targets are stated (Home Office (2007) *Delivering Safer Communities*, SMART targets). It is
    a statement about the target as written, not a test of change: whether a change is beyond
    normal variation is judged elsewhere (exact test of two Poisson counts). "Below" and "above"
    are strict; reaching a reduction or increase target exactly counts as met.

    Examples
    --------
    >>> target_judgement(["decrease", "keep below"], [10, 0], [100, 100], [76, 103])["status"].tolist()
    ['met', 'not met']
    """
    n = len(np.atleast_1d(np.asarray(latest, dtype=object))) if not isinstance(latest, pd.Series) else len(latest)
    index = pd.RangeIndex(n)
    d = _series(direction, index, "direction").astype("string").str.strip().str.lower()
    for name, x in (("size", size), ("baseline", baseline), ("latest", latest)):
        check_type(x, name, (pd.Series, np.ndarray, list, tuple, int, float, np.integer, np.floating, type(None)))
    s = pd.to_numeric(_series(size, index, "size"), errors="coerce").astype(float)
    b = pd.to_numeric(_series(baseline, index, "baseline"), errors="coerce").astype(float)
    v = pd.to_numeric(_series(latest, index, "latest"), errors="coerce").astype(float)
    unit = _series(size_unit, index, "size_unit").astype("string").str.strip()
    pct = unit.isna() | (unit == "") | unit.str.fullmatch(r"%|per\s?cent|percent", case=False).fillna(False)

    keep = d.isin(["keep below", "keep above"]).fillna(False).to_numpy()
    down = d.isin(["decrease", "keep below"]).fillna(False).to_numpy()
    up = d.isin(["increase", "keep above"]).fillna(False).to_numpy()
    s_used = np.where(keep & s.isna().to_numpy(), 0.0, s.to_numpy())
    sign = np.where(down, -1.0, np.where(up, 1.0, np.nan))
    level = np.where(pct.to_numpy(), b.to_numpy() * (1 + sign * s_used / 100), b.to_numpy() + sign * s_used)
    vv = v.to_numpy()
    with np.errstate(invalid="ignore"):
        ok = np.select([d.eq("decrease").fillna(False).to_numpy(), d.eq("increase").fillna(False).to_numpy(),
                        d.eq("keep below").fillna(False).to_numpy(), d.eq("keep above").fillna(False).to_numpy()],
                       [vv <= level, vv >= level, vv < level, vv > level], default=False)
        change = np.where(b.to_numpy() != 0, 100 * (vv - b.to_numpy()) / b.to_numpy(), np.nan)

    reason = np.select(
        [d.eq("maintain").fillna(False).to_numpy(),
         ~(down | up),
         b.isna().to_numpy(),
         v.isna().to_numpy(),
         ~keep & np.isnan(s_used)],
        ["it says neither above nor below", "no direction of change", "no baseline",
         "no recorded data for its measure", "no size of change"],
        default="",
    )
    measurable = reason == ""
    status = np.where(measurable, np.where(ok, "met", "not met"), "cannot be measured")
    return pd.DataFrame({"target_level": np.where(measurable, level, np.nan), "change_pct": change,
                         "status": status, "reason": reason}, index=index)
