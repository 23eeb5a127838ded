#!/bin/sh
# Chooses the process the container runs: web (default), worker, beat, observe, rendezvous
# (heroku run; needs RENDEZVOUS_CERT and RENDEZVOUS_KEY), migrate, or any
# command.
set -eu
case "${1:-web}" in
  web) exec gunicorn -c python:paas.gunicorn paas.asgi --bind "0.0.0.0:${PORT:-8000}" ;;
  worker) exec celery -A paas worker --loglevel INFO --concurrency "${WORKER_CONCURRENCY:-2}" ;;
  beat) exec celery -A paas beat --loglevel INFO --schedule /tmp/celerybeat-schedule ;;
  observe) exec python manage.py observe ;;
  rendezvous) exec python manage.py rendezvous ;;
  migrate) exec python manage.py migrate --noinput ;;
  *) exec "$@" ;;
esac
