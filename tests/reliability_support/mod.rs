//! Bad inputs for the reliability tests and for `scripts/reliability_table.sh`: every case is
//! generated here (no real photos), each in its own folder, with the `fstop` arguments to run
//! and what must happen. [`run_case`] runs one and records what fstop printed, its exit code and
//! what changed on disk.
//!
//! Shared by `tests/reliability.rs` and `examples/reliability_table.rs` (included with `#[path]`).
#![allow(dead_code)]

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use image::{ImageBuffer, Luma, Rgb};

/// What a case must produce.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// Exit 0, these files created, and optionally one `warning:` line containing all of
    /// `warning`.
    Renders {
        outputs: Vec<&'static str>,
        warning: Option<Vec<&'static str>>,
    },
    /// Exit `code`, exactly one `error:` line containing every needle, nothing written.
    Fails { code: i32, needles: Vec<String> },
}

/// One bad input and how to run fstop on it.
#[derive(Debug, Clone)]
pub struct Case {
    /// Section of the table ("photo", "depth/matte", "model", "output").
    pub group: &'static str,
    /// What is wrong with the input.
    pub label: &'static str,
    /// The case's folder (fstop runs there).
    pub dir: PathBuf,
    /// fstop's arguments.
    pub args: Vec<String>,
    /// Runs fstop inside `sh -c '{before} fstop ARGS; rc=$?; {after} exit $rc'`.
    pub shell: Option<Shell>,
    pub expect: Expect,
}

impl Case {
    /// The command line as a user would type it (for the table).
    pub fn command_line(&self) -> String {
        let mut s = String::new();
        if let Some(sh) = &self.shell {
            if sh.namespace {
                s.push_str("unshare -rm: ");
            }
            s.push_str(&sh.before);
            s.push(' ');
        }
        s.push_str("fstop");
        for a in &self.args {
            s.push(' ');
            if a.contains(' ') || a.contains('{') {
                s.push_str(&format!("'{a}'"));
            } else {
                s.push_str(a);
            }
        }
        s
    }
}

/// A shell around fstop: commands before and after it, optionally in a private user and mount
/// namespace (`unshare -rm`, for tmpfs mounts without privileges that vanish with the process).
#[derive(Debug, Clone)]
pub struct Shell {
    pub before: String,
    pub after: String,
    pub namespace: bool,
}

/// Sends `signal` (`-INT`, `-TERM`) to `pid` with `kill`, then waits (up to a second) until the
/// kernel has delivered it (`/proc/PID/status` shows nothing pending), so that a second signal
/// sent next is not merged with the first.
pub fn kill_and_wait_delivered(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status();
    let status = format!("/proc/{pid}/status");
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(1) {
        let Ok(text) = std::fs::read_to_string(&status) else {
            return; // gone (or no /proc)
        };
        let pending = text.lines().any(|l| {
            (l.starts_with("ShdPnd:") || l.starts_with("SigPnd:"))
                && l.split_whitespace()
                    .nth(1)
                    .is_some_and(|v| v.chars().any(|c| c != '0'))
        });
        if !pending {
            return;
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
}

/// Reports a case the environment cannot run, where it is seen: straight to the terminal's
/// stderr (the test harness captures `eprintln!` of passing tests, so a skip would be silent).
pub fn skipped(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
}

/// True when `unshare -rm` can mount a tmpfs here (user namespaces allowed).
pub fn namespaces_work() -> bool {
    let dir = std::env::temp_dir().join(format!("fstop-ns-probe-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let ok = Command::new("unshare")
        .args(["-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs \"$0\""])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let _ = std::fs::remove_dir(&dir);
    ok
}

/// What happened.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Files that did not exist before the run (relative to the case folder).
    pub created: Vec<String>,
    /// Files whose bytes changed.
    pub modified: Vec<String>,
    /// Files that disappeared.
    pub removed: Vec<String>,
    /// Peak resident memory of the process (KiB; at least what the runner had when it forked).
    pub peak_rss_kib: u64,
    /// What the case's shell listed in a mount that vanished with it (see [`listing_path`]).
    pub listing: Option<String>,
}

impl Outcome {
    /// The stderr lines.
    pub fn lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }
}

/// Every file under `dir` (recursively, hidden ones included) with its bytes.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, std::fs::read(e.path()).unwrap_or_default())
        })
        .collect()
}

/// Where a case's shell writes `ls -A` of a mount that vanishes with its namespace.
pub fn listing_path(case: &Case) -> PathBuf {
    case.dir.with_extension("listing")
}

/// Runs `fstop` (the binary at `bin`) on `case` with a clean environment.
// The child is reaped by `wait4` (for its peak memory), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
pub fn run_case(bin: &Path, case: &Case) -> Outcome {
    use std::io::Read;
    let before = snapshot(&case.dir);
    let mut cmd = match &case.shell {
        None => {
            let mut c = Command::new(bin);
            c.args(&case.args);
            c
        }
        Some(sh) => {
            let quoted: Vec<String> = case
                .args
                .iter()
                .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
                .collect();
            let script = format!(
                "{} '{}' {}; rc=$?; {} exit $rc",
                sh.before,
                bin.display(),
                quoted.join(" "),
                sh.after
            );
            let mut c = if sh.namespace {
                let mut c = Command::new("unshare");
                c.args(["-rm", "sh", "-c", &script]);
                c
            } else {
                let mut c = Command::new("sh");
                c.args(["-c", &script]);
                c
            };
            c.env("LISTING", listing_path(case));
            c
        }
    };
    let mut child = cmd
        .current_dir(&case.dir)
        .env("XDG_CONFIG_HOME", case.dir.join(".no-user-config"))
        .env_remove("FSTOP_LOG")
        .env_remove("FSTOP_DEBUG_PANIC_ON")
        .env_remove("ORT_DYLIB_PATH")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running fstop");
    let mut out_pipe = child.stdout.take().unwrap();
    let stdout = std::thread::spawn(move || {
        let mut s = Vec::new();
        out_pipe.read_to_end(&mut s).unwrap();
        s
    });
    let mut stderr = Vec::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_end(&mut stderr)
        .unwrap();
    let stdout = stdout.join().unwrap();
    // wait4 for the exit status and the peak resident memory.
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a plain syscall on our own child; `rusage` is plain old data.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4");
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    let after = snapshot(&case.dir);
    let created = after
        .keys()
        .filter(|k| !before.contains_key(*k))
        .cloned()
        .collect();
    let modified = after
        .iter()
        .filter(|(k, v)| before.get(*k).is_some_and(|b| b != *v))
        .map(|(k, _)| k.clone())
        .collect();
    let removed = before
        .keys()
        .filter(|k| !after.contains_key(*k))
        .cloned()
        .collect();
    Outcome {
        code,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        created,
        modified,
        removed,
        peak_rss_kib: usage.ru_maxrss as u64,
        listing: std::fs::read_to_string(listing_path(case)).ok(),
    }
}

