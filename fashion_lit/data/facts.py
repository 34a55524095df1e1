"""What FashionMNIST is: its files, their shapes and checksums, its classes, its sources.

Facts only; the mechanism lives beside this module. Debian compresses the same bytes
differently from the upstream mirror, so the data is identified by the SHA-256 of each
*decompressed* file. The class names, the mirror and the md5s are torchvision's, written
out because importing torchvision costs a start-up about a second; tests/test_data.py
checks that they still equal torchvision's.
"""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class IdxFile:
    """One of the four IDX files of the data set, as it must be once decompressed."""

    name: str  # the decompressed file name; the archive is ``name + ".gz"``
    shape: tuple[int, ...]
    sha256: str
    gz_md5: str | None = None  # of the upstream archive; None for data sets of one's own

    @property
    def archive(self) -> str:
        return self.name + ".gz"

    @property
    def header_size(self) -> int:
        """The IDX header: 2 zero bytes, the type code, the rank, then one uint32 per axis."""
        return 4 + 4 * len(self.shape)

    @property
    def size(self) -> int:
        """Bytes once decompressed: the header, then one uint8 per element."""
        return self.header_size + math.prod(self.shape)


FILES: tuple[IdxFile, ...] = (
    IdxFile(
        "train-images-idx3-ubyte",
        (60000, 28, 28),
        sha256="c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        gz_md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    ),
    IdxFile(
        "train-labels-idx1-ubyte",
        (60000,),
        sha256="bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        gz_md5="25c81989df183df01b3e8a0aad5dffbe",
    ),
    IdxFile(
        "t10k-images-idx3-ubyte",
        (10000, 28, 28),
        sha256="5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        gz_md5="bef4ecab320f06d8554ea6380940ec79",
    ),
    IdxFile(
        "t10k-labels-idx1-ubyte",
        (10000,),
        sha256="0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        gz_md5="bb300cfdad3c16e7a12a480ee83cd310",
    ),
)

#: Class names in label order, as torchvision names them (0 "T-shirt/top" … 9 "Ankle boot").
CLASSES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

#: Where Debian's ``dataset-fashion-mnist`` package installs the four ``.gz`` files.
DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"

#: The upstream mirror torchvision downloads from (a single plain-http one).
UPSTREAM_MIRRORS: tuple[str, ...] = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)

# MNIST's files have FashionMNIST's names, shapes and sizes, so a mirror or caching proxy
# that confuses the two serves one for the other. These facts recognise MNIST's files:

#: md5 of each upstream MNIST archive, as torchvision lists them.
MNIST_GZ_MD5: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

#: The first and last ten labels of MNIST's label files (FashionMNIST's training labels
#: start 9, 0, 0, 3, 0, its test labels 9, 2, 1, 1, 6).
MNIST_LABEL_ENDS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "train-labels-idx1-ubyte": ((5, 0, 4, 1, 9, 2, 1, 3, 1, 4), (9, 2, 9, 5, 1, 8, 3, 5, 6, 8)),
    "t10k-labels-idx1-ubyte": ((7, 2, 1, 0, 4, 1, 4, 9, 5, 9), (7, 8, 9, 0, 1, 2, 3, 4, 5, 6)),
}

#: The mean pixel of MNIST's image files, on the [0, 1] scale (FashionMNIST's are 0.2860
#: and 0.2868): the 0.1307 of every MNIST ``Normalize`` transform.
MNIST_PIXEL_MEAN: dict[str, float] = {
    "train-images-idx3-ubyte": 0.1307003,
    "t10k-images-idx3-ubyte": 0.1325146,
}
