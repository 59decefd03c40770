"""The state of one document while its notebook runs.

``open_document`` is the first call in every notebook. It loads and validates the
catalogue, runs intake (cached between the documents of one run), and returns a
:class:`Document` that numbers tables and figures, writes every table it shows to
``tables/`` (and to an Excel workbook at the end), and applies disclosure control to
counts from sensitive datasets before they are shown.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .. import __version__, paths
from ..catalogue import Catalogue, load_catalogue
from ..checks import check_choice, check_dataframe, check_type
from ..escaping import write_csv, write_excel
from .display import FigureView, MapView, TableView, figure_png, record_shown, slugify
from .kinds import DOCUMENTS


#: Sensitivities whose whole-dataset record counts (tables with one row per dataset: rows read,
#: quarantined, repeat reports flagged) fall under the threshold rule. Counts of a whole official
#: dataset's records identify no one; counts from sensitive (e.g. health) and personal datasets
#: stay protected. Tables of events by area or category keep protecting every non-public dataset.
ACCOUNTING_PROTECTED = ("sensitive", "personal")


@dataclass
class Document:
    """One document being built. Create it with :func:`open_document`."""

    name: str
    kind: str
    title: str
    catalogue: Catalogue
    out_dir: Path
    edition: str
    offline: bool = False
    params: dict[str, Any] = field(default_factory=dict)
    run_date: dt.date = field(default_factory=dt.date.today)
    slug: str = ""
    tables: list[tuple[str, str, pd.DataFrame]] = field(default_factory=list)
    cache_dir: Path | None = None
    cache: dict[str, Any] = field(default_factory=dict)
    published_dir: Path | None = None
    _figures: int = 0
    _register: list[Any] | None = None
    _stale_register: bool = False
    _workbench: Any = None
    _shown: list[str] = field(default_factory=list)

    def record_shown(self, page: str) -> None:
        """Keep the text of a section the notebook showed (for the glossary at the end)."""
        from .glossary import text_of

        self._shown.append(text_of(page))

    def shown_text(self) -> str:
        """The text of every section shown so far, in order (nested parts may repeat)."""
        return "\n".join(self._shown)

    @property
    def tables_dir(self) -> Path:
        """Where every table the document shows is written as CSV."""
        return self.out_dir / "tables"

    @property
    def threshold(self) -> int:
        """The partnership's suppression threshold for sensitive counts."""
        return self.catalogue.partnership.suppression_threshold

    @property
    def workbench(self) -> Any:
        """The harmonised data for this run (intake, geography), built once and cached."""
        if self._workbench is None:
            from .workbench import load_workbench

            self._workbench = load_workbench(
                self.catalogue, out_dir=self.out_dir, run_date=self.run_date, cache_dir=self.cache_dir
            )
        return self._workbench

    # -- numbering and outputs ------------------------------------------------
    def table(
        self,
        frame: pd.DataFrame,
        caption: str,
        *,
        sensitivity: str = "public",
        count_columns: tuple[str, ...] | list[str] = (),
        rate_columns: dict[str, str] | None = None,
        notes: list[str] | None = None,
        decimals: dict[str, int] | None = None,
        max_rows: int | None = 60,
        margins: str | None = None,
        row_sensitivity: Any = None,
        row_relations: Any = None,
        dataset: str | None = None,
        dimensions: tuple[str, ...] | list[str] | None = None,
        scope: str = "",
        fixed: dict[str, str] | None = None,
        presuppressed: bool = False,
    ) -> TableView:
        """Register a table: apply disclosure control, write it to ``tables/`` and return its view.

        Parameters
        ----------
        frame : DataFrame
            The table as the analyst computed it.
        caption : str
            The caption shown above the table.
        sensitivity : {'public', 'official', 'sensitive', 'personal'}
            The most sensitive source of any count in the table. Counts from datasets not
            marked public are suppressed below the partnership's threshold, with secondary
            suppression, before anything is written or shown; the unsuppressed table is kept
            only in the restricted folder for the analyst.
        count_columns : sequence of str
            Columns holding counts subject to suppression.
        rate_columns : dict, optional
            Rate column -> the count column it derives from; suppressed with it.
        margins : {'both', 'row_totals', 'column_totals', 'none'}, optional
            Which totals to publish with a suppressed table. By default a Total row is added
            (and a Total column when there are several count columns). Use ``'column_totals'``
            when adding across count columns means nothing (e.g. people and incidents), or
            ``'none'`` for the threshold rule alone when no total is published.
        row_sensitivity : sequence of str, optional
            One sensitivity per row, for tables whose rows come from different datasets (one row
            per dataset, as in data-quality tables). Such rows count a whole dataset's records
            (rows read, quarantined, repeat reports), which identify no one unless the dataset is
            about people or their health: counts from 1 to threshold - 1 are suppressed in rows of
            datasets marked sensitive or personal (:data:`ACCOUNTING_PROTECTED`); official and
            public rows are shown. No totals are published, so no secondary suppression is needed
            unless ``row_relations`` says how they add up. The table is marked ``mixed``.
        row_relations : sequence of (str, list of str), optional
            With ``row_sensitivity``: ``(total column, part columns)`` that add up within every
            row (e.g. ``('rows read', ['rows accepted', 'rows quarantined'])``), so that a
            suppressed count cannot be worked out by subtraction within its row.
        dataset, dimensions, scope : optional
            What a protected table counts, so that it is audited jointly with every other table
            of the same dataset and scope published in this edition (by this or another
            document): ``dataset`` is the catalogue key, ``dimensions`` names the dimension of
            the rows (e.g. ``'ward'``) and, with several count columns, of the columns (e.g.
            ``'category'``); ``scope`` whatever else fixes the records counted (e.g. a period).
            Further cells are suppressed until no suppressed cell of any of them can be
            narrowed below the threshold by combining them (``disclosure.audit_linked``).
        fixed : dict, optional
            Dimensions the table is a slice of, with the value it shows (e.g.
            ``{'concern': 'Burglary'}``), so it links to tables that show that dimension.
        presuppressed : bool, default False
            ``frame`` is already published through disclosure control (columns taken from
            :meth:`publish_counts` of another table, so both show the same cells): it is written
            as it is, marked with ``sensitivity`` (``mixed`` with ``row_sensitivity``), with the
            suppression footnote when a count column holds ``[c]``.
        """
        check_dataframe(frame, "frame")
        check_type(caption, "caption", str)
        check_choice(sensitivity, "sensitivity", ("public", "official", "sensitive", "personal"))
        number = len(self.tables) + 1
        notes = list(notes or [])
        csv_name = f"{self.name}-{number:02d}-{slugify(caption)}.csv"
        link = None
        if dataset is not None and dimensions is not None and row_sensitivity is None:
            dims = (dimensions,) if isinstance(dimensions, str) else tuple(dimensions)
            link = {"name": csv_name, "dataset": str(dataset), "dimensions": dims, "scope": str(scope),
                    "document": self.name, "fixed": dict(fixed or {})}
        if presuppressed:
            published, hidden = frame, False
            shown_as = "mixed" if row_sensitivity is not None else sensitivity
            marked = bool(count_columns) and bool(frame[list(count_columns)].isin(["[c]"]).to_numpy().any())
            footnote = (f"Counts from 1 to {self.threshold - 1} from datasets not marked public are suppressed ([c]) "
                        "to protect individuals, with further counts suppressed so they cannot be worked out from "
                        "the others." if marked else "")
        else:
            published, footnote, shown_as, hidden = self._suppressed(
                frame, caption, sensitivity, list(count_columns), rate_columns or {}, margins, row_sensitivity,
                row_relations, link)
        if footnote:
            notes.append(footnote)
        if hidden:
            write_csv(frame, self._restricted_path(number, caption))
        published = round_table(published, decimals or {})
        self.tables_dir.mkdir(parents=True, exist_ok=True)
        write_csv(published, self.tables_dir / csv_name)
        self.tables.append((csv_name, caption, published))
        return TableView(published, number, caption, notes, csv_name, decimals or {}, max_rows, shown_as)

    def publish_counts(
        self,
        frame: pd.DataFrame,
        caption: str,
        *,
        sensitivity: str = "public",
        count_columns: tuple[str, ...] | list[str] = (),
        rate_columns: dict[str, str] | None = None,
        margins: str | None = None,
        row_sensitivity: Any = None,
        row_relations: Any = None,
        total_of: Any = None,
    ) -> pd.DataFrame:
        """The table exactly as :meth:`table` publishes it (suppressed cells ``'[c]'``), without numbering it.

        With ``row_sensitivity`` and ``margins='column_totals'`` a Total row is added: the sum of
        the rows ``total_of`` marks (default all; e.g. not a copy of another dataset).
        Draw every chart, map and derived table of protected counts from this, never from the
        unsuppressed ``frame``: a suppressed cell then shows as suppressed everywhere. A later
        :meth:`table` call with the same frame, caption and options publishes the same values.
        """
        check_dataframe(frame, "frame")
        check_type(caption, "caption", str)
        check_choice(sensitivity, "sensitivity", ("public", "official", "sensitive", "personal"))
        published, _, _, _ = self._suppressed(frame, caption, sensitivity, list(count_columns), rate_columns or {},
                                              margins, row_sensitivity, row_relations, None, total_of)
        return published.copy()

    def _suppressed(self, frame: pd.DataFrame, caption: str, sensitivity: str, count_columns: list[str],
                    rate_columns: dict[str, str], margins: str | None, row_sensitivity: Any, row_relations: Any,
                    link: dict[str, Any] | None, total_of: Any = None) -> tuple[pd.DataFrame, str, str, bool]:
        """Disclosure control of one table, memoised so a chart and its table publish the same cells.

        Returns the published frame, its footnote, the sensitivity to mark it with and whether
        any cell is hidden.
        """
        if not count_columns or (row_sensitivity is None and sensitivity == "public"):
            return frame, "", sensitivity, False
        try:
            content = int(pd.util.hash_pandas_object(frame, index=True).sum())
        except TypeError:  # unhashable cells (lists): the frame object itself is the key
            content = id(frame)
        key = (caption, content, tuple(frame.columns),
               tuple(count_columns), sensitivity, margins, repr(rate_columns),
               None if row_sensitivity is None else tuple(row_sensitivity), repr(row_relations), link is not None,
               None if total_of is None else tuple(bool(x) for x in total_of))
        memo = self.cache.setdefault("_published_tables", {})
        if key not in memo:
            if row_sensitivity is not None:
                published, footnote, hidden = self._publish_rows(frame, count_columns, list(row_sensitivity),
                                                                 rate_columns, row_relations,
                                                                 total_row=margins == "column_totals",
                                                                 total_of=total_of)
                memo[key] = (published, footnote, "mixed", hidden)
            else:
                published, footnote, hidden = self._publish(frame, count_columns, sensitivity, rate_columns,
                                                            margins, link)
                memo[key] = (published, footnote, sensitivity, hidden)
        return memo[key]

    def _publish(self, frame: pd.DataFrame, count_columns: list[str], sensitivity: str,
                 rate_columns: dict[str, str], margins: str | None = None,
                 link: dict[str, Any] | None = None) -> tuple[pd.DataFrame, str, bool]:
        """Primary and secondary suppression (and joint suppression with the edition's linked tables)."""
        from ..disclosure import suppress_rates, suppress_table

        margins = margins or ("column_totals" if len(count_columns) == 1 else "both")
        if link is None:
            result = suppress_table(frame, count_columns, self.threshold, sensitivity, margins=margins)
        else:
            others = [t for t in self.register() if t.name != link["name"]]
            result = suppress_table(frame, count_columns, self.threshold, sensitivity, margins=margins,
                                    link=link, published=others)
            if result.linked is not None:
                self._record(result.linked)
        # Unsuppressed counts stay numbers (so tables format them); suppressed cells hold the marker.
        published = result.display.copy()
        for col in result.mask.columns:
            hidden = result.mask[col].to_numpy(dtype=bool)
            published[col] = result.values[col].astype(object).where(~hidden, "[c]")
        labels = [c for c in published.columns if c not in count_columns and c != "Total" and c not in rate_columns]
        if len(published) > len(frame) and labels:
            # The Total row added for disclosure control: label it, leave other labels blank.
            total = published.index[-1]
            published[labels] = published[labels].astype(object)
            published.loc[total, labels] = ""
            published.loc[total, labels[0]] = "Total"
        if rate_columns:
            published = suppress_rates(published, rate_columns, mask=result.mask, marker="[c]")
        return published, result.footnote, bool(result.mask.to_numpy().any())

    def _publish_rows(self, frame: pd.DataFrame, count_columns: list[str], row_sensitivity: list[str],
                      rate_columns: dict[str, str], row_relations: Any = None,
                      total_row: bool = False, total_of: Any = None) -> tuple[pd.DataFrame, str, bool]:
        """The threshold rule row by row for rows from sensitive or personal datasets, with secondary
        suppression inside each row where its counts add up (``row_relations``) and, with a Total
        row (``total_row``), down the columns too."""
        from ..disclosure import suppress_rows

        if len(row_sensitivity) != len(frame):
            raise ValueError(f"`row_sensitivity` must have one value per row ({len(frame)}), got {len(row_sensitivity)}")
        protected = [s in ACCOUNTING_PROTECTED for s in row_sensitivity]
        relations = [(total, list(parts)) for total, parts in (row_relations or [])]
        adds = [True] * len(frame) if total_of is None else [bool(x) for x in total_of]
        if total_row:
            if len(adds) != len(frame):
                raise ValueError(f"`total_of` must have one value per row ({len(frame)}), got {len(adds)}")
            labels = [c for c in frame.columns if c not in count_columns]
            kept = frame[pd.Series(adds, index=frame.index)]
            total = pd.DataFrame([{c: int(pd.to_numeric(kept[c], errors="coerce").fillna(0).sum())
                                   for c in count_columns}])
            for i, c in enumerate(labels):
                total[c] = "Total" if i == 0 else ""
            frame = pd.concat([frame, total[frame.columns]], ignore_index=True)
            protected.append(any(protected))
        mask = suppress_rows(frame, count_columns, self.threshold, protected, relations=relations,
                             total_row=total_row, in_total=adds if total_row else None)
        published = frame.copy()
        for col in count_columns:
            hidden = mask[col].to_numpy(dtype=bool)
            if hidden.any():
                published[col] = published[col].astype(object).where(~hidden, "[c]")
        for rate, count in rate_columns.items():
            if count in mask.columns and mask[count].any():
                published[rate] = published[rate].astype(object).where(~mask[count].to_numpy(dtype=bool), "[c]")
        if not mask.to_numpy().any():
            return published, "", False
        if relations:
            note = (f"Counts from 1 to {self.threshold - 1} from sensitive or personal datasets are suppressed ([c]) "
                    "to protect individuals, with further counts of the same dataset suppressed so they cannot be "
                    "worked out from the others; nothing is added across datasets.")
        else:
            note = (f"Counts from 1 to {self.threshold - 1} from sensitive or personal datasets are suppressed "
                    "([c]) to protect individuals; no totals are published for them.")
        return published, note, True

    def register(self) -> list[Any]:
        """The protected tables published in this edition so far, as ``disclosure.LinkedTable``.

        Read once from the register of the folder the edition is published to (other documents'
        tables; this document's earlier entries there are being replaced), then extended by
        every linked table this document publishes.
        """
        if self._register is None:
            from ..disclosure import read_register

            source = paths.disclosure_register(self.published_dir or self.out_dir)
            earlier = read_register(source)
            self._register = [t for t in earlier if t.document != self.name]
            self._stale_register = len(self._register) < len(earlier)
        return self._register

    def _record(self, table: Any) -> None:
        """Add a published linked table to the register and write it beside this document's outputs."""
        from ..disclosure import write_register

        register = self.register()
        if table is not None:
            register = [t for t in register if t.name != table.name] + [table]
        self._register = register
        self._stale_register = False
        write_register(paths.disclosure_register(self.out_dir), register)

    def _restricted_path(self, number: int, caption: str) -> Path:
        from ..disclosure import restricted_dir

        return restricted_dir(self.out_dir) / f"{self.name}-{number:02d}-{slugify(caption)}.csv"

    def figure(self, fig: Any, caption: str, alt: str, notes: list[str] | None = None) -> FigureView:
        """Number a matplotlib figure and return its view (PNG with alt text)."""
        check_type(caption, "caption", str)
        check_type(alt, "alt", str)
        if not alt.strip():
            raise ValueError("`alt` must describe the chart for screen-reader users, got an empty string")
        self._figures += 1
        return FigureView(figure_png(fig), self._figures, caption, alt, list(notes or []))

    def map(self, page: str, caption: str, alt: str, notes: list[str] | None = None) -> MapView:
        """Number a map (a complete Leaflet HTML page) and return its view."""
        check_type(page, "page", str)
        check_type(caption, "caption", str)
        check_type(alt, "alt", str)
        if not alt.strip():
            raise ValueError("`alt` must describe the map for screen-reader users, got an empty string")
        self._figures += 1
        return MapView(page, self._figures, caption, alt, list(notes or []))

    def write_workbook(self) -> Path:
        """Write every table shown so far into one Excel workbook, a sheet per table.

        Text cells are stored as text, never as formulas (:func:`assessment.escaping.write_excel`).
        """
        self.register()
        if self._stale_register:  # this document's tables of an earlier run are replaced: drop their entries
            self._record(None)
        path = self.tables_dir / f"{self.name}.xlsx"
        self.tables_dir.mkdir(parents=True, exist_ok=True)
        index = pd.DataFrame(
            {"sheet": [f"T{i + 1:02d}" for i in range(len(self.tables))],
             "table": [c for _, c, _ in self.tables],
             "csv": [n for n, _, _ in self.tables]}
        )
        sheets = {"Contents": index, **{f"T{i + 1:02d}": frame for i, (_, _, frame) in enumerate(self.tables)}}
        return write_excel(sheets, path)


