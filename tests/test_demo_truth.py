"""Acceptance (issue 6): on the generated Riverton demo the analysis finds the planted truth.

The planted patterns are documented in docs/DEMO_DATA.md ("Planted patterns"). Every check
goes through the functions the documents use (``assessment.reporting.evidence`` on a
strategic-assessment document, or the analysis functions on the document's workbench
events); expected values come from the generator's documented truth or from an independent
computation here (numpy distances, raw counts), never from the functions' own earlier output.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from assessment.analysis import hotspots, trends
from assessment.reporting import evidence as ev

TOWN_CENTRE = (439500.0, 290200.0)  # planted violence / public-order hotspot, radius about 400 m
BURGLARY_CLUSTER = (443000.0, 287000.0)  # planted year-3 burglary cluster, radius about 350 m
VIOLENCE = "Violence and sexual offences"
PUBLIC_ORDER = "Public order"
ASB = "Anti-social behaviour"
VEHICLE = "Vehicle crime"
BURGLARY = "Burglary"

# a few map points lie just outside the partnership (documented in DEMO_DATA.md); intake keeps them
pytestmark = pytest.mark.filterwarnings("ignore:.*lie outside the grid and were not counted:UserWarning")


@pytest.fixture(scope="module")
def doc(demo_document):
    """The strategic assessment opened on the freshly generated demo (evidence cached on it)."""
    return demo_document("strategic_assessment")


@pytest.fixture(scope="module")
def monthly(doc) -> pd.DataFrame:
    """Monthly police counts per crime type over the window, built directly with trend_monthly."""
    start, end = ev.window(doc)
    return trends.trend_monthly(doc.workbench.dataset_events("police_street"), start, end, by="category")


def _series(monthly: pd.DataFrame, category: str) -> pd.Series:
    sub = monthly[monthly["category"] == category]
    return pd.Series(sub["count"].to_numpy(), index=sub["month"].to_numpy())


def _distance(frame: pd.DataFrame, point: tuple[float, float], x: str = "x", y: str = "y") -> np.ndarray:
    return np.hypot(frame[x].to_numpy(float) - point[0], frame[y].to_numpy(float) - point[1])


def _catalogue_break(doc, category: str) -> list[str]:
    months = [b.month for b in doc.catalogue.breaks_for("police_street", category)]
    assert months == ["2024-04"], f"the demo catalogue declares the counting-rule break for {category}"
    return months


# ------------------------------------------------------------------------------- hotspots

@pytest.mark.parametrize("category", [VIOLENCE, PUBLIC_ORDER])
def test_town_centre_hotspot_is_found_by_corrected_gistar(doc, category):
    gi = ev.evidence_hotspots(doc, [category])
    assert gi.attrs["hotspot_gistar"]["correction"] == "fdr_bh"
    hot = gi[gi["hotspot"] == "hot"]
    near = _distance(hot, TOWN_CENTRE) <= 300
    assert near.any(), f"no significant hot cell within 300 m of the town centre for {category}"
    assert (hot.loc[near, "p_adjusted"] < 0.05).all()
    # the hotspot peaks at the town centre: the strongest cell of the whole grid is there
    top = gi.loc[gi["gi_z"].idxmax()]
    assert np.hypot(top["x"] - TOWN_CENTRE[0], top["y"] - TOWN_CENTRE[1]) <= 300
    # independent recount of the strongest cell's neighbourhood (itself + queen neighbours)
    pts = ev.points_of(ev.evidence_police(doc))
    pts = pts[(pts["category"] == category) & pts["month"].isin(ev.last_year(doc))]
    half = 1.5 * gi.attrs["hotspot_grid"]["cell_size"]
    inside = (np.abs(pts["easting"] - top["x"]) < half) & (np.abs(pts["northing"] - top["y"]) < half)
    assert int(inside.sum()) == int(top["neighbourhood_count"])
    assert top["neighbourhood_count"] > 3 * top["neighbourhood_expected"]


def test_town_centre_violence_hotspot_survives_population_adjustment(doc):
    counts = ev.hotspot_count_grid(doc, [VIOLENCE])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rate = hotspots.hotspot_rate(counts, doc.workbench.small_areas, population_col="population")
    hot = rate[rate["hotspot"] == "hot"]
    near = _distance(hot, TOWN_CENTRE) <= 300
    assert near.any(), "population-adjusted Gi* does not flag the town centre"
    assert (hot.loc[near, "excess"] > 0).all()
    assert ((rate["p_value"] >= 0) & (rate["p_value"] <= 1)).all()
    # population is conserved onto the grid (small areas tile the partnership)
    assert rate["population"].sum() == pytest.approx(doc.workbench.small_areas["population"].sum(), rel=1e-6)


def test_town_centre_violence_is_persistent_not_emerging(doc):
    classes = ev.evidence_hotspot_classes(doc, [VIOLENCE])
    near = classes[_distance(classes, TOWN_CENTRE) <= 300]
    assert len(near) and (near["pattern"] == "persistent").all()


def test_year_three_burglary_cluster_is_classified_emerging(doc):
    classes = ev.evidence_hotspot_classes(doc, [BURGLARY])
    emerging = classes[classes["pattern"] == "emerging"]
    assert len(emerging) >= 1, "no emerging burglary cells"
    d = _distance(emerging, BURGLARY_CLUSTER)
    assert (d <= 800).all(), f"emerging burglary cells away from the planted cluster: {np.sort(d).round()}"
    assert (d <= 350).any()
    assert (emerging["hot_latest"]).all() and (emerging["increase_ratio"] > 1).all()
    assert (emerging["p_increase_adjusted"] < 0.05).all()
    # the year labels are the window's three years, latest last
    assert [c for c in classes.columns if re.fullmatch(r"hot_\d{4}", c)] == ["hot_2023", "hot_2024", "hot_2025"]


def test_recommended_priorities_name_burglary_and_violence_with_their_hotspots(doc):
    rec = ev.evidence_recommended(doc).set_index("issue")
    assert {BURGLARY, VIOLENCE} <= set(rec.index), f"recommended: {list(rec.index)}"
    police = ev.evidence_police(doc)

    def at_place(place: str, category: str, point) -> float:
        street = re.sub(r" \([^)]* ward\)$", "", place)  # places read "<street> (<ward> ward)"
        e = police[(police["category"] == category) & (police["location"] == f"On or near {street}")]
        assert len(e), f"{place!r} is not a location of any {category} event"
        return float(np.median(_distance(e, point, "easting", "northing")))

    burglary = rec.loc[BURGLARY]
    assert burglary["emerging_cells"] > 0
    assert "emerging hotspot" in burglary["evidence"]
    assert burglary["emerging_place"] and f"around {burglary['emerging_place']}" in burglary["evidence"]
    assert at_place(burglary["emerging_place"], BURGLARY, BURGLARY_CLUSTER) <= 800

    violence = rec.loc[VIOLENCE]
    assert violence["hot_cells"] > 0
    assert "statistically significant hotspot" in violence["evidence"]
    assert violence["hot_place"] and f"around {violence['hot_place']}" in violence["evidence"]
    assert at_place(violence["hot_place"], VIOLENCE, TOWN_CENTRE) <= 800
    # the break is explained, not claimed as a trend
    assert "it is not a trend" in violence["evidence"]


# ------------------------------------------------------------------------------- trends

def test_summer_asb_seasonality_is_significant(doc, monthly):
    series = _series(monthly, ASB)
    assert len(series) == 36
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        season = trends.trend_seasonality(series).iloc[0]
    assert season["p_value"] < 0.05 and season["summer_winter_p"] < 0.05
    assert season["summer_winter_ratio"] > 1 and season["ci_low"] > 1
    assert season["peak_month"] in (6, 7, 8)
    # planted: June-August about 1.5 x the winter level; independent raw ratio of month totals
    moy = pd.PeriodIndex(series.index, freq="M").month
    raw_ratio = series[np.isin(moy, [6, 7, 8])].sum() / series[np.isin(moy, [12, 1, 2])].sum()
    assert 1.3 < raw_ratio < 1.7
    assert abs(np.log(season["summer_winter_ratio"] / raw_ratio)) < 0.1
    # the document's evidence reports the same test
    assert ev.evidence_seasonality(doc)["p_value"].iloc[0] == pytest.approx(season["p_value"], abs=1e-12)


def test_vehicle_crime_fall_is_significant(doc, monthly):
    series = _series(monthly, VEHICLE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trend = trends.trend_glm(series).iloc[0]
    assert trend["term"] == "trend"
    assert trend["estimate_pct"] < 0 and trend["p_value"] < 0.05
    assert trend["ci_high"] < 0
    assert -25 < trend["estimate_pct"] < -5  # planted: about 15% a year
    # independent: each calendar year's total is below the previous one
    years = series.groupby(series.index.str[:4]).sum()
    assert (np.diff(years.to_numpy()) < 0).all()
    row = ev.evidence_category_trends(doc).set_index("category").loc[VEHICLE]
    assert row["trend_pct"] < 0 and row["trend_p"] < 0.05
    assert "statistically significant" in row["trend_sentence"]


def test_series_break_is_not_reported_as_a_trend(doc, monthly):
    brk = _catalogue_break(doc, PUBLIC_ORDER)
    series = _series(monthly, PUBLIC_ORDER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with_break = trends.trend_glm(series, breaks=brk).set_index("term")
        without = trends.trend_glm(series, autocorrelation=False).set_index("term")
        without_default = trends.trend_glm(series).set_index("term")
    assert with_break.loc["trend", "p_value"] >= 0.05
    assert with_break.loc["step", "month"] == "2024-04"
    assert with_break.loc["step", "p_value"] < 0.05 and with_break.loc["step", "estimate_pct"] > 0
    assert 15 < with_break.loc["step", "estimate_pct"] < 70  # planted: a step up of about 40%
    # control: ignoring the declared break (months treated as independent) turns the step into a
    # spurious significant trend; the default autocorrelation allowance sees the misfit as
    # correlated residuals and, with its effective-sample-size t reference, is more cautious
    assert without.loc["trend", "p_value"] < 0.05 and without.loc["trend", "estimate_pct"] > 0
    assert "step" not in without.index
    assert without_default.loc["trend", "estimate_pct"] > 0
    assert without_default.loc["trend", "autocorrelation"] > 0
    # the document uses the catalogue's break and says so
    row = ev.evidence_category_trends(doc).set_index("category").loc[PUBLIC_ORDER]
    assert row["break_months"] == "2024-04"
    assert row["trend_p"] >= 0.05 and row["step_p"] < 0.05
    assert "it is not a trend" in row["trend_sentence"]
    assert "within normal variation" in row["trend_sentence"]


def test_violence_break_is_a_step_down_not_a_trend(doc, monthly):
    brk = _catalogue_break(doc, VIOLENCE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        glm = trends.trend_glm(_series(monthly, VIOLENCE), breaks=brk).set_index("term")
    assert glm.loc["trend", "p_value"] >= 0.05
    assert glm.loc["step", "p_value"] < 0.05 and glm.loc["step", "estimate_pct"] < 0


# ------------------------------------------------------------------------------- p-values

P_COLUMN = re.compile(r"(^|_)p($|_)|^p_value|p_adjusted|p_increase")


def test_every_p_value_in_the_evidence_frames_lies_in_0_1(doc):
    # build every evidence frame that carries p-values (cached, so cheap after the tests above)
    frames = {
        "category_trends": ev.evidence_category_trends(doc),
        "seasonality": ev.evidence_seasonality(doc),
        "priorities": ev.evidence_priorities(doc),
        "recommended": ev.evidence_recommended(doc),
        "ward_rates": ev.evidence_ward_rates(doc),
    }
    # every other evidence frame built so far: kept on the workbench (shared by an edition's documents)
    for key, value in [*ev._evidence_store(doc).items(), *doc.cache.items()]:
        if isinstance(value, pd.DataFrame):
            frames.setdefault(key, value)
    checked = set()
    for name, frame in frames.items():
        for col in frame.columns:
            if not P_COLUMN.search(str(col)):
                continue
            values = pd.to_numeric(frame[col], errors="coerce")
            assert values.notna().any(), f"{name}.{col} holds no p-value"
            bad = values[(values < 0) | (values > 1)]
            assert bad.empty, f"{name}.{col} has p-values outside [0, 1]: {bad.head().tolist()}"
            checked.add(col)
    expected = {"yoy_p", "trend_p", "step_p", "p_value", "summer_winter_p", "p_adjusted", "p_increase",
                "p_increase_adjusted"}
    assert expected <= checked, f"p-value columns not found: {expected - checked}"
