"""--precision: float32 on CPUs unless asked, bf16 autocast when asked, bad values refused."""

import pytest
import torch

from textbatch.config import ModelConfig, TrainConfig
from textbatch.errors import ConfigError
from textbatch.models import build_model
from textbatch.train import Trainer
from textbatch.train.trainer import uses_bf16

CPU = torch.device("cpu")


def test_auto_keeps_cpus_and_bag_models_in_float32():
    assert not uses_bf16("auto", True, CPU)
    assert not uses_bf16("auto", False, CPU)
    assert not uses_bf16("float32", True, CPU)
    assert uses_bf16("bfloat16", True, CPU)


def test_unknown_precision_is_a_clear_error():
    with pytest.raises(ConfigError, match="precision must be one of"):
        TrainConfig(precision="fp8")


def test_a_bfloat16_cpu_trainer_autocasts_and_still_learns():
    torch.manual_seed(0)
    config = ModelConfig(name="sepcnn", num_features=30, num_classes=2, embedding_dim=8,
                         filters=4, blocks=1)
    trainer = Trainer(build_model(config), 2, device="cpu", sequence_length=20,
                      precision="bfloat16", learning_rate=1e-2)
    assert trainer.autocast
    tokens = torch.randint(2, 30, (32, 20))
    labels = (tokens[:, 0] > 15).long()
    losses = [trainer.train_step(({"tokens": tokens}, labels))[0] for _ in range(40)]
    assert losses[-1] < losses[0] * 0.7
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=trainer.autocast):
        raw = trainer.model(tokens=tokens)
    assert raw.dtype == torch.bfloat16  # the forward really ran in bf16
    assert trainer._forward({"tokens": tokens}).dtype == torch.float32  # the loss sees float32
