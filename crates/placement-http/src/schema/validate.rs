//! The one validator: `jsonschema.validate(instance, schema)` (Draft
//! 2020-12, as `jsonschema` 4.26 picks for a schema without `$schema`)
//! interpreting a schema tree, then `best_match` and `str(error)`.
//!
//! Keywords are visited in the schema dict's order and errors collected in
//! the order `jsonschema` yields them, because `best_match` keeps the first
//! of equally relevant errors; the message text, the failing schema node
//! and the instance are printed from the trees themselves.

use std::cmp::Reverse;
use std::fmt::Write as _;

use placement_core::resource_provider::{is_jsonschema_uuid, parse_uuid_like};

use super::pyrepr::{char_len, pformat, repr, str_repr};
use super::regex::search;
use super::tree::PyValue;

/// Which `format` checker applies: upstream validates bodies with its own
/// checker (`uuid` is `uuidutils.is_uuid_like`) and query strings with
/// `jsonschema`'s default one (`uuid` also needs hyphens at 8, 13, 18, 23).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Formats {
    /// `util.extract_json`'s `_FORMAT_CHECKER`.
    Body,
    /// `util.validate_query_params`'s `jsonschema.FormatChecker()`.
    Query,
}

/// Validates `instance` against `schema`.
///
/// # Errors
/// `str(best_match(errors))`: `jsonschema`'s message for the most relevant
/// error, the failing keyword and schema node, and the instance.
pub(crate) fn validate(
    instance: &PyValue,
    schema: &PyValue,
    formats: Formats,
) -> Result<(), String> {
    let errors = Validator { formats }.iter_errors(instance, schema);
    match best_match(errors) {
        None => Ok(()),
        Some(error) => Err(error.to_string()),
    }
}

/// One step of an instance path or a schema path: jsonschema prints (and
/// orders) indexes as ints and keys as strs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Index(usize),
    Key(String),
}

impl Step {
    fn repr(&self) -> String {
        match self {
            Step::Index(i) => i.to_string(),
            Step::Key(k) => str_repr(k),
        }
    }
}

/// A `jsonschema.ValidationError` with the parts `str()` and
/// `best_match` read; paths are relative to the error's parent.
struct SchemaError<'s, 'i> {
    message: String,
    keyword: &'s str,
    schema: &'s PyValue,
    schema_path: Vec<Step>,
    path: Vec<Step>,
    instance: &'i PyValue,
    /// `_matches_type()`: the instance has one of the node's `type`s.
    matches_type: bool,
    /// The branch errors of an `anyOf`.
    context: Vec<SchemaError<'s, 'i>>,
}

type Relevance<'e> = (Reverse<usize>, &'e [Step], bool, bool);

impl SchemaError<'_, '_> {
    /// `jsonschema.exceptions.relevance`: shallow first, then the greater
    /// path, then not a weak keyword (`anyOf`), then a type mismatch.
    fn relevance(&self) -> Relevance<'_> {
        (
            Reverse(self.path.len()),
            &self.path,
            self.keyword != "anyOf",
            !self.matches_type,
        )
    }
}

impl std::fmt::Display for SchemaError<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let index = |word: &str, steps: &[Step]| {
            let mut out = word.to_owned();
            for step in steps {
                let _ = write!(out, "[{}]", step.repr());
            }
            out
        };
        let keyword_node = self.schema_path.len().saturating_sub(1);
        let pretty = |value: &PyValue| pformat(value).replace('\n', "\n    ");
        write!(
            f,
            "{}\n\nFailed validating {} in {}:\n    {}\n\nOn {}:\n    {}",
            self.message,
            str_repr(self.keyword),
            index("schema", &self.schema_path[..keyword_node]),
            pretty(self.schema),
            index("instance", &self.path),
            pretty(self.instance),
        )
    }
}

/// `best_match`: the most relevant error (the first among equals), then
/// down an `anyOf`'s context while one branch error is strictly the most
/// relevant there (the smallest key: the deepest).
fn best_match<'s, 'i>(errors: Vec<SchemaError<'s, 'i>>) -> Option<SchemaError<'s, 'i>> {
    let mut best: Option<SchemaError<'s, 'i>> = None;
    for error in errors {
        if best
            .as_ref()
            .is_none_or(|b| error.relevance() > b.relevance())
        {
            best = Some(error);
        }
    }
    let mut best = best?;
    while !best.context.is_empty() {
        let mut context = std::mem::take(&mut best.context);
        // heapq.nsmallest is stable: the first of equal keys comes first.
        let mut order: Vec<usize> = (0..context.len()).collect();
        order.sort_by(|a, b| context[*a].relevance().cmp(&context[*b].relevance()));
        if let [first, second, ..] = order[..] {
            if context[first].relevance() == context[second].relevance() {
                best.context = context;
                return Some(best);
            }
        }
        best = context.swap_remove(order[0]);
    }
    Some(best)
}

