"""How often the document's statistical statements are wrong, shown in the document itself.

``benchmarks/validate.py`` runs every calibration module (:mod:`assessment.calibration`) and
writes the same table twice: ``docs/VALIDATION.md`` for developers and
``assessment/data/calibration.csv`` (:data:`PUBLISHED`) shipped with the package. The
documents read the shipped table; nothing is simulated while a document renders.

Each :class:`Claim` ties a kind of statement a document prints ("statistically significant",
"a clear seasonal pattern", "hotspot", ...) to the pattern that finds it in the document's
own text and to the calibration rows that measured it. :func:`error_rates_shown` keeps the
claims a document actually made (as :func:`assessment.reporting.glossary.section_glossary`
keeps the terms it used) and :func:`error_rates_table` shows them in the appendix: how often
each statement was made on simulated data where it is false (a null with no change,
over-dispersed and autocorrelated like real monthly counts), and how often it was made where
it is true (power). A claim that no simulation has measured yet is listed as such, so that
every kind of "significant" the document prints has a line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from ..checks import check_dataframe, check_type
from ..errors import DocumentError
from ..paths import package_data_path

__all__ = ["Claim", "CLAIMS", "PUBLISHED", "PUBLISHED_COLUMNS", "error_rates_published", "error_rates_shown",
           "error_rates_table"]

#: The shipped calibration table (written by ``benchmarks/validate.py``).
PUBLISHED = "calibration.csv"
#: Its columns: the module, then :data:`assessment.calibration.COLUMNS`, then the run's seed and date.
PUBLISHED_COLUMNS = ("module", "statement", "scenario", "runs", "rate", "limit", "holds", "bound", "seed",
                     "generated")


@dataclass(frozen=True)
class Claim:
    """One kind of statistical statement a document may print.

    Attributes
    ----------
    name : str
        How the appendix names the statement.
    pattern : str
        Regular expression that finds the statement in a document's visible text.
    module : str or None
        The calibration module that measured it; None when no simulation has yet.
    statements : tuple of str
        Prefixes of the ``statement`` labels of that module's rows that belong to this claim.
    exclude : tuple of str
        Rows whose label contains one of these are left out: the calibration tables also keep
        the rates of methods the documents no longer print ("(before)", "not printed"), for
        developers; the documents show what they print.
    """

    name: str
    pattern: str
    module: str | None = None
    statements: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ("(before)", "not printed")


#: Every kind of statistical statement the documents print, in the order the appendix lists them.
CLAIMS: tuple[Claim, ...] = (
    Claim("Key findings: crime types rising or falling",
          r"(?i)crime types? (are|is) (rising|falling)|no crime type shows a clear (rise|fall)", "key_findings",
          ("key findings name", "power: key findings name", "power: each rising type")),
    Claim("Trend: rising or falling, statistically significant",
          r"(?i)% a year \(95% CI|no significant trend", "trends", ('trend "rising"', 'power: trend "rising"')),
    Claim("Change on the year before: statistically significant",
          r"(?i)a year earlier: (up|down|no change)", "trends",
          ('year on year "statistically significant"', 'power: year on year')),
    Claim("A clear seasonal pattern", r"(?i)clear seasonal pattern", "trends", ('"a clear seasonal pattern"',)),
    Claim("Exceptional month (outside the control limits)", r"(?i)exceptional month|control limits", "trends",
          ("a series with any exceptional month",)),
    Claim("Hotspot cells (Getis-Ord Gi*)", r"Gi\*", "clustering",
          ("hotspots (exact test", "clusters (conditional randomisation test)", "power: clustering test",
           "power: exact test")),
    Claim("Area outside the funnel plot's limits", r"(?i)funnel", "clustering", ("funnel:",)),
    Claim("Difference-in-differences: statistically significant", r"(?i)difference-in-differences", "evaluation",
          ("difference-in-differences", "power: difference-in-differences")),
    Claim("Interrupted time series: change in level or slope", r"(?i)interrupted time series", "evaluation",
          ("interrupted time series",)),
    Claim("Verdict: statistically significant fall", r"\bVerdict\b", "evaluation",
          ('verdict "statistically significant fall"',)),
    Claim("Ward rate significantly higher than the partnership's (95% confidence interval)",
          r"(?i)significantly higher", "wards",
          ('ward "significantly higher"', 'power: ward "significantly higher"')),
    Claim("Emerging hotspot (busier than in any earlier year)", r"(?i)emerging hotspot", "emerging",
          ('runs with any "emerging" cell', '"emerging" cells per run', 'power: runs with any "emerging" cell')),
    Claim("Near repeats (more pairs close in space and time than chance)", r"(?i)near.repeat", "nearrepeat",
          ("a near-repeat band", "power: a near-repeat band")),
    Claim("Placebo test of parallel trends", r"(?i)placebo test", "placebo",
          ('placebo "the two areas were already diverging"', 'power: placebo "the two areas were already diverging"')),
    Claim("Cohort: change in incidents per day at risk", r"(?i)per day at risk", "cohort",
          ('cohort "statistically significant"', 'power: cohort "statistically significant"')),
    Claim("Survey: significantly more or fewer residents", r"(?i)significantly (fewer|more) residents", "survey",
          ('ward where "significantly fewer residents feel safe"',
           'power: ward where "significantly fewer residents feel safe"')),
    Claim("Wards where crime rose or fell significantly over the audit period", r"(?i)(rose|fell) significantly in",
          "wards", ('ward "rose/fell significantly"', 'power: ward "rose/fell significantly"')),
)


def _check_published(table: pd.DataFrame, source: str) -> pd.DataFrame:
    check_dataframe(table, source, list(PUBLISHED_COLUMNS))
    bad = table.index[~table["rate"].between(0, 1) | (table["runs"] < 1)]
    if len(bad):
        raise DocumentError(f"{source} row {int(bad[0]) + 2}: `rate` must lie in [0, 1] and `runs` be at least 1, "
                             f"got rate {table.loc[bad[0], 'rate']!r}, runs {table.loc[bad[0], 'runs']!r}")
    return table


@lru_cache(maxsize=1)
def _published() -> pd.DataFrame:
    path = package_data_path(PUBLISHED)
    if not path.is_file():
        raise DocumentError(f"the calibration table {path} is missing; run benchmarks/validate.py to write it")
    table = pd.read_csv(path, dtype={"module": "str", "statement": "str", "scenario": "str", "bound": "str"})
    return _check_published(table, path.name)


def error_rates_published() -> pd.DataFrame:
    """The shipped calibration table (a copy): one row per (module, statement, scenario).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PUBLISHED_COLUMNS`. ``rate`` is the share of simulated runs in which
        the statement was made; ``bound`` says whether ``limit`` caps a false-positive rate
        (``"at most"``) or floors a power (``"at least"``).

    Raises
    ------
    DocumentError
        The table is missing or malformed (rerun ``benchmarks/validate.py``).
    """
    return _published().copy()


def error_rates_shown(text: str, table: pd.DataFrame | None = None,
                      claims: tuple[Claim, ...] = CLAIMS) -> pd.DataFrame:
    """The calibration rows of the claims that occur in ``text``, one row per claim and scenario.

    Parameters
    ----------
    text : str
        A document's visible text (e.g. ``Document.shown_text()``).
    table : pandas.DataFrame, optional
        A calibration table with :data:`PUBLISHED_COLUMNS`; the shipped one by default.
    claims : tuple of Claim
        The statements to look for.

    Returns
    -------
    pandas.DataFrame
        ``claim, statement, scenario, runs, rate, limit, bound, measured`` in the order of
        ``claims``; a claim found in the text that no simulation has measured has one row with
        ``measured`` False and NA elsewhere.
    """
    check_type(text, "text", str)
    table = error_rates_published() if table is None else _check_published(table, "table")
    rows = []
    for claim in claims:
        if not re.search(claim.pattern, text):
            continue
        if claim.module is None:
            rows.append({"claim": claim.name, "measured": False})
            continue
        mine = table[(table["module"] == claim.module)
                     & table["statement"].map(lambda s: s.startswith(claim.statements)
                                              and not any(x in s for x in claim.exclude))]
        if mine.empty:
            rows.append({"claim": claim.name, "measured": False})
            continue
        for r in mine.to_dict("records"):
            rows.append({"claim": claim.name, **{k: r[k] for k in ("statement", "scenario", "runs", "rate",
                                                                   "limit", "bound")}, "measured": True})
    columns = ["claim", "statement", "scenario", "runs", "rate", "limit", "bound", "measured"]
    out = pd.DataFrame(rows, columns=columns)
    out["measured"] = out["measured"].astype(bool)
    out["runs"] = out["runs"].astype("Int64")
    return out


_CODE_ASIDE = re.compile(r"\s*\([^()]*_[^()]*\)")


def _plain(label: str) -> str:
    """A calibration label for partners: asides that name functions or variables (``(trend_glm p <
    0.05)``) are left to docs/VALIDATION.md."""
    return _CODE_ASIDE.sub("", label)


def error_rates_table(doc):
    """The appendix table: how often each statistical statement this document made is wrong.

    Call it at the end of a document's appendix (before the workbook is written), so that the
    text of every section shown so far is searched. Returns the registered table view, or a
    paragraph when the document made no statistical statement.
    """
    from .display import paragraph

    shown = error_rates_shown(doc.shown_text())
    if shown.empty:
        return paragraph("This document makes no statement of statistical significance.", css="table-note")
    published = error_rates_published()
    made = shown.assign(
        kind=shown["bound"].map({"at most": "no real effect (false positives)", "at least": "a real effect (power)"})
        .where(shown["measured"], "not yet simulated"),
        share=shown["rate"].map(lambda x: "" if pd.isna(x) else f"{100 * x:.1f}%"),
        acceptance=[("" if not m else "reported only" if pd.isna(lim) else f"{b} {100 * lim:.0f}%")
                    for m, lim, b in zip(shown["measured"], shown["limit"], shown["bound"])],
    )
    made.loc[made["statement"].str.startswith("power:", na=False), "kind"] = "a real effect (power)"
    made["statement"] = made["statement"].map(_plain, na_action="ignore")
    view = made[["claim", "kind", "statement", "scenario", "runs", "share", "acceptance"]].rename(columns={
        "claim": "statement in this document", "kind": "simulated truth", "statement": "test as simulated",
        "scenario": "simulated data", "runs": "simulated runs", "share": "runs in which it was said",
        "acceptance": "acceptance"})
    dates = sorted({str(d) for d in published["generated"].dropna()})
    notes = [
        "Each statement was checked on simulated data whose truth is known. Where there is no real effect the "
        "share is how often the statement is wrong (a false positive); where there is one, how often it is found. "
        "Monthly counts were simulated over-dispersed (variance 2.5 times the mean) and, where stated, "
        "autocorrelated, like real police counts.",
        f"Simulated with the workbench's own functions ({', '.join(dates) or 'date not recorded'}); the method "
        "and the random seed of each simulation are in the workbench's docs/VALIDATION.md.",
    ]
    if not made["measured"].all():
        notes.append("'Not yet simulated': the workbench has no simulation of this statement's error rate yet; "
                     "read it with that in mind.")
    return doc.table(view, "How often the statistical statements in this document are wrong", notes=notes,
                     max_rows=None)
