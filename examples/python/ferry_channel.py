"""How the examples reach the broker: plaintext by default, or TLS with a password.

    --broker           address (default: $FERRY_BROKER or 127.0.0.1:50051)
    --tls-ca FILE      speak TLS, checking the broker's certificate against this CA
                       (default: $FERRY_TLS_CA; plaintext when neither is set)
    --tls-server-name  the name the certificate carries, when not the --broker host
    --user, --password log in as this user (default: $FERRY_USER, $FERRY_PASSWORD): each call
                       carries `authorization: Basic base64(user:password)`, which ferryd checks
                       against its user store and its ACLs (ferryd refuses a password over
                       plaintext, so give --tls-ca too)
"""

import base64
import os

import grpc


def add_arguments(parser):
    parser.add_argument("--broker", default=os.environ.get("FERRY_BROKER", "127.0.0.1:50051"),
                        help="broker address (default: $FERRY_BROKER or 127.0.0.1:50051)")
    parser.add_argument("--tls-ca", default=os.environ.get("FERRY_TLS_CA"),
                        help="CA file: connect over TLS (default: $FERRY_TLS_CA)")
    parser.add_argument("--tls-server-name", default=os.environ.get("FERRY_TLS_SERVER_NAME"),
                        help="name on the broker's certificate, when not the --broker host")
    parser.add_argument("--user", default=os.environ.get("FERRY_USER"),
                        help="user to log in as (default: $FERRY_USER)")
    parser.add_argument("--password", default=os.environ.get("FERRY_PASSWORD"),
                        help="its password (default: $FERRY_PASSWORD)")


class _Basic(grpc.AuthMetadataPlugin):
    def __init__(self, user, password):
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self._metadata = (("authorization", "Basic " + token),)

    def __call__(self, context, callback):
        callback(self._metadata, None)


def open_channel(args):
    """A channel as the arguments ask: use it in a `with` block."""
    if not args.tls_ca:
        if args.user:
            raise SystemExit("a password needs TLS: give --tls-ca (or $FERRY_TLS_CA) too")
        return grpc.insecure_channel(args.broker)
    with open(args.tls_ca, "rb") as f:
        credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
    if args.user:
        credentials = grpc.composite_channel_credentials(
            credentials, grpc.metadata_call_credentials(_Basic(args.user, args.password or "")))
    options = []
    if args.tls_server_name:
        options.append(("grpc.ssl_target_name_override", args.tls_server_name))
    return grpc.secure_channel(args.broker, credentials, options=options)
