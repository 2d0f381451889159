"""Allow ``python -m otter_tui``."""

from otter_tui.cli import main

main()
