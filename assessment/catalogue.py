"""Load and validate the partnership's data catalogue (``data_catalogue.yaml``).

The catalogue is the one place where a partnership describes itself: its
geographies, every dataset it receives (owner, format, column mapping, sharing
basis, sensitivity) and its document settings. Everything downstream addresses a
dataset by its catalogue key, never by a path.

Validation happens on load. Every error names the key path and the offending
value, for example::

    datasets.fire_deliberate.columns: `date` must be mapped for an events dataset,
    got mapping {'category': 'incident_type'}

and a file that does not exist is named with its full path.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .checks import check_design_effect, check_type
from .errors import CatalogueError

SENSITIVITIES = ("public", "official", "sensitive", "personal")
DATASET_FORMATS = (
    "police_uk_street",
    "police_uk_outcomes",
    "police_uk_stop_search",
    "csv",
    "xlsx",
    "yaml",
)
DATASET_KINDS = ("events", "area_counts", "persons", "survey", "premises", "table", "document")
GEOGRAPHY_FORMATS = ("geojson", "gpkg", "shapefile", "zip_shapefile", "kml_folder")

#: The part a dataset plays in the documents. Documents look datasets up by role
#: (:meth:`Catalogue.datasets_with_role`), never by key, so any key works.
DATASET_ROLES: dict[str, str] = {
    "recorded_crime": "police recorded crime and anti-social behaviour (street level)",
    "crime_outcomes": "police outcomes of recorded crimes",
    "stop_search": "police stop and search",
    "fire_incidents": "fire and rescue incidents (deliberate fires)",
    "ed_attendances": "emergency department assault attendances by area and period",
    "ed_assault_profile": "emergency department assaults by time, day and weapon",
    "ambulance_callouts": "ambulance assault call-outs",
    "council_asb": "council anti-social behaviour and environmental reports",
    "licensing": "licensed premises register",
    "youth_justice": "youth justice counts (e.g. first-time entrants) by area and period",
    "nominals": "victims and offenders, person level",
    "crime_system": "force crime-system extract: one row per recorded crime with domestic abuse and hate crime "
                    "flags, weapon, and victim and offender age band, sex and repeat flags (personal, pseudonymised)",
    "reoffending": "proven reoffending by offender cohort (Ministry of Justice layout)",
    "treatment": "adults in drug and alcohol treatment (national drug treatment monitoring system layout)",
    "survey": "residents' survey",
    "strategy": "the previous community safety strategy and its targets",
    "peer_benchmark": "most similar group benchmarking table",
    "peer_measures": "public measures of every partnership (density, deprivation, age) to find the most similar",
    "national_comparison": "counts and rates by crime type for every partnership (assess batch's national table)",
    "other": "any other partner data (shown in the data-quality document only)",
}

#: The role a dataset plays when its catalogue entry does not say (by format, then by kind).
ROLE_BY_FORMAT = {"police_uk_street": "recorded_crime", "police_uk_outcomes": "crime_outcomes",
                  "police_uk_stop_search": "stop_search"}
ROLE_BY_KIND = {"survey": "survey", "persons": "nominals", "premises": "licensing", "document": "strategy"}
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


def _check_crs(value: str) -> str:
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        CRS.from_user_input(value)
    except CRSError:
        raise ValueError(f"must be a CRS that pyproj knows, such as EPSG:27700, got {value!r}") from None
    return value


def _check_month(value: str) -> str:
    if not isinstance(value, str) or not _MONTH.match(value):
        raise ValueError(f"must be YYYY-MM, got {value!r}")
    return value


class Window(_Strict):
    """The assessment window, inclusive, as ``YYYY-MM`` months."""

    start: str
    end: str

    _months = field_validator("start", "end")(classmethod(lambda cls, v: _check_month(v)))

    @model_validator(mode="after")
    def _ordered(self) -> "Window":
        if self.start > self.end:
            raise ValueError(f"start must not be after end, got start={self.start!r} end={self.end!r}")
        return self

    @property
    def months(self) -> list[str]:
        """Every month in the window, in order."""
        import pandas as pd

        return [str(p) for p in pd.period_range(self.start, self.end, freq="M")]


class Partnership(_Strict):
    name: str
    short_name: str
    code: str
    force: str = Field(description="data.police.uk force slug")
    window: Window
    edition: str
    suppression_threshold: int = Field(ge=1)
    marking: str = "OFFICIAL"
    crs: str = "EPSG:27700"
    pseudonym_key_env: str = "ASSESSMENT_PSEUDONYM_KEY"
    logo: str | None = None
    edge_buffer_m: float = Field(
        0.0, ge=0, description="points up to this many metres outside the partnership boundary count as inside "
                               "(0: only points on or inside the boundary); points farther out are counted as "
                               "outside the partnership and left out of every analysis")
    period: Literal["rolling_12", "financial_year", "calendar_year"] = Field(
        "rolling_12", description="how documents compare years: the latest complete 12 months against the 12 "
                                  "before (rolling_12), April-March financial years, or calendar years")
    contact: str | None = Field(None, description="who partners contact about the documents (name, team, email)")

    _crs = field_validator("crs")(classmethod(lambda cls, v: _check_crs(v)))


class GeographyVersion(_Strict):
    path: str
    valid_from: dt.date
    valid_to: dt.date | None = None
    layer: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "GeographyVersion":
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError(
                f"valid_to must not be before valid_from, got {self.valid_from} to {self.valid_to}"
            )
        return self


class Population(_Strict):
    total: str
    households: str | None = None
    bands: dict[str, str] = Field(default_factory=dict)
    source: str | None = None
    denominator: str | None = Field(
        None, description="column of another population to divide by instead of residents (e.g. workday population)")
    denominator_label: str | None = Field(None, description="what that population is, e.g. 'workday population'")
    warn_above_per_1000: float = Field(
        250, gt=0, description="warn that per-resident rates mislead when police-recorded crime in a year exceeds "
                               "this many per 1,000 residents (a workbench setting, not a published figure)")


class Deprivation(_Strict):
    """Deprivation columns carried by a small-area geography (e.g. the English indices of deprivation)."""

    decile: str = Field(description="column with the national decile, 1 = most deprived 10%")
    rank: str | None = Field(None, description="column with the national rank, 1 = most deprived")
    domains: dict[str, str] = Field(default_factory=dict, description="domain label -> decile column")
    source: str | None = None


class Geography(_Strict):
    title: str
    format: Literal["geojson", "gpkg", "shapefile", "zip_shapefile", "kml_folder"]
    crs: str
    code_field: str
    name_field: str | None = None
    versions: list[GeographyVersion] = Field(min_length=1)
    population: Population | None = None
    deprivation: Deprivation | None = None
    owner: str | None = None

    _crs = field_validator("crs")(classmethod(lambda cls, v: _check_crs(v)))

    @model_validator(mode="after")
    def _versions_do_not_overlap(self) -> "Geography":
        ordered = sorted(self.versions, key=lambda v: v.valid_from)
        for before, after in zip(ordered, ordered[1:]):
            if before.valid_to is None or before.valid_to >= after.valid_from:
                raise ValueError(
                    f"versions must not overlap: {before.path} (valid_to {before.valid_to}) runs into "
                    f"{after.path} (valid_from {after.valid_from})"
                )
        return self


class Sharing(_Strict):
    basis: str | None = Field(None, description="legal basis, e.g. s115 Crime and Disorder Act 1998")
    agreement: str | None = Field(None, description="information-sharing agreement reference")
    expires: dt.date | None = None
    permitted_uses: list[str] = Field(default_factory=list)


class Coordinates(_Strict):
    x: str
    y: str
    crs: str

    _crs = field_validator("crs")(classmethod(lambda cls, v: _check_crs(v)))


class Duplicates(_Strict):
    """How repeated reports of one incident are recognised (kept but flagged)."""

    minutes: float = Field(60, gt=0)
    metres: float = Field(100, gt=0)
    same_category: bool = True


POLICE_UK_DEFAULTS: dict[str, dict[str, Any]] = {
    "police_uk_street": {
        "columns": {"event_id": "Crime ID", "date": "Month", "category": "Crime type", "location": "Location",
                    "area_code": "LSOA code", "outcome": "Last outcome category"},
        "coordinates": {"x": "Longitude", "y": "Latitude", "crs": "EPSG:4326"},
    },
    "police_uk_outcomes": {
        "columns": {"event_id": "Crime ID", "date": "Month", "outcome": "Outcome type"},
        "coordinates": {"x": "Longitude", "y": "Latitude", "crs": "EPSG:4326"},
    },
}


class Dataset(_Strict):
    title: str
    agency: str
    format: Literal["police_uk_street", "police_uk_outcomes", "police_uk_stop_search", "csv", "xlsx", "yaml"]
    kind: Literal["events", "area_counts", "persons", "survey", "premises", "table", "document"]
    path: str = Field(description="file or glob, relative to the catalogue's data_root")
    columns: dict[str, str] = Field(default_factory=dict, description="harmonised field -> source column")
    date_format: str | None = Field(None, description="strftime format, 'excel' for serials, or 'iso'")
    coordinates: Coordinates | None = None
    category_map: str | None = Field(None, description="key of a mapping in category_maps")
    fixed_category: str | None = None
    geography: str | None = Field(None, description="geography key that area codes refer to")
    period: Literal["month", "quarter", "window"] | None = None
    sensitivity: Literal["public", "official", "sensitive", "personal"]
    identifiers: list[str] = Field(default_factory=list, description="personal identifier columns to pseudonymise")
    sharing: Sharing
    refresh: str
    encoding: str = "utf-8"
    delimiter: str = ","
    sheet: str | None = None
    header_row: int = Field(1, ge=1, description="1-based row of the header in the file")
    duplicates: Duplicates | None = None
    require_coordinates: bool = Field(
        False, description="quarantine rows without coordinates (by default they are kept and flagged not geocoded)")
    covers: Literal["partnership", "force"] = Field(
        "partnership", description="the area the files cover, which decides where a row without a location "
                                   "belongs: 'partnership' (only the partnership's area: a file fetched for its "
                                   "boundary, or a force whose area is the partnership's): the row is the "
                                   "partnership's, kept and flagged not geocoded; 'force' (a force area shared "
                                   "with other partnerships): the row cannot be placed in the partnership and "
                                   "is quarantined as 'coordinates missing' (counted in data quality, in no "
                                   "total). Only rows without a location of a dataset with coordinates are "
                                   "affected: points are placed by their coordinates either way")
    outside_partnership_buffer: float | None = Field(
        None, ge=0, description="quarantine points farther than this many metres outside the partnership "
                                "geography (by default points outside are kept)")
    caveats: list[str] = Field(default_factory=list)
    duplicate_of: str | None = Field(
        None, description="key of the dataset this one is a copy of (e.g. a second export of the same records); "
                          "counted once in totals")
    role: str | None = Field(
        None, description="the part the dataset plays in the documents (a key of DATASET_ROLES); by default "
                          "from the format (police_uk_street: recorded_crime, police_uk_outcomes: crime_outcomes) "
                          "or the kind (survey, persons: nominals, premises: licensing, document: strategy)")
    design_effect: float | None = Field(
        None, description="survey datasets only: the design effect of the survey's estimates (the variance of a "
                          "share over a simple random sample's, 1 or more), e.g. the one the survey's provider "
                          "publishes for a clustered, stratified or weighted sample. Without it the design effect "
                          "is estimated from the column mapped to `cluster` (each answer's sampling point), or "
                          "else assumed 1 and the documents say so")

    @field_validator("design_effect", mode="before")
    @classmethod
    def _design_effect(cls, value: Any) -> Any:
        if value is not None:
            try:
                check_design_effect(value, "design_effect")
            except TypeError as exc:  # pydantic reports ValueErrors with the key path
                raise ValueError(str(exc)) from None
        return value

    @field_validator("role")
    @classmethod
    def _known_role(cls, value: str | None) -> str | None:
        if value is not None and value not in DATASET_ROLES:
            raise ValueError(f"must be one of {sorted(DATASET_ROLES)}, got {value!r}")
        return value

    @property
    def effective_role(self) -> str:
        """The role the catalogue gives, or the default for the dataset's format or kind."""
        return self.role or ROLE_BY_FORMAT.get(self.format) or ROLE_BY_KIND.get(self.kind) or "other"

    @model_validator(mode="after")
    def _personal_declares_identifiers(self) -> "Dataset":
        if self.sensitivity == "personal" and not [c for c in self.identifiers if c.strip()]:
            raise ValueError(
                "identifiers: a personal dataset must list the source columns that identify people "
                f"(e.g. [pnc_id, date_of_birth]) so that intake pseudonymises them, got {self.identifiers}")
        return self

    @model_validator(mode="after")
    def _mapping_complete(self) -> "Dataset":
        police = self.format.startswith("police_uk")
        if police and not self.columns and self.format in POLICE_UK_DEFAULTS:
            # data.police.uk files have fixed columns: a catalogue may leave the mapping out.
            defaults = POLICE_UK_DEFAULTS[self.format]
            self.columns = dict(defaults["columns"])
            self.date_format = self.date_format or "%Y-%m"
            if self.coordinates is None and defaults.get("coordinates"):
                self.coordinates = Coordinates(**defaults["coordinates"])
        cols = self.columns
        needed: list[str] = []
        if self.kind == "events" and not police:
            needed = ["date"]
            if not self.fixed_category:
                needed.append("category")
        elif self.kind == "area_counts":
            needed = ["area_code", "period", "count"]
        elif self.kind == "persons":
            needed = ["person_id", "date", "role"]
        elif self.kind == "survey":
            needed = ["respondent_id", "area_code"]
        elif self.kind == "premises":
            needed = ["premises_id", "name"]
        missing = [f for f in needed if f not in cols]
        if missing:
            raise ValueError(
                f"columns: {missing} must be mapped for a {self.kind} dataset, got mapping {cols}"
            )
        if self.design_effect is not None and self.kind != "survey":
            raise ValueError("design_effect is a setting of survey datasets (kind: survey), got it on a dataset "
                             f"of kind {self.kind}")
        if self.kind in ("events", "persons") and not police and "date" in cols and not self.date_format:
            raise ValueError("date_format must be given when a date column is mapped, got none")
        if self.kind == "area_counts" and not self.geography:
            raise ValueError("geography must name the geography the area codes refer to, got none")
        return self


