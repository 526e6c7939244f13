"""Helpers shared by the AppTest page tests."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def open_page(page: str) -> AppTest:
    """The app, switched to ``pages/<page>.py`` and run once without an exception."""
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    app.switch_page(f"pages/{page}.py").run()
    assert not app.exception, app.exception
    return app


def widget(widgets, label: str):
    """The first widget whose label starts with ``label``."""
    return next(w for w in widgets if w.label.startswith(label))