/// One keyword's errors: its own messages (an `anyOf`'s with the branch
/// errors as context), and the errors of the subschemas it descends into.
#[derive(Default)]
struct Found<'s, 'i> {
    own: Vec<(String, Vec<SchemaError<'s, 'i>>)>,
    nested: Vec<SchemaError<'s, 'i>>,
}

impl Found<'_, '_> {
    fn fail(&mut self, message: String) {
        self.own.push((message, Vec::new()));
    }
}

struct Validator {
    formats: Formats,
}

/// `TypeChecker.is_type` for Draft 2020-12: bools are not numbers, and an
/// integral float is an integer.
fn is_type(instance: &PyValue, name: &str) -> bool {
    match (name, instance) {
        ("null", PyValue::Null)
        | ("boolean", PyValue::Bool(_))
        | ("string", PyValue::Str(_))
        | ("array", PyValue::List(_))
        | ("object", PyValue::Object(_))
        | ("integer" | "number", PyValue::Int(_))
        | ("number", PyValue::Float(_)) => true,
        ("integer", PyValue::Float(f)) => f.is_finite() && f.fract() == 0.0,
        _ => false,
    }
}

/// The names a `type` keyword lists (a string or a list of strings).
fn type_names(value: &PyValue) -> Vec<&str> {
    match value {
        PyValue::Str(s) => vec![s.as_str()],
        PyValue::List(items) => items.iter().filter_map(PyValue::as_str).collect(),
        _ => Vec::new(),
    }
}

fn as_number(value: &PyValue) -> Option<f64> {
    match value {
        PyValue::Int(digits) => digits.parse().ok(),
        PyValue::Float(f) => Some(*f),
        _ => None,
    }
}

fn as_count(value: &PyValue) -> usize {
    match value {
        PyValue::Int(digits) => digits.parse().unwrap_or(usize::MAX),
        _ => usize::MAX,
    }
}

/// `"should be non-empty"` for a minimum of one (jsonschema 4.23+), else
/// the general wording.
fn too_few(minimum: usize, general: &str) -> &str {
    if minimum == 1 {
        "should be non-empty"
    } else {
        general
    }
}

impl Validator {
    /// `Validator.iter_errors`: each keyword of `schema` in order.
    fn iter_errors<'s, 'i>(
        &self,
        instance: &'i PyValue,
        schema: &'s PyValue,
    ) -> Vec<SchemaError<'s, 'i>> {
        let PyValue::Object(keywords) = schema else {
            return Vec::new();
        };
        let matches_type = schema
            .get("type")
            .is_some_and(|t| type_names(t).iter().any(|n| is_type(instance, n)));
        let mut errors = Vec::new();
        for (keyword, value) in keywords {
            let mut found = Found::default();
            self.keyword(keyword, value, instance, schema, &mut found);
            let own = found.own.into_iter().map(|(message, context)| SchemaError {
                message,
                keyword: keyword.as_str(),
                schema,
                schema_path: Vec::new(),
                path: Vec::new(),
                instance,
                matches_type,
                context,
            });
            for mut error in found.nested.into_iter().chain(own) {
                error.schema_path.insert(0, Step::Key(keyword.clone()));
                errors.push(error);
            }
        }
        errors
    }

    /// `Validator.descend`: a subschema's errors, with `path` and
    /// `schema_step` put in front of theirs.
    fn descend<'s, 'i>(
        &self,
        instance: &'i PyValue,
        schema: &'s PyValue,
        path: Option<Step>,
        schema_step: Option<Step>,
        out: &mut Vec<SchemaError<'s, 'i>>,
    ) {
        for mut error in self.iter_errors(instance, schema) {
            if let Some(step) = &path {
                error.path.insert(0, step.clone());
            }
            if let Some(step) = &schema_step {
                error.schema_path.insert(0, step.clone());
            }
            out.push(error);
        }
    }

