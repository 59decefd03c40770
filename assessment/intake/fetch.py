"""Fetch a force's (or a partnership boundary's) data from data.police.uk.

This is how an analyst starts in real life: ``assess fetch-police --force SLUG
--from YYYY-MM --to YYYY-MM --dest DIR`` writes the same tree, file names and
columns as a manual download from https://data.police.uk/data/::

    DIR/YYYY-MM/YYYY-MM-<force>-street.csv
    DIR/YYYY-MM/YYYY-MM-<force>-outcomes.csv
    DIR/YYYY-MM/YYYY-MM-<force>-stop-and-search.csv
    DIR/catalogue_stub.yaml

so that :mod:`assessment.intake.police_uk` reads it unchanged.

Two sources
-----------
**The public API** (https://data.police.uk/api/, the default):

- ``forces/<force>``: the force's name (``Reported by``/``Falls within``); a 404
  means the slug is unknown;
- ``crimes-street-dates``: which months are published, and for which forces
  stop and search exists in each month;
- ``crimes-street/all-crime?poly=lat,lng:lat,lng:...&date=YYYY-MM``: street-level
  crimes and ASB inside a polygon. The API answers 503 when the polygon holds more
  than 10,000 crimes; the polygon is then split into quadrants, recursively;
- ``crimes-no-location?category=all-crime&force=<force>&date=YYYY-MM``: crimes
  that could not be mapped (``Location`` "No Location"), force runs only;
- ``stops-force?force=<force>&date=YYYY-MM``: every stop and search of the force;
- ``<force>/neighbourhoods`` and ``<force>/<id>/boundary``: the force area, as the
  union of its neighbourhoods, when no ``boundary`` is given.

The API has no LSOA codes (``LSOA code``/``LSOA name`` are left empty) and gives
each crime only its *latest* outcome, so the outcomes file is derived: it holds
the latest outcome, dated in that month, of the crimes fetched for that month and
earlier months in the same folder. The catalogue stub says both in its caveats.

**The archive** (``archive=True``): https://data.police.uk/data/archive/YYYY-MM.zip
holds three years of every force's files as ``YYYY-MM/YYYY-MM-<force>-*.csv``.
The zip is large (gigabytes); it is downloaded once to ``DIR/.archive/`` (resuming
with an HTTP Range request) and only the force's files for the requested months
are extracted. Its files are the real published ones, with LSOAs and full outcomes.

Resume rules
------------
- Every file is written to ``<name>.part`` and renamed into place atomically, so a
  file with its final name is always whole.
- A month folder whose ``.complete`` marker names the force (a line per force
  finished there), or that holds every file expected for that month, is finished: it is never fetched again nor overwritten.
- Any other month folder is partial: its ``*.part`` leftovers are removed and the
  month is fetched again in full.
- Requests are polite: a configurable delay between requests, retries with
  exponential backoff on 429 and 5xx (``Retry-After`` honoured), and a User-Agent
  naming the workbench.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from assessment import __version__
from assessment.checks import check_month, check_positive, check_type
from assessment.errors import IntakeError
from assessment.intake.police_uk import OUTCOMES_COLUMNS, STREET_COLUMNS

API_BASE = "https://data.police.uk/api"
ARCHIVE_BASE = "https://data.police.uk/data/archive"
USER_AGENT = (f"assessment-workbench/{__version__} (community safety strategic assessment; "
              "python-requests; polite monthly fetch of data.police.uk open data)")
DEFAULT_DELAY = 0.5
"""Seconds between two requests (the API allows 15 a second; we ask for far fewer)."""
MAX_SPLIT_DEPTH = 8
"""How many times a polygon may be quartered after 503 "too many crimes" answers."""
COMPLETE_MARKER = ".complete"
STATUS_SIDECAR = ".{force}-api-outcome-status.csv"
"""Per month, the latest outcome of each crime fetched through the API (rebuilds outcomes on resume)."""
STUB_NAME = "catalogue_stub.yaml"

STOP_SEARCH_FILE_COLUMNS = (
    "Type", "Date", "Part of a policing operation", "Policing operation", "Latitude", "Longitude", "Gender",
    "Age range", "Self-defined ethnicity", "Officer-defined ethnicity", "Legislation", "Object of search",
    "Outcome", "Outcome linked to object of search", "Removal of more than just outer clothing")
"""The header of a downloaded ``-stop-and-search.csv`` file, in order."""

CRIME_TYPES = {
    "anti-social-behaviour": "Anti-social behaviour",
    "bicycle-theft": "Bicycle theft",
    "burglary": "Burglary",
    "criminal-damage-arson": "Criminal damage and arson",
    "drugs": "Drugs",
    "other-theft": "Other theft",
    "possession-of-weapons": "Possession of weapons",
    "public-order": "Public order",
    "robbery": "Robbery",
    "shoplifting": "Shoplifting",
    "theft-from-the-person": "Theft from the person",
    "vehicle-crime": "Vehicle crime",
    "violent-crime": "Violence and sexual offences",
    "other-crime": "Other crime",
    # retired categories that older months still carry
    "public-disorder-weapons": "Public disorder and weapons",
}
"""API category slug -> the ``Crime type`` label of the CSV files."""

OUTCOME_NAMES = {
    "awaiting-court-result": "Awaiting court outcome",
    "court-result-unavailable": "Court result unavailable",
    "unable-to-proceed": "Court case unable to proceed",
    "local-resolution": "Local resolution",
    "no-further-action": "Investigation complete; no suspect identified",
    "deprived-of-property": "Offender deprived of property",
    "fined": "Offender fined",
    "absolute-discharge": "Offender given absolute discharge",
    "cautioned": "Offender given a caution",
    "drugs-possession-warning": "Offender given a drugs possession warning",
    "penalty-notice-issued": "Offender given penalty notice",
    "community-penalty": "Offender given community sentence",
    "conditional-discharge": "Offender given conditional discharge",
    "suspended-sentence": "Offender given suspended prison sentence",
    "imprisoned": "Offender sent to prison",
    "other-court-disposal": "Offender otherwise dealt with",
    "compensation": "Offender ordered to pay compensation",
    "sentenced-in-another-case": "Suspect charged as part of another case",
    "charged": "Suspect charged",
    "not-guilty": "Defendant found not guilty",
    "sent-to-crown-court": "Defendant sent to Crown Court",
    "unable-to-prosecute": "Unable to prosecute suspect",
    "formal-action-not-in-public-interest": "Formal action is not in the public interest",
    "action-taken-by-another-organisation": "Action to be taken by another organisation",
    "further-investigation-not-in-public-interest": "Further investigation is not in the public interest",
    "further-action-not-in-public-interest": "Further action is not in the public interest",
    "under-investigation": "Under investigation",
    "status-update-unavailable": "Status update unavailable",
}
"""API outcome codes -> the outcome labels of the CSV files (labels pass through unchanged)."""

_FORCE_SLUG = re.compile(r"^[a-z][a-z0-9-]*$")
_POLY_GET_LIMIT = 3500  # the API refuses GET URLs over 4094 characters; POST beyond this


# --------------------------------------------------------------------------- results
@dataclass
class FetchResult:
    """What one :func:`fetch_police` run did.

    Attributes
    ----------
    force, start, end : str
        The request.
    dest : Path
        Root of the download tree.
    source : str
        ``'api'`` or ``'archive'``.
    fetched : list of str
        Months written in this run.
    skipped : list of str
        Months already finished before the run (left untouched).
    unavailable : list of str
        Months data.police.uk does not publish (not yet, or no longer).
    failed : dict of str to str
        Month -> reason, for months that could not be fetched; rerun to resume.
    files : list of Path
        Files written in this run.
    stub : Path or None
        The catalogue stub written.
    requests : int
        HTTP requests made.
    """

    force: str
    start: str
    end: str
    dest: Path
    source: str
    fetched: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    stub: Path | None = None
    requests: int = 0

    @property
    def ok(self) -> bool:
        """True when no month failed."""
        return not self.failed

    def __str__(self) -> str:
        def span(months: Sequence[str]) -> str:
            if not months:
                return ""
            return f" ({months[0]})" if len(months) == 1 else f" ({months[0]} to {months[-1]})"

        lines = [
            f"data.police.uk {self.source}: {self.force} {self.start} to {self.end} into {self.dest}",
            f"  fetched {len(self.fetched)} month(s){span(self.fetched)}",
            f"  skipped {len(self.skipped)} month(s) already complete{span(self.skipped)}",
            f"  not published {len(self.unavailable)} month(s){span(self.unavailable)}",
            f"  failed {len(self.failed)} month(s)" + (": rerun the same command to resume" if self.failed else ""),
        ]
        lines += [f"    {m}: {why}" for m, why in self.failed.items()]
        lines.append(f"  {self.requests} request(s); {len(self.files)} file(s) written")
        if self.stub is not None:
            lines.append(f"  catalogue stub: {self.stub}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- HTTP
class _NotFound(Exception):
    pass


class _TooMany(Exception):
    pass


def make_session():
    """A ``requests.Session`` carrying the workbench's User-Agent.

    Returns
    -------
    requests.Session
        Used by :func:`fetch_police` when no ``session`` is given (tests replace
        this factory or pass their own session).
    """
    import requests

    session = requests.Session()
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    return session


#: What the text of a failed connection says when this computer could not reach any network
#: (as opposed to a site that answered badly or dropped the line), with the plain words for it.
_UNREACHABLE = (
    (("NameResolutionError", "Failed to resolve", "name resolution", "Name or service not known",
      "nodename nor servname", "getaddrinfo failed", "No address associated with hostname"),
     "the site's name could not be resolved"),
    (("Connection refused", "ConnectionRefusedError"), "the connection was refused"),
    (("Network is unreachable", "No route to host"), "the network is unreachable"),
)


def network_unreachable(exc: BaseException) -> str | None:
    """Why a request failed because no network could be reached, or None.

    Looks through the exception, what it wraps (``args``, ``reason``, the chain of
    causes) and their messages for a failed name lookup, a refused connection or an
    unreachable network: the signs of a computer offline or behind a firewall or proxy,
    where retrying later will not help until the connection is fixed.
    """
    seen: list[BaseException] = []
    stack: list[object] = [exc]
    while stack and len(seen) < 20:
        e = stack.pop()
        if not isinstance(e, BaseException) or any(e is s for s in seen):
            continue
        seen.append(e)
        stack += [*e.args, getattr(e, "reason", None), e.__cause__, e.__context__]
    text = " ".join(f"{type(e).__name__}: {e}" for e in seen)
    for marks, why in _UNREACHABLE:
        if any(m in text for m in marks) or (why.startswith("the site's name")
                                             and any(isinstance(e, socket.gaierror) for e in seen)):
            return why
    return None


class _Client:
    """Polite HTTP: delay between requests, retries with backoff, errors named by URL."""

    def __init__(self, session, *, delay: float, retries: int, backoff: float, timeout: float,
                 sleep: Callable[[float], None], progress: Callable[[str], None], site: str = "data.police.uk"):
        self.session = session
        self.site = site
        self.delay = delay
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.sleep = sleep
        self.progress = progress
        self.count = 0

    def request(self, url: str, *, params: dict | None = None, data: dict | None = None,
                headers: dict | None = None, stream: bool = False, too_many_503: bool = False):
        import requests

        shown = url if not params else f"{url}?{'&'.join(f'{k}={v}' for k, v in params.items() if k != 'poly')}"
        last, offline = "", None
        for attempt in range(self.retries + 1):
            if self.count:
                self.sleep(self.delay)
            self.count += 1
            try:
                if data is not None:
                    resp = self.session.post(url, data=data, headers={"User-Agent": USER_AGENT, **(headers or {})},
                                             timeout=self.timeout)
                else:
                    resp = self.session.get(url, params=params, headers={"User-Agent": USER_AGENT, **(headers or {})},
                                            timeout=self.timeout, stream=stream)
            except requests.RequestException as exc:
                last = f"{type(exc).__name__}: {exc}"
                offline = network_unreachable(exc)
            else:
                offline = None
                status = resp.status_code
                if status < 400:
                    return resp
                if status == 404:
                    raise _NotFound(shown)
                if status == 503 and too_many_503:
                    raise _TooMany(shown)
                if status != 429 and status < 500:
                    raise IntakeError(f"{self.site} refused {shown}: HTTP {status} "
                                      f"{getattr(resp, 'text', '')[:200]!r}")
                last = f"HTTP {status}"
                retry_after = resp.headers.get("Retry-After") if getattr(resp, "headers", None) else None
                if status == 429 and retry_after and str(retry_after).isdigit():
                    self.sleep(float(retry_after))
            if attempt < self.retries:
                wait = min(self.backoff * 2 ** attempt, 120.0)
                self.progress(f"  {last} from {shown}; retrying in {wait:g} s")
                self.sleep(wait)
        if offline:
            raise IntakeError(f"the network could not be reached: {offline} when asking {self.site} for {shown} "
                              f"({self.retries + 1} attempts; last: {last}); hint: check this computer's internet "
                              f"connection, firewall or proxy, then rerun to resume")
        raise IntakeError(f"{self.site} did not answer {shown} after {self.retries + 1} attempts "
                          f"(last: {last}); hint: the site may be busy, rerun later to resume")

    def json(self, url: str, **kwargs) -> Any:
        resp = self.request(url, **kwargs)
        try:
            return resp.json()
        except ValueError as exc:
            raise IntakeError(f"{self.site} sent something that is not JSON for {url}: {exc}") from None


# --------------------------------------------------------------------------- months
def month_range(start: str, end: str) -> list[str]:
    """Every month from ``start`` to ``end`` inclusive.

    Parameters
    ----------
    start, end : str
        ``YYYY-MM``.

    Returns
    -------
    list of str
        ``YYYY-MM`` strings in order.

    Raises
    ------
    ValueError
        A month that is not ``YYYY-MM``, or ``start`` after ``end``.
    """
    check_month(start, "start (--from)")
    check_month(end, "end (--to)")
    if start > end:
        raise ValueError(f"`--from` must not be after `--to`, got --from {start} and --to {end}")
    return [str(p) for p in pd.period_range(start, end, freq="M")]


def month_files(dest: Path, month: str, force: str) -> dict[str, Path]:
    """The three file paths of one month of a download, by kind."""
    folder = Path(dest) / month
    return {kind: folder / f"{month}-{force}-{kind}.csv" for kind in ("street", "outcomes", "stop-and-search")}


def month_is_complete(dest: Path, month: str, force: str, expected: Sequence[str] = ("street",)) -> bool:
    """Whether a month folder is finished (and so must never be refetched or overwritten).

    Parameters
    ----------
    dest : Path
        Download root.
    month, force : str
        The month and force slug.
    expected : sequence of str
        File kinds that a finished month holds (``street``, ``outcomes``,
        ``stop-and-search``).

    Returns
    -------
    bool
        True when ``dest/month/.complete`` names the force (one line per force
        finished in that folder) or every expected file exists.
    """
    folder = Path(dest) / month
    marker = folder / COMPLETE_MARKER
    if marker.exists() and any(line.split(" ")[0] == force for line in marker.read_text().splitlines()):
        return True
    files = month_files(dest, month, force)
    return folder.is_dir() and all(files[k].exists() for k in expected)


def _write_atomic(path: Path, payload: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    with open(part, "wb") as fh:
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(part, path)
    return path


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    return _write_atomic(path, frame.to_csv(index=False, lineterminator="\n").encode("utf-8"))


def _mark_complete(folder: Path, force: str, note: str) -> None:
    marker = folder / COMPLETE_MARKER
    before = marker.read_text() if marker.exists() else ""
    _write_atomic(marker, (before + f"{force} {note} {time.strftime('%Y-%m-%dT%H:%M:%S')}\n").encode())


def _clear_partial(folder: Path) -> None:
    for part in folder.glob("*.part"):
        part.unlink()


# --------------------------------------------------------------------------- JSON -> CSV
def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def _text(series: pd.Series) -> pd.Series:
    """Values as text, None/NaN as empty, as in the downloaded files."""
    out = series.astype(object).where(series.notna(), "")
    return out.astype(str)


def _booleans(series: pd.Series) -> pd.Series:
    """JSON true/false/null as the files' ``True``/``False``/empty."""
    return series.map({True: "True", False: "False"}).fillna("").astype(str)