def open_document(
    catalogue: str | Path | None = None,
    document: str = "strategic_assessment",
    out_dir: str | Path | None = None,
    edition: str | None = None,
    offline: bool = False,
    run_date: str | None = None,
    output_name: str | None = None,
    cache_dir: str | Path | None = None,
    published_dir: str | Path | None = None,
    **params: Any,
) -> Document:
    """Start a document: validate the catalogue and prepare numbering and outputs.

    Parameters
    ----------
    catalogue : path, optional
        The data catalogue. Defaults to the demo partnership's ``data_catalogue.yaml``,
        so a notebook opened in JupyterLab runs top to bottom as it stands.
    document : str
        One of ``strategic_assessment``, ``problem_profile``, ``audit``, ``evaluation``,
        ``data_quality``.
    out_dir : path, optional
        Where tables and quality files go. Defaults to ``outputs/interactive``.
    edition : str, optional
        Overrides the catalogue's edition.
    offline : bool
        Inline the map libraries so maps draw without network access.
    run_date : str, optional
        ``YYYY-MM-DD``; the date against which sharing agreements are checked. Today by default.
    output_name : str, optional
        The stem for this document's files (tables, workbook); defaults to ``document``.
        A problem profile run per topic uses e.g. ``problem_profile_violence``.
    cache_dir : path, optional
        Where harmonised intake results are cached between the documents of one run.
    published_dir : path, optional
        The folder the edition is published to, when ``out_dir`` is a staging folder: its
        disclosure register (``paths.disclosure_register``) lists the protected tables other
        documents of the edition published, which this document's tables are audited against.
        Defaults to ``out_dir``.
    **params
        Document-specific parameters (for example ``topic`` for a problem profile).
    """
    doc_name = document.replace("-", "_")
    check_choice(doc_name, "document", DOCUMENTS)
    cat = load_catalogue(catalogue if catalogue is not None else paths.DEMO_CATALOGUE)
    out = Path(out_dir) if out_dir is not None else paths.OUTPUT_DIR / "interactive"
    out.mkdir(parents=True, exist_ok=True)
    settings = cat.documents.get(doc_name)
    title = settings.title if settings else doc_name.replace("_", " ").capitalize()
    when = dt.date.fromisoformat(run_date) if run_date else dt.date.today()
    merged = {**(settings.parameters if settings else {}), **{k: v for k, v in params.items() if v is not None}}
    doc = Document(
        name=output_name or doc_name,
        kind=doc_name,
        cache_dir=Path(cache_dir) if cache_dir else None,
        published_dir=Path(published_dir) if published_dir else None,
        title=title,
        catalogue=cat,
        out_dir=out,
        edition=edition or cat.partnership.edition,
        offline=bool(offline),
        params=merged,
        run_date=when,
    )
    record_shown(doc.record_shown)  # the glossary at the end lists the terms the sections showed
    return doc


