//! `GET /allocation_candidates` as a pure computation: which combinations
//! of providers can satisfy a request, given a snapshot of the relevant
//! providers. The store reads the snapshot, the HTTP layer renders the
//! answer; everything between lives here, with no I/O.
//!
//! - [`model`]: the resolved request, the snapshot and the candidates.
//! - [`engine`]: [`generate`], the entry point, its phases and its order.
//! - `index`, `matching`, `search`, `rng`: the engine's parts (private).

#[cfg(test)]
mod differential;
pub mod engine;
mod index;
mod matching;
pub mod model;
#[cfg(test)]
mod reference;
mod rng;
mod search;

pub use engine::generate;
