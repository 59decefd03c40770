"""A synthetic country: many partnerships in a few forces, for the batch and its benchmarks.

``write_synthetic_country(dest, partnerships=N)`` writes N fictional partnerships built by the
Riverton generator, each from its own seed and each different in size (residents and crime
volume), urban/rural mix (how much the settlements stand out from the rural background) and
crime mix (a multiplier per crime type). Partnerships are laid side by side on the national
grid and grouped into forces of two to six; each force publishes one set of data.police.uk
monthly files holding the rows of all its partnerships, as the real forces do.

Layout under ``dest``::

    partnerships.csv                              one row per partnership (code, name, force, ...)
    forces/<force>/police/<YYYY-MM>/<YYYY-MM>-<force>-street.csv (and -outcomes.csv)
    partnerships/<code>/data_catalogue.yaml       the partnership's catalogue (data_root: the country)
    partnerships/<code>/geography/...             its boundary, wards, small areas, neighbourhoods

Each catalogue is the demo catalogue's structure with the partnership's own names, codes and
files, and only the police datasets (street and outcomes): the other agencies' files belong to
Riverton alone. A catalogue run on its own reads its whole force's files; the intake leaves
out the points outside the partnership. A force of several partnerships has police datasets
marked ``covers: force``: its rows without a location cannot be placed in one partnership and
are quarantined, in no partnership's totals (a force of one partnership keeps them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import paths
from ..checks import check_type
from ._common import PARTNERSHIP_NAME, bng_to_wgs84, write_csv
from .geography import TARGET_POPULATION, Geography, build_geography, write_geography
from .police import CRIME_TYPES, generate_police_events, police_frames, write_police_files

__all__ = ["write_synthetic_country", "CountryPartnership"]

_PREFIXES = ["Ash", "Brad", "Carl", "Dun", "Elm", "Fen", "Gran", "Hart", "Kings", "Lang", "Mar", "Nor",
             "Oak", "Pen", "Rad", "Stan", "Thorn", "Wal", "Wey", "Yar", "Bex", "Cran", "Hol", "Sed"]
_SUFFIXES = ["ford", "ley", "ton", "bury", "field", "ham", "wick", "by", "mouth", "stead", "thorpe", "worth",
             "minster", "bridge"]
_REGIONS = ["Midshire", "Northmarch", "Westvale", "Eastmoor", "Southdown", "Highfell", "Lowfield", "Greymere",
            "Stonebridge", "Fairhaven", "Ironvale", "Brightwater", "Coldharbour", "Redmarsh", "Silverdale",
            "Oakenshaw", "Ravensmoor", "Kestrel Vale", "Hazelmere", "Marlowe"]
#: Crime types whose volume follows town centres (tilted up in urban partnerships).
_URBAN_TYPES = ["Violence and sexual offences", "Public order", "Theft from the person", "Robbery", "Shoplifting",
                "Drugs", "Bicycle theft"]
#: Riverton's boundary sits in easting 432000-447000, northing 284000-296000; partnerships are
#: laid on a grid of cells this size (metres), 20 to a row, starting at (GRID_ORIGIN).
_GRID_STEP = (16_000.0, 13_000.0)
_GRID_ORIGIN = (180_000.0, 150_000.0)
_LOCAL_ORIGIN = (432_000.0, 284_000.0)
_PER_ROW = 20
MAX_PARTNERSHIPS = 899


@dataclass(frozen=True)
class CountryPartnership:
    """One partnership of the synthetic country."""

    code: str
    name: str
    force: str
    force_name: str
    size: float
    urban: float
    residents: int
    police_rows: int
    catalogue: Path


def _names(rng: np.random.Generator, n: int) -> list[str]:
    combos = [p + s for p in _PREFIXES for s in _SUFFIXES]
    combos = [combos[j] for j in rng.permutation(len(combos))]
    return [combos[i % len(combos)] + ("" if i < len(combos) else f" {i // len(combos) + 1}") for i in range(n)]


def _forces(rng: np.random.Generator, n: int) -> np.ndarray:
    """Force index of each partnership: consecutive groups of two to six."""
    sizes = []
    while sum(sizes) < n:
        sizes.append(int(rng.integers(2, 7)))
    return np.repeat(np.arange(len(sizes)), sizes)[:n]


def _force_names(k: int) -> tuple[str, str]:
    region = _REGIONS[k % len(_REGIONS)] + ("" if k < len(_REGIONS) else f" {k // len(_REGIONS) + 1}")
    return region.lower().replace(" ", "-"), f"{region} Police"


def _placed(geo: Geography, p: int, name: str, dx: float, dy: float) -> Geography:
    """``geo`` moved by (dx, dy) metres, with the partnership's own codes and names."""
    def ward_codes(codes: pd.Series) -> pd.Series:
        return f"E05{p:03d}" + codes.str[-3:]

    def moved(frame):
        out = frame.copy()
        out["geometry"] = frame.geometry.translate(dx, dy)
        return out

    w19, w24 = moved(geo.wards_2019), moved(geo.wards_2024)
    for w in (w19, w24):
        w["ward_code"] = ward_codes(w["ward_code"])
        w["ward_name"] = w["ward_name"].str.replace(PARTNERSHIP_NAME, name, regex=False)
    sa = moved(geo.small_areas)
    old_sa = sa["sa_code"].to_numpy()
    sa["sa_code"] = f"E01{p:03d}" + sa["sa_code"].str[-3:]
    sa["sa_name"] = sa["sa_name"].str.replace(PARTNERSHIP_NAME, name, regex=False)
    hoods = moved(geo.neighbourhoods)
    hoods["id"] = [f"P{p:03d}N{i + 1:02d}" for i in range(len(hoods))]
    hoods["name"] = hoods["name"].str.replace(PARTNERSHIP_NAME, name, regex=False)
    mp = geo.map_points.copy()
    mp["x"] = mp["x"] + dx
    mp["y"] = mp["y"] + dy
    mp["lon"], mp["lat"] = bng_to_wgs84(mp["x"].to_numpy(), mp["y"].to_numpy())
    own = np.isin(mp["lsoa_code"].to_numpy(), old_sa)
    mp.loc[own, "lsoa_code"] = f"E01{p:03d}" + mp.loc[own, "lsoa_code"].str[-3:]
    mp["lsoa_name"] = mp["lsoa_name"].str.replace(PARTNERSHIP_NAME, name, regex=False)
    cells = geo.cells.copy()
    cells["x"] = cells["x"] + dx
    cells["y"] = cells["y"] + dy
    import shapely.affinity

    return Geography(shapely.affinity.translate(geo.boundary, dx, dy), w19, w24, sa, hoods, cells, mp)


