"""The statutory themes of the strategic assessment, and the people behind a problem profile.

Six themes each get a section of the strategic assessment when the catalogue has a usable
dataset for them (found by its role, never by its key), and are named under the intelligence
gaps when it has not:

========================  ==================  ============================================
theme                     catalogue role      fields the dataset must map
========================  ==================  ============================================
reoffending               ``reoffending``     ``period``, ``cohort``, ``reoffenders``
substance misuse          ``treatment``       ``period``, ``in_treatment``
domestic abuse and VAWG   ``crime_system``    ``domestic_abuse``
hate crime                ``crime_system``    ``hate_crime``
serious violence          ``crime_system``    ``weapon``
fire                      ``fire_incidents``  (none beyond an events dataset's)
========================  ==================  ============================================

Every count goes through :meth:`Document.table` with the dataset's sensitivity, so disclosure
control applies; prose never states a count from protected data below the threshold. Changes
are tested with the analysis library (:func:`trends.trend_year_on_year`, which allows for
over-dispersion, and :func:`trends.trend_rate_ratio`) and worded by
:mod:`assessment.analysis.wording`.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..analysis import trends, wording
from ..errors import SharingRefused
from ..escaping import write_csv
from ..intake.sharing import check_permitted_use
from . import evidence as ev
from .display import HTMLPart, Section, bullet_list, callout
from .document import Document
from .prose import and_list, month_words, number

__all__ = ["THEMES", "theme_source", "theme_gaps", "theme_period_end", "theme_flag", "section_reoffending",
           "section_substance_misuse", "section_domestic_abuse", "section_hate_crime", "section_serious_violence",
           "section_fire", "triangle_people"]

USE = "strategic assessment"
#: The regulations that set what the strategic assessment covers (England).
REGULATIONS = "the Crime and Disorder (Formulation and Implementation of Strategy) Regulations 2007 (SI 2007/1830)"
REGULATION_NOTE = (f"Under {REGULATIONS}, as amended, the partnership's annual strategic assessment must cover "
                   "reoffending and substance misuse (drugs and alcohol) as well as crime and disorder.")

THEMES: dict[str, dict[str, Any]] = {
    "reoffending": {
        "title": "Reoffending", "roles": ("reoffending",), "fields": ("period", "cohort", "reoffenders"),
        "want": "proven reoffending by offender cohort (the Ministry of Justice's quarterly tables for the area)",
        "statutory": True},
    "substance_misuse": {
        "title": "Substance misuse: drug and alcohol treatment", "roles": ("treatment",),
        "fields": ("period", "in_treatment"),
        "want": "drug and alcohol treatment numbers (the national drug treatment monitoring system's reports for "
                "the area)", "statutory": True},
    "domestic_abuse": {
        "title": "Domestic abuse and violence against women and girls", "roles": ("crime_system",),
        "fields": ("domestic_abuse",),
        "want": "a police crime-system extract with the domestic abuse flag and the victim's sex", "statutory": False},
    "hate_crime": {
        "title": "Hate crime", "roles": ("crime_system",), "fields": ("hate_crime",),
        "want": "a police crime-system extract with the hate crime flag and strand", "statutory": False},
    "serious_violence": {
        "title": "Serious violence", "roles": ("crime_system",), "fields": ("weapon",),
        "want": "a police crime-system extract recording whether a knife, sharp instrument or firearm was involved",
        "statutory": False},
    "fire": {
        "title": "Fire", "roles": ("fire_incidents",), "fields": (),
        "want": "fire and rescue service incident data (deliberate fires)", "statutory": False},
}

_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
_YES = {"y", "yes", "true", "1", "t"}
_NOT_PEOPLE = {"not applicable", "n/a", "na", "business", "organisation"}
_AGE_ORDER = ["Under 18", "0-17", "10-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65 and over", "65+"]


# --------------------------------------------------------------------------- helpers
def _cached(doc: Document, key: str, build):
    key = f"themes-{key}"
    if key not in doc.cache:
        doc.cache[key] = build()
    return doc.cache[key]


def theme_source(doc: Document, theme: str) -> tuple[str | None, str]:
    """The catalogue key of the usable dataset for a statutory theme, or None and why not.

    A dataset is usable when it plays one of the theme's roles, maps the theme's fields, its
    agreement permits the strategic assessment and intake accepted rows from it.

    Returns
    -------
    (str or None, str)
        The dataset key (first usable one, in catalogue order) and ``""``; or None and a
        sentence naming what is missing.
    """
    if theme not in THEMES:
        raise ValueError(f"`theme` must be one of {sorted(THEMES)}, got {theme!r}")
    spec = THEMES[theme]
    cat = doc.catalogue
    keys = [k for role in spec["roles"] for k in cat.datasets_with_role(role)]
    if not keys:
        return None, f"no dataset in the catalogue supplies {spec['want']}."
    q = doc.workbench.intake.quality.set_index("dataset")
    reasons = []
    for key in keys:  # a handful of catalogue entries
        ds = cat.datasets[key]
        missing = [f for f in spec["fields"] if f not in ds.columns]
        if missing:
            reasons.append(f"{ds.title} does not map {and_list(missing)}.")
            continue
        try:
            check_permitted_use(ds, USE, key)
        except SharingRefused:
            reasons.append(f"{ds.title} may not be used for the strategic assessment under its agreement "
                           f"({ds.sharing.agreement or 'none'}).")
            continue
        status = str(q.loc[key, "status"]) if key in q.index else "not read"
        if status != "ok":
            reasons.append(f"{ds.title} is not available to this assessment ({status}).")
            continue
        return key, ""
    return None, " ".join(reasons)


def theme_gaps(doc: Document) -> list[str]:
    """One sentence per statutory theme the assessment cannot cover, for the intelligence gaps."""
    out = []
    for theme, spec in THEMES.items():
        key, why = theme_source(doc, theme)
        if key is not None:
            continue
        text = f"{spec['title']}: not covered, because {why[0].lower() + why[1:]}"
        if spec["statutory"]:
            text += " " + REGULATION_NOTE
        out.append(text)
    return out


def theme_period_end(values: pd.Series) -> pd.Series:
    """The last month (``YYYY-MM``) of each period label, as partners' tables write them.

    Understands financial years (``2023-24``, ``2023/24``), quarters (``2023-Q1``, ``2023 Q1``)
    and labels naming months (``Jan 2023 to Mar 2023``, ``January to March 2023``,
    ``Jan-Mar 2023``: the last month named, with the year after it). Anything else is NA.
    """
    text = values.astype("string").str.strip()
    out = pd.Series(pd.NA, index=values.index, dtype="string")
    fy = text.str.extract(r"^(\d{4})\s*[-/]\s*(\d{2}|\d{4})$")
    is_fy = fy[0].notna()
    out[is_fy] = (pd.to_numeric(fy.loc[is_fy, 0]) + 1).astype("Int64").astype("string") + "-03"
    qt = text.str.extract(r"^(\d{4})\s*-?\s*Q([1-4])$", flags=re.I)
    is_q = qt[0].notna() & out.isna()
    out[is_q] = qt.loc[is_q, 0] + "-" + (pd.to_numeric(qt.loc[is_q, 1]) * 3).astype("Int64").astype(
        "string").str.zfill(2)
    named = text.str.lower().str.extract(rf".*\b({_MONTHS})[a-z]*\b\D*(\d{{4}})")
    is_m = named[0].notna() & out.isna()
    month_no = named.loc[is_m, 0].map({m: i + 1 for i, m in enumerate(_MONTHS.split("|"))})
    out[is_m] = named.loc[is_m, 1] + "-" + month_no.astype("Int64").astype("string").str.zfill(2)
    return out


def theme_flag(values: pd.Series) -> pd.Series:
    """A yes/no column as booleans: Y, Yes, True, 1 (any case) are True; anything else False."""
    return values.astype("string").str.strip().str.lower().isin(list(_YES)).fillna(False).astype(bool)


def _numbers(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = frame.copy()
    for c in columns:
        if c in out.columns:
            out[c] = pd.to_numeric(out[c].astype("string").str.replace(",", "", regex=False), errors="coerce")
    return out


def _said(n: int, doc: Document, sensitivity: str) -> str:
    """A count for prose: never a small count from data not marked public."""
    if sensitivity != "public" and 0 < n < doc.threshold:
        return f"fewer than {doc.threshold}"
    return number(n)


def _table(doc: Document, frame: pd.DataFrame, caption: str, **kwargs):
    """:meth:`Document.table`, keeping the analyst's column order (disclosure control moves counts last)."""
    view = doc.table(frame, caption, **kwargs)
    order = [c for c in frame.columns if c in view.frame.columns] + [c for c in view.frame.columns
                                                                     if c not in frame.columns]
    if list(view.frame.columns) != order:
        view.frame = view.frame[order]
        doc.tables[-1] = (doc.tables[-1][0], doc.tables[-1][1], view.frame)
        write_csv(view.frame, doc.tables_dir / view.csv_name)
    return view


