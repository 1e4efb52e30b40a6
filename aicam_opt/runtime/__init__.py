"""Full-resolution runtime: photos and videos end to end on the fused kernel of `aicam_opt.kernels`.

- `enhance`: photos and videos end to end (`Enhancer`, `enhance_photo`, `enhance_video`).
- `smoothing`: temporal smoothing of grid and switch for video (flicker: `aicam_opt.evaluate.flicker`).
- `grid_reuse`: video grids predicted on key frames every N frames and held in between; `scene_cut`:
  the colour-histogram test that makes a scene cut a key frame at once.
- `cli`: `aicam-opt enhance`; `bench`: `python -m aicam_opt.runtime.bench`.
"""
