//! The DDL of each step of upstream's alembic chain, written out once per
//! backend.
//!
//! These strings are what SQLAlchemy 2 / alembic emit for placement 16.0.0 on
//! each dialect (captured with `connection_debug` during `placement-manage db
//! sync`), in the same order, so that the catalog a database ends up with —
//! implicit names included (PostgreSQL `<table>_<col>_fkey` and `<table>_pkey`,
//! MySQL `<table>_ibfk_<n>`, SQLite `sqlite_autoindex_<table>_<n>`) — is the
//! one upstream's own migrations produce. This file is the one place where the
//! schema is spelled per backend; every other query is written once.
//!
//! Differences that matter, per backend:
//! - PostgreSQL: integer primary keys are `SERIAL` (a sequence per table,
//!   even for `resource_classes`, whose ids the application assigns), `FLOAT`
//!   is `double precision`, datetimes are `TIMESTAMP WITHOUT TIME ZONE`.
//! - MySQL/MariaDB: `AUTO_INCREMENT` keys, `FLOAT` is single precision, no
//!   engine or charset clause (tables take the database default, as upstream's
//!   do), `DATETIME` without fractional seconds.
//! - SQLite: plain `INTEGER NOT NULL` keys (rowid aliases, no `AUTOINCREMENT`);
//!   revision `422ece571366` adds a column with a foreign key, which SQLite
//!   cannot do in place, so it rebuilds `consumers` the way alembic's
//!   `batch_alter_table` does.

/// `alembic_version`, created before the first step exactly as alembic
/// creates it (same on every backend).
pub(super) const CREATE_ALEMBIC_VERSION: &str = r"CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL,
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
)";

// ---------------------------------------------------------------------------
// b4ed3a175331: initial
// ---------------------------------------------------------------------------

