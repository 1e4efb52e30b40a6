"""Host timing of the winners: rounds interleaved, ratio per round, median kept."""
import numpy as np

from aicam_opt.compile.measure import interleaved_ms, median_ratio


def test_median_ratio_ignores_one_unlucky_round():
    reference = [300.0, 310.0, 305.0, 300.0, 420.0]  # round 5: the machine was busy for both
    winner = [270.0, 280.0, 275.0, 400.0, 380.0]  # round 4: busy for the winner only
    assert abs(median_ratio(winner, reference) - 0.9) < 0.01


class Counting:
    """A stand-in enhancer that records the order it was called in."""

    def __init__(self, name, log):
        self.name, self.log = name, log

    def enhance(self, pixels):
        self.log.append(self.name)
        return pixels


def test_rounds_are_interleaved_after_one_warm_up_each():
    log: list[str] = []
    enhancers = {n: Counting(n, log) for n in ("reference", "a", "b")}
    times = interleaved_ms(enhancers, np.zeros((4, 4, 3), np.float32), repeats=3)
    assert log == ["reference", "a", "b"] * 4  # warm-up round, then 3 timed rounds A B C A B C ...
    assert {n: len(t) for n, t in times.items()} == {"reference": 3, "a": 3, "b": 3}
    assert all(t >= 0 for ts in times.values() for t in ts)
