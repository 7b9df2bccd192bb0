//! Where a request's time goes, by part (checking credentials, the read model, Dapr),
//! for the `Server-Timing` answer header the bench reads its breakdown from. Parts are
//! recorded into the request's own task; outside [`measure`] recording does nothing.

use std::cell::RefCell;
use std::future::Future;
use std::time::{Duration, Instant};

/// A part of a request's work, as the `Server-Timing` header names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Checking the caller's credentials (token lookup, password, cache).
    Auth,
    /// Writing or reading the read model.
    Db,
    /// Calls to the Dapr sidecar.
    Dapr,
}

impl Part {
    pub fn name(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Db => "db",
            Self::Dapr => "dapr",
        }
    }
}

tokio::task_local! {
    static SPENT: RefCell<Vec<(Part, Duration)>>;
}

/// Runs `work`, collecting what the parts inside it recorded.
pub async fn measure<T>(work: impl Future<Output = T>) -> (T, Vec<(Part, Duration)>) {
    SPENT
        .scope(RefCell::new(Vec::new()), async {
            let out = work.await;
            let spent = SPENT.with(|spent| spent.take());
            (out, spent)
        })
        .await
}

/// Awaits `work` as `part` of the current request.
pub async fn timed<T>(part: Part, work: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let out = work.await;
    let _ = SPENT.try_with(|spent| spent.borrow_mut().push((part, started.elapsed())));
    out
}

/// `auth;dur=0.31, db;dur=1.20, …` (milliseconds; a part done twice is summed), with
/// the whole as `total`.
pub fn header_value(spent: &[(Part, Duration)], total: Duration) -> String {
    let mut parts: Vec<(Part, Duration)> = Vec::new();
    for (part, took) in spent {
        match parts.iter_mut().find(|(p, _)| p == part) {
            Some((_, sum)) => *sum += *took,
            None => parts.push((*part, *took)),
        }
    }
    parts
        .iter()
        .map(|(part, took)| (part.name(), *took))
        .chain([("total", total)])
        .map(|(name, took)| format!("{name};dur={:.2}", took.as_secs_f64() * 1000.0))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn parts_add_up_inside_a_measure_and_vanish_outside() {
        timed(Part::Db, async {}).await;
        let ((), spent) = measure(async {
            timed(Part::Db, tokio::time::sleep(Duration::from_millis(2))).await;
            timed(Part::Dapr, async {}).await;
            timed(Part::Db, async {}).await;
        })
        .await;
        assert_eq!(spent.len(), 3);
        let header = header_value(&spent, Duration::from_millis(5));
        assert!(header.starts_with("db;dur="), "{header}");
        assert!(header.contains(", dapr;dur="), "{header}");
        assert!(header.ends_with(", total;dur=5.00"), "{header}");
        assert_eq!(header.matches("db;").count(), 1, "{header}");
    }
}
