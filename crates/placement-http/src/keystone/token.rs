//! Keystone's answer about one token (`{"token": {…}}` of
//! `GET /v3/auth/tokens` and `POST /v3/auth/tokens`), parsed once into what
//! the validator needs: who, scoped to what, with which roles, until when.
//!
//! Parsed as keystoneauth's `AccessInfoV3` reads it: absent members are
//! `None`, `is_admin_project` defaults to true, role names keep the token's
//! order (Keystone has already expanded implied roles).

use axum::http::HeaderValue;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

/// An id and a name, as Keystone gives users, projects and domains.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Named {
    pub(crate) id: Option<String>,
    pub(crate) name: Option<String>,
}

/// A user or project with its domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Scoped {
    pub(crate) id: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) domain: Named,
}

/// One endpoint of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub(crate) interface: String,
    pub(crate) url: String,
    /// `region` (the name keystonemiddleware groups by).
    pub(crate) region: Option<String>,
    /// `region_id` (what keystoneauth also matches `region_name` against).
    pub(crate) region_id: Option<String>,
}

/// One service of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Service {
    pub(crate) service_type: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) endpoints: Vec<Endpoint>,
}

/// An application credential's access rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccessRule {
    pub(crate) method: Option<String>,
    pub(crate) path: Option<String>,
    pub(crate) service: Option<String>,
}

/// What Keystone said about a token.
#[derive(Debug, Clone)]
pub(crate) struct TokenData {
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) issued_at: Option<DateTime<Utc>>,
    pub(crate) user: Scoped,
    pub(crate) project: Option<Scoped>,
    pub(crate) domain: Option<Named>,
    /// `Some("all")` for a token scoped to the whole system.
    pub(crate) system_scope: Option<String>,
    pub(crate) roles: Vec<String>,
    pub(crate) is_admin_project: bool,
    /// `None` when the answer had no catalog (`?nocatalog`).
    pub(crate) catalog: Option<Vec<Service>>,
    /// `X-Service-Catalog`, written once: keystonemiddleware's v2-style
    /// catalog as `json.dumps` writes it.
    pub(crate) catalog_header: Option<HeaderValue>,
    /// `Some` when the token comes from an application credential with
    /// access rules (an empty list allows nothing).
    pub(crate) access_rules: Option<Vec<AccessRule>>,
    /// Whether the token is bound to Kerberos, which this service cannot
    /// check (keystonemiddleware's permissive bind mode refuses it).
    pub(crate) kerberos_bound: bool,
}

/// A token answer that cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TokenDataError {
    #[error("token data is not a JSON object with a token: {0}")]
    Shape(#[from] serde_json::Error),
    #[error("token data has no usable expires_at")]
    Expiry,
}

