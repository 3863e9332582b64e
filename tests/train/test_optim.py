"""The optimizers are plain objects (no ``torch.optim.Optimizer``) so a run never imports
``torch._dynamo`` (issue 12: 1.5-2 s of a small run's start-up), yet Adam's update is torch's
fused Adam bit for bit and checkpoints keep torch's ``state_dict`` layout."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from textbatch.train.optim import Adam


def test_adam_matches_torch_fused_adam_exactly_and_its_state_loads_back() -> None:
    torch.manual_seed(0)
    mine = [torch.nn.Parameter(torch.randn(300, 8)), torch.nn.Parameter(torch.randn(8))]
    theirs = [torch.nn.Parameter(p.detach().clone()) for p in mine]
    ours, reference = Adam(mine, lr=3e-3), torch.optim.Adam(theirs, lr=3e-3, fused=True)
    for _ in range(5):
        grads = [torch.randn_like(p) for p in mine]
        for p, q, g in zip(mine, theirs, grads):
            p.grad, q.grad = g.clone(), g.clone()
        ours.step()
        reference.step()
    for p, q in zip(mine, theirs):
        assert torch.equal(p, q)
    state = ours.state_dict()
    assert state["param_groups"][0]["params"] == [0, 1] and set(state["state"]) == {0, 1}
    assert float(state["state"][0]["step"]) == 5.0
    restored = Adam([torch.nn.Parameter(p.detach().clone()) for p in mine], lr=1.0)
    restored.load_state_dict(state)
    assert restored.param_groups[0]["lr"] == 3e-3
    assert torch.equal(restored.state_dict()["state"][1]["exp_avg_sq"],
                       state["state"][1]["exp_avg_sq"])


def test_adam_refuses_sparse_gradients() -> None:
    weight = torch.nn.Parameter(torch.zeros(4, 2))
    weight.grad = torch.sparse_coo_tensor([[1]], torch.ones(1, 2), (4, 2), check_invariants=True)
    with pytest.raises(ValueError, match="dense gradients"):
        Adam([weight]).step()


def test_a_training_step_does_not_import_torch_dynamo() -> None:
    code = (
        "import sys, numpy as np\n"
        "from textbatch.config import ModelConfig\n"
        "from textbatch.features.batch import SparseBatch\n"
        "from textbatch.models import build_model\n"
        "from textbatch.train import Trainer\n"
        "for name in ('mlp', 'ngram-bag'):\n"
        "    model = build_model(ModelConfig(name=name, num_features=20, num_classes=3))\n"
        "    batch = SparseBatch(np.array([1, 2, 3]), np.ones(3, np.float32), np.array([0, 2, 3]),"
        " np.array([0, 2]))\n"
        "    Trainer(model, 3).train_step(batch)\n"
        "print('torch._dynamo' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
