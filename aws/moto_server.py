"""moto_server, with DynamoDB requests handled one at a time.

moto's server is threaded and its DynamoDB backend takes no lock, so two concurrent conditional
writes to one item can both pass their condition (measured: the claim race, 8 concurrent claims
of one execution, had two winners in about one run out of four). DynamoDB itself applies each
conditional write atomically; serialising DynamoDB requests restores that. Other services stay
concurrent: an SQS long poll must not hold up everything else.

Usage: python3 moto_server.py -H 127.0.0.1 -p PORT  (the same arguments as moto_server).
Used by `backend_aws::testing` and `scripts/moto.sh`.
"""

import logging
import sys
import threading

try:
    from moto.moto_server import werkzeug_app
    from moto.server import main
except ImportError as e:  # pragma: no cover - the message is the point
    sys.stderr.write(
        f"moto is not installed for {sys.executable} ({e}): pip install 'moto[server]'\n"
    )
    sys.exit(3)

_dispatch = werkzeug_app.DomainDispatcherApplication.__call__
_dynamodb = threading.Lock()


def _call(self, environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
        with _dynamodb:
            # Consume the response inside the lock: the write happens while it is produced.
            return list(_dispatch(self, environ, start_response))
    return _dispatch(self, environ, start_response)


werkzeug_app.DomainDispatcherApplication.__call__ = _call
# One line per request on stderr costs more than the requests themselves.
logging.getLogger("werkzeug").setLevel(logging.WARNING)

if __name__ == "__main__":
    main(sys.argv[1:])
