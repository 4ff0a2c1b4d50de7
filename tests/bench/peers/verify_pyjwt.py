"""Verifies the benchmark corpus with PyJWT (Debian's python3-jwt), each key prepared once,
cycling through the tokens for DURATION seconds: signature, algorithm, exp/nbf, issuer and
audience. PyJWT has no settable clock, so the time checks run against the real clock with a
leeway that spans the distance to the corpus's fixed time. Prints one JSON line.
Usage: python3 verify_pyjwt.py DIR [DURATION]"""
import json
import sys
import time

import jwt
from jwt.algorithms import RSAAlgorithm

directory = sys.argv[1]
duration = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
with open(f"{directory}/tokens.txt") as f:
    tokens = f.read().split()
with open(f"{directory}/jwks.json") as f:
    keys = {k["kid"]: RSAAlgorithm.from_jwk(json.dumps(k)) for k in json.load(f)["keys"]}
with open(f"{directory}/expected.json") as f:
    meta = json.load(f)
leeway = abs(meta["now"] - time.time()) + 3600


def verify(token):
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.decode(token, keys[kid], algorithms=["RS256"], audience=meta["audience"],
                      issuer=meta["issuer"], leeway=leeway)


for token in tokens:
    assert meta["role"] in verify(token)["roles"]
count = 0
start = time.perf_counter()
end = start + duration
now = start
while now < end:
    for i in range(64):
        verify(tokens[(count + i) % len(tokens)])
    count += 64
    now = time.perf_counter()
print(json.dumps({"peer": "pyjwt", "verifications": count, "seconds": now - start,
                  "per_second": count / (now - start)}, separators=(",", ":")))
