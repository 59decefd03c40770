"""The catalogue's harm weights: a published index named with source, year and mapping, or none at all."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from assessment.analysis.harm import harm_by_category, harm_load_index
from assessment.catalogue import Catalogue


def _raw(catalogue_path):
    return yaml.safe_load(catalogue_path.read_text(encoding="utf-8"))


def test_demo_catalogue_ships_no_default_weights(catalogue_path):
    assert "harm_weights" not in _raw(catalogue_path)


@pytest.mark.parametrize("missing", ["index", "source", "year", "mapping"])
def test_setting_must_state_index_source_year_and_mapping(catalogue_path, missing):
    raw = _raw(catalogue_path)
    raw["harm_weights"] = {"file": "w.csv", "index": "Some index", "source": "Publisher, table 1",
                           "year": "2024", "mapping": "one weight per crime type"}
    raw["harm_weights"][missing] = " "
    with pytest.raises(Exception, match=f"harm_weights.{missing}"):
        Catalogue.model_validate(raw)


def test_index_weights_multiply_counts(tmp_path):
    path = tmp_path / "w.csv"
    pd.DataFrame({"crime_type": ["Burglary", "Drugs"], "weight": [2.5, 1.0]}).to_csv(path, index=False)
    events = pd.DataFrame({"category": ["Burglary"] * 4 + ["Drugs"] * 3 + ["Robbery"]})
    with pytest.warns(UserWarning, match="Robbery"):
        got = harm_by_category(events, weights=harm_load_index(path), scheme="weight").set_index("category")
    assert got.loc["Burglary", "harm"] == 10.0 and got.loc["Drugs", "harm"] == 3.0
    assert pd.isna(got.loc["Robbery", "harm"])


def test_index_file_is_checked(tmp_path):
    path = tmp_path / "w.csv"
    pd.DataFrame({"crime_type": ["Burglary", "Burglary"], "weight": [1, 2]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="unique"):
        harm_load_index(path)
    pd.DataFrame({"crime_type": ["Burglary"], "weight": [-1]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="0 or more"):
        harm_load_index(path)
    with pytest.raises(ValueError, match="no such file"):
        harm_load_index(tmp_path / "absent.csv")
    with pytest.raises(ValueError, match="scheme 'weight'"):
        harm_by_category(pd.DataFrame({"category": ["Burglary"]}), scheme="weight")


def test_priorities_without_an_index_do_not_rest_on_harm(demo_document):
    from assessment.documents import strategic_assessment as strategic
    from assessment.reporting import evidence

    doc = demo_document("strategic_assessment")
    assert doc.catalogue.harm_weights is None
    m = evidence.evidence_priorities(doc)
    assert m["harm"].isna().all() and m["score_harm"].isna().all()
    assert not m["explanation"].str.contains("harm").any()
    assert m["explanation"].str.contains("share at repeat locations").all()
    assert not m["explanation"].str.contains("victimisation").any()
    html = strategic.section_priorities(doc)._repr_html_()
    assert "not weighted by harm" in html and "llustrative" not in html
