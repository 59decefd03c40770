"""Sections of the annual joint strategic assessment.

Each ``section_*`` function takes the open :class:`Document` and returns a
:class:`Section` that a notebook cell shows. Numbers come from
:mod:`assessment.reporting.evidence` and the analysis library; every table shown is
written to ``tables/``.
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ..analysis import hotspots, rates, smart, trends, wording
from ..analysis.overlap import overlap_compare, overlap_counts, overlap_sentences
from ..reporting import evidence as ev
from ..reporting.charts import chart_monthly
from ..reporting.display import Finding, HTMLPart, Section, bullet_list, callout, escape, paragraph
from ..reporting.deprivation import section_deprivation
from ..reporting.document import Document, open_document
from ..reporting.errorrates import error_rates_table
from ..reporting.glossary import section_glossary
from ..reporting.front import change_words, direction_of
from ..reporting.keyfindings import (key_findings_opening, peer_group_words, peer_positions, peer_rating,
                                     percent_change)
from ..reporting.maps import map_choropleth, map_layers
from ..reporting.progress import target_progress
from ..reporting.prose import and_list, count_of, date_words, month_words, number, plural, rank_words
from ..reporting.themes import (section_domestic_abuse, section_fire, section_hate_crime, section_reoffending,
                                section_serious_violence, section_substance_misuse, theme_gaps, theme_source)

__all__ = [
    "section_key_findings", "section_glossary",
    "section_deprivation",
    "open_document", "section_summary", "section_profile", "section_data_sources", "section_trends",
    "section_multi_agency", "section_reoffending", "section_substance_misuse", "section_domestic_abuse",
    "section_hate_crime", "section_serious_violence", "section_fire", "section_places", "section_comparison",
    "section_progress", "section_horizon",
    "section_priorities", "section_gaps", "section_appendix",
]


def _n(x: float) -> str:
    return number(x)


# -- key findings -----------------------------------------------------------------------------

def _key_findings(doc: Document) -> list[Finding]:
    tr = ev.evidence_category_trends(doc)
    per = ev.comparison_periods(doc)
    name = doc.catalogue.partnership.short_name
    crime = tr[tr["category"] != ev.ASB]
    now = int(crime["last_12"].sum())
    rag, against = peer_rating(doc, ("total",))
    if per["comparable"]:  # the same test as the executive summary (allows for over-dispersion)
        before = int(crime["previous_12"].sum())
        monthly = ev.evidence_monthly(doc, "category")
        series = monthly[monthly["category"] != ev.ASB].groupby("month", as_index=False)["count"].sum()
        test = trends.trend_year_on_year(series, end=per["current"][-1]).iloc[0]
        pct = percent_change(now, before)
        way = direction_of(pct, float(test["p_value"]))
        out = [Finding(f"The police recorded {now:,} crimes in {name} in {per['current_label']}: "
                       f"{change_words(pct, way)} on {per['previous_label']}.", way, rag, against)]
    else:
        out = [Finding(f"The police recorded {now:,} crimes in {name} in {per['current_label']}; the data do not "
                       "reach a complete year before that to compare with.", None, rag, against)]
    asb = tr[tr["category"] == ev.ASB]
    if len(asb) and per["comparable"]:
        a = asb.iloc[0]
        apct = percent_change(float(a["last_12"]), float(a["previous_12"]))
        away = direction_of(apct, float(a["yoy_q"]))
        out.append(Finding(f"Anti-social behaviour incidents numbered {int(a['last_12']):,}: "
                           f"{change_words(apct, away)} on the year before.", away))
    elif len(asb):
        out.append(Finding(f"Anti-social behaviour incidents numbered {int(asb['last_12'].iloc[0]):,}."))
    top = crime.sort_values("last_12", ascending=False).iloc[0]
    share = float(top["last_12"]) / now if now else np.nan
    out.append(Finding(f"{top['category']} is the largest crime type, with {int(top['last_12']):,} crimes in the "
                       f"latest year ({share:.0%} of all crime)."))
    months = doc.catalogue.partnership.window.months
    span = (f"the {len(months)} months from {month_words(months[0])} to {month_words(months[-1])}"
            if len(months) > 1 else month_words(months[0]))
    if per["n_months"] < ev.MIN_TREND_MONTHS:
        out.append(Finding(f"The data cover {span}: too few months (fewer than {ev.MIN_TREND_MONTHS}) to tell a "
                           "trend from the time of year."))
    else:
        # adjusted for the false discovery rate across every type in the table (anti-social behaviour
        # included), as the trend sentences of the crime-type table decide on them; calibrated in
        # assessment.calibration.key_findings
        verdict = wording.verdict_trend_family(tr).loc[crime.index]
        rising = crime[verdict == "rising"].sort_values("trend_pct", ascending=False)
        falling = crime[verdict == "falling"].sort_values("trend_pct")
        if len(rising):
            out.append(Finding(f"Over {span}, once the time of year is allowed for, these crime types are "
                               "rising: " + and_list([f"{c} (about {p:.0f}% a year)" for c, p in
                                                  zip(rising["category"].head(3), rising["trend_pct"].head(3))])
                               + ".", "up"))
        else:
            out.append(Finding(f"No crime type shows a clear rise over {span} once the time of year is "
                               "allowed for.", "steady"))
        if len(falling):
            out.append(Finding(f"Over {span} these crime types are falling: " + and_list(
                [f"{c} (about {abs(p):.0f}% a year)" for c, p in zip(falling["category"].head(3),
                                                                       falling["trend_pct"].head(3))]) + ".",
                "down"))
    rec = ev.evidence_recommended(doc)
    if len(rec):
        out.append(Finding(f"The recommended priorities are {and_list(list(rec['issue']))}; the Executive summary gives "
                           "the evidence for each."))
    pos = peer_positions(doc)
    if len(pos):
        above = pos[pos["position"] == "above"]
        below = pos[pos["position"] == "below"]
        rag_all = "red" if len(above) else ("green" if len(below) == len(pos) else "amber")
        text = (f"Against {peer_group_words(doc)}, {name}'s rates are above the group's usual range for "
                f"{and_list(list(above['measure'].str.lower()))}" if len(above) else
                f"Against {peer_group_words(doc)}, none of {name}'s {len(pos)} crime rates is above the group's usual range")
        if len(below):
            text += f", and below it for {and_list(list(below['measure'].str.lower()))}"
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


def section_key_findings(doc: Document) -> HTMLPart:
    """The opening of the document: links to the edition's other documents, the key findings
    (five to eight plain sentences with the direction of change and, where the catalogue holds a
    most-similar-group table, a red/amber/green rating against it) and the about box."""
    return key_findings_opening(doc, _key_findings(doc))


def section_summary(doc: Document) -> Section:
    """Executive summary: the recommended priorities with their evidence, and the headlines."""
    rec = ev.evidence_recommended(doc)
    tr = ev.evidence_category_trends(doc)
    per = ev.comparison_periods(doc)
    total_12 = int(tr.loc[tr["category"] != ev.ASB, "last_12"].sum())
    sec = Section("Executive summary")
    sec.add(paragraph(ev.data_to_sentence(doc), css="table-note"))
    what = "crimes"
    stats: list[str] = []  # the test statistics go to a note; the sentences keep plain words
    if per["comparable"]:
        prev_12 = int(tr.loc[tr["category"] != ev.ASB, "previous_12"].sum())
        monthly = ev.evidence_monthly(doc, "category")
        crime = monthly[monthly["category"] != ev.ASB].groupby("month", as_index=False)["count"].sum()
        yoy = trends.trend_year_on_year(crime, end=per["current"][-1]).iloc[0]  # allows for over-dispersion
        pct = 100 * (total_12 - prev_12) / prev_12 if prev_12 else np.nan
        change = change_words(pct, direction_of(pct, float(yoy["p_value"])))
        stats.append(f"all crime {wording.describe_change(pct, float(yoy['p_value']), n=total_12 + prev_12)}")
        text = (f"In {per['current_label']} the police recorded {total_12:,} {what} in "
                f"{doc.catalogue.partnership.short_name}: {change}, compared with {per['previous_label']}.")
    else:
        text = (f"In {per['current_label']} the police recorded {total_12:,} {what} in "
                f"{doc.catalogue.partnership.short_name}. The data do not reach a complete year before that, so no "
                "change from a year earlier is given.")
    if per["partial_label"]:
        text += f" Months after it, {per['partial_label']}, are shown in the trends but not compared as a whole year."
    asb = tr[tr["category"] == ev.ASB].iloc[0] if (tr["category"] == ev.ASB).any() else None
    if asb is None:
        text += " The police data supplied hold no anti-social behaviour, so it is not analysed."
    elif not per["comparable"]:
        text += f" Anti-social behaviour incidents numbered {int(asb['last_12']):,}."
    else:
        asb_pct = 100 * (asb["last_12"] - asb["previous_12"]) / asb["previous_12"] if asb["previous_12"] else np.nan
        text += (f" Anti-social behaviour incidents numbered {int(asb['last_12']):,}: "
                 f"{change_words(asb_pct, direction_of(asb_pct, float(asb['yoy_q'])))}.")
        stats.append("anti-social behaviour " + wording.describe_change(
            asb_pct, asb["yoy_q"], n=int(asb["last_12"] + asb["previous_12"]), adjusted=True))
    sec.add(text)
    if stats:
        sec.add(paragraph("Note on the tests behind these changes: " + "; ".join(stats) + ".", css="table-note"))
    sec.add(HTMLPart("<h3 id=\"recommended-priorities\">Recommended priorities</h3>"))
    items = [_why(doc, r) for r in rec.to_dict("records")]
    sec.add(HTMLPart('<ol class="priorities">' + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ol>"))
    sec.add(paragraph("The evidence behind each priority, with its statistics, is in the Prioritisation section."))
    scored = and_list(ev.priority_criteria_scored(doc)) + (
        "" if doc.catalogue.harm_weights is not None else "; harm is not scored, as no published harm index is set in "
                                                          "the catalogue")
    sec.add(callout(
        f"Each priority is scored on {scored} (see the prioritisation matrix). A change is called significant only "
        "when the statistical test supports it; series breaks are shown as steps, not trends."
    ))
    return sec


TREND_METHODS_NOTE = (
    "Change: exact conditional test on the two 12-month counts divided by the series' design effect (its "
    "over-dispersion times an allowance for correlation between neighbouring months; Rao & Scott 1992). Trend: "
    "quasi-Poisson regression on month with month-of-year terms, its standard error widened for autocorrelation "
    "(a latent AR(1) process, Zeger 1988, with one lag-1 correlation estimated from all the crime types together, "
    "as they share the partnership's recording); a series break enters as a step, never as trend. With 14 crime "
    "types tested, some would look significant by "
    "chance alone, so the p-values are adjusted across the crime types for the false discovery rate "
    "(Benjamini-Hochberg 1995) and only an adjusted p below 0.05 is called significant. How often these tests "
    "are wrong on simulated data is in docs/VALIDATION.md.")


def _why(doc: Document, r: dict) -> str:
    """One plain line: why an issue matters, what residents said, and its main caveat."""
    m = ev.evidence_priorities(doc).set_index("issue")
    tr = ev.evidence_category_trends(doc).set_index("category")
    issue = r["issue"]
    row, t = m.loc[issue], tr.loc[issue]
    reasons = []
    n = len(m)
    vol_rank = int(m["volume"].rank(ascending=False, method="min")[issue])
    harm_rank = int(m["harm"].rank(ascending=False, method="min")[issue]) if pd.notna(row["harm"]) else None
    reasons.append(f"{int(t['last_12']):,} recorded in the latest year ({rank_words(vol_rank, n)} of {n} issues by "
                   "volume")
    reasons[-1] += f", {rank_words(harm_rank, n)} by harm)" if harm_rank else ")"
    if t["trend_q"] < 0.05:  # adjusted across the crime types (false discovery rate)
        reasons.append(f"{'rising' if t['trend_pct'] > 0 else 'falling'} about {abs(t['trend_pct']):.0f}% a year")
    if r.get("emerging_cells", 0):
        reasons.append(f"a new hotspot emerging around {r['emerging_place']}")
    elif r.get("hot_cells", 0) and r.get("top_cluster_widespread", False):
        reasons.append("widespread across the area rather than concentrated in one place"
                       + (f" (busiest around {r['hot_place']})" if r.get("hot_place", "") else ""))
    elif r.get("hot_cells", 0) and r.get("hot_place", ""):
        reasons.append(f"concentrated around {r['hot_place']}")
    concern = ev.evidence_concern_share(doc).get(issue)
    reasons.append(f"{concern:.0%} of residents named it a top concern" if concern is not None
                   else "residents were not asked about it directly")
    caveat = ""
    if t["break_months"]:
        caveat = f" Caution: the counting rule changed in {t['break_months']}, so recorded numbers are not comparable across that month."
    return f"{issue}: " + "; ".join(reasons) + "." + caveat




def section_profile(doc: Document) -> Section:
    """The partnership profile: population, area, geographies and co-terminosity."""
    from ..geography.coterminosity import coterminosity_summary, coterminosity_table

    wb = doc.workbench
    p = doc.catalogue.partnership
    area_km2 = float(wb.boundary.geometry.area.sum()) / 1e6
    sec = Section("Partnership profile")
    size = f"{area_km2:,.1f} km²" if area_km2 < 10 else f"{area_km2:,.0f} km²"
    if wb.has_population:
        pop = float(wb.small_areas["population"].sum())
        homes = (f" in {float(wb.small_areas['households'].sum()):,.0f} households" if wb.has_households else "")
        sec.add(f"{p.name} covers {size} with about {pop:,.0f} residents{homes} ({pop / area_km2:,.0f} residents "
                "per km²)." + ("" if wb.has_households else " No household counts were supplied."))
    else:
        sec.add(f"{p.name} covers {size}. No population was supplied (small areas with residents), so this "
                "assessment gives counts, not rates per resident.")
    if "partnership" not in doc.catalogue.geographies:
        sec.add("No partnership boundary was supplied, so the partnership area is taken to be the union of its wards.")
    rows = []
    for key, geo in doc.catalogue.geographies.items():
        versions = wb.registry.geographies.get(key, [])
        latest = versions[-1].units if versions else None
        rows.append({
            "geography": geo.title, "units (current)": len(latest) if latest is not None else 0,
            "versions": len(versions),
            "valid from": ", ".join(str(v.valid_from.date()) for v in versions),
            "owner": geo.owner or "",
        })
    sec.add(doc.table(pd.DataFrame(rows), "Geographies used in this assessment"))
    geo_sa = doc.catalogue.geographies.get("small_areas")
    bands = geo_sa.population if geo_sa is not None else None
    if bands and bands.bands:
        age = pd.DataFrame({
            "age band": list(bands.bands),
            "residents": [float(pd.to_numeric(wb.small_areas[c], errors="coerce").sum()) for c in bands.bands.values()],
        })
        age["share (%)"] = 100 * age["residents"] / age["residents"].sum()
        sec.add(doc.table(age, "Residents by age band", decimals={"share (%)": 1}))
    if not wb.has_neighbourhoods or not wb.has_population:
        sec.add(HTMLPart('<h3 id="coterminosity">Co-terminosity of police neighbourhoods and wards</h3>'))
        sec.add(paragraph(
            ("No police neighbourhoods were supplied" if not wb.has_neighbourhoods else
             "No population was supplied") + ", so how well police neighbourhoods fit the wards is not measured. "
            "Rates by ward in this document are computed from the points themselves."))
        return sec
    table = coterminosity_table(wb.neighbourhoods, wb.wards, wb.small_areas, population="population")
    summ = coterminosity_summary(table).iloc[0]
    split = table[~table["coterminous"]]
    sec.add(HTMLPart('<h3 id="coterminosity">Co-terminosity of police neighbourhoods and wards</h3>'))
    sec.add(
        f"Police neighbourhoods do not line up with wards: the co-terminosity index is {float(summ['index']):.2f} "
        f"(the population-weighted share of neighbourhoods lying at least {float(summ['threshold']):.0%} inside one ward; "
        f"1 would mean every neighbourhood sits inside a ward). {int(summ['n_split'])} of {int(summ['n_source_units'])} "
        "neighbourhoods are split. Rates by ward in this document are therefore computed from the points "
        "themselves (exact), not apportioned from neighbourhood totals."
    )
    shown = split[["source_code", "source_name", "best_fit_target_name", "area_share", "population_share",
                   "target_names"]].rename(
        columns={"source_code": "neighbourhood", "source_name": "name", "best_fit_target_name": "best-fit ward",
                 "area_share": "area share in best-fit ward", "population_share": "population share in best-fit ward",
                 "target_names": "wards it spans"})
    sec.add(doc.table(shown, "Split police neighbourhoods and their best-fit wards",
                      decimals={"area share in best-fit ward": 2, "population share in best-fit ward": 2}))
    return sec


def section_data_sources(doc: Document) -> Section:
    """Data sources and their quality, from intake."""
    q = doc.workbench.intake.quality
    ds = doc.catalogue.datasets
    table = pd.DataFrame({
        "dataset": [ds[k].title for k in q["dataset"]],
        "agency": q["agency"].to_numpy(),
        "sensitivity": [ds[k].sensitivity for k in q["dataset"]],
        "status": q["status"].to_numpy(),
        "rows read": q["rows_read"].to_numpy(),
        "rows accepted": q["rows_accepted"].to_numpy(),
        "rows quarantined": q["rows_quarantined"].to_numpy(),
        "share geocoded (%)": (100 * pd.to_numeric(q["share_geocoded"], errors="coerce")).to_numpy(),
    })
    from ..reporting.accounting import quality_accounting_published, quality_accounting_totals

    # The counts as published (one disclosure control for every document that shows them).
    accounting = quality_accounting_published(doc)
    totals = quality_accounting_totals(doc)
    body = accounting.iloc[:-1].set_index("dataset")
    for col in ("rows read", "rows accepted", "rows quarantined"):
        table[col] = body[col].reindex(q["dataset"]).to_numpy()

    def shown(value) -> str:
        return "a suppressed number of" if str(value) == "[c]" else f"{int(value):,}"

    sec = Section("Data sources and quality")
    sec.add(
        f"{count_of(len(q), 'dataset')} from {count_of(q['agency'].nunique(), 'agency')} were read through the data "
        "catalogue. "
        f"Of {shown(totals['rows read'])} rows read, {shown(totals['rows accepted'])} were accepted and "
        f"{shown(totals['rows quarantined'])} quarantined with a reason; none was dropped silently. "
        "The data quality document gives the detail, row by row."
    )
    sec.add(doc.table(table, "Datasets used, with intake quality", decimals={"share geocoded (%)": 1},
                      count_columns=["rows read", "rows accepted", "rows quarantined"],
                      row_sensitivity=[ds[k].sensitivity for k in q["dataset"]], presuppressed=True))
    refused = q[q["status"] != "ok"]
    for r in refused.to_dict("records"):  # a handful of datasets, not data rows
        sec.add(callout(f"{ds[r['dataset']].title} was not used ({r['status']}): {r['message']}", caveat=True))
    police = q[q["dataset"].isin(ev.crime_datasets(doc))]
    if len(police):
        r = police[["not_geocoded"]].sum()
        sec.add(
            f"Police street-level data: {int(r['not_geocoded']):,} accepted rows have no coordinates; they are counted in "
            "every total and trend, and reported as '(no coordinates)' in the ward tables rather than lost."
        )
    return sec


def section_trends(doc: Document) -> Section:
    """The overall picture and trends per crime type, with significance wording."""
    tr = ev.evidence_category_trends(doc)
    monthly = ev.evidence_monthly(doc, "category")
    police = ev.evidence_police(doc)
    sec = Section("Overall picture and trends")
    per = ev.comparison_periods(doc)
    crime = monthly[monthly["category"] != ev.ASB].groupby("month", as_index=False)["count"].sum()
    crime["series"] = "All crime"
    asb = monthly[monthly["category"] == ev.ASB][["month", "count"]].assign(series="Anti-social behaviour")
    has_asb = bool(len(asb)) and int(asb["count"].sum()) > 0
    both = pd.concat([crime, asb], ignore_index=True) if has_asb else crime
    brks = ev.breaks_frame(doc)
    alt = (f"Line chart of monthly counts from {ev.month_words(monthly['month'].min())} to "
           f"{ev.month_words(monthly['month'].max())}. All crime ranges from {int(crime['count'].min()):,} to "
           f"{int(crime['count'].max()):,} a month")
    alt += (f"; ASB from {int(asb['count'].min()):,} to {int(asb['count'].max()):,}." if has_asb else ".")
    sec.add(doc.figure(
        chart_monthly(both, group="series", title="Police-recorded crime and ASB per month" if has_asb else
                      "Police-recorded crime per month", breaks=brks, rolling=per["n_months"] >= 12),
        ("Police-recorded crime and anti-social behaviour per month" if has_asb else "Police-recorded crime per month")
        + (", with 12-month rolling means" if per["n_months"] >= 12 else ""),
        alt=alt,
    ))
    total_series = pd.Series(crime["count"].to_numpy(), index=crime["month"].to_numpy())
    fc = None
    if per["n_months"] >= ev.MIN_TREND_MONTHS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            glm = trends.trend_glm(total_series, breaks=list(brks["month"]) if len(brks) else None)
            exc = trends.trend_exceptions(total_series, breaks=list(brks["month"]) if len(brks) else None)
            fc = trends.trend_forecast(total_series)
        sec.add(f"All crime: {wording.describe_trend(glm, brks if len(brks) else None)}.")
        sec.add(wording.describe_exceptions(exc))
    else:
        sec.add(f"All crime: the data hold {per['n_months']} month{'s' if per['n_months'] != 1 else ''}, too few for a "
                f"trend, exceptional months or a forecast (each needs at least {ev.MIN_TREND_MONTHS}).")
    if not has_asb:
        sec.add("No anti-social behaviour was supplied in the police data, so it is not analysed.")
    elif per["n_months"] < 24:
        sec.add(f"Anti-social behaviour: seasonality is not tested, because the data hold {per['n_months']} "
                f"{plural(per['n_months'], 'month')} and the test needs at least 24.")
    else:
        season = ev.evidence_seasonality(doc)
        sec.add(f"Anti-social behaviour: {wording.describe_seasonality(season)}.")
    # Column labels never contain the word "year" (such columns are shown as years, without separators).
    cur_col = ("latest 12 months" if per["kind"] == "rolling_12" and per["complete"] else
               per["current_label"].replace("financial year ", "") if per["complete"] else "months of data")
    prev_col = ("previous 12 months" if per["kind"] == "rolling_12" or not per["previous_label"] else
                per["previous_label"].replace("financial year ", ""))
    shown = tr[["category", "last_12", "previous_12", "pct_change", "yoy_p", "yoy_q", "trend_pct", "trend_low",
                "trend_high", "trend_p", "trend_q", "break_months", "step_pct"]].rename(columns={
        "category": "crime type", "last_12": cur_col, "previous_12": prev_col,
        "pct_change": "change (%)", "yoy_p": "p (change)", "yoy_q": "adjusted p (change)",
        "trend_pct": "trend (% a year)", "trend_low": "trend 95% CI low", "trend_high": "trend 95% CI high",
        "trend_p": "p (trend)", "trend_q": "adjusted p (trend)",
        "break_months": "series break", "step_pct": "step at break (%)"})
    if not per["comparable"]:
        shown = shown.drop(columns=[prev_col, "change (%)", "p (change)", "adjusted p (change)"])
    if per["n_months"] < ev.MIN_TREND_MONTHS:
        shown = shown.drop(columns=["trend (% a year)", "trend 95% CI low", "trend 95% CI high", "p (trend)",
                                    "adjusted p (trend)", "step at break (%)"])
    caption = ("Crime types: latest 12 months against the previous 12, and the seasonally adjusted trend"
               if per["kind"] == "rolling_12" and per["comparable"] else
               f"Crime types: {per['current_label']}" + (f" against {per['previous_label']}" if per["comparable"] else "")
               + (", and the seasonally adjusted trend" if per["n_months"] >= ev.MIN_TREND_MONTHS else ""))
    sec.add(doc.table(shown, caption,
                      decimals={"change (%)": 1, "p (change)": 3, "adjusted p (change)": 3, "trend (% a year)": 1,
                                "trend 95% CI low": 1, "trend 95% CI high": 1, "p (trend)": 3,
                                "adjusted p (trend)": 3, "step at break (%)": 1},
                      notes=[TREND_METHODS_NOTE]))
    sec.add(bullet_list([f"{r['category']}: {r['yoy_sentence']}; {r['trend_sentence']}." for r in tr.to_dict("records")]))
    for r in tr[tr["break_months"] != ""].to_dict("records"):
        sec.add(callout(
            f"Series break in {r['category']} from {r['break_months']}: "
            f"{ev.crime_breaks(doc, r['category'])[0].description} "
            + wording.describe_break(r["break_months"].split(",")[0], r["step_pct"], p_value=r["step_p"]),
            caveat=True))
    if fc is None:
        return sec
    fc_tab = fc[["month", "forecast", "pi_low", "pi_high"]].rename(columns={
        "pi_low": "95% prediction interval low", "pi_high": "95% prediction interval high"})
    sec.add(doc.figure(
        chart_monthly(crime[["month", "count"]], title="All crime: observed and 12-month forecast",
                      forecast=fc.rename(columns={"pi_low": "lower", "pi_high": "upper"}), breaks=brks),
        "All crime with a 12-month forecast and its 95% prediction interval",
        alt=f"Line chart of monthly crime with a dashed forecast for {fc['month'].iloc[0]} to {fc['month'].iloc[-1]} "
            f"averaging {fc['forecast'].mean():,.0f} a month.",
    ))
    first, last = month_words(fc["month"].iloc[0]), month_words(fc["month"].iloc[-1])
    produced = pd.Period(doc.run_date, freq="M")
    passed = int((pd.PeriodIndex(fc["month"].astype(str), freq="M") < produced).sum())
    when = (f"All {passed} {plural(passed, 'month')} of it had passed by the production date ({date_words(doc.run_date)}), "
            "so set it beside the recorded figures for those months." if passed == len(fc) else
            f"{passed} of its months had passed by the production date ({date_words(doc.run_date)}); "
            "compare those with the recorded figures." if passed else "")
    sec.add(f"The forecast covers {first} to {last}, the {len(fc)} months after the latest data "
            f"({month_words(crime['month'].iloc[-1])}). {when}".strip())
    sec.add(doc.table(fc_tab, f"Forecast of all crime, {first} to {last} (the {len(fc)} months after the latest data)",
                      decimals={"forecast": 0, "95% prediction interval low": 0, "95% prediction interval high": 0}))
    return sec


def _youth_by_ward(doc: Document, key: str, ac: pd.DataFrame, months: list[str]):
    """First-time entrants (or another youth justice count by ward) over the latest 12 months, by ward."""
    a = ac[(ac["dataset"] == key) & (ac["period_start"] >= pd.Timestamp(months[0]))]
    names = dict(zip(doc.workbench.wards["code"].astype(str), doc.workbench.wards["name"].astype(str)))
    by = a.groupby(a["area_code"].astype(str))["count"].sum().astype("int64")
    table = pd.DataFrame({"ward code": by.index, "ward": by.index.map(names).fillna(""),
                          "latest 12 months": by.to_numpy()})
    ds = doc.catalogue.datasets[key]
    return doc.table(table, f"{ds.title}: latest 12 months by ward", sensitivity=ds.sensitivity,
                     count_columns=["latest 12 months"], dataset=key, dimensions=("ward",),
                     scope=f"{months[0]} to {months[-1]}", max_rows=None,
                     notes=["Wards as the youth justice service records them; counts of young people, so small "
                            "numbers are suppressed with further cells where a total would give them away."])


def section_multi_agency(doc: Document) -> Section:
    """Health, fire, ambulance, council and youth justice beside the police picture."""
    wb = doc.workbench
    months = ev.last_year(doc)
    sec = Section("The multi-agency view")
    q = wb.intake.quality
    usable = set(q.loc[q["status"] == "ok", "dataset"])
    cat = doc.catalogue
    crime_keys = ev.crime_datasets(doc)
    event_keys = [*crime_keys, *(k for role in ("ambulance_callouts", "fire_incidents", "council_asb")
                                 for k in cat.datasets_with_role(role))]
    count_keys = [k for role in ("ed_attendances", "youth_justice") for k in cat.datasets_with_role(role)]
    missing = [k for k in (*event_keys, *count_keys) if k not in usable]
    rows = []
    for key in event_keys:
        if key not in usable:
            continue
        e = wb.dataset_events(key)
        keep = e["month"].isin(months)  # counted by a mask, not by filtering a copy of every column
        if key in crime_keys:
            keep &= e["category"] == "Violence and sexual offences"
        rows.append({"source": cat.datasets[key].title + (" (violence)" if key in crime_keys else ""),
                     "agency": cat.datasets[key].agency, "latest 12 months": int(keep.sum())})
    ac = wb.intake.area_counts
    for key in count_keys:
        if key in doc.catalogue.datasets and key in usable and len(ac):
            a = ac[ac["dataset"] == key]
            a = a[a["period_start"] >= pd.Timestamp(months[0])]
            rows.append({"source": doc.catalogue.datasets[key].title, "agency": doc.catalogue.datasets[key].agency,
                         "latest 12 months": int(a["count"].sum())})
    sensitive = any(cat.datasets[k].sensitivity != "public" for k in count_keys)
    # Health and youth-justice counts are sensitive: the threshold rule applies to every row; no
    # total is published because adding call-outs to attendances would mean nothing.
    for key in missing:  # a dataset intake could not use is "not available", never a zero
        sec.add(callout(f"{doc.catalogue.datasets[key].title} is not available to this assessment "
                        "(see Data sources and quality).", caveat=True))
    sec.add(doc.table(pd.DataFrame(rows), "Each agency's count for the latest 12 months",
                      sensitivity="sensitive" if sensitive else "public", count_columns=["latest 12 months"],
                      margins="none"))
    for key in cat.datasets_with_role("youth_justice"):
        if key in usable and len(ac) and cat.datasets[key].geography == "wards":
            sec.add(_youth_by_ward(doc, key, ac, months))
    # Common areas: small areas. ED arrives aggregated by small area (sensitive).
    police_v = wb.dataset_events(crime_keys)[["category", "month", "easting", "northing"]]  # only points are used
    police_v = police_v[(police_v["category"] == "Violence and sexual offences") & police_v["month"].isin(months)]
    amb = wb.dataset_events([k for k in cat.datasets_with_role("ambulance_callouts") if k in usable])
    amb = amb[amb["month"].isin(months)]
    ed_keys = [k for k in cat.datasets_with_role("ed_attendances") if k in usable]
    ed = ac[ac["dataset"].isin(ed_keys) & (ac["period_start"] >= pd.Timestamp(months[0]))] if len(ac) else ac
    prem = wb.intake.premises
    if len(rows) <= len(crime_keys) and not len(ed):
        sec.add("No data from partner agencies (health, fire, ambulance, council, youth justice) were supplied, so "
                "this assessment rests on police data alone and the agencies' pictures are not compared.")
        return sec
    if not len(wb.small_areas):
        sec.add("No small areas were supplied, so the agencies' pictures are not compared area by area.")
        return sec
    if not len(amb) and not len(ed):
        sec.add("No ambulance or emergency department assault data were supplied, so the police picture of violence "
                "is not compared with health data.")
        return sec
    areas = wb.small_areas[["code", "geometry"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        counts = overlap_counts(
            areas=areas.rename(columns={"code": "area_code"}),
            points={"police": ev.points_of(police_v)[["geometry"]], "ambulance": ev.points_of(amb)[["geometry"]],
                    **({"licensed premises (sites)": ev.points_of(prem)[["geometry"]]} if len(prem) else {})},
            area_counts={"emergency department": ed.groupby("area_code", as_index=False)["count"].sum()} if len(ed) else None,
        )
        from ..analysis.overlap import overlap_hotspots

        hot = overlap_hotspots(counts)
        comp = overlap_compare(counts, reference="police", hotspots=hot)
    sentences = overlap_sentences(hot, comp, names=ev.area_names(doc))
    sec.add(bullet_list(sentences))
    shown = comp[["layer", "events", "spearman_rho", "share_in_reference_top", "jaccard"]].rename(columns={
        "layer": "agency data", "events": "events", "spearman_rho": "rank correlation with police (Spearman)",
        "share_in_reference_top": "share in police top-10% areas", "jaccard": "overlap of hot areas (Jaccard)"})
    sec.add(doc.table(shown, "How far each agency's picture of violence differs from the police picture",
                      decimals={"rank correlation with police (Spearman)": 2, "share in police top-10% areas": 2,
                                "overlap of hot areas (Jaccard)": 2},
                      notes=["Counts on the partnership's small areas. Emergency department data arrive aggregated by "
                             "small area and are shown only as correlations, never as small counts."]))
    coloc = hot[hot["colocated"]] if "colocated" in hot.columns else hot.iloc[0:0]
    sec.add(f"{len(coloc)} small areas are hot for two or more agencies at once (co-located hotspots).")
    return sec


def _cluster_sentence(doc: Document, gistar, categories: list[str]) -> str:
    """Hot cells as a few named places; a hotspot over the catalogue's share of the area is called widespread."""
    share = ev.widespread_share(doc)
    clusters = ev.hotspot_clusters(gistar, widespread_share=share)
    if not len(clusters):
        return ""
    hot = gistar[gistar["hotspot"] == "hot"]
    wide = clusters[clusters["widespread"]]
    places = clusters[~clusters["widespread"]].head(3)
    named = [n for n in (ev.nearest_street(doc, places.iloc[i:i + 1], categories) for i in range(len(places))) if n]
    text = f" The hot cells form {len(clusters):,} separate hotspot{'s' if len(clusters) != 1 else ''}."
    if len(wide):
        big = wide.sort_values("cells", ascending=False).iloc[0]
        words = ev.widespread_words(int(big["cells"]), float(big["area_share"]), share)
        core = ev.nearest_street(doc, ev.hotspot_core(hot, big.geometry), categories)
        words += f"; it is busiest around {core}" if core else ""
        text += (f" One is {words}." if len(wide) == 1 else
                 f" {len(wide)} are widespread; the largest is {words}.")
    if named:
        text += f" The largest hotspots small enough to patrol are near {'; '.join(named)}."
    return text


