"""payplan's benchmark suite: ``python -m benchmarks`` (``make bench``).

Every row compares payplan with code measured in the same run (hand-written
code a developer would write, or the CPython floor) and states its target.
``--quick`` runs the same table with fewer repetitions and smaller inputs, so
CI keeps the benchmarks working without asserting anything about time.
"""
