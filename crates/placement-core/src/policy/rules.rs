//! The effective rule set: registered defaults merged with the rules of
//! policy files, the way oslo.policy's `Enforcer.load_rules` merges them,
//! and the decision for one action.
//!
//! Merging, in oslo's order:
//! 1. File rules, later files replacing earlier ones rule by rule. Rules
//!    that are not registered are kept: other rules reach them with
//!    `rule:`.
//! 2. Every registered rule no file names gets its default check. If it has
//!    a deprecated rule, two of oslo's upgrade aids apply: a file rule under
//!    the deprecated *name* (placement's is literally `rule:admin_api`)
//!    that differs from the deprecated check replaces the default; else,
//!    with `enforce_new_defaults` off, the default becomes
//!    `(new) or (deprecated)`.
//!
//! Nothing here reads a file or logs: problems come back as
//! [`RuleWarning`]s for the caller to log.

use std::collections::{HashMap, HashSet};
use std::fmt;

use super::check::{Check, Eval, Resolve, RuleSpec};
use super::defaults::{self, ScopeType};
use super::{Credentials, Target};

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

/// Something wrong with a rule that does not stop startup but an operator
/// should hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleWarning {
    /// The check string does not parse; the rule denies everything.
    Unparsable {
        /// The rule's name.
        rule: String,
        /// Its text.
        text: String,
    },
    /// An atom without a colon; that atom is always false.
    InvalidAtom {
        /// The rule's name.
        rule: String,
        /// The atom.
        atom: String,
    },
    /// `rule:NAME` with no such rule (the default rule stands in if it
    /// exists, else the reference is false).
    UndefinedReference {
        /// The rule holding the reference.
        rule: String,
        /// The missing name.
        reference: String,
    },
    /// Following `rule:` references from this rule runs into a cycle; an
    /// evaluation that gets there denies.
    Cycle {
        /// The rule's name.
        rule: String,
    },
    /// A file rule under a rule's deprecated name replaced that rule's
    /// default.
    DeprecatedNameOverride {
        /// The registered rule that took the file's check.
        rule: String,
        /// The deprecated name the file used.
        deprecated: String,
    },
}

impl fmt::Display for RuleWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleWarning::Unparsable { rule, text } => write!(
                f,
                "policy rule {rule:?} could not be parsed ({text:?}); it denies everything"
            ),
            RuleWarning::InvalidAtom { rule, atom } => write!(
                f,
                "policy rule {rule:?} has a check without a colon ({atom:?}), which is always false"
            ),
            RuleWarning::UndefinedReference { rule, reference } => write!(
                f,
                "policy rule {rule:?} refers to rule {reference:?}, which is not defined"
            ),
            RuleWarning::Cycle { rule } => {
                write!(f, "policy rule {rule:?} is part of a cyclical reference")
            }
            RuleWarning::DeprecatedNameOverride { rule, deprecated } => write!(
                f,
                "policy rule {deprecated:?} is deprecated; its check now applies to {rule:?}"
            ),
        }
    }
}

/// The rules in force: every name a `rule:` can reach, and the fallback
/// for names it cannot.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: HashMap<String, Check>,
    default_rule: String,
}

