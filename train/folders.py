"""Photographs as training images: the Stanford Dogs layout and any folder tree, cut, scaled to
size×size RGB and prepared once into a cache of uint8 crops.

- dogs (`--dataset dogs --data-dir DIR`): DIR/images/<wnid>-<Breed>/<wnid>_<n>.jpg with
  DIR/annotations/<wnid>-<Breed>/<wnid>_<n> (Pascal VOC XML, one crop per object/bndbox). A photo
  without an annotation is used whole; a box reaching outside its photo is clipped (counted),
  one with under 2 pixels left inside is skipped (counted). One class, "dog": breeds are not used.
- folder (`--dataset folder --data-dir DIR`): every image under DIR, used whole; one class per
  first-level subfolder (a run uses them only without --unconditional).

Each crop is the square around its box's centre with the box's longer side (shrunk to fit the
photo, shifted to stay inside it), resized with Lanczos: dogs keep their proportions. A photo
that cannot be used (unreadable, CMYK, 16-bit grey, under 2×2 pixels, broken XML) is skipped and
counted by reason, naming the first file of each; none usable at all is a DataError.
"""
import json
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image
from tqdm import tqdm

from train.errors import DataError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
FOLDER_DATASETS = ("dogs", "folder")
SIZES = (32, 64)
CACHE_VERSION = 1  # bump when the cropping changes: older caches are then rebuilt
MIN_SIDE = 2
_SIXTEEN_BIT_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


class UnusablePhoto(DataError):
    """One photo (or its annotation) that cannot give crops; `reason` names the kind."""

    def __init__(self, path: Path, reason: str, detail: str = ""):
        super().__init__(f"{path}: {reason}{': ' + detail if detail else ''}")
        self.path, self.reason = Path(path), reason


@dataclass
class Prepared:
    """Crops of one folder: images uint8 [N, 3, S, S], labels int64 [N], what was counted."""
    images: np.ndarray
    labels: np.ndarray
    class_names: tuple
    counts: dict = field(default_factory=dict)


def open_photo(path: Path) -> Image.Image:
    """The photo at `path` as 8-bit RGB; UnusablePhoto when it is not a usable photograph."""
    try:
        with Image.open(path) as image:
            image.load()
            mode, size = image.mode, image.size
            if mode == "CMYK":
                raise UnusablePhoto(path, "CMYK image", "convert it to RGB")
            if mode in _SIXTEEN_BIT_MODES:
                raise UnusablePhoto(path, "16-bit or float image", f"mode {mode}; need 8-bit RGB or grey")
            if min(size) < MIN_SIDE:
                raise UnusablePhoto(path, "image too small", f"{size[0]}×{size[1]}")
            return image.convert("RGB")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise UnusablePhoto(path, "unreadable image", str(e).splitlines()[0] if str(e) else type(e).__name__) from e


def read_boxes(path: Path) -> list[tuple[int, int, int, int]]:
    """(xmin, ymin, xmax, ymax) of every object/bndbox of a Pascal VOC file, as written."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as e:
        raise UnusablePhoto(path, "broken XML", str(e)) from e
    boxes = []
    for node in root.iter("bndbox"):
        try:
            boxes.append(tuple(int(float(node.findtext(k))) for k in ("xmin", "ymin", "xmax", "ymax")))
        except (TypeError, ValueError) as e:
            raise UnusablePhoto(path, "broken XML", "bndbox without numeric xmin/ymin/xmax/ymax") from e
    if not boxes:
        raise UnusablePhoto(path, "broken XML", "no object/bndbox")
    return boxes


def clip_box(box, width: int, height: int) -> tuple[Optional[tuple], bool]:
    """A VOC box (1-based, inclusive) as 0-based half-open pixels inside a width×height photo,
    and whether clipping changed it; (None, True) when under MIN_SIDE pixels remain per side."""
    x0, y0, x1, y1 = box[0] - 1, box[1] - 1, box[2], box[3]
    clipped = (max(x0, 0), max(y0, 0), min(x1, width), min(y1, height))
    changed = clipped != (x0, y0, x1, y1)
    if clipped[2] - clipped[0] < MIN_SIDE or clipped[3] - clipped[1] < MIN_SIDE:
        return None, True
    return clipped, changed


def square_crop(image: Image.Image, box, size: int) -> np.ndarray:
    """uint8 [3, size, size]: the square around `box`'s centre with its longer side (at most
    the photo's shorter side), kept inside the photo, resized with Lanczos."""
    x0, y0, x1, y1 = box
    side = min(max(x1 - x0, y1 - y0), image.width, image.height)
    left = min(max(round((x0 + x1 - side) / 2), 0), image.width - side)
    top = min(max(round((y0 + y1 - side) / 2), 0), image.height - side)
    crop = image.resize((size, size), Image.Resampling.LANCZOS, box=(left, top, left + side, top + side))
    return np.asarray(crop, dtype=np.uint8).transpose(2, 0, 1)


def photo_crops(photo: Path, annotation: Optional[Path], size: int, counts: dict) -> list[np.ndarray]:
    """The crops of one photo: one per box of its annotation, or the whole photo without one."""
    image = open_photo(photo)
    if annotation is None:
        counts["photos_without_annotation"] += 1
        return [square_crop(image, (0, 0, image.width, image.height), size)]
    crops = []
    for box in read_boxes(annotation):
        inside, changed = clip_box(box, image.width, image.height)
        if inside is None:
            counts["boxes_outside_photo"] += 1
            continue
        counts["boxes_clipped"] += changed
        crops.append(square_crop(image, inside, size))
    return crops


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def annotation_of(photo: Path, images: Path, annotations: Path) -> Optional[Path]:
    """The photo's VOC file: annotations/<breed>/<stem> (Stanford Dogs) or <stem>.xml; None if neither."""
    base = annotations / photo.relative_to(images).parent / photo.stem
    return next((p for p in (base, base.with_name(base.name + ".xml")) if p.is_file()), None)


