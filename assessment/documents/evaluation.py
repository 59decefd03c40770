"""Sections of the evaluation document: did an intervention change the count of incidents?

The notebook ``notebooks/evaluation.ipynb`` calls, in order, ``section_design``,
``section_power``, ``section_did``, ``section_its``, ``section_verdict``,
``section_cohort`` and ``section_appendix``; each takes the open
:class:`~assessment.reporting.document.Document` and returns a
:class:`~assessment.reporting.display.Section`. The statistics come from
:mod:`assessment.analysis.evaluation` and :mod:`assessment.analysis.cohort`; this module
chooses the areas, counts the outcome, and words the result without overclaiming.

Parameters (``doc.params``; defaults from the catalogue's ``documents.evaluation``)
------------------------------------------------------------------------------------
``intervention``
    Name of the intervention; looked up in the catalogue's services register.
``start``
    First month (``YYYY-MM``) of the intervention. It must leave at least
    ``MIN_PRE_MONTHS`` months of the window before it and ``MIN_POST_MONTHS`` from it.
``intervention_wards``
    Current ward codes or names. When empty: the wards the services register names for
    the intervention; when it names none (``wards: all``), the single ward with the most
    incidents of ``category`` before ``start``. That automatic choice is only a fallback so
    that the document runs: the design section says so and asks for the wards where the
    intervention actually ran to be named in the catalogue
    (``documents.evaluation.parameters.intervention_wards``).
``comparison_wards``
    Current ward codes or names. When empty: the ``N_COMPARISON`` wards whose counts
    before ``start`` are closest (on the log scale) to the intervention wards' average,
    chosen among wards that do not touch an intervention ward (to keep displacement or
    diffusion of benefit out of the comparison); if fewer than ``N_COMPARISON`` such wards
    exist, touching wards are allowed too.
``category``
    The event category evaluated (default ``'Violence and sexual offences'``).
``chosen_for_high_counts``
    True when the intervention wards were chosen because their counts were high (default
    False; always true for the automatic choice below). The regression-to-the-mean check
    (:func:`~assessment.analysis.evaluation.evaluate_rtm`) is then in force: the verdict is
    measured against the months before the choice where there are enough of them, and never
    says "statistically significant fall" where there are not.
``cohort_wards``
    Current ward codes or names for the violence cohort design (default: the wards the
    services register names for a panel service, i.e. one whose name contains 'panel';
    otherwise the intervention wards, as an illustration of the design).

Every located event of the whole series is re-assigned from its point to the current
ward boundaries, so an area means the same place before and after a boundary review.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..analysis import wording
from ..analysis.cohort import cohort_comparable, cohort_comparison, cohort_summary
from ..analysis.evaluation import (
    evaluate_did,
    evaluate_did_mde,
    evaluate_placebo,
    evaluate_its,
    evaluate_power,
    evaluate_rtm,
    evaluate_verdict,
)
from ..checks import check_month
from ..reporting.charts import INK, SERIES, chart_monthly
from ..reporting.display import Finding, HTMLPart, Section, bullet_list, callout, paragraph
from ..reporting.document import Document, open_document
from ..reporting.errorrates import error_rates_table
from ..reporting.glossary import section_glossary
from ..reporting.front import month_name
from ..reporting.keyfindings import key_findings_opening
from ..reporting.maps import map_layers
from ..reporting.prose import and_list, plural

__all__ = [
    "section_key_findings", "section_glossary",
    "open_document", "section_design", "section_power", "section_did", "section_its", "section_verdict",
    "section_cohort", "section_appendix", "evaluation_setup", "evaluation_events", "evaluation_counts",
]

DEFAULT_CATEGORY = "Violence and sexual offences"
N_COMPARISON = 5
MIN_PRE_MONTHS = 6
MIN_POST_MONTHS = 3
CONFIDENCE = 0.95
POWER = 0.8
ALPHA = 0.05
COHORT_WINDOW_DAYS = 365
COHORT_FOLLOW_UP_DAYS = None  # primary analysis: from eligibility to the end of the period (the brief)
COHORT_SENSITIVITY_FOLLOW_UP_DAYS = 365  # sensitivity: the same fixed follow-up for every cohort
PERSONS_ROLE = "nominals"  # the catalogue role of the person-level dataset


# --------------------------------------------------------------------------------------
# parameters and shared computations (cached on the document)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EvaluationSetup:
    """The resolved, validated parameters of one evaluation.

    Attributes
    ----------
    intervention : str
        Name of the intervention.
    service : dict or None
        Its entry in the catalogue's services register, when found.
    start : str
        First month of the intervention (``YYYY-MM``).
    category : str
        The event category evaluated.
    months : list of str
        The assessment window's months.
    intervention_wards, comparison_wards, cohort_wards : list of str
        Current ward codes.
    intervention_basis, comparison_basis, cohort_basis : str
        How each set was chosen, in words for the document.
    ward_names : dict
        Current ward code -> name.
    panel_service : dict or None
        The services register's multi-agency violence panel (a service whose name contains
        'panel'), when there is one; without it the cohort design is an illustration.
    """

    intervention: str
    service: dict | None
    start: str
    category: str
    months: list[str]
    intervention_wards: list[str]
    comparison_wards: list[str]
    cohort_wards: list[str]
    intervention_basis: str
    comparison_basis: str
    cohort_basis: str
    ward_names: dict[str, str] = field(default_factory=dict)
    panel_service: dict | None = None

    @property
    def pre_months(self) -> list[str]:
        return [m for m in self.months if m < self.start]

    @property
    def post_months(self) -> list[str]:
        return [m for m in self.months if m >= self.start]

    def label(self, codes: list[str]) -> str:
        """Ward names with codes, for sentences."""
        return and_list([f"{self.ward_names.get(c, c)} ({c})" for c in codes])


def _cached(doc: Document, key: str, build) -> Any:
    key = f"evaluation-{key}"
    if key not in doc.cache:
        doc.cache[key] = build()
    return doc.cache[key]


def _pct(x: float) -> str:
    """Percent as the verdict words it (whole numbers from 10%, one decimal below)."""
    return f"{x:.0f}%" if x >= 10 else f"{x:.1f}%"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if len(text) > 1 and text[1:2].islower() else text


def _ward_list(value: Any, name: str) -> list[str] | None:
    """A ward parameter as a list of strings; None when not given (None or empty)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [v for v in (p.strip() for p in value.strip().strip("[]").split(",")) if v]
    elif isinstance(value, Iterable) and not isinstance(value, (bytes, dict)):
        value = list(value)
    else:
        raise ValueError(f"`{name}` must be a list of ward codes or names, got {value!r}")
    if not value:
        return None
    bad = [v for v in value if not isinstance(v, str) or not v.strip()]
    if bad:
        raise ValueError(f"`{name}` must hold ward codes or names as text, got {bad[0]!r}")
    return [v.strip() for v in value]


def _resolve_wards(doc: Document, value: Any, name: str) -> list[str] | None:
    """Codes of the current wards a parameter names (by code or name); ValueError naming the unknown one."""
    items = _ward_list(value, name)
    if items is None:
        return None
    wards = doc.workbench.wards
    codes = wards["code"].astype(str).tolist()
    by_code = {c.upper(): c for c in codes}
    by_name = {str(n).strip().lower(): c for n, c in zip(wards["name"], codes)}
    older: dict[str, str] = {}
    for version in doc.workbench.registry.geographies.get("wards", []):
        for c in version.units["code"].astype(str):
            if c not in codes:
                older[c.upper()] = str(version.version)
    out: list[str] = []
    for item in items:
        code = by_code.get(item.upper()) or by_name.get(item.lower())
        if code is None:
            if item.upper() in older:
                raise ValueError(
                    f"`{name}` must name current wards, got {item!r}, a ward of the {older[item.upper()]} boundaries "
                    "that was redrawn; name the current ward or wards that cover it instead")
            example = f"{codes[0]!r} or {str(wards['name'].iloc[0])!r}" if codes else "a ward code"
            raise ValueError(f"`{name}` must name current wards by code or name (e.g. {example}), got {item!r}")
        if code not in out:
            out.append(code)
    return out


def _service(doc: Document, intervention: str) -> dict | None:
    for s in doc.catalogue.services:  # the register's handful of services
        if s.name.strip().lower() == intervention.strip().lower():
            return s.model_dump()
    return None


def _panel_service(doc: Document) -> dict | None:
    """The first service in the register whose name contains 'panel' (a violence panel), or None."""
    for s in doc.catalogue.services:  # the register's handful of services
        if "panel" in s.name.lower():
            return s.model_dump()
    return None


MODEL_LABELS = {"poisson": "Poisson", "negative_binomial": "negative binomial (NB2)",
                "quasi_poisson": "quasi-Poisson"}


def _model_label(model: str) -> str:
    return MODEL_LABELS.get(str(model), str(model).replace("_", " "))


