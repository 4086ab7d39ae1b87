//! Python's `repr`, `str.isprintable` and `pprint.pformat(width=72,
//! sort_dicts=False)` over [`PyValue`]: the texts `jsonschema` puts in its
//! messages (`{instance!r} is not of type …`) and in the pretty-printed
//! schema and instance that follow them. The one copy of these helpers.

pub(crate) use placement_core::pyrepr::str_repr;

use super::tree::PyValue;

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

/// Python's `pprint.pformat(value, width=72, sort_dicts=False)`.
pub(crate) fn pformat(value: &PyValue) -> String {
    let mut out = String::new();
    Pretty { width: 72 }.format(value, &mut out, 0, 0, 0);
    out
}

struct Pretty {
    width: usize,
}

pub(crate) fn char_len(s: &str) -> usize {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::loads;

    #[test]
    fn values_print_as_python_prints_them() {
        let value = loads(br#"{"b": [1, -0, 1.5, null, true], "a": "\u00e9\ud83d\ude00", "b": 2}"#)
            .unwrap();
        assert_eq!(repr(&value), "{'b': 2, 'a': 'é😀'}");
        assert_eq!(
            repr(&loads(b"[NaN, -Infinity, 1e16, -0, 0.5, 3.40282e+38]").unwrap()),
            "[nan, -inf, 1e+16, 0, 0.5, 3.40282e+38]"
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
        let query = loads(
            format!(
                r#"{{"name": "startswith:{}", "x": "{}"}}"#,
                "A".repeat(40),
                "y z ".repeat(20)
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(
            pformat(&query),
            "{'name': 'startswith:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',\n 'x': 'y z y z y z y z y z y z y z y z y z y z y z y z y z y z y z y z '\n      'y z y z y z y z '}"
        );
    }
}
