"""Peers from public measures: checked against independent numpy computations and invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assessment.analysis.peers import peer_area_measures, peer_nearest, peer_rates, peer_standardise


@pytest.fixture(scope="module")
def national() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 40
    return pd.DataFrame({
        "partnership_code": [f"E22{i:06d}" for i in range(n)],
        "partnership_name": [f"Partnership {i}" for i in range(n)],
        "density_per_km2": rng.lognormal(6, 1.2, n),
        "deprived_share": rng.beta(2, 6, n),
        "young_share": rng.normal(0.11, 0.02, n),
    })


def _z(frame: pd.DataFrame, cols: list[str]) -> np.ndarray:
    x = frame[cols].to_numpy(dtype=float)
    return (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)


def test_nearest_matches_independent_euclidean(national):
    cols = ["density_per_km2", "deprived_share", "young_share"]
    z = _z(national, cols)
    me = 5
    d = np.sqrt(((z - z[me]) ** 2).sum(axis=1))
    d[me] = np.inf
    expect = np.argsort(d, kind="stable")[:7]
    got = peer_nearest(national, national["partnership_code"][me], n=7)
    assert list(got["code"]) == list(national["partnership_code"].to_numpy()[expect])
    assert np.allclose(got["distance"], d[expect])
    assert list(got["rank"]) == list(range(1, 8))
    assert got["name"].iloc[0] == national["partnership_name"].to_numpy()[expect[0]]
    assert np.allclose(got["density_per_km2"], national["density_per_km2"].to_numpy()[expect])


def test_mahalanobis_matches_independent(national):
    cols = ["density_per_km2", "deprived_share", "young_share"]
    z = _z(national, cols)
    vi = np.linalg.inv(np.cov(z, rowvar=False))
    me = 12
    diff = z - z[me]
    d = np.sqrt(np.einsum("ij,jk,ik->i", diff, vi, diff))
    d[me] = np.inf
    expect = np.argsort(d, kind="stable")[:5]
    got = peer_nearest(national, national["partnership_code"][me], n=5, metric="mahalanobis")
    assert list(got["code"]) == list(national["partnership_code"].to_numpy()[expect])
    assert np.allclose(got["distance"], d[expect])


def test_units_do_not_matter_and_zero_weight_drops_a_measure(national):
    code = national["partnership_code"][3]
    base = peer_nearest(national, code, n=7)
    rescaled = national.assign(density_per_km2=national["density_per_km2"] / 100.0)  # people per hectare
    assert list(peer_nearest(rescaled, code, n=7)["code"]) == list(base["code"])
    two = peer_nearest(national, code, n=7, columns=["density_per_km2", "deprived_share"])
    zero = peer_nearest(national, code, n=7, weights={"young_share": 0.0})
    assert list(two["code"]) == list(zero["code"])
    assert np.allclose(two["distance"], zero["distance"])


def test_standardise_is_zscores(national):
    z = peer_standardise(national)
    assert np.allclose(z[["density_per_km2", "deprived_share", "young_share"]].mean(), 0.0)
    assert np.allclose(z[["density_per_km2", "deprived_share", "young_share"]].std(ddof=1), 1.0)


def test_bad_arguments_are_named(national):
    with pytest.raises(ValueError, match="must be in the peer measures table"):
        peer_nearest(national, "E22999999")
    with pytest.raises(ValueError, match="only 39 other"):
        peer_nearest(national, national["partnership_code"][0], n=40)
    with pytest.raises(ValueError, match="whole number"):
        peer_nearest(national, national["partnership_code"][0], n=0)
    with pytest.raises(ValueError, match="metric"):
        peer_nearest(national, national["partnership_code"][0], metric="cosine")


def test_peer_rates_against_the_group(national):
    rng = np.random.default_rng(3)
    codes = national["partnership_code"].tolist()[:10]
    rows = []
    for cat in ("Burglary", "Robbery"):
        for c in codes:
            rows.append({"partnership_code": c, "partnership_name": c, "category": cat,
                         "count": int(rng.integers(10, 500)), "residents": 100000.0,
                         "rate_per_1000_per_year": float(rng.uniform(0.5, 9.0))})
    table = pd.DataFrame(rows)
    me, peers = codes[0], codes[1:8] + ["E22777777"]  # one peer has no police counts
    out = peer_rates(table, me, peers).set_index("category")
    burg = table[(table["category"] == "Burglary") & table["partnership_code"].isin(codes[:8])]
    rates = burg["rate_per_1000_per_year"].to_numpy()
    assert out.loc["Burglary", "n_peers"] == 8
    assert out.loc["Burglary", "group_mean"] == pytest.approx(rates.mean())
    assert out.loc["Burglary", "group_sd"] == pytest.approx(rates.std(ddof=1))
    mine = burg.loc[burg["partnership_code"] == me, "rate_per_1000_per_year"].iloc[0]
    assert out.loc["Burglary", "rate"] == pytest.approx(mine)
    assert out.loc["Burglary", "rank"] == 1 + int((rates > mine).sum())
    assert out.loc["Burglary", "missing_peers"] == "E22777777"


def test_area_measures_by_hand():
    sa = pd.DataFrame({"pop_total": [1000.0, 3000.0, 1000.0], "decile": [1, 5, 2],
                       "pop_16_24": [100.0, 300.0, 200.0]})
    row = peer_area_measures(sa, total="pop_total", area_km2=2.5, decile="decile", young=["pop_16_24"],
                             code="X", name="Y").iloc[0]
    assert row["residents"] == 5000 and row["density_per_km2"] == 2000
    assert row["deprived_share"] == pytest.approx(2000 / 5000)
    assert row["young_share"] == pytest.approx(600 / 5000)
    with pytest.raises(ValueError, match="area_km2"):
        peer_area_measures(sa, total="pop_total", area_km2=0)


def test_strategic_comparison_from_public_measures(demo_document, national, monkeypatch):
    # the demo with no supplied peer group but a national measures table and national police counts:
    # the comparison section computes the peers and compares the rates (a small, separate branch)
    from assessment.documents import strategic_assessment as strategic
    from assessment.reporting import evidence

    doc = demo_document("strategic_assessment")
    code = doc.catalogue.partnership.code
    measures = national.copy()
    measures.loc[0, ["partnership_code", "partnership_name"]] = [code, "Demo"]
    rng = np.random.default_rng(5)
    counts = pd.DataFrame([{"partnership_code": c, "partnership_name": c, "category": "Burglary",
                            "count": 100, "residents": 1e5, "rate_per_1000_per_year": float(rng.uniform(1, 9))}
                           for c in measures["partnership_code"]])
    monkeypatch.setitem(doc.workbench.intake.tables, "pm", measures)
    monkeypatch.setitem(doc.workbench.intake.tables, "nc", counts.astype(str))
    roles = {"peer_measures": "pm", "national_comparison": "nc"}
    monkeypatch.setattr(evidence, "role_dataset", lambda d, role: roles.get(role))
    html = strategic.section_comparison(doc)._repr_html_()
    expect = peer_nearest(measures, code, n=7)
    assert "Most similar partnerships from public measures" in html
    assert all(name in html for name in expect["name"])
    assert "Position among the similar partnerships" in html and "Burglary" in html
