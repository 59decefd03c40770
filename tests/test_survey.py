"""Tests for assessment.analysis.survey."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from assessment.analysis.survey import (
    SAFETY_SCALE,
    survey_design_effect,
    survey_comment_flags,
    survey_comment_themes,
    survey_concerns_vs_data,
    survey_feeling_safe,
    survey_load_themes,
    survey_response_counts,
    survey_sample_comments,
    survey_top_concerns,
    survey_wilson,
)


def wilson_by_hand(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson (1927) score interval, written out independently of statsmodels."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def _survey(n: int = 240, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "respondent_id": [f"R{i}" for i in range(n)],
        "ward_code": rng.choice(["E05900001", "E05900002", "E05900003"], n),
        "safe_after_dark": rng.choice(list(SAFETY_SCALE) + ["Don't know", None], n),
        "concern_1": rng.choice(["Anti-social behaviour", "Drug dealing", "Speeding", None], n),
        "concern_2": rng.choice(["Anti-social behaviour", "Burglary", None], n),
        "concern_3": rng.choice(["Litter", None], n),
        "comments": rng.choice(["Youths hanging around the shops", "SPEEDING on the high street",
                                "<script>alert('x')</script>", "", None,
                                "Drug dealing and antisocial behaviour in the park", "Lovely place to live"], n),
    })


def test_wilson_matches_hand_formula():
    k = np.array([0, 3, 17, 50, 20])
    n = np.array([10, 12, 40, 50, 20])
    got = survey_wilson(k, n)
    for i in range(len(k)):
        lo, hi = wilson_by_hand(int(k[i]), int(n[i]))
        assert got.loc[i, "ci_low"] == pytest.approx(lo, abs=1e-10)
        assert got.loc[i, "ci_high"] == pytest.approx(hi, abs=1e-10)
    assert ((got["ci_low"] <= got["proportion"]) & (got["proportion"] <= got["ci_high"])).all()
    zero = survey_wilson([0], [0])
    assert zero.isna().all().all()
    with pytest.raises(ValueError):
        survey_wilson([5], [3])


def test_response_counts_conserve_n_and_show_empty_wards():
    s = _survey()
    out = survey_response_counts(s, wards=["E05900001", "E05900002", "E05900003", "E05900004"])
    body = out[~out["is_overall"]]
    assert body["n"].sum() == len(s) == out.loc[out["is_overall"], "n"].item()
    assert body.set_index("ward").loc["E05900004", "n"] == 0
    # harmonised column name is found too
    out2 = survey_response_counts(s.rename(columns={"ward_code": "area_code"}))
    assert out2["n"].iloc[-1] == len(s)


def test_feeling_safe_by_ward_against_direct_computation():
    s = _survey()
    out = survey_feeling_safe(s).set_index("ward")
    ward = s[s["ward_code"] == "E05900002"]
    valid = ward["safe_after_dark"].isin(SAFETY_SCALE)
    k = int(ward["safe_after_dark"].isin(["Very safe", "Fairly safe"]).sum())
    n = int(valid.sum())
    row = out.loc["E05900002"]
    assert (row["n"], row["n_safe"]) == (n, k)
    assert row["n_respondents"] == len(ward) and row["n_excluded"] == len(ward) - n
    lo, hi = wilson_by_hand(k, n)
    assert row["ci_low"] == pytest.approx(lo) and row["ci_high"] == pytest.approx(hi)
    overall = out.loc["Partnership"]
    assert overall["n"] == out.drop("Partnership")["n"].sum()
    assert overall["n_safe"] == out.drop("Partnership")["n_safe"].sum()
    assert out["proportion"].between(0, 1).all()


def test_feeling_safe_flags_wards_clearly_different():
    s = pd.DataFrame({"ward_code": ["A"] * 100 + ["B"] * 100 + ["C"] * 100,
                      "safe_after_dark": ["Very safe"] * 95 + ["Very unsafe"] * 5
                      + ["Very unsafe"] * 90 + ["Fairly safe"] * 10
                      + ["Fairly safe"] * 50 + ["Fairly unsafe"] * 50})
    out = survey_feeling_safe(s).set_index("ward")
    assert out.loc["A", "vs_overall"] == "higher"
    assert out.loc["B", "vs_overall"] == "lower"
    assert out.loc["C", "vs_overall"] == "similar"
    with pytest.warns(UserWarning, match="not on the scale"):
        survey_feeling_safe(s.assign(safe_after_dark="Quite safe"))


def test_top_concerns_counts_each_respondent_once():
    s = pd.DataFrame({"concern_1": ["ASB", "ASB", "Drugs", None],
                      "concern_2": ["ASB", "Drugs", None, None],      # respondent 0 named ASB twice
                      "concern_3": [None, None, None, "Speeding"]})
    out = survey_top_concerns(s).set_index("concern")
    assert out.loc["ASB", "n_naming"] == 2
    assert out.loc["Drugs", "n_naming"] == 2
    assert (out["n"] == 4).all()
    assert out.loc["ASB", "rank"] == out.loc["Drugs", "rank"] == 1       # tie
    lo, hi = wilson_by_hand(2, 4)
    assert out.loc["ASB", "ci_low"] == pytest.approx(lo)
    # mapping to themes: two concerns of one theme count once per respondent
    themed = survey_top_concerns(s, mapping={"ASB": "asb", "Drugs": "asb", "Speeding": "roads"}).set_index("concern")
    assert themed.loc["asb", "n_naming"] == 3
    assert themed["share"].le(1).all()


def test_comment_themes_shipped_dictionary_and_counts():
    themes = survey_load_themes()
    assert {"asb", "drugs", "vehicles_roads", "youth"} <= set(themes)
    s = pd.DataFrame({"comments": ["Drug dealing and ANTISOCIAL behaviour", "speeders every night",
                                   "Lovely place", "", None, "<b>rubbish</b> everywhere"]})
    flags = survey_comment_flags(s["comments"], themes)
    assert flags.loc[0, "drugs"] and flags.loc[0, "asb"] and flags.loc[0, "n_themes"] >= 2
    assert flags.loc[1, "vehicles_roads"]
    assert flags.loc[2, "uncategorised"]
    assert not flags.loc[3, "has_comment"] and not flags.loc[4, "has_comment"]
    assert flags.loc[5, "environment"]
    out = survey_comment_themes(s, themes)
    assert (out["n"] == 4).all()
    assert out["theme"].iloc[-1] == "uncategorised" and out["n_comments"].iloc[-1] == 1
    # conservation: each comment is counted at least once across themes + uncategorised
    assert out["n_comments"].sum() >= out["n"].iloc[0]
    assert out["n_comments"].sum() == flags[list(themes)].to_numpy().sum() + flags["uncategorised"].sum()
    assert "comments" not in out.columns


def test_custom_theme_file_validation(tmp_path):
    f = tmp_path / "t.yaml"
    f.write_text("themes:\n  bad:\n    keywords: ['(unclosed']\n")
    with pytest.raises(ValueError, match="regular expressions"):
        survey_load_themes(f)
    f.write_text("themes:\n  lights:\n    label: Lights\n    keywords: ['lamp']\n")
    out = survey_comment_themes(pd.DataFrame({"comment": ["Lamp broken", "LAMPS out", "nothing"]}), f)
    assert out.set_index("theme").loc["lights", "n_comments"] == 2


def test_sample_comments_are_plain_unescaped_strings():
    s = _survey()
    got = survey_sample_comments(s, n=50, seed=1)
    assert all(isinstance(x, str) and x for x in got)
    assert survey_sample_comments(s, n=50, seed=1) == got           # reproducible
    assert any("<script>" in x for x in got)                          # raw: reporting must escape
    assert all("script" in x for x in survey_sample_comments(s, theme="uncategorised", n=100)
               if "<" in x)


def test_concerns_vs_data_classification():
    concerns = pd.DataFrame({"concern": ["asb", "acquisitive", "roads", "drugs"],
                             "share": [0.45, 0.30, 0.25, 0.05], "n": 300})
    data = pd.DataFrame({"theme": ["asb", "acquisitive", "drugs", "violence", "criminal_damage_arson", "other"],
                         "volume": [900, 200, 100, 1200, 300, 50],
                         "trend_pct": [1, -5, 25, 6, 0, 0], "trend_p": [0.6, 0.3, 0.01, 0.02, 0.9, 0.9]})
    out = survey_concerns_vs_data(concerns, data).set_index("theme")
    assert out.loc["asb", "classification"] == "concern matches data"
    assert out.loc["acquisitive", "classification"] == "concern higher than data suggests"
    assert out.loc["violence", "classification"] == "data shows a problem residents did not raise"
    assert out.loc["violence", "concern_share"] == 0
    assert out.loc["drugs", "classification"] == "data shows a problem residents did not raise"   # rising
    assert out.loc["roads", "classification"] == "no data for this concern"
    assert out.loc["other", "classification"] == "neither a strong concern nor a data priority"
    assert "45%" in out.loc["asb", "sentence"]
    restricted = survey_concerns_vs_data(concerns, data, options=["asb", "acquisitive", "roads", "drugs"])
    assert restricted.set_index("theme").loc["violence", "classification"] == "no survey data for this issue"


def test_survey_concerns_by_ward_counts_people_by_concern_and_by_rank():
    from assessment.analysis.survey import survey_concerns_by_ward

    sv = pd.DataFrame({"ward_code": ["A", "A", "B", "B", None],
                       "concern_1": ["Burglary", "Noise", "Burglary", "Noise", "Burglary"],
                       "concern_2": ["Noise", "Burglary", "", "Parking", "Noise"],
                       "concern_3": [None, "Parking", "Noise", "Burglary", None]})
    by = survey_concerns_by_ward(sv, concerns=["Burglary", "Noise"])
    got = by.set_index("ward")
    # counted by hand from the rows above
    assert got.loc["A", "Burglary"] == 2 and got.loc["A", "Noise"] == 2
    assert got.loc["B", "Burglary"] == 2 and got.loc["B", "Noise"] == 2
    assert got.loc["Unknown ward", "Burglary"] == 1
    ranks = survey_concerns_by_ward(sv, concerns=["Burglary"], by="rank").set_index("ward")
    assert list(ranks.columns) == ["1st", "2nd", "3rd"]
    assert ranks.loc["A"].tolist() == [1, 1, 0] and ranks.loc["B"].tolist() == [1, 0, 1]
    # every mention is counted once
    assert int(ranks.to_numpy().sum()) == int(sv[["concern_1", "concern_2", "concern_3"]].eq("Burglary").sum().sum())


def test_sample_of_one_theme_is_drawn_from_the_comments_that_theme_flags():
    """A theme's sample is the seeded sample of exactly the comments its keywords flag (flags of every theme)."""
    s = _survey()
    themes = survey_load_themes()
    flags = survey_comment_flags(s["comments"], themes)
    for theme in [*list(themes)[:4], "uncategorised"]:
        pool = s.loc[flags[theme].to_numpy(), "comments"].astype(str).str.strip()
        expected = pool.sample(n=min(7, len(pool)), random_state=3).tolist()
        assert survey_sample_comments(s, theme=theme, n=7, seed=3) == expected
    with pytest.raises(ValueError):
        survey_sample_comments(s, theme="no such theme")


