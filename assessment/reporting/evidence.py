"""Evidence shared by the documents: computed once per document and cached on it.

Each ``evidence_*`` function takes a :class:`~assessment.reporting.document.Document`
and returns plain frames built with the analysis library; sections format them.
Nothing here is hard-coded about Riverton: every number comes from the catalogue's data.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..analysis import harm, hotspots, priorities, rates, trends, wording
from .document import Document

ASB = "Anti-social behaviour"


def _cached(doc: Document, key: str, build: Callable[[], Any]) -> Any:
    """Build an evidence item once per workbench, shared by every document that uses it.

    Everything here depends only on the catalogue, the run date and the workbench built from
    them, so the documents of one edition that load the same workbench (one kernel, one cache)
    share the items kept on it. Frames come back as shallow copies: with pandas' copy-on-write a
    document that changes what it was given changes its own copy, never the shared item.
    """
    store = _evidence_store(doc)
    if key not in store:
        store[key] = build()
    value = store[key]
    if isinstance(value, (pd.DataFrame, pd.Series)):
        return value.copy(deep=False)
    return value


def _evidence_store(doc: Document) -> dict[str, Any]:
    wb = doc.workbench
    stores = getattr(wb, "_shared_evidence", None)
    if stores is None:
        stores = {}
        object.__setattr__(wb, "_shared_evidence", stores)
    return stores.setdefault(_inputs_beyond_workbench(doc), {})


def _inputs_beyond_workbench(doc: Document) -> tuple:
    """What evidence reads besides the workbench, the catalogue and the run date: the harm index file.

    The workbench's cache key does not cover that file, so the items kept on one workbench are
    kept apart for each state of it (its path, modification time and size).
    """
    setting = getattr(doc.catalogue, "harm_weights", None)
    if setting is None:
        return ()
    path = Path(doc.catalogue.root) / setting.file
    try:
        st = path.stat()
    except OSError:
        return (str(path),)
    return (str(path.resolve()), st.st_mtime_ns, st.st_size, st.st_ino)


def crime_datasets(doc: Document) -> list[str]:
    """Keys of the datasets playing the police recorded crime role (``recorded_crime``).

    Raises
    ------
    CatalogueError
        When no dataset plays the role: every document needs police recorded crime.
    """
    keys = doc.catalogue.datasets_with_role("recorded_crime")
    if not keys:
        from ..errors import CatalogueError

        raise CatalogueError(
            "The documents need police recorded crime: no dataset in the catalogue plays the role "
            "`recorded_crime` (a dataset of format police_uk_street plays it by default; otherwise add "
            f"`role: recorded_crime` to it). The catalogue has {sorted(doc.catalogue.datasets)}.")
    return keys


def crime_dataset(doc: Document) -> str:
    """The (first) police recorded crime dataset's key; see :func:`crime_datasets`."""
    return crime_datasets(doc)[0]


def role_dataset(doc: Document, role: str) -> str | None:
    """The first dataset playing ``role`` (see ``assessment.catalogue.DATASET_ROLES``), or None."""
    return doc.catalogue.dataset_with_role(role)


def crime_category_map(doc: Document) -> dict[str, str]:
    """Crime type -> theme, from the category map of the police recorded crime dataset(s)."""
    out: dict[str, str] = {}
    for key in crime_datasets(doc):
        name = doc.catalogue.datasets[key].category_map
        out.update(doc.catalogue.category_maps.get(name, {}) if name else {})
    return out


def crime_breaks(doc: Document, category: str | None = None) -> list:
    """Series breaks the catalogue declares for the police recorded crime dataset(s), within the data's months.

    A break before the first month of data (or after the last) changes nothing the documents compare.
    """
    w = doc.catalogue.partnership.window
    return [b for key in crime_datasets(doc) for b in doc.catalogue.breaks_for(key, category)
            if w.start < b.month <= w.end]


def window(doc: Document) -> tuple[str, str]:
    """First and last month of the assessment window."""
    w = doc.catalogue.partnership.window
    return w.start, w.end


def last_months(doc: Document, n: int = 12) -> list[str]:
    """The latest ``n`` months of the window."""
    return doc.catalogue.partnership.window.months[-n:]


_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                "October", "November", "December")


def month_words(month: str) -> str:
    """'2025-12' -> 'December 2025'."""
    return f"{_MONTH_NAMES[int(month[5:7]) - 1]} {month[:4]}"


def comparison_periods(doc: Document) -> dict[str, Any]:
    """The year this document reports and the year it is compared with, from the data's months.

    The catalogue's ``partnership.period`` chooses the kind of year: ``rolling_12`` (the
    latest 12 months of data against the 12 before), ``financial_year`` (April to March) or
    ``calendar_year``. Only complete periods are compared; months after the latest complete
    financial or calendar year are a partial period, labelled as such and never compared.

    Returns
    -------
    dict
        ``kind``; ``current`` and ``previous`` (lists of ``YYYY-MM``; ``previous`` empty when
        the data hold no complete period before the current one); ``current_label`` and
        ``previous_label`` (e.g. "the 12 months to December 2025", "financial year 2024-25");
        ``comparable`` (both periods complete, 12 months each); ``complete`` (the current
        period is a whole year); ``partial`` (months after the current period) and
        ``partial_label``; ``n_months`` (months of data in the window).
    """
    def build() -> dict[str, Any]:
        months = doc.catalogue.partnership.window.months
        kind = doc.catalogue.partnership.period
        n = len(months)

        def rolling() -> dict[str, Any]:
            cur = months[-12:]
            prev = months[-24:-12] if n >= 24 else []
            cur_label = (f"the 12 months to {month_words(cur[-1])}" if len(cur) == 12 else
                         f"the {len(cur)} month{'s' if len(cur) != 1 else ''} of data, "
                         + (f"{month_words(cur[0])} to {month_words(cur[-1])}" if len(cur) > 1 else month_words(cur[0])))
            return {"current": cur, "previous": prev, "current_label": cur_label,
                    "previous_label": f"the 12 months to {month_words(prev[-1])}" if prev else "", "partial": [],
                    "partial_label": ""}

        if kind == "rolling_12":
            out = rolling()
        else:
            first = 4 if kind == "financial_year" else 1
            starts = [i for i, m in enumerate(months) if int(m[5:7]) == first and i + 12 <= n]
            if not starts:
                out = rolling()
                out["current_label"] += (" (the data hold no complete " +
                                         ("financial year" if first == 4 else "calendar year") + ")")
            else:
                def label(block: list[str]) -> str:
                    y = int(block[0][:4])
                    return f"financial year {y}-{str(y + 1)[2:]}" if first == 4 else f"{y}"

                i = starts[-1]
                cur = months[i:i + 12]
                prev = months[i - 12:i] if i >= 12 else []
                partial = months[i + 12:]
                plabel = ""
                if partial:
                    plabel = (f"{label(partial)} so far ({month_words(partial[0])} to {month_words(partial[-1])}, "
                              f"{len(partial)} month{'s' if len(partial) != 1 else ''}, partial)")
                out = {"current": cur, "previous": prev, "current_label": label(cur),
                       "previous_label": label(prev) if prev else "", "partial": partial, "partial_label": plabel}
        out.update({"kind": kind, "n_months": n, "complete": len(out["current"]) == 12,
                    "comparable": len(out["current"]) == 12 and len(out["previous"]) == 12})
        return out

    return _cached(doc, "comparison_periods", build)


