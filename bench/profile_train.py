"""Where every second of ``textbatch train`` goes: start-up, each phase, the hottest functions.

    .venv/bin/python bench/profile_train.py                      # default IMDB run, with --test
    .venv/bin/python bench/profile_train.py --data sms_spam      # a ~5.5k-row set
    .venv/bin/python bench/profile_train.py --data sst2 --top 40 -- --epochs 3

One fresh child process runs the CLI exactly as a user would (``python -m textbatch train``) under
cProfile, so start-up (interpreter + imports before the first phase) is measured too: it is the
child's whole wall time minus the phases report.json accounts for. Figures, never assertions.
Under load, compare CPU seconds (report.json's ``cpu_seconds``) rather than wall seconds.
"""

from __future__ import annotations

import argparse
import json
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".." / "shared" / "data"
SETS = {  # train files, --test files and read flags (CLI spelling)
    "imdb": ([DATA / "imdb/train.csv.gz"], [DATA / "imdb/test.csv.gz"], []),
    "sst2": ([DATA / "sst2/stsa.binary.train"], [DATA / "sst2/stsa.binary.test"],
             ["--val", str(DATA / "sst2/stsa.binary.dev")]),
    "sms_spam": ([DATA / "sms_spam/SMSSpamCollection"], [DATA / "sms_spam/SMSSpamCollection"],
                 ["--format", "tsv", "--label-column", "0", "--text-columns", "1",
                  "--no-header"]),
}


def run(data: str, extra: list[str], out: Path, top: int) -> None:
    train, test, flags = SETS[data]
    profile = out / "train.prof"
    argv = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "textbatch", "train",
            *map(str, train), "--test", *map(str, test), *flags, "--out", str(out / "run"),
            "--verbose", "0", "--overwrite", *extra]
    start = time.perf_counter()
    subprocess.run(argv, check=True)
    wall = time.perf_counter() - start
    report = json.loads((out / "run" / "report.json").read_text())
    phases = report["seconds"]
    print(f"\n## {data}: wall {wall:.2f} s (under cProfile), phases {phases['total']:.2f} s, "
          f"start-up and exit {wall - phases['total']:.2f} s\n")
    print("| phase | wall s | cpu s |\n|---|---|---|")
    for name, seconds in phases.items():
        if name != "total":
            print(f"| {name} | {seconds:.2f} | {report['cpu_seconds'].get(name, 0):.2f} |")
    stats = pstats.Stats(str(profile))
    print(f"\n### top {top} by own time\n")
    stats.sort_stats("tottime").print_stats(top)
    print(f"\n### top {top} by cumulative time\n")
    stats.sort_stats("cumulative").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="imdb", choices=sorted(SETS))
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--keep", type=Path, help="write the run and the profile here")
    parser.add_argument("extra", nargs="*", help="more `textbatch train` flags, after --")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        run(args.data, args.extra, args.keep, args.top)
        return
    with tempfile.TemporaryDirectory() as work:
        run(args.data, args.extra, Path(work), args.top)


if __name__ == "__main__":
    main()
