//! The configuration file's batch keys (`jobs`, `name`, `overwrite`, `recursive`, `fail_fast`,
//! `exclude`): defaults for the options of the same name. They are the command line's, not the
//! library's, so they are read here as a [`ConfigSection`] of the same `fstop.toml`.

use serde::Deserialize;
use toml::Spanned;

use fstop::config::{ConfigSection, TomlLocatedError, struct_fields};

/// The most photos processed at once (`--jobs`, `jobs`): each holds a photo and the models.
pub const JOBS_MAX: u64 = 256;

#[derive(Debug, Deserialize)]
struct RawBatchConfig {
    jobs: Option<Spanned<usize>>,
    name: Option<String>,
    overwrite: Option<bool>,
    recursive: Option<bool>,
    fail_fast: Option<bool>,
    exclude: Option<Vec<String>>,
}

/// The batch keys of a configuration file, read and checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchConfig {
    pub jobs: Option<usize>,
    pub name: Option<String>,
    pub overwrite: Option<bool>,
    pub recursive: Option<bool>,
    pub fail_fast: Option<bool>,
    pub exclude: Vec<String>,
}

impl ConfigSection for BatchConfig {
    fn keys() -> &'static [&'static str] {
        struct_fields::<RawBatchConfig>()
    }

    fn parse(file: &str, text: &str) -> Result<Self, TomlLocatedError> {
        let raw: RawBatchConfig =
            toml::from_str(text).map_err(|e| TomlLocatedError::from_toml(file, text, &e))?;
        if let Some(j) = &raw.jobs
            && !(1..=JOBS_MAX).contains(&(*j.get_ref() as u64))
        {
            return Err(TomlLocatedError::at_span(
                file,
                text,
                j,
                format!("jobs {} is outside 1–{JOBS_MAX}", j.get_ref()),
            ));
        }
        Ok(BatchConfig {
            jobs: raw.jobs.map(Spanned::into_inner),
            name: raw.name,
            overwrite: raw.overwrite,
            recursive: raw.recursive,
            fail_fast: raw.fail_fast,
            exclude: raw.exclude.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fstop::config::Config;

    #[test]
    fn batch_keys_are_read_beside_the_librarys() {
        let (c, b) = Config::parse_with::<BatchConfig>(
            "fstop.toml",
            r#"
preset = "135mm-f2"
jobs = 3
name = "{stem}.{ext}"
overwrite = true
exclude = ["*_depth.png"]
"#,
        )
        .unwrap();
        assert_eq!(c.preset.as_deref(), Some("135mm-f2"));
        assert_eq!(b.jobs, Some(3));
        assert_eq!(b.name.as_deref(), Some("{stem}.{ext}"));
        assert_eq!(b.overwrite, Some(true));
        assert_eq!(b.exclude, vec!["*_depth.png".to_string()]);
        assert_eq!((b.recursive, b.fail_fast), (None, None));
    }

    #[test]
    fn batch_key_errors_name_file_line_and_column() {
        let e = Config::parse_with::<BatchConfig>("c.toml", "jobs = 100000\n").unwrap_err();
        assert_eq!(e.to_string(), "c.toml:1:8: jobs 100000 is outside 1–256");
        let e = Config::parse_with::<BatchConfig>("c.toml", "f_number = 2\njobs = \"x\"\n")
            .unwrap_err();
        assert_eq!((e.line, e.column), (2, 8));
        // The library alone does not know them.
        let e = Config::parse("c.toml", "jobs = 1\n").unwrap_err();
        assert!(e.message.contains("jobs"), "{e}");
    }
}
