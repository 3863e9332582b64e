"""Plots are PNGs made without pyplot's global state, and ``prewarm`` imports matplotlib on a
thread while training runs."""

from __future__ import annotations

import threading
from pathlib import Path

from textbatch import plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HISTORY = {"loss": [0.7, 0.4, 0.3], "val_loss": [0.6, 0.45, 0.5],
           "accuracy": [0.6, 0.8, 0.9], "val_accuracy": [0.65, 0.78, 0.77]}


def test_plots_after_a_prewarm_are_pngs(tmp_path: Path) -> None:
    """prewarm imports on a thread; the plots drawn right after it (waiting on that import if
    it is still running) are whole PNGs, written atomically."""
    plots.prewarm()
    made = [plots.history_plot(HISTORY, tmp_path / "a" / "history.png"),
            plots.confusion_plot([[5, 1], [2, 7]], ["neg", "pos"],
                                 tmp_path / "b" / "confusion.png")]
    assert isinstance(plots._warming, threading.Thread)
    for path in made:
        assert path.read_bytes()[:8] == PNG_MAGIC
        assert not list(path.parent.glob(".*tmp*"))  # written atomically, nothing left over


def test_making_plots_leaves_pyplot_alone(run_python) -> None:
    """A library must not switch the caller's matplotlib backend or import pyplot."""
    result = run_python("from pathlib import Path; import tempfile, sys\n"
                        "from textbatch import plots\n"
                        "plots.prewarm()\n"
                        "plots.history_plot({'loss': [1.0, 0.5]}, "
                        "Path(tempfile.mkdtemp()) / 'h.png')\n"
                        "print('matplotlib.pyplot' in sys.modules)\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
