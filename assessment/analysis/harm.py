"""Crime harm: weighting crime counts by seriousness, so rank by harm sits next to rank by volume.

Two weighting schemes are shipped in ``assessment/data/harm_weights.csv`` for the 14
data.police.uk crime types:

* ``cchi_days``: a Cambridge Crime Harm Index style weight, the days of custody implied by
  the Sentencing Council starting point for a typical first offence of that type (fines
  expressed as days of minimum-wage earnings), after Sherman, Neyroud & Neyroud (2016).
* ``css_weight``: a Crime Severity Score style weight, after the ONS Crime Severity Score
  (average sentence-based weight per offence; ONS 2016 methodology).

The shipped values are **illustrative approximations** derived for the broad data.police.uk
categories, which mix offences of very different seriousness. They are not official CCHI or
ONS values; every row says so in its ``source`` and ``note`` columns. The documents never use
them: a partnership names a published index, mapped to its crime types, in the catalogue's
``harm_weights`` setting (read with :func:`harm_load_index`, scheme ``"weight"``); without it the
documents do not weight priorities by harm.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from assessment.checks import check_choice, check_dataframe, check_type
from assessment.paths import package_data_path

__all__ = [
    "DATA_POLICE_UK_CRIME_TYPES",
    "HARM_SCHEMES",
    "harm_load_weights",
    "harm_load_index",
    "harm_uncovered_categories",
    "harm_by_category",
    "harm_by_area",
]

DATA_POLICE_UK_CRIME_TYPES: tuple[str, ...] = (
    "Anti-social behaviour",
    "Bicycle theft",
    "Burglary",
    "Criminal damage and arson",
    "Drugs",
    "Other crime",
    "Other theft",
    "Possession of weapons",
    "Public order",
    "Robbery",
    "Shoplifting",
    "Theft from the person",
    "Vehicle crime",
    "Violence and sexual offences",
)

#: scheme name -> weight column in the weights table
HARM_SCHEMES: dict[str, str] = {"cchi": "cchi_days", "css": "css_weight", "weight": "weight"}

_REQUIRED = ("crime_type", "cchi_days", "css_weight", "source", "note")
_DEFAULT_FILE = "harm_weights.csv"


def _validate_weights(weights: pd.DataFrame, where: str, required: tuple[str, ...] = _REQUIRED) -> pd.DataFrame:
    check_dataframe(weights, "weights", required, where=where)
    out = weights.loc[:, list(required) + [c for c in weights.columns if c not in required]].copy()
    out["crime_type"] = out["crime_type"].astype("string").str.strip()
    if out["crime_type"].isna().any():
        row = int(np.flatnonzero(out["crime_type"].isna().to_numpy())[0]) + 1
        raise ValueError(f"`crime_type` must be named on every row, got a blank at row {row} in {where}")
    dup = out["crime_type"].duplicated(keep=False)
    if dup.any():
        raise ValueError(
            f"`crime_type` must be unique, got duplicates {sorted(out.loc[dup, 'crime_type'].unique())} in {where}"
        )
    for col in [c for c in ("cchi_days", "css_weight", "weight") if c in required]:
        values = pd.to_numeric(out[col], errors="coerce")
        bad = values.isna() | (values < 0)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(
                f"`{col}` must be a number of 0 or more, got {weights[col].iloc[i]!r} for "
                f"{out['crime_type'].iloc[i]!r} (row {i + 1}) in {where}"
            )
        out[col] = values.astype(float)
    for col in [c for c in ("source", "note") if c in required]:
        blank = out[col].isna() | (out[col].astype("string").str.strip() == "")
        if blank.any():
            warnings.warn(
                f"`{col}` is blank for {list(out.loc[blank, 'crime_type'])} in {where}: "
                "every weight should say where it came from",
                stacklevel=3,
            )
    return out.reset_index(drop=True)


def harm_load_weights(path: str | Path | None = None,
                      categories: tuple[str, ...] | list[str] | None = DATA_POLICE_UK_CRIME_TYPES) -> pd.DataFrame:
    """Load and validate a harm weights table (the shipped one by default).

    Parameters
    ----------
    path : str or Path, optional
        A CSV with columns ``crime_type, cchi_days, css_weight, source, note``. ``None`` loads
        the shipped ``assessment/data/harm_weights.csv``.
    categories : sequence of str, optional
        Categories the table must cover (default: the 14 data.police.uk crime types). Any not
        covered are reported with a warning; pass ``None`` to skip the check.

    Returns
    -------
    pandas.DataFrame
        One row per crime type:

        - ``crime_type`` (str): category name, as in the events' ``category`` column.
        - ``cchi_days`` (float): Cambridge Crime Harm Index style weight, days of custody.
        - ``css_weight`` (float): Crime Severity Score style weight.
        - ``source`` (str): where the weight came from.
        - ``note`` (str): caveats, including that the shipped values are illustrative.

    Raises
    ------
    ValueError
        Missing columns, duplicate or blank crime types, negative or non-numeric weights.

    Notes
    -----
    Method: offence weighting by sentencing starting points (Sherman, L., Neyroud, P. W. and
    Neyroud, E. (2016) "The Cambridge Crime Harm Index: measuring total harm from crime based
    on sentencing guidelines", *Policing* 10(3), 171-183) and by average sentence (ONS (2016)
    "Research outputs: developing a Crime Severity Score for England and Wales using data on
    crimes recorded by the police"). The shipped values are illustrative approximations for the
    broad data.police.uk categories, not official values. Anti-social behaviour carries weight
    0 (it is not a notifiable crime and has no sentencing starting point).
    """
    if path is None:
        path = package_data_path(_DEFAULT_FILE)
    check_type(path, "path", (str, Path))
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"`path` must be an existing harm weights CSV, got {str(path)!r} (no such file)")
    weights = _validate_weights(pd.read_csv(path), where=path.name)
    if categories is not None:
        missing = harm_uncovered_categories(weights, categories)
        if missing:
            warnings.warn(
                f"harm weights in {path.name} do not cover {missing}: their harm will be missing (NaN)",
                stacklevel=2,
            )
    return weights


def harm_load_index(path: str | Path) -> pd.DataFrame:
    """Load a published harm index mapped to the recorded crime types (the catalogue's harm weights).

    Parameters
    ----------
    path : str or Path
        A CSV with columns ``crime_type`` and ``weight`` (harm per crime, 0 or more); other
        columns are kept.

    Returns
    -------
    pandas.DataFrame
        ``crime_type`` (str), ``weight`` (float) and any other columns, one row per crime type;
        use it with ``scheme="weight"``.

    Raises
    ------
    ValueError
        No such file, missing columns, blank or duplicate crime types, negative or non-numeric
        weights (the message names the file and row).

    Notes
    -----
    Method: offence weighting by a published index, e.g. the ONS Crime Severity Score (ONS (2016)
    "Research outputs: developing a Crime Severity Score for England and Wales using data on crimes
    recorded by the police") or the Cambridge Crime Harm Index (Sherman, Neyroud & Neyroud (2016),
    *Policing* 10(3), 171-183), mapped by the partnership to its recorded crime types. The catalogue
    states the index, its source, year and mapping, and the documents repeat them.
    """
    check_type(path, "path", (str, Path))
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"`path` must be an existing harm weights CSV, got {str(path)!r} (no such file)")
    return _validate_weights(pd.read_csv(path), where=path.name, required=("crime_type", "weight"))


def harm_uncovered_categories(weights: pd.DataFrame, categories) -> list[str]:
    """Return the categories (in the order given) that have no row in ``weights``.

    Parameters
    ----------
    weights : pandas.DataFrame
        A weights table as returned by :func:`harm_load_weights`.
    categories : iterable of str
        Category names to look up.

    Returns
    -------
    list of str
        Categories absent from ``weights['crime_type']`` (empty when all are covered).
    """
    check_dataframe(weights, "weights", ["crime_type"])
    cats = pd.Series(pd.unique(pd.Series(list(categories), dtype="string").dropna()), dtype="string")
    return [str(c) for c in cats[~cats.isin(weights["crime_type"].astype("string"))]]


def _resolve_weights(weights, scheme: str) -> tuple[pd.DataFrame, str]:
    check_choice(scheme, "scheme", list(HARM_SCHEMES))
    if scheme == "weight":
        if weights is None:
            raise ValueError("`weights` must be given with scheme 'weight' (a table with crime_type and weight), got None")
        if isinstance(weights, (str, Path)):
            return harm_load_index(weights), "weight"
        return _validate_weights(weights, where="weights", required=("crime_type", "weight")), "weight"
    if weights is None:
        weights = harm_load_weights(categories=None)
    elif isinstance(weights, (str, Path)):
        weights = harm_load_weights(weights, categories=None)
    else:
        weights = _validate_weights(weights, where="weights")
    return weights, HARM_SCHEMES[scheme]


def _prepare(events: pd.DataFrame, group_col: str, category_col: str, count_col: str | None,
             exclude_repeats: bool) -> pd.DataFrame:
    cols = [group_col, category_col] if group_col != category_col else [category_col]
    check_dataframe(events, "events", cols + ([count_col] if count_col else []))
    frame = events
    if exclude_repeats and "is_repeat" in frame.columns:
        frame = frame.loc[~frame["is_repeat"].fillna(False).astype(bool)]
    if count_col:
        from assessment.checks import check_nonnegative_counts

        check_nonnegative_counts(frame[count_col], count_col, where="events")
        n = pd.to_numeric(frame[count_col]).astype(float)
    else:
        n = pd.Series(1.0, index=frame.index)
    out = pd.DataFrame({"category": frame[category_col].astype("string"), "n": n})
    if group_col != category_col:
        out["group"] = frame[group_col]
    return out


def _attach_weight(frame: pd.DataFrame, weights: pd.DataFrame, wcol: str) -> pd.DataFrame:
    lookup = weights.set_index("crime_type")[wcol]
    frame["weight"] = frame["category"].map(lookup).astype(float)
    missing = harm_uncovered_categories(weights, frame["category"])
    if missing:
        warnings.warn(
            f"no harm weight for categories {missing}: their harm is missing (NaN) and left out of harm totals",
            stacklevel=3,
        )
    return frame


def harm_by_category(events: pd.DataFrame, weights: pd.DataFrame | str | Path | None = None,
                     scheme: str = "cchi", category_col: str = "category", count_col: str | None = None,
                     exclude_repeats: bool = True) -> pd.DataFrame:
    """Volume and harm per crime category, with rank by volume next to rank by harm.

    Parameters
    ----------
    events : pandas.DataFrame
        Harmonised events (one row per event) or area counts (then give ``count_col``). Must
        hold ``category_col``.
    weights : DataFrame, path or None
        A weights table (see :func:`harm_load_weights`); ``None`` uses the shipped table.
    scheme : {"cchi", "css", "weight"}
        ``"cchi"`` uses ``cchi_days``; ``"css"`` uses ``css_weight``; ``"weight"`` uses the
        ``weight`` column of a published index (:func:`harm_load_index`).
    category_col : str
        Column holding the crime type (default ``category``).
    count_col : str, optional
        Column of counts to sum (area-count tables); ``None`` counts rows.
    exclude_repeats : bool
        Drop rows flagged ``is_repeat`` (repeat reports of an event already present) before
        counting, when that column exists. Default True.

    Returns
    -------
    pandas.DataFrame
        One row per category, sorted by harm (highest first):

        - ``category`` (str): crime type.
        - ``volume`` (float): number of events.
        - ``volume_share`` (float): share of all events, 0-1.
        - ``weight`` (float): harm weight per event (NaN when the table lacks the category).
        - ``harm`` (float): ``volume * weight``.
        - ``harm_share`` (float): share of total harm (categories with a weight), 0-1.
        - ``rank_volume`` (int): 1 = highest volume (ties share the lowest rank, ``min``).
        - ``rank_harm`` (Int64): 1 = highest harm; NA where the weight is missing.
        - ``rank_shift`` (Int64): ``rank_volume - rank_harm``; positive means the category
          ranks higher by harm than by volume.
        - ``weight_missing`` (bool): the weights table has no row for the category.

    Notes
    -----
    Harm is the count multiplied by a per-offence weight: the Cambridge Crime Harm Index
    (Sherman, Neyroud & Neyroud 2016, *Policing* 10(3)) with days of custody at the Sentencing
    Council starting point, or the ONS Crime Severity Score (ONS 2016). The shipped weights are
    illustrative approximations for broad data.police.uk categories; see ``note`` in the table.
    """
    weights, wcol = _resolve_weights(weights, scheme)
    frame = _prepare(events, category_col, category_col, count_col, exclude_repeats)
    out = frame.groupby("category", observed=True, dropna=False)["n"].sum().rename("volume").reset_index()
    out = _attach_weight(out, weights, wcol)
    out["harm"] = out["volume"] * out["weight"]
    total_v = out["volume"].sum()
    total_h = out["harm"].sum(min_count=1)
    out["volume_share"] = out["volume"] / total_v if total_v > 0 else np.nan
    out["harm_share"] = out["harm"] / total_h if total_h and total_h > 0 else np.nan
    out["rank_volume"] = out["volume"].rank(ascending=False, method="min").astype(int)
    out["rank_harm"] = out["harm"].rank(ascending=False, method="min").astype("Int64")
    out["rank_shift"] = (out["rank_volume"].astype("Int64") - out["rank_harm"]).astype("Int64")
    out["weight_missing"] = out["weight"].isna()
    out = out.sort_values(["harm", "volume"], ascending=False, na_position="last").reset_index(drop=True)
    return out[["category", "volume", "volume_share", "weight", "harm", "harm_share",
                "rank_volume", "rank_harm", "rank_shift", "weight_missing"]]


def harm_by_area(events: pd.DataFrame, weights: pd.DataFrame | str | Path | None = None,
                 scheme: str = "cchi", area_col: str = "area_code", category_col: str = "category",
                 count_col: str | None = None, exclude_repeats: bool = True) -> pd.DataFrame:
    """Volume and harm per area, with rank by volume next to rank by harm.

    Parameters
    ----------
    events : pandas.DataFrame
        Harmonised events or area counts holding ``area_col`` and ``category_col``.
    weights, scheme, category_col, count_col, exclude_repeats
        As in :func:`harm_by_category`.
    area_col : str
        Column naming the area (ward code, small-area code or grid cell id). Rows with a
        missing area are left out, with a warning saying how many.

    Returns
    -------
    pandas.DataFrame
        One row per area, sorted by harm (highest first):

        - ``area`` : the area identifier (values of ``area_col``).
        - ``volume`` (float): number of events.
        - ``harm`` (float): sum of ``count * weight`` over categories with a weight.
        - ``harm_share`` (float): share of total harm, 0-1.
        - ``harm_per_event`` (float): ``harm / volume`` (mean seriousness), NaN when volume 0.
        - ``unweighted_events`` (float): events whose category had no weight (not in harm).
        - ``rank_volume`` (int), ``rank_harm`` (int): 1 = highest (ties ``min``).

    Notes
    -----
    Harm weighting as in :func:`harm_by_category` (Sherman, Neyroud & Neyroud 2016; ONS 2016):
    "harm spots" can differ from volume hotspots because a few serious offences outweigh many
    minor ones.
    """
    check_type(area_col, "area_col", str)
    weights, wcol = _resolve_weights(weights, scheme)
    frame = _prepare(events, area_col, category_col, count_col, exclude_repeats)
    no_area = frame["group"].isna()
    if no_area.any():
        warnings.warn(f"{int(no_area.sum())} event row(s) have no `{area_col}` and are left out of harm by area",
                      stacklevel=2)
        frame = frame.loc[~no_area]
    frame = _attach_weight(frame, weights, wcol)
    frame["harm"] = frame["n"] * frame["weight"]
    frame["unweighted"] = frame["n"].where(frame["weight"].isna(), 0.0)
    out = frame.groupby("group", observed=True).agg(volume=("n", "sum"), harm=("harm", "sum"),
                                                    unweighted_events=("unweighted", "sum"))
    out = out.reset_index().rename(columns={"group": "area"})
    total_h = out["harm"].sum()
    out["harm_share"] = out["harm"] / total_h if total_h > 0 else np.nan
    out["harm_per_event"] = out["harm"] / out["volume"].where(out["volume"] > 0)
    out["rank_volume"] = out["volume"].rank(ascending=False, method="min").astype(int)
    out["rank_harm"] = out["harm"].rank(ascending=False, method="min").astype(int)
    out = out.sort_values(["harm", "volume"], ascending=False).reset_index(drop=True)
    return out[["area", "volume", "harm", "harm_share", "harm_per_event", "unweighted_events",
                "rank_volume", "rank_harm"]]
