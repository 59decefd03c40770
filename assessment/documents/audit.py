"""Sections of the three-yearly crime and disorder audit.

The audit follows the statutory cycle (Crime and Disorder Act 1998 s.6): audit the
local picture over three years, consult residents, set it against what the data shows,
review existing provision and the previous strategy, and set out strategy options, with
a plain-language version for public consultation.

Each ``section_*`` function takes the open :class:`Document` and returns a
:class:`Section`. Numbers come from :mod:`assessment.reporting.evidence` and the
analysis library (:mod:`~assessment.analysis.survey`, :mod:`~assessment.analysis.smart`,
:mod:`~assessment.analysis.trends`); every table shown goes through ``doc.table``.

Survey tables
    The residents' survey is marked ``official``. It counts people giving their views,
    not victims, so respondent numbers (``n``) are always shown; counts of respondents
    naming something (feeling safe, a concern, a comment theme) are still put through
    the partnership's threshold rule (:func:`assessment.disclosure.suppress_table`,
    secondary suppression against the partnership total) before they are shown. Wards
    with fewer than :data:`MIN_RELIABLE_N` respondents are flagged as unreliable.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings

import numpy as np
import pandas as pd

from ..analysis import rates, smart, survey, trends, wording
from ..escaping import write_csv
from ..reporting import evidence as ev
from ..reporting import prose
from ..reporting.charts import chart_bars
from ..reporting.display import Finding, HTMLPart, Section, bullet_list, callout, escape, paragraph
from ..reporting.document import Document, open_document
from ..reporting.errorrates import error_rates_table
from ..reporting.glossary import section_glossary
from ..reporting.front import change_words, direction_of
from ..reporting.keyfindings import key_findings_opening, peer_rating, percent_change
from ..reporting.maps import map_choropleth
from ..reporting.progress import (STRATEGY_ROLE, complete_year_labels, complete_year_of, police_on_current_wards,
                                  smart_targets, strategy_document, target_progress, ward_names_every_version)
from ..reporting.prose import and_list

__all__ = [
    "section_key_findings", "section_glossary",
    "open_document", "section_summary", "section_patterns", "section_consultation", "section_concerns_vs_data",
    "section_provision", "section_strategy_options", "section_previous_strategy", "section_public_summary",
    "section_appendix", "SURVEY_CONCERN_THEMES", "MIN_RELIABLE_N", "CONCERN_THRESHOLD", "CHANGE_CLASSES",
]

SURVEY_ROLE = "survey"  # catalogue roles this audit draws on
#: the items a SMART check looks for (smart.smart_check's ``missing`` names them in this order)
SMART_ITEMS = ("metric", "baseline", "direction", "size", "deadline", "owner")
#: wards with fewer respondents than this are flagged as unreliable
MIN_RELIABLE_N = 30
#: a theme is a residents' concern when at least this share of respondents named a concern in it
CONCERN_THRESHOLD = 0.2
#: bar colour for wards too small to be reliable in the feeling-safe chart (grey: "read with care", not an alarm)
UNRELIABLE_COLOUR = "#9e9e9e"
#: classes of ward change, centred on zero (upper bound in %, label); used for the ward-change map
CHANGE_CLASSES = ((-10.0, "fall of more than 10%"), (0.0, "fall of up to 10%"),
                  (10.0, "no change or rise of up to 10%"), (np.inf, "rise of more than 10%"))
#: pseudo-theme for survey concerns that no crime or disorder dataset records
ROAD_SAFETY = "road_safety"

#: The documented mapping from the residents' survey's closed list of concerns to the
#: partnership's themes (catalogue ``themes``), used to set concerns against the data.
#: "Graffiti and vandalism" is criminal damage in police data; "Noise" and "Begging" are
#: anti-social behaviour; "Street drinking" is alcohol-related harm; "Knife crime" is the
#: weapons theme; "Speeding" and "Parking" are road safety, which no dataset here records.
SURVEY_CONCERN_THEMES: dict[str, str] = {
    "Anti-social behaviour": "asb",
    "Noise": "asb",
    "Begging": "asb",
    "Burglary": "acquisitive",
    "Vehicle crime": "acquisitive",
    "Violence": "violence",
    "Knife crime": "weapons",
    "Drug dealing": "drugs",
    "Graffiti and vandalism": "criminal_damage_arson",
    "Litter and fly-tipping": "environmental",
    "Street drinking": "alcohol_harm",
    "Domestic abuse": "domestic_abuse",
    "Speeding": ROAD_SAFETY,
    "Parking": ROAD_SAFETY,
}

#: survey concern -> the police crime type it names (None where no crime type matches it)
SURVEY_CONCERN_CRIME_TYPES: dict[str, str | None] = {
    "Anti-social behaviour": "Anti-social behaviour", "Noise": "Anti-social behaviour",
    "Begging": "Anti-social behaviour", "Burglary": "Burglary", "Vehicle crime": "Vehicle crime",
    "Violence": "Violence and sexual offences", "Knife crime": "Possession of weapons", "Drug dealing": "Drugs",
    "Graffiti and vandalism": "Criminal damage and arson", "Litter and fly-tipping": None, "Street drinking": None,
    "Domestic abuse": None, "Speeding": None, "Parking": None,
}

#: where each theme's recorded volume comes from when the police do not record it (catalogue role)
_THEME_SOURCES = {"environmental": "council_asb"}

#: comments that need a person to read them before any publication
_MARKUP = r"<\s*/?\s*[a-zA-Z][^>]*>"
_PERSONAL = r"[\w.+-]+@[\w-]+\.[\w.]+|\b0\d{3,4}\s?\d{3}\s?\d{3,4}\b"


# -- helpers -------------------------------------------------------------------------------

def _cached(doc: Document, key: str, build):
    key = "audit-" + key
    if key not in doc.cache:
        doc.cache[key] = build()
    return doc.cache[key]


def _year_end(doc: Document, year: str) -> str:
    """The last month of the complete year labelled ``year``."""
    return next(b[-1] for b in ev.complete_years(doc) if b[-1][:4] == str(year))


def _yname(doc: Document, year: str) -> str:
    """A complete year's name for sentences ('2025', 'financial year 2024-25', 'the 12 months to June 2017')."""
    return ev.period_name(doc, year)


def _too_short(doc: Document) -> str | None:
    """The sentence to give instead of a comparison when the data hold fewer than two complete years."""
    n = len(complete_year_labels(doc))
    if n >= 2:
        return None
    months = ev.comparison_periods(doc)["n_months"]
    return (f"The data hold {months} month{'s' if months != 1 else ''} ({n} complete year{'s' if n != 1 else ''}), so "
            "the audit cannot compare years: it needs at least two complete years.")


def _theme_label(doc: Document, key: str) -> str:
    if key == ROAD_SAFETY:
        return "Road safety (speeding, parking)"
    return doc.catalogue.themes.get(key, str(key).replace("_", " ").capitalize())


def _plural(n: int, one: str, many: str) -> str:
    return prose.plural(n, one, many)


def _month_words(month: str) -> str:
    """'2024-04' -> 'April 2024'."""
    return prose.month_words(month)


def _theme_categories(doc: Document, theme: str) -> list[str]:
    cat_theme = ev.crime_category_map(doc)
    return [c for c, t in cat_theme.items() if t == theme]


def _break_between(doc: Document, categories: list[str], first: str, last: str) -> str:
    """The first counting-rule change (series break) of ``categories`` between two compared years.

    ``first`` and ``last`` are calendar years; a break in month ``m`` falls between them when
    the first year's January is before ``m`` and ``m`` is no later than the last year's December,
    so some of the compared months are counted under each rule. Returns '' when there is none.
    """
    blocks = {b[-1][:4]: b for b in ev.complete_years(doc)}
    start = blocks[first][0] if first in blocks else f"{first}-01"
    end = blocks[last][-1] if last in blocks else f"{last}-12"
    months = sorted({b.month for c in categories for b in ev.crime_breaks(doc, c)
                     if start < b.month <= end})
    return months[0] if months else ""


def _not_comparable(month: str) -> str:
    return f"not comparable across the {_month_words(month)} counting-rule change"


def _blank_not_comparable(frame: pd.DataFrame, break_month: pd.Series, blank: list[str], p_col: str) -> None:
    """In a table to show: for rows compared across a series break, blank the change and say why in the p column."""
    broken = (pd.Series(break_month).fillna("").to_numpy() != "")
    if not broken.any():
        return
    frame.loc[broken, blank] = np.nan
    frame[p_col] = frame[p_col].astype(object)
    frame.loc[broken, p_col] = [_not_comparable(m) for m in pd.Series(break_month).to_numpy()[broken]]


def _analyst_file(doc: Document, name: str):
    """A file in the restricted analyst folder (never linked from, or copied into, the partner page)."""
    from ..disclosure import restricted_dir

    return restricted_dir(doc.out_dir) / f"{doc.name}-{name}"


def _survey(doc: Document) -> pd.DataFrame | None:
    sv = getattr(doc.workbench.intake, "survey", None)
    return sv if sv is not None and len(sv) else None


def _survey_sensitivity(doc: Document) -> str:
    key = ev.role_dataset(doc, SURVEY_ROLE)
    ds = doc.catalogue.datasets.get(key) if key else None
    return ds.sensitivity if ds else "official"


def _controlled(doc: Document, body: pd.DataFrame, count_col: str, rate_cols: list[str],
                sensitivity: str, total: pd.Series | None = None) -> tuple[pd.DataFrame, str]:
    """Threshold rule (and secondary suppression against ``total``) on one count column.

    ``body`` has one row per ward or concern and a first label column. When ``total``
    (the overall row, same columns) is given it is published as the last row and
    suppression makes sure no cell can be recovered by subtraction from it. Rate columns
    derived from the count are suppressed with it. Denominators (``n``) are never
    suppressed: they count people who answered, not events.
    """
    from ..disclosure import suppress_rates, suppress_table

    label = body.columns[0]
    frame = body.reset_index(drop=True)
    work = frame[[label, count_col]].copy()
    work[count_col] = work[count_col].astype("int64")
    margins = "column_totals" if total is not None else "none"
    tlabel = str(total[label]) if total is not None else "Total"
    res = suppress_table(work, [count_col], doc.threshold, sensitivity, margins=margins, total_label=tlabel)
    published = frame.copy()
    if total is not None:
        published = pd.concat([published, total.to_frame().T], ignore_index=True)
        for c in published.columns:  # the concatenated total row leaves object columns
            if c != count_col and pd.api.types.is_numeric_dtype(frame[c]):
                published[c] = pd.to_numeric(published[c])
    mask = res.mask.reset_index(drop=True)[[count_col]]
    published[count_col] = res.display[count_col].reset_index(drop=True).to_numpy()
    if mask[count_col].any():
        published = published.astype({c: object for c in rate_cols})
        published = suppress_rates(published, {c: count_col for c in rate_cols}, mask=mask, marker="[c]")
    return published, res.footnote


# -- shared computations ---------------------------------------------------------------------


def _annual_by(doc: Document, by: str) -> pd.DataFrame:
    """Police counts per calendar year of the window by ``by`` (category or theme), wide."""
    def build() -> pd.DataFrame:
        monthly = ev.evidence_monthly(doc, by)
        years = complete_year_labels(doc)
        m = monthly.assign(year=complete_year_of(doc, monthly["month"]))
        m = m[m["year"].isin(years)]
        return m.pivot_table(index=by, columns="year", values="count", aggfunc="sum", fill_value=0)[years]

    return _cached(doc, f"annual-{by}", build)


