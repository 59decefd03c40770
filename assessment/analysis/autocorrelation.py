"""Global spatial autocorrelation: Moran's I over areas.

References
----------
Moran, P. A. P. (1950). Notes on continuous stochastic phenomena. Biometrika 37, 17-23.
Cliff, A. D. & Ord, J. K. (1981). Spatial Processes: Models and Applications. Pion, London.
Anselin, L. (1988). Spatial Econometrics: Methods and Models. Kluwer (the Columbus data).
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd

from assessment.checks import check_choice, check_dataframe, check_type

__all__ = ["autocorrelation_moran"]


def autocorrelation_moran(gdf: gpd.GeoDataFrame, column: str, weights="queen", transform: str = "r",
                          permutations: int = 999, seed: int | None = None) -> pd.DataFrame:
    """Moran's I for one variable over areas, with analytic and permutation inference.

    Parameters
    ----------
    gdf : GeoDataFrame
        Areas (polygons) with the variable; any CRS, or none (contiguity does not measure
        distance).
    column : str
        Numeric column to test; missing values are not allowed.
    weights : {'queen', 'rook'} or libpysal.weights.W, default 'queen'
        Contiguity weights built with ``libpysal.weights.Queen/Rook.from_dataframe``, or a
        prebuilt W aligned with the rows of ``gdf``.
    transform : {'r', 'b'}, default 'r'
        Row-standardised ('r') or binary ('b') weights.
    permutations : int, default 999
        Random permutations for the pseudo p-value (0 for none).
    seed : int, optional
        Seeds numpy's global generator before the permutations (esda draws from it).

    Returns
    -------
    DataFrame
        One row:

        - ``n`` (int): areas.
        - ``moran_i`` (float): Moran's I.
        - ``expected_i`` (float): its expectation under no autocorrelation, ``-1 / (n - 1)``.
        - ``z_norm`` (float), ``p_norm`` (float): z and two-sided p-value under the normality
          assumption.
        - ``z_rand`` (float), ``p_rand`` (float): the same under the randomisation assumption.
        - ``p_sim`` (float): one-sided pseudo p-value from the permutations (NaN with 0).

        All p-values are in [0, 1].

    Notes
    -----
    Moran's I (Moran 1950) with the moments of Cliff & Ord (1981), computed by
    ``esda.Moran``. Islands (areas with no neighbour) get a warning from libpysal and are kept.
    Check: for CRIME on the Columbus neighbourhoods (Anselin 1988) with queen, row-standardised
    weights, I = 0.5002 (the published value, reproduced in the tests).
    """
    import esda
    from libpysal.weights import Queen, Rook, W

    check_type(gdf, "gdf", gpd.GeoDataFrame)
    check_dataframe(gdf, "gdf", (column,))
    check_choice(transform, "transform", ("r", "b", "R", "B"))
    if isinstance(permutations, bool) or not isinstance(permutations, (int, np.integer)) or permutations < 0:
        raise ValueError(f"`permutations` must be a whole number of 0 or more, got {permutations!r}")
    y = pd.to_numeric(gdf[column], errors="coerce")
    if y.isna().any():
        first = gdf.index[y.isna().to_numpy()][0]
        raise ValueError(f"`{column}` must be numeric with no missing values, got {gdf.loc[first, column]!r}"
                         f" at row {first!r} in gdf; hint: drop or impute missing areas first")
    if len(gdf) < 3:
        raise ValueError(f"`gdf` must have at least 3 areas for Moran's I, got {len(gdf)}")
    if isinstance(weights, W):
        if weights.n != len(gdf):
            raise ValueError(f"`weights` must have one row per area ({len(gdf)}), got {weights.n}")
        w = weights
    else:
        check_choice(weights, "weights", ("queen", "rook"))
        builder = Queen if weights == "queen" else Rook
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            w = builder.from_dataframe(gdf, use_index=False)
    w.transform = transform.lower()
    if seed is not None:
        np.random.seed(seed)
    mi = esda.Moran(y.to_numpy(float), w, transformation=transform.lower(), permutations=permutations,
                    two_tailed=True)
    return pd.DataFrame([{
        "n": int(mi.n),
        "moran_i": float(mi.I),
        "expected_i": float(mi.EI),
        "z_norm": float(mi.z_norm),
        "p_norm": float(np.clip(mi.p_norm, 0, 1)),
        "z_rand": float(mi.z_rand),
        "p_rand": float(np.clip(mi.p_rand, 0, 1)),
        "p_sim": float(np.clip(mi.p_sim, 0, 1)) if permutations else np.nan,
    }])
