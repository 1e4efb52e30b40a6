"""Measuring on the real device: the shipped parts linked for it, timed over TVM RPC, beside the prediction.

    aicam-opt measure MODEL --target TARGET (--rpc HOST:PORT | --rpc local | --tracker HOST:PORT --key KEY)
                      [--workload W] [--repeat N] [--threads N] [--os android|linux] [--ndk PATH]
                      [--json [FILE]] [--save-rows FILE]

Layer: 13b, above compile (it builds parts with compile.parts/backend/link) and below report,
gate and optimize (which may read its documents); it imports nothing from them or from a CLI.

Modules: models (MODEL -> the models to measure: the committed student, a candidate folder, a
report's winners), build (each part built and linked for the remote's platform, with its inputs),
end_to_end (both parts in one Relax module, timed in one call), predict (the latency model's
figures for the same parts, or why there are none), remote (RPC server, tracker with a bounded
wait, a local server; what the remote reports), timing (upload, ISA check, load, time_evaluator),
results (the JSON documents' schema), rows (the calibration rows of --save-rows, in the schema of
latency.measurement_rows), measure (the run, saving after every part), front (`optimize --measure-top K`:
the K front candidates predicted fastest, measured and stored in the study, several devices of a
tracker at once), cli, rpc_server (a one-process TVM RPC server for `--rpc local` and the tests).
Docs: docs/device.md.
"""
