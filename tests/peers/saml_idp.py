"""A SAML 2.0 identity provider for Tenantry's tests: pysaml2 signing with the xmlsec1 command.

Reads one JSON job on stdin and writes one JSON answer on stdout:

    {"idp": {"entity_id", "sso_url", "key", "cert"},          # PEM files
     "sp": {"entity_id", "acs"},
     "responses": [{"name", "now", "in_response_to", "name_id", "attributes",
                    "sign_response", "sign_assertion", "sha1", "key", "cert",
                    "audience", "destination", "issuer", "mutation",
                    "encrypt_cert", "encrypt_alg", "key_transport"}, ...]}
    -> {"metadata": "<EntityDescriptor …>", "responses": {"name": "base64 of the Response"}}

`now` (unix seconds) is the instant the IdP believes it is, so a test can issue a response at the
server's manual clock. `key`/`cert` sign with another key (that key's cert then sits in KeyInfo).
`encrypt_cert` (the SP's encryption certificate, base64 of DER) encrypts the assertion (AES-256-CBC
and RSA-OAEP unless `encrypt_alg`/`key_transport` say otherwise), after signing it; the Response is
signed over the ciphertext. `mutation` splices the signed XML as an attacker would, without re-serialising it (which would
break canonicalisation): see MUTATIONS. pysaml2 costs about 1.7 s to start, so one process makes
every response a test needs.

`python saml_idp.py keygen DIR` writes DIR/idp.key and DIR/idp.crt (RSA 2048, self-signed).

`python saml_idp.py serve PORT KEY CERT [PUBLIC_HOST]` is the same IdP over HTTP, for a browser
(tests/browser): it listens on 127.0.0.1:PORT (0: a free port), prints `ready <base URL>` once it
listens, and serves
  GET  /metadata  its metadata (entity id <base>/metadata, SSO URL <base>/sso, both bindings);
  GET  /sso       an SP's AuthnRequest on the HTTP-Redirect binding. The SP is the request's Issuer,
                  whose metadata is fetched from that URL (Tenantry's SP entity id is its metadata
                  URL) and checked by pysaml2 with the request. A person already signed in here (the
                  IdP's cookie) gets the answer at once; anyone else first signs in with the form
                  (email, first and last name: a test IdP trusts what it is told);
  POST /login     that form;
and answers with a page whose form POSTs the signed Response (InResponseTo the request) and the
RelayState to the SP's ACS: submitted by a script, or by its button when scripts are off.
`PUBLIC_HOST` (default 127.0.0.1) is the host name its URLs use: `localhost` makes the IdP another
site than a Tenantry on 127.0.0.1, as a real IdP is.
"""

import base64
import datetime as _dt
import functools
import html
import http.cookies
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import warnings
import zlib

warnings.simplefilter("ignore")

_OFFSET = [0.0]
_real_gmtime = time.gmtime


def _gmtime(secs=None):
    return _real_gmtime(time.time() + _OFFSET[0] if secs is None else secs)


time.gmtime = _gmtime


