"""Sections of the data-quality and information-sharing document.

Each ``section_*`` function takes the open :class:`~assessment.reporting.document.Document`
and returns a :class:`~assessment.reporting.display.Section`. Everything comes from the
workbench (``doc.workbench``): intake's quality accounting (``wb.intake.quality``,
``.quarantine``, ``.completeness``, ``.coverage``, ``.sharing``), the harmonised events,
the point-assignment report and the boundary registry. Nothing here names a particular
dataset: the datasets, their windows and caveats come from the catalogue.

Disclosure
----------
Row accounting (rows read, accepted and quarantined, per reason, per month) counts
records handled by intake, not people or incidents in a place, and is shown as in the
strategic assessment's data-sources table. Quarantined rows are shown row by row only
for datasets marked ``public`` or ``official``: rows of ``sensitive`` datasets could
reveal a small count, and rows of ``personal`` datasets (or any dataset declaring
identifiers) are never shown, even though their identifiers are already pseudonymised.
Monthly coverage of non-public datasets passes through disclosure control (zeros, the
gaps this document looks for, identify nobody and stay visible).

Names
-----
Partners see each dataset by its catalogue title; catalogue keys appear only in the
appendix's "catalogue key" column. Field names, kinds, formats and geographies are shown
in words (:data:`FIELD_LABELS` and friends), and long hashed identifiers are cut to their
first :data:`HASH_CHARS` characters.
"""

from __future__ import annotations

import datetime as dt
import re
import textwrap
import warnings

import numpy as np
import pandas as pd

from ..intake.dates import is_month_only
from ..intake.quality import REASONS
from ..reporting.accounting import (ACCOUNT_COLUMNS, SUPPRESSED_MARK, counted_once, dataset_sensitivities,
                                    quality_accounting_published, quality_accounting_totals, quality_by_dataset,
                                    quality_export_pairs, quarantine_published)
from ..reporting.charts import chart_heatmap
from ..reporting.display import Finding, HTMLPart, Section, bullet_list, callout, escape, paragraph
from ..reporting.document import ACCOUNTING_PROTECTED, Document, open_document
from ..reporting.prose import and_list, count_of
from ..reporting.errorrates import error_rates_table
from ..reporting.glossary import section_glossary
from ..reporting.keyfindings import key_findings_opening

__all__ = [
    "section_key_findings", "section_glossary",
    "open_document", "section_summary", "section_datasets", "section_quarantine", "section_coverage",
    "section_duplicates", "section_geography", "section_sharing_register", "section_caveats",
    "section_appendix", "quality_coverage_table", "quality_sharing_flags", "quality_export_pairs",
    "quality_coverage_summary", "quality_reason_counts", "quality_share", "quality_short_ids",
]

GAP = "gap"
EXPIRY_MONTHS = 6
EXAMPLE_ROWS = 5
_SENSITIVITY_ORDER = ("public", "official", "sensitive", "personal")
HASH_CHARS = 8
_HASH = re.compile(r"^[0-9a-fA-F]{17,}$")

#: What each quarantine reason means, in words for partners (one per :data:`REASONS`).
REASON_MEANINGS = {
    "malformed row": "The line could not be split into the columns its header names.",
    "date missing": "The row has no date.",
    "unparseable date": "The date is not in the format the catalogue declares for the dataset, or is impossible "
                        "(such as 31/02/2024).",
    "date outside the window": "An event or area count dated outside the assessment window (person-level histories "
                               "are kept whatever their date).",
    "coordinates invalid": "Coordinates are present but unusable: not numbers, (0, 0), out of range, or off the "
                           "British grid (for example longitude and latitude swapped).",
    "coordinates not finite": "Coordinates written as nan or infinity: a broken export, not a row without a location.",
    "coordinates missing": "No coordinates, for a dataset whose catalogue entry requires them, or in a file that "
                           "covers a whole police force area shared with other partnerships (the row cannot be "
                           "placed in this partnership, so it is in none of its totals).",
    "coordinates outside the partnership": "The point lies farther outside the partnership boundary than the "
                                           "distance the catalogue allows for the dataset.",
    "unknown category": "The category is empty or is not listed in the dataset's category mapping.",
    "area code missing": "An aggregated row with no area code, so it cannot be placed.",
    "invalid count": "An aggregated row whose count is not a whole number of at least zero.",
    "invalid weight": "A survey answer whose weight (the column the catalogue maps to weight) is empty or not a "
                      "positive number, so it cannot count towards a weighted share.",
    "duplicate": "A later exact copy of a whole source row (the first copy is kept).",
}
#: What intake flags but keeps.
FLAG_MEANINGS = {
    "not geocoded": "A point event without coordinates, in a file that covers only the partnership's area. It "
                    "still counts in monthly totals (normal in data.police.uk, where some crimes have no "
                    "location) but cannot be mapped.",
    "shared record reference": "An event reference carried by several accepted rows (data.police.uk repeats a "
                               "Crime ID on legitimately different rows).",
    "repeat report": "A later report of the same incident, close in time and place within the window the catalogue "
                     "sets for the dataset; kept, and left out of counts of incidents.",
}
FIELD_LABELS = {
    "event_id": "record reference", "date": "date", "category": "category", "location": "location",
    "area_code": "area code", "outcome": "outcome", "x": "x coordinate", "y": "y coordinate", "period": "period",
    "count": "count", "person_id": "person identifier", "date_of_birth": "date of birth", "role": "role",
    "crime_ref": "crime reference", "premises_id": "premises reference", "name": "name", "postcode": "postcode",
    "late_night": "late-night licence", "closing_time": "closing time", "respondent_id": "respondent reference",
    "comment": "comment", "property_type": "property type", "safe_after_dark": "feels safe after dark",
}
KIND_LABELS = {"events": "events", "area_counts": "area counts", "table": "table", "premises": "premises",
               "persons": "person-level records", "survey": "survey responses", "document": "document"}
FORMAT_LABELS = {"police_uk_street": "data.police.uk street file", "police_uk_outcomes": "data.police.uk outcomes file",
                 "csv": "CSV", "xlsx": "Excel workbook", "yaml": "YAML"}
GEOGRAPHY_LABELS = {"small_areas": "small areas", "wards": "wards", "neighbourhoods": "police neighbourhoods"}
_DATE_CODES = (("%Y", "yyyy"), ("%m", "mm"), ("%d", "dd"), ("%H", "hh"), ("%M", "mm"), ("%S", "ss"))


def _words(value: str, labels: dict[str, str] | None = None) -> str:
    """A code-style name in words: from ``labels`` when listed, else underscores as spaces."""
    value = str(value)
    return (labels or {}).get(value, value.replace("_", " "))


def _date_format(fmt: str | None) -> str:
    """A strftime pattern as partners write it ('%d/%m/%Y %H:%M' -> 'dd/mm/yyyy hh:mm'); '' when none."""
    if not fmt:
        return ""
    if fmt == "iso":
        return "ISO 8601 (yyyy-mm-dd hh:mm:ss)"
    for code, word in _DATE_CODES:
        fmt = fmt.replace(code, word)
    return fmt


def _titles(doc: Document) -> dict[str, str]:
    return {k: d.title for k, d in doc.catalogue.datasets.items()}


def _title(doc: Document, key: str) -> str:
    """The catalogue title of a dataset key (the key itself when the catalogue does not list it)."""
    return _titles(doc).get(str(key), str(key))


def _title_list(doc: Document, keys) -> str:
    return "; ".join(_title(doc, k) for k in keys)


def quality_share(part: float, whole: float) -> str:
    """``part / whole`` as a percentage for sentences: '<0.1%' and '>99.9%' rather than '0.0%' or '100.0%'.

    Returns 'n/a' when ``whole`` is 0 or missing.
    """
    if whole is None or pd.isna(whole) or float(whole) == 0 or part is None or pd.isna(part):
        return "n/a"
    x = float(part) / float(whole)
    if 0 < x < 0.001:
        return "<0.1%"
    if 0.999 < x < 1:
        return ">99.9%"
    return f"{100 * x:.1f}%"


