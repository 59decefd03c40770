"""The catalogue matrix: variants of a partnership that every document must survive.

Each variant is a catalogue (and, where the variant is about the data, rewritten police
files) built from the generated demo or from the real City of London files. ``run_document``
executes a document's notebook cells in this process, as papermill would run them (the
parameters cell first, then each cell, showing its value's ``_repr_html_``), so the matrix
shares imports and costs a fraction of a papermill render. The HTML it returns is the
concatenation of what each cell shows (the notebook body a partner reads, without the
template's header).
"""

from __future__ import annotations

import ast
import copy
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from assessment import paths

#: The documents the matrix renders, with their parameters (one problem profile topic).
MATRIX_DOCUMENTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("strategic_assessment", {}),
    ("problem_profile", {"topic": "violence"}),
    ("audit", {}),
    ("evaluation", {}),
    ("data_quality", {}),
)

RUN_DATE = "2026-11-25"


def run_document(document: str, catalogue: Path, out_dir: Path, params: dict[str, Any] | None = None,
                 cache_dir: Path | None = None) -> str:
    """Execute ``notebooks/<document>.ipynb`` cell by cell in this process; return the HTML its cells show."""
    nb = json.loads(paths.notebook_path(document).read_text(encoding="utf-8"))
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    ns: dict[str, Any] = {}
    exec(cells[0], ns)  # the parameters cell (defaults)
    ns.update({"catalogue": str(catalogue), "out_dir": str(out_dir),
               "cache_dir": str(cache_dir or Path(catalogue).parent / ".assessment-cache"),
               "offline": False, "run_date": RUN_DATE, "output_name": document, **(params or {})})
    shown = []
    for src in cells[1:]:
        if shown == [] and "doc" in ns and hasattr(ns["doc"], "title"):
            from html import escape

            shown.append(f"<h1>{escape(ns['doc'].title)}</h1>")  # as the template's header shows it
        tree = ast.parse(src)
        last = tree.body[-1] if tree.body else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if isinstance(last, ast.Expr):
                exec(compile(ast.Module(tree.body[:-1], type_ignores=[]), "<cell>", "exec"), ns)
                value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), ns)
                if hasattr(value, "_repr_html_"):
                    shown.append(value._repr_html_())
            else:
                exec(compile(tree, "<cell>", "exec"), ns)
    return "\n".join(shown)


# --------------------------------------------------------------------------- variant builders
def _load(demo_catalogue: Path) -> dict:
    raw = yaml.safe_load(Path(demo_catalogue).read_text(encoding="utf-8"))
    raw["data_root"] = str((Path(demo_catalogue).parent / raw["data_root"]).resolve())
    return raw


def _write(folder: Path, raw: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "data_catalogue.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def _police_key(raw: dict) -> str:
    return next(k for k, d in raw["datasets"].items() if d["format"] == "police_uk_street")


def _rewrite_police(raw: dict, folder: Path, edit: Callable[[pd.DataFrame, str], pd.DataFrame],
                    months: dict[str, str] | None = None, columns: dict[str, str] | None = None) -> None:
    """Copy the police street files into ``folder``, edited, and point the police dataset at them.

    ``months`` maps a new month to the demo month whose file it copies (with ``Month`` rewritten).
    ``columns`` renames the file's columns (the catalogue's mapping is changed to match).
    """
    key = _police_key(raw)
    src_root = Path(raw["data_root"])
    files = sorted(src_root.glob(raw["datasets"][key]["path"]))
    # Catalogue paths must stay under the data root: the variant's files go in a folder of their own there.
    rel = Path("matrix") / folder.name
    folder = src_root / rel
    by_month = {f.parent.name: f for f in files}
    plan = dict(months or {}) or {m: m for m in by_month}
    plan.update({m: m for m in by_month if m not in plan})
    for new, old in plan.items():
        frame = pd.read_csv(by_month[old], dtype=str, keep_default_na=False)
        frame["Month"] = new
        frame = edit(frame, new)
        if columns:
            frame = frame.rename(columns=columns)
        out = folder / "police" / new / f"{new}-street.csv"
        out.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out, index=False, lineterminator="\n")
    ds = raw["datasets"][key]
    ds["path"] = str(rel / "police" / "*" / "*-street.csv")
    if columns:
        from assessment.catalogue import POLICE_UK_DEFAULTS

        base = ds.get("columns") or POLICE_UK_DEFAULTS["police_uk_street"]["columns"]
        ds["columns"] = {k: columns.get(v, v) for k, v in base.items()}
        coords = ds.get("coordinates") or POLICE_UK_DEFAULTS["police_uk_street"]["coordinates"]
        ds["coordinates"] = {**coords, "x": columns.get(coords["x"], coords["x"]), "y": columns.get(coords["y"], coords["y"])}


