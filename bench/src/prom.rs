//! Just enough of the Prometheus text format to read counters from `GET /metrics`.

use std::collections::BTreeMap;

/// One sample line: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

pub fn parse(text: &str) -> Vec<Series> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(parse_line)
        .collect()
}

fn parse_line(line: &str) -> Option<Series> {
    let (head, value) = match line.find('{') {
        Some(open) => {
            let close = line.rfind('}')?;
            let labels = parse_labels(&line[open + 1..close]);
            let value = line[close + 1..].split_whitespace().next()?;
            ((line[..open].to_string(), labels), value)
        }
        None => {
            let mut parts = line.split_whitespace();
            let name = parts.next()?;
            ((name.to_string(), BTreeMap::new()), parts.next()?)
        }
    };
    Some(Series {
        name: head.0,
        labels: head.1,
        value: value.parse().ok()?,
    })
}

fn parse_labels(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = s;
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].trim().trim_start_matches(',').trim().to_string();
        let after = &rest[eq + 1..];
        let Some(body) = after.strip_prefix('"') else {
            break;
        };
        // Values escape `"` and `\` with a backslash.
        let mut value = String::new();
        let mut chars = body.char_indices();
        let mut end = body.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        value.push(if n == 'n' { '\n' } else { n });
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        out.insert(key, value);
        rest = &body[end.min(body.len())..];
    }
    out
}

/// Every series of one metric, keyed by its labels rendered as `k=v,k=v` ("" without labels).
pub fn by_labels(series: &[Series], name: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for s in series.iter().filter(|s| s.name == name) {
        let key = s
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        *out.entry(key).or_insert(0.0) += s.value;
    }
    out
}

/// The sum over every series of a metric; None if the metric is absent.
pub fn sum(series: &[Series], name: &str) -> Option<f64> {
    let mut found = false;
    let mut total = 0.0;
    for s in series.iter().filter(|s| s.name == name) {
        found = true;
        total += s.value;
    }
    found.then_some(total)
}

/// `after - before` per series key, dropping series that did not move.
pub fn delta(
    before: &BTreeMap<String, f64>,
    after: &BTreeMap<String, f64>,
) -> BTreeMap<String, f64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, d)| *d != 0.0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"
# TYPE aws_requests_total counter
aws_requests_total{service="SQS",operation="ReceiveMessage"} 12
aws_requests_total{service="DynamoDB",operation="UpdateItem"} 30
executions_submitted_total 7
weird{a="x\"y,z=1",b="2"} 3.5
"#;

    #[test]
    fn parses_counters_and_labels() {
        let s = parse(TEXT);
        assert_eq!(sum(&s, "aws_requests_total"), Some(42.0));
        assert_eq!(sum(&s, "executions_submitted_total"), Some(7.0));
        assert_eq!(sum(&s, "missing"), None);
        let by = by_labels(&s, "aws_requests_total");
        assert_eq!(by.get("operation=ReceiveMessage,service=SQS"), Some(&12.0));
        let w = s
            .iter()
            .find(|x| x.name == "weird")
            .map(|x| x.labels.clone());
        let w = w.unwrap_or_default();
        assert_eq!(w.get("a").map(String::as_str), Some("x\"y,z=1"));
        assert_eq!(w.get("b").map(String::as_str), Some("2"));
    }

    #[test]
    fn delta_drops_unchanged_series() {
        let before = BTreeMap::from([("a".to_string(), 1.0), ("b".to_string(), 2.0)]);
        let after = BTreeMap::from([
            ("a".to_string(), 1.0),
            ("b".to_string(), 5.0),
            ("c".to_string(), 1.0),
        ]);
        let d = delta(&before, &after);
        assert_eq!(d.len(), 2);
        assert_eq!(d.get("b"), Some(&3.0));
    }
}
