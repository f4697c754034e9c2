//! Every statement form of the subset, and the AST it gives.

use shulv_influxql::{
    parse, Binary, BinaryOp, Call, Cond, Dimension, Duration, Expr, Fill, Function, Literal,
    MeasurementName, Regex, Select, Source, Statement, TagKeySelector, TimeBase, TimeExpr, TimeOp,
    VarRef,
};

fn one(q: &str) -> Statement {
    let mut v = parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    assert_eq!(v.len(), 1, "{q}");
    v.remove(0)
}

fn select(q: &str) -> Select {
    match one(q) {
        Statement::Select(s) => *s,
        other => panic!("{q}: {other:?}"),
    }
}

fn var(name: &str) -> Expr {
    Expr::VarRef(VarRef {
        name: name.into(),
        cast: None,
    })
}

fn call(function: Function, args: Vec<Expr>) -> Expr {
    Expr::Call(Call { function, args })
}

const MIN: i64 = 60_000_000_000;

#[test]
fn show_statements() {
    assert_eq!(one("show databases"), Statement::ShowDatabases);
    assert_eq!(
        one("SHOW RETENTION POLICIES"),
        Statement::ShowRetentionPolicies(None)
    );
    assert_eq!(
        one("SHOW RETENTION POLICIES ON db1"),
        Statement::ShowRetentionPolicies(Some("db1".into()))
    );
    let Statement::ShowMeasurements(m) = one(
        r#"SHOW MEASUREMENTS ON "db" WITH MEASUREMENT = "elec" WHERE "site" = 'A' LIMIT 5 OFFSET 10"#,
    ) else {
        panic!()
    };
    assert_eq!(m.database.as_deref(), Some("db"));
    assert_eq!(
        m.with_measurement,
        Some(MeasurementName::Name("elec".into()))
    );
    assert_eq!((m.limit, m.offset), (Some(5), Some(10)));

    let Statement::ShowTagKeys(k) = one(r#"SHOW TAG KEYS ON db FROM "m" WHERE "a" = 'b'"#) else {
        panic!()
    };
    assert_eq!(k.database.as_deref(), Some("db"));
    assert_eq!(k.sources.len(), 1);

    let Statement::ShowTagValues(v) =
        one(r#"SHOW TAG VALUES ON db FROM m1, "m2" WITH KEY IN ("a", "b") WHERE x = 'y' LIMIT 3"#)
    else {
        panic!()
    };
    assert_eq!(v.sources.len(), 2);
    assert_eq!(v.key, TagKeySelector::In(vec!["a".into(), "b".into()]));
    assert_eq!(v.limit, Some(3));
    let Statement::ShowTagValues(v) = one("SHOW TAG VALUES WITH KEY =~ /^ho/") else {
        panic!()
    };
    assert_eq!(
        v.key,
        TagKeySelector::Regex(Regex {
            pattern: "^ho".into()
        })
    );

    let Statement::ShowFieldKeys(f) = one(r#"SHOW FIELD KEYS ON "db" FROM "db"."rp"."m""#) else {
        panic!()
    };
    assert_eq!(
        f.sources,
        vec![Source {
            database: Some("db".into()),
            retention_policy: Some("rp".into()),
            name: MeasurementName::Name("m".into())
        }]
    );

    let Statement::ShowSeries(s) = one(r#"SHOW SERIES ON db FROM m WHERE "a" != 'b' LIMIT 7"#)
    else {
        panic!()
    };
    assert_eq!(s.limit, Some(7));
    assert!(s.condition.is_some());
}

#[test]
fn sources() {
    let s = select(r#"SELECT * FROM m, "quoted m", "rp"."m", db..m, "db"."rp"./^re\/x/"#);
    let got: Vec<_> = s
        .sources
        .iter()
        .map(|s| {
            (
                s.database.as_deref(),
                s.retention_policy.as_deref(),
                &s.name,
            )
        })
        .collect();
    let name = |n: &str| MeasurementName::Name(n.into());
    let re = MeasurementName::Regex(Regex {
        pattern: "^re/x".into(),
    });
    assert_eq!(
        got,
        vec![
            (None, None, &name("m")),
            (None, None, &name("quoted m")),
            (None, Some("rp"), &name("m")),
            (Some("db"), None, &name("m")),
            (Some("db"), Some("rp"), &re),
        ]
    );
}

#[test]
fn fields_calls_arithmetic_and_aliases() {
    let s = select(
        r#"SELECT *, value, "va\"lue" AS v, derivative(mean(value), 1m), (max(x) - min(x)) * 2 / 1.5 AS r FROM m"#,
    );
    assert_eq!(s.fields[0].expr, Expr::Wildcard);
    assert_eq!(s.fields[1].expr, var("value"));
    assert_eq!(s.fields[2].alias.as_deref(), Some("v"));
    assert_eq!(
        s.fields[3].expr,
        call(
            Function::Derivative,
            vec![
                call(Function::Mean, vec![var("value")]),
                Expr::Duration(Duration::from_nanos(MIN))
            ]
        )
    );
    let diff = Expr::Binary(Box::new(Binary {
        op: BinaryOp::Sub,
        lhs: call(Function::Max, vec![var("x")]),
        rhs: call(Function::Min, vec![var("x")]),
    }));
    let times = Expr::Binary(Box::new(Binary {
        op: BinaryOp::Mul,
        lhs: diff,
        rhs: Expr::Integer(2),
    }));
    let expected = Expr::Binary(Box::new(Binary {
        op: BinaryOp::Div,
        lhs: times,
        rhs: Expr::Number(1.5),
    }));
    assert_eq!(s.fields[4].expr, expected);
    assert_eq!(s.fields[4].alias.as_deref(), Some("r"));
    // precedence: a + b * c
    let s = select("SELECT a + b * 2 FROM m");
    let Expr::Binary(b) = &s.fields[0].expr else {
        panic!()
    };
    assert_eq!(b.op, BinaryOp::Add);
    // every known function with its signature
    select(
        "SELECT count(*), count(distinct(v)), mean(v), median(v), mode(v), spread(v), stddev(v), \
         sum(v), integral(v, 1h), first(v), last(v), max(v), min(v), percentile(v, 99.9), \
         difference(mean(v)), non_negative_difference(sum(v)), derivative(v), \
         non_negative_derivative(max(v), 1s), cumulative_sum(v), moving_average(v, 3), \
         elapsed(v, 1ms), MEAN(v) FROM m",
    );
}

#[test]
fn conditions() {
    let s = select(
        r#"SELECT v FROM m WHERE (a = 'x' OR b != 'y') AND c =~ /^z/ AND d !~ /w/ AND e <> 1 AND f >= -2.5 AND g = true AND time < '2025-01-01T00:00:00Z' + 1h"#,
    );
    let mut leaves = Vec::new();
    fn walk<'a>(c: &'a Cond, out: &mut Vec<&'a Cond>) {
        match c {
            Cond::And(a, b) | Cond::Or(a, b) => {
                walk(a, out);
                walk(b, out);
            }
            leaf => out.push(leaf),
        }
    }
    walk(s.condition.as_ref().unwrap(), &mut leaves);
    assert_eq!(leaves.len(), 8);
    let Cond::Compare(f) = leaves[5] else {
        panic!()
    };
    assert_eq!(f.value, Literal::Number(-2.5));
    let Cond::Compare(g) = leaves[6] else {
        panic!()
    };
    assert_eq!(g.value, Literal::Bool(true));
    let Cond::Time(t) = leaves[7] else { panic!() };
    assert_eq!(t.op, TimeOp::Lt);
    assert_eq!(
        t.value,
        TimeExpr {
            base: TimeBase::Absolute(1_735_689_600_000_000_000),
            offset: Duration::from_nanos(60 * MIN)
        }
    );
    // OR binds looser than AND
    let s = select("SELECT v FROM m WHERE a = '1' OR b = '2' AND c = '3'");
    assert!(matches!(s.condition, Some(Cond::Or(..))));
}

#[test]
fn time_values() {
    let base = |q: &str| {
        let s = select(&format!("SELECT v FROM m WHERE time >= {q}"));
        let Some(Cond::Time(t)) = s.condition else {
            panic!("{q}")
        };
        t.value
    };
    assert_eq!(base("now()").base, TimeBase::Now);
    assert_eq!(base("now() - 7d").offset.as_nanos(), -7 * 24 * 60 * MIN);
    assert_eq!(base("now() - 1h30m + 5m").offset.as_nanos(), -85 * MIN);
    assert_eq!(
        base("1700000000000ms").base,
        TimeBase::Absolute(1_700_000_000_000_000_000)
    );
    assert_eq!(
        base("1700000000s").base,
        TimeBase::Absolute(1_700_000_000_000_000_000)
    );
    assert_eq!(
        base("1700000000000000000").base,
        TimeBase::Absolute(1_700_000_000_000_000_000)
    );
    assert_eq!(
        base("'2025-01-01'").base,
        TimeBase::Absolute(1_735_689_600_000_000_000)
    );
}

#[test]
fn group_by_fill_order_limits_tz() {
    let s = select(
        "select v from m group by time(1h, 30m), host, * FILL(-1.5) order by TIME asc \
         limit 1 offset 2 slimit 3 soffset 4 TZ('Asia/Shanghai')",
    );
    assert_eq!(
        s.dimensions,
        vec![
            Dimension::Time {
                interval: Duration::from_nanos(60 * MIN),
                offset: Some(Duration::from_nanos(30 * MIN))
            },
            Dimension::Tag("host".into()),
            Dimension::Wildcard
        ]
    );
    assert_eq!(s.fill, Fill::Value(-1.5));
    assert!(!s.descending);
    assert_eq!(
        (s.limit, s.offset, s.slimit, s.soffset),
        (Some(1), Some(2), Some(3), Some(4))
    );
    let s = select("SELECT mean(v) FROM m GROUP BY time(1h, -15m) fill(previous)");
    assert_eq!(
        s.dimensions[0],
        Dimension::Time {
            interval: Duration::from_nanos(60 * MIN),
            offset: Some(Duration::from_nanos(-15 * MIN))
        }
    );
    assert_eq!(select("SELECT v FROM m").fill, Fill::Null);
    // Grafana's query builder casts group-by tags.
    let s = select("SELECT mean(v) FROM m GROUP BY time(1h), \"host\"::tag fill(null)");
    assert_eq!(s.dimensions[1], Dimension::Tag("host".into()));
    let e = parse("SELECT mean(v) FROM m GROUP BY \"host\"::field").unwrap_err();
    assert!(e.to_string().contains("only ::tag"), "{e}");
}

#[test]
fn lexical_details() {
    // keywords in any case, identifiers case-sensitive, escapes, comments
    let s = select(
        "-- a comment\nSeLeCt \"a \\\"b\\\"\" /* block\ncomment */ FrOm Cpu WHERE t = 'it\\'s'",
    );
    assert_eq!(s.fields[0].expr, var("a \"b\""));
    assert_eq!(s.sources[0].name, MeasurementName::Name("Cpu".into()));
    let Some(Cond::Compare(c)) = s.condition else {
        panic!()
    };
    assert_eq!(c.value, Literal::String("it's".into()));
    // µ and u are microseconds
    let s = select("SELECT v FROM m GROUP BY time(1500µ)");
    assert_eq!(
        s.dimensions[0],
        Dimension::Time {
            interval: Duration::from_nanos(1_500_000),
            offset: None
        }
    );
}