def test_named_wards_needs_the_side_and_enough_answers():
    from assessment.analysis.survey import survey_named_wards

    safe = pd.DataFrame({"is_overall": [False, False, False, False, True], "n": [40, 29, 40, 30, 139],
                         "vs_overall": ["lower", "lower", "higher", "lower", ""]})
    assert survey_named_wards(safe).tolist() == [True, False, False, True, False]
    assert survey_named_wards(safe, "higher").tolist() == [False, False, True, False, False]
    assert survey_named_wards(safe, min_n=0).tolist() == [True, True, False, True, False]
    with pytest.raises(ValueError, match="direction"):
        survey_named_wards(safe, "below")
    with pytest.raises(ValueError, match="vs_overall"):
        survey_named_wards(safe.drop(columns="vs_overall"))


def _clustered(sizes, safe_by_cluster, ward="W1") -> pd.DataFrame:
    """Answers of clusters of the given sizes, each with its number of safe answers."""
    rows = []
    for c, (m, k) in enumerate(zip(sizes, safe_by_cluster)):
        rows += [{"ward_code": ward, "sp": f"{ward}-{c}", "safe_after_dark": "Very safe" if i < k else "Very unsafe"}
                 for i in range(m)]
    return pd.DataFrame(rows)


def test_design_effect_from_clusters_matches_the_one_way_anova_by_scipy():
    from scipy import stats

    sizes, ks = [6] * 8, [6, 5, 1, 0, 4, 6, 2, 3]
    s = _clustered(sizes, ks)
    got = survey_design_effect(s, "sp").iloc[0]
    y = [np.r_[np.ones(k), np.zeros(m - k)] for m, k in zip(sizes, ks)]
    f = stats.f_oneway(*y).statistic
    icc = (f - 1) / (f + 6 - 1)  # equal clusters of 6: the ANOVA estimator from F = MSB / MSW
    assert got["source"] == "estimated" and got["n_clusters"] == 8 and got["n"] == 48
    assert got["icc"] == pytest.approx(icc, rel=1e-12)
    assert got["cluster_size"] == pytest.approx(6.0)
    assert got["design_effect"] == pytest.approx(1 + 5 * icc, rel=1e-12)


