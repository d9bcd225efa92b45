"""What the labelling page shows of a query: the region's own pixels, unmistakably, on the
original image; checked on the arrays and, in Chromium, on the pixels the page displays."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd

from asal.annotate import regions

import annotate_helpers as h

OUTLINE = np.array(regions.OUTLINE_RGB)


def test_query_mask_is_the_merged_region():
    local = np.array([[0, 0, 1], [2, 2, 1], [3, 3, 3]])
    region = np.array([10, 12, 10, 13])  # local ids 0 and 2 merged into region 10
    mask = regions.query_mask(region, local, 10)
    assert mask.tolist() == [[True, True, False], [True, True, False], [False, False, False]]
    assert not regions.query_mask(region, local, 99).any()


def test_the_mask_is_drawn_on_the_original_size():
    mask = np.array([[1, 0, 1], [0, 1, 0]], bool)
    for k in (1, 2, 3):
        big = regions.upscale_mask(mask, (2 * k, 3 * k))
        np.testing.assert_array_equal(big, np.kron(mask, np.ones((k, k), int)).astype(bool))


def test_view_keeps_the_region_and_marks_everything_else_holes_included():
    image = h.hole_image((60, 80))
    mask = np.zeros((60, 80), bool)
    mask[0:40, 0:50] = True  # reaches the top and left borders
    mask[15:25, 20:30] = False  # a hole: a superpixel labelled before
    view = regions.render_view(image, mask)
    t, p = regions.thickness_for(mask.shape), regions.pad_for(mask.shape)
    assert view.shape == (60 + 2 * p, 80 + 2 * p, 3)
    inner = view[p:-p, p:-p]
    assert (inner[mask] == image[mask]).all()  # the region: untouched
    assert (inner[~mask] != image[~mask]).any(axis=-1).all()  # the rest, hole too: marked
    ring = regions.outline(mask, t)
    assert (inner[ring] == OUTLINE).all()
    assert ring[15:25, 20:30].any() and not ring[15 + t:25 - t, 20 + t:30 - t].any()
    assert not (ring & mask).any()
    # Along the image's border the ring runs in the frame, only where the region touches it.
    top, left = view[p - 1, p:-p], view[p:-p, p - 1]
    assert (top[:50] == OUTLINE).all() and (left[:40] == OUTLINE).all()
    assert not (top[50 + t + 1:] == OUTLINE).all(axis=-1).any()
    assert not (left[40 + t + 1:] == OUTLINE).all(axis=-1).any()


def test_a_region_filling_the_image_is_outlined_on_all_four_sides():
    """The issue's regions of 42-43k px on a 240x180 image showed no outline at all."""
    image = h.hole_image((60, 80))
    mask = np.ones((60, 80), bool)
    mask[30:36, 40:46] = False
    view = regions.render_view(image, mask)
    p = regions.pad_for(mask.shape)
    for side in (view[p - 1, p:-p], view[-p, p:-p], view[p:-p, p - 1], view[p:-p, -p]):
        assert (side == OUTLINE).all()
    assert (view[p:-p, p:-p][~mask] != image[~mask]).any(axis=-1).all()


def test_the_zoom_frames_the_region():
    shape = (360, 480)
    large = np.zeros(shape, bool)
    large[100:250, 100:300] = True
    y0, y1, x0, x1 = regions.zoom_box(large)
    assert y0 <= 100 - 15 and y1 >= 250 + 15 and x0 <= 100 - 20 and x1 >= 300 + 20
    assert (y1 - y0) * (x1 - x0) < 0.5 * large.size  # the region, not the whole image
    small = np.zeros(shape, bool)
    small[200:205, 470:475] = True  # 5x5 px at the right border
    y0, y1, x0, x1 = regions.zoom_box(small)
    assert y0 <= 200 and y1 >= 205 and x0 <= 470 and x1 == 480
    assert min(y1 - y0, x1 - x0) >= 480 // 6  # seen in its context
    view = regions.render_view(h.hole_image(shape), small)
    p = regions.pad_for(shape)
    assert regions.render_crop(view, small).shape == (y1 - y0 + 2 * p, x1 - x0 + 2 * p, 3)


# ---------------------------------------------------------------- in Chromium


def _displayed(driver, element_id: str):
    """(screenshot of the element as an array, natural (h, w), content offset (y, x), scale):
    where the picture's pixel (i, j) is drawn, whatever the window makes of the layout."""
    from PIL import Image
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 20).until(lambda d: d.execute_script(
        f"const i = document.getElementById('{element_id}'); "
        "return i.complete && i.naturalWidth > 0"))
    nh, nw = driver.execute_script(
        f"const i = document.getElementById('{element_id}'); "
        "return [i.naturalHeight, i.naturalWidth]")
    shot = np.asarray(Image.open(io.BytesIO(
        driver.find_element("id", element_id).screenshot_as_png)).convert("RGB")).astype(int)
    bh, bw = shot.shape[:2]
    scale = min(bh / nh, bw / nw)  # object-fit: contain
    return shot, (nh, nw), ((bh - nh * scale) / 2, (bw - nw * scale) / 2), scale


