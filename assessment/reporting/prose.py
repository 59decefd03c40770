"""Plain-English pieces every document uses: plurals, numbers, ordinals, ranks, lists, months.

One place for these so that no document writes "area(s)", shows "5046" beside "5,046", or calls
the second-lowest of 14 "the 13th highest".
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import pandas as pd

__all__ = ["plural", "count_of", "number", "ordinal", "rank_words", "and_list", "month_words", "date_words"]

_IRREGULAR = {"is": "are", "was": "were", "has": "have", "person": "people", "this": "these", "it": "they",
              "uses": "use", "its": "their", "child": "children"}


def plural(n: float, one: str, many: str | None = None) -> str:
    """The word for ``n`` things: ``plural(1, "area")`` -> "area", ``plural(3, "area")`` -> "areas".

    ``many`` defaults to a regular plural ("-s", "-es" after s/x/z/ch/sh, "-ies" after a
    consonant and y) or the irregular form of a few common words (is/are, person/people).
    """
    if n == 1:
        return one
    if many is not None:
        return many
    if one in _IRREGULAR:
        return _IRREGULAR[one]
    if one.endswith(("s", "x", "z", "ch", "sh")):
        return one + "es"
    if one.endswith("y") and len(one) > 1 and one[-2] not in "aeiou":
        return one[:-1] + "ies"
    return one + "s"


def number(value: Any, decimals: int = 0) -> str:
    """A number with thousands separators: ``number(5046)`` -> "5,046"; "not available" for NaN/None."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "not available"
    if isinstance(value, bool):
        raise TypeError(f"`value` must be a number, got a bool ({value!r})")
    return f"{float(value):,.{decimals}f}" if decimals else f"{round(float(value)):,}"


def count_of(n: float, one: str, many: str | None = None) -> str:
    """A count and its noun: ``count_of(5046, "crime")`` -> "5,046 crimes"; ``count_of(1, "area")`` -> "1 area"."""
    return f"{number(n)} {plural(n, one, many)}"


def ordinal(n: int) -> str:
    """``1`` -> "1st", ``2`` -> "2nd", ``13`` -> "13th", ``22`` -> "22nd"."""
    n = int(n)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def rank_words(rank: int, of: int, high: str = "highest", low: str = "lowest") -> str:
    """A rank in words, counted from the nearer end.

    ``rank_words(1, 14)`` -> "the highest"; ``rank_words(3, 14)`` -> "the 3rd highest";
    ``rank_words(13, 14)`` -> "the 2nd lowest"; ``rank_words(14, 14)`` -> "the lowest". Rank 1 is
    the highest. A rank in the upper half (including the middle) is counted from the top.
    """
    rank, of = int(rank), int(of)
    if not 1 <= rank <= of:
        raise ValueError(f"`rank` must lie between 1 and `of` ({of}), got {rank}")
    if rank == 1:
        return f"the {high}"
    if rank == of:
        return f"the {low}"
    if rank <= (of + 1) / 2:
        return f"the {ordinal(rank)} {high}"
    from_bottom = of - rank + 1
    return f"the {ordinal(from_bottom)} {low}"


def and_list(items: Iterable[Any], conjunction: str = "and") -> str:
    """``["a"]`` -> "a"; ``["a", "b", "c"]`` -> "a, b and c"; empty -> ""."""
    items = [str(i) for i in items]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


def month_words(month: str) -> str:
    """``"2025-01"`` -> "January 2025"."""
    return pd.Period(str(month), freq="M").strftime("%B %Y")


def date_words(date: Any) -> str:
    """``2026-11-25`` -> "25 November 2026"."""
    ts = pd.Timestamp(date)
    return f"{ts.day} {ts.strftime('%B %Y')}"
