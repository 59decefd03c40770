"""Tests for assessment.analysis.trends: independent numbers (scipy/statsmodels computed
here), invariants, and seeded synthetic series with known truth."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats import rates as sm_rates

from assessment.analysis import trends as T

MONTHS = list(pd.period_range("2023-01", "2025-12", freq="M").strftime("%Y-%m"))


def _series(mu, seed):
    rng = np.random.default_rng(seed)
    return pd.Series(rng.poisson(mu), index=MONTHS[: len(mu)])


def _events(seed=0, n=600):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "month": rng.choice(MONTHS[:30], n),  # the last six months have no events at all
        "category": rng.choice(["Burglary", "Robbery", "Vehicle crime"], n),
        "area_code": rng.choice(["E01", "E02"], n),
    })


# --------------------------------------------------------------------------- monthly
def test_monthly_fills_missing_months_and_conserves_totals():
    ev = _events()
    out = T.trend_monthly(ev, "2023-01", "2025-12", by=("category", "area_code"))
    assert list(out.columns) == ["month", "category", "area_code", "count"]
    assert len(out) == 36 * 3 * 2
    assert out["count"].sum() == len(ev)
    assert (out.loc[out["month"] >= "2025-07", "count"] == 0).all()
    # every group has all 36 months exactly once
    assert (out.groupby(["category", "area_code"])["month"].nunique() == 36).all()
    # spot check against a direct count
    direct = ((ev["month"] == "2024-03") & (ev["category"] == "Robbery") & (ev["area_code"] == "E02")).sum()
    got = out.query("month == '2024-03' and category == 'Robbery' and area_code == 'E02'")["count"].item()
    assert got == direct


def test_monthly_wide_matches_crosstab_and_count_col():
    ev = _events(1)
    wide = T.trend_monthly(ev, "2023-01", "2025-12", wide=True)
    ct = pd.crosstab(ev["month"], ev["category"]).reindex(MONTHS, fill_value=0)
    np.testing.assert_array_equal(wide.to_numpy(), ct.to_numpy())
    agg = pd.DataFrame({"period": ["2023-01", "2023-01", "2023-03"], "category": ["a", "a", "b"], "count": [2, 5, 4]})
    out = T.trend_monthly(agg, "2023-01", "2023-03", month_col="period", count_col="count")
    assert out.set_index(["category", "month"])["count"].to_dict() == {
        ("a", "2023-01"): 7, ("a", "2023-02"): 0, ("a", "2023-03"): 0,
        ("b", "2023-01"): 0, ("b", "2023-02"): 0, ("b", "2023-03"): 4}


def test_monthly_validation_and_window_warning():
    ev = pd.DataFrame({"month": ["2023-01", "13/2024"], "category": ["a", "a"]})
    with pytest.raises(ValueError, match=r"`month` must be YYYY-MM, got '13/2024' in events row 1"):
        T.trend_monthly(ev, "2023-01", "2023-12")
    with pytest.raises(ValueError, match="must have column"):
        T.trend_monthly(ev.drop(columns="category"), "2023-01", "2023-12")
    with pytest.raises(ValueError, match="must not be after"):
        T.trend_monthly(ev, "2024-01", "2023-12")
    ev = pd.DataFrame({"month": ["2022-12", "2023-01"], "category": ["a", "a"]})
    with pytest.warns(UserWarning, match="1 of 2 rows"):
        out = T.trend_monthly(ev, "2023-01", "2023-02")
    assert out["count"].tolist() == [1, 0]


def test_rolling_12_matches_pandas_rolling():
    monthly = T.trend_monthly(_events(2), "2023-01", "2025-12", by="category")
    out = T.trend_rolling_12(monthly)
    for cat, g in monthly.groupby("category"):
        expected = g["count"].astype(float).rolling(12).sum().to_numpy()
        got = out.loc[out["category"] == cat, "rolling_12"].to_numpy()
        np.testing.assert_allclose(got, expected, equal_nan=True)
        prev = out.loc[out["category"] == cat, "rolling_12_previous"].to_numpy()
        np.testing.assert_allclose(prev[24:], expected[12:24])
    with pytest.raises(ValueError, match="consecutive month"):
        T.trend_rolling_12(monthly.drop(index=5))


# --------------------------------------------------------------------------- rate ratio
GRID = [(60, 40, 1, 1), (0, 5, 1, 1), (5, 0, 1, 1), (13, 2, 1, 1), (7, 30, 2.5, 1.0),
        (412, 335, 12, 12), (1, 1, 1, 3), (1200, 1100, 1, 1), (9, 9, 1, 1), (3, 17, 4, 7)]


@pytest.mark.parametrize("c1,c2,e1,e2", GRID)
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_rate_ratio_matches_statsmodels_exact_conditional(c1, c2, e1, e2):
    got = T.trend_rate_ratio(c1, c2, e1, e2).iloc[0]
    ref = sm_rates.test_poisson_2indep(c1, e1, c2, e2, method="exact-cond")
    assert got["p_value"] == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-12)
    assert 0 <= got["p_value"] <= 1
    # Clopper-Pearson interval for the conditional binomial, transformed (statsmodels 'beta')
    lo, hi = proportion_confint(c1, c1 + c2, alpha=0.05, method="beta")
    with np.errstate(divide="ignore"):
        assert got["ci_low"] == pytest.approx(lo / (1 - lo) * e2 / e1, rel=1e-8)
        exp_hi = np.inf if hi >= 1 else hi / (1 - hi) * e2 / e1
    assert got["ci_high"] == pytest.approx(exp_hi, rel=1e-8)


def test_rate_ratio_vectorised_equals_scipy_binomtest_and_brackets_estimate():
    rng = np.random.default_rng(5)
    c1 = rng.integers(0, 300, 200)
    c2 = rng.integers(0, 300, 200)
    e1 = rng.uniform(0.5, 2, 200)
    out = T.trend_rate_ratio(c1, c2, e1, 1.0)
    ref = np.array([stats.binomtest(int(a), int(a + b), e / (e + 1)).pvalue if a + b else 1.0
                    for a, b, e in zip(c1, c2, e1)])
    np.testing.assert_allclose(out["p_value"], ref, rtol=1e-9, atol=1e-12)
    ok = (c1 > 0) & (c2 > 0)
    rr = out["rate_ratio"].to_numpy()[ok]
    assert np.all(out["ci_low"].to_numpy()[ok] <= rr) and np.all(rr <= out["ci_high"].to_numpy()[ok])


def test_rate_ratio_with_a_design_effect_tests_the_effective_counts():
    got = T.trend_rate_ratio([300, 300], [200, 200], design_effect=[2.5, 0.7])
    # 300 / 2.5 = 120 against 200 / 2.5 = 80: the exact binomial test of 120 in 200 at one half
    assert got["p_value"].iloc[0] == pytest.approx(stats.binomtest(120, 200, 0.5).pvalue, rel=1e-9)
    lo, hi = proportion_confint(120, 200, alpha=0.05, method="beta")
    assert got["ci_low"].iloc[0] == pytest.approx(lo / (1 - lo), rel=1e-9)
    assert got["ci_high"].iloc[0] == pytest.approx(hi / (1 - hi), rel=1e-9)
    assert got["rate_ratio"].tolist() == [1.5, 1.5] and got["design_effect"].tolist() == [2.5, 1.0]
    # below 1 counts as 1: the plain exact test
    plain = T.trend_rate_ratio(300, 200)
    assert got["p_value"].iloc[1] == plain["p_value"].iloc[0] and plain["design_effect"].iloc[0] == 1.0
    assert got["p_value"].iloc[0] > plain["p_value"].iloc[0]
    with pytest.raises(ValueError, match="design_effect"):
        T.trend_rate_ratio(300, 200, design_effect=0.0)


def test_rate_ratio_ci_close_to_score_interval_for_large_counts():
    got = T.trend_rate_ratio(1200, 1000).iloc[0]
    lo, hi = sm_rates.confint_poisson_2indep(1200, 1, 1000, 1, method="score", compare="ratio")
    assert got["ci_low"] == pytest.approx(lo, rel=0.01)
    assert got["ci_high"] == pytest.approx(hi, rel=0.01)


def test_rate_ratio_coverage_is_at_least_nominal():
    rng = np.random.default_rng(11)
    c1 = rng.poisson(15 * 1.3, 2000)
    c2 = rng.poisson(15, 2000)
    out = T.trend_rate_ratio(c1, c2)
    covered = (out["ci_low"] <= 1.3) & (1.3 <= out["ci_high"])
    assert covered.mean() >= 0.94


def test_year_on_year_sums_and_p_value():
    monthly = T.trend_monthly(_events(3, 2000), "2023-01", "2025-12", by="category")
    out = T.trend_year_on_year(monthly, "2025-06", months=6)
    assert list(out.columns[:3]) == ["category", "current_period", "previous_period"]
    assert out["current_period"].iloc[0] == "2025-01 to 2025-06"
    assert out["previous_period"].iloc[0] == "2024-01 to 2024-06"
    for row in out.to_dict("records"):  # three categories
        g = monthly[monthly["category"] == row["category"]]
        cur = g.loc[g["month"].between("2025-01", "2025-06"), "count"].sum()
        prev = g.loc[g["month"].between("2024-01", "2024-06"), "count"].sum()
        assert (row["current"], row["previous"]) == (cur, prev)
        # the group's dispersion is the Pearson chi2/df of its monthly series (trend + season) up to `end`
        ser = g[g["month"] <= "2025-06"]
        frame = pd.DataFrame({"y": ser["count"].to_numpy(), "t": np.arange(len(ser)) / 12,
                              "moy": pd.PeriodIndex(ser["month"], freq="M").month})
        glm = smf.glm("y ~ t + C(moy)", frame, family=sm.families.Poisson()).fit()
        assert row["dispersion"] == pytest.approx(glm.pearson_chi2 / glm.df_resid, rel=1e-6)
        assert row["variance_factor"] >= max(1.0, row["dispersion"]) - 1e-12
        # the test is the exact conditional test on the counts divided by that design effect
        f = row["variance_factor"]
        ref = sm_rates.test_poisson_2indep(round(cur / f), 1, round(prev / f), 1, method="exact-cond").pvalue
        assert row["p_value"] == pytest.approx(ref, rel=1e-9)
    plain = T.trend_year_on_year(monthly, "2025-06", months=6, dispersion=False)
    assert (plain["variance_factor"] == 1).all()
    for row in plain.to_dict("records"):
        ref = sm_rates.test_poisson_2indep(row["current"], 1, row["previous"], 1, method="exact-cond").pvalue
        assert row["p_value"] == pytest.approx(ref, rel=1e-9)
    with pytest.raises(ValueError, match="must cover"):
        T.trend_year_on_year(monthly, "2023-12")


# --------------------------------------------------------------------------- season
def _seasonal_mu(n=36, base=40.0, summer=1.5):
    moy = pd.PeriodIndex(MONTHS[:n], freq="M").month.to_numpy()
    return base * np.where(np.isin(moy, [6, 7, 8]), summer, 1.0)


def test_stl_needs_24_months_and_adds_up():
    with pytest.raises(ValueError, match="at least 24 months"):
        T.trend_stl(_series(np.full(23, 30.0), 0))
    s = _series(_seasonal_mu(), 1)
    out = T.trend_stl(s)
    assert list(out.columns) == ["month", "observed", "trend", "seasonal", "resid"]
    np.testing.assert_allclose(out["trend"] + out["seasonal"] + out["resid"], s.to_numpy(), atol=1e-8)
    fs = out.attrs["seasonal_strength"]
    manual = max(0.0, 1 - np.var(out["resid"], ddof=1) / np.var(out["seasonal"] + out["resid"], ddof=1))
    assert fs == pytest.approx(manual)
    assert 0 <= fs <= 1
    flat_fs = T.trend_stl(_series(np.full(36, 40.0), 1)).attrs["seasonal_strength"]
    assert fs > 0.5 and fs > flat_fs


def test_seasonality_detects_planted_summer_peak_and_lr_matches_formula_glm():
    s = _series(_seasonal_mu(summer=1.5), 2)
    out = T.trend_seasonality(s).iloc[0]
    assert out["p_value"] < 0.001
    assert out["ci_low"] < 1.5 < out["ci_high"]
    assert out["summer_winter_p"] < 0.001
    assert out["peak_month"] in (6, 7, 8)
    if out["family"] == "poisson":
        df = pd.DataFrame({"y": s.to_numpy(), "t": np.arange(36) / 12,
                           "moy": pd.PeriodIndex(MONTHS, freq="M").month})
        full = smf.glm("y ~ t + C(moy)", df, family=sm.families.Poisson()).fit()
        null = smf.glm("y ~ t", df, family=sm.families.Poisson()).fit()
        assert out["lr_stat"] == pytest.approx(2 * (full.llf - null.llf), rel=1e-6)


def test_seasonality_flat_series_mostly_not_significant():
    ps = [T.trend_seasonality(_series(np.full(36, 40.0), seed))["p_value"].item() for seed in range(20)]
    assert all(0 <= p <= 1 for p in ps)
    assert sum(p < 0.05 for p in ps) <= 4


# --------------------------------------------------------------------------- trend
def test_trend_recovers_planted_annual_fall():
    t = np.arange(36) / 12
    s = _series(_seasonal_mu() * 0.85 ** t, 3)
    out = T.trend_glm(s)
    tr = out[out["term"] == "trend"].iloc[0]
    assert tr["p_value"] < 0.001
    assert tr["ci_low"] < -15 < tr["ci_high"]
    assert tr["estimate_pct"] < 0
    assert bool(tr["seasonal"])


def test_trend_matches_independent_poisson_glm():
    s = _series(np.full(36, 25.0) * 1.1 ** (np.arange(36) / 12), 4)
    out = T.trend_glm(s, family="poisson", autocorrelation=False)
    df = pd.DataFrame({"y": s.to_numpy(), "t": np.arange(36) / 12, "moy": pd.PeriodIndex(MONTHS, freq="M").month})
    ref = smf.glm("y ~ t + C(moy)", df, family=sm.families.Poisson()).fit()
    tr = out.iloc[0]
    assert tr["estimate_pct"] == pytest.approx(100 * np.expm1(ref.params["t"]), rel=1e-6)
    assert tr["p_value"] == pytest.approx(ref.pvalues["t"], rel=1e-5)
    assert tr["se_inflation"] == 1 and tr["autocorrelation"] == 0


def test_default_trend_is_quasi_poisson_with_t_reference():
    rng = np.random.default_rng(8)
    y = rng.negative_binomial(n=3, p=3 / (3 + 40.0), size=36)  # mean 40, var 573
    out = T.trend_glm(pd.Series(y, index=MONTHS), autocorrelation=False).iloc[0]
    df = pd.DataFrame({"y": y, "t": np.arange(36) / 12, "moy": pd.PeriodIndex(MONTHS, freq="M").month})
    ref = smf.glm("y ~ t + C(moy)", df, family=sm.families.Poisson()).fit()
    phi = ref.pearson_chi2 / ref.df_resid
    assert out["family"] == "quasi_poisson" and out["dispersion"] == pytest.approx(phi) and phi > 3
    tstat = ref.params["t"] / (ref.bse["t"] * np.sqrt(phi))
    assert out["p_value"] == pytest.approx(2 * stats.t.sf(abs(tstat), ref.df_resid), rel=1e-6)


def _latent_moments_reference(y):
    """Independent fit and Zeger moment solution for tests: (ref fit, X, w-rows, k, rho, M)."""
    from scipy.linalg import toeplitz
    from scipy.optimize import brentq

    df = pd.DataFrame({"y": np.asarray(y), "t": np.arange(36) / 12, "moy": pd.PeriodIndex(MONTHS, freq="M").month})
    ref = smf.glm("y ~ t + C(moy)", df, family=sm.families.Poisson()).fit()
    X = ref.model.exog
    mu = ref.fittedvalues.to_numpy()
    Z = X * np.sqrt(mu)[:, None]
    A = np.linalg.inv(Z.T @ Z) @ Z.T  # (X'WX)^-1 X' W^1/2
    M = np.eye(36) - Z @ A
    e = (np.asarray(y) - mu) / np.sqrt(mu)
    U = np.diag(np.ones(35), 1)

    D = np.diag(np.sqrt(mu / mu.mean()))  # Zeger's D^1/2, the means over their average

    def latent(rho):
        return D @ toeplitz(rho ** np.arange(36)) @ D

    def k_of(rho):
        return (e @ e - np.trace(M)) / np.trace(M @ latent(rho))

    def gap(rho):
        S = np.eye(36) + k_of(rho) * latent(rho)
        return np.trace(U @ M @ S @ M) - e[1:] @ e[:-1]

    return ref, A, k_of, gap, latent, D @ D


def test_autocorrelation_widens_the_trend_interval_by_the_latent_ar1_variance():
    """Zeger (1988): residual covariance I + kappa R(rho), checked against an independent solution
    of the two moment equations and the variance w'(I + kappa R)w of the trend coefficient."""
    from scipy.linalg import toeplitz
    from scipy.optimize import brentq

    rng = np.random.default_rng(23)
    e = np.zeros(36)
    for i in range(1, 36):
        e[i] = 0.8 * e[i - 1] + rng.normal(0, 0.15)
    s = pd.Series(rng.poisson(60 * np.exp(e)), index=MONTHS)
    out = T.trend_glm(s).iloc[0]
    ref, A, k_of, gap, latent, _ = _latent_moments_reference(s.to_numpy())
    assert gap(0.0) < 0 < gap(0.9)  # an interior solution (not the 0.9 bound)
    rho = brentq(gap, 0.0, 0.9)
    assert out["autocorrelation"] == pytest.approx(rho, abs=2e-4) and 0.3 < rho < 0.9
    assert out["autocorrelation_source"] == "series"
    k = k_of(out["autocorrelation"])
    phi = ref.pearson_chi2 / ref.df_resid
    j = list(ref.params.index).index("t")
    w = A[j]
    R = latent(out["autocorrelation"])
    want = (w @ w + k * w @ R @ w) / (phi * w @ w)
    assert out["se_inflation"] > 1.2 and out["se_inflation"] == pytest.approx(np.sqrt(want), rel=1e-6)


