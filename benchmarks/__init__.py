"""tfnvp benchmark suite (issue 6): speed, memory and FLOP rate of Real NVP training and sampling.

Run `make bench` (= `python -m benchmarks.run --out bench-results`) or `--quick` for a smoke run.
Not part of `make test`: the numbers depend on the machine and its load.
"""
