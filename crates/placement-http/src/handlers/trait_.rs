//! `/traits` (upstream `handlers/trait.py`).

use crate::routes::Route;

/// This module's rows of the route table, in upstream's order.
pub(crate) fn routes() -> Vec<Route> {
    Vec::new()
}
