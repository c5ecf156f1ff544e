#!/usr/bin/env python3
"""Builds the seed corpora of the fuzz targets from the repository's sample inputs.

usage: seeds.py SOURCE_DIR OUT_DIR  ->  OUT_DIR/{envelope,http,memory_payload,event}/<name>

- envelope: tests/fixtures/envelopes/{valid,invalid}/*.envelope and every SDK capture sent to
  /envelope/ (decompressed);
- event: SDK captures sent to /store/ and the event items of every envelope;
- memory_payload: sdk-protocol/{valid,invalid}/*.json;
- jdom: the event and memory_payload seeds, every envelope header line, and the hand-made
  events of tests/fixtures/grouping/events.jsonl;
- http: each SDK capture as it went over the wire (head with CRLF, body re-framed), plus a
  pipelined pair."""
import glob
import gzip
import json
import os
import sys
import zlib


def decompress(body, head):
    if b"content-encoding: gzip" in head.lower() or body[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(body)
        except OSError:
            return body
    if b"content-encoding: deflate" in head.lower():
        try:
            return zlib.decompress(body)
        except zlib.error:
            return body
    return body


def envelope_items(buf):
    """Yields (item header dict, payload) with Relay's framing; stops at anything odd."""
    lines = buf.split(b"\n", 1)
    rest = lines[1] if len(lines) > 1 else b""
    while rest.strip():
        rest = rest.lstrip(b"\r\n ")
        line, _, rest = rest.partition(b"\n")
        try:
            hdr = json.loads(line)
        except ValueError:
            return
        if not isinstance(hdr, dict):
            return
        if isinstance(hdr.get("length"), int):
            n = hdr["length"]
            payload, rest = rest[:n], rest[n:]
            if rest.startswith(b"\n"):
                rest = rest[1:]
        else:
            payload, _, rest = rest.partition(b"\n")
        yield hdr, payload


def main():
    src, out = sys.argv[1], sys.argv[2]
    corpora = {t: {} for t in ("envelope", "http", "memory_payload", "event", "jdom")}
    fx = os.path.join(src, "tests", "fixtures")
    for path in sorted(glob.glob(os.path.join(fx, "envelopes", "*", "*.envelope"))):
        with open(path, "rb") as f:
            corpora["envelope"][os.path.basename(os.path.dirname(path)) + "-" +
                                os.path.basename(path)] = f.read()
    for path in sorted(glob.glob(os.path.join(src, "sdk-protocol", "*", "*.json"))):
        with open(path, "rb") as f:
            corpora["memory_payload"][os.path.basename(os.path.dirname(path)) + "-" +
                                      os.path.basename(path)] = f.read()
    for head_path in sorted(glob.glob(os.path.join(fx, "sdk-captures", "*", "*.head"))):
        name = os.path.basename(os.path.dirname(head_path)) + "-" + os.path.basename(head_path)[:-5]
        with open(head_path, "rb") as f:
            head = f.read()
        with open(head_path[:-5] + ".body", "rb") as f:
            body = f.read()
        plain = decompress(body, head)
        if b"/envelope/" in head.split(b"\n", 1)[0]:
            corpora["envelope"][name] = plain
            for i, (hdr, payload) in enumerate(envelope_items(plain)):
                if hdr.get("type") in ("event", "transaction"):
                    corpora["event"][f"{name}-item{i}"] = payload
        else:
            corpora["event"][name] = plain
        lines = [l.rstrip(b"\r") for l in head.rstrip(b"\r\n").split(b"\n")]
        chunked = any(l.lower().startswith(b"transfer-encoding:") for l in lines)
        wire = b"\r\n".join(lines) + b"\r\n\r\n"
        if chunked:
            for i in range(0, len(body), 4000):
                part = body[i:i + 4000]
                wire += b"%x\r\n" % len(part) + part + b"\r\n"
            wire += b"0\r\n\r\n"
        else:
            wire += body
        corpora["http"][name] = wire
    corpora["http"]["pipelined"] = (
        b"GET /healthz?x=%41+b&y HTTP/1.1\r\nHost: a\r\n\r\n"
        b"POST /async/api/1/store/ HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"
        b"GET /x HTTP/1.1\r\nConnection: close\r\n\r\n")
    corpora["jdom"].update(("event-" + k, v) for k, v in corpora["event"].items())
    corpora["jdom"].update(("memory-" + k, v) for k, v in corpora["memory_payload"].items())
    for name, body in corpora["envelope"].items():
        for i, line in enumerate(body.split(b"\n")):
            if line.strip().startswith(b"{") and len(line) < 16384:
                corpora["jdom"][f"header-{name}-{i}"] = line
    with open(os.path.join(fx, "grouping", "events.jsonl"), "rb") as f:
        for i, line in enumerate(f.read().split(b"\n")):
            if line:
                corpora["jdom"][f"grouping-{i + 1}"] = line
    for target, files in corpora.items():
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
    print(" ".join(f"{t}={len(v)}" for t, v in corpora.items()))


if __name__ == "__main__":
    main()
