"""Tests for assessment.analysis.rates against independent computations (scipy,
statsmodels, closed forms written out here) and invariants."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from assessment.analysis import rates as R


# --------------------------------------------------------------------------- count and rate CIs
def test_exact_branch_equals_chi_square_limits():
    o = np.arange(0, 10)
    out = R.rate_count_ci(o, alpha=0.05)
    assert (out["method"] == "exact").all()
    lower = np.where(o > 0, stats.chi2.ppf(0.025, 2 * o) / 2, 0.0)
    upper = stats.chi2.ppf(0.975, 2 * o + 2) / 2
    np.testing.assert_allclose(out["lower"], lower, rtol=1e-12)
    np.testing.assert_allclose(out["upper"], upper, rtol=1e-12)
    # the same limits are the exact Poisson (gamma) quantiles
    np.testing.assert_allclose(out["upper"], stats.gamma.ppf(0.975, o + 1), rtol=1e-9)


@pytest.mark.parametrize("alpha", [0.05, 0.002])
def test_byar_close_to_exact_poisson_quantiles(alpha):
    o = np.array([10, 20, 50, 100, 500, 1000, 10000])
    out = R.rate_count_ci(o, alpha=alpha)
    assert (out["method"] == "byar").all()
    exact_low = stats.gamma.ppf(alpha / 2, o)
    exact_high = stats.gamma.ppf(1 - alpha / 2, o + 1)
    rel_low = np.abs(out["lower"] / exact_low - 1)
    rel_high = np.abs(out["upper"] / exact_high - 1)
    tol = 0.01 if alpha == 0.05 else 0.02  # Byar is least accurate at O = 10 in the far tail
    assert rel_low.max() < tol and rel_high.max() < tol
    big = o >= 100
    assert rel_low[big].max() < 1e-3 and rel_high[big].max() < 1e-3


def test_byar_formula_written_out():
    o, z = 37.0, stats.norm.ppf(0.975)
    out = R.rate_count_ci([o]).iloc[0]
    assert out["lower"] == pytest.approx(o * (1 - 1 / (9 * o) - z / (3 * math.sqrt(o))) ** 3)
    assert out["upper"] == pytest.approx((o + 1) * (1 - 1 / (9 * (o + 1)) + z / (3 * math.sqrt(o + 1))) ** 3)


def test_rate_per_1000_scales_and_switches_method_at_10():
    f = pd.DataFrame({"ward": ["a", "b", "c"], "count": [9, 10, 250], "population": [3000, 4000, 12500]})
    out = R.rate_per_1000(f)
    assert out["ci_method"].tolist() == ["exact", "byar", "byar"]
    np.testing.assert_allclose(out["rate"], [3.0, 2.5, 20.0])
    ci = R.rate_count_ci(f["count"])
    np.testing.assert_allclose(out["ci_low"], 1000 * ci["lower"] / f["population"])
    assert (out["ci_low"] < out["rate"]).all() and (out["rate"] < out["ci_high"]).all()
    assert list(out.columns) == ["ward", "count", "population", "rate", "ci_low", "ci_high", "ci_method"]


def test_rate_validation_names_the_row():
    f = pd.DataFrame({"count": [1, 2], "population": [100, 0]})
    with pytest.raises(ValueError, match="`population` must be a number greater than 0, got 0 in frame row 1"):
        R.rate_per_1000(f)
    with pytest.raises(ValueError, match="whole counts"):
        R.rate_per_1000(pd.DataFrame({"count": [1.5], "population": [10]}))
    with pytest.raises(TypeError):
        R.rate_per_1000([1, 2])


# --------------------------------------------------------------------------- Wilson
def test_wilson_matches_statsmodels():
    rng = np.random.default_rng(3)
    n = rng.integers(1, 500, 100)
    o = rng.integers(0, n + 1)
    f = pd.DataFrame({"o": o, "n": n})
    for alpha in (0.05, 0.01):
        out = R.rate_proportion(f, "o", "n", alpha=alpha)
        lo, hi = proportion_confint(o, n, alpha=alpha, method="wilson")
        np.testing.assert_allclose(out["ci_low"], lo, atol=1e-12)
        np.testing.assert_allclose(out["ci_high"], hi, atol=1e-12)
    assert out["ci_low"].between(0, 1).all() and out["ci_high"].between(0, 1).all()
    with pytest.raises(ValueError, match="at least `o`"):
        R.rate_proportion(pd.DataFrame({"o": [5], "n": [3]}), "o", "n")


# --------------------------------------------------------------------------- funnel
def _spiegelhalter_closed_form(expected: float, p: float) -> float:
    """Interpolated Poisson p-quantile written out from Spiegelhalter (2005), pure Python."""
    term, cdf, r = math.exp(-expected), 0.0, 0
    prev_cdf = 0.0
    while True:
        prev_cdf = cdf
        cdf += term
        if cdf >= p:
            break
        r += 1
        term *= expected / r
    a = (cdf - p) / (cdf - prev_cdf)
    return r - a


@pytest.mark.parametrize("pop", [150.0, 800.0, 2500.0, 9000.0, 40000.0])
def test_funnel_limits_match_closed_form(pop):
    bench = 6.0  # per 1,000
    out = R.rate_funnel_limits([pop], bench).iloc[0]
    e = bench * pop / 1000
    for tag, lv in (("95", 0.95), ("99_8", 0.998)):
        lo = max(_spiegelhalter_closed_form(e, (1 - lv) / 2), 0.0) * 1000 / pop
        hi = _spiegelhalter_closed_form(e, (1 + lv) / 2) * 1000 / pop
        assert out[f"lower_{tag}"] == pytest.approx(lo, rel=1e-9, abs=1e-12)
        assert out[f"upper_{tag}"] == pytest.approx(hi, rel=1e-9)
    assert out["expected"] == pytest.approx(e)


def test_funnel_shape_invariants_and_normal_limit():
    pops = np.geomspace(500, 5e6, 25)
    out = R.rate_funnel_limits(pops, 10.0)
    assert list(out.columns) == ["population", "expected", "benchmark", "lower_95", "upper_95",
                                 "lower_99_8", "upper_99_8"]
    assert (out["lower_99_8"] <= out["lower_95"]).all() and (out["upper_95"] <= out["upper_99_8"]).all()
    assert (out["lower_95"] < 10).all() and (out["upper_95"] > 10).all()
    width = out["upper_95"] - out["lower_95"]
    assert (np.diff(width) < 0).all()  # the funnel narrows as population grows
    big = out.iloc[-1]
    half = stats.norm.ppf(0.999) * math.sqrt(big["expected"]) * 1000 / big["population"]
    assert big["upper_99_8"] - 10 == pytest.approx(half, rel=0.02)


def test_funnel_position_labels_and_false_alarm_rate():
    f = pd.DataFrame({"count": [40, 55, 95, 25, 5], "population": [10000] * 5})
    out = R.rate_funnel_position(f, benchmark_rate=4.0, overdispersion=None)  # expected 40 in each area
    assert out["funnel"].tolist() == ["within", "above 95%", "above 99.8%", "below 95%", "below 99.8%"]
    lim = R.rate_funnel_limits([10000], 4.0).iloc[0]
    assert lim["upper_95"] < 5.5 < lim["upper_99_8"] and lim["lower_99_8"] < 2.5 < lim["lower_95"]
    # under the null, about 5% of areas fall outside the 95% limits (at most about 5%)
    rng = np.random.default_rng(4)
    pop = rng.integers(2000, 20000, 4000)
    null = pd.DataFrame({"count": rng.poisson(5.0 * pop / 1000), "population": pop})
    lab = R.rate_funnel_position(null, benchmark_rate=5.0)["funnel"]
    assert (lab != "within").mean() < 0.07
    assert lab.str.contains("99.8").mean() < 0.01


# --------------------------------------------------------------------------- significance
def test_significance_labels_by_interval_against_benchmark():
    f = pd.DataFrame({"ci_low": [5.1, 3.0, 1.0, 5.0, np.nan], "ci_high": [7.0, 6.0, 4.9, 6.0, 6.0]})
    lab = R.rate_significance(f, 5.0)
    assert lab.tolist() == ["higher", "similar", "lower", "similar", "not compared"]
    assert lab.name == "significance"
    lab2 = R.rate_significance(f.iloc[:3], [8.0, 4.0, 0.5])
    assert lab2.tolist() == ["lower", "similar", "higher"]



def test_compared_with_total_uses_each_sets_own_rate():
    f = pd.DataFrame({"set": ["a", "a", "a", "b", "b"], "count": [300, 100, 100, 50, 50],
                      "population": [1000.0, 1000.0, 1000.0, 1000.0, 1000.0]})
    out = R.rate_compared_with_total(f, group_col="set")
    # set a: 500 per 3,000 residents = 166.7 per 1,000; set b: 50 per 1,000
    assert out["total_rate"].tolist() == pytest.approx([500 / 3, 500 / 3, 500 / 3, 50.0, 50.0])
    assert out["significance"].tolist() == ["higher", "lower", "lower", "similar", "similar"]
    # one set by default: 600 per 5,000 = 120 per 1,000, the same labels as rate_significance by hand
    alone = R.rate_compared_with_total(f)
    assert alone["total_rate"].iloc[0] == pytest.approx(120.0)
    assert alone["significance"].tolist() == R.rate_significance(R.rate_per_1000(f), 120.0).tolist()
    with pytest.raises(ValueError, match="nope"):
        R.rate_compared_with_total(f, group_col="nope")

def test_table_dispersion_is_pearson_chi2_over_df_by_hand():
    # 2 x 2, all expected 20: X2 = 4 * 10^2 / 20 = 20 on 1 df
    got = R.rate_table_dispersion([[10, 30], [30, 10]])
    assert got["pearson_chi2"] == pytest.approx(20.0) and got["df"] == 1
    assert got["ratio"] == pytest.approx(20.0) and got["dispersion"] == pytest.approx(20.0)
    # neighbouring months move apart, not together: no allowance for autocorrelation
    assert got["autocorrelation"] == 0.0 and got["design_effect"] == pytest.approx(20.0)
    # expected (12, 18; 28, 42): X2 = 4/12 + 4/18 + 4/28 + 4/42 below 1, so no allowance
    small = R.rate_table_dispersion(pd.DataFrame([[10, 20], [30, 40]]))
    assert small["ratio"] == pytest.approx(4 / 12 + 4 / 18 + 4 / 28 + 4 / 42)
    assert small["dispersion"] == 1.0
    # two tables pool their chi-squares and df; a ward or month without any event adds nothing
    both = R.rate_table_dispersion([[10, 30], [30, 10]], [[10, 20, 0], [30, 40, 0], [0, 0, 0]], autocorrelation=False)
    assert both["pearson_chi2"] == pytest.approx(20.0 + small["pearson_chi2"]) and both["df"] == 2
    assert both["dispersion"] == pytest.approx(both["pearson_chi2"] / 2)
    # too small a table: no df, no allowance
    none = R.rate_table_dispersion([[5, 0], [0, 0]])
    assert none["df"] == 0 and np.isnan(none["ratio"]) and none["dispersion"] == none["design_effect"] == 1.0
    with pytest.raises(ValueError, match="two-way"):
        R.rate_table_dispersion([1, 2, 3])
    with pytest.raises(ValueError, match="whole counts"):
        R.rate_table_dispersion([[1, -2], [3, 4]])
    with pytest.raises(ValueError, match="at least one table"):
        R.rate_table_dispersion()


def test_table_dispersion_matches_a_statsmodels_poisson_glm_with_ward_and_month_terms():
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(3)
    level = rng.uniform(20, 80, 6)[:, None] * rng.uniform(0.7, 1.3, 12)[None, :]
    tab = rng.negative_binomial(level / 1.5, 1 / 2.5)  # variance 2.5 x mean
    long = pd.DataFrame({"count": tab.ravel(), "ward": np.repeat(np.arange(6), 12), "month": np.tile(np.arange(12), 6)})
    fit = smf.glm("count ~ C(ward) + C(month)", long, family=sm.families.Poisson()).fit()
    got = R.rate_table_dispersion(tab)
    assert got["pearson_chi2"] == pytest.approx(fit.pearson_chi2, rel=1e-6)
    assert got["df"] == fit.df_resid == 5 * 11
    assert got["dispersion"] == pytest.approx(max(1.0, fit.pearson_chi2 / fit.df_resid), rel=1e-6)


def test_table_design_effect_recovers_a_known_autocorrelation_and_a_years_variance():
    """Zeger's latent AR(1): many wards, so the estimates are close to the truth computed independently."""
    rng = np.random.default_rng(4)
    wards, months, rho = 3000, 12, 0.6
    mu = np.repeat(rng.uniform(40, 90, wards)[:, None], months, axis=1)
    s2 = np.log1p(1.5 / mu)  # a month's variance 2.5 x its mean
    e = np.empty((wards, months))
    e[:, 0] = rng.normal(size=wards)
    for t in range(1, months):
        e[:, t] = rho * e[:, t - 1] + np.sqrt(1 - rho**2) * rng.normal(size=wards)
    tab = rng.poisson(mu * np.exp(np.sqrt(s2) * e - s2 / 2))
    got = R.rate_table_dispersion(tab)
    assert got["autocorrelation"] == pytest.approx(rho, abs=0.05)
    # a year's variance over its mean, from the totals themselves (each ward's expected total is known)
    total = tab.sum(axis=1)
    truth = float(np.mean((total - mu.sum(axis=1)) ** 2 / mu.sum(axis=1)))
    assert truth > 4.5  # far above the month-to-month ratio
    assert got["design_effect"] == pytest.approx(truth, rel=0.12)
    assert got["dispersion"] < 0.6 * got["design_effect"]  # what the month-to-month ratio alone would miss
    plain = R.rate_table_dispersion(tab, autocorrelation=False)
    assert plain["design_effect"] == plain["dispersion"] == got["dispersion"] and plain["autocorrelation"] == 0.0
    # independent months (negative binomial, variance 2.5 x mean): no autocorrelation, a year's ratio 2.5
    nb = rng.negative_binomial(mu / 1.5, 1 / 2.5)
    got = R.rate_table_dispersion(nb)
    assert got["autocorrelation"] < 0.05 and got["design_effect"] == pytest.approx(2.5, rel=0.05)
    with pytest.raises(ValueError, match="same number of months"):
        R.rate_table_dispersion(tab[:50], tab[:50, :6])


