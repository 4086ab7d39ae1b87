//! JSON bodies written the way upstream's `json.dumps` writes them, so that
//! responses match upstream byte for byte: `", "` and `": "` separators,
//! non-ASCII escaped as `\uXXXX` (`ensure_ascii`), and floats in Python's
//! `repr` notation (`1e+16`, `1e-05`, `16.0`). Field order is the order of
//! the serialized struct, as Python keeps dict insertion order.

use std::io;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::ser::Formatter;

use crate::error::ApiError;

/// Serializes `value` as Python's `json.dumps(value)` would.
///
/// # Errors
/// Whatever `serde_json` reports for a value it cannot serialize (a map
/// with non-string keys, a failing `Serialize` implementation).
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(128);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    value.serialize(&mut serializer)?;
    Ok(out)
}

/// A `200 OK` JSON response body in upstream's formatting, with
/// `Content-Type: application/json` (no charset, as webob sends it).
#[derive(Debug, Clone)]
pub struct PyJson<T>(pub T);

impl<T: Serialize> IntoResponse for PyJson<T> {
    fn into_response(self) -> Response {
        match to_vec(&self.0) {
            Ok(body) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            Err(error) => ApiError::internal(error).into_response(),
        }
    }
}

/// `serde_json` formatting hooks for Python's default `json.dumps` output.
struct PythonFormatter;

impl Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    /// `serde_json` has already escaped quotes, backslashes and C0 controls;
    /// Python also escapes DEL and everything outside ASCII.
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (index, c) in fragment.char_indices() {
            if c.is_ascii() && c != '\u{7f}' {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[start..index])?;
            let mut units = [0_u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            start = index + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(python_float_repr(&format!("{value:e}")).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        writer.write_all(python_float_repr(&format!("{value:e}")).as_bytes())
    }
}

/// Python's `repr(float)` from Rust's shortest round-trip scientific form
/// (`"-1.2345e-7"`): positional when the decimal point falls within
/// (-4, 16] digits, scientific with a signed two-digit exponent otherwise.
/// Serde never passes NaN or infinities (it writes `null`).
pub(crate) fn python_float_repr(scientific: &str) -> String {
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    // The position of the decimal point relative to the digits.
    let point = exponent + 1;
    let mut out = String::from(sign);
    if -4 < point && point <= 16 {
        let len = i32::try_from(digits.len()).unwrap_or(i32::MAX);
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
            out.push_str(&digits);
        } else if point >= len {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n(
                '0',
                (point - len).unsigned_abs() as usize,
            ));
            out.push_str(".0");
        } else {
            let (whole, fraction) = digits.split_at(point.unsigned_abs() as usize);
            out.push_str(whole);
            out.push('.');
            out.push_str(fraction);
        }
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let shown = point - 1;
        out.push('e');
        out.push(if shown < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", shown.unsigned_abs()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dumps(value: &serde_json::Value) -> String {
        String::from_utf8(to_vec(value).unwrap()).unwrap()
    }

    #[test]
    fn separators_have_a_space_after_them_as_in_python() {
        assert_eq!(
            dumps(&json!({"a": [1, 2], "b": {}, "c": []})),
            r#"{"a": [1, 2], "b": {}, "c": []}"#
        );
    }

    #[test]
    fn non_ascii_and_del_are_escaped_and_astral_characters_become_surrogate_pairs() {
        assert_eq!(
            dumps(&json!("é\u{7f}☃😀")),
            r#""\u00e9\u007f\u2603\ud83d\ude00""#
        );
    }

    #[test]
    fn control_characters_keep_pythons_escapes() {
        assert_eq!(dumps(&json!("a\n\"\\\u{1}")), r#""a\n\"\\\u0001""#);
    }

    #[test]
    fn floats_are_written_as_python_repr_writes_them() {
        for (value, python) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (16.0, "16.0"),
            (0.5, "0.5"),
            (123.456, "123.456"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.25e-7, "1.25e-07"),
            (1e100, "1e+100"),
            (-2.5, "-2.5"),
        ] {
            assert_eq!(dumps(&json!(value)), python, "{value:e}");
        }
    }
}
