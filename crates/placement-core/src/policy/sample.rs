//! The sample policy file: every registered rule commented out with its
//! default, in the layout `oslopolicy-sample-generator --namespace
//! placement` prints, so operators can copy a rule into `policy.yaml` and
//! edit it. The wording of the comments is ours.

use super::defaults::{self, RuleDefault};

/// Comment lines are wrapped to this width, `# ` included, as upstream's
/// generator wraps them.
const WIDTH: usize = 70;

/// The sample policy YAML for every registered rule, in registration
/// order. Each rule gets a comment block (description, `METHOD  path` per
/// operation, intended scopes) and its default as a commented-out
/// `#"name": "check"` line; rules with a deprecated check get a second
/// block describing it and the alias an operator could uncomment.
pub fn sample_yaml() -> String {
    let mut out = String::new();
    for rule in defaults::registered() {
        render_rule(&mut out, rule);
    }
    out
}

fn render_rule(out: &mut String, rule: &RuleDefault) {
    comment(out, rule.description);
    for op in rule.operations {
        out.push_str(&format!("# {}  {}\n", op.method, op.path));
    }
    if !rule.scope_types.is_empty() {
        let scopes: Vec<&str> = rule.scope_types.iter().map(|s| s.as_str()).collect();
        out.push_str(&format!("# Intended scope(s): {}\n", scopes.join(", ")));
    }
    out.push_str(&format!(
        "#{}: {}\n\n",
        quoted(rule.name),
        quoted(rule.check_str)
    ));

    if let Some(dep) = rule.deprecated_rule {
        out.push_str("# DEPRECATED\n");
        comment(
            out,
            &format!(
                "{}:{} is deprecated since {}; {}:{} replaces it.",
                quoted(dep.name),
                quoted(dep.check_str),
                dep.since,
                quoted(rule.name),
                quoted(rule.check_str),
            ),
        );
        comment(out, dep.reason);
        comment(
            out,
            "Setting the old name in a policy file to anything but the old \
             check or the alias below applies it to this rule, unless the \
             file sets this rule too.",
        );
        out.push_str(&format!(
            "# {}: {}\n\n",
            quoted(dep.name),
            quoted(&format!("rule:{}", rule.name))
        ));
    }
}

/// `text` as `# `-prefixed lines of at most [`WIDTH`] characters, broken
/// between words.
fn comment(out: &mut String, text: &str) {
    let mut line = String::from("#");
    for word in text.split_whitespace() {
        if line.len() > 1 && line.len() + 1 + word.len() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    if line.len() > 1 {
        out.push_str(&line);
        out.push('\n');
    }
}

/// A double-quoted YAML scalar: the rule names and checks placement
/// registers need no escapes, but a backslash or quote would.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_rule_appears_commented_out_with_its_default() {
        let sample = sample_yaml();
        for rule in defaults::registered() {
            let line = format!("#\"{}\": \"{}\"\n", rule.name, rule.check_str);
            assert_eq!(sample.matches(&line).count(), 1, "{line}");
        }
        assert!(
            sample.lines().all(|l| l.is_empty() || l.starts_with('#')),
            "nothing is active in a sample"
        );
    }

    #[test]
    fn an_api_rule_block_has_its_description_operations_and_scope() {
        let sample = sample_yaml();
        let block = "# Show one of a resource provider's inventories.\n\
                     # GET  /resource_providers/{uuid}/inventories/{resource_class}\n\
                     # Intended scope(s): project\n\
                     #\"placement:resource_providers:inventories:show\": \"rule:admin_or_service_api\"\n\n";
        assert!(sample.contains(block), "{sample}");
    }

    #[test]
    fn project_reader_api_has_no_intended_scope_line() {
        let sample = sample_yaml();
        let at = sample
            .find("#\"project_reader_api\"")
            .unwrap_or_else(|| panic!("missing"));
        let before = &sample[..at];
        let block_start = before.rfind("\n\n").map_or(0, |i| i + 2);
        assert!(!before[block_start..].contains("Intended scope"));
    }

    #[test]
    fn deprecated_rules_get_a_block_with_the_old_check_and_a_commented_alias() {
        let sample = sample_yaml();
        assert_eq!(sample.matches("# DEPRECATED\n").count(), 4);
        assert!(sample.contains("# \"rule:admin_api\": \"rule:service_api\"\n\n"));
        assert!(sample.contains(
            "# DEPRECATED\n# \"rule:admin_api\":\"role:admin\" is deprecated since W;\n"
        ));
    }

    #[test]
    fn comment_lines_stay_within_seventy_columns() {
        for line in sample_yaml().lines() {
            if line.starts_with("# ") && !line.starts_with("# \"") && !line.contains("  /") {
                assert!(line.len() <= WIDTH, "{line}");
            }
        }
    }
}
