//! The fingerprint fstop writes into every output's XMP, so a later run can tell whether an
//! existing file is its own, up to date, or stale:
//!
//! ```text
//! <rdf:Description rdf:about="" xmlns:fstop="urn:fstop:xmp:1/"
//!     fstop:Fingerprint="input:<sha256 of the input bytes> settings:<sha256 of the settings>"/>
//! ```
//!
//! The description is added next to the photo's own XMP (a fresh packet when the photo has
//! none, or XMP that is not a readable packet); a fingerprint already in the photo (an fstop
//! output rendered again) is replaced. JPEG, PNG and TIFF outputs all carry XMP
//! ([`super::encode`]); when the photo's XMP is too large for a JPEG (64 KiB) it is left out
//! with the encoder's warning and the fingerprint goes alone ([`Fingerprint::output_xmp`]).
//! What "the settings" are is the caller's choice (the CLI hashes the effective
//! settings that change pixels, see `cli::fingerprint`). The XMP editing (adding, finding and
//! replacing fstop's own description) is in [`super::xmp`].

use std::path::Path;

use sha2::{Digest, Sha256};

use super::encode::{EncodeWarning, JPEG_MAX_XMP_BYTES, OutputFormat};
use super::{IoError, xmp};

pub use super::xmp::XMP_NAMESPACE;

/// The XMP property (`fstop:Fingerprint`) that holds the fingerprint.
const PROPERTY: &str = "Fingerprint";

/// What an output was made from: hashes of the input's bytes and of the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// sha256 of the input file's bytes, lowercase hex.
    pub input_sha256: String,
    /// sha256 of the settings' serialisation, lowercase hex.
    pub settings_sha256: String,
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Fingerprint {
    /// The fingerprint of `input` rendered with `settings` (a stable serialisation).
    pub fn new(input: &[u8], settings: &str) -> Fingerprint {
        Fingerprint {
            input_sha256: sha256_hex(input),
            settings_sha256: sha256_hex(settings.as_bytes()),
        }
    }

    /// The attribute value: `input:<hex> settings:<hex>`.
    pub fn value(&self) -> String {
        format!(
            "input:{} settings:{}",
            self.input_sha256, self.settings_sha256
        )
    }

    fn parse(value: &str) -> Option<Fingerprint> {
        let (input, settings) = value.split_once(' ')?;
        let hex = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
        let input = input.strip_prefix("input:").filter(|s| hex(s))?;
        let settings = settings.strip_prefix("settings:").filter(|s| hex(s))?;
        Some(Fingerprint {
            input_sha256: input.into(),
            settings_sha256: settings.into(),
        })
    }

    /// The fingerprint in an XMP packet, if any.
    pub(crate) fn from_xmp(xmp: &[u8]) -> Option<Fingerprint> {
        xmp::own_property(xmp, PROPERTY).and_then(Fingerprint::parse)
    }

    /// `xmp` with this fingerprint in it: a previous fstop description removed, the new one
    /// added as the first child of `rdf:RDF`; a fresh packet when `xmp` is absent, not UTF-8 or
    /// has no `rdf:RDF` element (`xmp::with_own_description`).
    pub fn add_to_xmp(&self, xmp: Option<&[u8]>) -> Vec<u8> {
        let own = xmp::own_description(PROPERTY, &self.value());
        xmp::with_own_description(xmp, PROPERTY, &own)
    }
}

impl Fingerprint {
    /// The XMP to write into an output of `format`: [`Fingerprint::add_to_xmp`], or, when that
    /// is more than a JPEG holds, the fingerprint alone with the warning the encoder gives for
    /// XMP it leaves out (the photo's XMP would be dropped anyway; the fingerprint is kept so
    /// a re-run still knows the file).
    pub fn output_xmp(
        &self,
        xmp: Option<&[u8]>,
        format: OutputFormat,
    ) -> (Vec<u8>, Option<EncodeWarning>) {
        let with = self.add_to_xmp(xmp);
        match xmp {
            Some(theirs) if format == OutputFormat::Jpeg && with.len() > JPEG_MAX_XMP_BYTES => (
                self.add_to_xmp(None),
                Some(EncodeWarning::XmpTooLargeForJpeg {
                    bytes: theirs.len(),
                }),
            ),
            _ => (with, None),
        }
    }
}

