//! `GET /allocation_candidates` (upstream `handlers/allocation_candidate.py`):
//! which combinations of providers could satisfy a request, as bodies a
//! client can `PUT /allocations/{consumer}`, with summaries of the providers
//! involved.
//!
//! The handler checks in upstream's order (version, `Accept`, policy, the
//! query schema, the query language, `group_policy`), hands the parsed
//! request to the store op (which reads a snapshot and runs the engine in
//! `placement_core::candidates`), and renders the answer for its
//! microversion.

use std::collections::BTreeSet;

use axum::extract::{FromRequestParts, RawQuery, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use placement_core::candidates::model::Candidate;
use placement_core::candidates::model::{EngineOptions, NamedRequest};
use placement_core::ids::ResourceProviderId;
use placement_core::microversion::Microversion;
use placement_core::request_groups::{parse_candidates_query, CandidatesQuery};
use placement_store::ops::allocation_candidates::{
    self as store, CandidatesAnswer, ProviderSummary, SummaryResource,
};
use placement_store::Error as StoreError;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::util;
use crate::error::ApiError;
use crate::extract::{AcceptJson, WantVersion};
use crate::json::PyJson;
use crate::query::QueryParams;
use crate::request_groups::capabilities;
use crate::routes::Route;
use crate::schema::allocation_candidate;
use crate::settings::AppState;

/// The route, in upstream's position (after the allocations routes).
pub(crate) fn routes() -> Vec<Route> {
    vec![Route::new("/allocation_candidates").get(list_allocation_candidates)]
}

/// The first version with the route.
const INTRODUCED: (u16, u16) = (1, 10);
/// `allocation_requests` become dicts keyed by provider UUID.
const DICT_REQUESTS: (u16, u16) = (1, 12);
/// `Cache-Control` and `Last-Modified`.
const CACHE_HEADERS: (u16, u16) = (1, 15);
/// Provider summaries list the provider's traits.
const SUMMARY_TRAITS: (u16, u16) = (1, 17);
/// Provider summaries list every inventory, not only the requested classes.
const ALL_RESOURCES: (u16, u16) = (1, 27);
/// Nested-aware: whole trees, with parent and root UUIDs in summaries.
const NESTED: (u16, u16) = (1, 29);
/// Each allocation request carries `mappings`.
const MAPPINGS: (u16, u16) = (1, 34);

/// `GET /allocation_candidates` (1.10+).
pub(crate) async fn list_allocation_candidates(
    State(state): State<AppState>,
    mut parts: Parts,
    RawQuery(raw_query): RawQuery,
) -> Result<Response, ApiError> {
    let mv = WantVersion::from_request_parts(&mut parts, &state)
        .await?
        .require(INTRODUCED.0, INTRODUCED.1)?;
    AcceptJson::from_request_parts(&mut parts, &state).await?;
    util::authorize_parts(&state, &mut parts, "placement:allocation_candidates:list").await?;
    let params = QueryParams::parse(raw_query.as_deref().unwrap_or_default())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    params
        .validate(allocation_candidate::get_schema(mv))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let query = parse_candidates_query(params.all(), capabilities(mv))?;
    let named = NamedRequest::try_from(&query).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let settings = state.settings.candidates;
    let options = EngineOptions {
        limit: query.params.limit,
        max_candidates: settings.cap(),
        strategy: settings.strategy,
        random_seed: settings.randomize.then(random_seed),
        drop_multi_provider_trees: !mv.matches(NESTED.0, NESTED.1),
    };
    let answer = store::allocation_candidates(&state.store, &named, &options)
        .await
        .map_err(|e| match e {
            StoreError::CandidatesRequest(lazy) => ApiError::bad_request(lazy.to_string()),
            other => ApiError::internal(other),
        })?;
    if let Some(metrics) = &state.metrics {
        metrics.candidates_answered(answer.candidates.len(), answer.summaries.len());
    }
    let mut response = PyJson(Body::new(&answer, &query, mv)).into_response();
    if mv.matches(CACHE_HEADERS.0, CACHE_HEADERS.1) {
        util::set_cache_headers(response.headers_mut(), Some(util::utcnow()));
    }
    Ok(response)
}

/// A fresh seed per request, so that randomized answers differ between
/// requests as upstream's `random.sample` does.
fn random_seed() -> u64 {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let mut seed = [0u8; 8];
    seed.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(seed)
}

/// The response body for `mv`, serialized as it is written: a large answer
/// (tens of thousands of candidates) never exists twice in memory, once as
/// results and once as a JSON tree.
///
/// Keys come out sorted, as upstream's clients have always seen them from
/// us: provider UUIDs, class names and suffixes in byte order, and each
/// object's fixed keys alphabetically.
struct Body<'a> {
    answer: &'a CandidatesAnswer,
    mv: Microversion,
    /// Before 1.27 summaries show only these classes.
    requested: Option<BTreeSet<&'a str>>,
}

