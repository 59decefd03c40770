"""Riverton's geography: boundary, wards (two versions), small areas, neighbourhoods, map points.

Everything is built in British National Grid (EPSG:27700). Population lives on a 100 m
grid whose density is a dense town centre, a few smaller settlements and a sparse rural
background; wards, small areas, map points and events all follow that grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPoint, Point, Polygon

from ._common import (BBOX, BURGLARY_CLUSTER, CRS_BNG, FORCE, PARTNERSHIP_CODE, PARTNERSHIP_NAME,
                      TOWN_CENTRE, bng_to_wgs84, distance, format_fixed, gdal_fixed_date,
                      weighted_choice)

CELL = 100.0
TARGET_POPULATION = 150_000

#: Settlements: (easting, northing, peak persons per km2, sigma in metres).
SETTLEMENTS = [
    (TOWN_CENTRE[0], TOWN_CENTRE[1], 5200.0, 1500.0),
    (435200.0, 293400.0, 2600.0, 700.0),   # Northwick (village)
    (444300.0, 292600.0, 2300.0, 650.0),   # Eastbank
    (436400.0, 286200.0, 1900.0, 600.0),   # Southmoor
    (BURGLARY_CLUSTER[0], BURGLARY_CLUSTER[1], 2100.0, 750.0),  # Hollins Park estate
]
RURAL_DENSITY = 110.0

WARD_NAMES = [
    "Abbey", "Northgate", "Castle Hill", "Millbrook", "St Mary's", "Westfield", "Eastbank",
    "Oakley", "Holme Park", "Fairfield", "Hawthorn", "Kingsmead", "Langley Green", "Marsh Lane",
    "Priory", "Ridgeway", "Southmoor", "Thornbury", "Upton", "Willow Brook", "Hollins Park",
    "Northwick", "Sandford",
]
NEW_WARD_NAMES = ["Ashdown", "Brookside", "Crossways"]
NEIGHBOURHOOD_NAMES = [
    "Northwick and Upton", "Castle Hill", "Eastbank", "Abbey and Priory", "Westfield Rural",
    "Kingsmead", "Millbrook Valley", "Southmoor", "Hollins Park", "Fairfield and Oakley",
    "Ridgeway", "Thornbury and Marsh Lane", "Sandford",
]

STREET_FIRST = [
    "Abbey", "Albert", "Alder", "Ash", "Back", "Barley", "Beech", "Birch", "Bridge", "Brook",
    "Butcher", "Canal", "Castle", "Cedar", "Chapel", "Cherry", "Church", "Clarence", "Coronation",
    "Cross", "Dale", "Derwent", "Elm", "Fairfield", "Ferry", "Forge", "George", "Glebe", "Granary",
    "Green", "Grove", "Hall", "Hawthorn", "Hazel", "Heath", "High", "Highfield", "Hill", "Holly",
    "Kings", "Kingsway", "Lark", "Laurel", "Lime", "Linden", "Malt", "Manor", "Maple", "Market",
    "Meadow", "Mill", "Moor", "Nelson", "New", "North", "Oak", "Orchard", "Park", "Parsonage",
    "Pinfold", "Poplar", "Priory", "Queens", "Railway", "Rectory", "Regent", "River", "Rose",
    "Rowan", "School", "Sheep", "Silver", "Spring", "St John's", "St Mary's", "Station", "Tanner",
    "Tithe", "Union", "Vicarage", "Victoria", "Water", "Well", "West", "Wharf", "Willow",
    "Windmill", "Wood", "York",
]
STREET_SUFFIX = ["Street", "Road", "Lane", "Close", "Avenue", "Way", "Drive", "Crescent",
                 "Gardens", "Place", "Terrace", "Walk", "Court", "Row"]
ACCENTED_STREETS = [
    "Brontë Close", "Château Gardens", "Côte Lane", "Müller Court", "Rosière Way", "Hélène Court",
    "Première Way", "Fête Field Road", "Dürer Street", "Bellecôte Road", "Léon Place",
    "Crèche Lane",
]
#: data.police.uk-style place descriptions used for some map points, with weights.
PLACE_TYPES = ["Supermarket", "Parking Area", "Petrol Station", "Shopping Area",
               "Sports/Recreation Area", "Further/Higher Educational Building", "Hospital",
               "Police Station", "Bus/Coach Station", "Conference/Exhibition Centre"]
#: Neighbouring authorities' LSOAs that some edge map points fall in (code, name, side).
NEIGHBOUR_LSOAS = [
    ("E01910014", "Eastfold 003B", "east"), ("E01910027", "Eastfold 006A", "east"),
    ("E01911203", "Westbury 011C", "west"), ("E01911219", "Westbury 014A", "west"),
]
N_MAP_POINTS = 1500


@dataclass
class Geography:
    """Every boundary and the population grid of the demo partnership (all EPSG:27700)."""

    boundary: Polygon
    wards_2019: gpd.GeoDataFrame
    wards_2024: gpd.GeoDataFrame
    small_areas: gpd.GeoDataFrame
    neighbourhoods: gpd.GeoDataFrame
    #: 100 m cells inside the boundary: x, y, density (persons/km2), population, sa_index.
    cells: pd.DataFrame
    #: map points: x, y, lon, lat, location, lsoa_code, lsoa_name, sa_index (-1 outside),
    #: ward_2019, ward_2024, place_type ('' for streets), street.
    map_points: pd.DataFrame


def _boundary(rng: np.random.Generator) -> Polygon:
    theta = np.linspace(0.0, 2 * np.pi, 120, endpoint=False)
    wobble = np.zeros_like(theta)
    for k, amp in zip(range(2, 7), (0.035, 0.03, 0.025, 0.02, 0.015)):
        wobble += amp * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    x = 439500.0 + 7300.0 * np.cos(theta) * (1 + wobble)
    y = 290000.0 + 5900.0 * np.sin(theta) * (1 + wobble)
    ring = np.column_stack([np.clip(np.round(x), BBOX[0], BBOX[2]), np.clip(np.round(y), BBOX[1], BBOX[3])])
    return shapely.make_valid(Polygon(ring)).buffer(0)


def _cells(rng: np.random.Generator, boundary: Polygon, population: int = TARGET_POPULATION,
           urban: float = 1.0) -> pd.DataFrame:
    xs = np.arange(BBOX[0] + CELL / 2, BBOX[2], CELL)
    ys = np.arange(BBOX[1] + CELL / 2, BBOX[3], CELL)
    gx, gy = np.meshgrid(xs, ys)
    gx, gy = gx.ravel(), gy.ravel()
    inside = shapely.contains_xy(boundary, gx, gy)
    gx, gy = gx[inside], gy[inside]
    density = np.full(gx.size, RURAL_DENSITY)
    for sx, sy, peak, sigma in SETTLEMENTS:
        density += urban * peak * np.exp(-distance(gx, gy, (sx, sy)) ** 2 / (2 * sigma**2))
    density *= rng.lognormal(0.0, 0.35, gx.size)
    total = population + int(rng.integers(-1500, 1500) * population // TARGET_POPULATION)
    population = rng.multinomial(total, density / density.sum())
    return pd.DataFrame({"x": gx, "y": gy, "density": density, "population": population})


def _spread_seeds(rng: np.random.Generator, cells: pd.DataFrame, weights: np.ndarray, n: int,
                  min_dist: float, mask: np.ndarray | None = None) -> np.ndarray:
    """Pick ``n`` cell centres by weight, at least ``min_dist`` apart (a bounded rejection loop)."""
    w = np.asarray(weights, dtype=float) * (1.0 if mask is None else mask)
    candidates = weighted_choice(rng, w, 40 * n)
    chosen: list[int] = []
    for c in candidates:
        if len(chosen) == n:
            break
        if all(np.hypot(cells.x.iat[c] - cells.x.iat[o], cells.y.iat[c] - cells.y.iat[o]) >= min_dist
               for o in chosen):
            chosen.append(int(c))
    if len(chosen) < n:
        raise RuntimeError(f"could only place {len(chosen)} of {n} seeds {min_dist} m apart")
    pts = np.column_stack([cells.x.to_numpy()[chosen], cells.y.to_numpy()[chosen]])
    return pts + rng.uniform(-40, 40, pts.shape)


def _lloyd_seeds(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, w: np.ndarray, k: int,
                 iterations: int = 8) -> np.ndarray:
    """Population-weighted k-means++ seeding then Lloyd steps: seeds of roughly equal-population cells."""
    seeds = np.column_stack([x, y])[weighted_choice(rng, w, 1)]
    for _ in range(1, k):
        d2 = np.min((x[:, None] - seeds[:, 0]) ** 2 + (y[:, None] - seeds[:, 1]) ** 2, axis=1)
        pick = weighted_choice(rng, w * d2, 1)[0]
        seeds = np.vstack([seeds, [x[pick], y[pick]]])
    for _ in range(iterations):
        lab = np.argmin((x[:, None] - seeds[:, 0]) ** 2 + (y[:, None] - seeds[:, 1]) ** 2, axis=1)
        tot = np.bincount(lab, w, minlength=k)
        good = tot > 0
        seeds[good, 0] = np.bincount(lab, w * x, minlength=k)[good] / tot[good]
        seeds[good, 1] = np.bincount(lab, w * y, minlength=k)[good] / tot[good]
    return seeds


def _voronoi(seeds: np.ndarray, clip: Polygon) -> list:
    cells = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=clip.buffer(2000), ordered=True)
    return [shapely.intersection(g, clip) for g in shapely.get_parts(cells)]


def _order(seeds: np.ndarray) -> np.ndarray:
    """North to south in 2 km bands, then west to east: a stable reading order for codes."""
    return np.lexsort((seeds[:, 0], -np.floor(seeds[:, 1] / 2000.0)))


def _wards(rng: np.random.Generator, boundary: Polygon, cells: pd.DataFrame
           ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    # Wards hold roughly equal numbers of electors. k-means places centres with density
    # proportional to the square root of the weight, so weighting by population squared gives
    # centres in proportion to population, hence cells of roughly equal population.
    weight = (cells.population.to_numpy() + 2.0) ** 2
    seeds = _lloyd_seeds(rng, cells.x.to_numpy(), cells.y.to_numpy(), weight, 20, 10)
    seeds = seeds + rng.uniform(-5, 5, seeds.shape)
    seeds = seeds[_order(seeds)]
    geoms = _voronoi(seeds, boundary)
    names = list(WARD_NAMES[:20])
    central = int(np.argmin(distance(seeds[:, 0], seeds[:, 1], TOWN_CENTRE)))
    names[central] = "Riverton Central"
    w19 = gpd.GeoDataFrame({"ward_code": [f"E0590{i + 1:04d}" for i in range(20)], "ward_name": names},
                           geometry=geoms, crs=CRS_BNG)
    # Boundary review: three mutually adjacent wards near the town (not the central one) are redrawn.
    touching = shapely.length(shapely.intersection(
        np.array(geoms)[:, None], np.array(geoms)[None, :])) > 200
    dist = distance(seeds[:, 0], seeds[:, 1], TOWN_CENTRE)
    best, best_score = None, np.inf
    for i in range(20):
        for j in range(i + 1, 20):
            for k in range(j + 1, 20):
                if central in (i, j, k) or not (touching[i, j] and touching[j, k] and touching[i, k]):
                    continue
                score = dist[[i, j, k]].sum()
                if score < best_score:
                    best, best_score = (i, j, k), score
    assert best is not None
    union = shapely.union_all([geoms[i] for i in best])
    mask = shapely.contains_xy(union, cells.x.to_numpy(), cells.y.to_numpy()).astype(float)
    inu = mask > 0
    new_seeds = _lloyd_seeds(rng, cells.x.to_numpy()[inu], cells.y.to_numpy()[inu],
                             (cells.population.to_numpy()[inu] + 2.0) ** 2, 3, 10)
    new_seeds = new_seeds + rng.uniform(-5, 5, new_seeds.shape)
    new_seeds = new_seeds[_order(new_seeds)]
    new_geoms = _voronoi(new_seeds, union)
    keep = [i for i in range(20) if i not in best]
    w24 = pd.concat([
        w19.iloc[keep],
        gpd.GeoDataFrame({"ward_code": [f"E0590{21 + i:04d}" for i in range(3)], "ward_name": NEW_WARD_NAMES},
                         geometry=new_geoms, crs=CRS_BNG),
    ], ignore_index=True)
    return w19, w24


def _assign(geoms, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Index of the polygon containing each point, -1 when none."""
    tree = shapely.STRtree(list(geoms))
    pts = shapely.points(x, y)
    hit_pt, hit_poly = tree.query(pts, predicate="intersects")
    out = np.full(len(pts), -1)
    out[hit_pt[::-1]] = hit_poly[::-1]  # first hit wins deterministically
    return out