def test_design_effect_leaves_out_real_differences_between_wards_and_is_never_below_1():
    # two wards far apart, answers within each ward spread evenly over its clusters: no clustering
    a = _clustered([4] * 5, [4, 4, 4, 3, 4], "A")
    b = _clustered([4] * 5, [0, 1, 0, 0, 1], "B")
    got = survey_design_effect(pd.concat([a, b]), "sp").iloc[0]
    assert got["icc"] < 0.05 and got["design_effect"] == pytest.approx(1.0, abs=0.15)
    assert got["design_effect"] >= 1.0
    pooled = survey_design_effect(pd.concat([a, b]).assign(ward_code="one ward"), "sp").iloc[0]
    assert pooled["icc"] > 0.5  # the same answers, wards ignored: their difference would look like clustering


def test_kish_design_effect_of_clustered_answers_is_recovered():
    rng = np.random.default_rng(3)
    m, n_clusters, rho = 5, 2000, 0.25
    p = rng.beta(0.6 * (1 - rho) / rho, 0.4 * (1 - rho) / rho, n_clusters)  # intra-cluster correlation rho
    k = rng.binomial(m, p)
    s = _clustered([m] * n_clusters, k)
    got = survey_design_effect(s, "sp").iloc[0]
    assert got["icc"] == pytest.approx(rho, abs=0.03)
    assert got["design_effect"] == pytest.approx(1 + (m - 1) * rho, abs=0.12)


