"""train/folders.py: the Stanford Dogs layout and image folders as 64×64 RGB crops, their errors
and counts, and the crop cache; built on synthetic folders (tests/conftest.py write_dogs_layout)."""
import shutil

import numpy as np
import pytest
from PIL import Image

from train.errors import DataError
from train.folders import (clip_box, describe_counts, load_folder, open_photo, prepare, read_boxes,
                           square_crop, UnusablePhoto)

BOX_XML = ("<annotation><object><bndbox><xmin>{}</xmin><ymin>{}</ymin><xmax>{}</xmax><ymax>{}</ymax>"
           "</bndbox></object>{}</annotation>")


def write_xml(path, box, more=""):
    path.write_text(BOX_XML.format(*box, more))
    return path


def test_read_boxes_gives_every_object(tmp_path):
    second = "<object><bndbox><xmin>5</xmin><ymin>6</ymin><xmax>7.0</xmax><ymax>8</ymax></bndbox></object>"
    assert read_boxes(write_xml(tmp_path / "a", (1, 2, 30, 40), second)) == [(1, 2, 30, 40), (5, 6, 7, 8)]


@pytest.mark.parametrize("text", ["<annotation><object>", "<annotation></annotation>",
                                  "<annotation><object><bndbox><xmin>a</xmin></bndbox></object></annotation>"])
def test_broken_xml_is_an_unusable_photo(tmp_path, text):
    (tmp_path / "a").write_text(text)
    with pytest.raises(UnusablePhoto) as e:
        read_boxes(tmp_path / "a")
    assert e.value.reason == "broken XML" and "\n" not in str(e.value)


@pytest.mark.parametrize("box, expected", [
    ((1, 1, 10, 20), ((0, 0, 10, 20), False)),        # VOC is 1-based inclusive
    ((5, 5, 200, 20), ((4, 4, 50, 20), True)),         # reaches outside: clipped
    ((-3, 2, 10, 10), ((0, 1, 10, 10), True)),
    ((60, 5, 80, 20), (None, True)),                   # wholly outside: skipped
    ((50, 5, 51, 20), (None, True)),                   # one pixel wide
])
def test_clip_box(box, expected):
    assert clip_box(box, 50, 30) == expected


def test_square_crop_is_the_box_around_its_centre():
    pixels = np.random.default_rng(0).integers(0, 256, (100, 200, 3)).astype(np.uint8)
    # a 64×40 box: the 64×64 square around its centre, at 64×64 no resampling
    crop = square_crop(Image.fromarray(pixels), (70, 32, 134, 72), 64)
    assert np.array_equal(crop, pixels[20:84, 70:134].transpose(2, 0, 1))


def test_square_crop_of_a_wide_box_stays_inside_the_photo():
    crop = square_crop(Image.fromarray(np.full((40, 100, 3), 9, np.uint8)), (0, 0, 100, 40), 32)
    assert crop.shape == (3, 32, 32) and (crop == 9).all()


def _cmyk(path):
    Image.new("CMYK", (20, 20)).save(path.with_suffix(".jpg"))
    return path.with_suffix(".jpg")


def _png16(path):
    Image.fromarray(np.full((20, 20), 40000, np.uint16)).save(path.with_suffix(".png"))
    return path.with_suffix(".png")


def _tiny(path):
    Image.new("RGB", (1, 1)).save(path.with_suffix(".png"))
    return path.with_suffix(".png")


