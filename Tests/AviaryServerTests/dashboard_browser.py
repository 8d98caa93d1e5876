#!/usr/bin/env python3
"""Drives Aviary's web dashboard in headless Chromium (Selenium), against a running daemon.

    dashboard_browser.py canary BASE [--screenshots DIR]   the rollout story: list, page, chart, promote, abort
    dashboard_browser.py login BASE TOKEN                  sign-in with the daemon's token
    dashboard_browser.py read-only BASE                    no controls anywhere
    dashboard_browser.py reconnect BASE DIR                the page says it lost the daemon and comes back:
                                                           writes DIR/connected, then DIR/lost once it says so

The daemon must already hold the rollouts of DashboardBrowserTests (rollout `web` paused mid-canary
after a successful analysis, rollout `broken` degraded by a failed one). Prints `ok: ...` per check
and exits non-zero at the first that fails.
"""
import os
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, NoSuchElementException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

DEADLINE = 90


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,1600", "--force-prefers-reduced-motion"]:
        options.add_argument(argument)
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=options)


def text_of(driver, selector):
    """The text of the first element matching selector, or None (the page may be mid-update)."""
    try:
        return driver.find_element(By.CSS_SELECTOR, selector).text
    except (NoSuchElementException, StaleElementReferenceException):
        return None


def wait_for(driver, what, condition):
    try:
        WebDriverWait(driver, DEADLINE, poll_frequency=0.2,
                      ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)).until(
            lambda d: condition(d))
    except Exception as error:
        fail(driver, f"waited {DEADLINE}s for {what}: {error!r}")
    print(f"ok: {what}")


def check(driver, what, value):
    if not value:
        fail(driver, what)
    print(f"ok: {what}")


def fail(driver, what):
    print(f"FAILED: {what}", file=sys.stderr)
    try:
        print("page at failure:", driver.current_url, file=sys.stderr)
        print(driver.find_element(By.TAG_NAME, "main").text[:3000], file=sys.stderr)
        for entry in driver.get_log("browser"):
            print("console:", entry, file=sys.stderr)
    except WebDriverException:
        pass
    driver.quit()
    sys.exit(1)


def post_without_csrf(driver, path):
    """The status of a POST the page's script sends without the X-CSRF-Token header."""
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {method: 'POST', credentials: 'same-origin', headers: {Accept: 'application/json'}})"
        ".then(r => done(r.status)).catch(e => done(String(e)));", path)


def screenshot(driver, directory, name):
    if directory:
        os.makedirs(directory, exist_ok=True)
        # The whole page: as tall as its content.
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, min(max(height, 800), 4000))
        driver.save_screenshot(os.path.join(directory, name))
        driver.set_window_size(1280, 1600)
        print(f"ok: wrote {name}")


