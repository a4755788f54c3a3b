#!/usr/bin/env python3
"""A registry token service on 127.0.0.1 for the bearer-token test (the `WWW-Authenticate:
Bearer realm=…` handshake of the distribution registry): GET /token?service=…&scope=…
with basic auth USER:PASSWORD answers {"token": JWT}, the JWT signed RS256 with KEY and
carrying CERT in its x5c header, as the registry's `auth: token:` config verifies it.
usage: token-server.py PORT USER:PASSWORD KEY CERT ISSUER"""
import base64, http.server, json, os, subprocess, sys, time, urllib.parse

os.closerange(3, os.sysconf("SC_OPEN_MAX"))
port, credentials, key, cert, issuer = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"], check=True, capture_output=True).stdout


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        sys.stderr.write("token: " + (args[0] % args[1:]) + "\n")

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        given = self.headers.get("Authorization", "")
        if given != "Basic " + base64.b64encode(credentials.encode()).decode():
            self.send_response(401)
            self.end_headers()
            return
        query = urllib.parse.parse_qs(url.query)
        access = []
        for scope in query.get("scope", []):
            kind, name, actions = scope.split(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
        claims = {"iss": issuer, "sub": credentials.split(":")[0], "aud": query.get("service", [""])[0],
                  "exp": now + 300, "nbf": now - 10, "iat": now, "jti": str(now), "access": access}
        signing = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing.encode(),
                                   check=True, capture_output=True).stdout
        body = json.dumps({"token": signing + "." + b64url(signature)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = http.server.HTTPServer(("127.0.0.1", port), Handler)
print("ready", os.getpid(), flush=True)
server.serve_forever()
