#!/usr/bin/env python3
"""Writes a registry:2 volume straight to disk for bench/gc.sh: BLOBS blobs in all, MANIFESTS of them image
manifests (Docker schema 2, a config and LAYERS layers each) spread over REPOS repositories, tagged, and some
garbage: blobs linked into a repository but in no manifest, and blobs linked nowhere. Every file is dated two days
ago, so a collector's grace period does not keep anything. Prints the garbage digests, one per line, to GARBAGE.

usage: gcgen.py ROOT GARBAGE BLOBS MANIFESTS REPOS
"""
import hashlib
import json
import os
import sys
import time

root, garbage_out = sys.argv[1], sys.argv[2]
blobs_total, manifests_total, repos_total = (int(a) for a in sys.argv[3:6])
layers_per = max(1, (blobs_total * 9 // 10 - 2 * manifests_total) // manifests_total)
old = time.time() - 2 * 86400
v2 = os.path.join(root, "docker", "registry", "v2")


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.utime(path, (old, old))


def blob(content):
    hexd = hashlib.sha256(content).hexdigest()
    write(os.path.join(v2, "blobs", "sha256", hexd[:2], hexd, "data"), content)
    return "sha256:" + hexd


def link(path, digest):
    write(path, digest.encode())


def repo_dir(r):
    return os.path.join(v2, "repositories", "bench", "r%03d" % r)


written = 0
garbage = []
for m in range(manifests_total):
    r = m % repos_total
    repo = repo_dir(r)
    config = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"n":%d}' % m
    cdig = blob(config)
    layers = []
    for i in range(layers_per):
        content = b"layer %d of manifest %d" % (i, m)
        layers.append((blob(content), len(content)))
    written += 1 + layers_per
    doc = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config), "digest": cdig},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": s, "digest": d} for d, s in layers],
    }
    content = json.dumps(doc, indent=3).encode()
    mdig = blob(content)
    written += 1
    for d in [cdig] + [d for d, _ in layers]:
        link(os.path.join(repo, "_layers", "sha256", d[7:], "link"), d)
    link(os.path.join(repo, "_manifests", "revisions", "sha256", mdig[7:], "link"), mdig)
    tag = "v%d" % (m // repos_total)
    link(os.path.join(repo, "_manifests", "tags", tag, "current", "link"), mdig)
    link(os.path.join(repo, "_manifests", "tags", tag, "index", "sha256", mdig[7:], "link"), mdig)

g = 0
while written < blobs_total:
    content = b"garbage blob %d" % g
    d = blob(content)
    garbage.append(d)
    if g % 2 == 0:  # half still linked into a repository, as after a manifest delete; half linked nowhere
        link(os.path.join(repo_dir(g % repos_total), "_layers", "sha256", d[7:], "link"), d)
    g += 1
    written += 1

with open(garbage_out, "w") as f:
    f.write("".join(d + "\n" for d in sorted(garbage)))
print("wrote %d blobs (%d manifests of %d layers, %d garbage) in %d repositories under %s"
      % (written, manifests_total, layers_per, len(garbage), repos_total, root), file=sys.stderr)
