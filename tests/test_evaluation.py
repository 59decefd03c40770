"""Tests for assessment.analysis.evaluation: checked against planted truths, closed forms,
an independent likelihood maximisation, and simulation of the test's power."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from assessment.analysis.evaluation import (
    evaluate_did,
    evaluate_did_mde,
    evaluate_its,
    evaluate_mde,
    evaluate_placebo,
    evaluate_power,
    evaluate_verdict,
)

MONTHS = pd.period_range("2022-01", "2025-12", freq="M").astype(str)
START = "2024-01"


def did_counts(seed, base_i=100.0, base_c=120.0, effect=1.0, season=0.2, alpha_nb=None, months=MONTHS):
    """Monthly counts for two areas; the intervention's post months are multiplied by ``effect``."""
    rng = np.random.default_rng(seed)
    n = len(months)
    idx = np.arange(n)
    post = np.asarray(months) >= START
    seas = 1 + season * np.sin(2 * np.pi * idx / 12)
    frames = []
    for group, base in (("intervention", base_i), ("comparison", base_c)):
        mu = base * seas * np.where(post & (group == "intervention"), effect, 1.0)
        if alpha_nb is None:
            y = rng.poisson(mu)
        else:
            r = 1 / alpha_nb
            y = rng.negative_binomial(r, r / (r + mu))
        frames.append(pd.DataFrame({"month": months, "group": group, "count": y}))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------- difference in differences
def test_did_recovers_planted_rate_ratio():
    res = evaluate_did(did_counts(11, effect=0.6), START).iloc[0]
    assert res["ci_lower"] < 0.6 < res["ci_upper"]
    assert res["ci_upper"] < 1
    # Poisson data: plain Poisson, or quasi-Poisson when chance gives Pearson chi2/df a little above 1
    assert res["model"] in ("poisson", "quasi_poisson")
    assert res["dispersion"] < 1.5
    assert 0 <= res["p_value"] < 0.001


def test_did_null_effect_ci_includes_one_in_most_runs():
    hits = 0
    for seed in range(30):
        res = evaluate_did(did_counts(seed, base_i=20, base_c=25), START, seasonality=False).iloc[0]
        assert 0 <= res["p_value"] <= 1
        hits += res["ci_lower"] <= 1 <= res["ci_upper"]
    assert hits >= 25  # expected 28.5 of 30 at 95%; 25 or more has probability > 0.99


