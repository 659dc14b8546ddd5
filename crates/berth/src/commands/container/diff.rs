//! `berth diff CONTAINER`: the files the container added (`A`), changed (`C`) or deleted
//! (`D`) compared with its image, from `GET /containers/{id}/changes`.

use clap::Args;
use serde_json::Value;

use crate::client::{self, encode};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// CONTAINER
    pub container: String,
}

/// docker's `ChangeType` letters: 0 modified, 1 added, 2 deleted.
fn kind_letter(kind: i64) -> &'static str {
    match kind {
        0 => "C",
        1 => "A",
        2 => "D",
        _ => "",
    }
}

pub async fn run(ctx: &mut Context, args: DiffArgs) -> client::Result<u8> {
    let changes = ctx
        .client
        .get_json(&format!("/containers/{}/changes", encode(&args.container)))
        .await?;
    let mut text = String::new();
    for change in changes.as_array().into_iter().flatten() {
        let kind = change.get("Kind").and_then(Value::as_i64).unwrap_or(-1);
        let path = change.get("Path").and_then(Value::as_str).unwrap_or("");
        text.push_str(kind_letter(kind));
        text.push(' ');
        text.push_str(path);
        text.push('\n');
    }
    print!("{text}");
    Ok(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn letters() {
        assert_eq!(super::kind_letter(0), "C");
        assert_eq!(super::kind_letter(1), "A");
        assert_eq!(super::kind_letter(2), "D");
    }
}