def quality_short_ids(frame: pd.DataFrame, chars: int = HASH_CHARS) -> pd.DataFrame:
    """Long hexadecimal identifiers (hashes of 17 or more characters) cut to ``chars`` characters and '…'."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            text = out[col].astype("string")
            long = text.str.fullmatch(_HASH.pattern).fillna(False).astype(bool)
            if long.any():
                out[col] = text.where(~long, text.str.slice(0, chars) + "\u2026").astype(object)
    return out


def _h3(title: str) -> HTMLPart:
    from ..reporting.display import slugify

    return HTMLPart(f'<h3 id="{slugify(title)}">{escape(title)}</h3>')


def _pct(x: float) -> str:
    return "n/a" if x is None or pd.isna(x) else quality_share(float(x), 1.0)


def _is_personal(doc: Document, key: str) -> bool:
    ds = doc.catalogue.datasets[key]
    return ds.sensitivity == "personal" or bool(ds.identifiers)


def _most_sensitive(levels: list[str]) -> str:
    ranks = [_SENSITIVITY_ORDER.index(s) for s in levels if s in _SENSITIVITY_ORDER]
    return _SENSITIVITY_ORDER[max(ranks)] if ranks else "public"


def _published_body(published: pd.DataFrame) -> pd.DataFrame:
    """The published accounting without its Total row."""
    return published[published["dataset"].astype(str) != "Total"].reset_index(drop=True)


def _count_text(value, noun: str = "") -> str:
    """A published count in prose: the number, or 'a suppressed number of' where it is '[c]'."""
    if isinstance(value, str) and value.strip() == SUPPRESSED_MARK:
        return f"a suppressed number of {noun}".strip() if noun else "a suppressed number"
    return f"{int(value):,} {noun}".strip()


# -- reusable computations (tested directly) ---------------------------------------------

def quality_coverage_table(coverage: pd.DataFrame, months: list[str], quarterly: tuple[str, ...] = ()) -> tuple[
        pd.DataFrame, pd.DataFrame]:
    """Accepted rows per dataset and month over ``months``, with gaps flagged.

    Parameters
    ----------
    coverage : DataFrame
        ``dataset, month, rows`` (intake's coverage; months absent from it count as 0).
    months : list of str
        The months to show, ``YYYY-MM`` (e.g. the assessment window).
    quarterly : tuple of str
        Datasets that arrive by quarter: their rows sit in the quarter's first month,
        so a gap is a quarter with no rows, not a month.

    Returns
    -------
    (wide, gaps) : tuple of DataFrame
        ``wide``: ``month``, one column of rows per monthly dataset, and ``gaps`` (the
        datasets with no rows that month, ``'; '``-joined, empty when none).
        ``gaps``: ``dataset, period, rows, flag`` with one row per month (or quarter)
        inside ``months`` that has no rows, ``flag`` = ``'gap'``.
    """
    from ..checks import check_dataframe

    check_dataframe(coverage, "coverage", ["dataset", "month", "rows"])
    if not months:
        raise ValueError("`months` must list at least one YYYY-MM month, got none")
    datasets = list(dict.fromkeys(coverage["dataset"].astype(str)))
    counts = (coverage.assign(rows=pd.to_numeric(coverage["rows"], errors="coerce").fillna(0))
              .pivot_table(index="month", columns="dataset", values="rows", aggfunc="sum")
              .reindex(index=months, columns=datasets).fillna(0).astype("int64"))
    monthly = [d for d in datasets if d not in quarterly]
    wide = counts[monthly].copy()
    zero = wide.eq(0)
    labels = np.array(monthly, dtype=object)
    wide["gaps"] = ["; ".join(labels[row]) for row in zero.to_numpy()]  # one join per month (36), not per data row
    wide = wide.rename_axis(None, axis=1).rename_axis("month").reset_index()
    gaps = [pd.DataFrame({"dataset": d, "period": zero.index[zero[d].to_numpy()], "rows": 0}) for d in monthly]
    q_idx = pd.PeriodIndex(months, freq="M").asfreq("Q").astype(str)
    for d in (x for x in datasets if x in quarterly):
        by_q = counts[d].groupby(q_idx.to_numpy()).sum()
        empty = by_q[by_q == 0]
        gaps.append(pd.DataFrame({"dataset": d, "period": empty.index.astype(str), "rows": 0}))
    gap_frame = pd.concat(gaps, ignore_index=True) if gaps else pd.DataFrame(columns=["dataset", "period", "rows"])
    gap_frame["flag"] = GAP
    return wide, gap_frame[["dataset", "period", "rows", "flag"]]


def quality_sharing_flags(register: pd.DataFrame, run_date: dt.date, months: int = EXPIRY_MONTHS) -> pd.Series:
    """Flag each agreement in a sharing register by its expiry, relative to ``run_date``.

    Returns
    -------
    Series of str
        ``'expired'`` (before ``run_date``), ``'expires within N months'`` (on or before
        ``run_date`` + ``months``), ``'no expiry date'`` or ``''`` (more than ``months`` away).
    """
    from ..checks import check_dataframe

    check_dataframe(register, "register", ["expires"])
    raw = register["expires"].astype("str")
    expires = pd.to_datetime(raw.where(~raw.isin(["None", "nan", "<NA>", ""])), errors="coerce")
    day = pd.Timestamp(run_date)
    soon = day + pd.DateOffset(months=months)
    flag = np.select([expires.isna(), expires < day, expires <= soon],
                     ["no expiry date", "expired", f"expires within {months} months"], default="")
    return pd.Series(flag, index=register.index, dtype="str")


def _coverage_parts(doc: Document) -> tuple[pd.DataFrame, pd.DataFrame, list[str], list[str]]:
    """(wide, gaps, monthly datasets, quarterly datasets) over each dataset's own span."""
    def build():
        cat = doc.catalogue
        cov = doc.workbench.intake.coverage
        quarterly = tuple(k for k, d in cat.datasets.items() if d.period == "quarter")
        window = cat.partnership.window.months
        wide, gaps = quality_coverage_table(cov, window, quarterly)
        # gaps outside the window (datasets with a longer history, e.g. person-level records)
        extra = cov[~cov["month"].isin(window)]
        if len(extra):
            for key, sub in extra.groupby("dataset"):  # one per dataset
                span = [str(p) for p in pd.period_range(sub["month"].min(), sub["month"].max(), freq="M")]
                _, g = quality_coverage_table(sub, span, quarterly)
                gaps = pd.concat([gaps, g], ignore_index=True)
        gaps = gaps.sort_values(["dataset", "period"], ignore_index=True)
        monthly = [c for c in wide.columns if c not in ("month", "gaps")]
        present = list(dict.fromkeys(cov["dataset"].astype(str)))
        return wide, gaps, monthly, [k for k in quarterly if k in present]

    if "dq-coverage" not in doc.cache:
        doc.cache["dq-coverage"] = build()
    return doc.cache["dq-coverage"]


# -- key findings -----------------------------------------------------------------------------

def _key_findings(doc: Document) -> list[Finding]:
    cat = doc.catalogue
    q = quality_by_dataset(doc)
    keys = q["dataset"].astype(str).tolist()
    once = counted_once(doc, keys)
    protected = np.asarray([cat.datasets[k].sensitivity in ACCOUNTING_PROTECTED if k in cat.datasets else False
                            for k in keys])
    t = doc.threshold
    quar = q["rows_quarantined"].to_numpy()
    # The counts as the document's tables publish them (disclosure-controlled, a copy counted once in the
    # Total row): a finding must not show, or let a reader narrow, a count those tables suppress.
    published = quality_accounting_published(doc)
    totals = quality_accounting_totals(doc)
    hidden = published.iloc[:-1]["rows quarantined"].astype(str).eq("[c]").to_numpy()
    small = protected & (hidden | ((quar >= 1) & (quar < t)))
    copies = [cat.datasets[k].title for k, o in zip(keys, once) if not o and k in cat.datasets]

    out = [Finding(f"{count_of(len(q), 'dataset')} from {count_of(q['agency'].nunique(), 'agency')} were read "
                   "through the catalogue.")]
    read = 0 if str(totals["rows read"]) == "[c]" else int(totals["rows read"])
    if read:
        set_aside = (" a suppressed number of them were set aside with a reason" if str(totals["rows quarantined"]) == "[c]"
                     else f" {int(totals['rows quarantined']):,} ({int(totals['rows quarantined']) / read:.1%}) were set "
                          "aside with a reason")
        out.append(Finding(
            f"{read:,} rows were read" + (f", counting {and_list(copies)} once with the dataset it copies" if copies else "")
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
        out.append(Finding(f"The most rows were set aside from {_title(doc, keys[worst])} "
                           f"({share[worst]:.0%} of its rows)."))
    _, gaps, monthly, _ = _coverage_parts(doc)
    window = cat.partnership.window.months
    g = gaps[gaps["period"].isin(window)] if len(gaps) else gaps
    n_gap = int(g["dataset"].nunique()) if len(g) else 0
    out.append(Finding(f"{n_gap} {'dataset has' if n_gap == 1 else 'datasets have'} months with no rows at all in the "
                       "assessment window." if n_gap else "Every monthly dataset has rows in every month of the "
                       "assessment window."))
    reg = doc.workbench.intake.sharing
    flags = quality_sharing_flags(reg, doc.run_date)
    expired = int((flags == "expired").sum())
    soon = int(flags.str.startswith("expires within").sum())
    out.append(Finding(
        (f"{expired} sharing {'agreement has' if expired == 1 else 'agreements have'} expired"
         + (f" and {soon} {'expires' if soon == 1 else 'expire'} soon" if soon else "") + ".") if expired else
        (f"{soon} sharing {'agreement expires' if soon == 1 else 'agreements expire'} within "
         f"{EXPIRY_MONTHS} months." if soon else "No sharing agreement has expired or expires soon.")))
    return out


def section_key_findings(doc: Document) -> HTMLPart:
    """The opening of the document: links to the edition's other documents, the key findings
    (five to eight plain sentences with the direction of change and, where the catalogue holds a
    most-similar-group table, a red/amber/green rating against it) and the about box."""
    return key_findings_opening(doc, _key_findings(doc))


# -- sections -------------------------------------------------------------------------------

def section_summary(doc: Document) -> Section:
    """What was read, what was accepted, what was refused, and the headline problems."""
    cat = doc.catalogue
    q = quality_by_dataset(doc)
    _, gaps, _, _ = _coverage_parts(doc)
    reg = doc.workbench.intake.sharing
    flags = quality_sharing_flags(reg, doc.run_date)
    balanced = q["rows_read"].eq(q["rows_accepted"] + q["rows_quarantined"] + q["rows_blank"])
    sec = Section("Summary")
    published_all, _ = quarantine_published(doc)
    published = _published_body(published_all)
    totals = quality_accounting_totals(doc)  # a copy of another dataset counted once
    once = counted_once(doc, [str(k) for k in published["dataset"]])
    copies = [_title(doc, k) for k, o in zip(published["dataset"], once) if not o]
    blank = totals["rows blank"]
    sec.add(
        f"{count_of(len(q), 'dataset')} from {count_of(q['agency'].nunique(), 'agency')} are described in the data "
        "catalogue and every one "
        f"was read through it. Of {_count_text(totals['rows read'], 'rows')} read, {_count_text(totals['rows accepted'])} "
        f"were accepted and {_count_text(totals['rows quarantined'])} quarantined with a reason"
        + (f"; {_count_text(blank)} were blank padding rows with nothing in them" if str(blank) != "0" else "")
        + (f" (counting {', '.join(copies)} once: {'it is a copy' if len(copies) == 1 else 'they are copies'} of "
           "another dataset)" if copies else "") + "; "
        + ("for every dataset rows read equal rows accepted plus rows quarantined"
           + (" plus blank rows" if str(blank) != "0" else "") + ", so nothing was dropped silently."
           if balanced.all() else
           f"for {count_of(int((~balanced).sum()), 'dataset')} the rows do not balance ({_title_list(doc, q.loc[~balanced, 'dataset'])}); "
           "treat their figures with caution.")
    )
    shown = pd.DataFrame({
        "dataset": [cat.datasets[k].title for k in q["dataset"]],
        "agency": q["agency"].fillna(""), "kind": [_words(cat.datasets[k].kind, KIND_LABELS) for k in q["dataset"]],
        "status": q["status"], "rows read": q["rows_read"], "rows accepted": q["rows_accepted"],
        "rows quarantined": q["rows_quarantined"], "rows blank": q["rows_blank"],
        "share geocoded (%)": 100 * pd.to_numeric(q["share_geocoded"], errors="coerce"),
        "first month": q["first_month"].fillna(""), "last month": q["last_month"].fillna(""),
    })
    for col in ACCOUNT_COLUMNS:  # the counts as the accounting publishes them (one suppression for every table)
        shown[col] = published[col].to_numpy()
    sec.add(doc.table(shown, "Every catalogue dataset: status and row accounting at intake",
                      decimals={"share geocoded (%)": 1}, max_rows=None, count_columns=list(ACCOUNT_COLUMNS),
                      row_sensitivity=dataset_sensitivities(doc, q["dataset"]), presuppressed=True,
                      notes=["Share geocoded: accepted rows with usable coordinates, for datasets that carry "
                             "coordinates (blank otherwise). The appendix lists each dataset's catalogue key."]))
    findings = []
    bad = q[q["status"] != "ok"]
    for r in bad.to_dict("records"):  # refused datasets: a handful of catalogue rows
        findings.append(f"{_title(doc, r['dataset'])} was not used ({r['status']}): {r['message']}")
    if len(gaps):
        by = gaps.groupby("dataset")["period"].agg(lambda s: ", ".join(s.astype(str)))
        findings += [f"{_title(doc, k)} has no rows in {v}." for k, v in by.items()]
    soon = reg.loc[flags.str.startswith("expires") | flags.eq("expired"), ["dataset", "expires"]]
    findings += [f"The sharing agreement for {_title(doc, d)} has {f.replace('expires', 'an expiry')}: {e}."
                 if f != "expired" else f"The sharing agreement for {_title(doc, d)} expired on {e}."
                 for d, e, f in zip(soon["dataset"], soon["expires"], flags[soon.index])]
    reasons_shown = [c for c in published.columns if c not in ("dataset", *ACCOUNT_COLUMNS)]
    quarantined = published[q["rows_quarantined"].to_numpy() > 0]
    for r in quarantined.to_dict("records"):  # datasets with quarantined rows (a handful)
        parts = [f"{k}: {_count_text(r[k])}" for k in reasons_shown
                 if r[k] == SUPPRESSED_MARK or (pd.notna(r[k]) and int(r[k]) > 0)]
        findings.append(f"{_title(doc, r['dataset'])}: {_count_text(r['rows quarantined'], 'rows')} quarantined ("
                        + ", ".join(parts) + ").")
    if findings:
        sec.add(_h3("Points to act on"), bullet_list(findings))
    else:
        sec.add(callout("No dataset was refused, no month is missing and no agreement expires within "
                        f"{EXPIRY_MONTHS} months."))
    return sec


def section_datasets(doc: Document) -> Section:
    """Per dataset: source, format and field completeness."""
    cat = doc.catalogue
    q = quality_by_dataset(doc).set_index("dataset")
    comp = doc.workbench.intake.completeness
    sec = Section("Datasets and field completeness")
    rows = pd.DataFrame({
        "dataset": [d.title for d in cat.datasets.values()],
        "agency": [d.agency for d in cat.datasets.values()],
        "format": [_words(d.format, FORMAT_LABELS) for d in cat.datasets.values()],
        "files": [int(q.loc[k, "files"]) if pd.notna(q.loc[k, "files"]) else 0 for k in cat.datasets],
        "sensitivity": [d.sensitivity for d in cat.datasets.values()],
        "refresh": [d.refresh for d in cat.datasets.values()],
        "date format": [_date_format(d.date_format) for d in cat.datasets.values()],
        "coordinates": [f"{d.coordinates.x} and {d.coordinates.y} ({d.coordinates.crs})" if d.coordinates else ""
                        for d in cat.datasets.values()],
    })
    sec.add(doc.table(rows, "Datasets, their source format and how they are read", max_rows=None))
    table = comp.assign(share=100 * pd.to_numeric(comp["share_filled"], errors="coerce"),
                        dataset=comp["dataset"].map(_titles(doc)).fillna(comp["dataset"]),
                        field=comp["field"].map(lambda f: _words(f, FIELD_LABELS)))[
        ["dataset", "field", "source_column", "rows", "filled", "share"]].rename(columns={
            "source_column": "source column", "rows": "rows read", "filled": "rows filled", "share": "filled (%)"})
    sec.add(doc.table(table, "Field completeness: share of rows read with a value in each mapped field",
                      decimals={"filled (%)": 1}, max_rows=None,
                      notes=["Blank text counts as empty. Field: what the column holds, in the workbench's terms; "
                             "source column: its name in the agency's file. The x and y coordinates are easting and "
                             "northing, or longitude and latitude, as the coordinates column of the table above says."]))
    low = comp[pd.to_numeric(comp["share_filled"], errors="coerce") < 0.95]
    if len(low):
        # source column names are raw identifiers from the partner's file: shown as code, not as prose
        sec.add("Fields less than 95% complete:", HTMLPart("<ul>" + "".join(
            f"<li>{escape(_title(doc, r['dataset']))}: {escape(_words(r['field'], FIELD_LABELS))} (source column "
            f"<code>{escape(str(r['source_column']))}</code>): {escape(_pct(r['share_filled']))} filled</li>"
            for r in low.to_dict("records")) + "</ul>"))  # a handful of summary rows
    else:
        sec.add("Every mapped field is at least 95% complete.")
    no_fields = [k for k in cat.datasets if k not in set(comp["dataset"])]
    if no_fields:
        sec.add(paragraph("No field completeness applies to " + _title_list(doc, no_fields)
                          + " (documents, or tables read whole without a column mapping).", css="table-note"))
    return sec


def section_quarantine(doc: Document) -> Section:
    """Quarantined rows: counts per reason per dataset, and a few examples where they may be shown."""
    cat = doc.catalogue
    q = quality_by_dataset(doc)
    sec = Section("Quarantined rows and why")
    published_all, reasons = quarantine_published(doc)
    used = reasons
    published = _published_body(published_all)
    sens = dataset_sensitivities(doc, published["dataset"]) + ["public"]
    table = published_all.copy()
    balances = q["rows_read"].eq(q["rows_accepted"] + q["rows_quarantined"] + q["rows_blank"]).map(
        {True: "yes", False: "NO"})
    table["balances"] = list(balances) + [""]
    table["dataset"] = table["dataset"].map(_titles(doc)).fillna(table["dataset"])
    sec.add(
        "A row is quarantined, with exactly one reason (the first that applies), when it cannot be used or would be "
        "counted twice. Quarantined rows are written, with their source file, row number and reason, to "
        "quality/quarantine/<catalogue key>.csv in the run folder (the appendix lists the keys)."
    )
    sec.add(doc.table(table, "Rows quarantined per dataset and reason", max_rows=None,
                      count_columns=[*ACCOUNT_COLUMNS, *reasons], row_sensitivity=sens, presuppressed=True,
                      notes=["Reasons that quarantined no row in any dataset are left out. Balances: rows read = "
                             "rows accepted + rows quarantined."]))
    if not used:
        sec.add(callout("No row was quarantined in any dataset."))
        return sec
    for key, qframe in doc.workbench.intake.quarantine.items():  # one per dataset
        if key not in cat.datasets or not len(qframe):
            continue
        ds = cat.datasets[key]
        if _is_personal(doc, key) or ds.sensitivity in ("sensitive", "personal"):
            shown_n = published.loc[published["dataset"] == key, "rows quarantined"]
            sec.add(paragraph(
                f"{ds.title}: {_count_text(shown_n.iloc[0] if len(shown_n) else len(qframe), 'quarantined rows')}. "
                f"This dataset is marked {ds.sensitivity}, so its "
                "quarantined rows are not shown here; the analyst can inspect them in the restricted quarantine file.",
                css="table-note"))
            continue
        per = qframe["reason"].value_counts()
        examples = qframe.groupby("reason", sort=False).head(2).head(EXAMPLE_ROWS)
        drop = [c for c in examples.columns if c in set(ds.identifiers) or c == "dataset"]
        shown = examples.drop(columns=drop)
        blank = shown.astype("string").fillna("").replace(r"^\s*$", "", regex=True).eq("").all()
        shown = quality_short_ids(shown.loc[:, ~blank.to_numpy()]).rename(
            columns={"source_file": "source file", "source_row": "row in file", "file_line": "line to open in the file"})
        sec.add(doc.table(
            shown,
            f"{ds.title}: examples of quarantined rows ({len(qframe):,} in all; "
            + ", ".join(f"{r}: {n:,}" for r, n in per.items()) + ")",
            max_rows=EXAMPLE_ROWS,
            notes=[f"Long hashed references are cut to their first {HASH_CHARS} characters (\u2026); columns empty "
                   "in every example are left out. Every quarantined row is in the quarantine file in full."]))
    return sec


def _gap_chart(doc: Document, published: pd.DataFrame, monthly: list[str]):
    """Heat map of each dataset's monthly rows as a share of its median month; gaps marked.

    Drawn from the published month table (``_coverage_month_published``): a suppressed month is
    drawn as suppressed, and each dataset's median is the median of its published months, so the
    chart shows nothing the table does not. A dataset the table leaves out (a copy of another,
    counted once) is not drawn.
    """
    titles = [t for t in (_title(doc, k) for k in monthly) if t in published.columns]
    body = published[published["month"].astype(str) != "Total"].set_index("month")[titles]
    hidden = body.isin([SUPPRESSED_MARK])
    counts = body.mask(hidden).apply(pd.to_numeric, errors="coerce").T  # column-wise: one per dataset
    hidden = hidden.T
    counts.index = [textwrap.shorten(t, 48, placeholder="\u2026") for t in titles]
    hidden.index = counts.index
    median = counts.median(axis=1, skipna=True).replace(0, np.nan)
    share = (counts.div(median, axis=0) * 100).round(0)
    fig = chart_heatmap(share.astype(object).mask(hidden, SUPPRESSED_MARK), title="Rows per month as % of each dataset's median month",
                        xlabel="month", ylabel="dataset", fmt="{:,.0f}")
    ax = fig.axes[0]
    ax.set_xticks(range(share.shape[1]), [m if i % 3 == 0 else "" for i, m in enumerate(share.columns)],
                  rotation=90, fontsize=7)
    r, c = np.nonzero(counts.to_numpy() == 0)
    if len(r):
        legend = ax.get_legend()
        kept = list(legend.legend_handles) if legend is not None else []  # e.g. "suppressed"
        cross = ax.scatter(c, r, marker="x", s=60, color="#1b1b1b", linewidths=2, label="gap (no rows)")
        ax.legend(handles=[*kept, cross], loc="upper left", bbox_to_anchor=(0, -0.25), fontsize=8, frameon=False)
    return fig, share


def quality_coverage_summary(wide: pd.DataFrame, gaps: pd.DataFrame, monthly: list[str]) -> pd.DataFrame:
    """One row per monthly dataset: months with rows, gap months, and fewest / median / most rows a month.

    Parameters
    ----------
    wide, gaps : DataFrame
        As returned by :func:`quality_coverage_table` (``gaps`` may also hold periods outside
        the months of ``wide``; only those months count here).
    monthly : list of str
        The dataset columns of ``wide`` to summarise.

    Returns
    -------
    DataFrame
        ``dataset`` (key), ``months with rows`` (e.g. ``'36 of 36'``), ``gaps`` (the gap
        months, ``', '``-joined, ``'none'`` without gaps), ``fewest rows in a month``,
        ``median rows a month``, ``most rows in a month`` (int).
    """
    counts = wide.set_index("month")[monthly]
    months = set(counts.index.astype(str))
    inside = gaps[gaps["period"].astype(str).isin(months)]
    listed = inside.groupby("dataset")["period"].agg(lambda p: ", ".join(sorted(p.astype(str))))  # per dataset
    return pd.DataFrame({
        "dataset": monthly,
        "months with rows": [f"{int(n)} of {len(counts)}" for n in counts.gt(0).sum().to_numpy()],
        "gaps": [listed.get(k, "none") for k in monthly],
        "fewest rows in a month": counts.min().astype("int64").to_numpy(),
        "median rows a month": counts.median().round().astype("int64").to_numpy(),
        "most rows in a month": counts.max().astype("int64").to_numpy(),
    })


_MONTH_CAPTION = "Accepted rows per dataset and month over the assessment window"


def _coverage_month_frame(doc: Document):
    """(month-by-dataset table, its count columns, its sensitivity) or None without monthly datasets."""
    cat = doc.catalogue
    wide, _, monthly, _ = _coverage_parts(doc)
    monthly = _counted_once(doc, monthly)  # the Total column must not add a copied export twice
    if not monthly:
        return None
    titles = [_title(doc, k) for k in monthly]
    zero = wide[monthly].eq(0).to_numpy()
    labels = np.array(titles, dtype=object)
    gaps = ["; ".join(labels[row]) for row in zero]  # one join per month (36), not per data row
    table = wide[["month"] + monthly].rename(columns=dict(zip(monthly, titles)))
    table.insert(1, "gaps", [GAP + ": " + g if g else "" for g in gaps])
    sens = _most_sensitive([cat.datasets[k].sensitivity for k in monthly if k in cat.datasets])
    return table, (titles if sens != "public" else []), sens


def _counted_once(doc: Document, keys: list[str]) -> list[str]:
    """``keys`` without copies of other datasets (catalogue ``duplicate_of`` or a data-quality-only export)."""
    once = counted_once(doc, list(keys))
    return [k for k, o in zip(keys, once) if o]


def _copies_note(doc: Document, keys: list[str]) -> list[str]:
    once = set(_counted_once(doc, keys))  # worked out once, not once per key
    left = [k for k in keys if k not in once]
    if not left:
        return []
    return [f"Left out, so that totals count each record once: {', '.join(_title(doc, k) for k in left)} "
            f"({'a copy' if len(left) == 1 else 'copies'} of another dataset in the table)."]


def _coverage_month_published(doc: Document) -> pd.DataFrame | None:
    """The month-by-dataset table exactly as the appendix publishes it (suppressed cells '[c]')."""
    built = _coverage_month_frame(doc)
    if built is None:
        return None
    table, counts, sens = built
    return doc.publish_counts(table, _MONTH_CAPTION, sensitivity=sens, count_columns=counts)


def _coverage_month_table(doc: Document):
    """The full month-by-dataset table (for the appendix): titles as column names, gaps by title."""
    built = _coverage_month_frame(doc)
    if built is None:
        return None
    table, counts, sens = built
    protected = sens != "public"
    return doc.table(table, _MONTH_CAPTION, sensitivity=sens, count_columns=counts, max_rows=None,
                     notes=["Rows are records accepted at intake (for aggregated datasets, one row per area and "
                            "period). The gaps column flags every dataset with no rows in that month."]
                     + _copies_note(doc, _coverage_parts(doc)[2])
                     + (["Some datasets are not public, so the table passes through disclosure control, which "
                         "adds the Total row and column (rows across all datasets)."] if protected else []))


def section_coverage(doc: Document) -> Section:
    """Coverage over time: a compact summary of accepted rows per dataset and month, with gaps flagged.

    The full month-by-dataset table is in the appendix.
    """
    cat = doc.catalogue
    wide, gaps, monthly, quarterly = _coverage_parts(doc)
    window = cat.partnership.window.months
    sec = Section("Coverage over time")
    sec.add(f"Accepted rows per month for every dataset with dates, over the assessment window {window[0]} to "
            f"{window[-1]}. A month with no rows is a gap: the file for that month may be missing, or the agency "
            "sent nothing. Gaps are flagged 'gap' and marked with a cross on the chart; the full table of rows per "
            "dataset and month is in the appendix.")
    if monthly:
        charted = _counted_once(doc, monthly)  # a copied export is drawn once, with its original
        fig, share = _gap_chart(doc, _coverage_month_published(doc), charted)
        win_gaps = gaps[gaps["period"].isin(window) & gaps["dataset"].isin(monthly)]
        sec.add(doc.figure(
            fig, "Coverage: rows per dataset and month as a percentage of the dataset's median month",
            alt=(f"Heat map of {len(charted)} datasets by {len(window)} months. "
                 + (f"{len(win_gaps)} dataset-months have no rows and are marked with a cross: "
                    + ", ".join(f"{_title(doc, d)} {p}" for d, p in zip(win_gaps['dataset'], win_gaps['period'])) + "."
                    if len(win_gaps) else "No month is empty for any dataset.")
                 + f" Shares range from {np.nanmin(share.to_numpy()):.0f}% to {np.nanmax(share.to_numpy()):.0f}% "
                   "of the median month."),
        ))
        summ = quality_coverage_summary(wide, gaps, monthly)
        summ["dataset"] = [_title(doc, k) for k in summ["dataset"]]
        sens = [cat.datasets[k].sensitivity for k in monthly if k in cat.datasets]
        counts = ["fewest rows in a month", "median rows a month", "most rows in a month"]
        protected = _most_sensitive(sens) != "public"
        sec.add(doc.table(summ, f"Coverage per dataset over the {len(window)} months of the assessment window",
                          sensitivity=_most_sensitive(sens), count_columns=counts if protected else (),
                          margins="none", max_rows=None,
                          notes=["Rows are records accepted at intake (for aggregated datasets, one row per area and "
                                 "period). The appendix has every month."]))
    if quarterly:
        cov = doc.workbench.intake.coverage
        qc = cov[cov["dataset"].isin(quarterly) & cov["month"].isin(window)].copy()
        qc["quarter"] = pd.PeriodIndex(qc["month"], freq="M").asfreq("Q").astype(str)
        qt = qc.pivot_table(index="quarter", columns="dataset", values="rows", aggfunc="sum").fillna(0).astype(
            "int64").rename_axis(None, axis=1).reset_index()
        sens_q = [cat.datasets[k].sensitivity for k in quarterly]
        protected_q = [_title(doc, k) for k in quarterly if cat.datasets[k].sensitivity != "public"]
        qt = qt.rename(columns={k: _title(doc, k) for k in quarterly})
        sec.add(doc.table(qt, "Accepted rows per quarter for datasets that arrive by quarter",
                          sensitivity=_most_sensitive(sens_q), count_columns=protected_q,
                          max_rows=None,
                          notes=["Quarterly data sits in the quarter's first month in the monthly accounting; "
                                 "its gaps are judged by quarter, not month."]))
    if len(gaps):
        sec.add(callout(f"{count_of(len(gaps), 'gap')} found: "
                        + "; ".join(f"{_title(doc, d)} {p}" for d, p in zip(gaps["dataset"], gaps["period"]))
                        + ". Figures for these periods understate activity; check with the owning agency.",
                        caveat=True))
        sec.add(doc.table(gaps.assign(dataset=[_title(doc, k) for k in gaps["dataset"]]),
                          "Months (or quarters) with no accepted rows", max_rows=None))
    else:
        sec.add(callout("No dataset has a month (or, for quarterly data, a quarter) without rows."))
    q = quality_by_dataset(doc).set_index("dataset")
    longer = [k for k in q.index if pd.notna(q.loc[k, "first_month"]) and q.loc[k, "first_month"] < window[0]]
    if longer:
        sec.add(paragraph("Datasets with history before the window (kept for cohort analysis): "
                          + "; ".join(f"{_title(doc, k)} from {q.loc[k, 'first_month']}" for k in longer) + ".",
                          css="table-note"))
    undated = [k for k, d in cat.datasets.items() if k not in set(doc.workbench.intake.coverage["dataset"])]
    if undated:
        sec.add(paragraph("Coverage over time does not apply to datasets without dates: " + _title_list(doc, undated)
                          + ".", css="table-note"))
    return sec


def section_duplicates(doc: Document) -> Section:
    """Duplicate ids, exact duplicates quarantined and repeat reports flagged."""
    cat = doc.catalogue
    q = quality_by_dataset(doc).set_index("dataset")
    ev = doc.workbench.intake.events
    sec = Section("Duplicates and repeat reports")
    sec.add("Three kinds of double counting are checked. An exact copy of a whole source row that carries an id is "
            "quarantined. An id shared by several accepted rows is kept but counted here. A later report of the "
            "same incident (close in time and place, within the window the catalogue sets) is kept and flagged "
            "as a repeat, so counts of incidents can leave it out.")
    rows = []
    for key, ds in cat.datasets.items():  # catalogue entries (a dozen), not data rows
        if ds.kind != "events":
            continue
        e = ev[ev["dataset"] == key]
        ids = e["event_id"]
        shared = ids.notna() & ids.duplicated(keep=False)
        win = ds.duplicates
        rows.append({
            "dataset": ds.title,
            "rows accepted": int(q.loc[key, "rows_accepted"]) if key in q.index else 0,
            "exact duplicates quarantined": int(q.loc[key, "quarantined_duplicate"]) if key in q.index else 0,
            "rows without an id": int(ids.isna().sum()),
            "accepted rows sharing an id": int(shared.sum()),
            "distinct ids shared": int(ids[shared].nunique()),
            "repeat reports flagged": int(e["is_repeat"].sum()) if len(e) else 0,
            "repeat window": (f"{win.minutes:,g} min, {win.metres:,g} m"
                              + (", same category" if win.same_category else ", any category")) if win else "not checked",
        })
    table = pd.DataFrame(rows)
    by_title = {d.title: d for d in cat.datasets.values()}
    sens = [by_title[t].sensitivity for t in table["dataset"]] if len(table) else []
    dup_counts = ["exact duplicates quarantined", "rows without an id", "accepted rows sharing an id",
                  "distinct ids shared", "repeat reports flagged"]
    sec.add(doc.table(table, "Duplicates and repeat reports in event datasets", max_rows=None,
                      count_columns=dup_counts if len(table) else (), row_sensitivity=sens if len(table) else None,
                      notes=["Accepted rows sharing an id: rows left after exact copies are quarantined whose id "
                             "another accepted row also carries. Rows without an id (e.g. data.police.uk ASB) "
                             "are never judged duplicates: identical ASB rows are separate incidents."]))
    flagged = q["duplicate_ids"] if "duplicate_ids" in q.columns else None
    if flagged is not None and len(table):
        by_title = {d.title: k for k, d in cat.datasets.items()}
        keys = table["dataset"].map(by_title)
        flags = pd.to_numeric(keys.map(flagged), errors="coerce")
        differ_rows = table[flags.notna() & flags.ne(table["accepted rows sharing an id"])]
        differ = list(zip(differ_rows["dataset"], flags[differ_rows.index].astype("int64")))
        if differ:
            sec.add(paragraph(
                "Intake's duplicate-id flag counts ids repeated among all rows read, before exact copies were "
                "quarantined: " + ", ".join(f"{k} {n:,}" for k, n in differ)
                + ". The table counts accepted rows only.", css="table-note"))
    for r, sensitivity in zip(table.to_dict("records"), sens):  # a dozen summary rows
        n = r["repeat reports flagged"]
        if not n:
            continue
        if sensitivity in ACCOUNTING_PROTECTED and n < doc.threshold:
            # Never put a small count from protected data into prose (the table's rule for whole-dataset counts).
            sec.add(f"{r['dataset']}: fewer than {doc.threshold} accepted reports repeat an earlier report "
                    f"within {r['repeat window']}.")
        else:
            sec.add(f"{r['dataset']}: {n:,} of {r['rows accepted']:,} accepted reports "
                    f"({quality_share(n, r['rows accepted'])}) repeat an earlier report within {r['repeat window']}.")
    return sec


def section_geography(doc: Document) -> Section:
    """Geocoding, points outside the partnership, boundary repairs and co-terminosity."""
    from ..geography.coterminosity import coterminosity_summary, coterminosity_table
    from ..geography.maps import coterminosity_map
    from ..reporting.maps import map_page

    cat = doc.catalogue
    wb = doc.workbench
    q = quality_by_dataset(doc).set_index("dataset")
    sec = Section("Geocoding and geography")
    ev = wb.events
    geo_keys = [k for k, d in cat.datasets.items() if d.coordinates is not None and k in q.index]
    rows = []
    sa_codes = set(wb.small_areas["code"].astype(str))
    present = set(pd.unique(ev["dataset"]).tolist())  # the datasets with events, from the column's distinct values
    narrow = ev[[c for c in ("dataset", "area_code") if c in ev.columns]]  # the columns read below, not every column
    for key in geo_keys:  # catalogue entries, not data rows
        e = narrow[narrow["dataset"] == key] if key in present else None
        outside = wb.outside_partnership(key) if hasattr(wb, "outside_partnership") else None
        area_out = (int((e["area_code"].notna() & ~e["area_code"].astype(str).isin(sa_codes)).sum())
                    if e is not None and sa_codes and e["area_code"].notna().any() else None)
        rows.append({
            "dataset": cat.datasets[key].title, "rows accepted": int(q.loc[key, "rows_accepted"]),
            "without coordinates": q.loc[key, "not_geocoded"],
            "share geocoded (%)": 100 * float(q.loc[key, "share_geocoded"]) if pd.notna(q.loc[key, "share_geocoded"]) else np.nan,
            "points outside the partnership (left out)": outside,
            "quarantined as outside": int(q.loc[key, "quarantined_coordinates_outside_the_partnership"]),
            "area codes from outside": area_out,
        })
    geo = pd.DataFrame(rows)
    sec.add(doc.table(geo, "Geocoding per dataset", decimals={"share geocoded (%)": 1}, max_rows=None,
                      count_columns=["without coordinates", "points outside the partnership (left out)",
                                     "quarantined as outside", "area codes from outside"] if len(geo) else (),
                      rate_columns={"share geocoded (%)": "without coordinates"},
                      row_sensitivity=[cat.datasets[k].sensitivity for k in geo_keys] if len(geo) else None,
                      notes=[f"Points outside the partnership: geocoded rows farther than "
                             f"{wb.extras.get('edge_buffer_m', 0):g} m outside the partnership boundary (the "
                             "catalogue's edge allowance); they are counted here and left out of every analysis. Area codes "
                             "from outside: rows whose source area code (e.g. LSOA) is not one of the partnership's "
                             "small areas. Premises are not events and are placed on maps only."]))
    a = wb.assignment.rename(columns={"n_points": "points", "n_assigned": "assigned", "n_on_edge_resolved":
                                      "on an edge (resolved)", "n_outside": "outside every unit",
                                      "n_no_coordinates": "without coordinates"})
    if "geography" in a.columns:
        a["geography"] = a["geography"].map(lambda g: _words(g, GEOGRAPHY_LABELS))  # three geographies
    sec.add(doc.table(a, "Assignment of event points to each geography", max_rows=None,
                      notes=["Every event row of every point dataset, inside and outside the window; wards use the "
                             "boundary version in force on the event's date."]))
    versions = wb.extras.get("ward_versions") if isinstance(wb.extras, dict) else None
    if versions is not None and len(versions):
        sec.add(doc.table(versions.rename(columns={"n_points": "points", "n_assigned": "assigned",
                                                   "n_on_edge_resolved": "on an edge (resolved)",
                                                   "n_outside": "outside every ward",
                                                   "n_no_coordinates": "without coordinates"}),
                          "Events per ward boundary version in force", max_rows=None))
    reps = []
    for key, vs in wb.registry.geographies.items():  # geographies and versions (a handful)
        for v in vs:
            if len(v.repairs):
                reps.append(v.repairs.assign(geography=key, version=v.version))
    sec.add(_h3("Boundary repairs"))
    if reps:
        rep = pd.concat(reps, ignore_index=True)[["geography", "version", "source_file", "unit_code", "problem",
                                                  "action"]]
        rep["geography"] = [_words(g, GEOGRAPHY_LABELS) for g in rep["geography"]]  # a handful of repairs
        rep = rep.rename(columns={"source_file": "source file", "unit_code": "unit code"})
        sec.add(doc.table(rep, "Repairs made to boundary files when they were read", max_rows=None))
    else:
        sec.add("No boundary file needed a repair.")
    sec.add(_h3("Co-terminosity"))
    if not wb.has_neighbourhoods or not wb.has_population:
        sec.add(("No police neighbourhoods were supplied" if not wb.has_neighbourhoods else
                 "No population was supplied") + ", so the fit of other geographies to the wards is not measured "
                "(the index is weighted by residents).")
        return sec
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nb = coterminosity_table(wb.neighbourhoods, wb.wards, wb.small_areas, population="population")
        sw = coterminosity_table(wb.small_areas, wb.wards, wb.small_areas, population="population")
    summ = pd.concat([coterminosity_summary(nb).assign(pair="police neighbourhoods in wards"),
                      coterminosity_summary(sw).assign(pair="small areas in wards")], ignore_index=True)
    summ = summ[["pair", "n_source_units", "n_coterminous", "n_split", "threshold", "weighting", "index"]].rename(
        columns={"n_source_units": "units", "n_coterminous": "co-terminous", "n_split": "split"})
    sec.add(doc.table(summ, "Co-terminosity with wards (latest ward boundaries)",
                      decimals={"threshold": 2, "index": 3}, max_rows=None,
                      notes=["A unit is co-terminous when at least the threshold share of its area lies in one ward; "
                             "the index is the population-weighted share of co-terminous units (1 = perfect fit)."]))
    for label, t in (("police neighbourhoods", nb), ("small areas", sw)):
        s = coterminosity_summary(t).iloc[0]
        sec.add(f"{label.capitalize()}: {int(s['n_split'])} of {int(s['n_source_units'])} are split across wards "
                f"(index {float(s['index']):.2f}). "
                + ("Counts by these units cannot be added up into wards exactly; rates by ward in the documents are "
                   "computed from the points themselves or apportioned by population." if int(s["n_split"]) else
                   "They nest within wards."))
    split = nb[~nb["coterminous"].astype(bool)][["source_code", "source_name", "best_fit_target_name", "area_share",
                                                 "population_share", "target_names"]]
    if len(split):
        sec.add(doc.table(split.rename(columns={"source_code": "neighbourhood", "source_name": "name",
                                                "best_fit_target_name": "best-fit ward",
                                                "area_share": "area share in best-fit ward",
                                                "population_share": "population share in best-fit ward",
                                                "target_names": "wards it spans"}),
                          "Police neighbourhoods split across wards",
                          decimals={"area share in best-fit ward": 2, "population share in best-fit ward": 2},
                          max_rows=None))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fmap = coterminosity_map(wb.neighbourhoods, wb.wards, nb, "neighbourhood", "ward",
                                 tiles=None if doc.offline else "OpenStreetMap")  # tiles only when online
    sec.add(doc.map(map_page(fmap, offline=doc.offline), "Police neighbourhoods and wards: split neighbourhoods in red",
                    alt=(f"Map of {len(wb.wards)} wards (blue outlines) and {len(nb)} police neighbourhoods; "
                         f"{len(split)} neighbourhoods that straddle wards are filled red.")))
    return sec


def section_sharing_register(doc: Document) -> Section:
    """The information-sharing register, with agreements near expiry flagged."""
    reg = doc.workbench.intake.sharing.copy()
    cat = doc.catalogue
    flags = quality_sharing_flags(reg, doc.run_date)
    missing = [k for k in cat.datasets if k not in set(reg["dataset"])]
    clean = lambda s: s.where(~s.isin(["None", "nan", "<NA>"]), "")  # noqa: E731
    table = pd.DataFrame({
        "dataset": reg["dataset"].map(_titles(doc)).fillna(reg["dataset"]), "agency": reg["agency"],
        "legal basis": clean(reg["basis"]),
        "agreement": clean(reg["agreement"]), "expires": clean(reg["expires"]), "sensitivity": reg["sensitivity"],
        "permitted uses": reg["permitted_uses"], "status": reg["status"], "expiry": flags,
    })
    sec = Section("Information-sharing register")
    sec.add(f"Every dataset's legal basis, agreement and permitted uses, checked against the run date "
            f"{doc.run_date.isoformat()}. Intake refuses a dataset with no legal basis, an expired agreement, or "
            "personal data without an agreement; personal identifiers are pseudonymised at intake.")
    sec.add(doc.table(table, "Information-sharing register", max_rows=None,
                      notes=[f"Expiry: agreements that have expired or expire within {EXPIRY_MONTHS} months of the "
                             "run date are flagged for renewal."]))
    soon = table[table["expiry"].isin(["expired", f"expires within {EXPIRY_MONTHS} months"])]
    if len(soon):
        sec.add(callout("Renew before the next assessment: " + "; ".join(
            f"{d} (agreement {a or 'unnamed'}, {f} on {e})"
            for d, a, f, e in zip(soon["dataset"], soon["agreement"], soon["expiry"], soon["expires"])) + ".",
            caveat=True))
    refused = reg[reg["status"] != "usable"]
    for r in refused.to_dict("records"):  # refused datasets (a handful)
        sec.add(callout(f"{_title(doc, r['dataset'])} refused: {r['reason']}", caveat=True))
    if missing:
        sec.add(callout("Not in the register: " + _title_list(doc, missing), caveat=True))
    ids = reg[reg["identifiers"].str.strip().ne("") & reg["identifiers"].ne("nan")]
    if len(ids):
        sec.add(HTMLPart('<p class="table-note">Pseudonymised at intake (keyed HMAC-SHA256; the raw values are never '
                         "written): " + "; ".join(
                             f"{escape(_title(doc, d))}: source columns "
                             + ", ".join(f"<code>{escape(c.strip())}</code>" for c in str(i).split(";") if c.strip())
                             for d, i in zip(ids["dataset"], ids["identifiers"])) + ".</p>"))
    return sec


def section_caveats(doc: Document) -> Section:
    """Caveats: the catalogue's per dataset and the standard ones for these sources."""
    cat = doc.catalogue
    sec = Section("Caveats")
    standard = [
        "Domestic abuse and hate crime are under-reported: recorded volumes understate them, and a rise can "
        "mean more confidence to report rather than more harm.",
    ]
    police = [k for k, d in cat.datasets.items() if d.format.startswith("police_uk") and d.coordinates is not None]
    if police:
        standard.append(f"data.police.uk locations ({_title_list(doc, police)}) are snapped to anonymised map points "
                        "(the centre of a street or a public place), not the exact place of the crime; counts for "
                        "very small areas are approximate.")
    month_only = [k for k, d in cat.datasets.items()
                  if (d.date_format and is_month_only(d.date_format)) or d.period in ("month", "quarter")]
    if month_only:
        standard.append("Dates are known only to the month (or quarter) for " + _title_list(doc, month_only)
                        + ": no day-of-week or time-of-day analysis is possible for them.")
    sec.add(_h3("Standard caveats"), bullet_list(standard))
    pairs = quality_export_pairs(doc)
    for r in pairs.to_dict("records"):  # pairs of catalogue datasets (one or two)
        match = "match" if r["rows_match"] else "DO NOT match"
        ids = ("" if pd.isna(r["ids_match"]) else
               (" and the same record references" if r["ids_match"] else " but the record references differ"))
        text = (f"{_title(doc, r['dataset'])} is another export of the same records as {_title(doc, r['duplicate_of'])} "
                f"({'used only for data quality' if r['use'] == 'data quality only' else 'both used'}). "
                f"Their row counts {match} ({r['rows_read']:,} and {r['rows_read_other']:,} rows read){ids}.")
        sec.add(callout(text, caveat=not (r["rows_match"] and r["ids_match"] is not False)))
    if len(pairs):
        shown = pairs.assign(dataset=[_title(doc, k) for k in pairs["dataset"]],
                             duplicate_of=[_title(doc, k) for k in pairs["duplicate_of"]])
        sec.add(doc.table(shown.rename(columns={"duplicate_of": "same records as", "rows_read": "rows read",
                                                "rows_read_other": "rows read (other)", "rows_match": "rows match",
                                                "ids_match": "references match"}),
                          "Datasets that duplicate another export, and whether they agree", max_rows=None))
    items = [f"{d.title}: {c}" for d in cat.datasets.values() for c in d.caveats]
    sec.add(_h3("Caveats recorded in the data catalogue"))
    sec.add(bullet_list(items) if items else paragraph("The catalogue records no dataset caveats."))
    return sec


def quality_reason_counts(quality: pd.DataFrame) -> pd.DataFrame:
    """Intake's wide quality table as long form: one row per dataset and quarantine reason with rows.

    Returns
    -------
    DataFrame
        ``dataset`` (key), ``reason`` (one of :data:`REASONS`, in their order) and
        ``rows quarantined`` (int, above 0 only).
    """
    cols = [f"quarantined_{r.replace(' ', '_')}" for r in REASONS]
    present = [c for c in cols if c in quality.columns]
    long = quality.melt(id_vars="dataset", value_vars=present, var_name="reason", value_name="rows quarantined")
    long["rows quarantined"] = pd.to_numeric(long["rows quarantined"], errors="coerce").fillna(0).astype("int64")
    long["reason"] = long["reason"].str.slice(len("quarantined_")).str.replace("_", " ")
    long = long[long["rows quarantined"] > 0]
    order = {r: i for i, r in enumerate(REASONS)}
    keys = {k: i for i, k in enumerate(quality["dataset"])}
    long = long.assign(_d=long["dataset"].map(keys), _r=long["reason"].map(order)).sort_values(["_d", "_r"])
    return long[["dataset", "reason", "rows quarantined"]].reset_index(drop=True)


def section_appendix(doc: Document) -> Section:
    """Definitions, catalogue keys, the full coverage table and the quarantine counts; writes the Excel workbook."""
    cat = doc.catalogue
    sec = Section("Appendix: definitions and files")
    sec.add("Quarantine reasons, in the order they are applied (a row gets the first that applies). A quarantined "
            "row is unusable or would be counted twice; it is set aside with its reason, never dropped silently.")
    sec.add(doc.table(pd.DataFrame({"reason": list(REASONS), "meaning": [REASON_MEANINGS[r] for r in REASONS]}),
                      "Quarantine reasons and what they mean", max_rows=None))
    sec.add(doc.table(pd.DataFrame({"flag": list(FLAG_MEANINGS), "meaning": list(FLAG_MEANINGS.values())}),
                      "What intake flags but keeps", max_rows=None))
    q = quality_by_dataset(doc)
    keys = pd.DataFrame({"dataset": [d.title for d in cat.datasets.values()], "catalogue key": list(cat.datasets),
                         "agency": [d.agency for d in cat.datasets.values()]})
    sec.add(doc.table(keys, "Datasets and their catalogue keys", max_rows=None,
                      notes=["The catalogue key names each dataset in data_catalogue.yaml and in the file names "
                             "under quality/ (e.g. quality/quarantine/<catalogue key>.csv)."]))
    months = _coverage_month_table(doc)
    if months is not None:
        sec.add(months)
    counts = quality_reason_counts(q)
    if len(counts):
        # Drawn from the published accounting (Table "Rows quarantined per dataset and reason"), so a count
        # suppressed there is suppressed here, and a zero hidden there is listed here as suppressed too.
        published_all, reasons = quarantine_published(doc)
        published = _published_body(published_all)
        long = published[["dataset", *reasons]].melt(id_vars="dataset", value_vars=reasons, var_name="reason",
                                                       value_name="rows quarantined")
        hidden = long["rows quarantined"].isin([SUPPRESSED_MARK])
        long = long[hidden | pd.to_numeric(long["rows quarantined"], errors="coerce").gt(0)]
        order = {r: i for i, r in enumerate(REASONS)}
        keys = {k: i for i, k in enumerate(published["dataset"])}
        long = long.assign(_d=long["dataset"].map(keys), _r=long["reason"].map(order)).sort_values(["_d", "_r"])
        long.insert(1, "catalogue key", long["dataset"])
        long["dataset"] = [_title(doc, k) for k in long["dataset"]]
        suppressed = bool(long["rows quarantined"].isin([SUPPRESSED_MARK]).any())
        sec.add(doc.table(long[["dataset", "catalogue key", "reason", "rows quarantined"]].reset_index(drop=True),
                          "Rows quarantined per dataset and reason (quality/intake.csv, long form)", max_rows=None,
                          notes=["Only reasons that quarantined at least one row are listed. quality/intake.csv holds "
                                 "every column of intake's accounting for every dataset."]
                          + ([f"Counts suppressed ([c]) in the table of rows quarantined per dataset and reason are "
                              "suppressed here too, with any reason listed there as suppressed."] if suppressed else [])))
    else:
        sec.add("No row of any dataset was quarantined.")
    sec.add(bullet_list([
        "quality/intake.csv: per dataset rows read, accepted and quarantined, counts per reason, geocoding, "
        "duplicates, first and last month, status and message.",
        "quality/quarantine/<catalogue key>.csv: every quarantined row with its source file, row and reason "
        "(identifiers pseudonymised).",
        "quality/completeness.csv, quality/coverage.csv, quality/sharing_register.csv: the tables above in full.",
        "tables/: every table this document shows, as CSV and in one Excel workbook.",
    ]))
    sec.add(paragraph(f"Run date {doc.run_date.isoformat()}; catalogue {doc.catalogue.partnership.name}.",
                      css="table-note"))
    sec.add(error_rates_table(doc))  # searches the text of every section shown before
    doc.write_workbook()
    return sec