/// The fingerprint in an existing image file (JPEG, PNG, TIFF or WebP), read from its XMP
/// without decoding the pixels: `Ok(None)` when the file has no fstop fingerprint.
pub fn read_file_fingerprint(path: &Path, max_pixels: u64) -> Result<Option<Fingerprint>, IoError> {
    let bytes = super::decode::read_file(path, max_pixels)?;
    let xmp = super::decode::xmp_only(path, &bytes)?;
    Ok(xmp.as_deref().and_then(Fingerprint::from_xmp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_goes_into_xmp_and_comes_back() {
        let f = Fingerprint::new(b"photo", "{\"f_number\":1.8}");
        assert_eq!(f.input_sha256.len(), 64);
        // No XMP: a fresh packet.
        let fresh = f.add_to_xmp(None);
        assert_eq!(Fingerprint::from_xmp(&fresh), Some(f.clone()));
        // The photo's own XMP is kept; ours goes inside rdf:RDF.
        let theirs = "<x:xmpmeta><rdf:RDF xmlns:rdf=\"r\"><rdf:Description \
                      xmp:CreatorTool=\"cam\"/></rdf:RDF></x:xmpmeta>";
        let with = String::from_utf8(f.add_to_xmp(Some(theirs.as_bytes()))).unwrap();
        assert!(with.contains("xmp:CreatorTool=\"cam\""), "{with}");
        assert!(with.starts_with("<x:xmpmeta><rdf:RDF xmlns:rdf=\"r\"><rdf:Description rdf:about"));
        assert_eq!(Fingerprint::from_xmp(with.as_bytes()), Some(f.clone()));
        // Rendering an fstop output again replaces the fingerprint, never doubles it.
        let g = Fingerprint::new(b"photo", "{\"f_number\":2.8}");
        let again = String::from_utf8(g.add_to_xmp(Some(with.as_bytes()))).unwrap();
        assert_eq!(again.matches("fstop:Fingerprint").count(), 1, "{again}");
        assert_eq!(Fingerprint::from_xmp(again.as_bytes()), Some(g));
        assert_eq!(again.len(), with.len());
        // Unreadable XMP is replaced by a fresh packet.
        let junk = f.add_to_xmp(Some(&[0xff, 0xfe]));
        assert_eq!(Fingerprint::from_xmp(&junk), Some(f));
        assert_eq!(Fingerprint::from_xmp(theirs.as_bytes()), None);
        assert_eq!(
            Fingerprint::from_xmp(b"fstop:Fingerprint=\"input:x settings:y\""),
            None
        );
    }

    #[test]
    fn xmp_too_large_for_a_jpeg_leaves_the_fingerprint_alone() {
        let f = Fingerprint::new(b"photo", "s");
        let big = format!(
            "<x:xmpmeta><rdf:RDF>{}</rdf:RDF></x:xmpmeta>",
            "x".repeat(JPEG_MAX_XMP_BYTES)
        );
        let (xmp, warning) = f.output_xmp(Some(big.as_bytes()), OutputFormat::Jpeg);
        assert_eq!(xmp, f.add_to_xmp(None));
        assert_eq!(
            warning,
            Some(EncodeWarning::XmpTooLargeForJpeg { bytes: big.len() })
        );
        let (xmp, warning) = f.output_xmp(Some(big.as_bytes()), OutputFormat::Png);
        assert_eq!((xmp, warning), (f.add_to_xmp(Some(big.as_bytes())), None));
    }
}
