"""Violence nominals: pseudonymisable person-level involvement in violence, 2018-01 to 2025-12.

People are simulated as careers: a first involvement, then (for a planted share of people)
further involvements separated by short gaps, each attached to a violent incident in the
person's home ward. About 1 in 4 victims and 1 in 3 offenders are involved again within
365 days, and some offenders also appear as victims.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ._common import WARD_REVIEW_DATE, weighted_choice, write_csv
from .geography import Geography

START = np.datetime64("2018-01-01")
END = np.datetime64("2025-12-31")
INCIDENTS_PER_YEAR = 2600
VICTIM_REPEAT_SHARE = 0.27
OFFENDER_REPEAT_SHARE = 0.37
BOTH_ROLES_SHARE = 0.12
CHECK_LETTERS = np.array(list("ABCDEFGHJKLMNPQRTUVWXYZ"))
COLUMNS = ["pnc_id", "date_of_birth", "role", "crime_ref", "incident_date", "ward_code"]


def _careers(rng: np.random.Generator, n: int, repeat_share: float, mean_gap: float, span: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """(person index, day offset) of each involvement for ``n`` people."""
    extra = np.where(rng.random(n) < repeat_share, rng.geometric(0.55, n), 0)
    k = 1 + extra
    person = np.repeat(np.arange(n), k)
    first = rng.integers(-400, span, n)  # careers already under way in 2018 are included
    gaps = 1 + np.round(rng.exponential(mean_gap, person.size)).astype(int)
    starts = np.cumsum(k) - k
    gaps[starts] = 0
    # cumulative gaps within each person's career
    cum = np.cumsum(gaps)
    cum = cum - np.repeat(cum[starts], k)
    day = first[person] + cum
    keep = (day >= 0) & (day < span)
    return person[keep], day[keep]


def generate_nominals(rng: np.random.Generator, geo: Geography, violence_weight: np.ndarray) -> pd.DataFrame:
    """Return the nominals table (columns as written), sorted by date and crime reference."""
    span = int((END - START).astype(int)) + 1
    mp = geo.map_points
    inside = np.flatnonzero(mp.sa_index.to_numpy() >= 0)
    n_inc = int(INCIDENTS_PER_YEAR * span / 365.25)
    inc_point = inside[weighted_choice(rng, violence_weight[inside], n_inc)]
    inc_day = np.sort(rng.integers(0, span, n_inc))
    inc_point = inc_point[rng.permutation(n_inc)]
    inc_ward = mp.ward_2019.to_numpy()[inc_point]
    n_wards = len(geo.wards_2019)

    def attach(person_ward: np.ndarray, person: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Index of the first incident on or after ``day`` in the person's home ward."""
        out = np.empty(person.size, dtype=np.int64)
        for w in range(n_wards):
            incs = np.flatnonzero(inc_ward == w)
            rows = np.flatnonzero(person_ward[person] == w)
            pos = np.minimum(np.searchsorted(inc_day[incs], day[rows]), incs.size - 1)
            out[rows] = incs[pos]
        return out

    ward_weight = np.bincount(inc_ward, minlength=n_wards).astype(float)
    n_victims, n_offenders = int(n_inc * 0.62), int(n_inc * 0.34)
    v_ward = weighted_choice(rng, ward_weight, n_victims)
    o_ward = weighted_choice(rng, ward_weight, n_offenders)
    vp, vd = _careers(rng, n_victims, VICTIM_REPEAT_SHARE, 95.0, span)
    op, od = _careers(rng, n_offenders, OFFENDER_REPEAT_SHARE, 110.0, span)
    v_inc, o_inc = attach(v_ward, vp, vd), attach(o_ward, op, od)
    # Some offenders are also victims (person ids shared across roles), at another incident.
    both = np.flatnonzero(rng.random(n_offenders) < BOTH_ROLES_SHARE)
    b_inc = attach(o_ward, both, rng.integers(0, span, both.size))

    person = np.concatenate([vp, n_victims + op, n_victims + both])
    role = np.concatenate([np.full(vp.size, "victim"), np.full(op.size, "offender"),
                           np.full(both.size, "victim")]).astype(object)
    inc = np.concatenate([v_inc, o_inc, b_inc])
    frame = pd.DataFrame({"person": person, "role": role, "inc": inc})
    frame = frame.drop_duplicates(["person", "role", "inc"]).reset_index(drop=True)

    # Persons: date of birth and a PNC-shaped id.
    n_people = n_victims + n_offenders
    first_day = pd.Series(inc_day[frame.inc.to_numpy()]).groupby(frame.person.to_numpy()).min()
    first = np.full(n_people, span // 2)
    first[first_day.index.to_numpy()] = first_day.to_numpy()
    age_years = np.minimum(np.concatenate([16 + rng.gamma(2.2, 8.0, n_victims),
                                           14 + rng.gamma(1.8, 7.0, n_offenders)]), 88.0)
    dob = START + (first - np.round(age_years * 365.25)).astype("timedelta64[D]")
    dob_year = dob.astype("datetime64[Y]").astype(int) + 1970
    recorded = np.minimum(dob_year + 18 + rng.integers(0, 6, n_people), 2025) % 100
    serial = rng.choice(999_999, size=n_people, replace=False) + 1
    pnc = (pd.Series(recorded).astype(str).str.zfill(2) + "/" + pd.Series(serial).astype(str).str.zfill(6)
           + CHECK_LETTERS[(serial + recorded) % CHECK_LETTERS.size]).to_numpy()

    used = np.unique(frame.inc.to_numpy())
    dates = START + inc_day.astype("timedelta64[D]")
    yy = pd.Series(dates[used].astype("datetime64[Y]").astype(int) + 1970) % 100
    seq = pd.Series(np.arange(used.size)).groupby(yy.to_numpy()).cumcount() + 1
    ref = np.empty(n_inc, dtype=object)
    ref[used] = ("RV/" + yy.astype(str).str.zfill(2) + "/" + (seq * 7 + rng.integers(0, 7, used.size))
                 .astype(str).str.zfill(6)).to_numpy()
    review = np.datetime64(WARD_REVIEW_DATE)
    codes19 = geo.wards_2019.ward_code.to_numpy()
    codes24 = geo.wards_2024.ward_code.to_numpy()
    pt = inc_point[frame.inc.to_numpy()]
    d = dates[frame.inc.to_numpy()]
    ward = np.where(d < review, codes19[mp.ward_2019.to_numpy()[pt]], codes24[mp.ward_2024.to_numpy()[pt]])
    out = pd.DataFrame({
        "pnc_id": pnc[frame.person.to_numpy()],
        "date_of_birth": pd.DatetimeIndex(dob[frame.person.to_numpy()]).strftime("%d/%m/%Y"),
        "role": frame.role.to_numpy(),
        "crime_ref": ref[frame.inc.to_numpy()],
        "incident_date": pd.DatetimeIndex(d).strftime("%Y-%m-%d"),
        "ward_code": ward,
    })
    out["_d"] = d
    out["_r"] = frame.role.map({"offender": 1, "victim": 0}).to_numpy()
    return out.sort_values(["_d", "crime_ref", "_r", "pnc_id"], kind="stable")[COLUMNS].reset_index(drop=True)


DUPLICATED_ROWS = 3
"""Rows the demo extract repeats word for word (an export fault), each right after its original.

Intake quarantines them as exact duplicates. The number is below the demo's suppression
threshold on purpose, so the data-quality document has a small count of personal data to
suppress (and its disclosure audit something to check)."""


def write_nominals(frame: pd.DataFrame, dest: Path) -> dict[str, Path]:
    """Write ``nominals/violence_nominals.csv`` (with ``DUPLICATED_ROWS`` exact repeats)."""
    picks = np.linspace(0, len(frame) - 1, DUPLICATED_ROWS + 2).astype(int)[1:-1]
    extract = pd.concat([frame, frame.iloc[picks]]).sort_index(kind="stable").reset_index(drop=True)
    return {"violence_nominals": write_csv(extract, dest / "nominals" / "violence_nominals.csv")}
