//! The store's one error type.
//!
//! Variants mirror upstream's `placement/exception.py` for the failures a unit
//! of work can report, so the HTTP layer can map each one to upstream's status
//! and `code` at the call site. Database failures are classified by the
//! driver's error code (never by message text) into the three kinds a caller
//! acts on: a unique violation (the row exists), a transient failure (retry the
//! whole unit of work) and everything else.

use std::fmt;

/// upstream's `ConcurrentUpdateDetected` text: a generation
/// compare-and-swap (of a consumer, or of a provider inside an inventory
/// write) matched no row.
pub const CONCURRENT_UPDATE: &str =
    "Another thread concurrently updated the data. Please retry your update";

/// upstream's `ResourceProviderConcurrentUpdateDetected` text: a provider's
/// compare-and-swap lost to another writer (traits, aggregates, deletes,
/// and allocation writes whose retries ran out).
pub const PROVIDER_CONCURRENT_UPDATE: &str =
    "Another thread concurrently updated the resource provider data. Please retry your update";

/// Result of every store operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a unit of work can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The consumer UUID has no `consumers` row.
    #[error("No such consumer(s): {0}.")]
    ConsumerNotFound(String),

    /// A consumer with this UUID already exists (creation lost a race, or the
    /// caller believed it was new).
    #[error("The consumer {0} already exists.")]
    ConsumerExists(String),

    /// No trait has this name.
    #[error("No such trait(s): {0}.")]
    TraitNotFound(String),

    /// Standard (non-`CUSTOM_`) traits are never deleted.
    #[error("Cannot delete standard trait {0}.")]
    TraitCannotDeleteStandard(String),

    /// A trait some resource provider has cannot be deleted.
    #[error("The trait {0} is in use by a resource provider.")]
    TraitInUse(String),

    /// No resource provider has this uuid (upstream's `NotFound` from
    /// `_get_provider_by_uuid`).
    #[error("No resource provider with uuid {0} found")]
    ResourceProviderNotFound(String),

    /// A provider with this uuid already exists.
    #[error("Conflicting resource provider uuid: {0} already exists.")]
    DuplicateProviderUuid(String),

    /// A provider with this name already exists.
    #[error("Conflicting resource provider name: {0} already exists.")]
    DuplicateProviderName(String),

    /// A provider write was refused (upstream's `ObjectActionError`): a
    /// missing parent, a forbidden re-parenting, a loop.
    #[error("Object action {action} failed because: {reason}")]
    ProviderActionError {
        /// `create` or `update`, as upstream names the action.
        action: &'static str,
        /// upstream's reason text.
        reason: &'static str,
    },

    /// The provider has allocations and cannot be deleted.
    #[error("Resource provider has allocations.")]
    ResourceProviderInUse,

    /// The provider has children and cannot be deleted.
    #[error("Cannot delete resource provider that is a parent of another. Delete child providers first.")]
    CannotDeleteParentResourceProvider,

    /// A compare-and-swap on a generation matched no row: somebody else
    /// changed the row after it was read. The text is one of
    /// [`CONCURRENT_UPDATE`] and [`PROVIDER_CONCURRENT_UPDATE`] (see
    /// [`Error::concurrent_update`]), or, for the early check of an
    /// inventory write, `ops::inventory::GENERATION_CONFLICT`.
    #[error("{0}")]
    ConcurrentUpdate(String),

    /// The generation the client sent is not the stored one: its view is
    /// stale. Kept apart from [`Error::ConcurrentUpdate`] because upstream
    /// words the two conflicts differently on some routes.
    #[error("{0}")]
    GenerationMismatch(String),

    /// No resource class has this name.
    #[error("No such resource class {0}.")]
    ResourceClassNotFound(String),

    /// A resource class with this name already exists.
    #[error("Resource class {0} already exists.")]
    ResourceClassExists(String),

    /// Standard resource classes (ids below 10000) cannot be deleted.
    #[error("Cannot delete standard resource class {0}.")]
    ResourceClassCannotDeleteStandard(String),

    /// Standard resource classes (ids below 10000) cannot be renamed.
    #[error("Cannot update standard resource class {0}.")]
    ResourceClassCannotUpdateStandard(String),

    /// The resource class still has inventory somewhere.
    #[error("Cannot delete resource class {0}. Class is in use in inventory.")]
    ResourceClassInUse(String),

    /// Removing inventory the provider has allocations of (upstream's
    /// `InventoryInUse`); `resource_classes` joins the names with `, `.
    #[error(
        "Inventory for '{resource_classes}' on resource provider '{resource_provider}' in use."
    )]
    InventoryInUse {
        /// The allocated classes, comma-separated as upstream lists them.
        resource_classes: String,
        /// The provider's uuid.
        resource_provider: String,
    },

    /// The provider has no inventory of this class to delete (upstream's
    /// `NotFound` raised by `_delete_inventory`).
    #[error("No inventory of class {0} found for delete")]
    InventoryNotFoundForDelete(String),

    /// An update matched no inventory row (upstream's
    /// `InventoryWithResourceClassNotFound`).
    #[error("No inventory of class {0} found.")]
    InventoryWithResourceClassNotFound(String),

    /// The provider already has inventory of this class (a duplicate
    /// insert, upstream's `DBDuplicateEntry`, without the SQL upstream leaks).
    #[error(
        "Inventory for {resource_class} on resource provider {resource_provider} already exists."
    )]
    InventoryExists {
        /// The class name.
        resource_class: String,
        /// The provider's uuid.
        resource_provider: String,
    },

    /// An allocation names a provider that does not exist (upstream's
    /// handler-level 400, worded as upstream words it).
    #[error("Allocation for resource provider '{0}' that does not exist.")]
    AllocationProviderNotFound(String),

    /// The consumer generation the client sent (`got`) is not the stored
    /// one (`expected`); both are rendered as upstream renders them
    /// (`null`/`None` for absent). Never retried: the client's view is stale.
    #[error("consumer generation conflict - expected {expected} but got {got}")]
    ConsumerGenerationConflict {
        /// The stored generation, or `null` when there is no consumer.
        expected: String,
        /// What the client sent, `None` for JSON null.
        got: String,
    },

    /// The provider has no inventory of a class being allocated (upstream's
    /// `InvalidInventory`); several classes or providers are joined with `, `.
    #[error(
        "Inventory for '{resource_class}' on resource provider '{resource_provider}' invalid."
    )]
    InvalidInventory {
        /// The class name(s).
        resource_class: String,
        /// The provider uuid(s).
        resource_provider: String,
    },

    /// An allocation would take usage past capacity (upstream's
    /// `InvalidAllocationCapacityExceeded`).
    #[error("Unable to create allocation for '{resource_class}' on resource provider '{resource_provider}'. The requested amount would exceed the capacity.")]
    AllocationCapacityExceeded {
        /// The class name.
        resource_class: String,
        /// The provider uuid.
        resource_provider: String,
    },

    /// An allocation breaks min_unit, max_unit or step_size (upstream's
    /// `InvalidAllocationConstraintsViolated`).
    #[error("Unable to create allocation for '{resource_class}' on resource provider '{resource_provider}'. The requested amount would violate inventory constraints.")]
    AllocationConstraintsViolated {
        /// The class name.
        resource_class: String,
        /// The provider uuid.
        resource_provider: String,
    },

    /// `DELETE /allocations/{consumer}` found nothing to delete.
    #[error("No allocations for consumer '{0}'")]
    AllocationsNotFound(String),

    /// A retry loop ran out of attempts (upstream's `MaxDBRetriesExceeded`);
    /// the text names the action, as upstream's does.
    #[error("Max retries of DB transaction exceeded attempting to perform {0}.")]
    MaxDbRetriesExceeded(String),

    /// `GET /allocation_candidates` named a resource class or trait that
    /// does not exist, where upstream looks it up (`root_required` at once,
    /// a group's names only when the engine reaches that group): a 400 with
    /// this text.
    #[error(transparent)]
    CandidatesRequest(#[from] placement_core::candidates::model::LazyError),

    /// The schema is not one this code can serve or migrate.
    #[error("{0}")]
    Schema(String),

    /// The database failed; see [`DbError::kind`] to decide whether to retry.
    #[error(transparent)]
    Database(#[from] DbError),
}

impl Error {
    /// upstream's `ConcurrentUpdateDetected`.
    pub(crate) fn concurrent_update() -> Error {
        Error::ConcurrentUpdate(CONCURRENT_UPDATE.to_owned())
    }

    /// upstream's `ResourceProviderConcurrentUpdateDetected`.
    pub(crate) fn provider_concurrent_update() -> Error {
        Error::ConcurrentUpdate(PROVIDER_CONCURRENT_UPDATE.to_owned())
    }

    /// upstream's `NotFound` family: the failures its dispatcher answers
    /// with 404 when a handler lets them escape.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Error::ResourceClassNotFound(_)
                | Error::ResourceProviderNotFound(_)
                | Error::ConsumerNotFound(_)
                | Error::TraitNotFound(_)
                | Error::InventoryNotFoundForDelete(_)
                | Error::InventoryWithResourceClassNotFound(_)
                | Error::AllocationsNotFound(_)
        )
    }

    /// upstream's `InvalidInventory` family: no such inventory, capacity
    /// exceeded, constraints violated, inventory in use.
    pub fn is_invalid_inventory(&self) -> bool {
        matches!(
            self,
            Error::InvalidInventory { .. }
                | Error::AllocationCapacityExceeded { .. }
                | Error::AllocationConstraintsViolated { .. }
                | Error::InventoryInUse { .. }
        )
    }

    /// upstream's `ConcurrentUpdateDetected` family plus the stale
    /// generation a client sent: a 409 the client resolves by re-reading.
    pub fn is_concurrent_update(&self) -> bool {
        matches!(
            self,
            Error::ConcurrentUpdate(_) | Error::GenerationMismatch(_)
        )
    }

    /// upstream's `Exists` family (and `DBDuplicateEntry` turned into one):
    /// the row the write would create is already there.
    pub fn is_duplicate(&self) -> bool {
        matches!(
            self,
            Error::ConsumerExists(_)
                | Error::DuplicateProviderUuid(_)
                | Error::DuplicateProviderName(_)
                | Error::ResourceClassExists(_)
                | Error::InventoryExists { .. }
        )
    }

    /// The database itself failed, or holds a schema this code cannot
    /// serve: a server error, logged and hidden from the client.
    pub fn is_database(&self) -> bool {
        matches!(self, Error::Database(_) | Error::Schema(_))
    }

    /// True when retrying the whole unit of work in a fresh transaction may
    /// succeed (deadlock, serialization failure, lost connection).
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Database(e) if e.kind().is_transient())
    }

    /// A provider write chosen as a deadlock victim (or failing
    /// serialization) lost a race with a concurrent writer of the same
    /// provider: report it as the conflict it is, so the client re-reads and
    /// retries, instead of as a server failure. Upstream leaks these as 500s.
    #[must_use]
    pub(crate) fn lost_race(self, conflict: fn() -> Error) -> Error {
        match self {
            Error::Database(e) if e.kind() == DbErrorKind::Deadlock => conflict(),
            other => other,
        }
    }
}