pub(super) const INITIAL_POSTGRES: &[&str] = &[
    r"CREATE TABLE allocations (
	created_at TIMESTAMP WITHOUT TIME ZONE,
	updated_at TIMESTAMP WITHOUT TIME ZONE,
	id SERIAL NOT NULL,
	resource_provider_id INTEGER NOT NULL,
	consumer_id VARCHAR(36) NOT NULL,
	resource_class_id INTEGER NOT NULL,
	used INTEGER NOT NULL,
	PRIMARY KEY (id)
)",
    r"CREATE INDEX allocations_resource_provider_class_used_idx ON allocations (resource_provider_id, resource_class_id, used)",
    r"CREATE INDEX allocations_resource_class_id_idx ON allocations (resource_class_id)",
    r"CREATE INDEX allocations_consumer_id_idx ON allocations (consumer_id)",
    r"CREATE TABLE consumers (
	created_at TIMESTAMP WITHOUT TIME ZONE,
	updated_at TIMESTAMP WITHOUT TIME ZONE,
	id SERIAL NOT NULL,
	uuid VARCHAR(36) NOT NULL,
	project_id INTEGER NOT NULL,
	user_id INTEGER NOT NULL,
	generation INTEGER DEFAULT 0 NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_consumers0uuid UNIQUE (uuid)
)",
    r"CREATE INDEX consumers_project_id_user_id_uuid_idx ON consumers (project_id, user_id, uuid)",
    r"CREATE INDEX consumers_project_id_uuid_idx ON consumers (project_id, uuid)",
    r"CREATE TABLE inventories (
	created_at TIMESTAMP WITHOUT TIME ZONE,
	updated_at TIMESTAMP WITHOUT TIME ZONE,
	id SERIAL NOT NULL,
	resource_provider_id INTEGER NOT NULL,
	resource_class_id INTEGER NOT NULL,
	total INTEGER NOT NULL,
	reserved INTEGER NOT NULL,
	min_unit INTEGER NOT NULL,
	max_unit INTEGER NOT NULL,
	step_size INTEGER NOT NULL,
	allocation_ratio FLOAT NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_inventories0resource_provider_resource_class UNIQUE (resource_provider_id, resource_class_id)
)",
    r"CREATE INDEX inventories_resource_class_id_idx ON inventories (resource_class_id)",
    r"CREATE INDEX inventories_resource_provider_id_idx ON inventories (resource_provider_id)",
    r"CREATE INDEX inventories_resource_provider_resource_class_idx ON inventories (resource_provider_id, resource_class_id)",
    r"CREATE TABLE placement_aggregates (
	created_at TIMESTAMP WITHOUT TIME ZONE,
	updated_at TIMESTAMP WITHOUT TIME ZONE,
	id SERIAL NOT NULL,
	uuid VARCHAR(36),
	PRIMARY KEY (id),
	CONSTRAINT uniq_placement_aggregates0uuid UNIQUE (uuid)
)",
    r"CREATE INDEX ix_placement_aggregates_uuid ON placement_aggregates (uuid)",
    r"CREATE TABLE projects (
	created_at TIMESTAMP WITHOUT TIME ZONE,
	updated_at TIMESTAMP WITHOUT TIME ZONE,
	id SERIAL NOT NULL,
	external_id VARCHAR(255) NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_projects0external_id UNIQUE (external_id)
)",
    r"CREATE TABLE resource_classes (
	created_at TIMESTAMP WITHOUT TIME ZONE,
	updated_at TIMESTAMP WITHOUT TIME ZONE,
	id SERIAL NOT NULL,
	name VARCHAR(255) NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_resource_classes0name UNIQUE (name)
)",
    r"CREATE TABLE resource_provider_aggregates (
	created_at TIMESTAMP WITHOUT TIME ZONE,
	updated_at TIMESTAMP WITHOUT TIME ZONE,
	resource_provider_id INTEGER NOT NULL,
	aggregate_id INTEGER NOT NULL,
	PRIMARY KEY (resource_provider_id, aggregate_id)
)",
    r"CREATE INDEX resource_provider_aggregates_aggregate_id_idx ON resource_provider_aggregates (aggregate_id)",
    r"CREATE TABLE resource_providers (
	created_at TIMESTAMP WITHOUT TIME ZONE,
	updated_at TIMESTAMP WITHOUT TIME ZONE,
	id SERIAL NOT NULL,
	uuid VARCHAR(36) NOT NULL,
	name VARCHAR(200),
	generation INTEGER,
	root_provider_id INTEGER,
	parent_provider_id INTEGER,
	PRIMARY KEY (id),
	FOREIGN KEY(parent_provider_id) REFERENCES resource_providers (id),
	FOREIGN KEY(root_provider_id) REFERENCES resource_providers (id),
	CONSTRAINT uniq_resource_providers0name UNIQUE (name),
	CONSTRAINT uniq_resource_providers0uuid UNIQUE (uuid)
)",
    r"CREATE INDEX resource_providers_name_idx ON resource_providers (name)",
    r"CREATE INDEX resource_providers_parent_provider_id_idx ON resource_providers (parent_provider_id)",
    r"CREATE INDEX resource_providers_root_provider_id_idx ON resource_providers (root_provider_id)",
    r"CREATE INDEX resource_providers_uuid_idx ON resource_providers (uuid)",
    r"CREATE TABLE traits (
	created_at TIMESTAMP WITHOUT TIME ZONE,
	updated_at TIMESTAMP WITHOUT TIME ZONE,
	id SERIAL NOT NULL,
	name VARCHAR(255) NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_traits0name UNIQUE (name)
)",
    r"CREATE TABLE users (
	created_at TIMESTAMP WITHOUT TIME ZONE,
	updated_at TIMESTAMP WITHOUT TIME ZONE,
	id SERIAL NOT NULL,
	external_id VARCHAR(255) NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_users0external_id UNIQUE (external_id)
)",
    r"CREATE TABLE resource_provider_traits (
	created_at TIMESTAMP WITHOUT TIME ZONE,
	updated_at TIMESTAMP WITHOUT TIME ZONE,
	trait_id INTEGER NOT NULL,
	resource_provider_id INTEGER NOT NULL,
	PRIMARY KEY (trait_id, resource_provider_id),
	FOREIGN KEY(resource_provider_id) REFERENCES resource_providers (id),
	FOREIGN KEY(trait_id) REFERENCES traits (id)
)",
    r"CREATE INDEX resource_provider_traits_resource_provider_trait_idx ON resource_provider_traits (resource_provider_id, trait_id)",
];

