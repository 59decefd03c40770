"""Catalogue loading and validation: every error names the key path and the value."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from assessment.catalogue import load_catalogue
from assessment.errors import CatalogueError


def _write(tmp_path: Path, raw: dict) -> Path:
    p = tmp_path / "data_catalogue.yaml"
    p.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return p


@pytest.fixture()
def raw(catalogue_path: Path) -> dict:
    return yaml.safe_load(catalogue_path.read_text(encoding="utf-8"))


def test_demo_catalogue_validates(catalogue_path):
    cat = load_catalogue(catalogue_path, check_files=False)
    assert cat.partnership.short_name == "Riverton"
    assert len(cat.partnership.window.months) == 36
    assert cat.partnership.suppression_threshold == 5
    assert {"police_street", "fire_deliberate", "ed_assaults", "violence_nominals"} <= set(cat.datasets)
    assert [b.month for b in cat.breaks_for("police_street", "Public order")] == ["2024-04"]
    assert len(cat.breaks_for("police_street")) == 2
    # every dataset carries sensitivity and a sharing basis
    for key, ds in cat.datasets.items():
        assert ds.sensitivity in {"public", "official", "sensitive", "personal"}, key
        assert ds.sharing.basis, key


def test_wrong_path_names_key_and_path(tmp_path, raw):
    (tmp_path / "data" / "raw").mkdir(parents=True)
    raw["datasets"] = {"fire_deliberate": raw["datasets"]["fire_deliberate"]}
    raw["datasets"]["fire_deliberate"]["path"] = "fire/no_such_file.csv"
    raw["geographies"] = {}
    raw["series_breaks"] = []
    raw.pop("horizon_scan")
    with pytest.raises(CatalogueError) as info:
        load_catalogue(_write(tmp_path, raw))
    msg = str(info.value)
    assert "datasets.fire_deliberate.path" in msg
    assert "no_such_file.csv" in msg


def test_missing_column_mapping_names_key(tmp_path, raw):
    del raw["datasets"]["fire_deliberate"]["columns"]["date"]
    with pytest.raises(CatalogueError) as info:
        load_catalogue(_write(tmp_path, raw), check_files=False)
    msg = str(info.value)
    assert "datasets.fire_deliberate" in msg
    assert "'date'" in msg


def test_unknown_crs_names_key_and_value(tmp_path, raw):
    raw["geographies"]["wards"]["crs"] = "EPSG:999999"
    with pytest.raises(CatalogueError) as info:
        load_catalogue(_write(tmp_path, raw), check_files=False)
    msg = str(info.value)
    assert "geographies.wards.crs" in msg
    assert "EPSG:999999" in msg


def test_unknown_category_map_and_theme(tmp_path, raw):
    raw["datasets"]["fire_deliberate"]["category_map"] = "nope"
    with pytest.raises(CatalogueError, match=r"datasets.fire_deliberate.category_map.*'nope'"):
        load_catalogue(_write(tmp_path, raw), check_files=False)


def test_misspelt_key_is_reported(tmp_path, raw):
    raw["datasets"]["fire_deliberate"]["sensitivty"] = "official"
    with pytest.raises(CatalogueError, match=r"datasets.fire_deliberate.sensitivty"):
        load_catalogue(_write(tmp_path, raw), check_files=False)


def test_bad_month_and_threshold(tmp_path, raw):
    raw["partnership"]["window"]["start"] = "13/2024"
    raw["partnership"]["suppression_threshold"] = 0
    with pytest.raises(CatalogueError) as info:
        load_catalogue(_write(tmp_path, raw), check_files=False)
    msg = str(info.value)
    assert "partnership.window.start" in msg and "13/2024" in msg
    assert "partnership.suppression_threshold" in msg


def test_missing_file_is_named(tmp_path):
    with pytest.raises(CatalogueError, match="does not exist"):
        load_catalogue(tmp_path / "absent.yaml")


def test_police_uk_datasets_get_the_standard_mapping_when_none_is_given(tmp_path, raw):
    ds = raw["datasets"]["police_street"]
    for key in ("columns", "coordinates", "date_format"):
        ds.pop(key)
    cat = load_catalogue(_write(tmp_path, raw), check_files=False)
    got = cat.datasets["police_street"]
    assert got.columns["date"] == "Month" and got.columns["category"] == "Crime type"
    assert got.coordinates.x == "Longitude" and got.coordinates.crs == "EPSG:4326"
    assert got.date_format == "%Y-%m"


def test_roles_default_by_format_and_kind_and_follow_any_key(tmp_path, raw):
    """Documents find datasets by role: police formats and kinds give defaults, keys are free."""
    raw["datasets"]["crime_2025"] = raw["datasets"].pop("police_street")
    raw["datasets"]["my_outcomes"] = raw["datasets"].pop("police_outcomes")
    for brk in raw["series_breaks"]:
        brk["dataset"] = "crime_2025"
    cat = load_catalogue(_write(tmp_path, raw), check_files=False)
    assert cat.datasets_with_role("recorded_crime") == ["crime_2025"]
    assert cat.dataset_with_role("crime_outcomes") == "my_outcomes"
    assert cat.datasets_with_role("survey") == ["residents_survey"]      # kind survey
    assert cat.datasets_with_role("nominals") == ["violence_nominals"]   # kind persons
    assert cat.datasets_with_role("fire_incidents") == ["fire_deliberate"]  # stated in the catalogue
    assert cat.datasets_with_role("stop_search") == [] and cat.dataset_with_role("stop_search") is None
    with pytest.raises(ValueError, match="`role` must be one of"):
        cat.datasets_with_role("police")


def test_unknown_role_is_refused_naming_the_roles(tmp_path, raw):
    raw["datasets"]["fire_deliberate"]["role"] = "fires"
    with pytest.raises(CatalogueError, match=r"datasets\.fire_deliberate\.role.*recorded_crime.*'fires'"):
        load_catalogue(_write(tmp_path, raw), check_files=False)


def test_safe_load_yaml_matches_the_pure_python_loader():
    """libyaml's parser (when PyYAML has it) gives the same catalogue, and an error reads the same."""
    import datetime as dt

    from assessment import paths
    from assessment.catalogue import safe_load_yaml

    text = paths.DEMO_CATALOGUE.read_text(encoding="utf-8")
    assert safe_load_yaml(text) == yaml.safe_load(text)
    assert safe_load_yaml("a: 2024-01-31\nb: [1, 2.5, yes, null]\n") == {
        "a": dt.date(2024, 1, 31), "b": [1, 2.5, True, None]}
    broken = "partnership:\n  name: x\n   code: [unclosed\n"
    with pytest.raises(yaml.YAMLError) as pure:
        yaml.safe_load(broken)
    with pytest.raises(yaml.YAMLError) as ours:
        safe_load_yaml(broken)
    assert str(ours.value) == str(pure.value) and "line 3" in str(ours.value)


