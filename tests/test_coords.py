"""Coordinates to EPSG:27700: compared with pyproj called directly and with a known point."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyproj import Transformer

from assessment.intake.coords import to_bng


def test_wgs84_matches_pyproj_directly():
    lon = np.array([-0.077596, -0.106922, -1.5, -3.0])
    lat = np.array([51.515849, 51.514204, 52.45, 55.9])
    e, n, status = to_bng(pd.Series(lon), pd.Series(lat), "EPSG:4326")
    ref_e, ref_n = Transformer.from_crs(4326, 27700, always_xy=True).transform(lon, lat)
    assert np.allclose(e, ref_e) and np.allclose(n, ref_n)
    assert list(status) == ["ok"] * 4


def test_known_point_greenwich():
    # The Royal Observatory, Greenwich: about E 538,880, N 177,370 (OS grid reference TQ 388 773)
    e, n, _ = to_bng(pd.Series([-0.0015]), pd.Series([51.4778]), "EPSG:4326")
    assert abs(e[0] - 538_880) < 150 and abs(n[0] - 177_370) < 150


def test_osgb_passes_through_and_text_is_parsed():
    e, n, status = to_bng(pd.Series(["439500", " 440000.5"]), pd.Series(["290200", "291000"]), "EPSG:27700")
    assert np.allclose(e, [439500, 440000.5]) and np.allclose(n, [290200, 291000])
    assert list(status) == ["ok", "ok"]


def test_missing_zero_out_of_range_and_swapped():
    x = pd.Series(["", "0", "abc", "200", "51.5", None])
    y = pd.Series(["51.5", "0", "51.5", "51.5", "-0.1", None])
    e, n, status = to_bng(x, y, "EPSG:4326")
    assert list(status) == ["missing", "invalid", "invalid", "invalid", "invalid", "missing"]
    assert np.isnan(e).all() and np.isnan(n).all()


def test_repeated_points_transform_once_but_agree():
    rng = np.random.default_rng(3)
    pool_x, pool_y = rng.uniform(-1.6, -1.4, 20), rng.uniform(52.4, 52.5, 20)
    pick = rng.integers(0, 20, 5000)
    e, n, _ = to_bng(pd.Series(pool_x[pick]), pd.Series(pool_y[pick]), "EPSG:4326")
    ref_e, ref_n = Transformer.from_crs(4326, 27700, always_xy=True).transform(pool_x[pick], pool_y[pick])
    assert np.allclose(e, ref_e) and np.allclose(n, ref_n)


def test_written_nan_and_infinity_are_not_finite_not_missing():
    x = pd.Series(["nan", "inf", "-Infinity", "NaN", "", "abc", "439500"])
    y = pd.Series(["290200", "290200", "290200", "", "290200", "290200", "inf"])
    _, _, status = to_bng(x, y, "EPSG:27700")
    assert list(status) == ["not finite", "not finite", "not finite", "not finite", "missing", "invalid",
                            "not finite"]
    xs = pd.Series([np.inf, np.nan, 439500.0])  # already numbers: NaN is an empty field
    _, _, status = to_bng(xs, pd.Series([290200.0, 290200.0, 290200.0]), "EPSG:27700")
    assert list(status) == ["not finite", "missing", "ok"]