def last_year(doc: Document) -> list[str]:
    """The months of the year this document reports (see :func:`comparison_periods`).

    The latest 12 months of the window by default, the latest complete financial or calendar
    year when the catalogue says so, or every month when the data hold fewer than 12.
    """
    return comparison_periods(doc)["current"]


def previous_year(doc: Document) -> list[str]:
    """The months of the year before :func:`last_year` (empty when the data do not reach it)."""
    return comparison_periods(doc)["previous"]


def data_to_sentence(doc: Document) -> str:
    """'Data to December 2025; produced 25 November 2026.' -- stated together in every document."""
    end = doc.catalogue.partnership.window.end
    d = doc.run_date
    return f"Data to {month_words(end)}; produced {d.day} {_MONTH_NAMES[d.month - 1]} {d.year}."


#: Fewest months for a trend (the regression needs a year; season terms need two).
MIN_TREND_MONTHS = 12


def area_names(doc: Document) -> pd.Series:
    """Small-area code -> name (the code itself where the geography carries no name), for sentences."""
    sa = doc.workbench.small_areas
    codes = sa["code"].astype(str)
    names = sa["name"].astype("string") if "name" in sa.columns else pd.Series(pd.NA, index=sa.index, dtype="string")
    return pd.Series(names.fillna(codes).astype(str).to_numpy(), index=codes.to_numpy())


def evidence_police(doc: Document) -> pd.DataFrame:
    """Police street-level crime and ASB in the window, with areas assigned.

    A shallow copy: pandas' copy-on-write keeps the workbench's frame unchanged by any edit.
    """
    return _cached(doc, "police", lambda: doc.workbench.dataset_events(crime_datasets(doc)).copy(deep=False))


@dataclass(frozen=True)
class PoliceIndex:
    """The police events of :func:`evidence_police` as a narrow frame of integer codes and coordinates.

    Row ``i`` of every array is row ``i`` of :func:`evidence_police`. Months and crime types are
    dictionary-encoded once (``months[month[i]]``, ``categories[category[i]]``), each event's
    cell of the analysis grid (:func:`evidence_grid`) is found once by arithmetic on its
    easting and northing, so evidence selects rows by integer masks instead of filtering copies
    of the wide frame and counts cells without building point objects.

    Attributes
    ----------
    months, categories : numpy.ndarray of str
        The distinct values, in order of first appearance.
    month, category : numpy.ndarray of int64
        Each event's code (-1 where missing).
    x, y : numpy.ndarray of float
        Easting and northing (NaN where missing).
    located : numpy.ndarray of bool
        Both coordinates present (the rows :func:`points_of` keeps).
    cell : numpy.ndarray of int64
        Position of the event's grid cell in :func:`evidence_grid` (-1 outside it or unlocated).
    """

    months: np.ndarray
    categories: np.ndarray
    month: np.ndarray
    category: np.ndarray
    x: np.ndarray
    y: np.ndarray
    located: np.ndarray
    cell: np.ndarray

    def mask(self, categories: list[str] | None = None, months: list[str] | None = None,
             located: bool = False) -> np.ndarray:
        """Rows of some crime types and months (all when None), optionally only those with coordinates."""
        keep = np.ones(self.month.size, dtype=bool) if not located else self.located.copy()
        if categories is not None:
            keep &= np.isin(self.category, np.flatnonzero(np.isin(self.categories, list(categories))))
        if months is not None:
            keep &= np.isin(self.month, np.flatnonzero(np.isin(self.months, list(months))))
        return keep


def police_index(doc: Document) -> PoliceIndex:
    """The narrow frame of :func:`evidence_police` (built once per document; see :class:`PoliceIndex`)."""

    def build() -> PoliceIndex:
        ev = evidence_police(doc)
        month, months = pd.factorize(ev["month"], use_na_sentinel=True)
        category, categories = pd.factorize(ev["category"], use_na_sentinel=True)
        x = ev["easting"].to_numpy(dtype=float, na_value=np.nan)
        y = ev["northing"].to_numpy(dtype=float, na_value=np.nan)
        located = (ev["easting"].notna() & ev["northing"].notna()).to_numpy()
        cell = hotspots.hotspot_cell_positions(np.where(located, x, np.nan), np.where(located, y, np.nan),
                                               evidence_grid(doc))
        return PoliceIndex(np.asarray(months, dtype=object), np.asarray(categories, dtype=object),
                           month.astype(np.int64), category.astype(np.int64), x, y, located, cell)

    return _cached(doc, "police_index", build)


def evidence_ward_month_counts(doc: Document) -> pd.DataFrame:
    """Police events by ward (boundary version in force) and month; unlocated rows kept.

    Returns
    -------
    DataFrame
        ``month, ward_version, ward_code, ward_name, count``. Rows without coordinates
        carry ``ward_code`` = ``(no coordinates)``; rows with coordinates outside every
        ward carry ``(outside the partnership)``. The counts sum to every accepted row.
    """

    def build() -> pd.DataFrame:
        used = ["month", "ward_code", "ward_code_version", "easting", "northing"]
        ev = evidence_police(doc)[used]  # the columns counted here, not a copy of every column
        out_ev = doc.workbench.extras.get("outside")
        if out_ev is not None and len(out_ev):
            # Points outside the partnership are left out of the analysis but still accounted for here.
            out_ev = out_ev[out_ev["dataset"].isin(crime_datasets(doc)) & out_ev["month"].isin(doc.workbench.window)]
            ev = pd.concat([ev, out_ev.assign(ward_code=pd.NA, ward_code_version=pd.NA)[used]], ignore_index=True)
        has_xy = ev["easting"].notna() & ev["northing"].notna()
        code = ev["ward_code"].astype("string")
        code = code.mask(~has_xy, "(no coordinates)").fillna("(outside the partnership)")
        version = ev["ward_code_version"].astype("string").fillna("")
        # grouped as Arrow text (no Python string per row), then labelled like the text they hold
        frame = pd.DataFrame({"month": ev["month"].astype("str").array, "ward_version": version.astype("str").array,
                              "ward_code": code.astype("str").array})
        out = frame.groupby(["month", "ward_version", "ward_code"], as_index=False).size()
        out = out.rename(columns={"size": "count"})
        names = {}
        for v in doc.workbench.registry.geographies["wards"]:
            names.update(dict(zip(v.units["code"].astype(str), v.units["name"].astype(str))))
        out["ward_name"] = out["ward_code"].map(names).fillna(out["ward_code"])
        return out[["month", "ward_version", "ward_code", "ward_name", "count"]].sort_values(
            ["month", "ward_code"], ignore_index=True)

    return _cached(doc, "ward_month", build)