def test_compared_with_total_widens_the_interval_by_the_dispersion():
    f = pd.DataFrame({"count": [400, 300, 300], "population": [4000.0, 4000.0, 4000.0]})
    # partnership: 1,000 per 12,000 = 83.3 per 1,000; ward 1 at 100 per 1,000
    z = stats.norm.ppf(0.975)

    def byar_low(o):
        return o * (1 - 1 / (9 * o) - z / (3 * math.sqrt(o))) ** 3

    plain = R.rate_compared_with_total(f)
    assert plain["ci_low"].iloc[0] == pytest.approx(1000 * byar_low(400) / 4000)  # 90.4: above 83.3
    assert plain["significance"].iloc[0] == "higher" and (plain["dispersion"] == 1.0).all()
    wide = R.rate_compared_with_total(f, dispersion=4.0)
    # 400 / 4 = 100 effective crimes among 1,000 effective residents: lower limit 81.4, below 83.3
    assert wide["ci_low"].iloc[0] == pytest.approx(1000 * byar_low(100) / 1000)
    assert wide["significance"].iloc[0] == "similar"
    assert wide["rate"].tolist() == plain["rate"].tolist() and (wide["dispersion"] == 4.0).all()
    assert ((wide["ci_high"] - wide["ci_low"]) > (plain["ci_high"] - plain["ci_low"])).all()
    # under 1 counts as 1; a column gives each row (each set) its own
    assert R.rate_compared_with_total(f, dispersion=0.6)[["ci_low", "ci_high"]].equals(plain[["ci_low", "ci_high"]])
    two = pd.concat([f.assign(set="a", d=1.0), f.assign(set="b", d=4.0)], ignore_index=True)
    by = R.rate_compared_with_total(two, group_col="set", dispersion="d")
    assert by["significance"].tolist() == ["higher", "similar", "similar", "similar", "similar", "similar"]
    assert by["ci_low"].iloc[3] == pytest.approx(wide["ci_low"].iloc[0])
    with pytest.raises(ValueError, match="greater than 0"):
        R.rate_compared_with_total(f, dispersion=-1.0)
    with pytest.raises(ValueError, match="nope"):
        R.rate_compared_with_total(f, dispersion="nope")


