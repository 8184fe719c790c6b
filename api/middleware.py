"""The site's request guards, answered in the API's error shape under /api/."""

from django.http import JsonResponse

from .errors import error_body

API_PREFIX = "/api/"


def nul_refusing(get_response):
    """Under /api/: a NUL in the address or its query answers 400 `invalid` in JSON.

    PostgreSQL text cannot hold a NUL: a natural key in the path (a SKU, a
    location code) or a filter carrying one would fail in the database.

    Placed before `inventory_site.middleware.nul_refusing`, which answers
    pages (and everything else) with its HTML page.
    """

    def middleware(request):
        if request.path.startswith(API_PREFIX):
            if "\x00" in request.path:
                message = "The address holds a NUL character (%00): remove it and try again."
                return JsonResponse(error_body("invalid", message), status=400)
            for name, values in request.GET.lists():
                if "\x00" in name or any("\x00" in value for value in values):
                    shown = name.replace("\x00", "\\x00")
                    message = f"The query holds a NUL character (%00) in “{shown}”."
                    body = error_body("invalid", message, field=shown, fields={shown: message})
                    return JsonResponse(body, status=400)
        return get_response(request)

    return middleware
