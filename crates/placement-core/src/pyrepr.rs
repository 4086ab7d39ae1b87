//! Python's `repr()` of a string and `str.isprintable`: upstream's error
//! texts quote names and values with them (jsonschema's messages, the
//! request-group errors' list reprs), so every layer must print them the
//! same way. The one copy of these helpers.

use std::fmt::Write as _;

/// Whether Python's `str.isprintable` holds for `c` (close enough: controls,
/// separators other than the space, and format characters are not).
/// Python 3's `str.isprintable` for one character (Unicode 14, as CPython
/// 3.11 has it): false for controls, format characters, private use and
/// separators other than the ASCII space.
// NOTE(upstream): unassigned code points (category Cn) are not printable in
// Python either; without Unicode tables we print them as they are.
pub fn is_printable(c: char) -> bool {
    !matches!(
        c,
        '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{a0}'
            | '\u{ad}'
            | '\u{600}'..='\u{605}'
            | '\u{61c}'
            | '\u{6dd}'
            | '\u{70f}'
            | '\u{890}'..='\u{891}'
            | '\u{8e2}'
            | '\u{1680}'
            | '\u{180e}'
            | '\u{2000}'..='\u{200f}'
            | '\u{2028}'..='\u{202f}'
            | '\u{205f}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{3000}'
            | '\u{e000}'..='\u{f8ff}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{110bd}'
            | '\u{110cd}'
            | '\u{13430}'..='\u{13438}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0001}'
            | '\u{e0020}'..='\u{e007f}'
            | '\u{f0000}'..='\u{ffffd}'
            | '\u{100000}'..='\u{10fffd}'
    )
}

/// Python's `repr(str)`: single quotes unless the text holds a single quote
/// and no double quote.
pub fn str_repr(s: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_repr_picks_quotes_and_escapes_as_python() {
        assert_eq!(str_repr("it's"), "\"it's\"");
        assert_eq!(str_repr("a\"b'c"), "'a\"b\\'c'");
        assert_eq!(
            str_repr("\u{0}\u{7f}\u{a0}é\u{2028}\u{200b}\\"),
            "'\\x00\\x7f\\xa0é\\u2028\\u200b\\\\'"
        );
        assert_eq!(str_repr("t\tn\n\u{1}"), "'t\\tn\\n\\x01'");
    }

    #[test]
    fn bidi_isolates_and_private_use_are_not_printable_as_in_python_3() {
        // repr('\u2066\u206f\ue000\u2065x') in CPython 3.11.
        assert_eq!(
            str_repr("\u{2066}\u{206f}\u{e000}\u{2064}x"),
            "'\\u2066\\u206f\\ue000\\u2064x'"
        );
        assert!(is_printable('\u{2070}'));
        assert!(is_printable(' '));
        assert!(!is_printable('\u{3000}'));
    }
}
