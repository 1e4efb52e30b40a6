"""The multi-objective search over compression candidates (Optuna).

One module per job, as in Optuna itself:
- space:     search_spaces/*.yaml (knobs, sampler, objectives, constraints, fidelity) -> candidates;
- objective: one trial: build the candidate at two fidelities, measure quality, predict cost;
- records:   what a study stores about its trials and its student, typed (written by the objective);
- study:     storage (SQLite or any RDB URL), resume, the trial loop and its live progress;
- pareto:    the front, the winners and hypervolume;
- winners:   winners.json; blocks: the parts of it summary.json shares (torch-free, for the gate);
- folder:    the report folder's file names;
- bench:     the sampler against a random sampler of the same budget.
The exports load lazily, so the gate can read the shared blocks without torch or Optuna.
"""
from importlib import import_module

_EXPORTS = {"SearchSpace": ".space", "load_space": ".space", "open_study": ".study", "run_search": ".study"}


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["SearchSpace", "load_space", "open_study", "run_search"]
