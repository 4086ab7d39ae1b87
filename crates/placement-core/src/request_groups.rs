//! The request language of `GET /resource_providers` and
//! `GET /allocation_candidates`: `resources`, `required`, `member_of` and
//! `in_tree` (each optionally suffixed into a granular group), plus the
//! request-wide `limit`, `group_policy`, `root_required` and
//! `same_subtree`.
//!
//! Upstream spreads these rules over `lib.py` (`RequestGroup`,
//! `RequestWideParams`) and `util.py` (`normalize_*_qs_param(s)`); here they
//! are one parser that turns the query string's (key, value) pairs, in
//! order, into typed values. It runs after the HTTP layer's JSON-schema
//! check of the query string, and in upstream's order:
//! request-wide parameters, then each group key in query-string order, then
//! the group-structure checks, the forbidden-trait conflict check and the
//! `group_policy` presence check.
//!
//! What a microversion enables arrives as [`Capabilities`], a plain set of
//! flags the HTTP layer derives from the version, so nothing here (and
//! nothing in the store) ever sees a microversion. Every failure is a
//! [`QueryError`] whose `Display` is upstream's exact 400 text and whose
//! [`QueryError::code`] is upstream's error code.
//!
//! Names (classes, traits) and aggregate UUIDs are kept as the client
//! spelled them: upstream resolves them later, lazily, and compares the raw
//! strings, so an unknown or oddly written name is not a parse error.

use std::collections::BTreeSet;

use crate::candidates::model::{GroupPolicy, NamedGroup, NamedRequest};
use crate::pyrepr::str_repr;
use crate::resource_provider::{parse_uuid_like, ProviderFilter};

/// What the requested microversion allows, as flags. The HTTP layer derives
/// them from the version; the parser never sees the version itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "each flag is one independent microversion gate"
)]
pub struct Capabilities {
    /// 1.22: `!TRAIT` in `required` (and the conflict check).
    pub forbidden_traits: bool,
    /// 1.24: `member_of` may be repeated (the sets are ANDed).
    pub multiple_member_of: bool,
    /// 1.32: `member_of=!uuid` and `member_of=!in:a,b`.
    pub forbidden_aggregates: bool,
    /// 1.33: suffixes are `[a-zA-Z0-9_-]{1,64}`, not only `[1-9][0-9]*`.
    pub verbose_suffixes: bool,
    /// 1.36: resourceless groups (tied by `same_subtree`) replace the
    /// orphan checks.
    pub resourceless_groups: bool,
    /// 1.39: `required=in:A,B` and repeated `required` keys (ANDed).
    pub any_traits: bool,
}

/// Upstream's error codes for query-string failures
/// (`placement/errors.py`); most 400s here carry none, which the API
/// renders as `placement.undefined_code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryErrorCode {
    /// `placement.query.duplicate_key`.
    DuplicateKey,
    /// `placement.query.bad_value`.
    BadValue,
    /// `placement.query.missing_value`.
    MissingValue,
    /// No specific code (`placement.undefined_code`).
    Undefined,
}

/// Why a query string is refused, one variant per upstream 400; `Display`
/// is upstream's text byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// `resources` is empty or only whitespace.
    #[error(
        "Badly formed resources parameter. Expected resources query string parameter in \
         form: ?resources=VCPU:2,MEMORY_MB:1024. Got: empty string."
    )]
    ResourcesEmpty,
    /// A `resources` item is not exactly `NAME:AMOUNT`.
    #[error(
        "Badly formed resources parameter. Expected resources query string parameter in \
         form: ?resources=VCPU:2,MEMORY_MB:1024. Got: {0}."
    )]
    ResourcesBadlyFormed(String),
    /// An amount Python's `int()` refuses.
    #[error("Requested resource {class} expected positive integer amount. Got: {amount}.")]
    AmountNotInteger {
        /// The class as written.
        class: String,
        /// The amount as written.
        amount: String,
    },
    /// An amount below 1, printed as Python prints the int.
    #[error("Requested resource {class} requires amount >= 1. Got: {amount}.")]
    AmountTooSmall {
        /// The class as written.
        class: String,
        /// The amount in canonical decimal form.
        amount: String,
    },
    /// An empty trait in a plain `required` value (or in `root_required`).
    #[error(
        "Invalid query string parameters: Expected 'required' parameter value of the form: \
         {}. Got an empty trait in: {value}",
        if *.allow_forbidden { "HW_CPU_X86_VMX,!CUSTOM_MAGIC" } else { "HW_CPU_X86_VMX,CUSTOM_MAGIC" }
    )]
    RequiredEmptyTrait {
        /// Whether `!` was allowed (changes the example in the text).
        allow_forbidden: bool,
        /// The value as written.
        value: String,
    },
    /// `!TRAIT` before 1.22.
    #[error(
        "Invalid query string parameters: Expected 'required' parameter value of the form: \
         HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: {0}"
    )]
    ForbiddenTraitsUnsupported(String),
    /// `in:` before 1.39 (and always in `root_required`).
    #[error(
        "Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' only \
         supported since microversion 1.39. Got: {0}"
    )]
    AnyTraitsUnsupported(String),
    /// An empty trait after `in:`.
    #[error(
        "Invalid query string parameters: Expected 'required' parameter value of the form: \
         in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty trait in: {0}"
    )]
    AnyTraitsEmptyTrait(String),
    /// `!TRAIT` after `in:`.
    #[error(
        "Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' does not \
         support forbidden traits. Got: {0}"
    )]
    AnyTraitsForbidden(String),
    /// `member_of<S>` repeated before 1.24.
    #[error("Multiple member_of{0} parameters are not supported")]
    MultipleMemberOf(String),
    /// A comma in a `member_of` value without `in:` or `!in:`.
    #[error(
        "Multiple values for 'member_of' must be prefixed with the 'in:' or '!in:' keyword \
         using the valid microversion. Got: {0}"
    )]
    MemberOfNeedsIn(String),
    /// `member_of<S>=!…` before 1.32.
    #[error("Forbidden member_of{0} parameters are not supported in the specified microversion")]
    ForbiddenMemberOfUnsupported(String),
    /// A `member_of` item that is not UUID-like.
    #[error(
        "Invalid query string parameters: Expected 'member_of' parameter to contain valid \
         UUID(s). Got: {0}"
    )]
    MemberOfNotUuid(String),
    /// An `in_tree<S>` value that is not UUID-like once stripped.
    #[error(
        "Invalid query string parameters: Expected 'in_tree' parameter to be a format of \
         uuid. Got: {0}"
    )]
    InTreeNotUuid(String),
    /// The first `limit` is not a non-negative integer (the schema only
    /// checks the last one). The text is what upstream's schema prints for
    /// that value when it is the last.
    #[error(
        "Invalid query string parameters: {repr} does not match '^[1-9][0-9]*$'\n\n\
         Failed validating 'pattern' in schema['properties']['limit']:\n    \
         {{'type': ['integer', 'string'],\n     'pattern': '^[1-9][0-9]*$',\n     \
         'minimum': 1,\n     'minLength': 1}}\n\nOn instance['limit']:\n    {repr}",
        repr = str_repr(.0)
    )]
    LimitNotInteger(String),
    /// `root_required` given more than once.
    #[error("Query parameter 'root_required' may be specified only once.")]
    RootRequiredRepeated,
    /// A trait both required and forbidden in `root_required`.
    #[error("Conflicting required and forbidden traits found in root_required: {}", .0.join(", "))]
    RootRequiredConflict(Vec<String>),
    /// An empty suffix in `same_subtree` (the text ends with a space).
    #[error("Empty string (unsuffixed group) can not be specified in `same_subtree` ")]
    SameSubtreeEmpty,
    /// Before 1.36: `required<S>` in a group without resources.
    #[error(
        "All traits parameters must be associated with resources.  Found the following \
         orphaned traits keys: {}",
        .0.join(", ")
    )]
    OrphanedTraits(Vec<String>),
    /// Before 1.36: `member_of<S>` in a group without resources.
    #[error(
        "All member_of parameters must be associated with resources. Found the following \
         orphaned member_of keys: {}",
        .0.join(", ")
    )]
    OrphanedMemberOf(Vec<String>),
    /// Before 1.36: a group with neither resources nor an orphan key.
    #[error("All request groups must specify resources.")]
    GroupWithoutResources,
    /// Before 1.36: no group at all.
    #[error("At least one request group (`resources` or `resources{{$S}}`) is required.")]
    NoGroups,
    /// From 1.36: every group (or no group) lacks resources.
    #[error("There must be at least one resources or resources[$S] parameter.")]
    NoResources,
    /// From 1.36: resourceless groups missing from `same_subtree`.
    #[error(
        "Resourceless suffixed group request should be specified in `same_subtree` query \
         param: bad group(s) - {}.",
        py_list_repr(.0)
    )]
    ResourcelessNotInSameSubtree(Vec<String>),
    /// From 1.36: `same_subtree` names suffixes no group has.
    #[error(
        "Real suffixes should be specified in `same_subtree`: {} not found in {}.",
        py_list_repr(.unknown),
        py_list_repr(.known)
    )]
    SameSubtreeUnknownSuffix {
        /// The suffixes named but not present.
        unknown: Vec<String>,
        /// Every group's suffix, in query-string order.
        known: Vec<String>,
    },
    /// From 1.22: an any-of set all of whose traits are forbidden in the
    /// same group; each entry is `required<S>: (A, B)`.
    #[error(
        "Conflicting required and forbidden traits found in the following traits keys: {}",
        .0.join(", ")
    )]
    ConflictingTraits(Vec<String>),
    /// More than one suffixed group and no `group_policy`.
    #[error(
        "The \"group_policy\" parameter is required when specifying more than one \
         \"resources{{N}}\" parameter."
    )]
    GroupPolicyRequired,
}

