"""Benchmarks of exchange_async against side-by-side baselines (run: ``python -m benchmarks``).

Every timing is measured against a baseline in the same run, repeated in interleaved rounds,
and reported as medians and ratios; all traffic goes to a simulator on 127.0.0.1.
"""
