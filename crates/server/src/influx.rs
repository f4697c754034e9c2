//! InfluxDB 1.x compatibility beyond the line protocol of `/write`: `/ping` as InfluxDB
//! answers it, and the credentials v1 clients send with a write — HTTP Basic or the `u` and `p`
//! query parameters, whose password is an API token or a user's password.

use std::collections::HashMap;

use axum::extract::{Query, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// The version `/ping` reports: InfluxDB 1.8 (what the write side is compatible with), with
/// shulv's version as semver build metadata.
pub(crate) fn version() -> String {
    format!("1.8.10+shulv.{}", env!("CARGO_PKG_VERSION"))
}

/// Query parameters of `/ping`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct PingParams {
    /// Any value but empty, `0` or `false`: answer 200 with the version in JSON instead of 204.
    pub verbose: Option<String>,
}

/// The verbose answer of `/ping`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PingBody {
    /// The InfluxDB version the server is compatible with (and shulv's version).
    pub version: String,
}

/// InfluxDB 1.x `/ping` (also `HEAD`): 204 with `X-Influxdb-Version` and `X-Influxdb-Build`,
/// no credential needed.
#[utoipa::path(get, path = "/ping", tag = "ingest", params(PingParams), security(()),
    responses((status = 204, description = "Up (InfluxDB 1.x ping)",
            headers(("X-Influxdb-Version" = String), ("X-Influxdb-Build" = String))),
        (status = 200, description = "Up, with `verbose`", body = PingBody)))]
pub async fn ping(Query(params): Query<PingParams>) -> Response {
    let verbose = params
        .verbose
        .is_some_and(|v| !v.is_empty() && v != "0" && v != "false");
    let version = version();
    let mut response = if verbose {
        (
            StatusCode::OK,
            Json(PingBody {
                version: version.clone(),
            }),
        )
            .into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&version) {
        h.insert("x-influxdb-version", v);
    }
    h.insert("x-influxdb-build", HeaderValue::from_static("OSS"));
    response
}

/// A user name and password as InfluxDB 1.x clients send them.
pub struct V1Credential {
    /// The user name (may be empty with a token as the password).
    pub user: String,
    /// An API token or the user's password.
    pub password: String,
}

/// The v1 credential of a request: the `u` and `p` query parameters, else
/// `Authorization: Basic` (InfluxDB's order: clients send both, with a default user in the
/// header). `None` when it has neither (or a bearer token).
pub fn v1_credential(request: &Request) -> Option<V1Credential> {
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| !scheme.eq_ignore_ascii_case("basic"));
    if bearer.is_some() {
        return None;
    }
    if let Ok(Query(mut params)) = Query::<HashMap<String, String>>::try_from_uri(request.uri()) {
        if let Some(password) = params.remove("p") {
            return Some(V1Credential {
                user: params.remove("u").unwrap_or_default(),
                password,
            });
        }
    }
    let value = request.headers().get(header::AUTHORIZATION)?;
    let (_, encoded) = value.to_str().ok()?.split_once(' ')?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some(V1Credential {
        user: user.to_string(),
        password: password.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(uri: &str, authorization: Option<&str>) -> Request {
        let mut b = axum::http::Request::builder().uri(uri);
        if let Some(a) = authorization {
            b = b.header(header::AUTHORIZATION, a);
        }
        b.body(Body::empty()).unwrap()
    }

    #[test]
    fn basic_and_query_credentials_are_read() {
        // "alice:pa:ss" in base64: the password may contain ':'.
        let c = v1_credential(&request("/write", Some("Basic YWxpY2U6cGE6c3M="))).unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("alice", "pa:ss"));
        let c = v1_credential(&request("/write?db=x&u=bob&p=s%20t", None)).unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("bob", "s t"));
        let c = v1_credential(&request("/write?p=shulv_token", None)).unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("", "shulv_token"));
        assert!(v1_credential(&request("/write?p=x", Some("Bearer t"))).is_none());
        assert!(v1_credential(&request("/write?u=bob", None)).is_none());
        assert!(v1_credential(&request("/write", Some("Basic !!"))).is_none());
        // The parameters win over the header (the Python client sends root:root in it).
        let both = request("/write?u=bob&p=pw", Some("Basic cm9vdDpyb290"));
        assert_eq!(v1_credential(&both).unwrap().user, "bob");
    }
}