def test_did_equals_closed_form_ratio_of_ratios_without_seasonality():
    df = did_counts(3, effect=0.8, season=0.0)
    res = evaluate_did(df, START, seasonality=False).iloc[0]
    assert res["model"] == "poisson"
    post = df["month"] >= START
    tot = df.groupby([df["group"], post])["count"].sum()
    ip, iq = tot[("intervention", False)], tot[("intervention", True)]
    cp, cq = tot[("comparison", False)], tot[("comparison", True)]
    assert res["rate_ratio"] == pytest.approx((iq * cp) / (ip * cq), rel=1e-8)
    assert res["se_log_rate_ratio"] == pytest.approx(np.sqrt(1 / ip + 1 / iq + 1 / cp + 1 / cq), rel=1e-6)
    z = np.log(res["rate_ratio"]) / res["se_log_rate_ratio"]
    assert res["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-6)
    assert (res["intervention_pre"], res["intervention_post"]) == (ip, iq)


def test_did_with_exposure_is_ratio_of_rate_ratios():
    df = did_counts(4, effect=0.7, season=0.0)
    df["population"] = np.where(df["group"] == "intervention", 8000.0, 12000.0) * np.linspace(1, 1.1, len(df))
    res = evaluate_did(df, START, exposure="population", seasonality=False).iloc[0]
    post = df["month"] >= START
    g = df.groupby([df["group"], post])[["count", "population"]].sum()
    rate = g["count"] / g["population"]
    closed = (rate[("intervention", True)] / rate[("intervention", False)]) / (
        rate[("comparison", True)] / rate[("comparison", False)])
    assert res["rate_ratio"] == pytest.approx(closed, rel=1e-8)


def test_did_switches_to_negative_binomial_when_overdispersed():
    df = did_counts(5, effect=0.6, alpha_nb=0.1)
    nb = evaluate_did(df, START).iloc[0]
    assert nb["dispersion"] > 1.5
    assert nb["model"] == "negative_binomial"
    assert 0.02 < nb["nb_alpha"] < 0.3
    assert nb["ci_lower"] < 0.6 < nb["ci_upper"]
    # NB must not be overconfident: its SE exceeds the pure-Poisson (Woolf) SE of the four cell totals
    cells = nb[["intervention_pre", "intervention_post", "comparison_pre", "comparison_post"]].astype(float)
    woolf = float(np.sqrt((1.0 / cells).sum()))
    assert nb["se_log_rate_ratio"] > 1.05 * woolf
    # and a mildly over-dispersed fit kept as Poisson is given quasi-Poisson standard errors, never smaller
    kept = evaluate_did(df, START, dispersion_threshold=1e6).iloc[0]
    assert kept["model"] == "quasi_poisson" and kept["se_log_rate_ratio"] > woolf


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.assign(group=d["group"].replace({"comparison": "control"})), "group"),
    (lambda d: d.assign(month=d["month"].replace({"2022-03": "03/2022"})), "YYYY-MM"),
    (lambda d: pd.concat([d, d.iloc[[0]]], ignore_index=True), "one row per month"),
    (lambda d: d[d["month"] >= START], "before"),
    (lambda d: d.assign(count=d["count"].astype(float).where(d.index != 2, -1.0)), "whole counts"),
])
def test_did_rejects_bad_input(mutate, message):
    with pytest.raises(ValueError, match=message):
        evaluate_did(mutate(did_counts(1)), START)


def test_placebo_is_a_did_on_the_months_before_the_start_with_a_fake_start_half_way():
    counts = did_counts(3)  # 24 months before START
    got = evaluate_placebo(counts, START).iloc[0]
    assert got["placebo_start"] == "2023-01"
    pre = counts[counts["month"] < START]
    want = evaluate_did(pre, "2023-01", seasonality=True).iloc[0]
    assert got["rate_ratio"] == pytest.approx(want["rate_ratio"])
    assert got["ci_lower"] == pytest.approx(want["ci_lower"])
    assert bool(got["diverging"]) == (not want["ci_lower"] <= 1 <= want["ci_upper"])
    # a planted divergence before the start, with months treated as independent, is found
    bent = counts.copy()
    late = (bent["group"] == "intervention") & (bent["month"] >= "2023-01") & (bent["month"] < START)
    bent.loc[late, "count"] = bent.loc[late, "count"] * 2
    assert bool(evaluate_placebo(bent, START, errors="independent")["diverging"].iloc[0])
    with pytest.raises(ValueError, match="at least 4 months"):
        evaluate_placebo(counts, "2022-03")


def test_did_rejects_non_frame():
    with pytest.raises(TypeError):
        evaluate_did([1, 2, 3], START)


# ---------------------------------------------------------------- interrupted time series
def its_counts(seed, level=1.0, slope=1.0, base=200.0, trend=0.002, season=1.0):
    rng = np.random.default_rng(seed)
    months = MONTHS
    t = np.arange(len(months))
    post = np.asarray(months) >= START
    t0 = int(np.argmax(post))
    log_mu = (np.log(base) + trend * t + season * (0.25 * np.sin(2 * np.pi * t / 12) + 0.1 * np.cos(2 * np.pi * t / 12))
              + np.log(level) * post + np.log(slope) * np.where(post, t - t0, 0))
    return pd.DataFrame({"month": months, "count": rng.poisson(np.exp(log_mu))})


