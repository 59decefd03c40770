"""Tests for the Knox near-repeat test on seeded synthetic events."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assessment.analysis.nearrepeat import nearrepeat_knox

D_BANDS = [0, 100, 200, 400]
T_BANDS = [0, 14, 28, 56]


def random_events(n, seed, size=5000.0, days=365):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "easting": rng.uniform(0, size, n),
        "northing": rng.uniform(0, size, n),
        "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, days, n), "D"),
    })


def planted(seed, m=30):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "easting": 2500 + rng.normal(0, 40, m),
        "northing": 2500 + rng.normal(0, 40, m),
        "date": pd.Timestamp("2024-06-01") + pd.to_timedelta(rng.integers(0, 14, m), "D"),
    })


def test_observed_pairs_match_brute_force():
    ev = random_events(300, 1)
    res = nearrepeat_knox(ev, D_BANDS, T_BANDS, permutations=9, seed=1)
    xy = ev[["easting", "northing"]].to_numpy()
    t = (ev["date"] - ev["date"].min()).dt.days.to_numpy()
    i, j = np.triu_indices(len(ev), k=1)
    d = np.hypot(*(xy[i] - xy[j]).T)
    dt = np.abs(t[i] - t[j])
    bands = zip(res["distance_from"], res["distance_to"], res["time_from"], res["time_to"], res["observed"])
    for d0, d1, t0, t1, observed in bands:  # the 9 bands of the result, not the data
        d_in = (d <= d1) & ((d > d0) | (d0 == 0))
        t_in = (dt <= t1) & ((dt > t0) | (t0 == 0))
        assert observed == int((d_in & t_in).sum()), (d0, d1, t0, t1)


def test_planted_space_time_cluster_is_significant_close_close():
    res = nearrepeat_knox(pd.concat([random_events(600, 2), planted(3)]), D_BANDS, T_BANDS,
                          permutations=99, seed=4)
    close = res.iloc[0]
    assert close["distance_band"] == "0-100 m" and close["time_band"] == "0-14 days"
    assert close["p_value"] <= 0.05
    assert close["knox_ratio"] > 2
    assert res["p_value"].between(0, 1).all()
    assert len(res) == 9
    assert {"observed", "expected", "knox_ratio", "p_value"} <= set(res.columns)


def test_random_pattern_rarely_significant_close_close():
    significant = 0
    for seed in range(20):
        res = nearrepeat_knox(random_events(600, 100 + seed), D_BANDS, T_BANDS, permutations=99, seed=seed)
        assert res["p_value"].between(0, 1).all()
        significant += bool(res["p_value"].iloc[0] <= 0.05)
    assert significant <= 3  # about 1 expected at the 5% level


def test_expected_is_permutation_mean_and_total_pairs_conserved():
    ev = random_events(400, 5)
    res = nearrepeat_knox(ev, D_BANDS, [0, 400], permutations=19, seed=6)
    # with one time band covering every gap, each permutation has the same pairs as observed
    assert np.allclose(res["expected"], res["observed"])
    assert (res["p_value"] == 1.0).all()


def test_missing_rows_warned_and_bad_bands_refused():
    ev = random_events(50, 7)
    ev.loc[0, "easting"] = np.nan
    with pytest.warns(UserWarning, match="1 event"):
        nearrepeat_knox(ev, D_BANDS, T_BANDS, permutations=5, seed=1)
    with pytest.raises(ValueError, match="`distance_bands` must be at least two increasing"):
        nearrepeat_knox(ev, [100, 50], T_BANDS)
    with pytest.raises(ValueError, match="`permutations` must be a whole number"):
        nearrepeat_knox(ev, D_BANDS, T_BANDS, permutations=0)
    with pytest.raises(ValueError, match="must have column"):
        nearrepeat_knox(ev.drop(columns="date"), D_BANDS, T_BANDS)


def test_seed_gives_reproducible_result():
    ev = random_events(200, 8)
    a = nearrepeat_knox(ev, D_BANDS, T_BANDS, permutations=19, seed=3)
    b = nearrepeat_knox(ev, D_BANDS, T_BANDS, permutations=19, seed=3)
    pd.testing.assert_frame_equal(a, b)


def test_adjusted_by_hand_and_the_profile_calls_it():
    from assessment.analysis.nearrepeat import nearrepeat_adjusted
    from assessment.documents import problem_profile

    k = pd.DataFrame({"p_value": [0.01, 0.04, 0.03, 0.2], "knox_ratio": [1.3, 1.1, 0.9, 1.0]})
    got = nearrepeat_adjusted(k)
    # sorted 0.01, 0.03, 0.04, 0.2 -> 0.04, 0.06, 0.0533, 0.2 -> step-up minimum: 0.04, 0.0533, 0.0533, 0.2
    assert got["p_adjusted"].to_numpy() == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.2])
    assert got["near_repeat"].tolist() == [True, False, False, False]
    assert nearrepeat_adjusted(k, alpha=0.06)["near_repeat"].tolist() == [True, True, False, False]
    pd.testing.assert_frame_equal(problem_profile.profile_knox_adjusted(k), got)
    with pytest.raises(ValueError, match="knox_ratio"):
        nearrepeat_adjusted(k.drop(columns="knox_ratio"))
