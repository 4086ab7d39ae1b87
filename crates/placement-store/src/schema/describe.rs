//! Reads a database's schema back from its catalog, normalized so that two
//! databases on the same backend compare equal exactly when upstream's tools
//! and ours would see the same schema.
//!
//! The schema tests compare what our migrations build with fixtures captured
//! from databases upstream's `placement-manage db sync` built
//! (`tools/capture-upstream-schema.sh`). Only the catalog is read — never our
//! own DDL — so a difference in a type, a nullability, a default, or a
//! constraint or index name shows up as a failing diff.
//!
//! Sources per backend: `pg_catalog` for PostgreSQL; `information_schema`
//! for MySQL/MariaDB; `sqlite_master` and the `pragma_*` table functions for
//! SQLite, whose catalog does not keep constraint names, so those are read
//! from the stored `CREATE TABLE` text (as SQLAlchemy's reflection does).
//!
//! Normalizations, each because the raw value depends on the server rather
//! than on the schema: MySQL integer display widths are dropped (MySQL 8
//! stopped reporting them), a MySQL table or column collation equal to the
//! database default reads `(database default)` (upstream's tables inherit
//! the database's charset), MariaDB's `'NULL'` default reads as no default,
//! and SQLite's stored SQL has its whitespace collapsed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::db::{Backend, Database, OwnedRow as Row, Tx, Value};
use crate::error::Result;
use crate::params;

/// A whole schema: every base table of the connection's database/schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaDescription {
    /// `sqlite`, `postgresql` or `mysql`: descriptions of different backends
    /// are never equal.
    pub backend: String,
    /// Tables by name.
    pub tables: BTreeMap<String, TableDescription>,
}

/// One table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDescription {
    /// Columns in their stored order (a migration that appends a column must
    /// append it, as alembic's `ADD COLUMN` does).
    pub columns: Vec<ColumnDescription>,
    /// The primary key; its name where the backend keeps one.
    pub primary_key: Option<KeyDescription>,
    /// Unique constraints, by name (SQLite: by columns when unnamed).
    pub unique_constraints: Vec<KeyDescription>,
    /// Indexes that do not implement a primary key or unique constraint.
    pub indexes: Vec<IndexDescription>,
    /// Foreign keys, by name (SQLite: by columns when unnamed).
    pub foreign_keys: Vec<ForeignKeyDescription>,
    /// Backend-specific table options (MySQL: `engine`, `collation`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    /// SQLite only: the stored `CREATE TABLE` statement, whitespace
    /// collapsed; upstream's batch migrations and reflection parse it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
}

/// One column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnDescription {
    /// Column name.
    pub name: String,
    /// The type as the catalog spells it (`integer`, `character varying(36)`,
    /// `varchar(36)`, `DATETIME`, …).
    #[serde(rename = "type")]
    pub data_type: String,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// The default expression as the catalog reports it, if any.
    pub default: Option<String>,
    /// MySQL `EXTRA` (`auto_increment`), when not empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<String>,
    /// MySQL: the column collation when it differs from the table's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation: Option<String>,
}

/// A primary key or unique constraint.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KeyDescription {
    /// Constraint name, when the backend keeps or the DDL gave one.
    pub name: Option<String>,
    /// Columns in key order.
    pub columns: Vec<String>,
}

/// A plain index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IndexDescription {
    /// Index name.
    pub name: String,
    /// Columns in index order.
    pub columns: Vec<String>,
    /// Whether the index is UNIQUE.
    pub unique: bool,
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ForeignKeyDescription {
    /// Constraint name, when the backend keeps or the DDL gave one.
    pub name: Option<String>,
    /// Referencing columns.
    pub columns: Vec<String>,
    /// Referenced table.
    pub referred_table: String,
    /// Referenced columns.
    pub referred_columns: Vec<String>,
    /// ON UPDATE action as the catalog reports it.
    pub on_update: String,
    /// ON DELETE action as the catalog reports it.
    pub on_delete: String,
}

