"""Data text made safe: HTML escaping, map layers, chart labels and formula-safe spreadsheets."""

from __future__ import annotations

import csv
import re
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from assessment.escaping import (
    escape_html,
    escape_html_columns,
    is_formula_like,
    spreadsheet_safe,
    write_csv,
    write_excel,
)

IMG = "Castle Hill<img src=x onerror=alert(1)>"
HYPERLINK = '=HYPERLINK("http://x","click")'
DDE = "=cmd|' /C calc'!A0"
HOSTILE = [IMG, HYPERLINK, DDE, "+1+1", "@SUM(A1)", "-2+3+cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "-", "ok"]
FORMULA_START = tuple("=+-@\t\r")


def _is_number(text: str) -> bool:
    """Independent of the module: Python's float() after dropping thousands separators and a %."""
    try:
        float(text.replace(",", "").rstrip("%"))
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------------------------ HTML

def test_escape_html_makes_markup_text():
    assert escape_html(IMG) == "Castle Hill&lt;img src=x onerror=alert(1)&gt;"
    assert escape_html('a"b\'c&d') == "a&quot;b&#x27;c&amp;d"
    assert escape_html(None) == "" and escape_html(float("nan")) == "" and escape_html(pd.NA) == ""
    assert escape_html(12) == "12"


def test_escape_html_columns_escapes_only_the_named_columns_once():
    frame = pd.DataFrame({"name": [IMG, "A & B", None], "n": [1.5, np.nan, 3.0], "_fill": ["#fff", "#000", "<x>"]})
    out = escape_html_columns(frame, ["name", "n"])
    assert out["name"].tolist() == ["Castle Hill&lt;img src=x onerror=alert(1)&gt;", "A &amp; B", ""]
    assert out["n"].tolist() == ["1.5", "", "3.0"]
    assert out["_fill"].tolist() == ["#fff", "#000", "<x>"]  # not named: untouched
    assert frame["name"].iloc[0] == IMG  # the input is not modified
    with pytest.raises(ValueError, match="missing|must have"):
        escape_html_columns(frame, ["nope"])


# ------------------------------------------------------------------------------- spreadsheets

@pytest.mark.parametrize("text", [HYPERLINK, DDE, "+1+1", "@SUM(A1)", "-2+3", "\tx", "\rx", "-", "-x", "+"])
def test_formula_like_text(text):
    assert is_formula_like(text)


@pytest.mark.parametrize("value", ["-3", "-1,234.5", "+2.5e3", "-4%", "-.5", "ok", "a=b", " =1", -3, -2.5, None])
def test_numbers_and_plain_text_are_not_formula_like(value):
    assert not is_formula_like(value)


def test_spreadsheet_safe_prefixes_text_and_keeps_numbers():
    frame = pd.DataFrame({"=area": HOSTILE, "count": np.arange(-5, 5), "mixed": [3, "[c]", -2, "-7", "=1", 4.5,
                                                                              None, "-", 1, 2]})
    out = spreadsheet_safe(frame)
    assert list(out.columns) == ["'=area", "count", "mixed"]
    area = out["'=area"].tolist()
    assert area[0] == IMG and area[-1] == "ok"
    assert area[1] == "'" + HYPERLINK and area[2] == "'" + DDE and area[6] == "'\t=1+1" and area[8] == "'-"
    assert out["count"].dtype == frame["count"].dtype and out["count"].tolist() == list(range(-5, 5))
    assert out["mixed"].tolist()[:5] == [3, "[c]", -2, "-7", "'=1"]  # negative numbers (and "-7") stay numeric
    assert frame["=area"].iloc[1] == HYPERLINK  # the input is not modified


def test_spreadsheet_safe_keeps_repeated_column_names_apart():
    frame = pd.DataFrame([["=a", "b"], ["c", "+d"]], columns=["x", "x"])
    out = spreadsheet_safe(frame)
    assert out.to_numpy().tolist() == [["'=a", "b"], ["c", "'+d"]]


def test_write_csv_no_cell_can_start_a_formula(tmp_path):
    frame = pd.DataFrame({"ward": HOSTILE, "count": np.arange(-5, 5), "rate": np.linspace(-1, 1, 10),
                          "shown": ["[c]", 4, -3, "12", "x;=1+1", "a,b", 'say "hi"', None, 0, "-1,200"]})
    path = write_csv(frame, tmp_path / "t.csv")
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 11 and all(len(r) == 4 for r in rows)
    cells = [c for r in rows for c in r]
    bad = [c for c in cells if c.startswith(FORMULA_START) and not _is_number(c)]
    assert not bad
    assert rows[2][0] == "'" + HYPERLINK and rows[7][3] == 'say "hi"'
    # numbers are written bare (a spreadsheet reads them as numbers); text fields are quoted
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[1].split(",")[1] == "-5" and lines[0] == '"ward","count","rate","shown"'
    back = pd.read_csv(path)
    assert back["count"].tolist() == list(range(-5, 5))
    assert np.allclose(back["rate"], frame["rate"])


def _xlsx_formulas(path) -> list[str]:
    """Formula elements in the raw sheet XML: independent of openpyxl's reading."""
    with zipfile.ZipFile(path) as z:
        return [m for name in z.namelist() if name.startswith("xl/worksheets/")
                for m in re.findall(r"<f[ >].*?</f>", z.read(name).decode("utf-8"))]


def test_write_excel_stores_text_never_formulas(tmp_path):
    from openpyxl import load_workbook

    frame = pd.DataFrame({"ward": HOSTILE, "count": np.arange(-5, 5), "note": ["bell\x07", *["x"] * 9]})
    index = pd.DataFrame({"sheet": ["T01"], "table": [HYPERLINK]})
    path = write_excel({"Contents": index, "T01": frame}, tmp_path / "w.xlsx")
    assert _xlsx_formulas(path) == []
    wb = load_workbook(path)
    cells = [c for ws in wb for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    ws = wb["T01"]
    assert [ws.cell(row=r, column=1).value for r in range(2, 12)] == [HOSTILE[0], *HOSTILE[1:8], "-", "ok"][:10]
    assert ws["A3"].data_type == "s" and ws["A3"].quotePrefix  # "=HYPERLINK(...)" shown exactly, as text
    assert [ws.cell(row=r, column=2).value for r in range(2, 12)] == list(range(-5, 5))
    assert all(ws.cell(row=r, column=2).data_type == "n" for r in range(2, 12))
    assert ws["C2"].value == "bell\ufffd"  # a control character an xlsx cannot hold
    assert wb["Contents"]["B2"].value == HYPERLINK and wb["Contents"]["B2"].data_type == "s"


def test_writers_refuse_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="DataFrame"):
        write_csv([1, 2], tmp_path / "x.csv")
    with pytest.raises(TypeError, match="dict"):
        write_excel([pd.DataFrame()], tmp_path / "x.xlsx")


# ------------------------------------------------------------------------------------- maps

def _areas(names):
    return gpd.GeoDataFrame({"name": names, "rate": np.arange(len(names), dtype=float)},
                            geometry=[box(430000 + 1000 * i, 285000, 431000 + 1000 * i, 286000)
                                      for i in range(len(names))], crs=27700)


def _as_script_sees(page: str) -> str:
    """The page with the JSON escapes of Jinja's ``tojson`` undone (what Leaflet receives as strings)."""
    for code, char in (("\\u003c", "<"), ("\\u003e", ">"), ("\\u0026", "&"), ("\\u0027", "'")):
        page = page.replace(code, char)
    return page


def test_every_map_builder_escapes_names_labels_and_layer_names():
    from assessment.reporting.maps import map_choropleth, map_layers

    areas = _areas([IMG, "Plain"])
    pages = [
        map_choropleth(areas, "rate", name_column="name", legend="Rate <b>x</b>",
                       tooltip_columns={"name": IMG}, points=areas.assign(geometry=areas.centroid),
                       point_label="<i>pts</i>"),
        map_layers([(areas, "name", "<u>Wards</u>")], highlight=areas[["name", "geometry"]],
                   highlight_label="<s>hot</s>", highlight_aliases={"name": "<em>Area</em>"}),
    ]
    for page in map(_as_script_sees, pages):
        assert "<img" not in page and "onerror=alert(1)>" not in page
        assert "Castle Hill&lt;img" in page
        assert not re.search(r"<(b|i|u|s|em)>", page)


def test_coterminosity_map_escapes_names():
    from assessment.geography.coterminosity import coterminosity_table
    from assessment.geography.maps import coterminosity_map
    from assessment.reporting.maps import map_page

    src = _areas([IMG, "=cmd"]).rename(columns={"name": "src_name"}).assign(code=["S1", "S2"])
    tgt = gpd.GeoDataFrame({"code": ["T1"], "name": ["<script>alert(2)</script>"]},
                           geometry=[box(430000, 285000, 432000, 286000)], crs=27700)
    table = coterminosity_table(src.rename(columns={"src_name": "name"}), tgt)
    page = _as_script_sees(map_page(coterminosity_map(src, tgt, table, "<b>hood</b>", "ward")))
    assert "Castle Hill&lt;img" in page and "&lt;script&gt;alert(2)" in page
    assert "<img" not in page and "<script>alert(2)" not in page and "<b>hood" not in page


def test_map_page_refuses_a_layer_built_without_escaping():
    import folium

    from assessment.reporting.maps import map_page

    fmap = folium.Map(tiles=None)
    folium.GeoJson(_areas([IMG]).to_crs(4326).to_json(), tooltip=folium.GeoJsonTooltip(fields=["name"])).add_to(fmap)
    with pytest.raises(ValueError, match="geojson_layer"):
        map_page(fmap)


# ----------------------------------------------------------------------------------- charts

def test_chart_labels_from_data_are_drawn_literally():
    """A name with mathtext syntax is drawn as written: it neither renders as maths nor breaks the chart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from assessment.reporting.display import figure_png

    bad = r"$\frac{1}{$ Ward"  # invalid mathtext: raises ValueError if parsed
    fig, ax = plt.subplots()
    ax.bar([0, 1], [1, 2])
    ax.set_xticks([0, 1], [bad, "$x^2$"])
    ax.set_title(bad)
    ax.legend([bad])
    png = figure_png(fig)
    assert png.startswith(b"\x89PNG")
    fig2, ax2 = plt.subplots()
    ax2.set_title(bad)
    with pytest.raises(ValueError):  # the same text is indeed hostile to matplotlib's default parser
        fig2.savefig(__import__("io").BytesIO(), format="png")
    plt.close(fig2)


@pytest.mark.parametrize("dtype", [object, "string"])
def test_formula_like_short_and_long_columns_agree_with_the_one_cell_rule(dtype, monkeypatch):
    """Both ways of finding formula-like cells (NumPy for short columns, pandas for long) give is_formula_like's answer."""
    import numpy as np

    from assessment import escaping

    cells = ["=a", "+1", "-3", "@x", "\tq", "\rr", "", "a=", None, "-1,234.5", "=1", "é", "-", "-4%", "+2.5e3",
             " =x", '=HYPERLINK("x")', "@@", "+", "Ward 3"]
    series = pd.Series(cells * 3, dtype=dtype)
    expected = np.array([escaping.is_formula_like(c) for c in cells * 3])
    short = escaping._formula_like(series)
    monkeypatch.setattr(escaping, "_SMALL_COLUMN", 0)
    long = escaping._formula_like(series)
    assert (short == expected).all() and (long == expected).all()
    mixed = pd.Series(["=x", 1.5, -2, float("nan"), True, "-7"], dtype=object)  # numbers in a text column
    assert escaping._formula_like(mixed).tolist() == [True, False, False, False, False, False]
