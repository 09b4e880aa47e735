#!/usr/bin/env python3
"""Regenerates policies/schemas/kubernetes.json.gz, kubegate's bundled Kubernetes API schemas.

Source: the `kubernetes-validate` wheel on PyPI (Apache-2.0), pinned by version and SHA-256.
It carries JSON Schemas (draft 2020-12) generated from each Kubernetes release's OpenAPI
document, in a strict variant that closes every object (`additionalProperties: false`).

The bundle keeps, per Kubernetes minor version, every definition and the group/version/kind
each top-level definition serves; definitions identical across versions are stored once.
Descriptions and annotations that do not affect validation are dropped. Two definitions are
rewritten: `IntOrString` and `Quantity` become type unions instead of `oneOf` (a `oneOf` of two
nullable types rejects `null`, which the API server accepts, and words its errors poorly).

Usage (network needed only to download the wheel):
    python3 policies/schemas/regenerate.py            # downloads the pinned wheel with pip
    python3 policies/schemas/regenerate.py WHEEL.whl  # uses a wheel already downloaded

The output is deterministic: the same wheel always gives the same bytes.
"""

import gzip
import hashlib
import io
import json
import pathlib
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "kubernetes-validate"
VERSION = "1.37.0"
SHA256 = "85136d018a27b50ec7fc049d902bfa5193f5976807e6c0f408e3ab6fe078cad9"
# Kubernetes minor versions bundled: the four newest the wheel carries.
KUBERNETES = [f"1.{n}" for n in range(25, 38)]
OUTPUT = pathlib.Path(__file__).resolve().parent / "kubernetes.json.gz"

# Keys that do not change what a schema accepts.
DROPPED = {"description", "format", "$schema", "$id", "example", "externalDocs", "default"}

REWRITTEN = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": ["string", "integer", "null"]},
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {"type": ["string", "number", "null"]},
}


def wheel_bytes(argv):
    if len(argv) > 1:
        data = pathlib.Path(argv[1]).read_bytes()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", f"{PACKAGE}=={VERSION}",
                 "--no-deps", "--only-binary", ":all:", "--dest", tmp, "--quiet"],
                check=True,
            )
            (wheel,) = pathlib.Path(tmp).glob("*.whl")
            data = wheel.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        sys.exit(f"wheel SHA-256 is {digest}, expected {SHA256}: refusing to use it")
    return data


def clean(node, in_properties=False):
    """Drops non-validating keys (never property names: a field may be called `description`)."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if not in_properties and (key in DROPPED or key.startswith("x-kubernetes-")):
                continue
            if in_properties:
                out[key] = clean(value)
            elif key == "properties":
                out[key] = clean(value, in_properties=True)
            elif key in ("enum", "required"):
                out[key] = value
            else:
                out[key] = clean(value)
        return out
    if isinstance(node, list):
        return [clean(v) for v in node]
    return node


def main(argv):
    wheel = zipfile.ZipFile(io.BytesIO(wheel_bytes(argv)))
    schemas, index = [], {}
    versions = {}
    for minor in KUBERNETES:
        name = f"kubernetes_validate/kubernetes-json-schema/v{minor}.0-local-strict/_definitions.json"
        defs = json.loads(wheel.read(name))["$defs"]
        names, kinds = {}, {}
        for def_name in sorted(defs):
            body = defs[def_name]
            for gvk in body.get("x-kubernetes-group-version-kind", []):
                group, version, kind = gvk["group"], gvk["version"], gvk["kind"]
                api_version = f"{group}/{version}" if group else version
                # Definitions of apimachinery's meta types (DeleteOptions, WatchEvent, Status)
                # carry the kinds of every group, but nobody applies them; an object's own
                # definition is the one named after its kind.
                own = def_name.rsplit(".", 1)[-1] == kind
                if own and not def_name.startswith("io.k8s.apimachinery.pkg.apis.meta."):
                    kinds[f"{api_version}/{kind}"] = def_name
            body = REWRITTEN.get(def_name, clean(body))
            text = json.dumps(body, sort_keys=True, separators=(",", ":"))
            if text not in index:
                index[text] = len(schemas)
                schemas.append(body)
            names[def_name] = index[text]
        versions[minor] = {"definitions": names, "kinds": dict(sorted(kinds.items()))}
    # Every API group some version serves ("" is the core group): an apiVersion of one of them
    # that a version lacks is "not served", not an unknown kind. Kept apart from the versions so
    # a run reads only its own version's index.
    groups = sorted({key.rsplit("/", 1)[0].rpartition("/")[0]
                     for v in versions.values() for key in v["kinds"]})
    bundle = {
        "groups": groups,
        "source": {
            "package": f"{PACKAGE}=={VERSION} (PyPI)",
            "sha256": SHA256,
            "licence": "Apache-2.0",
            "variant": "local-strict",
        },
        "schemas": schemas,
        "versions": versions,
    }
    raw = json.dumps(bundle, sort_keys=True, separators=(",", ":")).encode()
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as gz:
        gz.write(raw)
    OUTPUT.write_bytes(buffer.getvalue())
    print(f"{OUTPUT.name}: {len(buffer.getvalue())} bytes ({len(raw)} uncompressed), "
          f"{len(schemas)} distinct definitions, Kubernetes {', '.join(KUBERNETES)}")


if __name__ == "__main__":
    main(sys.argv)
