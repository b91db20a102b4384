"""Widgets of the stuck views (the overview's list and the stuck screen)."""