def test_autocorrelation_sets_the_t_reference_df_from_the_effective_sample_size():
    """Santer et al. (2000): with an estimated scale and a widened variance the t reference has
    n / f - k degrees of freedom (f: the trend's variance relative to independent months with the
    same variance; k = 13 coefficients here), checked against an independent statsmodels fit."""
    from scipy.linalg import toeplitz

    def ar1_series(seed):
        rng = np.random.default_rng(seed)
        e = np.zeros(36)
        for i in range(1, 36):
            e[i] = 0.6 * e[i - 1] + rng.normal(0, 0.2)
        return pd.Series(rng.poisson(80 * np.exp(e)), index=MONTHS)

    s = ar1_series(23)
    out = T.trend_glm(s).iloc[0]
    ref, A, k_of, _, latent, D = _latent_moments_reference(s.to_numpy())
    phi = ref.pearson_chi2 / ref.df_resid
    rho = out["autocorrelation"]
    k = k_of(rho)
    assert out["family"] == "quasi_poisson" and phi > 1 and rho > 0 and k > 0
    w = A[list(ref.params.index).index("t")]
    R = latent(rho)
    f = (w @ w + k * w @ R @ w) / (w @ w + k * w @ D @ w)  # against independent months, same variances
    want_df = 36 / f - 13
    assert 1 < want_df < ref.df_resid and out["reference_df"] == pytest.approx(want_df, rel=1e-6)
    se = ref.bse["t"] * np.sqrt(phi) * out["se_inflation"]
    assert out["p_value"] == pytest.approx(2 * stats.t.sf(abs(ref.params["t"]) / se, want_df), rel=1e-5)
    crit = stats.t.ppf(0.975, want_df)
    assert out["ci_high"] == pytest.approx(100 * np.expm1(ref.params["t"] + crit * se), rel=1e-5)
    # without the allowance: the residual df; at the Poisson scale: the normal reference
    assert T.trend_glm(s, autocorrelation=False)["reference_df"].iloc[0] == ref.df_resid
    assert T.trend_glm(s, autocorrelation=False)["autocorrelation_source"].iloc[0] == "none"
    poisson = T.trend_glm(s, family="poisson").iloc[0]
    assert poisson["reference_df"] == np.inf
    # n_eff at or below the 13 coefficients: the floor of 1 degree of freedom
    strong = T.trend_glm(ar1_series(21)).iloc[0]
    assert strong["reference_df"] == 1


