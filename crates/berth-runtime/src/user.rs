//! `-u user[:group]` and `--group-add` resolved against the image's `/etc/passwd` and
//! `/etc/group`, with the rules (and error texts) of runc's user package that dockerd uses:
//!
//! - empty user means uid 0; names must exist, numeric ids need not;
//! - the first matching entry wins;
//! - without an explicit group the primary gid comes from passwd and the supplementary
//!   gids are the groups listing the user as a member;
//! - an explicit group replaces the primary gid and adds no supplementary groups.

use std::path::{Path, PathBuf};

use crate::scoped;

/// Largest id accepted (runc's `maxID`, 2^31 - 1).
const MAX_ID: u64 = i32::MAX as u64;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UserError {
    #[error("unable to find user {0}: no matching entries in passwd file")]
    NoSuchUser(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    NoSuchGroup(String),
    #[error("Unable to find group {0}: no matching entries in group file")]
    NoSuchAdditionalGroup(String),
    #[error("uids and gids must be in range 0-{MAX_ID}")]
    OutOfRange,
    #[error("reading {path}: {message}")]
    Read { path: PathBuf, message: String },
}

/// One line of `/etc/passwd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

/// One line of `/etc/group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// The identity a container process runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups, in the order dockerd puts them: the primary gid first, then
    /// the user's groups from /etc/group, then `--group-add`.
    pub additional_gids: Vec<u32>,
    /// Home directory from passwd, `/` when the user has no entry.
    pub home: String,
}

fn split_fields(line: &str) -> Option<Vec<&str>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    Some(line.split(':').collect())
}

fn parse_id(field: Option<&&str>) -> u32 {
    field.and_then(|f| f.trim().parse().ok()).unwrap_or(0)
}

/// Parses passwd-formatted text; malformed numeric fields count as 0 like runc's parser.
pub fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter_map(split_fields)
        .map(|f| PasswdEntry {
            name: f.first().unwrap_or(&"").to_string(),
            uid: parse_id(f.get(2)),
            gid: parse_id(f.get(3)),
            home: f.get(5).unwrap_or(&"").to_string(),
        })
        .collect()
}