def test_design_effect_declared_wins_assumed_without_clusters_and_unusable_clusters_warn():
    s = _clustered([3, 3, 2], [3, 0, 1]).assign(respondent_id="x")
    declared = survey_design_effect(s, "sp", declared=1.7).iloc[0]
    assert (declared["design_effect"], declared["source"], declared["n"]) == (1.7, "declared", 8)
    assumed = survey_design_effect(s).iloc[0]
    assert (assumed["design_effect"], assumed["source"]) == (1.0, "assumed")
    with pytest.warns(UserWarning, match="cannot be estimated"):
        alone = survey_design_effect(s.assign(sp=None), "sp").iloc[0]  # every answer a cluster of its own
    assert (alone["design_effect"], alone["source"]) == (1.0, "assumed")
    with pytest.raises(ValueError, match=r"`design_effect` must be a number of 1 or more .*got 0\.5 in datasets\.sv"):
        survey_design_effect(s, declared=0.5, where="datasets.sv")
    with pytest.raises(TypeError, match="got str"):
        survey_design_effect(s, declared="2")


def test_feeling_safe_with_a_design_effect_is_wilsons_interval_of_the_effective_sample():
    s = _survey()
    plain = survey_feeling_safe(s)
    assert (plain["design_effect"] == 1.0).all() and (plain["n_effective"] == plain["n"]).all()
    wide = survey_feeling_safe(s, design_effect=2.5).set_index("ward")
    row = wide.loc["E05900002"]
    lo, hi = wilson_by_hand(row["n_safe"] / 2.5, row["n"] / 2.5)
    assert row["ci_low"] == pytest.approx(lo) and row["ci_high"] == pytest.approx(hi)
    assert row["n_effective"] == pytest.approx(row["n"] / 2.5)
    pd.testing.assert_series_equal(wide["proportion"], plain.set_index("ward")["proportion"])
    assert (wide["ci_high"] - wide["ci_low"] > plain.set_index("ward")["ci_high"] - plain.set_index("ward")["ci_low"]).all()
    with pytest.raises(ValueError, match="must be a number of 1 or more"):
        survey_feeling_safe(s, design_effect=0.9)