# --------------------------------------------------------------------------- peers
def _peers(riverton_rate):
    rng = np.random.default_rng(7)
    rates = rng.normal(20, 3, 15)
    rates[4] = riverton_rate
    return pd.DataFrame({"csp_code": [f"E079{i:05d}" for i in range(15)],
                         "csp_name": [f"CSP {i}" for i in range(15)], "violence": rates})


def test_peer_position_rank_mean_band():
    peers = _peers(24.0)
    out = R.rate_peer_position(peers, "E07900004", "violence").iloc[0]
    ranks = stats.rankdata(-peers["violence"], method="min")
    assert out["rank"] == ranks[4]
    assert out["group_mean"] == pytest.approx(peers["violence"].mean())
    assert out["group_sd"] == pytest.approx(np.std(peers["violence"], ddof=1))
    assert out["band_low"] == pytest.approx(out["group_mean"] - 1.96 * out["group_sd"])
    assert out["position"] == "within" and not out["outside"]
    assert "CSP 4" in out["sentence"] and f"of {15}" in out["sentence"]


def test_peer_position_outlier_is_outside_and_highest():
    out = R.rate_peer_position(_peers(60.0), "E07900004", "violence").iloc[0]
    assert out["rank"] == 1 and out["position"] == "above" and out["outside"]
    assert "the highest" in out["sentence"]
    with pytest.raises(ValueError, match="exactly once"):
        R.rate_peer_position(_peers(20.0), "E0790XXXX", "violence")


