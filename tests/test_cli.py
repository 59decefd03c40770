"""Tests for assessment/cli.py: the parser, exit codes and messages of ``assess``."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import yaml

from assessment import __version__
from assessment.cli import _parse_params, build_parser, main


# ---------------------------------------------------------------- parser

@pytest.mark.parametrize("argv,missing", [
    (["run", "audit", "--out", "o"], "--catalogue"),
    (["run", "audit", "--catalogue", "c"], "--out"),
    (["run", "--catalogue", "c", "--out", "o"], "document"),
    (["validate"], "--catalogue"),
    (["coterminosity", "--catalogue", "c", "--to", "wards"], "--from"),
    (["coterminosity", "--catalogue", "c", "--from", "beats"], "--to"),
    (["coterminosity", "--from", "a", "--to", "b"], "--catalogue"),
    (["fetch-police", "--from", "2024-01", "--to", "2024-02", "--dest", "d"], "--force"),
    (["fetch-police", "--force", "x", "--to", "2024-02", "--dest", "d"], "--from"),
    (["fetch-police", "--force", "x", "--from", "2024-01", "--dest", "d"], "--to"),
    (["fetch-police", "--force", "x", "--from", "2024-01", "--to", "2024-02"], "--dest"),
])
def test_required_arguments(argv, missing, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "required" in err and missing in err


def test_parser_accepts_full_command_lines():
    p = build_parser()
    a = p.parse_args(["run", "problem-profile", "--catalogue", "c.yaml", "--out", "o", "--param", "topic=burglary",
                      "--param", "run_date=2026-11-25", "--offline"])
    assert (a.document, a.catalogue, a.out, a.param, a.offline) == (
        "problem-profile", "c.yaml", "o", ["topic=burglary", "run_date=2026-11-25"], True)
    a = p.parse_args(["coterminosity", "--catalogue", "c", "--from", "neighbourhoods", "--to", "wards"])
    assert (a.from_geog, a.to_geog, a.out) == ("neighbourhoods", "wards", None)
    a = p.parse_args(["demo"])
    assert (a.seed, a.online, a.regenerate, a.only) == (2026, False, False, None)
    a = p.parse_args(["generate-demo", "--dest", "d", "--seed", "7"])
    assert (a.dest, a.seed) == ("d", 7)


@pytest.mark.parametrize("argv", [[], ["nonsense"], ["run", "annual-report", "--catalogue", "c", "--out", "o"],
                                  ["demo", "--seed", "abc"], ["validate", "--catalogue", "c", "--bogus"]])
def test_bad_command_line_returns_2(argv, capsys):
    assert main(argv) == 2
    assert "usage: assess" in capsys.readouterr().err


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"assess {__version__}"


# ---------------------------------------------------------------- --param

def test_parse_params_types():
    got = _parse_params(["topic=burglary", "n=3", "alpha=0.05", "flag=true", "run_date=2026-11-25",
                         "wards=[E1, E2]", "expr=a=b", "empty="])
    assert got == {"topic": "burglary", "n": 3, "alpha": 0.05, "flag": True, "run_date": "2026-11-25",
                   "wards": ["E1", "E2"], "expr": "a=b", "empty": ""}
    assert isinstance(got["run_date"], str) and dt.date.fromisoformat(got["run_date"])


@pytest.mark.parametrize("param,fragment", [("topic", "key=value, got 'topic'"),
                                            ("1topic=x", "identifier, got '1topic'"),
                                            ("my-key=x", "identifier, got 'my-key'")])
def test_run_with_bad_param_returns_2(param, fragment, tmp_path, capsys):
    code = main(["run", "audit", "--catalogue", str(tmp_path / "none.yaml"), "--out", str(tmp_path / "o"),
                 "--param", param])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("assess: error: --param") and fragment in err
    assert not (tmp_path / "o").exists()  # nothing ran


# ---------------------------------------------------------------- failures with data

def test_run_on_catalogue_with_missing_file_returns_1(demo_catalogue, tmp_path, capsys):
    raw = yaml.safe_load(demo_catalogue.read_text(encoding="utf-8"))
    raw["data_root"] = str(demo_catalogue.parent / "raw")
    raw["datasets"]["fire_deliberate"]["path"] = "fire/deliberate_fires_MISSING.csv"
    cat = tmp_path / "catalogue.yaml"
    cat.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", "audit", "--catalogue", str(cat), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("assess run:")
    assert "fire_deliberate" in err
    assert str(demo_catalogue.parent / "raw" / "fire" / "deliberate_fires_MISSING.csv") in err
    assert not (out / "audit.html").exists()


def test_coterminosity_on_demo_returns_0_and_prints_the_index(demo_catalogue, tmp_path, capsys):
    code = main(["coterminosity", "--catalogue", str(demo_catalogue), "--from", "neighbourhoods", "--to", "wards",
                 "--out", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "Co-terminosity of" in out and "(neighbourhoods)" in out and "(wards)" in out
    line = next(ln for ln in out.splitlines() if "index (population-weighted" in ln)
    index = float(line.rsplit(":", 1)[1])
    assert 0 <= index <= 1
    assert (tmp_path / "coterminosity_neighbourhoods_to_wards.html").is_file()


def test_coterminosity_unknown_geography_returns_1(demo_catalogue, capsys):
    code = main(["coterminosity", "--catalogue", str(demo_catalogue), "--from", "parishes", "--to", "wards"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("assess coterminosity:") and "'parishes'" in err and "--from" in err


def test_run_refuses_an_unknown_parameter(demo_catalogue, tmp_path, capsys):
    code = main(["run", "problem-profile", "--catalogue", str(demo_catalogue), "--out", str(tmp_path / "o"),
                 "--param", "topc=burglary"])
    assert code == 2
    err = capsys.readouterr().err
    assert "topc" in err and "topic" in err
    assert not (tmp_path / "o").exists()


def test_run_exits_1_naming_a_dataset_it_could_not_use(demo_catalogue, tmp_path, capsys, monkeypatch):
    """Without the pseudonym key the personal dataset is refused: the document is written, the run says so."""
    monkeypatch.delenv("ASSESSMENT_PSEUDONYM_KEY", raising=False)
    out = tmp_path / "dq"
    code = main(["run", "data-quality", "--catalogue", str(demo_catalogue), "--out", str(out),
                 "--param", "run_date=2026-11-25"])
    assert code == 1
    err = capsys.readouterr().err
    assert "violence_nominals" in err and "ASSESSMENT_PSEUDONYM_KEY" in err
    said = re.search(r"the document was written without (\d+) (dataset|datasets);", err)
    assert said and "(s)" not in err
    assert said.group(2) == ("dataset" if said.group(1) == "1" else "datasets")
    assert int(said.group(1)) == err.count("was not used")  # one line named per dataset left out
    assert (out / "data_quality.html").is_file()


def test_workbench_names_the_geographies_documents_need(tmp_path, demo_catalogue):
    import datetime as dt

    import yaml

    from assessment.catalogue import load_catalogue
    from assessment.errors import CatalogueError
    from assessment.reporting.workbench import build_workbench

    raw = yaml.safe_load(demo_catalogue.read_text())
    raw["data_root"] = str(demo_catalogue.parent / raw["data_root"])
    # wards are the one geography every document needs (the others are optional); the error names it
    del raw["geographies"]["wards"]
    for ds in raw["datasets"].values():
        if ds.get("geography") == "wards":
            ds["geography"] = "small_areas"
    raw["services"] = [{k: v for k, v in s.items() if k != "wards"} for s in raw.get("services", [])]
    path = tmp_path / "cat.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(CatalogueError, match="`wards` geography"):
        build_workbench(load_catalogue(path), None, dt.date(2026, 11, 25))


@pytest.mark.parametrize("command", ["validate", "coterminosity", "run"])
def test_any_command_on_an_output_folder_recovers_an_interrupted_publication_first(command, tmp_path, capsys):
    """A run killed mid-swap left a journal; the next command touching the folder puts the old edition back,
    and sweeps dead staging, before it does anything else (here it then fails on a missing catalogue)."""
    import json

    from assessment.reporting import publish

    out = tmp_path / "out"
    staging = publish.staging_folder(out, "audit", "dead0001")
    txn = out / publish.TRANSACTION_DIR
    (txn / "backup").mkdir(parents=True)
    (txn / "backup" / "audit.html").write_text("previous edition", encoding="utf-8")
    (out / "audit.html").write_text("half of the new edition", encoding="utf-8")  # moved in, then killed
    staging.mkdir()
    (staging / "notebooks").mkdir()
    (staging / "notebooks" / "audit.ipynb").write_text("{}", encoding="utf-8")  # not yet moved in
    (txn / publish.JOURNAL).write_text(json.dumps(
        {"version": 1, "document": "audit", "staging": str(staging), "committed": False,
         "new": ["audit.html", "notebooks/audit.ipynb"], "old": ["audit.html"]}), encoding="utf-8")
    orphan = publish.staging_folder(out, "evaluation", "dead0002")
    orphan.mkdir()
    missing = str(tmp_path / "no_such_catalogue.yaml")
    argv = {"validate": ["validate", "--catalogue", missing, "--out", str(out)],
            "coterminosity": ["coterminosity", "--catalogue", missing, "--from", "ward", "--to", "lsoa",
                              "--out", str(out)],
            "run": ["run", "audit", "--catalogue", missing, "--out", str(out)]}[command]
    assert main(argv) == 1
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == ["audit.html"]
    assert (out / "audit.html").read_text(encoding="utf-8") == "previous edition"
    assert not staging.exists() and not orphan.exists()
    assert "previous version was put back" in capsys.readouterr().out