def _ward_map(doc: Document, rates_gdf, legend: str, caption: str) -> object:
    page = map_choropleth(rates_gdf, "rate", name_column="name", legend=legend,
                          tooltip_columns={"count": "Crimes", "population": "Residents",
                                           "compared_with_partnership": "Compared with the partnership"},
                          unit="per 1,000", offline=doc.offline)
    top = rates_gdf.iloc[0]
    return doc.map(page, caption,
                   alt=(f"Choropleth map of {len(rates_gdf)} wards shaded by {legend.lower()}; the highest is "
                        f"{top['name']} at {top['rate']:,.1f}. Grey means no data."))


def section_places(doc: Document) -> Section:
    """Places: ward and neighbourhood rates, hotspot maps and emerging hotspots."""
    wb = doc.workbench
    months = ev.last_year(doc)
    sec = Section("Places")
    per = ev.comparison_periods(doc)
    span = f"{ev.month_words(months[0])} to {ev.month_words(months[-1])}"
    wr = ev.evidence_ward_rates(doc, categories=[c for c in ev.evidence_category_trends(doc)["category"] if c != ev.ASB])
    pol_all = ev.evidence_police(doc)[["month", "category", "neighbourhood_code"]]  # the columns used below
    pol_all = pol_all[pol_all["month"].isin(months) & (pol_all["category"] != ev.ASB)]
    mapped = int(wr["count"].sum())
    outside = wb.outside_partnership(ev.crime_datasets(doc))
    where = (f"{mapped:,} of the {len(pol_all):,} crimes recorded in {per['current_label']} have a map point in a ward "
             "and are counted by ward")
    if outside:
        where += (f"; a further {outside:,} police records over the whole period lay outside the partnership and are "
                  "left out of every count")
    if wb.has_population:
        sec.add(HTMLPart('<h3 id="ward-rates">Crime rates by ward</h3>'))
        sec.add(_ward_map(doc, wr[wr["rate"].notna()], "Crimes per 1,000 residents",
                          f"Crimes per 1,000 residents by ward, {span}"))
        higher = wr[wr["compared_with_partnership"] == "higher"]
        sec.add(
            f"{where}; the partnership rate on that basis is {float(wr['partnership_rate'].iloc[0]):,.1f} crimes per "
            f"1,000 residents. {len(higher)} wards are significantly higher (95% confidence interval above the "
            "partnership rate): " + (", ".join(higher["name"].astype(str)) if len(higher) else "none") + "."
        )
        table = wr[["code", "name", "count", "population", "rate", "ci_low", "ci_high", "compared_with_partnership"]].rename(
            columns={"code": "ward code", "name": "ward", "count": "crimes", "population": "residents",
                     "rate": "per 1,000", "ci_low": "95% CI low", "ci_high": "95% CI high",
                     "compared_with_partnership": "compared with partnership"})
        sec.add(doc.table(pd.DataFrame(table.drop(columns="geometry", errors="ignore")),
                          f"Crimes per 1,000 residents by ward ({per['current_label']}, current boundaries)",
                          decimals={"residents": 0, "per 1,000": 1, "95% CI low": 1, "95% CI high": 1},
                          notes=["Confidence intervals: Byar's method for 10 or more events, exact Poisson below. "
                                 "Residents apportioned from small areas by population.",
                                 ev.ward_dispersion_note(wr["dispersion"], "the latest 12 months",
                                                         "The intervals are those of each ward's crimes and residents "
                                                         "divided by")]))
    else:
        sec.add(HTMLPart('<h3 id="ward-rates">Crimes by ward</h3>'))
        sec.add(f"{where}. No population was supplied, so wards are compared by count, not by rate per resident.")
        table = wr[["code", "name", "count"]].rename(columns={"code": "ward code", "name": "ward", "count": "crimes"})
        sec.add(doc.table(pd.DataFrame(table), f"Crimes by ward ({per['current_label']}, current boundaries)"))
    # Neighbourhood rates (exact from points).
    pol = pol_all  # the latest year's crimes, as counted above
    if not wb.has_neighbourhoods:
        sec.add("No police neighbourhoods were supplied, so crimes are not shown by neighbourhood.")
    else:
        nh = wb.neighbourhoods[["code", "name", "population"]].copy()
        nh["count"] = nh["code"].astype(str).map(pol.groupby("neighbourhood_code").size()).fillna(0).astype(int)
        if wb.has_population and (nh["population"] > 0).all():
            nh = rates.rate_per_1000(nh, "count", "population")
            sec.add(doc.table(nh.rename(columns={"code": "neighbourhood", "name": "name", "count": "crimes",
                                                 "population": "residents", "rate": "per 1,000", "ci_low": "95% CI low",
                                                 "ci_high": "95% CI high"}).drop(columns=["ci_method"]),
                              f"Crimes per 1,000 residents by police neighbourhood ({per['current_label']})",
                              decimals={"residents": 0, "per 1,000": 1, "95% CI low": 1, "95% CI high": 1}))
        else:
            sec.add(doc.table(nh[["code", "name", "count"]].rename(columns={"code": "neighbourhood", "count": "crimes"}),
                              f"Crimes by police neighbourhood ({per['current_label']})"))
    # Hotspots: violence.
    sec.add(HTMLPart('<h3 id="hotspots">Hotspots</h3>'))
    if not (pol["category"] == "Violence and sexual offences").any():
        sec.add("No violence and sexual offences were recorded in the police data supplied for this period, so no "
                "violence hotspot map is drawn.")
    else:
        viol = ev.evidence_hotspots(doc, ["Violence and sexual offences"])
        hot = viol[viol["hotspot"] == "hot"]
        sec.add(f"Violence and sexual offences: {hotspots.hotspot_summary(viol, noun='violence')}"
                + _cluster_sentence(doc, viol, ["Violence and sexual offences"]))
        page = map_layers([(wb.wards, "name", "Wards")], highlight=hot.assign(
            cell=hot.index.astype(str), events=hot["count"].astype(int), z=hot["gi_z"].round(1))[["cell", "events", "z", "geometry"]],
            highlight_label="Significant violence hotspot cells",
            highlight_aliases={"cell": "Grid cell", "events": "Violence in this cell", "z": "Gi* z-score"},
            offline=doc.offline)
        place = ev.nearest_street(doc, hot, ["Violence and sexual offences"])
        sec.add(doc.map(page, f"Violence and sexual offences: significant Getis-Ord Gi* hotspot cells, {span}",
                        alt=f"Map of wards with {len(hot)} grid cells shaded as significant violence hotspots"
                            + (f", centred on {place}." if place else ".")))
        if wb.has_population:
            rate_hot = hotspots.hotspot_rate(ev.hotspot_count_grid(doc, ["Violence and sexual offences"]),
                                             wb.small_areas[["population", "geometry"]], population_col="population")
            n_rate_hot = int((rate_hot["hotspot"] == "hot").sum())
            sec.add(
                f"Allowing for where people live, {n_rate_hot} cells remain significant hotspots of violence relative to "
                "their resident population, so the hotspot is not simply a map of population."
                if n_rate_hot else "Allowing for where people live, no cell remains a significant hotspot of violence "
                "relative to its resident population: the hotspot follows where people live.")
        else:
            sec.add("No population was supplied, so hotspots are not tested against where people live.")
    heads = ev.evidence_hotspot_headlines(doc)
    heads = heads.assign(hot_place=heads["hot_place"].where(~heads["top_cluster_widespread"],
                                                             "widespread; busiest around " + heads["hot_place"]))
    heads = heads.drop(columns=["top_cluster_share", "top_cluster_area_share", "top_cluster_widespread"])
    shown = heads.rename(columns={"category": "crime type", "hot_cells": "hot cells (latest year)",
                                  "events_in_hot_cells": "events in hot cells", "hot_clusters": "separate hotspots",
                                  "top_cluster_cells": "cells in largest hotspot",
                                  "top_cluster_events": "events in largest hotspot", "hot_place": "largest hotspot near",
                                  "emerging_cells": "emerging cells", "emerging_place": "emerging area",
                                  "persistent_cells": "persistent cells"})
    n_years = len(ev.complete_years(doc))
    over = (f"emerging or persistent cells over {n_years} complete years" if n_years >= 2 else
            "no emerging or persistent cells (fewer than two complete years of data)")
    if n_years < 2:
        shown = shown.drop(columns=["emerging cells", "emerging area", "persistent cells"])
    sec.add(doc.table(shown, f"Hotspots by crime type: significant cells in {per['current_label']}, and {over}",
                      notes=["Gi* with binary distance weights on a regular grid, p-values corrected by the "
                             "Benjamini-Hochberg false discovery rate. Emerging: hot only in the latest complete year; "
                             "a partial year is never compared."]))
    emerging = heads[heads["emerging_cells"] > 0]
    for r in emerging.to_dict("records"):  # one line per crime type with an emerging hotspot
        sec.add(callout(f"Emerging hotspot: {r['category']} around {r['emerging_place'] or 'a new area'} "
                        f"({int(r['emerging_cells'])} cells hot in the latest year only)."))
    return sec


