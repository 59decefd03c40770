"""The documents' error-rate table: the shipped calibration table, the claims found in text, the appendix."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from assessment.calibration import COLUMNS, MODULES
from assessment.paths import DOCS_DIR
from assessment.reporting.errorrates import (
    CLAIMS,
    PUBLISHED_COLUMNS,
    Claim,
    _plain,
    error_rates_published,
    error_rates_shown,
)


def _validation_rows() -> pd.DataFrame:
    """The rows of every table in docs/VALIDATION.md, as written there."""
    rows, module = [], None
    for line in (DOCS_DIR / "VALIDATION.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            module = line[3:].strip()
        elif line.startswith("| ") and not line.startswith("| statement |"):
            cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows.append({"module": module, "statement": cells[0], "scenario": cells[1], "runs": int(cells[2]),
                         "rate": cells[3]})
    return pd.DataFrame(rows)


def test_the_shipped_table_is_the_one_in_validation_md():
    shipped = error_rates_published()
    assert list(shipped.columns) == list(PUBLISHED_COLUMNS)
    assert set(COLUMNS) <= set(shipped.columns)
    assert set(shipped["module"]) == set(MODULES)
    assert shipped["rate"].between(0, 1).all() and (shipped["runs"] >= 1).all()
    md = _validation_rows()
    assert len(md) == len(shipped)
    got = shipped.assign(rate=shipped["rate"].map(lambda x: f"{100 * x:.1f}%"))
    pd.testing.assert_frame_equal(got[["module", "statement", "scenario", "runs", "rate"]].reset_index(drop=True),
                                  md[["module", "statement", "scenario", "runs", "rate"]], check_dtype=False)


def test_every_measured_claim_finds_its_rows():
    shipped = error_rates_published()
    for claim in CLAIMS:
        if claim.module is None:
            continue
        mine = shipped[(shipped["module"] == claim.module) & shipped["statement"].map(lambda s: s.startswith(claim.statements))]
        assert len(mine), f"claim {claim.name!r}: no row of module {claim.module!r} starts with {claim.statements}"
        for prefix in claim.statements:  # each prefix names at least one row (a renamed label is caught here)
            assert shipped["statement"].str.startswith(prefix).any(), prefix


def _table() -> pd.DataFrame:
    return pd.DataFrame([
        ("m", 'trend "rising"', "null A", 200, 0.05, 0.07, True, "at most", 1, "2026-12-07"),
        ("m", 'trend "rising"', "null B", 200, 0.13, float("nan"), pd.NA, "at most", 1, "2026-12-07"),
        ("m", 'power: trend "rising"', "10% a year", 200, 0.9, 0.6, True, "at least", 1, "2026-12-07"),
        ("m", "other", "null A", 100, 0.5, float("nan"), pd.NA, "at most", 1, "2026-12-07"),
    ], columns=list(PUBLISHED_COLUMNS))


def test_claims_are_found_in_text_and_matched_to_their_rows():
    claims = (Claim("trend", r"% a year \(95% CI", "m", ('trend "rising"', 'power: trend "rising"')),
              Claim("ward", r"significantly higher"),
              Claim("absent", r"never written", "m", ("other",)))
    text = "Violence: falling by about 14% a year (95% CI 9% to 18%). 2 wards are significantly higher."
    got = error_rates_shown(text, _table(), claims)
    assert got["claim"].tolist() == ["trend", "trend", "trend", "ward"]
    assert got["rate"].iloc[:3].tolist() == [0.05, 0.13, 0.9]  # the table's own numbers, in its order
    assert got["measured"].tolist() == [True, True, True, False]
    assert got.loc[got["claim"] == "ward", "rate"].isna().all()
    assert error_rates_shown("Nothing statistical here.", _table(), claims).empty
    # rows of methods the documents no longer print are left out
    old = _table().assign(statement=lambda t: t["statement"] + " (before)")
    assert not error_rates_shown(text, old, claims)["measured"].any()
    # a claim whose module has no such row is listed as not measured, not dropped
    gone = error_rates_shown("% a year (95% CI", _table().iloc[3:], claims)
    assert gone["measured"].tolist() == [False]


def test_bad_input_is_refused():
    with pytest.raises(TypeError, match="text"):
        error_rates_shown(None, _table())
    bad = _table()
    bad.loc[1, "rate"] = 1.3
    with pytest.raises(Exception, match="rate"):
        error_rates_shown("x", bad)
    with pytest.raises(ValueError):
        error_rates_shown("x", _table().drop(columns=["scenario"]))


@pytest.mark.parametrize("sentence, name", [
    ("Burglary: falling by about 14% a year (95% CI 9% to 18%), statistically significant",
     "Trend: rising or falling, statistically significant"),
    ("Shoplifting: 699 in the 12 months to December 2025 against 818 a year earlier: down 15%",
     "Change on the year before: statistically significant"),
    ("Violence shows a clear seasonal pattern (p < 0.001)", "A clear seasonal pattern"),
    ("Over 2023-01 to 2025-12, once the time of year is allowed for, these crime types are rising: Drugs",
     "Key findings: crime types rising or falling"),
    ("No crime type shows a clear rise over 2023-01 to 2025-12", "Key findings: crime types rising or falling"),
    ("no month was outside the 99.8% control limits", "Exceptional month (outside the control limits)"),
    ("There are statistically significant hotspots: 439 hot cells (Getis-Ord Gi*, FDR)", "Hotspot cells (Getis-Ord Gi*)"),
    ("4 wards are significantly higher (95% confidence interval above the partnership rate)",
     "Ward rate significantly higher than the partnership's (95% confidence interval)"),
    ("Wards where significantly fewer residents feel safe after dark", "Survey: significantly more or fewer residents"),
])
def test_each_claim_pattern_finds_the_documents_wording(sentence, name):
    found = [c.name for c in CLAIMS if re.search(c.pattern, sentence)]
    assert name in found


def test_each_rendered_document_shows_the_rates_of_the_statements_it_made(demo_outputs):
    shipped = error_rates_published()
    seen = 0
    for stem, run in demo_outputs.runs.items():
        tables = sorted((demo_outputs.out / "tables").glob(f"{stem}-*.csv"))
        mine = [t for t in tables if "how-often" in t.name]
        if not mine:
            assert "makes no statement of statistical significance" in run.html.read_text(encoding="utf-8"), stem
            continue
        seen += 1
        table = pd.read_csv(mine[0])
        measured = table[table["simulated runs"].notna()]
        for r in measured.to_dict("records"):
            row = shipped[(shipped["statement"].map(_plain) == r["test as simulated"])
                          & (shipped["scenario"] == r["simulated data"])]
            assert len(row) == 1, r
            assert r["runs in which it was said"] == f"{100 * row['rate'].iloc[0]:.1f}%"
    assert seen >= 3
