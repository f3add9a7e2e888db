"""BookFlow settings: one module, driven by environment variables (see .env.example)."""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from decouple import Csv, config
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = config("DEBUG", default=False, cast=bool)

SECRET_KEY = config("APP_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "APP_SECRET_KEY is not set. Set it to a long random string (or set DEBUG=1 for local development)."
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = config("ALLOWED_HOSTS", default="localhost,127.0.0.1,[::1]", cast=Csv())
CSRF_TRUSTED_ORIGINS = config("CSRF_TRUSTED_ORIGINS", default="", cast=Csv())
# Render sets RENDER_EXTERNAL_HOSTNAME (bookflow-api.onrender.com) on every web service.
RENDER_EXTERNAL_HOSTNAME = config("RENDER_EXTERNAL_HOSTNAME", default="")
if RENDER_EXTERNAL_HOSTNAME:
    ALLOWED_HOSTS.append(RENDER_EXTERNAL_HOSTNAME)
    CSRF_TRUSTED_ORIGINS.append(f"https://{RENDER_EXTERNAL_HOSTNAME}")
CSRF_FAILURE_VIEW = "bookflow_api.errors.csrf_failure"
CORS_ALLOWED_ORIGINS = config("CORS_ALLOWED_ORIGINS", default="", cast=Csv())

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_apscheduler",
    "axes",  # before account: account/admin.py re-registers its admin pages
    "account",
    "books",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "bookflow_api.middleware.RequestSizeLimitMiddleware",  # before anything reads a body: 413 past MULTIPART_MAX_BYTES
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "account.admin_lockout.AdminSignInTurnMiddleware",  # after the view: gives back an admin sign-in's turn
    "axes.middleware.AxesMiddleware",  # last, as axes asks: turns a locked-out admin sign-in into its 429 page
]

ROOT_URLCONF = "bookflow_api.urls"
WSGI_APPLICATION = "bookflow_api.wsgi.application"

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
            ],
        },
    },
]


# Web and worker share one SQLite file, whoever configured it: WAL lets readers and one writer work at once,
# IMMEDIATE takes the write lock when a transaction begins (a read that later writes can't be refused), and
# the busy timeout makes writers queue instead of failing.
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}


