//! Every path a run reads and every path it writes, checked against each other before anything
//! is written: no output, saved map or report may replace a file the run reads (a photo, a
//! depth or matte file, the configuration or a preset file), and no two writes may share a path.
//! Paths are compared after symlinks and `.`/`..` are resolved (see [`canonical`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use super::batch::canonical;

/// What a path is to the run, for the error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Photo,
    DepthFile,
    MatteFile,
    ConfigFile,
    PresetFile,
    Output,
    SavedDepth,
    SavedMatte,
    Report,
}

impl Role {
    fn describe(self) -> &'static str {
        match self {
            Role::Photo => "the input photo",
            Role::DepthFile => "the --depth file",
            Role::MatteFile => "the --matte file",
            Role::ConfigFile => "the configuration file",
            Role::PresetFile => "the preset file",
            Role::Output => "the output",
            Role::SavedDepth => "--save-depth",
            Role::SavedMatte => "--save-matte",
            Role::Report => "--report",
        }
    }
}

/// The files a run reads and writes.
#[derive(Debug, Default)]
pub struct FileUse {
    reads: HashMap<PathBuf, (PathBuf, Role)>,
    writes: Vec<(PathBuf, PathBuf, Role)>,
}

impl FileUse {
    /// Notes a file the run reads.
    pub fn read(&mut self, path: &Path, role: Role) {
        self.reads
            .entry(canonical(path))
            .or_insert_with(|| (path.to_path_buf(), role));
    }

    /// Notes a file the run will write.
    pub fn write(&mut self, path: &Path, role: Role) {
        self.writes
            .push((canonical(path), path.to_path_buf(), role));
    }

    /// Refuses a write onto a read file, onto a folder, or onto another write's path.
    pub fn check(&self) -> Result<()> {
        let mut written: HashMap<&Path, (&Path, Role)> = HashMap::new();
        for (canon, path, role) in &self.writes {
            if let Some((read, read_role)) = self.reads.get(canon) {
                bail!(
                    "{}: {} would overwrite {} {}; choose another path",
                    path.display(),
                    role.describe(),
                    read_role.describe(),
                    read.display()
                );
            }
            if canon.is_dir() {
                bail!(
                    "{}: {} is an existing folder, not a file",
                    path.display(),
                    role.describe()
                );
            }
            if let Some((other, other_role)) = written.insert(canon, (path, *role)) {
                bail!(
                    "{} and {} would both be written to {}; use --name with more placeholders, \
                     other paths or separate runs",
                    other_role.describe(),
                    role.describe(),
                    other.display()
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_onto_a_read_is_refused_with_both_roles() {
        let dir = tempfile::tempdir().unwrap();
        let photo = dir.path().join("a.jpg");
        std::fs::write(&photo, b"x").unwrap();
        let mut use_ = FileUse::default();
        use_.read(&photo, Role::Photo);
        use_.write(&dir.path().join("./a.jpg"), Role::Report);
        let e = use_.check().unwrap_err().to_string();
        assert!(
            e.contains("--report would overwrite the input photo"),
            "{e}"
        );
    }

    #[test]
    fn two_writes_to_one_path_are_refused() {
        let mut use_ = FileUse::default();
        use_.write(Path::new("out/x.png"), Role::SavedDepth);
        use_.write(Path::new("out/../out/x.png"), Role::SavedMatte);
        let e = use_.check().unwrap_err().to_string();
        assert!(
            e.contains("--save-depth and --save-matte would both be written to"),
            "{e}"
        );
    }

    #[test]
    fn a_folder_is_not_a_write_target() {
        let dir = tempfile::tempdir().unwrap();
        let mut use_ = FileUse::default();
        use_.write(dir.path(), Role::Output);
        let e = use_.check().unwrap_err().to_string();
        assert!(e.contains("is an existing folder"), "{e}");
    }

    #[test]
    fn distinct_paths_pass() {
        let mut use_ = FileUse::default();
        use_.read(Path::new("in.jpg"), Role::Photo);
        use_.write(Path::new("in-bokeh.jpg"), Role::Output);
        use_.write(Path::new("report.json"), Role::Report);
        use_.check().unwrap();
    }
}
