"""``python -m scale``: ``python -m detector``'s rows for many files, scored on Dask workers.

    python -m scale imgs/ --workers 2                  # a local cluster of 2 worker processes
    python -m scale imgs/ --scheduler tcp://host:8786  # an existing Dask cluster

One JSON line per file, with "path" (as ``python -m detector`` prints several files); exit
status 0 when every file got an answer, 1 when any failed or the model is missing or damaged,
2 for usage errors, 130 when interrupted. Needs ``pip install -r requirements-scale.txt``.
"""

import argparse
import json
import logging
import sys

from detector.cli import positive_int, sha256_hex
from detector.errors import DetectorError, one_line
from detector.inputs import expand_inputs

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scale", description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image file or directory")
    parser.add_argument("--model", metavar="NAME|PATH", help="as python -m detector's (default: detector)")
    parser.add_argument("--sha256", type=sha256_hex, metavar="HEX", help="as python -m detector's")
    parser.add_argument("--resize", action="store_true", help="as python -m detector's")
    parser.add_argument("--workers", type=positive_int, default=2, metavar="N",
                        help="worker processes of the local cluster (default: 2)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="use this running Dask scheduler instead of a local cluster")
    parser.add_argument("--chunk", type=positive_int, default=2048, metavar="N",
                        help="files per task (default: 2048)")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if "-" in args.images:
        build_parser().error("stdin (-) is not read: the workers read files")
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        return _fail("Dask is not installed: pip install -r requirements-scale.txt")
    entries = expand_inputs(args.images, read_stdin=None)
    try:
        if args.scheduler:
            with Client(args.scheduler) as client:
                return write_rows(client, entries, args)
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=":0", silence_logs=logging.ERROR) as cluster, \
                Client(cluster) as client:
            return write_rows(client, entries, args)
    except DetectorError as exc:
        return _fail(one_line(exc))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def write_rows(client, entries: list, args) -> int:
    """Score the entries' files on ``client`` and print every row in input order; returns the
    exit status."""
    from .dask_scan import scan
    paths = [source for _name, source in entries if not isinstance(source, DetectorError)]
    rows = scan(client, paths, model=args.model, sha256=args.sha256, resize=args.resize,
                chunk=args.chunk)
    failed = 0
    for name, source in entries:
        row = {"path": name, "error": one_line(source)} if isinstance(source, DetectorError) \
            else next(rows)
        failed += "error" in row
        sys.stdout.write(json.dumps(row) + "\n")
    sys.stdout.flush()
    return EXIT_FAILED if failed else EXIT_OK


def _fail(message: str) -> int:
    print(json.dumps({"error": message}), flush=True)
    print(f"scale: {message}", file=sys.stderr)
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