def _only(raw: dict, keys: list[str]) -> None:
    raw["datasets"] = {k: v for k, v in raw["datasets"].items() if k in keys}
    raw["series_breaks"] = [b for b in raw.get("series_breaks", []) if b["dataset"] in raw["datasets"]]


def variant_police_only_no_asb(demo: Path, folder: Path) -> Path:
    """The minimum: one police dataset without ASB rows, and the ward geography alone."""
    raw = _load(demo)
    key = _police_key(raw)
    _only(raw, [key])
    raw["geographies"] = {"wards": raw["geographies"]["wards"]}
    raw["datasets"][key].pop("geography", None)
    raw["documents"] = {}
    _rewrite_police(raw, folder, lambda f, m: f[f["Crime type"] != "Anti-social behaviour"])
    return _write(folder, raw)


#: Variants about a missing optional piece run on the latest 24 months (two complete years: every
#: comparison is still made) to keep the matrix quick.
SHORT_WINDOW = ("2024-01", "2025-12")


def variant_no_outcomes(demo: Path, folder: Path) -> Path:
    raw = _load(demo)
    _window(raw, *SHORT_WINDOW)
    raw["datasets"] = {k: v for k, v in raw["datasets"].items() if v["format"] != "police_uk_outcomes"}
    ds = raw["datasets"][_police_key(raw)]
    ds["columns"] = {k: v for k, v in ds["columns"].items() if k != "outcome"}
    return _write(folder, raw)


def variant_renamed_keys(demo: Path, folder: Path) -> Path:
    """Every dataset under another key, and the police files exported with snake_case columns."""
    raw = _load(demo)
    _window(raw, *SHORT_WINDOW)
    renamed = {k: f"ds_{i:02d}" for i, k in enumerate(raw["datasets"])}
    raw["datasets"] = {renamed[k]: v for k, v in raw["datasets"].items()}
    for b in raw.get("series_breaks", []):
        b["dataset"] = renamed[b["dataset"]]
    for ds in raw["datasets"].values():  # fields that name another dataset follow it
        if ds.get("duplicate_of") in renamed:
            ds["duplicate_of"] = renamed[ds["duplicate_of"]]
    snake = {c: c.lower().replace(" ", "_") for c in (
        "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", "LSOA code",
        "LSOA name", "Crime type", "Last outcome category", "Context")}
    _rewrite_police(raw, folder, lambda f, m: f, columns=snake)
    return _write(folder, raw)


def _window(raw: dict, start: str, end: str) -> None:
    raw["partnership"]["window"] = {"start": start, "end": end}


def variant_one_month(demo: Path, folder: Path) -> Path:
    raw = _load(demo)
    _window(raw, "2025-12", "2025-12")
    return _write(folder, raw)


def variant_thirteen_months(demo: Path, folder: Path) -> Path:
    raw = _load(demo)
    _window(raw, "2024-12", "2025-12")
    return _write(folder, raw)


def variant_five_years(demo: Path, folder: Path) -> Path:
    """Five and a half years: 2020-07 to 2025-12, the earlier years' police files copied from later ones."""
    raw = _load(demo)
    months = [str(p) for p in pd.period_range("2020-07", "2022-12", freq="M")]
    plan = {m: f"{int(m[:4]) + 3}-{m[5:]}" for m in months}
    _rewrite_police(raw, folder, lambda f, m: f, months=plan)
    _window(raw, "2020-07", "2025-12")
    return _write(folder, raw)


