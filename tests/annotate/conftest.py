"""One headless Chromium for every browser test of the labelling page (it starts in about a
second; each test opens its own server and page in it)."""

import pytest

import annotate_helpers as h


@pytest.fixture(scope="session")
def driver(tmp_path_factory):
    if h.chromium_available() is not None:
        pytest.skip(h.chromium_available())
    d = h.browser(tmp_path_factory.mktemp("chromium-profile"))
    d.set_page_load_timeout(30)
    yield d
    d.quit()
