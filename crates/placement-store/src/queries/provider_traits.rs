//! `resource_provider_traits`: which traits a provider has, and replacing
//! them one association at a time.

use placement_core::traits::Trait;

use crate::db::{Row, Tx};
use crate::error::Result;
use crate::params;

/// A trait with its internal id, as a provider's association needs it.
pub(crate) struct ProviderTrait {
    pub(crate) id: i64,
    pub(crate) trait_: Trait,
}

fn from_row(r: &Row) -> Result<ProviderTrait> {
    Ok(ProviderTrait {
        id: r.get_i64(0)?,
        trait_: Trait {
            name: r.get_string(1)?,
            created_at: r.get_opt_timestamp(2)?,
            updated_at: r.get_opt_timestamp(3)?,
        },
    })
}

/// The traits of provider `rp_id`, in trait id order (upstream's statement
/// has no ORDER BY; its plans read the association's index in that order).
pub(crate) async fn for_provider(tx: &mut Tx, rp_id: i64) -> Result<Vec<ProviderTrait>> {
    tx.fetch_all_with(
        r"SELECT t.id, t.name, t.created_at, t.updated_at
  FROM traits t
  JOIN resource_provider_traits rpt ON rpt.trait_id = t.id
 WHERE rpt.resource_provider_id = ?
 ORDER BY t.id",
        params![rp_id],
        from_row,
    )
    .await
}

/// Associates trait `trait_id` with provider `rp_id`.
pub(crate) async fn add(tx: &mut Tx, rp_id: i64, trait_id: i64) -> Result<u64> {
    tx.execute(
        r"INSERT INTO resource_provider_traits (resource_provider_id, trait_id, created_at) VALUES (?, ?, ?)",
        params![rp_id, trait_id, crate::queries::utcnow()],
    )
    .await
}

/// Drops the association of trait `trait_id` with provider `rp_id`.
pub(crate) async fn remove(tx: &mut Tx, rp_id: i64, trait_id: i64) -> Result<u64> {
    tx.execute(
        r"DELETE FROM resource_provider_traits WHERE resource_provider_id = ? AND trait_id = ?",
        params![rp_id, trait_id],
    )
    .await
}
