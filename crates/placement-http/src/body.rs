//! Request bodies read as upstream's `util.extract_json` reads them: decoded
//! as UTF-8 and parsed by Python's `json` module, then validated by
//! `jsonschema`, with the 400s carrying those libraries' texts
//! (`Malformed JSON: Expecting value: line 1 column 1 (char 0)`,
//! `JSON does not validate: 'FOO' does not match …`).
//!
//! Clients and upstream's tests match on these texts, so the parser keeps
//! Python's error positions and messages, values keep Python's `repr`, and
//! the schema error keeps `jsonschema`'s choice of error (`best_match`) and
//! its `pprint` layout. Schemas are small static descriptions carrying their
//! own `pprint` text, since that text is part of the message.

use std::fmt::Write as _;

use crate::error::ApiError;

/// A JSON document as Python holds it after `json.loads`: objects keep key
/// order (a repeated key keeps its first position and its last value), and
/// integers keep their digits.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PyValue {
    /// `null` (`None`).
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer, as the canonical decimal text Python would print.
    Int(String),
    /// A float (including `NaN` and `Infinity`, which Python accepts).
    Float(f64),
    /// A string.
    Str(String),
    /// An array.
    List(Vec<PyValue>),
    /// An object, in first-seen key order.
    Object(Vec<(String, PyValue)>),
}

