"""Near-repeat analysis: the Knox space-time interaction test with Monte-Carlo p-values.

References
----------
Knox, E. G. (1964). The detection of space-time interactions. Applied Statistics 13(1), 25-30.
Johnson, S. D. & Bowers, K. J. (2004). The burglary as clue to the future: the beginnings of
prospective hot-spotting. European Journal of Criminology 1(2), 237-255.
Johnson, S. D., Bernasco, W., Bowers, K. J. et al. (2007). Space-time patterns of risk: a cross
national assessment of residential burglary victimization. J. Quant. Criminology 23, 201-219.
Ratcliffe, J. H. (2009). Near Repeat Calculator (version 1.3). Temple University, Philadelphia,
and the National Institute of Justice, Washington DC.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from assessment.checks import check_dataframe, check_type

__all__ = ["nearrepeat_knox", "nearrepeat_adjusted"]


def _edges(values, name: str) -> np.ndarray:
    check_type(values, name, (list, tuple, np.ndarray, pd.Series))
    edges = np.asarray(values, dtype=float).ravel()
    if edges.size < 2 or not np.isfinite(edges).all() or edges[0] < 0 or (np.diff(edges) <= 0).any():
        raise ValueError(
            f"`{name}` must be at least two increasing band edges of 0 or more, e.g. [0, 100, 200],"
            f" got {list(values)!r}"
        )
    return edges


def _band(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Band index for each value: band 0 is [e0, e1], band k is (e_k, e_k+1]; -1 outside."""
    idx = np.searchsorted(edges, values, side="left") - 1
    idx = np.where(values == edges[0], 0, idx)
    return np.where((values < edges[0]) | (values > edges[-1]), -1, idx)


