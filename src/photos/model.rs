//! What a photo upload is: its format, whether it decodes, its size, the EXIF capture time
//! and position, and its thumbnail. CPU work only (no files, no database); callers run it
//! on the blocking pool.

use std::io::Cursor;

use chrono::{FixedOffset, NaiveDateTime, TimeZone};
use image::{ImageDecoder, ImageFormat, ImageReader};

/// The longest side of a thumbnail, in pixels.
pub(crate) const THUMBNAIL_SIDE: u32 = 320;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PhotoFormat {
    Jpeg,
    Png,
    Webp,
}

impl PhotoFormat {
    pub(crate) fn from_content_type(ct: &str) -> Option<PhotoFormat> {
        match ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "image/jpeg" | "image/jpg" => Some(PhotoFormat::Jpeg),
            "image/png" => Some(PhotoFormat::Png),
            "image/webp" => Some(PhotoFormat::Webp),
            _ => None,
        }
    }

    pub(crate) fn content_type(self) -> &'static str {
        match self {
            PhotoFormat::Jpeg => "image/jpeg",
            PhotoFormat::Png => "image/png",
            PhotoFormat::Webp => "image/webp",
        }
    }

    pub(crate) fn extension(self) -> &'static str {
        match self {
            PhotoFormat::Jpeg => "jpg",
            PhotoFormat::Png => "png",
            PhotoFormat::Webp => "webp",
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            PhotoFormat::Jpeg => ImageFormat::Jpeg,
            PhotoFormat::Png => ImageFormat::Png,
            PhotoFormat::Webp => ImageFormat::WebP,
        }
    }

    /// The format the bytes' signature names, if it is one we take.
    pub(crate) fn sniff(bytes: &[u8]) -> Option<PhotoFormat> {
        match image::guess_format(bytes).ok()? {
            ImageFormat::Jpeg => Some(PhotoFormat::Jpeg),
            ImageFormat::Png => Some(PhotoFormat::Png),
            ImageFormat::WebP => Some(PhotoFormat::Webp),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Inspected {
    pub format: PhotoFormat,
    pub width: u32,
    pub height: u32,
    /// EXIF DateTimeOriginal, in the offset of OffsetTimeOriginal or else the district's.
    pub taken_at: Option<i64>,
    /// EXIF GPS position (WGS-84, as GPS receivers give it).
    pub gps: Option<(f64, f64)>,
    /// The thumbnail, JPEG-encoded.
    pub thumbnail: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub(crate) enum PhotoError {
    /// Not one of the image types we take (415).
    #[error("unsupported image type: send image/jpeg, image/png or image/webp")]
    Unsupported,
    /// The signature says one type and the Content-Type another (415).
    #[error("the bytes are a {found} but were sent as {declared}")]
    TypeMismatch {
        declared: &'static str,
        found: &'static str,
    },
    /// A supported type whose bytes do not decode (422).
    #[error("the image is corrupt: {0}")]
    Corrupt(String),
    /// The header declares more pixels than the server decodes (413): a decompression
    /// bomb, or a panorama no handheld sends.
    #[error("the image declares {width} × {height} pixels, more than the limit of {max_pixels}")]
    TooManyPixels {
        width: u32,
        height: u32,
        max_pixels: u64,
    },
    /// Decoding needed more memory than the header's size allows (413): a header that
    /// understates what its data holds.
    #[error("the image needs more memory to decode than its header declares: {0}")]
    OverLimits(String),
}

/// An upload whose signature matches its declared type and whose header has been read,
/// but which is not decoded yet: its header says how much memory decoding takes.
#[derive(Debug)]
pub(crate) struct Measured<'b> {
    bytes: &'b [u8],
    format: PhotoFormat,
    pub width: u32,
    pub height: u32,
    /// Bytes a pixel of the decoded image takes (6 or 8 for a 16-bit PNG).
    pub bytes_per_pixel: u8,
}

impl Measured<'_> {
    pub(crate) fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// The most memory decoding may take: the decoded image, and what the format's decoder
    /// holds beside it for the whole image: a progressive JPEG keeps two bytes a sample of
    /// up to four components, a WebP decodes into a canvas of its own and an alpha plane.
    pub(crate) fn decoding_bytes(&self) -> u64 {
        let beside = match self.format {
            PhotoFormat::Jpeg => 8,
            PhotoFormat::Webp => 5,
            PhotoFormat::Png => 0,
        };
        self.pixels() * (u64::from(self.bytes_per_pixel) + beside) + DECODER_SLACK
    }
}

/// What a decoder allocates besides anything proportional to the image (tables, rows).
const DECODER_SLACK: u64 = 16 * 1024 * 1024;

fn reader(bytes: &[u8], format: PhotoFormat) -> ImageReader<Cursor<&[u8]>> {
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(format.image_format());
    reader
}

/// Checks the type and reads the dimensions from the header alone, refusing an image of
/// more than `max_pixels` before a byte of it is decoded.
pub(crate) fn measure(
    bytes: &[u8],
    declared: PhotoFormat,
    max_pixels: u64,
) -> Result<Measured<'_>, PhotoError> {
    let format = PhotoFormat::sniff(bytes).ok_or(PhotoError::Unsupported)?;
    if format != declared {
        return Err(PhotoError::TypeMismatch {
            declared: declared.content_type(),
            found: format.content_type(),
        });
    }
    if format == PhotoFormat::Jpeg && !jpeg_is_complete(bytes) {
        // The JPEG decoder is lenient and paints missing rows grey; a photo cut off in
        // transit must be refused so that the device sends it again.
        return Err(PhotoError::Corrupt(
            "the JPEG ends before its end-of-image marker".into(),
        ));
    }
    let decoder = reader(bytes, format)
        .into_decoder()
        .map_err(|e| PhotoError::Corrupt(e.to_string()))?;
    let (width, height) = decoder.dimensions();
    let measured = Measured {
        bytes,
        format,
        width,
        height,
        bytes_per_pixel: decoder.color_type().bytes_per_pixel(),
    };
    if measured.pixels() > max_pixels {
        return Err(PhotoError::TooManyPixels {
            width,
            height,
            max_pixels,
        });
    }
    Ok(measured)
}

