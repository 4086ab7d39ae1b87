//! Handlers, one module per upstream handler module, named as upstream names
//! them. Each extracts what it needs, calls one `ops::` function and renders
//! the result for the negotiated microversion. Bodies and query strings
//! are checked against `crate::schema`'s trees (chosen per microversion by
//! that module) before a handler reads them; the provider-list and
//! candidates query languages are parsed by `placement_core::request_groups`.
//! Store errors convert with `?` (`From<placement_store::Error>` maps what
//! upstream maps globally); a handler maps an error itself only where
//! upstream words that failure differently on its route.

pub(crate) mod allocation;
pub(crate) mod allocation_candidate;
pub(crate) mod inventory;
pub(crate) mod provider_links;
pub(crate) mod reshaper;
pub(crate) mod resource_class;
pub(crate) mod resource_provider;
pub(crate) mod root;
pub(crate) mod trait_;
pub(crate) mod usage;
pub(crate) mod util;
