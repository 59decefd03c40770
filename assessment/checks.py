"""Shared validation helpers, called at the top of every public function.

Each helper raises ``TypeError`` or ``ValueError`` with a message that says what
was expected, what arrived and, where known, where it came from::

    `month` must be YYYY-MM, got '13/2024' in police_crime row 18
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _where(where: str | None) -> str:
    return f" in {where}" if where else ""


def check_dataframe(obj: Any, name: str, columns: Iterable[str] = (), where: str | None = None) -> None:
    """Require a pandas DataFrame holding ``columns``."""
    if not isinstance(obj, pd.DataFrame):
        raise TypeError(f"`{name}` must be a pandas DataFrame, got {type(obj).__name__}{_where(where)}")
    missing = [c for c in columns if c not in obj.columns]
    if missing:
        raise ValueError(
            f"`{name}` must have column(s) {missing}, got columns {list(obj.columns)}{_where(where)}"
        )


def check_geodataframe(obj: Any, name: str, columns: Iterable[str] = (), projected: bool = False,
                       where: str | None = None) -> None:
    """Require a GeoDataFrame with a CRS; with ``projected`` the CRS must be projected (metres)."""
    import geopandas as gpd

    if not isinstance(obj, gpd.GeoDataFrame):
        raise TypeError(f"`{name}` must be a GeoDataFrame, got {type(obj).__name__}{_where(where)}")
    check_dataframe(obj, name, columns, where)
    if obj.crs is None:
        raise ValueError(f"`{name}` must have a CRS, got none{_where(where)}; hint: set it with .set_crs()")
    if projected and not obj.crs.is_projected:
        raise ValueError(
            f"`{name}` must be in a projected CRS such as EPSG:27700, got {obj.crs.to_string()}{_where(where)};"
            " hint: areas and distances are never measured in degrees, use .to_crs(27700)"
        )


def check_type(obj: Any, name: str, types: type | tuple[type, ...]) -> None:
    """Require ``obj`` to be an instance of ``types``."""
    if not isinstance(obj, types):
        expected = types.__name__ if isinstance(types, type) else " or ".join(t.__name__ for t in types)
        raise TypeError(f"`{name}` must be {expected}, got {type(obj).__name__}")


def check_positive(value: Any, name: str, allow_zero: bool = False) -> None:
    """Require a real number greater than zero (or at least zero)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"`{name}` must be a number, got {type(value).__name__}")
    if value < 0 or (value == 0 and not allow_zero) or value != value:
        bound = "at least 0" if allow_zero else "greater than 0"
        raise ValueError(f"`{name}` must be {bound}, got {value!r}")


def check_probability(value: Any, name: str) -> None:
    """Require a number strictly between 0 and 1 (a significance level or confidence)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"`{name}` must be a number, got {type(value).__name__}")
    if not 0 < value < 1:
        raise ValueError(f"`{name}` must lie strictly between 0 and 1, got {value!r}")


def check_choice(value: Any, name: str, choices: Iterable[Any]) -> None:
    """Require ``value`` to be one of ``choices``."""
    choices = list(choices)
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {choices}, got {value!r}")


def check_month(value: Any, name: str = "month", where: str | None = None) -> None:
    """Require a ``YYYY-MM`` string."""
    if not isinstance(value, str) or not _MONTH.match(value):
        raise ValueError(f"`{name}` must be YYYY-MM, got {value!r}{_where(where)}")


def check_nonnegative_counts(series: pd.Series, name: str, where: str | None = None) -> None:
    """Require whole, non-negative, non-missing counts."""
    values = pd.to_numeric(series, errors="coerce")
    bad = values.isna() | (values < 0) | (values != values.round())
    if bad.any():
        first = series.index[bad.to_numpy()][0]
        raise ValueError(
            f"`{name}` must hold whole counts of 0 or more, got {series.loc[first]!r} at row {first}{_where(where)}"
        )


def check_design_effect(value: Any, name: str = "design_effect", where: str | None = None) -> None:
    """Require a design effect: a finite number of 1 or more (1: answers as independent as a
    simple random sample's)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"`{name}` must be a number of 1 or more (the variance of the survey's estimates over a "
                        f"simple random sample's), got {type(value).__name__} {value!r}{_where(where)}")
    if not 1 <= value < float("inf"):
        raise ValueError(f"`{name}` must be a number of 1 or more (1: answers as independent as a simple random "
                         f"sample's), got {value!r}{_where(where)}")