impl PyValue {
    /// The value of `key` when this is an object holding it.
    pub(crate) fn get(&self, key: &str) -> Option<&PyValue> {
        match self {
            PyValue::Object(items) => items.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string inside, if this is one.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            PyValue::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// upstream's `extract_json(body, schema)`: parse, validate, or the 400
/// with Python's message.
///
/// # Errors
/// A 400 `Malformed JSON: …` or `JSON does not validate: …`.
pub(crate) fn extract_json(body: &[u8], schema: &Schema) -> Result<PyValue, ApiError> {
    let value = loads(body).map_err(|e| ApiError::bad_request(format!("Malformed JSON: {e}")))?;
    validate(&value, schema)
        .map_err(|e| ApiError::bad_request(format!("JSON does not validate: {e}")))?;
    Ok(value)
}

// ---------------------------------------------------------------------------
// Parsing, with Python's messages and positions.

/// Decodes and parses `body` as `oslo_serialization.jsonutils.loads` does.
///
/// # Errors
/// Python's message for the first problem: a `UnicodeDecodeError` text, or a
/// `JSONDecodeError` text with line, column and character offset.
pub(crate) fn loads(body: &[u8]) -> Result<PyValue, String> {
    let text = std::str::from_utf8(body).map_err(|e| unicode_error(body, &e))?;
    let chars: Vec<char> = text.chars().collect();
    let parser = Parser { s: &chars };
    if chars.first() == Some(&'\u{feff}') {
        return Err(parser.error("Unexpected UTF-8 BOM (decode using utf-8-sig)", 0));
    }
    let start = parser.skip_ws(0);
    let (value, end) = parser.value(start)?;
    let end = parser.skip_ws(end);
    if end != chars.len() {
        return Err(parser.error("Extra data", end));
    }
    Ok(value)
}

/// Python's `UnicodeDecodeError` text for invalid UTF-8.
fn unicode_error(body: &[u8], e: &std::str::Utf8Error) -> String {
    let at = e.valid_up_to();
    let byte = body.get(at).copied().unwrap_or_default();
    let prefix = "'utf-8' codec can't decode";
    match e.error_len() {
        None => {
            let last = body.len() - 1;
            if last > at {
                format!("{prefix} bytes in position {at}-{last}: unexpected end of data")
            } else {
                format!("{prefix} byte 0x{byte:02x} in position {at}: unexpected end of data")
            }
        }
        Some(_) => {
            let reason = if matches!(byte, 0x80..=0xc1 | 0xf5..=0xff) {
                "invalid start byte"
            } else {
                "invalid continuation byte"
            };
            format!("{prefix} byte 0x{byte:02x} in position {at}: {reason}")
        }
    }
}

struct Parser<'a> {
    s: &'a [char],
}

type Parsed = Result<(PyValue, usize), String>;

impl Parser<'_> {
    fn error(&self, message: &str, pos: usize) -> String {
        let before = &self.s[..pos.min(self.s.len())];
        let line = before.iter().filter(|c| **c == '\n').count() + 1;
        let column = match before.iter().rposition(|c| *c == '\n') {
            Some(newline) => pos - newline,
            None => pos + 1,
        };
        format!("{message}: line {line} column {column} (char {pos})")
    }

    fn at(&self, pos: usize) -> Option<char> {
        self.s.get(pos).copied()
    }

    fn skip_ws(&self, mut pos: usize) -> usize {
        while matches!(self.at(pos), Some(' ' | '\t' | '\n' | '\r')) {
            pos += 1;
        }
        pos
    }

    fn starts_with(&self, pos: usize, word: &str) -> bool {
        let mut rest = self.s.get(pos..).unwrap_or_default().iter();
        word.chars().all(|c| rest.next() == Some(&c))
    }

    fn value(&self, pos: usize) -> Parsed {
        let expecting = || self.error("Expecting value", pos);
        match self.at(pos) {
            Some('"') => self.string(pos + 1).map(|(s, end)| (PyValue::Str(s), end)),
            Some('{') => self.object(pos + 1),
            Some('[') => self.array(pos + 1),
            Some('n') if self.starts_with(pos, "null") => Ok((PyValue::Null, pos + 4)),
            Some('t') if self.starts_with(pos, "true") => Ok((PyValue::Bool(true), pos + 4)),
            Some('f') if self.starts_with(pos, "false") => Ok((PyValue::Bool(false), pos + 5)),
            Some('N') if self.starts_with(pos, "NaN") => Ok((PyValue::Float(f64::NAN), pos + 3)),
            Some('I') if self.starts_with(pos, "Infinity") => {
                Ok((PyValue::Float(f64::INFINITY), pos + 8))
            }
            Some('-') if self.starts_with(pos, "-Infinity") => {
                Ok((PyValue::Float(f64::NEG_INFINITY), pos + 9))
            }
            Some('-' | '0'..='9') => self.number(pos).ok_or_else(expecting),
            _ => Err(expecting()),
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`, the longest match.
    fn number(&self, start: usize) -> Option<(PyValue, usize)> {
        let digits = |mut p: usize| {
            let from = p;
            while matches!(self.at(p), Some('0'..='9')) {
                p += 1;
            }
            (p > from).then_some(p)
        };
        let mut pos = start;
        if self.at(pos) == Some('-') {
            pos += 1;
        }
        pos = match self.at(pos) {
            Some('0') => pos + 1,
            Some('1'..='9') => digits(pos)?,
            _ => return None,
        };
        let int_end = pos;
        let mut is_float = false;
        if self.at(pos) == Some('.') {
            if let Some(end) = digits(pos + 1) {
                pos = end;
                is_float = true;
            }
        }
        if matches!(self.at(pos), Some('e' | 'E')) {
            let mut p = pos + 1;
            if matches!(self.at(p), Some('+' | '-')) {
                p += 1;
            }
            if let Some(end) = digits(p) {
                pos = end;
                is_float = true;
            }
        }
        let text: String = self.s[start..pos].iter().collect();
        let value = if is_float {
            PyValue::Float(text.parse().unwrap_or(f64::NAN))
        } else {
            let text: String = self.s[start..int_end].iter().collect();
            PyValue::Int(if text == "-0" { "0".to_owned() } else { text })
        };
        Some((value, pos))
    }

    /// A string whose opening quote is at `start - 1`.
    fn string(&self, start: usize) -> Result<(String, usize), String> {
        let begin = start - 1;
        let unterminated = || self.error("Unterminated string starting at", begin);
        let mut out = String::new();
        let mut pos = start;
        loop {
            let c = self.at(pos).ok_or_else(unterminated)?;
            match c {
                '"' => return Ok((out, pos + 1)),
                '\\' => {
                    let escape = self.at(pos + 1).ok_or_else(unterminated)?;
                    if escape == 'u' {
                        let (ch, end) = self.unicode_escape(pos + 1)?;
                        out.push(ch);
                        pos = end;
                        continue;
                    }
                    out.push(match escape {
                        '"' => '"',
                        '\\' => '\\',
                        '/' => '/',
                        'b' => '\u{8}',
                        'f' => '\u{c}',
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        _ => return Err(self.error("Invalid \\escape", pos)),
                    });
                    pos += 2;
                }
                c if (c as u32) < 0x20 => {
                    return Err(self.error("Invalid control character at", pos))
                }
                c => {
                    out.push(c);
                    pos += 1;
                }
            }
        }
    }

    /// Four hex digits after the `u` at `u_pos`, and a following low
    /// surrogate escape when the first is a high surrogate.
    fn unicode_escape(&self, u_pos: usize) -> Result<(char, usize), String> {
        let invalid = || self.error("Invalid \\uXXXX escape", u_pos);
        let hex = |from: usize| -> Option<u32> {
            (from..from + 4).try_fold(0_u32, |acc, p| {
                self.at(p)
                    .and_then(|c| c.to_digit(16))
                    .map(|d| acc * 16 + d)
            })
        };
        // Python needs a character after the four digits as well.
        if u_pos + 5 >= self.s.len() {
            return Err(invalid());
        }
        let first = hex(u_pos + 1).ok_or_else(invalid)?;
        let end = u_pos + 5;
        if (0xd800..0xdc00).contains(&first)
            && end + 6 < self.s.len()
            && self.at(end) == Some('\\')
            && self.at(end + 1) == Some('u')
        {
            let second =
                hex(end + 2).ok_or_else(|| self.error("Invalid \\uXXXX escape", end + 1))?;
            if (0xdc00..0xe000).contains(&second) {
                let code = 0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00);
                return Ok((char::from_u32(code).unwrap_or('\u{fffd}'), end + 6));
            }
        }
        // NOTE(upstream): Python keeps a lone surrogate; a Rust string cannot,
        // so it becomes U+FFFD (only visible in a validation message).
        Ok((char::from_u32(first).unwrap_or('\u{fffd}'), end))
    }

    fn object(&self, start: usize) -> Parsed {
        let mut items: Vec<(String, PyValue)> = Vec::new();
        let mut pos = self.skip_ws(start);
        if self.at(pos) == Some('}') {
            return Ok((PyValue::Object(items), pos + 1));
        }
        loop {
            if self.at(pos) != Some('"') {
                return Err(self.error("Expecting property name enclosed in double quotes", pos));
            }
            let (key, end) = self.string(pos + 1)?;
            pos = self.skip_ws(end);
            if self.at(pos) != Some(':') {
                return Err(self.error("Expecting ':' delimiter", pos));
            }
            pos = self.skip_ws(pos + 1);
            let (value, end) = self.value(pos)?;
            match items.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => items.push((key, value)),
            }
            pos = self.skip_ws(end);
            match self.at(pos) {
                Some('}') => return Ok((PyValue::Object(items), pos + 1)),
                Some(',') => pos = self.skip_ws(pos + 1),
                _ => return Err(self.error("Expecting ',' delimiter", pos)),
            }
        }
    }

    fn array(&self, start: usize) -> Parsed {
        let mut items = Vec::new();
        let mut pos = self.skip_ws(start);
        if self.at(pos) == Some(']') {
            return Ok((PyValue::List(items), pos + 1));
        }
        loop {
            let (value, end) = self.value(pos)?;
            items.push(value);
            pos = self.skip_ws(end);
            match self.at(pos) {
                Some(']') => return Ok((PyValue::List(items), pos + 1)),
                Some(',') => pos = self.skip_ws(pos + 1),
                _ => return Err(self.error("Expecting ',' delimiter", pos)),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Python's repr and pprint.

/// Python's `repr(value)`.
pub(crate) fn repr(value: &PyValue) -> String {
    match value {
        PyValue::Null => "None".to_owned(),
        PyValue::Bool(true) => "True".to_owned(),
        PyValue::Bool(false) => "False".to_owned(),
        PyValue::Int(digits) => digits.clone(),
        PyValue::Float(f) => float_repr(*f),
        PyValue::Str(s) => str_repr(s),
        PyValue::List(items) => {
            let inner: Vec<String> = items.iter().map(repr).collect();
            format!("[{}]", inner.join(", "))
        }
        PyValue::Object(items) => {
            let inner: Vec<String> = items
                .iter()
                .map(|(k, v)| format!("{}: {}", str_repr(k), repr(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

fn float_repr(f: f64) -> String {
    if f.is_nan() {
        "nan".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else {
        crate::json::python_float_repr(&format!("{f:e}"))
    }
}

/// Whether Python's `str.isprintable` holds for `c` (close enough: controls,
/// separators other than the space, and format characters are not).
fn is_printable(c: char) -> bool {
    !(c.is_control()
        || matches!(
            c,
            '\u{a0}'
                | '\u{ad}'
                | '\u{1680}'
                | '\u{2000}'..='\u{200f}'
                | '\u{2028}'..='\u{202f}'
                | '\u{205f}'..='\u{2064}'
                | '\u{3000}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        ))
}

/// Python's `repr(str)`: single quotes unless the text holds a single quote
/// and no double quote.
pub(crate) fn str_repr(s: &str) -> String {
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
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            c if (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push(quote);
    out
}

/// Python's `pprint.pformat(value, width=72, sort_dicts=False)`.
pub(crate) fn pformat(value: &PyValue) -> String {
    let mut out = String::new();
    Pretty { width: 72 }.format(value, &mut out, 0, 0, 0);
    out
}

struct Pretty {
    width: usize,
}

fn char_len(s: &str) -> usize {
    s.chars().count()
}

impl Pretty {
    fn format(
        &self,
        value: &PyValue,
        out: &mut String,
        indent: usize,
        allowance: usize,
        level: usize,
    ) {
        let rep = repr(value);
        let max_width = self.width.saturating_sub(indent + allowance);
        if char_len(&rep) > max_width {
            match value {
                PyValue::Object(items) if !items.is_empty() => {
                    out.push('{');
                    self.dict_items(items, out, indent, allowance + 1, level + 1);
                    out.push('}');
                    return;
                }
                PyValue::List(items) if !items.is_empty() => {
                    out.push('[');
                    self.list_items(items, out, indent, allowance + 1, level + 1);
                    out.push(']');
                    return;
                }
                PyValue::Str(s) => {
                    self.string(s, &rep, out, indent, allowance, level + 1);
                    return;
                }
                _ => {}
            }
        }
        out.push_str(&rep);
    }

    fn dict_items(
        &self,
        items: &[(String, PyValue)],
        out: &mut String,
        indent: usize,
        allowance: usize,
        level: usize,
    ) {
        let indent = indent + 1;
        let last_index = items.len() - 1;
        for (i, (key, value)) in items.iter().enumerate() {
            let last = i == last_index;
            let key = str_repr(key);
            out.push_str(&key);
            out.push_str(": ");
            let sub_allowance = if last { allowance } else { 1 };
            self.format(
                value,
                out,
                indent + char_len(&key) + 2,
                sub_allowance,
                level,
            );
            if !last {
                out.push_str(",\n");
                out.push_str(&" ".repeat(indent));
            }
        }
    }

    fn list_items(
        &self,
        items: &[PyValue],
        out: &mut String,
        indent: usize,
        allowance: usize,
        level: usize,
    ) {
        let indent = indent + 1;
        let last_index = items.len() - 1;
        for (i, value) in items.iter().enumerate() {
            let last = i == last_index;
            if i > 0 {
                out.push_str(",\n");
                out.push_str(&" ".repeat(indent));
            }
            self.format(value, out, indent, if last { allowance } else { 1 }, level);
        }
    }

    /// pprint's `_pprint_str`: a long string is split after whitespace into
    /// adjacent literals, parenthesised at the top level.
    fn string(
        &self,
        s: &str,
        rep: &str,
        out: &mut String,
        indent: usize,
        allowance: usize,
        level: usize,
    ) {
        let (indent, allowance) = if level == 1 {
            (indent + 1, allowance + 1)
        } else {
            (indent, allowance)
        };
        let max_width = self.width.saturating_sub(indent);
        let lines = split_lines_keepends(s);
        let mut chunks: Vec<String> = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let last_line = i == lines.len() - 1;
            let line_rep = str_repr(line);
            let max_width1 = if last_line {
                max_width.saturating_sub(allowance)
            } else {
                max_width
            };
            if char_len(&line_rep) <= max_width1 {
                chunks.push(line_rep);
                continue;
            }
            let parts = split_words_keep_space(line);
            let mut current = String::new();
            for (j, part) in parts.iter().enumerate() {
                let candidate = format!("{current}{part}");
                let max_width2 = if j == parts.len() - 1 && last_line {
                    max_width.saturating_sub(allowance)
                } else {
                    max_width
                };
                if char_len(&str_repr(&candidate)) > max_width2 {
                    if !current.is_empty() {
                        chunks.push(str_repr(&current));
                    }
                    current = (*part).to_owned();
                } else {
                    current = candidate;
                }
            }
            if !current.is_empty() {
                chunks.push(str_repr(&current));
            }
        }
        if chunks.len() <= 1 {
            out.push_str(rep);
            return;
        }
        if level == 1 {
            out.push('(');
        }
        for (i, chunk) in chunks.iter().enumerate() {
            if i > 0 {
                out.push('\n');
                out.push_str(&" ".repeat(indent));
            }
            out.push_str(chunk);
        }
        if level == 1 {
            out.push(')');
        }
    }
}

/// `str.splitlines(True)` for the common line breaks.
fn split_lines_keepends(s: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let end = match bytes[i] {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => Some(i + 2),
            b'\n' | b'\r' | 0x0b | 0x0c | 0x1c..=0x1e => Some(i + 1),
            _ => None,
        };
        if let Some(end) = end {
            lines.push(&s[start..end]);
            start = end;
            i = end;
        } else {
            i += 1;
        }
    }
    if start < s.len() {
        lines.push(&s[start..]);
    }
    lines
}

/// `re.findall(r'\S*\s*', line)` without the final empty match.
fn split_words_keep_space(line: &str) -> Vec<&str> {
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

// ---------------------------------------------------------------------------
// JSON schema, as much of it as placement's schemas use, with jsonschema's
// messages.

/// A `pattern`: its source text, shown in messages, and a matcher with
/// Python's `re.search` semantics for it.
#[derive(Debug)]
pub(crate) struct Pattern {
    /// The regular expression as upstream's schema writes it.
    pub(crate) source: &'static str,
    /// Whether a string matches it.
    pub(crate) matches: fn(&str) -> bool,
}

/// A schema for a string.
#[derive(Debug)]
pub(crate) struct StringSchema {
    /// `pattern`, if the schema has one.
    pub(crate) pattern: Option<Pattern>,
    /// `minLength`, in characters.
    pub(crate) min_length: Option<usize>,
    /// `maxLength`, in characters.
    pub(crate) max_length: Option<usize>,
    /// `format`, checked as upstream's format checker does.
    pub(crate) format: Option<Format>,
}

/// A `format` with its name, shown in messages, and its checker.
#[derive(Debug)]
pub(crate) struct Format {
    /// The format's name (`uuid`).
    pub(crate) name: &'static str,
    /// Whether a string conforms.
    pub(crate) check: fn(&str) -> bool,
}

/// A schema node.
#[derive(Debug)]
pub(crate) enum SchemaKind {
    /// `{"type": "string", …}`.
    String(StringSchema),
    /// `{"type": "null"}`.
    Null,
    /// `{"type": "array", "items": …, "uniqueItems": …}`.
    Array {
        /// The schema every item must match.
        items: &'static Schema,
        /// Whether items must differ.
        unique_items: bool,
    },
    /// `{"anyOf": [...]}`.
    AnyOf(&'static [Schema]),
    /// `{"type": "integer", "minimum": …, "maximum": …}`: an int, or a
    /// float with an integral value (as `jsonschema` counts them); never a
    /// bool.
    Integer {
        /// `minimum`, if any.
        minimum: Option<i64>,
        /// `maximum`, if any.
        maximum: Option<i64>,
    },
    /// `{"type": "number", "maximum": …}`: the bound with Python's repr of
    /// it, which the message prints.
    Number {
        /// `maximum` and its Python repr, if any.
        maximum: Option<(f64, &'static str)>,
    },
    /// `{"type": "object", "patternProperties": {pattern: schema}}`: keys
    /// matching the pattern are validated, others are allowed.
    PatternObject {
        /// The key pattern.
        pattern: Pattern,
        /// The schema of values under matching keys.
        schema: &'static Schema,
    },
    /// `{"type": "array", "minItems": …, "items": …}`.
    List {
        /// `minItems`.
        min_items: usize,
        /// The schema every item must match.
        items: &'static Schema,
    },
    /// `{"type": ["integer", "null"]}`: an integer (as
    /// [`SchemaKind::Integer`] counts them) or `null`.
    IntegerOrNull,
    /// `{"type": "object", …}` with any of the object keywords placement's
    /// allocation and reshaper schemas combine, in the order upstream's dict
    /// lists them: `jsonschema` reports errors in that order, and the first
    /// of equally relevant errors is the one shown.
    Dict(&'static [ObjectKeyword]),
    /// `{"type": "object", "properties": …, "required": …,
    /// "additionalProperties": false}`.
    Object {
        /// Property schemas, in the schema's order.
        properties: &'static [(&'static str, Schema)],
        /// Required property names, in the schema's order.
        required: &'static [&'static str],
        /// Whether properties not listed are allowed.
        additional_properties: bool,
    },
}

/// One keyword of a [`SchemaKind::Dict`] object schema.
#[derive(Debug)]
pub(crate) enum ObjectKeyword {
    /// `minProperties`.
    MinProperties(usize),
    /// `properties`, in the schema's order.
    Properties(&'static [(&'static str, Schema)]),
    /// `patternProperties` with one pattern.
    PatternProperties(Pattern, &'static Schema),
    /// `additionalProperties: false` when `false`; names are additional
    /// when neither `properties` nor `patternProperties` covers them.
    AdditionalProperties(bool),
    /// `required`, in the schema's order.
    Required(&'static [&'static str]),
}