def section_comparison(doc: Document) -> Section:
    """Comparison with the most-similar group of partnerships."""
    peer_key = ev.role_dataset(doc, "peer_benchmark")
    peers = doc.workbench.intake.tables.get(peer_key) if peer_key else None
    sec = Section("Comparison with similar partnerships")
    if (peers is None or len(peers) == 0) and ev.role_dataset(doc, "peer_measures"):
        return _comparison_from_public_measures(doc, sec)  # peers computed, not supplied (issue 11)
    if peers is None or len(peers) == 0:
        sec.add(callout("No most-similar-group table was supplied, so the partnership is not compared with "
                        "similar areas.", caveat=True))
        return sec
    code = doc.catalogue.partnership.code
    skip = {"csp_code", "csp_name", "population", "dataset", "agency", "source_file", "source_row"}
    peers = peers.copy()
    for c in peers.columns:
        if c not in skip and c != "csp_name":
            peers[c] = pd.to_numeric(peers[c], errors="coerce")
    rate_cols = [c for c in peers.columns if c not in skip and peers[c].notna().any()]
    me = doc.catalogue.partnership.short_name
    rows = []
    for col in rate_cols:  # one per crime type column
        pos = rates.rate_peer_position(peers, code, col)
        r = pos.iloc[0]
        rows.append({"measure": col.replace("_", " ").capitalize(), f"{me} rate": r["rate"], "rank (1 = highest)": int(r["rank"]),
                     "group mean": r["group_mean"], "band low": r["band_low"], "band high": r["band_high"],
                     "position": r["position"], "sentence": r["sentence"]})
    table = pd.DataFrame(rows)
    sec.add(f"{doc.catalogue.partnership.short_name} is compared with {len(peers) - 1} similar partnerships, using the "
            f"most-similar-group table supplied by {doc.catalogue.dataset(peer_key).agency} (its own reference "
            "year; the rates are not recomputed from this assessment's window).")
    sec.add(doc.table(table.drop(columns="sentence"), "Position in the most-similar group (crimes per 1,000 residents)",
                      decimals={f"{me} rate": 2, "group mean": 2, "band low": 2, "band high": 2},
                      notes=["Band: group mean ± 1.96 standard deviations."]))
    outside = table[table["position"] != "within"]
    sec.add(bullet_list(list(outside["sentence"])) if len(outside) else paragraph(
        "The partnership lies within its group's band on every measure."))
    return sec


