"""Tests for assessment.analysis.hotspots on small seeded synthetic data.

Checks are against independent computations (numpy histograms, scipy binomial tests,
closed-form Gi*, Lorenz-curve Gini) and invariants (conservation, p-values in [0, 1]).
"""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import stats

from assessment.analysis.hotspots import (
    hotspot_cell_positions,
    hotspot_classify,
    hotspot_classify_counts,
    hotspot_concentration,
    hotspot_count,
    hotspot_gistar,
    hotspot_grid,
    hotspot_kde,
    hotspot_rate,
    hotspot_repeat_locations,
    hotspot_summary,
    hotspot_weights,
)
from assessment.analysis.rates import rate_table_dispersion

X0, Y0, X1, Y1 = 432000.0, 284000.0, 447000.0, 296000.0  # the demo's 15 x 12 km box


def box_boundary():
    return gpd.GeoSeries([shapely.box(X0, Y0, X1, Y1)], crs=27700)


def uniform_points(n, seed, bounds=(X0, Y0, X1, Y1)):
    rng = np.random.default_rng(seed)
    x = rng.uniform(bounds[0], bounds[2], n)
    y = rng.uniform(bounds[1], bounds[3], n)
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=27700)


def cluster_points(n, cx, cy, sd, seed):
    rng = np.random.default_rng(seed)
    return gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(cx + rng.normal(0, sd, n), cy + rng.normal(0, sd, n)), crs=27700
    )


@pytest.fixture(scope="module")
def grid():
    return hotspot_grid(box_boundary())


@pytest.fixture(scope="module")
def weights(grid):
    return hotspot_weights(grid)


# ------------------------------------------------------------------ grid
def test_default_cell_size_is_shorter_side_over_50_rounded(grid):
    # 12 km / 50 = 240 m, rounded down to a multiple of 100 m
    assert grid.attrs["hotspot_grid"]["cell_size"] == 200.0
    assert len(grid) == 75 * 60
    assert grid["cell_id"].is_unique
    assert np.isclose(grid["area"].sum(), 15000 * 12000)


@pytest.mark.parametrize("short_side, expected", [(12_000, 200), (30_000, 600), (3_700, 70), (5_000, 100)])
def test_default_cell_size_rounding(short_side, expected):
    g = hotspot_grid(gpd.GeoSeries([shapely.box(0, 0, 40_000, short_side)], crs=27700))
    assert g.attrs["hotspot_grid"]["cell_size"] == expected
    assert math.ceil(short_side / expected) >= 50


def test_cell_size_can_be_overridden():
    g = hotspot_grid(box_boundary(), cell_size=500)
    assert g.attrs["hotspot_grid"]["cell_size"] == 500.0
    assert len(g) == 30 * 24
    assert np.allclose(g.geometry.area, 500 * 500)


def test_geographic_crs_refused_with_hint():
    pts = uniform_points(10, 1).to_crs(4326)
    with pytest.raises(ValueError, match="must be in a projected CRS.*hint"):
        hotspot_grid(pts)


def test_clip_to_boundary_keeps_area():
    circle = gpd.GeoSeries([shapely.Point(440000, 290000).buffer(3000)], crs=27700)
    g = hotspot_grid(circle, cell_size=250, clip=True)
    assert np.isclose(g["area"].sum(), circle.area.iloc[0], rtol=1e-9)
    assert g["clipped"].any() and not g["clipped"].all()
    assert shapely.covers(circle.iloc[0].buffer(1e-6), g.geometry.values).all()


def test_not_a_geodataframe_is_a_type_error():
    with pytest.raises(TypeError, match="must be GeoDataFrame or GeoSeries"):
        hotspot_grid(pd.DataFrame({"x": [1]}))


# ------------------------------------------------------------------ counts
def test_counts_match_numpy_histogram_and_are_conserved(grid):
    pts = uniform_points(5000, 3)
    out = hotspot_count(pts, grid)
    assert out["count"].sum() == 5000
    xy = np.column_stack([pts.geometry.x, pts.geometry.y])
    hist, _, _ = np.histogram2d(xy[:, 0], xy[:, 1], bins=[75, 60], range=[[X0, X1], [Y0, Y1]])
    mine = np.zeros((75, 60))
    mine[out["col"], out["row"]] = out["count"]
    assert np.array_equal(hist, mine)


def test_points_on_shared_edges_and_outer_edge_counted_once(grid):
    xs = [X0, X0 + 200, X0 + 200, X1, X0 + 400.0]
    ys = [Y0, Y0 + 200, Y0 + 100, Y1, Y1]
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xs, ys), crs=27700)
    out = hotspot_count(pts, grid)
    assert out["count"].sum() == len(xs)
    assert out.loc[(out.row == 1) & (out.col == 1), "count"].item() == 1  # corner at (200, 200)


