"""Catalogue-driven intake on the demo partnership and on the real police files."""

from __future__ import annotations

import copy
import csv
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from assessment import paths
from assessment.catalogue import load_catalogue
from assessment.errors import IntakeError, SharingRefused
from assessment.intake.harmonise import AREA_COUNT_COLUMNS, EVENT_COLUMNS, intake_catalogue, intake_dataset

KEY = "riverton-test-key-0123456789"
RUN_DATE = "2026-01-15"


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory) -> Path:
    try:
        from assessment.demo import write_demo_partnership
    except ImportError as exc:  # the demo generator is written by a colleague
        pytest.skip(f"assessment.demo.write_demo_partnership is not importable yet: {exc}")
    root = tmp_path_factory.mktemp("demo")
    write_demo_partnership(root / "raw", seed=2026)
    raw = yaml.safe_load(paths.DEMO_CATALOGUE.read_text(encoding="utf-8"))
    raw["data_root"] = "raw"
    (root / "data_catalogue.yaml").write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return root


def _catalogue(root: Path, edit=None):
    raw = yaml.safe_load((root / "data_catalogue.yaml").read_text(encoding="utf-8"))
    if edit:
        edit(raw)
    target = root / f"cat_{abs(hash(repr(raw))) % 10**8}.yaml"
    target.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return load_catalogue(target, check_files=False)