def _theme_titles(doc: Document, themes: Iterable[str]) -> list[str]:
    """Theme keys as the catalogue's plain titles (e.g. 'night_time_economy' -> 'Night-time economy')."""
    return [doc.catalogue.themes.get(t, str(t).replace("_", " ")) for t in themes]


def evaluation_setup(doc: Document) -> EvaluationSetup:
    """Validate ``doc.params`` and resolve the defaults (cached on the document).

    Raises
    ------
    ValueError
        Naming the parameter and the value: an unknown ward, a start outside the window
        (or too near its ends), an unknown category, overlapping intervention and
        comparison wards.
    """

    def build() -> EvaluationSetup:
        p = doc.params
        intervention = p.get("intervention") or "the intervention"
        if not isinstance(intervention, str) or not intervention.strip():
            raise ValueError(f"`intervention` must be the intervention's name as text, got {intervention!r}")
        months = list(doc.catalogue.partnership.window.months)
        start = p.get("start")
        if start is None:
            raise ValueError(
                "The evaluation needs an intervention to evaluate: `start` must be given as YYYY-MM (the first month "
                "of the intervention, in the catalogue's documents: evaluation: parameters, or --param start=...), "
                "got None")
        check_month(start, "start")
        if len(months) < MIN_PRE_MONTHS + MIN_POST_MONTHS + 1:
            raise ValueError(
                f"The evaluation needs at least {MIN_PRE_MONTHS + MIN_POST_MONTHS + 1} months of data "
                f"({MIN_PRE_MONTHS} before the intervention and {MIN_POST_MONTHS} from it); the window "
                f"{months[0]} to {months[-1]} holds {len(months)}, so `start` {start!r} cannot be evaluated")
        lo, hi = months[MIN_PRE_MONTHS], months[-MIN_POST_MONTHS]
        if not lo <= start <= hi:
            raise ValueError(
                f"`start` must be a month from {lo} to {hi} (at least {MIN_PRE_MONTHS} months of the window "
                f"{months[0]} to {months[-1]} before it and {MIN_POST_MONTHS} from it), got {start!r}")
        category = p.get("category") or DEFAULT_CATEGORY
        ev = doc.workbench.events
        known = sorted(ev.loc[ev["month"].isin(months), "category"].dropna().astype(str).unique())
        if category not in known:
            raise ValueError(f"`category` must be an event category in the data (e.g. {DEFAULT_CATEGORY!r}), "
                             f"got {category!r}; known: {known}")
        wards = doc.workbench.wards
        names = dict(zip(wards["code"].astype(str), wards["name"].astype(str)))
        service = _service(doc, intervention)

        given = _resolve_wards(doc, p.get("intervention_wards"), "intervention_wards")
        pre_counts = _ward_pre_counts(doc, category, start)
        if given:
            iw, ibasis = given, "named in the evaluation's parameters"
        elif service and isinstance(service.get("wards"), list) and service["wards"]:
            iw = _resolve_wards(doc, service["wards"], "services register wards")
            ibasis = "the wards the services register names for this intervention"
        else:
            top = pre_counts.sort_values(ascending=False, kind="mergesort")
            iw = [str(top.index[0])]
            ibasis = (f"no wards were given and the services register does not name any, so the ward with the most "
                      f"{category.lower()} before {start} was chosen ({int(top.iloc[0]):,} located incidents in "
                      f"{months[0]} to {_prev_month(start)})")

        cmp_given = _resolve_wards(doc, p.get("comparison_wards"), "comparison_wards")
        if cmp_given:
            overlap = [c for c in cmp_given if c in iw]
            if overlap:
                raise ValueError(f"`comparison_wards` must not include intervention wards, got {overlap}")
            cw, cbasis = cmp_given, "named in the evaluation's parameters"
        else:
            cw, cbasis = _default_comparison(doc, iw, pre_counts)
        cohort_given = _resolve_wards(doc, p.get("cohort_wards"), "cohort_wards")
        panel = _panel_service(doc)
        if cohort_given:
            kw, kbasis = cohort_given, "named in the evaluation's parameters"
        elif panel and isinstance(panel.get("wards"), list) and panel["wards"]:
            kw = _resolve_wards(doc, panel["wards"], "services register wards")
            kbasis = f"the wards the services register names for {panel['name']}"
        else:
            kw, kbasis = list(iw), "the intervention wards"
        return EvaluationSetup(
            intervention=intervention.strip(), service=service, start=start, category=category, months=months,
            intervention_wards=iw, comparison_wards=cw, cohort_wards=kw, intervention_basis=ibasis,
            comparison_basis=cbasis, cohort_basis=kbasis, ward_names=names, panel_service=panel)

    return _cached(doc, "setup", build)


def _prev_month(month: str) -> str:
    return str(pd.Period(month, freq="M") - 1)


