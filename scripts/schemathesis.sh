#!/usr/bin/env bash
# Fuzzes Tenantry's HTTP API with schemathesis, against a real `tenantry` server and the OpenAPI
# document it serves. Runs once on a fresh SQLite database and, when TENANTRY_TEST_DATABASE_URL is
# set (a PostgreSQL URL the tests may create databases with), once more on a fresh PostgreSQL
# database that is dropped afterwards.
#
# Each run creates a backend API key (`tenantry api-key create`) and a user with an access token,
# and gives schemathesis each credential for the security scheme that declares it. Operations that
# end those credentials (revoking keys or sessions, logging out) are fuzzed in a separate pass.
#
# Fails (exit 1) when schemathesis finds anything: a 5xx, an undocumented status, a response that
# does not match its schema, content type or headers. Each failure is printed with a curl
# reproducer; reports and server logs go to target/schemathesis/<engine>/.
#
# To look past schema mismatches for server errors only, with more cases:
#   SCHEMATHESIS_MAX_EXAMPLES=300 SCHEMATHESIS_ARGS="--exclude-checks response_schema_conformance
#   --continue-on-failure" scripts/schemathesis.sh
#
# Knobs (environment):
#   SCHEMATHESIS_MAX_EXAMPLES  test cases per operation and phase (default 30)
#   SCHEMATHESIS_SEED          random seed (default 1, so runs are repeatable)
#   SCHEMATHESIS_ENGINES       "sqlite postgres" (default: sqlite, plus postgres when configured)
#   SCHEMATHESIS_ARGS          extra arguments for `schemathesis run`, e.g. "--checks all"
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-30}"
seed="${SCHEMATHESIS_SEED:-1}"
checks="not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance"
report_root="$root/target/schemathesis"

log() { echo "schemathesis.sh: $*" >&2; }

venv=$("$root/scripts/peers-venv.sh")
py="$venv/bin/python"

log "building the tenantry binary"
cargo build --quiet -p tenantry-server --bin tenantry
target_dir=$(cargo metadata --format-version 1 --no-deps | "$py" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target_dir/debug/tenantry"

tmp=$(mktemp -d)
server_pid=""
fuzz_db=""
admin_url="${TENANTRY_TEST_DATABASE_URL:-}"

stop_server() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}

drop_fuzz_db() {
    if [[ -n "$fuzz_db" ]]; then
        psql "$admin_url" -v ON_ERROR_STOP=1 -qc "DROP DATABASE IF EXISTS \"$fuzz_db\" WITH (FORCE)" >/dev/null \
            || log "could not drop database $fuzz_db"
        fuzz_db=""
    fi
}