def canary(base, screenshots=None):
    driver = browser()
    driver.set_script_timeout(30)
    try:
        driver.get(base + "/")
        wait_for(driver, "the list shows rollout web", lambda d: d.find_element(By.CSS_SELECTOR, 'tr[data-rollout="default/web"]'))
        wait_for(driver, "its row says Paused and the step",
                 lambda d: "Paused" in (text_of(d, 'tr[data-rollout="default/web"]') or "")
                 and "3/6" in text_of(d, 'tr[data-rollout="default/web"]'))
        check(driver, "the counts include a degraded rollout",
              text_of(driver, '.number[data-status="degraded"]') == "1")
        screenshot(driver, screenshots, "list.png")

        driver.find_element(By.LINK_TEXT, "web").click()
        wait_for(driver, "the rollout page opens", lambda d: d.find_element(By.ID, "rollout-title"))
        check(driver, "the status is Paused", "Paused" in text_of(driver, "#status"))
        check(driver, "the split bar shows 50% canary", text_of(driver, "#canary-share") == "50%")
        check(driver, "the split is drawn", len(driver.find_elements(By.CSS_SELECTOR, "svg.split rect")) == 2)
        charts = driver.find_elements(By.CSS_SELECTOR, "svg.chart")
        check(driver, "the analysis has a chart", len(charts) >= 1)
        check(driver, "with its points", len(driver.find_elements(By.CSS_SELECTOR, "svg.chart circle.point")) >= 3)
        check(driver, "and its success and failure thresholds",
              driver.find_elements(By.CSS_SELECTOR, "svg.chart line.threshold.success")
              and driver.find_elements(By.CSS_SELECTOR, "svg.chart line.threshold.failure"))
        check(driver, "the picture links Services to ReplicaSets",
              len(driver.find_elements(By.CSS_SELECTOR, "svg.topology g.service")) == 2)
        wait_for(driver, "the page follows the daemon's stream", lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-connected") == "true")
        screenshot(driver, screenshots, "rollout.png")

        step_before = text_of(driver, "#step")
        driver.execute_script("window.aviaryNoReload = true;")
        driver.find_element(By.ID, "action-promote").click()
        wait_for(driver, f"Promote moves the step on from {step_before}",
                 lambda d: (text_of(d, "#step") or step_before) != step_before)
        wait_for(driver, "the next pause sets 75% canary", lambda d: text_of(d, "#set-weight") == "75%")
        check(driver, "without a reload", driver.execute_script("return window.aviaryNoReload === true;"))
        check(driver, "and says what it did", "Promoted" in (text_of(driver, "#notice") or ""))

        status = post_without_csrf(driver, "/dashboard/rollouts/default/web/abort")
        check(driver, f"a POST without the CSRF token is refused (HTTP {status})", status == 403)
        check(driver, "and changed nothing", "Paused" in (text_of(driver, "#status") or ""))

        driver.find_element(By.ID, "action-abort").click()
        WebDriverWait(driver, DEADLINE).until(expected_conditions.alert_is_present())
        alert = driver.switch_to.alert
        check(driver, "Abort asks first", "Abort?" in alert.text)
        alert.accept()
        wait_for(driver, "Abort makes it Degraded", lambda d: "Degraded" in (text_of(d, "#status") or ""))
        wait_for(driver, "with all traffic on stable", lambda d: text_of(d, "#stable-share") == "100%")
        check(driver, "still without a reload", driver.execute_script("return window.aviaryNoReload === true;"))
        check(driver, "Retry is now offered", driver.find_element(By.ID, "action-retry").is_enabled())
        check(driver, "and Promote is not", not driver.find_element(By.ID, "action-promote").is_enabled())

        driver.get(base + "/rollouts/default/broken")
        wait_for(driver, "the failed analysis is shown", lambda d: d.find_element(By.CSS_SELECTOR, "svg.chart circle.point.failed"))
        check(driver, "with the message of a failed measurement", "Failed" in driver.find_element(By.CSS_SELECTOR, "section.run").text)
        screenshot(driver, screenshots, "failed-analysis.png")

        driver.get(base + "/rollouts/default/nope")
        check(driver, "an unknown rollout is a not-found page", "There is no rollout" in (text_of(driver, "#not-found") or ""))
    finally:
        driver.quit()


def login(base, token):
    driver = browser()
    try:
        driver.get(base + "/")
        wait_for(driver, "a daemon with a token asks for it", lambda d: d.find_element(By.ID, "token"))
        driver.find_element(By.ID, "token").send_keys("not-the-token")
        driver.find_element(By.ID, "sign-in").click()
        wait_for(driver, "a wrong token is refused", lambda d: "not the daemon" in (text_of(d, "#login-error") or ""))
        driver.find_element(By.ID, "token").send_keys(token)
        driver.find_element(By.ID, "sign-in").click()
        wait_for(driver, "the right one opens the list", lambda d: d.find_element(By.CSS_SELECTOR, 'tr[data-rollout="default/web"]'))
        cookies = driver.get_cookies()
        session = [c for c in cookies if c["name"] == "aviary_session"]
        check(driver, "the session cookie is HttpOnly and SameSite=Strict",
              session and session[0].get("httpOnly") and session[0].get("sameSite") == "Strict")
        check(driver, "the page's script cannot read it", "aviary_session" not in driver.execute_script("return document.cookie"))
        driver.find_element(By.CSS_SELECTOR, "form.signout button").click()
        wait_for(driver, "Sign out goes back to the sign-in page", lambda d: d.find_element(By.ID, "token"))
    finally:
        driver.quit()


def read_only(base):
    driver = browser()
    try:
        driver.get(base + "/rollouts/default/web")
        wait_for(driver, "the rollout page opens", lambda d: d.find_element(By.ID, "rollout-title"))
        check(driver, "read-only shows no controls", not driver.find_elements(By.TAG_NAME, "button"))
        check(driver, "and says it is read-only", "read-only" in driver.find_element(By.CSS_SELECTOR, "header.top").text)
    finally:
        driver.quit()


def reconnect(base, directory):
    """The test kills the daemon after DIR/connected appears and starts it again after DIR/lost."""
    driver = browser()
    try:
        driver.get(base + "/rollouts/default/web")
        wait_for(driver, "the page follows the daemon's stream",
                 lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-connected") == "true")
        check(driver, "no banner while connected", not driver.find_element(By.ID, "connection").is_displayed())
        open(os.path.join(directory, "connected"), "w").close()
        wait_for(driver, "the page says it lost the daemon",
                 lambda d: d.find_element(By.ID, "connection").is_displayed())
        open(os.path.join(directory, "lost"), "w").close()
        wait_for(driver, "and, the daemon back, follows it again without a reload",
                 lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-connected") == "true"
                 and not d.find_element(By.ID, "connection").is_displayed())
        check(driver, "with the rollout still shown", "Healthy" in (text_of(driver, "#status") or ""))
    finally:
        driver.quit()


if __name__ == "__main__":
    mode, base = sys.argv[1], sys.argv[2]
    if mode == "canary":
        directory = sys.argv[sys.argv.index("--screenshots") + 1] if "--screenshots" in sys.argv else None
        canary(base, directory)
    elif mode == "login":
        login(base, sys.argv[3])
    elif mode == "read-only":
        read_only(base)
    elif mode == "reconnect":
        reconnect(base, sys.argv[3])
    else:
        sys.exit(f"unknown mode {mode}: canary, login or read-only")
    print("all checks passed")
