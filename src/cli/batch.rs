//! Planning (inputs → sorted jobs with output paths) and running photos in parallel.
//!
//! * Inputs are files, folders (recursive with `-r`; hidden entries and the output folder are
//!   left out) and globs; from folders and globs only jpg/jpeg/png/tif/tiff/webp files are
//!   taken. The list is de-duplicated (by canonical path) and sorted by path, so it is the same
//!   on every run and machine; `--shard I/N` keeps entries k with `k mod N == I − 1`.
//! * Outputs go to `OUTDIR/<folder structure below the INPUT folder or glob base>/<--name>`,
//!   or next to each input without `-o`. A file found in a folder or glob that is the output
//!   (or depth/matte file) of another input is left out: it is a previous run's result.
//! * Refused before any work (exit 2): an output equal to an input, two inputs with the same
//!   output, an output format fstop cannot write.
//! * An output that exists already is skipped when up to date, rendered again when stale, and
//!   never replaced when fstop did not make it (unless `--overwrite`): see [`rerun`].
//! * Workers (`--jobs`) each load the models once and hold one photo at a time; results are
//!   collected on the main thread, which prints, writes JSON and the report. A panic in one
//!   photo is caught and reported as that photo's failure.

use std::collections::{BTreeSet, HashSet};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use anyhow::{Result, anyhow, bail};
use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

use fstop::io::decode::InputFormat;
use fstop::io::encode::OutputFormat;
use fstop::io::fingerprint::Fingerprint;
use fstop::io::{self, StripMetadata};
use fstop::pipeline::{
    self, AnalysisOptions, DepthFile, LazyModels, Look, Outcome, PipelineError, Stage,
};
use fstop::render::RenderOptions;
use fstop::scene::Plane;

use super::exit::Exit;
use super::paths::{FileUse, Role};
use super::progress::Ui;
use super::report::{self, FileRecord, JsonLine, LensReport, Reason, Status, Summary, Timings};
use super::rerun::{self, Decision, Replace};
use super::shard::Shard;
use super::signals::Stop;
use super::validate::{
    BatchSettings, INPUT_EXTENSIONS, NameTemplate, NameVars, OUTPUT_EXTENSIONS, PathTemplate,
    RenderSettings, has_extension,
};

/// A photo found among the inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct InputPhoto {
    pub path: PathBuf,
    /// Folder below the INPUT folder or glob base (mirrored under OUTDIR).
    pub rel_dir: PathBuf,
    /// Named on the command line (not found in a folder or by a glob).
    pub explicit: bool,
}

/// One photo to process.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoJob {
    /// Position in the sorted list, before sharding (0-based).
    pub index: usize,
    pub input: PathBuf,
    pub output: PathBuf,
    pub depth: Option<PathBuf>,
    pub matte: Option<PathBuf>,
    pub save_depth: Option<PathBuf>,
    pub save_matte: Option<PathBuf>,
    /// What may happen to a file already at `output` ([`rerun`]).
    pub replace: Replace,
}

/// What a run will do.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// One photo to an explicit or default file name (not a batch).
    pub single: bool,
    pub jobs: Vec<PhotoJob>,
    /// Files left out because they are other inputs' outputs, depth or matte files.
    pub left_out: Vec<PathBuf>,
    /// Non-fatal problems found while listing (unreadable folders…).
    pub warnings: Vec<String>,
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.to_string_lossy().starts_with('.')
}

fn has_glob_chars(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

/// Why an INPUT that is neither a regular file nor a folder cannot be read: a missing path, a
/// broken or looping symbolic link, or a special file (FIFO, device, socket).
pub fn not_a_photo_path(path: &Path) -> String {
    match std::fs::metadata(path) {
        Ok(meta) => format!(
            "is {}, not a photo file",
            io::limits::describe_file_type(&meta.file_type())
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match std::fs::read_link(path) {
            Ok(target) => format!(
                "is a broken symbolic link (it points to {}, which does not exist)",
                target.display()
            ),
            Err(_) => "no such file or folder".into(),
        },
        Err(e) if e.raw_os_error() == Some(LOOP_ERRNO) => {
            "is a symbolic link loop (it never reaches a file)".into()
        }
        Err(e) => format!("cannot read: {e}"),
    }
}

/// ELOOP: too many levels of symbolic links.
#[cfg(target_os = "linux")]
const LOOP_ERRNO: i32 = 40;
#[cfg(not(target_os = "linux"))]
const LOOP_ERRNO: i32 = 62;

/// The leading components of a glob pattern that contain no wildcard.
fn glob_base(pattern: &str) -> PathBuf {
    let mut base = PathBuf::new();
    for c in Path::new(pattern).components() {
        if has_glob_chars(&c.as_os_str().to_string_lossy()) {
            break;
        }
        base.push(c);
    }
    base
}

/// An absolute, symlink-resolved path for comparing; for a path that does not exist yet, its
/// existing parent resolved plus the rest.
pub fn canonical(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    // Lexically drop `.` and resolve `..` (the path does not exist, so no symlink is involved
    // below the part that does).
    let mut abs = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                abs.pop();
            }
            c => abs.push(c),
        }
    }
    // Resolve the longest existing ancestor, then re-append the rest lexically.
    let mut rest = Vec::new();
    let mut cur = abs.as_path();
    loop {
        if let Ok(p) = cur.canonicalize() {
            let mut out = p;
            for c in rest.iter().rev() {
                out.push(c);
            }
            return out;
        }
        match (cur.parent(), cur.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                cur = parent;
            }
            _ => return abs,
        }
    }
}

fn excluded(path: &Path, exclude: &GlobSet) -> bool {
    let name = path.file_name().unwrap_or_default();
    exclude.is_match(name) || exclude.is_match(path)
}

/// Compiles `--exclude` patterns (globset syntax: `*`, `?`, `[…]`, `{a,b}`, `**`), matched
/// against a file's name and its path.
pub fn exclude_set<'a>(patterns: impl IntoIterator<Item = &'a String>) -> Result<GlobSet> {
    let mut set = GlobSetBuilder::new();
    for pattern in patterns {
        set.add(Glob::new(pattern).map_err(|e| anyhow!("--exclude '{pattern}': {}", e.kind()))?);
    }
    set.build().map_err(|e| anyhow!("--exclude: {e}"))
}

/// The photos a glob INPUT names: its base folder (the part without wildcards) walked as deep as
/// the pattern reaches (any depth with `**`), hidden entries and `skip_dir` left out.
fn glob_matches(
    input: &str,
    skip_dir: Option<&Path>,
    warnings: &mut Vec<String>,
) -> Result<Vec<PathBuf>> {
    let matcher = GlobBuilder::new(input)
        .literal_separator(true)
        .build()
        .map_err(|e| anyhow!("glob '{input}': {}", e.kind()))?
        .compile_matcher();
    let base = glob_base(input);
    let walk_root = if base.as_os_str().is_empty() {
        Path::new(".")
    } else {
        base.as_path()
    };
    let pattern_depth = Path::new(input).components().count() - base.components().count();
    let max_depth = if input.contains("**") {
        usize::MAX
    } else {
        pattern_depth
    };
    let walker = walkdir::WalkDir::new(walk_root)
        .min_depth(1)
        .max_depth(max_depth)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let is_skip_dir =
                e.file_type().is_dir() && skip_dir.is_some_and(|skip| canonical(e.path()) == skip);
            !(is_hidden(e.file_name()) || is_skip_dir)
        });
    let mut found = Vec::new();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                warnings.push(format!("{input}: {e}"));
                continue;
            }
        };
        // Walking "." yields "./a.jpg"; the pattern names "a.jpg".
        let path = match base.as_os_str().is_empty() {
            true => entry.path().strip_prefix(".").unwrap_or(entry.path()),
            false => entry.path(),
        };
        if entry.file_type().is_file() && matcher.is_match(path) {
            found.push(path.to_path_buf());
        }
    }
    Ok(found)
}

