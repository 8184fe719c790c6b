"""Settings shared by development, tests and production.

Importing it starts nothing: each of dev.py, test.py and production.py says
where its database is (inventory_site/database.py).
"""

import os
from datetime import timedelta
from pathlib import Path

from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent

DEBUG = False
SECRET_KEY = "override-me"
ALLOWED_HOSTS: list[str] = []

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # OpClass in the trigram indexes (warehouse 0016)
    "django.forms",
    "django_htmx",
    "template_partials",
    "django_tables2",
    "django_filters",
    "axes",
    "csp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from our own static files
    "warehouse",
    "devices",
    "billing",
    "api",  # the JSON API over the three apps (issue 13)
    "demo",  # the demo data and the benchmark: tools over every app
    "inventory_site",  # grants the application role its rights after migrate
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Renews a signed-in session's idle time, writing it once a minute at most.
    "inventory_site.middleware.session_renewing",
    "django.middleware.common.CommonMiddleware",
    # A NUL in an /api/ query answers in the API's JSON error shape; the site's guard the rest.
    "api.middleware.nul_refusing",
    "inventory_site.middleware.nul_refusing",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a login unless its view says @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # The Content-Security-Policy header on every answer (policy below).
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "inventory_site.urls"
# Widgets render with the project's templates: templates/django/forms/ overrides
# Django's select (options written in place, not included one by one).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"
WSGI_APPLICATION = "inventory_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "warehouse.context_processors.low_stock",
            ],
        },
    },
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

SESSION_ENGINE = "django.contrib.sessions.backends.db"

DJANGO_TABLES2_TEMPLATE = "django_tables2/table.html"
DJANGO_TABLES2_PAGE_RANGE = 8

# The one currency the business bills in (documents carry no currency of their own).
INVENTORY_CURRENCY = "EUR"

# --- Trust at the edges: login throttling, CSP, idle sessions -------------------------

# django-axes first: it refuses a locked-out username+address before Django checks
# the password, and counts every failure.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 10
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # one user from one address
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "inventory_site.lockout.lockout_page"
AXES_USERNAME_CALLABLE = "inventory_site.lockout.login_username"

# django-csp 4: the pages load only their own scripts, styles and images.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

# A session ends after this many minutes without a request: requests renew it
# (inventory_site.middleware.session_renewing, at most once a minute, so a page
# view does not write the session row each time).
INVENTORY_SESSION_IDLE_MINUTES = int(os.environ.get("INVENTORY_SESSION_IDLE_MINUTES", "60"))
SESSION_COOKIE_AGE = INVENTORY_SESSION_IDLE_MINUTES * 60

# --- The JSON API (api/): tokens or the session, the pages' permissions ----------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiTokenAuthentication",
        # The browser (the docs page); DRF asks for the CSRF token on unsafe methods.
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "api.pagination.ApiCursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.TokenRateThrottle"],
    # Counted in PostgreSQL (api.RateCount): one allowance across every server process.
    "DEFAULT_THROTTLE_RATES": {"api": os.environ.get("INVENTORY_API_RATE", "1000/min")},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Inventory back-office API",
    "DESCRIPTION": "Stock, devices and billing documents: the same rules as the pages.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SCHEMA_PATH_PREFIX": "/api/",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