/// Reads the schema of the database `db` points at (PostgreSQL: its current
/// schema, normally `public`).
///
/// # Errors
/// Any database error while reading the catalog.
pub async fn describe(db: &Database) -> Result<SchemaDescription> {
    let mut tx = db.begin_read().await?;
    let tables = match tx.backend() {
        Backend::Sqlite => sqlite::describe(&mut tx).await,
        Backend::Postgres => postgres::describe(&mut tx).await,
        Backend::MySql => mysql::describe(&mut tx).await,
    };
    // End the read explicitly: on MySQL a dropped transaction keeps its
    // metadata locks until the pool next touches the connection.
    let tables = match tables {
        Ok(tables) => {
            tx.commit().await?;
            tables
        }
        Err(e) => {
            tx.rollback().await.ok();
            return Err(e);
        }
    };
    Ok(SchemaDescription {
        backend: db.backend().name().to_owned(),
        tables,
    })
}

impl TableDescription {
    fn empty() -> TableDescription {
        TableDescription {
            columns: Vec::new(),
            primary_key: None,
            unique_constraints: Vec::new(),
            indexes: Vec::new(),
            foreign_keys: Vec::new(),
            options: BTreeMap::new(),
            sql: None,
        }
    }

    fn sort(&mut self) {
        self.unique_constraints.sort();
        self.indexes.sort();
        self.foreign_keys.sort();
    }
}

/// Any catalog value as text (catalogs mix integer and text columns, and
/// drivers differ on which is which).
fn text(row: &Row, idx: usize) -> Option<String> {
    match row.values().get(idx)? {
        Value::Null(_) => None,
        Value::Int(v) => Some(v.to_string()),
        Value::Float(v) => Some(v.to_string()),
        Value::Text(s) => Some(s.clone()),
        Value::Timestamp(t) => Some(t.to_string()),
    }
}

fn req(row: &Row, idx: usize) -> String {
    text(row, idx).unwrap_or_default()
}

fn truthy(row: &Row, idx: usize) -> bool {
    matches!(
        text(row, idx).as_deref(),
        Some("1" | "t" | "true" | "YES" | "yes")
    )
}

fn split_list(list: &str) -> Vec<String> {
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn table<'a>(
    tables: &'a mut BTreeMap<String, TableDescription>,
    name: &str,
) -> Option<&'a mut TableDescription> {
    tables.get_mut(name)
}

mod postgres {
    use super::*;

    const TABLES: &str = r"SELECT c.relname::text
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()";

    const COLUMNS: &str = r"SELECT c.relname::text, a.attname::text,
       pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_catalog.pg_get_expr(d.adbin, d.adrelid)
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum";

    const CONSTRAINTS: &str = r"SELECT cl.relname::text, con.conname::text, con.contype::text,
       (SELECT string_agg(a.attname::text, ',' ORDER BY k.ord)
          FROM unnest(con.conkey) WITH ORDINALITY AS k(num, ord)
          JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num),
       fcl.relname::text,
       (SELECT string_agg(a.attname::text, ',' ORDER BY k.ord)
          FROM unnest(con.confkey) WITH ORDINALITY AS k(num, ord)
          JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num),
       con.confupdtype::text, con.confdeltype::text
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class cl ON cl.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace
LEFT JOIN pg_catalog.pg_class fcl ON fcl.oid = con.confrelid
WHERE n.nspname = current_schema() AND con.contype IN ('p', 'u', 'f')";

    const INDEXES: &str = r"SELECT t.relname::text, i.relname::text, ix.indisunique,
       (SELECT string_agg(a.attname::text, ',' ORDER BY k.ord)
          FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(num, ord)
          JOIN pg_catalog.pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.num)
FROM pg_catalog.pg_index ix
JOIN pg_catalog.pg_class i ON i.oid = ix.indexrelid
JOIN pg_catalog.pg_class t ON t.oid = ix.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = current_schema() AND t.relkind IN ('r', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con
                  WHERE con.conindid = ix.indexrelid AND con.contype IN ('p', 'u'))";

    fn action(code: &str) -> String {
        match code {
            "a" => "NO ACTION",
            "r" => "RESTRICT",
            "c" => "CASCADE",
            "n" => "SET NULL",
            "d" => "SET DEFAULT",
            _ => code,
        }
        .to_owned()
    }