def test_points_outside_warned_and_not_counted(grid):
    pts = pd.concat([uniform_points(100, 4), uniform_points(7, 5, (X1 + 10, Y0, X1 + 500, Y1))])
    with pytest.warns(UserWarning, match="7 of 107 point"):
        out = hotspot_count(pts, grid)
    assert out["count"].sum() == 100


def test_clipped_grid_counts_points_inside_boundary_once():
    circle = gpd.GeoSeries([shapely.Point(440000, 290000).buffer(3000)], crs=27700)
    g = hotspot_grid(circle, cell_size=250, clip=True)
    pts = uniform_points(4000, 6, (436000, 286000, 444000, 294000))
    inside = int(shapely.covers(circle.iloc[0], pts.geometry.values).sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = hotspot_count(pts, g)
    assert out["count"].sum() == inside


def test_cell_positions_from_coordinates_follow_the_half_open_cells(grid):
    pts = uniform_points(3000, 8)
    x, y = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
    # edge cases: shared edges, the outer east/north edges (last column/row), outside, missing
    x = np.concatenate([x, [X0, X0 + 200, X1, X1 + 1, np.nan]])
    y = np.concatenate([y, [Y0, Y0 + 200, Y1, Y0 + 5, Y0 + 5]])
    pos = hotspot_cell_positions(x, y, grid)
    size = 200.0
    col = np.minimum(np.floor((x - X0) / size), 74)
    row = np.minimum(np.floor((y - Y0) / size), 59)
    ok = np.isfinite(x) & (x <= X1) & (y <= Y1) & (x >= X0) & (y >= Y0)
    want = np.full(len(x), -1)
    lookup = {(r, c): i for i, (r, c) in enumerate(zip(grid["row"], grid["col"]))}
    want[ok] = [lookup[(r, c)] for r, c in zip(row[ok].astype(int), col[ok].astype(int))]
    assert np.array_equal(pos, want)
    counts = np.bincount(pos[pos >= 0], minlength=len(grid))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        via_points = hotspot_count(gpd.GeoDataFrame(geometry=gpd.points_from_xy(x[:3000], y[:3000]), crs=27700), grid)
    assert np.array_equal(np.bincount(pos[:3000][pos[:3000] >= 0], minlength=len(grid)), via_points["count"])
    assert counts.sum() == 3000 + 3


def test_cell_positions_in_a_clipped_grid_need_the_clipped_cell_to_cover_the_point():
    circle = gpd.GeoSeries([shapely.Point(440000, 290000).buffer(3000)], crs=27700)
    g = hotspot_grid(circle, cell_size=250, clip=True)
    pts = uniform_points(4000, 6, (436000, 286000, 444000, 294000))
    x, y = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
    pos = hotspot_cell_positions(x, y, g)
    inside = shapely.covers(circle.iloc[0], pts.geometry.values)
    assert np.array_equal(pos >= 0, inside)
    held = pos >= 0
    assert shapely.covers(g.geometry.values[pos[held]], pts.geometry.values[held]).all()


def test_cell_positions_bad_arguments(grid):
    with pytest.raises(ValueError, match="1-d arrays of one length"):
        hotspot_cell_positions([1.0, 2.0], [1.0], grid)


def test_count_crs_mismatch_message(grid):
    pts = uniform_points(10, 1).to_crs(3857)
    with pytest.raises(ValueError, match="must share one CRS.*hint"):
        hotspot_count(pts, grid)


# ------------------------------------------------------------------ kde
def test_kde_single_point_matches_quartic_formula():
    g = hotspot_grid(box_boundary(), cell_size=1000)
    pt = gpd.GeoDataFrame(geometry=[shapely.Point(440100, 290300)], crs=27700)
    h = 1500.0
    out = hotspot_kde(pt, g, bandwidth=h)
    d = np.hypot(out["x"] - 440100, out["y"] - 290300).to_numpy()
    expected = np.where(d < h, 3 / (math.pi * h * h) * (1 - (d / h) ** 2) ** 2, 0.0) * 1e6
    assert np.allclose(out["kde"], expected)


@pytest.mark.parametrize("kernel", ["quartic", "gaussian"])
def test_kde_integrates_to_number_of_points(kernel):
    g = hotspot_grid(box_boundary(), cell_size=100)
    pts = cluster_points(300, 440000, 290000, 400, 7)
    out = hotspot_kde(pts, g, bandwidth=800, kernel=kernel)
    total = (out["kde"] / 1e6 * out["area"]).sum()
    assert total == pytest.approx(300, rel=0.01)


def test_kde_default_bandwidth_is_mean_of_nrd():
    pts = cluster_points(500, 440000, 290000, 600, 8)
    x, y = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()

    def nrd(v):  # MASS::bandwidth.nrd, written out independently
        q75, q25 = np.percentile(v, [75, 25])
        return 4 * 1.06 * min(np.std(v, ddof=1), (q75 - q25) / 1.34) * len(v) ** -0.2

    out = hotspot_kde(pts, hotspot_grid(box_boundary(), cell_size=500))
    assert out["bandwidth"].iloc[0] == pytest.approx((nrd(x) + nrd(y)) / 2)


# ------------------------------------------------------------------ Gi*
def test_gistar_uniform_poisson_rarely_reports_hotspots(grid, weights):
    # demo intensity: about 12,000 events over 15 x 12 km, default 200 m grid (4,500 cells)
    runs_with_hotspot = 0
    for seed in range(100):
        rng = np.random.default_rng(10_000 + seed)
        n = rng.poisson(12_000)
        counts = hotspot_count(uniform_points(n, seed), grid)
        res = hotspot_gistar(counts, weights=weights)
        runs_with_hotspot += bool((res["hotspot"] == "hot").any())
    assert runs_with_hotspot <= 10


def test_planted_cluster_is_hot_and_summary_says_so(grid, weights):
    pts = pd.concat([uniform_points(12_000, 21), cluster_points(80, 439500, 290200, 150, 22)])
    res = hotspot_gistar(hotspot_count(pts, grid), weights=weights)
    centre = res.loc[(res["x"] - 439500).abs().lt(100) & (res["y"] - 290200).abs().lt(100)]
    assert (centre["hotspot"] == "hot").all()
    hot = res[res["hotspot"] == "hot"]
    assert np.hypot(hot["x"] - 439500, hot["y"] - 290200).max() < 1000  # nothing spurious elsewhere
    assert "statistically significant hotspots" in hotspot_summary(res)
    assert "no statistically" not in hotspot_summary(res)


def test_summary_says_no_significant_hotspots(grid, weights):
    res = hotspot_gistar(hotspot_count(uniform_points(12_000, 1), grid), weights=weights)
    assert not (res["hotspot"] == "hot").any()
    assert "no statistically significant hotspots" in hotspot_summary(res)


def test_gistar_columns_and_p_values_in_unit_interval(grid, weights):
    pts = pd.concat([uniform_points(3000, 31), cluster_points(60, 440000, 290000, 200, 32)])
    res = hotspot_gistar(hotspot_count(pts, grid), weights=weights)
    for col in ("count", "gi_z", "p_value", "p_adjusted", "hotspot"):
        assert col in res.columns
    for col in ("p_value", "p_adjusted"):
        assert res[col].between(0, 1).all()
    assert (res["p_adjusted"] >= res["p_value"] - 1e-15).all()
    assert set(res["hotspot"]) <= {"hot", "cold", "not significant"}
    norm = hotspot_gistar(hotspot_count(pts, grid), weights=weights, p_method="normal")
    assert norm["p_value"].between(0, 1).all()


def test_gi_z_matches_closed_form_getis_ord():
    g = hotspot_grid(box_boundary(), cell_size=1000)
    pts = pd.concat([uniform_points(800, 41), cluster_points(50, 440000, 290000, 500, 42)])
    res = hotspot_gistar(hotspot_count(pts, g))
    # Ord & Getis (1995) Gi* with binary weights incl. self, written out with numpy
    x = res["count"].to_numpy(float)
    xy = res[["x", "y"]].to_numpy()
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    w = (d <= 1500).astype(float)
    n = len(x)
    xbar, s = x.mean(), np.sqrt((x ** 2).mean() - x.mean() ** 2)
    wi = w.sum(1)
    z = (w @ x - xbar * wi) / (s * np.sqrt((n * wi - wi ** 2) / (n - 1)))
    assert np.allclose(res["gi_z"], z)


def test_exact_p_value_matches_scipy_binomtest():
    g = hotspot_grid(box_boundary(), cell_size=1000)
    pts = pd.concat([uniform_points(600, 51), cluster_points(40, 440000, 290000, 300, 52)])
    res = hotspot_gistar(hotspot_count(pts, g), correction=None)
    i = int(res["neighbourhood_count"].to_numpy().argmax())
    k = int(res["neighbourhood_count"].iloc[i])
    n = int(res["count"].sum())
    share = res["neighbourhood_expected"].iloc[i] / n
    expected = stats.binomtest(k, n, share, alternative="greater").pvalue * 2
    assert res["p_value"].iloc[i] == pytest.approx(min(1.0, expected), rel=1e-9)
    assert (res["p_adjusted"] == res["p_value"]).all()


def test_holm_is_no_more_liberal_than_fdr(grid, weights):
    pts = pd.concat([uniform_points(6000, 61), cluster_points(40, 440000, 290000, 200, 62),
                     cluster_points(30, 435000, 286000, 200, 63)])
    counts = hotspot_count(pts, grid)
    fdr = hotspot_gistar(counts, weights=weights)
    holm = hotspot_gistar(counts, weights=weights, correction="holm")
    assert (holm["hotspot"] != "not significant").sum() <= (fdr["hotspot"] != "not significant").sum()
    assert ((holm["hotspot"] == "hot") <= (fdr["hotspot"] == "hot")).all()


def test_permutation_floor_is_warned(grid, weights):
    counts = hotspot_count(uniform_points(500, 71), grid)
    with pytest.warns(UserWarning, match="can never be significant"):
        res = hotspot_gistar(counts, weights=weights, permutations=9, seed=1)
    assert res["p_value"].between(0, 1).all()


def test_gistar_bad_arguments():
    counts = hotspot_count(uniform_points(50, 1), hotspot_grid(box_boundary(), cell_size=1000))
    with pytest.raises(ValueError, match="`correction` must be one of"):
        hotspot_gistar(counts, correction="bonferroni")
    with pytest.raises(ValueError, match="`alpha` must lie strictly between 0 and 1"):
        hotspot_gistar(counts, alpha=5)
    with pytest.raises(ValueError, match="must have column"):
        hotspot_gistar(counts.drop(columns="count"))
    with pytest.raises(ValueError, match="must hold whole counts"):
        hotspot_gistar(counts.assign(count=-1))


def test_no_events_is_not_significant_with_warning():
    counts = hotspot_count(uniform_points(0, 1), hotspot_grid(box_boundary(), cell_size=1000))
    with pytest.warns(UserWarning, match="no cell is significant"):
        res = hotspot_gistar(counts)
    assert (res["hotspot"] == "not significant").all()
    assert "no statistically significant hotspots" in hotspot_summary(res)


# ------------------------------------------------------------------ classification
def _yearly(points_by_year):
    frames = []
    for year, pts in points_by_year.items():
        rng = np.random.default_rng(year)
        days = rng.integers(0, 365, len(pts))
        frames.append(pts.assign(date=pd.Timestamp(f"{year}-01-01") + pd.to_timedelta(days, "D")))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def classified():
    g = hotspot_grid(box_boundary(), cell_size=500)
    sites = {"emerging": (443000, 287000, [2025]), "persistent": (436000, 293000, [2023, 2024, 2025]),
             "former": (436000, 286000, [2023]), "intermittent": (444000, 294000, [2023, 2025])}
    by_year = {}
    for year in (2023, 2024, 2025):
        parts = [uniform_points(1500, year)]
        for k, (cx, cy, years) in enumerate(sites.values()):
            if year in years:
                parts.append(cluster_points(40, cx, cy, 150, year * 10 + k))
        by_year[year] = pd.concat(parts, ignore_index=True)
    return hotspot_classify(_yearly(by_year), g, periods="Y"), sites


def test_classify_planted_patterns(classified):
    res, sites = classified
    for pattern, (cx, cy, _) in sites.items():
        cell = res.loc[(res["x"] - cx).abs().le(250) & (res["y"] - cy).abs().le(250)]
        assert (cell["pattern"] == pattern).all(), (pattern, cell["pattern"].tolist())


def test_classify_columns_and_background(classified):
    res, _ = classified
    for col in ("count_2023", "hot_2025", "periods_hot", "hot_latest", "pattern"):
        assert col in res.columns
    assert set(res["pattern"]) <= {"persistent", "emerging", "intermittent", "former", "no pattern"}
    assert (res["pattern"] == "no pattern").mean() > 0.9
    assert res[["count_2023", "count_2024", "count_2025"]].to_numpy().sum() == 3 * 1500 + 7 * 40


def test_classify_rise_p_value_matches_statsmodels(classified):
    from statsmodels.stats.rates import test_poisson_2indep

    res, sites = classified
    cx, cy, _ = sites["emerging"]
    i = int(np.argmin(np.hypot(res["x"] - cx, res["y"] - cy)))
    w = hotspot_weights(hotspot_grid(box_boundary(), cell_size=500))
    counts = res[["count_2023", "count_2024", "count_2025"]].to_numpy(float)
    neigh = w.sparse @ counts
    totals = counts.sum(axis=0)
    busiest = int(np.argmax(neigh[i, :2] / totals[:2]))
    expected = test_poisson_2indep(neigh[i, 2], totals[2], neigh[i, busiest], totals[busiest],
                                   method="exact-cond", alternative="larger").pvalue
    poisson = hotspot_classify_counts(counts.astype(int), ["2023", "2024", "2025"],
                                      hotspot_grid(box_boundary(), cell_size=500), dispersion=None)
    assert poisson["p_increase"].iloc[i] == pytest.approx(expected, rel=1e-9)
    assert (poisson["dispersion"] == 1).all()
    # the default allows for the dispersion of the table the test uses, the neighbourhood totals by year
    # (above 1 here: the planted sites change from year to year), which can only weaken the evidence
    phi = rate_table_dispersion(np.rint(neigh).astype(int))["dispersion"]
    assert (res["dispersion"] == phi).all() and phi > 1
    assert expected < res["p_increase"].iloc[i] < 0.001
    assert res["p_increase"].between(0, 1).all() and res["p_increase_adjusted"].between(0, 1).all()


# ------------------------------------------------------------------ over-dispersion in the rise test
def test_rise_test_with_dispersion_2_on_doubled_counts_is_the_poisson_test(classified):
    """Every count doubled has twice the variance-to-mean ratio: with dispersion 2 the scaled test
    is exactly the exact Poisson test of the original counts, and so is the decision."""
    from statsmodels.stats.multitest import multipletests

    res, _ = classified
    g = hotspot_grid(box_boundary(), cell_size=500)
    counts = res[["count_2023", "count_2024", "count_2025"]].to_numpy()
    labels = ["2023", "2024", "2025"]
    assert rate_table_dispersion(2 * counts)["ratio"] == pytest.approx(2 * rate_table_dispersion(counts)["ratio"])
    poisson = hotspot_classify_counts(counts, labels, g, dispersion=None)
    doubled = hotspot_classify_counts(2 * counts, labels, g, dispersion=2.0)
    np.testing.assert_allclose(doubled["p_increase"], poisson["p_increase"], rtol=1e-9, atol=1e-300)
    assert (doubled["dispersion"] == 2.0).all()
    hot = doubled["hot_latest"].to_numpy()
    adj = multipletests(poisson["p_increase"].to_numpy()[hot], method="fdr_bh")[1]
    want = np.zeros(len(g), bool)
    want[np.flatnonzero(hot)[adj < 0.05]] = True
    assert ((doubled["pattern"] == "emerging").to_numpy() == want).all() and want.any()


def test_rise_test_dispersion_weakens_the_evidence_and_is_checked(classified):
    res, sites = classified
    g = hotspot_grid(box_boundary(), cell_size=500)
    counts = res[["count_2023", "count_2024", "count_2025"]].to_numpy()
    labels = ["2023", "2024", "2025"]
    cx, cy, _ = sites["emerging"]
    near = ((res["x"] - cx).abs().le(250) & (res["y"] - cy).abs().le(250)).to_numpy()
    under = hotspot_classify_counts(counts, labels, g, dispersion=0.5)  # never below 1
    pd.testing.assert_frame_equal(pd.DataFrame(under.drop(columns="geometry")),
                                  pd.DataFrame(hotspot_classify_counts(counts, labels, g, dispersion=None
                                                                       ).drop(columns="geometry")))
    big = hotspot_classify_counts(counts, labels, g, dispersion=40.0)
    rise = (under["p_increase"] < 0.5).to_numpy()  # where the latest year is above its expectation
    assert (big["p_increase"].to_numpy()[rise] >= under["p_increase"].to_numpy()[rise] - 1e-12).all()
    assert (under.loc[near, "pattern"] == "emerging").all() and not (big["pattern"] == "emerging").any()
    # quasi-Poisson variance: the scaled binomial is close to the normal approximation with
    # variance phi * m * q * (1 - q), between it without and with continuity correction
    i = int(np.flatnonzero(near)[0])
    for phi in (2.0, 4.0):
        got = hotspot_classify_counts(counts, labels, g, dispersion=phi)["p_increase"].iloc[i]
        w = hotspot_weights(g).sparse
        neigh, totals = w @ counts.astype(float), counts.sum(axis=0).astype(float)
        b = int(np.argmax(neigh[i, :2] / totals[:2]))
        a, m, q = neigh[i, 2], neigh[i, 2] + neigh[i, b], totals[2] / (totals[2] + totals[b])
        sd = math.sqrt(phi * m * q * (1 - q))
        assert 0.8 * stats.norm.sf((a - m * q) / sd) < got < 1.2 * stats.norm.sf((a - phi / 2 - m * q) / sd), phi
    for bad in ("poisson", -1.0, float("nan"), True):
        with pytest.raises(ValueError, match="dispersion"):
            hotspot_classify_counts(counts, labels, g, dispersion=bad)


def test_rise_test_dispersion_is_measured_on_neighbourhood_totals():
    """Neighbouring cells busier or quieter together in a year: each cell alone looks nearly Poisson,
    but a neighbourhood's total varies far more, and the rise test (on neighbourhood totals) must allow
    for that. With weights that are not 0/1 the totals are not counts, and the cells' table is used."""
    from assessment.calibration.emerging import field_means, surface

    g = hotspot_grid(box_boundary(), cell_size=500)
    rng = np.random.default_rng(7)
    mean = np.full(len(g), 4.0)
    counts = rng.poisson(field_means(mean, g, 3, rng))
    labels = ["2023", "2024", "2025"]
    w = hotspot_weights(g)
    neigh = np.rint(w.sparse @ counts.astype(float)).astype(int)
    on_cells = rate_table_dispersion(counts)["dispersion"]
    on_sums = rate_table_dispersion(neigh)["dispersion"]
    assert on_sums > 1.5 * on_cells  # the spatially correlated variation shows on the totals
    res = hotspot_classify_counts(counts, labels, g, weights=w)
    assert res["dispersion"].iloc[0] == pytest.approx(on_sums)
    # independent Poisson cells: the totals are Poisson too, and the estimate stays near 1
    flat = rng.poisson(np.repeat(surface(g)[:, None], 3, axis=1))
    assert hotspot_classify_counts(flat, labels, g, weights=w)["dispersion"].iloc[0] < 1.3
    # row-standardised weights: neighbourhood means, not counts, so the cells' own table is measured
    w.transform = "r"
    assert hotspot_classify_counts(counts, labels, g, weights=w)["dispersion"].iloc[0] == pytest.approx(on_cells)


def test_already_hot_place_that_doubles_is_emerging_not_persistent():
    g = hotspot_grid(box_boundary(), cell_size=500)
    by_year = {}
    for year, n_cluster in ((2023, 30), (2024, 30), (2025, 90)):
        by_year[year] = pd.concat([uniform_points(1500, year + 50),
                                   cluster_points(n_cluster, 440000, 290000, 150, year + 60)], ignore_index=True)
    events = _yearly(by_year)
    res = hotspot_classify(events, g, periods="Y")
    cell = res.loc[(res["x"] - 440000).abs().le(250) & (res["y"] - 290000).abs().le(250)]
    assert cell[["hot_2023", "hot_2024", "hot_2025"]].to_numpy().all()
    assert (cell["pattern"] == "emerging").all()
    flags_only = hotspot_classify(events, g, periods="Y", increase_test=False)
    cell = flags_only.loc[cell.index]
    assert (cell["pattern"] == "persistent").all()


def test_classify_from_counts_equals_classify_from_points():
    g = hotspot_grid(box_boundary(), cell_size=500)
    by_year = {}
    for year in (2023, 2024, 2025):
        parts = [uniform_points(800, year + 7)]
        if year == 2025:
            parts.append(cluster_points(60, 443000, 287000, 150, 99))
        by_year[year] = pd.concat(parts, ignore_index=True)
    pts = _yearly(by_year)
    want = hotspot_classify(pts, g, periods="Y")
    year = pts["date"].dt.year.to_numpy()
    pos = hotspot_cell_positions(pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy(), g)
    counts = np.zeros((len(g), 3), dtype=int)
    for k, yr in enumerate((2023, 2024, 2025)):
        counts[:, k] = np.bincount(pos[(year == yr) & (pos >= 0)], minlength=len(g))
    got = hotspot_classify_counts(counts, ["2023", "2024", "2025"], g)
    pd.testing.assert_frame_equal(pd.DataFrame(got.drop(columns="geometry")),
                                  pd.DataFrame(want.drop(columns="geometry")))
    assert (got["pattern"] == "emerging").any()
    with pytest.raises(ValueError, match="shape"):
        hotspot_classify_counts(counts[:, :2], ["2023", "2024", "2025"], g)
    with pytest.raises(ValueError, match="at least two"):
        hotspot_classify_counts(counts[:, :1], ["2025"], g)


def test_classify_needs_two_periods():
    pts = uniform_points(50, 1).assign(date=pd.Timestamp("2024-03-01"))
    with pytest.raises(ValueError, match="at least two periods"):
        hotspot_classify(pts, hotspot_grid(box_boundary(), cell_size=1000))


# ------------------------------------------------------------------ concentration
def test_gini_matches_lorenz_curve_area():
    x = np.array([0, 0, 1, 1, 2, 3, 5, 8, 13, 40], float)
    res = hotspot_concentration(pd.Series(x))
    # independent: one minus twice the area under the Lorenz curve (trapezoids)
    lorenz = np.concatenate([[0], np.cumsum(np.sort(x)) / x.sum()])
    area = np.trapezoid(lorenz, dx=1 / len(x))
    assert res["gini"].item() == pytest.approx(1 - 2 * area)
    assert hotspot_concentration(np.full(20, 3))["gini"].item() == pytest.approx(0.0)


def test_top_shares_on_known_vector():
    x = np.arange(1, 101)  # 100 units, total 5050
    res = hotspot_concentration(x)
    assert res["units_top_5pct"].item() == 5 and res["units_top_10pct"].item() == 10
    assert res["share_top_5pct"].item() == pytest.approx(sum(range(96, 101)) / 5050)
    assert res["share_top_10pct"].item() == pytest.approx(sum(range(91, 101)) / 5050)


def test_concentration_of_map_points_and_grid(grid):
    events = pd.DataFrame({"easting": [1, 1, 1, 2, 3, 3], "northing": [5, 5, 5, 5, 6, 6]})
    res = hotspot_concentration(events, by=["easting", "northing"])
    assert res["units"].item() == 3 and res["events"].item() == 6
    assert res["share_top_5pct"].item() == pytest.approx(0.5)
    counts = hotspot_count(uniform_points(1000, 2), grid)
    assert hotspot_concentration(counts)["events"].item() == 1000


# ------------------------------------------------------------------ repeats
def test_repeat_locations():
    events = pd.DataFrame({"location": ["A", "B", "A", "C", "A", "B", "D", None]})
    with pytest.warns(UserWarning, match="1 event"):
        table = hotspot_repeat_locations(events, "location")
    assert table["location"].tolist() == ["A", "B"]
    assert table["events"].tolist() == [3, 2]
    assert table["share_of_events"].tolist() == pytest.approx([3 / 7, 2 / 7])
    with pytest.warns(UserWarning):
        summ = hotspot_repeat_locations(events, "location", summary=True)
    assert summ["repeat_locations"].item() == 2
    assert summ["share_at_repeat_locations"].item() == pytest.approx(5 / 7)


# ------------------------------------------------------------------ rates
@pytest.fixture(scope="module")
def town():
    """Four small areas; a dense town of 40,000 residents in one of them."""
    areas = gpd.GeoDataFrame(
        {"sa_code": ["A", "B", "C", "D"], "pop_total": [40_000, 3_000, 3_000, 4_000]},
        geometry=[shapely.box(438000, 288000, 442000, 292000), shapely.box(432000, 284000, 447000, 288000),
                  shapely.box(432000, 288000, 438000, 296000), shapely.box(438000, 292000, 447000, 296000)],
        crs=27700,
    ).overlay(gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0, X1, Y1)], crs=27700), how="intersection")
    # remaining strip east of the town
    east = gpd.GeoDataFrame({"sa_code": ["E"], "pop_total": [2_000]},
                            geometry=[shapely.box(442000, 288000, 447000, 292000)], crs=27700)
    return pd.concat([areas, east], ignore_index=True)