/// How a database failure should be handled, independent of the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbErrorKind {
    /// A unique or primary-key constraint rejected the write.
    UniqueViolation,
    /// Deadlock, serialization failure, lock timeout or (SQLite) a busy
    /// database: the transaction was rolled back and may be retried.
    Deadlock,
    /// The connection broke or none could be had in time; retrying may help.
    ConnectionLost,
    /// A foreign key refused the write: the referenced row went away (or a
    /// referencing row appeared) under a concurrent transaction.
    ForeignKeyViolation,
    /// Anything else: a bug or a schema mismatch. Not retried.
    Other,
}

impl DbErrorKind {
    /// Deadlocks and lost connections are worth a retry; nothing else is.
    pub fn is_transient(self) -> bool {
        matches!(self, DbErrorKind::Deadlock | DbErrorKind::ConnectionLost)
    }
}

/// A classified database error, keeping the driver's error as its source.
#[derive(Debug)]
pub struct DbError {
    kind: DbErrorKind,
    source: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl DbError {
    /// The classification callers branch on.
    pub fn kind(&self) -> DbErrorKind {
        self.kind
    }

    /// An error raised by the seam itself (for example a value of a type the
    /// seam cannot decode): always [`DbErrorKind::Other`].
    pub(crate) fn other(message: impl Into<String>) -> DbError {
        DbError {
            kind: DbErrorKind::Other,
            source: message.into().into(),
        }
    }

    /// A lock the seam itself waits for could not be had in time: as
    /// transient as the database's own busy or deadlock errors.
    pub(crate) fn lock_timeout(message: impl Into<String>) -> DbError {
        DbError {
            kind: DbErrorKind::Deadlock,
            source: message.into().into(),
        }
    }

    /// Classifies a driver error by its backend error code.
    pub(crate) fn from_sqlx(err: sqlx::Error) -> DbError {
        let kind = classify(&err);
        DbError {
            kind,
            source: Box::new(err),
        }
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "database error ({:?}): {}", self.kind, self.source)
    }
}

impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Error::Database(DbError::from_sqlx(err))
    }
}

fn classify(err: &sqlx::Error) -> DbErrorKind {
    match err {
        sqlx::Error::Database(db) => classify_database(db.as_ref()),
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => DbErrorKind::ConnectionLost,
        _ => DbErrorKind::Other,
    }
}

fn classify_database(db: &(dyn sqlx::error::DatabaseError + 'static)) -> DbErrorKind {
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        return classify_sqlstate(pg.code());
    }
    if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return match my.number() {
            // ER_DUP_ENTRY, ER_DUP_KEY, ER_DUP_ENTRY_WITH_KEY_NAME
            1062 | 1022 | 1586 => DbErrorKind::UniqueViolation,
            // ER_ROW_IS_REFERENCED(_2), ER_NO_REFERENCED_ROW(_2)
            1451 | 1452 | 1216 | 1217 => DbErrorKind::ForeignKeyViolation,
            // ER_LOCK_DEADLOCK (also Galera certification failures), ER_LOCK_WAIT_TIMEOUT
            1213 | 1205 => DbErrorKind::Deadlock,
            // server gone away, lost connection, server shutdown, WSREP not ready
            2006 | 2013 | 1053 | 1047 => DbErrorKind::ConnectionLost,
            _ => match my.code() {
                Some(state) => classify_sqlstate(state),
                None => DbErrorKind::Other,
            },
        };
    }
    if let Some(code) = db.code() {
        // SQLite: extended result codes.
        if let Ok(n) = code.parse::<i64>() {
            return match n {
                // SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
                2067 | 1555 => DbErrorKind::UniqueViolation,
                // SQLITE_CONSTRAINT_FOREIGNKEY
                787 => DbErrorKind::ForeignKeyViolation,
                // SQLITE_BUSY (+ extended), SQLITE_LOCKED (+ extended)
                n if n & 0xff == 5 || n & 0xff == 6 => DbErrorKind::Deadlock,
                _ => DbErrorKind::Other,
            };
        }
    }
    match db.kind() {
        sqlx::error::ErrorKind::UniqueViolation => DbErrorKind::UniqueViolation,
        _ => DbErrorKind::Other,
    }
}

