"""A Python client for trelink's AggregateService, over mTLS.

The gRPC stubs are generated from proto/ at build time (CMake target
``trelink_python_client``) into ``build/clients/python``; put that directory
and this one on ``PYTHONPATH``. Uses Debian's python3-grpcio and
python3-protobuf.

    from trelink_client import AggregatorClient, load_query
    client = AggregatorClient("127.0.0.1:7003", ca="ca.pem", cert="analyst.pem", key="analyst.key")
    table = client.count(load_query("deploy/queries/q1_maternal_deaths_social_care.textproto"))
    for cell in table.cells:
        print(cell.values, cell.count, cell.status)
"""

import grpc
from google.protobuf import text_format

from trelink.v1 import aggregate_pb2, aggregate_pb2_grpc

__all__ = ["AggregatorClient", "load_query", "released", "aggregate_pb2"]


def load_query(path):
    """Reads a CountQuery in protobuf text format (the files in deploy/queries)."""
    with open(path, encoding="utf-8") as f:
        return text_format.Parse(f.read(), aggregate_pb2.CountQuery())


def released(cell):
    """True when the cell's count was released (possibly rounded), not suppressed."""
    return cell.status in (aggregate_pb2.RELEASED, aggregate_pb2.ROUNDED)


class AggregatorClient:
    """Counts under disclosure control, as an analyst (or auditor) certificate allows."""

    def __init__(self, address, ca, cert, key, timeout=60.0):
        with open(ca, "rb") as f:
            root = f.read()
        with open(cert, "rb") as f:
            chain = f.read()
        with open(key, "rb") as f:
            private_key = f.read()
        credentials = grpc.ssl_channel_credentials(root_certificates=root, private_key=private_key,
                                                   certificate_chain=chain)
        self._channel = grpc.secure_channel(address, credentials)
        self._stub = aggregate_pb2_grpc.AggregateServiceStub(self._channel)
        self._timeout = timeout

    def count(self, query):
        """Runs a CountQuery; returns the CountTable. Raises grpc.RpcError with the
        service's status (INVALID_ARGUMENT naming the field, PERMISSION_DENIED, ...)."""
        return self._stub.Count(query, timeout=self._timeout)

    def catalogue(self):
        """The datasets, dimensions and disclosure policy."""
        return self._stub.DescribeCatalogue(aggregate_pb2.DescribeCatalogueRequest(), timeout=self._timeout)

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