impl QueryError {
    /// Upstream's error code for this failure.
    #[must_use]
    pub fn code(&self) -> QueryErrorCode {
        match self {
            QueryError::RootRequiredRepeated => QueryErrorCode::DuplicateKey,
            QueryError::RootRequiredConflict(_)
            | QueryError::SameSubtreeEmpty
            | QueryError::ResourcelessNotInSameSubtree(_)
            | QueryError::SameSubtreeUnknownSuffix { .. } => QueryErrorCode::BadValue,
            QueryError::NoResources => QueryErrorCode::MissingValue,
            _ => QueryErrorCode::Undefined,
        }
    }
}

/// One request group as parsed: upstream's `RequestGroup`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestGroup {
    /// `""` for the unsuffixed group, else everything after the prefix
    /// (`resources_NET` → `_NET`, `resources1` → `1`).
    pub suffix: String,
    /// Class names as written and amounts ≥ 1; a class keeps its first
    /// place and its last amount, as a Python dict does.
    pub resources: Vec<(String, i64)>,
    /// Any-of sets of trait names; the sets are ANDed.
    pub required_traits: Vec<BTreeSet<String>>,
    /// Trait names none of which may be present.
    pub forbidden_traits: BTreeSet<String>,
    /// Any-of sets of aggregate UUIDs (as written); the sets are ANDed.
    pub member_of: Vec<BTreeSet<String>>,
    /// Aggregate UUIDs (as written) none of which may be joined.
    pub forbidden_aggs: BTreeSet<String>,
    /// `in_tree<S>`, stripped, as written otherwise.
    pub in_tree: Option<String>,
}

impl RequestGroup {
    fn new(suffix: &str) -> Self {
        RequestGroup {
            suffix: suffix.to_owned(),
            ..RequestGroup::default()
        }
    }

    /// Whether this is the unsuffixed group (upstream's
    /// `use_same_provider=False`).
    #[must_use]
    pub fn is_unsuffixed(&self) -> bool {
        self.suffix.is_empty()
    }
}

/// The parameters that apply to the whole request: upstream's
/// `RequestWideParams`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestWideParams {
    /// `limit`: the first value given (saturating at `usize::MAX`); `None`
    /// when absent or 0.
    pub limit: Option<usize>,
    /// `group_policy`: the first value given, `None` when absent or empty.
    /// A first value that is neither `none` nor `isolate` (possible when a
    /// later one is valid, since the schema checks only the last) acts as
    /// `none`, as upstream only ever tests for `isolate`.
    pub group_policy: Option<GroupPolicy>,
    /// `root_required`: traits the anchor root must have.
    pub root_required: BTreeSet<String>,
    /// `root_required`: traits the anchor root must not have.
    pub root_forbidden: BTreeSet<String>,
    /// `same_subtree`: one entry per key, its suffixes stripped and
    /// de-duplicated in the order written.
    pub same_subtrees: Vec<Vec<String>>,
}

/// A whole `GET /allocation_candidates` query, parsed and checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CandidatesQuery {
    /// Groups in the order their suffix first appears in the query string.
    pub groups: Vec<RequestGroup>,
    /// The request-wide parameters.
    pub params: RequestWideParams,
}

/// The four group prefixes, longest first is not needed: none is a prefix
/// of another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefix {
    Resources,
    Required,
    MemberOf,
    InTree,
}

const PREFIXES: [(&str, Prefix); 4] = [
    ("resources", Prefix::Resources),
    ("required", Prefix::Required),
    ("member_of", Prefix::MemberOf),
    ("in_tree", Prefix::InTree),
];

/// Splits a query key into its group prefix and suffix, as upstream's
/// `_QS_KEY_PATTERN(_1_33)` does; `None` for any other key.
fn split_group_key(key: &str, caps: Capabilities) -> Option<(Prefix, &str)> {
    let (prefix, suffix) = PREFIXES
        .iter()
        .find_map(|(name, prefix)| key.strip_prefix(name).map(|rest| (*prefix, rest)))?;
    let valid = suffix.is_empty()
        || if caps.verbose_suffixes {
            suffix.len() <= 64
                && suffix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        } else {
            suffix
                .as_bytes()
                .first()
                .is_some_and(|b| (b'1'..=b'9').contains(b))
                && suffix.bytes().all(|b| b.is_ascii_digit())
        };
    valid.then_some((prefix, suffix))
}

/// Every value of `key`, in order.
fn values<'a>(pairs: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Parses and checks a `GET /allocation_candidates` query string (already
/// checked against the route's JSON schema) as upstream 16.0.0 does.
///
/// # Errors
/// The first [`QueryError`] upstream would raise, in upstream's order.
pub fn parse_candidates_query(
    pairs: &[(String, String)],
    caps: Capabilities,
) -> Result<CandidatesQuery, QueryError> {
    let params = parse_request_wide_params(pairs)?;
    let groups = parse_groups(pairs, caps, &params)?;
    let suffixed = groups.iter().filter(|g| !g.is_unsuffixed()).count();
    if params.group_policy.is_none() && suffixed > 1 {
        return Err(QueryError::GroupPolicyRequired);
    }
    Ok(CandidatesQuery { groups, params })
}

/// The filters of `GET /resource_providers` (after its schema check), read
/// as upstream's `list_resource_providers` reads them: `member_of`, then
/// `required`, then the last `uuid`, `name`, `in_tree` and `resources`.
/// `uuid` and `in_tree` stay as written: the schema has checked their form.
///
/// # Errors
/// The first [`QueryError`] upstream would raise, in upstream's order.
pub fn parse_provider_filter(
    pairs: &[(String, String)],
    caps: Capabilities,
) -> Result<ProviderFilter, QueryError> {
    let mut filter = ProviderFilter::default();
    let member_of = values(pairs, "member_of");
    if !member_of.is_empty() {
        (filter.member_of, filter.forbidden_aggs) = parse_member_of(&member_of, "", caps)?;
    }
    let required = values(pairs, "required");
    if !required.is_empty() {
        (filter.required_traits, filter.forbidden_traits) = parse_required(&required, caps)?;
    }
    let last = |key: &str| values(pairs, key).last().map(|v| (*v).to_owned());
    filter.uuid = last("uuid");
    filter.name = last("name");
    filter.in_tree = last("in_tree");
    if let Some(resources) = last("resources") {
        filter.resources = parse_resources(&resources)?;
    }
    Ok(filter)
}