/// Decodes a measured upload, reads its EXIF and makes its thumbnail. The caller holds
/// decoding capacity for `measured.decoding_bytes()`; what the image crate allocates is
/// held to it too, so a header that understates its data fails here.
pub(crate) fn inspect(measured: Measured<'_>) -> Result<Inspected, PhotoError> {
    let most = measured.decoding_bytes();
    let Measured {
        bytes,
        format,
        width,
        height,
        ..
    } = measured;
    let mut reader = reader(bytes, format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(most);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(limit) => PhotoError::OverLimits(limit.to_string()),
        other => PhotoError::Corrupt(other.to_string()),
    })?;
    // A photo already small enough is its own thumbnail: scaling it up would only blur it.
    let thumb = if width <= THUMBNAIL_SIDE && height <= THUMBNAIL_SIDE {
        image.to_rgb8()
    } else {
        image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE).to_rgb8()
    };
    drop(image);
    let mut thumbnail = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut thumbnail, 80)
        .encode_image(&thumb)
        .map_err(|e| PhotoError::Corrupt(e.to_string()))?;
    let (taken_at, gps) = exif_facts(bytes);
    Ok(Inspected {
        format,
        width,
        height,
        taken_at,
        gps,
        thumbnail,
    })
}

/// Whether a JPEG reaches its end-of-image marker, found by walking its segments: each
/// marker segment is skipped by its length (an embedded EXIF thumbnail with its own markers
/// lies inside one), and entropy-coded data after a scan header runs to the next marker
/// (0xFF is stuffed there, restart markers belong to it). What follows the end is not
/// looked at: motion photos append a video there.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let mut at = 2; // past SOI
    loop {
        // A marker: 0xFF, any fill 0xFFs, then its code.
        if bytes.get(at) != Some(&0xFF) {
            return false;
        }
        while bytes.get(at) == Some(&0xFF) {
            at += 1;
        }
        let Some(&code) = bytes.get(at) else {
            return false;
        };
        at += 1;
        match code {
            0xD9 => return true,
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let Some(length) = bytes.get(at..at + 2) else {
            return false;
        };
        at += usize::from(u16::from_be_bytes([length[0], length[1]]));
        if code == 0xDA {
            // Entropy-coded data up to the next marker that is not a restart.
            loop {
                match bytes.get(at..at + 2) {
                    None => return false,
                    Some([0xFF, next]) if *next != 0 && !(0xD0..=0xD7).contains(next) => break,
                    _ => at += 1,
                }
            }
        }
    }
}

