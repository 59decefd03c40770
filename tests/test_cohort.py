"""Tests for assessment.analysis.cohort: a hand-built dataset whose cohorts, counts and days at
risk are worked out by hand, exact rate-ratio inference checked against statsmodels and the
binomial tails, a planted effect in simulated nominals, and no person id in any output."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats import rates as sm_rates

from assessment.analysis.cohort import SUMMARY_COLUMNS, cohort_comparison, cohort_summary

PANEL = ["W1"]

# person, role, crime_ref, date, ward
ROWS = [
    # A: W1 incidents 2024-01-10 and 2024-03-01 -> eligible 2024-03-01; later c3 (shared with B) inside
    #    follow-up, c5 (2025-06-01) after the 365-day follow-up ends (2025-03-01)
    ("secret-A", "victim", "c1", "2024-01-10", "W1"), ("secret-A", "offender", "c2", "2024-03-01", "W1"),
    ("secret-A", "victim", "c3", "2024-05-01", "W1"), ("secret-A", "victim", "c5", "2025-06-01", "W1"),
    # B: 2023-12-01 and 2024-02-15 in W1 -> eligible 2024-02-15 (pair spans the year end); later c2
    #    (A's eligibility incident), c3 (shared with A) and c7 (another ward, still counted)
    ("secret-B", "victim", "c4", "2023-12-01", "W1"), ("secret-B", "offender", "c6", "2024-02-15", "W1"),
    ("secret-B", "victim", "c2", "2024-03-01", "W1"), ("secret-B", "offender", "c3", "2024-05-01", "W1"),
    ("secret-B", "victim", "c7", "2024-08-01", "W9"),
    # C: two W1 incidents 397 days apart -> never eligible
    ("secret-C", "victim", "c8", "2024-01-01", "W1"), ("secret-C", "victim", "c9", "2025-02-01", "W1"),
    # D: one incident recorded twice (victim and offender) -> one incident, not eligible
    ("secret-D", "victim", "c10", "2024-06-01", "W1"), ("secret-D", "offender", "c10", "2024-06-01", "W1"),
    # E: two W9 incidents -> rest of area 2024, eligible 2024-04-20; later c13
    ("secret-E", "victim", "c11", "2024-04-01", "W9"), ("secret-E", "victim", "c12", "2024-04-20", "W9"),
    ("secret-E", "victim", "c13", "2024-10-01", "W9"),
    # F: historical: eligible 2022-09-01 (later c16), and again 2023-01-01 (later c17 by 2024-01-01)
    ("secret-F", "victim", "c14", "2022-05-01", "W1"), ("secret-F", "victim", "c15", "2022-09-01", "W1"),
    ("secret-F", "victim", "c16", "2023-01-01", "W1"), ("secret-F", "victim", "c17", "2023-10-01", "W1"),
    # G: one incident in W1 and one in W9 -> eligible in neither
    ("secret-G", "victim", "c18", "2024-07-01", "W1"), ("secret-G", "victim", "c19", "2024-07-05", "W9"),
    # H: sets the data start at 2020-01-01
    ("secret-H", "victim", "c20", "2020-01-01", "W5"),
]


@pytest.fixture
def nominals():
    df = pd.DataFrame(ROWS, columns=["person_id", "role", "crime_ref", "incident_date", "ward_code"])
    df["incident_date"] = pd.to_datetime(df["incident_date"])
    return df


def _row(summary, cohort):
    return summary.set_index("cohort").loc[cohort]


def test_hand_built_cohorts(nominals):
    s = cohort_summary(nominals, PANEL, 2024, period_end="2025-12-31")
    assert list(s.columns) == list(SUMMARY_COLUMNS)
    assert list(s["cohort"]) == ["panel wards 2024", "panel wards 2021", "panel wards 2022", "panel wards 2023",
                                 "rest of area 2024"]
    panel = _row(s, "panel wards 2024")
    assert panel["n_people"] == 2                   # A and B
    assert panel["n_subsequent_incidents"] == 3     # c2, c3 (shared, counted once), c7
    assert panel["days_at_risk"] == 730             # 365 + 365
    assert panel["rate_per_1000_days"] == pytest.approx(1000 * 3 / 730)
    assert _row(s, "panel wards 2021")["n_people"] == 0
    for year, n in ((2022, 1), (2023, 1)):
        r = _row(s, f"panel wards {year}")
        assert (r["n_people"], r["n_subsequent_incidents"], r["days_at_risk"]) == (1, n, 365)
    rest = _row(s, "rest of area 2024")
    assert (rest["n_people"], rest["n_subsequent_incidents"], rest["days_at_risk"]) == (1, 1, 365)
    assert (s["n_follow_up_truncated"] == 0).all()


def test_days_at_risk_truncated_by_period_end(nominals):
    with pytest.warns(UserWarning, match="cut short"):
        s = cohort_summary(nominals, PANEL, 2024, period_end="2024-12-31", earlier_years=[2022])
    panel = _row(s, "panel wards 2024")
    # A: 2024-03-01 -> 2024-12-31 = 305 days; B: 2024-02-15 -> 2024-12-31 = 320 days
    assert panel["days_at_risk"] == 305 + 320
    assert panel["n_follow_up_truncated"] == 2
    assert panel["n_subsequent_incidents"] == 3


def test_follow_up_to_period_end(nominals):
    s = cohort_summary(nominals, PANEL, 2024, period_end="2025-12-31", follow_up_days=None, earlier_years=[])
    panel = _row(s, "panel wards 2024")
    # A: 2024-03-01 -> 2025-12-31 = 670 days; B: 2024-02-15 -> 2025-12-31 = 685 days
    assert panel["days_at_risk"] == 670 + 685
    assert panel["n_subsequent_incidents"] == 4     # c5 now inside A's follow-up


def test_shared_incident_counted_once_not_per_member(nominals):
    # move c7 onto A as well: B and A now share c3 and c7, still one incident each
    extra = pd.DataFrame([("secret-A", "offender", "c7", pd.Timestamp("2024-08-01"), "W9")],
                         columns=nominals.columns)
    s = cohort_summary(pd.concat([nominals, extra], ignore_index=True), PANEL, 2024, period_end="2025-12-31")
    assert _row(s, "panel wards 2024")["n_subsequent_incidents"] == 3


def test_first_only_keeps_each_person_once(nominals):
    s = cohort_summary(nominals, PANEL, 2024, period_end="2025-12-31", first_only=True)
    assert _row(s, "panel wards 2022")["n_people"] == 1
    assert _row(s, "panel wards 2023")["n_people"] == 0   # F's 2023 eligibility is a repeat


def test_no_person_id_in_any_output(nominals):
    s = cohort_summary(nominals, PANEL, 2024, period_end="2025-12-31")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = cohort_comparison(s)
    ids = set(nominals["person_id"])
    for frame in (s, c):
        cells = [str(x) for x in frame.to_numpy().ravel()]
        text = " ".join(cells + [str(x) for x in frame.columns] + [str(x) for x in frame.index])
        assert not any(pid in text for pid in ids)
        assert "person_id" not in frame.columns


def test_comparison_matches_statsmodels_exact_conditional_test():
    summary = pd.DataFrame({
        "cohort": ["panel wards 2024", "panel wards 2022", "panel wards 2023", "rest of area 2024"],
        "group": ["panel", "historical", "historical", "rest_of_area"],
        "cohort_year": [2024, 2022, 2023, 2024], "n_people": [40, 35, 38, 300],
        "n_subsequent_incidents": [18, 20, 24, 260], "days_at_risk": [14000.0, 12000.0, 13500.0, 105000.0],
        "rate_per_1000_days": np.nan, "ci_lower": np.nan, "ci_upper": np.nan, "n_follow_up_truncated": 0,
    })
    out = cohort_comparison(summary).set_index("comparison")
    hist = out.loc["panel vs earlier years"]
    assert hist["reference_incidents"] == 44 and hist["reference_days"] == 25500
    assert hist["rate_ratio"] == pytest.approx((18 / 14000) / (44 / 25500))
    sm_p = sm_rates.test_poisson_2indep(18, 14000, 44, 25500, method="exact-cond").pvalue
    assert hist["p_value"] == pytest.approx(sm_p, rel=1e-9)
    # Clopper-Pearson definition: at the interval ends the one-sided binomial tails equal alpha/2
    n, e1, e0 = 62, 14000.0, 25500.0
    p_hi = hist["ci_upper"] * e1 / (hist["ci_upper"] * e1 + e0)
    p_lo = hist["ci_lower"] * e1 / (hist["ci_lower"] * e1 + e0)
    assert stats.binom.cdf(18, n, p_hi) == pytest.approx(0.025, abs=1e-6)
    assert stats.binom.sf(17, n, p_lo) == pytest.approx(0.025, abs=1e-6)
    assert out["p_value"].between(0, 1).all()
    assert (out["power_at_target"].between(0, 1)).all()
    rest = out.loc["panel vs rest of area"]
    assert rest["mde_rate_ratio"] < 1 and rest["mde_percent"] > 0


def _simulated_nominals(seed, n_panel=1500, n_rest=1500, base_rate=0.004, effect=0.6):
    """People each with two qualifying incidents in 2024 and Poisson later incidents at a known rate."""
    rng = np.random.default_rng(seed)
    n = n_panel + n_rest
    pid = np.array([f"sim-{i:05d}" for i in range(n)])
    ward = np.where(np.arange(n) < n_panel, "W1", "W2")
    first = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 200, n), unit="D")
    second = first + pd.to_timedelta(rng.integers(1, 100, n), unit="D")
    rate = np.where(ward == "W1", base_rate * effect, base_rate)
    k = rng.poisson(rate * 365)
    owner = np.repeat(np.arange(n), k)
    later = second[owner] + pd.to_timedelta(rng.integers(1, 366, k.sum()), unit="D")
    people = np.concatenate([np.arange(n), np.arange(n), owner])
    dates = np.concatenate([first.to_numpy(), second.to_numpy(), later.to_numpy()])
    return pd.DataFrame({
        "person_id": pid[people], "role": "victim",
        "crime_ref": [f"cr{i}" for i in range(len(people))],
        "incident_date": pd.to_datetime(dates), "ward_code": np.concatenate([ward, ward, ward[owner]]),
    })


def test_planted_rate_ratio_recovered():
    df = _simulated_nominals(5)
    s = cohort_summary(df, PANEL, 2024, period_end="2025-12-31", earlier_years=[])
    assert _row(s, "panel wards 2024")["n_people"] == 1500
    assert _row(s, "rest of area 2024")["n_people"] == 1500
    assert (s.loc[s["group"] != "historical", "days_at_risk"] == 1500 * 365).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rest = cohort_comparison(s).set_index("comparison").loc["panel vs rest of area"]
    assert rest["ci_lower"] < 0.6 < rest["ci_upper"] and rest["ci_upper"] < 1
    assert rest["power_at_target"] > 0.8     # about 2,200 and 1,300 events: well powered for 20%


def test_null_effect_interval_includes_one_in_most_runs():
    hits = 0
    for seed in range(12):
        df = _simulated_nominals(100 + seed, n_panel=150, n_rest=150, effect=1.0)
        s = cohort_summary(df, PANEL, 2024, period_end="2025-12-31", earlier_years=[])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = cohort_comparison(s).set_index("comparison").loc["panel vs rest of area"]
        hits += r["ci_lower"] <= 1 <= r["ci_upper"]
    assert hits >= 10   # expected 11.4 of 12; 10 or more has probability about 0.98


def test_rejects_bad_input(nominals):
    with pytest.raises(ValueError, match="role"):
        cohort_summary(nominals.assign(role="witness"), PANEL, 2024, period_end="2025-12-31")
    with pytest.raises(TypeError, match="datetime64"):
        cohort_summary(nominals.assign(incident_date=nominals["incident_date"].astype(str)), PANEL, 2024,
                       period_end="2025-12-31")
    with pytest.raises(ValueError, match="person_id"):
        cohort_summary(nominals.drop(columns="person_id"), PANEL, 2024, period_end="2025-12-31")
    with pytest.raises(TypeError, match="wards"):
        cohort_summary(nominals, "W1", 2024, period_end="2025-12-31")
    with pytest.raises(ValueError, match="earlier_years"):
        cohort_summary(nominals, PANEL, 2024, period_end="2025-12-31", earlier_years=[2025])
    with pytest.warns(UserWarning, match="look-back"):
        cohort_summary(nominals, PANEL, 2024, period_end="2025-12-31", earlier_years=[2020])


def test_comparable_needs_both_counts_and_a_finite_interval():
    from assessment.analysis.cohort import cohort_comparable

    comp = pd.DataFrame({"cohort_incidents": [12, 4, 12, 12, 12], "reference_incidents": [30, 30, 30, 30, 5],
                         "rate_ratio": [0.8, 0.8, np.nan, 0.8, 0.8], "ci_lower": [0.4, 0.3, np.nan, 0.0, 0.3],
                         "ci_upper": [1.5, 2.0, np.nan, 2.0, 2.5]})
    assert cohort_comparable(comp, 5).tolist() == [True, False, False, False, True]
    assert cohort_comparable(comp, 6).tolist() == [True, False, False, False, False]
    with pytest.raises(ValueError, match="threshold"):
        cohort_comparable(comp, -1)


def test_summary_dispersion_by_hand_and_the_comparison_divides_by_it():
    # two members of one cohort, followed 100 and 300 days, with 0 and 8 later incidents: rate 8/400 a day,
    # expected 2 and 6; design effect n/(n-1) sum (y - mu)^2 / sum mu = 2 * ((0-2)^2 + (8-6)^2) / 8 = 2 on 1 df
    # (the Pearson chi-square / df would be (0-2)^2/2 + (8-6)^2/6 = 2 + 2/3)
    from assessment.analysis.cohort import _person_dispersion

    members = pd.DataFrame({"group": "panel", "cohort_year": 2025, "person_id": [1, 2], "days": [100.0, 300.0]})
    kept = pd.DataFrame({"group": "panel", "cohort_year": 2025, "person_id": [2] * 8, "crime_ref": range(8)})
    got = _person_dispersion(members, kept, ["group", "cohort_year"]).iloc[0]
    assert got["dispersion"] == pytest.approx(2.0) and got["dispersion_df"] == 1
    summary = pd.DataFrame({
        "cohort": ["panel wards 2025", "panel wards 2024", "rest of area 2025"],
        "group": ["panel", "historical", "rest_of_area"], "cohort_year": [2025, 2024, 2025],
        "n_people": [50, 50, 200], "n_subsequent_incidents": [60, 100, 400], "days_at_risk": [10_000.0] * 2 + [40_000.0],
        "rate_per_1000_days": [6.0, 10.0, 10.0], "ci_lower": [4.0, 8.0, 9.0], "ci_upper": [8.0, 12.0, 11.0],
        "n_follow_up_truncated": [0, 0, 0], "dispersion": [2.0, 2.0, 2.0], "dispersion_df": [49, 49, 199]})
    with_de = cohort_comparison(summary)
    plain = cohort_comparison(summary, design_effect=False)
    assert with_de["design_effect"].tolist() == pytest.approx([2.0, 2.0])
    assert plain["design_effect"].tolist() == [1.0, 1.0]
    assert with_de["rate_ratio"].tolist() == pytest.approx(plain["rate_ratio"].tolist())  # the actual counts' ratio
    # the interval is that of the halved counts: 30 against 50 (earlier years) on the same days
    halved = cohort_comparison(summary.assign(n_subsequent_incidents=[30, 50, 200], dispersion=1.0),
                               design_effect=False)
    assert with_de["ci_lower"].iloc[0] == pytest.approx(halved["ci_lower"].iloc[0])
    assert with_de["p_value"].iloc[0] == pytest.approx(halved["p_value"].iloc[0])
    assert (with_de["ci_upper"] - with_de["ci_lower"] > plain["ci_upper"] - plain["ci_lower"]).all()


def test_summary_design_effect_matches_the_variance_of_a_cohorts_total_over_many_cohorts():
    # people with gamma-distributed rates followed for unequal times: a member's variance is not proportional
    # to their mean, so the design effect of the total is var(total) / E(total), which the estimator must
    # recover on average (the Pearson chi-square / df of the same members understates it)
    from assessment.analysis.cohort import _person_dispersion

    rng = np.random.default_rng(7)
    n_cohorts, n_members = 1000, 150
    days = np.tile(rng.uniform(10, 365, n_members), n_cohorts)
    rate = rng.gamma(0.5, 0.01 / 0.5, n_members * n_cohorts)
    y = rng.poisson(rate * days)
    cohort = np.repeat(np.arange(n_cohorts), n_members)
    person = np.arange(n_members * n_cohorts)
    members = pd.DataFrame({"group": "panel", "cohort_year": cohort, "person_id": person, "days": days})
    kept = pd.DataFrame({"group": "panel", "cohort_year": np.repeat(cohort, y), "person_id": np.repeat(person, y)})
    kept["crime_ref"] = np.arange(len(kept))
    got = _person_dispersion(members, kept, ["group", "cohort_year"])
    totals = np.bincount(cohort, weights=y)
    truth = totals.var(ddof=1) / totals.mean()
    assert got["dispersion"].mean() == pytest.approx(truth, rel=0.1)
    mu = days * (0.01)  # the Pearson form, with the true mean rate: noticeably lower
    pearson = pd.Series((y - mu) ** 2 / mu).groupby(cohort).sum() / (n_members - 1)
    assert pearson.mean() < 0.9 * truth
