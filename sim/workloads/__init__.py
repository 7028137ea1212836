"""Synthetic workloads of any size for benchmarks and growth tests: traces built directly, not recorded.

- ``eager_loop.generate(events)``: a compute program as CubeCL's batched stream records it;
- ``random_program.generate(events)``: random ops with copies, reads and frees at random moments;
- ``render_loop.generate(frames, draws)``: a render loop of pygfx-like frames;
- ``time_steps.generate(steps)``: state written once, then steps of kernels, each submitted with no upload.

Each is deterministic and gives a valid trace.
"""