impl TokenData {
    /// Parses a validation or login answer.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, TokenDataError> {
        let raw: RawBody = serde_json::from_slice(body)?;
        Self::from_raw(raw.token)
    }

    fn from_raw(raw: RawToken) -> Result<Self, TokenDataError> {
        let expires_at = raw
            .expires_at
            .as_deref()
            .and_then(parse_keystone_time)
            .ok_or(TokenDataError::Expiry)?;
        let system_scope = raw
            .system
            .as_ref()
            .and_then(|system| system.get("all"))
            .filter(|all| truthy(all))
            .map(|_| "all".to_owned());
        let catalog = raw.catalog.map(|services| {
            services
                .into_iter()
                .map(|service| Service {
                    service_type: service.service_type,
                    name: service.name,
                    endpoints: service
                        .endpoints
                        .into_iter()
                        .filter_map(|endpoint| {
                            Some(Endpoint {
                                interface: endpoint.interface?,
                                url: endpoint.url?,
                                region: endpoint.region,
                                region_id: endpoint.region_id,
                            })
                        })
                        .collect(),
                })
                .collect::<Vec<_>>()
        });
        let catalog_header = catalog.as_deref().and_then(catalog_header);
        let access_rules = raw
            .application_credential
            .and_then(|credential| credential.access_rules)
            .map(|rules| {
                rules
                    .into_iter()
                    .map(|rule| AccessRule {
                        method: rule.method,
                        path: rule.path,
                        service: rule.service,
                    })
                    .collect()
            });
        let kerberos_bound = raw
            .bind
            .as_ref()
            .is_some_and(|bind| bind.contains_key("kerberos"));
        Ok(Self {
            expires_at,
            issued_at: raw.issued_at.as_deref().and_then(parse_keystone_time),
            user: raw.user.map(RawScoped::into_scoped).unwrap_or_default(),
            project: raw.project.map(RawScoped::into_scoped),
            domain: raw.domain.map(|domain| Named {
                id: domain.id,
                name: domain.name,
            }),
            system_scope,
            roles: raw.roles.into_iter().filter_map(|role| role.name).collect(),
            is_admin_project: raw.is_admin_project.unwrap_or(true),
            catalog,
            catalog_header,
            access_rules,
            kerberos_bound,
        })
    }

    /// Whether the token has expired at `now` (keystonemiddleware's
    /// `will_expire_soon(stale_duration=0)`).
    pub(crate) fn is_expired_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now
    }

    /// Whether any of the token's roles is one of `wanted` (case-sensitive,
    /// as keystonemiddleware intersects the sets).
    pub(crate) fn has_any_role(&self, wanted: &[String]) -> bool {
        self.roles.iter().any(|role| wanted.contains(role))
    }
}

/// Keystone's timestamps: `2026-12-03T10:35:09.000000Z`. Offsets other than
/// `Z` and a missing zone (read as UTC, as iso8601 does for keystoneauth)
/// are accepted too.
pub(crate) fn parse_keystone_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|naive| naive.and_utc())
}

/// Python's truthiness for a JSON value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// keystonemiddleware's `_normalize_catalog`: per service its type, name
/// and endpoints grouped by region as `{"region": …, "publicURL": …}`,
/// serialized as `json.dumps` does.
fn catalog_header(catalog: &[Service]) -> Option<HeaderValue> {
    let services: Vec<NormalizedService<'_>> = catalog
        .iter()
        .map(|service| {
            let mut regions: Vec<(Option<&str>, Fields<'_>)> = Vec::new();
            for endpoint in &service.endpoints {
                let region_name = endpoint.region.as_deref();
                let position = match regions.iter().position(|(name, _)| *name == region_name) {
                    Some(position) => position,
                    None => {
                        let mut fields = Fields(Vec::new());
                        if let Some(name) = region_name.filter(|name| !name.is_empty()) {
                            fields.0.push(("region".to_owned(), name));
                        }
                        regions.push((region_name, fields));
                        regions.len() - 1
                    }
                };
                let key = format!("{}URL", endpoint.interface.to_lowercase());
                let fields = &mut regions[position].1 .0;
                match fields.iter_mut().find(|(existing, _)| *existing == key) {
                    Some(field) => field.1 = &endpoint.url,
                    None => fields.push((key, &endpoint.url)),
                }
            }
            NormalizedService {
                service_type: service.service_type.as_deref(),
                name: service.name.as_deref(),
                endpoints: regions.into_iter().map(|(_, fields)| fields).collect(),
            }
        })
        .collect();
    let json = match crate::json::to_vec(&services) {
        Ok(json) => json,
        Err(error) => {
            tracing::warn!(%error, "cannot write the service catalog header");
            return None;
        }
    };
    // ensure_ascii keeps the JSON in printable ASCII, a valid header value.
    HeaderValue::from_bytes(&json).ok()
}

#[derive(serde::Serialize)]
struct NormalizedService<'a> {
    #[serde(rename = "type")]
    service_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    endpoints: Vec<Fields<'a>>,
}

/// A dict with keys in insertion order.
struct Fields<'a>(Vec<(String, &'a str)>);

impl serde::Serialize for Fields<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

#[derive(Deserialize)]
struct RawBody {
    token: RawToken,
}