/// upstream's `RequestWideParams.from_request`: `limit`, `group_policy`,
/// `root_required` and `same_subtree`, in that order.
///
/// # Errors
/// [`QueryError::LimitNotInteger`], [`QueryError::RootRequiredRepeated`],
/// a trait-format error or [`QueryError::RootRequiredConflict`] for
/// `root_required`, [`QueryError::SameSubtreeEmpty`].
pub fn parse_request_wide_params(
    pairs: &[(String, String)],
) -> Result<RequestWideParams, QueryError> {
    let mut params = RequestWideParams::default();
    if let Some(first) = values(pairs, "limit").first() {
        // The schema validates the last `limit`, upstream uses the first
        // with `int()`: 0 then means no limit.
        // NOTE(upstream): a first value `int()` refuses (`limit=cow&limit=1`)
        // answers 500 upstream and a negative one slices the result from
        // the end; we refuse both with the 400 the schema gives when such
        // a value is the last one.
        let as_int = python_int(first).filter(|digits| !digits.starts_with('-'));
        let Some(digits) = as_int else {
            return Err(QueryError::LimitNotInteger((*first).to_owned()));
        };
        params.limit = match digits.parse::<usize>() {
            Ok(0) => None,
            Ok(n) => Some(n),
            Err(_) => Some(usize::MAX),
        };
    }
    if let Some(first) = values(pairs, "group_policy").first() {
        params.group_policy = match *first {
            "" => None,
            "isolate" => Some(GroupPolicy::Isolate),
            _ => Some(GroupPolicy::None),
        };
    }
    let root_required = values(pairs, "root_required");
    if let Some(value) = root_required.first() {
        if root_required.len() > 1 {
            return Err(QueryError::RootRequiredRepeated);
        }
        // upstream parses root_required with the pre-1.39 rules whatever the
        // microversion: `!` allowed, `in:` refused.
        let (required, forbidden) = parse_traits_value(value, true, false)?;
        let required: BTreeSet<String> = required.into_iter().flatten().collect();
        // NOTE(upstream): upstream joins a Python set, in no defined order;
        // we sort.
        let conflicts: Vec<String> = required.intersection(&forbidden).cloned().collect();
        if !conflicts.is_empty() {
            return Err(QueryError::RootRequiredConflict(conflicts));
        }
        params.root_required = required;
        params.root_forbidden = forbidden;
    }
    for value in values(pairs, "same_subtree") {
        let mut suffixes: Vec<String> = Vec::new();
        for suffix in value.split(',').map(py_strip) {
            if suffix.is_empty() {
                return Err(QueryError::SameSubtreeEmpty);
            }
            if !suffixes.iter().any(|s| s == suffix) {
                suffixes.push(suffix.to_owned());
            }
        }
        params.same_subtrees.push(suffixes);
    }
    Ok(params)
}

/// upstream's `RequestGroup.dict_from_request`: the groups in query-string
/// order, then the structure checks for the microversion, then the
/// forbidden-trait conflict check (from 1.22).
fn parse_groups(
    pairs: &[(String, String)],
    caps: Capabilities,
    params: &RequestWideParams,
) -> Result<Vec<RequestGroup>, QueryError> {
    let mut groups: Vec<RequestGroup> = Vec::new();
    for (index, (key, value)) in pairs.iter().enumerate() {
        let Some((prefix, suffix)) = split_group_key(key, caps) else {
            continue;
        };
        let at = match groups.iter().position(|g| g.suffix == suffix) {
            Some(i) => i,
            None => {
                groups.push(RequestGroup::new(suffix));
                groups.len() - 1
            }
        };
        let group = &mut groups[at];
        let repeat = pairs.iter().position(|(k, _)| k == key) != Some(index);
        match prefix {
            // Each `resources<S>` is parsed in turn; the last one wins.
            Prefix::Resources => group.resources = parse_resources(value)?,
            // `required<S>` and `member_of<S>` read every value of their key
            // at once; upstream re-reads them at each repeat, to the same
            // result, so the first occurrence decides.
            Prefix::Required => {
                if repeat {
                    continue;
                }
                (group.required_traits, group.forbidden_traits) =
                    parse_required(&values(pairs, key), caps)?;
            }
            Prefix::MemberOf => {
                if repeat {
                    continue;
                }
                (group.member_of, group.forbidden_aggs) =
                    parse_member_of(&values(pairs, key), suffix, caps)?;
            }
            Prefix::InTree => group.in_tree = Some(parse_in_tree(value)?),
        }
    }
    if caps.resourceless_groups {
        check_resourceless(&groups, params)?;
    } else {
        check_for_orphans(&groups)?;
    }
    if caps.forbidden_traits {
        check_forbidden(&groups)?;
    }
    Ok(groups)
}

/// From 1.36: at least one group with resources, every resourceless group
/// named in `same_subtree`, every suffix `same_subtree` names present.
fn check_resourceless(
    groups: &[RequestGroup],
    params: &RequestWideParams,
) -> Result<(), QueryError> {
    let resourceless: BTreeSet<&str> = groups
        .iter()
        .filter(|g| g.resources.is_empty())
        .map(|g| g.suffix.as_str())
        .collect();
    if resourceless.len() == groups.len() {
        return Err(QueryError::NoResources);
    }
    let in_subtree: BTreeSet<&str> = params
        .same_subtrees
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    // NOTE(upstream): both lists below come from Python sets, in no
    // defined order; we sort them.
    let bad: Vec<String> = resourceless
        .iter()
        .filter(|s| !in_subtree.contains(*s))
        .map(|s| (*s).to_owned())
        .collect();
    if !bad.is_empty() {
        return Err(QueryError::ResourcelessNotInSameSubtree(bad));
    }
    let unknown: Vec<String> = in_subtree
        .iter()
        .filter(|s| !groups.iter().any(|g| g.suffix == **s))
        .map(|s| (*s).to_owned())
        .collect();
    if !unknown.is_empty() {
        return Err(QueryError::SameSubtreeUnknownSuffix {
            unknown,
            known: groups.iter().map(|g| g.suffix.clone()).collect(),
        });
    }
    Ok(())
}

/// Before 1.36: `required<S>` and `member_of<S>` need resources in their
/// group, every group needs resources, and there must be a group.
fn check_for_orphans(groups: &[RequestGroup]) -> Result<(), QueryError> {
    let orphans: Vec<String> = groups
        .iter()
        .filter(|g| !g.required_traits.is_empty() && g.resources.is_empty())
        .map(|g| format!("required{}", g.suffix))
        .collect();
    if !orphans.is_empty() {
        return Err(QueryError::OrphanedTraits(orphans));
    }
    let orphans: Vec<String> = groups
        .iter()
        .filter(|g| {
            g.resources.is_empty() && (!g.member_of.is_empty() || !g.forbidden_aggs.is_empty())
        })
        .map(|g| format!("member_of{}", g.suffix))
        .collect();
    if !orphans.is_empty() {
        return Err(QueryError::OrphanedMemberOf(orphans));
    }
    if groups.iter().any(|g| g.resources.is_empty()) {
        return Err(QueryError::GroupWithoutResources);
    }
    if groups.is_empty() {
        return Err(QueryError::NoGroups);
    }
    Ok(())
}