def evaluation_events(doc: Document, category: str | None = None) -> pd.DataFrame:
    """Events of the category in the window, each re-assigned by its point to the current wards.

    Returns
    -------
    DataFrame
        The rows of ``doc.workbench.events`` for the category and window with a column
        ``current_ward`` (code of the current ward containing the point; NA without
        coordinates or outside every ward).
    """
    from ..geography.assign import assign_points

    category = category or evaluation_setup(doc).category

    def build() -> pd.DataFrame:
        ev = doc.workbench.events
        sel = ev[(ev["category"] == category) & ev["month"].isin(doc.workbench.window)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out, _ = assign_points(sel, doc.workbench.wards, column="current_ward", warn_outside=False)
        return out

    return _cached(doc, f"events-{category}", build)


def _ward_pre_counts(doc: Document, category: str, start: str) -> pd.Series:
    """Located incidents per current ward before ``start`` (every current ward, zeros kept)."""
    ev = evaluation_events(doc, category)
    pre = ev[ev["month"] < start]
    counts = pre.groupby("current_ward").size()
    codes = doc.workbench.wards["code"].astype(str)
    return pd.Series(codes.map(counts).fillna(0).astype(int).to_numpy(), index=codes.to_numpy())


def _default_comparison(doc: Document, iw: list[str], pre_counts: pd.Series) -> tuple[list[str], str]:
    """The wards most similar in pre-period level, excluding wards that touch the intervention wards."""
    wards = doc.workbench.wards
    codes = wards["code"].astype(str)
    inside = codes.isin(iw).to_numpy()
    area = wards.loc[inside].geometry.union_all().buffer(1.0)
    touching = (wards.geometry.intersects(area).to_numpy()) & ~inside
    pool = codes[~inside & ~touching]
    excluded = True
    if len(pool) < N_COMPARISON:
        pool, excluded = codes[~inside], False
    target = float(pre_counts.reindex(iw).mean())
    gap = (np.log(pre_counts.reindex(pool).astype(float) + 0.5) - np.log(target + 0.5)).abs()
    chosen = gap.sort_values(kind="mergesort").index[:N_COMPARISON].tolist()
    basis = (f"the {len(chosen)} wards whose located incidents before the start were closest to the intervention "
             f"area's average per ward ({target:,.0f}), on the log scale")
    if excluded:
        basis += (f", chosen among wards that do not touch an intervention ward ({int(touching.sum())} neighbouring "
                  "wards were left out so that displacement of incidents, or diffusion of benefit, into neighbouring "
                  "streets cannot contaminate the comparison)")
    return [str(c) for c in chosen], basis


def evaluation_counts(doc: Document) -> pd.DataFrame:
    """Monthly located incidents of the category in the intervention and comparison areas.

    Returns
    -------
    DataFrame
        ``month`` (every month of the window), ``group`` (``'intervention'``,
        ``'comparison'``) and ``count`` (zeros kept), the frame
        :func:`~assessment.analysis.evaluation.evaluate_did` takes.
    """
    s = evaluation_setup(doc)

    def build() -> pd.DataFrame:
        ev = evaluation_events(doc)
        group = np.select([ev["current_ward"].isin(s.intervention_wards).to_numpy(),
                           ev["current_ward"].isin(s.comparison_wards).to_numpy()],
                          ["intervention", "comparison"], default="")
        frame = pd.DataFrame({"month": ev["month"].to_numpy(), "group": group})
        frame = frame[frame["group"] != ""]
        counts = frame.groupby(["month", "group"]).size()
        full = pd.MultiIndex.from_product([s.months, ["intervention", "comparison"]], names=["month", "group"])
        out = counts.reindex(full, fill_value=0).rename("count").reset_index()
        out["count"] = out["count"].astype(int)
        return out

    return _cached(doc, "counts", build)


def _did(doc: Document) -> pd.Series:
    s = evaluation_setup(doc)
    return _cached(doc, "did", lambda: _quiet(evaluate_did, evaluation_counts(doc), s.start,
                                              seasonality=True, confidence=CONFIDENCE).iloc[0])


def _mde(doc: Document) -> pd.Series:
    s = evaluation_setup(doc)
    return _cached(doc, "mde", lambda: _quiet(evaluate_did_mde, evaluation_counts(doc), s.start,
                                              alpha=ALPHA, power=POWER).iloc[0])


def _rtm(doc: Document) -> pd.Series:
    """The regression-to-the-mean check of the difference-in-differences (cached)."""
    s = evaluation_setup(doc)
    chosen = doc.params.get("chosen_for_high_counts", False)
    if not isinstance(chosen, bool):
        raise ValueError(f"`chosen_for_high_counts` must be true or false, got {chosen!r}")
    chosen = chosen or s.intervention_basis.startswith("no wards were given")
    return _cached(doc, "rtm", lambda: _quiet(evaluate_rtm, evaluation_counts(doc), s.start,
                                              chosen_for_high_counts=chosen, confidence=CONFIDENCE).iloc[0])


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _breaks(doc: Document) -> list[tuple[str, str, str]]:
    """Catalogue series breaks for the category in the window: (month, label, description)."""
    s = evaluation_setup(doc)
    datasets = sorted(evaluation_events(doc)["dataset"].astype(str).unique())
    found = []
    for key in datasets:
        for b in doc.catalogue.breaks_for(key, s.category):  # a handful of catalogue entries
            if s.months[0] < b.month <= s.months[-1]:
                found.append((b.month, b.label, " ".join(str(b.description).split())))
    return sorted(set(found))


def _verdict_outcome(s: EvaluationSetup) -> str:
    return f"police-recorded {_lower_first(s.category)} in {s.label(s.intervention_wards)}"


# -- key findings -----------------------------------------------------------------------------

def _key_findings(doc: Document) -> list[Finding]:
    s = evaluation_setup(doc)
    r, m = _did(doc), _mde(doc)
    where = and_list([str(s.ward_names.get(c, c)) for c in s.intervention_wards])
    ratio, lo, hi = float(r["rate_ratio"]), float(r["ci_lower"]), float(r["ci_upper"])
    clear = not (lo <= 1 <= hi)
    way = ("down" if ratio < 1 else "up") if clear else "steady"
    size = abs(ratio - 1) * 100
    outcome = f"police-recorded {_lower_first(s.category)}"
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
    out.append(Finding("It was compared with " + and_list([str(s.ward_names.get(c, c)) for c in s.comparison_wards])
                       + " (the Design section says how these wards were chosen)."
                       if s.comparison_wards else "No comparison wards could be chosen."))
    main, _, _, _ = _its(doc)
    lvl = main.effects.set_index("term").loc["level_change"]
    its_clear = not (lvl["ci_lower"] <= 1 <= lvl["ci_upper"])
    out.append(Finding(f"Looking at {where} alone over time, the level "
                       + ("changed clearly at the start." if its_clear else "did not change clearly at the start.")
                       + (" This agrees with the comparison." if its_clear == clear else
                          " The comparison with other wards is the stronger evidence.")))
    rtm = _rtm(doc)
    if rtm["status"] != "no concern":
        out.append(Finding("Caution: the wards may have been chosen when their numbers were unusually high, so some "
                           "fall was to be expected anyway (regression to the mean)."))
    out.append(Finding("Not shown: whether incidents moved to neighbouring streets, the cost, or offences the police "
                       "did not record."))
    return out


def section_key_findings(doc: Document) -> HTMLPart:
    """The opening of the document: links to the edition's other documents, the key findings
    (five to eight plain sentences with the direction of change and, where the catalogue holds a
    most-similar-group table, a red/amber/green rating against it) and the about box."""
    return key_findings_opening(doc, _key_findings(doc))


# --------------------------------------------------------------------------------------
# sections
# --------------------------------------------------------------------------------------
def section_design(doc: Document) -> Section:
    """What was tried, where, when, against what comparison, on which outcome; map and caveats."""
    s = evaluation_setup(doc)
    wb = doc.workbench
    ev = evaluation_events(doc)
    pre = _ward_pre_counts(doc, s.category, s.start)
    sec = Section("Evaluation design")
    svc = s.service
    what = f"This document evaluates {s.intervention}"
    if svc:
        themes = and_list(_theme_titles(doc, svc.get("themes") or []))
        funded = f", funded to {svc['funded_to']}" if svc.get("funded_to") else ""
        what += f", provided by {svc['provider']} (services register themes: {themes}{funded})"
    else:
        what += " (not found in the catalogue's services register)"
    sec.add(what + f". It began in {s.start}.")
    datasets = sorted(ev["dataset"].astype(str).unique())
    titles = and_list([doc.catalogue.datasets[d].title if d in doc.catalogue.datasets else d for d in datasets])
    sec.add(bullet_list([
        f"Where: {s.label(s.intervention_wards)}: {s.intervention_basis}.",
        f"Comparison: {s.label(s.comparison_wards)}: {s.comparison_basis}.",
        f"Outcome: the monthly count of {_lower_first(s.category)} located in each area ({titles}).",
        f"Period: {s.months[0]} to {s.months[-1]}: {len(s.pre_months)} months before the start "
        f"({s.months[0]} to {_prev_month(s.start)}) and {len(s.post_months)} from it ({s.start} to {s.months[-1]}).",
        "Design: difference-in-differences against the comparison wards (the main analysis), an interrupted time "
        "series of the intervention wards, and the violence cohort design (as used to evaluate multi-agency "
        "violence panels) for people repeatedly involved in violence.",
    ]))
    wards = wb.wards[["code", "name", "population", "geometry"]].copy()
    wards["code"] = wards["code"].astype(str)
    wards["group"] = np.select([wards["code"].isin(s.intervention_wards), wards["code"].isin(s.comparison_wards)],
                               ["intervention", "comparison"], default="")
    chosen = wards[wards["group"] != ""].copy()
    chosen["located incidents before the start"] = chosen["code"].map(pre).to_numpy()
    chosen["per month before the start"] = chosen["located incidents before the start"] / len(s.pre_months)
    chosen = chosen.sort_values(["group", "located incidents before the start"], ascending=[False, False])
    sec.add(doc.table(
        pd.DataFrame(chosen[["group", "code", "name", "population", "located incidents before the start",
                             "per month before the start"]]).rename(columns={"population": "residents"}),
        f"Intervention and comparison wards (current boundaries), with {_lower_first(s.category)} before {s.start}",
        decimals={"residents": 0, "per month before the start": 1},
        notes=["Only the period before the start is shown here; results follow the statement of power."]))
    page = map_layers(
        [(wb.wards, "name", "Wards (current boundaries)"),
         (wards[wards["group"] == "comparison"], "name", "Comparison wards")],
        highlight=wards[wards["group"] == "intervention"][["name", "code", "group", "geometry"]],
        highlight_label="Intervention wards", offline=doc.offline)
    sec.add(doc.map(page, "Intervention and comparison wards",
                    alt=(f"Map of the partnership's {len(wb.wards)} current wards: the intervention area "
                         f"({s.label(s.intervention_wards)}) is shaded; the comparison wards "
                         f"({and_list([s.ward_names.get(c, c) for c in s.comparison_wards])}) are outlined in red.")))
    # caveats
    versions = wb.registry.geographies.get("wards", [])
    n_total = len(ev)
    no_xy = int((ev["easting"].isna() | ev["northing"].isna()).sum())
    outside = int((ev["current_ward"].isna() & ev["easting"].notna() & ev["northing"].notna()).sum())
    caveats = []
    if len(versions) > 1:
        changed = _changed_wards(versions)
        caveats.append(
            f"Ward boundary review: the wards were redrawn from {versions[-1].valid_from.date()} "
            f"({changed}). So that each area means the same place before and after, every located incident of the "
            f"whole series is assigned by its map point to the current wards (exact point re-aggregation), not "
            "counted under the ward in force at the time.")
    else:
        caveats.append("The ward boundaries did not change in the window; incidents are assigned by their map points.")
    no_pre = int((ev["easting"].isna() & (ev["month"] < s.start)).sum())
    no_post = no_xy - no_pre
    n_pre = int((ev["month"] < s.start).sum())
    caveats.append(
        f"{no_xy:,} of {n_total:,} records of {_lower_first(s.category)} ({no_xy / max(n_total, 1):.1%}) have no map "
        f"point and {outside:,} lie outside every ward (outside the partnership), so they are left out of both "
        f"groups ({no_pre / max(n_pre, 1):.1%} of records before the start, "
        f"{no_post / max(n_total - n_pre, 1):.1%} from it). A change in that share over time would bias the counts.")
    for month, label, desc in _breaks(doc):
        where = "before" if month < s.start else "after"
        caveats.append(
            f"Series break in {month} ({label}), {where} the start: {desc} The difference-in-differences is protected "
            "if the change affects both areas in proportion; the interrupted time series is handled as described "
            "in its section.")
    caveats.append(
        "The comparison wards did not receive the intervention but are not a randomised control: the "
        "difference-in-differences assumes their counts would have moved in parallel (on the log scale) with the "
        "intervention area's. A placebo test in the difference-in-differences section checks this before the start.")
    rtm = _rtm(doc)
    if rtm["status"] != "no concern":
        caveats.append(str(rtm["caveat"]) + " The verdict follows this check.")
    if s.intervention_basis.startswith("no wards were given"):
        caveats.append(
            "The intervention ward was chosen automatically, as a fallback so that this document runs; it is not "
            f"a record of where {s.intervention} actually ran. Name the wards it covered in the evaluation's "
            "parameters in the data catalogue (intervention wards) and run the document again.")
    for c in caveats:
        sec.add(callout(c, caveat=True))
    return sec


def _changed_wards(versions) -> str:
    def names(units) -> dict[str, str]:
        name = units["name"].astype(str) if "name" in units.columns else units["code"].astype(str)
        return dict(zip(units["code"].astype(str), name))

    old, new = names(versions[-2].units), names(versions[-1].units)
    gone = sorted(old[c] for c in set(old) - set(new))
    added = sorted(new[c] for c in set(new) - set(old))
    if not gone and not added:
        return "codes unchanged"
    return (f"{len(gone)} {plural(len(gone), 'ward')} retired ({and_list(gone)}) and {len(added)} created "
            f"({and_list(added)})")


def section_power(doc: Document) -> Section:
    """The minimum detectable effect, stated before any result."""
    s = evaluation_setup(doc)
    m = _mde(doc)
    sec = Section("What this study could detect (stated before the result)")
    mde_pct = float(m["mde_percent"])
    if not np.isfinite(mde_pct):
        sec.add(callout("At these counts no fall, however large, could be detected with 80% power: the study "
                        "cannot answer the question.", caveat=True))
        return sec
    sec.add(callout(
        f"This study could detect a fall of {_pct(mde_pct)} or more with {POWER:.0%} power "
        f"(two-sided test at the {ALPHA:.0%} level). A smaller real effect would probably go undetected."))
    sec.add(
        f"The calculation uses only what was known before the result: {int(m['intervention_pre']):,} located incidents "
        f"in the intervention area before {s.start}, {int(m['comparison_pre']):,} and {int(m['comparison_post']):,} in "
        f"the comparison area before and from the start, and the {float(m['expected_intervention_post']):,.0f} the "
        f"intervention area would be expected to have from the start if it followed the comparison area. The counts "
        f"vary more than chance alone would make them by a factor of {float(m['dispersion']):.2f} (Pearson chi-squared "
        "per degree of freedom before the start, or, when larger, the widening that runs of high or low months "
        "before the start imply for this design; floored at 1), which widens the margin. This differs from the "
        "dispersion in the difference-in-differences table because that one comes from a different model and "
        "period (all months, with the before/after and interaction terms), estimated after the result; the power "
        "calculation may use only the months before the start.")
    cells = [float(m["intervention_pre"]), float(m["comparison_pre"]), float(m["comparison_post"])]
    falls = [0.05, 0.10, 0.15, 0.20, 0.30, 0.40, 0.50]
    power = [evaluate_power(float(m["expected_intervention_post"]), cells, 1 - f, alpha=ALPHA,
                            dispersion=float(m["dispersion"])) for f in falls]  # seven design points
    table = pd.DataFrame({"true fall (%)": [100 * f for f in falls],
                          "rate ratio": [1 - f for f in falls],
                          "power (%)": [100 * p for p in power]})
    sec.add(doc.table(table, "Power of the difference-in-differences to detect falls of different sizes",
                      decimals={"true fall (%)": 0, "rate ratio": 2, "power (%)": 0},
                      notes=["Wald test on the log ratio of rate ratios; variance from the four before/after cell "
                             "counts times the dispersion (see the appendix)."]))
    return sec


def _mark_start(fig, start: str) -> None:
    ax = fig.axes[0]
    x = pd.Period(start, freq="M").to_timestamp()
    ax.axvline(x, color=INK, linestyle="-", linewidth=1.2)
    ax.text(x, ax.get_ylim()[1] * 0.92, " intervention starts", color=INK, fontsize=8, va="top")


def section_did(doc: Document) -> Section:
    """Difference-in-differences: rate ratio, interval, p-value and model; both series charted."""
    s = evaluation_setup(doc)
    counts = evaluation_counts(doc)
    r = _did(doc)
    sec = Section("Difference-in-differences")
    pct = float(r["percent_change"])
    direction = "lower" if pct < 0 else "higher"
    sec.add(
        f"Relative to the comparison wards, {_lower_first(s.category)} in the intervention area from {s.start} was "
        f"{abs(pct):.1f}% {direction} than the comparison wards' change would predict (rate ratio {float(r['rate_ratio']):.2f}, "
        f"{CONFIDENCE:.0%} confidence interval {float(r['ci_lower']):.2f} to {float(r['ci_upper']):.2f}, "
        f"{wording.describe_p(float(r['p_value']))}). The interval "
        + ("includes 1, so the data are compatible with no change." if r["ci_lower"] <= 1 <= r["ci_upper"]
           else "excludes 1."))
    model = _model_label(r["model"])
    table = pd.DataFrame([{
        "rate ratio": r["rate_ratio"], "95% CI low": r["ci_lower"], "95% CI high": r["ci_upper"],
        "p": r["p_value"], "change (%)": r["percent_change"], "model": model,
        "dispersion (chi2/df)": r["dispersion"],
        "intervention before": r["intervention_pre"], "intervention from start": r["intervention_post"],
        "comparison before": r["comparison_pre"], "comparison from start": r["comparison_post"],
        "months": r["n_months"]}])
    sec.add(doc.table(table, f"Difference-in-differences rate ratio for {_lower_first(s.category)}",
                      decimals={"rate ratio": 2, "95% CI low": 2, "95% CI high": 2, "p": 3, "change (%)": 1,
                                "dispersion (chi2/df)": 2},
                      notes=[f"Log-linear count model of monthly counts with area, period, their interaction and "
                             f"month-of-year terms; {model} chosen by the over-dispersion rule in the appendix. "
                             "The interval and p-value allow for runs of high or low months (a latent "
                             f"first-order autoregressive process, Zeger 1988; estimated month-to-month correlation "
                             f"{float(r['autocorrelation']):.2f}). Below 1 means a relative fall."]))
    plot = counts.assign(series=counts["group"].map({"intervention": "Intervention wards",
                                                     "comparison": "Comparison wards"}))
    brk = pd.DataFrame([(m, lab) for m, lab, _ in _breaks(doc)], columns=["month", "label"])
    fig = chart_monthly(plot, group="series", title=f"{s.category}: intervention and comparison wards",
                        breaks=brk if len(brk) else None)
    _mark_start(fig, s.start)
    i = counts[counts["group"] == "intervention"]["count"]
    c = counts[counts["group"] == "comparison"]["count"]
    sec.add(doc.figure(fig, f"Monthly {_lower_first(s.category)} located in the intervention and comparison wards",
                       alt=(f"Line chart of monthly counts from {s.months[0]} to {s.months[-1]} with a vertical line at "
                            f"{s.start}. Intervention wards range from {int(i.min()):,} to {int(i.max()):,} a month; "
                            f"comparison wards from {int(c.min()):,} to {int(c.max()):,}.")))
    # placebo: a fake start half way through the pre-period, using only pre-period months
    pl = _quiet(evaluate_placebo, counts, s.start, confidence=CONFIDENCE).iloc[0]
    fake, ok = pl["placebo_start"], not pl["diverging"]
    sec.add(HTMLPart('<h3 id="placebo-test">Placebo test of parallel trends</h3>'))
    sec.add(
        f"Pretending the intervention began in {fake} and using only the months before the real start gives a "
        f"rate ratio of {float(pl['rate_ratio']):.2f} ({CONFIDENCE:.0%} CI {float(pl['ci_lower']):.2f} to "
        f"{float(pl['ci_upper']):.2f}, {wording.describe_p(float(pl['p_value']))}). "
        + ("The interval includes 1: the two areas moved in step before the start, as the design assumes "
           "(a test like this cannot prove parallel trends, only fail to find a departure)."
           if ok else
           "The interval excludes 1: the two areas were already diverging before the start, so the "
           "difference-in-differences may be biased and should be read with caution."))
    return sec


def _its(doc: Document):
    """The ITS analyses: (main, other or None, basis of main in words, caveats).

    Without a catalogue series break in the window the main analysis is the intervention
    wards' own series. With one, a counting-rule change would be read as a trend or a level
    change, and ``evaluate_its`` has no break term; the main analysis then puts the comparison
    wards' monthly count in as the offset (a controlled interrupted time series, Lopez Bernal,
    Cummins & Gasparrini 2018), so a change common to both areas cancels, and the
    uncontrolled series is reported beside it as a sensitivity analysis.
    """
    s = evaluation_setup(doc)

    def build():
        counts = evaluation_counts(doc)
        wide = counts.pivot(index="month", columns="group", values="count").reset_index()
        alone = wide.rename(columns={"intervention": "count"})[["month", "count"]]
        uncontrolled = _quiet(evaluate_its, alone, s.start, seasonality="fourier", harmonics=2,
                              confidence=CONFIDENCE)
        breaks = _breaks(doc)
        notes: list[str] = []
        if not breaks:
            return uncontrolled, None, f"the intervention wards' own series over all {len(alone)} months", notes
        where = and_list([f"{m} ({lab})" for m, lab, _ in breaks])
        if (wide["comparison"] <= 0).any():
            notes.append(f"The series break in {where} falls in the window and the comparison wards have months "
                         "without incidents, so no controlled analysis was possible: the level and trend changes "
                         "below may partly reflect the change in counting rules.")
            return uncontrolled, None, f"the intervention wards' own series over all {len(alone)} months", notes
        ctrl = wide.rename(columns={"intervention": "count"})[["month", "count", "comparison"]]
        controlled = _quiet(evaluate_its, ctrl, s.start, exposure="comparison", seasonality="fourier", harmonics=2,
                            confidence=CONFIDENCE)
        notes.append(f"The catalogue records a series break in {where}. Modelled alone, the intervention wards' "
                     "series would read that change in counting rules as part of the trend before the start (or as "
                     "a change at the start), so the main analysis uses the comparison wards' monthly count as an "
                     "offset: a change that affects both areas in proportion cancels. The uncontrolled analysis is "
                     "shown as a sensitivity analysis only.")
        basis = (f"all {len(ctrl)} months of the intervention wards' series, relative to the comparison wards' "
                 "monthly count (a controlled interrupted time series)")
        return controlled, uncontrolled, basis, notes

    return _cached(doc, "its", build)


def _chart_its(series: pd.DataFrame, start: str, title: str):
    import matplotlib.pyplot as plt

    t = pd.PeriodIndex(series["month"].astype(str), freq="M").to_timestamp()
    post = series["post"].to_numpy(dtype=bool)
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.plot(t, series["observed"], color=SERIES[0], marker="o", markersize=3, linewidth=1, label="observed")
    ax.plot(t, series["fitted"], color=SERIES[1], linewidth=1.8, label="fitted (segmented model)")
    ax.plot(t[post], series["counterfactual"][post], color=SERIES[2], linestyle="--", linewidth=1.6,
            label="counterfactual (no intervention)")
    ax.fill_between(t[post], series["counterfactual_lower"][post], series["counterfactual_upper"][post],
                    color=SERIES[2], alpha=0.15, label="95% band of the counterfactual")
    ax.set_title(title, loc="left", fontsize=11, color=INK)
    ax.set_ylabel("Count per month", color=INK)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, frameon=False, ncol=2)
    fig.autofmt_xdate()
    _mark_start(fig, start)
    return fig


