"""Reproducible CPU training of the teacher (two-path GAN) and the student (distillation)."""
