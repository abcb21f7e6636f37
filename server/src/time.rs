//! Clock helpers: the API speaks ISO-8601 UTC with milliseconds, the database stores unix seconds
//! for expiry comparisons.

use chrono::{SecondsFormat, Utc};

pub fn now_iso() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn now_unix() -> i64 {
    Utc::now().timestamp()
}

pub fn now_unix_ms() -> i64 {
    Utc::now().timestamp_millis()
}

pub fn unix_to_iso(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}
