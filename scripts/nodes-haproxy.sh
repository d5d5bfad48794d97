#!/usr/bin/env bash
# Three `tenantry` nodes on one PostgreSQL database behind HAProxy (from Debian: apt-get install
# haproxy), all on loopback: mixed traffic (scripts/nodes-traffic.py: tokens and refreshes,
# password sign-ins and a throttle burst, invitations accepted into seat-limited orgs, emailed
# links, 2FA codes) goes through the balancer while each node in turn is drained and restarted
# with SIGTERM. Races send the same token to two nodes at once. It prints, per kind of request,
# the count, failures and p99, and fails (exit 1) unless
#   - no request failed (every answer is one the traffic expects), through the rolling restart;
#   - every invariant held: each invitation, verification or reset link and 2FA code used once; no
#     seat-limited org over its limit (also checked in the database afterwards); a reused refresh
#     token refused and its family ended whichever node sees it; one account's sign-in throttle
#     shared by the nodes;
#   - every webhook event reached each of the two endpoints exactly once.
#
# Needs TENANTRY_TEST_DATABASE_URL (a PostgreSQL URL that may create databases); the database it
# creates is dropped afterwards. Knobs: NODES_SECONDS (traffic duration, default 30), NODES_KEEP=1
# keeps the scratch folder (logs, haproxy.cfg, traffic.json), NODES_BIN runs that binary instead of
# building one.
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
traffic_pid=""