/// Expands INPUT arguments into photos (see the module documentation). `skip_dir` (the output
/// folder, canonical) is not descended into.
pub fn expand_inputs(
    inputs: &[String],
    recursive: bool,
    exclude: &GlobSet,
    skip_dir: Option<&Path>,
    warnings: &mut Vec<String>,
) -> Result<Vec<InputPhoto>> {
    let mut sources = Vec::new();
    for input in inputs {
        let path = Path::new(input);
        if path.is_file() {
            if !excluded(path, exclude) {
                sources.push(InputPhoto {
                    path: path.to_path_buf(),
                    rel_dir: PathBuf::new(),
                    explicit: true,
                });
            }
        } else if path.is_dir() {
            let max_depth = if recursive { usize::MAX } else { 1 };
            let walker = walkdir::WalkDir::new(path)
                .min_depth(1)
                .max_depth(max_depth)
                .follow_links(true)
                .sort_by_file_name()
                .into_iter()
                .filter_entry(|e| {
                    if is_hidden(e.file_name()) {
                        return false;
                    }
                    match skip_dir {
                        Some(skip) if e.file_type().is_dir() => canonical(e.path()) != skip,
                        _ => true,
                    }
                });
            let mut found_any = false;
            for entry in walker {
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        warnings.push(format!("{input}: {e}"));
                        continue;
                    }
                };
                let p = entry.path();
                if !entry.file_type().is_file() || !has_extension(p, INPUT_EXTENSIONS) {
                    continue;
                }
                found_any = true;
                if excluded(p, exclude) {
                    continue;
                }
                let rel_dir = p
                    .parent()
                    .and_then(|d| d.strip_prefix(path).ok())
                    .unwrap_or(Path::new(""))
                    .to_path_buf();
                sources.push(InputPhoto {
                    path: p.to_path_buf(),
                    rel_dir,
                    explicit: false,
                });
            }
            if !found_any {
                let hint = if recursive {
                    ""
                } else {
                    " (use -r to include subfolders)"
                };
                return Err(no_photos(input, &format!("in this folder{hint}")));
            }
        } else if has_glob_chars(input) {
            let base = glob_base(input);
            let mut matched = 0;
            for p in glob_matches(input, skip_dir, warnings)? {
                if !p.is_file() || !has_extension(&p, INPUT_EXTENSIONS) {
                    continue;
                }
                if skip_dir.is_some_and(|skip| canonical(&p).starts_with(skip)) {
                    continue;
                }
                matched += 1;
                if excluded(&p, exclude) {
                    continue;
                }
                let rel_dir = p
                    .parent()
                    .and_then(|d| d.strip_prefix(&base).ok())
                    .unwrap_or(Path::new(""))
                    .to_path_buf();
                sources.push(InputPhoto {
                    path: p,
                    rel_dir,
                    explicit: false,
                });
            }
            if matched == 0 {
                return Err(no_photos(input, "match this pattern"));
            }
        } else {
            bail!("{input}: {}", not_a_photo_path(path));
        }
    }
    // De-duplicate by canonical path (first mention wins), then sort by path.
    let mut seen = HashSet::new();
    sources.retain(|s| seen.insert(canonical(&s.path)));
    sources.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(sources)
}

/// A folder or glob that yields no photo: the same usage error either way (exit 2), naming
/// the input and the extensions looked for. (Photos that `--exclude` leaves out count as
/// found: that run succeeds with nothing to do.)
fn no_photos(input: &str, where_: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{input}: no photos ({}) {where_}",
        INPUT_EXTENSIONS.join(", ")
    )
}

/// Keeps the I-th (1-based) of N round-robin slices.
pub fn shard<T>(items: Vec<T>, shard: Option<Shard>) -> Vec<T> {
    match shard {
        None => items,
        Some(s) => items
            .into_iter()
            .enumerate()
            .filter(|(k, _)| k % s.count() == s.index() - 1)
            .map(|(_, t)| t)
            .collect(),
    }
}

fn ends_with_separator(p: &Path) -> bool {
    let s = p.as_os_str().to_string_lossy();
    s.ends_with('/') || s.ends_with(std::path::MAIN_SEPARATOR)
}

/// `-` as INPUT (standard input) or as `-o` (standard output). A file named `-` is `./-`.
pub const STDIO: &str = "-";

/// True for the `-` path: standard input or output.
pub fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == STDIO
}

/// Refuses what pipes cannot do (exit 2): `-` with other inputs, without `-o`, with a folder,
/// a shard or templates; `-o -` with several photos, `--json` or `--timings` (stdout carries the
/// image), or a terminal; `--format` without `-o -`.
fn check_stdio(
    inputs: &[String],
    output: Option<&Path>,
    settings: &RenderSettings,
    batch: &BatchSettings,
) -> Result<()> {
    use std::io::IsTerminal;
    let stdin = inputs.iter().any(|i| i == STDIO);
    let stdout = output.is_some_and(is_stdio);
    if stdin {
        if inputs.len() > 1 {
            bail!("'-' (standard input) is one photo; it cannot be combined with other inputs");
        }
        match output {
            None => bail!(
                "a photo from standard input ('-') needs -o FILE, or -o - for standard output"
            ),
            Some(o) if !stdout && (o.is_dir() || ends_with_separator(o)) => bail!(
                "-o {}: a photo from standard input has no name to use in a folder; give -o \
                 FILE or -o -",
                o.display()
            ),
            _ => {}
        }
        if batch.shard.is_some() {
            bail!("--shard splits a list of files; it does not apply to '-' (standard input)");
        }
        for (template, option) in [
            (settings.common.depth.as_ref().map(|d| &d.0), "--depth"),
            (settings.common.matte.as_ref(), "--matte"),
            (settings.save_depth.as_ref(), "--save-depth"),
            (settings.save_matte.as_ref(), "--save-matte"),
        ] {
            if template.is_some_and(PathTemplate::is_template) {
                bail!(
                    "{option}: a template needs an input file's name; with '-' (standard \
                     input) give a plain path"
                );
            }
        }
        if std::io::stdin().is_terminal() {
            bail!("'-': standard input is a terminal; pipe or redirect a photo into fstop");
        }
    }
    if stdout {
        let one = inputs.len() == 1 && (stdin || Path::new(&inputs[0]).is_file());
        if !one || batch.shard.is_some() {
            bail!("-o - (standard output) takes one photo: give one INPUT file or '-'");
        }
        if batch.json {
            bail!(
                "--json prints on standard output, which carries the image with -o -; use \
                 --report FILE"
            );
        }
        if settings.timings {
            bail!(
                "--timings prints on standard output, which carries the image with -o -; use \
                 --report FILE (it has the timings)"
            );
        }
        if std::io::stdout().is_terminal() {
            bail!("-o -: standard output is a terminal; redirect it to a file or a pipe");
        }
    } else if settings.stdout_format.is_some() {
        bail!(
            "--format only applies to -o - (standard output); a file's format comes from its \
             extension"
        );
    }
    Ok(())
}