def test_given_rho_fits_only_the_extra_variation_and_takes_the_satterthwaite_df():
    """With a pooled rho only kappa comes from the series; the t reference takes the fewer of the
    Santer and the Satterthwaite (1946) degrees of freedom, checked independently."""
    from scipy.linalg import toeplitz

    rng = np.random.default_rng(5)
    y = rng.negative_binomial(n=4, p=4 / (4 + 30.0), size=36)  # mean 30, variance 255
    s = pd.Series(y, index=MONTHS)
    out = T.trend_glm(s, rho=0.6).iloc[0]
    assert out["autocorrelation"] == 0.6 and out["autocorrelation_source"] == "pooled"
    ref, A, k_of, _, latent, D = _latent_moments_reference(y)
    k = k_of(0.6)
    phi = ref.pearson_chi2 / ref.df_resid
    assert k > 0
    w = A[list(ref.params.index).index("t")]
    R = latent(0.6)
    v = w @ w + k * w @ R @ w
    assert out["se_inflation"] == pytest.approx(np.sqrt(max(1.0, v / (phi * w @ w))), rel=1e-6)
    Z = np.linalg.pinv(A)  # the weighted design
    M = np.eye(36) - Z @ A
    S = np.eye(36) + k * R
    satt = 2 * v**2 / ((w @ R @ w / np.trace(M @ R)) ** 2 * 2 * np.trace(M @ S @ M @ S))
    santer = 36 * (w @ w + k * w @ D @ w) / v - 13
    assert out["reference_df"] == pytest.approx(max(1.0, min(satt, santer)), rel=1e-6)
    # rho 0: no allowance at all, the residual df
    flat = T.trend_glm(s, rho=0.0).iloc[0]
    assert flat["se_inflation"] == 1 and flat["reference_df"] == ref.df_resid
    with pytest.raises(ValueError, match="in \\[0, 0.9\\]"):
        T.trend_glm(s, rho=0.95)
    with pytest.raises(ValueError, match="autocorrelation=True"):
        T.trend_glm(s, rho=0.5, autocorrelation=False)


