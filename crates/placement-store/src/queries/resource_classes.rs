//! `resource_classes`.
