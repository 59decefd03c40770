"""Tests for assessment/reporting/_moved.py: the documents' old module paths forward to the new
modules (the very objects, with a DeprecationWarning naming the new path) and hold no code."""

from __future__ import annotations

import importlib
import sys
import warnings
from pathlib import Path

import pytest

import assessment.reporting as reporting
from assessment.reporting._moved import install_forwarding
from assessment.reporting.kinds import DOCUMENT_MODULES


def test_every_old_path_forwards_to_a_document_module():
    assert set(reporting.MOVED.values()) == set(DOCUMENT_MODULES.values())
    for old, new in reporting.MOVED.items():
        assert not (Path(reporting.__file__).parent / f"{old}.py").exists(), f"{old}: a file stands at the old path"
        target = importlib.import_module(new)
        with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
            got = getattr(importlib.import_module(f"assessment.reporting.{old}"), "open_document")
        assert got is target.open_document


def test_from_import_of_an_old_path_gives_the_same_function():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        from assessment.reporting import strategic  # the module itself: no warning yet
        with pytest.raises(DeprecationWarning, match="assessment.documents.strategic_assessment"):
            strategic.section_summary
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from assessment.documents import strategic_assessment
        from assessment.reporting.strategic import section_summary
    assert section_summary is strategic_assessment.section_summary


def test_unknown_names_and_probes_fail_as_attribute_errors():
    from assessment.reporting import profile

    with pytest.raises(AttributeError):
        profile.__wrapped__
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(AttributeError):
            profile.no_such_function
        assert "topic_spec" in dir(profile)


def test_install_forwarding_on_a_package_of_its_own():
    import json

    sys.modules["fakepkg"] = type(sys)("fakepkg")
    try:
        install_forwarding("fakepkg", {"old_json": "json"})
        assert sys.modules["fakepkg.old_json"] is sys.modules["fakepkg"].old_json
        with pytest.warns(DeprecationWarning, match="fakepkg.old_json has moved to json"):
            assert sys.modules["fakepkg"].old_json.dumps is json.dumps
    finally:
        sys.modules.pop("fakepkg.old_json", None)
        sys.modules.pop("fakepkg", None)