def _latent_ar1_family(seed, means, rho=0.6, a=0.015):
    """Series Poisson around mu exp(e - s2/2), e a Gaussian AR(1) with variance log(1 + a)."""
    rng = np.random.default_rng(seed)
    s2 = np.log1p(a)
    out = []
    for mu in means:
        e = np.zeros(36)
        e[0] = rng.normal(0, np.sqrt(s2))
        for i in range(1, 36):
            e[i] = rho * e[i - 1] + rng.normal(0, np.sqrt(s2 * (1 - rho**2)))
        out.append(pd.Series(rng.poisson(mu * np.exp(e - s2 / 2)), index=MONTHS))
    return out


def test_pooled_autocorrelation_recovers_the_shared_latent_correlation():
    means = (250, 400, 150, 120, 100, 80, 60, 45, 30, 20, 15, 10, 8, 5)
    got = [T.trend_pooled_autocorrelation(_latent_ar1_family(seed, means))["autocorrelation"] for seed in range(8)]
    assert 0.45 < np.mean(got) < 0.75
    # a single series' own estimates scatter far more
    alone = [T.trend_glm(_latent_ar1_family(seed, (100,))[0])["autocorrelation"].iloc[0] for seed in range(8)]
    assert np.std(got) < np.std(alone)
    # independent months: no shared correlation worth the name
    rng = np.random.default_rng(3)
    flat = [pd.Series(rng.negative_binomial(n=m / 1.5, p=1 / 2.5, size=36), index=MONTHS) for m in means]
    res = T.trend_pooled_autocorrelation(flat)
    assert res["n_series"] == 14 and res["autocorrelation"] < 0.25