class SeriesBreak(_Strict):
    dataset: str
    category: str
    month: str
    description: str
    label: str = "series break"

    _month = field_validator("month")(classmethod(lambda cls, v: _check_month(v)))


class Service(_Strict):
    name: str
    provider: str
    themes: list[str]
    wards: list[str] | Literal["all"] = "all"
    funded_to: dt.date | None = None


class HarmWeights(_Strict):
    """A published harm index mapped to the recorded crime types (the catalogue's ``harm_weights``).

    No weights are shipped as a default: without this setting, priorities are not weighted by harm
    and the documents say so. The file is a CSV with columns ``crime_type`` (as the crime types are
    recorded, e.g. the data.police.uk categories) and ``weight`` (harm per crime, 0 or more).
    """

    file: str
    index: str
    source: str
    year: str
    mapping: str

    @field_validator("file", "index", "source", "year", "mapping", mode="before")
    @classmethod
    def _text(cls, v: Any, info) -> str:
        if v is None or not str(v).strip():
            raise ValueError(f"harm_weights.{info.field_name} must say it (the documents state the index's name, "
                             f"source, year and mapping), got {v!r}")
        return str(v).strip()


class DocumentSettings(_Strict):
    title: str
    topics: list[str] = Field(default_factory=list)
    next_update: str | None = Field(None, description="when the next edition is due, in words or YYYY-MM")
    parameters: dict[str, Any] = Field(default_factory=dict)


