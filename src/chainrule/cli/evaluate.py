"""`chainrule evaluate`: (being wired)."""


def add_parser(commands):
    parser = commands.add_parser("evaluate", help="(not yet available)")
    parser.set_defaults(run=lambda args: 0)
    return parser
