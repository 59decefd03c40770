"""Fast calibration of the survey statement (seeded; docs/VALIDATION.md has more runs).

The simulations are described in :mod:`assessment.calibration.survey`.
"""

import numpy as np
import pytest

from assessment.calibration import MODULES
from assessment.calibration import survey as cal

from _calibration import row_of  # tests/_calibration.py


@pytest.fixture(scope="module")
def table():
    return cal.results(n_runs=60, seed=20261206).set_index(["statement", "scenario"])


def _row(table, start, scenario):
    return row_of(table, cal.SCENARIOS, start, scenario)


def test_module_is_registered_and_uses_the_audits_minimum():
    from assessment.documents.audit import MIN_RELIABLE_N

    assert "survey" in MODULES
    assert cal.MIN_N == MIN_RELIABLE_N


@pytest.mark.parametrize("clustered, deff", [(False, 1.0), (True, 2.0)])
def test_answers_have_the_stated_design_effect(clustered, deff):
    a = cal.simulate_answers(np.random.default_rng(0), np.full(1500, 100), np.full(1500, 0.6), clustered=clustered)
    share = a["safe_after_dark"].isin(["Very safe", "Fairly safe"]).groupby(a["ward_code"]).mean()
    assert share.mean() == pytest.approx(0.6, abs=0.01)
    assert share.var() / (0.24 / 100) == pytest.approx(deff, rel=0.15)


def test_wilson_comparison_holds_on_random_samples_and_with_the_design_effect_on_clustered_ones(table):
    label = 'ward where "significantly fewer residents feel safe" (95% Wilson interval, 30 answers or more)'
    assumed = f"{label}, {cal.DECISIONS['assumed']}: share"
    srs = _row(table, assumed, "srs")
    assert srs["rate"] <= 0.035 and srs["holds"]
    plain = _row(table, assumed, "clustered")  # the plain interval on clustered answers: reported, too liberal
    assert plain["rate"] > 0.035 and np.isnan(plain["limit"])
    for decision in ("declared", "estimated"):
        allowed = _row(table, f"{label}, {cal.DECISIONS[decision]}: share", "clustered")
        assert allowed["limit"] == 0.035 and allowed["holds"] and allowed["rate"] < plain["rate"]
    assert _row(table, f"{label}, {cal.DECISIONS['estimated']}: share", "srs")["holds"]
    assert _row(table, f"power: {label}, {cal.DECISIONS['assumed']}", "low")["rate"] > 0.6
    clustered_power = _row(table, f"power: {label}, {cal.DECISIONS['estimated']}", "low_clustered")["rate"]
    assert 0.2 < clustered_power < _row(table, f"power: {label}, {cal.DECISIONS['assumed']}", "low_clustered")["rate"]


def test_every_answer_carries_its_group_as_its_sampling_point():
    n = np.array([12, 7])
    a = cal.simulate_answers(np.random.default_rng(1), n, np.full(2, 0.6), clustered=True)
    sizes = a.groupby(["ward_code", "sampling_point"]).size()
    assert sizes.tolist() == [5, 5, 2, 5, 2]
    assert a.groupby("sampling_point")["ward_code"].nunique().eq(1).all()


def test_weighted_answers_have_the_stated_weighting_effect():
    a = cal.simulate_answers(np.random.default_rng(5), np.full(200, 100), np.full(200, 0.6), weighted=True)
    w = a["weight"]
    assert len(w) * (w ** 2).sum() / w.sum() ** 2 == pytest.approx(np.exp(cal.WEIGHT_SD ** 2), rel=0.05)
    assert "weight" not in cal.simulate_answers(np.random.default_rng(5), np.full(3, 10), np.full(3, 0.6))


def test_weighted_shares_hold_with_kishs_effective_n_and_not_with_the_plain_n(table):
    label = 'ward where "significantly fewer residents feel safe" (95% Wilson interval, 30 answers or more)'
    kish = _row(table, f"{label}, {cal.DECISIONS['weighted']}: share", "weighted")
    plain = _row(table, f"{label}, {cal.DECISIONS['weighted_plain_n']}: share", "weighted")
    assert kish["limit"] == 0.035 and kish["holds"]
    assert np.isnan(plain["limit"]) and plain["rate"] > kish["rate"]
    assert _row(table, f"power: {label}, {cal.DECISIONS['weighted']}", "low_weighted")["rate"] > 0.4