// ---------------------------------------------------------------------------------------------
// Generators.

/// CRC-32 (IEEE) for hand-made PNG chunks.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    c.extend_from_slice(&body);
    c.extend_from_slice(&crc32(&body).to_be_bytes());
    c
}

/// A valid-looking PNG whose IHDR claims `w×h` RGB pixels, with a tiny IDAT.
pub fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    png.extend(chunk(b"IEND", &[]));
    png
}

/// A PNG made with the png crate (optional ICC profile and EXIF).
pub fn png_bytes(
    data: &[u8],
    w: u32,
    h: u32,
    color: png::ColorType,
    depth: png::BitDepth,
    icc: Option<&[u8]>,
    exif: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut info = png::Info::with_size(w, h);
    info.color_type = color;
    info.bit_depth = depth;
    info.icc_profile = icc.map(Cow::Borrowed);
    info.exif_metadata = exif.map(Cow::Borrowed);
    let enc = png::Encoder::with_info(&mut out, info).unwrap();
    let mut wr = enc.write_header().unwrap();
    wr.write_image_data(data).unwrap();
    wr.finish().unwrap();
    out
}

/// A JPEG (4:4:4) of `data` in `color` (RGB or CMYK ink amounts), with optional EXIF and ICC.
pub fn jpeg_bytes(
    data: &[u8],
    w: u16,
    h: u16,
    color: jpeg_encoder::ColorType,
    exif: Option<&[u8]>,
    icc: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 92);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_1_1);
    if let Some(e) = exif {
        enc.add_exif_metadata(e).unwrap();
    }
    if let Some(p) = icc {
        enc.add_icc_profile(p).unwrap();
    }
    enc.encode(data, w, h, color).unwrap();
    out
}

/// A minimal little-endian EXIF block (TIFF structure) with one Orientation entry.
pub fn exif_orientation(orientation: u16) -> Vec<u8> {
    let mut b = b"II*\0".to_vec();
    b.extend_from_slice(&8u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
    b.extend_from_slice(&3u16.to_le_bytes()); // SHORT
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&orientation.to_le_bytes());
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(&0u32.to_le_bytes());
    b
}

/// An ICC profile that starts like a real one (valid sRGB header) and then turns to junk.
pub fn corrupt_icc() -> Vec<u8> {
    let mut p = moxcms::ColorProfile::new_srgb().encode().unwrap();
    p.truncate(60);
    p.extend_from_slice(b"this is not what an ICC profile looks like at all");
    p
}

/// A `.npy` (version 1, C order) of float32 values, shape (h, w).
pub fn npy_f32(values: &[f32], w: usize, h: usize) -> Vec<u8> {
    npy_claiming(values, w, h)
}

/// A `.npy` whose header says shape (h, w), followed by `values` (which may be fewer).
pub fn npy_claiming(values: &[f32], w: usize, h: usize) -> Vec<u8> {
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({h}, {w}), }}").into_bytes();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header);
    for v in values {
        out.extend(v.to_le_bytes());
    }
    out
}

/// A grayscale PFM (little endian), rows given top to bottom.
pub fn pfm_gray(values: &[f32], w: usize, h: usize) -> Vec<u8> {
    let mut out = format!("Pf\n{w} {h}\n-1.0\n").into_bytes();
    for row in values.chunks(w).rev() {
        for v in row {
            out.extend(v.to_le_bytes());
        }
    }
    out
}

/// The subject: a rectangle in the middle third (as in `cli_support`).
pub fn in_subject(x: u32, y: u32, w: u32, h: u32) -> bool {
    x >= w / 3 && x < 2 * w / 3 && y >= h / 4 && y < h
}

/// A textured 8-bit RGB portrait-like image (subject block, bright dots in the background).
pub fn photo_rgb8(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let img = ImageBuffer::from_fn(w, h, |x, y| {
        if in_subject(x, y, w, h) {
            let v = 120 + ((x * 7 + y * 3 + seed) % 40) as u8;
            Rgb([v, (v as f32 * 0.8) as u8, (v as f32 * 0.7) as u8])
        } else if (x + seed).is_multiple_of(17) && y.is_multiple_of(13) {
            Rgb([255, 250, 230])
        } else {
            let g = ((x * 255 / w.max(1)) as u8) / 2;
            let b = ((y * 255 / h.max(1)) as u8) / 2 + ((seed * 13) % 50) as u8;
            Rgb([30 + ((x ^ y) % 20) as u8, 40 + g, 50 + b])
        }
    });
    img.into_raw()
}

