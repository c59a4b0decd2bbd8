"""Django settings, derived entirely from :mod:`mailwarden.config`."""

from __future__ import annotations

import dj_database_url
import django_stubs_ext

from mailwarden.config import get_settings

# Lets Django's generic classes be subscripted at run time as the type stubs declare them
# (``admin.ModelAdmin[Model]``, ``forms.ModelChoiceField[Model]``).
django_stubs_ext.monkeypatch()

MW = get_settings()

BASE_URL = MW.base_url
SECRET_KEY = MW.resolve_secret_key()
DEBUG = MW.debug and MW.env != "production"
ALLOWED_HOSTS = [*MW.allowed_hosts, "testserver"] if MW.env == "test" else MW.allowed_hosts
CSRF_TRUSTED_ORIGINS = MW.csrf_trusted_origins

DATA_DIR = MW.data_dir.resolve()
MEDIA_STORE_DIR = DATA_DIR / "media"

INSTALLED_APPS = [
    # /admin/ shows data and changes none (core.admin_site).
    "mailwarden.core.admin_site.ReadOnlyAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "django_htmx",
    "ninja",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "mailwarden.core",
    "mailwarden.directory",
    "mailwarden.custody",
    "mailwarden.screening",
    "mailwarden.access",
    "mailwarden.incidents",
    "mailwarden.surveillance",
    "mailwarden.training",
    "mailwarden.risk",
    "mailwarden.reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "mailwarden.server.metrics.MetricsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "mailwarden.core.middleware.MfaRequiredMiddleware",
    "axes.middleware.AxesMiddleware",
    "mailwarden.server.api.json_method_not_allowed",
]

ROOT_URLCONF = "mailwarden.server.urls"
ASGI_APPLICATION = "mailwarden.server.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mailwarden.core.context.console",
            ],
        },
    },
]

if MW.database_url:
    # Under ASGI every request runs in its own thread, so persistent connections would pile up
    # one per request; psycopg's pool reuses them instead.
    DATABASES = {"default": dj_database_url.parse(MW.database_url, conn_max_age=0)}
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 2, "max_size": 20}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "mailwarden.sqlite3"),
            "CONN_MAX_AGE": 600,
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
                ),
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
OTP_TOTP_ISSUER = "mailwarden"
# mailwarden throttles wrong codes itself (core.services.verify_totp): django-otp's delay after
# the very first wrong code refused the right code typed next.
OTP_TOTP_THROTTLE_FACTOR = 0
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

AXES_FAILURE_LIMIT = MW.security.login_failure_limit
AXES_COOLOFF_TIME = MW.security.login_cooloff_minutes / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "mailwarden.core.views.lockout"
AXES_CLIENT_IP_CALLABLE = "mailwarden.core.views.client_address"
# The per-address limit (security.login_failure_limit_per_address) counts axes's failure log.
AXES_HANDLER = "mailwarden.core.signin.AddressLimitedHandler"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = False

SESSION_COOKIE_AGE = MW.security.session_age_minutes * 60
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if MW.env == "production":
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31_536_000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^livez$", r"^readyz$", r"^metrics$"]

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

DATA_UPLOAD_MAX_MEMORY_SIZE = MW.uploads.max_bytes
FILE_UPLOAD_MAX_MEMORY_SIZE = MW.uploads.max_bytes

EMAIL_BACKEND = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
}[MW.email.backend]
EMAIL_FILE_PATH = DATA_DIR / "sent-mail"
EMAIL_HOST = MW.email.host
EMAIL_PORT = MW.email.port
EMAIL_HOST_USER = MW.email.username or ""
EMAIL_HOST_PASSWORD = MW.email.password or ""
EMAIL_USE_TLS = MW.email.use_tls
EMAIL_TIMEOUT = MW.email.timeout_s
DEFAULT_FROM_EMAIL = MW.email.from_address

if MW.queue_url:
    INSTALLED_APPS.append("django_rq")
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    RQ_QUEUES = {"default": {"URL": MW.queue_url, "DEFAULT_TIMEOUT": 300}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"mailwarden": {"level": "INFO"}},
}

SILENCED_SYSTEM_CHECKS: list[str] = []
