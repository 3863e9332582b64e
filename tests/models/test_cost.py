"""What --model auto picks and says: the guide's S/W rule, weighed by the hardware."""

from __future__ import annotations

from textbatch.models.cost import auto_choice, projected_seconds


def explored(samples: int, words: float) -> dict:
    from textbatch.explore import recommend_model, sw_ratio

    return {"num_samples": samples, "median_words_per_sample": words,
            "sw_ratio": sw_ratio(samples, words),
            "recommended_model": recommend_model(samples, words)}


def test_amazon_sized_data_on_a_cpu_trains_the_mlp_and_says_why():
    model, line = auto_choice(explored(3_000_000, 80), epochs=10, on_gpu=False)
    assert model == "mlp"
    assert "-> sepcnn (the guide's rule)" in line and "no GPU here, so mlp" in line
    assert "--model sepcnn trains the guide's choice" in line
    assert projected_seconds("sepcnn", 3_000_000, 80, 10) > 10 * projected_seconds(
        "mlp", 3_000_000, 80, 10)


def test_a_gpu_keeps_the_guide_rule_and_small_sets_get_the_mlp_anyway():
    assert auto_choice(explored(3_000_000, 80), 10, on_gpu=True) == (
        "sepcnn", auto_choice(explored(3_000_000, 80), 10, on_gpu=True)[1])
    assert "no GPU" not in auto_choice(explored(3_000_000, 80), 10, on_gpu=True)[1]
    model, line = auto_choice(explored(25_000, 174), 10, on_gpu=False)  # IMDB: S/W 144
    assert model == "mlp" and "-> mlp (the guide's rule)" in line and "no GPU" not in line