/// A schema node with its `pprint.pformat(width=72)` text, which
/// `jsonschema` prints in every error.
#[derive(Debug)]
pub(crate) struct Schema {
    /// The checks.
    pub(crate) kind: SchemaKind,
    /// How Python prints this schema.
    pub(crate) pretty: &'static str,
}

/// One step of an instance path: an array index or an object key, kept
/// apart because jsonschema prints (and orders) them as int and str.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum PathItem {
    Index(usize),
    Key(String),
}

struct SchemaError<'a> {
    message: String,
    keyword: &'static str,
    schema: &'a Schema,
    schema_path: Vec<&'static str>,
    path: Vec<PathItem>,
    instance: PyValue,
    type_mismatch: bool,
    /// For `anyOf`: the branch error `best_match` descends to and prints
    /// (with paths relative to the `anyOf`), when one is strictly the most
    /// relevant. The `anyOf` error itself still competes for relevance.
    descend: Option<Box<SchemaError<'a>>>,
}

/// Validates `value` and returns `str(best_match(errors))` on failure.
///
/// # Errors
/// `jsonschema`'s text for the most relevant error.
pub(crate) fn validate(value: &PyValue, schema: &Schema) -> Result<(), String> {
    let mut errors = Vec::new();
    collect(value, schema, &mut Vec::new(), &mut Vec::new(), &mut errors);
    // best_match: the shallowest error, then the greatest path, then one
    // whose instance has the wrong type; the first among equals.
    let mut best: Option<&SchemaError<'_>> = None;
    for error in &errors {
        let better = match best {
            None => true,
            Some(b) => relevance(error) > relevance(b),
        };
        if better {
            best = Some(error);
        }
    }
    match best {
        None => Ok(()),
        Some(error) => Err(render(error)),
    }
}

