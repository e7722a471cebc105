#!/usr/bin/env python3
"""model_check.py - the learned policy's model files, written from their documents alone.

A second reader of the model file: attention/attn.h's "Model file" comment
block and attn_model_load's error list, docs/learned-policy.md (section 5,
the tensors and ints the network needs; section 6, model files),
docs/training.md ("A residual of the teacher") and `weft model --help`. From those alone it writes
model files entry by entry (the shipped model again, models of other sizes
with random weights, and damaged ones of every kind the documents name),
runs `weft model FILE` on each and requires what the documents predict:
exit status 0, 1 or 2, a refusal naming the file and what is wrong, or a
summary whose format, SHA-256, config, priors and counts are the file's.
For the files that load, `weft model FILE -o OUT` must write a version 2
file whose last 41 bytes are the SHA-256 of the rest and whose entries are
the input's; for a sample, `weft sim W --policy learned --model FILE` and
`weft eval` must run them (the shipped model rewritten gives the same
schedule as the original) or refuse them as `weft model` does, and a
`weft serve` whose --model file is replaced by each and sent SIGHUP must
take it (naming its SHA-256) or keep the model it had (naming the fault).

    /usr/bin/python3 scripts/model_check.py [--wide | --every K] [--weft PATH]
                                            [--keep DIR] [-v]

The default (ctest test_model_check) runs every other case of each family
of damage (--every K: every K'th) with a few truncation offsets; --wide
cuts the shipped model at 600 offsets and its last 60, flips a bit in
every 97th byte, and runs `weft sim` and the SIGHUP on every file it wrote
(each one refused must be refused as `weft model` refuses it). Both make a real
checkpoint with `weft train`. WEFT_BIN, else build/weft, is the weft
it runs. Exits 0 when all holds, 1 naming the cases that failed, 2 if it
cannot run.
"""
import argparse
import hashlib
import io
import math
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep scripts/ free of __pycache__
from weft_msgpack import msgpack  # noqa: E402
from tied_child import tied  # noqa: E402 (its weft children end with it, even SIGKILLed)

MAGIC = "weft-model"
ENTRY_CAP = 4096          # ints, vectors or tensors, each (attn.h)
ELEM_CAP = 1 << 28        # floats in one vector or tensor
FILE_CAP = 1 << 30        # bytes of a model file
NAME_MAX = 63             # bytes of a name (64 with its NUL)
PRIOR_MIN = 1.17549435e-38  # docs/training.md: 0 or a weight from 1.2e-38 (FLT_MIN) to 1e30
FEATURES = 20
SANITIZER_REPORTS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
SHIPPED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models",
                       "weft-policy.msgpack")


# ---- the writer -----------------------------------------------------------------

def pk(obj):
    return msgpack.packb(obj, use_bin_type=True)


def map_header(n):
    if n < 16:
        return bytes([0x80 | n])
    return b"\xde" + struct.pack(">H", n) if n < 65536 else b"\xdf" + struct.pack(">I", n)


def array_header(n):
    if n < 16:
        return bytes([0x90 | n])
    return b"\xdc" + struct.pack(">H", n) if n < 65536 else b"\xdd" + struct.pack(">I", n)


def f32(values):
    return struct.pack("<%df" % len(values), *values)


def as_f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


