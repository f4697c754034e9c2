//! The bad-input catalogue: each input gives a clear error at the right place, quickly.

use std::time::{Duration, Instant};

use shulv_influxql::{parse, ParseError, MAX_QUERY_BYTES};

/// Parses `q`, expecting an error whose message contains `needle`; checks it was quick and its
/// position lies within the input.
fn err(q: &str, needle: &str) -> ParseError {
    let t = Instant::now();
    let e = parse(q).expect_err(q.get(..80).unwrap_or(q));
    assert!(t.elapsed() < Duration::from_secs(1), "slow: {needle}");
    assert!(
        e.message.contains(needle),
        "{:?}: {e} does not mention {needle:?}",
        q.get(..80).unwrap_or(q)
    );
    assert!(e.offset <= q.chars().count());
    e
}

#[test]
fn display_reads_like_influxdb() {
    let e = err(
        "SELECT FROM m",
        "found FROM, expected field, function or number",
    );
    assert_eq!(
        e.to_string(),
        "error parsing query: found FROM, expected field, function or number at line 1, char 8"
    );
    assert_eq!((e.offset, e.line, e.column), (7, 1, 8));
    // positions count characters and lines over the whole query (a later statement)
    let e = err("SHOW DATABASES;\nSELECT v FROM\n  时间 WHERE", "found EOF");
    assert_eq!((e.line, e.column), (3, 11));
    assert_eq!(
        e.offset,
        "SHOW DATABASES;\nSELECT v FROM\n  时间 WHERE"
            .chars()
            .count()
    );
}

#[test]
fn lexical_errors() {
    err("SELECT v FROM m WHERE a = 'x", "unterminated string");
    err("SELECT \"v FROM m", "unterminated quoted identifier");
    err("SELECT v FROM /abc", "unterminated regex");
    err("SELECT v FROM m WHERE a =~ /x", "unterminated regex");
    err("SELECT v /* FROM m", "unterminated comment");
    err("SELECT v FROM m WHERE a = 'x\\q'", "bad escape");
    err("SELECT v FROM m GROUP BY time(1x)", "invalid duration 1x");
    err("SELECT v FROM m GROUP BY time(1.5h)", "fractions");
    err("SELECT v FROM m LIMIT 99999999999999999999", "out of range");
    err("SELECT v FROM m WHERE a # 1", "unexpected character '#'");
    err("SELECT v FROM m WHERE a ! 1", "expected != or !~");
}

#[test]
fn grafana_variables_left_unexpanded() {
    err(
        r#"SELECT mean("value") FROM "cpu" WHERE $timeFilter GROUP BY time($__interval) fill(null)"#,
        "unexpanded Grafana variable $timeFilter",
    );
    err(
        "SELECT mean(v) FROM m WHERE time > now() - 1h GROUP BY time($__interval)",
        "unexpanded Grafana variable $__interval",
    );
    // inside a string, `${host}` is just text: Grafana's business, not a syntax error
    parse("SELECT v FROM m WHERE host = '${host}'").unwrap();
    err(
        "SELECT v FROM m WHERE host =~ /^${host:regex}$/",
        "invalid regex",
    );
    err(
        "SELECT v FROM [[measurement]]",
        "unexpanded Grafana variable",
    );
}

#[test]
fn empty_and_separators_only() {
    err("", "empty query");
    err("   \n -- just a comment", "empty query");
    err(";", "empty query");
    err(";;; ;", "empty query");
    err(
        "SHOW DATABASES SHOW DATABASES",
        "expected ; or end of query",
    );
}

