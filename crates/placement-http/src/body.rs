//! Request bodies read as upstream's `util.extract_json` reads them: decoded
//! as UTF-8 and parsed by Python's `json` module, then validated by
//! `jsonschema`, with the 400s carrying those libraries' texts
//! (`Malformed JSON: Expecting value: line 1 column 1 (char 0)`,
//! `JSON does not validate: 'FOO' does not match …`).
//!
//! Clients and upstream's tests match on these texts, so the parser keeps
//! Python's error positions and messages; the schemas, their validator and
//! the printer of `jsonschema`'s text live in [`crate::schema`].

use crate::error::ApiError;
pub(crate) use crate::schema::PyValue;
use crate::schema::{validate, Formats};

/// upstream's `extract_json(body, schema)`: parse, validate, or the 400
/// with Python's message.
///
/// # Errors
/// A 400 `Malformed JSON: …` or `JSON does not validate: …`.
pub(crate) fn extract_json(body: &[u8], schema: &PyValue) -> Result<PyValue, ApiError> {
    let value = loads(body).map_err(|e| ApiError::bad_request(format!("Malformed JSON: {e}")))?;
    validate_body(&value, schema)?;
    Ok(value)
}

/// Validates an already parsed document as `extract_json` does.
///
/// # Errors
/// A 400 `JSON does not validate: …`.
pub(crate) fn validate_body(value: &PyValue, schema: &PyValue) -> Result<(), ApiError> {
    validate(value, schema, Formats::Body)
        .map_err(|e| ApiError::bad_request(format!("JSON does not validate: {e}")))
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
}
