"""``make bench``: the scanner against the simulated estate, and what a user would otherwise run.

Not a timed test: ``python -m bench`` prints a table and writes ``bench/results.json``. Every
measured program runs in its own process (the simulator in one, the scanner in another, each
baseline in its own), so CPU time and peak RSS are that program's alone. See
docs/benchmarks.md for how to read the numbers.

Modules: ``run`` (the driver and the table), ``estate_server`` (the simulated estate as a
process), ``scan_child`` (one scan), ``client_loop`` (the sequential kubernetes-client
baseline), ``floor`` (the latency floor), ``machine`` (what machine ran it).
"""
