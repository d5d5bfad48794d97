//! The billing side's customer records, one per Tenantry organization, and the rules that keep
//! them right when webhooks arrive twice or out of order:
//!
//! - **duplicates**: Tenantry delivers at least once, with the same `webhook-id` on every retry.
//!   The ids of recent deliveries are kept (the last [`SEEN_CAP`]) and a repeat changes nothing;
//! - **stale updates**: every org event carries the org's `version`, incremented on each change.
//!   A record remembers the version it reflects and ignores anything not newer, so a late
//!   `org.updated` cannot undo a later change, and a late `org.created` cannot revive a deleted org.
//!
//! Everything lives in memory and in one JSON file, rewritten atomically (a temporary file,
//! flushed, then renamed over the old one) on each change, so a crash leaves the old file or the
//! new one, never half of either. A change and the delivery id that caused it land in the same
//! write, so a delivery is either applied and remembered, or neither (and then retried).
//!
//! One process owns a data folder; this is an example's storage, not a database.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use tenantry_sdk::Event;
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::plan::Plan;

/// How many delivery ids are remembered. Tenantry retries for about 42 hours; past this many
/// deliveries, a very late duplicate is still caught by the version check.
pub const SEEN_CAP: usize = 10_000;

/// The file in the data folder.
pub const FILE_NAME: &str = "customers.json";

/// The fields of an org that billing keeps, as in the `data` of Tenantry's org events and in the
/// backend API's org object (other fields are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrgData {
    pub org_id: Uuid,
    /// Incremented by Tenantry on every change of the org.
    pub version: i64,
    pub name: String,
    pub slug: String,
    /// Absent or `null`: unlimited.
    #[serde(default)]
    pub max_users: Option<u32>,
}

/// The org events this receiver acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgEvent {
    Created(OrgData),
    Updated(OrgData),
    Deleted(OrgData),
}

impl OrgEvent {
    /// The org event in a Tenantry webhook body (parsed by the SDK into its typed [`Event`]):
    /// `Ok(None)` for the types this receiver ignores, `Err` when the org id is not a UUID.
    pub fn from_event(event: &Event) -> Result<Option<OrgEvent>, uuid::Error> {
        let (make, data): (fn(OrgData) -> OrgEvent, _) = match event {
            Event::OrgCreated { data, .. } => (OrgEvent::Created, data),
            Event::OrgUpdated { data, .. } => (OrgEvent::Updated, data),
            Event::OrgDeleted { data, .. } => (OrgEvent::Deleted, data),
            _ => return Ok(None),
        };
        let org = OrgData {
            org_id: data.org_id.parse()?,
            version: data.version,
            name: data.name.clone(),
            slug: data.slug.clone(),
            max_users: data.max_users,
        };
        Ok(Some(make(org)))
    }

    fn data(&self) -> &OrgData {
        match self {
            OrgEvent::Created(d) | OrgEvent::Updated(d) | OrgEvent::Deleted(d) => d,
        }
    }
}

/// A billing customer: one Tenantry organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub org_id: Uuid,
    pub name: String,
    pub slug: String,
    /// The plan billing last set; `None` until the first plan change.
    pub plan: Option<Plan>,
    /// The org's seat limit in Tenantry, as last seen; `None` is unlimited.
    pub max_users: Option<u32>,
    /// The org's version in Tenantry that this record reflects.
    pub version: i64,
    /// The org was deleted in Tenantry. The record stays, as a billing record would.
    pub deleted: bool,
}

impl Customer {
    fn new(org: &OrgData) -> Customer {
        Customer {
            org_id: org.org_id,
            name: org.name.clone(),
            slug: org.slug.clone(),
            plan: None,
            max_users: org.max_users,
            version: org.version,
            deleted: false,
        }
    }

    fn mirror(&mut self, org: &OrgData) {
        self.name.clone_from(&org.name);
        self.slug.clone_from(&org.slug);
        self.max_users = org.max_users;
        self.version = org.version;
    }
}

/// What a delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The record changed.
    Applied,
    /// This `webhook-id` was seen before.
    Duplicate,
    /// The record already reflects this version of the org or a later one.
    Stale,
}

/// The whole state: what the JSON file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Book {
    customers: BTreeMap<Uuid, Customer>,
    /// Delivery ids, oldest first, at most [`SEEN_CAP`].
    seen: VecDeque<String>,
    /// The same ids, for lookups; rebuilt on load.
    #[serde(skip)]
    seen_index: HashSet<String>,
}

impl Book {
    pub fn customer(&self, org_id: Uuid) -> Option<&Customer> {
        self.customers.get(&org_id)
    }

    pub fn customers(&self) -> impl Iterator<Item = &Customer> {
        self.customers.values()
    }

