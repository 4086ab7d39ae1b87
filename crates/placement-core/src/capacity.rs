//! How much an inventory can hold, and whether an amount fits: the one
//! place these rules live.
//!
//! Upstream computes capacity in two forms on purpose, and so do we, each
//! named for where upstream uses it:
//! - [`InventoryLimits::capacity_for_writes`], the un-truncated float
//!   `(total − reserved) × allocation_ratio`: the SQL filter of
//!   `GET /resource_providers?resources=…` and of the candidates search
//!   (`_capacity_check_clause`), and the allocation write
//!   (`_check_capacity_exceeded`). [`InventoryLimits::fits_with_usage`]
//!   compares with it.
//! - [`InventoryLimits::capacity_for_summaries`], `int()` of the same
//!   product (`Inventory.capacity`): provider summaries, the candidates
//!   re-check of summed amounts, the inventory-write rule and its
//!   over-capacity warning.
//!
//! The two can disagree by less than one unit: with a fractional ratio an
//! allocation may fit the float form while exceeding the truncated one.
//! That is upstream's behaviour and is kept.
//!
//! `allocation_ratio` must be given as the database holds it: MySQL stores
//! a single-precision `FLOAT`, and its SQL arithmetic uses that value
//! (0.9 is 0.89999997615814…), so a check meant to agree with the SQL
//! filter on MySQL must use `f64::from(ratio as f32)`.

use crate::candidates::model::SnapshotInventory;
use crate::inventory::InventoryRecord;

/// The numbers of one inventory that decide what fits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InventoryLimits {
    /// `total`.
    pub total: i64,
    /// `reserved`.
    pub reserved: i64,
    /// `min_unit`: the smallest single allocation.
    pub min_unit: i64,
    /// `max_unit`: the largest single allocation.
    pub max_unit: i64,
    /// `step_size`: allocations are multiples of it.
    pub step_size: i64,
    /// `allocation_ratio`, as the database holds it (see the module
    /// comment about MySQL).
    pub allocation_ratio: f64,
}

impl InventoryLimits {
    /// Capacity in upstream's float form, never truncated: what the SQL
    /// filter (`_capacity_check_clause`) and the allocation write
    /// (`_check_capacity_exceeded`) compare usage against.
    #[must_use]
    #[expect(
        clippy::cast_precision_loss,
        reason = "inventory integers fit in 2^31, far inside f64's exact range"
    )]
    pub fn capacity_for_writes(&self) -> f64 {
        (self.total - self.reserved) as f64 * self.allocation_ratio
    }

    /// Capacity in upstream's `Inventory.capacity` form,
    /// `int((total − reserved) × allocation_ratio)` truncated toward zero:
    /// what provider summaries show, what the candidates re-check of summed
    /// amounts uses, and what an inventory write is validated against.
    #[must_use]
    #[expect(
        clippy::cast_possible_truncation,
        reason = "Python's int(float) truncates; the product fits in i64"
    )]
    pub fn capacity_for_summaries(&self) -> i64 {
        self.capacity_for_writes() as i64
    }

    /// Whether one allocation of `amount` respects `min_unit`, `max_unit`
    /// and `step_size` (a step of 0, which the API never stores, admits
    /// nothing rather than dividing by zero).
    #[must_use]
    pub fn admits_amount(&self, amount: i64) -> bool {
        let on_step = amount
            .checked_rem(self.step_size)
            .is_some_and(|remainder| remainder == 0);
        self.min_unit <= amount && amount <= self.max_unit && on_step
    }

    /// Whether `amount` more fits beside `used` already allocated:
    /// `used + amount ≤ (total − reserved) × allocation_ratio`, in floats,
    /// as the SQL filter and the allocation write compare.
    #[must_use]
    #[expect(
        clippy::cast_precision_loss,
        reason = "usage sums stay far inside f64's exact integer range"
    )]
    pub fn fits_with_usage(&self, used: i64, amount: i64) -> bool {
        (used.saturating_add(amount)) as f64 <= self.capacity_for_writes()
    }

    /// Whether a provider can serve one request of `amount` given `used`:
    /// [`admits_amount`](Self::admits_amount) and
    /// [`fits_with_usage`](Self::fits_with_usage), exactly what the SQL
    /// filter of `GET /resource_providers?resources=…` selects.
    #[must_use]
    pub fn can_serve(&self, used: i64, amount: i64) -> bool {
        self.admits_amount(amount) && self.fits_with_usage(used, amount)
    }

    /// The candidates re-check of an amount summed over several groups:
    /// `used + sum ≤ int capacity` and `sum ≤ max_unit` (upstream's
    /// `RequestWideSearchContext.exceeds_capacity`, negated).
    #[must_use]
    pub fn fits_summed_amount(&self, used: i64, sum: i64) -> bool {
        used.saturating_add(sum) <= self.capacity_for_summaries() && sum <= self.max_unit
    }

    /// The largest sum [`fits_summed_amount`](Self::fits_summed_amount)
    /// accepts beside `used` (negative when nothing fits): what the
    /// candidates engine prunes partial assignments against.
    #[must_use]
    pub fn headroom_for_sums(&self, used: i64) -> i64 {
        self.capacity_for_summaries()
            .saturating_sub(used)
            .min(self.max_unit)
    }

    /// upstream's `_validate_inventory_capacity`: the truncated capacity
    /// must be positive, or from microversion 1.26 (`zero_allowed`) at
    /// least zero.
    #[must_use]
    pub fn capacity_is_valid(&self, zero_allowed: bool) -> bool {
        let capacity = self.capacity_for_summaries();
        if zero_allowed {
            capacity >= 0
        } else {
            capacity > 0
        }
    }
}

