"""The mixed traffic of scripts/nodes-haproxy.sh: it runs through the balancer for a while and
writes what it saw (per kind of request: count, failures, p99; each invariant: how often it was
checked and held) as JSON.

    python nodes-traffic.py BASE API_KEY HOOK_URL SECONDS OUT SMTP_PORT

BASE is HAProxy's frontend. A request with `x-node: nK` goes to node K while it is up (the
balancer's `use-server` rule; HAProxy sends it elsewhere while K restarts), which is how a race
sends the same token to two nodes at once; every answer names the node that served it
(`x-served-by`). Clients that sign in come from their own loopback address (HAProxy passes it on
in `X-Forwarded-For`, which the nodes trust from HAProxy), as many users do, so only the throttle
check's own burst meets the per-address limits. The emails (invitations, verification and reset
links) arrive at an SMTP sink in this process.

Kinds of traffic, each in its own thread until the time is up:
  - tokens: mint, refresh on one node, present the spent token on a second (401), the rotated one
    on a third (401: the reuse ended the family);
  - seats: backend adds into a 5-seat org (201 until full, then 409);
  - sign-ins: password sign-in (200), a wrong password (401), refresh;
  - throttle: 15 wrong passwords for one account at once, 5 through each node: the account's limit
    (5 free attempts, then 1 s, 2 s, 4 s … between attempts) is shared, so about 5 are evaluated
    and the rest refused with 429, not 15 evaluated;
  - invites: an org of 3 seats, 3 invitations (a 4th is 409 org-full); each invitee sends its
    token to two nodes at once while 3 backend adds race them: each token is accepted exactly once,
    every add is refused (the invitations hold the seats), the org ends with 3 members;
  - links: a verification link, or a password reset link, sent to two nodes at once: exactly one
    wins; after a reset the new password signs in;
  - 2FA: enroll (the otpauth URI, pyotp for the code), confirm, two password sign-ins (202 each,
    two pending sign-ins), then the same next code for both, through two nodes at once: accepted
    once.
"""

import email
import email.policy
import itertools
import json
import math
import random
import re
import sys
import threading
import time
import uuid

import pyotp
import requests
from aiosmtpd.controller import Controller
from requests.adapters import HTTPAdapter

base, key, hook, seconds, out, smtp_port = sys.argv[1:7]
seconds, smtp_port = float(seconds), int(smtp_port)
NODES = ["n0", "n1", "n2"]
B = "/api/backend/v1"
U = "/api/v1"
KEY = {"authorization": f"Bearer {key}"}

lock = threading.Lock()
stats = {}  # kind -> {"count", "failed", "latencies"}
failures = []
invariants = {}  # name -> {"checked", "held", "violations": [...]}
spread = {"races": 0, "across_nodes": 0}  # races, and how many of them more than one node served
answers = {}  # kind of race -> {"200": n, "409 invite-accepted": m, …}
bursts = []  # each throttle burst: (evaluated, refused, seconds)


def invariant(name, held, detail=None):
    with lock:
        i = invariants.setdefault(name, {"checked": 0, "held": 0, "violations": []})
        i["checked"] += 1
        if held:
            i["held"] += 1
        elif len(i["violations"]) < 10:
            i["violations"].append(detail)


# ---- clients: each from its own loopback address -------------------------------------------

class FromAddress(HTTPAdapter):
    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


_addresses = itertools.count()


def client():
    """A session from a loopback address of its own (127.2.1.1, 127.2.1.2, …)."""
    n = next(_addresses)
    address = f"127.{2 + n // 62500}.{1 + n // 250 % 250}.{1 + n % 250}"
    s = requests.Session()
    s.mount("http://", FromAddress(address))
    return s


# The backend's calls: a connection each (requests' module-level functions), safe from any thread.
backend = requests


def call(s, kind, method, path, expect, token=None, body=None, node=None):
    """One request; answers (status, json body, serving node, problem code). A status outside
    `expect` (or no answer) is a failure."""
    headers = dict(KEY) if token is None else ({"authorization": f"Bearer {token}"} if token else {})
    if node:
        headers["x-node"] = node
    started = time.monotonic()
    try:
        r = s.request(method, base + path, json=body, headers=headers, timeout=30)
        status, text, served = r.status_code, r.text, r.headers.get("x-served-by")
    except Exception as e:  # noqa: BLE001 - any transport error is a failed request
        status, text, served = None, repr(e), None
    elapsed = time.monotonic() - started
    data = {}
    if status and text and status != 204:
        try:
            data = json.loads(text)
        except ValueError:
            data = {}
    # The problem type's last segment (`urn:tenantry:problem:org-full` → `org-full`).
    code = re.split(r"[/:]", data.get("type", ""))[-1] if status and status >= 400 and isinstance(data, dict) else None
    with lock:
        st = stats.setdefault(kind, {"count": 0, "failed": 0, "latencies": []})
        st["count"] += 1
        st["latencies"].append(elapsed)
        if status not in expect:
            st["failed"] += 1
            failures.append({"kind": kind, "status": status, "node": served, "body": text[:300]})
    return status, data, served, code