fn relevance<'e>(error: &'e SchemaError<'_>) -> (std::cmp::Reverse<usize>, &'e [PathItem], bool) {
    (
        std::cmp::Reverse(error.path.len()),
        &error.path,
        error.type_mismatch,
    )
}

fn collect<'a>(
    value: &PyValue,
    schema: &'a Schema,
    path: &mut Vec<PathItem>,
    schema_path: &mut Vec<&'static str>,
    errors: &mut Vec<SchemaError<'a>>,
) {
    let mut push = |message: String, keyword: &'static str, type_mismatch: bool| {
        errors.push(SchemaError {
            message,
            keyword,
            schema,
            schema_path: schema_path.clone(),
            path: path.clone(),
            instance: value.clone(),
            type_mismatch,
            descend: None,
        });
    };
    match &schema.kind {
        SchemaKind::String(rules) => {
            let PyValue::Str(s) = value else {
                push(
                    format!("{} is not of type 'string'", repr(value)),
                    "type",
                    true,
                );
                return;
            };
            if let Some(pattern) = &rules.pattern {
                if !(pattern.matches)(s) {
                    push(
                        format!(
                            "{} does not match {}",
                            repr(value),
                            str_repr(pattern.source)
                        ),
                        "pattern",
                        false,
                    );
                }
            }
            if let Some(min) = rules.min_length {
                if char_len(s) < min {
                    // jsonschema 4.23+ words a minimum of one differently.
                    let message = if min == 1 {
                        "should be non-empty"
                    } else {
                        "is too short"
                    };
                    push(format!("{} {message}", repr(value)), "minLength", false);
                }
            }
            if let Some(max) = rules.max_length {
                if char_len(s) > max {
                    push(format!("{} is too long", repr(value)), "maxLength", false);
                }
            }
            if let Some(format) = &rules.format {
                if !(format.check)(s) {
                    push(
                        format!("{} is not a {}", repr(value), str_repr(format.name)),
                        "format",
                        false,
                    );
                }
            }
        }
        SchemaKind::Integer { minimum, maximum } => {
            let number = match value {
                PyValue::Int(digits) => digits.parse::<f64>().ok(),
                PyValue::Float(f) if f.is_finite() && f.fract() == 0.0 => Some(*f),
                _ => None,
            };
            let Some(number) = number else {
                push(
                    format!("{} is not of type 'integer'", repr(value)),
                    "type",
                    true,
                );
                return;
            };
            bounds(
                number,
                minimum.map(|m| (m as f64, m.to_string())),
                maximum.map(|m| (m as f64, m.to_string())),
                value,
                &mut push,
            );
        }
        SchemaKind::Number { maximum } => {
            let number = match value {
                PyValue::Int(digits) => digits.parse::<f64>().ok(),
                PyValue::Float(f) => Some(*f),
                _ => None,
            };
            let Some(number) = number else {
                push(
                    format!("{} is not of type 'number'", repr(value)),
                    "type",
                    true,
                );
                return;
            };
            bounds(
                number,
                None,
                maximum.map(|(m, text)| (m, text.to_owned())),
                value,
                &mut push,
            );
        }
        SchemaKind::PatternObject {
            pattern,
            schema: inner,
        } => {
            let PyValue::Object(items) = value else {
                push(
                    format!("{} is not of type 'object'", repr(value)),
                    "type",
                    true,
                );
                return;
            };
            for (key, item) in items {
                if (pattern.matches)(key) {
                    path.push(PathItem::Key(key.clone()));
                    schema_path.push("patternProperties");
                    schema_path.push(pattern.source);
                    collect(item, inner, path, schema_path, errors);
                    schema_path.truncate(schema_path.len() - 2);
                    path.pop();
                }
            }
        }
        SchemaKind::IntegerOrNull => {
            let ok = match value {
                PyValue::Null | PyValue::Int(_) => true,
                PyValue::Float(f) => f.is_finite() && f.fract() == 0.0,
                _ => false,
            };
            if !ok {
                push(
                    format!("{} is not of type 'integer', 'null'", repr(value)),
                    "type",
                    true,
                );
            }
        }
        SchemaKind::List { min_items, items } => {
            let PyValue::List(list) = value else {
                push(
                    format!("{} is not of type 'array'", repr(value)),
                    "type",
                    true,
                );
                return;
            };
            if list.len() < *min_items {
                let message = if *min_items == 1 {
                    "should be non-empty"
                } else {
                    "is too short"
                };
                push(format!("{} {message}", repr(value)), "minItems", false);
            }
            for (index, item) in list.iter().enumerate() {
                path.push(PathItem::Index(index));
                schema_path.push("items");
                collect(item, items, path, schema_path, errors);
                schema_path.pop();
                path.pop();
            }
        }
        SchemaKind::Dict(keywords) => {
            let PyValue::Object(entries) = value else {
                push(
                    format!("{} is not of type 'object'", repr(value)),
                    "type",
                    true,
                );
                return;
            };
            for keyword in *keywords {
                match keyword {
                    ObjectKeyword::MinProperties(min) => {
                        if entries.len() < *min {
                            let message = if *min == 1 {
                                "should be non-empty"
                            } else {
                                "does not have enough properties"
                            };
                            let message = format!("{} {message}", repr(value));
                            errors.push(own_error(
                                schema,
                                value,
                                path,
                                schema_path,
                                message,
                                "minProperties",
                            ));
                        }
                    }
                    ObjectKeyword::Properties(properties) => {
                        for (name, property) in *properties {
                            if let Some((_, item)) = entries.iter().find(|(k, _)| k == name) {
                                path.push(PathItem::Key((*name).to_owned()));
                                schema_path.push("properties");
                                schema_path.push(name);
                                collect(item, property, path, schema_path, errors);
                                schema_path.truncate(schema_path.len() - 2);
                                path.pop();
                            }
                        }
                    }
                    ObjectKeyword::PatternProperties(pattern, inner) => {
                        for (key, item) in entries {
                            if (pattern.matches)(key) {
                                path.push(PathItem::Key(key.clone()));
                                schema_path.push("patternProperties");
                                schema_path.push(pattern.source);
                                collect(item, inner, path, schema_path, errors);
                                schema_path.truncate(schema_path.len() - 2);
                                path.pop();
                            }
                        }
                    }
                    ObjectKeyword::AdditionalProperties(true) => {}
                    ObjectKeyword::AdditionalProperties(false) => {
                        if let Some(message) = additional_properties(entries, keywords) {
                            errors.push(own_error(
                                schema,
                                value,
                                path,
                                schema_path,
                                message,
                                "additionalProperties",
                            ));
                        }
                    }
                    ObjectKeyword::Required(required) => {
                        for name in *required {
                            if !entries.iter().any(|(k, _)| k == name) {
                                let message = format!("{} is a required property", str_repr(name));
                                errors.push(own_error(
                                    schema,
                                    value,
                                    path,
                                    schema_path,
                                    message,
                                    "required",
                                ));
                            }
                        }
                    }
                }
            }
        }
        SchemaKind::Null => {
            if *value != PyValue::Null {
                push(
                    format!("{} is not of type 'null'", repr(value)),
                    "type",
                    true,
                );
            }
        }
        SchemaKind::Array {
            items,
            unique_items,
        } => {
            let PyValue::List(list) = value else {
                push(
                    format!("{} is not of type 'array'", repr(value)),
                    "type",
                    true,
                );
                return;
            };
            let mut nested = Vec::new();
            for (index, item) in list.iter().enumerate() {
                path.push(PathItem::Index(index));
                schema_path.push("items");
                collect(item, items, path, schema_path, &mut nested);
                schema_path.pop();
                path.pop();
            }
            errors.append(&mut nested);
            let duplicated = list
                .iter()
                .enumerate()
                .any(|(i, a)| list.iter().skip(i + 1).any(|b| a == b));
            if *unique_items && duplicated {
                errors.push(SchemaError {
                    message: format!("{} has non-unique elements", repr(value)),
                    keyword: "uniqueItems",
                    schema,
                    schema_path: schema_path.clone(),
                    path: path.clone(),
                    instance: value.clone(),
                    type_mismatch: false,
                    descend: None,
                });
            }
        }
        SchemaKind::AnyOf(branches) => {
            // Each branch is validated on its own, with paths relative to
            // this node, as jsonschema builds an error's `context`.
            const INDEXES: [&str; 4] = ["0", "1", "2", "3"];
            let mut context = Vec::new();
            for (index, branch) in branches.iter().enumerate() {
                let mut errs = Vec::new();
                let label = INDEXES.get(index).copied().unwrap_or("?");
                collect(value, branch, &mut Vec::new(), &mut vec![label], &mut errs);
                if errs.is_empty() {
                    return;
                }
                context.append(&mut errs);
            }
            // best_match descends into the context when one error there is
            // strictly the most relevant (the smallest by its key).
            let key = |e: &SchemaError<'_>| (std::cmp::Reverse(e.path.len()), e.type_mismatch);
            let mut sorted: Vec<SchemaError<'a>> = context;
            sorted.sort_by_key(key);
            let tie = sorted.len() >= 2 && key(&sorted[0]) == key(&sorted[1]);
            let descend = sorted.into_iter().next().filter(|_| !tie).map(Box::new);
            errors.push(SchemaError {
                message: format!(
                    "{} is not valid under any of the given schemas",
                    repr(value)
                ),
                keyword: "anyOf",
                schema,
                schema_path: schema_path.clone(),
                path: path.clone(),
                instance: value.clone(),
                type_mismatch: false,
                descend,
            });
        }
        SchemaKind::Object {
            properties,
            required,
            additional_properties,
        } => {
            let PyValue::Object(items) = value else {
                push(
                    format!("{} is not of type 'object'", repr(value)),
                    "type",
                    true,
                );
                return;
            };
            let mut nested = Vec::new();
            for (name, property) in *properties {
                if let Some((_, item)) = items.iter().find(|(k, _)| k == name) {
                    path.push(PathItem::Key((*name).to_owned()));
                    schema_path.push("properties");
                    schema_path.push(name);
                    collect(item, property, path, schema_path, &mut nested);
                    schema_path.truncate(schema_path.len() - 2);
                    path.pop();
                }
            }
            let mut own = Vec::new();
            for name in *required {
                if !items.iter().any(|(k, _)| k == name) {
                    own.push((
                        format!("{} is a required property", str_repr(name)),
                        "required",
                    ));
                }
            }
            if !additional_properties {
                let extras: Vec<String> = items
                    .iter()
                    .filter(|(k, _)| !properties.iter().any(|(name, _)| name == k))
                    .map(|(k, _)| str_repr(k))
                    .collect();
                if !extras.is_empty() {
                    // NOTE(upstream): jsonschema lists extras in set order,
                    // which varies per process; we keep the body's order.
                    let verb = if extras.len() == 1 { "was" } else { "were" };
                    own.push((
                        format!(
                            "Additional properties are not allowed ({} {verb} unexpected)",
                            extras.join(", ")
                        ),
                        "additionalProperties",
                    ));
                }
            }
            errors.append(&mut nested);
            for (message, keyword) in own {
                errors.push(SchemaError {
                    message,
                    keyword,
                    schema,
                    schema_path: schema_path.clone(),
                    path: path.clone(),
                    instance: value.clone(),
                    type_mismatch: false,
                    descend: None,
                });
            }
        }
    }
}

