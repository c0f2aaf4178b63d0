"""Making thumbnails with Pillow: pure functions, run in a worker thread.

The image's size is read from its header before anything is decoded, so
that a small file claiming to be huge (a decompression bomb) is refused
without allocating its pixels."""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

# The uploaded types that are thumbnailed, and the Pillow format each must be.
THUMBNAIL_SOURCES = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
}
MAX_PIXELS = 32_000_000
JPEG_QUALITY = 85


class NotAnImage(Exception):
    """The content is not one of the supported image formats."""


class ImageTooLarge(Exception):
    """The image has more pixels than MAX_PIXELS."""


@dataclass(frozen=True)
class Thumbnail:
    data: bytes
    content_type: str
    width: int
    height: int


def target_size(
    image_width: int, image_height: int, width: int, height: int, method: str
) -> tuple[int, int] | None:
    """The thumbnail's size, or None when the original should be sent as it
    is (it is not larger than what was asked for). Never upscales; never
    smaller than asked for unless the image itself is.

    - scale: the aspect ratio is kept; the smallest size covering width x
      height.
    - crop: exactly width x height (the requested aspect ratio), cut from the
      middle of the image scaled to cover it; from an image smaller than that
      in one dimension, the middle part as large as the image allows.
    """
    factor = max(width / image_width, height / image_height)
    if method == "scale":
        if factor >= 1:
            return None
        return max(1, round(image_width * factor)), max(1, round(image_height * factor))
    crop_width, crop_height = min(width, image_width), min(height, image_height)
    if (crop_width, crop_height) == (image_width, image_height):
        return None
    return crop_width, crop_height


def make_thumbnail(
    path: Path, content_type: str, width: int, height: int, method: str
) -> Thumbnail | None:
    """A thumbnail of the image in the file, or None when the original is small enough to
    be sent itself. Raises NotAnImage or ImageTooLarge."""
    expected = THUMBNAIL_SOURCES.get(content_type)
    if expected is None:
        raise NotAnImage(content_type)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(path, formats=[expected])
        except (OSError, SyntaxError, ValueError) as exc:
            raise NotAnImage(str(exc)) from exc
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageTooLarge(str(exc)) from exc
        with image:
            image_width, image_height = image.size
            if image_width < 1 or image_height < 1:
                raise NotAnImage("empty image")
            if image_width * image_height > MAX_PIXELS:
                raise ImageTooLarge(f"{image_width}x{image_height}")
            size = target_size(image_width, image_height, width, height, method)
            if size is None:
                return None
            if image.format == "JPEG":
                # Decode at 1/2, 1/4 or 1/8 scale when that still covers the
                # thumbnail: far less work than decoding every pixel.
                image.draft(image.mode, _cover(image.size, size))
            try:
                image.load()
            except (OSError, SyntaxError, ValueError) as exc:
                raise NotAnImage(str(exc)) from exc
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
                raise ImageTooLarge(str(exc)) from exc
            return _resize(image, size, method)


def _cover(image_size: tuple[int, int], size: tuple[int, int]) -> tuple[int, int]:
    """The smallest size of the whole image that covers `size`."""
    image_width, image_height = image_size
    factor = min(1.0, max(size[0] / image_width, size[1] / image_height))
    return math.ceil(image_width * factor), math.ceil(image_height * factor)


def _resize(image: Image.Image, size: tuple[int, int], method: str) -> Thumbnail:
    if image.format == "JPEG":
        source = image.convert("RGB")
        output_format, content_type = "JPEG", "image/jpeg"
    else:
        source = image.convert("RGBA")
        output_format, content_type = "PNG", "image/png"
    if method == "scale":
        result = source.resize(size, Image.Resampling.LANCZOS)
    else:
        result = _cover_and_crop(source, size)
    buffer = io.BytesIO()
    if output_format == "JPEG":
        result.save(buffer, output_format, quality=JPEG_QUALITY)
    else:
        result.save(buffer, output_format, optimize=True)
    return Thumbnail(buffer.getvalue(), content_type, result.width, result.height)


def _cover_and_crop(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    width, height = size
    factor = min(1.0, max(width / image.width, height / image.height))
    scaled_width = max(width, round(image.width * factor))
    scaled_height = max(height, round(image.height * factor))
    if (scaled_width, scaled_height) != image.size:
        image = image.resize((scaled_width, scaled_height), Image.Resampling.LANCZOS)
    left = (image.width - width) // 2
    top = (image.height - height) // 2
    return image.crop((left, top, left + width, top + height))
