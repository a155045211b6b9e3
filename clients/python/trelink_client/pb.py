"""The protobuf messages of trelink's public contract (proto/trelink/v1), in
one namespace: ``pb.CountQuery``, ``pb.LinkageReport``, ... The generated
modules themselves are here too (``pb.aggregate_pb2``), with the gRPC stubs.

They are generated from proto/ when the package is built (see setup.py) into
trelink_client/_proto, never into a top-level ``trelink`` or ``grpc``
package, so they cannot shadow grpcio.
"""

from ._proto.grpc.health.v1 import health_pb2, health_pb2_grpc
from ._proto.trelink.v1 import (aggregate_pb2, aggregate_pb2_grpc, catalogue_pb2, config_pb2, disclosure_log_pb2,
                                disclosure_log_pb2_grpc, identifiers_pb2, linkage_pb2, linkage_pb2_grpc,
                                match_keys_pb2, pseudonym_pb2, pseudonym_pb2_grpc)
from ._proto.trelink.v1.aggregate_pb2 import *  # noqa: F401,F403
from ._proto.trelink.v1.catalogue_pb2 import *  # noqa: F401,F403
from ._proto.trelink.v1.disclosure_log_pb2 import *  # noqa: F401,F403
from ._proto.trelink.v1.identifiers_pb2 import *  # noqa: F401,F403
from ._proto.trelink.v1.linkage_pb2 import *  # noqa: F401,F403
from ._proto.trelink.v1.match_keys_pb2 import *  # noqa: F401,F403
from ._proto.trelink.v1.pseudonym_pb2 import *  # noqa: F401,F403