# -- peers from public measures (assessment.analysis.peers) ----------------------------------
PEER_GROUP_SIZE = 7


def _comparison_from_public_measures(doc: Document, sec: Section) -> Section:
    """Peers computed from a national table of public measures; rates compared where supplied."""
    from ..analysis import peers as peer

    tables = doc.workbench.intake.tables
    measures = tables[ev.role_dataset(doc, "peer_measures")]
    code = doc.catalogue.partnership.code
    me = doc.catalogue.partnership.short_name
    try:
        near = peer.peer_nearest(measures, code, n=min(PEER_GROUP_SIZE, max(len(measures) - 1, 1)))
    except ValueError as exc:
        sec.add(callout(f"Similar partnerships could not be found from the public measures: {exc}", caveat=True))
        return sec
    shown = [c for c in near.columns if c not in ("code",) and not c.startswith("z_")]
    sec.add(f"{me}'s {len(near)} most similar partnerships were computed from public measures "
            f"({', '.join(c.replace('_', ' ') for c in shown[3:])}): each measure standardised over every "
            "partnership in the national table, then the nearest by Euclidean distance. This is not the Home "
            "Office's most similar group (a cluster analysis on variables not all public); see the method notes.")
    sec.add(doc.table(near[shown].rename(columns={"distance": "distance (standard units)"}),
                      "Most similar partnerships from public measures", decimals={"distance (standard units)": 2}))
    key = ev.role_dataset(doc, "national_comparison")
    if key is None:
        sec.add(callout("No national table of peers' police counts was supplied, so rates are not compared.",
                        caveat=True))
        return sec
    national = tables[key].copy()
    for c in ("count", "residents", "rate_per_1000_per_year"):
        if c in national:
            national[c] = pd.to_numeric(national[c], errors="coerce")
    try:
        pos = peer.peer_rates(national, code, list(near["code"]))
    except ValueError as exc:
        sec.add(callout(f"Rates could not be compared with the peers: {exc}", caveat=True))
        return sec
    sec.add(doc.table(pos[["category", "rate", "rank", "n_peers", "group_mean", "band_low", "band_high",
                           "position"]].rename(columns={"rate": f"{me} rate", "rank": "rank (1 = highest)",
                                                        "n_peers": "partnerships", "group_mean": "group mean",
                                                        "band_low": "band low", "band_high": "band high"}),
                      "Position among the similar partnerships (crimes per 1,000 residents a year)",
                      decimals={f"{me} rate": 2, "group mean": 2, "band low": 2, "band high": 2},
                      notes=["Band: group mean ± 1.96 standard deviations."]
                      + ([f"No police counts for peers {pos['missing_peers'].iloc[0]}."]
                         if len(pos) and pos["missing_peers"].iloc[0] else [])))
    outside = pos[pos["position"] != "within"]
    sec.add(bullet_list(list(outside["sentence"])) if len(outside) else paragraph(
        "The partnership lies within its group's band on every crime type."))
    return sec


