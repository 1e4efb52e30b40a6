"""Full-resolution runtime: the student's full-res path compiled with TVM, row bands, video smoothing.

- `kernel`: the fused TensorIR definition of the full-res path and its per-target schedules.
- `compiled.CompiledFullRes`: run it on numpy pictures (uint8/uint16/float32), cached builds.
- `lowres`: the low-res path on any picture size (band-wise exact `downsample`).
- `enhance`: photos and videos end to end (`Enhancer`, `enhance_photo`, `enhance_video`).
- `smoothing`: temporal smoothing of grid and switch for video (flicker: `aicam_opt.evaluate.flicker`).
- `cli`: `aicam-opt enhance`; `bench`: `python -m aicam_opt.runtime.bench`.
"""
