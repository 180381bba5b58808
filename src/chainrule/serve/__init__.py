"""`chainrule serve`: a local page where the real engine trains while you watch.

The page (HTML, JavaScript and CSS in static/, served by the package; nothing is fetched from
elsewhere) shows the decision boundary, the loss curves, the gradient norms per layer, each
neuron's activation and, for a clicked point, one backpropagation step by `chainrule explain`.
Each browser tab is one Session, trained by cr.fit in its own thread.

    >>> from chainrule.serve import make_server
    >>> server = make_server("127.0.0.1", 8000)
    >>> server.serve_forever()
"""

from .app import Server, make_server
from .session import Session
from .sessions import Sessions
from .settings import LIMITS, Settings, SettingsError

__all__ = ["LIMITS", "Server", "Session", "Sessions", "Settings", "SettingsError", "make_server"]