def _events_following_population(areas, rate_per_person, seed):
    rng = np.random.default_rng(seed)
    parts = []
    for k, (geom, pop) in enumerate(zip(areas.geometry, areas["pop_total"])):
        x0, y0, x1, y1 = geom.bounds
        parts.append(uniform_points(rng.poisson(pop * rate_per_person), seed * 100 + k, (x0, y0, x1, y1)))
    return pd.concat(parts, ignore_index=True)


def test_population_apportioned_and_conserved(grid, town):
    counts = hotspot_count(uniform_points(100, 1), grid)
    res = hotspot_rate(counts, town)
    assert res["population"].sum() == pytest.approx(town["pop_total"].sum())
    assert res["p_value"].between(0, 1).all() and res["p_adjusted"].between(0, 1).all()
    assert res["expected"].sum() == pytest.approx(100)


def test_population_map_is_not_a_rate_hotspot(grid, weights, town):
    pts = _events_following_population(town, 0.1, 3)  # about 5,200 events, all from residents
    counts = hotspot_count(pts, grid)
    assert (hotspot_gistar(counts, weights=weights)["hotspot"] == "hot").any()  # counts: the town
    res = hotspot_rate(counts, town, weights=weights)
    assert not (res["hotspot"] == "hot").any()
    assert "no statistically significant hotspots" in hotspot_summary(res)


