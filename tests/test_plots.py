"""Plots are PNGs made without pyplot's global state; a training run's are drawn by a child
process (``BackgroundPlots``) that reports its failures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from textbatch import plots
from textbatch.errors import TextbatchError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HISTORY = {"loss": [0.7, 0.4, 0.3], "val_loss": [0.6, 0.45, 0.5],
           "accuracy": [0.6, 0.8, 0.9], "val_accuracy": [0.65, 0.78, 0.77]}


def _assert_whole_pngs(*paths: Path) -> None:
    for path in paths:
        assert path.read_bytes()[:8] == PNG_MAGIC
        assert not list(path.parent.glob(".*tmp*"))  # written atomically, nothing left over


def test_plots_drawn_in_this_process_are_pngs(tmp_path: Path) -> None:
    _assert_whole_pngs(plots.history_plot(HISTORY, tmp_path / "a" / "history.png"),
                       plots.confusion_plot([[5, 1], [2, 7]], ["neg", "pos"],
                                            tmp_path / "b" / "confusion.png"))


def test_background_plots_are_written_when_the_block_ends(tmp_path: Path) -> None:
    """numpy values (float32 history, an int64 confusion matrix) travel to the child."""
    history = {key: list(np.asarray(values, dtype=np.float32)) for key, values in HISTORY.items()}
    with plots.BackgroundPlots() as drawing:
        assert drawing._child is not None  # a real child process draws them
        drawing.draw("history_plot", history, tmp_path / "history.png")
        drawing.draw("confusion_plot", np.array([[5, 1], [2, 7]]), ["neg", "pos"],
                     tmp_path / "confusion.png")
    _assert_whole_pngs(tmp_path / "history.png", tmp_path / "confusion.png")


def test_a_failed_background_plot_is_an_error_naming_the_reason(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the plot's folder should be")
    drawing = plots.BackgroundPlots()
    drawing.draw("history_plot", HISTORY, blocker / "history.png")
    with pytest.raises(TextbatchError, match="drawing the plots failed: .*Error.*plots/"):
        drawing.close()


def test_only_the_training_plots_are_drawn_in_the_background(tmp_path: Path) -> None:
    with plots.BackgroundPlots() as drawing:
        with pytest.raises(ValueError, match="not drawn in the background"):
            drawing.draw("bar_chart", ["a"], [1], "t", "x", "y", tmp_path / "b.png")


def test_making_plots_leaves_pyplot_alone(run_python) -> None:
    """A library must not switch the caller's matplotlib backend or import pyplot."""
    result = run_python("from pathlib import Path; import tempfile, sys\n"
                        "from textbatch import plots\n"
                        "plots.history_plot({'loss': [1.0, 0.5]}, "
                        "Path(tempfile.mkdtemp()) / 'h.png')\n"
                        "print('matplotlib.pyplot' in sys.modules)\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
