//! oslo.policy's rule language: a check string (or the old list-of-lists
//! form) parsed once into a [`Check`] tree, then evaluated for each request.
//!
//! The parser accepts exactly what oslo.policy 6.0.1's greedy shift-reduce
//! parser accepts, written as precedence climbing (`not` binds tighter than
//! `and`, which binds tighter than `or`): both reduce the same token streams
//! to the same trees, and both fail on the same leftovers. Evaluation keeps
//! oslo's quirks where they decide an outcome: `None` formats as `"None"`,
//! a missing target key makes a check false, a left side that reads as a
//! Python literal is compared as text, and an atom without a colon is false.
//!
//! Where upstream would raise out of a check (an incomplete `%` format, a
//! path that walks into a string) the check is false here: upstream answers
//! those requests with a 500, which no deployment relies on.

use std::borrow::Cow;
use std::fmt;

use super::{Credentials, Target};

/// How deeply parentheses and `not`s may nest in one check string. Far
/// beyond any real policy; it keeps a hostile file from exhausting the
/// stack of the recursive parser and evaluator.
const MAX_NESTING: usize = 100;

/// A parsed check: the tree oslo.policy builds out of `_checks` objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// `@`, an empty string or an empty list: always passes.
    True,
    /// `!`: never passes.
    False,
    /// An atom oslo cannot read (no `:`): never passes. Kept apart from
    /// [`Check::False`] so the loader can name it in a warning.
    Invalid(String),
    /// `rule:NAME`: the named rule's outcome.
    Rule(String),
    /// `role:NAME`: the (formatted) name is one of the caller's roles, in
    /// any case.
    Role(Template),
    /// `http:…` / `https:…`: a remote check. Never evaluated here (always
    /// false); the enforcer refuses files that contain one.
    Remote {
        /// `http` or `https`.
        kind: String,
        /// What followed the colon.
        target: String,
    },
    /// Any other `left:right`.
    Generic {
        /// The left side as written, for display.
        kind: String,
        /// What the left side means.
        left: Left,
        /// The right side, `%`-formatted from the target.
        right: Template,
    },
    /// `not X`.
    Not(Box<Check>),
    /// `X and Y and …`.
    And(Vec<Check>),
    /// `X or Y or …`.
    Or(Vec<Check>),
}

/// The left side of a generic check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Left {
    /// A Python literal (`True`, `'admin'`, `20`), already turned into the
    /// text Python's `str()` gives it.
    Literal(String),
    /// A dotted path into the credentials (`project_id`, `roles`).
    Path(Vec<String>),
}

/// A right-hand side as Python's `text % target` reads it: literal text and
/// `%(key)s` substitutions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    pieces: Option<Vec<Piece>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Key(String),
}

/// A check string that does not reduce to one check: upstream logs it and
/// the rule becomes `!`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not parse check string {0:?}")]
pub struct ParseError(pub String);

/// A rule as a policy file writes it: a check string, or the old
/// list-of-lists form where the inner lists are and-ed and the outer list
/// or-ed (`[["role:a", "role:b"], ["role:c"]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleSpec {
    /// A check string.
    Text(String),
    /// The list-of-lists form. A bare string in the outer list counts as
    /// a one-element inner list, as upstream reads it.
    List(Vec<Vec<String>>),
}

impl RuleSpec {
    /// Parses the rule into its check tree.
    ///
    /// # Errors
    /// [`ParseError`] when a check string does not reduce to one check;
    /// callers turn that into [`Check::False`] and warn, as upstream does.
    /// The list form cannot fail: each element is a single atom.
    pub fn parse(&self) -> Result<Check, ParseError> {
        match self {
            RuleSpec::Text(text) => parse(text),
            RuleSpec::List(list) => Ok(parse_list(list)),
        }
    }

    /// Whether any atom of the rule is an `http:`/`https:` check, even in
    /// a check string that fails to parse: such a rule would call out to a
    /// remote server upstream, which this implementation refuses to fake.
    pub fn mentions_remote_check(&self) -> bool {
        match self {
            RuleSpec::Text(text) => tokenize(text)
                .iter()
                .any(|token| matches!(token, Token::Atom(Check::Remote { .. }))),
            RuleSpec::List(list) => list
                .iter()
                .flatten()
                .any(|atom| matches!(parse_atom(atom), Check::Remote { .. })),
        }
    }
}

/// A rule's value in a policy file: a string, a list, or nothing.
///
/// NOTE(upstream): numbers, booleans and mappings are refused, so the file
/// does not load. oslo crashes on most of them, but reads `false` and `0`
/// as an empty list, which always passes; a rule that opens everything by
/// a typo is not worth copying.
impl<'de> serde::Deserialize<'de> for RuleSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RuleSpecVisitor)
    }
}

