"""The CPU dropout and masked relu behave as torch's own ops (same maths, seeded by torch)."""

import torch
from torch.nn import functional as F

from textbatch.models.fused import dropout, masked_relu


def test_dropout_is_decided_by_torch_seed():
    x = torch.ones(64, 50, 8, requires_grad=True)
    torch.manual_seed(3)
    first = dropout(x, 0.2, True)
    torch.manual_seed(3)
    again = dropout(x, 0.2, True)
    torch.manual_seed(4)
    other = dropout(x, 0.2, True)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_dropout_rate_and_scale_keep_the_mean():
    x = torch.ones(200, 100, 50, requires_grad=True)
    out = dropout(x, 0.2, True)
    dropped = float((out.detach() == 0).float().mean())
    assert abs(dropped - 0.2) < 0.005
    assert abs(float(out.detach().mean()) - 1.0) < 0.01  # kept values are scaled by 1 / (1 - rate)
    assert set(torch.unique(out.detach()).tolist()) == {0.0, float(out.detach().max())}


def test_dropout_gradient_is_its_mask():
    x = torch.randn(16, 30, 4, requires_grad=True)
    out = dropout(x, 0.5, True)
    out.sum().backward()
    expected = torch.where(out != 0, out / x, torch.zeros_like(x))
    assert torch.allclose(x.grad, expected, atol=1e-5)


def test_dropout_is_identity_when_evaluating_or_rate_zero():
    x = torch.randn(4, 5, requires_grad=True)
    assert dropout(x, 0.2, False) is x
    assert dropout(x, 0.0, True) is x


def test_masked_relu_matches_relu_times_mask_forward_and_backward():
    torch.manual_seed(0)
    z = torch.randn(8, 20, 6, dtype=torch.float64, requires_grad=True)
    mask = (torch.rand(8, 20, 1) > 0.3).to(torch.float64)
    reference = z.detach().clone().requires_grad_(True)
    upstream = torch.randn(8, 20, 6, dtype=torch.float64)
    (masked_relu(z, mask) * upstream).sum().backward()
    expected = F.relu(reference) * mask
    (expected * upstream).sum().backward()
    assert torch.equal(masked_relu(z.detach(), mask), expected.detach())
    assert torch.allclose(z.grad, reference.grad)
    assert torch.autograd.gradcheck(lambda t: masked_relu(t, mask), (z,))


def test_masked_relu_without_mask_is_relu():
    z = torch.randn(3, 4)
    assert torch.equal(masked_relu(z, None), F.relu(z))


def test_dropout_keeps_bf16_and_handles_inputs_without_gradients_and_rates_near_one():
    x = torch.ones(64, 40, 8, dtype=torch.bfloat16, requires_grad=True)
    assert dropout(x, 0.2, True).dtype == torch.bfloat16
    values = torch.ones(100_000)  # e.g. the MLP's input tf-idf values: no gradient
    kept = dropout(values, 0.5, True)
    assert abs(float((kept == 0).float().mean()) - 0.5) < 0.01
    assert set(torch.unique(kept).tolist()) == {0.0, 2.0}
    nearly_all = dropout(torch.ones(1000, requires_grad=True), 0.999999, True)
    assert int((nearly_all != 0).sum()) < 5