    pub(super) async fn describe(tx: &mut Tx) -> Result<BTreeMap<String, TableDescription>> {
        let mut tables: BTreeMap<String, TableDescription> = BTreeMap::new();
        for row in tx.fetch_all(TABLES, params![]).await? {
            tables.insert(req(&row, 0), TableDescription::empty());
        }
        for row in tx.fetch_all(COLUMNS, params![]).await? {
            if let Some(t) = table(&mut tables, &req(&row, 0)) {
                t.columns.push(ColumnDescription {
                    name: req(&row, 1),
                    data_type: req(&row, 2),
                    nullable: !truthy(&row, 3),
                    default: text(&row, 4),
                    extra: None,
                    collation: None,
                });
            }
        }
        for row in tx.fetch_all(CONSTRAINTS, params![]).await? {
            let Some(t) = table(&mut tables, &req(&row, 0)) else {
                continue;
            };
            let key = KeyDescription {
                name: text(&row, 1),
                columns: split_list(&req(&row, 3)),
            };
            match req(&row, 2).as_str() {
                "p" => t.primary_key = Some(key),
                "u" => t.unique_constraints.push(key),
                _ => t.foreign_keys.push(ForeignKeyDescription {
                    name: key.name,
                    columns: key.columns,
                    referred_table: req(&row, 4),
                    referred_columns: split_list(&req(&row, 5)),
                    on_update: action(&req(&row, 6)),
                    on_delete: action(&req(&row, 7)),
                }),
            }
        }
        for row in tx.fetch_all(INDEXES, params![]).await? {
            if let Some(t) = table(&mut tables, &req(&row, 0)) {
                t.indexes.push(IndexDescription {
                    name: req(&row, 1),
                    columns: split_list(&req(&row, 3)),
                    unique: truthy(&row, 2),
                });
            }
        }
        tables.values_mut().for_each(TableDescription::sort);
        Ok(tables)
    }
}

mod mysql {
    use super::*;

    const DATABASE_COLLATION: &str = r"SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA
WHERE SCHEMA_NAME = DATABASE()";

    const TABLES: &str = r"SELECT TABLE_NAME, ENGINE, TABLE_COLLATION FROM information_schema.TABLES
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'";

    const COLUMNS: &str = r"SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE,
       COLUMN_DEFAULT, EXTRA, COLLATION_NAME
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE()
ORDER BY TABLE_NAME, ORDINAL_POSITION";

    const KEY_COLUMNS: &str = r"SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, tc.CONSTRAINT_TYPE, k.COLUMN_NAME,
       k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, rc.UPDATE_RULE, rc.DELETE_RULE
FROM information_schema.KEY_COLUMN_USAGE k
JOIN information_schema.TABLE_CONSTRAINTS tc
  ON tc.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND tc.TABLE_NAME = k.TABLE_NAME
 AND tc.CONSTRAINT_NAME = k.CONSTRAINT_NAME
LEFT JOIN information_schema.REFERENTIAL_CONSTRAINTS rc
  ON rc.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND rc.TABLE_NAME = k.TABLE_NAME
 AND rc.CONSTRAINT_NAME = k.CONSTRAINT_NAME
WHERE k.TABLE_SCHEMA = DATABASE()
  AND tc.CONSTRAINT_TYPE IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')
ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION";

    const INDEX_COLUMNS: &str = r"SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = DATABASE()
ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX";

    const DEFAULT_COLLATION: &str = "(database default)";

    const INTEGER_TYPES: &[&str] = &["tinyint", "smallint", "mediumint", "int", "bigint"];

    /// `int(11) unsigned` → `int unsigned`: display widths are cosmetic and
    /// MySQL 8 no longer reports them, MariaDB still does.
    fn column_type(data_type: &str, column_type: &str) -> String {
        if INTEGER_TYPES.contains(&data_type) {
            if let (Some(open), Some(close)) = (column_type.find('('), column_type.find(')')) {
                if open < close {
                    return format!("{}{}", &column_type[..open], &column_type[close + 1..]);
                }
            }
        }
        column_type.to_owned()
    }

