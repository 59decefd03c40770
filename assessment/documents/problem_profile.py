"""Sections of a problem profile: one crime or disorder problem, looked at from every angle.

A problem profile follows the National Intelligence Model's template: the aim and terms of
reference, scanning (how big, which way, compared with whom), the problem analysis
triangle (victims or targets, offenders, locations), time, places, partner data on the same
problem, intelligence gaps and recommendations under prevent / pursue / protect / prepare.

The ``topic`` parameter (``doc.params["topic"]``, default ``violence``) chooses the
problem. :data:`TOPICS` maps each topic to partnership themes of the catalogue, and from
them to data.police.uk crime types and to partner datasets and categories; a partner
dataset is used only when its sharing agreement permits "problem profiles". Each
``section_*`` function takes the open :class:`Document` and returns a :class:`Section`.
"""

from __future__ import annotations

import calendar
import re
import warnings
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..analysis import hotspots, nearrepeat, rates, survey, trends, wording
from ..analysis.overlap import overlap_compare, overlap_counts, overlap_hotspots, overlap_sentences
from ..escaping import write_csv
from ..reporting import evidence as ev
from ..reporting.charts import chart_heatmap, chart_monthly
from ..reporting.display import Finding, HTMLPart, Section, bullet_list, callout, paragraph
from ..reporting import deprivation
from ..reporting.document import Document, open_document
from ..reporting.errorrates import error_rates_table
from ..reporting.glossary import section_glossary
from ..reporting.front import change_words, direction_of, peer_finding
from ..reporting.keyfindings import key_findings_opening, peer_positions, percent_change
from ..reporting.maps import map_choropleth, map_layers
from ..reporting.prose import and_list, month_words, number, plural

__all__ = [
    "section_key_findings", "section_glossary",
    "section_deprivation",
    "open_document", "TOPICS", "USE", "topic_spec", "topic_events", "topic_monthly", "profile_emerging", "emerging_dispersion_note",
    "profile_repeat_persons", "profile_knox_adjusted", "profile_hot_clusters", "profile_emerging_clusters",
    "section_terms_of_reference", "section_scanning", "section_triangle",
    "section_time", "section_places", "section_partner_data", "section_gaps", "section_recommendations",
    "section_appendix",
]

#: The use asked of every sharing agreement (the catalogue's ``permitted_uses``).
USE = "problem profiles"

#: The topic table. ``themes`` are keys of the catalogue's ``themes``; police crime types and
#: partner categories are derived from the catalogue's ``category_maps`` through them, unless
#: ``crime_types`` names the data.police.uk types (themes such as "acquisitive" hold several
#: problems) and ``partner_by_theme`` is False. ``partner_extra`` adds partner categories of
#: another theme that belong to the problem (graffiti is criminal damage, a stabbing call-out
#: is a weapons incident), keyed by catalogue role. ``premises`` and ``time_tables`` are catalogue
#: roles of context layers; ``persons`` the role of the person-level dataset; ``peer_column`` the most-similar-group column;
#: ``concerns`` the residents' survey concern labels; ``victims`` what the victim/target corner
#: of the triangle can show; ``gaps`` what is known to be missing for the problem.
TOPICS: dict[str, dict[str, Any]] = {
    "violence": {
        "noun": "violent and sexual offences", "label": "Violence", "themes": ("violence",), "crime_types": None, "partner_by_theme": True,
        "partner_extra": {}, "premises": ("licensing",), "time_tables": ("ed_assault_profile",),
        "persons": "nominals", "peer_column": "violence_and_sexual_offences",
        "concerns": ("Violence", "Knife crime", "Domestic abuse", "Street drinking"), "victims": "persons",
        "gaps": [
            "Domestic abuse cannot be separated from other violence in data.police.uk categories; a police "
            "extract with the domestic abuse flag would show how much of the problem is behind closed doors.",
            "Alcohol involvement is not recorded in any dataset received; the emergency department's ISTV "
            "questions on where the patient last drank would link assaults to premises.",
            "Violence with injury and without injury, and sexual offences, share one data.police.uk category, "
            "so harm cannot be graded within it.",
        ],
    },
    "asb": {
        "noun": "ASB incidents", "label": "Anti-social behaviour", "themes": ("asb", "environmental"), "crime_types": None,
        "partner_by_theme": True, "partner_extra": {}, "premises": (), "time_tables": (), "persons": None,
        "peer_column": None, "concerns": ("Anti-social behaviour", "Noise", "Litter and fly-tipping",
                                          "Street drinking", "Begging"),
        "victims": "locations",
        "gaps": [
            "Police ASB incidents in data.police.uk carry no incident type (personal, nuisance, environmental), "
            "so repeat and vulnerable callers cannot be identified.",
            "Housing providers' ASB case data were not received; nuisance neighbour cases they manage are "
            "missing from this picture.",
        ],
    },
    "burglary": {
        "noun": "burglaries", "label": "Burglary", "themes": ("acquisitive",), "crime_types": ("Burglary",), "partner_by_theme": False,
        "partner_extra": {}, "premises": (), "time_tables": (), "persons": None, "peer_column": "burglary",
        "concerns": ("Burglary",), "victims": "locations",
        "gaps": [
            "data.police.uk does not separate residential from business burglary, nor attempts from completed "
            "burglaries; a police extract with the HO offence code would.",
            "Property-level repeat victimisation cannot be measured: locations are snapped to anonymised map "
            "points shared by several addresses.",
            "Modus operandi (entry point, time of day, property stolen) is not in the data received.",
        ],
    },
    "vehicle_crime": {
        "noun": "vehicle crimes", "label": "Vehicle crime", "themes": ("acquisitive",), "crime_types": ("Vehicle crime",),
        "partner_by_theme": False, "partner_extra": {}, "premises": (), "time_tables": (), "persons": None,
        "peer_column": "vehicle_crime", "concerns": ("Vehicle crime",), "victims": "locations",
        "gaps": ["Theft of and theft from vehicles, and interference, share one data.police.uk category.",
                 "Car park locations are not identified separately from streets."],
    },
    "robbery": {
        "noun": "robberies", "label": "Robbery", "themes": ("acquisitive",), "crime_types": ("Robbery",), "partner_by_theme": False,
        "partner_extra": {}, "premises": (), "time_tables": (), "persons": None, "peer_column": "robbery",
        "concerns": ("Knife crime",), "victims": "locations",
        "gaps": ["Personal and business robbery are not separated in data.police.uk.",
                 "Victim age (a key driver of youth robbery) is not in the data received."],
    },
    "criminal_damage": {
        "noun": "criminal damage and arson offences", "label": "Criminal damage and arson", "themes": ("criminal_damage_arson",), "crime_types": None,
        "partner_by_theme": True, "partner_extra": {"council_asb": ("Graffiti",)}, "premises": (),
        "time_tables": (), "persons": None, "peer_column": "criminal_damage_and_arson",
        "concerns": ("Graffiti and vandalism",), "victims": "locations",
        "gaps": ["Damage to vehicles, dwellings and other buildings share one data.police.uk category.",
                 "Fire and rescue data hold the property type but not the owner, so repeat targets cannot "
                 "be identified."],
    },
    "drugs": {
        "noun": "drug offences", "label": "Drugs", "themes": ("drugs",), "crime_types": None, "partner_by_theme": True, "partner_extra": {},
        "premises": (), "time_tables": (), "persons": None, "peer_column": "drugs",
        "concerns": ("Drug dealing",), "victims": "none",
        "gaps": ["Recorded drug offences measure police activity (stop and search, warrants) more than the "
                 "drug market itself.",
                 "Treatment, needle-exchange and drug-related hospital admissions were not received."],
    },
    "shoplifting": {
        "noun": "shoplifting offences", "label": "Shoplifting", "themes": ("acquisitive",), "crime_types": ("Shoplifting",), "partner_by_theme": False,
        "partner_extra": {}, "premises": (), "time_tables": (), "persons": None, "peer_column": "shoplifting",
        "concerns": (), "victims": "locations",
        "gaps": ["Retailers report only part of shoplifting; business crime surveys suggest most goes unreported.",
                 "Store-level data from a business crime reduction partnership were not received."],
    },
    "public_order": {
        "noun": "public order offences", "label": "Public order", "themes": ("public_order",), "crime_types": None, "partner_by_theme": True,
        "partner_extra": {}, "premises": ("licensing",), "time_tables": (), "persons": None,
        "peer_column": "public_order", "concerns": ("Street drinking", "Anti-social behaviour"),
        "victims": "locations",
        "gaps": ["Harassment moved into public order in the counting rules, so the series before and after "
                 "the change are not comparable."],
    },
    "weapons": {
        "noun": "weapons possession offences", "label": "Possession of weapons", "themes": ("weapons",), "crime_types": None, "partner_by_theme": True,
        "partner_extra": {"ambulance_callouts": ("Assault - stab or gunshot",)}, "premises": (),
        "time_tables": (), "persons": None, "peer_column": "possession_of_weapons", "concerns": ("Knife crime",),
        "victims": "none",
        "gaps": ["Knife and firearm possession are not separated in data.police.uk.",
                 "Hospital admissions for assault by a sharp object were not received."],
    },
}

_DAYS = list(calendar.day_name)
_BANDS = [f"{h:02d}:00-{h + 2:02d}:59" for h in range(0, 24, 3)]


# --------------------------------------------------------------------------- topic data
def _cached(doc: Document, key: str, build):
    key = f"profile-{doc.params.get('topic', 'violence')}-{key}"
    if key not in doc.cache:
        doc.cache[key] = build()
    return doc.cache[key]


def _title(doc: Document, key: str) -> str:
    """A dataset's catalogue title (the name partners know it by), never its internal key."""
    ds = doc.catalogue.datasets.get(key)
    return ds.title if ds is not None else "A dataset named in the topic table"


def _as_subject(title: str) -> str:
    """A catalogue title as the subject of a sentence: "The violence nominals (...), person level,"."""
    lead = title[:1].lower() + title[1:] if title[1:2].islower() else title
    return f"The {lead}" + ("," if "," in title else "")


def _and_list(items: list[str]) -> str:
    """Plain-English list: "a", "a and b", "a, b and c"."""
    return and_list(items) or "nothing"


def _permission(doc: Document, key: str) -> tuple[bool, str]:
    """Whether a dataset's agreement permits problem profiles, with a plain-English sentence if not.

    The sentence names the dataset by its catalogue title and the uses its agreement permits,
    e.g. "The violence nominals (victims and offenders), person level, may not be used for
    problem profiles: agreement RIV-ISA-2024-03 permits evaluation only."
    """
    from ..errors import SharingRefused
    from ..intake.sharing import check_permitted_use

    if key not in doc.catalogue.datasets:
        return False, "A dataset named for this topic is not in the catalogue, so it cannot be used."
    ds = doc.catalogue.datasets[key]
    try:
        check_permitted_use(ds, USE, key)
    except SharingRefused:
        uses = [str(u) for u in ds.sharing.permitted_uses]
        agreement = f"agreement {ds.sharing.agreement}" if ds.sharing.agreement else "no sharing agreement"
        allowed = f"permits {_and_list(uses)} only" if uses else "permits no use"
        return False, f"{_as_subject(ds.title)} may not be used for {USE}: {agreement} {allowed}."
    return True, ""


def topic_spec(doc: Document) -> dict[str, Any]:
    """The chosen topic resolved against the catalogue.

    Returns
    -------
    dict
        ``topic``, ``label``, ``crime_types`` (data.police.uk types), ``partner_events``
        (dataset key -> categories, permitted datasets only), ``partner_counts`` (area-count
        datasets -> categories), ``premises``, ``time_tables``, ``persons`` (or None),
        ``peer_column``, ``concerns``, ``victims``, ``gaps`` and ``refused`` (dataset key ->
        reason, for relevant datasets whose agreement does not permit problem profiles).

    Raises
    ------
    ValueError
        If the topic is not one of :data:`TOPICS`.
    """
    topic = str(doc.params.get("topic") or "violence").strip().lower()
    if topic not in TOPICS:
        raise ValueError(f"`topic` must be one of {sorted(TOPICS)}, got {topic!r}")

    def build() -> dict[str, Any]:
        t = TOPICS[topic]
        cat = doc.catalogue
        maps = cat.category_maps
        police_map = ev.crime_category_map(doc)
        crime_keys = ev.crime_datasets(doc)
        crime_types = list(t["crime_types"] or [c for c, th in police_map.items() if th in t["themes"]])
        refused: dict[str, str] = {}
        partner_events: dict[str, list[str]] = {}
        partner_counts: dict[str, list[str]] = {}
        for key, ds in cat.datasets.items():  # a dozen catalogue entries
            if key in crime_keys or ds.kind not in ("events", "area_counts") or ds.effective_role in (
                    "other", "crime_system"):  # the crime-system extract feeds the triangle's people instead
                continue
            cats: list[str] = []
            if t["partner_by_theme"] and ds.category_map:
                cats = [c for c, th in maps.get(ds.category_map, {}).items() if th in t["themes"]]
            cats += [c for c in t["partner_extra"].get(ds.effective_role, ()) if c not in cats]
            if not cats:
                continue
            ok, why = _permission(doc, key)
            if not ok:
                refused[key] = why
                continue
            (partner_events if ds.kind == "events" else partner_counts)[key] = cats
        extras = {}
        for field in ("premises", "time_tables"):
            keep = []
            for key in (k for role in t[field] for k in cat.datasets_with_role(role)):
                ok, why = _permission(doc, key)
                (keep.append(key) if ok else refused.__setitem__(key, why))
            extras[field] = keep
        persons = persons_key = cat.dataset_with_role(t["persons"]) if t["persons"] else None
        if persons:
            ok, why = _permission(doc, persons)
            if not ok:
                refused[persons] = why
                persons = None
        peer = t["peer_column"]
        peer_key = cat.dataset_with_role("peer_benchmark")
        if peer and peer_key:
            ok, why = _permission(doc, peer_key)
            if not ok:
                refused[peer_key] = why
                peer = None
        return {"topic": topic, "label": t["label"], "themes": list(t["themes"]), "crime_types": crime_types,
                "partner_events": partner_events, "partner_counts": partner_counts, "persons": persons,
                "peer_column": peer, "concerns": list(t["concerns"]), "victims": t["victims"],
                "gaps": list(t["gaps"]), "refused": refused, "peer_key": peer_key, "persons_key": persons_key, **extras}

    return _cached(doc, "spec", build)


