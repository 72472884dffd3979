"""Files in, with their reports: orders, stock and catalog imported from CSV, TSV and XLSX files."""