# -- weights ----------------------------------------------------------------------------------

def _weighted(n: int = 600, seed: int = 8) -> pd.DataFrame:
    sv = _survey(n, seed)
    sv["weight"] = np.random.default_rng(seed + 1).lognormal(0.0, 0.7, n)
    return sv


def test_equal_weights_change_nothing():
    sv = _survey(400, 2).assign(weight=2.5)
    plain = survey_feeling_safe(sv, design_effect=1.4)
    weighted = survey_feeling_safe(sv, design_effect=1.4, weight_col="weight")
    pd.testing.assert_frame_equal(weighted, plain, check_exact=False, rtol=1e-12)
    assert (weighted["weighting_effect"] == 1).all()
    pd.testing.assert_frame_equal(survey_top_concerns(sv, weight_col="weight"), survey_top_concerns(sv),
                                  check_exact=False, rtol=1e-12)


def test_weighted_share_and_effective_n_against_an_independent_computation():
    from statsmodels.stats.weightstats import DescrStatsW

    sv = _weighted()
    out = survey_feeling_safe(sv, weight_col="weight").set_index("ward")
    ans = sv["safe_after_dark"]
    valid = ans.notna() & (ans != "Don't know")
    for ward, part in sv[valid].groupby("ward_code"):
        y = part["safe_after_dark"].isin(["Very safe", "Fairly safe"]).astype(float)
        w = part["weight"]
        stats_w = DescrStatsW(y.to_numpy(), weights=w.to_numpy())
        n_kish = w.sum() ** 2 / (w ** 2).sum()
        row = out.loc[ward]
        assert row["proportion"] == pytest.approx(stats_w.mean, rel=1e-12)
        assert row["n_effective"] == pytest.approx(n_kish, rel=1e-12)
        assert row["weighting_effect"] == pytest.approx(len(part) / n_kish, rel=1e-12)
        lo, hi = wilson_by_hand(stats_w.mean * n_kish, n_kish)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi), rel=1e-9)
    total = out.loc["Partnership"]
    w_all = sv.loc[valid, "weight"]
    y_all = sv.loc[valid, "safe_after_dark"].isin(["Very safe", "Fairly safe"])
    assert total["proportion"] == pytest.approx(float((w_all * y_all).sum() / w_all.sum()), rel=1e-12)
    assert int(total["n"]) == int(valid.sum()) and int(total["n_safe"]) == int(y_all.sum())  # counts stay unweighted


def test_weights_multiply_a_clustering_design_effect_but_not_a_declared_one():
    sv = _weighted()
    clustered = survey_feeling_safe(sv, design_effect=1.5, weight_col="weight")
    declared = survey_feeling_safe(sv, design_effect=1.5, weight_col="weight", weights_in_design_effect=True)
    np.testing.assert_allclose(clustered["design_effect"], 1.5 * clustered["weighting_effect"])
    assert (declared["design_effect"] == 1.5).all()
    np.testing.assert_allclose(declared["proportion"], clustered["proportion"])  # same weighted shares
    assert (clustered["ci_high"] - clustered["ci_low"] > declared["ci_high"] - declared["ci_low"]).all()


