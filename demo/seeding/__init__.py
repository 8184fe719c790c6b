from .history import (
    CHECKS,
    SIZES,
    Size,
    invariants_check,
    marker_read,
    seed_scale,
    size_scaled,
    table_counts,
)

__all__ = [
    "CHECKS",
    "SIZES",
    "Size",
    "invariants_check",
    "marker_read",
    "seed_scale",
    "size_scaled",
    "table_counts",
]
