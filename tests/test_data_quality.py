"""The data-quality document: sections, coverage gaps, sharing register, no raw identifiers."""

from __future__ import annotations

import datetime as dt
import re
import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml

from assessment.documents import data_quality as qr
from assessment.intake.quality import REASONS
from assessment.reporting.display import Section, escape

SECTIONS = ["section_summary", "section_datasets", "section_quarantine", "section_coverage", "section_duplicates",
            "section_geography", "section_sharing_register", "section_caveats", "section_appendix"]


@pytest.fixture(scope="module")
def rendered(demo_document):
    """The document opened on the demo and every section rendered once, in notebook order."""
    doc = demo_document("data_quality")
    html = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in SECTIONS:
            sec = getattr(qr, name)(doc)
            assert isinstance(sec, Section), name
            html[name] = sec._repr_html_()
    return doc, html


def _table(doc, caption_start: str) -> pd.DataFrame:
    found = [frame for _, caption, frame in doc.tables if caption.startswith(caption_start)]
    assert found, f"no table captioned {caption_start!r}; have {[c for _, c, _ in doc.tables]}"
    return found[0]


def _title(doc, key: str) -> str:
    return doc.catalogue.datasets[key].title


def _raw_dir(demo_catalogue: Path) -> Path:
    return demo_catalogue.parent / yaml.safe_load(demo_catalogue.read_text(encoding="utf-8"))["data_root"]


def test_notebook_sections_exist():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_notebooks", Path(qr.__file__).parents[2] / "tools" / "make_notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    names = mod.DOCUMENTS["data_quality"]["sections"]
    assert names == SECTIONS
    assert mod.DOCUMENTS["data_quality"]["module"] == "data_quality"
    assert qr.open_document is not None
    for name in names:
        assert callable(getattr(qr, name))


def test_every_dataset_read_through_the_catalogue_and_in_the_summary(rendered, demo_catalogue):
    doc, html = rendered
    raw = yaml.safe_load(demo_catalogue.read_text(encoding="utf-8"))
    summary = _table(doc, "Every catalogue dataset")
    assert list(summary["dataset"]) == [d["title"] for d in raw["datasets"].values()]
    assert (summary["status"] == "ok").all()
    # rows read balance, and police rows read equal a plain count of the street CSV lines
    shown = summary[~summary[["rows read", "rows accepted", "rows quarantined"]].isin(["[c]"]).any(axis=1)]
    # the demo's personal data have a few suppressed counts; public rows are not used to hide them
    public = [d["title"] for d in raw["datasets"].values() if d["sensitivity"] == "public"]
    assert set(public) <= set(shown["dataset"])
    assert (shown["rows read"].astype(int) == shown["rows accepted"].astype(int)
            + shown["rows quarantined"].astype(int)).all()
    street = sorted(_raw_dir(demo_catalogue).glob("police/*/*-street.csv"))
    plain = sum(len(pd.read_csv(f, dtype=str)) for f in street)
    police = raw["datasets"]["police_street"]["title"]
    assert int(summary.loc[summary["dataset"] == police, "rows read"].iloc[0]) == plain
    for d in raw["datasets"].values():
        assert escape(d["title"]) in html["section_summary"]


def test_coverage_table_has_every_window_month_for_police(rendered):
    doc, html = rendered
    cov = _table(doc, "Accepted rows per dataset and month")
    # the full month table is in the appendix only; the body has a compact summary
    assert "Accepted rows per dataset and month" not in html["section_coverage"]
    assert "Accepted rows per dataset and month" in html["section_appendix"]
    window = doc.catalogue.partnership.window.months
    months = [m for m in cov["month"].astype(str) if m != "Total"]
    assert months == window
    # independent count from the harmonised events (every accepted row, inside the partnership or not)
    ev = doc.workbench.intake.events
    police = ev[ev["dataset"] == "police_street"].groupby("month").size().reindex(window, fill_value=0)
    shown = cov.set_index("month").loc[window, _title(doc, "police_street")].astype(int)
    assert shown.tolist() == police.tolist()
    assert (cov["gaps"].fillna("") == "").all()  # the demo has no gap
    summ = _table(doc, "Coverage per dataset").set_index("dataset")
    row = summ.loc[_title(doc, "police_street")]
    assert row["months with rows"] == f"{len(window)} of {len(window)}" and row["gaps"] == "none"
    assert (int(row["fewest rows in a month"]), int(row["most rows in a month"])) == (police.min(), police.max())
    assert len(summ.columns) <= 6


