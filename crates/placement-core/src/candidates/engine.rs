//! The allocation-candidates engine (work in progress: this first commit
//! only fixes the signature so that other layers can build against it).

use super::model::{CandidateRequest, EngineOptions, Generated, LazyError, Snapshot};

/// Computes the allocation candidates of `request` over `snapshot`.
///
/// # Errors
/// A group's lazy name-resolution error, when every earlier group matched.
pub fn generate(
    snapshot: &Snapshot,
    request: &CandidateRequest,
    options: &EngineOptions,
) -> Result<Generated, LazyError> {
    let _ = (snapshot, request, options);
    Ok(Generated::default())
}