def section_progress(doc: Document) -> Section:
    """Changes since the last assessment and progress against the previous strategy's targets."""
    strategy_key = ev.role_dataset(doc, "strategy")
    strategy = (doc.workbench.intake.documents.get(strategy_key) if strategy_key else None) or {}
    targets = strategy.get("targets", [])
    sec = Section("Progress against the previous strategy")
    if not targets:
        sec.add(callout("The previous strategy has no targets in the catalogue.", caveat=True))
        return sec
    check = smart.smart_check(targets)
    # the same judgement the audit gives (one function for both documents)
    prog = target_progress(doc)
    years = [c for c in prog.columns if str(c).isdigit()]
    latest_year = years[-1] if years else ""
    merged = check[["id", "text", "verdict", "missing"]].merge(prog, on="id", how="left")
    merged["latest value"] = merged[latest_year] if latest_year else np.nan
    merged["latest year"] = np.where(merged["dataset"].notna(), latest_year, "")
    merged["missing"] = merged["missing"].replace("", "nothing")
    shown = merged[["id", "text", "baseline", "baseline year", "latest value", "latest year",
                    "change from baseline (%)", "status", "verdict", "missing"]].rename(
        columns={"text": "target", "verdict": "SMART verdict", "missing": "what is missing"})
    n_smart = int((check["verdict"] == "SMART").sum())
    n_measured = int((merged["judgement"] != "cannot be measured").sum())
    n_met = int((merged["judgement"] == "met").sum())
    sec.add(f"The previous strategy ({strategy.get('title', 'previous strategy')}) set {len(targets)} targets, "
            f"{n_smart} of them SMART. {n_measured} can be measured against the recorded data"
            + (f", and {n_met} of those {'was' if n_met == 1 else 'were'} met." if n_measured else ".")
            + " The audit gives the same judgement for each.")
    crossed = merged[merged["caveat"].fillna("").str.contains("counting rule")]
    if len(crossed):
        months = sorted({b.month for b in ev.crime_breaks(doc)})
        verb = "compares" if len(crossed) == 1 else "compare"
        sec.add(callout(f"{and_list(list(crossed['id']))} {verb} counts across a counting-rule change "
                        f"({and_list([month_words(m) for m in months])}), so "
                        f"{'its' if len(crossed) == 1 else 'their'} progress is not like for like.", caveat=True))
    sec.add(doc.table(shown, "Previous strategy targets: progress where measurable, and SMART check",
                      decimals={"baseline": 0, "latest value": 0, "change from baseline (%)": 1}))
    vague = check[check["vague_verbs"].astype(str).str.len() > 0]
    if len(vague):
        sec.add(callout("Vague targets: " + "; ".join(f"{r['id']} ({r['vague_verbs']}): {r['text']}" for r in vague.to_dict("records")),
                        caveat=True))
    return sec