def _normalise(records: list[dict] | pd.DataFrame, name: str) -> pd.DataFrame:
    """API records as a flat frame (``pandas.json_normalize``); frames pass through."""
    if isinstance(records, pd.DataFrame):
        return records.reset_index(drop=True)
    check_type(records, name, list)
    return pd.json_normalize(records) if records else pd.DataFrame()


def crimes_to_street(records: list[dict] | pd.DataFrame, force_name: str) -> pd.DataFrame:
    """Convert API crime records to the rows of a ``-street.csv`` file.

    Parameters
    ----------
    records : list of dict or pandas.DataFrame
        As returned by ``crimes-street`` or ``crimes-no-location``, or already
        flattened by ``pandas.json_normalize`` (``category``,
        ``location_type``, ``location{latitude, longitude, street{id, name}}``,
        ``context``, ``outcome_status{category, date}``, ``persistent_id``, ``id``,
        ``location_subtype``, ``month``).
    force_name : str
        The force's name, e.g. ``City of London Police``.

    Returns
    -------
    pandas.DataFrame
        Text columns, exactly ``Crime ID, Month, Reported by, Falls within,
        Longitude, Latitude, Location, LSOA code, LSOA name, Crime type, Last
        outcome category, Context``:

        - ``Crime ID``: ``persistent_id`` (empty for ASB, as in the files);
        - ``Reported by``: ``British Transport Police`` where ``location_type`` is
          ``BTP``, else ``force_name``; ``Falls within``: ``force_name``;
        - ``Longitude``/``Latitude``: the API's strings, empty without a location;
        - ``Location``: ``On or near <street>``, or ``No Location``;
        - ``LSOA code``/``LSOA name``: empty (the API has none);
        - ``Crime type``: the slug mapped by :data:`CRIME_TYPES` (an unknown slug
          is kept, title-cased, with a warning);
        - ``Last outcome category``: ``outcome_status.category`` (codes mapped by
          :data:`OUTCOME_NAMES`), empty when there is none.
    """
    check_type(force_name, "force_name", str)
    raw = _normalise(records, "records")
    n = len(raw)
    street = _text(_column(raw, "location.street.name")).str.strip()
    has_place = street.ne("")
    street = street.where(~has_place | street.str.startswith("On or near"), "On or near " + street)
    slug = _text(_column(raw, "category"))
    crime_type = slug.map(CRIME_TYPES)
    unknown = crime_type.isna() & slug.ne("")
    if unknown.any():
        warnings.warn(f"data.police.uk crime categories not in CRIME_TYPES, kept as title case: "
                      f"{sorted(slug[unknown].unique())}", stacklevel=2)
    crime_type = crime_type.fillna(slug.str.replace("-", " ").str.capitalize())
    outcome = _text(_column(raw, "outcome_status.category"))
    outcome = outcome.map(OUTCOME_NAMES).fillna(outcome)
    btp = _text(_column(raw, "location_type")).str.upper().eq("BTP")
    out = pd.DataFrame({
        "Crime ID": _text(_column(raw, "persistent_id")),
        "Month": _text(_column(raw, "month")),
        "Reported by": pd.Series(force_name, index=raw.index, dtype=object).where(~btp, "British Transport Police"),
        "Falls within": pd.Series([force_name] * n, index=raw.index, dtype=object),
        "Longitude": _text(_column(raw, "location.longitude")),
        "Latitude": _text(_column(raw, "location.latitude")),
        "Location": street.where(has_place, "No Location"),
        "LSOA code": pd.Series([""] * n, index=raw.index, dtype=object),
        "LSOA name": pd.Series([""] * n, index=raw.index, dtype=object),
        "Crime type": crime_type,
        "Last outcome category": outcome,
        "Context": _text(_column(raw, "context")),
    }, columns=list(STREET_COLUMNS))
    return out.astype(str).reset_index(drop=True) if n else out


