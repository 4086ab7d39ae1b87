//! The route table, in the order of upstream's `ROUTE_DECLARATIONS`
//! (handler.py), and the generic answers around it: a JSON 404 for unknown
//! paths and a 405 with `Allow` for known paths with another method.
//!
//! Only implemented routes are listed; each resource's routes join the table
//! with their handlers, in upstream's position, so `Allow` lists methods in
//! upstream's order.

use axum::handler::Handler;
use axum::response::IntoResponse;
use axum::routing::{MethodFilter, MethodRouter};
use axum::Router;

use crate::error::ApiError;
use crate::handlers::{allocation, allocation_candidate, reshaper};
use crate::handlers::{
    inventory, provider_links, resource_class, resource_provider, root, trait_, usage,
};
use crate::settings::{AppState, UrlPrefix};

/// Upstream's declarations: path (relative to the mount) → methods. Each
/// handler module declares its own paths, in upstream's order within it.
fn table() -> Vec<Route> {
    let mut table = vec![
        Route::new("/").get(root::home),
        // Mounted under a prefix, the bare prefix is the root as well.
        Route::new("").get(root::home),
    ];
    table.extend(resource_class::routes());
    table.extend(resource_provider::routes());
    table.extend(inventory::routes());
    table.extend(usage::provider_routes());
    table.extend(provider_links::aggregate_routes());
    table.extend(allocation::provider_routes());
    table.extend(allocation::routes());
    table.extend(allocation_candidate::routes());
    table.extend(trait_::routes());
    table.extend(provider_links::trait_routes());
    table.extend(usage::total_routes());
    table.extend(reshaper::routes());
    table
}

/// Every path template of the table, relative to the mount (`""` is the
/// bare prefix), for labelling requests by route.
pub(crate) fn templates() -> Vec<&'static str> {
    table().into_iter().map(|route| route.path).collect()
}

/// One path and the methods it serves, in upstream's order (which is the
/// order of the `Allow` header on a 405).
pub(crate) struct Route {
    path: &'static str,
    methods: Vec<&'static str>,
    endpoint: MethodRouter<AppState>,
}

#[allow(
    dead_code,
    reason = "each method builder is used once its routes exist"
)]
impl Route {
    pub(crate) fn new(path: &'static str) -> Self {
        Self {
            path,
            methods: Vec::new(),
            endpoint: MethodRouter::new(),
        }
    }

    pub(crate) fn get<H, T>(self, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.on("GET", MethodFilter::GET, handler)
    }

    pub(crate) fn put<H, T>(self, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.on("PUT", MethodFilter::PUT, handler)
    }

    pub(crate) fn post<H, T>(self, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.on("POST", MethodFilter::POST, handler)
    }

    pub(crate) fn delete<H, T>(self, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.on("DELETE", MethodFilter::DELETE, handler)
    }

    fn on<H, T>(mut self, name: &'static str, filter: MethodFilter, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.methods.push(name);
        self.endpoint = self.endpoint.on(filter, handler);
        self
    }
}

/// The routes under `prefix`, with the 404 fallback and per-path 405s.
pub(crate) fn build(prefix: &UrlPrefix) -> Router<AppState> {
    let mut router = Router::new();
    for route in table() {
        let path = format!("{}{}", prefix.as_str(), route.path);
        if path.is_empty() {
            // The bare root only exists under a prefix.
            continue;
        }
        let allow = route.methods.join(", ");
        let not_allowed = move || {
            let allow = allow.clone();
            async move { ApiError::method_not_allowed(&allow).into_response() }
        };
        let mut endpoint = route.endpoint;
        if !route.methods.contains(&"HEAD") {
            // axum would answer HEAD with the GET handler; upstream's routes
            // match methods exactly, so HEAD is not allowed either.
            endpoint = endpoint.on(MethodFilter::HEAD, not_allowed.clone());
        }
        router = router.route(&path, endpoint.fallback(not_allowed));
    }
    router.fallback(not_found)
}

/// upstream's dispatch 404, raised before any handler ran.
async fn not_found() -> ApiError {
    ApiError::not_found("").before_dispatch()
}
