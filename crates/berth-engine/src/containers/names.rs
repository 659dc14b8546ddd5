//! Container names: docker's validation rule and generated `adjective_noun` names.

use berth_api::ApiError;

const ADJECTIVES: &[&str] = &[
    "agile", "amber", "ancient", "bold", "brave", "bright", "calm", "careful", "cheerful",
    "clever", "cool", "crisp", "curious", "daring", "eager", "earnest", "elated", "fearless",
    "fervent", "friendly", "gallant", "gentle", "glad", "golden", "graceful", "happy", "hardy",
    "honest", "humble", "jolly", "keen", "kind", "lively", "loyal", "lucid", "merry", "mighty",
    "modest", "nimble", "noble", "patient", "peaceful", "placid", "polite", "proud", "quick",
    "quiet", "radiant", "rapid", "resolute", "serene", "sharp", "silent", "sincere", "steady",
    "sturdy", "swift", "tender", "tidy", "vivid", "warm", "wise", "witty", "zealous",
];

/// Harbours, ships and sea words: Berth's theme.
const NOUNS: &[&str] = &[
    "anchor",
    "atoll",
    "ballast",
    "barge",
    "beacon",
    "bollard",
    "bosun",
    "bow",
    "breakwater",
    "brig",
    "buoy",
    "capstan",
    "cargo",
    "channel",
    "clipper",
    "compass",
    "coral",
    "cove",
    "crane",
    "current",
    "cutter",
    "davit",
    "delta",
    "dinghy",
    "dock",
    "dory",
    "estuary",
    "fathom",
    "ferry",
    "fjord",
    "frigate",
    "galley",
    "gangway",
    "harbor",
    "hawser",
    "helm",
    "hull",
    "inlet",
    "jetty",
    "keel",
    "ketch",
    "lagoon",
    "lantern",
    "lighthouse",
    "mast",
    "mooring",
    "navigator",
    "oar",
    "pier",
    "pilot",
    "port",
    "quay",
    "reef",
    "rudder",
    "sail",
    "schooner",
    "shoal",
    "sloop",
    "sounding",
    "spinnaker",
    "starboard",
    "tide",
    "tugboat",
    "wharf",
];

/// Docker's rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`, with an optional leading `/`.
pub fn validate(name: &str) -> Result<String, ApiError> {
    let bare = name.strip_prefix('/').unwrap_or(name);
    let mut chars = bare.chars();
    let valid = bare.len() >= 2
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !valid {
        return Err(ApiError::invalid(format!(
            "Invalid container name ({bare}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )));
    }
    Ok(format!("/{bare}"))
}

/// A random `adjective_noun`; after collisions a digit is appended, as docker does.
pub fn generate(attempt: u32) -> String {
    use rand::seq::SliceRandom;
    let mut rng = rand::thread_rng();
    let adjective = ADJECTIVES.choose(&mut rng).expect("adjectives");
    let noun = NOUNS.choose(&mut rng).expect("nouns");
    if attempt == 0 {
        format!("{adjective}_{noun}")
    } else {
        format!("{adjective}_{noun}{}", rand::random::<u8>() % 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert_eq!(validate("web").unwrap(), "/web");
        assert_eq!(validate("/web-1.x_y").unwrap(), "/web-1.x_y");
        assert!(validate("a").is_err());
        assert!(validate("-x").is_err());
        assert!(validate("a/b").is_err());
        assert!(validate(&generate(0)).is_ok());
    }
}
