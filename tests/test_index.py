"""Tests for assessment/reporting/index.py: the page linking every document of a run."""

from __future__ import annotations

import html
import re

from assessment.catalogue import load_catalogue
from assessment.reporting.execute import DocumentRun
from assessment.reporting.index import write_index


def _run(out, stem, body="<html></html>"):
    page = out / f"{stem}.html"
    if body is not None:
        page.write_text(body, encoding="utf-8")
    return DocumentRun(stem, page, out / "notebooks" / f"{stem}.ipynb", [], {})


def test_links_every_run(tmp_path, demo_catalogue):
    out = tmp_path / "run"
    out.mkdir()
    runs = [_run(out, "strategic_assessment", "x" * 4096), _run(out, "problem_profile_violence"),
            _run(out, "data_quality")]
    path = write_index(out, demo_catalogue, runs)
    assert path == out / "index.html"
    page = path.read_text(encoding="utf-8")
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', page)
    assert links == [("strategic_assessment.html", "Strategic assessment"),
                     ("problem_profile_violence.html", "Problem profile violence"),
                     ("data_quality.html", "Data quality")]
    for href, _ in links:
        assert (out / href).is_file()
    assert "(4 KiB)" in page
    assert "A problem profile on one issue" in page  # description by document kind, topic suffix ignored
    p = load_catalogue(demo_catalogue).partnership
    assert f"<h1>{html.escape(p.name)}</h1>" in page
    assert f"assessment window {p.window.start} to {p.window.end}" in page


def test_escapes_names(tmp_path, demo_catalogue):
    import yaml

    out = tmp_path / "run"
    out.mkdir()
    raw = yaml.safe_load(demo_catalogue.read_text(encoding="utf-8"))
    raw["partnership"]["name"] = "Riverton <script>alert('p')</script> & Co"
    cat = demo_catalogue.parent / "evil_catalogue.yaml"  # beside the original so relative paths hold
    cat.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    try:
        evil = _run(out, 'x"><script>alert(1)<', body=None)
        page = write_index(out, cat, [evil]).read_text(encoding="utf-8")
    finally:
        cat.unlink()
    assert "<script>" not in page
    assert 'href="x&quot;&gt;&lt;script&gt;alert(1)&lt;.html"' in page
    assert "<h1>Riverton &lt;script&gt;alert(&#x27;p&#x27;)&lt;/script&gt; &amp; Co</h1>" in page
    assert "(0 KiB)" in page  # a missing page is shown with size 0, not an error


def test_no_runs_gives_empty_list(tmp_path, demo_catalogue):
    page = write_index(tmp_path, demo_catalogue, []).read_text(encoding="utf-8")
    assert "<ul></ul>" in page