/// Writes an 8-bit RGB PNG photo.
pub fn write_photo_png(path: &Path, w: u32, h: u32, seed: u32) {
    let data = photo_rgb8(w, h, seed);
    std::fs::write(
        path,
        png_bytes(
            &data,
            w,
            h,
            png::ColorType::Rgb,
            png::BitDepth::Eight,
            None,
            None,
        ),
    )
    .unwrap();
}

/// 16-bit PNG relative disparity: subject near (bright), background far (dark), a ramp.
pub fn disparity_png(w: u32, h: u32) -> Vec<u8> {
    let img: ImageBuffer<Luma<u16>, Vec<u16>> = ImageBuffer::from_fn(w, h, |x, y| {
        if in_subject(x, y, w, h) {
            Luma([50_000])
        } else {
            Luma([2_000 + (y * 6_000 / h.max(1)) as u16])
        }
    });
    let be: Vec<u8> = img
        .into_raw()
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    png_bytes(
        &be,
        w,
        h,
        png::ColorType::Grayscale,
        png::BitDepth::Sixteen,
        None,
        None,
    )
}

/// An 8-bit grayscale PNG with every pixel `v`.
pub fn gray_png(w: u32, h: u32, v: u8) -> Vec<u8> {
    png_bytes(
        &vec![v; (w * h) as usize],
        w,
        h,
        png::ColorType::Grayscale,
        png::BitDepth::Eight,
        None,
        None,
    )
}

/// An 8-bit matte: white on the subject.
pub fn matte_png(w: u32, h: u32) -> Vec<u8> {
    let data: Vec<u8> = (0..h)
        .flat_map(|y| (0..w).map(move |x| if in_subject(x, y, w, h) { 255 } else { 0 }))
        .collect();
    png_bytes(
        &data,
        w,
        h,
        png::ColorType::Grayscale,
        png::BitDepth::Eight,
        None,
        None,
    )
}

/// Metric depth in metres: subject at 1.5 m, background at 6 m.
pub fn metric_depth(w: u32, h: u32) -> Vec<f32> {
    (0..h)
        .flat_map(|y| (0..w).map(move |x| if in_subject(x, y, w, h) { 1.5f32 } else { 6.0 }))
        .collect()
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copies a fixture model to `dir/name.onnx` and writes the descriptor of catalogue model
/// `descriptor_of` beside it as `dir/name.toml`. Returns the model path.
pub fn model_with_descriptor(
    dir: &Path,
    model_bytes: &[u8],
    name: &str,
    descriptor_of: &str,
) -> PathBuf {
    model_with_edited_descriptor(dir, model_bytes, name, descriptor_of, |_| {})
}

/// Like [`model_with_descriptor`], with the descriptor changed by `edit` first.
pub fn model_with_edited_descriptor(
    dir: &Path,
    model_bytes: &[u8],
    name: &str,
    descriptor_of: &str,
    edit: impl FnOnce(&mut fstop::infer::catalog::ModelDescriptor),
) -> PathBuf {
    let model = dir.join(format!("{name}.onnx"));
    std::fs::write(&model, model_bytes).unwrap();
    let mut d = fstop::infer::catalog::Catalog::builtin().unwrap().model[descriptor_of].clone();
    edit(&mut d);
    std::fs::write(
        dir.join(format!("{name}.toml")),
        toml::to_string(&d).unwrap(),
    )
    .unwrap();
    model
}

// ---------------------------------------------------------------------------------------------
// The catalogue of cases.

/// Photo size used by most cases.
pub const W: u32 = 48;
pub const H: u32 = 32;

fn s(v: &str) -> String {
    v.to_string()
}

struct Builder {
    root: PathBuf,
    cases: Vec<Case>,
}

impl Builder {
    /// A new case folder with `files` written into it.
    fn case(
        &mut self,
        group: &'static str,
        label: &'static str,
        files: Vec<(&'static str, Vec<u8>)>,
        args: Vec<String>,
        expect: Expect,
    ) -> &mut Case {
        let dir = self.root.join(format!("{:02}", self.cases.len() + 1));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in files {
            let p = dir.join(name);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).unwrap();
            }
            std::fs::write(p, bytes).unwrap();
        }
        self.cases.push(Case {
            group,
            label,
            dir,
            args,
            shell: None,
            expect,
        });
        self.cases.last_mut().unwrap()
    }
}

fn fails(code: i32, needles: &[&str]) -> Expect {
    Expect::Fails {
        code,
        needles: needles.iter().map(|n| n.to_string()).collect(),
    }
}

fn renders(outputs: &[&'static str], warning: Option<&[&'static str]>) -> Expect {
    Expect::Renders {
        outputs: outputs.to_vec(),
        warning: warning.map(|w| w.to_vec()),
    }
}

/// `["IN", "-o", "OUT", "--depth", "d.png"]`.
fn with_depth(input: &str, output: &str, depth: &str) -> Vec<String> {
    vec![s(input), s("-o"), s(output), s("--depth"), s(depth)]
}

/// The test photo (W × H, 8-bit RGB) as PNG.
pub fn photo_png() -> Vec<u8> {
    png_bytes(
        &photo_rgb8(W, H, 1),
        W,
        H,
        png::ColorType::Rgb,
        png::BitDepth::Eight,
        None,
        None,
    )
}

