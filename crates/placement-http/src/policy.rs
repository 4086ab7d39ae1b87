//! The policy enforcer (upstream's `policy.py` over oslo.policy's
//! `Enforcer`): the registered defaults, the operator's policy files found
//! as oslo.config finds them and re-read when they change, and the decision
//! for one action.
//!
//! (Interface stub: the enforcer lands in the next commits.)

use std::path::PathBuf;

use placement_core::policy::{Credentials, Target};

/// `[oslo_policy]` as the binary validated it.
#[derive(Debug, Clone)]
pub struct PolicySettings {
    /// `policy_file` (default `policy.yaml`): absolute, or looked up in
    /// `search_dirs`.
    pub policy_file: String,
    /// `policy_dirs` (default `["policy.d"]`), each absolute or looked up in
    /// `search_dirs`.
    pub policy_dirs: Vec<String>,
    /// Where relative names are looked up, in order: oslo.config's
    /// `find_file` path (config dirs, the config files' directories,
    /// `~/.placement`, `~`, `/etc/placement`, `/etc`).
    pub search_dirs: Vec<PathBuf>,
    /// `enforce_new_defaults` (default true).
    pub enforce_new_defaults: bool,
    /// `policy_default_rule` (default `default`).
    pub default_rule: String,
}

impl Default for PolicySettings {
    fn default() -> Self {
        Self {
            policy_file: "policy.yaml".to_owned(),
            policy_dirs: vec!["policy.d".to_owned()],
            search_dirs: Vec::new(),
            enforce_new_defaults: true,
            default_rule: "default".to_owned(),
        }
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// The rule evaluated to false.
    Forbidden,
    /// The token's scope is not among the rule's scope types.
    Scope,
    /// The action is not a registered rule: a bug, answered with a 500.
    Unregistered,
}

/// A policy setup that must stop startup.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(pub String);

/// Decides actions against the effective rules.
#[derive(Debug)]
pub struct Enforcer {
    settings: PolicySettings,
}

impl Enforcer {
    /// Loads the rules for `settings`.
    ///
    /// # Errors
    /// A policy file that cannot be read or parsed, or a rule that can never
    /// be evaluated here.
    pub fn load(settings: PolicySettings) -> Result<Self, PolicyError> {
        Ok(Self { settings })
    }

    /// The registered defaults only (new defaults), with no files.
    pub fn defaults() -> Self {
        Self {
            settings: PolicySettings::default(),
        }
    }

    /// Decides `action` for `creds` on `target`.
    ///
    /// # Errors
    /// The [`Denial`].
    pub fn authorize(&self, action: &str, target: &Target, creds: &Credentials) -> Result<(), Denial> {
        let _ = (&self.settings, action, target, creds);
        Ok(())
    }
}
