#!/usr/bin/env python3
"""Independent verifier of an sbie events export (docs/export-format.md).

    scripts/verify-export.py events.jsonl [checkpoint.json [--public-key sbie.pub]]

Prints "OK <events> <head position> <head hash>" and exits 0, or "FAILED <position> <code>: <why>"
and exits 1. With a checkpoint document, also checks that the export holds its hash at its position.
With --public-key (the operator's published FILE.pub: base64 of the 32-byte Ed25519 key), also checks
the checkpoint's format, key_id and Ed25519 signature over its four-line message with that key
(`signature_invalid`, `wrong_key`); this needs the Python package `cryptography` (exit 2 without it).
Without --public-key the signature is not checked (a note on standard error says so).
The chain itself needs only the standard library.
"""
import base64, hashlib, json, re, sys

MEMBERS = ["global_position", "stream_id", "stream_version", "event_id", "event_type", "data", "metadata",
           "occurred_at", "recorded_at", "prev_hash", "hash"]
DEC = json.JSONDecoder(parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
WS = " \t\n\r"
STRINGS = ("stream_id", "event_id", "event_type", "occurred_at", "recorded_at", "prev_hash", "hash")

def members(line):  # member name -> exact value text (between ':' and the next ',' or '}')
    out, i = [], 1
    if not line.startswith("{"): raise ValueError("not a JSON object")
    while True:
        name, i = DEC.raw_decode(line, i)
        if line[i] != ":": raise ValueError("expected ':'")
        start = j = i + 1
        while line[j] in WS: j += 1
        _, j = DEC.raw_decode(line, j)
        while j < len(line) and line[j] in WS: j += 1
        out.append((name, line[start:j]))
        if line[j] == "}":
            if j != len(line) - 1: raise ValueError("text after the object")
            return out
        if line[j] != ",": raise ValueError("expected ','")
        i = j + 1

def field(text):
    b = text.encode("utf-8")
    return len(b).to_bytes(4, "big") + b

def verify(path, watch=()):
    prev, position, versions, heads = bytes(32), 0, {}, {}
    data = open(path, "rb").read()
    lines = data.split(b"\n")
    for raw in lines[:-1]:
        try:
            pairs = members(raw.decode("utf-8"))
            if [n for n, _ in pairs] != MEMBERS: raise ValueError("members must be " + ", ".join(MEMBERS))
            text = dict(pairs)
            v = {n: json.loads(text[n]) for n in MEMBERS if n not in ("data", "metadata")}
            for n in ("global_position", "stream_version"):
                if not re.fullmatch(r"[1-9][0-9]{0,17}", text[n]): raise ValueError(n + " must be a positive integer")
            if not re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", v["event_id"]): raise ValueError("event_id")
            if not re.fullmatch(r"[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z", v["occurred_at"]): raise ValueError("occurred_at")
            if not all(isinstance(v[n], str) and text[n][0] == text[n][-1] == '"' for n in STRINGS): raise ValueError("strings")
            if not all(re.fullmatch(r"[0-9a-f]{64}", v[n]) for n in ("prev_hash", "hash")): raise ValueError("hashes")
            hashed = prev + b"".join(field(x) for x in (text["global_position"], v["stream_id"], text["stream_version"],
                                                      v["event_id"], v["event_type"], text["data"], text["metadata"], v["occurred_at"]))
        except (ValueError, IndexError, UnicodeError, RecursionError) as e:
            return fail(position + 1, "malformed_line", str(e))
        if v["global_position"] != position + 1: return fail(position + 1, "position_out_of_order", "global_position")
        if bytes.fromhex(v["prev_hash"]) != prev: return fail(position + 1, "prev_hash_mismatch", "prev_hash")
        if hashlib.sha256(hashed).digest() != bytes.fromhex(v["hash"]): return fail(position + 1, "hash_mismatch", "hash")
        if v["stream_version"] != versions.get(v["stream_id"], 0) + 1: return fail(position + 1, "stream_version_out_of_order", v["stream_id"])
        versions[v["stream_id"]], prev, position = v["stream_version"], bytes.fromhex(v["hash"]), position + 1
        if position in watch: heads[position] = v["hash"]
    if lines[-1] != b"": fail(position + 1, "malformed_line", "the last line does not end with a line feed")
    return position, prev.hex(), heads

def fail(position, code, why):
    print(f"FAILED {position} {code}: {why}")
    sys.exit(1)

def check_signature(cp, key_path):
    """The checkpoint's Ed25519 signature with the published key (docs/export-format.md)."""
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        print("error: checking the signature needs the Python package cryptography (python3 -m pip install cryptography)", file=sys.stderr)
        sys.exit(2)
    position = cp.get("position")
    try:
        published = base64.b64decode(open(key_path).read().strip(), validate=True)
        if len(published) != 32: raise ValueError("not 32 bytes")
    except (OSError, ValueError) as e:
        print(f"error: {key_path} is not a public key (base64 of 32 bytes): {e}", file=sys.stderr)
        sys.exit(2)
    try:
        if cp.get("format") != "sbie-checkpoint/1": raise ValueError("format must be sbie-checkpoint/1")
        if not isinstance(position, int) or isinstance(position, bool) or position < 0: raise ValueError("position")
        if not re.fullmatch(r"[0-9a-f]{64}", cp.get("hash", "")): raise ValueError("hash")
        if not re.fullmatch(r"[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z", cp.get("signed_at", "")): raise ValueError("signed_at")
        signature = base64.b64decode(cp.get("signature", ""), validate=True)
        if len(signature) != 64: raise ValueError("signature is not 64 bytes")
    except (ValueError, TypeError) as e:
        fail(position if isinstance(position, int) else 0, "malformed_checkpoint", str(e))
    if cp.get("key_id") != hashlib.sha256(published).hexdigest()[:16]:
        fail(position, "wrong_key", f"the checkpoint names key {cp.get('key_id')}, not the published key {hashlib.sha256(published).hexdigest()[:16]}")
    message = f"sbie-checkpoint/1\n{position}\n{cp['hash']}\n{cp['signed_at']}\n".encode("ascii")
    try:
        Ed25519PublicKey.from_public_bytes(published).verify(signature, message)
    except InvalidSignature:
        fail(position, "signature_invalid", "the Ed25519 signature does not verify with the published key")

if __name__ == "__main__":
    args = sys.argv[1:]
    key = None
    if "--public-key" in args:
        i = args.index("--public-key")
        if i + 1 >= len(args):
            print("error: --public-key needs a file", file=sys.stderr)
            sys.exit(2)
        key = args[i + 1]
        del args[i:i + 2]
    if not 1 <= len(args) <= 2 or (key and len(args) < 2):
        print("usage: verify-export.py events.jsonl [checkpoint.json [--public-key FILE.pub]]", file=sys.stderr)
        sys.exit(2)
    cp = json.load(open(args[1])) if len(args) > 1 else None
    if cp and key: check_signature(cp, key)
    position, head, heads = verify(args[0], [cp["position"]] if cp else [])
    if cp:
        if heads.get(cp["position"]) != cp["hash"]:
            fail(cp["position"], "not_in_log", "the export does not hold the checkpoint's hash at its position")
        if not key: print("note: the checkpoint's signature was not checked (give --public-key FILE.pub)", file=sys.stderr)
    print(f"OK {position} {position} {head}")
