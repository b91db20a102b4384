"""Widgets and renderables used on several screens."""