def test_excess_over_population_is_hot(grid, weights, town):
    pts = pd.concat([_events_following_population(town, 0.1, 4), cluster_points(60, 445000, 294000, 150, 5)])
    res = hotspot_rate(hotspot_count(pts, grid), town, weights=weights)
    hot = res[res["hotspot"] == "hot"]
    assert len(hot) > 0
    assert np.hypot(hot["x"] - 445000, hot["y"] - 294000).max() < 1000
    assert res.loc[res["population"] > 0, "rate"].notna().all()


def test_rate_accepts_population_per_cell(grid, weights):
    counts = hotspot_count(uniform_points(2000, 9), grid)
    per_cell = pd.DataFrame({"cell_id": grid["cell_id"], "pop_total": 10.0})
    res = hotspot_rate(counts, per_cell, weights=weights)
    assert res["population"].sum() == pytest.approx(10.0 * len(grid))
    assert res["rate"].to_numpy() == pytest.approx(counts["count"].to_numpy() / 10 * 1000)
    with pytest.raises(ValueError, match="must be a population of 0 or more"):
        hotspot_rate(counts, per_cell.assign(pop_total=-1.0))


# ------------------------------------------------------------------ what the tests test
def small_grid(n=12, size=100.0):
    return hotspot_grid(gpd.GeoSeries([shapely.box(0, 0, n * size, n * size)], crs=27700), cell_size=size)


