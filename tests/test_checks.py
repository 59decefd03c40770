"""Tests for assessment/checks.py: every check_* helper accepts good input and rejects bad
input with a message naming the argument, what was expected, what arrived and where."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from assessment import checks


# ---------------------------------------------------------------- check_dataframe

def test_check_dataframe_accepts_frame_with_columns():
    df = pd.DataFrame({"a": [1], "b": [2]})
    assert checks.check_dataframe(df, "df", ["a", "b"]) is None
    assert checks.check_dataframe(df, "df") is None


def test_check_dataframe_rejects_non_frame_with_type_error():
    with pytest.raises(TypeError) as err:
        checks.check_dataframe([1, 2], "events", where="police_street")
    msg = str(err.value)
    assert "`events`" in msg and "DataFrame" in msg and "list" in msg and "in police_street" in msg


def test_check_dataframe_rejects_missing_columns_naming_them():
    df = pd.DataFrame({"a": [1]})
    with pytest.raises(ValueError) as err:
        checks.check_dataframe(df, "events", ["a", "month"], where="fire row 3")
    msg = str(err.value)
    assert "`events`" in msg and "'month'" in msg and "['a']" in msg and "in fire row 3" in msg


def test_check_dataframe_without_where_has_no_location_suffix():
    with pytest.raises(TypeError) as err:
        checks.check_dataframe(None, "x")
    assert " in " not in str(err.value)


# ---------------------------------------------------------------- check_geodataframe

def _gdf(crs):
    return gpd.GeoDataFrame({"code": ["A"]}, geometry=[Point(0, 0)], crs=crs)


def test_check_geodataframe_accepts_projected():
    assert checks.check_geodataframe(_gdf(27700), "areas", ["code"], projected=True) is None
    assert checks.check_geodataframe(_gdf(4326), "areas", ["code"]) is None


def test_check_geodataframe_rejects_plain_frame():
    with pytest.raises(TypeError) as err:
        checks.check_geodataframe(pd.DataFrame({"code": ["A"]}), "areas", where="wards file")
    msg = str(err.value)
    assert "`areas`" in msg and "GeoDataFrame" in msg and "got DataFrame" in msg and "in wards file" in msg


def test_check_geodataframe_rejects_missing_column():
    with pytest.raises(ValueError, match=r"`areas`.*'name'"):
        checks.check_geodataframe(_gdf(27700), "areas", ["name"])


def test_check_geodataframe_rejects_missing_crs():
    with pytest.raises(ValueError) as err:
        checks.check_geodataframe(_gdf(None), "areas", where="beats")
    msg = str(err.value)
    assert "`areas`" in msg and "CRS" in msg and "got none" in msg and "in beats" in msg


def test_check_geodataframe_rejects_geographic_when_projected_required():
    with pytest.raises(ValueError) as err:
        checks.check_geodataframe(_gdf(4326), "areas", projected=True, where="kml")
    msg = str(err.value)
    assert "`areas`" in msg and "projected" in msg and "EPSG:4326" in msg and "in kml" in msg


# ---------------------------------------------------------------- check_type

def test_check_type_accepts_instance_and_tuple():
    assert checks.check_type(3, "n", int) is None
    assert checks.check_type("x", "n", (int, str)) is None


def test_check_type_rejects_naming_expected_and_actual():
    with pytest.raises(TypeError) as err:
        checks.check_type("3", "n", int)
    assert str(err.value) == "`n` must be int, got str"
    with pytest.raises(TypeError) as err:
        checks.check_type(3.0, "n", (int, str))
    assert str(err.value) == "`n` must be int or str, got float"


# ---------------------------------------------------------------- check_positive

@pytest.mark.parametrize("value", [1, 0.5, 1e9])
def test_check_positive_accepts(value):
    assert checks.check_positive(value, "radius") is None


def test_check_positive_allow_zero():
    assert checks.check_positive(0, "radius", allow_zero=True) is None
    with pytest.raises(ValueError, match=r"`radius` must be greater than 0, got 0"):
        checks.check_positive(0, "radius")


@pytest.mark.parametrize("value,shown", [(-1, "-1"), (-0.5, "-0.5"), (float("nan"), "nan")])
def test_check_positive_rejects_negative_and_nan(value, shown):
    with pytest.raises(ValueError) as err:
        checks.check_positive(value, "radius", allow_zero=True)
    assert str(err.value) == f"`radius` must be at least 0, got {shown}"


@pytest.mark.parametrize("value,tname", [(True, "bool"), ("5", "str"), (None, "NoneType")])
def test_check_positive_rejects_non_numbers(value, tname):
    with pytest.raises(TypeError) as err:
        checks.check_positive(value, "radius")
    assert str(err.value) == f"`radius` must be a number, got {tname}"


# ---------------------------------------------------------------- check_probability

@pytest.mark.parametrize("value", [0.05, 0.5, 0.999])
def test_check_probability_accepts(value):
    assert checks.check_probability(value, "alpha") is None


@pytest.mark.parametrize("value", [0, 1, -0.1, 1.5, float("nan")])
def test_check_probability_rejects_out_of_range(value):
    with pytest.raises(ValueError) as err:
        checks.check_probability(value, "alpha")
    assert str(err.value).startswith("`alpha` must lie strictly between 0 and 1, got ")
    assert repr(value) in str(err.value)


@pytest.mark.parametrize("value", [False, "0.05", None])
def test_check_probability_rejects_non_numbers(value):
    with pytest.raises(TypeError, match=r"`alpha` must be a number, got " + type(value).__name__):
        checks.check_probability(value, "alpha")


# ---------------------------------------------------------------- check_choice

def test_check_choice_accepts_member_of_any_iterable():
    assert checks.check_choice("b", "method", ["a", "b"]) is None
    assert checks.check_choice("b", "method", (c for c in "ab")) is None  # generators work once


def test_check_choice_rejects_listing_choices():
    with pytest.raises(ValueError) as err:
        checks.check_choice("z", "method", ("a", "b"))
    assert str(err.value) == "`method` must be one of ['a', 'b'], got 'z'"


# ---------------------------------------------------------------- check_month

@pytest.mark.parametrize("value", ["2024-01", "1999-12", "2025-10"])
def test_check_month_accepts(value):
    assert checks.check_month(value) is None


@pytest.mark.parametrize("value", ["13/2024", "2024-13", "2024-00", "2024-1", "24-01", "2024-01-01", 202401, None])
def test_check_month_rejects(value):
    with pytest.raises(ValueError) as err:
        checks.check_month(value, "month", where="police_street row 18")
    assert str(err.value) == f"`month` must be YYYY-MM, got {value!r} in police_street row 18"


def test_check_month_default_name():
    with pytest.raises(ValueError, match=r"^`month` must be YYYY-MM, got 'x'$"):
        checks.check_month("x")


# ---------------------------------------------------------------- check_nonnegative_counts

def test_check_nonnegative_counts_accepts_whole_counts():
    assert checks.check_nonnegative_counts(pd.Series([0, 1, 2.0, 10]), "count") is None
    assert checks.check_nonnegative_counts(pd.Series([], dtype=float), "count") is None


@pytest.mark.parametrize("values,bad_pos", [([1, -1, 2], 1), ([1, 2, 2.5], 2), ([np.nan, 1, 2], 0),
                                            (["1", "x", "2"], 1)])
def test_check_nonnegative_counts_rejects_first_bad_row(values, bad_pos):
    index = [10, 20, 30]
    s = pd.Series(values, index=index)
    with pytest.raises(ValueError) as err:
        checks.check_nonnegative_counts(s, "count", where="ae_assaults")
    msg = str(err.value)
    assert msg.startswith("`count` must hold whole counts of 0 or more, got ")
    assert f"{values[bad_pos]!r}" in msg
    assert re.search(rf"at row {index[bad_pos]} in ae_assaults$", msg)


def test_design_effect_takes_any_real_number_of_1_or_more_and_names_the_place():
    import numpy as np

    from assessment.checks import check_design_effect

    for ok in (1, 1.0, 2.5, np.int64(2), np.float32(1.5)):
        check_design_effect(ok)
    for bad in (True, np.bool_(True), "2", None):
        with pytest.raises(TypeError, match="design_effect"):
            check_design_effect(bad)
    for bad in (0.5, np.float64("inf"), float("nan")):
        with pytest.raises(ValueError, match="must be a number of 1 or more.*in residents_survey"):
            check_design_effect(bad, where="residents_survey")
