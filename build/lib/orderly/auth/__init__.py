"""API tokens: created once, shown once, stored only as a hash."""