def test_rate_by_deprivation_sums_and_exact_limits():
    from scipy import stats

    areas = pd.DataFrame({"code": ["a", "b", "c", "d", "e"], "imd": [1, 1, 5, 10, None],
                          "population": [1000.0, 1500.0, 2000.0, 500.0, 800.0]})
    counts = pd.DataFrame({"area_code": ["a", "a", "b", "c", "d", "e", "zz"], "count": [3, 2, 4, 30, 0, 7, 9]})
    t = R.rate_by_deprivation(counts, areas, "imd", years=2.0)
    assert t["decile"].tolist() == [1, 5, 10]
    assert t["count"].tolist() == [9, 30, 0] and t["areas"].tolist() == [2, 1, 1]
    assert t["population"].tolist() == [2500.0, 2000.0, 500.0]
    # decile 1: 9 events (exact Poisson limits), 2,500 residents, two years
    low, high = stats.chi2.ppf(0.025, 18) / 2, stats.chi2.ppf(0.975, 20) / 2
    row = t.iloc[0]
    assert row["rate"] == pytest.approx(1000 * 9 / 2500 / 2)
    assert row["ci_low"] == pytest.approx(1000 * low / 2500 / 2)
    assert row["ci_high"] == pytest.approx(1000 * high / 2500 / 2)
    assert t["share_of_events"].sum() == pytest.approx(1.0)
    assert t["share_of_population"].sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="whole number from 1 to 10"):
        R.rate_by_deprivation(counts, areas.assign(imd=[0, 1, 5, 10, 2]), "imd")


