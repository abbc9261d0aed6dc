"""Entry points: the command line and the gRPC server."""