#: Folders that can never be, or hold, the data root: the filesystem root and system folders.
SYSTEM_FOLDERS = ("/etc", "/proc", "/sys", "/dev", "/boot", "/usr", "/bin", "/sbin", "/lib", "/lib32",
                  "/lib64", "/run", "/var/run", "/var/log")
DATA_ROOT_RULE = ("the data root must be a folder of data, not the filesystem root, a system folder "
                  f"({', '.join(SYSTEM_FOLDERS)}) or a folder inside one")
PATH_RULE = "every dataset and geography path must lie inside data_root once symlinks are followed"


def _data_root_problem(data_dir: Path, data_root: str) -> str | None:
    """Why ``data_dir`` (resolved) may not be a data root, or None."""
    if data_dir == Path(data_dir.anchor) or any(
            data_dir == Path(f) or data_dir.is_relative_to(f) for f in SYSTEM_FOLDERS):
        return f"data_root: {data_root!r} (resolves to {data_dir}) is refused: {DATA_ROOT_RULE}"
    return None


def _outside(where: str, given: str, target: Path, data_dir: Path, data_root: str, via: str | None = None) -> str:
    how = f"{given!r} matches {via!r}, which resolves" if via else f"{given!r} resolves"
    return f"{where}: {how} to {target}, outside the data root {data_dir} (data_root {data_root!r}); {PATH_RULE}"