def evidence_monthly(doc: Document, by: str = "category", dataset: str | None = None) -> pd.DataFrame:
    """Monthly counts per ``by`` over the window, zeros filled (police recorded crime by default)."""
    start, end = window(doc)
    keys = crime_datasets(doc) if dataset is None else [dataset]
    return _cached(
        doc, f"monthly-{','.join(keys)}-{by}",
        lambda: trends.trend_monthly(doc.workbench.dataset_events(keys), start, end, by=by),
    )


def breaks_frame(doc: Document, category: str | None = None, dataset: str | None = None) -> pd.DataFrame:
    """The catalogue's series breaks for a dataset (police recorded crime by default) as a chartable frame."""
    found = crime_breaks(doc, category) if dataset is None else doc.catalogue.breaks_for(dataset, category)
    return trends.trend_breaks([{"month": b.month, "label": b.label, "category": b.category} for b in found])


def _series(monthly: pd.DataFrame, by: str, value: str) -> pd.Series:
    sub = monthly[monthly[by] == value]
    return pd.Series(sub["count"].to_numpy(), index=sub["month"].to_numpy())


def evidence_category_trends(doc: Document) -> pd.DataFrame:
    """Per crime type: volume, year-on-year change, trend net of season and breaks, wording.

    The crime types form one family of tests: the year-on-year and trend p-values are
    adjusted for the false discovery rate across them (Benjamini-Hochberg,
    ``trends.trend_fdr``), and the sentences decide on, and show, the adjusted values.

    Returns
    -------
    DataFrame
        ``category, theme, total_window, last_12, previous_12, pct_change, yoy_p, yoy_q,
        yoy_comparable, trend_pct, trend_low, trend_high, trend_p, trend_q, family,
        break_months, step_pct, step_p, yoy_sentence, trend_sentence`` (``*_q``: the
        FDR-adjusted p-values; ``yoy_q`` is NaN where a series break makes the years not
        comparable, and such rows are not in the year-on-year family).
    """

    def build() -> pd.DataFrame:
        monthly = evidence_monthly(doc, "category")
        per = comparison_periods(doc)
        cur, prev = per["current"], per["previous"]
        if per["comparable"]:
            yoy = trends.trend_year_on_year(monthly, end=cur[-1], by="category")
            yoy["current_period"] = per["current_label"]
            yoy = yoy.set_index("category")
        else:
            counts = monthly[monthly["month"].isin(cur)].groupby("category")["count"].sum()
            yoy = pd.DataFrame({"current": counts, "previous": np.nan, "pct_change": np.nan, "p_value": np.nan,
                                "current_period": per["current_label"]})
        themes = crime_category_map(doc)
        n_months = per["n_months"]
        rows, glms, brk_frames = [], {}, {}
        cats = sorted(monthly["category"].unique())
        all_series = {cat: _series(monthly, "category", cat) for cat in cats}
        all_breaks = {cat: breaks_frame(doc, cat) for cat in cats}
        rho = None  # one autocorrelation for the family: the crime types share the partnership's recording
        if n_months >= MIN_TREND_MONTHS:
            rho = trends.trend_pooled_autocorrelation(
                all_series, {cat: list(b["month"]) or None for cat, b in all_breaks.items()})["autocorrelation"]
        for cat in cats:  # one model per crime type (14), not per row
            series = all_series[cat]
            brks = all_breaks[cat]
            brk_months = list(brks["month"]) if len(brks) else None
            y = yoy.loc[cat]
            if n_months >= MIN_TREND_MONTHS:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    glm = trends.trend_glm(series, breaks=brk_months, rho=rho)
                trend = glm[glm["term"] == "trend"].iloc[0]
                steps = glm[glm["term"] == "step"]
                family = trend["family"]
            else:
                glm = None
                trend = pd.Series({"estimate_pct": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan})
                steps = pd.DataFrame(columns=["estimate_pct", "p_value"])
                family = ""
            glms[cat], brk_frames[cat] = glm, brks
            straddles = [m for m in (brk_months or []) if prev and prev[0] < m <= cur[-1]]
            rows.append({
                "category": cat, "theme": themes.get(cat, "other"),
                "total_window": int(series.sum()), "last_12": int(y["current"]),
                "previous_12": int(y["previous"]) if per["comparable"] else np.nan,
                "pct_change": float(y["pct_change"]), "yoy_p": float(y["p_value"]),
                "yoy_comparable": bool(per["comparable"] and not straddles),
                "straddles": straddles[0] if straddles else "",
                "trend_pct": float(trend["estimate_pct"]), "trend_low": float(trend["ci_low"]),
                "trend_high": float(trend["ci_high"]), "trend_p": float(trend["p_value"]),
                "family": family,
                "break_months": ", ".join(brk_months or []),
                "step_pct": float(steps["estimate_pct"].iloc[0]) if len(steps) else np.nan,
                "step_p": float(steps["p_value"].iloc[0]) if len(steps) else np.nan,
            })
        out = pd.DataFrame(rows)
        out["trend_q"] = trends.trend_fdr(out["trend_p"].to_numpy())
        out["yoy_q"] = trends.trend_fdr(out["yoy_p"].where(out["yoy_comparable"]).to_numpy())
        if per["comparable"]:
            yoy_rows = yoy.loc[out["category"]].reset_index().assign(p_adjusted=out["yoy_q"].to_numpy())
            out["yoy_sentence"] = wording.describe_year_on_year(yoy_rows).to_numpy()
            if per["kind"] != "rolling_12":
                out["yoy_sentence"] = out["yoy_sentence"].str.replace(" a year earlier", f" in {per['previous_label']}",
                                                                      regex=False)
            broken = ~out["yoy_comparable"]
            out.loc[broken, "yoy_sentence"] = (
                out.loc[broken, "last_12"].map("{:,}".format) + f" in {per['current_label']} against "
                + out.loc[broken, "previous_12"].map("{:,.0f}".format) + f" in {per['previous_label']}; not comparable "
                "year on year, because the counting rule changed in " + out.loc[broken, "straddles"].map(
                    lambda m: month_words(m) if m else m))
        else:
            out["yoy_sentence"] = (out["last_12"].map("{:,}".format) + f" in {per['current_label']}; not compared with "
                                   "a year earlier, because the data do not hold a complete year before it")
        sentences = []
        for cat, q in zip(out["category"], out["trend_q"]):  # 14 crime types
            if glms[cat] is None:
                sentences.append(f"no trend is estimated from {n_months} month{'s' if n_months != 1 else ''} of data "
                                 f"(a trend needs at least {MIN_TREND_MONTHS})")
                continue
            glm = glms[cat].assign(p_adjusted=np.where(glms[cat]["term"] == "trend", q, np.nan))
            brks = brk_frames[cat]
            sentences.append(wording.describe_trend(glm, brks if len(brks) else None))
        out["trend_sentence"] = sentences
        cols = ["category", "theme", "total_window", "last_12", "previous_12", "pct_change", "yoy_p", "yoy_q",
                "yoy_comparable", "trend_pct", "trend_low", "trend_high", "trend_p", "trend_q", "family",
                "break_months", "step_pct", "step_p", "yoy_sentence", "trend_sentence"]
        return out[cols].sort_values("last_12", ascending=False, ignore_index=True)

    return _cached(doc, "category_trends", build)