def test_cluster_p_values_match_a_direct_convolution():
    g = small_grid()
    rng = np.random.default_rng(3)
    g["count"] = rng.negative_binomial(2, 2 / 7, len(g))
    res = hotspot_gistar(g)
    w = hotspot_weights(g).sparse.tocsr()
    y = g["count"].to_numpy()
    for i in (0, 5, 77):  # a corner, an edge and an inner cell
        nb = [j for j in w[i].indices if j != i]
        s = int(y[nb].sum())
        pool = np.delete(y, i)
        pmf = np.bincount(pool) / len(pool)
        dist = np.ones(1)
        for _ in nb:
            dist = np.convolve(dist, pmf)
        p = min(1.0, 2 * min(dist[s:].sum(), dist[: s + 1].sum()))
        assert res["cluster_p_value"].iloc[i] == pytest.approx(p, rel=1e-9, abs=1e-12)
    assert set(res["cluster"]) <= {"hot", "cold", "not significant"}
    cond = hotspot_gistar(g, p_method="conditional")
    assert np.allclose(cond["p_value"], res["cluster_p_value"])
    assert "drawn at random" in hotspot_summary(cond)


def test_cluster_test_is_close_to_conditional_permutation_without_replacement():
    g = small_grid(15)
    rng = np.random.default_rng(8)
    g["count"] = rng.poisson(rng.gamma(1.5, 4.0, len(g)))
    res = hotspot_gistar(g)
    w = hotspot_weights(g).sparse.tocsr()
    y = g["count"].to_numpy()
    draws = 20_000
    for i in (16, 100, 200):
        nb = [j for j in w[i].indices if j != i]
        others = np.delete(y, i)
        # Monte Carlo conditional permutation (Anselin 1995): k of the other cells without replacement
        picks = rng.random((draws, len(others))).argsort(axis=1)[:, : len(nb)]
        sums = others[picks].sum(axis=1)
        s = y[nb].sum()
        p_mc = min(1.0, 2 * min((sums >= s).mean(), (sums <= s).mean()))
        assert res["cluster_p_value"].iloc[i] == pytest.approx(p_mc, abs=0.03)


