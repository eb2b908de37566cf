//! Photo fixtures for the upload tests: real JPEG/PNG/WebP bytes of a deterministic picture,
//! a hand-built EXIF (APP1) segment with DateTimeOriginal, OffsetTimeOriginal and GPS, and a
//! corrupt (truncated) JPEG.
//!
//! Everything is deterministic: the same arguments always give the same bytes, and different
//! seeds give different pictures (so different bytes and hashes).

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, ImageEncoder};

/// JPEG quality used for every fixture JPEG.
const JPEG_QUALITY: u8 = 85;

/// A real JPEG (baseline, quality 85) of a deterministic picture drawn from `seed`.
#[allow(dead_code)]
pub fn jpeg(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let pixels = picture(width, height, seed);
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .write_image(&pixels, width, height, ExtendedColorType::Rgb8)
        .expect("encode fixture JPEG");
    out
}

/// A real PNG (RGB8) of the same picture that [`jpeg`] draws for `seed`.
#[allow(dead_code)]
pub fn png(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let pixels = picture(width, height, seed);
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(&pixels, width, height, ExtendedColorType::Rgb8)
        .expect("encode fixture PNG");
    out
}

/// A real lossless WebP (VP8L, RGB8) of the same picture that [`jpeg`] draws for `seed`.
#[allow(dead_code)]
pub fn webp(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let pixels = picture(width, height, seed);
    let mut out = Vec::new();
    WebPEncoder::new_lossless(&mut out)
        .write_image(&pixels, width, height, ExtendedColorType::Rgb8)
        .expect("encode fixture WebP");
    out
}

/// What [`with_exif`] writes. Every `None` leaves the tag (and an IFD left empty) out.
#[allow(dead_code)]
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exif {
    /// Local date-time `(year, month, day, hour, minute, second)`, written as DateTimeOriginal
    /// `"YYYY:MM:DD HH:MM:SS"`. Values are not range-checked (so a test can write an invalid
    /// date such as month 13), only their width: year <= 9999, the others <= 99.
    pub taken_at: Option<(i32, u32, u32, u32, u32, u32)>,
    /// OffsetTimeOriginal, written verbatim (ASCII), e.g. `"+08:00"`.
    pub offset: Option<String>,
    /// `(longitude, latitude)` in WGS-84 degrees; note the order: lon first.
    pub gps: Option<(f64, f64)>,
}

/// The 2048x1536 (3 MP) JPEG a handheld would send: picture from `seed`, DateTimeOriginal
/// 2026:11:28 10:15:30, OffsetTimeOriginal +08:00, and GPS at (`lon`, `lat`).
#[allow(dead_code)]
pub fn camera_photo(seed: u32, lon: f64, lat: f64) -> Vec<u8> {
    let exif = Exif {
        taken_at: Some((2026, 11, 28, 10, 15, 30)),
        offset: Some("+08:00".to_string()),
        gps: Some((lon, lat)),
    };
    with_exif(&jpeg(2048, 1536, seed), &exif)
}