struct RuleSpecVisitor;

impl<'de> serde::de::Visitor<'de> for RuleSpecVisitor {
    type Value = RuleSpec;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a check string or a list of lists of check strings")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RuleSpec, E> {
        Ok(RuleSpec::Text(v.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<RuleSpec, E> {
        Ok(RuleSpec::Text(v))
    }

    // NOTE(upstream): a rule with no value (`"name":` in YAML) is Python's
    // None, which oslo's list parser reads as an empty list: always true.
    fn visit_unit<E: serde::de::Error>(self) -> Result<RuleSpec, E> {
        Ok(RuleSpec::List(Vec::new()))
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<RuleSpec, E> {
        Ok(RuleSpec::List(Vec::new()))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<RuleSpec, A::Error> {
        let mut outer = Vec::new();
        while let Some(inner) = seq.next_element::<InnerList>()? {
            outer.push(inner.0);
        }
        Ok(RuleSpec::List(outer))
    }
}

/// One element of the outer list: a list of atoms, or a bare atom.
struct InnerList(Vec<String>);

impl<'de> serde::Deserialize<'de> for InnerList {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = InnerList;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of check strings")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<InnerList, E> {
                Ok(InnerList(vec![v.to_owned()]))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<InnerList, A::Error> {
                let mut atoms = Vec::new();
                while let Some(atom) = seq.next_element::<String>()? {
                    atoms.push(atom);
                }
                Ok(InnerList(atoms))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Parses a check string.
///
/// # Errors
/// [`ParseError`] when the tokens do not reduce to a single check
/// (`role:a role:b`, `role:a and`, `( role:a`, a quoted token, whitespace
/// only) or nest deeper than any real policy does.
pub fn parse(text: &str) -> Result<Check, ParseError> {
    // NOTE(upstream): only the truly empty string is "always"; a string of
    // blanks yields no tokens and fails to parse, so it denies.
    if text.is_empty() {
        return Ok(Check::True);
    }
    let tokens = tokenize(text);
    let mut parser = Parser {
        tokens: &tokens,
        pos: 0,
    };
    let fail = || ParseError(text.to_owned());
    let check = parser.or_expr(0).ok_or_else(fail)?;
    if parser.pos != tokens.len() {
        return Err(fail());
    }
    Ok(check)
}

/// Translates the list-of-lists form: inner lists and-ed, the outer list
/// or-ed, every element a single atom. `[]` passes; a list whose inner
/// lists are all empty (`[[]]`) never does, as upstream has it.
pub fn parse_list(list: &[Vec<String>]) -> Check {
    if list.is_empty() {
        return Check::True;
    }
    let mut any: Vec<Check> = list
        .iter()
        .filter(|inner| !inner.is_empty())
        .map(|inner| {
            let mut all: Vec<Check> = inner.iter().map(|atom| parse_atom(atom)).collect();
            if all.len() == 1 {
                all.remove(0)
            } else {
                Check::And(all)
            }
        })
        .collect();
    match any.len() {
        0 => Check::False,
        1 => any.remove(0),
        _ => Check::Or(any),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Not,
    /// A quoted token: the language has no use for one, so it fails the parse.
    Quoted,
    Atom(Check),
}

/// oslo's tokenizer: split on whitespace, peel leading `(` and trailing `)`
/// off each piece, recognise the keywords in any case.
fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    for piece in text.split_whitespace() {
        let clean = piece.trim_start_matches('(');
        tokens.extend(std::iter::repeat_n(Token::Open, piece.len() - clean.len()));
        if clean.is_empty() {
            continue;
        }
        let tok = clean;
        let clean = tok.trim_end_matches(')');
        let trail = tok.len() - clean.len();
        match clean.to_lowercase().as_str() {
            "and" => tokens.push(Token::And),
            "or" => tokens.push(Token::Or),
            "not" => tokens.push(Token::Not),
            _ if clean.is_empty() => {}
            // Upstream tests the quotes on the token before the trailing
            // parentheses come off, so `'a')` is an atom, not a string.
            _ if tok.len() >= 2
                && ((tok.starts_with('"') && tok.ends_with('"'))
                    || (tok.starts_with('\'') && tok.ends_with('\''))) =>
            {
                tokens.push(Token::Quoted);
            }
            _ => tokens.push(Token::Atom(parse_atom(clean))),
        }
        tokens.extend(std::iter::repeat_n(Token::Close, trail));
    }
    tokens
}

/// One atom: `@`, `!`, or `kind:match` split at the first colon.
fn parse_atom(atom: &str) -> Check {
    match atom {
        "!" => return Check::False,
        "@" => return Check::True,
        _ => {}
    }
    let Some((kind, rest)) = atom.split_once(':') else {
        return Check::Invalid(atom.to_owned());
    };
    match kind {
        "rule" => Check::Rule(rest.to_owned()),
        "role" => Check::Role(Template::new(rest)),
        "http" | "https" => Check::Remote {
            kind: kind.to_owned(),
            target: rest.to_owned(),
        },
        _ => Check::Generic {
            kind: kind.to_owned(),
            left: match python_literal(kind) {
                Some(text) => Left::Literal(text),
                None => Left::Path(kind.split('.').map(str::to_owned).collect()),
            },
            right: Template::new(rest),
        },
    }
}

struct Parser<'t> {
    tokens: &'t [Token],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn or_expr(&mut self, depth: usize) -> Option<Check> {
        let first = self.and_expr(depth)?;
        let mut any = vec![first];
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            any.push(self.and_expr(depth)?);
        }
        Some(if any.len() == 1 {
            any.remove(0)
        } else {
            Check::Or(any)
        })
    }

    fn and_expr(&mut self, depth: usize) -> Option<Check> {
        let first = self.not_expr(depth)?;
        let mut all = vec![first];
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            all.push(self.not_expr(depth)?);
        }
        Some(if all.len() == 1 {
            all.remove(0)
        } else {
            Check::And(all)
        })
    }

    fn not_expr(&mut self, depth: usize) -> Option<Check> {
        if depth > MAX_NESTING {
            return None;
        }
        match self.peek()? {
            Token::Not => {
                self.pos += 1;
                Some(Check::Not(Box::new(self.not_expr(depth + 1)?)))
            }
            Token::Open => {
                self.pos += 1;
                let inner = self.or_expr(depth + 1)?;
                if self.peek() != Some(&Token::Close) {
                    return None;
                }
                self.pos += 1;
                Some(inner)
            }
            Token::Atom(check) => {
                let check = check.clone();
                self.pos += 1;
                Some(check)
            }
            Token::Close | Token::And | Token::Or | Token::Quoted => None,
        }
    }
}

/// What `ast.literal_eval(text)` followed by `str()` gives, for the literals
/// a check's left side can hold (it never contains blanks): `True`, `False`,
/// `None`, quoted strings without escapes, integers and floats. `None` for
/// anything else, which is then a path into the credentials.
fn python_literal(text: &str) -> Option<String> {
    match text {
        "True" | "False" | "None" => return Some(text.to_owned()),
        _ => {}
    }
    for quote in ['\'', '"'] {
        if let Some(inner) = text
            .strip_prefix(quote)
            .and_then(|rest| rest.strip_suffix(quote))
        {
            if text.len() >= 2 && !inner.contains(quote) && !inner.contains('\\') {
                return Some(inner.to_owned());
            }
            return None;
        }
    }
    let (negative, unsigned) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if let Some(int) = python_int(unsigned) {
        // -0 is plain 0 in Python.
        return Some(if negative && int != "0" {
            format!("-{int}")
        } else {
            int
        });
    }
    let float = python_float(unsigned)?;
    // -0.0 keeps its sign.
    Some(if negative { format!("-{float}") } else { float })
}

/// An unsigned Python integer literal (decimal, `0x`, `0o`, `0b`, with
/// single underscores between digits) as decimal text.
fn python_int(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.strip_prefix('_').unwrap_or(d))
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.strip_prefix('_').unwrap_or(d))
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.strip_prefix('_').unwrap_or(d))
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c == '_' || c.is_digit(radix))
    {
        return None;
    }
    let digits: String = digits.chars().filter(|&c| c != '_').collect();
    if radix == 10 {
        // Python 3 refuses leading zeros on a non-zero decimal.
        let trimmed = digits.trim_start_matches('0');
        if trimmed.is_empty() {
            return Some("0".to_owned());
        }
        if trimmed.len() != digits.len() {
            return None;
        }
        return Some(digits);
    }
    u128::from_str_radix(&digits, radix)
        .ok()
        .map(|n| n.to_string())
}

