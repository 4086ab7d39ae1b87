//! The root of the API: the version document clients use to discover the
//! supported microversions (upstream's `handlers/root.py`).

use axum::response::{IntoResponse, Response};
use placement_core::microversion::Microversion;
use serde::Serialize;

use crate::extract::WantVersion;
use crate::json::PyJson;

/// `GET /` (and the bare mount prefix).
pub(crate) async fn home(WantVersion(want_version): WantVersion) -> Response {
    let min_version = Microversion::MIN.to_string();
    let document = Versions {
        versions: [Version {
            id: format!("v{min_version}"),
            max_version: Microversion::MAX.to_string(),
            min_version,
            // There is only one version, so it is current.
            status: "CURRENT",
            // A relative "this same URL", so placement never needs to know
            // the address a proxy exposes it under.
            links: [Link {
                rel: "self",
                href: "",
            }],
        }],
    };
    let mut response = PyJson(document).into_response();
    if want_version.matches(1, 15) {
        // A composite document: upstream stamps it "now".
        super::util::set_cache_headers(response.headers_mut(), Some(super::util::utcnow()));
    }
    response
}

#[derive(Serialize)]
struct Versions {
    versions: [Version; 1],
}

#[derive(Serialize)]
struct Version {
    id: String,
    max_version: String,
    min_version: String,
    status: &'static str,
    links: [Link; 1],
}

#[derive(Serialize)]
struct Link {
    rel: &'static str,
    href: &'static str,
}
