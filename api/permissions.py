"""One permission class: each view lists, per HTTP method, the permissions a user needs.

    class ProductList(ApiListView):
        permissions_by_method = {"GET": ("warehouse.view_product",)}

The permissions are the pages' own (the roles of warehouse, devices and
billing migrations 0003): a read needs the view permission of the page that
shows it, a write the permission of the page that books it. A method the
view handles but does not list is refused (403) to everyone; one it does not
handle answers 405; HEAD and OPTIONS follow GET.
Authentication comes first: anonymous requests answer 401 before this runs.
"""

from rest_framework.permissions import BasePermission

FOLLOWS_GET = ("HEAD", "OPTIONS")


class MethodPermissions(BasePermission):
    message = "You do not have permission to perform this action."

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        needed = required(view, request.method)
        if needed is None:
            # A method the view has no handler for is DRF's 405; one it has but
            # does not list is refused, so a new handler cannot go unguarded.
            return not hasattr(view, request.method.lower())
        return request.user.has_perms(needed)


def required(view, method: str) -> tuple[str, ...] | None:
    """The permissions `view` asks for `method` (None: the method is not offered)."""
    table = getattr(view, "permissions_by_method", None) or {}
    if method in FOLLOWS_GET and method not in table:
        method = "GET"
    return table.get(method)
