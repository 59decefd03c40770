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


def test_distinct_pairs_transformed_row_by_row_agree_exactly_with_pyproj():
    # mostly distinct pairs (more rows than the sample) take the one-call path: the numbers are pyproj's own,
    # exactly, and invalid, missing and off-grid rows are still judged (NaN, with their status)
    rng = np.random.default_rng(5)
    n = 40_000
    lon = np.round(rng.uniform(-1.6, -1.38, n), 6)
    lat = np.round(rng.uniform(52.40, 52.51, n), 6)
    lon[::97] = np.nan
    lon[5], lat[5] = 0.0, 0.0
    lon[7], lat[7] = lat[7], lon[7]  # swapped: converts, but off the grid
    lat[11] = 95.0
    e, n_, status = to_bng(pd.Series(lon), pd.Series(lat), "EPSG:4326")
    ok = np.asarray(status == "ok")
    ref_e, ref_n = Transformer.from_crs(4326, 27700, always_xy=True).transform(lon[ok], lat[ok])
    assert np.array_equal(e[ok], ref_e) and np.array_equal(n_[ok], ref_n)
    assert np.isnan(e[~ok]).all() and np.isnan(n_[~ok]).all()
    assert status[5] == status[7] == status[11] == "invalid" and status[97] == "missing"
    assert ok.sum() == n - len(range(0, n, 97)) - 3


def test_distinct_share_estimate_tells_snapped_from_distinct():
    from assessment.intake.coords import _DISTINCT_SHARE, _expected_distinct_share

    rng = np.random.default_rng(8)
    m = 400_000
    distinct = rng.uniform(-1.6, -1.4, m) + 1j * rng.uniform(52.4, 52.5, m)
    assert _expected_distinct_share(distinct.real, distinct.imag) > _DISTINCT_SHARE
    for points in (500, 50_000):  # snapped to map points: the estimate is near the true share
        pool = rng.uniform(-1.6, -1.4, points) + 1j * rng.uniform(52.4, 52.5, points)
        snapped = pool[rng.integers(0, points, m)]
        true_share = len(np.unique(snapped)) / m
        estimate = _expected_distinct_share(snapped.real, snapped.imag)
        assert abs(estimate - true_share) < 0.05 and estimate < _DISTINCT_SHARE


def test_snapped_and_distinct_paths_give_the_same_numbers():
    # the same points, once as a few repeated map points and once spread out: each row's result is the same
    rng = np.random.default_rng(9)
    pool_x, pool_y = np.round(rng.uniform(-1.6, -1.4, 30_000), 6), np.round(rng.uniform(52.4, 52.5, 30_000), 6)
    pick = rng.integers(0, 100, 30_000)
    e1, n1, _ = to_bng(pd.Series(pool_x[pick]), pd.Series(pool_y[pick]), "EPSG:4326")  # factorised
    e2, n2, _ = to_bng(pd.Series(pool_x), pd.Series(pool_y), "EPSG:4326")  # every row
    assert np.array_equal(e1, e2[pick]) and np.array_equal(n1, n2[pick])


def test_pairs_factorised_by_millionths_or_as_complex_numbers_alike():
    from assessment.intake.coords import _factorize_pairs

    rng = np.random.default_rng(11)
    pool_x = np.round(rng.uniform(-1.6, -1.4, 300), 6)
    pool_y = np.round(rng.uniform(52.4, 52.5, 300), 6)
    pick = rng.integers(0, 300, 20_000)
    for xs, ys in ((pool_x[pick], pool_y[pick]),                      # 6 decimals: integer keys
                   (pool_x[pick] + 1e-9, pool_y[pick]),               # more decimals: complex keys
                   (pool_x[pick] * 1e4, pool_y[pick] * 1e4)):         # too large for millionths
        codes, first = _factorize_pairs(xs, ys)
        ref_codes, ref_uniques = pd.factorize(xs + 1j * ys)
        assert np.array_equal(codes, ref_codes)
        assert np.array_equal(xs[first] + 1j * ys[first], np.asarray(ref_uniques))


def test_direct_operation_gives_pyproj_s_own_numbers_inside_outside_and_on_the_edges():
    from assessment.intake import coords

    direct = coords._direct_operation("EPSG:4326")
    assert direct is not None  # PROJ's Helmert pipeline (or OSTN15 where its grid is installed)
    _, (west, south, east, north) = direct
    assert west < -2 < east and south < 52 < north  # Great Britain's area of use
    rng = np.random.default_rng(11)
    n = 600_000  # above the size where the transform is split across threads
    lon = np.round(rng.uniform(west - 3, east + 3, n), 6)
    lat = np.round(rng.uniform(south - 3, north + 3, n), 6)
    lon[:4], lat[:4] = [west, east, -1.5, -1.5], [52.0, 52.0, south, north]  # exactly on the edges
    want = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(lon, lat, errcheck=False)
    got = coords._transform_in_place("EPSG:4326", lon.copy(), lat.copy())
    for w, g in zip(want, got):
        np.testing.assert_array_equal(g, w)  # bit for bit, NaN/inf where pyproj gives them
    inside = (lon > west) & (lon < east) & (lat > south) & (lat < north)
    assert 0.3 < inside.mean() < 0.9  # both routes were taken
    assert coords._direct_operation("EPSG:27700") is None  # projected sources keep the general route


def test_prepare_transform_caches_what_to_bng_uses_and_leaves_bad_crs_to_it():
    import pytest

    from assessment.intake import coords

    coords._transformer.cache_clear()
    coords._direct_operation.cache_clear()
    coords.prepare_transform("EPSG:4326")
    assert coords._transformer.cache_info().currsize == 1 and coords._direct_operation.cache_info().currsize == 1
    coords.prepare_transform("EPSG:999999")  # no such CRS: nothing raised here ...
    with pytest.raises(Exception):
        to_bng(np.array([1.0]), np.array([52.0]), "EPSG:999999")  # ... but where the caller sees it
    with pytest.raises(TypeError, match="source_crs"):
        coords.prepare_transform(4326)