def race(calls):
    """Runs the calls at once (released together by a barrier); answers their results in order."""
    results = [None] * len(calls)
    gate = threading.Barrier(len(calls))

    def run(i):
        gate.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with lock:
        spread["races"] += 1
        spread["across_nodes"] += len({r[2] for r in results if r and r[2]}) > 1
    return results


def tally(kind, results):
    """Counts a race's answers by status and problem code, for the report."""
    with lock:
        a = answers.setdefault(kind, {})
        for r in results:
            label = f"{r[0]} {r[3]}" if r[3] else str(r[0])
            a[label] = a.get(label, 0) + 1


def two_nodes():
    return random.sample(NODES, 2)


def new_email(tag):
    return f"{tag}-{uuid.uuid4().hex[:16]}@example.com"


def new_password():
    return f"Tenantry-nodes-{uuid.uuid4().hex}"


def create_user(email_address, verified=True, password=None):
    body = {"email": email_address, "email_verified": verified}
    if password:
        body["password"] = password
    _, u, _, _ = call(backend, "create user", "POST", f"{B}/users", (201,), body=body)
    return u.get("user_id")


def mint(user_id):
    _, t, _, _ = call(backend, "mint tokens", "POST", f"{B}/users/{user_id}/access-token", (200,), body={})
    return t


# ---- the SMTP sink -------------------------------------------------------------------------