#[test]
fn unsupported_influxql_is_named() {
    for (q, what) in [
        (
            "SELECT v INTO other FROM m",
            "SELECT INTO is not supported by shulv",
        ),
        ("SELECT v FROM (SELECT v FROM m)", "subquery"),
        (
            "DELETE FROM m WHERE time < now()",
            "DELETE is not supported by shulv",
        ),
        ("DROP DATABASE x", "DROP is not supported"),
        ("CREATE DATABASE x", "CREATE is not supported"),
        (
            "create retention policy p on d duration 1d replication 1",
            "CREATE is not",
        ),
        ("ALTER RETENTION POLICY p ON d DEFAULT", "ALTER is not"),
        ("GRANT ALL TO bob", "GRANT is not"),
        ("KILL QUERY 1", "KILL is not"),
        ("EXPLAIN SELECT v FROM m", "EXPLAIN is not"),
        (
            "SHOW CONTINUOUS QUERIES",
            "SHOW CONTINUOUS QUERIES is not supported by shulv",
        ),
        ("SHOW USERS", "SHOW USERS is not"),
        (
            "SHOW SERIES CARDINALITY",
            "SHOW SERIES CARDINALITY … is not",
        ),
        (
            "SHOW SERIES EXACT CARDINALITY",
            "SHOW SERIES EXACT … is not",
        ),
        (
            "SHOW MEASUREMENT CARDINALITY",
            "SHOW MEASUREMENT CARDINALITY … is not",
        ),
        ("SHOW TAG KEY CARDINALITY", "is not supported"),
        (
            "SHOW TAG VALUES CARDINALITY WITH KEY = \"a\"",
            "is not supported",
        ),
        ("SHOW FIELD KEY EXACT CARDINALITY", "is not supported"),
        (
            "SELECT v FROM m ORDER BY v",
            "ORDER BY other than time is not",
        ),
        ("SHOW DATABASES; DROP MEASUREMENT m", "DROP is not"),
    ] {
        err(q, what);
    }
    let e = err("SHOW DATABASES; DROP MEASUREMENT m", "DROP");
    assert_eq!(e.column, 17);
}

#[test]
fn grammar_errors() {
    for (q, what) in [
        ("SELECT", "found EOF, expected field"),
        ("SELECT v", "found EOF, expected FROM"),
        ("SELECT v FROM", "found EOF, expected measurement"),
        ("SELECT v FROM m WHERE", "found EOF, expected identifier"),
        ("SELECT v FROM m WHERE a", "found EOF, expected =, !="),
        (
            "SELECT v FROM m WHERE a = ",
            "expected string, number or boolean",
        ),
        ("SELECT v FROM m WHERE a = /x/", "a regex needs =~ or !~"),
        ("SELECT v FROM m WHERE a =~ 'x'", "expected regex"),
        (
            "SELECT v FROM m WHERE time != now()",
            "expected =, <, <=, > or >= after time",
        ),
        (
            "SELECT v FROM m WHERE time > yesterday",
            "expected now(), an RFC 3339",
        ),
        (
            "SELECT v FROM m WHERE time > '2025-13-01'",
            "invalid time '2025-13-01'",
        ),
        (
            "SELECT v FROM m WHERE time > now() - 'x'",
            "expected a duration",
        ),
        ("SELECT v FROM m WHERE time > now(1)", "expected )"),
        ("SELECT v FROM m WHERE (a = 'b'", "expected )"),
        ("SELECT v FROM m GROUP BY time()", "expected a duration"),
        ("SELECT v FROM m GROUP BY time(0s)", "positive interval"),
        ("SELECT v FROM m GROUP BY time(1m), time(5m)", "given twice"),
        (
            "SELECT v FROM m fill(sometimes)",
            "expected null, none, previous, linear",
        ),
        ("SELECT v FROM m tz('Asia/Shang hai')", "invalid time zone"),
        ("SELECT v FROM m tz(Asia)", "expected a time zone string"),
        ("SELECT v FROM a.b.c.d", "too many qualifiers"),
        (
            "SELECT v FROM m LIMIT -1",
            "expected a non-negative integer after LIMIT",
        ),
        ("SELECT v::wat FROM m", "unknown type ::wat"),
        ("SELECT - v FROM m", "a number after unary -"),
        ("SELECT (v FROM m", "expected )"),
        ("SHOW", "expected DATABASES, MEASUREMENTS"),
        ("SHOW TAG", "expected KEYS or VALUES"),
        ("SHOW TAG VALUES FROM m", "expected WITH"),
        ("SHOW TAG VALUES WITH KEY != \"a\"", "expected =, =~ or IN"),
        ("SHOW MEASUREMENTS WITH MEASUREMENT > 1", "expected = or =~"),
        ("SHOW RETENTION", "expected POLICIES"),
        (
            "UPDATE m SET v = 1",
            "found UPDATE, expected SELECT or SHOW",
        ),
    ] {
        err(q, what);
    }
}

