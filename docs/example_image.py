"""Draw the README's example picture: a FashionMNIST test image made to look like a photo.

Test image 0 (an ankle boot) is negated to a dark boot on white and enlarged to
112×112, as a product photo would be; ``predict`` turns it back into FashionMNIST's
form (see fashion_lit/images.py). Run it from the repository root::

    python docs/example_image.py --data-dir data
"""

import argparse

from PIL import Image, ImageOps
from torchvision.datasets import FashionMNIST


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--index", type=int, default=0, help="the test image to draw")
    parser.add_argument("--output", default="docs/ankle-boot.png")
    args = parser.parse_args()
    image, label = FashionMNIST(args.data_dir, train=False)[args.index]
    photo = ImageOps.invert(image).resize((112, 112), Image.Resampling.LANCZOS).convert("RGB")
    photo.save(args.output)
    print(f"Wrote {args.output}: test image {args.index} ({FashionMNIST.classes[label]!r})")


if __name__ == "__main__":
    main()
