"""Pictures of an evaluation, drawn with Pillow: the confusion matrix and misclassified images.

Drawn straight into pixels, in a few milliseconds: matplotlib took about half a second per
validation, a fifth of a training epoch on a CPU. Pillow comes with torchvision anyway.
"""

from collections.abc import Sequence

import torch
from PIL import Image, ImageDraw, ImageFont

#: (image 1×28×28 in [0, 1], predicted class, true class) of one misclassified image.
Misclassified = tuple[torch.Tensor, int, int]

WHITE, BLACK = (255, 255, 255), (0, 0, 0)
# The two ends of matplotlib's "Blues" colour map: zero counts are near white.
PALE_BLUE, DARK_BLUE = (247, 251, 255), (8, 48, 107)
MARGIN = 12
TEXT_SIZE, TITLE_SIZE = 13, 15
CELL_HEIGHT = 30
ZOOM = 3  # misclassified images are shown at 84×84 pixels


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's own font (a scalable TrueType one where Pillow has FreeType)."""
    return ImageFont.load_default(size=size)


def text_width(draw: ImageDraw.ImageDraw, text: str, typeface) -> int:
    return round(draw.textlength(text, font=typeface))


def shade(fraction: float) -> tuple[int, int, int]:
    """The colour of a cell holding ``fraction`` of the largest count: pale to dark blue."""
    return tuple(round(p + (d - p) * fraction) for p, d in zip(PALE_BLUE, DARK_BLUE, strict=True))


def confusion_matrix_image(matrix: torch.Tensor, classes: Sequence[str], title: str) -> Image.Image:
    """The confusion matrix (rows: true class, columns: predicted), each count on a blue as
    dark as it is large, the class names in full, horizontally, so every label can be read."""
    counts = matrix.tolist()
    largest = max(1, max(max(row) for row in counts))
    label, heading = font(TEXT_SIZE), font(TITLE_SIZE)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    corner = "true \\ predicted"
    row_labels_width = max(text_width(measure, name, label) for name in [*classes, corner])
    numbers_width = text_width(measure, str(largest), label)
    cell_width = max(numbers_width, *(text_width(measure, name, label) for name in classes)) + 10
    left = MARGIN + row_labels_width + 8
    top = MARGIN + TITLE_SIZE + 14 + CELL_HEIGHT
    size = len(classes)
    width = max(left + size * cell_width, MARGIN + text_width(measure, title, heading)) + MARGIN
    picture = Image.new("RGB", (width, top + size * CELL_HEIGHT + MARGIN), WHITE)
    draw = ImageDraw.Draw(picture)
    draw.text((MARGIN, MARGIN), title, fill=BLACK, font=heading)
    header_middle = top - CELL_HEIGHT // 2
    draw.text((left - 8, header_middle), corner, fill=BLACK, font=label, anchor="rm")
    for column, name in enumerate(classes):
        middle = left + column * cell_width + cell_width // 2
        draw.text((middle, header_middle), name, fill=BLACK, font=label, anchor="mm")
    for row, (name, row_counts) in enumerate(zip(classes, counts, strict=True)):
        y = top + row * CELL_HEIGHT
        draw.text((left - 8, y + CELL_HEIGHT // 2), name, fill=BLACK, font=label, anchor="rm")
        for column, count in enumerate(row_counts):
            x = left + column * cell_width
            fraction = count / largest
            draw.rectangle(
                (x, y, x + cell_width - 1, y + CELL_HEIGHT - 1), fill=shade(fraction), outline=WHITE
            )
            middle = (x + cell_width // 2, y + CELL_HEIGHT // 2)
            colour = WHITE if fraction > 0.5 else BLACK
            draw.text(middle, str(count), fill=colour, font=label, anchor="mm")
    return picture


def misclassified_image(
    wrong: Sequence[Misclassified], classes: Sequence[str], columns: int, title: str
) -> Image.Image:
    """A grid of misclassified images, each captioned with its predicted and true class."""
    caption, heading = font(TEXT_SIZE - 1), font(TITLE_SIZE)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    side = 28 * ZOOM
    lines = [(classes[predicted], f"(true: {classes[actual]})") for _, predicted, actual in wrong]
    widest = max((text_width(measure, line, caption) for pair in lines for line in pair), default=0)
    tile_width, tile_height = max(side, widest) + 10, side + 2 * (TEXT_SIZE + 3) + 10
    rows = max(1, -(-len(wrong) // columns))
    top = MARGIN + TITLE_SIZE + 12
    width = max(columns * tile_width, text_width(measure, title, heading)) + 2 * MARGIN
    picture = Image.new("RGB", (width, top + rows * tile_height + MARGIN), WHITE)
    draw = ImageDraw.Draw(picture)
    draw.text((MARGIN, MARGIN), title, fill=BLACK, font=heading)
    for position, ((image, _, _), (predicted, actual)) in enumerate(zip(wrong, lines, strict=True)):
        x = MARGIN + (position % columns) * tile_width
        y = top + (position // columns) * tile_height
        pixels = image.squeeze(0).float().mul(255).round().clamp(0, 255).to(torch.uint8)
        garment = Image.fromarray(pixels.numpy()).resize((side, side), Image.Resampling.NEAREST)
        picture.paste(garment.convert("RGB"), (x + (tile_width - side) // 2, y))
        middle = x + tile_width // 2
        draw.text((middle, y + side + 3), predicted, fill=BLACK, font=caption, anchor="ma")
        draw.text((middle, y + side + TEXT_SIZE + 6), actual, fill=BLACK, font=caption, anchor="ma")
    return picture