def _small_areas(rng: np.random.Generator, wards: gpd.GeoDataFrame, cells: pd.DataFrame) -> gpd.GeoDataFrame:
    cx, cy = cells.x.to_numpy(), cells.y.to_numpy()
    pop = cells.population.to_numpy().astype(float)
    ward_of = _assign(wards.geometry, cx, cy)
    pieces, ward_idx, msoa_letter = [], [], []
    for w, geom in enumerate(wards.geometry):
        inw = ward_of == w
        k = max(1, int(round(pop[inw].sum() / 1450.0)))
        wx, wy, wp = cx[inw], cy[inw], pop[inw] + 0.5
        seeds = _lloyd_seeds(rng, wx, wy, wp**2, k, 6)
        seeds = seeds + rng.uniform(-5, 5, seeds.shape)
        seeds = seeds[_order(seeds)]
        for j, g in enumerate(_voronoi(seeds, geom)):
            pieces.append(g)
            ward_idx.append(w)
            msoa_letter.append(chr(ord("A") + j))
    pieces = [shapely.make_valid(p) for p in pieces]

    # A few areas straddle two wards: each takes a bite out of a neighbour across a ward boundary.
    n = len(pieces)
    arr = np.array(pieces, dtype=object)
    tree = shapely.STRtree(arr)
    a_idx, b_idx = tree.query(arr, predicate="dwithin", distance=0.05)
    cand = (a_idx < b_idx) & (np.array(ward_idx)[a_idx] != np.array(ward_idx)[b_idx])
    a_idx, b_idx = a_idx[cand], b_idx[cand]
    order = rng.permutation(a_idx.size)
    used: set[int] = set()
    straddled = 0
    for o in order:
        a, b = int(a_idx[o]), int(b_idx[o])
        if straddled == 7 or a in used or b in used:
            continue
        shared = shapely.line_merge(shapely.intersection(pieces[a].boundary, pieces[b].buffer(0.05)))
        if shapely.length(shared) < 120:
            continue
        mid = shapely.line_interpolate_point(shared, 0.5, normalized=True) if shared.geom_type == "LineString" \
            else shapely.centroid(shared)
        radius = 0.6 * np.sqrt(pieces[a].area)
        bite = shapely.intersection(pieces[b], mid.buffer(radius, 32))
        rest = shapely.difference(pieces[b], bite)
        grown = shapely.union_all([pieces[a], bite]).buffer(0.01).buffer(-0.01)
        if (rest.geom_type != "Polygon" or grown.geom_type != "Polygon" or bite.area > 0.5 * pieces[b].area
                or pieces[a].area / grown.area > 0.9):
            continue
        pieces[a], pieces[b] = grown, rest
        used.update((a, b))
        straddled += 1

    msoa = np.array(ward_idx) + 1
    sa = gpd.GeoDataFrame({
        "sa_code": [f"E0190{i + 1:04d}" for i in range(n)],
        "sa_name": [f"{PARTNERSHIP_NAME} {m:03d}{letter}" for m, letter in zip(msoa, msoa_letter)],
    }, geometry=pieces, crs=CRS_BNG)
    return sa


