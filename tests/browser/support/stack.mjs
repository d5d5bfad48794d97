// The real things a journey runs against: an SMTP sink (aiosmtpd, support/smtp_sink.py) and
// `tenantry serve` (the debug binary cargo builds) on a fresh SQLite database, each on a free
// loopback port, with a backend API key from `tenantry api-key create` for setup steps.
// `startStack()` starts both; `stop()` kills both (by their own process ids) and removes the folder.
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
/** The repository's root. */
export const root = join(here, "..", "..", "..");

/** The `tenantry` binary: TENANTRY_BIN, else the debug build in CARGO_TARGET_DIR (or ~/.cache/tenantry-target). */
export function tenantryBinary() {
  if (process.env.TENANTRY_BIN) return process.env.TENANTRY_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache", "tenantry-target");
  return join(target, "debug", "tenantry");
}

/**
 * The Python with aiosmtpd, in the order the Rust tests use (crates/tenantry-testkit/src/peers.rs):
 * TENANTRY_PEERS_PYTHON, .venv-peers at the root, the venv scripts/peers-venv.sh makes, python3.
 */
export function peersPython() {
  if (process.env.TENANTRY_PEERS_PYTHON) return process.env.TENANTRY_PEERS_PYTHON;
  const local = join(root, ".venv-peers", "bin", "python");
  if (existsSync(local)) return local;
  const shared = join(process.env.TENANTRY_PEERS_VENV ?? join(homedir(), ".cache", "tenantry-peers-venv"), "bin", "python");
  return existsSync(shared) ? shared : "python3";
}

export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (bounded: `attempts` × `ms`) until `ready()` is true; `why()` explains a failure. */
async function until(ready, why, { attempts = 300, ms = 50 } = {}) {
  for (let i = 0; i < attempts; i++) {
    if (await ready()) return;
    await sleep(ms);
  }
  throw new Error(await why());
}