/// DateTimeOriginal and GPS from EXIF, when present and well-formed; anything unreadable
/// is treated as absent (a photo without EXIF is normal, not an error).
pub(crate) fn exif_facts(bytes: &[u8]) -> (Option<i64>, Option<(f64, f64)>) {
    let Ok(exif) = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) else {
        return (None, None);
    };
    let text = |tag| {
        exif.get_field(tag, exif::In::PRIMARY)
            .and_then(|f| match &f.value {
                exif::Value::Ascii(parts) => parts.first().map(|p| {
                    String::from_utf8_lossy(p)
                        .trim_end_matches('\0')
                        .trim()
                        .to_string()
                }),
                _ => None,
            })
    };
    let offset = text(exif::Tag::OffsetTimeOriginal)
        .and_then(|o| parse_offset(&o))
        .unwrap_or_else(crate::clock::district_zone);
    let taken_at = text(exif::Tag::DateTimeOriginal)
        .and_then(|t| NaiveDateTime::parse_from_str(&t, "%Y:%m:%d %H:%M:%S").ok())
        .and_then(|naive| offset.from_local_datetime(&naive).single())
        .map(|t| t.timestamp_micros());
    let degrees = |tag| {
        exif.get_field(tag, exif::In::PRIMARY)
            .and_then(|f| match &f.value {
                exif::Value::Rational(r) if r.len() == 3 && r.iter().all(|x| x.denom != 0) => {
                    Some(r[0].to_f64() + r[1].to_f64() / 60.0 + r[2].to_f64() / 3600.0)
                }
                _ => None,
            })
    };
    let sign = |tag, negative: &str| {
        text(tag).map_or(1.0, |r| {
            if r.eq_ignore_ascii_case(negative) {
                -1.0
            } else {
                1.0
            }
        })
    };
    let gps = match (
        degrees(exif::Tag::GPSLongitude),
        degrees(exif::Tag::GPSLatitude),
    ) {
        (Some(lon), Some(lat)) => {
            let lon = lon * sign(exif::Tag::GPSLongitudeRef, "W");
            let lat = lat * sign(exif::Tag::GPSLatitudeRef, "S");
            // (0, 0) is what cameras write when they had no fix.
            (crate::grid::coords::in_range(lon, lat) && (lon, lat) != (0.0, 0.0))
                .then_some((lon, lat))
        }
        _ => None,
    };
    (taken_at, gps)
}

