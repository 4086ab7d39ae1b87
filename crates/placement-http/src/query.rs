//! Query strings as upstream's handlers read them: webob's `req.GET`
//! (`&`-separated pairs, `+` as space, percent-decoded UTF-8, blank values
//! kept) and `util.validate_query_params`, which checks `dict(req.GET)` —
//! the last value of a repeated key wins, keys keep their first position —
//! against a JSON schema with `additionalProperties: false`.
//!
//! The schemas and their validator are [`crate::schema`]'s; upstream puts
//! `str(ValidationError)` in the 400's detail.

use crate::schema::{validate, Formats, PyValue};

/// Why a query string was refused; displays as upstream's 400 detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid query string parameters: {0}")]
pub(crate) struct InvalidQuery(String);

/// `dict(req.GET)`: each key once, in first-seen order, with its last value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct QueryParams {
    pairs: Vec<(String, String)>,
    /// Every pair in request order (webob's `getall`).
    all: Vec<(String, String)>,
}

impl QueryParams {
    /// Parses a raw query string (without the `?`).
    ///
    /// # Errors
    /// [`InvalidQuery`] with Python's codec message when a decoded key or
    /// value is not UTF-8 (upstream catches that `UnicodeDecodeError`).
    pub(crate) fn parse(raw: &str) -> Result<Self, InvalidQuery> {
        let mut params = Self::default();
        for field in raw.split('&').filter(|f| !f.is_empty()) {
            let (key, value) = field.split_once('=').unwrap_or((field, ""));
            let key = decode_utf8(&percent_decode(key.as_bytes(), true))?;
            let value = decode_utf8(&percent_decode(value.as_bytes(), true))?;
            params.all.push((key.clone(), value.clone()));
            match params.pairs.iter_mut().find(|(k, _)| *k == key) {
                Some(pair) => pair.1 = value,
                None => params.pairs.push((key, value)),
            }
        }
        Ok(params)
    }

    /// The value of `key` (the last one given).
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every pair in request order, repeats included (webob's `GET.items()`).
    pub(crate) fn all(&self) -> &[(String, String)] {
        &self.all
    }

    /// `dict(req.GET)` as the JSON object upstream validates.
    pub(crate) fn as_object(&self) -> PyValue {
        PyValue::Object(
            self.pairs
                .iter()
                .map(|(k, v)| (k.clone(), PyValue::Str(v.clone())))
                .collect(),
        )
    }

    /// upstream's `util.validate_query_params(req, schema)`.
    ///
    /// # Errors
    /// [`InvalidQuery`] with `jsonschema`'s text for the first failure.
    pub(crate) fn validate(&self, schema: &PyValue) -> Result<(), InvalidQuery> {
        validate(&self.as_object(), schema, Formats::Query).map_err(InvalidQuery)
    }
}

/// Percent-decodes `raw` to bytes; `+` means a space in a query string but
/// not in a path. Malformed escapes stay as they are, as in Python.
pub(crate) fn percent_decode(raw: &[u8], plus_as_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let byte = raw[i];
        let escaped = (byte == b'%')
            .then(|| raw.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        if let Some(decoded) = escaped {
            out.push(decoded);
            i += 3;
        } else {
            out.push(if plus_as_space && byte == b'+' {
                b' '
            } else {
                byte
            });
            i += 1;
        }
    }
    out
}

/// Decodes UTF-8 or fails with Python's `UnicodeDecodeError` text.
fn decode_utf8(bytes: &[u8]) -> Result<String, InvalidQuery> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_owned()),
        Err(e) => {
            let at = e.valid_up_to();
            let first = bytes.get(at).copied().unwrap_or_default();
            let message = match e.error_len() {
                None if bytes.len() - at > 1 => format!(
                    "'utf-8' codec can't decode bytes in position {at}-{}: unexpected end of data",
                    bytes.len() - 1
                ),
                None => format!(
                    "'utf-8' codec can't decode byte 0x{first:02x} in position {at}: \
                     unexpected end of data"
                ),
                Some(_) => {
                    let reason = if (0xc2..=0xf4).contains(&first) {
                        "invalid continuation byte"
                    } else {
                        "invalid start byte"
                    };
                    format!(
                        "'utf-8' codec can't decode byte 0x{first:02x} in position {at}: {reason}"
                    )
                }
            };
            Err(InvalidQuery(message))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_keep_their_first_place_and_last_value() {
        let params = QueryParams::parse("a=1&b=2&a=3&c&d=x+y%21").unwrap();
        assert_eq!(params.get("a"), Some("3"));
        assert_eq!(params.get("c"), Some(""));
        assert_eq!(params.get("d"), Some("x y!"));
        assert_eq!(
            params
                .pairs
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>(),
            ["a", "b", "c", "d"]
        );
    }

    #[test]
    fn an_unknown_parameter_reads_as_jsonschemas_message() {
        // The full texts, schema and instance printed, are in the corpus
        // test (tests/api/schema_corpus.rs).
        let params = QueryParams::parse("invalid=abc").unwrap();
        let error = params
            .validate(&crate::schema::trait_::LIST_TRAIT_SCHEMA)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(
                "Invalid query string parameters: Additional properties are not allowed \
                 ('invalid' was unexpected)\n\nFailed validating 'additionalProperties' in \
                 schema:\n"
            ),
            "{error}"
        );
        assert!(
            error.ends_with("\n\nOn instance:\n    {'invalid': 'abc'}"),
            "{error}"
        );
    }

    #[test]
    fn several_unknown_parameters_are_sorted_and_the_instance_keeps_its_order() {
        let params = QueryParams::parse("name=x&zed=1&associated=true&foo=bar").unwrap();
        let text = params
            .validate(&crate::schema::trait_::LIST_TRAIT_SCHEMA)
            .unwrap_err()
            .to_string();
        assert!(text.contains("('foo', 'zed' were unexpected)"), "{text}");
        assert!(
            text.ends_with("{'name': 'x', 'zed': '1', 'associated': 'true', 'foo': 'bar'}"),
            "{text}"
        );
    }

    #[test]
    fn bad_utf8_is_reported_as_python_reports_it() {
        assert_eq!(
            QueryParams::parse("name=%ff").unwrap_err().to_string(),
            "Invalid query string parameters: 'utf-8' codec can't decode byte 0xff in \
             position 0: invalid start byte"
        );
    }
}