def test_a_removed_month_shows_as_a_gap(demo_document):
    doc = demo_document("data_quality")
    wb = doc.workbench  # this document's own copy (loaded from the session cache)
    cov = wb.intake.coverage
    wb.intake.coverage = cov[~((cov["dataset"] == "police_street") & (cov["month"] == "2024-03"))].reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        html = qr.section_coverage(doc)._repr_html_()
        qr.section_appendix(doc)
    police = _title(doc, "police_street")
    table = _table(doc, "Accepted rows per dataset and month")
    row = table[table["month"] == "2024-03"].iloc[0]
    assert str(row[police]) == "0"
    assert row["gaps"] == f"gap: {police}"
    gaps = _table(doc, "Months (or quarters) with no accepted rows")
    assert gaps[["dataset", "period", "flag"]].values.tolist() == [[police, "2024-03", "gap"]]
    assert escape(f"{police} 2024-03") in html
    summ = _table(doc, "Coverage per dataset").set_index("dataset")
    assert summ.loc[police, "gaps"] == "2024-03" and summ.loc[police, "months with rows"].startswith("35 of")
    assert int(summ.loc[police, "fewest rows in a month"]) == 0


def test_quality_coverage_table_on_a_tiny_frame():
    cov = pd.DataFrame({"dataset": ["a", "a", "a", "q"], "month": ["2024-01", "2024-03", "2024-04", "2024-01"],
                        "rows": [5, 7, 0, 20]})
    months = ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]
    wide, gaps = qr.quality_coverage_table(cov, months, quarterly=("q",))
    assert list(wide["month"]) == months
    assert list(wide["a"]) == [5, 0, 7, 0, 0, 0]
    assert "q" not in wide.columns  # quarterly data judged by quarter
    assert set(map(tuple, gaps.loc[gaps["dataset"] == "a", ["period", "flag"]].values)) == {
        ("2024-02", "gap"), ("2024-04", "gap"), ("2024-05", "gap"), ("2024-06", "gap")}
    assert gaps.loc[gaps["dataset"] == "q", "period"].tolist() == ["2024Q2"]
    with pytest.raises(ValueError, match="months"):
        qr.quality_coverage_table(cov, [])


def test_sharing_register_shows_every_dataset_and_flags_expiry(rendered, demo_catalogue):
    doc, html = rendered
    raw = yaml.safe_load(demo_catalogue.read_text(encoding="utf-8"))
    reg = _table(doc, "Information-sharing register")
    assert sorted(reg["dataset"]) == sorted(d["title"] for d in raw["datasets"].values())
    for col in ("agency", "legal basis", "agreement", "expires", "sensitivity", "permitted uses", "status"):
        assert col in reg.columns
    run = doc.run_date
    soon = pd.Timestamp(run) + pd.DateOffset(months=6)
    expected = {d["title"] for k, d in raw["datasets"].items()
                if d["sharing"].get("expires") and pd.Timestamp(d["sharing"]["expires"]) <= soon}
    flagged = set(reg.loc[reg["expiry"].isin(["expired", "expires within 6 months"]), "dataset"])
    assert flagged == expected and expected  # the demo has agreements expiring within 6 months of 2026-11-25
    for title in expected:
        assert escape(title) in html["section_sharing_register"]


def test_sharing_flags_boundaries():
    reg = pd.DataFrame({"expires": ["2026-01-01", "2026-06-02", "2026-06-03", "None", "2027-01-01"]})
    flags = qr.quality_sharing_flags(reg, dt.date(2026, 1, 2), months=5)
    assert flags.tolist() == ["expired", "expires within 5 months", "", "no expiry date", ""]


def test_no_raw_identifier_anywhere(rendered, demo_catalogue):
    doc, html = rendered
    raw = pd.read_csv(_raw_dir(demo_catalogue) / "nominals" / "violence_nominals.csv", dtype=str)
    ids = set(raw["pnc_id"].dropna().str.strip())
    assert len(ids) > 100
    pattern = re.compile("|".join(re.escape(i) for i in sorted(ids)))
    for name, text in html.items():
        assert not pattern.search(text), f"raw pnc_id in {name}"
    files = [p for p in doc.out_dir.rglob("*") if p.is_file()]
    assert any(p.suffix == ".csv" for p in files) and any(p.suffix == ".xlsx" for p in files)
    for path in files:
        if path.suffix == ".xlsx":
            sheets = pd.read_excel(path, sheet_name=None, dtype=str)
            text = "\n".join(s.to_csv(index=False) for s in sheets.values())
        else:
            text = path.read_text(encoding="utf-8", errors="replace")
        assert not pattern.search(text), f"raw pnc_id in {path}"


