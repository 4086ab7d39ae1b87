//! Upstream's database schema: the alembic chain of placement 16.0.0,
//! reproduced per backend, and a describer that reads a schema back as the
//! database reports it.
//!
//! Python and Rust API workers share one database, so the schema is not ours
//! to design: every table, column type, constraint and index name, and the
//! `alembic_version` bookkeeping, is what upstream's `placement-manage db
//! sync` creates. Our migrations are hand-written DDL that reproduces
//! alembic's output on each backend (`ddl`), applied one revision per
//! transaction by [`crate::ops::schema::sync`]; upstream's tools then see a
//! database they could have made themselves, and ours can take over one they
//! made.
//!
//! # Layout
//! - this file: the chain of revisions, in order, and the table names.
//! - `ddl`: the statements of each revision, per backend.
//! - `migrate`: leaf statements for `alembic_version`, catalog inspection and
//!   applying one revision inside a caller's transaction.
//! - [`describe()`]: the normalized catalog reader the schema tests compare
//!   against upstream's fixtures.

mod ddl;
mod describe;
pub(crate) mod migrate;

pub use describe::{
    describe, ColumnDescription, ForeignKeyDescription, IndexDescription, KeyDescription,
    SchemaDescription, TableDescription,
};

/// One revision of upstream's alembic chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revision {
    /// The alembic revision id stored in `alembic_version.version_num`.
    pub id: &'static str,
    /// The revision it upgrades from (`None` for the first).
    pub down_revision: Option<&'static str>,
    /// Upstream's one-line description, for logs.
    pub description: &'static str,
}

/// The first revision: the tables as they were copied out of `nova_api`.
/// Operators who moved data from nova stamp their database with it.
pub const INITIAL: &str = "b4ed3a175331";

/// The newest revision placement 16.0.0 knows; a database here needs nothing.
pub const HEAD: &str = "a082b8bb98d0";

/// Upstream's chain, oldest first. Position in this list is the order in
/// which [`crate::ops::schema::sync`] applies them.
pub const REVISIONS: &[Revision] = &[
    Revision {
        id: INITIAL,
        down_revision: None,
        description: "Initial",
    },
    Revision {
        id: "611cd6dffd7b",
        down_revision: Some(INITIAL),
        description: "Block on null root_provider_id",
    },
    Revision {
        id: "b5c396305c25",
        down_revision: Some("611cd6dffd7b"),
        description: "Block on null consumer",
    },
    Revision {
        id: "422ece571366",
        down_revision: Some("b5c396305c25"),
        description: "Add consumer_types table",
    },
    Revision {
        id: HEAD,
        down_revision: Some("422ece571366"),
        description: "Drop redundant indexes for unique constraints",
    },
];

/// The tables a database at [`HEAD`] holds besides `alembic_version`. Finding
/// any of them without a recorded revision means the schema was made some
/// other way (upstream's test fixtures build it from the models; operators
/// copied it out of `nova_api`), which we must not try to recreate.
pub const PLACEMENT_TABLES: &[&str] = &[
    "allocations",
    "consumer_types",
    "consumers",
    "inventories",
    "placement_aggregates",
    "projects",
    "resource_classes",
    "resource_provider_aggregates",
    "resource_provider_traits",
    "resource_providers",
    "traits",
    "users",
];

/// The position of `id` in [`REVISIONS`], or `None` for a revision this code
/// does not know (a newer upstream, or another project's alembic chain).
pub fn revision_index(id: &str) -> Option<usize> {
    REVISIONS.iter().position(|r| r.id == id)
}

/// Resolves a revision argument as `placement-manage db stamp` accepts it: a
/// known revision id, or `head`.
pub fn resolve_revision(arg: &str) -> Option<&'static Revision> {
    if arg == "head" {
        return REVISIONS.last();
    }
    REVISIONS.iter().find(|r| r.id == arg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_links_each_revision_to_the_one_before() {
        assert_eq!(REVISIONS[0].id, INITIAL);
        assert_eq!(REVISIONS.last().map(|r| r.id), Some(HEAD));
        for pair in REVISIONS.windows(2) {
            assert_eq!(pair[1].down_revision, Some(pair[0].id));
        }
    }

    #[test]
    fn head_resolves_to_the_last_revision_and_unknown_ids_to_nothing() {
        assert_eq!(resolve_revision("head").map(|r| r.id), Some(HEAD));
        assert_eq!(
            resolve_revision("611cd6dffd7b").map(|r| r.id),
            Some("611cd6dffd7b")
        );
        assert_eq!(resolve_revision("deadbeef0000"), None);
        assert_eq!(revision_index("b5c396305c25"), Some(2));
    }
}
