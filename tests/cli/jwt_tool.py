#!/usr/bin/env python3
"""Helpers for tests/cli/test_cli.sh: crafts tokens byte for byte (so that
hostile shapes such as duplicate members, crit or alg "none" can be built),
decodes segments and reads JSON fields. Standard library only.

  jwt_tool.py hs SECRET_HEX HASH HEADER_JSON PAYLOAD_JSON   HMAC-signed token
  jwt_tool.py unsigned HEADER_JSON PAYLOAD_JSON             token with empty signature
  jwt_tool.py octjwk SECRET_HEX ALG [KID]                   oct JWK for the secret
  jwt_tool.py part TOKEN N                                  decoded segment N (0 or 1)
  jwt_tool.py get JSON_FILE PATH                            value at dotted PATH ("" if absent)
  jwt_tool.py keys JSON_FILE                                sorted member names
  jwt_tool.py random N SEED                                 N lines of random token-like junk
"""
import base64
import hashlib
import hmac
import json
import random
import sys


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def main(argv):
    cmd = argv[1]
    if cmd == "hs":
        key = bytes.fromhex(argv[2])
        signing_input = b64(argv[4].encode()) + "." + b64(argv[5].encode())
        mac = hmac.new(key, signing_input.encode(), getattr(hashlib, argv[3])).digest()
        print(signing_input + "." + b64(mac))
    elif cmd == "unsigned":
        print(b64(argv[2].encode()) + "." + b64(argv[3].encode()) + ".")
    elif cmd == "octjwk":
        jwk = {"kty": "oct", "k": b64(bytes.fromhex(argv[2])), "alg": argv[3]}
        if len(argv) > 4:
            jwk["kid"] = argv[4]
        print(json.dumps(jwk))
    elif cmd == "part":
        sys.stdout.write(unb64(argv[2].strip().split(".")[int(argv[3])]).decode())
    elif cmd == "get":
        with open(argv[2]) as f:
            v = json.load(f)
        for p in argv[3].split(".") if argv[3] else []:
            v = v.get(p) if isinstance(v, dict) else (v[int(p)] if isinstance(v, list) and p.isdigit() and int(p) < len(v) else None)
        if v is None:
            print("")
        elif isinstance(v, str):
            print(v)
        else:
            print(json.dumps(v, separators=(",", ":")))
    elif cmd == "keys":
        with open(argv[2]) as f:
            print(" ".join(sorted(json.load(f).keys())))
    elif cmd == "random":
        rng = random.Random(int(argv[3]))
        alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.=+/ \t{}\"\\\x01\xff"
        for _ in range(int(argv[2])):
            kind = rng.randrange(4)
            if kind == 0:
                s = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 200)))
            elif kind == 1:
                s = ".".join(b64(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 60)))) for _ in range(rng.randrange(1, 6)))
            elif kind == 2:
                hdr = rng.choice(['{"alg":"HS256"}', '{"alg":"none"}', '{"alg":"ES256","kid":1}', '{"alg":"RS256","crit":[]}', '[]', '{"alg":"HS256","alg":"HS256"}', '{"alg":"EdDSA","b64":false}'])
                pl = rng.choice(['{}', '{"exp":1e400}', '{"exp":"1"}', '{"aud":[1]}', '[' * 40 + ']' * 40, '{"a":"\\ud800"}', 'null', '{"exp":-1}'])
                s = b64(hdr.encode()) + "." + b64(pl.encode()) + "." + b64(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 140))))
            else:
                s = "eyJ" + "".join(rng.choice(alphabet[:64]) for _ in range(rng.randrange(0, 400)))
            sys.stdout.buffer.write(s.encode("utf-8", "surrogateescape").replace(b"\n", b"") + b"\n")
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
