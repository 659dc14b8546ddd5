//! `berth version`: client and server versions, as `docker version` prints them.

use berth_api::{build_info, ApiVersion};
use clap::Args;
use serde_json::{json, Value};

use super::Context;
use crate::client;
use crate::output;

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Format output using a custom template:
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template.
    #[arg(short = 'f', long = "format", value_name = "string")]
    pub format: Option<String>,
}

/// docker's default layout, rendered with the same template engine users' formats use.
const DEFAULT_TEMPLATE: &str = r#"Client:{{if ne .Client.Platform.Name ""}} {{.Client.Platform.Name}}{{end}}
 Version:	{{.Client.Version}}
 API version:	{{.Client.ApiVersion}}{{if ne .Client.ApiVersion .Client.DefaultAPIVersion}} (downgraded from {{.Client.DefaultAPIVersion}}){{end}}
 Go version:	{{.Client.GoVersion}}
 Git commit:	{{.Client.GitCommit}}
 Built:	{{.Client.BuildTime}}
 OS/Arch:	{{.Client.Os}}/{{.Client.Arch}}
 Context:	{{.Client.Context}}
{{- if .Server}}{{with .Server}}

Server:{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}
{{- range $component := .Components}}
 {{$component.Name}}:
  {{- if eq $component.Name "Engine"}}
  Version:	{{.Version}}
  API version:	{{index .Details "ApiVersion"}} (minimum version {{index .Details "MinAPIVersion"}})
  Go version:	{{index .Details "GoVersion"}}
  Git commit:	{{index .Details "GitCommit"}}
  Built:	{{index .Details "BuildTime"}}
  OS/Arch:	{{index .Details "Os"}}/{{index .Details "Arch"}}
  Experimental:	{{index .Details "Experimental"}}
  {{- else}}
  Version:	{{$component.Version}}
  {{- range $key, $value := $component.Details}}
  {{$key}}:	{{$value}}
  {{- end}}
  {{- end}}
{{- end}}
{{- end}}{{end}}
"#;

pub async fn run(ctx: &mut Context, args: VersionArgs) -> client::Result<u8> {
    let server = ctx.client.get_json("/version").await;
    let api_version = ctx
        .client
        .negotiated_version()
        .await
        .unwrap_or_else(|_| ApiVersion::MAX.to_string());
    let client_info = json!({
        "Platform": {"Name": "Berth"},
        "Version": build_info::VERSION,
        "ApiVersion": api_version,
        "DefaultAPIVersion": ApiVersion::MAX.to_string(),
        "GoVersion": build_info::RUSTC_VERSION,
        "GitCommit": build_info::GIT_COMMIT,
        "BuildTime": build_info::BUILD_TIME,
        "Os": std::env::consts::OS,
        "Arch": build_info::go_arch(),
        "Context": "default",
    });
    let (server_value, server_error) = match server {
        Ok(value) => (value, None),
        Err(e) => (Value::Null, Some(e)),
    };
    let data = json!({ "Client": client_info, "Server": server_value });
    match args.format.as_deref() {
        Some("json") => println!("{}", data),
        Some(template) => print!("{}", output::render_one(template, &data)?),
        None => {
            let text = output::render_plain(DEFAULT_TEMPLATE, &data)?;
            print!("{}", output::tabwrite(&text, 20, 1, 1));
        }
    }
    match server_error {
        Some(e) => Err(e),
        None => Ok(0),
    }
}
