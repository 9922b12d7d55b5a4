//! The secret key: from the configuration, or from a key file created on first run.

use std::fs;
use std::io::{ErrorKind as IoErrorKind, Write};
use std::path::{Path, PathBuf};

use integrations_core::{Error, Result};

use crate::config::{check_len, SecretKeySource, SECRET_KEY_LEN};

/// Load the key (blocking: file I/O).
pub(crate) fn load(source: &SecretKeySource) -> Result<[u8; SECRET_KEY_LEN]> {
    let bytes = match source {
        SecretKeySource::Raw(key) => key.clone(),
        SecretKeySource::File(path) => match read(path)? {
            Some(key) => key,
            None => create(path)?,
        },
    };
    check_len(&bytes)?;
    let mut key = [0u8; SECRET_KEY_LEN];
    key.copy_from_slice(&bytes);
    Ok(key)
}

/// The key file's bytes, None if it does not exist.
fn read(path: &Path) -> Result<Option<Vec<u8>>> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == IoErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path, "read", &e)),
    };
    check_private(path, &meta)?;
    let bytes = fs::read(path).map_err(|e| io_error(path, "read", &e))?;
    if bytes.len() != SECRET_KEY_LEN {
        return Err(Error::validation(format!(
            "key file {} holds {} bytes, not {SECRET_KEY_LEN}",
            path.display(),
            bytes.len()
        )));
    }
    Ok(Some(bytes))
}

/// A key readable by other users is as good as leaked: refuse to use it.
#[cfg(unix)]
fn check_private(path: &Path, meta: &fs::Metadata) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::validation(format!(
            "key file {} is readable by group or others (mode {mode:o}); run chmod 600 on it",
            path.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _meta: &fs::Metadata) -> Result<()> {
    Ok(())
}

/// Create the key file with fresh random bytes. Written to a private temporary file, then linked
/// into place, which fails if the file exists: two processes starting together agree on one key.
fn create(path: &Path) -> Result<Vec<u8>> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| io_error(dir, "create", &e))?;
    }
    let key: [u8; SECRET_KEY_LEN] = rand::random();
    let tmp = temporary_name(path);
    let written = write_private(&tmp, &key).and_then(|()| fs::hard_link(&tmp, path));
    let _ = fs::remove_file(&tmp);
    match written {
        Ok(()) => {
            tracing::info!(path = %path.display(), "created a new secret key file");
            Ok(key.to_vec())
        }
        Err(e) if e.kind() == IoErrorKind::AlreadyExists => read(path)?
            .ok_or_else(|| Error::internal(format!("key file {} vanished", path.display()))),
        Err(e) => Err(io_error(path, "create", &e)),
    }
}

fn temporary_name(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{:016x}", rand::random::<u64>()));
    path.with_file_name(name)
}

fn write_private(path: &Path, key: &[u8]) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(key)?;
    file.sync_all()
}

fn io_error(path: &Path, what: &str, e: &std::io::Error) -> Error {
    Error::backend(format!("cannot {what} key file {}: {e}", path.display()))
}
