"""TVM compilation of compressed candidates for the target's units, host verification and op audit.

    aicam-opt compile CANDIDATE_DIR --target sd865 --out DIR     one candidate folder
    aicam-opt compile reports/sd865 --winners                     every winner of winners.json
    aicam-opt compile reports/sd865 --winners --all-units         ... and each part on the target's other units
    python -m aicam_opt.compile.bench --candidate DIR --out FILE  host speed: TVM vs onnxruntime vs PyTorch

Modules: targets (TVM target dicts from targets/<target>.yaml `units.<unit>.tvm`), parts (a candidate
folder -> its two parts: graphs, interfaces, PyTorch references, the engine that builds each),
engines/ (one module per compile engine behind one protocol: build a part for a target, describe its
graph, build it for this host, audit it; `relax_graph` for ONNX parts, `fused_kernel` for the fused
full-res kernel), unit_kinds/ (one module per kind of TVM target: `llvm` CPUs, `opencl` GPUs,
`hexagon` DSPs with their math lowering; the ISA each build must contain), backend (what every build
shares: TIR codegen in a named stage, export, ISA check), failures (CompileFailure: stage, reason, ops),
elf (e_machine and undefined symbols of an object), verify (host build on real photos), audit (TVM
FLOPs vs ours: the comparison the engines share), candidate (`compile_candidate`,
`compile_alternatives`), winners (`compile_winners`), measure (host timing of the winners), documents
(the schemas of the manifest, report.json, compile.json and measured.json below, shared by writer and
readers), cli, bench.

What compiles where (apache-tvm 0.27 wheel, sd865; see unit_kinds/hexagon.py for the Hexagon details):
- cpu (llvm aarch64-linux-android, cortex-a77, +neon +dotprod): both parts.
- gpu (opencl adreno, aarch64 host): both parts (Relax: Adreno pipeline with DLight schedules).
- dsp (hexagon v66, HVX 128 B): both parts (the low-res graph, int8 QDQ included, with its softmax;
  the fused full-res kernel; an int8 full-res ONNX graph), to Hexagon object code (ELF e_machine 164),
  left unlinked (no Hexagon SDK here). TVM 0.27's own Hexagon rules lower exp, sqrt, floor, ceil and
  pow to LLVM intrinsics its codegen cannot declare ("Cannot find intrinsic declaration ... llvm.exp"),
  and tanh/sigmoid expand to exp: `unit_kinds.hexagon` registers rules (once per process, for Hexagon
  targets only) that call the C math library instead (expf, sqrtf, floorf, ceilf, powf, tanhf; sigmoid
  = 1 / (1 + expf(-x)); float16 through float32, vectors lane by lane), which the Hexagon SDK's libc
  provides at link time; the artifact lists the symbols left to link (`undefined_symbols`, e.g. expf,
  floorf, nearbyintf from QDQ rounding, __hexagon_* compiler-runtime helpers). Still failing: erf on
  float16 ("unknown intrinsic tirx.erf": no Hexagon rule for half precision; float32 erf compiles; no
  student graph uses it). A part that fails is reported with stage, op and reason (math functions are
  probed up front, unit_kinds.hexagon.MATH_FUNCTIONS; other failures are named by building each function
  alone).

Artifacts are tars of object files (no aarch64 cross linker here; `$TVM_NDK_CC` or an
aarch64 gcc/clang on PATH gives a linked .so instead).

## Per-part manifest `<out_dir>/<part>-<unit>.json` (schema "aicam_opt.compile.manifest/1")

    schema, part ("low_res"|"full_res"), unit ("cpu"|"gpu"|"dsp"), role ("placed"|"alternative"), unit_name,
    target ("sd865"),
    status ("compiled"|"failed"), engine ("relax_onnx"|"fused_kernel"),
    tvm_target        the unit's target dict from the target file (with its host),
    tvm_target_built  the dict actually built (Hexagon: the DSP as its own host),
    precision         the part's precision (fp32|fp16|int8): the candidate's; an alternative build: the unit's,
    compute           what the compiled code computes in (e.g. int8 QDQ emulated in float32),
    inputs, outputs   [{name, shape (ints, or "rows"/"width" for run-time sizes), dtype}],
    artifact          null (failed) or {file, format, linked, sha256, bytes, isa: [...], expected_isa,
                      members: [{name, bytes, isa}], opencl_source?, undefined_symbols? (Hexagon: the
                      symbols the unlinked objects need from the device's libraries)}
    params            fused kernel: {file (<part>-<unit>.params.safetensors), sha256, bytes, tensors}, else null
    graph             {kind: "onnx", file, sha256, opset} or {kind: "fused_kernel", definition, spec, entry}
    source            {candidate, dir, student_safetensors_sha256, base}
    tools             {python, tvm, torch, onnx, nncf, onnxscript}
    compile_seconds, failure (null or {stage, op, reason, ops: [{function, op, reason, intrinsic?, math?}]}),
    attempts          [{engine, status, compile_seconds, failure?}] (full_res: the fused kernel, then the
                      Relax import of its ONNX graph if the kernel failed), notes: [...]

Failure stages: target, import, relax_pipeline, vm_codegen, tir_codegen, vm_link, schedule, isa_check,
export_onnx (the full-res fallback graph could not be exported), deploy (an alternative build: the part
could not be deployed/exported at the unit's precision), and compile/export for an error TVM raised
outside those stages (reason: the exception type and its last line).

Alternative builds (`all_units`): each part also compiled for every other unit of the target, at the
precision the unit runs closest to the candidate's (the same if supported, else int8 on the dsp, fp16 on
the gpu/cpu), deployed again from the candidate's float weights (a Candidate copy with the part's placement
and quantization changed; a changed precision's graph is `<part>-<precision>.onnx`). Same file names
`<part>-<unit>.*`, manifests with role "alternative"; no host verification, no audit; the fused kernel
build is shared with an identical (spec, target) one of the same process.

## Per-candidate report `<out_dir>/report.json` (= one role of compile.json; schema "aicam_opt.compile.report/1")

    schema, candidate, candidate_dir, target, out_dir, status ("compiled"|"partial"|"failed"), seconds, notes, tools,
    parts: [{part, unit, role ("placed", then with all_units the "alternative" entries), precision, status,
             engine, artifact (file name|null), artifact_sha256, manifest, compile_seconds, failure_stage,
             failure_op, failure_reason, failure, attempts}]; status and verify are of the placed parts only,
    verify: null | {"error": str} | {
        host_target, photos, long_side, bars: {max_abs: 1e-4, psnr_db: 45}, passed,
        parts: {low_res|full_res|end_to_end: {precision, bar ("max_abs"|"psnr"), max_abs, min_psnr, passed,
                low_res: grid_max_abs, full_res: engine, vs_float32_max_abs}},
        per_photo: [{photo, size, low_res: {...}, full_res: {...}, end_to_end: {...}}],
        compile_seconds: {...},
        quality: {pairs, student_psnr, compiled_psnr, pytorch_deployed_psnr, compiled_psnr_drop_vs_student,
                  pytorch_psnr_drop_vs_student, predicted_psnr_drop_vs_student (metrics.json), base}},
    op_audit: [{part, item ("bucket conv", a total, or an unmapped TVM kind), ours, tvm, difference
                ((ours - tvm) / tvm, null when TVM has 0), over_1pct, reason}],
    op_audit_detail: {part: {part, engine, functions: [{function, calls, flops_per_call, flops}],
                             buckets: [{bucket, ours, ours_tvm_convention, tvm, difference}],
                             totals: [{what, ours, tvm, difference}], unmapped_tvm: {kind: flops},
                             uncounted_ours: [op], differences: [{what, ours, tvm, difference, reason}],
                             notes, table (markdown)} | {"error": str}}
PSNRs are capped at 200 dB (identical images; JSON has no infinity).

## reports/<target>/compile.json (schema "aicam_opt.compile.winners/1"), written atomically

    schema, target, winners_file ("winners.json"), created (UTC ISO), tools, seconds, all_units,
    winners: {role: null (no winner) | {trial, candidate_dir (as in winners.json, relative to reports/<target>),
              candidate_path (absolute), artifacts_dir ("artifacts/<role>"), error? (the role could not be
              compiled at all: status "failed", parts []), ...the rest of the report above}}
"""
from __future__ import annotations

from .candidate import CompileReport, PartReport, compile_candidate
from .winners import compile_winners

__all__ = ["CompileReport", "PartReport", "compile_candidate", "compile_winners"]
