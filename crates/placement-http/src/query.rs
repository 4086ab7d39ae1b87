//! Query strings as upstream's handlers read them: webob's `req.GET`
//! (`&`-separated pairs, `+` as space, percent-decoded UTF-8, blank values
//! kept) and `util.validate_query_params`, which checks `dict(req.GET)` —
//! the last value of a repeated key wins, keys keep their first position —
//! against a JSON schema with `additionalProperties: false`.
//!
//! Query values are always strings, so the only schema failure a
//! string-typed schema can report is an unknown parameter; its message is
//! jsonschema's, including the pretty-printed schema and instance, because
//! upstream puts `str(ValidationError)` in the 400's detail.

use std::fmt::Write as _;

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

    /// Each key once, in first-seen order, with its last value: the
    /// `dict(req.GET)` upstream validates.
    pub(crate) fn pairs(&self) -> &[(String, String)] {
        &self.pairs
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

    /// Refuses parameters outside `known`, as a schema whose properties are
    /// `known` (printed by jsonschema as `schema_text`) with
    /// `additionalProperties: false` does.
    ///
    /// # Errors
    /// [`InvalidQuery`] naming the unexpected parameters.
    pub(crate) fn check_known(
        &self,
        known: &[&str],
        schema_text: &str,
    ) -> Result<(), InvalidQuery> {
        let mut extras: Vec<&str> = self
            .pairs
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !known.contains(k))
            .collect();
        if extras.is_empty() {
            return Ok(());
        }
        extras.sort_unstable();
        let listed = extras
            .iter()
            .map(|e| py_repr(e))
            .collect::<Vec<_>>()
            .join(", ");
        let verb = if extras.len() == 1 { "was" } else { "were" };
        Err(InvalidQuery(format!(
            "Additional properties are not allowed ({listed} {verb} unexpected)\n\n\
             Failed validating 'additionalProperties' in schema:\n{}\n\n\
             On instance:\n{}",
            indent(schema_text),
            indent(&pformat_dict(&self.pairs)),
        )))
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

/// jsonschema's `_pretty`: every line indented by four spaces.
fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Python's `repr` of a `str`.
fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if !is_printable(c) => {
                let code = u32::from(c);
                let _ = if code <= 0xff {
                    write!(out, "\\x{code:02x}")
                } else if code <= 0xffff {
                    write!(out, "\\u{code:04x}")
                } else {
                    write!(out, "\\U{code:08x}")
                };
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// An approximation of Python's `str.isprintable` for one character:
/// controls, separators other than the ASCII space, and the common format
/// characters are not printable.
fn is_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    !(c.is_control()
        || c.is_whitespace()
        || matches!(
            c,
            '\u{ad}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        ))
}

/// The width `pprint.pformat` wraps at in jsonschema's messages.
const WIDTH: usize = 72;

fn width(s: &str) -> usize {
    s.chars().count()
}

/// `pprint.pformat(d, width=72, sort_dicts=False)` for a dict of strings.
fn pformat_dict(pairs: &[(String, String)]) -> String {
    let items: Vec<(String, &str)> = pairs
        .iter()
        .map(|(k, v)| (py_repr(k), v.as_str()))
        .collect();
    let one_line = format!(
        "{{{}}}",
        items
            .iter()
            .map(|(k, v)| format!("{k}: {}", py_repr(v)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if width(&one_line) <= WIDTH {
        return one_line;
    }
    // One item per line after the brace; a value too wide for its line is
    // split into adjacent string literals, as pprint does.
    let mut out = String::from("{");
    let last = items.len().saturating_sub(1);
    for (i, (key, value)) in items.iter().enumerate() {
        let item_indent = 1 + width(key) + 2;
        // The dict's closing brace, or the comma after a non-last item.
        let allowance = 1;
        out.push_str(key);
        out.push_str(": ");
        out.push_str(&pformat_str(value, item_indent, allowance));
        if i != last {
            out.push_str(",\n ");
        }
    }
    out.push('}');
    out
}

/// pprint's `_pprint_str` for a string nested in a container (no
/// parentheses): split into chunks at whitespace so each literal fits.
fn pformat_str(s: &str, indent: usize, allowance: usize) -> String {
    let whole = py_repr(s);
    if width(&whole) + indent + allowance <= WIDTH || s.is_empty() {
        return whole;
    }
    let max_width = WIDTH.saturating_sub(indent);
    let lines: Vec<&str> = s.split_inclusive('\n').collect();
    let mut chunks: Vec<String> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let last_line = i + 1 == lines.len();
        let rep = py_repr(line);
        let max_width1 = if last_line {
            max_width.saturating_sub(allowance)
        } else {
            max_width
        };
        if width(&rep) <= max_width1 {
            chunks.push(rep);
            continue;
        }
        let parts = split_words(line);
        let mut current = String::new();
        for (j, part) in parts.iter().enumerate() {
            let candidate = format!("{current}{part}");
            let limit = if last_line && j + 1 == parts.len() {
                max_width.saturating_sub(allowance)
            } else {
                max_width
            };
            if width(&py_repr(&candidate)) > limit {
                if !current.is_empty() {
                    chunks.push(py_repr(&current));
                }
                current = (*part).to_owned();
            } else {
                current = candidate;
            }
        }
        if !current.is_empty() {
            chunks.push(py_repr(&current));
        }
    }
    if chunks.len() == 1 {
        return whole;
    }
    chunks.join(&format!("\n{}", " ".repeat(indent)))
}

/// `re.findall(r'\S*\s*', line)` without its final empty match.
fn split_words(line: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_space = false;
    for (i, c) in line.char_indices() {
        let space = c.is_whitespace();
        if in_space && !space {
            parts.push(&line[start..i]);
            start = i;
        }
        in_space = space;
    }
    if start < line.len() {
        parts.push(&line[start..]);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = "{'type': 'object',\n 'properties': {'name': {'type': 'string'},\n                'associated': {'type': 'string'}},\n 'additionalProperties': False}";

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
        let params = QueryParams::parse("invalid=abc").unwrap();
        let error = params
            .check_known(&["name", "associated"], SCHEMA)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "Invalid query string parameters: Additional properties are not allowed \
             ('invalid' was unexpected)\n\nFailed validating 'additionalProperties' in \
             schema:\n    {'type': 'object',\n     'properties': {'name': {'type': \
             'string'},\n                    'associated': {'type': 'string'}},\n     \
             'additionalProperties': False}\n\nOn instance:\n    {'invalid': 'abc'}"
        );
    }

    #[test]
    fn several_unknown_parameters_are_sorted_and_the_instance_keeps_its_order() {
        let params = QueryParams::parse("name=x&zed=1&associated=true&foo=bar").unwrap();
        let error = params
            .check_known(&["name", "associated"], SCHEMA)
            .unwrap_err();
        let text = error.to_string();
        assert!(text.contains("('foo', 'zed' were unexpected)"), "{text}");
        assert!(
            text.ends_with("{'name': 'x', 'zed': '1', 'associated': 'true', 'foo': 'bar'}"),
            "{text}"
        );
    }

    #[test]
    fn wide_instances_wrap_one_item_per_line_like_pprint() {
        // Expected texts from Python's pprint.pformat(…, width=72, sort_dicts=False).
        let mut pairs = vec![
            ("name".to_owned(), format!("startswith:{}", "A".repeat(40))),
            ("x".to_owned(), "y z ".repeat(20)),
        ];
        assert_eq!(
            pformat_dict(&pairs),
            "{'name': 'startswith:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',\n 'x': 'y z y z y z y z y z y z y z y z y z y z y z y z y z y z y z y z '\n      'y z y z y z y z '}"
        );
        pairs.push(("zz".to_owned(), "a ".repeat(30)));
        assert_eq!(
            pformat_dict(&pairs),
            "{'name': 'startswith:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',\n 'x': 'y z y z y z y z y z y z y z y z y z y z y z y z y z y z y z y z '\n      'y z y z y z y z ',\n 'zz': 'a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a '}"
        );
    }

    #[test]
    fn python_repr_picks_quotes_and_escapes_like_python() {
        assert_eq!(py_repr("a'b"), "\"a'b\"");
        assert_eq!(py_repr("a'\"b"), "'a\\'\"b'");
        assert_eq!(py_repr("t\tn\n\u{1}\u{e9}"), "'t\\tn\\n\\x01\u{e9}'");
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
