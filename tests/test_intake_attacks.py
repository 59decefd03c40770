"""The attacks of issue 9 on intake, replayed against a private copy of the demo data.

Each attack goes through the command line (``assess validate``, and for the catalogue
attacks ``assess run``, which must refuse before anything is rendered). Every test then
checks that no content of a file outside the data (the first line of /etc/passwd) and no
raw person identifier of the demo's violence nominals appears in anything it printed or
wrote.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest

from assessment.cli import main

DEMO_KEY = "riverton-demo-key-for-tests-only"
PASSWD = Path("/etc/passwd")


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("ASSESSMENT_PSEUDONYM_KEY", DEMO_KEY)


@pytest.fixture(scope="module")
def secrets(demo_catalogue) -> set[str]:
    """Text that must never reach an output: the first line of /etc/passwd (and its first
    field run) and every raw identifier of the demo nominals (PNC id, date of birth, crime ref)."""
    import yaml

    raw = yaml.safe_load(Path(demo_catalogue).read_text(encoding="utf-8"))
    ds = raw["datasets"]["violence_nominals"]
    frame = pd.read_csv(Path(demo_catalogue).parent / raw["data_root"] / ds["path"], dtype=str)
    found = set()
    for col in ("pnc_id", "date_of_birth", "crime_ref"):
        found |= set(frame[col].dropna().str.strip())
    if PASSWD.is_file():
        first = PASSWD.read_text(encoding="utf-8", errors="replace").splitlines()[0]
        found |= {first, first.split(":")[0] + ":x:0:0"} if first.startswith("root:") else {first}
    return found


def _leaks(secrets: set[str], texts: list[str], folders: list[Path]) -> list[str]:
    """Every secret found in the texts or in any file under the folders."""
    pattern = re.compile(r"\d{2}/\d{6}[A-Z]|\d{2}/\d{2}/\d{4}|RV/\d{2}/\d{6}|root:x:0:0[^\s'\"]*")
    hits = []
    bodies = [("printed", t) for t in texts] + [
        (str(p), p.read_text(encoding="utf-8", errors="replace"))
        for f in folders if f.exists() for p in f.rglob("*") if p.is_file()]
    for where, body in bodies:
        candidates = set(pattern.findall(body))
        leaked = (candidates & secrets) | {s for s in secrets if s.startswith("root:") and s in body}
        if leaked:
            hits.append(f"{where}: {sorted(leaked)[:3]}")
    return hits


def _validate(catalogue: Path, out: Path, capsys) -> tuple[int, str]:
    code = main(["validate", "--catalogue", str(catalogue), "--out", str(out)])
    got = capsys.readouterr()
    return code, got.out + got.err


def _run_refuses(catalogue: Path, out: Path, capsys) -> str:
    """`assess run` must exit 1 before executing or rendering anything."""
    code = main(["run", "data-quality", "--catalogue", str(catalogue), "--out", str(out),
                 "--param", "run_date=2026-11-25"])
    got = capsys.readouterr()
    assert code == 1, got.out + got.err
    assert not list(out.rglob("*.html")) and not list(out.rglob("*.ipynb")), "run rendered before refusing"
    assert "executing" not in got.out, got.out
    return got.out + got.err


# --------------------------------------------------------------------------- paths
def _dotdot(raw, data):
    raw["datasets"]["fire_deliberate"]["path"] = "../" * 12 + "etc/passwd"
    return "datasets.fire_deliberate.path"


def _absolute(raw, data):
    raw["datasets"]["fire_deliberate"]["path"] = str(PASSWD)
    return "datasets.fire_deliberate.path"


def _root(raw, data):
    raw["data_root"] = "/"
    return "data_root"


def _system_folder(raw, data):
    raw["data_root"] = "/etc"
    raw["datasets"]["fire_deliberate"]["path"] = "passwd"
    return "data_root"


def _linked_folder(raw, data):
    (data / "system").symlink_to("/etc", target_is_directory=True)
    raw["datasets"]["fire_deliberate"]["path"] = "system/passwd"
    return "datasets.fire_deliberate.path"


def _linked_file(raw, data):
    target = data / raw["datasets"]["fire_deliberate"]["path"]  # the very file the catalogue names
    target.unlink()
    target.symlink_to(PASSWD)
    return "datasets.fire_deliberate.path"


def _linked_in_glob(raw, data):
    month = sorted((data / "police").iterdir())[0]
    (month / "leak-riverton-street.csv").symlink_to(PASSWD)
    return "datasets.police_street.path"


def _geography(raw, data):
    raw["geographies"]["wards"]["versions"][0]["path"] = "../../../../../../../etc/passwd"
    return "geographies.wards.versions[0].path"


def _kml_folder(raw, data):
    folder = data / raw["geographies"]["neighbourhoods"]["versions"][0]["path"]
    (folder / "ZZ99.kml").symlink_to(PASSWD)
    return "geographies.neighbourhoods.versions[0].path"


def _linked_sidecar(raw, data):
    """A file read beside the one the catalogue names (here the GeoPackage's namesake)."""
    gpkg = data / raw["geographies"]["small_areas"]["versions"][0]["path"]
    gpkg.with_suffix(".prj").symlink_to(PASSWD)
    return "geographies.small_areas.versions[0].path"


def _linked_data_root(raw, data):
    (data.parent / "alias").symlink_to("/etc", target_is_directory=True)
    raw["data_root"] = "alias"
    return "data_root"


PATH_ATTACKS = [_dotdot, _absolute, _root, _system_folder, _linked_folder, _linked_file, _linked_in_glob,
                _geography, _kml_folder, _linked_sidecar, _linked_data_root]


@pytest.mark.skipif(not PASSWD.is_file(), reason="needs /etc/passwd as the file outside the data")
@pytest.mark.parametrize("attack", PATH_ATTACKS, ids=lambda f: f.__name__.strip("_"))
def test_path_outside_the_data_root_is_refused(attack, demo_copy, tmp_path, capsys, secrets):
    named = {}

    def edit(raw):
        named["key"] = attack(raw, tmp_path / "raw")
        named["path"] = (raw["datasets"]["fire_deliberate"]["path"] if "fire" in named["key"] else None)

    demo_copy()  # lay the data first, so that the attack can plant links in it
    catalogue, data = demo_copy(edit)
    out = tmp_path / "out"
    code, text = _validate(catalogue, out, capsys)
    assert code == 1, text
    assert named["key"] in text, f"the message must name {named['key']}: {text}"
    if named["key"] == "data_root":
        assert "system folder" in text and "filesystem root" in text, text
    else:
        assert "outside the data root" in text and str(data.resolve()) in text, text
    if named["path"]:
        assert named["path"] in text, text
    text += _run_refuses(catalogue, tmp_path / "run_out", capsys)
    assert not _leaks(secrets, [text], [out, tmp_path / "run_out"])


@pytest.mark.skipif(not PASSWD.is_file(), reason="needs /etc/passwd as the file outside the data")
def test_a_data_file_that_is_not_a_table_is_never_echoed(demo_copy, tmp_path, capsys, secrets):
    """A system file copied into the data folder: refused without showing its first line."""
    catalogue, data = demo_copy()
    target = data / "fire" / "deliberate_fires.csv"
    target.unlink()
    target.write_bytes(PASSWD.read_bytes())
    out = tmp_path / "out"
    code, text = _validate(catalogue, out, capsys)
    assert code == 1, text
    assert "fire_deliberate" in text and "does not look like this dataset's header" in text, text
    intake = (out / "quality" / "intake.csv").read_text(encoding="utf-8")
    assert "fire_deliberate" in intake
    assert not _leaks(secrets, [text], [out])


# --------------------------------------------------------------------------- personal data
def test_personal_dataset_without_identifiers_is_refused(demo_copy, tmp_path, capsys, secrets):
    def no_ids(raw):
        raw["datasets"]["violence_nominals"]["identifiers"] = []

    catalogue, _ = demo_copy(no_ids)
    out = tmp_path / "out"
    code, text = _validate(catalogue, out, capsys)
    assert code == 1 and "violence_nominals" in text and "identifiers" in text, text
    text += _run_refuses(catalogue, tmp_path / "run_out", capsys)
    assert not _leaks(secrets, [text], [out, tmp_path / "run_out"])


def _corrupt_nominals(data: Path, rows: int = 4) -> Path:
    src = data / "nominals" / "violence_nominals.csv"
    lines = src.read_text(encoding="utf-8").splitlines()
    for i in range(1, rows + 1):
        fields = lines[i].split(",")
        fields[4] = "not a date"  # incident_date
        lines[i] = ",".join(fields)
    lines[rows + 1] += ",an extra field"  # a malformed row: its raw text would carry the ids
    src.unlink()
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return src


def test_person_fields_pseudonymised_whatever_the_mapping(demo_copy, tmp_path, capsys, secrets):
    """Identifiers that name only the crime reference: the person id and date of birth are
    pseudonymised all the same, and the quarantine file holds line and reason only."""
    import yaml

    from assessment.catalogue import load_catalogue
    from assessment.intake.harmonise import intake_dataset

    def crime_ref_only(raw):
        raw["datasets"]["violence_nominals"]["identifiers"] = ["crime_ref"]

    catalogue, data = demo_copy(crime_ref_only)
    _corrupt_nominals(data)
    out = tmp_path / "out"
    code, text = _validate(catalogue, out, capsys)
    assert code == 0, text
    q = pd.read_csv(out / "quality" / "quarantine" / "violence_nominals.csv", dtype=str)
    assert list(q.columns) == ["dataset", "source_file", "source_row", "file_line", "reason", "detail"]
    planted = q[q["reason"] != "duplicate"]  # the demo's nominals also carry exact duplicate rows
    assert set(planted["reason"]) == {"unparseable date", "malformed row"} and len(planted) == 5
    assert planted["detail"].str.contains("withheld").all(), q["detail"].tolist()
    # a duplicate's detail is a fixed phrase, never the row's values
    assert (q.loc[q["reason"] == "duplicate", "detail"] == "exact copy of an earlier row").all()
    res = intake_dataset(load_catalogue(catalogue), "violence_nominals", run_date="2026-11-25")
    for field in ("person_id", "date_of_birth", "crime_ref"):
        assert res.data[field].str.fullmatch(r"[0-9a-f]{64}").all(), field
    raw = yaml.safe_load(catalogue.read_text(encoding="utf-8"))
    assert raw["datasets"]["violence_nominals"]["columns"]["person_id"] == "pnc_id"
    assert not _leaks(secrets, [text], [out])


def test_sensitive_quarantine_holds_no_values(demo_copy, tmp_path, capsys):
    catalogue, data = demo_copy()
    src = data / "health" / "ed_assaults_by_area_month.csv"
    lines = src.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + ",SECRET-COUNT-771"
    src.unlink()
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    code, text = _validate(catalogue, out, capsys)
    assert code == 0, text
    body = (out / "quality" / "quarantine" / "ed_assaults.csv").read_text(encoding="utf-8")
    q = pd.read_csv(out / "quality" / "quarantine" / "ed_assaults.csv", dtype=str)
    assert q["reason"].tolist() == ["invalid count"] and q["source_row"].tolist() == ["3"]
    assert "SECRET-COUNT-771" not in body + text and "E019" not in body


# --------------------------------------------------------------------------- smaller ones
def test_dataset_with_nothing_accepted_is_unusable(demo_copy, tmp_path, capsys):
    catalogue, data = demo_copy()
    src = data / "fire" / "deliberate_fires.csv"
    frame = pd.read_csv(src, dtype=str, keep_default_na=False)
    frame["incident_type"] = "NA"
    src.unlink()
    frame.to_csv(src, index=False)
    out = tmp_path / "out"
    code, text = _validate(catalogue, out, capsys)
    assert code == 1, text
    line = next(s for s in text.splitlines() if s.startswith("fire_deliberate"))
    assert "unusable" in line, line
    assert f"none of its {len(frame):,} rows was accepted" in " ".join(text.split()), text
    assert "refused, unreadable or unusable: fire_deliberate." in text, text
    q = pd.read_csv(out / "quality" / "intake.csv", dtype=str).set_index("dataset")
    assert q.loc["fire_deliberate", "status"] == "unusable"
    assert int(q.loc["fire_deliberate", "rows_quarantined"]) == len(frame)
    assert (out / "quality" / "quarantine" / "fire_deliberate.csv").is_file()


def test_non_finite_coordinates_quarantined_with_their_reason(demo_copy, tmp_path, capsys):
    from assessment.catalogue import load_catalogue
    from assessment.intake.harmonise import intake_dataset

    catalogue, data = demo_copy()
    src = data / "fire" / "deliberate_fires.csv"
    frame = pd.read_csv(src, dtype=str, keep_default_na=False)
    frame.loc[[2, 5, 9, 11], "easting"] = ["nan", "inf", "NaN", "-Infinity"]
    frame.loc[14, "northing"] = "inf"
    frame.loc[17, "easting"] = ""  # an empty field stays "not geocoded", kept
    src.unlink()
    frame.to_csv(src, index=False)
    res = intake_dataset(load_catalogue(catalogue), "fire_deliberate", run_date="2026-11-25")
    q = res.quarantine.set_index("source_row")
    nonfinite = q.index[q["reason"] == "coordinates not finite"].tolist()
    assert nonfinite == [3, 6, 10, 12, 15], q["reason"].value_counts()
    assert q.loc[3, "detail"].endswith("got nan, " + frame.loc[2, "northing"])
    assert res.quality["quarantined_coordinates_not_finite"] == 5
    assert 18 not in q.index and res.quality["not_geocoded"] >= 1


def test_utf8_bom_then_windows_1252_keeps_the_first_column_name(demo_copy, tmp_path, capsys):
    catalogue, data = demo_copy()
    src = data / "fire" / "deliberate_fires.csv"
    body = src.read_bytes()
    src.unlink()
    first_row = body.index(b"\n") + 1
    body = body[:first_row] + body[first_row:].replace(b"Grassland", b"Grassland caf\xe9", 1)
    src.write_bytes(b"\xef\xbb\xbf" + body)
    code, text = _validate(catalogue, tmp_path / "out", capsys)
    assert code == 0, text
    line = next(s for s in text.splitlines() if s.startswith("fire_deliberate"))
    assert line.split()[1] == "ok", text


def test_identifier_columns_cover_person_fields_whatever_the_mapping(catalogue_path):
    from assessment.catalogue import load_catalogue
    from assessment.intake.harmonise import identifier_columns, withholds_values

    cat = load_catalogue(catalogue_path, check_files=False)
    nominals = cat.dataset("violence_nominals")
    assert identifier_columns(nominals.model_copy(update={"identifiers": ["crime_ref"]})) == [
        "crime_ref", "pnc_id", "date_of_birth"]
    # an official events dataset that maps a date of birth: pseudonymised and withheld all the same
    fire = cat.dataset("fire_deliberate")
    mapped = fire.model_copy(update={"columns": {**fire.columns, "date_of_birth": "dob"}})
    assert identifier_columns(mapped) == ["dob"] and withholds_values(mapped)
    # a premises name is not a person's name
    premises = cat.dataset("licensed_premises")
    assert identifier_columns(premises) == [] and not withholds_values(premises)