    /// Applies the delivery `webhook_id` of `event`.
    pub fn apply(&mut self, webhook_id: &str, event: &OrgEvent) -> Outcome {
        if self.seen_index.contains(webhook_id) {
            return Outcome::Duplicate;
        }
        self.remember(webhook_id);
        let org = event.data();
        let customer = match self.customers.get_mut(&org.org_id) {
            Some(c) if c.version >= org.version => return Outcome::Stale,
            Some(c) => {
                c.mirror(org);
                c
            }
            // An update or a deletion can arrive before the creation: the record starts from it,
            // and the creation, with a lower version, is then stale.
            None => self.customers.entry(org.org_id).or_insert_with(|| Customer::new(org)),
        };
        customer.deleted = matches!(event, OrgEvent::Deleted(_));
        Outcome::Applied
    }

    /// Records that billing moved the org to `plan`, and Tenantry answered with `org`.
    pub fn record_plan(&mut self, org: &OrgData, plan: Plan) -> &Customer {
        let customer = self.customers.entry(org.org_id).or_insert_with(|| Customer::new(org));
        if org.version > customer.version {
            customer.mirror(org);
        }
        customer.plan = Some(plan);
        customer
    }

    fn remember(&mut self, webhook_id: &str) {
        self.seen.push_back(webhook_id.to_owned());
        self.seen_index.insert(webhook_id.to_owned());
        while self.seen.len() > SEEN_CAP {
            if let Some(old) = self.seen.pop_front() {
                self.seen_index.remove(&old);
            }
        }
    }
}

/// The [`Book`], kept in memory and in `{data folder}/customers.json`.
#[derive(Debug)]
pub struct Customers {
    path: PathBuf,
    book: Mutex<Book>,
}