/// An unsigned Python float literal as Python's `str()` prints it.
fn python_float(text: &str) -> Option<String> {
    if text.contains("__") || text.starts_with('_') || text.ends_with('_') {
        return None;
    }
    let plain: String = text.chars().filter(|&c| c != '_').collect();
    let (mantissa, exponent) = match plain.find(['e', 'E']) {
        Some(at) => (&plain[..at], Some(&plain[at + 1..])),
        None => (plain.as_str(), None),
    };
    let mantissa_ok = {
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        (!int.is_empty() || !frac.is_empty())
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit())
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    });
    if !mantissa_ok || !exponent_ok || (exponent.is_none() && !mantissa.contains('.')) {
        return None;
    }
    let value: f64 = plain.parse().ok()?;
    Some(python_float_str(value))
}

/// Python's `repr(float)`: the shortest round-tripping digits, positional
/// for decimal exponents in [-4, 16), scientific (`1e+16`, `1e-05`) outside.
fn python_float_str(value: f64) -> String {
    if value.is_infinite() {
        return "inf".to_owned();
    }
    if value == 0.0 {
        return "0.0".to_owned();
    }
    // `{:e}` gives the shortest round-trip digits, e.g. "1.2345e3".
    let sci = format!("{value:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1;
        if point <= 0 {
            let zeros = "0".repeat(usize::try_from(-point).unwrap_or(0));
            format!("0.{zeros}{digits}")
        } else {
            let point = usize::try_from(point).unwrap_or(0);
            if digits.len() <= point {
                format!("{digits}{}.0", "0".repeat(point - digits.len()))
            } else {
                format!("{}.{}", &digits[..point], &digits[point..])
            }
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

impl Template {
    /// Reads `text` as a `%`-format string. Only `%(key)s` and `%%` are
    /// understood; any other conversion leaves the template unusable, and
    /// every check using it false.
    pub fn new(text: &str) -> Self {
        Self {
            source: text.to_owned(),
            pieces: parse_template(text),
        }
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The formatted text, or `None` when a key is missing from the target
    /// (or the template is unusable). A `None` value formats as `"None"`.
    pub fn render<'s>(&'s self, target: &Target) -> Option<Cow<'s, str>> {
        let pieces = self.pieces.as_ref()?;
        if let [Piece::Text(text)] = pieces.as_slice() {
            return Some(Cow::Borrowed(text));
        }
        let mut out = String::new();
        for piece in pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Key(key) => match target.0.get(key)? {
                    Some(value) => out.push_str(value),
                    None => out.push_str("None"),
                },
            }
        }
        Some(Cow::Owned(out))
    }
}

