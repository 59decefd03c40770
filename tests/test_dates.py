"""Declared date formats: checked against dates written out by hand, never guessed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assessment.intake.dates import is_month_only, month_strings, parse_dates


def test_day_first_never_us_order():
    got = parse_dates(pd.Series(["03/04/2024", "12/01/2024", "31/12/2024"]), "%d/%m/%Y")
    assert list(got) == [pd.Timestamp(2024, 4, 3), pd.Timestamp(2024, 1, 12), pd.Timestamp(2024, 12, 31)]


def test_us_order_value_is_unparseable_not_swapped():
    got = parse_dates(pd.Series(["12/31/2024", "31/02/2024", "", None]), "%d/%m/%Y")
    assert got.isna().all()


def test_date_time_and_month_only():
    got = parse_dates(pd.Series(["05/06/2024 23:59"]), "%d/%m/%Y %H:%M")
    assert got.iloc[0] == pd.Timestamp(2024, 6, 5, 23, 59)
    months = parse_dates(pd.Series(["2024-01", "13/2024", "2024-13"]), "%Y-%m")
    assert months.iloc[0] == pd.Timestamp(2024, 1, 1) and months.iloc[1:].isna().all()
    assert is_month_only("%Y-%m") and not is_month_only("%d/%m/%Y") and not is_month_only("iso")


def test_iso_with_offsets_become_uk_local_time():
    got = parse_dates(pd.Series(["2016-01-01T08:05:00+00:00", "2016-07-01T08:05:00+01:00",
                                 "2016-07-01T07:05:00Z", "2024-07-01T10:00:00", "2024-07-01", "junk"]), "iso")
    assert list(got.iloc[:5]) == [pd.Timestamp(2016, 1, 1, 8, 5), pd.Timestamp(2016, 7, 1, 8, 5),
                                  pd.Timestamp(2016, 7, 1, 8, 5), pd.Timestamp(2024, 7, 1, 10),
                                  pd.Timestamp(2024, 7, 1)]
    assert pd.isna(got.iloc[5])
    assert got.dtype == "datetime64[ns]"


def test_excel_serials_against_known_dates():
    # 45292 is 2024-01-01 in Excel's 1900 date system; 1 is 1900-01-01 (after the 1900 leap bug: 61 = 1900-03-01)
    got = parse_dates(pd.Series(["45292", "45292.75", "61", "0", "-5", "abc"]), "excel")
    assert got.iloc[0] == pd.Timestamp(2024, 1, 1)
    assert got.iloc[1] == pd.Timestamp(2024, 1, 1, 18)
    assert got.iloc[2] == pd.Timestamp(1900, 3, 1)
    assert got.iloc[3:].isna().all()


def test_bad_format_declaration_rejected():
    with pytest.raises(ValueError, match="date_format"):
        parse_dates(pd.Series(["2024"]), "dd/mm/yyyy")
    with pytest.raises(TypeError):
        parse_dates(["2024-01"], "%Y-%m")


def test_month_strings_match_strftime():
    dates = pd.Series(pd.to_datetime(["2024-01-31", None, "2025-12-01 23:00"], format="ISO8601"))
    got = month_strings(dates)
    assert got.iloc[0] == "2024-01" and pd.isna(got.iloc[1]) and got.iloc[2] == "2025-12"
    rng = np.random.default_rng(0)
    many = pd.Series(pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 2000, 500), unit="D"))
    assert (month_strings(many) == many.dt.strftime("%Y-%m")).all()
