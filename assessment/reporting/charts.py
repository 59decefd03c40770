"""Matplotlib charts for partner documents (static PNG, with alt text supplied by the caller).

Each ``chart_*`` function returns a matplotlib Figure; ``Document.figure`` numbers it
and embeds it. Series breaks from the catalogue are drawn as labelled vertical lines,
so a step caused by a counting-rule change is never read as a trend.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..checks import check_dataframe  # noqa: E402

INK = "#1b1b1b"
SERIES = ("#0b4f6c", "#c8553d", "#2a9d8f", "#6a4c93", "#8d6a00", "#1d5e20", "#b5179e", "#4a4a4a")


def _style(ax: plt.Axes, title: str, ylabel: str) -> None:
    ax.set_title(title, loc="left", fontsize=11, color=INK)
    ax.set_ylabel(ylabel, color=INK)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    ax.tick_params(colors=INK, labelsize=9)


def chart_monthly(
    series: pd.DataFrame,
    *,
    month: str = "month",
    value: str = "count",
    group: str | None = None,
    title: str = "",
    ylabel: str = "Count per month",
    breaks: pd.DataFrame | None = None,
    rolling: bool = False,
    band: tuple[str, str] | None = None,
    forecast: pd.DataFrame | None = None,
) -> plt.Figure:
    """Monthly line chart, one line per group, with series breaks and optional bands.

    Parameters
    ----------
    series : DataFrame
        Long table with ``month`` (YYYY-MM) and ``value`` (and ``group``) columns.
    breaks : DataFrame, optional
        ``month`` and ``label`` columns; each is drawn as a dashed vertical line.
    rolling : bool
        Add a 12-month rolling mean as a thinner line.
    band : (lower, upper), optional
        Columns of a shaded band (control limits) around the first series.
    forecast : DataFrame, optional
        ``month``, ``forecast``, ``lower``, ``upper``: drawn dashed with its interval.
    """
    cols = [month, value] + ([group] if group else [])
    check_dataframe(series, "series", cols)
    fig, ax = plt.subplots(figsize=(9, 3.6))
    data = series.copy()
    data["_t"] = pd.PeriodIndex(data[month].astype(str), freq="M").to_timestamp()
    groups = [(None, data)] if group is None else list(data.groupby(group, sort=True))
    if len(groups) > len(SERIES):
        import warnings

        warnings.warn(f"chart_monthly draws at most {len(SERIES)} groups, got {len(groups)}; "
                      "the rest are left out", stacklevel=2)
    for i, (name, g) in enumerate(groups[: len(SERIES)]):
        g = g.sort_values("_t")
        colour = SERIES[i % len(SERIES)]
        ax.plot(g["_t"], g[value], color=colour, linewidth=1.8, label=str(name) if name is not None else None)
        if rolling and len(g) >= 12:
            ax.plot(g["_t"], g[value].rolling(12).mean(), color=colour, linewidth=1, linestyle=":",
                    label=f"{name} (12-month mean)" if name is not None else "12-month mean")
        if band is not None and i == 0:
            ax.fill_between(g["_t"], g[band[0]], g[band[1]], color=colour, alpha=0.12, label="control limits")
    if forecast is not None and len(forecast):
        f = forecast.copy()
        f["_t"] = pd.PeriodIndex(f["month"].astype(str), freq="M").to_timestamp()
        ax.plot(f["_t"], f["forecast"], color=SERIES[0], linestyle="--", linewidth=1.5, label="forecast")
        ax.fill_between(f["_t"], f["lower"], f["upper"], color=SERIES[0], alpha=0.1, label="95% prediction interval")
    if breaks is not None and len(breaks):
        top = ax.get_ylim()[1]
        for m, label in zip(breaks["month"].astype(str), breaks["label"].astype(str)):
            x = pd.Period(m, freq="M").to_timestamp()
            ax.axvline(x, color="#8a1c1c", linestyle="--", linewidth=1)
            ax.text(x, top, f" series break: {label}", color="#8a1c1c", fontsize=8, va="top")
    _style(ax, title, ylabel)
    ax.set_ylim(bottom=0)
    if group is not None or rolling or band or forecast is not None:
        ax.legend(fontsize=8, frameon=False, ncol=2)
    fig.autofmt_xdate()
    return fig


def chart_bars(
    table: pd.DataFrame,
    *,
    label: str,
    value: str,
    title: str = "",
    xlabel: str = "",
    lower: str | None = None,
    upper: str | None = None,
    reference: float | None = None,
    reference_label: str = "",
    highlight: Sequence[str] = (),
) -> plt.Figure:
    """Horizontal bar chart, sorted, with optional confidence intervals and a reference line."""
    check_dataframe(table, "table", [label, value])
    data = table.sort_values(value)
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.28 * len(data) + 1)))
    colours = np.where(data[label].astype(str).isin(list(highlight)), "#c8553d", SERIES[0])
    y = np.arange(len(data))
    ax.barh(y, data[value], color=colours)
    if lower and upper:
        err = np.vstack([data[value] - data[lower], data[upper] - data[value]]).clip(min=0)
        ax.errorbar(data[value], y, xerr=err, fmt="none", ecolor=INK, elinewidth=1, capsize=2)
    if reference is not None:
        ax.axvline(reference, color="#8a1c1c", linestyle="--", linewidth=1, label=reference_label or None)
        if reference_label:
            ax.legend(fontsize=8, frameon=False)
    ax.set_yticks(y, data[label].astype(str))
    _style(ax, title, "")
    ax.set_xlabel(xlabel, color=INK)
    ax.grid(axis="x", color="#dddddd", linewidth=0.8)
    ax.grid(axis="y", visible=False)
    return fig


def chart_heatmap(
    matrix: pd.DataFrame, *, title: str = "", xlabel: str = "", ylabel: str = "", fmt: str = "{:,.0f}",
    marker: str = "[c]",
) -> plt.Figure:
    """A labelled heat map (e.g. day of week by hour, or the 4x4 priority grid).

    ``matrix`` may be a published table of protected counts: a cell holding ``marker`` (``'[c]'``)
    is suppressed and is drawn hatched grey, labelled ``[c]`` and named "suppressed" in the
    legend, never coloured at a value. Missing cells (NaN) are treated the same way, so a chart
    drawn from a published table whose suppressed cells became NaN still shows them as suppressed.
    """
    from matplotlib.patches import Patch, Rectangle

    if not isinstance(matrix, pd.DataFrame):
        raise TypeError(f"`matrix` must be a DataFrame, got {type(matrix).__name__}")
    marked = matrix.isin([marker]).to_numpy()
    values = matrix.mask(marked).apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)  # column-wise
    suppressed = marked | np.isnan(values)
    fig, ax = plt.subplots(figsize=(min(12, 1 + 0.5 * matrix.shape[1]), 1 + 0.45 * matrix.shape[0]))
    cmap = matplotlib.colormaps["YlOrRd"].with_extremes(bad="#bdbdbd")
    im = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, aspect="auto")
    for r, c in np.argwhere(suppressed):  # the suppressed cells only
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor="#bdbdbd", edgecolor="#5a5a5a", hatch="///",
                               linewidth=0))
    ax.set_xticks(range(matrix.shape[1]), [str(c) for c in matrix.columns], fontsize=8,
                  rotation=45 if max((len(str(c)) for c in matrix.columns), default=0) > 3 else 0, ha="right")
    ax.set_yticks(range(matrix.shape[0]), [str(r) for r in matrix.index], fontsize=8)
    if matrix.size <= 200:
        vmax = np.nanmax(values) if np.isfinite(values).any() else 0  # noqa: PLW2901
        for (r, c), v in np.ndenumerate(values):
            text = marker if suppressed[r, c] else ("" if np.isnan(v) else fmt.format(v))
            ax.text(c, r, text, ha="center", va="center", fontsize=7,
                    color="white" if vmax and v > 0.6 * vmax else INK)
    if suppressed.any():
        ax.legend(handles=[Patch(facecolor="#bdbdbd", edgecolor="#5a5a5a", hatch="///",
                                 label=f"suppressed ({marker}): a small count, or one that would reveal it")],
                  loc="upper left", bbox_to_anchor=(0, -0.18), fontsize=8, frameon=False)
    ax.set_title(title, loc="left", fontsize=11, color=INK)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.colorbar(im, ax=ax, shrink=0.8)
    return fig