/// An error of a keyword other than `type` at this node.
fn own_error<'a>(
    schema: &'a Schema,
    value: &PyValue,
    path: &[PathItem],
    schema_path: &[&'static str],
    message: String,
    keyword: &'static str,
) -> SchemaError<'a> {
    SchemaError {
        message,
        keyword,
        schema,
        schema_path: schema_path.to_vec(),
        path: path.to_vec(),
        instance: value.clone(),
        type_mismatch: false,
        descend: None,
    }
}

/// `jsonschema`'s `additionalProperties: false` message for the names of
/// `entries` that neither `properties` nor `patternProperties` covers
/// (sorted, as jsonschema 4.26 sorts them); `None` when there are none.
fn additional_properties(
    entries: &[(String, PyValue)],
    keywords: &[ObjectKeyword],
) -> Option<String> {
    let mut known: &[(&str, Schema)] = &[];
    let mut pattern: Option<&Pattern> = None;
    for keyword in keywords {
        match keyword {
            ObjectKeyword::Properties(properties) => known = properties,
            ObjectKeyword::PatternProperties(p, _) => pattern = Some(p),
            _ => {}
        }
    }
    let mut extras: Vec<&str> = entries
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !known.iter().any(|(name, _)| name == k))
        .filter(|k| !pattern.is_some_and(|p| (p.matches)(k)))
        .collect();
    if extras.is_empty() {
        return None;
    }
    extras.sort_unstable();
    let joined = extras
        .iter()
        .map(|k| str_repr(k))
        .collect::<Vec<_>>()
        .join(", ");
    Some(match pattern {
        Some(p) => {
            let verb = if extras.len() == 1 { "does" } else { "do" };
            format!(
                "{joined} {verb} not match any of the regexes: {}",
                str_repr(p.source)
            )
        }
        None => {
            let verb = if extras.len() == 1 { "was" } else { "were" };
            format!("Additional properties are not allowed ({joined} {verb} unexpected)")
        }
    })
}