def topic_events(doc: Document) -> pd.DataFrame:
    """Police events of the topic's crime types in the assessment window."""
    spec = topic_spec(doc)
    return _cached(doc, "police", lambda: ev.evidence_police(doc)[
        ev.evidence_police(doc)["category"].isin(spec["crime_types"])].copy())


def partner_events(doc: Document, key: str) -> pd.DataFrame:
    """A permitted partner dataset's events of the topic's categories, in the window."""
    cats = topic_spec(doc)["partner_events"][key]
    return _cached(doc, f"partner-{key}", lambda: doc.workbench.dataset_events(key).loc[
        lambda e: e["category"].isin(cats)].copy())


def topic_monthly(doc: Document) -> pd.Series:
    """The topic's police count per month over the window (zeros filled), indexed by month."""
    def build() -> pd.Series:
        start, end = ev.window(doc)
        m = trends.trend_monthly(topic_events(doc), start, end, by=None)
        return pd.Series(m["count"].to_numpy(), index=m["month"].astype(str).to_numpy(), name="count")

    return _cached(doc, "monthly", build)


def _breaks(doc: Document) -> pd.DataFrame:
    found = [b for c in topic_spec(doc)["crime_types"] for b in ev.crime_breaks(doc, c)]
    return trends.trend_breaks([{"month": b.month, "label": b.label, "category": b.category} for b in found])


def _glm(doc: Document) -> pd.DataFrame | None:
    """The topic's trend model, or None when the data hold too few months for one."""
    def build() -> pd.DataFrame | None:
        if ev.comparison_periods(doc)["n_months"] < ev.MIN_TREND_MONTHS:
            return None
        brks = _breaks(doc)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return trends.trend_glm(topic_monthly(doc), breaks=sorted(set(brks["month"])) or None)

    return _cached(doc, "glm", build)


def _yoy(doc: Document) -> pd.Series:
    def build() -> pd.Series:
        s = topic_monthly(doc)
        frame = pd.DataFrame({"month": s.index, "count": s.to_numpy()})
        per = ev.comparison_periods(doc)
        if not per["comparable"]:
            return pd.Series({"current": int(s.reindex(per["current"]).fillna(0).sum()), "previous": np.nan,
                              "pct_change": np.nan, "p_value": np.nan})
        return trends.trend_year_on_year(frame, end=per["current"][-1]).iloc[0]

    return _cached(doc, "yoy", build)


def _season(doc: Document) -> pd.DataFrame:
    """The seasonality test, or (when a calendar month never has an event) a row saying it cannot be run."""
    def build() -> pd.DataFrame:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return trends.trend_seasonality(topic_monthly(doc), breaks=sorted(set(_breaks(doc)["month"])) or None)
            except ValueError as exc:
                out = pd.DataFrame([{"p_value": np.nan, "seasonal_strength": np.nan, "peak_month": 0,
                                     "summer_winter_ratio": np.nan}])
                out.attrs["untestable"] = str(exc).split(";")[0].replace("`series` must", "the series must")
                return out

    return _cached(doc, "season", build)


def _season_text(doc: Document) -> str:
    """Plain words for the seasonality result, honest when it could not be tested."""
    season = _season(doc)
    if "untestable" in season.attrs:
        return "a seasonal pattern that cannot be tested: some calendar months have no events at all"
    return wording.describe_seasonality(season)


def _noun(doc: Document) -> str:
    return "incidents" if topic_spec(doc)["crime_types"] == [ev.ASB] else "crimes"


def _phrase(doc: Document) -> str:
    """The topic's events in prose, e.g. "burglaries"."""
    return TOPICS[topic_spec(doc)["topic"]]["noun"]


def _n(x: float) -> str:
    return number(x)


#: The definition of an emerging hotspot, word for word as in the strategic assessment and
#: :func:`assessment.analysis.hotspots.hotspot_classify`.
EMERGING_DEFINITION = ("hot in the latest year and significantly busier than in any earlier year (a test of the "
                       "neighbourhood's share of all events that allows for how much neighbourhood totals vary from "
                       "year to year, corrected for the number of cells)")

#: How far beyond the emerging cells the close-up map reaches (metres).
_ZOOM_BUFFER_M = 1500.0


def _hotspots_phrase(n: int, what: str = "hotspot") -> str:
    """"1 hotspot", "3 separate hotspots"."""
    return f"1 {what}" if n == 1 else f"{n:,} separate {what}s"


def _table(doc: Document, frame: pd.DataFrame, caption: str, **kwargs):
    """:meth:`Document.table`, with the published counts handed to the display as numbers.

    Disclosure control publishes counts as text (so that "[c]" can stand in a cell); text is
    shown as it is, without thousands separators. Cells that are whole numbers are turned back
    into ints (the CSV already written is unchanged), so the display formats them ("22,834").
    """
    view = doc.table(frame, caption, **kwargs)
    f = view.frame
    order = [c for c in frame.columns if c in f.columns] + [c for c in f.columns if c not in frame.columns]
    if list(f.columns) != order:  # disclosure control moves count columns last: restore the analyst's order
        f = f[order]
        view.frame = f
        doc.tables[-1] = (doc.tables[-1][0], doc.tables[-1][1], f)
        write_csv(f, doc.tables_dir / view.csv_name)
    for c in kwargs.get("count_columns") or ():
        for col in ([c, "Total"] if "Total" in f.columns else [c]):
            if f[col].dtype == object:
                txt = f[col].astype("string").str.replace(",", "", regex=False).str.strip()
                whole = txt.str.fullmatch(r"\d+").fillna(False).to_numpy(bool)
                vals = f[col].to_numpy(object).copy()
                vals[whole] = pd.to_numeric(txt[whole]).astype("int64").tolist()  # Python ints
                f[col] = vals
    return view


# --------------------------------------------------------------------------- analyses
def profile_repeat_persons(persons: pd.DataFrame, role: str, months: list[str], days: int = 365) -> pd.Series:
    """Repeat share among people recorded in a role (victim or offender) in some months.

    Parameters
    ----------
    persons : DataFrame
        Pseudonymised person-level records: ``person_id``, ``role``, ``date`` (datetime),
        ``month`` (``YYYY-MM``) and ``crime_ref``; earlier records count as history.
    role : str
        ``victim`` or ``offender``.
    months : list of str
        The period whose people are counted (e.g. the latest 12 months).
    days : int, default 365
        A record is a repeat when the same person has another record in the same role within
        this many days before it.

    Returns
    -------
    Series
        ``people`` (distinct people in the role in the period), ``repeat_people`` (of them,
        those with at least one repeat record in the period), ``share_people`` (0-1),
        ``records``, ``repeat_records`` and ``share_records`` (0-1).

    Notes
    -----
    Repeat victimisation measured as in Farrell & Pease (1993): a person victimised again
    within a fixed window (here 365 days, as in the multi-agency violence panels' eligibility
    rule). Only these aggregates may leave the function; identities never do.
    """
    p = persons[persons["role"].astype(str).str.lower() == role].drop_duplicates(["person_id", "crime_ref"])
    p = p.sort_values(["person_id", "date"], kind="stable")
    gap = (p["date"] - p.groupby("person_id")["date"].shift()).dt.days
    repeat = gap.le(days).to_numpy()
    inside = p["month"].isin(months).to_numpy()
    people = p.loc[inside, "person_id"].nunique()
    rep_people = p.loc[inside & repeat, "person_id"].nunique()
    records = int(inside.sum())
    rep_records = int((inside & repeat).sum())
    return pd.Series({"people": people, "repeat_people": rep_people,
                      "share_people": rep_people / people if people else np.nan,
                      "records": records, "repeat_records": rep_records,
                      "share_records": rep_records / records if records else np.nan})


def _hot(doc: Document) -> gpd.GeoDataFrame:
    with warnings.catch_warnings():  # points just outside the grid are reported by intake's assignment table
        warnings.simplefilter("ignore")
        return ev.evidence_hotspots(doc, topic_spec(doc)["crime_types"])


def _count_grid(doc: Document) -> gpd.GeoDataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ev.hotspot_count_grid(doc, topic_spec(doc)["crime_types"])


def _classes(doc: Document) -> gpd.GeoDataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ev.evidence_hotspot_classes(doc, topic_spec(doc)["crime_types"])


def emerging_dispersion_note(dispersion) -> str:
    """A table note, in plain words, on the allowance the emerging test made for year-to-year variation.

    ``dispersion`` is the ``dispersion`` column of
    :func:`assessment.analysis.hotspots.hotspot_classify` (one value throughout).
    """
    values = pd.to_numeric(pd.Series(np.atleast_1d(dispersion)), errors="coerce").dropna()
    phi = float(values.iloc[0]) if len(values) else 1.0
    if phi <= 1.0:
        return ("The neighbourhood totals varied from year to year no more than chance alone would make them, so "
                "the test allowed for chance alone.")
    return (f"The neighbourhood totals varied from year to year {phi:.1f} times as much as chance alone would make "
            "them (clustered events and repeat places), measured on these totals; the test allowed for that, so a "
            "rise must be larger to count as significant.")


def profile_emerging(doc: Document) -> gpd.GeoDataFrame:
    """Grid cells where the topic is an emerging hotspot, with counts by year and households.

    Returns
    -------
    GeoDataFrame
        The emerging cells of :func:`evidence.evidence_hotspot_classes` with ``x``, ``y`` (cell
        centre), ``count_<year>`` columns and ``households`` (from the small areas, by area).
    """
    def build() -> gpd.GeoDataFrame:
        cl = _classes(doc)
        em = cl[cl["pattern"] == "emerging"].copy()
        sa = doc.workbench.small_areas[["households", "geometry"]].copy()
        sa["_a"] = sa.geometry.area
        if len(em) and len(sa) and doc.workbench.has_households:
            pieces = gpd.overlay(sa, em[["cell_id", "geometry"]], how="intersection", keep_geom_type=True)
            pieces["_h"] = pieces["households"].astype(float) * pieces.geometry.area / pieces["_a"]
            em["households"] = em["cell_id"].map(pieces.groupby("cell_id")["_h"].sum()).fillna(0.0).to_numpy()
        else:
            em["households"] = np.nan  # no households supplied: never shown as 0
        return em

    return _cached(doc, "emerging", build)


_WARD_SUFFIX = r"\s*\(([^()]*) ward\)$"


def _place_parts(doc: Document, cells: gpd.GeoDataFrame) -> tuple[str, str, str]:
    """(place, street, ward) for some cells: the place as the strategic assessment names it
    (:func:`evidence.nearest_street`, e.g. "Holly Row (Willow Brook ward)"), and its two parts."""
    place = ev.nearest_street(doc, cells, topic_spec(doc)["crime_types"])
    found = pd.Series([place]).str.extract(_WARD_SUFFIX)[0].iloc[0]
    street = pd.Series([place]).str.replace(_WARD_SUFFIX, "", regex=True).iloc[0]
    if isinstance(found, str):
        return place, street, found
    if place.endswith(" ward"):  # no street name: nearest_street gave the ward alone
        return place, "", place[: -len(" ward")]
    pt = gpd.GeoDataFrame(geometry=[cells.union_all().representative_point()], crs=cells.crs)
    hit = gpd.sjoin(pt, doc.workbench.wards[["name", "geometry"]], predicate="within")
    return place, street, (str(hit["name"].iloc[0]) if len(hit) else "")