/** A child process that is killed by its id at the end, with its stderr kept for failures. */
function child(command, args, options) {
  const proc = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  proc.stdout.on("data", (chunk) => (output += chunk));
  proc.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise((resolve) => proc.once("exit", resolve));
  return {
    proc,
    output: () => output,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** The mail the sink received, one JSON record per message (support/smtp_sink.py). */
export class Mailbox {
  constructor(dir) {
    this.dir = dir;
  }

  /** Every message so far, oldest first: [{ seq, to, subject, text, html }]. */
  async all() {
    const names = (await readdir(this.dir).catch(() => [])).filter((n) => n.endsWith(".json")).sort();
    return Promise.all(
      names.map(async (n) => ({ seq: Number(n.slice(0, -5)), ...JSON.parse(await readFile(join(this.dir, n), "utf8")) })),
    );
  }

  /** How many messages arrived so far: pass it as `after` to wait for a newer one. */
  async count() {
    return (await this.all()).length;
  }

  /**
   * The newest message to `to` (whose subject matches `subject`, if given) that arrived after the
   * first `after` messages; waits up to 15 s for it.
   */
  async latest(to, { subject, after = 0 } = {}) {
    let found;
    await until(
      async () => {
        const mine = (await this.all()).filter(
          (m) => m.seq > after && m.to.some((t) => t.toLowerCase() === to.toLowerCase()) && (!subject || subject.test(m.subject)),
        );
        found = mine.at(-1);
        return found !== undefined;
      },
      async () => `no mail to ${to}${subject ? ` matching ${subject}` : ""} after #${after}; received: ${JSON.stringify((await this.all()).map((m) => [m.seq, m.to, m.subject]))}`,
      { attempts: 300, ms: 50 },
    );
    return found;
  }
}

/** The first link in a message's text part that starts with `base` + `path`. */
export function linkIn(message, base, path) {
  const prefix = base + path;
  const link = (message.text ?? "").split(/\s+/).find((word) => word.startsWith(prefix));
  if (!link) throw new Error(`no ${prefix}… link in "${message.subject}":\n${message.text}`);
  return link;
}

/**
 * Starts the SMTP sink and `tenantry serve`. `env` adds or overrides TENANTRY_* settings.
 * Returns { url, apiKey, mail, dir, database, env, backend(method, path, body), stop() }.
 */
export async function startStack(env = {}) {
  const dir = await mkdtemp(join(tmpdir(), "tenantry-browser-"));
  const mailDir = join(dir, "mail");
  const smtpPort = await freePort();
  const sink = child(peersPython(), [join(here, "smtp_sink.py"), String(smtpPort), mailDir], {});
  try {
    await until(
      () => sink.output().includes("ready") || sink.proc.exitCode !== null,
      () => `the SMTP sink did not start:\n${sink.output()}`,
      { attempts: 300, ms: 50 },
    );
    if (sink.proc.exitCode !== null) throw new Error(`the SMTP sink exited:\n${sink.output()}`);
  } catch (err) {
    await sink.stop();
    throw err;
  }

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const database = join(dir, "tenantry.db");
  // Tenantry refuses TENANTRY_* variables it does not know, so only its own settings go in.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("TENANTRY_")));
  const serverEnv = {
    ...inherited,
    TENANTRY_DATABASE_URL: `sqlite://${database}`,
    TENANTRY_LISTEN: `127.0.0.1:${port}`,
    TENANTRY_PUBLIC_URL: url,
    TENANTRY_MASTER_KEY_FILE: join(dir, "master.key"),
    TENANTRY_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    TENANTRY_MAIL__OUTBOX_DIR: join(dir, "outbox"),
    TENANTRY_HTTP__MANAGEMENT_ENABLED: "false",
    // Cheap Argon2 (as the Rust tests' TestApp): the journeys exercise the flows, not the cost.
    TENANTRY_PASSWORD__MEMORY_KIB: "1024",
    TENANTRY_PASSWORD__ITERATIONS: "1",
    // Every person in a journey signs up from 127.0.0.1.
    TENANTRY_SIGNUP_LIMIT_PER_IP: "1000",
    TENANTRY_LOG_LEVEL: "warn",
    ...env,
  };
  const binary = tenantryBinary();
  let server;
  try {
    const { stdout } = await run(binary, ["api-key", "create", "--name", "browser-journeys"], { env: serverEnv });
    const apiKey = stdout.trim();
    server = child(binary, ["serve"], { env: serverEnv });
    await until(
      async () => {
        if (server.proc.exitCode !== null) return true;
        try {
          return (await fetch(`${url}/readyz`)).ok;
        } catch {
          return false;
        }
      },
      () => `tenantry did not become ready on ${url}:\n${server.output()}`,
      { attempts: 600, ms: 50 },
    );
    if (server.proc.exitCode !== null) throw new Error(`tenantry exited (${server.proc.exitCode}):\n${server.output()}`);

    return {
      url,
      apiKey,
      mail: new Mailbox(mailDir),
      dir,
      database,
      env: serverEnv,
      /** The server's log so far (for a failure's message). */
      log: () => server.output(),
      /** A backend API call with the API key; throws unless the status is `expect` (default 2xx). */
      async backend(method, path, body, expect) {
        const response = await fetch(url + path, {
          method,
          headers: { Authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await response.text();
        const ok = expect === undefined ? response.ok : response.status === expect;
        if (!ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
        return text ? JSON.parse(text) : undefined;
      },
      async stop() {
        await server?.stop();
        await sink.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await server?.stop();
    await sink.stop();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Runs SQL on the stack's SQLite database (Python's sqlite3): for states no API can reach. */
export async function sql(stack, statement, params = []) {
  const script = "import json,sqlite3,sys\nc=sqlite3.connect(sys.argv[1])\nn=c.execute(sys.argv[2],json.loads(sys.argv[3])).rowcount\nc.commit()\nprint(n)";
  const { stdout } = await run(peersPython(), ["-c", script, stack.database, statement, JSON.stringify(params)]);
  return Number(stdout.trim());
}