def test_quarantine_reasons_and_examples(rendered):
    doc, html = rendered
    q = doc.workbench.intake.quality.set_index("dataset")
    table = _table(doc, "Rows quarantined per dataset and reason").set_index("dataset")
    # the per-reason counts equal an independent count of the quarantine frames
    long = _table(doc, "Rows quarantined per dataset and reason (quality/intake.csv, long form)")
    suppressed = 0
    for key, frame in doc.workbench.intake.quarantine.items():
        counts = frame["reason"].value_counts()
        for reason, n in counts.items():
            shown = table.loc[_title(doc, key), reason]
            got = long[(long["catalogue key"] == key) & (long["reason"] == reason)]["rows quarantined"].tolist()
            if shown == "[c]":  # suppressed (the demo nominals' duplicates): suppressed in the long form too
                assert got == ["[c]"]
                suppressed += 1
                continue
            assert int(shown) == n
            assert [int(g) for g in got] == [n]
        if table.loc[_title(doc, key), "rows quarantined"] != "[c]":
            assert int(table.loc[_title(doc, key), "rows quarantined"]) == len(frame) == int(q.loc[key, "rows_quarantined"])
    assert suppressed >= 1
    assert int(pd.to_numeric(long["rows quarantined"], errors="coerce").fillna(0).sum()) <= int(q["rows_quarantined"].sum())
    assert (table["balances"].drop(index="Total", errors="ignore") == "yes").all()
    personal = [d.title for d in doc.catalogue.datasets.values() if d.sensitivity in ("sensitive", "personal") or d.identifiers]
    examples = [c for _, c, _ in doc.tables if "examples of quarantined rows" in c]
    assert not any(c.startswith(f"{t}:") for t in personal for c in examples)
    # hashed references are cut to 8 characters and an ellipsis
    street = _table(doc, f"{_title(doc, 'police_street')}: examples of quarantined rows")
    ids = street["Crime ID"].dropna().astype(str)
    assert len(ids) and (ids.str.len() <= 9).all() and ids.str.endswith("\u2026").all()
    assert "\u2026" in html["section_quarantine"] and not re.search(r"[0-9a-f]{17,}", html["section_quarantine"])


def test_council_csv_matches_the_xlsx(rendered, demo_catalogue):
    doc, html = rendered
    raw = _raw_dir(demo_catalogue) / "council"
    n_csv = len(pd.read_csv(raw / "asb_environmental_reports.csv", encoding="cp1252"))
    n_xlsx = len(pd.read_excel(raw / "asb_environmental_reports.xlsx", sheet_name="Reports", header=2))
    pairs = _table(doc, "Datasets that duplicate another export")
    row = pairs.iloc[0]
    xlsx, csv = _title(doc, "council_reports"), _title(doc, "council_reports_csv")
    assert {row["dataset"], row["same records as"]} == {xlsx, csv}
    assert row["dataset"] == csv and row["use"] == "data quality only"
    assert bool(row["rows match"]) == (n_csv == n_xlsx)
    assert int(row["rows read"]) == n_csv
    text = html["section_caveats"]
    assert "under-reported" in text and "anonymised map points" in text and "only to the month" in text


def test_geography_section_shows_repairs_and_coterminosity(rendered):
    doc, html = rendered
    repairs = _table(doc, "Repairs made to boundary files")
    problems = set(repairs["problem"])
    assert any("Z" in p for p in problems) and any("self-intersection" in p for p in problems)
    summ = _table(doc, "Co-terminosity with wards")
    assert set(summ["pair"]) == {"police neighbourhoods in wards", "small areas in wards"}
    assert summ["index"].between(0, 1).all()
    assert "<iframe" in html["section_geography"]
    geo = _table(doc, "Geocoding per dataset").set_index("dataset")
    ev = doc.workbench.intake.events
    police = ev[ev["dataset"] == "police_street"]
    assert int(geo.loc[_title(doc, "police_street"), "without coordinates"]) == int(police["easting"].isna().sum())


def _visible(html_text: str) -> str:
    import html as h

    body = re.sub(r'srcdoc="[^"]*"', "", html_text)
    body = re.sub(r"<[^>]+>", " ", body)
    return re.sub(r"\s+", " ", h.unescape(body))


