"""SMART check of a previous strategy's targets: what exactly is missing from each.

A target is checked for five criteria:

=================  ====================================================================
criterion          passes when
=================  ====================================================================
``specific``       a metric is named (field ``metric``, or parsed from the text)
``measurable``     a baseline is present (``baseline`` value or ``baseline_year``)
``achievable``     a direction *and* a numeric size are given (how far, which way)
``time_bound``     a deadline is given
``responsible``    an owner is named
=================  ====================================================================

Fields that are absent are parsed from the target's text with documented regular
expressions (see :func:`smart_parse_text`), so "Reduce burglary by 10% from the 2022 baseline
by March 2026" has its metric, direction, size, baseline year and deadline recognised.
Vague verbs (encourage, monitor, promote, support, work to, raise awareness, explore,
improve) are flagged whole-word and case-insensitively.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from assessment.checks import check_dataframe, check_type

__all__ = ["VAGUE_VERBS", "SMART_FIELDS", "smart_parse_text", "smart_check"]

#: vague verbs and the inflected forms matched for each (whole word, case-insensitive)
VAGUE_VERBS: dict[str, tuple[str, ...]] = {
    "encourage": ("encourage", "encourages", "encouraging", "encouraged"),
    "monitor": ("monitor", "monitors", "monitoring", "monitored"),
    "promote": ("promote", "promotes", "promoting", "promoted"),
    "support": ("support", "supports", "supporting", "supported"),
    "work to": ("work to", "working to", "works to"),
    "raise awareness": ("raise awareness", "raising awareness", "raises awareness"),
    "explore": ("explore", "explores", "exploring", "explored"),
    "improve": ("improve", "improves", "improving", "improved"),
}

#: the optional fields of a target record
SMART_FIELDS = ("metric", "baseline", "baseline_year", "direction", "size", "deadline", "owner")

_MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|December|"
           "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec")
_DECREASE = r"reduce|reduction|decrease|cut|lower|halve|bring down"
_INCREASE = r"increase|grow|double|boost"
_MAINTAIN = r"maintain|sustain|hold|keep"
_KEEP_BELOW = r"keep below|stay below|keep under|stay under|below|under"
_KEEP_ABOVE = r"keep above|stay above|keep over|above|over"

#: documented regular expressions (all case-insensitive)
PATTERNS: dict[str, str] = {
    # direction: first direction word in the text
    "direction": rf"\b(?P<word>{_DECREASE}|{_INCREASE}|{_MAINTAIN})\b",
    # keep below / above: "Keep burglary below the 2022 level", "maintain satisfaction above 80%"
    "keep": (rf"\b(?:{_MAINTAIN}|stay)\b[\w\s'\-]*?\b(?P<side>below|under|beneath|above|over)\b"),
    # size: "by 10%", "by 10 per cent", "by 2.5 percentage points", "by 50 offences"
    "size": r"\bby\s+(?P<size>\d+(?:\.\d+)?)\s*(?P<unit>%|per\s?cent|percent|percentage points?|[a-z]+)?",
    # baseline year: "from the 2022 baseline", "against 2022/23 levels", "2022 baseline", "baseline of 2022"
    "baseline_year": (r"(?:\b(?:from|against|on|compared (?:with|to)|relative to)\s+(?:the\s+)?"
                      r"(?P<y1>(?:19|20)\d{2})(?:/\d{2,4})?(?:\s+(?:baseline|levels?|figures?|rate))?)"
                      r"|(?:\b(?P<y2>(?:19|20)\d{2})(?:/\d{2,4})?\s+baseline)"
                      r"|(?:\bbaseline\s+(?:year\s+)?(?:of\s+)?(?P<y3>(?:19|20)\d{2}))"),
    # baseline value: "baseline of 412", "from a baseline of 412 offences"
    "baseline": r"\bbaseline\s+(?:of|was|=|:)\s+(?P<value>\d[\d,]*(?:\.\d+)?)(?!\s*(?:/|\d))",
    # deadline: "by March 2026", "by end of 2025", "by 2026/27", "before December 2025"
    "deadline": (rf"\b(?:by|before|no later than|until)\s+(?:the\s+)?(?:end of\s+)?"
                 rf"(?P<deadline>(?:(?:{_MONTHS})\s+)?(?:19|20)\d{{2}}(?:/\d{{2,4}})?)\b"),
    # metric: the words between the direction verb and "by <number>" ("Reduce burglary by 10%")
    "metric": (rf"\b(?:{_DECREASE}|{_INCREASE}|{_MAINTAIN})\s+(?:the\s+)?(?:(?:number|rate|level) of\s+)?"
               r"(?P<metric>[a-z][a-z \-']*?)\s+(?:by|to|at)\s+\d"),
}

_VAGUE_RE = r"\b(?P<verb>" + "|".join(
    re.escape(f).replace(r"\ ", r"\s+") for forms in VAGUE_VERBS.values() for f in sorted(forms, key=len, reverse=True)
) + r")\b"
_VAGUE_BASE = {f: base for base, forms in VAGUE_VERBS.items() for f in forms}


def _direction_of(word: pd.Series) -> pd.Series:
    w = word.str.lower()
    out = pd.Series(pd.NA, index=word.index, dtype="string")
    out = out.mask(w.str.fullmatch(_DECREASE, na=False), "decrease")
    out = out.mask(w.str.fullmatch(_INCREASE, na=False), "increase")
    out = out.mask(w.str.fullmatch(_MAINTAIN, na=False), "maintain")
    out = out.mask(w.str.fullmatch(_KEEP_BELOW, na=False), "keep below")
    out = out.mask(w.str.fullmatch(_KEEP_ABOVE, na=False), "keep above")
    return out


def smart_parse_text(text: pd.Series) -> pd.DataFrame:
    """Parse SMART fields out of free-text targets with documented regular expressions.

    Parameters
    ----------
    text : pandas.Series of str
        Target texts, e.g. "Reduce burglary by 10% from the 2022 baseline by March 2026".

    Returns
    -------
    pandas.DataFrame
        Same index as ``text``; missing where nothing was recognised:

        - ``metric`` (str): words between the direction verb and "by/to/at <number>".
        - ``direction`` (str): ``decrease`` (reduce, decrease, cut, lower, ...), ``increase``,
          ``keep below`` / ``keep above`` ("keep ... below the 2022 level") or ``maintain``.
        - ``size`` (float): the number after "by".
        - ``size_unit`` (str): ``%`` for per cent, else the word after the number.
        - ``baseline`` (float): a value after "baseline of".
        - ``baseline_year`` (Int64): year in "from the 2022 baseline", "against 2022/23 levels".
        - ``deadline`` (str): "March 2026", "2025", "2026/27" after by/before/until/no later than.

    Notes
    -----
    Method: case-insensitive regular expressions, listed in ``assessment.analysis.smart.PATTERNS``
    and applied with pandas ``Series.str.extract`` (vectorised). Patterns are heuristics for the
    common phrasing of UK community safety targets (Home Office (2007) *Delivering Safer
    Communities: a guide to effective partnership working*, SMART targets); check the parsed
    fields against the strategy document.
    """
    check_type(text, "text", pd.Series)
    t = text.astype("string").fillna("")
    flags = re.IGNORECASE
    out = pd.DataFrame(index=text.index)
    metric = t.str.extract(PATTERNS["metric"], flags=flags)["metric"].str.strip()
    out["metric"] = metric.mask(metric == "")
    direction = _direction_of(t.str.extract(PATTERNS["direction"], flags=flags)["word"])
    side = t.str.extract(PATTERNS["keep"], flags=flags)["side"].str.lower()
    keep = side.map({"below": "keep below", "under": "keep below", "beneath": "keep below",
                     "above": "keep above", "over": "keep above"}).astype("string")
    # "keep/hold/maintain ... below/above" names its side; a reduce or increase verb still wins
    out["direction"] = direction.where(~(direction.isna() | (direction == "maintain")) | keep.isna(), keep)
    size = t.str.extract(PATTERNS["size"], flags=flags)
    out["size"] = pd.to_numeric(size["size"], errors="coerce").astype(float)
    unit = size["unit"].str.lower().str.strip()
    unit = unit.mask(unit.str.fullmatch(r"%|per\s?cent|percent", na=False), "%")
    out["size_unit"] = unit.astype("string")
    # the size number must not be the deadline year itself ("by 2026")
    year_like = out["size"].between(1900, 2100) & out["size_unit"].isna()
    out.loc[year_like, "size"] = np.nan
    base = t.str.extract(PATTERNS["baseline"], flags=flags)["value"].str.replace(",", "", regex=False)
    out["baseline"] = pd.to_numeric(base, errors="coerce").astype(float)
    by = t.str.extract(PATTERNS["baseline_year"], flags=flags)
    out["baseline_year"] = pd.to_numeric(by["y1"].fillna(by["y2"]).fillna(by["y3"]), errors="coerce").astype("Int64")
    out["deadline"] = t.str.extract(PATTERNS["deadline"], flags=flags)["deadline"].astype("string")
    return out


def _blank(s: pd.Series) -> pd.Series:
    return s.isna() | (s.astype("string").str.strip() == "")


def smart_check(targets) -> pd.DataFrame:
    """Check each target of a previous strategy against SMART and say exactly what is missing.

    Parameters
    ----------
    targets : list of dict or pandas.DataFrame
        One record per target with ``id``, ``priority`` and ``text`` (required) and optionally
        ``metric``, ``baseline``, ``baseline_year``, ``direction``, ``size``, ``deadline``,
        ``owner``. Fields that are absent or blank are parsed from ``text``
        (:func:`smart_parse_text`); a field given explicitly always wins.

    Returns
    -------
    pandas.DataFrame
        One row per target, in input order:

        - ``id``, ``priority``, ``text``: as given.
        - ``metric``, ``baseline``, ``baseline_year``, ``direction``, ``size``, ``deadline``,
          ``owner``: the resolved fields (given or parsed).
        - ``parsed_from_text`` (str): comma-separated fields that were filled from the text.
        - ``specific`` (bool): a metric is named.
        - ``measurable`` (bool): a baseline value or baseline year is present.
        - ``achievable`` (bool): direction and numeric size both present.
        - ``time_bound`` (bool): a deadline is present.
        - ``responsible`` (bool): an owner is named.
        - ``n_criteria_met`` (int): 0-5.
        - ``missing`` (str): exactly what is missing, in the order metric, baseline,
          direction, size, deadline, owner (e.g. "metric, baseline, deadline, owner"); empty
          when nothing is missing.
        - ``vague_verbs`` (str): comma-separated vague verbs found (base forms), empty if none.
        - ``verdict`` (str): ``SMART`` (all five met), ``partly SMART`` (2-4 met) or
          ``not SMART`` (0-1 met).
        - ``sentence`` (str): a plain-language summary naming the target, the verdict, what is
          missing and any vague verbs.

    Notes
    -----
    Criteria follow the SMART mnemonic (Doran, G. T. (1981) "There's a S.M.A.R.T. way to write
    management's goals and objectives", *Management Review* 70(11), 35-36) as applied to
    community safety strategies (Home Office 2007, *Delivering Safer Communities*). Here
    "Achievable" is operationalised as a stated direction and size of change, and "Relevant/
    Responsible" as a named owner. A baseline year counts as a baseline because the value can
    be read from the named year's data. Vague verbs are flagged but do not change the verdict,
    which depends on the five criteria only; the sentence names them.
    """
    if isinstance(targets, list):
        if not all(isinstance(t, dict) for t in targets):
            raise TypeError("`targets` must be a list of dicts or a DataFrame, got a list holding non-dict items")
        targets = pd.DataFrame(targets)
    check_dataframe(targets, "targets", ["id", "priority", "text"])
    df = targets.reset_index(drop=True).copy()
    if _blank(df["text"]).any():
        i = int(np.flatnonzero(_blank(df["text"]).to_numpy())[0])
        raise ValueError(f"`text` must describe every target, got a blank text for target id {df['id'].iloc[i]!r}")
    for f in SMART_FIELDS:
        if f not in df.columns:
            df[f] = pd.NA
    parsed = smart_parse_text(df["text"])
    filled = pd.DataFrame(index=df.index)
    for f in ("metric", "baseline", "baseline_year", "direction", "size", "deadline"):
        use = _blank(df[f]) & parsed[f].notna()
        filled[f] = use
        df[f] = df[f].astype(object).where(~use, parsed[f].astype(object))
    # normalise explicit directions to the parsed vocabulary
    d = df["direction"].astype("string").str.strip()
    norm = _direction_of(d)
    df["direction"] = norm.where(norm.notna(), d.mask(_blank(d)))
    # Sizes written as "10%" or "10 per cent" are numbers with a unit; keep the number.
    size_text = df["size"].astype("string").str.strip().str.replace(r"\s*(%|per ?cent|percent)$", "", regex=True)
    size = pd.to_numeric(size_text, errors="coerce")
    bad_size = size.isna() & ~_blank(df["size"])
    if bad_size.any():
        i = int(np.flatnonzero(bad_size.to_numpy())[0])
        raise ValueError(f"`size` must be a number, got {df['size'].iloc[i]!r} for target id {df['id'].iloc[i]!r}")
    df["size"] = size.astype(float)
    df["baseline_year"] = pd.to_numeric(df["baseline_year"], errors="coerce").astype("Int64")

    has = {
        "metric": ~_blank(df["metric"]),
        "baseline": ~_blank(df["baseline"]) | df["baseline_year"].notna(),
        "direction": ~_blank(df["direction"]),
        "size": df["size"].notna(),
        "deadline": ~_blank(df["deadline"]),
        "owner": ~_blank(df["owner"]),
    }
    df["specific"] = has["metric"].to_numpy()
    df["measurable"] = has["baseline"].to_numpy()
    df["achievable"] = (has["direction"] & has["size"]).to_numpy()
    df["time_bound"] = has["deadline"].to_numpy()
    df["responsible"] = has["owner"].to_numpy()
    crit = ["specific", "measurable", "achievable", "time_bound", "responsible"]
    df["n_criteria_met"] = df[crit].sum(axis=1).astype(int)

    missing = pd.Series("", index=df.index, dtype="string")
    for name, ok in has.items():
        missing = missing + np.where(ok, "", ", " + name)
    df["missing"] = missing.str.removeprefix(", ")
    parsed_from = pd.Series("", index=df.index, dtype="string")
    for name in filled.columns:
        parsed_from = parsed_from + np.where(filled[name], ", " + name, "")
    df["parsed_from_text"] = parsed_from.str.removeprefix(", ")

    found = df["text"].astype("string").str.extractall(_VAGUE_RE, flags=re.IGNORECASE)
    if len(found):
        base = found["verb"].str.lower().str.replace(r"\s+", " ", regex=True).map(_VAGUE_BASE)
        pairs = base.reset_index(level="match", drop=True).rename("verb").rename_axis("row").reset_index()
        pairs = pairs.drop_duplicates(["row", "verb"])
        vague = pairs.groupby("row")["verb"].agg(", ".join)
        df["vague_verbs"] = vague.reindex(df.index).fillna("").astype("string")
    else:
        df["vague_verbs"] = pd.Series("", index=df.index, dtype="string")

    df["verdict"] = np.select([df["n_criteria_met"] == 5, df["n_criteria_met"] >= 2],
                              ["SMART", "partly SMART"], default="not SMART")
    head = "Target " + df["id"].astype("string") + " (" + df["priority"].astype("string").fillna("no priority") + ") is "
    body = df["verdict"].astype("string") + np.where(df["missing"] == "", ": nothing is missing",
                                                    ": missing " + df["missing"])
    tail = np.where(df["vague_verbs"] == "", "", "; vague wording: " + df["vague_verbs"].astype(str))
    df["sentence"] = head + body + tail + "."
    cols = (["id", "priority", "text"] + list(SMART_FIELDS) + ["parsed_from_text"] + crit
            + ["n_criteria_met", "missing", "vague_verbs", "verdict", "sentence"])
    return df[cols]
