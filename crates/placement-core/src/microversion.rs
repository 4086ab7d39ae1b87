//! The placement microversion: the `major.minor` version a client asks for in
//! `OpenStack-API-Version: placement X.Y`, its parsing and the supported range.
//!
//! Negotiation follows upstream placement (microversion.py with the
//! microversion-parse library) to the byte, because clients read the error
//! texts:
//! - only the standard header is read; it is a comma-separated list of
//!   `service version` entries (several header lines fold into one list), and
//!   the last `placement` entry wins; other services are ignored;
//! - no `placement` entry means the minimum, 1.0, not the latest;
//! - `latest` means [`Microversion::MAX`];
//! - each part is parsed like Python's `int()`, so `1.05` is 1.5 and ` 1 . 2`
//!   is 1.2, while `1`, `1.2.3` and `foo` are malformed (HTTP 400);
//! - a well-formed version outside 1.0..=1.39 (`1.40`, `2.0`, `-1.0`) is
//!   unacceptable (HTTP 406).
//!
//! The HTTP layer owns the status codes and headers; this module only decides.

use std::fmt;

/// The service type whose entry is read from `OpenStack-API-Version`.
pub const SERVICE_TYPE: &str = "placement";

/// The value of the special version that stands for [`Microversion::MAX`].
const LATEST_KEYWORD: &str = "latest";

/// Python refuses to convert decimal strings longer than this many digits
/// (`sys.get_int_max_str_digits()`); the refusal is part of the error text.
const PYTHON_INT_MAX_STR_DIGITS: usize = 4300;

/// A placement API microversion, compared as the tuple `(major, minor)`.
///
/// Handlers branch on it with [`Microversion::matches`], as upstream handlers
/// call `want_version.matches((1, 15))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Microversion {
    /// The major version; always 1 for the versions placement serves.
    pub major: u16,
    /// The minor version.
    pub minor: u16,
}

impl Microversion {
    /// The oldest version served, and the one used when the client names none.
    pub const MIN: Self = Self::new(1, 0);
    /// The newest version served (upstream placement 16.0.0).
    pub const MAX: Self = Self::new(1, 39);
    /// What `placement latest` resolves to.
    pub const LATEST: Self = Self::MAX;

    /// Builds a version from its two parts; no range check, so constants and
    /// comparisons can name any version.
    pub const fn new(major: u16, minor: u16) -> Self {
        Self { major, minor }
    }

    /// True when this version is at least `major.minor`: the test a handler
    /// makes before using a feature introduced in that version.
    pub const fn matches(self, major: u16, minor: u16) -> bool {
        self.major > major || (self.major == major && self.minor >= minor)
    }

    /// True when placement serves this version (upstream's `VERSIONS` list
    /// is the contiguous range [`Self::MIN`]..=[`Self::MAX`]).
    pub fn is_supported(self) -> bool {
        Self::MIN <= self && self <= Self::MAX
    }

    /// Negotiates the version from the `OpenStack-API-Version` header.
    ///
    /// `header` is the header's value with several lines folded into one
    /// comma-separated string, or `None` when the request has none.
    ///
    /// # Errors
    /// [`MicroversionError::Malformed`] when the placement entry is not two
    /// integers joined by a dot (HTTP 400);
    /// [`MicroversionError::Unacceptable`] when it is, but the version is not
    /// served (HTTP 406).
    pub fn from_header(header: Option<&str>) -> Result<Self, MicroversionError> {
        let Some(requested) = header.and_then(placement_entry) else {
            return Ok(Self::MIN);
        };
        if requested == LATEST_KEYWORD {
            return Ok(Self::LATEST);
        }
        let (major, minor) = parse_version_string(requested)?;
        match (u16::try_from(major), u16::try_from(minor)) {
            (Ok(major), Ok(minor)) if Self::new(major, minor).is_supported() => {
                Ok(Self::new(major, minor))
            }
            _ => Err(MicroversionError::Unacceptable {
                value: requested.to_owned(),
            }),
        }
    }
}

impl Default for Microversion {
    /// The version of a request that names none.
    fn default() -> Self {
        Self::MIN
    }
}

impl fmt::Display for Microversion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Why a requested microversion cannot be served. The messages are
/// upstream's; the HTTP layer prefixes them with `Invalid microversion: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MicroversionError {
    /// The placement entry is not `X.Y` with integer parts: HTTP 400.
    #[error("invalid version string: {value}; {reason}")]
    Malformed {
        /// The version text as the client sent it (trimmed).
        value: String,
        /// What Python's parser would have said about it.
        reason: String,
    },
    /// The version is well formed but not served: HTTP 406.
    #[error("Unacceptable version header: {value}")]
    Unacceptable {
        /// The version text as the client sent it (trimmed).
        value: String,
    },
}

