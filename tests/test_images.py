"""Image files become FashionMNIST pictures: grayscale, dark background, 28×28, in [0, 1]."""

import pytest
import torch
from PIL import Image, ImageOps
from torchvision.transforms.functional import to_tensor

from fashion_lit.images import ImageError, ImageFiles, find_images, load_image, to_fashion_mnist
from tests.conftest import tiny_images


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
    assert len(files) == 1 and files[0]["path"] == path
    assert torch.equal(files[0]["image"], to_tensor(picture))


def test_missing_image_is_named(tmp_path):
    with pytest.raises(ImageError, match=r"missing\.png: no such file or folder"):
        ImageFiles([str(tmp_path / "missing.png")])


def test_file_that_is_not_an_image_is_named(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not an image")
    with pytest.raises(ImageError, match=r"notes\.png is not an image that Pillow can read"):
        load_image(path)


def test_truncated_image_is_named(picture, tmp_path):
    path = tmp_path / "cut.png"
    picture.resize((280, 280)).save(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ImageError, match=r"Cannot read the image .*cut\.png"):
        load_image(path)


def test_folder_without_images_is_named(tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(ImageError, match=rf"{tmp_path} holds no PNG or JPEG files"):
        find_images([tmp_path])
