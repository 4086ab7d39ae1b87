//! The enforcer against real files in a scratch directory: where policy
//! files are found, the order they apply in, what stops startup, and
//! reloading under a running enforcer.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use placement_core::policy::{actions, Credentials, Denial, Target};
use placement_http::policy::{Enforcer, PolicySettings};

/// A scratch directory removed when the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("placement-policy-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        Self(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes `name` and gives it a modification time distinct from any
    /// earlier write, so the change shows however coarse the clock.
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        let mut file = fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
        file.write_all(text.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        bump_mtime(&file);
        path
    }

    /// Settings that find files here (and nowhere else).
    fn settings(&self) -> PolicySettings {
        PolicySettings {
            search_dirs: vec![self.0.clone()],
            ..PolicySettings::default()
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn bump_mtime(file: &fs::File) {
    static NEXT: Mutex<u64> = Mutex::new(0);
    let mut next = NEXT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *next += 1;
    let when = SystemTime::now() + Duration::from_secs(*next);
    file.set_modified(when).unwrap_or_else(|e| panic!("{e}"));
}

fn who(roles: &[&str]) -> Credentials {
    Credentials {
        user_id: Some("u1".into()),
        project_id: Some("p1".into()),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        is_admin_project: true,
        ..Credentials::default()
    }
}

fn allowed(enforcer: &Enforcer, action: &str, roles: &[&str]) -> bool {
    let creds = who(roles);
    match enforcer.authorize(action, &Target::for_caller(&creds), &creds) {
        Ok(()) => true,
        Err(Denial::Forbidden) => false,
        Err(other) => panic!("{action} for {roles:?}: {other:?}"),
    }
}

fn load(settings: PolicySettings) -> Enforcer {
    Enforcer::load(settings).unwrap_or_else(|e| panic!("{e}"))
}

fn load_error(settings: PolicySettings) -> String {
    match Enforcer::load(settings) {
        Ok(_) => panic!("loaded"),
        Err(e) => e.to_string(),
    }
}

const LIST: &str = actions::RESOURCE_PROVIDERS_LIST;

/// Captures what the enforcer logs while `f` runs.
fn logs_of<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text = buffer
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    (out, String::from_utf8_lossy(&text).into_owned())
}

#[test]
fn without_any_policy_file_the_defaults_apply() {
    let scratch = Scratch::new();
    let enforcer = load(scratch.settings());
    assert!(allowed(&enforcer, LIST, &["admin"]));
    assert!(!allowed(&enforcer, LIST, &["reader"]));
    let nowhere = load(PolicySettings::default());
    assert!(allowed(&nowhere, LIST, &["service"]));
}

#[test]
fn a_relative_policy_file_is_taken_from_the_first_search_directory_that_has_it() {
    let first = Scratch::new();
    let second = Scratch::new();
    let third = Scratch::new();
    second.write("policy.yaml", &format!("{LIST:?}: \"role:second\"\n"));
    third.write("policy.yaml", &format!("{LIST:?}: \"role:third\"\n"));
    let settings = PolicySettings {
        search_dirs: vec![first.0.clone(), second.0.clone(), third.0.clone()],
        ..PolicySettings::default()
    };
    let enforcer = load(settings);
    assert!(allowed(&enforcer, LIST, &["second"]));
    assert!(!allowed(&enforcer, LIST, &["third"]));
}

#[test]
fn an_absolute_policy_file_is_used_as_is() {
    let scratch = Scratch::new();
    let path = scratch.write("custom/rules.yaml", &format!("{LIST:?}: \"role:custom\"\n"));
    let enforcer = load(PolicySettings {
        policy_file: path.display().to_string(),
        ..PolicySettings::default()
    });
    assert!(allowed(&enforcer, LIST, &["custom"]));
}

#[test]
fn policy_dir_files_apply_after_the_policy_file_in_name_order() {
    let scratch = Scratch::new();
    scratch.write(
        "policy.yaml",
        &format!("{LIST:?}: \"role:main\"\n\"placement:traits:list\": \"role:main\"\n"),
    );
    scratch.write(
        "policy.d/20-later.yaml",
        &format!("{LIST:?}: \"role:later\"\n"),
    );
    scratch.write(
        "policy.d/10-earlier.yaml",
        &format!("{LIST:?}: \"role:earlier\"\n"),
    );
    scratch.write(
        "policy.d/.hidden.yaml",
        &format!("{LIST:?}: \"role:hidden\"\n"),
    );
    scratch.write("policy.d/sub/99.yaml", &format!("{LIST:?}: \"role:sub\"\n"));
    let enforcer = load(scratch.settings());
    assert!(allowed(&enforcer, LIST, &["later"]));
    assert!(!allowed(&enforcer, LIST, &["earlier"]));
    assert!(!allowed(&enforcer, LIST, &["main"]));
    assert!(
        !allowed(&enforcer, LIST, &["hidden"]),
        "dot files are skipped"
    );
    assert!(
        !allowed(&enforcer, LIST, &["sub"]),
        "subdirectories are skipped"
    );
    assert!(
        allowed(&enforcer, actions::TRAITS_LIST, &["main"]),
        "untouched by policy.d"
    );
}

#[test]
fn policy_dirs_apply_even_without_a_policy_file() {
    let scratch = Scratch::new();
    scratch.write("extra/a.yaml", &format!("{LIST:?}: \"role:extra\"\n"));
    let enforcer = load(PolicySettings {
        policy_dirs: vec!["policy.d".into(), "extra".into()],
        ..scratch.settings()
    });
    assert!(allowed(&enforcer, LIST, &["extra"]));
}

#[test]
fn json_files_and_the_list_of_lists_form_load_too() {
    let scratch = Scratch::new();
    scratch.write(
        "policy.json",
        "{\n\t\"placement:resource_providers:list\": [[\"role:a\", \"role:b\"], [\"role:c\"]],\n\t\"placement:traits:list\": \"role:json\"\n}\n",
    );
    let enforcer = load(PolicySettings {
        policy_file: "policy.json".into(),
        ..scratch.settings()
    });
    assert!(allowed(&enforcer, LIST, &["a", "b"]));
    assert!(allowed(&enforcer, LIST, &["c"]));
    assert!(!allowed(&enforcer, LIST, &["a"]));
    assert!(allowed(&enforcer, actions::TRAITS_LIST, &["json"]));
}

#[test]
fn empty_and_comment_only_files_hold_no_rules() {
    let scratch = Scratch::new();
    scratch.write("policy.yaml", "");
    scratch.write("policy.d/a.yaml", "# nothing here\n");
    let enforcer = load(scratch.settings());
    assert!(allowed(&enforcer, LIST, &["admin"]));
}

#[test]
fn a_file_override_replaces_a_deprecated_default_even_under_legacy_defaults() {
    let scratch = Scratch::new();
    scratch.write("policy.yaml", "\"service_api\": \"role:nova\"\n");
    let legacy = |settings: PolicySettings| PolicySettings {
        enforce_new_defaults: false,
        ..settings
    };
    let overridden = load(legacy(scratch.settings()));
    assert!(allowed(&overridden, actions::RESHAPER_RESHAPE, &["nova"]));
    assert!(!allowed(&overridden, actions::RESHAPER_RESHAPE, &["admin"]));
    assert!(!allowed(
        &overridden,
        actions::RESHAPER_RESHAPE,
        &["service"]
    ));
    let plain = load(legacy(PolicySettings::default()));
    assert!(allowed(&plain, actions::RESHAPER_RESHAPE, &["admin"]));
}

#[test]
fn a_broken_file_stops_startup_with_its_name_line_and_column() {
    let scratch = Scratch::new();
    let path = scratch.write(
        "policy.yaml",
        "\"placement:traits:list\": \"role:a\"\n\"x\": [\"unclosed\"\n\"y\": \"z\"\n",
    );
    let error = load_error(scratch.settings());
    assert!(error.contains(&path.display().to_string()), "{error}");
    assert!(error.contains("line 3, column"), "{error}");
}

#[test]
fn a_file_that_is_not_a_mapping_of_rules_stops_startup() {
    let scratch = Scratch::new();
    let path = scratch.write("policy.d/list.yaml", "- role:admin\n");
    let error = load_error(scratch.settings());
    assert!(error.contains(&path.display().to_string()), "{error}");
    assert!(error.contains("line 1, column 1"), "{error}");
    scratch.write("policy.d/list.yaml", "\"a\": \"b\"\n\"rule\": 5\n");
    let error = load_error(scratch.settings());
    assert!(error.contains("line 2, column 9"), "{error}");
}

#[test]
fn an_unreadable_policy_file_stops_startup_naming_it() {
    let scratch = Scratch::new();
    let path = scratch.write("policy.yaml", "\"a\": \"\u{e9}\"\n");
    fs::write(&path, b"\"a\": \"\xff\"\n").unwrap_or_else(|e| panic!("{e}"));
    let error = load_error(scratch.settings());
    assert!(error.contains(&path.display().to_string()), "{error}");
}

#[test]
fn http_checks_are_refused_at_startup_naming_the_rule_and_the_file() {
    let scratch = Scratch::new();
    let path = scratch.write(
        "policy.d/remote.yaml",
        "\"placement:traits:list\": \"role:admin or http://authz.example.invalid/check\"\n",
    );
    let error = load_error(scratch.settings());
    assert!(error.contains("placement:traits:list"), "{error}");
    assert!(error.contains(&path.display().to_string()), "{error}");
    assert!(
        error.contains("http: and https: checks are not supported"),
        "{error}"
    );
    scratch.write(
        "policy.d/remote.yaml",
        "\"mine\": [[\"https://authz.example.invalid\"]]\n",
    );
    let error = load_error(scratch.settings());
    assert!(error.contains("\"mine\""), "{error}");
}

#[test]
fn an_unparsable_rule_denies_with_a_warning_but_does_not_stop_startup() {
    let scratch = Scratch::new();
    scratch.write("policy.yaml", &format!("{LIST:?}: \"role:admin or\"\n"));
    let (enforcer, logs) = logs_of(|| load(scratch.settings()));
    assert!(!allowed(&enforcer, LIST, &["admin"]));
    assert!(logs.contains("WARN"), "{logs}");
    assert!(logs.contains(LIST), "{logs}");
}

#[test]
fn denials_are_logged_at_debug_with_the_action_and_the_credentials() {
    let enforcer = Enforcer::defaults();
    let (allowed, logs) = logs_of(|| allowed(&enforcer, LIST, &["reader"]));
    assert!(!allowed);
    assert!(logs.contains("DEBUG"), "{logs}");
    assert!(logs.contains(LIST), "{logs}");
    assert!(logs.contains("reader"), "{logs}");
}

#[test]
fn a_changed_file_is_re_read_by_a_running_enforcer() {
    let scratch = Scratch::new();
    scratch.write("policy.yaml", &format!("{LIST:?}: \"role:before\"\n"));
    let enforcer = load(scratch.settings());
    assert!(allowed(&enforcer, LIST, &["before"]));
    scratch.write("policy.yaml", &format!("{LIST:?}: \"role:after\"\n"));
    assert!(allowed(&enforcer, LIST, &["after"]));
    assert!(!allowed(&enforcer, LIST, &["before"]));
}

#[test]
fn with_a_check_interval_an_edit_applies_once_the_interval_has_passed() {
    let scratch = Scratch::new();
    scratch.write("policy.yaml", &format!("{LIST:?}: \"role:before\"\n"));
    let enforcer = load(PolicySettings {
        reload_check_interval: std::time::Duration::from_millis(300),
        ..scratch.settings()
    });
    scratch.write("policy.yaml", &format!("{LIST:?}: \"role:after\"\n"));
    assert!(
        allowed(&enforcer, LIST, &["before"]),
        "no look within the interval"
    );
    std::thread::sleep(std::time::Duration::from_millis(350));
    assert!(allowed(&enforcer, LIST, &["after"]));
    assert!(!allowed(&enforcer, LIST, &["before"]));
}

#[test]
fn files_appearing_in_or_leaving_the_policy_dir_are_noticed() {
    let scratch = Scratch::new();
    fs::create_dir_all(scratch.path("policy.d")).unwrap_or_else(|e| panic!("{e}"));
    let enforcer = load(scratch.settings());
    assert!(!allowed(&enforcer, LIST, &["new"]));
    let added = scratch.write("policy.d/new.yaml", &format!("{LIST:?}: \"role:new\"\n"));
    assert!(allowed(&enforcer, LIST, &["new"]));
    fs::remove_file(added).unwrap_or_else(|e| panic!("{e}"));
    assert!(!allowed(&enforcer, LIST, &["new"]));
    assert!(allowed(&enforcer, LIST, &["admin"]), "back to the defaults");
}

#[test]
fn a_policy_file_created_after_startup_is_picked_up() {
    let scratch = Scratch::new();
    let enforcer = load(scratch.settings());
    assert!(!allowed(&enforcer, LIST, &["late"]));
    scratch.write("policy.yaml", &format!("{LIST:?}: \"role:late\"\n"));
    assert!(allowed(&enforcer, LIST, &["late"]));
}

#[test]
fn a_file_broken_on_reload_is_logged_and_the_previous_rules_stay() {
    let scratch = Scratch::new();
    scratch.write("policy.yaml", &format!("{LIST:?}: \"role:good\"\n"));
    let enforcer = load(scratch.settings());
    let path = scratch.write(
        "policy.yaml",
        &format!("{LIST:?}: \"role:bad\"\n  oops: [\n"),
    );
    let (still, logs) = logs_of(|| allowed(&enforcer, LIST, &["good"]));
    assert!(still);
    assert!(logs.contains("ERROR"), "{logs}");
    assert!(logs.contains(&path.display().to_string()), "{logs}");
    assert!(logs.contains("line 2"), "{logs}");
    // Logged once per change, not on every request.
    let (_, again) = logs_of(|| allowed(&enforcer, LIST, &["good"]));
    assert!(!again.contains("ERROR"), "{again}");
    // A remote check on reload is refused the same way.
    scratch.write("policy.yaml", &format!("{LIST:?}: \"http://x.invalid\"\n"));
    let (still, logs) = logs_of(|| allowed(&enforcer, LIST, &["good"]));
    assert!(still);
    assert!(logs.contains("not supported"), "{logs}");
    // Fixed, it loads again.
    scratch.write("policy.yaml", &format!("{LIST:?}: \"role:fixed\"\n"));
    assert!(allowed(&enforcer, LIST, &["fixed"]));
}

#[test]
fn fixed_rules_and_the_defaults_ignore_files() {
    let scratch = Scratch::new();
    scratch.write("policy.yaml", &format!("{LIST:?}: \"role:file\"\n"));
    let fixed = Enforcer::with_rules(scratch.settings(), &format!("{LIST:?}: \"@\"\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(allowed(&fixed, LIST, &[]));
    assert!(!allowed(&Enforcer::defaults(), LIST, &["file"]));
    let legacy = Enforcer::with_rules(
        PolicySettings {
            enforce_new_defaults: false,
            ..PolicySettings::default()
        },
        "",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(allowed(&legacy, actions::RESHAPER_RESHAPE, &["admin"]));
    assert!(Enforcer::with_rules(PolicySettings::default(), "\"a\": \"https://x\"").is_err());
}

#[test]
fn scope_and_registration_denials_come_through_the_enforcer() {
    let enforcer = Enforcer::defaults();
    let system_admin = Credentials {
        system_scope: Some("all".into()),
        roles: vec!["admin".into()],
        ..Credentials::default()
    };
    assert_eq!(
        enforcer.authorize(LIST, &Target::new(), &system_admin),
        Err(Denial::Scope)
    );
    assert_eq!(
        enforcer.authorize("placement:nothing", &Target::new(), &who(&["admin"])),
        Err(Denial::Unregistered)
    );
}

#[test]
fn the_sample_file_uncommented_is_exactly_the_defaults() {
    let sample = placement_core::policy::sample_yaml();
    let active: String = sample
        .lines()
        .filter_map(|line| line.strip_prefix("#\""))
        .map(|rest| format!("\"{rest}\n"))
        .collect();
    assert_eq!(active.lines().count(), 38);
    let from_sample =
        Enforcer::with_rules(PolicySettings::default(), &active).unwrap_or_else(|e| panic!("{e}"));
    let defaults = Enforcer::defaults();
    let (a, b) = (from_sample.rules(), defaults.rules());
    assert_eq!(a.names(), b.names());
    for name in b.names() {
        assert_eq!(a.get(name), b.get(name), "{name}");
    }
}

#[test]
fn rules_change_safely_while_other_threads_authorize() {
    let scratch = Scratch::new();
    scratch.write("policy.yaml", &format!("{LIST:?}: \"role:one\"\n"));
    let enforcer = Arc::new(load(scratch.settings()));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let enforcer = Arc::clone(&enforcer);
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(10);
                while Instant::now() < deadline {
                    if allowed(&enforcer, LIST, &["two"]) {
                        return true;
                    }
                }
                false
            })
        })
        .collect();
    scratch.write("policy.yaml", &format!("{LIST:?}: \"role:two\"\n"));
    for worker in workers {
        assert!(worker.join().unwrap_or_else(|_| panic!("worker panicked")));
    }
}

