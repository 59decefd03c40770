"""data.police.uk readers on the real City of London files, checked against the csv module."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from assessment.errors import IntakeError
from assessment.intake.police_uk import (
    police_coverage,
    read_police_outcomes,
    read_police_stop_search,
    read_police_street,
)


def _csv_counts(folder: Path, kind: str):
    """Independent count: data rows per file, ASB rows without id, ids, rows without coordinates."""
    rows, no_id_asb, ids, no_coords = {}, 0, Counter(), 0
    for f in sorted(folder.glob(f"*/*-{kind}.csv")):
        with open(f, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            n = 0
            for rec in reader:
                n += 1
                if kind == "street":
                    if not rec["Crime ID"] and rec["Crime type"] == "Anti-social behaviour":
                        no_id_asb += 1
                    if rec["Crime ID"]:
                        ids[rec["Crime ID"]] += 1
                    if not rec["Longitude"] or not rec["Latitude"]:
                        no_coords += 1
        rows[f.name] = n
    return rows, no_id_asb, ids, no_coords


def test_street_rows_per_month_match_csv_module(shared_police_dir):
    frame = read_police_street(shared_police_dir)
    rows, no_id_asb, ids, no_coords = _csv_counts(shared_police_dir, "street")
    assert len(rows) == 18
    assert frame.groupby("source_file").size().to_dict() == rows
    assert frame["read_problem"].isna().all()
    asb = frame["Crime type"] == "Anti-social behaviour"
    assert int((asb & frame["Crime ID"].isna()).sum()) == no_id_asb > 0
    assert int(frame["Longitude"].isna().sum()) == no_coords > 0
    dup_ids = frame["Crime ID"].dropna()
    assert int(dup_ids.duplicated(keep=False).sum()) == sum(c for c in ids.values() if c > 1)
    months = frame.groupby("Month").size()
    assert list(months.index) == sorted(f[:7] for f in rows)


def test_outcomes_and_stop_search_rows_match(shared_police_dir):
    out = read_police_outcomes(shared_police_dir)
    rows, *_ = _csv_counts(shared_police_dir, "outcomes")
    assert out.groupby("source_file").size().to_dict() == rows and len(rows) == 18
    ss = read_police_stop_search(shared_police_dir)
    rows, *_ = _csv_counts(shared_police_dir, "stop-and-search")
    assert ss.groupby("source_file").size().to_dict() == rows
    assert len(rows) == 15  # 2017-04..06 absent in the real download
    assert {"Type", "Date", "Object of search", "Outcome"} <= set(ss.columns)


def test_coverage_shows_the_stop_search_gap(shared_police_dir):
    cov = police_coverage(shared_police_dir)
    assert len(cov) == 18 * 3
    gap = cov[~cov["present"]]
    assert sorted(gap["month"]) == ["2017-04", "2017-05", "2017-06"]
    assert set(gap["kind"]) == {"stop-and-search"} and (gap["rows"] == 0).all()
    street_rows, *_ = _csv_counts(shared_police_dir, "street")
    got = cov[cov["kind"] == "street"].set_index("month")["rows"].to_dict()
    assert got == {name[:7]: n for name, n in street_rows.items()}


def _street_header():
    return ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
            "Crime type,Last outcome category,Context\n")


def test_synthetic_tree_and_quirks(tmp_path):
    month = tmp_path / "2024-01"
    month.mkdir()
    body = (",2024-01,Riverton Police,Riverton Police,-1.5,52.45,On or near X,E01900001,Riverton 001A,"
            "Anti-social behaviour,,\n"
            "abc,2024-01,Riverton Police,Riverton Police,,,No location,,,Burglary,Under investigation,\n"
            "abc,2024-01,Riverton Police,Riverton Police,-1.5,52.45,On or near X,E01900001,Riverton 001A,"
            "Burglary,Unable to prosecute suspect,\n")
    (month / "2024-01-riverton-street.csv").write_text(_street_header() + body, encoding="utf-8")
    frame = read_police_street(tmp_path)
    assert len(frame) == 3 and frame["Crime ID"].isna().sum() == 1
    assert frame["Longitude"].isna().sum() == 1


def test_missing_columns_and_missing_tree(tmp_path):
    month = tmp_path / "2024-01"
    month.mkdir()
    (month / "2024-01-riverton-street.csv").write_text("Crime ID,Month\n1,2024-01\n", encoding="utf-8")
    with pytest.raises(IntakeError, match=r"street file 2024-01-riverton-street.csv row 1 \(header\)"):
        read_police_street(tmp_path)
    with pytest.raises(IntakeError, match="no data.police.uk outcomes files"):
        read_police_outcomes(tmp_path)
    with pytest.raises(IntakeError, match="does not exist"):
        read_police_street(tmp_path / "nowhere")