def outcome_status_rows(records: list[dict] | pd.DataFrame, force_name: str) -> pd.DataFrame:
    """The latest outcome of each API crime record, as rows of an ``-outcomes.csv`` file.

    Parameters
    ----------
    records : list of dict or pandas.DataFrame
        API crime records (see :func:`crimes_to_street`).
    force_name : str
        The force's name.

    Returns
    -------
    pandas.DataFrame
        ``Crime ID, Month, Reported by, Falls within, Longitude, Latitude, Location,
        LSOA code, LSOA name, Outcome type`` where ``Month`` is the month of the
        outcome (``outcome_status.date``), for records with a Crime ID and an
        outcome status. Earlier outcomes of the same crime are not in the API.
    """
    raw = _normalise(records, "records")
    street = crimes_to_street(raw, force_name)
    date = _text(_column(raw, "outcome_status.date")).str[:7].reset_index(drop=True)
    keep = street["Crime ID"].ne("") & street["Last outcome category"].ne("") & date.ne("")
    out = street.loc[keep, list(OUTCOMES_COLUMNS[:-1])].copy()
    out["Month"] = date[keep]
    out["Outcome type"] = street.loc[keep, "Last outcome category"]
    return out.reset_index(drop=True)


def stops_to_frame(records: list[dict]) -> pd.DataFrame:
    """Convert API stop-and-search records to the rows of a ``-stop-and-search.csv`` file.

    Parameters
    ----------
    records : list of dict
        As returned by ``stops-force`` (``type``, ``involved_person``, ``datetime``,
        ``operation``, ``operation_name``, ``location``, ``gender``,
        ``age_range``, ``self_defined_ethnicity``, ``officer_defined_ethnicity``,
        ``legislation``, ``object_of_search``, ``outcome``,
        ``outcome_linked_to_object_of_search``,
        ``removal_of_more_than_outer_clothing``).

    Returns
    -------
    pandas.DataFrame
        Text columns :data:`STOP_SEARCH_FILE_COLUMNS` in order. ``Date`` is the
        API's ISO 8601 ``datetime``; booleans are ``True``/``False``/empty;
        ``Outcome`` is ``outcome`` (``false`` in older months means none, written
        empty), falling back to ``outcome_object.name``; coordinates empty when
        the stop has no location.
    """
    raw = _normalise(records, "records")
    outcome = _column(raw, "outcome").astype(object)
    outcome = outcome.where(outcome.notna() & ~outcome.isin([False, True, ""]), None)
    outcome = outcome.fillna(_column(raw, "outcome_object.name").astype(object).replace("", None))
    out = pd.DataFrame({
        "Type": _text(_column(raw, "type")),
        "Date": _text(_column(raw, "datetime")),
        "Part of a policing operation": _booleans(_column(raw, "operation")),
        "Policing operation": _text(_column(raw, "operation_name")),
        "Latitude": _text(_column(raw, "location.latitude")),
        "Longitude": _text(_column(raw, "location.longitude")),
        "Gender": _text(_column(raw, "gender")),
        "Age range": _text(_column(raw, "age_range")),
        "Self-defined ethnicity": _text(_column(raw, "self_defined_ethnicity")),
        "Officer-defined ethnicity": _text(_column(raw, "officer_defined_ethnicity")),
        "Legislation": _text(_column(raw, "legislation")),
        "Object of search": _text(_column(raw, "object_of_search")),
        "Outcome": _text(outcome),
        "Outcome linked to object of search": _booleans(_column(raw, "outcome_linked_to_object_of_search")),
        "Removal of more than just outer clothing": _booleans(_column(raw, "removal_of_more_than_outer_clothing")),
    }, columns=list(STOP_SEARCH_FILE_COLUMNS))
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- polygons
def _as_boundary(boundary: Any):
    """A shapely (Multi)Polygon in WGS84 longitude/latitude from the accepted inputs."""
    import shapely
    from shapely.geometry import Polygon
    from shapely.geometry.base import BaseGeometry

    if isinstance(boundary, BaseGeometry):
        geom = boundary
    elif isinstance(boundary, (str, Path)):
        import geopandas as gpd

        path = Path(boundary)
        if not path.exists():
            raise FileNotFoundError(f"`boundary` file {path} does not exist")
        frame = gpd.read_file(path)
        if frame.crs is None:
            raise ValueError(f"`boundary` file {path} has no CRS; hint: save it with one (e.g. EPSG:27700)")
        geom = frame.to_crs(4326).union_all()
    elif hasattr(boundary, "to_crs") and hasattr(boundary, "crs"):
        if boundary.crs is None:
            raise ValueError("`boundary` GeoDataFrame/GeoSeries must have a CRS, got none")
        geom = boundary.to_crs(4326).union_all()
    elif isinstance(boundary, Sequence) and len(boundary) >= 3:
        pairs = [(float(lng), float(lat)) for lat, lng in boundary]
        geom = Polygon(pairs)
    else:
        raise TypeError("`boundary` must be a shapely polygon (lon/lat), a boundary file, a GeoDataFrame or a "
                        f"list of at least 3 (lat, lng) pairs, got {type(boundary).__name__}")
    geom = shapely.make_valid(geom)
    if geom.is_empty or geom.area == 0:
        raise ValueError("`boundary` must enclose an area, got an empty or degenerate geometry")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ValueError(f"`boundary` must be in longitude/latitude (EPSG:4326), got bounds {geom.bounds}")
    return geom


