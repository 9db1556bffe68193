"""The HTTP service: a Starlette app (``create_app``) run by uvicorn, in one process or several.

uvicorn holds every connection on one event loop (idle and keep-alive ones cost no thread) and
shuts down gracefully on SIGTERM or Ctrl-C: it stops accepting, lets requests in flight finish,
then exits. The app reads each body with a deadline (a client that stops sending gets 408 and
is cut off) and a size limit, then decodes and scores it on a worker thread, at most
``concurrency`` at once per process: the event loop never waits on the model.

``uvicorn detector.server:app_from_env --factory --workers N`` runs the same app with the
settings of ``DETECTOR_*`` environment variables (``Settings.from_env``).
"""

import contextlib
import copy
import dataclasses
import functools
import json
import os
import socket
import sys
import threading
import time

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .api import DEFAULT_BATCH_SIZE, load_detector
from .errors import DetectorError, RequestError
from .forms import FormReader, is_form
from .service import check_length, error_message, MAX_BODY_BYTES, Service, status_of
from .web import WebFiles

# uvicorn's keep-alive: an idle connection between requests is closed after this long.
KEEP_ALIVE_S = 5
# SIGTERM: requests in flight get this long to finish.
GRACEFUL_SHUTDOWN_S = 30


@dataclasses.dataclass
class Settings:
    """What one serving process needs; ``python -m detector serve`` fills it from its flags."""

    model: "str | None" = None
    sha256: "str | None" = None
    threads: int = 0  # onnxruntime threads per model run (0: one per core)
    batch_size: int = DEFAULT_BATCH_SIZE
    concurrency: int = 4  # model runs at once in one process
    body_timeout: float = 30.0  # seconds for a whole request body to arrive
    buffer_limit: int = 4 * MAX_BODY_BYTES  # bytes of bodies held at once in one process

    def to_env(self) -> dict:
        """Every field as a DETECTOR_* variable ("" for None), so that no value set elsewhere
        in the environment reaches the workers instead."""
        return {f"DETECTOR_{f.name.upper()}": "" if getattr(self, f.name) is None
                else str(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_env(cls, env=os.environ) -> "Settings":
        """The settings DETECTOR_* variables give; the defaults for those not set."""
        values = {}
        for field in dataclasses.fields(cls):
            text = env.get(f"DETECTOR_{field.name.upper()}")
            if text is not None:
                kind = type(field.default) if field.default is not None else str
                values[field.name] = kind(text) if text or field.default is not None else None
        return cls(**values)


class JSON(JSONResponse):
    """JSON as the CLI prints it: json.dumps' spacing, one line."""

    def render(self, content) -> bytes:
        return (json.dumps(content) + "\n").encode()


def create_app(settings: Settings, *, web: "WebFiles | None" = None) -> Starlette:
    """The app for ``settings``: loads the model now (ModelError when it is bad)."""
    detector = load_detector(settings.model, batch_size=settings.batch_size,
                             threads=settings.threads, sha256=settings.sha256)
    endpoints = Endpoints(Service(detector), web or WebFiles(), settings)
    app = Starlette(routes=endpoints.routes(),
                    exception_handlers={HTTPException: http_error})
    app.state.service = endpoints.service
    return app


def app_from_env() -> Starlette:
    """The factory for uvicorn's command line (``--factory``): settings from DETECTOR_*."""
    return create_app(Settings.from_env())


class Endpoints:
    """The routes: POST /detect, GET /health, /model, /model.onnx and the page's files."""

    def __init__(self, service: Service, web: WebFiles, settings: Settings):
        self.service, self.web, self.settings = service, web, settings
        self._limiter = None  # made on the event loop, at the first request
        self._buffered = 0  # bytes of request bodies held now (all on the event loop's thread)

    def routes(self) -> list:
        page = [Route(path, self.page_file, methods=["GET"]) for path in self.web.paths()]
        return [Route("/detect", self.detect, methods=["POST"]),
                Route("/health", self.health, methods=["GET"]),
                Route("/model", self.model, methods=["GET"]),
                Route("/model.onnx", self.model_file, methods=["GET"]), *page]

    async def detect(self, request: Request) -> Response:
        resize = request.query_params.get("resize", "0").lower() in ("1", "true", "yes")
        content_type = request.headers.get("content-type", "")
        held = [0]  # this request's share of _buffered, given back however it ends
        try:
            if is_form(content_type):
                reader = FormReader(content_type)
                await self._read_body(request, reader.feed, held)
                answer = functools.partial(self.service.detect_form, reader.parts(), resize)
            else:
                chunks = []
                await self._read_body(request, chunks.append, held)
                answer = functools.partial(self.service.detect, b"".join(chunks), resize)
            return JSON(await self._off_loop(answer))
        except DetectorError as exc:
            closing = {"Connection": "close"} if isinstance(exc, RequestError) else {}
            return JSON({"error": error_message(exc)}, status_of(exc), closing)
        except ClientDisconnect:  # nobody to answer
            return Response(status_code=400)
        except Exception as exc:  # a bug: answer 500, keep serving, say what it was
            return internal_error(exc)
        finally:
            self._buffered -= held[0]

    async def _read_body(self, request: Request, sink, held: list) -> None:
        """Stream the body into ``sink`` within the size limit, the body deadline and the
        process's buffer limit (503 when the bodies held now would pass it)."""
        check_declared_length(request)
        try:
            with anyio.fail_after(self.settings.body_timeout):
                async for chunk in request.stream():
                    check_length(held[0] + len(chunk))
                    if self._buffered + len(chunk) > self.settings.buffer_limit:
                        raise RequestError("the server holds too many uploads now; retry", 503)
                    self._buffered += len(chunk)
                    held[0] += len(chunk)
                    sink(chunk)
        except TimeoutError:
            raise RequestError(f"the request body did not arrive within "
                               f"{self.settings.body_timeout:g} s", 408) from None

    async def _off_loop(self, function):
        """Run ``function`` on a worker thread, at most ``concurrency`` at once."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.settings.concurrency)
        return await anyio.to_thread.run_sync(function, limiter=self._limiter)

    async def health(self, request: Request) -> Response:
        return JSON(self.service.health())

    async def model(self, request: Request) -> Response:
        return JSON(self.service.model_info())

    async def model_file(self, request: Request) -> Response:
        return Response(self.service.model_bytes, media_type="application/octet-stream")

    async def page_file(self, request: Request) -> Response:
        page = self.web.get(request.url.path)
        return Response(page.body, page.status, media_type=page.content_type,
                        headers={"Cache-Control": "no-cache"})


def check_declared_length(request: Request) -> None:
    """A POST body needs a length (or chunks), and one not over the limit, before it is read."""
    length = request.headers.get("content-length")
    if length is None:
        if "transfer-encoding" not in request.headers:
            raise RequestError("Content-Length is required", 411)
        return
    try:
        declared = int(length)
    except ValueError:
        raise RequestError(f"Content-Length is not a number: {length!r}") from None
    check_length(declared)


async def http_error(request: Request, exc: HTTPException) -> Response:
    """Starlette's own refusals (404, 405) as JSON, like ours."""
    path, headers = request.url.path, dict(exc.headers or {})
    if exc.status_code == 404:
        message = f"no such path: {path}"
    elif exc.status_code == 405:
        headers["Allow"] = ", ".join(sorted(headers.get("Allow", "").split(", ")))  # a set's order
        message = f"{path} answers {headers['Allow']}, not {request.method}"
    else:
        message = exc.detail
    return JSON({"error": message}, exc.status_code, headers)


def internal_error(exc: Exception) -> Response:
    print(f"detector: internal error: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    return JSON({"error": f"internal error ({type(exc).__name__}); please report it"},
                        500)


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (0: any free port); OSError when it cannot be."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=2048)
    sock.set_inheritable(True)  # worker processes accept on it too
    return sock


def uvicorn_config(app, *, quiet: bool, workers: int = 1) -> uvicorn.Config:
    logging = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    logging["handlers"]["access"]["stream"] = "ext://sys.stderr"  # stdout is for JSON answers
    return uvicorn.Config(app, factory=isinstance(app, str), workers=workers, log_config=logging,
                          http="httptools",  # measured faster than h11 here, and chosen, not found
                          timeout_keep_alive=KEEP_ALIVE_S,
                          timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
                          log_level="warning" if quiet else "info", access_log=not quiet,
                          server_header=False)


def run(settings: Settings, sock: socket.socket, *, workers: int = 1, quiet: bool = False,
        app: "Starlette | None" = None) -> None:
    """Serve on ``sock`` until SIGTERM or Ctrl-C: in this process, or in ``workers`` processes
    that each load the model (uvicorn's supervisor restarts one that dies)."""
    if workers == 1:
        server = uvicorn.Server(uvicorn_config(app or create_app(settings), quiet=quiet))
        server.run(sockets=[sock])
        return
    from uvicorn.supervisors import Multiprocess
    os.environ.update(settings.to_env())  # what each worker's app_from_env reads
    config = uvicorn_config("detector.server:app_from_env", quiet=quiet, workers=workers)
    Multiprocess(config, sockets=[sock]).run()


@contextlib.contextmanager
def serve_in_thread(app: Starlette, host: str = "127.0.0.1", port: int = 0):
    """Serve ``app`` on a thread of this process (tests, benchmarks); yields its base URL."""
    sock = listen(host, port)
    server = uvicorn.Server(uvicorn_config(app, quiet=True))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started and thread.is_alive():
            time.sleep(0.01)
        yield "http://%s:%d/" % sock.getsockname()[:2]
    finally:
        server.should_exit = True
        thread.join()
        sock.close()
