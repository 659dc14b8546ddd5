//! List commands (`docker ps`, `docker images`, ...): one template run per
//! row, optionally as a table with a header line.

use serde_json::{Map, Value};

use super::FormatError;
use crate::tabwriter::TabWriter;
use crate::template::{Funcs, Methods, Template};

/// A parsed list `--format`, ready to render rows.
///
/// ```
/// use berth_format::ListFormat;
/// use serde_json::json;
///
/// let headers = [("ID", "CONTAINER ID"), ("Names", "NAMES")];
/// let f = ListFormat::new(Some("table {{.ID}}\t{{.Names}}"), "table {{.ID}}", &headers).unwrap();
/// let rows = [json!({"ID": "4f2a", "Names": "web"})];
/// assert_eq!(f.render(&rows).unwrap(), "CONTAINER ID   NAMES\n4f2a           web\n");
/// ```
#[derive(Debug, Clone)]
pub struct ListFormat {
    template: Template,
    table: bool,
    header: Value,
    methods: Methods,
}

/// docker's `Format.templateString`: `json` is `{{json .}}`, `table` is
/// stripped, spaces around are trimmed and the two-character escapes `\t`
/// and `\n` typed on a command line become a tab and a newline.
fn template_source(format: &str) -> String {
    if format == "json" {
        return "{{json .}}".to_string();
    }
    let body = format.strip_prefix("table").unwrap_or(format);
    body.trim_matches(' ')
        .replace("\\t", "\t")
        .replace("\\n", "\n")
}

/// docker's header `Label` method: `{{.Label "com.example.some-key"}}`
/// heads its column `some key`.
fn header_label(name: &str) -> String {
    let last = name.rsplit('.').next().unwrap_or(name);
    last.replace(['-', '_'], " ")
}

/// The row as docker's formatter contexts marshal it: a map, so `{{json .}}`
/// lists keys in sorted order.
fn sorted_row(row: &Value) -> Value {
    match row {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let sorted: Map<String, Value> = keys
                .into_iter()
                .map(|k| (k.clone(), map[k].clone()))
                .collect();
            Value::Object(sorted)
        }
        other => other.clone(),
    }
}

impl ListFormat {
    /// Parses the user's `--format`. `None`, `""` and `"table"` select the
    /// command's `default_table` format (docker's behaviour for `ps`,
    /// `images`, ...); `"json"` prints each row as JSON. `headers` maps each
    /// field name to its column title (`("ID", "CONTAINER ID")`).
    pub fn new(
        format: Option<&str>,
        default_table: &str,
        headers: &[(&str, &str)],
    ) -> Result<ListFormat, FormatError> {
        let format = match format {
            None | Some("") | Some("table") => default_table,
            Some(f) => f,
        };
        let template = Template::parse(&template_source(format))?;
        let header = Value::Object(
            headers
                .iter()
                .map(|(field, label)| (field.to_string(), Value::String(label.to_string())))
                .collect(),
        );
        Ok(ListFormat {
            template,
            table: format.starts_with("table"),
            header,
            methods: Methods::new(),
        })
    }

    /// Methods every row has (they receive the row as receiver).
    pub fn with_methods(mut self, methods: Methods) -> ListFormat {
        self.methods = methods;
        self
    }

    /// Whether the output is a table with a header line.
    pub fn is_table(&self) -> bool {
        self.table
    }

    /// Renders all rows; each row is a JSON object of the command's fields.
    pub fn render(&self, rows: &[Value]) -> Result<String, FormatError> {
        self.render_each(rows.iter().map(|r| (r.clone(), self.methods.clone())))
    }

    /// Renders rows that each carry their own methods, for methods that need
    /// data not shown as a field (docker's `.Label "k"` reads the labels
    /// map while the `Labels` field is a `k=v,...` string).
    pub fn render_each<I>(&self, rows: I) -> Result<String, FormatError>
    where
        I: IntoIterator<Item = (Value, Methods)>,
    {
        let mut body = String::new();
        for (row, methods) in rows {
            let row = sorted_row(&row);
            body.push_str(&self.template.render_with(&row, &methods)?);
            body.push('\n');
        }
        if !self.table {
            return Ok(body);
        }
        Ok(TabWriter::docker_table().format(&(self.header_line() + &body)))
    }