def _populate(rng: np.random.Generator, sa: gpd.GeoDataFrame, cells: pd.DataFrame) -> gpd.GeoDataFrame:
    cells["sa_index"] = _assign(sa.geometry, cells.x.to_numpy(), cells.y.to_numpy())
    inside = cells.sa_index.to_numpy() >= 0
    n = len(sa)
    pop = np.bincount(cells.sa_index[inside], cells.population[inside], minlength=n).astype(np.int64)
    dens = np.bincount(cells.sa_index[inside], cells.density[inside], minlength=n) / np.maximum(
        np.bincount(cells.sa_index[inside], minlength=n), 1)
    urban = np.clip(np.log1p(dens) / np.log1p(5000.0), 0, 1)[:, None]
    base = np.array([0.19, 0.11, 0.26, 0.25, 0.19])
    shift = np.array([-0.02, 0.07, 0.06, -0.03, -0.08])
    probs = np.clip(base + (urban - 0.5) * shift * 1.6 + rng.normal(0, 0.008, (n, 5)), 0.02, None)
    probs = probs / probs.sum(axis=1, keepdims=True)
    bands = rng.multinomial(pop, probs)
    size = 2.5 - 0.45 * urban[:, 0] + rng.normal(0, 0.05, n)
    out = sa.copy()
    for j, col in enumerate(["pop_0_15", "pop_16_24", "pop_25_44", "pop_45_64", "pop_65_plus"]):
        out[col] = bands[:, j].astype(np.int64)
    out["pop_total"] = bands.sum(axis=1).astype(np.int64)
    out["households"] = np.round(out["pop_total"].to_numpy() / size).astype(np.int64)
    # Synthetic national deprivation: denser areas tend to be more deprived. A generator of its own
    # keeps every other demo figure unchanged.
    own = np.random.default_rng(7_2019)
    score = urban[:, 0] + own.normal(0, 0.18, n)
    rank = np.argsort(np.argsort(-score))  # 0 = most deprived here
    national = np.clip(np.round(1 + 9 * rank / max(n - 1, 1) + own.normal(0, 0.8, n)), 1, 10).astype(np.int64)
    out["imd_decile"] = national
    out["imd_rank"] = np.clip((national - 1) * 3284 + own.integers(1, 3285, n), 1, 32844).astype(np.int64)
    return out[["sa_code", "sa_name", "pop_0_15", "pop_16_24", "pop_25_44", "pop_45_64", "pop_65_plus",
                "pop_total", "households", "imd_decile", "imd_rank", "geometry"]]