def profile_hot_clusters(doc: Document) -> gpd.GeoDataFrame:
    """Separate hotspots of the topic in the latest 12 months: touching Gi* hot cells grouped.

    Returns
    -------
    GeoDataFrame
        One row per hotspot, most events first (:func:`evidence.hotspot_clusters`): ``cluster``,
        ``cells`` (grid cells), ``events`` (police-recorded events in them, latest 12 months),
        ``area_share``, ``widespread`` (over the catalogue's ``hotspot_widespread_share`` of the
        grid), ``geometry``, and ``place`` (the largest only, named as in the strategic assessment by
        :func:`evidence.nearest_street`; for a widespread one, its busiest cells
        (:func:`evidence.hotspot_core`); empty for the others).
    """
    def build() -> gpd.GeoDataFrame:
        out = ev.hotspot_clusters(_hot(doc), widespread_share=ev.widespread_share(doc))
        out["place"] = ""
        cats = topic_spec(doc)["crime_types"]
        if len(out) and not out["widespread"].iloc[0]:
            out.loc[0, "place"] = ev.nearest_street(doc, out.iloc[:1], cats)
        elif len(out):  # a widespread hotspot is not one place: it is named by its busiest part
            hot = _hot(doc)
            out.loc[0, "place"] = ev.nearest_street(doc, ev.hotspot_core(hot[hot["hotspot"] == "hot"],
                                                                         out.geometry.iloc[0]), cats)
        return out

    return _cached(doc, "hot-clusters", build)


def profile_emerging_clusters(doc: Document) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Emerging hotspots as clusters of touching emerging cells, with the cluster of each cell.

    Returns
    -------
    clusters : GeoDataFrame
        One row per emerging cluster, most events in the latest year first: ``cluster``,
        ``cells``, ``place`` (:func:`evidence.nearest_street`), ``street``, ``ward`` (ward name),
        ``count_<year>`` (events in the cluster's cells each year), ``empty_cells`` (cells with
        no event of their own in the latest year: emerging through their neighbourhood),
        ``households`` (estimated), ``p_weakest`` (largest FDR-adjusted p of the rise test
        among its cells) and ``geometry``.
    cells : GeoDataFrame
        :func:`profile_emerging` with a ``cluster`` column.

    Notes
    -----
    Clusters use queen contiguity (:func:`evidence.hotspot_clusters`), as the strategic
    assessment does, so both documents name the same emerging place.
    """
    def build():
        em = profile_emerging(doc)
        year_cols = sorted(c for c in em.columns if c.startswith("count_"))
        cols = ["cluster", "cells", "place", "street", "ward", *year_cols, "empty_cells", "households", "p_weakest"]
        if em.empty:
            return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=em.crs), em.assign(cluster=pd.Series(dtype=int))
        cl = _classes(doc)
        clusters = ev.hotspot_clusters(cl.assign(count=cl[year_cols[-1]]), flag="pattern", value="emerging")
        pts = gpd.GeoDataFrame({"cell_id": em["cell_id"].to_numpy()},
                               geometry=em.geometry.representative_point().to_numpy(), crs=em.crs)
        hit = gpd.sjoin(pts, clusters[["cluster", "geometry"]], predicate="within").drop_duplicates("cell_id")
        cells = em.assign(cluster=em["cell_id"].map(hit.set_index("cell_id")["cluster"]).astype("Int64").to_numpy())
        cells["_empty"] = cells[year_cols[-1]].eq(0)
        agg = cells.groupby("cluster").agg(
            **{c: (c, "sum") for c in year_cols}, empty_cells=("_empty", "sum"), households=("households", "sum"),
            p_weakest=("p_increase_adjusted", "max"))
        out = clusters.drop(columns=["events"]).join(agg, on="cluster")
        names = [_place_parts(doc, out.iloc[[i]]) for i in range(len(out))]  # a handful of clusters
        out["place"], out["street"], out["ward"] = ([n[j] for n in names] for j in range(3))
        for c in year_cols:
            out[c] = out[c].astype(int)
        out["empty_cells"] = out["empty_cells"].astype(int)
        out["cells"] = out["cells"].astype(int)
        return out[[*cols, "geometry"]], cells.drop(columns="_empty")

    return _cached(doc, "emerging-clusters", build)


def profile_knox_adjusted(k: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Add Benjamini-Hochberg adjusted p-values across the bands of one Knox table.

    Kept for callers of the profile; the decision is :func:`nearrepeat.nearrepeat_adjusted`
    (same arguments, same result).
    """
    return nearrepeat.nearrepeat_adjusted(k, alpha=alpha)


def _near_repeat(doc: Document) -> dict[str, Any]:
    """Knox tests: day resolution on partner date-times where the topic has them, month resolution on police.

    Each table carries ``p_adjusted`` and ``near_repeat`` from :func:`profile_knox_adjusted`.
    """
    def build() -> dict[str, Any]:
        out: dict[str, Any] = {}
        spec = topic_spec(doc)
        for key in spec["partner_events"]:
            e = partner_events(doc, key)
            e = e[e["date"].notna() & e["easting"].notna()]
            if len(e) >= 30 and (e["date"].dt.hour + e["date"].dt.minute > 0).any():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    k = nearrepeat.nearrepeat_knox(e, [0, 100, 200, 400], [0, 7, 14, 28], permutations=99, seed=1)
                k["distance_band"] = k["distance_band"] + " apart"
                k["time_band"] = "within " + k["time_band"]
                out[key] = profile_knox_adjusted(k)
        pol = topic_events(doc)
        pol = pol[pol["easting"].notna()]
        if len(pol) > 4000:  # keep the permutation test quick: the latest year only
            pol = pol[pol["month"].isin(ev.last_year(doc))]
        pol = pol.assign(date=pd.PeriodIndex(pol["month"], freq="M").to_timestamp())
        if len(pol) >= 30:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                k = nearrepeat.nearrepeat_knox(pol, [0, 1, 200, 400], [0, 15, 46, 76], permutations=99, seed=1)
            k["distance_band"] = k["distance_band"].replace({"0-1 m": "at the same map point"})
            k["time_band"] = k["time_band"].map({"0-15 days": "in the same month", "15-46 days": "one month apart",
                                                 "46-76 days": "two months apart"})
            out[ev.crime_dataset(doc)] = profile_knox_adjusted(k)
            out["police_months"] = sorted(pol["month"].unique())
        return out

    return _cached(doc, "knox", build)


def _knox_sentence(k: pd.DataFrame, what: str) -> str:
    """One plain sentence on a Knox table, judged on the FDR-adjusted p-values."""
    raw = int(((k["p_value"] <= 0.05) & (k["knox_ratio"] > 1)).sum())
    sig = k[k["near_repeat"]]
    if sig.empty:
        return (f"{what}: the near-repeat pattern is not distinguishable from chance. No space-time band has "
                "significantly more pairs than chance once the test is corrected for the "
                f"{len(k)} bands tested (Knox test, 99 permutations, Benjamini-Hochberg adjusted p < 0.05)"
                + (f"; the {raw} {plural(raw, 'band')} with an unadjusted p-value of 0.05 or less are what chance alone would "
                   "give across that many tests." if raw else ".") + " No near-repeat action is recommended on it.")
    top = sig.sort_values("knox_ratio", ascending=False).iloc[0]
    return (f"{what}: {len(sig)} of {len(k)} space-time bands have more pairs than chance after correction for "
            f"multiple testing; the strongest is events {top['distance_band']} and {top['time_band']}, with "
            f"{top['knox_ratio']:.2f} times the expected pairs (Benjamini-Hochberg adjusted "
            f"{wording.describe_p(top['p_adjusted'])}).")


# -- key findings -----------------------------------------------------------------------------

def _key_findings(doc: Document) -> list[Finding]:
    spec = topic_spec(doc)
    label, noun = spec["label"], _phrase(doc)
    y = _yoy(doc)
    per = ev.comparison_periods(doc)
    rag, against = None, ""
    pos = peer_positions(doc)
    if spec.get("peer_column") and len(pos) and (pos["column"] == spec["peer_column"]).any():
        rag, against = peer_finding(pos.loc[pos["column"] == spec["peer_column"], "position"].iloc[0])
    now = int(y["current"])
    if per["comparable"]:
        before = int(y["previous"])
        pct = percent_change(now, before)
        way = direction_of(pct, float(y["p_value"]))
        out = [Finding(f"The police recorded {now:,} {noun} in {per['current_label']}: {change_words(pct, way)} on "
                       f"{per['previous_label']}.", way, rag, against)]
    else:
        out = [Finding(f"The police recorded {now:,} {noun} in {per['current_label']}; the data do not reach a "
                       "complete year before that to compare with.", None, rag, against)]
    glm = _glm(doc)
    trend = glm[glm["term"] == "trend"] if glm is not None else []
    if len(trend):
        t = trend.iloc[0]
        tway = direction_of(float(t["estimate_pct"]), float(t["p_value"]))
        out.append(Finding(
            f"Over the three years, once the time of year is allowed for, {noun} are "
            + ({"up": f"rising by about {abs(float(t['estimate_pct'])):.0f}% a year",
                "down": f"falling by about {abs(float(t['estimate_pct'])):.0f}% a year"}.get(
                tway, "showing no clear rise or fall")) + ".", tway))
    f = _findings(doc)
    if f["hot_clusters"] and f["hot_place"]:
        out.append(Finding(f"The largest concentration is around {f['hot_place']}, with {f['top_events']:,} of the "
                           f"latest year's {f['recent']:,} {noun}."))
    else:
        out.append(Finding(f"No part of the area has a concentration of {noun} beyond what chance would give."))
    if f["emerging_clusters"] and f["emerging_place"]:
        out.append(Finding(f"A new concentration is emerging around {f['emerging_place']}.", "new"))
    if f["higher_wards"]:
        out.append(Finding(f"{len(f['higher_wards'])} {'ward has' if len(f['higher_wards']) == 1 else 'wards have'} "
                           f"clearly higher rates than the partnership as a whole: {and_list(f['higher_wards'][:5])}"
                           + (" and others" if len(f["higher_wards"]) > 5 else "") + "."))
    season = f["season"]
    if pd.notna(season.get("p_value")) and float(season["p_value"]) < 0.05 and int(season.get("peak_month", 0) or 0):
        peak = pd.Timestamp(2000, int(season["peak_month"]), 1).strftime("%B")
        out.append(Finding(f"{label} follows a clear yearly pattern, peaking in {peak}."))
    else:
        out.append(Finding(f"{label} shows no clear yearly pattern that would justify seasonal tactics."))
    if f["near_repeat"]:
        _, dist, time, ratio, _ = f["near_repeat"][0]
        out.append(Finding(f"After one of these {noun}, another within {dist} and {time} is {ratio:.1f} times as "
                           "likely as chance would give (a near-repeat pattern)."))
    elif f["near_repeat_chance"]:
        out.append(Finding(f"{noun.capitalize()} close in place are not closer in time than chance would give "
                           "(no near-repeat pattern)."))
    return out


def section_key_findings(doc: Document) -> HTMLPart:
    """The opening of the document: links to the edition's other documents, the key findings
    (five to eight plain sentences with the direction of change and, where the catalogue holds a
    most-similar-group table, a red/amber/green rating against it) and the about box."""
    return key_findings_opening(doc, _key_findings(doc))


# --------------------------------------------------------------------------- sections
def section_terms_of_reference(doc: Document) -> Section:
    """Aim and terms of reference: scope, period, geography and sources (from the catalogue)."""
    spec = topic_spec(doc)
    cat = doc.catalogue
    p = cat.partnership
    doc.title = f"Problem profile: {spec['label']}"
    months = ev.last_year(doc)
    sec = Section(f"Problem profile: {spec['label']} - aim and terms of reference")
    sec.add(
        f"Aim: to describe {spec['label'].lower()} in {p.name} well enough for partners to choose what to do about "
        "it: how much there is and which way it is going, who and what is affected, where and when it happens, "
        "what partners' own records add, what we still do not know, and what we recommend."
    )
    wards = doc.workbench.wards
    sec.add(bullet_list([
        "Scope: police-recorded " + ", ".join(spec["crime_types"]) + " (data.police.uk categories)"
        + (", with partner records from " + "; ".join(
            f"{_title(doc, k)} ({', '.join(v)})"
            for k, v in {**spec["partner_events"], **spec["partner_counts"]}.items()) if
           spec["partner_events"] or spec["partner_counts"] else "; no partner dataset in the catalogue records it")
        + ".",
        f"Period: {p.window.start} to {p.window.end} (36 months) for trends; the latest 12 months, {months[0]} to "
        f"{months[-1]}, for places and comparisons.",
        f"Geography: the {p.short_name} partnership area, its {len(wards)} electoral wards (boundaries in force "
        f"from the latest review), {len(doc.workbench.small_areas)} small areas and "
        f"{len(doc.workbench.neighbourhoods)} police neighbourhoods; hotspots on a regular grid.",
        "Use: every dataset below was checked against its sharing agreement for use in problem profiles.",
    ]))
    crime_keys = ev.crime_datasets(doc)
    outcome_keys = cat.datasets_with_role("crime_outcomes")
    survey_keys = cat.datasets_with_role("survey")
    keys = [*crime_keys, *outcome_keys, *spec["partner_events"], *spec["partner_counts"],
            *spec["time_tables"], *spec["premises"], *survey_keys, *spec["refused"]]
    rows = []
    for key in dict.fromkeys(k for k in keys if k in cat.datasets):  # a handful of catalogue entries
        ds = cat.datasets[key]
        ok, why = _permission(doc, key)
        role = ("police (primary)" if key in crime_keys else "police outcomes" if key in outcome_keys
                else "context" if key in spec["premises"] or key in survey_keys else "partner")
        rows.append({"dataset": ds.title, "owner": ds.agency, "role": role, "sensitivity": ds.sensitivity,
                     "agreement": ds.sharing.agreement or "", "expires": str(ds.sharing.expires or ""),
                     "used": "yes" if ok else "no: not permitted for problem profiles"})
    sec.add(doc.table(pd.DataFrame(rows), f"Sources for the {spec['label'].lower()} profile, their owners, "
                                          "sensitivity and sharing agreements"))
    for key, why in spec["refused"].items():  # a few refused datasets
        sec.add(callout(f"{why} It is not used here; the intelligence gaps section says what this leaves out.",
                        caveat=True))
    return sec