def section_horizon(doc: Document) -> Section:
    """Horizon scanning (PESTELO) from the analyst's text file."""
    sec = Section("Horizon scanning (PESTELO)")
    path = doc.catalogue.root / doc.catalogue.horizon_scan if doc.catalogue.horizon_scan else None
    if path is None or not path.is_file():
        sec.add(callout("No horizon-scanning file is named in the catalogue.", caveat=True))
        return sec
    scan = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(scan, dict) or not scan:
        sec.add(callout("The horizon-scanning file lists no items under the factors (political, economic, social, "
                        "technological, environmental, legal, organisational), so there is nothing to show.",
                        caveat=True))
        return sec
    items = [(k, item) for k, entries in scan.items()  # a dozen analyst's lines; one line may stand alone
             for item in ([entries] if isinstance(entries, (str, dict)) else (entries or []))]
    table = horizon_items(items, doc.run_date)
    n_past = int((table["when"].str.contains("passed")).sum())
    sec.add(f"Each item is dated where its text names a month or year, and compared with the production date "
            f"({date_words(doc.run_date)}): " + (f"{n_past} {plural(n_past, 'item')} had already passed by then and "
                                                 f"{plural(n_past, 'is', 'are')} written in the past tense."
                                                 if n_past else "none had passed by then."))
    sec.add(doc.table(table, "Political, economic, social, technological, environmental, legal and organisational factors",
                      notes=["Written by the partnership's analyst for this assessment."]))
    return sec