class Model:
    """A model file's entries in order: config (name, int), vectors (name,
    float32 bytes), tensors (name, shape, float32 bytes), as lists of pairs
    so that duplicates and any order can be written."""

    def __init__(self, config, vectors, tensors):
        self.config, self.vectors, self.tensors = list(config), list(vectors), list(tensors)

    def copy(self):
        return Model(self.config, self.vectors, self.tensors)

    def set_int(self, name, value):
        m = self.copy()
        m.config = [(k, value if k == name else v) for k, v in m.config]
        return m

    def set_vector(self, name, data):
        m = self.copy()
        m.vectors = [(k, data if k == name else v) for k, v in m.vectors]
        return m

    def set_tensor(self, name, shape=None, data=None):
        m = self.copy()
        m.tensors = [(n, shape if n == name and shape is not None else s,
                      data if n == name and data is not None else d) for n, s, d in m.tensors]
        return m

    def without(self, name):
        m = self.copy()
        m.config = [e for e in m.config if e[0] != name]
        m.vectors = [e for e in m.vectors if e[0] != name]
        m.tensors = [e for e in m.tensors if e[0] != name]
        return m

    def int(self, name, default=None):
        return next((v for k, v in self.config if k == name), default)

    def vector(self, name):
        return next((struct.unpack("<%df" % (len(v) // 4), v) for k, v in self.vectors
                     if k == name), None)

    def body_entries(self):
        tensors = b"".join(map_header(3) + pk("name") + pk(n) + pk("shape") + pk(list(s)) +
                           pk("data") + pk(d) for n, s, d in self.tensors)
        return [(pk("config"), map_header(len(self.config)) +
                 b"".join(pk(k) + pk(v) for k, v in self.config)),
                (pk("vectors"), map_header(len(self.vectors)) +
                 b"".join(pk(k) + pk(v) for k, v in self.vectors)),
                (pk("tensors"), array_header(len(self.tensors)) + tensors)]

    def encode(self, version=2, magic=MAGIC, checksum=None, extra=(), first=()):
        """The file: magic, version, then the body map; with the checksum
        (version 2's default) as its last entry: the key "sha256" and a bin
        of the SHA-256 of every byte before that key. extra: (key, value)
        raw entries after the three, first: before them."""
        if checksum is None:
            checksum = version == 2
        entries = list(first) + self.body_entries() + list(extra)
        out = pk(magic) + pk(version) + map_header(len(entries) + checksum)
        out += b"".join(k + v for k, v in entries)
        if checksum:
            out += pk("sha256") + pk(hashlib.sha256(out).digest())
        return out


def parse(data):
    """(magic, version, body pairs) of a file, or None if it is no such
    sequence of three objects."""
    try:
        u = msgpack.Unpacker(io.BytesIO(data), raw=False, object_pairs_hook=list,
                             strict_map_key=False, max_buffer_size=FILE_CAP + 1)
        return next(u), next(u), next(u)
    except Exception:  # noqa: BLE001 - anything unreadable is "not parsed"
        return None


def model_of(body):
    d = dict(body)
    tensors = [dict(t) for t in d["tensors"]]
    return Model(d["config"], d["vectors"], [(t["name"], list(t["shape"]), t["data"])
                                             for t in tensors])


def entries(model, what):
    """A model's entries of one kind as comparable tuples."""
    return [tuple(list(x) if isinstance(x, (list, tuple)) else x for x in e)
            for e in getattr(model, what)]


def read_model(path):
    with open(path, "rb") as f:
        parsed = parse(f.read())
    return model_of(parsed[2])


# ---- the network's tensors (docs/learned-policy.md, section 5) -----------------

def tensor_table(D, L, S, M, B, pre_ln, F=FEATURES):
    """Every tensor the network needs, name and shape, in the page's order."""
    out = []
    for direction in ("fwd", "bwd"):
        for l in range(1, L + 1):
            I = F if l == 1 else D
            p = f"gnn.{direction}{l}."
            out += [(p + "att", [I + D]), (p + "wi", [3 * D, I]), (p + "bi", [3 * D]),
                    (p + "wh", [3 * D, D]), (p + "bh", [3 * D])]
    H = F + 2 * L * D
    out += [("gnn.job.w1", [S, H]), ("gnn.job.b1", [S]), ("gnn.job.w2", [S, S]),
            ("gnn.job.b2", [S]), ("gnn.glob.w1", [S, S]), ("gnn.glob.b1", [S]),
            ("gnn.glob.w2", [S, S]), ("gnn.glob.b2", [S])]
    E = H + 2 * S
    out += [("attn.in.w", [M, E]), ("attn.in.b", [M])]
    for b in range(1, B + 1):
        p = f"attn.blk{b}."
        out += [(p + "ln1_g", [M]), (p + "ln1_b", [M]), (p + "qkv_w", [3 * M, M]),
                (p + "qkv_b", [3 * M]), (p + "proj_w", [M, M]), (p + "proj_b", [M]),
                (p + "ln2_g", [M]), (p + "ln2_b", [M]), (p + "fc_w", [4 * M, M]),
                (p + "fc_b", [4 * M]), (p + "fc2_w", [M, 4 * M]), (p + "fc2_b", [M])]
    if pre_ln:
        out += [("attn.lnf.g", [M]), ("attn.lnf.b", [M])]
    return out + [("attn.head.w", [1, M]), ("attn.head.b", [1])]


def made_model(seed, D, L, S, M, H, B, pre_ln, gelu, prior=0.0, prior_path=0.0,
               set_changes_only=None):
    """A model of these sizes with random weights (LayerNorm gains 1)."""
    rng = random.Random(seed)
    E = FEATURES + 2 * L * D + 2 * S
    config = [("learned.feature_set", 4)]
    if set_changes_only is not None:
        config.append(("learned.set_changes_only", set_changes_only))
    config += [("gnn.F", FEATURES), ("gnn.D", D), ("gnn.L", L), ("gnn.S", S), ("attn.E", E),
               ("attn.M", M), ("attn.H", H), ("attn.B", B), ("attn.pre_ln", pre_ln),
               ("attn.gelu", gelu)]
    vectors = [("feat.mean", f32([rng.uniform(0, 10) for _ in range(FEATURES)])),
               ("feat.std", f32([rng.uniform(0.5, 5) for _ in range(FEATURES)])),
               ("learned.prior", f32([prior])), ("learned.prior_path", f32([prior_path]))]
    tensors = []
    for name, shape in tensor_table(D, L, S, M, B, pre_ln):
        n = math.prod(shape)
        gain = name.endswith(("_g", ".g"))
        tensors.append((name, shape, f32([1.0 if gain else rng.uniform(-0.4, 0.4)
                                          for _ in range(n)])))
    return Model(config, vectors, tensors)


# ---- what weft must say --------------------------------------------------------

def fmt_g(x):
    """C's %g."""
    return "%g" % x


def predicted_summary(path, data, model, version):
    """The lines `weft model` prints for a file that loads (learned-policy.md 6, --help)."""
    head = (f"{path}: loads; format version 2, its SHA-256 checked" if version == 2 else
            f"{path}: loads; format version 1, no checksum, unchecked")
    prior, path_prior = model.vector("learned.prior")[0], model.vector("learned.prior_path")[0]
    floats = sum(len(d) // 4 for _, _, d in model.tensors)
    decides = ("when the set of schedulable coflows changes"
               if model.int("learned.set_changes_only", 0) == 1 else "at every emulator decision")
    return [head, "sha256 " + hashlib.sha256(data).hexdigest(),
            "priors jsebf %s, path %s" % (fmt_g(prior), fmt_g(path_prior)),
            "decides " + decides,
            f"weights {len(model.tensors)} tensors, {floats} floats; "
            f"{len(model.vectors)} vectors"]


NETWORK_INTS = ("learned.feature_set", "learned.set_changes_only", "gnn.F", "gnn.D", "gnn.L",
                "gnn.S", "attn.E", "attn.M", "attn.H", "attn.B", "attn.pre_ln", "attn.gelu")


class Checker:
    def __init__(self, weft, tmp, verbose, wide=False, every=2):
        self.weft, self.tmp, self.verbose, self.wide, self.every = weft, tmp, verbose, wide, every
        self.failures, self.cases, self.runs = [], 0, 0
        self.loaded = []  # (name, path, model) of files that loaded, for -o and sim

    def pick(self, items):
        """All of items under --wide, else every --every'th (the first kept)."""
        items = list(items)
        return items if self.wide else items[::self.every]

    def fail(self, case, what):
        self.failures.append(f"{case}: {what}")
        print(f"FAIL {case}: {what}", file=sys.stderr)

    def run(self, args):
        self.runs += 1
        p = subprocess.run([self.weft] + args, capture_output=True, text=True,
                           errors="replace", timeout=120)
        # under the sanitizers' build a report is a failure whatever the exit status
        if any(s in p.stderr for s in SANITIZER_REPORTS):
            self.fail("sanitizer", f"weft {' '.join(args)}: {p.stderr[-2000:]}")
        return p

    def write(self, name, data):
        path = os.path.join(self.tmp, name + ".msgpack")
        with open(path, "wb") as f:
            f.write(data)
        return path

    def loads(self, name, data, model=None, version=2, out=True):
        """The file loads, summarised as the documents say, and -o writes it
        again as version 2 with the same entries."""
        self.cases += 1
        path = self.write(name, data)
        model = model or model_of(parse(data)[2])
        p = self.run(["model", path])
        if p.returncode != 0:
            return self.fail(name, f"exit {p.returncode}, expected 0: {p.stderr.strip()}")
        lines = [" ".join(line.split()) for line in p.stdout.splitlines()]
        for want in predicted_summary(path, data, model, version):
            if not any(line.startswith(want) for line in lines):
                return self.fail(name, f"summary lacks {want!r}:\n{p.stdout}")
        config = next((line for line in lines if line.startswith("config ")), "")
        for k in NETWORK_INTS:
            if model.int(k) is not None and f"{k} {model.int(k)}" not in config:
                return self.fail(name, f"config line lacks {k} {model.int(k)}: {config}")
        if self.verbose:
            print(f"ok {name}: loads")
        self.loaded.append((name, path, model))
        if out:
            self.rewrites(name, path, model)
        return p

    def rewrites(self, name, path, model):
        out = os.path.join(self.tmp, name + ".out.msgpack")
        p = self.run(["model", path, "-o", out])
        if p.returncode != 0:
            return self.fail(name + " -o", f"exit {p.returncode}: {p.stderr.strip()}")
        if p.stdout:
            self.fail(name + " -o", f"the summary went to stdout, not stderr: {p.stdout!r}")
        with open(out, "rb") as f:
            data = f.read()
        if hashlib.sha256(data[:-41]).digest() != data[-32:] or data[-41:-32] != \
                pk("sha256") + b"\xc4\x20":
            return self.fail(name + " -o", "OUT does not end with the SHA-256 of its other bytes")
        parsed = parse(data)
        if not parsed or parsed[0] != MAGIC or parsed[1] != 2:
            return self.fail(name + " -o", f"OUT is no version 2 model: {parsed and parsed[:2]}")
        again = model_of(parsed[2])
        for what in ("config", "vectors", "tensors"):
            if entries(again, what) != entries(model, what):
                got = [e[0] for e in getattr(again, what)]
                return self.fail(name + " -o", f"OUT's {what} differ from the input's: {got}")
        return None

    def refused(self, name, data, *wants, status=1, path=None, with_out=False):
        """weft model FILE exits with status, its message starting with
        "weft model: ", naming the file and holding every string of wants;
        -o OUT then writes nothing (checked under --wide, or if with_out)."""
        self.cases += 1
        path = path or self.write(name, data)
        p = self.run(["model", path])
        msg = p.stderr.strip()
        if p.returncode != status:
            return self.fail(name, f"exit {p.returncode}, expected {status}: {msg or p.stdout}")
        if not msg.startswith("weft model: ") or path not in msg:
            return self.fail(name, f"the message does not name the file: {msg}")
        said = msg.replace(path, "FILE")  # a want found in the file's name is no proof
        for want in wants:
            if want not in said:
                return self.fail(name, f"the message lacks {want!r}: {msg}")
        if p.stdout:
            return self.fail(name, f"a refused file printed a summary: {p.stdout!r}")
        if not (with_out or self.wide):
            return msg
        out = os.path.join(self.tmp, "refused.out.msgpack")
        q = self.run(["model", path, "-o", out])
        if q.returncode != status or os.path.exists(out):
            return self.fail(name + " -o", f"exit {q.returncode}, OUT written: "
                             f"{os.path.exists(out)}")
        if self.verbose:
            print(f"ok {name}: {msg}")
        return msg


# ---- the cases -----------------------------------------------------------------

def check_shipped(c, shipped):
    """The shipped model, re-written entry by entry: the same bytes, summary
    and (in check_sim) schedule; its tensors are the page's table."""
    with open(SHIPPED, "rb") as f:
        original = f.read()
    magic, version, _ = parse(original)
    if (magic, version) != (MAGIC, 2):
        c.fail("shipped", f"starts {magic!r} {version!r}, expected {MAGIC!r} 2")
    again = shipped.encode()
    if again != original:
        c.fail("shipped", "re-written entry by entry it is not the same bytes")
    c.loads("shipped", again, shipped)
    m = shipped
    table = tensor_table(m.int("gnn.D"), m.int("gnn.L"), m.int("gnn.S"), m.int("attn.M"),
                         m.int("attn.B"), m.int("attn.pre_ln"))
    if sorted(table) != sorted((n, list(s)) for n, s, _ in m.tensors):
        c.fail("shipped", "its tensors are not docs/learned-policy.md's table")
    # the version 1 form (no checksum) loads unchecked; -o gives it one
    c.loads("shipped-v1", shipped.encode(version=1), shipped, version=1)
    # -o over its own input: a version 1 file becomes version 2 in place
    path = c.write("in-place", shipped.encode(version=1))
    c.cases += 1
    p = c.run(["model", path, "-o", path])
    with open(path, "rb") as f:
        if p.returncode != 0 or f.read() != original:
            c.fail("in-place", f"exit {p.returncode}, not the shipped model's bytes: {p.stderr}")
    # entries in any order: the loader finds them by name
    rev = shipped.copy()
    rev.config, rev.vectors, rev.tensors = rev.config[::-1], rev.vectors[::-1], rev.tensors[::-1]
    c.loads("shipped-reversed", rev.encode(), rev)
    # unknown body keys are ignored (attn.h), before the three and after them
    c.loads("unknown-keys", shipped.encode(first=[(pk("aaa"), pk({"x": [1, 2]}))],
                                           extra=[(pk("zzz"), pk(None))]), shipped, out=False)


def check_sizes(c):
    """Models of other sizes from the page's table load and are summarised."""
    made = [("small-postln-relu", dict(D=4, L=1, S=4, M=8, H=2, B=1, pre_ln=0, gelu=0)),
            ("wide-preln-gelu", dict(D=8, L=3, S=5, M=12, H=3, B=3, pre_ln=1, gelu=1,
                                     prior=2.5, set_changes_only=1)),
            ("deepest", dict(D=2, L=8, S=2, M=4, H=4, B=8, pre_ln=1, gelu=0, prior=1,
                             prior_path=0.25, set_changes_only=0)),
            ("one-head", dict(D=1, L=1, S=1, M=1, H=1, B=1, pre_ln=0, gelu=1)),
            ("prior-ends", dict(D=3, L=2, S=3, M=6, H=2, B=2, pre_ln=1, gelu=1,
                                prior=1e30, prior_path=PRIOR_MIN))]
    models = {}
    for i, (name, sizes) in enumerate(made):
        m = made_model(100 + i, **sizes)
        models[name] = m
        if c.wide or i % 2 == 0:
            c.loads("size-" + name, m.encode(), m)
    return models


def check_header(c, m):
    c.refused("magic", m.encode(magic="weft-modex"), "not a weft model file", with_out=True)
    c.refused("magic-other-type", pk(7) + pk(2) + pk({}), "not a weft model file")
    for v in (0, 3, 99):
        c.refused(f"version-{v}", m.encode(version=v, checksum=False),
                  f"model format version {v}, this build reads versions 1 and 2")
        if c.wide:
            c.refused(f"version-{v}-checksummed", m.encode(version=v, checksum=True),
                      f"model format version {v}, this build reads versions 1 and 2")
    # learned-policy.md 6: version 1 holding the checksum entry is a damaged version byte
    c.refused("version-1-with-sha256", m.encode(version=1, checksum=True), "version")


def check_checksum(c, m, wide):
    good = m.encode()
    c.refused("v2-without-sha256", m.encode(checksum=False), "sha256")
    # "sha256" first, or not last: misplaced
    digest = hashlib.sha256(b"").digest()
    c.refused("sha256-first", m.encode(checksum=False,
                                       first=[(pk("sha256"), pk(digest))]), "sha256")
    not_last = bytearray(good)
    at = len(pk(MAGIC)) + 1
    not_last[at] += 1  # one more body entry, after the checksum
    c.refused("sha256-not-last", bytes(not_last) + pk("zzz") + pk(1), "sha256")
    c.refused("sha256-short", good[:-34] + b"\xc4\x1f" + good[-31:], "sha256")
    # a bit off in the stored digest, first and last byte: both digests shown
    for at in (len(good) - 32, len(good) - 1):
        bad = bytearray(good)
        bad[at] ^= 0x01
        stored = bytes(bad[-32:]).hex()
        c.refused(f"digest-bit-{at}", bytes(bad), "checksum mismatch", stored,
                  hashlib.sha256(good[:-41]).hexdigest())
    # a changed weight: refused unless the checksum is recomputed
    name, shape, data = m.tensors[-3]
    changed = m.set_tensor(name, data=f32([as_f32(struct.unpack("<f", data[:4])[0] + 0.5)]) +
                           data[4:])
    c.loads("weight-changed-resummed", changed.encode(), changed)
    recomputed = changed.encode()
    c.refused("weight-changed", recomputed[:-32] + good[-32:], "checksum mismatch",
              with_out=True)
    step = 97 if wide else 39989
    for at in range(len(pk(MAGIC)) + 1, len(good), step):
        bad = bytearray(good)
        bad[at] ^= 1 << (at % 8)
        c.refused(f"bit-{at}", bytes(bad))


def check_cuts(c, m, wide):
    good = m.encode()
    n = len(good)
    offsets = {0, 5, 11, 12, 40, n // 2, n - 41, n - 33, n - 1}
    if wide:
        offsets |= {1, 13, n - 42, n - 40, n - 32}
    if wide:
        offsets |= set(range(0, n, max(1, n // 600))) | set(range(n - 60, n))
    for at in sorted(offsets):
        c.refused(f"cut-{at}", good[:at], with_out=at == n // 2)
    c.refused("trailing-byte", good + b"\x00")
    c.refused("trailing-model", good + good)
    c.refused("v1-trailing", m.encode(version=1) + pk(1), "byte")


def check_structure(c, m):
    """Damage to the structure: duplicates, lengths, shapes, types, names."""
    def plus(field, *items):
        more = m.copy()
        setattr(more, field, getattr(more, field) + list(items))
        return more.encode()

    body = m.body_entries()
    twice = pk(MAGIC) + pk(2) + map_header(5) + b"".join(k + v for k, v in body)
    twice += body[0][0] + body[0][1]
    twice += pk("sha256") + pk(hashlib.sha256(twice).digest())
    name, shape, data = m.tensors[7]  # a vector
    mat, mat_shape, _ = m.tensors[1]  # a matrix
    cases = [
        ("duplicate-int", plus("config", ("gnn.F", 20)), ["gnn.F"]),
        ("body-not-map", pk(MAGIC) + pk(2) + pk([1, 2]), []),
        ("duplicate-tensor", plus("tensors", m.tensors[4]), [m.tensors[4][0]]),
        ("duplicate-vector", plus("vectors", m.vectors[0]), [m.vectors[0][0]]),
        ("data-short", m.set_tensor(name, data=data[:-4]).encode(), [name]),
        ("duplicate-body-key", twice, ["config"]),
        ("shape-wrong", m.set_tensor(mat, shape=mat_shape[::-1]).encode(),
         [mat, str(mat_shape[::-1]), str(mat_shape)]),
        ("data-long", m.set_tensor(name, data=data + data[:4]).encode(), [name]),
        ("dims-9", plus("tensors", ("extra.nine", [1] * 9, f32([0]))), ["extra.nine", "9"]),
        ("data-odd-bytes", m.set_tensor(name, data=data[:-1]).encode(), [name]),
        ("dim-of-0", plus("tensors", ("extra.zero", [3, 0], b"")), ["extra.zero"]),
        ("shape-flattened", m.set_tensor(mat, shape=[math.prod(mat_shape)]).encode(), [mat]),
        ("int-as-string", m.set_int("attn.B", "2").encode(), ["attn.B"]),
        ("dims-0", plus("tensors", ("extra.zero", [], b"")), ["extra.zero"]),
        ("vector-odd-bytes", m.set_vector("feat.mean", b"\0" * 79).encode(), ["feat.mean"]),
        ("dim-negative", m.set_tensor(name, shape=[-shape[0]]).encode(), [name]),
        ("name-64", plus("tensors", ("n" * (NAME_MAX + 1), [1], f32([0]))), ["64"]),
        ("int-as-float", m.set_int("attn.B", 2.0).encode(), ["attn.B"]),
        ("data-as-string", m.set_tensor(name, data="x" * len(data)).encode(), [name]),
        ("vector-as-list", m.set_vector("feat.mean", [0.0] * 20).encode(), ["feat.mean"]),
        ("name-empty", plus("config", ("", 1)), ["empty"]),
    ]
    for label, data, wants in c.pick(cases):
        c.refused(label, data, *wants)
    # at the caps of a tensor's dimensions and a name's length: loads
    for label, extra in c.pick((("dims-8", ("extra.eight", [1] * 8, f32([0]))),
                                ("name-63", ("n" * NAME_MAX, [1], f32([0]))))):
        ok = m.copy()
        ok.tensors = ok.tensors + [extra]
        c.loads(label, ok.encode(), ok)
    # an unknown key is ignored, but its objects count: containers nested 8
    # deep (the body map the first, then 7 arrays) load, 9 do not; 2^20
    # objects in all are too many
    value = 0
    for _ in range(7):
        value = [value]
    c.loads("unknown-nested-8", m.encode(extra=[(pk("zzz"), pk(value))]), m, out=False)
    c.refused("unknown-nested-9", m.encode(extra=[(pk("zzz"), pk([value]))]), "nested")
    many = array_header(1 << 20) + bytes(1 << 20)
    c.refused("unknown-2^20-objects", m.encode(extra=[(pk("zzz"), many)]), str(1 << 20))


def check_values(c, m):
    name, shape, data = m.tensors[2]
    values = list(struct.unpack("<%df" % (len(data) // 4), data))
    for label, x, idx in (("nan", math.nan, 0), ("inf", math.inf, len(values) - 1),
                          ("minus-inf", -math.inf, 5)):
        bad = values[:]
        bad[idx] = x
        c.refused(f"weight-{label}", m.set_tensor(name, data=f32(bad)).encode(), name,
                  str(idx))
    mean = list(m.vector("feat.mean"))
    mean[3] = math.nan
    c.refused("vector-nan", m.set_vector("feat.mean", f32(mean)).encode(), "feat.mean")
    for fs in c.pick((3, 0, 5)):
        c.refused(f"feature-set-{fs}", m.set_int("learned.feature_set", fs).encode(),
                  f"model's learned.feature_set is {fs}, this build computes feature set 4")
    for k in c.pick(("learned.feature_set", "gnn.D", "attn.M", "attn.gelu")):
        c.refused(f"missing-int-{k}", m.without(k).encode(), k)
    absent = m.without("learned.set_changes_only")
    c.loads("set-changes-only-absent", absent.encode(), absent, out=False)
    for k in c.pick(("feat.mean", "feat.std", "learned.prior", "learned.prior_path")):
        c.refused(f"missing-vector-{k}", m.without(k).encode(), k)
    for k in c.pick((m.tensors[0][0], "attn.blk2.fc2_w", "attn.lnf.g", "attn.head.b")):
        c.refused(f"missing-tensor-{k}", m.without(k).encode(), k)
    # ints out of range (attn.h, gnn.h, the page)
    for k, v in c.pick((("gnn.F", 21), ("gnn.D", 0), ("gnn.L", 0), ("gnn.L", 9), ("gnn.S", -1),
                 ("attn.E", m.int("attn.E") + 1), ("attn.M", 0), ("attn.H", 0),
                 ("attn.H", 3), ("attn.B", 0), ("attn.B", 9), ("attn.pre_ln", 2),
                 ("attn.gelu", -1), ("learned.set_changes_only", 2), ("gnn.D", 1 << 62),
                 ("attn.M", -(1 << 63)))):
        # attn.h's config check names H by its letter: "M=32 is not a multiple of H=3"
        field = "H=" if k == "attn.H" and v else k
        c.refused(f"int-{k}={v}", m.set_int(k, v).encode(), field, str(v))
    # an int in range, whose network needs fewer tensors than the file has:
    # the others are entries it does not read (a checkpoint's are many)
    for k, v in (("attn.B", 1), ("attn.pre_ln", 0), ("gnn.L", 1)):
        if k == "gnn.L":  # fewer layers: a narrower embedding, so other shapes
            c.refused(f"int-{k}={v}", m.set_int(k, v).encode(), "attn.E")
        else:
            fewer = m.set_int(k, v)
            c.loads(f"int-{k}={v}", fewer.encode(), fewer, out=False)
    # priors (docs/training.md: 0, or FLT_MIN .. 1e30 as a float; a path prior needs one)
    for label, prior, path in c.pick((("negative", -1.0, 0.6), ("nan", math.nan, 0.6),
                               ("inf", math.inf, 0.6), ("over", 1e31, 0.6),
                               ("over-float-1e30", 1.0000001e30, 0.6),
                               ("subnormal", 1e-39, 0.6), ("path-negative", 3.0, -0.5),
                               ("path-over", 3.0, 1e31), ("path-without-prior", 0.0, 0.6))):
        bad = m.set_vector("learned.prior", f32([prior])).set_vector(
            "learned.prior_path", f32([path]))
        what = "learned.prior_path" if label.startswith("path") else "learned.prior"
        c.refused(f"prior-{label}", bad.encode(), what)
    two = m.set_vector("learned.prior", f32([3.0, 3.0]))
    c.refused("prior-two-entries", two.encode(), "learned.prior")
    c.refused("prior-empty", m.set_vector("learned.prior", b"").encode(), "learned.prior")
    for label, prior, path in (("zero", 0.0, 0.0), ("ends", 1e30, PRIOR_MIN),
                               ("min", PRIOR_MIN, 0.0)):
        ok = m.set_vector("learned.prior", f32([prior])).set_vector(
            "learned.prior_path", f32([path]))
        c.loads(f"prior-{label}", ok.encode(), ok, out=label == "ends")
    # the normaliser: std > 0, and no feature (log1p <= 709.79) past 1e12
    std = list(m.vector("feat.std"))
    for label, x in c.pick((("tiny", 1e-44), ("negative", -1.0), ("zero", 0.0), ("nan", math.nan))):
        bad = std[:]
        bad[4] = x
        c.refused(f"std-{label}", m.set_vector("feat.std", f32(bad)).encode(), "feat.std")
    mean = list(m.vector("feat.mean"))
    mean[6] = 1e13
    c.refused("mean-huge", m.set_vector("feat.mean", f32(mean)).encode(), "feat.mean")
    c.refused("mean-19", m.set_vector("feat.mean", f32(mean[:19])).encode(), "feat.mean")


def check_caps(c, m):
    """attn.h's caps, cheaply: real entries for the counts, declared sizes
    for the rest."""
    for what, field in c.pick((("tensors", "tensors"), ("vectors", "vectors"),
                               ("config", "config"))):
        for n, ok in ((ENTRY_CAP, True), (ENTRY_CAP + 1, False)):
            big = m.copy()
            have = len(getattr(big, field))
            if field == "config":
                big.config = big.config + [(f"x.{i}", i) for i in range(n - have)]
            elif field == "vectors":
                big.vectors = big.vectors + [(f"x.{i}", f32([0])) for i in range(n - have)]
            else:
                big.tensors = big.tensors + [(f"x.{i}", [1], f32([0])) for i in range(n - have)]
            if ok:
                c.loads(f"cap-{what}-{n}", big.encode(), big, out=False)
            else:
                c.refused(f"cap-{what}-{n}", big.encode(), what, str(n))
    elems = m.copy()
    elems.tensors = elems.tensors + [("x.big", [1 << 14, (1 << 14) + 1], f32([0]))]
    c.refused("cap-elements", elems.encode(), "x.big")
    # a vector bin declared over the cap, and an array declared of 2^31 tensors
    good = m.encode(checksum=False, version=1)
    at = good.index(pk("feat.mean")) + len(pk("feat.mean"))
    n = len(m.vector("feat.mean")) * 4
    assert good[at:at + 2] == b"\xc4" + bytes([n])
    for size in c.pick((4 * (ELEM_CAP + 1), 1 << 31)):
        c.refused(f"declared-bin-{size}", good[:at] + b"\xc6" + struct.pack(">I", size) +
                  good[at + 2:])
    at = good.index(pk("tensors")) + len(pk("tensors"))
    c.refused("declared-tensors-2^31", good[:at] + b"\xdd" + struct.pack(">I", 1 << 31) +
              good[at + 1:])
    if c.wide:
        c.refused("declared-tensors-4097",
                  good[:at] + b"\xdc" + struct.pack(">H", 4097) + good[at + 1:])
    # a file over 1 GiB: sparse, so it costs no disk
    path = os.path.join(c.tmp, "over-cap.msgpack")
    with open(path, "wb") as f:
        f.write(m.encode())
        f.truncate(FILE_CAP + 1)
    c.refused("cap-file", None, str(FILE_CAP), path=path)
    os.unlink(path)


def check_usage(c):
    good = next(p for n, p, _ in c.loaded if n == "shipped")
    for name, args, status in (("no-file", [], 2), ("two-files", [good, good], 2),
                               ("unknown-option", ["--bogus", good], 2),
                               ("o-without-value", [good, "-o"], 2),
                               ("missing-file", [os.path.join(c.tmp, "none")], 1),
                               ("directory", [c.tmp], 1),
                               ("out-unwritable", [good, "-o", "/nonexistent/dir/x"], 1)):
        c.cases += 1
        p = c.run(["model"] + args)
        if p.returncode != status or not p.stderr.startswith("weft model: "):
            c.fail("usage-" + name, f"exit {p.returncode}, expected {status}: {p.stderr}")
    # OUT is checked before the model is read: a bad model and a bad OUT name OUT
    p = c.run(["model", os.path.join(c.tmp, "magic.msgpack"), "-o", "/nonexistent/dir/x"])
    c.cases += 1
    if p.returncode != 1 or "/nonexistent/dir/x" not in p.stderr:
        c.fail("usage-out-first", f"exit {p.returncode}: {p.stderr}")
    p = c.run(["model", "--help"])
    c.cases += 1
    if p.returncode != 0 or "usage: weft model FILE" not in p.stdout:
        c.fail("usage-help", f"exit {p.returncode}")


def checkpoint(c, wide):
    """A real checkpoint (`weft train`, one iteration) is a model that loads
    with a note; -o keeps its train.* entries."""
    wl = os.path.join(c.tmp, "train.weft")
    out = os.path.join(c.tmp, "train-out")
    p = c.run(["gen", "--shape", "random", "--jobs", "3", "--ports", "4", "--seed", "5",
               "-o", wl])
    q = c.run(["train", wl, "--out", out, "--iters", "1", "--imitate", "0", "--dagger", "0",
               "--checkpoint-every", "1", "--episodes", "1", "--rollouts", "2", "--seed", "1"])
    if p.returncode or q.returncode:
        return c.fail("checkpoint", f"weft gen/train failed: {p.stderr}{q.stderr}")
    path = os.path.join(out, "checkpoint.msgpack")
    with open(path, "rb") as f:
        data = f.read()
    model = model_of(parse(data)[2])
    r = c.loads("checkpoint", data, model)
    if r and "checkpoint" not in r.stdout:
        c.fail("checkpoint", f"the summary does not say it is a checkpoint: {r.stdout}")
    return c.loaded[-1][1] if r else None


def check_sim(c, wide, models, ckpt):
    """weft sim and weft eval run what loads (the shipped model rewritten
    gives the original's schedule) and refuse what does not, as weft model."""
    wl = os.path.join(c.tmp, "sim.weft")
    p = c.run(["gen", "--shape", "random", "--jobs", "6", "--ports", "8", "--seed", "3",
               "-o", wl])
    if p.returncode:
        return c.fail("sim", f"weft gen failed: {p.stderr}")

    def sim(tag, model_path):
        out = os.path.join(c.tmp, "sim-" + tag)
        q = c.run(["sim", wl, "--policy", "learned", "--model", model_path, "--out", out])
        files = {}
        if q.returncode == 0:
            for f in ("learned-coflows.csv", "learned-jobs.csv"):
                with open(os.path.join(out, f)) as fh:
                    files[f] = fh.read()
        return q, files

    c.cases += 1
    _, original = sim("original", SHIPPED)
    by_name = {n: p for n, p, _ in c.loaded}
    for tag in ("shipped", "shipped-v1", "shipped-reversed", "unknown-keys"):
        q, got = sim(tag, by_name[tag])
        if q.returncode != 0 or got != original:
            c.fail("sim-" + tag, f"exit {q.returncode}, a schedule other than the shipped "
                   f"model's: {q.stderr.strip()}")
    c.cases += 1
    q, got = sim("rewritten", os.path.join(c.tmp, "shipped-v1.out.msgpack"))
    if q.returncode != 0 or got != original:
        c.fail("sim-v1-rewritten", f"exit {q.returncode}: {q.stderr.strip()}")
    # a model of other sizes: in any entry order, the same schedule
    for name, m in models.items() if wide else list(models.items())[:2]:
        c.cases += 1
        rev = m.copy()
        rev.tensors = rev.tensors[::-1]
        q1, a = sim(name, c.write("sim-" + name, m.encode()))
        q2, b = sim(name + "-rev", c.write("sim-rev-" + name, rev.encode()))
        if q1.returncode or q2.returncode or a != b:
            c.fail("sim-size-" + name, f"exit {q1.returncode}/{q2.returncode}, same: {a == b}: "
                   f"{q1.stderr.strip()} {q2.stderr.strip()}")
    if ckpt:
        c.cases += 1
        q, _ = sim("checkpoint", ckpt)
        if q.returncode or "checkpoint" not in q.stderr:
            c.fail("sim-checkpoint", f"exit {q.returncode}, no note: {q.stderr.strip()}")
    refused = ["magic", "version-3", "weight-changed", "feature-set-3", "shape-wrong",
               "prior-negative"]
    if wide:
        refused = [os.path.basename(f)[:-8] for f in sorted(os.listdir(c.tmp))
                   if f.endswith(".msgpack") and not f.endswith(".out.msgpack")]
        refused = [r for r in refused if r not in by_name and not r.startswith("sim-")]
    for name in refused:
        path = os.path.join(c.tmp, name + ".msgpack")
        if not os.path.exists(path):
            continue
        c.cases += 1
        said = c.run(["model", path]).stderr.strip()
        if not said.startswith("weft model: "):
            continue
        detail = said[len("weft model: "):]
        q = c.run(["sim", wl, "--policy", "learned", "--model", path])
        if q.returncode != 1 or detail not in q.stderr:
            c.fail("sim-" + name, f"exit {q.returncode}, expected 1 with {detail!r}: "
                   f"{q.stderr.strip()}")
    # weft serve and weft train --init refuse it too, before they start
    # (a serve given a good model would run on: only bad ones here)
    for name, args in (("feature-set-3", ["serve", "--ports", "2", "--token", "t", "--listen",
                                          "127.0.0.1:0", "--policy", "learned", "--model"]),
                       ("weight-changed", ["train", wl, "--out", os.path.join(c.tmp, "t-out"),
                                           "--iters", "1", "--init"])):
        c.cases += 1
        path = os.path.join(c.tmp, name + ".msgpack")
        q = c.run(args + [path])
        if q.returncode != 1 or path not in q.stderr or os.path.exists(
                os.path.join(c.tmp, "t-out")):
            c.fail(f"{args[0]}-{name}", f"exit {q.returncode}: {q.stderr.strip()[-300:]}")
    # weft eval: a model that loads runs, one that does not is refused naming it
    for name, status in c.pick((("shipped", 0), ("size-small-postln-relu", 0),
                                ("feature-set-3", 1), ("weight-changed", 1))):
        c.cases += 1
        path = by_name.get(name) or os.path.join(c.tmp, name + ".msgpack")
        q = c.run(["eval", wl, "--model", path, "--policy", "learned", "--policy", "fifo",
                   "--threads", "1"])
        if q.returncode != status or (status and path not in q.stderr):
            c.fail("eval-" + name, f"exit {q.returncode}, expected {status}: "
                   f"{q.stderr.strip()[-300:]}")


def check_serve(c, ckpt):
    """weft serve --model F, F replaced and SIGHUP: a file weft model refuses
    is refused with its message and the old model's SHA-256 kept, one it takes
    goes live with its own SHA-256 (docs/gateway.md, "The model and its reloads")."""
    live = os.path.join(c.tmp, "live.msgpack")
    shutil.copyfile(SHIPPED, live)
    with open(SHIPPED, "rb") as f:
        deciding = hashlib.sha256(f.read()).hexdigest()
    log_path = os.path.join(c.tmp, "serve.log")
    names = ["feature-set-3", "size-small-postln-relu", "weight-changed", "shipped-v1"]
    if c.wide:
        names = sorted(f[:-8] for f in os.listdir(c.tmp) if f.endswith(".msgpack") and
                       not f.endswith(".out.msgpack") and f not in ("live.msgpack",) and
                       not f.startswith(("sim-", "cap-", "declared-", "unknown-2")))
    files = [(n, os.path.join(c.tmp, n + ".msgpack")) for n in names] + (
        [("checkpoint", ckpt)] if ckpt else [])
    with open(log_path, "w") as log:
        c.runs += 1
        serve = subprocess.Popen([c.weft, "serve", "--ports", "2", "--token", "t", "--listen",
                                  "127.0.0.1:0", "--policy", "learned", "--model", live],
                                 stdout=log, stderr=log, preexec_fn=tied())
    try:
        def next_line(seen):
            for _ in range(500):
                with open(log_path) as f:
                    lines = f.read().splitlines()
                done = [x for x in lines[seen:] if "reloaded" in x or "not reloaded" in x]
                if done:
                    return lines, done[0]
                if serve.poll() is not None:
                    return lines, None
                time.sleep(0.01)
            return lines, None

        for _ in range(500):
            with open(log_path) as f:
                if "listening on" in f.read():
                    break
            time.sleep(0.01)
        else:
            return c.fail("serve", "weft serve did not start listening within 5 s")
        for name, path in files:
            if not os.path.exists(path):
                continue
            c.cases += 1
            said = c.run(["model", path])
            with open(path, "rb") as f:
                data = f.read()
            tmp = live + ".new"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, live)
            with open(log_path) as f:
                seen = len(f.read().splitlines())
            serve.send_signal(1)  # SIGHUP
            lines, line = next_line(seen)
            if line is None:
                c.fail("serve-" + name, f"no reload line; serve {serve.poll()}: {lines[-3:]}")
                break
            if said.returncode == 0:
                deciding = hashlib.sha256(data).hexdigest()
                want = f"model {live} reloaded (sha256 {deciding})"
            else:
                detail = said.stderr.strip().split(path + ": ", 1)[1]
                want = (f"model not reloaded: {live}: {detail}; still deciding with the "
                        f"model loaded before (sha256 {deciding})")
            if want not in line:
                c.fail("serve-" + name, f"expected {want!r}, got {line!r}")
    finally:
        serve.terminate()
        try:
            serve.wait(10)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait()
        with open(log_path) as f:
            log_text = f.read()
        if any(s in log_text for s in SANITIZER_REPORTS):
            c.fail("serve-sanitizer", log_text[-2000:])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weft", default=os.environ.get("WEFT_BIN", "build/weft"))
    ap.add_argument("--wide", action="store_true", help="every offset and sample (slow)")
    ap.add_argument("--every", type=int, default=2, metavar="K",
                    help="without --wide, every K'th case of each family (default 2)")
    ap.add_argument("--keep", help="write the files here and keep them")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if not os.access(args.weft, os.X_OK):
        print(f"model_check: no weft at {args.weft} (WEFT_BIN or --weft)", file=sys.stderr)
        return 2
    tmp = args.keep or tempfile.mkdtemp(prefix="weft-model-check-")
    os.makedirs(tmp, exist_ok=True)
    c = Checker(os.path.abspath(args.weft), tmp, args.verbose, args.wide, max(1, args.every))
    try:
        shipped = read_model(SHIPPED)
        check_shipped(c, shipped)
        models = check_sizes(c)
        check_header(c, shipped)
        check_checksum(c, shipped, args.wide)
        check_cuts(c, shipped, args.wide)
        check_structure(c, shipped)
        check_values(c, shipped)
        check_caps(c, shipped)
        check_usage(c)
        ckpt = checkpoint(c, args.wide)
        check_sim(c, args.wide, models, ckpt)
        check_serve(c, ckpt)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"model_check: {c.cases} cases, {c.runs} runs of weft, "
          f"{len(c.failures)} failed")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