/// Plans a `render` run: single photo or batch (see the module documentation).
pub fn plan(
    inputs: &[String],
    output: Option<&Path>,
    settings: &RenderSettings,
    batch: &BatchSettings,
) -> Result<Plan> {
    check_stdio(inputs, output, settings, batch)?;
    let vars = NameVars {
        preset: settings.lens.preset_name.clone(),
        f_number: settings.lens.settings.lens.f_number,
        focal_length_mm: settings.lens.settings.lens.focal_length_mm,
    };
    let output_is_dir = output.is_some_and(|o| o.is_dir() || ends_with_separator(o));
    let single = inputs.len() == 1
        && (inputs[0] == STDIO || Path::new(&inputs[0]).is_file())
        && !output_is_dir
        && batch.shard.is_none();
    let mut warnings = Vec::new();

    let out_dir = if single {
        None
    } else {
        output.map(Path::to_path_buf)
    };
    let skip_dir = out_dir.as_deref().filter(|d| d.is_dir()).map(canonical);
    let sources = if single {
        vec![InputPhoto {
            path: PathBuf::from(&inputs[0]),
            rel_dir: PathBuf::new(),
            explicit: true,
        }]
    } else {
        expand_inputs(
            inputs,
            batch.recursive,
            &batch.exclude,
            skip_dir.as_deref(),
            &mut warnings,
        )?
    };
    if let Some(o) = &out_dir {
        refuse_file_as_output_folder(o)?;
    }

    refuse_one_file_for_many(sources.len(), settings)?;
    let output_for = |s: &InputPhoto| -> Result<PathBuf> {
        match (single, output) {
            (true, Some(o)) => Ok(o.to_path_buf()),
            _ => output_in_batch(s, out_dir.as_deref(), &batch.name, &vars),
        }
    };
    let jobs = sources
        .iter()
        .map(|s| Ok(job_for(s, output_for(s)?, settings)))
        .collect::<Result<Vec<_>>>()?;
    let (mut jobs, left_out) = leave_out_results(jobs, &sources);

    // Refuse what would destroy an input or collide.
    for j in &jobs {
        if !is_stdio(&j.output) && !has_extension(&j.output, OUTPUT_EXTENSIONS) {
            bail!(
                "{}: cannot write this format (output must end in .jpg, .jpeg, .png, .tif or .tiff)",
                j.output.display()
            );
        }
    }
    file_use(&jobs, settings, batch).check()?;

    for (k, j) in jobs.iter_mut().enumerate() {
        j.index = k;
    }
    let mut jobs = shard(jobs, batch.shard);
    let replace = match (batch.overwrite, single) {
        (true, _) => Replace::Any,
        (false, true) => Replace::Own,
        (false, false) => Replace::Stale,
    };
    for j in &mut jobs {
        j.replace = replace;
    }
    Ok(Plan {
        single,
        jobs,
        left_out,
        warnings,
    })
}

/// Refuses a `--depth`, `--matte`, `--save-depth` or `--save-matte` that names one file (no
/// template) when there are `photos` > 1.
fn refuse_one_file_for_many(photos: usize, settings: &RenderSettings) -> Result<()> {
    for (t, option) in [
        (settings.common.depth.as_ref().map(|d| &d.0), "--depth"),
        (settings.common.matte.as_ref(), "--matte"),
        (settings.save_depth.as_ref(), "--save-depth"),
        (settings.save_matte.as_ref(), "--save-matte"),
    ] {
        if let Some(t) = t
            && photos > 1
            && !t.is_template()
        {
            bail!(
                "{option} names one file but there are {photos} photos; use a template such as \
                 '{{dir}}/{{stem}}_depth.png' ({{dir}} {{stem}} {{name}} {{ext}})"
            );
        }
    }
    Ok(())
}

/// A batch photo's output: `--name` expanded, in the output folder (keeping the photo's
/// folder below the input) or next to the photo; a name that leaves the folder is refused.
fn output_in_batch(
    s: &InputPhoto,
    out_dir: Option<&Path>,
    name: &NameTemplate,
    vars: &NameVars,
) -> Result<PathBuf> {
    let name = name.expand(&s.path, vars);
    if !stays_inside(&name) {
        bail!(
            "{}: --name expands to '{}', which leaves the output folder; use a template \
             without '..' or a leading '/'",
            s.path.display(),
            name.display()
        );
    }
    Ok(match out_dir {
        Some(dir) => dir.join(&s.rel_dir).join(name),
        None => s.path.parent().unwrap_or(Path::new("")).join(name),
    })
}

/// The job for one photo: its output and its depth, matte and saved-map templates expanded
/// (index and replace policy are set once the list is final).
fn job_for(s: &InputPhoto, output: PathBuf, settings: &RenderSettings) -> PhotoJob {
    PhotoJob {
        index: 0,
        input: s.path.clone(),
        output,
        depth: settings
            .common
            .depth
            .as_ref()
            .map(|(t, _)| t.expand(&s.path)),
        matte: settings.common.matte.as_ref().map(|t| t.expand(&s.path)),
        save_depth: settings.save_depth.as_ref().map(|t| t.expand(&s.path)),
        save_matte: settings.save_matte.as_ref().map(|t| t.expand(&s.path)),
        replace: Replace::Stale,
    }
}

/// Leaves out discovered photos (not named on the command line) that are other jobs'
/// results or depth/matte files; returns the jobs kept and the inputs left out.
fn leave_out_results(jobs: Vec<PhotoJob>, sources: &[InputPhoto]) -> (Vec<PhotoJob>, Vec<PathBuf>) {
    let produced: HashSet<PathBuf> = jobs
        .iter()
        .flat_map(|j| {
            [
                Some(&j.output),
                j.depth.as_ref(),
                j.matte.as_ref(),
                j.save_depth.as_ref(),
                j.save_matte.as_ref(),
            ]
        })
        .flatten()
        .map(|p| canonical(p))
        .collect();
    let mut left_out = Vec::new();
    let mut kept = Vec::new();
    for (job, source) in jobs.into_iter().zip(sources) {
        let own = canonical(&job.output);
        let input = canonical(&job.input);
        if !source.explicit && input != own && produced.contains(&input) {
            left_out.push(job.input);
        } else {
            kept.push(job);
        }
    }
    (kept, left_out)
}

