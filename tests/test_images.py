"""Pictures become FashionMNIST images: grayscale, dark background, 28×28, in [0, 1]; what
is not a picture that is read, or is too large, is refused by name before anything runs."""

import json
import os
import sys
import threading

import numpy as np
import pytest
import torch
from PIL import ExifTags, Image, ImageOps
from torchvision.transforms.functional import to_tensor

from fashion_lit.batches import IMAGE, PATH
from fashion_lit.images import (
    IMAGE_SUFFIXES,
    ImageError,
    ImageFiles,
    decode_image,
    find_images,
    load_image,
    to_fashion_mnist,
)
from tests.helpers.picture_fuzz import (
    SECONDS_PER_PICTURE,
    damaged_exif_jpeg,
    damaged_pictures,
    declaring,
    encoded,
)
from tests.helpers.processes import run_from_repo
from tests.helpers.tiny_data import tiny_images


@pytest.fixture(scope="module")
def picture() -> Image.Image:
    """A 28×28 grayscale picture as FashionMNIST stores them: light band on dark noise."""
    images, _ = tiny_images(1, seed=2)
    return Image.fromarray(images[0], mode="L")


def save(image: Image.Image, path) -> str:
    image.save(path)
    return str(path)


def test_png_of_a_data_set_picture_gives_back_its_tensor(picture, tmp_path):
    assert torch.equal(load_image(save(picture, tmp_path / "a.png")), to_tensor(picture))


def test_upscaled_picture_gives_back_its_tensor(picture, tmp_path):
    big = picture.resize((112, 112), Image.Resampling.NEAREST)
    assert torch.equal(load_image(save(big, tmp_path / "big.png")), to_tensor(picture))


def test_rgb_picture_gives_back_its_tensor(picture, tmp_path):
    assert torch.equal(
        load_image(save(picture.convert("RGB"), tmp_path / "rgb.png")), to_tensor(picture)
    )


def test_dark_garment_on_white_is_inverted(picture, tmp_path):
    photo = ImageOps.invert(picture).convert("RGB").resize((84, 84), Image.Resampling.NEAREST)
    assert torch.equal(load_image(save(photo, tmp_path / "photo.png")), to_tensor(picture))


def test_jpeg_is_read_close_to_its_tensor(picture, tmp_path):
    big = picture.resize((112, 112), Image.Resampling.NEAREST)
    path = tmp_path / "a.jpg"
    big.save(path, quality=95)
    assert (load_image(str(path)) - to_tensor(picture)).abs().mean() < 0.02


def test_a_picture_is_turned_upright_by_its_exif_orientation(picture, tmp_path):
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # stored turned left: to be turned right
    path = tmp_path / "turned.png"
    picture.transpose(Image.Transpose.ROTATE_90).save(path, exif=exif)
    assert torch.equal(load_image(path), to_tensor(picture))


