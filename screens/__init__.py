"""The Textual console: the only package that imports Textual.

``screens.app`` holds the App and its sections (one Textual mode each); every other module here
is one screen, one modal, or one reusable widget. The core (``otter_tui``) never imports this
package except by name, from the CLI.
"""
