"""Tests for assessment.analysis.harm."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from assessment.analysis.harm import (
    DATA_POLICE_UK_CRIME_TYPES,
    harm_by_area,
    harm_by_category,
    harm_load_weights,
    harm_uncovered_categories,
)


def _events(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cats = ["Shoplifting"] * 50 + ["Burglary"] * 5 + ["Violence and sexual offences"] * 20 + ["Anti-social behaviour"] * 30
    areas = rng.choice(["A", "B", "C"], size=len(cats))
    return pd.DataFrame({"category": cats, "area_code": areas, "is_repeat": False})


def test_shipped_table_covers_all_14_types_with_source_and_note():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = harm_load_weights()
    assert set(w["crime_type"]) == set(DATA_POLICE_UK_CRIME_TYPES)
    assert len(w) == 14
    assert (w[["cchi_days", "css_weight"]] >= 0).all().all()
    assert w["source"].str.len().gt(10).all()
    assert w["note"].str.len().gt(10).all()
    # honest about being illustrative and replaceable
    assert w["note"].str.contains("Replace", case=False).all()
    asb = w.set_index("crime_type").loc["Anti-social behaviour"]
    assert asb["cchi_days"] == 0 and "ASB" in asb["note"]


def test_user_table_validation(tmp_path):
    bad = pd.DataFrame({"crime_type": ["Burglary"], "cchi_days": [-1], "css_weight": [1],
                        "source": ["x"], "note": ["y"]})
    f = tmp_path / "w.csv"
    bad.to_csv(f, index=False)
    with pytest.raises(ValueError, match="cchi_days"):
        harm_load_weights(f)
    bad.drop(columns="note").to_csv(f, index=False)
    with pytest.raises(ValueError, match="note"):
        harm_load_weights(f)
    ok = bad.assign(cchi_days=3)
    ok.to_csv(f, index=False)
    with pytest.warns(UserWarning, match="do not cover"):
        w = harm_load_weights(f)
    assert harm_uncovered_categories(w, ["Burglary", "Drugs"]) == ["Drugs"]
    dup = pd.concat([ok, ok])
    dup.to_csv(f, index=False)
    with pytest.raises(ValueError, match="unique"):
        harm_load_weights(f, categories=None)


def test_harm_by_category_independent_computation_and_invariants():
    ev = _events()
    w = harm_load_weights()
    out = harm_by_category(ev, w, scheme="cchi")
    lookup = dict(zip(w["crime_type"], w["cchi_days"]))
    expected = {"Shoplifting": 50 * lookup["Shoplifting"], "Burglary": 5 * lookup["Burglary"],
                "Violence and sexual offences": 20 * lookup["Violence and sexual offences"],
                "Anti-social behaviour": 0.0}
    got = dict(zip(out["category"], out["harm"]))
    assert got == pytest.approx(expected)
    assert out["volume"].sum() == len(ev)                       # counts conserved
    assert out["harm_share"].sum() == pytest.approx(1.0)
    assert out["volume_share"].sum() == pytest.approx(1.0)
    r = out.set_index("category")
    assert r.loc["Shoplifting", "rank_volume"] == 1
    assert r.loc["Burglary", "rank_harm"] == 1                  # rare but serious
    assert r.loc["Burglary", "rank_shift"] == 4 - 1
    # CSS scheme differs and uses css_weight
    css = harm_by_category(ev, w, scheme="css").set_index("category")
    assert css.loc["Burglary", "harm"] == 5 * w.set_index("crime_type").loc["Burglary", "css_weight"]


def test_missing_weight_reported_and_repeats_excluded():
    ev = pd.DataFrame({"category": ["Burglary", "Burglary", "Made-up type"],
                       "area_code": ["A", "A", "B"], "is_repeat": [False, True, False]})
    with pytest.warns(UserWarning, match="Made-up type"):
        out = harm_by_category(ev)
    r = out.set_index("category")
    assert r.loc["Burglary", "volume"] == 1                     # repeat dropped
    assert bool(r.loc["Made-up type", "weight_missing"])
    assert pd.isna(r.loc["Made-up type", "harm"])
    assert pd.isna(r.loc["Made-up type", "rank_harm"])


def test_harm_by_area_conserves_totals_and_counts_column():
    ev = _events(3)
    by_cat = harm_by_category(ev)
    by_area = harm_by_area(ev)
    assert by_area["harm"].sum() == pytest.approx(by_cat["harm"].sum())
    assert by_area["volume"].sum() == len(ev)
    assert by_area["harm_share"].sum() == pytest.approx(1.0)
    # area-count input gives the same answer as the events
    counts = ev.groupby(["area_code", "category"]).size().rename("count").reset_index()
    by_area2 = harm_by_area(counts, count_col="count")
    pd.testing.assert_frame_equal(by_area.sort_values("area").reset_index(drop=True),
                                  by_area2.sort_values("area").reset_index(drop=True))


def test_bad_arguments():
    with pytest.raises(TypeError):
        harm_by_category([1, 2])
    with pytest.raises(ValueError, match="scheme"):
        harm_by_category(_events(), scheme="bogus")
    with pytest.raises(ValueError, match="count"):
        harm_by_area(pd.DataFrame({"area_code": ["A"], "category": ["Drugs"], "count": [-2]}), count_col="count")
