//! The `Accept` header as webob reads it, because upstream uses it twice: to
//! refuse requests that cannot take JSON (`util.check_accept`, 406) and to
//! choose the format of error bodies (JSON, HTML or plain text).
//!
//! webob validates the whole header against RFC 7231's grammar; an invalid
//! header is treated like no header at all (every offer acceptable), and a
//! valid one ranks offers by the q-value of the most specific matching range.
//! Offers here are bare `type/subtype` strings.

/// A parsed `Accept` header.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Accept {
    /// No header, or one that does not follow the grammar: webob ignores it.
    Ignored,
    /// A valid header (possibly empty), as its media ranges.
    Valid(Vec<MediaRange>),
}

/// One media range of a valid header, lower-cased where matching ignores
/// case.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MediaRange {
    kind: String,
    subtype: String,
    has_params: bool,
    q: f32,
}

impl Accept {
    /// Parses the header value (several header lines joined with `,`).
    pub(crate) fn parse(value: Option<&str>) -> Self {
        match value.map(parse_list) {
            Some(Some(ranges)) => Self::Valid(ranges),
            _ => Self::Ignored,
        }
    }

    /// Whether webob would consider the header present and valid (its
    /// `bool(req.accept)`).
    pub(crate) fn is_valid(&self) -> bool {
        matches!(self, Self::Valid(_))
    }

    /// The offers the header accepts, best first; ties keep the offers'
    /// order (webob's `acceptable_offers`).
    pub(crate) fn acceptable_offers<'a>(&self, offers: &[&'a str]) -> Vec<&'a str> {
        let Self::Valid(ranges) = self else {
            return offers.to_vec();
        };
        let mut ranked: Vec<(&'a str, f32)> = offers
            .iter()
            .filter_map(|offer| {
                let (kind, subtype) = offer.split_once('/')?;
                let (kind, subtype) = (kind.to_ascii_lowercase(), subtype.to_ascii_lowercase());
                let mut best: Option<(u8, f32)> = None;
                for range in ranges {
                    let specificity = if range.kind == kind && range.subtype == subtype {
                        // A range with parameters never matches a bare offer.
                        if range.has_params {
                            continue;
                        }
                        3
                    } else if range.subtype == "*" && range.kind == kind {
                        2
                    } else if range.kind == "*" && range.subtype == "*" {
                        1
                    } else {
                        continue;
                    };
                    if best.is_none_or(|(current, _)| specificity > current) {
                        best = Some((specificity, range.q));
                    }
                }
                best.map(|(_, q)| (*offer, q))
            })
            .filter(|(_, q)| *q > 0.0)
            .collect();
        // A stable sort keeps offer order among equal q-values.
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        ranked.into_iter().map(|(offer, _)| offer).collect()
    }
}

/// The RFC 7230 list rule as webob's regex applies it:
/// `"" | ("," | element) *(OWS "," [OWS element])`, with no whitespace at
/// either end. `None` when the header is invalid.
fn parse_list(value: &str) -> Option<Vec<MediaRange>> {
    let mut cursor = Cursor::new(value);
    let mut ranges = Vec::new();
    if cursor.at_end() {
        return Some(ranges);
    }
    if !cursor.eat(b',') {
        ranges.push(parse_element(&mut cursor)?);
    }
    while !cursor.at_end() {
        cursor.skip_ows();
        if !cursor.eat(b',') {
            return None;
        }
        let before = cursor.pos;
        cursor.skip_ows();
        match parse_element(&mut cursor) {
            Some(range) => ranges.push(range),
            None => cursor.pos = before,
        }
    }
    Some(ranges)
}

/// `media-range [weight *accept-ext]`; restores nothing on failure (the
/// caller backtracks).
fn parse_element(cursor: &mut Cursor<'_>) -> Option<MediaRange> {
    let kind = cursor.token()?;
    if !cursor.eat(b'/') {
        return None;
    }
    let subtype = cursor.token()?;
    let mut has_params = false;
    // Media type parameters: `OWS ";" OWS token "=" value`, never named q.
    loop {
        let before = cursor.pos;
        cursor.skip_ows();
        if cursor.eat(b';') {
            cursor.skip_ows();
            if !cursor.at_weight() && cursor.parameter() {
                has_params = true;
                continue;
            }
        }
        cursor.pos = before;
        break;
    }
    let mut q = 1.0;
    // Accept params: `OWS ";" OWS ("q"|"Q") "=" qvalue`, then extensions.
    let before = cursor.pos;
    cursor.skip_ows();
    if cursor.eat(b';') {
        cursor.skip_ows();
        if cursor.at_weight() {
            cursor.pos += 2;
            match cursor.qvalue() {
                Some(value) => {
                    q = value;
                    cursor.extensions();
                }
                None => cursor.pos = before,
            }
        } else {
            cursor.pos = before;
        }
    } else {
        cursor.pos = before;
    }
    Some(MediaRange {
        kind: kind.to_ascii_lowercase(),
        subtype: subtype.to_ascii_lowercase(),
        has_params,
        q,
    })
}