    pub(super) async fn describe(tx: &mut Tx) -> Result<BTreeMap<String, TableDescription>> {
        let db_collation = tx
            .fetch_optional(DATABASE_COLLATION, params![])
            .await?
            .and_then(|r| text(&r, 0));
        let mut tables: BTreeMap<String, TableDescription> = BTreeMap::new();
        let mut table_collations: BTreeMap<String, Option<String>> = BTreeMap::new();
        for row in tx.fetch_all(TABLES, params![]).await? {
            let name = req(&row, 0);
            let mut t = TableDescription::empty();
            if let Some(engine) = text(&row, 1) {
                t.options.insert("engine".to_owned(), engine);
            }
            let collation = text(&row, 2);
            let shown = if collation.is_some() && collation == db_collation {
                DEFAULT_COLLATION.to_owned()
            } else {
                collation.clone().unwrap_or_default()
            };
            t.options.insert("collation".to_owned(), shown);
            table_collations.insert(name.clone(), collation);
            tables.insert(name, t);
        }
        for row in tx.fetch_all(COLUMNS, params![]).await? {
            let table_name = req(&row, 0);
            let table_collation = table_collations.get(&table_name).cloned().flatten();
            let Some(t) = table(&mut tables, &table_name) else {
                continue;
            };
            let nullable = req(&row, 4) == "YES";
            // MariaDB reports "no default" on a nullable column as the
            // literal text NULL; MySQL as SQL NULL.
            let default = text(&row, 5).filter(|d| d != "NULL");
            let collation = text(&row, 7).filter(|c| Some(c) != table_collation.as_ref());
            t.columns.push(ColumnDescription {
                name: req(&row, 1),
                data_type: column_type(&req(&row, 2), &req(&row, 3)),
                nullable,
                default,
                extra: text(&row, 6).filter(|e| !e.is_empty()),
                collation,
            });
        }
        let mut constraint_names: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for row in tx.fetch_all(KEY_COLUMNS, params![]).await? {
            let table_name = req(&row, 0);
            let Some(t) = table(&mut tables, &table_name) else {
                continue;
            };
            let name = req(&row, 1);
            let column = req(&row, 3);
            match req(&row, 2).as_str() {
                "PRIMARY KEY" => {
                    let pk = t.primary_key.get_or_insert_with(|| KeyDescription {
                        name: Some(name.clone()),
                        columns: Vec::new(),
                    });
                    pk.columns.push(column);
                }
                "UNIQUE" => {
                    match t
                        .unique_constraints
                        .iter_mut()
                        .find(|u| u.name.as_deref() == Some(name.as_str()))
                    {
                        Some(u) => u.columns.push(column),
                        None => t.unique_constraints.push(KeyDescription {
                            name: Some(name.clone()),
                            columns: vec![column],
                        }),
                    }
                }
                _ => {
                    let referred_column = req(&row, 5);
                    match t
                        .foreign_keys
                        .iter_mut()
                        .find(|f| f.name.as_deref() == Some(name.as_str()))
                    {
                        Some(f) => {
                            f.columns.push(column);
                            f.referred_columns.push(referred_column);
                        }
                        None => t.foreign_keys.push(ForeignKeyDescription {
                            name: Some(name.clone()),
                            columns: vec![column],
                            referred_table: req(&row, 4),
                            referred_columns: vec![referred_column],
                            on_update: req(&row, 6),
                            on_delete: req(&row, 7),
                        }),
                    }
                }
            }
            constraint_names.entry(table_name).or_default().push(name);
        }
        for row in tx.fetch_all(INDEX_COLUMNS, params![]).await? {
            let table_name = req(&row, 0);
            let name = req(&row, 1);
            // Unique constraints are unique indexes in MySQL; they are
            // described once, as constraints.
            let is_constraint = name == "PRIMARY"
                || tables.get(&table_name).is_some_and(|t| {
                    t.unique_constraints
                        .iter()
                        .any(|u| u.name.as_deref() == Some(name.as_str()))
                });
            if is_constraint {
                continue;
            }
            let Some(t) = table(&mut tables, &table_name) else {
                continue;
            };
            let column = req(&row, 3);
            match t.indexes.iter_mut().find(|i| i.name == name) {
                Some(i) => i.columns.push(column),
                None => t.indexes.push(IndexDescription {
                    name,
                    columns: vec![column],
                    unique: req(&row, 2) == "0",
                }),
            }
        }
        tables.values_mut().for_each(TableDescription::sort);
        Ok(tables)
    }

