"""Inventory: warehouses, the stock pool per SKU per warehouse, its ledger, reservation."""