def test_bad_weights_are_refused_naming_the_row():
    sv = _weighted(50)
    sv.loc[7, "weight"] = 0.0
    with pytest.raises(ValueError, match=r"`weight` must be a positive number .* row 8"):
        survey_feeling_safe(sv, weight_col="weight")
    with pytest.raises(ValueError, match="must have"):
        survey_feeling_safe(sv.drop(columns="weight"), weight_col="weight")


def test_design_effect_reports_the_partnerships_weighting_effect():
    sv = _weighted()
    ans = sv["safe_after_dark"]
    w = sv.loc[ans.notna() & (ans != "Don't know"), "weight"]
    got = survey_design_effect(sv, weight_col="weight").iloc[0]
    assert got["weighting_effect"] == pytest.approx(len(w) * (w ** 2).sum() / w.sum() ** 2, rel=1e-12)
    assert got["design_effect"] == 1 and got["source"] == "assumed"  # the weights are applied ward by ward
    assert survey_design_effect(sv).iloc[0]["weighting_effect"] == 1


def test_weighted_top_concerns_share_is_the_weight_of_those_naming_it():
    sv = _weighted()
    top = survey_top_concerns(sv, weight_col="weight").set_index("concern")
    named = sv[["concern_1", "concern_2", "concern_3"]].eq("Anti-social behaviour").any(axis=1)
    w = sv["weight"]
    row = top.loc["Anti-social behaviour"]
    assert row["share"] == pytest.approx(float(w[named].sum() / w.sum()), rel=1e-12)
    assert row["n_naming"] == int(named.sum())
    k = len(w) * (w ** 2).sum() / w.sum() ** 2
    assert row["weighting_effect"] == pytest.approx(k, rel=1e-12)
    lo, hi = wilson_by_hand(row["share"] * len(w) / k, len(w) / k)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi), rel=1e-9)
    assert list(top["rank"]) == sorted(top["rank"])  # ranked by weighted share


def test_top_concerns_intervals_allow_for_a_design_effect_and_the_weights():
    sv = _weighted()
    plain = survey_top_concerns(sv).set_index("concern")
    clustered = survey_top_concerns(sv, design_effect=2.0).set_index("concern")
    row, base = clustered.loc["Anti-social behaviour"], plain.loc["Anti-social behaviour"]
    lo, hi = wilson_by_hand(base["n_naming"] / 2.0, base["n"] / 2.0)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi), rel=1e-9)
    assert row["share"] == base["share"] and row["design_effect"] == 2.0
    both = survey_top_concerns(sv, design_effect=2.0, weight_col="weight").set_index("concern")
    assert both["design_effect"].iloc[0] == pytest.approx(2.0 * both["weighting_effect"].iloc[0])
    declared = survey_top_concerns(sv, design_effect=2.0, weight_col="weight", weights_in_design_effect=True)
    assert (declared["design_effect"] == 2.0).all()


def test_design_effect_needs_the_safety_answers_only_to_estimate():
    sv = _weighted().drop(columns="safe_after_dark")
    declared = survey_design_effect(sv, declared=1.6, weight_col="weight").iloc[0]
    assert declared["source"] == "declared" and declared["design_effect"] == 1.6 and declared["n"] == len(sv)
    w = sv["weight"]
    assert declared["weighting_effect"] == pytest.approx(len(w) * (w ** 2).sum() / w.sum() ** 2, rel=1e-12)
    assumed = survey_design_effect(sv).iloc[0]
    assert assumed["source"] == "assumed" and assumed["design_effect"] == 1
    with pytest.raises(ValueError, match="safe_after_dark"):
        survey_design_effect(sv.assign(cluster="a"), cluster_col="cluster")
