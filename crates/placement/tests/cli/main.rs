//! The three binaries as operators run them: real processes, real config
//! files, real databases (SQLite always; PostgreSQL and MariaDB when
//! `PLACEMENT_TEST_POSTGRES_URL` / `PLACEMENT_TEST_MYSQL_URL` are set).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers panic on setup failure"
)]

mod allocations;
mod api;
mod helpers;
mod keystone;
mod manage;
mod ops;
mod policy;
mod status;
