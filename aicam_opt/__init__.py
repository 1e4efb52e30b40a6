"""aicam_opt: compression and hardware-aware optimization of on-device AI camera enhancement networks.

Pipeline (one subpackage per stage): models -> compress -> cost/latency -> search -> compile ->
verify -> report -> gate.
"""
__version__ = "0.1.0"
