"""Fixtures for the browser tests: a throwaway PostgreSQL that checks passwords over TCP,
the demo's data (ICE's list, the Board's seats, the illustrative scenario), logins for
each actor, a real `sbie serve --with-daemon` process, and headless Chromium.

Environment:
  SBIE_BIN          the sbie executable (default: the debug build's, `swift build --show-bin-path`)
  SBIE_BROWSER_OUT  where screenshots and page sources go (default: .build/browser)
"""
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PASSWORD = "browser-test-password"
LOGINS = {
    # login: (kind, agency)
    "cw_clerk": ("clerk", "clearwater-police-department"),
    "tlh_clerk": ("clerk", "tallahassee-police-department"),
    "board_staff1": ("board-staff", None),
}


def _pg_bin():
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(re.findall(r"/(\d+)/bin", d)[0]))
    if not dirs:
        pytest.fail("no PostgreSQL server binaries (apt-get install postgresql)")
    return dirs[-1]


def _as_owner(args, **kw):
    if os.getuid() == 0:
        args = ["runuser", "-u", "postgres", "--"] + args
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sbie():
    path = os.environ.get("SBIE_BIN")
    if not path:
        out = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, check=True, capture_output=True, text=True)
        path = os.path.join(out.stdout.strip(), "sbie")
    if not os.access(path, os.X_OK):
        pytest.fail(f"no sbie executable at {path}: run swift build first")
    return path


@pytest.fixture(scope="session")
def out_dir():
    path = os.environ.get("SBIE_BROWSER_OUT") or os.path.join(ROOT, ".build", "browser")
    os.makedirs(path, exist_ok=True)
    for old in glob.glob(os.path.join(path, "*.png")) + glob.glob(os.path.join(path, "*.html")):
        os.remove(old)
    return path


@pytest.fixture(scope="session")
def database():
    """A cluster with local (socket) trust for the administrator and scram-sha-256 on TCP,
    so PostgreSQL really checks the web logins' passwords."""
    bindir = _pg_bin()
    tmp = tempfile.mkdtemp(prefix="sbie-browser-")
    os.chmod(tmp, 0o755)
    if os.getuid() == 0:
        pg = pwd.getpwnam("postgres")
        os.chown(tmp, pg.pw_uid, pg.pw_gid)
    data, sock = os.path.join(tmp, "data"), os.path.join(tmp, "socket")
    _as_owner([f"{bindir}/initdb", "-D", data, "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
               "--auth-local=trust", "--auth-host=scram-sha-256"])
    _as_owner(["mkdir", "-p", sock])
    port = _free_port()
    _as_owner([f"{bindir}/pg_ctl", "-D", data, "-l", os.path.join(tmp, "server.log"), "-w", "-t", "60", "-o",
               f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c synchronous_commit=off -c max_connections=100", "start"])
    admin = f"host={sock} port={port} user=postgres dbname=postgres"
    yield {"admin": admin, "port": port, "tmp": tmp}
    subprocess.run((["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else [])
                   + [f"{bindir}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop"], capture_output=True)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def server(database, out_dir):
    """The demo's data and logins, then `sbie serve --with-daemon` on a free port."""
    sbie = _sbie()
    admin = database["admin"]

    def run(*args, stdin=None):
        result = subprocess.run([sbie, *args, "--database", admin], cwd=ROOT, capture_output=True, text=True, input=stdin)
        if result.returncode != 0:
            pytest.fail(f"sbie {' '.join(args)} failed ({result.returncode}): {result.stdout}\n{result.stderr}")
        return result.stdout

    demo = subprocess.run([sbie, "demo", "--database", admin, "--data", "data/ice-287g-participating-fl-2025-07-18.csv"],
                          cwd=ROOT, capture_output=True, text=True)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    run("login", "create-authenticator", "web_auth", "--password", PASSWORD)
    for login, (kind, agency) in LOGINS.items():
        extra = ["--agency", agency] if agency else []
        run("login", f"create-{kind}", login, *extra, "--password-stdin", stdin=PASSWORD + "\n")
        run("login", "web-enable", login)
    conninfo = f"host=127.0.0.1 port={database['port']} user=web_auth password={PASSWORD} dbname=postgres"
    log = open(os.path.join(out_dir, "server.log"), "w")
    process = subprocess.Popen([sbie, "serve", "--with-daemon", "--listen", "127.0.0.1:0", "--database", conninfo,
                                "--daemon-database", admin], cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
    url = None
    deadline = time.time() + 60
    while time.time() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        match = re.search(r"listening on (http://\S+)", line)
        if match:
            url = match.group(1)
            break
    if url is None:
        process.kill()
        pytest.fail("sbie serve did not start; see " + os.path.join(out_dir, "server.log"))
    yield {"url": url, "process": process}
    process.terminate()
    try:
        assert process.wait(timeout=30) == 0, "sbie serve did not exit cleanly on SIGTERM"
    finally:
        if process.poll() is None:
            process.kill()
        log.close()


def _new_driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1400",
                "--disable-extensions", "--no-first-run", "--lang=en-US"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)


@pytest.fixture(scope="session")
def browser_factory():
    drivers = []

    def make():
        driver = _new_driver()
        drivers.append(driver)
        return driver

    yield make
    for driver in drivers:
        driver.quit()
