#!/usr/bin/env python3
"""Keys and tokens for test_jwt.sh, made with python3-jwcrypto (Debian's).

jwt_tool.py keys DIR          signing keys (ES256, RS256, EdDSA; another EC key for
                              the fetched set), their JWKS (DIR/jwks.json,
                              DIR/jwks-fetch.json), the node's JWE keys
                              (DIR/dec_rsa.pem, DIR/dec_ec.pem)
jwt_tool.py token DIR KIND [SUB [JTI]]   print one token:
  es256 rs256 eddsa         valid, iss https://idp.test, aud app
  fetch                     valid, iss https://fetch.test (key only in jwks-fetch.json)
  jwe-rsa                   an es256 token, then RSA-OAEP-256 + A256GCM to dec_rsa
  jwe-ec                    iss https://enc.test, EdDSA, then ECDH-ES + A256GCM to dec_ec
  enc-plain                 iss https://enc.test signed but not encrypted
  expired nbf wrong-iss wrong-aud none hs-confusion tampered oversized malformed
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import time

from jwcrypto import jwe, jwk, jws


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def load(d, name):
    return jwk.JWK.from_json(open(os.path.join(d, name + ".jwk")).read())


def keys(d):
    os.makedirs(d, exist_ok=True)
    made = {
        "es": jwk.JWK.generate(kty="EC", crv="P-256", kid="es1"),
        "rs": jwk.JWK.generate(kty="RSA", size=2048, kid="rs1"),
        "ed": jwk.JWK.generate(kty="OKP", crv="Ed25519", kid="ed1"),
        "fetch": jwk.JWK.generate(kty="EC", crv="P-256", kid="f1"),
        "dec_rsa": jwk.JWK.generate(kty="RSA", size=2048, kid="d1"),
        "dec_ec": jwk.JWK.generate(kty="EC", crv="P-256", kid="d2"),
    }
    for n, k in made.items():
        open(os.path.join(d, n + ".jwk"), "w").write(k.export())
    pub = [json.loads(made[n].export_public()) for n in ("es", "rs", "ed")]
    json.dump({"keys": pub}, open(os.path.join(d, "jwks.json"), "w"))
    json.dump({"keys": [json.loads(made["fetch"].export_public())]},
              open(os.path.join(d, "jwks-fetch.json"), "w"))
    for n in ("dec_rsa", "dec_ec"):
        open(os.path.join(d, n + ".pem"), "wb").write(
            made[n].export_to_pem(private_key=True, password=None))


def sign(key, alg, claims):
    t = jws.JWS(json.dumps(claims).encode())
    t.add_signature(key, alg, protected={"alg": alg, "kid": json.loads(key.export_public())["kid"], "typ": "JWT"})
    return t.serialize(compact=True)


def encrypt(key, alg, inner):
    t = jwe.JWE(inner.encode(), protected={"alg": alg, "enc": "A256GCM", "cty": "JWT"})
    t.add_recipient(key)
    return t.serialize(compact=True)


def token(d, kind, sub="alice", jti=None):
    now = int(time.time())
    c = {"iss": "https://idp.test", "sub": sub, "aud": "app", "exp": now + 300, "iat": now,
         "grp": ["eng", "ops"]}
    if jti:
        c["jti"] = jti
    es, rs, ed = load(d, "es"), load(d, "rs"), load(d, "ed")
    if kind == "es256":
        return sign(es, "ES256", c)
    if kind == "rs256":
        return sign(rs, "RS256", c)
    if kind == "eddsa":
        return sign(ed, "EdDSA", c)
    if kind == "fetch":
        c["iss"] = "https://fetch.test"
        return sign(load(d, "fetch"), "ES256", c)
    if kind == "jwe-rsa":
        return encrypt(load(d, "dec_rsa"), "RSA-OAEP-256", sign(es, "ES256", c))
    if kind in ("jwe-ec", "enc-plain"):
        c["iss"] = "https://enc.test"
        inner = sign(ed, "EdDSA", c)
        return inner if kind == "enc-plain" else encrypt(load(d, "dec_ec"), "ECDH-ES", inner)
    if kind == "expired":
        c["exp"] = now - 3600
        c["iat"] = now - 7200
        return sign(es, "ES256", c)
    if kind == "nbf":
        c["nbf"] = now + 3600
        return sign(es, "ES256", c)
    if kind == "wrong-iss":
        c["iss"] = "https://evil.test"
        return sign(es, "ES256", c)
    if kind == "wrong-aud":
        c["aud"] = ["other", "more"]
        return sign(es, "ES256", c)
    if kind == "none":
        h = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        return h + "." + b64(json.dumps(c).encode()) + "."
    if kind == "hs-confusion":
        # HS256 keyed with the RSA public key's PEM: what a verifier that lets the
        # token pick the algorithm would accept
        secret = rs.export_to_pem()
        si = b64(json.dumps({"alg": "HS256", "kid": "rs1", "typ": "JWT"}).encode()) + "." + \
            b64(json.dumps(c).encode())
        return si + "." + b64(hmac.new(secret, si.encode(), hashlib.sha256).digest())
    if kind == "tampered":
        t = sign(es, "ES256", c)
        c["sub"] = "root"
        h, _, s = t.split(".")
        return h + "." + b64(json.dumps(c).encode()) + "." + s
    if kind == "oversized":
        c["pad"] = "x" * 4000
        return sign(es, "ES256", c)
    if kind == "malformed":
        return "eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.c2ln"
    raise SystemExit("unknown kind " + kind)


if __name__ == "__main__":
    if sys.argv[1] == "keys":
        keys(sys.argv[2])
    else:
        print(token(sys.argv[2], sys.argv[3], *sys.argv[4:]))