#[derive(Deserialize)]
struct RawToken {
    expires_at: Option<String>,
    issued_at: Option<String>,
    user: Option<RawScoped>,
    project: Option<RawScoped>,
    domain: Option<RawNamed>,
    system: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    roles: Vec<RawRole>,
    catalog: Option<Vec<RawService>>,
    is_admin_project: Option<bool>,
    application_credential: Option<RawApplicationCredential>,
    bind: Option<serde_json::Map<String, Value>>,
}

#[derive(Deserialize)]
struct RawNamed {
    id: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct RawScoped {
    id: Option<String>,
    name: Option<String>,
    domain: Option<RawNamed>,
}

impl RawScoped {
    fn into_scoped(self) -> Scoped {
        Scoped {
            id: self.id,
            name: self.name,
            domain: self
                .domain
                .map(|domain| Named {
                    id: domain.id,
                    name: domain.name,
                })
                .unwrap_or_default(),
        }
    }
}

#[derive(Deserialize)]
struct RawRole {
    name: Option<String>,
}

#[derive(Deserialize)]
struct RawService {
    #[serde(rename = "type")]
    service_type: Option<String>,
    name: Option<String>,
    #[serde(default)]
    endpoints: Vec<RawEndpoint>,
}

#[derive(Deserialize)]
struct RawEndpoint {
    interface: Option<String>,
    url: Option<String>,
    region: Option<String>,
    region_id: Option<String>,
}

#[derive(Deserialize)]
struct RawApplicationCredential {
    access_rules: Option<Vec<RawAccessRule>>,
}

#[derive(Deserialize)]
struct RawAccessRule {
    method: Option<String>,
    path: Option<String>,
    service: Option<String>,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;

    /// A project-scoped validation answer as Keystone 30.0.0 sends it.
    pub(crate) fn project_token_json(expires_at: &str) -> String {
        format!(
            r#"{{"token": {{"methods": ["password"], "user": {{"domain": {{"id": "default", "name": "Default"}}, "id": "u1", "name": "alice", "password_expires_at": null}}, "audit_ids": ["x"], "expires_at": "{expires_at}", "issued_at": "2026-12-03T09:35:09.000000Z", "project": {{"domain": {{"id": "default", "name": "Default"}}, "id": "p1", "name": "demo"}}, "is_domain": false, "roles": [{{"id": "r1", "name": "reader"}}, {{"id": "r2", "name": "member"}}], "catalog": [{{"endpoints": [{{"id": "e1", "interface": "public", "region_id": "RegionOne", "url": "http://ks/v3", "region": "RegionOne"}}, {{"id": "e2", "interface": "internal", "region_id": "RegionOne", "url": "http://ks-int/v3", "region": "RegionOne"}}], "id": "s1", "type": "identity", "name": "keystone"}}]}}}}"#
        )
    }

    #[test]
    fn keystones_expiry_format_is_read_as_utc() {
        let expected = Utc.with_ymd_and_hms(2026, 12, 3, 10, 35, 9).unwrap();
        assert_eq!(
            parse_keystone_time("2026-12-03T10:35:09.000000Z"),
            Some(expected)
        );
        assert_eq!(parse_keystone_time("2026-12-03T10:35:09Z"), Some(expected));
        assert_eq!(
            parse_keystone_time("2026-12-03T11:35:09.000000+01:00"),
            Some(expected)
        );
        assert_eq!(
            parse_keystone_time("2026-12-03T10:35:09.000000"),
            Some(expected)
        );
        assert_eq!(parse_keystone_time("tomorrow"), None);
    }

    #[test]
    fn a_project_token_is_read_with_its_roles_in_order() {
        let data =
            TokenData::parse(project_token_json("2026-12-03T10:35:09.000000Z").as_bytes()).unwrap();
        assert_eq!(data.user.id.as_deref(), Some("u1"));
        assert_eq!(data.user.name.as_deref(), Some("alice"));
        assert_eq!(data.user.domain.id.as_deref(), Some("default"));
        let project = data.project.as_ref().unwrap();
        assert_eq!(project.id.as_deref(), Some("p1"));
        assert_eq!(project.domain.name.as_deref(), Some("Default"));
        assert_eq!(data.roles, ["reader", "member"]);
        assert!(data.is_admin_project);
        assert_eq!(data.system_scope, None);
        assert!(data.access_rules.is_none());
        assert!(!data.kerberos_bound);
    }

