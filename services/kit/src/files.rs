//! Data at rest that only its owner can read. The data directory holds password hashes, e-mail
//! and postal addresses, signing keys, logs and audit trails, so it is created `0700` and every
//! file the platform writes into it `0600` (a umask can only narrow these further). A data
//! directory that already exists with group or other access is tightened to `0700` (keeping a
//! setgid bit); the caller says so (the return value), because a directory someone opened up on
//! purpose should not change silently.
//!
//! On other platforms than Unix these are plain creations.

use std::{
    fs::{File, OpenOptions},
    io,
    path::Path,
};

/// Mode of the data directory and of every directory in it.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file in the data directory.
pub const FILE_MODE: u32 = 0o600;
/// The permission bits of the group and of other users.
const SHARED_BITS: u32 = 0o077;

/// A directory that was tightened, with the mode it had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tightened {
    /// The permission bits it had before (e.g. `0o755`).
    pub was: u32,
}

impl Tightened {
    /// The one line to show an operator.
    pub fn warning(&self, dir: &Path) -> String {
        format!(
            "{} was open to other users (mode {:o}); it is now {:o} (owner only)",
            dir.display(),
            self.was,
            DIR_MODE
        )
    }
}

/// Creates the data directory `dir` and any missing parents owner-only, or tightens it when it
/// exists with group or other permissions. `Some` tells what it had when it was tightened. A
/// shared directory (sticky bit, such as `/tmp`) is refused rather than tightened: the data
/// belongs in a directory of its own.
pub fn private_dir(dir: &Path) -> io::Result<Option<Tightened>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        match std::fs::metadata(dir) {
            Ok(meta) if meta.is_dir() => {
                let was = meta.permissions().mode() & 0o7777;
                if was & SHARED_BITS == 0 {
                    return Ok(None);
                }
                if was & 0o1000 != 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::PermissionDenied,
                        format!(
                            "{} is a shared directory (mode {was:o}); give the data a directory of its own",
                            dir.display()
                        ),
                    ));
                }
                let setgid = was & 0o2000;
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE | setgid))?;
                Ok(Some(Tightened { was }))
            }
            Ok(_) => Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a directory", dir.display()),
            )),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                create_private_dir(dir)?;
                Ok(None)
            }
            Err(err) => Err(err),
        }
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)?;
        Ok(None)
    }
}

/// The data directory `dir` made owner-only with [`private_dir`], for a command or service
/// that must go on where it cannot be: `Ok(Some(warning))` when it was tightened, or when it
/// exists but could not be (another owner, a shared volume), which the caller shows; `Err` only
/// when it did not exist and could not be created.
pub fn secure_data_dir(dir: &Path) -> io::Result<Option<String>> {
    let existed = dir.is_dir();
    match private_dir(dir) {
        Ok(tightened) => Ok(tightened.map(|t| t.warning(dir))),
        Err(err) if existed => Ok(Some(format!(
            "{} could not be made owner-only ({err}); check its owner and mode",
            dir.display()
        ))),
        Err(err) => Err(err),
    }
}

/// Creates `dir` and any missing parents owner-only; an existing directory is left as it is
/// (it may be any directory a database URL or path names, not the platform's own).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Options that create a file owner-only (`0600`); add `append`, `write` or `truncate` as needed.
pub fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(FILE_MODE);
    }
    options
}

/// Opens `path` for appending, creating it owner-only (a log or an audit trail).
pub fn append_private(path: &Path) -> io::Result<File> {
    let file = private_options().append(true).open(path)?;
    restrict(&file)?;
    Ok(file)
}

/// Writes `bytes` to `path`, readable by its owner only, also when the file existed before with
/// wider permissions.
pub fn write_private(path: &Path, bytes: impl AsRef<[u8]>) -> io::Result<()> {
    use std::io::Write as _;
    let mut file = private_options().write(true).truncate(true).open(path)?;
    restrict(&file)?;
    file.write_all(bytes.as_ref())
}

/// Makes sure `path` exists and is owner-only (a database file before the driver opens it, so
/// the journal files the driver creates beside it inherit its mode). An existing file is not
/// opened (it may be read-only); its group and other permissions are dropped when it has any
/// and the file system allows it.
pub fn touch_private(path: &Path) -> io::Result<()> {
    match private_options().write(true).create_new(true).open(path) {
        Ok(file) => restrict(&file),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
                if mode & SHARED_BITS != 0 {
                    // A read-only file system or someone else's file: leave it as it is.
                    let _ = std::fs::set_permissions(
                        path,
                        std::fs::Permissions::from_mode(mode & 0o700),
                    );
                }
            }
            Ok(())
        }
        Err(err) => Err(err),
    }
}

/// Drops group and other permissions from an open file (one written by an older version).
pub fn restrict(file: &File) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = file.metadata()?.permissions().mode() & 0o777;
        if mode & SHARED_BITS != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("the path exists")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn a_new_data_directory_and_its_parents_are_owner_only() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        assert_eq!(private_dir(&dir).unwrap(), None);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&root.path().join("a")), 0o700);
    }

    #[test]
    fn an_open_data_directory_is_tightened_and_says_what_it_was() {
        let root = tempfile::tempdir().unwrap();
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let tightened = private_dir(root.path()).unwrap().expect("tightened");
        assert_eq!(tightened.was, 0o755);
        assert_eq!(mode(root.path()), 0o700);
        assert!(tightened.warning(root.path()).contains("755"));
        // A setgid bit (group ownership of new files) is kept.
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o2775)).unwrap();
        assert_eq!(private_dir(root.path()).unwrap().unwrap().was, 0o2775);
        let kept = std::fs::metadata(root.path()).unwrap().permissions().mode() & 0o7777;
        assert_eq!(kept, 0o2700);
        // Already private: nothing to say.
        assert_eq!(private_dir(root.path()).unwrap(), None);
    }

    #[test]
    fn a_shared_directory_is_refused_not_tightened() {
        let root = tempfile::tempdir().unwrap();
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
        let err = private_dir(root.path()).unwrap_err();
        assert!(err.to_string().contains("directory of its own"), "{err}");
        assert_eq!(mode(root.path()), 0o777);
    }

    #[test]
    fn an_existing_directory_named_by_a_database_url_is_left_alone() {
        let root = tempfile::tempdir().unwrap();
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir(root.path()).unwrap();
        assert_eq!(mode(root.path()), 0o755);
        create_private_dir(&root.path().join("new")).unwrap();
        assert_eq!(mode(&root.path().join("new")), 0o700);
    }

    #[test]
    fn a_file_in_the_way_of_the_directory_is_an_error() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("file");
        std::fs::write(&file, b"").unwrap();
        assert!(private_dir(&file).is_err());
    }

    #[test]
    fn files_are_created_owner_only_and_existing_ones_tightened() {
        let root = tempfile::tempdir().unwrap();
        let fresh = root.path().join("fresh.log");
        append_private(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o600);

        let old = root.path().join("old.toml");
        std::fs::write(&old, "x").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&old, "secret").unwrap();
        assert_eq!(mode(&old), 0o600);
        assert_eq!(std::fs::read_to_string(&old).unwrap(), "secret");

        let db = root.path().join("shop.db");
        touch_private(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o664)).unwrap();
        touch_private(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        // A read-only database file stays readable (it is never opened for writing here).
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
        touch_private(&db).unwrap();
        assert_eq!(mode(&db), 0o400);
    }
}