/// Every file the planned run reads (photos, depth and matte files, the configuration and
/// preset files) and writes (outputs, saved maps, the report), for [`FileUse::check`].
pub fn file_use(jobs: &[PhotoJob], settings: &RenderSettings, batch: &BatchSettings) -> FileUse {
    let mut files = FileUse::default();
    for (path, role) in &settings.lens.files_read {
        files.read(path, *role);
    }
    for j in jobs {
        if !is_stdio(&j.input) {
            files.read(&j.input, Role::Photo);
        }
        if let Some(p) = &j.depth {
            files.read(p, Role::DepthFile);
        }
        if let Some(p) = &j.matte {
            files.read(p, Role::MatteFile);
        }
    }
    for j in jobs {
        if !is_stdio(&j.output) {
            files.write(&j.output, Role::Output);
        }
        if let Some(p) = &j.save_depth {
            files.write(p, Role::SavedDepth);
        }
        if let Some(p) = &j.save_matte {
            files.write(p, Role::SavedMatte);
        }
    }
    if let Some(p) = &batch.report {
        files.write(p, Role::Report);
    }
    files
}

/// True when a relative name only goes down: no `..`, no root, no drive.
fn stays_inside(name: &Path) -> bool {
    name.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// With several photos `-o` must be a folder: refuse an existing file, or a new path that is
/// named like a photo (`-o out.jpg`) rather than silently creating a folder of that name.
fn refuse_file_as_output_folder(o: &Path) -> Result<()> {
    if o.is_dir() || ends_with_separator(o) {
        return Ok(());
    }
    if o.exists() {
        bail!(
            "-o {} is a file, but several photos need an output folder",
            o.display()
        );
    }
    if has_extension(o, OUTPUT_EXTENSIONS) || has_extension(o, INPUT_EXTENSIONS) {
        bail!(
            "-o {} names a file, but several photos need an output folder (end it with '/' \
             to make a folder of that name)",
            o.display()
        );
    }
    Ok(())
}

/// How one photo went wrong.
#[derive(Debug)]
enum JobError {
    Interrupted,
    Failed { message: String, fatal: bool },
}

impl From<PipelineError> for JobError {
    fn from(e: PipelineError) -> Self {
        JobError::Failed {
            fatal: e.is_fatal(),
            message: e.to_string(),
        }
    }
}

impl From<io::IoError> for JobError {
    fn from(e: io::IoError) -> Self {
        JobError::Failed {
            fatal: false,
            message: e.to_string(),
        }
    }
}

fn check(stop: &Stop) -> Result<(), JobError> {
    if stop.signal().is_some() {
        Err(JobError::Interrupted)
    } else {
        Ok(())
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// What a job's output will be: its format, the fingerprint it will carry, and what to do
/// with a file already at its path ([`rerun`]). `input` is the photo's bytes.
fn output_decision(
    job: &PhotoJob,
    settings: &RenderSettings,
    input: &[u8],
) -> Result<(OutputFormat, Fingerprint, Decision), JobError> {
    let max_pixels = settings.common.decode.max_pixels;
    // The depth and matte files count in the fingerprint by their bytes.
    let map_bytes = |p: &Option<PathBuf>| {
        p.as_deref()
            .map(|p| io::read_image_file(p, max_pixels))
            .transpose()
    };
    let (depth_bytes, matte_bytes) = (map_bytes(&job.depth)?, map_bytes(&job.matte)?);
    let format = match (is_stdio(&job.output), settings.stdout_format) {
        (true, Some(format)) => format,
        (true, None) => match io::decode::sniff(&job.input, input)? {
            InputFormat::Jpeg | InputFormat::WebP => OutputFormat::Jpeg,
            InputFormat::Png => OutputFormat::Png,
            InputFormat::Tiff => OutputFormat::Tiff,
        },
        (false, _) => io::encode::output_format(&job.output)?,
    };
    let fingerprint = Fingerprint::new(
        input,
        &rerun::settings_json(
            settings,
            depth_bytes.as_deref(),
            matte_bytes.as_deref(),
            format,
        ),
    );
    let saved_maps: Vec<&Path> = [&job.save_depth, &job.save_matte]
        .into_iter()
        .flatten()
        .map(PathBuf::as_path)
        .collect();
    let decision = if is_stdio(&job.output) {
        Decision::Render(Reason::New)
    } else {
        rerun::decide(
            &job.output,
            job.replace,
            &fingerprint,
            &saved_maps,
            max_pixels,
        )
    };
    Ok((format, fingerprint, decision))
}

/// Renders one photo; fills `record` with what was used.
fn process(
    job: &PhotoJob,
    settings: &RenderSettings,
    models: &mut LazyModels,
    stop: &Stop,
    record: &mut FileRecord,
) -> Result<(), JobError> {
    let t_total = Instant::now();
    check(stop)?;
    let t = Instant::now();
    let max_pixels = settings.common.decode.max_pixels;
    let input = if is_stdio(&job.input) {
        io::read_image_stdin(max_pixels)?
    } else {
        io::read_image_file(&job.input, max_pixels)?
    };
    let read_ms = ms(t);
    let (format, fingerprint, decision) = output_decision(job, settings, &input)?;
    match decision {
        Decision::Render(reason) => record.reason = Some(reason),
        Decision::Skip => {
            record.status = Status::Skipped;
            record.reason = Some(Reason::UpToDate);
            return Ok(());
        }
        Decision::Refuse(message) => {
            record.reason = Some(Reason::NotMadeByFstop);
            return Err(JobError::Failed {
                message,
                fatal: false,
            });
        }
    }
    check(stop)?;
    let options = AnalysisOptions {
        depth: job.depth.as_ref().map(|p| DepthFile {
            path: p.clone(),
            kind: settings.common.depth.as_ref().and_then(|d| d.1),
        }),
        depth_source: settings.common.depth_source,
        matte: job.matte.clone(),
        decode: settings.common.decode,
    };
    let look = Look {
        lens: settings.lens.settings,
        render: RenderOptions {
            highlights: settings.lens.highlights,
            kernel: settings.common.kernel,
            ..RenderOptions::default()
        },
        background: settings.lens.background,
        grain: settings.lens.grain,
    };
    let outcome = pipeline::run_photo(
        &job.input,
        input,
        &options,
        &look,
        models,
        |stage| -> Result<(), JobError> {
            match stage {
                Stage::Analysed(analysis) => {
                    inject_panic(&job.input);
                    record.depth_source = Some(analysis.depth_origin.name());
                    record.models = analysis.models.clone();
                    record
                        .warnings
                        .extend(analysis.warnings.iter().map(ToString::to_string));
                }
                Stage::Focused { focused, matte } => {
                    record.lens = Some(LensReport::new(
                        &focused.lens,
                        focused.focus_source,
                        &settings.lens.highlights,
                    ));
                    record.warnings.extend(
                        focused
                            .warnings
                            .iter()
                            .map(ToString::to_string)
                            .filter(|w| !settings.lens.warnings.contains(w)),
                    );
                    save_maps(job, &focused.disparity_per_m, matte, record)?;
                }
            }
            check(stop)
        },
    )?;
    let Outcome {
        developed,
        alpha,
        mut metadata,
        bits_per_channel,
        timings,
        ..
    } = outcome;
    // `--strip-metadata all` writes none of the photo's EXIF or XMP, but the output keeps
    // fstop's own fingerprint (two hashes, nothing about the photo), or the next run could not
    // tell it from a file fstop did not make.
    let mut encode = settings.common.encode;
    if encode.strip_metadata == StripMetadata::All {
        (metadata.exif, metadata.xmp) = (None, None);
        encode.strip_metadata = StripMetadata::None;
    }
    let (xmp, left_out) = fingerprint.output_xmp(metadata.xmp.as_deref(), format);
    metadata.xmp = Some(xmp);
    record
        .warnings
        .extend(left_out.iter().map(ToString::to_string));
    let image = developed.image;
    (record.background, record.headshot) = (Some(developed.background), developed.headshot);
    check(stop)?;
    let t = Instant::now();
    let left_out = if is_stdio(&job.output) {
        let (bytes, left_out) = io::encode_photo(
            format,
            &image,
            alpha.as_ref(),
            &metadata,
            bits_per_channel,
            &encode,
        )?;
        write_stdout(&bytes)?;
        left_out
    } else {
        create_parent(&job.output)?;
        io::write_photo(
            &job.output,
            &image,
            alpha.as_ref(),
            &metadata,
            bits_per_channel,
            &encode,
        )?
    };
    record
        .warnings
        .extend(left_out.iter().map(ToString::to_string));
    record.timings_ms = Some(
        Timings {
            decode: read_ms + timings.decode_ms,
            load: timings.load_ms,
            depth: timings.depth_ms,
            matte: timings.matte_ms,
            focus: timings.focus_ms,
            render: timings.render_ms,
            encode: ms(t),
            total: ms(t_total),
        }
        .rounded(),
    );
    Ok(())
}

/// Fault injection for the tests (debug builds only): panics while processing a file whose
/// path contains `FSTOP_DEBUG_PANIC_ON`.
fn inject_panic(input: &Path) {
    if cfg!(debug_assertions)
        && let Some(pattern) = std::env::var_os("FSTOP_DEBUG_PANIC_ON")
        && !pattern.is_empty()
        && input
            .to_string_lossy()
            .contains(&*pattern.to_string_lossy())
    {
        panic!("injected panic (FSTOP_DEBUG_PANIC_ON)");
    }
}

/// `--save-depth` and `--save-matte`: the focused disparity and the matte as 16-bit PNGs.
fn save_maps(
    job: &PhotoJob,
    disparity_per_m: &Plane,
    matte: Option<&Plane>,
    record: &mut FileRecord,
) -> Result<(), JobError> {
    if let Some(path) = &job.save_depth {
        let (lo, hi) = disparity_per_m.finite_range().unwrap_or((0.0, 1.0));
        let hi = if hi > lo { hi } else { lo + 1e-6 };
        create_parent(path)?;
        io::write_plane_png16(path, disparity_per_m, lo, hi)?;
    }
    if let Some(path) = &job.save_matte {
        match matte {
            Some(m) => {
                create_parent(path)?;
                io::write_plane_png16(path, m, 0.0, 1.0)?;
            }
            None => record.warnings.push(format!(
                "{}: no matte to save (give --matte or let the models run)",
                path.display()
            )),
        }
    }
    Ok(())
}

/// The error of a photo whose standard output was closed before it was written (`| head -c`):
/// a failure, but not printed.
const STDOUT_CLOSED: &str = "standard output was closed before the image was written";

/// Writes an encoded image to standard output.
fn write_stdout(bytes: &[u8]) -> Result<(), JobError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(JobError::Failed {
            message: STDOUT_CLOSED.into(),
            fatal: false,
        }),
        Err(e) => Err(JobError::Failed {
            message: format!("cannot write to standard output: {e}"),
            fatal: false,
        }),
    }
}

fn create_parent(path: &Path) -> Result<(), JobError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => std::fs::create_dir_all(dir)
            .map_err(|e| JobError::Failed {
                message: format!("{}: cannot create folder: {e}", dir.display()),
                fatal: false,
            }),
        _ => Ok(()),
    }
}

