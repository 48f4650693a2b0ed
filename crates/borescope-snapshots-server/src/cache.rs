//! A short memory of agent keys and instances, so an agent's call (an upload, a poll) does not
//! read them from the database each time. Entries live [`TTL`]; deleting a key or registering an
//! instance on this server forgets them at once (another server on the same database sees such
//! a change within [`TTL`]). Only what exists is remembered: an unknown key or instance is read
//! again on every call.

use crate::store::instances::InstanceInfo;
use borescope_snapshots_api::people::KeyInfo;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an entry is trusted.
pub const TTL: Duration = Duration::from_secs(5);
/// Entries per map, at most (the map is emptied when it grows past this).
const MAX_ENTRIES: usize = 10_000;

/// Keys by hash, instances by id.
#[derive(Default)]
pub struct Cache {
    keys: Mutex<HashMap<String, (KeyInfo, Instant)>>,
    instances: Mutex<HashMap<String, (InstanceInfo, Instant)>>,
}

impl Cache {
    /// The key with this hash, if remembered and fresh.
    pub fn key(&self, hash: &str) -> Option<KeyInfo> {
        fresh(&self.keys, hash)
    }

    /// Remembers a key.
    pub fn put_key(&self, hash: &str, key: &KeyInfo) {
        put(&self.keys, hash, key.clone());
    }

    /// Forgets a deleted key.
    pub fn forget_key(&self, id: i64) {
        lock(&self.keys).retain(|_, (key, _)| key.id != id);
    }

    /// The instance, if remembered and fresh.
    pub fn instance(&self, instance_id: &str) -> Option<InstanceInfo> {
        fresh(&self.instances, instance_id)
    }

    /// Remembers an instance.
    pub fn put_instance(&self, instance_id: &str, info: &InstanceInfo) {
        put(&self.instances, instance_id, info.clone());
    }

    /// Forgets an instance (it registered again).
    pub fn forget_instance(&self, instance_id: &str) {
        lock(&self.instances).remove(instance_id);
    }
}

fn lock<T>(map: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    map.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn fresh<T: Clone>(map: &Mutex<HashMap<String, (T, Instant)>>, name: &str) -> Option<T> {
    let map = lock(map);
    let (value, at) = map.get(name)?;
    (at.elapsed() < TTL).then(|| value.clone())
}

fn put<T>(map: &Mutex<HashMap<String, (T, Instant)>>, name: &str, value: T) {
    let mut map = lock(map);
    if map.len() >= MAX_ENTRIES {
        map.clear();
    }
    map.insert(name.to_string(), (value, Instant::now()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_and_forgets() {
        let cache = Cache::default();
        let key = KeyInfo { id: 3, service: "api".into(), prefix: "bsk_abcd".into(), created_ms: 0 };
        assert!(cache.key("h").is_none());
        cache.put_key("h", &key);
        assert_eq!(cache.key("h"), Some(key));
        cache.forget_key(3);
        assert!(cache.key("h").is_none());
        let info = InstanceInfo { service: "api".into(), env: None, host: "h".into(), pid: 1 };
        cache.put_instance("i", &info);
        assert_eq!(cache.instance("i").map(|i| i.pid), Some(1));
        cache.forget_instance("i");
        assert!(cache.instance("i").is_none());
    }
}
