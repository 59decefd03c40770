"""The Riverton demo partnership: a seeded, deterministic generator of raw agency files.

``write_demo_partnership(dest, seed)`` writes every file described in ``docs/DEMO_DATA.md``
under ``dest`` (normally ``paths.DEMO_RAW_DIR``). One ``numpy.random.Generator`` seeded
from ``seed`` drives everything in a fixed order, floats are written with fixed precision,
CSVs with ``\\n`` line endings, and the xlsx and GeoPackage carry a fixed, seed-derived
timestamp, so the same seed gives byte-identical files.

Modules: ``geography`` (boundaries, population grid, map points), ``police`` (street and
outcomes files), ``partners`` (fire, health, ambulance, council, licensing, youth offending),
``people`` (violence nominals), ``consultation`` (survey, previous strategy, peer table), ``themes``
(proven reoffending, drug and alcohol treatment, the force crime-system extract; own generator).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..checks import check_type
from .consultation import write_consultation
from .geography import Geography, build_geography, write_geography
from .partners import write_partners
from .people import generate_nominals, write_nominals
from .police import _point_weights, generate_police_events, write_police
from .themes import write_themes

__all__ = ["write_demo_partnership", "build_geography", "Geography"]


def write_demo_partnership(dest: Path, seed: int = 2026) -> dict[str, Path]:
    """Write the whole fictional Riverton partnership's raw files under ``dest``.

    Parameters
    ----------
    dest : pathlib.Path
        Folder to write into (created if missing); files already there are overwritten.
    seed : int, default 2026
        Seed of the single random generator; the same seed gives byte-identical files.

    Returns
    -------
    dict of str to pathlib.Path
        File role (the catalogue's dataset or geography key, e.g. ``police_street``,
        ``wards_2019``) to the file or folder written. ``police`` and ``neighbourhoods``
        map to folders.
    """
    check_type(dest, "dest", Path)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"`seed` must be int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"`seed` must be 0 or more, got {seed!r}")
    dest.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(int(seed))
    geo = build_geography(rng)
    out: dict[str, Path] = {}
    out.update(write_geography(geo, dest, int(seed)))
    police = generate_police_events(rng, geo)
    out.update(write_police(rng, police, geo, dest))
    out["police_street"] = out["police"]
    out["police_outcomes"] = out["police"]
    out.update(write_partners(rng, geo, police, dest, int(seed)))
    nominals = generate_nominals(rng, geo, _point_weights(geo)["Violence and sexual offences"])
    out.update(write_nominals(nominals, dest))
    out.update(write_consultation(rng, geo, police, dest))
    # Statutory-theme files draw on their own generator, so the files above stay byte for byte.
    out.update(write_themes(geo, dest, int(seed), _point_weights(geo)["Violence and sexual offences"]))
    return out
