"""Widgets of the instance detail screen."""
