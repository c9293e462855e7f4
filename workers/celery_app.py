"""The Celery app for worker processes, built from the Flask app so tasks run in its context."""

from scoring import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