/// Parses group-formatted text.
pub fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter_map(split_fields)
        .map(|f| GroupEntry {
            name: f.first().unwrap_or(&"").to_string(),
            gid: parse_id(f.get(2)),
            members: f
                .get(3)
                .map(|m| {
                    m.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// The user and group databases of one image (either may be absent).
#[derive(Debug, Clone, Default)]
pub struct UserDb {
    pub passwd: Option<Vec<PasswdEntry>>,
    pub group: Option<Vec<GroupEntry>>,
}

impl UserDb {
    /// Reads `/etc/passwd` and `/etc/group` of a container root (symlinks stay inside it).
    /// A missing file is not an error: numeric ids still work, names do not.
    pub fn load(rootfs: &Path) -> Result<Self, UserError> {
        let read = |name: &str| -> Result<Option<String>, UserError> {
            let path = scoped::resolve(rootfs, Path::new(name)).map_err(|e| UserError::Read {
                path: rootfs.join(name.trim_start_matches('/')),
                message: e.to_string(),
            })?;
            match std::fs::read(&path) {
                Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(UserError::Read {
                    path,
                    message: e.to_string(),
                }),
            }
        };
        Ok(UserDb {
            passwd: read("/etc/passwd")?.map(|t| parse_passwd(&t)),
            group: read("/etc/group")?.map(|t| parse_group(&t)),
        })
    }

    /// Resolves `user[:group]` plus `--group-add` entries.
    pub fn resolve(&self, spec: &str, group_add: &[String]) -> Result<ResolvedUser, UserError> {
        let (user_arg, group_arg) = match spec.split_once(':') {
            Some((u, g)) => (u.trim(), g.trim()),
            None => (spec.trim(), ""),
        };
        let numeric_uid = parse_numeric(user_arg)?;
        let numeric_gid = parse_numeric(group_arg)?;
        let passwd = self.passwd.as_deref().unwrap_or(&[]);
        let groups = self.group.as_deref().unwrap_or(&[]);

        let matched = passwd.iter().find(|p| {
            if user_arg.is_empty() {
                p.uid == 0
            } else if let Some(uid) = numeric_uid {
                p.uid == uid
            } else {
                p.name == user_arg
            }
        });

        let mut user = ResolvedUser {
            uid: 0,
            gid: 0,
            additional_gids: Vec::new(),
            home: "/".to_string(),
        };
        match (matched, numeric_uid) {
            (Some(p), _) => {
                user.uid = p.uid;
                user.gid = p.gid;
                user.home = if p.home.is_empty() {
                    "/".into()
                } else {
                    p.home.clone()
                };
            }
            (None, Some(uid)) => user.uid = uid,
            (None, None) if user_arg.is_empty() => {}
            (None, None) => return Err(UserError::NoSuchUser(user_arg.to_string())),
        }

        let mut supplementary = Vec::new();
        if !group_arg.is_empty() {
            let found = groups.iter().find(|g| match numeric_gid {
                Some(gid) => g.gid == gid,
                None => g.name == group_arg,
            });
            user.gid = match (found, numeric_gid) {
                (Some(g), _) => g.gid,
                (None, Some(gid)) => gid,
                (None, None) => return Err(UserError::NoSuchGroup(group_arg.to_string())),
            };
        } else if let Some(p) = matched {
            supplementary.extend(
                groups
                    .iter()
                    .filter(|g| g.members.contains(&p.name))
                    .map(|g| g.gid),
            );
        }

        let added = self.additional_groups(group_add)?;
        user.additional_gids = std::iter::once(user.gid)
            .chain(supplementary)
            .chain(added)
            .collect();
        Ok(user)
    }

    /// `--group-add`: names or gids; a name must exist in /etc/group, a gid need not.
    /// Duplicates are dropped.
    pub fn additional_groups(&self, names: &[String]) -> Result<Vec<u32>, UserError> {
        let groups = self.group.as_deref().unwrap_or(&[]);
        let mut out: Vec<u32> = Vec::new();
        for want in names {
            let found = groups
                .iter()
                .find(|g| g.name == *want || g.gid.to_string() == *want);
            let gid = match found {
                Some(g) => g.gid,
                None => match want.parse::<i64>() {
                    Ok(n) if (0..=MAX_ID as i64).contains(&n) => n as u32,
                    Ok(_) => return Err(UserError::OutOfRange),
                    Err(_) => return Err(UserError::NoSuchAdditionalGroup(want.clone())),
                },
            };
            if !out.contains(&gid) {
                out.push(gid);
            }
        }
        Ok(out)
    }
}

fn parse_numeric(arg: &str) -> Result<Option<u32>, UserError> {
    if arg.is_empty() || !arg.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    match arg.parse::<u64>() {
        Ok(n) if n <= MAX_ID => Ok(Some(n as u32)),
        _ => Err(UserError::OutOfRange),
    }
}

/// Convenience: load the databases of `rootfs` and resolve `spec` and `group_add`.
pub fn resolve(rootfs: &Path, spec: &str, group_add: &[String]) -> Result<ResolvedUser, UserError> {
    UserDb::load(rootfs)?.resolve(spec, group_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
        daemon:x:1:1:daemon:/usr/sbin:/bin/false\n\
        \n\
        # comment\n\
        www-data:x:33:33:www-data:/var/www:/bin/false\n\
        nobody:x:65534:65534:nobody:/home:/bin/false\n\
        dup:x:1000:1000::/first:/bin/sh\n\
        dup:x:1001:1001::/second:/bin/sh\n";
    const GROUP: &str = "root:x:0:\n\
        daemon:x:1:\n\
        www-data:x:33:\n\
        audio:x:29:www-data,dup\n\
        video:x:44:www-data\n\
        nogroup:x:65534:\n\
        staff:x:50:\n";

    fn db() -> UserDb {
        UserDb {
            passwd: Some(parse_passwd(PASSWD)),
            group: Some(parse_group(GROUP)),
        }
    }

    #[test]
    fn empty_user_is_root_from_passwd() {
        let u = db().resolve("", &[]).unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (0, 0, "/root"));
        assert_eq!(u.additional_gids, vec![0]);
    }

    #[test]
    fn name_gives_primary_and_member_groups() {
        let u = db().resolve("www-data", &[]).unwrap();
        assert_eq!((u.uid, u.gid), (33, 33));
        assert_eq!(u.additional_gids, vec![33, 29, 44]);
        assert_eq!(u.home, "/var/www");
    }

    #[test]
    fn numeric_uid_without_entry_is_allowed() {
        let u = db().resolve("4242", &[]).unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (4242, 0, "/"));
        let u = db().resolve("4242:4343", &[]).unwrap();
        assert_eq!((u.uid, u.gid), (4242, 4343));
        assert_eq!(u.additional_gids, vec![4343]);
    }

    #[test]
    fn numeric_uid_with_entry_takes_its_gid() {
        let u = db().resolve("33", &[]).unwrap();
        assert_eq!((u.uid, u.gid), (33, 33));
    }

    #[test]
    fn explicit_group_replaces_gid_and_drops_member_groups() {
        let u = db().resolve("www-data:staff", &[]).unwrap();
        assert_eq!((u.uid, u.gid), (33, 50));
        assert_eq!(u.additional_gids, vec![50]);
        let u = db().resolve("daemon:44", &[]).unwrap();
        assert_eq!(u.gid, 44);
    }

    #[test]
    fn first_entry_wins() {
        let u = db().resolve("dup", &[]).unwrap();
        assert_eq!((u.uid, u.home.as_str()), (1000, "/first"));
    }

    #[test]
    fn missing_names_use_dockers_wording() {
        assert_eq!(
            db().resolve("x", &[]).unwrap_err().to_string(),
            "unable to find user x: no matching entries in passwd file"
        );
        assert_eq!(
            db().resolve("root:nogrp", &[]).unwrap_err().to_string(),
            "unable to find group nogrp: no matching entries in group file"
        );
        assert_eq!(
            db().resolve("root", &["nogrp".into()])
                .unwrap_err()
                .to_string(),
            "Unable to find group nogrp: no matching entries in group file"
        );
    }

    #[test]
    fn missing_files_allow_numeric_ids_only() {
        let empty = UserDb::default();
        let u = empty.resolve("1:2", &["7".into()]).unwrap();
        assert_eq!((u.uid, u.gid), (1, 2));
        assert_eq!(u.additional_gids, vec![2, 7]);
        assert!(matches!(
            empty.resolve("someone", &[]),
            Err(UserError::NoSuchUser(_))
        ));
    }

    #[test]
    fn group_add_by_name_and_id_dedups() {
        let u = db()
            .resolve("root", &["audio".into(), "29".into(), "1234".into()])
            .unwrap();
        assert_eq!(u.additional_gids, vec![0, 29, 1234]);
    }

    #[test]
    fn out_of_range_ids() {
        assert_eq!(
            db().resolve("4294967296", &[]).unwrap_err(),
            UserError::OutOfRange
        );
    }

    #[test]
    fn load_from_rootfs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/passwd"), PASSWD).unwrap();
        std::fs::write(dir.path().join("etc/group"), GROUP).unwrap();
        let u = resolve(dir.path(), "nobody", &[]).unwrap();
        assert_eq!((u.uid, u.gid), (65534, 65534));
        let none = tempfile::tempdir().unwrap();
        assert_eq!(
            resolve(none.path(), "nobody", &[]).unwrap_err().to_string(),
            "unable to find user nobody: no matching entries in passwd file"
        );
    }
}
