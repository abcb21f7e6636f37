//! `/dashboard/api/catalog`: the provider catalog, searched server-side for the new-integration form.

use crate::dashboard::auth::Admin;
use crate::http::extract::Query;
use crate::integration_config;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use latchkey_protocol::dashboard::CatalogEntry;

#[derive(serde::Deserialize)]
pub(super) struct CatalogQuery {
    #[serde(default)]
    q: String,
}

/// Providers whose name or display name holds every word of `q`, best first (a name that starts
/// with the query before one that contains it); at most 50.
pub(super) async fn catalog(
    State(app): State<AppState>,
    _admin: Admin,
    Query(q): Query<CatalogQuery>,
) -> Json<Vec<CatalogEntry>> {
    let needle = q.q.trim().to_lowercase();
    let words: Vec<&str> = needle.split_whitespace().collect();
    let mut hits: Vec<(bool, CatalogEntry)> =
        app.catalog
            .iter()
            .filter_map(|(name, e)| {
                // Entries the engine cannot run (no provider) are not offered.
                let p = e.provider.as_ref()?;
                let hay = format!("{} {}", name, p.display_name).to_lowercase();
                words.iter().all(|w| hay.contains(w)).then(|| {
                    let starts = name.starts_with(&needle)
                        || p.display_name.to_lowercase().starts_with(&needle);
                    (
                        !starts,
                        CatalogEntry {
                            name: name.clone(),
                            display_name: p.display_name.clone(),
                            auth_mode: p.auth_mode.as_str().to_string(),
                            app_credentials: p.auth_mode.holds_app_credentials(),
                            integration_config: integration_config::fields(
                                integration_config::schema(&app.catalog, name),
                            ),
                        },
                    )
                })
            })
            .collect();
    hits.sort_by(|a, b| (a.0, &a.1.display_name).cmp(&(b.0, &b.1.display_name)));
    Json(hits.into_iter().take(50).map(|(_, e)| e).collect())
}