impl From<&SnapshotInventory> for InventoryLimits {
    fn from(inv: &SnapshotInventory) -> Self {
        InventoryLimits {
            total: inv.total,
            reserved: inv.reserved,
            min_unit: inv.min_unit,
            max_unit: inv.max_unit,
            step_size: inv.step_size,
            allocation_ratio: inv.allocation_ratio,
        }
    }
}

impl From<&InventoryRecord> for InventoryLimits {
    fn from(record: &InventoryRecord) -> Self {
        InventoryLimits {
            total: record.total,
            reserved: record.reserved,
            min_unit: record.min_unit,
            max_unit: record.max_unit,
            step_size: record.step_size,
            allocation_ratio: record.allocation_ratio,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: i64, reserved: i64, ratio: f64) -> InventoryLimits {
        InventoryLimits {
            total,
            reserved,
            min_unit: 1,
            max_unit: total,
            step_size: 1,
            allocation_ratio: ratio,
        }
    }

    #[test]
    fn summary_capacity_truncates_like_python_int_and_write_capacity_does_not() {
        let inv = limits(10, 1, 1.5);
        assert_eq!(inv.capacity_for_summaries(), 13);
        assert!((inv.capacity_for_writes() - 13.5).abs() < f64::EPSILON);
        assert_eq!(limits(10, 10, 1.5).capacity_for_summaries(), 0);
        assert_eq!(limits(1, 3, 1.0).capacity_for_summaries(), -2);
    }

    #[test]
    fn an_allocation_may_fit_the_float_form_but_not_the_truncated_one() {
        let inv = InventoryLimits {
            max_unit: 100,
            ..limits(9, 0, 1.5)
        };
        assert!(inv.fits_with_usage(13, 0));
        assert!(inv.fits_with_usage(10, 3));
        assert!(!inv.fits_with_usage(10, 4));
        assert!(inv.fits_summed_amount(10, 3));
        assert!(!inv.fits_summed_amount(11, 3));
    }

    #[test]
    fn min_max_and_step_admit_only_multiples_in_range() {
        let inv = InventoryLimits {
            min_unit: 2,
            max_unit: 8,
            step_size: 2,
            ..limits(100, 0, 1.0)
        };
        assert!(inv.admits_amount(2));
        assert!(inv.admits_amount(8));
        assert!(!inv.admits_amount(1));
        assert!(!inv.admits_amount(3));
        assert!(!inv.admits_amount(10));
        let no_step = InventoryLimits {
            step_size: 0,
            ..inv
        };
        assert!(!no_step.admits_amount(2));
    }

    #[test]
    fn can_serve_needs_both_the_unit_rules_and_room_beside_usage() {
        let inv = InventoryLimits {
            max_unit: 4,
            ..limits(10, 2, 1.0)
        };
        assert!(inv.can_serve(4, 4));
        assert!(!inv.can_serve(5, 4));
        assert!(!inv.can_serve(0, 5));
    }

    #[test]
    fn mysql_single_precision_ratios_lose_the_last_unit_at_the_boundary() {
        let double = limits(10, 0, 0.9);
        #[expect(clippy::cast_possible_truncation, reason = "the point of the test")]
        let single = limits(10, 0, f64::from(0.9_f64 as f32));
        assert!(double.fits_with_usage(0, 9));
        assert!(!single.fits_with_usage(0, 9));
    }

    #[test]
    fn capacity_must_be_positive_before_1_26_and_may_be_zero_after() {
        let full = limits(4, 4, 1.0);
        assert!(!full.capacity_is_valid(false));
        assert!(full.capacity_is_valid(true));
        assert!(!limits(4, 5, 1.0).capacity_is_valid(true));
        assert!(limits(4, 3, 1.0).capacity_is_valid(false));
    }

    #[test]
    fn headroom_for_sums_is_the_largest_sum_the_recheck_accepts() {
        let limits = InventoryLimits {
            total: 10,
            reserved: 1,
            min_unit: 1,
            max_unit: 6,
            step_size: 1,
            allocation_ratio: 1.5,
        };
        // int(9 * 1.5) = 13; 13 - 4 = 9, capped by max_unit 6.
        assert_eq!(limits.headroom_for_sums(4), 6);
        assert!(limits.fits_summed_amount(4, 6));
        assert!(!limits.fits_summed_amount(4, 7));
        // 13 - 10 = 3: below max_unit, and exactly the edge.
        assert_eq!(limits.headroom_for_sums(10), 3);
        assert!(limits.fits_summed_amount(10, 3));
        assert!(!limits.fits_summed_amount(10, 4));
    }
}