def _change_total(doc: Document, asb: bool = False) -> pd.Series:
    """All crime (or ASB) in year 3 against year 1, tested allowing for the monthly series' over-dispersion."""
    years = complete_year_labels(doc)
    monthly = ev.evidence_monthly(doc, "category")
    sel = monthly[(monthly["category"] == ev.ASB) if asb else (monthly["category"] != ev.ASB)]
    total = sel.groupby("month", as_index=False)["count"].sum()
    return trends.trend_year_on_year(total, end=_year_end(doc, years[-1]), lag=12 * (len(years) - 1)).iloc[0]


def _change_first_last(doc: Document, annual: pd.DataFrame, by: str) -> pd.DataFrame:
    """Year 3 against year 1, tested allowing for over-dispersion, adjusted across the rows, with wording.

    The test is ``trend_year_on_year`` on the monthly series (exact conditional test on the
    counts divided by the series' design effect); the rows (themes or crime types) are one
    family, so ``p_adjusted`` holds Benjamini-Hochberg adjusted p-values across the
    comparable rows and the sentence decides on it. Where the catalogue records a
    counting-rule change (series break) between the two years for the row's crime type
    (``by='category'``) or any crime type of its theme (``by='theme'``), the two years are not
    counted alike: ``break_month`` names the change and ``sentence`` says the years are not
    comparable instead of giving a significance statement.
    """
    y1, y3 = annual.columns[0], annual.columns[-1]
    yoy = trends.trend_year_on_year(ev.evidence_monthly(doc, by), end=_year_end(doc, y3), by=by,
                                    lag=12 * (len(annual.columns) - 1)).set_index(by).reindex(annual.index)
    rr = pd.DataFrame({"count1": annual[y3].to_numpy(), "count2": annual[y1].to_numpy(),
                       "rate_ratio": yoy["rate_ratio"].to_numpy(), "pct_change": yoy["pct_change"].to_numpy(),
                       "ci_low": yoy["ci_low"].to_numpy(), "ci_high": yoy["ci_high"].to_numpy(),
                       "p_value": yoy["p_value"].to_numpy()}, index=annual.index)
    cats = {k: ([k] if by == "category" else _theme_categories(doc, k)) for k in annual.index}
    rr["break_month"] = [_break_between(doc, cats[k], y1, y3) for k in annual.index]  # a dozen rows
    broken = rr["break_month"] != ""
    rr["p_adjusted"] = trends.trend_fdr(rr["p_value"].where(~broken).to_numpy())
    rr["sentence"] = wording.describe_change(rr["pct_change"], rr["p_adjusted"], n=rr["count1"] + rr["count2"],
                                             adjusted=True).to_numpy()
    rr.loc[broken, "sentence"] = rr.loc[broken, "break_month"].map(_not_comparable)
    return rr


def _theme_trends(doc: Document) -> pd.DataFrame:
    """Per theme: annual totals, year 3 against year 1, and the trend net of season and breaks."""
    def build() -> pd.DataFrame:
        if _too_short(doc) or ev.comparison_periods(doc)["n_months"] < ev.MIN_TREND_MONTHS:
            # Too few complete years to compare (or months for a trend): themes without change or trend.
            monthly = ev.evidence_monthly(doc, "theme")
            themes = sorted(monthly.loc[monthly["count"] > 0, "theme"].dropna().unique())
            return pd.DataFrame({"theme": themes, "trend_pct": np.nan, "trend_p": np.nan, "trend_q": np.nan,
                                 "break_months": "", "trend_sentence": "no trend is estimated from so few months",
                                 "pct_change": np.nan, "p_value": np.nan, "p_adjusted": np.nan,
                                 "change_sentence": "", "change_break": ""})
        annual = _annual_by(doc, "theme")
        chg = _change_first_last(doc, annual, "theme")
        monthly = ev.evidence_monthly(doc, "theme")
        cat_theme = ev.crime_category_map(doc)
        rows = []
        all_series, all_breaks = {}, {}
        for theme in annual.index:  # a dozen themes
            sub = monthly[monthly["theme"] == theme]
            all_series[theme] = pd.Series(sub["count"].to_numpy(), index=sub["month"].to_numpy())
            all_breaks[theme] = sorted({b.month for b in ev.crime_breaks(doc) if cat_theme.get(b.category) == theme})
        # one autocorrelation for the family: the themes share the partnership's recording
        rho = trends.trend_pooled_autocorrelation(all_series, {t: b or None for t, b in all_breaks.items()}
                                                  )["autocorrelation"]
        for theme in annual.index:  # one model each
            series, brk_months = all_series[theme], all_breaks[theme]
            brks = trends.trend_breaks([{"month": m, "label": "counting rule change"} for m in brk_months])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                glm = trends.trend_glm(series, breaks=brk_months or None, rho=rho)
            t = glm[glm["term"] == "trend"].iloc[0]
            rows.append({"theme": theme, "trend_pct": float(t["estimate_pct"]), "trend_p": float(t["p_value"]),
                         "break_months": ", ".join(brk_months), "_glm": glm, "_brks": brks})
        found = pd.DataFrame(rows)
        found["trend_q"] = trends.trend_fdr(found["trend_p"].to_numpy())  # the themes are one family of tests
        found["trend_sentence"] = [  # a dozen themes
            wording.describe_trend(g.assign(p_adjusted=np.where(g["term"] == "trend", q, np.nan)),
                                   b if len(b) else None)
            for g, b, q in zip(found["_glm"], found["_brks"], found["trend_q"])]
        out = annual.reset_index().merge(found.drop(columns=["_glm", "_brks"]), on="theme")
        out["pct_change"] = chg["pct_change"].reindex(out["theme"]).to_numpy()
        out["p_value"] = chg["p_value"].reindex(out["theme"]).to_numpy()
        out["p_adjusted"] = chg["p_adjusted"].reindex(out["theme"]).to_numpy()
        out["change_sentence"] = chg["sentence"].reindex(out["theme"]).to_numpy()
        out["change_break"] = chg["break_month"].reindex(out["theme"]).to_numpy()
        return out.sort_values(annual.columns[-1], ascending=False, ignore_index=True)

    return _cached(doc, "theme-trends", build)


def _ward_change(doc: Document) -> pd.DataFrame:
    """Crimes (excluding ASB) per 1,000 residents by current ward, year 1 against year 3."""
    def build() -> pd.DataFrame:
        years = complete_year_labels(doc)
        y1, y3 = years[0], years[-1]
        pol = police_on_current_wards(doc)
        pol = pol[(pol["category"] != ev.ASB) & pol["year"].isin([y1, y3])]
        counts = pol.groupby(["ward_now", "year"]).size().unstack(fill_value=0).reindex(columns=[y1, y3], fill_value=0)
        w = doc.workbench.wards[["code", "name", "population", "geometry"]].copy()
        w["code"] = w["code"].astype(str)
        c1 = w["code"].map(counts[y1]).fillna(0).astype(int)
        c3 = w["code"].map(counts[y3]).fillna(0).astype(int)
        # over-dispersion and autocorrelation of each ward's months around its own level in each year
        year_months = {b[-1][:4]: b for b in ev.complete_years(doc)}  # each year's 12 months, in order
        by_month = pol.groupby(["ward_now", "month"]).size().unstack(fill_value=0)
        tables = [by_month.reindex(index=w["code"], columns=year_months[y], fill_value=0)
                  for y in dict.fromkeys((y1, y3)) if y in year_months]
        phi = rates.rate_table_dispersion(*tables)["design_effect"] if tables else 1.0
        rr = trends.trend_rate_ratio(c3.to_numpy(), c1.to_numpy(), design_effect=phi)
        w["count_1"] = c1.to_numpy()
        w["count_3"] = c3.to_numpy()
        w["rate_1"] = 1000 * w["count_1"] / w["population"]
        w["rate_3"] = 1000 * w["count_3"] / w["population"]
        w["pct_change"] = rr["pct_change"].to_numpy()
        w["ci_low"] = 100 * (rr["ci_low"].to_numpy() - 1)
        w["ci_high"] = 100 * (rr["ci_high"].to_numpy() - 1)
        w["p_value"] = rr["p_value"].to_numpy()
        w["dispersion"] = phi
        w["p_adjusted"] = trends.trend_fdr(w["p_value"].to_numpy())  # the wards are one family of tests
        w["sentence"] = wording.describe_change(rr["pct_change"], w["p_adjusted"].to_numpy(),
                                                n=rr["count1"] + rr["count2"], adjusted=True).to_numpy()
        return w.sort_values("pct_change", ascending=False, ignore_index=True)

    return _cached(doc, "ward-change", build)


def _change_classes(pct: pd.Series) -> pd.DataFrame:
    """Classes of % change centred on zero (:data:`CHANGE_CLASSES`), with a code 1..m for the map.

    ``label`` names the class; ``code`` numbers only the classes present, in order from the
    largest fall to the largest rise, so that an equal-interval classification of the codes
    puts each class in its own colour. Missing changes (no crimes in either year) stay missing.
    """
    pct = pd.to_numeric(pct, errors="coerce")
    v = pct.to_numpy(dtype=float)
    # bounds: a fall of exactly 10% is "up to 10%"; exactly 0 is "no change"; a rise of exactly 10% is "up to 10%"
    idx = np.select([v < CHANGE_CLASSES[0][0], v < CHANGE_CLASSES[1][0], v <= CHANGE_CLASSES[2][0]], [0, 1, 2], default=3)
    labels = pd.Series(np.array([lab for _, lab in CHANGE_CLASSES], dtype=object)[idx], index=pct.index, dtype=object)
    labels[pct.isna()] = None
    order = [lab for _, lab in CHANGE_CLASSES if (labels == lab).any()]
    code = labels.map({lab: i for i, lab in enumerate(order, start=1)}).astype(float)
    return pd.DataFrame({"label": labels, "code": code}, index=pct.index)


def _grey_bars(fig, labels: list[str]) -> None:
    """Draw the bars of ``labels`` in grey (unreliable: read with care), leaving the others as drawn."""
    if not labels:
        return
    ax = fig.axes[0]
    names = [t.get_text() for t in ax.get_yticklabels()]
    bars = ax.containers[0]
    for bar, name in zip(bars, names):  # one bar per ward
        if name in set(labels):
            bar.set_facecolor(UNRELIABLE_COLOUR)