impl<'a> Body<'a> {
    fn new(answer: &'a CandidatesAnswer, query: &'a CandidatesQuery, mv: Microversion) -> Self {
        let requested = (!mv.matches(ALL_RESOURCES.0, ALL_RESOURCES.1)).then(|| {
            query
                .groups
                .iter()
                .flat_map(|g| g.resources.iter().map(|(class, _)| class.as_str()))
                .collect()
        });
        Body {
            answer,
            mv,
            requested,
        }
    }
}

impl Serialize for Body<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut body = serializer.serialize_map(Some(2))?;
        body.serialize_entry("allocation_requests", &Requests(self))?;
        body.serialize_entry("provider_summaries", &Summaries(self))?;
        body.end()
    }
}

/// `allocation_requests`.
struct Requests<'b, 'a>(&'b Body<'a>);

impl Serialize for Requests<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let answer = self.0.answer;
        let mut list = serializer.serialize_seq(Some(answer.candidates.len()))?;
        for c in &answer.candidates {
            list.serialize_element(&Request {
                c,
                answer,
                mv: self.0.mv,
            })?;
        }
        list.end()
    }
}

/// One allocation request: a dict keyed by provider from 1.12, a list
/// before.
struct Request<'a> {
    c: &'a Candidate,
    answer: &'a CandidatesAnswer,
    mv: Microversion,
}

/// One provider's part of a candidate: its UUID and (class name, amount)
/// pairs sorted by name.
type ProviderPart<'a> = (&'a str, Vec<(&'a str, i64)>);

impl<'a> Request<'a> {
    /// The candidate's providers sorted by UUID, each with its classes
    /// sorted by name, as upstream's clients have always seen them from us.
    fn by_provider<E: serde::ser::Error>(&self) -> Result<Vec<ProviderPart<'a>>, E> {
        let answer: &'a CandidatesAnswer = self.answer;
        let mut parts: Vec<ProviderPart<'a>> = Vec::new();
        let mut last = None;
        for a in &self.c.allocations {
            let class = answer
                .class_name(a.class)
                .ok_or_else(|| E::custom(format!("no name for class {}", a.class)))?;
            if last != Some(a.provider) {
                let uuid = provider_uuid(answer, a.provider)?;
                parts.push((uuid, Vec::new()));
                last = Some(a.provider);
            }
            if let Some((_, classes)) = parts.last_mut() {
                classes.push((class, a.amount));
            }
        }
        for (_, classes) in &mut parts {
            classes.sort_unstable_by(|x, y| x.0.cmp(y.0));
        }
        parts.sort_unstable_by(|x, y| x.0.cmp(y.0));
        Ok(parts)
    }
}

fn provider_uuid<E: serde::ser::Error>(
    answer: &CandidatesAnswer,
    id: ResourceProviderId,
) -> Result<&str, E> {
    answer
        .provider_uuid(id)
        .ok_or_else(|| E::custom(format!("no UUID for provider {id}")))
}

impl Serialize for Request<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let dict = self.mv.matches(DICT_REQUESTS.0, DICT_REQUESTS.1);
        let with_mappings = dict && self.mv.matches(MAPPINGS.0, MAPPINGS.1);
        let parts = self.by_provider::<S::Error>()?;
        let mut item = serializer.serialize_map(Some(1 + usize::from(with_mappings)))?;
        if dict {
            item.serialize_entry("allocations", &ByProvider(&parts))?;
            if with_mappings {
                item.serialize_entry(
                    "mappings",
                    &Mappings {
                        c: self.c,
                        answer: self.answer,
                    },
                )?;
            }
        } else {
            item.serialize_entry("allocations", &AsList(&parts))?;
        }
        item.end()
    }
}

/// `{rp_uuid: {"resources": {class: amount}}}`.
struct ByProvider<'p, 'a>(&'p [ProviderPart<'a>]);

impl Serialize for ByProvider<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (rp, classes) in self.0 {
            map.serialize_entry(rp, &Resources(classes))?;
        }
        map.end()
    }
}