class Catalogue(_Strict):
    """A validated partnership catalogue. ``root`` is the folder of the YAML file."""

    partnership: Partnership
    data_root: str = "data/raw"
    themes: dict[str, str]
    category_maps: dict[str, dict[str, str]]
    series_breaks: list[SeriesBreak] = Field(default_factory=list)
    geographies: dict[str, Geography]
    datasets: dict[str, Dataset]
    services: list[Service] = Field(default_factory=list)
    capacity: dict[str, int] = Field(default_factory=dict)
    horizon_scan: str | None = None
    harm_weights: HarmWeights | None = None
    hotspot_widespread_share: float = Field(
        0.05, gt=0, lt=1,
        description="a hotspot covering more than this share of the partnership's grid cells is reported as "
                    "widespread (an area-wide problem), not as a place to patrol")
    documents: dict[str, DocumentSettings] = Field(default_factory=dict)
    root: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _references(self) -> "Catalogue":
        for key, ds in self.datasets.items():
            if ds.category_map and ds.category_map not in self.category_maps:
                raise ValueError(
                    f"datasets.{key}.category_map must name a key of category_maps "
                    f"{sorted(self.category_maps)}, got {ds.category_map!r}"
                )
            if ds.geography and ds.geography not in self.geographies:
                raise ValueError(
                    f"datasets.{key}.geography must name a key of geographies {sorted(self.geographies)}, "
                    f"got {ds.geography!r}"
                )
            if ds.duplicate_of is not None and (ds.duplicate_of not in self.datasets or ds.duplicate_of == key):
                raise ValueError(
                    f"datasets.{key}.duplicate_of must name another dataset of {sorted(self.datasets)}, "
                    f"got {ds.duplicate_of!r}"
                )
        for name, mapping in self.category_maps.items():
            unknown = sorted({t for t in mapping.values() if t not in self.themes})
            if unknown:
                raise ValueError(
                    f"category_maps.{name} must map to themes {sorted(self.themes)}, got {unknown}"
                )
        for i, brk in enumerate(self.series_breaks):
            if brk.dataset not in self.datasets:
                raise ValueError(
                    f"series_breaks[{i}].dataset must name a dataset, got {brk.dataset!r}"
                )
        for issue in self.capacity:
            if issue not in self.themes:
                raise ValueError(f"capacity.{issue} must be a theme of {sorted(self.themes)}, got {issue!r}")
        surveys = [k for k, ds in self.datasets.items() if ds.kind == "survey" and ds.duplicate_of is None]
        weighted = [k for k in surveys if "weight" in self.datasets[k].columns]
        if weighted and len(weighted) < len(surveys):
            raise ValueError(
                f"columns.weight must be mapped in every survey dataset when one maps it (the answers are pooled, "
                f"and weighted and unweighted answers cannot be), got it in {weighted} but not in "
                f"{sorted(set(surveys) - set(weighted))}; hint: give the unweighted survey a column of 1s")
        return self

    # -- paths ---------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        """The folder that dataset and geography paths are relative to."""
        return (self.root / self.data_root).resolve()

    def dataset(self, key: str) -> Dataset:
        """Return the dataset entry for ``key``, or raise naming the known keys."""
        if key not in self.datasets:
            raise KeyError(f"dataset {key!r} is not in the catalogue; known datasets: {sorted(self.datasets)}")
        return self.datasets[key]

    def datasets_with_role(self, role: str) -> list[str]:
        """Keys of the datasets playing ``role`` (see ``DATASET_ROLES``), in catalogue order.

        A role no dataset plays gives an empty list; documents then say plainly what is missing.
        """
        if role not in DATASET_ROLES:
            raise ValueError(f"`role` must be one of {sorted(DATASET_ROLES)}, got {role!r}")
        return [k for k, ds in self.datasets.items() if ds.effective_role == role]

    def dataset_with_role(self, role: str) -> str | None:
        """The first dataset playing ``role``, or None when no dataset does."""
        keys = self.datasets_with_role(role)
        return keys[0] if keys else None

    def geography(self, key: str) -> Geography:
        """Return the geography entry for ``key``, or raise naming the known keys."""
        if key not in self.geographies:
            raise KeyError(
                f"geography {key!r} is not in the catalogue; known geographies: {sorted(self.geographies)}"
            )
        return self.geographies[key]

    def confined(self, given: str, where: str) -> list[Path]:
        """The files (or folders) that a path or glob under ``data_root`` matches, sorted, each
        checked to lie inside the data root once symlinks are followed (so are a folder's
        ``*.kml`` files and a file's namesakes, such as a shapefile's ``.dbf`` and ``.prj``).

        Raises
        ------
        CatalogueError
            The data root is the filesystem root or a system folder, or the path (or a file or
            folder it matches) resolves outside the data root; the message names ``where``
            (e.g. ``datasets.fire.path``), the path and the data root.
        """
        data_dir = self.data_dir
        problem = _data_root_problem(data_dir, self.data_root)
        if problem:
            raise CatalogueError(problem)
        target = Path(os.path.realpath(data_dir / given))  # a glob's wildcards are kept as they are
        if not target.is_relative_to(data_dir):
            raise CatalogueError(_outside(where, given, target, data_dir, self.data_root))
        found = sorted(Path(p) for p in glob.glob(str(data_dir / given)))
        read_too = [k for p in found for k in (sorted(p.glob("*.kml")) if p.is_dir() else  # KML folders,
                                               sorted(p.parent.glob(glob.escape(p.stem) + ".*")))]  # sidecars
        for p in found + read_too:
            target = p.resolve()
            if not target.is_relative_to(data_dir):
                shown = os.path.relpath(p, data_dir)
                raise CatalogueError(_outside(where, given, target, data_dir, self.data_root,
                                              None if shown == os.path.normpath(given) else shown))
        return found

    def dataset_files(self, key: str) -> list[Path]:
        """The files a dataset's path or glob resolves to, sorted (each inside the data root)."""
        return self.confined(self.dataset(key).path, f"datasets.{key}.path")

    def geography_path(self, key: str, version: int = -1) -> Path:
        """The file (or KML folder) of one version of a geography; the latest by default."""
        geo = self.geography(key)
        versions = sorted(geo.versions, key=lambda v: v.valid_from)
        chosen = versions[version]
        self.confined(chosen.path, f"geographies.{key}.versions[{geo.versions.index(chosen)}].path")
        return self.data_dir / chosen.path

    def breaks_for(self, dataset: str, category: str | None = None) -> list[SeriesBreak]:
        """Series breaks declared for a dataset (and optionally one category)."""
        return [
            b for b in self.series_breaks
            if b.dataset == dataset and (category is None or b.category == category)
        ]

    def input_files(self) -> list[Path]:
        """Every input file the catalogue refers to (for the run manifest)."""
        files: list[Path] = []
        for key, geo in self.geographies.items():
            for i, v in enumerate(geo.versions):
                p = self.data_dir / v.path
                self.confined(v.path, f"geographies.{key}.versions[{i}].path")
                files.extend(sorted(p.glob("*.kml")) if p.is_dir() else [p])
        for key in self.datasets:
            files.extend(self.dataset_files(key))
        return files

    def setting_files(self) -> list[Path]:
        """Files the catalogue's settings name beside its data (the horizon scan, the harm index).

        They change what the documents say, so the run manifest hashes them with the inputs (the
        workbench cache key leaves them out: they do not change the harmonised data, and the
        evidence built from them is kept apart per state of the harm index file).
        """
        names = [self.horizon_scan, self.harm_weights.file if self.harm_weights else None]
        return [self.root / n for n in names if n]


