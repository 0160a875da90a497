//! The process's memory and CPU use, for the benchmark, the performance panel and the HTTP
//! status endpoints. Read from `/proc/self` on Linux; elsewhere the figures are `None` (the app
//! adds a sysinfo reading of its own on macOS).

use serde::Serialize;

/// Resident memory now and at its peak.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Memory {
    /// Resident set size, bytes.
    pub rss_bytes: Option<u64>,
    /// Peak resident set size since start (or since [`reset_peak`]), bytes.
    pub peak_rss_bytes: Option<u64>,
}

impl Memory {
    /// RSS in MiB.
    pub fn rss_mb(&self) -> Option<f64> {
        self.rss_bytes.map(|b| b as f64 / 1_048_576.0)
    }

    /// Peak RSS in MiB.
    pub fn peak_rss_mb(&self) -> Option<f64> {
        self.peak_rss_bytes.map(|b| b as f64 / 1_048_576.0)
    }
}

/// This process's memory.
pub fn memory() -> Memory {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return Memory::default();
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map(|kb| kb * 1024)
    };
    Memory {
        rss_bytes: field("VmRSS:"),
        peak_rss_bytes: field("VmHWM:"),
    }
}

/// Starts a new peak-RSS measurement (Linux: `clear_refs` 5 resets VmHWM). False where the
/// platform has no such reset.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// CPU time this process has used (user + system), seconds; `None` where unknown.
pub fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesized command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(ticks / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let m = memory();
            let rss = m.rss_bytes.expect("VmRSS");
            assert!(
                rss > 1 << 20,
                "a running test binary uses more than 1 MiB: {rss}"
            );
            assert!(m.peak_rss_bytes.expect("VmHWM") >= rss);
            assert!(cpu_secs().expect("stat") >= 0.0);
        }
    }
}
