"""A small JSON-over-HTTP client shared by the collectors (httpx + tenacity).

One ``GET`` returns parsed JSON or raises. Retried (with the same URL):

* ``429 Too Many Requests`` and ``418`` (Binance's IP ban; both carry ``Retry-After``),
  and every ``5xx``;
* timeouts (connect, read, write, pool: each ``timeout_s``) and transport errors
  (connection refused or reset, a body cut short of its ``Content-Length``);
* a ``2xx`` body that is not valid JSON (truncated or garbled).

Wait before retry n (n = 1, 2, ...): the server's ``Retry-After`` when given (seconds,
or an HTTP date), else ``min(backoff_max_s, backoff_initial_s * 2 ** (n - 1))``. The
client gives up after ``max_attempts`` attempts, or earlier when the next wait would
bring the total waited over ``max_wait_s`` (a ``Retry-After: 3600`` is not slept
through). Other ``4xx`` and ``3xx`` responses are not retried.

Errors: :class:`HTTPFetchError` (gave up, or a non-retryable status) names the full URL,
the last HTTP status (None when there was no response) and the attempts made.
Sleeping goes through the injectable ``sleep`` callable so tests run without waiting.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception_type

from market_regimes import __version__

log = logging.getLogger("market_regimes.collectors")

#: Statuses that mean "try again later" besides every 5xx.
RETRY_STATUSES = frozenset({418, 429})


class CollectorError(RuntimeError):
    """Base class of collector failures (network, response shape, landing files)."""


class HTTPFetchError(CollectorError):
    """A GET failed for good.

    Attributes:
        url: the full request URL, query string included.
        status: the last HTTP status code, or None (timeout, connection error).
        attempts: attempts made (1 for a non-retryable status).
        reason: what went wrong on the last attempt.
    """

    def __init__(self, url: str, reason: str, status: int | None = None, attempts: int = 1):
        super().__init__(f"GET {url} failed after {attempts} attempt(s): {reason}")
        self.url, self.reason, self.status, self.attempts = url, reason, status, attempts


class ResponseShapeError(CollectorError):
    """Valid JSON that is not the documented shape (an API change, a wrong endpoint): not retried."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"GET {url}: unexpected response: {reason}")
        self.url, self.reason = url, reason


class _Retryable(Exception):
    """One failed attempt worth retrying (internal to :class:`JsonClient`)."""

    def __init__(self, reason: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.reason, self.status, self.retry_after = reason, status, retry_after


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date); None if absent/invalid."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class JsonClient:
    """GET JSON from one base URL with timeouts and retries (see the module doc).

    Args:
        base_url: e.g. ``https://api.binance.com``; request paths are joined to it.
        timeout_s: httpx timeout for each of connect / read / write / pool, seconds.
        max_attempts: attempts per request, >= 1 (1 = no retries).
        backoff_initial_s, backoff_max_s: exponential backoff start and cap, seconds.
        max_wait_s: cap on the total time slept between attempts of one request, seconds.
        headers: extra request headers (an API key header, say).
        sleep: called with the seconds to wait before a retry (default ``time.sleep``).
        trust_env: let httpx read proxy settings from the environment.
        transport: an httpx transport (tests); default the network.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 10.0,
        max_attempts: int = 5,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        max_wait_s: float = 120.0,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        trust_env: bool = True,
        transport: httpx.BaseTransport | None = None,
    ):
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
        if min(timeout_s, backoff_initial_s, backoff_max_s, max_wait_s) < 0:
            raise ValueError("timeouts and waits must be >= 0 seconds")
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.max_wait_s = max_wait_s
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(timeout_s),
            trust_env=trust_env,
            transport=transport,
            follow_redirects=False,
            headers={"User-Agent": f"market-regimes/{__version__}", "Accept": "application/json", **(headers or {})},
        )

    def __enter__(self) -> JsonClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def url_for(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """The full URL a GET of ``path`` with ``params`` requests (as named in errors)."""
        return str(self._http.build_request("GET", path, params=params).url)

    def delay_before_retry(self, attempt_number: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt ``attempt_number`` (1-based)."""
        if retry_after is not None:
            return retry_after
        return min(self.backoff_max_s, self.backoff_initial_s * 2 ** (attempt_number - 1))

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET ``path`` and return the parsed JSON body (dict, list, number ...).

        Raises:
            HTTPFetchError: a non-retryable status, or retries exhausted (see module doc).
        """
        url = self.url_for(path, params)

        def wait(state: RetryCallState) -> float:
            return self.delay_before_retry(state.attempt_number, state.outcome.exception().retry_after)

        waited = [0.0]

        def stop(state: RetryCallState) -> bool:
            # tenacity computes the wait before asking stop: upcoming_sleep is the next wait
            waited[0] = state.idle_for
            return state.attempt_number >= self.max_attempts or state.idle_for + state.upcoming_sleep > self.max_wait_s

        def before_sleep(state: RetryCallState) -> None:
            log.warning(
                "GET %s: %s; attempt %d/%d failed, retrying in %.1f s",
                url,
                state.outcome.exception().reason,
                state.attempt_number,
                self.max_attempts,
                state.upcoming_sleep,
            )

        retrying = Retrying(
            sleep=self._sleep,
            wait=wait,
            stop=stop,
            before_sleep=before_sleep,
            retry=retry_if_exception_type(_Retryable),
        )
        try:
            for attempt in retrying:
                with attempt:
                    body = self._attempt(path, params, url, attempt.retry_state.attempt_number)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            n = exc.last_attempt.attempt_number
            reason = last.reason
            if n < self.max_attempts:
                next_wait = self.delay_before_retry(n, last.retry_after)
                reason += (
                    f"; the next wait ({next_wait:g} s) would exceed max_wait_s={self.max_wait_s:g}"
                    f" (waited {waited[0]:g} s)"
                )
            raise HTTPFetchError(url, reason, last.status, n) from last
        return body

    def _attempt(self, path: str, params: Mapping[str, Any] | None, url: str, attempt_number: int) -> Any:
        try:
            response = self._http.get(path, params=params)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timed out (timeout_s={self.timeout_s:g}, {type(exc).__name__})") from exc
        except httpx.TransportError as exc:  # refused / reset connection, body shorter than announced
            raise _Retryable(f"transport error ({type(exc).__name__}: {exc})") from exc
        status = response.status_code
        if status in RETRY_STATUSES or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            note = f" (Retry-After {retry_after:g} s)" if retry_after is not None else ""
            raise _Retryable(f"HTTP {status}{note}", status, retry_after)
        if not 200 <= status < 300:
            excerpt = response.text[:300].strip()
            raise HTTPFetchError(url, f"HTTP {status}: {excerpt}", status, attempt_number)
        try:
            return json.loads(response.content)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise _Retryable(f"invalid or truncated JSON ({exc}; {len(response.content)} bytes)", status) from exc
