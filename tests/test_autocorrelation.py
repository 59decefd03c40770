"""Tests for Moran's I against the published Columbus value."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from assessment.analysis.autocorrelation import autocorrelation_moran


def _columbus_path() -> Path | None:
    """The Columbus shapefile bundled with libpysal (no download)."""
    import libpysal

    bundled = Path(libpysal.__file__).parent / "examples" / "columbus" / "columbus.shp"
    return bundled if bundled.exists() else None


@pytest.fixture(scope="module")
def columbus():
    path = _columbus_path()
    if path is None:
        pytest.skip("libpysal's bundled Columbus example (examples/columbus/columbus.shp) is absent")
    return gpd.read_file(path)


def test_columbus_crime_moran_is_published_value(columbus):
    # Anselin (1988) Columbus: Moran's I for CRIME, queen contiguity, row-standardised = 0.5002
    res = autocorrelation_moran(columbus, "CRIME", weights="queen", transform="r", permutations=99, seed=1)
    assert round(res["moran_i"].item(), 4) == 0.5002
    assert res["n"].item() == 49
    assert res["expected_i"].item() == pytest.approx(-1 / 48)
    for col in ("p_norm", "p_rand", "p_sim"):
        assert 0 <= res[col].item() <= 1
    assert res["p_norm"].item() < 0.001


def test_moran_matches_independent_formula(columbus):
    from libpysal.weights import Queen

    w = Queen.from_dataframe(columbus, use_index=False)
    w.transform = "r"
    W = w.full()[0]
    y = columbus["CRIME"].to_numpy(float)
    z = y - y.mean()
    expected = len(y) / W.sum() * (z @ W @ z) / (z @ z)
    res = autocorrelation_moran(columbus, "CRIME", permutations=0)
    assert res["moran_i"].item() == pytest.approx(expected)
    assert np.isnan(res["p_sim"].item())


def test_checkerboard_is_negative():
    cells = [shapely.box(i, j, i + 1, j + 1) for i in range(6) for j in range(6)]
    value = [(i + j) % 2 for i in range(6) for j in range(6)]
    gdf = gpd.GeoDataFrame({"v": value}, geometry=cells)
    res = autocorrelation_moran(gdf, "v", weights="rook", permutations=0)
    assert res["moran_i"].item() == pytest.approx(-1.0)


def test_bad_input(columbus):
    with pytest.raises(ValueError, match="must have column"):
        autocorrelation_moran(columbus, "NOPE")
    with pytest.raises(ValueError, match="`weights` must be one of"):
        autocorrelation_moran(columbus, "CRIME", weights="knn")
    bad = columbus.assign(CRIME=columbus["CRIME"].where(columbus.index != 3))
    with pytest.raises(ValueError, match="must be numeric with no missing values"):
        autocorrelation_moran(bad, "CRIME")
    with pytest.raises(TypeError, match="must be GeoDataFrame"):
        autocorrelation_moran(columbus.drop(columns="geometry").copy(), "CRIME")