def _its_rows(result, analysis: str) -> pd.DataFrame:
    e = result.effects
    return pd.DataFrame({
        "analysis": analysis,
        "term": e["term"].map({"level_change": "level change at the start",
                               "slope_change": "change in monthly trend"}).to_numpy(),
        "rate ratio": e["rate_ratio"].to_numpy(), "95% CI low": e["ci_lower"].to_numpy(),
        "95% CI high": e["ci_upper"].to_numpy(), "p": e["p_value"].to_numpy(),
        "model": e["model"].map(_model_label).to_numpy(), "months before": e["n_pre"].to_numpy(),
        "months from start": e["n_post"].to_numpy()})


def its_projection(series: pd.DataFrame) -> dict[str, float]:
    """Observed against projected counts from the start, with a range from the counterfactual band.

    Returns
    -------
    dict
        ``observed``, ``projected`` (sums of ``observed`` and ``counterfactual`` over the
        months from the start), ``projected_low`` and ``projected_high`` (sums of the monthly
        95% band), ``percent`` (observed relative to projected, %), ``percent_low`` and
        ``percent_high`` (the same relative to ``projected_high`` and ``projected_low``).

    Notes
    -----
    The monthly band comes from the delta-method standard error of the counterfactual linear
    predictor (:func:`~assessment.analysis.evaluation.evaluate_its`). Its uncertainty is
    parameter uncertainty shared by every month, so summing the monthly limits is close to,
    and never narrower than, the band of the total (the standard deviation of a sum is at
    most the sum of the standard deviations): the range is conservative.
    """
    post = series[series["post"].astype(bool)]
    obs = float(post["observed"].sum())
    cf = float(post["counterfactual"].sum())
    lo, hi = float(post["counterfactual_lower"].sum()), float(post["counterfactual_upper"].sum())
    return {"observed": obs, "projected": cf, "projected_low": lo, "projected_high": hi,
            "percent": 100 * (obs - cf) / cf, "percent_low": 100 * (obs - hi) / hi,
            "percent_high": 100 * (obs - lo) / lo}


