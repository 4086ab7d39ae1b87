//! Keystone token validation, as keystonemiddleware's `auth_token` (13.0.1)
//! does it in front of upstream placement when `[api] auth_strategy =
//! keystone`.
//!
//! The auth middleware hands each request (outside the root) to a
//! [`TokenValidator`], which removes every identity header the client sent,
//! validates `X-Auth-Token` (and `X-Service-Token`) with Keystone, writes
//! the identity headers keystonemiddleware writes from Keystone's answer
//! only, and says whether to go on, answer 401, or answer 503 (Keystone
//! could not be asked). The request context is then built from those
//! headers, as oslo.context builds it upstream.
//!
//! # Layout
//! - `settings`: [`KeystoneSettings`], the binary's `[keystone_authtoken]`.
//! - `validator`: [`TokenValidator`], the per-request steps.
//! - `client`: the service user's login, version discovery and the
//!   validation call, with retries, single-flight login and TLS.
//! - `cache`: validations kept for `token_cache_time`, keyed by the token's
//!   SHA-256; briefly, rejections too.
//! - `token`: Keystone's token document parsed once.
//! - `headers`: the identity headers removed and written.
//! - `endpoint`: version documents and the catalog's identity endpoint.
//!
//! Tokens are never logged; logs name a token by the first 12 hex digits of
//! its SHA-256.

use std::path::PathBuf;

mod cache;
mod client;
mod endpoint;
mod headers;
mod settings;
mod token;
mod validator;

#[cfg(test)]
mod tests;

pub use settings::{KeystoneSettings, PasswordCredentials, ServiceScope, TlsSettings};
pub use validator::{TokenCacheCounts, TokenValidator};

pub(crate) use validator::Decision;

/// A `[keystone_authtoken]` setting that cannot be put to use at startup.
#[derive(Debug, thiserror::Error)]
pub enum KeystoneSetupError {
    /// A TLS file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A TLS file is not usable PEM.
    #[error("{path} is not a usable PEM file: {source}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What the TLS library said.
        source: reqwest::Error,
    },
    /// `cafile` holds no certificate.
    #[error("{0} holds no certificate")]
    NoCertificate(PathBuf),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client for keystone: {0}")]
    Client(reqwest::Error),
}
