"""otter-tui core: inventory, plans, jobs, scheduler and store, free of any UI code."""

import warnings

__version__ = "0.1.0"

# cryptography 51 deprecates DSA, and asyncssh names DSA classes in annotations at import time:
# every command would print four warnings an operator can do nothing about. Only that message,
# only from asyncssh, is silenced; DSA keys themselves are not used by otter-tui.
warnings.filterwarnings("ignore", message="DSA is deprecated", module=r"asyncssh\.")