def test_its_recovers_level_and_slope_change():
    res = evaluate_its(its_counts(21, level=0.7, slope=0.99), START)
    lvl = res.effects.set_index("term").loc["level_change"]
    slp = res.effects.set_index("term").loc["slope_change"]
    assert lvl["ci_lower"] < 0.7 < lvl["ci_upper"] and lvl["ci_upper"] < 1
    assert slp["ci_lower"] < 0.99 < slp["ci_upper"]
    assert res.effects["p_value"].between(0, 1).all()


def test_its_matches_independent_likelihood_maximisation():
    df = its_counts(8, level=0.8, season=0.0)
    res = evaluate_its(df, START, seasonality=None)
    assert res.effects["model"].eq("poisson").all()
    y = df["count"].to_numpy(float)
    t = np.arange(len(y), dtype=float)
    post = (df["month"] >= START).to_numpy()
    X = np.column_stack([np.ones_like(t), t, post, np.where(post, t - np.argmax(post), 0)])

    def nll(b):
        eta = X @ b
        return np.sum(np.exp(eta) - y * eta)

    def grad(b):
        return X.T @ (np.exp(X @ b) - y)

    b = optimize.minimize(nll, np.r_[np.log(y.mean()), 0, 0, 0], jac=grad, method="BFGS",
                          options={"gtol": 1e-10, "maxiter": 5000}).x
    info = X.T @ (np.exp(X @ b)[:, None] * X)
    se = np.sqrt(np.diag(np.linalg.inv(info)))
    eff = res.effects.set_index("term")
    assert eff.loc["level_change", "rate_ratio"] == pytest.approx(np.exp(b[2]), rel=1e-4)
    assert eff.loc["slope_change", "rate_ratio"] == pytest.approx(np.exp(b[3]), rel=1e-4)
    assert eff.loc["level_change", "se_log_rate_ratio"] == pytest.approx(se[2], rel=1e-3)


def test_its_counterfactual_equals_fit_before_start_and_projects_after():
    res = evaluate_its(its_counts(9, level=0.6), START, seasonality="month")
    s = res.series
    pre = ~s["post"]
    assert np.allclose(s.loc[pre, "fitted"], s.loc[pre, "counterfactual"])
    assert (s["counterfactual_lower"] <= s["counterfactual"]).all()
    assert (s["counterfactual"] <= s["counterfactual_upper"]).all()
    # after the start the counterfactual sits above the fall that was planted
    assert (s.loc[~pre, "counterfactual"] > s.loc[~pre, "fitted"]).all()
    # Poisson GLM with an intercept conserves the total
    assert s["fitted"].sum() == pytest.approx(s["observed"].sum(), rel=1e-6)


def test_its_rejects_too_few_post_months():
    df = its_counts(1)
    with pytest.raises(ValueError, match="at least 3 months"):
        evaluate_its(df, "2025-11")


# ---------------------------------------------------------------- power and MDE
def _simulated_power(cells, rr, n_sim, seed, dispersion=1.0):
    """Share of simulated DiD studies whose two-sided Wald test on the cross-product rejects."""
    rng = np.random.default_rng(seed)
    mu = np.array(cells, dtype=float)  # intervention pre, intervention post, comparison pre, comparison post
    mu[1] *= rr
    if dispersion == 1.0:
        y = rng.poisson(mu, size=(n_sim, 4)).astype(float)
    else:
        r = mu / (dispersion - 1)  # negative binomial with variance = dispersion * mean
        y = rng.negative_binomial(r, r / (r + mu), size=(n_sim, 4)).astype(float)
    y = np.maximum(y, 0.5)
    log_rr = np.log(y[:, 1] * y[:, 2] / (y[:, 0] * y[:, 3]))
    se = np.sqrt(dispersion * (1 / y).sum(axis=1))
    return np.mean(np.abs(log_rr / se) > stats.norm.ppf(0.975))


@pytest.mark.parametrize("cells, dispersion", [((150, 150, 150, 150), 1.0), ((60, 60, 90, 90), 1.0),
                                               ((300, 300, 300, 300), 2.0)])
