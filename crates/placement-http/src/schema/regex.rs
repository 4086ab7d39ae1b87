//! Python's `re.search` for the regular expressions placement's schemas
//! use: literals, `.`, classes with ranges, groups, `|`, the quantifiers
//! `* + ? {m} {m,n}`, `^`, and `$` (which in Python also matches before a
//! final newline, so `'CUSTOM_A\n'` matches `^CUSTOM_[A-Z0-9_]+$`).
//!
//! A small backtracking matcher over the pattern text the schema holds, so
//! the pattern is written once, as data, and printed from the same text.

/// One alternative of a pattern: a sequence of repeated atoms.
type Seq = Vec<Piece>;

#[derive(Debug)]
struct Piece {
    atom: Atom,
    min: usize,
    max: usize,
}

#[derive(Debug)]
enum Atom {
    Char(char),
    Any,
    Class {
        ranges: Vec<(char, char)>,
        negated: bool,
    },
    Group(Vec<Seq>),
    Start,
    End,
}

/// Whether `re.search(pattern, text)` finds a match. A pattern outside the
/// supported subset matches nothing; the schema tests parse every pattern.
pub(crate) fn search(pattern: &str, text: &str) -> bool {
    let Some(alternatives) = parse(pattern) else {
        return false;
    };
    let chars: Vec<char> = text.chars().collect();
    (0..=chars.len()).any(|start| match_alt(&alternatives, &chars, start, &|_| true))
}

/// Whether `pattern` is within the supported subset.
#[cfg(test)]
pub(crate) fn is_supported(pattern: &str) -> bool {
    parse(pattern).is_some()
}

fn parse(pattern: &str) -> Option<Vec<Seq>> {
    let chars: Vec<char> = pattern.chars().collect();
    let (alternatives, end) = parse_alt(&chars, 0)?;
    (end == chars.len()).then_some(alternatives)
}

fn parse_alt(p: &[char], mut pos: usize) -> Option<(Vec<Seq>, usize)> {
    let mut alternatives = vec![Vec::new()];
    while let Some(&c) = p.get(pos) {
        let atom = match c {
            ')' => break,
            '|' => {
                alternatives.push(Vec::new());
                pos += 1;
                continue;
            }
            '^' => {
                pos += 1;
                Atom::Start
            }
            '$' => {
                pos += 1;
                Atom::End
            }
            '.' => {
                pos += 1;
                Atom::Any
            }
            '(' => {
                let (inner, end) = parse_alt(p, pos + 1)?;
                if p.get(end) != Some(&')') {
                    return None;
                }
                pos = end + 1;
                Atom::Group(inner)
            }
            '[' => {
                let (atom, end) = parse_class(p, pos + 1)?;
                pos = end;
                atom
            }
            '\\' => {
                let escaped = *p.get(pos + 1)?;
                if escaped.is_ascii_alphanumeric() {
                    return None;
                }
                pos += 2;
                Atom::Char(escaped)
            }
            '*' | '+' | '?' | '{' => return None,
            c => {
                pos += 1;
                Atom::Char(c)
            }
        };
        let (min, max, end) = parse_quantifier(p, pos)?;
        pos = end;
        alternatives.last_mut()?.push(Piece { atom, min, max });
    }
    Some((alternatives, pos))
}

fn parse_class(p: &[char], mut pos: usize) -> Option<(Atom, usize)> {
    let negated = p.get(pos) == Some(&'^');
    if negated {
        pos += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = *p.get(pos)?;
        if c == ']' && !first {
            return Some((Atom::Class { ranges, negated }, pos + 1));
        }
        first = false;
        if p.get(pos + 1) == Some(&'-') && p.get(pos + 2).is_some_and(|e| *e != ']') {
            ranges.push((c, *p.get(pos + 2)?));
            pos += 3;
        } else {
            ranges.push((c, c));
            pos += 1;
        }
    }
}

fn parse_quantifier(p: &[char], pos: usize) -> Option<(usize, usize, usize)> {
    match p.get(pos) {
        Some('*') => Some((0, usize::MAX, pos + 1)),
        Some('+') => Some((1, usize::MAX, pos + 1)),
        Some('?') => Some((0, 1, pos + 1)),
        Some('{') => {
            let close = pos + p[pos..].iter().position(|c| *c == '}')?;
            let body: String = p[pos + 1..close].iter().collect();
            let (min, max) = match body.split_once(',') {
                Some((min, max)) => (min.parse().ok()?, max.parse().ok()?),
                None => {
                    let n = body.parse().ok()?;
                    (n, n)
                }
            };
            Some((min, max, close + 1))
        }
        _ => Some((1, 1, pos)),
    }
}