def evidence_seasonality(doc: Document, category: str = ASB) -> pd.DataFrame:
    """Seasonality test (month-of-year GLM and STL strength) for one crime type."""
    def build() -> pd.DataFrame:
        series = _series(evidence_monthly(doc, "category"), "category", category)
        brks = [b.month for b in crime_breaks(doc, category)] or None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return trends.trend_seasonality(series, breaks=brks)

    return _cached(doc, f"season-{category}", build)


def evidence_ward_rates(doc: Document, categories: list[str] | None = None) -> gpd.GeoDataFrame:
    """Crimes per 1,000 residents by current ward over the latest 12 months, with CIs and labels.

    Events are re-aggregated exactly from their points to the current ward boundaries
    (all of the latest 12 months fall under them); population comes from the small
    areas by population-weighted apportionment. The intervals (and so the labels against
    the partnership rate) allow for over-dispersion and for correlation between neighbouring
    months: ``dispersion`` is the ``design_effect`` of
    :func:`~assessment.analysis.rates.rate_table_dispersion` of the rated wards' counts by
    month, applied by :func:`~assessment.analysis.rates.rate_compared_with_total`.
    """
    key = "ward_rates-" + ",".join(categories or ["all"])

    def build() -> gpd.GeoDataFrame:
        ev = evidence_police(doc)[["month", "category", "ward_code"]]  # the columns counted here
        months = last_year(doc)
        ev = ev[ev["month"].isin(months)]
        if categories:
            ev = ev[ev["category"].isin(categories)]
        wards = doc.workbench.wards
        counts = ev.groupby("ward_code").size()
        out = wards[["code", "name", "population", "geometry"]].copy()
        out["count"] = out["code"].astype(str).map(counts).fillna(0).astype(int)
        pop = pd.to_numeric(out["population"], errors="coerce")
        ok = (pop > 0).to_numpy()
        if not ok.any():
            # No residents supplied: counts without rates (documents say so plainly).
            out = out.assign(rate=np.nan, ci_low=np.nan, ci_high=np.nan, compared_with_partnership="no population",
                             partnership_rate=np.nan, dispersion=np.nan)
            return out.sort_values("count", ascending=False, ignore_index=True)
        by_month = ev.groupby(["ward_code", "month"]).size().unstack(fill_value=0)
        by_month = by_month.reindex(index=out.loc[ok, "code"].astype(str), columns=months, fill_value=0)  # rated wards
        design = rates.rate_table_dispersion(by_month)["design_effect"]
        rated = rates.rate_compared_with_total(out[ok], count_col="count", population_col="population",
                                               dispersion=design)
        overall = float(rated["total_rate"].iloc[0])
        rated = rated.drop(columns=["total_rate"]).rename(columns={"significance": "compared_with_partnership"})
        unrated = out[~ok].assign(rate=np.nan, ci_low=np.nan, ci_high=np.nan,
                                  compared_with_partnership="no residents")
        out = pd.concat([rated, unrated[rated.columns.intersection(unrated.columns)]], ignore_index=True)
        out = gpd.GeoDataFrame(out, geometry="geometry", crs=wards.crs)
        out["partnership_rate"] = overall
        return out.sort_values(["rate", "count"], ascending=False, ignore_index=True, na_position="last")

    return _cached(doc, key, build)


def ward_dispersion_note(dispersion: Any, when: str, lead: str) -> str:
    """A table note, in plain words, on the allowance for over-dispersion in ward counts.

    ``dispersion`` is :func:`~assessment.analysis.rates.rate_table_dispersion`'s
    ``design_effect`` of the wards' counts by month in ``when`` (e.g. "the latest 12 months"),
    or a column of it (its first value that is a number is used); ``lead`` opens the sentence
    and is followed by the factor.
    """
    values = pd.to_numeric(pd.Series(np.atleast_1d(dispersion)), errors="coerce").dropna()
    if values.empty:
        return "No ward was compared, so no allowance for extra variation was estimated."
    phi = float(values.iloc[0])
    if phi <= 1.0:
        return (f"{lead} 1: month by month, the wards' crimes in {when} vary around their own level no more than "
                "chance alone would make them, so no allowance for extra variation is needed.")
    return (f"{lead} {phi:.2f}: judged by how the wards' crimes in {when} vary from month to month around their "
            "own level, a ward's count over a year varies about "
            f"{phi:.2f} times as much as chance alone would make it (repeat victims, series offenders, several "
            "crimes in one incident, busy or quiet spells lasting more than a month), so it is that much less "
            "certain.")


def evidence_grid(doc: Document) -> gpd.GeoDataFrame:
    """The analysis grid over the partnership boundary (default cell size from the extent)."""
    return _cached(doc, "grid", lambda: hotspots.hotspot_grid(doc.workbench.boundary, clip=doc.workbench.boundary))


def evidence_weights(doc: Document):
    """Gi* neighbour weights for the analysis grid, built once per document and reused."""
    return _cached(doc, "grid_weights", lambda: hotspots.hotspot_weights(evidence_grid(doc)))


def points_of(events: pd.DataFrame) -> gpd.GeoDataFrame:
    """Events with coordinates as a point GeoDataFrame in EPSG:27700."""
    ev = events[events["easting"].notna() & events["northing"].notna()]
    return gpd.GeoDataFrame(ev, geometry=gpd.points_from_xy(ev["easting"], ev["northing"]), crs=27700)


def hotspot_count_grid(doc: Document, categories: list[str], months: list[str] | None = None) -> gpd.GeoDataFrame:
    """Events of some crime types per grid cell over some months (the latest 12 by default)."""
    months = months or last_year(doc)
    key = f"counts-{','.join(categories)}-{months[0]}-{months[-1]}"

    def build() -> gpd.GeoDataFrame:
        # hotspots.hotspot_count on the points of these events, from each event's cell found once
        idx = police_index(doc)
        pos = idx.cell[idx.mask(categories, months, located=True)]
        grid = evidence_grid(doc)
        out = grid.copy()
        out["count"] = np.bincount(pos[pos >= 0], minlength=len(grid)).astype(np.int64)
        return out

    return _cached(doc, key, build)


def evidence_hotspots(doc: Document, categories: list[str], months: list[str] | None = None) -> gpd.GeoDataFrame:
    """Gi* hot spots (FDR-corrected) for some crime types over some months."""
    months = months or last_year(doc)
    key = f"gistar-{','.join(categories)}-{months[0]}-{months[-1]}"
    return _cached(doc, key, lambda: hotspots.hotspot_gistar(hotspot_count_grid(doc, categories, months),
                                                              weights=evidence_weights(doc)))


