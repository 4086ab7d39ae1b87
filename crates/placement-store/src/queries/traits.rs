//! `traits` and `resource_provider_traits`.
