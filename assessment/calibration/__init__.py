"""Calibration by simulation: how often each test's statement is wrong on data we control.

Every module listed in :data:`MODULES` simulates series (or areas, or cells) whose truth is
known -- a null with no effect, or a planted effect -- runs them through the package's
public functions, and counts how often a document would print the statement under test
("statistically significant", "a clear seasonal pattern", "exceptional month", ...). Each
module exposes

``results(n_runs: int, seed: int) -> pandas.DataFrame``

where ``n_runs`` is the simulated runs (series, documents, towns, studies...) per scenario and
``seed`` seeds :func:`calibration_streams`, which gives each scenario its own stream;

with one row per (statement, scenario) and the columns of :data:`COLUMNS`:

- ``statement`` (str): what the document would say, e.g. ``"trend: rising/falling"``;
- ``scenario`` (str): the simulated truth, e.g. ``"over-dispersed null (NB, mean 100, var 250)"``;
- ``runs`` (int): simulated series;
- ``rate`` (float): share of runs in which the statement was made;
- ``limit`` (float): the acceptance bound (NaN where the rate is only reported);
- ``holds`` (bool or NA): whether ``rate`` is within the bound (NA when there is none);
- ``bound`` (str, optional): ``"at most"`` (a false-positive rate, the default) or
  ``"at least"`` (a power).

Build rows with :func:`calibration_row` so the columns stay the same across modules.
``benchmarks/validate.py`` runs every module and writes ``docs/VALIDATION.md``; the test
suite runs a fast version of each with fewer runs.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import numpy as np
import pandas as pd

__all__ = ["MODULES", "COLUMNS", "calibration_row", "calibration_frame", "calibration_module",
           "calibration_results", "calibration_streams", "calibration_grid", "calibration_block"]

#: Calibration modules under ``assessment.calibration`` run by ``benchmarks/validate.py``.
MODULES: tuple[str, ...] = ("trends", "key_findings", "evaluation", "clustering", "wards", "emerging", "nearrepeat", "survey", "placebo", "cohort")

#: Columns of every module's ``results`` frame (``bound`` is optional; default "at most").
COLUMNS: tuple[str, ...] = ("statement", "scenario", "runs", "rate", "limit", "holds", "bound")


def calibration_row(statement: str, scenario: str, hits: int | np.ndarray, runs: int,
                    limit: float = float("nan"), bound: str = "at most") -> dict:
    """One row of a calibration table.

    Parameters
    ----------
    statement, scenario : str
        What the document would say, and the simulated truth.
    hits : int or array of bool
        Runs in which the statement was made (a count, or one bool per run).
    runs : int
        Simulated runs.
    limit : float, default NaN
        Acceptance bound on the rate; NaN when the rate is only reported.
    bound : {"at most", "at least"}
        Whether ``rate`` must not exceed ``limit`` (false positives) or must reach it (power).

    Returns
    -------
    dict
        Keys of :data:`COLUMNS`.
    """
    if bound not in ("at most", "at least"):
        raise ValueError(f"`bound` must be 'at most' or 'at least', got {bound!r}")
    if isinstance(runs, bool) or not isinstance(runs, (int, np.integer)) or runs < 1:
        raise ValueError(f"`runs` must be a whole number of at least 1, got {runs!r}")
    n_hits = int(np.sum(hits)) if np.ndim(hits) else int(hits)
    if not 0 <= n_hits <= runs:
        raise ValueError(f"`hits` must lie between 0 and runs={runs}, got {n_hits}")
    rate = n_hits / runs
    if np.isnan(limit):
        holds = pd.NA
    else:
        holds = bool(rate <= limit) if bound == "at most" else bool(rate >= limit)
    return {"statement": statement, "scenario": scenario, "runs": int(runs), "rate": rate,
            "limit": float(limit), "holds": holds, "bound": bound}


def calibration_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows from :func:`calibration_row` as a frame with the columns of :data:`COLUMNS`."""
    out = pd.DataFrame(rows, columns=list(COLUMNS))
    out["holds"] = out["holds"].astype("boolean")
    return out


def calibration_module(name: str) -> ModuleType:
    """Import the calibration module ``assessment.calibration.<name>`` (one of :data:`MODULES`)."""
    if name not in MODULES:
        raise ValueError(f"`name` must be one of {list(MODULES)}, got {name!r}")
    return importlib.import_module(f"{__name__}.{name}")


def calibration_results(name: str, n_runs: int, seed: int) -> pd.DataFrame:
    """Run one calibration module and check its table has the agreed columns."""
    if isinstance(n_runs, bool) or not isinstance(n_runs, int) or n_runs < 1:
        raise ValueError(f"`n_runs` must be a whole number of at least 1, got {n_runs!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"`seed` must be int, got {type(seed).__name__}")
    out = calibration_module(name).results(n_runs=n_runs, seed=seed)
    missing = [c for c in COLUMNS if c not in out.columns and c != "bound"]
    if missing:
        raise ValueError(f"calibration module {name!r} must return columns {list(COLUMNS)}, missing {missing}")
    if "bound" not in out.columns:
        out = out.assign(bound="at most")
    return out[list(COLUMNS)]


def calibration_streams(seed: int, scenarios) -> dict[str, np.random.Generator]:
    """One random generator per scenario key, spawned from ``numpy.random.default_rng(seed)`` in
    the order of ``scenarios``: adding a scenario at the end leaves the others' draws unchanged."""
    keys = list(scenarios)
    return dict(zip(keys, np.random.default_rng(seed).spawn(len(keys))))


def calibration_grid(side: int, cell: float):
    """A square town of ``side`` x ``side`` grid cells of ``cell`` metres (EPSG:27700), built by
    :func:`assessment.analysis.hotspots.hotspot_grid` as the documents build theirs."""
    import geopandas as gpd
    import shapely

    from assessment.analysis.hotspots import hotspot_grid

    box = gpd.GeoSeries([shapely.box(0.0, 0.0, side * cell, side * cell)], crs=27700)
    return hotspot_grid(box, cell_size=cell)


def calibration_block(grid, top_left: tuple[int, int], size: int) -> np.ndarray:
    """True for the cells of the ``size`` x ``size`` block whose top-left cell is ``top_left``
    (row, column) in a grid from :func:`calibration_grid`."""
    rows, cols = grid["row"].to_numpy(), grid["col"].to_numpy()
    r0, c0 = top_left
    return (rows >= r0) & (rows < r0 + size) & (cols >= c0) & (cols < c0 + size)