def complete_years(doc: Document) -> list[list[str]]:
    """Complete 12-month periods ending with the reported year, oldest first (see :func:`comparison_periods`).

    A partial period (fewer than 12 months) is never included, so classes over time and year
    tables compare whole years only.
    """
    def build() -> list[list[str]]:
        months = doc.catalogue.partnership.window.months
        cur = comparison_periods(doc)["current"]
        if len(cur) < 12:
            return []
        end = months.index(cur[-1]) + 1
        blocks = []
        while end - 12 >= 0:
            blocks.append(months[end - 12:end])
            end -= 12
        return blocks[::-1]

    return _cached(doc, "complete_years", build)


def period_name(doc: Document, year: str) -> str:
    """The name of a complete period from its label year (the year its last month falls in).

    Calendar years and rolling years ending in December are the year ('2025'); financial
    years read 'financial year 2024-25'; other rolling years 'the 12 months to June 2025'.
    """
    kind = doc.catalogue.partnership.period
    for block in complete_years(doc):
        if block[-1][:4] == str(year):
            if kind == "financial_year" and block[0][5:7] == "04":
                return f"financial year {block[0][:4]}-{block[-1][2:4]}"
            if block[-1][5:7] == "12":
                return block[-1][:4]
            return f"the 12 months to {month_words(block[-1])}"
    return str(year)


def evidence_hotspot_classes(doc: Document, categories: list[str]) -> gpd.GeoDataFrame:
    """Emerging, persistent, intermittent and former hot spots over the complete years of the data.

    Years are the complete 12-month periods of :func:`complete_years` (rolling, financial or
    calendar as the catalogue says); a partial year is left out. Each ``count_<year>`` column is
    labelled by the year of the period's last month (name it with :func:`period_name`). With
    fewer than two complete years no cell is classified: every ``pattern`` is ``'not classified'``.
    """
    key = f"classify-{','.join(categories)}"

    def build() -> gpd.GeoDataFrame:
        blocks = complete_years(doc)
        grid = evidence_grid(doc)
        if len(blocks) < 2:
            return grid.assign(pattern="not classified", periods_hot=0)
        label = {m: b[-1][:4] for b in blocks for m in b}
        # hotspots.hotspot_classify on the points of these events with yearly periods, from each
        # event's cell and month found once: the years from the first to the last that hold events
        idx = police_index(doc)
        sel = idx.mask(categories, list(label), located=True)
        year_of = np.array([int(label.get(m, -1)) for m in idx.months], dtype=np.int64)  # distinct months
        years = year_of[idx.month[sel]]
        if years.size == 0 or years.min() == years.max():
            ev = evidence_police(doc)
            ev = ev[ev["category"].isin(categories) & ev["month"].isin(label)].copy()
            ev["date"] = pd.to_datetime(ev["month"].map(label) + "-07-01")
            return hotspots.hotspot_classify(points_of(ev), grid, periods="Y", weights=evidence_weights(doc))
        first, n_years = int(years.min()), int(years.max() - years.min()) + 1
        cell = idx.cell[sel]
        keep = cell >= 0
        counts = np.bincount(cell[keep] * n_years + (years[keep] - first), minlength=len(grid) * n_years)
        return hotspots.hotspot_classify_counts(counts.reshape(len(grid), n_years),
                                                [str(first + k) for k in range(n_years)], grid,
                                                weights=evidence_weights(doc))

    return _cached(doc, key, build)


#: default share of the partnership's grid cells above which a hotspot is reported as widespread
#: (catalogue ``hotspot_widespread_share``)
WIDESPREAD_SHARE = 0.05

_STREET_SUFFIX = (
    r"(?:Road|Street|Lane|Avenue|Close|Drive|Row|Terrace|Court|Gardens|Way|Crescent|Place|Walk|Hill|"
    r"Square|Grove|Green|Mews|Rise|View|Parade|Yard|Quay|Wharf|Gate|End|Vale|Croft|Chase|Fields|Park Road)$"
)


#: descriptions data.police.uk gives anonymised map points that name a kind of place, not a place
#: ("On or near <label>"). data.police.uk says its map points lie over a street, a public place or
#: a commercial premise (police.uk "About": location anonymisation); it publishes no list of the
#: labels, so this one holds those seen in the real City of London street files (2016-01 to
#: 2017-06) and those issue 10 names (Petrol Station, Sports/Recreation Area). Any label with a
#: slash ("Theatre/Concert Hall") is taken as a kind of place too.
PLACE_TYPE_LABELS = (
    "Nightclub", "Supermarket", "Petrol Station", "Parking Area", "Sports/Recreation Area", "Shopping Area",
    "Further/Higher Educational Building", "Hospital", "Police Station", "Pedestrian Subway",
    "Conference/Exhibition Centre", "Park/Open Space", "Bus/Coach Station", "Ferry Terminal",
)
_PLACE_TYPES = {label.lower(): label for label in PLACE_TYPE_LABELS}


def place_type_labels(location: pd.Series) -> pd.Series:
    """The place-type label of each location ("Nightclub"), NA where it is a street or place name.

    data.police.uk anonymises a crime to a nearby map point and describes it as "On or near
    <street>" or, for some points, "On or near <kind of place>" ("Nightclub", "Supermarket",
    "Petrol Station", "Parking Area", ...). The second kind says what the place is, not where it
    is, so documents must never present it as a place name.
    """
    label = location.astype("string").str.replace(r"^\s*On or near\s+", "", regex=True).str.strip()
    known = label.str.lower().map(_PLACE_TYPES).astype("string")
    slashed = label.str.fullmatch(r"[A-Za-z ]+/[A-Za-z /]+", na=False)
    return known.fillna(label.where(slashed)).astype("string")


def nearest_street(doc: Document, cells: gpd.GeoDataFrame, categories: list[str]) -> str:
    """Name a place for some cells: its most common street, and the ward that holds most events.

    data.police.uk map points carry descriptions such as "On or near Supermarket" or
    "On or near Nightclub"; those say what kind of place it is, not where. The most common
    real street name (one ending in a street type) is used, with the ward for orientation,
    e.g. "Canal Avenue (Riverton Central ward)".
    """
    if cells.empty:
        return ""
    # the events within the cells (the sjoin "within" predicate), by coordinates: no point objects
    idx = police_index(doc)
    sel = np.flatnonzero(idx.mask(categories, located=True))
    x, y = idx.x[sel], idx.y[sel]
    hits = []
    for geom in cells.geometry.values:  # one cluster or a few cells
        if geom is None or geom.is_empty:
            continue
        xmin, ymin, xmax, ymax = geom.bounds
        near = np.flatnonzero((x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax))
        hits.append(sel[near[shapely.contains_xy(geom, x[near], y[near])]])
    rows = np.concatenate(hits) if hits else np.array([], dtype=np.int64)
    if rows.size == 0:
        return ""
    ev = evidence_police(doc)
    inside = pd.DataFrame({"location": ev["location"].iloc[rows].to_numpy(),
                           "ward_code": ev["ward_code"].iloc[rows].to_numpy()})
    loc = inside["location"].dropna().astype(str)
    loc = loc[place_type_labels(loc).isna().to_numpy()].str.replace(r"^On or near ", "", regex=True)
    streets = loc[loc.str.contains(_STREET_SUFFIX, regex=True)]
    name = str(streets.mode().iloc[0]) if len(streets) else (str(loc.mode().iloc[0]) if len(loc) else "")
    wards = inside["ward_code"].dropna().astype(str)
    if len(wards):
        names = dict(zip(doc.workbench.wards["code"].astype(str), doc.workbench.wards["name"].astype(str)))
        for v in doc.workbench.registry.geographies.get("wards", []):
            for c, n in zip(v.units["code"].astype(str), v.units["name"].astype(str)):
                names.setdefault(c, n)
        ward = names.get(wards.mode().iloc[0], "")
        if ward:
            return f"{name} ({ward} ward)" if name else f"{ward} ward"
    return name


