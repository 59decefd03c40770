"""Partner agencies' raw files: fire, emergency department, ambulance, council, licensing, youth
offending service. Each follows population and, where it should, the police violence hotspot.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from ._common import (MONTHS, TOWN_CENTRE, bng_to_wgs84, distance, fixed_timestamp, format_fixed,
                      rezip_fixed, weighted_choice, write_csv)
from .geography import Geography, _assign

WINDOW_DAYS = pd.date_range("2023-01-01", "2025-12-31", freq="D")
DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _days(rng: np.random.Generator, n: int, dow_weight: np.ndarray, month_weight: np.ndarray | None = None
          ) -> pd.DatetimeIndex:
    w = np.asarray(dow_weight, dtype=float)[WINDOW_DAYS.day_of_week]
    if month_weight is not None:
        w = w * np.asarray(month_weight, dtype=float)[WINDOW_DAYS.month - 1]
    return WINDOW_DAYS[weighted_choice(rng, w, n)]


def _at(rng: np.random.Generator, days: pd.DatetimeIndex, hour_weight: np.ndarray) -> pd.DatetimeIndex:
    hour = weighted_choice(rng, hour_weight, len(days))
    minute = rng.integers(0, 60, len(days))
    return days + pd.to_timedelta(hour * 60 + minute, unit="min")


# ----------------------------------------------------------------------------------------- fire

FIRE_HOURS = np.array([3, 2, 1.5, 1, 0.7, 0.5, 0.5, 0.6, 0.8, 1, 1.3, 1.6, 2, 2.4, 2.8, 3.3, 4, 5, 6.5,
                       7.5, 7.5, 6.5, 5, 4])
PRIMARY_TYPES = {"Car": 0.42, "Dwelling": 0.14, "Shed or garage": 0.12, "Non-residential building": 0.10,
                 "Other road vehicle": 0.12, "Other outdoor structure": 0.10}
SECONDARY_TYPES = {"Grassland, woodland and crops": 0.28, "Loose refuse": 0.30, "Wheelie bin": 0.20,
                   "Derelict vehicle": 0.05, "Other outdoors (including land)": 0.17}


def fire_incidents(rng: np.random.Generator, geo: Geography) -> pd.DataFrame:
    """Deliberate primary and secondary fires, about 400 a year with an evening peak."""
    cells = geo.cells
    secondary_season = np.array([0.7, 0.8, 1.3, 1.7, 1.4, 1.1, 1.0, 1.0, 0.8, 0.8, 1.2, 0.7])
    n_sec = int(rng.poisson(300 * 3))
    n_pri = int(rng.poisson(115 * 3))
    days = _days(rng, n_sec, np.ones(7), secondary_season).append(_days(rng, n_pri, np.ones(7)))
    when = _at(rng, days, FIRE_HOURS)
    kind = np.concatenate([np.full(n_sec, "Secondary deliberate fire"), np.full(n_pri, "Primary deliberate fire")])
    ptype = np.concatenate([
        np.array(list(SECONDARY_TYPES), dtype=object)[weighted_choice(rng, np.array(list(SECONDARY_TYPES.values())), n_sec)],
        np.array(list(PRIMARY_TYPES), dtype=object)[weighted_choice(rng, np.array(list(PRIMARY_TYPES.values())), n_pri)],
    ])
    d_tc = distance(cells.x, cells.y, TOWN_CENTRE)
    w = cells.population.to_numpy() * (1 + 1.5 * np.exp(-d_tc**2 / (2 * 1200.0**2))) + 2.0
    c = weighted_choice(rng, w, n_sec + n_pri)
    frame = pd.DataFrame({
        "when": when, "incident_type": kind, "property_type": ptype,
        "easting": np.round(cells.x.to_numpy()[c] + rng.uniform(-50, 50, c.size)).astype(np.int64),
        "northing": np.round(cells.y.to_numpy()[c] + rng.uniform(-50, 50, c.size)).astype(np.int64),
    }).sort_values("when", kind="stable").reset_index(drop=True)
    year = frame.when.dt.year
    seq = frame.groupby(year).cumcount() + 1
    frame.insert(0, "incident_number", "RFRS-" + year.astype(str) + "-" + seq.astype(str).str.zfill(5))
    frame.insert(1, "call_datetime", frame.when.dt.strftime("%d/%m/%Y %H:%M"))
    return frame.drop(columns="when")[["incident_number", "call_datetime", "incident_type", "property_type",
                                       "easting", "northing"]]


# ------------------------------------------------------------------------------------ health (ISTV)

NIGHT_HOURS = np.array([9, 8, 6, 4, 2, 1, 0.6, 0.5, 0.6, 0.8, 1, 1.2, 1.4, 1.5, 1.6, 1.8, 2, 2.4, 2.8, 3.2,
                        4, 5, 6.5, 8])
WEEKEND = np.array([0.8, 0.75, 0.8, 0.95, 1.3, 1.8, 1.6])
ASSAULT_METHODS = {"Body part (punch, kick, head-butt)": 0.62, "Blunt object": 0.09, "Glass or bottle": 0.07,
                   "Knife or sharp object": 0.05, "Other": 0.07, "Not known": 0.10}
LOCATION_TYPES = {"Street or public place": 0.42, "Pub, bar or club": 0.22, "Home": 0.20,
                  "Other": 0.08, "Not known": 0.08}


def _sa_violence_weight(geo: Geography, police: pd.DataFrame) -> np.ndarray:
    viol = police[(police.crime_type == "Violence and sexual offences") & ~police.is_duplicate]
    sa_index = geo.map_points.sa_index.to_numpy()[viol.point.to_numpy()]
    sa_index = sa_index[sa_index >= 0]
    return np.bincount(sa_index, minlength=len(geo.small_areas)).astype(float)


def ed_assaults(rng: np.random.Generator, geo: Geography, police: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ED assault attendances, aggregated by small area and month, and a time/method profile."""
    # ED sees the more serious assaults, which cluster even more in the night-time economy.
    w = _sa_violence_weight(geo, police) ** 1.4 + 0.3
    n = int(rng.poisson(70 * len(MONTHS)))
    sa = weighted_choice(rng, w, n)
    days = _days(rng, n, WEEKEND)
    when = _at(rng, days, NIGHT_HOURS)
    month = when.strftime("%Y-%m")
    codes = geo.small_areas.sa_code.to_numpy()
    by_area = (pd.DataFrame({"lsoa_code": codes[sa], "month": month}).groupby(["month", "lsoa_code"]).size()
               .rename("assault_attendances").reset_index()[["lsoa_code", "month", "assault_attendances"]])
    method = np.array(list(ASSAULT_METHODS), dtype=object)[
        weighted_choice(rng, np.array(list(ASSAULT_METHODS.values())), n)]
    central = distance(geo.small_areas.geometry.centroid.x.to_numpy(), geo.small_areas.geometry.centroid.y.to_numpy(),
                       TOWN_CENTRE)[sa] < 800
    loc_w = np.array(list(LOCATION_TYPES.values()))
    loc_names = np.array(list(LOCATION_TYPES), dtype=object)
    location = np.where(central, loc_names[weighted_choice(rng, loc_w * [1.2, 2.0, 0.4, 1, 1], n)],
                        loc_names[weighted_choice(rng, loc_w * [1, 0.6, 1.6, 1, 1], n)])
    band = (when.hour.to_numpy() // 3) * 3
    hour_band = pd.Series(band).astype(str).str.zfill(2) + ":00-" + pd.Series(band + 2).astype(str).str.zfill(2) + ":59"
    prof = pd.DataFrame({
        "day_of_week": pd.Categorical(np.array(DAY_NAMES)[when.day_of_week], categories=DAY_NAMES, ordered=True),
        "hour_band": hour_band.to_numpy(), "assault_method": method, "location_type": location,
    })
    profile = (prof.groupby(["day_of_week", "hour_band", "assault_method", "location_type"], observed=True)
               .size().rename("attendances").reset_index())
    profile["day_of_week"] = profile["day_of_week"].astype(str)
    return by_area, profile


# -------------------------------------------------------------------------------------- ambulance

AMBULANCE_CATEGORIES = {"Assault": 0.88, "Assault - sexual": 0.05, "Assault - stab or gunshot": 0.07}


def ambulance_callouts(rng: np.random.Generator, geo: Geography, police: pd.DataFrame) -> pd.DataFrame:
    """Assault call-outs (about 1,300 a year) around the violence hotspot, at night."""
    mp = geo.map_points
    viol = police[(police.crime_type == "Violence and sexual offences") & police.located & ~police.is_duplicate]
    n = int(rng.poisson(108 * len(MONTHS)))
    n_hot = int(0.65 * n)
    src = viol.point.to_numpy()[rng.integers(0, len(viol), n_hot)]
    cells = geo.cells
    c = weighted_choice(rng, cells.population.to_numpy() + 1.0, n - n_hot)
    x = np.concatenate([mp.x.to_numpy()[src] + rng.normal(0, 60, n_hot),
                        cells.x.to_numpy()[c] + rng.uniform(-50, 50, n - n_hot)])
    y = np.concatenate([mp.y.to_numpy()[src] + rng.normal(0, 60, n_hot),
                        cells.y.to_numpy()[c] + rng.uniform(-50, 50, n - n_hot)])
    when = _at(rng, _days(rng, n, WEEKEND), NIGHT_HOURS)
    cat = np.array(list(AMBULANCE_CATEGORIES), dtype=object)[
        weighted_choice(rng, np.array(list(AMBULANCE_CATEGORIES.values())), n)]
    lon, lat = bng_to_wgs84(x, y)
    frame = pd.DataFrame({"when": when, "latitude": format_fixed(lat, 6), "longitude": format_fixed(lon, 6),
                          "call_category": cat}).sort_values("when", kind="stable").reset_index(drop=True)
    frame.insert(0, "call_id", "MAS" + pd.Series(np.arange(len(frame)) * 13 + 20_230_000 + rng.integers(
        0, 13, len(frame))).astype(str))
    frame.insert(1, "call_datetime", frame.when.dt.strftime("%Y-%m-%dT%H:%M:%S"))
    return frame[["call_id", "call_datetime", "latitude", "longitude", "call_category"]]


# ---------------------------------------------------------------------------------------- council

COUNCIL_TYPES = {"Fly-tipping": 0.38, "Noise": 0.22, "Nuisance neighbours": 0.15, "Graffiti": 0.13,
                 "Abandoned vehicle": 0.12}
COUNCIL_HEADER = ["Ref", "Date Reported", "Report Type", "Street", "Easting", "Northing"]
COUNCIL_TITLE = "Riverton Borough Council - ASB and environmental reports, 01/01/2023 to 31/12/2025"


def council_reports(rng: np.random.Generator, geo: Geography) -> pd.DataFrame:
    """About 2,800 reports a year; street names include accented ones (cp1252-encodable)."""
    mp = geo.map_points
    ok = (mp.sa_index.to_numpy() >= 0) & (mp.place_type.to_numpy() == "")
    n = int(rng.poisson(2800 * 3))
    kinds = np.array(list(COUNCIL_TYPES), dtype=object)[weighted_choice(rng, np.array(list(COUNCIL_TYPES.values())), n)]
    season = np.array([0.85, 0.85, 0.95, 1.0, 1.1, 1.2, 1.25, 1.2, 1.0, 0.95, 0.9, 0.8])
    days = _days(rng, n, np.array([1.2, 1.1, 1.05, 1.0, 1.0, 0.7, 0.6]), season)
    d_tc = distance(mp.x.to_numpy(), mp.y.to_numpy(), TOWN_CENTRE)
    w = ok * (1 + 2 * np.exp(-d_tc**2 / (2 * 900.0**2)))
    pt = weighted_choice(rng, w, n)
    frame = pd.DataFrame({
        "day": days, "Report Type": kinds, "Street": mp.street.to_numpy()[pt],
        "Easting": np.round(mp.x.to_numpy()[pt] + rng.uniform(-30, 30, n)).astype(np.int64),
        "Northing": np.round(mp.y.to_numpy()[pt] + rng.uniform(-30, 30, n)).astype(np.int64),
    }).sort_values("day", kind="stable").reset_index(drop=True)
    frame.insert(0, "Ref", "CR" + (pd.Series(np.arange(len(frame))) + 230_001).astype(str))
    frame.insert(1, "Date Reported", frame.day.dt.strftime("%d/%m/%Y"))
    return frame[COUNCIL_HEADER]


def write_council(frame: pd.DataFrame, dest: Path, seed: int) -> dict[str, Path]:
    """Write the xlsx (title row, blank row, header on row 3, text dates) and the cp1252 CSV."""
    from openpyxl import Workbook

    folder = dest / "council"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = fixed_timestamp(seed)
    wb = Workbook()
    ws = wb.active
    ws.title = "Reports"
    ws.append([COUNCIL_TITLE])
    ws.append([])
    ws.append(COUNCIL_HEADER)
    for row in frame.to_numpy().tolist():  # openpyxl only writes row by row
        ws.append(row)
    for cell in ws["B"][3:]:
        cell.number_format = "@"
    wb.properties.creator = "Riverton Borough Council"
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.properties.lastModifiedBy = "Community Safety Team"
    buffer = io.BytesIO()
    wb.save(buffer)
    xlsx = folder / "asb_environmental_reports.xlsx"
    xlsx.write_bytes(rezip_fixed(buffer.getvalue(), stamp))
    csv = write_csv(frame, folder / "asb_environmental_reports.csv", encoding="cp1252")
    return {"council_reports": xlsx, "council_reports_csv": csv}


# -------------------------------------------------------------------------------------- licensing

PUBS = ["The Red Lion", "The White Hart", "The Royal Oak", "The Crown", "The Plough", "The Swan", "The Bell",
        "The Kings Arms", "The Queens Head", "The George", "The Black Horse", "The Anchor", "The Wheatsheaf",
        "The Golden Fleece", "The Fox and Hounds", "The Rose and Crown", "The Green Man", "The Coach and Horses",
        "The Railway", "The Bull", "The Feathers", "The Star", "The Nags Head", "The Three Tuns", "The Old Mill",
        "The Farmers Arms", "The Cricketers", "The New Inn", "The Boat", "The Duke of York", "The Oddfellows Arms",
        "The Prince of Wales", "The Masons Arms", "The Woolpack", "The Hare and Hounds", "The Malt Shovel",
        "The Dog and Partridge", "The Eagle"]
LOCALITIES = ["Northwick", "Eastbank", "Southmoor", "Hollins Park", "Market Street", "Station Road", "Abbey"]
PREMISES = {  # kind: (count, share within the town centre, late-night probability, name stems)
    "pub": (38, 0.55, 0.35, PUBS),
    "bar": (12, 0.9, 0.85, ["Vault", "Cellar Bar", "Social", "Tap Room", "Lounge", "Cocktail Club", "Gin Bar"]),
    "nightclub": (5, 1.0, 1.0, ["Club Neon", "Pulse", "Mirage", "The Warehouse", "Electric"]),
    "restaurant": (24, 0.6, 0.15, ["Spice Garden", "La Piazza", "Golden Dragon", "The Brasserie", "Taj Mahal",
                                   "Bella Italia", "Olive Tree", "Thai Orchid", "Mezze House", "Riverside Grill"]),
    "takeaway": (14, 0.6, 0.6, ["Kebab House", "Fish Bar", "Pizza Express Delivery", "Chicken Shack", "Noodle Bar"]),
    "off_licence": (22, 0.35, 0.05, ["Convenience Store", "Wines", "Local", "Mini Market", "Food and Wine"]),
    "hotel": (5, 0.6, 0.6, ["Station Hotel", "Riverside Hotel", "Premier Lodge", "Castle Hotel", "Abbey Inn"]),
}


def licensed_premises(rng: np.random.Generator, geo: Geography) -> pd.DataFrame:
    """About 120 premises, concentrated in the town centre; some with late-night licences."""
    cells = geo.cells
    cx, cy = cells.x.to_numpy(), cells.y.to_numpy()
    d_tc = distance(cx, cy, TOWN_CENTRE)
    tc_w = np.exp(-d_tc**2 / (2 * 350.0**2))
    parts = []
    for kind, (count, tc_share, late_p, stems) in PREMISES.items():
        in_tc = rng.random(count) < tc_share
        c = np.where(in_tc, weighted_choice(rng, tc_w, count), weighted_choice(rng, cells.population.to_numpy(), count))
        names = np.array(stems, dtype=object)[np.arange(count) % len(stems)]
        # A second branch of the same name carries its locality, as real registers do.
        repeat = np.arange(count) >= len(stems)
        prefix = np.array(LOCALITIES, dtype=object)[(np.arange(count) // len(stems) + np.arange(count)) % len(LOCALITIES)]
        names = np.where(repeat, prefix + " " + names, names)
        late = rng.random(count) < late_p * np.where(in_tc, 1.0, 0.5)
        late_close = np.array(["00:00", "00:30", "01:00", "02:00", "03:00"])[
            weighted_choice(rng, np.array([3, 3, 3, 2, 1.0 if kind == "nightclub" else 0.2]), count)]
        normal_close = np.array(["22:00", "22:30", "23:00"])[weighted_choice(rng, np.array([1, 1, 3.0]), count)]
        parts.append(pd.DataFrame({"kind": kind, "name": names, "x": cx[c] + rng.uniform(-45, 45, count),
                                   "y": cy[c] + rng.uniform(-45, 45, count), "late": late,
                                   "closing": np.where(late, late_close, normal_close)}))
    p = pd.concat(parts, ignore_index=True)
    p = p.iloc[rng.permutation(len(p))].reset_index(drop=True)
    # Fictional postcodes (area "RV"): district by distance from the town centre.
    dist = distance(p.x.to_numpy(), p.y.to_numpy(), TOWN_CENTRE)
    sector = (np.degrees(np.arctan2(p.y - TOWN_CENTRE[1], p.x - TOWN_CENTRE[0])) % 360 // 90).astype(int)
    district = np.where(dist < 1200, 1, 2 + sector + 4 * (dist > 4000))
    letters = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))
    postcode = ("RV" + pd.Series(district).astype(str) + " " + pd.Series(rng.integers(1, 10, len(p))).astype(str)
                + pd.Series(letters[rng.integers(0, letters.size, len(p))])
                + pd.Series(letters[rng.integers(0, letters.size, len(p))])).to_numpy()
    lon, lat = bng_to_wgs84(p.x.to_numpy(), p.y.to_numpy())
    return pd.DataFrame({
        "premises_ref": "LIC/" + (pd.Series(np.arange(len(p))) + 1).astype(str).str.zfill(4),
        "premises_name": p.name.to_numpy(), "postcode": postcode,
        "latitude": format_fixed(lat, 6), "longitude": format_fixed(lon, 6),
        "late_night_licence": np.where(p.late, "Y", "N"), "closing_time": p.closing.to_numpy(),
    })


# ------------------------------------------------------------------------------- youth offending

def ward_populations(geo: Geography, version: str) -> pd.DataFrame:
    """Population and young people (10-17 approximated from bands) per ward of ``version``."""
    wards = geo.wards_2019 if version == "2019" else geo.wards_2024
    cells = geo.cells
    w = _assign(wards.geometry, cells.x.to_numpy(), cells.y.to_numpy())
    ok = w >= 0
    pop = np.bincount(w[ok], cells.population.to_numpy()[ok], minlength=len(wards))
    dens = np.bincount(w[ok], cells.density.to_numpy()[ok] * cells.population.to_numpy()[ok],
                       minlength=len(wards)) / np.maximum(pop, 1)
    return pd.DataFrame({"ward_code": wards.ward_code.to_numpy(), "ward_name": wards.ward_name.to_numpy(),
                         "population": pop, "density": dens})


def yos_first_time_entrants(rng: np.random.Generator, geo: Geography) -> pd.DataFrame:
    """First-time entrants by ward and quarter; 2019 ward codes up to 2024-Q2, 2024 codes after."""
    quarters = pd.period_range("2023Q1", "2025Q4", freq="Q")
    parts = []
    for version in ("2019", "2024"):
        wp = ward_populations(geo, version)
        rate = 0.035 / 1000 * (1 + wp.density.to_numpy() / 3000.0)  # per resident per quarter
        qs = [q for q in quarters if (q.start_time < pd.Timestamp("2024-05-01")) == (version == "2019")]
        for q in qs:
            parts.append(pd.DataFrame({"ward_code": wp.ward_code, "quarter": f"{q.year}-Q{q.quarter}",
                                       "first_time_entrants": rng.poisson(rate * wp.population.to_numpy())}))
    return pd.concat(parts, ignore_index=True)


def write_partners(rng: np.random.Generator, geo: Geography, police: pd.DataFrame, dest: Path, seed: int
                   ) -> dict[str, Path]:
    """Write every partner dataset except nominals, survey, strategy and peers."""
    out: dict[str, Path] = {}
    out["fire_deliberate"] = write_csv(fire_incidents(rng, geo), dest / "fire" / "deliberate_fires.csv")
    by_area, profile = ed_assaults(rng, geo, police)
    out["ed_assaults"] = write_csv(by_area, dest / "health" / "ed_assaults_by_area_month.csv")
    out["ed_assaults_time"] = write_csv(profile, dest / "health" / "ed_assaults_time_profile.csv")
    out["ambulance_assaults"] = write_csv(ambulance_callouts(rng, geo, police),
                                          dest / "ambulance" / "assault_callouts.csv")
    out.update(write_council(council_reports(rng, geo), dest, seed))
    out["licensed_premises"] = write_csv(licensed_premises(rng, geo), dest / "licensing" / "licensed_premises.csv")
    out["yos_fte"] = write_csv(yos_first_time_entrants(rng, geo), dest / "yos" / "first_time_entrants.csv")
    return out