class _ShiftedDatetime(_dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return _dt.datetime.now(tz) + _dt.timedelta(seconds=_OFFSET[0])

    @classmethod
    def utcnow(cls):
        return _dt.datetime.utcnow() + _dt.timedelta(seconds=_OFFSET[0])


import saml2.entity  # noqa: E402
import saml2.time_util  # noqa: E402
from saml2 import sigver  # noqa: E402

saml2.time_util.datetime = _ShiftedDatetime

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT  # noqa: E402
from saml2.config import IdPConfig  # noqa: E402
from saml2.metadata import create_metadata_string  # noqa: E402
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID  # noqa: E402
from saml2.server import Server  # noqa: E402

XMLSEC = "/usr/bin/xmlsec1"
SHA256 = ("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "http://www.w3.org/2001/04/xmlenc#sha256")
SHA1 = ("http://www.w3.org/2000/09/xmldsig#rsa-sha1", "http://www.w3.org/2000/09/xmldsig#sha1")


def keygen(directory):
    os.makedirs(directory, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", os.path.join(directory, "idp.key"),
         "-out", os.path.join(directory, "idp.crt"), "-days", "3650", "-subj", "/CN=test-idp.local"],
        check=True, capture_output=True)


def sp_metadata(entity_id, acs):
    return f"""<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity_id}">
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:AssertionConsumerService Binding="{BINDING_HTTP_POST}" Location="{acs}" index="0"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>"""


def idp_config(idp, key, cert, sps):
    cfg = IdPConfig()
    cfg.load({
        "entityid": idp["entity_id"],
        "xmlsec_binary": XMLSEC,
        "key_file": key,
        "cert_file": cert,
        "service": {"idp": {
            "endpoints": {"single_sign_on_service": [(idp["sso_url"], BINDING_HTTP_REDIRECT),
                                                     (idp["sso_url"], BINDING_HTTP_POST)]},
            "policy": {"default": {"lifetime": {"minutes": 5}, "attribute_restrictions": None,
                                   "name_form": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"}},
            "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
        }},
        "metadata": {"inline": [sp_metadata(e, a) for e, a in sps]},
    })
    return cfg


ASSERTION = re.compile(r"<(?P<p>[A-Za-z0-9_]+):Assertion\b.*?</(?P=p):Assertion>", re.S)


def _evil(assertion, name_id):
    """An unsigned copy of `assertion` for another subject, with a new ID."""
    evil = re.sub(r"<(?P<p>[A-Za-z0-9_]+):Signature\b.*?</(?P=p):Signature>", "", assertion, count=1, flags=re.S)
    evil = re.sub(r'ID="[^"]+"', 'ID="_evil0000000000000000000000000001"', evil, count=1)
    return re.sub(r"(<(?P<p>[A-Za-z0-9_]+):NameID\b[^>]*>)[^<]*(</(?P=p):NameID>)",
                  lambda m: m.group(1) + name_id + m.group(3), evil, count=1)


def mutate(xml, mutation, evil_name_id):
    """Splices the signed response as an attacker would (docs/security.md, SAML)."""
    if mutation in (None, "", "none"):
        return xml
    m = ASSERTION.search(xml)
    assertion = m.group(0)
    before, after = xml[:m.start()], xml[m.end():]
    if mutation == "evil_before":  # an unsigned evil assertion before the signed one
        return before + _evil(assertion, evil_name_id) + assertion + after
    if mutation == "nested":  # the signed assertion nested inside an evil one
        evil = _evil(assertion, evil_name_id)
        close = evil.rindex("</")
        return before + evil[:close] + assertion + evil[close:] + after
    if mutation == "extensions":  # the signed one moved into Extensions, an evil one in its place
        p = re.search(r"<([A-Za-z0-9_]+):Response\b", xml).group(1)
        issuer_end = before.index("</", before.index(":Issuer")) 
        issuer_end = before.index(">", issuer_end) + 1
        ext = f"<{p}:Extensions>{assertion}</{p}:Extensions>"
        return before[:issuer_end] + ext + before[issuer_end:] + _evil(assertion, evil_name_id) + after
    if mutation == "object":  # the signed one wrapped in a ds:Object of the evil one's signature
        evil = _evil(assertion, evil_name_id)
        close = evil.rindex("</")
        obj = ('<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:Object>'
               + assertion + "</ds:Object></ds:Signature>")
        return before + evil[:close] + obj + evil[close:] + after
    if mutation == "duplicate":  # the same signed assertion twice (duplicate IDs)
        return before + assertion + assertion + after
    if mutation == "comment":  # a comment inside the NameID: the signature still holds
        return re.sub(r"(<(?P<p>[A-Za-z0-9_]+):NameID\b[^>]*>)([^<@]*@[^<.]*\.[^<.]*)", r"\g<1>\g<3><!---->", xml,
                      count=1)
    if mutation == "tamper":  # the NameID edited after signing
        return re.sub(r"(<(?P<p>[A-Za-z0-9_]+):NameID\b[^>]*>)[^<]*", lambda mm: mm.group(1) + evil_name_id, xml,
                      count=1)
    if mutation == "doctype":
        decl_end = xml.index("?>") + 2 if xml.startswith("<?xml") else 0
        return xml[:decl_end] + '<!DOCTYPE r [<!ENTITY e "x">]>' + xml[decl_end:]
    raise SystemExit(f"unknown mutation {mutation}")


# ---- HTTP mode (`serve`) ----

IDP_COOKIE = "test_idp_person"


def _page(title, body):
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
            f'<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>').encode()


def _request_issuer(saml_request):
    """The Issuer of a deflated, base64 AuthnRequest (read before pysaml2 knows the SP)."""
    xml = zlib.decompress(base64.b64decode(saml_request), -15)
    m = re.search(rb"<(?:[A-Za-z0-9_]+:)?Issuer\b[^>]*>([^<]+)</", xml)
    if not m:
        raise ValueError("the AuthnRequest has no Issuer")
    return m.group(1).decode().strip()


class _Idp:
    def __init__(self, base, key, cert):
        self.base, self.key, self.cert = base, key, cert
        self.idp = {"entity_id": base + "/metadata", "sso_url": base + "/sso"}
        self.servers = {}
        self.lock = threading.Lock()
        config = IdPConfig()
        config.load({
            "entityid": self.idp["entity_id"], "xmlsec_binary": XMLSEC, "key_file": key, "cert_file": cert,
            "service": {"idp": {"endpoints": {"single_sign_on_service": [
                (self.idp["sso_url"], BINDING_HTTP_REDIRECT), (self.idp["sso_url"], BINDING_HTTP_POST)]},
                "name_id_format": [NAMEID_FORMAT_EMAILADDRESS]}},
        })
        self.metadata = create_metadata_string(None, config=config, sign=False)

    def server_for(self, sp_entity_id):
        """A pysaml2 IdP that knows the SP, from the SP's metadata at its entity id."""
        with self.lock:
            if sp_entity_id not in self.servers:
                if not sp_entity_id.startswith(("http://", "https://")):
                    raise ValueError(f"cannot fetch the metadata of SP {sp_entity_id!r}")
                with urllib.request.urlopen(sp_entity_id, timeout=10) as r:
                    sp_metadata = r.read().decode()
                cfg = IdPConfig()
                cfg.load({
                    "entityid": self.idp["entity_id"], "xmlsec_binary": XMLSEC, "key_file": self.key,
                    "cert_file": self.cert,
                    "service": {"idp": {
                        "endpoints": {"single_sign_on_service": [(self.idp["sso_url"], BINDING_HTTP_REDIRECT)]},
                        "policy": {"default": {"lifetime": {"minutes": 5}, "attribute_restrictions": None,
                                               "name_form": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"}},
                        "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                    }},
                    "metadata": {"inline": [sp_metadata]},
                })
                self.servers[sp_entity_id] = Server(config=cfg)
            return self.servers[sp_entity_id]

    def answer(self, saml_request, relay_state, person):
        """The auto-submitting form that carries the signed Response to the SP's ACS."""
        srv = self.server_for(_request_issuer(saml_request))
        req = srv.parse_authn_request(saml_request, BINDING_HTTP_REDIRECT)
        args = srv.response_args(req.message, [BINDING_HTTP_POST])
        identity = {"email": [person["email"]]}
        if person.get("first_name"):
            identity["givenName"] = [person["first_name"]]
        if person.get("last_name"):
            identity["sn"] = [person["last_name"]]
        resp = srv.create_authn_response(
            identity=identity, in_response_to=args["in_response_to"], destination=args["destination"],
            sp_entity_id=args["sp_entity_id"],
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=person["email"]),
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"},
            sign_response=True, sign_assertion=True, sign_alg=SHA256[0], digest_alg=SHA256[1])
        encoded = base64.b64encode(str(resp).encode()).decode()
        fields = f'<input type="hidden" name="SAMLResponse" value="{html.escape(encoded)}">'
        if relay_state:
            fields += f'<input type="hidden" name="RelayState" value="{html.escape(relay_state)}">'
        body = (f'<p>Signing you in to the service as {html.escape(person["email"])}.</p>'
                f'<form method="post" action="{html.escape(args["destination"])}">{fields}'
                '<noscript><button type="submit">Continue to the service</button></noscript></form>'
                '<script>document.forms[0].submit()</script>')
        return _page("Signing you in", body)


def _login_form(saml_request, relay_state):
    hidden = f'<input type="hidden" name="SAMLRequest" value="{html.escape(saml_request)}">'
    if relay_state:
        hidden += f'<input type="hidden" name="RelayState" value="{html.escape(relay_state)}">'
    field = lambda name, label, kind: (f'<p><label for="{name}">{label}</label><br>'
                                       f'<input id="{name}" name="{name}" type="{kind}"></p>')
    return _page("Test identity provider", '<form method="post" action="/login">' + hidden
                 + field("idp_email", "Email at the identity provider", "email")
                 + field("idp_first_name", "First name at the identity provider", "text")
                 + field("idp_last_name", "Last name at the identity provider", "text")
                 + '<p><button type="submit">Sign in at the identity provider</button></p></form>')


def serve(port, key, cert, public_host):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), None)
    base = f"http://{public_host}:{httpd.server_address[1]}"
    idp = _Idp(base, key, cert)

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            sys.stderr.write("saml_idp: " + (fmt % args) + "\n")

        def send(self, status, body, content_type="text/html; charset=utf-8", cookie=None):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            if cookie:
                self.send_header("Set-Cookie", cookie)
            self.end_headers()
            self.wfile.write(body)

        def person(self):
            jar = http.cookies.SimpleCookie(self.headers.get("Cookie", ""))
            if IDP_COOKIE not in jar:
                return None
            try:
                return json.loads(base64.urlsafe_b64decode(jar[IDP_COOKIE].value).decode())
            except ValueError:
                return None

        def respond(self, saml_request, relay_state, person, cookie=None):
            try:
                self.send(200, idp.answer(saml_request, relay_state, person), cookie=cookie)
            except Exception as e:  # noqa: BLE001 - a test peer says what went wrong
                self.send(400, _page("The request was refused", f"<p>{html.escape(repr(e))}</p>"))

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(url.query))
            if url.path == "/metadata":
                self.send(200, idp.metadata.encode() if isinstance(idp.metadata, str) else idp.metadata,
                          "application/samlmetadata+xml")
            elif url.path == "/sso" and q.get("SAMLRequest"):
                person = self.person()
                if person:
                    self.respond(q["SAMLRequest"], q.get("RelayState"), person)
                else:
                    self.send(200, _login_form(q["SAMLRequest"], q.get("RelayState")))
            else:
                self.send(404, _page("Not found", ""))

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            if self.path != "/login" or not form.get("SAMLRequest") or not form.get("idp_email"):
                self.send(400, _page("Fill in the email", ""))
                return
            person = {"email": form["idp_email"].strip(), "first_name": form.get("idp_first_name", "").strip(),
                      "last_name": form.get("idp_last_name", "").strip()}
            value = base64.urlsafe_b64encode(json.dumps(person).encode()).decode()
            cookie = f"{IDP_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax"
            self.respond(form["SAMLRequest"], form.get("RelayState"), person, cookie)

    httpd.RequestHandlerClass = Handler
    print(f"ready {base}", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass


def _session_key_for_aes():
    """pysaml2 asks xmlsec1 for a triple-DES session key whatever the template says: an AES-256 one."""
    ctx = sigver.SecurityContext
    if getattr(ctx.encrypt_assertion, "_aes", False):
        return
    plain = ctx.encrypt_assertion

    def encrypt_assertion(self, statement, enc_key, template, key_type="des-192", node_xpath=None):
        return plain(self, statement, enc_key, template, key_type="aes-256", node_xpath=node_xpath)

    encrypt_assertion._aes = True
    ctx.encrypt_assertion = encrypt_assertion


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "keygen":
        keygen(sys.argv[2])
        return
    if len(sys.argv) in (5, 6) and sys.argv[1] == "serve":
        serve(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5] if len(sys.argv) == 6 else "127.0.0.1")
        return
    job = json.load(sys.stdin)
    idp, sp = job["idp"], job["sp"]
    extra_sps = {r["audience"] for r in job.get("responses", []) if r.get("audience")}
    sps = [(sp["entity_id"], sp["acs"])] + [(e, sp["acs"]) for e in sorted(extra_sps) if e != sp["entity_id"]]
    servers = {}

    def server(key, cert):
        if (key, cert) not in servers:
            servers[(key, cert)] = Server(config=idp_config(idp, key, cert, sps))
        return servers[(key, cert)]

    base = idp_config(idp, idp["key"], idp["cert"], sps)
    answer = {"metadata": create_metadata_string(None, config=base, sign=False).decode(), "responses": {}}
    for r in job.get("responses", []):
        _OFFSET[0] = r["now"] - time.time() if r.get("now") else 0.0
        srv = server(r.get("key") or idp["key"], r.get("cert") or idp["cert"])
        sign_alg, digest_alg = SHA1 if r.get("sha1") else SHA256
        identity = {k: v if isinstance(v, list) else [v] for k, v in (r.get("attributes") or {}).items()}
        kwargs = {}
        if r.get("issuer"):
            kwargs["issuer"] = r["issuer"]
        if r.get("encrypt_cert"):  # the SP's encryption certificate (base64 DER): encrypt the assertion
            saml2.entity.pre_encryption_part = functools.partial(
                sigver.pre_encryption_part,
                msg_enc=r.get("encrypt_alg") or "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
                key_enc=r.get("key_transport") or "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p")
            kwargs.update(encrypt_assertion=True, encrypt_cert_assertion=r["encrypt_cert"],
                          encrypt_assertion_self_contained=True)
            _session_key_for_aes()
        resp = srv.create_authn_response(
            identity=identity, in_response_to=r.get("in_response_to"),
            destination=r.get("destination") or sp["acs"], sp_entity_id=r.get("audience") or sp["entity_id"],
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=r["name_id"]),
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"},
            sign_response=bool(r.get("sign_response", True)), sign_assertion=bool(r.get("sign_assertion", True)),
            sign_alg=sign_alg, digest_alg=digest_alg, **kwargs)
        xml = str(resp)
        xml = mutate(xml, r.get("mutation"), r.get("evil_name_id", "evil@attacker.test"))
        answer["responses"][r["name"]] = base64.b64encode(xml.encode()).decode()
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