def _its_projection_sentence(s: EvaluationSetup, series: pd.DataFrame, controlled: bool) -> str:
    p = its_projection(series)
    inside = p["projected_low"] <= p["observed"] <= p["projected_high"]
    return (
        f"From {s.start} the intervention wards recorded {p['observed']:,.0f} located incidents against "
        f"{p['projected']:,.0f} projected from their earlier trend and season"
        + (" relative to the comparison wards" if controlled else "")
        + f" (95% range of the projection {p['projected_low']:,.0f} to {p['projected_high']:,.0f}, from the "
        f"counterfactual band summed over the months): {p['percent']:+.1f}%, with a range of "
        f"{p['percent_low']:+.1f}% to {p['percent_high']:+.1f}%. "
        + ("The observed count lies inside that range, so the difference is compatible with chance. "
           if inside else "The observed count lies outside that range. ")
        + "This difference combines the level change and the change in trend over all the months from the start, "
          "which is why it need not match the level change alone.")


def section_its(doc: Document) -> Section:
    """Interrupted time series of the intervention area, with its counterfactual."""
    s = evaluation_setup(doc)
    main, full, basis, notes = _its(doc)
    sec = Section("Interrupted time series")
    lvl = main.effects.set_index("term").loc["level_change"]
    slp = main.effects.set_index("term").loc["slope_change"]
    sec.add(
        f"The model is fitted to {basis}: a trend, a seasonal pattern (two pairs of Fourier terms) and, from {s.start}, a change in level and a change in "
        "trend (segmented regression).")
    sec.add(
        f"Level change at the start: rate ratio {float(lvl['rate_ratio']):.2f} ({CONFIDENCE:.0%} CI "
        f"{float(lvl['ci_lower']):.2f} to {float(lvl['ci_upper']):.2f}, {wording.describe_p(float(lvl['p_value']))}). "
        f"Change in trend: {100 * (float(slp['rate_ratio']) - 1):+.1f}% a month ({CONFIDENCE:.0%} CI "
        f"{100 * (float(slp['ci_lower']) - 1):+.1f}% to {100 * (float(slp['ci_upper']) - 1):+.1f}%, "
        f"{wording.describe_p(float(slp['p_value']))}).")
    ser = main.series
    post = ser[ser["post"]]
    sec.add(_its_projection_sentence(s, ser, full is not None))
    sec.add(doc.figure(
        _chart_its(ser, s.start, f"{s.category}: intervention wards, observed and counterfactual"
                   + (" (relative to the comparison wards)" if full is not None else "")),
        "Interrupted time series: observed counts, the fitted segmented model and the counterfactual with its 95% band",
        alt=(f"Line chart of monthly counts in the intervention wards from {ser['month'].iloc[0]} to "
             f"{ser['month'].iloc[-1]}: observed points, the fitted line, and from {s.start} a dashed counterfactual "
             f"line averaging {post['counterfactual'].mean():,.1f} a month with a shaded band from "
             f"{post['counterfactual_lower'].min():,.1f} to {post['counterfactual_upper'].max():,.1f}; observed "
             f"months from the start average {post['observed'].mean():,.1f}.")))
    rows = [_its_rows(main, "main: relative to comparison wards" if full is not None else "main")]
    if full is not None:
        rows.append(_its_rows(full, "intervention wards alone (sensitivity)"))
    sec.add(doc.table(pd.concat(rows, ignore_index=True), "Interrupted time series: level and trend changes",
                      decimals={"rate ratio": 3, "95% CI low": 3, "95% CI high": 3, "p": 3},
                      notes=["Segmented Poisson or negative binomial regression with Fourier seasonality "
                             "(Bernal, Cummins & Gasparrini 2017). Intervals and p-values allow for runs of high or "
                             "low months (a latent first-order autoregressive process, Zeger 1988)."]))
    for n in notes:
        sec.add(callout(n, caveat=True))
    sec.add(callout("An interrupted time series attributes to the intervention anything else that changed at the same "
                    "time and was not shared by its reference (policing elsewhere, the economy, the weather); its "
                    "projection of the earlier trend also grows less certain the further it runs. The "
                    "difference-in-differences is the main result.", caveat=True))
    return sec


