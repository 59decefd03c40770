"""Tests for assessment/errors.py: the package's own exception types.

Domain failures (the partnership's data or configuration) must be told apart from bad
arguments (ValueError / TypeError), and the CLI must report each with its message and exit 1.
"""

from __future__ import annotations

import inspect

import pytest
import yaml

from assessment import cli, errors
from assessment.catalogue import load_catalogue
from assessment.errors import AssessmentError, CatalogueError

DOMAIN = [obj for _, obj in inspect.getmembers(errors, inspect.isclass)
          if issubclass(obj, Exception) and obj.__module__ == errors.__name__ and obj is not AssessmentError]


def test_every_domain_failure_is_an_assessment_error_and_not_a_bad_argument():
    assert {c.__name__ for c in DOMAIN} >= {"CatalogueError", "IntakeError", "SharingRefused", "GeographyError",
                                            "DisclosureError", "DocumentError"}
    for cls in DOMAIN:
        assert issubclass(cls, AssessmentError)
        assert not issubclass(cls, (ValueError, TypeError, KeyError)), cls.__name__
        assert cls.__doc__ and cls.__doc__.strip(), f"{cls.__name__} has no docstring"


@pytest.mark.parametrize("cls", DOMAIN, ids=lambda c: c.__name__)
def test_cli_reports_a_domain_failure_with_its_message_and_exits_1(cls, monkeypatch, capsys):
    def fail(args):
        raise cls("`month` must be YYYY-MM, got '13/2024' in police_crime row 18")

    monkeypatch.setattr(cli, "_cmd_validate", fail)
    assert cli.main(["validate", "--catalogue", "any.yaml"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "assess validate: `month` must be YYYY-MM, got '13/2024' in police_crime row 18"


def test_a_malformed_catalogue_raises_the_catalogue_error_with_the_place(demo_catalogue, tmp_path):
    raw = yaml.safe_load(demo_catalogue.read_text(encoding="utf-8"))
    first = next(iter(raw["datasets"]))
    del raw["datasets"][first]["refresh"]
    path = tmp_path / "data_catalogue.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    with pytest.raises(CatalogueError, match=rf"datasets\.{first}\.refresh: is required but missing"):
        load_catalogue(path)
    with pytest.raises(AssessmentError):
        load_catalogue(path)
