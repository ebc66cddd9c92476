"""Builds OCI images for the functional tests, with no registry and no tool but the stdlib.

`build_oci_archive(path, layers, config)` writes an OCI image layout as a tar file (what
`skopeo copy ... oci-archive:path` makes and `depai` pulls as `oci-archive:path@sha256:...`):

    oci-layout                  {"imageLayoutVersion": "1.0.0"}
    index.json                  one manifest descriptor
    blobs/sha256/<hex>          the manifest, the config and the layers (tar + gzip)

Everything is deterministic (fixed mtimes, uid/gid 0, gzip header mtime 0), so the same input
always gives the same digests.

`layers` is a list of layers; each layer is either a directory on disk (added recursively,
its contents at the image root) or a list of entries `(name, kind, data_or_target, mode)`:

    kind "file"      data (bytes or str), mode defaults to 0o644
    kind "dir"       data ignored, mode defaults to 0o755
    kind "symlink"   data is the link target
    kind "hardlink"  data is the link target (a member name, or anything for hostile layers)
    kind "fifo"      data ignored
    kind "whiteout"  name is the path to delete from lower layers (".wh." is added to its basename);
                     name "dir/" with kind "opaque" marks dir opaque (".wh..wh..opq")

Names are written exactly as given, so hostile layers are easy: ("../x", "file", ...),
("/etc/x", "file", ...), ("ln", "symlink", "/", ...) followed by ("ln/x", "file", ...),
("pw", "hardlink", "/etc/passwd", ...).

`config` holds the image config's "config" section: Entrypoint, Cmd, Env, WorkingDir, User
(optional keys); "architecture"/"os" may be given at top level through `platform=`.

Example:

    from oci_image import build_oci_archive
    d = build_oci_archive("/tmp/img.tar",
                          [[("bin/hello", "file", "#!/bin/sh\\necho hi\\n", 0o755)]],
                          {"Entrypoint": ["/bin/hello"], "Env": ["A=1"], "WorkingDir": "/work"})
    ref = "oci-archive:/tmp/img.tar@" + d["manifest_digest"]   # or d["config_digest"]

`python3 oci_image.py OUT [oci-archive|oci|docker-archive]` writes the sample image (sample_layers(),
sample_config()) as an archive, a layout directory or a docker archive and prints its digests as JSON;
test/unit/test_oci.cpp's Oci.PythonBuiltImage pulls it (DEPAI_OCI_TEST_REF=<transport>:OUT@<digest>).
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

MTIME = 1700000000  # every member's mtime: deterministic digests
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"


def _sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _info(name, kind, mode):
    ti = tarfile.TarInfo(name)
    ti.mtime = MTIME
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    ti.mode = mode
    return ti


def _add_entry(tf, name, kind, data=None, mode=None):
    if kind == "file":
        if isinstance(data, str):
            data = data.encode()
        data = data or b""
        ti = _info(name, kind, 0o644 if mode is None else mode)
        ti.type = tarfile.REGTYPE
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    elif kind == "dir":
        ti = _info(name, kind, 0o755 if mode is None else mode)
        ti.type = tarfile.DIRTYPE
        tf.addfile(ti)
    elif kind in ("symlink", "hardlink"):
        ti = _info(name, kind, (0o777 if kind == "symlink" else 0o644) if mode is None else mode)
        ti.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
        ti.linkname = data
        tf.addfile(ti)
    elif kind == "fifo":
        ti = _info(name, kind, 0o644 if mode is None else mode)
        ti.type = tarfile.FIFOTYPE
        tf.addfile(ti)
    elif kind == "whiteout":
        head, base = os.path.split(name.rstrip("/"))
        _add_entry(tf, os.path.join(head, ".wh." + base), "file", b"", 0o644)
    elif kind == "opaque":
        _add_entry(tf, os.path.join(name.rstrip("/"), ".wh..wh..opq"), "file", b"", 0o644)
    else:
        raise ValueError(f"unknown entry kind {kind!r}")


def _add_directory(tf, root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir != ".":
            _add_entry(tf, rel_dir, "dir", None, os.lstat(dirpath).st_mode & 0o7777)
        for fn in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]):
            full = os.path.join(dirpath, fn)
            rel = os.path.normpath(os.path.join(rel_dir, fn))
            st = os.lstat(full)
            if os.path.islink(full):
                _add_entry(tf, rel, "symlink", os.readlink(full))
            else:
                with open(full, "rb") as f:
                    _add_entry(tf, rel, "file", f.read(), st.st_mode & 0o7777)


def layer_tar(layer):
    """The uncompressed tar bytes of one layer (a directory path or a list of entries)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        if isinstance(layer, (str, os.PathLike)):
            _add_directory(tf, os.fspath(layer))
        else:
            for e in layer:
                name, kind = e[0], e[1]
                data = e[2] if len(e) > 2 else None
                mode = e[3] if len(e) > 3 else None
                _add_entry(tf, name, kind, data, mode)
    return buf.getvalue()


def _gzip(data):
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=6) as g:
        g.write(data)
    return out.getvalue()