/// Builds every case under `root` (which must exist and be empty). Cases that need ONNX
/// Runtime use the library `scripts/setup.sh` installs (found by fstop's default search); the
/// model cases that must fail before loading a model do not.
pub fn cases(root: &Path) -> Vec<Case> {
    let mut b = Builder {
        root: root.to_path_buf(),
        cases: Vec::new(),
    };
    let photo = photo_png;
    let depth = || disparity_png(W, H);
    let matte = || matte_png(W, H);
    let jpeg = jpeg_bytes(
        &photo_rgb8(64, 64, 3),
        64,
        64,
        jpeg_encoder::ColorType::Rgb,
        None,
        None,
    );
    let png = photo();

    // --- Photos --------------------------------------------------------------------------
    b.case(
        "photo",
        "zero-byte file",
        vec![("empty.jpg", vec![]), ("d.png", depth())],
        with_depth("empty.jpg", "out.png", "d.png"),
        fails(1, &["empty.jpg", "file is empty"]),
    );
    b.case(
        "photo",
        "truncated JPEG (first half)",
        vec![
            ("cut.jpg", jpeg[..jpeg.len() / 2].to_vec()),
            ("d.png", depth()),
        ],
        with_depth("cut.jpg", "out.png", "d.png"),
        fails(1, &["cut.jpg", "truncated JPEG"]),
    );
    b.case(
        "photo",
        "truncated PNG (first half)",
        vec![
            ("cut.png", png[..png.len() / 2].to_vec()),
            ("d.png", depth()),
        ],
        with_depth("cut.png", "out.png", "d.png"),
        fails(1, &["cut.png", "truncated PNG"]),
    );
    b.case(
        "photo",
        "text file named .jpg",
        vec![
            ("notes.jpg", b"Shopping list:\n- eggs\n- film\n".to_vec()),
            ("d.png", depth()),
        ],
        with_depth("notes.jpg", "out.png", "d.png"),
        fails(1, &["notes.jpg", "text file"]),
    );
    b.case(
        "photo",
        "PNG header claiming 100000×100000",
        vec![
            ("huge.png", png_claiming(100_000, 100_000)),
            ("d.png", depth()),
        ],
        with_depth("huge.png", "out.png", "d.png"),
        fails(1, &["huge.png", "100000×100000", "--max-pixels"]),
    );
    {
        let c = b.case(
            "photo",
            "the same with --max-pixels raised past the memory (`ulimit -v` 256 MiB)",
            vec![
                ("huge.png", png_claiming(100_000, 100_000)),
                ("d.png", depth()),
            ],
            {
                let mut a = with_depth("huge.png", "out.png", "d.png");
                a.extend([s("--max-pixels"), s("20000000000")]);
                a
            },
            fails(
                1,
                &["huge.png", "not enough memory to decode 100000×100000"],
            ),
        );
        c.shell = Some(Shell {
            before: "ulimit -v 262144;".into(),
            after: String::new(),
            namespace: false,
        });
    }
    b.case(
        "photo",
        "48×32 photo over --max-pixels 1000",
        vec![("p.png", photo()), ("d.png", depth())],
        {
            let mut a = with_depth("p.png", "out.png", "d.png");
            a.extend([s("--max-pixels"), s("1000")]);
            a
        },
        fails(1, &["p.png", "1536", "1000"]),
    );
    b.case(
        "photo",
        "1×1 image",
        vec![
            (
                "one.png",
                png_bytes(
                    &[200, 120, 80],
                    1,
                    1,
                    png::ColorType::Rgb,
                    png::BitDepth::Eight,
                    None,
                    None,
                ),
            ),
            ("d.png", gray_png(1, 1, 128)),
        ],
        with_depth("one.png", "out.png", "d.png"),
        renders(&["out.png"], None),
    );
    b.case(
        "photo",
        "3×3 image",
        vec![
            (
                "three.png",
                png_bytes(
                    &photo_rgb8(3, 3, 5),
                    3,
                    3,
                    png::ColorType::Rgb,
                    png::BitDepth::Eight,
                    None,
                    None,
                ),
            ),
            ("d.png", disparity_png(3, 3)),
        ],
        with_depth("three.png", "out.png", "d.png"),
        renders(&["out.png"], None),
    );
    b.case(
        "photo",
        "CMYK JPEG",
        vec![("cmyk.jpg", cmyk_jpeg(W, H)), ("d.png", depth())],
        with_depth("cmyk.jpg", "out.jpg", "d.png"),
        renders(&["out.jpg"], Some(&["cmyk.jpg", "CMYK"])),
    );
    b.case(
        "photo",
        "16-bit RGB PNG",
        vec![("deep.png", rgb16_png(W, H)), ("d.png", depth())],
        with_depth("deep.png", "out.png", "d.png"),
        renders(&["out.png"], None),
    );
    b.case(
        "photo",
        "grayscale PNG",
        vec![
            (
                "gray.png",
                png_bytes(
                    &luma_of(&photo_rgb8(W, H, 2)),
                    W,
                    H,
                    png::ColorType::Grayscale,
                    png::BitDepth::Eight,
                    None,
                    None,
                ),
            ),
            ("d.png", depth()),
        ],
        with_depth("gray.png", "out.png", "d.png"),
        renders(&["out.png"], None),
    );
    b.case(
        "photo",
        "grayscale + alpha PNG",
        vec![("ga.png", gray_alpha_png(W, H)), ("d.png", depth())],
        with_depth("ga.png", "out.png", "d.png"),
        renders(&["out.png"], None),
    );
    b.case(
        "photo",
        "RGBA PNG with transparent border",
        vec![("rgba.png", rgba_png(W, H)), ("d.png", depth())],
        with_depth("rgba.png", "out.png", "d.png"),
        renders(&["out.png"], None),
    );
    b.case(
        "photo",
        "EXIF orientation 9 (invalid)",
        vec![
            (
                "exif9.jpg",
                jpeg_bytes(
                    &photo_rgb8(W, H, 4),
                    W as u16,
                    H as u16,
                    jpeg_encoder::ColorType::Rgb,
                    Some(&exif_orientation(9)),
                    None,
                ),
            ),
            ("d.png", depth()),
        ],
        with_depth("exif9.jpg", "out.jpg", "d.png"),
        renders(&["out.jpg"], Some(&["exif9.jpg", "orientation 9"])),
    );
    b.case(
        "photo",
        "corrupt ICC profile",
        vec![
            (
                "badicc.jpg",
                jpeg_bytes(
                    &photo_rgb8(W, H, 6),
                    W as u16,
                    H as u16,
                    jpeg_encoder::ColorType::Rgb,
                    None,
                    Some(&corrupt_icc()),
                ),
            ),
            ("d.png", depth()),
        ],
        with_depth("badicc.jpg", "out.jpg", "d.png"),
        renders(&["out.jpg"], Some(&["badicc.jpg", "ICC", "sRGB"])),
    );
    b.case(
        "photo",
        "input file missing",
        vec![("d.png", depth())],
        with_depth("missing.jpg", "out.png", "d.png"),
        fails(2, &["missing.jpg", "no such file"]),
    );

    // --- Depth and matte files ---------------------------------------------------------------
    let pd = |extra: Vec<(&'static str, Vec<u8>)>| {
        let mut v = vec![("p.png", photo())];
        v.extend(extra);
        v
    };
    let args = |rest: &[&str]| {
        let mut a = vec![s("p.png"), s("-o"), s("out.png")];
        a.extend(rest.iter().map(|r| s(r)));
        a
    };
    b.case(
        "depth/matte",
        "depth map half size, same aspect",
        pd(vec![("d.png", disparity_png(W / 2, H / 2))]),
        args(&["--depth", "d.png"]),
        renders(&["out.png"], Some(&["d.png", "24×16", "resampled"])),
    );
    b.case(
        "depth/matte",
        "depth map of another aspect ratio",
        pd(vec![("d.png", disparity_png(32, 32))]),
        args(&["--depth", "d.png"]),
        fails(1, &["d.png", "32×32", "cannot be resampled"]),
    );
    b.case(
        "depth/matte",
        "matte 2× size, same aspect",
        pd(vec![("d.png", depth()), ("m.png", matte_png(2 * W, 2 * H))]),
        args(&["--depth", "d.png", "--matte", "m.png"]),
        renders(&["out.png"], Some(&["m.png", "96×64", "resampled"])),
    );
    b.case(
        "depth/matte",
        "matte of another aspect ratio",
        pd(vec![("d.png", depth()), ("m.png", matte_png(W, W))]),
        args(&["--depth", "d.png", "--matte", "m.png"]),
        fails(1, &["m.png", "48×48", "cannot be resampled"]),
    );
    b.case(
        "depth/matte",
        "metric depth with NaN, ±Inf, negative and zero",
        pd(vec![("d.npy", {
            let mut v = metric_depth(W, H);
            for (i, x) in v.iter_mut().enumerate() {
                *x = match i % 7 {
                    0 => f32::NAN,
                    1 => f32::INFINITY,
                    2 => f32::NEG_INFINITY,
                    3 => -3.0,
                    4 => 0.0,
                    _ => *x,
                };
            }
            npy_f32(&v, W as usize, H as usize)
        })]),
        args(&["--depth", "d.npy"]),
        renders(
            &["out.png"],
            Some(&["d.npy", "of 1536 depth values are invalid", "filled in"]),
        ),
    );
    b.case(
        "depth/matte",
        "metric depth entirely NaN",
        pd(vec![(
            "d.npy",
            npy_f32(&vec![f32::NAN; (W * H) as usize], W as usize, H as usize),
        )]),
        args(&["--depth", "d.npy"]),
        renders(&["out.png"], Some(&["d.npy", "no valid depth value"])),
    );
    b.case(
        "depth/matte",
        "relative disparity with NaN/Inf/negative (PFM, --depth-kind disparity)",
        pd(vec![("d.pfm", {
            let mut v: Vec<f32> = metric_depth(W, H).iter().map(|z| 1.0 / z).collect();
            for (i, x) in v.iter_mut().enumerate() {
                *x = match i % 5 {
                    0 => f32::NAN,
                    1 => f32::INFINITY,
                    2 => -1e30,
                    _ => *x,
                };
            }
            pfm_gray(&v, W as usize, H as usize)
        })]),
        args(&["--depth", "d.pfm", "--depth-kind", "disparity"]),
        renders(
            &["out.png"],
            Some(&["d.pfm", "NaN or infinite", "filled in"]),
        ),
    );
    b.case(
        "depth/matte",
        "constant depth map (PNG)",
        pd(vec![("d.png", gray_png(W, H, 128)), ("m.png", matte())]),
        args(&["--depth", "d.png", "--matte", "m.png"]),
        renders(&["out.png"], None),
    );
    b.case(
        "depth/matte",
        "constant metric depth (.npy, 3 m)",
        pd(vec![(
            "d.npy",
            npy_f32(&vec![3.0; (W * H) as usize], W as usize, H as usize),
        )]),
        args(&["--depth", "d.npy"]),
        renders(&["out.png"], None),
    );
    b.case(
        "depth/matte",
        "all-zero matte",
        pd(vec![("d.png", depth()), ("m.png", gray_png(W, H, 0))]),
        args(&["--depth", "d.png", "--matte", "m.png"]),
        renders(&["out.png"], Some(&["m.png", "is empty", "ignored"])),
    );
    b.case(
        "depth/matte",
        "all-one matte",
        pd(vec![("d.png", depth()), ("m.png", gray_png(W, H, 255))]),
        args(&["--depth", "d.png", "--matte", "m.png"]),
        renders(
            &["out.png"],
            Some(&["m.png", "covers the whole photo", "ignored"]),
        ),
    );
    b.case(
        "depth/matte",
        "zero-byte depth file",
        pd(vec![("d.png", vec![])]),
        args(&["--depth", "d.png"]),
        fails(1, &["d.png", "file is empty"]),
    );
    b.case(
        "depth/matte",
        "truncated .npy depth",
        pd(vec![("d.npy", {
            let full = npy_f32(&metric_depth(W, H), W as usize, H as usize);
            full[..full.len() - 100].to_vec()
        })]),
        args(&["--depth", "d.npy"]),
        fails(1, &["d.npy", "truncated"]),
    );
    b.case(
        "depth/matte",
        ".npy depth whose header claims 100000×100000",
        pd(vec![("d.npy", npy_claiming(&[1.0; 16], 100_000, 100_000))]),
        args(&["--depth", "d.npy"]),
        fails(1, &["d.npy", "over the limit"]),
    );
    b.case(
        "depth/matte",
        "PNG matte whose header claims 100000×100000",
        pd(vec![
            ("d.png", depth()),
            ("m.png", png_claiming(100_000, 100_000)),
        ]),
        args(&["--depth", "d.png", "--matte", "m.png"]),
        fails(1, &["m.png", "--max-pixels"]),
    );
    b.case(
        "depth/matte",
        "colour-mapped (non-gray) depth PNG",
        pd(vec![("d.png", {
            png_bytes(
                &photo_rgb8(W, H, 9),
                W,
                H,
                png::ColorType::Rgb,
                png::BitDepth::Eight,
                None,
                None,
            )
        })]),
        args(&["--depth", "d.png"]),
        fails(1, &["d.png", "grayscale"]),
    );
    b.case(
        "depth/matte",
        "depth file missing",
        pd(vec![]),
        args(&["--depth", "nowhere.png"]),
        fails(1, &["nowhere.png", "cannot read"]),
    );

    // --- Models and runtime ------------------------------------------------------------------
    let fixtures = repo().join("tests/fixtures/models");
    b.case(
        "model",
        "ONNX Runtime library missing (--ort-lib)",
        pd(vec![]),
        args(&["--ort-lib", "/nonexistent/libonnxruntime.so"]),
        fails(2, &["/nonexistent/libonnxruntime.so", "run `fstop setup`"]),
    );
    b.case(
        "model",
        "--ort-lib is not a shared library",
        pd(vec![("libonnxruntime.so", b"not a library".to_vec())]),
        args(&["--ort-lib", "libonnxruntime.so"]),
        fails(2, &["libonnxruntime.so", "`fstop setup"]),
    );
    {
        let c = b.case(
            "model",
            "depth model file that is not ONNX",
            pd(vec![]),
            args(&["--depth-model", "fake.onnx"]),
            fails(2, &["fake.onnx", "depth model"]),
        );
        model_with_descriptor(
            &c.dir.clone(),
            b"this is not an ONNX model",
            "fake",
            "fastdepth",
        );
    }
    {
        let bytes = std::fs::read(fixtures.join("wrong_rank.onnx")).unwrap();
        let c = b.case(
            "model",
            "depth model whose output shape differs from its descriptor",
            pd(vec![]),
            args(&["--depth-model", "wrong.onnx"]),
            fails(2, &["wrong.onnx", "output rank differs"]),
        );
        model_with_descriptor(&c.dir.clone(), &bytes, "wrong", "depth-anything-v2-small");
    }
    {
        let bytes = std::fs::read(fixtures.join("u2netp.onnx")).unwrap();
        let c = b.case(
            "model",
            "matte model whose input size differs from its descriptor (320² model, 256² described)",
            pd(vec![]),
            args(&["--matte-model", "m.onnx"]),
            fails(2, &["m.onnx", "[1,3,256,256]", "[1,3,320,320]"]),
        );
        model_with_edited_descriptor(&c.dir.clone(), &bytes, "m", "u2netp", |d| {
            d.input.size = fstop::infer::catalog::SizePolicy::Fixed {
                width: 256,
                height: 256,
            };
        });
    }
    b.case(
        "model",
        "model file without a descriptor",
        pd(vec![("lonely.onnx", b"x".to_vec())]),
        args(&["--depth-model", "lonely.onnx"]),
        fails(2, &["lonely.toml", "descriptor"]),
    );
    b.case(
        "model",
        "model folder missing (--model-dir)",
        pd(vec![]),
        args(&["--model-dir", "no-models-here"]),
        fails(2, &["no-models-here", "does not exist"]),
    );

    // --- Output -------------------------------------------------------------------------------
    b.case(
        "output",
        "output folder is unwritable (a file blocks it)",
        pd(vec![
            ("d.png", depth()),
            ("blocked", b"i am a file".to_vec()),
        ]),
        vec![
            s("p.png"),
            s("-o"),
            s("blocked/out.png"),
            s("--depth"),
            s("d.png"),
        ],
        fails(1, &["p.png", "blocked", "cannot create folder"]),
    );
    b.case(
        "output",
        "output equal to the input",
        pd(vec![("d.png", depth())]),
        vec![s("p.png"), s("-o"), s("./p.png"), s("--depth"), s("d.png")],
        fails(2, &["p.png", "overwrite the input"]),
    );
    {
        let big = 300;
        let c = b.case(
            "output",
            "disk full (file-size limit 40 KiB, `ulimit -f 40`)",
            vec![
                ("p.png", {
                    png_bytes(
                        &noise_rgb(big, big),
                        big,
                        big,
                        png::ColorType::Rgb,
                        png::BitDepth::Eight,
                        None,
                        None,
                    )
                }),
                ("d.png", disparity_png(big, big)),
            ],
            vec![
                s("p.png"),
                s("-o"),
                s("out/p.png"),
                s("--depth"),
                s("d.png"),
            ],
            fails(1, &["p.png", "out/p.png", "File too large"]),
        );
        c.shell = Some(Shell {
            before: "ulimit -f 40;".into(),
            after: String::new(),
            namespace: false,
        });
        std::fs::create_dir_all(c.dir.join("out")).unwrap();
    }
    if !namespaces_work() {
        skipped("the corpus's full-disk cases: no user namespaces for a tmpfs");
    } else {
        let big = 300;
        let files = || {
            vec![
                ("p.png", {
                    png_bytes(
                        &noise_rgb(big, big),
                        big,
                        big,
                        png::ColorType::Rgb,
                        png::BitDepth::Eight,
                        None,
                        None,
                    )
                }),
                ("d.png", disparity_png(big, big)),
                ("out/.keep", Vec::new()),
            ]
        };
        let c = b.case(
            "output",
            "disk full (64 KiB tmpfs)",
            files(),
            vec![
                s("p.png"),
                s("-o"),
                s("out/p.png"),
                s("--depth"),
                s("d.png"),
            ],
            fails(1, &["p.png", "out/p.png", "No space left on device"]),
        );
        c.shell = Some(Shell {
            before: "mount -t tmpfs -o size=64k tmpfs out || exit 99;".into(),
            after: "ls -A out > \"$LISTING\";".into(),
            namespace: true,
        });
        let c = b.case(
            "output",
            "output folder on a read-only file system",
            files(),
            vec![
                s("p.png"),
                s("-o"),
                s("out/p.png"),
                s("--depth"),
                s("d.png"),
            ],
            fails(
                1,
                &[
                    "p.png",
                    "out/p.png: cannot create a file in folder out: Read-only file system",
                ],
            ),
        );
        c.shell = Some(Shell {
            before: "mount -t tmpfs -o ro,size=64k tmpfs out || exit 99;".into(),
            after: "ls -A out > \"$LISTING\";".into(),
            namespace: true,
        });
    }

    // --- Lens -------------------------------------------------------------------------------
    b.case(
        "lens",
        "focus distance beyond 1000 km",
        pd(vec![("d.png", depth())]),
        args(&["--depth", "d.png", "--focus", "2000000m"]),
        fails(2, &["focus distance 2000000 is outside 0.085–1000000 m"]),
    );
    b.case(
        "lens",
        "f-number 0.5",
        pd(vec![("d.png", depth())]),
        args(&["--depth", "d.png", "--f-number", "0.5"]),
        fails(2, &["0.95–22"]),
    );
    b.cases
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, bytes).unwrap();
}

