//! Reading the server's answers into typed structs: a field the CLI prints that is missing,
//! renamed or of another type is an error naming the field and the route, never an empty cell.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Reads the answer of `route` (e.g. `GET /api/v1/tokens`) into `T`.
pub fn parse<T: DeserializeOwned>(route: &str, text: &str) -> anyhow::Result<T> {
    serde_json::from_str(text).map_err(|e| unexpected(route, &e))
}

fn unexpected(route: &str, e: &serde_json::Error) -> anyhow::Error {
    anyhow::anyhow!("unexpected answer from {route}: {e}")
}

/// A field the server always sends that may be `null`: an `Option` without skip, or a number
/// (serde_json writes NaN and infinities as `null`). Unlike a plain `Option`, a missing field is
/// an error. Displayed as `-` when null, else as the value (width and precision apply).
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct Nullable<T>(pub Option<T>);

impl<T: fmt::Display> fmt::Display for Nullable<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(v) => v.fmt(f),
            None => f.pad("-"),
        }
    }
}

/// A number the server always sends, NaN when it is `null` (serde_json writes NaN and
/// infinities as `null`); a missing field is an error. Displayed as the number.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(from = "Nullable<f64>")]
pub struct Float(pub f64);

impl From<Nullable<f64>> for Float {
    fn from(n: Nullable<f64>) -> Self {
        Float(n.0.unwrap_or(f64::NAN))
    }
}

impl fmt::Display for Float {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Float {
    /// The number as JSON spells it (`12.0`, `1e-7`; `null` for NaN and infinities), for CSV
    /// cells that repeat the server's numbers as it wrote them.
    pub fn json(self) -> String {
        serde_json::Value::from(self.0).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Part of a token as `shulv token create` reads it.
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Token {
        id: String,
        expires_ms: Nullable<i64>,
    }

    #[test]
    fn a_renamed_field_is_an_error_naming_it_and_the_route() {
        let e = parse::<Token>(
            "GET /api/v1/tokens",
            r#"{"token_id":"t1","expires_ms":null}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("unexpected answer from GET /api/v1/tokens: missing field `id`"),
            "{e}"
        );
        let e = parse::<Token>("GET /api/v1/tokens", r#"{"id":"t1"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing field `expires_ms`"), "{e}");
    }

    #[test]
    fn nullable_prints_a_dash_for_null() {
        let t: Token = parse("GET /api/v1/tokens", r#"{"id":"t1","expires_ms":null}"#).unwrap();
        assert_eq!(t.id, "t1");
        assert_eq!(format!("{:>3}", t.expires_ms), "  -");
        assert_eq!(format!("{:>6.2}", Nullable(Some(1.5_f64))), "  1.50");
        let x: Vec<Float> = parse("GET /x", "[null, 2.5]").unwrap();
        assert!(x[0].0.is_nan());
        assert_eq!(format!("{:.2}", x[1]), "2.50");
    }

    #[test]
    fn json_spells_a_float_as_the_server_wrote_it() {
        let text = "[12.0,0.1,1e-7,123456.789,-3.5,null]";
        let x: Vec<Float> = parse("GET /x", text).unwrap();
        let spelled: Vec<String> = x.iter().map(|f| f.json()).collect();
        let original: Vec<serde_json::Value> = serde_json::from_str(text).unwrap();
        let original: Vec<String> = original.iter().map(|v| v.to_string()).collect();
        assert_eq!(spelled, original);
        assert_eq!(spelled[0], "12.0");
        assert_eq!(spelled[5], "null");
        assert_eq!(Float(f64::INFINITY).json(), "null");
    }
}