def test_overdispersed_cells_fool_the_exact_test_but_not_the_cluster_test():
    g = small_grid(30)
    w = hotspot_weights(g)
    rng = np.random.default_rng(12)
    g["count"] = rng.negative_binomial(2.5, 2.5 / (2.5 + 5.0), len(g))  # mean 5, variance 15, no clustering
    res = hotspot_gistar(g, weights=w)
    assert (res["hotspot"] == "hot").sum() > 5
    assert (res["cluster"] != "not significant").sum() == 0
    text = hotspot_summary(res)
    assert "an even spread across the area" in text and "also sit in clusters" in text


def test_rate_hotspots_leave_out_cells_with_no_residents(grid, weights, town):
    empty = town.copy()
    empty.loc[empty["sa_code"] == "E", "pop_total"] = 0  # nobody lives east of the town
    pts = pd.concat([_events_following_population(town, 0.1, 4), cluster_points(60, 445000, 290000, 150, 5)])
    res = hotspot_rate(hotspot_count(pts, grid), empty, weights=weights)
    nobody = res["population"] <= 0
    assert nobody.any()
    assert (res.loc[nobody, "hotspot"] == "not tested").all()
    assert res.loc[nobody, "p_value"].isna().all() and res.loc[~nobody, "p_value"].between(0, 1).all()
    assert not (res.loc[nobody, "p_value"] == 0).any()
    text = hotspot_summary(res)
    assert "residents" in text and "left out" in text