def _database() -> dict:
    """DATABASE_URL wins, then the guide's DB_* variables, then (only with DEBUG on) a local SQLite file."""
    url = config("DATABASE_URL", default="")
    if url:
        database = dj_database_url.parse(url, conn_max_age=600, conn_health_checks=True)
    elif config("DB_NAME", default=""):
        database = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": config("DB_NAME"),
            "USER": config("DB_USERNAME", default=""),
            "PASSWORD": config("DB_PASSWORD", default=""),
            "HOST": config("DB_HOST_NAME", default="localhost"),
            "PORT": config("DB_PORT", default="5432"),
            "CONN_MAX_AGE": 600,
            "CONN_HEALTH_CHECKS": True,
        }
    elif DEBUG:
        database = {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3", "CONN_MAX_AGE": 600}
    else:
        raise ImproperlyConfigured(
            "DATABASE_URL is not set (nor DB_NAME with DB_USERNAME, DB_PASSWORD, DB_HOST_NAME). Production does "
            "not fall back to SQLite; set DEBUG=1 for local development."
        )
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database["OPTIONS"] = SQLITE_OPTIONS | database.get("OPTIONS", {})
    return database


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = config("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # Several deployments (or test runs) sharing one Redis keep apart by prefix.
            "KEY_PREFIX": config("CACHE_KEY_PREFIX", default=""),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "account.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = BASE_DIR / "media"

CLOUDINARY_CLOUD_NAME = config("CLOUDINARY_CLOUD_NAME", default="")
CLOUDINARY_API_KEY = config("CLOUDINARY_API_KEY", default="")
CLOUDINARY_API_SECRET = config("CLOUDINARY_API_SECRET", default="")
USE_CLOUDINARY = bool(CLOUDINARY_CLOUD_NAME and CLOUDINARY_API_KEY and CLOUDINARY_API_SECRET)
if not USE_CLOUDINARY and (CLOUDINARY_CLOUD_NAME or CLOUDINARY_API_KEY or CLOUDINARY_API_SECRET):
    raise ImproperlyConfigured(
        "CLOUDINARY_CLOUD_NAME, CLOUDINARY_API_KEY and CLOUDINARY_API_SECRET go together: "
        "set all three (avatars on Cloudinary) or none (avatars on the local disk)."
    )
if USE_CLOUDINARY:
    INSTALLED_APPS += ["cloudinary_storage", "cloudinary"]
    CLOUDINARY_STORAGE = {
        "CLOUD_NAME": CLOUDINARY_CLOUD_NAME,
        "API_KEY": CLOUDINARY_API_KEY,
        "API_SECRET": CLOUDINARY_API_SECRET,
    }
STORAGES = {
    "default": {
        "BACKEND": "cloudinary_storage.storage.MediaCloudinaryStorage"
        if USE_CLOUDINARY
        else "django.core.files.storage.FileSystemStorage"
    },
    # Served by whitenoise from STATIC_ROOT (build.sh runs collectstatic), gzip/brotli-compressed.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
AVATAR_MAX_BYTES = 5 * 1024 * 1024
MULTIPART_MAX_BYTES = AVATAR_MAX_BYTES + 64 * 1024  # the avatar, the profile's text fields, the framing
# Uploads need a disk that is kept and served: Cloudinary, or the local one under `make run` (DEPLOYMENT.md).
AVATAR_UPLOADS_ENABLED = USE_CLOUDINARY or DEBUG

# Email: SMTP when a password is configured, the console in development; EMAIL_BACKEND overrides both.
# Production cannot work without email (sign-up codes go by email), so it refuses to start without one.
MAIL_SMTP_PASSWORD = config("MAIL_SMTP_PASSWORD", default="")
EMAIL_BACKEND = config("EMAIL_BACKEND", default="")
if not EMAIL_BACKEND:
    if MAIL_SMTP_PASSWORD:
        EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    elif DEBUG:
        EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    else:
        raise ImproperlyConfigured(
            "MAIL_SMTP_PASSWORD is not set (with MAIL_SMTP_USER, MAIL_SMTP_HOST, MAIL_SMTP_PORT): production "
            "cannot email sign-up codes without it. Set it, or EMAIL_BACKEND, or DEBUG=1 for local development."
        )
EMAIL_HOST = config("MAIL_SMTP_HOST", default="smtp.gmail.com")
EMAIL_PORT = config("MAIL_SMTP_PORT", default=587, cast=int)
EMAIL_HOST_USER = config("MAIL_SMTP_USER", default="")
EMAIL_HOST_PASSWORD = MAIL_SMTP_PASSWORD
EMAIL_USE_TLS = EMAIL_PORT == 587
EMAIL_USE_SSL = EMAIL_PORT == 465
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = config("MAIL_FROM", default=EMAIL_HOST_USER or "BookFlow <no-reply@bookflow.local>")

# One-time codes.
OTP_TTL_MINUTES = config("OTP_TTL_MINUTES", default=10, cast=int)
OTP_MAX_ATTEMPTS = config("OTP_MAX_ATTEMPTS", default=5, cast=int)

# Google Books.
GOOGLE_BOOKS_BASE_URL = config("GOOGLE_BOOKS_BASE_URL", default="https://www.googleapis.com/books/v1")
GOOGLE_BOOKS_API_KEY = config("GOOGLE_BOOKS_API_KEY", default="")
BOOKS_SEARCH_CACHE_SECONDS = 60 * 60
BOOKS_RECOMMENDED_CACHE_SECONDS = 6 * 60 * 60
BOOKS_FRESH_SECONDS = 7 * 24 * 60 * 60  # a local copy younger than this is served without asking Google
BOOKS_POPULAR_DAYS = 30

# Daily call budgets for the paid upstreams, counted in the database by every process; a day starts at
# midnight Pacific time, when Google resets its quotas. Defaults: the free tiers (Google Books API 1,000
# requests a day; Gemini 2.5 Flash 250). Past a budget, catalogue reads answer from the local catalogue and
# new summaries wait for the next day. 0 stops all calls.
GOOGLE_BOOKS_DAILY_CALL_BUDGET = config("GOOGLE_BOOKS_DAILY_CALL_BUDGET", default=1000, cast=int)
GEMINI_DAILY_CALL_BUDGET = config("GEMINI_DAILY_CALL_BUDGET", default=250, cast=int)

# Summaries (Gemini through google-genai, or the offline extractive provider).
GOOGLE_API_KEY = config("GOOGLE_API_KEY", default="")
GEMINI_MODEL = config("GEMINI_MODEL", default="gemini-2.5-flash")
GEMINI_BASE_URL = config("GEMINI_BASE_URL", default="")
GEMINI_TIMEOUT_SECONDS = 90
SUMMARY_PROVIDER = config("SUMMARY_PROVIDER", default="auto")  # auto | gemini | offline
if SUMMARY_PROVIDER not in ("auto", "gemini", "offline"):
    raise ImproperlyConfigured("SUMMARY_PROVIDER must be auto, gemini or offline.")
if SUMMARY_PROVIDER == "gemini" and not GOOGLE_API_KEY:
    raise ImproperlyConfigured("SUMMARY_PROVIDER is gemini but GOOGLE_API_KEY is not set.")
SUMMARY_TASK_DELAY_SECONDS = config("SUMMARY_TASK_DELAY_SECONDS", default=2, cast=float)
SUMMARY_PROMPT_VERSION = 1
# After a failed generation a book is not generated again for this long; after this many failed rounds, only
# an admin's retry runs it again.
SUMMARY_RETRY_COOLDOWN_MINUTES = config("SUMMARY_RETRY_COOLDOWN_MINUTES", default=60, cast=int)
SUMMARY_MAX_FAILED_ROUNDS = 3
# Failed (refunded) generations one reader may cause per hour before their requests start no new one (429).
SUMMARY_FAILED_ROUNDS_PER_READER_HOUR = 3
for _name in ("GOOGLE_BOOKS_DAILY_CALL_BUDGET", "GEMINI_DAILY_CALL_BUDGET", "SUMMARY_RETRY_COOLDOWN_MINUTES"):
    if globals()[_name] < 0:
        raise ImproperlyConfigured(f"{_name} must be 0 or more.")
# Monthly summary unlocks per plan.
PLAN_QUOTAS = {"free": 1, "basic": 10, "premium": 25, "scholar": 60}

# Free trial: granted this long after a reader verifies their email, once per address ever.
FREE_TRIAL_DELAY_SECONDS = config("FREE_TRIAL_DELAY_SECONDS", default=5, cast=float)
FREE_TRIAL_DAYS = config("FREE_TRIAL_DAYS", default=30, cast=int)
FREE_TRIAL_PLAN = "basic"
FREE_TRIAL_REMINDER_DAYS = 3

# In-process scheduler for one-off tasks: auto (serving processes only), on, or off.
BOOKFLOW_BACKGROUND_SCHEDULER = config("BOOKFLOW_BACKGROUND_SCHEDULER", default="auto")
if BOOKFLOW_BACKGROUND_SCHEDULER not in ("auto", "on", "off"):
    raise ImproperlyConfigured("BOOKFLOW_BACKGROUND_SCHEDULER must be auto, on or off.")

# Rate limits per scope. Readers share addresses behind carrier-grade NAT, campuses and offices, so per-IP
# limits are generous (close to django-allauth's per-IP defaults) and abuse of one address or account is
# held by the tighter per-address and per-user limits. THROTTLE_RATES overrides any of them without a deploy.
DEFAULT_THROTTLE_RATES = {
    "register_ip": "20/min",
    "login_ip": "30/min",
    "login_email": "20/hour",
    "code_check_ip": "20/min",
    "code_check_email": "20/hour",
    "code_send_ip": "20/min",
    "code_send_email": "1/min",
    "code_send_email_daily": "10/day",
    "password_user": "10/hour",
    "avatar_user": "10/hour",
    "catalogue_user": "60/min",
    # Google Books calls one reader's cache misses may cost (search, categories, book and ISBN lookups).
    "catalogue_miss_user": "60/hour",
    "catalogue_miss_user_daily": "200/day",
}


def _throttle_rates(overrides: str) -> dict[str, str]:
    """The defaults with THROTTLE_RATES (`scope=N/period,...`) applied; anything malformed stops start-up."""
    rates = dict(DEFAULT_THROTTLE_RATES)
    for item in filter(None, (part.strip() for part in overrides.split(","))):
        scope, _, rate = (text.strip() for text in item.partition("="))
        if scope not in rates:
            raise ImproperlyConfigured(
                f"THROTTLE_RATES: unknown scope {scope!r}; the scopes are {', '.join(sorted(rates))}."
            )
        number, _, period = rate.partition("/")
        if not (number.isascii() and number.isdigit() and period[:1] in ("s", "m", "h", "d") and period.isalpha()):
            raise ImproperlyConfigured(
                f"THROTTLE_RATES: {item!r} is not a rate; write it as {scope}=N/second|minute|hour|day (e.g. 30/hour)."
            )
        rates[scope] = f"{int(number)}/{period}"
    return rates


THROTTLE_RATES = _throttle_rates(config("THROTTLE_RATES", default=""))

REST_FRAMEWORK = {
    # simplejwt's JWTAuthentication, minus the reader's row on each request when the shared cache vouches for it.
    "DEFAULT_AUTHENTICATION_CLASSES": ["account.authentication.LeanJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # orjson (UTF-8 output), falling back to DRF's ASCII JSON for what orjson refuses: any text a client sends,
    # even a lone surrogate, can be echoed back in an error (bookflow_api/renderers.py). JSON only: no browsable API.
    "DEFAULT_RENDERER_CLASSES": ["bookflow_api.renderers.FastJSONRenderer"],
    # DRF's own JSON renderers stay ASCII (the fallback above, drf-spectacular's schema as JSON).
    "UNICODE_JSON": False,
    # Multipart only on the views that take files (account/me/): elsewhere it is a 415, its body unread.
    "DEFAULT_PARSER_CLASSES": ["bookflow_api.parsers.SafeJSONParser", "bookflow_api.parsers.SafeFormParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",  # DRF's test client would send multipart where the API speaks JSON
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "bookflow_api.errors.exception_handler",
    # Behind Render's proxy set NUM_PROXIES=1 so clients cannot spoof X-Forwarded-For.
    "NUM_PROXIES": config("NUM_PROXIES", default=0, cast=int),
    "DEFAULT_THROTTLE_RATES": THROTTLE_RATES,
}


# Admin login lockout (django-axes; account/admin_lockout.py, DEPLOYMENT.md). Failed sign-ins to /admin/login/
# are counted in the database, which every gunicorn worker shares. At ADMIN_LOGIN_FAILURE_LIMIT for one
# address, or ADMIN_LOGIN_IP_FAILURE_LIMIT from one client address, sign-in is refused (429, no password hashed)
# until they are ADMIN_LOGIN_COOLOFF_MINUTES old; a failure counts while the next comes within that time.
# The API login is not counted: it has its own throttles.
def _at_least_one(name: str, value: str) -> int:
    if not (value.strip().isascii() and value.strip().isdigit() and int(value) >= 1):
        raise ImproperlyConfigured(f"{name} must be a whole number of at least 1, not {value!r}.")
    return int(value)


ADMIN_LOGIN_FAILURE_LIMIT = _at_least_one("ADMIN_LOGIN_FAILURE_LIMIT", config("ADMIN_LOGIN_FAILURE_LIMIT", default="5"))
ADMIN_LOGIN_IP_FAILURE_LIMIT = _at_least_one(
    "ADMIN_LOGIN_IP_FAILURE_LIMIT", config("ADMIN_LOGIN_IP_FAILURE_LIMIT", default="20")
)
ADMIN_LOGIN_COOLOFF_MINUTES = _at_least_one(
    "ADMIN_LOGIN_COOLOFF_MINUTES", config("ADMIN_LOGIN_COOLOFF_MINUTES", default="15")
)
if ADMIN_LOGIN_IP_FAILURE_LIMIT < ADMIN_LOGIN_FAILURE_LIMIT:
    raise ImproperlyConfigured(
        f"ADMIN_LOGIN_IP_FAILURE_LIMIT ({ADMIN_LOGIN_IP_FAILURE_LIMIT}) is below ADMIN_LOGIN_FAILURE_LIMIT "
        f"({ADMIN_LOGIN_FAILURE_LIMIT}): one client address tries many addresses, so give it at least as many."
    )
AUTHENTICATION_BACKENDS = [
    "account.admin_lockout.AdminLoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "account.admin_lockout.AdminLoginLockoutHandler"
AXES_ONLY_ADMIN_SITE = True
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = ADMIN_LOGIN_FAILURE_LIMIT  # per address; the handler adds the per-client limit
AXES_COOLOFF_TIME = timedelta(minutes=ADMIN_LOGIN_COOLOFF_MINUTES)
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # refused tries are not counted: the pause ends on time
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"  # the admin form's field, and authenticate()'s keyword
AXES_USERNAME_CALLABLE = "account.admin_lockout.admin_login_address"
AXES_CLIENT_IP_CALLABLE = "account.admin_lockout.client_ip"  # NUM_PROXIES, as the API throttles
AXES_LOCKOUT_CALLABLE = "account.admin_lockout.lockout_response"
AXES_VERBOSE = False  # no start-up banner in every manage.py command's output

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=60),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=30),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    # Tokens carry a hash of the password hash: changing the password voids every token at once.
    "CHECK_REVOKE_TOKEN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "BookFlow API",
    "DESCRIPTION": (
        "Backend of the BookFlow book-summary app. Errors are JSON: "
        '`{"code": "...", "detail": "...", "errors": {"field": ["..."]}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI assets are served by us, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "bookflow_api.errors.document_common_errors",
    ],
    "ENUM_NAME_OVERRIDES": {
        "TaskStatusEnum": "bookflow_api.durable.TaskStatus",
        "SubscriptionStatusEnum": ["none", "trialing", "active", "expired"],
    },
}

CORS_URLS_REGEX = r"^/api/.*$"

# Production: HTTPS behind Render's proxy. Render terminates TLS and says so in X-Forwarded-Proto.
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^api/health/$"]  # Render's health checks come over plain HTTP
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # Render's `generateValue` makes a 44-character base64 key holding 256 random bits; Django's
    # heuristic (W009) asks for 50 characters. Silence it only for keys with that much entropy.
    if len(SECRET_KEY) >= 40 and len(set(SECRET_KEY)) >= 20:
        SILENCED_SYSTEM_CHECKS = ["security.W009"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(asctime)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": config("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # Every run of every job would log two lines; failures still do, and django_apscheduler records runs.
        "apscheduler.executors": {"level": "WARNING"},
    },
}
