"""Widgets of the instances screen."""
