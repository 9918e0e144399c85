//! `fstop compare`: one photo through several presets on a labelled contact sheet.
//!
//! The photo is analysed once (decode, depth, matte). Each preset then gets its own focus (auto
//! focus depends on the focal length) and is rendered at tile size: the circle of confusion in
//! pixels scales with the image width, so a tile looks like the full-size render scaled down,
//! at a fraction of the cost. Labels are drawn with the public-domain 8×8 bitmap font of the
//! `font8x8` crate.

use std::path::Path;

use anyhow::{Result, bail};

use fstop::backdrop::Background;
use fstop::config::Config;
use fstop::io::{self, Metadata};
use fstop::pipeline::{self, AnalysisOptions, DepthFile, LazyModels, Look, PipelineError};
use fstop::render::RenderOptions;
use fstop::scene::{LinearRgb, Scene};

use super::args::CompareArgs;
use super::exit::Exit;
use super::headshot_tiles;
use super::paths::{FileUse, Role};
use super::progress::Ui;
use super::signals::Stop;
use super::validate::{
    LensChoice, OUTPUT_EXTENSIONS, common_settings, has_extension, resolve_lens,
};

/// Presets compared when `--presets` is not given.
pub const DEFAULT_PRESETS: &[&str] = &["85mm-f1.8", "135mm-f2", "50mm-f1.4"];

pub(crate) const BACKGROUND: [f32; 3] = [0.008, 0.008, 0.008];
const TEXT: [f32; 3] = [0.9, 0.9, 0.9];
const TEXT_DIM: [f32; 3] = [0.35, 0.35, 0.35];

/// Draws `text` (ASCII; other characters as '?') at (x, y), each font pixel `scale`×`scale`,
/// clipped to `max_x`. Returns the x after the text.
pub fn draw_text(
    img: &mut LinearRgb,
    x: usize,
    y: usize,
    text: &str,
    scale: usize,
    color: [f32; 3],
    max_x: usize,
) -> usize {
    let mut cx = x;
    for ch in text.chars() {
        let code = if ch.is_ascii() {
            ch as usize
        } else {
            '?' as usize
        };
        if cx + 8 * scale > max_x.min(img.width()) {
            break;
        }
        let glyph = font8x8::legacy::BASIC_LEGACY[code];
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits & (1 << col) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let px = cx + col * scale + dx;
                        let py = y + row * scale + dy;
                        if px < img.width() && py < img.height() {
                            img.set(px, py, color);
                        }
                    }
                }
            }
        }
        cx += 8 * scale;
    }
    cx
}

pub(crate) fn blit(dst: &mut LinearRgb, src: &LinearRgb, x0: usize, y0: usize) {
    for y in 0..src.height() {
        let dy = y0 + y;
        if dy >= dst.height() {
            break;
        }
        for x in 0..src.width() {
            let dx = x0 + x;
            if dx >= dst.width() {
                break;
            }
            dst.set(dx, dy, src.at(x, y));
        }
    }
}

/// A rendered tile and its two label lines.
pub struct Tile {
    pub image: LinearRgb,
    pub title: String,
    pub detail: String,
}

/// Lays tiles out in a grid with a label strip under each.
pub fn compose_sheet(tiles: &[Tile], columns: usize) -> LinearRgb {
    let tile_w = tiles.iter().map(|t| t.image.width()).max().unwrap_or(1);
    let tile_h = tiles.iter().map(|t| t.image.height()).max().unwrap_or(1);
    let scale = (tile_w / 400).clamp(1, 4);
    let pad = 4 * scale;
    let label_h = 2 * 8 * scale + 3 * pad;
    let columns = columns.clamp(1, tiles.len().max(1));
    let rows = tiles.len().div_ceil(columns);
    let width = columns * tile_w + (columns + 1) * pad;
    let height = rows * (tile_h + label_h) + (rows + 1) * pad;
    let mut sheet = LinearRgb::filled(width, height, BACKGROUND);
    for (i, tile) in tiles.iter().enumerate() {
        let (c, r) = (i % columns, i / columns);
        let x = pad + c * (tile_w + pad);
        let y = pad + r * (tile_h + label_h + pad);
        blit(&mut sheet, &tile.image, x, y);
        let ty = y + tile_h + pad;
        let max_x = x + tile_w;
        draw_text(&mut sheet, x, ty, &tile.title, scale, TEXT, max_x);
        draw_text(
            &mut sheet,
            x,
            ty + 8 * scale + pad,
            &tile.detail,
            scale,
            TEXT_DIM,
            max_x,
        );
    }
    sheet
}

