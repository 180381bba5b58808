"""`chainrule serve`: starts the page's server, binds 127.0.0.1 by default, rejects bad ports."""

import os
import re
import socket
import subprocess
import sys
import urllib.request


def test_serve_starts_on_localhost_and_serves_the_page():
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    process = subprocess.Popen([sys.executable, "-m", "chainrule", "serve", "--port", "0"],
                               stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stderr.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert found, line
        with urllib.request.urlopen(found.group(0), timeout=30) as response:
            assert response.status == 200 and b'id="play"' in response.read()
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stderr.close()


def test_a_port_in_use_is_one_line_error(run_main):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        code, _, err = run_main("serve", "--port", taken.getsockname()[1])
    assert code == 1 and err.startswith("chainrule serve: error: ")
    assert "in use" in err and len(err.strip().splitlines()) == 1


def test_a_bad_port_is_one_line_error(run_main):
    code, _, err = run_main("serve", "--port", "70000")
    assert code == 1
    assert err.strip() == "chainrule serve: error: --port must be <= 65535, got 70000"


def test_serve_is_listed_in_the_help(run_main):
    code, out, _ = run_main("--help")
    assert code == 0 and "serve" in out and "chainrule serve --open" in out
