"""Progress on the previous strategy's targets, by calendar year: the one judgement every
document that shows it (the audit, the strategic assessment) takes from here.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from ..analysis import smart
from ..analysis import targets as targets_
from . import evidence as ev
from . import prose
from .document import Document

__all__ = ["target_progress", "STRATEGY_ROLE", "complete_year_labels", "complete_year_of", "ward_names_every_version",
           "police_on_current_wards", "strategy_document", "smart_targets"]

#: The catalogue role of the previous strategy (its targets are judged here).
STRATEGY_ROLE = "strategy"


def _cached(doc: Document, key: str, build):
    key = "progress-" + key
    if key not in doc.cache:
        doc.cache[key] = build()
    return doc.cache[key]


def complete_year_labels(doc: Document) -> list[str]:
    """The complete years of the data, oldest first, each labelled by the year its last month falls in.

    Years are whole 12-month periods (calendar years for a window ending in December; financial
    or rolling years as the catalogue's ``partnership.period`` says; see
    :func:`~assessment.reporting.evidence.complete_years`). A partial year is never compared.
    Name one in prose with :func:`assessment.reporting.evidence.period_name`.
    """
    return [b[-1][:4] for b in ev.complete_years(doc)]


def complete_year_of(doc: Document, months: pd.Series) -> pd.Series:
    """Each month's complete-year label (NA for months in no complete year)."""
    label = {m: b[-1][:4] for b in ev.complete_years(doc) for m in b}
    return months.astype(str).map(label)


def ward_names_every_version(doc: Document) -> dict[str, str]:
    """Ward code -> name for every boundary version; codes retired at the review say so."""
    versions = doc.workbench.registry.geographies["wards"]
    current = set(doc.workbench.wards["code"].astype(str))
    names: dict[str, str] = {}
    for v in versions:
        year = pd.Timestamp(v.valid_from).year
        for code, name in zip(v.units["code"].astype(str), v.units["name"].astype(str)):
            names.setdefault(code, name if code in current else f"{name} ({year} boundaries)")
    return names


def police_on_current_wards(doc: Document) -> pd.DataFrame:
    """Police events with ``ward_now``: exact point re-aggregation to the current wards."""
    from ..geography.assign import assign_points

    def build() -> pd.DataFrame:
        pol = ev.evidence_police(doc)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out, _ = assign_points(pol, doc.workbench.wards, column="ward_now", warn_outside=False)
        out["year"] = complete_year_of(doc, out["month"])
        return out

    return _cached(doc, "police-wards-now", build)


def strategy_document(doc: Document) -> dict:
    """The previous strategy (the dataset with the strategy role) as intake read it; empty when there is none."""
    key = ev.role_dataset(doc, STRATEGY_ROLE)
    return (doc.workbench.intake.documents.get(key) if key else None) or {}


def smart_targets(doc: Document) -> pd.DataFrame | None:
    """The SMART check of the previous strategy's targets (None when it sets none)."""
    targets = strategy_document(doc).get("targets", [])
    if not targets:
        return None
    return _cached(doc, "smart", lambda: smart.smart_check(targets))


def _category_sources(doc: Document) -> list[tuple[str, str]]:
    """(dataset, category) pairs a target's metric may name, longest category first."""
    pairs = []
    for key in (*ev.crime_datasets(doc), *doc.catalogue.datasets_with_role("fire_incidents")):
        if key in doc.catalogue.datasets:
            cats = doc.workbench.dataset_events(key)["category"].dropna().unique()
            pairs += [(key, str(c)) for c in cats]
    return sorted(pairs, key=lambda p: len(p[1]), reverse=True)


def _size_units(check: pd.DataFrame) -> pd.Series:
    """The unit of each target's size: '%' unless the size was read from text naming another unit."""
    parsed = smart.smart_parse_text(check["text"])["size_unit"]
    from_text = check["parsed_from_text"].astype(str).str.contains(r"\bsize\b")
    return parsed.where(from_text, "%").fillna("%")


