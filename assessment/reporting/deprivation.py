"""Deprivation and denominators: sections shared by the strategic assessment and the problem profiles.

Small areas carry their national deprivation decile where the catalogue declares it
(``geographies.small_areas.deprivation``); ``assess init`` writes it from the English indices
of deprivation. Events are counted by the small area they fall in, over the latest 12 months.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..analysis.rates import rate_by_deprivation, rate_deprivation_ratio
from . import evidence as ev
from .display import HTMLPart, Section, callout
from .document import Document
from .maps import map_choropleth

__all__ = ["deprivation_spec", "deprivation_rates", "denominator_warning", "section_deprivation"]


def deprivation_spec(doc: Document):
    """The small areas' deprivation entry of the catalogue, or None when it declares none."""
    geo = doc.catalogue.geographies.get("small_areas")
    spec = getattr(geo, "deprivation", None) if geo is not None else None
    if spec is None or spec.decile not in doc.workbench.small_areas.columns:
        return None
    return spec


#: What a document's deprivation section is about: a function of the document giving the events
#: and their noun (a problem profile gives its topic); None for all police-recorded crime.
Subject = Callable[[Document], tuple[pd.DataFrame, str]]


def _subject(doc: Document, subject: Subject | None = None) -> tuple[pd.DataFrame, str]:
    """The events the document is about (``subject``, else all police crime) and their noun."""
    if subject is not None:
        return subject(doc)
    police = ev.evidence_police(doc)[["month", "small_area_code", "category"]]  # the columns counted
    return police[police["category"] != ev.ASB], "police-recorded crimes"


def deprivation_rates(doc: Document, subject: Subject | None = None) -> pd.DataFrame:
    """Events of the latest 12 months per 1,000 residents by national deprivation decile.

    Returns the table of :func:`assessment.analysis.rates.rate_by_deprivation`; empty when the
    catalogue declares no deprivation or the small areas carry no residents.
    """
    spec = deprivation_spec(doc)
    if spec is None:
        return pd.DataFrame()
    events, _ = _subject(doc, subject)
    months = ev.last_year(doc)
    events = events[["month", "small_area_code"]]  # filter these columns only, not every column
    recent = events[events["month"].isin(months) & events["small_area_code"].notna()]
    counts = recent.groupby("small_area_code").size().rename("count").reset_index()
    counts = counts.rename(columns={"small_area_code": "area_code"})
    sa = doc.workbench.small_areas
    areas = pd.DataFrame({"code": sa["code"].astype(str), "decile": sa[spec.decile],
                          "population": sa["population"]})
    return rate_by_deprivation(counts, areas, "decile", years=len(months) / 12)


def denominator_warning(doc: Document) -> str | None:
    """A plain warning when events are many against the residents, so per-resident rates mislead."""
    geo = doc.catalogue.geographies.get("small_areas")
    pop = getattr(geo, "population", None)
    residents = float(doc.workbench.small_areas["population"].sum()) if "population" in doc.workbench.small_areas else 0.0
    if pop is None or residents <= 0:
        return None
    police = ev.evidence_police(doc)
    months = ev.last_year(doc)
    crimes = int((police["month"].isin(months) & (police["category"] != ev.ASB)).sum()) * 12 / max(len(months), 1)
    per_1000 = 1000 * crimes / residents
    if per_1000 <= pop.warn_above_per_1000:
        return None
    return (f"Read rates per resident with care: {doc.catalogue.partnership.short_name} has about {residents:,.0f} "
            f"residents but about {crimes:,.0f} police-recorded crimes a year ({per_1000:,.0f} per 1,000 residents). "
            "Most people here at any time are workers, visitors or passers-through, so dividing by residents "
            "overstates the risk to any one person and exaggerates differences between areas. The catalogue can "
            "declare a workday or other population as the denominator instead (the denominator setting of the "
            f"small areas' population). This warning shows above {pop.warn_above_per_1000:,.0f} crimes per 1,000 residents a year.")


