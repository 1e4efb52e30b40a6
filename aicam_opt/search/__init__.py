"""The multi-objective search over compression candidates (Optuna).

One module per job, as in Optuna itself:
- space:     search_spaces/*.yaml (knobs, sampler, objectives, constraints, fidelity) -> candidates;
- objective: one trial: build the candidate at two fidelities, measure quality, predict cost;
- study:     storage (SQLite or any RDB URL), resume, the trial loop and its live progress;
- pareto:    the front, the winners and hypervolume;
- bench:     the sampler against a random sampler of the same budget.
"""
from .space import SearchSpace, load_space
from .study import open_study, run_search

__all__ = ["SearchSpace", "load_space", "open_study", "run_search"]
