"""Sharing register, refusals and keyed pseudonyms (checked against hmac directly)."""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd
import pytest

from assessment.catalogue import load_catalogue
from assessment.errors import SharingRefused
from assessment.intake.sharing import (
    check_permitted_use,
    check_sharing,
    pseudonym_key,
    pseudonymise,
    sharing_register,
)

KEY = b"0123456789abcdef-test-key"


@pytest.fixture()
def cat(catalogue_path):
    return load_catalogue(catalogue_path, check_files=False)


def test_register_lists_every_dataset(cat):
    reg = sharing_register(cat, run_date="2026-01-15")
    assert list(reg["dataset"]) == list(cat.datasets)
    assert (reg["status"] == "usable").all()
    assert reg.set_index("dataset").loc["violence_nominals", "identifiers"] == "pnc_id; date_of_birth"


def test_expired_agreement_refused(cat):
    ds = cat.dataset("fire_deliberate")
    with pytest.raises(SharingRefused, match="fire_deliberate.*expired on 2028-03-31"):
        check_sharing(ds, "2028-04-01", "fire_deliberate")
    check_sharing(ds, "2028-03-31", "fire_deliberate")
    reg = sharing_register(cat, run_date="2028-04-01").set_index("dataset")
    assert reg.loc["fire_deliberate", "status"] == "refused"


def test_no_basis_and_personal_without_agreement_refused(cat):
    ds = cat.dataset("violence_nominals").model_copy(deep=True)
    ds.sharing.agreement = None
    with pytest.raises(SharingRefused, match="personal data.*no information-sharing agreement"):
        check_sharing(ds, "2026-01-15", "violence_nominals")
    ds2 = cat.dataset("peer_group").model_copy(deep=True)
    ds2.sharing.basis = "  "
    with pytest.raises(SharingRefused, match="no legal basis"):
        check_sharing(ds2, "2026-01-15", "peer_group")


def test_permitted_use(cat):
    check_permitted_use(cat.dataset("violence_nominals"), "Evaluation", "violence_nominals")
    with pytest.raises(SharingRefused, match="may not be used for 'strategic assessment'"):
        check_permitted_use(cat.dataset("violence_nominals"), "strategic assessment", "violence_nominals")


def test_key_from_environment(cat, monkeypatch):
    monkeypatch.delenv("ASSESSMENT_PSEUDONYM_KEY", raising=False)
    with pytest.raises(SharingRefused, match="ASSESSMENT_PSEUDONYM_KEY is not set"):
        pseudonym_key(cat)
    monkeypatch.setenv("ASSESSMENT_PSEUDONYM_KEY", "short")
    with pytest.raises(SharingRefused, match="at least 16"):
        pseudonym_key(cat)
    monkeypatch.setenv("ASSESSMENT_PSEUDONYM_KEY", KEY.decode())
    assert pseudonym_key(cat) == KEY


def test_pseudonyms_are_keyed_hmac_sha256():
    raw = pd.Series(["12/345678A", "98/7654321Z", None, "12/345678A"])
    got = pseudonymise(raw, KEY)
    expected = hmac.new(KEY, b"12/345678A", hashlib.sha256).hexdigest()
    assert got.iloc[0] == expected == got.iloc[3]
    assert pd.isna(got.iloc[2]) and got.iloc[1] != got.iloc[0]
    assert pseudonymise(raw, KEY + b"x").iloc[0] != expected


def test_pseudonyms_ignore_surrounding_spaces_and_keep_case():
    """The whitespace rule: ' A1', 'A1 ', '\\tA1\\n' and 'A1' are one person; 'a1' is another."""
    raw = pd.Series([" A1", "A1 ", "\tA1\n", "A1", "a1", "A 1"])
    got = pseudonymise(raw, KEY)
    expected = hmac.new(KEY, b"A1", hashlib.sha256).hexdigest()
    assert got.iloc[:4].tolist() == [expected] * 4
    assert got.iloc[4] == hmac.new(KEY, b"a1", hashlib.sha256).hexdigest() != expected
    assert got.iloc[5] == hmac.new(KEY, b"A 1", hashlib.sha256).hexdigest()  # inner spaces are kept