def _catalogue(template: dict, code: str, name: str, force: str, force_name: str, shared: bool = True) -> dict:
    """The demo catalogue's structure pointed at one country partnership's files.

    ``shared``: the force has other partnerships, so its files cover more than this one's area
    (``covers: force``: a row without a location cannot be placed in it).
    """
    import copy

    cat = copy.deepcopy(template)
    part = cat["partnership"]
    part.update({"name": f"{name} Community Safety Partnership", "short_name": name, "code": code, "force": force})
    cat["data_root"] = "../.."
    own = f"partnerships/{code}/geography"
    geos = {}
    for key, geo in template["geographies"].items():
        if key not in ("partnership", "wards", "small_areas", "neighbourhoods"):
            continue
        g = copy.deepcopy(geo)
        g["title"] = g["title"].replace(PARTNERSHIP_NAME, name)
        g["owner"] = g["owner"].replace(template["partnership"]["short_name"], name)
        for v in g["versions"]:
            leaf = v["path"].split("/", 1)[1]
            if key == "neighbourhoods":
                leaf = f"neighbourhoods/{force}"
            v["path"] = f"{own}/{leaf}"
        geos[key] = g
    cat["geographies"] = geos
    datasets = {}
    for key, ds in template["datasets"].items():
        if not str(ds.get("format", "")).startswith("police_uk_") or "stop" in ds["format"]:
            continue
        d = copy.deepcopy(ds)
        d["agency"] = force_name
        leaf = "street" if ds["format"] == "police_uk_street" else "outcomes"
        d["path"] = f"forces/{force}/police/*/*-{force}-{leaf}.csv"
        if shared:
            d["covers"] = "force"
        datasets[key] = d
    cat["datasets"] = datasets
    # Settings that name Riverton's services, wards or files do not carry over.
    for key in ("services", "horizon_scan", "harm_weights"):
        cat.pop(key, None)
    docs = cat.get("documents", {})
    docs.pop("evaluation", None)
    return cat


