"""Builds the trelink client with its gRPC stubs generated from proto/.

The stubs are generated here, at build time, rather than by the CMake build:
`pip install ./clients/python` then works from a bare checkout (no CMake
build needed first) and the installed stubs always match the checkout's
proto/. Generation needs Debian's protobuf-compiler and
protobuf-compiler-grpc (protoc and /usr/bin/grpc_python_plugin), which the
C++ build installs anyway.

The stubs go into the package's own namespace, trelink_client/_proto/, and
their imports are rewritten to it: generated as they are, the vendored
grpc/health/v1/health.proto would become a top-level `grpc` package that
shadows grpcio. From an sdist (no proto/ beside it) the stubs it carries are
used as they are.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent
PROTO_ROOT = Path(os.environ.get("TRELINK_PROTO_DIR", HERE.parent.parent / "proto"))
OUT = HERE / "trelink_client" / "_proto"
PROTOC = os.environ.get("PROTOC", shutil.which("protoc") or "protoc")
GRPC_PLUGIN = os.environ.get("GRPC_PYTHON_PLUGIN", shutil.which("grpc_python_plugin") or "/usr/bin/grpc_python_plugin")

# The protos the client needs stubs of. proto/google/rpc (the error details,
# decoded by errors.py without stubs) and proto/grpc/reflection stay out: as
# modules they would register google.rpc.* in the process's descriptor pool
# beside any copy the user's other packages bring.
STUB_DIRS = ("trelink/", "grpc/health/")

# "from trelink.v1 import x_pb2" / "import grpc.health.v1..." in generated code.
IMPORT = re.compile(r"^(from|import) (trelink\.v1|grpc\.health\.v1)(\b)", re.MULTILINE)
# The module name each generated module gives its classes.
MODULE_NAME = re.compile(r"'((?:trelink\.v1|grpc\.health\.v1)\.\w+_pb2)'")


def generate_stubs() -> None:
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.glob("**/*.proto")
                    if str(p.relative_to(PROTO_ROOT)).startswith(STUB_DIRS))
    if not protos:
        sys.exit(f"setup.py: no .proto files under {PROTO_ROOT}")
    for tool in (PROTOC, GRPC_PLUGIN):
        if not shutil.which(tool) and not os.access(tool, os.X_OK):
            sys.exit(f"setup.py: {tool} not found; install Debian's protobuf-compiler and protobuf-compiler-grpc")
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    subprocess.run([PROTOC, f"-I{PROTO_ROOT}", f"--python_out={OUT}", f"--pyi_out={OUT}", f"--grpc_python_out={OUT}",
                    f"--plugin=protoc-gen-grpc_python={GRPC_PLUGIN}", *protos], check=True)
    for path in OUT.rglob("*.py*"):
        text = path.read_text(encoding="utf-8")
        text = IMPORT.sub(r"\1 trelink_client._proto.\2\3", text)
        path.write_text(MODULE_NAME.sub(r"'trelink_client._proto.\1'", text), encoding="utf-8")
    for directory in [OUT, *[d for d in OUT.rglob("*") if d.is_dir()]]:
        (directory / "__init__.py").touch()


if PROTO_ROOT.is_dir():
    generate_stubs()
elif not (OUT / "trelink" / "v1" / "aggregate_pb2.py").exists():
    sys.exit(f"setup.py: neither {PROTO_ROOT} nor generated stubs in {OUT}; set TRELINK_PROTO_DIR")

setup(packages=find_packages(include=["trelink_client", "trelink_client.*"]))
