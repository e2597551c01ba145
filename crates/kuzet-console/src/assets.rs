//! The console's static files, compiled into the binary.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const FILES: &[(&str, &str, &str)] = &[
    (
        "kuzet.css",
        "text/css; charset=utf-8",
        include_str!("../assets/kuzet.css"),
    ),
    (
        "kuzet.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/kuzet.js"),
    ),
];

pub(crate) async fn serve(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(file, _, _)| *file == name) {
        Some((_, media, text)) => (
            [
                (header::CONTENT_TYPE, *media),
                (header::CACHE_CONTROL, "public, max-age=300"),
            ],
            *text,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such console file").into_response(),
    }
}
