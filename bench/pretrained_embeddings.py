"""Do pretrained vectors help sepCNN on a small movie-text set? Vectors made here, offline.

    .venv/bin/python bench/pretrained_embeddings.py --gensim-python /tmp/w2v/bin/python

The guide fine-tunes GloVe 6B vectors; with no network this trains word2vec (gensim, which is
not a textbatch dependency: pass an interpreter that has it) on IMDB's 25,000 training reviews,
tokenized by textbatch's own analyzer so the words match the vocabulary, writes them as a
word2vec text file (``.vec.gz``), then trains sepCNN on SST-2 (train / dev as validation /
test) three ways: random embedding, pretrained and frozen, pretrained then fine-tuned
(``--fine-tune-embeddings``). Prints validation and test accuracy side by side.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, print_table  # noqa: E402

W2V = """
import sys
from gensim.models import Word2Vec
class Lines:
    def __iter__(self):
        with open(sys.argv[1], encoding="utf-8") as handle:
            for line in handle:
                yield line.split()
model = Word2Vec(Lines(), vector_size=int(sys.argv[3]), window=5, min_count=2, workers=2,
                 epochs=int(sys.argv[4]), seed=0)
model.wv.save_word2vec_format(sys.argv[2])
"""


def tokenized_imdb(out: Path) -> Path:
    """IMDB's training texts (labels unused), one review per line as analyzer tokens."""
    from textbatch.config import ReadConfig
    from textbatch.readers.base import BadRecords
    from textbatch.readers.registry import read_records
    from textbatch.text.analyzer import Analyzer

    path = out / "imdb_tokens.txt"
    if path.exists():
        return path
    analyzer = Analyzer((1, 1))
    shards = [str(SHARED_DATA / "imdb" / "train.csv.gz")]
    partial = path.with_suffix(".tmp")
    with open(partial, "w", encoding="utf-8") as handle:
        for record in read_records(shards, ReadConfig(), BadRecords("error")):
            handle.write(" ".join(analyzer.tokens(record.text)) + "\n")
    partial.rename(path)  # a killed run leaves no half file that looks finished
    return path


def word2vec(gensim_python: str, tokens: Path, out: Path, dim: int, epochs: int) -> Path:
    vectors = out / f"imdb_w2v_{dim}d.vec"
    packed = vectors.with_suffix(".vec.gz")
    if not packed.exists():
        subprocess.run([gensim_python, "-c", W2V, str(tokens), str(vectors), str(dim), str(epochs)],
                       check=True)
        with open(vectors, "rb") as src, gzip.open(packed, "wb") as dst:
            dst.write(src.read())
        vectors.unlink()
    return packed


def train_sst2(out: Path, extra: list[str]) -> dict:
    data = SHARED_DATA / "sst2"
    cmd = [sys.executable, "-m", "textbatch", "train", str(data / "stsa.binary.train"),
           "--val", str(data / "stsa.binary.dev"), "--test", str(data / "stsa.binary.test"),
           "--model", "sepcnn", "--out", str(out), "--overwrite", "--verbose", "0", *extra]
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    metrics = json.loads((out / "metrics.json").read_text())
    metrics["seconds"] = time.perf_counter() - start
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gensim-python", required=True, help="an interpreter with gensim")
    parser.add_argument("--out", type=Path, default=Path("runs/pretrained"))
    parser.add_argument("--dim", type=int, default=100, help="word2vec dimensions (default 100)")
    parser.add_argument("--w2v-epochs", type=int, default=5)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    vectors = word2vec(args.gensim_python, tokenized_imdb(args.out), args.out, args.dim,
                       args.w2v_epochs)
    print(f"word2vec vectors: {vectors} ({time.perf_counter() - start:.0f} s)", flush=True)
    runs = {
        f"random init ({args.dim} dims)": ["--embedding-dim", str(args.dim)],
        "word2vec, frozen": ["--pretrained-embeddings", str(vectors)],
        "word2vec, frozen then fine-tuned": ["--pretrained-embeddings", str(vectors),
                                             "--fine-tune-embeddings"],
    }
    rows = []
    for name, extra in runs.items():
        metrics = train_sst2(args.out / name.split(",")[0].replace(" ", "_") /
                             str(len(rows)), extra)
        rows.append([name, metrics["val_accuracy"], metrics["test_accuracy"],
                     metrics.get("epochs_run", ""), round(metrics["seconds"])])
        print(rows[-1], flush=True)
    print_table(["SST-2 sepCNN embedding", "val accuracy", "test accuracy", "epochs", "s"],
                [[r[0], f"{r[1]:.4f}", f"{r[2]:.4f}", r[3], r[4]] for r in rows])


if __name__ == "__main__":
    main()
