"""Allow ``python -m otter_tui`` (the same entry as the ``otter-tui`` command)."""

from otter_tui.entry import main

main()
