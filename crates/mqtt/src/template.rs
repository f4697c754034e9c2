//! Meter id templates: `site1.{topic.2}.{device}.{name}`.
//!
//! A template is text with variables in braces (`{{` and `}}` stand for literal braces):
//! - `{topic.N}`: level N (1-based) of the message's topic;
//! - `{/json/pointer}`: a string or number in the JSON message (JSON formats);
//! - a name bound by the payload format: `{meter}` (line protocol), `{device}` and `{name}`
//!   (JSON points).

/// A variable of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Var {
    /// Topic level, 1-based.
    Topic(usize),
    /// A JSON pointer into the message.
    Pointer(String),
    /// A name bound by the format (`meter`, `device`, `name`).
    Named(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(Var),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    source: String,
    parts: Vec<Part>,
}

impl Template {
    /// Parses `source`; `names` are the named variables the format binds. `topic_levels` is
    /// the number of levels of the subscription's filter (`None` when it ends in `#`).
    pub fn parse(
        source: &str,
        names: &[&str],
        topic_levels: Option<usize>,
    ) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = source.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => return Err(format!("template {source:?}: `{{` is not closed")),
                        }
                    }
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Var(Self::var(source, &name, names, topic_levels)?));
                }
                '}' => return Err(format!("template {source:?}: lone `}}` (write `}}}}`)")),
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        if parts.is_empty() {
            return Err("meter template is empty".into());
        }
        Ok(Template {
            source: source.to_string(),
            parts,
        })
    }

    fn var(
        source: &str,
        name: &str,
        names: &[&str],
        topic_levels: Option<usize>,
    ) -> Result<Var, String> {
        if let Some(level) = name.strip_prefix("topic.") {
            let n: usize = level.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                format!("template {source:?}: {{{name}}}: topic levels count from 1")
            })?;
            if topic_levels.is_some_and(|levels| n > levels) {
                return Err(format!(
                    "template {source:?}: {{{name}}}: the topic filter has only {} levels",
                    topic_levels.unwrap_or(0)
                ));
            }
            return Ok(Var::Topic(n));
        }
        if name.starts_with('/') && names.contains(&"/") {
            return Ok(Var::Pointer(name.to_string()));
        }
        if names.contains(&name) {
            return Ok(Var::Named(name.to_string()));
        }
        let known: Vec<String> = names
            .iter()
            .map(|n| {
                if *n == "/" {
                    "{/json/pointer}".to_string()
                } else {
                    format!("{{{n}}}")
                }
            })
            .collect();
        Err(format!(
            "template {source:?}: unknown variable {{{name}}} (known here: {{topic.N}} {})",
            known.join(" ")
        ))
    }

    /// Fills in the variables; `lookup` gives the value of each (`None`: missing, an error).
    pub fn render(&self, mut lookup: impl FnMut(&Var) -> Option<String>) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Var(v) => match lookup(v) {
                    Some(value) => out.push_str(&value),
                    None => {
                        return Err(format!(
                            "meter template {:?}: no value for {}",
                            self.source,
                            match v {
                                Var::Topic(n) => format!("{{topic.{n}}}"),
                                Var::Pointer(p) => format!("{{{p}}}"),
                                Var::Named(n) => format!("{{{n}}}"),
                            }
                        ))
                    }
                },
            }
        }
        Ok(out)
    }
}

/// Level `n` (1-based) of `topic`.
pub(crate) fn topic_level(topic: &str, n: usize) -> Option<String> {
    topic.split('/').nth(n - 1).map(str::to_string)
}

/// Levels of a topic filter, `None` when it ends in `#` (any number).
pub(crate) fn filter_levels(filter: &str) -> Option<usize> {
    if filter.ends_with('#') {
        None
    } else {
        Some(filter.split('/').count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(t: &Template, topic: &str) -> Result<String, String> {
        t.render(|v| match v {
            Var::Topic(n) => topic_level(topic, *n),
            Var::Named(n) if n == "device" => Some("PM-01".into()),
            Var::Named(_) => None,
            Var::Pointer(p) => Some(format!("<{p}>")),
        })
    }

    #[test]
    fn topic_levels_and_names() {
        let t = Template::parse("{topic.2}.{device}.{name}", &["device", "name"], Some(5)).unwrap();
        assert_eq!(
            render(&t, "site/b3/meter/7/data").unwrap_err(),
            "meter template \"{topic.2}.{device}.{name}\": no value for {name}"
        );
        let t = Template::parse("{topic.2}.m{topic.4}-{device}", &["device"], Some(5)).unwrap();
        assert_eq!(render(&t, "site/b3/meter/7/data").unwrap(), "b3.m7-PM-01");
        let t = Template::parse("{{x}}{/data/id}", &["/"], None).unwrap();
        assert_eq!(render(&t, "a").unwrap(), "{x}</data/id>");
    }

    #[test]
    fn bad_templates() {
        assert!(Template::parse("{topic.6}", &[], Some(5))
            .unwrap_err()
            .contains("only 5"));
        assert!(Template::parse("{topic.0}", &[], None)
            .unwrap_err()
            .contains("from 1"));
        assert!(Template::parse("{device", &["device"], None)
            .unwrap_err()
            .contains("not closed"));
        assert!(Template::parse("a}", &[], None)
            .unwrap_err()
            .contains("lone"));
        assert!(Template::parse("{name}", &["meter"], None)
            .unwrap_err()
            .contains("unknown variable"));
        assert!(Template::parse("{/x}", &["meter"], None).is_err());
        assert!(Template::parse("", &[], None).is_err());
        assert_eq!(Template::parse("{topic.9}", &[], None).map(|_| ()), Ok(()));
    }
}