/// The JPEG `jpeg` with an APP1 "Exif\0\0" segment inserted right after its SOI marker.
///
/// The segment holds a little-endian TIFF structure: IFD0 with an ExifIFD pointer (when
/// `taken_at` or `offset` is given) and a GPS IFD pointer (when `gps` is given). The Exif IFD
/// has ExifVersion "0231", DateTimeOriginal and OffsetTimeOriginal; the GPS IFD has
/// GPSVersionID 2.3.0.0, GPSLatitudeRef/GPSLatitude and GPSLongitudeRef/GPSLongitude, the
/// angles as RATIONAL[3] `d/1, m/1, s*10000/10000`. With `Exif::default()` the segment is
/// still written, holding an empty IFD0 (EXIF present, but without any of those tags).
///
/// Panics if `jpeg` does not start with SOI or `exif` holds values that cannot be written
/// (non-finite or out-of-range coordinates, over-wide date fields, non-ASCII offset).
#[allow(dead_code)]
pub fn with_exif(jpeg: &[u8], exif: &Exif) -> Vec<u8> {
    assert!(
        jpeg.starts_with(&[0xFF, 0xD8]),
        "with_exif: input is not a JPEG (no SOI marker)"
    );
    let tiff = exif_tiff(exif);
    let seg_len = 2 + 6 + tiff.len(); // the length field counts itself, not the marker
    let seg_len = u16::try_from(seg_len).expect("EXIF segment longer than 64 KiB");

    let mut out = Vec::with_capacity(jpeg.len() + 4 + tiff.len() + 6);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&seg_len.to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// The first 60% of `bytes`: for a JPEG, a corrupt image that still starts with the JPEG
/// signature (SOI and the first segments), cut off inside the entropy-coded scan data.
#[allow(dead_code)]
pub fn truncated(bytes: &[u8]) -> Vec<u8> {
    bytes[..bytes.len() * 6 / 10].to_vec()
}

// ---------------------------------------------------------------------------------------
// The picture

/// A 32-bit integer hash (lowbias32), so pictures are deterministic and seed-dependent.
/// A PNG of `width` × `height` black pixels: a few hundred kilobytes that decode to three
/// bytes a pixel, a decompression bomb. Written chunk by chunk rather than through an
/// encoder so that its size costs no memory here either.
pub fn black_png(width: u32, height: u32) -> Vec<u8> {
    use std::io::Write;
    let mut idat = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    // Each row: filter type 0, then three zero bytes a pixel.
    let row = vec![0u8; 1 + 3 * width as usize];
    for _ in 0..height {
        idat.write_all(&row).unwrap();
    }
    let header = [
        &width.to_be_bytes()[..],
        &height.to_be_bytes(),
        &[8, 2, 0, 0, 0], // 8-bit RGB, deflate, adaptive filters, no interlace
    ]
    .concat();
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [
        (b"IHDR", header),
        (b"IDAT", idat.finish().unwrap()),
        (b"IEND", Vec::new()),
    ] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        png.extend_from_slice(kind);
        png.extend_from_slice(&data);
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(&data);
        png.extend_from_slice(&crc.sum().to_be_bytes());
    }
    png
}

fn mix(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x7FEB_352D);
    h ^= h >> 15;
    h = h.wrapping_mul(0x846C_A68B);
    h ^= h >> 16;
    h
}

