"""Route modules: one Chalice blueprint per resource."""
