//! Single objects: `docker version`, `docker info` and `docker inspect`.

use serde_json::Value;

use super::FormatError;
use crate::json;
use crate::template::Template;

/// `--format` on one value (`docker version -f`, `docker info -f`): the
/// template's output and a newline. `json` prints the value as JSON.
pub fn render_object(format: &str, value: &Value) -> Result<String, FormatError> {
    let source = if format == "json" {
        "{{json .}}"
    } else {
        format
    };
    let mut out = Template::parse(source)?.render(value)?;
    out.push('\n');
    Ok(out)
}

/// What `docker inspect` prints, and the items whose template failed (docker
/// prints the rest, then reports these and exits 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    pub output: String,
    pub errors: Vec<FormatError>,
}

/// `docker inspect [-f FORMAT] ITEMS...`:
/// - no format: a JSON array indented by four spaces, then a newline
///   (`[]` when empty);
/// - `json`: the same array compact;
/// - a template: one line per item; if nothing printed, a lone newline.
///
/// JSON output escapes `<`, `>` and `&` as the Go daemon's JSON does.
/// Only a template that does not parse is an `Err`.
pub fn render_inspect(format: Option<&str>, items: &[Value]) -> Result<Inspected, FormatError> {
    let array = || Value::Array(items.to_vec());
    let output = match format {
        None | Some("") => json::encode(&array(), Some("    "), true) + "\n",
        Some("json") => json::encode(&array(), None, true) + "\n",
        Some(format) => {
            let template = Template::parse(format)?;
            let mut output = String::new();
            let mut errors = Vec::new();
            for item in items {
                match template.render(item) {
                    Ok(s) => {
                        output.push_str(&s);
                        output.push('\n');
                    }
                    Err(e) => errors.push(FormatError::from(e)),
                }
            }
            if output.is_empty() {
                output.push('\n');
            }
            return Ok(Inspected { output, errors });
        }
    };
    Ok(Inspected {
        output,
        errors: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn object_formats() {
        let v = json!({"Client": {"Version": "28.2.2"}, "Server": null});
        assert_eq!(
            render_object("{{.Client.Version}}", &v).unwrap(),
            "28.2.2\n"
        );
        assert_eq!(
            render_object("json", &v).unwrap(),
            "{\"Client\":{\"Version\":\"28.2.2\"},\"Server\":null}\n"
        );
        assert_eq!(
            render_object("{{.Server.Version}}", &v).unwrap_err().to_string(),
            "template parsing error: template: :1:9: executing \"\" at <.Server.Version>: nil pointer evaluating interface {}.Version"
        );
    }

    /// docker inspect's default output: `json.Indent(..., "", "    ")`.
    #[test]
    fn inspect_default_and_json() {
        let items = [json!({"Id": "abc", "Args": [], "Labels": {"a": "<b>"}})];
        assert_eq!(
            render_inspect(None, &items).unwrap().output,
            "[\n    {\n        \"Id\": \"abc\",\n        \"Args\": [],\n        \"Labels\": {\n            \"a\": \"\\u003cb\\u003e\"\n        }\n    }\n]\n"
        );
        assert_eq!(render_inspect(None, &[]).unwrap().output, "[]\n");
        assert_eq!(
            render_inspect(Some("json"), &items).unwrap().output,
            "[{\"Id\":\"abc\",\"Args\":[],\"Labels\":{\"a\":\"\\u003cb\\u003e\"}}]\n"
        );
        assert_eq!(render_inspect(Some("json"), &[]).unwrap().output, "[]\n");
    }

    /// One line per item; failures are collected, the others still print.
    #[test]
    fn inspect_template() {
        let items = [
            json!({"Name": "/a", "N": 1}),
            json!({"Name": "/b", "N": "x"}),
        ];
        let out = render_inspect(Some("{{.Name}} {{printf \"%03d\" .N}}"), &items).unwrap();
        assert_eq!(out.output, "/a 001\n/b %!d(string=00x)\n");
        let out = render_inspect(Some("{{upper .N}}"), &items).unwrap();
        assert_eq!(out.output, "X\n");
        assert_eq!(out.errors.len(), 1);
        let none = render_inspect(Some("{{.Name}}"), &[]).unwrap();
        assert_eq!(none.output, "\n");
        assert!(render_inspect(Some("{{"), &items).is_err());
    }
}
