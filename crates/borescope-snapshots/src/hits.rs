//! Reading snapshots: a bounded list across pages, waiting for the next ones (the server's long
//! poll), and following a probe as snapshots arrive.
//!
//! Snapshot ids increase, and an id is also the cursor: everything after id N is asked for
//! with `after=N`.

use crate::client::REQUEST_TIMEOUT;
use crate::reports::{SnapshotListing, SNAPSHOTS_SCHEMA};
use crate::{Client, SnapError};
use borescope_snapshots_api::limits::{MAX_PAGE, MAX_WAIT_SECS};
use borescope_snapshots_api::people::SnapshotPage;
use borescope_snapshots_api::{Snapshot, SnapshotKind, SNAPSHOT_SCHEMA};
use std::time::{Duration, Instant};

/// Which snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HitQuery {
    /// Of this probe.
    pub probe: Option<i64>,
    /// Of this service.
    pub service: Option<String>,
    /// Only probe snapshots, or only exception snapshots.
    pub kind: Option<SnapshotKind>,
    /// Taken at or after this Unix millisecond.
    pub since_ms: Option<i64>,
    /// After this cursor (a snapshot id).
    pub after: Option<i64>,
    /// At most this many (1 to [`MAX_PAGE`] per request; lists read several pages).
    pub limit: u32,
}

impl HitQuery {
    fn path(&self, after: Option<i64>, limit: u32, wait_secs: Option<u64>) -> String {
        let query = crate::client::query(&[
            ("probe", self.probe.map(|p| p.to_string())),
            ("service", self.service.clone()),
            ("kind", self.kind.map(|k| k.as_str().to_string())),
            ("since_ms", self.since_ms.map(|t| t.to_string())),
            ("after", after.map(|a| a.to_string())),
            ("limit", Some(limit.clamp(1, MAX_PAGE).to_string())),
            ("wait", wait_secs.filter(|w| *w > 0).map(|w| w.to_string())),
        ]);
        format!("/snapshots{query}")
    }

    async fn page(&self, client: &Client, after: Option<i64>, limit: u32, wait: Duration) -> Result<SnapshotPage, SnapError> {
        let wait_secs = wait.as_secs().min(MAX_WAIT_SECS);
        let mut page: SnapshotPage = client
            .get(&self.path(after, limit, Some(wait_secs)), REQUEST_TIMEOUT + Duration::from_secs(wait_secs))
            .await?;
        for snapshot in &mut page.snapshots {
            snapshot.schema = SNAPSHOT_SCHEMA.into();
        }
        Ok(page)
    }
}

/// Fails with the server's "no probe N" when the query names a probe that does not exist, so
/// an id typed wrong is said at once instead of reading as "no snapshots yet" (or waiting).
pub async fn check_probe(client: &Client, query: &HitQuery) -> Result<(), SnapError> {
    if let Some(id) = query.probe {
        crate::probes::get(client, id).await?;
    }
    Ok(())
}

/// `snap hits`: up to `query.limit` matching snapshots, oldest first, reading as many pages as
/// that takes; `more` says whether others matched beyond the limit.
pub async fn list(client: &Client, query: &HitQuery) -> Result<SnapshotListing, SnapError> {
    check_probe(client, query).await?;
    let limit = query.limit.max(1) as usize;
    let mut found: Vec<Snapshot> = Vec::new();
    let mut after = query.after;
    let mut server_next = None;
    let mut more = false;
    loop {
        let want = limit - found.len();
        let ask = u32::try_from(want + 1).unwrap_or(u32::MAX).min(MAX_PAGE);
        let page = query.page(client, after, ask, Duration::ZERO).await?;
        server_next = page.next.or(server_next);
        let got = page.snapshots.len();
        if got > want {
            more = true;
        }
        found.extend(page.snapshots.into_iter().take(want));
        if more || got < ask as usize || found.len() >= limit {
            break;
        }
        after = found.last().map(|s| s.id);
    }
    let next = found.last().map(|s| s.id).or(server_next).or(query.after);
    Ok(SnapshotListing { schema: SNAPSHOTS_SCHEMA.into(), snapshots: found, next, more })
}

/// Waits up to `timeout` for snapshots matching `query` (after its cursor): returns as soon as
/// at least one is there (at most `query.limit`), or an empty listing when none came in time.
pub async fn wait_for(client: &Client, query: &HitQuery, timeout: Duration) -> Result<SnapshotListing, SnapError> {
    check_probe(client, query).await?;
    let deadline = Instant::now() + timeout;
    let mut follow = Follow::new(query.clone());
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let snapshots = follow.next(client, left).await?;
        if !snapshots.is_empty() || left.is_zero() {
            return Ok(SnapshotListing { schema: SNAPSHOTS_SCHEMA.into(), snapshots, next: follow.cursor, more: false });
        }
        // A server that answers an empty page at once is not asked again in a busy loop.
        tokio::time::sleep(Duration::from_millis(200).min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

/// Follows snapshots as they arrive: each call to [`Follow::next`] returns the ones after the
/// last it returned.
#[derive(Debug, Clone)]
pub struct Follow {
    query: HitQuery,
    /// The last snapshot id seen, or the server's cursor.
    pub cursor: Option<i64>,
}

impl Follow {
    /// Starts after `query.after` (or, without one, at `query.since_ms`).
    pub fn new(query: HitQuery) -> Follow {
        let cursor = query.after;
        Follow { query, cursor }
    }

    /// The next snapshots, waiting up to `wait` (at most 30 s per request) for some to arrive;
    /// empty when none did. Once there is a cursor, only the cursor says what is new: a time
    /// filter would drop snapshots from an instance whose clock runs behind this one's.
    pub async fn next(&mut self, client: &Client, wait: Duration) -> Result<Vec<Snapshot>, SnapError> {
        if self.cursor.is_some() {
            self.query.since_ms = None;
        }
        let page = self.query.page(client, self.cursor, self.query.limit.max(1), wait).await?;
        self.cursor = page.snapshots.last().map(|s| s.id).or(page.next).or(self.cursor);
        Ok(page.snapshots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_names_only_what_was_given() {
        let query = HitQuery { probe: Some(7), service: None, kind: None, since_ms: Some(1000), after: None, limit: 20 };
        assert_eq!(query.path(Some(41), 20, Some(25)), "/snapshots?probe=7&since_ms=1000&after=41&limit=20&wait=25");
        let exceptions = HitQuery { probe: None, service: Some("api".into()), kind: Some(SnapshotKind::Exception), since_ms: None, after: None, limit: 5 };
        assert_eq!(exceptions.path(None, 5, None), "/snapshots?service=api&kind=exception&limit=5");
        assert_eq!(query.path(None, 9999, Some(0)), "/snapshots?probe=7&since_ms=1000&limit=500");
    }
}
