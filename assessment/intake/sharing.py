"""The information-sharing register, sharing checks and pseudonymisation.

Every catalogue dataset names its legal basis (e.g. s115 Crime and Disorder Act
1998), agreement reference and expiry, sensitivity and permitted uses. Intake
refuses a dataset (:class:`~assessment.errors.SharingRefused`) when:

- it has no legal basis;
- its agreement has expired on the run date;
- it holds personal data (``sensitivity: personal`` or declared ``identifiers``)
  without an agreement reference;
- a use is asked for that its permitted uses do not include;
- it holds personal identifiers and the pseudonym key is not set.

Personal identifiers are replaced at intake by a keyed HMAC-SHA256 pseudonym
(RFC 2104 with SHA-256). The key comes from the environment variable named by
``partnership.pseudonym_key_env``; the same key gives the same pseudonym, so
people can be linked across datasets and years without their identifiers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os

import numpy as np
import pandas as pd

from assessment.catalogue import Catalogue, Dataset
from assessment.checks import check_dataframe, check_type
from assessment.errors import SharingRefused

REGISTER_COLUMNS = ["dataset", "title", "agency", "sensitivity", "basis", "agreement", "expires",
                    "permitted_uses", "identifiers", "status", "reason"]
MIN_KEY_BYTES = 16


def _run_date(run_date: dt.date | str | None) -> dt.date:
    if run_date is None:
        return dt.date.today()
    if isinstance(run_date, dt.datetime):
        return run_date.date()
    if isinstance(run_date, dt.date):
        return run_date
    if isinstance(run_date, str):
        try:
            return dt.date.fromisoformat(run_date)
        except ValueError:
            raise ValueError(f"`run_date` must be a date or YYYY-MM-DD text, got {run_date!r}") from None
    raise TypeError(f"`run_date` must be a date or YYYY-MM-DD text, got {type(run_date).__name__}")


def holds_personal_data(dataset: Dataset) -> bool:
    """True when a dataset is marked personal or declares personal identifier columns."""
    check_type(dataset, "dataset", Dataset)
    return dataset.sensitivity == "personal" or bool(dataset.identifiers)


def sharing_problem(dataset: Dataset, run_date: dt.date | str | None = None, key: str = "dataset") -> str | None:
    """Why a dataset may not be used on ``run_date``, or None when it may.

    Parameters
    ----------
    dataset : Dataset
        A catalogue dataset entry.
    run_date : date or 'YYYY-MM-DD', optional
        The date of the run (today by default); agreements expiring before it are expired.
    key : str
        The dataset's catalogue key, for the message.

    Returns
    -------
    str or None
        A message naming the dataset and what is missing, or None.
    """
    check_type(dataset, "dataset", Dataset)
    day = _run_date(run_date)
    sharing = dataset.sharing
    if not (sharing.basis or "").strip():
        return (f"dataset {key} has no legal basis for sharing (sharing.basis); name one, e.g. "
                f"'s115 Crime and Disorder Act 1998', before it can be used")
    if sharing.expires is not None and sharing.expires < day:
        return (f"dataset {key}: sharing agreement {sharing.agreement or '(unnamed)'} expired on "
                f"{sharing.expires.isoformat()} (run date {day.isoformat()}); renew it before using the data")
    if holds_personal_data(dataset) and not (sharing.agreement or "").strip():
        return (f"dataset {key} holds personal data (sensitivity {dataset.sensitivity}, identifiers "
                f"{dataset.identifiers}) but names no information-sharing agreement (sharing.agreement)")
    return None


def check_sharing(dataset: Dataset, run_date: dt.date | str | None = None, key: str = "dataset") -> None:
    """Raise :class:`SharingRefused` when :func:`sharing_problem` finds a problem."""
    problem = sharing_problem(dataset, run_date, key)
    if problem:
        raise SharingRefused(problem)


def check_permitted_use(dataset: Dataset, use: str, key: str = "dataset") -> None:
    """Raise :class:`SharingRefused` unless ``use`` is among the dataset's permitted uses.

    Parameters
    ----------
    dataset : Dataset
        A catalogue dataset entry.
    use : str
        The use asked for, e.g. ``'strategic assessment'`` (compared case-insensitively).
    key : str
        The dataset's catalogue key, for the message.
    """
    check_type(dataset, "dataset", Dataset)
    check_type(use, "use", str)
    permitted = [u.strip().lower() for u in dataset.sharing.permitted_uses]
    if use.strip().lower() not in permitted:
        raise SharingRefused(
            f"dataset {key} may not be used for {use!r}: its agreement "
            f"{dataset.sharing.agreement or '(none)'} permits only {dataset.sharing.permitted_uses}"
        )


def pseudonym_key(catalogue: Catalogue) -> bytes:
    """The pseudonymisation key from the environment variable the catalogue names.

    Raises
    ------
    SharingRefused
        The variable is unset, empty, or shorter than 16 bytes.
    """
    check_type(catalogue, "catalogue", Catalogue)
    name = catalogue.partnership.pseudonym_key_env
    value = os.environ.get(name, "")
    if not value:
        raise SharingRefused(
            f"personal data needs a pseudonymisation key, but environment variable {name} is not set; "
            f"set it to a secret of at least {MIN_KEY_BYTES} characters kept outside the project"
        )
    key = value.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise SharingRefused(f"environment variable {name} must hold at least {MIN_KEY_BYTES} characters, "
                             f"got {len(key)}")
    return key


def pseudonymise(values: pd.Series, key: bytes) -> pd.Series:
    """Replace identifiers by keyed HMAC-SHA256 pseudonyms.

    Parameters
    ----------
    values : pandas.Series
        Raw identifiers (text; surrounding spaces are ignored, case is kept).
    key : bytes
        The secret key (:func:`pseudonym_key`).

    Returns
    -------
    pandas.Series
        64-character lowercase hex pseudonyms on the same index; NA stays NA.

    Notes
    -----
    HMAC (RFC 2104) with SHA-256 through :mod:`hmac`. Each distinct identifier is
    hashed once (``pandas.factorize``) and broadcast back; the standard library
    has no vectorised HMAC, so the hashing loop runs over distinct values only.
    """
    check_type(values, "values", pd.Series)
    check_type(key, "key", bytes)
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"`key` must be at least {MIN_KEY_BYTES} bytes, got {len(key)}")
    codes, uniques = pd.factorize(values.astype("str").str.strip(), use_na_sentinel=True)
    digests = np.array([hmac.new(key, str(u).encode("utf-8"), hashlib.sha256).hexdigest() for u in uniques],
                       dtype=object)
    picked = digests[np.clip(codes, 0, None)] if len(digests) else np.full(len(codes), None, dtype=object)
    return pd.Series(np.where(codes >= 0, picked, None), index=values.index, dtype="str")


def pseudonymise_columns(frame: pd.DataFrame, columns: list[str], key: bytes) -> pd.DataFrame:
    """Return a copy of ``frame`` with each of ``columns`` (those present) pseudonymised."""
    check_dataframe(frame, "frame")
    present = [c for c in columns if c in frame.columns]
    if not present:
        return frame
    return frame.assign(**{c: pseudonymise(frame[c], key) for c in present})


def sharing_register(catalogue: Catalogue, run_date: dt.date | str | None = None) -> pd.DataFrame:
    """The information-sharing register: one row per catalogue dataset.

    Parameters
    ----------
    catalogue : Catalogue
        The partnership catalogue.
    run_date : date or 'YYYY-MM-DD', optional
        The run date against which agreements are checked (today by default).

    Returns
    -------
    pandas.DataFrame
        ``dataset`` (key), ``title``, ``agency``, ``sensitivity``, ``basis``,
        ``agreement``, ``expires`` (ISO date text or NA), ``permitted_uses``
        (``'; '``-joined), ``identifiers`` (``'; '``-joined source columns that are
        pseudonymised), ``status`` (``'usable'`` or ``'refused'``) and ``reason``
        (why refused, NA when usable).
    """
    check_type(catalogue, "catalogue", Catalogue)
    rows = []
    for key, ds in catalogue.datasets.items():
        problem = sharing_problem(ds, run_date, key)
        rows.append({
            "dataset": key, "title": ds.title, "agency": ds.agency, "sensitivity": ds.sensitivity,
            "basis": ds.sharing.basis, "agreement": ds.sharing.agreement,
            "expires": ds.sharing.expires.isoformat() if ds.sharing.expires else None,
            "permitted_uses": "; ".join(ds.sharing.permitted_uses),
            "identifiers": "; ".join(ds.identifiers),
            "status": "refused" if problem else "usable", "reason": problem,
        })
    return pd.DataFrame(rows, columns=REGISTER_COLUMNS).astype("str")
