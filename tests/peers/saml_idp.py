"""A SAML 2.0 identity provider for Tenantry's tests: pysaml2 signing with the xmlsec1 command.

Reads one JSON job on stdin and writes one JSON answer on stdout:

    {"idp": {"entity_id", "sso_url", "key", "cert"},          # PEM files
     "sp": {"entity_id", "acs"},
     "responses": [{"name", "now", "in_response_to", "name_id", "attributes",
                    "sign_response", "sign_assertion", "sha1", "key", "cert",
                    "audience", "destination", "issuer", "mutation"}, ...]}
    -> {"metadata": "<EntityDescriptor …>", "responses": {"name": "base64 of the Response"}}

`now` (unix seconds) is the instant the IdP believes it is, so a test can issue a response at the
server's manual clock. `key`/`cert` sign with another key (that key's cert then sits in KeyInfo).
`mutation` splices the signed XML as an attacker would, without re-serialising it (which would
break canonicalisation): see MUTATIONS. pysaml2 costs about 1.7 s to start, so one process makes
every response a test needs.

`python saml_idp.py keygen DIR` writes DIR/idp.key and DIR/idp.crt (RSA 2048, self-signed).
"""

import base64
import datetime as _dt
import json
import os
import re
import subprocess
import sys
import time
import warnings

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


import saml2.time_util  # noqa: E402

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


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "keygen":
        keygen(sys.argv[2])
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
