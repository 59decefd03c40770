"""The calibration package's shared contract (rows, columns, module registry)."""

import numpy as np
import pandas as pd
import pytest

from assessment import calibration
from assessment.calibration import COLUMNS, MODULES, calibration_frame, calibration_module, calibration_row


def test_row_rate_and_holds_follow_the_bound():
    below = calibration_row("s", "null", np.array([True] * 6 + [False] * 94), 100, 0.07)
    assert below["rate"] == pytest.approx(0.06) and below["holds"] is True
    above = calibration_row("s", "null", 8, 100, 0.07)
    assert above["holds"] is False
    power = calibration_row("s", "effect", 59, 100, 0.60, bound="at least")
    assert power["holds"] is False
    reported = calibration_row("s", "ar1", 30, 100)
    assert reported["holds"] is pd.NA


def test_row_rejects_impossible_counts():
    with pytest.raises(ValueError, match="between 0 and runs"):
        calibration_row("s", "null", 101, 100, 0.07)
    with pytest.raises(ValueError, match="bound"):
        calibration_row("s", "null", 1, 100, 0.07, bound="below")


def test_frame_has_the_agreed_columns_and_every_module_is_importable():
    frame = calibration_frame([calibration_row("s", "null", 1, 10, 0.07)])
    assert tuple(frame.columns) == COLUMNS and frame["holds"].dtype == "boolean"
    for name in MODULES:
        assert callable(calibration_module(name).results)
    with pytest.raises(ValueError, match="must be one of"):
        calibration_module("nonexistent")
    assert calibration.__doc__ and "results(n_runs" in calibration.__doc__


def test_calibration_grid_and_block():
    from assessment.calibration import calibration_block, calibration_grid

    grid = calibration_grid(5, 100.0)
    assert len(grid) == 25 and grid.crs.to_epsg() == 27700
    assert abs(grid.geometry.area - 100.0 ** 2).max() < 1e-6
    block = calibration_block(grid, (1, 2), 3)
    assert block.sum() == 9
    assert set(zip(grid.loc[block, "row"], grid.loc[block, "col"])) == {(r, c) for r in (1, 2, 3) for c in (2, 3, 4)}


def test_calibration_streams_one_per_scenario_and_stable_when_one_is_added():
    from assessment.calibration import calibration_streams

    two = calibration_streams(5, {"a": "x", "b": "y"})
    three = calibration_streams(5, ["a", "b", "c"])
    assert list(two) == ["a", "b"] and list(three) == ["a", "b", "c"]
    assert two["a"].random() == three["a"].random() and two["b"].random() == three["b"].random()
    assert calibration_streams(5, ["a"])["a"].random() != calibration_streams(6, ["a"])["a"].random()
