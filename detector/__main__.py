"""``python -m detector``: the only place errors become messages and exit codes.

``python -m detector serve ...`` (exactly "serve" as the first argument) starts the HTTP server;
anything else is the command line's images. A file named serve is still reachable as ``./serve``.
"""

import contextlib
import json
import os
import sys

from .cli import parse_args, run
from .errors import DetectorError, one_line
from .serve_cli import parse_serve_args

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
SERVE = "serve"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == [SERVE]:
        return serve(argv[1:])
    args = parse_args(argv)  # argparse exits with EXIT_USAGE itself
    try:
        with native_stderr_silenced():
            return EXIT_FAILED if run(args, sys.stdout, sys.stderr) else EXIT_OK
    except DetectorError as exc:  # fatal: a missing or invalid model
        return _fail(one_line(exc))
    except BrokenPipeError:
        return EXIT_FAILED  # the reader went away (e.g. `| head`): stop quietly
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: still no traceback, but say what it was
        return _fail(f"internal error ({type(exc).__name__}: {one_line(exc)}); please report it")


def serve(argv: list) -> int:
    """Run the HTTP service until stopped; a bad model or address is a one-line failure."""
    args = parse_serve_args(argv)
    from .server import create_app, listen, run, Settings  # the image command line needs none of it
    settings = Settings(model=args.model, sha256=args.sha256, threads=args.threads,
                        batch_size=args.batch_size, concurrency=args.concurrency,
                        body_timeout=args.body_timeout)
    try:
        # Worker processes would inherit a silenced descriptor 2, their logs with it.
        with native_stderr_silenced() if args.workers == 1 else contextlib.nullcontext():
            app = create_app(settings)  # the model is checked here, also when workers load it
            sock = listen(args.host, args.port)
            host, port = sock.getsockname()[:2]
            print(f"detector: serving {app.state.service.detector.model.path} on "
                  f"http://{host}:{port}/ with {args.workers} process(es); {page_note(app)} "
                  f"(Ctrl-C stops)", file=sys.stderr, flush=True)
            run(settings, sock, workers=args.workers, quiet=args.quiet,
                app=app if args.workers == 1 else None)
    except DetectorError as exc:
        return _fail(one_line(exc))
    except OSError as exc:  # address in use, no such interface, port below 1024
        return _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: still no traceback, but say what it was
        return _fail(f"internal error ({type(exc).__name__}: {one_line(exc)}); please report it")
    return EXIT_OK


def page_note(app) -> str:
    from .web import FETCH_COMMAND, WebFiles
    if WebFiles().missing():
        return f"the page at / scores on this server (for the browser: {FETCH_COMMAND})"
    return "the page at / runs the model in the browser"


@contextlib.contextmanager
def native_stderr_silenced():
    """Point file descriptor 2 at /dev/null while images are read; Python's stderr keeps going
    to the real one. C libraries print there directly (libtiff: "LZWDecode: Not enough data at
    scanline 0") and each failure must stay one line of ours, which the error row already says.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no fd 2 to protect
        yield
        return
    original = sys.stderr
    try:
        if _fileno(original) == 2:  # the real stream: move it to the saved descriptor
            sys.stderr = open(saved, "w", encoding=original.encoding, errors=original.errors,
                              buffering=1, closefd=False)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        yield
    finally:
        if sys.stderr is not original:
            sys.stderr.flush()
            sys.stderr = original
        os.dup2(saved, 2)
        os.close(saved)


def _fileno(stream) -> int:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a test, or closed
        return -1


def _fail(message: str) -> int:
    print(json.dumps({"error": message}), flush=True)
    print(f"detector: {message}", file=sys.stderr)
    return EXIT_FAILED


def _exit_now(code: int) -> None:
    """Flush and leave without interpreter teardown.

    Tearing down onnxruntime, numpy and Pillow takes 50-90 ms, a fifth of a cold run, and
    there is nothing left to clean up: the model is closed and worker processes are joined.
    """
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # closed pipe or stream: the output is gone anyway
        code = code or EXIT_FAILED
    os._exit(code)


if __name__ == "__main__":
    _exit_now(main())
