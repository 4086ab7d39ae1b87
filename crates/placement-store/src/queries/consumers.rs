//! `consumers`: who holds allocations, and their generations.

use placement_core::consumer::{Consumer, ConsumerType, NewConsumer, Project, User};
use placement_core::ids::{
    ConsumerId, ConsumerTypeId, ConsumerUuid, Generation, ProjectId, UserId,
};

use crate::db::{Row, Tx, Value};
use crate::error::{DbError, Result};
use crate::params;

const SELECT_CONSUMER: &str = r"
SELECT c.id, c.uuid, c.generation, c.created_at, c.updated_at,
       p.id, p.external_id, u.id, u.external_id, ct.id, ct.name
FROM consumers c
INNER JOIN projects p ON c.project_id = p.id
INNER JOIN users u ON c.user_id = u.id
LEFT OUTER JOIN consumer_types ct ON c.consumer_type_id = ct.id";

/// A consumer from the first eleven columns of `r`, in [`SELECT_CONSUMER`]'s
/// order; other queries that join consumers put those columns first.
pub(crate) fn consumer_from_row(r: &Row) -> Result<Consumer> {
    let uuid = r
        .get_str(1)?
        .parse::<ConsumerUuid>()
        .map_err(|e| DbError::other(format!("consumers.uuid: {e}")))?;
    let consumer_type = match r.get_opt_i64(9)? {
        Some(id) => Some(ConsumerType {
            id: ConsumerTypeId(id),
            name: r.get_string(10)?,
        }),
        None => None,
    };
    Ok(Consumer {
        id: ConsumerId(r.get_i64(0)?),
        uuid,
        generation: Generation(r.get_i64(2)?),
        created_at: r.get_opt_timestamp(3)?,
        updated_at: r.get_opt_timestamp(4)?,
        project: Project {
            id: ProjectId(r.get_i64(5)?),
            external_id: r.get_string(6)?,
        },
        user: User {
            id: UserId(r.get_i64(7)?),
            external_id: r.get_string(8)?,
        },
        consumer_type,
    })
}

pub(crate) async fn get_by_uuid(tx: &mut Tx, uuid: ConsumerUuid) -> Result<Option<Consumer>> {
    let sql = format!("{SELECT_CONSUMER} WHERE c.uuid = ?");
    tx.fetch_optional_with(&sql, params![uuid.to_string()], consumer_from_row)
        .await
}

/// Inserts a consumer at generation 0; a duplicate UUID is a unique violation.
pub(crate) async fn insert(tx: &mut Tx, new: &NewConsumer) -> Result<ConsumerId> {
    let id = tx
        .insert_returning_id(
            r"INSERT INTO consumers
                (uuid, project_id, user_id, generation, consumer_type_id, created_at)
              VALUES (?, ?, ?, 0, ?, ?)",
            &[
                Value::from(new.uuid.to_string()),
                Value::from(new.project_id.0),
                Value::from(new.user_id.0),
                Value::from(new.consumer_type_id.map(|t| t.0)),
                Value::from(super::utcnow()),
            ],
        )
        .await?;
    Ok(ConsumerId(id))
}

/// Changes owners and type, guarded by (but not bumping) the generation.
/// Returns the number of rows matched: 0 means the generation moved.
pub(crate) async fn update_owners(
    tx: &mut Tx,
    id: ConsumerId,
    expected: Generation,
    project_id: ProjectId,
    user_id: UserId,
    consumer_type_id: Option<ConsumerTypeId>,
) -> Result<u64> {
    tx.execute(
        r"UPDATE consumers
          SET project_id = ?, user_id = ?, consumer_type_id = ?, updated_at = ?
          WHERE id = ? AND generation = ?",
        &[
            Value::from(project_id.0),
            Value::from(user_id.0),
            Value::from(consumer_type_id.map(|t| t.0)),
            Value::from(super::utcnow()),
            Value::from(id.0),
            Value::from(expected.0),
        ],
    )
    .await
}

/// The compare-and-swap: moves the generation from `expected` to
/// `expected + 1`. Returns rows matched: 0 means somebody else won.
pub(crate) async fn increment_generation(
    tx: &mut Tx,
    id: ConsumerId,
    expected: Generation,
) -> Result<u64> {
    tx.execute(
        r"UPDATE consumers SET generation = ?, updated_at = ?
          WHERE id = ? AND generation = ?",
        params![expected.next().0, super::utcnow(), id.0, expected.0],
    )
    .await
}

pub(crate) async fn delete_by_uuid(tx: &mut Tx, uuid: ConsumerUuid) -> Result<u64> {
    tx.execute(
        r"DELETE FROM consumers WHERE uuid = ?",
        params![uuid.to_string()],
    )
    .await
}

/// Deletes those of `uuids` that no allocation refers to; returns how many.
pub(crate) async fn delete_if_no_allocations(tx: &mut Tx, uuids: &[ConsumerUuid]) -> Result<u64> {
    let mut deleted = 0;
    // Bounded IN lists keep every backend under its parameter limit.
    for chunk in uuids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            r"DELETE FROM consumers
              WHERE uuid IN ({marks})
                AND NOT EXISTS (SELECT 1 FROM allocations a WHERE a.consumer_id = consumers.uuid)"
        );
        let params: Vec<Value> = chunk.iter().map(|u| Value::from(u.to_string())).collect();
        deleted += tx.execute(&sql, &params).await?;
    }
    Ok(deleted)
}

/// Creates consumer rows, owned by the given project and user, for up to
/// `limit` distinct allocation consumer ids that have none. Returns how many.
pub(crate) async fn create_missing_for_allocations(
    tx: &mut Tx,
    project_id: ProjectId,
    user_id: UserId,
    limit: u64,
) -> Result<u64> {
    // MySQL refuses to read the target table in INSERT … SELECT's subquery
    // only for UPDATE/DELETE; INSERT … SELECT with a join on it is allowed.
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    tx.execute(
        r"INSERT INTO consumers (uuid, project_id, user_id, generation, created_at)
          SELECT a.consumer_id, ?, ?, 0, ?
          FROM allocations a
          LEFT OUTER JOIN consumers c ON a.consumer_id = c.uuid
          WHERE c.id IS NULL
          GROUP BY a.consumer_id
          LIMIT ?",
        params![project_id.0, user_id.0, super::utcnow(), limit],
    )
    .await
}

/// How many distinct allocation consumer ids have no consumer row.
pub(crate) async fn count_missing_for_allocations(tx: &mut Tx) -> Result<i64> {
    tx.fetch_one_with(
        r"SELECT COUNT(DISTINCT a.consumer_id)
          FROM allocations a
          LEFT OUTER JOIN consumers c ON a.consumer_id = c.uuid
          WHERE c.id IS NULL",
        params![],
        |r| r.get_i64(0),
    )
    .await
}