/// Removes a leading "INPUT: " from a message (the failure line names the input already).
fn without_input_prefix(message: String, input: &Path) -> String {
    let prefix = format!("{}: ", input.display());
    match message.strip_prefix(&prefix) {
        Some(rest) => rest.to_string(),
        None => message,
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

static QUIET_PANICS: AtomicBool = AtomicBool::new(false);

/// Installs a panic hook that stays silent for panics in photo processing while a batch runs
/// (they are reported as that photo's failure); other panics print as usual. With -vv the
/// default message (with location) is printed too.
pub fn install_panic_hook(verbose: bool) {
    let default = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        let on_main = std::thread::current().name() == Some("main");
        if QUIET_PANICS.load(Ordering::SeqCst) && !on_main && !verbose {
            return;
        }
        default(info);
    }));
}

/// Processes one job, catching panics.
fn process_catching(
    job: &PhotoJob,
    settings: &RenderSettings,
    models: &mut LazyModels,
    stop: &Stop,
) -> (FileRecord, bool) {
    let mut record = FileRecord::bare(
        job.index,
        &job.input,
        &job.output,
        Status::Rendered,
        &settings.lens.preset_name,
    );
    record.depth_file = job.depth.as_ref().map(|p| p.display().to_string());
    record.matte_file = job.matte.as_ref().map(|p| p.display().to_string());
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        process(job, settings, models, stop, &mut record)
    }));
    let mut fatal = false;
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(JobError::Interrupted)) => record.status = Status::Interrupted,
        Ok(Err(JobError::Failed { message, fatal: f })) => {
            record.status = Status::Failed;
            record.error = Some(without_input_prefix(message, &job.input));
            fatal = f;
        }
        Err(payload) => {
            models.discard();
            record.status = Status::Failed;
            record.error = Some(format!(
                "internal error (panic): {}",
                panic_message(payload.as_ref())
            ));
        }
    }
    if record.status != Status::Rendered {
        if record.status != Status::Skipped && record.reason != Some(Reason::NotMadeByFstop) {
            record.reason = None;
        }
        record.lens = None;
        record.timings_ms = None;
        record.headshot = None;
    }
    (record, fatal)
}

enum Event {
    Started(usize),
    Finished(Box<FileRecord>, bool),
}

/// Collects results on the main thread: prints, writes JSON lines, decides when to stop.
struct Collector<'a> {
    plan: &'a Plan,
    settings: &'a RenderSettings,
    batch: &'a BatchSettings,
    stop: &'a Stop,
    ui: &'a mut Ui,
    /// By position in `plan.jobs`.
    records: Vec<Option<FileRecord>>,
    /// False once a write to stdout failed.
    stdout_open: bool,
    fatal_error: Option<String>,
    fail_fast_hit: bool,
}