impl Customers {
    /// Opens the records in `dir` (created if missing), or starts empty.
    pub async fn open(dir: &Path) -> anyhow::Result<Customers> {
        tokio::fs::create_dir_all(dir).await.with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join(FILE_NAME);
        let mut book = match tokio::fs::read(&path).await {
            Ok(bytes) => serde_json::from_slice::<Book>(&bytes)
                .with_context(|| format!("{} is not a customer file", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Book::default(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        book.seen_index = book.seen.iter().cloned().collect();
        Ok(Customers { path, book: Mutex::new(book) })
    }

    /// Where the records are stored.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A copy of the current records.
    pub async fn snapshot(&self) -> Book {
        self.book.lock().await.clone()
    }

    /// Runs `change` on a copy of the records, stores the copy if it differs, then makes it the
    /// current one. If storing fails, nothing changed (in memory or on disk).
    pub async fn update<R>(&self, change: impl FnOnce(&mut Book) -> R) -> std::io::Result<R> {
        let mut book = self.book.lock().await;
        let mut next = book.clone();
        let result = change(&mut next);
        if next != *book {
            let bytes = serde_json::to_vec_pretty(&next).map_err(std::io::Error::other)?;
            let path = self.path.clone();
            tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
                .await
                .map_err(std::io::Error::other)??;
            *book = next;
        }
        Ok(result)
    }
}

/// Writes `bytes` to `path` through a temporary file beside it, so that readers and crashes
/// see the old content or the new, whole.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    // The rename itself is durable once the folder is flushed (possible on Unix only).
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(version: i64, name: &str, max_users: Option<u32>) -> OrgData {
        OrgData { org_id: Uuid::from_u128(7), version, name: name.to_owned(), slug: name.to_lowercase(), max_users }
    }

    #[test]
    fn org_events_parse_from_tenantry_data() {
        // The shape of `Org::event_data` in Tenantry, extra fields included.
        let data = serde_json::json!({
            "org_id": "00000000-0000-0000-0000-000000000007", "version": 1, "name": "Acme", "slug": "acme",
            "max_users": null, "member_count": 0, "metadata": {}, "domains": [],
            "domain_auto_join": false, "domain_restrict": false,
        });
        let body = |event_type: &str, data: &serde_json::Value| -> Event {
            serde_json::from_value(serde_json::json!({"type": event_type, "timestamp": "2026-12-01T09:30:00+00:00",
                "data": data}))
            .unwrap()
        };
        let event = OrgEvent::from_event(&body("org.created", &data)).unwrap();
        assert_eq!(event, Some(OrgEvent::Created(org(1, "Acme", None))));
        assert!(matches!(OrgEvent::from_event(&body("org.deleted", &data)), Ok(Some(OrgEvent::Deleted(_)))));
        let user = serde_json::json!({"user_id": "u", "version": 1, "email": "a@b.c", "email_verified": true,
            "first_name": null, "last_name": null, "username": null, "properties": {}, "disabled": false});
        assert_eq!(OrgEvent::from_event(&body("user.created", &user)).unwrap(), None);
        assert_eq!(OrgEvent::from_event(&body("org.renamed_later", &serde_json::json!({}))).unwrap(), None);
        let mut bad_id = data.clone();
        bad_id["org_id"] = "x".into();
        assert!(OrgEvent::from_event(&body("org.updated", &bad_id)).is_err());
    }

    #[test]
    fn a_repeated_delivery_changes_nothing() {
        let mut book = Book::default();
        assert_eq!(book.apply("evt-1", &OrgEvent::Created(org(1, "Acme", None))), Outcome::Applied);
        let before = book.clone();
        assert_eq!(book.apply("evt-1", &OrgEvent::Created(org(1, "Acme", None))), Outcome::Duplicate);
        // Even a different body under the same id is the same delivery.
        assert_eq!(book.apply("evt-1", &OrgEvent::Deleted(org(2, "Acme", None))), Outcome::Duplicate);
        assert_eq!(book, before);
    }

    #[test]
    fn older_versions_arriving_late_are_discarded() {
        let mut book = Book::default();
        book.apply("e1", &OrgEvent::Created(org(1, "Acme", None)));
        assert_eq!(book.apply("e3", &OrgEvent::Updated(org(3, "Acme Inc", Some(5)))), Outcome::Applied);
        assert_eq!(book.apply("e2", &OrgEvent::Updated(org(2, "Acme Ltd", Some(1)))), Outcome::Stale);
        // The same version again under another id is stale too.
        assert_eq!(book.apply("e3-bis", &OrgEvent::Updated(org(3, "Other", None))), Outcome::Stale);
        let c = book.customer(Uuid::from_u128(7)).unwrap();
        assert_eq!((c.name.as_str(), c.max_users, c.version, c.deleted), ("Acme Inc", Some(5), 3, false));
    }

    #[test]
    fn a_late_creation_does_not_revive_a_deleted_org() {
        let mut book = Book::default();
        assert_eq!(book.apply("e2", &OrgEvent::Deleted(org(2, "Acme", None))), Outcome::Applied);
        assert_eq!(book.apply("e1", &OrgEvent::Created(org(1, "Acme", None))), Outcome::Stale);
        let c = book.customer(Uuid::from_u128(7)).unwrap();
        assert!(c.deleted);
        assert_eq!(c.version, 2);
    }

    #[test]
    fn a_plan_change_keeps_the_newest_org_fields() {
        let mut book = Book::default();
        book.apply("e1", &OrgEvent::Created(org(1, "Acme", None)));
        assert_eq!(book.record_plan(&org(2, "Acme", Some(5)), Plan::Startup).max_users, Some(5));
        // Tenantry's org.updated for that same change comes later, and is stale.
        assert_eq!(book.apply("e2", &OrgEvent::Updated(org(2, "Acme", Some(5)))), Outcome::Stale);
        // An answer older than the record updates only the plan.
        book.apply("e4", &OrgEvent::Updated(org(4, "Acme 4", None)));
        let c = book.record_plan(&org(3, "Acme 3", Some(1)), Plan::Hobby).clone();
        assert_eq!((c.name.as_str(), c.max_users, c.version, c.plan), ("Acme 4", None, 4, Some(Plan::Hobby)));
    }

    #[test]
    fn only_the_latest_ids_are_remembered() {
        let mut book = Book::default();
        for i in 0..=SEEN_CAP {
            book.apply(&format!("e{i}"), &OrgEvent::Updated(org(i64::try_from(i).unwrap(), "Acme", None)));
        }
        assert_eq!((book.seen.len(), book.seen_index.len()), (SEEN_CAP, SEEN_CAP));
        assert_eq!(book.apply("e1", &OrgEvent::Updated(org(1, "Acme", None))), Outcome::Duplicate);
        // The oldest id was forgotten; its version is still caught.
        assert_eq!(book.apply("e0", &OrgEvent::Updated(org(0, "Acme", None))), Outcome::Stale);
    }

    #[tokio::test]
    async fn records_and_seen_ids_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let customers = Customers::open(dir.path()).await.unwrap();
        let outcome = customers.update(|b| b.apply("e1", &OrgEvent::Created(org(1, "Acme", None)))).await.unwrap();
        assert_eq!(outcome, Outcome::Applied);
        assert!(!dir.path().join("customers.json.tmp").exists());

        let reopened = Customers::open(dir.path()).await.unwrap();
        assert_eq!(reopened.snapshot().await, customers.snapshot().await);
        let again = reopened.update(|b| b.apply("e1", &OrgEvent::Created(org(1, "Acme", None)))).await.unwrap();
        assert_eq!(again, Outcome::Duplicate);
        let on_disk: serde_json::Value = serde_json::from_slice(&std::fs::read(reopened.path()).unwrap()).unwrap();
        assert_eq!(on_disk["customers"]["00000000-0000-0000-0000-000000000007"]["name"], "Acme");
    }

    #[tokio::test]
    async fn a_failed_write_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let customers = Customers::open(dir.path()).await.unwrap();
        // A folder where the temporary file would go makes the write fail.
        std::fs::create_dir(dir.path().join("customers.json.tmp")).unwrap();
        let result = customers.update(|b| b.apply("e1", &OrgEvent::Created(org(1, "Acme", None)))).await;
        assert!(result.is_err());
        assert_eq!(customers.snapshot().await, Book::default());
        assert!(!customers.path().exists());
    }
}