@pytest.mark.parametrize("factor", [1.0, 1.5, 2.0, 2.5, 3.0])
def test_grid_weights_match_libpysal_distance_band(factor):
    """The arithmetic neighbours are DistanceBand's (k-d tree) neighbours, self-weight added."""
    from libpysal.weights import DistanceBand, fill_diagonal

    from assessment.analysis import hotspots

    # A grid clipped to an irregular area, so that cells are missing at the edges and in a hole.
    area = shapely.Polygon([(0, 0), (4000, 300), (3600, 3100), (1800, 2500), (200, 3300)])
    area = area.difference(shapely.Point(2000, 1500).buffer(500))
    boundary = gpd.GeoDataFrame(geometry=[area], crs="EPSG:27700")
    g = hotspots.hotspot_grid(boundary, cell_size=200, clip=boundary)
    size = 200.0
    ours = hotspots.hotspot_weights(g, distance=factor * size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = fill_diagonal(DistanceBand(g[["x", "y"]].to_numpy(float), threshold=factor * size, binary=True,
                                         silence_warnings=True), 1.0)
    a = ours.sparse.tocsr().sorted_indices()
    b = ref.sparse.tocsr().sorted_indices()
    assert a.shape == b.shape == (len(g), len(g))
    assert (a != b).nnz == 0
    assert ours.transform == "B" and a.diagonal().min() == 1.0
    # esda's Gi* gives the same z-scores on either
    y = np.random.default_rng(4).poisson(3, len(g)).astype(float)
    z1 = hotspots.hotspot_gistar(g.assign(count=y), weights=ours)["gi_z"].to_numpy()
    z2 = hotspots.hotspot_gistar(g.assign(count=y), weights=ref)["gi_z"].to_numpy()
    np.testing.assert_allclose(z1, z2, rtol=1e-12, atol=1e-12)
