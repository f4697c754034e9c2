//! `shulv backup`, `shulv restore` and `shulv verify-backup`.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use anyhow::{bail, Context};
use shulv_platform::backup::{unpack_archive, verify_restored, BackupIndex, RestoreCheck};

use crate::client::ServerArgs;

/// `shulv backup FILE`: asks the running server for a consistent backup and writes it to
/// `file` (through a temporary file, so a failed download leaves no archive behind).
pub fn backup(server: &ServerArgs, file: &Path) -> anyhow::Result<()> {
    if file.exists() {
        bail!("{} exists already; choose a new file name", file.display());
    }
    let part = file.with_extension("tar.part");
    let result = download(server, &part);
    if let Err(e) = result {
        let _ = std::fs::remove_file(&part);
        return Err(e);
    }
    std::fs::rename(&part, file).with_context(|| format!("renaming to {}", file.display()))?;
    let (index, check) = check_archive(file)?;
    println!(
        "{}: backup of {} points, {} files, taken {}",
        file.display(),
        index.points,
        index.files.len(),
        index.created
    );
    print_check(&check);
    Ok(())
}

fn download(server: &ServerArgs, part: &Path) -> anyhow::Result<()> {
    let (status, mut reader) = server.get_stream("/api/v1/backup")?;
    if status != 200 {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut reader, &mut text);
        bail!("server answered {status}: {text}");
    }
    let mut out =
        BufWriter::new(File::create(part).with_context(|| format!("creating {}", part.display()))?);
    std::io::copy(&mut reader, &mut out).context("downloading the backup")?;
    let f = out.into_inner().context("writing the backup")?;
    f.sync_all().context("writing the backup")?;
    Ok(())
}

/// Unpacks `file` into a temporary directory beside it, checks every file and recounts the
/// rollups, then removes the directory.
fn check_archive(file: &Path) -> anyhow::Result<(BackupIndex, RestoreCheck)> {
    let parent = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let scratch = tempfile::Builder::new()
        .prefix(".shulv-verify-")
        .tempdir_in(parent)
        .with_context(|| format!("a temporary directory in {}", parent.display()))?;
    let dest = scratch.path().join("data");
    let index = unpack(file, &dest)?;
    let check = verify_restored(&dest).with_context(|| format!("checking {}", file.display()))?;
    Ok((index, check))
}

fn unpack(file: &Path, dest: &Path) -> anyhow::Result<BackupIndex> {
    let input =
        BufReader::new(File::open(file).with_context(|| format!("opening {}", file.display()))?);
    unpack_archive(input, dest).with_context(|| format!("{}", file.display()))
}

fn print_check(check: &RestoreCheck) {
    println!(
        "ok: every file matches its SHA-256; {} meters; {} segment files, {} raw points, {} rollup rows recounted",
        check.meters, check.segment_files, check.points, check.rollups
    );
}

/// `shulv verify-backup FILE`.
pub fn verify_backup(file: &Path) -> anyhow::Result<()> {
    let (index, check) = check_archive(file)?;
    println!(
        "{}: backup of {} points taken {} by shulv {}",
        file.display(),
        index.points,
        index.created,
        index.shulv_version
    );
    print_check(&check);
    Ok(())
}

/// `shulv restore FILE --data DIR`: unpacks into a new directory beside DIR, checks it, then
/// moves it to DIR (which must not exist or be empty).
pub fn restore(file: &Path, data: &Path) -> anyhow::Result<()> {
    let empty = match std::fs::read_dir(data) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => return Err(e).with_context(|| format!("reading {}", data.display())),
    };
    if !empty {
        bail!(
            "{} is not empty: restore into a new directory (nothing was changed)",
            data.display()
        );
    }
    let name = data
        .file_name()
        .with_context(|| format!("{}: not a directory name", data.display()))?;
    let mut staging_name = name.to_os_string();
    staging_name.push(".restoring");
    let staging = data.with_file_name(staging_name);
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("removing the leftover {}", staging.display()))?;
    }
    let index = unpack(file, &staging)?;
    let check = match verify_restored(&staging) {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e).with_context(|| format!("checking {}", file.display()));
        }
    };
    if data.exists() {
        std::fs::remove_dir(data).with_context(|| format!("replacing {}", data.display()))?;
    }
    std::fs::rename(&staging, data)
        .with_context(|| format!("moving {} to {}", staging.display(), data.display()))?;
    if let Some(parent) = data.parent().filter(|p| !p.as_os_str().is_empty()) {
        File::open(parent).and_then(|d| d.sync_all()).ok();
    }
    println!(
        "restored {} ({} points, taken {}) into {}",
        file.display(),
        index.points,
        index.created,
        data.display()
    );
    print_check(&check);
    std::io::stdout().flush().ok();
    Ok(())
}