def _polygons(geom) -> list:
    from shapely.geometry import MultiPolygon, Polygon

    if isinstance(geom, Polygon):
        return [geom]
    if isinstance(geom, MultiPolygon):
        return list(geom.geoms)
    return [g for part in getattr(geom, "geoms", []) for g in _polygons(part)]


def poly_param(polygon) -> str:
    """A polygon's outer ring as the API's ``lat,lng:lat,lng:...`` (not closed).

    Parameters
    ----------
    polygon : shapely.geometry.Polygon
        In longitude/latitude.

    Returns
    -------
    str
        Six decimals (about 0.1 m), the closing vertex dropped.
    """
    coords = list(polygon.exterior.coords)[:-1]
    return ":".join(f"{lat:.6f},{lng:.6f}" for lng, lat in coords)


def quadrants(polygon) -> list:
    """Split a polygon into the parts that fall in each quarter of its bounding box.

    Parameters
    ----------
    polygon : shapely.geometry.Polygon

    Returns
    -------
    list of shapely.geometry.Polygon
        Up to four (more if a quarter cuts the polygon into pieces); their union is
        the polygon.
    """
    from shapely.geometry import box

    minx, miny, maxx, maxy = polygon.bounds
    mx, my = (minx + maxx) / 2, (miny + maxy) / 2
    parts = []
    for cell in (box(minx, miny, mx, my), box(mx, miny, maxx, my), box(minx, my, mx, maxy), box(mx, my, maxx, maxy)):
        piece = polygon.intersection(cell)
        parts.extend(p for p in _polygons(piece) if p.area > 0)
    return parts


