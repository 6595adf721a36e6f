"""Benchmark: what a Bearer token costs an API request, against a session in the same run.

    .venv/bin/python bench/auth.py [--requests N] [--write docs/benchmarks.md]

Starts the local OpenID provider (node/oidc.mjs, as the tests do), then times GET /api/me through
Django's test client, in-process, on an in-memory SQLite database:

  session      a signed-in session (the reference)
  bearer       an RS256 access token, the issuer's keys cached (the normal case)
  bearer-cold  the same with the key cache emptied before every request: what fetching the JWKS
               per request would cost (the thing the cache exists to avoid)

and counts the provider's JWKS fetches for the cached run (expected: 1 for the whole run).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

START = "<!-- bench:auth:start -->"
END = "<!-- bench:auth:end -->"


def _setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tapesite.settings.test"
    os.environ["DATABASE_URL"] = "sqlite://:memory:"
    os.environ["ACCOUNTS_THROTTLE"] = "1000000/min"  # measuring, not rate limiting
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0)


def _time(call: Any, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def run(requests_per_variant: int) -> dict[str, Any]:
    _setup_django()
    from django.conf import settings
    from rest_framework.test import APIClient

    from accounts import auth0
    from accounts.models import User
    from tests.support.oidc import API_AUDIENCE, WEB_CLIENT, OidcProvider

    with tempfile.TemporaryDirectory() as workdir:
        provider = OidcProvider(workdir=Path(workdir), redirect_uris=[], logout_uris=[])
        provider.start()
        try:
            settings.AUTH0_ISSUER = provider.issuer
            settings.AUTH0_CLIENT_ID, settings.AUTH0_CLIENT_SECRET = WEB_CLIENT
            settings.AUTH0_AUDIENCE = API_AUDIENCE
            auth0.cache.clear()
            user = User.objects.create_user(username="bench", password="x")
            session = APIClient()
            session.force_login(user)
            token = provider.sign(provider.access_claims("auth0|bench"))
            bearer = APIClient()
            bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

            def ok(client: APIClient) -> None:
                response = client.get("/api/me")
                assert response.status_code == 200, response.content

            def cold() -> None:
                auth0.cache.clear()
                ok(bearer)

            ok(session)
            ok(bearer)  # first sight: creates the user, fetches metadata and keys once
            before = provider.stats()["jwks"]
            results: dict[str, list[float]] = {"session": [], "bearer": [], "bearer-cold": []}
            # Interleaved rounds, so a busy machine slows every variant alike.
            for _ in range(5):
                results["session"] += _time(lambda: ok(session), requests_per_variant // 5)
                results["bearer"] += _time(lambda: ok(bearer), requests_per_variant // 5)
            jwks_warm = provider.stats()["jwks"] - before
            cold_rounds = max(20, requests_per_variant // 10)
            results["bearer-cold"] = _time(cold, cold_rounds)
            jwks_cold = provider.stats()["jwks"] - before - jwks_warm
        finally:
            provider.stop()
    medians = {name: statistics.median(samples) for name, samples in results.items()}
    return {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "requests": {name: len(samples) for name, samples in results.items()},
        "median_ms": {name: m * 1000 for name, m in medians.items()},
        "ratio_bearer": medians["bearer"] / medians["session"],
        "ratio_cold": medians["bearer-cold"] / medians["bearer"],
        "jwks_warm": jwks_warm,
        "jwks_cold": jwks_cold,
    }


def report(result: dict[str, Any]) -> str:
    ms = result["median_ms"]
    n = result["requests"]
    lines = [
        START,
        "## Bearer tokens on the API (`bench/auth.py`)",
        "",
        f"Run {result['when']} on {result['machine']} (a busy shared machine: noisy), with "
        "`.venv/bin/python bench/auth.py --write docs/benchmarks.md`. GET /api/me through "
        "Django's test client, in-process, SQLite in memory; the provider is `node/oidc.mjs`.",
        "",
        "| variant | requests | median per request |",
        "|---|---:|---:|",
        f"| session (reference) | {n['session']} | {ms['session']:.2f} ms |",
        f"| bearer, keys cached | {n['bearer']} | {ms['bearer']:.2f} ms |",
        f"| bearer, metadata and keys fetched every time | {n['bearer-cold']} "
        f"| {ms['bearer-cold']:.2f} ms |",
        "",
        f"- bearer / session: {result['ratio_bearer']:.2f}x (the RS256 check and the user lookup)",
        f"- keys fetched per request / cached: {result['ratio_cold']:.2f}x",
        f"- JWKS fetches during the {n['bearer']} cached requests: {result['jwks_warm']} "
        f"(during the {n['bearer-cold']} cold ones: {result['jwks_cold']})",
        END,
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--write", type=Path, help="update this Markdown file in place")
    args = parser.parse_args()
    text = report(run(args.requests))
    print(text)
    if args.write:
        current = args.write.read_text() if args.write.exists() else ""
        if START in current and END in current:
            head, rest = current.split(START, 1)
            updated = head + text + rest.split(END, 1)[1]
        else:
            updated = current.rstrip() + "\n\n" + text + "\n"
        args.write.write_text(updated)


if __name__ == "__main__":
    main()
