"""Alerts: what a person must look at (an unhealthy shop, low stock, dead jobs)."""
