"""Police recorded crime and ASB for Riverton, in data.police.uk street and outcomes format.

Monthly expected counts per crime type carry the planted patterns (summer ASB peak, falling
vehicle crime, the Public order series break, the year-3 burglary cluster); each event is
placed on one of the fixed anonymised map points with type-specific spatial weights (the
town-centre violence hotspot lives there). Then the real files' quirks are added: ASB rows
without Crime ID or outcome, about 2% duplicated Crime IDs and about 5% rows with no location.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ._common import (BURGLARY_CLUSTER, FORCE, FORCE_NAME, MONTH_LABELS, MONTHS, SERIES_BREAK_MONTH,
                      TOWN_CENTRE, distance, format_fixed, hex_ids, weighted_choice, write_csv)
from .geography import SETTLEMENTS, RURAL_DENSITY, Geography

STREET_COLUMNS = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
                  "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"]
OUTCOME_COLUMNS = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
                   "LSOA code", "LSOA name", "Outcome type"]

ASB = "Anti-social behaviour"
#: Monthly mean at the start of the window (crimes about 986 a month, ASB about 417).
BASE_MONTHLY = {
    ASB: 417.0,
    "Bicycle theft": 16.0,
    "Burglary": 60.0,
    "Criminal damage and arson": 105.0,
    "Drugs": 35.0,
    "Other crime": 25.0,
    "Other theft": 110.0,
    "Possession of weapons": 10.0,
    "Public order": 85.0,
    "Robbery": 10.0,
    "Shoplifting": 105.0,
    "Theft from the person": 15.0,
    "Vehicle crime": 85.0,
    "Violence and sexual offences": 330.0,
}
CRIME_TYPES = list(BASE_MONTHLY)
#: Seasonal amplitude (cosine peaking in July; negative peaks in January).
SEASON_AMPLITUDE = {"Bicycle theft": 0.30, "Burglary": -0.10, "Criminal damage and arson": 0.06,
                    "Violence and sexual offences": 0.08, "Other theft": 0.04, "Shoplifting": 0.0}
#: ASB month multipliers (Jan..Dec): summer (Jun-Aug) about 1.5 x winter (Dec-Feb).
ASB_SEASON = np.array([0.84, 0.83, 0.92, 1.00, 1.10, 1.24, 1.30, 1.26, 1.04, 1.00, 0.98, 0.82])
VEHICLE_ANNUAL_FALL = 0.15
PUBLIC_ORDER_STEP = 0.40
#: Share of rows published without a location, by crime type (about 5% of all rows overall).
NO_LOCATION_RATE = {"Violence and sexual offences": 0.12, "Other crime": 0.30, "Drugs": 0.06, ASB: 0.004}
NO_LOCATION_DEFAULT = 0.03
DUPLICATE_RATE = 0.02

# ------------------------------------------------------------------------------ outcomes
_COURT = {"Offender sent to prison": 0.22, "Offender given suspended prison sentence": 0.14,
          "Offender given community sentence": 0.14, "Offender fined": 0.20,
          "Offender given conditional discharge": 0.09, "Defendant found not guilty": 0.08,
          "Court result unavailable": 0.08, "Court case unable to proceed": 0.03,
          "Offender ordered to pay compensation": 0.02}


def _profile(court: float, **weights: float) -> dict[str, float]:
    named = {
        "no_suspect": "Investigation complete; no suspect identified", "unable": "Unable to prosecute suspect",
        "awaiting": "Awaiting court outcome", "caution": "Offender given a caution",
        "local": "Local resolution", "not_pi": "Formal action is not in the public interest",
        "further_not_pi": "Further investigation is not in the public interest",
        "status": "Status update unavailable", "other_org": "Action to be taken by another organisation",
        "pnd": "Offender given penalty notice", "drugs_warning": "Offender given a drugs possession warning",
        "another_case": "Suspect charged as part of another case", "otherwise": "Offender otherwise dealt with",
    }
    out = {named[k]: v for k, v in weights.items()}
    for k, v in _COURT.items():
        out[k] = out.get(k, 0.0) + court * v
    return out


_UNDETECTED = _profile(0.05, no_suspect=0.62, unable=0.14, awaiting=0.03, caution=0.01, local=0.02,
                       status=0.06, further_not_pi=0.04, other_org=0.01, another_case=0.01, otherwise=0.01)
OUTCOME_PROFILES = {
    "Bicycle theft": _UNDETECTED, "Burglary": _UNDETECTED, "Vehicle crime": _UNDETECTED,
    "Theft from the person": _UNDETECTED, "Other theft": _UNDETECTED, "Robbery": _profile(
        0.09, no_suspect=0.45, unable=0.25, awaiting=0.08, caution=0.01, local=0.01, status=0.06,
        further_not_pi=0.03, another_case=0.02),
    "Criminal damage and arson": _profile(0.04, no_suspect=0.50, unable=0.22, awaiting=0.02, caution=0.02,
                                          local=0.06, status=0.06, not_pi=0.02, further_not_pi=0.04,
                                          other_org=0.02),
    "Violence and sexual offences": _profile(0.06, no_suspect=0.13, unable=0.50, awaiting=0.06, caution=0.03,
                                             local=0.04, not_pi=0.04, status=0.07, further_not_pi=0.04,
                                             other_org=0.02, another_case=0.01),
    "Public order": _profile(0.05, no_suspect=0.18, unable=0.45, awaiting=0.04, caution=0.04, local=0.06,
                             not_pi=0.04, status=0.06, pnd=0.03, further_not_pi=0.03, other_org=0.02),
    "Shoplifting": _profile(0.15, no_suspect=0.42, unable=0.10, awaiting=0.08, caution=0.03, local=0.06,
                            status=0.04, pnd=0.02, another_case=0.02, further_not_pi=0.08),
    "Drugs": _profile(0.14, drugs_warning=0.25, local=0.14, caution=0.09, awaiting=0.12, unable=0.10,
                      not_pi=0.05, status=0.05, no_suspect=0.03, pnd=0.03),
    "Possession of weapons": _profile(0.30, awaiting=0.20, unable=0.16, caution=0.08, local=0.04,
                                      no_suspect=0.08, status=0.05, another_case=0.02),
    "Other crime": _profile(0.14, unable=0.30, no_suspect=0.22, awaiting=0.10, caution=0.04, status=0.10,
                            other_org=0.05, not_pi=0.03, local=0.02),
}
NO_ROW_OUTCOMES = {"Under investigation", "Status update unavailable"}


def monthly_means() -> pd.DataFrame:
    """Expected counts per crime type (rows) and month (columns) with the planted trends."""
    t = np.arange(len(MONTHS))
    month_of_year = MONTHS.month.to_numpy()
    after_break = np.asarray(MONTH_LABELS >= SERIES_BREAK_MONTH)
    rows = {}
    for kind, base in BASE_MONTHLY.items():
        amp = SEASON_AMPLITUDE.get(kind, 0.0)
        mean = base * (1 + amp * np.cos(2 * np.pi * (month_of_year - 7) / 12))
        if kind == ASB:
            mean = base * ASB_SEASON[month_of_year - 1]
        elif kind == "Vehicle crime":
            mean = base * (1 - VEHICLE_ANNUAL_FALL) ** (t / 12.0)
        elif kind == "Public order":
            mean = np.where(after_break, base * (1 + PUBLIC_ORDER_STEP), base)
        elif kind == "Violence and sexual offences":
            # Harassment moves from violence to public order: the same volume leaves violence.
            mean = mean - np.where(after_break, BASE_MONTHLY["Public order"] * PUBLIC_ORDER_STEP, 0.0)
        rows[kind] = mean
    return pd.DataFrame(rows, index=MONTH_LABELS).T


def _point_weights(geo: Geography) -> dict[str, np.ndarray]:
    mp = geo.map_points
    x, y = mp.x.to_numpy(), mp.y.to_numpy()
    dens = np.full(x.size, RURAL_DENSITY)
    for sx, sy, peak, sigma in SETTLEMENTS:
        dens += peak * np.exp(-distance(x, y, (sx, sy)) ** 2 / (2 * sigma**2))
    d = distance(x, y, TOWN_CENTRE)

    def tc(sigma: float) -> np.ndarray:
        return np.exp(-d**2 / (2 * sigma**2))

    # Map points are themselves denser where people are; dividing by that density makes the
    # events of a "residential" type follow population rather than population squared.
    base = dens**0.2 / (1 + 4 * tc(700.0))
    base = base * np.where(mp.sa_index.to_numpy() < 0, 0.5, 1.0)  # just over the boundary
    place = mp.place_type.to_numpy()
    shop = np.isin(place, ["Supermarket", "Shopping Area"])
    street = place == ""
    club = place == "Nightclub"
    w = {
        "Violence and sexual offences": base * (1 + 9 * tc(260.0)) * np.where(club, 3.0, 1.0),
        "Public order": base * (1 + 12 * tc(300.0)) * np.where(club, 2.0, 1.0),
        "Theft from the person": base * (1 + 30 * tc(300.0)),
        "Robbery": base * (1 + 10 * tc(400.0)),
        "Other theft": base * (1 + 6 * tc(500.0)) * np.where(street, 1.0, 2.5),
        "Shoplifting": base * (0.15 + 2 * tc(500.0)) + base * np.where(shop, 25.0, 0.0)
        + base * np.where(place == "Petrol Station", 6.0, 0.0),
        "Burglary": base * np.where(street, 1.0, 0.15),
        "Vehicle crime": base * np.where(place == "Parking Area", 5.0, 1.0),
        "Criminal damage and arson": base * (1 + 1.5 * tc(600.0)),
        "Drugs": base * (1 + 8 * tc(400.0)),
        "Bicycle theft": base * (1 + 8 * tc(600.0)) * np.where(
            np.isin(place, ["Bus/Coach Station", "Further/Higher Educational Building", "Sports/Recreation Area"]),
            3.0, 1.0),
        "Possession of weapons": base * (1 + 8 * tc(400.0)),
        "Other crime": base.copy(),
        ASB: base * (1 + 5 * tc(500.0)) * np.where(np.isin(place, ["Sports/Recreation Area", "Shopping Area"]),
                                                   2.0, 1.0),
    }
    return w


def generate_police_events(rng: np.random.Generator, geo: Geography, scale: float = 1.0,
                           mix: dict[str, float] | None = None) -> pd.DataFrame:
    """One row per published street-level row (duplicates included).

    ``scale`` multiplies every expected monthly count and ``mix`` (crime type to multiplier)
    tilts the crime mix; the defaults give Riverton.

    Columns: ``crime_id`` ('' for ASB), ``month_index``, ``crime_type``, ``point`` (map point
    index), ``located`` (False for "No Location" rows), ``outcome`` ('' for ASB),
    ``outcome_month_index`` (-1 when no outcome row), ``is_duplicate``.
    """
    means = monthly_means()
    if scale != 1.0 or mix:
        tilt = np.array([(mix or {}).get(k, 1.0) for k in means.index])
        means = means.mul(scale * tilt, axis=0)
    weights = _point_weights(geo)
    n_months = len(MONTHS)
    mp = geo.map_points
    parts = []
    for kind in CRIME_TYPES:
        counts = rng.poisson(means.loc[kind].to_numpy())
        month_index = np.repeat(np.arange(n_months), counts)
        point = weighted_choice(rng, weights[kind], month_index.size)
        parts.append(pd.DataFrame({"crime_type": kind, "month_index": month_index, "point": point}))
    # The year-3 burglary cluster: extra burglaries on the estate from February 2025.
    ramp = np.array([0, 1.5, 2.5, 3.5, 4.5, 5, 5, 5, 5, 4.5, 4, 3.5])
    cluster_mean = np.concatenate([np.zeros(24), ramp])
    counts = rng.poisson(cluster_mean * scale if scale != 1.0 else cluster_mean)
    month_index = np.repeat(np.arange(n_months), counts)
    dc = distance(mp.x.to_numpy(), mp.y.to_numpy(), BURGLARY_CLUSTER)
    wc = np.exp(-dc**2 / (2 * 170.0**2)) * (dc < 330) * (mp.place_type.to_numpy() == "")
    parts.append(pd.DataFrame({"crime_type": "Burglary", "month_index": month_index,
                               "point": weighted_choice(rng, wc, month_index.size)}))
    ev = pd.concat(parts, ignore_index=True)
    n = len(ev)
    is_asb = (ev.crime_type == ASB).to_numpy()

    # Crime IDs (ASB rows have none) and locations.
    ids = hex_ids(rng, n)
    ids[is_asb] = ""
    ev["crime_id"] = ids
    type_rate = np.array([NO_LOCATION_RATE.get(k, NO_LOCATION_DEFAULT) for k in CRIME_TYPES])
    rate = type_rate[pd.Categorical(ev.crime_type, categories=CRIME_TYPES).codes]
    ev["located"] = rng.random(n) >= rate

    # Outcomes.
    ev["outcome"], ev["outcome_month_index"] = _outcomes(rng, ev, is_asb)

    # About 2% of crimes are published twice under the same Crime ID.
    crime_rows = np.flatnonzero(~is_asb)
    dup = np.sort(rng.choice(crime_rows, size=int(round(DUPLICATE_RATE * crime_rows.size)), replace=False))
    ev["is_duplicate"] = False
    copies = ev.iloc[dup].copy()
    copies["is_duplicate"] = True
    copies["outcome_month_index"] = -1
    ev = pd.concat([ev, copies], ignore_index=True)
    return ev


def _outcomes(rng: np.random.Generator, ev: pd.DataFrame, is_asb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(ev)
    outcome = np.full(n, "", dtype=object)
    lag = np.zeros(n, dtype=int)
    for kind, profile in OUTCOME_PROFILES.items():
        rows = np.flatnonzero((ev.crime_type == kind).to_numpy())
        cats = np.array(list(profile), dtype=object)
        outcome[rows] = cats[weighted_choice(rng, np.array(list(profile.values())), rows.size)]
    court = np.isin(outcome, list(_COURT))
    mean_lag = np.where(court, 5.0, np.where(outcome == "Awaiting court outcome", 2.0, 1.3))
    lag = rng.geometric(1.0 / (mean_lag + 1.0)) - 1
    last = len(MONTHS) - 1
    month = ev.month_index.to_numpy()
    out_month = month + lag
    # A court result not reached by the end of the window leaves the crime awaiting court,
    # charged at about a third of the way to the result; otherwise it is still under investigation.
    charge_month = month + lag // 3
    awaiting = court & (out_month > last) & (charge_month <= last)
    outcome[awaiting] = "Awaiting court outcome"
    out_month[awaiting] = charge_month[awaiting]
    late = out_month > last
    outcome[late] = "Under investigation"
    out_month = np.where(late | np.isin(outcome, list(NO_ROW_OUTCOMES)) | is_asb, -1, out_month)
    outcome[is_asb] = ""
    return outcome, out_month


def _located_columns(ev: pd.DataFrame, geo: Geography, no_location: str) -> pd.DataFrame:
    mp = geo.map_points
    p = ev.point.to_numpy()
    loc = ev.located.to_numpy()
    lon = np.where(loc, mp.lon.to_numpy()[p], np.nan)
    lat = np.where(loc, mp.lat.to_numpy()[p], np.nan)
    return pd.DataFrame({
        "Longitude": format_fixed(lon, 6), "Latitude": format_fixed(lat, 6),
        "Location": np.where(loc, mp.location.to_numpy()[p], no_location),
        "LSOA code": np.where(loc, mp.lsoa_code.to_numpy()[p], ""),
        "LSOA name": np.where(loc, mp.lsoa_name.to_numpy()[p], ""),
    }, index=ev.index)


def write_police(rng: np.random.Generator, ev: pd.DataFrame, geo: Geography, dest: Path) -> dict[str, Path]:
    """Write the 36 monthly street and outcomes files; returns the police folder."""
    street, outc = police_frames(rng, ev, geo, FORCE_NAME)
    return write_police_files(street, outc, dest / "police", FORCE)


def police_frames(rng: np.random.Generator, ev: pd.DataFrame, geo: Geography, force_name: str
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The street and outcomes rows of ``ev`` in data.police.uk layout, each ordered like the files."""
    # Shuffle once, then order each file like data.police.uk: by LSOA, located rows first.
    ev = ev.iloc[rng.permutation(len(ev))].reset_index(drop=True)
    street = _located_columns(ev, geo, "No Location")
    street.insert(0, "Crime ID", ev.crime_id.to_numpy())
    street.insert(1, "Month", MONTH_LABELS[ev.month_index.to_numpy()])
    street.insert(2, "Reported by", force_name)
    street.insert(3, "Falls within", force_name)
    street["Crime type"] = ev.crime_type.to_numpy()
    street["Last outcome category"] = ev.outcome.to_numpy()
    street["Context"] = ""
    street["_nl"] = ~ev.located.to_numpy()
    street["_pt"] = ev.point.to_numpy()
    street = street.sort_values(["Month", "_nl", "LSOA name", "_pt"], kind="stable")

    has_out = ev.outcome_month_index.to_numpy() >= 0
    oe = ev[has_out]
    outc = _located_columns(oe, geo, "No location")
    outc.insert(0, "Crime ID", oe.crime_id.to_numpy())
    outc.insert(1, "Month", MONTH_LABELS[oe.outcome_month_index.to_numpy()])
    outc.insert(2, "Reported by", force_name)
    outc.insert(3, "Falls within", force_name)
    outc["Outcome type"] = np.where(oe.outcome.to_numpy() == "Awaiting court outcome", "Suspect charged",
                                    oe.outcome.to_numpy())
    outc["_nl"] = ~oe.located.to_numpy()
    outc = outc.sort_values(["Month", "_nl", "LSOA name"], kind="stable")
    return street, outc


def write_police_files(street: pd.DataFrame, outc: pd.DataFrame, folder: Path, force: str) -> dict[str, Path]:
    """Write one street and one outcomes file per month of the window under ``folder``."""
    for label in MONTH_LABELS:
        mdir = folder / label
        mdir.mkdir(parents=True, exist_ok=True)
        s = street[street.Month == label][STREET_COLUMNS]
        write_csv(s, mdir / f"{label}-{force}-street.csv")
        o = outc[outc.Month == label][OUTCOME_COLUMNS]
        write_csv(o, mdir / f"{label}-{force}-outcomes.csv")
    return {"police": folder}
