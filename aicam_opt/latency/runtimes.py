"""The runtimes a unit can ship a model through, as one registry: `RUNTIMES`, extended by `register_runtime`.

The same silicon runs the same network at speeds up to 2x apart depending on what runs it (on the
Snapdragon 865, ResNet-50 int8 takes 18.6 ms through NNAPI and about 11.8 ms through AI Hub's TFLite
NPU path), so a latency figure belongs to a (unit, runtime) pair, and so does every fitted efficiency.
A runtime here says what it is, which unit kinds it can drive and whether the fused full-res TensorIR
kernel (compile's artifact) ships through it; a target's unit lists the runtimes it ships through
(`Unit.runtimes`, with its `default_runtime`), and the calibration fits each (unit, runtime) with rows.

Another runtime is one `register_runtime(Runtime(...))` call (before targets are loaded), not a branch
in the latency model.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import AicamError


@dataclass(frozen=True)
class Runtime:
    name: str
    description: str
    unit_kinds: tuple[str, ...]       # the kinds of unit it can drive: cpu, gpu, dsp
    ships_fused_kernel: bool = False  # the fused full-res TensorIR kernel (kernels/) ships through it


RUNTIMES: dict[str, Runtime] = {}


def register_runtime(runtime: Runtime) -> Runtime:
    """Add a runtime to the registry (a second definition of a name is an error: one meaning per name)."""
    if runtime.name in RUNTIMES and RUNTIMES[runtime.name] != runtime:
        raise AicamError(f"runtime '{runtime.name}' is already registered with another definition")
    RUNTIMES[runtime.name] = runtime
    return runtime


def get_runtime(name: str, where: str = "") -> Runtime:
    """The registered runtime `name` (AicamError listing the registered ones otherwise)."""
    if name not in RUNTIMES:
        raise AicamError(f"{where + ': ' if where else ''}unknown runtime '{name}'; registered runtimes: "
                         f"{', '.join(RUNTIMES)} (aicam_opt/latency/runtimes.py)")
    return RUNTIMES[name]


for _runtime in (
    Runtime("tvm", "Apache TVM: the module `aicam-opt compile` builds (Relax graph, TensorIR kernels)",
            ("cpu", "gpu", "dsp"), ships_fused_kernel=True),
    Runtime("paddle-lite", "Paddle-Lite's own ARM CPU and OpenCL GPU kernels", ("cpu", "gpu")),
    Runtime("nnapi", "Android NNAPI (the vendor driver places the graph; on the Snapdragon 865 the Hexagon DSP)",
            ("cpu", "gpu", "dsp")),
    Runtime("tflite-gpu", "TensorFlow Lite with its GPU delegate (OpenCL)", ("gpu",)),
    Runtime("tflite-npu", "TensorFlow Lite with Qualcomm's NPU delegate (QNN on the Hexagon DSP / tensor accelerator)",
            ("dsp",)),
    Runtime("onnxruntime", "ONNX Runtime's CPU execution provider (MLAS kernels)", ("cpu",)),
):
    register_runtime(_runtime)


__all__ = ["RUNTIMES", "Runtime", "get_runtime", "register_runtime"]