def _consultation(doc: Document) -> dict | None:
    """Response counts, feeling safe after dark, top concerns and comment themes."""
    sv = _survey(doc)
    if sv is None:
        return None

    def build() -> dict:
        names = ward_names_every_version(doc)
        current = list(doc.workbench.wards["code"].astype(str))
        ward_col = "area_code" if "area_code" in sv.columns else "ward_code"
        counts = survey.survey_response_counts(sv, ward_col=ward_col, wards=current)
        design = ev.evidence_survey_design(doc)
        # the feel-safe question's design effect (declared, or estimated from its answers) stands for the survey's
        shared = {"weight_col": design["weight_col"], "design_effect": float(design["design_effect"]),
                  "weights_in_design_effect": bool(design["weights_in_design_effect"])}
        safe = survey.survey_feeling_safe(sv, ward_col=ward_col, wards=current, **shared)
        for f in (counts, safe):
            f["ward_name"] = f["ward"].map(names).fillna(f["ward"]).where(~f["is_overall"], "All respondents")
        safe["unreliable"] = (~safe["is_overall"]) & (safe["n"] < MIN_RELIABLE_N)
        top = survey.survey_top_concerns(sv, **shared)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            by_theme = survey.survey_top_concerns(sv, mapping=SURVEY_CONCERN_THEMES, **shared)
        themes = survey.survey_load_themes()
        comment_col = "comment" if "comment" in sv.columns else "comments"
        comments = survey.survey_comment_themes(sv, themes=themes, comment_col=comment_col)
        text = sv[comment_col].astype("string")
        markup = text.str.contains(_MARKUP, regex=True, na=False)
        personal = text.str.contains(_PERSONAL, regex=True, na=False)
        clean = sv[~markup.to_numpy() & ~personal.to_numpy()]
        # Comments holding web markup are harmless once escaped: they are quoted as text, exactly as
        # written, so partners can see that nothing a resident typed runs in their browser.
        markup_quotes = [("Comment quoted exactly as written (it contains web code, shown as text)", c)
                         for c in text[markup & ~personal].str.strip().head(2)]
        samples, used = [], set()
        for key in comments.loc[comments["n_comments"] > 0, "theme"].head(6):  # a handful of themes
            got = survey.survey_sample_comments(clean, theme=key, n=5, seed=2, themes=themes, comment_col=comment_col)
            fresh = [c for c in got if c not in used][:1]  # one example per theme, never the same comment twice
            label = themes[key]["label"] if key in themes else survey.UNCATEGORISED
            samples += [(label, c) for c in fresh]
            used.update(fresh)
        samples += markup_quotes
        held = pd.DataFrame({"survey_row": np.flatnonzero(personal.to_numpy()) + 1,
                             "reason": "e-mail address or telephone number",
                             "comment": text[personal].str.strip().to_numpy()})
        return {"counts": counts, "safe": safe, "top": top, "by_theme": by_theme, "comments": comments,
                "samples": samples, "held": held, "ward_col": ward_col,
                "design": design}

    return _cached(doc, "consultation", build)


def _data_by_theme(doc: Document) -> pd.DataFrame:
    """What the data shows per theme: latest-12-month volume and trend (police; council for environmental)."""
    def build() -> pd.DataFrame:
        tt = _theme_trends(doc)
        months = ev.last_year(doc)
        monthly = ev.evidence_monthly(doc, "theme")
        last = monthly[monthly["month"].isin(months)].groupby("theme")["count"].sum()
        data = pd.DataFrame({"theme": tt["theme"], "volume": tt["theme"].map(last).to_numpy(dtype=float),
                             "trend_pct": tt["trend_pct"], "trend_p": tt["trend_q"],  # FDR-adjusted across themes
                             "source": doc.catalogue.datasets[ev.crime_dataset(doc)].title})
        data = data[data["theme"] != "other"]
        for theme, role in _THEME_SOURCES.items():  # extra sources for themes the police do not record
            key = ev.role_dataset(doc, role)
            if key is None or theme in set(data["theme"]):
                continue
            start, end = ev.window(doc)
            m = trends.trend_monthly(doc.workbench.dataset_events(key).query("theme == @theme"), start, end, by=None)
            if m["count"].sum() == 0 or len(m) < ev.MIN_TREND_MONTHS:
                continue
            series = pd.Series(m["count"].to_numpy(), index=m["month"].to_numpy())
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                glm = trends.trend_glm(series)
            t = glm[glm["term"] == "trend"].iloc[0]
            data = pd.concat([data, pd.DataFrame([{
                "theme": theme, "volume": float(m.loc[m["month"].isin(months), "count"].sum()),
                "trend_pct": float(t["estimate_pct"]), "trend_p": float(t["p_value"]),
                "source": doc.catalogue.datasets[key].title}])], ignore_index=True)
        return data.reset_index(drop=True)

    return _cached(doc, "data-by-theme", build)


def _concerns_vs_data(doc: Document) -> pd.DataFrame | None:
    con = _consultation(doc)
    if con is None:
        return None

    def build() -> pd.DataFrame:
        data = _data_by_theme(doc)
        options = sorted(set(SURVEY_CONCERN_THEMES.values()))
        out = survey.survey_concerns_vs_data(con["by_theme"], data[["theme", "volume", "trend_pct", "trend_p"]],
                                             concern_threshold=CONCERN_THRESHOLD, options=options)
        out["label"] = [_theme_label(doc, t) for t in out["theme"]]
        out["source"] = out["theme"].map(dict(zip(data["theme"], data["source"]))).fillna("")
        labels = pd.Series(SURVEY_CONCERN_THEMES)
        joined = {t: ", ".join(labels.index[labels == t]) for t in labels.unique()}  # a dozen themes
        out["survey concerns"] = out["theme"].map(joined).fillna("")
        # the single-concern share (each survey option on its own, as in the strategic assessment)
        single = dict(zip(con["top"]["concern"].astype(str), con["top"]["share"]))
        by_theme = {t: sorted(((c, single.get(c, 0.0)) for c in labels.index[labels == t]), key=lambda x: -x[1])
                    for t in set(labels)}
        out["single concern shares"] = out["theme"].map(
            lambda t: ", ".join(f"{c} {v:.0%}" for c, v in by_theme.get(t, []))).fillna("")  # a dozen themes
        out["finding"] = out["classification"].map(_findings())
        n_vol = int(out["volume"].notna().sum())
        rising = (out["trend_p"] < 0.05) & (out["trend_pct"] > 0)
        sentences = []
        for i, r in zip(out.index, out.to_dict("records")):  # a dozen themes
            share = ("not a survey option" if pd.isna(r["concern_share"]) else
                     f"named any concern in this theme: {r['concern_share']:.0%} of respondents"
                     + (f"; single concerns: {r['single concern shares']}" if r["single concern shares"] else ""))
            vol = (f"ranked {int(r['volume_rank'])} of {n_vol} by recorded volume" if pd.notna(r["volume_rank"])
                   else "no recorded data")
            rise = f", rising {r['trend_pct']:.0f}% a year" if bool(rising.loc[i]) else ""
            sentences.append(f"{r['label']}: {r['finding']} ({share}; {vol}{rise}).")
        out["sentence"] = sentences
        return out

    return _cached(doc, "concerns-vs-data", build)


def _findings() -> dict[str, str]:
    """The concerns-against-data classification in words that state the threshold rule."""
    t = f"{CONCERN_THRESHOLD:.0%}"
    return {
        "concern matches data": f"a residents' concern (named by {t} or more of respondents) and a data problem",
        "concern higher than data suggests": (f"a residents' concern (named by {t} or more of respondents) that the "
                                              "data do not show as a problem"),
        "data shows a problem residents did not raise": (f"a data problem, named by fewer than {t} of respondents "
                                                         "(below the concern threshold)"),
        "neither a strong concern nor a data priority": (f"named by fewer than {t} of respondents and not a data "
                                                         "problem"),
        "no data for this concern": "no dataset here records it",
        "no survey data for this issue": "not an option in the residents' survey",
    }