fn parse_template(text: &str) -> Option<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('%') {
        literal.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('%') {
            literal.push('%');
            rest = tail;
            continue;
        }
        let inner = after.strip_prefix('(')?;
        // Python lets the key hold balanced parentheses.
        let mut level = 1usize;
        let mut close = None;
        for (i, c) in inner.char_indices() {
            match c {
                '(' => level += 1,
                ')' => {
                    level -= 1;
                    if level == 0 {
                        close = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let close = close?;
        let tail = inner[close + 1..].strip_prefix('s')?;
        if !literal.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut literal)));
        }
        pieces.push(Piece::Key(inner[..close].to_owned()));
        rest = tail;
    }
    literal.push_str(rest);
    if !literal.is_empty() || pieces.is_empty() {
        pieces.push(Piece::Text(literal));
    }
    Some(pieces)
}

/// A credential as oslo's dictionary would hold it.
enum CredValue<'a> {
    Text(&'a str),
    None,
    Bool(bool),
    List(&'a [String]),
}

impl Credentials {
    /// The credential oslo.policy would find under `key`, as upstream's
    /// `to_policy_values()` lays them out (plus `system`, which the
    /// enforcer copies from a non-empty `system_scope`). `is_admin` is
    /// deliberately absent, as it is upstream.
    fn value(&self, key: &str) -> Option<CredValue<'_>> {
        fn text(v: &Option<String>) -> CredValue<'_> {
            match v {
                Some(s) => CredValue::Text(s),
                None => CredValue::None,
            }
        }
        Some(match key {
            "user_id" => text(&self.user_id),
            "user_domain_id" => text(&self.user_domain_id),
            "system_scope" => text(&self.system_scope),
            "system" => match self.system_scope.as_deref() {
                Some(scope) if !scope.is_empty() => CredValue::Text(scope),
                _ => return None,
            },
            "domain_id" => text(&self.domain_id),
            "project_id" => text(&self.project_id),
            "project_domain_id" => text(&self.project_domain_id),
            "roles" => CredValue::List(&self.roles),
            "is_admin_project" => CredValue::Bool(self.is_admin_project),
            "service_user_id" => text(&self.service_user_id),
            "service_user_domain_id" => text(&self.service_user_domain_id),
            "service_project_id" => text(&self.service_project_id),
            "service_project_domain_id" => text(&self.service_project_domain_id),
            "service_roles" => CredValue::List(&self.service_roles),
            _ => return None,
        })
    }
}

/// Upstream's `_find_in_dict`: follow `path` from the credentials' top
/// level and compare what is there, as text, with `want`; a list matches
/// when any element does.
fn path_matches(creds: &Credentials, path: &[String], want: &str) -> bool {
    let Some((key, rest)) = path.split_first() else {
        return false;
    };
    let Some(value) = creds.value(key) else {
        return false;
    };
    // Credentials are flat: a path that goes deeper walks into a string,
    // which raises upstream.
    if !rest.is_empty() {
        return false;
    }
    match value {
        CredValue::Text(s) => s == want,
        CredValue::None => want == "None",
        CredValue::Bool(true) => want == "True",
        CredValue::Bool(false) => want == "False",
        CredValue::List(items) => items.iter().any(|item| item == want),
    }
}

