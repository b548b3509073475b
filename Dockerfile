# The identity service: gunicorn serving identity_site.wsgi (web) and, from the
# same image, the task worker and the migrate step (see docker-compose.yml).
# Commands match the Makefile's: `make run` is this without containers.

# ---------------------------------------------------------------------------
# Build: the pinned runtime requirements in a virtualenv.
# ---------------------------------------------------------------------------
FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --require-virtualenv -r /tmp/requirements.txt

# ---------------------------------------------------------------------------
# Runtime: the virtualenv and the code, run by an unprivileged user.
# ---------------------------------------------------------------------------
FROM python:3.11-slim AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

RUN groupadd --system app \
    && useradd --system --gid app --no-create-home --home-dir /app \
       --shell /usr/sbin/nologin app

WORKDIR /app
COPY --from=build /opt/venv /opt/venv
# The code stays owned by root: the service can read it, never rewrite it.
COPY . .

# Static files are collected and fingerprinted once, at build time; whitenoise
# serves them. The secret below exists only for this build step (settings need
# one to load); the real SECRET_KEY comes from the environment at run time.
RUN SECRET_KEY=build-only-throwaway-secret-never-used-at-run-time-0123456789 \
    DEBUG=false \
    python manage.py collectstatic --noinput \
    && mkdir -p var/mail \
    && chown -R app:app var

USER app
EXPOSE 8000

# The probe sends the first ALLOWED_HOSTS name (Django refuses other hosts) and
# X-Forwarded-Proto: https (otherwise SECURE_SSL_REDIRECT answers 301, not the
# health). urlopen raises on any non-2xx, so a 503 fails the probe.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; host = os.environ.get('ALLOWED_HOSTS', '').split(',')[0].strip().lstrip('*.') or 'localhost'; u.urlopen(u.Request('http://127.0.0.1:8000/api/v1/health', headers={'Host': host, 'X-Forwarded-Proto': 'https'}), timeout=4)"]

CMD ["gunicorn", "identity_site.wsgi", "-c", "gunicorn.conf.py"]
