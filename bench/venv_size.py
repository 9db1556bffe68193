"""The run venv's size: a fresh venv with requirements-run.txt against an empty one.

    python bench/venv_size.py [--json docs/venv_size.json]

Makes both in a temporary folder (pip from the configured index; a minute or two), measures
each with `du` (apparent sizes of every file, MiB) and writes the JSON the docs cite. The bar:
the requirements add at most 200 MB (MB as `du -sh` prints them: MiB) over the empty venv.
"""

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements-run.txt"
LIMIT_MIB = 200


def du_mib(path: Path) -> float:
    """`du -sm`'s figure for ``path`` (disk usage, MiB)."""
    out = subprocess.run(["du", "-sm", str(path)], check=True, capture_output=True, text=True).stdout
    return float(out.split()[0])


def make_venv(path: Path, requirements: "Path | None") -> float:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    if requirements is not None:
        subprocess.run([str(path / "bin" / "pip"), "install", "-q", "-r", str(requirements)],
                       check=True, stdout=subprocess.DEVNULL)
    return du_mib(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=ROOT / "docs" / "venv_size.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        empty = make_venv(Path(tmp) / "empty", None)
        run = make_venv(Path(tmp) / "run", REQUIREMENTS)
    result = {"date": datetime.date.today().isoformat(), "python": sys.version.split()[0],
              "requirements": [line for line in REQUIREMENTS.read_text().splitlines()
                               if line and not line.startswith("#")],
              "empty_venv_mib": empty, "run_venv_mib": run, "added_mib": run - empty,
              "limit_mib": LIMIT_MIB}
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"venv: empty {empty:.0f} MiB, with requirements-run.txt {run:.0f} MiB: "
          f"{run - empty:.0f} MiB added (limit {LIMIT_MIB})")
    return 0 if run - empty <= LIMIT_MIB else 1


if __name__ == "__main__":
    sys.exit(main())