impl RuleSet {
    /// Merges `file_rules` (in file order, later ones winning) over the
    /// registered defaults. `default_rule` is `policy_default_rule`: the
    /// rule an unknown `rule:` reference falls back to, if it exists.
    ///
    /// Returns the warnings to log: unparsable rules (which deny),
    /// atoms without a colon, undefined references and cycles.
    pub fn build(
        file_rules: &[(String, RuleSpec)],
        enforce_new_defaults: bool,
        default_rule: &str,
    ) -> (Self, Vec<RuleWarning>) {
        let mut warnings = Vec::new();
        let mut from_files: HashMap<String, Check> = HashMap::new();
        for (name, spec) in file_rules {
            let check = spec.parse().unwrap_or_else(|err| {
                warnings.push(RuleWarning::Unparsable {
                    rule: name.clone(),
                    text: err.0,
                });
                Check::False
            });
            from_files.insert(name.clone(), check);
        }

        let mut rules = from_files.clone();
        for default in defaults::registered() {
            if from_files.contains_key(default.name) {
                continue;
            }
            let new = parse_builtin(default.check_str);
            let check = match default.deprecated_rule {
                None => new,
                Some(dep) => {
                    let old = parse_builtin(dep.check_str);
                    let renamed = (dep.name != default.name)
                        .then(|| from_files.get(dep.name))
                        .flatten()
                        .filter(|file| **file != old && **file != Check::Rule(default.name.into()));
                    if let Some(file) = renamed {
                        warnings.push(RuleWarning::DeprecatedNameOverride {
                            rule: default.name.to_owned(),
                            deprecated: dep.name.to_owned(),
                        });
                        file.clone()
                    } else if !enforce_new_defaults && dep.check_str != default.check_str {
                        Check::Or(vec![new, old])
                    } else {
                        new
                    }
                }
            };
            rules.insert(default.name.to_owned(), check);
        }

        let set = Self {
            rules,
            default_rule: default_rule.to_owned(),
        };
        set.lint(&mut warnings);
        (set, warnings)
    }

    /// The registered defaults alone, new defaults enforced.
    pub fn defaults() -> Self {
        Self::build(&[], true, "default").0
    }

    /// Decides `action`: it must be registered, the token's scope must be
    /// one the rule is meant for (only the top-level rule is
    /// scope-checked, as upstream), and its check must pass.
    ///
    /// # Errors
    /// The [`Denial`].
    pub fn authorize(
        &self,
        action: &str,
        target: &Target,
        creds: &Credentials,
    ) -> Result<(), Denial> {
        let Some(registered) = defaults::find(action) else {
            return Err(Denial::Unregistered);
        };
        if !registered.scope_types.is_empty()
            && !registered.scope_types.contains(&creds.token_scope())
        {
            return Err(Denial::Scope);
        }
        if self.check(action, target, creds) {
            Ok(())
        } else {
            Err(Denial::Forbidden)
        }
    }

    /// Evaluates the rule `name` (with the default-rule fallback) without
    /// scope or registration checks: what a `rule:name` reference gives.
    pub fn check(&self, name: &str, target: &Target, creds: &Credentials) -> bool {
        let Some((name, check)) = self.resolve(name) else {
            return false;
        };
        let mut ev = Eval {
            rules: self,
            target,
            creds,
            active: vec![name],
            depth: 0,
            aborted: false,
        };
        check.eval(&mut ev) && !ev.aborted
    }