def target_progress(doc: Document) -> pd.DataFrame:
    """Progress on every target of the previous strategy: the one judgement every document shows.

    Counts come from the recorded data per calendar year (in the target's ward, re-assigned to
    the current ward boundaries, when it names one); the judgement (met / not met / cannot be
    measured) is :func:`assessment.analysis.targets.target_judgement` on the latest full year.

    Returns
    -------
    pandas.DataFrame
        One row per target (empty when the strategy has none): ``id``, ``target`` (text),
        ``dataset`` (NA when no recorded measure was found), ``measured as``, one column per
        calendar year, ``baseline``, ``baseline year``, ``deadline``, ``target level``,
        ``change from baseline (%)``, ``judgement`` (met / not met / cannot be measured),
        ``status`` (the judgement in words, with its year, "every year" reading, deadline or
        reason) and ``caveat``.
    """
    check = smart_targets(doc)
    if check is None:
        return pd.DataFrame()

    def build() -> pd.DataFrame:
        years = complete_year_labels(doc)
        pairs = _category_sources(doc)
        names = ward_names_every_version(doc)
        police_now = police_on_current_wards(doc)
        units = _size_units(check)
        rows = []
        for i, t in enumerate(check.to_dict("records")):  # a strategy's handful of targets
            metric = str(t["metric"] if isinstance(t["metric"], str) else t["text"])
            hit = next(((k, c) for k, c in pairs if c.lower().rstrip("s") in metric.lower()), None)
            base = pd.to_numeric(t["baseline"], errors="coerce")
            base_year = "" if pd.isna(t["baseline_year"]) else str(int(t["baseline_year"]))
            deadline = pd.to_datetime(str(t["deadline"]), errors="coerce") if isinstance(t["deadline"], str) else pd.NaT
            row = {"id": t["id"], "target": t["text"], "dataset": pd.NA, "measured as": "",
                   **{y: np.nan for y in years}, "baseline": float(base) if pd.notna(base) else np.nan,
                   "baseline year": base_year, "deadline": "" if pd.isna(deadline) else str(deadline.date()),
                   "target level": np.nan, "change from baseline (%)": np.nan, "caveat": ""}
            per_year = pd.Series(np.nan, index=years, dtype=float)
            if hit is not None:
                key, cat = hit
                ward = next((w for w in re.findall(r"E05\d{6}", metric)), None)
                if key in ev.crime_datasets(doc):
                    e = police_now[police_now["category"] == cat]
                    if ward:
                        e = e[e["ward_now"] == ward] if ward in set(doc.workbench.wards["code"].astype(str)) \
                            else e[e["ward_code"] == ward]
                else:
                    e = doc.workbench.dataset_events(key)
                    e = e[e["category"] == cat].assign(year=lambda f: complete_year_of(doc, f["month"]))
                per_year = e["year"].value_counts().reindex(years, fill_value=0).astype(float)
                brk = [b for b in doc.catalogue.breaks_for(key, cat)]
                row.update({"dataset": key, "measured as": cat + (f" in {names.get(ward, ward)}" if ward else ""),
                            **{y: int(per_year[y]) for y in years},
                            "caveat": "; ".join([*([_measure_caveat(str(t["text"]), cat)]
                                                   if _measure_caveat(str(t["text"]), cat) else []),
                                                 *(_break_caveat(doc, key, cat, b) for b in brk)])})
            latest = per_year.iloc[-1] if len(years) else np.nan
            # one judgement for every year (the latest is the one reported; "every year" targets use all)
            judged = targets_.target_judgement([t["direction"]] * len(years), [t["size"]] * len(years),
                                               [base] * len(years), per_year.to_numpy(), [units.iat[i]] * len(years))
            last = judged.iloc[-1] if len(years) else None
            if last is None or last["status"] == "cannot be measured":
                why = last["reason"] if last is not None else "no full calendar year of data"
                if hit is None:
                    why = ("it names no measure" if not t["specific"] else "its measure is not in the recorded data")
                judgement, status = "cannot be measured", f"cannot be measured: {why}"
            else:
                judgement = str(last["status"])
                status = f"{judgement} in {years[-1]}"
                if "every year" in str(t["text"]).lower():
                    ok = judged["status"].eq("met").to_numpy()
                    judgement = "met" if ok.all() else "not met"
                    status = "met every year" if ok.all() else f"not met in {prose.and_list(list(np.asarray(years)[~ok]))}"
                data_end = pd.Period(ev.window(doc)[1], freq="M").end_time
                if pd.notna(deadline) and deadline > data_end and judgement == "not met":
                    status = (f"not yet met in {years[-1]}; the deadline ({_date_words(deadline)}) is after the "
                              "latest data")
                row.update({"target level": float(last["target_level"]), "change from baseline (%)":
                            float(last["change_pct"]) if pd.notna(latest) else np.nan})
            row.update({"judgement": judgement, "status": status})
            rows.append(row)
        return pd.DataFrame(rows)

    return _cached(doc, "target-progress", build)


def _date_words(ts: pd.Timestamp) -> str:
    """'31 December 2025'."""
    return prose.date_words(ts)


def _measure_caveat(target_text: str, cat: str) -> str:
    """Say when the recorded category is wider than the target's wording.

    A category named as several offence groups ("Violence and sexual offences", "Criminal damage
    and arson") is wider than a target that names only some of them; the groups the target's
    wording does not mention are named.
    """
    parts = [p.strip() for p in re.split(r"\band\b|,", cat.lower()) if p.strip()]
    if len(parts) < 2:
        return ""
    text = target_text.lower()
    stem = [p for p in parts if not re.search(r"\b" + re.escape(p.split()[0][:5]), text)]
    if not stem or len(stem) == len(parts):
        return ""
    return (f"measured with the police category \u2018{cat}\u2019, which is wider than the target\u2019s wording: it "
            f"also counts {prose.and_list(stem)}, so the counts overstate what the target names")


def _break_caveat(doc: Document, key: str, cat: str, brk) -> str:
    """Say which way a counting-rule change moved a target's counts, with its estimated step."""
    tr = ev.evidence_category_trends(doc).set_index("category")
    found = key in ev.crime_datasets(doc) and cat in tr.index
    # the trends table carries the step at a crime type's first break only
    first = str(tr.loc[cat, "break_months"]).split(",")[0].strip() if found and "break_months" in tr.columns else ""
    step = tr.loc[cat, "step_pct"] if found and first == str(brk.month) else np.nan
    p = tr.loc[cat, "step_p"] if found and "step_p" in tr.columns and first == str(brk.month) else np.nan
    if pd.isna(step):
        return f"a counting rule change in {brk.month} ({brk.label}) means later years are not counted as the baseline was"
    if np.isposinf(step) or step <= -100:  # nothing recorded on one side of the break
        if pd.isna(p) or p >= 0.05:  # a stretch of none is within normal variation: say nothing of a start or end
            return (f"a counting rule change in {brk.month} ({brk.label}) means later years are not counted as the "
                    "baseline was")
        began = "began" if np.isposinf(step) else "ended"
        return (f"police recording of {cat.lower()} {began} with a counting rule change in {brk.month} ({brk.label}), "
                "so the years either side of it cannot be compared")
    way = "lowered" if step < 0 else "raised"
    return (f"a counting rule change from {brk.month} {way} recorded {cat.lower()} by about {abs(step):.0f}% across the "
            "partnership, so later years are not counted as the baseline was and the comparison is not like for like")
