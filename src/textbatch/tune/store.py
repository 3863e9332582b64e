"""The trial store: one row per finished trial in ``trials.jsonl`` and ``trials.csv``, both
rewritten atomically as each trial finishes, so a tune killed at any moment leaves every finished
trial on disk and none half-written. Re-running the same command reads them back and trains only
the trials not yet done (complete, pruned and failed trials are all "done").

``tune.json`` holds the search's identity (data + base settings + metric): a folder that holds
the trials of another search is refused rather than mixed with this one.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from textbatch.errors import ConfigError
from textbatch.io import atomic_write

State = Literal["complete", "pruned", "failed"]
METRICS = {"val_loss": "min", "val_accuracy": "max", "macro_f1": "max"}
IDENTITY_FILE = "tune.json"
COLUMNS = ("best_epoch", "epochs_run", "val_loss", "val_accuracy", "macro_f1", "seconds",
           "error")


@dataclass
class TrialRecord:
    """One finished trial: its settings, where its validation curve ended and why."""

    number: int  # 0-based, in the order trials were started
    params: dict[str, Any]
    state: State
    value: float | None = None  # the tuned metric at the best epoch (None when failed)
    best_epoch: int | None = None  # 1-based
    epochs_run: int = 0
    val_loss: float | None = None
    val_accuracy: float | None = None
    macro_f1: float | None = None
    seconds: float = 0.0  # training and scoring, without the shared vectorizer fit
    error: str | None = None
    curve: list[float] = field(default_factory=list)  # the pruning metric after each epoch

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrialRecord":
        return cls(**data)


def better(metric: str, a: float, b: float | None) -> bool:
    """Whether ``a`` beats ``b`` for ``metric`` (anything beats None)."""
    if b is None or (isinstance(b, float) and math.isnan(b)):
        return True
    return a < b if METRICS[metric] == "min" else a > b


class TrialStore:
    """The finished trials of one search in ``folder``; ``add`` persists each one at once."""

    def __init__(self, folder: Path, identity: dict[str, Any], records: list[TrialRecord]):
        self.folder, self.identity, self.records = Path(folder), identity, records

    @classmethod
    def open(cls, folder: Path, identity: dict[str, Any], overwrite: bool = False
             ) -> "TrialStore":
        """The store in ``folder``: its trials when it holds this search (``identity``), empty
        when new or ``overwrite``; a folder of another search is refused."""
        folder = Path(folder)
        identity = json.loads(json.dumps(identity))  # compared as JSON (tuples become lists)
        saved = _read_json(folder / IDENTITY_FILE)
        if saved is not None and saved != identity and not overwrite:
            changed = sorted(k for k in set(saved) | set(identity)
                             if saved.get(k) != identity.get(k))
            raise ConfigError(f"{folder} holds the trials of another search (differs in "
                              f"{changed}). Pass --overwrite to start over, or another --out.")
        if overwrite or saved is None:
            _clear(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_write(folder / IDENTITY_FILE, "w", encoding="utf-8") as handle:
            json.dump(identity, handle, indent=2)
        return cls(folder, identity, _read_records(folder / "trials.jsonl"))

    def find(self, params: dict[str, Any]) -> TrialRecord | None:
        """The finished trial with exactly these settings, if any."""
        wanted = json.dumps(params, sort_keys=True)
        return next((r for r in self.records if json.dumps(r.params, sort_keys=True) == wanted),
                    None)

    @property
    def next_number(self) -> int:
        return 1 + max((r.number for r in self.records), default=-1)

    def add(self, record: TrialRecord) -> None:
        """Keep ``record`` and rewrite trials.jsonl and trials.csv (each atomically)."""
        self.records.append(record)
        lines = "".join(json.dumps(asdict(r)) + "\n" for r in self.records)
        with atomic_write(self.folder / "trials.jsonl", "w", encoding="utf-8") as handle:
            handle.write(lines)
        with atomic_write(self.folder / "trials.csv", "w", encoding="utf-8") as handle:
            handle.write(self.csv_text())

    def csv_text(self) -> str:
        """The trials as CSV: number, state, one column per setting, the metric, the rest."""
        names = list(dict.fromkeys(k for r in self.records for k in r.params))
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["number", "state", *names, "value", *COLUMNS])
        for r in self.records:
            row = asdict(r)
            writer.writerow([r.number, r.state, *(r.params.get(n, "") for n in names),
                             _cell(r.value), *(_cell(row[c]) for c in COLUMNS)])
        return buffer.getvalue()

    def best(self, metric: str) -> TrialRecord | None:
        """The complete trial with the best ``metric`` (pruned and failed ones never win)."""
        best: TrialRecord | None = None
        for record in self.records:
            if record.state == "complete" and record.value is not None and better(
                    metric, record.value, None if best is None else best.value):
                best = record
        return best


def _cell(value: Any) -> Any:
    return "" if value is None else round(value, 6) if isinstance(value, float) else value


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc}). Pass --overwrite to start over.")


def _read_records(path: Path) -> list[TrialRecord]:
    """The trials of an earlier run (the file is whole: it is only ever replaced atomically)."""
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        try:
            records.append(TrialRecord.from_dict(json.loads(line)))
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{path}:{number}: not a trial record ({exc}). Pass --overwrite "
                              "to start over.") from None
    return records


def _clear(folder: Path) -> None:
    """Remove a previous search's results (never the folder's other files)."""
    for name in ("trials.jsonl", "trials.csv", IDENTITY_FILE, "best.toml", "report.json"):
        (folder / name).unlink(missing_ok=True)
    for name in ("model", "trials", "plots"):
        shutil.rmtree(folder / name, ignore_errors=True)