def _sample(shot, offset, scale, vy, vx):
    """The displayed colour at picture coordinates (vy, vx) (arrays, continuous)."""
    y = np.clip((offset[0] + np.asarray(vy) * scale).astype(int), 0, shot.shape[0] - 1)
    x = np.clip((offset[1] + np.asarray(vx) * scale).astype(int), 0, shot.shape[1] - 1)
    return shot[y, x]


@h.needs_browser
def test_the_page_shows_the_regions_own_pixels_on_the_original_image(tmp_path, driver):
    """A merged region with a hole, three times the image's border, most of the image: from
    the pixels Chromium displays, the highlighted ones (shown as they are in the file) are
    exactly the region's, the yellow ring runs around it in the hole and along the border,
    and the picture is the original file at its own resolution, not the pool's half size."""
    import urllib.request

    r = h.hole_round(tmp_path)
    server = h.Server(h.annotate_command(r))
    try:
        driver.get(server.url)
        assert h.shown_query(driver) == 0
        mask = r["mask"][0]  # working resolution, 48x64
        original = np.asarray(h.hole_image(seed=0), int)  # 96x128, what the file holds
        shot, natural, offset, scale = _displayed(driver, "view")
        # The original file's 128x96 (not the pool's 64x48) in a frame of p pixels.
        p = (natural[1] - h.HOLE_SHAPE[1]) // 2
        assert 0 < p <= 8 and natural == (h.HOLE_SHAPE[0] + 2 * p, h.HOLE_SHAPE[1] + 2 * p), \
            f"the view is {natural[1]}x{natural[0]}, not the original 128x96 in a frame"
        assert scale > 2, "the picture is shown enlarged enough to read single pixels"
        # Each working pixel is a 2x2 block of the original: sample its centre.
        y, x = np.mgrid[:mask.shape[0], :mask.shape[1]]
        shown = _sample(shot, offset, scale, p + 2 * y + 1, p + 2 * x + 1)
        expected = original.reshape(48, 2, 64, 2, 3).mean(axis=(1, 3))
        highlighted = np.abs(shown - expected).max(axis=-1) <= 12
        wrong = np.argwhere(highlighted != mask)
        assert len(wrong) == 0, f"{len(wrong)} pixels highlighted wrongly, e.g. {wrong[:5]}"
        yellow = np.abs(shown - OUTLINE).max(axis=-1) <= 40
        # Every pixel next to the region, in its hole too, carries the ring.
        m = np.pad(mask, 1)
        touching = ~mask & (m[:-2, 1:-1] | m[2:, 1:-1] | m[1:-1, :-2] | m[1:-1, 2:])
        assert yellow[touching].all() and (touching & r["hole"]).sum() > 5
        # Along the border: in the frame next to every border pixel of the region.
        for vy, vx, along in (((p - 1.0), p + 2 * np.arange(64) + 1, mask[0]),
                              (p + 96 + 1.0, p + 2 * np.arange(64) + 1, mask[-1]),
                              (p + 2 * np.arange(48) + 1, p - 1.0, mask[:, 0])):
            frame = np.abs(_sample(shot, offset, scale, vy, vx) - OUTLINE).max(axis=-1) <= 40
            assert frame[along].all() and along.any()
            far = ~np.convolve(along, np.ones(2 * p + 1), "same").astype(bool)
            assert not frame[far].any()
        # The zoom frames the region; the link opens the file as it is on disk.
        big = regions.upscale_mask(mask, h.HOLE_SHAPE)
        _, crop_natural, _, _ = _displayed(driver, "crop")
        y0, y1, x0, x1 = regions.zoom_box(big)
        assert crop_natural == (y1 - y0 + 2 * p, x1 - x0 + 2 * p)
        link = driver.find_element("id", "original").get_attribute("href")
        with urllib.request.urlopen(link, timeout=20) as reply:
            assert reply.read() == r["images"]["pool_0"].read_bytes()
        assert "70% of the image" in driver.find_element("id", "caption").text
        # The second query: one small superpixel, zoomed with its surroundings.
        h.click_label(driver, 0)
        assert h.shown_query(driver) == 1
        _, crop_natural, _, _ = _displayed(driver, "crop")
        y0, y1, x0, x1 = regions.zoom_box(regions.upscale_mask(r["mask"][1], h.HOLE_SHAPE))
        assert crop_natural == (y1 - y0 + 2 * p, x1 - x0 + 2 * p)
        assert crop_natural[0] < natural[0] and crop_natural[1] < natural[1]
    finally:
        server.kill()
    journal = [json.loads(x) for x in
               (tmp_path / "round1" / "answers.journal.jsonl").read_text().splitlines()[1:]]
    assert [(e["query"], e["label"]) for e in journal] == [(0, 0)]
    assert len(pd.read_csv(r["queries"])) == 2