/// A folder of good and bad photos (depth from `depth/{stem}.png`).
pub fn mixed_batch(dir: &Path) -> Vec<&'static str> {
    let p = dir.join("photos");
    let jpeg = jpeg_bytes(
        &photo_rgb8(64, 64, 3),
        64,
        64,
        jpeg_encoder::ColorType::Rgb,
        None,
        None,
    );
    let png = png_bytes(
        &photo_rgb8(W, H, 1),
        W,
        H,
        png::ColorType::Rgb,
        png::BitDepth::Eight,
        None,
        None,
    );
    let bad: Vec<(&'static str, Vec<u8>)> = vec![
        ("a_empty.jpg", vec![]),
        ("b_cut.jpg", jpeg[..jpeg.len() / 2].to_vec()),
        ("c_cut.png", png[..png.len() / 2].to_vec()),
        ("d_notes.jpg", b"not a photo\n".to_vec()),
        ("e_huge.png", png_claiming(100_000, 100_000)),
    ];
    for (name, bytes) in &bad {
        write(&p, name, bytes);
        let stem = name.split('.').next().unwrap();
        write(&p, &format!("depth/{stem}.png"), &disparity_png(W, H));
    }
    for name in ["f_good", "g_good"] {
        write_photo_png(&p.join(format!("{name}.png")), W, H, 2);
        write(&p, &format!("depth/{name}.png"), &disparity_png(W, H));
    }
    // A good photo whose depth file is broken.
    write_photo_png(&p.join("h_baddepth.png"), W, H, 3);
    write(&p, "depth/h_baddepth.png", b"");
    vec![
        "a_empty.jpg",
        "b_cut.jpg",
        "c_cut.png",
        "d_notes.jpg",
        "e_huge.png",
        "h_baddepth.png",
    ]
}

