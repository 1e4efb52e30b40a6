"""Where the time goes: a candidate's predicted latency op by op (fused kernels), from its folder."""
from __future__ import annotations

import pandas as pd

from ..compress.folder import CandidateFolder
from ..cost import model_cost
from ..latency import load_model as load_latency_model
from ..models.checkpoints import load_model
from ..search.objective import placement_of


def op_costs(folder: CandidateFolder, workload: str) -> pd.DataFrame:
    """One row per op with time: unit, precision, MACs, bytes, ms, bound and share of the total."""
    candidate = folder.load_candidate()
    net = load_model(folder.weights)
    cost = model_cost(net, workload)
    prediction = load_latency_model(candidate.target).predict(cost.ops, placement_of(candidate))
    rows = [{"op": t.op.op, "where": t.op.scope or t.op.name, "part": t.op.part, "unit": t.unit,
             "precision": t.precision, "MMACs": t.op.macs / 1e6, "MB moved": t.bytes / 1e6,
             "ms": t.latency_ms, "bound": t.bound} for t in prediction.ops if t.latency_ms > 0]
    rows.append({"op": "call overhead + transfers", "where": "", "part": "", "unit": "", "precision": "",
                 "MMACs": 0.0, "MB moved": prediction.transfer_bytes / 1e6,
                 "ms": prediction.call_overhead_ms + prediction.transfer_ms, "bound": "overhead"})
    frame = pd.DataFrame(rows).sort_values("ms", ascending=False)
    frame["share %"] = 100 * frame["ms"] / prediction.latency_ms
    return frame.reset_index(drop=True)