struct Cursor<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            bytes: text.as_bytes(),
            text,
            pos: 0,
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// `1*tchar`.
    fn token(&mut self) -> Option<&'a str> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        (self.pos > start).then(|| &self.text[start..self.pos])
    }

    /// Whether `q=` or `Q=` starts here.
    fn at_weight(&self) -> bool {
        matches!(self.peek(), Some(b'q' | b'Q')) && self.bytes.get(self.pos + 1) == Some(&b'=')
    }

    /// `token "=" (token | quoted-string)`; consumes nothing on failure.
    fn parameter(&mut self) -> bool {
        let before = self.pos;
        let ok = self.token().is_some() && self.eat(b'=') && self.value();
        if !ok {
            self.pos = before;
        }
        ok
    }

    /// `token | quoted-string`.
    fn value(&mut self) -> bool {
        self.token().is_some() || self.quoted_string()
    }

    /// `DQUOTE *(qdtext | quoted-pair) DQUOTE`, with obs-text allowed.
    fn quoted_string(&mut self) -> bool {
        let before = self.pos;
        if !self.eat(b'"') {
            return false;
        }
        while let Some(byte) = self.peek() {
            match byte {
                b'"' => {
                    self.pos += 1;
                    return true;
                }
                b'\\' => match self.bytes.get(self.pos + 1) {
                    Some(&next)
                        if next == b'\t' || next == b' ' || next >= 0x21 && next != 0x7f =>
                    {
                        self.pos += 2;
                    }
                    _ => break,
                },
                b'\t' | b' ' | 0x21 | 0x23..=0x5b | 0x5d..=0x7e | 0x80..=0xff => self.pos += 1,
                _ => break,
            }
        }
        self.pos = before;
        false
    }

    /// `"0" ["." 0*3DIGIT] | "1" ["." 0*3("0")]`.
    fn qvalue(&mut self) -> Option<f32> {
        let start = self.pos;
        let allowed: fn(u8) -> bool = match self.peek()? {
            b'0' => |b| b.is_ascii_digit(),
            b'1' => |b| b == b'0',
            _ => return None,
        };
        self.pos += 1;
        if self.eat(b'.') {
            let mut count = 0;
            while count < 3 && self.peek().is_some_and(allowed) {
                self.pos += 1;
                count += 1;
            }
        }
        self.text[start..self.pos].parse().ok()
    }

    /// `*(OWS ";" OWS token ["=" (token | quoted-string)])`.
    fn extensions(&mut self) {
        loop {
            let before = self.pos;
            self.skip_ows();
            if self.eat(b';') {
                self.skip_ows();
                if self.token().is_some() {
                    let after_name = self.pos;
                    if !(self.eat(b'=') && self.value()) {
                        self.pos = after_name;
                    }
                    continue;
                }
            }
            self.pos = before;
            return;
        }
    }
}

/// RFC 7230 `tchar`.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ERROR_OFFERS: [&str; 2] = ["text/html", "application/json"];

    fn offers(header: &str) -> Vec<&'static str> {
        Accept::parse(Some(header)).acceptable_offers(&ERROR_OFFERS)
    }

    #[test]
    fn no_header_accepts_every_offer_in_order() {
        let accept = Accept::parse(None);
        assert!(!accept.is_valid());
        assert_eq!(accept.acceptable_offers(&ERROR_OFFERS), ERROR_OFFERS);
    }

    #[test]
    fn an_exact_type_accepts_only_that_type() {
        assert_eq!(offers("application/json"), ["application/json"]);
        assert_eq!(offers("text/plain"), Vec::<&str>::new());
        assert_eq!(offers("Application/JSON"), ["application/json"]);
    }

    #[test]
    fn q_values_rank_offers_and_zero_refuses() {
        assert_eq!(
            offers("text/html;q=0.5, application/json"),
            ["application/json", "text/html"]
        );
        assert_eq!(
            offers("text/plain;q=1, application/json;q=0"),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn wildcards_match_with_less_specificity() {
        assert_eq!(
            offers("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            ["text/html", "application/json"]
        );
        assert_eq!(offers("application/*"), ["application/json"]);
        assert_eq!(offers("*/*;q=0.1, application/json;q=0"), ["text/html"]);
    }

    #[test]
    fn a_range_with_parameters_does_not_match_a_bare_offer() {
        assert_eq!(offers("application/json;charset=utf-8"), Vec::<&str>::new());
        assert_eq!(
            offers("application/json;charset=\"utf-8\";q=0.5, text/html"),
            ["text/html"]
        );
        assert_eq!(
            offers("application/json; charset=\"a\\\"b\""),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn an_invalid_header_is_ignored() {
        for header in [
            "foo",
            "application/json;q=2",
            "application/json ",
            "application/json, ",
            "text/html;q=0.1234",
            "text/html;q",
        ] {
            let accept = Accept::parse(Some(header));
            assert!(!accept.is_valid(), "{header:?}");
            assert_eq!(accept.acceptable_offers(&ERROR_OFFERS), ERROR_OFFERS);
        }
    }

    #[test]
    fn the_list_rule_allows_empty_elements_and_spaces_around_commas() {
        assert!(Accept::parse(Some("")).is_valid());
        assert!(Accept::parse(Some(",")).is_valid());
        assert!(Accept::parse(Some(", ,")).is_valid());
        assert!(Accept::parse(Some("application/json,")).is_valid());
        assert!(Accept::parse(Some("application/json ;q=0.5")).is_valid());
        // webob's regex wants a leading comma to be followed by another one.
        assert!(!Accept::parse(Some(",application/json")).is_valid());
        assert!(!Accept::parse(Some(", application/json")).is_valid());
        assert!(Accept::parse(Some("text/html , ,application/json")).is_valid());
        assert_eq!(offers("text/html , ,application/json;q=0.5"), ERROR_OFFERS);
    }

    #[test]
    fn extension_parameters_follow_the_weight() {
        assert_eq!(
            offers("application/json;q=0.5;ext=1;flag, text/html;q=0.4"),
            ["application/json", "text/html"]
        );
    }

    #[test]
    fn an_empty_valid_header_accepts_nothing() {
        assert_eq!(offers(""), Vec::<&str>::new());
    }
}