def test_a_jpeg_with_damaged_exif_metadata_is_refused_by_name(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(damaged_exif_jpeg())
    with pytest.raises(ImageError) as error:
        load_image(path)
    assert str(error.value) == (
        f"{path} has damaged EXIF metadata (not a TIFF file (header b'ML\\x00*\\x00\\x00\\x00"
        "\\x08' not valid)), so which way up it is cannot be read. Save the picture again with "
        "an image editor, or without its metadata."
    )


def test_wide_picture_is_fitted_keeping_its_aspect_ratio_and_centred():
    wide = Image.new("L", (112, 56), 0)
    wide.paste(255, (4, 4, 108, 52))  # a bright block with a dark border
    image = to_fashion_mnist(wide)
    assert image.shape == (1, 28, 28)
    rows = image[0].amax(dim=1)
    assert torch.all(rows[:7] == 0) and torch.all(rows[21:] == 0)  # 28×14, centred
    assert torch.all(rows[8:20] == 1)


def test_small_picture_is_enlarged_to_fill_the_frame():
    small = Image.new("L", (14, 14), 0)
    small.paste(255, (2, 2, 12, 12))
    image = to_fashion_mnist(small)
    row = image[0, 14]
    assert image.shape == (1, 28, 28) and row[6:22].min() > 0.9 and row[:2].max() == 0


def test_transparent_background_counts_as_white():
    garment = Image.new("RGBA", (28, 28), (0, 0, 0, 0))
    garment.paste((0, 0, 0, 255), (8, 8, 20, 20))  # a black garment on nothing
    image = to_fashion_mnist(garment)[0]
    assert image[14, 14] == 1 and image[0, 0] == 0  # light garment on black


def test_values_are_floats_in_the_unit_range(picture):
    image = to_fashion_mnist(picture.resize((50, 70)))
    assert image.dtype == torch.float32 and 0 <= image.min() and image.max() <= 1


def test_folders_give_their_images_sorted_after_the_files_before_them(picture, tmp_path):
    folder = tmp_path / "shoes"
    folder.mkdir()
    for name in ("b.PNG", "a.jpg", "c.jpeg"):
        picture.convert("RGB").save(folder / name, format="JPEG" if "jp" in name else "PNG")
    (folder / "notes.txt").write_text("not an image")
    single = save(picture, tmp_path / "z.png")
    assert [p.name for p in find_images([single, folder])] == ["z.png", "a.jpg", "b.PNG", "c.jpeg"]


def test_image_files_dataset_carries_paths(picture, tmp_path):
    path = save(picture, tmp_path / "a.png")
    files = ImageFiles([path])
    assert len(files) == 1 and files[0][PATH] == path
    assert torch.equal(files[0][IMAGE], to_tensor(picture))


def test_missing_image_is_named(tmp_path):
    with pytest.raises(ImageError, match=r"missing\.png: no such file or folder"):
        ImageFiles([str(tmp_path / "missing.png")])


def test_file_that_is_not_a_picture_is_named(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not an image")
    with pytest.raises(ImageError) as error:
        load_image(path)
    assert str(error.value) == f"{path} is not a PNG, JPEG, GIF, BMP, TIFF or WebP picture."


def test_truncated_image_is_named(picture, tmp_path):
    path = tmp_path / "cut.png"
    picture.resize((280, 280)).save(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ImageError, match=r"Cannot read the image .*cut\.png"):
        load_image(path)


def test_folder_without_pictures_is_named(tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(ImageError) as error:
        find_images([tmp_path])
    assert str(error.value) == (
        f"{tmp_path} holds no PNG, JPEG, GIF, BMP, TIFF or WebP pictures (.apng, .bmp, .gif, "
        ".jfif, .jpe, .jpeg, .jpg, .png, .tif, .tiff, .webp)."
    )


FORMATS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "BMP": "bmp", "TIFF": "tif", "WEBP": "webp"}


def test_the_same_formats_are_read_named_or_found_in_a_folder(picture, tmp_path):
    folder = tmp_path / "pictures"
    folder.mkdir()
    big = picture.resize((112, 112), Image.Resampling.NEAREST)
    for format, suffix in FORMATS.items():
        big.save(folder / f"a.{suffix}", format=format)
    big.save(folder / "b.ppm")  # Pillow reads it, but it is not among the formats read
    found = find_images([folder])
    assert [p.name for p in found] == [f"a.{suffix}" for suffix in sorted(FORMATS.values())]
    for path in found:  # lossy JPEG and WebP come close, the others exactly
        assert (load_image(path) - to_tensor(picture)).abs().mean() < 0.02, path.name
    assert torch.equal(load_image(folder / "a.gif"), to_tensor(picture))
    with pytest.raises(ImageError, match=r"b\.ppm is not a PNG, JPEG, GIF, BMP, TIFF or WebP"):
        load_image(folder / "b.ppm")
    assert ".webp" in IMAGE_SUFFIXES and ".ppm" not in IMAGE_SUFFIXES


def in_a_thread(function, seconds: float):
    """``function()``'s result or exception, or a failure if it takes over ``seconds``."""
    outcome = {}

    def run():
        try:
            outcome["result"] = function()
        except Exception as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    return outcome


def test_a_fifo_among_the_pictures_is_refused_without_blocking(picture, tmp_path):
    save(picture, tmp_path / "a.png")
    os.mkfifo(tmp_path / "p.png")
    outcome = in_a_thread(lambda: ImageFiles([tmp_path]), seconds=10)
    assert str(outcome["error"]) == (
        f"{tmp_path / 'p.png'} is not a regular file (a folder, a FIFO or a device); only "
        "picture files are read."
    )


def test_sixteen_bit_grays_are_read_by_their_full_range(tmp_path):
    values = np.full((28, 28), 1000, dtype=np.uint16)
    values[6:22, 8:20] = 40000  # a garment at 40000 on a background of 1000
    path = tmp_path / "gray16.png"
    Image.fromarray(values).save(path)
    expected = torch.from_numpy(values.astype(np.float32)).div(65535).unsqueeze(0)
    assert torch.equal(load_image(path), expected)


def test_floating_point_pictures_are_clipped_to_the_unit_range(tmp_path):
    values = np.full((28, 28), -0.5, dtype=np.float32)
    values[6:22, 8:20] = 1.7
    values[10, 10], values[12, 12] = 0.25, np.nan
    path = tmp_path / "float.tiff"
    Image.fromarray(values).save(path)
    expected = np.nan_to_num(values.clip(0, 1), nan=0.0)
    assert torch.equal(load_image(path), torch.from_numpy(expected).unsqueeze(0))


def test_a_palette_pictures_transparent_colour_counts_as_white(tmp_path):
    palette = Image.new("P", (28, 28), 0)
    palette.putpalette([255, 0, 0, 0, 0, 0])  # 0: red, made transparent; 1: black
    palette.paste(1, (8, 8, 20, 20))
    path = tmp_path / "garment.gif"
    palette.save(path, transparency=0)
    image = load_image(path)[0]
    assert image[14, 14] == 1 and image[0, 0] == 0 and image.sum() == 12 * 12


def frame(top: int) -> Image.Image:
    """A black 28×28 frame with a white band starting at row ``top``."""
    image = Image.new("L", (28, 28), 0)
    image.paste(255, (4, top, 24, top + 4))
    return image


def test_an_animation_gives_its_first_frame_with_a_note_said_once(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("fashion_lit.images._said", set())  # as in a new process
    for name in ("a.gif", "b.gif"):
        frame(4).save(tmp_path / name, save_all=True, append_images=[frame(20)])
    files = ImageFiles([tmp_path])
    assert torch.equal(files.images[0], to_tensor(frame(4)))
    assert capsys.readouterr().err == (
        f"Note: {tmp_path / 'a.gif'} has several frames (an animation, or pages); the first "
        "is used, as for any other such picture.\n"
    )


def png_declaring(width: int, height: int) -> bytes:
    """A small PNG whose header claims ``width``×``height`` pixels."""
    return declaring("small.png", encoded(Image.new("L", (8, 8)), "PNG"), width, height)


def test_a_picture_over_the_pixel_limit_is_refused_before_decoding():
    with pytest.raises(ImageError) as error:
        decode_image(png_declaring(7000, 6000), "photo.png")
    assert str(error.value) == (
        "photo.png is 7000×6000 pixels (42.0 megapixels): pictures of up to 40 megapixels "
        "are read. Shrink it first; it becomes 28×28 anyway."
    )


def test_pillows_own_decompression_bomb_error_is_the_plain_error():
    with pytest.raises(ImageError) as error:
        decode_image(png_declaring(20000, 20000), "bomb.png")
    message = str(error.value)
    assert message.startswith("bomb.png is too large (Image size (400000000 pixels) exceeds")
    assert message.endswith(
        "): pictures of up to 40 megapixels are read. Shrink it first; it becomes 28×28 anyway."
    )


def test_a_very_wide_picture_is_fitted_without_error():
    image = to_fashion_mnist(Image.new("L", (3000, 10), 200))
    assert image.shape == (1, 28, 28) and image.sum() > 0


def test_a_folder_with_bad_files_is_refused_as_a_whole_naming_each(picture, tmp_path):
    save(picture, tmp_path / "good.png")
    (tmp_path / "notes.png").write_text("not an image")
    (tmp_path / "cut.png").write_bytes(encoded(picture.resize((280, 280)), "PNG")[:200])
    (tmp_path / "bomb.png").write_bytes(png_declaring(7000, 6000))
    with pytest.raises(ImageError) as error:
        ImageFiles([tmp_path, tmp_path / "gone.png"])
    lines = str(error.value).splitlines()
    assert lines[0] == "4 pictures cannot be used; fix or remove them, then run again:"
    assert lines[1] == f"  - {tmp_path / 'gone.png'}: no such file or folder."
    assert lines[2].startswith(f"  - {tmp_path / 'bomb.png'} is 7000×6000 pixels")
    assert lines[3].startswith(f"  - Cannot read the image {tmp_path / 'cut.png'}: ")
    assert (
        lines[4]
        == f"  - {tmp_path / 'notes.png'} is not a PNG, JPEG, GIF, BMP, TIFF or WebP picture."
    )
    assert len(lines) == 5


#: Converts a large picture (argv[1]) after a small one (argv[2]), and prints how much the
#: process's peak memory grew meanwhile, in bytes.
CONVERT_AND_MEASURE = """
import resource, sys
from fashion_lit.images import load_image
load_image(sys.argv[2])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
load_image(sys.argv[1])
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
"""


def test_a_large_picture_is_reduced_before_it_is_converted(picture, tmp_path):
    side = 4000  # 16 megapixels: 48 MB decoded
    large = Image.new("RGB", (side, side), "white")
    large.paste((0, 0, 0), (side // 4, side // 4, 3 * side // 4, 3 * side // 4))
    large.save(tmp_path / "large.png", compress_level=1)
    save(picture, tmp_path / "small.png")
    measure = [sys.executable, "-c", CONVERT_AND_MEASURE]
    done = run_from_repo([*measure, str(tmp_path / "large.png"), str(tmp_path / "small.png")])
    assert done.returncode == 0, done.stderr
    # Converted whole, with a grayscale copy and float32 copies, it took 4.7 times its
    # decoded size; reduced first, the decoded picture is about all there is.
    assert int(done.stdout) < 2 * side * side * 3


def test_the_damaged_pictures_include_damaged_metadata_of_every_kind():
    damaged = {tuple(name.split()[:2]) for name, _ in damaged_pictures()}
    seeds, kinds = ("metadata.jpg", "metadata.png", "metadata.webp"), ("exif", "icc", "xmp")
    expected = {(seed, kind) for seed in seeds for kind in kinds}
    assert expected | {("metadata.png", "text"), ("metadata.jpg", "comment")} <= damaged
    assert ("metadata-cmyk.jpg", "exif") in damaged  # converted, where EXIF was read again


def test_damaged_pictures_are_converted_or_refused_plainly_quickly_and_in_bounded_memory():
    done = run_from_repo([sys.executable, "-m", "tests.helpers.picture_fuzz"])
    results = [json.loads(line) for line in done.stdout.splitlines()]
    names = [name for name, _ in damaged_pictures()]
    assert done.returncode == 0, f"stopped at {names[len(results)]}: {done.stderr[-3000:]}"
    *pictures, memory = results
    assert [p["name"] for p in pictures] == names and len(names) >= 600
    outcomes = {p["outcome"] for p in pictures}
    assert outcomes == {"converted", "ImageError"}, [
        p for p in pictures if p["outcome"] not in ("converted", "ImageError")
    ]
    assert max(p["seconds"] for p in pictures) < SECONDS_PER_PICTURE
    assert memory["peak_memory_growth"] < 500e6