    /// One keyword's errors, as its function in jsonschema's `_keywords`
    /// yields them.
    #[expect(
        clippy::too_many_lines,
        reason = "one arm per keyword, as jsonschema's _keywords"
    )]
    fn keyword<'s, 'i>(
        &self,
        keyword: &str,
        value: &'s PyValue,
        instance: &'i PyValue,
        schema: &'s PyValue,
        found: &mut Found<'s, 'i>,
    ) {
        match keyword {
            "type" => {
                let names = type_names(value);
                if !names.iter().any(|n| is_type(instance, n)) {
                    let listed: Vec<String> = names.iter().map(|n| str_repr(n)).collect();
                    found.fail(format!(
                        "{} is not of type {}",
                        repr(instance),
                        listed.join(", ")
                    ));
                }
            }
            "enum" => {
                if let PyValue::List(options) = value {
                    if !options.contains(instance) {
                        found.fail(format!("{} is not one of {}", repr(instance), repr(value)));
                    }
                }
            }
            "minLength" | "maxLength" | "pattern" | "format" => {
                let PyValue::Str(s) = instance else { return };
                match keyword {
                    "minLength" => {
                        let min = as_count(value);
                        if char_len(s) < min {
                            found.fail(format!(
                                "{} {}",
                                repr(instance),
                                too_few(min, "is too short")
                            ));
                        }
                    }
                    "maxLength" => {
                        let max = as_count(value);
                        if char_len(s) > max {
                            let message = if max == 0 {
                                "is expected to be empty"
                            } else {
                                "is too long"
                            };
                            found.fail(format!("{} {message}", repr(instance)));
                        }
                    }
                    "pattern" => {
                        let pattern = value.as_str().unwrap_or_default();
                        if !search(pattern, s) {
                            found.fail(format!(
                                "{} does not match {}",
                                repr(instance),
                                str_repr(pattern)
                            ));
                        }
                    }
                    _ => {
                        let name = value.as_str().unwrap_or_default();
                        let ok = match (name, self.formats) {
                            ("uuid", Formats::Body) => parse_uuid_like(s).is_ok(),
                            ("uuid", Formats::Query) => is_jsonschema_uuid(s),
                            _ => true,
                        };
                        if !ok {
                            found.fail(format!("{} is not a {}", repr(instance), str_repr(name)));
                        }
                    }
                }
            }
            "minimum" | "maximum" => {
                if !is_type(instance, "number") {
                    return;
                }
                let (Some(number), Some(bound)) = (as_number(instance), as_number(value)) else {
                    return;
                };
                if keyword == "minimum" && number < bound {
                    found.fail(format!(
                        "{} is less than the minimum of {}",
                        repr(instance),
                        repr(value)
                    ));
                }
                if keyword == "maximum" && number > bound {
                    found.fail(format!(
                        "{} is greater than the maximum of {}",
                        repr(instance),
                        repr(value)
                    ));
                }
            }
            "minItems" | "items" | "uniqueItems" => {
                let PyValue::List(list) = instance else {
                    return;
                };
                match keyword {
                    "minItems" => {
                        let min = as_count(value);
                        if list.len() < min {
                            found.fail(format!(
                                "{} {}",
                                repr(instance),
                                too_few(min, "is too short")
                            ));
                        }
                    }
                    "items" => {
                        for (index, item) in list.iter().enumerate() {
                            self.descend(
                                item,
                                value,
                                Some(Step::Index(index)),
                                None,
                                &mut found.nested,
                            );
                        }
                    }
                    _ => {
                        let duplicated = list
                            .iter()
                            .enumerate()
                            .any(|(i, a)| list[i + 1..].contains(a));
                        if *value == PyValue::Bool(true) && duplicated {
                            found.fail(format!("{} has non-unique elements", repr(instance)));
                        }
                    }
                }
            }
            "properties"
            | "patternProperties"
            | "additionalProperties"
            | "required"
            | "minProperties" => {
                let PyValue::Object(entries) = instance else {
                    return;
                };
                self.object_keyword(keyword, value, entries, instance, schema, found);
            }
            "anyOf" => {
                let PyValue::List(branches) = value else {
                    return;
                };
                let mut context = Vec::new();
                for (index, branch) in branches.iter().enumerate() {
                    let mut errs = Vec::new();
                    self.descend(instance, branch, None, Some(Step::Index(index)), &mut errs);
                    if errs.is_empty() {
                        return;
                    }
                    context.append(&mut errs);
                }
                let message = format!(
                    "{} is not valid under any of the given schemas",
                    repr(instance)
                );
                found.own.push((message, context));
            }
            _ => {}
        }
    }

    fn object_keyword<'s, 'i>(
        &self,
        keyword: &str,
        value: &'s PyValue,
        entries: &'i [(String, PyValue)],
        instance: &'i PyValue,
        schema: &'s PyValue,
        found: &mut Found<'s, 'i>,
    ) {
        let PyValue::Object(schema_items) = schema else {
            return;
        };
        match keyword {
            "properties" => {
                let PyValue::Object(properties) = value else {
                    return;
                };
                for (name, subschema) in properties {
                    if let Some((key, item)) = entries.iter().find(|(k, _)| k == name) {
                        let step = Step::Key(key.clone());
                        self.descend(
                            item,
                            subschema,
                            Some(step.clone()),
                            Some(step),
                            &mut found.nested,
                        );
                    }
                }
            }
            "patternProperties" => {
                let PyValue::Object(patterns) = value else {
                    return;
                };
                for (pattern, subschema) in patterns {
                    for (key, item) in entries {
                        if search(pattern, key) {
                            self.descend(
                                item,
                                subschema,
                                Some(Step::Key(key.clone())),
                                Some(Step::Key(pattern.clone())),
                                &mut found.nested,
                            );
                        }
                    }
                }
            }
            "additionalProperties" => {
                if *value != PyValue::Bool(false) {
                    return;
                }
                let properties = schema.get("properties");
                let patterns = schema.get("patternProperties");
                let pattern_names: Vec<&str> = match patterns {
                    Some(PyValue::Object(items)) => items.iter().map(|(k, _)| k.as_str()).collect(),
                    _ => Vec::new(),
                };
                let mut extras: Vec<&str> = entries
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .filter(|k| properties.and_then(|p| p.get(k)).is_none())
                    .filter(|k| !pattern_names.iter().any(|p| search(p, k)))
                    .collect();
                if extras.is_empty() {
                    return;
                }
                extras.sort_unstable();
                let joined: Vec<String> = extras.iter().map(|k| str_repr(k)).collect();
                let joined = joined.join(", ");
                if schema_items.iter().any(|(k, _)| k == "patternProperties") {
                    let verb = if extras.len() == 1 { "does" } else { "do" };
                    let mut sorted = pattern_names.clone();
                    sorted.sort_unstable();
                    let listed: Vec<String> = sorted.iter().map(|p| str_repr(p)).collect();
                    found.fail(format!(
                        "{joined} {verb} not match any of the regexes: {}",
                        listed.join(", ")
                    ));
                } else {
                    let verb = if extras.len() == 1 { "was" } else { "were" };
                    found.fail(format!(
                        "Additional properties are not allowed ({joined} {verb} unexpected)"
                    ));
                }
            }
            "required" => {
                let PyValue::List(names) = value else { return };
                for name in names.iter().filter_map(PyValue::as_str) {
                    if !entries.iter().any(|(k, _)| k == name) {
                        found.fail(format!("{} is a required property", str_repr(name)));
                    }
                }
            }
            _ => {
                let min = as_count(value);
                if entries.len() < min {
                    found.fail(format!(
                        "{} {}",
                        repr(instance),
                        too_few(min, "does not have enough properties")
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::loads;
    use crate::schema::py;

    fn first_line(instance: &str, schema: &PyValue) -> String {
        let error =
            validate(&loads(instance.as_bytes()).unwrap(), schema, Formats::Body).unwrap_err();
        error.lines().next().unwrap().to_owned()
    }

    fn by_number() -> PyValue {
        py!({
            "type": "object",
            "minProperties": 1,
            "patternProperties": {"^[0-9]+$": {
                "type": "array", "minItems": 1, "items": {"type": ["integer", "null"]},
            }},
            "additionalProperties": false,
        })
    }

    #[test]
    fn errors_of_one_node_come_in_the_schemas_keyword_order() {
        let extras_first = py!({
            "type": "object",
            "properties": {"a": {"type": "integer"}},
            "additionalProperties": false,
            "required": ["a"],
        });
        assert_eq!(
            first_line(r#"{"z": 1, "b": 2}"#, &extras_first),
            "Additional properties are not allowed ('b', 'z' were unexpected)"
        );
        let required_first = extras_first
            .clone()
            .remove(&[], "additionalProperties")
            .set(&[], "additionalProperties", py!(false));
        assert_eq!(
            first_line(r#"{"z": 1}"#, &required_first),
            "'a' is a required property"
        );
        assert!(validate(
            &loads(br#"{"a": 1.0}"#).unwrap(),
            &required_first,
            Formats::Body
        )
        .is_ok());
    }

    #[test]
    fn minimums_of_one_are_worded_as_jsonschema_4_23_words_them() {
        assert_eq!(first_line("{}", &by_number()), "{} should be non-empty");
        assert_eq!(
            first_line(r#"{"1": []}"#, &by_number()),
            "[] should be non-empty"
        );
        assert_eq!(first_line("[1]", &py!({"minItems": 2})), "[1] is too short");
        assert_eq!(
            first_line(r#""""#, &py!({"minLength": 1})),
            "'' should be non-empty"
        );
    }

    #[test]
    fn keys_outside_the_patterns_are_listed_sorted_against_the_regexes() {
        assert_eq!(
            first_line(r#"{"b": 1, "a": 2, "7": [1]}"#, &by_number()),
            "'a', 'b' do not match any of the regexes: '^[0-9]+$'"
        );
        assert_eq!(
            first_line(r#"{"b": 1}"#, &by_number()),
            "'b' does not match any of the regexes: '^[0-9]+$'"
        );
    }

    #[test]
    fn integers_are_integral_numbers_but_never_booleans() {
        let schema = py!({"type": "array", "items": {"type": ["integer", "null"]}});
        assert!(validate(&loads(b"[1, null, 2.0]").unwrap(), &schema, Formats::Body).is_ok());
        assert_eq!(
            first_line(r#"["1"]"#, &schema),
            "'1' is not of type 'integer', 'null'"
        );
        assert_eq!(
            first_line("[true]", &schema),
            "True is not of type 'integer', 'null'"
        );
    }

    #[test]
    fn paths_print_keys_as_strings_and_indexes_as_integers() {
        let error = validate(
            &loads(br#"{"12": [null, "x"]}"#).unwrap(),
            &by_number(),
            Formats::Body,
        )
        .unwrap_err();
        assert!(
            error.contains(
                "Failed validating 'type' in schema['patternProperties']['^[0-9]+$']['items']:"
            ),
            "{error}"
        );
        assert!(error.contains("On instance['12'][1]:"), "{error}");
    }

    #[test]
    fn the_greatest_of_equally_deep_paths_wins() {
        let error = validate(
            &loads(br#"{"1": ["a", 0, 0, 0, 0, 0, 0, 0, 0, "b", "c"]}"#).unwrap(),
            &by_number(),
            Formats::Body,
        )
        .unwrap_err();
        assert!(error.starts_with("'c' is not of type"), "{error}");
    }

    #[test]
    fn an_any_of_failure_descends_to_the_one_most_relevant_branch_error() {
        let schema = py!({"anyOf": [{"type": "string", "format": "uuid"}, {"type": "null"}]});
        // Both branches fail on type at the same depth: no descent.
        assert_eq!(
            validate(&loads(b"5").unwrap(), &schema, Formats::Body).unwrap_err(),
            "5 is not valid under any of the given schemas\n\nFailed validating 'anyOf' in \
             schema:\n    {'anyOf': [{'type': 'string', 'format': 'uuid'}, {'type': 'null'}]}\
             \n\nOn instance:\n    5"
        );
        // The string matches the first branch's type, so its format error
        // beats the null branch's type error and is printed, with paths
        // relative to the anyOf.
        assert_eq!(
            validate(&loads(br#""bad""#).unwrap(), &schema, Formats::Body).unwrap_err(),
            "'bad' is not a 'uuid'\n\nFailed validating 'format' in schema[0]:\n    \
             {'type': 'string', 'format': 'uuid'}\n\nOn instance:\n    'bad'"
        );
    }

    #[test]
    fn query_uuids_need_their_hyphens_but_body_uuids_do_not() {
        let schema = py!({"type": "string", "format": "uuid"});
        let bare = PyValue::Str("0".repeat(32));
        assert!(validate(&bare, &schema, Formats::Body).is_ok());
        assert_eq!(
            validate(&bare, &schema, Formats::Query)
                .unwrap_err()
                .lines()
                .next(),
            Some(format!("'{}' is not a 'uuid'", "0".repeat(32)).as_str())
        );
    }
}
