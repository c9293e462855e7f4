"""Production web server settings (gunicorn reads this file from the directory it starts in).

Threaded workers (``gthread``): 2 processes × 4 threads. On the 2-core test machine, 50
simulated users without pauses (bench/README.md, "50 users: saves and pages under load") got
39.6 requests/s from ``-w 2 --threads 4`` against 33.1 from ``-w 2`` sync and 26.6 from ``-w 4``
sync: a request spends much of its time waiting on PostgreSQL, which a thread can do while
another computes, and fewer processes each keep one copy of the board's per-run columns
(about 17 MB a run at 100,000 applications). The per-process caches are shared by the threads
(``scoring/services/kept.py``; ``tests/test_threaded_pages.py``).

Override any value on the command line or with ``GUNICORN_CMD_ARGS``; ``WEB_CONCURRENCY`` and
``WEB_THREADS`` set the processes and threads (about one process per core).
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")  # behind the HTTPS proxy
wsgi_app = "scoring:create_app()"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
# A threaded worker's heartbeat comes from its main loop, not from the request, so this only
# ends a worker that stopped answering; a request's own limit is the database's
# statement_timeout (WEB_STATEMENT_TIMEOUT_MS, 30 s). The what-if of 100,000 applications in
# the request takes 6-10 s on the test machine.
timeout = 60
graceful_timeout = 30
keepalive = 5