def test_mde_gives_80_percent_power_in_simulation(cells, dispersion):
    mde = evaluate_mde(cells[1], [cells[0], cells[2], cells[3]], dispersion=dispersion).iloc[0]
    assert 0 < mde["mde_rate_ratio"] < 1
    emp = _simulated_power(cells, mde["mde_rate_ratio"], 6000, seed=42, dispersion=dispersion)
    assert emp == pytest.approx(0.8, abs=0.025)  # Monte Carlo SE about 0.005


def test_mde_close_to_textbook_formula_and_consistent_with_power():
    out = evaluate_mde(400, [400, 400, 400]).iloc[0]
    se = np.sqrt(4 / 400)
    assert out["se_log_rate_ratio_null"] == pytest.approx(se)
    assert out["approx_mde_rate_ratio"] == pytest.approx(np.exp(-(1.959964 + 0.841621) * se), rel=1e-5)
    assert out["mde_rate_ratio"] == pytest.approx(out["approx_mde_rate_ratio"], abs=0.01)
    assert evaluate_power(400, [400, 400, 400], out["mde_rate_ratio"]) == pytest.approx(0.8, abs=1e-6)
    assert out["mde_percent"] == pytest.approx(100 * (1 - out["mde_rate_ratio"]))


def test_power_invariants():
    assert evaluate_power(100, [100, 100, 100], 1.0) == pytest.approx(0.05)
    small = evaluate_power(50, [50, 50, 50], 0.8)
    large = evaluate_power(500, [500, 500, 500], 0.8)
    assert 0 <= small < large <= 1
    assert evaluate_power(500, [500, 500, 500], 0.8, dispersion=3) < large
    up = evaluate_mde(100, [100], direction="increase").iloc[0]
    assert up["mde_rate_ratio"] > 1


def test_did_mde_does_not_use_the_intervention_outcome():
    df = did_counts(2, effect=1.0)
    a = evaluate_did_mde(df, START).iloc[0]
    changed = df.copy()
    post_i = (changed["group"] == "intervention") & (changed["month"] >= START)
    changed.loc[post_i, "count"] = changed.loc[post_i, "count"] // 3
    b = evaluate_did_mde(changed, START).iloc[0]
    assert a["mde_rate_ratio"] == b["mde_rate_ratio"]
    assert a["expected_intervention_post"] == pytest.approx(a["intervention_pre"] * a["comparison_post"]
                                                            / a["comparison_pre"])
    assert a["dispersion"] >= 1


def test_mde_rejects_bad_arguments():
    with pytest.raises(ValueError):
        evaluate_mde(100, [100, 0])
    with pytest.raises(ValueError):
        evaluate_mde(100, [100], power=1.2)
    with pytest.raises(TypeError):
        evaluate_mde(100, "abc")


# ---------------------------------------------------------------- verdicts
def test_verdict_significant_fall_wording():
    text = evaluate_verdict(0.78, 0.66, 0.92, 0.85)
    assert text == "a statistically significant fall of 22% in incidents (rate ratio 0.78, 95% CI 0.66 to 0.92)"


def test_verdict_significant_rise_wording():
    assert evaluate_verdict(1.3, 1.1, 1.5).startswith("a statistically significant rise of 30%")


def test_verdict_no_detectable_effect_states_the_mde():
    text = evaluate_verdict(0.93, 0.8, 1.08, mde_rate_ratio=0.75)
    assert text.startswith("no detectable effect")
    assert "could only have detected a change larger than 25%" in text
    assert "significant fall" not in text


def test_verdict_imprecise_large_estimate_is_not_called_an_effect():
    text = evaluate_verdict(0.6, 0.3, 1.2, mde_rate_ratio=0.75)
    assert text.startswith("no statistically significant change")
    assert "compatible with no change" in text and "fall of" not in text


