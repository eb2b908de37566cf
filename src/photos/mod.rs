//! Photos from handhelds and browsers: content-addressed storage, decoding, EXIF and
//! thumbnails, and who may see them.

pub(crate) mod access;
pub(crate) mod arrival;
pub(crate) mod http;
pub(crate) mod model;
pub(crate) mod store;