def test_pooled_autocorrelation_takes_breaks_by_name_and_leaves_out_empty_series():
    fam = dict(zip("abc", _latent_ar1_family(2, (200, 150, 100), rho=0.3)))
    stepped = fam["a"].copy()
    stepped[MONTHS[18]:] = stepped[MONTHS[18]:] * 2  # a counting-rule change
    series = {**fam, "a": stepped, "empty": pd.Series(0, index=MONTHS)}
    with_break = T.trend_pooled_autocorrelation(series, breaks={"a": [MONTHS[18]]})
    without = T.trend_pooled_autocorrelation(series)
    assert with_break["n_series"] == 3
    # the unmodelled step looks like strong autocorrelation
    assert without["autocorrelation"] > with_break["autocorrelation"]
    as_list = T.trend_pooled_autocorrelation([stepped, fam["b"], fam["c"]], breaks=[[MONTHS[18]], None, None])
    assert as_list["autocorrelation"] == pytest.approx(with_break["autocorrelation"])
    with pytest.raises(ValueError, match="one entry per series"):
        T.trend_pooled_autocorrelation([stepped, fam["b"]], breaks=[None])


def test_level_shift_at_declared_break_is_a_step_not_a_trend():
    months = np.array(MONTHS)
    mu = np.full(36, 50.0) * np.where(months >= "2024-04", 1.4, 1.0)
    s = _series(mu, 6)
    out = T.trend_glm(s, breaks=["2024-04"])
    tr = out[out["term"] == "trend"].iloc[0]
    st = out[out["term"] == "step"].iloc[0]
    assert st["month"] == "2024-04"
    assert tr["p_value"] > 0.05
    assert st["p_value"] < 0.01
    assert st["ci_low"] < 40 < st["ci_high"]
    # the same data without the break declared would wrongly show a trend
    naive = T.trend_glm(s).iloc[0]
    assert naive["p_value"] < 0.001 and naive["estimate_pct"] > 10


def test_flat_poisson_series_rarely_shows_a_trend():
    sig = 0
    for seed in range(50):
        out = T.trend_glm(_series(np.full(36, 30.0), 100 + seed))
        p = out["p_value"].item()
        assert 0 <= p <= 1
        sig += p < 0.05
    # expected 2.5 of 50; P(Binomial(50, 0.05) > 7) is about 0.01
    assert sig <= 7


def test_negative_binomial_on_request():
    rng = np.random.default_rng(8)
    y = rng.negative_binomial(n=3, p=3 / (3 + 40.0), size=36)  # mean 40, var 573
    out = T.trend_glm(pd.Series(y, index=MONTHS), family="negative_binomial")
    assert out["family"].item() == "negative_binomial"
    assert out["dispersion"].item() > 3
    assert 0 <= out["p_value"].item() <= 1


def test_short_series_warns_and_breaks_outside_warn():
    with pytest.warns(UserWarning, match="not adjusted for season"):
        T.trend_glm(_series(np.full(18, 30.0), 1))
    with pytest.warns(UserWarning, match="not inside the series"):
        T.trend_glm(_series(np.full(36, 30.0), 1), breaks=["2023-01"])
    with pytest.raises(ValueError, match="at least 12 months"):
        T.trend_glm(_series(np.full(8, 30.0), 1))
    with pytest.raises(ValueError, match="no gaps"):
        T.trend_glm(_series(np.full(36, 30.0), 1).drop("2024-02"))
    with pytest.raises(ValueError, match="at least one event"):
        T.trend_exceptions(pd.Series(0, index=MONTHS))


# --------------------------------------------------------------------------- exceptions
def test_exceptions_flag_planted_spike_with_poisson_limits():
    mu = _seasonal_mu()
    s = _series(mu, 9)
    s.iloc[20] = int(mu[20] * 2.5)
    out = T.trend_exceptions(s, family="poisson")
    assert out.loc[20, "flag"] == "high" and out.loc[20, "exceptional"]
    # prediction limits are at least as wide as Poisson limits around the same expected value
    assert (out["lower"] <= stats.poisson.ppf(0.001, out["expected"])).all()
    assert (out["upper"] >= stats.poisson.ppf(0.999, out["expected"])).all()
    assert out["p_value"].between(0, 1).all()
    assert out["exceptional"].sum() <= 2
    # a usual summer peak is not flagged
    flat = T.trend_exceptions(_series(mu, 10), family="poisson")
    assert not flat.loc[flat["month"].str[5:].isin(["06", "07", "08"]), "exceptional"].any()


