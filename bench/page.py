"""Page load in a real Chromium: from navigation until a given text is shown."""

import json
import shutil
import tempfile
from pathlib import Path

from selenium.webdriver.chrome.webdriver import WebDriver

from tests.browser import CHROMEDRIVER, CHROMIUM, start_chromium
from tests.processes import wait_until

TIMEOUT_S = 30.0

# Runs in every new document before the page's own scripts: once a frame,
# notes the time since navigation began at which the text first appears.
WATCH = """
(() => {
  const wanted = %s;
  const look = () => {
    if (document.body && document.body.innerText.includes(wanted)) {
      window.benchShownAt = performance.now();
    } else {
      requestAnimationFrame(look);
    }
  };
  requestAnimationFrame(look);
})();
"""


def available() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


def load_times(url: str, text: str, loads: int) -> tuple[float, list[float]]:
    """Seconds until `text` shows: the first load, then `loads` more."""
    downloads = tempfile.mkdtemp(prefix="imageconv-bench-downloads-")
    driver = start_chromium(Path(downloads))
    try:
        source = WATCH % json.dumps(text)
        driver.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument", {"source": source}
        )
        # An unknown path warms Chromium and its cache of NiceGUI's scripts.
        driver.get(f"{url}/bench-warm-up")
        first = _load(driver, url)
        return first, [_load(driver, url) for _ in range(loads)]
    finally:
        driver.quit()
        shutil.rmtree(downloads, ignore_errors=True)


def _load(driver: WebDriver, url: str) -> float:
    driver.get(url)

    def shown() -> float | None:
        at: float | None = driver.execute_script("return window.benchShownAt;")
        return at

    return wait_until(shown, timeout=TIMEOUT_S, interval=0.05) / 1000