#[test]
fn checking_the_files_on_every_request_costs_microseconds() {
    let scratch = Scratch::new();
    scratch.write("policy.yaml", &format!("{LIST:?}: \"role:admin\"\n"));
    for i in 0..5 {
        scratch.write(&format!("policy.d/{i:02}.yaml"), "\"x\": \"@\"\n");
    }
    let settings = PolicySettings {
        // Misses first, as a deployment's search path has them.
        search_dirs: vec![
            Path::new("/nonexistent/a").to_owned(),
            Path::new("/nonexistent/b").to_owned(),
            scratch.0.clone(),
        ],
        ..PolicySettings::default()
    };
    let watching = load(settings);
    let fixed = Enforcer::defaults();
    let creds = who(&["admin"]);
    let target = Target::for_caller(&creds);
    let time = |enforcer: &Enforcer| {
        let rounds = 2000;
        let start = Instant::now();
        for _ in 0..rounds {
            assert_eq!(enforcer.authorize(LIST, &target, &creds), Ok(()));
        }
        start.elapsed() / rounds
    };
    let (with_files, without) = (time(&watching), time(&fixed));
    eprintln!("authorize: {with_files:?} watching 6 files, {without:?} without");
    // Generous for a loaded CI machine running unoptimised code; the point
    // is that it stays far below a request's own cost.
    assert!(with_files < Duration::from_millis(1), "{with_files:?}");
}
