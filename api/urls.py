"""Every API route, under /api/ (inventory_site/urls.py): the schema, its docs page, resources.

`/api/schema/` is the OpenAPI 3 document (token or session); `/api/docs/` is
Swagger UI from the sidecar's static files, split so that its init script is
a file of its own (the CSP allows no inline script). The docs page is for a
person at a browser: anonymous, it redirects to the login page like every page.
"""

from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from .events import EventFeed
from .views import ApiMixin, RateLimitHeaders

app_name = "api"


class Schema(ApiMixin, SpectacularAPIView):
    permissions_by_method = {"GET": ()}  # every signed-in user may read the schema
    # JSON first, as every other answer (and its errors); `?format=yaml` for YAML.
    renderer_classes = [OpenApiJsonRenderer, OpenApiYamlRenderer]


class Docs(RateLimitHeaders, SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"
    url_name = "api:schema"

    @classmethod
    def as_view(cls, **initkwargs):
        # DRF marks its views login-not-required; this one is a page: to the login first.
        return login_required(super().as_view(**initkwargs))


urlpatterns = [
    path("schema/", Schema.as_view(), name="schema"),
    path("docs/", Docs.as_view(), name="docs"),
    path("", include("api.warehouse.urls")),
    path("", include("api.devices_writes")),
    path("", include("api.billing_writes")),
    path("", include("api.devices.urls")),
    path("", include("api.billing.urls")),
    path("events/", EventFeed.as_view(), name="event_feed"),
]
