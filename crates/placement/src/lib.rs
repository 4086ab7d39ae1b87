//! The three commands operators run — `placement-api`, `placement-manage`
//! and `placement-status` — with upstream's names, sub-commands, output and
//! exit codes. This crate only wires: it reads configuration, sets up
//! logging, opens the database and hands over to the store and HTTP crates.
//!
//! # Layout
//! - [`config`]: `placement.conf` as oslo.config reads it, validated once.
//! - [`cli`]: the options every command shares (`--config-file`,
//!   `--config-dir`).
//! - [`logging`]: tracing set-up.
//! - [`api`], [`manage`], [`status`]: one module per binary; the files under
//!   `src/bin/` only call their `main`.
//! - [`table`]: the bordered tables upstream prints with prettytable.
#![forbid(unsafe_code)]

pub mod api;
pub mod cli;
pub mod config;
pub mod logging;
pub mod manage;
pub mod status;
pub mod table;