def nearrepeat_knox(events: pd.DataFrame, distance_bands: Sequence[float], time_bands: Sequence[float],
                    permutations: int = 99, seed: int | None = None, x: str = "easting",
                    y: str = "northing", date: str = "date") -> pd.DataFrame:
    """Knox test for near repeats: are events close in space also close in time?

    Parameters
    ----------
    events : DataFrame
        One row per event, with projected coordinates in metres and a date.
    distance_bands : sequence of float
        Increasing band edges in metres starting at 0 or more, e.g. ``[0, 100, 200, 300, 400]``:
        the bands are ``[0, 100]``, ``(100, 200]``, ... A first band ``[0, 0]`` (edges
        ``[0, 1e-9, ...]``) gives Ratcliffe's "same location" band.
    time_bands : sequence of float
        Increasing band edges in days, e.g. ``[0, 14, 28, 42, 56]``: ``[0, 14]``, ``(14, 28]``, ...
    permutations : int, default 99
        Monte-Carlo permutations of the dates (Ratcliffe's calculator offers 20 to 999).
    seed : int, optional
        Seed for the permutations (``numpy.random.default_rng``).
    x, y, date : str
        Column names of the coordinates and the date (datetime, or anything
        ``pandas.to_datetime`` parses).

    Returns
    -------
    DataFrame
        One row per (distance band, time band), distance bands outermost:

        - ``distance_band`` (str): e.g. ``'0-100 m'``; ``distance_from``, ``distance_to`` (float).
        - ``time_band`` (str): e.g. ``'0-14 days'``; ``time_from``, ``time_to`` (float).
        - ``observed`` (int): pairs of events within both bands.
        - ``expected`` (float): mean count over the permutations.
        - ``knox_ratio`` (float): ``observed / expected`` (NaN when expected is 0); above 1 means
          more pairs than chance (near repeats).
        - ``p_value`` (float): one-sided Monte-Carlo p-value for an excess,
          ``(1 + #{permuted >= observed}) / (permutations + 1)``, in [0, 1].

    Notes
    -----
    Knox (1964) test of space-time interaction, as in the Near Repeat Calculator (Ratcliffe
    2009) and the method of Johnson & Bowers (2004) and Johnson et al. (2007): every pair of
    events is classified by its distance and its time apart; the observed counts are compared
    with counts after permuting the dates across events (locations held fixed), which keeps
    the spatial and temporal distributions and breaks only their interaction. Pairs further
    apart than the last distance edge are found and discarded once, with
    ``scipy.spatial.cKDTree.query_pairs``; each permutation bins the fixed set of close pairs
    with ``numpy.histogram2d``. The p-value cannot be below ``1 / (permutations + 1)``
    (0.01 with 99), which is why several bands are read together rather than corrected.
    Rows without coordinates or a date are ignored with a warning.
    """
    from scipy.spatial import cKDTree

    check_dataframe(events, "events", (x, y, date))
    d_edges = _edges(distance_bands, "distance_bands")
    t_edges = _edges(time_bands, "time_bands")
    if isinstance(permutations, bool) or not isinstance(permutations, (int, np.integer)) or permutations < 1:
        raise ValueError(f"`permutations` must be a whole number of at least 1, got {permutations!r};"
                         " hint: 99 or 999")
    xs = pd.to_numeric(events[x], errors="coerce").to_numpy(float)
    ys = pd.to_numeric(events[y], errors="coerce").to_numpy(float)
    when = pd.to_datetime(events[date], errors="coerce")
    ok = np.isfinite(xs) & np.isfinite(ys) & when.notna().to_numpy()
    if (~ok).any():
        warnings.warn(f"{int((~ok).sum())} event(s) have no coordinates or date and were ignored",
                      stacklevel=2)
    xs, ys = xs[ok], ys[ok]
    days = (when[ok] - when[ok].min()).dt.total_seconds().to_numpy(float) / 86400.0
    if xs.size < 2:
        raise ValueError(f"`events` must have at least two events with coordinates and a date, got {xs.size}")
    pairs = cKDTree(np.column_stack([xs, ys])).query_pairs(d_edges[-1], output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    dist = np.hypot(xs[i] - xs[j], ys[i] - ys[j])
    dband = _band(dist, d_edges)
    keep = dband >= 0
    i, j, dband = i[keep], j[keep], dband[keep]
    nd, nt = d_edges.size - 1, t_edges.size - 1

    def table(t: np.ndarray) -> np.ndarray:
        tband = _band(np.abs(t[i] - t[j]), t_edges)
        inside = tband >= 0
        flat = dband[inside] * nt + tband[inside]
        return np.bincount(flat, minlength=nd * nt).reshape(nd, nt)

    observed = table(days)
    rng = np.random.default_rng(seed)
    sims = np.empty((permutations, nd, nt), dtype=np.int64)
    for k in range(permutations):  # loop over permutations, each fully vectorised over pairs
        sims[k] = table(rng.permutation(days))
    expected = sims.mean(axis=0)
    p = (1 + (sims >= observed[None]).sum(axis=0)) / (permutations + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected > 0, observed / expected, np.nan)
    dd, tt = np.meshgrid(np.arange(nd), np.arange(nt), indexing="ij")
    dd, tt = dd.ravel(), tt.ravel()
    return pd.DataFrame({
        "distance_band": [f"{d_edges[a]:g}-{d_edges[a + 1]:g} m" for a in range(nd) for _ in range(nt)],
        "distance_from": d_edges[dd],
        "distance_to": d_edges[dd + 1],
        "time_band": [f"{t_edges[b]:g}-{t_edges[b + 1]:g} days" for _ in range(nd) for b in range(nt)],
        "time_from": t_edges[tt],
        "time_to": t_edges[tt + 1],
        "observed": observed.ravel(),
        "expected": expected.ravel(),
        "knox_ratio": ratio.ravel(),
        "p_value": np.clip(p.ravel(), 0.0, 1.0),
    })


def nearrepeat_adjusted(k: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """The decision behind a document's "near-repeat pattern": FDR across the bands of one Knox table.

    Parameters
    ----------
    k : DataFrame
        One Knox table (:func:`nearrepeat_knox`): one row per space-time band, with
        ``p_value`` and ``knox_ratio``.
    alpha : float, default 0.05
        False discovery rate.

    Returns
    -------
    DataFrame
        ``k`` with ``p_adjusted`` (float, 0-1: the band's p-value after the Benjamini-Hochberg
        false discovery rate correction over all the table's bands) and ``near_repeat`` (bool:
        ``p_adjusted < alpha`` and ``knox_ratio > 1``).

    Notes
    -----
    A Knox table tests every distance band against every time band (nine tests in the
    documents), so one band below 0.05 is what chance alone gives about a third of the time.
    The correction is Benjamini & Hochberg (1995), computed by
    ``statsmodels.stats.multitest.multipletests`` (method ``fdr_bh``).
    ``assessment.calibration.nearrepeat`` measures how often a table with no space-time
    interaction has a near-repeat band.
    """
    from statsmodels.stats.multitest import multipletests

    check_dataframe(k, "k", ("p_value", "knox_ratio"))
    out = k.copy()
    p = out["p_value"].astype(float).to_numpy()
    ok = ~np.isnan(p)
    adj = np.full(len(p), np.nan)
    if ok.any():
        adj[ok] = multipletests(p[ok], alpha=alpha, method="fdr_bh")[1]
    out["p_adjusted"] = adj
    out["near_repeat"] = (out["p_adjusted"] < alpha) & (out["knox_ratio"] > 1)
    return out
