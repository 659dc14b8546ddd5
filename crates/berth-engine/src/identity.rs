//! The daemon's stable identity, kept across restarts like dockerd's `engine-id`.

use std::io::Write;
use std::path::Path;

const ID_FILE: &str = "engine-id";

/// Reads `<data-root>/engine-id`, or creates it with a fresh random UUID.
pub fn load_or_create(data_root: &Path) -> std::io::Result<String> {
    let path = data_root.join(ID_FILE);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim();
        if !existing.is_empty() {
            return Ok(existing.to_string());
        }
    }
    let id = random_uuid();
    // Written via a temporary name so a crash never leaves an empty ID file behind.
    let tmp = data_root.join(format!(".{ID_FILE}.tmp"));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(id.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(id)
}

fn random_uuid() -> String {
    let mut bytes: [u8; 16] = rand::random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn id_is_stable() {
        let dir = std::env::temp_dir().join(format!("berth-id-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = super::load_or_create(&dir).unwrap();
        let b = super::load_or_create(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 36);
    }
}
