"""Tests for assessment/reporting/display.py: escaping, number formatting, numbered views."""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
import pytest

from assessment.reporting import display

EVIL = "<script>alert('x')</script>"


# ---------------------------------------------------------------- escaping

def _assert_escaped(out: str):
    assert "<script>" not in out
    assert "&lt;script&gt;" in out


def test_escape_handles_none_nan_and_quotes():
    assert display.escape(None) == ""
    assert display.escape(float("nan")) == ""
    assert display.escape('a "b" & <c>') == "a &quot;b&quot; &amp; &lt;c&gt;"
    assert display.escape(3) == "3"


def test_paragraph_escapes():
    out = display.paragraph(EVIL)._repr_html_()
    _assert_escaped(out)
    assert out.startswith("<p>") and out.endswith("</p>")
    assert display.paragraph("x", css="lead")._repr_html_() == '<p class="lead">x</p>'


def test_bullet_list_escapes_each_item():
    out = display.bullet_list([EVIL, "B & Q"])._repr_html_()
    _assert_escaped(out)
    assert out.count("<li>") == 2 and "B &amp; Q" in out
    assert display.bullet_list([])._repr_html_() == ""


def test_callout_escapes_and_marks_caveats():
    out = display.callout(EVIL)._repr_html_()
    _assert_escaped(out)
    assert 'class="callout"' in out
    assert 'class="callout caveat"' in display.callout("x", caveat=True)._repr_html_()


def test_section_add_escapes_strings_and_title():
    sec = display.Section(EVIL)
    assert sec.add(EVIL, None, display.paragraph("ok")) is sec
    assert len(sec.parts) == 2  # None skipped
    out = sec._repr_html_()
    assert out.count("&lt;script&gt;") == 2 and "<script>" not in out
    assert '<h2 id="script-alert-x-script">' in out
    assert display.Section("T", level=3)._repr_html_().startswith('<section><h3 id="t">')


def test_tableview_escapes_cells_headers_caption_and_notes():
    df = pd.DataFrame({EVIL: [EVIL], "n": [1]})
    out = display.TableView(df, 1, EVIL, notes=[EVIL])._repr_html_()
    assert "<script>" not in out
    assert out.count("&lt;script&gt;") == 4


# ---------------------------------------------------------------- format_number

@pytest.mark.parametrize("value,decimals,expected", [
    (1234567, None, "1,234,567"),
    (1234.0, None, "1,234"),
    (1234.56, None, "1,234.6"),
    (1234.56, 2, "1,234.56"),
    (0.125, 3, "0.125"),
    (np.int64(5000), None, "5,000"),
    (np.float64(2.25), 1, "2.2"),  # round-half-even on the binary value, as Python formats it
    (None, None, ""),
    (float("nan"), None, ""),
    (pd.NA, None, ""),
    ("[c]", None, "[c]"),
    (True, None, "yes"),
    (False, None, "no"),
    (-1500, None, "-1,500"),
    (float("inf"), 1, "\u221e"),  # a step up from nothing recorded (trend_glm)
    (np.float64("-inf"), None, "\u2212\u221e"),
    (np.float32("inf"), None, "\u221e"),
])
def test_format_number(value, decimals, expected):
    assert display.format_number(value, decimals) == expected


def test_format_number_integer_ignores_decimals():
    assert display.format_number(7, 2) == "7"


def test_format_number_float_whole_with_decimals_keeps_them():
    assert display.format_number(7.0, 2) == "7.00"


# ---------------------------------------------------------------- TableView

def _table(n=3, **kw):
    df = pd.DataFrame({"ward": [f"W{i}" for i in range(n)], "count": np.arange(n) * 1000,
                       "rate": np.linspace(0, 1, n)})
    return display.TableView(df, 4, "Crimes by ward", **kw)


