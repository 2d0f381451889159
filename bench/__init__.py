"""Benchmarks: fan-out against the raw-SSH floor, logs, scheduler, console (`./dev bench`)."""
