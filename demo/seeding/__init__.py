from .history import SIZES, Size, marker_read, seed_scale, size_scaled, table_counts

__all__ = ["SIZES", "Size", "marker_read", "seed_scale", "size_scaled", "table_counts"]