#: most street names written on a zoomed map (a handful of context labels, not a street atlas)
STREET_LABELS = 6


def street_labels(doc: Document, window: Any, limit: int = STREET_LABELS, avoid: Any = None,
                  focus: Any = None) -> gpd.GeoDataFrame:
    """A few street names inside a map window, from the police data's own location descriptions.

    data.police.uk gives each crime an anonymised map point described as "On or near <street>";
    those points and names are the only street context the partnership's data carry. Within
    ``window`` (a shapely geometry in EPSG:27700; its bounds are used), the most used
    descriptions are taken, "On or near" removed, place-type labels ("Nightclub",
    :func:`place_type_labels`) left out, each at the map point it is most often given. So that
    labels do not print over one another, a label is kept only if it lies at least an eighth of
    the window's longer side across (a fourteenth up or down: labels are wide and short) from
    every label already kept and from the points in ``avoid`` (e.g. where the ward names are
    written). Streets with map points inside ``focus`` (e.g. the hotspot's cells) come first, and
    the first of them is written even beside a ward name: it is the street the map is about.

    Returns
    -------
    GeoDataFrame
        ``label`` and point ``geometry`` (EPSG:27700), at most ``limit`` rows, busiest first;
        one label per name and per map point.
    """
    if not isinstance(limit, int) or limit < 0:
        raise ValueError(f"`limit` must be a whole number of labels (0 or more), got {limit!r}")
    xmin, ymin, xmax, ymax = window.bounds
    pol = evidence_police(doc)
    inside = pol[pol["easting"].between(xmin, xmax) & pol["northing"].between(ymin, ymax) & pol["location"].notna()]
    label = inside["location"].astype("string").str.replace(r"^\s*On or near\s+", "", regex=True).str.strip()
    ok = (place_type_labels(inside["location"]).isna() & label.notna() & (label != "")).to_numpy()
    frame = pd.DataFrame({"label": label[ok].astype(str).to_numpy(), "x": inside["easting"].to_numpy()[ok],
                          "y": inside["northing"].to_numpy()[ok]})
    busiest = frame.groupby(["label", "x", "y"]).size().rename("n").reset_index()
    busiest = busiest.assign(total=busiest.groupby("label")["n"].transform("sum"), inside=False)
    if focus is not None and len(busiest):
        pts = gpd.GeoSeries(gpd.points_from_xy(busiest["x"], busiest["y"]), crs=27700)
        busiest["inside"] = pts.within(focus).to_numpy()
    busiest = busiest.sort_values(["inside", "total", "n", "label"], ascending=[False, False, False, True])
    busiest = busiest.drop_duplicates("label").drop_duplicates(["x", "y"]).head(20 * max(limit, 1))
    side = max(xmax - xmin, ymax - ymin)
    gap_x, gap_y = side / 5, side / 14
    avoided = ([] if avoid is None else
               [(float(x), float(y)) for x, y in zip(avoid.geometry.x.to_numpy(), avoid.geometry.y.to_numpy())])
    placed: list[tuple[float, float]] = []
    keep = []
    xs, ys = busiest["x"].to_numpy(float), busiest["y"].to_numpy(float)
    first_inside = bool(busiest["inside"].iloc[0]) if len(busiest) else False
    for i in range(len(busiest)):  # at most 20 candidates per label wanted, never the events themselves
        if len(keep) >= limit:
            break
        others = placed + ([] if (i == 0 and first_inside) else avoided)
        if all(abs(xs[i] - px) >= gap_x or abs(ys[i] - py) >= gap_y for px, py in others):
            keep.append(i)
            placed.append((xs[i], ys[i]))
    chosen = busiest.iloc[keep]
    return gpd.GeoDataFrame({"label": chosen["label"].to_numpy()},
                            geometry=gpd.points_from_xy(chosen["x"], chosen["y"]), crs=27700)


def hotspot_clusters(cells: gpd.GeoDataFrame, flag: str = "hotspot", value: str = "hot",
                     widespread_share: float | None = None) -> gpd.GeoDataFrame:
    """Group flagged grid cells into clusters of touching cells (queen contiguity).

    Returns one row per cluster, largest event count first: ``cluster, cells, events,
    geometry`` (the dissolved cells), ``area_share`` (the cluster's cells over all cells of
    ``cells``, the partnership's grid) and ``widespread`` (``area_share`` above
    ``widespread_share``, default the catalogue's ``hotspot_widespread_share`` of 0.05: such a
    "hotspot" is an area-wide problem, not a place to patrol). Uses :func:`scipy.ndimage.label`
    on the grid's row/column layout, so it is vectorised whatever the number of cells.
    """
    from scipy import ndimage

    share = WIDESPREAD_SHARE if widespread_share is None else float(widespread_share)
    if not 0 < share < 1:
        raise ValueError(f"`widespread_share` must be a share between 0 and 1, got {widespread_share!r}")
    hot = cells[cells[flag] == value]
    if hot.empty:
        return gpd.GeoDataFrame({"cluster": [], "cells": [], "events": [], "area_share": [],
                                 "widespread": pd.Series([], dtype=bool)}, geometry=[], crs=cells.crs)
    rows, cols = cells["row"].to_numpy(int), cells["col"].to_numpy(int)
    grid = np.zeros((rows.max() + 1, cols.max() + 1), dtype=bool)
    grid[hot["row"].to_numpy(int), hot["col"].to_numpy(int)] = True
    labels, _ = ndimage.label(grid, structure=np.ones((3, 3), dtype=int))
    hot = hot.assign(cluster=labels[hot["row"].to_numpy(int), hot["col"].to_numpy(int)])
    out = hot.dissolve(by="cluster", aggfunc={"count": "sum", "row": "size"}).rename(
        columns={"count": "events", "row": "cells"}).reset_index()
    out["area_share"] = out["cells"] / len(cells)
    out["widespread"] = out["area_share"] > share
    return out.sort_values("events", ascending=False, ignore_index=True)[
        ["cluster", "cells", "events", "area_share", "widespread", "geometry"]]


#: cells of a widespread hotspot named as its busiest part (about a 3 x 3 block: a place one patrol can cover)
CORE_CELLS = 9


def hotspot_core(cells: gpd.GeoDataFrame, cluster: Any, n: int = CORE_CELLS) -> gpd.GeoDataFrame:
    """The ``n`` busiest cells of ``cells`` inside one cluster's geometry (its most events first).

    A widespread hotspot is no place to patrol, but its busiest part is: the documents name that
    part ("busiest around ...") so partners still know where it peaks.
    """
    inside = cells[cells.geometry.representative_point().within(cluster)]
    return inside.sort_values("count", ascending=False, kind="stable").head(n)


