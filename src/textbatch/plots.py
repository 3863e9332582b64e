"""PNG plots for people: class distribution, words per sample, top n-grams, training history,
confusion matrix. Figures are matplotlib ``Figure`` objects drawn by the Agg canvas (no screen,
no pyplot state, no backend switch for a caller that uses pyplot); matplotlib is imported on
first use.

A training run draws its plots in a child process (``BackgroundPlots``): importing matplotlib
(~0.45 s) and drawing (~0.15 s a figure) on a thread of the training process held the GIL that
training needs, which on a small data set was a fifth of the whole run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence

from textbatch.errors import TextbatchError
from textbatch.io import atomic_write

# what BackgroundPlots may ask its child to draw (plot functions of this module)
DRAWN_IN_BACKGROUND = ("history_plot", "confusion_plot")


class BackgroundPlots:
    """Plots drawn by a child Python process (``python -m textbatch.plots``) while this one
    goes on: the child imports matplotlib as soon as it starts, at a lower CPU priority, and
    draws each ``draw`` request in order. ``close`` (or the end of a ``with`` block) waits for
    every plot asked for and raises if one failed; where no child can be started the plots
    are drawn in this process instead."""

    def __init__(self) -> None:
        try:
            self._child: subprocess.Popen | None = subprocess.Popen(
                [sys.executable, "-m", "textbatch.plots"], stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                env=_child_environment())
        except OSError:
            self._child = None

    def draw(self, plot: str, *args: Any) -> None:
        """Ask for ``plot`` (a name in ``DRAWN_IN_BACKGROUND``) of ``args``, its last one the
        PNG's path; the arguments must be JSON data (numpy scalars and arrays are converted)."""
        if plot not in DRAWN_IN_BACKGROUND:
            raise ValueError(f"{plot!r} is not drawn in the background: one of "
                             f"{', '.join(DRAWN_IN_BACKGROUND)}")
        if self._child is None:
            globals()[plot](*args)
            return
        request = json.dumps([plot, [str(a) if isinstance(a, Path) else a for a in args]],
                             default=_json_value)
        try:
            self._child.stdin.write(request + "\n")  # type: ignore[union-attr]
            self._child.stdin.flush()  # type: ignore[union-attr]
        except BrokenPipeError:  # the child died: close() says why
            pass

    def close(self) -> None:
        """Wait until every plot asked for is written; a failed child is a ``TextbatchError``
        naming the reason it gave (the CLI prints it as one line, not a traceback)."""
        if self._child is None:
            return
        child, self._child = self._child, None
        _, errors = child.communicate()
        if child.returncode != 0:
            reason = errors.strip().splitlines()[-1] if errors.strip() else \
                f"exit status {child.returncode}"
            raise TextbatchError(f"drawing the plots failed: {reason}. The model and "
                                 "metrics.json are written; only the PNGs under plots/ are "
                                 "missing")

    def kill(self) -> None:
        """Stop the child without waiting for its plots (the run failed)."""
        if self._child is not None:
            self._child.kill()
            self._child.communicate()
            self._child = None

    def __enter__(self) -> "BackgroundPlots":
        return self

    def __exit__(self, kind: type | None, *_: Any) -> None:
        if kind is None:
            self.close()
        else:
            self.kill()


