//! Where the CPU went during a scenario: the server, this load generator, and everything else
//! (PostgreSQL's backends, and whatever else runs on the machine). On a small machine the load
//! generator shares the cores with the server, and a busy neighbour skews every figure, so the
//! report shows all three.

use std::time::Instant;

use anyhow::Context;

/// Cumulative CPU counters at one instant, in clock ticks.
#[derive(Debug, Clone, Copy)]
pub struct CpuSnapshot {
    at: Instant,
    /// All CPUs, busy (anything but idle and iowait).
    busy: u64,
    /// All CPUs, everything.
    total: u64,
    server: u64,
    generator: u64,
}

/// Clock ticks per second of the `/proc` counters (`USER_HZ`, 100 on Linux).
pub const TICKS_PER_SEC: f64 = 100.0;

impl CpuSnapshot {
    /// Reads `/proc/stat`, the server's and this process's `/proc/<pid>/stat`.
    pub fn take(server_pid: u32) -> anyhow::Result<CpuSnapshot> {
        let stat = std::fs::read_to_string("/proc/stat").context("cannot read /proc/stat")?;
        let (busy, total) = machine_ticks(&stat).context("no cpu line in /proc/stat")?;
        Ok(CpuSnapshot {
            at: Instant::now(),
            busy,
            total,
            server: process_ticks(&format!("/proc/{server_pid}/stat"))?,
            generator: process_ticks("/proc/self/stat")?,
        })
    }

    /// CPU used from `self` to `later`, in cores (1.0 is one core fully busy).
    pub fn until(&self, later: &CpuSnapshot) -> CpuUse {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let total = later.total.saturating_sub(self.total).max(1) as f64;
        let share = |ticks: u64| ticks as f64 / total * cores;
        let server = later.server.saturating_sub(self.server);
        let generator = later.generator.saturating_sub(self.generator);
        let busy = later.busy.saturating_sub(self.busy);
        CpuUse {
            seconds: later.at.saturating_duration_since(self.at).as_secs_f64(),
            server: share(server),
            generator: share(generator),
            other: share(busy.saturating_sub(server + generator)),
        }
    }
}

/// Average cores used over an interval.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    /// The interval's length.
    pub seconds: f64,
    pub server: f64,
    pub generator: f64,
    pub other: f64,
}

impl CpuUse {
    /// Server CPU time per request, in microseconds: unlike throughput, it barely moves when other
    /// processes compete for the cores.
    pub fn server_micros_per(&self, requests: u64) -> f64 {
        self.server * self.seconds * 1e6 / requests.max(1) as f64
    }
}

/// Busy and total ticks from the aggregate `cpu` line of `/proc/stat`.
fn machine_ticks(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line.split_whitespace().skip(1).map(str::parse).collect::<Result<_, _>>().ok()?;
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let field = |i: usize| v.get(i).copied().unwrap_or(0);
    let idle = field(3) + field(4);
    let busy = field(0) + field(1) + field(2) + field(5) + field(6) + field(7);
    Some((busy, busy + idle))
}

/// User plus system ticks of one process.
pub fn process_ticks(path: &str) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
    parse_process_ticks(&stat).with_context(|| format!("unexpected format of {path}"))
}

fn parse_process_ticks(stat: &str) -> Option<u64> {
    // The command name may hold spaces and parentheses; the fields after the last ')' do not.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of proc(5), utime and stime, are 11 and 12 after the name.
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_ticks_from_proc_stat() {
        let stat = "cpu  100 5 50 800 20 3 2 0 0 0\ncpu0 50 2 25 400 10 1 1 0 0 0\n";
        assert_eq!(machine_ticks(stat), Some((160, 980)));
    }

    #[test]
    fn process_ticks_skip_odd_names() {
        let stat = "42 (tokio (rt) x) S 1 42 42 0 -1 4194560 100 0 0 0 70 30 0 0 20 0 4 0 1 1 1";
        assert_eq!(parse_process_ticks(stat), Some(100));
    }
}
