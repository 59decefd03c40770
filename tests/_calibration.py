"""Shared by the fast calibration tests: pick one row of a calibration module's table."""

from __future__ import annotations


def row_of(table, scenarios: dict, start: str, scenario: str):
    """The one row of ``table`` (indexed by statement and scenario) for ``scenarios[scenario]``
    whose statement starts with ``start``; fails the test when there is not exactly one."""
    sub = table.xs(scenarios[scenario], level="scenario")
    hits = [s for s in sub.index if s.startswith(start)]
    assert len(hits) == 1, (start, list(sub.index))
    return sub.loc[hits[0]]
