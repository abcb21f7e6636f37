//! The activity log's configuration, read once from the environment into [`crate::Config`].

use std::time::Duration;

/// `LATCHKEY_ACTIVITY_LOG` and `LATCHKEY_LOG_RETENTION_DAYS`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Off: nothing is recorded (the benchmark's baseline; `LATCHKEY_ACTIVITY_LOG=off`).
    pub enabled: bool,
    /// Entries older than this are deleted (default 14 days).
    pub retention: Duration,
    /// How often the retention sweep runs (hourly; tests shorten it).
    pub sweep_every: Duration,
    /// How often the live tail (`GET /logs/stream`) looks for new entries.
    pub tail_every: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            enabled: true,
            retention: Duration::from_secs(14 * 24 * 3600),
            sweep_every: Duration::from_secs(3600),
            tail_every: Duration::from_millis(500),
        }
    }
}

impl Settings {
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut s = Self::default();
        if let Some(v) = lookup("LATCHKEY_ACTIVITY_LOG") {
            s.enabled = match v.trim().to_ascii_lowercase().as_str() {
                "on" | "true" | "1" | "yes" => true,
                "off" | "false" | "0" | "no" => false,
                other => anyhow::bail!("LATCHKEY_ACTIVITY_LOG must be on or off (got {other:?})"),
            };
        }
        if let Some(v) = lookup("LATCHKEY_LOG_RETENTION_DAYS") {
            let days: f64 = v
                .trim()
                .parse()
                .ok()
                .filter(|d: &f64| d.is_finite() && *d > 0.0)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "LATCHKEY_LOG_RETENTION_DAYS must be a positive number of days (got {v:?})"
                    )
                })?;
            s.retention = Duration::from_secs_f64(days * 24.0 * 3600.0);
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_reads_days_and_refuses_nonsense() {
        let env = |v: &'static str| {
            move |n: &str| (n == "LATCHKEY_LOG_RETENTION_DAYS").then(|| v.to_string())
        };
        assert_eq!(
            Settings::from_env(env("2")).unwrap().retention,
            Duration::from_secs(2 * 86400)
        );
        assert!(Settings::from_env(env("0")).is_err());
        assert!(Settings::from_env(env("soon")).is_err());
        assert_eq!(
            Settings::from_env(|_| None).unwrap().retention,
            Duration::from_secs(14 * 86400)
        );
    }
}
