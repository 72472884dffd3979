"""Files in, with their reports: orders, stock and catalog imported from CSV, TSV and XLSX files. An
orders file on disk is imported by several processes at once on PostgreSQL (``shards.py``)."""