type Next<'a> = &'a dyn Fn(usize) -> bool;

fn match_alt(alternatives: &[Seq], s: &[char], pos: usize, next: Next<'_>) -> bool {
    alternatives.iter().any(|seq| match_seq(seq, s, pos, next))
}

fn match_seq(seq: &[Piece], s: &[char], pos: usize, next: Next<'_>) -> bool {
    match seq.split_first() {
        None => next(pos),
        Some((piece, rest)) => match_repeat(piece, 0, s, pos, &|q| match_seq(rest, s, q, next)),
    }
}

/// Greedy repetition: one more of the atom if allowed, else move on.
fn match_repeat(piece: &Piece, count: usize, s: &[char], pos: usize, next: Next<'_>) -> bool {
    if count < piece.max
        && match_atom(&piece.atom, s, pos, &|q| {
            // An empty match only counts towards the minimum, so `x*` on
            // a zero-width atom cannot loop.
            (q != pos || count < piece.min) && match_repeat(piece, count + 1, s, q, next)
        })
    {
        return true;
    }
    count >= piece.min && next(pos)
}

fn match_atom(atom: &Atom, s: &[char], pos: usize, next: Next<'_>) -> bool {
    match atom {
        Atom::Char(c) => s.get(pos) == Some(c) && next(pos + 1),
        Atom::Any => s.get(pos).is_some_and(|c| *c != '\n') && next(pos + 1),
        Atom::Class { ranges, negated } => {
            s.get(pos)
                .is_some_and(|c| ranges.iter().any(|(lo, hi)| (lo..=hi).contains(&c)) != *negated)
                && next(pos + 1)
        }
        Atom::Group(alternatives) => match_alt(alternatives, s, pos, next),
        Atom::Start => pos == 0 && next(pos),
        Atom::End => (pos == s.len() || (pos + 1 == s.len() && s[pos] == '\n')) && next(pos),
    }
}

#[cfg(test)]
mod tests {
    use super::search;

    #[test]
    fn anchored_class_patterns_match_as_python_re_search() {
        assert!(search("^[A-Z0-9_]+$", "VCPU"));
        assert!(search("^[A-Z0-9_]+$", "VCPU\n"));
        assert!(!search("^[A-Z0-9_]+$", "VCPU\n\n"));
        assert!(!search("^[A-Z0-9_]+$", ""));
        assert!(!search("^[A-Z0-9_]+$", "vcpu"));
        assert!(search("^CUSTOM_[A-Z0-9_]+$", "CUSTOM_A"));
        assert!(!search("^CUSTOM_[A-Z0-9_]+$", "CUSTOM_"));
        assert!(search("^[0-9a-fA-F-]{36}$", &"a-".repeat(18)));
        assert!(!search("^[0-9a-fA-F-]{36}$", &"a".repeat(37)));
    }

    #[test]
    fn alternatives_and_optional_groups_match_as_python_re_search() {
        let consumer_type = "^[A-Z0-9_]+$|^all|^unknown$";
        assert!(search(consumer_type, "allx"));
        assert!(search(consumer_type, "unknown"));
        assert!(!search(consumer_type, "unknownx"));
        assert!(!search(consumer_type, "xall"));
        assert!(search("^resources([1-9][0-9]*)?$", "resources"));
        assert!(search("^resources([1-9][0-9]*)?$", "resources12"));
        assert!(!search("^resources([1-9][0-9]*)?$", "resources0"));
        assert!(search("^member_of([a-zA-Z0-9_-]{1,64})?$", "member_of_X-1"));
        assert!(!search(
            "^member_of([a-zA-Z0-9_-]{1,64})?$",
            &format!("member_of{}", "a".repeat(65))
        ));
        // Unanchored: any one allowed character anywhere is enough.
        assert!(search("[a-zA-Z0-9_-]{1,64}", "!!a!!"));
        assert!(!search("[a-zA-Z0-9_-]{1,64}", "!!"));
        assert!(search("^[1-9][0-9]*$", "10"));
        assert!(!search("^[1-9][0-9]*$", "01"));
    }
}