def section_scanning(doc: Document) -> Section:
    """Scanning: volume, trend with significance, and comparators (peers, wards, residents)."""
    spec = topic_spec(doc)
    pol = topic_events(doc)
    noun = _noun(doc)
    s = topic_monthly(doc)
    y = _yoy(doc)
    glm = _glm(doc)
    brks = _breaks(doc)
    months = ev.last_year(doc)
    sec = Section("Scanning: volume, trend and comparators")
    all_crime = ev.evidence_police(doc)
    base = all_crime[all_crime["category"] != ev.ASB] if noun == "crimes" else all_crime[all_crime["category"] == ev.ASB]
    share = len(pol) / len(base) if len(base) else np.nan
    per = ev.comparison_periods(doc)
    others = base["category"].nunique() > pol["category"].nunique() if len(base) else False
    text = (f"The police recorded {len(pol):,} {_phrase(doc)} from {month_words(s.index[0])} to "
            f"{month_words(s.index[-1])}"
            + (f" ({share:.0%} of all police-recorded crime)" if noun == "crimes" and others else "") + ". ")
    if per["comparable"]:
        change = wording.describe_change(float(y["pct_change"]), float(y["p_value"]), n=int(y["current"] + y["previous"]))
        text += (f"In {per['current_label']} there were {int(y['current']):,}, against {int(y['previous']):,} in "
                 f"{per['previous_label']}: {change}.")
    else:
        text += (f"In {per['current_label']} there were {int(y['current']):,}; the data do not reach a complete year "
                 "before that, so no change from a year earlier is given.")
    sec.add(text)
    if glm is not None:
        fitted = int(glm["months_fitted"].iloc[0]) if "months_fitted" in glm.columns else per["n_months"]
        over = (f"the {per['n_months']} months" if fitted >= per["n_months"] else
                f"the {fitted} of {per['n_months']} months in stretches between series breaks with anything recorded")
        sec.add(f"Trend over {over}: {wording.describe_trend(glm, brks if len(brks) else None)}.")
    else:
        sec.add(f"No trend is estimated: the data hold {per['n_months']} month{'s' if per['n_months'] != 1 else ''} "
                f"and a trend needs at least {ev.MIN_TREND_MONTHS}.")
    frame = pd.DataFrame({"month": s.index, "count": s.to_numpy()})
    sec.add(doc.figure(
        chart_monthly(frame, title=f"{spec['label']}: police-recorded {noun} per month", breaks=brks,
                      rolling=per["n_months"] >= 12),
        f"{spec['label']}: police-recorded {noun} per month" + (" with the 12-month rolling mean"
                                                               if per["n_months"] >= 12 else ""),
        alt=(f"Line chart of monthly {_phrase(doc)} from {s.index[0]} to {s.index[-1]}, between "
             f"{int(s.min()):,} and {int(s.max()):,} a month"
             + (f", with a series break marked at {', '.join(brks['month'])}." if len(brks) else "."))))
    for b in (glm[glm["term"] == "step"].to_dict("records") if glm is not None else []):  # one row per series break
        sec.add(callout("Series break: " + wording.describe_break(b["month"], b["estimate_pct"], "counting rule change",
                                                                  b["p_value"]) + ".", caveat=True))
    if len(spec["crime_types"]) > 1:
        per = pol.groupby("category").size().rename("events").reset_index()
        sec.add(doc.table(per, "Police-recorded events by crime type over the window"))
    # Comparators: the most-similar group.
    sec.add(HTMLPart('<h3 id="comparators">Comparators</h3>'))
    peers = doc.workbench.intake.tables.get(spec["peer_key"]) if spec["peer_key"] else None
    if spec["peer_column"] and peers is not None and spec["peer_column"] in peers.columns:
        pos = rates.rate_peer_position(peers, doc.catalogue.partnership.code, spec["peer_column"]).iloc[0]
        sec.add(f"Most similar group: {pos['sentence']}")
    elif spec["peer_key"] in spec["refused"]:
        sec.add(paragraph("Most similar group: not shown. " + spec["refused"][spec["peer_key"]], css="table-note"))
    elif spec["peer_key"] is None:
        sec.add(paragraph("Most similar group: no benchmarking table was supplied, so the partnership is not "
                          "compared with similar areas.", css="table-note"))
    else:
        sec.add(paragraph(f"Most similar group: the benchmarking table has no {spec['label'].lower()} rate "
                          "(data.police.uk comparisons exclude anti-social behaviour).", css="table-note"))
    # Ward rates against the partnership.
    wr = ev.evidence_ward_rates(doc, categories=spec["crime_types"])
    higher = wr[wr["compared_with_partnership"] == "higher"]
    partnership_rate = float(wr["partnership_rate"].iloc[0])
    mapped, recorded = int(wr["count"].sum()), int(pol["month"].isin(months).sum())
    outside = doc.workbench.outside_partnership(ev.crime_datasets(doc))
    if not doc.workbench.has_population:
        sec.add(f"{mapped:,} of the {recorded:,} {_phrase(doc)} in {per['current_label']} have a map point in a ward"
                + (f" (the other {recorded - mapped:,} have no map point)" if recorded > mapped else "")
                + ". No population was supplied, so wards are compared by count, not by rate per resident.")
        sec.add(doc.table(pd.DataFrame(wr[["code", "name", "count"]]).rename(
            columns={"code": "ward code", "name": "ward", "count": noun}),
            f"{spec['label']} by ward ({per['current_label']}, current boundaries)"))
        return _scanning_survey(doc, sec, spec)
    sec.add(
        f"Across the partnership the rate in the latest 12 months is {partnership_rate:,.1f} {_phrase(doc)} per 1,000 "
        f"residents, of {_phrase(doc)} with a map point ({mapped:,} of {recorded:,}"
        + (f"; the other {recorded - mapped:,} have no map point, so ward rates understate them)"
           if recorded > mapped else ")") + ". "
        + (f"A further {outside:,} police records over the whole period lay outside the partnership and are not "
           "counted. " if outside else "")
        + 
        f"{len(higher)} of {len(wr)} wards are significantly higher (95% confidence interval above the partnership rate)"
        + (": " + ", ".join(higher["name"].astype(str)) if len(higher) else "") + "."
    )
    page = map_choropleth(wr[wr["rate"].notna()], "rate", name_column="name", legend=f"{spec['label']} per 1,000 residents",
                          tooltip_columns={"count": noun.capitalize(), "population": "Residents",
                                           "compared_with_partnership": "Compared with the partnership"},
                          unit="per 1,000", offline=doc.offline)
    top = wr.iloc[0]
    sec.add(doc.map(page, f"{spec['label']} per 1,000 residents by ward, {months[0]} to {months[-1]}",
                    alt=f"Choropleth of {len(wr)} wards; the highest rate is {top['name']} at {top['rate']:,.1f} per 1,000."))
    table = pd.DataFrame(wr[["code", "name", "count", "population", "rate", "ci_low", "ci_high",
                             "compared_with_partnership"]]).rename(columns={
        "code": "ward code", "name": "ward", "count": noun, "population": "residents", "rate": "per 1,000",
        "ci_low": "95% CI low", "ci_high": "95% CI high", "compared_with_partnership": "compared with partnership"})
    sec.add(doc.table(table, f"{spec['label']} per 1,000 residents by ward (latest 12 months, current boundaries)",
                      decimals={"residents": 0, "per 1,000": 1, "95% CI low": 1, "95% CI high": 1},
                      notes=["Byar's confidence interval for 10 or more events, exact Poisson below; compared with "
                             f"the partnership rate of {partnership_rate:,.1f} per 1,000 residents, of {_phrase(doc)} "
                             f"with a map point ({mapped:,} of {recorded:,}).",
                             ev.ward_dispersion_note(wr["dispersion"], "the latest 12 months",
                                                     f"The intervals are those of each ward's {noun} and residents "
                                                     "divided by")]))
    return _scanning_survey(doc, sec, spec)


def _scanning_survey(doc: Document, sec: Section, spec: dict[str, Any]) -> Section:
    """The residents' view closing the scanning section (when a permitted survey was supplied)."""
    sv = doc.workbench.intake.survey
    survey_key = doc.catalogue.dataset_with_role("survey")
    if survey_key and _permission(doc, survey_key)[0] and sv is not None and len(sv) and spec["concerns"]:
        design = ev.evidence_survey_design(doc)
        top_c = survey.survey_top_concerns(sv, weight_col=design["weight_col"],
                                           design_effect=float(design["design_effect"]),
                                           weights_in_design_effect=bool(design["weights_in_design_effect"]))
        mine = top_c[top_c["concern"].isin(spec["concerns"])]
        if len(mine):
            sec.add("Residents' view (residents' survey, n = " + f"{int(top_c['n'].iloc[0]):,}): " + "; ".join(
                f"{r['concern']} was named among their top three concerns by {r['share']:.0%} "
                f"(95% CI {r['ci_low']:.0%} to {r['ci_high']:.0%}), ranked {int(r['rank'])} of {len(top_c)}"
                for r in mine.to_dict("records")) + ".")
            sec.add(_concern_ward_table(doc, sv, survey_key, spec["concerns"][0],
                                        dict(zip(doc.workbench.wards["code"].astype(str),
                                                 doc.workbench.wards["name"].astype(str)))))
    return sec


def _extract_people(doc: Document):
    """A function of the role ('victim' or 'offender') giving the triangle's parts from the police
    crime-system extract (catalogue role ``crime_system``), or an empty list when there is none usable."""
    from ..reporting.themes import triangle_people

    spec = topic_spec(doc)
    key = doc.catalogue.dataset_with_role("crime_system")
    usable = key is not None and _permission(doc, key)[0]
    if usable:
        q = doc.workbench.intake.quality.set_index("dataset")
        usable = key in q.index and str(q.loc[key, "status"]) == "ok"
    if not usable:
        return lambda role: []
    e = doc.workbench.dataset_events(key)
    if TOPICS[spec["topic"]]["partner_by_theme"]:
        rows = e["theme"].isin(spec["themes"]).to_numpy()
    else:
        pattern = "|".join(re.escape(c) for c in spec["crime_types"]) or "$^"
        rows = e["category"].astype("string").str.contains(pattern, case=False, regex=True).fillna(False).to_numpy()
    if not rows.any():  # the extract holds none of this problem's crimes (e.g. ASB): the other sources speak
        return lambda role: []
    return lambda role: triangle_people(doc, key, rows, role, _phrase(doc))


def _concern_ward_table(doc: Document, sv: pd.DataFrame, survey_key: str, concern: str, names: dict):
    """Residents putting ``concern`` first, second or third, by ward (survey counts: disclosure-controlled)."""
    table = survey.survey_concerns_by_ward(sv, concerns=[concern], by="rank",
                                           ward_col="area_code" if "area_code" in sv.columns else None)
    table.insert(1, "ward name", table["ward"].map(names).fillna(""))
    ranks = [c for c in table.columns if c not in ("ward", "ward name")]
    ds = doc.catalogue.datasets[survey_key]
    return _table(doc, table.rename(columns={"ward": "ward code"}),
                  f"Residents naming {concern.lower()} among their top three concerns, per ward and the place "
                  "they gave it", sensitivity=ds.sensitivity, count_columns=ranks, dataset=survey_key,
                  dimensions=("ward", "rank"), fixed={"concern": concern},
                  notes=["Counts of residents (survey respondents); each resident is counted once, in the place "
                         "they gave the concern. Wards are those the survey records (either boundary version)."])


