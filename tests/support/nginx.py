"""Debian's nginx with ``proxy_cache`` in front of the site, on loopback, as docs/operations.md
("Caches in front of the site") tells an operator to set it up: the shared cache the site's
Cache-Control is written for. Used by tests/web/test_shared_cache.py and bench/cache.py.

The cache keys on scheme, host, URI and Origin; it ignores ``Vary`` (Cookie would split anonymous
visitors by every unrelated cookie) and instead goes straight to the site, storing nothing, for
any request with a session cookie, a messages cookie or an Authorization header: the requests
whose answers the site says are private (tapes.caching).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.support.services import free_port, wait_until

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONFIG = """\
{user}
worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;

    proxy_cache_path {prefix}/cache levels=1:2 keys_zone=tapesite:10m max_size=1g
                     inactive=10m use_temp_path=off;
    upstream tapesite {{
        server {upstream};
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://tapesite;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;

            proxy_cache tapesite;
            # The API's answers differ by Origin (CORS: sites.cors), which Vary says but which
            # is ignored below: so the key holds it.
            proxy_cache_key $scheme$host$request_uri$http_origin;
            # A cached copy past its s-maxage is revalidated (If-None-Match): a 304 renews it,
            # a nuked tape's 404 replaces it. Never served stale: that would break the promise.
            proxy_cache_revalidate on;
            proxy_cache_lock on;
            proxy_ignore_headers Vary;
            proxy_cache_bypass $cookie_{session_cookie} $cookie_messages $http_authorization;
            proxy_no_cache $cookie_{session_cookie} $cookie_messages $http_authorization;
            add_header X-Cache-Status $upstream_cache_status always;
        }}
    }}
}}
"""


class Nginx:
    def __init__(
        self,
        upstream: str,
        prefix: Path,
        *,
        workers: int = 1,
        session_cookie: str = "sessionid",
    ) -> None:
        self.upstream = upstream  # host:port
        self.prefix = prefix
        self.workers = workers
        self.session_cookie = session_cookie
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> str:
        # As root, nginx's workers would drop to "nobody", who cannot write the cache here.
        user = "user root root;" if os.geteuid() == 0 else ""
        return CONFIG.format(
            user=user,
            workers=self.workers,
            prefix=self.prefix,
            upstream=self.upstream,
            port=self.port,
            session_cookie=self.session_cookie,
        )

    def start(self) -> None:
        for sub in ("tmp", "cache"):
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
        conf = self.prefix / "nginx.conf"
        conf.write_text(self.config())
        log = (self.prefix / "stderr.log").open("ab")
        self.proc = subprocess.Popen(
            [NGINX, "-p", str(self.prefix), "-c", str(conf), "-g", "daemon off;"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def answers() -> bool:
            try:
                requests.get(self.url + "/healthz", timeout=2)
                return True
            except requests.RequestException:
                return False

        wait_until(answers, 30, f"nginx (log: {self.prefix}/error.log)", self.proc)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


@contextmanager
def nginx_cache(upstream: str, prefix: Path, **options: object) -> Iterator[Nginx]:
    server = Nginx(upstream, prefix, **options)  # type: ignore[arg-type]
    server.start()
    try:
        yield server
    finally:
        server.stop()