fn classify_sqlstate(state: &str) -> DbErrorKind {
    match state {
        "23505" => DbErrorKind::UniqueViolation,
        "23503" => DbErrorKind::ForeignKeyViolation,
        "40001" | "40P01" | "55P03" => DbErrorKind::Deadlock,
        s if s.starts_with("08") || s == "57P01" || s == "57P02" || s == "57P03" => {
            DbErrorKind::ConnectionLost
        }
        _ => DbErrorKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_states_classify_as_upstream_retries_them() {
        assert_eq!(classify_sqlstate("23505"), DbErrorKind::UniqueViolation);
        assert_eq!(classify_sqlstate("23503"), DbErrorKind::ForeignKeyViolation);
        assert_eq!(classify_sqlstate("40001"), DbErrorKind::Deadlock);
        assert_eq!(classify_sqlstate("40P01"), DbErrorKind::Deadlock);
        assert_eq!(classify_sqlstate("08006"), DbErrorKind::ConnectionLost);
        assert_eq!(classify_sqlstate("42P01"), DbErrorKind::Other);
    }

    #[test]
    fn pool_timeouts_are_transient() {
        let err: Error = sqlx::Error::PoolTimedOut.into();
        assert!(err.is_transient());
        let err: Error = sqlx::Error::RowNotFound.into();
        assert!(!err.is_transient());
    }
}