class Mailbox:
    """Keeps the token of each link mailed to an address, newest last."""

    def __init__(self):
        self.cond = threading.Condition()
        self.tokens = {}
        self.received = 0

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain", "html"))
        text = body.get_content() if body is not None else ""
        found = re.findall(r"token=([A-Za-z0-9_.~%-]+)", text)
        with self.cond:
            self.received += 1
            for rcpt in envelope.rcpt_tos:
                self.tokens.setdefault(rcpt.lower(), []).extend(found[:1])
            self.cond.notify_all()
        return "250 Message accepted for delivery"

    def token(self, address, timeout=30.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.tokens.get(address.lower()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.tokens[address.lower()][-1]


mailbox = Mailbox()
smtp = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
smtp.start()


def mailed(kind, address):
    token = mailbox.token(address)
    invariant("every mailed link arrived", token is not None, {"kind": kind, "to": address.split("@")[0]})
    return token


# ---- setup -----------------------------------------------------------------------------------

for path in ("a", "b"):
    call(backend, "setup", "POST", f"{B}/webhooks/endpoints", (201,), body={"url": f"{hook}/{path}"})
_, seat_org, _, _ = call(backend, "setup", "POST", f"{B}/orgs", (201,), body={"name": "Seats", "max_users": 5})
seat_org_id = seat_org["org_id"]
deadline = time.monotonic() + seconds
added = [0]
accepted_total = [0]


def running():
    return time.monotonic() < deadline


# ---- the kinds of traffic --------------------------------------------------------------------

def tokens():
    while running():
        user_id = create_user(new_email("tok"))
        t = mint(user_id) if user_id else None
        if not t:
            continue
        a, b, c = random.sample(NODES, 3)
        _, r1, _, _ = call(backend, "refresh", "POST", f"{U}/token/refresh", (200,), token="",
                           body={"refresh_token": t["refresh_token"]}, node=a)
        if not r1:
            continue
        s, _, _, _ = call(backend, "reused refresh (another node)", "POST", f"{U}/token/refresh", (401,), token="",
                          body={"refresh_token": t["refresh_token"]}, node=b)
        s2, _, _, _ = call(backend, "refresh after reuse (a third node)", "POST", f"{U}/token/refresh", (401,),
                           token="", body={"refresh_token": r1["refresh_token"]}, node=c)
        invariant("a reused refresh token is refused and ends its family, across nodes", s == 401 and s2 == 401,
                  {"reuse": s, "after": s2})


def seats():
    while running():
        user_id = create_user(new_email("seat"), verified=False)
        if user_id:
            s, _, _, _ = call(backend, "add member (5-seat org)", "POST", f"{B}/orgs/{seat_org_id}/members",
                              (201, 409), body={"user_id": user_id, "role": "Member"})
            with lock:
                added[0] += s == 201


def sign_ins():
    while running():
        address, password = new_email("login"), new_password()
        if not create_user(address, password=password):
            continue
        s = client()
        _, login, _, _ = call(s, "password sign-in", "POST", f"{U}/login", (200,), token="",
                              body={"email": address, "password": password})
        call(s, "wrong password", "POST", f"{U}/login", (401,), token="",
             body={"email": address, "password": password + "x"})
        if login:
            call(s, "refresh", "POST", f"{U}/token/refresh", (200,), token="",
                 body={"refresh_token": login["tokens"]["refresh_token"]})


def throttle():
    while running():
        address, password = new_email("throttle"), new_password()
        if create_user(address, password=password):
            started = time.monotonic()
            # Each attempt from an address of its own: only the account's limit applies.
            results = race([
                (lambda node: lambda: call(client(), "wrong password (throttle burst)", "POST", f"{U}/login", (401, 429),
                                           token="", body={"email": address, "password": "wrong-" + password},
                                           node=node))(NODES[i % 3])
                for i in range(15)
            ])
            elapsed = time.monotonic() - started
            evaluated = sum(1 for r in results if r[0] == 401)
            refused = sum(1 for r in results if r[0] == 429)
            served = {r[2] for r in results}
            # 5 free attempts, then one more each time the delay (1 s, 2 s, 4 s …) runs out.
            bound = 5 + int(math.log2(elapsed + 1))
            tally("throttle burst (15 wrong passwords, 5 per node)", results)
            with lock:
                bursts.append((evaluated, refused, round(elapsed, 2)))
            invariant("a burst of wrong passwords over the nodes meets one shared limit",
                      evaluated <= bound and refused == 15 - evaluated,
                      {"evaluated": evaluated, "refused": refused, "bound": bound, "nodes": sorted(map(str, served))})
        # A few bursts a run: each takes 5 password hashes.
        for _ in range(50):
            if running():
                time.sleep(0.1)


def invites():
    n = 0
    while running():
        n += 1
        _, org, _, _ = call(backend, "create org", "POST", f"{B}/orgs", (201,),
                            body={"name": f"Invites {n}", "max_users": 3})
        if not org:
            continue
        org_id = org["org_id"]
        invitees = []
        for _ in range(3):
            address = new_email("invitee")
            user_id = create_user(address, verified=False)
            t = mint(user_id) if user_id else None
            s, _, _, _ = call(backend, "create invite", "POST", f"{B}/orgs/{org_id}/invites", (201,),
                              body={"email": address})
            if t and s == 201:
                invitees.append((address, t["access_token"]))
        s, _, _, code = call(backend, "create invite (org full)", "POST", f"{B}/orgs/{org_id}/invites", (409,),
                             body={"email": new_email("late")})
        invariant("an invitation beyond the seats is refused (org-full)", s == 409 and code == "org-full",
                  {"status": s, "code": code})
        mailed_tokens = [(address, access, mailed("invite", address)) for address, access in invitees]
        adders = [create_user(new_email("adder"), verified=False) for _ in range(3)]
        calls, pinned = [], []
        for address, access, token in mailed_tokens:
            if not token:
                continue
            for node in two_nodes():
                calls.append((lambda a, t, nd: lambda: call(
                    client(), "accept invite (same token, two nodes)", "POST", f"{U}/invites/accept",
                    (200, 404, 409, 410), token=a, body={"token": t}, node=nd))(access, token, node))
                pinned.append(token)
        for user_id in adders:
            if user_id:
                calls.append(lambda u=user_id: call(backend, "add member (racing invites)", "POST",
                                                    f"{B}/orgs/{org_id}/members", (409,),
                                                    body={"user_id": u, "role": "Member"}))
        results = race(calls)
        accepts = results[:len(pinned)]
        tally("accept invite (same token, two nodes)", accepts)
        tally("add member (racing invites)", results[len(pinned):])
        for token in set(pinned):
            wins = [r for r, t in zip(accepts, pinned) if t == token and r[0] == 200]
            invariant("each invitation is accepted exactly once, though sent to two nodes at once", len(wins) == 1,
                      {"wins": len(wins), "answers": [(r[0], r[3], r[2]) for r, t in zip(accepts, pinned) if t == token]})
        adds_won = sum(1 for r in results[len(pinned):] if r[0] == 201)
        _, after, _, _ = call(backend, "check", "GET", f"{B}/orgs/{org_id}", (200,))
        members = after.get("member_count")
        wins = sum(1 for r in accepts if r[0] == 200)
        with lock:
            accepted_total[0] += wins
        invariant("a 3-seat org never holds more than 3 members (accepts racing adds)",
                  members is not None and members <= 3 and members == wins + adds_won and adds_won == 0,
                  {"members": members, "accepts": wins, "adds": adds_won})


def links():
    n = 0
    while running():
        n += 1
        s = client()
        if n % 2:
            address = new_email("verify")
            if not create_user(address, verified=False):
                continue
            call(s, "ask for a verification link", "POST", f"{U}/email/verify/resend", (202,), token="",
                 body={"email": address})
            token = mailed("verification", address)
            if not token:
                continue
            results = race([(lambda nd: lambda: call(client(), "verify email (same link, two nodes)", "POST",
                                                     f"{U}/email/verify", (200, 404, 410), token="",
                                                     body={"token": token}, node=nd))(nd) for nd in two_nodes()])
            tally("verify email (same link, two nodes)", results)
            wins = [r for r in results if r[0] == 200]
            invariant("an email verification link works once, though sent to two nodes at once", len(wins) == 1,
                      {"answers": [(r[0], r[3], r[2]) for r in results]})
        else:
            address, password, new = new_email("reset"), new_password(), new_password()
            if not create_user(address, password=password):
                continue
            call(s, "ask for a reset link", "POST", f"{U}/password/forgot", (202,), token="",
                 body={"email": address})
            token = mailed("reset", address)
            if not token:
                continue
            results = race([(lambda nd: lambda: call(client(), "reset password (same link, two nodes)", "POST",
                                                     f"{U}/password/reset", (204, 404, 410), token="",
                                                     body={"token": token, "password": new}, node=nd))(nd)
                            for nd in two_nodes()])
            tally("reset password (same link, two nodes)", results)
            wins = [r for r in results if r[0] == 204]
            invariant("a password reset link works once, though sent to two nodes at once", len(wins) == 1,
                      {"answers": [(r[0], r[3], r[2]) for r in results]})
            s2, _, _, _ = call(s, "password sign-in", "POST", f"{U}/login", (200,), token="",
                               body={"email": address, "password": new})
            invariant("the new password signs in after the reset", s2 == 200, {"status": s2})


def two_factor():
    while running():
        address, password = new_email("mfa"), new_password()
        if not create_user(address, password=password):
            continue
        s = client()
        _, login, _, _ = call(s, "password sign-in", "POST", f"{U}/login", (200,), token="",
                              body={"email": address, "password": password})
        if not login:
            continue
        access = login["tokens"]["access_token"]
        _, enrollment, _, _ = call(s, "2FA enroll", "POST", f"{U}/me/mfa/enroll", (201,), token=access)
        if not enrollment:
            continue
        totp = pyotp.parse_uri(enrollment["otpauth_uri"])
        step = int(time.time()) // 30
        _, codes, _, _ = call(s, "2FA confirm", "POST", f"{U}/me/mfa/confirm", (200,), token=access,
                              body={"code": totp.at(step * 30)})
        if not codes:
            continue
        pending = []
        for _ in range(2):
            st, p, _, _ = call(s, "password sign-in (2FA: a code follows)", "POST", f"{U}/login", (202,), token="",
                               body={"email": address, "password": password})
            if st == 202:
                pending.append(p["pending_token"])
        if len(pending) != 2:
            continue
        # The next step's code: newer than the one the confirmation spent, and within the ±1 step
        # the server accepts.
        code = totp.at((step + 1) * 30)
        nodes = two_nodes()
        results = race([(lambda p, nd: lambda: call(client(), "2FA code (same code, two nodes)", "POST",
                                                    f"{U}/login/second-factor", (200, 401), token="",
                                                    body={"pending_token": p, "code": code}, node=nd))(p, nd)
                        for p, nd in zip(pending, nodes)])
        tally("2FA code (same code, two nodes)", results)
        wins = [r for r in results if r[0] == 200]
        invariant("a 2FA code is accepted once, though sent to two nodes at once", len(wins) == 1,
                  {"answers": [(r[0], r[3], r[2]) for r in results]})


workers = [tokens, tokens, seats, sign_ins, throttle, invites, links, two_factor]
threads = [threading.Thread(target=w, name=w.__name__) for w in workers]
for t in threads:
    t.start()
for t in threads:
    t.join()

_, org, _, _ = call(backend, "check", "GET", f"{B}/orgs/{seat_org_id}", (200,))
members = org.get("member_count")
invariant("the 5-seat org never holds more than 5 members (racing adds)",
          members is not None and members <= 5 and members == added[0], {"members": members, "added": added[0]})
smtp.stop()


def p99(values):
    values = sorted(values)
    return round(values[max(0, math.ceil(len(values) * 0.99) - 1)] * 1000, 1) if values else 0.0


everything = [x for st in stats.values() for x in st["latencies"]]
json.dump({
    "requests": len(everything),
    "failed": len(failures),
    "p99_ms": p99(everything),
    "by_kind": {k: {"count": v["count"], "failed": v["failed"], "p99_ms": p99(v["latencies"])}
                for k, v in sorted(stats.items())},
    "failures": failures[:50],
    "invariants": invariants,
    "mails_received": mailbox.received,
    "invites_accepted": accepted_total[0],
    "races": spread,
    "race_answers": answers,
    "throttle_bursts": bursts,
}, open(out, "w"), indent=1)
