//! upstream's `schemas/allocation_candidate.py`: the
//! `GET /allocation_candidates` query, 1.10–1.39, for its handler.

use placement_core::microversion::Microversion;

use super::common::{GROUP_PAT, GROUP_PAT_1_33};
use super::{py, PyValue, Schema};

/// 1.10: `resources`, required.
pub(crate) static GET_SCHEMA_1_10: Schema = Schema::new(|| {
    py!({
        "type": "object",
        "properties": {"resources": {"type": "string"}},
        "required": ["resources"],
        "additionalProperties": false,
    })
});

/// 1.16 adds `limit` (a string of digits, or an integer).
pub(crate) static GET_SCHEMA_1_16: Schema = Schema::new(|| {
    GET_SCHEMA_1_10.clone().set(
        &["properties"],
        "limit",
        py!({
            "type": ["integer", "string"],
            "pattern": "^[1-9][0-9]*$",
            "minimum": 1,
            "minLength": 1,
        }),
    )
});

/// 1.17 adds `required`.
pub(crate) static GET_SCHEMA_1_17: Schema = Schema::new(|| {
    GET_SCHEMA_1_16
        .clone()
        .set(&["properties"], "required", py!({"type": ["string"]}))
});

/// 1.21 adds `member_of`.
pub(crate) static GET_SCHEMA_1_21: Schema = Schema::new(|| {
    GET_SCHEMA_1_17
        .clone()
        .set(&["properties"], "member_of", py!({"type": ["string"]}))
});

/// `^{name}(suffix)?$` for a request-group parameter.
fn group_key(name: &str, suffix: &str) -> String {
    format!("^{name}({suffix})?$")
}

/// 1.25: numbered request groups and `group_policy`.
pub(crate) static GET_SCHEMA_1_25: Schema = Schema::new(|| {
    GET_SCHEMA_1_21
        .clone()
        .remove(&["properties"], "resources")
        .remove(&[], "required")
        .remove(&["properties"], "required")
        .remove(&["properties"], "member_of")
        .set(
            &[],
            "patternProperties",
            py!({
                (group_key("resources", GROUP_PAT)): {"type": "string"},
                (group_key("required", GROUP_PAT)): {"type": "string"},
                (group_key("member_of", GROUP_PAT)): {"type": "string"},
            }),
        )
        .set(
            &["properties"],
            "group_policy",
            py!({"type": "string", "enum": ["none", "isolate"]}),
        )
});

/// 1.31 adds `in_tree<N>`.
pub(crate) static GET_SCHEMA_1_31: Schema = Schema::new(|| {
    GET_SCHEMA_1_25.clone().set(
        &["patternProperties"],
        &group_key("in_tree", GROUP_PAT),
        py!({"type": "string"}),
    )
});

/// 1.33: named request-group suffixes.
pub(crate) static GET_SCHEMA_1_33: Schema = Schema::new(|| {
    let groups = ["resources", "required", "member_of", "in_tree"]
        .iter()
        .map(|name| (group_key(name, GROUP_PAT_1_33), py!({"type": "string"})))
        .collect();
    GET_SCHEMA_1_31
        .clone()
        .set(&[], "patternProperties", PyValue::Object(groups))
});

/// 1.35 adds `root_required`.
pub(crate) static GET_SCHEMA_1_35: Schema = Schema::new(|| {
    GET_SCHEMA_1_33
        .clone()
        .set(&["properties"], "root_required", py!({"type": ["string"]}))
});

/// 1.36 adds `same_subtree`.
pub(crate) static GET_SCHEMA_1_36: Schema = Schema::new(|| {
    GET_SCHEMA_1_35
        .clone()
        .set(&["properties"], "same_subtree", py!({"type": ["string"]}))
});

/// The query schema of `GET /allocation_candidates` (1.10+) at `mv`.
pub(crate) fn get_schema(mv: Microversion) -> &'static PyValue {
    if mv.matches(1, 36) {
        &GET_SCHEMA_1_36
    } else if mv.matches(1, 35) {
        &GET_SCHEMA_1_35
    } else if mv.matches(1, 33) {
        &GET_SCHEMA_1_33
    } else if mv.matches(1, 31) {
        &GET_SCHEMA_1_31
    } else if mv.matches(1, 25) {
        &GET_SCHEMA_1_25
    } else if mv.matches(1, 21) {
        &GET_SCHEMA_1_21
    } else if mv.matches(1, 17) {
        &GET_SCHEMA_1_17
    } else if mv.matches(1, 16) {
        &GET_SCHEMA_1_16
    } else {
        &GET_SCHEMA_1_10
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::QueryParams;

    /// The corpus recorded from upstream (see `tools/schema-corpus`).
    const CORPUS: &str = include_str!("../../tests/corpus/schema-errors.jsonl");

    /// webob's 400 explanation, which precedes every detail.
    const EXPLANATION: &str = "The server could not comply with the request since it is \
                               either malformed or otherwise incorrect.";

    #[test]
    fn the_schemas_answer_every_recorded_candidates_query_as_upstream() {
        let mut checked = 0;
        for line in CORPUS.lines() {
            let entry: serde_json::Value = serde_json::from_str(line).unwrap();
            let path = entry["path"].as_str().unwrap();
            let Some(rest) = path.strip_prefix("/allocation_candidates") else {
                continue;
            };
            let (major, minor) = entry["version"].as_str().unwrap().split_once('.').unwrap();
            let mv = Microversion::new(major.parse().unwrap(), minor.parse().unwrap());
            let params = QueryParams::parse(rest.strip_prefix('?').unwrap_or_default()).unwrap();
            let detail = entry["detail"].as_str().unwrap_or_default();
            match params.validate(get_schema(mv)) {
                Ok(()) => assert!(
                    !detail.contains("Invalid query string parameters"),
                    "{path} @{mv:?} passed; upstream: {detail}"
                ),
                Err(e) => {
                    let flat = e.to_string().replace('\n', " ");
                    assert_eq!(
                        detail,
                        format!("{EXPLANATION}\n\n {flat}  "),
                        "{path} @{mv:?}"
                    );
                }
            }
            checked += 1;
        }
        assert!(checked > 100, "{checked}");
    }
}
