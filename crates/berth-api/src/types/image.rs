//! Image wire types (owned by the image-store work).
