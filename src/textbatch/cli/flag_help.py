"""What each train/tune flag does, its choices and its default, in a user's words.

Keyed by (config section, field name); `cli.train` falls back to a field's own
``metadata["help"]`` first, then to this table. Defaults that depend on the model say so (the
per-model defaults live in the model table and apply only to flags you did not give).
"""

from __future__ import annotations

FLAG_HELP: dict[tuple[str, str], str] = {
    ("read", "format"): "Input format: zhang | csv | tsv | jsonl | parquet | fasttext | label-text | "
                        "folders. "
                        "Default: from the file suffix (compression suffix stripped first).",
    ("read", "text_columns"): "CSV/TSV: column(s) joined into the text, by header name or 0-based "
                              "index. Default: the column named text, or field 1 of "
                              "a headerless two-field file (Zhang CSV: title + text).",
    ("read", "label_column"): "CSV/TSV: the label column, by header name or 0-based index. "
                              "Default: the column named label, or field 0 of a headerless "
                              "two-field file (Zhang: the first column).",
    ("read", "header"): "CSV/TSV: whether the first row is a header. Default: sniffed from the "
                        "file (Zhang CSVs never have one).",
    ("read", "text_field"): "JSONL/Parquet: the field holding the text. Default: text.",
    ("read", "label_field"): "JSONL/Parquet: the field holding the label (a JSON array for "
                             "several labels). Default: label.",
    ("read", "on_bad_records"): "error (stop at the first bad record, naming file and line) | "
                                "skip (count it by reason in report.json). Default: error.",
    ("read", "label_separator"): "CSV/TSV: the label column holds several labels joined by this "
                                 "string (e.g. '|'). Default: one label per row.",
    ("read", "allow_multiline"): "CSV: accept quoted fields longer than 32 lines or 1 MiB; "
                                 "without it such a field is reported as an unclosed quote. "
                                 "Default: off.",
    ("stream", "batch_size"): "Records per optimizer step (the global batch under torchrun). "
                              "Default: 512; sepCNN 128, as the guide.",
    ("stream", "seed"): "Seed of the shuffle, the validation split and the weights; the same "
                        "seed gives the same run. Default: 0.",
    ("stream", "shuffle_buffer"): "Records shuffled together in one window (memory bound of the "
                                  "shuffle). Default: 16384.",
    ("stream", "block_size"): "Records per manifest block, the unit of seeking and of spreading "
                              "work over ranks. Default: 1024.",
    ("stream", "val_fraction"): "Share of the training data held out for validation when no "
                                "--val is given (a stable hash of the text). Default: 0.1.",
    ("stream", "num_workers"): "DataLoader worker processes feeding batches; 0 reads in the "
                               "training process. Default: 0.",
    ("vectorize", "ngram_range"): "Word n-gram sizes for the n-gram vectorizer, as MIN,MAX "
                                  "(at most 2). Default: 1,2 (unigrams + bigrams, the guide's).",
    ("vectorize", "min_df"): "Drop n-grams seen in fewer training records than this. Default: 2.",
    ("vectorize", "top_k"): "Features kept: the top K n-grams by f_classif, or the K most frequent "
                            "tokens for sequences. Default: 50000; sepCNN 20000 (the guide's).",
    ("vectorize", "sublinear_tf"): "Use 1 + log(tf) instead of raw counts. Default: on.",
    ("vectorize", "nb_scale"): "Two-class data: scale features by their naive-Bayes log-count "
                               "ratio (NBSVM). Default: on (off for multi-label data).",
    ("vectorize", "max_counted_ngrams"): "Memory budget of the fit: distinct n-grams counted at "
                                         "once before the rarest are pruned. Default: 4000000.",
    ("vectorize", "max_sequence_length"): "Sequences: cut each text to at most this many tokens. "
                                          "Default: 500 (the guide's).",
    ("vectorize", "padding"): "Sequences: pre | post — which end of a too-long text is cut "
                              "(pre keeps its end, as Keras). Default: pre.",
    ("vectorize", "buckets"): "Hashed vectorizer (ngram-bag): number of hash buckets. "
                              "Default: 2000000.",
    ("model", "layers"): "MLP: dense layers, the output layer included. Default: 2 (the guide's).",
    ("model", "units"): "MLP: units of each hidden layer. Default: 64 (the guide's).",
    ("model", "dropout_rate"): "Dropout before each dense layer. Default: 0.5 for the MLP; "
                               "sepCNN 0.2 (the guide's).",
    ("model", "embedding_dim"): "sepCNN / ngram-bag: embedding size (sepCNN: follows "
                                "--pretrained-embeddings when given). Default: 200; ngram-bag 32.",
    ("model", "filters"): "sepCNN: filters of each separable convolution. Default: 64.",
    ("model", "kernel_size"): "sepCNN: convolution kernel width. Default: 3.",
    ("model", "pool_size"): "sepCNN: max-pooling size between blocks. Default: 3.",
    ("model", "blocks"): "sepCNN: separable-convolution blocks. Default: 2.",
    ("train", "epochs"): "Most epochs to train (early stopping may end sooner). Default: 10.",
    ("train", "learning_rate"): "Optimizer step size. Default: 3e-3 for the MLP; sepCNN 1e-3 "
                                "(Adam, the guide's); ngram-bag 0.1 (row-wise Adagrad).",
    ("train", "lr_schedule"): "How the learning rate moves during training, step by step: "
                              "constant (the same rate throughout) | linear-decay (down in a "
                              "straight line to 0 at the last step of --epochs) | cosine (down "
                              "along half a cosine to 0) | one-cycle (up from rate/25 to the "
                              "rate over the warm-up, 30% of the run when none is given, then "
                              "down to nearly 0). The decaying ones span --epochs, so fewer "
                              "epochs decay faster. Default: constant.",
    ("train", "warmup_epochs"): "Epochs (fractions allowed, e.g. 0.5) over which the rate "
                                "climbs in a straight line to --learning-rate before the "
                                "schedule starts. Default: 0 (no warm-up).",
    ("train", "patience"): "Early stopping: epochs without a better val_loss before stopping "
                           "(best weights restored). Default: 2.",
    ("train", "checkpoint_every"): "Also checkpoint every N steps inside an epoch (0: at epoch "
                                   "ends only). Default: 0.",
    ("train", "checkpoint_seconds"): "At an epoch end, checkpoint only when at least this many "
                                     "seconds passed since the last checkpoint (the last epoch, "
                                     "an early stop and Ctrl-C/SIGTERM always checkpoint); 0: "
                                     "after every epoch. Default: 60.",
    ("train", "keep_checkpoints"): "Checkpoints kept on disk (older ones removed). Default: 2.",
    ("train", "device"): "auto (CUDA when present, else CPU) | cpu | cuda | cuda:N. Default: auto.",
    ("train", "precision"): "Forward-pass precision: auto (bfloat16 autocast for sepCNN on a "
                            "CUDA GPU with bf16, float32 on CPUs) | float32 | bfloat16 (on a "
                            "CPU with AVX512-BF16 or AMX: sepCNN ~1.3x faster). Weights and the "
                            "optimizer stay float32. Default: auto.",
    ("train", "tune_thresholds"): "Multi-label: choose each label's probability threshold on "
                                  "validation (best F1) and save it with the model. Default: off.",
}
