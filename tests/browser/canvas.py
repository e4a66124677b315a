"""Reading pixels back from the viewer's WebGL canvas (toDataURL: the canvas content itself,
without the DOM labels drawn over it)."""
import base64
import io

import numpy as np
from PIL import Image


def canvas_pixels(page) -> np.ndarray:
    """The canvas as a (height, width) uint8 grey array (the viewer draws grey only)."""
    page.evaluate("() => window.readerViewer.workstation.renderNow()")
    url = page.evaluate("() => document.querySelector('#viewer canvas').toDataURL('image/png')")
    rgb = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"))
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all(), "the canvas is not grey"
    return rgb[..., 0]


def image_to_canvas(page, view: str, col: float, row: float) -> tuple[float, float]:
    p = page.evaluate("([v, c, r]) => window.readerViewer.workstation.imageToCanvas(v, c, r)", [view, col, row])
    assert p is not None, f"{view} is not shown"
    return p["X"], p["Y"]


def displayed_region(page, view: str, pixels: np.ndarray):
    """At 1:1, the canvas block showing a whole image and the stored values as displayed there
    (mirrored when the view is flipped for display)."""
    rows, columns = pixels.shape
    x0, y0 = image_to_canvas(page, view, 0, 0)
    x1, y1 = image_to_canvas(page, view, columns - 1, rows - 1)
    assert abs(abs(x1 - x0) - (columns - 1)) < 1e-6 and abs((y1 - y0) - (rows - 1)) < 1e-6, "not at 1:1"
    left, top = int(min(x0, x1)), int(y0)
    shown = pixels[:, ::-1] if x1 < x0 else pixels
    return (slice(top, top + rows), slice(left, left + columns)), shown