def listing(kind: str, data_dir: Path) -> tuple[list[Path], Path]:
    """The photos to prepare and the folder they lie under; DataError for a missing or empty one."""
    if data_dir is None or not Path(data_dir).is_dir():
        raise DataError(f"--dataset {kind} needs --data-dir, an existing folder (got {data_dir})")
    root = Path(data_dir) / "images" if kind == "dogs" else Path(data_dir)
    if not root.is_dir():
        raise DataError(f"{data_dir} has no images/ folder (the Stanford Dogs layout: "
                        "images/<wnid>-<Breed>/*.jpg, annotations/<wnid>-<Breed>/<file stem>)")
    photos = image_files(root)
    if not photos:
        raise DataError(f"{root} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return photos, root


def class_of(photo: Path, root: Path) -> str:
    """A folder dataset's class: the photo's first-level subfolder, else the folder's own name."""
    parts = photo.relative_to(root).parts
    return parts[0] if len(parts) > 1 else root.name


def prepare(kind: str, data_dir: Path, size: int, progress: bool = False) -> Prepared:
    """Decode and crop every photo of the folder (slow: done once, then cached by load_folder)."""
    photos, root = listing(kind, data_dir)
    counts = {"photos": len(photos), "photos_used": 0, "photos_without_annotation": 0,
              "boxes_clipped": 0, "boxes_outside_photo": 0, "skipped": {}}
    names = sorted({class_of(p, root) for p in photos}) if kind == "folder" else ["dog"]
    crops, labels = [], []
    for photo in tqdm(photos, desc=f"prepare {kind}", unit="photo", disable=not progress, leave=False):
        annotation = annotation_of(photo, root, Path(data_dir) / "annotations") if kind == "dogs" else None
        try:
            found = photo_crops(photo, annotation, size, counts)
        except UnusablePhoto as e:
            reason = counts["skipped"].setdefault(e.reason, {"count": 0, "first": str(e)})
            reason["count"] += 1
            continue
        counts["photos_used"] += 1
        crops += found
        labels += [names.index(class_of(photo, root)) if kind == "folder" else 0] * len(found)
    if not crops:
        raise DataError(f"no usable crops in {data_dir}: {describe_counts(counts)}")
    counts["crops"] = len(crops)
    return Prepared(np.stack(crops), np.asarray(labels, dtype=np.int64), tuple(names), counts)


def describe_counts(counts: dict) -> str:
    """One line: photos, crops, and each reason a photo or box was left out."""
    parts = [f"{counts['photos']} photos, {counts['photos_used']} used, {counts.get('crops', 0)} crops"]
    for key in ("photos_without_annotation", "boxes_clipped", "boxes_outside_photo"):
        if counts[key]:
            parts.append(f"{counts[key]} {key.replace('_', ' ')}")
    for reason, seen in counts["skipped"].items():
        parts.append(f"skipped {seen['count']} ({reason}; first: {seen['first']})")
    return "; ".join(parts)


def source_key(kind: str, data_dir: Path, size: int) -> str:
    """Changes whenever a file under the folder (name, size, mtime) or the cropping does."""
    files = sorted(p for p in Path(data_dir).rglob("*") if p.is_file())
    stats = [(str(p.relative_to(data_dir)), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    return json.dumps([CACHE_VERSION, kind, size, stats])


def cache_file(cache_dir: Path, kind: str, size: int) -> Path:
    return Path(cache_dir) / f"{kind}_{size}.npz"


def read_cache(path: Path, key: str) -> Optional[Prepared]:
    try:
        with np.load(path, allow_pickle=False) as saved:
            if str(saved["key"]) != key:
                return None
            return Prepared(saved["images"], saved["labels"], tuple(str(n) for n in saved["class_names"]),
                            json.loads(str(saved["counts"])))
    except (OSError, KeyError, ValueError):
        return None  # missing, unreadable or of another layout: prepare again


def write_cache(path: Path, key: str, prepared: Prepared) -> None:
    """Whole or not at all: a temporary file renamed over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, key=np.array(key), images=prepared.images, labels=prepared.labels,
                     class_names=np.array(prepared.class_names), counts=np.array(json.dumps(prepared.counts)))
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise DataError(f"cannot write the crop cache {path}: {e}") from e


def load_folder(kind: str, data_dir: Path, size: int, cache_dir: Optional[Path],
                progress: bool = False) -> tuple[Prepared, bool]:
    """(crops, from_cache): the cache in `cache_dir` when it matches the folder, else prepared
    now and cached there (cache_dir None: not cached)."""
    if size not in SIZES:
        raise DataError(f"--image-size {size}: --dataset {kind} trains at {' or '.join(map(str, SIZES))}")
    listing(kind, data_dir)  # the missing/empty-folder errors, before any cache is trusted
    key = source_key(kind, data_dir, size)
    path = cache_file(cache_dir, kind, size) if cache_dir is not None else None
    found = read_cache(path, key) if path is not None and path.is_file() else None
    if found is not None:
        return found, True
    prepared = prepare(kind, data_dir, size, progress)
    if path is not None:
        write_cache(path, key, prepared)
    return prepared, False