    /// The check in force for `name`, if a rule has that name.
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.rules.get(name)
    }

    /// Every rule name, sorted: for listing the effective policy.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.rules.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// oslo's load-time lint: atoms without a colon, references to
    /// undefined rules, and rules from which `rule:` references run into a
    /// cycle. Sorted by rule name so logs read the same each load.
    fn lint(&self, warnings: &mut Vec<RuleWarning>) {
        let names = self.names();
        for &name in &names {
            let Some(check) = self.rules.get(name) else {
                continue;
            };
            for atom in check.invalid_atoms() {
                warnings.push(RuleWarning::InvalidAtom {
                    rule: name.to_owned(),
                    atom: atom.to_owned(),
                });
            }
            let mut seen = HashSet::new();
            for reference in check.referenced_rules() {
                if !self.rules.contains_key(reference) && seen.insert(reference) {
                    warnings.push(RuleWarning::UndefinedReference {
                        rule: name.to_owned(),
                        reference: reference.to_owned(),
                    });
                }
            }
        }
        let cyclic = self.reaches_cycle();
        for &name in &names {
            if cyclic.contains(name) {
                warnings.push(RuleWarning::Cycle {
                    rule: name.to_owned(),
                });
            }
        }
    }

    /// The rules from which following `rule:` references (as evaluation
    /// resolves them, default fallback included) reaches a cycle. An
    /// iterative depth-first search, so a long chain cannot exhaust the
    /// stack.
    fn reaches_cycle(&self) -> HashSet<&str> {
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum State {
            Active,
            Done(bool),
        }
        let edges = |name: &str| -> Vec<&str> {
            self.rules
                .get(name)
                .map(|check| {
                    check
                        .referenced_rules()
                        .into_iter()
                        .filter_map(|r| self.resolve(r).map(|(resolved, _)| resolved))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut state: HashMap<&str, State> = HashMap::new();
        for start in self.rules.keys().map(String::as_str) {
            if state.contains_key(start) {
                continue;
            }
            // Each frame: a rule, its outgoing references, the next one to
            // follow, and whether a cycle was found below it so far.
            let mut stack: Vec<(&str, Vec<&str>, usize, bool)> =
                vec![(start, edges(start), 0, false)];
            state.insert(start, State::Active);
            while let Some(frame) = stack.last_mut() {
                let (node, out, next, found) = frame;
                if let Some(&to) = out.get(*next) {
                    *next += 1;
                    match state.get(to) {
                        Some(State::Active) => *found = true,
                        Some(State::Done(reaches)) => *found |= *reaches,
                        None => {
                            state.insert(to, State::Active);
                            let out = edges(to);
                            stack.push((to, out, 0, false));
                        }
                    }
                } else {
                    let (node, found) = (*node, *found);
                    state.insert(node, State::Done(found));
                    stack.pop();
                    if let Some(parent) = stack.last_mut() {
                        parent.3 |= found;
                    }
                }
            }
        }
        state
            .into_iter()
            .filter_map(|(name, s)| (s == State::Done(true)).then_some(name))
            .collect()
    }
}

impl Resolve for RuleSet {
    fn resolve(&self, name: &str) -> Option<(&str, &Check)> {
        if let Some((name, check)) = self.rules.get_key_value(name) {
            return Some((name, check));
        }
        if self.default_rule.is_empty() {
            return None;
        }
        self.rules
            .get_key_value(&self.default_rule)
            .map(|(name, check)| (name.as_str(), check))
    }
}

/// A registered check string. They are all valid; if one ever were not,
/// denying is the safe reading (and the unit tests would catch it).
fn parse_builtin(text: &str) -> Check {
    super::check::parse(text).unwrap_or(Check::False)
}

impl Credentials {
    /// The token's scope as oslo.policy infers it: system if
    /// `system_scope` is set, else domain if `domain_id` is, else project
    /// (unscoped tokens count as project-scoped).
    pub fn token_scope(&self) -> ScopeType {
        if self.system_scope.as_deref().is_some_and(|s| !s.is_empty()) {
            ScopeType::System
        } else if self.domain_id.as_deref().is_some_and(|d| !d.is_empty()) {
            ScopeType::Domain
        } else {
            ScopeType::Project
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::actions;

    fn project_creds(project: &str, roles: &[&str]) -> Credentials {
        Credentials {
            user_id: Some("u1".into()),
            project_id: Some(project.into()),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            is_admin_project: true,
            ..Credentials::default()
        }
    }

    fn text(name: &str, check: &str) -> (String, RuleSpec) {
        (name.to_owned(), RuleSpec::Text(check.to_owned()))
    }

    fn rules(file: &[(String, RuleSpec)]) -> (RuleSet, Vec<RuleWarning>) {
        RuleSet::build(file, true, "default")
    }

    fn legacy() -> RuleSet {
        RuleSet::build(&[], false, "default").0
    }

    #[test]
    fn all_38_registered_rules_are_there_with_upstream_checks_and_scopes() {
        let registered = defaults::registered();
        assert_eq!(registered.len(), 38);
        let names: HashSet<&str> = registered.iter().map(|r| r.name).collect();
        assert_eq!(names.len(), 38, "no duplicates");
        let by_name = |name: &str| defaults::find(name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(by_name("admin_api").check_str, "role:admin");
        assert_eq!(by_name("service_api").check_str, "role:service");
        assert_eq!(
            by_name("admin_or_service_api").check_str,
            "role:admin or role:service"
        );
        assert_eq!(
            by_name("project_reader_api").check_str,
            "role:reader and project_id:%(project_id)s"
        );
        assert!(by_name("project_reader_api").scope_types.is_empty());
        assert_eq!(
            by_name("admin_or_project_reader_or_service_api").check_str,
            "role:admin or rule:project_reader_api or role:service"
        );
        assert_eq!(by_name("admin_api").deprecated_rule, None);
        for base in [
            "service_api",
            "admin_or_service_api",
            "project_reader_api",
            "admin_or_project_reader_or_service_api",
        ] {
            let dep = by_name(base)
                .deprecated_rule
                .unwrap_or_else(|| panic!("{base}"));
            assert_eq!(
                (dep.name, dep.check_str, dep.since),
                ("rule:admin_api", "role:admin", "W")
            );
        }
        let api: Vec<&defaults::RuleDefault> = registered
            .iter()
            .filter(|r| r.name.starts_with("placement:"))
            .collect();
        assert_eq!(api.len(), 33);
        for rule in &api {
            assert_eq!(rule.scope_types, &[ScopeType::Project], "{}", rule.name);
            assert_eq!(rule.deprecated_rule, None, "{}", rule.name);
            assert!(!rule.operations.is_empty(), "{}", rule.name);
            let expected = match rule.name {
                actions::TOTAL_USAGES => "rule:admin_or_project_reader_or_service_api",
                actions::RESHAPER_RESHAPE => "rule:service_api",
                _ => "rule:admin_or_service_api",
            };
            assert_eq!(rule.check_str, expected, "{}", rule.name);
        }
        let inventory_update = by_name(actions::INVENTORIES_UPDATE);
        assert_eq!(
            inventory_update
                .operations
                .iter()
                .map(|o| (o.method, o.path))
                .collect::<Vec<_>>(),
            [
                ("PUT", "/resource_providers/{uuid}/inventories"),
                (
                    "PUT",
                    "/resource_providers/{uuid}/inventories/{resource_class}"
                ),
            ]
        );
        for rule in registered {
            assert!(
                crate::policy::check::parse(rule.check_str).is_ok(),
                "{}",
                rule.name
            );
        }
    }

    #[test]
    fn the_registered_defaults_load_without_warnings() {
        assert_eq!(rules(&[]).1, []);
        assert_eq!(RuleSet::build(&[], false, "default").1, []);
    }

    #[test]
    fn both_defaults_let_admins_and_services_list_providers_but_not_readers_or_members() {
        let list = actions::RESOURCE_PROVIDERS_LIST;
        for (set, (roles, allowed)) in [RuleSet::defaults(), legacy()].iter().flat_map(|set| {
            [
                (&["admin"][..], true),
                (&["service"], true),
                (&["reader"], false),
                (&["member", "reader"], false),
                (&[], false),
            ]
            .map(|case| (set, case))
        }) {
            let creds = project_creds("p1", roles);
            let outcome = set.authorize(list, &Target::for_caller(&creds), &creds);
            assert_eq!(outcome.is_ok(), allowed, "{roles:?}");
            if !allowed {
                assert_eq!(outcome, Err(Denial::Forbidden));
            }
        }
    }

    #[test]
    fn the_reshaper_is_for_services_only_under_new_defaults_and_admins_too_under_legacy() {
        let new = RuleSet::defaults();
        let old = legacy();
        let reshape = actions::RESHAPER_RESHAPE;
        let check = |set: &RuleSet, roles: &[&str]| {
            let creds = project_creds("p1", roles);
            set.authorize(reshape, &Target::for_caller(&creds), &creds)
                .is_ok()
        };
        assert!(check(&new, &["service"]));
        assert!(!check(&new, &["admin"]));
        assert!(!check(&new, &["member"]));
        assert!(check(&old, &["service"]));
        assert!(check(&old, &["admin"]));
        assert!(!check(&old, &["reader"]));
    }

    #[test]
    fn readers_see_their_own_projects_usages_and_admins_and_services_any() {
        let usages = actions::TOTAL_USAGES;
        for set in [RuleSet::defaults(), legacy()] {
            let check = |project: &str, roles: &[&str], of: Option<&str>| {
                let creds = project_creds(project, roles);
                let target = Target::new().with("project_id", of.map(str::to_owned));
                set.authorize(usages, &target, &creds).is_ok()
            };
            assert!(check("p1", &["reader"], Some("p1")));
            assert!(!check("p1", &["reader"], Some("p2")));
            assert!(!check("p1", &["reader"], None));
            assert!(
                !check("p1", &["member"], Some("p1")),
                "member does not imply reader here"
            );
            assert!(check("p1", &["admin"], Some("p2")));
            assert!(check("p1", &["service"], Some("p2")));
        }
    }

    #[test]
    fn legacy_defaults_or_the_admin_check_into_every_deprecated_rule() {
        let old = legacy();
        let shown = |name: &str| old.get(name).map(ToString::to_string);
        assert_eq!(
            shown("service_api").as_deref(),
            Some("(role:service or role:admin)")
        );
        assert_eq!(
            shown("project_reader_api").as_deref(),
            Some("((role:reader and project_id:%(project_id)s) or role:admin)")
        );
        assert_eq!(
            shown("admin_or_service_api").as_deref(),
            Some("((role:admin or role:service) or role:admin)")
        );
        assert_eq!(shown("admin_api").as_deref(), Some("role:admin"));
        let new = RuleSet::defaults();
        assert_eq!(
            new.get("service_api").map(ToString::to_string).as_deref(),
            Some("role:service")
        );
    }

    #[test]
    fn a_file_rule_replaces_a_deprecated_default_entirely_even_under_legacy_defaults() {
        let (set, _) = RuleSet::build(&[text("service_api", "role:nova")], false, "default");
        assert_eq!(
            set.get("service_api"),
            Some(&crate::policy::check::parse("role:nova").unwrap_or(Check::True))
        );
        let admin = project_creds("p1", &["admin"]);
        let nova = project_creds("p1", &["nova"]);
        let reshape = actions::RESHAPER_RESHAPE;
        assert_eq!(
            set.authorize(reshape, &Target::for_caller(&admin), &admin),
            Err(Denial::Forbidden)
        );
        assert_eq!(
            set.authorize(reshape, &Target::for_caller(&nova), &nova),
            Ok(())
        );
    }

    #[test]
    fn a_file_rule_under_the_deprecated_name_overrides_rules_it_does_not_name() {
        let (set, warnings) = rules(&[
            text("rule:admin_api", "role:operator"),
            text("service_api", "role:service"),
        ]);
        let operator = project_creds("p1", &["operator"]);
        let target = Target::for_caller(&operator);
        assert!(set.check("admin_or_service_api", &target, &operator));
        assert!(
            !set.check("service_api", &target, &operator),
            "named in the file itself"
        );
        assert!(warnings.contains(&RuleWarning::DeprecatedNameOverride {
            rule: "admin_or_service_api".into(),
            deprecated: "rule:admin_api".into(),
        }));
        // The deprecated check itself, or an alias to the new rule, changes nothing.
        for harmless in ["role:admin", "rule:admin_or_service_api"] {
            let (set, _) = rules(&[text("rule:admin_api", harmless)]);
            assert_eq!(
                set.get("admin_or_service_api")
                    .map(ToString::to_string)
                    .as_deref(),
                Some("(role:admin or role:service)"),
                "{harmless}"
            );
        }
    }

    #[test]
    fn unregistered_file_rules_are_reachable_with_rule_but_cannot_be_authorized() {
        let (set, warnings) = rules(&[
            text("my_admins", "role:operator"),
            text(actions::TRAITS_LIST, "rule:my_admins"),
        ]);
        assert_eq!(warnings, []);
        let operator = project_creds("p1", &["operator"]);
        let target = Target::for_caller(&operator);
        assert_eq!(
            set.authorize(actions::TRAITS_LIST, &target, &operator),
            Ok(())
        );
        assert_eq!(
            set.authorize("my_admins", &target, &operator),
            Err(Denial::Unregistered)
        );
        assert_eq!(
            set.authorize("placement:nothing", &target, &operator),
            Err(Denial::Unregistered)
        );
    }

    #[test]
    fn an_unknown_rule_reference_falls_back_to_the_default_rule_if_one_exists() {
        let creds = project_creds("p1", &["reader"]);
        let target = Target::for_caller(&creds);
        let (set, warnings) = rules(&[text("default", "role:reader"), text("a", "rule:missing")]);
        assert!(set.check("a", &target, &creds));
        assert!(warnings.contains(&RuleWarning::UndefinedReference {
            rule: "a".into(),
            reference: "missing".into(),
        }));
        let (set, _) = rules(&[text("a", "rule:missing")]);
        assert!(!set.check("a", &target, &creds), "no default rule: false");
        let (set, _) = RuleSet::build(
            &[text("fallback", "@"), text("a", "rule:missing")],
            true,
            "fallback",
        );
        assert!(
            set.check("a", &target, &creds),
            "policy_default_rule names the fallback"
        );
        let (set, _) = RuleSet::build(&[text("", "@"), text("a", "rule:missing")], true, "");
        assert!(
            !set.check("a", &target, &creds),
            "an empty default rule name means none"
        );
    }

    #[test]
    fn cycles_are_false_at_run_time_and_reported_at_load() {
        let creds = project_creds("p1", &["admin"]);
        let target = Target::for_caller(&creds);
        let (set, warnings) = rules(&[
            text("a", "rule:b"),
            text("b", "rule:a or role:nobody"),
            text("self", "rule:self"),
            text("into_cycle", "rule:a or role:admin"),
            text("cycle_last", "role:admin or rule:a"),
            text("not_cycle", "not rule:a"),
            text("fine", "rule:admin_api and rule:admin_api"),
        ]);
        assert!(!set.check("a", &target, &creds));
        assert!(!set.check("self", &target, &creds));
        assert!(
            !set.check("into_cycle", &target, &creds),
            "a cycle denies the whole evaluation"
        );
        assert!(
            set.check("cycle_last", &target, &creds),
            "unless it is never reached"
        );
        assert!(
            !set.check("not_cycle", &target, &creds),
            "not over a cycle must not grant"
        );
        assert!(
            set.check("fine", &target, &creds),
            "a rule used twice is no cycle"
        );
        let cyclic: Vec<&str> = warnings
            .iter()
            .filter_map(|w| match w {
                RuleWarning::Cycle { rule } => Some(rule.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            cyclic,
            ["a", "b", "cycle_last", "into_cycle", "not_cycle", "self"]
        );
    }

    #[test]
    fn a_cycle_through_the_default_rule_is_caught_too() {
        let creds = project_creds("p1", &["admin"]);
        let (set, warnings) = rules(&[text("default", "rule:nowhere"), text("x", "rule:gone")]);
        assert!(!set.check("x", &Target::new(), &creds));
        assert!(warnings.contains(&RuleWarning::Cycle {
            rule: "default".into()
        }));
    }

    #[test]
    fn a_chain_of_rules_deeper_than_the_limit_denies_instead_of_overflowing_the_stack() {
        let n = 20_000;
        let mut file: Vec<(String, RuleSpec)> = (0..n)
            .map(|i| text(&format!("r{i}"), &format!("rule:r{}", i + 1)))
            .collect();
        file.push(text(&format!("r{n}"), "@"));
        let (set, warnings) = rules(&file);
        assert_eq!(warnings, []);
        let creds = Credentials::default();
        assert!(!set.check("r0", &Target::new(), &creds));
        assert!(set.check(&format!("r{}", n - 10), &Target::new(), &creds));
        file.push(text("r", "not rule:r0"));
        let (negated, _) = rules(&file);
        assert!(
            !negated.check("r", &Target::new(), &creds),
            "not over a too-deep chain must not grant"
        );
    }

    #[test]
    fn the_deepest_evaluation_the_limits_allow_fits_a_two_megabyte_thread_stack() {
        // Rules nested 100 deep (the most the parser takes), chained: nine
        // of them stay just inside the evaluation limit, a hundred go far
        // past it. Run on a tokio worker's stack size.
        let nots = "not not ".repeat(50);
        let chain = |len: usize| -> Vec<(String, RuleSpec)> {
            let mut file: Vec<(String, RuleSpec)> = (0..len)
                .map(|i| text(&format!("r{i}"), &format!("{nots}rule:r{}", i + 1)))
                .collect();
            file.push(text(&format!("r{len}"), "@"));
            file
        };
        let (within, beyond) = (chain(9), chain(100));
        let worker = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                let creds = Credentials::default();
                let (within, _) = rules(&within);
                let (beyond, _) = rules(&beyond);
                (
                    within.check("r0", &Target::new(), &creds),
                    beyond.check("r0", &Target::new(), &creds),
                )
            })
            .unwrap_or_else(|e| panic!("{e}"));
        let outcome = worker
            .join()
            .unwrap_or_else(|_| panic!("evaluation panicked"));
        assert_eq!(outcome, (true, false));
    }

    #[test]
    fn unparsable_file_rules_deny_and_are_reported() {
        let (set, warnings) = rules(&[text(actions::TRAITS_LIST, "role:admin or")]);
        let admin = project_creds("p1", &["admin"]);
        assert_eq!(
            set.authorize(actions::TRAITS_LIST, &Target::for_caller(&admin), &admin),
            Err(Denial::Forbidden)
        );
        assert_eq!(
            warnings,
            [RuleWarning::Unparsable {
                rule: actions::TRAITS_LIST.into(),
                text: "role:admin or".into(),
            }]
        );
        let (_, warnings) = rules(&[text("x", "admin or role:a")]);
        assert_eq!(
            warnings,
            [RuleWarning::InvalidAtom {
                rule: "x".into(),
                atom: "admin".into(),
            }]
        );
    }

    #[test]
    fn project_rules_refuse_system_and_domain_tokens_before_evaluating() {
        let set = RuleSet::defaults();
        let list = actions::RESOURCE_PROVIDERS_LIST;
        let system_admin = Credentials {
            system_scope: Some("all".into()),
            roles: vec!["admin".into()],
            ..Credentials::default()
        };
        assert_eq!(system_admin.token_scope(), ScopeType::System);
        assert_eq!(
            set.authorize(list, &Target::new(), &system_admin),
            Err(Denial::Scope)
        );
        let domain_admin = Credentials {
            domain_id: Some("d1".into()),
            roles: vec!["admin".into()],
            ..Credentials::default()
        };
        assert_eq!(domain_admin.token_scope(), ScopeType::Domain);
        assert_eq!(
            set.authorize(list, &Target::new(), &domain_admin),
            Err(Denial::Scope)
        );
        let unscoped_admin = Credentials {
            roles: vec!["admin".into()],
            ..Credentials::default()
        };
        assert_eq!(unscoped_admin.token_scope(), ScopeType::Project);
        assert_eq!(set.authorize(list, &Target::new(), &unscoped_admin), Ok(()));
        let empty_scope = Credentials {
            system_scope: Some(String::new()),
            domain_id: Some(String::new()),
            ..Credentials::default()
        };
        assert_eq!(empty_scope.token_scope(), ScopeType::Project);
    }

    #[test]
    fn scope_is_checked_even_when_a_file_opens_the_rule_to_everyone() {
        let (set, _) = rules(&[text(actions::RESOURCE_PROVIDERS_LIST, "@")]);
        let system = Credentials {
            system_scope: Some("all".into()),
            ..Credentials::default()
        };
        assert_eq!(
            set.authorize(actions::RESOURCE_PROVIDERS_LIST, &Target::new(), &system),
            Err(Denial::Scope)
        );
    }

    #[test]
    fn only_the_authorized_rule_is_scope_checked_not_the_rules_it_reaches() {
        // project_reader_api has no scope types; admin_api is for project
        // tokens, yet reached through rule: its scope is not checked.
        let (set, _) = rules(&[text("project_reader_api", "rule:admin_api")]);
        let system_admin = Credentials {
            system_scope: Some("all".into()),
            roles: vec!["admin".into()],
            ..Credentials::default()
        };
        assert_eq!(
            set.authorize("project_reader_api", &Target::new(), &system_admin),
            Ok(())
        );
        assert_eq!(
            set.authorize("admin_api", &Target::new(), &system_admin),
            Err(Denial::Scope)
        );
    }

    #[test]
    fn later_file_rules_replace_earlier_ones() {
        let (set, _) = rules(&[text("x", "role:a"), text("x", "role:b")]);
        assert_eq!(
            set.get("x").map(ToString::to_string).as_deref(),
            Some("role:b")
        );
    }
}