def evaluation_verdict(doc: Document) -> str:
    """The plain verdict sentence on the difference-in-differences (from ``evaluate_verdict``)."""
    s = evaluation_setup(doc)
    r, m = _did(doc), _mde(doc)
    mde = float(m["mde_rate_ratio"])
    return evaluate_verdict(float(r["rate_ratio"]), float(r["ci_lower"]), float(r["ci_upper"]),
                            mde if np.isfinite(mde) else None, confidence=CONFIDENCE, outcome=_verdict_outcome(s),
                            rtm=_rtm(doc))


def section_verdict(doc: Document) -> Section:
    """A plain verdict that never overclaims."""
    s = evaluation_setup(doc)
    verdict = evaluation_verdict(doc)
    main, _, _, _ = _its(doc)
    lvl = main.effects.set_index("term").loc["level_change"]
    sec = Section("Verdict")
    sec.add(callout(f"Verdict: {verdict}."))
    rtm = _rtm(doc)
    if rtm["status"] != "no concern":
        sec.add(callout("Regression to the mean: " + _lower_first(str(rtm["caveat"])), caveat=True))
    its_sig = not (lvl["ci_lower"] <= 1 <= lvl["ci_upper"])
    r = _did(doc)
    did_sig = not (r["ci_lower"] <= 1 <= r["ci_upper"])
    agree = ("The interrupted time series agrees: it finds no statistically significant change in level at the start."
             if not its_sig and not did_sig else
             "The interrupted time series also finds a statistically significant change in level at the start."
             if its_sig and did_sig else
             "The interrupted time series, which has no comparison area, does not agree with the "
             "difference-in-differences; the difference-in-differences is the stronger design.")
    sec.add(agree)
    sec.add(bullet_list([
        f"What was evaluated: {s.intervention}, from {s.start}, in {s.label(s.intervention_wards)}.",
        "What this does not show: whether incidents moved to neighbouring streets (displacement), the intervention's "
        "cost, or effects on offences the police did not record.",
        "A result that is not statistically significant is not evidence that the intervention did nothing: it means "
        "this study could not tell, at its size.",
    ]))
    return sec


