"""The reconstruction engine: raw events in, derived tables out (stitching,
order, instances, model, status), run as the declared stages of ``pipeline``."""