/// The version text of the last `placement` entry in the folded header, if
/// any. Entries that are not `service version` pairs are skipped.
fn placement_entry(header: &str) -> Option<&str> {
    header.rsplit(',').find_map(|entry| {
        let entry = py_strip(entry);
        let split_at = entry.find(is_py_space)?;
        let (service, rest) = entry.split_at(split_at);
        // The rest is non-empty after a strip, because `entry` ends in a
        // non-space character.
        service
            .eq_ignore_ascii_case(SERVICE_TYPE)
            .then(|| py_strip(rest))
    })
}

/// Splits `X.Y` at the first dot and converts both parts as Python's `int()`
/// does; a missing minor part is reported the way Python reports the
/// missing argument.
fn parse_version_string(value: &str) -> Result<(i64, i64), MicroversionError> {
    let malformed = |reason: String| MicroversionError::Malformed {
        value: value.to_owned(),
        reason,
    };
    let (major, minor) = match value.split_once('.') {
        Some((major, minor)) => (major, Some(minor)),
        None => (value, None),
    };
    let major = py_int(major).map_err(malformed)?;
    let Some(minor) = minor else {
        return Err(malformed(
            "Version.__new__() missing 1 required positional argument: 'minor'".to_owned(),
        ));
    };
    let minor = py_int(minor).map_err(malformed)?;
    Ok((major, minor))
}

/// Python's `int(text)` for base 10, returning the message of the
/// `ValueError` it would raise. Values beyond `i64` saturate: the caller only
/// needs to know they are out of range.
fn py_int(text: &str) -> Result<i64, String> {
    let invalid = || format!("invalid literal for int() with base 10: {}", py_repr(text));
    let body = py_strip(text);
    let (negative, digits) = match body.as_bytes().first() {
        Some(b'-') => (true, &body[1..]),
        Some(b'+') => (false, &body[1..]),
        _ => (false, body),
    };
    // Digits, optionally with single underscores between them.
    let mut value: i64 = 0;
    let mut count = 0_usize;
    let mut previous_was_digit = false;
    for byte in digits.bytes() {
        match byte {
            b'0'..=b'9' => {
                value = value
                    .saturating_mul(10)
                    .saturating_add(i64::from(byte - b'0'));
                count += 1;
                previous_was_digit = true;
            }
            b'_' if previous_was_digit => previous_was_digit = false,
            _ => return Err(invalid()),
        }
    }
    if !previous_was_digit {
        // Empty, or ends with an underscore.
        return Err(invalid());
    }
    if count > PYTHON_INT_MAX_STR_DIGITS {
        return Err(format!(
            "Exceeds the limit ({PYTHON_INT_MAX_STR_DIGITS} digits) for integer string \
             conversion: value has {count} digits; use sys.set_int_max_str_digits() to \
             increase the limit"
        ));
    }
    Ok(if negative { -value } else { value })
}

/// Python's `str.isspace()`, which `str.strip()`, `str.split()` and `int()`
/// all use.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()` with no argument.
fn py_strip(text: &str) -> &str {
    text.trim_matches(is_py_space)
}

