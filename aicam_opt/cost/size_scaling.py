"""Cost at any image size from four small traces, without tracing at that size.

Every count of a fully convolutional network's op is, exactly, a bilinear function of the image
height H and width W: c(H, W) = a + b*H + c*W + d*H*W. A convolution or an element-wise op is
pure d*H*W; a linspace over the columns is a + b*W; a resize's index arithmetic (per output row and
column) contributes b*H + c*W; an op on global features is a constant. Tracing at the four corners
{H1, H2} x {W1, W2} determines the four coefficients of every count of every op, and evaluating
them at a workload gives the exact counts there (the test compares with a real trace).

A network that pads its input to a multiple of a stride s (the teacher pads to 8) is bilinear only
among sizes with the same remainders mod s, so the reference sizes are chosen with the workload's
remainders.
"""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Callable

from .records import OpCost

COUNT_FIELDS = ("macs", "adds", "muls", "divs", "transcendentals", "compares", "bytes_read", "bytes_written", "params")

Tracer = Callable[[int, int], list[OpCost]]


def reference_sides(side: int, stride: int, base: int) -> tuple[int, int]:
    """Two small sides with `side`'s remainder mod `stride`: base + r and 2 * base + r (base a multiple of stride)."""
    remainder = side % stride
    return base + remainder, 2 * base + remainder


class BilinearCostModel:
    """Per-op counts as exact bilinear functions of (H, W), fitted from traces at four sizes."""

    def __init__(self, trace: Tracer, heights: tuple[int, int], widths: tuple[int, int]):
        (h1, h2), (w1, w2) = heights, widths
        corners = {(h, w): trace(h, w) for h in (h1, h2) for w in (w1, w2)}
        reference = corners[(h1, w1)]
        for (h, w), ops in corners.items():
            if [(o.name, o.op) for o in ops] != [(o.name, o.op) for o in reference]:
                raise RuntimeError(f"the traced graph at {h}x{w} differs from the one at {h1}x{w1}: "
                                   "its cost cannot be extrapolated from small sizes")
        self.reference = reference
        self.coefficients = []
        for i, op in enumerate(reference):
            per_field = {}
            for name in COUNT_FIELDS:
                c11, c21 = getattr(corners[(h1, w1)][i], name), getattr(corners[(h2, w1)][i], name)
                c12, c22 = getattr(corners[(h1, w2)][i], name), getattr(corners[(h2, w2)][i], name)
                d = Fraction(c22 - c21 - c12 + c11, (h2 - h1) * (w2 - w1))
                b = Fraction(c21 - c11, h2 - h1) - d * w1
                c = Fraction(c12 - c11, w2 - w1) - d * h1
                a = c11 - b * h1 - c * w1 - d * h1 * w1
                per_field[name] = (a, b, c, d)
            self.coefficients.append(per_field)

    def at(self, height: int, width: int) -> list[OpCost]:
        ops = []
        for op, per_field in zip(self.reference, self.coefficients):
            values = {name: _evaluate(coeffs, height, width) for name, coeffs in per_field.items()}
            size_dependent = any(coeffs[1] or coeffs[2] or coeffs[3] for coeffs in per_field.values())
            ops.append(replace(op, scales_with_pixels=size_dependent, **values))
        return ops


def _evaluate(coeffs: tuple[Fraction, Fraction, Fraction, Fraction], height: int, width: int) -> int:
    a, b, c, d = coeffs
    return int(round(a + b * height + c * width + d * height * width))