pub(super) const INITIAL_MYSQL: &[&str] = &[
    r"CREATE TABLE allocations (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL AUTO_INCREMENT,
	resource_provider_id INTEGER NOT NULL,
	consumer_id VARCHAR(36) NOT NULL,
	resource_class_id INTEGER NOT NULL,
	used INTEGER NOT NULL,
	PRIMARY KEY (id)
)",
    r"CREATE INDEX allocations_resource_provider_class_used_idx ON allocations (resource_provider_id, resource_class_id, used)",
    r"CREATE INDEX allocations_resource_class_id_idx ON allocations (resource_class_id)",
    r"CREATE INDEX allocations_consumer_id_idx ON allocations (consumer_id)",
    r"CREATE TABLE consumers (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL AUTO_INCREMENT,
	uuid VARCHAR(36) NOT NULL,
	project_id INTEGER NOT NULL,
	user_id INTEGER NOT NULL,
	generation INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (id),
	CONSTRAINT uniq_consumers0uuid UNIQUE (uuid)
)",
    r"CREATE INDEX consumers_project_id_user_id_uuid_idx ON consumers (project_id, user_id, uuid)",
    r"CREATE INDEX consumers_project_id_uuid_idx ON consumers (project_id, uuid)",
    r"CREATE TABLE inventories (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL AUTO_INCREMENT,
	resource_provider_id INTEGER NOT NULL,
	resource_class_id INTEGER NOT NULL,
	total INTEGER NOT NULL,
	reserved INTEGER NOT NULL,
	min_unit INTEGER NOT NULL,
	max_unit INTEGER NOT NULL,
	step_size INTEGER NOT NULL,
	allocation_ratio FLOAT NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_inventories0resource_provider_resource_class UNIQUE (resource_provider_id, resource_class_id)
)",
    r"CREATE INDEX inventories_resource_class_id_idx ON inventories (resource_class_id)",
    r"CREATE INDEX inventories_resource_provider_id_idx ON inventories (resource_provider_id)",
    r"CREATE INDEX inventories_resource_provider_resource_class_idx ON inventories (resource_provider_id, resource_class_id)",
    r"CREATE TABLE placement_aggregates (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL AUTO_INCREMENT,
	uuid VARCHAR(36),
	PRIMARY KEY (id),
	CONSTRAINT uniq_placement_aggregates0uuid UNIQUE (uuid)
)",
    r"CREATE INDEX ix_placement_aggregates_uuid ON placement_aggregates (uuid)",
    r"CREATE TABLE projects (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL AUTO_INCREMENT,
	external_id VARCHAR(255) NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_projects0external_id UNIQUE (external_id)
)",
    r"CREATE TABLE resource_classes (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL AUTO_INCREMENT,
	name VARCHAR(255) NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_resource_classes0name UNIQUE (name)
)",
    r"CREATE TABLE resource_provider_aggregates (
	created_at DATETIME,
	updated_at DATETIME,
	resource_provider_id INTEGER NOT NULL,
	aggregate_id INTEGER NOT NULL,
	PRIMARY KEY (resource_provider_id, aggregate_id)
)",
    r"CREATE INDEX resource_provider_aggregates_aggregate_id_idx ON resource_provider_aggregates (aggregate_id)",
    r"CREATE TABLE resource_providers (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL AUTO_INCREMENT,
	uuid VARCHAR(36) NOT NULL,
	name VARCHAR(200),
	generation INTEGER,
	root_provider_id INTEGER,
	parent_provider_id INTEGER,
	PRIMARY KEY (id),
	FOREIGN KEY(parent_provider_id) REFERENCES resource_providers (id),
	FOREIGN KEY(root_provider_id) REFERENCES resource_providers (id),
	CONSTRAINT uniq_resource_providers0name UNIQUE (name),
	CONSTRAINT uniq_resource_providers0uuid UNIQUE (uuid)
)",
    r"CREATE INDEX resource_providers_name_idx ON resource_providers (name)",
    r"CREATE INDEX resource_providers_parent_provider_id_idx ON resource_providers (parent_provider_id)",
    r"CREATE INDEX resource_providers_root_provider_id_idx ON resource_providers (root_provider_id)",
    r"CREATE INDEX resource_providers_uuid_idx ON resource_providers (uuid)",
    r"CREATE TABLE traits (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL AUTO_INCREMENT,
	name VARCHAR(255) NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_traits0name UNIQUE (name)
)",
    r"CREATE TABLE users (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL AUTO_INCREMENT,
	external_id VARCHAR(255) NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_users0external_id UNIQUE (external_id)
)",
    r"CREATE TABLE resource_provider_traits (
	created_at DATETIME,
	updated_at DATETIME,
	trait_id INTEGER NOT NULL,
	resource_provider_id INTEGER NOT NULL,
	PRIMARY KEY (trait_id, resource_provider_id),
	FOREIGN KEY(resource_provider_id) REFERENCES resource_providers (id),
	FOREIGN KEY(trait_id) REFERENCES traits (id)
)",
    r"CREATE INDEX resource_provider_traits_resource_provider_trait_idx ON resource_provider_traits (resource_provider_id, trait_id)",
];

