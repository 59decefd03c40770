"""The prose helpers: plurals, numbers, ordinals and ranks counted from the nearer end."""

from __future__ import annotations

import numpy as np
import pytest

from assessment.reporting import prose


def test_plurals_never_write_s_in_brackets():
    assert prose.plural(1, "area") == "area"
    assert prose.plural(0, "area") == "areas"
    assert prose.plural(2, "band") == "bands"
    assert prose.plural(3, "category") == "categories"
    assert prose.plural(3, "day") == "days"
    assert prose.plural(2, "box") == "boxes"
    assert prose.plural(2, "is") == "are"
    assert prose.plural(2, "datum", "data") == "data"
    assert prose.count_of(5046, "crime") == "5,046 crimes"
    assert prose.count_of(1, "ward") == "1 ward"


def test_numbers_have_thousands_separators_and_no_reprs():
    assert prose.number(5046) == "5,046"
    assert prose.number(1234567.891, 2) == "1,234,567.89"
    assert prose.number(np.nan) == "not available"
    assert prose.number(None) == "not available"
    with pytest.raises(TypeError):
        prose.number(True)


def test_ordinals():
    got = [prose.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111, 112)]
    assert got == ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st", "111th", "112th"]


def test_rank_words_count_from_the_nearer_end():
    assert prose.rank_words(1, 14) == "the highest"
    assert prose.rank_words(14, 14) == "the lowest"
    assert prose.rank_words(13, 14) == "the 2nd lowest"  # never "the 13th highest"
    assert prose.rank_words(3, 14) == "the 3rd highest"
    assert prose.rank_words(7, 14) == "the 7th highest"
    assert prose.rank_words(8, 14) == "the 7th lowest"
    assert prose.rank_words(2, 3) == "the 2nd highest"
    assert prose.rank_words(1, 1) == "the highest"
    assert prose.rank_words(2, 5, high="busiest", low="quietest") == "the 2nd busiest"
    with pytest.raises(ValueError):
        prose.rank_words(0, 5)


def test_lists_and_dates():
    assert prose.and_list([]) == ""
    assert prose.and_list(["a"]) == "a"
    assert prose.and_list(["a", "b", "c"]) == "a, b and c"
    assert prose.month_words("2025-01") == "January 2025"
    assert prose.date_words("2026-11-25") == "25 November 2026"
