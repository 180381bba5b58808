"""`chainrule serve`: an interactive training page, the real engine training on this machine.

Opens a local web server; each browser tab gets its own network to train on a 2-D data set,
with play/pause/step/reset, live decision boundary, loss curves, gradient norms per layer,
and a "one backprop step" panel (click a point). Binds 127.0.0.1 unless --host says otherwise.
Stop it with Ctrl-C.
"""

from __future__ import annotations

import sys

from .options import add_command, check_range

EXAMPLES = """\
examples:
  chainrule serve                         http://127.0.0.1:8000/
  chainrule serve --port 8080 --open      another port, and open the page in the browser
  chainrule serve --host 0.0.0.0          reachable from other machines (trusted networks only)
"""


def add_parser(commands):
    parser = add_command(
        commands, "serve", __doc__, EXAMPLES, "an interactive training page in the browser"
    )
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (127.0.0.1: this machine only)"
    )
    parser.add_argument("--open", action="store_true", help="open the page in the browser")
    parser.set_defaults(run=run_command)
    return parser


def run_command(args) -> int:
    from ..serve import make_server

    check_range("--port", args.port, at_least=0, at_most=65535)
    server = make_server(args.host, args.port)
    print(f"chainrule serve: {server.url}  (Ctrl-C to stop)", file=sys.stderr)
    if args.open:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
