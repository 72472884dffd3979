"""Auto-review: rules that approve normal orders and hold the rest with a reason."""
