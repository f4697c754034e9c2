//! Property tests: no input panics the parser, errors point inside the input, parsing is
//! deterministic.

use proptest::prelude::*;
use shulv_influxql::parse;

/// Fragments of InfluxQL, to build token soups that get deep into the grammar.
const TOKENS: &[&str] = &[
    "SELECT",
    "SHOW",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "time",
    "(",
    ")",
    ",",
    ";",
    ".",
    "..",
    "::",
    "::tag",
    "*",
    "/",
    "+",
    "-",
    "=",
    "!=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "=~",
    "!~",
    "AND",
    "OR",
    "fill",
    "null",
    "none",
    "previous",
    "linear",
    "ORDER",
    "DESC",
    "ASC",
    "LIMIT",
    "OFFSET",
    "SLIMIT",
    "SOFFSET",
    "tz",
    "'Asia/Shanghai'",
    "now()",
    "7d",
    "1h30m",
    "15m",
    "1700000000000ms",
    "0",
    "42",
    "1.5",
    "9999999999999999999",
    "mean",
    "derivative",
    "percentile",
    "moving_average",
    "foo",
    "value",
    "\"value\"",
    "\"a\\\"b\"",
    "'x'",
    "'it\\'s'",
    "/^re$/",
    "/(a*)*b/",
    "/unterminated",
    "'unterminated",
    "\"unterminated",
    "AS",
    "INTO",
    "MEASUREMENTS",
    "DATABASES",
    "TAG",
    "KEYS",
    "VALUES",
    "WITH",
    "KEY",
    "IN",
    "MEASUREMENT",
    "FIELD",
    "RETENTION",
    "POLICIES",
    "SERIES",
    "ON",
    "CARDINALITY",
    "CONTINUOUS",
    "DROP",
    "$timeFilter",
    "$__interval",
    "-- c\n",
    "/* c */",
    "/*",
    "时间",
    "µ",
    "\n",
    " ",
];

fn check(q: &str) {
    let first = parse(q);
    assert_eq!(first, parse(q), "not deterministic");
    if let Err(e) = first {
        let chars = q.chars().count();
        assert!(e.offset <= chars, "offset {} beyond {chars}", e.offset);
        assert!(e.line >= 1 && e.column >= 1);
        assert!(e.line <= q.matches('\n').count() + 1);
        assert!(!e.message.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings(q in "\\PC{0,200}") {
        check(&q);
    }

    #[test]
    fn ascii_noise(q in "[ -~\n]{0,200}") {
        check(&q);
    }

    #[test]
    fn token_soups(tokens in proptest::collection::vec(0..TOKENS.len(), 0..60), spaced in any::<bool>()) {
        let sep = if spaced { " " } else { "" };
        let q = tokens.iter().map(|&i| TOKENS[i]).collect::<Vec<_>>().join(sep);
        check(&q);
    }

    #[test]
    fn soups_after_valid_prefixes(
        prefix in 0..4usize,
        tokens in proptest::collection::vec(0..TOKENS.len(), 0..30),
    ) {
        let prefixes = [
            "SELECT mean(\"value\") FROM \"cpu\" WHERE ",
            "SELECT v FROM m WHERE time > now() - 1h GROUP BY ",
            "SHOW TAG VALUES FROM m WITH KEY ",
            "SELECT v FROM m; ",
        ];
        let q = format!("{}{}", prefixes[prefix], tokens.iter().map(|&i| TOKENS[i]).collect::<Vec<_>>().join(" "));
        check(&q);
    }
}
