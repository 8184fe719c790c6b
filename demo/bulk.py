"""M, L (or L scaled): the bulk generator into an empty database, reporting as it goes."""

from django.core.management.base import CommandError

from demo import seeding
from warehouse.models import Product


def scale_build(*, scale, factor, seed, users, stdout, style) -> dict:
    """Build the scale (`factor`: L scaled by it) and write what was built to `stdout`."""
    if Product.objects.exists():
        raise CommandError(
            "The database has products already: the bulk scales load into an empty one "
            "(or pass --if-empty to leave it as it is)."
        )
    size = seeding.size_scaled(factor) if factor is not None else seeding.SIZES[scale]
    name = scale if factor is None else f"L×{factor:g}"
    stdout.write(
        f"Building scale {name}: {size.products:,} products, {size.locations:,} locations, "
        f"~{size.movements:,} movements, {size.devices:,} devices, {size.parties:,} parties, "
        f"~{size.documents:,} documents (seed {seed})."
    )
    result = seeding.seed_scale(
        size=size,
        seed=seed,
        scale_name=name,
        staff_id=users["staff"].pk,
        clerk_id=users["clerk"].pk,
        log=stdout.write,
    )
    counts = ", ".join(f"{value:,} {label}" for label, value in result["counts"].items())
    stdout.write(counts)
    stdout.write(style.SUCCESS(f"Scale {name} built in {result['seconds']:.1f} s."))
    return result
