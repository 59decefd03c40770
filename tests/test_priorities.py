"""Tests for assessment.analysis.priorities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

from assessment.analysis.priorities import (
    DEFAULT_WEIGHTS,
    PRIORITY_CRITERIA,
    priority_criteria,
    priority_grid,
    priority_grid_pivot,
    priority_matrix,
)


def _criteria() -> pd.DataFrame:
    return priority_criteria(
        volume={"Violence and sexual offences": 4210, "Burglary": 800, "Vehicle crime": 1500,
                "Anti-social behaviour": 3000, "Drugs": 300, "Shoplifting": 1100},
        trend=pd.DataFrame({"issue": ["Violence and sexual offences", "Burglary", "Vehicle crime",
                                      "Anti-social behaviour", "Shoplifting"],
                            "trend_pct": [6, 30, -15, 2, 4], "trend_p": [0.02, 0.001, 0.0001, 0.6, 0.3]}),
        harm={"Violence and sexual offences": 252600, "Burglary": 292000, "Vehicle crime": 15000,
              "Anti-social behaviour": 0, "Drugs": 600, "Shoplifting": 2200},
        vulnerability={"Violence and sexual offences": 0.3, "Burglary": 0.1, "Vehicle crime": 0.05,
                       "Anti-social behaviour": 0.2, "Shoplifting": 0.15},
        concern={"Violence and sexual offences": 0.41, "Burglary": 0.3, "Anti-social behaviour": 0.5,
                 "Drugs": 0.2, "Shoplifting": 0.1},
        capacity={"Violence and sexual offences": 3, "Burglary": 2, "Vehicle crime": 2,
                  "Anti-social behaviour": 3, "Drugs": 2, "Shoplifting": 1},
    )


def test_default_weights_sum_to_one_and_cover_criteria():
    assert set(DEFAULT_WEIGHTS) == set(PRIORITY_CRITERIA)
    assert sum(DEFAULT_WEIGHTS.values()) == pytest.approx(1.0)


def test_scores_in_range_and_rank_scoring_matches_scipy():
    m = priority_matrix(_criteria())
    score_cols = [f"score_{c}" for c in PRIORITY_CRITERIA]
    vals = m[score_cols].to_numpy()
    assert np.nanmin(vals) >= 0 and np.nanmax(vals) <= 4
    assert m["total_score"].between(0, 4).all()
    # volume score = 4 (r - 1) / (n - 1) with scipy's average ranks
    r = rankdata(m["volume"], method="average")
    assert m["score_volume"].to_numpy() == pytest.approx(4 * (r - 1) / (len(r) - 1))
    # ranks are a permutation of 1..n when there are no ties
    assert sorted(m["rank"].tolist()) == list(range(1, len(m) + 1))
    assert m.iloc[0]["issue"] == "Violence and sexual offences"


def test_total_is_weighted_mean_computed_independently():
    crit = _criteria()
    w = {"volume": 1, "harm": 3}
    m = priority_matrix(crit, weights=w, scoring="minmax").set_index("issue")
    v = crit.set_index("issue")["volume"]
    h = crit.set_index("issue")["harm"]
    sv = 4 * (v - v.min()) / (v.max() - v.min())
    sh = 4 * (h - h.min()) / (h.max() - h.min())
    expected = (1 * sv + 3 * sh) / 4
    assert m["total_score"].to_numpy() == pytest.approx(expected.reindex(m.index).to_numpy())
    # criteria with weight 0 are not called missing
    assert (m["missing_criteria"] == "").all()


def test_trend_counts_only_when_significant():
    m = priority_matrix(_criteria(), trend_cap=20, fdr=False).set_index("issue")
    assert m.loc["Anti-social behaviour", "score_trend"] == 2.0          # p = 0.6: neutral
    assert m.loc["Burglary", "score_trend"] == 4.0                       # +30% capped
    assert m.loc["Vehicle crime", "score_trend"] == pytest.approx(2 - 2 * 15 / 20)
    assert "no significant trend (+2% a year, p = 0.60)" in m.loc["Anti-social behaviour", "explanation"]
    assert "falling 15% a year (p < 0.001)" in m.loc["Vehicle crime", "explanation"]


def test_trend_significance_is_adjusted_for_the_false_discovery_rate():
    from statsmodels.stats.multitest import multipletests

    crit = pd.DataFrame({"issue": list("ABCDEFGH"), "volume": np.arange(8, dtype=float) + 1,
                         "trend_pct": [15.0] * 8, "trend_p": [0.04, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.3]})
    m = priority_matrix(crit).set_index("issue")
    ref = multipletests(crit["trend_p"], method="fdr_bh")[1]
    assert m["trend_q"].reindex(crit["issue"]).to_numpy() == pytest.approx(ref)
    # raw p = 0.04 is one of eight tests: after adjustment it is not a trend and scores neutral
    assert m.loc["A", "score_trend"] == 2.0 and "no significant trend" in m.loc["A", "explanation"]
    assert "adjusted p" in m.loc["A", "explanation"]
    raw = priority_matrix(crit, fdr=False).set_index("issue")
    assert raw.loc["A", "score_trend"] > 2.0 and raw.loc["A", "trend_q"] == 0.04


def test_explanation_sentence_and_missing_criteria():
    m = priority_matrix(_criteria()).set_index("issue")
    e = m.loc["Violence and sexual offences", "explanation"]
    assert e.startswith("Violence and sexual offences: highest volume (4,210 crimes, 39% of the total)")
    # third smallest of five p-values: Benjamini-Hochberg 0.02 * 5 / 3 = 0.033
    assert "rising 6% a year (adjusted p = 0.033)" in e and "named by 41% of residents" in e
    assert "no survey data for this issue" in m.loc["Vehicle crime", "explanation"]
    assert m.loc["Vehicle crime", "missing_criteria"] == "concern"
    assert m.loc["Drugs", "missing_criteria"] == "trend, vulnerability"
    zero = priority_matrix(_criteria(), missing="zero").set_index("issue")
    assert "scored 0" in zero.loc["Drugs", "explanation"]
    assert zero.loc["Drugs", "total_score"] <= m.loc["Drugs", "total_score"]


def test_ties_monotonicity_and_order_invariance():
    crit = pd.DataFrame({"issue": ["A", "B", "C"], "volume": [10, 10, 5], "harm": [1, 1, 9]})
    m = priority_matrix(crit, weights={"volume": 2, "harm": 1}).set_index("issue")
    assert m.loc["A", "rank"] == m.loc["B", "rank"] == 1 and m.loc["C", "rank"] == 3
    assert m.loc["A", "tied"] and m.loc["B", "tied"] and not m.loc["C", "tied"]
    assert "tied with another issue" in m.loc["A", "explanation"]
    # shuffling rows does not change anyone's score
    base = priority_matrix(_criteria()).set_index("issue")["total_score"]
    shuffled = priority_matrix(_criteria().sample(frac=1, random_state=3)).set_index("issue")["total_score"]
    pd.testing.assert_series_equal(base.sort_index(), shuffled.sort_index())
    # raising one issue's volume cannot lower its score
    crit2 = _criteria()
    crit2.loc[crit2["issue"] == "Drugs", "volume"] = 10_000
    up = priority_matrix(crit2).set_index("issue")
    assert up.loc["Drugs", "total_score"] >= base.loc["Drugs"]


def test_capacity_direction():
    crit = pd.DataFrame({"issue": ["A", "B"], "capacity": [1, 3]})
    raises = priority_matrix(crit, weights={"capacity": 1}).set_index("issue")
    lowers = priority_matrix(crit, weights={"capacity": 1}, capacity="lowers").set_index("issue")
    assert raises.loc["B", "rank"] == 1 and lowers.loc["A", "rank"] == 1


def test_validation():
    crit = _criteria()
    with pytest.raises(ValueError, match="weights"):
        priority_matrix(crit, weights={"popularity": 1})
    with pytest.raises(ValueError):
        priority_matrix(crit, weights={"volume": -1})
    with pytest.raises(ValueError, match="at least one"):
        priority_matrix(crit, weights={"volume": 0})
    with pytest.raises(ValueError, match="concern"):
        priority_matrix(crit.assign(concern=41.0))
    with pytest.raises(ValueError, match="unique"):
        priority_matrix(pd.concat([crit, crit]))
    with pytest.raises(TypeError):
        priority_criteria(volume=[1, 2])


def test_grid_bands_and_pivot():
    m = priority_matrix(_criteria())
    g = priority_grid(m)
    assert g["impact_band"].between(1, 4).all() and g["likelihood_band"].between(1, 4).all()
    assert (g["risk"] == g["impact_band"] * g["likelihood_band"]).all()
    # band edges: floor(score) + 1, capped at 4
    assert list(priority_grid(pd.DataFrame({"issue": list("abcde"), "score_harm": [0, 0.99, 1, 3, 4],
                                             "score_vulnerability": np.nan, "score_volume": 0.0,
                                             "score_trend": np.nan}))["impact_band"]) == [1, 1, 2, 4, 4]
    p = priority_grid_pivot(g)
    assert list(p.index) == [4, 3, 2, 1] and list(p.columns) == [1, 2, 3, 4]
    names = [n for cell in p.to_numpy().ravel() if cell for n in cell.split("; ")]
    assert sorted(names) == sorted(g["issue"])                       # every issue placed once
    top = g.set_index("issue").loc["Violence and sexual offences"]
    assert "Violence and sexual offences" in p.loc[top["impact_band"], top["likelihood_band"]]