def widespread_share(doc: Document) -> float:
    """The catalogue's ``hotspot_widespread_share`` (default 0.05): above it a hotspot is widespread."""
    return float(getattr(doc.catalogue, "hotspot_widespread_share", WIDESPREAD_SHARE))


def widespread_words(cells: int, area_share: float, share: float) -> str:
    """How a widespread hotspot is reported: "widespread (345 grid cells, 10% of the area, ...)".

    Says what it is (an area-wide problem) and why (more than ``share`` of the partnership's
    grid cells), so no document sends a patrol to a tenth of the partnership.
    """
    return (f"widespread ({cells:,} grid cells, {area_share:.0%} of the partnership's area, more than the "
            f"{share:.0%} a hotspot may cover and still be a place to patrol): an area-wide problem, not a place")


def evidence_hotspot_headlines(doc: Document) -> pd.DataFrame:
    """Per crime type: significant hot cells in the latest year and emerging cells over the window."""

    def build() -> pd.DataFrame:
        rows = []
        for cat in evidence_category_trends(doc)["category"]:  # 14 crime types
            hot = evidence_hotspots(doc, [cat])
            classes = evidence_hotspot_classes(doc, [cat])
            hot_cells = hot[hot["hotspot"] == "hot"]
            clusters = hotspot_clusters(hot, widespread_share=widespread_share(doc))
            top = clusters.iloc[:1]
            wide = bool(top["widespread"].iloc[0]) if len(top) else False
            emerging = classes[classes["pattern"] == "emerging"]
            year_cols = [c for c in classes.columns if c.startswith("count_")]
            em_clusters = (hotspot_clusters(classes.assign(count=classes[year_cols[-1]]), flag="pattern", value="emerging")
                           if year_cols else hotspot_clusters(classes.assign(count=0, pattern=""), flag="pattern"))
            persistent = classes[classes["pattern"] == "persistent"]
            total = int(hot["count"].sum())
            rows.append({
                "category": cat,
                "hot_cells": len(hot_cells),
                "events_in_hot_cells": int(hot_cells["count"].sum()),
                "hot_clusters": len(clusters),
                "top_cluster_cells": int(top["cells"].iloc[0]) if len(top) else 0,
                "top_cluster_events": int(top["events"].iloc[0]) if len(top) else 0,
                "top_cluster_share": float(top["events"].iloc[0]) / total if len(top) and total else 0.0,
                "top_cluster_area_share": float(top["cells"].iloc[0]) / len(hot) if len(top) else 0.0,
                # a widespread hotspot is not one place: it is named by its busiest part
                "hot_place": ("" if not len(top) else nearest_street(doc, top, [cat]) if not wide else
                              nearest_street(doc, hotspot_core(hot_cells, top.geometry.iloc[0]), [cat])),
                "top_cluster_widespread": wide,
                "emerging_cells": len(emerging),
                "emerging_place": nearest_street(doc, em_clusters.iloc[:1], [cat]) if len(em_clusters) else "",
                "persistent_cells": len(persistent),
            })
        return pd.DataFrame(rows)

    return _cached(doc, "hotspot_headlines", build)


def evidence_harm_weights(doc: Document) -> pd.DataFrame | None:
    """The catalogue's published harm index (crime_type, weight), or None when none is set."""
    setting = doc.catalogue.harm_weights
    if setting is None:
        return None
    return _cached(doc, "harm_weights", lambda: harm.harm_load_index(doc.catalogue.root / setting.file))


#: how documents name each prioritisation criterion
CRITERION_WORDS = {"volume": "volume", "trend": "trend", "harm": "harm", "vulnerability": "repeat locations",
                   "concern": "residents' concern", "capacity": "the partnership's capacity"}


def priority_criteria_scored(doc: Document) -> list[str]:
    """The prioritisation criteria that were scored for at least one issue, in words, in matrix order."""
    m = evidence_priorities(doc)
    return [CRITERION_WORDS[c] for c in priorities.PRIORITY_CRITERIA
            if f"score_{c}" in m.columns and m[f"score_{c}"].notna().any()]


def harm_basis(doc: Document) -> str:
    """One sentence saying what harm rests on: the index, its source, year and mapping, or that none is set."""
    setting = doc.catalogue.harm_weights
    if setting is None:
        from .prose import and_list

        return ("No published harm index is set in the catalogue, so priorities are not weighted by harm: "
                f"{and_list(priority_criteria_scored(doc))} decide them.")
    return (f"Harm weights: {setting.index} ({setting.year}), from {setting.source}; mapped to the recorded crime "
            f"types as follows: {setting.mapping}")


def evidence_harm(doc: Document) -> pd.DataFrame | None:
    """Volume and harm by crime type over the latest 12 months, with the catalogue's harm index.

    None when the catalogue sets no harm index (priorities are then not weighted by harm).
    """
    weights = evidence_harm_weights(doc)
    if weights is None:
        return None

    def build() -> pd.DataFrame:
        ev = evidence_police(doc)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # crime types the index lacks are reported in the harm table
            return harm.harm_by_category(ev[ev["month"].isin(last_year(doc))], weights=weights, scheme="weight")

    return _cached(doc, "harm", build)


def evidence_survey_design(doc: Document) -> pd.Series | None:
    """The residents' survey's design, as every document allows for it; None without a survey.

    ``survey_design_effect``'s row (declared in the catalogue, estimated from a mapped ``cluster``
    column, or assumed 1; with the partnership's weighting effect) plus ``weighted`` (the survey
    maps ``weight``), ``weight_col`` and ``weights_in_design_effect`` (a declared design effect
    already allows for the weights), ready to pass on to the survey functions. Computed each time
    (one pass over the answers), so it always follows the catalogue's current setting.
    """
    from ..analysis import survey

    sv = getattr(doc.workbench.intake, "survey", None)
    if sv is None or len(sv) == 0:
        return None
    key = role_dataset(doc, "survey")
    ds = doc.catalogue.datasets.get(key) if key else None
    weight_col = "weight" if "weight" in sv.columns else None
    design = survey.survey_design_effect(
        sv, cluster_col="cluster" if "cluster" in sv.columns else None, declared=ds.design_effect if ds else None,
        ward_col="area_code" if "area_code" in sv.columns else "ward_code", where=f"datasets.{key}",
        weight_col=weight_col).iloc[0]
    return pd.concat([design, pd.Series({"weighted": weight_col is not None, "weight_col": weight_col,
                                         "weights_in_design_effect": design["source"] == "declared"})])


def evidence_concern_share(doc: Document) -> dict[str, float]:
    """Share of survey respondents naming a concern that matches each crime type (cached)."""
    return _cached(doc, "concern_share", lambda: _concern_share(doc))


