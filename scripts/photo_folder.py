"""Write a Stanford-Dogs-layout folder from photographs that packages ship, for the real-pixel
64×64 run (docs/training.md): each photo becomes images/<id>-<name>/<id>_0.<ext> with one VOC
annotation holding --boxes seeded random square boxes (side between --min-side and half the
photo's shorter side), so `python -m train --dataset dogs` cuts that many crops from it.

    python scripts/photo_folder.py OUT --photos DIR [DIR ...] [--boxes 300] [--seed 0]

Only the files of PHOTOS found under the --photos folders are used (colour photographs, not the
packages' textures, logos, test charts or grey images); the command prints which it found.
"""
import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image

# scikit-image 0.26.0's skimage/data (in its wheel) and matplotlib's mpl-data/sample_data
PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "hubble_deep_field.jpg", "ihc.png",
          "motorcycle_left.png", "motorcycle_right.png", "retina.jpg", "rocket.jpg", "grace_hopper.jpg")
OBJECT = ("<object><name>crop</name><bndbox><xmin>{}</xmin><ymin>{}</ymin><xmax>{}</xmax>"
          "<ymax>{}</ymax></bndbox></object>")


def random_boxes(width: int, height: int, n: int, min_side: int, rng: np.random.Generator) -> list:
    """n VOC boxes (1-based, inclusive) of random squares inside a width×height photo."""
    sides = rng.integers(min_side, max(min_side + 1, min(width, height) // 2 + 1), n)
    lefts = (rng.random(n) * (width - sides)).astype(int)
    tops = (rng.random(n) * (height - sides)).astype(int)
    return [(x + 1, y + 1, x + s, y + s) for x, y, s in zip(lefts, tops, sides)]


def write_folder(out: Path, photos: list, boxes: int, min_side: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    for i, photo in enumerate(photos):
        name = f"p{i:02d}-{photo.stem}"
        (out / "images" / name).mkdir(parents=True)
        (out / "annotations" / name).mkdir(parents=True)
        shutil.copyfile(photo, out / "images" / name / f"p{i:02d}_0{photo.suffix}")
        with Image.open(photo) as image:
            found = random_boxes(image.width, image.height, boxes, min_side, rng)
        objects = "".join(OBJECT.format(*box) for box in found)
        (out / "annotations" / name / f"p{i:02d}_0").write_text(f"<annotation>{objects}</annotation>")
    return len(photos) * boxes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--photos", type=Path, nargs="+", required=True)
    parser.add_argument("--boxes", type=int, default=300)
    parser.add_argument("--min-side", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    photos = [d / p for p in PHOTOS for d in args.photos if (d / p).is_file()]
    if not photos or args.out.exists():
        print(f"photo_folder: {'no photos of PHOTOS found' if not photos else f'{args.out} exists'}", file=sys.stderr)
        return 1
    crops = write_folder(args.out, photos, args.boxes, args.min_side, args.seed)
    print(f"wrote {len(photos)} photos ({', '.join(p.name for p in photos)}) with {crops} boxes to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