_MONTH_NAMES = "January|February|March|April|May|June|July|August|September|October|November|December"
#: present-tense phrases an analyst uses for a dated event, and their past tense (whole words)
_PAST_TENSE = {"ends": "ended", "opens": "opened", "closes": "closed", "begins": "began", "starts": "started",
               "comes": "came", "changes": "changed", "takes effect": "took effect", "is due": "was due",
               "are due": "were due", "will end": "ended", "will open": "opened", "will close": "closed",
               "will begin": "began", "will start": "started", "will change": "changed", "will come": "came",
               "may bring": "may have brought", "is expected": "was expected", "are expected": "were expected",
               "continues": "continued", "continue": "continued", "requires": "required", "adds": "added",
               "moves": "moved", "expires": "expired", "runs": "ran", "will": "was to"}


def horizon_items(items: list[tuple[str, Any]], produced: dt.date) -> pd.DataFrame:
    """Horizon-scan items with their date and whether it had passed on the production date.

    ``items`` are (factor, entry) pairs; an entry is a sentence, or a mapping with ``text`` and
    ``date`` (YYYY-MM or YYYY-MM-DD). Without a date the last "Month YYYY" or "YYYY" the text
    names is taken (the end of that month or year). An item whose date is before the production
    date is put in the past tense (common dated verbs: "ends" -> "ended", "opens" -> "opened").
    Returns columns ``factor``, ``item`` and ``when`` ("March 2026, passed", "May 2028, ahead",
    "no date given").
    """
    import re

    texts, dates = [], []
    for _, entry in items:
        if isinstance(entry, dict):
            texts.append(str(entry.get("text", "")))
            dates.append(str(entry.get("date", "")) or None)
        else:
            texts.append(str(entry))
            dates.append(None)
    text = pd.Series(texts, dtype="string")
    found = text.str.extractall(rf"(?:(?P<month>{_MONTH_NAMES})\s+)?(?P<year>(?:19|20)\d{{2}})\b")
    last = found.groupby(level=0).last() if len(found) else pd.DataFrame(columns=["month", "year"])
    last = last.reindex(range(len(text)))
    month_num = pd.to_datetime(last["month"].fillna("December") + " " + last["year"].fillna("1900"),
                               format="%B %Y", errors="coerce")
    parsed = pd.Series(month_num.to_numpy(), dtype="datetime64[ns]")
    given = pd.to_datetime(pd.Series(dates, dtype="object"), errors="coerce", format="mixed")
    when = given.fillna(parsed.where(last["year"].notna().to_numpy()))
    end = when.dt.to_period("M").dt.end_time
    passed = (end < pd.Timestamp(produced)).to_numpy()
    label = np.where(last["month"].notna().to_numpy() | given.notna().to_numpy(), when.dt.strftime("%B %Y"),
                     when.dt.strftime("%Y"))
    when_txt = np.where(when.isna().to_numpy(), "no date given",
                        pd.Series(label, dtype="string") + np.where(passed, ", passed", ", ahead"))
    past = text.copy()
    verbs = sorted(_PAST_TENSE, key=len, reverse=True)
    pattern = r"\b(" + "|".join(re.escape(v) for v in verbs) + r")\b"
    rewritten = text.str.replace(pattern, lambda m: _PAST_TENSE[m.group(1)], n=1, regex=True)
    past = past.mask(pd.Series(passed), rewritten)
    return pd.DataFrame({"factor": [str(k).capitalize() for k, _ in items], "item": past.astype(str).to_numpy(),
                         "when": when_txt})


