"""Peak working memory on hand-built op sequences; every expected figure is worked out in the comments."""
import pytest

from aicam_opt.cost.records import OpCost
from aicam_opt.latency.memory import DEFAULT_BAND_ROWS, peak_memory_bytes
from aicam_opt.latency.model import Assignment, Placement
from aicam_opt.latency.target import FusionRules, load_target

FP32 = Placement(Assignment("cpu", "fp32"))


@pytest.fixture(scope="module")
def sd865():
    return load_target("sd865")


def conv(name, written, part="whole", params=0, dtype="float32", per_pixel=False) -> OpCost:
    return OpCost(name, "conv2d", "conv", part, macs=1000, bytes_read=written, bytes_written=written, params=params,
                  dtype=dtype, scales_with_pixels=per_pixel)


def pool(name, written, part="whole") -> OpCost:
    return OpCost(name, "avg_pool2d", "pool", part, adds=10, bytes_read=4 * written, bytes_written=written)


def relu(name, written, part="whole") -> OpCost:
    return OpCost(name, "relu", "elementwise", part, compares=written // 4, bytes_read=written, bytes_written=written)


def test_peak_is_the_largest_pair_of_consecutive_intermediates(sd865):
    # Kernel outputs 1000, 600, 300, 700 bytes. While kernel i runs, its input (output i-1) and its own
    # output are resident: (1000 + 600), (600 + 300), (300 + [700 goes to the caller's buffer]) -> 1600.
    ops = [conv("a", 1000), pool("b", 600), conv("c", 300), conv("d", 700)]
    assert peak_memory_bytes(ops, FP32, sd865, height=64) == 1600


def test_the_last_kernel_writes_into_the_callers_output_buffer(sd865):
    # A huge last output is the caller's: only the 100-byte intermediate counts.
    assert peak_memory_bytes([conv("a", 100), conv("out", 10**9)], FP32, sd865, height=64) == 100
    # One kernel reads the caller's input and writes the caller's output: no intermediate at all.
    assert peak_memory_bytes([conv("only", 10**9)], FP32, sd865, height=64) == 0
    # Two intermediates, then the output: the first kernel's output alone is never the peak, the pair is.
    assert peak_memory_bytes([conv("a", 100), conv("b", 40), conv("out", 10**9)], FP32, sd865, height=64) == 140


def test_weights_are_resident_throughout_at_the_parts_precision(sd865):
    ops = [conv("a", 100, params=1000), relu("a_relu", 100), conv("b", 40, params=500), conv("out", 8, params=250)]
    # intermediates: a (+ its fused relu) 100, b 40 -> 140; weights 1750 parameters
    assert peak_memory_bytes(ops, FP32, sd865, height=64) == 140 + 1750 * 4
    assert peak_memory_bytes(ops, Placement(Assignment("cpu", "fp16")), sd865, height=64) == 70 + 1750 * 2
    assert peak_memory_bytes(ops, Placement(Assignment("cpu", "int8")), sd865, height=64) == 35 + 1750 * 1


def test_bytes_follow_the_precision_from_the_ops_own_dtype(sd865):
    # An op traced in float16 writing 200 bytes holds 100 elements: 400 bytes at fp32, 100 at int8.
    ops = [conv("a", 200, dtype="float16"), conv("b", 100, dtype="float16"), conv("out", 2, dtype="float16")]
    assert peak_memory_bytes(ops, FP32, sd865, height=64) == (200 + 100) * 2
    assert peak_memory_bytes(ops, Placement(Assignment("dsp", "int8")), sd865, height=64) == (200 + 100) // 2


def test_a_fused_elementwise_chain_holds_one_output_not_two(sd865):
    # conv -> relu fuse into one kernel writing 400 bytes; then 40, then the output.
    ops = [conv("a", 400), relu("a_relu", 400), conv("b", 40), conv("out", 4)]
    assert peak_memory_bytes(ops, FP32, sd865, height=64) == 400 + 40
    # On a unit that fuses nothing the relu is a kernel of its own: conv's and relu's outputs live together.
    unfused = sd865.model_copy(deep=True)
    unfused.units["cpu"].fusion = FusionRules(conv_bias_activation=False, elementwise_chains=False, source="test")
    assert peak_memory_bytes(ops, FP32, unfused, height=64) == 400 + 400


def test_full_res_intermediates_are_counted_for_one_band(sd865):
    # A fixed-size low-res part (not scaled), then a per-pixel full-res part at 4096 rows in 256-row
    # bands: its intermediates are 256/4096 = 1/16 of the whole picture's.
    low = [conv("low_a", 3000, part="low_res"), conv("low_grid", 1000, part="low_res")]
    full = [conv("slice", 16_000_000, part="full_res", per_pixel=True),
            conv("guide", 32_000_000, part="full_res", per_pixel=True),
            conv("apply", 48_000_000, part="full_res", per_pixel=True)]
    # outputs 3000, 1000, 1 M, 2 M, [3 M: the caller's] -> largest pair 1 M + 2 M
    assert peak_memory_bytes(low + full, FP32, sd865, height=4096) == 3_000_000
    # the same picture in 1024-row bands: 4x more per band
    assert peak_memory_bytes(low + full, FP32, sd865, height=4096, band_rows=1024) == 12_000_000
    # a picture shorter than one band is held whole; the low-res part is the same at any height
    assert peak_memory_bytes(low + full, FP32, sd865, height=100) == 48_000_000
    assert peak_memory_bytes(low, FP32, sd865, height=100) == peak_memory_bytes(low, FP32, sd865, height=10**5) == 3000


def test_each_part_is_counted_at_its_own_units_precision(sd865):
    # low-res in int8 on the DSP (its float32 outputs a quarter), full-res in fp16 on the GPU (halved)
    placement = Placement(parts={"low_res": Assignment("dsp", "int8"), "full_res": Assignment("gpu", "fp16")})
    ops = [conv("low_a", 4000, part="low_res", params=100), conv("low_grid", 8000, part="low_res", params=100),
           conv("slice", 6000, part="full_res", params=10), conv("apply", 10**6, part="full_res")]
    # outputs 1000, 2000, 3000, [caller's] -> 2000 + 3000; weights 200 x 1 + 10 x 2
    assert peak_memory_bytes(ops, placement, sd865, height=64) == 5000 + 200 + 20


def test_band_rows_are_the_runtimes():
    """The memory model streams the full-res path in the same bands as the runtime that runs it."""
    from aicam_opt.kernels.compiled import DEFAULT_BAND_ROWS as RUNTIME_BAND_ROWS

    assert DEFAULT_BAND_ROWS == RUNTIME_BAND_ROWS