/// Runs `fstop compare`; returns the exit code.
pub fn run(args: &CompareArgs, config: &Config, ui: &Ui, stop: &Stop) -> Result<Exit> {
    let names: Vec<String> = if args.presets.is_empty() {
        DEFAULT_PRESETS.iter().map(|s| s.to_string()).collect()
    } else {
        args.presets
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    if names.is_empty() {
        bail!("--presets needs at least one preset");
    }
    let choices: Vec<LensChoice> = names
        .iter()
        .map(|n| resolve_lens(Some(n), &args.lens, config))
        .collect::<Result<_>>()?;
    for c in &choices {
        for w in &c.warnings {
            ui.warn(format!("{}: {w}", c.preset_name));
        }
    }
    let common = common_settings(&args.analysis, args.jpeg_quality, args.kernel, config)?;
    if !has_extension(&args.output, OUTPUT_EXTENSIONS) {
        bail!(
            "{}: cannot write this format (output must end in .jpg, .jpeg, .png, .tif or .tiff)",
            args.output.display()
        );
    }
    if !args.input.is_file() {
        let why = if args.input.is_dir() {
            "is a folder; compare takes one photo".to_string()
        } else {
            super::batch::not_a_photo_path(&args.input)
        };
        bail!("{}: {why}", args.input.display());
    }
    let input = args.input.as_path();
    let options = AnalysisOptions {
        depth: common.depth.as_ref().map(|(t, kind)| DepthFile {
            path: t.expand(input),
            kind: *kind,
        }),
        depth_source: common.depth_source,
        matte: common.matte.as_ref().map(|t| t.expand(input)),
        decode: common.decode,
    };
    let mut files = FileUse::default();
    files.read(input, Role::Photo);
    if let Some(d) = &options.depth {
        files.read(&d.path, Role::DepthFile);
    }
    if let Some(m) = &options.matte {
        files.read(m, Role::MatteFile);
    }
    for (path, role) in choices.iter().flat_map(|c| &c.files_read) {
        files.read(path, *role);
    }
    files.write(&args.output, Role::Output);
    files.check()?;
    let mut models = LazyModels::new(common.models.clone());
    let fail = |e: &dyn std::fmt::Display| {
        ui.error(format!("{}: {e}", input.display()));
    };
    let analysis = match pipeline::analyze(input, &options, &mut models) {
        Ok(a) => a,
        Err(e) if e.is_fatal() => bail!("{e}"),
        Err(e) => {
            let msg = e.to_string();
            let prefix = format!("{}: ", input.display());
            fail(&msg.strip_prefix(&prefix).unwrap_or(&msg));
            return Ok(Exit::Failed);
        }
    };
    for w in &analysis.warnings {
        ui.warn(format!("{}: {w}", input.display()));
    }
    ui.info(format!(
        "{}: depth from {}",
        input.display(),
        analysis.depth_origin.name()
    ));
    let (w, h) = (analysis.photo.color.width(), analysis.photo.color.height());
    let tile_w = args
        .tile_width
        .map(|t| t as usize)
        .unwrap_or_else(|| w.min(1200))
        .max(1);
    let tile_h = ((tile_w as f64 * h as f64 / w.max(1) as f64).round() as usize).max(1);
    let color = analysis.photo.color.resized(tile_w, tile_h);
    let matte = analysis.matte.as_ref().map(|m| m.resized(tile_w, tile_h));
    let studio_wanted = args
        .backgrounds
        .iter()
        .chain(choices.iter().map(|c| &c.background))
        .any(|b| matches!(b, Background::Studio(_)));
    if studio_wanted && matte.is_none() {
        bail!("{}", PipelineError::StudioNeedsMatte);
    }
    let mut tiles = Vec::new();
    for choice in &choices {
        if stop.signal().is_some() {
            break;
        }
        let focused = match analysis.focus(&choice.settings) {
            Ok(f) => f,
            Err(e) => {
                fail(&format!("{}: {e}", choice.preset_name));
                return Ok(Exit::Failed);
            }
        };
        let disparity = focused.disparity_per_m.resized(tile_w, tile_h);
        let scene = Scene::new(color.clone(), disparity, matte.clone())?;
        let options = RenderOptions {
            highlights: choice.highlights,
            kernel: common.kernel,
            ..RenderOptions::default()
        };
        // Backgrounds to compare (headshot tiles), or the plain lens tile.
        if !args.backgrounds.is_empty() || choice.background != Background::Blur {
            let backgrounds = if args.backgrounds.is_empty() {
                vec![choice.background]
            } else {
                args.backgrounds.clone()
            };
            for background in backgrounds {
                let tile = headshot_tiles::tile(&scene, &focused.lens, &options, background, ui);
                tiles.push(Tile {
                    title: format!("{} | {}", choice.preset_name, tile.title),
                    ..tile
                });
            }
            continue;
        }
        let look = Look {
            lens: choice.settings,
            render: options,
            background: Background::Blur,
            grain: choice.grain,
        };
        let image = match pipeline::develop_image(&scene, &focused.lens, &look) {
            Ok((image, _)) => image,
            Err(e) => {
                fail(&format!("{}: {e}", choice.preset_name));
                return Ok(Exit::Failed);
            }
        };
        let lens = &focused.lens;
        ui.info(format!(
            "{}: {} mm f/{} on {}, focus {:.2} m ({})",
            choice.preset_name,
            lens.focal_length_mm,
            lens.f_number,
            lens.sensor.name(),
            lens.focus_distance_m,
            focused.focus_source.describe()
        ));
        let blades = if lens.aperture.is_circular() {
            "round".to_string()
        } else {
            format!("{} blades", lens.aperture.blades)
        };
        tiles.push(Tile {
            image,
            title: choice.preset_name.clone(),
            detail: format!(
                "{}mm f/{} {} focus {:.2}m {}",
                lens.focal_length_mm,
                lens.f_number,
                lens.sensor.name(),
                lens.focus_distance_m,
                blades
            ),
        });
    }
    if let Some(exit) = stop.exit() {
        ui.error("interrupted; no sheet written");
        return Ok(exit);
    }
    let columns = args
        .columns
        .map(|c| c as usize)
        .unwrap_or(tiles.len().min(3));
    let sheet = compose_sheet(&tiles, columns);
    let metadata = Metadata {
        icc_profile: analysis.photo.metadata.icc_profile.clone(),
        exif: None,
        xmp: None,
    };
    if let Some(dir) = args.output.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    if let Err(e) = io::write_photo(
        Path::new(&args.output),
        &sheet,
        None,
        &metadata,
        8,
        &common.encode,
    ) {
        ui.error(e);
        return Ok(Exit::Failed);
    }
    ui.info(format!(
        "wrote {} ({}×{}, {} presets)",
        args.output.display(),
        sheet.width(),
        sheet.height(),
        tiles.len()
    ));
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_drawn_and_clipped() {
        let mut img = LinearRgb::filled(40, 10, [0.0; 3]);
        let end = draw_text(&mut img, 0, 0, "AB", 1, [1.0; 3], 40);
        assert_eq!(end, 16);
        let lit = img.r().iter().filter(|&&v| v > 0.5).count();
        assert!(lit > 10, "{lit}");
        // Nothing beyond the clip edge.
        let mut img = LinearRgb::filled(40, 10, [0.0; 3]);
        draw_text(&mut img, 0, 0, "ABCDEFGH", 1, [1.0; 3], 20);
        for y in 0..10 {
            for x in 16..40 {
                assert_eq!(img.at(x, y)[0], 0.0);
            }
        }
        // Space draws nothing; non-ASCII falls back to '?'.
        let mut img = LinearRgb::filled(8, 8, [0.0; 3]);
        draw_text(&mut img, 0, 0, " ", 1, [1.0; 3], 8);
        assert!(img.r().iter().all(|&v| v == 0.0));
        draw_text(&mut img, 0, 0, "é", 1, [1.0; 3], 8);
        assert!(img.r().iter().any(|&v| v > 0.0));
    }

    #[test]
    fn sheet_layout() {
        let tile = |v: f32| Tile {
            image: LinearRgb::filled(100, 50, [v; 3]),
            title: "85mm-f1.8".into(),
            detail: "85mm f/1.8".into(),
        };
        let tiles = vec![tile(0.2), tile(0.4), tile(0.6), tile(0.8)];
        let sheet = compose_sheet(&tiles, 3);
        // 3 columns, 2 rows: pad 4, label 2*8+12 = 28.
        assert_eq!(sheet.width(), 3 * 100 + 4 * 4);
        assert_eq!(sheet.height(), 2 * (50 + 28) + 3 * 4);
        assert_eq!(sheet.at(4 + 10, 4 + 10), [0.2; 3]);
        assert_eq!(sheet.at(4 + 104 + 10, 4 + 10), [0.4; 3]);
        assert_eq!(sheet.at(4 + 10, 4 + 78 + 4 + 10), [0.8; 3]);
        // Labels are drawn under the tiles.
        let label_row = 4 + 50 + 4;
        let lit = (label_row..label_row + 8)
            .flat_map(|y| (4..104).map(move |x| (x, y)))
            .filter(|&(x, y)| sheet.at(x, y)[0] > 0.5)
            .count();
        assert!(lit > 20, "{lit}");
    }
}
