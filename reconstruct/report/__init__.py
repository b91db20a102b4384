"""Post-mortem reports: built from the query layer, rendered as Markdown, JSON or HTML."""
