"""The student's full-res path as one fused TVM TensorIR kernel, and the low-res input it needs.

The lowest compiled layer: the runtime runs it, compile ships it, the latency model prices it.
- `spec`: what is compiled in (`KernelSpec`: shape, pixel type and the variants: slice form tent or
  taps, float32 or float16 arithmetic, RGB or NV12/NV21 pixels) and the kernel's arguments; no TVM.
- `fullres`: the kernel's definition (`define_fullres(KernelSpec)`) and its per-target schedules.
- `compiled.CompiledFullRes`: run it on numpy pictures (uint8/uint16/float32) and YUV 4:2:0 frames.
- `lowres`: the low-res path's input on any picture or frame size (band-wise exact `downsample`).
- `workload`: the kernel's work per pixel and per row from its spec (priced by latency.kernel_model).
"""