cleanup() {
    for pid in $traffic_pid "${pids[@]}" $haproxy_pid $receiver_pid; do kill "$pid" 2>/dev/null || true; done
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

# The webhook receiver: counts each webhook-id per path (one path per endpoint), answers 204.
receiver_port=$(free_port)
"$py" - "$receiver_port" "$tmp/received.json" <<'PY' &
import json, signal, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port, out = int(sys.argv[1]), sys.argv[2]
counts, lock = {}, threading.Lock()
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        key = self.path + "|" + self.headers.get("webhook-id", "")
        with lock:
            counts[key] = counts.get(key, 0) + 1
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

# The traffic's SMTP sink listens here; HAProxy is the only proxy the nodes trust.
smtp_port=$(free_port)
ports=() mgmt=()
start_node() {
    local i=$1
    (cd "$tmp" && exec env TENANTRY_LISTEN="127.0.0.1:${ports[$i]}" \
        TENANTRY_HTTP__MANAGEMENT_LISTEN="127.0.0.1:${mgmt[$i]}" \
        TENANTRY_SMTP_URL="smtp://127.0.0.1:$smtp_port" TENANTRY_HTTP__TRUSTED_PROXIES='["127.0.0.1/32"]' \
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
    option forwardfor
    default_backend tenantry
backend tenantry
    balance roundrobin
    option httpchk GET /readyz
    # A race pins its requests to nodes (x-node); while a node is down, HAProxy picks another.
    use-server n0 if { req.hdr(x-node) -m str n0 }
    use-server n1 if { req.hdr(x-node) -m str n1 }
    use-server n2 if { req.hdr(x-node) -m str n2 }
    http-response set-header x-served-by %s
    server n0 127.0.0.1:${ports[0]} check inter 200ms fall 2 rise 2
    server n1 127.0.0.1:${ports[1]} check inter 200ms fall 2 rise 2
    server n2 127.0.0.1:${ports[2]} check inter 200ms fall 2 rise 2
CFG
haproxy -f "$tmp/haproxy.cfg" -db >"$tmp/haproxy.log" 2>&1 &
haproxy_pid=$!
sleep 1
admin() { "$py" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall((sys.argv[2]+"\n").encode()); print(s.recv(4096).decode().strip())' "$tmp/haproxy.sock" "$1"; }

# Traffic through the balancer for $seconds, in the background; results in traffic.json.
"$py" "$root/scripts/nodes-traffic.py" "http://127.0.0.1:$front" "$key" "http://127.0.0.1:$receiver_port/hook" \
    "$seconds" "$tmp/traffic.json" "$smtp_port" >"$tmp/traffic.log" 2>&1 &
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
wait "$traffic_pid" || { log "the traffic stopped early:"; tail -n 30 "$tmp/traffic.log" >&2; exit 1; }

# Every event since an endpoint was created must reach it (the workers finish after the traffic).
expected_pairs() {
    psql "$db_url" -Atc "SELECT w.url || '|' || e.id FROM outbox_events e JOIN webhook_endpoints w ON e.occurred_at > w.created_at"
}
webhooks=""
for _ in $(seq 1 120); do
    webhooks=$(curl -fsS "http://127.0.0.1:$receiver_port/" | "$py" -c '
import json, sys
from urllib.parse import urlsplit
seen = json.load(sys.stdin)
pairs = [line.split("|") for line in open(sys.argv[1]).read().split()]
expected = {urlsplit(url).path + "|" + event for url, event in pairs}
missing = sum(1 for k in expected if k not in seen)
dups = sum(1 for n in seen.values() if n > 1)
print(json.dumps({"expected": len(expected), "missing": missing, "twice": dups,
                  "endpoints": len({k.split("|")[0] for k in expected})}))' <(expected_pairs))
    [[ $("$py" -c 'import json,sys; print(json.loads(sys.argv[1])["missing"])' "$webhooks") == 0 ]] && break
    sleep 0.5
done
# The seat limits and counts as stored: no org over its limit, every member_count exact.
over=$(psql "$db_url" -Atc "SELECT count(*) FROM orgs o WHERE o.max_users IS NOT NULL
    AND (SELECT count(*) FROM org_members m WHERE m.org_id = o.id) > o.max_users")
miscounted=$(psql "$db_url" -Atc "SELECT count(*) FROM orgs o
    WHERE o.member_count <> (SELECT count(*) FROM org_members m WHERE m.org_id = o.id)")
# The sign-ins' own addresses reached the nodes through HAProxy (X-Forwarded-For): none counted
# against the balancer's address.
forwarded=$(psql "$db_url" -Atc "SELECT count(*) FILTER (WHERE key <> 'login:ip:127.0.0.1') || ' ' ||
    count(*) FILTER (WHERE key = 'login:ip:127.0.0.1') FROM throttles WHERE key LIKE 'login:ip:%'")
report=$("$py" - "$tmp/traffic.json" "$webhooks" "$over" "$miscounted" $forwarded <<'PY'
import json, sys
t, w = json.load(open(sys.argv[1])), json.loads(sys.argv[2])
over, miscounted, clients, balancer = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
print(f"requests {t['requests']}, failed {t['failed']}, p99 {t['p99_ms']} ms")
print(f"{'kind':<44} {'count':>6} {'failed':>6} {'p99 ms':>8}")
for kind, k in t["by_kind"].items():
    print(f"{kind:<44} {k['count']:>6} {k['failed']:>6} {k['p99_ms']:>8}")
bad = t["failed"] > 0
for name, i in t["invariants"].items():
    print(f"invariant: {name}: held {i['held']} of {i['checked']}")
    for v in i["violations"]:
        print(f"  violated: {v}")
    bad |= i["held"] != i["checked"] or i["checked"] == 0
r = t["races"]
print(f"races: {r['races']}, {r['across_nodes']} of them served by two or more nodes; mails received: {t['mails_received']}")
for kind, a in t["race_answers"].items():
    print(f"answers, {kind}: " + ", ".join(f"{n}× {label}" for label, n in sorted(a.items())))
print("throttle bursts (evaluated, refused, seconds): " + ", ".join(map(str, map(tuple, t["throttle_bursts"]))))
print(f"sign-in throttles: {clients} client addresses, {balancer} for the balancer's own")
print(f"database: {over} orgs over their seat limit, {miscounted} with a wrong member_count")
print(f"webhooks: {w['expected']} deliveries due to {w['endpoints']} endpoints, {w['missing']} missing, {w['twice']} delivered more than once")
for f in t["failures"][:20]:
    print("failure:", f)
bad |= over > 0 or miscounted > 0 or clients == 0 or balancer > 0 or w["missing"] > 0 or w["twice"] > 0 or w["endpoints"] != 2
print("RESULT:", "FAIL" if bad else "PASS")
PY
)
echo "$report"
grep -q "RESULT: PASS" <<<"$report" || exit 1
