"""The gRPC server: servicer, interceptors, status mapping."""
