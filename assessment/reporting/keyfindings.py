"""The key findings that open each document, computed from the document's own evidence.

``section_key_findings(doc)`` is the first cell after ``open_document`` in every notebook. It
picks the document's findings by its kind (strategic assessment, problem profile, audit,
evaluation, data quality): five to eight plain sentences, each with its direction of change
and, where the catalogue holds a comparison (the most similar group of partnerships), a
red/amber/green rating against it. No p-values: whether a change is beyond chance is said in
words ("about the same, within normal variation"), the statistics stay in the sections.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis import rates, trends
from . import evidence as ev
from .display import Finding, HTMLPart
from .document import ACCOUNTING_PROTECTED, Document
from .front import DOCUMENT_USES, NO_BENCHMARK, change_words, direction_of, front_matter, month_name, peer_finding

__all__ = ["section_key_findings", "peer_positions"]

_SKIP = {"csp_code", "csp_name", "population", "dataset", "agency", "source_file", "source_row"}


def _and(items: list[str]) -> str:
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _pct(now: float, before: float) -> float:
    return 100.0 * (now - before) / before if before else np.nan


def peer_positions(doc: Document) -> pd.DataFrame:
    """Position of the partnership in its most similar group, per measure of the benchmark table.

    Returns an empty frame (columns ``column, measure, position, rate, group_mean``) when the
    catalogue has no benchmark table or the partnership is not in it.
    """
    cols = ["column", "measure", "position", "rate", "group_mean"]
    key = ev.role_dataset(doc, "peer_benchmark")
    if key is None or not _permitted(doc, key):
        return pd.DataFrame(columns=cols)
    peers = doc.workbench.intake.tables.get(key)
    code = doc.catalogue.partnership.code
    if peers is None or len(peers) == 0 or "csp_code" not in peers.columns \
            or int((peers["csp_code"].astype(str) == code).sum()) != 1:
        return pd.DataFrame(columns=cols)
    peers = peers.copy()
    measures = [c for c in peers.columns if c not in _SKIP]
    for c in measures:
        peers[c] = pd.to_numeric(peers[c], errors="coerce")
    rows = []
    for col in measures:  # one per measure column of the benchmark table (a dozen)
        if peers[col].notna().sum() < 3:
            continue
        try:
            r = rates.rate_peer_position(peers, code, col).iloc[0]
        except ValueError:  # the partnership has no rate for this measure
            continue
        rows.append({"column": col, "measure": col.replace("_", " ").capitalize(), "position": r["position"],
                     "rate": float(r["rate"]), "group_mean": float(r["group_mean"])})
    return pd.DataFrame(rows, columns=cols)


def _permitted(doc: Document, key: str) -> bool:
    """Whether the dataset's sharing agreement permits this document's use."""
    use = DOCUMENT_USES.get(doc.kind, "")
    return use in [u.strip().lower() for u in doc.catalogue.datasets[key].sharing.permitted_uses]


def _group_words(doc: Document) -> str:
    key = ev.role_dataset(doc, "peer_benchmark")
    peers = doc.workbench.intake.tables.get(key) if key else None
    n = len(peers) - 1 if peers is not None else 0
    return f"the {n} most similar partnerships" if n > 0 else "the most similar partnerships"


def _benchmark_note(doc: Document, rated: bool) -> str:
    if not rated:
        key = ev.role_dataset(doc, "peer_benchmark")
        if key is not None and not _permitted(doc, key):
            return (f"No benchmark is used for these findings: the {doc.catalogue.datasets[key].title.lower()} may "
                    f"not be used for {DOCUMENT_USES.get(doc.kind, 'this document')} under its sharing agreement, "
                    "and no England figures are in the catalogue, so none is rated red, amber or green.")
        return NO_BENCHMARK
    return (f"Red, amber and green compare the partnership's crime rates with {_group_words(doc)} (the most similar "
            "group): red above the group's usual range, amber within it, green below it. No England figures are "
            "in the catalogue, so no comparison with England is made.")


def _peer_rating(doc: Document, column_words: tuple[str, ...]) -> tuple[str | None, str]:
    pos = peer_positions(doc)
    if not len(pos):
        return None, ""
    hit = pos[pos["column"].str.lower().str.contains("|".join(column_words), regex=True)]
    if not len(hit):
        return None, ""
    return peer_finding(hit["position"].iloc[0])


# -- strategic assessment ---------------------------------------------------------------------

def _strategic(doc: Document) -> list[Finding]:
    from .audit import target_progress

    tr = ev.evidence_category_trends(doc)
    per = ev.comparison_periods(doc)
    name = doc.catalogue.partnership.short_name
    crime = tr[tr["category"] != ev.ASB]
    now = int(crime["last_12"].sum())
    rag, against = _peer_rating(doc, ("total",))
    if per["comparable"]:  # the same test as the executive summary (allows for over-dispersion)
        before = int(crime["previous_12"].sum())
        monthly = ev.evidence_monthly(doc, "category")
        series = monthly[monthly["category"] != ev.ASB].groupby("month", as_index=False)["count"].sum()
        test = trends.trend_year_on_year(series, end=per["current"][-1]).iloc[0]
        pct = _pct(now, before)
        way = direction_of(pct, float(test["p_value"]))
        out = [Finding(f"The police recorded {now:,} crimes in {name} in {per['current_label']}: "
                       f"{change_words(pct, way)} on {per['previous_label']}.", way, rag, against)]
    else:
        out = [Finding(f"The police recorded {now:,} crimes in {name} in {per['current_label']}; the data do not "
                       "reach a complete year before that to compare with.", None, rag, against)]
    asb = tr[tr["category"] == ev.ASB]
    if len(asb) and per["comparable"]:
        a = asb.iloc[0]
        apct = _pct(float(a["last_12"]), float(a["previous_12"]))
        away = direction_of(apct, float(a["yoy_q"]))
        out.append(Finding(f"Anti-social behaviour incidents numbered {int(a['last_12']):,}: "
                           f"{change_words(apct, away)} on the year before.", away))
    elif len(asb):
        out.append(Finding(f"Anti-social behaviour incidents numbered {int(asb['last_12'].iloc[0]):,}."))
    top = crime.sort_values("last_12", ascending=False).iloc[0]
    share = float(top["last_12"]) / now if now else np.nan
    out.append(Finding(f"{top['category']} is the largest crime type, with {int(top['last_12']):,} crimes in the "
                       f"latest year ({share:.0%} of all crime)."))
    sig = crime[crime["trend_p"] < 0.05]
    rising = sig[sig["trend_pct"] > 0].sort_values("trend_pct", ascending=False)
    falling = sig[sig["trend_pct"] < 0].sort_values("trend_pct")
    if len(rising):
        out.append(Finding("Over the three years, once the time of year is allowed for, these crime types are "
                           "rising: " + _and(
            [f"{c} (about {p:.0f}% a year)" for c, p in zip(rising["category"].head(3), rising["trend_pct"].head(3))])
            + ".", "up"))
    else:
        out.append(Finding("No crime type shows a clear rise over the three years once the time of year is "
                           "allowed for.", "steady"))
    if len(falling):
        out.append(Finding("Over the three years these crime types are falling: " + _and(
            [f"{c} (about {abs(p):.0f}% a year)" for c, p in zip(falling["category"].head(3),
                                                                   falling["trend_pct"].head(3))]) + ".", "down"))
    rec = ev.evidence_recommended(doc)
    if len(rec):
        out.append(Finding(f"The recommended priorities are {_and(list(rec['issue']))}; the Executive summary gives "
                           "the evidence for each."))
    pos = peer_positions(doc)
    if len(pos):
        above = pos[pos["position"] == "above"]
        below = pos[pos["position"] == "below"]
        rag_all = "red" if len(above) else ("green" if len(below) == len(pos) else "amber")
        text = (f"Against {_group_words(doc)}, {name}'s rates are above the group's usual range for "
                f"{_and(list(above['measure'].str.lower()))}" if len(above) else
                f"Against {_group_words(doc)}, none of {name}'s {len(pos)} crime rates is above the group's usual range")
        if len(below):
            text += f", and below it for {_and(list(below['measure'].str.lower()))}"
        out.append(Finding(text + ".", None, rag_all,
                           f"{len(above)} of {len(pos)} rates above the most similar group's range"))
    try:
        prog = target_progress(doc)
    except (KeyError, ValueError):  # no strategy with targets: said in the progress section
        prog = None
    if prog is not None and len(prog) and "judgement" in prog.columns:
        j = prog["judgement"].value_counts()
        out.append(Finding(f"The previous strategy's {len(prog)} targets: {int(j.get('met', 0))} met, "
                           f"{int(j.get('not met', 0))} not met and {int(j.get('cannot be measured', 0))} that "
                           "cannot be measured from the data."))
    return out


# -- problem profile --------------------------------------------------------------------------

def _profile(doc: Document) -> list[Finding]:
    from . import profile as pp

    spec = pp.topic_spec(doc)
    label, noun = spec["label"], pp._phrase(doc)
    y = pp._yoy(doc)
    per = ev.comparison_periods(doc)
    rag, against = None, ""
    pos = peer_positions(doc)
    if spec.get("peer_column") and len(pos) and (pos["column"] == spec["peer_column"]).any():
        rag, against = peer_finding(pos.loc[pos["column"] == spec["peer_column"], "position"].iloc[0])
    now = int(y["current"])
    if per["comparable"]:
        before = int(y["previous"])
        pct = _pct(now, before)
        way = direction_of(pct, float(y["p_value"]))
        out = [Finding(f"The police recorded {now:,} {noun} in {per['current_label']}: {change_words(pct, way)} on "
                       f"{per['previous_label']}.", way, rag, against)]
    else:
        out = [Finding(f"The police recorded {now:,} {noun} in {per['current_label']}; the data do not reach a "
                       "complete year before that to compare with.", None, rag, against)]
    glm = pp._glm(doc)
    trend = glm[glm["term"] == "trend"] if glm is not None else []
    if len(trend):
        t = trend.iloc[0]
        tway = direction_of(float(t["estimate_pct"]), float(t["p_value"]))
        out.append(Finding(
            f"Over the three years, once the time of year is allowed for, {noun} are "
            + ({"up": f"rising by about {abs(float(t['estimate_pct'])):.0f}% a year",
                "down": f"falling by about {abs(float(t['estimate_pct'])):.0f}% a year"}.get(
                tway, "showing no clear rise or fall")) + ".", tway))
    f = pp._findings(doc)
    if f["hot_clusters"] and f["hot_place"]:
        out.append(Finding(f"The largest concentration is around {f['hot_place']}, with {f['top_events']:,} of the "
                           f"latest year's {f['recent']:,} {noun}."))
    else:
        out.append(Finding(f"No part of the area has a concentration of {noun} beyond what chance would give."))
    if f["emerging_clusters"] and f["emerging_place"]:
        out.append(Finding(f"A new concentration is emerging around {f['emerging_place']}.", "new"))
    if f["higher_wards"]:
        out.append(Finding(f"{len(f['higher_wards'])} {'ward has' if len(f['higher_wards']) == 1 else 'wards have'} "
                           f"clearly higher rates than the partnership as a whole: {_and(f['higher_wards'][:5])}"
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


# -- audit ------------------------------------------------------------------------------------

def _audit(doc: Document) -> list[Finding]:
    from . import audit as au

    years = au._years(doc)
    out: list[Finding] = []
    name = doc.catalogue.partnership.short_name
    if len(years) >= 2:
        y1, y3 = years[0], years[-1]
        annual = au._annual_by(doc, "category")
        crime = annual.drop(index=[ev.ASB], errors="ignore").sum()
        rr = trends.trend_rate_ratio(int(crime[y3]), int(crime[y1])).iloc[0]
        pct = _pct(float(crime[y3]), float(crime[y1]))
        way = direction_of(pct, float(rr["p_value"]))
        rag, against = _peer_rating(doc, ("total",))
        out.append(Finding(f"The police recorded {int(crime[y3]):,} crimes in {name} in {y3} against "
                           f"{int(crime[y1]):,} in {y1}: {change_words(pct, way)}.", way, rag, against))
        if ev.ASB in annual.index:
            a = annual.loc[ev.ASB]
            ra = trends.trend_rate_ratio(int(a[y3]), int(a[y1])).iloc[0]
            apct = _pct(float(a[y3]), float(a[y1]))
            away = direction_of(apct, float(ra["p_value"]))
            out.append(Finding(f"Anti-social behaviour incidents numbered {int(a[y3]):,} in {y3} against "
                               f"{int(a[y1]):,} in {y1}: {change_words(apct, away)}.", away))
    con = au._consultation(doc)
    if con is not None:
        overall = con["safe"][con["safe"]["is_overall"]].iloc[0]
        out.append(Finding(f"{int(overall['n_respondents']):,} residents answered the survey; {overall['proportion']:.0%} "
                           "feel safe after dark."))
        top3 = con["top"].head(3)
        out.append(Finding("Residents' top concerns are " + _and(
            [f"{c.lower() if c[:1].isupper() and c[1:2].islower() else c} ({s:.0%} name it)"
             for c, s in zip(top3["concern"], top3["share"])]) + "."))
        lower = con["safe"][(con["safe"]["vs_overall"] == "lower") & ~con["safe"]["unreliable"]]
        if len(lower):
            out.append(Finding(f"In {len(lower)} {'ward' if len(lower) == 1 else 'wards'} clearly fewer residents feel "
                               f"safe after dark than across the partnership: {_and(list(lower['ward_name']))}."))
    rec = ev.evidence_recommended(doc)
    if len(rec):
        out.append(Finding(f"The evidence points to {_and(list(rec['issue']))} as issues for the next strategy."))
    _, gaps = au._provision(doc)
    g = gaps[gaps["gap"] != ""]
    if len(g):
        out.append(Finding(f"{len(g)} priority {'theme has' if len(g) == 1 else 'themes have'} no funded service "
                           f"in place: {_and(list(g['theme']))}."))
    check = au._smart(doc)
    if check is not None:
        out.append(Finding(f"The previous strategy set {len(check)} targets, of which "
                           f"{int((check['verdict'] == 'SMART').sum())} are specific, measurable and time-bound."))
    return out


# -- evaluation -------------------------------------------------------------------------------

def _evaluation(doc: Document) -> list[Finding]:
    from . import evaluation_report as er

    s = er.evaluation_setup(doc)
    r, m = er._did(doc), er._mde(doc)
    where = _and([str(s.ward_names.get(c, c)) for c in s.intervention_wards])
    ratio, lo, hi = float(r["rate_ratio"]), float(r["ci_lower"]), float(r["ci_upper"])
    clear = not (lo <= 1 <= hi)
    way = ("down" if ratio < 1 else "up") if clear else "steady"
    size = abs(ratio - 1) * 100
    outcome = f"police-recorded {er._lower_first(s.category)}"
    out = [Finding(f"What was evaluated: {s.intervention} in {where}, from {month_name(s.start)}.")]
    if clear:
        out.append(Finding(f"After the start, {outcome} there {'fell' if ratio < 1 else 'rose'} by about {size:.0f}% "
                           "more than in the comparison wards, a difference larger than chance would give.", way))
    else:
        out.append(Finding(f"After the start, {outcome} there did not change differently from the comparison wards "
                           f"by more than chance could explain (the estimate is {size:.0f}% "
                           f"{'lower' if ratio < 1 else 'higher'}).", way))
    mde = float(m["mde_rate_ratio"])
    if np.isfinite(mde):
        out.append(Finding(f"This study could only have detected a change larger than about {abs(1 - mde) * 100:.0f}%; "
                           "a smaller real effect could have gone unseen."))
    out.append(Finding("It was compared with " + _and([str(s.ward_names.get(c, c)) for c in s.comparison_wards])
                       + " (the Design section says how these wards were chosen)."
                       if s.comparison_wards else "No comparison wards could be chosen."))
    main, _, _, _ = er._its(doc)
    lvl = main.effects.set_index("term").loc["level_change"]
    its_clear = not (lvl["ci_lower"] <= 1 <= lvl["ci_upper"])
    out.append(Finding(f"Looking at {where} alone over time, the level "
                       + ("changed clearly at the start." if its_clear else "did not change clearly at the start.")
                       + (" This agrees with the comparison." if its_clear == clear else
                          " The comparison with other wards is the stronger evidence.")))
    rtm = er._rtm(doc)
    if rtm["status"] != "no concern":
        out.append(Finding("Caution: the wards may have been chosen when their numbers were unusually high, so some "
                           "fall was to be expected anyway (regression to the mean)."))
    out.append(Finding("Not shown: whether incidents moved to neighbouring streets, the cost, or offences the police "
                       "did not record."))
    return out


# -- data quality -----------------------------------------------------------------------------

def counted_once(doc: Document, keys: list[str]) -> np.ndarray:
    """True for each dataset key that counts in totals: a copy of another dataset (``duplicate_of``
    in the catalogue, or an export whose only permitted use is data quality and which repeats
    another dataset of the same agency, columns and kind) is counted once, with the original."""
    from .quality_report import quality_export_pairs

    cat = doc.catalogue
    copies = {k for k, d in cat.datasets.items() if d.duplicate_of is not None}
    try:
        pairs = quality_export_pairs(doc)
        copies |= set(pairs.loc[pairs["use"] == "data quality only", "dataset"].astype(str))
    except (KeyError, ValueError):  # no events: nothing to compare
        pass
    return np.asarray([k not in copies for k in keys], dtype=bool)


def _data_quality(doc: Document) -> list[Finding]:
    from . import quality_report as qr

    cat = doc.catalogue
    q = qr._quality(doc)
    keys = q["dataset"].astype(str).tolist()
    once = counted_once(doc, keys)
    protected = np.asarray([cat.datasets[k].sensitivity in ACCOUNTING_PROTECTED if k in cat.datasets else False
                            for k in keys])
    t = doc.threshold
    quar = q["rows_quarantined"].to_numpy()
    # The counts as the document's tables publish them (disclosure-controlled, a copy counted once in the
    # Total row): a finding must not show, or let a reader narrow, a count those tables suppress.
    published = qr.quality_accounting_published(doc)
    totals = qr.quality_accounting_totals(doc)
    hidden = published.iloc[:-1]["rows quarantined"].astype(str).eq("[c]").to_numpy()
    small = protected & (hidden | ((quar >= 1) & (quar < t)))
    copies = [cat.datasets[k].title for k, o in zip(keys, once) if not o and k in cat.datasets]
    from .prose import count_of

    out = [Finding(f"{count_of(len(q), 'dataset')} from {count_of(q['agency'].nunique(), 'agency')} were read "
                   "through the catalogue.")]
    read = 0 if str(totals["rows read"]) == "[c]" else int(totals["rows read"])
    if read:
        set_aside = (" a suppressed number of them were set aside with a reason" if str(totals["rows quarantined"]) == "[c]"
                     else f" {int(totals['rows quarantined']):,} ({int(totals['rows quarantined']) / read:.1%}) were set "
                          "aside with a reason")
        out.append(Finding(
            f"{read:,} rows were read" + (f", counting {_and(copies)} once with the dataset it copies" if copies else "")
            + ";" + set_aside + "."))
    else:
        out.append(Finding("No rows were read."))
    blank = q["rows_blank"] if "rows_blank" in q.columns else 0
    balanced = q["rows_read"].eq(q["rows_accepted"] + q["rows_quarantined"] + blank)
    out.append(Finding("For every dataset, rows read equal rows accepted plus rows set aside"
                       + (" plus blank padding rows" if int(np.sum(blank)) else "") + ": nothing was dropped "
                       "without trace." if balanced.all() else
                       f"For {int((~balanced).sum())} datasets the rows do not add up; see the Summary."))
    share = np.where(q["rows_read"].to_numpy() > 0, quar / np.maximum(q["rows_read"].to_numpy(), 1), 0.0)
    worst = int(np.argmax(np.where(small, -1, share))) if len(q) else -1
    if worst >= 0 and share[worst] > 0 and not small[worst]:
        out.append(Finding(f"The most rows were set aside from {qr._title(doc, keys[worst])} "
                           f"({share[worst]:.0%} of its rows)."))
    _, gaps, monthly, _ = qr._coverage_parts(doc)
    window = cat.partnership.window.months
    g = gaps[gaps["period"].isin(window)] if len(gaps) else gaps
    n_gap = int(g["dataset"].nunique()) if len(g) else 0
    out.append(Finding(f"{n_gap} {'dataset has' if n_gap == 1 else 'datasets have'} months with no rows at all in the "
                       "assessment window." if n_gap else "Every monthly dataset has rows in every month of the "
                       "assessment window."))
    reg = doc.workbench.intake.sharing
    flags = qr.quality_sharing_flags(reg, doc.run_date)
    expired = int((flags == "expired").sum())
    soon = int(flags.str.startswith("expires within").sum())
    out.append(Finding(
        (f"{expired} sharing {'agreement has' if expired == 1 else 'agreements have'} expired"
         + (f" and {soon} {'expires' if soon == 1 else 'expire'} soon" if soon else "") + ".") if expired else
        (f"{soon} sharing {'agreement expires' if soon == 1 else 'agreements expire'} within "
         f"{qr.EXPIRY_MONTHS} months." if soon else "No sharing agreement has expired or expires soon.")))
    return out


_BUILDERS = {
    "strategic_assessment": _strategic,
    "problem_profile": _profile,
    "audit": _audit,
    "evaluation": _evaluation,
    "data_quality": _data_quality,
}


def section_key_findings(doc: Document) -> HTMLPart:
    """The opening of the document: links to the edition's other documents, the key findings
    (five to eight plain sentences with the direction of change and, where the catalogue holds a
    most-similar-group table, a red/amber/green rating against it) and the about box."""
    findings = _BUILDERS[doc.kind](doc)[:8]
    rated = any(f.rag for f in findings)
    return front_matter(doc, findings, benchmark=_benchmark_note(doc, rated))