def _provision(doc: Document) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The services register with funding status, and the priority themes with their cover."""
    def build():
        run = doc.run_date
        horizon = run + dt.timedelta(days=365)
        rows = []
        for s in doc.catalogue.services:  # the register's handful of services
            if s.funded_to is None:
                status = "no end date recorded"
            elif s.funded_to < run:
                status = "funding ended"
            elif s.funded_to <= horizon:
                status = "funding ends within 12 months"
            else:
                status = "funded beyond 12 months"
            rows.append({"service": s.name, "provider": s.provider,
                         "themes": ", ".join(_theme_label(doc, t) for t in s.themes), "theme_keys": list(s.themes),
                         "wards": "all" if s.wards == "all" else ", ".join(s.wards),
                         "funded to": s.funded_to.isoformat() if s.funded_to else "", "funding": status})
        services = pd.DataFrame(rows, columns=["service", "provider", "themes", "theme_keys", "wards", "funded to",
                                               "funding"])
        if services.empty:
            return services, pd.DataFrame(columns=["theme", "theme_key", "why a priority", "services", "gap"])
        # priority themes: those of the recommended priorities and of strong resident concerns
        cat_theme = ev.crime_category_map(doc)
        rec = ev.evidence_recommended(doc)
        why: dict[str, list[str]] = {}
        for issue in rec["issue"]:
            why.setdefault(cat_theme.get(issue, issue), []).append(f"recommended priority ({issue})")
        cvd = _concerns_vs_data(doc)
        if cvd is not None:
            for r in cvd[cvd["resident_concern"]].to_dict("records"):  # a few themes
                why.setdefault(r["theme"], []).append(
                    f"{r['concern_share']:.0%} of respondents named a concern in this theme")
        live = services[services["funding"] != "funding ended"]
        out = []
        for theme, reasons in why.items():  # a handful of priority themes
            has = services[services["theme_keys"].map(lambda ks, t=theme: t in ks)]
            has_live = live[live["theme_keys"].map(lambda ks, t=theme: t in ks)]
            ending = has_live[has_live["funding"] == "funding ends within 12 months"]
            if has.empty:
                gap = "no service in the register"
            elif has_live.empty:
                gap = ("only a service whose funding has ended" if len(has) == 1
                       else f"only {len(has)} services whose funding has ended")
            elif len(ending) == len(has_live):
                gap = "all services' funding ends within 12 months"
            else:
                gap = ""
            out.append({"theme": _theme_label(doc, theme), "theme_key": theme, "why a priority": "; ".join(reasons),
                        "services": ", ".join(has["service"]) or "none", "gap": gap})
        return services, pd.DataFrame(out, columns=["theme", "theme_key", "why a priority", "services", "gap"])

    return _cached(doc, "provision", build)


def _vague(check: pd.DataFrame) -> pd.DataFrame:
    """Targets that cannot be measured as written: vague wording, or no metric or no baseline.

    ``reason`` is "vague wording" for a target with a vague verb (the strategic assessment's
    count) and "missing a metric or baseline" for the others.
    """
    verbs = check["vague_verbs"].astype(str).str.len() > 0
    out = check[verbs | ~check["specific"] | ~check["measurable"]].copy()
    wording_ = out["vague_verbs"].astype(str).str.len() > 0
    no_metric = ~out["specific"].astype(bool)
    out["reason"] = np.where(wording_, "vague wording",
                             np.where(no_metric, "missing a metric" + np.where(~out["measurable"], " and a baseline", ""),
                                      "missing a baseline"))
    return out


def _unmeasurable_sentence(check: pd.DataFrame) -> str:
    """How many targets cannot be measured as written, split into vague wording and a missing metric or baseline."""
    vague = _vague(check)
    if vague.empty:
        return "Every target names a metric and a baseline, with no vague wording."
    by = vague["reason"] == "vague wording"
    parts = []
    if by.any():
        parts.append(f"{int(by.sum())} {_plural(int(by.sum()), 'uses', 'use')} vague wording ("
                     + "; ".join(f"{i} \u201c{t}\u201d" for i, t in zip(vague.loc[by, "id"], vague.loc[by, "text"])) + ")")
    if (~by).any():
        parts.append(f"{int((~by).sum())} {'more ' if by.any() else ''}{_plural(int((~by).sum()), 'is', 'are')} "
                     + "; ".join(f"{r} ({i} \u201c{t}\u201d)" for i, t, r in
                                 zip(vague.loc[~by, "id"], vague.loc[~by, "text"], vague.loc[~by, "reason"])))
    return f"{len(vague)} cannot be measured as written: " + " and ".join(parts) + "."


def _progress(doc: Document) -> pd.DataFrame:
    """Targets whose measure is recorded in the data (the audit's progress table)."""
    prog = target_progress(doc)
    if prog.empty:
        return prog
    return prog[prog["dataset"].notna()].drop(columns="judgement").reset_index(drop=True)


def _strategy_options(doc: Document) -> pd.DataFrame:
    """Candidate issues from the priorities matrix and residents' concerns, each with options and evidence."""
    def build() -> pd.DataFrame:
        m = ev.evidence_priorities(doc).sort_values("rank")
        rec = ev.evidence_recommended(doc)
        cat_theme = ev.crime_category_map(doc)
        cvd = _concerns_vs_data(doc)
        cls = dict(zip(cvd["theme"], cvd["classification"])) if cvd is not None else {}
        share = dict(zip(cvd["theme"], cvd["concern_share"])) if cvd is not None else {}
        singles = dict(zip(cvd["theme"], cvd["single concern shares"])) if cvd is not None else {}
        _, gaps = _provision(doc)
        gap = dict(zip(gaps["theme_key"], gaps["gap"]))
        tr = ev.evidence_category_trends(doc).set_index("category")
        last = ev.last_year(doc)
        candidates = list(rec["issue"]) + [i for i in m["issue"].head(6) if i not in set(rec["issue"])]
        rows = []
        for issue in candidates:  # the handful of candidate issues
            r = m[m["issue"] == issue].iloc[0]
            theme = cat_theme.get(issue, "other")
            opts = []
            if issue in set(rec["issue"]):
                opts.append(
                    f"Adopt as a strategic priority with a SMART target, e.g. reduce {issue.lower()} by an agreed % "
                    f"from the {last[-1][:4]} baseline of {int(tr.loc[issue, 'last_12']):,} by an agreed date, "
                    "with a named owner")
            else:
                opts.append("Keep under review in the annual strategic assessment (no new priority)")
            if int(r["emerging_cells"]):
                place = f" around {r['emerging_place']}" if r["emerging_place"] else ""
                opts.append(f"Commission a problem profile of the emerging hotspot{place}")
            if int(r["hot_cells"]) and not int(r["emerging_cells"]) and bool(r.get("top_cluster_widespread", False)):
                place = f", busiest around {r['hot_place']}" if r["hot_place"] else ""
                opts.append(f"Tackle it across the area: its largest hotspot covers {r['top_cluster_area_share']:.0%} of "
                            f"the partnership's area{place}, too widespread to be one place to patrol")
            elif int(r["hot_cells"]) and not int(r["emerging_cells"]):
                place = f" around {r['hot_place']}" if r["hot_place"] else ""
                opts.append(f"Target the hotspot{place} (significant in the latest year) with place-based problem solving")
            named = [label for label, ct in SURVEY_CONCERN_CRIME_TYPES.items() if ct == issue]
            c = cls.get(theme, "") if named else ""
            single = singles.get(theme, "") if named else ""
            if c == "concern higher than data suggests":
                opts.append("Reassure residents: share what the data show and act visibly where they worry")
            elif c == "data shows a problem residents did not raise":
                opts.append("Tell residents about the problem and how to report it")
            elif c in ("", "no survey data for this issue"):
                opts.append("Ask about it in the next residents' survey (it was not a survey option)")
            g = gap.get(theme, "")
            if g:
                opts.append(f"Fill the provision gap ({g})")
            shr = share.get(theme) if named else None
            view = (f"{shr:.0%} of respondents named at least one concern in the {_theme_label(doc, theme).lower()} "
                    f"theme (theme-level share; single concerns: {single}); {_findings().get(c, c)}"
                    if shr is not None and pd.notna(shr) else f"{issue} was not an option in the residents' survey")
            rows.append({"issue": issue, "rank": int(r["rank"]), "score": float(r["total_score"]),
                         "options": opts, "evidence": r["explanation"], "residents": view})
        return pd.DataFrame(rows)

    return _cached(doc, "options", build)


# -- key findings -----------------------------------------------------------------------------

def _key_findings(doc: Document) -> list[Finding]:
    years = complete_year_labels(doc)
    out: list[Finding] = []
    name = doc.catalogue.partnership.short_name
    if len(years) >= 2:
        y1, y3 = years[0], years[-1]
        annual = _annual_by(doc, "category")
        crime = annual.drop(index=[ev.ASB], errors="ignore").sum()
        rr = trends.trend_rate_ratio(int(crime[y3]), int(crime[y1])).iloc[0]
        pct = percent_change(float(crime[y3]), float(crime[y1]))
        way = direction_of(pct, float(rr["p_value"]))
        rag, against = peer_rating(doc, ("total",))
        out.append(Finding(f"The police recorded {int(crime[y3]):,} crimes in {name} in {y3} against "
                           f"{int(crime[y1]):,} in {y1}: {change_words(pct, way)}.", way, rag, against))
        if ev.ASB in annual.index:
            a = annual.loc[ev.ASB]
            ra = trends.trend_rate_ratio(int(a[y3]), int(a[y1])).iloc[0]
            apct = percent_change(float(a[y3]), float(a[y1]))
            away = direction_of(apct, float(ra["p_value"]))
            out.append(Finding(f"Anti-social behaviour incidents numbered {int(a[y3]):,} in {y3} against "
                               f"{int(a[y1]):,} in {y1}: {change_words(apct, away)}.", away))
    con = _consultation(doc)
    if con is not None:
        overall = con["safe"][con["safe"]["is_overall"]].iloc[0]
        out.append(Finding(f"{int(overall['n_respondents']):,} residents answered the survey; {overall['proportion']:.0%} "
                           "feel safe after dark."))
        top3 = con["top"].head(3)
        out.append(Finding("Residents' top concerns are " + and_list(
            [f"{c.lower() if c[:1].isupper() and c[1:2].islower() else c} ({s:.0%} name it)"
             for c, s in zip(top3["concern"], top3["share"])]) + "."))
        lower = con["safe"][survey.survey_named_wards(con["safe"], "lower", MIN_RELIABLE_N)]
        if len(lower):
            out.append(Finding(f"In {len(lower)} {'ward' if len(lower) == 1 else 'wards'} clearly fewer residents feel "
                               f"safe after dark than across the partnership: {and_list(list(lower['ward_name']))}."))
    rec = ev.evidence_recommended(doc)
    if len(rec):
        out.append(Finding(f"The evidence points to {and_list(list(rec['issue']))} as issues for the next strategy."))
    _, gaps = _provision(doc)
    g = gaps[gaps["gap"] != ""]
    if len(g):
        out.append(Finding(f"{len(g)} priority {'theme has' if len(g) == 1 else 'themes have'} no funded service "
                           f"in place: {and_list(list(g['theme']))}."))
    check = smart_targets(doc)
    if check is not None:
        out.append(Finding(f"The previous strategy set {len(check)} targets, of which "
                           f"{int((check['verdict'] == 'SMART').sum())} are specific, measurable and time-bound."))
    return out


def section_key_findings(doc: Document) -> HTMLPart:
    """The opening of the document: links to the edition's other documents, the key findings
    (five to eight plain sentences with the direction of change and, where the catalogue holds a
    most-similar-group table, a red/amber/green rating against it) and the about box."""
    return key_findings_opening(doc, _key_findings(doc))


# -- sections --------------------------------------------------------------------------------

def section_summary(doc: Document) -> Section:
    """Summary: the three-year picture, what residents said, the gaps and the previous strategy."""
    if _too_short(doc):
        sec = Section("Summary")
        sec.add(paragraph(ev.data_to_sentence(doc), css="table-note"))
        sec.add(_too_short(doc))
        return sec
    years = complete_year_labels(doc)
    y1, y3 = years[0], years[-1]
    n1, n3 = _yname(doc, y1), _yname(doc, y3)
    annual = _annual_by(doc, "category")
    crime = annual.drop(index=[ev.ASB], errors="ignore").sum()
    asb = annual.loc[ev.ASB] if ev.ASB in annual.index else None
    rr = _change_total(doc)
    name = doc.catalogue.partnership.short_name
    sec = Section("Summary")
    sec.add(callout(
        "This audit follows the statutory cycle: it sets out crime and disorder over three years, what residents "
        "told the consultation, how their concerns compare with the data, the services in place, the previous "
        "strategy's record and the options for the next strategy."))
    text = (f"The police recorded {int(crime[y1]):,} crimes in {name} in {n1} and {int(crime[y3]):,} in {n3}: "
            f"{wording.describe_change(rr['pct_change'], rr['p_value'], n=int(crime[y1] + crime[y3]))}.")
    if asb is not None:
        ra = _change_total(doc, asb=True)
        text += (f" Anti-social behaviour incidents numbered {int(asb[y1]):,} in {n1} and {int(asb[y3]):,} in {n3}: "
                 f"{wording.describe_change(ra['pct_change'], ra['p_value'], n=int(asb[y1] + asb[y3]))}.")
    sec.add(text)
    items = []
    con = _consultation(doc)
    if con is not None:
        overall = con["safe"][con["safe"]["is_overall"]].iloc[0]
        top3 = con["top"].head(3)
        items.append(
            f"Consultation: {int(overall['n_respondents']):,} residents answered the survey; {overall['proportion']:.0%} "
            f"feel safe after dark (95% CI {overall['ci_low']:.0%} to {overall['ci_high']:.0%}, n = {int(overall['n']):,}). "
            "Their top concerns (share of respondents naming each single concern among their top three): "
            + ", ".join(f"{c} ({s:.0%})" for c, s in zip(top3["concern"], top3["share"])) + ".")
        lower = con["safe"][survey.survey_named_wards(con["safe"], "lower", MIN_RELIABLE_N)]
        if len(lower):
            items.append("Wards where significantly fewer residents feel safe after dark: "
                         + ", ".join(f"{w} ({p:.0%}, n = {n})" for w, p, n in
                                     zip(lower["ward_name"], lower["proportion"], lower["n"])) + ".")
    rec = ev.evidence_recommended(doc)
    items.append("Issues the evidence points to for the next strategy: " + ", ".join(
        f"{i} ({'emerging hotspot' if r == 'emerging hotspot' else 'ranked ' + str(int(k))})"
        for i, r, k in zip(rec["issue"], rec["reason"], rec["rank"])) + ".")
    _, gaps = _provision(doc)
    g = gaps[gaps["gap"] != ""]
    if len(g):
        items.append(f"Gaps in provision (funding as at {doc.run_date.isoformat()}, the date this document was "
                     "produced): " + "; ".join(f"{t}: {x}" for t, x in zip(g["theme"], g["gap"])) + ".")
    check = smart_targets(doc)
    if check is not None:
        items.append(f"The previous strategy set {len(check)} targets; {int((check['verdict'] == 'SMART').sum())} are "
                     f"SMART. {_unmeasurable_sentence(check)}")
    sec.add(bullet_list(items))
    return sec


def section_patterns(doc: Document) -> Section:
    """Patterns and trends over three years, by theme and crime type; ward rates year 1 against year 3."""
    if _too_short(doc):
        sec = Section("Patterns and trends over three years")
        sec.add(_too_short(doc))
        return sec
    years = complete_year_labels(doc)
    y1, y3 = years[0], years[-1]
    n1, n3 = _yname(doc, y1), _yname(doc, y3)
    sec = Section("Patterns and trends over three years")
    tt = _theme_trends(doc)
    sec.add(f"Police-recorded crime and anti-social behaviour for each complete year, {n1} to {n3}, by partnership "
            f"theme and by crime type. The change from {n1} to {n3} is tested with the exact conditional test on the "
            "two counts divided by the series' design effect (its over-dispersion and month-to-month correlation); the "
            "trend uses every month, allowing for season and for autocorrelation, with counting-rule changes (series "
            "breaks) fitted as steps so that they are never read as trends. The themes, and the crime types, are "
            "each one family of tests: their p-values are adjusted for the false discovery rate (Benjamini-Hochberg) "
            "and only an adjusted p below 0.05 is called significant.")
    shown = tt[["theme", *years, "pct_change", "p_adjusted", "trend_pct", "trend_q", "break_months"]].copy()
    shown["theme"] = [_theme_label(doc, t) for t in shown["theme"]]
    _blank_not_comparable(shown, tt["change_break"], ["pct_change"], "p_adjusted")
    shown = shown.rename(columns={"pct_change": f"change {y1} to {y3} (%)", "p_adjusted": "adjusted p (change)",
                                  "trend_pct": "trend (% a year)", "trend_q": "adjusted p (trend)",
                                  "break_months": "series break"})
    sec.add(doc.table(shown, f"Police-recorded crime and ASB by theme, {y1} to {y3}",
                      decimals={f"change {y1} to {y3} (%)": 1, "adjusted p (change)": 3, "trend (% a year)": 1,
                                "adjusted p (trend)": 3},
                      notes=[f"Where a counting-rule change (series break) falls between {y1} and {y3}, the two years "
                             "are not counted alike: no change or test is given for them (\u201cnot comparable\u201d). "
                             "Read the trend, which fits the break as a step and separates the two."]))
    sec.add(bullet_list([f"{_theme_label(doc, r['theme'])}: {int(r[y1]):,} in {y1}, {int(r[y3]):,} in {y3} "
                         f"({r['change_sentence']}); trend {r['trend_sentence']}." for r in tt.to_dict("records")]))
    # crime types
    annual = _annual_by(doc, "category")
    chg = _change_first_last(doc, annual, "category")
    tr = ev.evidence_category_trends(doc).set_index("category")
    ct = annual.reset_index()
    ct["theme"] = [_theme_label(doc, tr.loc[c, "theme"]) if c in tr.index else "" for c in ct["category"]]
    ct["pct_change"] = chg["pct_change"].reindex(ct["category"]).to_numpy()
    ct["ci_low"] = 100 * (chg["ci_low"].reindex(ct["category"]).to_numpy() - 1)
    ct["ci_high"] = 100 * (chg["ci_high"].reindex(ct["category"]).to_numpy() - 1)
    ct["p_value"] = chg["p_adjusted"].reindex(ct["category"]).to_numpy()  # FDR-adjusted across crime types
    ct["trend"] = tr["trend_sentence"].reindex(ct["category"]).to_numpy()
    ct["break"] = tr["break_months"].reindex(ct["category"]).fillna("").to_numpy()
    ct["change_break"] = chg["break_month"].reindex(ct["category"]).fillna("").to_numpy()
    ct = ct.sort_values(y3, ascending=False, ignore_index=True)
    comparable = ct["change_break"] == ""
    shown_ct = ct.copy()
    _blank_not_comparable(shown_ct, ct["change_break"], ["pct_change", "ci_low", "ci_high"], "p_value")
    sec.add(doc.table(
        shown_ct[["category", "theme", *years, "pct_change", "ci_low", "ci_high", "p_value", "break", "trend"]].rename(columns={
            "category": "crime type", "pct_change": f"change {y1} to {y3} (%)", "ci_low": "95% CI low (%)",
            "ci_high": "95% CI high (%)", "p_value": "adjusted p (change)", "break": "series break",
            "trend": "trend net of season (and breaks)"}),
        f"Crime types: annual totals {y1} to {y3}, the change over the three years and the trend",
        decimals={f"change {y1} to {y3} (%)": 1, "95% CI low (%)": 1, "95% CI high (%)": 1, "adjusted p (change)": 3},
        notes=["Confidence interval of the rate ratio by the exact (Clopper-Pearson) method, shown as % change.",
               f"Where a counting-rule change (series break) falls between {y1} and {y3}, the two years are not "
               "counted alike, so no change, interval or test is given (\u201cnot comparable\u201d); read the trend "
               "column, which fits the break as a step and separates the two."]))
    chart = ct[(ct["category"] != "Other crime") & comparable].copy()
    left_out = list(ct.loc[~comparable, "category"])
    out_note = (f" {and_list(left_out)} {_plural(len(left_out), 'is', 'are')} left out: "
                f"{_not_comparable(ct.loc[~comparable, 'change_break'].iloc[0])}." if left_out else "")
    sec.add(doc.figure(
        chart_bars(chart, label="category", value="pct_change", lower="ci_low", upper="ci_high", reference=0.0,
                   title=f"Change in police-recorded crime and ASB, {y1} to {y3}", xlabel=f"% change {y1} to {y3} (95% CI)"),
        f"Percentage change in police-recorded crime by type from {y1} to {y3}, with 95% confidence intervals."
        + out_note,
        alt=(f"Bar chart of the % change from {y1} to {y3} for {len(chart)} crime types. The largest rise is "
             f"{chart.iloc[chart['pct_change'].argmax()]['category']} ({chart['pct_change'].max():+.0f}%) and the largest "
             f"fall {chart.iloc[chart['pct_change'].argmin()]['category']} ({chart['pct_change'].min():+.0f}%)." + out_note),
    ))
    broken = tr[tr["break_months"] != ""]
    for name, r in zip(broken.index, broken.to_dict("records")):  # one per crime type with a break
        sec.add(callout(f"Series break in {name} from {r['break_months']}: "
                        f"{ev.crime_breaks(doc, name)[0].description} "
                        + wording.describe_break(r["break_months"].split(",")[0], r["step_pct"], p_value=r["step_p"]) + ".",
                        caveat=True))
    # wards, year 1 against year 3, on the current boundaries
    sec.add(HTMLPart('<h3 id="ward-change">Ward rates: first year against latest year</h3>'))
    versions = doc.workbench.registry.geographies["wards"]
    old_codes = set(versions[0].units["code"].astype(str)) if len(versions) > 1 else set()
    new = versions[-1]
    new_codes = set(new.units["code"].astype(str))
    names = ward_names_every_version(doc)
    retired = sorted(old_codes - new_codes)
    created = sorted(new_codes - old_codes)
    pol = police_on_current_wards(doc)
    moved = pol[(pol["year"] == y1) & pol["ward_now"].notna() & (pol["ward_code"].astype("string") != pol["ward_now"])]
    if len(versions) > 1:
        sec.add(callout(
            f"Ward boundaries changed on {pd.Timestamp(new.valid_from).date()} (boundary review): "
            f"{len(retired)} wards were abolished ({', '.join(names.get(c, c) for c in retired) or 'none'}) and "
            f"{len(created)} created ({', '.join(names.get(c, c) for c in created) or 'none'}). So that {y1} and {y3} are "
            f"comparable, every crime with map coordinates has been re-assigned exactly from its map point to the current "
            f"wards; {len(moved):,} crimes of {y1} fall in a different ward code than the one in force when they "
            "were recorded. Crimes without coordinates cannot be placed in a ward and are left out of ward rates.",
            caveat=True))
    wc = _ward_change(doc)
    classes = _change_classes(wc["pct_change"])
    present = [lab for _, lab in CHANGE_CLASSES if (classes["label"] == lab).any()]
    sec.add(doc.map(
        map_choropleth(wc.assign(change_class=classes["code"].to_numpy(), change=wc["pct_change"].round(1)),
                       "change_class", name_column="name", class_labels=present,
                       legend=f"Change in crimes {y1} to {y3}",
                       tooltip_columns={"change": "% change", "count_1": f"Crimes {y1}",
                                        "count_3": f"Crimes {y3}"}, offline=doc.offline),
        f"Change in crimes by ward, {y1} to {y3} (current ward boundaries), in classes centred on zero: "
        + ", ".join(present) + ". Falls are the lighter shades and rises the darker; the legend names each class "
        "in percentage change",
        alt=(f"Choropleth map of {len(wc)} wards shaded by the class of change in crimes from {y1} to {y3}: "
             + "; ".join(f"{lab}: {k} {_plural(k, 'ward', 'wards')}" for lab, k in
                         ((lab, int((classes["label"] == lab).sum())) for lab in present))
             + f". The largest rise is {wc.iloc[0]['name']} ({wc.iloc[0]['pct_change']:+.0f}%), the largest fall "
             f"{wc.iloc[-1]['name']} ({wc.iloc[-1]['pct_change']:+.0f}%).")))
    verdict = wording.verdict_change_family(wc)  # FDR-adjusted across the wards
    up, down = wc[verdict == "rose"], wc[verdict == "fell"]
    sec.add(f"Between {y1} and {y3}, crime rose significantly in {len(up)} wards"
            + (f" ({', '.join(up['name'])})" if len(up) else "") + f" and fell significantly in {len(down)}"
            + (f" ({', '.join(down['name'])})" if len(down) else "") + "; in the rest the change is within normal variation.")
    sec.add(doc.table(
        wc[["code", "name", "population", "count_1", "count_3", "rate_1", "rate_3", "pct_change", "ci_low", "ci_high",
            "p_value", "p_adjusted", "sentence"]].rename(columns={
            "code": "ward code", "name": "ward", "population": "residents", "count_1": f"crimes {y1}",
            "count_3": f"crimes {y3}", "rate_1": f"per 1,000 {y1}", "rate_3": f"per 1,000 {y3}",
            "pct_change": "change (%)", "ci_low": "95% CI low (%)", "ci_high": "95% CI high (%)",
            "p_value": "p (exact test)", "p_adjusted": "adjusted p", "sentence": "in words"}),
        f"Crimes (excluding ASB) per 1,000 residents by current ward, {y1} and {y3}",
        decimals={"residents": 0, f"per 1,000 {y1}": 1, f"per 1,000 {y3}": 1, "change (%)": 1, "95% CI low (%)": 1,
                  "95% CI high (%)": 1, "p (exact test)": 3, "adjusted p": 3},
        notes=["Adjusted p: Benjamini-Hochberg false discovery rate across the wards; only an adjusted p below 0.05 "
               "is called a significant rise or fall.",
               ev.ward_dispersion_note(wc["dispersion"], f"{y1} and {y3}",
                                       "The exact test and interval are those of each ward's counts divided by"),
               "Exact re-aggregation from map points to the current wards. Residents: current small-area estimates "
               "apportioned to wards by population, used for both years (population change over two years is small "
               "beside the changes shown)."]))
    return sec


_DESIGN_SOURCE = {"declared": "declared in the data catalogue", "estimated": "estimated from the sampling points",
                  "assumed": "assumed: the catalogue gives no design effect or sampling point"}


def _design_words(design: pd.Series) -> tuple[str, bool]:
    """Which design effect the survey's intervals allow for and where it came from, and whether
    that is a caveat (clustering assumed away)."""
    d = float(design["design_effect"])
    weighted = bool(design.get("weighted", False))
    k = float(design.get("weighting_effect", 1.0))
    weights = (f" The shares are weighted with the survey's own weights; unequal weights alone make a share vary "
               f"{k:.2f} times as much as equal ones would (Kish's weighting effect across the partnership), and "
               "each ward's interval allows for the weighting effect of its own answers." if weighted else "")
    if design["source"] == "declared":
        return (f"The intervals allow for the survey's design effect of {d:.2f}, declared in the data catalogue: a "
                f"share from this survey varies {d:.2f} times as much as one from a simple random sample of the same "
                f"size, so each interval is that of its n divided by {d:.2f}."
                + (" The shares are weighted with the survey's own weights, which the declared design effect "
                   "already allows for." if weighted else ""), False)
    if design["source"] == "estimated":
        alike = (f"answers at the same point are alike (intra-cluster correlation {design['icc']:.2f}, about "
                 f"{design['cluster_size']:.1f} answers a point), so a share varies {d:.2f} times as much as one "
                 f"from a simple random sample of the same size (Kish 1965)" if d > 1 else
                 f"answers at the same point are no more alike than others in their ward (intra-cluster correlation "
                 f"{design['icc']:.2f}), so the intervals are those of a simple random sample"
                 + (" apart from the weights" if weighted else ""))
        return (f"The intervals allow for a design effect of {d:.2f}, estimated from the answers' "
                f"{int(design['n_clusters']):,} sampling points: {alike}." + weights, False)
    if weighted:
        return ("The intervals allow for the survey's weights but not for clustering: the data catalogue gives this "
                "survey no design effect and no sampling point." + weights + " Surveys that recruit residents in "
                "clusters (sampling points, streets, households) give shares that vary more still, so these intervals "
                "may be too narrow and a ward may be named as different by chance. Declaring the survey's design "
                "effect in the catalogue, or giving each answer's sampling point, allows for it.", True)
    return ("The intervals treat the answers as a simple random sample (design effect assumed 1): the data catalogue "
            "gives this survey no design effect and no sampling point. Surveys that recruit residents in clusters "
            "(sampling points, streets, households) or weight their answers give shares that vary more than that, so "
            "these intervals may be too narrow and a ward may be named as different by chance. Declaring the "
            "survey's design effect in the catalogue, giving each answer's sampling point, or mapping the survey's "
            "weight column allows for it.", True)


def _concerns_design_note(con: dict) -> str:
    """What the top concerns' intervals allow for: the weights and the survey's design effect, as computed."""
    design = con["design"]
    declared = bool(design["weights_in_design_effect"])
    d = float(design["design_effect"])
    text = ""
    if design["weighted"]:
        text += " Shares are weighted with the survey's weights; the residents naming each concern are counted " \
                "unweighted"
        text += ("; the declared design effect already allows for the weights." if declared else
                 f", and the intervals allow for the weighting effect "
                 f"({float(con['top']['weighting_effect'].iloc[0]):.2f}, over all respondents).")
    if d > 1:
        where = ("declared in the data catalogue" if declared else
                 "estimated from the sampling points of the feel-safe question, which stands for every question")
        text += f" The intervals allow for the survey's design effect of {d:.2f} ({where})."
    return text


def section_consultation(doc: Document) -> Section:
    """Consultation results: response counts, feeling safe by ward, top concerns and comments."""
    sec = Section("Consultation: what residents told us")
    con = _consultation(doc)
    if con is None:
        sec.add(callout("No residents' survey was available to this audit.", caveat=True))
        return sec
    sens = _survey_sensitivity(doc)
    survey_key = ev.role_dataset(doc, SURVEY_ROLE)
    title = doc.catalogue.datasets[survey_key].title if survey_key else "the survey"
    counts = con["counts"]
    total = int(counts.loc[counts["is_overall"], "n"].iloc[0])
    small = con["safe"][con["safe"]["unreliable"]]
    sec.add(f"{total:,} residents answered {title}. Every share below shows n, the number of residents behind it, "
            f"and a 95% Wilson confidence interval. Wards with fewer than {MIN_RELIABLE_N} respondents are flagged as "
            "unreliable: their intervals are wide and they are not compared with the partnership.")
    rc = counts.assign(reliable=np.where(counts["is_overall"], "", np.where(counts["n"] < MIN_RELIABLE_N,
                                                                             f"unreliable (n < {MIN_RELIABLE_N})", "")),
                       share=100 * counts["share"])
    rc = rc[["ward", "ward_name", "n", "share", "reliable"]].rename(columns={
        "ward": "ward code", "ward_name": "ward", "n": "respondents (n)", "share": "share of all respondents (%)",
        "reliable": "reliability"})
    rc.loc[rc["ward code"] == "Partnership", "ward code"] = ""
    sec.add(doc.table(rc, "Survey respondents by ward (n always shown)", sensitivity=sens,
                      decimals={"share of all respondents (%)": 1},
                      notes=["Respondent numbers count people who gave their views, not victims or events, so they are "
                             "always shown. Survey ward codes of either boundary version are named; a code of an "
                             "abolished ward is shown with the boundaries it belongs to."]))
    # feeling safe after dark
    sec.add(HTMLPart('<h3 id="feeling-safe">Feeling safe after dark</h3>'))
    safe = con["safe"].copy()
    overall = safe[safe["is_overall"]].iloc[0]
    sec.add(f"Across the partnership {overall['proportion']:.0%} of residents feel very or fairly safe after dark "
            f"(95% CI {overall['ci_low']:.0%} to {overall['ci_high']:.0%}; n = {int(overall['n']):,}).")
    design_text, caveat = _design_words(con["design"])
    sec.add(callout(design_text, caveat=True) if caveat else paragraph(design_text, css="table-note"))
    safe["compared"] = np.where(safe["unreliable"], "not compared (unreliable)",
                                safe["vs_overall"].replace({"higher": "higher than the partnership",
                                                            "lower": "lower than the partnership",
                                                            "similar": "similar to the partnership"}))
    cols = ["ward_name", "ward", "n", "n_safe", "proportion", "ci_low", "ci_high", "compared"]
    view = safe[cols].copy()
    view[["proportion", "ci_low", "ci_high"]] = 100 * view[["proportion", "ci_low", "ci_high"]]
    view = view.rename(columns={"ward": "ward code", "ward_name": "ward", "n": "n (answered)",
                                "n_safe": "feel safe", "proportion": "feel safe (%)", "ci_low": "95% CI low (%)",
                                "ci_high": "95% CI high (%)", "compared": "compared with the partnership"})
    body = view[~safe["is_overall"].to_numpy()]
    tot = view[safe["is_overall"].to_numpy()].iloc[0].copy()
    tot["ward"] = "All respondents"
    tot["ward code"] = ""
    tot["compared with the partnership"] = ""
    published, footnote = _controlled(doc, body, "feel safe", ["feel safe (%)", "95% CI low (%)", "95% CI high (%)"],
                                      sens, total=tot)
    sec.add(doc.table(published, "Residents who feel safe after dark, by ward, with Wilson 95% intervals",
                      sensitivity=sens, decimals={"feel safe (%)": 1, "95% CI low (%)": 1, "95% CI high (%)": 1},
                      notes=[n for n in [footnote, "Very or fairly safe, out of everyone who answered the question. Wilson "
                             "score interval (Wilson 1927). 'Higher' or 'lower' only when the ward's interval lies wholly "
                             f"above or below the partnership figure. Wards with n < {MIN_RELIABLE_N} are not compared.",
                             f"Design effect {float(con['design']['design_effect']):.2f} "
                             f"({_DESIGN_SOURCE[con['design']['source']]})"
                             + (f"; shares weighted, weighting effect {float(con['design']['weighting_effect']):.2f} "
                                "across the partnership" + ("" if con["design"]["source"] == "declared" else
                                                            ", allowed for ward by ward")
                                + "; 'feel safe' counts people, unweighted"
                                if con["design"]["weighted"] else "") + "."] if n]))
    ok = pd.to_numeric(published["feel safe (%)"], errors="coerce").notna().to_numpy()[:-1]
    chart = body[ok].copy()
    chart["label"] = chart["ward"] + " (n = " + chart["n (answered)"].astype(int).astype(str) + ")"
    flagged = list(chart.loc[safe.loc[~safe["is_overall"], "unreliable"].to_numpy()[ok], "label"])
    fig = chart_bars(chart, label="label", value="feel safe (%)", lower="95% CI low (%)", upper="95% CI high (%)",
                     reference=100 * float(overall["proportion"]), reference_label="partnership",
                     title="Residents who feel safe after dark", xlabel="% very or fairly safe (95% Wilson CI)")
    _grey_bars(fig, flagged)
    sec.add(doc.figure(
        fig,
        "Share of residents feeling safe after dark by ward, with 95% Wilson intervals; wards with too few "
        f"respondents to be reliable (n < {MIN_RELIABLE_N}) are shown in grey",
        alt=(f"Bar chart of {len(chart)} wards: the share feeling safe after dark ranges from "
             f"{chart['feel safe (%)'].min():.0f}% to {chart['feel safe (%)'].max():.0f}% against "
             f"{100 * overall['proportion']:.0f}% for the partnership. "
             + (f"Shown in grey as unreliable (n < {MIN_RELIABLE_N}): {', '.join(flagged)}." if flagged else ""))))
    if len(small):
        sec.add(callout(f"Unreliable: {', '.join(f'{w} (n = {int(n)})' for w, n in zip(small['ward_name'], small['n']))} "
                        f"had fewer than {MIN_RELIABLE_N} respondents. Read their figures as indications only.",
                        caveat=True))
    # concerns
    sec.add(HTMLPart('<h3 id="top-concerns">Top concerns</h3>'))
    top = con["top"].copy()
    top[["share", "ci_low", "ci_high"]] = 100 * top[["share", "ci_low", "ci_high"]]
    top_t = top[["rank", "concern", "n_naming", "n", "share", "ci_low", "ci_high"]].rename(columns={
        "n_naming": "residents naming it", "n": "n (respondents)", "share": "share (%)", "ci_low": "95% CI low (%)",
        "ci_high": "95% CI high (%)"})
    pub, fn = _controlled(doc, top_t[["concern", "rank", "residents naming it", "n (respondents)", "share (%)",
                                      "95% CI low (%)", "95% CI high (%)"]],
                          "residents naming it", ["share (%)", "95% CI low (%)", "95% CI high (%)"], sens)
    sec.add(doc.table(pub, "Concerns residents named among their top three", sensitivity=sens,
                      decimals={"share (%)": 1, "95% CI low (%)": 1, "95% CI high (%)": 1},
                      notes=[x for x in [fn, "Each resident could name up to three concerns, so shares add up to more "
                                             "than 100%."
                                             + _concerns_design_note(con)] if x]))
    sv = _survey(doc)
    if survey_key and sv is not None and len(sv) and len(top):
        # the table counts people, so the five most named by count (the same five as by share without weights)
        five = list(top.sort_values(["n_naming", "concern"], ascending=[False, True], kind="stable")["concern"].head(5))
        by_ward = survey.survey_concerns_by_ward(sv, concerns=five, by="concern",
                                                 ward_col="area_code" if "area_code" in sv.columns else None)
        by_ward.insert(1, "ward name", by_ward["ward"].map(ward_names_every_version(doc)).fillna(""))
        sec.add(doc.table(by_ward.rename(columns={"ward": "ward code"}),
                          "Residents naming each of the five most named concerns, by ward", sensitivity=sens,
                          count_columns=five, dataset=survey_key, dimensions=("ward", "concern"), max_rows=None,
                          notes=["Counts of residents (survey respondents). A resident naming two of these concerns is "
                                 "counted in both columns, so the Total column counts mentions, not people."]))
    # comments
    sec.add(HTMLPart('<h3 id="comments">Comments</h3>'))
    com = con["comments"].copy()
    n_com = int(com["n"].iloc[0])
    sec.add(f"{n_com:,} of {total:,} respondents wrote a comment. Comments were counted by theme with a published "
            "keyword dictionary; a comment can mention several themes, and those that match none are counted as "
            "uncategorised so that nothing is lost. Comments were screened before publication: any comment holding "
            "personal details such as an e-mail address or telephone number is counted in the themes but never "
            "quoted. Quoted comments are shown as text exactly as written, even when they contain web code.")
    _write_screened_comments(doc, con["held"])
    com[["share", "ci_low", "ci_high"]] = 100 * com[["share", "ci_low", "ci_high"]]
    ct = com[["label", "n_comments", "n", "share", "ci_low", "ci_high"]].rename(columns={
        "label": "theme", "n_comments": "comments", "n": "n (commenters)", "share": "share (%)",
        "ci_low": "95% CI low (%)", "ci_high": "95% CI high (%)"})
    pub, fn = _controlled(doc, ct, "comments", ["share (%)", "95% CI low (%)", "95% CI high (%)"], sens)
    sec.add(doc.table(pub, "Free-text comments by theme", sensitivity=sens,
                      decimals={"share (%)": 1, "95% CI low (%)": 1, "95% CI high (%)": 1},
                      notes=[x for x in [fn, "Themes: the keyword dictionary shipped with the workbench (see the appendix)."] if x]))
    if con["samples"]:
        sec.add(paragraph("Example comments, one from each of the most common themes, as residents wrote them:"))
        sec.add(_quoted_comments(con["samples"]))
    return sec


def _quoted_comments(samples: list[tuple[str, str]]) -> HTMLPart:
    """Residents' comments as a list; every comment is escaped (shown as text, never as markup)."""
    return bullet_list([f"{label}: \u201c{text}\u201d" for label, text in samples])


def _write_screened_comments(doc: Document, held: pd.DataFrame) -> None:
    """The comments held back from quotation, for the analyst only (restricted folder, never the partner page)."""
    path = _analyst_file(doc, "comments-screened.csv")
    write_csv(held, path)


def section_concerns_vs_data(doc: Document) -> Section:
    """Residents' concerns set against what the data shows, theme by theme."""
    sec = Section("Residents' concerns against the data")
    cvd = _concerns_vs_data(doc)
    if cvd is None:
        sec.add(callout("No residents' survey was available, so concerns cannot be compared with the data.", caveat=True))
        return sec
    t = f"{CONCERN_THRESHOLD:.0%}"
    sec.add("Each survey concern is mapped to a partnership theme (the mapping is in the appendix). Two shares are "
            "shown and labelled: the theme-level share, the respondents who named at least one concern in the theme "
            "(for anti-social behaviour: anti-social behaviour, noise or begging), and the single-concern share of each "
            "survey option on its own (the measure the strategic assessment quotes). The classification uses the "
            f"theme-level share with a stated threshold: a theme is a residents' concern when {t} or more of "
            f"respondents named a concern in it, and \u201cnamed by fewer than {t}\u201d otherwise. It is a data "
            "problem when its recorded volume in the latest 12 months ranks in the top third of themes or it is "
            "rising significantly.")
    shown = cvd.copy()
    shown["concern_share"] = 100 * shown["concern_share"]
    shown = shown[["label", "survey concerns", "concern_share", "single concern shares", "n", "volume", "volume_rank",
                   "trend_pct", "trend_p", "source", "finding"]].rename(columns={
        "label": "theme", "concern_share": "named any concern in this theme (%)",
        "single concern shares": "single-concern share (each option on its own)", "n": "n (respondents)",
        "volume": "recorded, latest 12 months", "volume_rank": "volume rank", "trend_pct": "trend (% a year)",
        "trend_p": "p (trend)", "source": "data source", "finding": f"finding (concern threshold {t})"})
    sec.add(doc.table(shown, "Residents' concerns against recorded volume and trend, by theme",
                      decimals={"named any concern in this theme (%)": 1, "trend (% a year)": 1, "p (trend)": 3,
                                "recorded, latest 12 months": 0},
                      notes=["Theme-level share: a respondent naming two concerns of one theme is counted once for it, so "
                             "it is at least as large as any single-concern share in the theme. Trends allow for season "
                             "and model counting-rule changes as steps.",
                             f"Concern threshold: {t} of respondents (one in five), a convention (Home Office 2007)."]))
    groups = [("concern matches data", f"Residents' concerns (named by {t} or more) that the data confirm"),
              ("concern higher than data suggests",
               f"Residents' concerns (named by {t} or more) higher than the data suggest (a reassurance issue)"),
              ("data shows a problem residents did not raise",
               f"Problems in the data named by fewer than {t} of respondents (below the concern threshold)"),
              ("neither a strong concern nor a data priority", f"Named by fewer than {t} and not a data problem"),
              ("no data for this concern", "Concerns no dataset here records (an intelligence gap)"),
              ("no survey data for this issue", "Issues residents were not asked about")]
    for cls, heading in groups:
        sub = cvd[cvd["classification"] == cls]
        if len(sub):
            sec.add(paragraph(heading + ":"))
            sec.add(bullet_list(list(sub["sentence"])))
    return sec


def section_provision(doc: Document) -> Section:
    """Existing provision from the services register, and the gaps against the priority themes."""
    sec = Section("Existing provision and gaps")
    services, gaps = _provision(doc)
    run = doc.run_date
    if services.empty:
        sec.add(callout("The catalogue has no services register, so provision cannot be assessed.", caveat=True))
        return sec
    sec.add(f"The services register in the data catalogue lists {len(services)} services. Funding status is judged "
            f"against the date this document was produced, {run.isoformat()} (the run date, not the edition year "
            f"{doc.edition}): funding that ended before that date has ended, and funding ending within 12 months of "
            "it is flagged.")
    sec.add(doc.table(services.drop(columns="theme_keys"), "Services register: provision and funding"))
    ended = services[services["funding"] == "funding ended"]
    ending = services[services["funding"] == "funding ends within 12 months"]
    unknown = services[services["funding"] == "no end date recorded"]
    items = []
    if len(ended):
        items.append("Funding already ended: " + "; ".join(f"{s} (to {d})" for s, d in zip(ended["service"], ended["funded to"])) + ".")
    if len(ending):
        items.append("Funding ends within the next 12 months: " + "; ".join(
            f"{s} (to {d})" for s, d in zip(ending["service"], ending["funded to"])) + ".")
    if len(unknown):
        items.append("No funding end date recorded (ask the provider): " + ", ".join(unknown["service"]) + ".")
    sec.add(bullet_list(items))
    sec.add(HTMLPart('<h3 id="gaps">Priority themes and their cover</h3>'))
    sec.add(doc.table(gaps.drop(columns="theme_key").replace({"gap": {"": "covered"}}),
                      "Priority themes (from the evidence and the consultation) against the services in place"))
    g = gaps[gaps["gap"] != ""]
    if len(g):
        sec.add(callout("Gaps: " + "; ".join(f"{t}: {x}" for t, x in zip(g["theme"], g["gap"])) + ".", caveat=True))
    else:
        sec.add("Every priority theme has at least one service whose funding continues.")
    return sec


def section_strategy_options(doc: Document) -> Section:
    """Strategy options for each candidate issue, with the evidence behind them."""
    sec = Section("Strategy options")
    opts = _strategy_options(doc)
    sec.add("Candidate issues are the recommended priorities from the prioritisation matrix (volume, trend, harm, "
            "repeat locations, residents' concern and capacity) and the next highest-ranked issues. For each, the "
            "options follow from the evidence: whether it is ranked high, has a hotspot, what residents said and "
            "whether a service is in place. The partnership chooses; the audit shows the evidence for each choice.")
    table = opts.assign(options=opts["options"].map(" | ".join))[["rank", "issue", "score", "options", "residents", "evidence"]]
    sec.add(doc.table(table.rename(columns={"score": "score (0-4)", "residents": "what residents said"}),
                      "Candidate issues, options and evidence", decimals={"score (0-4)": 2}))
    for r in opts.to_dict("records"):  # a handful of candidate issues
        sec.add(HTMLPart(f"<h4>{escape(r['issue'])} (rank {int(r['rank'])})</h4>"))
        sec.add(bullet_list(list(r["options"])))
        sec.add(paragraph(f"Evidence: {r['evidence']} Residents: {r['residents']}.", css="table-note"))
    return sec


def section_previous_strategy(doc: Document) -> Section:
    """Review of the previous strategy: a SMART check of every target and progress where measurable."""
    strategy = strategy_document(doc)
    sec = Section("Review of the previous strategy")
    check = smart_targets(doc)
    if check is None:
        sec.add(callout("The previous strategy has no targets in the catalogue.", caveat=True))
        return sec
    pri = {p.get("id"): p.get("title") for p in strategy.get("priorities", [])}
    sec.add(f"{strategy.get('title', 'The previous strategy')} set {len(pri)} priorities and {len(check)} targets. "
            f"Each target was checked for the {len(SMART_ITEMS)} items that make up the five SMART criteria: a named "
            "metric (specific), a baseline (measurable), a direction and a size of change (together, achievable), a "
            "date (time-bound) and an owner (responsible).")
    shown = check[["id", "priority", "text", "verdict", "missing", "vague_verbs"]].copy()
    n_missing = shown["missing"].astype(str).str.split(",").map(lambda x: len([i for i in x if i.strip()]))
    shown.insert(4, "items present", len(SMART_ITEMS) - n_missing)
    shown.insert(5, "criteria met", check["n_criteria_met"].astype(int))
    shown["priority"] = shown["priority"].map(lambda p: f"{p}: {pri[p]}" if p in pri else p)
    shown["missing"] = shown["missing"].replace("", "nothing")
    sec.add(doc.table(shown.rename(columns={"text": "target", "verdict": "SMART verdict",
                                            "items present": f"items present (of {len(SMART_ITEMS)})",
                                            "criteria met": "SMART criteria met (of 5)",
                                            "missing": "what is missing", "vague_verbs": "vague wording"}),
                      "SMART check of every target of the previous strategy",
                      notes=[f"{len(SMART_ITEMS)} items are checked, in the order {', '.join(SMART_ITEMS)}; they make "
                             "up the five SMART criteria (achievable needs both a direction and a size). The verdict "
                             "counts criteria: SMART when all five are met, partly SMART when two to four are. Vague "
                             f"verbs checked: {', '.join(smart.VAGUE_VERBS)}."]))
    vague = _vague(check)
    if len(vague):
        lines = []
        for r in vague.to_dict("records"):  # the strategy's handful of vague targets
            if r["vague_verbs"]:
                why = [f"vague wording (\u201c{r['vague_verbs']}\u201d)", f"missing {r['missing']}"]
            else:
                why = [r["reason"], f"every item missing: {r['missing']}"]
            lines.append(f"{r['id']} \u201c{r['text']}\u201d: " + "; ".join(why) + ".")
        sec.add(callout(_unmeasurable_sentence(check) + " Vague wording is the count the strategic assessment "
                        "gives; a target without a metric or baseline cannot be measured either.", caveat=True))
        sec.add(bullet_list(lines))
    sec.add(HTMLPart('<h3 id="target-progress">Progress on measurable targets</h3>'))
    prog = _progress(doc)
    if prog.empty:
        sec.add("No target names a crime type or incident type recorded in the data, so progress cannot be computed.")
        return sec
    years = complete_year_labels(doc)
    if not years:
        sec.add("The data hold no complete year, so progress against the targets cannot be measured yet.")
        return sec
    sens_rank = {"public": 0, "official": 1, "sensitive": 2, "personal": 3}
    sens = max((doc.catalogue.datasets[k].sensitivity for k in prog["dataset"]), key=sens_rank.get)
    table = prog.drop(columns="dataset")
    notes = ["Counts per complete year from the recorded data, in the target's ward where it names one (re-assigned "
             "exactly to the current ward boundaries). Baselines are as the strategy states them; the baseline year "
             "lies before this audit's data, so the baselines cannot be checked here."]
    if sens != "public":
        from ..disclosure import suppress_table

        res = suppress_table(table, years, doc.threshold, sens, margins="none")
        if res.mask.to_numpy().any():
            table = table.copy()
            for y in years:
                table[y] = res.display[y].to_numpy()
        if res.footnote:
            notes.append(res.footnote)
    sec.add(doc.table(table, "Previous strategy targets: recorded counts by year and progress against the target",
                      sensitivity=sens, decimals={"baseline": 0, "target level": 0, "change from baseline (%)": 1},
                      notes=notes))
    items = []
    for r in prog.to_dict("records"):  # a handful of measurable targets
        latest = int(r[years[-1]])
        base = f"against a baseline of {r['baseline']:,.0f} in {r['baseline year']}" if pd.notna(r["baseline"]) else "with no baseline"
        sensitive = doc.catalogue.datasets[r["dataset"]].sensitivity != "public" and latest < doc.threshold
        count = "fewer than the publication threshold" if sensitive else f"{latest:,}"
        items.append(f"{r['id']} ({r['measured as']}): {count} in {years[-1]} {base}; {r['status']}."
                     + (f" Caution: {r['caveat']}." if r["caveat"] else ""))  # the caveat names any wider measure
    sec.add(bullet_list(items))
    unmeasured = check[~check["id"].isin(prog["id"])]
    if len(unmeasured):
        sec.add(paragraph("Targets whose progress cannot be computed from the data: " + "; ".join(
            f"{i} ({t})" for i, t in zip(unmeasured["id"], unmeasured["text"])) + "."))
    return sec


def section_public_summary(doc: Document) -> Section:
    """A plain-language summary for public consultation; every number is computed."""
    if _too_short(doc):
        sec = Section("Summary for residents")
        sec.add(_too_short(doc))
        return sec
    years = complete_year_labels(doc)
    y1, y3 = years[0], years[-1]
    n1, n3 = _yname(doc, y1), _yname(doc, y3)
    name = doc.catalogue.partnership.short_name
    annual = _annual_by(doc, "category")
    crime = annual.drop(index=[ev.ASB], errors="ignore").sum()
    rr = _change_total(doc)

    def plain(pct: float, p: float) -> str:
        if p >= 0.05:
            return "about the same. The small difference could be down to chance"
        return f"{'up' if pct > 0 else 'down'} by about {abs(pct):.0f} in every 100"

    sec = Section("Summary for residents")
    sec.add(f"This is a short version of the {name} crime and disorder audit. It is for everyone who lives or works "
            f"in {name}. We want to know what you think.")
    points = [f"In {n3} the police recorded {int(crime[y3]):,} crimes. In {n1} they recorded {int(crime[y1]):,}. "
              f"That is {plain(rr['pct_change'], rr['p_value'])}."]
    tr = ev.evidence_category_trends(doc).set_index("category")
    plain_types = tr[(tr["break_months"] == "") & (tr.index != "Other crime")]
    falling = plain_types[(plain_types["trend_q"] < 0.05) & (plain_types["trend_pct"] < 0)]  # FDR-adjusted
    rising = plain_types[(plain_types["trend_q"] < 0.05) & (plain_types["trend_pct"] > 0)]
    for cat, r in zip(falling.index, falling.to_dict("records")):  # a few crime types
        points.append(f"{cat} is going down. It fell by about {abs(r['trend_pct']):.0f} in every 100 each year.")
    for cat, r in zip(rising.index, rising.to_dict("records")):
        points.append(f"{cat} is going up. It rose by about {abs(r['trend_pct']):.0f} in every 100 each year.")
    con = _consultation(doc)
    if con is not None:
        o = con["safe"][con["safe"]["is_overall"]].iloc[0]
        k = int(round(10 * o["proportion"]))
        points.append(f"{int(o['n_respondents']):,} people answered our survey. About {k} in 10 feel safe "
                      "outside after dark.")
        top3 = list(con["top"]["concern"].head(3))
        points.append("The things people worry about most are " + and_list([t.lower() for t in top3]) + ".")
        low = con["safe"][survey.survey_named_wards(con["safe"], "lower", MIN_RELIABLE_N)]
        if len(low):
            points.append("People feel less safe in " + and_list(list(low["ward_name"])) + ".")
    sec.add(HTMLPart('<div class="callout plain-language" role="note"><p><strong>The main points</strong></p>'
                     + bullet_list(points)._repr_html_() + "</div>"))
    rec = ev.evidence_recommended(doc)
    heads = ev.evidence_hotspot_headlines(doc).set_index("category")
    plans = []
    for issue, reason in zip(rec["issue"], rec["reason"]):  # a handful of issues
        h = heads.loc[issue] if issue in heads.index else None
        if reason == "emerging hotspot" or (h is not None and int(h["emerging_cells"])):
            where = f" near {h['emerging_place']}" if h is not None and h["emerging_place"] else ""
            text = f"{issue}: there is a new problem area{where}."
        elif h is not None and int(h["hot_cells"]) and h["hot_place"]:
            text = f"{issue}: it is common, and worst near {h['hot_place']}."
        else:
            text = f"{issue}: it is common and causes harm."
        brk = _break_between(doc, [issue], y1, y3)
        if brk:
            text += (f" The police changed how they count it in {_month_words(brk)}. Numbers from before and "
                     "after that date are not comparable.")
        plans.append(text)
    sec.add(paragraph("We think the next plan should focus on:"))
    sec.add(bullet_list(plans))
    check = smart_targets(doc)
    if check is not None:
        vague = _vague(check)
        words = int((vague["reason"] == "vague wording").sum())
        other = len(vague) - words
        why = " and ".join(x for x in [f"{words} {_plural(words, 'was', 'were')} worded too vaguely" if words else "",
                                       f"{other} did not say what to count or give a starting figure" if other else ""] if x)
        sec.add(f"Our last plan had {len(check)} targets. We could not check {len(vague)} of them: {why}. "
                "The next plan will say what we will count, by how much it should change, by when, and who is in charge.")
    sec.add(callout("Tell us what you think. Do these match what you see where you live? Is anything missing?"))
    _write_plain_language_check(doc, points + plans)
    return sec


def _write_plain_language_check(doc: Document, texts: list[str]) -> None:
    """Sentence and word counts of the residents' summary: an analyst's note, kept out of the partner page."""
    sentences = [s for s in re.split(r"(?<=[.?!])\s+", " ".join(texts)) if s]
    words = [len(s.split()) for s in sentences]
    path = _analyst_file(doc, "plain-language-check.txt")
    path.write_text(f"Plain-language check of the Summary for residents ({doc.name}, produced {doc.run_date}):\n"
                    f"{len(sentences)} sentences, {np.mean(words):.0f} words each on average, the longest "
                    f"{max(words)} words. No statistical terms should appear; the full audit gives the tests behind "
                    "each statement.\n", encoding="utf-8")


def section_appendix(doc: Document) -> Section:
    """Appendix: methods, definitions, the concern mapping and the data sources; writes the Excel workbook."""
    sec = Section("Appendix: methods, definitions and data sources")
    methods = pd.DataFrame([
        ("Wilson score interval", "95% interval for a proportion p = k/n: (p + z²/2n ± z√(p(1-p)/n + z²/4n²)) / "
         "(1 + z²/n), z = 1.96. Wilson (1927), JASA 22, 209-212."),
        ("Test of two counts", "Change between two years: conditional on the total, the later count is binomial; "
         "exact two-sided test and Clopper-Pearson interval for the rate ratio (Breslow & Day 1987), applied to the "
         "counts divided by the monthly series' design effect (over-dispersion times an allowance for correlation "
         "between neighbouring months; Rao & Scott 1992)."),
        ("Trend net of season", "Quasi-Poisson regression of monthly counts on time and month of year (dispersion "
         "estimated from the series, never below Poisson), standard error widened for autocorrelation (Poisson "
         "variation around a latent AR(1) process, Zeger 1988, its lag-1 correlation estimated from all the themes "
         "together) and judged against a t distribution on the effective number of months (Santer et al. 2000) or "
         "on the Satterthwaite (1946) degrees of freedom of the estimated variance, whichever are fewer; a "
         "counting-rule change enters as a step (segmented regression; Bernal et al. 2017)."),
        ("Many tests, one error rate", "Where every theme, crime type or ward is tested, the p-values are adjusted for "
         "the false discovery rate across that family (Benjamini & Hochberg 1995) and only an adjusted p below 0.05 "
         "is called significant; priority scores use the adjusted trend p-values. False-positive rates and power on "
         "simulated over-dispersed series are in the workbench's docs/VALIDATION.md."),
        ("Ward comparability", "Crimes re-assigned exactly from their map points to the current ward boundaries, so the "
         "first and last years are counted on the same wards."),
        ("Concerns against data", f"A theme is a residents' concern when {CONCERN_THRESHOLD:.0%} of respondents or more "
         "named at least one survey concern in it (the theme-level share); otherwise it is \u201cnamed by fewer than "
         f"{CONCERN_THRESHOLD:.0%}\u201d. Single-concern shares (each survey option on its own) are shown beside it. A "
         "data problem when its latest-year volume ranks in the top third of themes or it rises significantly "
         "(Home Office 2007)."),
        ("Counting-rule changes", "Where the catalogue records a series break between two compared years, the change "
         "between them is not tested and is reported as not comparable; the trend fits the break as a step."),
        ("SMART check", "Each target needs a metric, a baseline, a direction and size, a date and an owner; vague verbs "
         "are flagged (Doran 1981; Home Office 2007)."),
        ("Prioritisation", "Weighted scores 0-4 on volume, trend, harm, repeat locations, concern and capacity."),
        ("Comment themes", "A keyword dictionary shipped with the workbench, matched case-insensitively. Comments were "
         "screened before publication: those holding personal details are counted but not quoted; quoted comments are "
         "escaped, so web code in a comment shows as text."),
    ], columns=["method", "detail"])
    sec.add(doc.table(methods, "Methods"))
    defs = pd.DataFrame([
        ("Crime", "A crime recorded by the police and published on data.police.uk; anti-social behaviour is separate."),
        ("Feel safe", "Answered 'very safe' or 'fairly safe' to how safe they feel outside after dark."),
        ("n", "The number of people behind a figure."),
        ("Unreliable", f"A ward with fewer than {MIN_RELIABLE_N} respondents."),
        ("Significant", "A statistical test gives p < 0.05; otherwise the change is within normal variation."),
        ("Series break", "A change in counting rules; shown as a step, never as a trend."),
        ("[c]", "A count suppressed to protect individuals."),
    ], columns=["term", "meaning"])
    sec.add(doc.table(defs, "Definitions"))
    mapping = pd.DataFrame({"survey concern": list(SURVEY_CONCERN_THEMES),
                            "theme": [_theme_label(doc, t) for t in SURVEY_CONCERN_THEMES.values()]})
    cat_theme = ev.crime_category_map(doc)
    mapping["police crime type named"] = [SURVEY_CONCERN_CRIME_TYPES.get(k) or "none" for k in SURVEY_CONCERN_THEMES]
    mapping["police crime types in the theme"] = [", ".join(c for c, t in cat_theme.items() if t == th) or "none recorded"
                                                  for th in SURVEY_CONCERN_THEMES.values()]
    sec.add(doc.table(mapping, "Mapping of survey concerns to themes and police crime types"))
    used = [*ev.crime_datasets(doc), *(k for role in (SURVEY_ROLE, STRATEGY_ROLE, "fire_incidents", *_THEME_SOURCES.values())
                                       for k in doc.catalogue.datasets_with_role(role))]
    q = doc.workbench.intake.quality.set_index("dataset")
    rows = []
    for key in dict.fromkeys(used):  # the handful of datasets this audit draws on
        if key not in doc.catalogue.datasets:
            continue
        d = doc.catalogue.datasets[key]
        rows.append({"dataset": d.title, "agency": d.agency, "sensitivity": d.sensitivity,
                     "sharing basis": d.sharing.basis if d.sharing else "",
                     "permitted for audit": "yes" if d.sharing and "audit" in d.sharing.permitted_uses else "no",
                     "rows accepted": int(q.loc[key, "rows_accepted"]) if key in q.index else np.nan})
    sec.add(doc.table(pd.DataFrame(rows), "Data sources used in this audit"))
    sec.add(error_rates_table(doc))  # searches the text of every section shown before
    doc.write_workbook()
    sec.add(paragraph(f"All {len(doc.tables)} tables are also in tables/{doc.name}.xlsx.", css="table-note"))
    return sec
