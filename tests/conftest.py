import os

# In-process plotting tests draw without a display; kernels get their own environment.
os.environ.setdefault("MPLBACKEND", "Agg")