def test_verdict_end_to_end_from_did_and_mde():
    df = did_counts(7, base_i=15, base_c=15, effect=0.9)
    mde = evaluate_did_mde(df, START).iloc[0]
    res = evaluate_did(df, START).iloc[0]
    text = evaluate_verdict(res["rate_ratio"], res["ci_lower"], res["ci_upper"], mde["mde_rate_ratio"])
    assert res["ci_lower"] <= 1 <= res["ci_upper"]  # a 10% fall on about 360 incidents a side
    assert abs(np.log(res["rate_ratio"])) < abs(np.log(mde["mde_rate_ratio"]))
    assert text.startswith("no detectable effect")
    assert f"larger than {100 * (1 - mde['mde_rate_ratio']):.0f}%" in text


def test_verdict_rejects_estimate_outside_interval():
    with pytest.raises(ValueError, match="within its interval"):
        evaluate_verdict(0.5, 0.6, 0.9)


def test_no_warnings_on_clean_poisson_data():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evaluate_did(did_counts(12), START)
        evaluate_its(its_counts(12), START)


# ---------------------------------------------------------------- serial correlation and regression to the mean
def ar1_counts(seed, n=36, rho=0.6, mean=100.0, latent_var=0.015, areas=2):
    """Poisson counts around a latent AR(1) log-level (Zeger's model), one row of months per area."""
    rng = np.random.default_rng(seed)
    s = np.sqrt(np.log1p(latent_var))
    u = np.empty((areas, n))
    u[:, 0] = rng.normal(0, s, areas)
    shocks = rng.normal(0, s * np.sqrt(1 - rho**2), (areas, n))
    for t in range(1, n):
        u[:, t] = rho * u[:, t - 1] + shocks[:, t]
    return rng.poisson(mean * np.exp(u - s**2 / 2))


def did_frame(i, c, months=None):
    months = MONTHS[-len(i):] if months is None else months
    return pd.DataFrame({"month": np.r_[months, months], "group": ["intervention"] * len(i) + ["comparison"] * len(c),
                         "count": np.r_[i, c]})


def test_serial_moments_recover_latent_correlation_on_a_long_series():
    from assessment.analysis.evaluation import _serial_moments

    y = ar1_counts(3, n=600, areas=1)[0].astype(float)
    X = np.ones((600, 1))
    mu = np.full(600, y.mean())
    sigma2, rho = _serial_moments(y, X, mu, np.zeros(600), np.arange(600.0))
    # independent check: the lag-1 autocovariance of the counts is sigma2 mu^2 rho
    assert rho == pytest.approx(0.6, abs=0.12)
    assert sigma2 == pytest.approx(0.015, rel=0.5)
    c1 = np.mean((y[1:] - y.mean()) * (y[:-1] - y.mean()))
    assert sigma2 * rho * y.mean() ** 2 == pytest.approx(c1, rel=0.25)


def test_ar1_errors_widen_the_interval_on_correlated_months_only():
    i, c = ar1_counts(8, rho=0.8)
    d = did_frame(i, c, MONTHS[:36])
    ar1 = evaluate_did(d, "2024-01").iloc[0]
    ind = evaluate_did(d, "2024-01", errors="independent").iloc[0]
    assert ar1["errors"] == "ar1" and ind["errors"] == "independent"
    assert ar1["rate_ratio"] == pytest.approx(ind["rate_ratio"])
    assert ar1["se_log_rate_ratio"] > 1.2 * ind["se_log_rate_ratio"]
    assert ar1["autocorrelation"] > 0.3 and 1 <= ar1["df"] < 72
    # Poisson months with no latent variance: the two agree (sigma2 = 0, normal reference)
    pois = did_counts(12, season=0.0)
    a = evaluate_did(pois, START, seasonality=False).iloc[0]
    b = evaluate_did(pois, START, seasonality=False, errors="independent").iloc[0]
    if a["latent_variance"] == 0:
        assert a["p_value"] == pytest.approx(b["p_value"], rel=1e-6)
    assert a["se_log_rate_ratio"] >= b["se_log_rate_ratio"] * (1 - 1e-9)


