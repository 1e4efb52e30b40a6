"""The student's full-res path as one fused TVM TensorIR kernel, and the low-res input it needs.

The lowest compiled layer: the runtime runs it, compile ships it, the latency model prices it.
- `fullres`: the kernel's definition (`define_fullres(KernelSpec)`) and its per-target schedules.
- `compiled.CompiledFullRes`: run it on numpy pictures (uint8/uint16/float32), cached builds.
- `lowres`: the low-res path's input on any picture size (band-wise exact `downsample`) and its grid.
"""
