"""Synthetic workloads of any size for benchmarks and growth tests: traces built directly, not recorded.

``eager_loop.generate(events)``: a compute program (CubeCL's batched stream); ``render_loop.generate(frames,
draws)``: a render loop (pygfx-like frames). Both deterministic; both valid traces.
"""