pub(super) const INITIAL_SQLITE: &[&str] = &[
    r"CREATE TABLE allocations (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL,
	resource_provider_id INTEGER NOT NULL,
	consumer_id VARCHAR(36) NOT NULL,
	resource_class_id INTEGER NOT NULL,
	used INTEGER NOT NULL,
	PRIMARY KEY (id)
)",
    r"CREATE INDEX allocations_resource_provider_class_used_idx ON allocations (resource_provider_id, resource_class_id, used)",
    r"CREATE INDEX allocations_resource_class_id_idx ON allocations (resource_class_id)",
    r"CREATE INDEX allocations_consumer_id_idx ON allocations (consumer_id)",
    r"CREATE TABLE consumers (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL,
	uuid VARCHAR(36) NOT NULL,
	project_id INTEGER NOT NULL,
	user_id INTEGER NOT NULL,
	generation INTEGER DEFAULT 0 NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_consumers0uuid UNIQUE (uuid)
)",
    r"CREATE INDEX consumers_project_id_user_id_uuid_idx ON consumers (project_id, user_id, uuid)",
    r"CREATE INDEX consumers_project_id_uuid_idx ON consumers (project_id, uuid)",
    r"CREATE TABLE inventories (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL,
	resource_provider_id INTEGER NOT NULL,
	resource_class_id INTEGER NOT NULL,
	total INTEGER NOT NULL,
	reserved INTEGER NOT NULL,
	min_unit INTEGER NOT NULL,
	max_unit INTEGER NOT NULL,
	step_size INTEGER NOT NULL,
	allocation_ratio FLOAT NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_inventories0resource_provider_resource_class UNIQUE (resource_provider_id, resource_class_id)
)",
    r"CREATE INDEX inventories_resource_class_id_idx ON inventories (resource_class_id)",
    r"CREATE INDEX inventories_resource_provider_id_idx ON inventories (resource_provider_id)",
    r"CREATE INDEX inventories_resource_provider_resource_class_idx ON inventories (resource_provider_id, resource_class_id)",
    r"CREATE TABLE placement_aggregates (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL,
	uuid VARCHAR(36),
	PRIMARY KEY (id),
	CONSTRAINT uniq_placement_aggregates0uuid UNIQUE (uuid)
)",
    r"CREATE INDEX ix_placement_aggregates_uuid ON placement_aggregates (uuid)",
    r"CREATE TABLE projects (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL,
	external_id VARCHAR(255) NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_projects0external_id UNIQUE (external_id)
)",
    r"CREATE TABLE resource_classes (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL,
	name VARCHAR(255) NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_resource_classes0name UNIQUE (name)
)",
    r"CREATE TABLE resource_provider_aggregates (
	created_at DATETIME,
	updated_at DATETIME,
	resource_provider_id INTEGER NOT NULL,
	aggregate_id INTEGER NOT NULL,
	PRIMARY KEY (resource_provider_id, aggregate_id)
)",
    r"CREATE INDEX resource_provider_aggregates_aggregate_id_idx ON resource_provider_aggregates (aggregate_id)",
    r"CREATE TABLE resource_providers (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL,
	uuid VARCHAR(36) NOT NULL,
	name VARCHAR(200),
	generation INTEGER,
	root_provider_id INTEGER,
	parent_provider_id INTEGER,
	PRIMARY KEY (id),
	FOREIGN KEY(parent_provider_id) REFERENCES resource_providers (id),
	FOREIGN KEY(root_provider_id) REFERENCES resource_providers (id),
	CONSTRAINT uniq_resource_providers0name UNIQUE (name),
	CONSTRAINT uniq_resource_providers0uuid UNIQUE (uuid)
)",
    r"CREATE INDEX resource_providers_name_idx ON resource_providers (name)",
    r"CREATE INDEX resource_providers_parent_provider_id_idx ON resource_providers (parent_provider_id)",
    r"CREATE INDEX resource_providers_root_provider_id_idx ON resource_providers (root_provider_id)",
    r"CREATE INDEX resource_providers_uuid_idx ON resource_providers (uuid)",
    r"CREATE TABLE traits (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL,
	name VARCHAR(255) NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_traits0name UNIQUE (name)
)",
    r"CREATE TABLE users (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL,
	external_id VARCHAR(255) NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_users0external_id UNIQUE (external_id)
)",
    r"CREATE TABLE resource_provider_traits (
	created_at DATETIME,
	updated_at DATETIME,
	trait_id INTEGER NOT NULL,
	resource_provider_id INTEGER NOT NULL,
	PRIMARY KEY (trait_id, resource_provider_id),
	FOREIGN KEY(resource_provider_id) REFERENCES resource_providers (id),
	FOREIGN KEY(trait_id) REFERENCES traits (id)
)",
    r"CREATE INDEX resource_provider_traits_resource_provider_trait_idx ON resource_provider_traits (resource_provider_id, trait_id)",
];