def variant_no_population(demo: Path, folder: Path) -> Path:
    raw = _load(demo)
    _window(raw, *SHORT_WINDOW)
    raw["geographies"]["small_areas"].pop("population", None)
    return _write(folder, raw)


def variant_no_households(demo: Path, folder: Path) -> Path:
    raw = _load(demo)
    _window(raw, *SHORT_WINDOW)
    raw["geographies"]["small_areas"]["population"].pop("households", None)
    return _write(folder, raw)


def variant_no_neighbourhoods(demo: Path, folder: Path) -> Path:
    raw = _load(demo)
    _window(raw, *SHORT_WINDOW)
    raw["geographies"].pop("neighbourhoods", None)
    return _write(folder, raw)


def variant_no_peer_group(demo: Path, folder: Path) -> Path:
    raw = _load(demo)
    _window(raw, *SHORT_WINDOW)
    raw["datasets"] = {k: v for k, v in raw["datasets"].items() if v.get("role") != "peer_benchmark"}
    return _write(folder, raw)


def variant_financial_years(demo: Path, folder: Path) -> Path:
    raw = _load(demo)
    raw["partnership"]["period"] = "financial_year"
    return _write(folder, raw)


def variant_city_of_london(demo: Path, folder: Path) -> Path:
    """The real City of London street and outcome files (2016-01 to 2017-06) on the real 2025 wards."""
    police = paths.SHARED_DATA_DIR / "police_uk" / "city-of-london"
    wards = paths.SHARED_DATA_DIR / "ons" / "city-of-london" / "wards_2025.geojson"
    if not police.is_dir() or not wards.is_file():
        import pytest

        pytest.skip(f"real City of London files not found under {paths.SHARED_DATA_DIR}")
    base = _load(demo)
    sharing = {"basis": "Open Government Licence v3.0 (published on data.police.uk)", "agreement": "OGL-3.0",
               "permitted_uses": ["strategic assessment", "problem profiles", "audit", "evaluation", "publication"]}
    raw = {
        "partnership": {"name": "City of London Community Safety Partnership", "short_name": "City of London",
                        "code": "E09000001", "force": "city-of-london", "window": {"start": "2016-01", "end": "2017-06"},
                        "edition": "2017", "suppression_threshold": 5},
        "data_root": str(paths.SHARED_DATA_DIR),
        "themes": copy.deepcopy(base["themes"]),
        "category_maps": {"police_crime_type": copy.deepcopy(base["category_maps"]["police_crime_type"])},
        "geographies": {"wards": {"title": "Electoral wards (May 2025)", "format": "geojson", "crs": "EPSG:4326",
                                  "code_field": "WD25CD", "name_field": "WD25NM",
                                  "owner": "Office for National Statistics",
                                  "versions": [{"path": "ons/city-of-london/wards_2025.geojson",
                                                "valid_from": "2015-01-01"}]}},
        "datasets": {
            "street": {"title": "Police recorded crime and ASB (data.police.uk)", "agency": "City of London Police",
                       "format": "police_uk_street", "kind": "events",
                       "path": "police_uk/city-of-london/*/*-city-of-london-street.csv",
                       "category_map": "police_crime_type", "sensitivity": "public", "sharing": sharing,
                       "refresh": "monthly"},
            "outcomes": {"title": "Police outcomes (data.police.uk)", "agency": "City of London Police",
                         "format": "police_uk_outcomes", "kind": "table",
                         "path": "police_uk/city-of-london/*/*-city-of-london-outcomes.csv",
                         "sensitivity": "public", "sharing": sharing, "refresh": "monthly"},
        },
    }
    return _write(folder, raw)


VARIANTS: dict[str, Callable[[Path, Path], Path]] = {
    "police_only_no_asb": variant_police_only_no_asb,
    "no_outcomes": variant_no_outcomes,
    "renamed_keys": variant_renamed_keys,
    "one_month": variant_one_month,
    "thirteen_months": variant_thirteen_months,
    "five_years": variant_five_years,
    "no_population": variant_no_population,
    "no_households": variant_no_households,
    "no_neighbourhoods": variant_no_neighbourhoods,
    "no_peer_group": variant_no_peer_group,
    "financial_years": variant_financial_years,
    "city_of_london": variant_city_of_london,
}
