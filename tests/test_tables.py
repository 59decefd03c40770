"""Generic CSV and Excel readers: delimiters, encodings, header offsets, row accounting."""

from __future__ import annotations

import csv
import warnings

import openpyxl
import pandas as pd
import pytest

from assessment.errors import IntakeError
from assessment.intake.tables import read_csv_table, read_xlsx_table


def test_semicolon_and_header_offset(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("Export from system\n\nref;street\nA1;High St\nA2;\n", encoding="utf-8")
    got = read_csv_table(p, delimiter=";", header_row=3, required=["ref"])
    assert list(got["ref"]) == ["A1", "A2"] and pd.isna(got["street"].iloc[1])
    assert list(got["source_row"]) == [1, 2] and (got["source_file"] == "x.csv").all()
    assert got["read_problem"].isna().all()


def test_cp1252_declared_and_detected(tmp_path):
    p = tmp_path / "c.csv"
    p.write_bytes("ref,street\n1,Caf\u00e9 Row\n2,Cr\u00e8me Lane \u2013 East\n".encode("cp1252"))
    declared = read_csv_table(p, encoding="cp1252")
    assert list(declared["street"]) == ["Caf\u00e9 Row", "Cr\u00e8me Lane \u2013 East"]
    # the warning names the dataset, the file and the encoding used
    with pytest.warns(UserWarning, match=r"dataset council_reports_csv file c\.csv .*encoding Windows-1252 \(cp1252\)"):
        detected = read_csv_table(p, dataset="council_reports_csv")
    assert list(detected["street"]) == list(declared["street"])


def test_undecodable_byte_names_dataset_file_row_column(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_bytes(b"ref,street\n1,ok\n2,\x81bad\n")
    with pytest.raises(IntakeError, match=r"council file bad.csv row 2 column 2 \(street\)"):
        read_csv_table(p, encoding="cp1252", dataset="council")


def test_wrong_field_counts_become_read_problems_in_place(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n", encoding="utf-8")
    got = read_csv_table(p)
    with open(p, newline="") as fh:
        n_rows = sum(1 for _ in csv.reader(fh)) - 1
    assert len(got) == n_rows == 4
    assert list(got["source_row"]) == [1, 2, 3, 4]
    assert got["read_problem"].notna().tolist() == [False, True, True, False]
    assert "expected 3 fields, got 2" in got["read_problem"].iloc[1]
    assert list(got["a"].iloc[[0, 3]]) == ["1", "10"]


def test_empty_file_header_only_and_missing_columns(tmp_path):
    p = tmp_path / "e.csv"
    p.write_bytes(b"")
    with pytest.raises(IntakeError, match="empty"):
        read_csv_table(p, dataset="fire")
    p.write_text("a,b\n", encoding="utf-8")
    assert len(read_csv_table(p)) == 0
    with pytest.raises(IntakeError, match=r"\['c'\] must be present"):
        read_csv_table(p, required=["a", "c"])
    p.write_text("a,a\n1,2\n", encoding="utf-8")
    with pytest.raises(IntakeError, match="unique"):
        read_csv_table(p)


def test_unbalanced_quote_flagged_when_line_breaks_not_allowed(tmp_path):
    p = tmp_path / "q.csv"
    p.write_text('a,b\n1,"open\n2,3\n', encoding="utf-8")
    got = read_csv_table(p, newlines_in_values=False)
    assert got["read_problem"].notna().all()


def test_float_columns_fall_back_to_text(tmp_path):
    p = tmp_path / "f.csv"
    p.write_text("x,y\n1.5,2\nabc,3\n", encoding="utf-8")
    got = read_csv_table(p, float_columns=["x", "y"])
    assert list(got["x"]) == ["1.5", "abc"]
    p.write_text("x,y\n1.5,2\n,3\n", encoding="utf-8")
    got = read_csv_table(p, float_columns=["x", "y"])
    assert got["x"].dtype == "float64" and pd.isna(got["x"].iloc[1])


def test_xlsx_sheet_and_header_row(tmp_path):
    p = tmp_path / "r.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Reports"
    ws.append(["Council ASB reports"])
    ws.append([])
    ws.append(["Ref", "Date Reported", "Easting"])
    ws.append(["R1", "05/01/2024", 439500])
    ws.append([None, None, None])
    ws.append(["R2", "06/01/2024", 440000.5])
    wb.create_sheet("Notes")
    wb.save(p)
    got = read_xlsx_table(p, sheet="Reports", header_row=3, required=["Ref"])
    assert list(got["Ref"]) == ["R1", "R2"]
    assert list(got["Easting"]) == ["439500", "440000.5"]
    assert list(got["source_row"]) == [1, 3]
    with pytest.raises(IntakeError, match=r"sheet 'Missing' must exist, got sheets \['Reports', 'Notes'\]"):
        read_xlsx_table(p, sheet="Missing", dataset="council_reports")


def test_utf8_bom_then_cp1252_byte_drops_the_bom_from_the_first_name(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes(b"\xef\xbb\xbfincident_number,street\nF1,Caf\xe9 Row\nF2,Mill Lane\n")
    with pytest.warns(UserWarning, match="Windows-1252"):
        got = read_csv_table(p, required=["incident_number"], dataset="fire")
    assert list(got.columns[:2]) == ["incident_number", "street"]
    assert list(got["incident_number"]) == ["F1", "F2"] and got["street"].iloc[0] == "Caf\u00e9 Row"
    declared = read_csv_table(p, encoding="cp1252", required=["incident_number"])  # declared, same rule
    assert list(declared["incident_number"]) == ["F1", "F2"]


def test_a_header_that_is_not_a_header_is_never_echoed(tmp_path):
    p = tmp_path / "passwd.csv"
    p.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
    with pytest.raises(IntakeError) as err:
        read_csv_table(p, required=["incident_number", "call_datetime"], dataset="fire")
    message = str(err.value)
    assert "root" not in message and "bash" not in message
    assert "1 field(s)" in message and "['incident_number', 'call_datetime'] must be present" in message
    # a data row where the header should be (header_row wrong): names of people are not shown
    p.write_text("Smith,12 High St,01/02/1980\nJones,3 Low Rd,04/05/1990\n")
    with pytest.raises(IntakeError) as err:
        read_csv_table(p, required=["name", "address"], dataset="nominals")
    assert "Smith" not in str(err.value) and "High St" not in str(err.value)


def test_a_real_header_is_shown_to_help_fix_the_mapping(tmp_path):
    p = tmp_path / "fire.csv"
    p.write_text("incident_no,call_datetime,incident_type\nF1,01/01/2024 10:00,Primary deliberate fire\n")
    with pytest.raises(IntakeError, match=r"\['incident_number'\] must be present, got columns "
                                          r"\['incident_no', 'call_datetime', 'incident_type'\]"):
        read_csv_table(p, required=["incident_number", "call_datetime"])
    # nothing expected is there, but a close name is offered (and only that)
    with pytest.raises(IntakeError, match=r"close to the expected names: \['incident_no'\]") as err:
        read_csv_table(p, required=["incident_nos"])
    assert "call_datetime" not in str(err.value)


def test_parse_errors_do_not_quote_the_row(tmp_path):
    from assessment.intake.tables import _parse_problem

    exc = ValueError("CSV parse error: Expected 3 columns, got 2: 99/763408Z,20/05/1981")
    assert _parse_problem(exc) == "Expected 3 columns, got 2 (row text not shown)"
    exc = ValueError("CSV parse error: Empty CSV file or block: 'secret text'")
    assert "secret" not in _parse_problem(exc) and "Empty CSV file" in _parse_problem(exc)


def test_written_nan_and_inf_stay_text_in_float_columns(tmp_path):
    p = tmp_path / "f.csv"
    p.write_text("x,y,kind\n1.5,2,NA\nnan,3,nan\ninf,4,b\n,5,c\n", encoding="utf-8")
    got = read_csv_table(p, float_columns=["x", "y"])
    assert got["x"].tolist()[:3] == ["1.5", "nan", "inf"] and pd.isna(got["x"].iloc[3])
    assert got["y"].dtype == "float64"  # the other column is wholly finite: still numbers
    assert pd.isna(got["kind"].iloc[0]) and got["kind"].iloc[1] == "nan"  # NA is missing, nan is text


def test_text_edges_are_the_first_and_last_bytes_of_each_value():
    from assessment.intake.tables import text_edges

    values = ["abc", " x", "y ", None, "\u00e9t\u00e9", "", "z", None, "\t"]
    series = pd.Series(values, dtype="str")
    for s in (series, series.iloc[2:], pd.Series(values, dtype=object), pd.concat([series, series])):
        first, last = text_edges(s)
        # independently, from Python's own encoding of each value (NA and empty text give 0)
        raw = [v.encode("utf-8") if isinstance(v, str) and v else b"" for v in s.tolist()]
        assert first.tolist() == [r[0] if r else 0 for r in raw]
        assert last.tolist() == [r[-1] if r else 0 for r in raw]


def test_text_edges_remembered_within_a_block_and_only_for_the_same_values():
    from assessment.intake.tables import remembered_text_edges, text_edges

    frame = pd.DataFrame({"a": pd.Series([" x", "y", None], dtype="str"), "b": pd.Series(["p ", "q", "r"], dtype="str")})
    with remembered_text_edges():
        first = text_edges(frame["a"])
        assert text_edges(frame["a"]) is first  # the same column again: computed once
        other = text_edges(frame["b"])  # other values: their own edges
        assert other[1].tolist() == [32, ord("q"), ord("r")]
        changed = frame["a"].str.strip()  # new buffers: never mistaken for the old ones
        assert text_edges(changed)[0].tolist() == [ord("x"), ord("y"), 0]
    assert text_edges(frame["a"]) is not first and text_edges(frame["a"])[0].tolist() == first[0].tolist()