def section_priorities(doc: Document) -> Section:
    """The prioritisation matrix, the 4x4 impact-by-likelihood grid and the recommended priorities."""
    from ..analysis.priorities import priority_grid, priority_grid_pivot

    m = ev.evidence_priorities(doc)
    rec = ev.evidence_recommended(doc)
    sec = Section("Prioritisation")
    cols = ["rank", "issue", "total_score", "score_volume", "score_trend", "score_harm", "score_vulnerability",
            "score_concern", "score_capacity"]
    cols = [c for c in cols if not c.startswith("score_") or m[c].notna().any()]  # criteria not scored at all
    sec.add(ev.harm_basis(doc))
    shown = m.sort_values("rank")[cols].rename(columns={"total_score": "total (0-4)", "score_volume": "volume",
                                                        "score_trend": "trend", "score_harm": "harm",
                                                        "score_vulnerability": "repeat locations",
                                                        "score_concern": "public concern", "score_capacity": "capacity"})
    sec.add(doc.table(shown, "Prioritisation matrix: each criterion scored 0 to 4 and weighted",
                      decimals={c: 2 for c in shown.columns if c not in ("rank", "issue")}))
    sec.add(bullet_list(list(m.sort_values("rank")["explanation"].head(8))))
    grid = priority_grid(m)
    pivot = priority_grid_pivot(grid)
    grid_table = pivot.reset_index().rename(columns={pivot.index.name or "index": "impact (rows) / likelihood (columns)"})
    grid_table.columns = [grid_table.columns[0]] + [f"likelihood {c}" for c in grid_table.columns[1:]]
    first = grid_table.columns[0]
    grid_table[first] = [f"impact {v}" for v in grid_table[first]]
    sec.add(doc.table(grid_table, "Impact by likelihood (4 = highest)",
                      notes=[("Impact: harm and repeat locations." if doc.catalogue.harm_weights is not None else
                              "Impact: repeat locations (no harm index is set).")
                             + " Likelihood: volume and trend. Each banded 1 to 4."]))
    sec.add(HTMLPart('<h3 id="recommended">Recommended priorities and their evidence</h3>'))
    concern = ev.evidence_concern_share(doc)
    items = []
    for r in rec.to_dict("records"):  # the handful of recommended priorities
        share = concern.get(r["issue"])
        view = f" {share:.0%} of survey respondents named it among their top concerns." if share is not None else \
            " Residents did not name it among their top concerns."
        items.append(r["evidence"] + view)
    sec.add(bullet_list(items))
    return sec


def section_gaps(doc: Document) -> Section:
    """Intelligence gaps: what the data could not show."""
    q = doc.workbench.intake.quality
    gaps = []
    for r in q[q["status"] != "ok"].to_dict("records"):
        gaps.append(f"{doc.catalogue.datasets[r['dataset']].title}: not available to this assessment ({r['status']}).")
    geo = q[pd.to_numeric(q["share_geocoded"], errors="coerce") < 0.99]
    for r in geo.to_dict("records"):
        gaps.append(f"{doc.catalogue.datasets[r['dataset']].title}: {1 - float(r['share_geocoded']):.1%} of records "
                    "cannot be mapped, so place analysis understates them.")
    for key, ds in doc.catalogue.datasets.items():
        for c in ds.caveats:
            gaps.append(f"{ds.title}: {c}")
    gaps.extend(theme_gaps(doc))  # statutory themes the catalogue cannot support
    if theme_source(doc, "domestic_abuse")[0] is None or theme_source(doc, "hate_crime")[0] is None:
        gaps.append("Domestic abuse and hate crime cannot be separated in data.police.uk categories; a police extract "
                    "with the domestic abuse and hate crime flags would close this gap.")
    gaps.append("Emergency department data arrive aggregated by small area and month, so individual assaults "
                "cannot be linked to police records.")
    sec = Section("Intelligence gaps")
    sec.add(bullet_list(gaps))
    return sec


def _ward_versions_note(doc: Document) -> str:
    """How ward boundary changes show in the ward tables, from the catalogue's ward versions."""
    versions = sorted(doc.catalogue.geography("wards").versions, key=lambda v: v.valid_from)
    if len(versions) == 1:
        return "One set of ward boundaries applies to every month."
    changes = ", ".join(str(v.valid_from) for v in versions[1:])
    return (f"Ward boundaries changed on {changes}: a ward abolished then shows counts only before the change, "
            "a new ward only after it.")


def section_appendix(doc: Document) -> Section:
    """Appendices: the ward-by-month counts, definitions and methods; writes the Excel workbook."""
    sec = Section("Appendix: definitions, methods and tables")
    wm = ev.evidence_ward_month_counts(doc)
    years = wm.assign(year=wm["month"].str[:4]).pivot_table(index=["ward_code", "ward_name"], columns="year",
                                                              values="count", aggfunc="sum", fill_value=0)
    years = years.reset_index().rename(columns={"ward_code": "ward code", "ward_name": "ward"})
    sec.add(doc.table(years, "Police-recorded crime and ASB by ward and year (ward boundaries in force at the time)",
                      notes=[_ward_versions_note(doc)],
                      max_rows=None))
    wm = wm.rename(columns={"ward_version": "ward boundaries from", "ward_code": "ward code", "ward_name": "ward",
                            "count": "crimes and ASB"})
    sec.add(doc.table(wm, "Police-recorded crime and ASB by ward and month (ward boundaries in force at the time)",
                      notes=["Rows without coordinates are counted as '(no coordinates)'; points outside every ward as "
                             "'(outside the partnership)'. Together with the wards they sum to every accepted record."],
                      max_rows=40))
    defs = pd.DataFrame([
        ("Crime", "A crime recorded by the police and published on data.police.uk, excluding anti-social behaviour."),
        ("Rate per 1,000", "Events divided by residents, times 1,000. Residents from small-area estimates."),
        ("Significant", "A statistical test gives p < 0.05; otherwise the change is within normal variation."),
        ("Series break", "A change in counting rules or recording practice; modelled as a step, never a trend."),
        ("Hotspot", "A grid cell whose neighbourhood has significantly more events than expected (Getis-Ord Gi*, FDR-corrected)."),
        ("Emerging hotspot", "Hot in the latest year and significantly busier than in any earlier year (a test "
                             "of the neighbourhood's share of all events that allows for how much neighbourhood "
                             "totals vary from year to year, corrected for the number of cells)."),
        ("Co-terminosity index", "Population-weighted share of one geography's units lying at least 95% inside one unit of another."),
        ("[c]", "A count suppressed to protect individuals (below the partnership's threshold, or secondary suppression)."),
    ], columns=["term", "meaning"])
    sec.add(doc.table(defs, "Definitions"))
    hw = ev.evidence_harm_weights(doc)
    if hw is None:
        sec.add(paragraph(ev.harm_basis(doc)))
    else:
        setting = doc.catalogue.harm_weights
        sec.add(doc.table(hw[["crime_type", "weight"]].rename(columns={"crime_type": "crime type",
                                                                        "weight": f"harm weight ({setting.index})"}),
                          f"Harm weights used: {setting.index} ({setting.year})",
                          notes=[f"Source: {setting.source}.", f"Mapping: {setting.mapping}"]))
    sec.add(error_rates_table(doc))  # searches the text of every section shown before
    doc.write_workbook()
    sec.add(paragraph(f"All {len(doc.tables)} tables are also in tables/{doc.name}.xlsx.", css="table-note"))
    return sec
