"""The text-classification guide's batch-training script, rewritten on textbatch and Keras 3.

The guide's version vectorizes the whole training set in memory (TfidfVectorizer + SelectKBest)
and then batches only the gradient steps with ``fit_generator``, which Keras 3 removed. Here:

1. the n-gram vectorizer is fitted in streaming passes over the training file (document
   frequencies, then per-class tf-idf statistics for ``f_classif``): no whole-set matrix;
2. the training and validation sets are vectorized once into a cache on disk (``--cache-dir``,
   default a temporary folder), so each epoch reads numbers rather than re-tokenizing text;
3. the guide's own call trains the guide's MLP on ``textbatch.keras.BatchSequence``s:
   ``model.fit(train_seq, steps_per_epoch=len(train_seq), validation_data=val_seq,
   validation_steps=len(val_seq), callbacks=[EarlyStopping(monitor="val_loss", patience=2)],
   epochs=..., verbose=2)``, with the best weights restored and saved.

Any Keras backend works (``KERAS_BACKEND=torch|jax|tensorflow``)::

    KERAS_BACKEND=torch python examples/keras_batch_training.py \\
        --train ../shared/data/imdb/train.csv.gz --val ../shared/data/imdb/test.csv.gz
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", nargs="+", required=True, help="training files/globs/dirs")
    parser.add_argument("--val", nargs="+", help="validation files (default: a hash split)")
    parser.add_argument("--epochs", type=int, default=1000,
                        help="upper bound; EarlyStopping ends the run (the guide's 1000)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--top-k", type=int, default=20_000, help="n-gram features kept")
    parser.add_argument("--limit", type=int, help="use only the first N rows of each input")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--dropout-rate", type=float, default=0.2)
    parser.add_argument("--patience", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1, help="Keras PyDataset workers")
    parser.add_argument("--use-multiprocessing", action="store_true")
    parser.add_argument("--cache-dir", help="vectorized-cache folder (default: a temp folder)")
    parser.add_argument("--out", default="runs/keras_batch_training",
                        help="folder for the best model (mlp_model.keras)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> float:
    args = parse_args(argv)
    import keras

    from textbatch.config import StreamConfig, VectorizeConfig
    from textbatch.keras import mlp_model, text_sequences

    keras.utils.set_random_seed(args.seed)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="textbatch-keras-") as scratch:
        data = text_sequences(
            args.train, args.val,
            vectorize=VectorizeConfig(kind="ngram", top_k=args.top_k),
            stream=StreamConfig(batch_size=args.batch_size, seed=args.seed),
            cache_dir=args.cache_dir or scratch, limit=args.limit,
            workers=args.workers, use_multiprocessing=args.use_multiprocessing)
        prepared = time.perf_counter()
        print(f"Vectorized: {data.info['train_records']:,} train / {data.info['val_records']:,} "
              f"val records, {data.num_features:,} features, {data.num_classes} classes "
              f"({prepared - started:.1f}s)", flush=True)
        train_seq, val_seq = data.train, data.val
        if val_seq is None:
            raise SystemExit("No validation data: pass --val FILE.")

        model = mlp_model(layers=args.layers, units=args.units, dropout_rate=args.dropout_rate,
                          input_shape=(data.num_features,), num_classes=data.num_classes,
                          learning_rate=args.learning_rate)
        # The guide's callback, plus the best weights it forgets to keep.
        callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=args.patience,
                                                   restore_best_weights=True)]
        history = model.fit(
            train_seq,
            steps_per_epoch=len(train_seq),
            validation_data=val_seq,
            validation_steps=len(val_seq),
            callbacks=callbacks,
            epochs=args.epochs,
            verbose=2,
        )
        trained = time.perf_counter()
        loss, accuracy = model.evaluate(val_seq, steps=len(val_seq), verbose=0)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "mlp_model.keras")
    epochs_run = len(history.history["loss"])
    print(f"Trained {epochs_run} epochs in {trained - prepared:.1f}s; best weights saved to "
          f"{out / 'mlp_model.keras'}")
    print(f"Validation accuracy: {accuracy:.4f}, loss: {loss:.4f} "
          f"(total {time.perf_counter() - started:.1f}s)")
    return float(accuracy)


if __name__ == "__main__":
    main()