    #[cfg(test)]
    mod tests {
        use super::column_type;

        #[test]
        fn integer_display_widths_are_dropped_and_other_types_kept() {
            assert_eq!(column_type("int", "int(11)"), "int");
            assert_eq!(column_type("int", "int(10) unsigned"), "int unsigned");
            assert_eq!(column_type("varchar", "varchar(36)"), "varchar(36)");
            assert_eq!(column_type("float", "float"), "float");
        }
    }
}

mod sqlite {
    use super::*;

    const TABLES: &str = r"SELECT name, sql FROM sqlite_master
WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'";

    const COLUMNS: &str =
        r#"SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?) ORDER BY cid"#;

    const INDEX_LIST: &str = r#"SELECT name, "unique", origin FROM pragma_index_list(?)"#;

    const INDEX_INFO: &str = r"SELECT name FROM pragma_index_info(?) ORDER BY seqno";

    const FOREIGN_KEYS: &str = r#"SELECT id, "table", "from", "to", on_update, on_delete
FROM pragma_foreign_key_list(?) ORDER BY id, seq"#;

    pub(super) async fn describe(tx: &mut Tx) -> Result<BTreeMap<String, TableDescription>> {
        let mut tables = BTreeMap::new();
        for row in tx.fetch_all(TABLES, params![]).await? {
            let name = req(&row, 0);
            let sql = req(&row, 1);
            let t = describe_table(tx, &name, &sql).await?;
            tables.insert(name, t);
        }
        Ok(tables)
    }

