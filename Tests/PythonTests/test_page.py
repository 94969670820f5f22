"""The search page in a real browser: headless Chromium (Debian's chromium + chromium-driver) driven by selenium
against chorusd over a loopback --http-address, with a collection of real photos (scikit-image's, fetched by
scripts/fetch-test-data), a sound and a note. The screenshot is kept in .build/test-artifacts/search-page.png."""
import base64
import json
import os
import pathlib
import subprocess
import tempfile

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

import conftest
from test_http import free_port

PHOTOS = conftest.ROOT / "Tests" / "Data" / "skimage"
ARTIFACTS = conftest.ROOT / ".build" / "test-artifacts"


@pytest.fixture(scope="module", params=["embedded", "postgresql"])
def page_daemon(request):
    """The page over each store backend (thumbnails live in the store's rows)."""
    store = None
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres")
        store = server.url(server.new_database())
    port = free_port()
    directory = tempfile.mkdtemp(prefix="chorus-page-", dir="/tmp")
    daemon = conftest.Daemon(directory, extra_args=("--http-address", f"127.0.0.1:{port}"), store=store)
    daemon.base = f"http://127.0.0.1:{port}"
    items = [{"id": name.split(".")[0], "source": name, "metadata": {"kind": "photo"},
              "content": {"image": base64.b64encode((PHOTOS / name).read_bytes()).decode()}}
             for name in ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "horse.png", "motorcycle_left.png", "hubble_deep_field.jpg"]]
    tone = subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", "-t", "wav", "-", "synth", "2", "sine", "440"], capture_output=True, check=True).stdout
    items.append({"id": "a tone", "content": {"audio": base64.b64encode(tone).decode()}})
    items.append({"id": "note/1", "content": {"text": "remember to buy cat food and coffee beans"}})
    assert httpx.post(daemon.base + "/v1/collections", json={"name": "photos"}).status_code == 200
    upsert = httpx.post(daemon.base + "/v1/collections/photos/upsert", json={"items": items}, timeout=120).json()
    assert all("id" in result for result in upsert["results"]), upsert
    yield daemon
    daemon.stop()


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"]:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    yield driver
    driver.quit()


def hits(browser):
    return browser.find_elements(By.CSS_SELECTOR, "#hits .hit")


def images_loaded(browser):
    return browser.execute_script(
        "return [...document.querySelectorAll('#hits img')].map(i => [i.closest('.hit').dataset.id, i.complete && i.naturalWidth > 0])")


def test_a_sentence_finds_the_photo_and_its_thumbnail(page_daemon, browser):
    browser.get(page_daemon.base + "/")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda b: b.find_element(By.ID, "collection").get_attribute("value") == "photos")
    query = browser.find_element(By.ID, "query")
    query.send_keys("a cat", Keys.ENTER)
    wait.until(lambda b: len(hits(b)) == 9)
    assert hits(browser)[0].get_attribute("data-id") == "chelsea"
    # Every photo hit shows its thumbnail, fetched from the daemon, decoded by the browser.
    wait.until(lambda b: all(ok for _, ok in images_loaded(b)))
    assert {id for id, _ in images_loaded(browser)} == {"astronaut", "chelsea", "coffee", "rocket", "horse", "motorcycle_left", "hubble_deep_field"}
    width = browser.execute_script("return document.querySelector('#hits img').naturalWidth")
    assert 0 < width <= 256
    # The note shows its text; the sound has a player whose source is the stored preview.
    wait.until(lambda b: "cat food" in b.find_element(By.CSS_SELECTOR, '.hit[data-id="note/1"] .snippet').text)
    player = browser.find_element(By.CSS_SELECTOR, '.hit[data-id="a tone"] audio')
    assert player.get_attribute("src").endswith("/items/a%20tone/preview")
    assert httpx.get(player.get_attribute("src")).headers["content-type"] == "audio/wav"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "search-page.png"))
    assert (ARTIFACTS / "search-page.png").stat().st_size > 10_000


def test_more_like_this_and_a_dropped_image(page_daemon, browser):
    browser.get(page_daemon.base + "/")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda b: b.find_element(By.ID, "collection").get_attribute("value") == "photos")
    browser.find_element(By.ID, "query").send_keys("a motorbike", Keys.ENTER)
    wait.until(lambda b: len(hits(b)) > 0)
    browser.find_element(By.CSS_SELECTOR, '.hit[data-id="horse"]').click()
    wait.until(lambda b: "items like" in b.find_element(By.ID, "status").text)
    wait.until(lambda b: hits(b) and hits(b)[0].get_attribute("data-id") == "horse")
    # A file given to the picker is searched by its content (the browser reads it; the daemon gets bytes).
    picker = browser.find_element(By.ID, "file")
    browser.execute_script("arguments[0].hidden = false", picker)
    picker.send_keys(str(PHOTOS / "chelsea.png"))
    wait.until(lambda b: "chelsea.png" in b.find_element(By.ID, "status").text and "hits" in b.find_element(By.ID, "status").text)
    assert hits(browser)[0].get_attribute("data-id") == "chelsea"


def test_errors_show_in_the_page(page_daemon, browser):
    browser.get(page_daemon.base + "/")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda b: b.find_element(By.ID, "collection").get_attribute("value") == "photos")
    picker = browser.find_element(By.ID, "file")
    browser.execute_script("arguments[0].hidden = false", picker)
    broken = pathlib.Path(tempfile.mkdtemp()) / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    picker.send_keys(str(broken))
    wait.until(lambda b: "failed" in b.find_element(By.ID, "status").text)
    assert "image" in browser.find_element(By.ID, "status").text
