"""Tests for assessment.geography.rates: exact vs apportioned rates, flags and methods."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from assessment.errors import GeographyError
from assessment.geography.crosswalk import crosswalk_area, crosswalk_population
from assessment.geography.rates import rate_across_geographies

WARDS = gpd.GeoDataFrame({"code": ["W1", "W2"], "pop_total": [2000, 500]},
                         geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)], crs=27700)
BEATS = gpd.GeoDataFrame({"code": ["B1"]}, geometry=[shapely.box(50, 0, 150, 100)], crs=27700)


def test_points_give_exact_rates_per_1000():
    pts = pd.DataFrame({"easting": [10, 20, 30, 150, 500, np.nan], "northing": [10, 10, 10, 10, 10, 10],
                        "month": ["2024-01", "2024-01", "2024-02", "2024-01", "2024-01", "2024-01"]})
    with pytest.warns(UserWarning, match="outside the denominator"):
        rates, rep = rate_across_geographies(pts, WARDS, "pop_total", by=["month"])
    r = rates.set_index(["month", "unit_code"])
    assert r.loc[("2024-01", "W1"), "count"] == 2 and r.loc[("2024-01", "W1"), "rate"] == pytest.approx(1.0)
    assert r.loc[("2024-01", "W2"), "rate"] == pytest.approx(1 / 500 * 1000)
    assert r.loc[("2024-02", "W2"), "count"] == 0 and r.loc[("2024-02", "W2"), "rate"] == 0
    assert set(rates["flag"]) == {"exact"} and set(rates["method"]) == {"point-in-polygon"}
    assert rep.loc[0, "n_outside"] == 1 and rep.loc[0, "n_no_coordinates"] == 1


def test_counts_on_other_geography_are_apportioned_with_method():
    counts = pd.DataFrame({"area_code": ["B1"], "count": [10]})
    rates, rep = rate_across_geographies(counts, WARDS, "pop_total", weights=crosswalk_area(BEATS, WARDS))
    r = rates.set_index("unit_code")
    assert r.loc["W1", "count"] == pytest.approx(5) and r.loc["W1", "rate"] == pytest.approx(5 / 2000 * 1000)
    assert r.loc["W2", "rate"] == pytest.approx(5 / 500 * 1000)
    assert set(rates["flag"]) == {"apportioned"} and set(rates["method"]) == {"area"}
    assert rates["count"].sum() + rep["outside_target"].sum() == pytest.approx(10)
    # population weights route differently and say so
    small = WARDS.rename(columns={"code": "sa"})
    w = crosswalk_population(BEATS, WARDS, small, small_code="sa")
    rates_p, _ = rate_across_geographies(counts, WARDS, "pop_total", weights=w, per=1)
    rp = rates_p.set_index("unit_code")
    assert rp.loc["W1", "count"] == pytest.approx(10 * 1000 / 1250)  # half of W1's 2000 vs half of W2's 500
    assert set(rates_p["method"]) == {"population"} and set(rates_p["per"]) == {1}


def test_counts_on_same_geography_exact_and_unknown_codes_refused():
    counts = pd.DataFrame({"area_code": ["W1", "W2"], "count": [4, 1]})
    rates, _ = rate_across_geographies(counts, WARDS.drop(columns="geometry"), "pop_total")
    assert rates.set_index("unit_code")["rate"].tolist() == pytest.approx([2.0, 2.0])
    assert set(rates["method"]) == {"same geography"} and set(rates["flag"]) == {"exact"}
    with pytest.raises(GeographyError, match="pass crosswalk `weights`"):
        rate_across_geographies(pd.DataFrame({"area_code": ["B1"], "count": [1]}), WARDS, "pop_total")


def test_zero_denominator_gives_nan_with_warning():
    wards = WARDS.assign(pop_total=[0, 500])
    with pytest.warns(UserWarning, match="zero or missing"):
        rates, _ = rate_across_geographies(pd.DataFrame({"area_code": ["W1"], "count": [3]}), wards, "pop_total")
    assert np.isnan(rates.set_index("unit_code").loc["W1", "rate"])
