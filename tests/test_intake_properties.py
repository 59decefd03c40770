"""Property tests: mangled CSVs give a clear error or quarantined rows, and the accounting balances."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assessment import paths
from assessment.catalogue import load_catalogue
from assessment.errors import IntakeError
from assessment.intake.harmonise import intake_dataset

HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
          "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"]
TYPES = ["Anti-social behaviour", "Burglary", "Violence and sexual offences", "Vehicle crime"]

row = st.fixed_dictionaries({
    "Crime ID": st.one_of(st.just(""), st.text("0123456789abcdef", min_size=8, max_size=8)),
    "Month": st.one_of(st.sampled_from(["2024-01", "2024-06", "2025-12"]),
                       st.sampled_from(["13/2024", "2024-13", "", "2019-01", "January"])),
    "Longitude": st.one_of(st.just(""), st.just("0"), st.floats(-1.6, -1.4).map(lambda v: f"{v:.6f}"),
                           st.just("52.45")),
    "Latitude": st.one_of(st.just(""), st.just("0"), st.floats(52.4, 52.5).map(lambda v: f"{v:.6f}"),
                          st.just("-1.5")),
    "Crime type": st.one_of(st.sampled_from(TYPES), st.sampled_from(["Burglery", ""])),
    "Location": st.sampled_from(["On or near High Street", "On or near Caf\u00e9 Row", "No location"]),
})

mangle = st.sampled_from(["none", "truncate", "cp1252", "swap_columns", "swap_values", "header_only",
                          "empty", "drop_column", "extra_field"])


def _catalogue(root: Path):
    raw = yaml.safe_load(paths.DEMO_CATALOGUE.read_text(encoding="utf-8"))
    street = copy.deepcopy(raw["datasets"]["police_street"])
    street["path"] = "*/*-street.csv"
    fire = copy.deepcopy(raw["datasets"]["fire_deliberate"])
    fire.update(path="fire.csv", columns={"event_id": "Crime ID", "date": "Month", "category": "Crime type"},
                date_format="%Y-%m", coordinates={"x": "Longitude", "y": "Latitude", "crs": "EPSG:4326"},
                category_map="police_crime_type")
    raw["datasets"] = {"police_street": street, "generic_csv": fire}
    raw["data_root"] = str(root)
    raw["series_breaks"] = []
    p = root / "data_catalogue.yaml"
    p.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return load_catalogue(p, check_files=False)


def _render(rows: list[dict], how: str, cut: int) -> bytes:
    header = list(HEADER)
    if how == "swap_columns":
        header[4], header[5] = header[5], header[4]  # names swapped with their data: still readable by name
    lines = []
    for r in rows:
        full = {h: "" for h in HEADER} | {"Reported by": "Riverton Police", "Falls within": "Riverton Police"} | r
        if how == "swap_values":
            full["Month"], full["Crime type"] = full["Crime type"], full["Month"]
        lines.append(",".join(full[h] for h in header))
    if how == "drop_column":
        header = header[:-3]
        lines = [",".join(x.split(",")[:-3]) for x in lines]
    if how == "extra_field" and lines:
        lines[len(lines) // 2] += ",surplus"
    if how == "truncate" and lines:
        i = cut % len(lines)
        lines[i] = lines[i][: max(1, len(lines[i]) // 2)]
    text = ",".join(header) + "\n" + "".join(x + "\n" for x in lines)
    if how == "header_only":
        text = ",".join(header) + "\n"
    if how == "empty":
        return b""
    if how == "cp1252":
        return text.encode("cp1252")
    return text.encode("utf-8")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(rows=st.lists(row, min_size=0, max_size=25), how=mangle, cut=st.integers(0, 100),
       key=st.sampled_from(["police_street", "generic_csv"]))
def test_mangled_csv_gives_error_or_balanced_quarantine(tmp_path_factory, rows, how, cut, key):
    root = tmp_path_factory.mktemp("prop")
    data = _render(rows, how, cut)
    month = root / "2024-01"
    month.mkdir()
    (month / "2024-01-riverton-street.csv").write_bytes(data)
    (root / "fire.csv").write_bytes(data)
    cat = _catalogue(root)
    try:
        with pytest.warns() if how == "cp1252" and any("\u00e9" in r["Location"] for r in rows) else _nullctx():
            res = intake_dataset(cat, key, run_date="2025-06-01")
    except IntakeError as exc:
        msg = str(exc)
        assert key in msg and ("file" in msg)
        assert how in ("empty", "drop_column") or "row" in msg
        return
    assert how not in ("empty", "drop_column")
    q = res.quality
    assert q["rows_read"] == q["rows_accepted"] + q["rows_quarantined"]
    expected_rows = 0 if how == "header_only" else len(rows)
    assert q["rows_read"] == expected_rows
    assert len(res.data) == q["rows_accepted"] and len(res.quarantine) == q["rows_quarantined"]
    assert res.quarantine["reason"].notna().all()
    assert res.quarantine["source_row"].between(1, max(expected_rows, 1)).all()
    assert not (res.data["easting"].eq(0) & res.data["northing"].eq(0)).any()
    if how in ("none", "swap_columns") and rows:
        bad_month = {"13/2024", "2024-13", "January"}
        n_bad = sum(r["Month"] in bad_month for r in rows)
        assert q["quarantined_unparseable_date"] == n_bad
    if how == "truncate" and rows:
        assert q["rows_quarantined"] >= 1 or len(rows) == 0


class _nullctx:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