/// Raw RGB8 pixels: gradients, diagonal stripes, a disc and per-pixel noise, all placed by
/// `seed`. Plain loops, as this runs unoptimised in debug test builds.
fn picture(width: u32, height: u32, seed: u32) -> Vec<u8> {
    assert!(width > 0 && height > 0, "picture must not be empty");
    let k = mix(seed ^ 0x5EED_F00D);
    let period = 16 + (k % 48); // stripe width in pixels
    let phase = mix(k ^ 1) % (2 * period);
    let cx = i64::from(mix(k ^ 2) % width);
    let cy = i64::from(mix(k ^ 3) % height);
    let r = i64::from((width.min(height) / 4).max(1));
    let tint = mix(k ^ 4);
    let (tint_r, tint_b) = ((tint & 63) as i32, ((tint >> 8) & 63) as i32);
    let (w, h) = (u64::from(width), u64::from(height));
    let mut noise = k | 1; // xorshift32 state, never 0
    let mut out = vec![0u8; width as usize * height as usize * 3];
    let mut i = 0;
    for y in 0..height {
        let gy = (u64::from(y) * 255 / h) as i32;
        let dy = i64::from(y) - cy;
        for x in 0..width {
            let gx = (u64::from(x) * 255 / w) as i32;
            let stripe = if ((x + y + phase) / period) & 1 == 0 {
                48
            } else {
                -48
            };
            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            let mut red = gx + tint_r + (noise & 15) as i32 - 8;
            let mut green = gy + stripe + ((noise >> 8) & 15) as i32 - 8;
            let mut blue = 255 - (gx + gy) / 2 + tint_b + ((noise >> 16) & 15) as i32 - 8;
            let dx = i64::from(x) - cx;
            if dx * dx + dy * dy < r * r {
                (red, green, blue) = (255 - green, 255 - blue, 255 - red);
            }
            out[i] = red.clamp(0, 255) as u8;
            out[i + 1] = green.clamp(0, 255) as u8;
            out[i + 2] = blue.clamp(0, 255) as u8;
            i += 3;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// The EXIF (TIFF) structure

const BYTE: u16 = 1;
const ASCII: u16 = 2;
const LONG: u16 = 4;
const RATIONAL: u16 = 5;
const UNDEFINED: u16 = 7;

/// One IFD entry: tag, TIFF type, count, and the value's bytes (little-endian).
struct Entry {
    tag: u16,
    typ: u16,
    count: u32,
    data: Vec<u8>,
}

impl Entry {
    fn ascii(tag: u16, s: &str) -> Entry {
        assert!(
            s.is_ascii() && !s.contains('\0'),
            "EXIF ASCII must be plain ASCII"
        );
        let mut data = s.as_bytes().to_vec();
        data.push(0);
        Entry {
            tag,
            typ: ASCII,
            count: data.len() as u32,
            data,
        }
    }

    fn long(tag: u16, v: u32) -> Entry {
        Entry {
            tag,
            typ: LONG,
            count: 1,
            data: v.to_le_bytes().to_vec(),
        }
    }

    fn rationals(tag: u16, vs: &[(u32, u32)]) -> Entry {
        let data = vs
            .iter()
            .flat_map(|&(n, d)| n.to_le_bytes().into_iter().chain(d.to_le_bytes()))
            .collect();
        Entry {
            tag,
            typ: RATIONAL,
            count: vs.len() as u32,
            data,
        }
    }
}

/// Bytes of an IFD (with no next IFD) placed at TIFF offset `at` (even), followed by the
/// values that do not fit in the 4-byte value field, each starting on an even offset. The
/// length is even and does not depend on `at`.
fn ifd(mut entries: Vec<Entry>, at: u32) -> Vec<u8> {
    assert!(at & 1 == 0, "IFDs start on a word boundary");
    entries.sort_by_key(|e| e.tag);
    let head_len = 2 + 12 * entries.len() + 4;
    let mut head = Vec::with_capacity(head_len);
    let mut tail = Vec::new();
    head.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for e in &entries {
        head.extend_from_slice(&e.tag.to_le_bytes());
        head.extend_from_slice(&e.typ.to_le_bytes());
        head.extend_from_slice(&e.count.to_le_bytes());
        if e.data.len() <= 4 {
            let mut inline = [0u8; 4]; // left-justified in the value field
            inline[..e.data.len()].copy_from_slice(&e.data);
            head.extend_from_slice(&inline);
        } else {
            let offset = at + (head_len + tail.len()) as u32;
            head.extend_from_slice(&offset.to_le_bytes());
            tail.extend_from_slice(&e.data);
            if tail.len() % 2 == 1 {
                tail.push(0);
            }
        }
    }
    head.extend_from_slice(&0u32.to_le_bytes()); // next IFD: none
    debug_assert_eq!(head.len(), head_len);
    head.extend_from_slice(&tail);
    head
}

/// `deg` (>= 0) as RATIONAL[3] degrees/1, minutes/1, seconds*10000/10000, carried exactly.
fn dms(deg: f64) -> [(u32, u32); 3] {
    let total = (deg * 3600.0 * 10_000.0).round() as u64; // in 1/10000 arc-seconds
    let d = total / 36_000_000;
    let m = total % 36_000_000 / 600_000;
    let s = total % 600_000;
    [(d as u32, 1), (m as u32, 1), (s as u32, 10_000)]
}

/// The little-endian TIFF structure ("II*\0", IFD0 at 8) for `exif`.
fn exif_tiff(exif: &Exif) -> Vec<u8> {
    let mut exif_ifd = Vec::new();
    if let Some((y, mo, d, h, mi, s)) = exif.taken_at {
        assert!((0..=9999).contains(&y), "taken_at year must be 0..=9999");
        assert!(
            [mo, d, h, mi, s].iter().all(|&v| v <= 99),
            "taken_at fields must be two digits"
        );
        let text = format!("{y:04}:{mo:02}:{d:02} {h:02}:{mi:02}:{s:02}");
        exif_ifd.push(Entry::ascii(0x9003, &text)); // DateTimeOriginal
    }
    if let Some(offset) = &exif.offset {
        exif_ifd.push(Entry::ascii(0x9011, offset)); // OffsetTimeOriginal
    }
    if !exif_ifd.is_empty() {
        exif_ifd.push(Entry {
            tag: 0x9000, // ExifVersion
            typ: UNDEFINED,
            count: 4,
            data: b"0231".to_vec(),
        });
    }

    let mut gps_ifd = Vec::new();
    if let Some((lon, lat)) = exif.gps {
        assert!(
            lon.is_finite() && (-180.0..=180.0).contains(&lon),
            "longitude out of range: {lon}"
        );
        assert!(
            lat.is_finite() && (-90.0..=90.0).contains(&lat),
            "latitude out of range: {lat}"
        );
        gps_ifd.push(Entry {
            tag: 0x0000, // GPSVersionID
            typ: BYTE,
            count: 4,
            data: vec![2, 3, 0, 0],
        });
        gps_ifd.push(Entry::ascii(0x0001, if lat < 0.0 { "S" } else { "N" }));
        gps_ifd.push(Entry::rationals(0x0002, &dms(lat.abs())));
        gps_ifd.push(Entry::ascii(0x0003, if lon < 0.0 { "W" } else { "E" }));
        gps_ifd.push(Entry::rationals(0x0004, &dms(lon.abs())));
    }

    // IFD0 holds only the (inline LONG) pointers, so its size is known up front.
    let pointers = usize::from(!exif_ifd.is_empty()) + usize::from(!gps_ifd.is_empty());
    let ifd0_at = 8u32;
    let mut next_at = ifd0_at + (2 + 12 * pointers + 4) as u32;
    let mut ifd0 = Vec::new();
    let mut children = Vec::new();
    for (pointer_tag, entries) in [(0x8769, exif_ifd), (0x8825, gps_ifd)] {
        if entries.is_empty() {
            continue;
        }
        ifd0.push(Entry::long(pointer_tag, next_at));
        let bytes = ifd(entries, next_at);
        next_at += bytes.len() as u32;
        children.extend_from_slice(&bytes);
    }

    let mut tiff = Vec::with_capacity(next_at as usize);
    tiff.extend_from_slice(b"II");
    tiff.extend_from_slice(&42u16.to_le_bytes());
    tiff.extend_from_slice(&ifd0_at.to_le_bytes());
    tiff.extend_from_slice(&ifd(ifd0, ifd0_at));
    tiff.extend_from_slice(&children);
    assert_eq!(tiff.len(), next_at as usize);
    tiff
}

// ---------------------------------------------------------------------------------------
// Self-checks (kamadak-exif is the reader the server uses)

fn read_exif(bytes: &[u8]) -> Result<exif::Exif, exif::Error> {
    exif::Reader::new().read_from_container(&mut Cursor::new(bytes))
}

fn ascii_field(exif: &exif::Exif, tag: exif::Tag) -> Vec<u8> {
    let field = exif
        .get_field(tag, exif::In::PRIMARY)
        .unwrap_or_else(|| panic!("{tag} missing"));
    match &field.value {
        exif::Value::Ascii(parts) => parts.concat(),
        other => panic!("{tag} is not ASCII: {other:?}"),
    }
}

fn dms_field(exif: &exif::Exif, tag: exif::Tag, ref_tag: exif::Tag, negative: &[u8]) -> f64 {
    let field = exif
        .get_field(tag, exif::In::PRIMARY)
        .unwrap_or_else(|| panic!("{tag} missing"));
    let exif::Value::Rational(r) = &field.value else {
        panic!("{tag} is not RATIONAL: {:?}", field.value);
    };
    assert_eq!(r.len(), 3, "{tag} must have 3 rationals");
    let deg = r[0].to_f64() + r[1].to_f64() / 60.0 + r[2].to_f64() / 3600.0;
    if ascii_field(exif, ref_tag) == negative {
        -deg
    } else {
        deg
    }
}

/// `(lon, lat)` as the server would read it.
fn gps_of(exif: &exif::Exif) -> (f64, f64) {
    use exif::Tag;
    let lat = dms_field(exif, Tag::GPSLatitude, Tag::GPSLatitudeRef, b"S");
    let lon = dms_field(exif, Tag::GPSLongitude, Tag::GPSLongitudeRef, b"W");
    (lon, lat)
}

#[test]
fn exif_builder_round_trips() {
    let plain = jpeg(320, 240, 7);
    assert!(
        matches!(read_exif(&plain), Err(exif::Error::NotFound(_))),
        "a fixture JPEG without EXIF must have none"
    );

    let spec = Exif {
        taken_at: Some((2026, 11, 28, 10, 15, 30)),
        offset: Some("+08:00".into()),
        gps: Some((113.1258667, 23.0153333)),
    };
    let tagged = with_exif(&plain, &spec);
    assert_eq!(&tagged[..4], &[0xFF, 0xD8, 0xFF, 0xE1]);

    let exif = read_exif(&tagged).expect("EXIF readable by kamadak-exif");
    let dto = ascii_field(&exif, exif::Tag::DateTimeOriginal);
    assert_eq!(dto, b"2026:11:28 10:15:30");
    let dt = exif::DateTime::from_ascii(&dto).expect("DateTimeOriginal parses");
    assert_eq!(
        (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second),
        (2026, 11, 28, 10, 15, 30)
    );
    assert_eq!(ascii_field(&exif, exif::Tag::OffsetTimeOriginal), b"+08:00");
    let version = exif
        .get_field(exif::Tag::GPSVersionID, exif::In::PRIMARY)
        .expect("GPSVersionID");
    assert!(matches!(&version.value, exif::Value::Byte(v) if v == &[2, 3, 0, 0]));

    let (lon, lat) = gps_of(&exif);
    assert!((lon - 113.1258667).abs() < 1e-6, "lon {lon}");
    assert!((lat - 23.0153333).abs() < 1e-6, "lat {lat}");

    let decoded = image::load_from_memory(&tagged).expect("tagged JPEG decodes");
    assert_eq!((decoded.width(), decoded.height()), (320, 240));
}

#[test]
fn exif_builder_handles_hemispheres_and_partial_specs() {
    // South/West, and values whose seconds round up to a full minute/degree.
    for (lon, lat) in [
        (-70.6693, -33.4489),
        (-0.000_000_01, -89.999_999_999),
        (179.999_999_99, 0.0),
        (-180.0, 90.0),
    ] {
        let gps_only = Exif {
            gps: Some((lon, lat)),
            ..Exif::default()
        };
        let exif = read_exif(&with_exif(&jpeg(16, 16, 1), &gps_only)).expect("EXIF");
        let (l, b) = gps_of(&exif);
        assert!(
            (l - lon).abs() < 1e-6 && (b - lat).abs() < 1e-6,
            "{lon},{lat} -> {l},{b}"
        );
        assert!(exif
            .get_field(exif::Tag::DateTimeOriginal, exif::In::PRIMARY)
            .is_none());
        assert!(exif
            .get_field(exif::Tag::ExifIFDPointer, exif::In::PRIMARY)
            .is_none());
    }

    let date_only = Exif {
        taken_at: Some((2026, 1, 2, 3, 4, 5)),
        ..Exif::default()
    };
    let exif = read_exif(&with_exif(&jpeg(16, 16, 1), &date_only)).expect("EXIF");
    assert_eq!(
        ascii_field(&exif, exif::Tag::DateTimeOriginal),
        b"2026:01:02 03:04:05"
    );
    assert!(exif
        .get_field(exif::Tag::OffsetTimeOriginal, exif::In::PRIMARY)
        .is_none());
    assert!(exif
        .get_field(exif::Tag::GPSLatitude, exif::In::PRIMARY)
        .is_none());

    // An empty spec still writes a (field-less) EXIF segment.
    let empty = read_exif(&with_exif(&jpeg(16, 16, 1), &Exif::default())).expect("EXIF");
    assert_eq!(empty.fields().count(), 0);
}

#[test]
fn exif_tiff_layout_is_well_formed() {
    let spec = Exif {
        taken_at: Some((2026, 11, 28, 10, 15, 30)),
        offset: Some("+08:00".into()),
        gps: Some((113.1258667, 23.0153333)),
    };
    let tiff = exif_tiff(&spec);
    let u16_at = |o: usize| u16::from_le_bytes([tiff[o], tiff[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes(tiff[o..o + 4].try_into().unwrap());
    assert_eq!(&tiff[..4], b"II*\0");
    let mut ifds = vec![u32_at(4) as usize];
    let mut seen = 0;
    while let Some(at) = ifds.pop() {
        seen += 1;
        assert_eq!(at % 2, 0, "IFD at odd offset {at}");
        let n = u16_at(at) as usize;
        let mut last_tag = None;
        for i in 0..n {
            let e = at + 2 + 12 * i;
            let (tag, typ, count) = (u16_at(e), u16_at(e + 2), u32_at(e + 4) as usize);
            assert!(last_tag < Some(tag), "tags must ascend");
            last_tag = Some(tag);
            let unit = match typ {
                BYTE | ASCII | UNDEFINED => 1,
                LONG => 4,
                RATIONAL => 8,
                t => panic!("unexpected type {t}"),
            };
            if unit * count > 4 {
                let off = u32_at(e + 8) as usize;
                assert_eq!(off % 2, 0, "value of tag {tag:#06x} at odd offset");
                assert!(off + unit * count <= tiff.len());
            }
            if tag == 0x8769 || tag == 0x8825 {
                assert_eq!((typ, count), (LONG, 1));
                ifds.push(u32_at(e + 8) as usize);
            }
        }
        assert_eq!(u32_at(at + 2 + 12 * n), 0, "next IFD must be 0");
    }
    assert_eq!(seen, 3);
}

#[test]
fn fixtures_are_real_deterministic_and_seeded() {
    let a = jpeg(64, 48, 1);
    assert_eq!(a, jpeg(64, 48, 1));
    assert_ne!(a, jpeg(64, 48, 2));
    for (bytes, format) in [
        (a, image::ImageFormat::Jpeg),
        (png(64, 48, 1), image::ImageFormat::Png),
        (webp(64, 48, 1), image::ImageFormat::WebP),
    ] {
        assert_eq!(image::guess_format(&bytes).unwrap(), format);
        let img = image::load_from_memory(&bytes).expect("decodes");
        assert_eq!((img.width(), img.height()), (64, 48));
    }
    assert_ne!(png(64, 48, 1), png(64, 48, 2));
    assert_ne!(webp(64, 48, 1), webp(64, 48, 2));
}

#[test]
fn black_png_is_a_valid_image_of_its_size() {
    let png = black_png(300, 200);
    let decoded = image::load_from_memory_with_format(&png, image::ImageFormat::Png).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (300, 200));
    assert!(decoded.to_rgb8().pixels().all(|p| p.0 == [0, 0, 0]));
    // The bomb's point: far fewer bytes than pixels.
    assert!(black_png(4000, 4000).len() < 4000 * 4000 / 100);
}

#[test]
fn truncated_keeps_the_signature_but_loses_the_end() {
    let full = with_exif(&jpeg(640, 480, 3), &Exif::default());
    let cut = truncated(&full);
    assert_eq!(cut.len(), full.len() * 6 / 10);
    assert!(full.ends_with(&[0xFF, 0xD9]) && !cut.ends_with(&[0xFF, 0xD9]));
    assert_eq!(image::guess_format(&cut).unwrap(), image::ImageFormat::Jpeg);
    // NB: image 0.25 decodes JPEG leniently (zune-jpeg, strict mode off): a truncated
    // baseline JPEG decodes Ok, the missing rows grey. So a server that must reject it has
    // to check for the EOI marker itself. Truncated PNG and WebP do fail to decode.
    assert!(image::load_from_memory(&truncated(&png(64, 48, 3))).is_err());
    assert!(image::load_from_memory(&truncated(&webp(64, 48, 3))).is_err());
}

#[test]
fn camera_photo_is_3_megapixels_with_exif() {
    let photo = camera_photo(42, 113.1258667, 23.0153333);
    let exif = read_exif(&photo).expect("EXIF");
    assert_eq!(
        ascii_field(&exif, exif::Tag::DateTimeOriginal),
        b"2026:11:28 10:15:30"
    );
    assert_eq!(ascii_field(&exif, exif::Tag::OffsetTimeOriginal), b"+08:00");
    let (lon, lat) = gps_of(&exif);
    assert!((lon - 113.1258667).abs() < 1e-6 && (lat - 23.0153333).abs() < 1e-6);
    let img = image::load_from_memory(&photo).expect("decodes");
    assert_eq!((img.width(), img.height()), (2048, 1536));
}