def test_tableview_number_caption_and_sensitivity():
    out = _table(csv_name="x-04-crimes.csv", sensitivity="sensitive")._repr_html_()
    assert 'id="table-4"' in out
    assert "<caption>Table 4: Crimes by ward</caption>" in out
    assert 'data-sensitivity="sensitive"' in out
    assert 'Data: <a class="data-link" href="tables/x-04-crimes.csv">tables/x-04-crimes.csv</a>' in out
    assert 'data-sensitivity="public"' in _table()._repr_html_()


def test_tableview_formats_numbers_and_marks_numeric_columns():
    out = _table(decimals={"rate": 2})._repr_html_()
    assert '<th scope="col" class="num">count</th>' in out and '<th scope="col" class="">ward</th>' in out
    assert '<td class="num">2,000</td>' in out
    assert '<td class="num">0.50</td>' in out


def test_tableview_truncation_note():
    out = _table(n=10, max_rows=4)._repr_html_()
    assert out.count("<tr>") == 1 + 4  # header + shown rows
    assert "The first 4 of 10 rows are shown" in out
    full = _table(n=10, max_rows=None)._repr_html_()
    assert full.count("<tr>") == 11 and "rows are shown" not in full
    assert "rows are shown" not in _table(n=4, max_rows=4)._repr_html_()


# ---------------------------------------------------------------- FigureView

def test_figureview_alt_text_and_png_data():
    png = b"\x89PNG\r\n\x1a\nfake"
    out = display.FigureView(png, 2, "Trend", alt='Line "chart" <of> crime', notes=["n"])._repr_html_()
    assert 'alt="Line &quot;chart&quot; &lt;of&gt; crime"' in out
    assert 'id="figure-2"' in out and "Figure 2: Trend" in out
    import base64
    src = re.search(r'src="data:image/png;base64,([^"]+)"', out).group(1)
    assert base64.b64decode(src) == png


def test_figure_png_renders_a_matplotlib_figure():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    data = display.figure_png(fig)
    assert data.startswith(b"\x89PNG")
    assert not plt.fignum_exists(fig.number)


# ---------------------------------------------------------------- MapView

def test_mapview_srcdoc_round_trips_and_cannot_break_out():
    page = ('<!DOCTYPE html><html><head><script src="leaflet.js"></script></head><body>'
            '<div title="a &amp; b">"quoted" & \'single\'</div><script>var x = "</iframe>";</script></body></html>')
    out = display.MapView(page, 5, "Hotspots", alt="Map of <hotspots>")._repr_html_()
    srcdoc = re.search(r'srcdoc="([^"]*)"', out).group(1)
    assert html.unescape(srcdoc) == page
    assert out.count("</iframe>") == 1  # the page's own "</iframe>" is escaped
    assert 'title="Map of &lt;hotspots&gt;"' in out
    assert "Figure 5 (map): Hotspots" in out
    assert "Description: Map of &lt;hotspots&gt;" in out


# ---------------------------------------------------------------- slugify

@pytest.mark.parametrize("text,expected", [
    ("Crimes by Ward, 2024/25", "crimes-by-ward-2024-25"),
    ("  --Hello__World--  ", "hello-world"),
    ("", "item"),
    ("!!!", "item"),
    ("Café", "caf"),
])
def test_slugify(text, expected):
    assert display.slugify(text) == expected


def test_slugify_is_at_most_60_chars_and_safe():
    slug = display.slugify("word " * 40)
    assert len(slug) <= 60
    assert re.fullmatch(r"[a-z0-9-]+", slug)


def test_counts_turned_into_text_by_suppression_show_as_numbers():
    from assessment.reporting.display import format_cell

    assert format_cell("3531", "latest 12 months") == "3,531"
    assert format_cell("[c]", "latest 12 months") == "[c]"
    assert format_cell("2024", "year") == "2024"
    assert format_cell("10234", "premises ref") == "10234"
    assert format_cell(0.0004, "p (trend)") == "<0.001"
    assert format_cell(2022, "baseline year") == "2022"
