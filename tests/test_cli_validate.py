"""`assess validate`: intake alone, a per-dataset table, exit codes 0 / 1 / 2."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
import yaml

from assessment.cli import main

DEMO_KEY = "riverton-demo-key-for-tests-only"


@pytest.fixture
def key_set(monkeypatch):
    monkeypatch.setenv("ASSESSMENT_PSEUDONYM_KEY", DEMO_KEY)


def _copy_catalogue(demo_catalogue: Path, dest: Path, edit) -> Path:
    """Write a copy of the demo catalogue whose data_root points at the generated files."""
    raw = yaml.safe_load(demo_catalogue.read_text(encoding="utf-8"))
    raw["data_root"] = str((demo_catalogue.parent / raw["data_root"]).resolve())
    edit(raw)
    path = dest / "catalogue.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def _rows(text: str) -> dict[str, list[str]]:
    """The table lines of the printed summary, by dataset (first token)."""
    return {line.split()[0]: line.split() for line in text.splitlines() if line and not line.startswith(" ")}


def test_demo_catalogue_is_usable(demo_catalogue, key_set, capsys):
    code = main(["validate", "--catalogue", str(demo_catalogue)])
    out = capsys.readouterr().out
    assert code == 0
    rows = _rows(out)
    cat = yaml.safe_load(demo_catalogue.read_text(encoding="utf-8"))
    for key in cat["datasets"]:
        assert key in rows, f"{key} missing from the summary"
        assert rows[key][1] == "ok"
    # police street: read = accepted + quarantined, as printed
    read, acc, qua = (int(x.replace(",", "")) for x in rows["police_street"][2:5])
    assert read == acc + qua and read > 0
    assert "14 of 14 datasets usable." in out or f"{len(cat['datasets'])} of {len(cat['datasets'])} datasets usable." in out


def test_fixed_columns_and_wrapped_messages(demo_catalogue, key_set, tmp_path, capsys):
    def drop_agreement(raw):
        raw["datasets"]["violence_nominals"]["sharing"].pop("agreement", None)

    path = _copy_catalogue(demo_catalogue, tmp_path, drop_agreement)
    code = main(["validate", "--catalogue", str(path)])
    out = capsys.readouterr().out
    assert code == 1
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("dataset"))
    width = len(lines[header])
    table = [line for line in lines[header:] if line and not line.startswith(" ")]
    # every data line ends in the same column as the header (fixed columns)
    assert all(len(line) == width for line in table if line.split()[0] in yaml.safe_load(path.read_text())["datasets"])
    # the refusal is wrapped under its dataset line, indented, naming the dataset and the file
    i = next(i for i, line in enumerate(lines) if line.startswith("violence_nominals"))
    assert "refused" in lines[i]
    message = " ".join(line.strip() for line in lines[i + 1:i + 6] if line.startswith("    "))
    assert "violence_nominals" in message and "agreement" in message
    assert "violence_nominals.csv" in message
    assert all(len(line) <= 100 for line in lines[i + 1:i + 6] if line.startswith("    "))


def test_missing_agreement_for_personal_data_exits_1(demo_catalogue, key_set, tmp_path, capsys):
    def drop_agreement(raw):
        raw["datasets"]["violence_nominals"]["sharing"]["agreement"] = None

    path = _copy_catalogue(demo_catalogue, tmp_path, drop_agreement)
    assert main(["validate", "--catalogue", str(path)]) == 1
    captured = capsys.readouterr()
    assert "violence_nominals" in captured.out
    assert "refused" in _rows(captured.out)["violence_nominals"]
    assert "cannot be used" in captured.err


def test_corrupted_date_is_quarantined_with_reason(demo_copy, key_set, tmp_path, capsys):
    path, raw_dir = demo_copy()
    source = raw_dir / "fire" / "deliberate_fires.csv"
    with open(source, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, data = rows[0], rows[1:]
    col = header.index("call_datetime")
    data[4][col] = "31/02/2024 25:61"  # data row 5: an impossible date
    source.unlink()  # a hard link to the shared demo: replace it, never write through it
    with open(source, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *data])
    out_dir = tmp_path / "out"
    code = main(["validate", "--catalogue", str(path), "--out", str(out_dir)])
    out = capsys.readouterr().out
    assert code == 0
    read, acc, qua = (int(x.replace(",", "")) for x in _rows(out)["fire_deliberate"][2:5])
    assert (read, acc, qua) == (len(data), len(data) - 1, 1)
    assert "unparseable date" in out
    quarantine = pd.read_csv(out_dir / "quality" / "quarantine" / "fire_deliberate.csv", dtype=str)
    assert len(quarantine) == 1
    row = quarantine.iloc[0]
    assert row["reason"] == "unparseable date"
    assert int(row["source_row"]) == 5
    assert "call_datetime" in row["detail"] and "31/02/2024 25:61" in row["detail"]


@pytest.mark.parametrize("argv", [["validate"], ["validate", "--catalogue"], ["validate", "--catalogue", "x.yaml", "stray"],
                                  ["validate", "--catalogue", "x.yaml", "--bogus"]])
def test_bad_command_line_exits_2(argv, capsys):
    assert main(argv) == 2
    assert "usage" in capsys.readouterr().err


def test_missing_catalogue_exits_1(tmp_path, capsys):
    assert main(["validate", "--catalogue", str(tmp_path / "absent.yaml")]) == 1
    assert "absent.yaml" in capsys.readouterr().err


def test_out_writes_quality_files_that_balance(demo_catalogue, key_set, tmp_path, capsys):
    out_dir = tmp_path / "out"
    assert main(["validate", "--catalogue", str(demo_catalogue), "--out", str(out_dir)]) == 0
    capsys.readouterr()
    quality = out_dir / "quality"
    for name in ("intake.csv", "completeness.csv", "coverage.csv", "sharing_register.csv"):
        assert (quality / name).is_file(), name
    intake = pd.read_csv(quality / "intake.csv")
    cat = yaml.safe_load(demo_catalogue.read_text(encoding="utf-8"))
    assert set(intake["dataset"]) == set(cat["datasets"])
    assert (intake["rows_read"] == intake["rows_accepted"] + intake["rows_quarantined"]).all()
    for key in cat["datasets"]:
        q = quality / "quarantine" / f"{key}.csv"
        assert q.is_file(), key
        n = int(intake.loc[intake["dataset"] == key, "rows_quarantined"].iloc[0])
        assert len(pd.read_csv(q)) == n