def _street_crimes(client: _Client, base: str, polygon, month: str, depth: int = 0) -> list[dict]:
    """Street crimes in one polygon, quartering it on 503 (more than 10,000 crimes)."""
    poly = poly_param(polygon)
    url = f"{base}/crimes-street/all-crime"
    try:
        if len(poly) > _POLY_GET_LIMIT:
            return client.json(url, data={"poly": poly, "date": month}, too_many_503=True)
        return client.json(url, params={"poly": poly, "date": month}, too_many_503=True)
    except _TooMany:
        if depth >= MAX_SPLIT_DEPTH:
            raise IntakeError(f"data.police.uk still reports more than 10,000 crimes for {month} after splitting "
                              f"the area {MAX_SPLIT_DEPTH} times (bounds {polygon.bounds})") from None
        client.progress(f"  {month}: more than 10,000 crimes in one request; splitting the area into quadrants")
        found: list[dict] = []
        for part in quadrants(polygon):
            found.extend(_street_crimes(client, base, part, month, depth + 1))
        return found


def street_crimes_in(client: _Client, base: str, boundary, month: str) -> pd.DataFrame:
    """Every street crime of a month inside ``boundary``, each once, as a flat frame.

    The request polygons are the boundary's parts, simplified (about 10 m) and
    grown by about 20 m so that no edge point is lost; points are then kept only
    if they lie in (or on) the boundary itself, and records seen twice (on a
    quadrant edge) are kept once by their API ``id``.
    """
    import numpy as np
    import shapely

    query = boundary.simplify(0.0001).buffer(0.0002)
    records: list[dict] = []
    for part in _polygons(query):
        records.extend(_street_crimes(client, base, part, month))
    if not records:
        return pd.DataFrame()
    frame = pd.json_normalize(records)
    lng = pd.to_numeric(_column(frame, "location.longitude"), errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(_column(frame, "location.latitude"), errors="coerce").to_numpy(dtype=float)
    inside = shapely.intersects_xy(boundary, np.nan_to_num(lng, nan=1e9), np.nan_to_num(lat, nan=1e9))
    ids = _column(frame, "id").astype(str)
    first = ~ids.duplicated().to_numpy() | ids.isin(["None", "nan", ""]).to_numpy()
    return frame[inside & first].reset_index(drop=True)


def force_boundary(client: _Client, base: str, force: str, dest: Path):
    """The force area as the union of its neighbourhood boundaries (cached in ``dest``).

    Parameters
    ----------
    client : _Client
    base : str
        API base URL.
    force : str
        Force slug.
    dest : Path
        Download root; the boundary is cached as ``.force-boundary-<force>.json``.

    Returns
    -------
    shapely geometry
        In longitude/latitude.
    """
    import shapely
    from shapely.geometry import Polygon, mapping, shape

    cache = Path(dest) / f".force-boundary-{force}.json"
    if cache.exists():
        return shape(json.loads(cache.read_text()))
    hoods = client.json(f"{base}/{force}/neighbourhoods")
    polys = []
    client.progress(f"  building the {force} force area from {len(hoods)} neighbourhood boundaries (once)")
    for hood in hoods:
        points = client.json(f"{base}/{force}/{hood['id']}/boundary")
        if len(points) < 3:
            continue
        frame = pd.DataFrame(points)
        polys.append(Polygon(zip(frame["longitude"].astype(float), frame["latitude"].astype(float))))
    if not polys:
        raise IntakeError(f"data.police.uk gave no neighbourhood boundaries for force {force!r}; "
                          "hint: pass `boundary=` (a partnership boundary file) instead")
    geom = shapely.union_all([shapely.make_valid(p) for p in polys])
    _write_atomic(cache, json.dumps(mapping(geom)).encode())
    return geom


# --------------------------------------------------------------------------- stub
def catalogue_stub(force: str, force_name: str, source: str, kinds: Sequence[str],
                   months: Sequence[str]) -> dict[str, Any]:
    """Catalogue entries (``datasets``) describing a fetched tree.

    Parameters
    ----------
    force, force_name : str
        Slug and name.
    source : {'api', 'archive'}
    kinds : sequence of str
        File kinds present (``street``, ``outcomes``, ``stop-and-search``).
    months : sequence of str
        Finished months in the tree.

    Returns
    -------
    dict
        ``{'source': {...}, 'datasets': {key: entry}}``; each entry validates as
        :class:`assessment.catalogue.Dataset`. Paths are globs relative to the
        download root (set ``data_root`` to it, or prefix the paths).
    """
    sharing = {"basis": "Open Government Licence v3.0 (published on data.police.uk)", "agreement": "OGL-3.0",
               "permitted_uses": ["strategic assessment", "problem profiles", "audit", "evaluation", "publication"]}
    common = ["Locations are snapped to anonymised map points, not the exact place of the event.",
              f"Fetched from data.police.uk ({'API' if source == 'api' else 'archive zip'}) for {force}; "
              f"months {months[0] if months else '-'} to {months[-1] if months else '-'}."]
    api_street = [
        "Fetched through the data.police.uk API: LSOA code and LSOA name are empty (the API has no LSOAs); "
        "assign areas from the coordinates.",
        "Reported by is the force except for British Transport Police records (location_type BTP); Falls "
        "within is the requested force.",
        "Last outcome category is the outcome as it stood on the day of the fetch.",
    ]
    datasets: dict[str, Any] = {}
    if "street" in kinds:
        datasets["recorded_crime"] = {
            "title": f"Police recorded crime and anti-social behaviour (street level), {force_name}",
            "agency": force_name, "format": "police_uk_street", "kind": "events",
            "path": f"*/*-{force}-street.csv",
            "columns": {"event_id": "Crime ID", "date": "Month", "category": "Crime type", "location": "Location",
                        "area_code": "LSOA code", "outcome": "Last outcome category"},
            "date_format": "%Y-%m",
            "coordinates": {"x": "Longitude", "y": "Latitude", "crs": "EPSG:4326"},
            "category_map": "police_crime_type", "sensitivity": "public", "sharing": sharing,
            "refresh": "monthly",
            "caveats": common + (api_street if source == "api" else [])
            + ["Domestic abuse and hate crime are under-reported; recorded volumes understate them."],
        }
    if "outcomes" in kinds:
        datasets["crime_outcomes"] = {
            "title": f"Police outcomes, {force_name}", "agency": force_name, "format": "police_uk_outcomes",
            "kind": "table", "path": f"*/*-{force}-outcomes.csv",
            "columns": {"event_id": "Crime ID", "date": "Month", "outcome": "Outcome type"},
            "date_format": "%Y-%m", "sensitivity": "public", "sharing": sharing, "refresh": "monthly",
            "caveats": common + ([
                "Derived from the API, not the published outcomes files: only the latest outcome of each crime "
                "fetched here, filed under the month of that outcome. Intermediate outcomes and outcomes of crimes "
                "from before the first fetched month are missing; LSOA columns are empty. Fetch months in order: "
                "a finished month's outcomes file is never rewritten when earlier months are fetched later.",
            ] if source == "api" else []),
        }
    if "stop-and-search" in kinds:
        datasets["police_stop_search"] = {
            "title": f"Stop and search, {force_name}", "agency": force_name, "format": "police_uk_stop_search",
            "kind": "events", "path": f"*/*-{force}-stop-and-search.csv",
            "columns": {"date": "Date", "category": "Object of search", "outcome": "Outcome"},
            "date_format": "iso",
            "coordinates": {"x": "Longitude", "y": "Latitude", "crs": "EPSG:4326"},
            "sensitivity": "public", "sharing": sharing, "refresh": "monthly",
            "caveats": common + [
                "Months in which the force submitted no stop-and-search data have no file.",
                "Many searches have no location; Date can be midnight where a force gives only the day.",
            ] + (["Fetched with stops-force: the whole force's searches, even when crimes were fetched for a "
                  "smaller boundary."] if source == "api" else []),
        }
    return {"source": {"site": "data.police.uk", "via": source, "force": force, "force_name": force_name,
                       "months": list(months)},
            "datasets": datasets}


def _write_stub(dest: Path, force: str, force_name: str, source: str) -> Path:
    done = sorted(p.parent.name for p in Path(dest).glob(f"*/*-{force}-street.csv")
                  if month_is_complete(dest, p.parent.name, force))
    kinds = [k for k in ("street", "outcomes", "stop-and-search")
             if any(Path(dest).glob(f"*/*-{force}-{k}.csv"))]
    stub = catalogue_stub(force, force_name, source, kinds, done)
    header = (f"# Catalogue stub written by `assess fetch-police` on {time.strftime('%Y-%m-%d')}.\n"
              "# Copy the `datasets` entries into data_catalogue.yaml; their paths are relative to this folder.\n")
    return _write_atomic(Path(dest) / STUB_NAME,
                         (header + yaml.safe_dump(stub, sort_keys=False, allow_unicode=True)).encode("utf-8"))


# --------------------------------------------------------------------------- the month loops
def _derived_outcomes(dest: Path, force: str, month: str, current: pd.DataFrame) -> pd.DataFrame:
    """Outcomes dated ``month`` from the status sidecars of this and earlier month folders."""
    frames = [current]
    for sidecar in sorted(Path(dest).glob(f"*/{STATUS_SIDECAR.format(force=force)}")):
        if sidecar.parent.name < month:
            frames.append(pd.read_csv(sidecar, dtype=str, keep_default_na=False))
    rows = pd.concat(frames, ignore_index=True)
    rows = rows[rows["Month"].eq(month)]
    return rows.drop_duplicates(subset=["Crime ID", "Outcome type"]).reset_index(drop=True)[list(OUTCOMES_COLUMNS)]


def _fetch_api_month(client: _Client, base: str, force: str, force_name: str, month: str, dest: Path,
                     area, whole_force: bool, stops: bool) -> list[Path]:
    files = month_files(dest, month, force)
    records = street_crimes_in(client, base, area, month)
    if whole_force:
        unmapped = client.json(f"{base}/crimes-no-location",
                               params={"category": "all-crime", "force": force, "date": month})
        if unmapped:
            records = pd.concat([records, pd.json_normalize(unmapped)], ignore_index=True)
    street = crimes_to_street(records, force_name)
    status = outcome_status_rows(records, force_name)
    written = []
    folder = files["street"].parent
    folder.mkdir(parents=True, exist_ok=True)
    if stops:
        try:
            stop_records = client.json(f"{base}/stops-force", params={"force": force, "date": month})
        except _NotFound:
            stop_records = None
        if stop_records is not None:
            stops_frame = stops_to_frame(stop_records)
    # the street file is written last: street (+ stop and search when expected) present means finished
    written.append(_write_csv(status, folder / STATUS_SIDECAR.format(force=force)))
    written.append(_write_csv(_derived_outcomes(dest, force, month, status), files["outcomes"]))
    if stops and stop_records is not None:
        written.append(_write_csv(stops_frame, files["stop-and-search"]))
    written.append(_write_csv(street, files["street"]))
    _mark_complete(folder, force, f"{month} fetched from the API")
    return [p for p in written if not p.name.startswith(".")]


def _download(client: _Client, url: str, path: Path, progress: Callable[[str], None]) -> Path:
    """Stream ``url`` to ``path`` via ``path.part``, resuming a partial download with Range."""
    if path.exists():
        return path
    part = path.with_name(path.name + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        resp = client.request(url, headers=headers, stream=True)
    except _NotFound:
        raise IntakeError(f"data.police.uk has no archive {url} (HTTP 404); hint: archives are named by their "
                          f"latest month, see {ARCHIVE_BASE}/") from None
    mode = "ab" if have and resp.status_code == 206 else "wb"
    progress(f"  downloading {url} ({'resuming at ' + str(have) + ' bytes' if mode == 'ab' else 'from the start'})")
    with open(part, mode) as fh:
        for chunk in resp.iter_content(chunk_size=1 << 20):
            if chunk:
                fh.write(chunk)
    os.replace(part, path)
    return path


def _fetch_archive(client: _Client, force: str, months: list[str], dest: Path, archive_url: str,
                   archive_month: str, result: FetchResult, progress: Callable[[str], None]) -> None:
    zpath = _download(client, f"{archive_url}/{archive_month}.zip", Path(dest) / ".archive" / f"{archive_month}.zip",
                      progress)
    try:
        zf = zipfile.ZipFile(zpath)
    except zipfile.BadZipFile:
        zpath.rename(zpath.with_name(zpath.name + ".bad"))
        raise IntakeError(f"archive {zpath} is not a valid zip; it was set aside as .bad, rerun to download "
                          "it again") from None
    with zf:
        names = {Path(n).name: n for n in zf.namelist()}
        for month in months:
            files = month_files(dest, month, force)
            inside = {k: names.get(p.name) for k, p in files.items()}
            expected = [k for k, n in inside.items() if n]
            if month_is_complete(dest, month, force, expected or ["street"]):
                result.skipped.append(month)
                continue
            if not expected:
                result.unavailable.append(month)
                progress(f"{month}: not in archive {archive_month}.zip")
                continue
            _clear_partial(files["street"].parent)
            for kind in ("outcomes", "stop-and-search", "street"):  # street last, as in API runs
                if inside[kind]:
                    result.files.append(_write_atomic(files[kind], zf.read(inside[kind])))
            _mark_complete(files["street"].parent, force, f"{month} extracted from {archive_month}.zip")
            result.fetched.append(month)
            progress(f"{month}: extracted {', '.join(expected)}")


# --------------------------------------------------------------------------- entry point
def fetch_police(force: str, start: str, end: str, dest: str | Path, *,
                 progress: Callable[[str], None] | None = None,
                 session=None,
                 base_url: str = API_BASE,
                 archive: bool = False,
                 archive_url: str = ARCHIVE_BASE,
                 archive_month: str | None = None,
                 boundary: Any = None,
                 delay: float | None = None,
                 retries: int = 4,
                 backoff: float = 2.0,
                 timeout: float = 120.0,
                 sleep: Callable[[float], None] = time.sleep) -> FetchResult:
    """Fetch data.police.uk street crimes, outcomes and stop-and-searches into a download tree.

    Parameters
    ----------
    force : str
        Force slug as data.police.uk spells it, e.g. ``city-of-london``.
    start, end : str
        First and last month, ``YYYY-MM``, inclusive.
    dest : str or Path
        Download root; months go to ``dest/YYYY-MM/``.
    progress : callable, optional
        Called with one line of text per step (the CLI prints them).
    session : requests.Session-like, optional
        Anything with ``get`` (and ``post`` for long polygons). Default
        :func:`make_session`.
    base_url : str
        API root, default https://data.police.uk/api.
    archive : bool, default False
        Take the files from the archive zip instead of the API.
    archive_url, archive_month : str
        Archive folder and which archive (``YYYY-MM``, named by its latest month;
        default the latest month the API reports).
    boundary : geometry, file, GeoDataFrame or list of (lat, lng), optional
        Fetch street crimes inside this area (e.g. a partnership boundary) rather
        than the force area. Crimes without a location are then left out (they
        cannot be placed inside it); stop and search stays force-wide.
    delay : float, optional
        Seconds between requests (default :data:`DEFAULT_DELAY`).
    retries : int, default 4
        Retries of a request answered 429/5xx or not at all.
    backoff : float, default 2.0
        First retry wait in seconds; doubled each retry.
    timeout : float, default 120
        Seconds to wait for one response.
    sleep : callable
        ``time.sleep``; replaceable in tests.

    Returns
    -------
    FetchResult
        Months fetched, skipped (already finished), not published, failed; files
        written; the catalogue stub. ``str()`` is a summary.

    Raises
    ------
    ValueError
        A month not ``YYYY-MM``, ``start`` after ``end``, a malformed slug.
    IntakeError
        The force is unknown to data.police.uk (HTTP 404), or the site cannot be
        reached for the list of published months.

    Notes
    -----
    A month that fails after retries is reported in ``failed`` and the run goes on;
    the same command later resumes it. Finished months are never touched (see the
    module docstring for the rules).
    """
    check_type(force, "force", str)
    if not _FORCE_SLUG.match(force):
        raise ValueError(f"`force` must be a data.police.uk slug such as 'city-of-london', got {force!r}")
    months = month_range(start, end)
    check_type(dest, "dest", (str, Path))
    check_type(archive, "archive", bool)
    delay = DEFAULT_DELAY if delay is None else delay
    check_positive(delay, "delay", allow_zero=True)
    check_positive(backoff, "backoff", allow_zero=True)
    check_positive(timeout, "timeout")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"`retries` must be a whole number of 0 or more, got {retries!r}")
    if archive_month is not None:
        check_month(archive_month, "archive_month")
    area = _as_boundary(boundary) if boundary is not None else None
    say = progress or (lambda _msg: None)
    dest = Path(dest)
    base = base_url.rstrip("/")
    client = _Client(session if session is not None else make_session(), delay=delay, retries=retries,
                     backoff=backoff, timeout=timeout, sleep=sleep, progress=say)
    result = FetchResult(force, start, end, dest, "archive" if archive else "api")

    try:
        info = client.json(f"{base}/forces/{force}")
    except _NotFound:
        raise IntakeError(f"force {force!r} is not known to data.police.uk (HTTP 404 from {base}/forces/{force}); "
                          f"hint: use a slug listed at {base}/forces, e.g. 'city-of-london' or 'metropolitan'") from None
    force_name = str(info.get("name") or force)
    try:
        dates = client.json(f"{base}/crimes-street-dates")
    except _NotFound:
        raise IntakeError(f"data.police.uk has no {base}/crimes-street-dates (HTTP 404)") from None
    published = {d["date"]: set(d.get("stop-and-search") or ()) for d in dates}
    dest.mkdir(parents=True, exist_ok=True)
    say(f"data.police.uk: {force_name} ({force}), {len(months)} month(s) {start} to {end} into {dest}")

    if archive:
        latest = archive_month or max(published, default=None)
        if latest is None:
            raise IntakeError("data.police.uk reports no published months; cannot choose an archive")
        _fetch_archive(client, force, months, dest, archive_url.rstrip("/"), latest, result, say)
    else:
        whole_force = area is None
        for month in months:
            stops = force in published.get(month, set())
            expected = ["street"] + (["stop-and-search"] if stops else [])
            if month_is_complete(dest, month, force, expected):
                result.skipped.append(month)
                say(f"{month}: already complete, left as it is")
                continue
            if month not in published:
                result.unavailable.append(month)
                say(f"{month}: not published on data.police.uk (the API holds about three years)")
                continue
            folder = dest / month
            if folder.is_dir():
                _clear_partial(folder)
                say(f"{month}: partial folder found, fetching the month again")
            try:
                if area is None:
                    area = force_boundary(client, base, force, dest)
                written = _fetch_api_month(client, base, force, force_name, month, dest, area, whole_force, stops)
            except (IntakeError, _NotFound) as exc:
                result.failed[month] = str(exc) if isinstance(exc, IntakeError) else f"HTTP 404 from {exc}"
                say(f"{month}: FAILED: {result.failed[month]}")
                continue
            result.files.extend(written)
            result.fetched.append(month)
            say(f"{month}: wrote {', '.join(p.name for p in written)}")
    result.requests = client.count
    if result.fetched or result.skipped:
        result.stub = _write_stub(dest, force, force_name, result.source)
    return result
