"""HTTP routes, one module per resource, with their dependencies (`deps`) and answer shapes (`schemas`)."""
