"""Example wgpu-py compute programs, each runnable as ``python -m examples.NAME``."""