def section_deprivation(doc: Document, subject: Subject | None = None) -> Section:
    """Deprivation: where the small areas sit nationally and how far crime concentrates in deprived areas."""
    sec = Section("Deprivation")
    warning = denominator_warning(doc)
    spec = deprivation_spec(doc)
    if spec is None:
        sec.add("No deprivation figures were supplied for the small areas, so crime is not compared by "
                "deprivation. The English and Welsh indices of deprivation by small area can be added to the "
                "catalogue (assess init does this from the published files).")
        if warning:
            sec.add(callout(warning, caveat=True))
        return sec
    sa = doc.workbench.small_areas
    table = deprivation_rates(doc, subject)
    _, noun = _subject(doc, subject)
    months = ev.last_year(doc)
    deciles = sorted(int(d) for d in pd.to_numeric(sa[spec.decile], errors="coerce").dropna().unique())
    source = f" ({spec.source})" if spec.source else ""
    sec.add(f"Each small area has a national deprivation decile{source}: 1 is the most deprived tenth of small "
            f"areas in the country and 10 the least deprived. The partnership's {len(sa):,} small areas fall in "
            + (f"decile {deciles[0]} only." if len(deciles) == 1 else
               f"{len(deciles)} of the 10 deciles, from {deciles[0]} to {deciles[-1]}."))
    # legend in deciles, not class breaks: one class per decile, or per pair of deciles when more than
    # five are present (the palette has five shades)
    dec = pd.to_numeric(sa[spec.decile], errors="coerce")
    paired = len(deciles) > 5
    band = np.ceil(dec / 2) if paired else dec
    present = sorted(int(b) for b in band.dropna().unique())
    code = band.map({b: i for i, b in enumerate(present, start=1)})
    names = [f"deciles {2 * b - 1} and {2 * b}" if paired else f"decile {b}" for b in present]
    page = map_choropleth(sa.assign(decile_class=code, decile=dec), "decile_class",
                          name_column="name", legend="Deprivation decile (1 = most deprived)",
                          tooltip_columns={"decile": "Decile", "population": "Residents"},
                          tooltip_formats={"decile": "count"}, class_labels=names, offline=doc.offline)
    sec.add(doc.map(page, "Small areas by national deprivation decile",
                    alt=(f"Map of {len(sa):,} small areas shaded by national deprivation decile, from "
                         f"{deciles[0]} to {deciles[-1]}; darker shading is a higher decile, that is less deprived.")))
    if table.empty or table["population"].sum() <= 0:
        sec.add("The small areas carry no residents, so rates by deprivation cannot be computed.")
        return sec
    shown = table.rename(columns={"decile": "deprivation decile", "areas": "small areas", "population": "residents",
                                  "count": noun, "rate": "per 1,000 residents a year", "ci_low": "95% CI low",
                                  "ci_high": "95% CI high", "share_of_events": f"share of {noun} (%)",
                                  "share_of_population": "share of residents (%)"})
    shown[f"share of {noun} (%)"] = 100 * shown[f"share of {noun} (%)"]
    shown["share of residents (%)"] = 100 * shown["share of residents (%)"]
    sec.add(doc.table(shown, f"{noun[0].upper() + noun[1:]} per 1,000 residents by national deprivation decile, "
                             f"{months[0]} to {months[-1]}",
                      decimals={"residents": 0, "per 1,000 residents a year": 1, "95% CI low": 1, "95% CI high": 1,
                                f"share of {noun} (%)": 1, "share of residents (%)": 1},
                      notes=["Confidence intervals: Byar's method for 10 or more events, exact Poisson below. "
                             "Events with no map point or outside every small area are not counted here."]))
    most = table[table["decile"] <= 2]
    if len(most):
        ev_share = float(most["share_of_events"].sum())
        pop_share = float(most["share_of_population"].sum())
        sec.add(f"The small areas among the 20% most deprived in the country hold {pop_share:.0%} of the "
                f"partnership's residents and {ev_share:.0%} of its {noun}.")
    ratio = rate_deprivation_ratio(table)
    if ratio["available"]:
        # The interval treats each fifth's count as Poisson; small areas vary more than that between
        # themselves, so it is too narrow on real data and no verdict of significance is drawn from it.
        sec.add(f"The rate in the most deprived fifth of small areas is {ratio['ratio']:.1f} times that in the least "
                f"deprived fifth (95% confidence interval {ratio['ci_low']:.1f} to {ratio['ci_high']:.1f}, treating "
                "the counts as random variation around a fixed rate). Small areas differ from each other by more "
                "than that, so the interval understates the uncertainty and this document draws no conclusion of "
                "significance from it.")
    else:
        sec.add("The partnership does not have small areas in both the most and the least deprived fifths of the "
                "country, so the two cannot be compared here.")
    if warning:
        sec.add(callout(warning, caveat=True))
    return sec