def _format_location(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _lookup(raw: Any, loc: tuple[Any, ...]) -> Any:
    node = raw
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _errors_to_message(exc: ValidationError, raw: Any, source: Path) -> str:
    lines = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if p not in ("function-after", "function-before"))
        key = _format_location(loc) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            lines.append(f"{key}: is required but missing")
        elif err["type"] == "extra_forbidden":
            lines.append(f"{key}: is not a known key (got {err.get('input')!r}); check its spelling")
        else:
            got = err.get("input")
            shown = "" if isinstance(got, dict) or got is None or repr(got) in msg else f" (got {got!r})"
            lines.append(f"{key}: {msg}{shown}")
    return f"data catalogue {source} is invalid:\n  " + "\n  ".join(lines)


_PARSED: dict[str, Any] = {}  # catalogue text -> its YAML, for the few catalogues one process reads again and again


def _parse_yaml(text: str) -> Any:
    """``yaml.safe_load(text)``, parsed once per distinct text in this process (a fresh copy each call).

    Every document of an edition loads the same catalogue, and so does the process that renders
    them; the text is read each time, so an edited catalogue is parsed again.
    """
    import copy

    if text not in _PARSED:
        if len(_PARSED) >= 8:
            _PARSED.clear()
        _PARSED[text] = safe_load_yaml(text)
    return copy.deepcopy(_PARSED[text])