    async fn describe_table(tx: &mut Tx, name: &str, sql: &str) -> Result<TableDescription> {
        let named = named_constraints(sql);
        let mut t = TableDescription::empty();
        t.sql = Some(sql.split_whitespace().collect::<Vec<_>>().join(" "));

        let mut pk: Vec<(i64, String)> = Vec::new();
        for row in tx.fetch_all(COLUMNS, params![name]).await? {
            let column = req(&row, 0);
            let position = row.get_i64(4)?;
            if position > 0 {
                pk.push((position, column.clone()));
            }
            t.columns.push(ColumnDescription {
                name: column,
                data_type: req(&row, 1),
                nullable: !truthy(&row, 2),
                default: text(&row, 3),
                extra: None,
                collation: None,
            });
        }
        if !pk.is_empty() {
            pk.sort();
            let columns: Vec<String> = pk.into_iter().map(|(_, c)| c).collect();
            t.primary_key = Some(KeyDescription {
                name: find_name(&named, ConstraintKind::PrimaryKey, &columns),
                columns,
            });
        }

        for row in tx.fetch_all(INDEX_LIST, params![name]).await? {
            let index = req(&row, 0);
            let unique = truthy(&row, 1);
            let origin = req(&row, 2);
            let columns: Vec<String> = tx
                .fetch_all(INDEX_INFO, params![index.as_str()])
                .await?
                .iter()
                .map(|r| req(r, 0))
                .collect();
            match origin.as_str() {
                "u" => t.unique_constraints.push(KeyDescription {
                    name: find_name(&named, ConstraintKind::Unique, &columns),
                    columns,
                }),
                "pk" => {}
                _ => t.indexes.push(IndexDescription {
                    name: index,
                    columns,
                    unique,
                }),
            }
        }

        let mut fks: BTreeMap<i64, ForeignKeyDescription> = BTreeMap::new();
        for row in tx.fetch_all(FOREIGN_KEYS, params![name]).await? {
            let fk = fks
                .entry(row.get_i64(0)?)
                .or_insert_with(|| ForeignKeyDescription {
                    name: None,
                    columns: Vec::new(),
                    referred_table: req(&row, 1),
                    referred_columns: Vec::new(),
                    on_update: req(&row, 4),
                    on_delete: req(&row, 5),
                });
            fk.columns.push(req(&row, 2));
            fk.referred_columns.push(req(&row, 3));
        }
        for mut fk in fks.into_values() {
            fk.name = find_name(&named, ConstraintKind::ForeignKey, &fk.columns);
            t.foreign_keys.push(fk);
        }
        t.sort();
        Ok(t)
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum ConstraintKind {
        PrimaryKey,
        Unique,
        ForeignKey,
    }

    fn find_name(
        named: &[(ConstraintKind, String, Vec<String>)],
        kind: ConstraintKind,
        columns: &[String],
    ) -> Option<String> {
        named
            .iter()
            .find(|(k, _, cols)| *k == kind && cols.as_slice() == columns)
            .map(|(_, name, _)| name.clone())
    }

    /// Splits SQL into identifiers/keywords (quotes removed) and single
    /// punctuation characters.
    fn tokens(sql: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut chars = sql.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                c if c.is_whitespace() => {}
                '"' | '`' | '[' => {
                    let close = if c == '[' { ']' } else { c };
                    let mut ident = String::new();
                    for d in chars.by_ref() {
                        if d == close {
                            break;
                        }
                        ident.push(d);
                    }
                    out.push(ident);
                }
                c if c.is_alphanumeric() || c == '_' => {
                    let mut word = String::from(c);
                    while let Some(&d) = chars.peek() {
                        if d.is_alphanumeric() || d == '_' {
                            word.push(d);
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    out.push(word);
                }
                other => out.push(other.to_string()),
            }
        }
        out
    }

    /// `CONSTRAINT <name> PRIMARY KEY|UNIQUE|FOREIGN KEY (<columns>)` clauses
    /// of a `CREATE TABLE` statement: the only place SQLite keeps these names.
    pub(super) fn named_constraints(sql: &str) -> Vec<(ConstraintKind, String, Vec<String>)> {
        let toks = tokens(sql);
        let mut found = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            if !toks[i].eq_ignore_ascii_case("CONSTRAINT") || i + 2 >= toks.len() {
                i += 1;
                continue;
            }
            let name = toks[i + 1].clone();
            let word = |j: usize, w: &str| toks.get(j).is_some_and(|t| t.eq_ignore_ascii_case(w));
            let (kind, mut j) = if word(i + 2, "UNIQUE") {
                (ConstraintKind::Unique, i + 3)
            } else if word(i + 2, "PRIMARY") && word(i + 3, "KEY") {
                (ConstraintKind::PrimaryKey, i + 4)
            } else if word(i + 2, "FOREIGN") && word(i + 3, "KEY") {
                (ConstraintKind::ForeignKey, i + 4)
            } else {
                i += 2;
                continue;
            };
            if toks.get(j).map(String::as_str) == Some("(") {
                j += 1;
                let mut columns = Vec::new();
                while let Some(t) = toks.get(j) {
                    j += 1;
                    match t.as_str() {
                        ")" => break,
                        "," => {}
                        col => columns.push(col.to_owned()),
                    }
                }
                found.push((kind, name, columns));
            }
            i = j;
        }
        found
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn constraint_names_are_read_from_create_table_text() {
            let sql = r#"CREATE TABLE "consumers" (
	id INTEGER NOT NULL,
	uuid VARCHAR(36) NOT NULL,
	consumer_type_id INTEGER,
	CONSTRAINT alembic_version_pkc PRIMARY KEY (id),
	CONSTRAINT uniq_consumers0uuid UNIQUE (uuid),
	FOREIGN KEY(parent) REFERENCES x (id),
	CONSTRAINT consumers_consumer_type_id_fkey FOREIGN KEY(consumer_type_id) REFERENCES consumer_types (id)
)"#;
            let named = named_constraints(sql);
            assert_eq!(
                named,
                vec![
                    (
                        ConstraintKind::PrimaryKey,
                        "alembic_version_pkc".to_owned(),
                        vec!["id".to_owned()]
                    ),
                    (
                        ConstraintKind::Unique,
                        "uniq_consumers0uuid".to_owned(),
                        vec!["uuid".to_owned()]
                    ),
                    (
                        ConstraintKind::ForeignKey,
                        "consumers_consumer_type_id_fkey".to_owned(),
                        vec!["consumer_type_id".to_owned()]
                    ),
                ]
            );
        }
    }
}
