"""The terminal dashboard (Textual). ``tui.app.make_app`` builds it around a
store handed in by the caller; ``tui.data`` holds the UI-free data layer."""