def write_synthetic_country(dest: Path, partnerships: int, seed: int = 2026, mean_size: float = 1.0,
                            progress=None) -> list[CountryPartnership]:
    """Write ``partnerships`` fictional partnerships, grouped into forces, under ``dest``.

    Parameters
    ----------
    dest : pathlib.Path
        Folder to write into (created if missing); files already there are overwritten.
    partnerships : int
        How many partnerships (1 to 899).
    seed : int, default 2026
        Seed of the country; partnership ``i`` is built from its own child seed, so the same
        seed gives the same files.
    mean_size : float, default 1.0
        Mean of the size multipliers (1.0 is Riverton: about 150,000 residents and 51,000
        police rows over 36 months). Sizes are log-normal about it (sd 0.45 on the log
        scale), kept within 0.15 to 3 times Riverton.
    progress : callable, optional
        Receives one line per partnership written.

    Returns
    -------
    list of CountryPartnership
        One per partnership, in order, with its catalogue path.
    """
    import yaml

    check_type(dest, "dest", Path)
    if isinstance(partnerships, bool) or not isinstance(partnerships, (int, np.integer)):
        raise TypeError(f"`partnerships` must be int, got {type(partnerships).__name__}")
    if not 1 <= partnerships <= MAX_PARTNERSHIPS:
        raise ValueError(f"`partnerships` must be 1 to {MAX_PARTNERSHIPS}, got {partnerships}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"`seed` must be an int of 0 or more, got {seed!r}")
    if not isinstance(mean_size, (int, float)) or not 0.05 <= float(mean_size) <= 3.0:
        raise ValueError(f"`mean_size` must be a number from 0.05 to 3, got {mean_size!r}")
    say = progress or (lambda _m: None)
    dest.mkdir(parents=True, exist_ok=True)
    template = yaml.safe_load(paths.DEMO_CATALOGUE.read_text(encoding="utf-8"))
    country = np.random.default_rng([int(seed), 14])
    n = int(partnerships)
    force_of = _forces(country, n)
    sigma = 0.45
    sizes = np.clip(np.exp(country.normal(np.log(mean_size) - sigma**2 / 2, sigma, n)), 0.15, 3.0)
    urban = np.clip(np.exp(country.normal(0.0, 0.5, n)), 0.3, 2.5)
    tilt = np.exp(country.normal(0.0, 0.25, (n, len(CRIME_TYPES))))
    names = _names(country, n)
    children = np.random.SeedSequence([int(seed), 14]).spawn(n)
    out: list[CountryPartnership] = []
    frames: dict[int, list[tuple[pd.DataFrame, pd.DataFrame]]] = {}
    for i in range(n):
        rng = np.random.default_rng(children[i])
        p = i + 1
        code = f"E0791{p:04d}"
        force, force_name = _force_names(int(force_of[i]))
        geo = build_geography(rng, population=int(round(TARGET_POPULATION * sizes[i])), urban=float(urban[i]))
        mix = {k: float(t) * (urban[i] ** 0.3 if k in _URBAN_TYPES else 1.0) for k, t in zip(CRIME_TYPES, tilt[i])}
        events = generate_police_events(rng, geo, scale=float(sizes[i]), mix=mix)
        col, row = i % _PER_ROW, i // _PER_ROW
        dx = _GRID_ORIGIN[0] + col * _GRID_STEP[0] - _LOCAL_ORIGIN[0]
        dy = _GRID_ORIGIN[1] + row * _GRID_STEP[1] - _LOCAL_ORIGIN[1]
        placed = _placed(geo, p, names[i], dx, dy)
        folder = dest / "partnerships" / code
        write_geography(placed, folder, int(seed) + p, code=code, name=names[i], force=force)
        street, outc = police_frames(rng, events, placed, force_name)
        frames.setdefault(int(force_of[i]), []).append((street, outc))
        catalogue = folder / "data_catalogue.yaml"
        catalogue.write_text(
            f"# Synthetic partnership {names[i]} ({code}) of the demo country, written by "
            "assess generate-demo --partnerships.\n"
            + yaml.safe_dump(_catalogue(template, code, names[i], force, force_name,
                                        shared=int((force_of == force_of[i]).sum()) > 1), sort_keys=False,
                             allow_unicode=True),
            encoding="utf-8", newline="\n")
        out.append(CountryPartnership(code, names[i], force, force_name, float(sizes[i]), float(urban[i]),
                                      int(placed.small_areas["pop_total"].sum()), len(street), catalogue))
        say(f"[{p}/{n}] {names[i]} ({code}, {force}): {out[-1].residents:,} residents, {len(street):,} police rows")
        if i == n - 1 or force_of[i + 1] != force_of[i]:  # the force's last partnership: write its files
            parts = frames.pop(int(force_of[i]))
            street = pd.concat([s for s, _ in parts], ignore_index=True).sort_values("Month", kind="stable")
            outc = pd.concat([o for _, o in parts], ignore_index=True).sort_values("Month", kind="stable")
            write_police_files(street, outc, dest / "forces" / force / "police", force)
    index = pd.DataFrame({
        "code": [p.code for p in out], "name": [p.name for p in out], "force": [p.force for p in out],
        "size": np.round([p.size for p in out], 3), "urban": np.round([p.urban for p in out], 3),
        "residents": [p.residents for p in out], "police_rows": [p.police_rows for p in out],
        "catalogue": [str(p.catalogue.relative_to(dest)) for p in out],
    })
    write_csv(index, dest / "partnerships.csv")
    return out