fn parse_offset(text: &str) -> Option<FixedOffset> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let seconds = h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60;
    FixedOffset::east_opt(sign * seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 90]));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    const MAX: u64 = 50_000_000;

    fn decode(bytes: &[u8], declared: PhotoFormat) -> Result<Inspected, PhotoError> {
        inspect(measure(bytes, declared, MAX)?)
    }

    #[test]
    fn measures_and_thumbnails() {
        let facts = decode(&png(800, 400), PhotoFormat::Png).unwrap();
        assert_eq!((facts.width, facts.height), (800, 400));
        let thumb = image::load_from_memory(&facts.thumbnail).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (320, 160));
        assert_eq!(facts.taken_at, None);
        assert_eq!(facts.gps, None);
    }

    #[test]
    fn a_16_bit_png_is_measured_at_its_depth_and_decodes() {
        let img = image::ImageBuffer::<image::Rgba<u16>, _>::from_fn(1200, 900, |x, y| {
            image::Rgba([x as u16 * 50, y as u16 * 70, 9000, 65535])
        });
        let mut bytes = Vec::new();
        image::DynamicImage::ImageRgba16(img)
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        let measured = measure(&bytes, PhotoFormat::Png, MAX).unwrap();
        assert_eq!(measured.bytes_per_pixel, 8);
        let facts = inspect(measured).unwrap();
        assert_eq!((facts.width, facts.height), (1200, 900));
    }

    #[test]
    fn a_small_photo_is_not_scaled_up() {
        let facts = decode(&png(200, 90), PhotoFormat::Png).unwrap();
        let thumb = image::load_from_memory(&facts.thumbnail).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (200, 90));
    }

    #[test]
    fn too_many_pixels_are_refused_from_the_header() {
        let bytes = png(300, 200);
        let measured = measure(&bytes, PhotoFormat::Png, 60_000).unwrap();
        assert_eq!(measured.pixels(), 60_000);
        assert_eq!(measured.bytes_per_pixel, 3);
        assert_eq!(
            measure(&bytes, PhotoFormat::Png, 59_999).unwrap_err(),
            PhotoError::TooManyPixels {
                width: 300,
                height: 200,
                max_pixels: 59_999
            }
        );
    }

    #[test]
    fn refuses_unsupported_mismatched_and_corrupt() {
        assert_eq!(
            decode(b"GIF89a....", PhotoFormat::Jpeg),
            Err(PhotoError::Unsupported)
        );
        assert!(matches!(
            decode(&png(10, 10), PhotoFormat::Jpeg),
            Err(PhotoError::TypeMismatch { .. })
        ));
        let mut broken = png(200, 200);
        broken.truncate(broken.len() / 2);
        assert!(matches!(
            decode(&broken, PhotoFormat::Png),
            Err(PhotoError::Corrupt(_))
        ));
    }

    #[test]
    fn a_cut_off_jpeg_is_corrupt() {
        let img =
            image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8 * 3, y as u8 * 3, 7]));
        let mut jpeg = Vec::new();
        img.write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
            .unwrap();
        assert!(decode(&jpeg, PhotoFormat::Jpeg).is_ok());
        let cut = &jpeg[..jpeg.len() * 6 / 10];
        assert!(matches!(
            decode(cut, PhotoFormat::Jpeg),
            Err(PhotoError::Corrupt(_))
        ));
    }

    #[test]
    fn a_jpeg_with_data_after_its_end_is_complete() {
        let img =
            image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8 * 3, y as u8 * 3, 7]));
        let mut jpeg = Vec::new();
        img.write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
            .unwrap();
        // A motion photo: a video after the image, whose bytes may hold anything.
        let mut motion = jpeg.clone();
        motion.extend_from_slice(b"\x00\x00\x00\x18ftypmp42\xFF\xDA\x00\x08junk\xFF\xDA");
        assert!(jpeg_is_complete(&motion));
        assert!(decode(&motion, PhotoFormat::Jpeg).is_ok());
        for cut in [jpeg.len() - 2, jpeg.len() / 2, 40, 3] {
            assert!(!jpeg_is_complete(&jpeg[..cut]), "cut at {cut}");
        }
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("+08:00"), FixedOffset::east_opt(8 * 3600));
        assert_eq!(
            parse_offset("-03:30"),
            FixedOffset::east_opt(-(3 * 3600 + 1800))
        );
        assert_eq!(parse_offset("08:00"), None);
    }
}
