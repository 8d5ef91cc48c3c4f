"""Experiments too long to run live in a notebook; each writes a results file that a notebook plots.

Run them from the repository root, e.g. ``python -m experiments.copy_sweep`` (notebook 07).
"""