def section_triangle(doc: Document) -> Section:
    """The problem analysis triangle: victims or targets, offenders and locations."""
    spec = topic_spec(doc)
    pol = topic_events(doc)
    months = ev.last_year(doc)
    noun = _noun(doc)
    sec = Section("The problem analysis triangle")
    sec.add("The problem analysis triangle asks who is harmed, who causes the harm and where it happens; a "
            "problem usually persists where all three meet. Each corner is described as far as the data allow.")
    # Victims or targets.
    sec.add(HTMLPart('<h3 id="victims">Victims and targets</h3>'))
    persons = getattr(doc.workbench.intake, "persons", None)
    extract = _extract_people(doc)
    victims = extract("victim") if spec["victims"] != "none" else []
    sec.add(*victims)
    if victims and spec["victims"] == "persons" and not spec["persons"] and spec["persons_key"] is not None:
        # the crime-system extract has described the victims; say why the nominals are not used
        key = spec["persons_key"]
        sec.add(callout("The person-level nominals would add each person's history of victimisation, but they "
                        "cannot be used here. " + spec["refused"].get(key, _permission(doc, key)[1]), caveat=True))
    elif victims and spec["victims"] == "persons" and not spec["persons"]:
        pass  # no nominals in the catalogue: the crime-system extract's victims stand alone
    elif spec["victims"] == "persons" and spec["persons"]:
        if persons is None or len(persons) == 0:
            sec.add(callout("The person-level nominals could not be read (the pseudonymisation key was not set), so "
                            "repeat victimisation cannot be measured in this run.", caveat=True))
        else:
            rv = profile_repeat_persons(persons, "victim", months)
            sec.add(f"Of {int(rv['people']):,} people recorded as victims of violence in {months[0]} to {months[-1]}, "
                    f"{rv['share_people']:.0%} were victimised again within 365 days (repeat victims).")
    elif spec["victims"] == "persons" and spec["persons_key"] is None:
        sec.add(callout("No person-level victim and offender records were supplied, so repeat victimisation cannot "
                        "be measured; data.police.uk holds no victim details, so who is harmed cannot be described "
                        "from the data received.", caveat=True))
    elif spec["victims"] == "persons":
        key = spec["persons_key"]
        sec.add(callout("Victims: person-level records would show repeat victimisation, but they cannot be used here. "
                        + spec["refused"].get(key, _permission(doc, key)[1]) + " data.police.uk holds no victim "
                        "details, so who is harmed cannot be described from the data received.", caveat=True))
    elif spec["victims"] == "none":
        sec.add(paragraph(f"{spec['label']} has no direct victim in the data: offences are mostly found by police "
                          "activity, so the victim corner is the community where they occur (see Places)."))
    else:
        rep = hotspots.hotspot_repeat_locations(pol[pol["easting"].notna()], ["easting", "northing"], summary=True).iloc[0]
        sec.add(f"Targets: data.police.uk gives no victim details, so repeat targets are measured at map points. Over "
                f"the window {int(rep['repeat_locations']):,} of {int(rep['locations']):,} map points with "
                f"{spec['label'].lower()} had two or more {_phrase(doc)}, accounting for {rep['share_at_repeat_locations']:.0%} "
                f"of located {_phrase(doc)} (up to {int(rep['max_events_at_one_location'])} at one point). A map point "
                "stands for several nearby addresses, so this is an upper bound on repeat victimisation of "
                "single properties.")
    # Offenders.
    sec.add(HTMLPart('<h3 id="offenders">Offenders</h3>'))
    offenders = extract("offender")
    sec.add(*offenders)
    if spec["persons"] and persons is not None and len(persons):
        ro = profile_repeat_persons(persons, "offender", months)
        sec.add(f"Of {int(ro['people']):,} people recorded as offenders in violence in the latest 12 months, "
                f"{ro['share_people']:.0%} offended again within 365 days.")
    elif offenders:
        pass
    else:
        last = pol[pol["month"] < months[0]]  # outcomes of older crimes are settled
        if "outcome" not in last.columns or not last["outcome"].notna().any():
            sec.add("No offender data were received for this problem, so repeat offending cannot be measured. No "
                    "outcome data were supplied either, so how often an offender was identified is not analysed.")
        else:
            sec.add("No offender data were received for this problem, so repeat offending cannot be measured. The "
                    "police outcome of each crime shows how often an offender was identified:")
            groups = _outcome_groups(last["outcome"])
            tab = pd.Series(groups).value_counts().rename_axis("outcome group").rename(noun).reset_index()
            tab["share (%)"] = 100 * tab[noun] / tab[noun].sum()
            sec.add(doc.table(tab, f"Outcomes of {_phrase(doc)} recorded before {month_words(months[0])} (last known "
                                   "outcome)", decimals={"share (%)": 1},
                              notes=["Crimes of the latest year are left out: many are still under investigation."]))
    # Locations.
    sec.add(HTMLPart('<h3 id="locations">Locations</h3>'))
    recent = pol[pol["month"].isin(months)]
    conc = hotspots.hotspot_concentration(_count_grid(doc)).iloc[0]
    sec.add(f"{spec['label']} is concentrated: in the latest 12 months the busiest 5% of grid cells "
            f"({int(conc['units_top_5pct']):,} of {int(conc['units']):,}) held {conc['share_top_5pct']:.0%} of located "
            f"{_phrase(doc)} and the busiest 10% held {conc['share_top_10pct']:.0%} (Gini coefficient {conc['gini']:.2f}; 0 "
            "would be an even spread).")
    loc = recent[recent["location"].notna() & (recent["location"] != "No Location")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reps = hotspots.hotspot_repeat_locations(loc, "location", min_events=3)
    shown = reps.head(10).rename(columns={"location": "location (data.police.uk street description)",
                                          "events": noun, "share_of_events": "share of located (%)",
                                          "cumulative_share": "cumulative share (%)"})
    shown["share of located (%)"] *= 100
    shown["cumulative share (%)"] *= 100
    sec.add(doc.table(shown, f"The ten locations with most {_phrase(doc)} (latest 12 months)",
                      decimals={"share of located (%)": 1, "cumulative share (%)": 1},
                      notes=["Street descriptions are data.police.uk's anonymised map points ('On or near ...'): a "
                             "description may cover several nearby points. Some describe only the kind of place "
                             "('On or near Nightclub', 'On or near Supermarket'), not a particular one."]))
    if spec["premises"]:
        prem = doc.workbench.intake.premises
        prem = prem[prem["dataset"].isin(spec["premises"])] if "dataset" in prem.columns else prem
        pts = recent[recent["easting"].notna()]
        if len(prem) and len(pts):
            from scipy.spatial import cKDTree

            late = prem[prem["late_night"].astype(str).str.upper().isin(["Y", "YES", "TRUE"])]
            tree = cKDTree(prem[["easting", "northing"]].to_numpy(float))
            d, _ = tree.query(pts[["easting", "northing"]].to_numpy(float))
            near = float((d <= 100).mean())
            sec.add(f"Licensed premises: {near:.0%} of located {_phrase(doc)} in the latest 12 months "
                    f"were within 100 m of one of the {len(prem):,} licensed premises ({len(late):,} with a late-night "
                    "licence). Proximity is not cause: premises cluster where people gather.")
    return sec


def _month_profile_figure(s: pd.Series, title: str):
    import matplotlib.pyplot as plt

    by = pd.Series(s.to_numpy(), index=pd.PeriodIndex(s.index, freq="M").month).groupby(level=0).mean()
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.bar([calendar.month_abbr[m] for m in by.index], by.to_numpy(), color="#0b4f6c")
    ax.set_title(title, loc="left", fontsize=11)
    ax.set_ylabel("Mean per month")
    ax.spines[["top", "right"]].set_visible(False)
    return fig, by


def _day_hour(dates: pd.Series) -> pd.DataFrame:
    """Day of week (rows) by 3-hour band (columns) counts of date-times."""
    day = pd.Categorical(dates.dt.day_name(), categories=_DAYS)
    band = pd.Categorical(np.asarray(_BANDS, dtype=object)[(dates.dt.hour // 3).to_numpy()], categories=_BANDS)
    return pd.crosstab(day, band, dropna=False).reindex(index=_DAYS, columns=_BANDS, fill_value=0)


def _published_cells(view, bands: list[str]) -> pd.DataFrame:
    """A published (suppressed) day x band table as shown: numbers, and '[c]' where suppressed (for charts)."""
    f = view.frame
    return f[f[f.columns[0]].astype(str) != "Total"].set_index(f.columns[0])[bands]


def _published_matrix(view, bands: list[str]) -> pd.DataFrame:
    """The numbers a published (suppressed) day x band table shows; suppressed cells NaN."""
    numbers = _published_cells(view, bands).astype(str).replace(",", "", regex=True)
    return numbers.apply(pd.to_numeric, errors="coerce")  # column-wise (a handful of bands), not per row


def section_time(doc: Document) -> Section:
    """Time: month and season always; day of week and hour where a dataset has times."""
    spec = topic_spec(doc)
    cat = doc.catalogue
    s = topic_monthly(doc)
    season = _season(doc)
    noun = _noun(doc)
    sec = Section("Time: season, day and hour")
    if "untestable" in season.attrs:
        sec.add(f"Season: {spec['label']} shows {_season_text(doc)}, so only the monthly means are described.")
    else:
        sec.add(f"Season: {spec['label']} shows {_season_text(doc)} (month-of-year effects tested in a count model "
                f"allowing for trend{' and the series break' if len(_breaks(doc)) else ''}; STL seasonal "
                f"strength {season['seasonal_strength'].iloc[0]:.2f} on a 0 to 1 scale).")
    fig, by = _month_profile_figure(s, f"{spec['label']}: mean {noun} per calendar month")
    sec.add(doc.figure(fig, f"{spec['label']}: mean police-recorded {noun} in each calendar month, "
                            f"{s.index[0]} to {s.index[-1]}",
                       alt=(f"Bar chart by calendar month; the highest mean is {calendar.month_name[int(by.idxmax())]} "
                            f"({by.max():,.0f}) and the lowest {calendar.month_name[int(by.idxmin())]} ({by.min():,.0f}).")))
    if len(s) >= 24:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stl = trends.trend_stl(s)
        both = pd.concat([pd.DataFrame({"month": stl["month"], "count": stl["observed"], "series": "observed"}),
                          pd.DataFrame({"month": stl["month"], "count": stl["trend"],
                                        "series": "STL trend (season removed)"})])
        sec.add(doc.figure(chart_monthly(both, group="series", title=f"{spec['label']}: observed and deseasonalised trend",
                                         breaks=_breaks(doc)),
                           f"{spec['label']}: monthly {noun} and the STL trend component",
                           alt=f"Line chart of monthly {noun} with a smooth STL trend line from "
                               f"{stl['trend'].iloc[0]:,.0f} to {stl['trend'].iloc[-1]:,.0f} a month."))
    else:
        sec.add(f"The data hold {len(s)} month{'s' if len(s) != 1 else ''}, so no deseasonalised trend is drawn (it "
                "needs at least 24).")
    sec.add(HTMLPart('<h3 id="day-hour">Day of week and time of day</h3>'))
    sec.add(paragraph("data.police.uk gives only the month of each crime, so police data cannot show the day or hour. "
                      "Partner datasets with date-times are used instead where they record the same problem.",
                      css="table-note"))
    timed = [k for k in spec["partner_events"] if partner_events(doc, k)["date"].dt.hour.gt(0).any()]
    for key in timed:  # one or two timed partner datasets
        e = partner_events(doc, key)
        ds = cat.datasets[key]
        mat = _day_hour(e["date"])
        view = _table(doc, mat.rename_axis("day").reset_index(), f"{ds.title}: {spec['label'].lower()} by day of week "
                                                              "and time of day (window)",
                         sensitivity=ds.sensitivity, count_columns=_BANDS, dataset=key,
                         dimensions=("day of week", "time of day"), scope=f"{spec['label']}, window")
        shown = _published_matrix(view, _BANDS)
        peak = shown.stack().idxmax()
        sec.add(f"{ds.title}: the busiest time is {peak[0]} {peak[1]}; "
                f"{shown.loc[['Friday', 'Saturday', 'Sunday']].sum().sum() / shown.sum().sum():.0%} of call-outs with a "
                "published count fall on Friday to Sunday.")
        sec.add(doc.figure(chart_heatmap(_published_cells(view, _BANDS), title=f"{ds.title} by day and time",
                                         xlabel="time of day",
                                         ylabel="day of week"),
                           f"{ds.title}: day of week by time of day",
                           alt=f"Heat map of {ds.title.lower()} by day (rows) and 3-hour band (columns); darkest at "
                               f"{peak[0]} {peak[1]}."))
        sec.add(view)
    for key in spec["time_tables"]:  # the ED time profile (sensitive): aggregate before publishing
        t = doc.workbench.intake.tables.get(key)
        if t is None or len(t) == 0:
            continue
        ds = cat.datasets[key]
        t = t.assign(attendances=pd.to_numeric(t["attendances"], errors="coerce").fillna(0).astype(int))
        mat = t.pivot_table(index="day_of_week", columns="hour_band", values="attendances", aggfunc="sum",
                            fill_value=0).reindex(index=_DAYS, columns=_BANDS, fill_value=0)
        view = _table(doc, mat.rename_axis("day").reset_index().rename_axis(None, axis=1),
                         f"{ds.title}: attendances by day of week and time of day (window)",
                         sensitivity=ds.sensitivity, count_columns=_BANDS, dataset=key,
                         dimensions=("day of week", "time of day"), scope="window")
        shown = _published_matrix(view, _BANDS)
        peak = shown.stack().idxmax()
        # Shares of the published cells only: a share of all attendances would let a reader work out
        # the sum of suppressed cells from the published total.
        published_total = max(1.0, float(np.nansum(shown.to_numpy())))
        night = float(np.nansum(shown[["21:00-23:59", "00:00-02:59"]].to_numpy()) / published_total)
        weekend = float(np.nansum(shown.loc[["Friday", "Saturday", "Sunday"]].to_numpy()) / published_total)
        sec.add(f"Emergency department assault attendances (ISTV) peak on {peak[0]} {peak[1]}; {night:.0%} of "
                f"attendances with a published count fall between 21:00 and 02:59 and {weekend:.0%} on Friday to "
                "Sunday. Small counts are suppressed before anything is shown.")
        sec.add(doc.figure(chart_heatmap(_published_cells(view, _BANDS), title="ED assault attendances by day and time",
                                         xlabel="time of day",
                                         ylabel="day of week"),
                           "Emergency department assault attendances: day of week by time of day (suppressed cells "
                           "shown as [c])",
                           alt=f"Heat map of ED assault attendances by day and 3-hour band; darkest at {peak[0]} {peak[1]}."))
        sec.add(view)
        for col, caption in (("location_type", "where the assault happened"), ("assault_method", "assault method")):
            agg = t.groupby(col, as_index=False)["attendances"].sum().sort_values("attendances", ascending=False)
            sec.add(_table(doc, agg.rename(columns={col: caption}),
                              f"Emergency department assault attendances by {caption} (window)",
                              sensitivity=ds.sensitivity, count_columns=["attendances"], dataset=key,
                              dimensions=(caption,), scope="window"))
    if not timed and not spec["time_tables"]:
        sec.add(callout(f"No dataset received records the day or time of {spec['label'].lower()}, so when in the week "
                        "or day it happens is unknown (see intelligence gaps).", caveat=True))
    return sec


def section_places(doc: Document) -> Section:
    """Places: Gi* hotspots, per-population hotspots, emerging hotspots and the near-repeat result."""
    spec = topic_spec(doc)
    wb = doc.workbench
    months = ev.last_year(doc)
    noun = _noun(doc)
    label = spec["label"]
    sec = Section("Places: hotspots, emerging hotspots and near repeats")
    hot_all = _hot(doc)
    hot = hot_all[hot_all["hotspot"] == "hot"]
    clusters = profile_hot_clusters(doc)
    place = clusters["place"].iloc[0] if len(clusters) else ""
    text = f"{label}, {months[0]} to {months[-1]}: {hotspots.hotspot_summary(hot_all, noun=_phrase(doc))}"
    if len(clusters) and bool(clusters["widespread"].iloc[0]):
        top = clusters.iloc[0]
        text += (f" The hot cells form {_hotspots_phrase(len(clusters))}; the largest is "
                 + ev.widespread_words(int(top["cells"]), float(top["area_share"]), ev.widespread_share(doc))
                 + (f"; it is busiest near {place}" if place else "")
                 + f", and held {int(top['events']):,} of the {int(hot['count'].sum()):,} {_phrase(doc)} in hot cells.")
    elif len(clusters):
        top = clusters.iloc[0]
        text += (f" The hot cells form {_hotspots_phrase(len(clusters))}; the largest covers {int(top['cells']):,} "
                 f"grid cells" + (f" near {place}" if place else "") + f" and held {int(top['events']):,} of the "
                 f"{int(hot['count'].sum()):,} {_phrase(doc)} in hot cells.")
    sec.add(text)
    page = map_layers([(wb.wards, "name", "Wards")], highlight=hot.assign(
        cell=hot["cell_id"].astype(str), events=hot["count"].astype(int), z=hot["gi_z"].round(1))[
        ["cell", "events", "z", "geometry"]], highlight_label=f"Significant {label.lower()} hotspot cells",
        offline=doc.offline)
    sec.add(doc.map(page, f"{label}: significant Getis-Ord Gi* hotspot cells, {months[0]} to {months[-1]}",
                    alt=f"Map of wards with {len(hot)} grid cells in {_hotspots_phrase(len(clusters))} shaded as "
                        f"significant {label.lower()} hotspots" + (f"; the largest is near {place}." if place else ".")))
    if not wb.has_population:
        sec.add("No population was supplied, so hotspots are not tested against where people live.")
    else:
        _per_population(doc, sec, hot)
    _emerging_part(doc, sec)
    return _near_repeat_part(doc, sec)


def _per_population(doc: Document, sec: Section, hot: gpd.GeoDataFrame) -> None:
    """Hotspots allowing for where people live (needs population)."""
    wb = doc.workbench
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        per_pop = hotspots.hotspot_rate(_count_grid(doc),
                                        wb.small_areas[["population", "geometry"]], population_col="population")
    hot_pop = per_pop[per_pop["hotspot"] == "hot"]
    both = int(hot["cell_id"].isin(hot_pop["cell_id"]).sum())
    sec.add(f"Allowing for where people live: {len(hot_pop)} cells have significantly more {_phrase(doc)} than their resident "
            f"population predicts; {both} of the {len(hot)} count hotspot cells are among them"
            + (", so the hotspot is not simply a map of population." if both else
               ", so the count hotspots largely follow where people live.")
            + " Cells with few residents but many visitors (town centres) show as hot here: footfall is not residents.")


def _emerging_part(doc: Document, sec: Section) -> None:
    """Emerging hotspots over the complete years of the data."""
    spec = topic_spec(doc)
    label, noun, wb = spec["label"], _noun(doc), doc.workbench
    sec.add(HTMLPart('<h3 id="emerging">Emerging hotspots</h3>'))
    n_years = len(ev.complete_years(doc))
    if n_years < 2:
        sec.add(f"Emerging hotspots are not classified: the data hold {n_years} complete year"
                f"{'s' if n_years != 1 else ''}, and classing a hotspot as new or lasting needs at least two "
                "(a partial year is never compared with whole ones).")
        return
    cl = _classes(doc)
    em = profile_emerging(doc)
    year_cols = sorted(c for c in cl.columns if c.startswith("count_"))
    pattern = cl["pattern"].value_counts()
    if len(em):
        ecl, cells = profile_emerging_clusters(doc)
        first, last = year_cols[0], year_cols[-1]
        y0, y1 = ev.period_name(doc, first[6:]), ev.period_name(doc, last[6:])
        big = ecl.iloc[0]
        empty = int(ecl["empty_cells"].sum())
        near = f" near {big['place']}" if big["place"] else ""
        if len(ecl) == 1:
            what = f"1 emerging hotspot of {len(em)} grid cells{near}"
        else:
            what = (f"{_hotspots_phrase(len(ecl), 'emerging hotspot')} ({len(em)} grid cells in all); the largest "
                    f"covers {int(big['cells'])} cells{near}")
        lonely = (f" {empty} of these cells had no {_phrase(doc)} of its own in {y1}: it is part of an emerging "
                  "cluster, classed by its neighbourhood (the cell and the cells around it)." if empty == 1 else
                  f" {empty} of these cells had no {_phrase(doc)} of their own in {y1}: each is part of an emerging "
                  "cluster, classed by its neighbourhood (the cell and the cells around it)." if empty else "")
        sec.add(callout(
            f"Emerging hotspot: {what}. Emerging means {EMERGING_DEFINITION.replace('in the latest year', 'in ' + y1)}: "
            f"{int(em[last].sum()):,} {_phrase(doc)} in {y1} against {int(em[first].sum()):,} in {y0}."
            + (f" About {_n(em['households'].sum())} households live in these cells." if wb.has_households
               and em["households"].sum() >= 0.5 else "") + lonely))
        x0, y0b, x1, y1b = em.total_bounds
        from shapely.geometry import box

        window = box(x0 - _ZOOM_BUFFER_M, y0b - _ZOOM_BUFFER_M, x1 + _ZOOM_BUFFER_M, y1b + _ZOOM_BUFFER_M)
        near_wards = gpd.clip(wb.wards[["name", "geometry"]], window)
        near_wards = near_wards[~near_wards.geometry.is_empty]
        where = cells["cluster"].map(ecl.set_index("cluster")["place"]).fillna("").astype(str)
        highlight = gpd.GeoDataFrame({
            "emerging hotspot": ("part of the emerging cluster near " + where).where(where != "", "part of an emerging cluster").to_numpy(),
            f"{noun} {y1}": cells[last].astype(int).to_numpy(), f"{noun} {y0}": cells[first].astype(int).to_numpy()},
            geometry=cells.geometry.to_numpy(), crs=cells.crs)
        page = map_layers([(near_wards, "name", "Wards (nearby)")], highlight=highlight,
                          highlight_label=f"Emerging {label.lower()} hotspot cells", offline=doc.offline,
                          streets=ev.street_labels(doc, window, avoid=gpd.GeoDataFrame(
                              geometry=near_wards.geometry.representative_point(), crs=near_wards.crs),
                              focus=em.geometry.union_all()))
        sec.add(doc.map(page, f"{label}: emerging hotspots, zoomed to the emerging cells (wards within about "
                              f"{_ZOOM_BUFFER_M / 1000:.1f} km)",
                        alt=f"Close-up map of {len(em)} emerging hotspot cells in {_hotspots_phrase(len(ecl), 'cluster')}"
                            + (f", the largest near {big['place']}" if big["place"] else "")
                            + f", with the boundaries of the {len(near_wards)} nearby wards and the names of the "
                              "busiest streets in the police data."))
        tab = pd.DataFrame({"near (street)": ecl["street"].replace("", "(no street name)").to_numpy(),
                            "ward": ecl["ward"].to_numpy(), "grid cells": ecl["cells"].astype(int).to_numpy()})
        for c in year_cols:
            tab[f"{noun} {c[6:]}"] = ecl[c].astype(int).to_numpy()
        tab[f"cells with no {noun} in {y1}"] = ecl["empty_cells"].astype(int).to_numpy()
        if wb.has_households:
            tab["households (estimated)"] = ecl["households"].round(0).astype(int).to_numpy()
        tab["p (rise, FDR-adjusted, weakest cell)"] = ecl["p_weakest"].astype(float).to_numpy()
        sec.add(doc.table(tab, f"{label}: emerging hotspots by year",
                          notes=["Counts are events inside the hotspot's cells. Each cell is classed by its Gi* "
                                 "neighbourhood (the cell and the cells around it), so a cell with no events of its "
                                 "own can be part of an emerging cluster.",
                                 f"Emerging: {EMERGING_DEFINITION}. The p-value shown is the largest among the "
                                 "hotspot's cells.", emerging_dispersion_note(cl["dispersion"])],
                          decimals={"p (rise, FDR-adjusted, weakest cell)": 3}))
    else:
        sec.add(f"No emerging hotspot: no cell is {EMERGING_DEFINITION}.")
    sec.add(paragraph(f"Across the {n_years} complete years: " + ", ".join(f"{int(pattern.get(p, 0))} {p}" for p in
                                                              ("persistent", "emerging", "intermittent", "former"))
                      + " hotspot cells.", css="table-note"))


def _near_repeat_part(doc: Document, sec: Section) -> Section:
    """The Knox near-repeat tests (police and timed partner data)."""
    label = topic_spec(doc)["label"]
    sec.add(HTMLPart('<h3 id="near-repeat">Near repeats</h3>'))
    knox = _near_repeat(doc)
    for key, k in knox.items():
        if key in ("police_months",):
            continue
        if key in ev.crime_datasets(doc):
            pm = knox["police_months"]
            sec.add(_knox_sentence(k, f"Police {label.lower()} ({pm[0]} to {pm[-1]}, month resolution)"))
            sec.add(callout("data.police.uk dates are months only, so the police test can only ask whether events at "
                            "the same or nearby map points fall in the same or following months; it cannot see the "
                            "days-long near-repeat window that burglary studies find, and a place that becomes busy "
                            "for a whole year (an emerging hotspot) also produces same-month pairs.", caveat=True))
        else:
            sec.add(_knox_sentence(k, f"{_title(doc, key)} (day resolution)"))
        shown = k[["distance_band", "time_band", "observed", "expected", "knox_ratio", "p_value", "p_adjusted"]].rename(
            columns={"distance_band": "distance apart", "time_band": "time apart", "observed": "pairs observed",
                     "expected": "pairs expected", "knox_ratio": "Knox ratio", "p_value": "p (99 permutations)",
                     "p_adjusted": "p (FDR-adjusted)"})
        shown["pairs observed"] = shown["pairs observed"].astype(int)
        src = doc.catalogue.datasets[key]
        public = src.sensitivity == "public"
        # Pairs of events are not a total of anything: never a Total row. Police data are public (no
        # suppression); a partner's pair counts keep the threshold rule alone.
        sec.add(_table(doc, shown, f"Knox near-repeat test: {src.title} ({label.lower()})",
                       sensitivity=src.sensitivity, count_columns=() if public else ["pairs observed"],
                       margins=None if public else "none",
                       decimals={"pairs expected": 1, "Knox ratio": 2, "p (99 permutations)": 2,
                                 "p (FDR-adjusted)": 2},
                       notes=["Knox (1964) test with dates permuted across events (Ratcliffe's Near Repeat "
                              "Calculator method); ratio above 1 means more pairs than chance.",
                              f"{len(k)} bands are tested at once, so p-values are adjusted for multiple testing "
                              "(Benjamini-Hochberg false discovery rate); only an adjusted p below 0.05 counts as a "
                              "near-repeat pattern."]))
    if not knox:
        sec.add(f"Too few located {_phrase(doc)} to test for near repeats.")
    return sec


def _partner_counts_frame(doc: Document, key: str, months: list[str] | None = None) -> pd.DataFrame:
    ac = doc.workbench.intake.area_counts
    cats = topic_spec(doc)["partner_counts"][key]
    a = ac[(ac["dataset"] == key) & ac["category"].isin(cats)]
    a = a[a["period"].astype(str).str[:7].isin(months or doc.workbench.window)]
    return a


def _colocated_sentence(hot: pd.DataFrame, layers: list[str], max_areas: int = 8, names: pd.Series | None = None) -> str:
    """Co-located hotspots grouped by the set of agencies hot there (layer names are catalogue titles).

    ``hot`` is :func:`overlap.overlap_hotspots` output (``hot_<layer>`` flags, ``colocated``).
    """
    co = hot[hot["colocated"]]
    if co.empty:
        return "No small area is a hotspot for two or more agencies: the agencies' hotspots do not coincide."
    keys = pd.Series("", index=co.index, dtype=object)
    for layer in layers:  # a few agencies' layers
        keys = keys + np.where(co[f"hot_{layer}"].to_numpy(bool), "|" + str(layer), "")
    keys = keys.str.removeprefix("|")
    parts = []
    for combo, areas in keys.groupby(keys, sort=False):  # one group per combination of agencies
        codes = pd.Series(areas.index.astype(str))
        labels = (codes.map(names).fillna(codes) if names is not None else codes).astype(str).tolist()
        shown = ", ".join(labels[:max_areas]) + (f" and {len(labels) - max_areas} more" if len(labels) > max_areas else "")
        parts.append(f"{len(labels)} for {_and_list(combo.split('|'))} ({shown})")
    are = "small area is a hotspot" if len(co) == 1 else "small areas are hotspots"
    return (f"{len(co)} {are} for two or more agencies at once (co-located hotspots): "
            + "; ".join(parts) + ".")


def _topic_subject(doc: Document) -> tuple[pd.DataFrame, str]:
    """The topic's events and their noun, for the shared deprivation section."""
    return topic_events(doc), _phrase(doc)


def section_deprivation(doc: Document) -> Section:
    """Deprivation: how far the topic's events concentrate in deprived small areas (the shared
    section of :mod:`assessment.reporting.deprivation`, about this profile's topic)."""
    return deprivation.section_deprivation(doc, subject=_topic_subject)


def section_partner_data(doc: Document) -> Section:
    """Partner data on the same problem: counts beside the police and overlap on small areas."""
    spec = topic_spec(doc)
    wb = doc.workbench
    cat = doc.catalogue
    months = ev.last_year(doc)
    label = spec["label"]
    sec = Section("Partner data on the same problem")
    if not spec["partner_events"] and not spec["partner_counts"]:
        sec.add(callout(f"No partner dataset in the catalogue records {label.lower()} (or none is permitted for "
                        "problem profiles), so this profile rests on police data alone. See intelligence gaps for "
                        "what partners could add.", caveat=True))
        return sec
    pol = topic_events(doc)
    crime = cat.datasets[ev.crime_dataset(doc)]
    rows = [{"source": f"{crime.title} ({', '.join(spec['crime_types'])})",
             "agency": crime.agency, "sensitivity": "public",
             "window": len(pol), "latest 12 months": int(pol["month"].isin(months).sum())}]
    worst = "public"
    order = ["public", "official", "sensitive", "personal"]
    for key in spec["partner_events"]:
        e = partner_events(doc, key)
        rows.append({"source": f"{cat.datasets[key].title} ({', '.join(spec['partner_events'][key])})",
                     "agency": cat.datasets[key].agency, "sensitivity": cat.datasets[key].sensitivity,
                     "window": len(e), "latest 12 months": int(e["month"].isin(months).sum())})
    for key in spec["partner_counts"]:
        a = _partner_counts_frame(doc, key)
        rows.append({"source": cat.datasets[key].title, "agency": cat.datasets[key].agency,
                     "sensitivity": cat.datasets[key].sensitivity, "window": int(a["count"].sum()),
                     "latest 12 months": int(a.loc[a["period"].astype(str).str[:7].isin(months), "count"].sum())})
    for r in rows:
        worst = max(worst, r["sensitivity"], key=order.index)
    wide = pd.DataFrame(rows).drop(columns="sensitivity").rename(columns={
        "window": f"{doc.workbench.window[0]} to {doc.workbench.window[-1]}",
        "latest 12 months": f"latest 12 months ({months[0]} to {months[-1]})"})
    sec.add(f"{len(rows) - 1} partner {plural(len(rows) - 1, 'dataset')} {plural(len(rows) - 1, 'records', 'record')} {label.lower()} beside the police. Each counts a different "
            "thing (a crime, a call-out, an attendance), so the counts are not expected to agree and are not added "
            "up; what matters is whether they point to the same places.")
    sec.add(_table(doc, wide, f"{label}: each agency's count over the window and in the latest 12 months",
                   sensitivity=worst, count_columns=list(wide.columns[-2:]), margins="none",
                   notes=["No total is shown: crimes, call-outs and attendances are different kinds of record, and "
                          "the latest 12 months are part of the window."]))
    # Overlap on small areas, latest 12 months.
    areas = wb.small_areas[["code", "geometry"]].rename(columns={"code": "area_code"})
    # Layers are named by catalogue title: the names reach the co-located hotspot sentences.
    points = {"police": ev.points_of(pol[pol["month"].isin(months)])[["geometry"]]}
    for key in spec["partner_events"]:
        e = partner_events(doc, key)
        points[_title(doc, key)] = ev.points_of(
            e[e["month"].isin(months)])[["geometry"]]
    counts_by = {}
    for key in spec["partner_counts"]:
        a = _partner_counts_frame(doc, key, months)
        counts_by[_title(doc, key)] = a.groupby("area_code", as_index=False)["count"].sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        counts = overlap_counts(areas=areas, points=points, area_counts=counts_by or None)
        hot = overlap_hotspots(counts)
        comp = overlap_compare(counts, reference="police", hotspots=hot)
    sec.add(bullet_list([_colocated_sentence(hot, list(counts.columns), names=ev.area_names(doc)),
                         *overlap_sentences(hot, comp)[1:]]))
    shown = comp[["layer", "spearman_rho", "share_in_reference_top", "reference_share_in_top", "hot_areas",
                  "hot_both", "jaccard"]].rename(columns={
        "layer": "partner data", "spearman_rho": "rank correlation with police (Spearman)",
        "share_in_reference_top": "share in police top-10% small areas",
        "reference_share_in_top": "police share there", "hot_areas": "hot small areas",
        "hot_both": "hot for police too", "jaccard": "overlap of hot areas (Jaccard)"})
    sec.add(doc.table(shown, f"{label}: how far each partner's picture agrees with the police picture "
                             f"(small areas, {months[0]} to {months[-1]})",
                      decimals={"rank correlation with police (Spearman)": 2, "share in police top-10% small areas": 2,
                                "police share there": 2, "overlap of hot areas (Jaccard)": 2},
                      notes=["Hot small areas: Poisson excess over each layer's expected share, FDR-corrected. Small "
                             "areas' counts are never shown for sensitive data, only correlations and shares."]))
    doc.cache[f"profile-{spec['topic']}-overlap"] = comp
    return sec


def section_gaps(doc: Document) -> Section:
    """Intelligence gaps specific to the topic and the data received."""
    spec = topic_spec(doc)
    cat = doc.catalogue
    pol = topic_events(doc)
    noun = _noun(doc)
    gaps = []
    n_no_xy = int(pol["easting"].isna().sum()) if len(pol) else 0
    if n_no_xy:
        share = n_no_xy / len(pol)
        gaps.append(f"{share:.1%} of police-recorded {_phrase(doc)} ({n_no_xy:,}) have no map point, so hotspots and "
                    "ward rates understate them (they are counted in every total and trend)." if share >= 0.001 else
                    f"{n_no_xy:,} police-recorded {_phrase(doc)} have no map point; they are counted in every total "
                    "and trend but not in hotspots or ward rates.")
    outside = doc.workbench.outside_partnership(ev.crime_datasets(doc))
    if outside:
        gaps.append(f"{outside:,} police records (all crime types) lay outside the partnership and are left out of "
                    "this profile.")
    gaps.append("data.police.uk gives months, not dates or times: day-of-week, time-of-day and near-repeat patterns "
                "within days cannot be seen in police data.")
    for key, why in spec["refused"].items():  # a few refused datasets
        gaps.append(f"{why} The partnership holds these data; extending the agreement to problem profiles would "
                    "close this gap.")
    for b in _breaks(doc).to_dict("records"):  # one per series break
        gaps.append(f"Series break from {b['month']} ({b['label']}): comparisons across it measure recording, not "
                    "behaviour.")
    if not spec["partner_events"] and not spec["partner_counts"]:
        gaps.append(f"No partner records {spec['label'].lower()}: the picture is police-recorded only, and so shaped "
                    "by what is reported to and recorded by the police.")
    for key in [*spec["partner_counts"], *spec["time_tables"]]:
        gaps.append(f"{cat.datasets[key].title} arrive aggregated, so attendances cannot be linked to police records "
                    "or to places finer than a small area.")
    for key in spec["partner_events"]:
        for c in cat.datasets[key].caveats:
            gaps.append(f"{cat.datasets[key].title}: {c}")
    gaps.extend(spec["gaps"])
    sec = Section("Intelligence gaps")
    sec.add(f"What the data received cannot tell us about {spec['label'].lower()}, and what would close each gap:")
    sec.add(bullet_list(gaps))
    return sec


_OUTCOME_GROUPS = ("no suspect identified", "suspect identified and dealt with (charge, caution, court or other)",
                   "suspect identified, not prosecuted", "open or unknown", "other (e.g. another organisation)")


def _outcome_groups(outcome: pd.Series) -> np.ndarray:
    """Each data.police.uk last outcome in one of five groups (``_OUTCOME_GROUPS``)."""
    out = outcome.fillna("(none)").astype(str)
    return np.select(
        [out.str.contains("no suspect identified", case=False),
         out.str.contains("Offender|Suspect charged|Awaiting court|Defendant|Court", case=False, regex=True),
         out.str.contains("Unable to prosecute|not in the public interest", case=False, regex=True),
         out.str.contains("Under investigation|Status update unavailable|\\(none\\)", case=False, regex=True)],
        list(_OUTCOME_GROUPS[:4]), default=_OUTCOME_GROUPS[4])


def _suspect_sentence(doc: Document, label: str) -> str:
    """What the outcomes say about identifying a suspect, in words that follow the numbers."""
    pol = topic_events(doc)
    months = ev.last_year(doc)
    if "outcome" not in pol.columns:
        return "no outcome data were supplied, so how often a suspect is identified is not known"
    groups = pd.Series(_outcome_groups(pol.loc[pol["month"] < months[0], "outcome"]))
    known = groups[~groups.isin([_OUTCOME_GROUPS[3], _OUTCOME_GROUPS[4]])]
    if len(known) == 0:
        return "the police outcomes do not show whether a suspect was identified (every outcome is open or unknown)"
    identified = groups.isin(_OUTCOME_GROUPS[1:3])
    return (f"a suspect was identified for {identified.mean():.0%} of {_phrase(doc)} recorded before "
            f"{month_words(months[0])} ({identified.sum() / len(known):.0%} of those with a known outcome), but "
            "nothing received says who offends repeatedly")


def _findings(doc: Document) -> dict[str, Any]:
    """The computed findings the recommendations rest on (cached analyses, recomputed if needed)."""
    spec = topic_spec(doc)
    hot_all = _hot(doc)
    hot = hot_all[hot_all["hotspot"] == "hot"]
    em = profile_emerging(doc)
    knox = _near_repeat(doc)
    wr = ev.evidence_ward_rates(doc, categories=spec["crime_types"])
    pol = topic_events(doc)
    recent = pol[pol["month"].isin(ev.last_year(doc))]
    clusters = profile_hot_clusters(doc)
    ecl = profile_emerging_clusters(doc)[0]
    f: dict[str, Any] = {
        "hot_cells": len(hot), "hot_events": int(hot["count"].sum()),
        "hot_share": float(hot["count"].sum() / max(1, recent["easting"].notna().sum())),
        "hot_clusters": len(clusters),
        "top_cells": int(clusters["cells"].iloc[0]) if len(clusters) else 0,
        "top_events": int(clusters["events"].iloc[0]) if len(clusters) else 0,
        "hot_place": str(clusters["place"].iloc[0]) if len(clusters) else "",
        "top_widespread": bool(clusters["widespread"].iloc[0]) if len(clusters) else False,
        "top_area_share": float(clusters["area_share"].iloc[0]) if len(clusters) else 0.0,
        "emerging_cells": len(em), "emerging_clusters": len(ecl),
        "emerging_place": str(ecl["place"].iloc[0]) if len(ecl) else "",
        "emerging_households": float(em["households"].sum()) if len(em) else np.nan,
        "higher_wards": list(wr.loc[wr["compared_with_partnership"] == "higher", "name"].astype(str)),
        "season": _season(doc).iloc[0], "glm": _glm(doc), "yoy": _yoy(doc),
        "recent": len(recent),
    }
    year_cols = sorted(c for c in em.columns if c.startswith("count_"))
    if len(em) and year_cols:
        f["emerging_last"], f["emerging_first"] = int(em[year_cols[-1]].sum()), int(em[year_cols[0]].sum())
        f["emerging_years"] = (ev.period_name(doc, year_cols[0][6:]), ev.period_name(doc, year_cols[-1][6:]))
    nr, chance = [], []
    for key, k in knox.items():
        if key == "police_months":
            continue
        sig = k[k["near_repeat"]]  # FDR-adjusted p < 0.05 across the table's bands
        if len(sig):
            top = sig.sort_values("knox_ratio", ascending=False).iloc[0]
            nr.append((key, top["distance_band"], top["time_band"], float(top["knox_ratio"]),
                       float(top["p_adjusted"])))
        else:
            chance.append(key)
    f["near_repeat"], f["near_repeat_chance"] = nr, chance
    loc = recent[recent["location"].notna() & (recent["location"] != "No Location")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reps = hotspots.hotspot_repeat_locations(loc, "location", min_events=3)
    f["top_locations"] = reps.head(5)
    return f


def section_recommendations(doc: Document) -> Section:
    """Recommendations under prevent / pursue / protect / prepare, each tied to a computed finding."""
    spec = topic_spec(doc)
    f = _findings(doc)
    label = spec["label"].lower()
    noun = _noun(doc)
    cat = doc.catalogue
    sec = Section("Recommendations")
    sec.add("Each recommendation names the finding it rests on. Prevent stops the problem arising; pursue deals with "
            "those responsible; protect reduces harm to likely victims and places; prepare readies the partnership "
            "for what the data say is coming, and for what they cannot yet show.")
    season = f["season"]
    trend = (f["glm"][f["glm"]["term"] == "trend"].iloc[0] if f["glm"] is not None else
             pd.Series({"p_value": np.nan, "estimate_pct": np.nan}))
    top_loc = f["top_locations"]
    top_names = top_loc.iloc[:, 0].astype(str) if len(top_loc) else pd.Series(dtype=str)
    kinds = ev.place_type_labels(top_names)  # "On or near Nightclub" says what kind of place, not where
    streets = and_list(top_names[kinds.isna()].str.replace(r"^On or near ", "", regex=True).head(3))
    kinds_txt = and_list(kinds.dropna().str.lower().drop_duplicates().head(3))
    prevent, pursue, protect, prepare = [], [], [], []
    if f["hot_cells"] and f.get("top_widespread"):
        prevent.append(f"Treat {label} as an area-wide problem: its largest hotspot is "
                       + ev.widespread_words(f["top_cells"], f["top_area_share"], ev.widespread_share(doc))
                       + (f"; it is busiest near {f['hot_place']}" if f["hot_place"] else "")
                       + ". Prevention across the area (and at the repeat locations below) suits it better than "
                       "patrols to one place. Together the hotspots held "
                       f"{f['hot_events']:,} {_phrase(doc)} ({f['hot_share']:.0%} of located {_phrase(doc)}) in the "
                       "latest 12 months.")
    elif f["hot_cells"]:
        near = f" near {f['hot_place']}" if f["hot_place"] else ""
        if f["hot_clusters"] == 1:
            where = f"the hotspot{near} ({f['top_cells']:,} grid cells)"
        else:
            where = (f"the {f['hot_clusters']:,} separate hotspots, starting with the largest, which covers "
                     f"{f['top_cells']:,} grid cells{near} and held {f['top_events']:,} {_phrase(doc)}")
        prevent.append(f"Focus prevention (problem-solving with place managers, design, lighting, guardianship) on "
                       f"{where}. Together the hotspots held {f['hot_events']:,} {_phrase(doc)} "
                       f"({f['hot_share']:.0%} of located {_phrase(doc)}) in the latest 12 months.")
    else:
        prevent.append(f"No significant hotspot of {label} was found, so area-wide rather than place-based prevention "
                       "is indicated.")
    if spec["premises"]:
        prevent.append("Use licensing conditions and the night-time economy partnership at premises near the hotspot; "
                       "the time profile shows when.")
    if len(top_loc):
        typed = (f"the map points that data.police.uk labels only by the kind of place ({kinds_txt}), which the "
                 "force can locate from its own records") if kinds_txt else ""
        pursue.append(f"Direct patrol and investigation to the busiest repeat locations: "
                      f"{', and '.join(p for p in (streets, typed) if p)}. The top five locations hold "
                      f"{top_loc['share_of_events'].sum():.0%} of located {_phrase(doc)} in the latest 12 months.")
    if spec["persons"]:
        pursue.append("Use the violence nominals to identify repeat offenders for multi-agency offender management.")
    else:
        pursue.append(f"Request offender data (police extract with suspect and offender flags) for {label}: "
                      f"{_suspect_sentence(doc, label)}.")
    if f["emerging_cells"]:
        y0, y1 = f["emerging_years"]
        where = f" near {f['emerging_place']}" if f["emerging_place"] else ""
        verb = "target-harden" if spec["topic"] in ("burglary", "vehicle_crime") else "focus protection on"
        n_em = f["emerging_clusters"]
        homes = (f"about {_n(f['emerging_households'])} households{where}"
                 if pd.notna(f["emerging_households"]) and f["emerging_households"] >= 0.5 else
                 f"the homes and places{where}")
        protect.append(f"{verb.capitalize()} {homes}, where {label} is "
                       f"emerging ({f['emerging_last']:,} {_phrase(doc)} in {y1} against {f['emerging_first']:,} in {y0} in "
                       + (f"one emerging hotspot of {f['emerging_cells']} grid cells" if n_em == 1 else
                          f"{n_em} separate emerging hotspots of {f['emerging_cells']} grid cells in all") + ").")
    for key, d, t, ratio, padj in f["near_repeat"]:
        if key in ev.crime_datasets(doc):
            protect.append(f"After each offence, extend prevention advice to nearby addresses: in police data, "
                           f"{_phrase(doc)} {d} and {t} are {ratio:.1f} times as common as chance would give "
                           f"(adjusted for the bands tested, {wording.describe_p(padj)}; month resolution only, so "
                           "this may reflect a busy period at a place rather than true near repeats).")
        else:
            protect.append(f"{_title(doc, key)}: incidents {d} and {t} are {ratio:.1f} times as common as chance "
                           f"would give (adjusted for the bands tested, {wording.describe_p(padj)}), so a rapid "
                           "response around each incident is worth testing.")
    if f["higher_wards"]:
        protect.append(f"Prioritise victim support and crime prevention advice in the wards with significantly higher "
                       f"rates: {', '.join(f['higher_wards'][:6])}.")
    if not protect:
        protect.append(f"No emerging hotspot, near-repeat pattern or ward with a significantly higher rate was found for "
                       f"{label}; keep the standard offer of victim support.")
    for key in f["near_repeat_chance"]:
        src = "police data" if key in ev.crime_datasets(doc) else _title(doc, key)
        protect.append(f"No near-repeat action is recommended from {src}: once corrected for the number of "
                       "space-time bands tested, the near-repeat pattern is not distinguishable from chance.")
    if pd.isna(season["p_value"]):
        prepare.append(f"Seasonality could not be tested ({_season_text(doc)}); review the monthly profile before "
                       "planning resources by season.")
    elif season["p_value"] < 0.05:
        prepare.append(f"Plan resources ahead of {calendar.month_name[int(season['peak_month'])]}, the seasonal peak "
                       f"({_season_text(doc)}).")
    else:
        prepare.append(f"The seasonal test found {_season_text(doc)}; that does not show there is no season, so keep "
                       "checking the monthly profile before planning resources by season.")
    if trend["p_value"] < 0.05:
        prepare.append(f"Plan for a {'rising' if trend['estimate_pct'] > 0 else 'falling'} demand: "
                       f"{wording.describe_trend(f['glm'], _breaks(doc) if len(_breaks(doc)) else None)}.")
    for key in spec["refused"]:
        prepare.append(f"Seek to extend {cat.datasets[key].sharing.agreement} ({cat.datasets[key].title}) to problem "
                       "profiles before the next profile.")
    sec.add(HTMLPart('<h3 id="prevent">Prevent</h3>'), bullet_list(prevent))
    sec.add(HTMLPart('<h3 id="pursue">Pursue</h3>'), bullet_list(pursue))
    sec.add(HTMLPart('<h3 id="protect">Protect</h3>'), bullet_list(protect))
    sec.add(HTMLPart('<h3 id="prepare">Prepare</h3>'), bullet_list(prepare))
    doc.cache[f"profile-{spec['topic']}-recommendations"] = {"prevent": prevent, "pursue": pursue, "protect": protect,
                                                             "prepare": prepare}
    return sec


def section_appendix(doc: Document) -> Section:
    """Data appendix: definitions, the monthly counts, sources and methods; writes the Excel workbook."""
    spec = topic_spec(doc)
    cat = doc.catalogue
    sec = Section("Appendix: data, definitions and methods")
    s = topic_monthly(doc)
    sec.add(doc.table(pd.DataFrame({"month": s.index, f"police-recorded {_noun(doc)}": s.to_numpy()}),
                      f"{spec['label']}: police-recorded {_noun(doc)} by month", max_rows=40))
    defs = pd.DataFrame([
        ("Topic", f"{spec['label']}: data.police.uk crime types " + ", ".join(spec["crime_types"])
         + "; partner categories " + ("; ".join(f"{_title(doc, k)}: {', '.join(v)}" for k, v in
                                               {**spec["partner_events"], **spec["partner_counts"]}.items()) or "none")),
        ("Significant", "A statistical test gives p < 0.05; otherwise the change is within normal variation."),
        ("Trend", "Annual % change from a quasi-Poisson regression with month-of-year terms (dispersion estimated "
                  "from the series, never below Poisson), its standard error widened for autocorrelation; a series "
                  "break enters as a step."),
        ("Year on year", "Exact test of the two 12-month counts divided by the series' design effect (over-dispersion "
                         "and month-to-month correlation), so ordinary month-to-month swings are not called a change."),
        ("Hotspot", "A grid cell whose neighbourhood has significantly more events than expected (Getis-Ord Gi*, "
                    "Benjamini-Hochberg FDR)."),
        ("Hotspot per population", "Gi* on the excess of events over what the resident population predicts."),
        ("Emerging hotspot", EMERGING_DEFINITION[:1].upper() + EMERGING_DEFINITION[1:] + "."),
        ("Separate hotspots", "Hot grid cells that touch (including at a corner) are one hotspot; the profile counts "
                              "and names hotspots, not cells."),
        ("Repeat location", "A map point or street description with two (or three, in the location table) or more "
                            "events."),
        ("Near repeat", "More pairs of events close in space and time than chance (Knox test, 99 permutations), "
                        "with p-values adjusted across the space-time bands tested (Benjamini-Hochberg)."),
        ("Repeat victim", "A person recorded as a victim again within 365 days (person-level data, where permitted)."),
        ("[c]", "A count suppressed to protect individuals (below the threshold of "
                f"{doc.threshold}, or secondary suppression)."),
    ], columns=["term", "meaning"])
    sec.add(doc.table(defs, "Definitions"))
    used = [*ev.crime_datasets(doc), *spec["partner_events"], *spec["partner_counts"], *spec["time_tables"], *spec["premises"]]
    src = pd.DataFrame([{"dataset": cat.datasets[k].title, "owner": cat.datasets[k].agency,
                         "basis": cat.datasets[k].sharing.basis, "refresh": cat.datasets[k].refresh or ""}
                        for k in used if k in cat.datasets])
    sec.add(doc.table(src, "Sources used and their legal basis"))
    sec.add(error_rates_table(doc))  # searches the text of every section shown before
    doc.write_workbook()
    sec.add(paragraph(f"All {len(doc.tables)} tables are also in tables/{doc.name}.xlsx.", css="table-note"))
    return sec