    #[test]
    fn expiry_is_checked_against_the_given_time() {
        let data =
            TokenData::parse(project_token_json("2026-12-03T10:35:09.000000Z").as_bytes()).unwrap();
        let at = Utc.with_ymd_and_hms(2026, 12, 3, 10, 35, 9).unwrap();
        assert!(data.is_expired_at(at));
        assert!(!data.is_expired_at(at - chrono::Duration::seconds(1)));
    }

    #[test]
    fn a_token_without_expiry_is_unusable() {
        let body = br#"{"token": {"user": {"id": "u"}}}"#;
        assert!(matches!(
            TokenData::parse(body),
            Err(TokenDataError::Expiry)
        ));
        assert!(matches!(
            TokenData::parse(b"[]"),
            Err(TokenDataError::Shape(_))
        ));
    }

    #[test]
    fn a_system_token_is_scoped_to_all() {
        let body = br#"{"token": {"expires_at": "2030-01-01T00:00:00.000000Z", "system": {"all": true}, "roles": [{"name": "admin"}], "user": {"id": "u"}}}"#;
        let data = TokenData::parse(body).unwrap();
        assert_eq!(data.system_scope.as_deref(), Some("all"));
        assert!(data.project.is_none());
        let body =
            br#"{"token": {"expires_at": "2030-01-01T00:00:00Z", "system": {"all": false}}}"#;
        assert_eq!(TokenData::parse(body).unwrap().system_scope, None);
    }

    #[test]
    fn the_catalog_header_is_keystonemiddlewares_v2_form() {
        let body = br#"{"token": {"expires_at": "2030-01-01T00:00:00Z", "catalog": [
            {"type": "identity", "name": "keystone", "endpoints": [
                {"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": "http://a/v3"},
                {"interface": "internal", "region": "RegionOne", "region_id": "RegionOne", "url": "http://b/v3"},
                {"interface": "public", "region": "Two", "region_id": "Two", "url": "http://c/v3"}]},
            {"type": "placement", "endpoints": [{"interface": "admin", "url": "http://p\u00e9"}]}]}}"#;
        let data = TokenData::parse(body).unwrap();
        assert_eq!(
            data.catalog_header.unwrap(),
            "[{\"type\": \"identity\", \"name\": \"keystone\", \"endpoints\": [{\"region\": \
             \"RegionOne\", \"publicURL\": \"http://a/v3\", \"internalURL\": \"http://b/v3\"}, \
             {\"region\": \"Two\", \"publicURL\": \"http://c/v3\"}]}, {\"type\": \"placement\", \
             \"endpoints\": [{\"adminURL\": \"http://p\\u00e9\"}]}]"
        );
    }

    #[test]
    fn no_catalog_means_no_catalog_header() {
        let body = br#"{"token": {"expires_at": "2030-01-01T00:00:00Z"}}"#;
        let data = TokenData::parse(body).unwrap();
        assert!(data.catalog.is_none());
        assert!(data.catalog_header.is_none());
    }

    #[test]
    fn access_rules_and_kerberos_binds_are_noticed() {
        let body = br#"{"token": {"expires_at": "2030-01-01T00:00:00Z", "is_admin_project": false,
            "application_credential": {"id": "a", "access_rules": [{"method": "GET", "path": "/x", "service": "placement"}]},
            "bind": {"kerberos": "alice@EXAMPLE"}}}"#;
        let data = TokenData::parse(body).unwrap();
        assert_eq!(data.access_rules.unwrap().len(), 1);
        assert!(data.kerberos_bound);
        assert!(!data.is_admin_project);
        let body = br#"{"token": {"expires_at": "2030-01-01T00:00:00Z", "application_credential": {"id": "a"}}}"#;
        assert!(TokenData::parse(body).unwrap().access_rules.is_none());
    }
}