def round_table(frame: pd.DataFrame, decimals: dict[str, int] | None = None) -> pd.DataFrame:
    """The table with every number rounded as it is published (HTML, ``tables/*.csv`` and Excel).

    Numbers are rounded to the column's declared decimals, or by the column's type when none is
    declared (:func:`assessment.reporting.display.default_decimals`: percentages and rates 1 place,
    ratios and correlations 2); p-value columns keep three significant figures (so a small p-value
    is not written as 0). A numeric column without declared decimals whose values are all whole
    numbers becomes a whole-number column. Numbers inside text columns (counts beside the
    disclosure marker ``[c]``) are rounded the same way; text is left as it is.
    """
    import numpy as np

    from .display import _P_COLUMN, _YEAR_COLUMN, default_decimals

    decimals = decimals or {}
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_integer_dtype(s):
            continue
        if not (pd.api.types.is_float_dtype(s) or s.dtype == object):
            continue
        p_col = bool(_P_COLUMN.search(str(col)))
        declared = col in decimals
        places = int(decimals[col]) if declared else default_decimals(col)
        if pd.api.types.is_float_dtype(s):
            values = s.to_numpy(dtype=float)
            floats = None
        else:
            floats = s.map(type).isin([float, np.float64, np.float32]).to_numpy(dtype=bool)
            if not floats.any():
                continue
            values = pd.to_numeric(s.where(floats), errors="coerce").to_numpy(dtype=float)
        if p_col:
            with np.errstate(divide="ignore", invalid="ignore"):
                mag = np.floor(np.log10(np.abs(values)))
            digits = np.where(np.isfinite(mag), 2 - mag, 0).astype(int)
            rounded = values.copy()
            for d in np.unique(digits):  # a few distinct magnitudes, not one pass per row
                rounded[digits == d] = np.round(values[digits == d], int(d))
        else:
            rounded = np.round(values, places)
        if floats is None:
            finite = rounded[~np.isnan(rounded)]
            whole = (not p_col and not declared and len(finite) > 0 and bool(np.all(finite == np.round(finite)))
                     and bool(np.all(np.abs(finite) < 2**53)))
            out[col] = pd.array(np.where(np.isnan(rounded), np.nan, rounded), dtype="Float64").astype("Int64") \
                if whole else rounded
        else:
            out[col] = s.where(~floats, pd.Series(rounded, index=s.index, dtype=object))
    return out


def document_metadata(doc: Document, subtitle: str | None = None) -> dict[str, Any]:
    """The metadata the template prints in the header (title, partnership, edition, marking)."""
    p = doc.catalogue.partnership
    return {
        "title": doc.title,
        "subtitle": subtitle,
        "partnership": p.name,
        "edition": doc.edition,
        "marking": p.marking,
        "logo": p.logo,
        "produced": doc.run_date.isoformat(),
        "data_to": pd.Period(p.window.end, freq="M").strftime("%B %Y"),
        "version": __version__,
    }


def warn_once(message: str) -> None:
    """Warn (never print) when data is still usable."""
    warnings.warn(message, stacklevel=2)