/// Photos big enough that writing one takes a while.
pub fn big_batch(dir: &Path, n: usize, w: u32, h: u32) {
    let noise = noise_rgb(w, h);
    let mut photo = Vec::new();
    {
        let mut info = png::Info::with_size(w, h);
        info.color_type = png::ColorType::Rgb;
        info.bit_depth = png::BitDepth::Eight;
        let mut enc = png::Encoder::with_info(&mut photo, info).unwrap();
        enc.set_compression(png::Compression::Fast);
        let mut wr = enc.write_header().unwrap();
        wr.write_image_data(&noise).unwrap();
        wr.finish().unwrap();
    }
    let depth = disparity_png(w, h);
    for i in 0..n {
        write(dir, &format!("photos/p{i}.png"), &photo);
        write(dir, &format!("photos/depth/p{i}.png"), &depth);
    }
}

/// Noise that PNG cannot compress (for outputs that must be large).
pub fn noise_rgb(w: u32, h: u32) -> Vec<u8> {
    (0..w * h * 3)
        .map(|i| fstop::io::colour::hash3(i, 42, 7) as u8)
        .collect()
}

fn luma_of(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks(3)
        .map(|p| ((p[0] as u32 * 3 + p[1] as u32 * 6 + p[2] as u32) / 10) as u8)
        .collect()
}