def _broken(path):
    path.with_suffix(".jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    return path.with_suffix(".jpg")


@pytest.mark.parametrize("make, reason", [(_cmyk, "CMYK image"), (_png16, "16-bit or float image"),
                                          (_tiny, "image too small"), (_broken, "unreadable image")])
def test_unusable_photos_name_their_reason(tmp_path, make, reason):
    path = make(tmp_path / "photo")
    with pytest.raises(UnusablePhoto) as e:
        open_photo(path)
    assert e.value.reason == reason and str(path) in str(e.value) and "\n" not in str(e.value)


def test_grey_photo_becomes_rgb(tmp_path):
    Image.new("L", (30, 20), 77).save(tmp_path / "g.png")
    image = open_photo(tmp_path / "g.png")
    assert image.mode == "RGB" and image.getpixel((3, 3)) == (77, 77, 77)


def test_dogs_layout_gives_one_crop_per_box(dogs_dir):
    prepared = prepare("dogs", dogs_dir, 64)
    assert prepared.images.shape == (72, 3, 64, 64) and prepared.images.dtype == np.uint8
    assert prepared.class_names == ("dog",) and (prepared.labels == 0).all()
    assert prepared.counts["crops"] == 72 and prepared.counts["skipped"] == {}


def test_broken_files_are_skipped_and_counted(tmp_path, dogs_dir):
    data = shutil.copytree(dogs_dir, tmp_path / "dogs")
    breed = sorted((data / "images").iterdir())[0].name
    _broken(data / "images" / breed / "bad_1")
    _cmyk(data / "images" / breed / "cmyk_1")
    Image.new("RGB", (50, 40)).save(data / "images" / breed / "whole_1.jpg")   # no annotation
    Image.new("RGB", (50, 40)).save(data / "images" / breed / "xmlbad_1.jpg")
    (data / "annotations" / breed / "xmlbad_1").write_text("<annotation><object>")
    Image.new("RGB", (50, 40)).save(data / "images" / breed / "out_1.jpg")
    write_xml(data / "annotations" / breed / "out_1", (60, 1, 90, 30),
              "<object><bndbox><xmin>30</xmin><ymin>1</ymin><xmax>70</xmax><ymax>40</ymax></bndbox></object>")
    counts = prepare("dogs", data, 32).counts
    assert counts["photos"] == 77 and counts["photos_used"] == 74 and counts["crops"] == 74
    assert counts["photos_without_annotation"] == 1
    assert counts["boxes_outside_photo"] == 1 and counts["boxes_clipped"] == 1
    assert {k: v["count"] for k, v in counts["skipped"].items()} == {
        "unreadable image": 1, "CMYK image": 1, "broken XML": 1}
    assert "skipped 1 (CMYK image" in describe_counts(counts)


def test_missing_images_folder_is_one_line(tmp_path):
    with pytest.raises(DataError, match="has no images/ folder"):
        prepare("dogs", tmp_path, 64)


def test_folder_without_images_is_refused(tmp_path):
    (tmp_path / "images" / "a").mkdir(parents=True)
    (tmp_path / "images" / "a" / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="holds no image files"):
        prepare("dogs", tmp_path, 64)


def test_only_unusable_photos_is_a_data_error(tmp_path):
    (tmp_path / "images").mkdir()
    _cmyk(tmp_path / "images" / "a")
    with pytest.raises(DataError, match="no usable crops.*CMYK"):
        prepare("dogs", tmp_path, 64)


def test_folder_dataset_has_a_class_per_subfolder(tmp_path):
    for name, colour in (("cats", 10), ("cars", 200)):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.new("RGB", (40 + i, 30), (colour,) * 3).save(tmp_path / name / f"{i}.png")
    prepared = prepare("folder", tmp_path, 32)
    assert prepared.class_names == ("cars", "cats")
    assert prepared.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert (prepared.images[:3] == 200).all() and (prepared.images[3:] == 10).all()


def test_cache_is_reused_until_the_folder_changes(tmp_path, dogs_dir):
    data = shutil.copytree(dogs_dir, tmp_path / "dogs")
    first, cached = load_folder("dogs", data, 32, tmp_path / "cache")
    assert not cached and (tmp_path / "cache" / "dogs_32.npz").is_file()
    again, cached = load_folder("dogs", data, 32, tmp_path / "cache")
    assert cached and np.array_equal(again.images, first.images) and again.counts == first.counts
    next((data / "images").rglob("*.jpg")).unlink()
    changed, cached = load_folder("dogs", data, 32, tmp_path / "cache")
    assert not cached and len(changed.images) == len(first.images) - 1


@pytest.mark.parametrize("size", [28, 48, 128])
def test_other_sizes_are_refused(dogs_dir, size):
    with pytest.raises(DataError, match=f"--image-size {size}"):
        load_folder("dogs", dogs_dir, size, None)
