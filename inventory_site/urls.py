from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from devices import stock_booking
from warehouse import urls as warehouse_urls

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="warehouse:balance"), name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    # The JSON API: token or session, the pages' permissions (api/urls.py).
    path("api/", include("api.urls")),
    # The stock pages book through the devices app's booking module, which keeps
    # devices and ledger in step for traceable products and passes counted ones through.
    path("", include((warehouse_urls.patterns(stock=stock_booking), "warehouse"))),
    path("", include("billing.urls")),
    path("", include("devices.urls")),
]
