#!/usr/bin/env bash
# Three `tenantry` nodes on one PostgreSQL database behind HAProxy (from Debian: apt-get install
# haproxy), all on loopback: mixed traffic goes through the balancer while each node in turn is
# drained and restarted with SIGTERM. It prints request and error counts and the p99, and fails
# (exit 1) unless
#   - no request failed (every answer is one the traffic expects), through the rolling restart;
#   - the seat-limited org never has more members than its limit;
#   - a reused refresh token is refused, and ends its session, whichever node sees it;
#   - every webhook event in the outbox reached the receiver (duplicates are counted: delivery is
#     at least once).
#
# Needs TENANTRY_TEST_DATABASE_URL (a PostgreSQL URL that may create databases); the database it
# creates is dropped afterwards. Knobs: NODES_SECONDS (traffic duration, default 30), NODES_KEEP=1
# keeps the scratch folder (logs, haproxy.cfg), NODES_BIN runs that binary instead of building one.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
log() { echo "nodes-haproxy.sh: $*" >&2; }

admin_url="${TENANTRY_TEST_DATABASE_URL:?set TENANTRY_TEST_DATABASE_URL to a PostgreSQL URL}"
command -v haproxy >/dev/null || { log "haproxy is not installed (apt-get install haproxy)"; exit 2; }
seconds="${NODES_SECONDS:-30}"
venv=$("$root/scripts/peers-venv.sh")
py="$venv/bin/python"

if [[ -n "${NODES_BIN:-}" ]]; then
    bin="$NODES_BIN"