def _cohort_ward_codes(doc: Document, current: list[str]) -> tuple[list[str], list[str]]:
    """Ward codes of every boundary version counted as 'in the named wards', and notes on approximations.

    The nominals carry the ward in force at each incident's date. A ward of an earlier version
    counts as inside when at least half of its area lies inside the named current wards.
    """
    from ..geography.crosswalk import crosswalk_area

    wards = doc.workbench.wards
    target = wards[wards["code"].astype(str).isin(current)][["code", "geometry"]]
    codes, notes = list(current), []
    for version in doc.workbench.registry.geographies.get("wards", [])[:-1]:
        units = version.units[["code", "geometry"]]
        label = dict(zip(version.units["code"].astype(str),
                         version.units["name"].astype(str) if "name" in version.units.columns
                         else version.units["code"].astype(str)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            w = crosswalk_area(units, target)
        share = w.groupby("source_code")["weight"].sum()
        same = set(units["code"].astype(str)) & set(current)
        for code, sh in share.items():  # a handful of overlapping wards
            code = str(code)
            if code in same:
                continue
            if sh >= 0.5:
                codes.append(code)
                notes.append(f"{label.get(code, code)} ({version.version} boundaries, {sh:.0%} of its area inside) "
                             "counted as inside")
            elif sh > 0.05:
                notes.append(f"{label.get(code, code)} ({version.version} boundaries, {sh:.0%} of its area inside) "
                             "counted as outside")
    return sorted(set(codes)), notes


def _cohort_labels(summary: pd.DataFrame, comp: pd.DataFrame, where: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Plain labels for the cohort frames: 'panel wards 2024' -> '<where> 2024', 'rest of area' -> 'rest of the area'."""
    def relabel(col: pd.Series) -> pd.Series:
        return (col.astype(str).str.replace("panel wards", where, regex=False)
                .str.replace("rest of area", "rest of the area", regex=False))

    summary = summary.assign(cohort=relabel(summary["cohort"]),
                             group=summary["group"].map(COHORT_GROUPS).fillna(summary["group"]))
    comp = comp.assign(comparison=comp["comparison"].map(COHORT_COMPARISONS).fillna(comp["comparison"]),
                       reference=relabel(comp["reference"]))
    return summary, comp


COHORT_GROUPS = {"panel": "cohort studied", "historical": "earlier year, same wards",
                 "rest_of_area": "rest of the area"}
COHORT_COMPARISONS = {"panel vs earlier years": "against earlier years in the same wards",
                      "panel vs rest of area": "against the rest of the area"}


def _cohort_run(nominals: pd.DataFrame, codes: list[str], cohort_year: int, period_end: pd.Timestamp,
                follow_up_days: int | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = cohort_summary(nominals, codes, cohort_year, period_end=period_end,
                                 follow_up_days=follow_up_days, window_days=COHORT_WINDOW_DAYS)
        comp = cohort_comparison(summary, alpha=ALPHA, power=POWER, target_rate_ratio=0.8)
    return summary, comp


def _cohort_comparison_table(comp: pd.DataFrame, t: int) -> pd.DataFrame:
    """Rate ratios, shown only when every count behind them reaches the threshold."""
    ok = (comp["cohort_incidents"] >= t) & (comp["reference_incidents"] >= t) & np.isfinite(comp["rate_ratio"])
    return pd.DataFrame({
        "comparison": comp["comparison"], "reference": comp["reference"],
        "rate ratio": comp["rate_ratio"].where(ok), "95% CI low": comp["ci_lower"].where(ok),
        "95% CI high": comp["ci_upper"].where(ok), "p": comp["p_value"].where(ok),
        "smallest detectable fall (%)": comp["mde_percent"].where(ok),
        "power to detect a 20% lower rate (%)": (100 * comp["power_at_target"]).where(ok)})


_COMPARISON_DECIMALS = {"rate ratio": 2, "95% CI low": 2, "95% CI high": 2, "p": 3,
                        "smallest detectable fall (%)": 0, "power to detect a 20% lower rate (%)": 0}


def _involvement_table(nominals: pd.DataFrame, codes: list[str], year: int) -> pd.DataFrame:
    """People in ``codes`` wards in ``year`` by number of distinct incidents (1, 2, 3, 4, 5 or more) and role."""
    sub = nominals[nominals["ward_code"].isin(codes) & (pd.DatetimeIndex(nominals["incident_date"]).year == year)]
    if not len(sub):
        return pd.DataFrame()
    sub = sub.assign(is_victim=sub["role"].astype(str).eq("victim"), is_offender=sub["role"].astype(str).eq("offender"))
    per = sub.groupby("person_id").agg(incidents=("crime_ref", "nunique"), victim=("is_victim", "any"),
                                       offender=("is_offender", "any"))
    role = np.where(per["victim"] & per["offender"], "both", np.where(per["offender"], "offender only", "victim only"))
    bands = ["1", "2", "3", "4", "5 or more"]
    band = np.array(bands, dtype=object)[np.minimum(per["incidents"].to_numpy(), 5) - 1]
    table = pd.crosstab(pd.Series(band, name="incidents in the year"), pd.Series(role, name="role"))
    table = table.reindex(index=bands, columns=["victim only", "offender only", "both"], fill_value=0)
    return table.rename_axis(None, axis=1).reset_index()


def section_cohort(doc: Document) -> Section:
    """The violence cohort design (as used to evaluate multi-agency violence panels); aggregates only.

    The primary analysis follows everyone from eligibility to the end of the period (as the
    brief asks); a sensitivity analysis gives every cohort the same
    ``COHORT_SENSITIVITY_FOLLOW_UP_DAYS`` of follow-up, so cohorts of different years compare fairly.
    """
    s = evaluation_setup(doc)
    wb = doc.workbench
    sec = Section("Cohort design: people repeatedly involved in violence")
    persons = wb.intake.persons
    q = wb.intake.quality
    needed = {"person_id", "role", "crime_ref", "date", "area_code"}
    if persons is None or len(persons) == 0 or not needed <= set(persons.columns):
        row = q[q["dataset"].isin(doc.catalogue.datasets_with_role(PERSONS_ROLE))] if "dataset" in q.columns else q.iloc[0:0]
        reason = str(row["message"].iloc[0]) if len(row) and "message" in row and str(row["message"].iloc[0]) else ""
        env = doc.catalogue.partnership.pseudonym_key_env
        sec.add(callout(
            "The cohort design could not be run: the person-level violence nominals were not available to this "
            f"document. Personal data are taken in only when they can be pseudonymised with the key held in the "
            f"environment variable {env}; if it is not set, intake refuses the file."
            + (f" Intake reported: {reason}" if reason else ""), caveat=True))
        return sec
    nominals = pd.DataFrame({"person_id": persons["person_id"].to_numpy(), "role": persons["role"].to_numpy(),
                             "crime_ref": persons["crime_ref"].to_numpy(),
                             "incident_date": pd.to_datetime(persons["date"]).to_numpy(),
                             "ward_code": persons["area_code"].astype("string").to_numpy()})
    nominals = nominals[nominals["incident_date"].notna()]
    codes, approx = _cohort_ward_codes(doc, s.cohort_wards)
    cohort_year = int(s.start[:4])
    period_end = (pd.Period(s.months[-1], freq="M").to_timestamp(how="end")).normalize()
    first = nominals["incident_date"].min()
    panel = s.panel_service
    where = "panel wards" if panel else ("intervention wards" if s.cohort_basis == "the intervention wards"
                                         else "named wards")
    summary, comp = _cohort_run(nominals, codes, cohort_year, period_end, COHORT_FOLLOW_UP_DAYS)
    summary, comp = _cohort_labels(summary, comp, where)
    cap = COHORT_SENSITIVITY_FOLLOW_UP_DAYS
    summary_cap, comp_cap = _cohort_run(nominals, codes, cohort_year, period_end, cap)
    summary_cap, comp_cap = _cohort_labels(summary_cap, comp_cap, where)
    t = doc.threshold
    earliest = int(summary["cohort_year"].min())

    def _years(year: int) -> int:
        return int(round((period_end - pd.Timestamp(f"{year}-01-01")).days / 365.25))

    design = ("the violence cohort design (as used to evaluate multi-agency violence panels)")
    if panel:
        framing = (f"This section applies {design} to {panel['name']} ({panel['provider']}), the panel in the "
                   f"services register, in {s.label(s.cohort_wards)} ({s.cohort_basis}).")
    else:
        framing = (f"This section applies {design}. The services register names no violence panel, so it is "
                   f"applied here to {s.label(s.cohort_wards)} ({s.cohort_basis}) as an illustration of the design: "
                   f"it shows how people repeatedly involved in violence there fared, not the effect of a panel or of "
                   f"{s.intervention}.")
    sec.add(
        f"Multi-agency violence panels take people who are repeatedly involved in violence, as victim or offender. "
        + framing + " It asks whether people who met a panel's eligibility rule there were involved in fewer "
        f"violent incidents afterwards than comparable people in earlier years or elsewhere. The data are the "
        f"police and probation violence nominals, pseudonymised at intake ({first.date()} to "
        f"{nominals['incident_date'].max().date()}); only aggregates reach this document.")
    sec.add(bullet_list([
        f"Eligibility: at least two violent incidents, as victim or offender, within {COHORT_WINDOW_DAYS} days of each "
        f"other, both in the named wards; a person becomes eligible on the date of the second. The cohort studied "
        f"is everyone eligible in {cohort_year}, the year the intervention began.",
        f"Follow-up (main analysis): from eligibility to the end of the period ({period_end.date()}). The outcome is "
        "the number of later violent incidents involving cohort members, anywhere and in either role, each incident "
        "counted once however many cohort members it involves, per 1,000 days at risk.",
        "Comparisons: the cohorts the same rule selects in the same wards in earlier years, and people meeting the "
        f"rule elsewhere in the partnership in {cohort_year} (rest of the area).",
        f"Sensitivity analysis: the same comparisons with follow-up capped at {cap} days for everyone. Following "
        f"everyone to the end of the period means a person eligible in {earliest} can be followed for up to "
        f"{_years(earliest)} years and a person eligible in {cohort_year} for at most {_years(cohort_year)}, and the "
        "rate of later incidents can change with time since eligibility (the burst that made someone eligible "
        "fades); the capped follow-up gives every cohort the same window, so the cohorts compare fairly. The "
        "rest-of-the-area cohort is from the same year, so its main comparison is already like for like.",
    ]))
    people = summary[["cohort", "group", "cohort_year", "n_people", "days_at_risk"]].assign(
        cohort_year=summary["cohort_year"].astype(str),
        mean_follow_up=summary["days_at_risk"] / summary["n_people"].where(summary["n_people"] > 0)).rename(columns={
        "cohort_year": "cohort year", "n_people": "people eligible", "days_at_risk": "days at risk",
        "mean_follow_up": "average follow-up (days)"})
    no_total = ("No total is published: the cohorts overlap (yearly cohorts can share people, and incidents can "
                "involve members of several cohorts), so they must not be added up.")
    sec.add(doc.table(people, "Cohorts: people eligible and person-days at risk (follow-up to the end of the period)",
                      sensitivity="personal", count_columns=["people eligible"],
                      rate_columns={"days at risk": "people eligible", "average follow-up (days)": "people eligible"},
                      decimals={"days at risk": 0, "average follow-up (days)": 0},
                      margins="none", notes=[no_total]))
    later = summary[["cohort", "n_subsequent_incidents", "rate_per_1000_days", "ci_lower", "ci_upper"]].rename(
        columns={"n_subsequent_incidents": "later incidents", "rate_per_1000_days": "rate per 1,000 days at risk",
                 "ci_lower": "95% CI low", "ci_upper": "95% CI high"})
    sec.add(doc.table(later, "Later violent incidents per 1,000 days at risk, by cohort (follow-up to the end of "
                             "the period)",
                      sensitivity="personal", count_columns=["later incidents"],
                      rate_columns={"rate per 1,000 days at risk": "later incidents", "95% CI low": "later incidents",
                                    "95% CI high": "later incidents"},
                      decimals={"rate per 1,000 days at risk": 2, "95% CI low": 2, "95% CI high": 2},
                      margins="none",
                      notes=["Exact Poisson intervals (Garwood 1936). Each later incident is counted once per cohort.",
                             no_total]))
    involvement = _involvement_table(nominals, codes, cohort_year)
    if len(involvement):
        persons_key = doc.catalogue.dataset_with_role(PERSONS_ROLE)
        sec.add(f"How often people were involved in violence in {s.label(s.cohort_wards)} in {cohort_year}, as victim, "
                "offender or both, shows how concentrated involvement is; the eligibility rule needs two incidents within "
                f"{COHORT_WINDOW_DAYS} days:")
        sec.add(doc.table(involvement, f"People recorded in violent incidents in {s.label(s.cohort_wards)} in "
                                       f"{cohort_year}, by number of incidents and role",
                          sensitivity="personal", count_columns=list(involvement.columns[1:]),
                          dataset=persons_key, dimensions=("incidents in the year", "role"),
                          scope=f"{cohort_year} in {', '.join(codes)}",
                          notes=["Each person is counted once, by their number of distinct incidents in these wards "
                                 "in the year and whether they were recorded as victim, offender or both."]))
    def note(c: pd.DataFrame) -> str:
        return ("Exact conditional (binomial) comparison of two Poisson rates, on the counts divided by the design "
                "effect of people's incidents clustering (the spread of members' later incidents around their cohort's "
                "rate over the spread chance alone would give, never below 1: "
                + "; ".join(f"{d:.2f} {name}" for name, d in zip(c["comparison"], c["design_effect"]))
                + "); power by the Wald test on the log rate ratio at 80% power, two-sided 5% level, with the same "
                f"allowance. Blank: too few incidents to report (below {t}).")
    sec.add(doc.table(_cohort_comparison_table(comp, t),
                      f"Cohort {cohort_year} against its comparisons (follow-up to the end of the period): rate "
                      "ratios and the study's power",
                      sensitivity="personal", decimals=_COMPARISON_DECIMALS, notes=[note(comp)]))
    studied = summary[summary["group"] == COHORT_GROUPS["panel"]].iloc[0]
    if int(studied["n_subsequent_incidents"]) >= t:
        sec.add(f"The {cohort_year} cohort had {float(studied['rate_per_1000_days']):.2f} later incidents per 1,000 "
                f"days at risk ({CONFIDENCE:.0%} CI {float(studied['ci_lower']):.2f} to "
                f"{float(studied['ci_upper']):.2f}).")
    sec.add(bullet_list(_cohort_verdicts(comp, t, unequal=COHORT_COMPARISONS["panel vs earlier years"])))
    sec.add(HTMLPart(f'<h3 id="cohort-sensitivity">Sensitivity analysis: follow-up capped at {cap} days</h3>'))
    sec.add(doc.table(_cohort_comparison_table(comp_cap, t),
                      f"Cohort {cohort_year} against its comparisons with follow-up capped at {cap} days",
                      sensitivity="personal", decimals=_COMPARISON_DECIMALS, notes=[note(comp_cap)]))
    sec.add(bullet_list(_cohort_verdicts(comp_cap, t)))
    sec.add(_cohort_agreement(comp, comp_cap, t, cap))
    caveats = [
        "This is an observational comparison. People become eligible after a burst of incidents, so their later "
        "rate tends to fall anyway (regression to the mean); the earlier-year and rest-of-the-area cohorts are "
        "selected the same way, which is why they are the comparison, but differences in who is selected can remain.",
        "Yearly cohorts can share people (the rule is applied afresh each year), so the pooled earlier-years "
        "comparison is not between independent groups and its interval is optimistic; people's incidents also "
        "cluster, so the Poisson intervals understate the uncertainty.",
        f"The {cohort_year} cohort includes people eligible in all of {cohort_year}, including months before {s.start}.",
    ]
    if approx:
        caveats.append("The nominals record the ward in force at the time, and some wards were redrawn: "
                       + "; ".join(approx) + ".")
    for c in caveats:
        sec.add(callout(c, caveat=True))
    return sec


def _comparable(r: pd.Series, t: int) -> bool:
    return bool(cohort_comparable(pd.DataFrame([r]), t).iloc[0])


def _cohort_verdicts(comp: pd.DataFrame, t: int, unequal: str | None = None) -> list[str]:
    """One sentence per comparison; ``unequal`` names the comparison whose cohorts had unequal follow-up."""
    items = []
    for r in comp.to_dict("records"):  # two comparison rows
        label = r["comparison"][:1].upper() + r["comparison"][1:]
        if not _comparable(r, t):
            items.append(f"{label}: too few incidents to compare.")
            continue
        mde = float(r["mde_rate_ratio"])
        v = evaluate_verdict(float(r["rate_ratio"]), float(r["ci_lower"]), float(r["ci_upper"]),
                             mde if np.isfinite(mde) else None, confidence=1 - ALPHA,
                             outcome="later violent incidents per day at risk")
        items.append(f"{label}: {v}; power to detect a 20% lower rate was "
                     f"{100 * float(r['power_at_target']):.0f}%."
                     + (" Not like for like: the earlier cohorts were followed for longer (see the sensitivity "
                        "analysis)." if r["comparison"] == unequal else ""))
    return items


def _cohort_agreement(main: pd.DataFrame, capped: pd.DataFrame, t: int, cap: int) -> str:
    """One sentence: do the main and capped analyses reach the same conclusion for each comparison?"""
    changed = []
    for a, b in zip(main.to_dict("records"), capped.to_dict("records")):  # two comparison rows
        if not (_comparable(a, t) and _comparable(b, t)):
            return "At least one comparison has too few incidents to compare the two analyses."
        sig_a = not (a["ci_lower"] <= 1 <= a["ci_upper"])
        sig_b = not (b["ci_lower"] <= 1 <= b["ci_upper"])
        if sig_a != sig_b or (sig_a and (a["rate_ratio"] > 1) != (b["rate_ratio"] > 1)):
            changed.append(str(a["comparison"]))
    if not changed:
        return (f"With follow-up capped at {cap} days the comparisons reach the same conclusion as the main analysis "
                "(statistically significant or not in the same comparisons).")
    return (f"With follow-up capped at {cap} days the conclusion changes {and_list(changed)}. The main analysis follows "
            "each cohort to the end of the period, so cohorts of different years are followed for different lengths "
            "of time (see the average follow-up in the first cohort table) and their rates per day at risk are not "
            "like for like; for a comparison across years, the capped analysis is the fair one.")


def section_appendix(doc: Document) -> Section:
    """Methods with sources, the parameters used, and the monthly counts; writes the Excel workbook."""
    s = evaluation_setup(doc)
    sec = Section("Appendix: methods, parameters and data")
    methods = pd.DataFrame([
        ("Difference-in-differences",
         "Log-linear generalised linear model of monthly counts: area + period + area x period + month-of-year. "
         "Poisson when the Pearson chi-squared per degree of freedom is at most 1.5; otherwise negative binomial "
         "(NB2, alpha by maximum likelihood), falling back to quasi-Poisson. The exponentiated interaction is the "
         "ratio of rate ratios.",
         "McCullagh & Nelder (1989) Generalized Linear Models; Wing, Simon & Bello-Gomez (2018) Annu Rev Public "
         "Health 39:453-469; Cameron & Trivedi (2013) Regression Analysis of Count Data"),
        ("Runs of high or low months",
         "Intervals and p-values of the difference-in-differences and the interrupted time series allow for "
         "month-to-month correlation: a latent first-order autoregressive process under each area's counts, "
         "its variance and correlation estimated from the residuals (with a small-sample correction and one "
         "standard error of margin), a sandwich covariance and a t reference with the effective number of "
         "months. Calibrated by simulation in docs/VALIDATION.md.",
         "Zeger (1988) Biometrika 75:621-629; Kendall (1954) Biometrika 41:403-404"),
        ("Regression to the mean",
         "When the intervention wards were chosen for high counts (as the evaluation's settings in the catalogue "
         "say, or by the automatic choice), or their last 12 months before the start were higher than their earlier months "
         "relative to the comparison wards, the estimate is measured against the earlier months only; with too "
         "few earlier months the verdict cannot report a significant fall.",
         "Barnett, van der Pols & Dobson (2005) Int J Epidemiol 34:215-220"),
        ("Placebo test",
         "The same model on the months before the start only, with a pretend start half way through.",
         "Wing, Simon & Bello-Gomez (2018)"),
        ("Interrupted time series",
         "Segmented Poisson/negative binomial regression: trend, level change and slope change at the start, two "
         "Fourier pairs for season; the counterfactual sets both changes to zero, with a delta-method 95% band. "
         "The range of the projected total sums the monthly band (conservative: never narrower than the band of "
         "the total).",
         "Bernal, Cummins & Gasparrini (2017) Int J Epidemiol 46(1):348-355; Wagner et al. (2002) J Clin Pharm "
         "Ther 27:299-309"),
        ("Controlled interrupted time series",
         "When a series break lies in the window: the same model with the comparison wards' monthly count as the "
         "offset, so a change common to both areas (such as a counting rule) cancels.",
         "Lopez Bernal, Cummins & Gasparrini (2018) Int J Epidemiol 47(6):2082-2093"),
        ("Minimum detectable effect and power",
         "Two-sided Wald test on the log rate ratio; variance = dispersion x sum of reciprocal expected cell counts; "
         "the intervention area's expected count from the start assumes it follows the comparison area. Stated "
         "before the result and using no post-start intervention counts.",
         "Woolf (1955) Ann Hum Genet 19:251-253; Bloom (1995) Evaluation Review 19:547-556; Signorini (1991) "
         "Biometrika 78:187-190"),
        ("Verdict",
         "Significant only when the 95% interval excludes 1; otherwise reported with the smallest change the study "
         "could have detected, never as 'no effect'.",
         "Altman & Bland (1995) BMJ 311:485"),
        ("Cohort rates",
         "Violence cohort design (as used to evaluate multi-agency violence panels). Later incidents (each once "
         "per cohort) per 1,000 person-days at risk, exact Poisson interval; follow-up from eligibility to the end "
         f"of the period, with a sensitivity analysis capped at {COHORT_SENSITIVITY_FOLLOW_UP_DAYS} days.",
         "Rothman, Greenland & Lash (2008) Modern Epidemiology ch. 3; Garwood (1936) Biometrika 28:437-442; "
         "Ulm (1990) Am J Epidemiol 131:373-375"),
        ("Cohort comparison",
         "Exact conditional comparison of two Poisson rates (binomial given the total), with the MDE and power from "
         "the Wald test on the log rate ratio.",
         "Przyborowski & Wilenski (1940) Biometrika 31:313-323; Breslow & Day (1987) Statistical Methods in "
         "Cancer Research vol. II"),
        ("Areas",
         "Every located incident assigned by its map point to the current wards (point in polygon), for the whole "
         "series.",
         "Exact point re-aggregation; no areal apportionment"),
        ("Disclosure control",
         "Counts from personal data below the partnership's threshold are suppressed ([c]), with secondary "
         "suppression so they cannot be recovered from totals.",
         "Government Statistical Service guidance on disclosure control"),
    ], columns=["method", "what was done", "source"])
    sec.add(doc.table(methods, "Methods and their sources"))
    params = pd.DataFrame([
        ("intervention", s.intervention), ("start", s.start), ("category", s.category),
        ("intervention wards", s.label(s.intervention_wards)), ("comparison wards", s.label(s.comparison_wards)),
        ("cohort wards", s.label(s.cohort_wards)), ("window", f"{s.months[0]} to {s.months[-1]}"),
        ("cohort follow-up", "from eligibility to the end of the period (sensitivity analysis: "
                             f"{COHORT_SENSITIVITY_FOLLOW_UP_DAYS} days)"),
        ("confidence level", f"{CONFIDENCE:.0%}"), ("power for the MDE", f"{POWER:.0%}"),
        ("significance level", f"{ALPHA:.0%}"),
    ], columns=["parameter", "value used"])
    sec.add(doc.table(params, "Parameters used"))
    counts = evaluation_counts(doc).pivot(index="month", columns="group", values="count").reset_index()
    counts = counts[["month", "intervention", "comparison"]].rename(
        columns={"intervention": "intervention wards", "comparison": "comparison wards"})
    sec.add(doc.table(counts, f"Monthly {_lower_first(s.category)} located in each area (current ward boundaries)",
                      max_rows=None))
    sec.add(error_rates_table(doc))  # searches the text of every section shown before
    doc.write_workbook()
    sec.add(paragraph(f"All {len(doc.tables)} tables are also in tables/{doc.name}.xlsx.", css="table-note"))
    return sec