/// CMYK JPEG of the photo (ink amounts = 255 − RGB, no black).
pub fn cmyk_jpeg(w: u32, h: u32) -> Vec<u8> {
    let rgb = photo_rgb8(w, h, 7);
    let cmyk: Vec<u8> = rgb
        .chunks(3)
        .flat_map(|p| [255 - p[0], 255 - p[1], 255 - p[2], 0])
        .collect();
    jpeg_bytes(
        &cmyk,
        w as u16,
        h as u16,
        jpeg_encoder::ColorType::Cmyk,
        None,
        None,
    )
}

/// A 16-bit RGB PNG: smooth ramps using the low byte too.
pub fn rgb16_png(w: u32, h: u32) -> Vec<u8> {
    let mut data = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let r = (x * 65535 / w.max(2).saturating_sub(1).max(1)).min(65535) as u16;
            let g = (y * 65535 / h.max(2).saturating_sub(1).max(1)).min(65535) as u16;
            let b = 12_345u16.wrapping_add((x * 31 + y * 17) as u16);
            for v in [r, g, b] {
                data.extend(v.to_be_bytes());
            }
        }
    }
    png_bytes(
        &data,
        w,
        h,
        png::ColorType::Rgb,
        png::BitDepth::Sixteen,
        None,
        None,
    )
}

