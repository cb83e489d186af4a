"""A relying party built on Authlib, driven by the Ekdwar tests (same protocol as the Node one):
print the authorization URL, read the callback URL, exchange the code, validate the ID token
against the JWKS, call userinfo, refresh, introspect and revoke."""
import json
import os
import sys

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.common.security import generate_token


def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    issuer = os.environ["ISSUER"]
    meta = requests.get(issuer + "/.well-known/openid-configuration", timeout=10).json()
    assert meta["issuer"] == issuer, meta["issuer"]
    session = OAuth2Session(
        os.environ["CLIENT_ID"], os.environ["CLIENT_SECRET"],
        scope="openid profile email phone portal",
        redirect_uri=os.environ["REDIRECT_URI"],
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    verifier = generate_token(64)
    nonce = generate_token(20)
    url, state = session.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    say({"authorize": url})
    callback = sys.stdin.readline().strip()
    token = session.fetch_token(meta["token_endpoint"], authorization_response=callback, code_verifier=verifier, state=state)
    keys = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    claims = jwt.decode(token["id_token"], keys, claims_options={
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": os.environ["CLIENT_ID"]},
        "nonce": {"essential": True, "value": nonce},
    })
    claims.validate()
    userinfo = session.get(meta["userinfo_endpoint"]).json()
    refreshed = session.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
    reuse = requests.post(meta["token_endpoint"], data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
                          auth=(os.environ["CLIENT_ID"], os.environ["CLIENT_SECRET"]), timeout=10).json().get("error", "accepted")
    introspection = requests.post(meta["introspection_endpoint"], data={"token": refreshed["access_token"]},
                                  auth=(os.environ["CLIENT_ID"], os.environ["CLIENT_SECRET"]), timeout=10).json()
    session.revoke_token(meta["revocation_endpoint"], token=refreshed["access_token"])
    after = requests.post(meta["introspection_endpoint"], data={"token": refreshed["access_token"]},
                          auth=(os.environ["CLIENT_ID"], os.environ["CLIENT_SECRET"]), timeout=10).json()
    say({"claims": dict(claims), "userinfo": userinfo, "refreshed": refreshed["refresh_token"] != token["refresh_token"],
         "reuse": reuse, "introspection": introspection, "revoked": not after["active"]})


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # report to the test instead of a bare traceback
        import traceback
        say({"error": repr(e), "trace": traceback.format_exc()[-600:]})
        sys.exit(1)