@pytest.mark.parametrize("value, expected", [(0.5, "got 0.5"), ("two", "got str 'two'"), (True, "got bool True"),
                                             (float("inf"), "got inf")])
def test_a_survey_design_effect_below_1_or_not_a_number_is_refused_naming_the_dataset(tmp_path, raw, value, expected):
    raw["datasets"]["residents_survey"]["design_effect"] = value
    with pytest.raises(CatalogueError) as info:
        load_catalogue(_write(tmp_path, raw), check_files=False)
    msg = str(info.value)
    assert "datasets.residents_survey.design_effect" in msg
    assert "must be a number of 1 or more" in msg and expected in msg


def test_a_survey_design_effect_is_kept_and_only_surveys_may_declare_one(tmp_path, raw):
    raw["datasets"]["residents_survey"]["design_effect"] = 1.8
    raw["datasets"]["residents_survey"]["columns"]["cluster"] = "sampling_point"
    cat = load_catalogue(_write(tmp_path, raw), check_files=False)
    assert cat.datasets["residents_survey"].design_effect == 1.8
    assert cat.datasets["residents_survey"].columns["cluster"] == "sampling_point"
    assert cat.datasets["fire_deliberate"].design_effect is None
    raw["datasets"]["fire_deliberate"]["design_effect"] = 2
    with pytest.raises(CatalogueError, match=r"datasets\.fire_deliberate: .*design_effect is a setting of survey "
                                             r"datasets .*got it on a dataset of kind events"):
        load_catalogue(_write(tmp_path, raw), check_files=False)


def test_survey_weights_must_be_mapped_in_every_survey_or_none(tmp_path, raw):
    import copy

    raw["datasets"]["residents_survey_2024"] = copy.deepcopy(raw["datasets"]["residents_survey"])
    raw["datasets"]["residents_survey"]["columns"]["weight"] = "wt"
    with pytest.raises(CatalogueError, match=r"columns\.weight must be mapped in every survey dataset when one maps "
                                             r"it .*got it in \['residents_survey'\] but not in "
                                             r"\['residents_survey_2024'\]"):
        load_catalogue(_write(tmp_path, raw), check_files=False)
    raw["datasets"]["residents_survey_2024"]["columns"]["weight"] = "wt"
    cat = load_catalogue(_write(tmp_path, raw), check_files=False)
    assert cat.datasets["residents_survey_2024"].columns["weight"] == "wt"