def test_partner_facing_text_uses_titles_not_catalogue_keys(rendered):
    doc, html = rendered
    keys = [k for k in doc.catalogue.datasets if "_" in k or k != doc.catalogue.datasets[k].title.lower()]
    internal = keys + ["event_id", "x/y", "area_counts", "police_uk_street", "small_areas", "source_file",
                       "quarantined_", "``"]
    for name, text in html.items():
        if name == "section_appendix":
            continue
        visible = _visible(text)
        for word in internal:
            assert not re.search(rf"(?<![\w/<]){re.escape(word)}(?![\w])", visible), (name, word)
    # keys appear only in the appendix's "catalogue key" column
    keys_table = _table(doc, "Datasets and their catalogue keys")
    assert list(keys_table["catalogue key"]) == list(doc.catalogue.datasets)
    assert list(keys_table["dataset"]) == [d.title for d in doc.catalogue.datasets.values()]
    for _, caption, frame in doc.tables:
        assert not any(str(c).startswith("quarantined_") for c in frame.columns), caption


def test_appendix_defines_every_reason_in_a_clean_table(rendered):
    doc, html = rendered
    reasons = _table(doc, "Quarantine reasons and what they mean")
    assert list(reasons.columns) == ["reason", "meaning"]
    assert list(reasons["reason"]) == list(REASONS)
    assert reasons["meaning"].str.len().gt(10).all()
    assert not reasons["meaning"].str.contains("``|_", regex=True).any()
    flags = _table(doc, "What intake flags but keeps")
    assert list(flags.columns) == ["flag", "meaning"]
    text = _visible(html["section_appendix"])
    assert "``" not in text and "-----" not in text and "<pre" not in html["section_appendix"]


def test_no_wide_table_in_the_body(rendered):
    doc, html = rendered
    body = [c for _, c, f in doc.tables if escape(c) in "".join(v for k, v in html.items() if k != "section_appendix")]
    for _, caption, frame in doc.tables:
        if caption in body and "examples of quarantined rows" not in caption:
            assert frame.shape[1] <= 11, (caption, frame.shape)
            assert len(frame) < 36 or "completeness" in caption, (caption, frame.shape)


def test_shares_never_round_to_zero():
    assert qr.quality_share(1, 3893) == "<0.1%"
    assert qr.quality_share(29, 8374) == "0.3%"
    assert qr.quality_share(0, 10) == "0.0%"
    assert qr.quality_share(9999, 10000) == ">99.9%"
    assert qr.quality_share(5, 0) == "n/a"


def test_repeat_share_sentence_reads_below_a_tenth_of_a_percent(rendered):
    doc, html = rendered
    dup = _table(doc, "Duplicates and repeat reports").set_index("dataset")
    text = _visible(html["section_duplicates"])
    sens = {d.title: d.sensitivity for d in doc.catalogue.datasets.values()}
    for title, r in dup.iterrows():
        if r["repeat reports flagged"] == "[c]":
            # a small count from a protected dataset: suppressed in the table and never in prose
            assert sens[title] in ("sensitive", "personal")
            assert f"{title}: fewer than {doc.threshold} accepted reports repeat" in text
            continue
        n, d = int(r["repeat reports flagged"]), int(r["rows accepted"])
        if n and n / d < 0.001:
            assert f"{title}: {n:,} of {d:,} accepted reports (<0.1%)" in text
    assert "(0.0%)" not in text


def test_short_ids_and_reason_counts_on_tiny_frames():
    frame = pd.DataFrame({"id": ["a" * 64, "abc", None], "n": [1, 2, 3]})
    out = qr.quality_short_ids(frame)
    assert out["id"].tolist()[:2] == ["aaaaaaaa\u2026", "abc"] and pd.isna(out["id"].iloc[2])
    q = pd.DataFrame({"dataset": ["b", "a"], "quarantined_duplicate": [3, 0], "quarantined_date_missing": [1, 2]})
    long = qr.quality_reason_counts(q)
    assert long.values.tolist() == [["b", "date missing", 1], ["b", "duplicate", 3], ["a", "date missing", 2]]


# ---------------------------------------------------------------- issue 9: counts about protected data