def _concern_share(doc: Document) -> dict[str, float]:
    from ..analysis import survey

    sv = getattr(doc.workbench.intake, "survey", None)
    if sv is None or len(sv) == 0:
        return {}
    top = survey.survey_top_concerns(sv, weight_col="weight" if "weight" in sv.columns else None)  # shares only
    shares = dict(zip(top["concern"].astype(str).str.lower(), top["share"]))
    mapping = {
        "Violence and sexual offences": ("violence", "violent crime", "knife crime"),
        "Anti-social behaviour": ("anti-social behaviour", "asb"),
        "Burglary": ("burglary",),
        "Drugs": ("drug dealing", "drugs", "drug use"),
        "Vehicle crime": ("vehicle crime", "car crime"),
        "Criminal damage and arson": ("vandalism", "criminal damage", "graffiti"),
        "Shoplifting": ("shoplifting",),
        "Robbery": ("robbery", "mugging"),
        "Public order": ("public order", "rowdy behaviour"),
        "Possession of weapons": ("knife crime", "weapons"),
        "Bicycle theft": ("bicycle theft", "cycle theft"),
        "Theft from the person": ("theft from the person", "pickpocketing"),
    }
    out = {}
    for cat, words in mapping.items():
        found = [shares[w] for w in words if w in shares]
        if found:
            out[cat] = float(max(found))
    return out


def evidence_repeat_locations(doc: Document) -> pd.Series:
    """Per crime type: share of the latest year's events at map points with 3 or more of them."""
    def build() -> pd.Series:
        ev = evidence_police(doc)[["month", "easting", "northing", "category"]]
        ev = ev[ev["month"].isin(last_year(doc)) & ev["easting"].notna()]
        # a map point is its easting and northing to the metre (two integers, no text keys)
        frame = pd.DataFrame({"category": ev["category"].to_numpy(),
                              "east": ev["easting"].round(0).astype("int64").to_numpy(),
                              "north": ev["northing"].round(0).astype("int64").to_numpy()})
        per = frame.groupby(["category", "east", "north"]).size().rename("n").reset_index()
        total = per.groupby("category")["n"].sum()
        repeat = per[per["n"] >= 3].groupby("category")["n"].sum()
        return (repeat / total).reindex(total.index).fillna(0.0)

    return _cached(doc, "repeat_locations", build)


def evidence_priorities(doc: Document) -> pd.DataFrame:
    """The prioritisation matrix over crime types, with an emerging-hotspot flag.

    Volume and harm are the latest 12 months; trend is the seasonally adjusted annual
    change with series breaks modelled as steps; vulnerability is the share of events at
    repeat locations; concern is the share of residents naming the issue; capacity comes
    from the catalogue by theme.
    """

    def build() -> pd.DataFrame:
        tr = evidence_category_trends(doc).set_index("category")
        tr = tr.drop(index=[c for c in ("Other crime",) if c in tr.index])
        hm = evidence_harm(doc)
        cap_by_theme = doc.catalogue.capacity
        capacity = {c: float(cap_by_theme.get(tr.loc[c, "theme"], np.nan)) for c in tr.index}
        crit = priorities.priority_criteria(
            volume=tr["last_12"].astype(float),
            trend=tr[["trend_pct", "trend_p"]],
            harm=hm.set_index("category")["harm"].reindex(tr.index) if hm is not None else None,
            vulnerability=evidence_repeat_locations(doc).reindex(tr.index),
            concern=pd.Series(evidence_concern_share(doc)).reindex(tr.index),
            capacity=pd.Series(capacity),
        )
        weights = dict(priorities.DEFAULT_WEIGHTS, **({} if hm is not None else {"harm": 0.0}))
        matrix = priorities.priority_matrix(crit, weights=weights, volume_unit="recorded incidents",
                                            vulnerability_label="share at repeat locations")
        heads = evidence_hotspot_headlines(doc).set_index("category")
        matrix["emerging_cells"] = matrix["issue"].map(heads["emerging_cells"]).fillna(0).astype(int)
        matrix["emerging_place"] = matrix["issue"].map(heads["emerging_place"]).fillna("")
        matrix["hot_cells"] = matrix["issue"].map(heads["hot_cells"]).fillna(0).astype(int)
        matrix["hot_place"] = matrix["issue"].map(heads["hot_place"]).fillna("")
        matrix["top_cluster_cells"] = matrix["issue"].map(heads["top_cluster_cells"]).fillna(0).astype(int)
        matrix["top_cluster_share"] = matrix["issue"].map(heads["top_cluster_share"]).fillna(0.0)
        matrix["top_cluster_area_share"] = matrix["issue"].map(heads["top_cluster_area_share"]).fillna(0.0)
        matrix["top_cluster_widespread"] = matrix["issue"].map(heads["top_cluster_widespread"]).fillna(False).astype(bool)
        return matrix

    return _cached(doc, "priorities", build)


def evidence_recommended(doc: Document, top: int = 4) -> pd.DataFrame:
    """Recommended priorities: the top of the matrix, plus any issue with an emerging hot spot.

    Each row carries ``reason`` (``ranked`` or ``emerging hotspot``) and an evidence sentence
    that names the numbers behind it.
    """

    def build() -> pd.DataFrame:
        m = evidence_priorities(doc).sort_values("rank")
        chosen = m.head(top).assign(reason="ranked in the top of the prioritisation matrix")
        emerging = m[(m["emerging_cells"] > 0) & ~m["issue"].isin(chosen["issue"])]
        emerging = emerging.assign(reason="emerging hotspot")
        out = pd.concat([chosen, emerging], ignore_index=True)
        tr = evidence_category_trends(doc).set_index("category")
        sentences = []
        for r in out.to_dict("records"):  # a handful of recommended priorities, not data rows
            t = tr.loc[r["issue"]]
            parts = [f"{r['issue']}: {int(t['last_12']):,} recorded in the latest 12 months; {t['trend_sentence']}"]
            if r["hot_cells"] and r.get("top_cluster_widespread"):
                parts.append(f"its largest statistically significant hotspot is "
                             + widespread_words(int(r["top_cluster_cells"]), r["top_cluster_area_share"],
                                                widespread_share(doc))
                             + f", holding {r['top_cluster_share']:.0%} of the latest year's mapped events"
                             + (f"; it is busiest around {r['hot_place']}" if r["hot_place"] else ""))
            elif r["hot_cells"]:
                place = f" around {r['hot_place']}" if r["hot_place"] else ""
                parts.append(f"its largest statistically significant hotspot{place} holds {r['top_cluster_share']:.0%} of "
                             f"the latest year's mapped events in {int(r['top_cluster_cells'])} grid cells, {r['top_cluster_area_share']:.0%} of the "
                             "area (Getis-Ord Gi*, FDR-corrected)")
            if r["emerging_cells"]:
                place = f" around {r['emerging_place']}" if r["emerging_place"] else ""
                parts.append(f"an emerging hotspot of {int(r['emerging_cells'])} cells{place}, hot only in the latest year")
            sentences.append("; ".join(parts) + ".")
        out["evidence"] = sentences
        return out

    return _cached(doc, "recommended" if top == 4 else f"recommended-{top}", build)