# --------------------------------------------------------------------------- forecast
def test_forecast_shape_bounds_and_season():
    mu = _seasonal_mu(summer=1.8)
    s = _series(mu, 12)
    out = T.trend_forecast(s)
    assert list(out.columns) == ["month", "forecast", "pi_low", "pi_high", "model"]
    assert out["month"].tolist() == list(pd.period_range("2026-01", "2026-12", freq="M").strftime("%Y-%m"))
    assert (out["pi_low"] >= 0).all()
    assert (out["pi_low"] <= out["forecast"]).all() and (out["forecast"] <= out["pi_high"]).all()
    summer = out.loc[out["month"].str[5:].isin(["06", "07", "08"]), "forecast"].mean()
    winter = out.loc[out["month"].str[5:].isin(["01", "02", "12"]), "forecast"].mean()
    assert summer > 1.3 * winter
    # a fresh year from the same process lies mostly inside the 95% intervals
    future = np.random.default_rng(99).poisson(mu[:12])
    assert ((future >= out["pi_low"]) & (future <= out["pi_high"])).mean() >= 0.75


def test_forecast_small_counts_lower_bound_zero_and_break_level():
    out = T.trend_forecast(_series(np.full(24, 1.0), 13))
    assert (out["pi_low"] >= 0).all() and (out["forecast"] >= 0).all()
    months = np.array(MONTHS)
    s = _series(np.where(months >= "2024-04", 70.0, 50.0), 14)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = T.trend_forecast(s, breaks=["2024-04"])
    assert 60 < out["forecast"].mean() < 80


# --------------------------------------------------------------------------- breaks
def test_breaks_frame_forms():
    a = T.trend_breaks({"2024-04": "counting rule change"})
    assert list(a.columns) == ["month", "label", "category", "month_start"]
    assert a.loc[0, "label"] == "counting rule change"
    assert a.loc[0, "month_start"] == pd.Timestamp("2024-04-01")
    b = T.trend_breaks([{"month": "2024-04", "category": "Public order"}, {"month": "2023-02", "label": "x"}])
    assert b["month"].tolist() == ["2023-02", "2024-04"]
    assert b["label"].tolist() == ["x", "series break"]
    assert len(T.trend_breaks(None)) == 0
    with pytest.raises(ValueError, match="YYYY-MM"):
        T.trend_breaks(["2024/04"])


def test_exceptions_leave_one_out_catches_spike_in_overdispersed_series_without_masking():
    rng = np.random.default_rng(8)
    y = rng.negative_binomial(n=3, p=3 / 43, size=36)
    y[20] = 400
    out = T.trend_exceptions(pd.Series(y, index=MONTHS))
    assert out.loc[20, "flag"] == "high"
    assert (out["family"] == "quasi_poisson").all()
    assert out["exceptional"].sum() == 1
    # the same calendar month in other years is not wrongly flagged low (second pass)
    flat = np.random.default_rng(1).poisson(40, 36)
    flat[20] = 100
    out = T.trend_exceptions(pd.Series(flat, index=MONTHS))
    assert out["exceptional"].tolist() == [i == 20 for i in range(36)]


def test_seasonality_refuses_a_month_of_the_year_with_no_events():
    idx = [str(p) for p in pd.period_range("2023-01", "2025-12", freq="M")]
    values = np.where(pd.PeriodIndex(idx, freq="M").month == 2, 0, 20)
    with pytest.raises(ValueError, match=r"month\(s\) \[2\]"):
        T.trend_seasonality(pd.Series(values, index=idx))


def test_exception_expectation_is_the_leave_one_out_prediction():
    """One-step deletion against exact refits without each month (statsmodels), and the
    prediction variance against the delta method on the refit."""
    rng = np.random.default_rng(31)
    mu = _seasonal_mu(base=60.0)
    s = pd.Series(rng.poisson(mu), index=MONTHS)
    out = T.trend_exceptions(s, family="poisson")
    df = pd.DataFrame({"y": s.to_numpy(), "t": np.arange(36) / 12, "moy": pd.PeriodIndex(MONTHS, freq="M").month})
    exact = []
    for i in range(36):
        fit = smf.glm("y ~ t + C(moy)", df.drop(index=i), family=sm.families.Poisson()).fit()
        pred = fit.get_prediction(df.iloc[[i]]).summary_frame()
        exact.append(pred["mean"].iloc[0])
    np.testing.assert_allclose(out["expected"], exact, rtol=0.02)
    # a count far outside every limit is flagged, one at the expected value never
    assert ((out["lower"] <= np.floor(out["expected"])) & (np.floor(out["expected"]) <= out["upper"])).all()


def test_fdr_matches_statsmodels_and_keeps_untested_members_out():
    from statsmodels.stats.multitest import multipletests

    p = pd.Series([0.01, np.nan, 0.04, 0.03, 0.5], index=list("abcde"))
    out = T.trend_fdr(p)
    assert isinstance(out, pd.Series) and list(out.index) == list("abcde") and np.isnan(out["b"])
    ref = multipletests(p.dropna(), method="fdr_bh")[1]
    np.testing.assert_allclose(out.dropna().to_numpy(), ref)
    assert (out.dropna() >= p.dropna()).all()
    np.testing.assert_allclose(T.trend_fdr([0.2, 0.01], method="none"), [0.2, 0.01])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        T.trend_fdr([1.2])