def _child_environment() -> dict[str, str]:
    """This environment, with this textbatch first on the child's import path (a checkout or
    an unpacked snapshot imports itself, not whatever else is installed)."""
    package_root = str(Path(__file__).resolve().parents[1])
    path = [package_root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


def _json_value(value: Any) -> Any:
    """numpy scalars and arrays (a confusion matrix, a history of float32s) as JSON data."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON data")


def _serve() -> None:
    """The child's side of ``BackgroundPlots``: import matplotlib now, then draw each request
    (one JSON line: [plot name, arguments]) until the parent closes standard input."""
    if hasattr(os, "nice"):
        os.nice(5)  # the parent's training comes first where no CPU is idle
    _import_figure()
    for line in sys.stdin:
        plot, args = json.loads(line)
        if plot not in DRAWN_IN_BACKGROUND:
            raise SystemExit(f"unknown plot {plot!r}")
        *values, path = args
        globals()[plot](*values, Path(path))


def _import_figure() -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401 - savefig's canvas
    from matplotlib.figure import Figure

    return Figure


def _figure(figsize: tuple[float, float]) -> Any:
    """A new Figure of ``figsize`` inches (imports matplotlib if ``prewarm`` has not)."""
    return _import_figure()(figsize=figsize)


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=110, bbox_inches="tight")
    return path


def bar_chart(labels: Sequence[str], values: Sequence[float], title: str, xlabel: str,
              ylabel: str, path: Path, horizontal: bool = False) -> Path:
    """A labelled bar chart (horizontal for long labels such as n-grams)."""
    fig = _figure((8, max(3.0, 0.28 * len(labels)) if horizontal else 4))
    ax = fig.subplots()
    if horizontal:
        ax.barh(list(labels)[::-1], list(values)[::-1])
    else:
        ax.bar(list(labels), list(values))
        ax.tick_params(axis="x", rotation=45 if len(labels) > 6 else 0)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return _save(fig, path)


def histogram(counts: dict[int, int], title: str, xlabel: str, path: Path, bins: int = 50) -> Path:
    """Histogram of integer values given as {value: count} (e.g. words per sample)."""
    fig = _figure((8, 4))
    ax = fig.subplots()
    values = sorted(counts)
    ax.hist(values, bins=bins, weights=[counts[v] for v in values])
    ax.set(title=title, xlabel=xlabel, ylabel="Number of samples")
    return _save(fig, path)


def history_plot(history: dict[str, list[float]], path: Path) -> Path:
    """Loss and accuracy per epoch, training next to validation."""
    fig = _figure((10, 4))
    axes = fig.subplots(1, 2)
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for key in (metric, f"val_{metric}"):
            if history.get(key):
                epochs = range(1, len(history[key]) + 1)
                ax.plot(list(epochs), history[key], marker="o", label=key)
        ax.set(title=metric, xlabel="Epoch")
        ax.legend()
    return _save(fig, path)


def confusion_plot(matrix: Sequence[Sequence[int]], class_names: Sequence[str], path: Path) -> Path:
    """Confusion matrix, true classes on rows, predicted on columns, counts in the cells."""
    size = max(4.0, 0.6 * len(class_names) + 2)
    fig = _figure((size, size))
    ax = fig.subplots()
    ax.imshow(matrix, cmap="Blues")
    ticks = range(len(class_names))
    ax.set(xticks=list(ticks), yticks=list(ticks), xlabel="Predicted", ylabel="True")
    ax.set_xticklabels(class_names, rotation=45, ha="right")
    ax.set_yticklabels(class_names)
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            ax.text(j, i, str(value), ha="center", va="center", fontsize=8)
    return _save(fig, path)


def tune_plot(params: Sequence[dict], values: Sequence[float], names: Sequence[str],
              metric: str, path: Path) -> Path:
    """The guide's tuning plot: a heat map of ``metric`` over two searched settings (the
    guide's layers x units surface, seen from above); one panel per setting otherwise, each
    trial a point (a setting's effect across the others)."""
    if len(names) == 2:
        return _save(_heat_map(params, values, names, metric), path)
    fig = _figure((4 * len(names), 3.5))
    axes = fig.subplots(1, len(names), squeeze=False)
    for ax, name in zip(axes[0], names):
        column = [p[name] for p in params]
        ticks = sorted(set(column), key=_order)
        positions = [ticks.index(v) for v in column] if not _numeric(ticks) else column
        ax.scatter(positions, list(values), alpha=0.7)
        if not _numeric(ticks):
            ax.set_xticks(range(len(ticks)), [str(t) for t in ticks])
        ax.set(xlabel=name, ylabel=metric)
    fig.suptitle(f"{metric} per trial")
    return _save(fig, path)


def _heat_map(params: Sequence[dict], values: Sequence[float], names: Sequence[str],
              metric: str) -> Any:
    """Rows: the first setting's values, columns: the second's; a cell without a scored trial
    stays blank."""
    import numpy as np

    rows = sorted({p[names[0]] for p in params}, key=_order)
    cols = sorted({p[names[1]] for p in params}, key=_order)
    grid = np.full((len(rows), len(cols)), np.nan)
    for p, value in zip(params, values):
        grid[rows.index(p[names[0]]), cols.index(p[names[1]])] = value
    fig = _figure((1.1 * len(cols) + 3, 0.8 * len(rows) + 2))
    ax = fig.subplots()
    image = ax.imshow(grid, cmap="viridis" if "loss" not in metric else "viridis_r",
                      aspect="auto")
    ax.set_xticks(range(len(cols)), [str(c) for c in cols])
    ax.set_yticks(range(len(rows)), [str(r) for r in rows])
    ax.set(xlabel=names[1], ylabel=names[0], title=f"{metric} per trial")
    for i in range(len(rows)):
        for j in range(len(cols)):
            if not np.isnan(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.4f}", ha="center", va="center", fontsize=8,
                        color="white")
    fig.colorbar(image, ax=ax, label=metric)
    return fig


def _numeric(values: Sequence) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _order(value):
    """Numbers by value, everything else by text (an n-gram range "1-2")."""
    return (0, value, "") if _numeric([value]) else (1, 0, str(value))


if __name__ == "__main__":
    _serve()
