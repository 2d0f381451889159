"""The HTTP API (Starlette served by uvicorn): thin handlers over the services.

See docs/api.md. Imported only by ``otter-tui api`` and ``otter-tui daemon --api``, so nothing
else pays for the HTTP stack.
"""

from otter_tui.api.app import build_app
from otter_tui.api.server import ApiServer

__all__ = ["ApiServer", "build_app"]
