"""Plain words: the glossary at the end of every document.

Each entry is a technical term, the pattern that finds it in a document's text, and a
definition in plain English. :func:`glossary_terms` lists the entries a text uses;
:func:`section_glossary` ends a document with the terms that the document itself showed
(the text of every section is recorded as the notebook displays it, see
:func:`assessment.reporting.display.record_shown`).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from ..checks import check_type
from .display import HTMLPart, Section, escape


@dataclass(frozen=True)
class Term:
    """A glossary entry: the term as shown, the pattern that finds it in text, its definition."""

    term: str
    pattern: str
    definition: str


#: Every term a document may use, with its plain-English definition (alphabetical by term).
TERMS: tuple[Term, ...] = (
    Term("Autocorrelation", r"(?i:autocorrelat)|\bAR\(1\)",
         "Neighbouring months tend to be alike. Treating them as independent makes a result look more certain "
         "than it is, so the evaluation allows for it."),
    Term("Byar's method", r"\bByar",
         "A standard way of putting a range of uncertainty around a rate that is built from a count of events."),
    Term("Co-terminosity", r"(?i:co-?terminos|coterminous)",
         "Whether the boundaries of two sets of areas (for example police neighbourhoods and wards) line up, so "
         "that figures for one can be added up into the other."),
    Term("Confidence interval", r"(?i:confidence interval)|\b95% CI\b|\(CI\b",
         "The range of values the data are consistent with. For a 95% interval, if the exercise were repeated "
         "many times, about 95 in 100 such ranges would contain the true value."),
    Term("Control limits", r"(?i:control limit)",
         "The band a monthly count is expected to stay within if nothing unusual is happening. A month outside "
         "it is flagged as exceptional."),
    Term("Crime harm", r"(?i:harm index|harm score|harm weight|by harm|crime harm)|\bCHI\b",
         "Offences weighted by how serious they are, using the published index named in the document, so that "
         "one serious offence can count for more than many minor ones."),
    Term("Deprivation decile", r"(?i:\bdecile|multiple deprivation)|\bIMD\b",
         "Small areas ranked by deprivation across the country and cut into ten equal groups. Decile 1 is the "
         "most deprived tenth and decile 10 the least deprived."),
    Term("Difference-in-differences", r"(?i:difference-in-differences|difference in differences)|\bDiD\b",
         "An estimate of what an intervention did: the change in the area that had it, minus the change over the "
         "same months in comparable areas that did not."),
    Term("Exact conditional test", r"(?i:exact conditional)",
         "A test of whether two counts differ by more than chance would explain. Given their total, it asks how "
         "likely a split at least this uneven would be if both periods had the same underlying rate."),
    Term("False discovery rate (FDR)", r"\bFDR\b|(?i:false discovery)|Benjamini",
         "When many places or issues are tested at once, a few will look unusual by chance. Controlling the false "
         "discovery rate keeps the expected share of such chance results among those flagged at the stated "
         "level (usually 5%)."),
    Term("Getis-Ord Gi*", r"\bGi\*|Getis",
         "The hotspot test. It looks at each grid square together with its neighbours and asks whether their "
         "combined count is higher (a hotspot) or lower (a cold spot) than it would be if events were spread "
         "evenly across the area."),
    Term("Hate crime strand", r"[Hh]ate crimes? by strand|\bstrand\b",
         "The group the offender's hostility was aimed at, as the police record it: race, religion, sexual "
         "orientation, disability or transgender identity."),
    Term("Interrupted time series", r"(?i:interrupted time series)|\bITS\b",
         "An estimate of what an intervention did from one area's monthly figures: the pattern before the start "
         "is carried forward and compared with what actually happened afterwards."),
    Term("Jaccard index (overlap index)", r"Jaccard|(?i:overlap index)",
         "The overlap between two lists of places: the places on both lists divided by the places on either. "
         "0 means no place in common and 1 means the same list."),
    Term("Knox test", r"\bKnox",
         "A test of whether events that are close together in place are also close together in time more often "
         "than chance would give, as when one burglary is followed by others nearby within days."),
    Term("Lower-layer super output area (LSOA)", r"\bLSOA|(?i:super output area|small areas?\b)",
         "The small areas, of about 1,500 residents each, that the Office for National Statistics uses to publish "
         "census and deprivation figures."),
    Term("Minimum detectable effect", r"(?i:detectable|statistical power|\bpower\b)",
         "The smallest real change an evaluation would be likely to detect with the data available. A smaller "
         "effect could be real and still go unseen."),
    Term("Most similar group", r"(?i:most[- ]similar|similar partnerships)",
         "Partnerships grouped together because their populations and places are alike, so that comparing crime "
         "rates between them is fair."),
    Term("Near repeat", r"(?i:near[- ]repeat)",
         "A crime close in place and time to an earlier one, for example a burglary a few doors away within a "
         "fortnight of another."),
    Term("Negative binomial model (NB2)", r"\bNB2\b|(?i:negative[- ]binomial)",
         "A model for counts that vary more from month to month than chance alone predicts, as crime counts "
         "usually do. It gives wider, more honest ranges of uncertainty than a Poisson model."),
    Term("Over-dispersion", r"(?i:over-?dispers)",
         "Counts varying more than chance alone would make them vary, for example because incidents come in "
         "clusters. Tests that ignore it call too many changes significant."),
    Term("p-value", r"\bp\s*[=<>]|\bp-values?\b|\bp \(",
         "The chance of seeing a difference at least as large as the one found if nothing had really changed. "
         "Below 0.05 the difference is called statistically significant; a p-value says nothing about how large "
         "or important the difference is."),
    Term("PESTELO", r"PESTELO",
         "A checklist for scanning the horizon: political, economic, social, technological, environmental, legal "
         "and organisational changes that may affect crime and disorder."),
    Term("Poisson model", r"(?<![Qq]uasi-)\bPoisson\b",
         "The simplest model for counts of independent events: it assumes the ups and downs from month to month "
         "are what chance alone produces."),
    Term("Problem analysis triangle", r"(?i:analysis triangle|problem triangle)",
         "A way of looking at a problem from three sides: the victims, the offenders and the places where it "
         "happens."),
    Term("Proven reoffending", r"(?i:proven reoffending)",
         "The Ministry of Justice's measure: of a group (cohort) of offenders cautioned, convicted or released "
         "from custody in one quarter, the share who commit another offence within a year that leads to a "
         "caution or conviction."),
    Term("Pseudonymisation", r"(?i:pseudonym)",
         "Replacing names and other identifiers with codes that cannot be turned back into them without a secret "
         "key that the partnership holds."),
    Term("Quarantine", r"(?i:quarantin)",
         "Setting aside a record that cannot be used, with the reason, instead of dropping it without trace."),
    Term("Quasi-Poisson model", r"(?i:quasi-?Poisson)",
         "A Poisson model whose ranges of uncertainty are widened by the extra variation actually seen in the "
         "data."),
    Term("Rate ratio", r"(?i:rate ratio|times that in|times the)",
         "One rate divided by another: 1.5 means the first is half as high again as the second, and 1.0 means "
         "they are the same."),
    Term("Regression to the mean", r"(?i:regression to the mean)",
         "Places chosen because their figures were unusually high tend to come back towards normal anyway, so a "
         "fall there is not on its own evidence that an intervention worked."),
    Term("Seasonal strength (STL)", r"\bSTL\b|(?i:seasonal strength)",
         "How much of the month-to-month movement in a series is a pattern that repeats every year, from 0 (none) "
         "to 1 (all of it). It comes from splitting the series into trend, season and what is left over."),
    Term("Section 115 sharing", r"\bs115\b|(?i:section 115)",
         "Section 115 of the Crime and Disorder Act 1998 allows partners to share information for the purposes "
         "of the Act. An information-sharing agreement records what is shared, by whom and for which uses."),
    Term("Series break", r"(?i:series break|counting rule changed)",
         "A point where the way something is counted changed, for example a new recording rule, so figures before "
         "and after it are not directly comparable."),
    Term("SMART target", r"\bSMART\b",
         "A target that is specific, measurable, achievable, relevant and time-bound."),
    Term("Spearman's rank correlation (rho)", r"Spearman|\brho\b|(?i:rank correlation)",
         "How closely two rankings agree, from -1 (exactly opposite order) through 0 (no link) to 1 (the same "
         "order); for example, whether the areas where one agency sees most incidents are those where the police "
         "see most."),
    Term("Standard deviation", r"(?i:standard deviation)|\bSD\b",
         "A measure of how spread out a set of figures is around their average."),
    Term("Statistically significant", r"(?i:significan)",
         "A change or difference larger than chance alone would plausibly produce, judged by a test at the 5% "
         "level. 'Within normal variation' means the test could not rule out chance; it does not mean there was "
         "no change."),
    Term("Successful completion (treatment)", r"(?i:completed treatment successfully|successful completion)",
         "Leaving drug or alcohol treatment having completed it, as the treatment service records it, rather "
         "than dropping out or being transferred."),
    Term("Suppression", r"(?i:suppress)|\[c\]",
         "Hiding small counts (shown as [c]) so that no one can be identified from a table, with further cells "
         "hidden where the hidden count could otherwise be worked out."),
    Term("Violence against women and girls (VAWG)", r"(?i:women and girls)|\bVAWG\b",
         "Crimes that fall mainly on women and girls. In these documents: crimes against a female victim that "
         "the police flagged as domestic abuse or recorded as a sexual offence, stalking or harassment."),
)

_SCRIPT = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
_TAGS = re.compile(r"<[^>]+>")
_GLOSSARY = re.compile(r'<section class="glossary".*?</section>', re.S)


def text_of(page: str) -> str:
    """The visible text of an HTML fragment (tags, scripts and styles removed; entities decoded).

    Map iframes keep their page in an escaped ``srcdoc`` attribute, which goes with the tag.
    """
    check_type(page, "page", str)
    return html.unescape(_TAGS.sub(" ", _SCRIPT.sub(" ", _GLOSSARY.sub(" ", page))))


def glossary_terms(text: str, terms: tuple[Term, ...] = TERMS) -> list[Term]:
    """The glossary entries whose pattern occurs in ``text`` (plain text), in glossary order."""
    check_type(text, "text", str)
    return [t for t in terms if re.search(t.pattern, text)]


def glossary(terms: list[Term]) -> HTMLPart:
    """The glossary section: a definition list of ``terms`` (a sentence when there are none)."""
    if not terms:
        body = "<p>This document uses no technical terms that need explaining.</p>"
    else:
        body = "<dl>" + "".join(f"<dt>{escape(t.term)}</dt><dd>{escape(t.definition)}</dd>" for t in terms) + "</dl>"
    return HTMLPart(f'<section class="glossary" aria-labelledby="glossary"><h2 id="glossary">Glossary</h2>'
                    "<p>The technical terms this document uses, in plain words.</p>" + body + "</section>")


def section_glossary(doc) -> Section | HTMLPart:
    """End a document with the glossary of the technical terms its sections showed."""
    text = doc.shown_text()
    return glossary(glossary_terms(text))