/// Gray + alpha: alpha 0 in the left quarter, a ramp elsewhere.
pub fn gray_alpha_png(w: u32, h: u32) -> Vec<u8> {
    let gray = luma_of(&photo_rgb8(w, h, 8));
    let mut data = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let a = if x < w / 4 {
                0
            } else {
                (128 + x * 127 / w) as u8
            };
            data.extend([gray[(y * w + x) as usize], a]);
        }
    }
    png_bytes(
        &data,
        w,
        h,
        png::ColorType::GrayscaleAlpha,
        png::BitDepth::Eight,
        None,
        None,
    )
}

/// RGBA: a fully transparent 4-pixel border, half-transparent ring, opaque inside.
pub fn rgba_png(w: u32, h: u32) -> Vec<u8> {
    let rgb = photo_rgb8(w, h, 10);
    let mut data = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let edge = x.min(y).min(w - 1 - x).min(h - 1 - y);
            let a = match edge {
                0..=3 => 0,
                4..=5 => 128,
                _ => 255,
            };
            let i = ((y * w + x) * 3) as usize;
            data.extend([rgb[i], rgb[i + 1], rgb[i + 2], a]);
        }
    }
    png_bytes(
        &data,
        w,
        h,
        png::ColorType::Rgba,
        png::BitDepth::Eight,
        None,
        None,
    )
}

/// The alpha plane of `rgba_png` (0..255).
pub fn rgba_png_alpha(w: u32, h: u32) -> Vec<u8> {
    (0..h)
        .flat_map(|y| {
            (0..w).map(move |x| match x.min(y).min(w - 1 - x).min(h - 1 - y) {
                0..=3 => 0,
                4..=5 => 128,
                _ => 255,
            })
        })
        .collect()
}

/// What is wrong with one case's outcome (empty when it behaved): inputs touched, a panic, a
/// temporary file's name or colour codes on stderr, the wrong exit code, not exactly one
/// `error:` (or `warning:`) line with the expected words, files left behind on failure, or
/// outputs missing, extra or of another size than the photo.
pub fn problems(case: &Case, o: &Outcome) -> Vec<String> {
    let lines = o.lines();
    let mut problems = Vec::new();
    if !o.modified.is_empty() || !o.removed.is_empty() {
        problems.push(format!(
            "inputs touched: modified {:?} removed {:?}",
            o.modified, o.removed
        ));
    }
    if o.stderr.contains("panicked") || o.stderr.contains("RUST_BACKTRACE") {
        problems.push("a panic message".to_string());
    }
    if o.stderr.contains('\x1b') {
        problems.push("ANSI escape codes on stderr".to_string());
    }
    if o.stderr.contains("fstop-tmp") {
        problems.push("a temporary file's name in a message".to_string());
    }
    match &case.expect {
        Expect::Fails { code, needles } => {
            if o.code != Some(*code) {
                problems.push(format!("exit {:?}, want {code}", o.code));
            }
            if lines.len() != 1 || !lines[0].starts_with("error: ") {
                problems.push(format!("want one `error:` line, got {lines:?}"));
            }
            for n in needles {
                if !o.stderr.contains(n.as_str()) {
                    problems.push(format!("stderr lacks {n:?}"));
                }
            }
            if !o.created.is_empty() {
                problems.push(format!("files left: {:?}", o.created));
            }
            // On a tmpfs that vanished with the run's namespace: nothing either.
            if let Some(listing) = &o.listing
                && !listing.trim().is_empty()
            {
                problems.push(format!("left on the mount: {listing:?}"));
            }
        }
        Expect::Renders { outputs, warning } => {
            if o.code != Some(0) {
                problems.push(format!("exit {:?}, want 0", o.code));
            }
            let mut want: Vec<String> = outputs.iter().map(|s| s.to_string()).collect();
            want.sort();
            if o.created != want {
                problems.push(format!("created {:?}, want {want:?}", o.created));
            }
            match warning {
                None if !o.stderr.is_empty() => {
                    problems.push(format!("unexpected stderr {:?}", o.stderr))
                }
                None => {}
                Some(needles) => {
                    if lines.len() != 1 || !lines[0].starts_with("warning: ") {
                        problems.push(format!("want one `warning:` line, got {lines:?}"));
                    }
                    for n in needles {
                        if !o.stderr.contains(n) {
                            problems.push(format!("warning lacks {n:?}"));
                        }
                    }
                }
            }
            // The output has the photo's size.
            if o.code == Some(0) {
                let input = decode(&case.dir.join(&case.args[0]));
                for f in &o.created {
                    let out = decode(&case.dir.join(f));
                    if (out.width(), out.height()) != (input.width(), input.height()) {
                        problems.push(format!(
                            "{f} is {}×{}, the photo {}×{}",
                            out.width(),
                            out.height(),
                            input.width(),
                            input.height()
                        ));
                    }
                }
            }
        }
    }
    problems
}

/// Decodes an image file, whatever its extension says.
pub fn decode(p: &Path) -> image::DynamicImage {
    image::ImageReader::open(p)
        .unwrap()
        .with_guessed_format()
        .unwrap()
        .decode()
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}
