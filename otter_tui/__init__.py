"""otter-tui core: inventory, plans, jobs, scheduler and store, free of any UI code."""

__version__ = "0.1.0"