def safe_load_yaml(text: str) -> Any:
    """``yaml.safe_load(text)``, by libyaml's parser when PyYAML has it (about ten times as fast).

    Text that libyaml cannot parse is parsed again by the pure-Python loader, so that an error
    reads the same (line, column and the offending line shown) with or without libyaml.
    """
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is not None:
        try:
            return yaml.load(text, Loader=loader)
        except yaml.YAMLError:
            pass
    return yaml.safe_load(text)


def load_catalogue(path: str | Path, check_files: bool = True) -> Catalogue:
    """Load ``data_catalogue.yaml`` and validate it.

    Parameters
    ----------
    path : str or Path
        The catalogue file.
    check_files : bool, default True
        Also require every geography file and every dataset path or glob to exist.
        Turn this off to validate a catalogue before its data has arrived.

    Returns
    -------
    Catalogue
        The validated catalogue, with ``root`` set to the file's folder.

    Raises
    ------
    CatalogueError
        The file is missing, is not YAML, breaks the schema (the message names each
        key path and offending value), or names a file that does not exist (the
        message names the key and the full path).
    """
    check_type(path, "path", (str, Path))
    source = Path(path)
    if not source.is_file():
        raise CatalogueError(f"data catalogue must be a file, got {str(source)!r} which does not exist")
    try:
        raw = _parse_yaml(source.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CatalogueError(f"data catalogue {source} must be valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise CatalogueError(f"data catalogue {source} must be a mapping at the top level, got {type(raw).__name__}")
    try:
        cat = Catalogue.model_validate({**raw, "root": source.resolve().parent})
    except ValidationError as exc:
        raise CatalogueError(_errors_to_message(exc, raw, source)) from None
    check_catalogue_paths(cat)
    if check_files:
        check_catalogue_files(cat)
    return cat


def check_catalogue_paths(cat: Catalogue) -> None:
    """Raise ``CatalogueError`` unless the data root is a data folder and every dataset and
    geography path (and every file they match) lies inside it once symlinks are followed.

    Each problem is named by its key path, the path as written, where it leads and the data
    root. Files are never opened here, so no file content can reach the message.
    """
    problem = _data_root_problem(cat.data_dir, cat.data_root)
    if problem:
        raise CatalogueError(f"data catalogue refused:\n  {problem}")
    problems = []
    where = [(f"geographies.{k}.versions[{i}].path", v.path) for k, g in cat.geographies.items()
             for i, v in enumerate(g.versions)] + [(f"datasets.{k}.path", d.path) for k, d in cat.datasets.items()]
    for key, given in where:
        try:
            cat.confined(given, key)
        except CatalogueError as exc:
            problems.append(str(exc))
    if problems:
        raise CatalogueError("data catalogue refused: paths lead outside the data root:\n  " + "\n  ".join(problems))


def check_catalogue_files(cat: Catalogue) -> None:
    """Raise ``CatalogueError`` naming the key and path of any file the catalogue lacks."""
    problems = []
    if not cat.data_dir.is_dir():
        problems.append(f"data_root: folder {str(cat.data_dir)!r} does not exist")
    for key, geo in cat.geographies.items():
        for i, v in enumerate(geo.versions):
            p = cat.data_dir / v.path
            if not p.exists():
                problems.append(f"geographies.{key}.versions[{i}].path: file {str(p)!r} does not exist")
    for key, ds in cat.datasets.items():
        if not cat.dataset_files(key):
            problems.append(f"datasets.{key}.path: no file matches {str(cat.data_dir / ds.path)!r}")
    if cat.horizon_scan and not (cat.root / cat.horizon_scan).is_file():
        problems.append(f"horizon_scan: file {str(cat.root / cat.horizon_scan)!r} does not exist")
    if cat.harm_weights and not (cat.root / cat.harm_weights.file).is_file():
        problems.append(f"harm_weights.file: file {str(cat.root / cat.harm_weights.file)!r} does not exist")
    if problems:
        raise CatalogueError("data catalogue refers to missing files:\n  " + "\n  ".join(problems))