def _neighbourhoods(rng: np.random.Generator, boundary: Polygon, cells: pd.DataFrame) -> gpd.GeoDataFrame:
    seeds = _spread_seeds(rng, cells, cells.density.to_numpy() ** 0.4, 12, 2000.0)
    seeds = seeds[_order(seeds)]
    geoms = _voronoi(seeds, boundary)
    names = list(NEIGHBOURHOOD_NAMES[:12])
    central = int(np.argmin(distance(seeds[:, 0], seeds[:, 1], TOWN_CENTRE)))
    names[central] = "Riverton Town Centre"
    return gpd.GeoDataFrame({"id": [f"RIV{i + 1:02d}" for i in range(12)], "name": names},
                            geometry=geoms, crs=CRS_BNG)


def _street_names(rng: np.random.Generator, n: int) -> np.ndarray:
    combos = np.array([f"{a} {b}" for a in STREET_FIRST for b in STREET_SUFFIX], dtype=object)
    plain = combos[rng.choice(combos.size, size=n - len(ACCENTED_STREETS), replace=False)]
    names = np.concatenate([plain, np.array(ACCENTED_STREETS, dtype=object)])
    return names[rng.permutation(names.size)]


def _map_points(rng: np.random.Generator, boundary: Polygon, cells: pd.DataFrame, sa: gpd.GeoDataFrame,
                w19: gpd.GeoDataFrame, w24: gpd.GeoDataFrame) -> pd.DataFrame:
    cx, cy = cells.x.to_numpy(), cells.y.to_numpy()
    d_tc = distance(cx, cy, TOWN_CENTRE)
    weight = cells.density.to_numpy() ** 0.8 * (1 + 4 * np.exp(-d_tc**2 / (2 * 700.0**2)))
    n_cluster, n_edge = 14, 12
    n_main = N_MAP_POINTS - n_cluster - n_edge
    pick = weighted_choice(rng, weight, n_main)
    x = cx[pick] + rng.uniform(-50, 50, n_main)
    y = cy[pick] + rng.uniform(-50, 50, n_main)
    # The estate where the year-3 burglary cluster appears has a dense street network.
    ang = rng.uniform(0, 2 * np.pi, n_cluster)
    rad = 320.0 * np.sqrt(rng.uniform(0, 1, n_cluster))
    x = np.concatenate([x, BURGLARY_CLUSTER[0] + rad * np.cos(ang)])
    y = np.concatenate([y, BURGLARY_CLUSTER[1] + rad * np.sin(ang)])
    # A few points on the far side of the boundary, in neighbouring authorities' LSOAs.
    ring = boundary.exterior
    east = np.linspace(0.02, 0.10, n_edge // 2)     # ring starts due east, runs anticlockwise
    west = np.linspace(0.45, 0.53, n_edge // 2)
    fr = np.concatenate([east, west])
    on = shapely.line_interpolate_point(ring, fr, normalized=True)
    ox, oy = shapely.get_x(on), shapely.get_y(on)
    c = boundary.centroid
    vx, vy = ox - c.x, oy - c.y
    norm = np.hypot(vx, vy)
    out = rng.uniform(80, 250, n_edge)
    x = np.concatenate([x, ox + vx / norm * out])
    y = np.concatenate([y, oy + vy / norm * out])
    x, y = np.round(x), np.round(y)
    for _ in range(5):  # every map point has its own coordinates
        clash = pd.Series(x * 1e7 + y).duplicated().to_numpy()
        x[clash] += 7.0

    n = x.size
    sa_index = _assign(sa.geometry, x, y)
    outside = sa_index < 0
    lsoa_code = np.where(outside, "", sa.sa_code.to_numpy()[np.maximum(sa_index, 0)]).astype(object)
    lsoa_name = np.where(outside, "", sa.sa_name.to_numpy()[np.maximum(sa_index, 0)]).astype(object)
    side_east = x > c.x
    nb = np.where(side_east, rng.integers(0, 2, n), rng.integers(2, 4, n))
    lsoa_code[outside] = np.array([NEIGHBOUR_LSOAS[i][0] for i in range(4)], dtype=object)[nb[outside]]
    lsoa_name[outside] = np.array([NEIGHBOUR_LSOAS[i][1] for i in range(4)], dtype=object)[nb[outside]]

    # Streets: each map point takes the name of the nearest street centre.
    n_streets = 430
    centres = weighted_choice(rng, cells.density.to_numpy() ** 0.6, n_streets)
    sx = cx[centres] + rng.uniform(-50, 50, n_streets)
    sy = cy[centres] + rng.uniform(-50, 50, n_streets)
    names = _street_names(rng, n_streets)
    nearest = np.argmin((x[:, None] - sx[None, :]) ** 2 + (y[:, None] - sy[None, :]) ** 2, axis=1)
    street = names[nearest]
    place = np.full(n, "", dtype=object)
    is_place = rng.random(n) < 0.08
    place[is_place] = np.array(PLACE_TYPES, dtype=object)[
        weighted_choice(rng, np.array([5, 5, 1.5, 3, 3, 1, 0.5, 0.5, 1, 0.5]), int(is_place.sum()))]
    # Nightclubs only in the town centre.
    d_pt = distance(x, y, TOWN_CENTRE)
    club = (d_pt < 450) & (rng.random(n) < 0.12)
    place[club] = "Nightclub"
    place[outside] = ""
    location = np.where(place == "", "On or near " + street.astype(str), "On or near " + place.astype(str))
    lon, lat = bng_to_wgs84(x, y)
    return pd.DataFrame({
        "x": x, "y": y, "lon": lon, "lat": lat, "location": location.astype(object),
        "lsoa_code": lsoa_code, "lsoa_name": lsoa_name, "sa_index": sa_index,
        "ward_2019": _assign(w19.geometry, x, y), "ward_2024": _assign(w24.geometry, x, y),
        "place_type": place, "street": street,
    })


def build_geography(rng: np.random.Generator, population: int = TARGET_POPULATION, urban: float = 1.0) -> Geography:
    """Build every boundary, the population grid and the map points from ``rng``.

    ``population`` (residents) and ``urban`` (multiplier of the settlements' peak density
    against the rural background) vary the synthetic country's partnerships; the defaults
    give Riverton.
    """
    boundary = _boundary(rng)
    cells = _cells(rng, boundary, population, urban)
    w19, w24 = _wards(rng, boundary, cells)
    sa = _populate(rng, _small_areas(rng, w19, cells), cells)
    hoods = _neighbourhoods(rng, boundary, cells)
    points = _map_points(rng, boundary, cells, sa, w19, w24)
    return Geography(boundary, w19, w24, sa, hoods, cells, points)


# --------------------------------------------------------------------------------------- writers

def _kml(hood_id: str, name: str, geom, with_z: bool, bow_tie: bool) -> str:
    ring = np.asarray(geom.exterior.coords)[:-1]
    if bow_tie:
        # Swap two consecutive vertices so that the ring crosses itself (a deliberate bow-tie).
        i = len(ring) // 3
        ring[[i, i + 1]] = ring[[i + 1, i]]
    ring = np.vstack([ring, ring[:1]])
    lon, lat = bng_to_wgs84(ring[:, 0], ring[:, 1])
    lon_s, lat_s = format_fixed(lon, 6), format_fixed(lat, 6)
    tuples = np.char.add(np.char.add(lon_s.astype(str), ","), lat_s.astype(str))
    if with_z:
        tuples = np.char.add(tuples, ",0")
    coords = " ".join(tuples.tolist())
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<kml xmlns="http://www.opengis.net/kml/2.2">\n'
        "  <Document>\n"
        f"    <name>{escape(hood_id)}</name>\n"
        "    <Placemark>\n"
        f"      <name>{escape(name)}</name>\n"
        "      <Polygon>\n"
        "        <outerBoundaryIs>\n"
        "          <LinearRing>\n"
        f"            <coordinates>{coords}</coordinates>\n"
        "          </LinearRing>\n"
        "        </outerBoundaryIs>\n"
        "      </Polygon>\n"
        "    </Placemark>\n"
        "  </Document>\n"
        "</kml>\n"
    )


def write_geography(geo: Geography, dest: Path, seed: int, code: str = PARTNERSHIP_CODE,
                    name: str = PARTNERSHIP_NAME, force: str = FORCE) -> dict[str, Path]:
    """Write the boundary, both ward versions, small areas and neighbourhood KML files."""
    import pyogrio

    folder = dest / "geography"
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    part = gpd.GeoDataFrame({"code": [code], "name": [name]},
                            geometry=[geo.boundary], crs=CRS_BNG)
    for role, frame, name in [("partnership", part, "partnership.geojson"),
                              ("wards_2019", geo.wards_2019, "wards_2019.geojson"),
                              ("wards_2024", geo.wards_2024, "wards_2024.geojson")]:
        path = folder / name
        path.unlink(missing_ok=True)
        pyogrio.write_dataframe(frame, path, driver="GeoJSON", layer_options={"COORDINATE_PRECISION": 2})
        out[role] = path
    gpkg = folder / "small_areas.gpkg"
    gpkg.unlink(missing_ok=True)
    with gdal_fixed_date(seed):
        pyogrio.write_dataframe(geo.small_areas, gpkg, layer="small_areas", driver="GPKG")
    out["small_areas"] = gpkg
    kml_dir = folder / "neighbourhoods" / force
    kml_dir.mkdir(parents=True, exist_ok=True)
    n = len(geo.neighbourhoods)
    z_file, bow_file = 2, n - 3
    for i, (hid, name, geom) in enumerate(zip(geo.neighbourhoods.id, geo.neighbourhoods.name,
                                              geo.neighbourhoods.geometry)):
        (kml_dir / f"{hid}.kml").write_text(_kml(hid, name, geom, i == z_file, i == bow_file), encoding="utf-8",
                                            newline="\n")
    out["neighbourhoods"] = kml_dir
    return out