/// `minimum` and `maximum` as `jsonschema` checks them, each bound with
/// the text its message prints. Integers beyond `f64` precision compare
/// approximately, which is exact at the 2^31 bounds in use.
fn bounds(
    number: f64,
    minimum: Option<(f64, String)>,
    maximum: Option<(f64, String)>,
    value: &PyValue,
    push: &mut impl FnMut(String, &'static str, bool),
) {
    if let Some((min, text)) = minimum {
        if number < min {
            push(
                format!("{} is less than the minimum of {text}", repr(value)),
                "minimum",
                false,
            );
        }
    }
    if let Some((max, text)) = maximum {
        if number > max {
            push(
                format!("{} is greater than the maximum of {text}", repr(value)),
                "maximum",
                false,
            );
        }
    }
}

/// `str(ValidationError)`: the message, the failing keyword with the
/// schema, and the instance, each pretty-printed and indented by four.
fn render(error: &SchemaError<'_>) -> String {
    if let Some(inner) = &error.descend {
        return render(inner);
    }
    let index = |word: &str, parts: &[String]| {
        let mut out = word.to_owned();
        for part in parts {
            if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
                // An anyOf branch prints as an integer.
                let _ = write!(out, "[{part}]");
            } else {
                let _ = write!(out, "[{}]", str_repr(part));
            }
        }
        out
    };
    let schema_path: Vec<String> = error.schema_path.iter().map(|s| (*s).to_owned()).collect();
    let mut instance_path = "instance".to_owned();
    for item in &error.path {
        let _ = match item {
            PathItem::Index(i) => write!(instance_path, "[{i}]"),
            PathItem::Key(k) => write!(instance_path, "[{}]", str_repr(k)),
        };
    }
    let indent = |text: &str| text.replace('\n', "\n    ");
    format!(
        "{}\n\nFailed validating {} in {}:\n    {}\n\nOn {}:\n    {}",
        error.message,
        str_repr(error.keyword),
        index("schema", &schema_path),
        indent(error.schema.pretty),
        instance_path,
        indent(&pformat(&error.instance)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_carry_pythons_messages_and_positions() {
        for (body, message) in [
            ("", "Expecting value: line 1 column 1 (char 0)"),
            (" ", "Expecting value: line 1 column 2 (char 1)"),
            ("{\"foo\": }", "Expecting value: line 1 column 9 (char 8)"),
            (
                "{",
                "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
            ),
            (
                "{\"a\"",
                "Expecting ':' delimiter: line 1 column 5 (char 4)",
            ),
            (
                "{\"a\" 1}",
                "Expecting ':' delimiter: line 1 column 6 (char 5)",
            ),
            (
                "{\"a\":1",
                "Expecting ',' delimiter: line 1 column 7 (char 6)",
            ),
            (
                "{\"a\":1,}",
                "Expecting property name enclosed in double quotes: line 1 column 8 (char 7)",
            ),
            ("[1,]", "Expecting value: line 1 column 4 (char 3)"),
            ("[1 2]", "Expecting ',' delimiter: line 1 column 4 (char 3)"),
            (
                "\"abc",
                "Unterminated string starting at: line 1 column 1 (char 0)",
            ),
            ("\"a\\x\"", "Invalid \\escape: line 1 column 3 (char 2)"),
            (
                "\"\\u12\"",
                "Invalid \\uXXXX escape: line 1 column 3 (char 2)",
            ),
            (
                "\"\\u1234",
                "Invalid \\uXXXX escape: line 1 column 3 (char 2)",
            ),
            (
                "\"\\ud800\\u12\"",
                "Invalid \\uXXXX escape: line 1 column 9 (char 8)",
            ),
            (
                "\"a\nb\"",
                "Invalid control character at: line 1 column 3 (char 2)",
            ),
            ("01", "Extra data: line 1 column 2 (char 1)"),
            ("1.", "Extra data: line 1 column 2 (char 1)"),
            ("-", "Expecting value: line 1 column 1 (char 0)"),
            ("[-]", "Expecting value: line 1 column 2 (char 1)"),
            ("tru", "Expecting value: line 1 column 1 (char 0)"),
            ("{\"a\": 1}\n\n  x", "Extra data: line 3 column 3 (char 12)"),
        ] {
            assert_eq!(loads(body.as_bytes()), Err(message.to_owned()), "{body:?}");
        }
    }

    #[test]
    fn undecodable_bytes_get_pythons_unicode_error() {
        assert_eq!(
            loads(b"\xff"),
            Err("'utf-8' codec can't decode byte 0xff in position 0: invalid start byte".into())
        );
        assert_eq!(
            loads(b"\xe2(\xa1"),
            Err(
                "'utf-8' codec can't decode byte 0xe2 in position 0: invalid continuation byte"
                    .into()
            )
        );
        assert_eq!(
            loads(b"\xe2\x82"),
            Err("'utf-8' codec can't decode bytes in position 0-1: unexpected end of data".into())
        );
        assert_eq!(
            loads("\u{feff}{}".as_bytes()),
            Err("Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)".into())
        );
    }

    #[test]
    fn values_parse_as_python_holds_them() {
        let value = loads(br#"{"b": [1, -0, 1.5, null, true], "a": "\u00e9\ud83d\ude00", "b": 2}"#)
            .unwrap();
        assert_eq!(repr(&value), "{'b': 2, 'a': 'é😀'}");
        assert_eq!(
            repr(&loads(b"[NaN, -Infinity, 1e16, -0, 0.5]").unwrap()),
            "[nan, -inf, 1e+16, 0, 0.5]"
        );
    }

    #[test]
    fn string_repr_picks_quotes_and_escapes_as_python() {
        assert_eq!(str_repr("it's"), "\"it's\"");
        assert_eq!(str_repr("a\"b'c"), "'a\"b\\'c'");
        assert_eq!(
            str_repr("\u{0}\u{7f}\u{a0}é\u{2028}\u{200b}\\"),
            "'\\x00\\x7f\\xa0é\\u2028\\u200b\\\\'"
        );
    }

    #[test]
    fn pformat_wraps_like_pprint_at_width_72() {
        let value = loads(
            br#"{"name": "CUSTOM_A B C D E F G H I J K L M N O P Q R S T U V W X Y Z", "additional": ["x y z", {"a": "b"}], "zz": null}"#,
        )
        .unwrap();
        assert_eq!(
            pformat(&value),
            "{'name': 'CUSTOM_A B C D E F G H I J K L M N O P Q R S T U V W X Y Z',\n \
             'additional': ['x y z', {'a': 'b'}],\n 'zz': None}"
        );
        let long = PyValue::Str(
            "aaa bbb ccc ddd eee fff ggg hhh iii jjj kkk lll mmm nnn ooo ppp qqq rrr sss".into(),
        );
        assert_eq!(
            pformat(&long),
            "('aaa bbb ccc ddd eee fff ggg hhh iii jjj kkk lll mmm nnn ooo ppp qqq '\n 'rrr sss')"
        );
        let list =
            loads(format!("[\"{}\", \"{}\"]", "x".repeat(40), "y".repeat(40)).as_bytes()).unwrap();
        assert_eq!(
            pformat(&list),
            format!("['{}',\n '{}']", "x".repeat(40), "y".repeat(40))
        );
    }

    const DIGITS: Pattern = Pattern {
        source: "^[0-9]+$",
        matches: |s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()),
    };

    const NULLABLE: Schema = Schema {
        kind: SchemaKind::IntegerOrNull,
        pretty: "{'type': ['integer', 'null']}",
    };

    const NAMES: Schema = Schema {
        kind: SchemaKind::List {
            min_items: 1,
            items: &NULLABLE,
        },
        pretty: "{'type': 'array', 'minItems': 1, 'items': {'type': ['integer', 'null']}}",
    };

    /// additionalProperties before required, as ALLOCATION_SCHEMA_V1_12.
    static EXTRAS_FIRST: Schema = Schema {
        kind: SchemaKind::Dict(&[
            ObjectKeyword::Properties(&[("a", NULLABLE), ("list", NAMES)]),
            ObjectKeyword::AdditionalProperties(false),
            ObjectKeyword::Required(&["a"]),
        ]),
        pretty: "{}",
    };

    /// required before additionalProperties, as ALLOCATION_SCHEMA.
    static REQUIRED_FIRST: Schema = Schema {
        kind: SchemaKind::Dict(&[
            ObjectKeyword::Properties(&[("a", NULLABLE)]),
            ObjectKeyword::Required(&["a"]),
            ObjectKeyword::AdditionalProperties(false),
        ]),
        pretty: "{}",
    };

    static BY_NUMBER: Schema = Schema {
        kind: SchemaKind::Dict(&[
            ObjectKeyword::MinProperties(1),
            ObjectKeyword::PatternProperties(DIGITS, &NAMES),
            ObjectKeyword::AdditionalProperties(false),
        ]),
        pretty: "{}",
    };

    fn first_line(value: &str, schema: &Schema) -> String {
        let error = validate(&loads(value.as_bytes()).unwrap(), schema).unwrap_err();
        error.lines().next().unwrap().to_owned()
    }

    #[test]
    fn dict_errors_at_one_level_come_in_the_schemas_key_order() {
        assert_eq!(
            first_line(r#"{"z": 1, "b": 2}"#, &EXTRAS_FIRST),
            "Additional properties are not allowed ('b', 'z' were unexpected)"
        );
        assert_eq!(
            first_line(r#"{"z": 1}"#, &REQUIRED_FIRST),
            "'a' is a required property"
        );
        assert!(validate(&loads(br#"{"a": null}"#).unwrap(), &REQUIRED_FIRST).is_ok());
    }

    #[test]
    fn minimums_of_one_are_worded_as_jsonschema_4_23_words_them() {
        assert_eq!(first_line("{}", &BY_NUMBER), "{} should be non-empty");
        assert_eq!(
            first_line(r#"{"1": []}"#, &BY_NUMBER),
            "[] should be non-empty"
        );
        let two = Schema {
            kind: SchemaKind::List {
                min_items: 2,
                items: &NULLABLE,
            },
            pretty: "{}",
        };
        assert_eq!(first_line("[1]", &two), "[1] is too short");
        let name = Schema {
            kind: SchemaKind::String(StringSchema {
                pattern: None,
                min_length: Some(1),
                max_length: None,
                format: None,
            }),
            pretty: "{}",
        };
        assert_eq!(first_line(r#""""#, &name), "'' should be non-empty");
    }

    #[test]
    fn keys_outside_the_pattern_are_listed_sorted_against_the_regexes() {
        assert_eq!(
            first_line(r#"{"b": 1, "a": 2, "7": [1]}"#, &BY_NUMBER),
            "'a', 'b' do not match any of the regexes: '^[0-9]+$'"
        );
        assert_eq!(
            first_line(r#"{"b": 1}"#, &BY_NUMBER),
            "'b' does not match any of the regexes: '^[0-9]+$'"
        );
    }

    #[test]
    fn integer_or_null_takes_integral_numbers_and_null_only() {
        assert!(validate(&loads(b"[1, null, 2.0]").unwrap(), &NAMES).is_ok());
        assert_eq!(
            first_line(r#"["1"]"#, &NAMES),
            "'1' is not of type 'integer', 'null'"
        );
        assert_eq!(
            first_line("[true]", &NAMES),
            "True is not of type 'integer', 'null'"
        );
    }

    #[test]
    fn numeric_keys_print_as_strings_and_indexes_as_integers() {
        let error = validate(&loads(br#"{"12": [null, "x"]}"#).unwrap(), &BY_NUMBER).unwrap_err();
        assert!(
            error.contains(
                "Failed validating 'type' in schema['patternProperties']['^[0-9]+$']['items']:"
            ),
            "{error}"
        );
        assert!(error.contains("On instance['12'][1]:"), "{error}");
    }

    #[test]
    fn sibling_indexes_compare_as_numbers() {
        // The greatest path wins among equally deep errors: index 10, not 9.
        let error = validate(
            &loads(br#"{"1": ["a", 0, 0, 0, 0, 0, 0, 0, 0, "b", "c"]}"#).unwrap(),
            &BY_NUMBER,
        )
        .unwrap_err();
        assert!(error.starts_with("'c' is not of type"), "{error}");
    }
}
