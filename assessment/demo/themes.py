"""Statutory-theme partner files: proven reoffending, drug and alcohol treatment, and a force
crime-system extract (domestic abuse, hate crime, weapons, victims and offenders).

Every file here is synthetic. It is drawn from its own random generator (seeded from the demo
seed and a fixed salt), so adding these files leaves every other demo file byte for byte as it
was. Rates and shares below are generator settings chosen to look plausible, not published
figures.

Layouts:

- ``probation/proven_reoffending.csv``: one row per quarterly offender cohort and offender type
  (adult, juvenile), with the measures the Ministry of Justice publishes for a local authority:
  offenders in the cohort, reoffenders, reoffences, the proportion who reoffend and the
  reoffences per reoffender.
- ``treatment/ndtms_adults_in_treatment.csv``: one row per financial year and substance group
  (opiate, non-opiate only, non-opiate and alcohol, alcohol only), with numbers in treatment,
  new presentations and successful completions, as the national drug treatment monitoring
  system reports them to a local area.
- ``police_extract/crime_extract.csv``: one row per recorded crime in the assessment window:
  crime reference, recorded date and time, offence group, weapon, domestic abuse flag, hate
  crime flag and strand, ward, and for the victim and the (identified) offender a person id,
  age band, sex and a repeat flag (another crime in the same role within 365 days before).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ._common import MONTHS, PARTNERSHIP_CODE, PARTNERSHIP_NAME, WARD_REVIEW_DATE, weighted_choice, write_csv
from .geography import Geography

#: Salt mixed into the demo seed for this module's generator (keeps the other files unchanged).
SALT = 13_2026

AGE_BANDS = ["Under 18", "18-24", "25-34", "35-44", "45-54", "55-64", "65 and over"]
#: offence group: (mean crimes a month, share domestic abuse, share hate crime, share with an
#: identified offender, share female victims, knife share, firearm share, victim age weights)
OFFENCE_GROUPS = {
    "Violence with injury": (110, 0.36, 0.015, 0.75, 0.48, 0.06, 0.004, (1, 3, 3, 2, 1.2, 0.6, 0.3)),
    "Violence without injury": (130, 0.40, 0.03, 0.72, 0.55, 0.01, 0.001, (1, 3, 3, 2, 1.2, 0.6, 0.4)),
    "Stalking and harassment": (55, 0.45, 0.04, 0.80, 0.72, 0.0, 0.0, (0.6, 2.5, 3, 2.2, 1.4, 0.8, 0.4)),
    "Sexual offences": (20, 0.22, 0.0, 0.60, 0.86, 0.0, 0.0, (3, 3, 2, 1.2, 0.6, 0.3, 0.1)),
    "Robbery of personal property": (9, 0.0, 0.03, 0.35, 0.25, 0.22, 0.02, (3, 3, 1.5, 1, 0.6, 0.4, 0.3)),
    "Robbery of business property": (1.5, 0.0, 0.0, 0.30, 0.45, 0.30, 0.05, (0.2, 2, 2, 2, 1.5, 1, 0.2)),
    "Residential burglary": (45, 0.02, 0.005, 0.15, 0.52, 0.0, 0.0, (0.1, 1, 2, 2, 2, 1.6, 1.6)),
    "Non-residential burglary": (15, 0.0, 0.0, 0.12, 0.40, 0.0, 0.0, (0.1, 0.5, 2, 2.5, 2.5, 1.5, 0.5)),
    "Criminal damage": (95, 0.12, 0.02, 0.22, 0.52, 0.0, 0.0, (0.4, 1.2, 2, 2, 1.8, 1.2, 1)),
    "Arson": (10, 0.05, 0.0, 0.10, 0.50, 0.0, 0.0, (0.3, 1, 2, 2, 1.8, 1.2, 1)),
    "Public order offences": (80, 0.08, 0.10, 0.78, 0.50, 0.0, 0.0, (0.8, 2.5, 2.5, 2, 1.4, 0.8, 0.4)),
    "Possession of weapons offences": (10, 0.0, 0.0, 1.0, 0.0, 0.80, 0.05, (1, 1, 1, 1, 1, 1, 1)),
}
HATE_STRANDS = {"Race": 0.68, "Religion": 0.08, "Sexual orientation": 0.13, "Disability": 0.07, "Transgender": 0.04}
OFFENDER_AGE = np.array([2.2, 3.0, 3.0, 2.0, 1.2, 0.5, 0.2])
EXTRACT_COLUMNS = ["crime_reference", "recorded_date", "offence_group", "weapon", "domestic_abuse", "hate_crime",
                   "hate_strand", "ward_code", "victim_id", "victim_age_band", "victim_sex", "repeat_victim",
                   "offender_id", "offender_age_band", "offender_sex", "repeat_offender"]


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), SALT])


def _quarters(first: str, last: str) -> pd.PeriodIndex:
    return pd.period_range(first, last, freq="Q")


def _cohort_label(q: pd.Period) -> str:
    """A cohort quarter as the published tables name it: "Jan 2023 to Mar 2023"."""
    start = q.start_time
    end = q.end_time
    return f"{start.strftime('%b %Y')} to {end.strftime('%b %Y')}"


def proven_reoffending(rng: np.random.Generator) -> pd.DataFrame:
    """Quarterly adult and juvenile cohorts, January 2021 to June 2024 (the published lag)."""
    quarters = _quarters("2021Q1", "2024Q2")
    t = np.arange(len(quarters))
    rows = []
    for kind, size, rate, per in (("Adult", 260.0, 0.265, 3.6), ("Juvenile", 22.0, 0.33, 3.9)):
        cohort = rng.poisson(size * (1 - 0.01 * t))
        p = np.clip(rate - 0.002 * t + rng.normal(0, 0.01, t.size), 0.05, 0.9)
        reoffenders = rng.binomial(cohort, p)
        reoffences = reoffenders + rng.poisson(np.maximum(reoffenders, 0) * (per - 1))
        share = np.where(cohort > 0, 100 * reoffenders / np.maximum(cohort, 1), np.nan)
        per_re = np.where(reoffenders > 0, reoffences / np.maximum(reoffenders, 1), np.nan)
        rows.append(pd.DataFrame({
            "Cohort period": [_cohort_label(q) for q in quarters],
            "Local authority code": PARTNERSHIP_CODE,
            "Local authority": PARTNERSHIP_NAME,
            "Offender type": kind,
            "Number of offenders in cohort": cohort,
            "Number of reoffenders": reoffenders,
            "Number of reoffences": reoffences,
            "Proportion of offenders who reoffend (%)": np.char.mod("%.1f", share),
            "Average number of reoffences per reoffender": np.char.mod("%.2f", per_re),
        }))
    out = pd.concat(rows, ignore_index=True)
    out["_q"] = np.tile(np.arange(len(quarters)), 2)
    return out.sort_values(["_q", "Offender type"], kind="stable").drop(columns="_q").reset_index(drop=True)


#: substance group: (adults in treatment a year, share new presentations, share completing successfully)
SUBSTANCE_GROUPS = {"Opiate": (420, 0.22, 0.05), "Non-opiate only": (160, 0.55, 0.33),
                    "Non-opiate and alcohol": (130, 0.52, 0.28), "Alcohol only": (300, 0.58, 0.34)}


def treatment_numbers(rng: np.random.Generator) -> pd.DataFrame:
    """Adults in drug and alcohol treatment by financial year and substance group."""
    years = ["2022-23", "2023-24", "2024-25"]
    rows = []
    for i, fy in enumerate(years):
        for group, (n, new, done) in SUBSTANCE_GROUPS.items():
            growth = 1.0 + 0.04 * i if group != "Opiate" else 1.0 - 0.01 * i
            in_treatment = int(rng.poisson(n * growth))
            rows.append({"Financial year": fy, "Local authority": PARTNERSHIP_NAME, "Substance group": group,
                         "Number in treatment": in_treatment,
                         "New presentations": int(rng.binomial(in_treatment, new)),
                         "Successful completions": int(rng.binomial(in_treatment, done))})
    return pd.DataFrame(rows)


def _repeat_flag(person: np.ndarray, day: np.ndarray, days: int = 365) -> np.ndarray:
    """True where the same person has an earlier record within ``days`` (person -1: none)."""
    order = np.lexsort((day, person))
    p, d = person[order], day[order]
    same = np.r_[False, p[1:] == p[:-1]] & (p >= 0)
    gap = np.r_[np.inf, np.diff(d).astype(float)]
    flag = np.zeros(person.size, dtype=bool)
    flag[order] = same & (gap <= days)
    return flag


def _people(rng: np.random.Generator, n_people: int, n_records: int, shape: float) -> np.ndarray:
    """Person index of each record: heterogeneous propensities make some people recur."""
    propensity = rng.gamma(shape, 1.0, n_people)
    return weighted_choice(rng, propensity, n_records)


def crime_extract(rng: np.random.Generator, geo: Geography, violence_weight: np.ndarray) -> pd.DataFrame:
    """The force crime-system extract, one row per crime, 2023-01 to 2025-12."""
    days = pd.date_range(MONTHS[0].start_time, MONTHS[-1].end_time.normalize(), freq="D")
    n_days = len(days)
    groups = list(OFFENCE_GROUPS)
    per_day = np.array([OFFENCE_GROUPS[g][0] for g in groups]) * 12 / 365.25
    counts = rng.poisson(per_day * n_days)
    group = np.repeat(np.arange(len(groups)), counts)
    n = group.size
    spec = {k: np.array([OFFENCE_GROUPS[g][i] for g in groups]) for i, k in enumerate(
        ["mean", "da", "hate", "offender", "female", "knife", "firearm"])}
    summer = 1 + 0.12 * np.cos(2 * np.pi * (days.month.to_numpy() - 7) / 12)
    day = weighted_choice(rng, summer, n)
    minute = rng.integers(0, 24 * 60, n)
    when = days[day] + pd.to_timedelta(minute, unit="min")
    da = rng.random(n) < spec["da"][group]
    hate = (rng.random(n) < spec["hate"][group]) & ~da
    strand = np.where(hate, np.array(list(HATE_STRANDS), dtype=object)[
        weighted_choice(rng, np.array(list(HATE_STRANDS.values())), n)], "")
    u = rng.random(n)
    weapon = np.where(u < spec["firearm"][group], "Firearm",
                      np.where(u < spec["firearm"][group] + spec["knife"][group], "Knife or sharp instrument", ""))
    # Ward: where violence happens (map points inside the partnership), boundaries in force that day.
    mp = geo.map_points
    inside = np.flatnonzero(mp.sa_index.to_numpy() >= 0)
    point = inside[weighted_choice(rng, violence_weight[inside], n)]
    after = when >= pd.Timestamp(WARD_REVIEW_DATE)
    codes19 = geo.wards_2019.ward_code.to_numpy()
    codes24 = geo.wards_2024.ward_code.to_numpy()
    ward = np.where(after, codes24[mp.ward_2024.to_numpy()[point]], codes19[mp.ward_2019.to_numpy()[point]])
    # Victims: domestic abuse victims recur more than others (a smaller, more uneven pool).
    victim = np.empty(n, dtype=np.int64)
    n_da, n_other = int(da.sum()), int((~da).sum())
    victim[da] = _people(rng, max(2 * n_da, 1), n_da, 0.8)
    victim[~da] = max(n_da, 1) + _people(rng, max(n_other * 4, 1), n_other, 2.0)
    n_victims = int(victim.max()) + 1
    v_female = rng.random(n_victims)
    female_share = spec["female"][group]
    v_sex = np.where(v_female[victim] < np.where(da, 0.78, female_share), "Female", "Male").astype(object)
    v_age = np.empty(n, dtype=object)
    person_age = rng.random(n_victims)
    for g in range(len(groups)):  # a dozen offence groups, not rows
        rows = np.flatnonzero(group == g)
        w = np.asarray(OFFENCE_GROUPS[groups[g]][7], dtype=float)
        cum = np.cumsum(w / w.sum())
        v_age[rows] = np.array(AGE_BANDS, dtype=object)[np.minimum(np.searchsorted(cum, person_age[victim[rows]]),
                                                                    len(AGE_BANDS) - 1)]
    unrecorded = rng.random(n) < 0.03
    v_age[unrecorded] = "Not recorded"
    business = np.isin(np.array(groups)[group], ["Robbery of business property", "Non-residential burglary"])
    # Offenders: identified for a share of crimes; a small pool of prolific offenders recurs.
    known = rng.random(n) < np.where(da, 0.88, spec["offender"][group])
    offender = np.full(n, -1, dtype=np.int64)
    n_known = int(known.sum())
    offender[known] = _people(rng, max(n_known, 1), n_known, 0.5)
    n_off = max(int(offender.max()) + 1, 1)
    o_male = rng.random(n_off) < 0.82
    o_sex = np.where(known, np.where(o_male[np.maximum(offender, 0)], "Male", "Female"), "").astype(object)
    o_age_idx = weighted_choice(rng, OFFENDER_AGE, n_off)
    o_age = np.where(known, np.array(AGE_BANDS, dtype=object)[o_age_idx[np.maximum(offender, 0)]], "").astype(object)
    # Person ids as the force system issues them; victims of business crime are the business.
    id_pool = rng.choice(90_000_000, size=n_victims + n_off, replace=False) + 10_000_000
    v_id = np.char.add("P", id_pool[victim].astype(str)).astype(object)
    o_raw = np.char.add("P", id_pool[n_victims + np.maximum(offender, 0)].astype(str))
    o_id = np.where(known, o_raw, "").astype(object)
    v_sex[business] = "Not applicable"
    v_age[business] = "Not applicable"
    rep_v = _repeat_flag(np.where(business, -1, victim), day)
    rep_o = _repeat_flag(offender, day)
    frame = pd.DataFrame({
        "_when": when, "offence_group": np.array(groups, dtype=object)[group], "weapon": weapon,
        "domestic_abuse": np.where(da, "Y", "N"), "hate_crime": np.where(hate, "Y", "N"), "hate_strand": strand,
        "ward_code": ward, "victim_id": v_id, "victim_age_band": v_age, "victim_sex": v_sex,
        "repeat_victim": np.where(rep_v, "Y", "N"), "offender_id": o_id, "offender_age_band": o_age,
        "offender_sex": o_sex, "repeat_offender": np.where(rep_o & known, "Y", "N"),
    }).sort_values("_when", kind="stable").reset_index(drop=True)
    yy = frame["_when"].dt.strftime("%y")
    seq = frame.groupby(yy).cumcount() + 1
    frame["crime_reference"] = "RVC/" + yy + "/" + seq.astype(str).str.zfill(6)
    frame["recorded_date"] = frame["_when"].dt.strftime("%d/%m/%Y %H:%M")
    return frame[EXTRACT_COLUMNS]


def write_themes(geo: Geography, dest: Path, seed: int, violence_weight: np.ndarray) -> dict[str, Path]:
    """Write the three statutory-theme files under ``dest`` from their own generator."""
    rng = _rng(seed)
    return {
        "proven_reoffending": write_csv(proven_reoffending(rng), dest / "probation" / "proven_reoffending.csv"),
        "drug_alcohol_treatment": write_csv(treatment_numbers(rng),
                                            dest / "treatment" / "ndtms_adults_in_treatment.csv"),
        "police_crime_extract": write_csv(crime_extract(rng, geo, violence_weight),
                                          dest / "police_extract" / "crime_extract.csv"),
    }