/// `{"resources": {class: amount}}`.
struct Resources<'p, 'a>(&'p [(&'a str, i64)]);

impl Serialize for Resources<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("resources", &Amounts(self.0))?;
        map.end()
    }
}

/// `{class: amount}`.
struct Amounts<'p, 'a>(&'p [(&'a str, i64)]);

impl Serialize for Amounts<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (class, amount) in self.0 {
            map.serialize_entry(class, amount)?;
        }
        map.end()
    }
}

/// `[{"resource_provider": {"uuid": rp_uuid}, "resources": {...}}]`.
struct AsList<'p, 'a>(&'p [ProviderPart<'a>]);

impl Serialize for AsList<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut list = serializer.serialize_seq(Some(self.0.len()))?;
        for (rp, classes) in self.0 {
            list.serialize_element(&ListEntry { rp, classes })?;
        }
        list.end()
    }
}

struct ListEntry<'p, 'a> {
    rp: &'a str,
    classes: &'p [(&'a str, i64)],
}

impl Serialize for ListEntry<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut entry = serializer.serialize_map(Some(2))?;
        entry.serialize_entry("resource_provider", &ProviderRef(self.rp))?;
        entry.serialize_entry("resources", &Amounts(self.classes))?;
        entry.end()
    }
}

/// `{"uuid": rp_uuid}`.
struct ProviderRef<'a>(&'a str);

impl Serialize for ProviderRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("uuid", self.0)?;
        map.end()
    }
}

/// `{suffix: [rp_uuid, ...]}`, each list sorted by UUID.
struct Mappings<'a> {
    c: &'a Candidate,
    answer: &'a CandidatesAnswer,
}

impl Serialize for Mappings<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.c.mappings.len()))?;
        for (suffix, providers) in &self.c.mappings {
            let mut uuids = providers
                .iter()
                .map(|p| provider_uuid::<S::Error>(self.answer, *p))
                .collect::<Result<Vec<&str>, S::Error>>()?;
            uuids.sort_unstable();
            map.serialize_entry(suffix, &uuids)?;
        }
        map.end()
    }
}

/// `provider_summaries`, keyed by provider UUID.
struct Summaries<'b, 'a>(&'b Body<'a>);

impl Serialize for Summaries<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut sorted: Vec<&ProviderSummary> = self.0.answer.summaries.iter().collect();
        sorted.sort_unstable_by(|a, b| a.uuid.cmp(&b.uuid));
        let mut map = serializer.serialize_map(Some(sorted.len()))?;
        for ps in sorted {
            map.serialize_entry(&ps.uuid, &Summary { ps, body: self.0 })?;
        }
        map.end()
    }
}

/// One provider's summary, with the fields of `mv`.
struct Summary<'b, 'a> {
    ps: &'b ProviderSummary,
    body: &'b Body<'a>,
}

impl Serialize for Summary<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mv = self.body.mv;
        let nested = mv.matches(NESTED.0, NESTED.1);
        let traits = mv.matches(SUMMARY_TRAITS.0, SUMMARY_TRAITS.1);
        let len = 1 + 2 * usize::from(nested) + usize::from(traits);
        let mut entry = serializer.serialize_map(Some(len))?;
        if nested {
            entry.serialize_entry("parent_provider_uuid", &self.ps.parent_uuid)?;
        }
        let mut resources: Vec<&SummaryResource> = self
            .ps
            .resources
            .iter()
            .filter(|r| {
                self.body
                    .requested
                    .as_ref()
                    .is_none_or(|classes| classes.contains(r.resource_class.as_str()))
            })
            .collect();
        resources.sort_unstable_by(|a, b| a.resource_class.cmp(&b.resource_class));
        entry.serialize_entry("resources", &Figures(&resources))?;
        if nested {
            entry.serialize_entry("root_provider_uuid", &self.ps.root_uuid)?;
        }
        if traits {
            entry.serialize_entry("traits", &self.ps.traits)?;
        }
        entry.end()
    }
}

/// `{class: {"capacity": c, "used": u}}`, classes sorted.
struct Figures<'a>(&'a [&'a SummaryResource]);

impl Serialize for Figures<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for r in self.0 {
            map.serialize_entry(
                &r.resource_class,
                &CapacityUsed {
                    capacity: r.capacity,
                    used: r.used,
                },
            )?;
        }
        map.end()
    }
}

/// A summarized inventory's figures.
#[derive(serde::Serialize)]
struct CapacityUsed {
    capacity: i64,
    used: i64,
}