else
    log "building the tenantry binary"
    cargo build --quiet -p tenantry-server --bin tenantry
    target_dir=$(cargo metadata --format-version 1 --no-deps | "$py" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    bin="$target_dir/debug/tenantry"
fi

tmp=$(mktemp -d)
db="tenantry_haproxy_$(date +%s)_$$"
db_url="${admin_url%/*}/$db"
pids=()
haproxy_pid=""
receiver_pid=""

cleanup() {
    for pid in "${pids[@]}" $haproxy_pid $receiver_pid; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    psql "$admin_url" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || log "could not drop $db"
    if [[ "${NODES_KEEP:-0}" == 1 ]]; then log "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

psql "$admin_url" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE \"$db\"" >/dev/null
export TENANTRY_DATABASE_URL="$db_url" TENANTRY_LOG_LEVEL=warn TENANTRY_WEBHOOKS__ALLOW_PRIVATE_TARGETS=true
unset TENANTRY_CONFIG TENANTRY_SMTP_URL TENANTRY_WORKERS_ENABLED
(cd "$tmp" && "$bin" migrate >/dev/null)
key=$(cd "$tmp" && "$bin" api-key create --name nodes-haproxy)

# The webhook receiver: counts each webhook-id, answers 204.
receiver_port=$(free_port)
"$py" - "$receiver_port" "$tmp/received.json" <<'PY' &
import json, signal, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port, out = int(sys.argv[1]), sys.argv[2]
counts, lock = {}, threading.Lock()
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        with lock:
            counts[self.headers.get("webhook-id", "")] = counts.get(self.headers.get("webhook-id", ""), 0) + 1
        self.send_response(204); self.end_headers()
    def do_GET(self):
        with lock:
            body = json.dumps(counts).encode()
        self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
receiver_pid=$!

ports=() mgmt=()
start_node() {
    local i=$1
    (cd "$tmp" && exec env TENANTRY_LISTEN="127.0.0.1:${ports[$i]}" \
        TENANTRY_HTTP__MANAGEMENT_LISTEN="127.0.0.1:${mgmt[$i]}" \
        "$bin" serve >>"$tmp/node$i.log" 2>&1) &
    pids[$i]=$!
    for _ in $(seq 1 300); do
        curl -fsS "http://127.0.0.1:${ports[$i]}/readyz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    log "node $i did not become ready"; exit 1
}
for i in 0 1 2; do ports[$i]=$(free_port); mgmt[$i]=$(free_port); start_node "$i"; done

front=$(free_port)
cat >"$tmp/haproxy.cfg" <<CFG
global
    stats socket $tmp/haproxy.sock mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch 1
    option http-buffer-request
    retry-on conn-failure empty-response response-timeout
frontend api
    bind 127.0.0.1:$front
    default_backend tenantry
backend tenantry
    balance roundrobin
    option httpchk GET /readyz
    server n0 127.0.0.1:${ports[0]} check inter 200ms fall 2 rise 2
    server n1 127.0.0.1:${ports[1]} check inter 200ms fall 2 rise 2
    server n2 127.0.0.1:${ports[2]} check inter 200ms fall 2 rise 2
CFG
haproxy -f "$tmp/haproxy.cfg" -db >"$tmp/haproxy.log" 2>&1 &
haproxy_pid=$!
sleep 1
admin() { "$py" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall((sys.argv[2]+"\n").encode()); print(s.recv(4096).decode().strip())' "$tmp/haproxy.sock" "$1"; }

# Traffic through the balancer for $seconds, in the background; results in traffic.json.
"$py" - "http://127.0.0.1:$front" "$key" "http://127.0.0.1:$receiver_port/hook" "$seconds" "$tmp/traffic.json" <<'PY' &
import json, sys, threading, time, uuid
import requests
base, key, hook, seconds, out = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]
auth = {"authorization": f"Bearer {key}"}
lock = threading.Lock()
latencies, failures, counts = [], [], {}
def call(kind, method, path, expect, headers=auth, body=None):
    started = time.monotonic()
    try:
        r = requests.request(method, base + path, json=body, headers=headers, timeout=30)
        status, text = r.status_code, r.text
    except Exception as e:
        status, text = None, repr(e)
    with lock:
        latencies.append(time.monotonic() - started)
        counts[kind] = counts.get(kind, 0) + 1
        if status not in expect:
            failures.append({"kind": kind, "status": status, "body": text[:300]})
    return status, (r.json() if status and text and status != 204 else {})
call("setup", "POST", "/api/backend/v1/webhooks/endpoints", (201,), body={"url": hook})
_, org = call("setup", "POST", "/api/backend/v1/orgs", (201,), body={"name": "Seats", "max_users": 5})
org_id = org["org_id"]
deadline = time.monotonic() + seconds
reuse = {"refused": 0, "family_ended": 0, "checked": 0}
added = [0]
def users():
    while time.monotonic() < deadline:
        _, u = call("create user", "POST", "/api/backend/v1/users", (201,), body={"email": f"{uuid.uuid4()}@example.com", "email_verified": True})
        if not u: continue
        _, t = call("mint tokens", "POST", f"/api/backend/v1/users/{u['user_id']}/access-token", (200,), body={})
        if not t: continue
        _, r1 = call("refresh", "POST", "/api/v1/token/refresh", (200,), headers={}, body={"refresh_token": t["refresh_token"]})
        if not r1: continue
        s, _ = call("reused refresh", "POST", "/api/v1/token/refresh", (401,), headers={}, body={"refresh_token": t["refresh_token"]})
        s2, _ = call("refresh after reuse", "POST", "/api/v1/token/refresh", (401,), headers={}, body={"refresh_token": r1["refresh_token"]})
        with lock:
            reuse["checked"] += 1; reuse["refused"] += s == 401; reuse["family_ended"] += s2 == 401
def seats():
    while time.monotonic() < deadline:
        _, u = call("create user", "POST", "/api/backend/v1/users", (201,), body={"email": f"{uuid.uuid4()}@example.com"})
        if u:
            s, _ = call("add member (seat-limited)", "POST", f"/api/backend/v1/orgs/{org_id}/members", (201, 409), body={"user_id": u["user_id"], "role": "Member"})
            with lock:
                added[0] += s == 201
threads = [threading.Thread(target=users) for _ in range(3)] + [threading.Thread(target=seats) for _ in range(2)]
for t in threads: t.start()
for t in threads: t.join()
_, org = call("check", "GET", f"/api/backend/v1/orgs/{org_id}", (200,))
latencies.sort()
p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else 0
json.dump({"requests": len(latencies), "by_kind": counts, "failures": failures, "p99_ms": round(p99 * 1000, 1),
           "members": org.get("member_count"), "added": added[0], "max_users": 5, "reuse": reuse}, open(out, "w"), indent=1)
PY
traffic_pid=$!

sleep 3
for i in 0 1 2; do
    log "rolling restart: draining and restarting node $i"
    admin "set server tenantry/n$i state drain" >/dev/null
    sleep 1
    kill -TERM "${pids[$i]}"
    wait "${pids[$i]}" || true
    start_node "$i"
    admin "set server tenantry/n$i state ready" >/dev/null
    sleep 2
done
wait "$traffic_pid"

# Every event in the outbox must reach the receiver (the workers finish after the traffic).
ok=1
for _ in $(seq 1 120); do
    expected=$(psql "$db_url" -Atc "SELECT count(*) FROM outbox_events")
    missing=$(curl -fsS "http://127.0.0.1:$receiver_port/" | "$py" -c '
import json, subprocess, sys
seen = json.load(sys.stdin)
ids = subprocess.run(["psql", sys.argv[1], "-Atc", "SELECT id FROM outbox_events"], capture_output=True, text=True).stdout.split()
print(sum(1 for i in ids if i not in seen))' "$db_url")
    [[ "$missing" == 0 ]] && break
    sleep 0.5
done
report=$("$py" - "$tmp/traffic.json" "$receiver_port" "$expected" "$missing" <<'PY'
import json, sys, urllib.request
t = json.load(open(sys.argv[1]))
seen = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[2]}/"))
dups = sum(1 for n in seen.values() if n > 1)
print(f"requests {t['requests']}, failed {len(t['failures'])}, p99 {t['p99_ms']} ms; by kind {t['by_kind']}")
print(f"seat-limited org: {t['members']} members of at most {t['max_users']} ({t['added']} adds answered 201)")
print(f"refresh reuse: {t['reuse']}")
print(f"webhooks: {sys.argv[3]} events, {sys.argv[4]} missing, {dups} delivered more than once")
for f in t["failures"][:20]: print("failure:", f)
bad = t["failures"] or t["members"] > t["max_users"] or t["members"] != t["added"] or sys.argv[4] != "0" \
    or t["reuse"]["refused"] != t["reuse"]["checked"] or t["reuse"]["family_ended"] != t["reuse"]["checked"]
print("RESULT:", "FAIL" if bad else "PASS")
PY
)
echo "$report"
grep -q "RESULT: PASS" <<<"$report" || ok=0
[[ $ok == 1 ]] || exit 1