def test_its_reports_serial_columns_and_rejects_unknown_errors():
    res = evaluate_its(its_counts(21, level=0.7, slope=0.99), START)
    assert {"errors", "autocorrelation", "latent_variance", "df"} <= set(res.effects.columns)
    assert (res.series["counterfactual_lower"] <= res.series["counterfactual"]).all()
    with pytest.raises(ValueError, match="errors"):
        evaluate_its(its_counts(21), START, errors="hac")


def test_rtm_adjusts_for_a_planted_high_selection_window():
    from assessment.analysis.evaluation import evaluate_rtm

    rng = np.random.default_rng(5)
    months = MONTHS[:36]
    i = rng.poisson(np.where((np.arange(36) >= 12) & (np.arange(36) < 24), 140.0, 100.0))  # chosen on a chance high
    c = rng.poisson(np.full(36, 100.0))
    d = did_frame(i, c, months)
    plain = evaluate_did(d, "2024-01", errors="independent").iloc[0]
    assert plain["rate_ratio"] < 0.9  # a naive DiD sees a "fall"
    rt = evaluate_rtm(d, "2024-01").iloc[0]
    assert rt["status"] == "adjusted" and rt["unusually_high"]
    assert rt["selection_vs_history"] == pytest.approx(1.4, rel=0.1)
    assert (rt["history_months"], rt["selection_start"]) == (12, "2023-01")
    assert rt["adjusted_ci_lower"] <= 1 <= rt["adjusted_ci_upper"]
    text = evaluate_verdict(plain["rate_ratio"], plain["ci_lower"], plain["ci_upper"], 0.8, rtm=rt)
    assert "statistically significant fall" not in text and "regression to the mean" in text


def test_rtm_without_history_never_says_significant_fall():
    from assessment.analysis.evaluation import evaluate_rtm

    d = did_counts(11, effect=0.6).loc[lambda f: f["month"] >= "2023-01"]
    rt = evaluate_rtm(d, START, chosen_for_high_counts=True, selection_months=12)
    assert rt["status"].iloc[0] == "caveat" and rt["history_months"].iloc[0] == 0
    res = evaluate_did(d, START).iloc[0]
    assert res["ci_upper"] < 1
    text = evaluate_verdict(res["rate_ratio"], res["ci_lower"], res["ci_upper"], rtm=rt)
    assert "statistically significant" not in text and "regression to the mean" in text
    assert "regression to the mean" in rt["caveat"].iloc[0]
    # not chosen and not unusually high: no concern, the verdict is unchanged
    calm = evaluate_rtm(did_counts(11, effect=0.6), START, flag_p=0.01)
    assert calm["status"].iloc[0] == "no concern" and calm["caveat"].iloc[0] == ""
    with pytest.raises(ValueError, match="selection_months"):
        evaluate_rtm(d, START, selection_months=0)


def test_did_mde_widens_for_correlated_months_using_the_before_period_only():
    i, c = ar1_counts(21, n=36, rho=0.8)
    d = did_frame(i, c, MONTHS[:36])
    a = evaluate_did_mde(d, "2024-07").iloc[0]
    # independent check of the Pearson part: the before-period Poisson fit's chi2/df
    import statsmodels.api as sm

    pre = d[d["month"] < "2024-07"]
    X = pd.get_dummies(pd.DataFrame({"t": (pre["group"] == "intervention").astype(float),
                                     "m": pre["month"].str[5:]}), columns=["m"], drop_first=True, dtype=float)
    fit = sm.GLM(pre["count"].to_numpy(float), sm.add_constant(X), family=sm.families.Poisson()).fit()
    pearson = max(1.0, fit.pearson_chi2 / fit.df_resid)
    assert a["dispersion"] >= pearson - 1e-9
    assert a["dispersion"] > 1.5 * pearson  # a run of high months widens the margin further
    fixed = evaluate_did_mde(d, "2024-07", dispersion=float(pearson)).iloc[0]
    assert a["mde_rate_ratio"] < fixed["mde_rate_ratio"]  # a fall must be larger to be detectable