// ---------------------------------------------------------------------------
// 611cd6dffd7b and b5c396305c25: no DDL, only a refusal on unmigrated data
// ---------------------------------------------------------------------------

/// Counts providers whose `root_provider_id` was never filled in (the
/// `set_root_provider_ids` online migration fixes them).
pub(super) const COUNT_NULL_ROOT_PROVIDERS: &str =
    r"SELECT COUNT(*) FROM resource_providers WHERE resource_providers.root_provider_id IS NULL";

/// Counts allocation rows whose consumer UUID has no `consumers` row (the
/// `create_incomplete_consumers` online migration fixes them).
pub(super) const COUNT_ALLOCATIONS_WITHOUT_CONSUMER: &str = r"SELECT COUNT(*)
FROM allocations LEFT OUTER JOIN consumers ON allocations.consumer_id = consumers.uuid
WHERE consumers.id IS NULL";

// ---------------------------------------------------------------------------
// 422ece571366: consumer_types and consumers.consumer_type_id
// ---------------------------------------------------------------------------

pub(super) const CONSUMER_TYPES_POSTGRES: &[&str] = &[
    r"CREATE TABLE consumer_types (
	created_at TIMESTAMP WITHOUT TIME ZONE,
	updated_at TIMESTAMP WITHOUT TIME ZONE,
	id SERIAL NOT NULL,
	name VARCHAR(255) NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_consumer_types0name UNIQUE (name)
)",
    r"ALTER TABLE consumers ADD COLUMN consumer_type_id INTEGER",
    r"ALTER TABLE consumers ADD CONSTRAINT consumers_consumer_type_id_fkey FOREIGN KEY(consumer_type_id) REFERENCES consumer_types (id)",
    r"CREATE INDEX consumers_consumer_type_id_idx ON consumers (consumer_type_id)",
];