/// What a `rule:` reference needs from the rule set it is evaluated in.
pub(crate) trait Resolve {
    /// The check a `rule:NAME` reference reaches, with the default-rule
    /// fallback applied, and the name actually used.
    fn resolve(&self, name: &str) -> Option<(&str, &Check)>;
}

/// Evaluation state: where `rule:` goes, the rules being evaluated on the
/// way here, and how deep the evaluation has gone.
///
/// A cycle, or nesting deeper than [`MAX_EVAL_DEPTH`], aborts the whole
/// evaluation as a denial rather than making one reference false: under a
/// `not`, a false reference would grant. Upstream recurses until Python's
/// recursion limit and answers 500, so nothing passes there either.
pub(crate) struct Eval<'a, R: Resolve> {
    pub(crate) rules: &'a R,
    pub(crate) target: &'a Target,
    pub(crate) creds: &'a Credentials,
    pub(crate) active: Vec<&'a str>,
    pub(crate) depth: usize,
    pub(crate) aborted: bool,
}

/// How many `not`/`and`/`or`/`rule:` levels one evaluation may descend:
/// far beyond real policies, and small enough for a 2 MiB thread stack
/// (see the test in `rules.rs`).
const MAX_EVAL_DEPTH: usize = 1000;

impl Check {
    /// Evaluates the check; the caller must also read `ev.aborted`, which
    /// turns any outcome into a denial.
    pub(crate) fn eval<'a, R: Resolve>(&'a self, ev: &mut Eval<'a, R>) -> bool {
        match self {
            Check::True => true,
            Check::False | Check::Invalid(_) | Check::Remote { .. } => false,
            Check::Role(template) => {
                let Some(role) = template.render(ev.target) else {
                    return false;
                };
                let role = role.to_lowercase();
                ev.creds
                    .roles
                    .iter()
                    .any(|have| have.to_lowercase() == role)
            }
            Check::Generic { left, right, .. } => {
                let Some(want) = right.render(ev.target) else {
                    return false;
                };
                match left {
                    Left::Literal(text) => *text == want,
                    Left::Path(path) => path_matches(ev.creds, path, &want),
                }
            }
            Check::Rule(_) | Check::Not(_) | Check::And(_) | Check::Or(_) => {
                if ev.aborted || ev.depth >= MAX_EVAL_DEPTH {
                    ev.aborted = true;
                    return false;
                }
                ev.depth += 1;
                let passed = self.eval_nested(ev);
                ev.depth -= 1;
                passed && !ev.aborted
            }
        }
    }

    fn eval_nested<'a, R: Resolve>(&'a self, ev: &mut Eval<'a, R>) -> bool {
        match self {
            Check::Rule(name) => {
                let Some((name, check)) = ev.rules.resolve(name) else {
                    return false;
                };
                if ev.active.contains(&name) {
                    ev.aborted = true;
                    return false;
                }
                ev.active.push(name);
                let passed = check.eval(ev);
                ev.active.pop();
                passed
            }
            Check::Not(inner) => {
                let passed = inner.eval(ev);
                !ev.aborted && !passed
            }
            Check::And(all) => all.iter().all(|c| c.eval(ev) && !ev.aborted),
            Check::Or(any) => {
                for check in any {
                    let passed = check.eval(ev);
                    if ev.aborted {
                        return false;
                    }
                    if passed {
                        return true;
                    }
                }
                false
            }
            // Only the four variants above are nested.
            _ => false,
        }
    }

    /// Every `rule:` name this check refers to, for the load-time checks
    /// for undefined references and cycles.
    pub fn referenced_rules(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_rules(&mut out);
        out
    }

    fn collect_rules<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Check::Rule(name) => out.push(name),
            Check::Not(inner) => inner.collect_rules(out),
            Check::And(list) | Check::Or(list) => {
                for check in list {
                    check.collect_rules(out);
                }
            }
            _ => {}
        }
    }

    /// The atoms oslo could not read (no colon), for a load-time warning.
    pub fn invalid_atoms(&self) -> Vec<&str> {
        match self {
            Check::Invalid(atom) => vec![atom.as_str()],
            Check::Not(inner) => inner.invalid_atoms(),
            Check::And(list) | Check::Or(list) => {
                list.iter().flat_map(Check::invalid_atoms).collect()
            }
            _ => Vec::new(),
        }
    }
}

