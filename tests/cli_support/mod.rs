//! Shared helpers for the CLI tests: generated inputs (never real photos) and the binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use image::{ImageBuffer, Luma, Rgb};

/// The fstop binary with a clean environment for presets and config.
pub fn fstop(cwd: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_fstop"));
    cmd.current_dir(cwd)
        .env("XDG_CONFIG_HOME", cwd.join(".no-user-config"))
        .env_remove("FSTOP_LOG")
        .env_remove("FSTOP_DEBUG_PANIC_ON");
    // Job schedulers' variables read by `--shard auto`.
    for name in [
        "JOB_COMPLETION_INDEX",
        "FSTOP_SHARD_COUNT",
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_COUNT",
        "SLURM_ARRAY_TASK_MIN",
        "SLURM_ARRAY_TASK_STEP",
    ] {
        cmd.env_remove(name);
    }
    cmd
}

/// The subject: a rectangle in the middle third.
fn in_subject(x: u32, y: u32, w: u32, h: u32) -> bool {
    x >= w / 3 && x < 2 * w / 3 && y >= h / 4 && y < h
}

/// A portrait-like test photo: textured background with bright point lights, a subject block.
/// `seed` varies the texture so photos differ.
pub fn write_photo(path: &Path, w: u32, h: u32, seed: u32) {
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
    img.save(path).unwrap();
}

/// 16-bit PNG relative disparity: subject near (bright), background far (dark), a ramp.
pub fn write_disparity(path: &Path, w: u32, h: u32) {
    let img: ImageBuffer<Luma<u16>, Vec<u16>> = ImageBuffer::from_fn(w, h, |x, y| {
        if in_subject(x, y, w, h) {
            Luma([50_000])
        } else {
            Luma([2_000 + (y * 6_000 / h.max(1)) as u16])
        }
    });
    img.save(path).unwrap();
}

/// 8-bit matte: white on the subject.
pub fn write_matte(path: &Path, w: u32, h: u32) {
    let img: ImageBuffer<Luma<u8>, Vec<u8>> = ImageBuffer::from_fn(w, h, |x, y| {
        Luma([if in_subject(x, y, w, h) { 255 } else { 0 }])
    });
    img.save(path).unwrap();
}

/// A photo with its depth and matte under `dir`: `NAME.png`, `depth/NAME.png`, `matte/NAME.png`.
pub fn scene(dir: &Path, name: &str, w: u32, h: u32, seed: u32) -> PathBuf {
    std::fs::create_dir_all(dir.join("depth")).unwrap();
    std::fs::create_dir_all(dir.join("matte")).unwrap();
    let photo = dir.join(format!("{name}.png"));
    write_photo(&photo, w, h, seed);
    write_disparity(&dir.join(format!("depth/{name}.png")), w, h);
    write_matte(&dir.join(format!("matte/{name}.png")), w, h);
    photo
}

/// Every file under `dir` (recursively), relative, sorted.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    out.sort();
    out
}

pub fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}
