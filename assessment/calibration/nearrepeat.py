"""Calibration of "near repeats": more pairs of events close in space and time than chance.

The problem profile runs :func:`~assessment.analysis.nearrepeat.nearrepeat_knox` (99
permutations) on the latest year of police events at month resolution (distance bands
"at the same map point", up to 200 m, 200 to 400 m; time bands the same month, one and two
months apart) and decides with :func:`~assessment.analysis.nearrepeat.nearrepeat_adjusted`
(Benjamini-Hochberg across the nine bands at 5%); a run counts when any band is a near
repeat (the document then says "N of 9 space-time bands have more pairs than chance").

The null. The Knox test asks whether space and time interact; its permutation of the dates
holds where places and times are separable: a place's share of the events does not depend
on the month. So the null keeps what real data have and is separable: events crowd onto a
few busy map points (police.uk snap points: 600 points on 6 x 6 km, their weights gamma with
shape 0.5, so many events share a point, plus three busy centres), and the monthly total is
over-dispersed across months (negative binomial, mean 100, variance 2.5 x mean, with a
seasonal swing of +/-20%), every place alike. Over-dispersion *at one place in one month*
(several crimes at one point in one month beyond chance) cannot be part of a null: that is
exactly the space-time clustering the statement names. The method claims nothing beyond
what the FDR gives: on a table with no interaction, the chance of naming any band equals
the FDR, so acceptance is at most 7% of runs (nominal 5%).

Reported beside it, as the known weakness of the Knox test (Kulldorff & Hjalmars 1999,
*Biometrics* 55, 544-552): a slow shift of the events from one half of the town to the
other over the year (the west half from 60% to 40% of the events), which is space-time
interaction at the scale of the town, not near repeats, and which the larger bands pick up.

Power: a tenth (and three tenths) of the events are added as near repeats: each takes the
map point of a random event, or a point within 200 m of it, in the same or the next month.
Power is low by construction: with 99 permutations no p-value is below 0.01, and
Benjamini-Hochberg across nine bands then names a band only when at least two bands are
that extreme (a single band at p = 0.01 is adjusted to 0.09). More permutations (999, as the
Near Repeat Calculator offers) would lift that floor.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from assessment.analysis.nearrepeat import nearrepeat_adjusted, nearrepeat_knox
from assessment.calibration import calibration_frame, calibration_row, calibration_streams
from assessment.calibration.wards import simulate_counts

__all__ = ["results", "simulate_events", "SCENARIOS"]

SIDE = 6000.0
N_POINTS = 600
POINT_SHAPE = 0.5
MONTHLY = 100.0
VARIANCE_RATIO = 2.5
SEASON = 0.2
CENTRES = ((1500.0, 1500.0), (4000.0, 2500.0), (2500.0, 4500.0))
SHIFT = (0.6, 0.4)
REPEAT_SHARE = {"repeats": 0.1, "repeats30": 0.3}
REPEAT_DISTANCE = 200.0
PERMUTATIONS = 99
DISTANCE_BANDS = [0, 1, 200, 400]
TIME_BANDS = [0, 15, 46, 76]

SCENARIOS: dict[str, str] = {
    "null": "separable events: 600 map points (gamma weights, 3 centres), monthly totals over-dispersed "
            "(mean 100, variance 2.5 x mean, seasonal)",
    "shift": "the same with events shifting from the west half (60%) to the east (60%) over the year",
    "repeats": "the separable events with a tenth of them near repeats (same or nearby map point, same or next "
               "month)",
    "repeats30": "the separable events with three tenths of them near repeats",
}


def _points(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Map points (x, y) and their weights: a third around the three centres, the rest anywhere."""
    n_near = N_POINTS // 3
    centre = np.asarray(CENTRES)[rng.integers(0, len(CENTRES), n_near)]
    near = np.clip(centre + rng.normal(0.0, 400.0, (n_near, 2)), 0.0, SIDE)
    far = rng.uniform(0.0, SIDE, (N_POINTS - n_near, 2))
    xy = np.round(np.vstack([near, far]), -1)
    return xy, rng.gamma(POINT_SHAPE, 1.0, N_POINTS)


def simulate_events(rng: np.random.Generator, scenario: str = "null") -> pd.DataFrame:
    """One year of police events at month resolution: ``easting``, ``northing``, ``date`` (first of the month)."""
    if scenario not in SCENARIOS:
        raise ValueError(f"`scenario` must be one of {list(SCENARIOS)}, got {scenario!r}")
    xy, weight = _points(rng)
    season = 1.0 + SEASON * np.cos(2 * np.pi * np.arange(12) / 12)
    per_month = simulate_counts(MONTHLY * season, rng, VARIANCE_RATIO)
    month = np.repeat(np.arange(12), per_month)
    prob = np.broadcast_to(weight / weight.sum(), (12, N_POINTS))
    if scenario == "shift":
        west = xy[:, 0] < SIDE / 2
        share = np.linspace(SHIFT[0], SHIFT[1], 12)[:, None]  # the west half's share, month by month
        w_west = np.where(west, weight, 0.0)
        w_east = np.where(west, 0.0, weight)
        prob = share * w_west / w_west.sum() + (1 - share) * w_east / w_east.sum()
    point = (rng.random(len(month))[:, None] > np.cumsum(prob[month], axis=1)).sum(axis=1)
    point = np.minimum(point, N_POINTS - 1)
    ex, ny = xy[point, 0], xy[point, 1]
    if scenario in REPEAT_SHARE:
        k = int(round(REPEAT_SHARE[scenario] * len(month)))
        src = rng.integers(0, len(month), k)
        near = np.hypot(xy[:, None, 0] - ex[src][None], xy[:, None, 1] - ny[src][None]) <= REPEAT_DISTANCE
        pick = np.argmax(near * rng.random(near.shape), axis=0)  # a point within 200 m, at random
        month = np.concatenate([month, np.minimum(month[src] + rng.integers(0, 2, k), 11)])
        ex, ny = np.concatenate([ex, xy[pick, 0]]), np.concatenate([ny, xy[pick, 1]])
    months = pd.period_range("2025-01", periods=12, freq="M").to_timestamp()
    return pd.DataFrame({"easting": ex, "northing": ny, "date": months[month]})


def _any_band(events: pd.DataFrame, seed: int) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k = nearrepeat_knox(events, DISTANCE_BANDS, TIME_BANDS, permutations=PERMUTATIONS, seed=seed)
    return bool(nearrepeat_adjusted(k)["near_repeat"].any())


def results(n_runs: int, seed: int) -> pd.DataFrame:
    """False-positive rates and power of "near repeats" (module docstring).

    ``n_runs``, ``seed`` and the result's columns are those of every calibration module
    (:mod:`assessment.calibration`).
    """
    streams = calibration_streams(seed, SCENARIOS)
    label = "a near-repeat band (Knox, 99 permutations, FDR 5% across 9 bands)"
    rows = []
    for key in SCENARIOS:
        rng = streams[key]
        found = np.array([_any_band(simulate_events(rng, key), int(rng.integers(2 ** 31))) for _ in range(n_runs)])
        if key in REPEAT_SHARE:
            rows.append(calibration_row(f"power: {label}", SCENARIOS[key], found, n_runs))
        else:
            rows.append(calibration_row(label, SCENARIOS[key], found, n_runs, 0.07 if key == "null" else float("nan")))
    return calibration_frame(rows)
