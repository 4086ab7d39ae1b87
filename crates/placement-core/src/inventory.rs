//! Inventory: how much of one resource class a provider offers, and the
//! capacity upstream shows for it (`objects/inventory.py`); the rules
//! themselves live in [`crate::capacity`].

use chrono::NaiveDateTime;

use crate::capacity::InventoryLimits;

/// upstream's `db_const.MAX_INT`: the largest value an inventory integer
/// column holds on every backend.
pub const MAX_INT: i64 = 2_147_483_647;

/// The writable fields of one inventory record, defaults already applied.
#[derive(Debug, Clone, PartialEq)]
pub struct InventoryRecord {
    /// Resource class name (standard or `CUSTOM_*`).
    pub resource_class: String,
    /// Total amount, at least 1.
    pub total: i64,
    /// Amount held back from allocation.
    pub reserved: i64,
    /// Smallest single allocation.
    pub min_unit: i64,
    /// Largest single allocation.
    pub max_unit: i64,
    /// Allocations must be multiples of this.
    pub step_size: i64,
    /// Overcommit factor.
    pub allocation_ratio: f64,
}

impl InventoryRecord {
    /// A record with upstream's `INVENTORY_DEFAULTS` for every optional field.
    #[must_use]
    pub fn with_defaults(resource_class: impl Into<String>, total: i64) -> Self {
        Self {
            resource_class: resource_class.into(),
            total,
            reserved: 0,
            min_unit: 1,
            max_unit: MAX_INT,
            step_size: 1,
            allocation_ratio: 1.0,
        }
    }

    /// The numbers capacity depends on, for the rules in [`crate::capacity`].
    #[must_use]
    pub fn limits(&self) -> InventoryLimits {
        InventoryLimits::from(self)
    }

    /// upstream's `Inventory.capacity`: `int((total - reserved) * ratio)`,
    /// truncated toward zero as Python's `int()` does (see
    /// [`InventoryLimits::capacity_for_summaries`]).
    #[must_use]
    pub fn capacity(&self) -> i64 {
        self.limits().capacity_for_summaries()
    }
}

/// An inventory as stored, with its timestamps (for `Last-Modified`).
#[derive(Debug, Clone, PartialEq)]
pub struct Inventory {
    /// The fields a client writes.
    pub record: InventoryRecord,
    /// Row creation time.
    pub created_at: Option<NaiveDateTime>,
    /// Last update time.
    pub updated_at: Option<NaiveDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_truncates_like_python_int() {
        let mut r = InventoryRecord::with_defaults("VCPU", 10);
        r.reserved = 1;
        r.allocation_ratio = 1.5;
        assert_eq!(r.capacity(), 13);
        r.reserved = 10;
        assert_eq!(r.capacity(), 0);
    }
}
