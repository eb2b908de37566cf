//! Photos from handhelds: content-addressed storage, decoding, EXIF and thumbnails.

pub mod http;
pub mod model;
pub mod store;
