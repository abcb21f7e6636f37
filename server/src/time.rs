//! The server's clock. The API speaks ISO-8601 UTC with milliseconds; the database stores unix
//! seconds for expiry comparisons.
//!
//! Every decision Latchkey takes by time — a connect session, an OAuth attempt or result expiring, a
//! token due for refresh, a webhook's next attempt, a lease, the activity log's retention — reads the
//! [`Clock`] of its server (`AppState::clock`), so that a test moves one server's time forward
//! ([`Clock::advance`]) instead of sleeping or ageing rows by hand. What is signed for a third party
//! (a JWT's `iat`, an AWS SigV4 date, a SAML assertion) uses the real time on purpose: the provider
//! checks it against its own clock.

use chrono::{DateTime, SecondsFormat, Utc};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The system clock, or (tests) the system clock moved forward by what [`Clock::advance`] added.
/// Cheap to clone; clones share their offset.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    ahead_ms: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The real time (what `latchkey` runs with).
    pub fn system() -> Self {
        Self::default()
    }

    /// The real time until [`Self::advance`] moves it forward.
    pub fn adjustable() -> Self {
        Self {
            ahead_ms: Some(Arc::new(AtomicI64::new(0))),
        }
    }

    /// Moves this clock (and its clones) forward by `by`. Only an [`Self::adjustable`] clock moves:
    /// on the system clock this is a mistake in a test, and panics.
    pub fn advance(&self, by: Duration) {
        let ahead = self
            .ahead_ms
            .as_ref()
            .expect("Clock::advance needs a Clock::adjustable()");
        ahead.fetch_add(by.as_millis() as i64, Ordering::SeqCst);
    }

    pub fn now(&self) -> DateTime<Utc> {
        let now = Utc::now();
        match &self.ahead_ms {
            Some(ahead) => now + chrono::Duration::milliseconds(ahead.load(Ordering::SeqCst)),
            None => now,
        }
    }

    pub fn now_unix(&self) -> i64 {
        self.now().timestamp()
    }

    pub fn now_unix_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }

    pub fn now_iso(&self) -> String {
        self.now().to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

/// The real time in unix seconds, for what a third party checks against its own clock (see the
/// module doc); Latchkey's own decisions use a [`Clock`].
pub fn real_unix() -> i64 {
    Utc::now().timestamp()
}

/// [`real_unix`] in milliseconds: when something happened, as recorded (the activity log's
/// timestamps). A [`Clock`] moved forward still finds them that much older.
pub fn real_unix_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// [`real_unix`] as the API's ISO-8601, for a record made outside a server (the CLI).
pub fn real_iso() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn unix_to_iso(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_adjustable_clock_moves_forward_with_its_clones_and_the_system_clock_does_not() {
        let clock = Clock::adjustable();
        let clone = clock.clone();
        let before = clock.now_unix();
        clone.advance(Duration::from_secs(3600));
        assert!(clock.now_unix() - before >= 3600);
        assert!(clock.now_unix() - Clock::system().now_unix() >= 3600);
        assert!((Clock::system().now_unix() - real_unix()).abs() <= 1);
    }

    #[test]
    #[should_panic(expected = "Clock::adjustable")]
    fn advancing_the_system_clock_is_a_mistake() {
        Clock::system().advance(Duration::from_secs(1));
    }
}
