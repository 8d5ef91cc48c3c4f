"""On-demand benchmarks: python -m benchmarks.<name> prints measured ratios side by side."""
