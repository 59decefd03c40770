"""The partnership's own documents: residents' survey, previous strategy and peer comparison."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ._common import (MONTH_LABELS, PARTNERSHIP_CODE, PARTNERSHIP_NAME, TOWN_CENTRE, distance, weighted_choice,
                      write_csv)
from .geography import Geography
from .partners import ward_populations
from .police import ASB, CRIME_TYPES

SAFE_SCALE = ["Very safe", "Fairly safe", "Neither safe nor unsafe", "Fairly unsafe", "Very unsafe"]
#: concern: (weight in quiet rural wards, weight in the busiest urban wards)
CONCERNS = {
    "Anti-social behaviour": (3.0, 6.0), "Drug dealing": (1.0, 5.0), "Speeding": (6.0, 2.0),
    "Burglary": (3.5, 2.5), "Violence": (0.8, 4.0), "Litter and fly-tipping": (4.0, 3.5),
    "Vehicle crime": (2.0, 2.0), "Street drinking": (0.4, 3.0), "Begging": (0.2, 2.5),
    "Knife crime": (0.5, 2.0), "Noise": (1.0, 2.0), "Graffiti and vandalism": (1.5, 2.5),
    "Domestic abuse": (0.8, 1.0), "Parking": (3.0, 1.5),
}
COMMENTS = [
    "More police on foot in the evenings please.",
    "The park is fine in the day but I avoid it after dark.",
    "Cars race along {street} every night, someone will get killed.",
    "Fly-tipping behind the shops on {street} has been there for weeks.",
    'Groups of youths "hanging about" by the precinct, shouting at people.',
    "I feel safe, it's a quiet area.",
    "Drug dealing in broad daylight near {street}, reported it twice, nothing happens.",
    "Street lighting on {street} is poor, half the lamps are out.",
    "Town centre at chucking-out time is intimidating, especially Fridays and Saturdays.",
    'Nobody answers 101. "Online reporting" is useless for older people.',
    "Burglaries on our estate recently, we have all bought doorbell cameras.",
    "Parking on pavements, I can't get past with a pushchair.",
    "Thank you to the PCSOs, they are visible and helpful.",
    "Noise from the flats, music until 3am, council says it is a police matter, police say council.",
]


def _ward_urbanity(geo: Geography) -> pd.DataFrame:
    wp = ward_populations(geo, "2024")
    wards = geo.wards_2024.set_index("ward_code").geometry.reindex(wp.ward_code)
    rep = wards.representative_point()
    near_centre = np.exp(-distance(rep.x.to_numpy(), rep.y.to_numpy(), TOWN_CENTRE) ** 2 / (2 * 1500.0**2))
    wp["urban"] = np.clip(0.7 * near_centre + 0.3 * wp.density.to_numpy() / wp.density.max(), 0, 1)
    return wp


def residents_survey(rng: np.random.Generator, geo: Geography) -> pd.DataFrame:
    """About 1,200 respondents; the town centre feels least safe after dark."""
    wp = _ward_urbanity(geo)
    n = 1200 + int(rng.integers(-40, 40))
    ward = weighted_choice(rng, wp.population.to_numpy(), n)
    u = wp.urban.to_numpy()[ward][:, None]
    rural_p = np.array([0.33, 0.46, 0.11, 0.07, 0.03])
    urban_p = np.array([0.04, 0.22, 0.20, 0.32, 0.22])
    p = rural_p + (urban_p - rural_p) * u
    cum = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    safe = np.array(SAFE_SCALE, dtype=object)[(rng.random((n, 1)) > cum).sum(axis=1)]
    names = np.array(list(CONCERNS), dtype=object)
    w = np.array(list(CONCERNS.values()))
    weights = w[:, 0] + (w[:, 1] - w[:, 0]) * u
    keys = np.log(weights) + rng.gumbel(size=weights.shape)  # Gumbel top-k: three without replacement
    top = np.argsort(-keys, axis=1, kind="stable")[:, :3]
    concerns = names[top]
    blank3 = rng.random(n) < 0.09
    blank2 = blank3 & (rng.random(n) < 0.4)
    concerns[blank3, 2] = ""
    concerns[blank2, 1] = ""
    has_comment = rng.random(n) < 0.35
    tmpl = np.array(COMMENTS, dtype=object)[rng.integers(0, len(COMMENTS), n)]
    street = geo.map_points.street.to_numpy()[rng.integers(0, len(geo.map_points), n)]
    parts = pd.Series(tmpl).str.partition("{street}")
    comment = parts[0] + pd.Series(np.where(parts[1] == "", "", street)) + parts[2]
    comment = np.where(has_comment, comment.to_numpy(), "").astype(object)
    return pd.DataFrame({
        "respondent_id": "RS25-" + (pd.Series(np.arange(n)) + 1).astype(str).str.zfill(4),
        "ward_code": wp.ward_code.to_numpy()[ward], "safe_after_dark": safe,
        "concern_1": concerns[:, 0], "concern_2": concerns[:, 1], "concern_3": concerns[:, 2],
        "comments": comment,
    })


def _year_counts(police: pd.DataFrame, year: str) -> pd.Series:
    """Distinct crimes (and ASB incidents) per type in a calendar year of the generated police data."""
    month = MONTH_LABELS[police.month_index.to_numpy()]
    rows = police[(pd.Series(month).str[:4] == year).to_numpy() & ~police.is_duplicate.to_numpy()]
    return rows.groupby("crime_type").size().reindex(CRIME_TYPES, fill_value=0)


def previous_strategy(rng: np.random.Generator, geo: Geography, police: pd.DataFrame) -> dict:
    """The Community Safety Strategy 2023-2026: four priorities, SMART and vague targets."""
    first = _year_counts(police, "2023")
    # The strategy was written in early 2023 from 2022 figures, which sit close to 2023's.
    base = {k: int(round(v * (1 + rng.normal(0.04, 0.03)))) for k, v in first.items()}
    central = geo.wards_2019.ward_name.tolist().index("Riverton Central")
    central_code = geo.wards_2019.ward_code.iat[central]
    mp = geo.map_points
    viol = police[(police.crime_type == "Violence and sexual offences") & ~police.is_duplicate & police.located]
    in_central = int((mp.ward_2019.to_numpy()[viol.point.to_numpy()] == central).sum() / 3)
    return {
        "title": "Riverton Community Safety Strategy 2023-2026",
        "partnership": {"code": PARTNERSHIP_CODE, "name": f"{PARTNERSHIP_NAME} Community Safety Partnership"},
        "period": {"start": "2023-04-01", "end": "2026-03-31"},
        "adopted": "2023-03-15",
        "priorities": [
            {"id": "P1", "title": "Violence and the night-time economy",
             "rationale": "Violence is concentrated in the town centre on Friday and Saturday nights."},
            {"id": "P2", "title": "Anti-social behaviour",
             "rationale": "ASB is residents' top concern in every survey since 2019."},
            {"id": "P3", "title": "Neighbourhood crime",
             "rationale": "Burglary and vehicle crime fall on the same estates year after year."},
            {"id": "P4", "title": "Domestic abuse and hidden harm",
             "rationale": "Under-reported harms the partnership cannot see in police data alone."},
        ],
        "targets": [
            {"id": "T1", "priority": "P1",
             "text": "Reduce violence against the person in Riverton Central ward by 10% by December 2025",
             "metric": f"Police recorded 'Violence and sexual offences' in ward {central_code}",
             "baseline": int(round(in_central * 1.03)), "baseline_year": 2022, "direction": "reduce",
             "size": "10%", "deadline": "2025-12-31", "owner": "Chief Inspector, Riverton Neighbourhood Policing"},
            {"id": "T2", "priority": "P1", "text": "Monitor night-time economy", "owner": "Licensing sub-group"},
            {"id": "T3", "priority": "P2",
             "text": "Reduce police recorded anti-social behaviour by 15% by March 2026",
             "metric": "Police recorded 'Anti-social behaviour' incidents", "baseline": base[ASB],
             "baseline_year": 2022, "direction": "reduce", "size": "15%", "deadline": "2026-03-31",
             "owner": "Head of Community Safety, Riverton Borough Council"},
            {"id": "T4", "priority": "P2", "text": "Work to reduce ASB"},
            {"id": "T5", "priority": "P3", "text": "Reduce vehicle crime by 10% by December 2025",
             "metric": "Police recorded 'Vehicle crime'", "baseline": base["Vehicle crime"],
             "baseline_year": 2022, "direction": "reduce", "size": "10%", "deadline": "2025-12-31",
             "owner": "Chief Inspector, Riverton Neighbourhood Policing"},
            {"id": "T6", "priority": "P3", "text": "Keep burglary below the 2022 level every year",
             "metric": "Police recorded 'Burglary'", "baseline": base["Burglary"], "baseline_year": 2022,
             "direction": "reduce", "size": "0%", "deadline": "2025-12-31",
             "owner": "Detective Inspector, Acquisitive Crime Team"},
            {"id": "T7", "priority": "P3", "text": "Reduce deliberate secondary fires",
             "metric": "Secondary deliberate fires attended", "direction": "reduce",
             "owner": "Station Manager, Riverton Fire and Rescue Service"},
            {"id": "T8", "priority": "P4", "text": "Support victims of domestic abuse",
             "owner": "Domestic Abuse Partnership Board"},
            {"id": "T9", "priority": "P4", "text": "Encourage reporting of hate crime"},
        ],
    }


PEER_NAMES = [
    "Ashbourne Vale", "Eastfold", "Westbury", "Northam and Brigg", "Kelsford", "Hartwell", "Millbridge",
    "Stanmoor", "Calderby", "Fenwick", "Oldcastle", "Penmarsh", "Redbourne", "Sutton Lees",
]


def _snake(name: str) -> str:
    return name.lower().replace(" and ", "_and_").replace(" ", "_").replace("-", "_")


def peer_group(rng: np.random.Generator, geo: Geography, police: pd.DataFrame) -> pd.DataFrame:
    """15 most-similar partnerships with 2023 crimes per 1,000 residents by crime type.

    Riverton's row is computed from its generated 2023 police data and small-area population.
    """
    population = int(geo.small_areas.pop_total.sum())
    crimes = [k for k in CRIME_TYPES if k != ASB]
    counts = _year_counts(police, "2023")[crimes]
    rates = counts.to_numpy() / population * 1000
    n = len(PEER_NAMES)
    level = rng.normal(0, 0.18, (n, 1))
    noise = rng.normal(0, 0.15, (n, len(crimes)))
    peer_rates = rates[None, :] * np.exp(level + noise)
    peer_pop = np.round(rng.uniform(95_000, 240_000, n), -2).astype(np.int64)
    table = np.vstack([rates[None, :], peer_rates])
    frame = pd.DataFrame({
        "csp_code": [PARTNERSHIP_CODE] + [f"E0790{i + 2:04d}" for i in range(n)],
        "csp_name": [PARTNERSHIP_NAME] + PEER_NAMES,
        "population": np.concatenate([[population], peer_pop]),
    })
    for j, k in enumerate(crimes):
        frame[_snake(k)] = np.round(table[:, j], 2)
    frame["total_recorded_crime"] = np.round(table.sum(axis=1), 2)
    order = np.argsort(frame.csp_code.to_numpy(), kind="stable")
    out = frame.iloc[order].reset_index(drop=True)
    for c in out.columns[3:]:
        out[c] = out[c].map("{:.2f}".format)
    return out


def write_consultation(rng: np.random.Generator, geo: Geography, police: pd.DataFrame, dest: Path
                       ) -> dict[str, Path]:
    """Write the residents' survey, previous strategy YAML and peer table."""
    out = {"residents_survey": write_csv(residents_survey(rng, geo), dest / "survey" / "residents_survey_2025.csv")}
    strategy = dest / "strategy" / "previous_strategy.yaml"
    strategy.parent.mkdir(parents=True, exist_ok=True)
    strategy.write_text(yaml.safe_dump(previous_strategy(rng, geo, police), sort_keys=False, allow_unicode=True,
                                       width=100), encoding="utf-8", newline="\n")
    out["previous_strategy"] = strategy
    out["peer_group"] = write_csv(peer_group(rng, geo, police), dest / "peers" / "most_similar_group.csv")
    return out
