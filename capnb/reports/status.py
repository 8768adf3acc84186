"""The dashboard's status line: one readable message (info, warning or error) in an HTML widget.

Callbacks never print or raise; they say what happened here instead. The level is the message's
CSS class (``capnb-info``, ``capnb-warning``, ``capnb-error``), so a test or a later callback can
tell an error from a note.
"""

from __future__ import annotations

import html

import ipywidgets as W

__all__ = ["LEVELS", "StatusLine", "banner"]

LEVELS = {"error": "#B00020", "warning": "#8A5A00", "info": "#1B5E20"}
"""Message level -> text colour."""


def banner(text: str, level: str = "info") -> str:
    """HTML of a bold line at ``level`` (plain ``text``, escaped here); '' for no text."""
    return (f'<div style="color:{LEVELS[level]}" class="capnb-{level}"><b>{html.escape(text)}'
            "</b></div>" if text else "")


class StatusLine:
    """One message at a time, escaped; :attr:`widget` is what the dashboard displays."""

    def __init__(self) -> None:
        self.widget = W.HTML("")

    def say(self, text: str, level: str = "info") -> None:
        """Show ``text`` (plain text, escaped here) at ``level``."""
        self.widget.value = (f'<div style="color:{LEVELS[level]}" class="capnb-{level}">'
                             f"{html.escape(text)}</div>")

    def clear_error(self) -> None:
        """Clear the line when it shows an error (notes and progress stay)."""
        if self.widget.value and "capnb-error" in self.widget.value:
            self.widget.value = ""