def test_rate_deprivation_ratio_matches_log_wald_for_large_counts():
    t = pd.DataFrame({"decile": [1, 2, 9, 10], "count": [4000, 3000, 1500, 1000],
                      "population": [50000.0, 50000.0, 60000.0, 40000.0]})
    out = R.rate_deprivation_ratio(t)
    ratio = (7000 / 100000) / (2500 / 100000)
    se = np.sqrt(1 / 7000 + 1 / 2500)
    assert out["ratio"] == pytest.approx(ratio)
    assert out["ci_low"] == pytest.approx(ratio * np.exp(-1.959964 * se), rel=2e-3)
    assert out["ci_high"] == pytest.approx(ratio * np.exp(1.959964 * se), rel=2e-3)
    assert 0 <= out["p_value"] < 1e-10
    none = R.rate_deprivation_ratio(t[t["decile"] > 5])
    assert not none["available"] and np.isnan(none["ratio"])


# --------------------------------------------------------------------------- funnel over-dispersion
def test_overdispersion_estimates_follow_spiegelhalter_formulas():
    o = np.array([30, 45, 52, 61, 80, 95, 20, 140, 33, 70])
    e = np.array([40.0, 50, 55, 60, 70, 75, 35, 90, 45, 65])
    est = R.rate_funnel_overdispersion(o, e, winsorise=0.1)
    # independent computation: square-root z-scores, winsorised at the 10% and 90% quantiles
    z = 2 * (np.sqrt(o) - np.sqrt(e))
    lo, hi = np.quantile(z, [0.1, 0.9])
    zw = np.clip(z, lo, hi)
    phi = np.mean(zw**2)
    w = 4 * e
    tau2 = max(0.0, (10 * phi - 9) / (w.sum() - (w**2).sum() / w.sum()))
    assert est["phi"] == pytest.approx(phi) and est["tau2"] == pytest.approx(tau2)
    assert est["tau2"] > 0
    # Poisson areas: phi near 1 and, often, no between-area variance at all
    rng = np.random.default_rng(2)
    ee = rng.uniform(50, 500, 400)
    calm = R.rate_funnel_overdispersion(rng.poisson(ee), ee, winsorise=0.0)
    assert calm["phi"] == pytest.approx(1.0, abs=0.2)
    with pytest.raises(ValueError, match="winsorise"):
        R.rate_funnel_overdispersion(o, e, winsorise=0.6)