impl Collector<'_> {
    /// Prints a line on stdout (JSON lines, timings). Stdout is only a log: once it is closed
    /// (`| head`), nothing more is printed there, and every photo is still rendered.
    fn stdout_line(&mut self, text: &str) {
        use std::io::Write;
        if !self.stdout_open {
            return;
        }
        let mut out = std::io::stdout().lock();
        if writeln!(out, "{text}").and_then(|_| out.flush()).is_err() {
            self.stdout_open = false;
            self.ui.warn(
                "standard output was closed; rendering goes on, no more lines are printed there",
            );
        }
    }

    fn emit_json(&mut self, line: &JsonLine<'_>) {
        if self.batch.json {
            let text = serde_json::to_string(line).expect("records serialise");
            self.stdout_line(&text);
        }
    }

    fn store(&mut self, record: FileRecord) {
        if let Some(pos) = self.plan.jobs.iter().position(|j| j.index == record.index) {
            self.records[pos] = Some(record);
        }
    }

    fn finished(&mut self, mut record: FileRecord, fatal: bool) {
        if fatal {
            // The set-up is broken (models or runtime): stop and report it once, at the end.
            if self.fatal_error.is_none() {
                self.fatal_error = record.error.take();
            }
            self.stop.halt();
            record.status = Status::NotStarted;
            record.error = None;
            self.store(record);
            return;
        }
        for w in &record.warnings {
            self.ui.warn(format!("{}: {w}", record.input));
        }
        match (record.status, record.reason) {
            (Status::Skipped, _) => self.ui.info(format!(
                "skipped {} ({} is up to date)",
                record.input, record.output
            )),
            (
                Status::Rendered,
                Some(
                    r @ (Reason::InputChanged | Reason::SettingsChanged | Reason::SavedMapMissing),
                ),
            ) => self.ui.info(format!(
                "rendering {} again: {} ({} was stale)",
                record.input,
                r.describe(),
                record.output
            )),
            _ => {}
        }
        if record.status == Status::Rendered
            && let Some(l) = &record.lens
        {
            self.ui.info(format!(
                "{} -> {}: {} mm f/{} on {}, focus {:.2} m ({}), {:.0} ms",
                record.input,
                record.output,
                l.focal_length_mm,
                l.f_number,
                l.sensor,
                l.focus_distance_m,
                l.focus_source.describe(),
                record.timings_ms.map(|t| t.total).unwrap_or(0.0)
            ));
        }
        if record.status == Status::Rendered
            && let Some(source) = record.depth_source
        {
            self.ui
                .info(format!("{}: depth from {source}", record.input));
        }
        if let Some(h) = &record.headshot {
            self.ui.info(format!("{}: {}", record.input, h.summary()));
            for w in &h.warnings {
                self.ui.info(format!(
                    "{}: headshot {}: {}",
                    record.input, w.kind, w.message
                ));
            }
        }
        if record.error.as_deref() != Some(STDOUT_CLOSED) {
            self.ui.finished(&record);
        }
        if record.status == Status::Failed && self.batch.fail_fast {
            self.fail_fast_hit = true;
            self.stop.halt();
        }
        // With --json the record carries the timings (`timings_ms`): every line stays typed.
        if self.settings.timings
            && !self.batch.json
            && let Some(t) = record.timings_ms
        {
            // Stages in pipeline order; in batch mode the input first.
            let stages = serde_json::to_string(&t).expect("serialise");
            let line = if self.plan.single {
                stages
            } else {
                let input = serde_json::to_string(&record.input).expect("serialise");
                format!("{{\"input\":{input},{}", &stages[1..])
            };
            self.stdout_line(&line);
        }
        self.emit_json(&JsonLine::File(&record));
        self.store(record);
    }

    /// Fills in what never ran, writes the report and the summary; returns the exit code.
    fn finish(self, started: Instant) -> Exit {
        let preset = &self.settings.lens.preset_name;
        let records: Vec<FileRecord> = self
            .records
            .into_iter()
            .zip(&self.plan.jobs)
            .map(|(r, j)| {
                r.unwrap_or_else(|| {
                    FileRecord::bare(j.index, &j.input, &j.output, Status::NotStarted, preset)
                })
            })
            .collect();
        let stop = self.stop;
        let mut summary = Summary::count(&records);
        summary.wall_ms = (ms(started) * 10.0).round() / 10.0;
        summary.shard = self.batch.shard.map(|s| s.to_string());
        summary.stopped_by = if let Some(name) = stop.signal_name() {
            Some(name.to_string())
        } else if self.fatal_error.is_some() {
            Some("fatal error".into())
        } else if self.fail_fast_hit {
            Some("fail-fast".into())
        } else {
            None
        };
        let mut exit = if let Some(exit) = stop.exit() {
            exit
        } else if self.fatal_error.is_some() {
            Exit::Usage
        } else if summary.failed > 0 {
            Exit::Failed
        } else {
            Exit::Ok
        };
        summary.exit_code = exit.code();
        let ui = self.ui;
        if let Some(e) = &self.fatal_error {
            ui.error(e);
        }
        if let Some(path) = &self.batch.report
            && let Err(e) = report::write_report(path, &summary, &records)
        {
            ui.error(super::error_message(&e));
            exit = exit.max(Exit::Failed);
            summary.exit_code = exit.code();
        }
        if self.batch.json && self.stdout_open {
            let text = serde_json::to_string(&JsonLine::Summary(&summary)).expect("serialise");
            use std::io::Write;
            let _ = writeln!(std::io::stdout().lock(), "{text}");
        }
        if let Some(name) = stop.signal_name() {
            ui.error(format!(
                "interrupted by {name}; finished outputs are complete, nothing partial was left"
            ));
        }
        if let Some(line) = stale_line(&records) {
            ui.note(line);
        }
        if self.plan.single {
            ui.info(summary.line());
        } else {
            ui.note(summary.line());
        }
        exit
    }
}

/// "3 outputs were stale and rendered again (settings changed: 2, input changed: 1)", or
/// nothing when none was.
fn stale_line(records: &[FileRecord]) -> Option<String> {
    let stale = [
        Reason::SettingsChanged,
        Reason::InputChanged,
        Reason::SavedMapMissing,
    ];
    let counts: Vec<(Reason, usize)> = stale
        .iter()
        .map(|&r| {
            let n = records
                .iter()
                .filter(|x| x.status == Status::Rendered && x.reason == Some(r))
                .count();
            (r, n)
        })
        .filter(|&(_, n)| n > 0)
        .collect();
    let total: usize = counts.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(r, n)| format!("{}: {n}", r.describe()))
        .collect();
    let (noun, verb) = if total == 1 {
        ("output", "was")
    } else {
        ("outputs", "were")
    };
    Some(format!(
        "{total} existing {noun} {verb} stale and rendered again ({})",
        parts.join(", ")
    ))
}

/// Clears the temporary files that killed runs left in the folders this run writes to.
fn remove_abandoned_temp_files(plan: &Plan, batch: &BatchSettings) -> Vec<PathBuf> {
    let written = plan.jobs.iter().flat_map(|j| {
        [
            Some(&j.output).filter(|o| !is_stdio(o)),
            j.save_depth.as_ref(),
            j.save_matte.as_ref(),
        ]
        .into_iter()
        .flatten()
    });
    let folders: BTreeSet<PathBuf> = written
        .chain(batch.report.as_ref())
        .map(|p| match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        })
        .collect();
    folders
        .iter()
        .flat_map(|d| io::atomic::remove_abandoned_temp_files(d))
        .collect()
}