/// Python's `repr()` of a string, as it appears inside `int()`'s error
/// message. Header text is Latin-1, so only that range needs Python's exact
/// notion of printable.
fn py_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            // C0 and C1 controls, DEL, no-break space and soft hyphen are
            // not printable for Python.
            c if c < ' ' || ('\u{7f}'..='\u{a0}').contains(&c) || c == '\u{ad}' => {
                out.push_str(&format!("\\x{:02x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn negotiate(header: &str) -> Result<Microversion, MicroversionError> {
        Microversion::from_header(Some(header))
    }

    fn malformed_reason(header: &str) -> String {
        match negotiate(header) {
            Err(MicroversionError::Malformed { reason, .. }) => reason,
            other => panic!("expected a malformed version for {header:?}, got {other:?}"),
        }
    }

    #[test]
    fn no_header_means_the_minimum_version() {
        assert_eq!(Microversion::from_header(None), Ok(Microversion::MIN));
        assert_eq!(Microversion::MIN.to_string(), "1.0");
    }

    #[test]
    fn a_header_without_a_placement_entry_means_the_minimum_version() {
        assert_eq!(negotiate("compute 2.60"), Ok(Microversion::MIN));
        assert_eq!(negotiate(""), Ok(Microversion::MIN));
        assert_eq!(negotiate("placement"), Ok(Microversion::MIN));
    }

    #[test]
    fn latest_means_the_maximum_version() {
        assert_eq!(negotiate("placement latest"), Ok(Microversion::new(1, 39)));
        assert_eq!(Microversion::LATEST, Microversion::MAX);
    }

    #[test]
    fn the_keyword_latest_is_case_sensitive_but_the_service_name_is_not() {
        assert_eq!(negotiate("PLACEMENT latest"), Ok(Microversion::MAX));
        assert_eq!(
            malformed_reason("placement LATEST"),
            "invalid literal for int() with base 10: 'LATEST'"
        );
    }

    #[test]
    fn the_last_placement_entry_wins_and_other_services_are_ignored() {
        assert_eq!(
            negotiate("compute 2.1, placement 1.7,  placement 1.3 , identity 3.0"),
            Ok(Microversion::new(1, 3))
        );
        // Two header lines folded by the HTTP layer.
        assert_eq!(
            negotiate("placement 1.7,placement 1.9"),
            Ok(Microversion::new(1, 9))
        );
    }

    #[test]
    fn parts_are_parsed_as_integers_so_leading_zeros_and_spaces_are_accepted() {
        assert_eq!(negotiate("placement 1.05"), Ok(Microversion::new(1, 5)));
        assert_eq!(negotiate("placement  1 . 2 "), Ok(Microversion::new(1, 2)));
        assert_eq!(negotiate("placement +1.-0"), Ok(Microversion::new(1, 0)));
    }

    #[test]
    fn a_word_is_malformed_with_pythons_message() {
        let err = negotiate("placement foo").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid version string: foo; invalid literal for int() with base 10: 'foo'"
        );
    }

    #[test]
    fn a_single_number_is_malformed_for_want_of_a_minor_part() {
        assert_eq!(
            negotiate("placement 1").unwrap_err().to_string(),
            "invalid version string: 1; Version.__new__() missing 1 required positional \
             argument: 'minor'"
        );
    }

    #[test]
    fn three_parts_are_malformed_because_the_split_happens_once() {
        assert_eq!(
            negotiate("placement 1.2.3").unwrap_err().to_string(),
            "invalid version string: 1.2.3; invalid literal for int() with base 10: '2.3'"
        );
    }

    #[test]
    fn an_empty_part_is_malformed() {
        assert_eq!(
            malformed_reason("placement 1."),
            "invalid literal for int() with base 10: ''"
        );
    }

    #[test]
    fn the_malformed_part_is_quoted_like_python_repr() {
        assert_eq!(
            malformed_reason("placement 1.x'y"),
            "invalid literal for int() with base 10: \"x'y\""
        );
        assert_eq!(
            malformed_reason("placement 1.a\\b\u{7f}"),
            "invalid literal for int() with base 10: 'a\\\\b\\x7f'"
        );
    }

    #[test]
    fn underscores_are_allowed_only_between_digits() {
        assert_eq!(negotiate("placement 1.1_0"), Ok(Microversion::new(1, 10)));
        assert_eq!(
            malformed_reason("placement 1._5"),
            "invalid literal for int() with base 10: '_5'"
        );
        assert_eq!(
            malformed_reason("placement 1.5_"),
            "invalid literal for int() with base 10: '5_'"
        );
    }

    #[test]
    fn a_well_formed_version_outside_the_range_is_unacceptable() {
        for value in [
            "1.40",
            "2.0",
            "0.9",
            "-1.0",
            "1_0.1",
            "1.99999999999999999999",
        ] {
            assert_eq!(
                negotiate(&format!("placement {value}")),
                Err(MicroversionError::Unacceptable {
                    value: value.to_owned()
                }),
                "{value}"
            );
        }
        assert_eq!(
            negotiate("placement 1.40").unwrap_err().to_string(),
            "Unacceptable version header: 1.40"
        );
    }

    #[test]
    fn an_absurdly_long_number_is_refused_as_python_refuses_it() {
        let reason = malformed_reason(&format!("placement 1.{}", "9".repeat(4301)));
        assert!(
            reason.starts_with("Exceeds the limit (4300 digits) for integer string conversion"),
            "{reason}"
        );
    }

    #[test]
    fn matches_means_at_least_the_given_version() {
        let v = Microversion::new(1, 15);
        assert!(v.matches(1, 15));
        assert!(v.matches(1, 0));
        assert!(!v.matches(1, 16));
        assert!(!v.matches(2, 0));
        assert!(Microversion::new(2, 0).matches(1, 39));
    }

    #[test]
    fn versions_order_numerically_not_lexically() {
        assert!(Microversion::new(1, 9) < Microversion::new(1, 10));
        assert!(Microversion::new(1, 39) < Microversion::new(2, 0));
    }

    #[test]
    fn display_is_major_dot_minor() {
        assert_eq!(Microversion::new(1, 39).to_string(), "1.39");
        assert_eq!(Microversion::new(1, 5).to_string(), "1.5");
    }
}
