"""Catalog: our SKUs, bundles (kits) and the mapping from each shop's SKUs and listings to ours."""