/// Runs a plan; returns the exit code.
pub fn run(
    plan: &Plan,
    settings: &RenderSettings,
    batch: &BatchSettings,
    ui: &mut Ui,
    stop: &Stop,
) -> Exit {
    let started = Instant::now();
    for w in &plan.warnings {
        ui.warn(w);
    }
    for p in &plan.left_out {
        ui.info(format!(
            "leaving out {} (an output or depth/matte file of another input)",
            p.display()
        ));
    }
    for p in remove_abandoned_temp_files(plan, batch) {
        ui.info(format!(
            "removed {}, a temporary file left by an fstop run that was killed",
            p.display()
        ));
    }
    let mut collector = Collector {
        plan,
        settings,
        batch,
        stop,
        ui,
        records: vec![None; plan.jobs.len()],
        stdout_open: true,
        fatal_error: None,
        fail_fast_hit: false,
    };
    let todo: Vec<usize> = (0..plan.jobs.len()).collect();
    if !plan.single {
        collector.ui.begin_batch(todo.len());
    }
    if !todo.is_empty() && !stop.requested() {
        let workers = batch.jobs.clamp(1, todo.len());
        let next = AtomicUsize::new(0);
        let (tx, rx) = mpsc::channel::<Event>();
        QUIET_PANICS.store(true, Ordering::SeqCst);
        std::thread::scope(|scope| {
            for w in 0..workers {
                let tx = tx.clone();
                let (next, todo, jobs) = (&next, &todo, &plan.jobs);
                std::thread::Builder::new()
                    .name(format!("fstop-worker-{w}"))
                    .spawn_scoped(scope, move || {
                        // Models are loaded once per worker, on its first photo that needs them.
                        let mut models = LazyModels::new(settings.common.models.clone());
                        while !stop.requested() {
                            let k = next.fetch_add(1, Ordering::SeqCst);
                            let Some(&i) = todo.get(k) else { break };
                            let _ = tx.send(Event::Started(i));
                            let (record, fatal) =
                                process_catching(&jobs[i], settings, &mut models, stop);
                            // Stop here, before taking another photo (the collector may not
                            // have seen this result yet).
                            if fatal || (batch.fail_fast && record.status == Status::Failed) {
                                stop.halt();
                            }
                            if tx.send(Event::Finished(Box::new(record), fatal)).is_err() {
                                break;
                            }
                        }
                    })
                    .expect("spawn worker thread");
            }
            drop(tx);
            for event in rx {
                match event {
                    Event::Started(i) => collector.ui.started(&plan.jobs[i].input),
                    Event::Finished(record, fatal) => collector.finished(*record, fatal),
                }
            }
        });
        QUIET_PANICS.store(false, Ordering::SeqCst);
    }
    collector.ui.end_batch();
    collector.finish(started)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::validate::{DEFAULT_NAME, PathTemplate};

    fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"x").unwrap();
    }

    fn s(p: &Path) -> String {
        p.to_string_lossy().into_owned()
    }

    #[test]
    fn folders_globs_and_files_expand_sorted_and_deduplicated() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        for f in [
            "b.jpg",
            "a.PNG",
            "notes.txt",
            ".hidden.jpg",
            "sub/c.tif",
            "sub/deep/d.webp",
        ] {
            touch(&root.join(f));
        }
        let mut w = Vec::new();
        let flat = expand_inputs(&[s(root)], false, &none_excluded(), None, &mut w).unwrap();
        let names: Vec<_> = flat
            .iter()
            .map(|s| s.path.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(names, vec!["a.PNG", "b.jpg"]);
        let deep = expand_inputs(&[s(root)], true, &none_excluded(), None, &mut w).unwrap();
        assert_eq!(deep.len(), 4);
        let d_src = deep.iter().find(|s| s.path.ends_with("d.webp")).unwrap();
        assert_eq!(d_src.rel_dir, PathBuf::from("sub/deep"));
        assert!(!d_src.explicit);
        // Sorted by path.
        let mut sorted = deep.clone();
        sorted.sort_by(|a, b| a.path.cmp(&b.path));
        assert_eq!(deep, sorted);
        // Glob with a base folder; duplicates removed.
        let pattern = format!("{}/**/*.tif", root.display());
        let g = expand_inputs(
            &[pattern, s(&root.join("sub/c.tif"))],
            false,
            &none_excluded(),
            None,
            &mut w,
        )
        .unwrap();
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].rel_dir, PathBuf::from("sub"));
        // Exclusions.
        let ex = exclude_set(&["b.*".to_string()]).unwrap();
        let e = expand_inputs(&[s(root)], false, &ex, None, &mut w).unwrap();
        assert_eq!(e.len(), 1);
        // Braces, in exclusions and in globs (globset syntax).
        let ex = exclude_set(&["*.{PNG,jpg}".to_string()]).unwrap();
        let e = expand_inputs(&[s(root)], false, &ex, None, &mut w).unwrap();
        assert!(e.is_empty(), "{e:?}");
        let braces = format!("{}/**/*.{{tif,webp}}", root.display());
        let b = expand_inputs(&[braces], false, &none_excluded(), None, &mut w).unwrap();
        let names: Vec<_> = b.iter().map(|s| s.path.file_name().unwrap()).collect();
        assert_eq!(names, ["c.tif", "d.webp"]);
        // Without `**` a glob reaches only as deep as it is written.
        let shallow = format!("{}/*/*.{{tif,webp}}", root.display());
        let b = expand_inputs(&[shallow], false, &none_excluded(), None, &mut w).unwrap();
        assert_eq!(b.len(), 1);
        // Errors.
        let e = expand_inputs(
            &[s(&root.join("missing.jpg"))],
            false,
            &none_excluded(),
            None,
            &mut w,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("missing.jpg") && e.contains("no such file or folder"),
            "{e}"
        );
        let none = format!("{}/*.gif", root.display());
        let e = expand_inputs(
            std::slice::from_ref(&none),
            false,
            &none_excluded(),
            None,
            &mut w,
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with(&format!("{none}: no photos")), "{e}");
    }

    fn none_excluded() -> GlobSet {
        GlobSet::empty()
    }

    #[test]
    fn output_folder_inside_the_input_is_not_walked() {
        let d = tempfile::tempdir().unwrap();
        touch(&d.path().join("a.jpg"));
        touch(&d.path().join("out/a-bokeh.jpg"));
        let mut w = Vec::new();
        let skip = canonical(&d.path().join("out"));
        let found =
            expand_inputs(&[s(d.path())], true, &none_excluded(), Some(&skip), &mut w).unwrap();
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn shards_partition_the_list() {
        let items: Vec<usize> = (0..23).collect();
        let mut all = Vec::new();
        for i in 1..=4 {
            let part = shard(items.clone(), Shard::new(i, 4));
            assert!(part.len() == 5 || part.len() == 6);
            all.extend(part);
        }
        all.sort();
        assert_eq!(all, items);
        assert_eq!(shard(items.clone(), None), items);
        assert_eq!(shard(vec![1, 2], Shard::new(3, 3)), Vec::<i32>::new());
    }

    #[test]
    fn canonical_resolves_paths_that_do_not_exist_yet() {
        let d = tempfile::tempdir().unwrap();
        let real = d.path().canonicalize().unwrap();
        assert_eq!(canonical(&d.path().join("x/y.jpg")), real.join("x/y.jpg"));
        touch(&d.path().join("a.jpg"));
        assert_eq!(
            canonical(&d.path().join("sub/../a.jpg")),
            canonical(&d.path().join("a.jpg"))
        );
    }

    fn settings() -> (RenderSettings, BatchSettings) {
        let config = fstop::config::Config::default();
        let s = super::super::validate::render_settings(
            None,
            &Default::default(),
            &Default::default(),
            &Default::default(),
            &config,
        )
        .unwrap();
        let b = super::super::validate::batch_settings(&Default::default(), &Default::default())
            .unwrap();
        (s, b)
    }

    #[test]
    fn planning_single_and_batch() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        touch(&root.join("in/a.jpg"));
        touch(&root.join("in/sub/b.png"));
        touch(&root.join("in/c.webp"));
        let (s, mut b) = settings();
        // Single, default name next to the input.
        let p = plan(&[s_(&root.join("in/a.jpg"))], None, &s, &b).unwrap();
        assert!(p.single);
        assert_eq!(p.jobs[0].output, root.join("in/a-bokeh.jpg"));
        // Single, explicit output that exists: fstop's own output is replaced.
        touch(&root.join("x.jpg"));
        let p = plan(
            &[s_(&root.join("in/a.jpg"))],
            Some(&root.join("x.jpg")),
            &s,
            &b,
        )
        .unwrap();
        assert!(p.single && p.jobs[0].replace == Replace::Own);
        // Output equal to input is refused.
        let e = plan(
            &[s_(&root.join("in/a.jpg"))],
            Some(&root.join("in/./a.jpg")),
            &s,
            &b,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("overwrite the input"), "{e}");
        // Unwritable format.
        let e = plan(
            &[s_(&root.join("in/a.jpg"))],
            Some(&root.join("a.gif")),
            &s,
            &b,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("a.gif") && e.contains("cannot write this format"),
            "{e}"
        );
        // Batch, recursive, mirrored.
        b.recursive = true;
        let out = root.join("out");
        let p = plan(&[s_(&root.join("in"))], Some(&out), &s, &b).unwrap();
        assert!(!p.single);
        let outs: Vec<_> = p.jobs.iter().map(|j| j.output.clone()).collect();
        assert_eq!(
            outs,
            vec![
                out.join("a-bokeh.jpg"),
                out.join("c-bokeh.jpg"),
                out.join("sub/b-bokeh.png")
            ]
        );
        assert_eq!(
            p.jobs.iter().map(|j| j.index).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        // Existing outputs are checked by the workers ([`rerun`]); --overwrite replaces any.
        let p = plan(&[s_(&root.join("in"))], Some(&out), &s, &b).unwrap();
        assert!(p.jobs.iter().all(|j| j.replace == Replace::Stale));
        b.overwrite = true;
        let p = plan(&[s_(&root.join("in"))], Some(&out), &s, &b).unwrap();
        assert!(p.jobs.iter().all(|j| j.replace == Replace::Any));
        // A template that maps an input onto itself is refused.
        b.name = NameTemplate::parse("{stem}.{ext}").unwrap();
        let e = plan(&[s_(&root.join("in"))], None, &s, &b)
            .unwrap_err()
            .to_string();
        assert!(e.contains("overwrite the input"), "{e}");
        // Collisions are refused.
        b.name = NameTemplate::parse("same.jpg").unwrap();
        let e = plan(&[s_(&root.join("in"))], Some(&out), &s, &b)
            .unwrap_err()
            .to_string();
        assert!(e.contains("would both be written"), "{e}");
    }

    fn s_(p: &Path) -> String {
        s(p)
    }

    #[test]
    fn previous_results_next_to_inputs_are_left_out() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        touch(&root.join("a.jpg"));
        touch(&root.join("a-bokeh.jpg"));
        touch(&root.join("a_depth.png"));
        let (mut s, b) = settings();
        s.common.depth = Some((
            PathTemplate::parse("{dir}/{stem}_depth.png", "--depth").unwrap(),
            None,
        ));
        let p = plan(&[s_(root)], None, &s, &b).unwrap();
        assert_eq!(p.jobs.len(), 1);
        assert!(p.jobs[0].input.ends_with("a.jpg"));
        assert_eq!(p.left_out.len(), 2);
        assert_eq!(
            p.jobs[0].depth.as_deref(),
            Some(root.join("a_depth.png").as_path())
        );
    }

    #[test]
    fn batch_outputs_stay_in_their_folder_and_results_are_left_out() {
        let photo = |p: &str, explicit| InputPhoto {
            path: PathBuf::from(p),
            rel_dir: PathBuf::from("sub"),
            explicit,
        };
        let vars = NameVars {
            preset: "85mm-f1.8".into(),
            f_number: 1.8,
            focal_length_mm: 85.0,
        };
        let name = NameTemplate::parse(DEFAULT_NAME).unwrap();
        let a = photo("in/sub/a.jpg", false);
        assert_eq!(
            output_in_batch(&a, Some(Path::new("out")), &name, &vars).unwrap(),
            Path::new("out/sub/a-bokeh.jpg")
        );
        assert_eq!(
            output_in_batch(&a, None, &name, &vars).unwrap(),
            Path::new("in/sub/a-bokeh.jpg")
        );

        // a-bokeh.jpg found next to a.jpg is a.jpg's result: left out, unless named.
        let (s, _) = settings();
        let job = |p: &InputPhoto| {
            let out = output_in_batch(p, None, &name, &vars).unwrap();
            job_for(p, out, &s)
        };
        let sources = [a.clone(), photo("in/sub/a-bokeh.jpg", false)];
        let jobs = sources.iter().map(job).collect();
        let (kept, left_out) = leave_out_results(jobs, &sources);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].input, Path::new("in/sub/a.jpg"));
        assert_eq!(left_out, [PathBuf::from("in/sub/a-bokeh.jpg")]);
        let sources = [a, photo("in/sub/a-bokeh.jpg", true)];
        let jobs = sources.iter().map(job).collect();
        assert_eq!(leave_out_results(jobs, &sources).0.len(), 2);
    }

    #[test]
    fn literal_depth_file_with_many_photos_is_refused() {
        let d = tempfile::tempdir().unwrap();
        touch(&d.path().join("a.jpg"));
        touch(&d.path().join("b.jpg"));
        let (mut s, b) = settings();
        s.common.depth = Some((PathTemplate::parse("depth.png", "--depth").unwrap(), None));
        let e = plan(&[s_(d.path())], Some(&d.path().join("out")), &s, &b)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--depth") && e.contains("template"), "{e}");
    }

    #[test]
    fn shard_plans_cover_every_photo_once_with_stable_indices() {
        let d = tempfile::tempdir().unwrap();
        for i in 0..10 {
            touch(&d.path().join(format!("p{i}.jpg")));
        }
        let (s, mut b) = settings();
        let out = d.path().join("out");
        let full = plan(&[s_(d.path())], Some(&out), &s, &b).unwrap();
        let mut seen = Vec::new();
        for i in 1..=3 {
            b.shard = Shard::new(i, 3);
            let p = plan(&[s_(d.path())], Some(&out), &s, &b).unwrap();
            for j in p.jobs {
                assert_eq!(full.jobs[j.index].input, j.input);
                seen.push(j.index);
            }
        }
        seen.sort();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn messages_do_not_repeat_the_input() {
        assert_eq!(
            without_input_prefix("a/b.jpg: truncated".into(), Path::new("a/b.jpg")),
            "truncated"
        );
        assert_eq!(
            without_input_prefix("d.png: bad".into(), Path::new("a/b.jpg")),
            "d.png: bad"
        );
    }
}
