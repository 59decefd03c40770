"""Tests for assessment.analysis.wording: exact sentences for fixed inputs, and
sentences built from seeded synthetic results with known truth."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from assessment.analysis import trends as T
from assessment.analysis import wording as W

MONTHS = list(pd.period_range("2023-01", "2025-12", freq="M").strftime("%Y-%m"))


@pytest.mark.parametrize("p,text", [
    (0.0, "p < 0.001"), (0.0004, "p < 0.001"), (0.001, "p < 0.01"), (0.0099, "p < 0.01"),
    (0.03, "p = 0.03"), (0.049, "p = 0.049"), (0.0496, "p = 0.0496"), (0.0504, "p = 0.0504"),
    (0.41, "p = 0.41"), (0.1, "p = 0.10"), (0.995, "p > 0.99"), (1.0, "p > 0.99"), (np.nan, "p not available"),
])
def test_describe_p(p, text):
    assert W.describe_p(p) == text


def test_describe_p_vectorised_and_validation():
    s = pd.Series([0.2, 0.002], index=["a", "b"])
    out = W.describe_p(s)
    assert out.to_dict() == {"a": "p = 0.20", "b": "p < 0.01"}
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        W.describe_p(1.2)


def test_describe_change_examples():
    assert W.describe_change(4.2, 0.41) == "up 4%, within normal variation (p = 0.41)"
    assert W.describe_change(23.0, 0.004) == "up 23%, statistically significant (p < 0.01)"
    assert W.describe_change(-12.4, 0.03) == "down 12%, statistically significant (p = 0.03)"
    assert W.describe_change(-3.0, 0.7, n=7) == "too few events to judge a change (n = 7)"
    assert W.describe_change(0.0, 1.0) == "unchanged, within normal variation (p > 0.99)"
    assert W.describe_change(0.3, 0.9) == "up less than 1%, within normal variation (p = 0.90)"
    assert W.describe_change(np.inf, 0.001, n=12).startswith("up from zero, statistically significant")
    # a large but non-significant change is never called significant
    assert "within normal variation" in W.describe_change(60.0, 0.2)


def test_describe_change_vectorised_keeps_index():
    pct = pd.Series([4.2, -30.0], index=["Burglary", "Robbery"])
    out = W.describe_change(pct, [0.41, 0.0001], n=[200, 300])
    assert out.index.tolist() == ["Burglary", "Robbery"]
    assert out["Robbery"] == "down 30%, statistically significant (p < 0.001)"


def test_describe_year_on_year_from_trend_output():
    monthly = pd.DataFrame({"month": MONTHS[:24], "category": "a", "count": [10] * 12 + [20] * 12})
    yoy = T.trend_year_on_year(monthly, "2024-12")
    text = W.describe_year_on_year(yoy).iloc[0]
    assert text.startswith("240 in 2024-01 to 2024-12 against 120 a year earlier: up 100%, statistically significant")
    small = pd.DataFrame({"month": MONTHS[:24], "category": "a", "count": [0] * 11 + [3] + [0] * 11 + [4]})
    assert W.describe_year_on_year(T.trend_year_on_year(small, "2024-12")).iloc[0].endswith(
        "too few events to judge a change (n = 7)")


def test_describe_break_wording():
    # without a test, the step is an estimate and is said to be untested
    assert W.describe_break("2024-04", 41.3, "counting rule change") == (
        "a series break in 2024-04 (counting rule change) comes with an estimated step of +41% (not tested); "
        "it is not a trend")
    assert W.describe_break("2024-04", 41.3, "counting rule change", p_value=0.0001).endswith(
        "step of +41% (p < 0.001); it is not a trend")
    assert W.describe_break("2024-04", 5.0, None, p_value=0.62) == (
        "a series break in 2024-04 shows no clear step (+5%, within normal variation, p = 0.62); "
        "it is not counted as a trend")


def test_describe_trend_on_planted_break_says_step_not_trend():
    rng = np.random.default_rng(6)
    months = np.array(MONTHS)
    s = pd.Series(rng.poisson(np.where(months >= "2024-04", 70.0, 50.0)), index=MONTHS)
    glm = T.trend_glm(s, breaks=["2024-04"])
    text = W.describe_trend(glm, T.trend_breaks({"2024-04": "counting rule change"}))
    assert text.startswith("no clear trend (")
    assert "allowing for season and the series break" in text
    assert "a series break in 2024-04 (counting rule change) accounts for a step of +" in text
    assert text.endswith("it is not a trend")


def test_describe_trend_planted_fall_and_small_series():
    rng = np.random.default_rng(3)
    s = pd.Series(rng.poisson(60 * 0.85 ** (np.arange(36) / 12)), index=MONTHS)
    text = W.describe_trend(T.trend_glm(s))
    assert text.startswith("falling by about 1")
    assert "statistically significant (p < 0.001)" in text
    tiny = pd.Series([1] * 12 + [0] * 21 + [1, 1, 1], index=MONTHS)  # 15 events
    glm = T.trend_glm(tiny)
    assert W.describe_trend(glm) == "too few events to judge a trend (n = 15)"


def test_describe_seasonality_and_exceptions():
    rng = np.random.default_rng(2)
    moy = pd.PeriodIndex(MONTHS, freq="M").month.to_numpy()
    s = pd.Series(rng.poisson(np.where(np.isin(moy, [6, 7, 8]), 60.0, 40.0)), index=MONTHS)
    text = W.describe_seasonality(T.trend_seasonality(s))
    assert text.startswith("a clear seasonal pattern (p < 0.001): summer months run at 1.")
    assert any(m in text for m in ("June", "July", "August"))
    flat = pd.Series(rng.poisson(40.0, 36), index=MONTHS)
    res = T.trend_seasonality(flat)
    if res["p_value"].item() >= 0.05:
        assert W.describe_seasonality(res).startswith("no clear seasonal pattern (p = ")
    ex = pd.DataFrame({"month": ["2024-07", "2024-08"], "observed": [85, 50], "expected": [52.2, 49.0],
                       "flag": ["high", ""]})
    assert W.describe_exceptions(ex) == (
        "1 exceptional month outside the 99.8% control limits: 2024-07 (high: 85 against 52 expected)")
    assert W.describe_exceptions(ex.iloc[[1]]) == "no month was outside the 99.8% control limits"


def test_describe_comparison_and_peer_position():
    out = W.describe_comparison(pd.Series(["higher", "similar", "lower", "not compared"]), "the partnership")
    assert out.tolist() == ["significantly higher than the partnership", "similar to the partnership",
                            "significantly lower than the partnership", "not compared (no interval)"]
    with pytest.raises(ValueError, match="must be one of"):
        W.describe_comparison("bigger")
    text = W.describe_peer_position("Riverton", 12.34, 3, 15, 10.1, 6.0, 14.2, "within")
    assert text == ("Riverton's rate of 12.3 per 1,000 population is the 3rd highest of 15 in its most similar "
                    "group (group mean 10.1; usual range 6.0 to 14.2, mean ± 1.96 SD). "
                    "It is within the group's usual range.")
    assert "the 5th lowest of 15" in W.describe_peer_position("X", 1, 11, 15, 1, 0, 2, "below")  # counted from the nearer end


def test_change_without_a_p_value_is_not_tested():
    assert W.describe_change(12.0, float("nan")) == "up 12% (not tested)"


def test_verdicts_decide_on_the_adjusted_p_value_and_the_sentence_follows():
    from assessment.analysis.wording import verdict_change, verdict_seasonality, verdict_trend, verdict_year_on_year

    glm = pd.DataFrame([{"term": "trend", "month": None, "estimate_pct": 8.0, "ci_low": 2.0, "ci_high": 14.0,
                         "p_value": 0.01, "total": 500, "seasonal": True}])
    assert verdict_trend(glm) == "rising"
    adjusted = glm.assign(p_adjusted=0.12)  # e.g. the 3rd smallest of 14 crime types
    assert verdict_trend(adjusted) == "no clear trend"
    text = W.describe_trend(adjusted)
    assert text.startswith("no clear trend") and "adjusted p = 0.12" in text
    yoy = pd.DataFrame({"current": [300, 300], "previous": [240, 240], "current_period": ["2025-01 to 2025-12"] * 2,
                        "pct_change": [25.0, 25.0], "p_value": [0.004, 0.004], "p_adjusted": [0.004, 0.2]})
    assert verdict_year_on_year(yoy).tolist() == ["significant rise", "within normal variation"]
    sentences = W.describe_year_on_year(yoy)
    assert "statistically significant (adjusted p < 0.01)" in sentences.iloc[0]
    assert "within normal variation (adjusted p = 0.20)" in sentences.iloc[1]
    assert verdict_seasonality(pd.DataFrame({"p_value": [np.nan]})) == "not tested"
    assert verdict_change(-10.0, 0.01, n=5) == "too few events"
    assert verdict_change(-10.0, 0.01, n=500) == "significant fall"


def test_verdict_trend_family_adjusts_across_the_family_by_hand():
    """Benjamini-Hochberg by hand: sorted p 0.001, 0.02, 0.04, 0.5 of four tested members give
    q = 0.004, 0.04, 0.0533 (= 0.04 x 4 / 3), 0.5; the untested member stays out of the family."""
    fam = pd.DataFrame({"trend_pct": [12.0, -7.0, 5.0, 1.0, 3.0], "trend_p": [0.001, 0.02, 0.04, 0.5, np.nan]},
                       index=[10, 11, 12, 13, 14])
    got = W.verdict_trend_family(fam)
    assert got.name == "verdict" and list(got.index) == [10, 11, 12, 13, 14]
    # the third has raw p = 0.04 < 0.05 but adjusted 0.053: not named
    assert got.tolist() == ["rising", "falling", "no clear trend", "no clear trend", "not tested"]
    assert W.verdict_trend_family(fam, alpha=0.06).tolist()[2] == "rising"


def test_verdict_change_family_names_wards_by_adjusted_p_and_sign():
    """The same Benjamini-Hochberg family as above, worded for a change between two periods."""
    fam = pd.DataFrame({"pct_change": [12.0, -7.0, 5.0, 1.0, 3.0], "p_value": [0.001, 0.02, 0.04, 0.5, np.nan]},
                       index=[10, 11, 12, 13, 14])
    got = W.verdict_change_family(fam)
    assert got.name == "verdict" and list(got.index) == [10, 11, 12, 13, 14]
    assert got.tolist() == ["rose", "fell", "no significant change", "no significant change", "not tested"]
    assert W.verdict_change_family(fam.assign(pct_change=-fam["pct_change"])).tolist()[:2] == ["fell", "rose"]
    with pytest.raises(ValueError, match="p_value"):
        W.verdict_change_family(fam.drop(columns="p_value"))

def test_verdict_trend_family_depends_on_the_family_size():
    alone = pd.DataFrame({"trend_pct": [9.0], "trend_p": [0.02]})
    assert W.verdict_trend_family(alone).tolist() == ["rising"]
    # the same type among 13 with no trend: adjusted p = 0.02 x 14 = 0.28
    fam = pd.DataFrame({"trend_pct": [9.0] + [1.0] * 13, "trend_p": [0.02] + [0.9] * 13})
    assert W.verdict_trend_family(fam).tolist() == ["no clear trend"] * 14
    with pytest.raises(ValueError, match="trend_p"):
        W.verdict_trend_family(pd.DataFrame({"trend_pct": [1.0]}))


def test_describe_break_from_or_to_nothing_recorded():
    assert W.describe_break("2024-04", np.inf, "new category", p_value=0.0001) == (
        "a series break in 2024-04 (new category): nothing was recorded before it, so the step up is too large "
        "to put as a percentage (p < 0.001); it is not a trend")
    assert W.describe_break("2024-04", -100.0, None, p_value=0.002).startswith(
        "a series break in 2024-04: nothing was recorded from it on, a fall of 100% (p < 0.01)")
    assert "within normal variation (p = 0.41)" in W.describe_break("2024-04", np.inf, p_value=0.41)
    assert W.describe_break("2024-04", np.inf).endswith("nothing was recorded before it (not tested); it is not a trend")
    assert "inf" not in W.describe_break("2024-04", np.inf, p_value=0.01)


def test_describe_break_with_nothing_either_side_and_a_trend_from_too_few_months():
    assert W.describe_break("2023-07", np.nan, None, np.nan, empty_side="both") == (
        "a series break in 2023-07: nothing was recorded on either side of it, so there is no step to test; "
        "it is not a trend")
    y = np.r_[np.zeros(34, int), [40, 45]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        glm = T.trend_glm(pd.Series(y, index=MONTHS), breaks=["2025-11"])
    assert W.verdict_trend(glm) == "too few events"
    text = W.describe_trend(glm)
    assert text.startswith("too few months with anything recorded to judge a trend; a series break in 2025-11: "
                           "nothing was recorded before it") and "nan" not in text