@pytest.fixture(scope="session")
def demo_result(demo_root, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("ASSESSMENT_PSEUDONYM_KEY", KEY)
    out = tmp_path_factory.mktemp("out")
    try:
        res = intake_catalogue(_catalogue(demo_root), out, run_date=RUN_DATE)
    finally:
        mp.undo()
    return res, out


def test_every_demo_dataset_read_through_catalogue(demo_root, demo_result):
    res, out = demo_result
    cat = _catalogue(demo_root)
    q = res.quality.set_index("dataset")
    assert list(q.index) == list(cat.datasets)
    assert (q["status"] == "ok").all() and not res.errors
    assert (q["rows_read"] == q["rows_accepted"] + q["rows_quarantined"]).all()
    assert (q["rows_read"] > 0).all()
    assert list(res.events.columns[: len(EVENT_COLUMNS)]) == EVENT_COLUMNS
    assert list(res.area_counts.columns) == AREA_COUNT_COLUMNS
    assert set(res.events["dataset"]) == {k for k, d in cat.datasets.items() if d.kind == "events"}
    assert res.events["date"].dtype == "datetime64[ns]"
    assert res.events["theme"].notna().all()
    geo = res.events.dropna(subset=["easting"])
    assert geo["easting"].between(420_000, 460_000).mean() > 0.99
    assert "previous_strategy" in res.documents and isinstance(res.documents["previous_strategy"], dict)
    for f in ("intake.csv", "coverage.csv", "completeness.csv", "sharing_register.csv"):
        assert (out / "quality" / f).is_file()
    for key in cat.datasets:
        if cat.datasets[key].kind != "document":
            assert (out / "quality" / "quarantine" / f"{key}.csv").is_file()
    written = pd.read_csv(out / "quality" / "intake.csv")
    assert (written["rows_read"] == written["rows_accepted"] + written["rows_quarantined"]).all()


def test_accepted_rows_match_independent_count(demo_root, demo_result):
    res, _ = demo_result
    cat = _catalogue(demo_root)
    fire = pd.read_csv(cat.dataset_files("fire_deliberate")[0], dtype=str)
    q = res.quality.set_index("dataset").loc["fire_deliberate"]
    assert q["rows_read"] == len(fire)
    when = pd.to_datetime(fire["call_datetime"], format="%d/%m/%Y %H:%M", errors="coerce")
    in_window = when.between("2023-01-01", "2025-12-31 23:59:59")
    assert q["rows_accepted"] <= int(in_window.sum())
    mine = res.events[res.events["dataset"] == "fire_deliberate"]
    assert len(mine) == q["rows_accepted"]


def test_no_raw_identifier_anywhere_under_outputs(demo_root, demo_result):
    res, out = demo_result
    cat = _catalogue(demo_root)
    nominals = pd.read_csv(cat.dataset_files("violence_nominals")[0], dtype=str)
    raw_ids = set(nominals["pnc_id"].dropna()) | set(nominals["date_of_birth"].dropna())
    assert raw_ids
    files = [p for p in out.rglob("*") if p.is_file()]
    assert files
    for p in files:
        text = p.read_text(encoding="utf-8", errors="replace")
        leaked = [v for v in raw_ids if v in text]
        assert not leaked, f"{p} holds raw identifiers, e.g. {leaked[:3]}"
    persons = res.persons
    assert not set(persons["person_id"]) & raw_ids and not set(persons["date_of_birth"]) & raw_ids
    assert persons["person_id"].str.fullmatch(r"[0-9a-f]{64}").all()


def test_personal_dataset_refusals(demo_root, monkeypatch):
    monkeypatch.delenv("ASSESSMENT_PSEUDONYM_KEY", raising=False)
    cat = _catalogue(demo_root)
    with pytest.raises(SharingRefused, match="ASSESSMENT_PSEUDONYM_KEY"):
        intake_dataset(cat, "violence_nominals", run_date=RUN_DATE)
    monkeypatch.setenv("ASSESSMENT_PSEUDONYM_KEY", KEY)

    def no_agreement(raw):
        raw["datasets"]["violence_nominals"]["sharing"].pop("agreement")

    with pytest.raises(SharingRefused, match="no information-sharing agreement"):
        intake_dataset(_catalogue(demo_root, no_agreement), "violence_nominals", run_date=RUN_DATE)
    with pytest.raises(SharingRefused, match="expired"):
        intake_dataset(cat, "violence_nominals", run_date="2027-04-01")
    with pytest.raises(SharingRefused, match="may not be used"):
        intake_dataset(cat, "violence_nominals", run_date=RUN_DATE, use="publication")
    res = intake_catalogue(cat, run_date="2027-04-01", keys=["violence_nominals", "fire_deliberate"],
                           errors="collect")
    assert set(res.errors) == {"violence_nominals"}
    assert res.quality.set_index("dataset").loc["violence_nominals", "status"] == "refused"


def test_use_leaves_out_datasets_not_permitted(demo_root, monkeypatch):
    monkeypatch.setenv("ASSESSMENT_PSEUDONYM_KEY", KEY)
    res = intake_catalogue(_catalogue(demo_root), run_date=RUN_DATE, use="strategic assessment",
                           keys=["council_reports_csv", "fire_deliberate"])
    q = res.quality.set_index("dataset")
    assert q.loc["council_reports_csv", "status"] == "not permitted"
    assert set(res.events["dataset"]) == {"fire_deliberate"}


def test_bad_rows_quarantined_with_reason_file_and_row(demo_root, tmp_path, monkeypatch):
    root = tmp_path / "d"
    shutil.copytree(demo_root, root, ignore=shutil.ignore_patterns("police", "cat_*"))
    fire = root / "raw" / "fire" / "deliberate_fires.csv"
    with open(fire, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, first = rows[0], dict(zip(rows[0], rows[1]))
    extra = [first | {"call_datetime": "31/02/2024 10:00", "incident_number": "BAD1"},
             first | {"easting": "0", "northing": "0", "incident_number": "BAD2"},
             first | {"incident_type": "Chimney fire", "incident_number": "BAD3"}]
    with open(fire, "a", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerows([[r[h] for h in header] for r in extra] + [rows[1]])
    lines = rows
    res = intake_dataset(_catalogue(root), "fire_deliberate", run_date=RUN_DATE)
    q = res.quarantine.set_index("source_row")
    n = len(lines) - 1
    assert q.loc[n + 1, "reason"] == "unparseable date" and "31/02/2024" in q.loc[n + 1, "detail"]
    assert q.loc[n + 2, "reason"] == "coordinates invalid"
    assert q.loc[n + 3, "reason"] == "unknown category" and "Chimney fire" in q.loc[n + 3, "detail"]
    assert q.loc[n + 4, "reason"] == "duplicate"
    assert (res.quarantine["source_file"] == "deliberate_fires.csv").all()
    rec = res.quality
    assert rec["rows_read"] == n + 4 == rec["rows_accepted"] + rec["rows_quarantined"]


def test_unreadable_file_is_intake_error(demo_root, tmp_path):
    root = tmp_path / "d"
    shutil.copytree(demo_root, root, ignore=shutil.ignore_patterns("police", "cat_*"))
    (root / "raw" / "fire" / "deliberate_fires.csv").write_bytes(b"incident_number,call_datetime\n1,x\n")
    with pytest.raises(IntakeError, match=r"fire_deliberate file deliberate_fires.csv row 1 \(header\)"):
        intake_dataset(_catalogue(root), "fire_deliberate", run_date=RUN_DATE)


def _real_catalogue(tmp_path: Path, shared: Path, covers: str | None = None):
    raw = yaml.safe_load(paths.DEMO_CATALOGUE.read_text(encoding="utf-8"))
    raw["data_root"] = str(shared)
    raw["partnership"]["window"] = {"start": "2016-01", "end": "2017-06"}
    street = copy.deepcopy(raw["datasets"]["police_street"])
    street["path"] = "*/*-street.csv"
    if covers is not None:
        street["covers"] = covers
    ss = {"title": "Stop and search", "agency": "City of London Police", "format": "police_uk_stop_search",
          "kind": "events", "path": "*/*-stop-and-search.csv",
          "columns": {"date": "Date", "category": "Object of search", "outcome": "Outcome"},
          "date_format": "iso", "coordinates": {"x": "Longitude", "y": "Latitude", "crs": "EPSG:4326"},
          "sensitivity": "public", "sharing": street["sharing"], "refresh": "monthly"}
    raw["datasets"] = {"police_street": street, "police_stop_search": ss}
    raw["series_breaks"] = []
    p = tmp_path / "data_catalogue.yaml"
    p.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return load_catalogue(p, check_files=False)


def test_real_police_files_through_catalogue(shared_police_dir, tmp_path):
    cat = _real_catalogue(tmp_path, shared_police_dir)
    res = intake_catalogue(cat, tmp_path / "out", run_date=RUN_DATE)
    q = res.quality.set_index("dataset")
    street = res.events[res.events["dataset"] == "police_street"]
    raw = pd.concat([pd.read_csv(f, dtype=str) for f in sorted(shared_police_dir.glob("*/*-street.csv"))])
    assert q.loc["police_street", "rows_read"] == len(raw)
    assert q.loc["police_street", "rows_quarantined"] == 0  # ASB rows alike are separate incidents, kept
    asb_no_id = int(((raw["Crime type"] == "Anti-social behaviour") & raw["Crime ID"].isna()).sum())
    assert int(((street["theme"] == "asb") & street["event_id"].isna()).sum()) == asb_no_id
    assert q.loc["police_street", "not_geocoded"] == int(raw["Longitude"].isna().sum())
    assert q.loc["police_street", "duplicate_ids"] == int(raw["Crime ID"].dropna().duplicated(keep=False).sum())
    assert street["date"].isna().all() and street["month"].notna().all()
    assert street.groupby("month").size().to_dict() == raw.groupby("Month").size().to_dict()
    cov = res.coverage[res.coverage["dataset"] == "police_stop_search"]
    assert cov.loc[cov["rows"] == 0, "month"].tolist() == ["2017-04", "2017-05", "2017-06"]
    assert np.isclose(q.loc["police_street", "share_geocoded"],
                      1 - q.loc["police_street", "not_geocoded"] / q.loc["police_street", "rows_accepted"])


def test_rows_without_a_location_of_files_covering_a_shared_force_are_quarantined(shared_police_dir, tmp_path):
    """The same real files said to cover a force area shared with other partnerships (covers: force):
    their rows without a location cannot be placed in the partnership; quarantined, in no total."""
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
    kept = intake_catalogue(_real_catalogue(tmp_path / "a", shared_police_dir), None, run_date=RUN_DATE)
    cat = _real_catalogue(tmp_path / "b", shared_police_dir, covers="force")
    res = intake_catalogue(cat, None, run_date=RUN_DATE)
    raw = pd.concat([pd.read_csv(f, dtype=str) for f in sorted(shared_police_dir.glob("*/*-street.csv"))])
    no_location = int(raw["Longitude"].isna().sum())
    assert no_location > 0
    q = res.quality.set_index("dataset").loc["police_street"]
    assert q["rows_quarantined"] == q["quarantined_coordinates_missing"] == no_location
    assert q["not_geocoded"] == 0 and q["rows_accepted"] == len(raw) - no_location
    street = res.events[res.events["dataset"] == "police_street"]
    assert street["easting"].notna().all()
    before = kept.events[kept.events["dataset"] == "police_street"]
    assert len(before) == len(street) + no_location  # by default (covers: partnership) they are kept
    detail = res.quarantine["police_street"]["detail"]
    assert detail.str.contains("covers: force").all()


def test_duplicate_id_flags_ids_shared_among_accepted_rows(demo_workbench):
    """`duplicate_id` marks exactly the accepted rows whose event id another accepted row carries."""
    ev = demo_workbench.events
    police = ev[ev["dataset"] == "police_street"]
    ids = police["event_id"]
    expected = ids.notna() & ids.duplicated(keep=False)
    assert (police["duplicate_id"].to_numpy(dtype=bool) == expected.to_numpy(dtype=bool)).all()


def test_malformed_row_of_a_personal_dataset_never_echoes_its_identifiers(demo_catalogue, tmp_path, monkeypatch):
    """A row with an extra field is quarantined; its raw text (PNC id, date of birth) is withheld."""
    import shutil

    import yaml

    from assessment.catalogue import load_catalogue
    from assessment.intake.harmonise import intake_catalogue

    monkeypatch.setenv("ASSESSMENT_PSEUDONYM_KEY", "a-test-key-that-is-long-enough")
    raw = yaml.safe_load(demo_catalogue.read_text())
    src = demo_catalogue.parent / raw["data_root"] / raw["datasets"]["violence_nominals"]["path"]
    dest = tmp_path / "raw" / raw["datasets"]["violence_nominals"]["path"]
    dest.parent.mkdir(parents=True)
    lines = src.read_text(encoding="utf-8").splitlines()
    secret_id = lines[5].split(",")[0]
    lines[5] = lines[5] + ",an extra field"
    dest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    raw["data_root"] = str(tmp_path / "raw")
    raw["datasets"] = {"violence_nominals": raw["datasets"]["violence_nominals"]}
    raw["series_breaks"] = []
    raw["geographies"] = {k: v for k, v in raw["geographies"].items()}
    for key, geo in raw["geographies"].items():
        for v in geo["versions"]:
            target = tmp_path / "raw" / v["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            source = demo_catalogue.parent / "raw" / v["path"]
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True)
            else:
                shutil.copy(source, target)
    cat_path = tmp_path / "cat.yaml"
    cat_path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    out = tmp_path / "out"
    result = intake_catalogue(load_catalogue(cat_path), out_dir=out, run_date="2026-11-25")
    q = result.quarantine["violence_nominals"]
    assert (q["reason"] == "malformed row").sum() == 1
    assert "withheld" in q.loc[q["reason"] == "malformed row", "detail"].iloc[0]
    for f in out.rglob("*"):
        if f.is_file():
            assert secret_id not in f.read_text(encoding="utf-8", errors="ignore"), f


def test_quarantine_names_the_line_to_open_in_the_file(tmp_path, demo_catalogue):
    """A bad date in the fire CSV's 5th data row is quarantined with file_line 6 (after the header)."""
    import yaml

    from assessment.catalogue import load_catalogue
    from assessment.intake.harmonise import intake_dataset

    raw = yaml.safe_load(demo_catalogue.read_text())
    src = demo_catalogue.parent / raw["data_root"] / raw["datasets"]["fire_deliberate"]["path"]
    lines = src.read_text(encoding="utf-8").splitlines()
    fields = lines[5].split(",")
    fields[1] = "31/02/2024 10:00"
    lines[5] = ",".join(fields)
    dest = tmp_path / "raw" / raw["datasets"]["fire_deliberate"]["path"]
    dest.parent.mkdir(parents=True)
    dest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    raw["data_root"] = str(tmp_path / "raw")
    raw["datasets"] = {"fire_deliberate": raw["datasets"]["fire_deliberate"]}
    raw["series_breaks"], raw["geographies"] = [], {}
    raw.pop("horizon_scan")
    path = tmp_path / "cat.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    result = intake_dataset(load_catalogue(path), "fire_deliberate", run_date="2026-11-25")
    q = result.quarantine
    assert q["source_row"].tolist() == [5] and q["file_line"].tolist() == [6]
    assert q["reason"].iloc[0] == "unparseable date"


def test_blank_padding_rows_are_counted_as_blank_not_malformed(demo_root, tmp_path):
    """Rows of delimiters alone (right field count or not) are blank: read = accepted + quarantined + blank."""
    root = tmp_path / "d"
    shutil.copytree(demo_root, root, ignore=shutil.ignore_patterns("police", "cat_*"))
    prem = root / "raw" / "licensing" / "licensed_premises.csv"
    text = prem.read_text(encoding="utf-8")
    n_cols = len(text.splitlines()[0].split(","))
    n_before = len(pd.read_csv(prem, dtype=str))
    pad = [("," * (n_cols - 1)), " , ", ",,", '"",""']  # full width, spaces, short, quoted empties
    prem.write_text(text.rstrip("\n") + "\n" + "\n".join(pad * 5) + "\n", encoding="utf-8")
    res = intake_dataset(_catalogue(root), "licensed_premises", run_date=RUN_DATE)
    q = res.quality
    assert q["rows_blank"] == 20
    assert q["rows_read"] == n_before + 20 == q["rows_accepted"] + q["rows_quarantined"] + q["rows_blank"]
    assert q["quarantined_malformed_row"] == 0
    assert q["rows_accepted"] == len(res.data) == n_before


def test_blank_rows_whitespace_of_every_kind():
    """A row is blank when every field is empty or strips to nothing, whatever the whitespace."""
    from assessment.intake.harmonise import blank_rows

    texts = ["", " ", "\t", "\u00a0", " \u3000 ", " x", "x ", "\t\ty", None, "  ", None, None]
    other = [None, "  ", None, "\t", None, None, "", None, " ", "b", None, None]
    raw = pd.DataFrame({
        "a": pd.Series(texts, dtype="str"),
        "b": pd.Series(other, dtype=object),
        "x": pd.Series([np.nan] * 9 + [1.5, np.nan, np.nan], dtype="float64"),
        "read_problem": pd.Series([None] * 10 + ["expected 3 fields, got 2: ',,'", "expected 3 fields, got 2: 'q,'"],
                                  dtype="str"),
    })
    # independently: each field stripped in Python (NA counts as empty), every field of the row empty
    def empty(v):
        return v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == ""

    expected = [all(empty(raw[c].iloc[i]) for c in ("a", "b", "x")) for i in range(len(raw))]
    expected[11] = False  # a malformed row with data in it is not blank (row 10 holds delimiters alone)
    assert blank_rows(raw).tolist() == expected
    assert blank_rows(raw).tolist() == [True, True, True, True, True, False, False, False, True, False, True, False]


def test_police_uk_street_honours_a_column_mapping(shared_police_dir, tmp_path):
    """A snake_case export of data.police.uk street files reads through the catalogue's mapping."""
    src = sorted(shared_police_dir.glob("2016-0[1-2]/*-street.csv"))
    raw = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in src], ignore_index=True)
    snake = {c: c.lower().replace(" ", "_") for c in raw.columns}
    (tmp_path / "export").mkdir()
    raw.rename(columns=snake).to_csv(tmp_path / "export" / "street_export.csv", index=False)
    cat_raw = yaml.safe_load(paths.DEMO_CATALOGUE.read_text(encoding="utf-8"))
    street = copy.deepcopy(cat_raw["datasets"]["police_street"])
    street.update(path="export/street_export.csv",
                  columns={k: snake[v] for k, v in street["columns"].items()},
                  coordinates={"x": "longitude", "y": "latitude", "crs": "EPSG:4326"})
    cat_raw.update(data_root=str(tmp_path), series_breaks=[], datasets={"force_extract": street},
                   partnership={**cat_raw["partnership"], "window": {"start": "2016-01", "end": "2016-02"}})
    p = tmp_path / "data_catalogue.yaml"
    p.write_text(yaml.safe_dump(cat_raw, sort_keys=False), encoding="utf-8")
    res = intake_dataset(load_catalogue(p, check_files=False), "force_extract", run_date=RUN_DATE)
    assert res.quality["rows_read"] == len(raw) == res.quality["rows_accepted"] + res.quality["rows_quarantined"]
    got = res.data.groupby("category").size().sort_index()
    want = raw.groupby("Crime type").size().sort_index()
    assert got.to_dict() == want.to_dict()
    assert int(res.data["easting"].isna().sum()) == int((raw["Longitude"] == "").sum())


def test_events_let_the_raw_columns_go_only_after_quarantine_and_completeness(demo_catalogue, monkeypatch):
    """A large file's raw text and its accepted copy are never both whole in memory: the events are
    built after the quarantine extract and the completeness have been taken from the raw frame, and
    the raw frame loses its columns as they are built. The results equal those taken from an
    untouched copy of the raw frame."""
    from assessment.intake import harmonise

    cat = load_catalogue(demo_catalogue)
    key = next(k for k, d in cat.datasets.items() if d.format == "police_uk_street")
    months = cat.partnership.window.months
    window = (months[1], months[-1])  # the first month's rows are quarantined: every column is copied
    seen: dict[str, object] = {}
    real_read, real_harmonise = harmonise.read_dataset, harmonise._harmonise_events

    def read(catalogue, k):
        frame = real_read(catalogue, k)
        seen["frame"], seen["copy"] = frame, frame.copy()
        return frame

    def harmonise_events(*args, before_assembly=None, **kw):
        def before():
            reasons = args[4]
            seen["quarantined_before"] = reasons.quarantined
            before_assembly()
            seen["columns_after_before"] = list(seen["frame"].columns)

        out = real_harmonise(*args, before_assembly=before, **kw)
        seen["columns_left"] = list(seen["frame"].columns)
        seen["quarantined_after"] = args[4].quarantined
        return out

    monkeypatch.setattr(harmonise, "read_dataset", read)
    monkeypatch.setattr(harmonise, "_harmonise_events", harmonise_events)
    res = intake_dataset(cat, key, run_date=RUN_DATE, window=window)
    assert seen["columns_after_before"] and seen["columns_left"] == []  # the raw frame was let go
    assert (seen["quarantined_before"] == seen["quarantined_after"]).all()  # reasons final before
    assert int(seen["quarantined_after"].sum()) == len(res.quarantine) > 0
    monkeypatch.undo()
    again = intake_dataset(cat, key, run_date=RUN_DATE, window=window)
    pd.testing.assert_frame_equal(res.data, again.data)
    pd.testing.assert_frame_equal(res.quarantine, again.quarantine)
    pd.testing.assert_frame_equal(res.completeness, again.completeness)
    # the quarantine holds the raw rows' own text, as read
    raw = seen["copy"].set_index(["source_file", "source_row"])
    q = res.quarantine.set_index(["source_file", "source_row"])
    pd.testing.assert_series_equal(q["Crime ID"], raw.loc[q.index, "Crime ID"])


def test_a_surveys_mapped_sampling_point_reaches_the_survey_frame_as_cluster(demo_root):
    def edit(raw):
        raw["datasets"]["residents_survey"]["columns"]["cluster"] = "ward_code"  # any source column will do
        raw["datasets"]["residents_survey"]["design_effect"] = 1.5

    cat = _catalogue(demo_root, edit)
    res = intake_dataset(cat, "residents_survey", run_date=RUN_DATE)
    raw = pd.read_csv(cat.dataset_files("residents_survey")[0], dtype=str)
    assert res.data["cluster"].tolist() == raw["ward_code"].tolist()
    assert cat.datasets["residents_survey"].design_effect == 1.5


def test_survey_weights_are_numbers_and_bad_ones_are_quarantined_with_their_reason(demo_root):
    src = demo_root / "raw" / "survey" / "residents_survey_2025.csv"
    raw = pd.read_csv(src, dtype=str, keep_default_na=False)
    weights = np.round(np.random.default_rng(3).lognormal(0, 0.5, len(raw)), 4).astype(str)
    weights[[0, 5, 9, 14]] = ["", "0", "-1.2", "heavy"]  # empty, zero, negative, not a number
    folder = demo_root / "raw" / "survey_weighted"
    folder.mkdir(exist_ok=True)
    raw.assign(wt=weights).to_csv(folder / "weighted.csv", index=False)

    def edit(cat):
        cat["datasets"]["residents_survey"]["path"] = "survey_weighted/weighted.csv"
        cat["datasets"]["residents_survey"]["columns"]["weight"] = "wt"

    res = intake_dataset(_catalogue(demo_root, edit), "residents_survey", run_date=RUN_DATE)
    assert len(res.data) + len(res.quarantine) == len(raw)
    bad = res.quarantine[res.quarantine["reason"] == "invalid weight"]
    assert sorted(bad["source_row"].astype(int)) == [1, 6, 10, 15]
    assert bad["detail"].str.startswith("wt must be a positive number, got").all()
    assert res.data["weight"].dtype == np.float64 and (res.data["weight"] > 0).all()
    kept = np.delete(weights, [0, 5, 9, 14]).astype(float)
    np.testing.assert_array_equal(res.data["weight"].to_numpy(), kept)
