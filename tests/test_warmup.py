"""torch loads only once a run needs it: a plain run's fit runs without it, the parent imports it
on a thread while the fit's workers run, and no pool forks while that thread imports."""

from __future__ import annotations

import gzip
import itertools
import sys
from pathlib import Path

from textbatch.pipeline import fit_pool, warmup


def test_submodules_a_run_opens_before_training_do_not_import_torch(run_python) -> None:
    result = run_python(
        "import sys\n"
        "import textbatch.train, textbatch.train.collectives, textbatch.train.checkpoint\n"
        "import textbatch.pipeline.resume\n"
        "from textbatch.train.collectives import current, setup\n"
        "print(setup().world_size, current().is_rank_zero, 'torch' in sys.modules)\n"
        "from textbatch.train import Trainer\n"  # a lazy name still resolves
        "print(Trainer.__name__, 'torch' in sys.modules)\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["1 True False", "Trainer True"]


def test_a_pooled_fit_imports_torch_on_the_warm_up_thread_and_never_forks_meanwhile(
        run_python, tmp_path, shared_file) -> None:
    source = shared_file("imdb/train.csv.gz")
    data = tmp_path / "train.csv"
    with gzip.open(source, "rb") as handle:
        data.write_bytes(b"".join(itertools.islice(handle, 600)))
    result = run_python(
        "import os, sys, threading\n"
        "os.environ['TEXTBATCH_FIT_WORKERS'] = '2'\n"
        "from textbatch.pipeline import fit_pool, warmup\n"
        "def before_fork():\n"
        "    alive = [t for t in threading.enumerate() if t.name == 'textbatch-warmup']\n"
        "    print('fork, warm-up alive:', bool(alive and alive[0].is_alive()), flush=True)\n"
        "os.register_at_fork(before=before_fork)\n"
        "imports = warmup._import\n"
        "def on_thread(modules):\n"
        "    print('importing', modules, 'on', threading.current_thread().name, flush=True)\n"
        "    imports(modules)\n"
        "warmup._import = on_thread\n"
        "fit = fit_pool._fit_parts\n"
        "def spy(*args, **kwargs):\n"
        "    print('torch at fit start:', 'torch' in sys.modules, flush=True)\n"
        "    return fit(*args, **kwargs)\n"
        "fit_pool._fit_parts = spy\n"
        "from textbatch.cli.main import main\n"
        f"main(['train', {str(data)!r}, '--out', {str(tmp_path / 'run')!r}, '--epochs', '1',"
        f" '--model', 'mlp', '--test', {str(data)!r}, '--block-size', '100'])\n")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "torch at fit start: False" in lines
    assert "importing ['torch'] on textbatch-warmup" in lines
    forks = [line for line in lines if line.startswith("fork, warm-up alive:")]
    # the fit pool (2; it writes the validation cache too), then the test set's: none while
    # the import runs
    assert len(forks) >= 3 and "fork, warm-up alive: True" not in forks
    assert (tmp_path / "run" / "model").is_dir()


def test_a_failed_run_leaves_no_request_behind(tmp_path) -> None:
    from textbatch.errors import TextbatchError
    from textbatch.pipeline import TrainRequest, train

    missing = tmp_path / "absent.csv"
    try:
        train(TrainRequest(train=[str(missing)], out=tmp_path / "run"))
    except TextbatchError:
        pass
    assert not warmup._WANTED and warmup._THREAD is None


def test_a_pool_waits_for_the_warm_up_import_before_it_forks(tmp_path, monkeypatch) -> None:
    (tmp_path / "slow_module_for_warmup.py").write_text(
        "import time\ntime.sleep(0.5)\nDONE = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "slow_module_for_warmup", raising=False)
    warmup.request("slow_module_for_warmup")
    warmup.start()
    pool = fit_pool._start_pool(1)
    try:
        assert getattr(sys.modules["slow_module_for_warmup"], "DONE", False)  # fully imported
        assert pool.submit(sum, [1, 2]).result() == 3
    finally:
        fit_pool.stop_pools([pool])
        sys.modules.pop("slow_module_for_warmup", None)


def test_start_does_nothing_when_the_modules_are_loaded() -> None:
    warmup.wait()
    warmup.request("json")
    warmup.start()
    assert warmup._THREAD is None
