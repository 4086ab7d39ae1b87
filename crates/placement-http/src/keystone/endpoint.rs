//! Finding the identity endpoint, as keystoneauth does: version discovery
//! on `auth_url`, and the identity service's entry in the service user's
//! catalog for the configured interface and region.

use serde_json::Value;

use super::token::Service;

/// The v3 endpoint a version-discovery document offers: the `self` link of
/// the highest `v3.x` entry of a multiple-choice document
/// (`{"versions": {"values": […]}}`, or a bare list) or of a single-version
/// document (`{"version": {…}}`). `None` when there is no v3.
pub(crate) fn v3_from_discovery(body: &[u8]) -> Option<String> {
    let document: Value = serde_json::from_slice(body).ok()?;
    let entries: Vec<&Value> = match (document.get("versions"), document.get("version")) {
        (Some(Value::Object(versions)), _) => versions.get("values")?.as_array()?.iter().collect(),
        (Some(Value::Array(values)), _) => values.iter().collect(),
        (None, Some(version @ Value::Object(_))) => vec![version],
        _ => return None,
    };
    entries
        .into_iter()
        .filter_map(|entry| {
            let minor = v3_minor(entry.get("id")?.as_str()?)?;
            let status = entry
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase();
            // keystoneauth skips experimental versions unless asked for them.
            if status == "experimental" {
                return None;
            }
            let href = entry
                .get("links")?
                .as_array()?
                .iter()
                .find(|link| link.get("rel").and_then(Value::as_str) == Some("self"))?
                .get("href")?
                .as_str()?;
            is_absolute(href).then(|| (minor, href.to_owned()))
        })
        .max_by_key(|(minor, _)| *minor)
        .map(|(_, href)| href)
}

/// The minor version of an id `v3`, `v3.14` (0 for a bare `v3`).
fn v3_minor(id: &str) -> Option<u32> {
    let rest = id.strip_prefix('v').or_else(|| id.strip_prefix('V'))?;
    match rest.split_once('.') {
        Some(("3", minor)) => minor.parse().ok(),
        None if rest == "3" => Some(0),
        _ => None,
    }
}

