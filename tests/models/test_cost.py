"""What --model auto says about its pick: a CPU sepCNN run of hours is announced as such."""

from __future__ import annotations

from textbatch.models.cost import auto_announcement, projected_seconds


def explored(samples: int, words: float) -> dict:
    from textbatch.explore import recommend_model, sw_ratio

    return {"num_samples": samples, "median_words_per_sample": words,
            "sw_ratio": sw_ratio(samples, words),
            "recommended_model": recommend_model(samples, words)}


def test_amazon_sized_data_on_a_cpu_announces_hours_and_the_mlp_alternative():
    line = auto_announcement(explored(3_000_000, 80), epochs=10, on_gpu=False)
    assert "-> sepcnn" in line and "No GPU" in line and " h for 10 epochs" in line
    assert "--model mlp would take" in line
    assert projected_seconds("sepcnn", 3_000_000, 80, 10) > 10 * projected_seconds(
        "mlp", 3_000_000, 80, 10)


def test_no_warning_for_the_mlp_a_gpu_or_a_short_sepcnn_run():
    assert "No GPU" not in auto_announcement(explored(25_000, 174), 10, on_gpu=False)  # IMDB: mlp
    assert "-> mlp" in auto_announcement(explored(25_000, 174), 10, on_gpu=False)
    assert "No GPU" not in auto_announcement(explored(3_000_000, 80), 10, on_gpu=True)
    assert "No GPU" not in auto_announcement(explored(30_000, 10), 10, on_gpu=False)
