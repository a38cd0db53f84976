//! Connect links in the state table: `CONNECT#<digest of the link id>`, `CONNECT`, the link as JSON in `link`
//! and its version in `version`. Every change is a put conditioned on the version it was decided on; the
//! table's TTL (`expires_at`) removes a link a while after it expired or was used.

use async_trait::async_trait;

use super::keys::{CONNECT_SK, connect_pk};
use super::state::encode;
use super::{DynamoStateStore, Item, n, put_versioned, s};
use crate::domain::ConnectLink;
use crate::error::StoreError;
use crate::ports::ConnectLinkStore;

#[async_trait]
impl ConnectLinkStore for DynamoStateStore {
    async fn get_link(&self, id_hash: &str) -> Result<Option<ConnectLink>, StoreError> {
        self.get_decoded(connect_pk(id_hash), CONNECT_SK.to_owned(), "link")
            .await
    }

    async fn save_link(&self, link: &ConnectLink, expected: Option<u64>) -> Result<bool, StoreError> {
        let item = Item::from([
            ("pk".into(), s(connect_pk(&link.id_hash))),
            ("sk".into(), s(CONNECT_SK)),
            ("kind".into(), s("connect_link")),
            ("link".into(), encode(&link.id_hash, link)?),
            ("version".into(), n(link.version)),
            ("expires_at".into(), n(link.keep_until().timestamp())),
        ]);
        put_versioned(&self.client, &self.table, item, expected).await
    }
}