/// The check written back in oslo's notation (`(a or b)`, `not c`), as
/// upstream's `str()` of a check prints it; used in logs.
impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |f: &mut fmt::Formatter<'_>, list: &[Check], op: &str| {
            f.write_str("(")?;
            for (i, check) in list.iter().enumerate() {
                if i > 0 {
                    write!(f, " {op} ")?;
                }
                write!(f, "{check}")?;
            }
            f.write_str(")")
        };
        match self {
            Check::True => f.write_str("@"),
            Check::False | Check::Invalid(_) => f.write_str("!"),
            Check::Rule(name) => write!(f, "rule:{name}"),
            Check::Role(t) => write!(f, "role:{}", t.as_str()),
            Check::Remote { kind, target } => write!(f, "{kind}:{target}"),
            Check::Generic { kind, right, .. } => write!(f, "{kind}:{}", right.as_str()),
            Check::Not(inner) => write!(f, "not {inner}"),
            Check::And(list) => join(f, list, "and"),
            Check::Or(list) => join(f, list, "or"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    use crate::policy::RuleSet;

    fn creds(roles: &[&str]) -> Credentials {
        Credentials {
            user_id: Some("u1".into()),
            project_id: Some("p1".into()),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            is_admin_project: true,
            ..Credentials::default()
        }
    }

    fn target() -> Target {
        Target::new()
            .with("project_id", Some("p1".into()))
            .with("user_id", Some("u1".into()))
            .with("role_name", Some("Reader".into()))
            .with("nothing", None)
            .with("user.enabled", Some("True".into()))
    }

    /// Evaluates `text` as the only file rule.
    fn passes_with(text: &str, target: &Target, creds: &Credentials) -> bool {
        let (set, _) = RuleSet::build(
            &[("under_test".to_owned(), RuleSpec::Text(text.to_owned()))],
            true,
            "default",
        );
        set.check("under_test", target, creds)
    }

    fn passes(text: &str, roles: &[&str]) -> bool {
        passes_with(text, &target(), &creds(roles))
    }

    #[test]
    fn at_sign_empty_string_and_empty_list_always_pass_and_bang_never_does() {
        assert!(passes("@", &[]));
        assert!(passes("", &[]));
        assert_eq!(parse_list(&[]), Check::True);
        assert!(!passes("!", &["admin"]));
    }

    #[test]
    fn a_string_of_blanks_fails_to_parse_and_denies() {
        assert!(parse("   ").is_err());
        assert!(!passes("  ", &["admin"]));
    }

    #[test]
    fn role_checks_ignore_case_and_need_a_role() {
        assert!(passes("role:admin", &["Admin"]));
        assert!(passes("role:ADMIN", &["admin"]));
        assert!(!passes("role:admin", &["reader"]));
        assert!(!passes("role:admin", &[]));
    }

    #[test]
    fn role_names_are_formatted_from_the_target_and_a_missing_key_is_false() {
        assert!(passes("role:%(role_name)s", &["reader"]));
        assert!(!passes("role:%(absent)s", &["reader"]));
    }

    #[test]
    fn generic_checks_compare_a_credential_with_the_formatted_right_side() {
        assert!(passes("project_id:%(project_id)s", &[]));
        assert!(passes("user_id:u1", &[]));
        assert!(!passes("user_id:U1", &[]), "case-sensitive");
        assert!(!passes("project_id:%(absent)s", &[]));
        let other = Target::new().with("project_id", Some("p2".into()));
        assert!(!passes_with(
            "project_id:%(project_id)s",
            &other,
            &creds(&[])
        ));
    }

    #[test]
    fn none_on_both_sides_matches_as_python_formats_it() {
        let anonymous = Credentials::default();
        let none = Target::new().with("project_id", None);
        assert!(passes_with("project_id:%(project_id)s", &none, &anonymous));
        assert!(passes_with("project_id:None", &Target::new(), &anonymous));
        assert!(!passes_with(
            "project_id:%(project_id)s",
            &none,
            &creds(&[])
        ));
    }

    #[test]
    fn list_credentials_are_searched_element_by_element() {
        assert!(passes("roles:admin", &["reader", "admin"]));
        assert!(
            !passes("roles:Admin", &["admin"]),
            "case-sensitive, unlike role:"
        );
        let service = Credentials {
            service_roles: vec!["service".into()],
            ..Credentials::default()
        };
        assert!(passes_with(
            "service_roles:service",
            &Target::new(),
            &service
        ));
    }

    #[test]
    fn booleans_format_as_python_does_and_is_admin_is_not_a_credential() {
        assert!(passes("is_admin_project:True", &[]));
        let not_admin_project = Credentials {
            is_admin_project: false,
            ..Credentials::default()
        };
        assert!(passes_with(
            "is_admin_project:False",
            &Target::new(),
            &not_admin_project
        ));
        assert!(!passes("is_admin:True", &["admin"]));
        assert!(!passes("is_admin:False", &["admin"]));
    }

    #[test]
    fn system_is_a_copy_of_a_non_empty_system_scope() {
        let system = Credentials {
            system_scope: Some("all".into()),
            ..Credentials::default()
        };
        assert!(passes_with("system:all", &Target::new(), &system));
        assert!(passes_with("system_scope:all", &Target::new(), &system));
        assert!(!passes_with(
            "system:None",
            &Target::new(),
            &Credentials::default()
        ));
        assert!(passes_with(
            "system_scope:None",
            &Target::new(),
            &Credentials::default()
        ));
    }

    #[test]
    fn dotted_paths_cannot_walk_into_flat_credentials_and_unknown_keys_are_false() {
        assert!(!passes("user_id.name:u1", &[]));
        assert!(!passes("roles.name:admin", &["admin"]));
        assert!(!passes("token:secret", &[]));
    }

    #[test]
    fn literal_left_sides_compare_their_python_text_with_the_right_side() {
        assert!(passes("True:%(user.enabled)s", &[]));
        assert!(!passes("False:%(user.enabled)s", &[]));
        assert!(passes("'Reader':%(role_name)s", &[]));
        assert!(passes("\"Reader\":%(role_name)s", &[]));
        assert!(passes("None:%(nothing)s", &[]));
        assert!(passes("20:20", &[]));
        assert!(passes("0x10:16", &[]));
        assert!(passes("1_000:1000", &[]));
        assert!(passes("-0:0", &[]));
        assert!(passes("1.5:1.5", &[]));
        assert!(passes("1e3:1000.0", &[]));
        assert!(passes("1e16:1e+16", &[]));
        assert!(passes("0.00001:1e-05", &[]));
        assert!(passes("-0.0:-0.0", &[]));
        assert!(!passes("True:False", &[]));
    }

    #[test]
    fn python_literals_print_as_str_would() {
        for (literal, text) in [
            ("True", Some("True")),
            ("'a b'", None),
            ("'x'", Some("x")),
            ("007", None),
            ("00", Some("0")),
            ("0o17", Some("15")),
            ("0b101", Some("5")),
            ("+7", Some("7")),
            ("-12", Some("-12")),
            ("5.", Some("5.0")),
            (".25", Some("0.25")),
            ("1234.5e-2", Some("12.345")),
            ("1e15", Some("1000000000000000.0")),
            ("0.0001", Some("0.0001")),
            ("1e999", Some("inf")),
            ("project_id", None),
            ("user.enabled", None),
            ("1__0", None),
        ] {
            let got = python_literal(literal);
            // A quoted string with a blank cannot reach here (tokens never
            // hold blanks) but it still reads as a literal.
            if literal == "'a b'" {
                assert_eq!(got.as_deref(), Some("a b"));
                continue;
            }
            assert_eq!(got.as_deref(), text, "{literal}");
        }
    }

    #[test]
    fn not_binds_tighter_than_and_which_binds_tighter_than_or() {
        // a or (b and c)
        assert!(passes("role:a or role:b and role:c", &["a"]));
        assert!(!passes("role:a or role:b and role:c", &["b"]));
        // (not a) and b
        assert!(passes("not role:a and role:b", &["b"]));
        assert!(!passes("not role:a and role:b", &["a", "b"]));
        // (a and b) or (c and d)
        assert!(passes(
            "role:a and role:b or role:c and role:d",
            &["c", "d"]
        ));
        assert_eq!(
            parse("role:a or role:b and not role:c").map(|c| c.to_string()),
            Ok("(role:a or (role:b and not role:c))".to_owned())
        );
    }

    #[test]
    fn parentheses_group_even_when_glued_to_their_atoms() {
        assert!(passes("(role:a or role:b) and role:c", &["b", "c"]));
        assert!(!passes("(role:a or role:b) and role:c", &["b"]));
        assert!(passes("((role:a) or (role:b))", &["b"]));
        assert!(passes("( role:a )", &["a"]));
        assert!(passes("not (role:a and role:b)", &["a"]));
        assert_eq!(
            parse("(role:a and role:b) and role:c").map(|c| c.to_string()),
            Ok("((role:a and role:b) and role:c)".to_owned())
        );
    }

    #[test]
    fn keywords_are_case_insensitive() {
        assert!(passes("role:a OR role:b", &["b"]));
        assert!(!passes("role:a And role:b", &["a"]));
        assert!(passes("NOT role:a", &["b"]));
    }

    #[test]
    fn check_kinds_are_case_sensitive() {
        assert!(
            !passes("Role:admin", &["admin"]),
            "a generic check on a credential named Role"
        );
    }

    #[test]
    fn a_token_without_a_colon_is_false_but_the_rule_still_parses() {
        assert_eq!(parse("admin"), Ok(Check::Invalid("admin".into())));
        assert!(passes("admin or role:a", &["a"]));
        assert!(!passes("admin and role:a", &["a"]));
    }

    #[test]
    fn token_streams_that_do_not_reduce_to_one_check_fail_to_parse_and_deny() {
        for bad in [
            "role:a role:b",
            "role:a and",
            "or role:a",
            "(role:a",
            "role:a)",
            "()",
            "not",
            "role:a and 'quoted'",
            "\"quoted\"",
            "role:a (role:b)",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
            assert!(!passes(bad, &["a", "b"]), "{bad:?}");
        }
    }

    #[test]
    fn a_quote_before_a_closing_parenthesis_is_an_atom_not_a_string() {
        // `'a')` is not a quoted token (its last character is `)`), so it
        // parses: `'a'` is an atom without a colon.
        assert_eq!(
            parse("(role:b or 'a')").map(|c| c.to_string()),
            Ok("(role:b or !)".to_owned())
        );
    }

    #[test]
    fn absurdly_deep_nesting_fails_to_parse_instead_of_exhausting_the_stack() {
        let deep = format!("{}role:a{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(parse(&deep).is_err());
        let nots = format!("{}role:a", "not ".repeat(100_000));
        assert!(parse(&nots).is_err());
        let fine = format!("{}role:a{}", "(".repeat(50), ")".repeat(50));
        assert!(passes(&fine, &["a"]));
    }

    #[test]
    fn the_list_form_ands_inner_lists_and_ors_the_outer_one() {
        let rule = |list: &[&[&str]]| {
            RuleSpec::List(
                list.iter()
                    .map(|inner| inner.iter().map(|s| (*s).to_owned()).collect())
                    .collect(),
            )
        };
        let spec = rule(&[&["role:a", "role:b"], &["role:c"]]);
        assert_eq!(
            spec.parse().map(|c| c.to_string()),
            Ok("((role:a and role:b) or role:c)".to_owned())
        );
        assert_eq!(rule(&[]).parse(), Ok(Check::True));
        assert_eq!(rule(&[&[]]).parse(), Ok(Check::False));
        assert_eq!(rule(&[&[], &["role:a"]]).parse(), Ok(parse_atom("role:a")));
        // Each element is one atom: operators are not read inside.
        assert_eq!(
            rule(&[&["role:a or role:b"]]).parse(),
            Ok(Check::Role(Template::new("a or role:b")))
        );
    }

    #[test]
    fn remote_checks_are_recognised_even_in_rules_that_do_not_parse() {
        assert!(RuleSpec::Text("http://example.invalid/%(x)s".into()).mentions_remote_check());
        assert!(RuleSpec::Text("role:a or (https://h/x".into()).mentions_remote_check());
        assert!(RuleSpec::List(vec![vec!["https://h".into()]]).mentions_remote_check());
        assert!(!RuleSpec::Text("role:http".into()).mentions_remote_check());
        assert!(!passes("http://example.invalid/", &["admin"]));
    }

    #[test]
    fn templates_understand_only_named_string_conversions_and_doubled_percent() {
        let t = target();
        let render = |text: &str| Template::new(text).render(&t).map(Cow::into_owned);
        assert_eq!(render("%(project_id)s-%(user_id)s"), Some("p1-u1".into()));
        assert_eq!(render("100%%"), Some("100%".into()));
        assert_eq!(render("%(nothing)s"), Some("None".into()));
        assert_eq!(render("plain"), Some("plain".into()));
        assert_eq!(render(""), Some(String::new()));
        assert_eq!(render("50%"), None);
        assert_eq!(render("%s"), None);
        assert_eq!(render("%(project_id)d"), None);
        assert_eq!(render("%(project_id"), None);
    }

    #[test]
    fn rule_specs_deserialize_from_strings_lists_and_nothing() {
        let specs: BTreeMap<String, RuleSpec> = serde_json::from_str(
            r#"{"a": "role:x", "b": [["role:y", "role:z"], "role:w"], "c": null, "d": []}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(specs["a"], RuleSpec::Text("role:x".into()));
        assert_eq!(
            specs["b"],
            RuleSpec::List(vec![
                vec!["role:y".into(), "role:z".into()],
                vec!["role:w".into()]
            ])
        );
        assert_eq!(
            specs["c"].parse(),
            Ok(Check::True),
            "None reads as an empty list upstream"
        );
        assert_eq!(specs["d"].parse(), Ok(Check::True));
        assert!(serde_json::from_str::<RuleSpec>("5").is_err());
        assert!(serde_json::from_str::<RuleSpec>("true").is_err());
        assert!(serde_json::from_str::<RuleSpec>("[[1]]").is_err());
    }
}
