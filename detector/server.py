"""The HTTP server: the standard library's http.server, a bounded pool of worker threads, and
the Service that answers each request.

http.server is enough here (zero install, no dependency for requirements-run.txt): requests are
small, one image or a form of them, and the work is onnxruntime's. A production deployment
would put a reverse proxy (TLS, keep-alive, rate limits) in front.
"""

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .api import DEFAULT_BATCH_SIZE, load_detector
from .errors import RequestError
from .service import Service, check_length, error_response, json_response
from .web import WebFiles

# A client that stops sending mid-request frees its worker after this long.
SOCKET_TIMEOUT_S = 30


class Handler(BaseHTTPRequestHandler):
    """One request per connection (HTTP/1.0): a worker is never held by an idle keep-alive."""

    server_version = "fmnist-detector"
    default_request_version = "HTTP/1.0"  # a garbled request line still gets a status line
    timeout = SOCKET_TIMEOUT_S

    def do_GET(self):
        self._answer()

    # One entry for every method: the Service answers 405 (or 404) itself; HEAD is GET
    # without the body (_send looks at self.command).
    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def _answer(self):
        try:
            body = self._read_body()
            response = self.server.service.handle(self.command, self.path,
                                                  self.headers.get("Content-Type", ""), body)
        except RequestError as exc:
            self.close_connection = True  # an unread body may follow: do not parse it as a request
            response = error_response(exc)
        except TimeoutError:  # the client stopped sending: nobody to answer
            self.close_connection = True
            return
        except Exception as exc:  # a bug: answer 500, keep serving, say what it was
            self.log_error("internal error: %s: %s", type(exc).__name__, exc)
            response = json_response({"error": f"internal error ({type(exc).__name__}); "
                                               f"please report it"}, 500)
        self._send(response)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            raise RequestError("chunked bodies are not supported: send Content-Length", 411)
        length = self.headers.get("Content-Length")
        if length is None:
            if self.command in ("POST", "PUT", "PATCH"):
                raise RequestError("Content-Length is required", 411)
            return b""
        try:
            length = int(length)
        except ValueError:
            raise RequestError(f"Content-Length is not a number: {length!r}") from None
        if length < 0:
            raise RequestError(f"Content-Length is negative: {length}")
        check_length(length)
        body = self.rfile.read(length)
        if len(body) != length:
            raise RequestError(f"body ended after {len(body)} of {length} bytes")
        return body

    def _send(self, response):
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Cache-Control", "no-cache")
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def send_error(self, code, message=None, explain=None):
        """http.server's own refusals (a malformed request line, 501 ...): JSON, like ours."""
        self.close_connection = True
        body = (json.dumps({"error": message or self.responses.get(code, ("error",))[0]})
                + "\n").encode()
        self.send_response(code, message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    def log_message(self, format, *args):
        if not self.server.quiet:
            super().log_message(format, *args)


class DetectorServer(ThreadingHTTPServer):
    """Accepts connections on one thread and answers them on ``workers`` pooled threads."""

    daemon_threads = True
    request_queue_size = 128  # the listen backlog: bursts of clients wait instead of failing

    def __init__(self, address, service: Service, *, workers: int, quiet: bool = False):
        self.service = service
        self.quiet = quiet
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="detector-http")
        super().__init__(address, Handler)

    def process_request(self, request, client_address):
        self.pool.submit(self.process_request_thread, request, client_address)

    def handle_error(self, request, client_address):
        """A connection that failed (the client hung up mid-answer): one line, no traceback."""
        error = sys.exc_info()[1]
        if not self.quiet:
            print(f"detector: {client_address[0]}: connection failed: "
                  f"{type(error).__name__}: {error}", file=sys.stderr)

    def server_close(self):
        super().server_close()
        self.pool.shutdown(wait=True, cancel_futures=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"


def make_server(model=None, *, host: str = "127.0.0.1", port: int = 8000, workers: int = 4,
                threads: int = 0, batch_size: int = DEFAULT_BATCH_SIZE,
                quiet: bool = False, sha256: "str | None" = None,
                web: "WebFiles | None" = None) -> DetectorServer:
    """Load the model once and bind ``host:port`` (0: any free port; see ``.url``).

    Raises ModelError for a bad model, OSError when the address cannot be bound.
    """
    detector = load_detector(model, batch_size=batch_size, threads=threads, sha256=sha256)
    return DetectorServer((host, port), Service(detector, web or WebFiles()), workers=workers,
                          quiet=quiet)
