"""Widgets of the model screen."""
