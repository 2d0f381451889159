"""The console's Footer: compact, and rebuilt only when the keys it shows change.

Textual's Footer recomposes (a dozen ``FooterKey`` widgets, each restyled) on every
``bindings_updated_signal``: each focus move, each ``refresh_bindings`` of a screen that loads
in pages, each section switch. That was most of the time of a section's first paint (0.6 s of
1.8 s, bench/ui_sections.py). This one coalesces the signals into one check after the next
refresh, and recomposes only when the shown keys differ; when only whether a key is enabled
moved (a list got its rows, so "Edit" now applies), that key is updated in place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Footer
from textual.widgets._footer import FooterKey

if TYPE_CHECKING:
    from textual.screen import Screen

Shown = tuple[tuple[str, str, str, bool], ...]


class OtterFooter(Footer):
    """A compact Footer that skips recomposing when nothing it shows moved."""

    def __init__(self) -> None:
        super().__init__(compact=True)
        self._shown: Shown | None = None
        """The keys on show (key, description, action, enabled); None before the first."""
        self._pending = False
        """A check is queued after the next refresh: further signals add nothing."""

    def bindings_changed(self, screen: Screen[object]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus or self._pending:
            return
        if self.is_attached and screen is self.screen:
            self._pending = True
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        self._pending = False
        if not self.is_attached or not self.is_mounted:
            return  # removed with its screen (a modal dismissed) before the refresh came
        shown, before = self.shown(), self._shown
        if shown == before:
            return
        self._shown = shown
        if before is not None and [k[:3] for k in shown] == [k[:3] for k in before]:
            self._enable(shown)
        else:
            await self.recompose()

    def _enable(self, shown: Shown) -> None:
        """Same keys, some enabled or disabled since: restyle those keys only."""
        enabled = {(key, action): on for key, _, action, on in shown}
        for footer_key in self.query(FooterKey):
            on = enabled.get((footer_key.key, footer_key.action))
            if on is not None and footer_key._disabled == on:
                footer_key._disabled = not on
                footer_key.set_class(not on, "-disabled")

    def shown(self) -> Shown:
        """What the Footer would show now: the bindings with ``show``, in order."""
        bindings = self.screen.active_bindings.values()
        return tuple(
            (binding.key, binding.description, binding.action, enabled)
            for _, binding, enabled, _ in bindings
            if binding.show or binding.key == self.app.COMMAND_PALETTE_BINDING
        )
