//! The seam between the microversion and core's request-group parser:
//! which parser features a version enables, and how a parse failure becomes
//! a 400 with upstream's code.

use placement_core::microversion::Microversion;
use placement_core::request_groups::{Capabilities, QueryError, QueryErrorCode};

use crate::error::{ApiError, ErrorCode};

/// What `mv` allows in `resources` / `required` / `member_of` / `in_tree`
/// query strings; core's parser sees only these flags.
pub(crate) fn capabilities(mv: Microversion) -> Capabilities {
    Capabilities {
        forbidden_traits: mv.matches(1, 22),
        multiple_member_of: mv.matches(1, 24),
        forbidden_aggregates: mv.matches(1, 32),
        verbose_suffixes: mv.matches(1, 33),
        resourceless_groups: mv.matches(1, 36),
        any_traits: mv.matches(1, 39),
    }
}

impl From<QueryError> for ApiError {
    /// A 400 with the parser's text and upstream's code for it.
    fn from(e: QueryError) -> Self {
        let code = match e.code() {
            QueryErrorCode::DuplicateKey => ErrorCode::IllegalDuplicateQueryparam,
            QueryErrorCode::BadValue => ErrorCode::QueryparamBadValue,
            QueryErrorCode::MissingValue => ErrorCode::QueryparamMissingValue,
            QueryErrorCode::Undefined => ErrorCode::Default,
        };
        ApiError::bad_request(e.to_string()).with_code(code)
    }
}
