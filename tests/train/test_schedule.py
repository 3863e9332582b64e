"""Learning-rate schedules: the rate at given steps, in the fit loop, and in the settings."""

from __future__ import annotations

import math

import pytest
import torch

from textbatch.config import ModelConfig, RunConfig, TrainConfig
from textbatch.errors import ConfigError
from textbatch.models import build_model
from textbatch.pipeline.resume import fingerprint_diff, run_fingerprint
from textbatch.train import Callback, Trainer, seed_everything
from textbatch.train.schedule import LearningRateScheduler, LRSchedule, warmup_steps


def test_constant_is_the_base_rate_and_warms_up_in_a_straight_line() -> None:
    assert [LRSchedule("constant", 0.1, 10).lr(t) for t in (0, 5, 9)] == [0.1, 0.1, 0.1]
    warm = LRSchedule("constant", 0.1, 10, warmup_steps=4)
    assert [warm.lr(t) for t in range(6)] == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1, 0.1])


def test_linear_decay_falls_from_the_base_rate_towards_zero_at_the_end() -> None:
    schedule = LRSchedule("linear-decay", 1.0, 10, warmup_steps=2)
    assert [schedule.lr(t) for t in range(10)] == pytest.approx(
        [0.5, 1.0, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125])
    assert schedule.lr(50) == schedule.lr(9)  # past the end: the last rate, never negative


def test_cosine_is_half_a_cosine_after_the_warm_up() -> None:
    schedule = LRSchedule("cosine", 2.0, 12, warmup_steps=4)
    assert schedule.lr(3) == pytest.approx(2.0)
    assert schedule.lr(4) == pytest.approx(2.0)  # the decay starts at the base rate
    assert schedule.lr(8) == pytest.approx(1.0)  # half-way: half the rate
    assert schedule.lr(11) == pytest.approx(1.0 + math.cos(math.pi * 7 / 8))
    rates = [schedule.lr(t) for t in range(4, 12)]
    assert all(a > b > 0 for a, b in zip(rates, rates[1:]))


@pytest.mark.parametrize("total, pct_start", [(100, 0.3), (37, 0.3), (40, 0.25)])
def test_one_cycle_gives_the_rates_of_torchs_one_cycle_lr(total, pct_start) -> None:
    param = torch.nn.Parameter(torch.zeros(1))
    sgd = torch.optim.SGD([param], lr=0.1)
    torch_schedule = torch.optim.lr_scheduler.OneCycleLR(
        sgd, max_lr=0.1, total_steps=total, pct_start=pct_start, cycle_momentum=False)
    expected = []
    for _ in range(total):
        expected.append(sgd.param_groups[0]["lr"])
        sgd.step()
        torch_schedule.step()
    # 30% is the default rise; another share comes from the warm-up (a whole number of steps)
    warmup = 0 if pct_start == 0.3 else round(pct_start * total)
    ours = LRSchedule("one-cycle", 0.1, total, warmup_steps=warmup)
    assert [ours.lr(t) for t in range(total)] == pytest.approx(expected, rel=1e-9)


def test_bad_schedules_are_refused() -> None:
    with pytest.raises(ValueError, match="Known: constant"):
        LRSchedule("step", 0.1, 10)
    with pytest.raises(ValueError, match="warmup_steps"):
        LRSchedule("cosine", 0.1, 10, warmup_steps=11)
    with pytest.raises(ConfigError, match="lr_schedule must be one of"):
        TrainConfig(lr_schedule="exponential")
    with pytest.raises(ConfigError, match="warmup_epochs"):
        TrainConfig(epochs=2, warmup_epochs=3)
    assert warmup_steps(0.5, 7, 70) == 4 and warmup_steps(20, 7, 70) == 70


class Rates(Callback):
    """The rate every optimizer step ran with."""

    def __init__(self) -> None:
        self.rates: list[float] = []

    def on_train_batch_end(self, batch, logs=None):
        self.rates.append(self.trainer.learning_rate)


def test_the_trainer_steps_with_the_scheduled_rate_and_logs_it(stream) -> None:
    seed_everything(0)
    trainer = Trainer(build_model(ModelConfig(num_features=30, num_classes=2, units=8)), 2,
                      learning_rate=1.0, device="cpu")
    rates = Rates()
    history = trainer.fit(stream(0), 5, stream(1), 1, epochs=3, verbose=0,
                          callbacks=[LearningRateScheduler("cosine", 0.04, 1.0), rates])
    expected = LRSchedule("cosine", 0.04, 15, warmup_steps=5)
    assert rates.rates == pytest.approx([expected.lr(t) for t in range(15)])
    assert history.history["learning_rate"] == pytest.approx(rates.rates[4::5])
    assert {g["lr"] for g in trainer.optimizer.param_groups} == {rates.rates[-1]}


def test_every_optimizer_gets_the_scheduled_rate(stream) -> None:
    """ngram-bag trains its sparse table with Adagrad beside Adam: both follow the schedule."""
    seed_everything(0)
    model = build_model(ModelConfig(name="ngram-bag", num_features=30, num_classes=2,
                                    embedding_dim=8))
    trainer = Trainer(model, 2, learning_rate=1.0, device="cpu")
    assert len(trainer.optimizer.param_groups) == 2
    rates = Rates()
    trainer.fit(stream(0), 5, stream(1), 1, epochs=2, verbose=0,
                callbacks=[LearningRateScheduler("linear-decay", 0.04), rates])
    assert [g["lr"] for g in trainer.optimizer.param_groups] == [rates.rates[-1]] * 2


def test_a_fit_without_steps_per_epoch_needs_them_for_the_schedule(stream) -> None:
    trainer = Trainer(build_model(ModelConfig(num_features=30, num_classes=2, units=8)), 2,
                      device="cpu")
    with pytest.raises(ValueError, match="steps per epoch"):
        trainer.fit([next(stream(0))], callbacks=[LearningRateScheduler("cosine", 0.1)],
                    verbose=0)


def test_a_scheduled_runs_fingerprint_holds_the_schedule_and_its_epochs() -> None:
    constant = run_fingerprint(RunConfig(), {})
    assert set(constant["config"]["train"]) == {"learning_rate", "patience"}  # as before
    cosine = RunConfig(train=TrainConfig(lr_schedule="cosine", warmup_epochs=0.5))
    longer = cosine.replace(train=cosine.train.replace(epochs=12))
    diff = fingerprint_diff(run_fingerprint(cosine, {}), run_fingerprint(longer, {}))
    assert diff == ["config.train.epochs: 10 in the checkpoint, 12 now"]