def build_oci_blobs(layers, config, platform=("amd64", "linux"), compress=True, history=True):
    """{"blobs": {digest: bytes}, "manifest": bytes, "manifest_digest", "config_digest"}."""
    blobs = {}
    layer_descs = []
    diff_ids = []
    for layer in layers:
        raw = layer_tar(layer)
        diff_ids.append(_sha256(raw))
        blob = _gzip(raw) if compress else raw
        d = _sha256(blob)
        blobs[d] = blob
        layer_descs.append({"mediaType": OCI_LAYER_GZIP if compress else OCI_LAYER_TAR, "digest": d, "size": len(blob)})
    cfg = {
        "created": "2023-11-14T22:13:20Z",
        "architecture": platform[0],
        "os": platform[1],
        "config": dict(config or {}),
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    if history:
        cfg["history"] = [{"created": "2023-11-14T22:13:20Z", "created_by": "oci_image.py"} for _ in layers]
    cfg_bytes = json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode()
    cfg_digest = _sha256(cfg_bytes)
    blobs[cfg_digest] = cfg_bytes
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": cfg_digest, "size": len(cfg_bytes)},
        "layers": layer_descs,
    }
    man_bytes = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    man_digest = _sha256(man_bytes)
    blobs[man_digest] = man_bytes
    return {"blobs": blobs, "manifest": man_bytes, "manifest_digest": man_digest, "config_digest": cfg_digest}


def _layout_files(img, ref_name):
    desc = {"mediaType": OCI_MANIFEST, "digest": img["manifest_digest"], "size": len(img["manifest"])}
    if ref_name:
        desc["annotations"] = {"org.opencontainers.image.ref.name": ref_name}
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [desc]}
    files = [("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode()),
             ("index.json", json.dumps(index, sort_keys=True).encode())]
    for d in sorted(img["blobs"]):
        files.append(("blobs/sha256/" + d.split(":", 1)[1], img["blobs"][d]))
    return files


def build_oci_archive(path, layers, config, platform=("amd64", "linux"), compress=True, ref_name="latest",
                      tamper=None):
    """Writes an OCI layout tar at `path`; returns {"manifest_digest", "config_digest"}.

    tamper: optional function(files) -> files, called on the list of (name, bytes) before the tar is
    written (e.g. to flip a byte in a layer blob and keep its name: a digest-mismatch test).
    """
    img = build_oci_blobs(layers, config, platform, compress)
    files = _layout_files(img, ref_name)
    if tamper:
        files = tamper(files)
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        dirs = ["blobs", "blobs/sha256"]
        for d in dirs:
            _add_entry(tf, d, "dir")
        for name, data in files:
            _add_entry(tf, name, "file", data, 0o644)
    return {"manifest_digest": img["manifest_digest"], "config_digest": img["config_digest"]}


def build_oci_layout(directory, layers, config, platform=("amd64", "linux"), compress=True, ref_name="latest"):
    """The same image as an OCI layout directory (for the `oci:` transport)."""
    img = build_oci_blobs(layers, config, platform, compress)
    for name, data in _layout_files(img, ref_name):
        full = os.path.join(directory, name)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)
    return {"manifest_digest": img["manifest_digest"], "config_digest": img["config_digest"]}


def build_docker_archive(path, layers, config, platform=("amd64", "linux"), repo_tag="depai/test:latest"):
    """A `docker save` style archive (manifest.json, <config>.json, <n>/layer.tar uncompressed), for the
    `docker-archive:` transport (pulled through skopeo). Returns {"config_digest"}: docker archives have no
    manifest digest of their own (skopeo makes one), so pin them by the config digest (the image id)."""
    raw_layers = [layer_tar(layer) for layer in layers]
    diff_ids = [_sha256(r) for r in raw_layers]
    cfg = {
        "created": "2023-11-14T22:13:20Z",
        "architecture": platform[0],
        "os": platform[1],
        "config": dict(config or {}),
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    cfg_bytes = json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode()
    cfg_digest = _sha256(cfg_bytes)
    cfg_name = cfg_digest.split(":", 1)[1] + ".json"
    layer_names = [d.split(":", 1)[1] + "/layer.tar" for d in diff_ids]
    manifest = [{"Config": cfg_name, "RepoTags": [repo_tag] if repo_tag else [], "Layers": layer_names}]
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        _add_entry(tf, "manifest.json", "file", json.dumps(manifest).encode())
        _add_entry(tf, cfg_name, "file", cfg_bytes)
        for name, raw in zip(layer_names, raw_layers):
            _add_entry(tf, name.split("/")[0], "dir")
            _add_entry(tf, name, "file", raw)
    return {"config_digest": cfg_digest}


def sample_layers():
    """Two layers: a script and a data file, then a whiteout of the data file and a new one."""
    return [
        [("bin", "dir"), ("bin/hello", "file", "#!/bin/sh\necho hello from the image\n", 0o755),
         ("etc", "dir"), ("etc/old.conf", "file", "old\n"), ("etc/link", "symlink", "old.conf")],
        [("etc/old.conf", "whiteout"), ("etc/new.conf", "file", "new\n")],
    ]


def sample_config():
    return {"Entrypoint": ["/bin/hello"], "Cmd": ["--greet"], "Env": ["GREETING=hi"], "WorkingDir": "/work"}


if __name__ == "__main__":
    # oci_image.py OUT [oci-archive|oci|docker-archive]: the sample image, digests printed as JSON.
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: oci_image.py OUT [oci-archive|oci|docker-archive]")
    kind = sys.argv[2] if len(sys.argv) == 3 else "oci-archive"
    build = {"oci-archive": build_oci_archive, "oci": build_oci_layout, "docker-archive": build_docker_archive}[kind]
    print(json.dumps(build(sys.argv[1], sample_layers(), sample_config())))