/// From 1.22: no any-of set may consist only of traits the same group
/// forbids.
fn check_forbidden(groups: &[RequestGroup]) -> Result<(), QueryError> {
    let mut conflicts: Vec<String> = Vec::new();
    for group in groups {
        for any in &group.required_traits {
            if any.iter().all(|t| group.forbidden_traits.contains(t)) {
                let names: Vec<&str> = any.iter().map(String::as_str).collect();
                conflicts.push(format!("required{}: ({})", group.suffix, names.join(", ")));
            }
        }
    }
    if conflicts.is_empty() {
        return Ok(());
    }
    conflicts.sort();
    Err(QueryError::ConflictingTraits(conflicts))
}

/// upstream's `normalize_resources_qs_param`: `NAME:AMOUNT,…`, each amount
/// an integer ≥ 1 as Python's `int()` reads it; a class named twice keeps
/// its first place and its last amount.
///
/// # Errors
/// [`QueryError::ResourcesEmpty`], [`QueryError::ResourcesBadlyFormed`],
/// [`QueryError::AmountNotInteger`], [`QueryError::AmountTooSmall`].
pub fn parse_resources(value: &str) -> Result<Vec<(String, i64)>, QueryError> {
    if py_strip(value).is_empty() {
        return Err(QueryError::ResourcesEmpty);
    }
    let mut result: Vec<(String, i64)> = Vec::new();
    for item in value.split(',') {
        let mut parts = item.split(':');
        let (Some(class), Some(amount), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(QueryError::ResourcesBadlyFormed(item.to_owned()));
        };
        let not_integer = || QueryError::AmountNotInteger {
            class: class.to_owned(),
            amount: amount.to_owned(),
        };
        let digits = python_int(amount).ok_or_else(not_integer)?;
        let amount = match digits.parse::<i64>() {
            Ok(n) => n,
            // NOTE(upstream): an amount beyond 64 bits passes upstream's
            // checks and fails in the database with a 500; we refuse it
            // here with a 400.
            Err(_) if digits.starts_with('-') => {
                return Err(QueryError::AmountTooSmall {
                    class: class.to_owned(),
                    amount: digits,
                })
            }
            Err(_) => return Err(not_integer()),
        };
        if amount < 1 {
            return Err(QueryError::AmountTooSmall {
                class: class.to_owned(),
                amount: amount.to_string(),
            });
        }
        match result.iter_mut().find(|(n, _)| n == class) {
            Some(entry) => entry.1 = amount,
            None => result.push((class.to_owned(), amount)),
        }
    }
    Ok(result)
}

/// upstream's `normalize_traits_qs_params`: the values of one `required<S>`
/// key. Before 1.39 only the last value counts; from 1.39 every value is
/// parsed and the results ANDed.
///
/// # Errors
/// The trait-format errors of [`QueryError`].
pub fn parse_required(
    values: &[&str],
    caps: Capabilities,
) -> Result<(Vec<BTreeSet<String>>, BTreeSet<String>), QueryError> {
    let values = if caps.any_traits {
        values
    } else {
        &values[values.len().saturating_sub(1)..]
    };
    let mut required = Vec::new();
    let mut forbidden = BTreeSet::new();
    for value in values {
        let (r, f) = parse_traits_value(value, caps.forbidden_traits, caps.any_traits)?;
        required.extend(r);
        forbidden.extend(f);
    }
    Ok((required, forbidden))
}

/// upstream's `normalize_traits_qs_param`: one value, either
/// `A,!B,…` or `in:A,B`.
fn parse_traits_value(
    value: &str,
    allow_forbidden: bool,
    allow_any_traits: bool,
) -> Result<(Vec<BTreeSet<String>>, BTreeSet<String>), QueryError> {
    if let Some(rest) = value.strip_prefix("in:") {
        if !allow_any_traits {
            return Err(QueryError::AnyTraitsUnsupported(value.to_owned()));
        }
        let any: BTreeSet<String> = rest.split(',').map(|t| py_strip(t).to_owned()).collect();
        if any.iter().any(String::is_empty) {
            return Err(QueryError::AnyTraitsEmptyTrait(value.to_owned()));
        }
        if any.iter().any(|t| t.starts_with('!')) {
            return Err(QueryError::AnyTraitsForbidden(value.to_owned()));
        }
        return Ok((vec![any], BTreeSet::new()));
    }
    let all: Vec<&str> = value.split(',').map(py_strip).collect();
    // NOTE(upstream): any number of leading `!` mean one (`!!!FOO` is `FOO`
    // forbidden), a bug upstream keeps until a microversion changes it.
    let forbidden: BTreeSet<String> = all
        .iter()
        .filter(|t| t.starts_with('!'))
        .map(|t| t.trim_start_matches('!').to_owned())
        .collect();
    if all.iter().any(|t| t.is_empty()) || forbidden.iter().any(String::is_empty) {
        return Err(QueryError::RequiredEmptyTrait {
            allow_forbidden,
            value: value.to_owned(),
        });
    }
    if !forbidden.is_empty() && !allow_forbidden {
        return Err(QueryError::ForbiddenTraitsUnsupported(value.to_owned()));
    }
    let required = all
        .iter()
        .filter(|t| !t.starts_with('!'))
        .map(|t| BTreeSet::from([(*t).to_owned()]))
        .collect();
    Ok((required, forbidden))
}

/// upstream's `normalize_member_of_qs_params`: the values of one
/// `member_of<S>` key (`suffix` only appears in the texts). Returns the
/// any-of sets (ANDed) and the forbidden aggregates.
///
/// # Errors
/// [`QueryError::MultipleMemberOf`] before 1.24,
/// [`QueryError::ForbiddenMemberOfUnsupported`] before 1.32, and the value
/// errors of [`QueryError`].
pub fn parse_member_of(
    values: &[&str],
    suffix: &str,
    caps: Capabilities,
) -> Result<(Vec<BTreeSet<String>>, BTreeSet<String>), QueryError> {
    if !caps.multiple_member_of && values.len() > 1 {
        return Err(QueryError::MultipleMemberOf(suffix.to_owned()));
    }
    let mut required_sets = Vec::new();
    let mut forbidden_aggs = BTreeSet::new();
    for value in values {
        let (required, forbidden) = parse_member_of_value(value)?;
        if !required.is_empty() {
            required_sets.push(required);
        }
        if !forbidden.is_empty() {
            if !caps.forbidden_aggregates {
                return Err(QueryError::ForbiddenMemberOfUnsupported(suffix.to_owned()));
            }
            forbidden_aggs.extend(forbidden);
        }
    }
    Ok((required_sets, forbidden_aggs))
}

/// upstream's `normalize_member_of_qs_param`: a UUID, `!UUID`, `in:a,b` or
/// `!in:a,b`; returns (any of these, none of these).
fn parse_member_of_value(value: &str) -> Result<(BTreeSet<String>, BTreeSet<String>), QueryError> {
    if value.contains(',') && !(value.starts_with("in:") || value.starts_with("!in:")) {
        return Err(QueryError::MemberOfNeedsIn(value.to_owned()));
    }
    let split = |s: &str| -> BTreeSet<String> { s.split(',').map(str::to_owned).collect() };
    let (required, forbidden) = if let Some(rest) = value.strip_prefix("!in:") {
        (BTreeSet::new(), split(rest))
    } else if let Some(rest) = value.strip_prefix('!') {
        (BTreeSet::new(), BTreeSet::from([rest.to_owned()]))
    } else if let Some(rest) = value.strip_prefix("in:") {
        (split(rest), BTreeSet::new())
    } else {
        (BTreeSet::from([value.to_owned()]), BTreeSet::new())
    };
    // upstream checks a set union, in no defined order; we check in sorted
    // order, so which bad item is named when there are several may differ.
    if let Some(bad) = required
        .union(&forbidden)
        .find(|u| parse_uuid_like(u).is_err())
    {
        return Err(QueryError::MemberOfNotUuid(bad.clone()));
    }
    Ok((required, forbidden))
}

