"""What FashionMNIST is: its files, their shapes and checksums, its classes.

Facts only; the mechanism that acquires and reads the files lives beside this module.
The ``.gz`` md5s are those of the upstream mirror; other packagers (Debian's
``dataset-fashion-mnist``) compress the same bytes differently, so what identifies the
data is the SHA-256 of each *decompressed* IDX file.
"""

from dataclasses import dataclass

from torchvision.datasets import FashionMNIST


@dataclass(frozen=True)
class IdxFile:
    """One of the four IDX files of the data set."""

    name: str  # the decompressed file name; the archive is ``name + ".gz"``
    shape: tuple[int, ...]
    gz_md5: str
    sha256: str
    size: int  # bytes, decompressed: a 16-byte (images) or 8-byte (labels) header + data

    @property
    def archive(self) -> str:
        return self.name + ".gz"


FILES: tuple[IdxFile, ...] = (
    IdxFile(
        "train-images-idx3-ubyte",
        (60000, 28, 28),
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        47040016,
    ),
    IdxFile(
        "train-labels-idx1-ubyte",
        (60000,),
        "25c81989df183df01b3e8a0aad5dffbe",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        60008,
    ),
    IdxFile(
        "t10k-images-idx3-ubyte",
        (10000, 28, 28),
        "bef4ecab320f06d8554ea6380940ec79",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        7840016,
    ),
    IdxFile(
        "t10k-labels-idx1-ubyte",
        (10000,),
        "bb300cfdad3c16e7a12a480ee83cd310",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        10008,
    ),
)

#: Class names in label order, as torchvision names them (0 "T-shirt/top" … 9 "Ankle boot").
CLASSES: tuple[str, ...] = tuple(FashionMNIST.classes)

#: Where Debian's ``dataset-fashion-mnist`` package installs the four ``.gz`` files.
DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
