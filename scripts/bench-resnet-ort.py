#!/usr/bin/env python3
"""onnxruntime side of the ResNet-20 benchmark (issue 18, BENCHMARKS.md).

Times onnxruntime float inference of an ONNX model over a data set exported
by fpec, so that onnxruntime sees exactly the tensors fpec decodes:

    target/release/fpec dnn export-data --data ../shared/data/cifar10-jpeg/test \
        --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --out out/cifar10-test.npz
    .venv/bin/python scripts/bench-resnet-ort.py --npz out/cifar10-test.npz \
        --model ../shared/nets/cifar10-resnet20.onnx

Prints accuracy, images/s and seconds (inference only; the session is built
and warmed up on one batch first), and with --json one JSON object.
With --pillow-dir it also decodes that image folder with Pillow (the
reference decoder of the shared model's README) and reports how many pixel
values differ from fpec's export and the accuracy on Pillow's pixels.
"""
import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import onnxruntime as ort


def pillow_tensor(folder, mean, std):
    """The image folder decoded with Pillow, normalized like fpec (in f64, then float32)."""
    from PIL import Image

    classes = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)) and not d.startswith("."))
    imgs, labels = [], []
    for k, c in enumerate(classes):
        for f in sorted(os.listdir(os.path.join(folder, c))):
            if f.startswith("."):
                continue
            with Image.open(os.path.join(folder, c, f)) as im:
                imgs.append(np.asarray(im.convert("RGB"), dtype=np.float64))
            labels.append(k)
    x = np.stack(imgs) / 255.0  # N, H, W, C
    x = (x - np.array(mean)) / np.array(std)
    return x.transpose(0, 3, 1, 2).astype(np.float32), np.array(labels, dtype=np.int64)


def run(sess, name, x, batch):
    preds = []
    t0 = time.perf_counter()
    for s in range(0, len(x), batch):
        out = sess.run(None, {name: x[s : s + batch]})[0]
        preds.append(out.argmax(axis=1))
    return np.concatenate(preds), time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--npz", required=True, help="images float32 NCHW + labels (fpec dnn export-data)")
    ap.add_argument("--model", required=True, help="ONNX model")
    ap.add_argument("--batch", type=int, default=100, help="images per session.run (default 100)")
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads (0: onnxruntime default, all cores)")
    ap.add_argument("--pillow-dir", help="also decode this image folder with Pillow and compare")
    ap.add_argument("--mean", default="0.485,0.456,0.406")
    ap.add_argument("--std", default="0.229,0.224,0.225")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.batch < 1:
        sys.exit(f"error: --batch {a.batch} must be >= 1")

    with np.load(a.npz) as z:
        x, y = z["images"], z["labels"]
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    sess.run(None, {name: x[: a.batch]})  # warm-up
    pred, secs = run(sess, name, x, a.batch)
    r = {
        "model": a.model,
        "npz": a.npz,
        "images": int(len(x)),
        "accuracy": float((pred == y).mean() * 100),
        "seconds": secs,
        "images_per_s": len(x) / secs,
        "batch": a.batch,
        "threads": a.threads,
        "onnxruntime": ort.__version__,
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
    }
    if a.pillow_dir:
        mean = [float(v) for v in a.mean.split(",")]
        std = [float(v) for v in a.std.split(",")]
        px, py = pillow_tensor(a.pillow_dir, mean, std)
        if px.shape != x.shape or not (py == y).all():
            sys.exit(f"error: Pillow's {px.shape} / labels differ from the export {x.shape}")
        # Pixel steps of 1/255/std: count values differing by more than half a step.
        step = (1.0 / 255.0) / np.array(std, dtype=np.float64).reshape(1, 3, 1, 1)
        lsb = np.rint(np.abs(px.astype(np.float64) - x.astype(np.float64)) / step)
        ppred, _ = run(sess, name, px, a.batch)
        r["pillow"] = {
            "values_differing": int((lsb > 0).sum()),
            "values": int(lsb.size),
            "max_lsb_difference": int(lsb.max()),
            "images_with_a_difference": int((lsb.reshape(len(x), -1).max(axis=1) > 0).sum()),
            "accuracy": float((ppred == y).mean() * 100),
            "decisions_differing": int((ppred != pred).sum()),
        }
    if a.json:
        print(json.dumps(r, indent=1))
    else:
        print(
            f"onnxruntime {r['onnxruntime']}: {r['images']} images, accuracy {r['accuracy']:.2f} %, "
            f"{r['seconds']:.2f} s, {r['images_per_s']:.0f} images/s (batch {a.batch}, {r['cpus']} cpus)"
        )
        if "pillow" in r:
            p = r["pillow"]
            print(
                f"Pillow decode: {p['values_differing']}/{p['values']} values differ from fpec's "
                f"(max {p['max_lsb_difference']} LSB, {p['images_with_a_difference']} images), "
                f"accuracy {p['accuracy']:.2f} %, {p['decisions_differing']} decisions differ"
            )


if __name__ == "__main__":
    main()
