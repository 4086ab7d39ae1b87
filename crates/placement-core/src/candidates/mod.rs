//! `GET /allocation_candidates` as a pure computation: which combinations
//! of providers can satisfy a request, given a snapshot of the relevant
//! providers. The store reads the snapshot, the HTTP layer renders the
//! answer; everything between lives here, with no I/O.
//!
//! - [`model`]: the resolved request, the snapshot and the candidates.
//! - [`engine`]: [`generate`], the search itself.

#[cfg(test)]
mod differential;
pub mod engine;
pub mod model;
#[cfg(test)]
mod reference;

pub use engine::generate;
