//! Agent keys: one per service, shown once when made, stored hashed by the server.

use crate::client::REQUEST_TIMEOUT;
use crate::reports::{Deleted, KeyCreated, KeyListing, KEYS_SCHEMA, KEY_SCHEMA};
use crate::{Client, SnapError};
use borescope_snapshots_api::people::{CreatedKey, KeyList, NewKey};
use hyper::Method;

/// `snap key add --service NAME`.
pub async fn create(client: &Client, service: &str) -> Result<KeyCreated, SnapError> {
    crate::input::check_name("--service", service)?;
    let key: CreatedKey = client.send(Method::POST, "/keys", &NewKey { service: service.to_string() }).await?;
    Ok(KeyCreated { schema: KEY_SCHEMA.into(), key })
}

/// `snap key list`.
pub async fn list(client: &Client) -> Result<KeyListing, SnapError> {
    let list: KeyList = client.get("/keys", REQUEST_TIMEOUT).await?;
    Ok(KeyListing { schema: KEYS_SCHEMA.into(), keys: list.keys })
}

/// `snap key rm ID`: agents using the key are refused from then on.
pub async fn remove(client: &Client, id: i64) -> Result<Deleted, SnapError> {
    client.delete(&format!("/keys/{id}")).await?;
    Ok(Deleted::new("key", id))
}
