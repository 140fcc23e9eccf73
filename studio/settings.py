"""Settings for studio, read from the environment with defaults that run on one machine.

Everything a deployment changes is an environment variable; nothing else needs
editing. With no variables set the studio runs on the embedded defaults: SQLite (WAL),
the django-q2 ORM broker and local files, all under ``STUDIO_DATA_DIR``.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP


def envbool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def envlist(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("STUDIO_DATA_DIR") or BASE_DIR / "var").resolve()
# 0700: it holds the database (password hashes, sessions, webhook secrets) and the key.
DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in DATA_DIR.

    Hosts that share nothing (a database, a bucket and no common disk) would each
    generate their own, and a worker's signatures would not verify on a web host: with
    ``DATABASE_URL`` and ``STUDIO_S3_BUCKET`` set it must come from the environment."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    if os.environ.get("DATABASE_URL") and os.environ.get("STUDIO_S3_BUCKET"):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "SECRET_KEY is not set: with DATABASE_URL and STUDIO_S3_BUCKET the studio may run "
            "on several hosts, which must all have the same key from the environment."
        )
    path = DATA_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(50)
        # O_EXCL: when two processes start together, one writes and both read it.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key


SECRET_KEY = _secret_key()
DEBUG = envbool("DEBUG")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_q",
    "axes",
    "videos_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "studio.middleware.BodySizeLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "studio.middleware.DropTrailingSlashMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it answers for a locked-out sign-in.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "studio.urls"
WSGI_APPLICATION = "studio.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
if database_url := os.environ.get("DATABASE_URL"):
    # Connections persist for a minute; each is checked before a request reuses it, so
    # the first request of every thread after a database restart is not an error.
    DATABASES = {
        "default": dj_database_url.parse(database_url, conn_max_age=60, conn_health_checks=True)
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "studio.sqlite3"),
            # Keep each thread's connection: opening one and running the PRAGMAs below
            # on every request cost more than most requests themselves.
            "CONN_MAX_AGE": 600,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {
                # IMMEDIATE takes the write lock up front: concurrent read-then-write
                # transactions wait for each other instead of failing with "locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA busy_timeout=20000;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# This studio's name on a shared broker and cache: its queues, and its cache keys, so
# that two studios on one Redis database never read each other's sessions or users.
QUEUE_NAME = os.environ.get("STUDIO_QUEUE_NAME", "studio")

# --- Cache and sessions ---------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            # A Redis outage is a cache miss, not a 500 (see studio/cache.py); a Redis
            # that hangs is given up on quickly.
            "BACKEND": "studio.cache.OutageTolerantRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": QUEUE_NAME,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
else:
    # Shared by every web and worker process on the machine, unlike locmem.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }
# Sessions are read from the cache on most requests: a progress poll costs no session query.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14

# --- Background jobs (django-q2) -----------------------------------------------------
RENDER_TIMEOUT = envint("STUDIO_RENDER_TIMEOUT", 900)
# The local renderer's child runs this much nicer than the worker (0-19): a render takes
# the cores that are idle, and page requests on the same host are served first.
RENDER_NICE = envint("STUDIO_RENDER_NICE", 0)
# A running job writes a heartbeat; one silent this long belongs to a dead worker and is
# picked up again by the sweeper.
HEARTBEAT_STALE_SECONDS = envint("STUDIO_HEARTBEAT_STALE", 90)
# More engine kinds, merged over the built-ins: kind -> (label, dotted path of the engine
# class). See videos_app/providers/registry.py.
STUDIO_ENGINES: dict[str, tuple[str, str]] = {}
# Webhook deliveries, their retries and the stale-job sweep: short tasks with a queue and
# a cluster of their own (`manage.py worker --housekeeping`), never behind renders.
HOUSEKEEPING_QUEUE = f"{QUEUE_NAME}-housekeeping"
# Jobs whose route runs on the diffusers engine (open weights on this host's GPU): a queue
# of their own, taken only by `manage.py worker --gpu`, one job at a time per GPU.
GPU_QUEUE = f"{QUEUE_NAME}-gpu"
# A GPU render may take many minutes (Wan 2.2 at 720p: ~10 min on one consumer card); a
# pipeline that sends no event (a step, a stage) for the stall time is presumed hung.
GPU_RENDER_TIMEOUT = envint("STUDIO_GPU_RENDER_TIMEOUT", 3600)
GPU_STALL_TIMEOUT = envint("STUDIO_GPU_STALL_TIMEOUT", 600)
# The model side's interpreter (empty: .venv-gpu/bin/python if it exists, else this one).
DIFFUSERS_PYTHON = os.environ.get("STUDIO_DIFFUSERS_PYTHON", "")
Q_CLUSTER: dict[str, object] = {
    # Separate names keep separate queues on one Redis (tests, several studios).
    "name": QUEUE_NAME,
    "workers": envint("STUDIO_WORKERS", 2),
    # A task must finish (or be killed) before the broker hands it out again.
    "timeout": RENDER_TIMEOUT + 60,
    "retry": RENDER_TIMEOUT + 120,
    "max_attempts": 3,
    "queue_limit": 4,
    "recycle": 200,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 1000,
    "label": "Job queue",
    "ALT_CLUSTERS": {
        HOUSEKEEPING_QUEUE: {
            "workers": envint("STUDIO_HOUSEKEEPING_WORKERS", 2),
            "timeout": 120,
            "retry": 180,
            "label": "Housekeeping queue",
            "poll": 0.5,  # the ORM broker's: nothing on this queue is waited for by a person
        },
        GPU_QUEUE: {
            "workers": 1,  # one job at a time per GPU (a host with two runs two workers)
            "timeout": GPU_RENDER_TIMEOUT + 60,
            "retry": GPU_RENDER_TIMEOUT + 120,
            "queue_limit": 1,  # a second task waits in the broker, where the sweep sees it
            "label": "GPU queue",
        },
    },
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    # How long an empty ORM broker waits before asking again: a job's pick-up waits half
    # of it on average (one indexed query of a small table per poll; Redis blocks instead).
    Q_CLUSTER["poll"] = int(os.environ.get("STUDIO_QUEUE_POLL_MS") or 100) / 1000

# --- Auth -----------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # Sign-in throttling first: a locked-out account or address is refused before any
    # password is hashed. Sessions store the second one's path (keep it).
    "axes.backends.AxesStandaloneBackend",
    "videos_app.auth.CachedModelBackend",
]
# django-axes: after STUDIO_SIGNIN_FAILURES wrong passwords for one account, or from one
# client address, that account or address is refused for STUDIO_SIGNIN_LOCKOUT_MINUTES
# (staff lift it early under Axes > Access attempts in the admin, or `manage.py axes_reset`).
AXES_FAILURE_LIMIT = envint("STUDIO_SIGNIN_FAILURES", 10)
AXES_COOLOFF_TIME = timedelta(minutes=envint("STUDIO_SIGNIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Password hashing at once per web process, at most: the other threads stay free for
# everything else (a burst of sign-ins used to hold every thread; /healthz took 18 s).
SIGNIN_CONCURRENCY = envint("STUDIO_SIGNIN_CONCURRENCY", max(1, envint("WEB_THREADS", 4) // 2))
# /v1: wrong or missing API keys from one client address, per minute, before it is
# refused (429) for the rest of the minute without a lookup (0: off).
STUDIO_API_AUTH_FAILURES_PER_MINUTE = envint("STUDIO_API_AUTH_FAILURES_PER_MINUTE", 60)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "videos:gallery"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Email (password reset links, team invitations) ---------------------------------
# Without STUDIO_EMAIL_HOST the emails are written to the server's log (console), so a
# fresh studio's reset and invitation links are in the terminal that runs `make run`.
_EMAIL_HOST = os.environ.get("STUDIO_EMAIL_HOST", "")
MAILERS = {
    "default": (
        {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _EMAIL_HOST,
                "port": envint("STUDIO_EMAIL_PORT", 587),
                "username": os.environ.get("STUDIO_EMAIL_USER", ""),
                "password": os.environ.get("STUDIO_EMAIL_PASSWORD", ""),
                "use_tls": envbool("STUDIO_EMAIL_TLS", True),
                "timeout": 10,
            },
        }
        if _EMAIL_HOST
        else {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    )
}
DEFAULT_FROM_EMAIL = os.environ.get("STUDIO_EMAIL_FROM", "studio@localhost")
# Without SMTP the log is the studio's mailbox on purpose (an admin reads a reset link
# there); `check --deploy` would call that an error.
SILENCED_SYSTEM_CHECKS = [] if _EMAIL_HOST else ["mail.E001"]

# --- Static and media -----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "allow_overwrite": True},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Media on S3-compatible object storage (studio/storage.py): a bucket named here replaces
# the local folder. Credentials are boto3's own (AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY, a profile or an instance role), never a setting.
STUDIO_S3_BUCKET = os.environ.get("STUDIO_S3_BUCKET", "")
STUDIO_S3_ENDPOINT_URL = os.environ.get("STUDIO_S3_ENDPOINT_URL", "")  # non-AWS stores
STUDIO_S3_REGION = os.environ.get("STUDIO_S3_REGION", "")
# Path-style addresses (endpoint/bucket/key) suit most non-AWS stores; AWS picks its own.
STUDIO_S3_ADDRESSING_STYLE = os.environ.get(
    "STUDIO_S3_ADDRESSING_STYLE", "path" if STUDIO_S3_ENDPOINT_URL else "auto"
)
# The browser's media: a permission-checked redirect to a presigned URL that lives this
# many seconds, or proxied through the studio (for a bucket browsers cannot reach).
STUDIO_MEDIA_URL_EXPIRY = envint("STUDIO_MEDIA_URL_EXPIRY", 300)
STUDIO_MEDIA_PROXY = envbool("STUDIO_MEDIA_PROXY")
if STUDIO_S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": STUDIO_S3_BUCKET,
            "endpoint_url": STUDIO_S3_ENDPOINT_URL or None,
            "region_name": STUDIO_S3_REGION or None,
            "addressing_style": STUDIO_S3_ADDRESSING_STYLE,
            "signature_version": "s3v4",
            "file_overwrite": True,  # an asset's name is the same on every attempt
            "default_acl": None,  # private: every read is signed or proxied
            "querystring_expire": STUDIO_MEDIA_URL_EXPIRY,
            # An S3File spools what it reads to disk past 2 MB, not to memory.
            "max_memory_size": 2 * 1024 * 1024,
        },
    }
# Uploads bigger than this go to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Media is the team's own: not readable by other users of the machine (Django's
# default would chmod every stored file 0644 whatever the umask).
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Page bodies (studio.middleware.BodySizeLimitMiddleware): before signing in, the size
# of a sign-in form with room to spare; signed in, the largest upload a page takes (a
# 200 MB video to edit or extend) and its form.
STUDIO_MAX_ANONYMOUS_BODY = 1024 * 1024
STUDIO_MAX_PAGE_BODY = 201 * 1024 * 1024
# Reference images: bytes and pixels (a decompression bomb is refused before decoding).
STUDIO_MAX_IMAGE_BYTES = envint("STUDIO_MAX_IMAGE_BYTES", 20 * 1024 * 1024)
STUDIO_MAX_IMAGE_PIXELS = envint("STUDIO_MAX_IMAGE_PIXELS", 40_000_000)

# --- The /v1 API ---------------------------------------------------------------------
# Requests per minute per API key (0 turns the limit off).
STUDIO_API_RATE_LIMIT = envint("STUDIO_API_RATE_LIMIT", 600)
# Fetch http(s) input_reference.image_url; off = uploads, data URLs and file ids only.
STUDIO_ALLOW_IMAGE_URL_FETCH = envbool("STUDIO_ALLOW_IMAGE_URL_FETCH")

# --- Security -------------------------------------------------------------------------
HTTPS = envbool("STUDIO_HTTPS")
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and envbool("STUDIO_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = envint("STUDIO_HSTS_SECONDS", 60 * 60 * 24 * 365 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if envbool("STUDIO_BEHIND_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "media-src": [CSP.SELF, "blob:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
if STUDIO_S3_BUCKET and not STUDIO_MEDIA_PROXY:
    # The player, thumbnails and spritesheets are redirected to the bucket.
    from urllib.parse import urlsplit

    if STUDIO_S3_ENDPOINT_URL:
        _endpoint = urlsplit(STUDIO_S3_ENDPOINT_URL)
        _host = _endpoint.netloc
        if STUDIO_S3_ADDRESSING_STYLE == "virtual":
            _host = f"{STUDIO_S3_BUCKET}.{_host}"
        _bucket_origins = [f"{_endpoint.scheme}://{_host}"]
    else:
        _bucket_origins = [f"https://{STUDIO_S3_BUCKET}.s3.amazonaws.com"]
        if STUDIO_S3_REGION:
            _bucket_origins.append(
                f"https://{STUDIO_S3_BUCKET}.s3.{STUDIO_S3_REGION}.amazonaws.com"
            )
    SECURE_CSP["img-src"] = [CSP.SELF, "data:", "blob:", *_bucket_origins]
    SECURE_CSP["media-src"] = [CSP.SELF, "blob:", *_bucket_origins]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.server": {"level": "WARNING"}},
}
