//! The error answers every operation can give, added to the OpenAPI document so that it
//! matches what the server sends: the gate's 401, 403 and 429, the body limit's 413, the JSON
//! extractor's 415 and 422, the query extractor's 400, the timeout's 408, an unknown path
//! parameter's 404 and the audit log's 503 on changes. Each is `{"error": "..."}`
//! ([`ErrorBody`](crate::error::ErrorBody)); answers a handler already documents are kept.
//! The ingest routes' 400 has two shapes: the report of refused lines, or an error.

use axum::http::Method;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::{HttpMethod, Operation, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{OneOfBuilder, Schema};
use utoipa::openapi::{Content, Object, OpenApi, Ref, RefOr, Response, Type};

use crate::access::{policy, Access};

/// Adds the error answers to every operation of `api`.
pub fn add(api: &mut OpenApi) {
    for (path, item) in api.paths.paths.iter_mut() {
        let operations = [
            (HttpMethod::Get, &mut item.get),
            (HttpMethod::Post, &mut item.post),
            (HttpMethod::Put, &mut item.put),
            (HttpMethod::Delete, &mut item.delete),
            (HttpMethod::Patch, &mut item.patch),
        ];
        for (method, op) in operations {
            if let Some(op) = op {
                add_to(path, &method, op);
            }
        }
    }
}

fn add_to(path: &str, method: &HttpMethod, op: &mut Operation) {
    let http = match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        _ => Method::PATCH,
    };
    let public = policy(&http, path) == Some(Access::Public);
    let has = |kind: ParameterIn| {
        op.parameters.iter().flatten().any(|p| match p {
            RefOr::T(p) => p.parameter_in == kind,
            RefOr::Ref(_) => false,
        })
    };
    let (query, in_path) = (has(ParameterIn::Query), has(ParameterIn::Path));
    let body = op.request_body.as_ref().and_then(|b| match b {
        RefOr::T(b) => Some(b.content.contains_key("application/json")),
        RefOr::Ref(_) => None,
    });
    let mut add = |status: &str, response: Response| {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert(RefOr::T(response));
    };
    if !public {
        add(
            "401",
            error("No valid credential")
                .header("WWW-Authenticate", Header::default())
                .build(),
        );
        add(
            "403",
            error("The credential's role may not call this route").build(),
        );
        add(
            "429",
            error("Request rate limit of the credential exceeded")
                .header("Retry-After", Header::new(Object::with_type(Type::Integer)))
                .build(),
        );
    }
    add("408", error("The request did not complete in time").build());
    if query || body.is_some() {
        add("400", error("A parameter or the body is invalid").build());
    }
    if in_path {
        add(
            "404",
            error("Not found (or outside the credential's scope)").build(),
        );
    }
    if body.is_some() {
        add(
            "413",
            error("The body is larger than the route accepts").build(),
        );
    }
    if body == Some(true) {
        add(
            "415",
            error("The body is not sent as Content-Type: application/json").build(),
        );
        add(
            "422",
            error("The JSON body does not have the fields and types of the schema").build(),
        );
    }
    if !matches!(method, HttpMethod::Get) && !public {
        add(
            "503",
            error("The change is refused: the audit log or the store cannot be written").build(),
        );
    }
    if is_ingest(path) {
        add_ingest_refusal(op);
    }
}

/// The ingest routes (their 400 is a report of refused lines, or an error).
fn is_ingest(path: &str) -> bool {
    matches!(
        path,
        "/write" | "/api/v2/write" | "/api/v1/readings" | "/api/v1/readings/csv"
    )
}

fn add_ingest_refusal(op: &mut Operation) {
    let either = OneOfBuilder::new()
        .item(Ref::from_schema_name("IngestReport"))
        .item(Ref::from_schema_name("ErrorBody"))
        .build();
    op.responses.responses.insert(
        "400".into(),
        RefOr::T(
            ResponseBuilder::new()
                .description("Some lines refused (the report; the good lines are stored unless atomic=true), or the request is invalid (an error: bad precision, a body that is not UTF-8 or not a JSON batch)")
                .content("application/json", Content::new(Some(Schema::OneOf(either))))
                .build(),
        ),
    );
}

fn error(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        Content::new(Some(Ref::from_schema_name("ErrorBody"))),
    )
}