fn is_absolute(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

/// Whether the URL's last path segment names v3 (`…/v3`, `…/v3/`,
/// `…/v3.14`): keystoneauth then uses it as is if discovery fails.
pub(crate) fn is_v3_url(url: &str) -> bool {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .trim_end_matches('/');
    let Some((_, last)) = path.rsplit_once('/') else {
        return false;
    };
    // Only a path segment, never the host of `http://v3`.
    path.matches('/').count() >= 3 && v3_minor(last).is_some()
}

/// `…/auth/tokens` under a v3 endpoint.
pub(crate) fn tokens_url(v3: &str) -> String {
    format!("{}/auth/tokens", v3.trim_end_matches('/'))
}

/// The catalog's name for an interface: keystoneauth accepts v2-style
/// `internalURL` and v3-style `internal`.
pub(crate) fn normalize_interface(interface: &str) -> String {
    let lower = interface.trim().to_ascii_lowercase();
    lower
        .strip_suffix("url")
        .map(str::to_owned)
        .unwrap_or(lower)
}

/// The URL of the identity service's endpoint for `interface` (normalized)
/// and, when given, `region` (matched against the endpoint's `region_id`
/// or `region`): the first such endpoint in catalog order.
pub(crate) fn identity_endpoint<'a>(
    catalog: &'a [Service],
    interface: &str,
    region: Option<&str>,
) -> Option<&'a str> {
    catalog
        .iter()
        .filter(|service| service.service_type.as_deref() == Some("identity"))
        .flat_map(|service| service.endpoints.iter())
        .find(|endpoint| {
            normalize_interface(&endpoint.interface) == interface
                && region.is_none_or(|region| {
                    endpoint.region_id.as_deref() == Some(region)
                        || endpoint.region.as_deref() == Some(region)
                })
        })
        .map(|endpoint| endpoint.url.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keystone::token::Endpoint;

    #[test]
    fn a_multiple_choice_document_offers_its_v3_self_link() {
        let body = br#"{"versions": {"values": [{"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z", "links": [{"rel": "self", "href": "http://127.0.0.1:5000/v3/"}], "media-types": []}]}}"#;
        assert_eq!(
            v3_from_discovery(body).as_deref(),
            Some("http://127.0.0.1:5000/v3/")
        );
    }

    #[test]
    fn a_single_version_document_offers_its_self_link() {
        let body = br#"{"version": {"id": "v3.14", "status": "stable", "links": [{"rel": "describedby", "href": "https://docs"}, {"rel": "self", "href": "https://ks/identity/v3/"}]}}"#;
        assert_eq!(
            v3_from_discovery(body).as_deref(),
            Some("https://ks/identity/v3/")
        );
    }

    #[test]
    fn the_highest_v3_wins_and_other_versions_are_ignored() {
        let body = br#"{"versions": [
            {"id": "v2.0", "status": "deprecated", "links": [{"rel": "self", "href": "http://ks/v2.0/"}]},
            {"id": "v3.2", "status": "supported", "links": [{"rel": "self", "href": "http://ks/old/"}]},
            {"id": "v3.14", "status": "stable", "links": [{"rel": "self", "href": "http://ks/v3/"}]},
            {"id": "v3.99", "status": "experimental", "links": [{"rel": "self", "href": "http://ks/next/"}]}]}"#;
        assert_eq!(v3_from_discovery(body).as_deref(), Some("http://ks/v3/"));
    }

    #[test]
    fn documents_without_v3_offer_nothing() {
        assert_eq!(v3_from_discovery(b"not json"), None);
        assert_eq!(v3_from_discovery(br#"{"versions": {"values": []}}"#), None);
        let v2 = br#"{"version": {"id": "v2.0", "links": [{"rel": "self", "href": "http://ks/v2.0/"}]}}"#;
        assert_eq!(v3_from_discovery(v2), None);
        let relative =
            br#"{"version": {"id": "v3.1", "links": [{"rel": "self", "href": "/v3/"}]}}"#;
        assert_eq!(v3_from_discovery(relative), None);
    }

    #[test]
    fn versioned_urls_are_recognized_by_their_last_segment() {
        assert!(is_v3_url("http://ks:5000/v3"));
        assert!(is_v3_url("http://ks:5000/identity/v3/"));
        assert!(is_v3_url("https://ks/v3.14"));
        assert!(!is_v3_url("http://ks:5000"));
        assert!(!is_v3_url("http://ks:5000/"));
        assert!(!is_v3_url("http://v3"));
        assert!(!is_v3_url("http://ks/v2.0"));
        assert!(!is_v3_url("http://ks/v30"));
    }

    #[test]
    fn the_tokens_url_has_one_slash() {
        assert_eq!(tokens_url("http://ks/v3/"), "http://ks/v3/auth/tokens");
        assert_eq!(tokens_url("http://ks/v3"), "http://ks/v3/auth/tokens");
    }

    fn endpoint(interface: &str, region: &str, url: &str) -> Endpoint {
        Endpoint {
            interface: interface.to_owned(),
            url: url.to_owned(),
            region: Some(region.to_owned()),
            region_id: Some(region.to_owned()),
        }
    }

    fn catalog() -> Vec<Service> {
        vec![
            Service {
                service_type: Some("placement".to_owned()),
                name: None,
                endpoints: vec![endpoint("internal", "One", "http://placement")],
            },
            Service {
                service_type: Some("identity".to_owned()),
                name: Some("keystone".to_owned()),
                endpoints: vec![
                    endpoint("public", "One", "http://public-one/v3"),
                    endpoint("internal", "One", "http://internal-one/v3"),
                    endpoint("public", "Two", "http://public-two/v3"),
                    endpoint("internal", "Two", "http://internal-two/v3"),
                ],
            },
        ]
    }

    #[test]
    fn the_catalog_endpoint_matches_interface_and_region() {
        let catalog = catalog();
        assert_eq!(
            identity_endpoint(&catalog, "internal", None),
            Some("http://internal-one/v3")
        );
        assert_eq!(
            identity_endpoint(&catalog, "public", Some("Two")),
            Some("http://public-two/v3")
        );
        assert_eq!(identity_endpoint(&catalog, "admin", None), None);
        assert_eq!(identity_endpoint(&catalog, "internal", Some("Three")), None);
    }

    #[test]
    fn v2_style_interface_names_are_accepted() {
        assert_eq!(normalize_interface("internalURL"), "internal");
        assert_eq!(normalize_interface("Public"), "public");
        let mut catalog = catalog();
        catalog[1].endpoints[0].interface = "publicURL".to_owned();
        assert_eq!(
            identity_endpoint(&catalog, &normalize_interface("publicURL"), Some("One")),
            Some("http://public-one/v3")
        );
    }
}