cleanup() {
    stop_server
    drop_fuzz_db
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Runs one schemathesis pass against the server on port $3 with the config file $4 (credentials
# per security scheme); $1 and $2 name the engine and the pass for logs and reports; further
# arguments go to `schemathesis run`.
run_schemathesis() {
    local engine=$1 pass=$2 port=$3 config=$4
    shift 4
    log "[$engine/$pass] fuzzing http://127.0.0.1:$port/openapi.json"
    # shellcheck disable=SC2086 # SCHEMATHESIS_ARGS is split on purpose.
    "$venv/bin/schemathesis" --config-file "$config" run "http://127.0.0.1:$port/openapi.json" \
        --checks "$checks" \
        --max-examples "$max_examples" \
        --seed "$seed" \
        --generation-database none \
        --wait-for-schema 30 \
        --request-timeout 30 \
        --report junit --report-dir "$report_root/$engine/$pass" \
        --no-color \
        "$@" ${SCHEMATHESIS_ARGS:-}
}

# Runs the server on database URL $2 and fuzzes it; $1 names the engine for logs and reports.
fuzz() {
    local engine=$1 database_url=$2
    local port reports key status=0
    port=$(free_port)
    reports="$report_root/$engine"
    rm -rf "$reports"
    mkdir -p "$reports"

    # The same environment for the server and the CLI: only TENANTRY_* variables configure them.
    local -a env=(
        env -u TENANTRY_CONFIG
        TENANTRY_DATABASE_URL="$database_url"
        TENANTRY_LISTEN="127.0.0.1:$port"
        TENANTRY_PUBLIC_URL="http://127.0.0.1:$port"
        TENANTRY_LOG_LEVEL=warn
        TENANTRY_LOG_FORMAT=text
        # Cheap Argon2id: fuzzing creates many users with passwords.
        TENANTRY_PASSWORD__MEMORY_KIB=1024
        TENANTRY_PASSWORD__ITERATIONS=1
        # No background delivery: the fuzzer invents webhook endpoint URLs and mail addresses, and
        # nothing may be sent to them. What is fuzzed is the API; delivery has its own tests.
        TENANTRY_WORKERS_ENABLED=false
        # /metrics is not part of the API; no management port to collide with a local one.
        TENANTRY_HTTP__MANAGEMENT_ENABLED=false
    )

    # Run from a scratch folder, so relative paths in the defaults (the master key file, the mail
    # outbox) land there and not in the work tree's data/.
    local work="$tmp/$engine"
    mkdir -p "$work"

    log "[$engine] starting tenantry on 127.0.0.1:$port"
    (cd "$work" && exec "${env[@]}" "$bin" serve) >"$reports/server.log" 2>&1 &
    server_pid=$!
    local deadline=$((SECONDS + 60))
    until curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; do
        if ! kill -0 "$server_pid" 2>/dev/null; then
            log "[$engine] the server exited during start-up:"
            cat "$reports/server.log" >&2
            server_pid=""
            return 1
        fi
        if ((SECONDS > deadline)); then
            log "[$engine] the server did not answer /healthz within 60 s:"
            cat "$reports/server.log" >&2
            return 1
        fi
        sleep 0.2
    done

    key=$(cd "$work" && "${env[@]}" "$bin" api-key create --name fuzz 2>>"$reports/server.log")
    if [[ "$key" != tnt_* ]]; then
        log "[$engine] \`tenantry api-key create\` printed no key:"
        cat "$reports/server.log" >&2
        return 1
    fi

    # Credentials per OpenAPI security scheme, so each operation gets the one it declares: the
    # backend key for BackendKey operations and, when one can be minted, a user's access token for
    # AccessToken operations. Fuzzing may end that user's session (logout, password change,
    # deletion); later end-user cases then only see 401s, which costs depth, not correctness.
    local config="$tmp/schemathesis-$engine.toml" base="http://127.0.0.1:$port" user_id token=""
    printf '[auth.openapi.BackendKey]\nbearer = "%s"\n' "$key" >"$config"
    user_id=$(curl -fsS -X POST "$base/api/backend/v1/users" -H "Authorization: Bearer $key" \
        -H 'Content-Type: application/json' -d '{"email": "fuzz@example.com", "password": "fuzz-password"}' \
        | "$py" -c 'import json, sys; print(json.load(sys.stdin)["user_id"])' 2>/dev/null) || user_id=""
    if [[ -n "$user_id" ]]; then
        token=$(curl -fsS -X POST "$base/api/backend/v1/users/$user_id/access-token" -H "Authorization: Bearer $key" \
            | "$py" -c 'import json, sys; print(json.load(sys.stdin)["access_token"])' 2>/dev/null) || token=""
    fi
    if [[ -n "$token" ]]; then
        printf '[auth.openapi.AccessToken]\nbearer = "%s"\n' "$token" >>"$config"
    else
        log "[$engine] no user access token could be minted; end-user operations are fuzzed unauthenticated"
    fi

    # Two passes. Some operations end the very credentials the fuzzer uses: revoking an API key
    # (the stateful phase follows links from the key listing to DELETE), logging out, revoking
    # sessions. After that every request is a 401 and the rest of the run tests nothing. So the
    # first pass leaves them out, and the second fuzzes them alone, without the stateful phase.
    local ending='^(revoke_api_key|logout|revoke_my_session|revoke_user_sessions)$'
    run_schemathesis "$engine" main "$port" "$config" --phases examples,coverage,fuzzing,stateful \
        --exclude-operation-id-regex "$ending" || status=$?
    run_schemathesis "$engine" ending "$port" "$config" --phases examples,coverage,fuzzing \
        --include-operation-id-regex "$ending" || status=$?

    stop_server
    if ((status != 0)); then
        log "[$engine] schemathesis found problems (exit $status); server log: $reports/server.log"
        if grep -qE 'WARN|ERROR' "$reports/server.log"; then
            log "[$engine] server warnings and errors (first 40 lines):"
            grep -E 'WARN|ERROR' "$reports/server.log" | head -n 40 >&2
        fi
    else
        log "[$engine] no problems found"
    fi
    return "$status"
}

engines="${SCHEMATHESIS_ENGINES:-sqlite${admin_url:+ postgres}}"
failed=()
for engine in $engines; do
    case "$engine" in
        sqlite)
            fuzz sqlite "sqlite://$tmp/tenantry.db" || failed+=(sqlite)
            ;;
        postgres)
            if [[ -z "$admin_url" ]]; then
                log "postgres: set TENANTRY_TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres)"
                failed+=(postgres)
                continue
            fi
            fuzz_db="tenantry_fuzz_$(date +%s)_$RANDOM"
            psql "$admin_url" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE \"$fuzz_db\"" >/dev/null
            db_url=$("$py" - "$admin_url" "$fuzz_db" <<'PY'
import sys
from urllib.parse import urlsplit, urlunsplit
url, name = sys.argv[1], sys.argv[2]
print(urlunsplit(urlsplit(url)._replace(path="/" + name)))
PY
            )
            fuzz postgres "$db_url" || failed+=(postgres)
            drop_fuzz_db
            ;;
        *)
            log "unknown engine: $engine (use sqlite and/or postgres)"
            failed+=("$engine")
            ;;
    esac
done

if ((${#failed[@]} > 0)); then
    log "FAILED on: ${failed[*]}"
    exit 1
fi
log "passed on: $engines"