/// upstream's `normalize_in_tree_qs_params`: the value stripped, which must
/// then be UUID-like.
///
/// # Errors
/// [`QueryError::InTreeNotUuid`] with the value as written.
pub fn parse_in_tree(value: &str) -> Result<String, QueryError> {
    let stripped = py_strip(value);
    if parse_uuid_like(stripped).is_err() {
        return Err(QueryError::InTreeNotUuid(value.to_owned()));
    }
    Ok(stripped.to_owned())
}

/// Python's `str.isspace()` for one character: Unicode whitespace plus the
/// separators U+001C–U+001F, which Rust does not count.
fn py_is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()` with no argument.
#[must_use]
pub fn py_strip(s: &str) -> &str {
    s.trim_matches(py_is_space)
}

/// Python's `int(s)` on a string, as canonical decimal text (`None` where
/// Python raises `ValueError`): surrounding whitespace, an optional sign,
/// ASCII digits with single underscores between them.
#[must_use]
pub fn python_int(s: &str) -> Option<String> {
    let s = py_strip(s);
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty()
        || body.starts_with('_')
        || body.ends_with('_')
        || body.contains("__")
        || !body.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    let digits: String = body.chars().filter(char::is_ascii_digit).collect();
    let trimmed = digits.trim_start_matches('0');
    let magnitude = if trimmed.is_empty() { "0" } else { trimmed };
    Some(if negative && magnitude != "0" {
        format!("-{magnitude}")
    } else {
        magnitude.to_owned()
    })
}

/// Python's `repr()` of a list of `str`.
fn py_list_repr(items: &[String]) -> String {
    let parts: Vec<String> = items.iter().map(|s| str_repr(s)).collect();
    format!("[{}]", parts.join(", "))
}

/// Why a parsed query cannot become a [`NamedRequest`]: never, for a query
/// [`parse_candidates_query`] accepted, since every UUID in it is
/// UUID-like; kept as an error rather than a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a UUID")]
pub struct NotAUuid(pub String);

impl TryFrom<&CandidatesQuery> for NamedRequest {
    type Error = NotAUuid;

    /// The parsed query as the store resolves it; `limit` stays outside
    /// (it belongs to the engine's options).
    // NOTE(upstream): upstream looks aggregates and `in_tree` up by the
    // string as written, so a non-canonical spelling (upper case, no
    // hyphens, braces) matches nothing there, except on MySQL's
    // case-insensitive collation; here it is canonicalised and matches.
    fn try_from(query: &CandidatesQuery) -> Result<Self, Self::Error> {
        let uuid = |s: &String| parse_uuid_like(s).map_err(|_| NotAUuid(s.clone()));
        let groups = query
            .groups
            .iter()
            .map(|g| {
                Ok(NamedGroup {
                    suffix: g.suffix.clone(),
                    resources: g.resources.clone(),
                    required: g
                        .required_traits
                        .iter()
                        .map(|set| set.iter().cloned().collect())
                        .collect(),
                    forbidden: g.forbidden_traits.iter().cloned().collect(),
                    member_of: g
                        .member_of
                        .iter()
                        .map(|set| set.iter().map(uuid).collect::<Result<Vec<_>, _>>())
                        .collect::<Result<Vec<_>, _>>()?,
                    forbidden_aggregates: g
                        .forbidden_aggs
                        .iter()
                        .map(uuid)
                        .collect::<Result<Vec<_>, _>>()?,
                    in_tree: g.in_tree.as_ref().map(uuid).transpose()?,
                })
            })
            .collect::<Result<Vec<_>, NotAUuid>>()?;
        Ok(NamedRequest {
            groups,
            group_policy: query.params.group_policy.unwrap_or_default(),
            root_required: query.params.root_required.iter().cloned().collect(),
            root_forbidden: query.params.root_forbidden.iter().cloned().collect(),
            same_subtree: query.params.same_subtrees.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use QueryErrorCode::{BadValue, DuplicateKey, MissingValue, Undefined};

    const AGG: &str = "6f1c2e9a-1d4b-4c3e-9f00-0123456789ab";

    /// The flags the HTTP layer derives for `1.<minor>`.
    fn caps(version: &str) -> Capabilities {
        let minor: u32 = version
            .strip_prefix("1.")
            .and_then(|m| m.parse().ok())
            .unwrap();
        Capabilities {
            forbidden_traits: minor >= 22,
            multiple_member_of: minor >= 24,
            forbidden_aggregates: minor >= 32,
            verbose_suffixes: minor >= 33,
            resourceless_groups: minor >= 36,
            any_traits: minor >= 39,
        }
    }

    /// The (key, value) pairs of a query string; only `%20` is decoded.
    fn pairs(query: &str) -> Vec<(String, String)> {
        query
            .split('&')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.replace("%20", " "), v.replace("%20", " "))
            })
            .collect()
    }

    fn parse(version: &str, query: &str) -> Result<CandidatesQuery, QueryError> {
        parse_candidates_query(&pairs(query), caps(version))
    }

    type Expected = Result<&'static [&'static str], (&'static str, QueryErrorCode)>;

    /// Each row was answered by upstream 16.0.0's `RequestWideParams`,
    /// `RequestGroup.dict_from_request` and the handler's `group_policy`
    /// check: the text and code of the 400, or the group suffixes in order.
    #[rustfmt::skip]
    const UPSTREAM: &[(&str, &str, Expected)] = &[
        ("1.21", "resources=", Err(("Badly formed resources parameter. Expected resources query string parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: empty string.", Undefined))),
        ("1.21", "resources=%20", Err(("Badly formed resources parameter. Expected resources query string parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: empty string.", Undefined))),
        ("1.21", "resources=VCPU", Err(("Badly formed resources parameter. Expected resources query string parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: VCPU.", Undefined))),
        ("1.21", "resources=VCPU:1:2", Err(("Badly formed resources parameter. Expected resources query string parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: VCPU:1:2.", Undefined))),
        ("1.21", "resources=VCPU:fred", Err(("Requested resource VCPU expected positive integer amount. Got: fred.", Undefined))),
        ("1.21", "resources=VCPU:0", Err(("Requested resource VCPU requires amount >= 1. Got: 0.", Undefined))),
        ("1.21", "resources=VCPU:-2", Err(("Requested resource VCPU requires amount >= 1. Got: -2.", Undefined))),
        ("1.21", "resources=VCPU:1&required=", Err(("Invalid query string parameters: Expected 'required' parameter value of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty trait in: ", Undefined))),
        ("1.21", "resources=VCPU:1&required=A,,B", Err(("Invalid query string parameters: Expected 'required' parameter value of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty trait in: A,,B", Undefined))),
        ("1.22", "resources=VCPU:1&required=A,,B", Err(("Invalid query string parameters: Expected 'required' parameter value of the form: HW_CPU_X86_VMX,!CUSTOM_MAGIC. Got an empty trait in: A,,B", Undefined))),
        ("1.21", "resources=VCPU:1&required=!A", Err(("Invalid query string parameters: Expected 'required' parameter value of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: !A", Undefined))),
        ("1.22", "resources=VCPU:1&required=!", Err(("Invalid query string parameters: Expected 'required' parameter value of the form: HW_CPU_X86_VMX,!CUSTOM_MAGIC. Got an empty trait in: !", Undefined))),
        ("1.22", "resources=VCPU:1&required=A,!A", Err(("Conflicting required and forbidden traits found in the following traits keys: required: (A)", Undefined))),
        ("1.22", "resources=VCPU:1&required=!!!A,A", Err(("Conflicting required and forbidden traits found in the following traits keys: required: (A)", Undefined))),
        ("1.38", "resources=VCPU:1&required=in:A,B", Err(("Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' only supported since microversion 1.39. Got: in:A,B", Undefined))),
        ("1.39", "resources=VCPU:1&required=in:A,", Err(("Invalid query string parameters: Expected 'required' parameter value of the form: in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty trait in: in:A,", Undefined))),
        ("1.39", "resources=VCPU:1&required=in:A,!B", Err(("Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' does not support forbidden traits. Got: in:A,!B", Undefined))),
        ("1.39", "resources=VCPU:1&required=in:A,B&required=!A&required=!B", Err(("Conflicting required and forbidden traits found in the following traits keys: required: (A, B)", Undefined))),
        ("1.23", "resources=VCPU:1&member_of=6f1c2e9a-1d4b-4c3e-9f00-0123456789ab&member_of=6f1c2e9a-1d4b-4c3e-9f00-0123456789ab", Err(("Multiple member_of parameters are not supported", Undefined))),
        ("1.24", "resources=VCPU:1&member_of=a,b", Err(("Multiple values for 'member_of' must be prefixed with the 'in:' or '!in:' keyword using the valid microversion. Got: a,b", Undefined))),
        ("1.31", "resources=VCPU:1&member_of=!6f1c2e9a-1d4b-4c3e-9f00-0123456789ab", Err(("Forbidden member_of parameters are not supported in the specified microversion", Undefined))),
        ("1.31", "resources1=VCPU:1&member_of1=!6f1c2e9a-1d4b-4c3e-9f00-0123456789ab", Err(("Forbidden member_of1 parameters are not supported in the specified microversion", Undefined))),
        ("1.25", "resources1=VCPU:1&member_of1=x&member_of1=y", Err(("Invalid query string parameters: Expected 'member_of' parameter to contain valid UUID(s). Got: x", Undefined))),
        ("1.32", "resources=VCPU:1&member_of=in:foo", Err(("Invalid query string parameters: Expected 'member_of' parameter to contain valid UUID(s). Got: foo", Undefined))),
        ("1.32", "resources=VCPU:1&in_tree=foo", Err(("Invalid query string parameters: Expected 'in_tree' parameter to be a format of uuid. Got: foo", Undefined))),
        ("1.32", "resources=VCPU:1&in_tree1=6f1c2e9a-1d4b-4c3e-9f00-0123456789ab", Err(("All request groups must specify resources.", Undefined))),
        ("1.35", "resources=VCPU:1&root_required=A&root_required=B", Err(("Query parameter 'root_required' may be specified only once.", DuplicateKey))),
        ("1.35", "resources=VCPU:1&root_required=A,!A,B,!B", Err(("Conflicting required and forbidden traits found in root_required: A, B", BadValue))),
        ("1.39", "resources=VCPU:1&root_required=in:A,B", Err(("Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' only supported since microversion 1.39. Got: in:A,B", Undefined))),
        ("1.35", "resources=VCPU:1&root_required=A,", Err(("Invalid query string parameters: Expected 'required' parameter value of the form: HW_CPU_X86_VMX,!CUSTOM_MAGIC. Got an empty trait in: A,", Undefined))),
        ("1.36", "resources=VCPU:1&same_subtree=_A,", Err(("Empty string (unsuffixed group) can not be specified in `same_subtree` ", BadValue))),
        ("1.35", "resources=VCPU:1&required1=A&required2=B&member_of3=6f1c2e9a-1d4b-4c3e-9f00-0123456789ab", Err(("All traits parameters must be associated with resources.  Found the following orphaned traits keys: required1, required2", Undefined))),
        ("1.35", "resources=VCPU:1&member_of3=6f1c2e9a-1d4b-4c3e-9f00-0123456789ab&member_of=6f1c2e9a-1d4b-4c3e-9f00-0123456789ab", Err(("All member_of parameters must be associated with resources. Found the following orphaned member_of keys: member_of3", Undefined))),
        ("1.35", "resources=VCPU:1&required=!A", Ok(&[""])),
        ("1.35", "in_tree=6f1c2e9a-1d4b-4c3e-9f00-0123456789ab", Err(("All request groups must specify resources.", Undefined))),
        ("1.35", "limit=5", Err(("At least one request group (`resources` or `resources{$S}`) is required.", Undefined))),
        ("1.36", "limit=5", Err(("There must be at least one resources or resources[$S] parameter.", MissingValue))),
        ("1.36", "required=A", Err(("There must be at least one resources or resources[$S] parameter.", MissingValue))),
        ("1.36", "resources=VCPU:1&required_X=A", Err(("Resourceless suffixed group request should be specified in `same_subtree` query param: bad group(s) - ['_X'].", BadValue))),
        ("1.36", "resources=VCPU:1&required_X=A&required_Y=B&same_subtree=_Y,_Z&same_subtree=_W", Err(("Resourceless suffixed group request should be specified in `same_subtree` query param: bad group(s) - ['_X'].", BadValue))),
        ("1.36", "resources_A=VCPU:1&required_X=A&group_policy=none&same_subtree=_X,_Q", Err(("Real suffixes should be specified in `same_subtree`: ['_Q'] not found in ['_A', '_X'].", BadValue))),
        ("1.36", "resources_A=VCPU:1&required_X=A&group_policy=none&same_subtree=_X,_A", Ok(&["_A", "_X"])),
        ("1.36", "resources=VCPU:1&required=A", Ok(&[""])),
        ("1.36", "resources1=VCPU:1&required=A", Err(("Resourceless suffixed group request should be specified in `same_subtree` query param: bad group(s) - [''].", BadValue))),
        ("1.25", "resources1=VCPU:1&resources2=VCPU:1", Err(("The \"group_policy\" parameter is required when specifying more than one \"resources{N}\" parameter.", Undefined))),
        ("1.25", "resources1=VCPU:1&resources2=VCPU:1&group_policy=", Err(("The \"group_policy\" parameter is required when specifying more than one \"resources{N}\" parameter.", Undefined))),
        ("1.25", "resources1=VCPU:1&resources2=VCPU:1&group_policy=bogus&group_policy=none", Ok(&["1", "2"])),
        ("1.25", "resources1=VCPU:1&resources=VCPU:1", Ok(&["1", ""])),
        ("1.32", "resources_NET=VCPU:1", Err(("At least one request group (`resources` or `resources{$S}`) is required.", Undefined))),
        ("1.33", "resources_NET=VCPU:1&resources1=VCPU:2&group_policy=isolate", Ok(&["_NET", "1"])),
        ("1.33", "resources=VCPU:1&required=B,!B&required1=A,!A&resources1=VCPU:1&group_policy=none", Err(("Conflicting required and forbidden traits found in the following traits keys: required1: (A), required: (B)", Undefined))),
        ("1.39", "resources=VCPU:1&required=in:A,B&required=!A&required=!B&required=!C,C", Err(("Conflicting required and forbidden traits found in the following traits keys: required: (A, B), required: (C)", Undefined))),
        ("1.16", "resources=VCPU:1&limit=0&limit=1", Ok(&[""])),
        ("1.21", "resources=VCPU:2,VCPU:3&resources=MEMORY_MB:1", Ok(&[""])),
        ("1.21", "resources=bad&resources=VCPU:1", Err(("Badly formed resources parameter. Expected resources query string parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: bad.", Undefined))),
        ("1.21", "resources=VCPU:1&required=!A&required=B", Ok(&[""])),
        ("1.21", "resources=VCPU:1&required=B&required=!A", Err(("Invalid query string parameters: Expected 'required' parameter value of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: !A", Undefined))),
        ("1.39", "resources=VCPU:1&required=B&required=!A", Ok(&[""])),
        ("1.25", "required1=A&resources=VCPU:1&resources1=VCPU:1&required=!B", Ok(&["1", ""])),
        ("1.36", "resources=VCPU:1&same_subtree=_A", Err(("Real suffixes should be specified in `same_subtree`: ['_A'] not found in [''].", BadValue))),
        ("1.36", "resources=VCPU:1&same_subtree=%20,", Err(("Empty string (unsuffixed group) can not be specified in `same_subtree` ", BadValue))),
        ("1.36", "resources1=VCPU:1&required=A&same_subtree=1", Err(("Resourceless suffixed group request should be specified in `same_subtree` query param: bad group(s) - [''].", BadValue))),
        ("1.31", "resources=VCPU:1&in_tree=%206f1c2e9a-1d4b-4c3e-9f00-0123456789ab%20", Ok(&[""])),
        ("1.31", "resources=VCPU:1&in_tree=bad&in_tree=6f1c2e9a-1d4b-4c3e-9f00-0123456789ab", Err(("Invalid query string parameters: Expected 'in_tree' parameter to be a format of uuid. Got: bad", Undefined))),
        ("1.25", "resources01=VCPU:1", Err(("At least one request group (`resources` or `resources{$S}`) is required.", Undefined))),
        ("1.33", "resources01=VCPU:1", Ok(&["01"])),
        ("1.36", "resources=VCPU:1&required_X=A&member_of_Y=6f1c2e9a-1d4b-4c3e-9f00-0123456789ab&same_subtree=_X&same_subtree=_Y", Err(("The \"group_policy\" parameter is required when specifying more than one \"resources{N}\" parameter.", Undefined))),
        ("1.36", "resources=VCPU:1&in_tree_X=6f1c2e9a-1d4b-4c3e-9f00-0123456789ab&same_subtree=_X", Ok(&["", "_X"])),
        ("1.36", "resources=VCPU:1&required_X=A&same_subtree=_X,%20_X%20", Ok(&["", "_X"])),
        ("1.36", "resources=VCPU:1&same_subtree=it's", Err(("Real suffixes should be specified in `same_subtree`: [\"it's\"] not found in [''].", BadValue))),
        ("1.35", "resources=VCPU:1&root_required=!A,B,!!C", Ok(&[""])),
        ("1.35", "resources=VCPU:1&required1=!A&resources2=VCPU:1&group_policy=none", Err(("All request groups must specify resources.", Undefined))),
        ("1.35", "resources=VCPU:1&member_of1=!6f1c2e9a-1d4b-4c3e-9f00-0123456789ab", Err(("All member_of parameters must be associated with resources. Found the following orphaned member_of keys: member_of1", Undefined))),
        ("1.25", "resources=VCPU:1&required2=A&member_of2=6f1c2e9a-1d4b-4c3e-9f00-0123456789ab&in_tree2=6f1c2e9a-1d4b-4c3e-9f00-0123456789ab", Err(("All traits parameters must be associated with resources.  Found the following orphaned traits keys: required2", Undefined))),
        ("1.21", "resources=VCPU:%201_0", Ok(&[""])),
        ("1.21", "resources=VCPU:-99999999999999999999999", Err(("Requested resource VCPU requires amount >= 1. Got: -99999999999999999999999.", Undefined))),
        ("1.21", "resources=VCPU:1,", Err(("Badly formed resources parameter. Expected resources query string parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: .", Undefined))),
        ("1.21", "resources=,VCPU:1", Err(("Badly formed resources parameter. Expected resources query string parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: .", Undefined))),
        ("1.39", "resources=VCPU:1&required=in:%20A%20,B", Ok(&[""])),
        ("1.39", "resources=VCPU:1&root_required=A&required=in:A,B&required=C", Ok(&[""])),
        ("1.16", "resources=VCPU:1&limit=%205&limit=1", Ok(&[""])),
        ("1.16", "resources=VCPU:1&limit=5&limit=2", Ok(&[""])),
    ];

    #[test]
    fn every_upstream_answer_is_reproduced_at_the_microversion_boundaries() {
        for (version, query, expected) in UPSTREAM {
            let got = parse(version, query);
            match (expected, got) {
                (Ok(suffixes), Ok(parsed)) => {
                    let got: Vec<&str> = parsed.groups.iter().map(|g| g.suffix.as_str()).collect();
                    assert_eq!(&got, suffixes, "{version} {query}");
                }
                (Err((text, code)), Err(e)) => {
                    assert_eq!(e.to_string(), *text, "{version} {query}");
                    assert_eq!(e.code(), *code, "{version} {query}");
                }
                (want, got) => panic!("{version} {query}: want {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn a_full_request_parses_into_typed_groups_and_request_wide_params() {
        let query = format!(
            "resources=VCPU:2,MEMORY_MB:1024&required=in:A,B&required=C,!D\
             &member_of={AGG}&member_of=!in:{AGG}&in_tree=%20{AGG}\
             &resources_NET=VF:1&required_NET=PHYS&group_policy=isolate&limit=10\
             &root_required=ROOT,!BAD&same_subtree=_NET,_NET"
        );
        let parsed = parse("1.39", &query).unwrap();
        let unsuffixed = &parsed.groups[0];
        assert!(unsuffixed.is_unsuffixed());
        assert_eq!(
            unsuffixed.resources,
            vec![("VCPU".to_owned(), 2), ("MEMORY_MB".to_owned(), 1024)]
        );
        assert_eq!(
            unsuffixed.required_traits,
            vec![
                BTreeSet::from(["A".to_owned(), "B".to_owned()]),
                BTreeSet::from(["C".to_owned()])
            ]
        );
        assert_eq!(
            unsuffixed.forbidden_traits,
            BTreeSet::from(["D".to_owned()])
        );
        assert_eq!(unsuffixed.member_of, vec![BTreeSet::from([AGG.to_owned()])]);
        assert_eq!(unsuffixed.forbidden_aggs, BTreeSet::from([AGG.to_owned()]));
        assert_eq!(unsuffixed.in_tree.as_deref(), Some(AGG));
        assert_eq!(parsed.groups[1].suffix, "_NET");
        assert_eq!(parsed.params.limit, Some(10));
        assert_eq!(parsed.params.group_policy, Some(GroupPolicy::Isolate));
        assert_eq!(
            parsed.params.root_required,
            BTreeSet::from(["ROOT".to_owned()])
        );
        assert_eq!(
            parsed.params.root_forbidden,
            BTreeSet::from(["BAD".to_owned()])
        );
        assert_eq!(parsed.params.same_subtrees, vec![vec!["_NET".to_owned()]]);
    }

    #[test]
    fn the_last_resources_value_wins_and_a_repeated_class_keeps_its_last_amount() {
        let parsed = parse(
            "1.21",
            "resources=DISK_GB:1&resources=VCPU:1,MEMORY_MB:2,VCPU:+3",
        )
        .unwrap();
        assert_eq!(
            parsed.groups[0].resources,
            vec![("VCPU".to_owned(), 3), ("MEMORY_MB".to_owned(), 2)]
        );
    }

    #[test]
    fn required_before_1_39_keeps_only_the_last_value_and_from_1_39_ands_them() {
        let old = parse("1.38", "resources=VCPU:1&required=A&required=B").unwrap();
        assert_eq!(
            old.groups[0].required_traits,
            vec![BTreeSet::from(["B".to_owned()])]
        );
        let new = parse("1.39", "resources=VCPU:1&required=A&required=B").unwrap();
        assert_eq!(new.groups[0].required_traits.len(), 2);
    }

    #[test]
    fn repeated_member_of_sets_are_anded_from_1_24() {
        let other = "11111111-2222-3333-4444-555555555555";
        let parsed = parse(
            "1.24",
            &format!("resources=VCPU:1&member_of={AGG}&member_of=in:{AGG},{other}"),
        )
        .unwrap();
        assert_eq!(parsed.groups[0].member_of.len(), 2);
        assert_eq!(parsed.groups[0].member_of[1].len(), 2);
    }

    #[test]
    fn repeated_in_tree_keeps_the_last_value_stripped() {
        let other = "11111111-2222-3333-4444-555555555555";
        let parsed = parse(
            "1.31",
            &format!("resources=VCPU:1&in_tree={AGG}&in_tree=%20{other}%20"),
        )
        .unwrap();
        assert_eq!(parsed.groups[0].in_tree.as_deref(), Some(other));
    }

    #[test]
    fn limit_uses_the_first_value_and_zero_means_no_limit() {
        assert_eq!(
            parse("1.16", "resources=VCPU:1&limit=5&limit=2")
                .unwrap()
                .params
                .limit,
            Some(5)
        );
        assert_eq!(
            parse("1.16", "resources=VCPU:1&limit=%205&limit=2")
                .unwrap()
                .params
                .limit,
            Some(5)
        );
        assert_eq!(
            parse("1.16", "resources=VCPU:1&limit=0&limit=2")
                .unwrap()
                .params
                .limit,
            None
        );
        let huge = parse("1.16", "resources=VCPU:1&limit=99999999999999999999999").unwrap();
        assert_eq!(huge.params.limit, Some(usize::MAX));
    }

    #[test]
    fn a_first_limit_python_cannot_read_is_a_clean_400_with_the_schema_text() {
        let e = parse("1.16", "resources=VCPU:1&limit=cow&limit=1").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid query string parameters: 'cow' does not match '^[1-9][0-9]*$'\n\n\
             Failed validating 'pattern' in schema['properties']['limit']:\n    \
             {'type': ['integer', 'string'],\n     'pattern': '^[1-9][0-9]*$',\n     \
             'minimum': 1,\n     'minLength': 1}\n\nOn instance['limit']:\n    'cow'"
        );
        assert_eq!(e.code(), Undefined);
        let e = parse("1.16", "resources=VCPU:1&limit=it's&limit=1").unwrap_err();
        assert!(e.to_string().starts_with(
            "Invalid query string parameters: \"it's\" does not match '^[1-9][0-9]*$'"
        ));
        let e = parse("1.16", "resources=VCPU:1&limit=-1&limit=1").unwrap_err();
        assert!(matches!(e, QueryError::LimitNotInteger(v) if v == "-1"));
    }

    #[test]
    fn the_first_group_policy_is_used_and_an_invalid_one_acts_as_none() {
        let parsed = parse(
            "1.25",
            "resources1=VCPU:1&resources2=VCPU:1&group_policy=bogus&group_policy=isolate",
        )
        .unwrap();
        assert_eq!(parsed.params.group_policy, Some(GroupPolicy::None));
        let parsed = parse(
            "1.25",
            "resources1=VCPU:1&resources2=VCPU:1&group_policy=isolate&group_policy=none",
        )
        .unwrap();
        assert_eq!(parsed.params.group_policy, Some(GroupPolicy::Isolate));
    }

    #[test]
    fn amounts_beyond_64_bits_are_refused_rather_than_reaching_the_database() {
        let e = parse("1.21", "resources=VCPU:99999999999999999999999").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Requested resource VCPU expected positive integer amount. Got: 99999999999999999999999."
        );
    }

    #[test]
    fn python_int_reads_signs_underscores_and_whitespace_as_python_does() {
        assert_eq!(python_int(" +1_024 ").as_deref(), Some("1024"));
        assert_eq!(python_int("-0").as_deref(), Some("0"));
        assert_eq!(python_int("\u{1f}7\u{a0}").as_deref(), Some("7"));
        for bad in ["", "_1", "1_", "1__0", "1.0", "0x1", "- 1"] {
            assert_eq!(python_int(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn numeric_suffixes_only_before_1_33_and_verbose_ones_up_to_64_characters_after() {
        let long = "a".repeat(64);
        assert!(split_group_key("resources1", caps("1.32")).is_some());
        assert!(split_group_key("resources_NET", caps("1.32")).is_none());
        assert_eq!(
            split_group_key(&format!("required{long}"), caps("1.33")).map(|k| k.1),
            Some(long.as_str())
        );
        assert!(split_group_key(&format!("required{long}a"), caps("1.33")).is_none());
        assert!(split_group_key("member_of.x", caps("1.33")).is_none());
        assert!(split_group_key("limit", caps("1.33")).is_none());
    }

    #[test]
    fn only_root_required_and_same_subtree_errors_carry_upstream_codes() {
        assert_eq!(QueryError::RootRequiredRepeated.code(), DuplicateKey);
        assert_eq!(QueryError::SameSubtreeEmpty.code(), BadValue);
        assert_eq!(QueryError::NoResources.code(), MissingValue);
        assert_eq!(QueryError::GroupPolicyRequired.code(), Undefined);
    }

    #[test]
    fn list_reprs_quote_like_python() {
        assert_eq!(
            py_list_repr(&["_A".to_owned(), "it's".to_owned(), "a\"b'c".to_owned()]),
            r#"['_A', "it's", 'a"b\'c']"#
        );
        assert_eq!(str_repr("a\\b\n\u{1}"), r"'a\\b\n\x01'");
    }

    #[test]
    fn a_parsed_query_converts_to_the_request_the_store_resolves() {
        let query = format!(
            "resources=VCPU:1&required=in:A,B&required=!C&member_of=in:{AGG}\
             &resources_X=VF:1&in_tree_X={}&member_of_X=!{AGG}&group_policy=isolate\
             &root_required=R,!S&same_subtree=_X",
            AGG.to_uppercase()
        );
        let parsed = parse("1.39", &query).unwrap();
        let named = NamedRequest::try_from(&parsed).unwrap();
        let agg = uuid::Uuid::parse_str(AGG).unwrap();
        assert_eq!(named.groups.len(), 2);
        assert_eq!(named.groups[0].suffix, "");
        assert_eq!(named.groups[0].resources, vec![("VCPU".to_owned(), 1)]);
        assert_eq!(
            named.groups[0].required,
            vec![vec!["A".to_owned(), "B".to_owned()]]
        );
        assert_eq!(named.groups[0].forbidden, vec!["C".to_owned()]);
        assert_eq!(named.groups[0].member_of, vec![vec![agg]]);
        assert_eq!(named.groups[1].in_tree, Some(agg));
        assert_eq!(named.groups[1].forbidden_aggregates, vec![agg]);
        assert_eq!(named.group_policy, GroupPolicy::Isolate);
        assert_eq!(named.root_required, vec!["R".to_owned()]);
        assert_eq!(named.root_forbidden, vec!["S".to_owned()]);
        assert_eq!(named.same_subtree, vec![vec!["_X".to_owned()]]);
    }

    #[test]
    fn the_provider_list_reads_member_of_then_required_then_the_last_resources() {
        let query = format!(
            "resources=bad&resources=VCPU:1&required=!A&member_of=!{AGG}&name=a&name=b&uuid={AGG}"
        );
        let e = parse_provider_filter(&pairs(&query), caps("1.21")).unwrap_err();
        assert_eq!(e, QueryError::ForbiddenMemberOfUnsupported(String::new()));
        let without_member_of = query.replace("member_of", "x");
        let e = parse_provider_filter(&pairs(&without_member_of), caps("1.21")).unwrap_err();
        assert_eq!(e, QueryError::ForbiddenTraitsUnsupported("!A".to_owned()));
        let filter = parse_provider_filter(&pairs(&query), caps("1.39")).unwrap();
        assert_eq!(filter.resources, vec![("VCPU".to_owned(), 1)]);
        assert_eq!(filter.forbidden_traits, BTreeSet::from(["A".to_owned()]));
        assert_eq!(filter.forbidden_aggs, BTreeSet::from([AGG.to_owned()]));
        assert_eq!(filter.name.as_deref(), Some("b"));
        assert_eq!(filter.uuid.as_deref(), Some(AGG));
        assert_eq!(filter.in_tree, None);
    }
}