pub(super) const CONSUMER_TYPES_MYSQL: &[&str] = &[
    r"CREATE TABLE consumer_types (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL AUTO_INCREMENT,
	name VARCHAR(255) NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_consumer_types0name UNIQUE (name)
)",
    r"ALTER TABLE consumers ADD COLUMN consumer_type_id INTEGER",
    // MySQL first creates an index named after the constraint to back the
    // foreign key, then silently drops it when the explicit index below can
    // serve instead; upstream's databases end up without it too.
    r"ALTER TABLE consumers ADD CONSTRAINT consumers_consumer_type_id_fkey FOREIGN KEY(consumer_type_id) REFERENCES consumer_types (id)",
    r"CREATE INDEX consumers_consumer_type_id_idx ON consumers (consumer_type_id)",
];

/// SQLite cannot add a foreign key to an existing table: build the new
/// table beside the old one, copy the rows, swap, and recreate the indexes
/// (the table name and the temporary name are alembic's, so the stored
/// `CREATE TABLE` text matches upstream's).
pub(super) const CONSUMER_TYPES_SQLITE: &[&str] = &[
    r"CREATE TABLE consumer_types (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL,
	name VARCHAR(255) NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_consumer_types0name UNIQUE (name)
)",
    r"CREATE TABLE _alembic_tmp_consumers (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL,
	uuid VARCHAR(36) NOT NULL,
	project_id INTEGER NOT NULL,
	user_id INTEGER NOT NULL,
	generation INTEGER DEFAULT 0 NOT NULL,
	consumer_type_id INTEGER,
	PRIMARY KEY (id),
	CONSTRAINT uniq_consumers0uuid UNIQUE (uuid),
	CONSTRAINT consumers_consumer_type_id_fkey FOREIGN KEY(consumer_type_id) REFERENCES consumer_types (id)
)",
    r"INSERT INTO _alembic_tmp_consumers (created_at, updated_at, id, uuid, project_id, user_id, generation) SELECT consumers.created_at, consumers.updated_at, consumers.id, consumers.uuid, consumers.project_id, consumers.user_id, consumers.generation
FROM consumers",
    r"DROP TABLE consumers",
    r"ALTER TABLE _alembic_tmp_consumers RENAME TO consumers",
    r"CREATE INDEX consumers_project_id_user_id_uuid_idx ON consumers (project_id, user_id, uuid)",
    r"CREATE INDEX consumers_project_id_uuid_idx ON consumers (project_id, uuid)",
    r"CREATE INDEX consumers_consumer_type_id_idx ON consumers (consumer_type_id)",
];

// ---------------------------------------------------------------------------
// a082b8bb98d0: drop indexes that duplicate unique constraints
// ---------------------------------------------------------------------------

/// PostgreSQL and SQLite name indexes per schema, so `DROP INDEX` needs no
/// table.
pub(super) const DROP_REDUNDANT_INDEXES: &[&str] = &[
    r"DROP INDEX inventories_resource_provider_id_idx",
    r"DROP INDEX inventories_resource_provider_resource_class_idx",
    r"DROP INDEX ix_placement_aggregates_uuid",
    r"DROP INDEX resource_providers_name_idx",
    r"DROP INDEX resource_providers_uuid_idx",
];

/// MySQL names indexes per table.
pub(super) const DROP_REDUNDANT_INDEXES_MYSQL: &[&str] = &[
    r"DROP INDEX inventories_resource_provider_id_idx ON inventories",
    r"DROP INDEX inventories_resource_provider_resource_class_idx ON inventories",
    r"DROP INDEX ix_placement_aggregates_uuid ON placement_aggregates",
    r"DROP INDEX resource_providers_name_idx ON resource_providers",
    r"DROP INDEX resource_providers_uuid_idx ON resource_providers",
];
