//! Photos from handhelds and browsers: content-addressed storage, decoding, EXIF and
//! thumbnails, and who may see them.

pub mod access;
pub mod arrival;
pub mod http;
pub mod model;
pub mod store;