def test_additive_allowance_widens_limits_and_reduces_to_exact_poisson_at_zero():
    pops = np.array([2000.0, 8000.0, 30000.0])
    plain = R.rate_funnel_limits(pops, 10.0)
    same = R.rate_funnel_limits(pops, 10.0, tau2=0.0, phi=1.0)
    pd.testing.assert_frame_equal(plain, same)
    wide = R.rate_funnel_limits(pops, 10.0, tau2=0.01)
    assert (wide["upper_99_8"] > plain["upper_99_8"]).all() and (wide["lower_99_8"] <= plain["lower_99_8"]).all()
    # at large expected counts the limit is Spiegelhalter's normal one on the square-root scale
    big = R.rate_funnel_limits([5e6], 10.0, tau2=0.0004).iloc[0]
    e = 10.0 * 5e6 / 1000
    z = stats.norm.ppf(0.999)
    assert big["upper_99_8"] == pytest.approx(10.0 * (1 + z * np.sqrt(1 / (4 * e) + 0.0004)) ** 2, rel=2e-3)


def test_funnel_with_real_variation_flags_few_areas_only_with_the_allowance():
    rng = np.random.default_rng(9)
    outside_plain = outside_adj = 0
    for _ in range(20):
        pop = rng.integers(5000, 15000, 20).astype(float)
        true = 80.0 * np.exp(rng.normal(0, 0.15, 20))
        f = pd.DataFrame({"count": rng.poisson(true * pop / 1000), "population": pop})
        outside_plain += R.rate_funnel_position(f, overdispersion=None)["funnel"].str.contains("99.8").sum()
        res = R.rate_funnel_position(f)
        outside_adj += res["funnel"].str.contains("99.8").sum()
        assert (res["upper_99_8"] >= res["poisson_upper_99_8"] - 1e-12).all()
    assert outside_plain / 20 > 3 and outside_adj / 20 <= 1


def test_table_dispersion_of_a_hand_made_cell_by_year_table():
    """rate_table_dispersion on a cells x years table, as the emerging-hotspot rise test uses it."""
    # rows 30 and 50, columns 40 and 40 of 80: expected 15, 15 / 25, 25;
    # X2 = 2 * 25 / 15 + 2 * 25 / 25 = 16 / 3 on (2 - 1)(2 - 1) = 1 df
    d = R.rate_table_dispersion([[10, 20], [30, 20]])
    assert d["pearson_chi2"] == pytest.approx(16 / 3) and d["df"] == 1
    assert d["ratio"] == pytest.approx(16 / 3) and d["dispersion"] == pytest.approx(16 / 3)
    # a cell without events adds nothing (nor a degree of freedom); proportional rows: X2 = 0 -> 1
    assert R.rate_table_dispersion([[10, 20], [0, 0], [30, 20]])["df"] == 1
    flat = R.rate_table_dispersion([[10, 10], [20, 20]])
    assert flat["pearson_chi2"] == 0 and flat["dispersion"] == 1.0
    assert R.rate_table_dispersion([[0, 0], [3, 0]])["dispersion"] == 1.0  # nothing to estimate from
    # independent: scipy's chi-square test of independence and a statsmodels Poisson GLM cell + year
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(5)
    table = rng.negative_binomial(2.0, 0.4, size=(40, 3)) + 1
    d = R.rate_table_dispersion(table)
    assert d["pearson_chi2"] == pytest.approx(stats.chi2_contingency(table, correction=False)[0], rel=1e-10)
    long = pd.DataFrame({"y": table.ravel(), "cell": np.repeat(np.arange(40), 3), "year": np.tile(np.arange(3), 40)})
    fit = smf.glm("y ~ C(cell) + C(year)", long, family=sm.families.Poisson()).fit()
    assert d["df"] == fit.df_resid == 78
    assert d["ratio"] == pytest.approx(fit.pearson_chi2 / fit.df_resid, rel=1e-6)
    assert d["dispersion"] > 1.2  # variance 1.9 x mean
    assert R.rate_table_dispersion(np.ones((5, 1), int))["df"] == 0
    with pytest.raises(ValueError):
        R.rate_table_dispersion([[1, -1], [2, 2]])