    /// The header: the template run over field titles with docker's header
    /// functions. Like docker, a failing header keeps what it printed.
    fn header_line(&self) -> String {
        let methods = Methods::new().add("Label", |_: &Value, args: &[Value]| {
            Ok(Value::String(header_label(
                args.first().and_then(Value::as_str).unwrap_or_default(),
            )))
        });
        let template = self.template.with_funcs(&Funcs::docker_header());
        let mut line = String::new();
        let _ = template.render_into(&self.header, &methods, &mut line);
        line.push('\n');
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PS_DEFAULT: &str =
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

    const PS_HEADERS: &[(&str, &str)] = &[
        ("ID", "CONTAINER ID"),
        ("Image", "IMAGE"),
        ("Command", "COMMAND"),
        ("CreatedAt", "CREATED AT"),
        ("RunningFor", "CREATED"),
        ("Ports", "PORTS"),
        ("State", "STATE"),
        ("Status", "STATUS"),
        ("Size", "SIZE"),
        ("Labels", "LABELS"),
        ("Names", "NAMES"),
    ];

    fn rows() -> Vec<Value> {
        vec![
            json!({"ID": "abc123def456", "Image": "nginx", "Command": "\"/docker-entrypoint.…\"",
                   "RunningFor": "2 hours ago", "Status": "Up 2 hours",
                   "Ports": "0.0.0.0:8080->80/tcp", "Names": "web", "Labels": "a=1"}),
            json!({"ID": "0123456789ab", "Image": "busybox:latest", "Command": "\"sh\"",
                   "RunningFor": "3 days ago", "Status": "Exited (0) 2 days ago",
                   "Ports": "", "Names": "jolly_wozniak", "Labels": ""}),
        ]
    }

    fn list(format: Option<&str>) -> String {
        ListFormat::new(format, PS_DEFAULT, PS_HEADERS)
            .unwrap()
            .render(&rows())
            .unwrap()
    }

    /// `docker ps` with no --format (and with `--format table`).
    #[test]
    fn default_table_like_docker_ps() {
        let want = "CONTAINER ID   IMAGE            COMMAND                  CREATED       STATUS                  PORTS                  NAMES\n\
abc123def456   nginx            \"/docker-entrypoint.…\"   2 hours ago   Up 2 hours              0.0.0.0:8080->80/tcp   web\n\
0123456789ab   busybox:latest   \"sh\"                     3 days ago    Exited (0) 2 days ago                          jolly_wozniak\n";
        assert_eq!(list(None), want);
        assert_eq!(list(Some("table")), want);
        assert_eq!(list(Some("")), want);
    }

    /// `--format 'table {{.ID}}\t{{.Names}}'` typed in a shell: the `\t` is
    /// two characters, which docker turns into a tab.
    #[test]
    fn custom_table_with_escaped_tab() {
        assert_eq!(
            list(Some(r"table {{.ID}}\t{{.Names}}")),
            "CONTAINER ID   NAMES\nabc123def456   web\n0123456789ab   jolly_wozniak\n"
        );
    }

    /// Without `table`: one template run per row, no header, no alignment.
    #[test]
    fn plain_format_has_no_header() {
        assert_eq!(
            list(Some("{{.Names}}: {{.Status}}")),
            "web: Up 2 hours\njolly_wozniak: Exited (0) 2 days ago\n"
        );
        assert_eq!(
            list(Some(r"{{.ID}}\t{{.Names}}")),
            "abc123def456\tweb\n0123456789ab\tjolly_wozniak\n"
        );
        let empty = ListFormat::new(Some("{{.ID}}"), PS_DEFAULT, PS_HEADERS).unwrap();
        assert_eq!(empty.render(&[]).unwrap(), "");
    }

    /// A table with no rows still prints its header (docker ps on an idle host).
    #[test]
    fn empty_table_prints_header() {
        let f = ListFormat::new(Some("table {{.ID}}\t{{.Names}}"), PS_DEFAULT, PS_HEADERS).unwrap();
        assert_eq!(f.render(&[]).unwrap(), "CONTAINER ID   NAMES\n");
    }

    /// `--format json` (docker 23+): `{{json .}}` per row, keys sorted as
    /// docker marshals its row contexts.
    #[test]
    fn json_format() {
        let f = ListFormat::new(Some("json"), PS_DEFAULT, PS_HEADERS).unwrap();
        let out = f
            .render(&[json!({"Names": "web", "ID": "abc", "Size": "0B"})])
            .unwrap();
        assert_eq!(out, "{\"ID\":\"abc\",\"Names\":\"web\",\"Size\":\"0B\"}\n");
        assert!(!f.is_table());
    }

    /// Header cells use docker's header functions: string functions return
    /// their input, `pad` still pads, `.Label "k"` heads with the last part
    /// of the key, unknown fields print `<no value>`.
    #[test]
    fn header_functions_and_labels() {
        let f = ListFormat::new(
            Some(r#"table {{upper .Names}}\t{{.Label "com.docker.compose.project_name"}}\t{{pad .ID 1 1}}|"#),
            PS_DEFAULT,
            PS_HEADERS,
        )
        .unwrap()
        .with_methods(Methods::new().add("Label", |row: &Value, args: &[Value]| {
            let key = args[0].as_str().unwrap_or_default();
            Ok(json!(if key.ends_with("project_name") && row["Names"] == "web" { "shop" } else { "" }))
        }));
        assert_eq!(
            f.render(&rows()).unwrap(),
            "NAMES           project name    CONTAINER ID |\nWEB             shop            abc123def456 |\nJOLLY_WOZNIAK                   0123456789ab |\n"
        );
        let unknown =
            ListFormat::new(Some(r"table {{.Nope}}\t{{.ID}}"), PS_DEFAULT, PS_HEADERS).unwrap();
        assert!(unknown
            .render(&[])
            .unwrap()
            .starts_with("<no value>   CONTAINER ID"));
    }

    /// `table {{json .}}`: the header's json takes a string, fails on the
    /// header map, and docker prints the empty header line it had so far.
    #[test]
    fn failing_header_keeps_partial_output() {
        let f = ListFormat::new(Some("table {{json .}}"), PS_DEFAULT, PS_HEADERS).unwrap();
        let out = f.render(&[json!({"ID": "a"})]).unwrap();
        assert_eq!(out, "\n{\"ID\":\"a\"}\n");
    }

    /// Per-row methods: `.Label` reading each row's own labels map.
    #[test]
    fn per_row_methods() {
        let f = ListFormat::new(
            Some(r#"{{.Names}}={{.Label "tier"}}"#),
            PS_DEFAULT,
            PS_HEADERS,
        )
        .unwrap();
        let rows = [("web", "front"), ("db", "back")].map(|(name, tier)| {
            let tier = tier.to_string();
            let methods = Methods::new().add("Label", move |_: &Value, args: &[Value]| {
                Ok(json!(if args[0] == "tier" {
                    tier.clone()
                } else {
                    String::new()
                }))
            });
            (json!({"Names": name}), methods)
        });
        assert_eq!(f.render_each(rows).unwrap(), "web=front\ndb=back\n");
    }

    /// docker wraps template errors as `template parsing error: ...`.
    #[test]
    fn errors_are_wrapped_like_docker() {
        let err = ListFormat::new(Some("{{.ID"), PS_DEFAULT, PS_HEADERS).unwrap_err();
        assert_eq!(
            err.to_string(),
            "template parsing error: template: :1: unclosed action"
        );
        let f = ListFormat::new(Some("{{upper .Missing}}"), PS_DEFAULT, PS_HEADERS).unwrap();
        assert_eq!(
            f.render(&rows()).unwrap_err().to_string(),
            r#"template parsing error: template: :1:8: executing "" at <.Missing>: invalid value; expected string"#
        );
    }
}