#[test]
fn functions_are_checked() {
    err("SELECT foo(v) FROM m", "unknown function foo()");
    err("SELECT top(v, 3) FROM m", "unknown function top()");
    err(
        "SELECT now() FROM m",
        "now() is only allowed in time conditions",
    );
    err(
        "SELECT mean() FROM m",
        "invalid arguments to mean(): expected at least 1",
    );
    err(
        "SELECT mean(a, b) FROM m",
        "invalid arguments to mean(): expected 1 argument",
    );
    err(
        "SELECT percentile(v) FROM m",
        "expected a field and a number",
    );
    err(
        "SELECT percentile(v, 'x') FROM m",
        "expected a field and a number",
    );
    err("SELECT moving_average(v, 0) FROM m", "positive integer");
    err("SELECT derivative(v, 5) FROM m", "positive duration");
    err("SELECT derivative(v, 1m, 2) FROM m", "at most 2 arguments");
    let e = err(
        "SELECT v, spread(v), bogus(v) FROM m",
        "unknown function bogus()",
    );
    assert_eq!(e.column, 22);
}

#[test]
fn abuse_limits() {
    err(&"(".repeat(10_000), "found (, expected SELECT or SHOW");
    err(
        &format!("SELECT {}v FROM m", "(".repeat(10_000)),
        "nested too deeply",
    );
    err(
        &format!("SELECT {}v{} FROM m", "mean(".repeat(100), ")".repeat(100)),
        "nested too deeply",
    );
    err(
        &format!("SELECT v FROM m WHERE {}a = 'b'", "(".repeat(10_000)),
        "nested too deeply",
    );
    // 64 levels are fine
    let ok = format!("SELECT {}v{} FROM m", "(".repeat(60), ")".repeat(60));
    parse(&ok).unwrap();
    err(
        "SELECT v FROM m LIMIT 1000001",
        "LIMIT 1000001 exceeds the maximum of 1000000",
    );
    err("SELECT v FROM m SLIMIT 5000000", "SLIMIT 5000000 exceeds");
    err("SHOW MEASUREMENTS LIMIT 9999999", "LIMIT 9999999 exceeds");
    parse("SELECT v FROM m LIMIT 1000000").unwrap();
    let long = format!(
        "SELECT v FROM m WHERE a = '{}'",
        "x".repeat(MAX_QUERY_BYTES)
    );
    let e = err(&long, "exceeds the maximum");
    assert_eq!((e.line, e.column), (1, 1));
}

#[test]
fn regexes_are_checked_and_cannot_explode() {
    err("SELECT v FROM m WHERE a =~ /(/", "invalid regex /(/");
    err("SELECT v FROM m WHERE a =~ /x{99999999}/", "invalid regex");
    err(
        "SELECT v FROM m WHERE a =~ /(a{1000}){1000}/",
        "invalid regex",
    );
    err(
        &format!(
            "SELECT v FROM m WHERE a =~ /{}a{}/",
            "(".repeat(300),
            ")".repeat(300)
        ),
        "invalid regex",
    );
    // a regex bomb for backtracking engines is just a regex here; long input stays linear
    let bomb = format!(
        "SELECT v FROM m WHERE a =~ /(a*)*b/ AND b = '{}'",
        "a".repeat(60_000)
    );
    let t = Instant::now();
    parse(&bomb).unwrap();
    assert!(t.elapsed() < Duration::from_secs(1));
    let many = format!(
        "SELECT v FROM m WHERE {} a =~ /(x+x+)+y/",
        "a =~ /(a|aa)+$/ AND ".repeat(63)
    );
    parse(&many).unwrap();
    // many costly regexes: the count is capped, so checking them stays quick
    let costly = format!(
        "SELECT v FROM m WHERE {} a = 'b'",
        r"a =~ /\w{3}\d+/ AND ".repeat(2_000)
    );
    let e = err(&costly, "more than 64 regexes");
    assert!(e.offset > 0);
}

#[test]
fn long_inputs_parse_in_linear_time() {
    let fields = vec!["mean(v)"; 6_000].join(", ");
    let q = format!("SELECT {fields} FROM m");
    let t = Instant::now();
    parse(&q).unwrap();
    assert!(t.elapsed() < Duration::from_secs(1));
    let statements = "SHOW DATABASES;".repeat(4_000);
    assert_eq!(parse(&statements).unwrap().len(), 4_000);
    err(&"a".repeat(MAX_QUERY_BYTES), "expected SELECT or SHOW");
}