def test_year_on_year_lag_compares_whole_years_apart():
    monthly = pd.DataFrame({"month": MONTHS, "count": np.arange(36) + 10})
    out = T.trend_year_on_year(monthly, "2025-12", lag=24, dispersion=False).iloc[0]
    assert out["previous_period"] == "2023-01 to 2023-12"
    assert (out["current"], out["previous"]) == (sum(range(34, 46)), sum(range(10, 22)))
    with pytest.raises(ValueError, match="whole number of years"):
        T.trend_year_on_year(monthly, "2025-12", lag=18)


def test_pooled_rho_ignores_months_fitted_as_empty():
    """A category recorded only from a break (zeros before it, a step at the break) has months the
    model fits as empty: they carry no variation. Counted as months of unit variance they made such a
    series look under-dispersed and moved the family's rho (by 0.11 on average over 30 families before
    they were left out); now the rho of the family with and without such series agree."""
    import warnings

    from assessment.analysis.trends import trend_pooled_autocorrelation

    idx = pd.period_range("2023-01", periods=36, freq="M")
    gaps = []
    for seed in range(12):
        rng = np.random.default_rng(seed)
        family = []
        for _ in range(2):  # Poisson around a latent AR(1), rho 0.7
            e = np.zeros(36)
            e[0] = rng.normal(0, 0.3)
            for t in range(1, 36):
                e[t] = 0.7 * e[t - 1] + rng.normal(0, 0.3 * np.sqrt(1 - 0.49))
            family.append(pd.Series(rng.poisson(60 * np.exp(e - 0.045)), index=idx))
        late = [pd.Series(np.r_[np.zeros(18), rng.poisson(30, 18)].astype(int), index=idx) for _ in range(2)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            alone = trend_pooled_autocorrelation(family)["autocorrelation"]
            both = trend_pooled_autocorrelation(family + late, breaks=[[], [], ["2024-07"], ["2024-07"]])
        assert both["n_series"] == 4
        gaps.append(abs(both["autocorrelation"] - alone))
    assert np.mean(gaps) < 0.04, gaps


# --------------------------------------------------------------------------- nothing recorded on one side of a break
def _quiet_glm(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return T.trend_glm(*args, **kw)


def test_category_first_recorded_at_a_break_is_a_tested_step_not_p_near_1():
    """Zeros before the break separate the likelihood; the Wald test gave p > 0.99 with a step of
    +2e13% (a false 'no clear step'). The step is now infinite and tested by likelihood ratio."""
    rng = np.random.default_rng(1)
    s = pd.Series(np.r_[np.zeros(12, int), rng.poisson(20, 24)], index=MONTHS)
    glm = _quiet_glm(s, breaks=["2024-01"])
    step = glm[glm["term"] == "step"].iloc[0]
    assert np.isposinf(step["estimate_pct"]) and step["empty_side"] == "before"
    assert step["p_value"] < 1e-6
    assert glm["n_months"].iloc[0] == 36 and glm["total"].iloc[0] == s.sum()
    # the trend and dispersion are those of the recorded months alone (an independent fit of them)
    alone = _quiet_glm(s.iloc[12:])  # 24 recorded months: month-of-year terms in both
    trend = glm[glm["term"] == "trend"].iloc[0]
    np.testing.assert_allclose(trend[["estimate_pct", "ci_low", "ci_high", "p_value", "dispersion"]].astype(float),
                               alone.iloc[0][["estimate_pct", "ci_low", "ci_high", "p_value", "dispersion"]]
                               .astype(float), rtol=1e-6)
    assert glm["empty_side"].iloc[0] == ""


def test_unrecorded_step_matches_an_independent_likelihood_ratio():
    """Poisson family, no season, no autocorrelation: the statistic is the deviance difference of
    the constant-level model on every month against the model on the recorded months."""
    rng = np.random.default_rng(3)
    y = np.r_[rng.poisson(4, 24), np.zeros(12, int)]  # recording ended at the break
    s = pd.Series(y, index=MONTHS)
    glm = _quiet_glm(s, breaks=["2025-01"], season=False, family="poisson", autocorrelation=False)
    step = glm[glm["term"] == "step"].iloc[0]
    assert step["estimate_pct"] == -100 and step["empty_side"] == "after"
    t = np.arange(36) / 12.0
    null = sm.GLM(y, sm.add_constant(t - t.mean()), family=sm.families.Poisson()).fit()
    t24 = np.arange(24) / 12.0
    alt = sm.GLM(y[:24], sm.add_constant(t24 - t24.mean()), family=sm.families.Poisson()).fit()
    assert step["p_value"] == pytest.approx(stats.chi2.sf(null.deviance - alt.deviance, 1), rel=1e-6)


def test_sparse_series_with_an_empty_stretch_is_within_normal_variation():
    s = pd.Series(np.zeros(36, int), index=MONTHS)
    s.iloc[[15, 27, 33]] = 1  # three events in 24 months: 12 quiet months are no surprise
    step = _quiet_glm(s, breaks=["2024-01"], season=False).query("term == 'step'").iloc[0]
    assert np.isposinf(step["estimate_pct"]) and 0.05 < step["p_value"] <= 1


def test_empty_stretch_between_two_breaks_frees_the_level_across_it():
    rng = np.random.default_rng(5)
    y = np.r_[rng.poisson(30, 12), np.zeros(6, int), rng.poisson(45, 18)]
    s = pd.Series(y, index=MONTHS)
    glm = _quiet_glm(s, breaks=["2024-01", "2024-07"], season=False)
    steps = glm[glm["term"] == "step"]
    assert list(steps["month"]) == ["2024-01", "2024-07"]
    assert list(steps["empty_side"]) == ["after", "before"]
    assert (steps["p_value"] < 0.001).all()
    # the trend is that of the recorded months with their own levels either side of the gap
    keep = y > -1
    keep[12:18] = False
    t = (np.arange(36) / 12.0)[keep]
    X = np.column_stack([np.ones(keep.sum()), t - (np.arange(36) / 12.0).mean(), (np.arange(36) >= 18)[keep]])
    ref = sm.GLM(y[keep], X, family=sm.families.Poisson()).fit()
    trend = glm[glm["term"] == "trend"].iloc[0]
    assert trend["estimate_pct"] == pytest.approx(100 * np.expm1(ref.params[1]), rel=1e-6)


def test_unrecorded_step_false_positive_rate_on_sparse_poisson_series():
    """Constant sparse rates: the step test, Wald or likelihood ratio, says 'significant' in about
    5% of series (limit 8% on 300 series, a 2.3 standard-error margin)."""
    rng = np.random.default_rng(11)
    named = tested = 0
    for _ in range(300):
        y = rng.poisson(0.15, 36)
        if y[12:].sum() == 0 or y.sum() == 0:
            continue
        step = _quiet_glm(pd.Series(y, index=MONTHS), breaks=["2024-01"], season=False).iloc[1]
        tested += 1
        named += bool(step["p_value"] < 0.05)
    assert tested > 200 and named / tested <= 0.08


def test_forecast_starts_where_a_category_was_first_recorded():
    rng = np.random.default_rng(2)
    s = pd.Series(np.r_[np.zeros(12, int), rng.poisson(30, 24)], index=MONTHS)
    fc = T.trend_forecast(s, horizon=6, breaks=["2024-01"])
    assert np.isfinite(fc[["forecast", "pi_low", "pi_high"]].to_numpy()).all()
    assert 15 < fc["forecast"].mean() < 45


def test_a_few_recorded_months_give_no_trend_and_a_tested_step():
    """Three months recorded after 33 empty ones fell back to the Wald test (+2e12%, p > 0.99)."""
    y = np.r_[np.zeros(33, int), [5, 7, 6]]
    glm = _quiet_glm(pd.Series(y, index=MONTHS), breaks=["2025-10"])
    trend, step = glm.iloc[0], glm.iloc[1]
    assert np.isnan(trend["estimate_pct"]) and np.isnan(trend["p_value"])
    assert np.isposinf(step["estimate_pct"]) and step["empty_side"] == "before" and step["p_value"] < 0.01
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        T.trend_glm(pd.Series(y, index=MONTHS), breaks=["2025-10"])
    assert any("too few months" in str(w.message) for w in caught)


def test_a_whole_empty_year_between_recorded_years_drops_the_season_not_the_trend():
    """With month-of-year terms the recorded months cannot separate them from the trend (rank 13 of
    14): the season goes, and the trend and steps match an independent fit without it."""
    rng = np.random.default_rng(9)
    y = np.r_[rng.poisson(40, 12), np.zeros(12, int), rng.poisson(40, 12)]
    s = pd.Series(y, index=MONTHS)
    glm = _quiet_glm(s, breaks=["2024-01", "2025-01"])
    assert not glm["seasonal"].iloc[0]
    plain = _quiet_glm(s, breaks=["2024-01", "2025-01"], season=False)
    np.testing.assert_allclose(glm["p_value"], plain["p_value"])
    assert glm.iloc[0]["p_value"] > 0.05  # no trend planted
    assert (glm.iloc[1:]["p_value"] < 1e-6).all()  # twelve empty months at about 40 a month


def test_a_break_with_nothing_either_side_is_untested():
    y = np.r_[np.zeros(24, int), np.random.default_rng(1).poisson(10, 12)]
    glm = _quiet_glm(pd.Series(y, index=MONTHS), breaks=["2023-07", "2025-01"], season=False)
    both = glm[glm["month"] == "2023-07"].iloc[0]
    assert both["empty_side"] == "both" and np.isnan(both["estimate_pct"]) and np.isnan(both["p_value"])


def test_forecast_ignores_a_stretch_of_none_within_normal_variation():
    rng = np.random.default_rng(4)
    y = np.r_[rng.poisson(0.3, 30), np.zeros(6, int)]
    y[[3, 11, 19, 25]] = 1
    s = pd.Series(y, index=MONTHS)
    step = _quiet_glm(s, breaks=["2025-07"], season=False).iloc[1]
    assert step["estimate_pct"] == -100 and step["p_value"] >= 0.05
    fc = T.trend_forecast(s, horizon=3, breaks=["2025-07"])
    assert (fc["pi_high"] > 0).all()  # not forecast as none: the empty months are within chance


def test_months_fitted_leave_out_the_stretches_with_nothing_recorded():
    rng = np.random.default_rng(1)
    s = pd.Series(np.r_[np.zeros(12, int), rng.poisson(20, 24)], index=MONTHS)
    glm = _quiet_glm(s, breaks=["2024-01"])
    assert (glm["months_fitted"] == 24).all() and (glm["n_months"] == 36).all()
    assert (_quiet_glm(s.iloc[12:])["months_fitted"] == 24).all()


def test_months_either_side_of_a_left_out_stretch_are_not_neighbours():
    """The latent AR(1) moments pair only months one apart, and R(rho) uses the months' distance."""
    e = np.array([1.0, 2.0, 3.0, 4.0])
    Z = np.ones((4, 1))
    x2, x1, M, MU, d, at = T._latent_parts(e, Z, pos=np.array([0, 1, 5, 6]))
    assert x2 == 30 and x1 == 1 * 2 + 3 * 4  # not 2 * 3 across the gap
    U = np.zeros((4, 4))
    U[1, 0] = U[3, 2] = 1
    np.testing.assert_allclose(MU, M @ U @ M)
    R = T._latent_corr(0.5, np.ones(4), at)
    assert R[1, 2] == pytest.approx(0.5 ** 4) and R[0, 1] == 0.5