def _independent_row_ranges(row: dict, relations, marker="[c]") -> dict:
    """Attacker's LP within one published row (scipy only): {column: (min, max)} of each '[c]' cell."""
    from scipy.optimize import linprog
    import numpy as np

    hidden = [c for c in row if row[c] == marker]
    pos = {c: k for k, c in enumerate(hidden)}
    eqs, rhs = [], []
    for total, parts in relations:
        coef, b = np.zeros(len(hidden)), 0.0
        for col, sign in [(p, 1.0) for p in parts] + [(total, -1.0)]:
            if col in pos:
                coef[pos[col]] += sign
            else:
                b -= sign * float(row[col])
        if coef.any():
            eqs.append(coef)
            rhs.append(b)
    out = {}
    for c, k in pos.items():
        vec = np.zeros(len(hidden))
        vec[k] = 1.0
        lo = linprog(vec, A_eq=np.array(eqs), b_eq=rhs, bounds=(0, None), method="highs") if eqs else None
        hi = linprog(-vec, A_eq=np.array(eqs), b_eq=rhs, bounds=(0, None), method="highs") if eqs else None
        out[c] = (lo.fun if lo else 0.0, (np.inf if hi.status == 3 else -hi.fun) if hi else np.inf)
    return out


def test_small_quarantine_counts_of_personal_data_are_suppressed_everywhere(demo_document):
    """The nominals' quarantine counts 3, 2, 1 (by reason) never show, nor can be worked out by subtraction."""
    doc = demo_document("data_quality")
    wb = doc.workbench
    q = wb.intake.quality.copy()
    key = "violence_nominals"
    at = q.index[q["dataset"] == key][0]
    reasons = ["date missing", "unparseable date", "duplicate"]
    for reason, n in zip(reasons, (3, 2, 1)):
        q.loc[at, f"quarantined_{reason.replace(' ', '_')}"] = n
    q.loc[at, "rows_quarantined"] = 6
    q.loc[at, "rows_read"] = int(q.loc[at, "rows_accepted"]) + 6
    wb.intake.quality = q
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = qr.section_summary(doc)._repr_html_()
        qr.section_quarantine(doc)
        qr.section_appendix(doc)
    title = _title(doc, key)
    threshold = doc.threshold
    wide = _table(doc, "Rows quarantined per dataset and reason").set_index("dataset").loc[title]
    assert all(wide[r] == "[c]" for r in reasons), wide.to_dict()
    relations = [("rows read", ["rows accepted", "rows quarantined"]), ("rows quarantined", reasons)]
    for col, (lo, hi) in _independent_row_ranges(
            {c: wide[c] for c in ["rows read", "rows accepted", "rows quarantined", *reasons]}, relations).items():
        assert hi - lo >= threshold, (col, lo, hi)
    long = _table(doc, "Rows quarantined per dataset and reason (quality/intake.csv")
    mine = long[long["dataset"] == title]
    assert set(mine["reason"]) >= set(reasons) and (mine["rows quarantined"] == "[c]").all()
    accounting = _table(doc, "Every catalogue dataset").set_index("dataset").loc[title]
    shown = {c: accounting[c] for c in ["rows read", "rows accepted", "rows quarantined"]}
    assert all(str(v) == "[c]" or int(v) >= threshold for v in shown.values()), shown
    # No prose gives the small counts either.
    assert "duplicate: 1" not in summary and "date missing: 3" not in summary
    assert "date missing: a suppressed number" in summary


def test_coverage_chart_draws_a_suppressed_month_as_suppressed(demo_document):
    """Issue 9: with 3 ED rows in 2024-06 the appendix table shows [c]; Figure 1 must not colour that cell."""
    doc = demo_document("data_quality")
    wb = doc.workbench
    cov = wb.intake.coverage.copy()
    key = "ed_assaults"
    hit = (cov["dataset"] == key) & (cov["month"] == "2024-06")
    assert hit.sum() == 1
    cov.loc[hit, "rows"] = 3
    wb.intake.coverage = cov
    doc.cache.pop("dq-coverage", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, _, monthly, _ = qr._coverage_parts(doc)
        fig, share = qr._gap_chart(doc, qr._coverage_month_published(doc), monthly)
        qr.section_appendix(doc)
    title = _title(doc, key)
    table = _table(doc, "Accepted rows per dataset and month")
    assert table.loc[table["month"] == "2024-06", title].iloc[0] == "[c]"
    row = monthly.index(key)
    col = list(share.columns).index("2024-06")
    assert pd.isna(share.iloc[row, col])
    image = fig.axes[0].images[0].get_array()
    assert bool(image.mask[row, col]), "the suppressed month is coloured at a value"
    assert any(p.get_hatch() and (p.get_x() + 0.5, p.get_y() + 0.5) == (col, row) for p in fig.axes[0].patches)