def _empty() -> HTMLPart:
    """What a theme's notebook cell shows when the catalogue cannot support it (see the gaps)."""
    return HTMLPart("")


def _change(doc: Document, events: pd.DataFrame) -> dict[str, Any] | None:
    """The current year against the previous one for some events (over-dispersion aware), or None."""
    per = ev.comparison_periods(doc)
    if not per["comparable"] or not len(events):
        return None
    start, end = ev.window(doc)
    monthly = trends.trend_monthly(events, start, end, by=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yoy = trends.trend_year_on_year(monthly, end=per["current"][-1]).iloc[0]
        except ValueError:  # a series the test cannot take (e.g. too short): no change is stated
            return None
    n = int(yoy["current"] + yoy["previous"])
    return {"current": int(yoy["current"]), "previous": int(yoy["previous"]), "pct": float(yoy["pct_change"]),
            "p": float(yoy["p_value"]), "text": wording.describe_change(float(yoy["pct_change"]),
                                                                       float(yoy["p_value"]), n=n)}


def _periods_table(doc: Document, events: pd.DataFrame, by: str, label: str) -> pd.DataFrame:
    """Counts by ``by`` in the current and previous year (previous left out when not comparable)."""
    per = ev.comparison_periods(doc)
    cur = events[events["month"].isin(per["current"])][by].fillna("not recorded").value_counts()
    cols = {per["current_label"]: cur}
    if per["comparable"]:
        cols[per["previous_label"]] = events[events["month"].isin(per["previous"])][by].fillna(
            "not recorded").value_counts()
    table = pd.DataFrame(cols).fillna(0).astype("int64")
    table = table.sort_values(list(cols)[0], ascending=False, kind="stable")
    return table.rename_axis(label).reset_index()


def _extract(doc: Document, key: str) -> pd.DataFrame:
    """The crime-system extract's events in the window with its flags as booleans."""
    def build() -> pd.DataFrame:
        e = doc.workbench.dataset_events(key).copy()
        for f in ("domestic_abuse", "hate_crime", "repeat_victim", "repeat_offender"):
            if f in e.columns:
                e[f] = theme_flag(e[f])
        return e

    return _cached(doc, f"extract-{key}", build)


def _caption_period(doc: Document) -> str:
    per = ev.comparison_periods(doc)
    return per["current_label"] + (f" and {per['previous_label']}" if per["comparable"] else "")


# --------------------------------------------------------------------------- sections
def section_reoffending(doc: Document) -> Section | HTMLPart:
    """Proven reoffending: the latest four cohort quarters against the four before, by offender type."""
    key, _ = theme_source(doc, "reoffending")
    if key is None:
        return _empty()
    ds = doc.catalogue.datasets[key]
    raw = _numbers(doc.workbench.intake.tables[key], ["cohort", "reoffenders", "reoffences"])
    raw["period_end"] = theme_period_end(raw["period"])
    raw = raw[raw["period_end"].notna() & raw["cohort"].notna() & raw["reoffenders"].notna()]
    sec = Section(THEMES["reoffending"]["title"])
    sec.add(REGULATION_NOTE)
    if not len(raw):
        sec.add(callout(f"{ds.title}: no row has a period and counts that can be read, so reoffending cannot be "
                        "described.", caveat=True))
        return sec
    raw["offender type"] = raw["offender_type"].fillna("All offenders") if "offender_type" in raw.columns \
        else "All offenders"
    ends = sorted(raw["period_end"].unique())
    latest, previous = ends[-4:], ends[-8:-4] if len(ends) >= 8 else []
    sec.add(f"Proven reoffending follows each group (cohort) of offenders cautioned, convicted or released in a "
            f"quarter to see who offends again. The latest cohorts here end in {month_words(ends[-1])}, so they "
            "describe offenders from well before the crime data of this assessment.")
    has_reoffences = "reoffences" in raw.columns and raw["reoffences"].notna().any()
    rows, sentences = [], []
    for kind, g in raw.groupby("offender type", sort=True):  # adults, juveniles
        cur = g[g["period_end"].isin(latest)]
        row = {"offender type": kind, "offenders in the latest cohorts": int(cur["cohort"].sum()),
               "reoffenders": int(cur["reoffenders"].sum())}
        if has_reoffences:
            row["reoffences"] = int(cur["reoffences"].sum())
        row["proportion who reoffended (%)"] = 100 * row["reoffenders"] / row["offenders in the latest cohorts"] \
            if row["offenders in the latest cohorts"] else np.nan
        text = (f"{kind}: {row['proportion who reoffended (%)']:.1f}% of "
                f"{_said(row['offenders in the latest cohorts'], doc, ds.sensitivity)} offenders in the four latest "
                "cohorts reoffended")
        if previous:
            prev = g[g["period_end"].isin(previous)]
            c2, r2 = int(prev["cohort"].sum()), int(prev["reoffenders"].sum())
            row["proportion in the four cohorts before (%)"] = 100 * r2 / c2 if c2 else np.nan
            if c2 and row["offenders in the latest cohorts"]:
                rr = trends.trend_rate_ratio(row["reoffenders"], r2, row["offenders in the latest cohorts"], c2).iloc[0]
                text += (f", against {row['proportion in the four cohorts before (%)']:.1f}% in the four before: "
                         + wording.describe_change(float(rr["pct_change"]), float(rr["p_value"]),
                                                   n=row["reoffenders"] + r2))
        rows.append(row)
        sentences.append(text + ".")
    table = pd.DataFrame(rows)
    counts = [c for c in ("offenders in the latest cohorts", "reoffenders", "reoffences") if c in table.columns]
    first = str(pd.Period(latest[0], freq="M") - 2)
    window = f"{month_words(first)} to {month_words(latest[-1])}"
    sec.add(bullet_list(sentences))
    sec.add(_table(doc, table, f"Proven reoffending: the four latest cohort quarters ({window})",
                      sensitivity=ds.sensitivity, count_columns=counts, margins="none",
                      decimals={"proportion who reoffended (%)": 1, "proportion in the four cohorts before (%)": 1},
                      notes=[f"Source: {ds.title} ({ds.agency}).",
                             "The change is a relative change in the proportion who reoffended (a fall from 30% to "
                             "27% is down 10%), tested as a ratio of reoffenders per offender (exact conditional "
                             "test)."]))
    quarterly = raw[raw["period_end"].isin(ends[-8:])].groupby(["period", "period_end", "offender type"],
                                                              as_index=False)[["cohort", "reoffenders"]].sum()
    quarterly = quarterly.sort_values(["period_end", "offender type"], kind="stable").drop(columns="period_end")
    quarterly["proportion who reoffended (%)"] = 100 * quarterly["reoffenders"] / quarterly["cohort"].where(
        quarterly["cohort"] > 0)
    quarterly = quarterly.rename(columns={"period": "cohort quarter", "cohort": "offenders in the cohort"})
    sec.add(_table(doc, quarterly, "Proven reoffending by cohort quarter", sensitivity=ds.sensitivity,
                      count_columns=["offenders in the cohort", "reoffenders"], margins="none",
                      rate_columns={"proportion who reoffended (%)": "reoffenders"},
                      decimals={"proportion who reoffended (%)": 1}))
    return sec


def section_substance_misuse(doc: Document) -> Section | HTMLPart:
    """Adults in drug and alcohol treatment: the latest year against the one before, by substance group."""
    key, _ = theme_source(doc, "substance_misuse")
    if key is None:
        return _empty()
    ds = doc.catalogue.datasets[key]
    measures = [c for c in ("in_treatment", "new_presentations", "successful_completions")
                if c in doc.workbench.intake.tables[key].columns]
    raw = _numbers(doc.workbench.intake.tables[key], measures)
    raw["period_end"] = theme_period_end(raw["period"])
    raw = raw[raw["period_end"].notna() & raw["in_treatment"].notna()]
    sec = Section(THEMES["substance_misuse"]["title"])
    sec.add(REGULATION_NOTE)
    if not len(raw):
        sec.add(callout(f"{ds.title}: no row has a period and counts that can be read, so treatment cannot be "
                        "described.", caveat=True))
        return sec
    raw["substance group"] = raw["substance_group"].fillna("not recorded") if "substance_group" in raw.columns \
        else "All substances"
    ends = sorted(raw["period_end"].unique())
    last = raw[raw["period_end"] == ends[-1]]
    prev = raw[raw["period_end"] == ends[-2]] if len(ends) > 1 else raw.iloc[0:0]
    label, plabel = str(last["period"].iloc[0]), (str(prev["period"].iloc[0]) if len(prev) else "")
    names = {"in_treatment": "in treatment", "new_presentations": "new presentations",
             "successful_completions": "successful completions"}
    table = last.groupby("substance group", sort=False)[measures].sum().astype("int64").rename(columns=names)
    if len(prev):
        table[f"in treatment ({plabel})"] = prev.groupby("substance group")["in_treatment"].sum().reindex(
            table.index).fillna(0).astype("int64")
    rates = {}
    if "successful_completions" in measures:
        table["completed successfully (% of those in treatment)"] = (
            100 * table["successful completions"] / table["in treatment"].where(table["in treatment"] > 0))
        rates["completed successfully (% of those in treatment)"] = "successful completions"
    table = table.reset_index()
    total, total_prev = int(last["in_treatment"].sum()), int(prev["in_treatment"].sum()) if len(prev) else 0
    text = f"In {label}, {_said(total, doc, ds.sensitivity)} adults were in drug or alcohol treatment"
    if len(prev) and total_prev:
        rr = trends.trend_rate_ratio(total, total_prev).iloc[0]
        text += (f", against {_said(total_prev, doc, ds.sensitivity)} in {plabel}: "
                 + wording.describe_change(float(rr["pct_change"]), float(rr["p_value"]), n=total + total_prev))
    items = [text + "."]
    if "successful_completions" in measures and total:
        done = int(last["successful_completions"].sum())
        item = f"{100 * done / total:.0f}% of them completed treatment successfully"
        if len(prev) and total_prev:
            done_prev = int(prev["successful_completions"].sum())
            rr = trends.trend_rate_ratio(done, done_prev, total, total_prev).iloc[0]
            item += (f", against {100 * done_prev / total_prev:.0f}% in {plabel}: "
                     + wording.describe_change(float(rr["pct_change"]), float(rr["p_value"]), n=done + done_prev))
        items.append(item + ".")
    if "substance group" in table.columns and len(table) > 1:
        top = table.sort_values("in treatment", ascending=False).iloc[0]
        items.append(f"The largest group in treatment was {str(top['substance group']).lower()} "
                     f"({100 * top['in treatment'] / total:.0f}% of adults in treatment).")
    sec.add(bullet_list(items))
    counts = [c for c in table.columns if c not in ("substance group",) and c not in rates]
    sec.add(_table(doc, table, f"Adults in drug and alcohol treatment by substance group, {label}",
                      sensitivity=ds.sensitivity, count_columns=counts, rate_columns=rates, margins="column_totals",
                      decimals={c: 1 for c in rates},
                      notes=[f"Source: {ds.title} ({ds.agency}).",
                             "Changes in the sentences are tested as rate ratios (exact conditional test); a person "
                             "in treatment in both years counts in both."]))
    return sec


def section_domestic_abuse(doc: Document) -> Section | HTMLPart:
    """Domestic abuse and violence against women and girls from the police crime-system extract."""
    key, _ = theme_source(doc, "domestic_abuse")
    if key is None:
        return _empty()
    ds = doc.catalogue.datasets[key]
    e = _extract(doc, key)
    per = ev.comparison_periods(doc)
    da = e[e["domestic_abuse"]]
    sec = Section(THEMES["domestic_abuse"]["title"])
    cur = da[da["month"].isin(per["current"])]
    all_cur = int(e["month"].isin(per["current"]).sum())
    ch = _change(doc, da)
    text = (f"The police flagged {_said(len(cur), doc, ds.sensitivity)} crimes as domestic abuse in "
            f"{per['current_label']}")
    if all_cur and len(cur) >= doc.threshold:
        text += f", {100 * len(cur) / all_cur:.0f}% of the crimes in the extract"
    sec.add(text + (f": {ch['text']}, compared with {per['previous_label']}." if ch else "."))
    rep = cur["repeat_victim"] if "repeat_victim" in cur.columns else None
    if rep is not None and len(cur) >= doc.threshold:
        sec.add(f"In {100 * float(rep.mean()):.0f}% of them the victim had been the victim of another crime in the "
                "previous 365 days (a repeat victim).")
    sec.add(_table(doc, _periods_table(doc, da, "category", "offence group"),
                      f"Domestic abuse crimes by offence group, {_caption_period(doc)}",
                      sensitivity=ds.sensitivity, count_columns=[per["current_label"]] + (
                          [per["previous_label"]] if per["comparable"] else []), margins="column_totals",
                      notes=[f"Source: {ds.title}. Crimes the police flagged as domestic abuse."]))
    if "victim_sex" in e.columns:
        female = e["victim_sex"].astype("string").str.strip().str.lower().isin(["female", "f", "woman", "girl"])
        gendered = e["category"].astype("string").str.contains("sexual|stalking|harass", case=False, regex=True)
        vawg = e[female.fillna(False).to_numpy() & (e["domestic_abuse"] | gendered.fillna(False)).to_numpy()]
        vcur = vawg[vawg["month"].isin(per["current"])]
        vch = _change(doc, vawg)
        sec.add(f"Violence against women and girls: {_said(len(vcur), doc, ds.sensitivity)} crimes in "
                f"{per['current_label']} had a female victim and were flagged as domestic abuse or recorded as a "
                "sexual offence, stalking or harassment" + (f": {vch['text']}." if vch else "."))
        sec.add(_table(doc, _periods_table(doc, vawg, "category", "offence group"),
                          f"Crimes against women and girls (domestic abuse, sexual offences, stalking and harassment) "
                          f"by offence group, {_caption_period(doc)}",
                          sensitivity=ds.sensitivity, count_columns=[per["current_label"]] + (
                              [per["previous_label"]] if per["comparable"] else []), margins="column_totals",
                          notes=["This working definition (female victim; domestic abuse flag, or an offence group "
                                 "naming sexual offences, stalking or harassment) is the workbench's; a partnership "
                                 "with its own definition of violence against women and girls should set the "
                                 "offence groups it counts."]))
    sec.add(callout("Domestic abuse and sexual offences are under-reported: recorded crime shows the demand reaching "
                    "the police, not how much abuse there is.", caveat=True))
    return sec


def section_hate_crime(doc: Document) -> Section | HTMLPart:
    """Hate crime by strand from the police crime-system extract."""
    key, _ = theme_source(doc, "hate_crime")
    if key is None:
        return _empty()
    ds = doc.catalogue.datasets[key]
    e = _extract(doc, key)
    per = ev.comparison_periods(doc)
    hate = e[e["hate_crime"]]
    cur = hate[hate["month"].isin(per["current"])]
    ch = _change(doc, hate)
    sec = Section(THEMES["hate_crime"]["title"])
    sec.add(f"The police flagged {_said(len(cur), doc, ds.sensitivity)} crimes as hate crimes in "
            f"{per['current_label']}" + (f": {ch['text']}, compared with {per['previous_label']}." if ch else "."))
    counts = [per["current_label"]] + ([per["previous_label"]] if per["comparable"] else [])
    if "hate_strand" in hate.columns:
        sec.add(_table(doc, _periods_table(doc, hate, "hate_strand", "strand"),
                          f"Hate crimes by strand, {_caption_period(doc)}", sensitivity=ds.sensitivity,
                          count_columns=counts, margins="column_totals",
                          notes=[f"Source: {ds.title}. One strand per crime as the police recorded it."]))
    sec.add(_table(doc, _periods_table(doc, hate, "category", "offence group"),
                      f"Hate crimes by offence group, {_caption_period(doc)}", sensitivity=ds.sensitivity,
                      count_columns=counts, margins="column_totals"))
    sec.add(callout("Hate crime is under-reported, and recorded volumes rise when reporting or recording improves; "
                    "a rise is not on its own evidence of more hate crime.", caveat=True))
    return sec


def section_serious_violence(doc: Document) -> Section | HTMLPart:
    """Crimes involving a knife, sharp instrument or firearm, with the victims' and offenders' ages."""
    key, _ = theme_source(doc, "serious_violence")
    if key is None:
        return _empty()
    ds = doc.catalogue.datasets[key]
    e = _extract(doc, key)
    per = ev.comparison_periods(doc)
    weapon = e["weapon"].astype("string").str.strip()
    armed = e[weapon.notna().to_numpy() & ~weapon.str.lower().isin(["", "none", "no", "n", "not recorded"]).fillna(
        True).to_numpy()]
    cur = armed[armed["month"].isin(per["current"])]
    ch = _change(doc, armed)
    sec = Section(THEMES["serious_violence"]["title"])
    sec.add("Serious violence is counted here as crimes in which the police recorded a knife, sharp instrument or "
            "firearm. The Serious Violence Duty leaves each partnership to agree its own definition; this working "
            "definition is the workbench's.")
    sec.add(f"{_said(len(cur), doc, ds.sensitivity)} such crimes were recorded in {per['current_label']}"
            + (f": {ch['text']}, compared with {per['previous_label']}." if ch else "."))
    counts = [per["current_label"]] + ([per["previous_label"]] if per["comparable"] else [])
    sec.add(_table(doc, _periods_table(doc, armed.assign(weapon=armed["weapon"]), "weapon", "weapon"),
                      f"Crimes involving a weapon, by weapon, {_caption_period(doc)}", sensitivity=ds.sensitivity,
                      count_columns=counts, margins="column_totals", notes=[f"Source: {ds.title}."]))
    sec.add(_table(doc, _periods_table(doc, armed, "category", "offence group"),
                      f"Crimes involving a weapon, by offence group, {_caption_period(doc)}",
                      sensitivity=ds.sensitivity, count_columns=counts, margins="column_totals"))
    young = []
    for role, col in (("victims", "victim_age_band"), ("offenders", "offender_age_band")):
        if col not in cur.columns:
            continue
        bands = cur[col].astype("string").str.strip()
        known = bands.notna() & ~bands.str.lower().isin(_NOT_PEOPLE | {"not recorded", ""}).fillna(True)
        if int(known.sum()) >= doc.threshold:
            under25 = bands[known].str.contains(r"under 18|0-17|10-17|18-24", case=False, regex=True).mean()
            young.append(f"{100 * float(under25):.0f}% of the {role} whose age was recorded were under 25")
    if young:
        sec.add(f"In {per['current_label']}, " + and_list(young) + ".")
    return sec


def section_fire(doc: Document) -> Section | HTMLPart:
    """Deliberate fires from the fire and rescue service: the year against the one before, by type."""
    key, _ = theme_source(doc, "fire")
    if key is None:
        return _empty()
    ds = doc.catalogue.datasets[key]
    e = doc.workbench.dataset_events(key)
    per = ev.comparison_periods(doc)
    fires = e[~e["is_repeat"].astype(bool)] if "is_repeat" in e.columns else e
    cur = fires[fires["month"].isin(per["current"])]
    ch = _change(doc, fires)
    sec = Section(THEMES["fire"]["title"])
    sec.add(f"{ds.title}: the fire and rescue service recorded {_said(len(cur), doc, ds.sensitivity)} in "
            f"{per['current_label']}"
            + (f": {ch['text']}, compared with {per['previous_label']}." if ch else "."))
    counts = [per["current_label"]] + ([per["previous_label"]] if per["comparable"] else [])
    items = []
    for cat_name, g in fires.groupby("category", sort=True):  # a few incident types
        c = _change(doc, g)
        if c:
            items.append(f"{cat_name}: {_said(c['current'], doc, ds.sensitivity)}, {c['text']}.")
    sec.add(bullet_list(items))
    sec.add(_table(doc, _periods_table(doc, fires, "category", "incident type"),
                      f"Fire incidents by type, {_caption_period(doc)}", sensitivity=ds.sensitivity,
                      count_columns=counts, margins="column_totals",
                      notes=[f"Source: {ds.title} ({ds.agency}). Repeat calls to the same incident are left out."]))
    if "property_type" in fires.columns and fires["property_type"].notna().any():
        table = _periods_table(doc, fires, "property_type", "property type")
        sec.add(_table(doc, table, f"Fire incidents by property type, {_caption_period(doc)}",
                          sensitivity=ds.sensitivity, count_columns=counts, margins="column_totals", max_rows=15))
    return sec


# --------------------------------------------------------------------------- problem profiles
def _age_key(values: pd.Index) -> list[int]:
    order = {b.lower(): i for i, b in enumerate(_AGE_ORDER)}
    return [order.get(str(v).lower(), len(order)) for v in values]


def triangle_people(doc: Document, key: str, rows: pd.Series | np.ndarray, role: str, phrase: str) -> list[Any]:
    """The victim or offender side of a problem profile's triangle from the crime-system extract.

    Parameters
    ----------
    doc : Document
        The open problem profile.
    key : str
        Catalogue key of the crime-system extract (role ``crime_system``).
    rows : boolean array
        Which rows of the extract's events in the window belong to the problem.
    role : {'victim', 'offender'}
    phrase : str
        What the problem's crimes are called in prose (e.g. "violent and sexual offences").

    Returns
    -------
    list
        Parts for a :class:`Section`: a sentence and an age band by sex table of distinct people
        in the year the document reports (personal data: suppressed below the threshold), and the share
        of repeat victims or offenders. Empty when the extract maps no age band or sex for the role.
    """
    if role not in ("victim", "offender"):
        raise ValueError(f"`role` must be 'victim' or 'offender', got {role!r}")
    ds = doc.catalogue.datasets[key]
    e = _extract(doc, key)
    sex_col, age_col, id_col, rep_col = (f"{role}_sex", f"{role}_age_band", f"{role}_id", f"repeat_{role}")
    if sex_col not in e.columns or age_col not in e.columns:
        return []
    months = ev.last_year(doc)
    label = ev.comparison_periods(doc)["current_label"]
    sel = e[np.asarray(rows, dtype=bool) & e["month"].isin(months).to_numpy()]
    people = sel[sel[sex_col].notna() | sel[age_col].notna() | (sel[id_col].notna() if id_col in sel.columns
                                                                 else False)]
    sex = people[sex_col].astype("string").str.strip()
    organisations = sex.str.lower().isin(_NOT_PEOPLE).fillna(False).to_numpy()
    people = people[~organisations]
    distinct = id_col in people.columns and people[id_col].notna().any()
    if distinct:
        people = people.drop_duplicates(id_col)
    parts: list[Any] = []
    words = "victims" if role == "victim" else "identified offenders"
    if role == "offender":
        named = int(sel[sex_col].notna().sum() if id_col not in sel.columns else sel[id_col].notna().sum())
        if len(sel) >= doc.threshold:
            parts.append(f"An offender was identified for {100 * named / len(sel):.0f}% of the {phrase} in the police "
                         f"crime-system extract in {label}.")
    if not len(people):
        parts.append(f"No {words} of {phrase} are recorded in the police crime-system extract for {label}.")
        return parts
    table = pd.crosstab(people[age_col].fillna("Not recorded"), people[sex_col].fillna("Not recorded"))
    table = table.iloc[np.argsort(_age_key(table.index), kind="stable")]
    table = table.rename_axis(None, axis=1).rename_axis("age band").reset_index()
    sexes = [c for c in table.columns if c != "age band"]
    unit = "people" if distinct else "crimes"
    parts.append(f"The police crime-system extract describes the {words} of {phrase} in {label} "
                 f"({_said(len(people), doc, ds.sensitivity)} {'distinct people' if distinct else 'records'}): "
                 "their age bands and sex are below, with small numbers suppressed.")
    parts.append(_table(doc, table, f"{words.capitalize()} of {phrase} by age band and sex ({label}, {unit})",
                           sensitivity=ds.sensitivity, count_columns=sexes,
                           notes=[f"Source: {ds.title}. Person identifiers are pseudonymised at intake; people are "
                                  "counted once each." if distinct else f"Source: {ds.title}. One row per crime."]))
    base = sel[sel[id_col].notna()] if role == "offender" and id_col in sel.columns else sel
    if rep_col in base.columns and len(base) >= doc.threshold:
        share = float(base.loc[base[rep_col].notna(), rep_col].mean()) if base[rep_col].notna().any() else np.nan
        if not np.isnan(share):
            what = "the victim had been a victim" if role == "victim" else "the offender had offended"
            parts.append(f"In {100 * share:.0f}% of these crimes {what} in another crime in the previous 365 days "
                         f"(the force system's repeat {role} flag).")
    return parts
