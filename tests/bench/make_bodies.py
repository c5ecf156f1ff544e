"""make_bodies.py: pre-computes inputs for the wrk scripts and sqlite_ceiling.
  make_bodies.py store CAPTURE_GZ OUT   the start of a gzip /store/ body for store_gzip.lua: the
        decoded capture without its event_id, compressed up to a sync flush. OUT is
        "<crc32> <length>\\n" (of the uncompressed prefix) then the gzip bytes; the script
        appends the event id per request as a final stored deflate block and the gzip trailer,
        so every request is a valid gzip body with a fresh id at no compression cost.
  make_bodies.py event ENVELOPE OUT     the event item (third line) of an envelope capture"""
import gzip
import json
import sys
import zlib


def store(capture, out):
    doc = json.loads(gzip.decompress(open(capture, "rb").read()))
    doc.pop("event_id", None)
    prefix = json.dumps(doc, separators=(",", ":"))[:-1].encode() + b","
    c = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: gzip wrapper
    head = c.compress(prefix) + c.flush(zlib.Z_SYNC_FLUSH)
    with open(out, "wb") as f:
        f.write(b"%d %d\n" % (zlib.crc32(prefix), len(prefix)))
        f.write(head)


def event(envelope, out):
    lines = open(envelope, "rb").read().split(b"\n")
    with open(out, "wb") as f:
        f.write(lines[2])


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "store":
        store(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "event":
        event(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
